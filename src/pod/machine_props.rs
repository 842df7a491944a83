//! Property test of the pure machine: random pods (every probe kind on apps
//! and sidecars, hooks, waiters, step timeouts, back-off, stopped entries,
//! deadlines) fed random events (spawn outcomes, exits, probe results,
//! signals, control requests, ticks at random times). After every event the
//! runtime ticks when the machine's deadline has come, as the event loop
//! does; after that tick the deadline must be in the future (or there is
//! none). A deadline that stays in the past after a tick is the event loop
//! woken again at once, forever: PID 1 spinning.
//!
//! A seeded generator rather than a crate: the cases are cheap to build, and a
//! failure prints its seed; `PODINIT_PROP_SEED=N cargo test machine_props`
//! replays it (with the event trace).

use std::time::{Duration, Instant};

use crate::config::{Entry, Kind, Probe, ProbeAction, RestartPolicy, WaitFor, WaitTarget};
use crate::pod::machine::{Effect, Event, Flavor, PodMachine, Settings, SpawnFailure};
use crate::pod::probe::{Outcome, ProbeKind};
use crate::pod::protocol::Request;
use crate::pod::unit::{State, Unit, UnitId};
use crate::sys::reaper::ExitStatus;

/// xorshift64*: small, seedable, good enough to explore.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn ms(&mut self, max: u64) -> Duration {
        Duration::from_millis(self.below(max + 1))
    }
}

fn random_probe(r: &mut Rng) -> Option<Probe> {
    if !r.chance(40) {
        return None;
    }
    let action = match r.below(3) {
        0 => ProbeAction::Exec(vec!["true".into()]),
        1 => ProbeAction::Tcp("127.0.0.1:1".into()),
        _ => ProbeAction::Http("http://127.0.0.1:1/".into()),
    };
    Some(Probe {
        action,
        initial_delay: if r.chance(50) { Duration::ZERO } else { r.ms(3000) },
        period: Duration::from_millis(100 + r.below(2000)),
        timeout: Duration::from_millis(100 + r.below(1000)),
        success_threshold: 1 + r.below(2) as u32,
        failure_threshold: 1 + r.below(3) as u32,
    })
}

fn random_entry(r: &mut Rng, i: usize, kind: Kind) -> Entry {
    let mut e = Entry { name: format!("e{i}"), command: vec![format!("e{i}")], ..Entry::defaults(kind) };
    match kind {
        Kind::Init => {
            if r.chance(25) {
                e.command.clear();
                e.wait_for = Some(WaitFor {
                    target: WaitTarget::Tcp("127.0.0.1:1".into()),
                    timeout: r.chance(50).then(|| r.ms(5000)),
                    period: Duration::from_millis(50 + r.below(1000)),
                });
            } else if r.chance(30) {
                e.timeout = Some(r.ms(5000));
            }
            e.once = r.chance(50);
        }
        Kind::Sidecar | Kind::App => {
            e.startup_probe = random_probe(r);
            e.readiness_probe = random_probe(r);
            e.liveness_probe = random_probe(r);
            if r.chance(25) {
                e.post_start = Some(vec!["post".into()]);
            }
            if r.chance(25) {
                e.pre_stop = Some(vec!["pre".into()]);
            }
            e.essential = kind == Kind::App && r.chance(15);
        }
    }
    e
}

/// A random pod: init steps and sidecars first, then apps.
fn random_pod(r: &mut Rng, t0: Instant) -> PodMachine {
    let (flavor, entries) = match r.below(10) {
        0 => (Flavor::Pause, Vec::new()),
        1 => (
            Flavor::Init { kill_group: r.chance(50), remap_to_zero: vec![], warn_reaped: false },
            vec![random_entry(r, 0, Kind::App)],
        ),
        _ => {
            let n_init = r.below(4) as usize;
            let n_app = 1 + r.below(3) as usize;
            let mut v = Vec::new();
            for i in 0..n_init {
                let kind = if r.chance(40) { Kind::Sidecar } else { Kind::Init };
                v.push(random_entry(r, i, kind));
            }
            for i in n_init..n_init + n_app {
                v.push(random_entry(r, i, Kind::App));
            }
            (Flavor::Pod, v)
        }
    };
    let mut settings = Settings::without_files("p", Duration::from_millis(100 + r.below(5000)), 1, 1_000_000);
    settings.restart_policy = match r.below(3) {
        0 => RestartPolicy::Always,
        1 => RestartPolicy::OnFailure,
        _ => RestartPolicy::Never,
    };
    settings.status_file = r.chance(70);
    settings.active_deadline = r.chance(20).then(|| Duration::from_secs(1 + r.below(60)));
    let units = entries.into_iter().map(|e| Unit::new(e, "h".into(), r.chance(30), t0)).collect();
    PodMachine::new(flavor, settings, units, t0)
}

/// Plays a runtime that answers at random.
struct World {
    rng: Rng,
    pod: PodMachine,
    now: Instant,
    next_pid: i32,
    /// Pids the machine believes alive (entries and hooks) plus strangers.
    alive: Vec<i32>,
    /// Probe attempts handed out and not answered.
    in_flight: Vec<(UnitId, ProbeKind)>,
    trace: Vec<String>,
}

impl World {
    /// Feeds `ev` and the follow-ups the runtime would queue.
    fn feed(&mut self, ev: Event) {
        let mut queue = vec![ev];
        while let Some(ev) = queue.pop() {
            self.trace.push(format!("{:?} {:?}", self.now, ev));
            let mut out = Vec::new();
            let _ = self.pod.handle(ev, self.now, &mut out);
            for e in out {
                match e {
                    Effect::Spawn { unit, proc } => {
                        let result = if self.rng.chance(8) {
                            Err(SpawnFailure { code: 127, message: "x: not found".into() })
                        } else {
                            self.next_pid += 1;
                            self.alive.push(self.next_pid);
                            Ok(self.next_pid)
                        };
                        queue.insert(0, Event::Spawned { unit, proc, result });
                    }
                    Effect::Probe { unit, kind } => self.in_flight.push((unit, kind)),
                    Effect::CancelProbes { unit } => self.in_flight.retain(|&(u, _)| u != unit),
                    Effect::SignalRest { .. } if self.rng.chance(50) => queue.insert(0, Event::NoChildren),
                    _ => {}
                }
            }
        }
    }

    /// One random event, at a random later time.
    fn step(&mut self) {
        if self.rng.chance(60) {
            let max = if self.rng.chance(10) { 20_000 } else { 1500 };
            self.now += self.rng.ms(max);
        }
        let names: Vec<String> = self.pod.units().iter().map(|u| u.spec.name.clone()).collect();
        let ev = match self.rng.below(9) {
            0 | 1 => Event::Tick,
            2 if !self.alive.is_empty() => {
                let i = self.rng.below(self.alive.len() as u64) as usize;
                let pid = self.alive.swap_remove(i);
                let status = match self.rng.below(3) {
                    0 => ExitStatus::Code(0),
                    1 => ExitStatus::Code(1 + self.rng.below(3) as i32),
                    _ => ExitStatus::Signal(if self.rng.chance(50) { libc::SIGKILL } else { libc::SIGTERM }),
                };
                Event::Exited { pid, status }
            }
            3 | 4 if !self.in_flight.is_empty() => {
                let i = self.rng.below(self.in_flight.len() as u64) as usize;
                let (unit, kind) = self.in_flight.swap_remove(i);
                let ok = self.rng.chance(60);
                Event::Probed(Outcome { unit, kind, ok, why: if ok { String::new() } else { "no".into() } })
            }
            5 => {
                let sig = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGUSR1][self.rng.below(4) as usize];
                Event::Signal { sig, from: 0 }
            }
            6 if !names.is_empty() => {
                let name = names[self.rng.below(names.len() as u64) as usize].clone();
                let req = match self.rng.below(5) {
                    0 => Request::Restart(name),
                    1 => Request::Stop(name),
                    2 => Request::Start(name),
                    3 => Request::Kill(name, libc::SIGUSR1),
                    _ => Request::Status,
                };
                Event::Control { conn: self.rng.below(4), req }
            }
            7 => {
                // A stranger's orphan.
                self.next_pid += 1;
                Event::Exited { pid: self.next_pid, status: ExitStatus::Code(0) }
            }
            _ => Event::Tick,
        };
        self.feed(ev);
        // The event loop: when the deadline has come, tick.
        if self.pod.deadline().is_some_and(|d| d <= self.now) {
            self.feed(Event::Tick);
        }
    }

    /// The invariant; `Err` describes the violation.
    fn check(&self) -> Result<(), String> {
        match self.pod.deadline() {
            Some(d) if d <= self.now => {
                let mut due = Vec::new();
                self.pod.timers(|t, at| {
                    if at <= self.now {
                        due.push(t);
                    }
                });
                Err(format!("deadline in the past after a tick: due {due:?}"))
            }
            _ => Ok(()),
        }
    }
}

/// Runs case `seed`; `Err` has the violation and the trace.
fn run_case(seed: u64, steps: usize) -> Result<(), String> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let t0 = Instant::now();
    let pod = random_pod(&mut rng, t0);
    let mut w = World { rng, pod, now: t0, next_pid: 100, alive: Vec::new(), in_flight: Vec::new(), trace: Vec::new() };
    w.feed(Event::Tick);
    for _ in 0..steps {
        if let Err(e) = w.check() {
            let units: Vec<(&str, &State)> = w.pod.units().iter().map(|u| (u.name(), &u.state)).collect();
            return Err(format!("{e}\nunits: {units:#?}\ntrace:\n  {}", w.trace.join("\n  ")));
        }
        w.step();
    }
    Ok(())
}

#[test]
fn a_tick_always_leaves_the_deadline_in_the_future() {
    if let Some(seed) = std::env::var("PODINIT_PROP_SEED").ok().and_then(|s| s.parse().ok()) {
        if let Err(e) = run_case(seed, 400) {
            panic!("seed {seed}: {e}");
        }
        return;
    }
    for seed in 0..3000u64 {
        if let Err(e) = run_case(seed, 200) {
            // The trace can be long: the first lines say what went wrong.
            let short: String = e.lines().take(60).collect::<Vec<_>>().join("\n");
            panic!("seed {seed} (replay: PODINIT_PROP_SEED={seed} cargo test machine_props): {short}");
        }
    }
}
