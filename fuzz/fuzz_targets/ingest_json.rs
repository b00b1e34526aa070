#![no_main]
//! Fuzz target `ingest_json`: see `lakehouse_fuzz::ingest_json`.

libfuzzer_sys::fuzz_target!(init: lakehouse_fuzz::abort_on_uncaught_panics(), |data: &[u8]| {
    lakehouse_fuzz::ingest_json(data)
});
