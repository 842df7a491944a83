//! Probes and lifecycle handlers: exec, httpGet, tcpSocket, sleep; stop signals.

use super::*;
use crate::config::HttpGet;

impl Reader<'_> {
    /// A startup, readiness or liveness probe, Kubernetes' defaults filled in;
    /// `ports` resolves a port given by name.
    pub(super) fn probe(&mut self, n: &Node, path: &str, kind: ProbeKind, ports: &[(String, u16)]) -> Option<Probe> {
        let before = self.errors.len();
        let o = self.object(n, path, PROBE, None);
        let mut probe = Probe::new(ProbeAction::Exec(Vec::new()));
        let mut action = None;
        for (key, _) in &o.rows {
            let v = o.get(&key.name)?;
            let kp = join(path, &key.name);
            // The model's rules on these fields (at least 1, …) are validate.rs's.
            let at = |f| Field::Probe(kind, f);
            match key.name.as_str() {
                "periodSeconds" => self.field(at(ProbeField::Period), v.at, kp.clone()),
                "timeoutSeconds" => self.field(at(ProbeField::Timeout), v.at, kp.clone()),
                "successThreshold" => self.field(at(ProbeField::SuccessThreshold), v.at, kp.clone()),
                "failureThreshold" => self.field(at(ProbeField::FailureThreshold), v.at, kp.clone()),
                _ => self.field(at(ProbeField::Action), v.at, kp.clone()),
            }
            let found = match key.name.as_str() {
                "exec" => {
                    let e = self.object(v, &kp, &[("command", Use)], None);
                    match e.get("command") {
                        Some(c) => self.argv(c, &join(&kp, "command")).map(ProbeAction::Exec),
                        None => {
                            self.error(v.at, &kp, "no 'command'");
                            None
                        }
                    }
                }
                "httpGet" => self.http_get(v, &kp, ports).map(ProbeAction::Http),
                "grpc" => self.grpc(v, &kp),
                "tcpSocket" => {
                    let t = self.object(v, &kp, &[("port", Use), ("host", Use)], None);
                    self.host_port(v, &t, &kp, ports).map(|(h, p)| ProbeAction::Tcp(format!("{h}:{p}")))
                }
                "initialDelaySeconds" => {
                    probe.initial_delay = self.seconds(v, &kp, 0).unwrap_or(probe.initial_delay);
                    continue;
                }
                "periodSeconds" => {
                    probe.period = self.seconds(v, &kp, 0).unwrap_or(probe.period);
                    continue;
                }
                "timeoutSeconds" => {
                    probe.timeout = self.seconds(v, &kp, 0).unwrap_or(probe.timeout);
                    continue;
                }
                "successThreshold" => {
                    probe.success_threshold = self.int(v, &kp, 0, i64::from(i32::MAX)).unwrap_or(1) as u32;
                    continue;
                }
                "failureThreshold" => {
                    probe.failure_threshold = self.int(v, &kp, 0, i64::from(i32::MAX)).unwrap_or(3) as u32;
                    continue;
                }
                _ => continue,
            };
            if let Some((first, _)) = &action {
                self.error(key.at, path, format!("has both {first} and {}: a probe does exactly one check", key.name));
            } else {
                action = Some((key.name.clone(), found));
            }
        }
        match action {
            Some((_, Some(a))) => {
                probe.action = a;
                Some(probe)
            }
            Some((_, None)) => None,
            None => {
                // Not after an unknown or refused field there: that one is the problem.
                if matches!(n.val, Val::Map(_)) && self.errors.len() == before {
                    self.error(n.at, path, "needs one of exec, httpGet, tcpSocket or grpc");
                }
                None
            }
        }
    }

    /// A hook: exec runs its command; httpGet and sleep are run by podinit itself
    /// (`podinit --hook-http-get URL`, `--hook-sleep SECONDS`), so they need no curl
    /// or sleep binary.
    pub(super) fn handler(&mut self, n: &Node, path: &str, ports: &[(String, u16)]) -> Option<Vec<String>> {
        let before = self.errors.len();
        let o = self.object(n, path, HANDLER, None);
        let mut found: Option<(String, Option<Vec<String>>)> = None;
        for (key, v) in &o.rows {
            let kp = join(path, &key.name);
            let argv = match key.name.as_str() {
                "exec" => {
                    let e = self.object(v, &kp, &[("command", Use)], None);
                    match e.get("command") {
                        Some(c) => self.argv(c, &join(&kp, "command")),
                        None => {
                            self.error(v.at, &kp, "no 'command'");
                            None
                        }
                    }
                }
                "httpGet" => self.http_get(v, &kp, ports).and_then(|get| {
                    if !get.headers.is_empty() {
                        let why = "not supported in a hook (podinit's httpGet hook sends no extra headers; an exec hook can run curl -H)";
                        self.error(v.at, &join(&kp, "httpHeaders"), why);
                        return None;
                    }
                    Some(vec![HOOK_EXE.to_string(), HOOK_HTTP_GET.to_string(), get.url])
                }),
                _ => {
                    let s = self.object(v, &kp, &[("seconds", Use)], None);
                    match s.get("seconds") {
                        Some(secs) => self
                            .int(secs, &join(&kp, "seconds"), 0, i64::from(i32::MAX))
                            .map(|secs| vec![HOOK_EXE.to_string(), HOOK_SLEEP.to_string(), secs.to_string()]),
                        None => {
                            self.error(v.at, &kp, "no 'seconds'");
                            None
                        }
                    }
                }
            };
            if let Some((first, _)) = &found {
                self.error(key.at, path, format!("has both {first} and {}: a hook does exactly one thing", key.name));
            } else {
                found = Some((key.name.clone(), argv));
            }
        }
        match found {
            Some((_, argv)) => argv,
            None => {
                if matches!(n.val, Val::Map(_)) && self.errors.len() == before {
                    self.error(n.at, path, "needs one of exec, httpGet or sleep");
                }
                None
            }
        }
    }

    /// A grpc probe: the health check of `service` at the pod's own `port`
    /// (Kubernetes has no host for it: the kubelet dials the pod's IP).
    fn grpc(&mut self, n: &Node, path: &str) -> Option<ProbeAction> {
        let o = self.object(n, path, GRPC, None);
        let Some(p) = o.get("port") else {
            self.error(n.at, path, "no 'port'");
            return None;
        };
        let port = self.int(p, &join(path, "port"), 1, 65535)?;
        let service = match o.get("service") {
            Some(s) => self.string(s, &join(path, "service"))?,
            None => String::new(),
        };
        Some(ProbeAction::Grpc { addr: format!("127.0.0.1:{port}"), service })
    }

    /// `httpHeaders`: a list of `{name, value}`, in order, names repeated at will.
    fn http_headers(&mut self, n: &Node, path: &str) -> Option<Vec<(String, String)>> {
        let Val::Seq(items) = &n.val else {
            self.error(n.at, path, "must be a list of {name, value}");
            return None;
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let ip = format!("{path}[{i}]");
            let o = self.object(item, &ip, HTTP_HEADER, None);
            let (Some(name), Some(value)) = (o.get("name"), o.get("value")) else {
                self.error(item.at, &ip, "needs 'name' and 'value'");
                return None;
            };
            let name_text = self.string(name, &join(&ip, "name"))?;
            if let Err(why) = crate::config::check_header_name(&name_text) {
                self.error(name.at, &join(&ip, "name"), why);
                return None;
            }
            let value = self.string(value, &join(&ip, "value"))?;
            out.push((name_text, value));
        }
        Some(out)
    }

    /// `http://host:port/path` and the headers of an httpGet action.
    pub(super) fn http_get(&mut self, n: &Node, path: &str, ports: &[(String, u16)]) -> Option<HttpGet> {
        let o = self.object(n, path, HTTP_GET, None);
        if let Some(s) = o.get("scheme") {
            match self.string(s, &join(path, "scheme"))?.as_str() {
                "HTTP" => {}
                "HTTPS" => {
                    let why =
                        "HTTPS is not supported: podinit's HTTP check speaks plain HTTP (an exec probe can run curl)";
                    self.error(s.at, &join(path, "scheme"), why);
                    return None;
                }
                other => {
                    self.error(s.at, &join(path, "scheme"), format!("'{other}' is not HTTP or HTTPS"));
                    return None;
                }
            }
        }
        let (host, port) = self.host_port(n, &o, path, ports)?;
        let mut p = match o.get("path") {
            Some(v) => self.string(v, &join(path, "path"))?,
            None => "/".to_string(),
        };
        if p.chars().any(char::is_whitespace) {
            self.error(o.get("path")?.at, &join(path, "path"), format!("'{p}' has white space in it"));
            return None;
        }
        if !p.starts_with('/') {
            p.insert(0, '/');
        }
        let headers = match o.get("httpHeaders") {
            Some(h) => self.http_headers(h, &join(path, "httpHeaders"))?,
            None => Vec::new(),
        };
        Some(HttpGet { url: format!("http://{host}:{port}{p}"), headers })
    }

    /// The host (default 127.0.0.1; IPv6 in brackets) and port of a tcpSocket or httpGet.
    pub(super) fn host_port(
        &mut self,
        n: &Node,
        o: &Obj,
        path: &str,
        ports: &[(String, u16)],
    ) -> Option<(String, u16)> {
        let host = match o.get("host") {
            Some(h) => {
                let host = self.nonempty(h, &join(path, "host"))?;
                if host.chars().any(|c| c.is_whitespace() || matches!(c, '/' | '@' | '?' | '#' | '[' | ']')) {
                    self.error(h.at, &join(path, "host"), format!("'{host}' is not a host name or address"));
                    return None;
                }
                if host.contains(':') {
                    format!("[{host}]")
                } else {
                    host
                }
            }
            // Kubernetes' default is the pod's IP; podinit's entries share one network, so loopback.
            None => "127.0.0.1".to_string(),
        };
        let Some(p) = o.get("port") else {
            self.error(n.at, path, "no 'port'");
            return None;
        };
        let port = match &p.val {
            Val::Str(name) => match ports.iter().find(|(n, _)| n == name) {
                Some((_, port)) => *port,
                None => {
                    let message = format!("no port named '{name}' in this container's ports");
                    self.error(p.at, &join(path, "port"), message);
                    return None;
                }
            },
            _ => self.int(p, &join(path, "port"), 1, 65535)? as u16,
        };
        Some((host, port))
    }

    /// `lifecycle.stopSignal`: a signal name or number.
    pub(super) fn signal(&mut self, n: &Node, path: &str) -> Option<i32> {
        let s = self.string(n, path)?;
        match signals::parse(&s) {
            Ok(sig) => Some(sig),
            Err(e) => {
                self.error(n.at, path, e.to_string());
                None
            }
        }
    }

    // -----------------------------------------------------------------------
    // podinit's own annotations.
}
