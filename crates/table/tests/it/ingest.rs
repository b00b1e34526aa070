//! Ingesting the real-data samples, in every format, and what comes out.

use lakehouse_table::{CsvOptions, IngestOptions, Mode, SqlOptions, TextUnit};
use object_store::ObjectStoreExt;

use crate::{data, ingest, local_tables, scalar};

#[tokio::test]
async fn chicago_permits_keep_their_odd_values() {
    let (_dir, tables) = local_tables();
    let report = ingest(&tables, "permits", "chicago_permits_sample.csv").await;
    assert_eq!(report.rows, 300);
    assert_eq!(report.version, 0);
    let column = |name: &str| {
        report
            .columns
            .iter()
            .find(|c| c.name == name)
            .unwrap()
            .clone()
    };
    assert_eq!(
        column("permit").original_name.as_deref(),
        Some("PERMIT#"),
        "original header kept"
    );
    assert_eq!(column("issue_date").data_type, "Date32");
    assert_eq!(column("reported_cost").data_type, "Int64");
    assert_eq!(column("latitude").data_type, "Float64");
    assert_eq!(
        column("permit").data_type,
        "Utf8",
        "express permit numbers are not numbers"
    );
    let en_dash =
        "SELECT count(*) FROM permits WHERE permit_type = 'PERMIT – EXPRESS PERMIT PROGRAM'";
    assert_eq!(scalar(&tables, en_dash).await, 139);
    assert_eq!(
        scalar(
            &tables,
            "SELECT count(*) FROM permits WHERE reported_cost IS NULL"
        )
        .await,
        46
    );
    assert_eq!(
        scalar(&tables, "SELECT max(reported_cost) FROM permits").await,
        396_200_000
    );
}

#[tokio::test]
async fn chicago_contracts_keep_negative_amounts_and_year_0201() {
    let (_dir, tables) = local_tables();
    let report = ingest(&tables, "contracts", "chicago_contracts_sample.csv").await;
    assert_eq!(
        report.rows, 300,
        "multi-line quoted descriptions are one record each"
    );
    assert_eq!(
        scalar(
            &tables,
            "SELECT count(*) FROM contracts WHERE award_amount < 0"
        )
        .await,
        60
    );
    assert_eq!(
        scalar(
            &tables,
            "SELECT count(*) FROM contracts WHERE start_date = '07/01/0201'"
        )
        .await,
        1
    );
    assert_eq!(
        scalar(
            &tables,
            "SELECT count(*) FROM contracts WHERE department IS NULL"
        )
        .await,
        56
    );
}

#[tokio::test]
async fn headers_with_spaces_are_normalised() {
    let (_dir, tables) = local_tables();
    let report = ingest(&tables, "raw_permits", "chicago_permits_raw_sample.csv").await;
    assert_eq!(report.rows, 60);
    let names: Vec<&str> = report.columns.iter().map(|c| c.name.as_str()).collect();
    assert!(
        names.contains(&"permit_type") && names.contains(&"street_direction"),
        "{names:?}"
    );
    let original = report
        .columns
        .iter()
        .find(|c| c.name == "permit_type")
        .unwrap()
        .original_name
        .clone();
    assert_eq!(original.as_deref(), Some("  PERMIT_TYPE"));
}

#[tokio::test]
async fn sec_json_shapes() {
    let (_dir, tables) = local_tables();
    let tickers = ingest(&tables, "sec_tickers", "sec_company_tickers_sample.json").await;
    assert_eq!(tickers.rows, 300);
    let names: Vec<&str> = tickers.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["key", "cik_str", "ticker", "title"]);
    let backslashes = "SELECT count(*) FROM sec_tickers WHERE strpos(title, '\\') > 0";
    assert_eq!(scalar(&tables, backslashes).await, 12);
    assert_eq!(
        scalar(
            &tables,
            "SELECT count(*) FROM sec_tickers WHERE ticker = 'BRK-B'"
        )
        .await,
        1
    );

    let exchange = ingest(
        &tables,
        "sec_exchange",
        "sec_company_tickers_exchange_sample.json",
    )
    .await;
    assert_eq!(exchange.rows, 300);
    assert_eq!(
        scalar(
            &tables,
            "SELECT count(*) FROM sec_exchange WHERE exchange IS NULL"
        )
        .await,
        30
    );
}

#[tokio::test]
async fn jsonl_sf_quoted_and_semicolon_csv() {
    let (_dir, tables) = local_tables();
    assert_eq!(
        ingest(&tables, "permits_jsonl", "permits_sample.jsonl")
            .await
            .rows,
        100
    );
    assert_eq!(
        ingest(&tables, "sf_permits", "sf_permits_sample.csv")
            .await
            .rows,
        200
    );
    let block = "SELECT count(*) FROM sf_permits WHERE block = '0291'";
    assert!(
        scalar(&tables, block).await >= 1,
        "leading zeros kept as text"
    );
    assert_eq!(ingest(&tables, "quoted", "quoted.csv").await.rows, 4);
    let options = IngestOptions::new().with_csv(CsvOptions {
        delimiter: Some(b';'),
        ..CsvOptions::default()
    });
    let report = tables
        .ingest("semicolon", &data("semicolon.csv"), options)
        .await
        .unwrap();
    assert_eq!(report.rows, 3);
    assert!(report.columns.len() >= 2);
}

#[tokio::test]
async fn append_overwrite_and_history() {
    let (_dir, tables) = local_tables();
    let first = ingest(&tables, "p", "permits_sample.jsonl").await;
    assert!(!first.repeated);
    // The same input again is a rerun, not new rows; `with_again` appends it anyway.
    let rerun = ingest(&tables, "p", "permits_sample.jsonl").await;
    assert!(rerun.repeated);
    assert_eq!(
        (rerun.version, rerun.ingest_id.as_str()),
        (0, first.ingest_id.as_str())
    );
    assert_eq!(scalar(&tables, "SELECT count(*) FROM p").await, 100);
    let second = tables
        .ingest(
            "p",
            &data("permits_sample.jsonl"),
            IngestOptions::new().with_again(true),
        )
        .await
        .unwrap();
    assert!(!second.repeated);
    assert_eq!(second.version, 1);
    assert_eq!(scalar(&tables, "SELECT count(*) FROM p").await, 200);
    let options = IngestOptions::new().with_mode(Mode::Overwrite);
    let third = tables
        .ingest("p", &data("quoted.csv"), options)
        .await
        .unwrap();
    assert_eq!(third.version, 2);
    assert_eq!(scalar(&tables, "SELECT count(*) FROM p").await, 4);
    let old = SqlOptions {
        as_of_version: Some(0),
        limit: None,
        ..SqlOptions::default()
    };
    let batches = tables
        .sql_collect("SELECT count(*) FROM p", &old)
        .await
        .unwrap();
    assert!(
        format!("{:?}", batches[0].column(0)).contains("100"),
        "time travel to version 0"
    );
    let history = tables.history("p", None).await.unwrap();
    assert_eq!(
        history.iter().map(|h| h.version).collect::<Vec<_>>(),
        vec![2, 1, 0]
    );
    assert_eq!(history[2].details["lakehouse.rows"], 100);
    let info = tables.describe("p").await.unwrap();
    assert_eq!((info.rows, info.version), (4, 2));
    assert_eq!(tables.names().await.unwrap(), vec!["p"]);
    assert!(tables.drop_dataset("p").await.unwrap() > 0);
    assert!(tables.names().await.unwrap().is_empty());
}

#[tokio::test]
async fn text_files_per_file_and_per_paragraph() {
    let (dir, tables) = local_tables();
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(docs.join("sub")).unwrap();
    std::fs::write(
        docs.join("a.md"),
        "# Title\n\nFirst paragraph\nstill first.\n\nSecond.\n",
    )
    .unwrap();
    std::fs::write(docs.join("sub/b.txt"), "only one").unwrap();
    let report = tables
        .ingest("docs", docs.to_str().unwrap(), IngestOptions::new())
        .await
        .unwrap();
    assert_eq!((report.rows, report.files), (2, 2));
    let options = IngestOptions::new().with_text_unit(TextUnit::Paragraph);
    let report = tables
        .ingest("paragraphs", docs.to_str().unwrap(), options)
        .await
        .unwrap();
    assert_eq!(report.rows, 4);
    let q =
        "SELECT count(*) FROM paragraphs WHERE text = 'First paragraph\nstill first.' AND line = 3";
    assert_eq!(scalar(&tables, q).await, 1);
}

#[tokio::test]
async fn parquet_files_are_ingested_as_they_are() {
    use lakehouse_table::arrow::array::{Int64Array, RecordBatch, StringArray};
    use lakehouse_table::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;
    let (dir, tables) = local_tables();
    let schema = Arc::new(Schema::new(vec![
        Field::new("ID", DataType::Int64, false),
        Field::new("Name", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(Int64Array::from(vec![1, 2, 3])),
            Arc::new(StringArray::from(vec![Some("a"), None, Some("c")])),
        ],
    )
    .unwrap();
    let path = dir.path().join("in.parquet");
    let file = std::fs::File::create(&path).unwrap();
    let mut writer =
        lakehouse_table::parquet::arrow::ArrowWriter::try_new(file, schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let report = tables
        .ingest("pq", path.to_str().unwrap(), IngestOptions::new())
        .await
        .unwrap();
    assert_eq!(report.rows, 3);
    assert_eq!(scalar(&tables, "SELECT sum(id) FROM pq").await, 6);
}

#[tokio::test]
async fn a_parquet_bomb_is_refused_before_it_fills_memory() {
    use lakehouse_table::arrow::array::{Int64Array, RecordBatch};
    use lakehouse_table::arrow::datatypes::{DataType, Field, Schema};
    use lakehouse_table::parquet::basic::{Compression, ZstdLevel};
    use lakehouse_table::parquet::file::properties::WriterProperties;
    use std::sync::Arc;
    let (dir, tables) = local_tables();
    // 4M zeros: 32 MB once decoded, a few KB on disk
    let schema = Arc::new(Schema::new(vec![Field::new("z", DataType::Int64, false)]));
    let path = dir.path().join("bomb.parquet");
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(19).unwrap()))
        .build();
    let mut writer = lakehouse_table::parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&path).unwrap(),
        Arc::clone(&schema),
        Some(properties),
    )
    .unwrap();
    for _ in 0..64 {
        let zeros = Int64Array::from(vec![0i64; 65_536]);
        writer
            .write(&RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(zeros)]).unwrap())
            .unwrap();
    }
    writer.close().unwrap();
    let on_disk = std::fs::metadata(&path).unwrap().len();
    assert!(on_disk < 64 << 10, "{on_disk} bytes on disk");
    let err = tables
        .ingest(
            "bomb",
            path.to_str().unwrap(),
            IngestOptions::new().with_max_decoded_bytes(8 << 20),
        )
        .await
        .unwrap_err();
    assert_eq!(err.fault(), lakehouse_store::Fault::BadInput, "{err}");
    assert!(
        err.to_string()
            .contains("decodes to more than 8388608 bytes"),
        "{err}"
    );
    assert!(!tables.exists("bomb").await.unwrap(), "nothing was written");
    // within the limit it is an ordinary file
    let report = tables
        .ingest("bomb", path.to_str().unwrap(), IngestOptions::new())
        .await
        .unwrap();
    assert_eq!(report.rows, 64 * 65_536);
}

#[tokio::test]
async fn ingest_from_the_s3_test_server_into_s3() {
    // The source is a store URL (the seed's "dump the raw corpus from the bucket" step), and
    // the datasets live on S3 too.
    let settings = lakehouse_testkit::s3_settings();
    let source_url = settings.fresh_url("raw-corpus");
    let source_store =
        lakehouse_store::Store::open_with_options(&source_url, settings.options()).unwrap();
    for (key, file) in [
        ("contracts/part-1.csv", "chicago_contracts_sample.csv"),
        ("contracts/part-2.csv", "chicago_contracts_sample.csv"),
    ] {
        let body = std::fs::read(data(file)).unwrap();
        source_store
            .object_store()
            .put(&key.into(), body.into())
            .await
            .unwrap();
    }
    let tables = lakehouse_table::Tables::new(lakehouse_testkit::s3_store("datasets").await);
    let options: Vec<(String, String)> = settings
        .options()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let ingest = IngestOptions::new().with_source_options(options.clone());
    let report = tables
        .ingest("contracts", &format!("{source_url}/contracts"), ingest)
        .await
        .unwrap();
    assert_eq!((report.rows, report.files), (600, 2));
    assert_eq!(
        scalar(
            &tables,
            "SELECT count(*) FROM contracts WHERE award_amount < 0"
        )
        .await,
        120
    );
    let one = IngestOptions::new().with_source_options(options);
    let report = tables
        .ingest("one", &format!("{source_url}/contracts/part-2.csv"), one)
        .await
        .unwrap();
    assert_eq!(report.rows, 300, "a URL naming one object");
}

#[tokio::test]
async fn an_overwrite_run_again_is_skipped_only_while_nothing_came_after_it() {
    let (_dir, tables) = local_tables();
    let overwrite = || IngestOptions::new().with_mode(Mode::Overwrite);
    let a = tables
        .ingest("p", &data("quoted.csv"), overwrite())
        .await
        .unwrap();
    let again = tables
        .ingest("p", &data("quoted.csv"), overwrite())
        .await
        .unwrap();
    assert!(again.repeated);
    assert_eq!(again.version, a.version);
    tables
        .ingest("p", &data("permits_sample.jsonl"), overwrite())
        .await
        .unwrap();
    let back = tables
        .ingest("p", &data("quoted.csv"), overwrite())
        .await
        .unwrap();
    assert!(!back.repeated, "A, B, then A again must end with A");
    assert_eq!(scalar(&tables, "SELECT count(*) FROM p").await, 4);
}

#[tokio::test]
async fn a_rerun_after_the_rejects_were_lost_writes_them_and_not_the_rows_again() {
    use lakehouse_table::OnError;
    let (dir, tables) = local_tables();
    let options = || IngestOptions::new().with_on_error(OnError::Quarantine);
    let first = tables
        .ingest("abc", &data("bad_field_count.csv"), options())
        .await
        .unwrap();
    assert_eq!((first.rows, first.rejected), (4, 1));
    // As if the rejects commit had failed after the rows were committed.
    std::fs::remove_dir_all(dir.path().join("tables/abc__rejects")).unwrap();
    assert!(!tables.exists("abc__rejects").await.unwrap());
    let rerun = tables
        .ingest("abc", &data("bad_field_count.csv"), options())
        .await
        .unwrap();
    assert!(rerun.repeated);
    assert_eq!(rerun.version, first.version);
    assert_eq!(scalar(&tables, "SELECT count(*) FROM abc").await, 4);
    assert_eq!(
        scalar(&tables, "SELECT count(*) FROM abc__rejects").await,
        1
    );
    // Run once more: both tables hold it, nothing is written.
    let third = tables
        .ingest("abc", &data("bad_field_count.csv"), options())
        .await
        .unwrap();
    assert!(third.repeated);
    assert_eq!(
        scalar(&tables, "SELECT count(*) FROM abc__rejects").await,
        1
    );
    assert_eq!(tables.history("abc__rejects", None).await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_ingest_whose_commit_answer_was_lost_lands_once() {
    use lakehouse_store::{FaultConfig, FaultyStore, Op, Store};
    use std::sync::Arc;
    let inner: Arc<dyn lakehouse_store::ObjectStore> =
        Arc::new(lakehouse_store::object_store::memory::InMemory::new());
    let faulty = Arc::new(FaultyStore::new(Arc::clone(&inner), FaultConfig::new(5)));
    let tables = lakehouse_table::Tables::new(Store::from_object_store(faulty.clone(), "faulty"));
    // the commit lands but is answered with an error, `lost` times in a row
    faulty.only_paths_containing(Some("_delta_log/"));
    let mut landed = 0;
    for lost in 1..=6 {
        faulty.fail_next(Op::PutLostAck, lost);
        match tables
            .ingest("p", &data("quoted.csv"), IngestOptions::new())
            .await
        {
            Ok(report) => {
                landed += 1;
                assert_eq!(report.rows, 4, "{report:?}");
            }
            Err(e) => assert_eq!(e.fault(), lakehouse_store::Fault::Unavailable, "{e}"),
        }
        faulty.fail_next(Op::PutLostAck, 0);
        // a retry after whatever happened: the rows are there once
        tables
            .ingest("p", &data("quoted.csv"), IngestOptions::new())
            .await
            .unwrap();
        assert_eq!(
            scalar(&tables, "SELECT count(*) FROM p").await,
            4,
            "after {lost} lost answers"
        );
    }
    assert!(landed > 0, "some attempt was recognised as landed");
    assert!(faulty.injected(Op::PutLostAck) > 0);
}
