//! The HTTP probe's status line (`podinit::fuzzing::parse_http_status`).
#![no_main]
#[path = "../checks.rs"]
mod checks;
libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::http_status(data));
