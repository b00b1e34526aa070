//! `Lakehouse::gc` on a store whose dataset and corpus were rebuilt ten times: at least 90% of
//! the superseded bytes are reclaimed, and what is live reads back identically (SQL rows, search
//! hits), from this process and a fresh one.

use std::path::Path;
use std::time::Duration;

use lakehouse::table::arrow::util::pretty::pretty_format_batches;
use lakehouse::table::{IngestOptions, Mode, SqlOptions};
use lakehouse::vectord::{BuildOptions, NoProgress, RowSpec, SearchRequest};
use lakehouse::{Config, Lakehouse};

const ROWS: usize = 300;

/// Round `round` of the source: every text changes from one round to the next.
fn write_round(dir: &Path, round: usize) -> String {
    let path = dir.join(format!("permits-{round}.csv"));
    let mut csv = String::from("permit,work_type,description\n");
    for i in 0..ROWS {
        let work = ["ROOF", "PORCH", "GARAGE", "KITCHEN"][i % 4];
        csv.push_str(&format!(
            "P{i},{work},\"round {round}: permit {i} to repair the {} and replace {} windows\"\n",
            work.to_lowercase(),
            i % 17
        ));
    }
    std::fs::write(&path, csv).unwrap();
    path.display().to_string()
}

async fn generation(lh: &Lakehouse, source: &str) {
    lh.tables()
        .ingest(
            "permits",
            source,
            IngestOptions::new().with_mode(Mode::Overwrite),
        )
        .await
        .unwrap();
    let spec = RowSpec {
        id: "permit".into(),
        text: "description".into(),
        meta: vec!["work_type".into()],
    };
    let options = BuildOptions {
        embedder: Some("hash:64".parse().unwrap()),
        ..BuildOptions::default()
    };
    lh.build_corpus("permits", "permits", &spec, options, &NoProgress)
        .await
        .unwrap();
}

/// Everything a reader sees: the rows, and the hits of a few searches with their scores.
async fn what_reads(lh: &Lakehouse) -> (String, Vec<String>) {
    let rows = lh
        .tables()
        .sql_collect(
            "SELECT * FROM permits ORDER BY permit",
            &SqlOptions::default(),
        )
        .await
        .unwrap();
    let rows = pretty_format_batches(&rows).unwrap().to_string();
    let mut hits = Vec::new();
    for query in ["repair the roof", "porch windows", "garage 12"] {
        let found = lh
            .corpora()
            .search(&SearchRequest::new(query, vec!["permits".into()]))
            .await
            .unwrap();
        assert!(!found.hits.is_empty());
        for h in found.hits {
            hits.push(format!("{query}|{}|{}|{}", h.id, h.snippet, h.score));
        }
    }
    (rows, hits)
}

async fn open(url: &Path) -> Lakehouse {
    Lakehouse::open(Config::default().with_store_url(url.to_str().unwrap()))
        .await
        .unwrap()
}

#[tokio::test]
async fn gc_reclaims_what_ten_rebuilds_left_and_live_data_reads_the_same() {
    let sources = tempfile::tempdir().unwrap();
    let rounds: Vec<String> = (0..=10).map(|r| write_round(sources.path(), r)).collect();

    // one generation only: what the live data costs
    let fresh = tempfile::tempdir().unwrap();
    generation(&open(fresh.path()).await, &rounds[10]).await;
    let one_generation = lakehouse_testkit::bytes_under(fresh.path());

    // the first build and ten rebuilds
    let dir = tempfile::tempdir().unwrap();
    let lh = open(dir.path()).await;
    for source in &rounds {
        generation(&lh, source).await;
    }
    let before = lakehouse_testkit::bytes_under(dir.path());
    let reads_before = what_reads(&lh).await;
    assert_eq!(
        reads_before.0,
        what_reads(&open(fresh.path()).await).await.0
    );

    // a week's retention keeps everything (it was all written just now)
    let week = lh
        .gc(Duration::from_secs(7 * 24 * 3600), false)
        .await
        .unwrap();
    assert_eq!(week.files_removed, 0, "{week:?}");

    let dry = lh.gc(Duration::ZERO, true).await.unwrap();
    assert_eq!(
        lakehouse_testkit::bytes_under(dir.path()),
        before,
        "a dry run deletes nothing"
    );
    assert!(dry.dry_run && dry.bytes_removed > 0);
    let done = lh.gc(Duration::ZERO, false).await.unwrap();
    assert_eq!(
        (done.files_removed, done.bytes_removed),
        (dry.files_removed, dry.bytes_removed)
    );
    assert_eq!(done.datasets.len(), 1, "{done:?}");
    assert_eq!(done.corpora.len(), 1, "{done:?}");

    let after = lakehouse_testkit::bytes_under(dir.path());
    let superseded = before - one_generation;
    let reclaimed = before - after;
    eprintln!(
        "one generation {one_generation} B; after 11: {before} B; after gc: {after} B; \
         reclaimed {reclaimed} of {superseded} superseded ({:.1}%)",
        100.0 * reclaimed as f64 / superseded as f64
    );
    assert!(
        reclaimed as f64 >= 0.9 * superseded as f64,
        "reclaimed {reclaimed} of {superseded} superseded bytes"
    );

    assert_eq!(what_reads(&lh).await, reads_before, "this process");
    assert_eq!(
        what_reads(&open(dir.path()).await).await,
        reads_before,
        "a fresh one"
    );
    let again = lh.gc(Duration::ZERO, false).await.unwrap();
    assert_eq!(again.files_removed, 0, "{again:?}");
}

/// The same on the S3 test server (listings, last-modified times and deletes of a real S3
/// API): superseded dataset files and corpus versions go, the live ones read the same.
#[tokio::test]
async fn gc_on_s3_keeps_what_is_live() {
    use std::sync::Arc;

    use lakehouse::table::Tables;
    use lakehouse::vectord::{Corpora, SourceRow};

    let store = lakehouse_testkit::s3_store("gc").await;
    let sources = tempfile::tempdir().unwrap();
    let tables = Tables::new(store.clone());
    let corpora = Corpora::new(Arc::clone(store.object_store()));
    let options = BuildOptions {
        embedder: Some("hash:64".parse().unwrap()),
        ..BuildOptions::default()
    };
    for round in 0..3 {
        let source = write_round(sources.path(), round);
        tables
            .ingest(
                "permits",
                &source,
                IngestOptions::new().with_mode(Mode::Overwrite),
            )
            .await
            .unwrap();
        let rows: Vec<SourceRow> = (0..50)
            .map(|i| SourceRow {
                id: format!("P{i}"),
                text: format!("round {round}: permit {i} to repair the roof"),
                meta: Default::default(),
            })
            .collect();
        corpora
            .build("permits", &rows, &options, &NoProgress)
            .await
            .unwrap();
    }
    let rows = |tables: Tables| async move {
        let batches = tables
            .sql_collect(
                "SELECT * FROM permits ORDER BY permit",
                &SqlOptions::default(),
            )
            .await
            .unwrap();
        pretty_format_batches(&batches).unwrap().to_string()
    };
    let hits = |corpora: Corpora| async move {
        let found = corpora
            .search(&SearchRequest::new(
                "repair the roof",
                vec!["permits".into()],
            ))
            .await
            .unwrap();
        assert!(!found.hits.is_empty());
        found
            .hits
            .into_iter()
            .map(|h| format!("{}|{}|{}", h.id, h.snippet, h.score))
            .collect::<Vec<_>>()
    };
    let rows_before = rows(tables.clone()).await;
    let hits_before = hits(Corpora::new(Arc::clone(store.object_store()))).await;

    let vacuumed = tables
        .vacuum("permits", Duration::ZERO, false)
        .await
        .unwrap();
    assert_eq!(
        vacuumed.files_removed, 2,
        "two overwritten versions: {vacuumed:?}"
    );
    assert!(vacuumed.bytes_removed > 0);
    let collected = corpora.gc("permits", Duration::ZERO, false).await.unwrap();
    assert!(
        collected.manifests_removed > 0 && collected.segments_removed > 0,
        "{collected:?}"
    );
    assert_eq!(collected.oldest_kept, collected.version);

    let fresh_tables = Tables::new(store.clone());
    assert_eq!(rows(fresh_tables).await, rows_before);
    let fresh_corpora = Corpora::new(Arc::clone(store.object_store()));
    assert_eq!(hits(fresh_corpora).await, hits_before);
    let history = corpora.history("permits").await.unwrap();
    assert_eq!(history.len(), 1, "only the current version is left");
    let again = corpora.gc("permits", Duration::ZERO, false).await.unwrap();
    assert_eq!(
        (again.files_removed, again.bytes_kept),
        (0, collected.bytes_kept)
    );
}
