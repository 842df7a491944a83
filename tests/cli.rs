//! The command line's whole output, pinned: every line on stdout and stderr
//! and the exit code, so a stray second line or a changed word fails (cargo's
//! `str![[…]]` style, with snapbox). Only what needs no root and no process
//! tree lives here; the kernel's side (a running pod, signals, PID 1) is in
//! `tests/integration/`.
//!
//! Every command runs from the crate root with relative paths, so the paths in
//! the messages are fixed; what varies (a pid, a time, the git hash) is `[..]`.
//! Long outputs sit in files under tests/cli/ (help/, check/, manifest-check/,
//! export/, import/).
//!
//! To accept a deliberate change: `SNAPSHOTS=overwrite cargo test --test cli`,
//! then review the diff.

use std::path::{Path, PathBuf};

use snapbox::cmd::{cargo_bin, Command, OutputAssert};
use snapbox::{file, str, Assert, Data};

fn podinit() -> Command {
    // No path normalisation: snapbox would otherwise turn every `\` of an
    // output into `/` (a JSON or YAML string's escapes) and hide a change.
    let exact = Assert::new().action_env(snapbox::assert::DEFAULT_ACTION_ENV).normalize_paths(false);
    let mut cmd = Command::new(cargo_bin!("podinit")).current_dir(env!("CARGO_MANIFEST_DIR")).with_assert(exact);
    // The environment the binary reads, so the caller's shell cannot change an output.
    for var in [
        "PODINIT_CONFIG",
        "PODINIT_LOG",
        "PODINIT_VERBOSITY",
        "TINI_VERBOSITY",
        "PODINIT_SUBREAPER",
        "TINI_SUBREAPER",
        "PODINIT_KILL_PROCESS_GROUP",
        "TINI_KILL_PROCESS_GROUP",
    ] {
        cmd = cmd.env_remove(var);
    }
    cmd
}

/// `podinit ARGS`, run to completion.
fn run(args: &[&str]) -> OutputAssert {
    podinit().args(args).assert()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The expected output in the file `rel` (relative to the crate root); an
/// overwrite run rewrites it.
fn expected(rel: &str) -> Data {
    Data::read_from(&root().join(rel), None)
}

/// The files of `dir` (relative to the crate root) whose names end in one of
/// `exts`, as relative paths, sorted.
fn files(dir: &str, exts: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| exts.iter().any(|x| n.ends_with(x)))
        .collect();
    names.sort();
    names.into_iter().map(|n| format!("{dir}/{n}")).collect()
}

fn stdout_of(out: &OutputAssert) -> String {
    String::from_utf8(out.get_output().stdout.clone()).expect("stdout is UTF-8")
}

// ============================================================================
// check: pod files and manifests
// ============================================================================

/// Every bad pod file in tests/pods/bad: one positioned line per error, exit 1,
/// nothing on stdout. The expected output sits next to the file's name in
/// tests/cli/check/.
#[test]
fn check_bad_pod_files() {
    let names = files("tests/pods/bad", &[".toml"]);
    assert!(names.len() >= 20, "the bad pod files are there");
    for path in names {
        let name = Path::new(&path).file_name().unwrap().to_string_lossy().replace(".toml", ".stderr");
        run(&["check", "-c", &path])
            .code(1)
            .stdout_eq(str![""])
            .stderr_eq(expected(&format!("tests/cli/check/{name}")));
    }
}

/// Every bad manifest in tests/manifests/bad: exactly one line naming
/// FILE:LINE:COL and the field path, exit 1, nothing on stdout. The expected
/// output is tests/cli/manifest-check/NAME.stderr.
#[test]
fn check_bad_manifests() {
    let names = files("tests/manifests/bad", &[".yaml", ".json"]);
    assert!(names.len() >= 20, "the bad manifests are there");
    for path in names {
        let name = Path::new(&path).file_name().unwrap().to_string_lossy().into_owned();
        run(&["check", "-c", &path])
            .code(1)
            .stdout_eq(str![""])
            .stderr_eq(expected(&format!("tests/cli/manifest-check/{name}.stderr")));
    }
}

/// The good pod files, the examples' manifests (the twins of their pod.toml)
/// and the Kubernetes docs' myapp manifest: one "ok" line on stdout naming
/// the pod and its entry counts, nothing on stderr, exit 0.
#[test]
fn check_good_files() {
    for (path, want) in [
        (
            "tests/pods/good/every-key.toml",
            str![[r#"
tests/pods/good/every-key.toml: ok: pod 'every-key' with 6 init entries and 1 apps

"#]],
        ),
        (
            "tests/pods/good/lifecycle.toml",
            str![[r#"
tests/pods/good/lifecycle.toml: ok: pod 'lifecycle' with 3 init entries and 1 apps

"#]],
        ),
        (
            "tests/pods/good/probes.toml",
            str![[r#"
tests/pods/good/probes.toml: ok: pod 'probes' with 1 init entries and 1 apps

"#]],
        ),
        (
            "tests/pods/good/spec-example.toml",
            str![[r#"
tests/pods/good/spec-example.toml: ok: pod 'web' with 3 init entries and 1 apps

"#]],
        ),
        (
            "examples/web/pod.yaml",
            str![[r#"
examples/web/pod.yaml: ok: pod 'web' with 1 init entries and 1 apps

"#]],
        ),
        (
            "examples/env-once/pod.yaml",
            str![[r#"
examples/env-once/pod.yaml: ok: pod 'env-once' with 1 init entries and 1 apps

"#]],
        ),
        (
            "examples/wait-services/pod.yaml",
            str![[r#"
examples/wait-services/pod.yaml: ok: pod 'wait-services' with 4 init entries and 1 apps

"#]],
        ),
        (
            "examples/docker/pod.yaml",
            str![[r#"
examples/docker/pod.yaml: ok: pod 'web' with 2 init entries and 1 apps

"#]],
        ),
        (
            "tests/manifests/good/myapp.yaml",
            str![[r#"
tests/manifests/good/myapp.yaml: ok: pod 'myapp-pod' with 2 init entries and 1 apps

"#]],
        ),
    ] {
        run(&["check", "-c", path]).success().stderr_eq(str![""]).stdout_eq(want);
    }
    // Every good pod file is in the list above.
    assert_eq!(files("tests/pods/good", &[".toml"]).len(), 4, "a new tests/pods/good file: add it to check_good_files");
}

/// Without -c, the pod file is $PODINIT_CONFIG.
#[test]
fn check_reads_podinit_config_by_default() {
    podinit()
        .arg("check")
        .env("PODINIT_CONFIG", "tests/pods/good/spec-example.toml")
        .assert()
        .success()
        .stderr_eq(str![""])
        .stdout_eq(str![[r#"
tests/pods/good/spec-example.toml: ok: pod 'web' with 3 init entries and 1 apps

"#]]);
}

/// Files that cannot be read: one line naming the file and why, exit 1.
#[test]
fn check_missing_file() {
    podinit().args(["check", "-c", "tests/pods/no-such-file.toml"]).assert().code(1).stdout_eq(str![""]).stderr_eq(
        str![[r#"
tests/pods/no-such-file.toml: cannot read: No such file or directory

"#]],
    );
    run(&["check", "-c", "tests/pods/no-such-dir/pod.toml"]).code(1).stdout_eq(str![""]).stderr_eq(str![[r#"
tests/pods/no-such-dir/pod.toml: cannot read: No such file or directory

"#]]);
}

#[test]
fn check_directory_as_pod_file() {
    run(&["check", "-c", "tests/pods"]).code(1).stdout_eq(str![""]).stderr_eq(str![[r#"
tests/pods: cannot read: Is a directory

"#]]);
}

#[test]
fn check_file_that_is_not_utf8() {
    // Line 2 holds the bytes 0xff 0xfe inside a string.
    run(&["check", "-c", "tests/pods/cli/not-utf8.toml"]).code(1).stdout_eq(str![""]).stderr_eq(str![[r#"
tests/pods/cli/not-utf8.toml:2:14: not valid UTF-8

"#]]);
}

/// check prints every error of a file, one line each, in file order.
#[test]
fn check_every_error_of_a_file() {
    run(&["check", "-c", "tests/pods/cli/several-errors.toml"]).code(1).stdout_eq(str![""]).stderr_eq(str![[r#"
tests/pods/cli/several-errors.toml:1:18: bad restart_policy 'Sometimes' (expected Always, OnFailure or Never)
tests/pods/cli/several-errors.toml:2:28: bad duration '5 seconds' for 'termination_grace_period' (expected a number with a unit: ms, s, m, h)
tests/pods/cli/several-errors.toml:6:11: empty command: 'command' needs at least the program to run
tests/pods/cli/several-errors.toml:9:8: duplicate name 'a' (first used on line 5)
tests/pods/cli/several-errors.toml:11:15: bad stop_signal: unknown signal 'SIGNOPE' (expected a name like SIGTERM or TERM, RTMIN+N, or a number 1-64)

"#]]);
}

/// A manifest's ConfigMaps and Secrets: one that is neither a document of the
/// file nor under --configmaps/--secrets is one positioned line naming the
/// flag (exit 1); given the directory, the pod is fine, and what podinit does
/// not use of the file is an INFO line on stderr.
#[test]
fn check_manifest_inputs() {
    run(&["check", "-c", "tests/manifests/cli/secret-env.yaml"]).code(1).stdout_eq(str![""]).stderr_eq(str![[r#"
tests/manifests/cli/secret-env.yaml:32:23: document 2.spec.containers[0].env[1].valueFrom.secretKeyRef: Secret 'api' not found: add it to the manifest file (a Secret document) or give --secrets DIR holding api/KEY files

"#]]);
    run(&["check", "-c", "tests/manifests/cli/secret-env.yaml", "--secrets", "tests/manifests/cli/secrets"])
        .success()
        .stdout_eq(str![[r#"
tests/manifests/cli/secret-env.yaml: ok: pod 'secret-pod' with 0 init entries and 1 apps

"#]])
        .stderr_eq(str![[r#"
podinit: INFO tests/manifests/cli/secret-env.yaml:4:1: document 1.type ignored: cluster bookkeeping

"#]]);
    run(&["check", "-c", "tests/manifests/cli/missing-configmap.yaml"]).code(1).stdout_eq(str![""]).stderr_eq(str![[r#"
tests/manifests/cli/missing-configmap.yaml:13:16: spec.volumes[0].configMap: ConfigMap 'absent' not found: add it to the manifest file (a ConfigMap document) or give --configmaps DIR holding absent/KEY files

"#]]);
}

// ============================================================================
// export and import: manifests out, pod files back, round trips
// ============================================================================

/// The pod files whose manifests are pinned, with the name of their
/// snapshots: tests/cli/export/NAME.yaml and .json, tests/cli/import/NAME.toml.
const ROUND_TRIP: [(&str, &str); 6] = [
    ("examples/web/pod.toml", "examples-web"),
    ("examples/env-once/pod.toml", "examples-env-once"),
    ("examples/wait-services/pod.toml", "examples-wait-services"),
    ("examples/docker/pod.toml", "examples-docker"),
    ("tests/pods/good/every-key.toml", "every-key"),
    ("tests/pods/good/spec-example.toml", "spec-example"),
];

/// `export` of each pod file, YAML and JSON, whole; no probe or hook names
/// 127.0.0.1 (a cluster probes from the node, so a pod file's local address
/// becomes the pod's own).
#[test]
fn export_pod_files() {
    for (src, name) in ROUND_TRIP {
        let yaml = run(&["export", "-c", src])
            .success()
            .stderr_eq(str![""])
            .stdout_eq(expected(&format!("tests/cli/export/{name}.yaml")));
        assert!(!stdout_of(&yaml).contains("host: \"127.0.0.1\""), "export of {src} names 127.0.0.1");
        run(&["export", "--format", "json", "-c", src])
            .success()
            .stderr_eq(str![""])
            .stdout_eq(expected(&format!("tests/cli/export/{name}.json")));
    }
}

/// manifest → pod file → manifest is the identity, and the pod file is a
/// fixed point: `import` of the pinned YAML and of the pinned JSON give the
/// pinned pod file, whose `export` is the pinned YAML again, and which
/// `check` finds to be the same pod as the original.
#[test]
fn import_round_trips() {
    for (src, name) in ROUND_TRIP {
        let (manifest, manifest_json, pod_file) = (
            format!("tests/cli/export/{name}.yaml"),
            format!("tests/cli/export/{name}.json"),
            format!("tests/cli/import/{name}.toml"),
        );
        run(&["import", &manifest]).success().stderr_eq(str![""]).stdout_eq(expected(&pod_file));
        run(&["import", &manifest_json]).success().stderr_eq(str![""]).stdout_eq(expected(&pod_file));
        run(&["export", "-c", &pod_file]).success().stderr_eq(str![""]).stdout_eq(expected(&manifest));
        let original = stdout_of(&run(&["check", "-c", src]).success());
        run(&["check", "-c", &pod_file])
            .success()
            .stderr_eq(str![""])
            .stdout_eq(Data::text(original.replace(src, &pod_file)));
    }
}

/// The examples' pod.yaml is the same pod as their pod.toml: `import` prints
/// the same pod file for both (tests/cli/import/twin-NAME.toml), and `export`
/// of a manifest gives it back as it is, byte for byte but for its comments.
#[test]
fn examples_twins() {
    for ex in ["web", "env-once", "wait-services", "docker"] {
        let want = expected(&format!("tests/cli/import/twin-{ex}.toml"));
        run(&["import", &format!("examples/{ex}/pod.toml")]).success().stderr_eq(str![""]).stdout_eq(want.clone());
        run(&["import", &format!("examples/{ex}/pod.yaml")]).success().stderr_eq(str![""]).stdout_eq(want);
        let yaml = std::fs::read_to_string(root().join(format!("examples/{ex}/pod.yaml"))).expect("pod.yaml");
        let uncommented: String =
            yaml.lines().filter(|l| !l.trim_start().starts_with('#')).map(|l| format!("{l}\n")).collect();
        run(&["export", "-c", &format!("examples/{ex}/pod.yaml")])
            .success()
            .stderr_eq(str![""])
            .stdout_eq(Data::text(uncommented));
    }
}

/// `--image` names the containers' image of a pod file; on a manifest it is
/// refused with a warning and the manifest keeps its own images.
#[test]
fn export_image() {
    run(&["export", "--image", "alpine:3", "-c", "examples/web/pod.toml"])
        .success()
        .stderr_eq(str![""])
        .stdout_eq(file!["cli/export/examples-web.image-alpine.yaml"]);
    let uncommented: String = std::fs::read_to_string(root().join("examples/web/pod.yaml"))
        .expect("pod.yaml")
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    run(&["export", "--image", "x", "-c", "examples/web/pod.yaml"])
        .success()
        .stdout_eq(Data::text(uncommented))
        .stderr_eq(str![[r#"
podinit: export: examples/web/pod.yaml: --image is for a pod file: a manifest keeps its own images

"#]]);
}

/// What cannot be exported or imported: one line, nothing on stdout.
#[test]
fn export_and_import_errors() {
    run(&["export", "-c", "tests/pods/cli/no-apps.toml"]).code(1).stdout_eq(str![""]).stderr_eq(str![[r#"
podinit: export: tests/pods/cli/no-apps.toml: a Kubernetes Pod needs at least one container, and this pod has no [[app]]

"#]]);
    run(&["export", "--format", "xml", "-c", "examples/web/pod.toml"]).code(2).stdout_eq(str![""]).stderr_eq(str![[
        r#"
podinit: 'podinit export': --format is yaml or json, not 'xml' (see 'podinit --help')

"#
    ]]);
    run(&["import"]).code(2).stdout_eq(str![""]).stderr_eq(str![[r#"
podinit: 'podinit import' needs an argument (see 'podinit --help')

"#]]);
    run(&["import", "tests/manifests/no-such-file.yaml"]).code(1).stdout_eq(str![""]).stderr_eq(str![[r#"
podinit: tests/manifests/no-such-file.yaml: cannot read: No such file or directory

"#]]);
}

/// `import -` reads stdin: a CronJob's pod template (after a ConfigMap
/// document) becomes a pod file named after the CronJob.
#[test]
fn import_from_stdin() {
    podinit()
        .args(["import", "-"])
        .stdin(
            r#"apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {a: b}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      backoffLimit: 1
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - {name: job, command: [sh, -c, "echo job of $POD_NAME"]}
"#,
        )
        .assert()
        .success()
        .stdout_eq(str![[r#"
name = "nightly"
namespace = "default"
restart_policy = "OnFailure"
termination_grace_period = "30s"

[[app]]
name = "job"
command = ["sh", "-c", "echo job of $POD_NAME"]

"#]])
        .stderr_eq(str![[r#"
podinit: INFO /dev/stdin:10:3: document 2.spec.schedule ignored: a setting of the workload, not of its pod: podinit runs one pod
podinit: INFO /dev/stdin:13:7: document 2.spec.jobTemplate.spec.backoffLimit ignored: a setting of the workload, not of its pod: podinit runs one pod

"#]]);
}

// ============================================================================
// help, version and usage errors
// ============================================================================

#[test]
fn top_level_help() {
    run(&["--help"]).success().stderr_eq(str![""]).stdout_eq(file!["cli/help.stdout"]);
    run(&["-h"]).success().stderr_eq(str![""]).stdout_eq(file!["cli/help.stdout"]);
}

/// `podinit SUB --help` and `-h`: that subcommand's usage on stdout
/// (tests/cli/help/SUB.stdout), nothing on stderr, exit 0, for every subcommand.
#[test]
fn subcommand_help() {
    for sub in [
        "pause", "run", "check", "status", "logs", "describe", "health", "wait", "reset", "restart", "stop", "start",
        "kill", "export", "import",
    ] {
        for flag in ["--help", "-h"] {
            run(&[sub, flag])
                .success()
                .stderr_eq(str![""])
                .stdout_eq(expected(&format!("tests/cli/help/{sub}.stdout")));
        }
    }
}

/// `--version` and `-V`: tini's line, `podinit version X.Y.Z - git.HASH`
/// (the hash is the build's commit, or "unknown" outside a git checkout).
#[test]
fn version() {
    for flag in ["--version", "-V"] {
        run(&[flag])
            .success()
            .stderr_eq(str![""])
            .stdout_eq(Data::text(format!("podinit version {} - git.[..]\n", env!("CARGO_PKG_VERSION"))));
    }
}

/// Init mode's usage errors exit 1, as tini's (`tini -z; echo $?` prints 1),
/// with one line on stderr.
#[test]
fn init_mode_usage_errors_exit_1() {
    run(&["-z"]).code(1).stdout_eq(str![""]).stderr_eq(str![[r#"
podinit: invalid option '-z' (see 'podinit --help')

"#]]);
    for args in [&[][..], &["--"][..]] {
        run(args).code(1).stdout_eq(str![""]).stderr_eq(str![[r#"
podinit: no command given: podinit [OPTIONS] -- CMD [ARG...] (see 'podinit --help')

"#]]);
    }
    run(&["-e", "300", "true"]).code(1).stdout_eq(str![""]).stderr_eq(str![[r#"
podinit: -e: '300' is not an exit code (0-255) (see 'podinit --help')

"#]]);
    run(&["-p", "SIGNOPE", "true"]).code(1).stdout_eq(str![""]).stderr_eq(str![[r#"
podinit: -p: unknown signal 'SIGNOPE' (expected a name like SIGTERM or TERM, RTMIN+N, or a number 1-64) (see 'podinit --help')

"#]]);
    podinit().args(["--", "true"]).env("TINI_VERBOSITY", "lots").assert().code(1).stdout_eq(str![""]).stderr_eq(str![
        [r#"
podinit: TINI_VERBOSITY: expected a level 0-4, got 'lots' (see 'podinit --help')

"#]
    ]);
}

/// A subcommand's usage errors exit 2, with one line on stderr.
#[test]
fn subcommand_usage_errors_exit_2() {
    run(&["run", "--bogus"]).code(2).stdout_eq(str![""]).stderr_eq(str![[r#"
podinit: 'podinit run': invalid option '--bogus' (see 'podinit --help')

"#]]);
    run(&["check", "-c", "tests/pods/good/spec-example.toml", "extra"]).code(2).stdout_eq(str![""]).stderr_eq(str![[
        r#"
podinit: 'podinit check': unexpected argument 'extra' (see 'podinit --help')

"#
    ]]);
    run(&["run", "-c"]).code(2).stdout_eq(str![""]).stderr_eq(str![[r#"
podinit: missing argument for option '-c' (see 'podinit --help')

"#]]);
}

#[test]
fn unknown_subcommand_runs_as_a_program_name() {
    // A subcommand is recognised only as the first argument, and anything else
    // there is init mode's program: `podinit frobnicate` tries to run it.
    run(&["no-such-program-xyz"]).code(127).stdout_eq(str![""]).stderr_eq(str![[r#"
podinit: ERROR no-such-program-xyz: command not found

"#]]);
}

/// Init mode speaks tini's verbosity scale: TINI_VERBOSITY / PODINIT_VERBOSITY
/// are absolute levels (default 1: warnings, so `true` prints nothing), and
/// each -v raises the level by one (2: the info lines, no debug ones).
#[test]
fn init_mode_verbosity() {
    run(&["--", "true"]).success().stdout_eq(str![""]).stderr_eq(str![""]);
    podinit()
        .args(["--", "true"])
        .env("TINI_VERBOSITY", "1")
        .assert()
        .success()
        .stdout_eq(str![""])
        .stderr_eq(str![""]);
    let info = str![[r#"
podinit: INFO true: started pid [..]
podinit: INFO true: exited 0 after [..]s

"#]];
    podinit()
        .args(["--", "true"])
        .env("TINI_VERBOSITY", "2")
        .assert()
        .success()
        .stdout_eq(str![""])
        .stderr_eq(info.clone());
    podinit()
        .args(["-v", "--", "true"])
        .env("PODINIT_VERBOSITY", "1")
        .assert()
        .success()
        .stdout_eq(str![""])
        .stderr_eq(info.clone());
    podinit()
        .args(["-vv", "--", "true"])
        .env("TINI_VERBOSITY", "0")
        .assert()
        .success()
        .stdout_eq(str![""])
        .stderr_eq(info);
}

// ============================================================================
// Commands that talk to a pod, when there is none to talk to
// ============================================================================

/// A pod file that does not load: every command that talks to the pod prints
/// its FILE:LINE:COL error and exits 1 — it never falls back to the default
/// state_dir (another pod's).
#[test]
fn pod_commands_on_a_bad_pod_file() {
    let bad = "tests/pods/bad/02-unknown-top-level-key.toml";
    let want = str![[r#"
podinit: tests/pods/bad/02-unknown-top-level-key.toml:3:1: unknown key 'restartPolicy' in the pod file, did you mean 'restart_policy'? (valid keys: name, namespace, restart_policy, termination_grace_period, active_deadline, marker_dir, state_dir, log_prefix, log_buffer, log_timestamps, log_dir, log_max_size, log_max_files, backoff, env_file, env, init, app)

"#]];
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["health"],
        &["wait", "--timeout", "1s"],
        &["restart", "web"],
        &["stop", "web"],
        &["start", "web"],
        &["kill", "web", "HUP"],
        &["reset"],
        &["export"],
        &["status", "-o", "json"],
        &["describe"],
        &["logs", "web"],
    ] {
        let mut all = vec![args[0], "-c", bad];
        all.extend_from_slice(&args[1..]);
        run(&all).code(1).stdout_eq(str![""]).stderr_eq(want.clone());
    }
    run(&["status", "-c", "tests/pods/no-such-dir/pod.toml"]).code(1).stdout_eq(str![""]).stderr_eq(str![[r#"
podinit: tests/pods/no-such-dir/pod.toml: cannot read: No such file or directory

"#]]);
}

/// A good pod file whose pod was never started (tests/pods/cli/not-running.toml,
/// its state_dir and marker_dir do not exist): status, health and describe say
/// there is no socket and no status file, the control commands that there is
/// no socket, all exit 1; `wait --for exit` is met at once, and `reset` has
/// nothing to forget.
#[test]
fn pod_commands_with_no_pod_running() {
    let pod = "tests/pods/cli/not-running.toml";
    let no_pod = str![[r#"
podinit: no control socket at tests/pods/cli/no-state-dir/control.sock; no status file at tests/pods/cli/no-state-dir/status.json: the pod is not running, or podinit could not write its state_dir

"#]];
    for args in [&["status", "-c", pod][..], &["status", "--json", "-c", pod], &["health", "-c", pod]] {
        run(args).code(1).stdout_eq(str![""]).stderr_eq(no_pod.clone());
    }
    let no_status_file = str![[r#"
podinit: no status file at tests/pods/cli/no-state-dir/status.json: the pod is not running, or podinit could not write its state_dir

"#]];
    for args in [&["status", "-o", "json", "-c", pod][..], &["describe", "-c", pod]] {
        run(args).code(1).stdout_eq(str![""]).stderr_eq(no_status_file.clone());
    }
    let no_socket = str![[r#"
podinit: the pod is not running: no control socket at tests/pods/cli/no-state-dir/control.sock (is podinit running, with the same pod file and state_dir?)

"#]];
    for args in [
        &["restart", "-c", pod, "web"][..],
        &["stop", "-c", pod, "web"],
        &["start", "-c", pod, "web"],
        &["kill", "-c", pod, "web", "HUP"],
        &["logs", "-c", pod, "web"],
    ] {
        run(args).code(1).stdout_eq(str![""]).stderr_eq(no_socket.clone());
    }
    run(&["wait", "-c", pod, "--timeout", "100ms"]).code(1).stdout_eq(str![""]).stderr_eq(str![[r#"
podinit: wait: pod/idle: timed out after 100ms: podinit is not running (no control socket at tests/pods/cli/no-state-dir/control.sock; no status file at tests/pods/cli/no-state-dir/status.json: the pod is not running, or podinit could not write its state_dir)

"#]]);
    run(&["wait", "-c", pod, "--for", "exit", "--timeout", "100ms"]).success().stderr_eq(str![""]).stdout_eq(str![[
        r#"
pod/idle condition met

"#
    ]]);
    run(&["reset", "-c", pod]).success().stderr_eq(str![""]).stdout_eq(str![[r#"
no markers to reset in tests/pods/cli/no-marker-dir

"#]]);
}
