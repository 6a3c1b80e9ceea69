//! One service's state machine. Pure: `on_event` takes what happened,
//! the time and what its neighbours in the dependency graph are doing,
//! updates the record and says what to do; the fleet does it.
//!
//! What is wanted (`Want`) is kept apart from what is (`State`), and each
//! is one enum, so an impossible combination cannot be written: a service
//! whose file is back is `Up` again whatever its stop was for; one that
//! going is shutting down is `Halt` and no client can start it again.

use crate::config::{Ready, Restart};
use crate::limits::{BACKOFF_MAX_SECS, DRAIN_RECHECK_NS, MIN_UPTIME_NS, SEC, SPAWN_RETRY_NS};
use rustix::io::Errno;

/// What is wanted of a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    /// Run it (and keep it running as its `restart=` says).
    Up,
    /// Stopped by `going stop`: down until `going start` or a new config.
    Down,
    /// A new config waits: stop what runs, then start the new one.
    Replace,
    /// Its file is gone: stop it, then forget it.
    Gone,
    /// going is shutting down: stop it, never start it again.
    Halt,
}

/// Why a service is `failed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Its file is invalid and it has no valid version.
    Invalid,
    /// It is part of a dependency cycle.
    Cycle,
    /// A task (`ready=exit`) that failed and is not retried.
    TaskFailed,
    /// What its start needs could not be set up.
    Setup(Setup),
}

/// What a spawn needs and could not have; said in the fleet's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setup {
    /// Its log file's directory may be written by others than going.
    LogDirUnsafe,
    /// A directory on the way to it may be: what is below could be
    /// swapped for a link.
    LogPathUnsafe,
    /// Its log file is a symbolic link.
    LogSymlink,
    /// Its log file is not a regular file.
    LogNotFile,
    LogOpen(Errno),
    /// The cgroup2 controller for the key with this index is missing.
    NoController(u8),
    Cgroup(Errno),
}

/// What is, in the words `going status` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Not running and not waiting for anything.
    Down,
    /// Held back until what it is `after` is ready.
    Waiting,
    /// Running, not yet ready.
    Starting,
    /// Running and ready.
    Up,
    /// Waiting for a deadline before the next spawn.
    Backoff,
    /// Sent its stop signal; waiting for it to exit. `timeout`: because it
    /// was not ready in time, which counts as a quick exit.
    Stopping {
        timeout: bool,
    },
    /// Its main process has exited and the rest of its cgroup is being
    /// killed; it is down once the cgroup is empty (its `pid` is then the
    /// reaped main process's, negated). `stopping`: the `Stopping {
    /// timeout }` it was in, or `None` when it exited on its own.
    Draining {
        stopping: Option<bool>,
    },
    /// Exited and its `restart=` leaves it down (a task: succeeded).
    Done,
    Failed(Fault),
}

impl State {
    pub fn word(self) -> &'static [u8] {
        match self {
            State::Down => b"down",
            State::Waiting => b"waiting",
            State::Starting => b"starting",
            State::Up => b"up",
            State::Backoff => b"backoff",
            State::Stopping { .. } | State::Draining { .. } => b"stopping",
            State::Done => b"done",
            State::Failed(_) => b"failed",
        }
    }
}

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    /// The status a container's main process would end going with.
    pub fn status(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(s) => 128 + s,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// `going start`: run it, now, even from backoff.
    Start,
    /// `going stop`: stop it and keep it down.
    Stop,
    /// `going restart`: stop it if it runs, then start it at once.
    Restart,
    /// A different valid config waits in the table.
    Config,
    /// Its file is back with the config it has.
    Back,
    /// Its file is gone.
    Gone,
    /// going is stopping everything.
    Shutdown,
    /// going is told again to stop: kill what runs.
    KillAll,
    /// What it is after, or what is after it, changed: look again.
    Release,
    /// SIGHUP: a service that failed for want of something tries again.
    Retry,
    /// Its process exited, and nothing of it is left (its cgroup, if it
    /// has one, is empty).
    Exited(Exit),
    /// Its main process exited and other processes of its cgroup remain.
    Left(Exit),
    /// Its deadline has passed.
    Due,
    /// A process was started with this pid.
    Forked(i32),
    /// The spawn failed in going (fork, pipe, /dev/null).
    SpawnFailed,
    /// Its readiness protocol said it is ready.
    Ready,
    /// It cannot be started for this reason.
    Fault(Fault),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Nothing,
    /// Start it, with the waiting config if there is one.
    Spawn,
    /// Send the stop signal and `SIGCONT` to all its processes.
    Stop,
    /// Send `SIGKILL` to all its processes.
    Kill,
    /// Drop it from the table.
    Forget,
    /// A `critical=yes` service ended for good: going ends with this
    /// status.
    End(i32),
}

/// What the state machine is told about a service's neighbours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ctx {
    pub now: u64,
    /// Every service it is `after` is ready.
    pub deps_ready: bool,
    /// A service that is `after` it still runs (shutdown waits for it).
    pub dependents_running: bool,
}

impl Ctx {
    /// A service with no neighbours, at `now`.
    pub const fn alone(now: u64) -> Self {
        Ctx { now, deps_ready: true, dependents_running: false }
    }
}

/// What its config says about running it, read once at every new config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    pub restart: Restart,
    pub ready: Ready,
    pub stop_signal: u8,
    pub critical: bool,
    pub stop_timeout: u32,
    pub ready_timeout: u32,
}

impl Policy {
    pub const DEFAULT: Policy = Policy {
        restart: Restart::Always,
        ready: Ready::Start,
        stop_signal: crate::sig::TERM as u8,
        critical: false,
        stop_timeout: crate::limits::STOP_TIMEOUT_SECS,
        ready_timeout: 0,
    };

    pub fn of(c: &crate::config::Config) -> Policy {
        Policy {
            restart: c.restart,
            ready: c.ready,
            stop_signal: c.stop_signal as u8,
            critical: c.critical,
            stop_timeout: c.stop_timeout,
            ready_timeout: c.ready_timeout,
        }
    }
}

/// The state of one service and what it is for.
#[derive(Clone, Copy, Debug)]
pub struct Service {
    pub state: State,
    pub want: Want,
    /// Its main process; negative while it drains (its main process is
    /// reaped, so that number is no longer its to signal), 0 for none.
    pub pid: i32,
    /// Monotonic time of the last spawn, ns.
    pub since: u64,
    /// Monotonic deadline in ns, 0 for none: the next spawn in backoff,
    /// the ready timeout while starting, SIGKILL while stopping.
    pub deadline: u64,
    /// Quick exits in a row.
    pub quick: u32,
    pub spawns: u32,
    /// Spawns that failed in going in a row (fork, pipe, /dev/null).
    pub failed_spawns: u32,
    pub last: Option<Exit>,
    pub policy: Policy,
}

/// Seconds to wait after the k-th quick exit in a row: 1, 2, 4, ... 60.
pub fn backoff_secs(k: u32) -> u64 {
    (1u64 << k.saturating_sub(1).min(6)).min(BACKOFF_MAX_SECS)
}

impl Service {
    pub const fn new(policy: Policy) -> Self {
        Service {
            state: State::Down,
            want: Want::Up,
            pid: 0,
            since: 0,
            deadline: 0,
            quick: 0,
            spawns: 0,
            failed_spawns: 0,
            last: None,
            policy,
        }
    }

    /// A name whose file has never been valid.
    pub const fn failed() -> Self {
        let mut s = Service::new(Policy::DEFAULT);
        s.state = State::Failed(Fault::Invalid);
        s
    }

    /// Does any process of it remain (its main process, or the rest of
    /// its cgroup while it drains)?
    pub fn running(&self) -> bool {
        self.pid != 0
    }

    pub fn draining(&self) -> bool {
        matches!(self.state, State::Draining { .. })
    }

    /// Going away: no stop signal is needed any more.
    pub fn stopping(&self) -> bool {
        matches!(self.state, State::Stopping { .. } | State::Draining { .. })
    }

    /// A task (`ready=exit`): it is ready once it has exited 0.
    pub fn task(&self) -> bool {
        self.policy.ready == Ready::Exit
    }

    /// Ready, as the services `after` it need it to be.
    pub fn ready(&self) -> bool {
        match self.state {
            State::Up => !self.task(),
            State::Done => self.task() && self.last == Some(Exit::Code(0)),
            _ => false,
        }
    }

    /// Can it not become ready without help (a `going start`, a new
    /// file)? Services it is after are the caller's to ask.
    pub fn stuck(&self) -> bool {
        match self.state {
            State::Failed(_) => true,
            State::Done => !self.ready(),
            State::Down | State::Stopping { .. } | State::Draining { .. } => {
                matches!(self.want, Want::Down | Want::Gone | Want::Halt)
            }
            _ => matches!(self.want, Want::Halt | Want::Gone),
        }
    }

    /// Restarts so far: spawns after the first.
    pub fn restarts(&self) -> u32 {
        self.spawns.saturating_sub(1)
    }

    /// Spawns now, or waits for what it is after.
    fn start(&mut self, ctx: Ctx) -> Action {
        self.deadline = 0;
        if ctx.deps_ready {
            Action::Spawn
        } else {
            self.state = State::Waiting;
            Action::Nothing
        }
    }

    /// Stopping, with the deadline for SIGKILL. Called, not inlined at
    /// each of its sites.
    #[inline(never)]
    fn begin_stop(&mut self, now: u64, timeout: bool) -> Action {
        self.state = State::Stopping { timeout };
        self.deadline = now.saturating_add(u64::from(self.policy.stop_timeout) * SEC).max(1);
        Action::Stop
    }

    /// Not running any more and nothing to wait for.
    fn settle(&mut self) -> Action {
        self.deadline = 0;
        if self.want == Want::Gone {
            return Action::Forget;
        }
        if !matches!(self.state, State::Failed(_) | State::Done) {
            self.state = State::Down;
        }
        Action::Nothing
    }

    /// Applies an event and says what to do.
    pub fn on_event(&mut self, ev: Event, ctx: Ctx) -> Action {
        let now = ctx.now;
        let invalid = matches!(self.state, State::Failed(Fault::Invalid));
        match ev {
            Event::Exited(how) => self.exited(how, ctx),
            Event::Left(how) => {
                self.pid = -self.pid.saturating_abs();
                self.last = Some(how);
                let stopping = match self.state {
                    State::Stopping { timeout } => Some(timeout),
                    State::Draining { stopping } => stopping,
                    _ => None,
                };
                self.state = State::Draining { stopping };
                self.deadline = now.saturating_add(DRAIN_RECHECK_NS);
                Action::Kill
            }
            Event::Forked(pid) => {
                self.state = State::Starting;
                self.pid = pid;
                self.since = now;
                self.spawns = self.spawns.saturating_add(1);
                self.failed_spawns = 0;
                self.deadline = match self.policy.ready_timeout {
                    0 => 0,
                    t => now.saturating_add(u64::from(t) * SEC),
                };
                if self.want == Want::Replace {
                    self.want = Want::Up;
                }
                Action::Nothing
            }
            Event::Ready if matches!(self.state, State::Starting) && !self.task() => {
                self.state = State::Up;
                self.deadline = 0;
                Action::Nothing
            }
            Event::SpawnFailed => {
                self.failed_spawns = self.failed_spawns.saturating_add(1);
                self.state = State::Backoff;
                self.deadline = now.saturating_add(SPAWN_RETRY_NS);
                Action::Nothing
            }
            Event::Fault(f) if !self.running() => {
                self.state = State::Failed(f);
                self.deadline = 0;
                Action::Nothing
            }
            Event::Due => self.due(ctx),
            Event::Shutdown | Event::KillAll => self.halt(ev, ctx),
            _ if self.want == Want::Halt => Action::Nothing,
            Event::Gone => {
                self.want = Want::Gone;
                match self.state {
                    _ if self.stopping() => Action::Nothing,
                    _ if self.running() => self.begin_stop(now, false),
                    _ => Action::Forget,
                }
            }
            Event::Back if self.want == Want::Gone => {
                self.want = Want::Up;
                match self.state {
                    _ if self.running() => Action::Nothing,
                    State::Failed(_) | State::Done | State::Down => Action::Nothing,
                    _ => self.start(ctx),
                }
            }
            Event::Config => {
                self.quick = 0;
                if self.running() {
                    self.want = Want::Replace;
                    if self.stopping() { Action::Nothing } else { self.begin_stop(now, false) }
                } else {
                    self.want = Want::Up;
                    self.start(ctx)
                }
            }
            Event::Stop => {
                self.want = Want::Down;
                match self.state {
                    _ if self.stopping() => Action::Nothing,
                    _ if self.running() => self.begin_stop(now, false),
                    _ => self.settle(),
                }
            }
            Event::Start | Event::Restart | Event::Retry if invalid => Action::Nothing,
            Event::Start | Event::Retry if self.running() => {
                if self.want == Want::Down {
                    self.want = Want::Up;
                }
                Action::Nothing
            }
            Event::Retry if !matches!(self.state, State::Failed(_)) => Action::Nothing,
            Event::Start | Event::Retry => {
                self.want = Want::Up;
                self.quick = 0;
                self.start(ctx)
            }
            Event::Restart => {
                if self.want != Want::Replace {
                    self.want = Want::Up;
                }
                self.quick = 0;
                match self.state {
                    State::Stopping { .. } => {
                        self.state = State::Stopping { timeout: false };
                        Action::Nothing
                    }
                    State::Draining { .. } => {
                        self.state = State::Draining { stopping: Some(false) };
                        Action::Nothing
                    }
                    _ if self.running() => self.begin_stop(now, false),
                    _ => self.start(ctx),
                }
            }
            Event::Release => match self.state {
                State::Waiting if ctx.deps_ready => self.start(ctx),
                _ => Action::Nothing,
            },
            Event::Back | Event::Ready | Event::Fault(_) => Action::Nothing,
        }
    }

    /// Shutdown: a running service is stopped once nothing after it runs;
    /// on the second signal everything is killed at once.
    fn halt(&mut self, ev: Event, ctx: Ctx) -> Action {
        self.want = Want::Halt;
        match self.state {
            _ if !self.running() => {
                self.deadline = 0;
                if matches!(self.state, State::Waiting | State::Backoff) {
                    self.state = State::Down;
                }
                Action::Nothing
            }
            // Already being killed; a second signal kills again.
            State::Draining { .. } => {
                if matches!(ev, Event::KillAll) {
                    Action::Kill
                } else {
                    Action::Nothing
                }
            }
            _ if matches!(ev, Event::KillAll) => {
                self.state = State::Stopping { timeout: false };
                self.deadline = 0;
                Action::Kill
            }
            State::Stopping { .. } => Action::Nothing,
            _ if ctx.dependents_running => {
                // Not ready in time no longer matters: it stops soon.
                self.deadline = 0;
                Action::Nothing
            }
            _ => self.begin_stop(ctx.now, false),
        }
    }

    fn due(&mut self, ctx: Ctx) -> Action {
        let now = ctx.now;
        if self.deadline == 0 || now < self.deadline {
            return Action::Nothing;
        }
        self.deadline = 0;
        match self.state {
            // What it is after may have gone down meanwhile.
            State::Backoff => self.start(ctx),
            State::Starting => self.begin_stop(now, true),
            State::Stopping { .. } => Action::Kill,
            // Killed again, and looked at again.
            State::Draining { .. } => {
                self.deadline = now.saturating_add(DRAIN_RECHECK_NS);
                Action::Kill
            }
            _ => Action::Nothing,
        }
    }

    /// The main process exited: what follows. A call of its own, not
    /// inlined into `on_event`.
    #[inline(never)]
    fn exited(&mut self, how: Exit, ctx: Ctx) -> Action {
        let now = ctx.now;
        let ran = now.saturating_sub(self.since);
        let was = self.state;
        // Nothing of it runs now, whatever comes next.
        self.state = State::Down;
        self.pid = 0;
        self.last = Some(how);
        self.deadline = 0;
        match self.want {
            Want::Halt | Want::Gone | Want::Down => {
                self.state = State::Down;
                return self.settle();
            }
            Want::Replace => {
                self.want = Want::Up;
                return self.start(ctx);
            }
            Want::Up => {}
        }
        if matches!(was, State::Stopping { timeout: false } | State::Draining { stopping: Some(false) }) {
            return self.start(ctx);
        }
        // Stopped for not being ready in time: a failure, however it
        // exited, and a quick one where it is tried again.
        let late = matches!(was, State::Stopping { timeout: true } | State::Draining { stopping: Some(true) });
        let ok = how == Exit::Code(0) && !late;
        let stays_down = match self.policy.restart {
            Restart::Never => true,
            Restart::OnFailure => ok,
            Restart::Always => false,
        };
        if stays_down {
            self.state = if self.task() && !ok { State::Failed(Fault::TaskFailed) } else { State::Done };
            self.quick = 0;
            let status = if ok { 0 } else { how.status().max(1) };
            return if self.policy.critical { Action::End(status) } else { Action::Nothing };
        }
        if ran >= MIN_UPTIME_NS && !late {
            self.quick = 0;
            return self.start(ctx);
        }
        self.back_off(now)
    }

    fn back_off(&mut self, now: u64) -> Action {
        self.quick = self.quick.saturating_add(1);
        self.state = State::Backoff;
        self.deadline = now.saturating_add(backoff_secs(self.quick) * SEC);
        Action::Nothing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_000 * SEC;

    fn at(now: u64) -> Ctx {
        Ctx::alone(now)
    }

    fn policy(restart: Restart, ready: Ready) -> Policy {
        Policy { restart, ready, ..Policy::DEFAULT }
    }

    fn running_with(p: Policy) -> Service {
        let mut s = Service::new(p);
        assert_eq!(s.on_event(Event::Start, at(T0)), Action::Spawn);
        s.on_event(Event::Forked(42), at(T0));
        assert_eq!((s.state, s.pid), (State::Starting, 42));
        if !s.task() {
            s.on_event(Event::Ready, at(T0));
            assert_eq!(s.state, State::Up);
        }
        s
    }

    fn running(restart: Restart) -> Service {
        running_with(policy(restart, Ready::Start))
    }

    #[test]
    fn backoff_doubles_to_sixty() {
        let want = [1, 2, 4, 8, 16, 32, 60, 60];
        for (k, w) in (1..).zip(want) {
            assert_eq!(backoff_secs(k), w, "k={k}");
        }
        for k in 7..=100 {
            assert_eq!(backoff_secs(k), 60);
        }
        assert_eq!(backoff_secs(u32::MAX), 60);
    }

    #[test]
    fn long_run_respawns_at_once_and_resets() {
        let mut s = running(Restart::Always);
        s.quick = 5;
        let a = s.on_event(Event::Exited(Exit::Signal(9)), at(T0 + MIN_UPTIME_NS));
        assert_eq!(a, Action::Spawn);
        assert_eq!(s.quick, 0);
        assert_eq!(s.last, Some(Exit::Signal(9)));
    }

    #[test]
    fn quick_exits_back_off() {
        let mut s = running(Restart::Always);
        let mut now = T0;
        for k in 1..=9u32 {
            now += SEC / 2;
            assert_eq!(s.on_event(Event::Exited(Exit::Code(1)), at(now)), Action::Nothing);
            assert_eq!(s.state, State::Backoff);
            assert_eq!(s.deadline, now + backoff_secs(k) * SEC);
            assert_eq!(s.on_event(Event::Due, at(s.deadline - 1)), Action::Nothing);
            now = s.deadline;
            assert_eq!(s.on_event(Event::Due, at(now)), Action::Spawn);
            s.on_event(Event::Forked(100 + k as i32), at(now));
        }
        assert_eq!(s.restarts(), 9);
    }

    #[test]
    fn restart_policies() {
        let cases = [
            (Restart::Always, Exit::Code(0), State::Backoff),
            (Restart::Always, Exit::Code(3), State::Backoff),
            (Restart::OnFailure, Exit::Code(0), State::Done),
            (Restart::OnFailure, Exit::Code(3), State::Backoff),
            (Restart::OnFailure, Exit::Signal(15), State::Backoff),
            (Restart::Never, Exit::Code(0), State::Done),
            (Restart::Never, Exit::Signal(9), State::Done),
        ];
        for (policy, how, want) in cases {
            let mut s = running(policy);
            s.on_event(Event::Exited(how), at(T0 + 1));
            assert_eq!(s.state, want, "{policy:?} {how:?}");
        }
    }

    #[test]
    fn stop_escalates_once() {
        let mut s = running(Restart::Always);
        assert_eq!(s.on_event(Event::Stop, at(T0)), Action::Stop);
        assert_eq!((s.state, s.deadline), (State::Stopping { timeout: false }, T0 + 10 * SEC));
        assert_eq!(s.on_event(Event::Due, at(T0 + 10 * SEC)), Action::Kill);
        assert_eq!(s.on_event(Event::Due, at(T0 + 20 * SEC)), Action::Nothing);
        assert_eq!(s.on_event(Event::Exited(Exit::Signal(9)), at(T0 + 11 * SEC)), Action::Nothing);
        assert_eq!(s.state, State::Down);
        assert_eq!(s.on_event(Event::Start, at(T0 + 12 * SEC)), Action::Spawn);
    }

    #[test]
    fn stop_in_backoff_cancels_the_deadline() {
        let mut s = running(Restart::Always);
        s.on_event(Event::Exited(Exit::Code(1)), at(T0 + 1));
        assert_eq!(s.on_event(Event::Stop, at(T0 + 2)), Action::Nothing);
        assert_eq!((s.state, s.deadline), (State::Down, 0));
        assert_eq!(s.on_event(Event::Due, at(T0 + 100 * SEC)), Action::Nothing);
    }

    #[test]
    fn restart_skips_backoff() {
        let mut s = running(Restart::Always);
        s.on_event(Event::Exited(Exit::Code(1)), at(T0 + 1));
        assert_eq!(s.on_event(Event::Restart, at(T0 + 2)), Action::Spawn);
        let mut s = running(Restart::Always);
        assert_eq!(s.on_event(Event::Restart, at(T0)), Action::Stop);
        assert_eq!(s.on_event(Event::Exited(Exit::Signal(15)), at(T0 + 1)), Action::Spawn);
    }

    #[test]
    fn new_config_replaces_after_exit() {
        let mut s = running(Restart::Always);
        assert_eq!(s.on_event(Event::Config, at(T0)), Action::Stop);
        assert_eq!(s.want, Want::Replace);
        assert_eq!(s.on_event(Event::Exited(Exit::Signal(15)), at(T0 + 1)), Action::Spawn);
        s.on_event(Event::Forked(7), at(T0 + 1));
        assert_eq!(s.want, Want::Up);
        // Stopped by hand: a new config starts it again.
        let mut s = running(Restart::Always);
        s.on_event(Event::Stop, at(T0));
        s.on_event(Event::Exited(Exit::Signal(15)), at(T0 + 1));
        assert_eq!(s.on_event(Event::Config, at(T0 + 2)), Action::Spawn);
        // Failed: only a valid config brings it up.
        let mut f = Service::failed();
        assert_eq!(f.on_event(Event::Start, at(T0)), Action::Nothing);
        assert_eq!(f.on_event(Event::Stop, at(T0)), Action::Nothing);
        assert_eq!(f.state, State::Failed(Fault::Invalid));
        assert_eq!(Service::failed().on_event(Event::Gone, at(T0)), Action::Forget);
        assert_eq!(f.on_event(Event::Config, at(T0)), Action::Spawn);
    }

    #[test]
    fn a_change_during_a_stop_by_hand_starts_the_new_config_at_its_exit() {
        // Issue 11 item 10: the decision is taken at the exit, not later.
        let mut s = running(Restart::Always);
        assert_eq!(s.on_event(Event::Stop, at(T0)), Action::Stop);
        assert_eq!(s.on_event(Event::Config, at(T0 + 1)), Action::Nothing);
        assert_eq!(s.want, Want::Replace);
        assert_eq!(s.on_event(Event::Exited(Exit::Signal(15)), at(T0 + 2)), Action::Spawn);
    }

    #[test]
    fn gone_forgets_once_down_and_back_undoes_it() {
        let mut s = running(Restart::Always);
        assert_eq!(s.on_event(Event::Gone, at(T0)), Action::Stop);
        assert_eq!(s.on_event(Event::Exited(Exit::Code(0)), at(T0 + 1)), Action::Forget);
        let mut s = running(Restart::Never);
        s.on_event(Event::Exited(Exit::Code(0)), at(T0 + 1));
        assert_eq!(s.on_event(Event::Gone, at(T0 + 2)), Action::Forget);
        // Issue 11 item 3: the file comes back during the stop.
        let mut s = running(Restart::Always);
        assert_eq!(s.on_event(Event::Gone, at(T0)), Action::Stop);
        assert_eq!(s.on_event(Event::Back, at(T0 + 1)), Action::Nothing);
        assert_eq!(s.want, Want::Up);
        assert_eq!(s.on_event(Event::Exited(Exit::Signal(15)), at(T0 + 2)), Action::Spawn);
        // ... or comes back changed.
        let mut s = running(Restart::Always);
        s.on_event(Event::Gone, at(T0));
        assert_eq!(s.on_event(Event::Config, at(T0 + 1)), Action::Nothing);
        assert_eq!(s.on_event(Event::Exited(Exit::Signal(15)), at(T0 + 2)), Action::Spawn);
    }

    #[test]
    fn shutdown_wins_over_everything() {
        let mut s = running(Restart::Always);
        s.on_event(Event::Config, at(T0));
        assert_eq!(s.on_event(Event::Shutdown, at(T0)), Action::Nothing);
        assert_eq!(s.on_event(Event::Exited(Exit::Signal(15)), at(T0 + 1)), Action::Nothing);
        assert_eq!(s.state, State::Down);
        // Issue 11 item 4: no client can start it again.
        for ev in [Event::Start, Event::Restart, Event::Config, Event::Back, Event::Retry, Event::Release] {
            assert_eq!(s.on_event(ev, at(T0 + 2)), Action::Nothing, "{ev:?}");
        }
        assert_eq!(s.want, Want::Halt);
        let mut s = running(Restart::Always);
        s.on_event(Event::Exited(Exit::Code(1)), at(T0 + 1));
        assert_eq!(s.on_event(Event::Shutdown, at(T0 + 2)), Action::Nothing);
        assert_eq!((s.state, s.deadline), (State::Down, 0));
        assert_eq!(s.on_event(Event::Due, at(T0 + 100 * SEC)), Action::Nothing);
    }

    #[test]
    fn shutdown_waits_for_dependents_then_kill_all() {
        let mut s = running(Restart::Always);
        let busy = Ctx { dependents_running: true, ..at(T0) };
        assert_eq!(s.on_event(Event::Shutdown, busy), Action::Nothing);
        assert_eq!(s.state, State::Up);
        assert_eq!(s.on_event(Event::Release, busy), Action::Nothing);
        assert_eq!(s.on_event(Event::Shutdown, at(T0 + 1)), Action::Stop);
        assert_eq!(s.on_event(Event::Shutdown, at(T0 + 2)), Action::Nothing);
        assert_eq!(s.on_event(Event::KillAll, at(T0 + 3)), Action::Kill);
    }

    #[test]
    fn spawn_failure_retries_in_a_second() {
        let mut s = Service::new(Policy::DEFAULT);
        s.on_event(Event::Start, at(T0));
        s.on_event(Event::SpawnFailed, at(T0));
        assert_eq!((s.state, s.deadline), (State::Backoff, T0 + SPAWN_RETRY_NS));
        assert_eq!(s.on_event(Event::Due, at(T0 + SPAWN_RETRY_NS)), Action::Spawn);
        s.on_event(Event::SpawnFailed, at(T0 + SPAWN_RETRY_NS));
        assert_eq!(s.failed_spawns, 2);
        s.on_event(Event::Forked(9), at(T0 + 2 * SPAWN_RETRY_NS));
        assert_eq!(s.failed_spawns, 0);
    }

    #[test]
    fn waiting_for_dependencies() {
        let mut s = Service::new(Policy::DEFAULT);
        let blocked = Ctx { deps_ready: false, ..at(T0) };
        assert_eq!(s.on_event(Event::Start, blocked), Action::Nothing);
        assert_eq!(s.state, State::Waiting);
        assert_eq!(s.on_event(Event::Release, blocked), Action::Nothing);
        assert_eq!(s.on_event(Event::Release, at(T0)), Action::Spawn);
        // A respawn waits too.
        let mut s = running(Restart::Always);
        let later = Ctx { deps_ready: false, ..at(T0 + MIN_UPTIME_NS) };
        assert_eq!(s.on_event(Event::Exited(Exit::Code(1)), later), Action::Nothing);
        assert_eq!(s.state, State::Waiting);
        assert!(!s.stuck());
        s.on_event(Event::Stop, at(T0));
        assert!(s.stuck());
    }

    #[test]
    fn readiness_and_its_timeout() {
        let mut s = Service::new(Policy { ready: Ready::Fd(3), ready_timeout: 5, ..Policy::DEFAULT });
        s.on_event(Event::Start, at(T0));
        s.on_event(Event::Forked(5), at(T0));
        assert_eq!((s.state, s.deadline), (State::Starting, T0 + 5 * SEC));
        assert!(!s.ready());
        assert_eq!(s.on_event(Event::Due, at(T0 + 5 * SEC)), Action::Stop);
        assert_eq!(s.state, State::Stopping { timeout: true });
        assert_eq!(s.on_event(Event::Exited(Exit::Signal(15)), at(T0 + 6 * SEC)), Action::Nothing);
        assert_eq!((s.state, s.quick), (State::Backoff, 1));
        assert_eq!(s.on_event(Event::Due, at(s.deadline)), Action::Spawn);
        s.on_event(Event::Forked(6), at(T0 + 7 * SEC));
        assert_eq!(s.on_event(Event::Ready, at(T0 + 8 * SEC)), Action::Nothing);
        assert_eq!((s.state, s.deadline), (State::Up, 0));
        assert!(s.ready());
    }

    #[test]
    fn not_ready_in_time_is_a_failure_the_restart_policy_decides_on() {
        let late = |restart, ready, critical| {
            let mut s = Service::new(Policy { restart, ready, ready_timeout: 1, critical, ..Policy::DEFAULT });
            s.on_event(Event::Start, at(T0));
            s.on_event(Event::Forked(5), at(T0));
            assert_eq!(s.on_event(Event::Due, at(T0 + SEC)), Action::Stop);
            // However it exits: here as asked, with status 0.
            let action = s.on_event(Event::Exited(Exit::Code(0)), at(T0 + 2 * SEC));
            (action, s.state)
        };
        assert_eq!(late(Restart::Never, Ready::Exit, false), (Action::Nothing, State::Failed(Fault::TaskFailed)));
        assert_eq!(late(Restart::Never, Ready::Fd(3), false), (Action::Nothing, State::Done));
        assert_eq!(late(Restart::Never, Ready::Fd(3), true), (Action::End(1), State::Done));
        assert_eq!(late(Restart::OnFailure, Ready::Fd(3), false), (Action::Nothing, State::Backoff));
        assert_eq!(late(Restart::Always, Ready::Exit, false), (Action::Nothing, State::Backoff));
    }

    #[test]
    fn a_backoff_that_ends_waits_for_what_it_is_after() {
        let mut s = running(Restart::Always);
        s.on_event(Event::Exited(Exit::Code(1)), at(T0 + 1));
        assert_eq!(s.state, State::Backoff);
        let blocked = Ctx { deps_ready: false, ..at(s.deadline) };
        assert_eq!(s.on_event(Event::Due, blocked), Action::Nothing);
        assert_eq!((s.state, s.deadline), (State::Waiting, 0));
        assert_eq!(s.on_event(Event::Release, at(T0 + 5 * SEC)), Action::Spawn);
    }

    #[test]
    fn tasks() {
        let mut t = running_with(policy(Restart::Never, Ready::Exit));
        assert_eq!(t.on_event(Event::Ready, at(T0)), Action::Nothing);
        assert_eq!(t.state, State::Starting);
        assert_eq!(t.on_event(Event::Exited(Exit::Code(0)), at(T0 + 1)), Action::Nothing);
        assert_eq!(t.state, State::Done);
        assert!(t.ready() && !t.stuck());
        let mut t = running_with(policy(Restart::Never, Ready::Exit));
        t.on_event(Event::Exited(Exit::Code(2)), at(T0 + 1));
        assert_eq!(t.state, State::Failed(Fault::TaskFailed));
        assert!(!t.ready() && t.stuck());
        assert_eq!(t.on_event(Event::Restart, at(T0 + 2)), Action::Spawn);
        let mut t = running_with(policy(Restart::OnFailure, Ready::Exit));
        t.on_event(Event::Exited(Exit::Code(2)), at(T0 + 1));
        assert_eq!(t.state, State::Backoff);
        assert!(!t.stuck());
    }

    #[test]
    fn a_critical_service_ends_going() {
        let p = Policy { critical: true, restart: Restart::OnFailure, ..Policy::DEFAULT };
        let mut s = running_with(p);
        assert_eq!(s.on_event(Event::Exited(Exit::Code(1)), at(T0 + 1)), Action::Nothing);
        s.on_event(Event::Due, at(s.deadline));
        s.on_event(Event::Forked(8), at(T0 + 2 * SEC));
        assert_eq!(s.on_event(Event::Exited(Exit::Code(0)), at(T0 + 3 * SEC)), Action::End(0));
        let mut s = running_with(Policy { critical: true, restart: Restart::Never, ..Policy::DEFAULT });
        assert_eq!(s.on_event(Event::Exited(Exit::Signal(9)), at(T0 + 1)), Action::End(137));
        // Stopped by hand, it has not ended on its own.
        let mut s = running_with(Policy { critical: true, restart: Restart::Never, ..Policy::DEFAULT });
        s.on_event(Event::Stop, at(T0));
        assert_eq!(s.on_event(Event::Exited(Exit::Signal(15)), at(T0 + 1)), Action::Nothing);
    }

    #[test]
    fn faults_and_retry() {
        let mut s = Service::new(Policy::DEFAULT);
        assert_eq!(s.on_event(Event::Fault(Fault::Setup(Setup::LogDirUnsafe)), at(T0)), Action::Nothing);
        assert!(s.stuck());
        assert_eq!(s.state.word(), b"failed");
        assert_eq!(s.on_event(Event::Retry, at(T0)), Action::Spawn);
        // Retry leaves a healthy service alone.
        let mut s = running(Restart::Always);
        assert_eq!(s.on_event(Event::Retry, at(T0)), Action::Nothing);
        let mut d = running(Restart::Never);
        d.on_event(Event::Exited(Exit::Code(0)), at(T0 + 1));
        assert_eq!(d.on_event(Event::Retry, at(T0 + 2)), Action::Nothing);
    }

    #[test]
    fn leftovers_are_gone_before_anything_follows_an_exit() {
        // Exited on its own: the policy decides once the cgroup is empty.
        let mut s = running(Restart::Always);
        assert_eq!(s.on_event(Event::Left(Exit::Code(1)), at(T0 + 1)), Action::Kill);
        assert_eq!((s.state, s.pid, s.last), (State::Draining { stopping: None }, -42, Some(Exit::Code(1))));
        assert!(s.running() && s.stopping() && !s.ready());
        assert_eq!(s.deadline, T0 + 1 + DRAIN_RECHECK_NS);
        assert_eq!(s.on_event(Event::Due, at(T0 + 1)), Action::Nothing);
        assert_eq!(s.on_event(Event::Due, at(s.deadline)), Action::Kill);
        assert_eq!(s.deadline, T0 + 1 + 2 * DRAIN_RECHECK_NS);
        assert_eq!(s.on_event(Event::Exited(Exit::Code(1)), at(T0 + 2)), Action::Nothing);
        assert_eq!((s.state, s.quick), (State::Backoff, 1));
        let mut s = running(Restart::Always);
        s.on_event(Event::Left(Exit::Code(1)), at(T0 + MIN_UPTIME_NS));
        assert_eq!(s.on_event(Event::Exited(Exit::Code(1)), at(T0 + MIN_UPTIME_NS)), Action::Spawn);
        let mut s = running(Restart::Never);
        s.on_event(Event::Left(Exit::Code(0)), at(T0 + 1));
        assert_eq!(s.on_event(Event::Exited(Exit::Code(0)), at(T0 + 2)), Action::Nothing);
        assert_eq!(s.state, State::Done);
        // What is asked while it drains counts at the end, with no signal.
        let cases = [
            (Event::Stop, Action::Nothing, State::Down),
            (Event::Restart, Action::Spawn, State::Draining { stopping: Some(false) }),
            (Event::Config, Action::Spawn, State::Draining { stopping: None }),
            (Event::Gone, Action::Forget, State::Draining { stopping: None }),
            (Event::Shutdown, Action::Nothing, State::Down),
        ];
        for (ev, at_end, _) in cases {
            let mut s = running(Restart::Always);
            s.on_event(Event::Left(Exit::Signal(15)), at(T0 + 1));
            assert_eq!(s.on_event(ev, at(T0 + 2)), Action::Nothing, "{ev:?}");
            assert!(s.draining(), "{ev:?}");
            assert_eq!(s.on_event(Event::Exited(Exit::Signal(15)), at(T0 + 3)), at_end, "{ev:?}");
        }
        let mut s = running(Restart::Always);
        s.on_event(Event::Left(Exit::Signal(15)), at(T0 + 1));
        s.on_event(Event::Shutdown, at(T0 + 2));
        assert_eq!(s.on_event(Event::KillAll, at(T0 + 3)), Action::Kill);
        assert!(s.draining() && !s.ready());
        // Being stopped: the stop's own outcome, once empty.
        let mut s = running(Restart::Always);
        s.on_event(Event::Restart, at(T0));
        assert_eq!(s.on_event(Event::Left(Exit::Signal(15)), at(T0 + 1)), Action::Kill);
        assert_eq!(s.state, State::Draining { stopping: Some(false) });
        assert_eq!(s.on_event(Event::Exited(Exit::Signal(15)), at(T0 + 2)), Action::Spawn);
        let mut s = Service::new(Policy { ready: Ready::Fd(3), ready_timeout: 5, ..Policy::DEFAULT });
        s.on_event(Event::Start, at(T0));
        s.on_event(Event::Forked(5), at(T0));
        s.on_event(Event::Due, at(T0 + 5 * SEC));
        s.on_event(Event::Left(Exit::Signal(15)), at(T0 + 6 * SEC));
        assert_eq!(s.state, State::Draining { stopping: Some(true) });
        assert_eq!(s.on_event(Event::Exited(Exit::Signal(15)), at(T0 + 6 * SEC)), Action::Nothing);
        assert_eq!((s.state, s.quick), (State::Backoff, 1));
    }

    #[test]
    fn every_event_in_every_state_is_handled() {
        let states = [
            State::Down,
            State::Waiting,
            State::Starting,
            State::Up,
            State::Backoff,
            State::Stopping { timeout: false },
            State::Stopping { timeout: true },
            State::Draining { stopping: None },
            State::Draining { stopping: Some(false) },
            State::Draining { stopping: Some(true) },
            State::Done,
            State::Failed(Fault::Invalid),
            State::Failed(Fault::Cycle),
        ];
        let events = [
            Event::Start,
            Event::Stop,
            Event::Restart,
            Event::Config,
            Event::Back,
            Event::Gone,
            Event::Shutdown,
            Event::KillAll,
            Event::Release,
            Event::Retry,
            Event::Exited(Exit::Code(0)),
            Event::Left(Exit::Signal(9)),
            Event::Due,
            Event::Forked(5),
            Event::SpawnFailed,
            Event::Ready,
            Event::Fault(Fault::Cycle),
        ];
        let wants = [Want::Up, Want::Down, Want::Replace, Want::Gone, Want::Halt];
        for st in states {
            for ev in events {
                for want in wants {
                    for pid in [0, 7] {
                        let mut s = running(Restart::Always);
                        (s.state, s.want, s.pid) = (st, want, pid);
                        let a = s.on_event(ev, Ctx { deps_ready: pid == 0, ..at(T0 + 1) });
                        // After shutdown nothing starts.
                        if want == Want::Halt {
                            assert_ne!(a, Action::Spawn, "{st:?} {ev:?}");
                        }
                        // Nothing running is never forgotten while it runs.
                        if s.running() {
                            assert_ne!(a, Action::Forget, "{st:?} {ev:?} {want:?}");
                        }
                        // What is left of it is killed, and nothing starts
                        // before it is gone.
                        if let Event::Left(_) = ev {
                            assert_eq!((a, s.pid, s.draining()), (Action::Kill, -pid, true), "{st:?} {want:?}");
                        }
                        if matches!(st, State::Draining { .. }) && pid != 0 && !matches!(ev, Event::Exited(_)) {
                            assert!(!matches!(a, Action::Spawn | Action::Forget), "{st:?} {ev:?} {want:?}");
                        }
                        // Once it has exited, a fault or a failed spawn is heard.
                        if let Event::Exited(_) = ev {
                            assert!(!s.running(), "{st:?} {want:?}");
                        }
                    }
                }
            }
        }
    }
}
