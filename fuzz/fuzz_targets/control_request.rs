//! A control socket request line (`podinit::fuzzing::parse_request`).
#![no_main]
#[path = "../checks.rs"]
mod checks;
libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::control_request(data));
