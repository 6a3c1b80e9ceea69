//! One config file's bytes -> `Config` or `ConfigError`. Pure: it reads no
//! file and asks no database; a file is valid here when its syntax and
//! values are, and `scan` adds what needs the system.
//!
//! A file is lines of `key=value`; blank lines and `#` comments are
//! skipped; blanks around the line, the key and the value are ignored, and
//! so is a trailing `\r`. Every key but `env` and `after` may appear once.

use crate::cmdline::{self, CmdError};
use crate::fmt::{Line, parse_u64, pick, word};
use crate::limits::{MAX_ENV, MAX_STOP_TIMEOUT_SECS, STOP_TIMEOUT_SECS};
use crate::{caps, sig};
use heapless::Vec;

/// What to do when the service's process exits on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restart {
    Always,
    OnFailure,
    Never,
}

/// When a service counts as ready (SPEC §9).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ready {
    /// Once its program runs.
    Start,
    /// When it writes a newline to this descriptor.
    Fd(u8),
    /// When it sends `READY=1` to `NOTIFY_SOCKET`.
    Notify,
    /// A task: when it has exited with status 0.
    Exit,
}

/// Where the service's stdout and stderr go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Log<'a> {
    Inherit,
    Null,
    File(&'a [u8]),
    /// Each line to going's stdout as `NAME | line` (Procfile mode).
    Prefix,
    /// Each line to `/dev/log`.
    Syslog,
}

/// What starts each captured line (SPEC §12).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogTime {
    None,
    Utc,
    Boot,
}

/// A valid service config; every slice points into the file's bytes.
#[derive(Debug)]
pub struct Config<'a> {
    pub cmd: &'a [u8],
    pub cwd: &'a [u8],
    /// `NAME=VALUE`, or `NAME` alone for going's own value.
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
    pub log_time: LogTime,
    pub nice: Option<i32>,
    /// `limit_*` keys, in the order of `LIMITS`.
    pub limits: [Option<Limit>; 9],
    pub ready: Ready,
    pub ready_timeout: u32,
    pub critical: bool,
    pub memory_max: Option<u64>,
    pub pids_max: Option<u64>,
    /// Percent of one CPU.
    pub cpu_max: Option<u32>,
    pub cpu_weight: Option<u32>,
    pub no_new_privs: bool,
    /// The capability set, `None` to leave going's own.
    pub capabilities: Option<u64>,
    pub private_network: bool,
    /// Blank-separated absolute paths.
    pub read_only: Option<&'a [u8]>,
    pub private_tmp: bool,
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

const LIMIT_HINT: &[u8] = b" (SOFT[:HARD], each a number or unlimited)";
const YES_NO: &[u8] = b" (yes or no)";

/// The keys, blank-separated, in the order of going(5). A key's place is
/// its identity.
const KEYS: &[u8] = b"cmd cwd env user group chroot umask restart stop_signal stop_timeout log log_size log_keep nice \
limit_as limit_core limit_cpu limit_data limit_fsize limit_memlock limit_nofile limit_nproc \
limit_stack ready ready_timeout after critical memory_max pids_max cpu_max cpu_weight log_time \
no_new_privs capabilities private_network read_only private_tmp";

/// What each key accepts, said after a bad value, `|`-separated in key
/// order; empty for the keys whose hint is shared (`key_hint`).
const HINTS: &[u8] = b"| (an absolute path)| (NAME=VALUE, or NAME for going's own value)| (a user name or uid)\
| (a group name or gid)| (an absolute path)| (octal, such as 022)| (always, on-failure or never)\
| (a signal name such as TERM, or 1 to 64)| (seconds, 0 to 86400)\
| (inherit, null, prefix, syslog or an absolute file path of at most 1024 bytes)\
| (bytes, with k or M suffix)| (0 to 99)| (-20 to 19)|||||||||\
| (start, fd:N with N from 3 to 255, notify or exit)| (seconds, 0 to 86400)\
| (service names, separated by blanks or commas)|| (bytes, with k, M or G suffix)| (a count from 1)\
| (percent of one CPU, such as 50%)| (1 to 10000)| (none, utc or boot)|\
| (capability names separated by commas, or empty)|| (absolute paths separated by blanks)|";

/// Key indices, named where the parser or its callers need one.
const CMD: usize = 0;
const ENV: usize = 2;
const RESTART: usize = 7;
const LOG: usize = 10;
const LIMIT0: usize = 14;
const READY: usize = 23;
const AFTER: usize = 25;
const LOG_TIME: usize = 31;

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
    /// `restart=always` for a `ready=exit` task.
    TaskRestartsAlways,
    /// `log_time` without output that going writes.
    TimeWithoutCapture,
    UnknownCapability,
    /// An `after=` name that is not a service name.
    BadAfterName,
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
            Kind::Bad(k) => l.s(b"bad ").s(key_name(k)).s(b" ").quoted(self.text).s(key_hint(k)),
            Kind::TooManyEnv => l.s(b"more than 64 env lines"),
            Kind::TaskRestartsAlways => {
                l.s(b"restart=always cannot be used with ready=exit (a task runs until it succeeds)")
            }
            Kind::TimeWithoutCapture => l.s(b"log_time needs log=FILE or log=prefix"),
            Kind::UnknownCapability => l.s(b"unknown capability ").quoted(self.text),
            Kind::BadAfterName => l.s(b"bad after name ").quoted(self.text).s(b" (not a service name)"),
        };
    }
}

fn key_name(k: usize) -> &'static [u8] {
    word(KEYS, k).unwrap_or(b"?")
}

fn key_hint(k: usize) -> &'static [u8] {
    match k {
        LIMIT0..READY => LIMIT_HINT,
        26 | 32 | 34 | 36 => YES_NO,
        _ => HINTS.split(|&b| b == b'|').nth(k).unwrap_or(b""),
    }
}

fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r')
}

/// `v` without blanks (space, tab, CR) around it.
pub fn trim(v: &[u8]) -> &[u8] {
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
        match pick(key, KEYS) {
            Some(k) => Some(Ok((line, k, value))),
            None => err(Kind::UnknownKey, key),
        }
    })
}

/// The names of every `after=` line of a valid file, in order.
pub fn after_names(src: &[u8]) -> impl Iterator<Item = &[u8]> {
    entries(src).filter_map(|e| e.ok().filter(|&(_, k, _)| k == AFTER).map(|(_, _, v)| v)).flat_map(names)
}

/// The names of one `after=` value.
fn names(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    v.split(|&b| b == b' ' || b == b',' || b == b'\t').filter(|n| !n.is_empty())
}

/// Do two valid files differ in their order (`after=`) alone? Such a
/// change applies to a running service without restarting it (SPEC §9).
pub fn same_but_order(a: &[u8], b: &[u8]) -> bool {
    let rest = |src| entries(src).flatten().filter(|&(_, k, _)| k != AFTER).map(|(_, k, v)| (k, v));
    rest(a).eq(rest(b))
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
        log_time: LogTime::None,
        nice: None,
        limits: [None; 9],
        ready: Ready::Start,
        ready_timeout: 0,
        critical: false,
        memory_max: None,
        pids_max: None,
        cpu_max: None,
        cpu_weight: None,
        no_new_privs: false,
        capabilities: None,
        private_network: false,
        read_only: None,
        private_tmp: false,
        user_line: 0,
        group_line: 0,
        log_line: 0,
    };
    let mut seen = 0u64;
    let (mut restart_line, mut time_line) = (0, 0);
    for entry in entries(src) {
        let (line, k, value) = entry?;
        let err = |kind, text| ConfigError { line, kind, text };
        if k != ENV && k != AFTER && seen & (1 << k) != 0 {
            return Err(err(Kind::Repeated, key_name(k)));
        }
        seen |= 1 << k;
        set(&mut c, k, value).map_err(|(kind, text)| err(kind, text))?;
        match k {
            3 => c.user_line = line,
            4 => c.group_line = line,
            LOG => c.log_line = line,
            RESTART => restart_line = line,
            LOG_TIME => time_line = line,
            _ => {}
        }
    }
    if seen & (1 << CMD) == 0 {
        return Err(ConfigError { line: 0, kind: Kind::NoCmd, text: b"" });
    }
    if c.ready == Ready::Exit {
        if c.restart == Restart::Always && seen & (1 << RESTART) != 0 {
            return Err(ConfigError { line: restart_line, kind: Kind::TaskRestartsAlways, text: b"" });
        }
        if seen & (1 << RESTART) == 0 {
            c.restart = Restart::Never;
        }
    }
    if c.log_time != LogTime::None && !matches!(c.log, Log::File(_) | Log::Prefix) {
        return Err(ConfigError { line: time_line, kind: Kind::TimeWithoutCapture, text: b"" });
    }
    Ok(c)
}

/// Stores one value, or says why it is bad (and which part).
fn set<'a>(c: &mut Config<'a>, k: usize, v: &'a [u8]) -> Result<(), (Kind, &'a [u8])> {
    match k {
        CMD => {
            cmdline::split(v, |_| {}).map_err(|e| (Kind::Cmd(e), v))?;
            c.cmd = v;
        }
        ENV if env_named(v) => c.env.push(v).map_err(|_| (Kind::TooManyEnv, v))?,
        AFTER => {
            if let Some(n) = names(v).find(|n| !crate::table::valid_name(n)) {
                return Err((Kind::BadAfterName, n));
            }
        }
        33 => c.capabilities = Some(caps::parse(v).map_err(|name| (Kind::UnknownCapability, name))?),
        _ => value(c, k, v).ok_or((Kind::Bad(k), v))?,
    }
    Ok(())
}

/// Does an `env=` value start with a name, not empty and without blanks?
fn env_named(v: &[u8]) -> bool {
    let name = v.get(..v.iter().position(|&b| b == b'=').unwrap_or(v.len())).unwrap_or(v);
    !name.is_empty() && !name.iter().any(|&b| is_blank(b))
}

/// Stores a value of any other key; `None` when it is bad.
#[inline(never)] // smaller called from set than inlined into parse
fn value<'a>(c: &mut Config<'a>, k: usize, v: &'a [u8]) -> Option<()> {
    match k {
        1 => c.cwd = absolute(v)?,
        3 | 4 => *if k == 3 { &mut c.user } else { &mut c.group } = Some(id(v)?),
        5 => c.chroot = Some(absolute(v)?),
        6 => {
            let ok = (1..=4).contains(&v.len()) && v.iter().all(|b| (b'0'..=b'7').contains(b));
            if !ok {
                return None;
            }
            let n = v.iter().fold(0u32, |n, &b| n * 8 + u32::from(b - b'0'));
            c.umask = Some(n).filter(|n| *n <= 0o777)?;
        }
        RESTART => {
            let i = pick(v, b"always on-failure never")?;
            c.restart = *[Restart::Always, Restart::OnFailure, Restart::Never].get(i)?;
        }
        8 => c.stop_signal = sig::parse(v)?,
        9 | 24 => *if k == 9 { &mut c.stop_timeout } else { &mut c.ready_timeout } = seconds(v)?,
        LOG => {
            c.log = match pick(v, b"inherit null prefix syslog") {
                Some(0) => Log::Inherit,
                Some(1) => Log::Null,
                Some(2) => Log::Prefix,
                Some(_) => Log::Syslog,
                None => {
                    Log::File(absolute(v).filter(|p| !p.ends_with(b"/") && p.len() <= crate::limits::MAX_LOG_PATH)?)
                }
            }
        }
        11 => c.log_size = size(v, 1 << 40)?,
        12 => c.log_keep = within(v, 0, 99)? as u32,
        13 => {
            let (neg, digits) = v.strip_prefix(b"-").map_or((false, v), |d| (true, d));
            let n = within(digits, 0, if neg { 20 } else { 19 })? as i32;
            c.nice = Some(if neg { -n } else { n });
        }
        LIMIT0..READY => {
            let slot = c.limits.get_mut(k - LIMIT0)?;
            *slot = Some(limit(v)?);
        }
        READY => {
            c.ready = match pick(v, b"start notify exit") {
                Some(0) => Ready::Start,
                Some(1) => Ready::Notify,
                Some(_) => Ready::Exit,
                None => {
                    let n = v.strip_prefix(b"fd:").and_then(|d| within(d, 3, 255));
                    Ready::Fd(n? as u8)
                }
            }
        }
        26 | 32 | 34 | 36 => {
            let yes = pick(v, b"no yes")? == 1;
            *match k {
                26 => &mut c.critical,
                32 => &mut c.no_new_privs,
                34 => &mut c.private_network,
                _ => &mut c.private_tmp,
            } = yes;
        }
        27 => c.memory_max = Some(size(v, 1 << 50).filter(|&n| n >= 4096)?),
        28 => c.pids_max = Some(within(v, 1, 4_194_304)?),
        29 => {
            let digits = v.strip_suffix(b"%").unwrap_or(v);
            c.cpu_max = Some(within(digits, 1, 100_000)? as u32);
        }
        30 => c.cpu_weight = Some(within(v, 1, 10_000)? as u32),
        LOG_TIME => {
            let i = pick(v, b"none utc boot")?;
            c.log_time = *[LogTime::None, LogTime::Utc, LogTime::Boot].get(i)?;
        }
        35 => {
            let ok = !v.is_empty() && names_blank(v).all(|p| absolute(p).is_some());
            c.read_only = Some(ok.then_some(v)?);
        }
        _ => return None,
    }
    Some(())
}

/// The paths of a `read_only=` value.
pub fn names_blank(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    v.split(|&b| b == b' ' || b == b'\t').filter(|n| !n.is_empty())
}

fn absolute(v: &[u8]) -> Option<&[u8]> {
    (v.first() == Some(&b'/')).then_some(v)
}

/// Seconds from 0 to one day.
fn seconds(v: &[u8]) -> Option<u32> {
    within(v, 0, u64::from(MAX_STOP_TIMEOUT_SECS)).map(|n| n as u32)
}

/// A number from `lo` to `hi`.
#[inline(never)]
fn within(v: &[u8], lo: u64, hi: u64) -> Option<u64> {
    parse_u64(v).filter(|n| (lo..=hi).contains(n))
}

/// A user or group: a number, or a name of `A-Z a-z 0-9 . _ -` not
/// starting with `-`, at most 32 bytes.
fn id(v: &[u8]) -> Option<&[u8]> {
    let ok_byte = |b: &u8| b.is_ascii_alphanumeric() || b"._-".contains(b);
    let ok = (1..=32).contains(&v.len()) && v.first() != Some(&b'-') && v.iter().all(ok_byte);
    ok.then_some(v)
}

/// A number with an optional `k`, `M` or `G` suffix (powers of 1024).
fn scaled(v: &[u8]) -> Option<u64> {
    let (&last, head) = v.split_last()?;
    let shift = match last.to_ascii_uppercase() {
        b'K' => 10,
        b'M' => 20,
        b'G' => 30,
        _ => return parse_u64(v),
    };
    parse_u64(head)?.checked_mul(1 << shift)
}

/// Bytes, 1 to `max`.
fn size(v: &[u8], max: u64) -> Option<u64> {
    scaled(v).filter(|n| (1..=max).contains(n))
}

/// `SOFT[:HARD]`, each a number (with k, M or G suffix) or `unlimited`;
/// the soft value may not exceed the hard one.
fn limit(v: &[u8]) -> Option<Limit> {
    let one = |p: &[u8]| -> Option<Option<u64>> {
        if p == b"unlimited" || p == b"infinity" {
            return Some(None);
        }
        Some(Some(scaled(p)?))
    };
    let (soft, hard) = match v.iter().position(|&b| b == b':') {
        Some(i) => (v.get(..i)?, v.get(i + 1..)?),
        None => (v, v),
    };
    let (soft, hard) = (one(soft)?, one(hard)?);
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

    #[test]
    fn every_key_has_its_hint() {
        let keys = KEYS.split(|&b| b == b' ').count();
        assert_eq!(HINTS.split(|&b| b == b'|').count(), keys);
        for k in 0..keys {
            let name = key_name(k);
            let hint = key_hint(k);
            if name.starts_with(b"limit_") {
                assert_eq!(hint, LIMIT_HINT, "{k}");
            } else if [&b"critical"[..], b"no_new_privs", b"private_network", b"private_tmp"].contains(&name) {
                assert_eq!(hint, YES_NO, "{k}");
            } else {
                assert_eq!(hint.is_empty(), k == CMD, "{k}");
            }
        }
        assert_eq!(key_hint(7), b" (always, on-failure or never)");
        assert_eq!(key_hint(keys - 1), YES_NO);
    }

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
            ("env=A\tB", 2),
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
            ("log_size=2048G", 11),
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
            ("ready=fd:2", 23),
            ("ready=fd:256", 23),
            ("ready=fd", 23),
            ("ready=later", 23),
            ("ready_timeout=86401", 24),
            ("critical=true", 26),
            ("memory_max=1", 27),
            ("memory_max=12x", 27),
            ("pids_max=0", 28),
            ("cpu_max=0%", 29),
            ("cpu_max=50%%", 29),
            ("cpu_weight=0", 30),
            ("cpu_weight=10001", 30),
            ("log_time=local", 31),
            ("no_new_privs=1", 32),
            ("private_network=", 34),
            ("read_only=", 35),
            ("read_only=/usr etc", 35),
            ("private_tmp=on", 36),
        ];
        for (line, k) in bad {
            let src = format!("cmd=x\n{line}\n");
            assert_eq!(err(&src).1, Kind::Bad(k), "{line}");
            assert_eq!(err(&src).0, 2, "{line}");
        }
    }

    #[test]
    fn part_two_keys() {
        let c = parse(b"cmd=x").unwrap();
        assert_eq!((c.ready, c.ready_timeout, c.critical), (Ready::Start, 0, false));
        assert_eq!((c.memory_max, c.pids_max, c.cpu_max, c.cpu_weight), (None, None, None, None));
        assert_eq!((c.log_time, c.no_new_privs, c.capabilities), (LogTime::None, false, None));
        assert_eq!((c.private_network, c.read_only, c.private_tmp), (false, None, false));
        let src = b"cmd=x\nready=fd:3\nready_timeout=30\nafter=a, b\nafter=c\ncritical=yes\n\
memory_max=64M\npids_max=20\ncpu_max=50%\ncpu_weight=200\nlog=/var/log/x\nlog_time=utc\n\
no_new_privs=yes\ncapabilities=cap_net_bind_service,CHOWN\nprivate_network=yes\n\
read_only=/usr /etc\nprivate_tmp=yes\nenv=TERM\n";
        let c = parse(src).unwrap();
        assert_eq!((c.ready, c.ready_timeout, c.critical), (Ready::Fd(3), 30, true));
        assert_eq!(
            (c.memory_max, c.pids_max, c.cpu_max, c.cpu_weight),
            (Some(64 << 20), Some(20), Some(50), Some(200))
        );
        assert_eq!((c.log_time, c.no_new_privs, c.capabilities), (LogTime::Utc, true, Some(1 << 10 | 1)));
        assert_eq!((c.private_network, c.read_only, c.private_tmp), (true, Some(&b"/usr /etc"[..]), true));
        assert_eq!(&c.env[..], &[&b"TERM"[..]]);
        assert_eq!(after_names(src).collect::<std::vec::Vec<_>>(), [&b"a"[..], b"b", b"c"]);
        assert_eq!(parse(b"cmd=x\nready=notify").unwrap().ready, Ready::Notify);
        assert_eq!(parse(b"cmd=x\nready=fd:255").unwrap().ready, Ready::Fd(255));
        assert_eq!(parse(b"cmd=x\ncpu_max=200").unwrap().cpu_max, Some(200));
        assert_eq!(parse(b"cmd=x\ncapabilities=").unwrap().capabilities, Some(0));
        assert_eq!(parse(b"cmd=x\nlog=syslog").unwrap().log, Log::Syslog);
        assert_eq!(parse(b"cmd=x\nlog=prefix\nlog_time=boot").unwrap().log_time, LogTime::Boot);
        assert_eq!(parse(b"cmd=x\nstop_signal=RTMIN+2").unwrap().stop_signal, 36);
    }

    #[test]
    fn tasks_restart_never_unless_told() {
        assert_eq!(parse(b"cmd=x\nready=exit").unwrap().restart, Restart::Never);
        assert_eq!(parse(b"cmd=x\nready=exit\nrestart=on-failure").unwrap().restart, Restart::OnFailure);
        assert_eq!(err("cmd=x\nrestart=always\nready=exit"), (2, Kind::TaskRestartsAlways, "".into()));
        assert_eq!(parse(b"cmd=x\nrestart=always").unwrap().restart, Restart::Always);
    }

    #[test]
    fn combinations_and_names() {
        assert_eq!(err("cmd=x\nlog_time=utc"), (2, Kind::TimeWithoutCapture, "".into()));
        assert_eq!(err("cmd=x\nlog=syslog\nlog_time=utc").1, Kind::TimeWithoutCapture);
        assert_eq!(err("cmd=x\ncapabilities=net_bind_service,frob"), (2, Kind::UnknownCapability, "frob".into()));
        assert_eq!(err("cmd=x\nafter=ok bad/name"), (2, Kind::BadAfterName, "bad/name".into()));
        assert_eq!(message("cmd=x\ncapabilities=frob"), ":2: unknown capability \"frob\"");
        assert_eq!(err("cmd=x\ncritical=yes\ncritical=no"), (3, Kind::Repeated, "critical".into()));
        assert!(parse(b"cmd=x\nafter=a\nafter=b").is_ok());
    }

    #[test]
    fn order_only_changes() {
        assert!(same_but_order(b"cmd=x\nafter=a\n", b"cmd=x\n"));
        assert!(same_but_order(b"cmd=x\nafter=a\nenv=A=1\n", b"after=b\ncmd=x\nenv=A=1\n"));
        assert!(!same_but_order(b"cmd=x\nafter=a\n", b"cmd=y\nafter=a\n"));
        assert!(!same_but_order(b"cmd=x\nenv=A=1\n", b"cmd=x\n"));
    }

    #[test]
    fn log_paths_are_bounded() {
        let long = format!("cmd=x\nlog=/{}\n", "a".repeat(crate::limits::MAX_LOG_PATH));
        assert_eq!(err(&long).1, Kind::Bad(10));
        let fits = format!("cmd=x\nlog=/{}\n", "a".repeat(crate::limits::MAX_LOG_PATH - 1));
        assert!(parse(fits.as_bytes()).is_ok());
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
