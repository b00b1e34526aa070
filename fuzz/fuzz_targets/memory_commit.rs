#![no_main]
//! Fuzz target `memory_commit`: see `lakehouse_fuzz::memory_commit`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| lakehouse_fuzz::memory_commit(data));
