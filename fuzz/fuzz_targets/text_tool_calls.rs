#![no_main]
//! Fuzz target `text_tool_calls`: see `lakehouse_fuzz::text_tool_calls`.

libfuzzer_sys::fuzz_target!(init: lakehouse_fuzz::abort_on_uncaught_panics(), |data: &[u8]| {
    lakehouse_fuzz::text_tool_calls(data)
});
