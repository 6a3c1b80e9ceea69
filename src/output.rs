//! Service output through a pipe whose read end going holds: `log=FILE`
//! appends it to a file, rotated at `log_size` on a line boundary where
//! one is near; `log=prefix` writes each line to going's stdout as
//! `NAME | line`. The pipe outlives each run of the service, so output
//! written just before a crash is still read. One stack buffer, never
//! blocking: what cannot be written is counted, reported once when the
//! fault starts and once when it ends. A rotation that fails is not
//! tried again before a deadline, so a file that cannot be renamed costs
//! a few system calls a second, never a spinning loop.
//!
//! The log file is opened at the spawn, through `safefile`, so a
//! directory or file the service could have tampered with makes the
//! service fail instead of going writing where it points.

use crate::fmt::Line;
use crate::limits::{LOG_LINE_SLACK, LOG_READ_PER_WAKE, LOG_ROTATE_RETRY_NS, MAX_FILE};
use crate::service::Setup;
use crate::table::{Capture, Sink};
use crate::{safefile, sys};
use core::ffi::CStr;
use rustix::fd::{IntoRawFd, OwnedFd};
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
    c.line_start = true;
    Ok(Some(c.rfd))
}

/// Closes everything: the service is gone or no longer captured.
pub fn close(c: &mut Capture) {
    for fd in [c.rfd, c.wfd, c.file] {
        sys::close(fd);
    }
    *c = Capture::none();
}

/// Closes the log file; it is opened again at the next spawn or write.
pub fn close_file(c: &mut Capture) {
    sys::close(c.file);
    c.file = -1;
}

/// Calls `f` with the log file's directory (checked) and base name, the
/// base name with `.N` appended when `n` is given.
fn in_dir<R>(path: &[u8], f: impl FnOnce(&OwnedFd, &CStr) -> R) -> Result<R, Setup> {
    let mut buf = [0u8; 4352];
    let (dir, base) = safefile::split(path, &mut buf).ok_or(Setup::LogOpen(Errno::NAMETOOLONG))?;
    let dir = safefile::dir(dir)?;
    Ok(f(&dir, base))
}

/// `base.n` as a C string in `buf`.
fn numbered<'a>(base: &CStr, n: u32, buf: &'a mut Line) -> Option<&'a CStr> {
    buf.s(base.to_bytes()).s(b".").u(u64::from(n)).s(b"\0");
    CStr::from_bytes_until_nul(buf.bytes()).ok()
}

/// Opens the log file if it is not open: at the spawn, and after a
/// rotation or a file gone behind going's back. New files get mode 0640
/// and group `gid`.
pub fn open_file(c: &mut Capture, path: &[u8], gid: Option<u32>) -> Result<(), Setup> {
    if c.file >= 0 {
        return Ok(());
    }
    let (fd, _) = in_dir(path, |dir, base| safefile::append(dir, base, gid))??;
    c.size = fstat(&fd).map(|st| st.st_size as u64).unwrap_or(0);
    c.file = fd.into_raw_fd();
    Ok(())
}

/// `FILE.(k-1)` -> `FILE.k` down to `FILE` -> `FILE.1`, the oldest
/// overwritten, then a new `FILE`; with `keep` 0 the file is emptied
/// instead. When a rename fails the file stays as it is.
fn rotate(c: &mut Capture, path: &[u8], keep: u8) -> Result<(), Report> {
    if keep == 0 {
        return rustix::fs::ftruncate(sys::borrow(c.file), 0).map(|_| c.size = 0).map_err(Report::CannotRotate);
    }
    let moved = in_dir(path, |dir, base| {
        for k in (1..u32::from(keep)).rev() {
            let (mut a, mut b) = (Line::new(), Line::new());
            if let (Some(from), Some(to)) = (numbered(base, k, &mut a), numbered(base, k + 1, &mut b)) {
                match safefile::rename(dir, from, to) {
                    Ok(()) | Err(Errno::NOENT) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let mut one = Line::new();
        let to = numbered(base, 1, &mut one).ok_or(Errno::NAMETOOLONG)?;
        safefile::rename(dir, base, to)
    });
    match moved {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(Report::CannotRotate(e)),
        Err(why) => return Err(Report::CannotOpen(why)),
    }
    // The group of the new file: that of the one just rotated.
    let gid = fstat(sys::borrow(c.file)).ok().map(|st| st.st_gid);
    close_file(c);
    open_file(c, path, gid).map_err(Report::CannotOpen)
}

/// Where to cut `chunk` so that what is written first ends the file at a
/// line boundary near `limit`; `None` when it all fits.
pub fn cut(size: u64, limit: u64, chunk: &[u8]) -> Option<usize> {
    if size + chunk.len() as u64 <= limit {
        return None;
    }
    let room = usize::try_from(limit.saturating_sub(size)).unwrap_or(usize::MAX).min(chunk.len());
    let before = chunk.get(..room).and_then(|c| c.iter().rposition(|&b| b == b'\n'));
    let after = chunk.get(room..).and_then(|c| c.iter().position(|&b| b == b'\n')).map(|p| p + room);
    match (before, after) {
        (Some(i), _) => Some(i + 1),
        (None, Some(i)) if size + (i as u64) < limit + LOG_LINE_SLACK => Some(i + 1),
        // No newline near: cut the line rather than let the file grow
        // (at 0, rotate first).
        _ if size + chunk.len() as u64 > limit + LOG_LINE_SLACK => Some(room.min(chunk.len())),
        _ => None,
    }
}

/// Reads what the service wrote, up to `LOG_READ_PER_WAKE` bytes, into
/// its sink.
pub fn drain(c: &mut Capture, t: Target, mut report: impl FnMut(Report)) {
    if c.rfd < 0 {
        return;
    }
    let mut buf = [0u8; 4096];
    let mut budget = LOG_READ_PER_WAKE;
    let mut wrote = false;
    while budget > 0 {
        let n = match rustix::io::read(sys::borrow(c.rfd), &mut buf) {
            Ok(n) if n > 0 => n,
            Err(Errno::INTR) => continue,
            _ => break,
        };
        budget = budget.saturating_sub(n);
        let chunk = buf.get(..n).unwrap_or(&[]);
        match t.sink {
            Sink::File { size, keep, .. } => {
                wrote = true;
                to_file(c, &t, size, keep, chunk, &mut report);
            }
            _ => to_stdout(c, &t, chunk),
        }
    }
    if wrote {
        follow(c, t.path);
    }
}

/// Notices a log file renamed, removed or truncated behind going's back
/// (logrotate): the next write opens the path again, through `safefile`.
/// A stat of the path, no descriptor: it must work when they run out.
fn follow(c: &mut Capture, path: &[u8]) {
    if c.file < 0 {
        return;
    }
    let mut p = [0u8; MAX_FILE + 1];
    let ours = fstat(sys::borrow(c.file));
    let theirs = p
        .get_mut(..path.len())
        .map(|d| d.copy_from_slice(path))
        .and_then(|_| CStr::from_bytes_until_nul(&p).ok())
        .map(|p| rustix::fs::statat(rustix::fs::CWD, p, rustix::fs::AtFlags::SYMLINK_NOFOLLOW));
    match (ours, theirs) {
        (Ok(a), Some(Ok(b))) if a.st_dev == b.st_dev && a.st_ino == b.st_ino => c.size = a.st_size as u64,
        _ => close_file(c),
    }
}

fn to_file(c: &mut Capture, t: &Target, limit: u64, keep: u8, mut chunk: &[u8], report: &mut impl FnMut(Report)) {
    while !chunk.is_empty() {
        if c.file < 0
            && let Err(e) = open_file(c, t.path, None)
        {
            fail(c, chunk.len(), Report::CannotOpen(e), report);
            return;
        }
        // After a failed rotation, the file grows until the pause is over.
        let cut_at = if t.now < c.rotate_after { None } else { cut(c.size, limit, chunk) };
        let (head, rest) = match cut_at {
            Some(at) => chunk.split_at(at),
            None => (chunk, &[][..]),
        };
        let mut part = head;
        while !part.is_empty() {
            match rustix::io::write(sys::borrow(c.file), part) {
                Ok(n) if n > 0 => {
                    c.size += n as u64;
                    part = part.get(n..).unwrap_or(&[]);
                    if c.failing {
                        c.failing = false;
                        report(Report::Recovered(core::mem::take(&mut c.dropped)));
                    }
                }
                Err(Errno::INTR) => {}
                Err(e) => {
                    fail(c, part.len() + rest.len(), Report::CannotWrite(e), report);
                    return;
                }
                Ok(_) => {
                    fail(c, part.len() + rest.len(), Report::CannotWrite(Errno::NOSPC), report);
                    return;
                }
            }
        }
        let full = !rest.is_empty() || (c.size >= limit && head.ends_with(b"\n"));
        if full && t.now >= c.rotate_after {
            match rotate(c, t.path, keep) {
                Ok(()) => c.rotate_after = 0,
                Err(why) => {
                    // Said once per run of failures; a success ends it.
                    if c.rotate_after == 0 {
                        report(why);
                    }
                    c.rotate_after = t.now.saturating_add(LOG_ROTATE_RETRY_NS).max(1);
                }
            }
        }
        chunk = rest;
    }
}

fn fail(c: &mut Capture, lost: usize, why: Report, report: &mut impl FnMut(Report)) {
    c.dropped = c.dropped.saturating_add(lost as u64);
    if !c.failing {
        c.failing = true;
        report(why);
    }
}

/// Writes lines to stdout with the service's name in front of each.
fn to_stdout(c: &mut Capture, t: &Target, chunk: &[u8]) {
    let mut out = Line::new();
    for seg in chunk.split_inclusive(|&b| b == b'\n') {
        if c.line_start {
            if let Some(k) = t.color {
                out.s(b"\x1b[").u(u64::from(k)).s(b"m");
            }
            out.s(t.name).s(b" | ");
            if t.color.is_some() {
                out.s(b"\x1b[0m");
            }
        }
        c.line_start = seg.ends_with(b"\n");
        for piece in seg.chunks(256) {
            if out.bytes().len() + piece.len() > crate::limits::LINE {
                c.dropped += emit(t.stdout, &out);
                out = Line::new();
            }
            out.s(piece);
        }
    }
    c.dropped += emit(t.stdout, &out);
}

/// Writes to stdout what it takes now; returns the bytes dropped.
fn emit(stdout: Console, l: &Line) -> u64 {
    let b = l.bytes();
    (b.len() - stdout.write(b).min(b.len())) as u64
}

/// A colour for a name: one of the six ANSI foreground colours.
pub fn color_of(name: &[u8]) -> u8 {
    31 + (name.iter().fold(0u32, |h, &b| h.wrapping_mul(31).wrapping_add(u32::from(b))) % 6) as u8
}

/// The longest log path `in_dir` takes.
const _: () = assert!(MAX_FILE + 256 <= 4352);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_at_line_boundaries() {
        // Fits: no cut.
        assert_eq!(cut(0, 100, b"abc\n"), None);
        // The last newline before the limit.
        assert_eq!(cut(95, 100, b"ab\ncd\nefgh\n"), Some(3));
        assert_eq!(cut(90, 100, b"ab\ncd\nefgh\n"), Some(6));
        // None before the limit: the first one after it, within slack.
        assert_eq!(cut(99, 100, b"abcdef\nxyz"), Some(7));
        // Already past the limit: the first newline.
        assert_eq!(cut(150, 100, b"tail\nnext\n"), Some(5));
        // No newline and past the slack: cut anyway.
        let long = [b'x'; 4000];
        assert_eq!(cut(100 + LOG_LINE_SLACK - 10, 100, &long), Some(0));
        assert_eq!(cut(0, 100, &long), None);
        // No newline, but within the slack: keep writing.
        assert_eq!(cut(90, 100, &long[..200]), None);
    }

    #[test]
    fn colours_are_stable() {
        assert_eq!(color_of(b"web"), color_of(b"web"));
        for n in [&b""[..], b"a", b"worker", b"x-y"] {
            assert!((31..=36).contains(&color_of(n)));
        }
    }
}
