//! going's own events: one line each, `going: what`, to stderr and to
//! syslog (facility daemon) when `/dev/log` accepts it. Never blocks: a
//! line that cannot be written at once is counted and the count reported
//! with the next line that gets through. While the loop runs, the lines
//! of one wake-up are held and written together before going sleeps (or
//! before service output or a control answer goes out), so that a respawn
//! or a pickup does not write its log line before its `clone`.

use crate::fmt::Line;
use crate::limits::{LOG_HELD, LOG_HELD_LINES, SYSLOG_RETRY_NS};
use crate::output::Console;
use crate::{sys, time};
use rustix::fd::OwnedFd;
use rustix::net::{SendFlags, send};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Error,
}

#[repr(C)]
pub struct Log {
    /// The line being written, empty between lines; first, so that it is
    /// where the log is (one pointer for both at each call).
    line: Line,
    /// Where lines go first; never blocks once the loop runs.
    pub stderr: Console,
    syslog: Option<OwnedFd>,
    /// When to try `/dev/log` again; 0 to try at the next line.
    retry_at: u64,
    /// Lines stderr could not take, not yet reported.
    dropped: u64,
    /// The count in the note about them that is held now (0: none is):
    /// they are reported only once the note itself reaches stderr.
    noted: u64,
    pid: u64,
    /// stderr is the file stdout is, where `log=prefix` lines go: a line
    /// of a service left open there is ended before going's own.
    shares_stdout: bool,
    /// Lines are held until `flush` (the loop runs), not written at once.
    pub hold: bool,
    /// Held lines as stderr gets them, `going: BODY\n` each, from byte 1
    /// (byte 0 is for the newline that ends a service's open line).
    held: [u8; LOG_HELD],
    held_len: usize,
    /// Where each held line's body is, and its level for syslog (`None`:
    /// stderr only).
    marks: heapless::Vec<(u16, u16, Option<Level>), LOG_HELD_LINES>,
    /// stderr took only part of a line (a tty or a socket that was full):
    /// the next write ends it first, so no line is glued to its end.
    cut: bool,
}

impl Log {
    pub fn new() -> Self {
        let pid = rustix::process::getpid().as_raw_nonzero().get() as u64;
        let st = |fd| rustix::fs::fstat(sys::borrow(fd)).ok().map(|s| (s.st_dev, s.st_ino));
        let shares_stdout = st(1).is_some_and(|one| st(2) == Some(one));
        Log {
            stderr: Console::plain(2),
            syslog: None,
            retry_at: 0,
            dropped: 0,
            noted: 0,
            pid,
            shares_stdout,
            hold: false,
            held: [0; LOG_HELD],
            held_len: 1,
            marks: heapless::Vec::new(),
            cut: false,
            line: Line::new(),
        }
    }

    pub fn info(&mut self, f: impl FnOnce(&mut Line)) {
        f(&mut self.line);
        self.emit(Level::Info);
    }

    pub fn error(&mut self, f: impl FnOnce(&mut Line)) {
        f(&mut self.line);
        self.emit(Level::Error);
    }

    /// Queues the line the caller wrote into `line`, and empties it. One
    /// copy for every call site: only the closures above are generic.
    #[inline(never)]
    fn emit(&mut self, level: Level) {
        let body = core::mem::take(&mut self.line);
        if self.dropped > 0 && self.noted == 0 {
            let mut note = Line::new();
            let n = self.dropped;
            note.u(n).s(b" log lines dropped: stderr was not writable");
            self.queue(None, note.bytes());
            self.noted = n;
        }
        self.queue(Some(level), body.bytes());
        if !self.hold {
            self.flush();
        }
    }

    fn queue(&mut self, level: Option<Level>, body: &[u8]) {
        const HEAD: &[u8] = b"going: ";
        let need = HEAD.len() + body.len() + 1;
        if self.held_len + need > LOG_HELD || self.marks.is_full() {
            self.flush();
        }
        let at = self.held_len;
        let Some(dst) = self.held.get_mut(at..at + need) else { return };
        let (head, rest) = dst.split_at_mut(HEAD.len());
        let (text, nl) = rest.split_at_mut(body.len());
        head.copy_from_slice(HEAD);
        text.copy_from_slice(body);
        nl.fill(b'\n');
        let start = at + HEAD.len();
        if self.marks.push((start as u16, (start + body.len()) as u16, level)).is_ok() {
            self.held_len += need;
        }
    }

    /// Writes the held lines: to stderr in one write, then each to syslog.
    pub fn flush(&mut self) {
        if self.marks.is_empty() {
            return;
        }
        // A line left open on the file, by a service or by the last write
        // here, is ended first.
        let open = self.cut | (self.shares_stdout && crate::output::prefix::end_line());
        let from = usize::from(!open);
        if let Some(b) = self.held.first_mut() {
            *b = b'\n';
        }
        let out = self.held.get(from..self.held_len).unwrap_or(&[]);
        let written = from + self.stderr.write(out);
        // What reached the file ends inside a line: on a file shared with
        // `log=prefix` output, its writer is told too (and ends it).
        let cut = self.held.get(..written).and_then(|b| b.last()) != Some(&b'\n');
        self.cut = cut && !self.shares_stdout;
        if cut && self.shares_stdout {
            crate::output::prefix::left_open();
        }
        let Self { held, marks, syslog, retry_at, pid, dropped, noted, line, .. } = self;
        for &(start, end, level) in marks.iter() {
            let (start, end) = (usize::from(start), usize::from(end));
            let whole = end < written;
            match level {
                // The note of dropped lines: what it counts is told.
                None if whole => *dropped = dropped.saturating_sub(*noted),
                None => {}
                Some(level) => {
                    *dropped += u64::from(!whole);
                    send_syslog(syslog, retry_at, *pid, level, held.get(start..end).unwrap_or(&[]), line);
                }
            }
        }
        *noted = 0;
        marks.clear();
        self.held_len = 1;
    }
}

/// Sends one line to syslog, built in `l` (the log's own line, empty
/// between lines, and left empty). A call of its own, not inlined into
/// `flush`.
#[inline(never)]
fn send_syslog(syslog: &mut Option<OwnedFd>, retry_at: &mut u64, pid: u64, level: Level, body: &[u8], l: &mut Line) {
    if syslog.is_none() {
        let now = time::now();
        if now < *retry_at {
            return;
        }
        *retry_at = now + SYSLOG_RETRY_NS;
        *syslog = crate::output::syslog::connected().ok();
    }
    let Some(fd) = syslog.as_ref() else { return };
    // <PRI>: facility daemon (3) * 8 + severity info (6) or err (3).
    let pri: &[u8] = if level == Level::Error { b"<27>" } else { b"<30>" };
    l.s(pri).s(b"going[").u(pid).s(b"]: ").s(body);
    match send(fd, l.bytes(), SendFlags::DONTWAIT | SendFlags::NOSIGNAL) {
        Ok(_) | Err(rustix::io::Errno::AGAIN) => {}
        Err(_) => *syslog = None,
    }
    l.clear();
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
