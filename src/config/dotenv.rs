//! The dotenv reader behind `env_file` and `fileKeyRef` (KEP-3721): strict,
//! so that a typo in a file an init step wrote stops the entry's start with
//! `FILE:LINE:COL: message` instead of starting it with a wrong environment.
//!
//! The format, one variable per line:
//!
//! ```text
//! # a comment, and blank lines, are skipped
//! KEY=value            # unquoted: trimmed; ' #' starts a comment
//! export KEY=value     # the shell's 'export ' prefix is allowed
//! KEY='literal $ \ "'  # single quotes: exactly what is between them
//! KEY="a\nb \"q\""     # double quotes: \n \t \r \" \\ \$ escapes
//! KEY=                 # the empty string
//! ```
//!
//! Nothing is expanded: `$VAR` and `$(VAR)` stay as written (Kubernetes does
//! not expand what a file gives either). A later line replaces an earlier one
//! of the same key, as a shell would.

use std::path::Path;

use super::ConfigError;

/// An env file is small; reading stops past this (a runaway file must not
/// exhaust PID 1's memory).
pub(crate) const MAX_ENV_FILE_BYTES: u64 = 1 << 20;

/// Reads the dotenv file at `path`: its variables in file order, or the first
/// problem, positioned.
pub(crate) fn read(path: &Path) -> Result<Vec<(String, String)>, ConfigError> {
    use std::io::Read;
    let fail = |message: String| ConfigError { path: path.to_path_buf(), line: None, col: None, message };
    let file =
        std::fs::File::open(path).map_err(|e| fail(format!("cannot read env file: {}", super::io_reason(&e))))?;
    let mut bytes = Vec::new();
    file.take(MAX_ENV_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot read env file: {}", super::io_reason(&e))))?;
    if bytes.len() as u64 > MAX_ENV_FILE_BYTES {
        return Err(fail(format!("env file larger than {} MiB", MAX_ENV_FILE_BYTES >> 20)));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let (line, col) = super::line_col(e.as_bytes(), e.utf8_error().valid_up_to());
        ConfigError { path: path.to_path_buf(), line: Some(line), col: Some(col), message: "not valid UTF-8".into() }
    })?;
    parse(&text).map_err(|(line, col, message)| ConfigError {
        path: path.to_path_buf(),
        line: Some(line),
        col: Some(col),
        message,
    })
}

/// The value of `key` in the dotenv file at `path`; `Ok(None)` when the file
/// or the key is missing and `optional` (KEP-3721: the variable is then not set).
pub(crate) fn lookup(path: &Path, key: &str, optional: bool) -> Result<Option<String>, ConfigError> {
    let vars = match read(path) {
        Ok(vars) => vars,
        Err(e) if optional && !path.exists() => {
            let _ = e;
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    match vars.into_iter().rev().find(|(k, _)| k == key) {
        Some((_, v)) => Ok(Some(v)),
        None if optional => Ok(None),
        None => Err(ConfigError {
            path: path.to_path_buf(),
            line: None,
            col: None,
            message: format!("env file has no key '{key}'"),
        }),
    }
}

/// Parses dotenv `text`; the error is (line, column, message), 1-based.
pub(crate) fn parse(text: &str) -> Result<Vec<(String, String)>, (usize, usize, String)> {
    let mut vars: Vec<(String, String)> = Vec::new();
    for (n, raw) in text.split('\n').enumerate() {
        let line_no = n + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let indent = line.len() - line.trim_start().len();
        let body = line.trim_start();
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let col_of = |byte: usize| line.get(..byte).map_or(1, |s| s.chars().count() + 1);
        let (body, skip) = match body.strip_prefix("export ") {
            Some(rest) => (rest.trim_start(), body.len() - rest.trim_start().len()),
            None => (body, 0),
        };
        let key_at = indent + skip;
        let Some(eq) = body.find('=') else {
            return Err((line_no, col_of(key_at), format!("expected KEY=VALUE, found '{}'", body.trim_end())));
        };
        let key = &body[..eq];
        if let Err(why) = check_key(key) {
            return Err((line_no, col_of(key_at), why));
        }
        let value_at = key_at + eq + 1;
        let value = value(&body[eq + 1..]).map_err(|(off, why)| (line_no, col_of(value_at + off), why))?;
        match vars.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => vars.push((key.to_string(), value)),
        }
    }
    Ok(vars)
}

/// A key is what a shell could name: letters, digits and '_', not starting with a digit.
fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("missing variable name before '='".into());
    }
    if key.ends_with(char::is_whitespace) {
        return Err(format!("space before '=' after '{}': write KEY=VALUE", key.trim_end()));
    }
    let ok = key.chars().enumerate().all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
    if !ok {
        return Err(format!("bad variable name '{key}' (letters, digits and '_', not starting with a digit)"));
    }
    Ok(())
}

/// The value after '=': (byte offset in `v`, message) on error.
fn value(v: &str) -> Result<String, (usize, String)> {
    let after_quote = |rest: &str, end: usize| -> Result<(), (usize, String)> {
        let tail = rest.trim_start();
        if tail.is_empty() || tail.starts_with('#') {
            Ok(())
        } else {
            Err((end + (rest.len() - tail.len()), format!("unexpected '{tail}' after the closing quote")))
        }
    };
    if let Some(rest) = v.strip_prefix('\'') {
        let Some(end) = rest.find('\'') else {
            return Err((0, "unterminated single quote (a value is on one line)".into()));
        };
        after_quote(&rest[end + 1..], end + 2)?;
        return Ok(rest[..end].to_string());
    }
    if let Some(rest) = v.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = rest.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    after_quote(&rest[i + 1..], i + 2)?;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, 'r')) => out.push('\r'),
                    Some((_, c @ ('"' | '\\' | '$' | '\''))) => out.push(c),
                    Some((_, c)) => {
                        return Err((i + 1, format!("unknown escape '\\{c}' (use \\n \\t \\r \\\" \\\\ \\$)")))
                    }
                    None => break,
                },
                c => out.push(c),
            }
        }
        return Err((0, "unterminated double quote (a value is on one line)".into()));
    }
    // Unquoted: up to a ' #' comment, trimmed.
    let cut = v.find(" #").or_else(|| v.find("\t#")).unwrap_or(v.len());
    let value = v[..cut].trim();
    if value.contains(['"', '\'']) && (value.starts_with(['"', '\'']) || value.ends_with(['"', '\''])) {
        let at = v.len() - v.trim_start().len();
        return Err((at, "a quoted value must start right after '='".into()));
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Vec<(String, String)> {
        parse(text).unwrap_or_else(|e| panic!("{text:?}: {e:?}"))
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_format() {
        let text = "# comment\n\nA=1\n  export B = x\nC='lit $X \\n \"q\"'  # c\nD=\"a\\nb \\\"q\\\" \\$\" \nE=\nF=two words # c\r\nA=again\nG=a#b\n";
        // "B = x" has a space before '=': an error, checked below; without it:
        let text = text.replace("B = x", "B= x");
        assert_eq!(
            ok(&text),
            pairs(&[
                ("A", "again"),
                ("B", "x"),
                ("C", "lit $X \\n \"q\""),
                ("D", "a\nb \"q\" $"),
                ("E", ""),
                ("F", "two words"),
                ("G", "a#b"),
            ])
        );
        assert_eq!(ok(""), pairs(&[]));
        assert_eq!(ok("K=$(VAR) $VAR"), pairs(&[("K", "$(VAR) $VAR")]));
    }

    #[test]
    fn errors_name_the_line_and_column() {
        for (text, line, col, want) in [
            ("A=1\nnonsense\n", 2, 1, "expected KEY=VALUE, found 'nonsense'"),
            ("=1\n", 1, 1, "missing variable name"),
            ("A B=1\n", 1, 1, "bad variable name 'A B'"),
            ("A =1\n", 1, 1, "space before '='"),
            ("1A=1\n", 1, 1, "bad variable name '1A'"),
            ("  export K-1=x\n", 1, 10, "bad variable name 'K-1'"),
            ("A=\"open\n", 1, 3, "unterminated double quote"),
            ("A='open\n", 1, 3, "unterminated single quote"),
            ("A=\"x\" y\n", 1, 7, "unexpected 'y' after the closing quote"),
            ("A='x'y\n", 1, 6, "unexpected 'y' after the closing quote"),
            ("A=\"\\q\"\n", 1, 4, "unknown escape '\\q'"),
            ("A= \"x\"\n", 1, 4, "a quoted value must start right after '='"),
        ] {
            match parse(text) {
                Err((l, c, m)) => {
                    assert_eq!((l, c), (line, col), "{text:?}: {m}");
                    assert!(m.starts_with(want), "{text:?}: {m}");
                }
                Ok(v) => panic!("{text:?} parsed: {v:?}"),
            }
        }
    }

    #[test]
    fn files_and_keys() {
        let tmp = crate::testutil::TempDir::new("dotenv");
        let dir = &tmp.0;
        let f = dir.join("app.env");
        std::fs::write(&f, "A=1\nB=2\nbad\n").expect("write");
        let e = read(&f).expect_err("bad line");
        assert_eq!(e.to_string(), format!("{}:3:1: expected KEY=VALUE, found 'bad'", f.display()));
        std::fs::write(&f, "A=1\nB=2\n").expect("write");
        assert_eq!(lookup(&f, "B", false).expect("B"), Some("2".into()));
        assert_eq!(lookup(&f, "C", true).expect("optional"), None);
        assert_eq!(
            lookup(&f, "C", false).expect_err("missing").to_string(),
            format!("{}: env file has no key 'C'", f.display())
        );
        let gone = dir.join("gone.env");
        assert_eq!(lookup(&gone, "A", true).expect("optional file"), None);
        assert!(lookup(&gone, "A", false).expect_err("missing file").to_string().contains("No such file"));
    }
}
