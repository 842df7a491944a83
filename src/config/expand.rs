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

/// Adds `vars` to `env` in order, each value expanded against what `env` holds so
/// far (Kubernetes: a variable may refer to ones defined before it). A later
/// definition of a name replaces the earlier one in place.
pub fn extend_env(env: &mut Vec<(String, String)>, vars: &[(String, String)]) {
    for (k, v) in vars {
        let value = expand(v, |name| lookup(env, name));
        set(env, k, value);
    }
}

/// Sets `k` to `v` in `env`, replacing an existing definition.
pub fn set(env: &mut Vec<(String, String)>, k: &str, v: String) {
    match env.iter_mut().find(|(n, _)| n == k) {
        Some(slot) => slot.1 = v,
        None => env.push((k.to_string(), v)),
    }
}

/// The value of `name` in `env`.
pub fn lookup<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
    env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(s: &str) -> String {
        let env = vec![("A".to_string(), "x".to_string()), ("EMPTY".to_string(), String::new())];
        expand(s, |n| lookup(&env, n))
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
    fn env_refers_to_earlier_vars() {
        let mut env = vec![("POD_NAME".to_string(), "web".to_string())];
        extend_env(
            &mut env,
            &[("URL".into(), "http://$(POD_NAME)/".into()), ("POD_NAME".into(), "$(POD_NAME)-2".into())],
        );
        assert_eq!(lookup(&env, "URL"), Some("http://web/"));
        assert_eq!(lookup(&env, "POD_NAME"), Some("web-2"));
    }
}
