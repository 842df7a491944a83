//! The Kubernetes lifecycle rules of [`crate::pod::machine`], as tables.
//!
//! No root, no processes, no clock: a [`Harness`] plays the runtime, answering
//! every `Spawn` with a made-up pid (or a failure when told to), and moves a
//! fake clock forward. Each table row is one case; the shell suites keep what
//! only the kernel can show (signals, reaping, PID namespaces).

use std::time::{Duration, Instant};

use crate::config::{Entry, Kind, Probe, ProbeAction, RestartPolicy, WaitFor, WaitTarget};
use crate::pod::machine::{Effect, Event, Flavor, PodMachine, Proc, Settings, SpawnFailure, Stage, DEADLINE_EXIT};
use crate::pod::probe::{Outcome, ProbeKind};
use crate::pod::protocol::{Reply, Request};
use crate::pod::status::EntryState;
use crate::pod::unit::{HookKind, Reason, State, Unit, UnitId};
use crate::sys::event_loop::Change;
use crate::sys::reaper::ExitStatus;

const TERM: i32 = libc::SIGTERM;
const KILL: i32 = libc::SIGKILL;
const PODINIT_PID: u32 = 1;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn entry(kind: Kind, name: &str) -> Entry {
    Entry { name: name.into(), command: vec![name.into()], ..Entry::defaults(kind) }
}
fn init(name: &str) -> Entry {
    entry(Kind::Init, name)
}
fn app(name: &str) -> Entry {
    entry(Kind::App, name)
}
fn sidecar(name: &str) -> Entry {
    entry(Kind::Sidecar, name)
}
fn probe(success: u32, failure: u32) -> Probe {
    Probe {
        action: ProbeAction::Tcp("127.0.0.1:1".into()),
        initial_delay: Duration::ZERO,
        period: secs(10),
        timeout: secs(1),
        success_threshold: success,
        failure_threshold: failure,
    }
}

/// Plays the runtime for one machine.
struct Harness {
    pod: PodMachine,
    t0: Instant,
    now: Instant,
    next_pid: i32,
    /// Every effect so far, in order.
    log: Vec<Effect>,
    /// (unit name, process) whose spawn fails with 127.
    fail_spawn: Vec<(String, Proc)>,
    /// Processes besides the entries are alive (the final sweep finds someone).
    others: bool,
    exit: Option<i32>,
    /// What the last fed event (not its follow-ups) did to the machine.
    change: Option<Change>,
}

impl Harness {
    fn pod(flavor: Flavor, policy: RestartPolicy, grace: u64, entries: Vec<Entry>) -> Harness {
        let t0 = Instant::now();
        let mut settings = Settings::without_files("web", secs(grace), PODINIT_PID, 1_000_000);
        settings.restart_policy = policy;
        settings.status_file = true;
        let units = entries.into_iter().map(|e| Unit::new(e, "hash".into(), false, t0)).collect();
        Harness {
            pod: PodMachine::new(flavor, settings, units, t0),
            t0,
            now: t0,
            next_pid: 100,
            log: Vec::new(),
            fail_spawn: Vec::new(),
            others: false,
            exit: None,
            change: None,
        }
    }

    fn new(policy: RestartPolicy, entries: Vec<Entry>) -> Harness {
        Harness::pod(Flavor::Pod, policy, 30, entries)
    }

    /// Feeds `ev` and answers what needs an answer; returns this event's effects.
    fn feed(&mut self, ev: Event) -> Vec<Effect> {
        let mut queue = vec![ev];
        let mut all = Vec::new();
        self.change = None;
        while !queue.is_empty() {
            let ev = queue.remove(0);
            let mut out = Vec::new();
            let change = self.pod.handle(ev, self.now, &mut out);
            self.change.get_or_insert(change);
            for e in &out {
                match *e {
                    Effect::Spawn { unit, proc } => {
                        let name = self.pod.units()[unit].spec.name.clone();
                        let result = if self.fail_spawn.contains(&(name.clone(), proc)) {
                            Err(SpawnFailure { code: 127, message: format!("{name}: not found") })
                        } else {
                            self.next_pid += 1;
                            Ok(self.next_pid)
                        };
                        queue.push(Event::Spawned { unit, proc, result });
                    }
                    Effect::SignalRest { .. } if !self.others => queue.push(Event::NoChildren),
                    Effect::Exit { code } => self.exit = Some(code),
                    _ => {}
                }
            }
            all.extend(out);
        }
        self.log.extend(all.iter().cloned());
        all
    }

    fn tick(&mut self) -> Vec<Effect> {
        self.feed(Event::Tick)
    }

    /// Moves the clock to `t0 + s` and ticks.
    fn at(&mut self, s: u64) -> Vec<Effect> {
        self.now = self.t0 + secs(s);
        self.tick()
    }

    fn at_ms(&mut self, ms: u64) -> Vec<Effect> {
        self.now = self.t0 + Duration::from_millis(ms);
        self.tick()
    }

    fn unit(&self, name: &str) -> &Unit {
        self.pod.units().iter().find(|u| u.spec.name == name).expect("no such unit")
    }

    fn id(&self, name: &str) -> UnitId {
        self.pod.units().position(|u| u.spec.name == name).expect("no such unit")
    }

    fn pid(&self, name: &str) -> i32 {
        self.unit(name).pid().unwrap_or_else(|| panic!("{name} is not running: {:?}", self.unit(name).state))
    }

    fn hook_pid(&self, name: &str) -> i32 {
        self.unit(name).run().and_then(|r| r.hook).and_then(|h| h.pid).unwrap_or_else(|| panic!("{name} has no hook"))
    }

    /// Marks `name` as restarted once already, so its next crash backs off
    /// (the kubelet restarts a first crash at once).
    fn backing_off(&mut self, name: &str) {
        let i = self.id(name);
        self.pod.units[i].delay = self.pod.settings.backoff.initial;
    }

    fn exit_code(&mut self, name: &str, code: i32) -> Vec<Effect> {
        let pid = self.pid(name);
        self.feed(Event::Exited { pid, status: ExitStatus::Code(code) })
    }

    fn killed(&mut self, name: &str, sig: i32) -> Vec<Effect> {
        let pid = self.pid(name);
        self.feed(Event::Exited { pid, status: ExitStatus::Signal(sig) })
    }

    fn signal(&mut self, sig: i32) -> Vec<Effect> {
        self.feed(Event::Signal { sig, from: 0 })
    }

    /// Ticks (the runtime does after every event, which starts a due attempt),
    /// then reports the outcome of `name`'s `kind` attempt.
    fn probe(&mut self, name: &str, kind: ProbeKind, ok: bool) -> Vec<Effect> {
        let unit = self.id(name);
        let mut effects = self.tick();
        effects.extend(self.outcome(unit, kind, ok));
        effects
    }

    /// Reports an attempt's outcome, without a tick before it.
    fn outcome(&mut self, unit: UnitId, kind: ProbeKind, ok: bool) -> Vec<Effect> {
        self.feed(Event::Probed(Outcome { unit, kind, ok, why: if ok { String::new() } else { "refused".into() } }))
    }

    fn running(&self, name: &str) -> bool {
        self.unit(name).pid().is_some()
    }

    fn label(&self) -> String {
        self.pod.status_word()
    }

    fn spawned(effects: &[Effect]) -> usize {
        effects.iter().filter(|e| matches!(e, Effect::Spawn { proc: Proc::Main, .. })).count()
    }
}

fn kills(effects: &[Effect]) -> Vec<(i32, i32)> {
    effects
        .iter()
        .filter_map(|e| if let Effect::Kill { target, sig } = e { Some((target.raw(), *sig)) } else { None })
        .collect()
}

fn replies(effects: &[Effect]) -> Vec<Reply> {
    effects
        .iter()
        .filter_map(|e| if let Effect::Reply { reply, .. } = e { Some(reply.clone()) } else { None })
        .collect()
}

// --- init steps ----------------------------------------------------------------

#[test]
fn init_steps_run_one_at_a_time_in_file_order() {
    let mut h = Harness::new(RestartPolicy::Always, vec![init("a"), init("b"), init("c"), app("web")]);
    h.tick();
    // (what just finished, which entries run afterwards)
    let table: &[(&str, &[&str])] = &[("a", &["b"]), ("b", &["c"]), ("c", &["web"])];
    assert!(h.running("a") && !h.running("b"));
    assert_eq!(h.label(), "Init:0/3");
    for (done, now_running) in table {
        h.exit_code(done, 0);
        for name in ["a", "b", "c", "web"] {
            assert_eq!(h.running(name), now_running.contains(&name), "after {done}: {name}");
        }
    }
    assert_eq!(h.label(), "Running");
}

#[test]
fn marker_rules() {
    // (once, wait_for, marker already matched, skipped, marker written on success)
    let table = [
        (true, false, true, true, false),
        (true, false, false, false, true),
        (false, false, true, false, false),
        (false, false, false, false, false),
        (true, true, true, false, false),
    ];
    for (once, waiter, matched, skipped, written) in table {
        let mut e = init("step");
        e.once = once;
        if waiter {
            e.command.clear();
            e.wait_for = Some(WaitFor { target: WaitTarget::File("/x".into()), timeout: None, period: secs(1) });
        }
        let mut h = Harness::new(RestartPolicy::Always, vec![e, app("web")]);
        h.pod.units[UnitId::new(0)].marker_done = matched;
        h.tick();
        let case = format!("once={once} waiter={waiter} matched={matched}");
        assert_eq!(h.unit("step").state == State::Skipped, skipped, "{case}");
        if !skipped {
            if waiter {
                h.probe("step", ProbeKind::Wait, true);
            } else {
                h.exit_code("step", 0);
            }
        }
        assert!(h.running("web"), "{case}");
        let wrote = h.log.iter().any(|e| *e == Effect::WriteMarker { unit: UnitId::new(0) });
        assert_eq!(wrote, written, "{case}");
    }
}

#[test]
fn failed_init_step_restarts_at_once_then_backs_off_10s_doubling_to_300s() {
    let mut h = Harness::new(RestartPolicy::Always, vec![init("flaky"), app("web")]);
    h.tick();
    // The first failure is restarted at once (the kubelet's doBackOff finds no back-off yet).
    assert_eq!(Harness::spawned(&h.exit_code("flaky", 1)), 1, "first crash: restarted at once");
    assert!(h.running("flaky"));
    assert_eq!(h.label(), "Init:0/1");
    let mut t = 0;
    // Each later failure waits this long before the next attempt.
    for delay in [10, 20, 40, 80, 160, 300, 300] {
        h.exit_code("flaky", 1);
        assert_eq!(h.unit("flaky").state, State::BackOff { until: h.t0 + secs(t + delay) }, "delay {delay}");
        assert_eq!(h.label(), "Init:CrashLoopBackOff");
        assert_eq!(Harness::spawned(&h.at(t + delay - 1)), 0, "not before {delay}s");
        t += delay;
        assert_eq!(Harness::spawned(&h.at(t)), 1, "restarted after {delay}s");
    }
    assert_eq!(h.unit("flaky").restarts, 8);
    h.exit_code("flaky", 0);
    assert!(h.running("web"));
}

#[test]
fn back_off_resets_after_ten_minutes_of_running() {
    // (seconds the crash-looping app ran before its next crash, delay that follows; 0: at once)
    let table = [(1, 0), (1, 10), (1, 20), (599, 40), (600, 0), (5, 10), (5, 20), (700, 0), (0, 10)];
    let mut h = Harness::new(RestartPolicy::Always, vec![app("web")]);
    h.tick();
    let mut t = 0;
    for (ran, want) in table {
        t += ran;
        h.now = h.t0 + secs(t);
        let effects = h.exit_code("web", 1);
        if want == 0 {
            assert_eq!(Harness::spawned(&effects), 1, "ran {ran}s: restarted at once");
            continue;
        }
        assert_eq!(h.unit("web").state, State::BackOff { until: h.t0 + secs(t + want) }, "ran {ran}s");
        t += want;
        h.at(t);
        assert!(h.running("web"));
    }
}

#[test]
fn back_off_curve_is_configurable() {
    // backoff = { initial = "1s", max = "4s" }: at once, 1, 2, 4, 4.
    let mut h = Harness::new(RestartPolicy::Always, vec![app("web")]);
    h.pod.settings.backoff = crate::config::Backoff { initial: secs(1), max: secs(4) };
    h.tick();
    let mut t = 0;
    for want in [0, 1, 2, 4, 4] {
        let effects = h.exit_code("web", 1);
        if want == 0 {
            assert_eq!(Harness::spawned(&effects), 1);
            continue;
        }
        assert_eq!(h.unit("web").state, State::BackOff { until: h.t0 + secs(t + want) }, "delay {want}");
        t += want;
        h.at(t);
    }
    assert_eq!(h.unit("web").restarts, 5);
}

#[test]
fn init_step_failure_under_never_fails_the_pod_with_its_status() {
    // (how the step ended, podinit's exit code)
    let table = [(ExitStatus::Code(3), 3), (ExitStatus::Signal(9), 137), (ExitStatus::Code(255), 255)];
    for (status, code) in table {
        let mut h = Harness::new(RestartPolicy::Never, vec![init("setup"), app("web")]);
        h.tick();
        let pid = h.pid("setup");
        h.feed(Event::Exited { pid, status });
        assert_eq!(h.exit, Some(code), "{status:?}");
        assert_eq!(h.label(), "Init:Error");
        assert!(!h.running("web") && h.unit("web").state == State::Waiting, "web never starts");
    }
}

#[test]
fn init_step_that_cannot_start_counts_as_failed() {
    let mut h = Harness::new(RestartPolicy::Never, vec![init("setup"), app("web")]);
    h.fail_spawn.push(("setup".into(), Proc::Main));
    h.tick();
    assert_eq!(h.exit, Some(127));
    assert_eq!(h.unit("setup").last_exit, Some((ExitStatus::Code(127), Reason::StartFailed)));
}

#[test]
fn init_step_timeout_kills_its_group_and_fails() {
    let mut e = init("slow");
    e.timeout = Some(secs(5));
    let mut h = Harness::new(RestartPolicy::OnFailure, vec![e, app("web")]);
    h.tick();
    let pid = h.pid("slow");
    assert!(kills(&h.at(4)).is_empty());
    assert_eq!(kills(&h.at(5)), vec![(-pid, KILL)]);
    h.killed("slow", KILL);
    assert_eq!(h.unit("slow").last_exit, Some((ExitStatus::Signal(KILL), Reason::Timeout)));
    assert!(h.running("slow"), "a first failure is retried at once");
    assert_eq!(h.unit("slow").restarts, 1);
}

#[test]
fn waiter_polls_until_its_target_answers_or_gives_up() {
    let wait = |timeout| {
        let mut e = init("db");
        e.command.clear();
        e.wait_for = Some(WaitFor { target: WaitTarget::Tcp("127.0.0.1:5432".into()), timeout, period: secs(1) });
        e
    };
    // Answers after two refusals.
    let mut h = Harness::new(RestartPolicy::Never, vec![wait(None), app("web")]);
    let first = h.tick();
    assert!(first.contains(&Effect::Probe { unit: UnitId::new(0), kind: ProbeKind::Wait }));
    h.probe("db", ProbeKind::Wait, false);
    assert!(h.at(1).contains(&Effect::Probe { unit: UnitId::new(0), kind: ProbeKind::Wait }));
    h.probe("db", ProbeKind::Wait, false);
    h.at(2);
    h.probe("db", ProbeKind::Wait, true);
    assert_eq!(
        h.unit("db").state,
        State::Terminated { status: ExitStatus::Code(0), reason: Reason::Completed, held: false }
    );
    assert!(h.running("web"));
    // Gives up at its timeout.
    let mut h = Harness::new(RestartPolicy::Never, vec![wait(Some(secs(3))), app("web")]);
    h.tick();
    h.probe("db", ProbeKind::Wait, false);
    h.at(3);
    assert_eq!(h.unit("db").last_exit, Some((ExitStatus::Code(1), Reason::Timeout)));
    assert_eq!(h.exit, Some(1));
}

// --- apps and restart policies --------------------------------------------------

#[test]
fn restart_policy_by_exit() {
    use RestartPolicy::*;
    // (policy, how the app ended, restarted)
    let table = [
        (Always, ExitStatus::Code(0), true),
        (Always, ExitStatus::Code(1), true),
        (Always, ExitStatus::Signal(9), true),
        (OnFailure, ExitStatus::Code(0), false),
        (OnFailure, ExitStatus::Code(2), true),
        (OnFailure, ExitStatus::Signal(15), true),
        (Never, ExitStatus::Code(0), false),
        (Never, ExitStatus::Code(1), false),
        (Never, ExitStatus::Signal(9), false),
    ];
    for (policy, status, restarted) in table {
        let mut h = Harness::new(policy, vec![app("web"), app("other")]);
        h.tick();
        let pid = h.pid("web");
        h.feed(Event::Exited { pid, status });
        assert_eq!(h.unit("web").restarts == 1 && h.running("web"), restarted, "{policy:?} {status:?}");
        assert_eq!(h.exit, None, "the other app still runs");
    }
}

#[test]
fn restart_rule_for_every_kind() {
    use crate::pod::unit::wants_restart;
    use RestartPolicy::*;
    let ok = ExitStatus::Code(0);
    let bad = ExitStatus::Code(1);
    // (kind, policy, status, reason, restart)
    let table = [
        (Kind::Sidecar, Never, ok, Reason::Completed, true),
        (Kind::Sidecar, OnFailure, bad, Reason::Error, true),
        (Kind::Init, Always, ok, Reason::Completed, false),
        (Kind::Init, Always, bad, Reason::Error, true),
        (Kind::Init, OnFailure, bad, Reason::Timeout, true),
        (Kind::Init, Never, bad, Reason::Error, false),
        (Kind::App, OnFailure, ok, Reason::Liveness, true),
        (Kind::App, OnFailure, ok, Reason::PostStart, true),
        (Kind::App, OnFailure, ok, Reason::Startup, true),
        (Kind::App, Never, ok, Reason::Liveness, false),
    ];
    for (kind, policy, status, reason, want) in table {
        assert_eq!(wants_restart(kind, status, reason, policy), want, "{kind:?} {policy:?} {status:?} {reason:?}");
    }
}

#[test]
fn pod_ends_when_no_app_will_run_again() {
    // (policy, exit codes of a, b in order, podinit's exit code)
    let table = [
        (RestartPolicy::Never, [0, 0], 0),
        (RestartPolicy::Never, [3, 0], 3),
        (RestartPolicy::Never, [0, 4], 4),
        (RestartPolicy::Never, [5, 6], 5),
        (RestartPolicy::OnFailure, [0, 0], 0),
    ];
    for (policy, [a, b], code) in table {
        let mut h = Harness::new(policy, vec![app("a"), app("b")]);
        h.tick();
        h.exit_code("a", a);
        assert_eq!(h.exit, None);
        h.exit_code("b", b);
        assert_eq!(h.exit, Some(code), "{policy:?} {a} {b}");
        assert_eq!(h.label(), if code == 0 { "Completed" } else { "Error" });
    }
}

#[test]
fn essential_app_stops_the_pod_with_its_status() {
    let mut e = app("main");
    e.essential = true;
    // Essential is about the app's *final* exit: under Always it has none.
    let mut h = Harness::new(RestartPolicy::Never, vec![e, app("helper")]);
    h.tick();
    let helper = h.pid("helper");
    let effects = h.exit_code("main", 7);
    assert_eq!(kills(&effects), vec![(helper, TERM)], "helper gets its stop signal");
    assert_eq!(h.label(), "Terminating");
    h.exit_code("helper", 0);
    assert_eq!(h.exit, Some(7));
}

#[test]
fn start_failure_of_an_app_is_a_crash() {
    let mut h = Harness::new(RestartPolicy::Always, vec![app("web")]);
    h.fail_spawn.push(("web".into(), Proc::Main));
    h.tick();
    assert_eq!(h.unit("web").last_exit, Some((ExitStatus::Code(127), Reason::StartFailed)));
    assert_eq!(h.label(), "CrashLoopBackOff");
}

// --- sidecars --------------------------------------------------------------------

#[test]
fn sidecar_gates_the_next_entry_on_its_startup_probe() {
    let mut s = sidecar("shipper");
    s.startup_probe = Some(probe(1, 3));
    let mut h = Harness::new(RestartPolicy::Always, vec![s, init("migrate"), app("web")]);
    let effects = h.tick();
    assert!(effects.contains(&Effect::Probe { unit: UnitId::new(0), kind: ProbeKind::Startup }));
    assert!(h.running("shipper") && !h.running("migrate"));
    h.probe("shipper", ProbeKind::Startup, true);
    assert!(h.running("migrate"), "started once the sidecar passed its startup probe");
    h.exit_code("migrate", 0);
    assert!(h.running("web") && h.running("shipper"));
}

#[test]
fn sidecar_without_probe_lets_the_next_entry_start_at_once() {
    let mut h = Harness::new(RestartPolicy::Never, vec![sidecar("proxy"), app("web")]);
    h.tick();
    assert!(h.running("proxy") && h.running("web"));
}

#[test]
fn sidecar_is_restarted_whatever_the_policy_and_exit() {
    for (policy, code) in [(RestartPolicy::Never, 0), (RestartPolicy::OnFailure, 0), (RestartPolicy::Never, 1)] {
        let mut h = Harness::new(policy, vec![sidecar("proxy"), app("web")]);
        h.tick();
        h.exit_code("proxy", code);
        assert!(h.running("proxy"), "{policy:?} {code}: restarted at once");
        h.exit_code("proxy", code);
        assert!(matches!(h.unit("proxy").state, State::BackOff { .. }), "{policy:?} {code}");
        h.at(10);
        assert!(h.running("proxy"));
    }
}

#[test]
fn sidecars_stop_after_the_apps_in_reverse_order() {
    let mut h = Harness::new(RestartPolicy::Always, vec![sidecar("first"), sidecar("second"), app("web")]);
    h.tick();
    let (first, second, web) = (h.pid("first"), h.pid("second"), h.pid("web"));
    // (what happens, stop signals it causes)
    assert_eq!(kills(&h.signal(TERM)), vec![(web, TERM)]);
    assert_eq!(kills(&h.exit_code("web", 0)), vec![(second, TERM)]);
    assert_eq!(kills(&h.exit_code("second", 0)), vec![(first, TERM)]);
    h.exit_code("first", 0);
    assert_eq!(h.exit, Some(0));
}

// --- probes -------------------------------------------------------------------

#[test]
fn startup_probe_gates_readiness_and_liveness() {
    let mut e = app("web");
    e.startup_probe = Some(probe(1, 3));
    e.readiness_probe = Some(probe(1, 3));
    e.liveness_probe = Some(probe(1, 3));
    let mut h = Harness::new(RestartPolicy::Always, vec![e]);
    let probes = |eff: &[Effect]| -> Vec<ProbeKind> {
        eff.iter().filter_map(|e| if let Effect::Probe { kind, .. } = e { Some(*kind) } else { None }).collect()
    };
    assert_eq!(probes(&h.tick()), vec![ProbeKind::Startup]);
    assert_eq!(probes(&h.probe("web", ProbeKind::Startup, true)), vec![ProbeKind::Readiness, ProbeKind::Liveness]);
    assert!(!h.unit("web").ready(), "not ready before readiness passes");
    h.probe("web", ProbeKind::Readiness, true);
    assert!(h.unit("web").ready());
    assert_eq!(h.label(), "Running");
}

#[test]
fn readiness_thresholds_decide_ready() {
    // (success_threshold, failure_threshold, outcomes, ready after each)
    let table: &[(u32, u32, &[bool], &[bool])] = &[
        (1, 3, &[true, false, false, false], &[true, true, true, false]),
        (2, 1, &[true, true, false, true, true], &[false, true, false, false, true]),
        (1, 1, &[false, true], &[false, true]),
    ];
    for (s, f, outcomes, ready) in table {
        let mut e = app("web");
        e.readiness_probe = Some(probe(*s, *f));
        let mut h = Harness::new(RestartPolicy::Always, vec![e]);
        h.tick();
        let mut t = 0;
        for (i, (&ok, &want)) in outcomes.iter().zip(ready.iter()).enumerate() {
            h.probe("web", ProbeKind::Readiness, ok);
            assert_eq!(h.unit("web").ready(), want, "{s}/{f} outcome {i}");
            assert_eq!(h.label(), if want { "Running" } else { "NotReady" });
            t += 10;
            h.at(t);
        }
    }
}

#[test]
fn app_without_readiness_probe_is_ready_while_running() {
    let mut h = Harness::new(RestartPolicy::Always, vec![app("web")]);
    h.tick();
    assert!(h.unit("web").ready());
    h.backing_off("web");
    h.exit_code("web", 1);
    assert!(!h.unit("web").ready());
}

#[test]
fn liveness_failure_restarts_the_app_gracefully() {
    let mut e = app("web");
    e.liveness_probe = Some(probe(1, 3));
    let mut h = Harness::new(RestartPolicy::Always, vec![e]);
    h.tick();
    let pid = h.pid("web");
    for (i, t) in [0, 10, 20].into_iter().enumerate() {
        h.at(t);
        let effects = h.probe("web", ProbeKind::Liveness, false);
        let want = if i == 2 { vec![(pid, TERM)] } else { vec![] };
        assert_eq!(kills(&effects), want, "failure {}", i + 1);
    }
    assert!(h.log.contains(&Effect::CancelProbes { unit: UnitId::new(0) }));
    h.killed("web", TERM);
    assert_eq!(h.unit("web").last_exit, Some((ExitStatus::Signal(TERM), Reason::Liveness)));
    assert!(h.running("web") && h.pid("web") != pid, "restarted at once, a new process");
}

#[test]
fn liveness_failure_under_never_ends_the_app_for_good() {
    let mut e = app("web");
    e.liveness_probe = Some(probe(1, 1));
    let mut h = Harness::new(RestartPolicy::Never, vec![e]);
    h.tick();
    h.probe("web", ProbeKind::Liveness, false);
    h.exit_code("web", 0);
    assert_eq!(h.exit, Some(1), "an app killed for liveness has failed even when it exited 0");
}

#[test]
fn startup_probe_failure_restarts_the_app() {
    let mut e = app("web");
    e.startup_probe = Some(probe(1, 2));
    let mut h = Harness::new(RestartPolicy::Always, vec![e]);
    h.tick();
    let pid = h.pid("web");
    h.probe("web", ProbeKind::Startup, false);
    h.at(10);
    assert_eq!(kills(&h.probe("web", ProbeKind::Startup, false)), vec![(pid, TERM)]);
    h.killed("web", TERM);
    assert_eq!(h.unit("web").last_exit.map(|(_, r)| r), Some(Reason::Startup));
}

#[test]
fn stale_probe_outcome_is_ignored() {
    let mut e = app("web");
    e.liveness_probe = Some(probe(1, 1));
    let mut h = Harness::new(RestartPolicy::Always, vec![e]);
    h.tick();
    h.probe("web", ProbeKind::Liveness, true);
    // No attempt in flight any more: an outcome now is a leftover and changes nothing.
    assert!(kills(&h.probe("web", ProbeKind::Liveness, false)).is_empty());
    assert!(!h.unit("web").stopping());
}

// --- hooks ----------------------------------------------------------------------

#[test]
fn post_start_hook_gates_started_and_its_failure_kills_the_app() {
    // (hook exit code, app still running, restarted after)
    for (code, alive) in [(0, true), (1, false)] {
        let mut e = app("web");
        e.post_start = Some(vec!["hook".into()]);
        let mut h = Harness::new(RestartPolicy::Always, vec![e]);
        let effects = h.tick();
        assert!(effects.contains(&Effect::Spawn { unit: UnitId::new(0), proc: Proc::Hook(HookKind::PostStart) }));
        assert!(!h.unit("web").ready(), "not started until post_start is done");
        let (pid, hook) = (h.pid("web"), h.hook_pid("web"));
        let effects = h.feed(Event::Exited { pid: hook, status: ExitStatus::Code(code) });
        if alive {
            assert!(h.unit("web").ready());
        } else {
            assert_eq!(kills(&effects), vec![(-pid, KILL)]);
            h.killed("web", KILL);
            assert_eq!(h.unit("web").last_exit.map(|(_, r)| r), Some(Reason::PostStart));
        }
    }
}

#[test]
fn post_start_hook_that_cannot_start_kills_the_app() {
    let mut e = app("web");
    e.post_start = Some(vec!["missing".into()]);
    let mut h = Harness::new(RestartPolicy::Always, vec![e]);
    h.fail_spawn.push(("web".into(), Proc::Hook(HookKind::PostStart)));
    let effects = h.tick();
    let pid = h.pid("web");
    assert_eq!(kills(&effects), vec![(-pid, KILL)]);
}

#[test]
fn pre_stop_runs_before_the_stop_signal_and_counts_against_the_grace_period() {
    let mut e = app("web");
    e.pre_stop = Some(vec!["drain".into()]);
    e.stop_signal = libc::SIGQUIT;
    let mut h = Harness::pod(Flavor::Pod, RestartPolicy::Always, 10, vec![e]);
    h.tick();
    let pid = h.pid("web");
    let effects = h.signal(TERM);
    assert!(effects.contains(&Effect::Spawn { unit: UnitId::new(0), proc: Proc::Hook(HookKind::PreStop) }));
    assert!(kills(&effects).is_empty(), "no stop signal while pre_stop runs");
    h.at(4);
    let hook = h.hook_pid("web");
    assert_eq!(kills(&h.feed(Event::Exited { pid: hook, status: ExitStatus::Code(0) })), vec![(pid, libc::SIGQUIT)]);
    // The grace period started with pre_stop, not with the stop signal.
    assert!(kills(&h.at(9)).is_empty());
    assert!(kills(&h.at(10)).contains(&(-pid, KILL)));
}

#[test]
fn pre_stop_that_outlives_the_grace_period_is_killed_with_the_app() {
    let mut e = app("web");
    e.pre_stop = Some(vec!["hang".into()]);
    let mut h = Harness::pod(Flavor::Pod, RestartPolicy::Always, 5, vec![e]);
    h.tick();
    let pid = h.pid("web");
    h.signal(TERM);
    let hook = h.hook_pid("web");
    let k = kills(&h.at(5));
    assert!(k.contains(&(-pid, KILL)) && k.contains(&(-hook, KILL)), "{k:?}");
}

// --- graceful stop ----------------------------------------------------------------

#[test]
fn stop_exit_codes() {
    // (grace, app exits after seconds (None: never), others alive after sweep, podinit's exit code)
    let table = [(30, Some(1), false, 0), (30, Some(29), false, 0), (5, None, false, 137), (2, None, true, 137)];
    for (grace, exits_after, others, code) in table {
        let mut h = Harness::pod(Flavor::Pod, RestartPolicy::Always, grace, vec![app("web")]);
        h.others = others;
        h.tick();
        h.signal(TERM);
        if let Some(t) = exits_after {
            h.at(t);
            h.killed("web", TERM);
            assert_eq!(h.exit, Some(code), "exits at {t}s with grace {grace}: no waiting for the grace period");
            continue;
        }
        h.at(grace);
        h.killed("web", KILL);
        if others {
            assert_eq!(h.exit, None, "waits for the others to be reaped");
            h.at(grace + 2);
        }
        assert_eq!(h.exit, Some(code), "grace {grace}");
    }
}

#[test]
fn grace_period_is_a_limit_not_a_sleep() {
    let mut h = Harness::new(RestartPolicy::Always, vec![app("web")]);
    h.tick();
    h.signal(TERM);
    h.at_ms(50);
    h.killed("web", TERM);
    assert_eq!(h.exit, Some(0), "exits the moment nothing is left");
}

#[test]
fn final_sweep_sends_sigterm_to_the_rest_then_waits_for_them() {
    let mut h = Harness::new(RestartPolicy::Always, vec![app("web")]);
    h.others = true;
    h.tick();
    h.signal(TERM);
    let effects = h.killed("web", TERM);
    assert!(effects.contains(&Effect::SignalRest { sig: TERM }));
    assert_eq!(h.exit, None);
    h.feed(Event::NoChildren);
    assert_eq!(h.exit, Some(0));
}

#[test]
fn second_sigterm_skips_to_sigkill() {
    for sig in [TERM, libc::SIGINT] {
        let mut h = Harness::new(RestartPolicy::Always, vec![app("web")]);
        h.tick();
        let pid = h.pid("web");
        h.signal(sig);
        h.at(1);
        let effects = h.signal(sig);
        assert!(kills(&effects).contains(&(-pid, KILL)), "{effects:?}");
        assert!(effects.contains(&Effect::SignalRest { sig: KILL }));
        h.killed("web", KILL);
        assert_eq!(h.exit, Some(137));
    }
}

#[test]
fn stop_during_init_ends_the_running_step_and_never_starts_apps() {
    let mut h = Harness::new(RestartPolicy::Always, vec![init("setup"), app("web")]);
    h.tick();
    let pid = h.pid("setup");
    assert_eq!(kills(&h.signal(TERM)), vec![(pid, TERM)]);
    h.killed("setup", TERM);
    assert_eq!(h.exit, Some(0));
    assert_eq!(h.unit("web").state, State::Waiting);
}

#[test]
fn crash_looping_app_is_terminated_by_a_stop() {
    let mut h = Harness::new(RestartPolicy::Always, vec![app("web")]);
    h.tick();
    h.backing_off("web");
    h.exit_code("web", 1);
    h.signal(TERM);
    assert_eq!(
        h.unit("web").state,
        State::Terminated { status: ExitStatus::Code(1), reason: Reason::Stopped, held: false }
    );
    assert_eq!(h.exit, Some(0));
}

#[test]
fn active_deadline_stops_the_pod_with_deadline_exceeded() {
    let mut h = Harness::new(RestartPolicy::Always, vec![app("web")]);
    h.pod.disable_status();
    h.pod.settings.active_deadline = Some(secs(60));
    h.tick();
    assert_eq!(h.pod.deadline(), Some(h.t0 + secs(60)));
    assert!(kills(&h.at(59)).is_empty());
    let pid = h.pid("web");
    assert_eq!(kills(&h.at(60)), vec![(pid, TERM)]);
    assert_eq!(h.label(), "DeadlineExceeded");
    h.killed("web", TERM);
    assert_eq!(h.exit, Some(DEADLINE_EXIT));
    assert_eq!(h.label(), "DeadlineExceeded");
}

// --- signals -------------------------------------------------------------------

#[test]
fn pod_forwards_other_signals_to_apps_and_sidecars_only() {
    let mut h = Harness::new(RestartPolicy::Always, vec![sidecar("proxy"), init("setup"), app("web")]);
    h.tick();
    let (proxy, setup) = (h.pid("proxy"), h.pid("setup"));
    assert_eq!(kills(&h.signal(libc::SIGHUP)), vec![(proxy, libc::SIGHUP)], "not to the init step");
    h.exit_code("setup", 0);
    let web = h.pid("web");
    assert_ne!(setup, web);
    for sig in [libc::SIGHUP, libc::SIGUSR1, libc::SIGUSR2, libc::SIGWINCH] {
        assert_eq!(kills(&h.signal(sig)), vec![(proxy, sig), (web, sig)], "signal {sig}");
    }
}

/// A terminal that hangs up after Ctrl-C sends podinit SIGHUP while the pod
/// stops: an app already stopping gets nothing but its stop signal and SIGKILL
/// (a forwarded SIGHUP killed one mid-flush); a sidecar still running gets it.
#[test]
fn pod_forwards_nothing_to_an_entry_that_is_stopping() {
    let mut h = Harness::new(RestartPolicy::Always, vec![sidecar("proxy"), app("web")]);
    h.tick();
    let (proxy, web) = (h.pid("proxy"), h.pid("web"));
    assert_eq!(kills(&h.signal(TERM)), vec![(web, TERM)], "the apps stop first");
    assert_eq!(kills(&h.signal(libc::SIGHUP)), vec![(proxy, libc::SIGHUP)], "not to the stopping app");
    assert_eq!(kills(&h.exit_code("web", 0)), vec![(proxy, TERM)], "then the sidecar stops");
    assert!(kills(&h.signal(libc::SIGUSR1)).is_empty(), "nothing is left running that is not stopping");
}

#[test]
fn signals_podinit_sent_itself_are_not_relayed() {
    let mut h = Harness::new(RestartPolicy::Always, vec![app("web")]);
    h.tick();
    let effects = h.feed(Event::Signal { sig: libc::SIGPIPE, from: PODINIT_PID as i32 });
    assert!(kills(&effects).is_empty());
}

#[test]
fn init_mode_forwards_every_signal_and_exits_with_the_childs_status() {
    // (kill_group, signal sent, status of the child, remap, exit code)
    let table = [
        (false, TERM, ExitStatus::Signal(TERM), vec![], 128 + TERM),
        (true, TERM, ExitStatus::Code(0), vec![], 0),
        (false, libc::SIGINT, ExitStatus::Code(130), vec![], 130),
        (false, libc::SIGUSR1, ExitStatus::Code(3), vec![3], 0),
        (true, libc::SIGHUP, ExitStatus::Code(4), vec![3], 4),
    ];
    for (kill_group, sig, status, remap, code) in table {
        let flavor = Flavor::Init { kill_group, remap_to_zero: remap, warn_reaped: false };
        let mut h = Harness::pod(flavor, RestartPolicy::Never, 5, vec![app("cmd")]);
        h.tick();
        let pid = h.pid("cmd");
        assert_eq!(kills(&h.signal(sig)), vec![(if kill_group { -pid } else { pid }, sig)]);
        assert!(h.running("cmd"), "SIGTERM is forwarded, not a stop, in init mode");
        h.feed(Event::Exited { pid, status });
        assert_eq!(h.exit, Some(code), "{sig} {status:?}");
    }
}

#[test]
fn init_mode_command_not_found_is_127() {
    let flavor = Flavor::Init { kill_group: false, remap_to_zero: vec![], warn_reaped: false };
    let mut h = Harness::pod(flavor, RestartPolicy::Never, 5, vec![app("nope")]);
    h.fail_spawn.push(("nope".into(), Proc::Main));
    h.tick();
    assert_eq!(h.exit, Some(127));
}

#[test]
fn init_mode_waits_for_siblings_then_keeps_the_childs_status() {
    let flavor = Flavor::Init { kill_group: false, remap_to_zero: vec![], warn_reaped: false };
    let mut h = Harness::pod(flavor, RestartPolicy::Never, 5, vec![app("cmd")]);
    h.others = true;
    h.tick();
    let effects = h.exit_code("cmd", 9);
    assert!(effects.contains(&Effect::SignalRest { sig: TERM }));
    assert_eq!(h.exit, None);
    let effects = h.at(5);
    assert!(effects.contains(&Effect::SignalRest { sig: KILL }));
    h.feed(Event::NoChildren);
    assert_eq!(h.exit, Some(9), "the child's status, not 137");
}

#[test]
fn pause_exits_0_on_term_or_int_and_ignores_the_rest() {
    // (signal, exits)
    let table =
        [(libc::SIGHUP, false), (libc::SIGUSR1, false), (libc::SIGQUIT, false), (TERM, true), (libc::SIGINT, true)];
    for (sig, exits) in table {
        let mut h = Harness::pod(Flavor::Pause, RestartPolicy::Never, 0, vec![]);
        h.tick();
        let effects = h.signal(sig);
        assert!(kills(&effects).is_empty());
        assert_eq!(h.exit, exits.then_some(0), "signal {sig}");
    }
}

#[test]
fn reaping_an_orphan_changes_nothing() {
    let mut h = Harness::new(RestartPolicy::Always, vec![app("web")]);
    h.tick();
    let effects = h.feed(Event::Exited { pid: 4242, status: ExitStatus::Code(0) });
    assert_eq!(effects, vec![]);
    assert!(h.running("web"));
}

#[test]
fn only_events_that_move_the_pod_are_not_quiet() {
    // A Quiet event lets the event loop skip tick, poll set and deadline: it
    // may only send signals. (flavor, event, what it did)
    let init = Flavor::Init { kill_group: false, remap_to_zero: vec![], warn_reaped: true };
    let sig = |sig| Event::Signal { sig, from: 7 };
    let orphan = Event::Exited { pid: 4242, status: ExitStatus::Code(0) };
    let table = [
        (init.clone(), sig(TERM), Change::Quiet),
        (init.clone(), sig(libc::SIGHUP), Change::Quiet),
        (init.clone(), orphan.clone(), Change::Quiet),
        (Flavor::Pod, sig(libc::SIGHUP), Change::Quiet),
        (Flavor::Pod, Event::Signal { sig: libc::SIGPIPE, from: PODINIT_PID as i32 }, Change::Quiet),
        (Flavor::Pod, orphan.clone(), Change::Quiet),
        (Flavor::Pod, sig(TERM), Change::Changed),
        (Flavor::Pod, sig(libc::SIGINT), Change::Changed),
        (Flavor::Pod, Event::Tick, Change::Changed),
        (Flavor::Pod, Event::NoChildren, Change::Changed),
        (Flavor::Pause, sig(libc::SIGHUP), Change::Quiet),
        (Flavor::Pause, orphan, Change::Quiet),
        (Flavor::Pause, sig(TERM), Change::Changed),
    ];
    for (flavor, ev, want) in table {
        let entries = if flavor == Flavor::Pause { vec![] } else { vec![app("web")] };
        let mut h = Harness::pod(flavor.clone(), RestartPolicy::Always, 5, entries);
        h.tick();
        let effects = h.feed(ev.clone());
        assert_eq!(h.change, Some(want), "{flavor:?} {ev:?}");
        if want == Change::Quiet {
            assert!(effects.iter().all(|e| matches!(e, Effect::Kill { .. })), "{flavor:?} {ev:?}: {effects:?}");
        }
    }
    // The entry's own exit is never quiet, in either flavor that has one.
    for flavor in [init, Flavor::Pod] {
        let mut h = Harness::pod(flavor, RestartPolicy::Never, 5, vec![app("web")]);
        h.tick();
        h.exit_code("web", 0);
        assert_eq!(h.change, Some(Change::Changed));
    }
}

#[test]
fn idle_pod_has_no_deadline() {
    let mut h = Harness::new(RestartPolicy::Always, vec![app("web")]);
    h.pod.disable_status();
    h.tick();
    assert_eq!(h.pod.deadline(), None, "zero wakeups while idle");
}

// --- status -----------------------------------------------------------------------

#[test]
fn every_pod_status_kubectl_shows() {
    let mut e = app("web");
    e.readiness_probe = Some(probe(1, 1));
    // Init:0/2 → Init:1/2 → Init:CrashLoopBackOff → PodInitializing → NotReady → Running →
    // CrashLoopBackOff → Terminating → Completed
    let mut h = Harness::new(RestartPolicy::Always, vec![init("a"), init("b"), e]);
    h.tick();
    assert_eq!(h.label(), "Init:0/2");
    h.exit_code("a", 0);
    assert_eq!(h.label(), "Init:1/2");
    h.backing_off("b");
    h.exit_code("b", 1);
    assert_eq!(h.label(), "Init:CrashLoopBackOff");
    h.at(10);
    // Between the apps' start request and their pids.
    let b = h.pid("b");
    let mut out = Vec::new();
    let _ = h.pod.handle(Event::Exited { pid: b, status: ExitStatus::Code(0) }, h.now, &mut out);
    assert_eq!(h.label(), "PodInitializing");
    h.feed(Event::Spawned { unit: UnitId::new(2), proc: Proc::Main, result: Ok(500) });
    assert_eq!(h.label(), "NotReady");
    h.probe("web", ProbeKind::Readiness, true);
    assert_eq!(h.label(), "Running");
    h.backing_off("web");
    h.exit_code("web", 1);
    assert_eq!(h.label(), "CrashLoopBackOff");
    h.at(20);
    h.signal(TERM);
    assert_eq!(h.label(), "Terminating");
    h.exit_code("web", 0);
    assert_eq!(h.label(), "Completed");
    // Error, Init:Error and DeadlineExceeded: see the tests above.
}

#[test]
fn entry_states_and_last_exit_in_status() {
    let mut h = Harness::new(RestartPolicy::Always, vec![init("a"), app("web"), app("worker")]);
    h.pod.units[UnitId::new(0)].marker_done = true;
    h.tick();
    h.backing_off("worker");
    h.killed("worker", libc::SIGSEGV);
    let st = h.pod.status(h.now);
    let row = |n: &str| st.entries.iter().find(|e| e.name == n).unwrap().clone();
    // (entry, STATE, READY, LAST EXIT)
    let table = [
        ("a", "Skipped", None, None),
        ("web", "Running", Some(true), None),
        ("worker", "CrashLoopBackOff", Some(false), Some("139 (SIGSEGV)".to_string())),
    ];
    for (name, state, ready, last) in table {
        let r = row(name);
        assert_eq!((r.state.as_str(), r.ready, r.last_exit), (state, ready, last), "{name}");
    }
    assert_eq!(st.pid, PODINIT_PID);
    assert_eq!(st.status, "CrashLoopBackOff");
}

#[test]
fn status_writes_are_coalesced_to_one_per_20ms() {
    let steps: Vec<Entry> = (0..5).map(|i| init(&format!("s{i}"))).chain([app("web")]).collect();
    let mut h = Harness::new(RestartPolicy::Always, steps);
    let writes = |e: &[Effect]| e.iter().filter(|e| **e == Effect::WriteStatus).count();
    assert_eq!(writes(&h.tick()), 1, "the first change is written at once");
    for i in 0..5 {
        assert_eq!(writes(&h.exit_code(&format!("s{i}"), 0)), 0, "step {i} within 20 ms");
    }
    assert_eq!(h.pod.deadline(), Some(h.t0 + Duration::from_millis(20)));
    assert_eq!(writes(&h.at_ms(20)), 1);
}

// --- control requests -------------------------------------------------------------

#[test]
fn control_restart_stops_gracefully_then_starts_and_replies_with_the_pid() {
    let mut h = Harness::new(RestartPolicy::Always, vec![app("web")]);
    h.tick();
    let pid = h.pid("web");
    let effects = h.feed(Event::Control { conn: 1, req: Request::Restart("web".into()) });
    assert_eq!(kills(&effects), vec![(pid, TERM)]);
    assert!(replies(&effects).is_empty(), "the reply waits for the exit");
    let effects = h.killed("web", TERM);
    let new = h.pid("web");
    assert_ne!(new, pid);
    assert_eq!(replies(&effects), vec![Reply::ok(format!("web started (pid {new})"))]);
    assert_eq!(h.unit("web").restarts, 1);
}

#[test]
fn control_requests_table() {
    // (request, ok, reply starts with)
    let table = [
        (Request::Start("web".into()), true, "web is already running"),
        (Request::Kill("web".into(), libc::SIGUSR1), true, "sent SIGUSR1 to web"),
        (Request::Restart("nope".into()), false, "no app or sidecar named 'nope'"),
        (Request::Stop("setup".into()), false, "'setup' is an init step"),
    ];
    for (req, ok, msg) in table {
        let mut h = Harness::new(RestartPolicy::Always, vec![init("setup"), app("web")]);
        h.tick();
        h.exit_code("setup", 0);
        let r = replies(&h.feed(Event::Control { conn: 1, req: req.clone() }));
        assert_eq!(r.len(), 1, "{req:?}");
        assert_eq!(r[0].ok, ok, "{req:?}: {}", r[0].message);
        assert!(r[0].message.starts_with(msg), "{req:?}: {}", r[0].message);
    }
}

#[test]
fn control_stop_holds_the_app_and_start_brings_it_back() {
    let mut h = Harness::new(RestartPolicy::Always, vec![app("web"), app("other")]);
    h.tick();
    h.feed(Event::Control { conn: 1, req: Request::Stop("web".into()) });
    let effects = h.killed("web", TERM);
    assert_eq!(replies(&effects), vec![Reply::ok("web stopped (killed by SIGTERM)")]);
    assert_eq!(h.pod.status(h.now).entries[0].state, EntryState::Stopped);
    h.at(600);
    assert!(!h.running("web"), "held: not restarted");
    let effects = h.feed(Event::Control { conn: 2, req: Request::Start("web".into()) });
    assert!(h.running("web"));
    assert_eq!(replies(&effects).len(), 1);
}

#[test]
fn control_requests_during_a_stop_are_refused_and_pending_ones_answered() {
    let mut h = Harness::new(RestartPolicy::Always, vec![app("web")]);
    h.tick();
    h.feed(Event::Control { conn: 1, req: Request::Stop("web".into()) });
    let effects = h.signal(TERM);
    assert!(replies(&effects).is_empty());
    let r = replies(&h.feed(Event::Control { conn: 2, req: Request::Restart("web".into()) }));
    assert_eq!(r, vec![Reply::err("the pod is stopping")]);
    let r = replies(&h.killed("web", TERM));
    assert_eq!(r, vec![Reply::err("the pod is stopping")]);
    assert_eq!(h.exit, Some(0));
}

#[test]
fn status_request_is_answered_live() {
    let mut h = Harness::new(RestartPolicy::Always, vec![app("web")]);
    h.tick();
    let r = replies(&h.feed(Event::Control { conn: 1, req: Request::Status }));
    assert_eq!(r.len(), 1);
    let st = r[0].status.as_ref().expect("status in the reply");
    assert_eq!((st.status.as_str(), st.entries.len()), ("Running", 1));
}

#[test]
fn no_event_after_exit_has_an_effect() {
    let mut h = Harness::pod(Flavor::Pause, RestartPolicy::Never, 0, vec![]);
    h.signal(TERM);
    assert_eq!(h.exit, Some(0));
    assert!(h.signal(TERM).is_empty());
    assert!(h.tick().is_empty());
    assert!(matches!(h.pod.stage(), Stage::Done { code: 0, .. }));
}

/// The events `podinit describe` lists after a liveness failure, as kubectl
/// describe pod shows them: failures counted up on one line, the kill with its
/// cause, the back-off after the second crash (the first restarts at once);
/// the status view turns them and the conditions into wall-clock times.
#[test]
fn liveness_failure_events_and_conditions() {
    let mut e = app("web");
    e.liveness_probe = Some(probe(1, 3));
    let mut h = Harness::new(RestartPolicy::Always, vec![init("setup"), e]);
    h.tick();
    h.exit_code("setup", 0);
    for t in [0, 10, 20] {
        h.at(t);
        h.probe("web", ProbeKind::Liveness, false);
    }
    h.killed("web", TERM);
    assert!(h.running("web"), "the first crash restarts at once");
    let st = h.pod.status(h.now);
    let ev: Vec<(&str, &str, Option<&str>, &str, u32)> = st
        .events
        .iter()
        .map(|e| (e.kind.as_str(), e.reason.as_str(), e.entry.as_deref(), e.message.as_str(), e.count))
        .collect();
    assert_eq!(
        ev,
        [
            ("Normal", "Started", Some("setup"), "Started container setup", 1),
            ("Normal", "Completed", Some("setup"), "Container setup completed", 1),
            ("Normal", "Started", Some("web"), "Started container web", 2),
            ("Warning", "Unhealthy", Some("web"), "Liveness probe failed: refused", 3),
            ("Normal", "Killing", Some("web"), "Container web failed liveness probe, will be restarted", 1),
        ]
    );
    let unhealthy = &st.events[3];
    assert_eq!((unhealthy.first_seen, unhealthy.last_seen), (1_000_000, 1_000_020));
    let web = &st.entries[1];
    let run = web.last_run.as_ref().expect("last run");
    assert_eq!((run.exit_code, run.reason.as_str()), (143, "liveness"));
    assert_eq!((run.started, run.finished), (Some(1_000_000), Some(1_000_020)));
    assert_eq!(web.started_at, Some(1_000_020));
    let cond: Vec<(&str, bool, u64)> =
        st.conditions.iter().map(|c| (c.kind.as_str(), c.status, c.last_transition)).collect();
    assert_eq!(
        cond,
        [
            ("Initialized", true, 1_000_000),
            ("ContainersReady", true, 1_000_020),
            ("Ready", true, 1_000_020),
            ("PodReadyToStartContainers", true, 1_000_000)
        ]
    );
    // The second crash waits: BackOff, and Ready goes false.
    for t in [30, 40, 50] {
        h.at(t);
        h.probe("web", ProbeKind::Liveness, false);
    }
    h.killed("web", TERM);
    let st = h.pod.status(h.now);
    let last = st.events.last().unwrap();
    assert_eq!(
        (last.reason.as_str(), last.message.as_str()),
        ("BackOff", "Back-off restarting failed container web in pod web")
    );
    assert_eq!(st.events.iter().find(|e| e.reason == "Killing").map(|e| e.count), Some(2));
    let ready = st.conditions.iter().find(|c| c.kind == "Ready").unwrap();
    assert_eq!((ready.status, ready.last_transition), (false, 1_000_050));
}

// --- per-entry restart policy and rules, notify, OOMKilled (README, "Lifecycle") ---

fn with_rules(mut e: Entry, policy: RestartPolicy, rules: &[(crate::config::ExitCodeOperator, &[i32])]) -> Entry {
    e.restart_policy = Some(policy);
    e.restart_rules = rules
        .iter()
        .map(|(operator, values)| crate::config::RestartRule { operator: *operator, values: values.to_vec() })
        .collect();
    e
}

#[test]
fn per_entry_policy_and_rules_decide_an_apps_restart() {
    use crate::config::ExitCodeOperator::{In, NotIn};
    use RestartPolicy::*;
    // (pod policy, the app's own policy and rules, how it ended, restarted)
    type Rules = &'static [(crate::config::ExitCodeOperator, &'static [i32])];
    let table: &[(RestartPolicy, RestartPolicy, Rules, ExitStatus, bool)] = &[
        (Always, Never, &[], ExitStatus::Code(1), false),
        (Never, Always, &[], ExitStatus::Code(0), true),
        (Never, OnFailure, &[], ExitStatus::Code(0), false),
        (Never, OnFailure, &[], ExitStatus::Code(3), true),
        // "exit 42 means try again": Never, but Restart on 42.
        (Always, Never, &[(In, &[42])], ExitStatus::Code(42), true),
        (Always, Never, &[(In, &[42])], ExitStatus::Code(1), false),
        // "exit 143 is fine" (tini#69): restart on any failure but 143.
        (Never, Never, &[(NotIn, &[0, 143])], ExitStatus::Signal(libc::SIGTERM), false),
        (Never, Never, &[(NotIn, &[0, 143])], ExitStatus::Signal(libc::SIGKILL), true),
        (Never, Never, &[(NotIn, &[0, 143])], ExitStatus::Code(0), false),
        // The first matching rule wins; none matching falls back to the entry's policy.
        (Never, OnFailure, &[(In, &[7]), (NotIn, &[7])], ExitStatus::Code(0), true),
        (Never, OnFailure, &[(In, &[7])], ExitStatus::Code(0), false),
    ];
    for (i, (pod, own, rules, status, restarted)) in table.iter().enumerate() {
        let mut h = Harness::new(*pod, vec![with_rules(app("web"), *own, rules), app("other")]);
        h.tick();
        let pid = h.pid("web");
        h.feed(Event::Exited { pid, status: *status });
        let again = h.running("web") && h.pid("web") != pid;
        assert_eq!(again, *restarted, "row {i}: pod {pod:?}, own {own:?} {rules:?}, {status:?}");
        if !restarted {
            assert!(matches!(h.unit("web").state, State::Terminated { .. }), "row {i}");
        }
    }
}

#[test]
fn rules_on_an_init_step_retry_some_failures_and_fail_the_pod_on_others() {
    use crate::config::ExitCodeOperator::In;
    // restartPolicy: Never on the pod and the step, Restart on 75 (EX_TEMPFAIL).
    let step = || with_rules(init("migrate"), RestartPolicy::Never, &[(In, &[75])]);
    let mut h = Harness::new(RestartPolicy::Never, vec![step(), app("web")]);
    h.tick();
    h.exit_code("migrate", 75);
    assert!(h.running("migrate"), "75 is retried, at once the first time");
    h.exit_code("migrate", 75);
    assert!(matches!(h.unit("migrate").state, State::BackOff { .. }), "then with back-off");
    h.at(10);
    h.exit_code("migrate", 0);
    assert!(h.running("web"), "a step that exits 0 is done, whatever the rules");
    // Another code fails the pod: the pod's Never holds.
    let mut h = Harness::new(RestartPolicy::Never, vec![step(), app("web")]);
    h.tick();
    h.exit_code("migrate", 1);
    assert_eq!(h.exit, Some(1));
    assert_eq!(h.label(), "Init:Error");
    // An init step's own OnFailure beats the pod's Never.
    let mut own = init("setup");
    own.restart_policy = Some(RestartPolicy::OnFailure);
    let mut h = Harness::new(RestartPolicy::Never, vec![own, app("web")]);
    h.tick();
    h.exit_code("setup", 1);
    assert!(h.running("setup") && h.exit.is_none());
}

fn notified(h: &mut Harness, pid: i32, ppid: Option<i32>, msg: &[u8]) -> Vec<Effect> {
    h.feed(Event::Notified { pid, ppid, msg: crate::sys::notify::parse(msg) })
}

#[test]
fn ready_from_a_notify_sidecar_gates_the_next_init_entry() {
    let mut s = sidecar("db");
    s.notify = true;
    let mut h = Harness::new(RestartPolicy::Always, vec![s, init("migrate"), app("web")]);
    h.tick();
    let db = h.pid("db");
    assert!(!h.running("migrate"), "waits for READY=1");
    assert_eq!(h.label(), "Init:0/2");
    // (sender, its parent, message, migrate started after it)
    let table: &[(i32, Option<i32>, &[u8], bool)] = &[
        (db + 1000, Some(1), b"READY=1", false), // a stranger
        (db, None, b"STATUS=loading\nWATCHDOG=1", false),
        (db, None, b"READY=0", false),
        (db, None, b"READY=1\nSTATUS=accepting connections", true),
    ];
    for (i, (pid, ppid, msg, started)) in table.iter().enumerate() {
        notified(&mut h, *pid, *ppid, msg);
        assert_eq!(h.running("migrate"), *started, "row {i}: {:?}", String::from_utf8_lossy(msg));
    }
    let st = h.pod.status(h.now);
    assert_eq!(st.entries[0].notify.as_deref(), Some("accepting connections"));
    assert_eq!(st.entries[1].notify, None, "not a notify entry");
}

#[test]
fn a_notify_app_is_not_ready_until_ready_and_shows_stopping() {
    let mut e = app("web");
    e.notify = true;
    let mut h = Harness::new(RestartPolicy::Always, vec![e]);
    h.tick();
    let pid = h.pid("web");
    assert!(!h.unit("web").ready());
    assert!(!h.pod.ready());
    assert_eq!(h.label(), "NotReady");
    assert_eq!(h.pod.status(h.now).entries[0].notify.as_deref(), Some("waiting for READY=1"));
    // systemd-notify run from the app's script: its parent is the app.
    notified(&mut h, pid + 7, Some(pid), b"READY=1");
    assert!(h.unit("web").ready() && h.pod.ready());
    assert_eq!(h.label(), "Running");
    // MAINPID= moves whose messages are believed.
    notified(&mut h, pid, None, b"MAINPID=4242");
    notified(&mut h, 4242, Some(1), b"STOPPING=1\nSTATUS=draining");
    assert_eq!(h.pod.status(h.now).entries[0].notify.as_deref(), Some("STOPPING: draining"));
    // A restart starts over: not ready until the new process says so.
    h.exit_code("web", 1);
    assert!(h.running("web") && !h.unit("web").ready());
    // A message nobody is waiting for changes nothing.
    assert_eq!(notified(&mut h, 99_999, None, b"READY=1"), vec![]);
    assert_eq!(h.change, Some(Change::Quiet));
}

#[test]
fn a_sigkill_while_the_oom_counter_rose_is_oomkilled() {
    // (OOM event before the exit, how it ended, reason, state)
    let table = [
        (true, ExitStatus::Signal(KILL), Reason::OomKilled, "OOMKilled"),
        (false, ExitStatus::Signal(KILL), Reason::Error, "Error"),
        (true, ExitStatus::Code(1), Reason::Error, "Error"),
    ];
    for (oom, status, reason, state) in table {
        let mut h = Harness::new(RestartPolicy::Never, vec![app("web"), app("other")]);
        h.tick();
        let pid = h.pid("web");
        if oom {
            h.feed(Event::OomKilled { pid });
        }
        h.feed(Event::Exited { pid, status });
        assert_eq!(h.unit("web").last_exit, Some((status, reason)), "{oom} {status:?}");
        let st = h.pod.status(h.now);
        assert_eq!(st.entries[0].state.as_str(), state, "{oom} {status:?}");
        if reason == Reason::OomKilled {
            assert_eq!(st.entries[0].last_exit.as_deref(), Some("137 (OOMKilled)"));
        }
    }
    // An OOM kill during a graceful stop is still reported as OOMKilled.
    let mut h = Harness::new(RestartPolicy::Never, vec![app("web")]);
    h.tick();
    let pid = h.pid("web");
    h.signal(TERM);
    h.feed(Event::OomKilled { pid });
    h.killed("web", KILL);
    assert_eq!(h.unit("web").last_exit, Some((ExitStatus::Signal(KILL), Reason::OomKilled)));
}
