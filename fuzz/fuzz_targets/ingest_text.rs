#![no_main]
//! Fuzz target `ingest_text`: see `lakehouse_fuzz::ingest_text`.

libfuzzer_sys::fuzz_target!(init: lakehouse_fuzz::abort_on_uncaught_panics(), |data: &[u8]| {
    lakehouse_fuzz::ingest_text(data)
});
