//! Byte formatting without `core::fmt`: integers, durations and quoted
//! values appended to a fixed line buffer. Pure; nothing here makes a
//! system call. Overflowing text is cut, never an error.

use crate::limits::{LINE, SEC};

/// One line of output, at most `LINE` bytes.
pub struct Line {
    buf: [u8; LINE],
    len: usize,
}

impl Default for Line {
    fn default() -> Self {
        Self::new()
    }
}

impl Line {
    #[inline(never)]
    pub const fn new() -> Self {
        Line { buf: [0; LINE], len: 0 }
    }

    #[inline(never)]
    pub fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    /// Empties it.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Appends bytes, cutting what does not fit.
    pub fn s(&mut self, b: &[u8]) -> &mut Self {
        for &c in b {
            self.byte(c);
        }
        self
    }

    fn byte(&mut self, c: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = c;
            self.len += 1;
        }
    }

    /// Appends an unsigned integer in decimal: its leading digits, then
    /// the last (at most 20 calls deep).
    pub fn u(&mut self, n: u64) -> &mut Self {
        if n >= 10 {
            self.u(n / 10);
        }
        self.byte(b'0' + (n % 10) as u8);
        self
    }

    /// Appends a signed integer in decimal.
    pub fn i(&mut self, n: i64) -> &mut Self {
        if n < 0 {
            self.byte(b'-');
        }
        self.u(n.unsigned_abs())
    }

    /// Appends a duration in human units: `350ms`, `45s`, `12m5s`, `3h4m`, `3d4h`.
    pub fn dur(&mut self, ns: u64) -> &mut Self {
        let s = ns / SEC;
        // Seconds in the larger unit and in the smaller one.
        let (big, small, a, b) = match s {
            0 => return self.u(ns / 1_000_000).s(b"ms"),
            1..=59 => return self.u(s).s(b"s"),
            60..=3599 => (60, 1, b"m", b"s"),
            3600..=86_399 => (3600, 60, b"h", b"m"),
            _ => (86_400, 3600, b"d", b"h"),
        };
        self.u(s / big).s(a);
        let rest = s % big / small;
        if rest > 0 {
            self.u(rest).s(b);
        }
        self
    }

    /// Appends bytes with control bytes shown as `?`: file names can hold
    /// anything but `/` and NUL.
    pub fn masked(&mut self, v: &[u8]) -> &mut Self {
        for &c in v {
            self.byte(if c < 0x20 || c == 0x7f { b'?' } else { c });
        }
        self
    }

    /// Appends `DIR/NAME`, the way every message names a service's file
    /// (a trailing `/` of `DIR` dropped, control bytes of `NAME` masked).
    pub fn file(&mut self, dir: &[u8], name: &[u8]) -> &mut Self {
        self.s(dir.strip_suffix(b"/").unwrap_or(dir)).s(b"/").masked(name)
    }

    /// Appends a value in double quotes, control bytes shown as `?` and
    /// anything past 48 bytes cut with `...`: config values can be garbage.
    pub fn quoted(&mut self, v: &[u8]) -> &mut Self {
        self.byte(b'"');
        for (n, &c) in v.iter().enumerate() {
            if n == 48 {
                self.s(b"...");
                break;
            }
            self.masked(&[c]);
        }
        self.s(b"\"")
    }
}

/// Where the word `v` is among the blank-separated `words` (a table of
/// names kept as one string).
pub fn pick(v: &[u8], words: &[u8]) -> Option<usize> {
    words.split(|&b| b == b' ').position(|w| w == v)
}

/// Word `i` of the blank-separated `words`.
pub fn word(words: &'static [u8], i: usize) -> Option<&'static [u8]> {
    words.split(|&b| b == b' ').nth(i)
}

/// Parses a decimal number without sign; `None` on anything else or overflow.
pub fn parse_u64(v: &[u8]) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.iter().try_fold(0u64, |n, &c| {
        let d = c.checked_sub(b'0').filter(|d| *d < 10)?;
        n.checked_mul(10)?.checked_add(u64::from(d))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(f: impl FnOnce(&mut Line)) -> String {
        let mut l = Line::new();
        f(&mut l);
        String::from_utf8(l.bytes().to_vec()).unwrap()
    }

    #[test]
    fn integers() {
        for n in [0u64, 1, 9, 10, 99, 100, 12345, u64::MAX] {
            assert_eq!(
                show(|l| {
                    l.u(n);
                }),
                n.to_string()
            );
        }
        for n in [0i64, -1, 42, i64::MIN, i64::MAX] {
            assert_eq!(
                show(|l| {
                    l.i(n);
                }),
                n.to_string()
            );
        }
    }

    #[test]
    fn durations() {
        let cases = [
            (0, "0ms"),
            (350_000_000, "350ms"),
            (SEC, "1s"),
            (45 * SEC, "45s"),
            (60 * SEC, "1m"),
            (725 * SEC, "12m5s"),
            (3600 * SEC, "1h"),
            (3 * 3600 * SEC + 4 * 60 * SEC + 7 * SEC, "3h4m"),
            ((3 * 86_400 + 4 * 3600 + 59) * SEC, "3d4h"),
            (86_400 * SEC, "1d"),
        ];
        for (ns, want) in cases {
            assert_eq!(
                show(|l| {
                    l.dur(ns);
                }),
                want,
                "{ns}"
            );
        }
    }

    #[test]
    fn quoting_cuts_and_masks() {
        assert_eq!(
            show(|l| {
                l.quoted(b"a\x01b");
            }),
            "\"a?b\""
        );
        let long = [b'x'; 60];
        let s = show(|l| {
            l.quoted(&long);
        });
        assert_eq!(s.len(), 48 + 2 + 3);
        assert!(s.ends_with("...\""));
    }

    #[test]
    fn files() {
        assert_eq!(
            show(|l| {
                l.file(b"/etc/going.d/", b"a\nb");
            }),
            "/etc/going.d/a?b"
        );
        assert_eq!(
            show(|l| {
                l.file(b"d", b"x");
            }),
            "d/x"
        );
    }

    #[test]
    fn overflow_is_cut() {
        let mut l = Line::new();
        for _ in 0..LINE {
            l.s(b"ab");
        }
        assert_eq!(l.bytes().len(), LINE);
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u64(b"1a"), None);
        assert_eq!(parse_u64(b"-1"), None);
    }
}
