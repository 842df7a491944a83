//! The pod dies with podinit, also when podinit is not PID 1.
//!
//! As PID 1 of a PID namespace podinit needs nothing: when it dies the kernel
//! kills every process of the namespace. Anywhere else (a test script, a host
//! shell, a container whose PID 1 is something else) a `kill -KILL` of podinit,
//! or of its caller's process group, would leave the pod running, re-parented,
//! holding its ports. Two mechanisms close that:
//!
//! - every child gets PR_SET_PDEATHSIG = SIGKILL ([`crate::sys::spawn::Command::die_with_parent`]):
//!   the kernel kills the entry, hook or probe itself when podinit dies;
//! - a guard process, started here, kills the *process groups* of those
//!   children: the entry's own children (a shell's background jobs, a server's
//!   workers) are in its group, which PDEATHSIG does not reach.
//!
//! The guard is a forked copy of podinit, detached (double fork, so it is not
//! podinit's child and no sweep or reap of podinit sees it; setsid, so a
//! signal to the caller's process group does not reach it), with no fds but
//! the read end of a pipe whose write end only podinit holds (close-on-exec).
//! It sleeps in read(2); EOF means podinit is gone, however it ended. It then
//! reads the process groups podinit listed in a shared page and SIGKILLs each,
//! unless podinit marked its own exit as an orderly one ([`disarm`]).
//!
//! The list costs podinit no system call per start: a store into the shared
//! page at spawn ([`track`]), a clear when the group's leader is reaped and the
//! group is empty ([`reaped`], one kill(2) with signal 0).
//!
//! Limits: a process that left its entry's process group (setsid, setpgid: a
//! daemon, a shell with job control) is not in any listed group and survives.
//! When the guard is killed along with podinit, only PDEATHSIG is left: the
//! entries, hooks and probes themselves die, their own children do not. An
//! entry that exec'd a set-user-ID program loses PDEATHSIG (the kernel clears
//! it); the guard still kills its group. The pid a listed group had could be
//! reused only after the group emptied and the pid counter wrapped around
//! between two reaps: the list is cleared at every reap that finds it empty.
//!
//! podinit is single-threaded, which PDEATHSIG needs: the kernel sends it
//! when the *thread* that forked the child exits, which is podinit's only one.

use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicUsize, Ordering};

use nix::errno::Errno;

/// `table[0]`: [`ARMED`] or [`DISARMED`]; then one slot per process group:
/// 0 free, `pgid` while the leader runs, `-pgid` once the leader was reaped
/// and members were still left (rechecked at every later reap).
static TABLE: AtomicPtr<AtomicI32> = AtomicPtr::new(std::ptr::null_mut());
/// Slots in TABLE, the state word included; 0 when there is no guard.
static LEN: AtomicUsize = AtomicUsize::new(0);
/// How many slots hold a lingering (negative) group, so a reap with none
/// left does not scan for them.
static LINGERING: AtomicUsize = AtomicUsize::new(0);

const ARMED: i32 = 1;
const DISARMED: i32 = 2;

/// The table, when a guard runs.
fn table() -> Option<&'static [AtomicI32]> {
    let ptr = TABLE.load(Ordering::Relaxed);
    let len = LEN.load(Ordering::Relaxed);
    if ptr.is_null() || len == 0 {
        return None;
    }
    // SAFETY: `start` mapped `len` zero-filled i32 slots at `ptr` and never
    // unmaps them; AtomicI32 has the layout of i32.
    Some(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Starts the guard, with room for `groups` process groups at once (one page
/// at least). Call before podinit becomes a subreaper (the guard must not be
/// re-parented to podinit) and before the first spawn.
pub(crate) fn start(groups: usize) -> Result<(), Errno> {
    if table().is_some() {
        return Ok(());
    }
    // SAFETY: sysconf with a valid name.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096).max(4096);
    let bytes = (groups + 1).saturating_mul(4).div_ceil(page).max(1) * page;
    // SAFETY: an anonymous shared mapping, no fd, no fixed address.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            bytes,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(Errno::last());
    }
    let mut fds = [0; 2];
    // SAFETY: a two-int buffer for pipe2.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        let e = Errno::last();
        // SAFETY: unmapping what was just mapped.
        unsafe { libc::munmap(ptr, bytes) };
        return Err(e);
    }
    let (read_end, write_end) = (fds[0], fds[1]);
    let slots = ptr.cast::<AtomicI32>();
    // SAFETY: the first slot of the fresh, zeroed mapping.
    unsafe { (*slots).store(ARMED, Ordering::Relaxed) };
    let len = bytes / 4;
    // SAFETY: podinit is single-threaded, so the forked child may run any code;
    // the child only makes system calls and never returns.
    let middle = unsafe { libc::fork() };
    if middle == 0 {
        // The middle process: fork the guard and exit, so the guard is
        // re-parented away from podinit.
        // SAFETY: as above.
        let guard = unsafe { libc::fork() };
        if guard == 0 {
            // SAFETY: the mapping stays valid in the child.
            let table = unsafe { std::slice::from_raw_parts(slots, len) };
            guard_main(read_end, table);
        }
        // SAFETY: _exit skips the parent's atexit handlers and buffers.
        unsafe { libc::_exit(if guard > 0 { 0 } else { 1 }) };
    }
    // SAFETY: closing our copy of the read end: only the guard holds it.
    unsafe { libc::close(read_end) };
    let failed = if middle < 0 {
        Some(Errno::last())
    } else {
        match crate::sys::reaper::wait_one(middle) {
            Some(crate::sys::reaper::ExitStatus::Code(0)) => None,
            _ => Some(Errno::EAGAIN),
        }
    };
    if let Some(e) = failed {
        // SAFETY: closing the write end and unmapping what was mapped here.
        unsafe {
            libc::close(write_end);
            libc::munmap(ptr, bytes);
        }
        return Err(e);
    }
    // The write end stays open (close-on-exec) until podinit exits.
    TABLE.store(slots, Ordering::Relaxed);
    LEN.store(len, Ordering::Relaxed);
    Ok(())
}

/// The guard: waits for EOF on `fd`, then SIGKILLs every listed group unless
/// podinit disarmed it. Never returns.
fn guard_main(fd: libc::c_int, table: &[AtomicI32]) -> ! {
    // SAFETY: plain system calls on integers and static C strings.
    unsafe {
        libc::setsid();
        libc::prctl(libc::PR_SET_NAME, c"podinit-guard".as_ptr(), 0, 0, 0);
        // No fd of podinit's: a caller reading podinit's output must see EOF
        // when podinit exits, and the control socket and log pipes are not ours.
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        for std_fd in 0..3 {
            if null >= 0 && null != std_fd {
                libc::dup2(null, std_fd);
            }
        }
        let fd = if fd == 3 || libc::dup2(fd, 3) == 3 { 3 } else { fd };
        if libc::syscall(libc::SYS_close_range, fd + 1, libc::c_uint::MAX, 0) != 0 {
            // Kernels before 5.9: one close per possible fd.
            let max = libc::sysconf(libc::_SC_OPEN_MAX).clamp(64, 65536) as libc::c_int;
            (fd + 1..max).for_each(|other| {
                libc::close(other);
            });
        }
        (3..fd).for_each(|other| {
            libc::close(other);
        });
        // Do not keep a file system busy.
        libc::chdir(c"/".as_ptr());
        // Every signal but the faults is blocked (inherited from podinit):
        // Ctrl-C, SIGHUP and the like do not end the guard early.
        let mut b = 0u8;
        loop {
            let r = libc::read(fd, (&mut b as *mut u8).cast(), 1);
            if r < 0 && Errno::last() == Errno::EINTR {
                continue;
            }
            break;
        }
        if table[0].load(Ordering::SeqCst) == ARMED {
            for slot in &table[1..] {
                let pgid = slot.load(Ordering::SeqCst);
                if pgid != 0 {
                    libc::kill(-pgid.abs(), libc::SIGKILL);
                }
            }
        }
        libc::_exit(0)
    }
}

/// Lists `pid`'s process group (spawn puts every child in a group of its own,
/// pgid = pid). No effect without a guard; a full table only costs the
/// grandchildren's coverage.
pub(crate) fn track(pid: i32) {
    let Some(t) = table() else { return };
    match t[1..].iter().find(|s| s.load(Ordering::Relaxed) == 0) {
        Some(slot) => slot.store(pid, Ordering::SeqCst),
        None => log::debug!("guard: no free slot for process group {pid}"),
    }
}

/// After a child was reaped: its group leaves the list once it is empty;
/// groups whose leader went earlier are looked at again.
pub(crate) fn reaped(pid: i32) {
    let Some(t) = table() else { return };
    if let Some(slot) = t[1..].iter().find(|s| s.load(Ordering::Relaxed) == pid) {
        if group_alive(pid) {
            slot.store(-pid, Ordering::SeqCst);
            LINGERING.fetch_add(1, Ordering::Relaxed);
        } else {
            slot.store(0, Ordering::SeqCst);
        }
    }
    if LINGERING.load(Ordering::Relaxed) == 0 {
        return;
    }
    for slot in &t[1..] {
        let v = slot.load(Ordering::Relaxed);
        if v < 0 && !group_alive(-v) {
            slot.store(0, Ordering::SeqCst);
            LINGERING.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// True while process group `pgid` has a member (zombies count until reaped).
fn group_alive(pgid: i32) -> bool {
    // SAFETY: kill(2) with signal 0 only checks.
    let r = unsafe { libc::kill(-pgid, 0) };
    r == 0 || Errno::last() != Errno::ESRCH
}

/// podinit ends in order (the pod was stopped): the guard exits without
/// killing anything when podinit's exit closes the pipe.
pub(crate) fn disarm() {
    if let Some(t) = table() {
        t[0].store(DISARMED, Ordering::SeqCst);
    }
}
