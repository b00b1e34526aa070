#![no_main]
//! Fuzz target `tool_arguments`: see `lakehouse_fuzz::tool_arguments`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| lakehouse_fuzz::tool_arguments(data));
