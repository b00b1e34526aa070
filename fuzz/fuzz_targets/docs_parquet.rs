#![no_main]
//! Fuzz target `docs_parquet`: see `lakehouse_fuzz::docs_parquet`.

libfuzzer_sys::fuzz_target!(init: lakehouse_fuzz::abort_on_uncaught_panics(), |data: &[u8]| {
    lakehouse_fuzz::docs_parquet(data)
});
