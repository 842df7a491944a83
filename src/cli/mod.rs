//! Command line: which mode to run and its options.
//!
//! Init mode keeps tini's command line (`docker run --init` calls its init as
//! `docker-init -- CMD...`). A subcommand is recognised only as the very first
//! argument, so `podinit -- run` still runs a program called `run`.

pub(crate) mod commands;
mod inputs;
pub(crate) mod live;
pub(crate) mod logs;
pub(crate) mod table;
pub(crate) mod wait;

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use lexopt::prelude::*;

use crate::config;
use crate::sys::signals::{self, SigNum};

/// Options of init mode (tini's flags plus `-t`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct InitOptions {
    /// `-s`: register as child subreaper (automatic when not PID 1).
    pub subreaper: bool,
    /// `-g`: forward signals to the child's process group.
    pub kill_group: bool,
    /// `-e CODE`: exit codes reported as 0.
    pub remap_to_zero: Vec<i32>,
    /// `-p SIG`: signal podinit gets when its parent dies.
    pub pdeathsig: Option<SigNum>,
    /// Log level on tini's scale (0 errors .. 4 trace): `PODINIT_VERBOSITY` /
    /// `TINI_VERBOSITY` (default [`DEFAULT_VERBOSITY`]) plus one per `-v`.
    pub verbosity: u8,
    /// `-w`: warn about reaped zombies that are not the main child.
    pub warn_reaped: bool,
    /// `-t`: how long other processes get between SIGTERM and SIGKILL once the main child exited.
    pub grace: Duration,
    /// The program and its arguments, as the bytes podinit got (not UTF-8 is fine:
    /// tini, catatonit and dumb-init run such commands too).
    pub command: Vec<OsString>,
}

/// Init mode's verbosity when no variable sets it: tini's default (warnings and errors).
pub(crate) const DEFAULT_VERBOSITY: u8 = 1;

/// A request for one entry of a running pod, sent over its control socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ControlCmd {
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
pub(crate) enum HookCmd {
    /// Sleep this many seconds.
    Sleep(u64),
    /// GET this URL; 200-399 is success.
    HttpGet(String),
}

/// The image `podinit export` names when not given one: a shell and the tools the examples use.
pub(crate) const DEFAULT_IMAGE: &str = "busybox:stable";

/// What podinit was asked to do.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Mode {
    /// `podinit [OPTIONS] -- CMD [ARG...]`
    Init(InitOptions),
    /// `podinit pause`, or the binary called `pause`.
    Pause,
    /// `podinit run [-c FILE] [-p SIGNAL]`; `pdeathsig`: the signal podinit
    /// gets when its parent dies (as `-p` in init mode).
    Run {
        /// The pod file.
        config: PathBuf,
        /// `-p`: the signal podinit gets when its parent dies.
        pdeathsig: Option<SigNum>,
    },
    /// `podinit check [-c FILE]`
    Check {
        /// The pod file.
        config: PathBuf,
    },
    /// `podinit status [--json] [-c FILE]`
    Status {
        /// The pod file (for its state_dir).
        config: PathBuf,
        /// `--json`: podinit's own JSON.
        json: bool,
    },
    /// `podinit health [-c FILE]`
    Health {
        /// The pod file (for its state_dir).
        config: PathBuf,
    },
    /// `podinit reset [-c FILE] [STEP...]`
    Reset {
        /// The pod file (for its marker_dir).
        config: PathBuf,
        /// The steps to forget; empty: all.
        steps: Vec<String>,
    },
    /// `podinit restart|stop|start NAME`, `podinit kill NAME SIG`
    Control {
        /// The pod file (for its state_dir).
        config: PathBuf,
        /// What to ask.
        cmd: ControlCmd,
    },
    /// `podinit export [-c FILE] [--format yaml|json] [--image IMAGE]`: the pod as a Kubernetes manifest.
    /// `image` is for a pod file's containers (None: [`DEFAULT_IMAGE`]); a manifest keeps its own.
    Export {
        /// The pod file or manifest.
        config: PathBuf,
        /// `--format json`.
        json: bool,
        /// `--image`.
        image: Option<String>,
    },
    /// `podinit import FILE`: a manifest (or pod file) as a pod file.
    Import {
        /// The manifest.
        file: PathBuf,
    },
    /// `podinit --hook-sleep N` / `--hook-http-get URL`: the httpGet and sleep hooks of a manifest.
    Hook(HookCmd),
    /// `podinit logs NAME [-f] [-p] [--tail N] [--since D] [--timestamps] [--prefix] [--all]`.
    Logs {
        /// The pod file (for its state_dir and log_dir).
        config: PathBuf,
        /// What to show, with kubectl's meanings.
        query: crate::pod::protocol::Query,
    },
    /// `podinit describe [NAME]`: state, conditions and events, as `kubectl describe pod`.
    Describe {
        /// The pod file (for its state_dir).
        config: PathBuf,
        /// One entry, or the whole pod.
        name: Option<String>,
    },
    /// `podinit status -o json`: a Kubernetes Pod object with its status.
    PodJson {
        /// The pod file (for its state_dir).
        config: PathBuf,
    },
    /// `-V`: print the version; `tini` style when called as docker-init.
    Version { tini: bool },
    /// `podinit wait [-c FILE] [--for ready|started|exit] [--timeout DURATION] [NAME...]`
    Wait {
        /// The pod file (for its state_dir).
        config: PathBuf,
        /// The condition waited for.
        until: WaitCondition,
        /// How long to wait at most.
        timeout: Duration,
        /// Entries to wait for; empty: the pod itself.
        names: Vec<String>,
    },
    /// `-h`, or `podinit SUB --help`: print this usage text and exit 0.
    Help(&'static str),
}

/// What `podinit wait` waits for (`--for`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitCondition {
    /// The pod is Ready, or each named entry is ready (an init step: completed).
    Ready,
    /// The pod's init steps are done and its apps started, or each named entry started.
    Started,
    /// podinit has exited, or each named entry has terminated.
    Exit,
}

/// `podinit wait` gives up after this long unless told `--timeout` (kubectl wait's default).
pub(crate) const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(30);

/// A usage error; main prints it on one line and exits with `code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CliError {
    /// The one line that says what is wrong.
    pub message: String,
    /// The exit code: 2 for a subcommand (as most CLIs), 1 in init mode (as tini).
    pub code: i32,
}

impl CliError {
    /// A usage error of a subcommand (exit code 2).
    pub(crate) fn new(message: impl Into<String>) -> Self {
        CliError { message: message.into(), code: 2 }
    }

    /// The same error in init mode, where tini exits 1 on bad usage (`tini -z`).
    fn in_init_mode(self) -> Self {
        CliError { code: 1, ..self }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (see 'podinit --help')", self.message)
    }
}

impl From<lexopt::Error> for CliError {
    fn from(e: lexopt::Error) -> Self {
        CliError::new(e.to_string())
    }
}

/// The help text.
pub(crate) const USAGE: &str = "\
podinit - PID 1 for containers: init, pause, and a pod lifecycle in one binary

usage:
  podinit [OPTIONS] [--] CMD [ARG...]   run CMD as the main child (tini-compatible)
  podinit pause                         hold the namespaces as PID 1 (also: invoked as 'pause')
  podinit run [-c FILE] [-p SIGNAL]     run the pod file: init steps, sidecars, apps
  podinit check [-c FILE]               validate a pod file, print every error
  podinit status [--json] [-c FILE]     show the running pod's state
  podinit status -o json [-c FILE]      the pod's status as a Kubernetes Pod object
  podinit logs NAME [-f] [-p] [--tail N] [--since D] [--timestamps] [--prefix] [--all]
                                        an entry's output (kubectl logs' flags)
  podinit describe [NAME] [-c FILE]     entries, conditions and events (kubectl describe pod)
  podinit health [-c FILE]              exit 0 iff the pod is Ready (for HEALTHCHECK)
  podinit wait [-c FILE] [--for ready|started|exit] [--timeout DURATION] [NAME...]
                                        block until the pod (or those entries) is ready
  podinit reset [-c FILE] [STEP...]     forget run-once markers so those steps run again
  podinit restart|stop|start [-c FILE] NAME
                                        control one app or sidecar of the running pod
  podinit kill [-c FILE] NAME SIGNAL    send SIGNAL to one app or sidecar
  podinit export [-c FILE] [--format yaml|json] [--image IMAGE]
                                        print the pod as a Kubernetes manifest (a manifest
                                        as itself; --image: a pod file's containers' image)
  podinit import FILE                   print a Kubernetes manifest (or pod file) as a pod file
  (run, check and export also read a Kubernetes Pod manifest, YAML or JSON;
   'podinit SUBCOMMAND --help' prints that subcommand's usage)

manifest inputs (after any subcommand that reads the pod, repeatable):
  --images FILE | REF=FILE   what each image runs: docker image inspect output,
                             an OCI image config (as REF=FILE) or a map of them
  --configmaps DIR           ConfigMaps as DIR/NAME/KEY files
  --secrets DIR              Secrets as DIR/NAME/KEY files

init options:
  -s            register as child subreaper (automatic when not PID 1)
  -g            send signals to the child's process group
  -e CODE       report exit code CODE as 0 (repeatable)
  -p SIGNAL     signal to receive when podinit's parent dies
  -v            one level more verbose than PODINIT_VERBOSITY (repeatable)
  -w            warn when reaping a zombie that is not the main child
  -t, --grace DURATION
                grace for other processes once the main child exited (default 5s)
  -V, --version print the version
  -h, --help    print this help

environment:
  PODINIT_CONFIG              pod file (default /etc/podinit/pod.toml)
  PODINIT_LOG                 log filter, env_logger syntax (e.g. debug)
  PODINIT_SUBREAPER, PODINIT_KILL_PROCESS_GROUP
                              as -s, -g; tini's TINI_* names work too
  PODINIT_VERBOSITY, TINI_VERBOSITY
                              init mode's log level, tini's scale (default 1):
                              0 errors, 1 warnings, 2 info, 3 debug, 4 trace
";

/// Each subcommand's usage text (`podinit SUB --help`).
const SUB_USAGE: &[(&str, &str)] = &[
    (
        "pause",
        "\
usage: podinit pause
Hold the pod's namespaces as PID 1 and reap orphans, as the Kubernetes pause
container does (also what podinit does when invoked as 'pause').
",
    ),
    (
        "run",
        "\
usage: podinit run [-c FILE] [-p SIGNAL]
Run the pod file (or Kubernetes Pod manifest) FILE: init steps in order, then
sidecars and apps; stop gracefully on SIGTERM/SIGINT.
  -c, --config FILE   pod file (default $PODINIT_CONFIG or /etc/podinit/pod.toml)
  -p SIGNAL           signal podinit gets when its parent dies (TERM: a graceful stop)
  --images FILE, --configmaps DIR, --secrets DIR
                      a manifest's image configurations, ConfigMaps, Secrets
",
    ),
    (
        "check",
        "\
usage: podinit check [-c FILE]
Validate a pod file or manifest and print every error as FILE:LINE:COL: message.
Exit 0 when it is valid, 1 otherwise.
  -c, --config FILE   pod file (default $PODINIT_CONFIG or /etc/podinit/pod.toml)
  --images FILE, --configmaps DIR, --secrets DIR
                      a manifest's image configurations, ConfigMaps, Secrets
",
    ),
    (
        "status",
        "\
usage: podinit status [--json | -o json] [-c FILE]
Show the running pod's state (kubectl-like table). When podinit is not running,
show the last state it wrote, say so on stderr, and exit 1.
  --json              the status as JSON (podinit's own format)
  -o, --output json   the status as a Kubernetes Pod object (kubectl get pod -o json)
  -c, --config FILE   pod file, for its state_dir (default $PODINIT_CONFIG or /etc/podinit/pod.toml)
",
    ),
    (
        "logs",
        "\
usage: podinit logs [-c FILE] NAME|--all [-f] [-p] [--tail N] [--since D] [--timestamps] [--prefix]
Print an entry's output, as kubectl logs does a container's.
  -f, --follow        stream new output until the entry's run ends
  -p, --previous      the run before the current one
  --tail N            the last N lines (-1: all, the default)
  --since D           lines newer than D (5s, 2m, 1h)
  --timestamps        each line's RFC 3339 time first
  --prefix            [pod/POD/ENTRY] before each line
  --all               every entry (also --all-containers)
  -c, --config FILE   pod file, for its state_dir and log_dir (default $PODINIT_CONFIG or /etc/podinit/pod.toml)
",
    ),
    (
        "describe",
        "\
usage: podinit describe [-c FILE] [NAME]
Show the entries' states, the pod conditions and the events, as kubectl describe pod does;
with NAME, that entry's state and events.
  -c, --config FILE   pod file, for its state_dir (default $PODINIT_CONFIG or /etc/podinit/pod.toml)
",
    ),
    (
        "health",
        "\
usage: podinit health [-c FILE]
Exit 0 iff podinit is running and the pod is Ready; otherwise print why and exit 1.
  -c, --config FILE   pod file, for its state_dir (default $PODINIT_CONFIG or /etc/podinit/pod.toml)
",
    ),
    (
        "wait",
        "\
usage: podinit wait [-c FILE] [--for ready|started|exit] [--timeout DURATION] [NAME...]
Block until the condition holds (exit 0), or print why not and exit 1: the
timeout passed, the pod or entry failed for good, or podinit is gone.
  --for ready         the pod is Ready; with NAMEs, each is ready (init step: completed) (default)
  --for started       the pod's apps started; with NAMEs, each started (startup probe passed)
  --for exit          podinit exited; with NAMEs, each terminated
  --timeout DURATION  give up after DURATION (default 30s; 0 checks once)
  -c, --config FILE   pod file, for its state_dir (default $PODINIT_CONFIG or /etc/podinit/pod.toml)
",
    ),
    (
        "reset",
        "\
usage: podinit reset [-c FILE] [STEP...]
Forget the run-once markers of STEPs (default: all), so they run on the next start.
  -c, --config FILE   pod file (default $PODINIT_CONFIG or /etc/podinit/pod.toml)
",
    ),
    (
        "restart",
        "\
usage: podinit restart [-c FILE] NAME
Stop app or sidecar NAME gracefully and start it again.
  -c, --config FILE   pod file, for its state_dir (default $PODINIT_CONFIG or /etc/podinit/pod.toml)
",
    ),
    (
        "stop",
        "\
usage: podinit stop [-c FILE] NAME
Stop app or sidecar NAME gracefully and keep it stopped until 'podinit start NAME'.
  -c, --config FILE   pod file, for its state_dir (default $PODINIT_CONFIG or /etc/podinit/pod.toml)
",
    ),
    (
        "start",
        "\
usage: podinit start [-c FILE] NAME
Start app or sidecar NAME that 'podinit stop' stopped.
  -c, --config FILE   pod file, for its state_dir (default $PODINIT_CONFIG or /etc/podinit/pod.toml)
",
    ),
    (
        "kill",
        "\
usage: podinit kill [-c FILE] NAME SIGNAL
Send SIGNAL (HUP, SIGHUP or 1) to the process of app or sidecar NAME.
  -c, --config FILE   pod file, for its state_dir (default $PODINIT_CONFIG or /etc/podinit/pod.toml)
",
    ),
    (
        "export",
        "\
usage: podinit export [-c FILE] [--format yaml|json] [--image IMAGE]
Print the pod file as a Kubernetes Pod manifest, or a manifest as itself.
  --format yaml|json  output format (default yaml)
  --image IMAGE       image of a pod file's containers (default busybox:stable)
  -c, --config FILE   pod file or manifest (default $PODINIT_CONFIG or /etc/podinit/pod.toml)
",
    ),
    (
        "import",
        "\
usage: podinit import FILE
Print a Kubernetes Pod manifest (or a pod file) as a pod file; FILE '-' is stdin.
  --images FILE, --configmaps DIR, --secrets DIR
                      a manifest's image configurations, ConfigMaps, Secrets
",
    ),
    (
        "--hook-sleep",
        "\
usage: podinit --hook-sleep SECONDS
Sleep SECONDS (the sleep lifecycle hook of a manifest).
",
    ),
    (
        "--hook-http-get",
        "\
usage: podinit --hook-http-get URL
GET URL; exit 0 on HTTP 200-399 (the httpGet lifecycle hook of a manifest).
",
    ),
];

/// The usage text of one subcommand (`podinit SUB --help`), None for an unknown one.
pub(crate) fn sub_usage(sub: &str) -> Option<&'static str> {
    SUB_USAGE.iter().find(|(name, _)| *name == sub).map(|(_, text)| *text)
}

/// True when `args` asks for help (`-h`/`--help`) before any `--`.
fn wants_help(args: &[OsString]) -> bool {
    args.iter().take_while(|a| *a != "--").any(|a| a == "-h" || a == "--help")
}

/// Parses the process's own arguments and environment.
pub(crate) fn parse_env() -> Result<Mode, CliError> {
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_default();
    // --images, --configmaps, --secrets: for every manifest this process reads.
    let (args, inputs) = inputs::extract(args.collect())?;
    config::k8s::set_inputs(inputs);
    parse(&argv0, args, &|k| std::env::var_os(k))
}

/// Parses `args` (without argv[0]); `env` looks up environment variables.
pub(crate) fn parse(
    argv0: &OsString,
    args: Vec<OsString>,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Mode, CliError> {
    let called = std::path::Path::new(argv0).file_name().and_then(|n| n.to_str()).unwrap_or("");
    if called == "pause" {
        return parse_pause(args);
    }
    let default_config = || config::default_path();
    if let Some(first) = args.first().and_then(|a| a.to_str()) {
        let rest = args[1..].to_vec();
        if let Some(text) = sub_usage(first).filter(|_| wants_help(&rest)) {
            return Ok(Mode::Help(text));
        }
        match first {
            "pause" => return parse_pause(rest),
            "run" | "check" | "health" => {
                let (pdeathsig, rest) = if first == "run" { take_pdeathsig(rest)? } else { (None, rest) };
                let (config, ..) = parse_sub(first, rest, default_config(), false, 0)?;
                return Ok(match first {
                    "run" => Mode::Run { config, pdeathsig },
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
            "wait" => return parse_wait(rest, default_config()),
            "export" | "import" | "--hook-sleep" | "--hook-http-get" => {
                return parse_k8s(first, rest, default_config())
            }
            "restart" | "stop" | "start" | "kill" => {
                let want = if first == "kill" { 2 } else { 1 };
                let (config, _, pos) = parse_sub(first, rest, default_config(), false, want)?;
                if pos.len() != want {
                    let what = if want == 2 { "NAME SIGNAL" } else { "NAME" };
                    return Err(CliError::new(format!("'podinit {first}' needs {what}")));
                }
                let name = pos[0].clone();
                let cmd = match first {
                    "restart" => ControlCmd::Restart(name),
                    "stop" => ControlCmd::Stop(name),
                    "start" => ControlCmd::Start(name),
                    _ => ControlCmd::Kill(name, signals::parse(&pos[1]).map_err(|e| CliError::new(e.to_string()))?),
                };
                return Ok(Mode::Control { config, cmd });
            }
            _ => {}
        }
    }
    parse_init(called == "docker-init", args, env).map_err(CliError::in_init_mode)
}

/// `podinit wait [-c FILE] [--for ready|started|exit] [--timeout DURATION] [NAME...]`.
fn parse_wait(args: Vec<OsString>, mut config: PathBuf) -> Result<Mode, CliError> {
    let mut p = lexopt::Parser::from_args(args);
    let (mut until, mut timeout, mut names) = (WaitCondition::Ready, DEFAULT_WAIT_TIMEOUT, Vec::new());
    while let Some(arg) = p.next()? {
        match arg {
            Short('c') | Long("config") => config = p.value()?.into(),
            Long("for") => {
                // kubectl spells it --for=condition=Ready; accept that spelling too.
                let v = p.value()?.string()?;
                until = match v.to_ascii_lowercase().trim_start_matches("condition=") {
                    "ready" => WaitCondition::Ready,
                    "started" => WaitCondition::Started,
                    "exit" | "delete" => WaitCondition::Exit,
                    _ => {
                        return Err(CliError::new(format!(
                            "'podinit wait': --for is ready, started or exit, not '{v}'"
                        )))
                    }
                };
            }
            Long("timeout") => {
                let v = p.value()?.string()?;
                // A bare 0 (check once) needs no unit, as in kubectl wait --timeout=0.
                timeout = if v == "0" { Ok(Duration::ZERO) } else { config::parse_duration(&v) }
                    .map_err(|e| CliError::new(format!("'podinit wait': --timeout: bad duration '{v}': {e}")))?;
            }
            Value(v) => names.push(v.string()?),
            other => return Err(CliError::new(format!("'podinit wait': {}", other.unexpected()))),
        }
    }
    Ok(Mode::Wait { config, until, timeout, names })
}

/// Takes `-p SIGNAL` (`-pSIGNAL`) out of `run`'s arguments, leaving the rest
/// (and a `-c` value that happens to be `-p`) to `parse_sub`.
fn take_pdeathsig(args: Vec<OsString>) -> Result<(Option<SigNum>, Vec<OsString>), CliError> {
    let mut sig = None;
    let mut rest = Vec::with_capacity(args.len());
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let value = match a.to_str() {
            Some("-c" | "--config") => {
                rest.push(a);
                rest.extend(it.next());
                continue;
            }
            Some("--") => {
                rest.push(a);
                rest.extend(it.by_ref());
                break;
            }
            Some("-p") => it.next().ok_or_else(|| run_usage("-p needs a signal".into()))?,
            Some(s) if s.starts_with("-p") => s[2..].into(),
            _ => {
                rest.push(a);
                continue;
            }
        };
        let v = value.to_string_lossy();
        sig = Some(signals::parse(&v).map_err(|e| run_usage(format!("-p: {e}")))?);
    }
    Ok((sig, rest))
}

/// A usage error of `podinit run`.
fn run_usage(msg: String) -> CliError {
    CliError::new(format!("'podinit run': {msg}"))
}

/// `export`, `import` and the hooks of Kubernetes manifests (config::k8s).
fn parse_k8s(sub: &str, args: Vec<OsString>, mut config: PathBuf) -> Result<Mode, CliError> {
    let mut p = lexopt::Parser::from_args(args);
    let (mut json, mut image, mut pos) = (false, None, Vec::new());
    while let Some(arg) = p.next()? {
        match arg {
            Short('c') | Long("config") if sub == "export" => config = p.value()?.into(),
            Long("format") if sub == "export" => match p.value()?.string()?.as_str() {
                "yaml" => json = false,
                "json" => json = true,
                other => {
                    return Err(CliError::new(format!("'podinit export': --format is yaml or json, not '{other}'")))
                }
            },
            Long("image") if sub == "export" => image = Some(p.value()?.string()?),
            Value(v) if sub != "export" && pos.is_empty() => pos.push(v.string()?),
            other => return Err(CliError::new(format!("'podinit {sub}': {}", other.unexpected()))),
        }
    }
    let one = pos.pop().ok_or_else(|| CliError::new(format!("'podinit {sub}' needs an argument")));
    Ok(match sub {
        "export" => Mode::Export { config, json, image },
        // `-` is standard input: kubectl get pod web -o yaml | podinit import -
        "import" => Mode::Import { file: Some(one?).filter(|f| f != "-").unwrap_or("/dev/stdin".into()).into() },
        "--hook-sleep" => {
            let secs = one?;
            Mode::Hook(HookCmd::Sleep(
                secs.parse().map_err(|_| CliError::new(format!("{sub}: '{secs}' is not a number of seconds")))?,
            ))
        }
        _ => Mode::Hook(HookCmd::HttpGet(one?)),
    })
}

fn parse_pause(args: Vec<OsString>) -> Result<Mode, CliError> {
    let mut p = lexopt::Parser::from_args(args);
    match p.next()? {
        None => Ok(Mode::Pause),
        Some(Short('V') | Long("version")) => Ok(Mode::Version { tini: false }),
        Some(Short('h') | Long("help")) => Ok(Mode::Help(sub_usage("pause").unwrap_or(USAGE))),
        Some(a) => Err(CliError::new(format!("pause takes no arguments, got {}", a.unexpected()))),
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
            Value(v) if pos.len() < max_pos => pos.push(v.string()?),
            Value(v) => {
                return Err(CliError::new(format!("'podinit {sub}': unexpected argument '{}'", v.to_string_lossy())))
            }
            other => return Err(CliError::new(format!("'podinit {sub}': {}", other.unexpected()))),
        }
    }
    Ok((config, json, pos))
}

fn parse_init(tini: bool, args: Vec<OsString>, env: &dyn Fn(&str) -> Option<OsString>) -> Result<Mode, CliError> {
    // The variable that was set, by its name (PODINIT_ first): an error names the one the user wrote.
    let named = |name: &str| {
        let ours = format!("PODINIT_{name}");
        let tinis = format!("TINI_{name}");
        env(&ours).map(|v| (ours, v)).or_else(|| env(&tinis).map(|v| (tinis, v)))
    };
    let var = |name: &str| named(name).map(|(_, v)| v);
    let mut o = InitOptions {
        subreaper: var("SUBREAPER").is_some(),
        kill_group: var("KILL_PROCESS_GROUP").is_some(),
        remap_to_zero: Vec::new(),
        pdeathsig: None,
        // An absolute level on tini's scale; -v raises it from there.
        verbosity: match named("VERBOSITY") {
            Some((name, v)) => v
                .to_str()
                .and_then(|s| s.trim().parse().ok())
                .ok_or_else(|| CliError::new(format!("{name}: expected a level 0-4, got '{}'", v.to_string_lossy())))?,
            None => DEFAULT_VERBOSITY,
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
                o.remap_to_zero
                    .push(code.ok_or_else(|| CliError::new(format!("-e: '{v}' is not an exit code (0-255)")))?);
            }
            Short('p') => {
                let v = p.value()?.string()?;
                o.pdeathsig = Some(signals::parse(&v).map_err(|e| CliError::new(format!("-p: {e}")))?);
            }
            Short('t') | Long("grace") => {
                let v = p.value()?.string()?;
                o.grace =
                    config::parse_duration(&v).map_err(|e| CliError::new(format!("-t: bad duration '{v}': {e}")))?;
            }
            Short('V') | Long("version") => return Ok(Mode::Version { tini }),
            Short('h') | Long("help") => return Ok(Mode::Help(USAGE)),
            Value(v) => {
                o.command.push(v);
                o.command.extend(p.raw_args()?);
            }
            other => return Err(CliError::new(other.unexpected().to_string())),
        }
    }
    if o.command.is_empty() {
        return Err(CliError::new("no command given: podinit [OPTIONS] -- CMD [ARG...]"));
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
        assert_eq!(o.verbosity, DEFAULT_VERBOSITY + 2);
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
        assert_eq!(o.verbosity, DEFAULT_VERBOSITY);
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
        assert!(p_env(&["true"], &[("PODINIT_VERBOSITY", "lots")]).unwrap_err().message.contains("PODINIT_VERBOSITY"));
    }

    #[test]
    fn verbosity_is_tinis_absolute_scale_and_v_raises_it() {
        let level = |args: &[&str], vars: &[(&str, &str)]| match p_env(args, vars) {
            Ok(Mode::Init(o)) => o.verbosity,
            other => panic!("{other:?}"),
        };
        assert_eq!(level(&["true"], &[]), 1);
        assert_eq!(level(&["true"], &[("TINI_VERBOSITY", "0")]), 0);
        assert_eq!(level(&["true"], &[("TINI_VERBOSITY", "1")]), 1);
        assert_eq!(level(&["-v", "true"], &[("TINI_VERBOSITY", "1")]), 2);
        assert_eq!(level(&["-vvv", "true"], &[("PODINIT_VERBOSITY", "0")]), 3);
        // PODINIT_ wins over TINI_.
        assert_eq!(level(&["true"], &[("PODINIT_VERBOSITY", "3"), ("TINI_VERBOSITY", "0")]), 3);
    }

    #[test]
    fn init_usage_errors_exit_1_as_tini_and_subcommand_errors_2() {
        for args in [&["-z"][..], &[][..], &["--"][..], &["-e", "x", "true"][..], &["-p", "NOPE", "true"][..]] {
            assert_eq!(p(args).unwrap_err().code, 1, "{args:?}");
        }
        assert_eq!(p_env(&["true"], &[("TINI_VERBOSITY", "x")]).unwrap_err().code, 1);
        // The error names the variable that was set.
        assert!(p_env(&["true"], &[("TINI_VERBOSITY", "x")]).unwrap_err().message.starts_with("TINI_VERBOSITY: "));
        for args in [&["run", "-z"][..], &["restart"][..], &["wait", "--for", "x"][..], &["pause", "x"][..]] {
            assert_eq!(p(args).unwrap_err().code, 2, "{args:?}");
        }
    }

    #[test]
    fn every_subcommand_has_its_own_help() {
        let subs = [
            "pause", "run", "check", "status", "health", "wait", "reset", "restart", "stop", "start", "kill", "export",
            "import", "logs", "describe",
        ];
        for sub in subs {
            let text = sub_usage(sub).unwrap_or_else(|| panic!("no usage for {sub}"));
            assert!(text.starts_with(&format!("usage: podinit {sub}")), "{sub}: {text}");
            assert!(
                USAGE.contains(&format!("podinit {sub}")) || USAGE.contains(&format!("|{sub}")),
                "{sub} not in USAGE"
            );
            for flag in ["-h", "--help"] {
                assert_eq!(p(&[sub, flag]), Ok(Mode::Help(text)), "{sub} {flag}");
            }
            // After other arguments too.
            assert_eq!(p(&[sub, "-c", "x", "--help"]), Ok(Mode::Help(text)), "{sub} -c x --help");
        }
        // The pause binary's own -h, and `--` still ends the options.
        assert_eq!(parse(&"pause".into(), vec!["-h".into()], &|_| None), Ok(Mode::Help(sub_usage("pause").unwrap())));
        assert_eq!(init(&["--", "run", "--help"]).command, vec!["run", "--help"]);
    }

    #[test]
    fn wait_arguments() {
        let w = |args: &[&str]| p(args);
        assert_eq!(
            w(&["wait"]),
            Ok(Mode::Wait {
                config: config::default_path(),
                until: WaitCondition::Ready,
                timeout: DEFAULT_WAIT_TIMEOUT,
                names: vec![]
            })
        );
        assert_eq!(
            w(&["wait", "-c", "p", "--for", "exit", "--timeout", "90s", "a", "b"]),
            Ok(Mode::Wait {
                config: "p".into(),
                until: WaitCondition::Exit,
                timeout: Duration::from_secs(90),
                names: vec!["a".into(), "b".into()]
            })
        );
        assert!(matches!(w(&["wait", "--for=condition=Ready"]), Ok(Mode::Wait { until: WaitCondition::Ready, .. })));
        assert!(matches!(w(&["wait", "--for=started"]), Ok(Mode::Wait { until: WaitCondition::Started, .. })));
        assert!(w(&["wait", "--for", "healthy"]).unwrap_err().message.contains("ready, started or exit"));
        assert!(w(&["wait", "--timeout", "soon"]).unwrap_err().message.contains("--timeout"));
        assert!(w(&["wait", "--json"]).is_err());
        assert!(matches!(w(&["wait", "--timeout", "0"]), Ok(Mode::Wait { timeout: Duration::ZERO, .. })));
    }

    #[test]
    fn run_takes_a_parent_death_signal() {
        assert_eq!(
            p(&["run", "-p", "TERM", "-c", "x.toml"]),
            Ok(Mode::Run { config: "x.toml".into(), pdeathsig: Some(libc::SIGTERM) })
        );
        assert_eq!(
            p(&["run", "-c", "-p", "-pSIGKILL"]),
            Ok(Mode::Run { config: "-p".into(), pdeathsig: Some(libc::SIGKILL) })
        );
        assert!(p(&["run", "-p", "NOPE"]).unwrap_err().to_string().contains("-p: unknown signal 'NOPE'"));
        assert!(p(&["run", "-p"]).unwrap_err().to_string().contains("-p needs a signal"));
        assert!(p(&["check", "-p", "TERM"]).is_err(), "-p is for run only");
    }

    #[test]
    fn modes() {
        assert_eq!(p(&["pause"]), Ok(Mode::Pause));
        assert_eq!(p(&["-V"]), Ok(Mode::Version { tini: false }));
        assert_eq!(p(&["--help"]), Ok(Mode::Help(USAGE)));
        assert_eq!(p(&["run", "-c", "x.toml"]), Ok(Mode::Run { config: "x.toml".into(), pdeathsig: None }));
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
            Ok(Mode::Export { config: "p.toml".into(), json: true, image: Some("img".into()) })
        );
        assert_eq!(p(&["export", "-c", "p"]), Ok(Mode::Export { config: "p".into(), json: false, image: None }));
        assert!(p(&["export", "--format", "xml"]).unwrap_err().message.contains("yaml or json"));
        assert!(p(&["export", "extra"]).is_err());
        assert_eq!(p(&["import", "pod.yaml"]), Ok(Mode::Import { file: "pod.yaml".into() }));
        assert_eq!(p(&["import", "-"]), Ok(Mode::Import { file: "/dev/stdin".into() }));
        assert!(p(&["import"]).unwrap_err().message.contains("needs an argument"));
        assert!(p(&["import", "a", "b"]).is_err());
        assert_eq!(p(&["--hook-sleep", "5"]), Ok(Mode::Hook(HookCmd::Sleep(5))));
        assert!(p(&["--hook-sleep", "x"]).is_err());
        assert_eq!(p(&["--hook-http-get", "http://h/"]), Ok(Mode::Hook(HookCmd::HttpGet("http://h/".into()))));
        let as_pause = parse(&"/usr/bin/pause".into(), vec![], &|_| None);
        assert_eq!(as_pause, Ok(Mode::Pause));
        let as_docker_init = parse(&"docker-init".into(), vec!["--version".into()], &|_| None);
        assert_eq!(as_docker_init, Ok(Mode::Version { tini: true }));
    }
}
