//! The bounded buffer of one run of one entry: log records (a line or a
//! piece of one) in arrival order, the oldest dropped once the bytes exceed
//! the cap. One contiguous allocation of exactly the cap, made at the first
//! record, so a pod that prints nothing pays nothing, and one that prints a
//! lot pays the cap and no more.

/// Per-record bookkeeping: timestamp (8) and length with flags (4).
pub(crate) const HEADER: usize = 12;
const STDERR: u32 = 1 << 31;
const PARTIAL: u32 = 1 << 30;
const LEN: u32 = PARTIAL - 1;

/// Which stream a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    /// fd 1.
    Stdout,
    /// fd 2.
    Stderr,
}

impl Stream {
    /// `stdout` / `stderr`, as the CRI format spells them.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// One record as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record<'a> {
    /// Nanoseconds since the epoch when podinit read it.
    pub time: i64,
    /// Its stream.
    pub stream: Stream,
    /// A piece of a longer line (CRI tag `P`) rather than a whole line (`F`).
    pub partial: bool,
    /// The bytes, without the newline.
    pub text: &'a [u8],
}

/// A bounded log of records: a circular buffer of exactly `cap` bytes,
/// allocated at the first record and filled by appending (so its pages are
/// touched only as output arrives), then overwritten oldest first.
#[derive(Debug)]
pub(crate) struct Ring {
    buf: Vec<u8>,
    /// Offset of the oldest record.
    head: usize,
    /// Bytes held.
    len: usize,
    cap: usize,
}

impl Ring {
    /// An empty ring that will hold at most `cap` bytes (records plus [`HEADER`] each).
    pub(crate) fn new(cap: usize) -> Ring {
        Ring { buf: Vec::new(), head: 0, len: 0, cap }
    }

    /// Bytes held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Appends a record, dropping the oldest ones to make room. A record
    /// larger than the whole ring keeps its last bytes.
    pub(crate) fn push(&mut self, time: i64, stream: Stream, partial: bool, mut text: &[u8]) {
        if self.cap <= HEADER {
            return;
        }
        if HEADER + text.len() > self.cap {
            text = &text[text.len() - (self.cap - HEADER)..];
            // Whole lines only, when the record holds several.
            if let Some(nl) = text.iter().position(|&b| b == b'\n').filter(|_| !partial) {
                text = &text[nl + 1..];
            }
        }
        if self.buf.capacity() == 0 {
            self.buf.reserve_exact(self.cap);
        }
        let need = HEADER + text.len();
        while self.len + need > self.cap {
            let mut h = [0u8; HEADER];
            self.read(self.head, &mut h);
            let n = HEADER + (u32::from_le_bytes([h[8], h[9], h[10], h[11]]) & LEN) as usize;
            self.head = (self.head + n) % self.cap;
            self.len -= n;
        }
        let mut word = text.len() as u32 & LEN;
        if stream == Stream::Stderr {
            word |= STDERR;
        }
        if partial {
            word |= PARTIAL;
        }
        let mut h = [0u8; HEADER];
        h[..8].copy_from_slice(&time.to_le_bytes());
        h[8..].copy_from_slice(&word.to_le_bytes());
        let at = (self.head + self.len) % self.cap;
        let at = self.write(at, &h);
        self.write(at, text);
        self.len += need;
    }

    /// Copies `data` in at `at` (wrapping), appending while the buffer is
    /// still filling; returns the offset after it.
    fn write(&mut self, mut at: usize, mut data: &[u8]) -> usize {
        while !data.is_empty() {
            let room = self.cap - at;
            let (now, rest) = data.split_at(data.len().min(room));
            let end = at + now.len();
            if at == self.buf.len() {
                self.buf.extend_from_slice(now);
            } else if end <= self.buf.len() {
                self.buf[at..end].copy_from_slice(now);
            } else {
                let (over, tail) = now.split_at(self.buf.len() - at);
                self.buf[at..].copy_from_slice(over);
                self.buf.extend_from_slice(tail);
            }
            at = end % self.cap;
            data = rest;
        }
        at
    }

    fn read(&self, at: usize, out: &mut [u8]) {
        if let Some(src) = self.buf.get(at..at + out.len()) {
            out.copy_from_slice(src);
            return;
        }
        for (k, b) in out.iter_mut().enumerate() {
            *b = self.buf[(at + k) % self.cap];
        }
    }

    /// Every record, oldest first. Takes `&mut` to lay the bytes out in one
    /// slice first (a rotation at most; queries are rare).
    pub(crate) fn records(&mut self) -> Records<'_> {
        if self.head + self.len > self.buf.len() {
            self.buf.rotate_left(self.head);
            self.head = 0;
        }
        Records { rest: &self.buf[self.head..self.head + self.len], lines: None }
    }
}

/// Iterator over a ring's records, one line at a time: a whole-line record
/// may hold several lines (`\n`-separated, as one read brought them), each
/// given back on its own with the `\r` of a `\r\n` dropped, as containerd
/// keeps lines.
pub(crate) struct Records<'a> {
    rest: &'a [u8],
    /// Lines left of the current record.
    lines: Option<(i64, Stream, &'a [u8])>,
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        if let Some((time, stream, text)) = self.lines {
            let (line, more) = match text.iter().position(|&b| b == b'\n') {
                Some(nl) => (&text[..nl], Some(&text[nl + 1..])),
                None => (text, None),
            };
            self.lines = more.map(|m| (time, stream, m));
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            return Some(Record { time, stream, partial: false, text: line });
        }
        if self.rest.len() < HEADER {
            return None;
        }
        let (head, tail) = self.rest.split_at(HEADER);
        let time = i64::from_le_bytes(head[..8].try_into().ok()?);
        let word = u32::from_le_bytes(head[8..].try_into().ok()?);
        let n = ((word & LEN) as usize).min(tail.len());
        let (text, rest) = tail.split_at(n);
        self.rest = rest;
        let stream = if word & STDERR != 0 { Stream::Stderr } else { Stream::Stdout };
        if word & PARTIAL != 0 {
            return Some(Record { time, stream, partial: true, text });
        }
        self.lines = Some((time, stream, text));
        self.next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(r: &mut Ring) -> Vec<String> {
        r.records().map(|r| String::from_utf8_lossy(r.text).into_owned()).collect()
    }

    #[test]
    fn keeps_the_newest_records_within_the_cap() {
        let mut r = Ring::new(3 * (HEADER + 5));
        assert_eq!(r.buf.capacity(), 0, "nothing allocated before the first record");
        for (i, w) in ["one..", "two..", "three", "four."].iter().enumerate() {
            r.push(i as i64, Stream::Stdout, false, w.as_bytes());
        }
        assert_eq!(texts(&mut r), ["two..", "three", "four."]);
        assert!(r.len() <= 3 * (HEADER + 5));
        assert_eq!(r.buf.capacity(), 3 * (HEADER + 5));
        r.push(9, Stream::Stderr, true, b"x");
        let last = r.records().last().unwrap();
        assert_eq!((last.time, last.stream, last.partial, last.text), (9, Stream::Stderr, true, &b"x"[..]));
        assert_eq!(texts(&mut r), ["three", "four.", "x"]);
    }

    #[test]
    fn wrapping_keeps_exactly_the_newest_records_that_fit() {
        // A model: the newest records whose total size fits the cap.
        let cap = 200;
        let mut r = Ring::new(cap);
        let mut all: Vec<Vec<u8>> = Vec::new();
        let mut seed = 7u32;
        for i in 0..500 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let n = (seed >> 16) as usize % 40;
            let text: Vec<u8> = (0..n).map(|k| b'a' + ((i + k) % 26) as u8).collect();
            r.push(i as i64, Stream::Stdout, i % 3 == 0, &text);
            all.push(text);
            let mut want = Vec::new();
            let mut used = 0;
            for t in all.iter().rev() {
                if used + HEADER + t.len() > cap {
                    break;
                }
                used += HEADER + t.len();
                want.push(t.clone());
            }
            want.reverse();
            let got: Vec<Vec<u8>> = r.records().map(|x| x.text.to_vec()).collect();
            assert_eq!(got, want, "after record {i}");
            assert_eq!(r.records().last().map(|x| (x.time, x.partial)), Some((i as i64, i % 3 == 0)));
            assert!(r.buf.len() <= cap);
        }
    }

    #[test]
    fn a_record_of_several_lines_reads_back_line_by_line() {
        let mut r = Ring::new(64);
        r.push(5, Stream::Stderr, false, b"one\r\ntwo\n\nthree");
        r.push(6, Stream::Stdout, true, b"part\r");
        let got: Vec<(i64, bool, String)> =
            r.records().map(|x| (x.time, x.partial, String::from_utf8_lossy(x.text).into_owned())).collect();
        assert_eq!(
            got,
            [
                (5, false, "one".into()),
                (5, false, "two".into()),
                (5, false, "".into()),
                (5, false, "three".into()),
                (6, true, "part\r".into())
            ]
        );
        // Too big for the ring: the newest whole lines are kept.
        let mut r = Ring::new(HEADER + 10);
        r.push(1, Stream::Stdout, false, b"aaaa\nbbbb\ncccc");
        assert_eq!(texts(&mut r), ["bbbb", "cccc"]);
    }

    #[test]
    fn a_record_larger_than_the_ring_keeps_its_end() {
        let mut r = Ring::new(HEADER + 4);
        r.push(1, Stream::Stdout, false, b"abcdefgh");
        assert_eq!(texts(&mut r), ["efgh"]);
    }
}
