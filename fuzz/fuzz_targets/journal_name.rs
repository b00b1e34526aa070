#![no_main]
//! Fuzz target `journal_name`: see `lakehouse_fuzz::journal_name`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| lakehouse_fuzz::journal_name(data));
