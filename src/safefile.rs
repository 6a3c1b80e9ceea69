//! The one way going opens, creates or renames a file on a service's
//! behalf (its log file) and its own state files (`SOCKET.pids`): never
//! through a symbolic link in the last component, only in a directory
//! that no one but root and going's own user can write, so a service
//! cannot point going, running as root, at another file (SPEC §12, §14).
//! Everything works relative to a checked directory descriptor; names
//! are single components.

use crate::service::Setup;
use core::ffi::CStr;
use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, fchmod, fchown, fstat, openat, renameat};
use rustix::io::Errno;

/// Opens a directory for files going writes, after checking who may
/// write it: it must be owned by root or going's user and not writable by
/// group or others. So must every directory on the way to it, one name at
/// a time, or else be sticky (`/tmp`) with the name in it owned by root or
/// going's user: no one else can swap a directory on the path for a
/// link. A link on the path is followed, as only root or going's user
/// can have put it there.
pub fn dir(path: &CStr) -> Result<OwnedFd, Setup> {
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let bytes = path.to_bytes();
    let start = if bytes.first() == Some(&b'/') { c"/" } else { c"." };
    let mut fd = openat(rustix::fs::CWD, start, flags, Mode::empty()).map_err(Setup::LogOpen)?;
    let me = rustix::process::geteuid().as_raw();
    let ours = |uid: u32| uid == 0 || uid == me;
    let mut name = [0u8; 256];
    for part in bytes.split(|&b| b == b'/').filter(|p| !p.is_empty() && *p != b".") {
        let st = fstat(&fd).map_err(Setup::LogOpen)?;
        let part = c_string(&mut name, &[part]).ok_or(Setup::LogOpen(Errno::NAMETOOLONG))?;
        if !ours(st.st_uid) {
            return Err(Setup::LogPathUnsafe);
        }
        if st.st_mode & 0o022 != 0 {
            let entry = rustix::fs::statat(&fd, part, AtFlags::SYMLINK_NOFOLLOW).map_err(Setup::LogOpen)?;
            if st.st_mode & 0o1000 == 0 || !ours(entry.st_uid) {
                return Err(Setup::LogPathUnsafe);
            }
        }
        fd = openat(&fd, part, flags, Mode::empty()).map_err(Setup::LogOpen)?;
    }
    let st = fstat(&fd).map_err(Setup::LogOpen)?;
    if !ours(st.st_uid) || st.st_mode & 0o022 != 0 {
        return Err(Setup::LogDirUnsafe);
    }
    Ok(fd)
}

/// How `append` found the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opened {
    Existing,
    Created,
}

/// Opens (or creates, mode 0640 with group `gid` when given) `name` in
/// `dir` for appending, non-blocking; a symbolic link or anything but a
/// regular file is refused.
pub fn append(dir: &impl AsFd, name: &CStr, gid: Option<u32>) -> Result<(OwnedFd, Opened), Setup> {
    let base = OFlags::WRONLY | OFlags::APPEND | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    let mode = Mode::from_bits_truncate(0o640);
    let refuse = |e: Errno| match e {
        Errno::LOOP => Setup::LogSymlink,
        Errno::NXIO => Setup::LogNotFile,
        e => Setup::LogOpen(e),
    };
    let (fd, how) = match openat(dir, name, base | OFlags::CREATE | OFlags::EXCL, mode) {
        Ok(fd) => (fd, Opened::Created),
        Err(Errno::EXIST) => (openat(dir, name, base, Mode::empty()).map_err(refuse)?, Opened::Existing),
        Err(e) => return Err(refuse(e)),
    };
    let st = fstat(&fd).map_err(Setup::LogOpen)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(Setup::LogNotFile);
    }
    if how == Opened::Created {
        // The mode is exact whatever going's umask; the group lets the
        // service's own user read what it wrote.
        let _ = fchmod(&fd, mode);
        if let Some(gid) = gid.filter(|&g| g != st.st_gid) {
            let _ = fchown(&fd, None, Some(rustix::fs::Gid::from_raw(gid)));
        }
    }
    Ok((fd, how))
}

/// Renames `from` to `to` inside `dir` (rename never follows a link).
pub fn rename(dir: &impl AsFd, from: &CStr, to: &CStr) -> Result<(), Errno> {
    renameat(dir, from, dir, to)
}

/// Creates `name` in `dir` afresh, mode 0600 (or less, by the umask),
/// refusing a link: for going's own state, written then renamed into
/// place. A stale one from a crash is removed first.
pub fn create_private(dir: &impl AsFd, name: &CStr) -> Result<OwnedFd, Errno> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mode = Mode::from_bits_truncate(0o600);
    match openat(dir, name, flags, mode) {
        Err(Errno::EXIST) => {
            let _ = rustix::fs::unlinkat(dir, name, AtFlags::empty());
            openat(dir, name, flags, mode)
        }
        r => r,
    }
}

/// Opens going's own state file for reading, only if going's user owns
/// it, no one else may write it and it is a regular file (not a link).
pub fn open_private(dir: &impl AsFd, name: &CStr) -> Result<OwnedFd, Errno> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let fd = openat(dir, name, flags, Mode::empty())?;
    let st = fstat(&fd)?;
    let me = rustix::process::geteuid().as_raw();
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile || st.st_uid != me || st.st_mode & 0o022 != 0 {
        return Err(Errno::PERM);
    }
    Ok(fd)
}

/// `parts` one after another and a NUL, as a C string in `buf` (it ends
/// at the first NUL); `None` when they do not fit.
pub fn c_string<'b>(buf: &'b mut [u8], parts: &[&[u8]]) -> Option<&'b CStr> {
    for (n, &c) in parts.iter().flat_map(|p| p.iter()).chain(&[0]).enumerate() {
        *buf.get_mut(n)? = c;
    }
    CStr::from_bytes_until_nul(buf).ok()
}

/// Splits a path into its directory (`/` for a top-level name) and last
/// component, each NUL-terminated in `buf`.
pub fn split<'a>(path: &[u8], buf: &'a mut [u8; 4352]) -> Option<(&'a CStr, &'a CStr)> {
    let cut = path.iter().rposition(|&b| b == b'/')?;
    let (dir, base) = (path.get(..cut)?, path.get(cut + 1..)?);
    let dir: &[u8] = if dir.is_empty() { b"/" } else { dir };
    if base.is_empty() || dir.len() + base.len() + 2 > buf.len() || path.contains(&0) {
        return None;
    }
    let (a, b) = buf.split_at_mut(dir.len() + 1);
    Some((c_string(a, &[dir])?, c_string(b, &[base])?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_paths() {
        let mut buf = [0u8; 4352];
        let (d, b) = split(b"/var/log/web.log", &mut buf).unwrap();
        assert_eq!((d.to_bytes(), b.to_bytes()), (&b"/var/log"[..], &b"web.log"[..]));
        let mut buf = [0u8; 4352];
        let (d, b) = split(b"/top", &mut buf).unwrap();
        assert_eq!((d.to_bytes(), b.to_bytes()), (&b"/"[..], &b"top"[..]));
        let mut buf = [0u8; 4352];
        assert!(split(b"/var/log/", &mut buf).is_none());
        assert!(split(b"relative", &mut buf).is_none());
        assert!(split(&[b'/'; 5000], &mut buf).is_none());
    }
}
