//! The control protocol: what travels over `state_dir/control.sock`, as data
//! and as text. Pure (no fd, no socket): the machine answers [`Request`]s with
//! [`Reply`]s without knowing there is a socket, and `control/` moves the lines.
//!
//! One connection carries one request and one reply, each a single JSON
//! object on one line:
//!
//! ```text
//! -> {"cmd":"restart","name":"web"}
//! <- {"ok":true,"message":"web restarted (pid 42)","status":null}
//! ```
//!
//! A `logs` request is answered by the runtime from the log buffers: a
//! [`Reply`] line, then the log bytes.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::pod::status::PodStatus;
use crate::sys::signals::{self, SigNum};

/// What `podinit logs` asks, with kubectl's meanings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Query {
    /// The entry (None with `all`).
    pub name: Option<String>,
    /// Every entry, in pod-file order (`--all-containers`).
    pub all: bool,
    /// Keep streaming until the entry ends (`-f`).
    pub follow: bool,
    /// The previous run (`--previous`).
    pub previous: bool,
    /// Only the last N lines (`--tail`); None: all.
    pub tail: Option<u64>,
    /// Only lines newer than this many milliseconds (`--since`).
    pub since_ms: Option<u64>,
    /// Each line starts with its RFC 3339 time (`--timestamps`).
    pub timestamps: bool,
    /// Each line starts with `[pod/POD/ENTRY] ` (`--prefix`).
    pub prefix: bool,
}

/// A request: one JSON object per line, e.g. `{"cmd":"restart","name":"web"}`,
/// `{"cmd":"kill","name":"web","signal":"SIGHUP"}`, `{"cmd":"status"}`.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Graceful stop of the entry, wait for it to exit, start it again at once.
    Restart(String),
    /// Graceful stop; keep it stopped (restart policy suspended).
    Stop(String),
    /// Start a stopped entry.
    Start(String),
    /// Send a signal to the entry's process.
    Kill(String, SigNum),
    /// Live pod status.
    Status,
}

impl fmt::Display for Request {
    /// `restart web`, `kill web SIGHUP`, `status`: for log lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Request::Restart(n) => write!(f, "restart {n}"),
            Request::Stop(n) => write!(f, "stop {n}"),
            Request::Start(n) => write!(f, "start {n}"),
            Request::Kill(n, s) => write!(f, "kill {n} {}", signals::name(*s)),
            Request::Status => f.write_str("status"),
        }
    }
}

/// How long a client should wait for the reply to `req`. Restart and stop
/// reply only after a graceful stop, which may take the pod's whole
/// termination grace period (pre_stop, stop signal, then SIGKILL), so they get
/// that plus a margin; everything else is answered at once.
pub(crate) fn timeout_for(req: &Request, grace: Duration) -> Duration {
    match req {
        Request::Restart(_) | Request::Stop(_) => (grace + Duration::from_secs(30)).max(Duration::from_secs(120)),
        Request::Start(_) => Duration::from_secs(30),
        Request::Kill(..) | Request::Status => Duration::from_secs(5),
    }
}

/// The request as it travels: a tagged object with plain strings, so the
/// format is readable and writable by hand (`socat`, `nc -U`). Unknown extra
/// fields are ignored so an older podinit still serves a newer client.
#[derive(Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "lowercase")]
enum Wire {
    Restart {
        name: String,
    },
    Stop {
        name: String,
    },
    Start {
        name: String,
    },
    // `signal` is a Value so both "SIGHUP" and 1 are accepted; we always send a string.
    Kill {
        name: String,
        signal: serde_json::Value,
    },
    Status,
    /// Served by the runtime from the log buffers, not by the state machine.
    Logs(Query),
}

impl Wire {
    fn from_request(req: &Request) -> Wire {
        match req {
            Request::Restart(n) => Wire::Restart { name: n.clone() },
            Request::Stop(n) => Wire::Stop { name: n.clone() },
            Request::Start(n) => Wire::Start { name: n.clone() },
            Request::Kill(n, s) => Wire::Kill { name: n.clone(), signal: serde_json::Value::String(signals::name(*s)) },
            Request::Status => Wire::Status,
        }
    }
}

/// A parsed request line: for the state machine, or for the log buffers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Incoming {
    /// A request the state machine answers.
    Request(Request),
    /// `podinit logs`: answered by the runtime with a header reply and the log bytes.
    Logs(Query),
}

/// A `logs` request line, without the newline.
pub(crate) fn encode_logs(q: &Query) -> Vec<u8> {
    serde_json::to_vec(&Wire::Logs(q.clone())).unwrap_or_default()
}

/// Parses one request line of either kind (see [`parse_request`]).
pub(crate) fn parse_incoming(line: &[u8]) -> Result<Incoming, String> {
    if let Ok(Wire::Logs(q)) = serde_json::from_slice::<Wire>(line) {
        if q.name.as_deref().is_some_and(|n| n.chars().any(char::is_control)) {
            return Err("bad request: name has control characters".into());
        }
        if q.name.is_none() && !q.all {
            return Err("bad request: logs needs a name or all".into());
        }
        return Ok(Incoming::Logs(q));
    }
    parse_request(line).map(Incoming::Request)
}

/// One request as the client sends it, without the newline (for tests and fuzzing).
pub fn encode_request(req: &Request) -> Vec<u8> {
    serde_json::to_vec(&Wire::from_request(req)).unwrap_or_default()
}

/// Parses one request line; the error is the message for the error reply.
/// Public for the fuzz targets (`fuzz/`); no input makes it panic.
/// The error is always one line: it is logged, and a name or `cmd` quoted in it
/// may hold a newline (`{"cmd":"x\ny"}`) that must not forge a log line.
pub fn parse_request(line: &[u8]) -> Result<Request, String> {
    parse_request_inner(line).map_err(|msg| {
        let mut one_line = String::with_capacity(msg.len());
        for c in msg.chars() {
            if c.is_control() {
                one_line.extend(c.escape_debug());
            } else {
                one_line.push(c);
            }
        }
        one_line
    })
}

fn parse_request_inner(line: &[u8]) -> Result<Request, String> {
    let wire: Wire = serde_json::from_slice(line).map_err(|e| {
        format!(
            "bad request: {e} (expected one JSON object on one line, e.g. {{\"cmd\":\"restart\",\"name\":\"web\"}})"
        )
    })?;
    fn named(name: String, f: impl FnOnce(String) -> Request) -> Result<Request, String> {
        if name.is_empty() {
            Err("bad request: empty name".to_string())
        } else if name.chars().any(char::is_control) {
            // No entry can have such a name; refusing it here keeps it out of log lines.
            Err(format!("bad request: name {name:?} has control characters"))
        } else {
            Ok(f(name))
        }
    }
    match wire {
        Wire::Restart { name } => named(name, Request::Restart),
        Wire::Stop { name } => named(name, Request::Stop),
        Wire::Start { name } => named(name, Request::Start),
        Wire::Kill { name, signal } => {
            let text = match &signal {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) => n.to_string(),
                other => return Err(format!("bad request: signal must be a name or number, not {other}")),
            };
            let sig = signals::parse(&text).map_err(|e| e.to_string())?;
            named(name, |n| Request::Kill(n, sig))
        }
        Wire::Status => Ok(Request::Status),
        Wire::Logs(_) => Err("bad request: logs is not a state request".into()),
    }
}

/// A reply: one JSON line `{"ok":true,"message":"...","status":{...}|null}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Reply {
    /// Whether the request was carried out.
    pub ok: bool,
    /// What happened, or why not; printed by the client as is.
    pub message: String,
    /// Live pod status, for `status` requests.
    #[serde(default)]
    pub status: Option<PodStatus>,
}

impl Reply {
    /// A success reply without status.
    pub(crate) fn ok(msg: impl Into<String>) -> Reply {
        Reply { ok: true, message: msg.into(), status: None }
    }

    /// A failure reply.
    pub(crate) fn err(msg: impl Into<String>) -> Reply {
        Reply { ok: false, message: msg.into(), status: None }
    }

    /// The reply as one line, newline included.
    pub(crate) fn to_line(&self) -> Vec<u8> {
        // Cannot fail for these types (no maps with non-string keys); keep a
        // fixed fallback anyway so a reply is never silently lost.
        let mut v = serde_json::to_vec(self).unwrap_or_else(|_| {
            br#"{"ok":false,"message":"internal error: reply not serialisable","status":null}"#.to_vec()
        });
        v.push(b'\n');
        v
    }
}

/// Parses one reply line (without its newline), as the clients read it.
pub(crate) fn parse_reply(line: &[u8]) -> Result<Reply, String> {
    serde_json::from_slice(line).map_err(|e| format!("not a reply ({e})"))
}

/// Identifies one client connection between the control server's `ready` and `reply`.
pub(crate) type ConnId = u64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format_is_the_documented_one() {
        let line = |r: &Request| String::from_utf8(encode_request(r)).unwrap();
        assert_eq!(line(&Request::Restart("web".into())), r#"{"cmd":"restart","name":"web"}"#);
        assert_eq!(
            line(&Request::Kill("web".into(), libc::SIGHUP)),
            r#"{"cmd":"kill","name":"web","signal":"SIGHUP"}"#
        );
        assert_eq!(line(&Request::Status), r#"{"cmd":"status"}"#);
        assert_eq!(
            String::from_utf8(Reply::ok("done").to_line()).unwrap(),
            "{\"ok\":true,\"message\":\"done\",\"status\":null}\n"
        );
        // A reply without the status field still parses.
        assert_eq!(parse_reply(br#"{"ok":false,"message":"x"}"#), Ok(Reply::err("x")));
        assert!(parse_reply(b"{\"ok\":1}").unwrap_err().starts_with("not a reply ("));
        for r in [Request::Stop("a".into()), Request::Start("b".into()), Request::Status] {
            assert_eq!(parse_request(line(&r).as_bytes()), Ok(r));
        }
    }

    #[test]
    fn logs_requests_are_told_apart() {
        let q = Query { name: Some("web".into()), tail: Some(3), ..Query::default() };
        assert_eq!(parse_incoming(&encode_logs(&q)), Ok(Incoming::Logs(q)));
        assert_eq!(parse_incoming(br#"{"cmd":"status"}"#), Ok(Incoming::Request(Request::Status)));
        assert_eq!(parse_incoming(br#"{"cmd":"logs"}"#), Err("bad request: logs needs a name or all".into()));
        assert_eq!(
            parse_incoming(br#"{"cmd":"logs","name":"a\u0007"}"#),
            Err("bad request: name has control characters".into())
        );
        assert_eq!(
            parse_request(br#"{"cmd":"logs","all":true}"#),
            Err("bad request: logs is not a state request".into())
        );
    }

    #[test]
    fn request_errors_are_one_line() {
        // Found by fuzzing (tests/fuzz-corpus/control_request): serde quotes an
        // unknown variant raw, so a "\n" in it used to forge a second log line.
        for line in [&br#"{"cmd":"s\ntus"}"#[..], br#"{"cmd":"kill","name":"a","signal":"X\nY"}"#] {
            let e = parse_request(line).unwrap_err();
            assert!(!e.contains('\n'), "{e:?}");
            assert!(e.starts_with("bad request") || e.starts_with("unknown signal"), "{e:?}");
        }
        let e = parse_request(br#"{"cmd":"restart","name":"a\nb"}"#).unwrap_err();
        assert_eq!(e, r#"bad request: name "a\nb" has control characters"#);
    }

    #[test]
    fn timeouts() {
        let grace = Duration::from_secs(30);
        assert_eq!(timeout_for(&Request::Restart("a".into()), grace), Duration::from_secs(120));
        assert_eq!(timeout_for(&Request::Stop("a".into()), Duration::from_secs(300)), Duration::from_secs(330));
        assert_eq!(timeout_for(&Request::Status, grace), Duration::from_secs(5));
    }
}
