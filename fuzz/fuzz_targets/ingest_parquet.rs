#![no_main]
//! Fuzz target `ingest_parquet`: see `lakehouse_fuzz::ingest_parquet`.

libfuzzer_sys::fuzz_target!(init: lakehouse_fuzz::abort_on_uncaught_panics(), |data: &[u8]| {
    lakehouse_fuzz::ingest_parquet(data)
});
