//! Command line: which mode to run and its options.
//!
//! Init mode keeps tini's command line (`docker run --init` calls its init as
//! `docker-init -- CMD...`). A subcommand is recognised only as the very first
//! argument, so `podinit -- run` still runs a program called `run`.

pub mod commands;
pub mod logs;

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use lexopt::prelude::*;

use crate::config;
use crate::sys::signals::{self, SigNum};

/// Options of init mode (tini's flags plus `-t`).
#[derive(Debug, Clone, PartialEq)]
pub struct InitOptions {
    /// `-s`: register as child subreaper (automatic when not PID 1).
    pub subreaper: bool,
    /// `-g`: forward signals to the child's process group.
    pub kill_group: bool,
    /// `-e CODE`: exit codes reported as 0.
    pub remap_to_zero: Vec<i32>,
    /// `-p SIG`: signal podinit gets when its parent dies.
    pub pdeathsig: Option<SigNum>,
    /// `-v` count (or `PODINIT_VERBOSITY`).
    pub verbosity: u8,
    /// `-w`: warn about reaped zombies that are not the main child.
    pub warn_reaped: bool,
    /// `-t`: how long other processes get between SIGTERM and SIGKILL once the main child exited.
    pub grace: Duration,
    /// The program and its arguments, as the bytes podinit got (not UTF-8 is fine:
    /// tini, catatonit and dumb-init run such commands too).
    pub command: Vec<OsString>,
}

/// A request for one entry of a running pod, sent over its control socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlCmd {
    /// Graceful stop, then start again at once.
    Restart(String),
    /// Graceful stop; keep stopped.
    Stop(String),
    /// Start a stopped entry.
    Start(String),
    /// Send a signal to the entry's process.
    Kill(String, SigNum),
}

/// A lifecycle hook podinit runs itself, so a pod needs no sleep or curl binary for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hook {
    /// Sleep this many seconds.
    Sleep(u64),
    /// GET this URL; 200-399 is success.
    HttpGet(String),
}

/// The image `podinit export` names when not given one: a shell and the tools the examples use.
pub const DEFAULT_IMAGE: &str = "busybox:stable";

/// What podinit was asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// `podinit [OPTIONS] -- CMD [ARG...]`
    Init(InitOptions),
    /// `podinit pause`, or the binary called `pause`.
    Pause,
    /// `podinit run [-c FILE]`
    Run { config: PathBuf },
    /// `podinit check [-c FILE]`
    Check { config: PathBuf },
    /// `podinit status [--json] [-c FILE]`
    Status { config: PathBuf, json: bool },
    /// `podinit health [-c FILE]`
    Health { config: PathBuf },
    /// `podinit reset [-c FILE] [STEP...]`
    Reset { config: PathBuf, steps: Vec<String> },
    /// `podinit restart|stop|start NAME`, `podinit kill NAME SIG`
    Control { config: PathBuf, cmd: ControlCmd },
    /// `podinit export [-c FILE] [--format yaml|json] [--image IMAGE]`: the pod as a Kubernetes Pod manifest.
    Export { config: PathBuf, json: bool, image: String },
    /// `podinit import FILE`: a manifest (or pod file) as a pod file.
    Import { file: PathBuf },
    /// `podinit --hook-sleep N` / `--hook-http-get URL`: the httpGet and sleep hooks of a manifest.
    Hook(Hook),
    /// `podinit logs NAME [-f] [-p] [--tail N] [--since D] [--timestamps] [--prefix] [--all]`.
    Logs { config: PathBuf, query: crate::pod::logs::Query },
    /// `podinit describe [NAME]`: state, conditions and events, as `kubectl describe pod`.
    Describe { config: PathBuf, name: Option<String> },
    /// `podinit status -o json`: a Kubernetes Pod object with its status.
    PodJson { config: PathBuf },
    /// `-V`: print the version; `tini` style when called as docker-init.
    Version { tini: bool },
    /// `-h`
    Help,
}

/// A usage error; main prints it on one line and exits 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError(pub String);

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (see 'podinit --help')", self.0)
    }
}

impl From<lexopt::Error> for CliError {
    fn from(e: lexopt::Error) -> Self {
        CliError(e.to_string())
    }
}

/// The help text.
pub const USAGE: &str = "\
podinit - PID 1 for containers: init, pause, and a pod lifecycle in one binary

usage:
  podinit [OPTIONS] [--] CMD [ARG...]   run CMD as the main child (tini-compatible)
  podinit pause                         hold the namespaces as PID 1 (also: invoked as 'pause')
  podinit run [-c FILE]                 run the pod file: init steps, sidecars, apps
  podinit check [-c FILE]               validate a pod file, print every error
  podinit status [--json] [-c FILE]     show the running pod's state
  podinit status -o json [-c FILE]      the pod's status as a Kubernetes Pod object
  podinit logs NAME [-f] [-p] [--tail N] [--since D] [--timestamps] [--prefix] [--all]
                                        an entry's output (kubectl logs' flags)
  podinit describe [NAME] [-c FILE]     entries, conditions and events (kubectl describe pod)
  podinit health [-c FILE]              exit 0 iff the pod is Ready (for HEALTHCHECK)
  podinit reset [-c FILE] [STEP...]     forget run-once markers so those steps run again
  podinit restart|stop|start NAME       control one app or sidecar of the running pod
  podinit kill NAME SIGNAL              send SIGNAL to one app or sidecar
  podinit export [-c FILE] [--format yaml|json] [--image IMAGE]
                                        print the pod as a Kubernetes Pod manifest
  podinit import FILE                   print a Kubernetes manifest (or pod file) as a pod file
  (run, check and export also read a Kubernetes Pod manifest, YAML or JSON)

init options:
  -s            register as child subreaper (automatic when not PID 1)
  -g            send signals to the child's process group
  -e CODE       report exit code CODE as 0 (repeatable)
  -p SIGNAL     signal to receive when podinit's parent dies
  -v            more verbose (repeatable)
  -w            warn when reaping a zombie that is not the main child
  -t, --grace DURATION
                grace for other processes once the main child exited (default 5s)
  -V, --version print the version
  -h, --help    print this help

environment:
  PODINIT_CONFIG              pod file (default /etc/podinit/pod.toml)
  PODINIT_LOG                 log filter, env_logger syntax (e.g. debug)
  PODINIT_SUBREAPER, PODINIT_KILL_PROCESS_GROUP, PODINIT_VERBOSITY
                              as -s, -g, -v; tini's TINI_* names work too
";

/// Parses the process's own arguments and environment.
pub fn parse_env() -> Result<Mode, CliError> {
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_default();
    parse(&argv0, args.collect(), &|k| std::env::var_os(k))
}

/// Parses `args` (without argv[0]); `env` looks up environment variables.
pub fn parse(argv0: &OsString, args: Vec<OsString>, env: &dyn Fn(&str) -> Option<OsString>) -> Result<Mode, CliError> {
    let called = std::path::Path::new(argv0).file_name().and_then(|n| n.to_str()).unwrap_or("");
    if called == "pause" {
        return parse_pause(args);
    }
    let default_config = || config::default_path();
    if let Some(first) = args.first().and_then(|a| a.to_str()) {
        let rest = args[1..].to_vec();
        match first {
            "pause" => return parse_pause(rest),
            "run" | "check" | "health" => {
                let (config, ..) = parse_sub(first, rest, default_config(), false, 0)?;
                return Ok(match first {
                    "run" => Mode::Run { config },
                    "check" => Mode::Check { config },
                    _ => Mode::Health { config },
                });
            }
            "logs" => return logs::parse_logs(rest, default_config()),
            "describe" => return logs::parse_describe(rest, default_config()),
            "status" if logs::wants_pod_json(&rest) => return logs::parse_status_output(rest, default_config()),
            "status" => {
                let (config, json, _) = parse_sub(first, rest, default_config(), true, 0)?;
                return Ok(Mode::Status { config, json });
            }
            "reset" => {
                let (config, _, steps) = parse_sub(first, rest, default_config(), false, usize::MAX)?;
                return Ok(Mode::Reset { config, steps });
            }
            "export" | "import" | "--hook-sleep" | "--hook-http-get" => {
                return parse_k8s(first, rest, default_config())
            }
            "restart" | "stop" | "start" | "kill" => {
                let want = if first == "kill" { 2 } else { 1 };
                let (config, _, pos) = parse_sub(first, rest, default_config(), false, want)?;
                if pos.len() != want {
                    let what = if want == 2 { "NAME SIGNAL" } else { "NAME" };
                    return Err(CliError(format!("'podinit {first}' needs {what}")));
                }
                let name = pos[0].clone();
                let cmd = match first {
                    "restart" => ControlCmd::Restart(name),
                    "stop" => ControlCmd::Stop(name),
                    "start" => ControlCmd::Start(name),
                    _ => ControlCmd::Kill(name, signals::parse(&pos[1]).map_err(|e| CliError(e.to_string()))?),
                };
                return Ok(Mode::Control { config, cmd });
            }
            _ => {}
        }
    }
    parse_init(called == "docker-init", args, env)
}

/// `export`, `import` and the hooks of Kubernetes manifests (config::k8s).
fn parse_k8s(sub: &str, args: Vec<OsString>, mut config: PathBuf) -> Result<Mode, CliError> {
    let mut p = lexopt::Parser::from_args(args);
    let (mut json, mut image, mut pos) = (false, DEFAULT_IMAGE.to_string(), Vec::new());
    while let Some(arg) = p.next()? {
        match arg {
            Short('c') | Long("config") if sub == "export" => config = p.value()?.into(),
            Long("format") if sub == "export" => match p.value()?.string()?.as_str() {
                "yaml" => json = false,
                "json" => json = true,
                other => return Err(CliError(format!("'podinit export': --format is yaml or json, not '{other}'"))),
            },
            Long("image") if sub == "export" => image = p.value()?.string()?,
            Value(v) if sub != "export" && pos.is_empty() => pos.push(v.string()?),
            other => return Err(CliError(format!("'podinit {sub}': {}", other.unexpected()))),
        }
    }
    let one = pos.pop().ok_or_else(|| CliError(format!("'podinit {sub}' needs an argument")));
    Ok(match sub {
        "export" => Mode::Export { config, json, image },
        // `-` is standard input: kubectl get pod web -o yaml | podinit import -
        "import" => Mode::Import { file: Some(one?).filter(|f| f != "-").unwrap_or("/dev/stdin".into()).into() },
        "--hook-sleep" => {
            let secs = one?;
            Mode::Hook(Hook::Sleep(
                secs.parse().map_err(|_| CliError(format!("{sub}: '{secs}' is not a number of seconds")))?,
            ))
        }
        _ => Mode::Hook(Hook::HttpGet(one?)),
    })
}

fn parse_pause(args: Vec<OsString>) -> Result<Mode, CliError> {
    let mut p = lexopt::Parser::from_args(args);
    match p.next()? {
        None => Ok(Mode::Pause),
        Some(Short('V') | Long("version")) => Ok(Mode::Version { tini: false }),
        Some(Short('h') | Long("help")) => Ok(Mode::Help),
        Some(a) => Err(CliError(format!("pause takes no arguments, got {}", a.unexpected()))),
    }
}

/// Common shape of the pod subcommands: `-c FILE`, maybe `--json`, up to `max_pos` positionals.
fn parse_sub(
    sub: &str,
    args: Vec<OsString>,
    mut config: PathBuf,
    allow_json: bool,
    max_pos: usize,
) -> Result<(PathBuf, bool, Vec<String>), CliError> {
    let mut p = lexopt::Parser::from_args(args);
    let mut json = false;
    let mut pos = Vec::new();
    while let Some(arg) = p.next()? {
        match arg {
            Short('c') | Long("config") => config = p.value()?.into(),
            Long("json") if allow_json => json = true,
            Short('h') | Long("help") => return Err(CliError(format!("usage: see 'podinit --help' ({sub})"))),
            Value(v) if pos.len() < max_pos => pos.push(v.string()?),
            Value(v) => {
                return Err(CliError(format!("'podinit {sub}': unexpected argument '{}'", v.to_string_lossy())))
            }
            other => return Err(CliError(format!("'podinit {sub}': {}", other.unexpected()))),
        }
    }
    Ok((config, json, pos))
}

fn parse_init(tini: bool, args: Vec<OsString>, env: &dyn Fn(&str) -> Option<OsString>) -> Result<Mode, CliError> {
    let var = |name: &str| env(&format!("PODINIT_{name}")).or_else(|| env(&format!("TINI_{name}")));
    let mut o = InitOptions {
        subreaper: var("SUBREAPER").is_some(),
        kill_group: var("KILL_PROCESS_GROUP").is_some(),
        remap_to_zero: Vec::new(),
        pdeathsig: None,
        verbosity: match var("VERBOSITY") {
            Some(v) => v.to_str().and_then(|s| s.trim().parse().ok()).ok_or_else(|| {
                CliError(format!("PODINIT_VERBOSITY: expected a number 0-3, got '{}'", v.to_string_lossy()))
            })?,
            None => 0,
        },
        warn_reaped: false,
        grace: Duration::from_secs(5),
        command: Vec::new(),
    };
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next()? {
        match arg {
            Short('s') => o.subreaper = true,
            Short('g') => o.kill_group = true,
            Short('w') => o.warn_reaped = true,
            Short('v') => o.verbosity = o.verbosity.saturating_add(1),
            Short('e') => {
                let v = p.value()?.string()?;
                let code = v.parse::<i32>().ok().filter(|c| (0..=255).contains(c));
                o.remap_to_zero.push(code.ok_or_else(|| CliError(format!("-e: '{v}' is not an exit code (0-255)")))?);
            }
            Short('p') => {
                let v = p.value()?.string()?;
                o.pdeathsig = Some(signals::parse(&v).map_err(|e| CliError(format!("-p: {e}")))?);
            }
            Short('t') | Long("grace") => {
                let v = p.value()?.string()?;
                o.grace = config::parse_duration(&v).map_err(|e| CliError(format!("-t: bad duration '{v}': {e}")))?;
            }
            Short('V') | Long("version") => return Ok(Mode::Version { tini }),
            Short('h') | Long("help") => return Ok(Mode::Help),
            Value(v) => {
                o.command.push(v);
                o.command.extend(p.raw_args()?);
            }
            other => return Err(CliError(other.unexpected().to_string())),
        }
    }
    if o.command.is_empty() {
        return Err(CliError("no command given: podinit [OPTIONS] -- CMD [ARG...]".into()));
    }
    Ok(Mode::Init(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Mode, CliError> {
        p_env(args, &[])
    }

    fn p_env(args: &[&str], vars: &[(&str, &str)]) -> Result<Mode, CliError> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let env = move |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| OsString::from(v));
        parse(&"podinit".into(), args.iter().map(OsString::from).collect(), &env)
    }

    fn init(args: &[&str]) -> InitOptions {
        match p(args) {
            Ok(Mode::Init(o)) => o,
            other => panic!("{args:?} gave {other:?}"),
        }
    }

    #[test]
    fn tini_flags() {
        let o = init(&[
            "-s", "-g", "-e", "3", "-e", "143", "-p", "SIGKILL", "-vv", "-w", "-t", "2s", "--", "sh", "-c", "x",
        ]);
        assert!(o.subreaper && o.kill_group && o.warn_reaped);
        assert_eq!(o.remap_to_zero, vec![3, 143]);
        assert_eq!(o.pdeathsig, Some(libc::SIGKILL));
        assert_eq!(o.verbosity, 2);
        assert_eq!(o.grace, Duration::from_secs(2));
        assert_eq!(o.command, vec!["sh", "-c", "x"]);
    }

    #[test]
    fn command_bytes_that_are_not_utf8_pass_through() {
        use std::os::unix::ffi::{OsStrExt, OsStringExt};
        let raw = |b: &[u8]| OsString::from_vec(b.to_vec());
        let args = vec![raw(b"-g"), raw(b"--"), raw(b"./s\xffh"), raw(b"-x\xfe"), raw(b"\x80")];
        let o = match parse(&"podinit".into(), args, &|_| None) {
            Ok(Mode::Init(o)) => o,
            other => panic!("{other:?}"),
        };
        assert!(o.kill_group);
        let got: Vec<&[u8]> = o.command.iter().map(|a| a.as_bytes()).collect();
        assert_eq!(got, [b"./s\xffh".as_slice(), b"-x\xfe", b"\x80"]);
        // Without "--" too: the first non-option starts the command.
        let o = match parse(&"podinit".into(), vec![raw(b"\xff"), raw(b"-v")], &|_| None) {
            Ok(Mode::Init(o)) => o,
            other => panic!("{other:?}"),
        };
        assert_eq!(o.command, [raw(b"\xff"), raw(b"-v")]);
        assert_eq!(o.verbosity, 0);
    }

    #[test]
    fn command_without_dashes_and_its_own_flags() {
        assert_eq!(init(&["ls", "-l", "--", "x"]).command, vec!["ls", "-l", "--", "x"]);
        assert_eq!(init(&["--", "run", "-c"]).command, vec!["run", "-c"]);
        assert_eq!(init(&["-g", "true"]).command, vec!["true"]);
    }

    #[test]
    fn bad_flags_are_one_line_errors() {
        for (args, needle) in [
            (&["-e", "300", "--", "true"][..], "-e: '300'"),
            (&["-e", "x", "--", "true"][..], "-e: 'x'"),
            (&["-p", "SIGFOO", "--", "true"][..], "SIGFOO"),
            (&["-t", "10x", "--", "true"][..], "-t:"),
            (&["--"][..], "no command"),
            (&[][..], "no command"),
            (&["-Z", "true"][..], "-Z"),
        ] {
            let e = p(args).unwrap_err().to_string();
            assert!(e.contains(needle), "{args:?}: {e}");
            assert!(!e.contains('\n'));
        }
    }

    #[test]
    fn env_equivalents() {
        let o = match p_env(
            &["true"],
            &[("TINI_SUBREAPER", "1"), ("PODINIT_KILL_PROCESS_GROUP", "1"), ("TINI_VERBOSITY", "2")],
        ) {
            Ok(Mode::Init(o)) => o,
            other => panic!("{other:?}"),
        };
        assert!(o.subreaper && o.kill_group);
        assert_eq!(o.verbosity, 2);
        assert!(p_env(&["true"], &[("PODINIT_VERBOSITY", "lots")]).unwrap_err().0.contains("PODINIT_VERBOSITY"));
    }

    #[test]
    fn modes() {
        assert_eq!(p(&["pause"]), Ok(Mode::Pause));
        assert_eq!(p(&["-V"]), Ok(Mode::Version { tini: false }));
        assert_eq!(p(&["--help"]), Ok(Mode::Help));
        assert_eq!(p(&["run", "-c", "x.toml"]), Ok(Mode::Run { config: "x.toml".into() }));
        assert_eq!(p(&["status", "--json", "-c", "p"]), Ok(Mode::Status { config: "p".into(), json: true }));
        assert_eq!(
            p(&["reset", "-c", "p", "a", "b"]),
            Ok(Mode::Reset { config: "p".into(), steps: vec!["a".into(), "b".into()] })
        );
        assert_eq!(
            p(&["kill", "-c", "p", "web", "HUP"]),
            Ok(Mode::Control { config: "p".into(), cmd: ControlCmd::Kill("web".into(), libc::SIGHUP) })
        );
        assert!(p(&["restart"]).is_err());
        assert!(p(&["kill", "web", "SIGNOPE"]).is_err());
        assert!(p(&["check", "a", "b"]).is_err());
        assert_eq!(
            p(&["export", "-c", "p.toml", "--format", "json", "--image", "img"]),
            Ok(Mode::Export { config: "p.toml".into(), json: true, image: "img".into() })
        );
        assert_eq!(
            p(&["export", "-c", "p"]),
            Ok(Mode::Export { config: "p".into(), json: false, image: DEFAULT_IMAGE.into() })
        );
        assert!(p(&["export", "--format", "xml"]).unwrap_err().0.contains("yaml or json"));
        assert!(p(&["export", "extra"]).is_err());
        assert_eq!(p(&["import", "pod.yaml"]), Ok(Mode::Import { file: "pod.yaml".into() }));
        assert_eq!(p(&["import", "-"]), Ok(Mode::Import { file: "/dev/stdin".into() }));
        assert!(p(&["import"]).unwrap_err().0.contains("needs an argument"));
        assert!(p(&["import", "a", "b"]).is_err());
        assert_eq!(p(&["--hook-sleep", "5"]), Ok(Mode::Hook(Hook::Sleep(5))));
        assert!(p(&["--hook-sleep", "x"]).is_err());
        assert_eq!(p(&["--hook-http-get", "http://h/"]), Ok(Mode::Hook(Hook::HttpGet("http://h/".into()))));
        let as_pause = parse(&"/usr/bin/pause".into(), vec![], &|_| None);
        assert_eq!(as_pause, Ok(Mode::Pause));
        let as_docker_init = parse(&"docker-init".into(), vec!["--version".into()], &|_| None);
        assert_eq!(as_docker_init, Ok(Mode::Version { tini: true }));
    }
}
