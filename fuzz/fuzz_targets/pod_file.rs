//! The pod file: in-tree TOML parser and the checker (`podinit::config::parse`).
#![no_main]
#[path = "../checks.rs"]
mod checks;
libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::pod_file(data));
