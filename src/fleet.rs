//! The fleet: every service and what acts on them. The event sources
//! (`confdir`, `control`, `ready`, the signals in `supervisor`) tell it
//! what happened to which service; `act` asks that service's state
//! machine what to do and `perform` does it: spawn, stop, kill, forget.
//! What depends on neighbours in the `after=` graph — a service waiting
//! for what it is after, a shutdown in reverse order — is settled in one
//! pass after each wake-up (`settle`), never by recursion, so a chain of
//! 256 services costs no stack.

use crate::cgroup::{self, Cgroups};
use crate::config::{self, Ready};
use crate::confine::Networks;
use crate::fmt::Line;
use crate::graph::Graph;
use crate::ids::{self, IdError};
use crate::limits::{ALONGSIDE_WAIT, MAX_SERVICES, SEC};
use crate::log::Log;
use crate::output::{self, Console, Report, Syslog, Target};
use crate::ready::Notify;
use crate::service::{Action, Ctx, Event, Exit, Fault, Service, Setup, State, Want, backoff_secs};
use crate::spawn::{self, Join, Prepared, Step};
use crate::table::{News, Sink, Table, Why};
use crate::{cmdline, leftover, sig, sys};
use core::ffi::CStr;
use rustix::event::epoll::{self, EventData, EventFlags};
use rustix::fd::{AsFd, IntoRawFd, OwnedFd};
use rustix::fs::{Mode, OFlags, open};
use rustix::io::Errno;
use rustix::pipe::{PipeFlags, pipe_with};
use rustix::process::{Pid, Signal, WaitOptions, kill_process_group, waitpid};

/// epoll tokens: the kind in the high half, a descriptor or slot in the
/// low half.
pub const SIGNALS: u64 = 1 << 32;
pub const EXEC: u64 = 2 << 32;
pub const WATCH: u64 = 3 << 32;
pub const LISTEN: u64 = 4 << 32;
pub const CLIENT: u64 = 5 << 32;
pub const OUTPUT: u64 = 6 << 32;
pub const READY: u64 = 7 << 32;
pub const NOTIFY: u64 = 8 << 32;
pub const WAITER: u64 = 9 << 32;
pub const CGROUP: u64 = 10 << 32;

/// What going does once everything has stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Then {
    Exit,
    PowerOff,
    Reboot,
    Halt,
}

/// going is stopping everything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Halt {
    /// going's exit status.
    pub code: i32,
    pub then: Then,
}

/// Why a spawn did not happen.
enum Failure {
    /// Something the service needs is wrong: it fails until it changes.
    Setup(Setup),
    /// A passing shortage in going (fork, pipe, /dev/null): what could
    /// not be done and why; retried.
    Transient(&'static [u8], Errno),
    /// Its user or group is not (or no longer) in the password files.
    Ids(IdError),
}

pub struct Fleet<'a> {
    /// The large parts live in `supervisor::run`'s frame and are
    /// borrowed, never moved: a move would copy tens of KiB.
    pub table: &'a mut Table,
    pub graph: &'a mut Graph,
    /// What going itself has that a spawn may skip setting.
    own: spawn::Own,
    pub log: Log,
    pub epoll: OwnedFd,
    /// The config directory, for `DIR/NAME` in messages.
    pub dir: &'a CStr,
    devnull: Option<OwnedFd>,
    /// Descriptors held in reserve for going's own work: the services
    /// cannot take the last of them, so reading the directory and
    /// accepting a client still work when the services use up the rest.
    /// Released for that work, taken back before the next spawn.
    pub spare: [Option<OwnedFd>; 2],
    pub stdout: Console,
    /// The socket to `/dev/log` for `log=syslog` services.
    syslog: Syslog,
    /// Colour the `log=prefix` names (stdout is a terminal, no NO_COLOR).
    pub color: bool,
    /// Procfile mode: going's own environment and working directory.
    pub procfile: bool,
    /// `NOTIFY_SOCKET` for `ready=notify` services, and the socket once
    /// one of them has started.
    pub notify_path: Option<&'a CStr>,
    notify: Option<Notify>,
    /// `SOCKET.pids` and its temporary name, this boot's id for it, and
    /// when to write it again (0: it is up to date).
    pub pids: Option<(&'a CStr, &'a CStr)>,
    pub boot_id: &'a [u8],
    pids_due: u64,
    /// The services' cgroups, where there are any.
    pub cgroups: Cgroups,
    pub halt: Option<Halt>,
    /// Something changed that may release a waiting or halting service.
    unsettled: bool,
    /// The table changed shape or configs: the graph is out of date.
    graph_dirty: bool,
    /// `going wait` slots whose service was removed.
    pub lost_waiters: u32,
    /// A service left the table while files were rejected for want of
    /// room: the directory should be read again.
    pub room: bool,
    /// Network namespaces of `private_network` services, kept for their
    /// next run.
    networks: Networks,
    /// Starts since the loop last woke up.
    pub starts: u32,
    /// Where children run between their clone and their exec.
    pool: &'a mut spawn::Pool,
    /// A wait for a slot of the pool timed out in this wake-up: the rest
    /// of it starts services the waiting way, without waiting again.
    pub stalled: bool,
    /// The exited child `reap` has handled but not reaped yet (0: none):
    /// a start that the zombie's share of a process limit refuses reaps
    /// it and tries again.
    zombie: i32,
}

/// Where a start's `Prepared` is built.
enum Place<'p> {
    /// In slot `k` of the pool; the child may run alongside going.
    Slot(usize, bool),
    /// In the caller's frame; going waits for the child's exec.
    Here(&'p mut Prepared),
}

impl<'a> Fleet<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        table: &'a mut Table,
        graph: &'a mut Graph,
        pool: &'a mut spawn::Pool,
        log: Log,
        epoll: OwnedFd,
        dir: &'a CStr,
        procfile: bool,
    ) -> Self {
        Fleet {
            table,
            graph,
            own: spawn::Own::now(),
            log,
            epoll,
            dir,
            devnull: None,
            spare: [None, None],
            stdout: Console::plain(1),
            syslog: Syslog::new(),
            color: false,
            procfile,
            notify_path: None,
            notify: None,
            pids: None,
            boot_id: b"",
            pids_due: 0,
            cgroups: Cgroups::none(),
            halt: None,
            unsettled: false,
            graph_dirty: true,
            lost_waiters: 0,
            networks: Networks::new(),
            room: false,
            starts: 0,
            pool,
            stalled: false,
            zombie: 0,
        }
    }

    /// Gives back the pages of the pool's slots once no child runs on
    /// them (see `sys::Alongside::release`).
    pub fn release_pool(&mut self) {
        self.pool.release();
    }

    /// `e` says a descriptor was short: gives up the reserve, if any is
    /// left, and says whether the call is worth trying again.
    pub fn spend_spare(&mut self, e: Errno) -> bool {
        let short = matches!(e, Errno::MFILE | Errno::NFILE) && self.spare.iter().any(Option::is_some);
        if short {
            self.spare = [None, None];
        }
        short
    }

    /// Fills the reserve of descriptors; no system call when it is full.
    pub fn keep_spare(&mut self) {
        for s in self.spare.iter_mut().filter(|s| s.is_none()) {
            let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
            *s = Some(match open(c"/", flags, Mode::empty()) {
                Ok(fd) => fd,
                Err(_) => return,
            });
        }
    }

    /// The table changed: names, their order or their configs.
    pub fn changed(&mut self) {
        self.graph_dirty = true;
        self.unsettled = true;
    }

    /// Rebuilds the graph from every service's next config.
    fn rebuild(&mut self) {
        self.graph_dirty = false;
        let Self { table, graph, log, .. } = self;
        let t = &**table;
        let built = graph.build(t.entries.len(), |i, add| {
            for name in config::after_names(t.effective(i)) {
                if let Ok(j) = t.find(name) {
                    add(j);
                }
            }
        });
        if let Err(over) = built {
            log.error(|l| {
                l.s(t.name(over.0)).s(b": too many after= names in all services (limit ");
                l.u(crate::limits::MAX_EDGES as u64).s(b"); the rest are ignored");
            });
        }
    }

    /// What service `i`'s neighbours are doing.
    fn ctx(&mut self, i: usize, now: u64) -> Ctx {
        if self.graph_dirty {
            self.rebuild();
        }
        let svc = |j: usize| self.table.entries.get(j).map(|e| &e.svc);
        // In a cycle (made by an order change while its services ran) no
        // order holds: a shutdown must not wait on it for ever.
        let cyclic = self.graph.in_cycle(i);
        let after_it = |k: &usize| !(cyclic && self.graph.in_cycle(*k));
        Ctx {
            now,
            deps_ready: self.graph.deps(i).all(|j| svc(j).is_some_and(|s| s.ready())),
            dependents_running: self.graph.dependents(i).filter(after_it).any(|k| svc(k).is_some_and(|s| s.running())),
        }
    }

    /// Applies an event to service `i` and carries out its action; returns
    /// whether the service is still in the table.
    pub fn act(&mut self, i: usize, ev: Event, now: u64) -> bool {
        let ctx = self.ctx(i, now);
        let Some(e) = self.table.entries.get_mut(i) else {
            return false;
        };
        let action = e.svc.on_event(ev, ctx);
        self.unsettled = true;
        if action == Action::Forget && !matches!(ev, Event::Exited(_)) {
            self.say(i, b": removed");
        }
        self.perform(i, ev, action, now)
    }

    fn perform(&mut self, i: usize, ev: Event, action: Action, now: u64) -> bool {
        let Some(e) = self.table.entries.get(i) else {
            return false;
        };
        let (pid, policy, state, draining) = (e.svc.pid, e.svc.policy, e.svc.state, e.svc.draining());
        match action {
            Action::Nothing => {}
            Action::Spawn => self.spawn(i, now),
            Action::Stop => {
                self.signal_all(i, [i32::from(policy.stop_signal), sig::CONT]);
                let Self { table, log, .. } = self;
                log.info(|l| {
                    l.s(table.name(i));
                    if state == (State::Stopping { timeout: true }) {
                        l.s(b": not ready after ").u(u64::from(policy.ready_timeout)).s(b"s;");
                    } else {
                        l.s(b":");
                    }
                    l.s(b" stopping pid ").i(i64::from(pid)).s(b" with ");
                    signal_name(l, i32::from(policy.stop_signal));
                });
            }
            Action::Kill => {
                if ev == Event::Due && !draining {
                    let Self { table, log, .. } = self;
                    log.error(|l| {
                        l.s(table.name(i)).s(b": pid ").i(i64::from(pid)).s(b" did not stop within ");
                        l.u(u64::from(policy.stop_timeout)).s(b"s, sending SIGKILL");
                    });
                }
                return self.kill(i, now);
            }
            Action::Forget => {
                self.forget(i);
                return false;
            }
            Action::End(code) => {
                let Self { table, log, .. } = self;
                log.info(|l| {
                    l.s(table.name(i))
                        .s(b": a critical service ended; stopping everything, exit status ")
                        .i(i64::from(code));
                });
                let then = if crate::init::is_machine() { Then::PowerOff } else { Then::Exit };
                self.shutdown(Halt { code, then }, now);
            }
        }
        true
    }

    fn forget(&mut self, i: usize) {
        if self.table.more_rejected > 0 || self.table.rejected.iter().any(|r| r.why == Why::Full) {
            // Room in the table: a file rejected for capacity gets in.
            self.room = true;
        }
        self.close_output(i);
        let Some(e) = self.table.entries.get(i) else { return };
        let (run, waiters) = (e.run, e.waiters);
        if run.exec_watched {
            unwatch(&self.epoll, run.exec_fd);
        }
        unwatch(&self.epoll, run.ready_fd);
        sys::close(run.exec_fd);
        sys::close(run.ready_fd);
        self.lost_waiters |= waiters;
        self.networks.release(self.table.name(i));
        self.cgroups.remove(self.table.name(i));
        self.table.forget(i);
        self.changed();
    }

    /// Tells every service what the table learnt of its file, in name
    /// order.
    pub fn deliver(&mut self, now: u64) {
        let mut i = 0;
        while i < self.table.entries.len() {
            let news =
                self.table.entries.get_mut(i).map_or(News::None, |e| core::mem::replace(&mut e.news, News::None));
            let kept = match news {
                News::None => true,
                News::Config => self.act(i, Event::Config, now),
                News::Present => self.act(i, Event::Back, now),
            };
            if kept {
                i += 1;
            }
        }
    }

    /// Going's first read is under way: nothing read so far is after
    /// anything. The graph is emptied, so that `start_early` can ask it
    /// while the files are still being read.
    pub fn first_read(&mut self) {
        let _ = self.graph.build(0, |_, _| {});
        self.graph_dirty = false;
    }

    /// At going's first read, starts service `i` as soon as its file is
    /// read when it is after nothing: whatever the files not read yet
    /// say, it waits for no one, and no stop is under way that would ask
    /// who waits for it, so the graph (which has no edges yet) is not
    /// rebuilt for it. The others are told at the end of the read, as at
    /// any other. Returns whether the service is still in the table.
    pub fn start_early(&mut self, i: usize, now: u64) -> bool {
        let after = config::after_names(self.table.effective(i)).next().is_some();
        let Some(e) = self.table.entries.get_mut(i).filter(|e| e.news == News::Config && !after) else {
            return true;
        };
        e.news = News::None;
        let dirty = core::mem::replace(&mut self.graph_dirty, false);
        let kept = self.act(i, Event::Config, now);
        self.graph_dirty |= dirty;
        kept
    }

    /// Releases what waited for its neighbours: services whose `after=`
    /// are now ready, and in a shutdown those that nothing running is
    /// after any more. Marks dependency cycles.
    #[inline(never)]
    pub fn settle(&mut self, now: u64) {
        for _ in 0..=MAX_SERVICES {
            if !core::mem::take(&mut self.unsettled) {
                return;
            }
            if self.graph_dirty {
                self.rebuild();
            }
            let mut i = 0;
            while i < self.table.entries.len() {
                let Some(s) = self.table.entries.get(i).map(|e| e.svc) else { break };
                let cyclic = self.graph.in_cycle(i);
                let ev = match (s.state, s.want) {
                    (State::Failed(Fault::Cycle), _) if !cyclic => Some(Event::Retry),
                    (State::Failed(_) | State::Done, _) => None,
                    (_, _) if cyclic && !s.running() && s.want != Want::Halt => Some(Event::Fault(Fault::Cycle)),
                    (State::Waiting, _) => Some(Event::Release).filter(|_| self.ctx(i, now).deps_ready),
                    (_, Want::Halt) if s.running() && !s.stopping() => {
                        Some(Event::Release).filter(|_| !self.ctx(i, now).dependents_running)
                    }
                    _ => None,
                };
                if let Some(ev) = ev {
                    if ev == Event::Fault(Fault::Cycle) {
                        self.say_fault(i, Fault::Cycle);
                    }
                    if ev == Event::Release && s.want == Want::Halt {
                        self.act(i, Event::Shutdown, now);
                    } else if !self.act(i, ev, now) {
                        continue;
                    }
                }
                i += 1;
            }
        }
    }

    /// Starts stopping everything: each service once nothing running is
    /// after it.
    pub fn shutdown(&mut self, halt: Halt, now: u64) {
        if self.halt.is_none() {
            self.halt = Some(halt);
        }
        for i in 0..self.table.entries.len() {
            self.act(i, Event::Shutdown, now);
        }
    }

    /// Kills everything at once (a second SIGTERM).
    pub fn kill_all(&mut self, now: u64) {
        for i in 0..self.table.entries.len() {
            self.act(i, Event::KillAll, now);
        }
    }

    /// Has everything stopped that going waits for?
    pub fn all_down(&self) -> bool {
        !self.table.entries.iter().any(|e| e.svc.running())
    }

    /// Gives every service whose deadline has passed its `Due` event.
    pub fn fire_due(&mut self, now: u64) {
        let mut i = 0;
        while i < self.table.entries.len() {
            let due = self.table.entries.get(i).is_some_and(|e| e.svc.deadline != 0 && e.svc.deadline <= now);
            if !due || self.act(i, Event::Due, now) {
                i += 1;
            }
        }
    }

    fn spawn(&mut self, i: usize, now: u64) {
        self.keep_spare();
        if self.graph_dirty {
            self.rebuild();
        }
        if self.graph.in_cycle(i) {
            self.say_fault(i, Fault::Cycle);
            if let Some(e) = self.table.entries.get_mut(i) {
                e.svc.on_event(Event::Fault(Fault::Cycle), Ctx::alone(now));
            }
            return;
        }
        let fresh = self.table.entries.get(i).is_some_and(|e| !e.next.is_empty());
        if fresh {
            // What the old run wrote goes where the old config said.
            self.drain(i, now);
            self.table.swap_in_next(i);
            self.networks.release(self.table.name(i));
            self.recapture(i);
        }
        // The first start of a wake-up (a respawn, a pickup) waits for its
        // exec, which is the fastest way to it; the ones after it in a
        // burst start while the ones before them are still on their way.
        let alongside = self.starts > 0 && self.pool.overlaps();
        let mut slot = self.pool.claim();
        if slot.is_none() && !self.stalled {
            if self.pool.wait_free(ALONGSIDE_WAIT) {
                slot = self.pool.claim();
            } else {
                self.stalled = true;
            }
        }
        let started = match slot {
            Some(k) => {
                let r = self.fork_exec(i, fresh, Place::Slot(k, alongside));
                self.pool.unclaim(k);
                r
            }
            None => self.fork_exec_here(i, fresh),
        };
        match started {
            Ok((pid, report, start)) => {
                self.pids_changed(now);
                let mut failed = 0;
                if let Some(e) = self.table.entries.get_mut(i) {
                    failed = e.svc.failed_spawns;
                    e.run.exec_fd = report.into_raw_fd();
                    e.run.exec_watched = false;
                    e.run.start = start;
                    e.svc.on_event(Event::Forked(pid), Ctx::alone(now));
                }
                let Self { table, log, .. } = self;
                log.info(|l| {
                    l.s(table.name(i)).s(b": started, pid ").i(i64::from(pid));
                    if failed > 0 {
                        l.s(b" (after ").u(u64::from(failed)).s(b" failed attempts)");
                    }
                });
                // A child that was waited for has exec'd or failed by
                // now: its report is there to read without a wake-up. One
                // started alongside is watched until it reports.
                self.exec_report(i, now);
            }
            Err(why) => {
                let mut first = false;
                if let Some(e) = self.table.entries.get_mut(i) {
                    let ev = match why {
                        Failure::Setup(why) => {
                            first = e.svc.state != State::Failed(Fault::Setup(why));
                            Event::Fault(Fault::Setup(why))
                        }
                        _ => {
                            first = e.svc.failed_spawns == 0;
                            Event::SpawnFailed
                        }
                    };
                    e.svc.on_event(ev, Ctx::alone(now));
                }
                // A service that cannot start holds no descriptor while it
                // waits (they may be what it lacks); the pipe is made again
                // at the next try.
                self.close_output(i);
                // Logged when the fault starts; after a passing shortage
                // the line that says it started again tells how many tries
                // it took.
                match why {
                    _ if !first => {}
                    Failure::Setup(why) => self.say_fault(i, Fault::Setup(why)),
                    _ => {
                        let Self { table, log, .. } = self;
                        let c = config::parse(table.cfg(i));
                        log.error(|l| {
                            l.s(table.name(i)).s(b": ");
                            match why {
                                Failure::Ids(what) => {
                                    let who = c
                                        .as_ref()
                                        .ok()
                                        .and_then(|c| if what == IdError::UnknownGroup { c.group } else { c.user });
                                    l.s(b"cannot start: ").s(what.text()).quoted(who.unwrap_or(b""));
                                }
                                Failure::Transient(what, e) => {
                                    l.s(what).s(sys::strerror(e));
                                }
                                Failure::Setup(_) => {}
                            }
                            l.s(b"; retrying in 1s");
                        });
                    }
                }
            }
        }
    }

    /// `fork_exec` with what `execve` needs built in this frame, when no
    /// slot of the pool is free: it takes stack only while it runs.
    #[inline(never)]
    fn fork_exec_here(&mut self, i: usize, fresh: bool) -> Result<(i32, OwnedFd, u64), Failure> {
        let mut prepared = Prepared::empty();
        self.fork_exec(i, fresh, Place::Here(&mut prepared))
    }

    /// Prepares and forks service `i` (with a new config: `fresh`) from
    /// `place`; returns its pid, the read end of its exec-error pipe and
    /// its start time, or why it could not be started.
    fn fork_exec(&mut self, i: usize, fresh: bool, mut place: Place<'_>) -> Result<(i32, OwnedFd, u64), Failure> {
        let fail = Failure::Transient;
        let e = self.table.entries.get(i).ok_or(fail(b"cannot find it: ", Errno::NOENT))?;
        let (sink, ready, mut out) = (e.sink, e.svc.policy.ready, e.out);
        let c = config::parse(self.table.bytes(e.cfg)).map_err(|_| fail(b"its config is invalid: ", Errno::INVAL))?;
        let ids = match (c.user, c.group) {
            (None, None) => None,
            (user, group) => Some(ids::resolve(user, group).map_err(|(what, _)| Failure::Ids(what))?),
        };
        let gid = ids.as_ref().and_then(|i| i.gid);
        let (name, limits) = (e.name, cgroup::Limits::of(&c));
        let notify = match (ready, self.notify_path) {
            (Ready::Notify, Some(path)) => {
                if self.notify.is_none() {
                    let sock = Notify::open(path).map_err(|e| fail(b"cannot create the notify socket: ", e))?;
                    watch(&self.epoll, sock.fd(), NOTIFY);
                    self.notify = Some(sock);
                }
                Some(path.to_bytes())
            }
            _ => None,
        };
        let p = match &mut place {
            Place::Here(p) => &mut **p,
            Place::Slot(k, _) => &mut self.pool.slot(*k).ok_or(fail(b"cannot find it: ", Errno::NOENT))?.prep,
        };
        p.set_own(self.own);
        p.fill(&c, ids.as_ref(), self.procfile, notify)
            .ok_or_else(|| fail(b"cannot prepare its command: ", Errno::NOMEM))?;
        let private = c.private_network;
        if private {
            p.join_network(self.networks.of(self.table.name(i)));
        }
        drop(c);
        let mut pipe = None;
        if sink.captured() {
            let made = output::ensure_pipe(&mut out);
            if let Ok(Some(r)) = made {
                watch(&self.epoll, r, OUTPUT);
            }
            let opened = match sink {
                Sink::File { .. } => output::open_file(&mut out, self.table.log_path(i), gid),
                _ => Ok(()),
            };
            if let Some(e) = self.table.entries.get_mut(i) {
                e.out = out;
            }
            made.map_err(|e| fail(b"cannot create its output pipe: ", e))?;
            match opened {
                // A full disk, or a full quota: the service starts, and its
                // output is dropped and counted until the file can be made.
                Ok(()) | Err(Setup::LogOpen(Errno::NOSPC | Errno::DQUOT)) => {}
                // A passing shortage, not something wrong with the file.
                Err(Setup::LogOpen(e @ (Errno::MFILE | Errno::NFILE | Errno::NOMEM))) => {
                    return Err(fail(b"cannot open its log file: ", e));
                }
                Err(why) => return Err(Failure::Setup(why)),
            }
            pipe = Some(out.wfd);
        }
        let null = match &mut self.devnull {
            Some(null) => &*null,
            none => {
                let null = open(c"/dev/null", OFlags::RDWR | OFlags::CLOEXEC, Mode::empty());
                &*none.insert(null.map_err(|e| fail(b"cannot open /dev/null: ", e))?)
            }
        };
        let ready_pipe = match ready {
            Ready::Fd(_) => Some(
                pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK).map_err(|e| fail(b"cannot create a pipe: ", e))?,
            ),
            _ => None,
        };
        let (r, w) =
            pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK).map_err(|e| fail(b"cannot create a pipe: ", e))?;
        let start = leftover::boot_ticks();
        let ready_w = ready_pipe.as_ref().map(|(_, w)| w.as_fd());
        // Last, so that what going lacks is said as before.
        let cgroup_fail = |why| match why {
            // A passing shortage, not something wrong with the cgroup.
            Setup::Cgroup(e @ (Errno::MFILE | Errno::NFILE | Errno::NOMEM)) => fail(b"cannot set up its cgroup: ", e),
            why => Failure::Setup(why),
        };
        let cgroup = self.cgroups.prepare(self.table.bytes(name), &limits, fresh).map_err(cgroup_fail)?;
        if let (Some((_, true)), Some(e)) = (&cgroup, self.table.entries.get_mut(i)) {
            e.oom = 0;
        }
        let procs = match &cgroup {
            Some(_) if self.cgroups.no_clone3 => {
                let fd = self.cgroups.procs(self.table.bytes(name));
                Some(fd.map_err(|e| cgroup_fail(Setup::Cgroup(e)))?)
            }
            _ => None,
        };
        let join = match (&cgroup, &procs) {
            (_, Some(p)) => Join::Write(p.as_fd()),
            (Some((dir, _)), None) => Join::Into(dir.as_fd()),
            (None, None) => Join::None,
        };
        let (pipe, null) = (pipe.map(sys::borrow), null.as_fd());
        let pool = &mut *self.pool;
        let mut launch = || match &mut place {
            Place::Here(p) => spawn::start(p, null, pipe, ready_w, &w, join),
            &mut Place::Slot(k, alongside) => {
                // A network namespace is kept from the child's own once it
                // has made it, and a child that writes itself into its
                // cgroup is in it when going goes on: both are waited for.
                let wait = !alongside || private || matches!(join, Join::Write(_));
                spawn::start_in(pool, k, wait, null, pipe, ready_w, &w, join)
            }
        };
        let mut started = launch();
        // A process limit reached with the zombie `reap` has not reaped
        // yet: it is reaped now and counts no more.
        let zombie = Pid::from_raw(self.zombie).filter(|_| started == Err(Errno::AGAIN));
        let reaped = zombie.is_some_and(reap_now);
        if reaped {
            started = launch();
            self.zombie = 0;
        }
        let pid = started.map_err(|e| {
            match (join, e) {
                // Not a passing shortage: the cgroup cannot take it.
                (Join::Into(_), e) if !matches!(e, Errno::AGAIN | Errno::NOMEM | Errno::INTR) => {
                    Failure::Setup(Setup::Cgroup(e))
                }
                _ => fail(b"cannot fork: ", e),
            }
        })?;
        if private {
            self.networks.keep(self.table.name(i), pid);
        }
        self.starts = self.starts.saturating_add(1);
        if let (Some((ready_r, _)), Some(e)) = (ready_pipe, self.table.entries.get_mut(i)) {
            let fd = ready_r.into_raw_fd();
            watch(&self.epoll, fd, READY);
            e.run.ready_fd = fd;
        }
        Ok((pid, r, start))
    }

    /// An exec report fd is readable.
    pub fn exec_report_fd(&mut self, fd: i32, now: u64) {
        if let Some(i) = self.table.entries.iter().position(|e| e.run.exec_fd == fd) {
            self.exec_report(i, now);
        }
    }

    /// Reads a spawn's exec-error pipe: EOF means the program runs (which
    /// is readiness for `ready=start`); a report is logged with its step
    /// and reason.
    fn exec_report(&mut self, i: usize, now: u64) {
        let Some(run) = self.table.entries.get(i).map(|e| e.run).filter(|r| r.exec_fd >= 0) else {
            return;
        };
        let fd = run.exec_fd;
        let mut b = [0u8; 8];
        let report = match rustix::io::read(sys::borrow(fd), &mut b) {
            Err(Errno::AGAIN) => {
                // Not decided yet (an emulator that runs vfork as fork).
                if !run.exec_watched {
                    watch(&self.epoll, fd, EXEC);
                    if let Some(e) = self.table.entries.get_mut(i) {
                        e.run.exec_watched = true;
                    }
                }
                return;
            }
            Ok(8) => spawn::decode(&b),
            _ => None,
        };
        if run.exec_watched {
            unwatch(&self.epoll, fd);
        }
        sys::close(fd);
        let Some(e) = self.table.entries.get_mut(i) else { return };
        e.run.exec_fd = -1;
        e.run.exec_watched = false;
        let Some((step, err)) = report else {
            if e.svc.policy.ready == Ready::Start {
                self.act(i, Event::Ready, now);
            }
            return;
        };
        let Self { table, log, .. } = self;
        let Some(e) = table.entries.get(i) else { return };
        let cfg = config::parse(table.bytes(e.cfg));
        log.error(|l| {
            l.s(table.bytes(e.name)).s(b": cannot ");
            describe_step(l, step, cfg.as_ref().ok());
            l.s(b": ").s(sys::strerror(err));
        });
    }

    /// A readiness pipe (`ready=fd:N`) is readable: a newline in it makes
    /// the service ready; EOF without one means it closed it unready.
    pub fn ready_fd(&mut self, fd: i32, now: u64) {
        let Some(i) = self.table.entries.iter().position(|e| e.run.ready_fd == fd) else { return };
        let mut buf = [0u8; 512];
        let mut ready = false;
        let mut closed = false;
        loop {
            match rustix::io::read(sys::borrow(fd), &mut buf) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => ready |= buf.get(..n).is_some_and(|b| b.contains(&b'\n')),
                Err(Errno::INTR) => {}
                Err(_) => break,
            }
            if ready {
                break;
            }
        }
        if ready || closed {
            self.close_ready(i);
        }
        if ready {
            self.readied(i, now);
        }
    }

    /// Its readiness protocol says it is ready: said in the log, as the
    /// moment what is after it may start.
    fn readied(&mut self, i: usize, now: u64) {
        let was = self.table.entries.get(i).map(|e| e.svc.state);
        self.act(i, Event::Ready, now);
        if was == Some(State::Starting) && self.table.entries.get(i).is_some_and(|e| e.svc.state == State::Up) {
            self.say(i, b": ready");
        }
    }

    /// The notify socket is readable: every `READY=1` from a process of a
    /// `ready=notify` service makes it ready. A call of its own: the
    /// buffers of `receive` are on the stack only while it runs.
    #[inline(never)]
    pub fn on_notify(&mut self, now: u64) {
        let Some(n) = self.notify.take() else { return };
        n.receive(|pid| {
            if let Some(i) = crate::ready::owner(self, pid)
                && self.table.entries.get(i).is_some_and(|e| e.svc.policy.ready == Ready::Notify)
            {
                self.readied(i, now);
            }
        });
        self.notify = Some(n);
    }

    /// Removes the notify socket's file, if it was made.
    pub fn close_notify(&mut self) {
        if let (Some(_), Some(p)) = (self.notify.take(), self.notify_path) {
            let _ = rustix::fs::unlink(p);
        }
    }

    fn close_ready(&mut self, i: usize) {
        if let Some(e) = self.table.entries.get_mut(i) {
            unwatch(&self.epoll, e.run.ready_fd);
            sys::close(e.run.ready_fd);
            e.run.ready_fd = -1;
        }
    }

    /// Reaps every exited child; a service's leftover process group is
    /// killed while its leader is still a zombie, so the group id cannot
    /// have been reused. The zombie is reaped after what its exit starts
    /// (a respawn): `waitid` has told its status already, and reaping it
    /// first would put the kernel's release of it before the new start.
    /// Until it is reaped it still counts in `RLIMIT_NPROC` and in the
    /// `pids` controller, so a start refused with `EAGAIN` meanwhile
    /// reaps it and tries once more (`launch`).
    pub fn reap(&mut self, now: u64) {
        while let Some((pid, code, value)) = sys::peek_exited() {
            let Some(p) = Pid::from_raw(pid) else { break };
            let i = self.table.entries.iter().position(|e| e.svc.pid == pid);
            self.zombie = pid;
            if let Some(i) = i {
                let _ = kill_process_group(p, Signal::KILL);
                self.exited(i, if code { Exit::Code(value) } else { Exit::Signal(value) }, now);
            }
            // Zero: a start reaped it already.
            if core::mem::take(&mut self.zombie) != 0 && !reap_now(p) {
                break;
            }
        }
    }

    /// Service `i`'s main process has exited: it is gone, or, when its
    /// cgroup still holds processes, the rest is killed first.
    fn exited(&mut self, i: usize, how: Exit, now: u64) {
        self.pids_changed(now);
        self.exec_report(i, now);
        self.close_ready(i);
        let Some(e) = self.table.entries.get(i) else { return };
        let name = self.table.bytes(e.name);
        // Nothing starts again in a shutdown: the cgroup is removed now,
        // and whether it could be says whether it was empty (one call,
        // where reading `cgroup.events` takes three).
        let empty =
            if self.halt.is_some() { self.cgroups.remove_if_empty(name) } else { !self.cgroups.populated(name) };
        if empty {
            self.gone(i, how, now);
            return;
        }
        self.say(i, b": its main process exited; killing the rest of its cgroup");
        self.act(i, Event::Left(how), now);
    }

    /// Nothing of service `i` is left: its state machine decides what
    /// follows. Returns whether it is still in the table.
    fn gone(&mut self, i: usize, how: Exit, now: u64) -> bool {
        let ctx = self.ctx(i, now);
        let Some(e) = self.table.entries.get_mut(i) else {
            return false;
        };
        let (pid, ran) = (e.svc.pid.saturating_abs(), now.saturating_sub(e.svc.since));
        let action = e.svc.on_event(Event::Exited(how), ctx);
        self.unsettled = true;
        let (svc, name) = (e.svc, e.name);
        let fresh = !e.next.is_empty();
        let Self { table, log, .. } = self;
        log.info(|l| {
            l.s(table.bytes(name)).s(b": pid ").i(i64::from(pid));
            match how {
                Exit::Code(c) => l.s(b" exited with status ").i(i64::from(c)),
                Exit::Signal(s) => signal_name(l.s(b" killed by "), s),
            };
            l.s(b" after ").dur(ran).s(b"; ");
            then(l, action, &svc, fresh);
        });
        self.oom_check(i);
        self.perform(i, Event::Exited(how), action, now)
    }

    /// Logs the processes of service `i` that the memory limit killed
    /// since its last exit (`memory.events` counts them).
    fn oom_check(&mut self, i: usize) {
        let Some(e) = self.table.entries.get(i) else { return };
        let Some(n) = self.cgroups.oom_kills(self.table.bytes(e.name)) else { return };
        // The low byte is enough to see it grow: a byte of the entry.
        let grew = (n as u8).wrapping_sub(e.oom);
        if let Some(e) = self.table.entries.get_mut(i) {
            e.oom = n as u8;
        }
        if grew > 0 {
            let Self { table, log, .. } = self;
            log.error(|l| {
                l.s(table.name(i)).s(b": killed by the memory limit (").u(u64::from(grew));
                l.s(if grew == 1 { b" process)" } else { b" processes)" });
            });
        }
    }

    /// Sends signals, in turn, to every process of service `i`: those of
    /// its cgroup (and its main process, should it have left it), or else
    /// its process group. The cgroup's processes are read once for all.
    fn signal_all(&mut self, i: usize, sigs: [i32; 2]) {
        let Some(e) = self.table.entries.get(i) else { return };
        let pid = e.svc.pid;
        if !self.cgroups.active() {
            sigs.into_iter().for_each(|s| signal_group(pid, s));
        } else if !self.cgroups.signal(self.table.bytes(e.name), sigs, pid) && pid > 0 {
            for s in sigs {
                let _ = sys::kill(pid, s, false);
            }
        }
    }

    /// Kills every process of service `i`; one whose main process is gone
    /// is watched until its cgroup is empty. Returns whether it is still
    /// in the table.
    fn kill(&mut self, i: usize, now: u64) -> bool {
        let Some(e) = self.table.entries.get(i) else { return false };
        let (pid, draining) = (e.svc.pid, e.svc.draining());
        if !self.cgroups.active() {
            signal_group(pid, sig::KILL);
            return true;
        }
        let name = self.table.bytes(e.name);
        self.cgroups.kill(name, self.halt.is_some());
        if pid > 0 {
            let _ = sys::kill(pid, sig::KILL, false);
        }
        if draining && !self.cgroups.drains(name, &self.epoll) {
            return self.drained(i, now);
        }
        true
    }

    /// A watched cgroup changed: each draining service whose cgroup is
    /// empty is gone; the others are watched again.
    pub fn cgroup_notes(&mut self, now: u64) {
        self.cgroups.drain_notes();
        let mut i = 0;
        while i < self.table.entries.len() {
            let Some(e) = self.table.entries.get(i).filter(|e| e.svc.draining()) else {
                i += 1;
                continue;
            };
            if self.cgroups.drains(self.table.bytes(e.name), &self.epoll) || self.drained(i, now) {
                i += 1;
            }
        }
    }

    /// The cgroup of draining service `i` is empty. Returns whether it
    /// is still in the table.
    fn drained(&mut self, i: usize, now: u64) -> bool {
        let how = self.table.entries.get(i).and_then(|e| e.svc.last).unwrap_or(Exit::Code(0));
        if self.halt.is_some() {
            self.cgroups.remove(self.table.name(i));
        }
        let kept = self.gone(i, how, now);
        if !self.table.entries.iter().any(|e| e.svc.draining()) {
            self.cgroups.rest(&self.epoll);
        }
        kept
    }

    /// The figures of service `i`'s cgroup for its status row:
    /// ` cpu_usec= memory_current=` while it runs, ` memory_peak=
    /// oom_kills=` once it has run, the memory ones where the memory
    /// controller is enabled.
    pub fn cgroup_fields(&self, l: &mut Line, i: usize) {
        let Some(e) = self.table.entries.get(i).filter(|e| e.svc.spawns > 0 && self.cgroups.active()) else {
            return;
        };
        let u = self.cgroups.usage(self.table.bytes(e.name));
        let run = e.svc.running();
        let fields: [(&[u8], Option<u64>); 4] = [
            (b" cpu_usec=", u.cpu_usec.filter(|_| run)),
            (b" memory_current=", u.memory.filter(|_| run)),
            (b" memory_peak=", u.peak),
            (b" oom_kills=", u.oom_kills),
        ];
        for (k, v) in fields {
            if let Some(v) = v {
                l.s(k).u(v);
            }
        }
    }

    /// Output of some service is readable.
    pub fn output_fd(&mut self, fd: i32, now: u64) {
        if let Some(i) = self.table.entries.iter().position(|e| e.out.rfd == fd) {
            self.drain(i, now);
        }
    }

    /// Moves what service `i` wrote into its log file or to stdout.
    pub fn drain(&mut self, i: usize, now: u64) {
        // Nothing captured, nothing to order: the lines stay held (a start
        // with a new config drains, and would write each line of a burst
        // on its own).
        if self.table.entries.get(i).is_none_or(|e| e.out.rfd < 0) {
            return;
        }
        // going's own lines so far go out before what the service wrote.
        self.log.flush();
        let Self { table, log, color, stdout, syslog, .. } = self;
        let Some(e) = table.entries.get(i) else { return };
        let name = table.bytes(e.name);
        let path = table.log_path(i);
        let color = color.then(|| output::color_of(name));
        let (sink, time, pid) = (e.sink, e.time, e.svc.pid);
        let t = Target { sink, path, name, color, stdout: *stdout, time, pid, now };
        let mut out = e.out;
        output::drain(&mut out, t, syslog, |r| {
            log.error(|l| {
                l.s(name).s(b": ");
                match r {
                    Report::CannotOpen(why) => setup_text(l, why, path),
                    Report::CannotWrite(e) => l.s(b"cannot write ").s(path).s(b": ").s(sys::strerror(e)),
                    Report::CannotRotate(e) => l.s(b"cannot rotate ").s(path).s(b": ").s(sys::strerror(e)),
                    Report::Recovered(n) => {
                        let to: &[u8] = if sink == Sink::Prefix { b"going's standard output" } else { path };
                        l.s(b"writing ").s(to).s(b" again; ").u(n).s(b" bytes were dropped")
                    }
                    Report::SyslogDown(e) => l.s(b"cannot send to /dev/log: ").s(sys::strerror(e)),
                    Report::SyslogBack(n) => l.u(n).s(b" lines dropped while syslog was unavailable"),
                };
                match r {
                    Report::Recovered(_) | Report::SyslogBack(_) => {}
                    Report::SyslogDown(_) => {
                        l.s(b"; dropping its lines until it works");
                    }
                    Report::CannotRotate(_) => {
                        l.s(b"; it grows past log_size until a rotation works (tried again every 1s)");
                    }
                    _ => {
                        l.s(b"; dropping its output until it works");
                    }
                }
            });
        });
        if let Some(e) = table.entries.get_mut(i) {
            e.out = out;
        }
    }

    /// Moves out what service `i` wrote, then closes its output pipe and
    /// log file.
    fn close_output(&mut self, i: usize) {
        self.drain(i, crate::time::now());
        if let Some(e) = self.table.entries.get_mut(i) {
            unwatch(&self.epoll, e.out.rfd);
            output::close(&mut e.out);
        }
    }

    /// After a config change: a new log file is opened at the spawn;
    /// output no longer captured closes the pipe.
    fn recapture(&mut self, i: usize) {
        let Some(e) = self.table.entries.get_mut(i) else { return };
        if e.sink.captured() {
            output::close_file(&mut e.out);
        } else {
            unwatch(&self.epoll, e.out.rfd);
            output::close(&mut e.out);
        }
    }

    /// SIGHUP: services that failed for want of something try again.
    pub fn retry(&mut self, now: u64) {
        for i in 0..self.table.entries.len() {
            let faulted =
                self.table.entries.get(i).is_some_and(|e| matches!(e.svc.state, State::Failed(Fault::Setup(_))));
            if faulted {
                self.act(i, Event::Retry, now);
            }
        }
    }

    /// The running set changed: `SOCKET.pids` is written again shortly,
    /// once for a burst of changes (a cold start, a chain of services
    /// released one after another) rather than at each.
    fn pids_changed(&mut self, now: u64) {
        if self.pids_due == 0 {
            self.pids_due = now.saturating_add(crate::limits::PIDS_RECORD_DELAY_NS).max(1);
        }
    }

    /// When `SOCKET.pids` is to be written.
    pub fn pids_deadline(&self) -> Option<u64> {
        Some(self.pids_due).filter(|&d| d != 0 && self.pids.is_some() && self.halt.is_none())
    }

    /// Rewrites `SOCKET.pids` once its deadline has passed.
    pub fn record_pids(&mut self, now: u64) {
        // While stopping, the last file written still names every group
        // that may be left: rewriting it per exit would only cost time.
        let due = self.pids_deadline().is_some_and(|d| d <= now);
        let Some((file, tmp)) = self.pids.filter(|_| due) else { return };
        self.pids_due = 0;
        let running = self.table.entries.iter().filter(|e| e.svc.running()).map(|e| (e.svc.pid, e.run.start));
        let _ = leftover::record(file, tmp, self.boot_id, running);
    }

    /// Why service `i` cannot become ready without help: the service at
    /// fault (itself or one it waits for, however far down), if any.
    pub fn stuck(&mut self, i: usize) -> Option<usize> {
        if self.graph_dirty {
            self.rebuild();
        }
        let mut seen = [0u64; MAX_SERVICES / 64];
        let mut todo: heapless::Vec<u16, MAX_SERVICES> = heapless::Vec::new();
        let _ = todo.push(i as u16);
        while let Some(j) = todo.pop().map(usize::from) {
            let Some(s) = self.table.entries.get(j).map(|e| &e.svc) else { continue };
            if s.stuck() {
                return Some(j);
            }
            if s.ready() {
                continue;
            }
            for k in self.graph.deps(j) {
                let (w, bit) = (k / 64, 1u64 << (k % 64));
                if seen.get(w).is_some_and(|v| v & bit == 0) {
                    if let Some(v) = seen.get_mut(w) {
                        *v |= bit;
                    }
                    let _ = todo.push(k as u16);
                }
            }
        }
        None
    }

    /// Appends why service `i` is failed, or what it waits for.
    pub fn describe(&mut self, l: &mut Line, i: usize) {
        let Some(s) = self.table.entries.get(i).map(|e| e.svc) else { return };
        match s.state {
            State::Failed(f) => self.fault_text(l, i, f),
            State::Waiting => {
                l.s(b"waiting for");
                self.unready_deps(l, i, b" ", b", ");
            }
            State::Down if s.want == Want::Down => {
                l.s(b"stopped (going stop)");
            }
            State::Done if !s.ready() => {
                l.s(b"exited and not restarted (restart=").s(restart_word(s.policy.restart)).s(b")");
            }
            _ if s.want == Want::Halt => {
                l.s(b"going is shutting down");
            }
            _ => {
                l.s(s.state.word());
            }
        }
    }

    /// The names of what a waiting service waits for, comma-separated.
    pub fn waiting_for(&mut self, l: &mut Line, i: usize) {
        if self.graph_dirty {
            self.rebuild();
        }
        self.unready_deps(l, i, b"", b",");
    }

    /// The names of what service `i` is after and is not ready, `first`
    /// before the first and `sep` between them.
    fn unready_deps(&self, l: &mut Line, i: usize, first: &[u8], sep: &'static [u8]) {
        let mut before = first;
        for j in self.graph.deps(i) {
            if self.table.entries.get(j).is_some_and(|e| !e.svc.ready()) {
                l.s(before).s(self.table.name(j));
                before = sep;
            }
        }
    }

    fn fault_text(&mut self, l: &mut Line, i: usize, f: Fault) {
        match f {
            Fault::Invalid => {
                // The error is kept as `:LINE: message`: named with its
                // file, as `going status` names it.
                l.s(b"its config is invalid");
                if let Some(e) = self.table.entries.get(i).filter(|e| !e.err.is_empty()) {
                    l.s(b": ").file(self.dir.to_bytes(), self.table.bytes(e.name)).s(self.table.bytes(e.err));
                }
            }
            Fault::Cycle => {
                if self.graph_dirty {
                    self.rebuild();
                }
                l.s(b"dependency cycle ");
                let mut first = true;
                let Self { graph, table, .. } = self;
                graph.cycle(i, |n| {
                    if !first {
                        l.s(b" -> ");
                    }
                    first = false;
                    l.s(table.name(n));
                });
            }
            Fault::TaskFailed => {
                l.s(b"task failed");
                if let Some(Exit::Code(c)) = self.table.entries.get(i).and_then(|e| e.svc.last) {
                    l.s(b" with status ").i(i64::from(c));
                }
                l.s(b" (restart=never)");
            }
            Fault::Setup(why) => {
                setup_text(l, why, self.table.log_path(i));
            }
        }
    }

    fn say_fault(&mut self, i: usize, f: Fault) {
        let mut text = Line::new();
        self.fault_text(&mut text, i, f);
        let Self { table, log, .. } = self;
        log.error(|l| {
            l.s(table.name(i)).s(b": not started: ").s(text.bytes());
        });
    }

    fn say(&mut self, i: usize, what: &[u8]) {
        let Self { table, log, .. } = self;
        log.info(|l| {
            l.s(table.name(i)).s(what);
        });
    }
}

/// What a spawn lacked, in words; `path` is the service's log file.
pub fn setup_text<'l>(l: &'l mut Line, why: Setup, path: &[u8]) -> &'l mut Line {
    let dir = path.get(..path.iter().rposition(|&b| b == b'/').unwrap_or(0)).filter(|d| !d.is_empty()).unwrap_or(b"/");
    match why {
        Setup::LogDirUnsafe => l.s(b"log directory ").s(dir).s(b" may be written by others than root and going's user"),
        Setup::LogPathUnsafe => {
            l.s(b"a directory on the path to log directory ").s(dir);
            l.s(b" may be written by others than root and going's user")
        }
        Setup::LogSymlink => l.s(b"log file ").s(path).s(b" is a symbolic link"),
        Setup::LogNotFile => l.s(b"log file ").s(path).s(b" is not a regular file"),
        Setup::LogOpen(e) => l.s(b"cannot open ").s(path).s(b": ").s(sys::strerror(e)),
        Setup::NoController(k) => {
            let (key, ctl): (&[u8], &[u8]) = match k {
                0 => (b"memory_max", b"memory"),
                1 => (b"pids_max", b"pids"),
                _ => (if k == 2 { b"cpu_max" } else { b"cpu_weight" }, b"cpu"),
            };
            l.s(key).s(b": no ").s(ctl).s(b" controller in cgroup2")
        }
        Setup::Cgroup(e) => l.s(b"cannot set up its cgroup: ").s(sys::strerror(e)),
    }
}

fn restart_word(r: config::Restart) -> &'static [u8] {
    match r {
        config::Restart::Always => b"always",
        config::Restart::OnFailure => b"on-failure",
        config::Restart::Never => b"never",
    }
}

/// Names a child's failed step with the config values it used. A call
/// of its own, not inlined into `exec_report`.
#[inline(never)]
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
        Step::Confine(s) => crate::confine::describe(l, s, c.read_only),
        Step::Cgroup => {
            l.s(b"join its cgroup");
        }
    }
}

/// What follows an exit, for the end of the exit line.
fn then(l: &mut Line, action: Action, s: &Service, fresh: bool) {
    match (action, s.state) {
        (Action::Forget, _) => l.s(b"removed"),
        (Action::Spawn, _) if fresh => l.s(b"restarting with new config"),
        (Action::Spawn, _) => l.s(b"restarting"),
        (Action::End(_), _) => l.s(b"not restarting; it is critical"),
        (_, State::Waiting) => l.s(b"restarting once what it is after is ready"),
        (_, State::Backoff) => l.s(b"restarting in ").u(backoff_secs(s.quick)).s(b"s"),
        (_, State::Done) if s.task() => l.s(b"done"),
        (_, State::Failed(Fault::TaskFailed)) => l.s(b"task failed, not retrying (restart=never)"),
        (_, State::Done) => l.s(b"not restarting (restart=").s(restart_word(s.policy.restart)).s(b")"),
        _ => l.s(b"stopped"),
    };
}

pub fn signal_name(l: &mut Line, s: i32) -> &mut Line {
    match sig::name(s) {
        Some(n) => l.s(b"SIG").s(n),
        None => l.s(b"signal ").i(i64::from(s)),
    }
}

/// Adds a descriptor to the epoll set with a token of `kind`.
pub fn watch(epoll: &OwnedFd, fd: i32, kind: u64) {
    let token = EventData::new_u64(kind | fd as u32 as u64);
    let _ = epoll::add(epoll, sys::borrow(fd), token, EventFlags::IN);
}

/// Takes a descriptor out of the epoll set. Closing it is not enough: a
/// child between fork and exec still holds a copy, and epoll forgets a
/// descriptor only when every copy is closed, so it would go on reporting
/// events for a number going may already have reused. Call it before the
/// close, while the number is still going's.
pub fn unwatch(epoll: &OwnedFd, fd: i32) {
    if fd >= 0 {
        let _ = epoll::delete(epoll, sys::borrow(fd));
    }
}

/// Sends a signal to a service's process group, or to its process if it
/// left the group.
pub fn signal_group(pid: i32, s: i32) {
    if sys::kill(pid, s, true) == Err(Errno::SRCH) {
        let _ = sys::kill(pid, s, false);
    }
}

const _: () = assert!(SEC > 0);

/// Reaps child `p` if it has exited; whether it was reaped.
fn reap_now(p: Pid) -> bool {
    matches!(waitpid(Some(p), WaitOptions::NOHANG), Ok(Some(_)))
}
