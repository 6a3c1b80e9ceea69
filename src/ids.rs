//! Users and groups from `/etc/passwd` and `/etc/group`, read directly (a
//! static binary has no NSS). Lines are parsed by pure functions; a line
//! longer than the read buffer (2 KiB) is skipped.

use crate::fmt::parse_u64;
use crate::limits::MAX_GROUPS;
use core::ffi::CStr;
use heapless::Vec;
use rustix::fs::{Mode, OFlags, open};
use rustix::io::Errno;

/// Who a service runs as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ids {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// Supplementary groups; `None` leaves going's own.
    pub groups: Option<Vec<u32, MAX_GROUPS>>,
    /// From the password file, for `USER`, `LOGNAME` and `HOME`.
    pub name: Vec<u8, 32>,
    pub home: Vec<u8, 256>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdError {
    UnknownUser,
    UnknownGroup,
    TooManyGroups,
}

impl IdError {
    pub fn text(self) -> &'static [u8] {
        match self {
            IdError::UnknownUser => b"unknown user ",
            IdError::UnknownGroup => b"unknown group ",
            IdError::TooManyGroups => b"too many supplementary groups (limit 64) for user ",
        }
    }
}

/// A passwd line's name, uid, gid and home.
pub fn passwd_line(line: &[u8]) -> Option<(&[u8], u32, u32, &[u8])> {
    let mut f = line.split(|&b| b == b':');
    let name = f.next()?;
    let uid = id(f.nth(1)?)?;
    let gid = id(f.next()?)?;
    let home = f.nth(1)?;
    Some((name, uid, gid, home))
}

/// A group line's name, gid and member list.
pub fn group_line(line: &[u8]) -> Option<(&[u8], u32, &[u8])> {
    let mut f = line.split(|&b| b == b':');
    let name = f.next()?;
    let gid = id(f.nth(1)?)?;
    Some((name, gid, f.next().unwrap_or(b"")))
}

fn id(v: &[u8]) -> Option<u32> {
    parse_u64(v).and_then(|n| u32::try_from(n).ok())
}

/// Calls `f` on every line of a file until it returns `true`. A missing
/// file has no lines.
fn lines(path: &CStr, f: &mut dyn FnMut(&[u8]) -> bool) -> Result<(), Errno> {
    let fd = match open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut buf = [0u8; 2048];
    let (mut have, mut skipping) = (0, false);
    loop {
        let n = match rustix::io::read(&fd, buf.get_mut(have..).unwrap_or(&mut [])) {
            Ok(n) => n,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e),
        };
        let end = have + n;
        let chunk = buf.get(..end).unwrap_or(&[]);
        let mut start = 0;
        while let Some(nl) = chunk.get(start..).and_then(|c| c.iter().position(|&b| b == b'\n')) {
            let line = chunk.get(start..start + nl).unwrap_or(&[]);
            if !skipping && f(line) {
                return Ok(());
            }
            skipping = false;
            start += nl + 1;
        }
        if n == 0 {
            if !skipping && start < end {
                f(chunk.get(start..end).unwrap_or(&[]));
            }
            return Ok(());
        }
        if start == 0 && end == buf.len() {
            // A line longer than the buffer: skip to its end.
            skipping = true;
            have = 0;
            continue;
        }
        buf.copy_within(start..end, 0);
        have = end - start;
    }
}

/// Resolves `user=` and `group=`. A user name must exist; a numeric uid
/// may not, and then runs with gid = uid and no supplementary groups.
pub fn resolve(user: Option<&[u8]>, group: Option<&[u8]>) -> Result<Ids, (IdError, Errno)> {
    let mut ids = Ids { uid: None, gid: None, groups: None, name: Vec::new(), home: Vec::new() };
    let read_err = |e| (IdError::UnknownUser, e);
    if let Some(u) = user {
        let numeric = id(u);
        let mut found = false;
        lines(c"/etc/passwd", &mut |line| {
            let Some((name, uid, gid, home)) = passwd_line(line) else { return false };
            if name != u && Some(uid) != numeric {
                return false;
            }
            ids.uid = Some(uid);
            ids.gid = Some(gid);
            let _ = ids.name.extend_from_slice(name.get(..32).unwrap_or(name));
            let _ = ids.home.extend_from_slice(home.get(..256).unwrap_or(home));
            found = true;
            true
        })
        .map_err(read_err)?;
        if !found {
            let uid = numeric.ok_or((IdError::UnknownUser, Errno::NOENT))?;
            ids.uid = Some(uid);
            ids.gid = Some(uid);
        }
        let mut groups = Vec::new();
        if let (true, Some(gid)) = (found && numeric.is_none(), ids.gid) {
            let _ = groups.push(gid);
            let mut full = false;
            lines(c"/etc/group", &mut |line| {
                let Some((_, g, members)) = group_line(line) else { return false };
                if g != gid && members.split(|&b| b == b',').any(|m| m == u) {
                    full |= groups.push(g).is_err();
                }
                false
            })
            .map_err(read_err)?;
            if full {
                return Err((IdError::TooManyGroups, Errno::NOSPC));
            }
        }
        ids.groups = Some(groups);
    }
    if let Some(g) = group {
        let numeric = id(g);
        let mut gid = None;
        lines(c"/etc/group", &mut |line| match group_line(line) {
            Some((name, n, _)) if name == g || Some(n) == numeric => {
                gid = Some(n);
                true
            }
            _ => false,
        })
        .map_err(|e| (IdError::UnknownGroup, e))?;
        ids.gid = Some(gid.or(numeric).ok_or((IdError::UnknownGroup, Errno::NOENT))?);
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_lines() {
        assert_eq!(
            passwd_line(b"www:x:33:34:www-data:/var/www:/usr/sbin/nologin"),
            Some((&b"www"[..], 33, 34, &b"/var/www"[..]))
        );
        assert_eq!(passwd_line(b"root::0:0:::"), Some((&b"root"[..], 0, 0, &b""[..])));
        for bad in [&b""[..], b"x", b"x:x:a:1:g:/h:s", b"x:x:1", b"x:x:1:99999999999:g:/h:s", b"# comment"] {
            assert_eq!(passwd_line(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn group_lines() {
        assert_eq!(group_line(b"audio:x:29:pulse,www"), Some((&b"audio"[..], 29, &b"pulse,www"[..])));
        assert_eq!(group_line(b"wheel:x:10:"), Some((&b"wheel"[..], 10, &b""[..])));
        assert_eq!(group_line(b"odd:x:10"), Some((&b"odd"[..], 10, &b""[..])));
        assert_eq!(group_line(b"bad:x:"), None);
    }

    #[test]
    fn root_and_numeric_ids_resolve() {
        let root = resolve(Some(b"root"), None).unwrap();
        assert_eq!((root.uid, root.gid), (Some(0), Some(0)));
        assert_eq!(&root.name[..], b"root");
        let n = resolve(Some(b"54321"), None).unwrap();
        assert_eq!((n.uid, n.gid), (Some(54321), Some(54321)));
        assert_eq!(n.groups.as_deref(), Some(&[][..]));
        let g = resolve(None, Some(b"4242")).unwrap();
        assert_eq!((g.uid, g.gid, g.groups), (None, Some(4242), None));
        assert_eq!(resolve(Some(b"no-such-user-here"), None).unwrap_err().0, IdError::UnknownUser);
        assert_eq!(resolve(None, Some(b"no-such-group-here")).unwrap_err().0, IdError::UnknownGroup);
    }
}
