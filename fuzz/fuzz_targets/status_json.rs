//! status.json (`podinit::status::parse`), then the status table and health verdict.
#![no_main]
#[path = "../checks.rs"]
mod checks;
libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::status_json(data));
