//! What defines an init step, for its run-once marker.
//!
//! A marker records a hash of the step's definition; a later start skips the
//! step only while that hash still matches, so editing a step makes it run
//! again. Only what the pod file says goes in: the inherited environment
//! (HOSTNAME differs per container) must not make a finished step run again.

use crate::config::{Entry, WaitFor, WaitTarget};
use crate::pod::marker;

/// Hash of `step`'s command, environment (pod `[env]` then the step's own),
/// user, working_dir and wait_for.
pub fn definition_hash(step: &Entry, pod_env: &[(String, String)]) -> String {
    let mut env: Vec<String> = pod_env.iter().chain(&step.env).map(|(k, v)| format!("{k}={v}")).collect();
    env.sort();
    let wait = step.wait_for.as_ref().map(describe);
    let mut parts: Vec<&str> = vec!["command"];
    parts.extend(step.command.iter().map(String::as_str));
    parts.push("env");
    parts.extend(env.iter().map(String::as_str));
    parts.push("user");
    parts.push(step.user.as_deref().unwrap_or(""));
    parts.push("working_dir");
    let wd = step.working_dir.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
    parts.push(&wd);
    parts.push("wait_for");
    parts.push(wait.as_deref().unwrap_or(""));
    marker::definition_hash(&parts)
}

/// "tcp 127.0.0.1:5432" — a waiter's target for log lines and the marker hash.
pub fn describe(w: &WaitFor) -> String {
    match &w.target {
        WaitTarget::Tcp(t) => format!("tcp {t}"),
        WaitTarget::Http(u) => format!("http {u}"),
        WaitTarget::File(p) => format!("file {}", p.display()),
        WaitTarget::Unix(p) => format!("unix {}", p.display()),
    }
}
