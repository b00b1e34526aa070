#![no_main]
//! Fuzz target `bm25_pack`: see `lakehouse_fuzz::bm25_pack`.

libfuzzer_sys::fuzz_target!(init: lakehouse_fuzz::abort_on_uncaught_panics(), |data: &[u8]| {
    lakehouse_fuzz::bm25_pack(data)
});
