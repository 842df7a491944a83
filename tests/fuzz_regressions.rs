//! Replays every input kept under `tests/fuzz-corpus/<target>/` (crashes the
//! fuzzers found, now fixed, and a few seeds) through the same checks the fuzz
//! targets in `fuzz/` run, so a regression fails the normal `cargo test`.
//! To add one: copy the artifact from `fuzz/artifacts/<target>/` into
//! `tests/fuzz-corpus/<target>/` under a name that says what it was.

#[path = "../fuzz/checks.rs"]
mod checks;

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no inputs in {}", dir.display());
    let mut failed = Vec::new();
    for f in &files {
        let data = std::fs::read(f).unwrap();
        // Each input on its own thread, so one panic names its file and the others still run.
        let ok = std::thread::Builder::new().stack_size(8 << 20).spawn(move || check(&data)).unwrap().join().is_ok();
        if !ok {
            failed.push(f.display().to_string());
        }
    }
    assert!(failed.is_empty(), "{target}: these inputs fail: {failed:#?}");
    files.len()
}

macro_rules! corpus_tests {
    ($($name:ident => $check:path),* $(,)?) => {
        $( #[test] fn $name() { replay(stringify!($name), $check); } )*

        /// Every target in checks::TARGETS has a corpus test above.
        #[test]
        fn every_target_is_replayed() {
            let ours = [$(stringify!($name)),*];
            for (t, _) in checks::TARGETS {
                assert!(ours.contains(t), "no replay test for fuzz target {t}");
            }
        }
    };
}

corpus_tests! {
    pod_file => checks::pod_file,
    duration => checks::duration,
    signal_name => checks::signal_name,
    expand => checks::expand_vars,
    status_json => checks::status_json,
    http_status => checks::http_status,
    control_request => checks::control_request,
}
