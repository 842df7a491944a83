//! The pod file: the `toml` crate's parser and podinit's checker (`podinit::fuzzing::parse_pod_file`),
//! with the crate on its own as an oracle for what is valid TOML.
#![no_main]
#[path = "../checks.rs"]
mod checks;
libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::pod_file(data));
