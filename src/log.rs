//! going's own events: one line each, `going: what`, to stderr and to
//! syslog (facility daemon) when `/dev/log` accepts it. Never blocks: a
//! line that cannot be written at once is counted and the count reported
//! with the next line that gets through.

use crate::fmt::Line;
use crate::limits::SYSLOG_RETRY_NS;
use crate::output::Console;
use crate::{sys, time};
use rustix::fd::OwnedFd;
use rustix::net::{AddressFamily, SendFlags, SocketAddrUnix, SocketFlags, SocketType, connect, send, socket_with};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Error,
}

pub struct Log {
    /// Where lines go first; never blocks once the loop runs.
    pub stderr: Console,
    syslog: Option<OwnedFd>,
    /// When to try `/dev/log` again; 0 to try at the next line.
    retry_at: u64,
    /// Lines stderr could not take.
    dropped: u64,
    pid: u64,
    /// stderr is the file stdout is, where `log=prefix` lines go: a line
    /// of a service left open there is ended before going's own.
    shares_stdout: bool,
}

impl Log {
    pub fn new() -> Self {
        let pid = rustix::process::getpid().as_raw_nonzero().get() as u64;
        let st = |fd| rustix::fs::fstat(sys::borrow(fd)).ok().map(|s| (s.st_dev, s.st_ino));
        let shares_stdout = st(1).is_some_and(|one| st(2) == Some(one));
        Log { stderr: Console::plain(2), syslog: None, retry_at: 0, dropped: 0, pid, shares_stdout }
    }

    pub fn info(&mut self, f: impl FnOnce(&mut Line)) {
        let mut body = Line::new();
        f(&mut body);
        self.emit(Level::Info, &body);
    }

    pub fn error(&mut self, f: impl FnOnce(&mut Line)) {
        let mut body = Line::new();
        f(&mut body);
        self.emit(Level::Error, &body);
    }

    /// One copy for every call site: only the closures above are generic.
    #[inline(never)]
    fn emit(&mut self, level: Level, body: &Line) {
        if self.dropped > 0 {
            let mut note = Line::new();
            note.u(self.dropped).s(b" log lines dropped: stderr was not writable");
            self.dropped = 0;
            self.stderr(note.bytes());
        }
        self.stderr(body.bytes());
        self.syslog(level, body.bytes());
    }

    fn stderr(&mut self, body: &[u8]) {
        let mut l = Line::new();
        if self.shares_stdout && crate::output::prefix::end_line() {
            l.s(b"\n");
        }
        l.s(b"going: ").s(body).s(b"\n");
        if self.stderr.write(l.bytes()) < l.bytes().len() {
            self.dropped += 1;
        }
    }

    fn syslog(&mut self, level: Level, body: &[u8]) {
        if self.syslog.is_none() {
            let now = time::now();
            if now < self.retry_at {
                return;
            }
            self.retry_at = now + SYSLOG_RETRY_NS;
            self.syslog = open_syslog();
        }
        let Some(fd) = &self.syslog else { return };
        // <PRI>: facility daemon (3) * 8 + severity info (6) or err (3).
        let pri: &[u8] = if level == Level::Error { b"<27>" } else { b"<30>" };
        let mut l = Line::new();
        l.s(pri).s(b"going[").u(self.pid).s(b"]: ").s(body);
        match send(fd, l.bytes(), SendFlags::DONTWAIT | SendFlags::NOSIGNAL) {
            Ok(_) | Err(rustix::io::Errno::AGAIN) => {}
            Err(_) => self.syslog = None,
        }
    }
}

fn open_syslog() -> Option<OwnedFd> {
    let flags = SocketFlags::CLOEXEC | SocketFlags::NONBLOCK;
    let fd = socket_with(AddressFamily::UNIX, SocketType::DGRAM, flags, None).ok()?;
    let addr = SocketAddrUnix::new(c"/dev/log").ok()?;
    connect(&fd, &addr).ok()?;
    Some(fd)
}

/// Writes all of `b` to standard output (1) or error (2), for the
/// client commands; a client may block on its own output.
pub fn print(fd: i32, b: &[u8]) {
    let mut rest = b;
    while !rest.is_empty() {
        match rustix::io::write(sys::borrow(fd), rest) {
            Ok(n) if n > 0 => rest = rest.get(n..).unwrap_or(&[]),
            Err(rustix::io::Errno::INTR) => {}
            _ => return,
        }
    }
}
