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

use serde_json::{json, Map, Value};

use crate::pod::logs::time::rfc3339_secs;
use crate::pod::status::{EntryStatus, PodStatus};

/// The Pod object for `status`.
pub fn pod_object(st: &PodStatus) -> Value {
    let phase = phase(&st.status);
    let mut init = Vec::new();
    let mut apps = Vec::new();
    for e in &st.entries {
        let v = container_status(e, phase);
        if e.kind == "app" {
            apps.push(v);
        } else {
            init.push(v);
        }
    }
    let mut conditions: Vec<Value> = Vec::new();
    // Kubernetes lists them in this order.
    for kind in ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady"] {
        if let Some(c) = st.conditions.iter().find(|c| c.kind == kind) {
            conditions.push(json!({
                "type": kind,
                "status": if c.status { "True" } else { "False" },
                "lastProbeTime": null,
                "lastTransitionTime": rfc3339_secs(c.last_transition),
            }));
        }
    }
    let mut status = Map::new();
    status.insert("phase".into(), phase.into());
    if st.status == "DeadlineExceeded" {
        status.insert("reason".into(), "DeadlineExceeded".into());
        status.insert("message".into(), "Pod was active on the node longer than the specified deadline".into());
    }
    status.insert("conditions".into(), conditions.into());
    status.insert("startTime".into(), rfc3339_secs(st.started_at).into());
    if !init.is_empty() {
        status.insert("initContainerStatuses".into(), init.into());
    }
    status.insert("containerStatuses".into(), apps.into());
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": { "name": st.name, "namespace": st.namespace },
        "status": status,
    })
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

fn terminated(code: i32, reason: &str, started: Option<u64>, finished: Option<u64>) -> Value {
    let mut t = Map::new();
    t.insert("exitCode".into(), code.into());
    t.insert("reason".into(), reason.into());
    if let Some(s) = started {
        t.insert("startedAt".into(), rfc3339_secs(s).into());
    }
    if let Some(f) = finished {
        t.insert("finishedAt".into(), rfc3339_secs(f).into());
    }
    json!({ "terminated": t })
}

fn container_status(e: &EntryStatus, phase: &str) -> Value {
    let last = e.exit_code.map(|code| {
        terminated(code, e.exit_reason.as_deref().unwrap_or("Error"), e.exit_started_at, e.exit_finished_at)
    });
    let (state, last_state) = match e.state.as_str() {
        "Running" | "Terminating" => (json!({ "running": { "startedAt": e.started_at.map(rfc3339_secs) } }), last),
        "CrashLoopBackOff" => (json!({ "waiting": { "reason": "CrashLoopBackOff" } }), last),
        "Skipped" => (terminated(0, "Completed", None, Some(e.since)), None),
        "Completed" | "Error" | "Terminated" | "Stopped" => {
            let code = e.exit_code.unwrap_or(if e.state == "Completed" { 0 } else { 1 });
            let fallback = if code == 0 { "Completed" } else { "Error" };
            let reason = e.exit_reason.clone().unwrap_or_else(|| fallback.into());
            (terminated(code, &reason, e.exit_started_at, e.exit_finished_at.or(Some(e.since))), None)
        }
        _ => {
            let reason = if e.kind == "app" && phase == "Pending" { "PodInitializing" } else { "ContainerCreating" };
            (json!({ "waiting": { "reason": reason } }), last)
        }
    };
    let mut v = Map::new();
    v.insert("name".into(), e.name.clone().into());
    v.insert("state".into(), state);
    v.insert("lastState".into(), last_state.unwrap_or_else(|| json!({})));
    v.insert("ready".into(), e.ready.unwrap_or(e.state == "Completed" || e.state == "Skipped").into());
    v.insert("restartCount".into(), e.restarts.into());
    v.insert("started".into(), e.started.unwrap_or(false).into());
    if e.kind == "sidecar" {
        v.insert("restartPolicy".into(), "Always".into());
    }
    Value::Object(v)
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
        web.exit_code = Some(137);
        web.exit_reason = Some("liveness".into());
        web.exit_started_at = Some(1_796_564_500);
        web.exit_finished_at = Some(1_796_564_520);
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
        let v = pod_object(&st);
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
