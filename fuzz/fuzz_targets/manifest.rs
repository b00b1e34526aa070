#![no_main]
//! Fuzz target `manifest`: see `lakehouse_fuzz::manifest`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| lakehouse_fuzz::manifest(data));
