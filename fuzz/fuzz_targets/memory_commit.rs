#![no_main]
//! Fuzz target `memory_commit`: see `lakehouse_fuzz::memory_commit`.

libfuzzer_sys::fuzz_target!(init: lakehouse_fuzz::abort_on_uncaught_panics(), |data: &[u8]| {
    lakehouse_fuzz::memory_commit(data)
});
