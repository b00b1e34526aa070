#![no_main]
//! Fuzz target `id_template`: see `lakehouse_fuzz::id_template`.

libfuzzer_sys::fuzz_target!(init: lakehouse_fuzz::abort_on_uncaught_panics(), |data: &[u8]| {
    lakehouse_fuzz::id_template(data)
});
