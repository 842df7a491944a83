//! A small TOML 1.0 reader for the pod file.
//!
//! It turns the text into a tree that remembers where every key and value was
//! written ([`Key`], [`Val`]), which is all the pod file checker needs, and
//! nothing more: floats and date-times are recognised but their values are not
//! kept. A syntax error stops the reading and is returned as an [`Error`] with
//! the byte offset of the problem.
//!
//! Everything a hand-written file uses is supported: comments, bare, quoted and
//! dotted keys, `[tables]` and `[[arrays of tables]]`, the four kinds of string,
//! integers, floats, booleans, date-times, arrays and inline tables; so are the
//! rules that matter for a clear error (no key or table defined twice, one
//! key/value pair per line, no control characters in strings).
//!
//! No input makes it panic: it slices only with `get`, and nesting is limited to
//! [`MAX_DEPTH`] levels so that neither it nor dropping the tree can run out of stack.

use std::ops::Range;

/// Byte range in the text; `None` for what has no place in it (a table that
/// only exists because `a.b = 1` or `[a.b]` implies it).
pub(crate) type Span = Option<Range<usize>>;

/// A table key and where it was written (quotes included).
#[derive(Debug)]
pub(crate) struct Key {
    pub(crate) name: String,
    pub(crate) span: Span,
}

/// A TOML value and where it was written: a string with its quotes, an array
/// from `[` to `]`, a table defined by a header from `[` to the header's end.
#[derive(Debug)]
pub(crate) struct Val {
    pub(crate) node: Node,
    pub(crate) span: Span,
}

/// A TOML value; tables keep their keys in file order.
#[derive(Debug)]
pub(crate) enum Node {
    Str(String),
    Int(i64),
    Float,
    Bool(bool),
    Datetime,
    Array(Vec<Val>),
    Table(Vec<(Key, Val)>),
}

/// A syntax error: what is wrong, in one line, and the byte offset where.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Error {
    pub(crate) at: usize,
    pub(crate) message: String,
}

/// How deep tables and arrays may nest, counting every key of a dotted key.
pub(crate) const MAX_DEPTH: usize = 128;

/// Parses a whole TOML document into the rows of its root table.
pub(crate) fn parse(text: &str) -> Result<Vec<(Key, Val)>, Error> {
    let mut parser = Parser { text, pos: 0 };
    let root = parser.document()?;
    Ok(root.rows.into_iter().map(|(k, item)| (k, item.into_val())).collect())
}

// ---------------------------------------------------------------------------
// The tree while it is being built: tables remember how they were made, which
// decides what may still be added to them.

#[derive(Debug, Clone, Copy, PartialEq)]
enum Origin {
    /// Made because a header named a table below it (`a` of `[a.b]`); a later
    /// `[a]` may still define it.
    Implicit,
    /// Defined by a `[header]` (or the root, or an inline table).
    Header,
    /// Made by a dotted key (`a` of `a.b = 1`); more dotted keys may add to it.
    Dotted,
}

#[derive(Debug)]
struct Table {
    rows: Vec<(Key, Item)>,
    span: Span,
    origin: Origin,
}

#[derive(Debug)]
enum Item {
    /// A finished value: a scalar, an array or an inline table; none can be added to.
    Value(Val),
    Table(Table),
    /// `[[name]]`: headers add to the last table.
    Array(Vec<Table>),
}

impl Table {
    fn new(origin: Origin, span: Span) -> Table {
        Table { rows: Vec::new(), span, origin }
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.rows.iter().position(|(k, _)| k.name == name)
    }

    /// The index of `key`'s row, after adding it with `item` if it is new.
    fn index_or_insert(&mut self, key: &Key, item: impl FnOnce() -> Item) -> usize {
        match self.index(&key.name) {
            Some(i) => i,
            None => {
                self.rows.push((key.clone(), item()));
                self.rows.len() - 1
            }
        }
    }

    fn into_val(self) -> Val {
        let rows = self.rows.into_iter().map(|(k, item)| (k, item.into_val()));
        Val { node: Node::Table(rows.collect()), span: self.span }
    }
}

impl Item {
    fn into_val(self) -> Val {
        match self {
            Item::Value(v) => v,
            Item::Table(t) => t.into_val(),
            Item::Array(tables) => {
                Val { node: Node::Array(tables.into_iter().map(Table::into_val).collect()), span: None }
            }
        }
    }
}

impl Clone for Key {
    fn clone(&self) -> Key {
        Key { name: self.name.clone(), span: self.span.clone() }
    }
}

/// The table a header's path of row indices leads to (the last table of an array of tables).
fn table_at<'t>(mut table: &'t mut Table, path: &[usize]) -> Option<&'t mut Table> {
    for &i in path {
        table = match &mut table.rows.get_mut(i)?.1 {
            Item::Table(sub) => sub,
            Item::Array(tables) => tables.last_mut()?,
            Item::Value(_) => return None,
        };
    }
    Some(table)
}

fn internal(at: usize) -> Error {
    Error { at, message: "internal error: lost track of the current table".to_string() }
}

/// `a.b."c d"` for messages.
fn dotted(keys: &[Key]) -> String {
    let names: Vec<&str> = keys.iter().map(|k| k.name.as_str()).collect();
    names.join(".")
}

/// 1-based line of byte `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    let before = text.as_bytes().get(..at).unwrap_or(text.as_bytes());
    before.iter().filter(|&&b| b == b'\n').count() + 1
}

/// " (first on line N)" for the first definition of a key.
fn first_on(text: &str, key: &Key) -> String {
    match &key.span {
        Some(r) => format!(" (first on line {})", line_of(text, r.start)),
        None => String::new(),
    }
}

/// Adds `keys = val` to `table`, creating the tables of a dotted key.
fn insert_value(text: &str, mut table: &mut Table, keys: &[Key], val: Val) -> Result<(), Error> {
    let Some((last, parents)) = keys.split_last() else {
        return Err(internal(0));
    };
    for key in parents {
        let i = table.index_or_insert(key, || Item::Table(Table::new(Origin::Dotted, None)));
        let at = key.span.as_ref().map_or(0, |r| r.start);
        let (first, item) = &mut table.rows[i];
        let why = match item {
            Item::Table(sub) if sub.origin == Origin::Dotted => {
                table = sub;
                continue;
            }
            Item::Table(_) => "a table defined by a [header]",
            Item::Array(_) => "an array of tables",
            Item::Value(_) => "already a value",
        };
        let message =
            format!("cannot add keys to '{}' with a dotted key: it is {why}{}", key.name, first_on(text, first));
        return Err(Error { at, message });
    }
    if let Some(i) = table.index(&last.name) {
        let message = format!("duplicate key '{}'{}", last.name, first_on(text, &table.rows[i].0));
        let at = last.span.as_ref().map_or(0, |r| r.start);
        return Err(Error { at, message });
    }
    table.rows.push((last.clone(), Item::Value(val)));
    Ok(())
}

/// Defines the table (or adds a table to the array of tables) a header names;
/// returns the row indices that lead to it from the root.
fn define_table(
    text: &str,
    root: &mut Table,
    keys: &[Key],
    header: Range<usize>,
    array: bool,
) -> Result<Vec<usize>, Error> {
    let Some((last, parents)) = keys.split_last() else {
        return Err(internal(header.start));
    };
    let mut path = Vec::with_capacity(keys.len());
    let mut table = root;
    for key in parents {
        let i = table.index_or_insert(key, || Item::Table(Table::new(Origin::Implicit, None)));
        path.push(i);
        let (first, item) = &mut table.rows[i];
        table = match item {
            Item::Table(sub) => sub,
            Item::Array(tables) => match tables.last_mut() {
                Some(sub) => sub,
                None => return Err(internal(header.start)),
            },
            Item::Value(_) => {
                let message =
                    format!("'{}' is already a value{}, so it cannot hold a table", key.name, first_on(text, first));
                let at = key.span.as_ref().map_or(header.start, |r| r.start);
                return Err(Error { at, message });
            }
        };
    }
    let name = dotted(keys);
    let fail = |message: String| Err(Error { at: header.start, message });
    let new = || Table::new(Origin::Header, Some(header.clone()));
    match table.index(&last.name) {
        None => {
            let item = if array { Item::Array(vec![new()]) } else { Item::Table(new()) };
            table.rows.push((last.clone(), item));
            path.push(table.rows.len() - 1);
            return Ok(path);
        }
        Some(i) => {
            path.push(i);
            let (first, item) = &mut table.rows[i];
            let first = first_on(text, first);
            match (item, array) {
                (Item::Table(t), false) if t.origin == Origin::Implicit => {
                    t.origin = Origin::Header;
                    t.span = Some(header.clone());
                }
                (Item::Array(tables), true) => tables.push(new()),
                (Item::Table(t), false) => {
                    let first = match &t.span {
                        Some(r) => format!(" (first on line {})", line_of(text, r.start)),
                        None => first,
                    };
                    return fail(format!("table [{name}] is defined twice{first}"));
                }
                (Item::Table(_), true) => {
                    return fail(format!(
                        "[[{name}]] cannot make '{}' an array of tables: it is already a table{first}",
                        last.name
                    ))
                }
                (Item::Array(_), false) => {
                    return fail(format!(
                        "[{name}] cannot define '{}': it is an array of tables ([[{name}]]){first}",
                        last.name
                    ))
                }
                (Item::Value(_), _) => {
                    return fail(format!("duplicate key '{}'{first}", last.name));
                }
            }
        }
    }
    Ok(path)
}

// ---------------------------------------------------------------------------
// The reader.

struct Parser<'a> {
    text: &'a str,
    /// Byte offset of the next character; always on a character boundary.
    pos: usize,
}

/// A control character that TOML does not allow in strings and comments (tab is allowed).
fn is_control(c: char) -> bool {
    matches!(c, '\0'..='\u{8}' | '\u{a}'..='\u{1f}' | '\u{7f}')
}

fn is_bare_key(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// A byte of an unquoted value: number, boolean, date-time, inf or nan.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-' | b'.' | b':')
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<u8> {
        self.text.as_bytes().get(self.pos + n).copied()
    }

    fn starts_with(&self, s: &str) -> bool {
        self.rest().starts_with(s)
    }

    fn next_char(&mut self) -> Option<char> {
        let c = self.rest().chars().next()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn fail<T>(&self, at: usize, message: impl Into<String>) -> Result<T, Error> {
        Err(Error { at, message: message.into() })
    }

    /// What is at the current position, for "found …".
    fn found(&self) -> String {
        match self.rest().chars().next() {
            None => "end of file".to_string(),
            Some('\n' | '\r') => "end of line".to_string(),
            Some(c) => format!("'{c}'"),
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// A `#` comment, up to (not including) the end of the line.
    fn comment(&mut self) -> Result<(), Error> {
        self.pos += 1;
        while let Some(b) = self.peek() {
            if b == b'\n' || b == b'\r' {
                break;
            }
            let at = self.pos;
            match self.next_char() {
                Some(c) if is_control(c) => {
                    return self.fail(at, "control character in a comment");
                }
                Some(_) => {}
                None => break,
            }
        }
        Ok(())
    }

    /// A newline (LF or CRLF) at the current position.
    fn newline(&mut self) -> Result<(), Error> {
        match (self.peek(), self.peek_at(1)) {
            (Some(b'\n'), _) => self.pos += 1,
            (Some(b'\r'), Some(b'\n')) => self.pos += 2,
            _ => return self.fail(self.pos, "carriage return without a line feed"),
        }
        Ok(())
    }

    /// Spaces, an optional comment, then a newline or the end of the file.
    fn end_of_line(&mut self, after: impl FnOnce() -> String) -> Result<(), Error> {
        self.skip_ws();
        if self.peek() == Some(b'#') {
            self.comment()?;
        }
        match self.peek() {
            None => Ok(()),
            Some(b'\n' | b'\r') => self.newline(),
            Some(_) => {
                let message = format!("expected a new line after {}, found {}", after(), self.found());
                self.fail(self.pos, message)
            }
        }
    }

    /// Spaces, comments and newlines, as allowed between the values of an array.
    fn blank(&mut self) -> Result<(), Error> {
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b'#') => self.comment()?,
                Some(b'\n' | b'\r') => self.newline()?,
                _ => return Ok(()),
            }
        }
    }

    fn document(&mut self) -> Result<Table, Error> {
        if self.text.starts_with('\u{feff}') {
            self.pos = '\u{feff}'.len_utf8();
        }
        let mut root = Table::new(Origin::Header, None);
        // Where key/value pairs go: the rows leading to the last header's table.
        let mut section: Vec<usize> = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None => return Ok(root),
                Some(b'#') => self.comment()?,
                Some(b'\n' | b'\r') => self.newline()?,
                Some(b'[') => {
                    let (path, keys) = self.header(&mut root)?;
                    section = path;
                    let array = self.text.get(..self.pos).is_some_and(|t| t.ends_with("]]"));
                    self.end_of_line(|| {
                        let name = dotted(&keys);
                        match array {
                            true => format!("the header [[{name}]]"),
                            false => format!("the header [{name}]"),
                        }
                    })?;
                }
                Some(_) => {
                    let at = self.pos;
                    let (keys, val) = self.keyval(section.len())?;
                    let table = table_at(&mut root, &section).ok_or_else(|| internal(at))?;
                    insert_value(self.text, table, &keys, val)?;
                    self.end_of_line(|| format!("the value of '{}'", dotted(&keys)))?;
                }
            }
        }
    }

    /// `[a.b]` or `[[a.b]]`: defines the table and returns the path to it and its keys.
    fn header(&mut self, root: &mut Table) -> Result<(Vec<usize>, Vec<Key>), Error> {
        let start = self.pos;
        let array = self.starts_with("[[");
        let (open, close) = if array { ("[[", "]]") } else { ("[", "]") };
        self.pos += open.len();
        self.skip_ws();
        let keys = self.key().map_err(|e| Error { message: format!("invalid table header: {}", e.message), ..e })?;
        if keys.len() > MAX_DEPTH {
            return self.fail(start, format!("tables nest too deep (the limit is {MAX_DEPTH})"));
        }
        self.skip_ws();
        if !self.starts_with(close) {
            let message = format!(
                "invalid table header: expected '{close}' after '{open}{}', found {}",
                dotted(&keys),
                self.found()
            );
            return self.fail(self.pos, message);
        }
        self.pos += close.len();
        let path = define_table(self.text, root, &keys, start..self.pos, array)?;
        Ok((path, keys))
    }

    /// A key (dotted or not), `=`, a value; `depth` is how deep the key's table is.
    fn keyval(&mut self, depth: usize) -> Result<(Vec<Key>, Val), Error> {
        let keys = self.key()?;
        self.skip_ws();
        if self.peek() != Some(b'=') {
            let message = format!("expected '=' after key '{}', found {}", dotted(&keys), self.found());
            return self.fail(self.pos, message);
        }
        self.pos += 1;
        self.skip_ws();
        let val = self.value(depth + keys.len())?;
        Ok((keys, val))
    }

    /// `a`, `"a b"`, `'a'`, `a . b . c`.
    fn key(&mut self) -> Result<Vec<Key>, Error> {
        let mut keys = vec![self.simple_key()?];
        loop {
            let before = self.pos;
            self.skip_ws();
            if self.peek() != Some(b'.') {
                self.pos = before;
                return Ok(keys);
            }
            self.pos += 1;
            self.skip_ws();
            if keys.len() >= MAX_DEPTH {
                return self.fail(self.pos, format!("dotted key too long (the limit is {MAX_DEPTH} parts)"));
            }
            keys.push(self.simple_key()?);
        }
    }

    fn simple_key(&mut self) -> Result<Key, Error> {
        let start = self.pos;
        let name = match self.peek() {
            Some(b'"') => self.basic_string()?,
            Some(b'\'') => self.literal_string()?,
            Some(b) if is_bare_key(b) => {
                while self.peek().is_some_and(is_bare_key) {
                    self.pos += 1;
                }
                self.text.get(start..self.pos).unwrap_or_default().to_string()
            }
            _ => return self.fail(start, format!("expected a key, found {}", self.found())),
        };
        Ok(Key { name, span: Some(start..self.pos) })
    }

    /// Any value; `depth` is how deeply it nests, limited to [`MAX_DEPTH`].
    fn value(&mut self, depth: usize) -> Result<Val, Error> {
        let start = self.pos;
        if depth > MAX_DEPTH {
            return self.fail(start, format!("values nest too deep (the limit is {MAX_DEPTH})"));
        }
        let node = match self.peek() {
            Some(b'"') if self.starts_with("\"\"\"") => Node::Str(self.multiline_string(b'"')?),
            Some(b'"') => Node::Str(self.basic_string()?),
            Some(b'\'') if self.starts_with("'''") => Node::Str(self.multiline_string(b'\'')?),
            Some(b'\'') => Node::Str(self.literal_string()?),
            Some(b'[') => self.array(depth)?,
            Some(b'{') => self.inline_table(depth)?,
            Some(b) if is_token(b) => self.scalar()?,
            _ => return self.fail(start, format!("expected a value, found {}", self.found())),
        };
        Ok(Val { node, span: Some(start..self.pos) })
    }

    fn array(&mut self, depth: usize) -> Result<Node, Error> {
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.blank()?;
            if self.peek() == Some(b']') {
                self.pos += 1;
                return Ok(Node::Array(items));
            }
            items.push(self.value(depth + 1)?);
            self.blank()?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Node::Array(items));
                }
                _ => {
                    let message = format!("expected ',' or ']' in the array, found {}", self.found());
                    return self.fail(self.pos, message);
                }
            }
        }
    }

    fn inline_table(&mut self, depth: usize) -> Result<Node, Error> {
        self.pos += 1;
        let mut table = Table::new(Origin::Header, None);
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Node::Table(Vec::new()));
        }
        loop {
            self.skip_ws();
            let (keys, val) = self.keyval(depth + 1)?;
            insert_value(self.text, &mut table, &keys, val)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    let comma = self.pos;
                    self.pos += 1;
                    self.skip_ws();
                    if self.peek() == Some(b'}') {
                        return self.fail(comma, "trailing comma in an inline table");
                    }
                }
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(table.into_val().node);
                }
                Some(b'\n' | b'\r' | b'#') => {
                    let message = "expected ',' or '}' in the inline table \
                                   (an inline table must be on one line)";
                    return self.fail(self.pos, message);
                }
                _ => {
                    let message = format!("expected ',' or '}}' in the inline table, found {}", self.found());
                    return self.fail(self.pos, message);
                }
            }
        }
    }

    /// A single-line `"basic string"` with escapes.
    fn basic_string(&mut self) -> Result<String, Error> {
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let at = self.pos;
            match self.next_char() {
                Some('"') => return Ok(out),
                Some('\\') => out.push(self.escape()?),
                None | Some('\n' | '\r') => {
                    return self.fail(
                        open,
                        "unterminated string (a \"string\" ends on the line it starts; use \"\"\" for more lines)",
                    )
                }
                Some(c) if is_control(c) => return self.control_in_string(at, c),
                Some(c) => out.push(c),
            }
        }
    }

    /// A single-line `'literal string'`: no escapes.
    fn literal_string(&mut self) -> Result<String, Error> {
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let at = self.pos;
            match self.next_char() {
                Some('\'') => return Ok(out),
                None | Some('\n' | '\r') => {
                    return self.fail(
                        open,
                        "unterminated string (a 'string' ends on the line it starts; use ''' for more lines)",
                    )
                }
                Some(c) if is_control(c) => return self.control_in_string(at, c),
                Some(c) => out.push(c),
            }
        }
    }

    /// A `"""multi-line basic"""` or `'''multi-line literal'''` string.
    fn multiline_string(&mut self, quote: u8) -> Result<String, Error> {
        let open = self.pos;
        self.pos += 3;
        // A newline right after the opening quotes is not part of the string.
        if self.peek() == Some(b'\n') {
            self.pos += 1;
        } else if self.starts_with("\r\n") {
            self.pos += 2;
        }
        let mut out = String::new();
        loop {
            let at = self.pos;
            match self.peek() {
                None => return self.fail(open, "unterminated multi-line string"),
                Some(q) if q == quote => {
                    let n = self.rest().bytes().take_while(|&b| b == quote).count();
                    self.pos += n;
                    if n > 5 {
                        let message = "too many quotes: three in a row end a multi-line string";
                        return self.fail(at, message);
                    }
                    // Three end the string; up to two more before them belong to it.
                    let kept = if n >= 3 { n - 3 } else { n };
                    out.extend((0..kept).map(|_| char::from(quote)));
                    if n >= 3 {
                        return Ok(out);
                    }
                }
                Some(b'\n') => {
                    self.pos += 1;
                    out.push('\n');
                }
                Some(b'\r') => {
                    self.newline()?;
                    out.push('\n');
                }
                Some(b'\\') if quote == b'"' => {
                    self.pos += 1;
                    if !self.line_ending_backslash()? {
                        out.push(self.escape()?);
                    }
                }
                Some(_) => match self.next_char() {
                    Some(c) if is_control(c) => return self.control_in_string(at, c),
                    Some(c) => out.push(c),
                    None => return self.fail(at, "invalid character"),
                },
            }
        }
    }

    /// After a `\` in a multi-line basic string: when only spaces follow it on
    /// its line, skips them and every space and newline after, and says so.
    fn line_ending_backslash(&mut self) -> Result<bool, Error> {
        let after = self.pos;
        self.skip_ws();
        if !matches!(self.peek(), Some(b'\n' | b'\r')) {
            self.pos = after;
            return Ok(false);
        }
        loop {
            match self.peek() {
                Some(b' ' | b'\t') => self.pos += 1,
                Some(b'\n' | b'\r') => self.newline()?,
                _ => return Ok(true),
            }
        }
    }

    /// The escape after a `\` (already read) in a basic string.
    fn escape(&mut self) -> Result<char, Error> {
        let at = self.pos - 1;
        let c = match self.next_char() {
            Some('b') => '\u{8}',
            Some('t') => '\t',
            Some('n') => '\n',
            Some('f') => '\u{c}',
            Some('r') => '\r',
            Some('e') => '\u{1b}',
            Some('"') => '"',
            Some('\\') => '\\',
            Some('u') => self.unicode_escape(at, 4)?,
            Some('U') => self.unicode_escape(at, 8)?,
            Some(c) if !c.is_control() => {
                return self.fail(at, format!("invalid escape '\\{c}' in a string"))
            }
            _ => return self.fail(at, "invalid escape: '\\' at the end of a line or before a control character (write '\\\\' for a backslash)"),
        };
        Ok(c)
    }

    fn unicode_escape(&mut self, at: usize, len: usize) -> Result<char, Error> {
        let letter = if len == 4 { 'u' } else { 'U' };
        let hex = self.text.get(self.pos..self.pos + len).filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
        let Some(hex) = hex else {
            return self.fail(at, format!("invalid escape: \\{letter} needs {len} hex digits"));
        };
        self.pos += len;
        match u32::from_str_radix(hex, 16).ok().and_then(char::from_u32) {
            Some(c) => Ok(c),
            None => self.fail(at, format!("invalid escape '\\{letter}{hex}': not a Unicode scalar value")),
        }
    }

    fn control_in_string<T>(&self, at: usize, c: char) -> Result<T, Error> {
        let message = format!(
            "control character U+{:04X} in a string (write it as an escape, like \\u{:04X})",
            u32::from(c),
            u32::from(c)
        );
        self.fail(at, message)
    }

    /// An unquoted value: a boolean, number, date-time, inf or nan.
    fn scalar(&mut self) -> Result<Node, Error> {
        let start = self.pos;
        self.take_token();
        let first = self.text.get(start..self.pos).unwrap_or_default();
        // A date and a time may be separated by a space: `1979-05-27 07:32:00Z`.
        if is_date(first.as_bytes())
            && self.peek() == Some(b' ')
            && self.peek_at(1).is_some_and(|b| b.is_ascii_digit())
            && self.peek_at(2).is_some_and(|b| b.is_ascii_digit())
            && self.peek_at(3) == Some(b':')
        {
            self.pos += 1;
            self.take_token();
        }
        let token = self.text.get(start..self.pos).unwrap_or_default();
        let shown: String = token.chars().take(40).collect();
        let b = token.as_bytes();
        let node = match token {
            "true" => Node::Bool(true),
            "false" => Node::Bool(false),
            "inf" | "+inf" | "-inf" | "nan" | "+nan" | "-nan" => Node::Float,
            _ if b.get(4) == Some(&b'-') || b.get(2) == Some(&b':') => {
                if !is_datetime(b) {
                    return self.fail(start, format!("invalid date-time '{shown}'"));
                }
                Node::Datetime
            }
            _ if b.first().is_some_and(|&c| c.is_ascii_digit() || c == b'+' || c == b'-') => match number(token) {
                Ok(node) => node,
                Err(why) => return self.fail(start, format!("{why} '{shown}'")),
            },
            _ => {
                let message = format!("invalid value '{shown}' (a string needs quotes)");
                return self.fail(start, message);
            }
        };
        Ok(node)
    }

    fn take_token(&mut self) {
        while self.peek().is_some_and(is_token) {
            self.pos += 1;
        }
    }
}

/// Digits of `radix` with single underscores between them.
fn digits(s: &str, radix: u32) -> bool {
    !s.is_empty()
        && !s.starts_with('_')
        && !s.ends_with('_')
        && !s.contains("__")
        && s.chars().all(|c| c == '_' || c.is_digit(radix))
}

/// An integer or float; the error is what it is not, for "… 'TOKEN'".
fn number(token: &str) -> Result<Node, &'static str> {
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(body) = token.strip_prefix(prefix) {
            if !digits(body, radix) {
                return Err("invalid integer");
            }
            return i64::from_str_radix(&body.replace('_', ""), radix)
                .map(Node::Int)
                .map_err(|_| "integer out of range (at most 64 bits)");
        }
    }
    let unsigned = token.strip_prefix(['+', '-']).unwrap_or(token);
    let int_end = unsigned.find(['.', 'e', 'E']).unwrap_or(unsigned.len());
    let (int, mut rest) = unsigned.split_at(int_end);
    if !digits(int, 10) {
        return Err("invalid number");
    }
    if int.len() > 1 && int.starts_with('0') {
        return Err("invalid number (leading zeros are not allowed)");
    }
    if rest.is_empty() {
        let sign = if token.starts_with('-') { "-" } else { "" };
        return format!("{sign}{}", int.replace('_', ""))
            .parse()
            .map(Node::Int)
            .map_err(|_| "integer out of range (at most 64 bits)");
    }
    if let Some(after_dot) = rest.strip_prefix('.') {
        let frac_end = after_dot.find(['e', 'E']).unwrap_or(after_dot.len());
        let (frac, tail) = after_dot.split_at(frac_end);
        if !digits(frac, 10) {
            return Err("invalid float");
        }
        rest = tail;
    }
    if let Some(exp) = rest.strip_prefix(['e', 'E']) {
        let exp = exp.strip_prefix(['+', '-']).unwrap_or(exp);
        if !digits(exp, 10) {
            return Err("invalid float");
        }
        rest = "";
    }
    if rest.is_empty() {
        Ok(Node::Float)
    } else {
        Err("invalid number")
    }
}

/// Two digits at `s[i..i + 2]`, as a number.
fn two(s: &[u8], i: usize) -> Option<u32> {
    match s.get(i..i + 2)? {
        [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => Some(u32::from(a - b'0') * 10 + u32::from(b - b'0')),
        _ => None,
    }
}

/// `YYYY-MM-DD` at the start of `s`, a real day of the calendar.
fn is_date(s: &[u8]) -> bool {
    date_len(s).is_some()
}

fn date_len(s: &[u8]) -> Option<usize> {
    let year = two(s, 0)? * 100 + two(s, 2)?;
    let (month, day) = (two(s, 5)?, two(s, 8)?);
    if s.get(4) != Some(&b'-') || s.get(7) != Some(&b'-') {
        return None;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    (1..=days).contains(&day).then_some(10)
}

/// `HH:MM:SS[.fraction]` at the start of `s`; returns its length.
fn time_len(s: &[u8]) -> Option<usize> {
    let (h, m, sec) = (two(s, 0)?, two(s, 3)?, two(s, 6)?);
    if s.get(2) != Some(&b':') || s.get(5) != Some(&b':') || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    if s.get(8) != Some(&b'.') {
        return Some(8);
    }
    let fraction = s.iter().skip(9).take_while(|b| b.is_ascii_digit()).count();
    (fraction > 0).then_some(9 + fraction)
}

/// A TOML offset date-time, local date-time, local date or local time.
fn is_datetime(s: &[u8]) -> bool {
    if s.get(2) == Some(&b':') {
        return time_len(s) == Some(s.len());
    }
    let Some(date) = date_len(s) else {
        return false;
    };
    let Some(rest) = s.get(date..) else {
        return false;
    };
    let Some((sep, time)) = rest.split_first() else {
        return true;
    };
    if !matches!(sep, b'T' | b't' | b' ') {
        return false;
    }
    let Some(offset) = time_len(time).and_then(|n| time.get(n..)) else {
        return false;
    };
    match offset {
        [] | [b'Z' | b'z'] => true,
        [b'+' | b'-', ..] => {
            offset.len() == 6
                && offset.get(3) == Some(&b':')
                && two(offset, 1).is_some_and(|h| h <= 23)
                && two(offset, 4).is_some_and(|m| m <= 59)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree in one line: `{a = 1, b = [2, "x"], c = {d = float}}`.
    fn show(val: &Val) -> String {
        match &val.node {
            Node::Str(s) => format!("{s:?}"),
            Node::Int(n) => n.to_string(),
            Node::Float => "float".to_string(),
            Node::Bool(b) => b.to_string(),
            Node::Datetime => "datetime".to_string(),
            Node::Array(items) => {
                let items: Vec<String> = items.iter().map(show).collect();
                format!("[{}]", items.join(", "))
            }
            Node::Table(rows) => show_rows(rows),
        }
    }

    fn show_rows(rows: &[(Key, Val)]) -> String {
        let rows: Vec<String> = rows.iter().map(|(k, v)| format!("{} = {}", k.name, show(v))).collect();
        format!("{{{}}}", rows.join(", "))
    }

    #[track_caller]
    fn ok(text: &str) -> String {
        match parse(text) {
            Ok(rows) => show_rows(&rows),
            Err(e) => panic!("{text:?}: unexpected error {e:?}"),
        }
    }

    /// "LINE:COL: message" of the error (COL counts characters).
    #[track_caller]
    fn err(text: &str) -> String {
        match parse(text) {
            Ok(rows) => panic!("{text:?}: parsed as {}", show_rows(&rows)),
            Err(e) => {
                let before = text.get(..e.at).expect("error offset on a char boundary");
                let line = before.matches('\n').count() + 1;
                let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
                assert!(!e.message.contains('\n'), "{e:?}");
                format!("{line}:{col}: {}", e.message)
            }
        }
    }

    /// The value of `v = …` in `text`.
    #[track_caller]
    fn value(text: &str) -> String {
        let all = ok(&format!("v = {text}"));
        all.strip_prefix("{v = ").and_then(|s| s.strip_suffix('}')).unwrap_or(&all).to_string()
    }

    #[track_caller]
    fn value_err(text: &str) -> String {
        err(&format!("v = {text}\n"))
    }

    #[test]
    fn empty_blank_and_comment_only_documents() {
        assert_eq!(ok(""), "{}");
        assert_eq!(ok("\n\n  \t\n"), "{}");
        assert_eq!(ok("# just a comment"), "{}");
        assert_eq!(ok("# a\r\n\r\n  # b\n"), "{}");
        assert_eq!(ok("\u{feff}a = 1"), "{a = 1}");
    }

    #[test]
    fn comments_after_values_and_headers() {
        assert_eq!(
            ok("a = 1 # one\n[t] # table\nb = \"#not a comment\"#c\n# end"),
            "{a = 1, t = {b = \"#not a comment\"}}"
        );
        assert_eq!(ok("a = 1\r\nb = 2\r\n"), "{a = 1, b = 2}");
        assert_eq!(ok("a = 1 # tab\there, ünïcode\n"), "{a = 1}");
    }

    #[test]
    fn keys_bare_quoted_and_dotted() {
        assert_eq!(
            ok("bare_key-1 = 1\n1234 = 2\n\"quoted key\" = 3\n'lit\\eral' = 4\n\"\" = 5\n\"\\u00e9\\n\" = 6"),
            "{bare_key-1 = 1, 1234 = 2, quoted key = 3, lit\\eral = 4,  = 5, é\n = 6}"
        );
        assert_eq!(
            ok("a.b.c = 1\na.b.d = 2\na . \"x.y\" . 'z' = 3\nenv.LANG = \"C\""),
            "{a = {b = {c = 1, d = 2}, x.y = {z = 3}}, env = {LANG = \"C\"}}"
        );
        // A float-looking key is two keys.
        assert_eq!(ok("3.14 = 1"), "{3 = {14 = 1}}");
    }

    #[test]
    fn tables_and_arrays_of_tables() {
        assert_eq!(
            ok("top = 1\n[a]\nx = 1\n[a.b]\ny = 2\n[ c . d ]\nz = 3\n"),
            "{top = 1, a = {x = 1, b = {y = 2}}, c = {d = {z = 3}}}"
        );
        // A super-table may be defined after its sub-table.
        assert_eq!(ok("[x.y.z]\nw = 1\n[x]\nv = 2"), "{x = {y = {z = {w = 1}}, v = 2}}");
        assert_eq!(
            ok("[[app]]\nname = \"a\"\n[app.probe]\nhttp = \"h\"\n[[app]]\nname = \"b\"\n[[app.hook]]\nx = 1\n[[app.hook]]\nx = 2\n"),
            "{app = [{name = \"a\", probe = {http = \"h\"}}, {name = \"b\", hook = [{x = 1}, {x = 2}]}]}"
        );
        assert_eq!(ok("[[a]]\n[[a]]\n"), "{a = [{}, {}]}");
        // Sub-tables of a table made by dotted keys.
        assert_eq!(
            ok("[fruit]\napple.color = \"red\"\n[fruit.apple.texture]\nsmooth = true"),
            "{fruit = {apple = {color = \"red\", texture = {smooth = true}}}}"
        );
        assert_eq!(ok("[\"a b\".'c']\nd = 1"), "{a b = {c = {d = 1}}}");
    }

    #[test]
    fn basic_strings_and_escapes() {
        assert_eq!(value(r#""plain""#), r#""plain""#);
        assert_eq!(
            value(r#""\" \\ \n \t \r \b \f \e \u00E9 \U0001F600 \u0000""#),
            r#""\" \\ \n \t \r \u{8} \u{c} \u{1b} é 😀 \0""#
        );
        assert_eq!(value("\"tab\tinside ünïcode\""), "\"tab\\tinside ünïcode\"");
        assert_eq!(value("\"\""), "\"\"");
    }

    #[test]
    fn literal_strings() {
        assert_eq!(value(r"'C:\Users\x'"), r#""C:\\Users\\x""#);
        assert_eq!(value(r#"'say "hi"'"#), r#""say \"hi\"""#);
        assert_eq!(value("''"), "\"\"");
    }

    #[test]
    fn multi_line_strings() {
        assert_eq!(value("\"\"\"\nline 1\nline 2\"\"\""), "\"line 1\\nline 2\"");
        assert_eq!(value("\"\"\"\r\na\r\nb\r\n\"\"\""), "\"a\\nb\\n\"");
        assert_eq!(value("\"\"\"one \\\n   two \\   \n\n  three\"\"\""), "\"one two three\"");
        assert_eq!(value("\"\"\"a\\tb \\u00e9\"\"\""), "\"a\\tb é\"");
        assert_eq!(value("\"\"\"\"quoted\"\"\"\"\""), "\"\\\"quoted\\\"\\\"\"");
        assert_eq!(value("\"\"\"a \"\" b\"\"\""), "\"a \\\"\\\" b\"");
        assert_eq!(value("'''\nC:\\dir\n  'x' '''"), "\"C:\\\\dir\\n  'x' \"");
        assert_eq!(value("''''one'''''"), "\"'one''\"");
        assert_eq!(value("\"\"\"\"\"\""), "\"\"");
        assert_eq!(value("''''''"), "\"\"");
    }

    #[test]
    fn string_errors() {
        assert_eq!(
            value_err("\"abc"),
            "1:5: unterminated string (a \"string\" ends on the line it starts; use \"\"\" for more lines)"
        );
        assert_eq!(
            value_err("'abc"),
            "1:5: unterminated string (a 'string' ends on the line it starts; use ''' for more lines)"
        );
        assert!(err("v = \"abc").starts_with("1:5: unterminated string"));
        assert_eq!(value_err(r#""a\qb""#), "1:7: invalid escape '\\q' in a string");
        assert_eq!(value_err(r#""a\x41""#), "1:7: invalid escape '\\x' in a string");
        assert!(value_err("\"a\\\nb\"").starts_with("1:7: invalid escape"));
        assert_eq!(value_err(r#""\u12""#), "1:6: invalid escape: \\u needs 4 hex digits");
        assert_eq!(value_err(r#""\uD800""#), "1:6: invalid escape '\\uD800': not a Unicode scalar value");
        assert_eq!(value_err(r#""\U00110000""#), "1:6: invalid escape '\\U00110000': not a Unicode scalar value");
        assert_eq!(value_err(r#""\u00é9""#), "1:6: invalid escape: \\u needs 4 hex digits");
        assert_eq!(
            value_err("\"a\u{1}b\""),
            "1:7: control character U+0001 in a string (write it as an escape, like \\u0001)"
        );
        assert!(value_err("'a\u{7f}'").starts_with("1:7: control character U+007F"));
        assert!(value_err("\"\"\"a\u{0}\"\"\"").starts_with("1:9: control character U+0000"));
        assert!(value_err("'''\u{1b}'''").starts_with("1:8: control character U+001B"));
        assert_eq!(value_err("\"\"\"abc"), "1:5: unterminated multi-line string");
        assert_eq!(value_err("'''abc\n"), "1:5: unterminated multi-line string");
        assert_eq!(value_err("\"\"\"a\"\"\"\"\"\"\""), "1:9: too many quotes: three in a row end a multi-line string");
        assert_eq!(value_err("\"\"\"a\rb\"\"\""), "1:9: carriage return without a line feed");
        assert!(value_err("\"\"\"a\\ b\"\"\"").starts_with("1:9: invalid escape '\\ '"));
        // A multi-line string is not a key.
        assert_eq!(err("\"\"\"k\"\"\" = 1"), "1:3: expected '=' after key '', found '\"'");
    }

    #[test]
    fn integers() {
        for (text, want) in [
            ("0", 0),
            ("+0", 0),
            ("-0", 0),
            ("42", 42),
            ("+99", 99),
            ("-17", -17),
            ("1_000", 1000),
            ("5_349_221", 5_349_221),
            ("0xDEADbeef", 0xdead_beef),
            ("0xdead_beef", 0xdead_beef),
            ("0o755", 0o755),
            ("0b1101_0110", 0b1101_0110),
            ("0x0", 0),
            ("9223372036854775807", i64::MAX),
            ("-9223372036854775808", i64::MIN),
            ("0x7FFFFFFFFFFFFFFF", i64::MAX),
        ] {
            assert_eq!(value(text), want.to_string(), "{text}");
        }
        for (text, why) in [
            ("9223372036854775808", "integer out of range (at most 64 bits)"),
            ("0x8000000000000000", "integer out of range (at most 64 bits)"),
            ("007", "invalid number (leading zeros are not allowed)"),
            ("-01", "invalid number (leading zeros are not allowed)"),
            ("1__0", "invalid number"),
            ("_1", "invalid value"),
            ("1_", "invalid number"),
            ("0x", "invalid integer"),
            ("0xG", "invalid integer"),
            ("0o8", "invalid integer"),
            ("0b2", "invalid integer"),
            ("0x_1", "invalid integer"),
            ("+0x1", "invalid number"),
            ("12abc", "invalid number"),
            ("+", "invalid number"),
            ("-", "invalid number"),
            ("1-2", "invalid number"),
        ] {
            let got = value_err(text);
            assert!(got.starts_with(&format!("1:5: {why}")), "{text}: {got}");
            assert!(got.ends_with(&format!("'{text}'")) || why == "invalid value", "{text}: {got}");
        }
    }

    #[test]
    fn floats() {
        for text in [
            "1.0",
            "+1.0",
            "-3.1415",
            "-0.01",
            "5e+22",
            "1e06",
            "-2E-2",
            "6.626e-34",
            "224_617.445_991",
            "0.0",
            "-0.0",
            "+0e0",
            "1e1_0",
            "inf",
            "+inf",
            "-inf",
            "nan",
            "+nan",
            "-nan",
        ] {
            assert_eq!(value(text), "float", "{text}");
        }
        for (text, why) in [
            ("1.", "invalid float"),
            ("1.e5", "invalid float"),
            ("1.5e", "invalid float"),
            ("1e_5", "invalid float"),
            ("1.5_", "invalid float"),
            ("03.14", "invalid number (leading zeros"),
            ("1.2.3", "invalid float"),
            ("1e5.0", "invalid float"),
            ("+.5", "invalid number"),
        ] {
            let got = value_err(text);
            assert!(got.starts_with(&format!("1:5: {why}")), "{text}: {got}");
        }
        assert_eq!(value_err(".5"), "1:5: invalid value '.5' (a string needs quotes)");
        assert_eq!(value_err("infinity"), "1:5: invalid value 'infinity' (a string needs quotes)");
    }

    #[test]
    fn booleans_and_bare_words() {
        assert_eq!(value("true"), "true");
        assert_eq!(value("false"), "false");
        assert_eq!(value_err("True"), "1:5: invalid value 'True' (a string needs quotes)");
        assert_eq!(value_err("truex"), "1:5: invalid value 'truex' (a string needs quotes)");
        assert_eq!(value_err("nginx"), "1:5: invalid value 'nginx' (a string needs quotes)");
        assert_eq!(value_err("@x"), "1:5: expected a value, found '@'");
        assert_eq!(err("v ="), "1:4: expected a value, found end of file");
        assert_eq!(err("v = # c\n"), "1:5: expected a value, found '#'");
        assert_eq!(err("v =\nw = 1"), "1:4: expected a value, found end of line");
    }

    #[test]
    fn date_times() {
        for text in [
            "1979-05-27T07:32:00Z",
            "1979-05-27T00:32:00-07:00",
            "1979-05-27T00:32:00.999999+07:00",
            "1979-05-27 07:32:00Z",
            "1979-05-27t07:32:00z",
            "1979-05-27T07:32:00",
            "1979-05-27 07:32:00.5",
            "1979-05-27",
            "07:32:00",
            "00:32:00.999999",
            "2024-02-29",
            "2000-02-29",
            "1990-12-31T23:59:60Z",
        ] {
            assert_eq!(value(text), "datetime", "{text}");
        }
        for text in [
            "1979-13-27",
            "1979-00-27",
            "1979-05-32",
            "1979-04-31",
            "2023-02-29",
            "1900-02-29",
            "1979-05-27T24:00:00",
            "1979-05-27T07:60:00",
            "1979-05-27T07:32",
            "07:32",
            "1979-05-27T07:32:00.",
            "1979-05-27T07:32:00+7:00",
            "1979-05-27T07:32:00+24:00",
            "1979-05-27T07:32:00Zz",
            "1979-5-27",
            "1979-05-27X07:32:00",
        ] {
            assert!(value_err(text).starts_with("1:5: invalid date-time"), "{text}: {}", value_err(text));
        }
        // A date then a comment, or a date then a stray word.
        assert_eq!(ok("d = 1979-05-27 # birthday"), "{d = datetime}");
        assert_eq!(err("d = 1979-05-27 x"), "1:16: expected a new line after the value of 'd', found 'x'");
    }

    #[test]
    fn arrays() {
        assert_eq!(value("[]"), "[]");
        assert_eq!(value("[ 1, 2, 3 ]"), "[1, 2, 3]");
        assert_eq!(value("[1,2,]"), "[1, 2]");
        assert_eq!(
            value("[\n  \"a\", # first\n  'b',\n\n  # a comment line\n  [1, [2.0]], { x = 1 },\n]"),
            "[\"a\", \"b\", [1, [float]], {x = 1}]"
        );
        assert_eq!(value("[\r\n1\r\n,\r\n2\r\n]"), "[1, 2]");
        assert_eq!(value("[[],[[]]]"), "[[], [[]]]");
        assert_eq!(value("[1, \"mixed\", true]"), "[1, \"mixed\", true]");
    }

    #[test]
    fn array_errors() {
        assert_eq!(value_err("[\"a\" \"b\"]"), "1:10: expected ',' or ']' in the array, found '\"'");
        assert_eq!(value_err("[,]"), "1:6: expected a value, found ','");
        assert_eq!(value_err("[1,,2]"), "1:8: expected a value, found ','");
        assert_eq!(err("v = [1, 2"), "1:10: expected ',' or ']' in the array, found end of file");
        assert_eq!(err("v = [1,\n"), "2:1: expected a value, found end of file");
        assert_eq!(value_err("[1 # c\n 2]"), "2:2: expected ',' or ']' in the array, found '2'");
    }

    #[test]
    fn inline_tables() {
        assert_eq!(value("{}"), "{}");
        assert_eq!(value("{ }"), "{}");
        assert_eq!(
            value("{ first = \"Tom\", last = 'P', n = { x = 1 } }"),
            "{first = \"Tom\", last = \"P\", n = {x = 1}}"
        );
        assert_eq!(value("{ a.b = 1, a.c = 2, \"d\".e = [1] }"), "{a = {b = 1, c = 2}, d = {e = [1]}}");
        assert_eq!(value("{x=1,y=2}"), "{x = 1, y = 2}");
    }

    #[test]
    fn inline_table_errors() {
        assert_eq!(value_err("{ a = 1, }"), "1:12: trailing comma in an inline table");
        assert_eq!(
            err("v = { a = 1\n}"),
            "1:12: expected ',' or '}' in the inline table (an inline table must be on one line)"
        );
        assert_eq!(err("v = {\na = 1 }"), "1:6: expected a key, found end of line");
        assert_eq!(value_err("{ a = 1 b = 2 }"), "1:13: expected ',' or '}' in the inline table, found 'b'");
        assert_eq!(value_err("{ a = 1, a = 2 }"), "1:14: duplicate key 'a' (first on line 1)");
        assert_eq!(
            value_err("{ a = 1, a.b = 2 }"),
            "1:14: cannot add keys to 'a' with a dotted key: it is already a value (first on line 1)"
        );
        assert_eq!(value_err("{ a }"), "1:9: expected '=' after key 'a', found '}'");
        assert_eq!(err("v = { a = 1"), "1:12: expected ',' or '}' in the inline table, found end of file");
        // Inline tables are complete: neither headers nor dotted keys add to them.
        assert_eq!(
            err("a = { b = 1 }\n[a.c]\n"),
            "2:2: 'a' is already a value (first on line 1), so it cannot hold a table"
        );
        assert_eq!(
            err("a = { b = 1 }\na.c = 2\n"),
            "2:1: cannot add keys to 'a' with a dotted key: it is already a value (first on line 1)"
        );
        assert_eq!(err("a = { b = 1 }\n[a]\n"), "2:1: duplicate key 'a' (first on line 1)");
    }

    #[test]
    fn duplicate_keys_and_tables() {
        assert_eq!(err("a = 1\nb = 2\na = 3\n"), "3:1: duplicate key 'a' (first on line 1)");
        assert_eq!(err("a = 1\n\"a\" = 2"), "2:1: duplicate key 'a' (first on line 1)");
        assert_eq!(err("[t]\nx = 1\nx = 2"), "3:1: duplicate key 'x' (first on line 2)");
        assert_eq!(err("[t]\n[u]\n[t]\n"), "3:1: table [t] is defined twice (first on line 1)");
        assert_eq!(err("[a.b]\n[a]\n[a.b]\n"), "3:1: table [a.b] is defined twice (first on line 1)");
        assert_eq!(err("[a]\nb = 1\n[a.b]\n"), "3:1: duplicate key 'b' (first on line 2)");
        assert_eq!(
            err("a.b = 1\na.b.c = 2"),
            "2:3: cannot add keys to 'b' with a dotted key: it is already a value (first on line 1)"
        );
        assert_eq!(err("a.b.c = 1\na.b = 2"), "2:3: duplicate key 'b' (first on line 1)");
        // A table made by dotted keys cannot be defined again by a header ...
        assert_eq!(err("a.b = 1\n[a]\n"), "2:1: table [a] is defined twice (first on line 1)");
        assert_eq!(
            err("[fruit]\napple.color = \"red\"\n[fruit.apple]\n"),
            "3:1: table [fruit.apple] is defined twice (first on line 2)"
        );
        // ... nor can dotted keys add to a table made by a header, even implicitly.
        assert_eq!(
            err("[a.b.c]\nz = 9\n[a]\nb.c.t = 1\n"),
            "4:1: cannot add keys to 'b' with a dotted key: it is a table defined by a [header] (first on line 1)"
        );
        assert_eq!(
            err("[a.b]\n[a]\nb.x = 1\n"),
            "3:1: cannot add keys to 'b' with a dotted key: it is a table defined by a [header] (first on line 1)"
        );
    }

    #[test]
    fn arrays_of_tables_conflicts() {
        assert_eq!(
            err("[[a]]\n[a]\n"),
            "2:1: [a] cannot define 'a': it is an array of tables ([[a]]) (first on line 1)"
        );
        assert_eq!(
            err("[a]\n[[a]]\n"),
            "2:1: [[a]] cannot make 'a' an array of tables: it is already a table (first on line 1)"
        );
        assert_eq!(err("a = [1]\n[[a]]\n"), "2:1: duplicate key 'a' (first on line 1)");
        assert_eq!(err("a = []\n[a.b]\n"), "2:2: 'a' is already a value (first on line 1), so it cannot hold a table");
        assert_eq!(err("[[a]]\nb.c = 1\n[[a]]\nb.c = 2\nb.c = 3"), "5:3: duplicate key 'c' (first on line 4)");
        assert_eq!(err("[[a]]\n[a.b]\n[a.b]\n"), "3:1: table [a.b] is defined twice (first on line 2)");
        assert_eq!(ok("[[a]]\n[a.b]\n[[a]]\n[a.b]\n"), "{a = [{b = {}}, {b = {}}]}");
        // Keys inside an element of an array of tables are its own.
        assert_eq!(ok("[[a]]\na.x = 1\n"), "{a = [{a = {x = 1}}]}");
    }

    #[test]
    fn header_errors() {
        assert_eq!(err("[[app]\n"), "1:6: invalid table header: expected ']]' after '[[app', found ']'");
        assert_eq!(err("[app\nx = 1"), "1:5: invalid table header: expected ']' after '[app', found end of line");
        assert_eq!(err("[]\n"), "1:2: invalid table header: expected a key, found ']'");
        assert_eq!(err("[ [a] ]\n"), "1:3: invalid table header: expected a key, found '['");
        assert_eq!(err("[a b]\n"), "1:4: invalid table header: expected ']' after '[a', found 'b'");
        assert_eq!(err("[a.]\n"), "1:4: invalid table header: expected a key, found ']'");
        assert_eq!(err("[a]]\n"), "1:4: expected a new line after the header [a], found ']'");
        assert_eq!(err("[[a]] x = 1\n"), "1:7: expected a new line after the header [[a]], found 'x'");
        assert_eq!(ok("[a] # c\n[[b]]\t# d\r\n"), "{a = {}, b = [{}]}");
    }

    #[test]
    fn key_value_errors() {
        assert_eq!(err("name \"x\"\n"), "1:6: expected '=' after key 'name', found '\"'");
        assert_eq!(err("a\n"), "1:2: expected '=' after key 'a', found end of line");
        assert_eq!(err("a.b c = 1"), "1:5: expected '=' after key 'a.b', found 'c'");
        assert_eq!(err("= 1"), "1:1: expected a key, found '='");
        assert_eq!(err("a. = 1"), "1:4: expected a key, found '='");
        assert_eq!(err("é = 1"), "1:1: expected a key, found 'é'");
        assert_eq!(err("a = 1 b = 2\n"), "1:7: expected a new line after the value of 'a', found 'b'");
        assert_eq!(err("a = \"x\" \"y\"\n"), "1:9: expected a new line after the value of 'a', found '\"'");
        assert_eq!(err("a = [1] ]\n"), "1:9: expected a new line after the value of 'a', found ']'");
        assert_eq!(err("a = 1\rb = 2"), "1:6: carriage return without a line feed");
        assert_eq!(err("\r"), "1:1: carriage return without a line feed");
        assert_eq!(err("a = 1 # x\u{0}y\n"), "1:10: control character in a comment");
        assert_eq!(err("# \u{7f}"), "1:3: control character in a comment");
        assert_eq!(err("a = [ # \u{1}\n]"), "1:9: control character in a comment");
    }

    #[test]
    fn spans_of_keys_and_values() {
        let text = "top = \"é\" # c\n[tab]\n\"k\" . sub = [1, { x = 2 }]\n[[arr]]\nd = 1979-05-27 07:32:00\n";
        let rows = parse(text).unwrap();
        let at = |span: &Span| span.clone().map(|r| &text[r]);
        let (top, top_val) = &rows[0];
        assert_eq!((at(&top.span), at(&top_val.span)), (Some("top"), Some("\"é\"")));
        let (tab, tab_val) = &rows[1];
        assert_eq!((at(&tab.span), at(&tab_val.span)), (Some("tab"), Some("[tab]")));
        let Node::Table(tab_rows) = &tab_val.node else { panic!() };
        let (k, k_val) = &tab_rows[0];
        // A table made by a dotted key has no place of its own.
        assert_eq!((at(&k.span), at(&k_val.span)), (Some("\"k\""), None));
        let Node::Table(k_rows) = &k_val.node else { panic!() };
        let (sub, sub_val) = &k_rows[0];
        assert_eq!((at(&sub.span), at(&sub_val.span)), (Some("sub"), Some("[1, { x = 2 }]")));
        let Node::Array(items) = &sub_val.node else { panic!() };
        assert_eq!(at(&items[0].span), Some("1"));
        assert_eq!(at(&items[1].span), Some("{ x = 2 }"));
        let Node::Table(x_rows) = &items[1].node else { panic!() };
        assert_eq!((at(&x_rows[0].0.span), at(&x_rows[0].1.span)), (Some("x"), Some("2")));
        let (arr, arr_val) = &rows[2];
        assert_eq!((at(&arr.span), at(&arr_val.span)), (Some("arr"), None));
        let Node::Array(tables) = &arr_val.node else { panic!() };
        assert_eq!(at(&tables[0].span), Some("[[arr]]"));
        let Node::Table(d_rows) = &tables[0].node else { panic!() };
        assert_eq!(at(&d_rows[0].1.span), Some("1979-05-27 07:32:00"));
        // Implicit tables have no place either, until a header defines them.
        let rows = parse("[a.b]\n[c.d]\n[c]\n").unwrap();
        assert_eq!((rows[0].0.span.clone(), rows[0].1.span.clone()), (Some(1..2), None));
        assert_eq!(rows[1].1.span, Some(12..15));
        // Multi-line strings span their quotes.
        let text = "s = \"\"\"\nab\"\"\"\nt = '''x'''";
        let at = |span: &Span| span.clone().map(|r| &text[r]);
        let rows = parse(text).unwrap();
        assert_eq!(at(&rows[0].1.span), Some("\"\"\"\nab\"\"\""));
        assert_eq!(at(&rows[1].1.span), Some("'''x'''"));
    }

    #[test]
    fn nesting_is_limited() {
        let deep = |open: &str, close: &str, n: usize| format!("v = {}{}\n", open.repeat(n), close.repeat(n));
        // The root table is level 0; `v` and its value are level 1.
        assert!(parse(&deep("[", "]", MAX_DEPTH)).is_ok());
        assert_eq!(
            err(&deep("[", "]", MAX_DEPTH + 1)),
            format!("1:{}: values nest too deep (the limit is 128)", MAX_DEPTH + 5)
        );
        assert!(parse(&deep("[", "]", 100_000)).is_err());
        assert!(parse(&deep("{a=", "}", 100_000)).is_err());
        assert!(parse(&"[".repeat(100_000)).is_err());
        assert!(parse(&format!("{}1", "v = [".repeat(100_000))).is_err());
        let keys = vec!["k"; MAX_DEPTH + 1].join(".");
        assert!(err(&format!("{keys} = 1")).contains("dotted key too long"));
        assert!(err(&format!("[{keys}]")).contains("dotted key too long"));
        let keys = vec!["k"; MAX_DEPTH].join(".");
        assert!(parse(&format!("[{keys}]")).is_ok());
        assert!(err(&format!("[{keys}]\nx = 1")).contains("nest too deep"));
        let keys = vec!["k"; 100].join(".");
        assert!(err(&format!("[{keys}]\n{keys} = 1")).contains("nest too deep"));
        assert!(parse(&format!("[{keys}]\nx.y = [[1]]")).is_ok());
    }

    /// A small deterministic fuzz: no prefix, mutation or random text may panic,
    /// and every error points at a character boundary within the text.
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
                assert!(t.is_char_boundary(e.at.min(t.len())) && e.at <= t.len(), "{t:?}: {e:?}");
                assert!(!e.message.is_empty() && !e.message.contains('\n'));
            }
        };
        for (i, c) in sample.char_indices() {
            check(&sample[..i]);
            check(&sample[i..]);
            let mut without = sample.to_string();
            without.remove(i);
            check(&without);
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
