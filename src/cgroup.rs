//! cgroup v2 (SPEC §11): each service in a cgroup of its own, so that
//! everything it starts is tracked, stopped, limited and measured.
//!
//! Where: on the cgroup2 mount (`/sys/fs/cgroup`, or
//! `/sys/fs/cgroup/unified` on a hybrid system), in the cgroup going was
//! started in (the `0::` line of /proc/self/cgroup), a subtree that is
//! this going's alone, named from its control socket (`/run/going.sock`
//! gives `going@run-going.sock`, see `subtree_name`), and in it one
//! cgroup per service named exactly as the service. going holds an
//! exclusive flock on the subtree's directory while it runs, so a second
//! going on the same socket path never empties what a live one runs; it
//! only ever kills, empties or removes cgroups of its own subtree. When a
//! controller must be enabled in the cgroup going was started in and
//! that cgroup holds going itself (cgroup2's no-internal-process rule),
//! going moves itself into the subtree's `.supervisor` (no service name
//! starts with a dot).
//!
//! Children are started in their cgroup (`clone3` with
//! `CLONE_INTO_CGROUP`, see `sys::spawn_into`); where the kernel cannot,
//! the child writes itself into `cgroup.procs`. Whether a cgroup is empty
//! is read from `cgroup.events` when its main process is reaped, and
//! otherwise learnt from a one-shot inotify watch on that file: one
//! descriptor for all services, no watch while nothing drains.
//!
//! A service may make cgroups below its own. `cgroup.kill` and
//! `populated` cover them already; signalling, killing by the pids and
//! removal reach them through `walk`, bounded by `CGROUP_DEPTH` and
//! `CGROUP_WALK`, which reads a directory only then.
//!
//! Parsing is pure and tested here. Everything else reads and writes the
//! cgroup filesystem relative to the subtree's directory: no long path is
//! kept (the watches name their file through /proc/self/fd). Without
//! cgroup2, or where the subtree cannot be made (not root, read-only),
//! `Cgroups` is empty: services run in process groups as before, and a
//! limit key makes its service failed.

use crate::config::Config;
use crate::fmt::{Line, parse_u64};
use crate::limits::{CGROUP_DEPTH, CGROUP_SWEEP_NS, CGROUP_WALK, SEC};
use crate::log::Log;
use crate::service::Setup;
use crate::sys;
use core::ffi::CStr;
use core::mem::MaybeUninit;
use rustix::event::{PollFd, PollFlags, poll};
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use rustix::fs::inotify::{self, CreateFlags, WatchFlags};
use rustix::fs::{
    AtFlags, CWD, FileType, FlockOperation, Mode, OFlags, RawDir, flock, fstat, mkdirat, openat, statat, statfs,
    unlinkat,
};
use rustix::io::Errno;

/// `statfs` type of cgroup2 (`CGROUP2_SUPER_MAGIC`).
const CGROUP2_MAGIC: u64 = 0x6367_7270;
/// Where cgroup2 is looked for: the unified layout, then the hybrid one.
const MOUNTS: [&CStr; 2] = [c"/sys/fs/cgroup", c"/sys/fs/cgroup/unified"];
/// The leaf going moves itself into when it must leave its own cgroup.
const SUPERVISOR: &[u8] = b".supervisor";
/// How services run without cgroups, as every message says it.
const TRACKED: &[u8] = b"services are tracked by their process groups";
/// Longest file name (`NAME_MAX`).
const NAME_MAX: usize = 255;
/// The period of `cpu.max`, µs.
const CPU_PERIOD: u64 = 100_000;

/// A controller that limit keys need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ctl {
    Memory,
    Pids,
    Cpu,
}

impl Ctl {
    fn name(self) -> &'static [u8] {
        match self {
            Ctl::Memory => b"memory",
            Ctl::Pids => b"pids",
            Ctl::Cpu => b"cpu",
        }
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// How many limit keys there are: 0 `memory_max`, 1 `pids_max`, 2
/// `cpu_max`, 3 `cpu_weight`, the numbering of `Setup::NoController`.
pub const LIMIT_KEYS: u8 = 4;

/// The limit keys of a config, kept past the config's bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    memory_max: Option<u64>,
    pids_max: Option<u64>,
    cpu_max: Option<u32>,
    cpu_weight: Option<u32>,
}

impl Limits {
    pub fn of(c: &Config) -> Limits {
        Limits { memory_max: c.memory_max, pids_max: c.pids_max, cpu_max: c.cpu_max, cpu_weight: c.cpu_weight }
    }
}

/// Limit key `k`: its controller and file, with the value written into
/// `l`; `None` when the config does not set it.
pub fn limit(c: &Limits, k: u8, l: &mut Line) -> Option<(Ctl, &'static [u8])> {
    match k {
        0 => {
            l.u(c.memory_max?);
            Some((Ctl::Memory, b"memory.max"))
        }
        1 => {
            l.u(c.pids_max?);
            Some((Ctl::Pids, b"pids.max"))
        }
        2 => {
            cpu_max(l, c.cpu_max?);
            Some((Ctl::Cpu, b"cpu.max"))
        }
        3 => {
            l.u(u64::from(c.cpu_weight?));
            Some((Ctl::Cpu, b"cpu.weight"))
        }
        _ => None,
    }
}

/// `cpu.max` for a percentage of one CPU: `QUOTA PERIOD` in µs.
pub fn cpu_max(l: &mut Line, percent: u32) {
    l.u(u64::from(percent) * CPU_PERIOD / 100).s(b" ").u(CPU_PERIOD);
}

/// The cgroup path of the `0::` line of `/proc/PID/cgroup`; `None` when
/// there is none or it lies outside what this cgroup namespace sees.
pub fn own_path(proc_cgroup: &[u8]) -> Option<&[u8]> {
    let path = proc_cgroup.split(|&b| b == b'\n').find_map(|l| l.strip_prefix(b"0::"))?;
    let outside = path.split(|&b| b == b'/').any(|c| c == b"..");
    (path.first() == Some(&b'/') && !outside).then_some(path)
}

/// The cgroup a going was started in: its own, unless that is its
/// subtree's `.supervisor` (a going started by a previous one).
pub fn base_of<'a>(own: &'a [u8], subtree: &[u8]) -> &'a [u8] {
    let Some(rest) = own.strip_suffix(SUPERVISOR).and_then(|r| r.strip_suffix(b"/")) else { return own };
    match rest.strip_suffix(subtree).and_then(|r| r.strip_suffix(b"/")) {
        Some(b"") => b"/",
        Some(base) => base,
        None => own,
    }
}

/// The subtree's name for the control socket at `socket` (relative ones
/// are taken in `cwd`): `going@` and the path without its leading `/`,
/// each `/` written `-` and each byte but `A-Z a-z 0-9 . _ + @` as `%xx`
/// (a `-` too), so two paths never give one name. `false` when the name
/// would be longer than a file name may be.
pub fn subtree_name(cwd: &[u8], socket: &[u8], out: &mut heapless::Vec<u8, NAME_MAX>) -> bool {
    let dir: &[u8] = if socket.first() == Some(&b'/') { b"" } else { cwd };
    let sep: &[u8] = if dir.is_empty() { b"" } else { b"/" };
    let hex = |n: u8| b"0123456789abcdef".get(usize::from(n & 15)).copied().unwrap_or(b'0');
    out.clear();
    let _ = out.extend_from_slice(b"going@");
    dir.iter().chain(sep).chain(socket).skip_while(|&&b| b == b'/').all(|&b| match b {
        b'/' => out.push(b'-').is_ok(),
        _ if b.is_ascii_alphanumeric() || b"._+@".contains(&b) => out.push(b).is_ok(),
        _ => out.extend_from_slice(&[b'%', hex(b >> 4), hex(b)]).is_ok(),
    })
}

/// Is `word` one of the blank-separated words of `list`
/// (`cgroup.controllers`, `cgroup.subtree_control`)?
pub fn has_word(list: &[u8], word: &[u8]) -> bool {
    list.split(|b| b.is_ascii_whitespace()).any(|w| w == word)
}

/// The value of `key` in a flat-keyed file (`cgroup.events`, `cpu.stat`,
/// `memory.events`): lines of `key value`.
pub fn field(text: &[u8], key: &[u8]) -> Option<u64> {
    text.split(|&b| b == b'\n').find_map(|l| {
        let v = l.strip_prefix(key)?.strip_prefix(b" ")?;
        parse_u64(v.trim_ascii())
    })
}

/// Pids of a `cgroup.procs` read in pieces of any size.
#[derive(Default)]
pub struct Pids {
    n: u64,
    digits: bool,
}

impl Pids {
    /// Takes the next bytes; calls `f` with every pid they complete.
    pub fn feed(&mut self, bytes: &[u8], f: &mut impl FnMut(i32)) {
        for &b in bytes {
            if b.is_ascii_digit() {
                self.n = self.n.saturating_mul(10).saturating_add(u64::from(b - b'0'));
                self.digits = true;
            } else {
                self.end(f);
            }
        }
    }

    /// The end of the file.
    pub fn end(&mut self, f: &mut impl FnMut(i32)) {
        if let (true, Ok(pid)) = (self.digits, i32::try_from(self.n)) {
            f(pid);
        }
        *self = Pids::default();
    }
}

/// `a/b` (or `a` alone when `b` is empty) as a C string in `buf`.
fn join<'b>(buf: &'b mut [u8; 192], a: &[u8], b: &[u8]) -> Result<&'b CStr, Errno> {
    let sep: &[u8] = if b.is_empty() { b"" } else { b"/" };
    crate::safefile::c_string(buf, &[a, sep, b]).ok_or(Errno::NAMETOOLONG)
}

/// Reads a small file below `dir`, up to the size of `buf`. A cgroup's
/// interface files are made whole for each read, so one that comes back
/// short is the whole file: no second read is needed to see the end.
fn read_at<'b>(dir: BorrowedFd<'_>, path: &CStr, buf: &'b mut [u8]) -> Result<&'b [u8], Errno> {
    let fd = openat(dir, path, OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW, Mode::empty())?;
    let mut n = 0;
    while let Some(rest) = buf.get_mut(n..).filter(|r| !r.is_empty()) {
        let room = rest.len();
        match rustix::io::read(&fd, rest) {
            Ok(0) => break,
            Ok(k) if k < room => {
                n += k;
                break;
            }
            Ok(k) => n += k,
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(buf.get(..n).unwrap_or(&[]))
}

/// Writes one value into a file below `dir` (a cgroup interface file).
fn write_at(dir: BorrowedFd<'_>, path: &CStr, value: &[u8]) -> Result<(), Errno> {
    let fd = openat(dir, path, OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW, Mode::empty())?;
    rustix::io::write(&fd, value).map(|_| ())
}

/// Reads `NAME/FILE` of the cgroup tree `dir`.
fn read_file<'b>(dir: BorrowedFd<'_>, name: &[u8], file: &[u8], buf: &'b mut [u8]) -> Result<&'b [u8], Errno> {
    let mut p = [0u8; 192];
    read_at(dir, join(&mut p, name, file)?, buf)
}

fn write_file(dir: BorrowedFd<'_>, name: &[u8], file: &[u8], value: &[u8]) -> Result<(), Errno> {
    let mut p = [0u8; 192];
    write_at(dir, join(&mut p, name, file)?, value)
}

/// Has cgroup `name` of `dir` a process left? A cgroup that cannot be
/// read has none that going could wait for.
fn populated(dir: BorrowedFd<'_>, name: &[u8]) -> bool {
    let mut buf = [0u8; 128];
    read_file(dir, name, b"cgroup.events", &mut buf).ok().and_then(|t| field(t, b"populated")).is_some_and(|n| n != 0)
}

/// Sends `sigs`, in turn, to every process of the cgroup `dir`; returns
/// whether `main` was among them.
fn signal_each(dir: BorrowedFd<'_>, sigs: &[i32], main: i32) -> bool {
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
    let Ok(fd) = openat(dir, c"cgroup.procs", flags, Mode::empty()) else { return false };
    let mut seen = false;
    let mut send = |pid: i32| {
        seen |= pid == main;
        for &sig in sigs {
            let _ = sys::kill(pid, sig, false);
        }
    };
    let (mut pids, mut buf) = (Pids::default(), [0u8; 512]);
    while let Ok(n) = rustix::io::read(&fd, &mut buf) {
        if n == 0 {
            break;
        }
        pids.feed(buf.get(..n).unwrap_or(&[]), &mut send);
    }
    pids.end(&mut send);
    seen
}

/// Sends `sigs` to every process of service `name`'s cgroup and of the
/// cgroups the service made below it; returns whether `main` was among
/// them.
fn signal_tree(tree: BorrowedFd<'_>, name: &[u8], sigs: &[i32], main: i32) -> bool {
    let mut seen = false;
    walk(tree, name, false, &mut |dir| seen |= signal_each(dir, sigs, main));
    seen
}

/// One directory of a walk: where to read on, and the child cgroup being
/// walked (its inode; 0: none), which that read finds first.
struct Level {
    dir: OwnedFd,
    pos: u64,
    child: u64,
}

/// Calls `f` with the directory of service `name`'s cgroup and of every
/// cgroup below it, parents first; with `rmdir`, removes each cgroup below
/// it once those below that are done, deepest first (one in use stays).
/// At most `CGROUP_DEPTH` levels below it and `CGROUP_WALK` cgroups seen
/// in all, one directory descriptor open per level: what a service makes
/// bounds neither the work nor the stack. Each directory is opened by its
/// single name relative to its parent's descriptor, never through a
/// symbolic link, so a walk stays in the service's cgroup.
fn walk(tree: BorrowedFd<'_>, name: &[u8], rmdir: bool, f: &mut dyn FnMut(BorrowedFd<'_>)) {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
    let mut p = [0u8; 192];
    let Ok(root) = join(&mut p, name, b"").and_then(|d| openat(tree, d, flags, Mode::empty())) else { return };
    f(root.as_fd());
    // A cgroup's links are its subdirectories and two: most services make
    // none, and their directory need not be read.
    if fstat(&root).is_ok_and(|st| st.st_nlink == 2) {
        return;
    }
    let mut stack = heapless::Vec::<Level, { CGROUP_DEPTH + 1 }>::new();
    let _ = stack.push(Level { dir: root, pos: 0, child: 0 });
    let (mut seen, mut buf) = (0, [MaybeUninit::<u8>::uninit(); 1024]);
    loop {
        let deeper = stack.len() <= CGROUP_DEPTH;
        let Some(Level { dir, pos, child }) = stack.last_mut() else { return };
        if *child != 0 && rustix::fs::seek(&*dir, rustix::fs::SeekFrom::Start(*pos)).is_err() {
            *child = 0;
        }
        let mut next = None;
        let mut it = RawDir::new(&*dir, &mut buf);
        while let Some(Ok(e)) = it.next() {
            let (at, ino, name) = (*pos, e.ino(), e.file_name());
            *pos = e.next_entry_cookie();
            if e.file_type() != FileType::Directory || name == c"." || name == c".." {
                continue;
            }
            if core::mem::take(child) == ino {
                if rmdir {
                    let _ = unlinkat(&*dir, name, AtFlags::REMOVEDIR);
                }
                continue;
            }
            if seen == CGROUP_WALK {
                return;
            }
            seen += 1;
            if let Some(fd) = deeper.then(|| openat(&*dir, name, flags, Mode::empty()).ok()).flatten() {
                (*pos, *child) = (at, ino);
                f(fd.as_fd());
                next = Some(fd);
                break;
            }
        }
        match next {
            Some(dir) => drop(stack.push(Level { dir, pos: 0, child: 0 })),
            None => drop(stack.pop()),
        }
    }
}

/// Removes service `name`'s cgroup, and first the cgroups the service
/// made below it when there are any (the directory is read only then).
fn remove_tree(tree: BorrowedFd<'_>, name: &[u8]) -> Result<(), Errno> {
    let mut p = [0u8; 192];
    let dir = join(&mut p, name, b"")?;
    match unlinkat(tree, dir, AtFlags::REMOVEDIR) {
        Err(Errno::BUSY | Errno::NOTEMPTY) => {
            walk(tree, name, true, &mut |_| {});
            unlinkat(tree, dir, AtFlags::REMOVEDIR)
        }
        r => r,
    }
}

/// The cgroups of every service, or none.
pub struct Cgroups {
    /// The subtree's directory, flocked while going runs; `None`: no
    /// cgroups.
    tree: Option<OwnedFd>,
    /// One-shot watches on the `cgroup.events` of draining services;
    /// open only while one drains.
    notes: Option<OwnedFd>,
    /// Controllers enabled for the services, one bit per `Ctl`.
    enabled: u8,
    /// going lives in `.supervisor`.
    moved: bool,
    /// No `cgroup.kill` (before Linux 5.14): kill by the pids instead.
    no_kill: bool,
    /// `clone3` into a cgroup was refused (before 5.7): children write
    /// themselves into `cgroup.procs`.
    pub no_clone3: bool,
}

/// What `going status` shows of a service's cgroup.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// `cpu.stat` `usage_usec`.
    pub cpu_usec: Option<u64>,
    /// `memory.current`, `memory.peak`, bytes; `memory.events` `oom_kill`.
    pub memory: Option<u64>,
    pub peak: Option<u64>,
    pub oom_kills: Option<u64>,
}

impl Cgroups {
    pub const fn none() -> Self {
        Cgroups { tree: None, notes: None, enabled: 0, moved: false, no_kill: false, no_clone3: false }
    }

    pub fn active(&self) -> bool {
        self.tree.is_some()
    }

    fn tree(&self) -> Option<BorrowedFd<'_>> {
        self.tree.as_ref().map(|t| t.as_fd())
    }

    /// Finds cgroup2 and makes (or takes back) this going's subtree; on
    /// any failure says why and leaves going without cgroups. Its buffers
    /// stay out of the supervisor's frame.
    #[inline(never)]
    pub fn open(socket: &CStr, log: &mut Log) -> Cgroups {
        let mut cg = Cgroups::none();
        let is_cgroup2 = |m: &&CStr| statfs(*m).is_ok_and(|s| s.f_type as u64 == CGROUP2_MAGIC);
        let Some(mount) = MOUNTS.into_iter().find(is_cgroup2) else {
            log.info(|l| {
                l.s(b"no cgroup2 mounted: ").s(TRACKED);
            });
            return cg;
        };
        let mut name = heapless::Vec::new();
        let mut own = [0u8; 1024];
        if !name_for(socket, &mut name) {
            log.error(|l| {
                l.s(b"the control socket's path is too long to name a cgroup after it; ");
                l.s(TRACKED);
            });
            return cg;
        }
        match cg.attach(mount, &name, &mut own) {
            Ok(base) => {
                log.info(|l| {
                    l.s(b"services run in cgroups below ").s(mount.to_bytes());
                    l.s(base.strip_suffix(b"/").unwrap_or(base)).s(b"/").s(&name);
                });
                cg.probe(log);
            }
            Err((what, e)) => log.error(|l| {
                l.s(b"cgroup2 at ").s(mount.to_bytes()).s(b": ").s(what).s(b" ").s(&name).s(b": ");
                l.s(sys::strerror(e)).s(b"; ").s(TRACKED);
            }),
        }
        cg
    }

    /// Opens going's cgroup on `mount` and makes the subtree `name` in it;
    /// returns that cgroup's path.
    fn attach<'o>(
        &mut self,
        mount: &CStr,
        name: &[u8],
        own: &'o mut [u8; 1024],
    ) -> Result<&'o [u8], (&'static [u8], Errno)> {
        let cannot = |what: &'static [u8]| move |e| (what, e);
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let root = openat(CWD, mount, flags, Mode::empty()).map_err(cannot(b"cannot open"))?;
        let mut text = [0u8; 2048];
        let read =
            read_at(CWD.as_fd(), c"/proc/self/cgroup", &mut text).map_err(cannot(b"cannot read its cgroup for"))?;
        let base = own_path(read).map(|p| base_of(p, name)).ok_or((&b"no cgroup of its own for"[..], Errno::NOENT))?;
        let too_long = (&b"too long a cgroup path for"[..], Errno::NAMETOOLONG);
        let len = base.len();
        own.get_mut(..len).ok_or(too_long)?.copy_from_slice(base);
        *own.get_mut(len).ok_or(too_long)? = 0;
        let own: &'o [u8; 1024] = own;
        let rel = match own.get(1..) {
            Some(r) if len > 1 => CStr::from_bytes_until_nul(r).map_err(|_| too_long)?,
            _ => c".",
        };
        let base_fd = openat(&root, rel, flags, Mode::empty()).map_err(cannot(b"cannot open its cgroup for"))?;
        let mut p = [0u8; 192];
        let sub = join(&mut p, name, b"").map_err(cannot(b"cannot name"))?;
        match mkdirat(&base_fd, sub, Mode::from_bits_truncate(0o755)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err((b"cannot create", e)),
        }
        let tree = openat(&base_fd, sub, flags | OFlags::NOFOLLOW, Mode::empty()).map_err(cannot(b"cannot open"))?;
        let st = fstat(&tree).map_err(cannot(b"cannot stat"))?;
        if st.st_uid != rustix::process::geteuid().as_raw() {
            return Err((b"another user owns", Errno::PERM));
        }
        match flock(&tree, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(Errno::WOULDBLOCK) => return Err((b"another going is using", Errno::WOULDBLOCK)),
            Err(e) => return Err((b"cannot lock", e)),
        }
        self.no_kill = statat(&tree, c"cgroup.kill", AtFlags::empty()).is_err();
        self.tree = Some(tree);
        Ok(own.get(..len).unwrap_or(b"/"))
    }

    /// Finds out what this kernel can do: `clone3` into a cgroup (5.7),
    /// and whether a cgroup once killed through `cgroup.kill` can still
    /// take children that way. Some kernels (6.18 here, and the stable
    /// ones that took the `kill_seq` change) compare the new child's
    /// kill count against the parent's cgroup instead of its own and
    /// SIGKILL every child started in a cgroup that was ever killed;
    /// there going kills by the pids of `cgroup.procs` instead.
    fn probe(&mut self, log: &mut Log) {
        let Some(tree) = self.tree.as_ref().map(|t| sys::borrow(t.as_raw_fd())) else { return };
        // Until a child is seen started in a cgroup, children move themselves.
        self.no_clone3 = true;
        let mut p = [0u8; 192];
        let Ok(dir) = join(&mut p, b".probe", b"") else { return };
        let _ = mkdirat(tree, dir, Mode::from_bits_truncate(0o755));
        let killed = !self.no_kill && write_file(tree, b".probe", b"cgroup.kill", b"1").is_ok();
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
        let mut stack = [MaybeUninit::<u8>::uninit(); 1024];
        let started = openat(tree, dir, flags, Mode::empty())
            .and_then(|fd| sys::spawn_into(&mut stack, &mut || sys::exit_now(0), fd.as_fd()));
        match started {
            Ok(pid) => {
                self.no_clone3 = false;
                let waited = rustix::process::Pid::from_raw(pid)
                    .and_then(|p| rustix::process::waitpid(Some(p), rustix::process::WaitOptions::empty()).ok());
                if killed && waited.flatten().is_some_and(|(_, s)| s.terminating_signal() == Some(crate::sig::KILL)) {
                    self.no_kill = true;
                    log.info(|l| {
                        l.s(b"this kernel kills what clone3 starts in a cgroup once killed: ");
                        l.s(b"cgroups are emptied by their pids, not by cgroup.kill");
                    });
                }
            }
            Err(e) => log.info(|l| {
                l.s(b"clone3 does not start processes in cgroups here (").s(sys::strerror(e));
                l.s(b"): services move themselves into theirs, which is slower");
            }),
        }
        let _ = unlinkat(tree, dir, AtFlags::REMOVEDIR);
    }

    /// Enables `ctl` for the services; `Err(None)` when cgroup2 does not
    /// offer it here.
    fn enable(&mut self, ctl: Ctl) -> Result<(), Option<Errno>> {
        if self.enabled & ctl.bit() != 0 {
            return Ok(());
        }
        let Some(tree) = self.tree.as_ref().map(|t| sys::borrow(t.as_raw_fd())) else { return Err(None) };
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let base = openat(tree, c"..", flags, Mode::empty()).map_err(Some)?;
        let base = base.as_fd();
        let mut buf = [0u8; 256];
        let mut plus = Line::new();
        plus.s(b"+").s(ctl.name());
        let offered =
            |dir, buf: &mut [u8; 256]| read_at(dir, c"cgroup.controllers", buf).is_ok_and(|t| has_word(t, ctl.name()));
        if !offered(tree, &mut buf) {
            if !offered(base, &mut buf) {
                return Err(None);
            }
            // Below the root, a cgroup that gives a controller to its
            // children holds no process: with a domain controller the
            // kernel refuses (EBUSY); with a threaded one (cpu, pids) it
            // accepts, and the cgroup becomes a thread root below which no
            // service could run (EOPNOTSUPP). So going leaves first, and
            // nothing else may be left there.
            let root = statat(base, c"cgroup.type", AtFlags::empty()).is_err();
            if !root {
                if !self.moved {
                    self.move_into_leaf().map_err(Some)?;
                }
                let procs = read_at(base, c"cgroup.procs", &mut buf).map_err(Some)?;
                if procs.iter().any(u8::is_ascii_digit) {
                    return Err(Some(Errno::BUSY));
                }
            }
            write_at(base, c"cgroup.subtree_control", plus.bytes()).map_err(Some)?;
        }
        write_at(tree, c"cgroup.subtree_control", plus.bytes()).map_err(Some)?;
        self.enabled |= ctl.bit();
        Ok(())
    }

    /// Moves going into the subtree's `.supervisor`.
    fn move_into_leaf(&mut self) -> Result<(), Errno> {
        let tree = self.tree().ok_or(Errno::NOENT)?;
        let mut p = [0u8; 192];
        match mkdirat(tree, join(&mut p, SUPERVISOR, b"")?, Mode::from_bits_truncate(0o755)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(e),
        }
        write_file(tree, SUPERVISOR, b"cgroup.procs", b"0")?;
        self.moved = true;
        Ok(())
    }

    /// Makes sure service `name` has its cgroup, with `c`'s limits, made
    /// afresh for a new config (`fresh`), and opens its directory for
    /// `clone3`. `Ok(None)`: no cgroups. The flag says the cgroup is new
    /// (its counters start at 0). A call of its own, not inlined into
    /// fleet's `fork_exec`.
    #[inline(never)]
    pub fn prepare(&mut self, name: &[u8], c: &Limits, fresh: bool) -> Result<Option<(OwnedFd, bool)>, Setup> {
        let Some(tree) = self.tree.as_ref().map(|t| t.as_raw_fd()) else {
            // Never silently unlimited.
            return match (0..LIMIT_KEYS).find(|&k| limit(c, k, &mut Line::new()).is_some()) {
                Some(k) => Err(Setup::NoController(k)),
                None => Ok(None),
            };
        };
        let tree = sys::borrow(tree);
        let mut p = [0u8; 192];
        let dir = join(&mut p, name, b"").map_err(Setup::Cgroup)?;
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
        if !fresh && let Ok(fd) = openat(tree, dir, flags, Mode::empty()) {
            return Ok(Some((fd, false)));
        }
        let mode = Mode::from_bits_truncate(0o755);
        match mkdirat(tree, dir, mode) {
            // An old one (a new config, or one that lost its limits): anew.
            Err(Errno::EXIST) => {
                remove_tree(tree, name).map_err(Setup::Cgroup)?;
                mkdirat(tree, dir, mode).map_err(Setup::Cgroup)?;
            }
            r => r.map_err(Setup::Cgroup)?,
        }
        let made =
            self.set_limits(name, c).and_then(|()| openat(tree, dir, flags, Mode::empty()).map_err(Setup::Cgroup));
        if made.is_err() {
            // Tried afresh next time: never started without its limits.
            let _ = unlinkat(tree, dir, AtFlags::REMOVEDIR);
        }
        made.map(|fd| Some((fd, true)))
    }

    fn set_limits(&mut self, name: &[u8], c: &Limits) -> Result<(), Setup> {
        for k in 0..LIMIT_KEYS {
            let mut v = Line::new();
            let Some((ctl, file)) = limit(c, k, &mut v) else { continue };
            self.enable(ctl).map_err(|e| e.map_or(Setup::NoController(k), Setup::Cgroup))?;
            let tree = self.tree().ok_or(Setup::NoController(k))?;
            write_file(tree, name, file, v.bytes()).map_err(Setup::Cgroup)?;
        }
        Ok(())
    }

    /// Opens `NAME/cgroup.procs` for a child to write itself into.
    pub fn procs(&self, name: &[u8]) -> Result<OwnedFd, Errno> {
        let tree = self.tree().ok_or(Errno::NOENT)?;
        let mut p = [0u8; 192];
        openat(tree, join(&mut p, name, b"cgroup.procs")?, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())
    }

    /// Is a process of service `name` left in its cgroup?
    pub fn populated(&self, name: &[u8]) -> bool {
        self.tree().is_some_and(|t| populated(t, name))
    }

    /// Sends `sigs`, in turn, to every process of service `name`'s
    /// cgroup, those below it included; returns whether `main` was among
    /// them.
    pub fn signal(&self, name: &[u8], sigs: [i32; 2], main: i32) -> bool {
        self.tree().is_some_and(|t| signal_tree(t, name, &sigs, main))
    }

    /// Kills every process of service `name`'s cgroup, those below it
    /// included (`cgroup.kill` does so itself).
    pub fn kill(&self, name: &[u8], halting: bool) {
        let Some(tree) = self.tree() else { return };
        // The kernels that kill what starts in a cgroup once killed are
        // no matter once nothing starts again: `cgroup.kill` reaches
        // every level, where the pids' walk stops at its bounds.
        if (self.no_kill && !halting) || write_file(tree, name, b"cgroup.kill", b"1").is_err() {
            signal_tree(tree, name, &[crate::sig::KILL], 0);
        }
    }

    /// Do processes remain in service `name`'s cgroup? Then a one-shot
    /// watch on its `cgroup.events` tells when that changes (where none
    /// can be set, its deadline looks again); the inotify descriptor is
    /// made, and put in `epoll`, for the first.
    pub fn drains(&mut self, name: &[u8], epoll: &OwnedFd) -> bool {
        if !self.populated(name) {
            return false;
        }
        if self.notes.is_none()
            && let Ok(fd) = inotify::init(CreateFlags::NONBLOCK | CreateFlags::CLOEXEC)
        {
            crate::fleet::watch(epoll, fd.as_raw_fd(), crate::fleet::CGROUP);
            self.notes = Some(fd);
        }
        if let (Some(tree), Some(notes)) = (self.tree(), &self.notes) {
            watch(notes.as_fd(), tree, name);
        }
        // It may have emptied before the watch was set.
        self.populated(name)
    }

    /// No service drains: the inotify descriptor goes.
    pub fn rest(&mut self, epoll: &OwnedFd) {
        if let Some(fd) = self.notes.take() {
            crate::fleet::unwatch(epoll, fd.as_raw_fd());
        }
    }

    /// Reads away what the watches said; who changed is read from the
    /// cgroups themselves.
    pub fn drain_notes(&self) {
        if let Some(notes) = &self.notes {
            drain(notes.as_fd());
        }
    }

    /// Removes service `name`'s cgroup (it is empty), with the empty
    /// cgroups the service made below it.
    pub fn remove(&self, name: &[u8]) {
        let _ = self.rmdir(name);
    }

    fn rmdir(&self, name: &[u8]) -> Result<(), Errno> {
        remove_tree(self.tree().ok_or(Errno::NOENT)?, name)
    }

    /// Removes service `name`'s cgroup if it can; returns whether no
    /// process is left in it (no cgroups, or none for it, count as empty;
    /// a cgroup not removed has processes left, or one below it beyond
    /// what `walk` reaches).
    pub fn remove_if_empty(&self, name: &[u8]) -> bool {
        matches!(self.rmdir(name), Ok(()) | Err(Errno::NOENT)) || !self.populated(name)
    }

    /// `memory.events` `oom_kill` of service `name`, where the memory
    /// controller is enabled.
    pub fn oom_kills(&self, name: &[u8]) -> Option<u64> {
        let tree = self.tree().filter(|_| self.enabled & Ctl::Memory.bit() != 0)?;
        let mut buf = [0u8; 256];
        read_file(tree, name, b"memory.events", &mut buf).ok().and_then(|t| field(t, b"oom_kill"))
    }

    /// What `going status` shows of service `name`'s cgroup.
    pub fn usage(&self, name: &[u8]) -> Usage {
        let Some(tree) = self.tree() else { return Usage::default() };
        let mut buf = [0u8; 512];
        let mut read = |file: &[u8], key: Option<&[u8]>| {
            let text = read_file(tree, name, file, &mut buf).ok()?;
            match key {
                Some(k) => field(text, k),
                None => parse_u64(text.trim_ascii()),
            }
        };
        let mut u = Usage { cpu_usec: read(b"cpu.stat", Some(b"usage_usec")), ..Usage::default() };
        if self.enabled & Ctl::Memory.bit() != 0 {
            u.memory = read(b"memory.current", None);
            u.peak = read(b"memory.peak", None);
            u.oom_kills = read(b"memory.events", Some(b"oom_kill"));
        }
        u
    }

    /// Empties and removes the cgroups a previous going left in the
    /// subtree (it was killed, and its services' children live on),
    /// waiting at most `CGROUP_SWEEP_NS` for them to empty. Before
    /// anything starts.
    #[inline(never)]
    pub fn sweep(&self, log: &mut Log) {
        let Some(tree) = self.tree() else { return };
        let Ok(notes) = inotify::init(CreateFlags::NONBLOCK | CreateFlags::CLOEXEC) else { return };
        let mut found = 0u64;
        children(tree, |name| {
            found += 1;
            self.kill(name, false);
            watch(notes.as_fd(), tree, name);
        });
        if found == 0 {
            return;
        }
        let deadline = crate::time::now().saturating_add(CGROUP_SWEEP_NS);
        let mut left;
        loop {
            left = 0u64;
            children(tree, |name| {
                if populated(tree, name) {
                    left += 1;
                    if self.no_kill {
                        self.kill(name, false);
                    }
                } else {
                    self.remove(name);
                }
            });
            let now = crate::time::now();
            if left == 0 || now >= deadline {
                break;
            }
            let wait = (deadline - now).min(SEC / 10);
            let t = rustix::time::Timespec { tv_sec: 0, tv_nsec: wait as i64 };
            let _ = poll(&mut [PollFd::new(&notes, PollFlags::IN)], Some(&t));
            drain(notes.as_fd());
        }
        log.info(|l| {
            l.s(b"emptied ").u(found - left).s(b" cgroups that a previous going left");
        });
        if left > 0 {
            log.error(|l| {
                l.u(left).s(b" cgroups of a previous going are still not empty after ");
                l.u(CGROUP_SWEEP_NS / SEC).s(b"s; their services are not started");
            });
        }
    }

    /// At exit: removes the services' cgroups (`names`), and the subtree
    /// when going can leave it. After a shutdown the services' cgroups
    /// are gone (each was removed as its service ended), and the subtree
    /// goes in one call.
    #[inline(never)]
    pub fn close<'n>(&mut self, names: impl Iterator<Item = &'n [u8]>, socket: &CStr) {
        if self.active() && !self.remove_subtree(socket) {
            for name in names {
                self.remove(name);
            }
            self.remove_subtree(socket);
        }
        self.tree = None;
    }

    /// Removes the subtree, empty of cgroups; whether it is gone. Never
    /// when going is in `.supervisor`: the subtree stays for the next one.
    fn remove_subtree(&self, socket: &CStr) -> bool {
        let mut name = heapless::Vec::new();
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let mut p = [0u8; 192];
        !self.moved
            && name_for(socket, &mut name)
            && self.tree().and_then(|t| openat(t, c"..", flags, Mode::empty()).ok()).is_some_and(|base| {
                join(&mut p, &name, b"").and_then(|sub| unlinkat(base, sub, AtFlags::REMOVEDIR)).is_ok()
            })
    }
}

/// Arms a one-shot watch on `cgroup.events` of cgroup `name` below `tree`,
/// named through /proc/self/fd (no path of the tree is kept).
fn watch(notes: BorrowedFd<'_>, tree: BorrowedFd<'_>, name: &[u8]) -> bool {
    let mut l = Line::new();
    l.s(b"/proc/self/fd/").u(tree.as_raw_fd() as u64).s(b"/").s(name).s(b"/cgroup.events\0");
    let Ok(path) = CStr::from_bytes_until_nul(l.bytes()) else { return false };
    inotify::add_watch(notes, path, WatchFlags::MODIFY | WatchFlags::ONESHOT).is_ok()
}

/// Reads an inotify descriptor empty.
fn drain(notes: BorrowedFd<'_>) {
    let mut buf = [0u8; 512];
    while matches!(rustix::io::read(notes, &mut buf), Ok(n) if n > 0) {}
}

/// `subtree_name` for `socket`, in going's working directory.
fn name_for(socket: &CStr, out: &mut heapless::Vec<u8, NAME_MAX>) -> bool {
    let mut buf = [MaybeUninit::<u8>::uninit(); 1024];
    let cwd = match rustix::fs::readlinkat_raw(CWD, c"/proc/self/cwd", &mut buf) {
        Ok((dir, rest)) if !rest.is_empty() => &*dir,
        _ => &[],
    };
    subtree_name(cwd, socket.to_bytes(), out)
}

/// Calls `f` with the name of every cgroup below `tree` but `.supervisor`.
fn children(tree: BorrowedFd<'_>, mut f: impl FnMut(&[u8])) {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let Ok(dir) = openat(tree, c".", flags, Mode::empty()) else { return };
    let mut buf = [MaybeUninit::<u8>::uninit(); 2048];
    let mut it = RawDir::new(&dir, &mut buf);
    while let Some(Ok(e)) = it.next() {
        let name = e.file_name().to_bytes();
        if e.file_type() == FileType::Directory && name.first() != Some(&b'.') {
            f(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name_of(cwd: &str, socket: &str) -> String {
        let mut v = heapless::Vec::new();
        assert!(subtree_name(cwd.as_bytes(), socket.as_bytes(), &mut v), "{socket}");
        String::from_utf8(v.to_vec()).unwrap()
    }

    #[test]
    fn subtree_names_come_from_the_socket() {
        assert_eq!(name_of("/", "/run/going.sock"), "going@run-going.sock");
        assert_eq!(name_of("/tmp/t", "going.sock"), "going@tmp-t-going.sock");
        assert_eq!(name_of("/x", "/run/a-b c%.sock"), "going@run-a%2db%20c%25.sock");
        // Two paths, two names: '/' and '-' stay apart.
        assert_ne!(name_of("/", "/run/a-b.sock"), name_of("/", "/run/a/b.sock"));
        assert_eq!(name_of("", "rel.sock"), "going@rel.sock");
        for s in ["/run/going.sock", "/tmp/x y/\n/..", "/\u{e9}"] {
            let n = name_of("/", s);
            assert!(!n.contains('/') && !n.contains('\0') && !n.starts_with('.') && n.len() <= NAME_MAX, "{n:?}");
        }
        // What does not fit in a file name is refused, not cut.
        let mut v = heapless::Vec::new();
        assert!(subtree_name(b"/", format!("/{}", "d".repeat(249)).as_bytes(), &mut v));
        assert!(!subtree_name(b"/", format!("/{}", "d".repeat(250)).as_bytes(), &mut v));
        assert!(!subtree_name(b"/", "/-".repeat(100).as_bytes(), &mut v));
    }

    #[test]
    fn own_cgroup_from_proc() {
        let hybrid = b"9:name=systemd:/\n4:memory:/process_api/d66a\n1:cpu:/\n0::/\n";
        assert_eq!(own_path(hybrid), Some(&b"/"[..]));
        assert_eq!(own_path(b"0::/system.slice/going.service\n"), Some(&b"/system.slice/going.service"[..]));
        assert_eq!(own_path(b"0::/../../elsewhere\n"), None, "outside the namespace");
        assert_eq!(own_path(b"4:memory:/x\n"), None, "v1 only");
        assert_eq!(own_path(b""), None);
        assert_eq!(base_of(b"/a/going@x/.supervisor", b"going@x"), b"/a");
        assert_eq!(base_of(b"/going@x/.supervisor", b"going@x"), b"/");
        assert_eq!(base_of(b"/a/going@y/.supervisor", b"going@x"), b"/a/going@y/.supervisor");
        assert_eq!(base_of(b"/a", b"going@x"), b"/a");
    }

    #[test]
    fn flat_keyed_files() {
        assert_eq!(field(b"populated 1\nfrozen 0\n", b"populated"), Some(1));
        assert_eq!(field(b"populated 0\nfrozen 0\n", b"populated"), Some(0));
        assert_eq!(field(b"frozen 1\n", b"populated"), None);
        let stat = b"usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\nnr_periods 0\n";
        assert_eq!(field(stat, b"usage_usec"), Some(123_456));
        let events = b"low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n";
        assert_eq!(field(events, b"oom_kill"), Some(1));
        assert_eq!(field(events, b"oom"), Some(2));
        assert_eq!(field(b"garbage\n\n", b"oom_kill"), None);
        assert!(has_word(b"cpuset cpu io memory pids\n", b"memory"));
        assert!(!has_word(b"hugetlb\n", b"memory"));
        assert!(!has_word(b"cpuset\n", b"cpu"));
    }

    #[test]
    fn cpu_max_is_a_quota_of_the_period() {
        let text = |p| {
            let mut l = Line::new();
            cpu_max(&mut l, p);
            String::from_utf8(l.bytes().to_vec()).unwrap()
        };
        assert_eq!(text(20), "20000 100000");
        assert_eq!(text(1), "1000 100000");
        assert_eq!(text(250), "250000 100000");
        assert_eq!(text(100_000), "100000000 100000");
    }

    #[test]
    fn limit_keys_and_their_files() {
        let c = crate::config::parse(b"cmd=x\nmemory_max=64M\npids_max=20\ncpu_max=50%\ncpu_weight=200").unwrap();
        let c = Limits::of(&c);
        let mut got = vec![];
        for k in 0..LIMIT_KEYS {
            let mut l = Line::new();
            let (ctl, file) = limit(&c, k, &mut l).unwrap();
            got.push((ctl, String::from_utf8(file.to_vec()).unwrap(), String::from_utf8(l.bytes().to_vec()).unwrap()));
        }
        let want = [
            (Ctl::Memory, "memory.max", "67108864"),
            (Ctl::Pids, "pids.max", "20"),
            (Ctl::Cpu, "cpu.max", "50000 100000"),
            (Ctl::Cpu, "cpu.weight", "200"),
        ];
        for (g, w) in got.iter().zip(want) {
            assert_eq!((g.0, g.1.as_str(), g.2.as_str()), w);
        }
        let plain = Limits::of(&crate::config::parse(b"cmd=x").unwrap());
        assert!((0..=LIMIT_KEYS).all(|k| limit(&plain, k, &mut Line::new()).is_none()));
    }

    #[test]
    fn pids_across_reads() {
        let text = b"12\n345\n6789\n";
        for cut in 0..text.len() {
            let mut got = vec![];
            let mut p = Pids::default();
            let (a, b) = text.split_at(cut);
            p.feed(a, &mut |pid| got.push(pid));
            p.feed(b, &mut |pid| got.push(pid));
            p.end(&mut |pid| got.push(pid));
            assert_eq!(got, [12, 345, 6789], "cut at {cut}");
        }
        let mut got = vec![];
        let mut p = Pids::default();
        p.feed(b"7\n99999999999\n8", &mut |pid| got.push(pid));
        p.end(&mut |pid| got.push(pid));
        assert_eq!(got, [7, 8], "a number too big for a pid is skipped");
    }
}
