//! The pod's events, as `kubectl describe pod` lists them: type, reason,
//! the entry, a message, how many times and when first and last seen. Pure
//! data, recorded by the machine with its `now`; the status view turns the
//! instants into wall-clock times.
//!
//! Aggregation as the kubelet's event recorder does it: an event with the
//! same type, reason, entry and message as one already kept counts it up
//! (`count`, `last`) instead of adding a line, so a probe failing every 10 s
//! is one line `Unhealthy ... (x30 over 5m)`. The list is bounded: the
//! oldest-seen event goes first.
//!
//! Such an event is a [`KubeEvent`], so that it cannot be mistaken for the
//! machine's input, [`crate::pod::event::Event`].

use std::time::Instant;

use crate::pod::unit::UnitId;

/// Events kept per pod (Kubernetes keeps an hour of them; a bound is what matters here).
pub(crate) const MAX_EVENTS: usize = 64;

/// `Normal` or `Warning`: the type of a [`KubeEvent`], as Kubernetes types events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventType {
    /// Something expected happened.
    Normal,
    /// Something needs attention.
    Warning,
}

impl EventType {
    /// `Normal` / `Warning`.
    pub(crate) fn label(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// One aggregated Kubernetes event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KubeEvent {
    /// Normal or Warning.
    pub kind: EventType,
    /// `Started`, `Killing`, `BackOff`, `Unhealthy`, ...
    pub reason: &'static str,
    /// The unit it is about; None: the pod.
    pub unit: Option<UnitId>,
    /// What happened.
    pub message: String,
    /// How many times.
    pub count: u32,
    /// First seen.
    pub first: Instant,
    /// Last seen.
    pub last: Instant,
}

/// The bounded, aggregated list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Events {
    list: Vec<KubeEvent>,
}

impl Events {
    /// Records an event at `now`, or counts up the same one.
    pub(crate) fn record(
        &mut self,
        now: Instant,
        kind: EventType,
        reason: &'static str,
        unit: Option<UnitId>,
        message: String,
    ) {
        if let Some(e) = self
            .list
            .iter_mut()
            .find(|e| e.kind == kind && e.reason == reason && e.unit == unit && e.message == message)
        {
            e.count = e.count.saturating_add(1);
            e.last = now;
            return;
        }
        if self.list.len() >= MAX_EVENTS {
            if let Some(oldest) = self.list.iter().enumerate().min_by_key(|(_, e)| e.last).map(|(i, _)| i) {
                self.list.remove(oldest);
            }
        }
        self.list.push(KubeEvent { kind, reason, unit, message, count: 1, first: now, last: now });
    }

    /// Every event, in the order first seen.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &KubeEvent> {
        self.list.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn same_events_count_up_and_the_list_is_bounded() {
        let t0 = Instant::now();
        let mut ev = Events::default();
        for k in 0..3 {
            ev.record(
                t0 + Duration::from_secs(k),
                EventType::Warning,
                "Unhealthy",
                Some(UnitId::new(1)),
                "Liveness probe failed: x".into(),
            );
        }
        ev.record(t0, EventType::Normal, "Started", Some(UnitId::new(1)), "Started container web".into());
        let v: Vec<_> = ev.iter().collect();
        assert_eq!(v.len(), 2);
        assert_eq!((v[0].count, v[0].first, v[0].last), (3, t0, t0 + Duration::from_secs(2)));
        for k in 0..(MAX_EVENTS as u64 + 10) {
            ev.record(
                t0 + Duration::from_secs(10 + k),
                EventType::Normal,
                "Started",
                Some(UnitId::new(2)),
                format!("m{k}"),
            );
        }
        assert_eq!(ev.iter().count(), MAX_EVENTS);
        assert!(ev.iter().all(|e| e.reason != "Unhealthy"), "the oldest-seen went first");
    }
}
