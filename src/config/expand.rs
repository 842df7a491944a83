//! Kubernetes `$(VAR)` expansion for command, args and env values.
//!
//! Same rules as k8s.io/kubernetes/third_party/forked/golang/expansion:
//! `$(NAME)` becomes NAME's value when NAME is defined and stays as written
//! otherwise; `$$` is an escaped `$` (so `$$(NAME)` yields the literal `$(NAME)`);
//! any other `$` is kept.

/// Expands `$(VAR)` references in `input` using `lookup`.
pub fn expand<'a>(input: &str, lookup: impl Fn(&str) -> Option<&'a str>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(') {
            match inner.find(')') {
                Some(end) => {
                    let name = &inner[..end];
                    match lookup(name) {
                        Some(v) if !name.is_empty() => out.push_str(v),
                        _ => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &inner[end + 1..];
                }
                None => {
                    out.push_str("$(");
                    rest = inner;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The downward-API fields whose value only the running pod knows. A manifest's
/// `valueFrom.fieldRef` to one of them reads as the reference `$(FIELD)` (so
/// `import` and `export` keep it a reference), and podinit resolves it when the
/// pod starts ([`downward`]); a pod file can write it the same way.
pub(crate) const DOWNWARD: &[&str] = &["metadata.uid", "spec.nodeName", "status.podIP", "status.hostIP"];

/// `input` with each `$(FIELD)` of [`DOWNWARD`] replaced by `value(FIELD)`;
/// everything else, `$$` escapes included, stays as written for [`expand`].
pub(crate) fn downward(input: &str, mut value: impl FnMut(&str) -> String) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push_str("$$");
            rest = tail;
            continue;
        }
        let field = after
            .strip_prefix('(')
            .and_then(|a| DOWNWARD.iter().find(|f| a.strip_prefix(**f).is_some_and(|t| t.starts_with(')'))));
        match field {
            Some(f) => {
                out.push_str(&value(f));
                rest = &after[f.len() + 2..];
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// One entry's variables: a base that every entry shares (podinit's own
/// environment, not copied per entry) and the entry's definitions on top. A
/// definition replaces a base variable of the same name in place; a new name
/// comes after the base, in the order it was first defined.
pub struct Vars<'a> {
    base: &'a [(String, String)],
    own: Vec<(&'a str, String)>,
}

impl<'a> Vars<'a> {
    /// `base` and nothing of the entry's yet.
    pub fn new(base: &'a [(String, String)]) -> Vars<'a> {
        Vars { base, own: Vec::new() }
    }

    /// The value of `name`: the entry's definition, else the base's.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.own_value(name).or_else(|| self.base.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()))
    }

    /// Defines `k` as `v`, replacing an earlier definition.
    pub fn set(&mut self, k: &'a str, v: String) {
        match self.own.iter_mut().find(|(n, _)| *n == k) {
            Some(slot) => slot.1 = v,
            None => self.own.push((k, v)),
        }
    }

    /// Defines `vars` in order, each value expanded against what is defined so
    /// far (Kubernetes: a variable may refer to ones defined before it).
    pub fn extend(&mut self, vars: &'a [(String, String)]) {
        for (k, v) in vars {
            let value = expand(v, |name| self.get(name));
            self.set(k, value);
        }
    }

    /// True when `name` is defined, in the base or by the entry.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Every variable once, in order: the base's (with the entry's values where
    /// it redefines them), then the names the entry added.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let base = self.base.iter().map(|(k, v)| (k.as_str(), self.own_value(k).unwrap_or(v)));
        let added = self.own.iter().filter(|(k, _)| !self.base.iter().any(|(b, _)| b == k));
        base.chain(added.map(|(k, v)| (*k, v.as_str())))
    }

    fn own_value(&self, name: &str) -> Option<&str> {
        self.own.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(s: &str) -> String {
        let base = [("A".to_string(), "x".to_string()), ("EMPTY".to_string(), String::new())];
        let vars = Vars::new(&base);
        expand(s, |n| vars.get(n))
    }

    #[test]
    fn kubernetes_rules() {
        assert_eq!(ex("$(A)"), "x");
        assert_eq!(ex("pre-$(A)-post"), "pre-x-post");
        assert_eq!(ex("$(B)"), "$(B)");
        assert_eq!(ex("$$(A)"), "$(A)");
        assert_eq!(ex("$$$(A)"), "$x");
        assert_eq!(ex("$A"), "$A");
        assert_eq!(ex("$"), "$");
        assert_eq!(ex("$(A"), "$(A");
        assert_eq!(ex("$()"), "$()");
        assert_eq!(ex("$(EMPTY)."), ".");
        assert_eq!(ex("a$$b"), "a$b");
        assert_eq!(ex("ünï$(A)cödé"), "ünïxcödé");
    }

    #[test]
    fn downward_references_resolve_and_escapes_stay() {
        let ip = |f: &str| if f == "status.podIP" { "10.0.0.7".to_string() } else { format!("<{f}>") };
        assert_eq!(downward("$(status.podIP)", ip), "10.0.0.7");
        assert_eq!(downward("http://$(status.podIP):80/$(spec.nodeName)", ip), "http://10.0.0.7:80/<spec.nodeName>");
        // `$$` is expand's escape: it and what follows stay for expand to undo.
        assert_eq!(downward("$$(status.podIP) $$$(metadata.uid)", ip), "$$(status.podIP) $$<metadata.uid>");
        assert_eq!(downward("$(status.podIPs) $(A) $ $(status.podIP", ip), "$(status.podIPs) $(A) $ $(status.podIP");
        assert_eq!(ex(&downward("$$(status.podIP)", ip)), "$(status.podIP)");
    }

    #[test]
    fn env_refers_to_earlier_vars() {
        let base = [("POD_NAME".to_string(), "web".to_string())];
        let defs =
            [("URL".to_string(), "http://$(POD_NAME)/".to_string()), ("POD_NAME".into(), "$(POD_NAME)-2".into())];
        let mut vars = Vars::new(&base);
        vars.extend(&defs);
        assert_eq!(vars.get("URL"), Some("http://web/"));
        assert_eq!(vars.get("POD_NAME"), Some("web-2"));
    }

    #[test]
    fn definitions_replace_in_place_and_new_names_come_last() {
        let base = [("A".to_string(), "1".to_string()), ("B".to_string(), "2".to_string())];
        let defs = [("C".to_string(), "$(B)3".to_string()), ("A".to_string(), "one".to_string())];
        let mut vars = Vars::new(&base);
        vars.set("D", "4".to_string());
        vars.extend(&defs);
        vars.set("D", "four".to_string());
        let all: Vec<(&str, &str)> = vars.iter().collect();
        assert_eq!(all, [("A", "one"), ("B", "2"), ("D", "four"), ("C", "23")]);
        assert!(vars.contains("B") && vars.contains("C") && !vars.contains("E"));
        // The base itself is untouched: the next entry starts from it again.
        assert_eq!(base[0].1, "1");
    }
}
