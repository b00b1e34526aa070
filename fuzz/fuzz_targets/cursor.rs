#![no_main]
//! Fuzz target `cursor`: see `lakehouse_fuzz::cursor`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| lakehouse_fuzz::cursor(data));
