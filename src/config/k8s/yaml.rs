//! YAML (and JSON, which YAML 1.2 contains) to a small tree that remembers
//! where every node starts, built from the events of `saphyr-parser`.
//!
//! The tree is what the manifest reader checks by hand, so that each error can
//! name its line and column. Plain scalars are typed as Kubernetes' own YAML
//! reader (go-yaml v2, YAML 1.1 rules) types them: `yes`, `on` and `y` are
//! booleans there, so `value: yes` is rejected here as it would be by
//! `kubectl`, instead of being silently read as a string.

use saphyr_parser::{Event, Parser, ScalarStyle};

/// Where a node starts: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
}

/// A value of the tree.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    /// `null`, `~` or nothing.
    Null,
    /// `true`, `false` (and YAML 1.1's yes/no/on/off/y/n).
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A number with a fraction or exponent, as written.
    Float(String),
    /// Any other scalar, or a quoted or block one.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order; keys are strings.
    Map(Vec<(Key, Node)>),
}

/// A mapping key and where it is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Key {
    /// The key's text.
    pub name: String,
    /// Where it starts.
    pub at: Pos,
}

/// A value and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// Where the value starts.
    pub at: Pos,
    /// The value.
    pub val: Val,
}

impl Node {
    /// "a string", "a list", … for "found …" in messages.
    pub(crate) fn describe(&self) -> String {
        match &self.val {
            Val::Null => "null".to_string(),
            Val::Bool(b) => format!("a boolean ({b})"),
            Val::Int(n) => format!("an integer ({n})"),
            Val::Float(f) => format!("a number ({f})"),
            Val::Str(_) => "a string".to_string(),
            Val::Seq(_) => "a list".to_string(),
            Val::Map(_) => "a mapping".to_string(),
        }
    }

    /// The value under `key` when this is a mapping.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        match &self.val {
            Val::Map(rows) => rows.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string value, when this is a string.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match &self.val {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// A syntax error, or a structure podinit refuses (duplicate keys, non-string keys, …).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SyntaxError {
    /// Where the problem is.
    pub at: Pos,
    /// What it is, in one line.
    pub message: String,
}

/// Deeper nesting than this is refused: no manifest needs it, and the tree is built recursively.
const MAX_DEPTH: usize = 64;
/// Aliases can multiply a small file into a huge tree ("billion laughs"); a manifest has a few thousand nodes.
const MAX_NODES: usize = 200_000;

/// Parses every document of `text`; an empty document is `Val::Null`.
pub(crate) fn parse(text: &str) -> Result<Vec<Node>, SyntaxError> {
    let mut b = Builder { parser: Parser::new_from_str(text), anchors: Vec::new(), nodes: 0 };
    let mut docs = Vec::new();
    loop {
        let (ev, at) = b.next()?;
        match ev {
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            Event::StreamEnd => return Ok(docs),
            Event::DocumentStart(_) => {
                let (ev, at) = b.next()?;
                if matches!(ev, Event::DocumentEnd) {
                    docs.push(Node { at, val: Val::Null });
                } else {
                    docs.push(b.node(ev, at, 0)?);
                }
            }
            _ => return Err(SyntaxError { at, message: "unexpected YAML event outside a document".into() }),
        }
    }
}

struct Builder<'t> {
    parser: Parser<'t, saphyr_parser::StrInput<'t>>,
    /// Anchored nodes by the parser's anchor id, for aliases (a Vec: a manifest has few, and no hasher to link).
    anchors: Vec<(usize, Node)>,
    nodes: usize,
}

impl<'t> Builder<'t> {
    fn next(&mut self) -> Result<(Event<'t>, Pos), SyntaxError> {
        match self.parser.next_event() {
            Some(Ok((ev, span))) => Ok((ev, Pos { line: span.start.line(), col: span.start.col() + 1 })),
            Some(Err(e)) => Err(SyntaxError {
                at: Pos { line: e.marker().line(), col: e.marker().col() + 1 },
                message: e.info().to_string(),
            }),
            None => Err(SyntaxError { at: Pos::default(), message: "unexpected end of input".into() }),
        }
    }

    fn count(&mut self, at: Pos, n: usize) -> Result<(), SyntaxError> {
        self.nodes += n;
        if self.nodes > MAX_NODES {
            return Err(SyntaxError { at, message: format!("more than {MAX_NODES} values (aliases expanding?)") });
        }
        Ok(())
    }

    fn node(&mut self, ev: Event<'t>, at: Pos, depth: usize) -> Result<Node, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(SyntaxError { at, message: format!("nested deeper than {MAX_DEPTH} levels") });
        }
        self.count(at, 1)?;
        let (node, anchor) = match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let is_str_tag = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let val =
                    if style == ScalarStyle::Plain && !is_str_tag { resolve(&text) } else { Val::Str(text.into()) };
                (Node { at, val }, anchor)
            }
            Event::Alias(id) => {
                let Some(node) = self.anchors.iter().rev().find(|(a, _)| *a == id).map(|(_, n)| n.clone()) else {
                    return Err(SyntaxError { at, message: "alias to an unknown anchor".into() });
                };
                self.count(at, size(&node))?;
                return Ok(Node { at, val: node.val });
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                loop {
                    let (ev, at) = self.next()?;
                    if matches!(ev, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(ev, at, depth + 1)?);
                }
                (Node { at, val: Val::Seq(items) }, anchor)
            }
            Event::MappingStart(anchor, _) => (Node { at, val: Val::Map(self.mapping(depth)?) }, anchor),
            _ => return Err(SyntaxError { at, message: "unexpected YAML event".into() }),
        };
        if anchor > 0 {
            self.anchors.push((anchor, node.clone()));
        }
        Ok(node)
    }

    fn mapping(&mut self, depth: usize) -> Result<Vec<(Key, Node)>, SyntaxError> {
        let mut rows: Vec<(Key, Node)> = Vec::new();
        // Keys that came from a `<<` merge: a key written in the mapping itself replaces them.
        let mut merged: Vec<String> = Vec::new();
        loop {
            let (ev, at) = self.next()?;
            let name = match ev {
                Event::MappingEnd => return Ok(rows),
                Event::Scalar(text, ..) => text.into_owned(),
                Event::Alias(_) | Event::SequenceStart(..) | Event::MappingStart(..) => {
                    return Err(SyntaxError { at, message: "a mapping key must be a plain string".into() })
                }
                _ => return Err(SyntaxError { at, message: "unexpected YAML event in a mapping".into() }),
            };
            let (ev, vat) = self.next()?;
            let value = self.node(ev, vat, depth + 1)?;
            if name == "<<" {
                // YAML 1.1 merge key, which Kubernetes' reader honours: keys not already present.
                let sources = match value.val {
                    Val::Map(m) => vec![m],
                    Val::Seq(items) => items
                        .into_iter()
                        .map(|n| match n.val {
                            Val::Map(m) => Ok(m),
                            _ => Err(SyntaxError { at: n.at, message: "'<<' merges mappings only".into() }),
                        })
                        .collect::<Result<_, _>>()?,
                    _ => return Err(SyntaxError { at: vat, message: "'<<' merges mappings only".into() }),
                };
                for (k, v) in sources.into_iter().flatten() {
                    if !rows.iter().any(|(seen, _)| seen.name == k.name) {
                        merged.push(k.name.clone());
                        rows.push((k, v));
                    }
                }
                continue;
            }
            if let Some(i) = rows.iter().position(|(k, _)| k.name == name) {
                if let Some(m) = merged.iter().position(|k| *k == name) {
                    merged.remove(m);
                    rows[i] = (Key { name, at }, value);
                    continue;
                }
                let first = rows[i].0.at.line;
                return Err(SyntaxError { at, message: format!("duplicate key '{name}' (first on line {first})") });
            }
            rows.push((Key { name, at }, value));
        }
    }
}

/// Number of nodes in a tree, to bound what aliases expand to.
fn size(node: &Node) -> usize {
    match &node.val {
        Val::Seq(items) => 1 + items.iter().map(size).sum::<usize>(),
        Val::Map(rows) => 1 + rows.iter().map(|(_, v)| 1 + size(v)).sum::<usize>(),
        _ => 1,
    }
}

/// Types a plain scalar as go-yaml v2 (Kubernetes' YAML reader) does.
fn resolve(s: &str) -> Val {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Val::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => return Val::Bool(true),
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Val::Bool(false)
        }
        _ => {}
    }
    if let Some(n) = int(s) {
        return Val::Int(n);
    }
    if is_float(s) {
        return Val::Float(s.to_string());
    }
    Val::Str(s.to_string())
}

fn int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let digits: String = body.chars().filter(|&c| c != '_').collect();
    let (radix, digits) = if let Some(h) = digits.strip_prefix("0x") {
        (16, h.to_string())
    } else if let Some(b) = digits.strip_prefix("0b") {
        (2, b.to_string())
    } else if let Some(o) = digits.strip_prefix("0o") {
        (8, o.to_string())
    } else if digits.len() > 1 && digits.starts_with('0') {
        // YAML 1.1: a leading 0 means octal (0755).
        (8, digits[1..].to_string())
    } else {
        (10, digits)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) || body.starts_with('_') {
        return None;
    }
    let n = i64::from_str_radix(&digits, radix).ok()?;
    Some(if neg { -n } else { n })
}

fn is_float(s: &str) -> bool {
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    if matches!(t, ".inf" | ".Inf" | ".INF") || matches!(s, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let (whole, frac) = match mantissa.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (mantissa, None),
    };
    let digits = |d: &str| d.chars().all(|c| c.is_ascii_digit() || c == '_');
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.chars().all(|c| c.is_ascii_digit())
    });
    digits(whole)
        && frac.is_none_or(digits)
        && (!whole.is_empty() || frac.is_some_and(|f| !f.is_empty()))
        && (frac.is_some() || exp.is_some())
        && exp_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Node {
        let mut docs = parse(text).unwrap();
        assert_eq!(docs.len(), 1, "{docs:?}");
        docs.remove(0)
    }

    #[test]
    fn scalars_are_typed_as_kubernetes_types_them() {
        let n = one("a: 1\nb: yes\nc: '1'\nd: 0755\ne: 1.5\nf: ~\ng: hello world\nh: 0x1F\ni: -3\nj: 1e3\nk: \"on\"\nl: 1.2.3\nm: !!str 8\n");
        let got: Vec<_> = match n.val {
            Val::Map(rows) => rows.into_iter().map(|(k, v)| (k.name, v.val)).collect(),
            _ => panic!(),
        };
        assert_eq!(
            got,
            vec![
                ("a".into(), Val::Int(1)),
                ("b".into(), Val::Bool(true)),
                ("c".into(), Val::Str("1".into())),
                ("d".into(), Val::Int(0o755)),
                ("e".into(), Val::Float("1.5".into())),
                ("f".into(), Val::Null),
                ("g".into(), Val::Str("hello world".into())),
                ("h".into(), Val::Int(31)),
                ("i".into(), Val::Int(-3)),
                ("j".into(), Val::Float("1e3".into())),
                ("k".into(), Val::Str("on".into())),
                ("l".into(), Val::Str("1.2.3".into())),
                ("m".into(), Val::Str("8".into())),
            ]
        );
        for s in ["1_000", "+5", "-0"] {
            assert!(matches!(resolve(s), Val::Int(_)), "{s}");
        }
        for s in ["1.", ".5", "-1.5e-3", ".inf", "-.inf", ".nan"] {
            assert!(matches!(resolve(s), Val::Float(_)), "{s}");
        }
        for s in ["e3", "1e", "0x", "08x", "-", ".", "1-2", "_1", "-.nan", "12:30"] {
            assert!(matches!(resolve(s), Val::Str(_)), "{s}");
        }
    }

    #[test]
    fn positions_of_keys_and_values() {
        let n = one("# c\nspec:\n  containers:\n  - name: a\n    image: x\n");
        let c = &n.get("spec").unwrap().get("containers").unwrap();
        // A block sequence starts at its first item's content.
        assert_eq!(c.at, Pos { line: 4, col: 5 });
        let Val::Seq(items) = &c.val else { panic!() };
        let Val::Map(rows) = &items[0].val else { panic!() };
        assert_eq!(rows[1].0.at, Pos { line: 5, col: 5 });
        assert_eq!(rows[1].1.at, Pos { line: 5, col: 12 });
    }

    #[test]
    fn json_parses_with_positions() {
        let n = one("{\n\t\"kind\": \"Pod\",\n  \"spec\": {\"a\": [1, \"x\\/y\", true, null]}\n}\n");
        assert_eq!(n.get("kind").and_then(Node::as_str), Some("Pod"));
        let a = n.get("spec").unwrap().get("a").unwrap();
        assert_eq!(a.at, Pos { line: 3, col: 17 });
        let Val::Seq(items) = &a.val else { panic!() };
        let vals: Vec<_> = items.iter().map(|i| i.val.clone()).collect();
        assert_eq!(vals, vec![Val::Int(1), Val::Str("x/y".into()), Val::Bool(true), Val::Null]);
    }

    #[test]
    fn documents_anchors_and_merges() {
        let docs = parse("---\na: &x {p: 1, q: 2}\nb:\n  <<: *x\n  q: 3\n---\n---\nc: d\n").unwrap();
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[1].val, Val::Null);
        let b = docs[0].get("b").unwrap();
        assert_eq!(b.get("p").map(|n| &n.val), Some(&Val::Int(1)));
        assert_eq!(b.get("q").map(|n| &n.val), Some(&Val::Int(3)));
        assert_eq!(parse("").unwrap(), vec![]);
    }

    #[test]
    fn refused_structures() {
        for (text, at, phrase) in [
            ("a: 1\nb: 2\na: 3\n", (3, 1), "duplicate key 'a' (first on line 1)"),
            ("? [x]\n: 1\n", (1, 3), "key must be a plain string"),
            ("a: [1, 2\n", (2, 1), ""),
            ("a: *nope\n", (1, 4), ""),
            ("a: \"x\n", (1, 4), "quoted scalar"),
            ("<<: 3\n", (1, 5), "'<<' merges mappings only"),
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!((e.at.line, e.at.col), at, "{text:?}: {e:?}");
            assert!(e.message.contains(phrase), "{text:?}: {e:?}");
        }
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert!(parse(&deep).unwrap_err().message.contains("nested deeper"));
        let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n\
                    c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n\
                    e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
        assert!(parse(bomb).unwrap_err().message.contains("aliases"));
    }
}
