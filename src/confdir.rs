//! The config directory as an event source: a full read (at start, on
//! SIGHUP, after lost events) or one name at a time as inotify reports
//! it. Each file's bytes become a table update (`table::update`), whose
//! news the fleet then hands to the service, in name order (at start, a
//! service that is after nothing as soon as its file is read). A name that
//! is gone is only taken for gone when it is really absent: a delete
//! followed at once by a new file (`rm f; cp f.bak f`, an editor's
//! backup rename) leaves the service in place. Reads that fail for want
//! of descriptors or memory are tried again at a deadline.

use crate::fleet::{Fleet, WATCH, unwatch, watch};
use crate::fmt::Line;
use crate::limits::{GONE_GRACE_NS, MAX_FILE, RESCAN_RETRY_NS};
use crate::log::Log;
use crate::scan::{self, Problem};
use crate::service::Event;
use crate::table::{Outcome, Why, ignored_name};
use crate::watch::{Change, Watch, What};
use crate::{procfile, sys};
use core::ffi::CStr;
use rustix::fd::{AsRawFd, OwnedFd};
use rustix::fs::{AtFlags, FileType, statat};
use rustix::io::Errno;

pub struct ConfDir<'a> {
    /// The directory, or the Procfile in Procfile mode.
    pub path: &'a CStr,
    procfile: bool,
    /// The inotify watch; without it only SIGHUP reloads.
    watch: Option<Watch>,
    /// When to read everything again; 0 for never.
    rescan_at: u64,
    missing: bool,
    /// A full read is under way: rejections past the remembered ones are
    /// counted, not logged one by one.
    scanning: bool,
    /// A file could not be read for want of descriptors or memory.
    read_again: bool,
    /// When a name of the table was last found gone (0: never).
    gone_at: u64,
}

impl<'a> ConfDir<'a> {
    pub fn new(path: &'a CStr, procfile: bool, fleet: &mut Fleet) -> Self {
        let watch = match Watch::new() {
            Ok(_) if procfile => None,
            Ok(w) => {
                watch(&fleet.epoll, w.fd().as_raw_fd(), WATCH);
                Some(w)
            }
            Err(e) => {
                fleet.log.error(|l| {
                    l.s(b"cannot watch for config changes (reload with SIGHUP): ").s(sys::strerror(e));
                });
                None
            }
        };
        ConfDir { path, procfile, watch, rescan_at: 0, missing: false, scanning: false, read_again: false, gone_at: 0 }
    }

    /// The deadline of a pending re-read.
    pub fn deadline(&self) -> Option<u64> {
        Some(self.rescan_at).filter(|&d| d != 0)
    }

    /// Reads everything again once its deadline has passed, or at once
    /// when the fleet has made room for a rejected file.
    pub fn fire(&mut self, fleet: &mut Fleet, now: u64) {
        if core::mem::take(&mut fleet.room) {
            self.rescan_at = now.max(1);
        }
        if self.rescan_at != 0 && self.rescan_at <= now {
            // What came since the wait first: a name gone again meanwhile
            // (an editor saving again) has its whole grace before the
            // read that would take it for removed.
            self.on_watch(fleet, now);
            let calm = self.gone_at.saturating_add(GONE_GRACE_NS);
            if self.rescan_at != 0 && calm > now {
                self.rescan_at = calm;
                return;
            }
            self.rescan_at = 0;
            self.reload(fleet, now);
        }
    }

    /// Stops watching: going is shutting down.
    pub fn disarm(&mut self, fleet: &mut Fleet) {
        self.rescan_at = 0;
        if let Some(w) = self.watch.as_mut() {
            unwatch(&fleet.epoll, w.fd().as_raw_fd());
            w.disarm();
        }
    }

    fn again_in_a_second(&mut self, now: u64) {
        self.read_all_by(now + RESCAN_RETRY_NS);
    }

    /// Reads everything again at `at` at the latest.
    #[inline(never)]
    fn read_all_by(&mut self, at: u64) {
        self.rescan_at = if self.rescan_at == 0 { at } else { self.rescan_at.min(at) };
    }

    /// inotify has news.
    pub fn on_watch(&mut self, fleet: &mut Fleet, now: u64) {
        let Some(mut w) = self.watch.take() else {
            return;
        };
        let mut everything = false;
        w.drain(self.path, |c| match c {
            Change::Everything => everything = true,
            Change::Entry { name, what } => self.entry_changed(fleet, name, what, now),
        });
        self.watch = Some(w);
        if everything {
            self.reload(fleet, now);
        }
        fleet.deliver(now);
    }

    /// Reads one directory entry again after inotify spoke of it.
    fn entry_changed(&mut self, fleet: &mut Fleet, name: &[u8], what: What, now: u64) {
        let mut c = [0u8; 256];
        let Some(cname) = crate::safefile::c_string(&mut c, &[name]) else {
            return;
        };
        if fleet.halt.is_some() || ignored_name(name) {
            return;
        }
        // The reserve of descriptors is given up only when it is needed.
        let mut dir = scan::open_dir(self.path);
        if dir.as_ref().is_err_and(|&e| fleet.spend_spare(e)) {
            dir = scan::open_dir(self.path);
        }
        let Ok(dir) = dir else {
            // Read it all again soon; a full reload says what is wrong.
            return self.again_in_a_second(now);
        };
        if matches!(what, What::Created | What::Gone) {
            let st = statat(&dir, cname, AtFlags::SYMLINK_NOFOLLOW);
            match (what, &st) {
                // A new regular file is being written: wait for its close.
                // A symlink, a hard link or anything else is complete now.
                (What::Created, Ok(st))
                    if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile && st.st_nlink <= 1 =>
                {
                    return;
                }
                // Gone and back already: the event that brought it back
                // follows, and reading it now could catch it half written.
                (What::Gone, Ok(_)) => return,
                _ => {}
            }
        }
        let mut buf = [0u8; MAX_FILE + 1];
        let mut read = scan::read(&dir, cname, &mut buf);
        if matches!(read, Err(Problem::Unreadable(e)) if fleet.spend_spare(e)) {
            read = scan::read(&dir, cname, &mut buf);
        }
        // A symlink to nothing reads as absent too, but it is an entry
        // that cannot be read, as a full read says. (A name back already
        // is read with the directory, below.)
        let link = |st: rustix::fs::Stat| FileType::from_raw_mode(st.st_mode) == FileType::Symlink;
        let absent = matches!(read, Err(Problem::Unreadable(Errno::NOENT)))
            && !statat(&dir, cname, AtFlags::SYMLINK_NOFOLLOW).is_ok_and(link);
        // Closed before any spawn, which takes the reserve back at the
        // lowest numbers.
        drop(dir);
        match read {
            _ if absent => {
                let listed = fleet.table.rejected.iter().any(|r| r.name() == name);
                fleet.table.forget_rejected(name);
                match fleet.table.find(name) {
                    // Taken for removed only if it is still absent a moment
                    // later, when the whole directory is read: a file
                    // saved again through a gap (an editor's backup
                    // rename, `rm f; cp f.bak f`) never stops its service.
                    Ok(_) => {
                        self.gone_at = now;
                        self.read_all_by(now + GONE_GRACE_NS);
                    }
                    // Perhaps one of the rejected entries only counted:
                    // a re-read, at most once a second, counts them anew.
                    Err(_) if !listed && fleet.table.more_rejected > 0 => self.again_in_a_second(now),
                    Err(_) => {}
                }
            }
            read => self.found(fleet, name, read.map(|n| buf.get(..n).unwrap_or(&[]))),
        }
        if core::mem::take(&mut self.read_again) {
            self.again_in_a_second(now);
        }
    }

    /// Re-reads the whole directory and applies the differences.
    pub fn reload(&mut self, fleet: &mut Fleet, now: u64) {
        if fleet.halt.is_some() {
            return;
        }
        fleet.spare = [None, None];
        if self.procfile {
            return self.reload_procfile(fleet, now);
        }
        if let Some(w) = self.watch.as_mut() {
            w.arm(self.path);
        }
        let dir = match scan::open_dir(self.path) {
            Ok(d) => d,
            Err(e) => {
                let gone = matches!(e, Errno::NOENT | Errno::NOTDIR);
                if !gone || !self.missing {
                    cannot(&mut fleet.log, b"cannot open ", self.path, e, !gone);
                }
                if gone {
                    self.missing = true;
                    fleet.table.begin_scan();
                    self.sweep(fleet, now);
                } else {
                    self.again_in_a_second(now);
                }
                return;
            }
        };
        self.missing = false;
        let first = fleet.table.entries.is_empty();
        fleet.table.begin_scan();
        self.scanning = true;
        let walked = if first {
            self.first_read(fleet, &dir, now)
        } else {
            scan::each(&dir, |name, read| self.found(fleet, name, read))
        };
        self.scanning = false;
        // Closed before the rest are told, whose spawns take the reserve
        // back at the lowest numbers.
        drop(dir);
        if first {
            // Early starts took it back above the directory's descriptor.
            fleet.spare = [None, None];
            fleet.keep_spare();
        }
        let Fleet { table, log, .. } = fleet;
        for r in table.rejected.iter().filter(|r| r.why == Why::Full) {
            rejected(log, self.path, r.name(), Why::Full);
        }
        if table.more_rejected > 0 {
            let more = u64::from(table.more_rejected);
            log.error(|l| {
                l.s(self.path.to_bytes()).s(b": ").u(more).s(b" more entries rejected");
            });
        }
        if let Err(e) = walked {
            cannot(log, b"cannot read ", self.path, e, true);
            return self.again_in_a_second(now);
        }
        self.sweep(fleet, now);
        fleet.deliver(now);
        if core::mem::take(&mut self.read_again) {
            self.again_in_a_second(now);
        }
    }

    /// The read of an empty table (going's start): `scan::first_read`,
    /// a service that is after nothing started as soon as its file is
    /// read. Its exec then overlaps the reading of the rest, and starts
    /// keep their name order (SPEC §3).
    fn first_read(&mut self, fleet: &mut Fleet, dir: &OwnedFd, now: u64) -> Result<(), Errno> {
        let mut buf = [0u8; MAX_FILE + 1];
        scan::first_read(dir, &mut buf, &mut First { confdir: self, fleet, now })
    }

    /// Re-reads the Procfile: each of its lines is a service.
    fn reload_procfile(&mut self, fleet: &mut Fleet, now: u64) {
        let mut buf = [0u8; MAX_FILE + 1];
        let Some(n) = read_procfile(self.path, &mut buf, &mut fleet.log) else {
            return;
        };
        fleet.table.begin_scan();
        for (line, entry) in procfile::entries(buf.get(..n).unwrap_or(&[])) {
            let mut cfg = [0u8; MAX_FILE];
            match entry.map(|(name, cmd)| (name, procfile::config(cmd, &mut cfg))) {
                Ok((name, Some(len))) => self.found(fleet, name, Ok(cfg.get(..len).unwrap_or(&[]))),
                Ok((_, None)) => procfile_error(&mut fleet.log, self.path, line, b"command too long"),
                Err(why) => procfile_error(&mut fleet.log, self.path, line, why),
            }
        }
        self.sweep(fleet, now);
        fleet.deliver(now);
    }

    /// Takes in one directory entry: its config goes into the table.
    fn found(&mut self, fleet: &mut Fleet, name: &[u8], read: Result<&[u8], Problem>) {
        if matches!(read, Err(Problem::Unreadable(Errno::MFILE | Errno::NFILE | Errno::NOMEM))) {
            self.read_again = true;
        }
        let dir = self.path.to_bytes();
        let Fleet { table, log, .. } = fleet;
        if let Some(why) = crate::table::name_fault(name) {
            if table.reject(name, why) || !self.scanning {
                rejected(log, self.path, name, why);
            }
            return;
        }
        let mut text = Line::new();
        let outcome = scan::take(table, name, read, &mut text);
        let entry = table.find(name).ok().and_then(|i| table.entries.get(i));
        // The stored text, else the one just made, else the one reason a
        // valid file has none: the arena was too full to keep even that.
        let stored = entry.map_or(&[][..], |e| table.bytes(e.err));
        let err = match (stored, text.bytes()) {
            ([], []) => crate::table::NO_ROOM,
            ([], made) => made,
            (stored, _) => stored,
        };
        let running = entry.is_some_and(|e| e.svc.running());
        match outcome {
            Outcome::Invalid | Outcome::InvalidKept => log.error(|l| {
                l.file(dir, name).s(err);
                match (outcome, running) {
                    (Outcome::InvalidKept, true) => l.s(b" (still running the previous config)"),
                    (Outcome::InvalidKept, false) => l.s(b" (keeping the previous config)"),
                    _ => l,
                };
            }),
            Outcome::Full if !self.scanning => rejected(log, self.path, name, Why::Full),
            _ => {}
        }
        if !matches!(outcome, Outcome::Unchanged | Outcome::Invalid | Outcome::InvalidKept | Outcome::Full) {
            fleet.changed();
        }
    }

    /// Tells every service whose file the read did not find that it is
    /// gone.
    fn sweep(&mut self, fleet: &mut Fleet, now: u64) {
        let mut i = 0;
        while let Some(j) = fleet.table.unseen(i) {
            i = if fleet.act(j, Event::Gone, now) { j + 1 } else { j };
        }
    }
}

/// Reads the Procfile `path` into `buf`; logs why it cannot be read.
pub fn read_procfile(path: &CStr, buf: &mut [u8; MAX_FILE + 1], log: &mut Log) -> Option<usize> {
    let p = match scan::read_path(path, buf) {
        Ok(n) => return Some(n),
        Err(p) => p,
    };
    let mut text = Line::new();
    p.describe(&mut text);
    log.error(|l| {
        l.s(path.to_bytes()).s(text.bytes());
    });
    None
}

/// Logs what is wrong with line `line` of the Procfile `path`.
pub fn procfile_error(log: &mut Log, path: &CStr, line: usize, why: &[u8]) {
    log.error(|l| {
        l.s(path.to_bytes()).s(b":").u(line as u64).s(b": ").s(why);
    });
}

/// Logs why the file `name` of `dir` is rejected.
fn rejected(log: &mut Log, dir: &CStr, name: &[u8], why: Why) {
    log.error(|l| {
        l.file(dir.to_bytes(), name).s(b": ");
        why.describe(l);
    });
}

/// Logs that `what` failed on `path`, and whether it is tried again.
fn cannot(log: &mut Log, what: &[u8], path: &CStr, e: Errno, again: bool) {
    log.error(|l| {
        l.s(what).s(path.to_bytes()).s(b": ").s(sys::strerror(e));
        if again {
            l.s(b"; trying again in 1s");
        }
    });
}

/// The supervisor's first read, as `scan::first_read` drives it.
struct First<'c, 'd, 'f> {
    confdir: &'c mut ConfDir<'d>,
    fleet: &'c mut Fleet<'f>,
    now: u64,
}

impl scan::Reader for First<'_, '_, '_> {
    fn table(&mut self) -> &mut crate::table::Table {
        self.fleet.table
    }

    fn found(&mut self, name: &[u8], read: scan::Contents<'_>) {
        self.confdir.found(self.fleet, name, read);
    }

    fn listed(&mut self) {
        self.fleet.first_read();
    }

    fn next(&mut self, i: usize) -> bool {
        self.fleet.start_early(i, self.now)
    }
}
