//! Durations (`podinit::fuzzing::parse_duration`).
#![no_main]
#[path = "../checks.rs"]
mod checks;
libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::duration(data));
