//! Reading the config directory without blocking: every entry whose name
//! is not ignored is handed over with its bytes or the reason it has none.
//! A FIFO, a device or a slow file can never hang going: only an entry
//! the directory lists as a regular file, or that `stat` shows is one, is
//! opened, `O_NONBLOCK`, and `fstat` checks what was opened.

use crate::ids::{self, IdError};
use crate::limits::MAX_FILE;
use crate::table::{News, Outcome, Staged, Table, ignored_name, valid_name};
use crate::{config, fmt::Line, sys};
use core::ffi::CStr;
use core::mem::MaybeUninit;
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, RawDir, fstat, openat, statat};
use rustix::io::Errno;

/// Why an entry has no bytes to parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    NotRegular,
    TooBig,
    Unreadable(Errno),
}

impl Problem {
    pub fn describe(self, l: &mut Line) {
        match self {
            Problem::NotRegular => l.s(b": not a regular file"),
            Problem::TooBig => l.s(b": larger than 4096 bytes"),
            Problem::Unreadable(e) => l.s(b": cannot read: ").s(sys::strerror(e)),
        };
    }
}

/// An entry's bytes into `table`: its canonical config, or the reason it
/// has none (invalid, unreadable), which is also written into `text`.
pub fn take(table: &mut Table, name: &[u8], read: Contents<'_>, text: &mut Line) -> Outcome {
    let mut canon = [0u8; MAX_FILE + 1];
    let loaded = match read {
        Ok(bytes) => load(bytes, &mut canon, text),
        Err(p) => {
            p.describe(text);
            None
        }
    };
    match loaded {
        Some(n) => table.update(name, Ok(canon.get(..n).unwrap_or(&[]))),
        None => table.update(name, Err(text.bytes())),
    }
}

/// What reads a directory into a table the way going's first read does
/// (`first_read`): the supervisor, and `going check`, which must come to
/// the same table.
pub trait Reader {
    fn table(&mut self) -> &mut Table;
    /// Entry `name` was read, or could not be.
    fn found(&mut self, name: &[u8], read: Contents<'_>);
    /// Every name is listed.
    fn listed(&mut self) {}
    /// Entry `i` was read, in name order; `false` when it is gone from
    /// the table (the next entry is at `i` then).
    fn next(&mut self, _i: usize) -> bool {
        true
    }
}

/// Reads `dir` into the reader's table: every name first, so that the
/// table knows which get in and in what order whatever order the
/// directory lists them in (tmpfs: newest first), then each file in name
/// order, which is the order the shared store fills in. An entry that is
/// not listed as a regular file is read at once, with a `stat` first.
pub fn first_read(dir: &OwnedFd, buf: &mut [u8; MAX_FILE + 1], r: &mut dyn Reader) -> Result<(), Errno> {
    // An entry put in its place in the table moves every entry after it:
    // the names wait in `staged` and go in at the end.
    let mut staged = Staged::new();
    let listed = names(dir, &mut |name, regular| {
        let bytes = name.to_bytes();
        let plain = regular && valid_name(bytes);
        if plain && r.table().stage(&mut staged, bytes) {
            return;
        }
        // What follows may release arena bytes the staged names are in.
        r.table().flush(&mut staged);
        if plain {
            let _ = r.table().entry(bytes);
        } else {
            let read = read_entry(dir, name, false, buf);
            r.found(bytes, read.map(|n| buf.get(..n).unwrap_or(&[])));
        }
    });
    // Even after an error: what was listed is in the table, as it would
    // have been had each name gone in at once.
    r.table().flush(&mut staged);
    listed?;
    r.listed();
    let mut i = 0;
    while let Some(e) = r.table().entries.get(i) {
        // Not read yet: listed as a regular file, told nothing so far.
        let unread = e.news == News::None && e.next.is_empty() && e.err.is_empty();
        let mut c = [0u8; 256];
        let Some(name) = crate::safefile::c_string(&mut c, &[r.table().name(i)]) else { break };
        if unread {
            let read = read_entry(dir, name, true, buf);
            r.found(name.to_bytes(), read.map(|n| buf.get(..n).unwrap_or(&[])));
        }
        if r.next(i) {
            i += 1;
        }
    }
    Ok(())
}

/// A file's bytes -> its canonical config in `canon` (returning its
/// length), checked as far as the system goes: its user and group exist.
/// On a problem, `err` gets `:LINE: message`.
pub fn load(bytes: &[u8], canon: &mut [u8], err: &mut Line) -> Option<usize> {
    let n = match config::canonical(bytes, canon) {
        Ok(n) => n,
        Err(e) => {
            e.describe(err);
            return None;
        }
    };
    let c = config::parse(bytes).ok()?;
    if let config::Log::File(path) = c.log {
        let dir = path.get(..path.iter().rposition(|&b| b == b'/').unwrap_or(0)).unwrap_or(&[]);
        let dir = if dir.is_empty() { &b"/"[..] } else { dir };
        let mut buf = [0u8; crate::limits::MAX_LOG_PATH + 1];
        let is_dir = crate::safefile::c_string(&mut buf, &[dir])
            .and_then(|p| statat(rustix::fs::CWD, p, AtFlags::empty()).ok())
            .is_some_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Directory);
        if !is_dir {
            err.s(b":").u(c.log_line as u64).s(b": log directory ").masked(dir).s(b" does not exist");
            return None;
        }
    }
    if c.user.is_none() && c.group.is_none() {
        return Some(n);
    }
    if let Err((what, e)) = ids::resolve(c.user, c.group) {
        let group = what == IdError::UnknownGroup;
        let (line, value) = if group { (c.group_line, c.group) } else { (c.user_line, c.user) };
        err.s(b":").u(line as u64).s(b": ").s(what.text()).quoted(value.unwrap_or(b""));
        if e != Errno::NOENT && e != Errno::NOSPC {
            err.s(b" (").s(if group { b"/etc/group: " } else { b"/etc/passwd: " }).s(sys::strerror(e)).s(b")");
        }
        return None;
    }
    Some(n)
}

/// Opens the config directory.
pub fn open_dir(dir: &CStr) -> Result<OwnedFd, Errno> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NONBLOCK;
    openat(rustix::fs::CWD, dir, flags, Mode::empty())
}

/// An entry's bytes, or why it has none.
pub type Contents<'a> = Result<&'a [u8], Problem>;

/// Calls `found` for every entry of `dir` but `.`, `..` and ignored names.
pub fn each(dir: &OwnedFd, mut found: impl FnMut(&[u8], Contents<'_>)) -> Result<(), Errno> {
    each_to(dir, &mut found)
}

/// `each`, one copy for every caller.
#[inline(never)]
fn each_to(dir: &OwnedFd, found: &mut dyn FnMut(&[u8], Contents<'_>)) -> Result<(), Errno> {
    let mut file = [0u8; MAX_FILE + 1];
    names(dir, &mut |name, regular| {
        let read = read_entry(dir, name, regular, &mut file);
        found(name.to_bytes(), read.map(|n| file.get(..n).unwrap_or(&[])));
    })
}

/// Calls `found` with the name of every entry of `dir` but `.`, `..` and
/// ignored names, and whether the directory lists it as a regular file:
/// then no `stat` is needed before opening it (`fstat` checks the file
/// opened).
pub fn names(dir: &OwnedFd, found: &mut dyn FnMut(&CStr, bool)) -> Result<(), Errno> {
    let mut dents = [MaybeUninit::<u8>::uninit(); 4096];
    let mut it = RawDir::new(dir.as_fd(), &mut dents);
    while let Some(entry) = it.next() {
        let entry = entry?;
        let name = entry.file_name();
        let bytes = name.to_bytes();
        if bytes == b"." || bytes == b".." || ignored_name(bytes) {
            continue;
        }
        found(name, entry.file_type() == FileType::RegularFile);
    }
    Ok(())
}

/// Reads a file by path (the Procfile) into `buf`.
pub fn read_path(path: &CStr, buf: &mut [u8; MAX_FILE + 1]) -> Result<usize, Problem> {
    read(&open_dir(c".").map_err(Problem::Unreadable)?, path, buf)
}

/// Reads one entry into `buf`, returning its length.
pub fn read(dir: &OwnedFd, name: &CStr, buf: &mut [u8; MAX_FILE + 1]) -> Result<usize, Problem> {
    read_entry(dir, name, false, buf)
}

/// `read`, told whether the directory listed the entry as a regular file;
/// anything else (a link, a FIFO, a device, a type the file system does
/// not say) is `stat`ed first, so only a regular file is ever opened.
pub fn read_entry(dir: &OwnedFd, name: &CStr, regular: bool, buf: &mut [u8; MAX_FILE + 1]) -> Result<usize, Problem> {
    if !regular {
        let st = statat(dir, name, AtFlags::empty()).map_err(Problem::Unreadable)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(Problem::NotRegular);
        }
    }
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOCTTY;
    let fd = openat(dir, name, flags, Mode::empty()).map_err(Problem::Unreadable)?;
    let st = fstat(&fd).map_err(Problem::Unreadable)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(Problem::NotRegular);
    }
    let mut n = 0;
    while let Some(rest) = buf.get_mut(n..).filter(|r| !r.is_empty()) {
        let room = rest.len();
        match rustix::io::read(&fd, rest) {
            Ok(0) => break,
            // All that `fstat` saw: a read that came back short was at
            // the end, and another read would only say so. (A file system
            // that says 0 for every size is read to the end.)
            Ok(k) if k < room && st.st_size > 0 && (n + k) as u64 >= st.st_size as u64 => {
                n += k;
                break;
            }
            Ok(k) => n += k,
            Err(Errno::INTR) => {}
            Err(e) => return Err(Problem::Unreadable(e)),
        }
    }
    if n > MAX_FILE {
        return Err(Problem::TooBig);
    }
    Ok(n)
}
