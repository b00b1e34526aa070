#![no_main]
//! Fuzz target `mem0_body`: see `lakehouse_fuzz::mem0_body`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| lakehouse_fuzz::mem0_body(data));
