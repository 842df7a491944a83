//! The command line's whole output, pinned: every line on stdout and stderr
//! and the exit code, so a stray second line or a changed word fails (cargo's
//! `str![[…]]` style, with snapbox). Only what needs no root and no process
//! tree lives here; the kernel's side is in `tests/integration/`.
//!
//! To accept a deliberate change: `SNAPSHOTS=overwrite cargo test --test cli`,
//! then review the diff.

use snapbox::cmd::{cargo_bin, Command};
use snapbox::{file, str};

fn podinit() -> Command {
    Command::new(cargo_bin!("podinit")).current_dir(env!("CARGO_MANIFEST_DIR")).env_remove("PODINIT_CONFIG")
}

/// Every bad pod file in tests/pods/bad: one positioned line per error, exit 1,
/// nothing on stdout. The expected output sits next to the file's name in
/// tests/cli/check/.
#[test]
fn check_bad_pod_files() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pods/bad");
    let mut names: Vec<_> = std::fs::read_dir(&dir).expect("tests/pods/bad").flatten().map(|e| e.file_name()).collect();
    names.sort();
    assert!(names.len() >= 20, "the bad pod files are there");
    for name in names {
        let name = name.to_string_lossy().into_owned();
        let expected = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/cli/check")
            .join(name.replace(".toml", ".stderr"));
        podinit()
            .args(["check", "-c", &format!("tests/pods/bad/{name}")])
            .assert()
            .code(1)
            .stdout_eq(str![""])
            .stderr_eq(snapbox::Data::read_from(&expected, None));
    }
}

#[test]
fn check_good_pod_file() {
    podinit()
        .args(["check", "-c", "tests/pods/good/spec-example.toml"])
        .assert()
        .success()
        .stderr_eq(str![""])
        .stdout_eq(str![[r#"
tests/pods/good/spec-example.toml: ok: pod 'web' with 3 init entries and 1 apps

"#]]);
}

#[test]
fn check_missing_file() {
    podinit().args(["check", "-c", "tests/pods/no-such-file.toml"]).assert().code(1).stdout_eq(str![""]).stderr_eq(
        str![[r#"
tests/pods/no-such-file.toml: cannot read: No such file or directory

"#]],
    );
}

#[test]
fn top_level_help() {
    podinit().arg("--help").assert().success().stderr_eq(str![""]).stdout_eq(file!["cli/help.stdout"]);
}

#[test]
fn unknown_subcommand_runs_as_a_program_name() {
    // A subcommand is recognised only as the first argument, and anything else
    // there is init mode's program: `podinit frobnicate` tries to run it.
    podinit().arg("no-such-program-xyz").assert().code(127).stdout_eq(str![""]).stderr_eq(str![[r#"
podinit: ERROR no-such-program-xyz: command not found

"#]]);
}
