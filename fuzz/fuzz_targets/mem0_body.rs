#![no_main]
//! Fuzz target `mem0_body`: see `lakehouse_fuzz::mem0_body`.

libfuzzer_sys::fuzz_target!(init: lakehouse_fuzz::abort_on_uncaught_panics(), |data: &[u8]| {
    lakehouse_fuzz::mem0_body(data)
});
