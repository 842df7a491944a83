//! Tests of the pod file as a whole: `parse` and `load`, from text to `Pod` or errors.

use super::*;
use std::time::Duration;

fn pod(text: &str) -> Pod {
    match parse(Path::new("pod.toml"), text) {
        Ok(pod) => pod,
        Err(errors) => panic!("unexpected errors: {errors:#?}"),
    }
}

fn errors(text: &str) -> Vec<String> {
    match parse(Path::new("pod.toml"), text) {
        Ok(pod) => panic!("parsed, expected errors: {pod:#?}"),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

const APP: &str = "[[app]]\nname = \"app\"\ncommand = [\"true\"]\n";

/// The example of SPEC §4, verbatim.
const SPEC_EXAMPLE: &str = r#"name = "web"                      # exported to every process as POD_NAME
namespace = "demo"                # POD_NAMESPACE
restart_policy = "Always"         # Always | OnFailure | Never (Kubernetes meaning)
termination_grace_period = "30s"  # default 30s
active_deadline = "1h"            # optional: pod fails with DeadlineExceeded after this
marker_dir = "/var/lib/podinit"   # where run-once markers live (default shown)
state_dir = "/run/podinit"        # status.json and the control socket/pid (default shown)

[env]                             # for every process; per-process env overrides
LANG = "C.UTF-8"

[[init]]                          # run in file order, one at a time
name = "download"
command = ["wget", "-O", "/data/index.html", "$(SOURCE_URL)"]
env = { SOURCE_URL = "http://example.org/" }
timeout = "60s"                   # a step that runs longer is killed and has failed
once = true                       # default true: skip on later starts if its marker matches

[[init]]
name = "wait-db"
wait_for = { tcp = "127.0.0.1:5432", timeout = "2m" }  # built-in waiter: tcp, http, file, unix

[[init]]
name = "log-shipper"              # a sidecar: an init entry with restart = "Always"
restart = "Always"
command = ["/bin/shipper"]
startup_probe = { exec = ["test", "-S", "/run/shipper.sock"] }

[[app]]                           # Kubernetes "containers": started together, supervised
name = "nginx"
command = ["nginx", "-g", "daemon off;"]
working_dir = "/srv"
user = "www-data"                 # name or uid[:gid]; resolved from /etc/passwd, /etc/group
stop_signal = "SIGQUIT"           # default SIGTERM
essential = true                  # its final exit stops the pod with its status
readiness_probe = { http = "http://127.0.0.1:80/healthz", period = "5s" }
liveness_probe  = { tcp = "127.0.0.1:80", failure_threshold = 3 }
post_start = ["sh", "-c", "echo started"]
pre_stop = ["nginx", "-s", "quit"]
"#;

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn spec_example_parses_to_the_expected_pod() {
    let download = Entry {
        name: "download".into(),
        command: strings(&["wget", "-O", "/data/index.html", "$(SOURCE_URL)"]),
        env: vec![("SOURCE_URL".into(), "http://example.org/".into())],
        timeout: Some(Duration::from_secs(60)),
        ..Entry::defaults(Kind::Init)
    };
    let wait_db = Entry {
        name: "wait-db".into(),
        wait_for: Some(WaitFor {
            target: WaitTarget::Tcp("127.0.0.1:5432".into()),
            timeout: Some(Duration::from_secs(120)),
            period: Duration::from_secs(1),
        }),
        ..Entry::defaults(Kind::Init)
    };
    let shipper = Entry {
        name: "log-shipper".into(),
        command: strings(&["/bin/shipper"]),
        startup_probe: Some(Probe::new(ProbeAction::Exec(strings(&["test", "-S", "/run/shipper.sock"])))),
        ..Entry::defaults(Kind::Sidecar)
    };
    let nginx = Entry {
        name: "nginx".into(),
        command: strings(&["nginx", "-g", "daemon off;"]),
        working_dir: Some("/srv".into()),
        user: Some("www-data".into()),
        stop_signal: libc::SIGQUIT,
        essential: true,
        readiness_probe: Some(Probe {
            period: Duration::from_secs(5),
            ..Probe::new(ProbeAction::Http("http://127.0.0.1:80/healthz".into()))
        }),
        liveness_probe: Some(Probe::new(ProbeAction::Tcp("127.0.0.1:80".into()))),
        post_start: Some(strings(&["sh", "-c", "echo started"])),
        pre_stop: Some(strings(&["nginx", "-s", "quit"])),
        ..Entry::defaults(Kind::App)
    };
    let expected = Pod {
        path: "pod.toml".into(),
        name: "web".into(),
        namespace: "demo".into(),
        restart_policy: RestartPolicy::Always,
        termination_grace_period: Duration::from_secs(30),
        active_deadline: Some(Duration::from_secs(3600)),
        marker_dir: "/var/lib/podinit".into(),
        state_dir: "/run/podinit".into(),
        log_prefix: false,
        logs: Default::default(),
        env: vec![("LANG".into(), "C.UTF-8".into())],
        env_files: vec![],
        backoff: crate::config::Backoff::default(),
        init: vec![download, wait_db, shipper],
        apps: vec![nginx],
        volumes: Vec::new(),
        source: Default::default(),
    };
    assert_eq!(pod(SPEC_EXAMPLE), expected);
}

#[test]
fn defaults() {
    let p = pod(APP);
    assert_eq!(p.name, "pod");
    assert_eq!(p.namespace, "default");
    assert_eq!(p.restart_policy, RestartPolicy::Always);
    assert_eq!(p.termination_grace_period, Duration::from_secs(30));
    assert_eq!(p.active_deadline, None);
    assert_eq!(p.marker_dir, PathBuf::from("/var/lib/podinit"));
    assert_eq!(p.state_dir, PathBuf::from("/run/podinit"));
    assert!(!p.log_prefix);
    assert!(p.env.is_empty() && p.init.is_empty());
    let app = &p.apps[0];
    assert_eq!((app.kind, app.stop_signal, app.essential, app.once), (Kind::App, libc::SIGTERM, false, false));
    assert_eq!((app.timeout, app.user.clone(), app.working_dir.clone()), (None, None, None));
    // An empty file is a valid pod with nothing in it.
    assert_eq!(pod("").apps, vec![]);
}

#[test]
fn sidecar_detection_and_once_defaults() {
    let p = pod(r#"
[[init]]
name = "step"
command = ["true"]
[[init]]
name = "side"
restart = "Always"
command = ["sleep", "inf"]
readiness_probe = { tcp = "[::1]:8080" }
[[init]]
name = "again"
command = ["true"]
once = false
"#);
    let kinds: Vec<_> = p.init.iter().map(|e| (e.name.as_str(), e.kind, e.once)).collect();
    assert_eq!(kinds, [("step", Kind::Init, true), ("side", Kind::Sidecar, false), ("again", Kind::Init, false)]);
    assert_eq!(p.init[1].readiness_probe.as_ref().map(|p| &p.action), Some(&ProbeAction::Tcp("[::1]:8080".into())));
}

#[test]
fn top_level_keys_env_order_and_waiters() {
    let p = pod(r#"
restart_policy = "OnFailure"
termination_grace_period = "0s"
log_prefix = true
marker_dir = "/tmp/m"
state_dir = "/tmp/s"
env.ZED = "1"
env.ALPHA = "2"
env.MID = "3"

[[init]]
name = "f"
wait_for = { file = "/tmp/ready", period = "250ms" }
[[init]]
name = "u"
wait_for = { unix = "/run/db.sock" }
[[init]]
name = "h"
wait_for = { http = "http://localhost/health?x=1" }
"#);
    assert_eq!(p.restart_policy, RestartPolicy::OnFailure);
    assert_eq!(p.termination_grace_period, Duration::ZERO);
    assert!(p.log_prefix);
    assert_eq!((p.marker_dir, p.state_dir), (PathBuf::from("/tmp/m"), PathBuf::from("/tmp/s")));
    let names: Vec<_> = p.env.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["ZED", "ALPHA", "MID"]);
    let targets: Vec<_> = p.init.iter().filter_map(|e| e.wait_for.clone()).map(|w| w.target).collect();
    assert_eq!(
        targets,
        [
            WaitTarget::File("/tmp/ready".into()),
            WaitTarget::Unix("/run/db.sock".into()),
            WaitTarget::Http("http://localhost/health?x=1".into())
        ]
    );
    assert_eq!(p.init[0].wait_for.as_ref().map(|w| w.period), Some(Duration::from_millis(250)));
    assert!(p.init.iter().all(|e| e.command.is_empty()));
}

/// (pod file, "LINE:COL", a phrase of the message at that position)
#[rustfmt::skip]
const BAD: &[(&str, &str, &str)] = &[
    ("[[init]]\nname = \"a\"\ncommand = [\"x\"]\ntimeout = \"10x\"\n", "4:11", "bad duration '10x' for 'timeout' (expected a number with a unit: ms, s, m, h)"),
    ("name = \"p\"\ncolour = \"blue\"\n", "2:1", "unknown key 'colour' in the pod file (valid keys: name, namespace"),
    ("[[app]]\nname = \"a\"\ncomand = [\"x\"]\n", "3:1", "unknown key 'comand' in [[app]], did you mean 'command'?"),
    ("[[init]]\nname = \"a\"\ncommand = [\"x\"]\n[[app]]\nname = \"a\"\ncommand = [\"y\"]\n", "5:8", "duplicate name 'a' (first used on line 2)"),
    // The model lists init entries first; the first of a name is still the one read first.
    ("[[app]]\nname = \"a\"\ncommand = [\"x\"]\n[[init]]\nname = \"a\"\ncommand = [\"y\"]\n", "5:8", "duplicate name 'a' (first used on line 2)"),
    ("[[app]]\n[[init]]\nname = \"a\"\ncommand = [\"x\"]\n[[app]]\nname = \"a\"\ncommand = [\"y\"]\n[[init]]\nname = \"a\"\n", "9:8", "duplicate name 'a' (first used on line 6)"),
    ("[[app]]\nname = \"a\"\ncommand = []\n", "3:11", "empty command"),
    ("[[app]]\nname = \"a\"\ncommand = [\"x\"]\nstop_signal = \"SIGFOO\"\n", "4:15", "bad stop_signal: unknown signal 'SIGFOO'"),
    ("restart_policy = \"always\"\n", "1:18", "bad restart_policy 'always' (expected Always, OnFailure or Never)"),
    ("name = \"a\"\n[[app]\n", "2:7", "invalid TOML: unclosed array table, expected `]`"),
    ("[[app]]\nname = \"a\"\ncommand = [\"x\"]\nessential = \"yes\"\n", "4:13", "'essential' must be true or false, found a string"),
    ("[[app]]\nname = \"a\"\ncommand = [\"x\"]\ntimeout = \"1s\"\n", "4:1", "'timeout' is not valid on app 'a': only init steps have a timeout"),
    ("[[init]]\nname = \"i\"\ncommand = [\"x\"]\nessential = true\n", "4:1", "'essential' is not valid on init step 'i': only apps"),
    ("[[init]]\nname = \"i\"\ncommand = [\"x\"]\nliveness_probe = { tcp = \"h:1\" }\n", "4:1", "Init steps have no probes"),
    ("[[init]]\nname = \"i\"\ncommand = [\"x\"]\npre_stop = [\"x\"]\n", "4:1", "init steps have no hooks"),
    (APP_WITH_PROBE_HTTPS, "4:28", "https is not supported"),
    ("[[init]]\nname = \"w\"\nwait_for = { tcp = \"db\" }\n", "3:20", "bad tcp address 'db' (expected host:port"),
    ("[[init]]\nname = \"w\"\nwait_for = { tcp = \"db:0\" }\n", "3:20", "port '0' is not a number from 1 to 65535"),
    ("[[app]]\nname = \"a\"\ncommand = [\"x\"]\nliveness_probe = { tcp = \"h:1\", failure_threshold = 0 }\n", "4:53", "'failure_threshold' must be at least 1, found 0"),
    ("[[app]]\nname = \"a\"\ncommand = [\"x\"]\nreadiness_probe = { tcp = \"h:1\", period = \"0s\" }\n", "4:43", "'period' must be longer than 0"),
    ("[[app]]\nname = \"a\"\ncommand = [\"x\"]\nreadiness_probe = { exec = [\"x\"], tcp = \"h:1\" }\n", "4:35", "has both 'exec' and 'tcp'"),
    ("[[app]]\nname = \"a\"\ncommand = [\"x\"]\nreadiness_probe = { period = \"5s\" }\n", "4:19", "'readiness_probe' needs one of exec, tcp, http or grpc"),
    ("[[app]]\nname = \"a\"\ncommand = [\"x\"]\nreadiness_probe = { tcp = \"h:1\", headers = { A = \"b\" } }\n", "4:34", "'headers' goes with 'http' (this probe does tcp)"),
    ("[[app]]\nname = \"a\"\ncommand = [\"x\"]\nreadiness_probe = { http = \"http://h/\", service = \"s\" }\n", "4:41", "'service' goes with 'grpc' (this probe does http)"),
    ("[[app]]\nname = \"a\"\ncommand = [\"x\"]\nreadiness_probe = { http = \"http://h/\", headers = { \"a b\" = \"c\" } }\n", "4:53", "'a b' is not an HTTP header name"),
    ("[[app]]\nname = \"a\"\ncommand = [\"x\"]\nreadiness_probe = { http = \"http://h/\", headers = { A = \"x\\r\\nB: y\" } }\n", "4:57", "header 'A' has a line break in its value"),
    ("[[app]]\nname = \"a\"\ncommand = [\"x\"]\nreadiness_probe = { http = \"http://h/\", headers = [\"A: b\"] }\n", "4:51", "'headers' must be a table of strings"),
    ("[[app]]\nname = \"a\"\ncommand = [\"x\"]\nreadiness_probe = { grpc = \"h\" }\n", "4:28", "bad grpc address 'h'"),
    ("[[init]]\nname = \"i\"\n", "1:1", "init step 'i' has no 'command' or 'wait_for'"),
    ("[[init]]\nname = \"i\"\ncommand = [\"x\"]\nwait_for = { file = \"/f\" }\n", "4:1", "has both 'command' and 'wait_for'"),
    ("[[app]]\nname = \"web/1\"\ncommand = [\"x\"]\n", "2:8", "bad name 'web/1'"),
    ("[[app]]\nname = \"-x\"\ncommand = [\"x\"]\n", "2:8", "starting with a letter or digit"),
    (APP_WITH_LONG_NAME, "2:8", "is too long (64 characters, at most 63)"),
    ("x = 1\n\n[[app]]\ncommand = [\"x\"]\n", "3:1", "[[app]] entry has no 'name'"),
    ("[init]\nname = \"i\"\n", "1:1", "'init' must be an array of tables: write [[init]], not [init]"),
    ("[[init]]\nname = \"s\"\nrestart = \"OnFailure\"\ncommand = [\"x\"]\n", "3:11", "bad restart 'OnFailure' (the only valid value is \"Always\""),
    ("[[app]]\nname = \"a\"\ncommand = [\"x\"]\nrestart = \"Always\"\n", "4:1", "'restart' is not valid on app 'a'"),
    ("termination_grace_period = 30\n", "1:28", "bad duration 30 for 'termination_grace_period' (write it as a string with a unit, like \"30s\")"),
    ("active_deadline = \"-5m\"\n", "1:19", "durations cannot be negative"),
    ("[env]\nLANG = \"C\"\nPORT = 8080\n", "3:8", "'PORT' must be a string, found an integer"),
    ("[env]\n\"A=B\" = \"x\"\n", "2:1", "bad environment variable name 'A=B'"),
    ("[[app]]\nname = \"a\"\ncommand = [\"x\"]\nreadiness_probe = { tcp = \"h:1\", perod = \"1s\" }\n", "4:34", "unknown key 'perod' in 'readiness_probe', did you mean 'period'?"),
    ("[[app]]\nname = \"a\"\ncommand = [\"x\"]\nstartup_probe = { tcp = \"h:1\", success_threshold = 2 }\n", "4:52", "'success_threshold' must be 1 for a startup_probe"),
    ("[[app]]\nname = \"a\"\ncommand = [\"x\", 2]\n", "3:17", "'command' must be an array of strings, found an integer in it"),
    ("[[app]]\nname = \"a\"\ncommand = \"nginx -g\"\n", "3:11", "'command' must be an array of strings"),
    ("[[app]]\nname = 1979-05-27\ncommand = [\"x\"]\n", "2:8", "'name' must be a string, found a date-time"),
    ("[[init]]\nname = \"s\"\nrestart = \"Always\"\n", "1:1", "sidecar 's' has no 'command'"),
    ("[[init]]\nname = \"s\"\nrestart = \"Always\"\ncommand = [\"x\"]\ntimeout = \"1s\"\n", "5:1", "'timeout' is not valid on sidecar 's'"),
    ("[[init]]\nname = \"w\"\nwait_for = { dns = \"x\" }\n", "3:14", "unknown key 'dns' in 'wait_for'"),
    ("[[init]]\nname = \"w\"\nwait_for = { dns = \"x\" }\n", "3:12", "'wait_for' needs one of tcp, http, file or unix"),
    ("[[app]]\nname = \"a\"\ncommand = [\"x\"]\nuser = \"1000:\"\n", "4:8", "bad user '1000:'"),
    ("[[app]]\nname = \"a\"\ncommand = [\"\"]\n", "3:12", "'command' has an empty program name"),
    // Columns count characters, not bytes.
    ("env = { \"É\" = \"é\", X = true }\n", "1:24", "'X' must be a string, found a boolean"),
    ("namespace = \"\"\n", "1:13", "'namespace' must not be empty"),
    // Messages stay on one line whatever the value holds.
    ("[[app]]\nname = \"a\\nb\\tc\"\ncommand = [\"x\"]\n", "2:8", "bad name 'a\\nb\\tc'"),
    ("app = 3\n", "1:7", "'app' must be an array of tables, found an integer"),
];
const APP_WITH_PROBE_HTTPS: &str =
    "[[app]]\nname = \"a\"\ncommand = [\"x\"]\nreadiness_probe = { http = \"https://h/\" }\n";
const APP_WITH_LONG_NAME: &str =
    "[[app]]\nname = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\ncommand = [\"x\"]\n";

#[test]
fn bad_inputs_name_line_column_and_problem() {
    let mut misses = Vec::new();
    for (text, at, phrase) in BAD {
        let errors = errors(text);
        let prefix = format!("pod.toml:{at}: ");
        if !errors.iter().any(|e| e.starts_with(&prefix) && e.contains(phrase)) {
            misses.push(format!("want {prefix}…{phrase}… for\n{text}got {errors:#?}"));
        }
    }
    assert!(misses.is_empty(), "{}", misses.join("\n\n"));
}

#[test]
fn every_error_is_collected_in_file_order() {
    let errors = errors(
        "name = 1\n[[init]]\nname = \"a\"\ncommand = [\"x\"]\ntimeout = \"1x\"\n\
         [[app]]\nname = \"a\"\ncommand = [\"x\"]\nstop_signal = \"NOPE\"\nfoo = 1\n\
         [[app]]\nname = \"a\"\ncommand = []\n",
    );
    let positions: Vec<_> = errors.iter().map(|e| e.split(": ").next().unwrap_or_default()).collect();
    assert_eq!(
        positions,
        [
            "pod.toml:1:8",
            "pod.toml:5:11",
            "pod.toml:7:8",
            "pod.toml:9:15",
            "pod.toml:10:1",
            "pod.toml:12:8",
            "pod.toml:13:11"
        ],
        "{errors:#?}"
    );
}

#[test]
fn errors_found_out_of_file_order_are_sorted_with_exact_positions() {
    // Every [[init]] entry is checked before any [[app]], so the app's error
    // (line 5) is found after the second init entry's (line 9); columns count
    // characters, and the duplicate name's first line comes from another entry.
    let errors = errors(
        "[[init]]\nname = \"i\"\ncommand = [\"x\"]\n[[app]]\nenv = { \"é\" = \"ü\", \"ß\" = 1 }\nname = \"a\"\n\
         command = [\"y\"]\n[[init]]\nname = \"i\"\ncommand = []\n",
    );
    assert_eq!(
        errors,
        [
            "pod.toml:5:26: 'ß' must be a string, found an integer",
            "pod.toml:9:8: duplicate name 'i' (first used on line 2)",
            "pod.toml:10:11: empty command: 'command' needs at least the program to run",
        ]
    );
}

#[test]
fn error_display() {
    let mut e = ConfigError { path: "p.toml".into(), line: Some(3), col: Some(7), message: "bad".into() };
    assert_eq!(e.to_string(), "p.toml:3:7: bad");
    (e.line, e.col) = (None, None);
    assert_eq!(e.to_string(), "p.toml: bad");
}

#[test]
fn load_reports_unreadable_and_non_utf8_files() {
    let missing = Path::new("/nonexistent/podinit/pod.toml");
    let errors = load(missing).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].to_string(), "/nonexistent/podinit/pod.toml: cannot read: No such file or directory");

    let path = std::env::temp_dir().join(format!("podinit-config-test-{}.toml", std::process::id()));
    std::fs::write(&path, b"name = \"ok\"\nnamespace = \"\xff\"\n").unwrap();
    let errors = load(&path).unwrap_err();
    std::fs::write(&path, APP).unwrap();
    let loaded = load(&path);
    std::fs::remove_file(&path).unwrap();
    assert_eq!((errors[0].line, errors[0].col), (Some(2), Some(14)));
    assert!(errors[0].message.contains("UTF-8"));
    assert_eq!(loaded.map(|p| p.path), Ok(path));
}

#[test]
fn load_refuses_devices_and_huge_files() {
    // Found by the hardening suite: `-c /dev/zero` used to read until memory ran out.
    let errors = load(Path::new("/dev/zero")).unwrap_err();
    assert_eq!(errors[0].to_string(), "/dev/zero: cannot read: it is a character device, not a file");
    let path = std::env::temp_dir().join(format!("podinit-config-big-{}.toml", std::process::id()));
    let mut big = b"# ".to_vec();
    big.resize(MAX_FILE_BYTES as usize + 1, b'x');
    std::fs::write(&path, &big).unwrap();
    let too_big = load(&path);
    big.truncate(MAX_FILE_BYTES as usize);
    std::fs::write(&path, &big).unwrap();
    let just_fits = load(&path);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(too_big.unwrap_err()[0].message, "cannot read: larger than 1 MiB; a pod file is a few kB");
    assert!(just_fits.is_ok(), "{just_fits:?}");
    // A directory still says so.
    let dir = load(Path::new("/")).unwrap_err();
    assert_eq!(dir[0].to_string(), "/: cannot read: Is a directory");
}

#[test]
fn default_path_prefers_a_non_empty_variable() {
    assert_eq!(default_path_from(None), PathBuf::from("/etc/podinit/pod.toml"));
    assert_eq!(default_path_from(Some("".into())), PathBuf::from("/etc/podinit/pod.toml"));
    assert_eq!(default_path_from(Some("/x.toml".into())), PathBuf::from("/x.toml"));
}

/// A small deterministic fuzz: no prefix or single-character mutation of a
/// full pod file may panic, and every failure must carry at least one error.
#[test]
fn never_panics_on_mangled_input() {
    // Every feature of the pod file, without the example's comments, to keep it quick.
    let text = r#"name = "w"
termination_grace_period = "1m30s"
env = { A = "1" }
[[init]]
name = "i"
command = ["x", "$(A)"]
timeout = "5s"
[[init]]
name = "w"
wait_for = { http = "http://[::1]:8/", timeout = "1s", period = "1ms" }
[[init]]
name = "s"
restart = "Always"
command = ["y"]
startup_probe = { exec = ["t"], initial_delay = "1s" }
[[app]]
name = "a"
command = ["z"]
env.B = "2"
stop_signal = 3
essential = true
liveness_probe = { tcp = "h:2", success_threshold = 1, failure_threshold = 9 }
pre_stop = ["q"]
[app.readiness_probe]
http = "http://h/"
"#;
    assert!(parse(Path::new("f"), text).is_ok());
    let check = |t: &str| {
        if let Err(errors) = parse(Path::new("f"), t) {
            assert!(!errors.is_empty());
        }
    };
    for (i, _) in text.char_indices() {
        check(&text[..i]);
        for c in ['"', '[', ']', '{', '=', '\n', '1', 'é'] {
            let mut t = text.to_string();
            t.replace_range(i..i + text[i..].chars().next().map_or(0, char::len_utf8), &c.to_string());
            check(&t);
        }
    }
}

/// The sample bad pod files under tests/pods/bad, which the shell tests run
/// through `podinit check`, each fail with the text their first line expects.
#[test]
fn sample_bad_files_fail_as_they_expect() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pods/bad");
    let mut seen = 0;
    for file in std::fs::read_dir(&dir).unwrap() {
        let path = file.unwrap().path();
        if path.extension() != Some(std::ffi::OsStr::new("toml")) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let expect = text.lines().next().and_then(|l| l.strip_prefix("# expect: ")).unwrap();
        let errors: Vec<String> = load(&path).unwrap_err().iter().map(ToString::to_string).collect();
        assert!(errors.iter().any(|e| e.contains(expect)), "{}: want {expect:?}, got {errors:#?}", path.display());
        seen += 1;
    }
    assert!(seen >= 15, "only {seen} sample files");
}

#[test]
fn lifecycle_keys_restart_rules_backoff_notify_env_files() {
    use crate::config::{Backoff, ExitCodeOperator, FileEnv, RestartRule};
    let p = pod(r#"
restart_policy = "Never"
backoff = { initial = "1s", max = "1m" }
env_file = "/shared/pod.env"

[[init]]
name = "setup"
command = ["x"]
restart_policy = "OnFailure"

[[init]]
name = "retry"
command = ["x"]
restart_policy = "Never"
restart_rules = [{ action = "Restart", exit_codes = { operator = "In", values = [75] } }]

[[init]]
name = "side"
restart = "Always"
command = ["x"]
notify = true

[[app]]
name = "web"
command = ["x"]
notify = true
env_file = ["/a.env", "/b.env"]
env = { A = "1", CFG = { file = "/shared/app.env", key = "CONFIG" }, OPT = { file = "/x.env", key = "K", optional = true } }
restart_policy = "Never"
restart_rules = [
  { action = "Restart", exit_codes = { operator = "NotIn", values = [0, 143] } },
  { action = "Restart", exit_codes = { operator = "In", values = [] } },
]
"#);
    assert_eq!(p.backoff, Backoff { initial: Duration::from_secs(1), max: Duration::from_secs(60) });
    assert_eq!(p.env_files, [PathBuf::from("/shared/pod.env")]);
    assert_eq!(p.init[0].restart_policy, Some(RestartPolicy::OnFailure));
    assert_eq!(p.init[1].restart_rules, [RestartRule { operator: ExitCodeOperator::In, values: vec![75] }]);
    assert!(p.init[2].notify && p.apps[0].notify && !p.init[0].notify);
    let web = &p.apps[0];
    assert_eq!(web.env_files, [PathBuf::from("/a.env"), PathBuf::from("/b.env")]);
    assert_eq!(web.env, [("A".to_string(), "1".to_string())]);
    assert_eq!(
        web.file_env,
        [
            FileEnv { name: "CFG".into(), path: "/shared/app.env".into(), key: "CONFIG".into(), optional: false },
            FileEnv { name: "OPT".into(), path: "/x.env".into(), key: "K".into(), optional: true },
        ]
    );
    assert_eq!(web.restart_rules.len(), 2);
    assert_eq!(web.restart_rules[0].operator, ExitCodeOperator::NotIn);
    // Round trip through the pod file writer.
    #[cfg(feature = "manifests")]
    {
        let text = crate::config::k8s::to_toml(&p).expect("toml");
        assert_eq!(crate::config::parse(Path::new("pod.toml"), &text).map_err(|e| format!("{text}{e:?}")), Ok(p));
    }
}

#[test]
fn should_restart_follows_the_kubelet() {
    use crate::config::{ExitCodeOperator, RestartRule};
    use RestartPolicy::*;
    let e = |kind, policy: Option<RestartPolicy>, rules: &[(ExitCodeOperator, &[i32])]| Entry {
        restart_policy: policy,
        restart_rules: rules.iter().map(|(o, v)| RestartRule { operator: *o, values: v.to_vec() }).collect(),
        ..Entry::defaults(kind)
    };
    let never_but_42 = e(Kind::App, Some(Never), &[(ExitCodeOperator::In, &[42])]);
    let not_143 = e(Kind::App, Some(Never), &[(ExitCodeOperator::NotIn, &[0, 143])]);
    let init_rules = e(Kind::Init, Some(Never), &[(ExitCodeOperator::In, &[0, 75])]);
    // (entry, pod policy, exit code, restart?)
    let cases: &[(&Entry, RestartPolicy, i32, bool)] = &[
        (&e(Kind::App, None, &[]), Always, 0, true),
        (&e(Kind::App, None, &[]), OnFailure, 0, false),
        (&e(Kind::App, None, &[]), OnFailure, 1, true),
        (&e(Kind::App, None, &[]), Never, 1, false),
        (&e(Kind::App, Some(Always), &[]), Never, 0, true),
        (&e(Kind::App, Some(Never), &[]), Always, 1, false),
        (&e(Kind::App, Some(OnFailure), &[]), Always, 0, false),
        (&never_but_42, Always, 42, true),
        (&never_but_42, Always, 41, false),
        (&not_143, Never, 143, false),
        (&not_143, Never, 0, false),
        (&not_143, Never, 137, true),
        (&e(Kind::Init, None, &[]), Always, 0, false),
        (&e(Kind::Init, None, &[]), Always, 1, true),
        (&e(Kind::Init, None, &[]), Never, 1, false),
        (&e(Kind::Init, Some(OnFailure), &[]), Never, 1, true),
        (&e(Kind::Init, Some(Never), &[]), Always, 1, false),
        // A rule that matches 0 does not rerun a completed init step.
        (&init_rules, Never, 0, false),
        (&init_rules, Never, 75, true),
        (&init_rules, Never, 1, false),
        (&e(Kind::Sidecar, None, &[]), Never, 0, true),
    ];
    for (i, (entry, pod, code, want)) in cases.iter().enumerate() {
        assert_eq!(entry.should_restart(*pod, *code), *want, "case {i}: {entry:?} pod {pod:?} exit {code}");
    }
}

#[test]
fn lifecycle_key_errors() {
    let app = "[[app]]\nname = \"a\"\ncommand = [\"x\"]\n";
    let side = "[[init]]\nname = \"s\"\nrestart = \"Always\"\ncommand = [\"x\"]\n";
    let step = "[[init]]\nname = \"i\"\ncommand = [\"x\"]\n";
    let rules21 = format!(
        "restart_rules = [{}]",
        vec!["{ action = \"Restart\", exit_codes = { operator = \"In\", values = [1] } }"; 21].join(", ")
    );
    let cases: Vec<(String, &str, &str)> = vec![
        (format!("{app}restart_rules = [{{ action = \"Restart\", exit_codes = {{ operator = \"In\", values = [1] }} }}]\n"), "4:1", "has restart_rules but no restart_policy"),
        (format!("{app}restart_policy = \"Never\"\nrestart_rules = [{{ action = \"Stop\", exit_codes = {{ operator = \"In\", values = [1] }} }}]\n"), "5:29", "bad action 'Stop'"),
        (format!("{app}restart_policy = \"Never\"\nrestart_rules = [{{ action = \"Restart\", exit_codes = {{ operator = \"in\", values = [1] }} }}]\n"), "5:66", "bad operator 'in' (expected In or NotIn)"),
        (format!("{app}restart_policy = \"Never\"\nrestart_rules = [{{ action = \"Restart\" }}]\n"), "5:18", "a restart rule needs exit_codes"),
        (format!("{app}restart_policy = \"Never\"\nrestart_rules = [{{ action = \"Restart\", exit_codes = {{ operator = \"In\", values = [\"1\"] }} }}]\n"), "5:82", "'values' must hold whole numbers"),
        (format!("{app}restart_policy = \"Never\"\n{rules21}\n"), "5:17", "has 21 rules; Kubernetes allows at most 20"),
        (format!("{side}restart_policy = \"Never\"\n"), "5:1", "'restart_policy' is not valid on sidecar 's': a sidecar always restarts"),
        (format!("{step}restart_policy = \"Always\"\n"), "4:18", "would make it a sidecar: write restart = \"Always\""),
        (format!("{step}notify = true\n"), "4:1", "'notify' is not valid on init step 'i'"),
        (format!("{app}notify = 1\n"), "4:10", "'notify' must be true or false"),
        ("backoff = { initial = \"10s\", max = \"1s\" }\n".to_string(), "1:11", "'backoff' max (1s) is shorter than initial (10s)"),
        ("backoff = { initial = \"0s\" }\n".to_string(), "1:23", "'initial' must be longer than 0"),
        ("backoff = { min = \"1s\" }\n".to_string(), "1:13", "unknown key 'min' in 'backoff'"),
        ("env_file = \"\"\n".to_string(), "1:12", "'env_file' must not be empty"),
        ("env_file = [1]\n".to_string(), "1:13", "'env_file' must hold non-empty paths"),
        ("env = { A = { file = \"/x\", key = \"A\" } }\n".to_string(), "1:13", "a variable read from a file is set per entry"),
        (format!("{app}env = {{ A = {{ file = \"/x\" }} }}\n"), "4:13", "'A' read from a file needs both 'file' and 'key'"),
        (format!("{app}env = {{ A = {{ file = \"/x\", key = \"A\", path = 1 }} }}\n"), "4:39", "unknown key 'path' in 'A'"),
    ];
    let mut misses = Vec::new();
    for (text, at, phrase) in &cases {
        let errors = errors(text);
        let prefix = format!("pod.toml:{at}: ");
        if !errors.iter().any(|e| e.starts_with(&prefix) && e.contains(phrase)) {
            misses.push(format!("want {prefix}…{phrase}… for\n{text}got {errors:#?}"));
        }
    }
    assert!(misses.is_empty(), "{}", misses.join("\n\n"));
}
