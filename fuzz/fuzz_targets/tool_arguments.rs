#![no_main]
//! Fuzz target `tool_arguments`: see `lakehouse_fuzz::tool_arguments`.

libfuzzer_sys::fuzz_target!(init: lakehouse_fuzz::abort_on_uncaught_panics(), |data: &[u8]| {
    lakehouse_fuzz::tool_arguments(data)
});
