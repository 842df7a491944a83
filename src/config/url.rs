//! `http://host[:port][/path]` and `host:port` as podinit reads them, in one
//! place: probes, waiters, httpGet hooks, the pod-file checks and the
//! manifest export all split a target with these functions, so they cannot
//! disagree (a `?` right after the host is the query, a `#` the fragment).

/// The parts of an `http://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HttpTarget<'a> {
    /// The host as written, IPv6 in brackets (`[::1]`).
    pub host: &'a str,
    /// The port; 80 when the URL has none.
    pub port: u16,
    /// `host[:port]` as written: the `Host` header.
    pub authority: &'a str,
    /// What the request line asks for: the path (`/` when empty) and query,
    /// without the fragment.
    pub path: String,
}

impl HttpTarget<'_> {
    /// The host without IPv6 brackets, for a resolver or an address parser.
    pub(crate) fn bare_host(&self) -> &str {
        unbracket(self.host)
    }
}

/// Splits an `http://` URL; the error says what is wrong with it.
pub(crate) fn http_target(url: &str) -> Result<HttpTarget<'_>, String> {
    if url.get(..8).is_some_and(|p| p.eq_ignore_ascii_case("https://")) {
        return Err("https is not supported: use http://, or an exec probe that runs curl".to_string());
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return Err("expected a URL like http://127.0.0.1:8080/healthz".to_string());
    };
    let cut = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(cut);
    let tail = tail.split('#').next().unwrap_or_default();
    let path = if tail.starts_with('/') { tail.to_string() } else { format!("/{tail}") };
    // A port is present when a ':' follows the (possibly bracketed) host.
    let has_port = authority.rsplit_once(':').is_some_and(|(h, _)| !h.starts_with('[') || h.ends_with(']'));
    let (host, port) = if has_port {
        split_host_port(authority)?
    } else {
        check_host(authority)?;
        (authority, 80)
    };
    Ok(HttpTarget { host, port, authority, path })
}

/// Splits `host:port` (an IPv6 host in brackets, `[::1]:80`); the host keeps its brackets.
pub(crate) fn split_host_port(s: &str) -> Result<(&str, u16), String> {
    let Some((host, port)) = s.rsplit_once(':') else {
        return Err("expected host:port, like \"127.0.0.1:80\"".to_string());
    };
    check_host(host)?;
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok((host, p)),
        _ => Err(format!("port '{port}' is not a number from 1 to 65535")),
    }
}

fn unbracket(h: &str) -> &str {
    h.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(h)
}

fn check_host(host: &str) -> Result<(), String> {
    let bare = unbracket(host);
    if bare.is_empty() {
        return Err("the host is missing".to_string());
    }
    if bare.len() == host.len() && host.contains(':') {
        return Err("an IPv6 host needs brackets, like [::1]:80".to_string());
    }
    if host.chars().any(|c| c.is_whitespace() || matches!(c, '/' | '@' | '?' | '#')) {
        return Err(format!("'{host}' is not a host name or address"));
    }
    Ok(())
}

/// An HTTP header name is a token (RFC 9110 §5.1), as Kubernetes validates it.
pub(crate) fn check_header_name(name: &str) -> Result<(), String> {
    let tchar = |c: char| {
        c.is_ascii_alphanumeric()
            || matches!(c, '!' | '#' | '$' | '%' | '&' | '\'' | '*' | '+' | '-' | '.' | '^' | '_' | '`' | '|' | '~')
    };
    if name.is_empty() || !name.chars().all(tchar) {
        return Err(format!("'{name}' is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_ports() {
        for (ok, host, port) in
            [("127.0.0.1:80", "127.0.0.1", 80), ("db:5432", "db", 5432), ("[::1]:65535", "[::1]", 65535)]
        {
            assert_eq!(split_host_port(ok), Ok((host, port)), "{ok}");
        }
        for bad in ["db", ":80", "db:", "db:x", "db:65536", "::1:80", "[]:80", "a b:1", "db:0"] {
            assert!(split_host_port(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls() {
        let t = |u| http_target(u).map(|t| (t.bare_host().to_string(), t.port, t.authority.to_string(), t.path));
        let ok = |h: &str, p, a: &str, path: &str| Ok((h.to_string(), p, a.to_string(), path.to_string()));
        assert_eq!(t("http://h"), ok("h", 80, "h", "/"));
        assert_eq!(t("http://h:8080/x?y#z"), ok("h", 8080, "h:8080", "/x?y"));
        // The query right after the host: the same for a probe and a hook (it once was not).
        assert_eq!(t("http://h?x=1"), ok("h", 80, "h", "/?x=1"));
        assert_eq!(t("http://h#frag"), ok("h", 80, "h", "/"));
        assert_eq!(t("http://[::1]:81/a"), ok("::1", 81, "[::1]:81", "/a"));
        assert_eq!(t("http://[::1]"), ok("::1", 80, "[::1]", "/"));
        for bad in
            ["https://h/", "HTTPS://h", "ftp://h", "h:80", "http://", "http://:80/", "http://h:0/", "http://u@h/"]
        {
            assert!(http_target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn header_names() {
        for ok in ["Host", "X-Custom_1", "a.b"] {
            assert_eq!(check_header_name(ok), Ok(()), "{ok}");
        }
        for bad in ["", "a b", "a:b", "é"] {
            assert!(check_header_name(bad).is_err(), "{bad}");
        }
    }
}
