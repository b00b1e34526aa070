#![no_main]
//! Fuzz target `text_tool_calls`: see `lakehouse_fuzz::text_tool_calls`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| lakehouse_fuzz::text_tool_calls(data));
