//! The service table and the reload diff. Pure: no system call.
//!
//! Names, configs (in their canonical form, see `config::canonical`) and
//! error texts live in one byte arena; an entry holds spans into it, so a
//! service costs its own bytes and not a worst-case buffer. A reload is a
//! diff: `begin_scan`, `update` for every file, `unseen` for what is gone.
//! What an update means for the service is left in the entry's `news`,
//! which the fleet turns into an event for its state machine, in name
//! order; a valid new config waits in `next` until its spawn swaps it in.

use crate::config::{self, LogTime};
use crate::fmt::Line;
use crate::limits::{ARENA_BYTES, MAX_NAME, MAX_REJECTED, MAX_SERVICES};
use crate::service::{Policy, Service, State};
use heapless::Vec;

const _: () = assert!(ARENA_BYTES <= u16::MAX as usize);

/// A piece of the arena; empty means none.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Span {
    off: u16,
    len: u16,
}

impl Span {
    pub fn is_empty(self) -> bool {
        self.len == 0
    }
}

/// Output capture of a service whose output going writes: raw
/// descriptors (-1 for none) and counters; `output` does the I/O.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capture {
    /// The pipe: going reads `rfd`; each run of the service writes `wfd`.
    pub rfd: i32,
    pub wfd: i32,
    /// The log file, opened at the spawn.
    pub file: i32,
    pub size: u64,
    /// Bytes (`log=syslog`: lines) lost since writing started failing.
    pub dropped: u64,
    /// A deadline of the sink's: `log=FILE`, no rotation is tried again
    /// before it after one failed; `log=syslog`, a run of dropped lines is
    /// not said to be over before it.
    pub until: u64,
    pub failing: bool,
    /// `log=FILE`: the file ends in the middle of a line, which what is
    /// written after a loss must not continue.
    pub mid_line: bool,
    /// Bytes of the current line written so far (0: the next byte starts
    /// a line), to cut lines at `LOG_LINE_MAX`.
    pub line_len: u16,
    /// The group of a log file going creates (`NO_GID`: going's own).
    pub gid: u32,
}

/// No group: as for chown(2), -1.
pub const NO_GID: u32 = u32::MAX;

impl Capture {
    pub const fn none() -> Self {
        Capture {
            rfd: -1,
            wfd: -1,
            file: -1,
            size: 0,
            dropped: 0,
            until: 0,
            failing: false,
            mid_line: false,
            line_len: 0,
            gid: NO_GID,
        }
    }
}

/// Where a service's output goes, read from its config at every swap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sink {
    Inherit,
    Null,
    /// The path is `len` bytes at `at` in the entry's config.
    File {
        at: u16,
        len: u16,
        size: u64,
        keep: u8,
    },
    Prefix,
    Syslog,
}

impl Sink {
    /// Does going read this output through a pipe?
    pub fn captured(self) -> bool {
        matches!(self, Sink::File { .. } | Sink::Prefix | Sink::Syslog)
    }
}

/// What the table learnt about an entry that its service has not been
/// told yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum News {
    None,
    /// A different valid config waits in `next`.
    Config,
    /// Its file is there, with the config it has.
    Present,
}

/// What a spawn leaves behind until the process is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    /// Read end of the exec-error pipe, -1 for none.
    pub exec_fd: i32,
    /// `exec_fd` is in the epoll set: its report was not there at once.
    pub exec_watched: bool,
    /// Read end of the readiness pipe (`ready=fd:N`), -1 for none.
    pub ready_fd: i32,
    /// When its process started, in clock ticks since boot (see `leftover`).
    pub start: u64,
}

impl Run {
    pub const fn none() -> Self {
        Run { exec_fd: -1, exec_watched: false, ready_fd: -1, start: 0 }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Entry {
    pub name: Span,
    /// The config the service runs; empty while it has never been valid.
    pub cfg: Span,
    /// A valid config waiting to become current.
    pub next: Span,
    /// Why the file is invalid, as `:LINE: message`; empty when valid.
    pub err: Span,
    /// Found by the scan under way.
    pub seen: bool,
    pub news: News,
    pub svc: Service,
    pub run: Run,
    pub sink: Sink,
    pub time: LogTime,
    pub out: Capture,
    /// `going wait` clients waiting for it, one bit per waiting slot.
    pub waiters: u32,
    /// The low byte of its cgroup's `oom_kill` count at its last exit
    /// (a byte the entry had spare).
    pub oom: u8,
}

/// Why a directory entry is not in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    BadName,
    /// The name of a file the kernel keeps in a cgroup.
    Reserved,
    Full,
}

impl Why {
    pub fn describe(self, l: &mut Line) {
        match self {
            Why::BadName => l.s(b"invalid service name"),
            Why::Reserved => l.s(b"invalid service name: cgroup., cpu., io., memory., pids. and the other controllers' prefixes name the kernel's cgroup files"),
            Why::Full => l.s(b"too many services (limit ").u(MAX_SERVICES as u64).s(b")"),
        };
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Rejected {
    name: [u8; MAX_NAME],
    len: u8,
    pub why: Why,
}

impl Rejected {
    pub fn name(&self) -> &[u8] {
        self.name.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

/// Why a valid file could not be stored.
pub const NO_ROOM: &[u8] = b": no room left for this config (all configs share 48 KiB)";

/// What a file's new bytes mean for its service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A new service, or one that becomes valid: it will start.
    Added,
    /// A different valid config: the service will be restarted with it.
    Changed,
    /// Only its `after=` changed: taken as it is, nothing restarts.
    Reordered,
    /// Same meaning as what runs (or waits to run).
    Unchanged,
    /// Invalid, and there is no valid version.
    Invalid,
    /// Invalid; the previous valid version stays.
    InvalidKept,
    /// No room in the table or the arena.
    Full,
}

/// Names a first read has listed and not yet put in the table
/// (`Table::stage`).
pub type Staged = Vec<Span, MAX_SERVICES>;

pub struct Table {
    /// Only the bytes in use are ever written (no up-front zeroing, so
    /// an unused arena costs no resident memory).
    arena: Vec<u8, ARENA_BYTES>,
    pub entries: Vec<Entry, MAX_SERVICES>,
    pub rejected: Vec<Rejected, MAX_REJECTED>,
    /// Rejected entries that did not fit in `rejected`.
    pub more_rejected: u32,
    /// Entries put in or dropped so far, each of which moves the indices
    /// after it: indices kept across wake-ups are stale once it changes.
    pub moves: u32,
}

/// Is `name` a service name: 1 to 64 bytes of `A-Z a-z 0-9 . _ - @ +`,
/// not a reserved one?
pub fn valid_name(name: &[u8]) -> bool {
    name_fault(name).is_none()
}

/// What is wrong with `name` as a service name. A service's cgroup has
/// its name, beside the files the kernel puts in every cgroup of the
/// subtree: `cgroup.procs`, `memory.max`, `cpu.pressure`… A service named
/// so could have no cgroup, or would keep a controller from being
/// enabled, so such names are refused with or without cgroups.
pub fn name_fault(name: &[u8]) -> Option<Why> {
    const PREFIXES: &[u8] = b"cgroup cpu cpuset io irq memory pids rdma hugetlb misc dmem";
    let ok = |b: &u8| b.is_ascii_alphanumeric() || b"._-@+".contains(b);
    if !(1..=MAX_NAME).contains(&name.len()) || !name.iter().all(ok) {
        return Some(Why::BadName);
    }
    let head = name.split(|&b| b == b'.').next().filter(|h| h.len() < name.len())?;
    PREFIXES.split(|&b| b == b' ').any(|p| p == head).then_some(Why::Reserved)
}

/// Is `name` one going skips without a word: hidden, backup, editor and
/// package-manager files?
pub fn ignored_name(name: &[u8]) -> bool {
    const SUFFIXES: &[u8] = b"~ .swp .tmp .bak .dpkg-new .dpkg-old .dpkg-dist .rpmnew .rpmsave .swx";
    // `.x` hidden (editors' and tools' temp files), `#x#` Emacs auto-save.
    let emacs = name.len() > 1 && name.starts_with(b"#") && name.ends_with(b"#");
    name.first() == Some(&b'.') || emacs || SUFFIXES.split(|&b| b == b' ').any(|s| name.ends_with(s))
}

impl Table {
    pub const fn new() -> Self {
        Table { arena: Vec::new(), entries: Vec::new(), rejected: Vec::new(), more_rejected: 0, moves: 0 }
    }

    #[inline(never)]
    pub fn bytes(&self, s: Span) -> &[u8] {
        let off = usize::from(s.off);
        self.arena.get(off..off + usize::from(s.len)).unwrap_or(&[])
    }

    pub fn name(&self, i: usize) -> &[u8] {
        self.entries.get(i).map_or(&[], |e| self.bytes(e.name))
    }

    /// The config service `i` runs.
    pub fn cfg(&self, i: usize) -> &[u8] {
        self.entries.get(i).map_or(&[], |e| self.bytes(e.cfg))
    }

    /// The config service `i` will run next: the waiting one, if any.
    pub fn effective(&self, i: usize) -> &[u8] {
        self.entries.get(i).map_or(&[], |e| self.bytes(if e.next.is_empty() { e.cfg } else { e.next }))
    }

    /// The log file path of service `i`.
    pub fn log_path(&self, i: usize) -> &[u8] {
        match self.entries.get(i).map(|e| e.sink) {
            Some(Sink::File { at, len, .. }) => {
                self.cfg(i).get(usize::from(at)..usize::from(at) + usize::from(len)).unwrap_or(&[])
            }
            _ => b"",
        }
    }

    /// Bytes of the arena in use.
    #[cfg(test)]
    pub fn used(&self) -> usize {
        self.arena.len()
    }

    fn store(&mut self, b: &[u8]) -> Option<Span> {
        let off = self.arena.len();
        self.arena.extend_from_slice(b).ok()?;
        Some(Span { off: off as u16, len: b.len() as u16 })
    }

    /// Frees a span: the bytes after it move down and every span after it
    /// follows.
    fn release(&mut self, s: Span) {
        let (off, len) = (usize::from(s.off), usize::from(s.len));
        let used = self.arena.len();
        if len == 0 || off + len > used {
            return;
        }
        self.arena.copy_within(off + len..used, off);
        self.arena.truncate(used - len);
        for e in self.entries.iter_mut() {
            for sp in [&mut e.name, &mut e.cfg, &mut e.next, &mut e.err] {
                if usize::from(sp.off) > off {
                    sp.off -= s.len;
                }
            }
        }
    }

    /// Replaces one of an entry's spans with new bytes (empty for none).
    /// On a full arena the span is left empty and `false` returned.
    fn replace(&mut self, i: usize, which: fn(&mut Entry) -> &mut Span, b: &[u8]) -> bool {
        let Some(e) = self.entries.get_mut(i) else {
            return false;
        };
        let old = core::mem::take(which(e));
        self.release(old);
        let new = if b.is_empty() { Some(Span::default()) } else { self.store(b) };
        if let Some(e) = self.entries.get_mut(i) {
            *which(e) = new.unwrap_or_default();
        }
        new.is_some()
    }

    /// Where `name` is, or where it would go to keep the table sorted.
    pub fn find(&self, name: &[u8]) -> Result<usize, usize> {
        self.entries.binary_search_by(|e| self.bytes(e.name).cmp(name))
    }

    pub fn begin_scan(&mut self) {
        for e in self.entries.iter_mut() {
            e.seen = false;
        }
        self.rejected.clear();
        self.more_rejected = 0;
    }

    /// Remembers a rejected entry; `false` when the list is full and it
    /// is only counted.
    pub fn reject(&mut self, name: &[u8], why: Why) -> bool {
        self.forget_rejected(name);
        let mut r = Rejected { name: [0; MAX_NAME], len: 0, why };
        for (d, s) in r.name.iter_mut().zip(name) {
            *d = *s;
            r.len += 1;
        }
        let kept = self.rejected.push(r).is_ok();
        if !kept {
            self.more_rejected = self.more_rejected.saturating_add(1);
        }
        kept
    }

    /// Drops a name from the rejected list once its file is gone.
    pub fn forget_rejected(&mut self, name: &[u8]) {
        self.rejected.retain(|r| r.name() != name);
    }

    /// Applies a file's new content to its service: `Ok` with the
    /// canonical config, or `Err` with the error text (`:LINE: message`).
    /// Leaves what the service must be told in the entry's `news`.
    pub fn update(&mut self, name: &[u8], new: Result<&[u8], &[u8]>) -> Outcome {
        let Some(i) = self.entry(name) else {
            return Outcome::Full;
        };
        let Some(e) = self.entries.get_mut(i) else {
            return Outcome::Full;
        };
        e.seen = true;
        let (cur, next) = (e.cfg, e.next);
        let outcome = self.apply(i, cur, next, new);
        if let Some(e) = self.entries.get_mut(i) {
            e.news = match outcome {
                Outcome::Added | Outcome::Changed => News::Config,
                Outcome::Full => e.news,
                // Never valid: nothing to tell a service that cannot run.
                _ if e.cfg.is_empty() && e.next.is_empty() => News::None,
                // A change not yet told stays to be told.
                _ if !e.next.is_empty() && e.news == News::Config => News::Config,
                // The file is there: a stop for its removal is called off.
                _ => News::Present,
            };
        }
        outcome
    }

    /// Where `name` is, given an entry with no config yet when it has
    /// none; `None`, and the name rejected, when the table has no room.
    pub fn entry(&mut self, name: &[u8]) -> Option<usize> {
        match self.find(name) {
            Ok(i) => Some(i),
            Err(at) => self.insert(at, name).or_else(|| {
                self.reject(name, Why::Full);
                None
            }),
        }
    }

    fn apply(&mut self, i: usize, cur: Span, next: Span, new: Result<&[u8], &[u8]>) -> Outcome {
        let valid = match new {
            Ok(cfg) => cfg,
            Err(text) => {
                self.replace(i, |e| &mut e.err, text);
                return if cur.is_empty() && next.is_empty() { Outcome::Invalid } else { Outcome::InvalidKept };
            }
        };
        self.replace(i, |e| &mut e.err, b"");
        if !cur.is_empty() && self.bytes(cur) == valid {
            // Back to what runs: a waiting change is dropped.
            self.replace(i, |e| &mut e.next, b"");
            return Outcome::Unchanged;
        }
        if !next.is_empty() && self.bytes(next) == valid {
            return Outcome::Unchanged;
        }
        let waiting = if next.is_empty() { cur } else { next };
        // In place only where the new text fits once the old is gone: a
        // `replace` that fails has released the old one.
        let fits = self.arena.len().saturating_sub(usize::from(waiting.len)) + valid.len() <= ARENA_BYTES;
        if fits && !waiting.is_empty() && config::same_but_order(self.bytes(waiting), valid) {
            let which: fn(&mut Entry) -> &mut Span = if next.is_empty() { |e| &mut e.cfg } else { |e| &mut e.next };
            if self.replace(i, which, valid) {
                self.read_sink(i);
                return Outcome::Reordered;
            }
        }
        if !self.replace(i, |e| &mut e.next, valid) {
            self.replace(i, |e| &mut e.err, NO_ROOM);
            return if cur.is_empty() { Outcome::Invalid } else { Outcome::InvalidKept };
        }
        if cur.is_empty() { Outcome::Added } else { Outcome::Changed }
    }

    fn insert(&mut self, mut at: usize, name: &[u8]) -> Option<usize> {
        if self.entries.is_full() {
            // Which files get in must not depend on the order the directory
            // lists them: a name that sorts before the last entry that has
            // never run takes its place. Services that ran are never evicted.
            let never_ran = |e: &Entry| e.svc.spawns == 0 && !e.svc.running();
            let last = self.entries.iter().rposition(never_ran)?;
            let mut evicted = [0u8; MAX_NAME];
            let victim = self.name(last);
            if name >= victim {
                return None;
            }
            let n = victim.len().min(MAX_NAME);
            evicted.get_mut(..n)?.copy_from_slice(victim.get(..n)?);
            self.forget(last);
            self.reject(evicted.get(..n)?, Why::Full);
            if last < at {
                at -= 1;
            }
        }
        let name = self.store(name)?;
        self.put(at, name)
    }

    /// Puts a new entry named by `name`, already in the arena, at `at`.
    fn put(&mut self, at: usize, name: Span) -> Option<usize> {
        let e = Entry {
            name,
            cfg: Span::default(),
            next: Span::default(),
            err: Span::default(),
            seen: true,
            news: News::None,
            svc: Service::failed(),
            run: Run::none(),
            oom: 0,
            sink: Sink::Inherit,
            time: LogTime::None,
            out: Capture::none(),
            waiters: 0,
        };
        self.entries.insert(at, e).ok()?;
        self.moves = self.moves.wrapping_add(1);
        Some(at)
    }

    /// Takes a listed name into `staged`, kept in name order, and its
    /// bytes into the arena: putting a name in place there moves 4 bytes
    /// a name after it, not an entry of the table. `false` when the table
    /// and `staged` together are full, or the arena is: the caller then
    /// flushes and goes on by `entry`, which knows what to evict.
    pub fn stage(&mut self, staged: &mut Staged, name: &[u8]) -> bool {
        if self.entries.len() + staged.len() >= MAX_SERVICES {
            return false;
        }
        if self.find(name).is_ok() {
            return true;
        }
        match staged.binary_search_by(|s| self.bytes(*s).cmp(name)) {
            Ok(_) => true,
            Err(at) => self.store(name).is_some_and(|s| staged.insert(at, s).is_ok()),
        }
    }

    /// Puts the staged names into the table, each where it sorts: at the
    /// end when the table held none before them. The arena must not have
    /// moved since they were staged (nothing released).
    pub fn flush(&mut self, staged: &mut Staged) {
        for &s in staged.iter() {
            if let Err(at) = self.find(self.bytes(s)) {
                let _ = self.put(at, s);
            }
        }
        staged.clear();
    }

    /// The first entry the scan did not see, from index `from` on.
    pub fn unseen(&self, from: usize) -> Option<usize> {
        self.entries.iter().skip(from).position(|e| !e.seen).map(|p| p + from)
    }

    /// Makes the waiting config current and reads what the service's
    /// state machine and output need of it. Returns whether there was one.
    pub fn swap_in_next(&mut self, i: usize) -> bool {
        let Some(e) = self.entries.get_mut(i) else {
            return false;
        };
        if e.next.is_empty() {
            return false;
        }
        let old = core::mem::replace(&mut e.cfg, e.next);
        e.next = Span::default();
        if e.svc.state == State::Failed(crate::service::Fault::Invalid) {
            e.svc.state = State::Down;
        }
        self.release(old);
        self.read_sink(i);
        true
    }

    /// Reads the policy and output settings of the current config.
    fn read_sink(&mut self, i: usize) {
        let Some(e) = self.entries.get(i) else { return };
        let src = self.bytes(e.cfg);
        let Ok(c) = config::parse(src) else { return };
        let policy = Policy::of(&c);
        let base = src.as_ptr() as usize;
        let sink = match c.log {
            config::Log::Inherit => Sink::Inherit,
            config::Log::Null => Sink::Null,
            config::Log::Prefix => Sink::Prefix,
            config::Log::Syslog => Sink::Syslog,
            config::Log::File(p) => Sink::File {
                at: (p.as_ptr() as usize).saturating_sub(base) as u16,
                len: p.len() as u16,
                size: c.log_size,
                keep: c.log_keep as u8,
            },
        };
        let time = c.log_time;
        drop(c);
        if let Some(e) = self.entries.get_mut(i) {
            e.svc.policy = policy;
            e.sink = sink;
            e.time = time;
        }
    }

    /// Drops an entry and its bytes.
    pub fn forget(&mut self, i: usize) {
        if i >= self.entries.len() {
            return;
        }
        let e = self.entries.remove(i);
        self.moves = self.moves.wrapping_add(1);
        for s in [e.err, e.next, e.cfg, e.name] {
            self.release(s);
        }
    }

    /// The earliest deadline of any service, if one is pending.
    pub fn next_deadline(&self) -> Option<u64> {
        self.entries.iter().map(|e| e.svc.deadline).filter(|&d| d != 0).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Box<Table> {
        Box::new(Table::new())
    }

    fn names(t: &Table) -> Vec<String, 200> {
        t.entries.iter().map(|e| String::from_utf8_lossy(t.bytes(e.name)).into_owned()).collect()
    }

    #[test]
    fn names_and_ignored_names() {
        for ok in ["a", "web", "a.b_c-d@e+f", "X9", &"n".repeat(64)] {
            assert!(valid_name(ok.as_bytes()), "{ok}");
        }
        for bad in ["", "a b", "a/b", "é", "a:b", &"n".repeat(65)] {
            assert_eq!(name_fault(bad.as_bytes()), Some(Why::BadName), "{bad}");
        }
        for kept in ["cgroup.procs", "memory.max", "cpu.pressure", "irq.pressure", "pids.x", "io.", "dmem.max"] {
            assert_eq!(name_fault(kept.as_bytes()), Some(Why::Reserved), "{kept}");
        }
        for ok in ["cgroup", "memory", "memory-hog.1", "nginx.service", "mycpu.max", "cpu@1", "cgroups.x"] {
            assert!(valid_name(ok.as_bytes()), "{ok}");
        }
        for ign in [
            ".x",
            "x~",
            "x.swp",
            "x.tmp",
            "x.bak",
            "x.dpkg-new",
            "x.dpkg-old",
            "x.dpkg-dist",
            "x.rpmnew",
            "x.rpmsave",
            "#x#",
        ] {
            assert!(ignored_name(ign.as_bytes()), "{ign}");
        }
        assert!(!ignored_name(b"web"));
    }

    #[test]
    fn added_in_name_order_and_unchanged() {
        let mut t = table();
        t.begin_scan();
        for n in ["web", "db", "cron"] {
            assert_eq!(t.update(n.as_bytes(), Ok(b"cmd=x\n")), Outcome::Added);
        }
        assert_eq!(names(&t).as_slice(), ["cron", "db", "web"]);
        for i in 0..3 {
            assert_eq!(t.entries[i].news, News::Config);
            assert!(t.swap_in_next(i));
            assert_eq!(t.bytes(t.entries[i].cfg), b"cmd=x\n");
        }
        t.begin_scan();
        assert_eq!(t.update(b"db", Ok(b"cmd=x\n")), Outcome::Unchanged);
        assert_eq!(t.unseen(0), Some(0));
        assert_eq!(t.unseen(1), Some(2));
        assert_eq!(t.unseen(3), None);
    }

    #[test]
    fn changed_invalid_kept_and_reverted() {
        let mut t = table();
        t.update(b"a", Ok(b"cmd=one\n"));
        t.swap_in_next(0);
        assert_eq!(t.update(b"a", Ok(b"cmd=two\n")), Outcome::Changed);
        assert_eq!(t.update(b"a", Ok(b"cmd=two\n")), Outcome::Unchanged);
        assert_eq!(t.update(b"a", Err(b":1: bad")), Outcome::InvalidKept);
        assert_eq!(t.bytes(t.entries[0].err), b":1: bad");
        assert_eq!(t.bytes(t.entries[0].cfg), b"cmd=one\n");
        // Back to what runs: the waiting change is dropped.
        assert_eq!(t.update(b"a", Ok(b"cmd=one\n")), Outcome::Unchanged);
        assert!(t.entries[0].next.is_empty() && t.entries[0].err.is_empty());
        assert_eq!(t.entries[0].news, News::Present);
        assert!(!t.swap_in_next(0));
    }

    #[test]
    fn order_only_changes_apply_in_place() {
        let mut t = table();
        t.update(b"a", Ok(b"cmd=one\n"));
        t.swap_in_next(0);
        t.entries[0].news = News::None;
        assert_eq!(t.update(b"a", Ok(b"cmd=one\nafter=b\n")), Outcome::Reordered);
        assert_eq!(t.bytes(t.entries[0].cfg), b"cmd=one\nafter=b\n");
        assert!(t.entries[0].next.is_empty());
        assert_eq!(t.entries[0].news, News::Present);
        // On a waiting config, the waiting one takes the new order.
        assert_eq!(t.update(b"a", Ok(b"cmd=two\n")), Outcome::Changed);
        assert_eq!(t.update(b"a", Ok(b"cmd=two\nafter=c\n")), Outcome::Reordered);
        assert_eq!(t.effective(0), b"cmd=two\nafter=c\n");
        assert_eq!(t.cfg(0), b"cmd=one\nafter=b\n");
        assert_eq!(t.entries[0].news, News::Config);
    }

    #[test]
    fn a_reorder_that_does_not_fit_keeps_what_runs() {
        let mut t = table();
        t.update(b"a", Ok(b"cmd=one\n"));
        t.swap_in_next(0);
        t.entries[0].news = News::None;
        // Fill the arena to a few bytes short of its end.
        let mut n = 0;
        while t.used() + 4100 < ARENA_BYTES {
            t.update(format!("f{n}").as_bytes(), Ok(&[b'x'; 4000]));
            n += 1;
        }
        let free = ARENA_BYTES - t.used();
        let names = vec![b'b'; free + 64];
        let new = [&b"cmd=one\nafter="[..], &names, b"\n"].concat();
        assert!(config::same_but_order(b"cmd=one\n", &new));
        assert_eq!(t.update(b"a", Ok(&new)), Outcome::InvalidKept);
        assert_eq!(t.cfg(0), b"cmd=one\n");
        assert!(t.bytes(t.entries[0].err).starts_with(b": no room"));
        // On a waiting config, the waiting one is what is kept.
        assert_eq!(t.update(b"a", Ok(b"cmd=two\n")), Outcome::Changed);
        let new = [&b"cmd=two\nafter="[..], &names, b"\n"].concat();
        assert_eq!(t.update(b"a", Ok(&new)), Outcome::InvalidKept);
        assert_eq!(t.cfg(0), b"cmd=one\n");
    }

    #[test]
    fn sinks_and_policies_are_read_once() {
        let mut t = table();
        t.update(b"a", Ok(b"cmd=x\nlog=/var/log/a.log\nlog_size=2k\nlog_keep=3\nlog_time=utc\nready=fd:4\n"));
        t.swap_in_next(0);
        assert_eq!(t.log_path(0), b"/var/log/a.log");
        assert!(matches!(t.entries[0].sink, Sink::File { size: 2048, keep: 3, .. }));
        assert_eq!(t.entries[0].time, LogTime::Utc);
        assert_eq!(t.entries[0].svc.policy.ready, config::Ready::Fd(4));
        // The path follows its config when the arena moves.
        t.update(b"0", Ok(b"cmd=y\n"));
        t.swap_in_next(0);
        t.forget(0);
        assert_eq!(t.log_path(0), b"/var/log/a.log");
    }

    #[test]
    fn invalid_then_valid() {
        let mut t = table();
        assert_eq!(t.update(b"a", Err(b": no cmd")), Outcome::Invalid);
        assert_eq!(t.entries[0].svc.state, State::Failed(crate::service::Fault::Invalid));
        assert_eq!(t.entries[0].news, News::None);
        assert_eq!(t.update(b"a", Err(b":2: other")), Outcome::Invalid);
        assert_eq!(t.bytes(t.entries[0].err), b":2: other");
        assert_eq!(t.update(b"a", Ok(b"cmd=x\nrestart=never\nstop_signal=INT\nstop_timeout=3\n")), Outcome::Added);
        t.swap_in_next(0);
        let s = t.entries[0].svc;
        assert_eq!(s.state, State::Down);
        let p = s.policy;
        assert_eq!((p.restart, p.stop_signal, p.stop_timeout), (config::Restart::Never, 2, 3));
    }

    #[test]
    fn capacity_rejects_by_name() {
        let mut t = table();
        for i in 0..MAX_SERVICES {
            assert_eq!(t.update(format!("s{i:03}").as_bytes(), Ok(b"cmd=x\n")), Outcome::Added);
        }
        assert_eq!(t.update(b"zzz", Ok(b"cmd=x\n")), Outcome::Full);
        assert_eq!(t.rejected[0].name(), b"zzz");
        assert_eq!(t.rejected[0].why, Why::Full);
        // A name that sorts first takes the place of the last one that never ran.
        let last = format!("s{:03}", MAX_SERVICES - 1);
        assert_eq!(t.update(b"a", Ok(b"cmd=x\n")), Outcome::Added);
        assert_eq!(t.name(0), b"a");
        assert!(t.find(last.as_bytes()).is_err());
        assert_eq!(t.rejected.last().unwrap().name(), last.as_bytes());
        // Services that ran are never evicted.
        for e in t.entries.iter_mut() {
            e.svc.spawns = 1;
        }
        assert_eq!(t.update(b"0", Ok(b"cmd=x\n")), Outcome::Full);
        // An existing service can still change.
        assert_eq!(t.update(b"s000", Ok(b"cmd=y\n")), Outcome::Added);
    }

    /// What `stage` and `flush` make of names in a listing's order, and
    /// then `entry` once they are full, as a first read does.
    fn staged_table(order: &[std::string::String]) -> Box<Table> {
        let mut t = table();
        let mut staged = Staged::new();
        for n in order {
            if !t.stage(&mut staged, n.as_bytes()) {
                t.flush(&mut staged);
                let _ = t.entry(n.as_bytes());
            }
        }
        t.flush(&mut staged);
        t
    }

    #[test]
    fn staged_names_make_the_table_entry_makes_in_any_order() {
        for count in [0, 1, 5, MAX_SERVICES, MAX_SERVICES + 9] {
            let sorted: std::vec::Vec<_> = (0..count).map(|i| format!("s{i:03}")).collect();
            let reversed: std::vec::Vec<_> = sorted.iter().rev().cloned().collect();
            // A fixed shuffle: i * 7919 mod a prime above count.
            let mut shuffled = sorted.clone();
            shuffled.sort_by_key(|n| n[1..].parse::<usize>().unwrap_or(0) * 7919 % 277);
            let mut with_dup = reversed.clone();
            if let Some(first) = sorted.first() {
                with_dup.insert(with_dup.len() / 2, first.clone());
            }
            let mut by_entry = table();
            for n in &reversed {
                let _ = by_entry.entry(n.as_bytes());
            }
            for order in [&sorted, &reversed, &shuffled, &with_dup] {
                let t = staged_table(order);
                let all = |t: &Table| t.entries.iter().map(|e| t.bytes(e.name).to_vec()).collect::<std::vec::Vec<_>>();
                assert_eq!(all(&t), all(&by_entry), "{count} names");
                assert_eq!(t.entries.len(), count.min(MAX_SERVICES));
                // Each name once in the arena and no other: an evicted one
                // or a duplicate leaves nothing behind.
                let kept: usize = t.entries.iter().map(|e| usize::from(e.name.len)).sum();
                assert_eq!(t.used(), kept, "{count} names");
            }
        }
    }

    #[test]
    fn staging_stops_at_what_the_table_holds() {
        let mut t = table();
        let mut staged = Staged::new();
        assert!(t.stage(&mut staged, b"b"));
        t.flush(&mut staged);
        assert!(staged.is_empty());
        // A name already in the table is not staged again.
        assert!(t.stage(&mut staged, b"b"));
        assert!(staged.is_empty());
        for i in 0..MAX_SERVICES - 1 {
            assert!(t.stage(&mut staged, format!("n{i:03}").as_bytes()));
        }
        assert!(!t.stage(&mut staged, b"a"), "the table and the staged names are full");
        t.flush(&mut staged);
        assert_eq!(t.entries.len(), MAX_SERVICES);
        assert_eq!(t.name(0), b"b");
        // `entry` then evicts the last that never ran for a name before it.
        assert_eq!(t.entry(b"a"), Some(0));
        assert_eq!(t.name(MAX_SERVICES - 1), b"n253");
    }

    #[test]
    fn arena_full_is_an_error_not_a_panic() {
        let mut t = table();
        let big = vec![b'x'; 4000];
        let mut n = 0;
        loop {
            match t.update(format!("s{n}").as_bytes(), Ok(&big)) {
                Outcome::Added => n += 1,
                Outcome::Invalid => break,
                o => panic!("{o:?}"),
            }
        }
        assert!(n >= ARENA_BYTES / 4096 - 1);
        let last = t.entries.iter().find(|e| !e.err.is_empty()).unwrap();
        assert!(t.bytes(last.err).starts_with(b": no room"));
    }

    #[test]
    fn forget_compacts_and_keeps_other_spans() {
        let mut t = table();
        for (n, c) in [("a", "cmd=aa\n"), ("b", "cmd=bbb\n"), ("c", "cmd=c\n")] {
            t.update(n.as_bytes(), Ok(c.as_bytes()));
        }
        for i in 0..3 {
            t.swap_in_next(i);
        }
        let before = t.used();
        t.forget(1);
        assert_eq!(names(&t).as_slice(), ["a", "c"]);
        assert_eq!(t.bytes(t.entries[0].cfg), b"cmd=aa\n");
        assert_eq!(t.bytes(t.entries[1].cfg), b"cmd=c\n");
        assert_eq!(t.used(), before - 1 - 8);
        t.forget(0);
        t.forget(0);
        assert_eq!(t.used(), 0);
        t.forget(0);
    }

    #[test]
    fn churn_never_leaks_arena_bytes() {
        let mut t = table();
        let mut seed = 99u32;
        for round in 0..2000 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let name = format!("s{}", seed % 40);
            match seed % 5 {
                0 => {
                    if let Ok(i) = t.find(name.as_bytes()) {
                        t.forget(i)
                    }
                }
                1 => {
                    t.update(name.as_bytes(), Err(b":1: x"));
                }
                _ => {
                    let cfg = format!("cmd=/bin/{}\n", "y".repeat((seed % 200) as usize + round % 3));
                    t.update(name.as_bytes(), Ok(cfg.as_bytes()));
                    if seed.is_multiple_of(2) {
                        t.swap_in_next(t.find(name.as_bytes()).unwrap());
                    }
                }
            }
            let live: usize = t
                .entries
                .iter()
                .map(|e| [e.name, e.cfg, e.next, e.err].iter().map(|s| usize::from(s.len)).sum::<usize>())
                .sum();
            assert_eq!(live, t.used(), "round {round}");
        }
    }

    #[test]
    fn deadlines() {
        let mut t = table();
        assert_eq!(t.next_deadline(), None);
        t.update(b"a", Ok(b"cmd=x\n"));
        t.update(b"b", Ok(b"cmd=x\n"));
        t.entries[0].svc.deadline = 50;
        t.entries[1].svc.deadline = 20;
        assert_eq!(t.next_deadline(), Some(20));
    }
}
#[cfg(test)]
mod sizes {
    #[test]
    fn print_sizes() {
        use core::mem::size_of;
        eprintln!(
            "Entry {} Service {} Capture {} Run {} Sink {} Table {} Graph {} Prepared {} Client {} State {} Policy {}",
            size_of::<super::Entry>(),
            size_of::<crate::service::Service>(),
            size_of::<super::Capture>(),
            size_of::<super::Run>(),
            size_of::<super::Sink>(),
            size_of::<super::Table>(),
            size_of::<crate::graph::Graph>(),
            size_of::<crate::spawn::Prepared>(),
            size_of::<crate::control::Client>(),
            size_of::<crate::service::State>(),
            size_of::<crate::service::Policy>()
        );
    }
}
