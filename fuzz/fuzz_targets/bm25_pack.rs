#![no_main]
//! Fuzz target `bm25_pack`: see `lakehouse_fuzz::bm25_pack`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| lakehouse_fuzz::bm25_pack(data));
