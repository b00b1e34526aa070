#![no_main]
//! Fuzz target `cursor`: see `lakehouse_fuzz::cursor`.

libfuzzer_sys::fuzz_target!(init: lakehouse_fuzz::abort_on_uncaught_panics(), |data: &[u8]| {
    lakehouse_fuzz::cursor(data)
});
