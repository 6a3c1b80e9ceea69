//! Service output through a pipe whose read end going holds. The pipe
//! outlives each run of the service, so output written just before a
//! crash is still read. Each wake-up reads what the service wrote into
//! one stack buffer, cuts it into lines (`lines`: at most
//! `LOG_LINE_MAX` bytes each), stamps each line with the time read once
//! for that wake-up (`stamp`, `log_time`) and hands them to the sink:
//!
//! - `file`: `log=FILE`, appended and rotated at `log_size` at a line
//!   boundary, opened through `safefile`;
//! - `prefix`: `log=prefix`, each line on going's stdout as `NAME | line`,
//!   never run into another service's line;
//! - `syslog`: `log=syslog`, each line a datagram to `/dev/log`.
//!
//! Never blocking: what cannot be written is dropped and counted, the
//! fault reported once when it starts and once when it ends. Every retry
//! (a rotation, `/dev/log`) waits for a deadline, driven by the next
//! output, so a broken sink costs a few system calls a second, never a
//! spinning loop and never a wake-up of its own.

mod file;
mod lines;
pub mod prefix;
mod stamp;
pub mod syslog;

pub use file::{close_file, open_file};
pub use syslog::Syslog;

use crate::config::LogTime;
use crate::limits::{LOG_LINE_MAX, LOG_READ_PER_WAKE, LOG_ROOM};
use crate::service::Setup;
use crate::table::{Capture, Sink};
use crate::{fmt::Line, sys};
use core::ffi::CStr;
use rustix::fd::IntoRawFd;
use rustix::fs::{FileType, Mode, OFlags, fcntl_getfl, fcntl_setfl, fstat, open};
use rustix::io::Errno;
use rustix::net::{SendFlags, send};
use rustix::pipe::{PipeFlags, pipe_with};

/// Something to tell the supervisor's log about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report {
    CannotOpen(Setup),
    CannotWrite(Errno),
    /// Rotation failed; it is tried again after a pause.
    CannotRotate(Errno),
    /// Writing works again after `dropped` bytes were lost.
    Recovered(u64),
    /// `/dev/log` refused a line; the service's lines are dropped.
    SyslogDown(Errno),
    /// `/dev/log` took a line again after this many were dropped.
    SyslogBack(u64),
}

/// One of going's standard outputs, written without ever blocking: a
/// pipe or terminal is reopened through `/proc/self/fd` as a descriptor
/// of its own with `O_NONBLOCK` (setting the flag on the inherited one
/// would change it for everyone sharing it); a socket is sent to with
/// `MSG_DONTWAIT`; a file never blocks for long.
#[derive(Clone, Copy)]
pub struct Console {
    fd: i32,
    socket: bool,
}

impl Console {
    pub const fn plain(fd: i32) -> Self {
        Console { fd, socket: false }
    }

    /// Makes descriptor `fd` (1 or 2) safe to write from the loop.
    pub fn open(fd: i32) -> Self {
        let Ok(st) = fstat(sys::borrow(fd)) else { return Console::plain(fd) };
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Socket => Console { fd, socket: true },
            FileType::Fifo | FileType::CharacterDevice => {
                let mut p = Line::new();
                p.s(b"/proc/self/fd/").u(fd as u64).s(b"\0");
                let flags = OFlags::WRONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
                let own = CStr::from_bytes_until_nul(p.bytes()).ok().and_then(|p| open(p, flags, Mode::empty()).ok());
                match own {
                    Some(own) => Console { fd: own.into_raw_fd(), socket: false },
                    // No /proc: the inherited descriptor, made non-blocking.
                    None => {
                        let b = sys::borrow(fd);
                        let _ = fcntl_getfl(b).and_then(|f| fcntl_setfl(b, f | OFlags::NONBLOCK));
                        Console::plain(fd)
                    }
                }
            }
            _ => Console::plain(fd),
        }
    }

    /// Writes what it can take now; returns how many bytes it took.
    pub fn write(&self, b: &[u8]) -> usize {
        let fd = sys::borrow(self.fd);
        let r =
            if self.socket { send(fd, b, SendFlags::DONTWAIT | SendFlags::NOSIGNAL) } else { rustix::io::write(fd, b) };
        r.unwrap_or(0)
    }
}

/// Where one service's captured output goes, with what it needs.
#[derive(Clone, Copy)]
pub struct Target<'a> {
    pub sink: Sink,
    pub path: &'a [u8],
    pub name: &'a [u8],
    /// A colour for `log=prefix` names.
    pub color: Option<u8>,
    pub stdout: Console,
    /// What starts each line of `log=FILE` and `log=prefix`.
    pub time: LogTime,
    /// The service's process, for `log=syslog`; 0 when none runs.
    pub pid: i32,
    pub now: u64,
}

/// Makes sure the service has its pipe; returns the read end when it was
/// just created, to be watched.
pub fn ensure_pipe(c: &mut Capture) -> Result<Option<i32>, Errno> {
    if c.rfd >= 0 {
        return Ok(None);
    }
    let (r, w) = pipe_with(PipeFlags::CLOEXEC)?;
    // Only going's end is non-blocking: a service writing into a full pipe
    // waits, as it would on a terminal.
    fcntl_setfl(&r, fcntl_getfl(&r)? | OFlags::NONBLOCK)?;
    c.rfd = r.into_raw_fd();
    c.wfd = w.into_raw_fd();
    c.line_len = 0;
    Ok(Some(c.rfd))
}

/// Closes everything: the service is gone or no longer captured.
pub fn close(c: &mut Capture) {
    prefix::closed(c.rfd);
    for fd in [c.rfd, c.wfd, c.file] {
        sys::close(fd);
    }
    *c = Capture::none();
}

/// Reads what the service wrote, up to `LOG_READ_PER_WAKE` bytes, into
/// its sink. An unfinished line is kept at the front of the buffer while
/// more is read, so a line is cut in two only where the service paused
/// in its middle (or at `LOG_LINE_MAX`).
pub fn drain(c: &mut Capture, t: Target, syslog: &mut Syslog, mut report: impl FnMut(Report)) {
    if c.rfd < 0 {
        return;
    }
    // One clock read for everything read now, and none without log_time.
    let stamp = stamp::of(t.time, |time| match time {
        LogTime::Utc => sys::realtime(),
        _ => {
            let (s, ns) = sys::boottime();
            (i64::try_from(s).unwrap_or(i64::MAX), ns as u32)
        }
    });
    // Nothing goes before a line of a plain log file: its lines are
    // written from where they were read.
    let mut buf = Buf::new(matches!(t.sink, Sink::File { .. }) && stamp.bytes().is_empty());
    if matches!(t.sink, Sink::File { .. }) {
        // Before anything is written or rotated: a file renamed, removed
        // or emptied by another program since is not written to, moved
        // along or emptied again.
        file::follow(c, t.path, &mut buf.b);
    }
    let mut budget = LOG_READ_PER_WAKE;
    loop {
        let (n, full) = if budget > 0 { buf.read(c.rfd) } else { (0, false) };
        budget = budget.saturating_sub(n);
        // A read that did not fill the buffer emptied the pipe: that is
        // all for now, and an unfinished line goes out as it is.
        let hold = full && budget > 0;
        let used = match t.sink {
            Sink::File { .. } => file::write(c, &t, stamp.bytes(), &mut buf, &mut report),
            Sink::Prefix => {
                prefix::write(c, &t, stamp.bytes(), &mut buf, hold, &mut |b| t.stdout.write(b), &mut report)
            }
            Sink::Syslog => syslog.write(c, &t, &mut buf, hold, &mut report),
            Sink::Inherit | Sink::Null => buf.len,
        };
        buf.keep_from(used);
        if !hold {
            break;
        }
    }
}

const ROOM: usize = LOG_ROOM;

/// Copies `from` into `to` (as long), 16 bytes at a time: the stamps and
/// lines going moves are short, and each is copied inline rather than
/// by a call to the C library's `memcpy`.
fn copy16(from: &[u8], to: &mut [u8]) {
    if from.len() != to.len() {
        return;
    }
    let mut dst = to.chunks_exact_mut(16);
    let mut src = from.chunks_exact(16);
    for (d, s) in dst.by_ref().zip(src.by_ref()) {
        if let (Ok(d), Ok(s)) = (<&mut [u8; 16]>::try_from(d), <&[u8; 16]>::try_from(s)) {
            *d = *s;
        }
    }
    for (d, s) in dst.into_remainder().iter_mut().zip(src.remainder()) {
        *d = *s;
    }
}

/// Moves `b[src..src + len]` down to `dst` (`dst < src`), 16 bytes at a
/// time when the two are that far apart; each step reads its bytes
/// before it writes them, so the overlap is harmless.
fn move_down(b: &mut [u8], src: usize, dst: usize, len: usize) {
    if dst >= src || src + len > b.len() {
        return;
    }
    if src - dst < 16 {
        b.copy_within(src..src + len, dst);
        return;
    }
    let mut i = 0;
    while i + 16 <= len {
        let chunk = b.get(src + i..src + i + 16).and_then(|s| <[u8; 16]>::try_from(s).ok());
        if let (Some(c), Some(d)) =
            (chunk, b.get_mut(dst + i..dst + i + 16).and_then(|d| <&mut [u8; 16]>::try_from(d).ok()))
        {
            *d = c;
        }
        i += 16;
    }
    for k in i..len {
        if let Some(&v) = b.get(src + k)
            && let Some(d) = b.get_mut(dst + k)
        {
            *d = v;
        }
    }
}

/// The one buffer of a drain. What the service wrote is read in behind
/// `ROOM` bytes; lines go out from the front, each after what going puts
/// before it (its stamp, its name), written into the room and into the
/// space earlier lines of the same read left. A sink adds lines until
/// the next does not fit in front of what is still unread, writes what
/// it gathered, and goes on from the start. Plain lines stay where they
/// were read, so `log=FILE` without `log_time` copies nothing.
pub struct Buf {
    b: [u8; ROOM + LOG_LINE_MAX],
    /// Bytes read and not yet taken: `b[ROOM..ROOM + len]`.
    len: usize,
    /// Output gathered: `b[from..to]`.
    from: usize,
    to: usize,
    /// Pieces with nothing before them are written where they are.
    in_place: bool,
}

impl Buf {
    fn new(in_place: bool) -> Self {
        Buf { b: [0; ROOM + LOG_LINE_MAX], len: 0, from: 0, to: 0, in_place }
    }

    /// What was read and is not taken yet.
    pub fn data(&self) -> &[u8] {
        self.b.get(ROOM..ROOM + self.len).unwrap_or(&[])
    }

    /// Reads more behind what is there; returns how much, and whether it
    /// filled the buffer.
    fn read(&mut self, fd: i32) -> (usize, bool) {
        let Some(free) = self.b.get_mut(ROOM + self.len..) else { return (0, false) };
        let room = free.len();
        loop {
            match rustix::io::read(sys::borrow(fd), &mut *free) {
                Ok(n) => {
                    self.len += n;
                    return (n, n == room && n > 0);
                }
                Err(Errno::INTR) => {}
                Err(_) => return (0, false),
            }
        }
    }

    /// Drops the first `used` bytes of the data, moving the rest (an
    /// unfinished line) to its front; the output must have been written.
    fn keep_from(&mut self, used: usize) {
        let used = used.min(self.len);
        self.b.copy_within(ROOM + used..ROOM + self.len, ROOM);
        self.len -= used;
        self.from = 0;
        self.to = 0;
    }

    /// What was gathered to write.
    pub fn out(&self) -> &[u8] {
        self.b.get(self.from..self.to).unwrap_or(&[])
    }

    /// The gathered output was written (or dropped).
    pub fn clear(&mut self) {
        self.from = 0;
        self.to = 0;
    }

    /// Gathers `head`, `data[start..end]` and, with `cut`, a newline.
    /// Returns false, gathering nothing, when they do not fit in front of
    /// the unread data: write `out()`, `clear()`, and add again (an empty
    /// output always has room: `ROOM` is more than any head).
    pub fn add(&mut self, head: &[u8], start: usize, end: usize, cut: bool) -> bool {
        let at = ROOM + start;
        let (len, need) = (end.saturating_sub(start), head.len() + usize::from(cut));
        if self.from == self.to {
            // Nothing gathered: a plain piece is written where it is,
            // anything else from the start, with all the room there is.
            self.from = if need == 0 && self.in_place { at } else { 0 };
            self.to = self.from;
        }
        if self.to + need > at || end > self.len {
            return false;
        }
        copy16(head, self.b.get_mut(self.to..self.to + head.len()).unwrap_or(&mut []));
        self.to += head.len();
        if self.to != at {
            move_down(&mut self.b, at, self.to, len);
        }
        self.to += len;
        if cut {
            if let Some(d) = self.b.get_mut(self.to) {
                *d = b'\n';
            }
            self.to += 1;
        }
        true
    }

    /// `head` and `data[start..end]` as one message, written into the
    /// bytes in front of that piece (they were taken already).
    pub fn message(&mut self, head: &[u8], start: usize, end: usize) -> &[u8] {
        let at = ROOM + start;
        let from = at.saturating_sub(head.len());
        if let Some(d) = self.b.get_mut(from..at) {
            d.copy_from_slice(head.get(..at - from).unwrap_or(&[]));
        }
        self.b.get(from..ROOM + end.min(self.len)).unwrap_or(&[])
    }
}

// Room for the largest head (a `Line`), a stamp and two newlines; and
// the buffer holds a log path for `file::follow`.
const _: () = assert!(ROOM >= crate::limits::LINE + 64 && ROOM + LOG_LINE_MAX > crate::limits::MAX_FILE);

/// Whether to colour stdout: it is a terminal and `NO_COLOR` is unset
/// or empty. For the `log=prefix` names and the `going status` table.
pub fn colour() -> bool {
    sys::isatty(1) && sys::getenv(c"NO_COLOR").is_none_or(|v| v.is_empty())
}

/// A colour for a name: one of the six ANSI foreground colours.
pub fn color_of(name: &[u8]) -> u8 {
    31 + (name.iter().fold(0u32, |h, &b| h.wrapping_mul(31).wrapping_add(u32::from(b))) % 6) as u8
}

#[cfg(test)]
impl Buf {
    /// A buffer holding `data` as if just read.
    fn holding(data: &[u8], in_place: bool) -> Buf {
        let mut b = Buf::new(in_place);
        b.b[ROOM..ROOM + data.len()].copy_from_slice(data);
        b.len = data.len();
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buf(data: &[u8]) -> Buf {
        Buf::holding(data, true)
    }

    #[test]
    fn lines_are_gathered_in_front_of_what_is_unread() {
        let mut b = buf(b"one\ntwo\nthree\n");
        // Plain pieces stay where they are.
        assert!(b.add(b"", 0, 4, false));
        assert!(b.add(b"", 4, 8, false));
        assert_eq!((b.out(), b.from), (&b"one\ntwo\n"[..], ROOM));
        // A head does not fit in front of them: write, then it does.
        assert!(!b.add(b"T ", 8, 14, false));
        b.clear();
        assert!(b.add(b"T ", 8, 14, true));
        assert_eq!(b.out(), b"T three\n\n");
        // Many heads: as many as the room takes, then a write.
        let mut b = buf(&b"x\n".repeat(2000));
        let (mut lines, mut writes, mut out) = (0, 0, Vec::new());
        while lines < 2000 {
            if b.add(b"2026-12-01T18:33:22.123456Z | ", lines * 2, lines * 2 + 2, false) {
                lines += 1;
            } else {
                out.extend_from_slice(b.out());
                b.clear();
                writes += 1;
            }
        }
        out.extend_from_slice(b.out());
        assert_eq!(out, b"2026-12-01T18:33:22.123456Z | x\n".repeat(2000));
        assert!(writes < 2000 * 32 / ROOM + 2, "{writes} writes");
        // The held rest moves to the front.
        let mut b = buf(b"done\npart");
        b.keep_from(5);
        assert_eq!(b.data(), b"part");
        assert_eq!(b.message(b"<30>a: ", 0, 4), b"<30>a: part");
    }

    #[test]
    fn colours_are_stable() {
        assert_eq!(color_of(b"web"), color_of(b"web"));
        for n in [&b""[..], b"a", b"worker", b"x-y"] {
            assert!((31..=36).contains(&color_of(n)));
        }
    }
}
