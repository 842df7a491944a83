//! The TOML layer of the pod file, on the `toml` crate.
//!
//! [`parse`] turns the text into the crate's spanned document tree: a
//! [`Table`] whose every key and value is a [`toml::Spanned`] that knows the
//! byte range it was written at (a table defined by a header spans the header,
//! one only implied by a dotted key or a longer header spans that key). The
//! crate enforces TOML itself, duplicate keys and tables included, and stops at
//! the first syntax error; this module adds two things to it:
//!
//! - a nesting limit, [`MAX_DEPTH`], checked on the crate's own event parser
//!   before the tree is built (see [`too_deep`] for why);
//! - syntax error messages in podinit's words where the crate's are obscure
//!   for the mistakes people make in a pod file (`timeout = 30s`, a key written
//!   twice), each with the byte offset it is about.

use std::borrow::Cow;

use toml::de::{DeTable, DeValue};
use toml::Spanned;
use toml_parser::decoder::Encoding;
use toml_parser::parser::EventReceiver;
use toml_parser::{ErrorSink, Source, Span};

/// A TOML table: keys to values, both spanned. Iteration is in key order, not
/// file order; sort by span when the order matters.
pub(crate) type Table<'i> = DeTable<'i>;
/// A table key and where it was written (quotes included).
pub(crate) type Key<'i> = Spanned<Cow<'i, str>>;
/// A TOML value and where it was written.
pub(crate) type Value<'i> = Spanned<DeValue<'i>>;

/// How deep tables and arrays may nest, the root table being level 0:
/// `v = [[1]]` nests 2 deep, `a.b.c = 1` 2 (tables `a` and `b`), `[a.b]` 2.
pub(crate) const MAX_DEPTH: usize = 64;

/// A syntax error: what is wrong, in one line, and the byte offset where
/// (`None` only if the crate gave no position).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SyntaxError {
    /// Byte offset in the text.
    pub(crate) at: Option<usize>,
    /// What is wrong, in one line, without the position.
    pub(crate) message: String,
}

/// Parses a whole TOML document into its root table, or the first syntax error.
pub(crate) fn parse(text: &str) -> Result<Table<'_>, SyntaxError> {
    if let Some(at) = too_deep(text) {
        let message = format!("tables and arrays nest too deep (at most {MAX_DEPTH} levels, dotted keys included)");
        return Err(SyntaxError { at: Some(at), message });
    }
    match DeTable::parse(text) {
        Ok(root) => Ok(root.into_inner()),
        Err(e) => Err(syntax_error(text, e.message(), e.span())),
    }
}

/// The offset of the first key, array or inline table deeper than [`MAX_DEPTH`].
///
/// Checked before the crate builds its tree because the crate builds and drops
/// the tree recursively, and its own limits (80 nested arrays or inline tables,
/// 80 keys in a dotted key) multiply: inline tables 79 deep, each holding a
/// dotted key of 79 parts, are a 13 kB file and a tree over 6,000 levels deep
/// whose drop takes about 1 MB of stack (over 4 MB in a debug build), also when
/// a syntax error further on makes the crate drop it at once. Limiting the
/// depth keeps every walk of the tree shallow, and the crate's own limits (the
/// dotted-key one reports no position) out of reach.
fn too_deep(text: &str) -> Option<usize> {
    let source = Source::new(text);
    let tokens = source.lex().into_vec();
    let mut depth = Depth::default();
    // Syntax errors are the crate's to report, in the real parse.
    toml_parser::parser::parse_document(&tokens, &mut depth, &mut ());
    depth.too_deep
}

/// Follows the nesting depth through the parser's events.
#[derive(Default)]
struct Depth {
    /// In a `[header]` or `[[header]]`, whose keys count from the root.
    in_header: bool,
    /// Depth of the table the last header defined: top-level keys go in it.
    base: usize,
    /// Keys so far of the dotted key being read, and where the last one starts.
    keys: usize,
    last_key: usize,
    /// Depth of the value after the last `=`.
    value: usize,
    /// Each open array (`true`) or inline table, with its depth.
    open: Vec<(bool, usize)>,
    /// Where the limit was first passed.
    too_deep: Option<usize>,
}

impl Depth {
    /// The depth of the table that the key being read belongs to.
    fn table(&self) -> usize {
        match self.open.last() {
            _ if self.in_header => 0,
            Some(&(_, depth)) => depth,
            None => self.base,
        }
    }

    /// Records a table or array at `depth`, starting at byte `at`; false once
    /// the limit has been passed. The event parser recurses into arrays and
    /// inline tables, so a false from [`Depth::open`] is also what keeps it
    /// from going deeper.
    fn reach(&mut self, depth: usize, at: usize) -> bool {
        if depth > MAX_DEPTH && self.too_deep.is_none() {
            self.too_deep = Some(at);
        }
        self.too_deep.is_none()
    }

    fn header(&mut self) {
        (self.in_header, self.keys) = (true, 0);
        // A header cannot be inside a value; after a syntax error, start afresh.
        self.open.clear();
    }

    /// A header ends: it defines a table `extra` levels below its last key.
    fn header_end(&mut self, extra: usize) {
        (self.in_header, self.base, self.keys) = (false, self.keys + extra, 0);
        self.reach(self.base, self.last_key);
    }

    /// An array or inline table opens.
    fn open(&mut self, array: bool, span: Span) -> bool {
        let depth = match self.open.last() {
            Some(&(true, depth)) => depth + 1,
            _ => self.value,
        };
        self.open.push((array, depth));
        self.reach(depth, span.start())
    }
}

impl EventReceiver for Depth {
    fn std_table_open(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.header();
    }
    fn std_table_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.header_end(0);
    }
    fn array_table_open(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.header();
    }
    fn array_table_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        // The array is one level and the table in it the next (counted once
        // per header, though every key of it could be an array of tables: the
        // depth is a bound, not an exact count).
        self.header_end(1);
    }
    fn inline_table_open(&mut self, span: Span, _error: &mut dyn ErrorSink) -> bool {
        self.open(false, span)
    }
    fn inline_table_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.open.pop();
    }
    fn array_open(&mut self, span: Span, _error: &mut dyn ErrorSink) -> bool {
        self.open(true, span)
    }
    fn array_close(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        self.open.pop();
    }
    fn simple_key(&mut self, span: Span, _kind: Option<Encoding>, _error: &mut dyn ErrorSink) {
        (self.keys, self.last_key) = (self.keys + 1, span.start());
    }
    fn key_sep(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        // A dot: the key before it is a table.
        self.reach(self.table() + self.keys, self.last_key);
    }
    fn key_val_sep(&mut self, _span: Span, _error: &mut dyn ErrorSink) {
        (self.value, self.keys) = (self.table() + self.keys, 0);
    }
}

/// podinit's message for one of the crate's, given the offending text's span.
fn syntax_error(text: &str, message: &str, span: Option<std::ops::Range<usize>>) -> SyntaxError {
    let written = span.clone().and_then(|s| text.get(s)).unwrap_or_default();
    // The crate tells a bare word from a misspelt keyword (`nginx` is "invalid
    // float, expected `nan`"); either way the user wrote text without quotes.
    let bare_word = message.starts_with("string values must be quoted")
        || message.starts_with("invalid float, expected `nan`")
        || message.starts_with("invalid float, expected `inf`")
        || message.starts_with("invalid boolean");
    let message = if bare_word && written.trim().is_empty() {
        "expected a value".to_string()
    } else if bare_word {
        format!("invalid value '{written}' (a string needs quotes)")
    } else if message == "duplicate key" {
        // Keys and table headers alike: the span is the key written twice.
        let key = ['"', '\''].iter().find_map(|&q| written.strip_prefix(q)?.strip_suffix(q)).unwrap_or(written);
        format!("duplicate key '{key}'")
    } else {
        message.strip_suffix(", expected nothing").unwrap_or(message).to_string()
    };
    SyntaxError { at: span.map(|s| s.start), message }
}

/// "a string", "an array", … for "found …" in messages.
pub(crate) fn describe(value: &DeValue) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// The value of a TOML integer, `None` when it does not fit in 64 bits (the
/// crate leaves that check to its serde layer, which podinit does not use).
pub(crate) fn integer(value: &toml::de::DeInteger) -> Option<i64> {
    i64::from_str_radix(value.as_str(), value.radix()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "LINE:COL: message" of the syntax error in `text`.
    #[track_caller]
    fn err(text: &str) -> String {
        match parse(text) {
            Ok(root) => panic!("{text:?}: parsed as {root:?}"),
            Err(e) => {
                let at = e.at.expect("a position");
                let (line, col) = crate::config::line_col(text.as_bytes(), at);
                assert!(!e.message.contains('\n'), "{e:?}");
                format!("{line}:{col}: {}", e.message)
            }
        }
    }

    #[test]
    fn spans_of_keys_and_values() {
        let text = "top = \"é\" # c\n[tab]\n\"k\" . sub = [1, { x = 2 }]\n[[arr]]\nd = 1979-05-27 07:32:00\n";
        let root = parse(text).unwrap();
        let at = |span: std::ops::Range<usize>| &text[span];
        let (top, top_val) = root.get_key_value("top").unwrap();
        assert_eq!((at(top.span()), at(top_val.span())), ("top", "\"é\""));
        let (tab, tab_val) = root.get_key_value("tab").unwrap();
        assert_eq!((at(tab.span()), at(tab_val.span())), ("tab", "[tab]"));
        let DeValue::Table(tab_rows) = tab_val.get_ref() else { panic!() };
        let (k, k_val) = tab_rows.get_key_value("k").unwrap();
        // A table made by a dotted key spans that key.
        assert_eq!((at(k.span()), at(k_val.span())), ("\"k\"", "\"k\""));
        let sub = k_val.get_ref().get("sub").unwrap();
        assert_eq!(at(sub.span()), "[1, { x = 2 }]");
        let DeValue::Array(items) = sub.get_ref() else { panic!() };
        let items: Vec<&str> = items.iter().map(|i| at(i.span())).collect();
        assert_eq!(items, ["1", "{ x = 2 }"]);
        let DeValue::Array(tables) = root.get("arr").unwrap().get_ref() else { panic!() };
        assert_eq!(at(tables.iter().next().unwrap().span()), "[[arr]]");
    }

    #[test]
    fn integers_beyond_64_bits_have_no_value() {
        let root = parse("a = 9223372036854775807\nb = 9223372036854775808\nd = 0o17\ne = +1_000\nf = -5").unwrap();
        let int = |k: &str| match root.get(k).unwrap().get_ref() {
            DeValue::Integer(i) => integer(i),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            [int("a"), int("b"), int("d"), int("e"), int("f")],
            [Some(i64::MAX), None, Some(15), Some(1000), Some(-5)]
        );
    }

    #[test]
    fn syntax_errors_in_podinit_words() {
        assert_eq!(err("v = nginx\n"), "1:5: invalid value 'nginx' (a string needs quotes)");
        assert_eq!(err("timeout = 30s\n"), "1:11: invalid value '30s' (a string needs quotes)");
        assert_eq!(err("v = True\n"), "1:5: invalid value 'True' (a string needs quotes)");
        assert_eq!(err("command = /bin/sh\n"), "1:11: invalid value '/bin/sh' (a string needs quotes)");
        assert_eq!(err("v =\nw = 1\n"), "1:4: expected a value");
        assert_eq!(err("v = # c\n"), "1:5: expected a value");
        assert_eq!(err("a = 1\nb = 2\na = 3\n"), "3:1: duplicate key 'a'");
        assert_eq!(err("\"a\" = 1\n'a' = 2\n"), "2:1: duplicate key 'a'");
        assert_eq!(err("[t]\n[u]\n[t]\n"), "3:2: duplicate key 't'");
        assert_eq!(err("[[a]]\n[a]\n"), "2:2: duplicate key 'a'");
        assert_eq!(err("v = { a = 1, a = 2 }\n"), "1:14: duplicate key 'a'");
        assert_eq!(err("v = 007\n"), "1:5: unexpected leading zero");
        // The crate's own words otherwise.
        assert_eq!(err("name = \"a\"\n[[app]\n"), "2:7: unclosed array table, expected `]`");
        assert_eq!(err("v = \"abc"), "1:9: invalid basic string, expected `\"`");
        assert_eq!(err("a = 1\rb = 2"), "1:7: carriage return must be followed by newline, expected newline");
    }

    #[test]
    fn nesting_is_limited() {
        const TOO_DEEP: &str = "tables and arrays nest too deep (at most 64 levels, dotted keys included)";
        let deep = |open: &str, close: &str, n: usize| format!("v = {}1{}\n", open.repeat(n), close.repeat(n));
        // The root table is level 0; the value of `v` is level 1.
        assert!(parse(&deep("[", "]", MAX_DEPTH)).is_ok());
        assert_eq!(err(&deep("[", "]", MAX_DEPTH + 1)), format!("1:{}: {TOO_DEEP}", MAX_DEPTH + 5));
        assert!(parse(&deep("{a=", "}", MAX_DEPTH)).is_ok());
        assert!(err(&deep("{a=", "}", MAX_DEPTH + 1)).contains("nest too deep"));
        assert!(parse(&deep("[{a=", "}]", MAX_DEPTH / 2)).is_ok());
        assert!(err(&deep("[{a=", "}]", MAX_DEPTH / 2 + 1)).contains("nest too deep"));
        // Far past the crate's own limits, which would give no position.
        for text in [deep("[", "]", 100_000), deep("{a=", "}", 100_000), "v = [".repeat(100_000)] {
            assert!(err(&text).contains("nest too deep"), "{}: {}", &text[..12], err(&text));
        }
        // A header cannot hold an array: the crate stops at the second '['.
        assert!(err(&"[".repeat(100_000)).starts_with("1:3: "));
        // Every key of a dotted key but the last is a table.
        let keys = |n: usize| vec!["k"; n].join(".");
        assert!(parse(&format!("{} = 1", keys(MAX_DEPTH + 1))).is_ok());
        assert_eq!(err(&format!("{} = 1", keys(MAX_DEPTH + 2))), format!("1:{}: {TOO_DEEP}", 2 * MAX_DEPTH + 1));
        assert!(err(&format!("{} = 1", keys(100_000))).contains("nest too deep"));
        assert!(parse(&format!("[{}]", keys(MAX_DEPTH))).is_ok());
        assert_eq!(err(&format!("[{}]", keys(MAX_DEPTH + 1))), format!("1:{}: {TOO_DEEP}", 2 * MAX_DEPTH + 2));
        assert!(parse(&format!("[{}]\nx = 1", keys(MAX_DEPTH))).is_ok());
        assert!(err(&format!("[{}]\nx.y = 1", keys(MAX_DEPTH))).contains("nest too deep"));
        assert!(err(&format!("[{}]\nx = []", keys(MAX_DEPTH))).contains("nest too deep"));
        assert!(parse(&format!("[[{}]]", keys(MAX_DEPTH - 1))).is_ok());
        assert!(err(&format!("[[{}]]", keys(MAX_DEPTH))).contains("nest too deep"));
        assert!(err(&format!("[{}]\n{} = 1", keys(40), keys(40))).contains("nest too deep"));
        assert!(parse(&format!("[{}]\nx.y = [[1]]", keys(40))).is_ok());
        // Dotted keys inside inline tables add up: the case that once took
        // megabytes of stack to drop (inline tables 79 deep, keys of 79 parts).
        let k = keys(79);
        let worst = format!("x = {}1{}\n", format!("{{{k} = ").repeat(79), "}".repeat(79));
        // The 64th key of the first dotted key is the 65th level.
        assert_eq!(err(&worst), format!("1:{}: {TOO_DEEP}", 5 + 1 + 63 * 2));
        assert!(err(&format!("{worst}y = [")).contains("nest too deep"));
        // Depth counts from the table a header opened, not from the last value.
        assert!(parse(&format!("{}[t]\n{}", deep("[", "]", 60), deep("[", "]", 60))).is_ok());
    }

    /// A small deterministic fuzz of the layer: no text may panic, and every
    /// error has a position on a character boundary within the text.
    #[test]
    fn never_panics() {
        let sample = "# pod\nname = \"wéb\" # c\nn = -1_000\nf = 6.02e+23\nd = 1979-05-27T07:32:00Z\n\
                      b = true\ns = 'lit'\nm = \"\"\"\nmulti \\\n  line\"\"\"\nl = '''\nraw'''\n\
                      e = \"\\t\\u00e9\\U0001F600\"\na = [\n 1, # one\n [2, 3],\n { x = 1 },\n]\n\
                      [env]\nLANG = \"C\"\n[[app]]\nname = \"a\"\nt.u = { v = 0x1F, w = [] }\n\
                      [app.probe]\nhttp = \"http://h/\"\n[[app]]\n\"q k\".'r' = 0o17\n";
        assert!(parse(sample).is_ok());
        let check = |t: &str| {
            if let Err(e) = parse(t) {
                let at = e.at.unwrap_or_else(|| panic!("{t:?}: no position in {e:?}"));
                assert!(at <= t.len() && t.is_char_boundary(at), "{t:?}: {e:?}");
                assert!(!e.message.is_empty() && !e.message.contains('\n'));
            }
        };
        for (i, c) in sample.char_indices() {
            check(&sample[..i]);
            check(&sample[i..]);
            for m in ['"', '\'', '[', ']', '{', '}', '=', ',', '.', '\n', '\r', '#', '\\', ' ', '1', 'é', '\0'] {
                let mut t = sample.to_string();
                t.replace_range(i..i + c.len_utf8(), &m.to_string());
                check(&t);
                let mut t = sample.to_string();
                t.insert(i, m);
                check(&t);
            }
        }
        // Random texts over the characters that matter to TOML.
        let alphabet: Vec<char> = "\"'[]{}=,.#\\\n\r\t _-+:0123456789abexoTZuUé\u{1}".chars().collect();
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let len = (next() % 40) as usize;
            let t: String = (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
            check(&t);
            check(&format!("k = {t}"));
            check(&format!("[{t}"));
        }
    }
}
