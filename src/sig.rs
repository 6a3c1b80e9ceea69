//! Signal names and numbers (Linux's generic numbering, shared by x86_64
//! and aarch64). Pure.

use crate::fmt::pick;

/// Names of signals 1 to 31, in order, without the `SIG` prefix.
const NAMES: &[u8] = b"HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT CHLD CONT STOP \
TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS";

pub const HUP: i32 = 1;
pub const INT: i32 = 2;
pub const KILL: i32 = 9;
pub const USR1: i32 = 10;
pub const USR2: i32 = 12;
pub const TERM: i32 = 15;
pub const CHLD: i32 = 17;
pub const CONT: i32 = 18;

/// The name of signal `n` without `SIG`, or `None` for real-time and
/// unknown numbers.
pub fn name(n: i32) -> Option<&'static [u8]> {
    crate::fmt::word(NAMES, usize::try_from(n).ok()?.checked_sub(1)?)
}

/// The real-time signals that `RTMIN` and `RTMAX` name, as kill(1) and
/// the C libraries count them (the kernel's first two are kept by them).
pub const RTMIN: i32 = 34;
pub const RTMAX: i32 = 64;

/// Parses `TERM`, `SIGTERM`, `term`, `sigterm`, `RTMIN`, `RTMIN+N`,
/// `RTMAX-N` or a number from 1 to 64.
pub fn parse(v: &[u8]) -> Option<i32> {
    if let Some(n) = crate::fmt::parse_u64(v) {
        return (1..=64).contains(&n).then_some(n as i32);
    }
    let mut up = [0u8; 16];
    let n = v.len().min(up.len());
    for (d, s) in up.iter_mut().zip(v) {
        *d = s.to_ascii_uppercase();
    }
    let up = up.get(..n).filter(|_| v.len() <= 16)?;
    let bare = up.strip_prefix(b"SIG").unwrap_or(up);
    let alias = pick(bare, b"IOT CLD POLL").and_then(|i| [6, CHLD, 29].get(i).copied());
    alias.or_else(|| pick(bare, NAMES).map(|i| i as i32 + 1)).or_else(|| realtime(bare))
}

/// `RTMIN`, `RTMIN+N`, `RTMAX`, `RTMAX-N` (upper case, without `SIG`).
fn realtime(v: &[u8]) -> Option<i32> {
    let offset = |rest: &[u8], sign: u8| -> Option<i32> {
        match rest.split_first() {
            None => Some(0),
            Some((&s, n)) if s == sign => crate::fmt::parse_u64(n).and_then(|n| i32::try_from(n).ok()),
            _ => None,
        }
    };
    let n = if let Some(rest) = v.strip_prefix(b"RTMIN") {
        RTMIN + offset(rest, b'+')?
    } else {
        RTMAX - offset(v.strip_prefix(b"RTMAX")?, b'-')?
    };
    (RTMIN..=RTMAX).contains(&n).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips() {
        for n in 1..=31 {
            let nm = name(n).unwrap();
            assert_eq!(parse(nm), Some(n));
            let mut with = b"SIG".to_vec();
            with.extend_from_slice(nm);
            assert_eq!(parse(&with), Some(n));
            assert_eq!(parse(&with.to_ascii_lowercase()), Some(n));
        }
    }

    #[test]
    fn numbers_and_garbage() {
        assert_eq!(parse(b"9"), Some(9));
        assert_eq!(parse(b"31"), Some(31));
        assert_eq!(parse(b"32"), Some(32));
        assert_eq!(parse(b"64"), Some(64));
        assert_eq!(parse(b"65"), None);
        assert_eq!(parse(b"0"), None);
        assert_eq!(parse(b""), None);
        assert_eq!(parse(b"SIG"), None);
        assert_eq!(parse(b"TERMINATE"), None);
        assert_eq!(parse(b"SIGTERMSIGTERMSIGTERM"), None);
        assert_eq!(parse(b"IOT"), Some(6));
        assert_eq!(name(0), None);
        assert_eq!(name(32), None);
        assert_eq!(name(-1), None);
        assert_eq!(name(TERM), Some(&b"TERM"[..]));
    }

    #[test]
    fn realtime_signals() {
        assert_eq!(parse(b"RTMIN"), Some(34));
        assert_eq!(parse(b"SIGRTMIN+2"), Some(36));
        assert_eq!(parse(b"rtmin+30"), Some(64));
        assert_eq!(parse(b"RTMAX"), Some(64));
        assert_eq!(parse(b"SIGRTMAX-1"), Some(63));
        assert_eq!(parse(b"RTMAX-30"), Some(34));
        for bad in [&b"RTMIN+31"[..], b"RTMAX-31", b"RTMIN-1", b"RTMAX+1", b"RTMIN+", b"RTMINX", b"RT"] {
            assert_eq!(parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
