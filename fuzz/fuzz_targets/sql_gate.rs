#![no_main]
//! Fuzz target `sql_gate`: see `lakehouse_fuzz::sql_gate`.

libfuzzer_sys::fuzz_target!(init: lakehouse_fuzz::abort_on_uncaught_panics(), |data: &[u8]| {
    lakehouse_fuzz::sql_gate(data)
});
