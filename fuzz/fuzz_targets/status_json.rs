//! status.json (`podinit::fuzzing::parse_status`), then the status table and health verdict.
#![no_main]
#[path = "../checks.rs"]
mod checks;
libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::status_json(data));
