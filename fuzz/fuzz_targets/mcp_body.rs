#![no_main]
//! Fuzz target `mcp_body`: see `lakehouse_fuzz::mcp_body`.

libfuzzer_sys::fuzz_target!(init: lakehouse_fuzz::abort_on_uncaught_panics(), |data: &[u8]| {
    lakehouse_fuzz::mcp_body(data)
});
