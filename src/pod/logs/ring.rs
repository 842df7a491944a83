//! The bounded buffer of one run of one entry: log records (a line or a
//! piece of one) in arrival order, the oldest dropped once the bytes exceed
//! the cap. One contiguous allocation of exactly the cap, made at the first
//! record, so a pod that prints nothing pays nothing, and one that prints a
//! lot pays the cap and no more.

use std::collections::VecDeque;

/// Per-record bookkeeping: timestamp (8) and length with flags (4).
pub const HEADER: usize = 12;
const STDERR: u32 = 1 << 31;
const PARTIAL: u32 = 1 << 30;
const LEN: u32 = PARTIAL - 1;

/// Which stream a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// fd 1.
    Stdout,
    /// fd 2.
    Stderr,
}

impl Stream {
    /// `stdout` / `stderr`, as the CRI format spells them.
    pub fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// One record as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    /// Nanoseconds since the epoch when podinit read it.
    pub time: i64,
    /// Its stream.
    pub stream: Stream,
    /// A piece of a longer line (CRI tag `P`) rather than a whole line (`F`).
    pub partial: bool,
    /// The bytes, without the newline.
    pub text: &'a [u8],
}

/// A bounded log of records.
#[derive(Debug)]
pub struct Ring {
    buf: VecDeque<u8>,
    cap: usize,
}

impl Ring {
    /// An empty ring that will hold at most `cap` bytes (records plus [`HEADER`] each).
    pub fn new(cap: usize) -> Ring {
        Ring { buf: VecDeque::new(), cap }
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when nothing was kept.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Appends a record, dropping the oldest ones to make room. A record
    /// larger than the whole ring keeps its last bytes.
    pub fn push(&mut self, time: i64, stream: Stream, partial: bool, mut text: &[u8]) {
        if self.cap <= HEADER {
            return;
        }
        if HEADER + text.len() > self.cap {
            text = &text[text.len() - (self.cap - HEADER)..];
        }
        if self.buf.capacity() == 0 {
            self.buf.reserve_exact(self.cap);
        }
        while self.buf.len() + HEADER + text.len() > self.cap {
            let n = self.head_len();
            self.buf.drain(..HEADER + n);
        }
        let mut word = text.len() as u32 & LEN;
        if stream == Stream::Stderr {
            word |= STDERR;
        }
        if partial {
            word |= PARTIAL;
        }
        self.buf.extend(time.to_le_bytes());
        self.buf.extend(word.to_le_bytes());
        self.buf.extend(text);
    }

    /// Length of the oldest record's text.
    fn head_len(&self) -> usize {
        let w = [self.buf[8], self.buf[9], self.buf[10], self.buf[11]];
        (u32::from_le_bytes(w) & LEN) as usize
    }

    /// Every record, oldest first. Takes `&mut` to lay the bytes out in one
    /// slice first (a memmove at most; queries are rare).
    pub fn records(&mut self) -> Records<'_> {
        Records { rest: self.buf.make_contiguous() }
    }
}

/// Iterator over a ring's records.
pub struct Records<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        if self.rest.len() < HEADER {
            return None;
        }
        let (head, tail) = self.rest.split_at(HEADER);
        let time = i64::from_le_bytes(head[..8].try_into().ok()?);
        let word = u32::from_le_bytes(head[8..].try_into().ok()?);
        let n = ((word & LEN) as usize).min(tail.len());
        let (text, rest) = tail.split_at(n);
        self.rest = rest;
        Some(Record {
            time,
            stream: if word & STDERR != 0 { Stream::Stderr } else { Stream::Stdout },
            partial: word & PARTIAL != 0,
            text,
        })
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
    fn a_record_larger_than_the_ring_keeps_its_end() {
        let mut r = Ring::new(HEADER + 4);
        r.push(1, Stream::Stdout, false, b"abcdefgh");
        assert_eq!(texts(&mut r), ["efgh"]);
    }
}
