//! The client commands: `status`, `start`, `stop`, `restart`, `signal`,
//! `reload`, `wait`, `poweroff`, `reboot`, `halt`. One request line to
//! the supervisor's socket, written while its answer is read (a request
//! may name every service, and the answer to the first names comes before
//! the last are sent), read to EOF with a deadline, then printed: status
//! as a table (or `-m` lines) with CPU and RSS, the cgroup's where the
//! supervisor sends them, else read from `/proc`; other answers only
//! speak of errors, on stderr. A supervisor that says it is busy is asked
//! again until the deadline.

use crate::cli::{EX_FAIL, EX_OK, EX_UNAVAILABLE, EX_USAGE, Verb};
use crate::fmt::Line;
use crate::limits::{LINE, MAX_REJECTED, MAX_SERVICES};
use crate::log::print;
use crate::status::{self, Row, Usage};
use crate::sys;
use core::ffi::CStr;
use rustix::event::{PollFd, PollFlags, poll};
use rustix::io::Errno;
use rustix::net::{
    AddressFamily, SendFlags, Shutdown, SocketAddrUnix, SocketFlags, SocketType, connect, send, shutdown, socket_with,
};
use rustix::time::Timespec;

/// Room for the largest answer, a full status: a row per service, a line
/// per rejected entry and one for the rest, each a `Line` and its newline
/// (137 KiB; `status NAME...` has fewer lines, the command line holds
/// `MAX_SERVICES + 16` words), and a byte more: a full buffer is an
/// answer longer than the supervisor sends.
const ANSWER: usize = (MAX_SERVICES + MAX_REJECTED + 1) * (LINE + 1) + 1;
/// How long to wait for the supervisor's answer, and to retry a busy
/// one, in ms.
const WAIT_MS: u64 = 5000;
/// Pause between two tries at a busy supervisor, in ms.
const BUSY_PAUSE_MS: u64 = 20;
/// `going status NAME...` when one of them is not up, as LSB `status`.
const EX_NOT_RUNNING: i32 = 3;

#[inline(never)] // its buffers stay out of the supervisor's frame
pub fn run(verb: Verb, socket: &CStr, machine: bool, timeout: Option<u32>, args: &[&CStr]) -> i32 {
    for a in args {
        let a = a.to_bytes();
        if a.is_empty() || a.iter().any(|&b| b == b' ' || b == b'\n' || b == b'\t') {
            return fail(EX_USAGE, b"names and signals cannot be empty or hold blanks");
        }
        // Checked here, before anything is sent: the supervisor acts on
        // each name as it arrives, and a request line has a limit.
        if let Some(start) = a.get(..crate::limits::MAX_NAME).filter(|_| a.len() > crate::limits::MAX_NAME) {
            let mut l = Line::new();
            l.s(b"going: ").s(start).s(b"...: not a service or signal name (");
            l.u(a.len() as u64).s(b" bytes, at most 64)\n");
            print(2, l.bytes());
            return EX_USAGE;
        }
    }
    let mut answer = [0u8; ANSWER];
    let started = crate::time::now();
    // `wait` waits as long as it is told, by default for ever; `-t 0`
    // asks once: the supervisor answers at once, or hangs up on a client
    // that has ended its writing (`once`), and that is not ready.
    let once = verb == Verb::Wait && timeout == Some(0);
    let patience = match (verb, timeout) {
        (Verb::Wait, None) => None,
        (Verb::Wait, Some(t)) if !once => Some(u64::from(t) * 1000),
        _ => Some(WAIT_MS),
    };
    let n = loop {
        let n = match ask(socket, verb, args, once, &mut answer, started, patience) {
            Ok(n) if n > 0 || !once => n,
            Ok(_) => return not_ready(0),
            Err(Asked::Late) if verb == Verb::Wait && !once => return not_ready(timeout.unwrap_or(0)),
            Err(why) => {
                let (what, e) = match why {
                    Asked::Late => (&b"no answer in 5s from "[..], Errno::TIMEDOUT),
                    Asked::Unreachable(e) => (&b"no supervisor answers on "[..], e),
                    Asked::Lost(e) => (&b"lost the connection to "[..], e),
                };
                say(2, &[b"going: ", what, socket.to_bytes(), b": ", sys::strerror(e)]);
                return EX_UNAVAILABLE;
            }
        };
        let busy = answer.get(..n).is_some_and(|a| a.starts_with(b"error=busy"));
        let waited = crate::time::now().saturating_sub(started) / 1_000_000;
        if !busy || waited + BUSY_PAUSE_MS >= WAIT_MS {
            break n;
        }
        pause(BUSY_PAUSE_MS);
    };
    let answer = answer.get(..n).unwrap_or(&[]);
    let mut code = EX_OK;
    for line in answer.split(|&b| b == b'\n') {
        if let Some(err) = line.strip_prefix(b"error=") {
            code = fail(EX_FAIL, err);
        }
    }
    // What the supervisor promises, unless an error ends it: whole lines,
    // one per name (a row, `ok=` or `error=`), `ok` for a request without
    // names and for `wait`; a full status may be empty.
    let promised = match verb {
        Verb::Wait => 1,
        Verb::Signal => args.len().saturating_sub(1),
        v if v.takes_names() => args.len(),
        _ => 1,
    };
    let lines = answer.iter().filter(|&&b| b == b'\n').count();
    if code == EX_OK && (lines < promised || answer.last().is_some_and(|&b| b != b'\n')) {
        say(2, &[b"going: lost the connection to ", socket.to_bytes(), b" before the whole answer came"]);
        return EX_UNAVAILABLE;
    }
    if verb == Verb::Status {
        let down = print_status(answer, machine);
        if code == EX_OK && !args.is_empty() && down {
            code = EX_NOT_RUNNING;
        }
    }
    code
}

fn not_ready(secs: u32) -> i32 {
    let mut l = Line::new();
    l.s(b"going: not ready after ").u(u64::from(secs)).s(b"s\n");
    print(2, l.bytes());
    EX_FAIL
}

fn fail(code: i32, what: &[u8]) -> i32 {
    say(2, &[b"going: ", what]);
    code
}

/// Prints the pieces and a newline on `fd`: as one write when they fit
/// in a `Line`, else a piece at a time rather than cut (a `-m` row, the
/// supervisor's line and what is added to it, may be longer).
#[inline(never)]
fn say(fd: i32, pieces: &[&[u8]]) {
    if pieces.iter().map(|p| p.len()).sum::<usize>() >= LINE {
        pieces.iter().for_each(|p| print(fd, p));
        return print(fd, b"\n");
    }
    let mut l = Line::new();
    for p in pieces {
        l.s(p);
    }
    l.s(b"\n");
    print(fd, l.bytes());
}

/// Sleeps about `ms` milliseconds (a poll on nothing).
fn pause(ms: u64) {
    let t = Timespec { tv_sec: 0, tv_nsec: (ms * 1_000_000) as i64 };
    let _ = poll(&mut [], Some(&t));
}

enum Asked {
    Unreachable(Errno),
    Lost(Errno),
    /// No answer by the deadline.
    Late,
}

/// The request, a piece at a time: the verb, then each argument with a
/// blank before it, then the newline.
struct Request<'a> {
    verb: Verb,
    args: &'a [&'a CStr],
    /// Which piece is next: 0 the verb, 1..=n the arguments, n+1 the
    /// newline, beyond that nothing.
    piece: usize,
}

impl Request<'_> {
    /// Fills `buf` with the next pieces; returns how many bytes.
    fn fill(&mut self, buf: &mut [u8]) -> usize {
        let mut n = 0;
        loop {
            let mut one = Line::new();
            match self.piece {
                0 => one.s(self.verb.word()),
                p if p <= self.args.len() => one.s(b" ").s(self.args.get(p - 1).map_or(&b""[..], |a| a.to_bytes())),
                p if p == self.args.len() + 1 => one.s(b"\n"),
                _ => return n,
            };
            let b = one.bytes();
            let Some(dst) = buf.get_mut(n..n + b.len()) else { return n };
            dst.copy_from_slice(b);
            n += b.len();
            self.piece += 1;
        }
    }
}

/// Sends the request while reading the answer to EOF; `patience` is how
/// long to wait in all, in ms from `started` (`None`: for ever). With
/// `once`, the writing is shut down once the request is sent.
fn ask(
    path: &CStr,
    verb: Verb,
    args: &[&CStr],
    once: bool,
    buf: &mut [u8],
    started: u64,
    patience: Option<u64>,
) -> Result<usize, Asked> {
    let addr = SocketAddrUnix::new(path).map_err(Asked::Unreachable)?;
    let fd =
        socket_with(AddressFamily::UNIX, SocketType::STREAM, SocketFlags::CLOEXEC, None).map_err(Asked::Unreachable)?;
    connect(&fd, &addr).map_err(Asked::Unreachable)?;
    let mut req = Request { verb, args, piece: 0 };
    let mut chunk = [0u8; 2048];
    let (mut at, mut len) = (0, 0);
    let mut writing = true;
    let mut n = 0;
    loop {
        if writing && at == len {
            (at, len) = (0, req.fill(&mut chunk));
            writing = len > 0;
            if !writing && once {
                let _ = shutdown(&fd, Shutdown::Write);
            }
        }
        let events = if writing { PollFlags::IN | PollFlags::OUT } else { PollFlags::IN };
        let mut p = [PollFd::new(&fd, events)];
        let left = patience.map(|ms| (started / 1_000_000 + ms).saturating_sub(crate::time::now() / 1_000_000));
        if left == Some(0) {
            return Err(Asked::Late);
        }
        let t = left.map(|ms| Timespec { tv_sec: (ms / 1000) as i64, tv_nsec: ((ms % 1000) * 1_000_000) as i64 });
        match poll(&mut p, t.as_ref()) {
            Ok(0) => return Err(Asked::Late),
            Ok(_) => {}
            Err(Errno::INTR) => continue,
            Err(e) => return Err(Asked::Lost(e)),
        }
        let got = p[0].revents();
        if writing && got.contains(PollFlags::OUT) {
            match send(&fd, chunk.get(at..len).unwrap_or(&[]), SendFlags::DONTWAIT | SendFlags::NOSIGNAL) {
                Ok(k) => at += k,
                Err(Errno::AGAIN | Errno::INTR) => {}
                // The supervisor closed without reading all we sent: what
                // it answered is still there to read.
                Err(_) => writing = false,
            }
        }
        if got.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR) {
            let Some(rest) = buf.get_mut(n..).filter(|r| !r.is_empty()) else {
                // More than any answer the supervisor sends.
                return Err(Asked::Lost(Errno::MSGSIZE));
            };
            match rustix::io::read(&fd, rest) {
                Ok(0) => return Ok(n),
                Ok(k) => n += k,
                Err(Errno::INTR | Errno::AGAIN) => {}
                Err(_) if n > 0 => return Ok(n),
                Err(e) => return Err(Asked::Lost(e)),
            }
        }
    }
}

/// Prints the status answer; says whether a service in it is not ready.
fn print_status(answer: &[u8], machine: bool) -> bool {
    let lines = || answer.split(|&b| b == b'\n').filter(|l| !l.is_empty());
    let (mut width, mut down) = (4, false);
    for r in lines().filter_map(status::parse_row) {
        width = width.max(r.name.len());
        down |= r.ready != b"yes";
    }
    let width = width + 2;
    let (hz, page_kib) = (sys::clock_ticks(), sys::page_size() / 1024);
    let color = !machine && crate::output::colour();
    if !machine {
        let mut l = Line::new();
        l.s(b"NAME");
        status::pad(&mut l, 0, width);
        l.s(b"STATE        PID      UPTIME   RESTARTS  LAST        CPU     RSS\n");
        print(1, l.bytes());
    }
    let mut notes = false;
    for line in lines() {
        let Some(r) = status::parse_row(line) else {
            notes |= line.starts_with(b"rejected=");
            continue;
        };
        notes |= !r.error.is_empty();
        let mut use_ = if r.pid > 0 { crate::leftover::stat_of(r.pid) } else { None };
        // The whole cgroup's figures, where the supervisor has them.
        if r.cpu_usec.is_some() || r.memory.is_some() {
            let u = use_.get_or_insert_default();
            if let Some(us) = r.cpu_usec {
                u.ticks = us.saturating_mul(hz) / 1_000_000;
            }
            if let Some(bytes) = r.memory {
                u.pages = bytes / (page_kib * 1024).max(1);
            }
        }
        let mut l = Line::new();
        if machine {
            let fields = line.len() - if r.error.is_empty() { 0 } else { r.error.len() + 7 };
            // The cgroup's CPU and memory are said as cpu= and rss= below.
            let said_below = |f: &&[u8]| f.starts_with(b"cpu_usec=") || f.starts_with(b"memory_current=");
            let mut sep: &[u8] = b"";
            for f in line.get(..fields).unwrap_or(line).split(|&b| b == b' ').filter(|f| !said_below(f)) {
                l.s(sep).s(f);
                sep = b" ";
            }
            let mut added = Line::new();
            match use_ {
                Some(u) => {
                    added.s(b" cpu=");
                    status::cpu(&mut added, u.ticks, hz);
                    added.s(b" rss=").u(u.pages * page_kib);
                }
                None => {
                    added.s(b" cpu=0.00 rss=0");
                }
            }
            // ` error=...` as it came, after what is added.
            say(1, &[l.bytes(), added.bytes(), line.get(fields..).unwrap_or(&[])]);
            continue;
        }
        table_row(&mut l, &r, width, use_.as_ref(), hz, page_kib, color);
        l.s(b"\n");
        print(1, l.bytes());
    }
    // After the table its notes; after `-m` lines the `rejected=` lines as they are.
    if machine || notes {
        for line in lines() {
            let note = match (status::parse_row(line), line.strip_prefix(b"rejected=")) {
                (Some(r), _) if !machine => r.error,
                (None, Some(_)) if machine => line,
                (None, Some(why)) => why,
                _ => b"",
            };
            if !note.is_empty() {
                say(1, &[note]);
            }
        }
    }
    down
}

fn table_row(l: &mut Line, r: &Row, width: usize, u: Option<&Usage>, hz: u64, page_kib: u64, color: bool) {
    l.s(r.name);
    status::pad(l, 0, width);
    let paint: &[u8] = match crate::fmt::pick(r.state, b"up backoff stopping failed").filter(|_| color) {
        Some(0) => b"\x1b[32m",
        Some(1 | 2) => b"\x1b[33m",
        Some(_) => b"\x1b[31m",
        None => b"",
    };
    // The colour codes take no room on the terminal: only what follows
    // them counts in the column's width.
    l.s(paint);
    let start = l.bytes().len();
    l.s(r.state);
    if r.state == b"backoff" {
        l.s(b" ").u(r.wait).s(b"s");
    }
    let shown = l.bytes().len() - start;
    if !paint.is_empty() {
        l.s(b"\x1b[0m");
    }
    let start = l.bytes().len() - shown;
    status::pad(l, start, 13);
    let col = |l: &mut Line, w: usize, f: &dyn Fn(&mut Line)| {
        let at = l.bytes().len();
        f(l);
        status::pad(l, at, w);
    };
    let running = r.pid > 0;
    col(l, 9, &|l| {
        if running {
            l.u(r.pid)
        } else {
            l.s(b"-")
        };
    });
    col(l, 9, &|l| {
        if running {
            l.dur(r.uptime * crate::limits::SEC)
        } else {
            l.s(b"-")
        };
    });
    col(l, 10, &|l| {
        l.s(r.restarts);
    });
    col(l, 12, &|l| {
        match (r.last.strip_prefix(b"exit:"), r.last.strip_prefix(b"signal:")) {
            (Some(c), _) => l.s(b"exit ").s(c),
            (_, Some(s)) if s.first().is_some_and(u8::is_ascii_digit) => l.s(b"signal ").s(s),
            (_, Some(s)) => l.s(b"SIG").s(s),
            _ => l.s(b"-"),
        };
    });
    match u {
        Some(u) => {
            col(l, 8, &|l| status::cpu(l, u.ticks, hz));
            status::size(l, u.pages * page_kib);
        }
        None => {
            l.s(b"-       -");
        }
    }
}
