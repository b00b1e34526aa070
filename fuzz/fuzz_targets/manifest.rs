#![no_main]
//! Fuzz target `manifest`: see `lakehouse_fuzz::manifest`.

libfuzzer_sys::fuzz_target!(init: lakehouse_fuzz::abort_on_uncaught_panics(), |data: &[u8]| {
    lakehouse_fuzz::manifest(data)
});
