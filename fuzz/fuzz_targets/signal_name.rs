//! Signal names and numbers (`podinit::fuzzing::parse_signal`).
#![no_main]
#[path = "../checks.rs"]
mod checks;
libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::signal_name(data));
