//! Service output through a pipe whose read end going holds: `log=FILE`
//! appends it to a file, rotated at `log_size` on a line boundary where
//! one is near; `log=prefix` writes each line to going's stdout as
//! `NAME | line`. The pipe outlives each run of the service, so output
//! written just before a crash is still read. One stack buffer, never
//! blocking: what cannot be written is counted, reported once when the
//! fault starts and once when it ends.

use crate::fmt::Line;
use crate::limits::{LOG_LINE_SLACK, LOG_READ_PER_WAKE, MAX_FILE};
use crate::sys;
use crate::table::Capture;
use core::ffi::CStr;
use rustix::event::{PollFd, PollFlags, poll};
use rustix::fd::IntoRawFd;
use rustix::fs::{Mode, OFlags, fcntl_getfl, fcntl_setfl, fstat, open, stat};
use rustix::io::Errno;
use rustix::pipe::{PipeFlags, pipe_with};

/// Where captured output goes.
#[derive(Clone, Copy)]
pub enum Sink<'a> {
    File { path: &'a [u8], limit: u64, keep: u32 },
    Prefix { name: &'a [u8], color: Option<u8> },
}

/// Something to tell the supervisor's log about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Report {
    CannotOpen(Errno),
    CannotWrite(Errno),
    /// Writing works again after `dropped` bytes were lost.
    Recovered(u64),
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

/// Closes the log file; it is opened again at the next write.
pub fn close_file(c: &mut Capture) {
    sys::close(c.file);
    c.file = -1;
}

/// Calls `f` with `path` (plus `.N` when `n` is given) as a C string.
fn with_path<R>(path: &[u8], n: Option<u32>, f: impl FnOnce(&CStr) -> R) -> Option<R> {
    let mut l = [0u8; MAX_FILE + 16];
    let mut at = 0;
    let mut put = |b: &[u8]| {
        for &c in b {
            *l.get_mut(at)? = c;
            at += 1;
        }
        Some(())
    };
    put(path)?;
    if let Some(n) = n {
        let mut num = Line::new();
        num.s(b".").u(u64::from(n));
        put(num.bytes())?;
    }
    put(b"\0")?;
    Some(f(CStr::from_bytes_until_nul(&l).ok()?))
}

fn open_file(c: &mut Capture, path: &[u8], truncate: bool) -> Result<(), Errno> {
    let mut flags = OFlags::WRONLY | OFlags::APPEND | OFlags::CREATE | OFlags::CLOEXEC | OFlags::NOCTTY;
    if truncate {
        flags |= OFlags::TRUNC;
    }
    let fd = with_path(path, None, |p| open(p, flags, Mode::from_bits_truncate(0o640))).ok_or(Errno::NAMETOOLONG)??;
    c.size = fstat(&fd).map(|st| st.st_size as u64).unwrap_or(0);
    c.file = fd.into_raw_fd();
    Ok(())
}

/// `FILE.(k-1)` -> `FILE.k` down to `FILE` -> `FILE.1`, the oldest
/// overwritten; with `keep` 0 the file is truncated instead.
fn rotate(c: &mut Capture, path: &[u8], keep: u32) -> Result<(), Errno> {
    close_file(c);
    if keep > 0 {
        for k in (1..keep).rev() {
            let _ = with_path(path, Some(k), |from| with_path(path, Some(k + 1), |to| rustix::fs::rename(from, to)));
        }
        let _ = with_path(path, None, |from| with_path(path, Some(1), |to| rustix::fs::rename(from, to)));
    }
    open_file(c, path, keep == 0)
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
pub fn drain(c: &mut Capture, sink: Sink, mut report: impl FnMut(Report)) {
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
        match sink {
            Sink::File { path, limit, keep } => {
                wrote = true;
                to_file(c, path, limit, keep, chunk, &mut report);
            }
            Sink::Prefix { name, color } => to_stdout(c, name, color, chunk),
        }
    }
    if let (true, Sink::File { path, .. }) = (wrote, sink) {
        follow(c, path);
    }
}

/// Notices a log file renamed, removed or truncated behind going's back
/// (logrotate): the next write opens the path again.
fn follow(c: &mut Capture, path: &[u8]) {
    if c.file < 0 {
        return;
    }
    let ours = fstat(sys::borrow(c.file));
    let theirs = with_path(path, None, |p| stat(p));
    match (ours, theirs) {
        (Ok(a), Some(Ok(b))) if a.st_dev == b.st_dev && a.st_ino == b.st_ino => c.size = a.st_size as u64,
        _ => close_file(c),
    }
}

fn to_file(c: &mut Capture, path: &[u8], limit: u64, keep: u32, mut chunk: &[u8], report: &mut impl FnMut(Report)) {
    while !chunk.is_empty() {
        if c.file < 0
            && let Err(e) = open_file(c, path, false)
        {
            fail(c, chunk.len(), Report::CannotOpen(e), report);
            return;
        }
        let (head, rest) = match cut(c.size, limit, chunk) {
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
        if (!rest.is_empty() || (c.size >= limit && head.ends_with(b"\n")))
            && let Err(e) = rotate(c, path, keep)
        {
            fail(c, rest.len(), Report::CannotOpen(e), report);
            return;
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
fn to_stdout(c: &mut Capture, name: &[u8], color: Option<u8>, chunk: &[u8]) {
    let mut out = Line::new();
    for seg in chunk.split_inclusive(|&b| b == b'\n') {
        if c.line_start {
            if let Some(k) = color {
                out.s(b"\x1b[").u(u64::from(k)).s(b"m");
            }
            out.s(name).s(b" | ");
            if color.is_some() {
                out.s(b"\x1b[0m");
            }
        }
        c.line_start = seg.ends_with(b"\n");
        for piece in seg.chunks(256) {
            if out.bytes().len() + piece.len() > crate::limits::LINE {
                c.dropped += emit(&out);
                out = Line::new();
            }
            out.s(piece);
        }
    }
    c.dropped += emit(&out);
}

/// Writes to stdout if it can take it now; returns the bytes dropped.
fn emit(l: &Line) -> u64 {
    let b = l.bytes();
    if b.is_empty() {
        return 0;
    }
    let fd = sys::borrow(1);
    let mut p = [PollFd::new(&fd, PollFlags::OUT)];
    let ready = matches!(poll(&mut p, Some(&rustix::time::Timespec { tv_sec: 0, tv_nsec: 0 })), Ok(1));
    match rustix::io::write(fd, b) {
        Ok(n) if ready => (b.len() - n) as u64,
        _ => b.len() as u64,
    }
}

/// A colour for a name: one of the six ANSI foreground colours.
pub fn color_of(name: &[u8]) -> u8 {
    31 + (name.iter().fold(0u32, |h, &b| h.wrapping_mul(31).wrapping_add(u32::from(b))) % 6) as u8
}

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
