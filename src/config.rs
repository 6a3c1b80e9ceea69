//! One config file's bytes -> `Config` or `ConfigError`. Pure: it reads no
//! file and asks no database; a file is valid here when its syntax and
//! values are, and `scan` adds what needs the system.
//!
//! A file is lines of `key=value`; blank lines and `#` comments are
//! skipped; blanks around the line, the key and the value are ignored, and
//! so is a trailing `\r`. Every key but `env` may appear once.

use crate::cmdline::{self, CmdError};
use crate::fmt::{Line, parse_u64};
use crate::limits::{MAX_ENV, MAX_STOP_TIMEOUT_SECS, STOP_TIMEOUT_SECS};
use crate::sig;
use heapless::Vec;

/// What to do when the service's process exits on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restart {
    Always,
    OnFailure,
    Never,
}

/// Where the service's stdout and stderr go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Log<'a> {
    Inherit,
    Null,
    File(&'a [u8]),
    /// Each line to going's stdout as `NAME | line` (Procfile mode).
    Prefix,
}

/// A valid service config; every slice points into the file's bytes.
#[derive(Debug)]
pub struct Config<'a> {
    pub cmd: &'a [u8],
    pub cwd: &'a [u8],
    pub env: Vec<&'a [u8], MAX_ENV>,
    pub user: Option<&'a [u8]>,
    pub group: Option<&'a [u8]>,
    pub chroot: Option<&'a [u8]>,
    pub umask: u32,
    pub restart: Restart,
    pub stop_signal: i32,
    pub stop_timeout: u32,
    pub log: Log<'a>,
    pub log_size: u64,
    pub log_keep: u32,
    pub nice: Option<i32>,
    /// `limit_*` keys, in the order of `LIMITS`.
    pub limits: [Option<Limit>; 9],
    /// Lines of `user=`, `group=` and `log=`, for errors found outside
    /// this module.
    pub user_line: usize,
    pub group_line: usize,
    pub log_line: usize,
}

/// A resource limit: soft and hard values, `None` for unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

/// The resources of the `limit_*` keys, in key order.
pub const LIMITS: [&[u8]; 9] = [b"as", b"core", b"cpu", b"data", b"fsize", b"memlock", b"nofile", b"nproc", b"stack"];

/// The keys, in the order of going(5). The index is the key's identity.
const KEYS: [&[u8]; 23] = [
    b"cmd",
    b"cwd",
    b"env",
    b"user",
    b"group",
    b"chroot",
    b"umask",
    b"restart",
    b"stop_signal",
    b"stop_timeout",
    b"log",
    b"log_size",
    b"log_keep",
    b"nice",
    b"limit_as",
    b"limit_core",
    b"limit_cpu",
    b"limit_data",
    b"limit_fsize",
    b"limit_memlock",
    b"limit_nofile",
    b"limit_nproc",
    b"limit_stack",
];
/// Index of the first `limit_*` key.
const LIMIT0: usize = 14;
const CMD: usize = 0;
const LOG: usize = 10;
const ENV: usize = 2;

/// What each key accepts, said after a bad value.
const HINTS: [&[u8]; 23] = [
    b"",
    b" (an absolute path)",
    b" (NAME=VALUE)",
    b" (a user name or uid)",
    b" (a group name or gid)",
    b" (an absolute path)",
    b" (octal, such as 022)",
    b" (always, on-failure or never)",
    b" (a signal name such as TERM)",
    b" (seconds, 0 to 86400)",
    b" (inherit, null, prefix or an absolute file path)",
    b" (bytes, with k or M suffix)",
    b" (0 to 99)",
    b" (-20 to 19)",
    b" (SOFT[:HARD], each a number or unlimited)",
    b" (SOFT[:HARD], each a number or unlimited)",
    b" (SOFT[:HARD], each a number or unlimited)",
    b" (SOFT[:HARD], each a number or unlimited)",
    b" (SOFT[:HARD], each a number or unlimited)",
    b" (SOFT[:HARD], each a number or unlimited)",
    b" (SOFT[:HARD], each a number or unlimited)",
    b" (SOFT[:HARD], each a number or unlimited)",
    b" (SOFT[:HARD], each a number or unlimited)",
];

/// Why a file is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    NoEquals,
    Nul,
    UnknownKey,
    Repeated,
    NoCmd,
    Cmd(CmdError),
    /// A bad value for the key with this index.
    Bad(usize),
    TooManyEnv,
}

/// An invalid file: the line (0 for the whole file), why, and the key or
/// value at fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigError<'a> {
    pub line: usize,
    pub kind: Kind,
    pub text: &'a [u8],
}

impl ConfigError<'_> {
    /// Appends `:LINE: message`, or `: message` for a whole-file problem,
    /// to follow `DIR/NAME` in a log line.
    pub fn describe(&self, l: &mut Line) {
        if self.line > 0 {
            l.s(b":").u(self.line as u64);
        }
        l.s(b": ");
        match self.kind {
            Kind::NoEquals => l.s(b"line without \"=\""),
            Kind::Nul => l.s(b"NUL byte in line"),
            Kind::UnknownKey => l.s(b"unknown key ").quoted(self.text),
            Kind::Repeated => l.s(b"repeated key ").quoted(self.text),
            Kind::NoCmd => l.s(b"no cmd"),
            Kind::Cmd(e) => l.s(e.text()),
            Kind::Bad(k) => {
                l.s(b"bad ").s(key_name(k)).s(b" ").quoted(self.text).s(HINTS.get(k).copied().unwrap_or(b""))
            }
            Kind::TooManyEnv => l.s(b"more than 64 env lines"),
        };
    }
}

fn key_name(k: usize) -> &'static [u8] {
    KEYS.get(k).copied().unwrap_or(b"?")
}

fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r')
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v.iter().position(|&c| !is_blank(c)).unwrap_or(v.len());
    let end = v.iter().rposition(|&c| !is_blank(c)).map_or(start, |e| e + 1);
    v.get(start..end).unwrap_or(&[])
}

/// One meaningful line: its number, its key's index and its value.
type Entry<'a> = (usize, usize, &'a [u8]);

/// The meaningful lines of `src`, in order, each checked for shape.
fn entries(src: &[u8]) -> impl Iterator<Item = Result<Entry<'_>, ConfigError<'_>>> {
    src.split(|&c| c == b'\n').enumerate().filter_map(|(n, raw)| {
        let line = n + 1;
        let t = trim(raw);
        if t.is_empty() || t.first() == Some(&b'#') {
            return None;
        }
        let err = |kind, text| Some(Err(ConfigError { line, kind, text }));
        if t.contains(&0) {
            return err(Kind::Nul, t);
        }
        let Some(eq) = t.iter().position(|&c| c == b'=') else {
            return err(Kind::NoEquals, t);
        };
        let key = trim(t.get(..eq).unwrap_or(&[]));
        let value = trim(t.get(eq + 1..).unwrap_or(&[]));
        match KEYS.iter().position(|k| *k == key) {
            Some(k) => Some(Ok((line, k, value))),
            None => err(Kind::UnknownKey, key),
        }
    })
}

/// Parses and validates a whole file.
pub fn parse(src: &[u8]) -> Result<Config<'_>, ConfigError<'_>> {
    let mut c = Config {
        cmd: b"",
        cwd: b"/",
        env: Vec::new(),
        user: None,
        group: None,
        chroot: None,
        umask: 0o022,
        restart: Restart::Always,
        stop_signal: sig::TERM,
        stop_timeout: STOP_TIMEOUT_SECS,
        log: Log::Inherit,
        log_size: 1 << 20,
        log_keep: 4,
        nice: None,
        limits: [None; 9],
        user_line: 0,
        group_line: 0,
        log_line: 0,
    };
    let mut seen = 0u32;
    for entry in entries(src) {
        let (line, k, value) = entry?;
        let err = |kind, text| ConfigError { line, kind, text };
        if k != ENV && seen & (1 << k) != 0 {
            return Err(err(Kind::Repeated, key_name(k)));
        }
        seen |= 1 << k;
        set(&mut c, k, value).map_err(|kind| err(kind, value))?;
        match k {
            3 => c.user_line = line,
            4 => c.group_line = line,
            LOG => c.log_line = line,
            _ => {}
        }
    }
    if seen & (1 << CMD) == 0 {
        return Err(ConfigError { line: 0, kind: Kind::NoCmd, text: b"" });
    }
    Ok(c)
}

/// Stores one value, or says why it is bad.
fn set<'a>(c: &mut Config<'a>, k: usize, v: &'a [u8]) -> Result<(), Kind> {
    let bad = Kind::Bad(k);
    match k {
        0 => {
            cmdline::split(v, |_| {}).map_err(Kind::Cmd)?;
            c.cmd = v;
        }
        1 => c.cwd = absolute(v).ok_or(bad)?,
        2 => {
            let name_len = v.iter().position(|&b| b == b'=').ok_or(bad)?;
            let name = v.get(..name_len).ok_or(bad)?;
            if name.is_empty() || name.iter().any(|&b| is_blank(b)) {
                return Err(bad);
            }
            c.env.push(v).map_err(|_| Kind::TooManyEnv)?;
        }
        3 => c.user = Some(id(v).ok_or(bad)?),
        4 => c.group = Some(id(v).ok_or(bad)?),
        5 => c.chroot = Some(absolute(v).ok_or(bad)?),
        6 => {
            let ok = (1..=4).contains(&v.len()) && v.iter().all(|b| (b'0'..=b'7').contains(b));
            if !ok {
                return Err(bad);
            }
            let n = v.iter().fold(0u32, |n, &b| n * 8 + u32::from(b - b'0'));
            c.umask = Some(n).filter(|n| *n <= 0o777).ok_or(bad)?;
        }
        7 => {
            c.restart = match v {
                b"always" => Restart::Always,
                b"on-failure" => Restart::OnFailure,
                b"never" => Restart::Never,
                _ => return Err(bad),
            }
        }
        8 => c.stop_signal = sig::parse(v).ok_or(bad)?,
        9 => {
            let n = parse_u64(v).filter(|&n| n <= u64::from(MAX_STOP_TIMEOUT_SECS));
            c.stop_timeout = n.ok_or(bad)? as u32;
        }
        10 => {
            c.log = match v {
                b"inherit" => Log::Inherit,
                b"null" => Log::Null,
                b"prefix" => Log::Prefix,
                _ => Log::File(absolute(v).filter(|p| !p.ends_with(b"/")).ok_or(bad)?),
            }
        }
        11 => c.log_size = size(v).ok_or(bad)?,
        12 => c.log_keep = parse_u64(v).filter(|&n| n <= 99).ok_or(bad)? as u32,
        13 => {
            let (neg, digits) = v.strip_prefix(b"-").map_or((false, v), |d| (true, d));
            let n = parse_u64(digits).filter(|&n| n <= if neg { 20 } else { 19 }).ok_or(bad)? as i32;
            c.nice = Some(if neg { -n } else { n });
        }
        LIMIT0.. => {
            let slot = c.limits.get_mut(k - LIMIT0).ok_or(bad)?;
            *slot = Some(limit(v).ok_or(bad)?);
        }
    }
    Ok(())
}

fn absolute(v: &[u8]) -> Option<&[u8]> {
    (v.first() == Some(&b'/')).then_some(v)
}

/// A user or group: a number, or a name of `A-Z a-z 0-9 . _ -` not
/// starting with `-`, at most 32 bytes.
fn id(v: &[u8]) -> Option<&[u8]> {
    let ok_byte = |b: &u8| b.is_ascii_alphanumeric() || b"._-".contains(b);
    let ok = (1..=32).contains(&v.len()) && v.first() != Some(&b'-') && v.iter().all(ok_byte);
    ok.then_some(v)
}

/// Bytes with an optional `k` (KiB) or `M` (MiB) suffix, 1 byte to 1 TiB.
fn size(v: &[u8]) -> Option<u64> {
    let (digits, unit) = match v.last()? {
        b'k' | b'K' => (v.get(..v.len() - 1)?, 1 << 10),
        b'M' | b'm' => (v.get(..v.len() - 1)?, 1 << 20),
        _ => (v, 1),
    };
    parse_u64(digits)?.checked_mul(unit).filter(|n| (1..=1 << 40).contains(n))
}

/// `SOFT[:HARD]`, each a number (with k, M or G suffix) or `unlimited`;
/// the soft value may not exceed the hard one.
fn limit(v: &[u8]) -> Option<Limit> {
    let one = |p: &[u8]| -> Option<Option<u64>> {
        if p == b"unlimited" || p == b"infinity" {
            return Some(None);
        }
        let (digits, unit) = match p.last()? {
            b'k' | b'K' => (p.get(..p.len() - 1)?, 1u64 << 10),
            b'M' | b'm' => (p.get(..p.len() - 1)?, 1 << 20),
            b'G' | b'g' => (p.get(..p.len() - 1)?, 1 << 30),
            _ => (p, 1),
        };
        Some(Some(parse_u64(digits)?.checked_mul(unit)?))
    };
    let (soft, hard) = match v.iter().position(|&b| b == b':') {
        Some(i) => (one(v.get(..i)?)?, one(v.get(i + 1..)?)?),
        None => (one(v)?, one(v)?),
    };
    let fits = match (soft, hard) {
        (Some(s), Some(h)) => s <= h,
        (None, Some(_)) => false,
        _ => true,
    };
    fits.then_some(Limit { soft, hard })
}

/// Writes the file's meaningful lines as `key=value\n` into `out` and
/// returns their length. Two files with the same canonical form configure
/// the same service; comments and blanks do not count as a change.
pub fn canonical<'a>(src: &'a [u8], out: &mut [u8]) -> Result<usize, ConfigError<'a>> {
    parse(src)?;
    let mut n = 0;
    for (_, k, v) in entries(src).flatten() {
        for &b in key_name(k).iter().chain(b"=").chain(v).chain(b"\n") {
            *out.get_mut(n).ok_or(ConfigError { line: 0, kind: Kind::Nul, text: b"" })? = b;
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(src: &str) -> (usize, Kind, String) {
        let e = parse(src.as_bytes()).unwrap_err();
        (e.line, e.kind, String::from_utf8_lossy(e.text).into_owned())
    }

    fn message(src: &str) -> String {
        let mut l = Line::new();
        parse(src.as_bytes()).unwrap_err().describe(&mut l);
        String::from_utf8_lossy(l.bytes()).into_owned()
    }

    #[test]
    fn defaults() {
        let c = parse(b"cmd=/bin/true").unwrap();
        assert_eq!(c.cmd, b"/bin/true");
        assert_eq!(c.cwd, b"/");
        assert!(c.env.is_empty());
        assert_eq!((c.user, c.group, c.chroot), (None, None, None));
        assert_eq!(c.umask, 0o022);
        assert_eq!(c.restart, Restart::Always);
        assert_eq!(c.stop_signal, sig::TERM);
        assert_eq!(c.stop_timeout, 10);
        assert_eq!(c.log, Log::Inherit);
        assert_eq!((c.log_size, c.log_keep), (1 << 20, 4));
    }

    #[test]
    fn every_key() {
        let src = b"# a comment\n\n  cmd = /bin/sleep 10  \r\ncwd=/tmp\nenv=A=1\nenv=B= x \n\
umask=077\nrestart=on-failure\nstop_signal=SIGINT\n\
stop_timeout=3\nlog=null\nlog_size=64k\nlog_keep=0\n";
        let c = parse(src).unwrap();
        assert_eq!(c.cmd, b"/bin/sleep 10");
        assert_eq!(c.cwd, b"/tmp");
        assert_eq!(&c.env[..], &[&b"A=1"[..], b"B= x"]);
        assert_eq!(c.umask, 0o077);
        assert_eq!(c.restart, Restart::OnFailure);
        assert_eq!(c.stop_signal, sig::INT);
        assert_eq!(c.stop_timeout, 3);
        assert_eq!(c.log, Log::Null);
        assert_eq!((c.log_size, c.log_keep), (64 << 10, 0));
        let c = parse(b"cmd=x\nuser=nobody\ngroup=65534\nchroot=/srv\nnice=-5\nlimit_nofile=64:1k\nlimit_core=0\nlimit_as=unlimited\nlimit_stack=8M:unlimited").unwrap();
        assert_eq!((c.user, c.group, c.chroot), (Some(&b"nobody"[..]), Some(&b"65534"[..]), Some(&b"/srv"[..])));
        assert_eq!((c.user_line, c.group_line, c.nice), (2, 3, Some(-5)));
        assert_eq!(c.limits[6], Some(Limit { soft: Some(64), hard: Some(1024) }));
        assert_eq!(c.limits[1], Some(Limit { soft: Some(0), hard: Some(0) }));
        assert_eq!(c.limits[0], Some(Limit { soft: None, hard: None }));
        assert_eq!(c.limits[8], Some(Limit { soft: Some(8 << 20), hard: None }));
        let c = parse(b"cmd=x\n\nlog=/var/log/x\n").unwrap();
        assert_eq!((c.log, c.log_line), (Log::File(b"/var/log/x"), 3));
        assert_eq!(parse(b"cmd=x\nlog=prefix").unwrap().log, Log::Prefix);
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(err("cmd=x\nfoo=1"), (2, Kind::UnknownKey, "foo".into()));
        assert_eq!(err("cmd=x\n\n# c\ncmd=y"), (4, Kind::Repeated, "cmd".into()));
        assert_eq!(err("cmd=x\njunk"), (2, Kind::NoEquals, "junk".into()));
        assert_eq!(err("cmd=x\nenv=A\0=1"), (2, Kind::Nul, "env=A\0=1".into()));
        assert_eq!(err("cwd=/\n"), (0, Kind::NoCmd, "".into()));
        assert_eq!(err(""), (0, Kind::NoCmd, "".into()));
        assert_eq!(err("cmd='x"), (1, Kind::Cmd(CmdError::Unterminated), "'x".into()));
        assert_eq!(err("cmd="), (1, Kind::Cmd(CmdError::Empty), "".into()));
        let bad = [
            ("cwd=tmp", 1),
            ("env=NOEQUALS", 2),
            ("env==1", 2),
            ("env=A B=1", 2),
            ("user=", 3),
            ("user=-x", 3),
            ("group=a:b", 4),
            ("chroot=srv", 5),
            ("umask=8", 6),
            ("umask=01777", 6),
            ("umask=", 6),
            ("umask=77777777777777777777777", 6),
            ("restart=sometimes", 7),
            ("stop_signal=FOO", 8),
            ("stop_timeout=-1", 9),
            ("stop_timeout=86401", 9),
            ("log=file", 10),
            ("log=/var/log/", 10),
            ("log_size=0", 11),
            ("log_size=1G", 11),
            ("log_size=k", 11),
            ("log_keep=100", 12),
            ("nice=20", 13),
            ("nice=-21", 13),
            ("nice=x", 13),
            ("limit_as=", 14),
            ("limit_nofile=10:5", 20),
            ("limit_nofile=unlimited:5", 20),
            ("limit_nproc=1:2:3", 21),
            ("limit_stack=-1", 22),
        ];
        for (line, k) in bad {
            let src = format!("cmd=x\n{line}\n");
            assert_eq!(err(&src).1, Kind::Bad(k), "{line}");
            assert_eq!(err(&src).0, 2, "{line}");
        }
    }

    #[test]
    fn env_repeats_up_to_the_limit() {
        let mut src = String::from("cmd=x\n");
        for i in 0..MAX_ENV {
            src.push_str(&format!("env=V{i}={i}\n"));
        }
        assert_eq!(parse(src.as_bytes()).unwrap().env.len(), MAX_ENV);
        src.push_str("env=LAST=1\n");
        assert_eq!(err(&src), (MAX_ENV + 2, Kind::TooManyEnv, "LAST=1".into()));
    }

    #[test]
    fn messages() {
        assert_eq!(message("cmd=x\nfoo=1"), ":2: unknown key \"foo\"");
        assert_eq!(message("restart=no\ncmd=x"), ":1: bad restart \"no\" (always, on-failure or never)");
        assert_eq!(message("# nothing"), ": no cmd");
        assert_eq!(message("cmd=x\ncmd=y"), ":2: repeated key \"cmd\"");
    }

    #[test]
    fn canonical_form_ignores_comments_and_blanks() {
        let mut a = [0u8; 256];
        let mut b = [0u8; 256];
        let na = canonical(b"# one\ncmd=/bin/x  a\n\nenv=A=1\r\n", &mut a).unwrap();
        let nb = canonical(b"  cmd = /bin/x  a \n# two\nenv=A=1", &mut b).unwrap();
        assert_eq!(&a[..na], b"cmd=/bin/x  a\nenv=A=1\n");
        assert_eq!(&a[..na], &b[..nb]);
        let c = parse(&a[..na]).unwrap();
        assert_eq!(c.cmd, b"/bin/x  a");
        let mut small = [0u8; 4];
        assert!(canonical(b"cmd=/bin/x", &mut small).is_err());
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 7u32;
        let mut out = [0u8; 8192];
        for _ in 0..20_000 {
            let mut v = Vec::<u8, 64>::new();
            for _ in 0..(seed % 60) {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let alphabet = b"cmd=env\n\r #'\"\\x\0\xff=umask7";
                let _ = v.push(alphabet[(seed >> 16) as usize % alphabet.len()]);
            }
            let _ = canonical(&v, &mut out);
        }
    }
}
