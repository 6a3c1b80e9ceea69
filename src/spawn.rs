//! Starting a service: everything `execve` needs is built in the parent
//! (`Prepared`); the child, which shares going's memory until it execs,
//! only makes system calls on it. A child that fails before its program
//! runs writes the step and errno into a close-on-exec pipe and exits 127
//! (not found) or 126 (anything else); an exec that succeeds closes the
//! pipe, which the parent sees as EOF. In a burst the child may run while
//! going goes on (`start_in`): then everything it reads is in a slot of
//! its own, and its steps are raw system calls, which write no errno.

use crate::cmdline::{self, Tok};
use crate::config::{Config, LIMITS, Limit, Log, names_blank};
use crate::confine::{self, Confine};
use crate::ids::Ids;
use crate::limits::{ALONGSIDE, DEFAULT_PATH, MAX_ARGS, MAX_ENV, MAX_FILE, MAX_GROUPS};
use crate::sys;
use core::convert::Infallible;
use core::ffi::{CStr, c_char};
use core::mem::MaybeUninit;
use heapless::Vec;
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use rustix::fs::Mode;
use rustix::io::Errno;
use rustix::io::fcntl_dupfd_cloexec;
use rustix::process::{
    Pid, Resource, Rlimit, Signal, chdir, chroot, getppid, set_parent_process_death_signal, setpriority_process,
    setrlimit, setsid, umask,
};
use rustix::stdio::{dup2_stderr, dup2_stdin, dup2_stdout};

/// Room for arguments, environment, cwd and chroot: all come from one
/// file of at most `MAX_FILE` bytes; add one NUL per string (at most
/// `MAX_ARGS` + `MAX_ENV` + 2), the default PATH and HOME, USER, LOGNAME,
/// `NOTIFY_SOCKET` and the values of going's own that `env=NAME` passes.
const STRINGS: usize = MAX_FILE + 2048;
/// The child's stack between clone and exec. Its deepest path, the `PATH`
/// search, holds a `MAX_FILE + 256` byte name; 4.9 KB were used in all
/// (measured by filling the stack with a pattern), with or without every
/// confinement key, whose steps (confine.rs) reach 0.5 KB deep on a path
/// of their own. It lives on going's own stack, so every byte here is a
/// byte of VmPeak.
const CHILD_STACK: usize = MAX_FILE + 4096;

/// What a child inherits from going that it need not set again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Own {
    pub pid: Option<Pid>,
    pub umask: u32,
    /// Its working directory is `/`.
    pub at_root: bool,
}

impl Own {
    /// Reads them (and leaves the umask as it was).
    pub fn now() -> Own {
        let umask = rustix::process::umask(Mode::from_bits_truncate(0o022));
        rustix::process::umask(umask);
        let id = |p: &CStr| rustix::fs::stat(p).ok().map(|st| (st.st_dev, st.st_ino));
        let at_root = id(c".").is_some_and(|d| Some(d) == id(c"/"));
        Own { pid: Some(rustix::process::getpid()), umask: umask.bits(), at_root }
    }
}

/// Where a child failed before its program ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Exec,
    Chdir,
    Stdio,
    Chroot,
    Groups,
    Setgid,
    Setuid,
    Nice,
    /// `setrlimit` of the resource with this index in `config::LIMITS`.
    Limit(u8),
    /// A step of `no_new_privs`, `capabilities`, `private_network`,
    /// `read_only` or `private_tmp`.
    Confine(confine::Step),
    /// Writing its pid to its cgroup's `cgroup.procs`.
    Cgroup,
}

/// A child's failure report, as read from the exec-error pipe. A call
/// of its own, not inlined into `exec_report`.
#[inline(never)]
pub fn decode(b: &[u8]) -> Option<(Step, Errno)> {
    let [step, arg, arg1, _, e0, e1, e2, e3] = *b else { return None };
    let step = match step {
        1 => Step::Exec,
        2 => Step::Chdir,
        3 => Step::Stdio,
        4 => Step::Chroot,
        5 => Step::Groups,
        6 => Step::Setgid,
        7 => Step::Setuid,
        8 => Step::Nice,
        9 if usize::from(arg) < LIMITS.len() => Step::Limit(arg),
        10 => Step::Cgroup,
        11..=255 => Step::Confine(confine::Step::from_code(step - 11, u16::from_le_bytes([arg, arg1]))?),
        _ => return None,
    };
    Some((step, Errno::from_raw_os_error(i32::from_le_bytes([e0, e1, e2, e3]))))
}

fn encode(step: Step, e: Errno) -> [u8; 8] {
    let [e0, e1, e2, e3] = e.raw_os_error().to_le_bytes();
    let (code, arg) = match step {
        Step::Exec => (1, 0),
        Step::Chdir => (2, 0),
        Step::Stdio => (3, 0),
        Step::Chroot => (4, 0),
        Step::Groups => (5, 0),
        Step::Setgid => (6, 0),
        Step::Setuid => (7, 0),
        Step::Nice => (8, 0),
        Step::Limit(i) => (9, u16::from(i)),
        Step::Confine(s) => {
            let (code, arg) = s.code();
            (11 + code, arg)
        }
        Step::Cgroup => (10, 0),
    };
    let [a0, a1] = arg.to_le_bytes();
    [code, a0, a1, 0, e0, e1, e2, e3]
}

/// The resources of `config::LIMITS`, in the same order.
const RESOURCES: [Resource; 9] = [
    Resource::As,
    Resource::Core,
    Resource::Cpu,
    Resource::Data,
    Resource::Fsize,
    Resource::Memlock,
    Resource::Nofile,
    Resource::Nproc,
    Resource::Stack,
];

/// Where a service's stdout and stderr go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// going's own.
    Inherit,
    Null,
    /// The service's capture pipe (`log=FILE`, `log=prefix`).
    Pipe,
}

/// A service's `execve` arguments, built before the clone.
pub struct Prepared {
    strings: [u8; STRINGS],
    used: usize,
    args: Vec<u16, MAX_ARGS>,
    env: Vec<u16, { MAX_ENV + 4 }>,
    cwd: u16,
    /// The PATH value the program is searched in.
    path: (u16, u16),
    umask: u32,
    /// Where stdout and stderr go.
    output: Output,
    /// Procfile mode: going's own environment and working directory.
    inherit: bool,
    chroot: Option<u16>,
    nice: Option<i32>,
    limits: [Option<Limit>; 9],
    uid: Option<u32>,
    gid: Option<u32>,
    groups: Option<Vec<u32, MAX_GROUPS>>,
    /// `ready=fd:N`: the descriptor the readiness pipe becomes.
    ready_fd: Option<u8>,
    /// What going itself has, so a child skips the calls that would not
    /// change it: its pid (for the child's check that it still has its
    /// parent), umask, and whether its working directory is `/`.
    own: Own,
    confine: Confine,
}

impl Prepared {
    pub const fn empty() -> Self {
        Prepared {
            strings: [0; STRINGS],
            used: 0,
            args: Vec::new(),
            env: Vec::new(),
            cwd: 0,
            path: (0, 0),
            umask: 0,
            output: Output::Inherit,
            inherit: false,
            chroot: None,
            nice: None,
            limits: [None; 9],
            uid: None,
            gid: None,
            groups: None,
            ready_fd: None,
            own: Own { pid: None, umask: u32::MAX, at_root: false },
            confine: Confine::NONE,
        }
    }

    /// Remembers what going itself has; called once, at start.
    pub fn set_own(&mut self, own: Own) {
        self.own = own;
    }

    #[cfg(test)]
    pub fn new(c: &Config, ids: Option<&Ids>) -> Option<Self> {
        let mut p = Prepared::empty();
        p.fill(c, ids, false, None)?;
        Some(p)
    }

    /// Builds, in place, what `execve` needs for a valid config; `None`
    /// if it does not fit, which a config of at most `MAX_FILE` bytes
    /// never reaches. Filled in place: it is 8 KiB, and a copy on every
    /// spawn would cost stack, and so VmPeak. `notify` is the value of
    /// `NOTIFY_SOCKET` for `ready=notify`.
    pub fn fill(&mut self, c: &Config, ids: Option<&Ids>, inherit: bool, notify: Option<&[u8]>) -> Option<()> {
        let p = self;
        p.inherit = inherit;
        p.used = 0;
        p.args.clear();
        p.env.clear();
        p.path = (0, 0);
        p.umask = c.umask;
        p.output = match c.log {
            Log::Inherit => Output::Inherit,
            Log::Null => Output::Null,
            Log::File(_) | Log::Prefix | Log::Syslog => Output::Pipe,
        };
        p.ready_fd = match c.ready {
            crate::config::Ready::Fd(n) => Some(n),
            _ => None,
        };
        p.chroot = None;
        p.nice = c.nice;
        p.limits = c.limits;
        p.uid = ids.and_then(|i| i.uid);
        p.gid = ids.and_then(|i| i.gid);
        p.groups = ids.and_then(|i| i.groups.clone());
        let mut start = 0;
        let mut full = false;
        cmdline::split(c.cmd, |t| match t {
            Tok::Byte(b) => full |= !p.put(b),
            Tok::End => {
                full |= !p.put(0) || p.args.push(start as u16).is_err();
                start = p.used;
            }
        })
        .ok()?;
        let set = |k: &[u8]| c.env.iter().any(|e| e.starts_with(k));
        if !set(b"PATH=") {
            p.env_var(b"PATH=", &DEFAULT_PATH[5..])?;
        }
        if let Some(i) = ids.filter(|i| !i.name.is_empty()) {
            for (k, v) in [(&b"HOME="[..], &i.home[..]), (b"USER=", &i.name), (b"LOGNAME=", &i.name)] {
                if !set(k) {
                    p.env_var(k, v)?;
                }
            }
        }
        if let Some(path) = notify {
            p.env_var(b"NOTIFY_SOCKET=", path)?;
        }
        for e in c.env.iter() {
            match e.iter().position(|&b| b == b'=') {
                Some(i) => {
                    let (k, v) = e.split_at(i + 1);
                    p.env_var(k, v)?;
                }
                // `env=NAME`: going's own value, if it has one.
                None => {
                    if let Some(v) = env_of(e) {
                        p.env_name(e, v)?;
                    }
                }
            }
        }
        p.cwd = p.string(c.cwd)?;
        if let Some(root) = c.chroot {
            p.chroot = Some(p.string(root)?);
        }
        p.confine = Confine::new(c);
        if let Some(paths) = c.read_only {
            let from = p.used as u16;
            for path in names_blank(paths) {
                p.string(path)?;
            }
            p.confine.read_only = (from, p.used as u16);
        }
        if c.private_tmp {
            // The service's /tmp: it is mounted before chroot.
            p.confine.tmp = Some(p.string_of(&[c.chroot.unwrap_or(b""), b"/tmp"])?);
        }
        (!full).then_some(())
    }

    /// Adds `KEY=VALUE` (the key with its `=`) to the environment.
    fn env_var(&mut self, k: &[u8], v: &[u8]) -> Option<()> {
        self.env_parts(&[k, v], k == b"PATH=")
    }

    /// Adds `NAME=VALUE` from a name without its `=`.
    fn env_name(&mut self, k: &[u8], v: &[u8]) -> Option<()> {
        self.env_parts(&[k, b"=", v], k == b"PATH")
    }

    /// Adds the variable that is `parts` joined, whose last part is its
    /// value; `path`: it is PATH.
    fn env_parts(&mut self, parts: &[&[u8]], path: bool) -> Option<()> {
        let at = self.string_of(parts)?;
        self.env.push(at).ok()?;
        if path {
            self.path = (at + 5, parts.last().map_or(0, |v| v.len()) as u16);
        }
        Some(())
    }

    fn put(&mut self, b: u8) -> bool {
        let Some(slot) = self.strings.get_mut(self.used) else {
            return false;
        };
        *slot = b;
        self.used += 1;
        true
    }

    /// Adds a NUL-terminated copy of `s` and returns its offset.
    fn string(&mut self, s: &[u8]) -> Option<u16> {
        self.string_of(&[s])
    }

    /// Adds `parts` joined and NUL-terminated; returns its offset.
    fn string_of(&mut self, parts: &[&[u8]]) -> Option<u16> {
        let at = self.used as u16;
        for part in parts {
            for &b in *part {
                self.put(b).then_some(())?;
            }
        }
        self.put(0).then_some(at)
    }

    fn cstr(&self, at: u16) -> &CStr {
        let tail = self.strings.get(usize::from(at)..).unwrap_or(&[0]);
        CStr::from_bytes_until_nul(tail).unwrap_or(c"")
    }

    fn ptr(&self, at: u16) -> *const c_char {
        self.cstr(at).as_ptr()
    }

    /// `private_network`: join this kept namespace instead of making one.
    pub fn join_network(&mut self, fd: Option<i32>) {
        self.confine.join = fd;
    }

    /// The program as written in `cmd=`.
    pub fn program(&self) -> &[u8] {
        self.args.first().map_or(&[], |&a| self.cstr(a).to_bytes())
    }

    #[cfg(test)]
    pub fn cwd(&self) -> &[u8] {
        self.cstr(self.cwd).to_bytes()
    }
}

/// going's own value of an environment variable named in `env=NAME`.
fn env_of(name: &[u8]) -> Option<&'static [u8]> {
    let mut c = [0u8; 256];
    c.get_mut(..name.len())?.copy_from_slice(name);
    sys::getenv(CStr::from_bytes_until_nul(&c).ok()?)
}

/// How a child gets into its service's cgroup (see `cgroup`).
#[derive(Clone, Copy)]
pub enum Join<'a> {
    /// It has none.
    None,
    /// Started in it: the cgroup's directory, for `clone3`.
    Into(BorrowedFd<'a>),
    /// It writes itself into this `cgroup.procs` before anything else.
    Write(BorrowedFd<'a>),
}

/// Forks a child that execs `p`; returns its pid. `devnull` becomes its
/// stdin (and stdout/stderr with `log=null`), `pipe` its stdout and
/// stderr when its output is captured; `report` is the write end of the
/// exec-error pipe. Going sleeps until the child has exec'd or failed.
pub fn start(
    p: &Prepared,
    devnull: BorrowedFd<'_>,
    pipe: Option<BorrowedFd<'_>>,
    ready: Option<BorrowedFd<'_>>,
    report: &OwnedFd,
    join: Join<'_>,
) -> Result<i32, Errno> {
    let null = core::ptr::null::<c_char>();
    let mut argv = [null; MAX_ARGS + 1];
    let mut envp = [null; MAX_ENV + 5];
    pointers(p, &mut argv, &mut envp);
    let envp = if p.inherit { sys::environ() } else { envp.as_ptr() };
    let parent = p.own.pid.unwrap_or_else(rustix::process::getpid);
    let mut stack = [MaybeUninit::<u8>::uninit(); CHILD_STACK];
    let procs = if let Join::Write(fd) = join { Some(fd) } else { None };
    let fds = Fds { devnull, pipe, ready, procs };
    let report = report.as_fd();
    let mut run = || -> Infallible { child(p, &argv, envp, fds, report, parent) };
    match join {
        Join::Into(dir) => sys::spawn_into(&mut stack, &mut run, dir),
        _ => sys::spawn_on(&mut stack, &mut run),
    }
}

/// `argv` and `envp` of `p`, each ending in a null pointer.
fn pointers(p: &Prepared, argv: &mut [*const c_char; MAX_ARGS + 1], envp: &mut [*const c_char; MAX_ENV + 5]) {
    let null = core::ptr::null::<c_char>();
    argv.fill(null);
    envp.fill(null);
    for (slot, &at) in argv.iter_mut().zip(&p.args) {
        *slot = p.ptr(at);
    }
    for (slot, &at) in envp.iter_mut().zip(&p.env) {
        *slot = p.ptr(at);
    }
}

/// Everything a child started alongside going reads, in a slot of the
/// pool: its `Prepared`, the pointers into it, its descriptors' numbers
/// (its table is a copy of going's at the clone) and going's pid.
pub struct Launch {
    pub prep: Prepared,
    argv: [*const c_char; MAX_ARGS + 1],
    envp: [*const c_char; MAX_ENV + 5],
    /// devnull, pipe, ready, procs; -1 for none.
    fds: [i32; 4],
    report: i32,
    parent: Option<Pid>,
}

impl sys::Child for Launch {
    fn empty() -> Self {
        Launch {
            prep: Prepared::empty(),
            argv: [core::ptr::null(); MAX_ARGS + 1],
            envp: [core::ptr::null(); MAX_ENV + 5],
            fds: [-1; 4],
            report: -1,
            parent: None,
        }
    }

    fn run(&self) -> ! {
        let fd = |n: i32| (n >= 0).then(|| sys::borrow(n));
        let [devnull, pipe, ready, procs] = self.fds;
        let fds = Fds { devnull: sys::borrow(devnull), pipe: fd(pipe), ready: fd(ready), procs: fd(procs) };
        let p = &self.prep;
        let envp = if p.inherit { sys::environ() } else { self.envp.as_ptr() };
        // Set by `start_in` in going; a child never asks for it itself.
        let Some(parent) = self.parent else { sys::exit_now(1) };
        child(p, &self.argv, envp, fds, sys::borrow(self.report), parent)
    }
}

/// The pool of children that start alongside going (see `sys::Alongside`).
pub type Pool = sys::Alongside<Launch, ALONGSIDE, CHILD_STACK>;

/// `start`, for the `Prepared` in slot `k` of `pool`: with `wait`, going
/// sleeps until the child has exec'd or failed; without, it goes on at
/// once and the child's report comes through the pipe. Where `clone3`
/// cannot be used (a kernel without it, or a seccomp filter that refuses
/// it) the child gets `start`'s own way, which waits.
#[allow(clippy::too_many_arguments)]
pub fn start_in(
    pool: &mut Pool,
    k: usize,
    wait: bool,
    devnull: BorrowedFd<'_>,
    pipe: Option<BorrowedFd<'_>>,
    ready: Option<BorrowedFd<'_>>,
    report: &OwnedFd,
    join: Join<'_>,
) -> Result<i32, Errno> {
    let Some(l) = pool.slot(k) else { return Err(Errno::INVAL) };
    let Launch { prep, argv, envp, .. } = l;
    pointers(prep, argv, envp);
    let raw = |fd: Option<BorrowedFd<'_>>| fd.map_or(-1, |fd| fd.as_raw_fd());
    let procs = if let Join::Write(fd) = join { Some(fd) } else { None };
    l.fds = [devnull.as_raw_fd(), raw(pipe), raw(ready), raw(procs)];
    l.report = report.as_raw_fd();
    l.parent = Some(l.prep.own.pid.unwrap_or_else(rustix::process::getpid));
    let cgroup = if let Join::Into(dir) = join { Some(dir) } else { None };
    let mut started = pool.start(k, cgroup, wait);
    if started.is_err() && !wait && !pool.overlaps() {
        // The kernel refused the flags of a start that does not wait
        // (and will not be asked again): this one waits.
        started = pool.start(k, cgroup, true);
    }
    match started {
        Err(Errno::NOSYS) if cgroup.is_none() => {
            let l = pool.slot(k).ok_or(Errno::INVAL)?;
            start(&l.prep, devnull, pipe, ready, report, join)
        }
        r => r,
    }
}

/// The descriptors a child gets: `/dev/null` for stdin (and the output
/// with `log=null`), the capture pipe's write end, the readiness pipe's.
#[derive(Clone, Copy)]
struct Fds<'a> {
    devnull: BorrowedFd<'a>,
    pipe: Option<BorrowedFd<'a>>,
    ready: Option<BorrowedFd<'a>>,
    /// Its cgroup's `cgroup.procs`, when it was not started in it.
    procs: Option<BorrowedFd<'a>>,
}

/// The child between clone and exec, on its own stack in going's memory:
/// it makes system calls and writes nothing but its own locals. Never
/// returns.
fn child(
    p: &Prepared,
    argv: &[*const c_char],
    envp: *const *const c_char,
    fds: Fds<'_>,
    report: BorrowedFd<'_>,
    parent: Pid,
) -> ! {
    // The report pipe moves out of the way of `ready=fd:N`.
    let moved;
    let report = match p.ready_fd {
        Some(n) if i32::from(n) == report.as_raw_fd() => match fcntl_dupfd_cloexec(report, i32::from(n) + 1) {
            Ok(fd) => {
                moved = fd;
                moved.as_fd()
            }
            Err(_) => sys::exit_now(126),
        },
        _ => report,
    };
    let fail = |step: Step, e: Errno| -> ! {
        let _ = rustix::io::write(report, &encode(step, e));
        sys::exit_now(if step == Step::Exec && e == Errno::NOENT { 127 } else { 126 })
    };
    let Fds { devnull, pipe, ready, procs } = fds;
    if let Some(Err(e)) = procs.map(|fd| rustix::io::write(fd, b"0")) {
        fail(Step::Cgroup, e);
    }
    sys::unblock_all();
    let _ = setsid();
    let mut io = dup2_stdin(devnull);
    match (p.output, pipe) {
        (Output::Null, _) => io = io.and(dup2_stdout(devnull)).and(dup2_stderr(devnull)),
        (Output::Pipe, Some(w)) => io = io.and(dup2_stdout(w)).and(dup2_stderr(w)),
        _ => {}
    }
    if let (Some(n), Some(w)) = (p.ready_fd, ready) {
        io = io.and(sys::dup_to(w, i32::from(n)));
    }
    if let Err(e) = io {
        fail(Step::Stdio, e);
    }
    if p.umask != p.own.umask {
        umask(Mode::from_bits_truncate(p.umask));
    }
    let check = |step: Step, r: Result<(), Errno>| {
        if let Err(e) = r {
            fail(step, e);
        }
    };
    for (i, (limit, res)) in p.limits.iter().zip(RESOURCES).enumerate() {
        if let Some(l) = limit {
            check(Step::Limit(i as u8), setrlimit(res, Rlimit { current: l.soft, maximum: l.hard }));
        }
    }
    if let Some(n) = p.nice {
        check(Step::Nice, setpriority_process(None, n));
    }
    let confined = |r: Result<(), (confine::Step, Errno)>| {
        if let Err((step, e)) = r {
            fail(Step::Confine(step), e);
        }
    };
    // The order of these steps, and why, is told in confine.rs.
    confined(confine::before_chroot(&p.confine, &p.strings));
    if let Some(root) = p.chroot {
        check(Step::Chroot, chroot(p.cstr(root)));
    }
    // Already there when going's own directory is `/` and no chroot moved it.
    let at_root = p.own.at_root && p.chroot.is_none() && p.cstr(p.cwd) == c"/";
    if !p.inherit && !at_root {
        check(Step::Chdir, chdir(p.cstr(p.cwd)));
    }
    confined(confine::before_ids(&p.confine));
    // Groups, then gid, then uid: each needs the privileges the next drops.
    if let Some(groups) = &p.groups {
        check(Step::Groups, sys::setgroups(groups));
    }
    if let Some(gid) = p.gid {
        check(Step::Setgid, sys::setgid(gid));
    }
    if let Some(uid) = p.uid {
        check(Step::Setuid, sys::setuid(uid));
    }
    confined(confine::after_ids(&p.confine));
    // Last before exec: a change of credentials clears the parent-death
    // signal, and a service must die with going whatever its user.
    let _ = set_parent_process_death_signal(Some(Signal::KILL));
    if getppid() != Some(parent) {
        // going died before the signal was armed: do not run unsupervised.
        sys::exit_now(1);
    }
    fail(Step::Exec, exec(p, argv, envp))
}

/// `execve`, searching the child's PATH for a program without `/`.
fn exec(p: &Prepared, argv: &[*const c_char], envp: *const *const c_char) -> Errno {
    let prog = p.program();
    if prog.contains(&b'/') || prog.is_empty() {
        return sys::execve(p.ptr(p.args.first().copied().unwrap_or(0)), argv.as_ptr(), envp);
    }
    let (at, len) = (usize::from(p.path.0), usize::from(p.path.1));
    let path = p.strings.get(at..at + len).unwrap_or(&[]);
    let mut denied = false;
    let mut full = [0u8; MAX_FILE + 256];
    for dir in path.split(|&b| b == b':') {
        let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
        let Some(file) = crate::safefile::c_string(&mut full, &[dir, b"/", prog]) else { continue };
        match sys::execve(file.as_ptr(), argv.as_ptr(), envp) {
            Errno::ACCESS => denied = true,
            Errno::NOENT | Errno::NOTDIR | Errno::STALE | Errno::LOOP | Errno::NAMETOOLONG => {}
            e => return e,
        }
    }
    if denied { Errno::ACCESS } else { Errno::NOENT }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

    fn strings(p: &Prepared, offs: &[u16]) -> std::vec::Vec<String> {
        offs.iter().map(|&o| p.cstr(o).to_str().unwrap().to_string()).collect()
    }

    #[test]
    fn prepares_args_env_and_cwd() {
        let c = parse(b"cmd=/bin/sh -c 'echo hi' \"a b\"\nenv=A=1\nenv=B=2\ncwd=/tmp\numask=077\nlog=null").unwrap();
        let p = Prepared::new(&c, None).unwrap();
        assert_eq!(strings(&p, &p.args), ["/bin/sh", "-c", "echo hi", "a b"]);
        assert_eq!(strings(&p, &p.env), [std::str::from_utf8(DEFAULT_PATH).unwrap(), "A=1", "B=2"]);
        assert_eq!(p.cwd(), b"/tmp");
        assert_eq!(p.program(), b"/bin/sh");
        assert_eq!((p.umask, p.output), (0o077, Output::Null));
        let (at, len) = p.path;
        assert_eq!(&p.strings[at as usize..(at + len) as usize], &DEFAULT_PATH[5..]);
    }

    #[test]
    fn env_path_replaces_the_default() {
        let c = parse(b"cmd=prog\nenv=PATH=/opt/bin\nenv=X=y").unwrap();
        let p = Prepared::new(&c, None).unwrap();
        assert_eq!(strings(&p, &p.env), ["PATH=/opt/bin", "X=y"]);
        let (at, len) = p.path;
        assert_eq!(&p.strings[at as usize..(at + len) as usize], b"/opt/bin");
    }

    #[test]
    fn largest_file_fits() {
        let mut src = std::string::String::from("cmd=");
        src.push_str(&"a ".repeat(MAX_ARGS));
        src.push('\n');
        for i in 0..MAX_ENV {
            src.push_str(&format!("env=V{i}=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"));
        }
        src.push_str("user=root\nchroot=/c\ncwd=/");
        src.push_str(&"d".repeat(MAX_FILE - src.len()));
        assert_eq!(src.len(), MAX_FILE);
        let c = parse(src.as_bytes()).unwrap();
        let ids = crate::ids::resolve(c.user, None).unwrap();
        let p = Prepared::new(&c, Some(&ids)).unwrap();
        assert_eq!(p.args.len(), MAX_ARGS);
        assert_eq!(p.env.len(), MAX_ENV + 4);
    }

    #[test]
    fn identity_variables() {
        let c = parse(b"cmd=x\nenv=USER=override").unwrap();
        let ids = crate::ids::resolve(Some(b"root"), None).unwrap();
        let p = Prepared::new(&c, Some(&ids)).unwrap();
        let env = strings(&p, &p.env);
        assert!(env.contains(&"LOGNAME=root".to_string()), "{env:?}");
        assert!(env.contains(&"USER=override".to_string()));
        assert!(!env.contains(&"USER=root".to_string()));
        assert!(env.iter().any(|e| e.starts_with("HOME=")));
        assert_eq!((p.uid, p.gid), (Some(0), Some(0)));
    }

    #[test]
    fn reports_round_trip() {
        let steps = [
            Step::Exec,
            Step::Chdir,
            Step::Stdio,
            Step::Chroot,
            Step::Groups,
            Step::Setgid,
            Step::Setuid,
            Step::Nice,
            Step::Limit(8),
            Step::Confine(confine::Step::Network),
            Step::Confine(confine::Step::ReadOnly(300)),
            Step::Confine(confine::Step::Ambient(40)),
            Step::Confine(confine::Step::Caps),
            Step::Cgroup,
        ];
        for step in steps {
            for e in [Errno::NOENT, Errno::ACCESS, Errno::NOEXEC] {
                assert_eq!(decode(&encode(step, e)), Some((step, e)));
            }
        }
        assert_eq!(decode(b""), None);
        assert_eq!(decode(&[0, 0, 0, 0, 2, 0, 0, 0]), None);
        assert_eq!(decode(&[9, 9, 0, 0, 2, 0, 0, 0]), None);
        assert_eq!(decode(&[21, 0, 0, 0, 2, 0, 0, 0]), None);
    }

    #[test]
    fn read_only_paths_end_in_nul() {
        let c = parse(b"cmd=x\nread_only=/usr  /etc\t/srv/www\nprivate_tmp=yes").unwrap();
        let p = Prepared::new(&c, None).unwrap();
        let (from, to) = p.confine.read_only;
        assert_eq!(&p.strings[from as usize..to as usize], b"/usr\0/etc\0/srv/www\0");
        assert_eq!(p.cstr(p.confine.tmp.unwrap()), c"/tmp");
        let c = parse(b"cmd=x\nchroot=/srv/jail\nprivate_tmp=yes").unwrap();
        let p = Prepared::new(&c, None).unwrap();
        assert_eq!(p.cstr(p.confine.tmp.unwrap()), c"/srv/jail/tmp");
        assert_eq!(p.confine.read_only.0, p.confine.read_only.1);
        let p = Prepared::new(&parse(b"cmd=x").unwrap(), None).unwrap();
        assert_eq!(p.confine, Confine::NONE);
    }
}
