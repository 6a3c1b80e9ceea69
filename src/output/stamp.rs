//! What `log_time` puts before each line: the UTC date and time with
//! microseconds (`2026-12-01T18:33:22.123456Z `) or the seconds since
//! boot as the kernel's own log shows them (`[   12.345678] `). Pure: the
//! clock is read by the caller, once per wake-up, and every line of that
//! read gets the same stamp.

use crate::config::LogTime;

/// One stamp, trailing blank included.
#[derive(Clone, Copy)]
pub struct Stamp {
    buf: [u8; 40],
    len: usize,
}

impl Stamp {
    pub const fn none() -> Self {
        Stamp { buf: [0; 40], len: 0 }
    }

    pub fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    /// `n` in decimal, at least `width` digits (zero-padded) or, with
    /// `blank`, padded with blanks to `width` characters.
    fn num(&mut self, n: u64, width: usize, blank: bool) -> &mut Self {
        let mut digits = [0u8; 20];
        let mut k = 0;
        let mut v = n;
        while k < digits.len() {
            if let Some(d) = digits.get_mut(k) {
                *d = b'0' + (v % 10) as u8;
            }
            k += 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        for _ in k..width {
            self.push(if blank { b' ' } else { b'0' });
        }
        for i in (0..k).rev() {
            self.push(digits.get(i).copied().unwrap_or(b'0'));
        }
        self
    }

    fn s(&mut self, b: &[u8]) -> &mut Self {
        for &c in b {
            self.push(c);
        }
        self
    }
}

/// The stamp for `time` from the clock `read` gives (seconds and
/// nanoseconds of `CLOCK_REALTIME` for `utc`, `CLOCK_BOOTTIME` for
/// `boot`); `read` is not called for `none`.
pub fn of(time: LogTime, read: impl FnOnce(LogTime) -> (i64, u32)) -> Stamp {
    match time {
        LogTime::None => Stamp::none(),
        LogTime::Utc => {
            let (s, ns) = read(time);
            utc(s, ns / 1000)
        }
        LogTime::Boot => {
            let (s, ns) = read(time);
            boot(u64::try_from(s).unwrap_or(0), ns / 1000)
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS.uuuuuuZ ` for `secs` since 1970 (UTC).
pub fn utc(secs: i64, usec: u32) -> Stamp {
    let days = secs.div_euclid(86_400);
    let t = secs.rem_euclid(86_400) as u64;
    let (y, m, d) = civil(days);
    let mut s = Stamp::none();
    if y < 0 {
        s.push(b'-');
    }
    let fields = [
        (y.unsigned_abs(), 4, b'-'),
        (u64::from(m), 2, b'-'),
        (u64::from(d), 2, b'T'),
        (t / 3600, 2, b':'),
        (t / 60 % 60, 2, b':'),
        (t % 60, 2, b'.'),
    ];
    for (n, width, after) in fields {
        s.num(n, width, false).push(after);
    }
    s.num(u64::from(usec.min(999_999)), 6, false).s(b"Z ");
    s
}

/// `[SSSSS.uuuuuu] ` for `secs` since boot: five places before the
/// point, padded with blanks, more once the machine is up that long.
pub fn boot(secs: u64, usec: u32) -> Stamp {
    let mut s = Stamp::none();
    s.s(b"[").num(secs, 5, true).s(b".").num(u64::from(usec.min(999_999)), 6, false).s(b"] ");
    s
}

/// Days in each month of a year that starts on March 1st, so that the
/// leap day, when there is one, is the year's last day.
const FROM_MARCH: [u16; 12] = [31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31, 29];

/// The year, month (1–12) and day (1–31) of a day counted from
/// 1970-01-01 (day 0) in the proleptic Gregorian calendar.
///
/// The count is moved to start at 0000-03-01. From there the calendar
/// repeats every 400 years (146097 days); each of their four centuries
/// has 36524 days but the last, which keeps its leap day (36525); each
/// century is 4-year groups of 1461 days, of which only the last may lack
/// its leap day; and each group is years of 365 days but the last (366).
/// Clamping the quotients at the last century and the last year of a
/// group gives those long ones their extra day.
pub fn civil(days: i64) -> (i64, u8, u8) {
    const D400: i64 = 146_097;
    const D100: i64 = 36_524;
    const D4: i64 = 1_461;
    // 0000-03-01 to 1970-01-01: 1969 years and 10 months.
    let z = days + 719_468;
    let cycles = z.div_euclid(D400);
    let mut r = z.rem_euclid(D400);
    let centuries = (r / D100).min(3);
    r -= centuries * D100;
    let groups = r / D4;
    r -= groups * D4;
    let years = (r / 365).min(3);
    r -= years * 365;
    let mut year = cycles * 400 + centuries * 100 + groups * 4 + years;
    // `r` is now the day of the March-based year, 0 to 365.
    let mut month = 0usize;
    for len in FROM_MARCH {
        if r < i64::from(len) {
            break;
        }
        r -= i64::from(len);
        month += 1;
    }
    // March is month 0 of the shifted year; January and February belong
    // to the next calendar year.
    let m = if month < 10 { month + 3 } else { month - 9 };
    if m <= 2 {
        year += 1;
    }
    (year, m as u8, (r + 1) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: Stamp) -> String {
        String::from_utf8(s.bytes().to_vec()).unwrap()
    }

    fn leap(y: i64) -> bool {
        (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
    }

    fn month_len(y: i64, m: u8) -> u8 {
        match m {
            2 if leap(y) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    #[test]
    fn every_day_from_1970_to_2500_follows_the_day_before() {
        // A calendar kept by hand, one day at a time, against the formula.
        let (mut y, mut m, mut d) = (1970i64, 1u8, 1u8);
        for day in 0..(530 * 366) {
            assert_eq!(civil(day), (y, m, d), "day {day}");
            d += 1;
            if d > month_len(y, m) {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
        assert!(y > 2500);
    }

    #[test]
    fn days_before_1970_count_backwards() {
        let (mut y, mut m, mut d) = (1969i64, 12u8, 31u8);
        for day in (-800 * 366..0).rev() {
            assert_eq!(civil(day), (y, m, d), "day {day}");
            if d == 1 {
                if m == 1 {
                    m = 12;
                    y -= 1;
                } else {
                    m -= 1;
                }
                d = month_len(y, m);
            } else {
                d -= 1;
            }
        }
    }

    #[test]
    fn known_instants() {
        // Checked with `date -u -d @SECS +%FT%TZ`.
        let cases: [(i64, u32, &str); 14] = [
            (0, 0, "1970-01-01T00:00:00.000000Z "),
            (86_399, 999_999, "1970-01-01T23:59:59.999999Z "),
            (68_169_600, 1, "1972-02-29T00:00:00.000001Z "),
            (951_782_400, 0, "2000-02-29T00:00:00.000000Z "),
            (946_684_799, 500_000, "1999-12-31T23:59:59.500000Z "),
            (946_684_800, 0, "2000-01-01T00:00:00.000000Z "),
            (1_234_567_890, 123_456, "2009-02-13T23:31:30.123456Z "),
            (2_147_483_647, 0, "2038-01-19T03:14:07.000000Z "),
            (2_147_483_648, 0, "2038-01-19T03:14:08.000000Z "),
            (1_796_150_002, 123_456, "2026-12-01T18:33:22.123456Z "),
            (4_107_542_399, 0, "2100-02-28T23:59:59.000000Z "),
            (4_107_542_400, 0, "2100-03-01T00:00:00.000000Z "),
            (4_133_980_799, 0, "2100-12-31T23:59:59.000000Z "),
            (253_402_300_799, 999_999, "9999-12-31T23:59:59.999999Z "),
        ];
        for (secs, usec, want) in cases {
            assert_eq!(text(utc(secs, usec)), want, "{secs}");
        }
        assert_eq!(text(utc(253_402_300_800, 0)), "10000-01-01T00:00:00.000000Z ");
        assert_eq!(text(utc(-1, 0)), "1969-12-31T23:59:59.000000Z ");
    }

    #[test]
    fn boot_stamps_look_like_the_kernels() {
        assert_eq!(text(boot(0, 0)), "[    0.000000] ");
        assert_eq!(text(boot(12, 345_678)), "[   12.345678] ");
        assert_eq!(text(boot(99_999, 999_999)), "[99999.999999] ");
        assert_eq!(text(boot(123_456, 7)), "[123456.000007] ");
        assert_eq!(text(boot(u64::MAX, 0)), "[18446744073709551615.000000] ");
    }

    #[test]
    fn none_reads_no_clock() {
        assert!(of(LogTime::None, |_| panic!("read a clock")).bytes().is_empty());
        assert_eq!(text(of(LogTime::Utc, |_| (0, 999_999_999))), "1970-01-01T00:00:00.999999Z ");
        assert_eq!(text(of(LogTime::Boot, |_| (-5, 0))), "[    0.000000] ");
    }
}
