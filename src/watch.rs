//! The config directory watched with inotify, so changes apply without
//! SIGHUP. A file is read when it is closed after writing or renamed into
//! place, never on a partial write; a name that leaves (deleted, renamed
//! away) is read too and found gone. When the directory itself goes away
//! its parent is watched for its return. Event parsing is pure.

use core::ffi::CStr;
use rustix::fd::OwnedFd;
use rustix::fs::inotify::{self, CreateFlags, WatchFlags};
use rustix::io::Errno;

/// inotify event bits (inotify(7)).
const CLOSE_WRITE: u32 = 0x8;
const MOVED_FROM: u32 = 0x40;
const MOVED_TO: u32 = 0x80;
const CREATE: u32 = 0x100;
const DELETE: u32 = 0x200;
const DELETE_SELF: u32 = 0x400;
const MOVE_SELF: u32 = 0x800;
const Q_OVERFLOW: u32 = 0x4000;
const IGNORED: u32 = 0x8000;

/// What happened to a name in the directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum What {
    /// Created, and nothing more yet: for a new regular file, "not
    /// written yet".
    Created,
    /// Written and closed, or renamed into place: read it.
    Written,
    /// Deleted or renamed away. It may be back already, in which case the
    /// event that brought it back is still to come.
    Gone,
}

/// What the supervisor must look at again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change<'a> {
    Entry {
        name: &'a [u8],
        what: What,
    },
    /// Everything: events were lost, or the directory came, went or was
    /// replaced.
    Everything,
}

/// One raw event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Raw<'a> {
    pub wd: i32,
    pub mask: u32,
    pub name: &'a [u8],
}

/// Splits a buffer read from an inotify descriptor into events.
pub fn events(buf: &[u8]) -> impl Iterator<Item = Raw<'_>> {
    let mut rest = buf;
    core::iter::from_fn(move || {
        let (head, tail) = rest.split_first_chunk::<16>()?;
        let word = |i: usize| u32::from_ne_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
        let len = word(12) as usize;
        let name = tail.get(..len)?;
        rest = tail.get(len..)?;
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        Some(Raw { wd: word(0) as i32, mask: word(4), name: name.get(..end).unwrap_or(&[]) })
    })
}

/// What an event on the directory says of its name.
fn what(mask: u32) -> What {
    if mask & (CLOSE_WRITE | MOVED_TO) != 0 {
        What::Written
    } else if mask & (MOVED_FROM | DELETE) != 0 {
        What::Gone
    } else {
        What::Created
    }
}

pub struct Watch {
    fd: OwnedFd,
    dir: i32,
    /// Device and inode of the directory watched as `dir`.
    watched: (u64, u64),
    /// The parent, watched for the directory's name while the directory
    /// is missing or is a symbolic link (which `ln -sfn` may repoint).
    parent: i32,
}

/// Splits `dir` into its parent path and base name; `None` for `/`.
fn parent_and_base(dir: &[u8]) -> Option<(&[u8], &[u8])> {
    let dir = dir.strip_suffix(b"/").unwrap_or(dir);
    let (parent, base) = match dir.iter().rposition(|&b| b == b'/') {
        Some(0) => (&b"/"[..], dir.get(1..)?),
        Some(i) => (dir.get(..i)?, dir.get(i + 1..)?),
        None => (&b"."[..], dir),
    };
    Some((parent, base)).filter(|_| !base.is_empty())
}

/// Splits `dir` into a NUL-terminated parent path in `buf` and the base
/// name; `None` for `/` or a path too long.
fn split_parent<'a>(dir: &'a [u8], buf: &'a mut [u8; 4096]) -> Option<(&'a CStr, &'a [u8])> {
    let (parent, base) = parent_and_base(dir)?;
    Some((crate::safefile::c_string(buf, &[parent])?, base))
}

impl Watch {
    pub fn new() -> Result<Self, Errno> {
        let fd = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK)?;
        Ok(Watch { fd, dir: -1, watched: (0, 0), parent: -1 })
    }

    pub fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    /// Stops watching. The kernel frees watches in the background but
    /// makes the last close of the descriptor wait for it (about 13 ms
    /// here): removing them when going starts to stop means its exit
    /// does not wait.
    pub fn disarm(&mut self) {
        for wd in [self.dir, self.parent] {
            if wd >= 0 {
                let _ = inotify::remove_watch(&self.fd, wd);
            }
        }
        (self.dir, self.parent) = (-1, -1);
    }

    /// Watches `dir` if it is not watched yet, or watches it anew when
    /// its path now leads to another directory; while it is missing or a
    /// symbolic link, watches its parent for its name.
    pub fn arm(&mut self, dir: &CStr) {
        use rustix::fs::{AtFlags, FileType, statat};
        let target = statat(rustix::fs::CWD, dir, AtFlags::empty()).ok().map(|st| (st.st_dev, st.st_ino));
        let link = statat(rustix::fs::CWD, dir, AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Symlink);
        if self.dir >= 0 && target != Some(self.watched) {
            let _ = inotify::remove_watch(&self.fd, self.dir);
            self.dir = -1;
        }
        if self.dir < 0 {
            let flags = WatchFlags::CLOSE_WRITE
                | WatchFlags::MOVED_TO
                | WatchFlags::MOVED_FROM
                | WatchFlags::CREATE
                | WatchFlags::DELETE
                | WatchFlags::DELETE_SELF
                | WatchFlags::MOVE_SELF
                | WatchFlags::ONLYDIR
                | WatchFlags::EXCL_UNLINK;
            if let (Ok(wd), Some(t)) = (inotify::add_watch(&self.fd, dir, flags), target) {
                self.dir = wd;
                self.watched = t;
            }
        }
        let want_parent = self.dir < 0 || link;
        if want_parent && self.parent < 0 {
            let mut buf = [0u8; 4096];
            if let Some((parent, _)) = split_parent(dir.to_bytes(), &mut buf) {
                let flags = WatchFlags::CREATE
                    | WatchFlags::MOVED_TO
                    | WatchFlags::DELETE
                    | WatchFlags::MOVED_FROM
                    | WatchFlags::ONLYDIR;
                self.parent = inotify::add_watch(&self.fd, parent, flags).unwrap_or(-1);
            }
        } else if !want_parent && self.parent >= 0 {
            let _ = inotify::remove_watch(&self.fd, self.parent);
            self.parent = -1;
        }
    }

    /// Reads what is queued and calls `f` for each change.
    pub fn drain(&mut self, dir: &CStr, mut f: impl FnMut(Change<'_>)) {
        let mut buf = [0u8; 4096];
        // (A parent too long for `split_parent` is not watched: its base
        // name is never compared.)
        let base = parent_and_base(dir.to_bytes()).map_or(&b""[..], |(_, b)| b);
        // Room for the longest event (a header and a 255-byte name) left
        // after a read: the queue was empty. What came in since wakes the
        // loop again, so no read is made only to see EAGAIN.
        const LONGEST: usize = 16 + 256;
        let mut more = true;
        while more && let Ok(n) = rustix::io::read(&self.fd, &mut buf) {
            if n == 0 {
                break;
            }
            more = n + LONGEST > buf.len();
            for ev in events(buf.get(..n).unwrap_or(&[])) {
                if ev.mask & Q_OVERFLOW != 0 {
                    f(Change::Everything);
                } else if ev.wd == self.dir && ev.mask & (DELETE_SELF | MOVE_SELF | IGNORED) != 0 {
                    self.dir = -1;
                    f(Change::Everything);
                } else if ev.wd == self.dir && ev.mask & (CLOSE_WRITE | MOVED_TO | MOVED_FROM | CREATE | DELETE) != 0 {
                    f(Change::Entry { name: ev.name, what: what(ev.mask) });
                } else if ev.wd == self.parent && ev.wd >= 0 && ev.name == base {
                    f(Change::Everything);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(wd: i32, mask: u32, name: &[u8], pad: usize) -> Vec<u8> {
        let mut v = Vec::new();
        let len = if name.is_empty() { 0 } else { name.len() + 1 + pad };
        for w in [wd as u32, mask, 0, len as u32] {
            v.extend_from_slice(&w.to_ne_bytes());
        }
        if len > 0 {
            v.extend_from_slice(name);
            v.resize(v.len() + 1 + pad, 0);
        }
        v
    }

    #[test]
    fn parses_events_with_padding() {
        let mut buf = raw(1, CLOSE_WRITE, b"web", 12);
        buf.extend(raw(1, DELETE_SELF, b"", 0));
        buf.extend(raw(-1, Q_OVERFLOW, b"", 0));
        let evs: Vec<_> = events(&buf).collect();
        assert_eq!(evs.len(), 3);
        assert_eq!(evs[0], Raw { wd: 1, mask: CLOSE_WRITE, name: b"web" });
        assert_eq!(evs[1], Raw { wd: 1, mask: DELETE_SELF, name: b"" });
        assert_eq!(evs[2].wd, -1);
    }

    #[test]
    fn truncated_buffers_end_quietly() {
        let buf = raw(1, CLOSE_WRITE, b"web", 0);
        for cut in 0..buf.len() {
            assert!(events(&buf[..cut]).count() == 0);
        }
        let garbage = [0xffu8; 64];
        assert!(events(&garbage).count() == 0);
    }

    #[test]
    fn event_kinds() {
        assert_eq!(what(CLOSE_WRITE), What::Written);
        assert_eq!(what(MOVED_TO), What::Written);
        assert_eq!(what(CREATE), What::Created);
        assert_eq!(what(DELETE), What::Gone);
        assert_eq!(what(MOVED_FROM), What::Gone);
    }

    #[test]
    fn parents() {
        let mut b = [0u8; 4096];
        let (p, n) = split_parent(b"/etc/going.d", &mut b).unwrap();
        assert_eq!((p.to_bytes(), n), (&b"/etc"[..], &b"going.d"[..]));
        let mut b = [0u8; 4096];
        let (p, n) = split_parent(b"/etc/going.d/", &mut b).unwrap();
        assert_eq!((p.to_bytes(), n), (&b"/etc"[..], &b"going.d"[..]));
        let mut b = [0u8; 4096];
        let (p, n) = split_parent(b"/srv", &mut b).unwrap();
        assert_eq!((p.to_bytes(), n), (&b"/"[..], &b"srv"[..]));
        let mut b = [0u8; 4096];
        let (p, n) = split_parent(b"conf", &mut b).unwrap();
        assert_eq!((p.to_bytes(), n), (&b"."[..], &b"conf"[..]));
        let mut b = [0u8; 4096];
        assert!(split_parent(b"/", &mut b).is_none());
    }
}
