//! Probe bookkeeping (startup, readiness, liveness) and the waiters of init
//! steps, as Kubernetes counts them: when the next attempt is due, how many
//! passed or failed in a row, and the verdict that follows from the thresholds.
//!
//! Pure: no sockets, no processes, no clock. The state machine asks
//! [`ProbeState::start_if_due`] on every tick and, when an attempt is due, emits an
//! effect; the runtime performs the attempt ([`crate::pod::attempts`]) and hands
//! the outcome back to [`ProbeState::record`].

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::config::{HttpGet, Probe, ProbeAction, WaitFor, WaitTarget};
use crate::pod::unit::UnitId;

pub use crate::config::ProbeKind;

/// What a probe checks.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Check {
    /// Command exits 0.
    Exec(Vec<String>),
    /// TCP connect succeeds ("host:port").
    Tcp(String),
    /// HTTP GET answers 200-399 ("http://host:port/path", port optional; extra headers).
    Http(HttpGet),
    /// The gRPC health check at "host:port" answers SERVING for the service.
    Grpc {
        /// "host:port".
        addr: String,
        /// The HealthCheckRequest's service ("" for the server).
        service: String,
    },
    /// The path exists.
    File(PathBuf),
    /// A Unix stream socket accepts a connection.
    Unix(PathBuf),
}

impl Check {
    /// The check of a pod-file probe.
    pub(crate) fn of_probe(p: &Probe) -> Check {
        match &p.action {
            ProbeAction::Exec(c) => Check::Exec(c.clone()),
            ProbeAction::Tcp(a) => Check::Tcp(a.clone()),
            ProbeAction::Http(h) => Check::Http(h.clone()),
            ProbeAction::Grpc { addr, service } => Check::Grpc { addr: addr.clone(), service: service.clone() },
        }
    }

    /// The check of a `wait_for` waiter.
    pub(crate) fn of_wait(w: &WaitFor) -> Check {
        match &w.target {
            WaitTarget::Tcp(a) => Check::Tcp(a.clone()),
            WaitTarget::Http(u) => Check::Http(u.as_str().into()),
            WaitTarget::File(p) => Check::File(p.clone()),
            WaitTarget::Unix(p) => Check::Unix(p.clone()),
        }
    }
}

/// Timing and thresholds (Kubernetes names and defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    /// Before the first attempt.
    pub initial_delay: Duration,
    /// Between attempts.
    pub period: Duration,
    /// Limit of one attempt.
    pub timeout: Duration,
    /// Consecutive successes to pass.
    pub success_threshold: u32,
    /// Consecutive failures to fail.
    pub failure_threshold: u32,
}

impl Timing {
    /// A pod-file probe's timing.
    pub fn of_probe(p: &Probe) -> Timing {
        Timing {
            initial_delay: p.initial_delay,
            period: p.period,
            timeout: p.timeout,
            success_threshold: p.success_threshold,
            failure_threshold: p.failure_threshold,
        }
    }

    /// A waiter is retried every `period` until it succeeds once; one attempt
    /// may take up to its period (at least 100 ms, at most 5 s).
    pub fn of_wait(w: &WaitFor) -> Timing {
        Timing {
            initial_delay: Duration::ZERO,
            period: w.period,
            timeout: w.period.clamp(Duration::from_millis(100), Duration::from_secs(5)),
            success_threshold: 1,
            failure_threshold: u32::MAX,
        }
    }
}

/// The outcome of one attempt: which entry and probe, passed or not, and why not.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Outcome {
    /// The unit.
    pub unit: UnitId,
    /// Which of its probes.
    pub kind: ProbeKind,
    /// The attempt passed.
    pub ok: bool,
    /// Why it failed (empty when it passed).
    pub why: String,
}

/// A probe's verdict after its thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Not decided yet.
    Unknown,
    /// Passed (success_threshold consecutive successes).
    Passing,
    /// Failed (failure_threshold consecutive failures).
    Failing,
}

/// The runtime state of one probe (or waiter) of one running unit: its
/// schedule, its counts in a row and its verdict. The spec it follows is a
/// `config::Probe` (or a `config::WaitFor`).
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeState {
    /// Which probe.
    pub kind: ProbeKind,
    /// Its timing and thresholds.
    pub timing: Timing,
    /// When the next attempt is due (while none is in flight).
    next: Instant,
    /// An attempt was handed to the runtime and has not reported back.
    in_flight: bool,
    successes: u32,
    failures: u32,
    verdict: Verdict,
}

impl ProbeState {
    /// A probe whose first attempt comes `initial_delay` after `now`.
    pub fn new(kind: ProbeKind, timing: Timing, now: Instant) -> ProbeState {
        ProbeState {
            kind,
            next: now + timing.initial_delay,
            timing,
            in_flight: false,
            successes: 0,
            failures: 0,
            verdict: Verdict::Unknown,
        }
    }

    /// The verdict so far.
    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    /// An attempt should start now; marks it in flight.
    pub fn start_if_due(&mut self, now: Instant) -> bool {
        let due = !self.in_flight && now >= self.next;
        self.in_flight |= due;
        due
    }

    /// When the next attempt is due; None while one is in flight (the runtime
    /// owns that attempt's timeout).
    pub fn deadline(&self) -> Option<Instant> {
        (!self.in_flight).then_some(self.next)
    }

    /// Records an attempt's outcome, schedules the next one, and returns the
    /// new verdict when it changed. An outcome with no attempt in flight (one
    /// cancelled by a restart) is ignored.
    pub fn record(&mut self, ok: bool, why: &str, now: Instant, who: &str) -> Option<Verdict> {
        if !self.in_flight {
            return None;
        }
        self.in_flight = false;
        self.next = now + self.timing.period;
        let before = self.verdict;
        if ok {
            self.failures = 0;
            self.successes = self.successes.saturating_add(1);
            if self.successes >= self.timing.success_threshold {
                self.verdict = Verdict::Passing;
            }
        } else {
            self.successes = 0;
            self.failures = self.failures.saturating_add(1);
            let kind = self.kind.label();
            if self.kind == ProbeKind::Wait {
                log::debug!("{who}: waiting: {why}");
            } else if self.kind == ProbeKind::Startup && self.failures < self.timing.failure_threshold {
                // A slow start is normal: one line for the first failure, not
                // one per attempt; the pass (or the final failure) says the rest.
                if self.failures == 1 {
                    log::info!(
                        "{who}: not started yet ({why}); the startup probe allows {} failures",
                        self.timing.failure_threshold
                    );
                } else {
                    log::debug!(
                        "{who}: startup probe failed ({}/{}): {why}",
                        self.failures,
                        self.timing.failure_threshold
                    );
                }
            } else if self.failures > self.timing.failure_threshold {
                log::info!("{who}: {kind} probe failed ({} in a row): {why}", self.failures);
            } else {
                log::info!("{who}: {kind} probe failed ({}/{}): {why}", self.failures, self.timing.failure_threshold);
            }
            if self.failures >= self.timing.failure_threshold {
                self.verdict = Verdict::Failing;
            }
        }
        (self.verdict != before).then_some(self.verdict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(success: u32, failure: u32) -> Timing {
        Timing {
            initial_delay: Duration::from_secs(5),
            period: Duration::from_secs(10),
            timeout: Duration::from_secs(1),
            success_threshold: success,
            failure_threshold: failure,
        }
    }

    #[test]
    fn first_attempt_after_initial_delay_then_every_period() {
        let t0 = Instant::now();
        let mut p = ProbeState::new(ProbeKind::Readiness, timing(1, 3), t0);
        assert_eq!(p.deadline(), Some(t0 + Duration::from_secs(5)));
        assert!(!p.start_if_due(t0 + Duration::from_secs(4)));
        assert!(p.start_if_due(t0 + Duration::from_secs(5)));
        assert!(!p.start_if_due(t0 + Duration::from_secs(6)), "one attempt at a time");
        assert_eq!(p.deadline(), None);
        assert_eq!(p.record(true, "", t0 + Duration::from_secs(6), "t"), Some(Verdict::Passing));
        assert_eq!(p.deadline(), Some(t0 + Duration::from_secs(16)));
    }

    #[test]
    fn thresholds_count_in_a_row() {
        let t0 = Instant::now();
        // (success_threshold, failure_threshold, outcomes, verdict after each)
        let cases: &[(u32, u32, &[bool], &[Verdict])] = &[
            (1, 3, &[false, false, false], &[Verdict::Unknown, Verdict::Unknown, Verdict::Failing]),
            (
                1,
                3,
                &[false, false, true, false],
                &[Verdict::Unknown, Verdict::Unknown, Verdict::Passing, Verdict::Passing],
            ),
            (
                2,
                1,
                &[true, false, true, true],
                &[Verdict::Unknown, Verdict::Failing, Verdict::Failing, Verdict::Passing],
            ),
            (1, 1, &[true, false, true], &[Verdict::Passing, Verdict::Failing, Verdict::Passing]),
        ];
        for (s, f, outcomes, want) in cases {
            let mut p = ProbeState::new(ProbeKind::Liveness, timing(*s, *f), t0);
            for (i, (&ok, &w)) in outcomes.iter().zip(want.iter()).enumerate() {
                let now = t0 + Duration::from_secs(100 * (i as u64 + 1));
                assert!(p.start_if_due(now));
                p.record(ok, "x", now, "t");
                assert_eq!(p.verdict(), w, "thresholds {s}/{f}, outcome {i}");
            }
        }
    }

    #[test]
    fn outcome_without_attempt_is_ignored() {
        let t0 = Instant::now();
        let mut p = ProbeState::new(ProbeKind::Startup, timing(1, 1), t0);
        assert_eq!(p.record(false, "stale", t0, "t"), None);
        assert_eq!(p.verdict(), Verdict::Unknown);
    }
}
