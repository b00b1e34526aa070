#![no_main]
//! Fuzz target `memory_snapshot`: see `lakehouse_fuzz::memory_snapshot`.

libfuzzer_sys::fuzz_target!(init: lakehouse_fuzz::abort_on_uncaught_panics(), |data: &[u8]| {
    lakehouse_fuzz::memory_snapshot(data)
});
