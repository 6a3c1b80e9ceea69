//! `log=FILE`: lines appended to a file, rotated at `log_size`.
//!
//! The file is opened at the spawn, through `safefile`, so a directory or
//! file the service could have tampered with makes the service fail
//! instead of going writing where it points; it is opened again (the
//! same way) after a rotation or when another program renamed or removed
//! it. A new file is mode 0640 with the service's group.
//!
//! Rotation happens before the line that would take the file past
//! `log_size` (a line longer than the size goes into a file of its own),
//! so lines are never split between files. A rotation that fails is not
//! tried again before a deadline; meanwhile the file grows.

use super::lines::Lines;
use super::{Buf, Report, Target};
use crate::fmt::Line;
use crate::limits::{LOG_ROTATE_RETRY_NS, MAX_FILE};
use crate::service::Setup;
use crate::table::{Capture, NO_GID, Sink};
use crate::{safefile, sys};
use core::ffi::CStr;
use rustix::fd::{IntoRawFd, OwnedFd};
use rustix::fs::fstat;
use rustix::io::Errno;

/// Closes the log file; it is opened again at the next spawn or write.
pub fn close_file(c: &mut Capture) {
    sys::close(c.file);
    c.file = -1;
    c.size = 0;
    c.mid_line = false;
}

/// The log file's directory (checked), and its base name in `buf`.
#[inline(never)]
fn open_dir<'b>(path: &[u8], buf: &'b mut [u8; 4352]) -> Result<(OwnedFd, &'b CStr), Setup> {
    let (dir, base) = safefile::split(path, buf).ok_or(Setup::LogOpen(Errno::NAMETOOLONG))?;
    Ok((safefile::dir(dir)?, base))
}

/// The longest log path `open_dir` takes.
const _: () = assert!(MAX_FILE + 256 <= 4352);

/// `base.n` as a C string in `buf`.
fn numbered<'a>(base: &CStr, n: u32, buf: &'a mut Line) -> Option<&'a CStr> {
    buf.s(base.to_bytes()).s(b".").u(u64::from(n)).s(b"\0");
    CStr::from_bytes_until_nul(buf.bytes()).ok()
}

/// Opens the log file at the spawn, if it is not open; `gid` is the
/// group a new file gets, then and whenever going makes the file again.
pub fn open_file(c: &mut Capture, path: &[u8], gid: Option<u32>) -> Result<(), Setup> {
    c.gid = gid.unwrap_or(NO_GID);
    reopen(c, path, gid)
}

/// Opens the log file if it is not open; a new one gets group `gid`.
fn reopen(c: &mut Capture, path: &[u8], gid: Option<u32>) -> Result<(), Setup> {
    if c.file >= 0 {
        return Ok(());
    }
    let mut buf = [0u8; 4352];
    let (dir, base) = open_dir(path, &mut buf)?;
    let (fd, _) = safefile::append(&dir, base, gid)?;
    c.size = fstat(&fd).map(|st| st.st_size as u64).unwrap_or(0);
    c.file = fd.into_raw_fd();
    Ok(())
}

fn service_gid(c: &Capture) -> Option<u32> {
    Some(c.gid).filter(|&g| g != NO_GID)
}

/// `FILE.(k-1)` -> `FILE.k` down to `FILE` -> `FILE.1`, the oldest
/// overwritten, then a new `FILE`; with `keep` 0 the file is emptied
/// instead. When a rename fails the file stays as it is. (A frame of its
/// own: its buffers are not carried by every drain.)
#[inline(never)]
fn rotate(c: &mut Capture, path: &[u8], keep: u8) -> Result<(), Report> {
    if keep == 0 {
        return rustix::fs::ftruncate(sys::borrow(c.file), 0).map(|_| c.size = 0).map_err(Report::CannotRotate);
    }
    let mut buf = [0u8; 4352];
    let moved = open_dir(path, &mut buf).map(|(dir, base)| {
        for k in (1..u32::from(keep)).rev() {
            let (mut a, mut b) = (Line::new(), Line::new());
            if let (Some(from), Some(to)) = (numbered(base, k, &mut a), numbered(base, k + 1, &mut b)) {
                match safefile::rename(&dir, from, to) {
                    Ok(()) | Err(Errno::NOENT) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let mut one = Line::new();
        let to = numbered(base, 1, &mut one).ok_or(Errno::NAMETOOLONG)?;
        safefile::rename(&dir, base, to)
    });
    match moved {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(Report::CannotRotate(e)),
        Err(why) => return Err(Report::CannotOpen(why)),
    }
    // The group of the new file: that of the one just rotated (which an
    // administrator may have changed), else the service's.
    let gid = fstat(sys::borrow(c.file)).ok().map(|st| st.st_gid).or(service_gid(c));
    close_file(c);
    reopen(c, path, gid).map_err(Report::CannotOpen)
}

/// Notices a log file renamed, removed or truncated behind going's back
/// (logrotate): the next write opens the path again, through `safefile`.
/// A stat of the path, no descriptor: it must work when they run out.
/// `scratch` (the drain's buffer, done with) holds the path as a C string.
pub fn follow(c: &mut Capture, path: &[u8], scratch: &mut [u8]) {
    if c.file < 0 {
        return;
    }
    let ours = fstat(sys::borrow(c.file));
    let theirs = safefile::c_string(scratch, &[path])
        .map(|p| rustix::fs::statat(rustix::fs::CWD, p, rustix::fs::AtFlags::SYMLINK_NOFOLLOW));
    match (ours, theirs) {
        (Ok(a), Some(Ok(b))) if a.st_dev == b.st_dev && a.st_ino == b.st_ino => {
            c.size = a.st_size as u64;
            // Emptied (`copytruncate`): no line is left open in it.
            c.mid_line &= c.size > 0;
        }
        _ => close_file(c),
    }
}

/// Writes the lines read into `buf` to the file, each after `stamp`,
/// and takes them all: an unfinished line is written as far as it goes
/// and what follows of it is appended later without a stamp, so reads
/// and writes keep the pipe's page-sized steps.
pub fn write(c: &mut Capture, t: &Target, stamp: &[u8], buf: &mut Buf, report: &mut impl FnMut(Report)) -> usize {
    let Sink::File { size: limit, keep, .. } = t.sink else { return buf.len };
    // Line by line where something goes before each line or where the
    // file may reach its size; otherwise whole runs of lines at once.
    let room = limit.saturating_sub(c.size);
    let per_line = !stamp.is_empty() || buf.len as u64 + 2 >= room;
    let mut lines = Lines::new(c.line_len, per_line, false);
    let mut broken = false;
    while let Some(p) = lines.next(buf.data()) {
        let head = if p.head { stamp } else { b"" };
        let more = (head.len() + (p.end - p.start) + usize::from(p.cut)) as u64;
        let size = c.size + buf.out().len() as u64;
        if p.head && size > 0 && size + more > limit && t.now >= c.until {
            flush(c, t, buf, &mut broken, report);
            if !broken {
                rotate_for(c, t, keep, limit, more, report);
            }
        }
        while !buf.add(head, p.start, p.end, p.cut) {
            flush(c, t, buf, &mut broken, report);
        }
    }
    flush(c, t, buf, &mut broken, report);
    c.line_len = lines.line_len();
    lines.used()
}

/// Rotates before a line of `more` bytes if the file, open again if
/// need be, has no room for it.
fn rotate_for(c: &mut Capture, t: &Target, keep: u8, limit: u64, more: u64, report: &mut impl FnMut(Report)) {
    if reopen(c, t.path, service_gid(c)).is_err() || c.size == 0 || c.size + more <= limit {
        // A file that cannot be opened is reported by the write.
        return;
    }
    match rotate(c, t.path, keep) {
        Ok(()) => c.until = 0,
        Err(why) => {
            // Said once per run of failures; a success ends it.
            if c.until == 0 {
                report(why);
            }
            c.until = t.now.saturating_add(LOG_ROTATE_RETRY_NS).max(1);
        }
    }
}

/// Writes what `buf` gathered. Once writing failed for this read
/// (`broken`), the rest of it is dropped and counted without a try.
fn flush(c: &mut Capture, t: &Target, buf: &mut Buf, broken: &mut bool, report: &mut impl FnMut(Report)) {
    let out = buf.out();
    if out.is_empty() {
        return;
    }
    let failed = if *broken {
        Some((out.len(), None))
    } else {
        match reopen(c, t.path, service_gid(c)) {
            Err(e) => Some((out.len(), Some(Report::CannotOpen(e)))),
            Ok(()) => {
                // After a loss, a line left open in the file is ended
                // first: what follows is not glued to it.
                let ended = if c.failing && c.mid_line { append(c, b"\n").map(|(_, e)| (out.len(), e)) } else { None };
                ended.or_else(|| append(c, out)).map(|(n, e)| (n, Some(Report::CannotWrite(e))))
            }
        }
    };
    buf.clear();
    match failed {
        Some((n, why)) => {
            *broken = true;
            c.dropped = c.dropped.saturating_add(n as u64);
            if let Some(why) = why.filter(|_| !c.failing) {
                c.failing = true;
                report(why);
            }
        }
        None if c.failing => {
            c.failing = false;
            report(Report::Recovered(core::mem::take(&mut c.dropped)));
        }
        None => {}
    }
}

/// Writes all of `out` to the open file; on failure, how much of it was
/// not written and why.
fn append(c: &mut Capture, out: &[u8]) -> Option<(usize, Errno)> {
    let mut rest = out;
    while !rest.is_empty() {
        match rustix::io::write(sys::borrow(c.file), rest) {
            Ok(n) if n > 0 => {
                c.size += n as u64;
                c.mid_line = rest.get(n - 1) != Some(&b'\n');
                rest = rest.get(n..).unwrap_or(&[]);
            }
            Err(Errno::INTR) => {}
            Ok(_) => return Some((rest.len(), Errno::NOSPC)),
            Err(e) => return Some((rest.len(), e)),
        }
    }
    None
}
