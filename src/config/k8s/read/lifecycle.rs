//! The newer lifecycle fields of a container: `restartPolicy` and
//! `restartPolicyRules` on any container (KEP-5307), and
//! `env[].valueFrom.fileKeyRef` (KEP-3721), whose file is found through the
//! container's `volumeMounts`.

use super::*;
use crate::config::{ExitCodeOperator, FileEnv, RestartRule};

/// Kubernetes' limits on restartPolicyRules.
const MAX_RULES: usize = 20;
const MAX_RULE_VALUES: usize = 255;

impl Reader<'_> {
    /// A container's `restartPolicy`: for an init container `Always` makes a
    /// sidecar (returned as None with `sidecar` set); otherwise the policy.
    pub(super) fn container_policy(&mut self, n: &Node, path: &str, init: bool) -> (Option<RestartPolicy>, bool) {
        let Some(rp) = self.string(n, path) else { return (None, false) };
        match rp.parse::<RestartPolicy>() {
            Ok(RestartPolicy::Always) if init => (None, true),
            Ok(p) => (Some(p), false),
            Err(_) => {
                self.error(n.at, path, format!("'{rp}' is not Always, OnFailure or Never"));
                (None, false)
            }
        }
    }

    /// `restartPolicyRules: [{action: Restart, exitCodes: {operator: In, values: [42]}}]`.
    pub(super) fn restart_rules(&mut self, n: &Node, path: &str) -> Vec<RestartRule> {
        let items = self.list(n, path);
        if items.len() > MAX_RULES {
            self.error(n.at, path, format!("has {} rules; Kubernetes allows at most {MAX_RULES}", items.len()));
        }
        let mut rules = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let ipath = format!("{path}[{i}]");
            let o = self.object(item, &ipath, &[("action", Use), ("exitCodes", Use)], None);
            match o.get("action") {
                None => self.error(item.at, &ipath, "no 'action' (the only action is Restart)"),
                Some(a) => {
                    if let Some(action) = self.string(a, &join(&ipath, "action")) {
                        if action != "Restart" {
                            let why =
                                format!("'{action}' is not supported: the only action Kubernetes defines is Restart");
                            self.error(a.at, &join(&ipath, "action"), why);
                        }
                    }
                }
            }
            let Some(codes) = o.get("exitCodes") else {
                self.error(item.at, &ipath, "no 'exitCodes': podinit's rules match exit codes");
                continue;
            };
            let cpath = join(&ipath, "exitCodes");
            let c = self.object(codes, &cpath, &[("operator", Use), ("values", Use)], None);
            let operator = match c.get("operator") {
                None => {
                    self.error(codes.at, &cpath, "no 'operator' (In or NotIn)");
                    None
                }
                Some(op) => match self.string(op, &join(&cpath, "operator")).as_deref() {
                    Some("In") => Some(ExitCodeOperator::In),
                    Some("NotIn") => Some(ExitCodeOperator::NotIn),
                    Some(other) => {
                        self.error(op.at, &join(&cpath, "operator"), format!("'{other}' is not In or NotIn"));
                        None
                    }
                    None => None,
                },
            };
            let mut values = Vec::new();
            if let Some(v) = c.get("values") {
                let vpath = join(&cpath, "values");
                let list = self.list(v, &vpath);
                if list.len() > MAX_RULE_VALUES {
                    let why = format!("has {} exit codes; Kubernetes allows at most {MAX_RULE_VALUES}", list.len());
                    self.error(v.at, &vpath, why);
                }
                for (j, x) in list.iter().enumerate() {
                    // A Linux exit status is 0-255 (a death by signal N counts as 128+N).
                    if let Some(code) = self.int(x, &format!("{vpath}[{j}]"), 0, 255) {
                        values.push(code as i32);
                    }
                }
            }
            if let Some(operator) = operator {
                rules.push(RestartRule { operator, values });
            }
        }
        rules
    }

    /// `env[i]` whose value is `valueFrom.fileKeyRef`: the file is the
    /// volume's mount path in this container joined with `path`.
    pub(super) fn file_key_ref(&mut self, n: &Node, path: &str, mounts: &[(String, PathBuf)]) -> Option<FileEnv> {
        let name_node = n.get("name")?;
        let name = self.nonempty(name_node, &join(path, "name"))?;
        let from = n.get("valueFrom")?;
        let fpath = join(path, "valueFrom.fileKeyRef");
        let r = from.get("fileKeyRef")?;
        if from.get("value").is_some() || n.get("value").is_some() {
            self.error(from.at, &join(path, "valueFrom"), "has both value and valueFrom");
            return None;
        }
        let table = [("volumeName", Use), ("path", Use), ("key", Use), ("optional", Use)];
        let o = self.object(r, &fpath, &table, None);
        let need = |r: &mut Self, k: &str| match o.get(k) {
            Some(v) => r.nonempty(v, &join(&fpath, k)).map(|s| (s, v.at)),
            None => {
                r.error(n.at, &join(&fpath, k), "missing");
                None
            }
        };
        let volume = need(self, "volumeName");
        let file = need(self, "path");
        let key = need(self, "key");
        let optional = o.get("optional").and_then(|v| self.boolean(v, &join(&fpath, "optional"))).unwrap_or(false);
        let ((volume, vat), (file, pat), (key, _)) = (volume?, file?, key?);
        if file.starts_with('/') || file.split('/').any(|c| c == "..") {
            self.error(pat, &join(&fpath, "path"), "must be relative to the volume, without '..'");
            return None;
        }
        let Some((_, mount)) = mounts.iter().find(|(v, _)| *v == volume) else {
            let why = format!("this container mounts no volume '{volume}' (podinit finds the file at its mountPath)");
            self.error(vat, &join(&fpath, "volumeName"), why);
            return None;
        };
        Some(FileEnv { name, path: mount.join(file), key, optional })
    }
}
