//! The client commands: `status`, `start`, `stop`, `restart`, `signal`,
//! `reload`. One request line to the supervisor's socket, its answer read
//! to EOF with a deadline, then printed: status as a table (or `-m`
//! lines) with CPU and RSS read from `/proc`; other answers only speak of
//! errors, on stderr.

use crate::cli::{EX_FAIL, EX_OK, EX_UNAVAILABLE, EX_USAGE, Verb};
use crate::fmt::Line;
use crate::log::print;
use crate::status::{self, Row, Usage};
use crate::sys;
use core::ffi::CStr;
use rustix::event::{PollFd, PollFlags, poll};
use rustix::net::{AddressFamily, SocketAddrUnix, SocketType, connect, socket};
use rustix::time::Timespec;

/// Largest answer read: 128 rows of about 200 bytes fit four times over.
const ANSWER: usize = 96 * 1024;
/// How long to wait for the supervisor's answer, in ms.
const WAIT_MS: i64 = 5000;

#[inline(never)] // its buffers stay out of the supervisor's frame
pub fn run(verb: Verb, socket: &CStr, machine: bool, args: &[&CStr]) -> i32 {
    let mut req = Line::new();
    req.s(verb.word());
    for a in args {
        let a = a.to_bytes();
        if a.is_empty() || a.iter().any(|&b| b == b' ' || b == b'\n' || b == b'\t') {
            return fail(EX_USAGE, b"names and signals cannot be empty or hold blanks", b"");
        }
        req.s(b" ").s(a);
    }
    req.s(b"\n");
    if !req.bytes().ends_with(b"\n") {
        return fail(EX_USAGE, b"request too long", b"");
    }
    let mut answer = [0u8; ANSWER];
    let n = match ask(socket, req.bytes(), &mut answer) {
        Ok(n) => n,
        Err((what, e)) => {
            let mut l = Line::new();
            l.s(b"going: ").s(what).s(socket.to_bytes()).s(b": ").s(sys::strerror(e)).s(b"\n");
            print(2, l.bytes());
            return EX_UNAVAILABLE;
        }
    };
    let answer = answer.get(..n).unwrap_or(&[]);
    let mut code = EX_OK;
    for line in answer.split(|&b| b == b'\n') {
        if let Some(err) = line.strip_prefix(b"error=") {
            code = fail(EX_FAIL, err, b"");
        }
    }
    if verb == Verb::Status {
        print_status(answer, machine);
    }
    code
}

fn fail(code: i32, what: &[u8], arg: &[u8]) -> i32 {
    let mut l = Line::new();
    l.s(b"going: ").s(what).s(arg).s(b"\n");
    print(2, l.bytes());
    code
}

/// Sends the request and reads the answer to EOF.
fn ask(path: &CStr, req: &[u8], buf: &mut [u8]) -> Result<usize, (&'static [u8], rustix::io::Errno)> {
    let no_answer = &b"no supervisor answers on "[..];
    let addr = SocketAddrUnix::new(path).map_err(|e| (no_answer, e))?;
    let fd = socket(AddressFamily::UNIX, SocketType::STREAM, None).map_err(|e| (no_answer, e))?;
    connect(&fd, &addr).map_err(|e| (no_answer, e))?;
    // A refused client may find the connection closed before it writes;
    // the refusal is still there to read.
    let _ = rustix::net::send(&fd, req, rustix::net::SendFlags::NOSIGNAL);
    let mut n = 0;
    loop {
        let mut p = [PollFd::new(&fd, PollFlags::IN)];
        let ready = poll(&mut p, Some(&Timespec { tv_sec: WAIT_MS / 1000, tv_nsec: 0 })).unwrap_or(0);
        if ready == 0 {
            return Err((b"no answer in 5s from ", rustix::io::Errno::TIMEDOUT));
        }
        let Some(rest) = buf.get_mut(n..).filter(|r| !r.is_empty()) else {
            return Ok(n);
        };
        match rustix::io::read(&fd, rest) {
            Ok(0) => return Ok(n),
            Ok(k) => n += k,
            Err(rustix::io::Errno::INTR) => {}
            // The supervisor closed without reading all we sent: what it
            // answered came first.
            Err(_) if n > 0 => return Ok(n),
            Err(e) => return Err((b"lost the connection to ", e)),
        }
    }
}

fn print_status(answer: &[u8], machine: bool) {
    let lines = || answer.split(|&b| b == b'\n').filter(|l| !l.is_empty());
    let width = lines().filter_map(status::parse_row).map(|r| r.name.len()).max().unwrap_or(0).max(4) + 2;
    let (hz, page_kib) = (sys::clock_ticks(), sys::page_size() / 1024);
    let color = !machine && sys::isatty(1) && sys::getenv(c"NO_COLOR").is_none_or(|v| v.is_empty());
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
        let use_ = if r.pid > 0 { crate::leftover::stat_of(r.pid) } else { None };
        let mut l = Line::new();
        if machine {
            let fields = line.len() - if r.error.is_empty() { 0 } else { r.error.len() + 7 };
            l.s(line.get(..fields).unwrap_or(line));
            match use_ {
                Some(u) => {
                    l.s(b" cpu=");
                    status::cpu(&mut l, u.ticks, hz);
                    l.s(b" rss=").u(u.pages * page_kib);
                }
                None => {
                    l.s(b" cpu=0.00 rss=0");
                }
            }
            if !r.error.is_empty() {
                l.s(b" error=").s(r.error);
            }
        } else {
            table_row(&mut l, &r, width, use_, hz, page_kib, color);
        }
        l.s(b"\n");
        print(1, l.bytes());
    }
    if !machine && notes {
        for line in lines() {
            let note = match status::parse_row(line) {
                Some(r) => r.error,
                None => line.strip_prefix(b"rejected=").unwrap_or(b""),
            };
            if !note.is_empty() {
                let mut l = Line::new();
                l.s(note).s(b"\n");
                print(1, l.bytes());
            }
        }
    }
    if machine {
        for line in lines().filter(|l| l.starts_with(b"rejected=")) {
            let mut l = Line::new();
            l.s(line).s(b"\n");
            print(1, l.bytes());
        }
    }
}

fn table_row(l: &mut Line, r: &Row, width: usize, u: Option<Usage>, hz: u64, page_kib: u64, color: bool) {
    l.s(r.name);
    status::pad(l, 0, width);
    let paint: &[u8] = match r.state {
        b"up" => b"\x1b[32m",
        b"backoff" | b"stopping" => b"\x1b[33m",
        b"failed" => b"\x1b[31m",
        _ => b"",
    };
    let start = l.bytes().len();
    if color && !paint.is_empty() {
        l.s(paint);
    }
    l.s(r.state);
    if r.state == b"backoff" {
        l.s(b" ").u(r.wait).s(b"s");
    }
    let shown = l.bytes().len() - start;
    if color && !paint.is_empty() {
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
