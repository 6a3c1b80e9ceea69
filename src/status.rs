//! Status lines: the supervisor's `key=value` rows and the client's
//! table. Pure.
//!
//! The supervisor sends one line per service,
//! `name=N state=S pid=P uptime=SECS restarts=R last=L wait=SECS ready=yes|no`,
//! with ` waiting=NAME,NAME` while it waits for what it is after and
//! ` error=MESSAGE` last when its file has a problem or it is failed; one line
//! `rejected=MESSAGE` per rejected directory entry; `error=MESSAGE` for a
//! bad request. A service in a cgroup (SPEC §11) has, before ` error=`,
//! ` cpu_usec=N` (`cpu.stat` `usage_usec`) while it runs and, where the
//! memory controller is enabled, ` memory_current=BYTES` while it runs and
//! ` memory_peak=BYTES oom_kills=N` once it has run (`memory_peak` from
//! Linux 5.19). For `going status -m` the client adds `cpu=SECONDS rss=KB`
//! — the cgroup's figures where the row has them (and drops `cpu_usec` and
//! `memory_current`), else its main process's from `/proc` — or lays the
//! rows out as a table.

use crate::fmt::Line;
use crate::limits::SEC;
use crate::service::{Exit, Service, State};
use crate::sig;

/// Writes a service's row (without newline).
pub fn row(l: &mut Line, name: &[u8], s: &Service, now: u64) {
    l.s(b"name=").s(name).s(b" state=").s(s.state.word());
    l.s(b" pid=").u(s.pid.max(0) as u64);
    let up = if s.running() { now.saturating_sub(s.since) / SEC } else { 0 };
    l.s(b" uptime=").u(up).s(b" restarts=").u(u64::from(s.restarts())).s(b" last=");
    match s.last {
        None => l.s(b"none"),
        Some(Exit::Code(c)) => l.s(b"exit:").i(i64::from(c)),
        Some(Exit::Signal(n)) => {
            l.s(b"signal:");
            match sig::name(n) {
                Some(nm) => l.s(nm),
                None => l.i(i64::from(n)),
            }
        }
    };
    let wait = if s.state == State::Backoff { s.deadline.saturating_sub(now).div_ceil(SEC) } else { 0 };
    l.s(b" wait=").u(wait).s(if s.ready() { b" ready=yes" } else { b" ready=no" });
}

/// A row as the client reads it back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Row<'a> {
    pub name: &'a [u8],
    pub state: &'a [u8],
    pub pid: u64,
    pub uptime: u64,
    pub restarts: &'a [u8],
    pub last: &'a [u8],
    pub wait: u64,
    pub ready: &'a [u8],
    pub waiting: &'a [u8],
    pub error: &'a [u8],
    /// The cgroup's CPU time (µs) and memory (bytes), when it has them.
    pub cpu_usec: Option<u64>,
    pub memory: Option<u64>,
}

/// Parses a service row; `None` for other lines.
pub fn parse_row(line: &[u8]) -> Option<Row<'_>> {
    if !line.starts_with(b"name=") {
        return None;
    }
    let mut row = Row::default();
    fill(line, &mut row);
    Some(row)
}

/// Fills `r` from the fields of a row, in place: the fields are not held
/// apart and copied there at the end.
#[inline(never)]
fn fill<'a>(line: &'a [u8], r: &mut Row<'a>) {
    let mut rest = line;
    while !rest.is_empty() {
        // ` error=` is last and takes the rest of the line, blanks and all.
        if let Some(error) = rest.strip_prefix(b"error=") {
            r.error = error;
            break;
        }
        let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
        let f = rest.get(..end).unwrap_or(&[]);
        rest = rest.get(end + 1..).unwrap_or(&[]);
        let Some(eq) = f.iter().position(|&b| b == b'=') else {
            continue;
        };
        let (k, v) = (f.get(..eq).unwrap_or(&[]), f.get(eq + 1..).unwrap_or(&[]));
        let n = crate::fmt::parse_u64(v).unwrap_or(0);
        const KEYS: &[u8] = b"name state pid uptime restarts last wait ready waiting cpu_usec memory_current";
        match crate::fmt::pick(k, KEYS) {
            Some(0) => r.name = v,
            Some(1) => r.state = v,
            Some(2) => r.pid = n,
            Some(3) => r.uptime = n,
            Some(4) => r.restarts = v,
            Some(5) => r.last = v,
            Some(6) => r.wait = n,
            Some(7) => r.ready = v,
            Some(8) => r.waiting = v,
            Some(9) => r.cpu_usec = Some(n),
            Some(10) => r.memory = Some(n),
            _ => {}
        }
    }
}

/// What going reads of a process in `/proc/PID/stat`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Dead, not yet reaped.
    pub zombie: bool,
    pub ppid: u64,
    /// A kernel thread (`PF_KTHREAD` in its flags).
    pub kthread: bool,
    pub pgrp: u64,
    pub session: u64,
    /// User + system time in clock ticks.
    pub ticks: u64,
    /// Start time, in clock ticks since boot.
    pub start: u64,
    /// Resident pages.
    pub pages: u64,
}

/// Parses `/proc/PID/stat`: fields after the command name, which is in
/// parentheses and may itself hold spaces and parentheses.
pub fn parse_stat(stat: &[u8]) -> Option<Usage> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = stat.get(close + 2..)?;
    // Field k of proc(5) is at index k - 3 after ")": fields 3 to 24, read in one pass.
    let mut fields = [None; 22];
    for (f, text) in fields.iter_mut().zip(rest.split(|&b| b == b' ')) {
        *f = crate::fmt::parse_u64(text);
    }
    let field = |k: usize| fields.get(k - 3).copied().flatten();
    Some(Usage {
        zombie: rest.first() == Some(&b'Z'),
        ppid: field(4)?,
        kthread: field(9)? & 0x0020_0000 != 0,
        pgrp: field(5)?,
        session: field(6)?,
        ticks: field(14)? + field(15)?,
        start: field(22)?,
        pages: field(24)?,
    })
}

/// Appends seconds with two decimals from clock ticks.
pub fn cpu(l: &mut Line, ticks: u64, hz: u64) {
    let hundredths = ticks * 100 / hz.max(1);
    l.u(hundredths / 100).s(b".");
    if hundredths % 100 < 10 {
        l.s(b"0");
    }
    l.u(hundredths % 100);
}

/// Appends a size in KiB as `860K`, `1.2M`, `3.4G`.
pub fn size(l: &mut Line, kib: u64) {
    if kib < 1024 {
        l.u(kib).s(b"K");
        return;
    }
    let (n, unit) = if kib < 1_048_576 { (kib * 10 / 1024, b"M") } else { (kib * 10 / 1_048_576, b"G") };
    l.u(n / 10).s(b".").u(n % 10).s(unit);
}

/// Pads with spaces to `width` bytes from `start`.
pub fn pad(l: &mut Line, start: usize, width: usize) {
    while l.bytes().len() < start + width {
        let before = l.bytes().len();
        l.s(b" ");
        if l.bytes().len() == before {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Line)) -> String {
        let mut l = Line::new();
        f(&mut l);
        String::from_utf8(l.bytes().to_vec()).unwrap()
    }

    #[test]
    fn rows_round_trip() {
        let mut s = Service::new(crate::service::Policy::DEFAULT);
        let at = crate::service::Ctx::alone;
        s.on_event(crate::service::Event::Start, at(0));
        s.on_event(crate::service::Event::Forked(42), at(5 * SEC));
        s.on_event(crate::service::Event::Forked(43), at(5 * SEC));
        s.last = Some(Exit::Signal(9));
        let line = text(|l| row(l, b"web", &s, 50 * SEC + 1));
        assert_eq!(line, "name=web state=starting pid=43 uptime=45 restarts=1 last=signal:KILL wait=0 ready=no");
        let r = parse_row(line.as_bytes()).unwrap();
        assert_eq!(
            (r.name, r.state, r.pid, r.uptime, r.last),
            (&b"web"[..], &b"starting"[..], 43, 45, &b"signal:KILL"[..])
        );
        assert_eq!(r.ready, b"no");
        let with_err = format!("{line} error=/etc/going.d/web:3: unknown key \"x y\"");
        assert_eq!(parse_row(with_err.as_bytes()).unwrap().error, b"/etc/going.d/web:3: unknown key \"x y\"");
        assert_eq!(parse_row(b"rejected=x"), None);
        assert_eq!((r.cpu_usec, r.memory), (None, None));
        let cg = format!("{line} cpu_usec=1500000 memory_current=4096 memory_peak=8192 oom_kills=1 error=x");
        let r = parse_row(cg.as_bytes()).unwrap();
        assert_eq!((r.cpu_usec, r.memory, r.error), (Some(1_500_000), Some(4096), &b"x"[..]));
    }

    #[test]
    fn backoff_wait_rounds_up() {
        let mut s = Service::new(crate::service::Policy::DEFAULT);
        s.state = State::Backoff;
        s.deadline = 10 * SEC;
        s.last = Some(Exit::Code(1));
        let line = text(|l| row(l, b"c", &s, 6 * SEC + 1));
        assert!(line.ends_with("last=exit:1 wait=4 ready=no"), "{line}");
    }

    #[test]
    fn stat_fields() {
        let stat = b"1234 (a (weird) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 150 25 0 0 20 0 1 0 100 2490368 300 18446744073709551615";
        assert_eq!(
            parse_stat(stat),
            Some(Usage {
                zombie: false,
                ppid: 1,
                kthread: false,
                pgrp: 1234,
                session: 1234,
                ticks: 175,
                start: 100,
                pages: 300
            })
        );
        assert_eq!(parse_stat(b"garbage"), None);
        assert_eq!(parse_stat(b"1 (x)"), None);
    }

    #[test]
    fn units() {
        assert_eq!(text(|l| cpu(l, 175, 100)), "1.75");
        assert_eq!(text(|l| cpu(l, 5, 100)), "0.05");
        assert_eq!(text(|l| size(l, 860)), "860K");
        assert_eq!(text(|l| size(l, 1234)), "1.2M");
        assert_eq!(text(|l| size(l, 3 * 1_048_576)), "3.0G");
    }
}
