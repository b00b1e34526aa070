//! Read-only SQL over every dataset, with DataFusion.
//!
//! Only queries run: the text is parsed first and anything but one `SELECT` / `WITH` / `VALUES`
//! / `EXPLAIN` statement is refused before any table is opened; DataFusion's own DDL/DML guards
//! are on as well. Tables are registered by dataset name, only those the query names, each at
//! its latest version or at `as_of_version`. A query can be capped in memory (DataFusion's
//! memory pool, no spilling: a query that needs more fails with an error instead of taking the
//! process down), in time and in rows ([`Tables::sql_rows`], the JSON shape the server answers
//! with).

use std::sync::Arc;
use std::time::Duration;

use deltalake::arrow::array::RecordBatch;
use deltalake::datafusion::common::config::ConfigOptions;
use deltalake::datafusion::common::tree_node::{Transformed, TreeNode};
use deltalake::datafusion::execution::SendableRecordBatchStream;
use deltalake::datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use deltalake::datafusion::execution::runtime_env::RuntimeEnvBuilder;
use deltalake::datafusion::execution::session_state::SessionStateBuilder;
use deltalake::datafusion::physical_optimizer::PhysicalOptimizerRule;
use deltalake::datafusion::physical_optimizer::optimizer::PhysicalOptimizer;
use deltalake::datafusion::physical_plan::ExecutionPlan;
use deltalake::datafusion::physical_plan::coop::CooperativeExec;
use deltalake::datafusion::prelude::{SQLOptions, SessionConfig, SessionContext};
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
    /// Fail the query when its operators need more than this many bytes (nothing spills).
    pub memory_limit: Option<usize>,
    /// Fail the query when it runs longer than this.
    pub timeout: Option<Duration>,
}

/// A query's result as JSON values, the way the server returns it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SqlRows {
    /// Column names, in order.
    pub columns: Vec<String>,
    /// Rows, each with one value per column (Arrow's JSON encoding: numbers, strings, `null`,
    /// lists and objects for nested types).
    pub rows: Vec<Vec<serde_json::Value>>,
    /// True when the query had more rows than the cap and only the first ones are here.
    pub truncated: bool,
}

/// Make every operator's output count against tokio's cooperative budget, so a query task
/// yields every few batches however its operators loop (a cross join produces batch after
/// batch without polling anything). DataFusion's own `EnsureCooperative` covers leaves and
/// exchanges only; without this, a runaway query could not be stopped by its timeout or by
/// dropping it, and held a runtime worker until it finished.
#[derive(Debug)]
struct YieldEverywhere;

impl PhysicalOptimizerRule for YieldEverywhere {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> deltalake::datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            if node.children().is_empty() || node.name() == "CooperativeExec" {
                return Ok(Transformed::no(node));
            }
            Ok(Transformed::yes(
                Arc::new(CooperativeExec::new(node)) as Arc<dyn ExecutionPlan>
            ))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "YieldEverywhere"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// A DataFusion session for one query: the memory cap (if any) as its pool, and without the
/// physical `LimitPushdown` rule and with [`YieldEverywhere`]. That rule removes a `LIMIT` above a scan that claims to take
/// the limit itself, and delta-rs's metadata-only scan (a query reading no column, such as
/// `SELECT 1 FROM t LIMIT 3`) does not: every row came back (delta-rs#4037).
fn session(options: &SqlOptions) -> Result<SessionContext, TableError> {
    let mut runtime = RuntimeEnvBuilder::new();
    if let Some(bytes) = options.memory_limit {
        runtime = runtime
            .with_memory_limit(bytes, 1.0)
            .with_disk_manager_builder(
                DiskManagerBuilder::default().with_mode(DiskManagerMode::Disabled),
            );
    }
    let runtime = runtime.build().map_err(TableError::query)?;
    let mut rules: Vec<Arc<dyn PhysicalOptimizerRule + Send + Sync>> = PhysicalOptimizer::new()
        .rules
        .into_iter()
        .filter(|rule| rule.name() != "LimitPushdown")
        .collect();
    rules.push(Arc::new(YieldEverywhere));
    let state = SessionStateBuilder::new()
        .with_config(SessionConfig::new())
        .with_runtime_env(Arc::new(runtime))
        .with_default_features()
        .with_physical_optimizer_rules(rules)
        .build();
    Ok(SessionContext::new_with_state(state))
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
        let ctx = session(options)?;
        let references = ctx
            .state()
            .resolve_table_references(&statement)
            .map_err(TableError::query)?;
        for reference in references {
            let name = reference.table().to_string();
            if reference.schema().is_some()
                || ctx.table_exist(name.as_str()).unwrap_or(false)
                || ctx.state().table_functions().contains_key(&name)
            {
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

    /// The datasets a read-only query reads (table functions and CTE names left out), so a
    /// caller can check access before running it.
    pub fn sql_tables(&self, query: &str) -> Result<Vec<String>, TableError> {
        let statement = check_read_only(query)?;
        let ctx = SessionContext::new();
        let references = ctx
            .state()
            .resolve_table_references(&statement)
            .map_err(TableError::query)?;
        let mut names: Vec<String> = references
            .iter()
            .filter(|r| r.schema().is_none())
            .map(|r| r.table().to_string())
            .filter(|name| !ctx.state().table_functions().contains_key(name))
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Run a read-only query and collect every batch.
    pub async fn sql_collect(
        &self,
        query: &str,
        options: &SqlOptions,
    ) -> Result<Vec<RecordBatch>, TableError> {
        within(options.timeout, async {
            let stream = self.sql(query, options).await?;
            stream.try_collect().await.map_err(TableError::query)
        })
        .await
    }

    /// Run a read-only query and return at most `max_rows` rows as JSON values, saying whether
    /// there were more.
    pub async fn sql_rows(
        &self,
        query: &str,
        options: &SqlOptions,
        max_rows: usize,
    ) -> Result<SqlRows, TableError> {
        let cap = options.limit.map_or(max_rows, |l| l.min(max_rows));
        let probe = SqlOptions {
            limit: Some(cap.saturating_add(1)),
            ..options.clone()
        };
        let (columns, batches) = within(options.timeout, async {
            let stream = self.sql(query, &probe).await?;
            let columns: Vec<String> = stream
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            let batches: Vec<RecordBatch> =
                stream.try_collect().await.map_err(TableError::query)?;
            Ok((columns, batches))
        })
        .await?;
        let mut rows = json_rows(&batches, &columns)?;
        let truncated = rows.len() > cap;
        rows.truncate(cap);
        Ok(SqlRows {
            columns,
            rows,
            truncated,
        })
    }
}

/// Run `work`, failing with [`TableError::LimitExceeded`] when it outlasts `timeout`.
async fn within<T>(
    timeout: Option<Duration>,
    work: impl std::future::Future<Output = Result<T, TableError>>,
) -> Result<T, TableError> {
    match timeout {
        None => work.await,
        Some(limit) => {
            tokio::time::timeout(limit, work)
                .await
                .map_err(|_| TableError::LimitExceeded {
                    limit: format!("the query ran longer than {} ms", limit.as_millis()),
                })?
        }
    }
}

/// Rows of `batches` as JSON arrays in `columns` order, through Arrow's JSON writer (so every
/// type is encoded the way `--json` prints it).
fn json_rows(
    batches: &[RecordBatch],
    columns: &[String],
) -> Result<Vec<Vec<serde_json::Value>>, TableError> {
    let mut buffer = Vec::new();
    {
        let mut writer = deltalake::arrow::json::WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, deltalake::arrow::json::writer::LineDelimited>(&mut buffer);
        for batch in batches {
            writer.write(batch)?;
        }
        writer.finish()?;
    }
    let mut rows = Vec::new();
    for line in buffer.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let mut object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(line)
                .map_err(|e| TableError::query(format!("encoding a row as JSON: {e}")))?;
        rows.push(
            columns
                .iter()
                .map(|c| object.remove(c).unwrap_or(serde_json::Value::Null))
                .collect(),
        );
    }
    Ok(rows)
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
