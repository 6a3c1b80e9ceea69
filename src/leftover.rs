//! What a killed going leaves behind. Each service's main process dies
//! with going (parent-death signal), but its own children would live on,
//! re-parented to init, and a restarted going would start the service a
//! second time beside them. So going records, next to its socket, the
//! process group and start time of each running service (`SOCKET.pids`,
//! rewritten atomically when the set changes) and, when it starts, kills
//! every process of those groups or sessions that is no older than the
//! recorded leader: the start time tells a leftover from an unrelated
//! process that later got the same numbers.
//!
//! The file is trusted only as far as it must be (SPEC §14): it is read
//! only when going's own user owns it and no one else may write it, never
//! through a symbolic link, and only when its first line names this boot
//! (the kernel's `boot_id`), so a stale file on persistent storage cannot
//! make going kill what got the same numbers after a power cut. It is
//! written afresh (`O_EXCL`, no link followed) and renamed into place.

use crate::fmt::{Line, parse_u64};
use crate::safefile;
use crate::status::{Usage, parse_stat};
use core::ffi::CStr;
use core::mem::MaybeUninit;
use heapless::Vec;
use rustix::fs::{CWD, Mode, OFlags, RawDir, open, rename, unlink};
use rustix::io::Errno;
use rustix::process::{Pid, Signal, kill_process};

/// Most groups remembered: one per service.
const MAX: usize = crate::limits::MAX_SERVICES;

/// Builds `SOCKET.pids` and its temporary `SOCKET.pids.new` into `buf`.
pub fn paths<'a>(socket: &CStr, buf: &'a mut [u8; 512]) -> Option<(&'a CStr, &'a CStr)> {
    let s = socket.to_bytes();
    let (a, b) = buf.split_at_mut(256);
    Some((safefile::c_string(a, &[s, b".pids"])?, safefile::c_string(b, &[s, b".pids.new"])?))
}

/// Now in clock ticks since boot, the unit of a process's start time in
/// `/proc`: read before a fork, it is no later than the child's.
#[inline(never)]
pub fn boot_ticks() -> u64 {
    let (sec, nsec) = crate::sys::boottime();
    let hz = crate::sys::clock_ticks();
    sec * hz + nsec * hz / 1_000_000_000
}

/// Reads a process's stat line.
pub fn stat_of(pid: u64) -> Option<Usage> {
    let mut path = Line::new();
    path.s(b"/proc/").u(pid).s(b"/stat\0");
    let path = CStr::from_bytes_until_nul(path.bytes()).ok()?;
    let fd = open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ok()?;
    let mut buf = [0u8; 1024];
    let n = rustix::io::read(&fd, &mut buf).ok()?;
    parse_stat(buf.get(..n)?)
}

/// This boot's id (`/proc/sys/kernel/random/boot_id`), or empty.
pub fn boot_id(buf: &mut [u8; 64]) -> &[u8] {
    let flags = OFlags::RDONLY | OFlags::CLOEXEC;
    let n = open(c"/proc/sys/kernel/random/boot_id", flags, Mode::empty())
        .and_then(|fd| rustix::io::read(&fd, &mut buf[..]))
        .unwrap_or(0);
    buf.get(..n).unwrap_or(&[]).trim_ascii()
}

/// Writes the running services' `PGID START` lines after this boot's
/// id (`boot`), atomically.
pub fn record(file: &CStr, tmp: &CStr, boot: &[u8], groups: impl Iterator<Item = (i32, u64)>) -> Result<(), Errno> {
    let fd = safefile::create_private(&CWD, tmp)?;
    let mut l = Line::new();
    l.s(b"boot ").s(boot).s(b"\n");
    for (pid, start) in groups {
        if l.bytes().len() > crate::limits::LINE - 48 {
            rustix::io::write(&fd, l.bytes())?;
            l = Line::new();
        }
        l.i(i64::from(pid)).s(b" ").u(start).s(b"\n");
    }
    rustix::io::write(&fd, l.bytes())?;
    drop(fd);
    rename(tmp, file)
}

/// Parses the recorded `PGID START` lines, if the file is of this boot:
/// its first line is `boot ID`. A group of 0 or 1, or a start time of 0,
/// is never taken.
pub fn parse(src: &[u8], boot: &[u8]) -> Vec<(u64, u64), MAX> {
    let mut v = Vec::new();
    let mut lines = src.split(|&b| b == b'\n');
    let ours = lines.next().and_then(|l| l.strip_prefix(b"boot ")).is_some_and(|id| !boot.is_empty() && id == boot);
    if !ours {
        return v;
    }
    for line in lines {
        let mut f = line.split(|&b| b == b' ');
        if let (Some(Some(g)), Some(Some(t))) = (f.next().map(parse_u64), f.next().map(parse_u64))
            && g > 1
            && t > 0
            && v.push((g, t)).is_err()
        {
            break;
        }
    }
    v
}

/// Is this process a leftover of one of the recorded services?
pub fn is_leftover(p: &Usage, recorded: &[(u64, u64)]) -> bool {
    recorded.iter().any(|&(g, t)| (p.pgrp == g || p.session == g) && p.start >= t)
}

/// Kills the leftovers of a previous going; returns how many.
pub fn sweep(file: &CStr) -> u32 {
    let mut buf = [0u8; 8192];
    let n = match safefile::open_private(&CWD, file) {
        Ok(fd) => rustix::io::read(&fd, &mut buf).unwrap_or(0),
        Err(_) => return 0,
    };
    let mut boot = [0u8; 64];
    let recorded = parse(buf.get(..n).unwrap_or(&[]), boot_id(&mut boot));
    let _ = unlink(file);
    if recorded.is_empty() {
        return 0;
    }
    let me = u64::from(rustix::process::getpid().as_raw_nonzero().get().unsigned_abs());
    let Ok(proc) = open(c"/proc", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()) else {
        return 0;
    };
    let mut dents = [MaybeUninit::<u8>::uninit(); 4096];
    let mut it = RawDir::new(&proc, &mut dents);
    let mut killed = 0;
    while let Some(Ok(e)) = it.next() {
        let Some(pid) = parse_u64(e.file_name().to_bytes()) else { continue };
        let ours = stat_of(pid).is_some_and(|p| pid != me && !p.zombie && is_leftover(&p, &recorded));
        if let (true, Some(pid)) = (ours, i32::try_from(pid).ok().and_then(Pid::from_raw)) {
            killed += u32::from(kill_process(pid, Signal::KILL).is_ok());
        }
    }
    killed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_parse_back() {
        let v = parse(b"boot abc\n123 4567\n89 1\ngarbage\n1 5\n7 0\n\n456", b"abc");
        assert_eq!(&v[..], &[(123, 4567), (89, 1)]);
    }

    #[test]
    fn only_this_boot_counts() {
        assert!(parse(b"boot abc\n123 4567\n", b"xyz").is_empty());
        assert!(parse(b"123 4567\n", b"abc").is_empty(), "no boot line: a file of 0.1.0");
        assert!(parse(b"boot \n123 4567\n", b"").is_empty(), "no boot id to compare with");
    }

    #[test]
    fn leftovers_are_no_older_than_their_leader() {
        let rec = [(100, 5000)];
        let p = |pgrp, session, start| Usage { pgrp, session, start, ..Usage::default() };
        assert!(is_leftover(&p(100, 100, 5000), &rec));
        assert!(is_leftover(&p(100, 100, 6000), &rec));
        assert!(is_leftover(&p(300, 100, 6000), &rec), "own group, same session");
        assert!(!is_leftover(&p(100, 100, 4999), &rec), "older than the leader: another process");
        assert!(!is_leftover(&p(200, 200, 9000), &rec));
    }

    #[test]
    fn paths_get_suffixes() {
        let mut buf = [0u8; 512];
        let (a, b) = paths(c"/run/going.sock", &mut buf).unwrap();
        assert_eq!(a.to_bytes(), b"/run/going.sock.pids");
        assert_eq!(b.to_bytes(), b"/run/going.sock.pids.new");
        let long = std::ffi::CString::new(vec![b'x'; 250]).unwrap();
        assert!(paths(&long, &mut buf).is_none());
    }
}
