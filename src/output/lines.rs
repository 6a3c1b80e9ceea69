//! Cutting what a service wrote into the pieces its sink writes. Pure.
//!
//! A piece is part of one line, or (for a sink that puts nothing before
//! a line) a run of whole lines. A line longer than `LOG_LINE_MAX` bytes,
//! its newline not counted, is cut after that many: the sink ends it with
//! a newline of its own and the rest is a new line. The cut is made once
//! the next byte shows that the line goes on, so a line of exactly
//! `LOG_LINE_MAX` bytes is never cut. How much of the current line has
//! gone out already is the caller's to keep between reads (`line_len`).

use crate::limits::LOG_LINE_MAX;

/// `data[start..end]`, with the newline when it ends its line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    /// It starts a line: the sink puts its prefix (time, name) first.
    pub head: bool,
    pub start: usize,
    pub end: usize,
    /// The line is cut after it: the sink adds the newline.
    pub cut: bool,
}

/// Where a read's lines are: positions only, so the buffer they are in
/// may be written between two pieces (see `Buf`).
pub struct Lines {
    pos: usize,
    /// Bytes of the current line already given out.
    len: usize,
    /// One line per piece; otherwise whole lines come together.
    per_line: bool,
    /// Keep an unfinished line back: more of it may come with the next
    /// read into the same buffer.
    hold: bool,
}

impl Lines {
    #[inline(never)]
    pub fn new(line_len: u16, per_line: bool, hold: bool) -> Self {
        Lines { pos: 0, len: usize::from(line_len).min(LOG_LINE_MAX), per_line, hold }
    }

    /// Bytes given out so far; what follows was held back.
    pub fn used(&self) -> usize {
        self.pos
    }

    /// How much of the current line has gone out, for the next read.
    pub fn line_len(&self) -> u16 {
        self.len as u16
    }

    #[inline(never)]
    fn give(&mut self, end: usize, cut: bool) -> Option<Piece> {
        let p = Piece { head: self.len == 0, start: self.pos, end, cut };
        self.pos = end;
        Some(p)
    }

    /// The next piece of `data` (the same bytes at every call, as far as
    /// they were not given out yet).
    pub fn next(&mut self, data: &[u8]) -> Option<Piece> {
        let rest = data.get(self.pos..).filter(|r| !r.is_empty())?;
        if self.len >= LOG_LINE_MAX {
            // A full line ends here: with the newline that follows, or
            // with a cut.
            let nl = rest.first() == Some(&b'\n');
            let p = Piece { head: false, start: self.pos, end: self.pos + usize::from(nl), cut: !nl };
            self.pos = p.end;
            self.len = 0;
            return Some(p);
        }
        let room = LOG_LINE_MAX - self.len;
        let window = rest.get(..room).unwrap_or(rest);
        match newline(window) {
            Some(i) => {
                let mut end = i + 1;
                // Every line after the first ends within `rest`; when
                // `rest` is not longer than a line, none of them can be
                // too long, so they go out together.
                if !self.per_line
                    && rest.len() <= LOG_LINE_MAX
                    && let Some(last) = rest.iter().rposition(|&b| b == b'\n')
                {
                    end = last + 1;
                }
                let p = self.give(self.pos + end, false);
                self.len = 0;
                p
            }
            None if window.len() == room => {
                let p = self.give(self.pos + room, false);
                self.len = LOG_LINE_MAX;
                p
            }
            None if self.hold => None,
            None => {
                let p = self.give(self.pos + window.len(), false);
                self.len += window.len();
                p
            }
        }
    }
}

/// The first newline in `b`, a word at a time.
pub fn newline(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = ONES * b'\n' as u64;
    let mut words = b.chunks_exact(8);
    let mut at = 0;
    for w in words.by_ref() {
        // (An array, not `copy_from_slice`: that is a call to `memcpy`
        // when optimising for size.)
        let x = u64::from_ne_bytes(<[u8; 8]>::try_from(w).unwrap_or([0; 8])) ^ NL;
        // A byte of `x` is zero where `w` holds a newline.
        if x.wrapping_sub(ONES) & !x & HIGH != 0 {
            break;
        }
        at += 8;
    }
    b.get(at..)?.iter().position(|&c| c == b'\n').map(|i| i + at)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every piece as (head, text, cut), and what was held back; a long
    /// text is shown as its length and first byte.
    fn run(data: &[u8], len: u16, per_line: bool, hold: bool) -> (Vec<(bool, String, bool)>, usize, u16) {
        let mut l = Lines::new(len, per_line, hold);
        let v = core::iter::from_fn(|| l.next(data)).map(|pc| p(pc.head, &data[pc.start..pc.end], pc.cut)).collect();
        (v, l.used(), l.line_len())
    }

    fn p(head: bool, text: &[u8], cut: bool) -> (bool, String, bool) {
        let shown = match text {
            [first, ..] if text.len() > 16 => format!("{} x {:?}", text.len(), *first as char),
            _ => String::from_utf8_lossy(text).into_owned(),
        };
        (head, shown, cut)
    }

    #[test]
    fn lines_one_by_one() {
        let (v, used, len) = run(b"a\nbb\n\nccc", 0, true, false);
        assert_eq!(v, [p(true, b"a\n", false), p(true, b"bb\n", false), p(true, b"\n", false), p(true, b"ccc", false)]);
        assert_eq!((used, len), (9, 3));
        // Held: the unfinished line is not given out.
        let (v, used, len) = run(b"a\nccc", 0, true, true);
        assert_eq!(v, [p(true, b"a\n", false)]);
        assert_eq!((used, len), (2, 0));
    }

    #[test]
    fn a_continued_line_is_no_head() {
        let (v, _, len) = run(b"rest\nnext\n", 5, true, false);
        assert_eq!(v, [p(false, b"rest\n", false), p(true, b"next\n", false)]);
        assert_eq!(len, 0);
        let (v, _, len) = run(b"more", 5, true, false);
        assert_eq!(v, [p(false, b"more", false)]);
        assert_eq!(len, 9);
    }

    #[test]
    fn whole_lines_go_together_without_prefixes() {
        let (v, used, len) = run(b"x\nab\ncd\nef", 3, false, true);
        assert_eq!(v, [p(false, b"x\nab\ncd\n", false)]);
        assert_eq!((used, len), (8, 0));
        let (v, _, _) = run(b"x\nab\ncd\nef", 0, false, false);
        assert_eq!(v, [p(true, b"x\nab\ncd\n", false), p(true, b"ef", false)]);
    }

    #[test]
    fn long_lines_are_cut_at_the_limit() {
        let mut data = vec![b'x'; LOG_LINE_MAX * 2 + 10];
        data.push(b'\n');
        for per_line in [true, false] {
            let (v, used, len) = run(&data, 0, per_line, false);
            let m = LOG_LINE_MAX;
            assert_eq!(
                v,
                [
                    p(true, &data[..m], false),
                    p(false, b"", true),
                    p(true, &data[..m], false),
                    p(false, b"", true),
                    p(true, &data[data.len() - 11..], false)
                ]
            );
            assert_eq!((used, len), (data.len(), 0));
        }
        // Exactly the limit, then its newline: not cut.
        let mut exact = vec![b'y'; LOG_LINE_MAX];
        exact.extend_from_slice(b"\nz\n");
        let (v, _, _) = run(&exact, 0, true, true);
        assert_eq!(v, [p(true, &exact[..LOG_LINE_MAX], false), p(false, b"\n", false), p(true, b"z\n", false)]);
        // The limit counts what earlier reads gave out.
        let (v, _, len) = run(&[b'q'; 100], (LOG_LINE_MAX - 40) as u16, true, true);
        assert_eq!(v, [p(false, &[b'q'; 40], false), p(false, b"", true)]);
        assert_eq!(len, 0);
        // A full line that may still end with the next byte: held as it is.
        let (v, used, len) = run(&[], LOG_LINE_MAX as u16, true, false);
        assert!(v.is_empty());
        assert_eq!((used, len), (0, LOG_LINE_MAX as u16));
    }

    #[test]
    fn every_split_of_a_stream_gives_the_same_lines() {
        // Output read in pieces of every size from 1 to 9, and whole:
        // the same text, cut at the same places.
        let text: Vec<u8> = (0..600u32).flat_map(|i| vec![b'a' + (i % 26) as u8; (i as usize * 7) % 5000]).collect();
        let mut stream = Vec::new();
        for (i, chunk) in text.chunks(997).enumerate() {
            stream.extend_from_slice(chunk);
            if i % 7 == 6 || i % 5 == 1 {
                stream.push(b'\n');
            }
        }
        let lines_of = |step: usize| {
            let mut out = Vec::new();
            let mut len = 0u16;
            for chunk in stream.chunks(step) {
                let mut l = Lines::new(len, true, false);
                while let Some(pc) = l.next(chunk) {
                    if pc.head {
                        out.push(b'|');
                    }
                    out.extend_from_slice(&chunk[pc.start..pc.end]);
                    if pc.cut {
                        out.push(b'\n');
                    }
                }
                len = l.line_len();
            }
            out
        };
        let whole = lines_of(stream.len());
        for line in whole.split(|&b| b == b'\n') {
            assert!(line.len() <= LOG_LINE_MAX + 1, "{} bytes", line.len());
        }
        for step in [1, 2, 3, 7, 9, 4096, 4097] {
            assert!(lines_of(step) == whole, "step {step}");
        }
    }

    #[test]
    fn newline_is_found_anywhere() {
        for n in 0..40 {
            for at in 0..n {
                let mut b = vec![b'x'; n];
                b[at] = b'\n';
                assert_eq!(newline(&b), Some(at), "{n} {at}");
                if at + 1 < n {
                    b[n - 1] = b'\n';
                    assert_eq!(newline(&b), Some(at));
                }
            }
            assert_eq!(newline(&vec![b'x'; n]), None);
        }
        // Bytes that differ from a newline in one bit only.
        assert_eq!(newline(&[0x8a, 0x0b, 0x08, 0x0e, 0x02, 0x4a, 0x1a, 0x2a, 0x0a]), Some(8));
        assert_eq!(newline(&[0xff; 16]), None);
    }
}
