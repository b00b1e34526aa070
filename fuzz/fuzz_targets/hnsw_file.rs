#![no_main]
//! Fuzz target `hnsw_file`: see `lakehouse_fuzz::hnsw_file`.

libfuzzer_sys::fuzz_target!(init: lakehouse_fuzz::abort_on_uncaught_panics(), |data: &[u8]| {
    lakehouse_fuzz::hnsw_file(data)
});
