#![no_main]
//! Fuzz target `ingest_json`: see `lakehouse_fuzz::ingest_json`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| lakehouse_fuzz::ingest_json(data));
