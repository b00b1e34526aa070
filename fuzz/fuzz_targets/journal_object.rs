#![no_main]
//! Fuzz target `journal_object`: see `lakehouse_fuzz::journal_object`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| lakehouse_fuzz::journal_object(data));
