//! fork + exec with the clean slate a program expects from its init.
//!
//! Everything that can allocate or fail in an interesting way (PATH search,
//! C strings, user lookup) happens before the child exists; an entry's
//! environment is turned into its `envp` array once ([`Env`]), not per start.
//! Everything passes through as bytes: argv, environment and paths are
//! `OsString`s, so a name that is not UTF-8 reaches the child unchanged.
//!
//! The child is created with `clone(CLONE_VM | CLONE_VFORK)`, as posix_spawn(3)
//! does in musl and glibc: it shares podinit's memory (no page tables to copy,
//! no copy-on-write faults in podinit afterwards) and podinit is suspended
//! until the child has exec'd or exited. So the child writes a failure straight
//! into podinit's memory (no error pipe), and a start costs podinit one
//! clone(2) where it used to cost fork, pipe2, read, two closes and setpgid.
//! In the child, between clone and exec, only raw system calls run: no
//! allocation, no libc state (musl and glibc broadcast set*id() to every thread
//! of the *parent's* thread list, so those are raw syscalls too).

use std::ffi::{CStr, CString, OsStr, OsString};
use std::fmt;
use std::mem::MaybeUninit;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::rc::Rc;

use nix::errno::Errno;

use crate::sys::guard;
use crate::sys::reaper;
use crate::sys::signals;
use crate::sys::user::Credentials;

/// What to run and how; built once per entry, reused for every restart.
/// Cloning is cheap: argv and environment are shared ([`Args`], [`Env`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct Command {
    /// argv; argv[0] is looked up in PATH unless it contains a '/'.
    pub argv: Args,
    /// The full environment, or None to inherit podinit's (passed on as the
    /// very `environ` podinit got, byte for byte).
    pub env: Option<Env>,
    /// Working directory, or None for podinit's.
    pub cwd: Option<PathBuf>,
    /// Drop to this user before exec.
    pub creds: Option<Credentials>,
    /// Give the child the terminal on stdin (job control) when there is one.
    pub foreground_tty: bool,
    /// Redirect stdout / stderr to these fds (log prefixing); None inherits.
    pub stdout: Option<RawFd>,
    /// See `stdout`.
    pub stderr: Option<RawFd>,
    /// Connect stdin to /dev/null (probes and hooks must not eat the app's input).
    pub null_stdin: bool,
    /// SIGKILL the child when podinit dies (PR_SET_PDEATHSIG): run mode sets
    /// it on every entry, and hooks and exec probes inherit it through
    /// [`Command::sibling`], so a pod does not outlive a podinit that is not
    /// PID 1 and gets killed. Set-user-ID programs lose it at exec (a kernel
    /// rule); [`crate::sys::guard`] covers those and the child's own children.
    pub die_with_parent: bool,
}

impl Command {
    /// Another program in the same context (environment, cwd, user) with
    /// stdin on /dev/null: an entry's hooks and exec probes.
    pub(crate) fn sibling(&self, argv: &[String]) -> Command {
        Command { argv: Args::new(argv), null_stdin: true, ..self.clone() }
    }
}

/// An argv ready for execve(2): the NUL-terminated strings in one buffer and
/// the NULL-terminated pointer array into it, built once per entry; clones
/// share it. An argument with a NUL byte cannot be passed on: spawning such an
/// argv fails ([`SpawnError::Nul`]); [`Args::nul`] tells beforehand.
#[derive(Clone)]
pub(crate) struct Args(Rc<ArgsBlock>);

/// NUL-terminated strings packed in one buffer, and pointers to each.
struct Block {
    /// Owns the bytes `ptrs` points into; never grows after the pointers are taken.
    bytes: Vec<u8>,
    /// Where each string starts in `bytes`.
    starts: Vec<usize>,
    /// One pointer per string, then NULL.
    ptrs: Vec<*const libc::c_char>,
}

impl Block {
    /// Packs `items`, each given as the slices to concatenate.
    fn new<'a>(items: impl Iterator<Item = &'a [&'a [u8]]> + Clone) -> Block {
        let total = items.clone().map(|parts| parts.iter().map(|p| p.len()).sum::<usize>() + 1).sum();
        let mut bytes = Vec::with_capacity(total);
        let mut starts = Vec::new();
        for parts in items {
            starts.push(bytes.len());
            parts.iter().for_each(|p| bytes.extend_from_slice(p));
            bytes.push(0);
        }
        let base = bytes.as_ptr();
        // SAFETY: every start is an offset into `bytes`, which is not resized again.
        let ptrs = starts.iter().map(|&o| unsafe { base.add(o) }.cast()).chain([std::ptr::null()]).collect();
        Block { bytes, starts, ptrs }
    }

    /// The strings, without their NUL.
    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let ends = self.starts.iter().skip(1).copied().chain([self.bytes.len()]);
        self.starts.iter().zip(ends).map(|(&a, b)| &self.bytes[a..b - 1])
    }

    fn first(&self) -> Option<&CStr> {
        let a = *self.starts.first()?;
        let b = self.starts.get(1).copied().unwrap_or(self.bytes.len());
        CStr::from_bytes_with_nul(&self.bytes[a..b]).ok()
    }
}

/// The argv block, and the first argument that held a NUL byte (lossy, for
/// the message; such arguments are left out of the block).
struct ArgsBlock {
    block: Block,
    nul: Option<String>,
}

impl Args {
    /// Builds the block from the arguments' bytes.
    pub(crate) fn new<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Args {
        let args: Vec<S> = args.into_iter().collect();
        let nul = args.iter().map(|a| a.as_ref()).find(|a| a.as_bytes().contains(&0));
        let nul = nul.map(|a| a.to_string_lossy().into_owned());
        let parts: Vec<[&[u8]; 1]> =
            args.iter().map(|a| a.as_ref().as_bytes()).filter(|a| !a.contains(&0)).map(|a| [a]).collect();
        Args(Rc::new(ArgsBlock { block: Block::new(parts.iter().map(|p| &p[..])), nul }))
    }

    /// argv[0].
    pub(crate) fn first(&self) -> Option<&CStr> {
        self.0.block.first()
    }

    /// The arguments, as bytes.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &OsStr> {
        self.0.block.iter().map(OsStr::from_bytes)
    }

    /// The first argument that holds a NUL byte, if one does.
    pub(crate) fn nul(&self) -> Option<&str> {
        self.0.nul.as_deref()
    }

    fn argv(&self) -> *const *const libc::c_char {
        self.0.block.ptrs.as_ptr()
    }
}

impl<S: AsRef<OsStr>> FromIterator<S> for Args {
    fn from_iter<I: IntoIterator<Item = S>>(args: I) -> Args {
        Args::new(args)
    }
}

impl Default for Args {
    fn default() -> Args {
        Args::new(std::iter::empty::<&OsStr>())
    }
}

impl fmt::Debug for Args {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// An environment ready for execve(2): the `KEY=VALUE` strings in one buffer
/// and the NULL-terminated pointer array into it, built once per entry; clones
/// share it.
#[derive(Clone)]
pub(crate) struct Env(Rc<EnvBlock>);

struct EnvBlock {
    block: Block,
    /// PATH, for the command search.
    path: Option<OsString>,
}

impl Env {
    /// Builds the block from `(key, value)` pairs, in order. A NUL byte in a key or
    /// value cannot be passed to execve: that is an error naming the variable.
    pub(crate) fn new<K: AsRef<OsStr>, V: AsRef<OsStr>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Env, SpawnError> {
        let pairs: Vec<(K, V)> = pairs.into_iter().collect();
        let mut path = None;
        let mut parts: Vec<[&[u8]; 3]> = Vec::with_capacity(pairs.len());
        for (k, v) in &pairs {
            let (k, v) = (k.as_ref(), v.as_ref());
            if k.as_bytes().contains(&0) || v.as_bytes().contains(&0) {
                return Err(SpawnError::Nul(k.to_string_lossy().into_owned()));
            }
            if k == "PATH" {
                path = Some(v.to_os_string());
            }
            parts.push([k.as_bytes(), b"=", v.as_bytes()]);
        }
        Ok(Env(Rc::new(EnvBlock { block: Block::new(parts.iter().map(|p| &p[..])), path })))
    }

    /// The value of PATH, if set.
    pub(crate) fn path(&self) -> Option<&OsStr> {
        self.0.path.as_deref()
    }

    /// The variables, as `KEY=VALUE` bytes.
    pub(crate) fn vars(&self) -> impl Iterator<Item = &[u8]> {
        self.0.block.iter()
    }

    fn envp(&self) -> *const *const libc::c_char {
        self.0.block.ptrs.as_ptr()
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.vars().map(|v| String::from_utf8_lossy(v).into_owned())).finish()
    }
}

/// Why a child could not be started. The child (if forked) is already reaped.
#[derive(Debug)]
pub(crate) enum SpawnError {
    /// Empty argv.
    Empty,
    /// argv[0] not found in PATH (or the path does not exist): exit code 127.
    NotFound(String),
    /// Found but not executable: exit code 126.
    NotExecutable(String),
    /// clone(2) itself failed (RLIMIT_NPROC, memory).
    Fork(Errno),
    /// A setup step in the child failed (chdir, setuid, exec, ...).
    Child {
        /// The command as given.
        cmd: String,
        /// The step that failed.
        step: &'static str,
        /// Why.
        errno: Errno,
    },
    /// A string held a NUL byte.
    Nul(String),
    /// The program exists but the kernel could not find the interpreter it
    /// names: a script's `#!` line, or a dynamically linked program's loader
    /// (execve says ENOENT for both, which is why a shell says "not found").
    Interpreter {
        /// The command as given.
        cmd: String,
        /// The interpreter's path, without a trailing carriage return.
        interp: String,
        /// Where the name came from.
        kind: InterpKind,
    },
    /// The working directory could not be entered.
    WorkingDir {
        /// The directory.
        dir: String,
        /// Why.
        errno: Errno,
    },
}

/// Where a missing interpreter was named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InterpKind {
    /// A `#!` line; `cr` when it ends in a carriage return (DOS line endings).
    Script { cr: bool },
    /// An ELF program's PT_INTERP (its dynamic loader).
    Elf,
}

impl SpawnError {
    /// The exit code a shell would report for this failure (127 not found, 126 otherwise).
    pub(crate) fn exit_code(&self) -> i32 {
        match self {
            SpawnError::NotFound(_) | SpawnError::Interpreter { .. } => 127,
            SpawnError::Child { step: "exec", errno: Errno::ENOENT, .. } => 127,
            _ => 126,
        }
    }
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::Empty => write!(f, "empty command"),
            SpawnError::NotFound(c) => write!(f, "{c}: command not found"),
            SpawnError::NotExecutable(c) => write!(f, "{c}: permission denied (not executable)"),
            SpawnError::Fork(e) => write!(f, "fork failed: {}", e.desc()),
            SpawnError::Child { cmd, step, errno } => write!(f, "{cmd}: {step} failed: {}", errno.desc()),
            SpawnError::Nul(s) => write!(f, "argument or variable contains a NUL byte: {s:?}"),
            SpawnError::Interpreter { cmd, interp, kind: InterpKind::Script { cr } } => {
                write!(f, "{cmd}: interpreter {interp} not found")?;
                if *cr {
                    write!(f, " (the #! line ends in a carriage return: DOS line endings?)")?;
                }
                Ok(())
            }
            SpawnError::Interpreter { cmd, interp, kind: InterpKind::Elf } => {
                write!(f, "{cmd}: program loader {interp} not found (built for another system or C library?)")
            }
            SpawnError::WorkingDir { dir, errno } => write!(f, "working_dir {dir}: {}", errno.desc()),
        }
    }
}

impl std::error::Error for SpawnError {}

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A command name for messages (lossy: messages are text).
fn shown(cmd: &OsStr) -> String {
    cmd.to_string_lossy().into_owned()
}

/// Finds `cmd` the way execvp(3) does: as is when it holds a '/', else in each
/// PATH directory; a match that is not executable is remembered (EACCES → 126)
/// but the search goes on. Bytes throughout: neither needs to be UTF-8.
#[cfg(test)]
pub(crate) fn resolve(cmd: &OsStr, path_var: Option<&OsStr>) -> Result<OsString, SpawnError> {
    let c = CString::new(cmd.as_bytes()).map_err(|_| SpawnError::Nul(shown(cmd)))?;
    let mut buf = Vec::new();
    resolve_into(&c, path_var, None, &mut buf).map(|p| OsStr::from_bytes(p.to_bytes()).to_os_string())
}

/// [`resolve`] into `buf`: the result is `cmd` itself or the candidate path
/// built there (one buffer for the whole search). A relative result is looked
/// at from `cwd` when given: the child execs it after its chdir.
fn resolve_into<'a>(
    cmd: &'a CStr,
    path_var: Option<&OsStr>,
    cwd: Option<&CStr>,
    buf: &'a mut Vec<u8>,
) -> Result<&'a CStr, SpawnError> {
    let name = cmd.to_bytes();
    let shown = || shown(OsStr::from_bytes(name));
    if name.is_empty() {
        return Err(SpawnError::NotFound(String::new()));
    }
    if name.contains(&b'/') {
        return match check_exec_from(cwd, cmd) {
            Ok(()) => Ok(cmd),
            Err(Lookup::Missing) if name[0] != b'/' => Err(missing_cwd(cwd).unwrap_or(SpawnError::NotFound(shown()))),
            Err(Lookup::Missing) => Err(SpawnError::NotFound(shown())),
            Err(Lookup::Denied) => Err(SpawnError::NotExecutable(shown())),
        };
    }
    let path = path_var.unwrap_or(OsStr::new(DEFAULT_PATH)).as_bytes();
    let longest = path.split(|&b| b == b':').map(<[u8]>::len).max().unwrap_or(0).max(1);
    buf.reserve(longest + name.len() + 2);
    let mut denied = false;
    for dir in path.split(|&b| b == b':') {
        buf.clear();
        buf.extend_from_slice(if dir.is_empty() { b"." } else { dir });
        buf.push(b'/');
        buf.extend_from_slice(name);
        buf.push(0);
        // A PATH entry cannot hold a NUL byte (environment strings end at the
        // first one); skip it if it somehow does.
        let Ok(candidate) = CStr::from_bytes_with_nul(buf) else { continue };
        match check_exec_from(cwd, candidate) {
            Ok(()) => return CStr::from_bytes_with_nul(buf).map_err(|_| SpawnError::NotFound(shown())),
            Err(Lookup::Denied) => denied = true,
            Err(Lookup::Missing) => {}
        }
    }
    Err(if denied { SpawnError::NotExecutable(shown()) } else { SpawnError::NotFound(shown()) })
}

enum Lookup {
    Missing,
    Denied,
}

/// [`check_exec`] of `p` as the child will see it: a relative path from
/// `cwd` (one allocation, only for a relative path with a working directory).
fn check_exec_from(cwd: Option<&CStr>, p: &CStr) -> Result<(), Lookup> {
    match cwd {
        Some(dir) if p.to_bytes().first() != Some(&b'/') => {
            let joined = [dir.to_bytes(), b"/", p.to_bytes_with_nul()].concat();
            CStr::from_bytes_with_nul(&joined).map_or(Err(Lookup::Missing), check_exec)
        }
        _ => check_exec(p),
    }
}

/// The working directory's own error, when it is the directory that is missing.
fn missing_cwd(cwd: Option<&CStr>) -> Option<SpawnError> {
    let dir = cwd?;
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: a NUL-terminated path and a buffer for one struct stat.
    if unsafe { libc::stat(dir.as_ptr(), st.as_mut_ptr()) } == 0 {
        return None;
    }
    let dir = OsStr::from_bytes(dir.to_bytes()).to_string_lossy().into_owned();
    Some(SpawnError::WorkingDir { dir, errno: Errno::last() })
}

/// Exists, is not a directory, and we may execute it: stat(2) + access(2).
fn check_exec(p: &CStr) -> Result<(), Lookup> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: a NUL-terminated path and a buffer for one struct stat.
    if unsafe { libc::stat(p.as_ptr(), st.as_mut_ptr()) } != 0 {
        return Err(Lookup::Missing);
    }
    // SAFETY: stat succeeded, so it filled `st`.
    let mode = unsafe { st.assume_init_ref() }.st_mode;
    if mode & libc::S_IFMT == libc::S_IFDIR {
        return Err(Lookup::Denied);
    }
    // SAFETY: a NUL-terminated path.
    if unsafe { libc::access(p.as_ptr(), libc::X_OK) } != 0 {
        return Err(Lookup::Denied);
    }
    Ok(())
}

/// A path for messages.
fn shown_path(p: &std::path::Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The setup steps the child can fail at, reported back to the parent
/// through shared memory (a plain byte: the child may not allocate).
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Setpgid,
    Stdio,
    Chdir,
    Setgroups,
    Setgid,
    Setuid,
    Exec,
    DevNull,
    DeathSignal,
    /// No failure: the child got as far as a successful exec.
    Done = u8::MAX,
}

impl Step {
    /// The name in an error message.
    fn name(self) -> &'static str {
        match self {
            Step::Setpgid => "setpgid",
            Step::Stdio => "stdio",
            Step::Chdir => "chdir",
            Step::Setgroups => "setgroups",
            Step::Setgid => "setgid",
            Step::Setuid => "setuid",
            Step::Exec | Step::Done => "exec",
            Step::DevNull => "open /dev/null",
            Step::DeathSignal => "prctl(PR_SET_PDEATHSIG)",
        }
    }
}

/// Stack of the child between clone and exec: a buffer in `spawn`'s frame, as
/// musl's posix_spawn does (the parent is suspended meanwhile). The child uses
/// about 250 bytes (release build) to 750 (debug build), measured with a
/// filled buffer. There is no guard page: an overflow would run into the
/// suspended parent's own frames, so the buffer keeps a wide margin (musl keeps
/// 1024 + PATH_MAX); only the pages the child touches become resident.
/// Anything added to `child_setup` must stay as frugal.
const CHILD_STACK: usize = 8192;

extern "C" {
    /// The environment podinit was started with (POSIX).
    static environ: *const *const libc::c_char;
}

/// What the child needs, prepared by the parent; the child writes `failure`.
struct ChildArgs<'a> {
    cmd: &'a Command,
    exe: &'a CStr,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
    cwd: Option<&'a CStr>,
    groups: &'a [libc::gid_t],
    /// Signals whose disposition is not SIG_DFL in podinit.
    reset: &'a [libc::c_int],
    /// podinit's pid: the child's parent, unless podinit died meanwhile.
    parent: libc::pid_t,
    /// (step, errno) of a failed setup; `Step::Done` when exec succeeded.
    failure: (Step, i32),
}

/// Starts `cmd` in a new process group of its own, with default signal
/// dispositions and an empty mask. Returns its pid once exec has succeeded.
pub(crate) fn spawn(cmd: &Command) -> Result<i32, SpawnError> {
    if let Some(arg) = cmd.argv.nul() {
        return Err(SpawnError::Nul(arg.to_string()));
    }
    let first = cmd.argv.first().ok_or(SpawnError::Empty)?;
    let inherited_path;
    let path_var = match &cmd.env {
        Some(env) => env.path(),
        None => {
            inherited_path = std::env::var_os("PATH");
            inherited_path.as_deref()
        }
    };
    // argv and envp were built with the Command; what is left is the path
    // found in PATH and the cwd, one small allocation each.
    let cwd = cmd.cwd.as_deref().map(|d| CString::new(d.as_os_str().as_bytes())).transpose();
    let cwd = cwd.map_err(|_| SpawnError::Nul(cmd.cwd.as_deref().map(shown_path).unwrap_or_default()))?;
    let mut exe_buf = Vec::new();
    let exe = resolve_into(first, path_var, cwd.as_deref(), &mut exe_buf)?;
    let envp = match &cmd.env {
        Some(env) => env.envp(),
        // SAFETY: reading the libc's environ pointer; podinit never changes its
        // own environment, so the array is as podinit was started with.
        None => unsafe { environ },
    };
    let mut args = ChildArgs {
        cmd,
        exe,
        argv: cmd.argv.argv(),
        envp,
        cwd: cwd.as_deref(),
        groups: cmd.creds.as_ref().map_or(&[], |c| &c.groups[..]),
        reset: signals::not_default_dispositions(),
        parent: own_pid(),
        failure: (Step::Done, 0),
    };
    let mut stack = [MaybeUninit::<u8>::uninit(); CHILD_STACK];
    // The top of the buffer, aligned down to 16 bytes as the ABI wants.
    let top = ((stack.as_mut_ptr() as usize + CHILD_STACK) & !15) as *mut libc::c_void;

    // Every signal is blocked across the clone, so none can run podinit's fault
    // handler in the child (which shares podinit's memory); the child resets
    // the dispositions and then unblocks everything right before exec.
    let mask = signals::block_all();
    // SAFETY: `top` is the aligned end of a CHILD_STACK-byte buffer that stays
    // alive and untouched until clone returns (CLONE_VFORK suspends this thread
    // until the child has exec'd or exited); `args` outlives the child's use of
    // it for the same reason. child_main only makes raw system calls.
    let pid = unsafe {
        libc::clone(
            child_main,
            top,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            (&mut args as *mut ChildArgs).cast(),
        )
    };
    let clone_errno = Errno::last();
    signals::restore_mask(mask);
    if pid < 0 {
        return Err(SpawnError::Fork(clone_errno));
    }
    // SAFETY: the child is done with `args` (it has exec'd or exited); volatile
    // because the write came from another process through shared memory.
    let (step, errno) = unsafe { std::ptr::read_volatile(&args.failure) };
    if step == Step::Done {
        guard::track(pid);
        return Ok(pid);
    }
    reaper::wait_one(pid);
    let errno = Errno::from_raw(errno);
    let c = shown(OsStr::from_bytes(first.to_bytes()));
    Err(match (step, errno) {
        // resolve() found the file, so ENOENT is about what it needs to run.
        (Step::Exec, Errno::ENOENT) => match missing_interpreter(exe, cmd.cwd.as_deref()) {
            Some((interp, kind)) => SpawnError::Interpreter { cmd: c, interp, kind },
            None => SpawnError::NotFound(c),
        },
        (Step::Exec, Errno::EACCES) => SpawnError::NotExecutable(c),
        (Step::Chdir, _) => {
            SpawnError::WorkingDir { dir: cmd.cwd.as_deref().map(shown_path).unwrap_or_default(), errno }
        }
        _ => SpawnError::Child { cmd: c, step: step.name(), errno },
    })
}

/// podinit's pid, read once (every child compares its parent with it).
fn own_pid() -> libc::pid_t {
    static PID: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);
    let pid = PID.load(std::sync::atomic::Ordering::Relaxed);
    if pid != 0 {
        return pid;
    }
    // SAFETY: getpid(2) cannot fail.
    let pid = unsafe { libc::getpid() };
    PID.store(pid, std::sync::atomic::Ordering::Relaxed);
    pid
}

/// After execve said ENOENT for a file that exists: the interpreter it names
/// and does not find, from its first bytes (`#!` line or ELF PT_INTERP). None
/// when the file is gone or names no missing interpreter. Runs only on this
/// error path. A relative `exe` is taken from `cwd`, as the child's exec did.
fn missing_interpreter(exe: &CStr, cwd: Option<&std::path::Path>) -> Option<(String, InterpKind)> {
    use std::io::Read;
    let exe = std::path::Path::new(OsStr::from_bytes(exe.to_bytes()));
    let path = match cwd {
        Some(dir) if exe.is_relative() => dir.join(exe),
        _ => exe.to_path_buf(),
    };
    let mut head = Vec::with_capacity(4096);
    std::fs::File::open(&path).ok()?.take(4096).read_to_end(&mut head).ok()?;
    let (interp, kind) = interpreter_of(&head)?;
    let interp_path = std::path::Path::new(OsStr::from_bytes(interp));
    // execve resolves a relative interpreter from the child's working directory.
    let found = match cwd {
        Some(dir) if interp_path.is_relative() => dir.join(interp_path).exists(),
        _ => interp_path.exists(),
    };
    (!found).then(|| (String::from_utf8_lossy(interp).trim_end_matches('\r').to_string(), kind))
}

/// The interpreter a file asks the kernel for, as execve reads it: the first
/// word after `#!` (ended by a space, tab or newline, as in the kernel's
/// binfmt_script: a carriage return stays part of the name), or the PT_INTERP
/// path of a 64- or 32-bit little-endian ELF file.
fn interpreter_of(head: &[u8]) -> Option<(&[u8], InterpKind)> {
    if let Some(rest) = head.strip_prefix(b"#!") {
        let line = &rest[..rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len())];
        let start = line.iter().position(|&b| b != b' ' && b != b'\t')?;
        let word = &line[start..];
        let word = &word[..word.iter().position(|&b| b == b' ' || b == b'\t').unwrap_or(word.len())];
        return Some((word, InterpKind::Script { cr: word.ends_with(b"\r") }));
    }
    elf_interp(head).map(|p| (p, InterpKind::Elf))
}

/// The PT_INTERP path of a little-endian ELF file whose program headers and
/// interpreter string lie within `head`.
fn elf_interp(head: &[u8]) -> Option<&[u8]> {
    if !head.starts_with(b"\x7fELF") || head.get(5) != Some(&1) {
        return None;
    }
    let u16_at = |o: usize| Some(u16::from_le_bytes(head.get(o..o + 2)?.try_into().ok()?) as usize);
    let u32_at = |o: usize| Some(u32::from_le_bytes(head.get(o..o + 4)?.try_into().ok()?) as usize);
    let u64_at = |o: usize| usize::try_from(u64::from_le_bytes(head.get(o..o + 8)?.try_into().ok()?)).ok();
    let wide = match head.get(4) {
        Some(2) => true,
        Some(1) => false,
        _ => return None,
    };
    // (e_phoff, e_phentsize, e_phnum) and, per header, (p_offset, p_filesz).
    let (phoff, phentsize, phnum) = if wide {
        (u64_at(0x20)?, u16_at(0x36)?, u16_at(0x38)?)
    } else {
        (u32_at(0x1c)?, u16_at(0x2a)?, u16_at(0x2c)?)
    };
    for i in 0..phnum {
        let ph = phoff.checked_add(i.checked_mul(phentsize)?)?;
        if u32_at(ph)? != 3 {
            continue; // not PT_INTERP
        }
        let (off, size) = if wide { (u64_at(ph + 8)?, u64_at(ph + 32)?) } else { (u32_at(ph + 4)?, u32_at(ph + 16)?) };
        let raw = head.get(off..off.checked_add(size)?)?;
        return Some(&raw[..raw.iter().position(|&b| b == 0).unwrap_or(raw.len())]);
    }
    None
}

/// The child, between clone and exec. Leaves only through exec or _exit.
extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the parent's ChildArgs, alive and not touched by the
    // parent until this process has exec'd or exited.
    let args = unsafe { &mut *arg.cast::<ChildArgs>() };
    let (step, errno) = child_setup(args);
    let code = if step == Step::Exec && errno == libc::ENOENT { 127 } else { 126 };
    // SAFETY: a plain store into the parent's memory, read after we are gone.
    unsafe { std::ptr::write_volatile(&mut args.failure, (step, errno)) };
    // SAFETY: _exit skips atexit handlers and stdio flushing that belong to the parent.
    unsafe { libc::_exit(code) }
}

/// A raw system call's result: Err(errno) when it failed.
fn sys(r: libc::c_long) -> Result<(), i32> {
    if r < 0 {
        Err(Errno::last_raw())
    } else {
        Ok(())
    }
}

/// Runs in the child. Returns only on failure: (step, errno).
fn child_setup(a: &ChildArgs) -> (Step, i32) {
    let cmd = a.cmd;
    // SAFETY: system calls on integers and on pointers into `a`, which the
    // parent keeps alive; nothing here allocates. (One block for the whole
    // function: every line of it is such a call.)
    unsafe {
        // Own process group: podinit can signal the whole entry, and a terminal's
        // Ctrl-C goes to it rather than to podinit (tini does the same). The
        // parent resumes only after exec, so the group exists before it signals.
        if let Err(e) = sys(libc::setpgid(0, 0).into()) {
            return (Step::Setpgid, e);
        }
        if cmd.foreground_tty {
            // Fails with ENOTTY when stdin is not our terminal: that is fine.
            // SIGTTOU is blocked here, so a background caller is not stopped by it.
            libc::tcsetpgrp(0, libc::getpid());
        }
        for (src, dst) in [(cmd.stdout, 1), (cmd.stderr, 2)] {
            if let Some(fd) = src {
                if let Err(e) = sys(libc::dup2(fd, dst).into()) {
                    return (Step::Stdio, e);
                }
            }
        }
        if cmd.null_stdin {
            let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
            if fd < 0 || libc::dup2(fd, 0) < 0 {
                return (Step::DevNull, Errno::last_raw());
            }
            if fd != 0 {
                libc::close(fd);
            }
        }
        if let Some(dir) = a.cwd {
            if let Err(e) = sys(libc::chdir(dir.as_ptr()).into()) {
                return (Step::Chdir, e);
            }
        }
        if let Some(c) = &cmd.creds {
            // Order matters: supplementary groups and gid while still root, uid
            // last. Raw system calls: the libc wrappers would broadcast the
            // change to the threads of the parent, whose memory we share.
            if let Err(e) = sys(libc::syscall(libc::SYS_setgroups, a.groups.len(), a.groups.as_ptr())) {
                return (Step::Setgroups, e);
            }
            if let Err(e) = sys(libc::syscall(libc::SYS_setgid, c.gid)) {
                return (Step::Setgid, e);
            }
            if let Err(e) = sys(libc::syscall(libc::SYS_setuid, c.uid)) {
                return (Step::Setuid, e);
            }
        }
        if cmd.die_with_parent {
            // After the credentials: changing them clears the setting (prctl(2)).
            if let Err(e) = sys(libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0).into()) {
                return (Step::DeathSignal, e);
            }
            // podinit may have died before the prctl: the signal would never
            // come. (podinit is single-threaded, so "the thread that forked"
            // the kernel watches is podinit's only thread, its whole life.)
            if libc::getppid() != a.parent {
                libc::_exit(128 + libc::SIGKILL);
            }
        }
        signals::reset_for_exec(a.reset);
        libc::execve(a.exe.as_ptr(), a.argv, a.envp);
    }
    (Step::Exec, Errno::last_raw())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    fn os(b: &[u8]) -> &OsStr {
        OsStr::from_bytes(b)
    }

    /// A fresh directory for one test.
    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("podinit-spawn-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("scratch dir");
        d
    }

    /// Writes an executable shell script.
    fn script(path: &Path, body: &str) {
        std::fs::write(path, format!("#!/bin/sh\n{body}\n")).expect("write script");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    fn run(cmd: &Command) -> reaper::ExitStatus {
        let pid = spawn(cmd).expect("spawn");
        reaper::wait_one(pid).expect("wait")
    }

    #[test]
    fn resolve_searches_path_like_execvp() {
        assert_eq!(resolve(os(b"sh"), Some(os(b"/nonexistent:/bin"))).unwrap(), "/bin/sh");
        assert!(matches!(resolve(os(b"no-such-cmd-xyz"), Some(os(b"/bin"))), Err(SpawnError::NotFound(_))));
        assert!(matches!(resolve(os(b"/etc/passwd"), None), Err(SpawnError::NotExecutable(_))));
        assert!(matches!(resolve(os(b"/etc"), None), Err(SpawnError::NotExecutable(_))));
        assert!(matches!(resolve(os(b"./nope/x"), None), Err(SpawnError::NotFound(_))));
    }

    #[test]
    fn resolve_takes_bytes_that_are_not_utf8() {
        let d = scratch("resolve");
        let dir = d.join(os(b"bin\xfe"));
        std::fs::create_dir(&dir).expect("mkdir");
        script(&dir.join(os(b"s\xffh")), "exit 0");
        let path = [b"/nonexistent:".as_slice(), dir.as_os_str().as_bytes()].concat();
        let found = resolve(os(b"s\xffh"), Some(os(&path))).expect("found");
        assert_eq!(found.as_bytes(), [dir.as_os_str().as_bytes(), b"/s\xff", b"h"].concat());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn argv_block_keeps_every_argument_and_its_order() {
        let argv = Args::new(["a", "", "bc", "d\u{e9}"]);
        assert_eq!(argv.iter().collect::<Vec<_>>(), ["a", "", "bc", "d\u{e9}"]);
        assert_eq!(argv.first(), Some(c"a"));
        // SAFETY: argv() is a NULL-terminated array of four C strings.
        unsafe {
            assert_eq!(CStr::from_ptr(*argv.argv().add(2)), c"bc");
            assert!((*argv.argv().add(4)).is_null());
        }
        assert_eq!(Args::default().first(), None);
        // SAFETY: an empty argv is the one NULL pointer.
        assert!(unsafe { *Args::default().argv() }.is_null());
    }

    #[test]
    fn an_argument_with_a_nul_byte_is_an_error_at_spawn() {
        let argv = Args::new(["sh", "a\0b"]);
        assert_eq!(argv.nul(), Some("a\0b"));
        assert_eq!(argv.iter().count(), 1, "the bad argument is not passed on");
        let cmd = Command { argv, ..Command::default() };
        assert!(matches!(spawn(&cmd), Err(SpawnError::Nul(_))));
        assert!(matches!(spawn(&Command::default()), Err(SpawnError::Empty)));
    }

    #[test]
    fn exit_codes() {
        assert_eq!(SpawnError::NotFound("x".into()).exit_code(), 127);
        assert_eq!(SpawnError::NotExecutable("x".into()).exit_code(), 126);
    }

    #[test]
    fn env_block_is_built_once_and_shared() {
        let env = Env::new([("A", "1"), ("PATH", "/x:/y")]).expect("env");
        assert_eq!(env.path(), Some(OsStr::new("/x:/y")));
        assert_eq!(env.vars().collect::<Vec<_>>(), [b"A=1".as_slice(), b"PATH=/x:/y"]);
        let clone = env.clone();
        assert!(std::ptr::eq(env.envp(), clone.envp()), "a clone shares the envp array");
        // SAFETY: envp is a NULL-terminated array of two C strings.
        unsafe {
            assert_eq!(CStr::from_ptr(*env.envp()).to_bytes(), b"A=1");
            assert!((*env.envp().add(2)).is_null());
        }
        assert!(matches!(Env::new([("A", "x\0y")]), Err(SpawnError::Nul(k)) if k == "A"));
    }

    #[test]
    fn sibling_keeps_the_context_and_takes_stdin_away() {
        let base = Command {
            argv: Args::new(["app"]),
            env: Some(Env::new([("K", "v")]).expect("env")),
            cwd: Some("/tmp".into()),
            ..Command::default()
        };
        let hook = base.sibling(&["sh".to_string(), "-c".to_string(), "true".to_string()]);
        assert_eq!(hook.argv.iter().collect::<Vec<_>>(), ["sh", "-c", "true"]);
        assert!(hook.null_stdin && !base.null_stdin);
        assert_eq!(hook.cwd, base.cwd);
        assert_eq!(hook.env.as_ref().map(|e| e.envp()), base.env.as_ref().map(|e| e.envp()));
    }

    #[test]
    fn argv_env_and_file_name_pass_through_as_bytes() {
        let d = scratch("bytes");
        let out = d.join("out");
        // The program's own file name is not UTF-8; it writes its $1 and $V.
        let prog = d.join(os(b"pr\xffg"));
        script(&prog, &format!("printf '%s|%s' \"$1\" \"$V\" > '{}'", out.display()));
        let env = Env::new([(os(b"V"), os(b"val\xfe\x80")), (os(b"PATH"), os(b"/usr/bin:/bin"))]).expect("env");
        let cmd = Command {
            argv: Args::new([prog.clone().into_os_string(), OsString::from_vec(b"arg\xff\x01".to_vec())]),
            env: Some(env),
            ..Command::default()
        };
        assert_eq!(run(&cmd), reaper::ExitStatus::Code(0));
        assert_eq!(std::fs::read(&out).expect("output"), b"arg\xff\x01|val\xfe\x80");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_directory_that_is_not_utf8_is_a_cwd() {
        let d = scratch("cwd");
        let dir = d.join(os(b"d\xff"));
        std::fs::create_dir(&dir).expect("mkdir");
        let cmd = Command { argv: Args::new(["sh", "-c", "pwd > out"]), cwd: Some(dir.clone()), ..Command::default() };
        assert_eq!(run(&cmd), reaper::ExitStatus::Code(0));
        let pwd = std::fs::read(dir.join("out")).expect("output");
        assert_eq!(pwd, [dir.as_os_str().as_bytes(), b"\n"].concat());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn exec_failures_come_back_from_the_child() {
        let d = scratch("fail");
        let cmd = |argv: &str| Command { argv: Args::new([argv]), ..Command::default() };
        assert!(matches!(spawn(&cmd("/nonexistent/x")), Err(SpawnError::NotFound(_))));
        // Found and executable, but the kernel cannot run it: exec fails in the child.
        let bad = d.join("bad");
        std::fs::write(&bad, [0x7f, b'E', b'L', b'F', 0, 0, 0, 0]).expect("write");
        std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        match spawn(&cmd(bad.to_str().expect("utf-8 temp dir"))) {
            Err(e @ SpawnError::Child { step: "exec", .. }) => assert_eq!(e.exit_code(), 126),
            other => panic!("expected an exec failure, got {other:?}"),
        }
        let c = Command { cwd: Some(d.join("no-such-dir")), ..cmd("sh") };
        let e = spawn(&c).expect_err("no such working dir");
        assert!(matches!(e, SpawnError::WorkingDir { errno: Errno::ENOENT, .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            format!("working_dir {}: No such file or directory", d.join("no-such-dir").display())
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_missing_interpreter_is_named() {
        let d = scratch("interp");
        let run = |name: &str, body: &[u8]| {
            let p = d.join(name);
            std::fs::write(&p, body).expect("write");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
            spawn(&Command { argv: Args::new([p.clone()]), ..Command::default() }).expect_err("cannot run")
        };
        let e = run("x.sh", b"#!/bin/bogus -x\necho hi\n");
        assert_eq!(e.to_string(), format!("{}: interpreter /bin/bogus not found", d.join("x.sh").display()));
        assert_eq!(e.exit_code(), 127);
        let e = run("dos.sh", b"#! /bin/sh\r\necho hi\r\n");
        assert_eq!(
            e.to_string(),
            format!(
                "{}: interpreter /bin/sh not found (the #! line ends in a carriage return: DOS line endings?)",
                d.join("dos.sh").display()
            )
        );
        // A real program whose loader path no longer exists: same length, so
        // the ELF stays valid.
        let exe = std::fs::read("/bin/true").expect("/bin/true");
        if let Some((interp, InterpKind::Elf)) = interpreter_of(&exe[..exe.len().min(4096)]) {
            let interp = interp.to_vec();
            let mut bogus = interp.clone();
            *bogus.last_mut().expect("non-empty") ^= 0x20;
            let at = exe.windows(interp.len()).position(|w| w == interp.as_slice()).expect("interp in file");
            let mut patched = exe.clone();
            patched[at..at + interp.len()].copy_from_slice(&bogus);
            let e = run("dyn", &patched);
            let want = format!("program loader {} not found", String::from_utf8_lossy(&bogus));
            assert!(e.to_string().contains(&want), "{e}");
        }
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_relative_command_is_found_from_the_working_dir() {
        // The child execs after its chdir, so the look-up must start there too,
        // not in podinit's own cwd (which has no ./bin/hello).
        let d = scratch("relative");
        std::fs::create_dir_all(d.join("bin")).expect("mkdir");
        let out = d.join("out");
        script(&d.join("bin/hello"), &format!("echo hi > '{}'", out.display()));
        let cmd = Command { argv: Args::new(["./bin/hello"]), cwd: Some(d.clone()), ..Command::default() };
        assert_eq!(run(&cmd), reaper::ExitStatus::Code(0));
        assert_eq!(std::fs::read_to_string(&out).expect("output"), "hi\n");
        // Relative to a working directory that does not exist: the directory is the error.
        let gone = d.join("gone");
        let e = spawn(&Command { cwd: Some(gone.clone()), ..cmd.clone() }).expect_err("no such dir");
        assert_eq!(e.to_string(), format!("working_dir {}: No such file or directory", gone.display()));
        // A missing interpreter is found from the working directory as well.
        std::fs::write(d.join("bin/bogus"), "#!/bin/bogus\n").expect("write");
        std::fs::set_permissions(d.join("bin/bogus"), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let e = spawn(&Command { argv: Args::new(["./bin/bogus"]), ..cmd }).expect_err("bogus interpreter");
        assert_eq!(e.to_string(), "./bin/bogus: interpreter /bin/bogus not found");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn interpreter_lines_are_read_as_the_kernel_does() {
        assert_eq!(interpreter_of(b"#!/bin/sh"), Some((&b"/bin/sh"[..], InterpKind::Script { cr: false })));
        assert_eq!(interpreter_of(b"#! \t/bin/sh -e\n"), Some((&b"/bin/sh"[..], InterpKind::Script { cr: false })));
        assert_eq!(interpreter_of(b"#!/bin/sh\r\n"), Some((&b"/bin/sh\r"[..], InterpKind::Script { cr: true })));
        assert_eq!(interpreter_of(b"#!\n"), None);
        assert_eq!(interpreter_of(b"echo hi\n"), None);
        assert_eq!(interpreter_of(b"\x7fELF\x02\x01"), None, "truncated ELF");
    }

    #[test]
    fn the_child_starts_with_default_dispositions_and_an_empty_mask() {
        // The Rust runtime ignores SIGPIPE in this test process (as in podinit
        // before signals::setup), and an ignored disposition survives exec:
        // the child must have it reset.
        let own = std::fs::read_to_string("/proc/self/status").expect("status");
        assert!(own.lines().any(|l| l.starts_with("SigIgn:") && l.ends_with("1000")), "{own}");
        let d = scratch("sigs");
        let out = d.join("status");
        let cmd = Command {
            argv: Args::new([
                "sh".to_string(),
                "-c".to_string(),
                format!("grep -E '^Sig(Blk|Ign)' /proc/self/status > '{}'", out.display()),
            ]),
            ..Command::default()
        };
        assert_eq!(run(&cmd), reaper::ExitStatus::Code(0));
        let status = std::fs::read_to_string(&out).expect("output");
        assert!(status.contains("SigBlk:\t0000000000000000"), "{status}");
        assert!(status.contains("SigIgn:\t0000000000000000"), "{status}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn dispositions_to_reset_are_the_ones_not_default() {
        // SIGPIPE: ignored by the Rust runtime; SIGUSR2: nobody touches it.
        // (No test changes a disposition: the children of parallel tests would see it.)
        let found = signals::not_default(1..=signals::KERNEL_SIGMAX);
        assert!(found.contains(&libc::SIGPIPE), "{found:?}");
        assert!(!found.contains(&libc::SIGUSR2), "{found:?}");
        assert!(!found.contains(&libc::SIGKILL) && !found.contains(&libc::SIGSTOP));
    }
}
