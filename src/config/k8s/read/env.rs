//! `env[]`: values, the downward API (`valueFrom.fieldRef`), ConfigMap and Secret keys.

use super::*;

impl Reader<'_> {
    /// One `env[]` entry as (name, value, where). None on error, and when `valueFrom`
    /// names an optional key that is absent (the variable is then not set).
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
            // A literal `$(status.podIP)` is not a reference on a cluster: escape it.
            (Some(v), None) => {
                crate::config::expand::downward(&self.string(v, &join(path, "value"))?, |f| format!("$$({f})"))
            }
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
            // What only the running pod knows stays a reference, resolved when it starts
            // (config::expand::DOWNWARD), so that import and export keep the fieldRef.
            "metadata.uid" => d.uid.as_deref().map_or("$(metadata.uid)".to_string(), literal),
            "spec.nodeName" => d.node_name.as_deref().map_or("$(spec.nodeName)".to_string(), literal),
            "spec.serviceAccountName" => literal(d.service_account.as_deref().unwrap_or("default")),
            // A pod has one address here, so the lists are that one address.
            "status.podIP" | "status.podIPs" => "$(status.podIP)".to_string(),
            "status.hostIP" | "status.hostIPs" => "$(status.hostIP)".to_string(),
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
