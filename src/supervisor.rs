//! The loop: one `epoll_wait` for signals (through a signalfd) and exec
//! reports, with the nearest deadline as its timeout; everything that
//! happens becomes an event for one service's state machine, and the
//! action it returns is carried out here, in `perform`. Once the loop
//! runs nothing is fatal: errors are logged and retried.

use crate::config::{self, Restart};
use crate::control::{self, Client};
use crate::fmt::Line;
use crate::ids::{self, IdError};
use crate::limits::{MAX_CLIENTS, MAX_FILE, RESCAN_RETRY_NS};
use crate::log::Log;
use crate::logfile::{self, Report, Sink};
use crate::scan::{self, Problem};
use crate::service::{Action, Event, Exit, Service, State, backoff_secs};
use crate::spawn::{self, Prepared, Step};
use crate::table::{Outcome, Table, Why, ignored_name, valid_name};
use crate::watch::{Change, Watch};
use crate::{cmdline, sig, sys, time};
use crate::{leftover, procfile};
use core::ffi::CStr;
use rustix::event::epoll::{self, CreateFlags, Event as Ready, EventData, EventFlags};
use rustix::fd::{AsFd, AsRawFd, IntoRawFd, OwnedFd};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, open, statat};
use rustix::io::Errno;
use rustix::pipe::{PipeFlags, pipe_with};
use rustix::process::{Pid, Signal, WaitOptions, kill_process, kill_process_group, waitpid};

/// epoll tokens: the kind in the high half, a descriptor in the low half.
const SIGNALS: u64 = 1 << 32;
const EXEC: u64 = 2 << 32;
const WATCH: u64 = 3 << 32;
pub const LISTEN: u64 = 4 << 32;
pub const CLIENT: u64 = 5 << 32;
const OUTPUT: u64 = 6 << 32;

pub struct Supervisor<'a> {
    /// The large parts live in `run`'s frame and are borrowed, never
    /// moved: a move would copy tens of KiB through the stack.
    pub(crate) table: &'a mut Table,
    prepared: &'a mut Prepared,
    pub(crate) log: Log,
    pub(crate) dir: &'a CStr,
    pub(crate) epoll: OwnedFd,
    signals: OwnedFd,
    devnull: Option<OwnedFd>,
    /// The inotify watch on `dir`; without it only SIGHUP reloads.
    watch: Option<Watch>,
    /// The control socket and its clients; going's own uid may use it.
    pub(crate) listener: Option<OwnedFd>,
    /// Descriptors held in reserve for going's own work: the services
    /// cannot take the last of them, so reading the directory and
    /// accepting a client still work when the services use up the rest.
    /// Released for that work, taken back before the next spawn.
    pub(crate) spare: [Option<OwnedFd>; 2],
    pub(crate) clients: &'a mut [Client; MAX_CLIENTS],
    pub(crate) uid: u32,
    /// When accepting failed (no descriptors left), the listener rests
    /// until then; 0 when it is listening.
    pub(crate) listen_paused_until: u64,
    /// Accepting failed and was logged; logged again only after it worked.
    pub(crate) accept_failing: bool,
    /// A full scan is under way: rejections past the remembered ones are
    /// counted, not logged one by one.
    scanning: bool,
    /// Procfile mode: `dir` is the Procfile.
    procfile: bool,
    /// Colour the `log=prefix` names (stdout is a terminal, no NO_COLOR).
    color: bool,
    /// `SOCKET.pids` and its temporary name, and whether it is out of date.
    pids: Option<(&'a CStr, &'a CStr)>,
    pids_dirty: bool,
    /// 0 running; 1 stopping everything; 2 killing everything.
    stopping: u8,
    /// When to re-read a directory that could not be read; 0 for never.
    rescan_at: u64,
    dir_missing: bool,
    /// A file could not be read for want of descriptors or memory: read
    /// the directory again soon rather than keep that answer.
    read_again: bool,
}

/// Sets up and runs the supervisor until it is told to stop; returns the
/// exit code.
#[inline(never)]
pub fn run(dir: &CStr, socket: Option<&CStr>, procfile: bool) -> i32 {
    sys::default_dispositions();
    sys::cloexec_from_3();
    // Orphans of services (daemons that double-fork) become going's to
    // reap; as PID 1 every orphan of the system already is.
    if rustix::process::getpid() != Pid::INIT {
        let _ = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
    }
    let mut log = Log::new();
    if procfile && !procfile_valid(dir) {
        return crate::cli::EX_CONFIG;
    }
    let socket = socket.unwrap_or(c"");
    let opened = if procfile { Err((&b""[..], Errno::NOENT)) } else { control::open_socket(socket) };
    let listener = match opened {
        Ok(fd) => Some(fd),
        Err(_) if procfile => None,
        Err((what, Errno::ADDRINUSE)) => {
            log.error(|l| {
                l.s(socket.to_bytes()).s(b": ").s(what);
            });
            return crate::cli::EX_FAIL;
        }
        Err((what, e)) => {
            log.error(|l| {
                l.s(socket.to_bytes()).s(b": ").s(what).s(b": ").s(sys::strerror(e));
                l.s(b"; status and control are unavailable");
            });
            None
        }
    };
    let setup = sys::signalfd_all().and_then(|signals| {
        let epoll = epoll::create(CreateFlags::CLOEXEC)?;
        epoll::add(&epoll, &signals, EventData::new_u64(SIGNALS), EventFlags::IN)?;
        if let Some(l) = &listener {
            epoll::add(&epoll, l, EventData::new_u64(LISTEN), EventFlags::IN)?;
        }
        Ok((epoll, signals))
    });
    let (epoll, signals) = match setup {
        Ok(fds) => fds,
        Err(e) => {
            log.error(|l| {
                l.s(b"cannot set up signals and epoll: ").s(sys::strerror(e));
            });
            return crate::cli::EX_FAIL;
        }
    };
    log.info(|l| {
        l.s(b"going ").s(env!("CARGO_PKG_VERSION").as_bytes()).s(b" supervising ").s(dir.to_bytes());
    });
    let watch = match Watch::new() {
        Ok(_) if procfile => None,
        Ok(w) => {
            let _ = epoll::add(&epoll, w.fd(), EventData::new_u64(WATCH), EventFlags::IN);
            Some(w)
        }
        Err(e) => {
            log.error(|l| {
                l.s(b"cannot watch for config changes (reload with SIGHUP): ").s(sys::strerror(e));
            });
            None
        }
    };
    let mut pids_buf = [0u8; 512];
    let pids = if procfile { None } else { leftover::paths(socket, &mut pids_buf) };
    if let Some((file, _)) = pids {
        let killed = leftover::sweep(file);
        if killed > 0 {
            log.info(|l| {
                l.s(b"killed ").u(u64::from(killed)).s(b" leftover processes of a previous going");
            });
        }
    }
    let mut table = Table::new();
    let mut prepared = Prepared::empty();
    let mut clients = [const { Client::new() }; MAX_CLIENTS];
    let mut sup = Supervisor {
        table: &mut table,
        prepared: &mut prepared,
        log,
        dir,
        epoll,
        signals,
        devnull: None,
        watch,
        spare: [None, None],
        listener,
        clients: &mut clients,
        uid: rustix::process::getuid().as_raw(),
        listen_paused_until: 0,
        accept_failing: false,
        scanning: false,
        procfile,
        pids,
        pids_dirty: false,
        color: sys::isatty(1) && sys::getenv(c"NO_COLOR").is_none_or(|v| v.is_empty()),
        stopping: 0,
        rescan_at: 0,
        dir_missing: false,
        read_again: false,
    };
    sup.reload(time::now());
    let code = sup.run_loop();
    if sup.listener.is_some() {
        let _ = rustix::fs::unlink(socket);
    }
    if let Some((file, _)) = sup.pids {
        let _ = rustix::fs::unlink(file);
    }
    code
}

impl Supervisor<'_> {
    /// Fills the reserve of descriptors; no system call when it is full.
    /// Called before every spawn and at the top of the loop, so the
    /// reserve is back whatever released it.
    fn keep_spare(&mut self) {
        for s in self.spare.iter_mut().filter(|s| s.is_none()) {
            let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
            *s = Some(match rustix::fs::open(c"/", flags, Mode::empty()) {
                Ok(fd) => fd,
                Err(_) => return,
            });
        }
    }

    fn run_loop(&mut self) -> i32 {
        let mut ready = [Ready { flags: EventFlags::empty(), data: EventData::new_u64(0) }; 16];
        loop {
            self.keep_spare();
            let timeout = self.next_deadline().map(|d| time::until(d, time::now()));
            let n = epoll::wait(&self.epoll, &mut ready[..], timeout.as_ref()).unwrap_or(0);
            let now = time::now();
            for ev in ready.iter().take(n) {
                match ev.data.u64() & !0xffff_ffff {
                    SIGNALS => self.on_signals(now),
                    EXEC => self.exec_report_fd(ev.data.u64() as u32 as i32),
                    WATCH => self.on_watch(now),
                    LISTEN => self.on_listen(now),
                    CLIENT => self.on_client(ev.data.u64() as u32 as usize, ev.flags, now),
                    OUTPUT => self.on_output(ev.data.u64() as u32 as i32),
                    _ => {}
                }
            }
            self.fire_due(now);
            self.record_pids();
            if self.stopping > 0 && !self.table.entries.iter().any(|e| e.svc.running()) {
                for i in 0..self.table.entries.len() {
                    self.drain(i);
                }
                self.log.info(|l| {
                    l.s(b"exiting");
                });
                return crate::cli::EX_OK;
            }
        }
    }

    /// Rewrites `SOCKET.pids` when the running set changed.
    fn record_pids(&mut self) {
        // While stopping, the last file written still names every group
        // that may be left: rewriting it per exit would only cost time.
        let Some((file, tmp)) = self.pids.filter(|_| self.pids_dirty && self.stopping == 0) else { return };
        self.pids_dirty = false;
        let running = self.table.entries.iter().filter(|e| e.svc.running()).map(|e| (e.svc.pid, e.start));
        let _ = leftover::record(file, tmp, running);
    }

    fn next_deadline(&self) -> Option<u64> {
        let rescan = Some(self.rescan_at).filter(|&d| d != 0);
        [self.table.next_deadline(), rescan, self.client_deadline()].into_iter().flatten().min()
    }

    fn on_signals(&mut self, now: u64) {
        let mut info = [0u8; 128];
        let (mut child, mut hup) = (false, false);
        while let Ok(128) = rustix::io::read(&self.signals, &mut info) {
            let [a, b, c, d, ..] = info;
            match u32::from_ne_bytes([a, b, c, d]) as i32 {
                sig::CHLD => child = true,
                sig::HUP => hup = true,
                s @ (sig::TERM | sig::INT) => self.shutdown(s, now),
                _ => {}
            }
        }
        if child {
            self.reap(now);
        }
        if hup && self.stopping == 0 {
            self.log.info(|l| {
                l.s(b"reloading ").s(self.dir.to_bytes());
            });
            self.reload(now);
        }
    }

    fn on_watch(&mut self, now: u64) {
        let Some(mut w) = self.watch.take() else {
            return;
        };
        let mut everything = false;
        w.drain(self.dir, |c| match c {
            Change::Everything => everything = true,
            Change::Entry { name, created } => self.entry_changed(name, created, now),
        });
        self.watch = Some(w);
        if everything {
            self.reload(now);
        }
    }

    /// Reads one directory entry again after inotify spoke of it.
    fn entry_changed(&mut self, name: &[u8], created: bool, now: u64) {
        let mut c = [0u8; 256];
        let cname = c.get_mut(..name.len()).map(|d| d.copy_from_slice(name));
        let Some(cname) = cname.and_then(|_| CStr::from_bytes_until_nul(&c).ok()) else {
            return;
        };
        if self.stopping > 0 || ignored_name(name) {
            return;
        }
        self.spare = [None, None];
        let Ok(dir) = scan::open_dir(self.dir) else {
            // Read it all again soon; a full reload says what is wrong.
            if self.rescan_at == 0 {
                self.rescan_at = now + RESCAN_RETRY_NS;
            }
            return;
        };
        if created {
            // A new regular file is being written: wait for its close. A
            // symlink, a hard link or anything else is complete now.
            let st = statat(&dir, cname, AtFlags::SYMLINK_NOFOLLOW);
            if st.is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::RegularFile && st.st_nlink <= 1) {
                return;
            }
        }
        let mut buf = [0u8; MAX_FILE + 1];
        let read = scan::read(&dir, cname, &mut buf);
        // Closed before any spawn, which takes the reserve back at the
        // lowest numbers.
        drop(dir);
        match read {
            Err(Problem::Unreadable(Errno::NOENT)) => {
                let listed = self.table.rejected.iter().any(|r| r.name() == name);
                self.table.forget_rejected(name);
                match self.table.find(name) {
                    Ok(i) => {
                        self.act(i, Event::Remove, now);
                    }
                    // Perhaps one of the rejected entries only counted:
                    // a re-read, at most once a second, counts them anew.
                    Err(_) if !listed && self.table.more_rejected > 0 && self.rescan_at == 0 => {
                        self.rescan_at = now + RESCAN_RETRY_NS;
                    }
                    Err(_) => {}
                }
            }
            read => {
                self.found(name, read.map(|n| buf.get(..n).unwrap_or(&[])));
                self.reconcile(now);
            }
        }
        self.read_again_soon(now);
    }

    /// Schedules a full re-read when a file met a passing shortage.
    fn read_again_soon(&mut self, now: u64) {
        if core::mem::take(&mut self.read_again) && self.rescan_at == 0 {
            self.rescan_at = now + RESCAN_RETRY_NS;
        }
    }

    /// Reaps every exited child; a service's leftover process group is
    /// killed while its leader is still a zombie, so the group id cannot
    /// have been reused.
    fn reap(&mut self, now: u64) {
        while let Some(pid) = sys::peek_exited() {
            let i = self.table.entries.iter().position(|e| e.svc.pid == pid);
            let Some(p) = Pid::from_raw(pid) else { break };
            if i.is_some() {
                let _ = kill_process_group(p, Signal::KILL);
            }
            let Ok(Some((_, status))) = waitpid(Some(p), WaitOptions::NOHANG) else {
                break;
            };
            let how = match (status.exit_status(), status.terminating_signal()) {
                (Some(code), _) => Exit::Code(code),
                (None, s) => Exit::Signal(s.unwrap_or(0)),
            };
            if let Some(i) = i {
                self.exited(i, how, now);
            }
        }
    }

    fn exited(&mut self, i: usize, how: Exit, now: u64) {
        self.pids_dirty = true;
        self.exec_report(i);
        let Some(e) = self.table.entries.get_mut(i) else {
            return;
        };
        let (pid, ran) = (e.svc.pid, now.saturating_sub(e.svc.since));
        let action = e.svc.on_event(Event::Exited(how), now);
        let (svc, name) = (e.svc, e.name);
        let Self { table, log, .. } = self;
        log.info(|l| {
            l.s(table.bytes(name)).s(b": pid ").i(i64::from(pid));
            match how {
                Exit::Code(c) => l.s(b" exited with status ").i(i64::from(c)),
                Exit::Signal(s) => signal_name(l.s(b" killed by "), s),
            };
            l.s(b" after ").dur(ran).s(b"; ");
            then(l, action, &svc);
        });
        self.perform(i, action, now);
    }

    /// Applies an event to service `i` and carries out its action; returns
    /// whether the service is still in the table.
    pub(crate) fn act(&mut self, i: usize, ev: Event, now: u64) -> bool {
        let Some(e) = self.table.entries.get_mut(i) else {
            return false;
        };
        let action = e.svc.on_event(ev, now);
        if action == Action::Forget {
            self.say(i, b": removed");
        }
        self.perform(i, action, now)
    }

    fn perform(&mut self, i: usize, action: Action, now: u64) -> bool {
        let Some(e) = self.table.entries.get(i) else {
            return false;
        };
        let (pid, svc) = (e.svc.pid, e.svc);
        match action {
            Action::Nothing => {}
            Action::Spawn => self.spawn(i, now),
            Action::SpawnNew => {
                self.drain(i);
                self.table.swap_in_next(i);
                self.recapture(i);
                self.spawn(i, now);
            }
            Action::Stop => {
                signal_group(pid, svc.stop_signal);
                signal_group(pid, sig::CONT);
                let Self { table, log, .. } = self;
                log.info(|l| {
                    l.s(table.name(i)).s(b": stopping pid ").i(i64::from(pid)).s(b" with ");
                    signal_name(l, svc.stop_signal);
                });
            }
            Action::Kill => {
                let Self { table, log, .. } = self;
                log.error(|l| {
                    l.s(table.name(i)).s(b": pid ").i(i64::from(pid)).s(b" did not stop within ");
                    l.u(u64::from(svc.stop_timeout)).s(b"s, sending SIGKILL");
                });
                signal_group(pid, sig::KILL);
            }
            Action::Forget => {
                if self.table.more_rejected > 0 || self.table.rejected.iter().any(|r| r.why == Why::Full) {
                    // Room in the table: a file rejected for capacity gets in.
                    self.rescan_at = now.max(1);
                }
                self.close_output(i);
                let Some(e) = self.table.entries.get(i) else { return false };
                let exec_fd = e.exec_fd;
                unwatch(&self.epoll, exec_fd);
                sys::close(exec_fd);
                self.table.forget(i);
                return false;
            }
        }
        true
    }

    fn spawn(&mut self, i: usize, now: u64) {
        self.keep_spare();
        match self.fork_exec(i) {
            Ok((pid, report, start)) => {
                self.pids_dirty = true;
                let token = EventData::new_u64(EXEC | report.as_raw_fd() as u32 as u64);
                let _ = epoll::add(&self.epoll, &report, token, EventFlags::IN);
                let mut failed = 0;
                if let Some(e) = self.table.entries.get_mut(i) {
                    failed = e.svc.failed_spawns;
                    e.exec_fd = report.into_raw_fd();
                    e.start = start;
                    e.svc.on_event(Event::Forked(pid), now);
                }
                let Self { table, log, .. } = self;
                log.info(|l| {
                    l.s(table.name(i)).s(b": started, pid ").i(i64::from(pid));
                    if failed > 0 {
                        l.s(b" (after ").u(u64::from(failed)).s(b" failed attempts)");
                    }
                });
            }
            Err(why) => {
                let mut first = false;
                if let Some(e) = self.table.entries.get_mut(i) {
                    first = e.svc.failed_spawns == 0;
                    e.svc.on_event(Event::SpawnFailed, now);
                }
                // A service that cannot start holds no descriptor while it
                // waits (they may be what it lacks); the pipe is made again
                // at the next try.
                self.close_output(i);
                // Logged when the fault starts; the line that says it
                // started again tells how many tries it took.
                if first {
                    let Self { table, log, .. } = self;
                    log.error(|l| {
                        l.s(table.name(i)).s(b": ").s(why.bytes()).s(b"; retrying in 1s");
                    });
                }
            }
        }
    }

    /// Prepares and forks service `i`; returns its pid and the read end of
    /// its exec-error pipe, or why it could not be started.
    #[allow(clippy::result_large_err)] // no heap to box it in; a cold path
    fn fork_exec(&mut self, i: usize) -> Result<(i32, OwnedFd, u64), Line> {
        let fail = |what: &[u8], e: Errno| {
            let mut l = Line::new();
            l.s(what).s(sys::strerror(e));
            l
        };
        let e = self.table.entries.get(i).ok_or_else(Line::new)?;
        let c = config::parse(self.table.bytes(e.cfg)).map_err(|_| fail(b"its config is invalid: ", Errno::INVAL))?;
        let ids = match (c.user, c.group) {
            (None, None) => None,
            (user, group) => Some(ids::resolve(user, group).map_err(|(what, _)| {
                let mut l = Line::new();
                l.s(b"cannot start: ")
                    .s(what.text())
                    .quoted(if what == IdError::UnknownGroup { group } else { user }.unwrap_or(b""));
                l
            })?),
        };
        let captured = matches!(c.log, config::Log::File(_) | config::Log::Prefix);
        let p = &mut *self.prepared;
        p.fill(&c, ids.as_ref(), self.procfile).ok_or_else(|| fail(b"cannot prepare its command: ", Errno::NOMEM))?;
        drop(c);
        let mut pipe = None;
        if let (true, Some(e)) = (captured, self.table.entries.get_mut(i)) {
            let made = logfile::ensure_pipe(&mut e.out).map_err(|e| fail(b"cannot create its output pipe: ", e))?;
            if let Some(r) = made {
                let _ = epoll::add(
                    &self.epoll,
                    sys::borrow(r),
                    EventData::new_u64(OUTPUT | r as u32 as u64),
                    EventFlags::IN,
                );
            }
            pipe = Some(sys::borrow(e.out.wfd));
        }
        if self.devnull.is_none() {
            let null = open(c"/dev/null", OFlags::RDWR | OFlags::CLOEXEC, Mode::empty());
            self.devnull = Some(null.map_err(|e| fail(b"cannot open /dev/null: ", e))?);
        }
        let null = self.devnull.as_ref().ok_or_else(Line::new)?;
        let (r, w) =
            pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK).map_err(|e| fail(b"cannot create a pipe: ", e))?;
        let start = leftover::boot_ticks();
        let pid = spawn::start(p, null.as_fd(), pipe, &w).map_err(|e| fail(b"cannot fork: ", e))?;
        Ok((pid, r, start))
    }

    fn on_output(&mut self, fd: i32) {
        if let Some(i) = self.table.entries.iter().position(|e| e.out.rfd == fd) {
            self.drain(i);
        }
    }

    /// Moves what service `i` wrote into its log file or to stdout.
    fn drain(&mut self, i: usize) {
        let Self { table, log, color, .. } = self;
        let Some(e) = table.entries.get(i) else { return };
        if e.out.rfd < 0 {
            return;
        }
        let name = table.bytes(e.name);
        let Ok(c) = config::parse(table.bytes(e.cfg)) else { return };
        let sink = match c.log {
            config::Log::File(path) => Sink::File { path, limit: c.log_size, keep: c.log_keep },
            _ => Sink::Prefix { name, color: color.then(|| logfile::color_of(name)) },
        };
        let path = if let config::Log::File(p) = c.log { p } else { b"" };
        let mut out = e.out;
        logfile::drain(&mut out, sink, |r| {
            log.error(|l| {
                l.s(name).s(b": ");
                match r {
                    Report::CannotOpen(e) => l.s(b"cannot open ").s(path).s(b": ").s(sys::strerror(e)),
                    Report::CannotWrite(e) => l.s(b"cannot write ").s(path).s(b": ").s(sys::strerror(e)),
                    Report::Recovered(n) => l.s(b"writing ").s(path).s(b" again; ").u(n).s(b" bytes were dropped"),
                };
                if !matches!(r, Report::Recovered(_)) {
                    l.s(b"; dropping its output until it works");
                }
            });
        });
        drop(c);
        if let Some(e) = table.entries.get_mut(i) {
            e.out = out;
        }
    }

    /// Moves out what service `i` wrote, then closes its output pipe and
    /// log file.
    fn close_output(&mut self, i: usize) {
        self.drain(i);
        if let Some(e) = self.table.entries.get_mut(i) {
            unwatch(&self.epoll, e.out.rfd);
            logfile::close(&mut e.out);
        }
    }

    /// After a config change: a new log file is opened at the next write;
    /// output no longer captured closes the pipe.
    fn recapture(&mut self, i: usize) {
        let Some(e) = self.table.entries.get(i) else { return };
        let captured = config::parse(self.table.bytes(e.cfg))
            .is_ok_and(|c| matches!(c.log, config::Log::File(_) | config::Log::Prefix));
        let Some(e) = self.table.entries.get_mut(i) else { return };
        if captured {
            logfile::close_file(&mut e.out);
        } else {
            unwatch(&self.epoll, e.out.rfd);
            logfile::close(&mut e.out);
        }
    }

    fn exec_report_fd(&mut self, fd: i32) {
        if let Some(i) = self.table.entries.iter().position(|e| e.exec_fd == fd) {
            self.exec_report(i);
        }
    }

    /// Reads a spawn's exec-error pipe: EOF means the program runs; a
    /// report is logged with its step and reason.
    fn exec_report(&mut self, i: usize) {
        let Some(e) = self.table.entries.get(i) else {
            return;
        };
        let fd = e.exec_fd;
        if fd < 0 {
            return;
        }
        let mut b = [0u8; 8];
        let report = match rustix::io::read(sys::borrow(fd), &mut b) {
            Err(Errno::AGAIN) => return,
            Ok(8) => spawn::decode(&b),
            _ => None,
        };
        unwatch(&self.epoll, fd);
        sys::close(fd);
        if let Some(e) = self.table.entries.get_mut(i) {
            e.exec_fd = -1;
        }
        let Some((step, err)) = report else { return };
        let Self { table, log, .. } = self;
        let Some(e) = table.entries.get(i) else {
            return;
        };
        let cfg = config::parse(table.bytes(e.cfg)).ok();
        log.error(|l| {
            l.s(table.bytes(e.name)).s(b": cannot ");
            describe_step(l, step, cfg.as_ref());
            l.s(b": ").s(sys::strerror(err));
        });
    }

    fn fire_due(&mut self, now: u64) {
        for i in 0..self.table.entries.len() {
            let due = self.table.entries.get(i).is_some_and(|e| e.svc.deadline != 0 && e.svc.deadline <= now);
            if due {
                self.act(i, Event::Due, now);
            }
        }
        self.expire_clients(now);
        if self.rescan_at != 0 && self.rescan_at <= now {
            self.rescan_at = 0;
            self.reload(now);
        }
    }

    /// Re-reads the whole directory and applies the differences.
    pub(crate) fn reload(&mut self, now: u64) {
        if self.stopping > 0 {
            return;
        }
        self.spare = [None, None];
        if self.procfile {
            return self.reload_procfile(now);
        }
        if let Some(w) = self.watch.as_mut() {
            w.arm(self.dir);
        }
        let dir = match scan::open_dir(self.dir) {
            Ok(d) => d,
            Err(e) => {
                let gone = matches!(e, Errno::NOENT | Errno::NOTDIR);
                if !gone || !self.dir_missing {
                    self.log.error(|l| {
                        l.s(b"cannot open ").s(self.dir.to_bytes()).s(b": ").s(sys::strerror(e));
                        if !gone {
                            l.s(b"; trying again in 1s");
                        }
                    });
                }
                if gone {
                    self.dir_missing = true;
                    self.table.begin_scan();
                    self.sweep(now);
                } else {
                    self.rescan_at = now + RESCAN_RETRY_NS;
                }
                return;
            }
        };
        self.dir_missing = false;
        self.table.begin_scan();
        self.scanning = true;
        let walked = scan::each(&dir, |name, read| self.found(name, read));
        self.scanning = false;
        // Closed before any spawn, which takes the reserve back at the
        // lowest numbers.
        drop(dir);
        let Self { table, log, dir, .. } = self;
        for r in table.rejected.iter().filter(|r| r.why == Why::Full) {
            log.error(|l| {
                l.file(dir.to_bytes(), r.name()).s(b": ");
                Why::Full.describe(l);
            });
        }
        if self.table.more_rejected > 0 {
            let more = u64::from(self.table.more_rejected);
            self.log.error(|l| {
                l.s(self.dir.to_bytes()).s(b": ").u(more).s(b" more entries rejected");
            });
        }
        if let Err(e) = walked {
            self.log.error(|l| {
                l.s(b"cannot read ").s(self.dir.to_bytes()).s(b": ").s(sys::strerror(e)).s(b"; trying again in 1s");
            });
            self.rescan_at = now + RESCAN_RETRY_NS;
            return;
        }
        self.sweep(now);
        self.reconcile(now);
        self.read_again_soon(now);
    }

    /// Re-reads the Procfile: each of its lines is a service.
    fn reload_procfile(&mut self, now: u64) {
        let mut buf = [0u8; MAX_FILE + 1];
        let n = match scan::read_path(self.dir, &mut buf) {
            Ok(n) => n,
            Err(p) => {
                let mut text = Line::new();
                p.describe(&mut text);
                self.log.error(|l| {
                    l.s(self.dir.to_bytes()).s(text.bytes());
                });
                return;
            }
        };
        self.table.begin_scan();
        for (line, entry) in procfile::entries(buf.get(..n).unwrap_or(&[])) {
            let mut cfg = [0u8; MAX_FILE];
            match entry.map(|(name, cmd)| (name, procfile::config(cmd, &mut cfg))) {
                Ok((name, Some(len))) => self.found(name, Ok(cfg.get(..len).unwrap_or(&[]))),
                Ok((_, None)) => procfile_error(&mut self.log, self.dir, line, b"command too long"),
                Err(why) => procfile_error(&mut self.log, self.dir, line, why),
            }
        }
        self.sweep(now);
        self.reconcile(now);
    }

    /// Takes in one directory entry.
    fn found(&mut self, name: &[u8], read: Result<&[u8], Problem>) {
        if matches!(read, Err(Problem::Unreadable(Errno::MFILE | Errno::NFILE | Errno::NOMEM))) {
            self.read_again = true;
        }
        let Self { table, log, dir, scanning, .. } = self;
        let file = |l: &mut Line| {
            l.file(dir.to_bytes(), name);
        };
        if !valid_name(name) {
            if table.reject(name, Why::BadName) || !*scanning {
                log.error(|l| {
                    file(l);
                    l.s(b": ");
                    Why::BadName.describe(l);
                });
            }
            return;
        }
        let mut text = Line::new();
        let mut canon = [0u8; MAX_FILE + 1];
        let loaded = match read {
            Ok(bytes) => scan::load(bytes, &mut canon, &mut text),
            Err(p) => {
                p.describe(&mut text);
                None
            }
        };
        let outcome = match loaded {
            Some(n) => table.update(name, Ok(canon.get(..n).unwrap_or(&[]))),
            None => table.update(name, Err(text.bytes())),
        };
        let entry = table.find(name).ok().and_then(|i| table.entries.get(i));
        // The stored text, else the one just made, else the one reason a
        // valid file has none: the arena was too full to keep even that.
        let stored = entry.map_or(&[][..], |e| table.bytes(e.err));
        let err = [stored, text.bytes(), crate::table::NO_ROOM].into_iter().find(|t| !t.is_empty()).unwrap_or(b"");
        let running = entry.is_some_and(|e| e.svc.running());
        match outcome {
            Outcome::Invalid | Outcome::InvalidKept => log.error(|l| {
                file(l);
                l.s(err);
                match (outcome, running) {
                    (Outcome::InvalidKept, true) => l.s(b" (still running the previous config)"),
                    (Outcome::InvalidKept, false) => l.s(b" (keeping the previous config)"),
                    _ => l,
                };
            }),
            Outcome::Full if !*scanning => log.error(|l| {
                file(l);
                l.s(b": ");
                Why::Full.describe(l);
            }),
            _ => {}
        }
    }

    /// Stops and forgets every service whose file the scan did not find.
    fn sweep(&mut self, now: u64) {
        let mut i = 0;
        while let Some(j) = self.table.unseen(i) {
            i = if self.act(j, Event::Remove, now) { j + 1 } else { j };
        }
    }

    /// Lets every service with a pending config act on it, in name order.
    fn reconcile(&mut self, now: u64) {
        if self.stopping > 0 {
            return;
        }
        for i in 0..self.table.entries.len() {
            let due = self.table.entries.get(i).is_some_and(|e| e.svc.pending && e.svc.state != State::Stopping);
            if due {
                self.act(i, Event::NewConfig, now);
            }
        }
    }

    fn shutdown(&mut self, signal: i32, now: u64) {
        self.stopping = self.stopping.saturating_add(1).min(2);
        self.rescan_at = 0;
        let first = self.stopping == 1;
        self.log.info(|l| {
            signal_name(l, signal);
            l.s(if first { b" received, stopping all services" } else { b" received again, killing all services" });
        });
        if first {
            if let Some(w) = self.watch.as_mut() {
                unwatch(&self.epoll, w.fd().as_raw_fd());
                w.disarm();
            }
            let mut i = 0;
            while i < self.table.entries.len() {
                if self.act(i, Event::Stop, now) {
                    i += 1;
                }
            }
        } else {
            for e in self.table.entries.iter().filter(|e| e.svc.running()) {
                signal_group(e.svc.pid, sig::KILL);
            }
        }
    }

    fn say(&mut self, i: usize, what: &[u8]) {
        let Self { table, log, .. } = self;
        log.info(|l| {
            l.s(table.name(i)).s(what);
        });
    }
}

fn procfile_error(log: &mut Log, path: &CStr, line: usize, why: &[u8]) {
    log.error(|l| {
        l.s(path.to_bytes()).s(b":").u(line as u64).s(b": ").s(why);
    });
}

/// Checks a Procfile before anything starts: its problems are printed and
/// nothing runs, as befits a developer's tool.
fn procfile_valid(path: &CStr) -> bool {
    let mut buf = [0u8; MAX_FILE + 1];
    let mut log = Log::new();
    let n = match scan::read_path(path, &mut buf) {
        Ok(n) => n,
        Err(p) => {
            let mut text = Line::new();
            p.describe(&mut text);
            log.error(|l| {
                l.s(path.to_bytes()).s(text.bytes());
            });
            return false;
        }
    };
    let mut ok = true;
    let mut any = false;
    let src = buf.get(..n).unwrap_or(&[]);
    for (line, entry) in procfile::entries(src) {
        let dup = entry.is_ok_and(|(name, _)| {
            procfile::entries(src).take_while(|(l, _)| *l < line).any(|(_, e)| e.is_ok_and(|(n, _)| n == name))
        });
        match entry {
            Err(why) => procfile_error(&mut log, path, line, why),
            Ok(_) if dup => procfile_error(&mut log, path, line, b"repeated name"),
            Ok(_) => {
                any = true;
                continue;
            }
        }
        ok = false;
    }
    if ok && !any {
        procfile_error(&mut log, path, 0, b"no processes");
    }
    ok && any
}

/// Names a child's failed step with the config values it used.
fn describe_step(l: &mut Line, step: Step, c: Option<&config::Config>) {
    let Some(c) = c else {
        l.s(b"start");
        return;
    };
    fn value(v: Option<&[u8]>) -> &[u8] {
        v.unwrap_or(b"")
    }
    match step {
        Step::Exec => {
            l.s(b"exec ");
            let mut done = false;
            let _ = cmdline::split(c.cmd, |t| match t {
                cmdline::Tok::Byte(b) if !done => {
                    l.masked(&[b]);
                }
                _ => done = true,
            });
        }
        Step::Chdir => {
            l.s(b"chdir ").s(c.cwd);
        }
        Step::Stdio => {
            l.s(b"set up stdin/stdout");
        }
        Step::Chroot => {
            l.s(b"chroot ").s(value(c.chroot));
        }
        Step::Groups => {
            l.s(b"set the supplementary groups of ").s(value(c.user));
        }
        Step::Setgid => {
            l.s(b"set group ").s(value(c.group.or(c.user)));
        }
        Step::Setuid => {
            l.s(b"set user ").s(value(c.user));
        }
        Step::Nice => {
            l.s(b"set nice ").i(i64::from(c.nice.unwrap_or(0)));
        }
        Step::Limit(i) => {
            l.s(b"set limit_").s(config::LIMITS.get(usize::from(i)).copied().unwrap_or(b"?"));
        }
    }
}

/// What follows an exit, for the end of the exit line.
fn then(l: &mut Line, action: Action, s: &Service) {
    match (action, s.state) {
        (Action::Forget, _) => l.s(b"removed"),
        (Action::SpawnNew, _) => l.s(b"restarting with new config"),
        (Action::Spawn, _) => l.s(b"restarting"),
        (_, State::Backoff) => l.s(b"restarting in ").u(backoff_secs(s.quick)).s(b"s"),
        (_, State::Done) if s.restart == Restart::Never => l.s(b"not restarting (restart=never)"),
        (_, State::Done) => l.s(b"not restarting (restart=on-failure)"),
        _ => l.s(b"stopped"),
    };
}

fn signal_name(l: &mut Line, s: i32) -> &mut Line {
    match sig::name(s) {
        Some(n) => l.s(b"SIG").s(n),
        None => l.s(b"signal ").i(i64::from(s)),
    }
}

/// Takes a descriptor out of the epoll set. Closing it is not enough: a
/// child between fork and exec still holds a copy, and epoll forgets a
/// descriptor only when every copy is closed, so it would go on reporting
/// events for a number going may already have reused. Call it before the
/// close, while the number is still going's.
pub(crate) fn unwatch(epoll: &OwnedFd, fd: i32) {
    if fd >= 0 {
        let _ = epoll::delete(epoll, sys::borrow(fd));
    }
}

/// Sends a signal to a service's process group, or to its process if it
/// left the group.
pub(crate) fn signal_group(pid: i32, s: i32) {
    let (Some(p), Some(s)) = (Pid::from_raw(pid), Signal::from_named_raw(s)) else {
        return;
    };
    if kill_process_group(p, s) == Err(Errno::SRCH) {
        let _ = kill_process(p, s);
    }
}
