//! Read-only SQL over every dataset, with DataFusion.
//!
//! Only queries run: the text is parsed first and anything but one `SELECT` / `WITH` / `VALUES`
//! / `EXPLAIN` statement is refused before any table is opened; DataFusion's own DDL/DML guards
//! are on as well. Tables are registered by dataset name, only those the query names, each at
//! its latest version or at `as_of_version`.

use deltalake::arrow::array::RecordBatch;
use deltalake::datafusion::execution::SendableRecordBatchStream;
use deltalake::datafusion::prelude::{SQLOptions, SessionContext};
use deltalake::datafusion::sql::parser::{DFParser, Statement as DfStatement};
use deltalake::datafusion::sql::sqlparser::ast::Statement;
use futures::TryStreamExt;

use crate::{TableError, Tables};

/// How to run a query.
#[derive(Debug, Clone, Default)]
pub struct SqlOptions {
    /// Read every table as of this Delta version.
    pub as_of_version: Option<u64>,
    /// Return at most this many rows.
    pub limit: Option<usize>,
}

/// Refuse anything but a single query.
pub(crate) fn check_read_only(query: &str) -> Result<DfStatement, TableError> {
    let mut statements = DFParser::parse_sql(query).map_err(TableError::query)?;
    if statements.len() != 1 {
        return Err(TableError::Query {
            reason: format!("expected one statement, found {}", statements.len()),
        });
    }
    let statement = statements
        .pop_front()
        .ok_or_else(|| TableError::query("empty query"))?;
    let allowed = match &statement {
        DfStatement::Statement(inner) => matches!(**inner, Statement::Query(_)),
        DfStatement::Explain(explain) => match explain.statement.as_ref() {
            DfStatement::Statement(inner) => matches!(**inner, Statement::Query(_)),
            _ => false,
        },
        _ => false,
    };
    if !allowed {
        let text = statement.to_string();
        let kind: Vec<&str> = text.split_whitespace().take(2).collect();
        return Err(TableError::ReadOnly {
            statement: format!("a {} statement", kind.join(" ").to_uppercase()),
        });
    }
    Ok(statement)
}

impl Tables {
    /// Run a read-only query; stream the result.
    pub async fn sql(
        &self,
        query: &str,
        options: &SqlOptions,
    ) -> Result<SendableRecordBatchStream, TableError> {
        let statement = check_read_only(query)?;
        let ctx = SessionContext::new();
        let references = ctx
            .state()
            .resolve_table_references(&statement)
            .map_err(TableError::query)?;
        for reference in references {
            let name = reference.table().to_string();
            if reference.schema().is_some() || ctx.table_exist(name.as_str()).unwrap_or(false) {
                continue;
            }
            let table = self.open(&name, options.as_of_version).await?;
            table
                .update_datafusion_session(&ctx.state())
                .map_err(|e| TableError::delta(&name, e))?;
            let provider = table.table_provider().await.map_err(TableError::query)?;
            ctx.register_table(name.as_str(), provider)
                .map_err(TableError::query)?;
        }
        let guard = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        let mut frame = ctx
            .sql_with_options(query, guard)
            .await
            .map_err(TableError::query)?;
        if let Some(limit) = options.limit {
            frame = frame.limit(0, Some(limit)).map_err(TableError::query)?;
        }
        frame.execute_stream().await.map_err(TableError::query)
    }

    /// Run a read-only query and collect every batch.
    pub async fn sql_collect(
        &self,
        query: &str,
        options: &SqlOptions,
    ) -> Result<Vec<RecordBatch>, TableError> {
        let stream = self.sql(query, options).await?;
        stream.try_collect().await.map_err(TableError::query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_queries_pass() {
        for ok in [
            "SELECT 1",
            "with x as (select 1) select * from x",
            "EXPLAIN SELECT 1",
            "VALUES (1)",
        ] {
            check_read_only(ok).unwrap();
        }
        for (bad, kind) in [
            ("DROP TABLE permits", "DROP TABLE"),
            ("INSERT INTO permits VALUES (1)", "INSERT INTO"),
            ("CREATE TABLE x AS SELECT 1", "CREATE TABLE"),
            ("DELETE FROM permits", "DELETE FROM"),
            ("COPY permits TO 'x.csv'", "COPY PERMITS"),
        ] {
            let err = check_read_only(bad).unwrap_err();
            assert!(matches!(err, TableError::ReadOnly { .. }), "{bad}: {err}");
            assert!(err.to_string().contains(kind), "{bad}: {err}");
        }
        assert!(matches!(
            check_read_only("SELECT 1; SELECT 2").unwrap_err(),
            TableError::Query { .. }
        ));
        assert!(matches!(
            check_read_only("SELEC 1").unwrap_err(),
            TableError::Query { .. }
        ));
    }
}
