//! `podinit status -o json`: the pod as a Kubernetes `Pod` object with its
//! `status`, so a `jq` query written for `kubectl get pod -o json` works on it
//! unchanged (`.status.containerStatuses[] | select(.ready)`). Fields podinit
//! cannot know (containerID, image, imageID, hostIP, podIP) are left out
//! rather than made up.
//!
//! The mapping, from the kubelet's status manager:
//! - `phase`: Pending while init steps run (and apps have not started),
//!   Running, Succeeded when every app completed, Failed otherwise.
//! - `conditions`: PodReadyToStartContainers, Initialized, ContainersReady,
//!   Ready, each `"True"`/`"False"` with `lastTransitionTime`.
//! - `initContainerStatuses` (init steps and sidecars) and `containerStatuses`
//!   (apps): `state` is exactly one of waiting/running/terminated,
//!   `lastState` the termination before the current run, `ready`,
//!   `started`, `restartCount`; sidecars carry `restartPolicy: Always`.

use serde::Serialize;

use crate::config::Kind;
use crate::pod::logs::time::rfc3339_secs;
use crate::pod::status::{EntryState, EntryStatus, PodStatus};

/// A Kubernetes `Pod` object with only its `status` (and its name).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PodObject {
    /// `v1`.
    pub api_version: &'static str,
    /// `Pod`.
    pub kind: &'static str,
    /// Name and namespace.
    pub metadata: Metadata,
    /// The pod's status.
    pub status: Status,
}

/// `metadata`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Metadata {
    /// Pod name.
    pub name: String,
    /// Pod namespace.
    pub namespace: String,
}

/// A Pod's `status`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Status {
    /// `Pending`, `Running`, `Succeeded` or `Failed`.
    pub phase: &'static str,
    /// `DeadlineExceeded` when the active deadline ended the pod.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// The kubelet's words for `reason`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<&'static str>,
    /// PodReadyToStartContainers, Initialized, Ready, ContainersReady.
    pub conditions: Vec<PodCondition>,
    /// When podinit started the pod.
    pub start_time: String,
    /// Init steps and sidecars.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub init_container_statuses: Vec<ContainerStatus>,
    /// Apps.
    pub container_statuses: Vec<ContainerStatus>,
}

/// One pod condition.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PodCondition {
    /// The condition.
    #[serde(rename = "type")]
    pub kind: String,
    /// `True` or `False`.
    pub status: &'static str,
    /// Always null (podinit does not probe conditions).
    pub last_probe_time: Option<String>,
    /// When it last changed.
    pub last_transition_time: String,
}

/// One container's (entry's) status.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ContainerStatus {
    /// Entry name.
    pub name: String,
    /// Exactly one of waiting, running, terminated.
    pub state: ContainerState,
    /// The termination before the current run (`{}` when none).
    pub last_state: ContainerState,
    /// Ready.
    pub ready: bool,
    /// Restarts.
    pub restart_count: u32,
    /// Past its startup probe and post_start hook.
    pub started: bool,
    /// `Always` for sidecars.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<&'static str>,
}

/// A container state: at most one field is set.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct ContainerState {
    /// Not running yet, or in back-off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting: Option<Waiting>,
    /// Running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running: Option<Running>,
    /// Ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terminated: Option<Terminated>,
}

/// `state.waiting`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Waiting {
    /// `CrashLoopBackOff`, `PodInitializing`, `ContainerCreating`.
    pub reason: &'static str,
}

/// `state.running`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Running {
    /// When this run started.
    pub started_at: Option<String>,
}

/// `state.terminated`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Terminated {
    /// Exit code (128+N for signal N).
    pub exit_code: i32,
    /// `Completed`, `Error`, or what ended it.
    pub reason: String,
    /// When the run started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
}

/// The Pod object for `st`.
pub(crate) fn pod_object(st: &PodStatus) -> PodObject {
    let phase = phase(&st.status);
    let (mut init, mut apps) = (Vec::new(), Vec::new());
    for e in &st.entries {
        let v = container_status(e, phase);
        if e.kind == Kind::App {
            apps.push(v);
        } else {
            init.push(v);
        }
    }
    let mut conditions = Vec::new();
    // Kubernetes lists them in this order.
    for kind in ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady"] {
        if let Some(c) = st.conditions.iter().find(|c| c.kind == kind) {
            conditions.push(PodCondition {
                kind: kind.to_string(),
                status: if c.status { "True" } else { "False" },
                last_probe_time: None,
                last_transition_time: rfc3339_secs(c.last_transition),
            });
        }
    }
    let deadline = st.status == "DeadlineExceeded";
    PodObject {
        api_version: "v1",
        kind: "Pod",
        metadata: Metadata { name: st.name.clone(), namespace: st.namespace.clone() },
        status: Status {
            phase,
            reason: deadline.then_some("DeadlineExceeded"),
            message: deadline.then_some("Pod was active on the node longer than the specified deadline"),
            conditions,
            start_time: rfc3339_secs(st.started_at),
            init_container_statuses: init,
            container_statuses: apps,
        },
    }
}

/// The pod phase of a kubectl STATUS word.
fn phase(status: &str) -> &'static str {
    match status {
        s if s.starts_with("Init:") && s != "Init:Error" => "Pending",
        "PodInitializing" => "Pending",
        "Completed" => "Succeeded",
        "Error" | "Init:Error" | "DeadlineExceeded" => "Failed",
        _ => "Running",
    }
}

fn terminated(code: i32, reason: &str, started: Option<u64>, finished: Option<u64>) -> ContainerState {
    ContainerState {
        terminated: Some(Terminated {
            exit_code: code,
            reason: reason.to_string(),
            started_at: started.map(rfc3339_secs),
            finished_at: finished.map(rfc3339_secs),
        }),
        ..ContainerState::default()
    }
}

fn waiting(reason: &'static str) -> ContainerState {
    ContainerState { waiting: Some(Waiting { reason }), ..ContainerState::default() }
}

fn container_status(e: &EntryStatus, phase: &str) -> ContainerStatus {
    let run = e.last_run.as_ref();
    let last = run.map(|r| terminated(r.exit_code, &r.reason, r.started, r.finished));
    let (state, last_state) = match e.state.as_str() {
        "Running" | "Terminating" => (
            ContainerState {
                running: Some(Running { started_at: e.started_at.map(rfc3339_secs) }),
                ..ContainerState::default()
            },
            last,
        ),
        "CrashLoopBackOff" => (waiting("CrashLoopBackOff"), last),
        "Skipped" => (terminated(0, "Completed", None, Some(e.since)), None),
        "Completed" | "Error" | "Terminated" | "Stopped" => {
            let code = run.map_or(if e.state == EntryState::Completed { 0 } else { 1 }, |r| r.exit_code);
            let fallback = if code == 0 { "Completed" } else { "Error" };
            let reason = run.map_or(fallback, |r| r.reason.as_str());
            let (started, finished) = run.map_or((None, None), |r| (r.started, r.finished));
            (terminated(code, reason, started, finished.or(Some(e.since))), None)
        }
        _ => (
            waiting(if e.kind == Kind::App && phase == "Pending" { "PodInitializing" } else { "ContainerCreating" }),
            last,
        ),
    };
    ContainerStatus {
        name: e.name.clone(),
        state,
        last_state: last_state.unwrap_or_default(),
        ready: e.ready.unwrap_or(e.state == EntryState::Completed || e.state == EntryState::Skipped),
        restart_count: e.restarts,
        started: e.started.unwrap_or(false),
        restart_policy: (e.kind == Kind::Sidecar).then_some("Always"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::status::Condition;

    fn entry(name: &str, kind: &str, state: &str, ready: Option<bool>) -> EntryStatus {
        EntryStatus {
            name: name.into(),
            kind: kind.into(),
            state: state.into(),
            ready,
            since: 100,
            ..EntryStatus::default()
        }
    }

    #[test]
    fn kubectl_queries_work_on_it() {
        let mut web = entry("web", "app", "Running", Some(true));
        web.started = Some(true);
        web.started_at = Some(1_796_564_526);
        web.restarts = 1;
        web.last_run = Some(crate::pod::status::LastRun {
            exit_code: 137,
            reason: "liveness".into(),
            started: Some(1_796_564_500),
            finished: Some(1_796_564_520),
        });
        let st = PodStatus {
            name: "p".into(),
            namespace: "ns".into(),
            status: "NotReady".into(),
            entries: vec![
                entry("setup", "init", "Completed", None),
                entry("proxy", "sidecar", "Running", Some(true)),
                web,
                entry("worker", "app", "CrashLoopBackOff", Some(false)),
            ],
            conditions: vec![Condition { kind: "Ready".into(), status: false, last_transition: 1_796_564_526 }],
            ..PodStatus::default()
        };
        let v = serde_json::to_value(pod_object(&st)).unwrap();
        assert_eq!(v["status"]["phase"], "Running");
        let ready: Vec<&str> = v["status"]["containerStatuses"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["ready"] == true)
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(ready, ["web"]);
        let web = &v["status"]["containerStatuses"][0];
        assert_eq!(web["state"]["running"]["startedAt"], "2026-12-06T13:42:06Z");
        assert_eq!(web["lastState"]["terminated"]["exitCode"], 137);
        assert_eq!(web["restartCount"], 1);
        assert_eq!(v["status"]["containerStatuses"][1]["state"]["waiting"]["reason"], "CrashLoopBackOff");
        assert_eq!(v["status"]["initContainerStatuses"][0]["state"]["terminated"]["reason"], "Completed");
        assert_eq!(v["status"]["initContainerStatuses"][1]["restartPolicy"], "Always");
        assert_eq!(v["status"]["conditions"][0]["status"], "False");
        assert_eq!(phase("Init:1/2"), "Pending");
        assert_eq!(phase("Completed"), "Succeeded");
        assert_eq!(phase("Init:Error"), "Failed");
    }
}
