//! `env[]`: values, the downward API (`valueFrom.fieldRef`), ConfigMap and Secret keys.

use super::*;

impl Reader<'_> {
    pub(super) fn env_var(&mut self, n: &Node, path: &str, downward: &Downward) -> Option<(String, String, Pos)> {
        let o = self.object(n, path, ENV_VAR, None);
        let Some(name_node) = o.get("name") else {
            self.error(n.at, path, "no 'name'");
            return None;
        };
        let name = self.string(name_node, &join(path, "name"))?;
        if name.is_empty() || name.contains('=') {
            self.error(
                name_node.at,
                &join(path, "name"),
                format!("bad variable name '{name}' (non-empty, without '=')"),
            );
            return None;
        }
        let value = match (o.get("value"), o.get("valueFrom")) {
            (Some(v), Some(f)) => {
                let _ = v;
                self.error(f.at, &join(path, "valueFrom"), "has both value and valueFrom");
                return None;
            }
            (Some(v), None) => self.string(v, &join(path, "value"))?,
            // Some(None): an optional key that is absent, so the variable is not set.
            (None, Some(f)) => self.value_from(f, &join(path, "valueFrom"), downward)??,
            // Kubernetes: a variable without a value is set to the empty string.
            (None, None) => String::new(),
        };
        Some((name, value, n.at))
    }

    /// None on error; Some(None) when the variable is not set (an absent optional key).
    pub(super) fn value_from(&mut self, n: &Node, path: &str, d: &Downward) -> Option<Option<String>> {
        let o = self.object(n, path, VALUE_FROM, None);
        if o.rows.len() > 1 {
            let keys: Vec<&str> = o.rows.iter().map(|(k, _)| k.name.as_str()).collect();
            self.error(n.at, path, format!("has more than one source: {}", keys.join(", ")));
            return None;
        }
        if let Some(r) = o.get("configMapKeyRef") {
            return self.key_ref(r, &join(path, "configMapKeyRef"), sources::Source::ConfigMap);
        }
        if let Some(r) = o.get("secretKeyRef") {
            return self.key_ref(r, &join(path, "secretKeyRef"), sources::Source::Secret);
        }
        if let Some(r) = o.get("resourceFieldRef") {
            let container = self.current.clone();
            return self.resource_value(r, &join(path, "resourceFieldRef"), &container).map(Some);
        }
        let Some(f) = o.get("fieldRef") else {
            if o.rows.is_empty() && self.errors.iter().all(|e| !e.message.starts_with(path)) {
                self.error(n.at, path, "needs fieldRef, resourceFieldRef, configMapKeyRef or secretKeyRef");
            }
            return None;
        };
        let fpath = join(path, "fieldRef");
        let r = self.object(f, &fpath, &[("fieldPath", Use), ("apiVersion", Use)], None);
        if let Some(v) = r.get("apiVersion") {
            if self.string(v, &join(&fpath, "apiVersion")).is_some_and(|a| a != "v1") {
                self.error(v.at, &join(&fpath, "apiVersion"), "must be v1");
            }
        }
        let Some(fp) = r.get("fieldPath") else {
            self.error(f.at, &fpath, "no 'fieldPath'");
            return None;
        };
        let field = self.string(fp, &join(&fpath, "fieldPath"))?;
        self.downward_value(fp, &join(&fpath, "fieldPath"), &field, d).map(Some)
    }

    /// The env value the downward API gives for `field` (`fp` is where it is written).
    pub(super) fn downward_value(&mut self, fp: &Node, fp_path: &str, field: &str, d: &Downward) -> Option<String> {
        // Literal values are escaped: Kubernetes does not expand $(VAR) in what the downward API gives.
        let literal = |s: &str| s.replace('$', "$$");
        let keyed = |prefix: &str| {
            let rest = field.strip_prefix(prefix)?.strip_suffix(']')?;
            let key = rest.strip_prefix('\'').and_then(|r| r.strip_suffix('\''));
            key.or_else(|| rest.strip_prefix('"').and_then(|r| r.strip_suffix('"'))).map(str::to_string)
        };
        let lookup = |map: &[(String, String)], k: &str| map.iter().find(|(n, _)| n == k).map(|(_, v)| literal(v));
        let value = match field {
            "metadata.name" => "$(POD_NAME)".to_string(),
            "metadata.namespace" => "$(POD_NAMESPACE)".to_string(),
            "metadata.uid" => literal(&d.uid),
            "spec.nodeName" => literal(&d.node_name.clone().unwrap_or_else(hostname)),
            "spec.serviceAccountName" => literal(d.service_account.as_deref().unwrap_or("default")),
            // One machine: the node's address and the pod's are the same.
            "status.podIP" | "status.podIPs" | "status.hostIP" | "status.hostIPs" => pod_ip(),
            _ => {
                if let Some(k) = keyed("metadata.labels[") {
                    lookup(&d.labels, &k).unwrap_or_default()
                } else if let Some(k) = keyed("metadata.annotations[") {
                    lookup(&d.annotations, &k).unwrap_or_default()
                } else {
                    let known = "metadata.name, metadata.namespace, metadata.uid, metadata.labels['KEY'], \
                                 metadata.annotations['KEY'], spec.nodeName, spec.serviceAccountName, status.podIP(s), status.hostIP(s)";
                    self.error(fp.at, fp_path, format!("'{field}' is not supported (podinit knows {known})"));
                    return None;
                }
            }
        };
        Some(value)
    }
}

/// A fresh pod UID when the manifest has none (a cluster gives each pod a new one).
pub(super) fn random_uid() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/uuid").map(|s| s.trim().to_string()).unwrap_or_default()
}

/// `spec.nodeName` when the manifest has none: the machine's host name.
pub(super) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|s| s.trim().to_string()).unwrap_or_default()
}

/// `status.podIP`: the first address of an up, non-loopback interface (IPv4 first),
/// else 127.0.0.1.
pub(super) fn pod_ip() -> String {
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else { return "127.0.0.1".to_string() };
    let mut v6 = None;
    for a in addrs {
        let up = a.flags.contains(nix::net::if_::InterfaceFlags::IFF_UP)
            && !a.flags.contains(nix::net::if_::InterfaceFlags::IFF_LOOPBACK);
        let Some(addr) = a.address.filter(|_| up) else { continue };
        if let Some(v4) = addr.as_sockaddr_in() {
            return v4.ip().to_string();
        }
        if let Some(s6) = addr.as_sockaddr_in6() {
            let ip = s6.ip();
            // Link-local addresses need a scope to be usable; a pod IP never is one.
            if v6.is_none() && (ip.segments()[0] & 0xffc0) != 0xfe80 {
                v6 = Some(ip.to_string());
            }
        }
    }
    v6.unwrap_or_else(|| "127.0.0.1".to_string())
}
