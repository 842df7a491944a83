//! Signal names, the signal mask podinit runs with, and the signalfd it reads.
//!
//! At start-up podinit blocks every signal except the synchronous faults and
//! reads them from a signalfd in the event loop; the faults get a small handler
//! that tells a real crash from a forwarded `kill`. Blocking *before* the first fork means a signal that arrives at any
//! moment is queued, never lost (the race handlers + fork create: dumb-init #102).
//! A blocked signal is also never discarded for a PID-namespace init, which the
//! kernel otherwise does for signals whose disposition is SIG_DFL (see
//! `sig_ignored()` in kernel/signal.c).

use std::fmt;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use nix::sys::signal::{self, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

/// A signal number. Plain `i32` because real-time signals have no `nix::Signal` variant.
pub(crate) type SigNum = i32;

/// Faults raised synchronously by a bug in podinit itself. They stay unblocked so
/// a crash kills podinit instead of spinning on the faulting instruction.
const FAULTS: [SigNum; 7] =
    [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE, libc::SIGABRT, libc::SIGTRAP, libc::SIGSYS];

/// Names of the standard signals, index = number.
const NAMES: [&str; 32] = [
    "", "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2", "PIPE", "ALRM",
    "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH",
    "IO", "PWR", "SYS",
];

/// A signal name or number that is not a signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalError(pub String);

impl fmt::Display for SignalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown signal '{}' (expected a name like SIGTERM or TERM, RTMIN+N, or a number 1-{})",
            self.0,
            sigrtmax()
        )
    }
}

impl std::error::Error for SignalError {}

/// Lowest real-time signal the libc leaves to applications (glibc/musl reserve a few).
pub(crate) fn sigrtmin() -> SigNum {
    libc::SIGRTMIN()
}

/// Highest real-time signal.
pub fn sigrtmax() -> SigNum {
    libc::SIGRTMAX()
}

/// Parses `SIGTERM`, `term`, `15`, `SIGRTMIN+2`, `RTMAX-1` into a signal number.
pub fn parse(s: &str) -> Result<SigNum, SignalError> {
    let err = || SignalError(s.to_string());
    let t = s.trim();
    if let Ok(n) = t.parse::<SigNum>() {
        return if (1..=sigrtmax()).contains(&n) { Ok(n) } else { Err(err()) };
    }
    let up = t.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    if let Some(i) = NAMES.iter().skip(1).position(|n| *n == name) {
        return Ok(i as SigNum + 1);
    }
    let rt = |base: SigNum, rest: &str, sign: SigNum| -> Result<SigNum, SignalError> {
        // Digits only: "RTMAX--5" or "RTMIN+-1" are not offsets.
        if !rest.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        let off: SigNum = if rest.is_empty() { 0 } else { rest.parse().map_err(|_| err())? };
        let n = off.checked_mul(sign).and_then(|o| base.checked_add(o)).ok_or_else(err)?;
        if (sigrtmin()..=sigrtmax()).contains(&n) {
            Ok(n)
        } else {
            Err(err())
        }
    };
    if let Some(rest) = name.strip_prefix("RTMIN") {
        return match rest.strip_prefix('+') {
            Some(r) => rt(sigrtmin(), r, 1),
            None if rest.is_empty() => Ok(sigrtmin()),
            None => Err(err()),
        };
    }
    if let Some(rest) = name.strip_prefix("RTMAX") {
        return match rest.strip_prefix('-') {
            Some(r) => rt(sigrtmax(), r, -1),
            None if rest.is_empty() => Ok(sigrtmax()),
            None => Err(err()),
        };
    }
    Err(err())
}

/// `SIGTERM`, `SIGRTMIN+3`, or the number for anything else.
pub fn name(sig: SigNum) -> String {
    match sig {
        1..=31 => format!("SIG{}", NAMES[sig as usize]),
        n if n == sigrtmin() => "SIGRTMIN".to_string(),
        n if n > sigrtmin() && n <= sigrtmax() => format!("SIGRTMIN+{}", n - sigrtmin()),
        n => n.to_string(),
    }
}

/// True for the signals podinit relays to a child: every catchable signal except
/// SIGCHLD (podinit's own business) and the real-time ones the libc keeps for itself.
pub(crate) fn is_forwardable(sig: SigNum) -> bool {
    match sig {
        libc::SIGCHLD | libc::SIGKILL | libc::SIGSTOP => false,
        1..=31 => true,
        n => n >= sigrtmin() && n <= sigrtmax(),
    }
}

/// The set podinit blocks and reads from its signalfd: everything but the faults.
fn podinit_set() -> SigSet {
    let mut set = SigSet::all();
    for f in FAULTS {
        if let Ok(s) = Signal::try_from(f) {
            set.remove(s);
        }
    }
    set
}

/// Forwarded faults counted by the fault handler, index = signal number; the
/// event loop takes them when the SIGCHLD the handler raises wakes it up.
static FAULTS_SENT: [AtomicU32; 32] = [NONE_SENT; 32];
#[allow(clippy::declare_interior_mutable_const)] // only ever copied into FAULTS_SENT
const NONE_SENT: AtomicU32 = AtomicU32::new(0);

/// Handler for the fault signals, which stay unblocked.
///
/// A real fault (si_code > 0: SEGV_MAPERR, ILL_ILLOPN, ...) or one podinit
/// raised itself (abort) restores the default action, so the faulting
/// instruction runs again and kills podinit instead of spinning. A fault signal
/// *sent* by another process (`kill -SEGV 1`) is a signal to forward like any
/// other: the handler counts it and sends podinit a SIGCHLD, which is blocked,
/// so it lands on the signalfd and wakes the event loop, which then takes the
/// count ([`Signals::read`]). One fd to wait on instead of a signalfd plus a
/// pipe: the loop can block in read(2) on the signalfd alone.
extern "C" fn on_fault(sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler; only
    // async-signal-safe calls follow (getpid, signal, raise, kill) and a
    // lock-free atomic add.
    unsafe {
        let code = (*info).si_code;
        if code > 0 || (*info).si_pid() == libc::getpid() {
            libc::signal(sig, libc::SIG_DFL);
            if code <= 0 {
                libc::raise(sig);
            }
            return;
        }
        if let Some(n) = FAULTS_SENT.get(sig as usize) {
            n.fetch_add(1, Ordering::Relaxed);
            libc::kill(libc::getpid(), libc::SIGCHLD);
        }
    }
}

/// Where podinit's signals arrive: one signalfd for everything blocked
/// (close-on-exec, *blocking*: the event loop sleeps in read(2) on it when it
/// has nothing else to wait for, and reads it after poll(2) only when poll
/// reported it readable, so a read never blocks there).
#[derive(Debug)]
pub(crate) struct Signals {
    sfd: SignalFd,
    /// podinit's own pid, read once: signals it raised itself are dropped.
    own_pid: i32,
}

/// Blocks every signal podinit handles (all but the synchronous faults), opens
/// the signalfd and installs the fault handler. Call first thing, before
/// anything is forked: a signal that arrives from now on is never lost.
pub(crate) fn setup() -> nix::Result<Signals> {
    // SigSet::all() is sigfillset(): it also covers SIGRTMIN..SIGRTMAX, which have
    // no nix::Signal variant, and leaves out the few the libc keeps for itself.
    let set = podinit_set();
    signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&set), None)?;
    let mut not_default = reset_own_dispositions();
    let sfd = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC)?;
    for f in FAULTS {
        // SAFETY: a zeroed sigaction with a valid SA_SIGINFO handler; the
        // handler only makes async-signal-safe calls.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_fault as *const () as libc::sighandler_t;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(f, &sa, std::ptr::null_mut());
        }
    }
    not_default.extend(FAULTS);
    // Already set only when something spawned before setup (a unit test).
    let _ = NOT_DEFAULT.set(not_default);
    Ok(Signals { sfd, own_pid: nix::unistd::getpid().as_raw() })
}

/// One signal received: its number and the pid that sent it (0 for the kernel
/// or when unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Received {
    /// Signal number.
    pub sig: SigNum,
    /// Sender's pid as seen from podinit's namespace; 0 when sent by the kernel.
    pub from: i32,
}

/// What one read of the signalfd brought.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Batch {
    /// SIGCHLD was among them (from any sender): time to reap. More than
    /// fit in one read stay pending, so the loop's next wait returns at once.
    pub chld: bool,
}

/// Signals taken from the signalfd with one read(2).
const BATCH: usize = 8;

impl Signals {
    /// The fd to poll.
    pub(crate) fn fd(&self) -> RawFd {
        self.sfd.as_raw_fd()
    }

    /// Reads up to 8 pending signals with one read(2), blocking until there is
    /// at least one; calls `f` for every signal other than SIGCHLD that podinit
    /// did not send itself (SIGPIPE from its own write to a closed stdout, the
    /// fault handler's SIGCHLD), and for every forwarded fault counted since.
    pub(crate) fn read(&mut self, mut f: impl FnMut(Received)) -> Batch {
        let mut buf = [MaybeUninit::<libc::signalfd_siginfo>::uninit(); BATCH];
        let size = std::mem::size_of::<libc::signalfd_siginfo>();
        // SAFETY: buf is BATCH * size writable bytes; the kernel writes whole
        // signalfd_siginfo records only.
        let n = unsafe { libc::read(self.sfd.as_raw_fd(), buf.as_mut_ptr().cast(), BATCH * size) };
        if n < 0 {
            let e = nix::errno::Errno::last();
            if e != nix::errno::Errno::EINTR && e != nix::errno::Errno::EAGAIN {
                log::error!("reading signalfd: {e}");
            }
            return Batch::default();
        }
        let count = (n as usize / size).min(BATCH);
        let mut batch = Batch::default();
        for rec in &buf[..count] {
            // SAFETY: the first `count` records were written by the kernel.
            let info = unsafe { rec.assume_init_ref() };
            let rx = Received { sig: info.ssi_signo as SigNum, from: info.ssi_pid as i32 };
            if rx.sig == libc::SIGCHLD {
                batch.chld = true;
            } else if rx.from != self.own_pid {
                f(rx);
            }
        }
        if batch.chld {
            take_faults(f);
        }
        batch
    }
}

/// Hands the faults counted by the handler to `f`, each as often as it came.
fn take_faults(mut f: impl FnMut(Received)) {
    for sig in FAULTS {
        if let Some(c) = FAULTS_SENT.get(sig as usize) {
            for _ in 0..c.swap(0, Ordering::Relaxed) {
                f(Received { sig, from: 0 });
            }
        }
    }
}

/// Highest signal number the kernel knows (_NSIG - 1 on x86_64 and arm64).
pub(crate) const KERNEL_SIGMAX: i32 = 64;

/// Restores what a freshly exec'd program expects: default dispositions (Rust
/// sets SIGPIPE to SIG_IGN, a caller may have ignored others, and an ignored
/// disposition survives exec) and an empty signal mask.
///
/// `reset` lists the signals whose disposition is not SIG_DFL: the spawner reads
/// them once in podinit (a handful: its fault handlers, whatever its caller left
/// ignored) instead of the child resetting all 64 on every start.
///
/// Runs in the child between clone and exec, so it only makes raw system calls:
/// rt_sigaction because the libc refuses to touch the real-time signals it
/// reserves for itself (glibc 32-33, musl 32-34), which a caller may still have
/// left ignored; rt_sigprocmask so that none of them stays blocked either.
pub(crate) fn reset_for_exec(reset: &[SigNum]) {
    for &sig in reset {
        raw_sigaction(sig, Some(&SIG_DFL_ACTION), None);
    }
    raw_sigprocmask(0, None);
}

/// The kernel's `sigset_t` is 64 bits (the libc's is 128 bytes, which the raw
/// calls refuse with EINVAL); every raw call passes this as its size.
const KERNEL_SIGSET_BYTES: usize = std::mem::size_of::<u64>();

/// The kernel's `struct sigaction`: handler, flags, restorer, mask.
type KernelSigaction = [u64; 4];

/// All zero: SIG_DFL, no flags, an empty mask.
const SIG_DFL_ACTION: KernelSigaction = [0; 4];

/// rt_sigaction(2) itself: sets `new` if given, reads the current action into
/// `old` if given. Raw, because the libc refuses the real-time signals it
/// reserves, and async-signal-safe (the spawner's child calls it). Returns 0 or -1.
fn raw_sigaction(sig: SigNum, new: Option<&KernelSigaction>, old: Option<&mut KernelSigaction>) -> libc::c_long {
    let new = new.map_or(std::ptr::null(), |a| a.as_ptr());
    let old = old.map_or(std::ptr::null_mut(), |a| a.as_mut_ptr());
    // SAFETY: each pointer is null or a valid kernel sigaction the call may read
    // (`new`) or write (`old`) for its duration; the size is the kernel's sigset size.
    unsafe { libc::syscall(libc::SYS_rt_sigaction, sig, new, old, KERNEL_SIGSET_BYTES) }
}

/// rt_sigprocmask(2) with SIG_SETMASK: sets the mask to `set`, storing the one
/// before in `old` if given. Raw, for the same reasons as [`raw_sigaction`].
fn raw_sigprocmask(set: u64, old: Option<&mut u64>) {
    let old = old.map_or(std::ptr::null_mut(), |o| o as *mut u64);
    // SAFETY: `set` is a valid kernel sigset for the call's duration and `old`
    // is null or a writable one; SIG_SETMASK with these cannot fail.
    unsafe {
        libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_SETMASK, &set as *const u64, old, KERNEL_SIGSET_BYTES);
    }
}

/// The signals of `range` whose disposition is not SIG_DFL (a handler or
/// SIG_IGN), read with the raw system call (the libc hides its reserved
/// real-time signals). SIGKILL and SIGSTOP are always SIG_DFL.
pub(crate) fn not_default(range: std::ops::RangeInclusive<SigNum>) -> Vec<SigNum> {
    range
        .filter(|&sig| sig != libc::SIGKILL && sig != libc::SIGSTOP)
        .filter(|&sig| {
            let mut old = SIG_DFL_ACTION;
            // Unknown (error): count it as not default, so it gets reset.
            raw_sigaction(sig, None, Some(&mut old)) != 0 || old[0] != libc::SIG_DFL as u64
        })
        .collect()
}

/// Blocks every signal the kernel lets a process block and returns the mask
/// before (for [`restore_mask`]). Raw system call: the libc's wrapper leaves its
/// reserved real-time signals out.
pub(crate) fn block_all() -> u64 {
    let mut old = 0u64;
    raw_sigprocmask(!0, Some(&mut old));
    old
}

/// Puts back a mask saved by [`block_all`].
pub(crate) fn restore_mask(old: u64) {
    raw_sigprocmask(old, None);
}

/// Sets podinit's own dispositions of the standard signals to default, so a
/// signal its parent left ignored is still queued to the signalfd rather than
/// dropped, and returns the real-time signals that are not SIG_DFL (left ignored
/// by the caller, or the libc's own): children reset those before exec.
///
/// One raw rt_sigaction per signal (the kernel has no call for all of them):
/// with a new action it resets, without one it only reads. The real-time ones
/// are only read, because the libc may have a handler of its own on those it
/// reserves. The faults are skipped: setup() gives them a handler next.
fn reset_own_dispositions() -> Vec<SigNum> {
    for sig in 1..=31 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP || FAULTS.contains(&sig) {
            continue;
        }
        raw_sigaction(sig, Some(&SIG_DFL_ACTION), None);
    }
    not_default(32..=KERNEL_SIGMAX)
}

/// Set by [`setup`]: the signals whose disposition is not SIG_DFL.
static NOT_DEFAULT: OnceLock<Vec<SigNum>> = OnceLock::new();

/// The signals whose disposition in podinit is not SIG_DFL (its fault handlers,
/// the real-time signals its caller left ignored): the only ones a child has to
/// reset ([`reset_for_exec`]). Known since [`setup`], which is the last place
/// podinit changes a disposition; read from the kernel when setup never ran
/// (unit tests).
pub(crate) fn not_default_dispositions() -> &'static [SigNum] {
    NOT_DEFAULT.get_or_init(|| not_default(1..=KERNEL_SIGMAX))
}

/// `-p SIG`: podinit gets `sig` when its parent dies (PR_SET_PDEATHSIG). The
/// signal is blocked, so it arrives on the signalfd like any other: SIGTERM
/// stops the pod gracefully. If the parent dies between the look at it and
/// the setting, the kernel would never send it: podinit sends it to itself.
/// (A parent gone before podinit got this far is not seen: tini has the same
/// window, from exec to here.)
pub(crate) fn on_parent_death(sig: Option<SigNum>) {
    let Some(sig) = sig else { return };
    // SAFETY: getppid, prctl and kill with integer arguments.
    unsafe {
        let before = libc::getppid();
        if libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) != 0 {
            log::warn!("-p {}: {}", name(sig), nix::errno::Errno::last());
            return;
        }
        if libc::getppid() != before {
            libc::kill(libc::getpid(), sig);
        }
    }
}

/// Sends `sig` to `pid` (negative: a process group). ESRCH is not an error: the
/// target has exited and is waiting to be reaped, or is gone.
pub(crate) fn send(pid: i32, sig: SigNum) -> nix::Result<()> {
    // SAFETY: kill(2) takes plain integers; nix's kill() cannot express real-time signals.
    let r = unsafe { libc::kill(pid, sig) };
    match nix::errno::Errno::result(r) {
        Ok(_) | Err(nix::errno::Errno::ESRCH) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_numbers_and_realtime() {
        assert_eq!(parse("SIGTERM"), Ok(libc::SIGTERM));
        assert_eq!(parse("term"), Ok(libc::SIGTERM));
        assert_eq!(parse("Hup"), Ok(libc::SIGHUP));
        assert_eq!(parse("9"), Ok(libc::SIGKILL));
        assert_eq!(parse("SIGRTMIN"), Ok(sigrtmin()));
        assert_eq!(parse("RTMIN+2"), Ok(sigrtmin() + 2));
        assert_eq!(parse("SIGRTMAX-1"), Ok(sigrtmax() - 1));
        assert_eq!(parse("SIGSYS"), Ok(libc::SIGSYS));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "SIGFOO",
            "0",
            "-1",
            "65",
            "RTMIN+99",
            "RTMAX-99",
            "RTMIN2",
            "SIG",
            "RTMAX--2147483648",
            "RTMIN+-1",
            "RTMIN+2147483647",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
        assert!(parse("SIGFOO").unwrap_err().to_string().contains("SIGFOO"));
    }

    #[test]
    fn names_round_trip() {
        for sig in 1..=sigrtmax() {
            if (32..sigrtmin()).contains(&sig) {
                continue;
            }
            assert_eq!(parse(&name(sig)), Ok(sig), "{}", name(sig));
        }
    }

    #[test]
    fn forwardable_set() {
        assert!(is_forwardable(libc::SIGTERM));
        assert!(is_forwardable(libc::SIGTSTP));
        assert!(is_forwardable(sigrtmin()));
        assert!(!is_forwardable(libc::SIGCHLD));
        assert!(!is_forwardable(libc::SIGKILL));
        assert!(!is_forwardable(libc::SIGSTOP));
    }
}
