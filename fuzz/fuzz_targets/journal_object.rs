#![no_main]
//! Fuzz target `journal_object`: see `lakehouse_fuzz::journal_object`.

libfuzzer_sys::fuzz_target!(init: lakehouse_fuzz::abort_on_uncaught_panics(), |data: &[u8]| {
    lakehouse_fuzz::journal_object(data)
});
