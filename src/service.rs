//! One service's state machine. Pure: `on_event` takes what happened and
//! the time, updates the record and says what to do; the supervisor does
//! it. What we want (up/down) is kept apart from what is (the state).

use crate::config::Restart;
use crate::limits::{BACKOFF_MAX_SECS, MIN_UPTIME_NS, SEC, SPAWN_RETRY_NS};

/// What is, in the words `going status` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Not running and not waiting for anything.
    Down,
    /// Running.
    Up,
    /// Waiting for a deadline before the next spawn.
    Backoff,
    /// Sent its stop signal; waiting for it to exit.
    Stopping,
    /// Exited and its `restart=` says it stays down.
    Done,
    /// Its file is invalid and there is no valid version to run.
    Failed,
}

impl State {
    pub fn word(self) -> &'static [u8] {
        match self {
            State::Down => b"down",
            State::Up => b"up",
            State::Backoff => b"backoff",
            State::Stopping => b"stopping",
            State::Done => b"done",
            State::Failed => b"failed",
        }
    }
}

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Run it (new file, `going start`): now, even from backoff.
    Start,
    /// Stop it and keep it down (`going stop`, shutdown).
    Stop,
    /// Stop it if running, then start it at once (`going restart`).
    Restart,
    /// Its file is gone: stop it, then forget it.
    Remove,
    /// A different valid config is pending: stop the old, start the new.
    NewConfig,
    /// Its process exited.
    Exited(Exit),
    /// Its deadline has passed.
    Due,
    /// A process was forked with this pid.
    Forked(i32),
    /// The spawn failed in going (fork, pipe, /dev/null).
    SpawnFailed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Nothing,
    /// Fork and exec the current config.
    Spawn,
    /// Make the pending config current, then spawn.
    SpawnNew,
    /// Send the stop signal and `SIGCONT` to the process group.
    Stop,
    /// Send `SIGKILL` to the process group.
    Kill,
    /// Drop the service from the table.
    Forget,
}

/// The state of one service and what it is for.
#[derive(Clone, Copy, Debug)]
pub struct Service {
    pub state: State,
    /// Whether it should run; `going stop` and shutdown clear it.
    pub up: bool,
    /// Its file is gone: forget it once it is down.
    pub remove: bool,
    /// A new config waits to replace the current one.
    pub pending: bool,
    /// `SIGKILL` was sent during this stop.
    pub killed: bool,
    pub pid: i32,
    /// Monotonic time of the last spawn, ns.
    pub since: u64,
    /// Monotonic deadline in ns, 0 for none.
    pub deadline: u64,
    /// Quick exits in a row.
    pub quick: u32,
    pub spawns: u32,
    /// Spawns that failed in going in a row (fork, pipe, /dev/null).
    pub failed_spawns: u32,
    pub last: Option<Exit>,
    pub restart: Restart,
    pub stop_signal: i32,
    pub stop_timeout: u32,
}

/// Seconds to wait after the k-th quick exit in a row: 1, 2, 4, ... 60.
pub fn backoff_secs(k: u32) -> u64 {
    (1u64 << k.saturating_sub(1).min(6)).min(BACKOFF_MAX_SECS)
}

impl Service {
    pub const fn new(restart: Restart, stop_signal: i32, stop_timeout: u32) -> Self {
        Service {
            state: State::Down,
            up: true,
            remove: false,
            pending: false,
            killed: false,
            pid: 0,
            since: 0,
            deadline: 0,
            quick: 0,
            spawns: 0,
            failed_spawns: 0,
            last: None,
            restart,
            stop_signal,
            stop_timeout,
        }
    }

    /// A failed service: a name whose file has never been valid.
    pub const fn failed() -> Self {
        let mut s = Service::new(Restart::Always, crate::sig::TERM, 0);
        s.state = State::Failed;
        s
    }

    pub fn running(&self) -> bool {
        self.pid != 0
    }

    /// Restarts so far: spawns after the first.
    pub fn restarts(&self) -> u32 {
        self.spawns.saturating_sub(1)
    }

    fn spawn(&self) -> Action {
        if self.pending { Action::SpawnNew } else { Action::Spawn }
    }

    fn begin_stop(&mut self, now: u64) -> Action {
        self.state = State::Stopping;
        self.killed = false;
        self.deadline = now.saturating_add(u64::from(self.stop_timeout) * SEC).max(1);
        Action::Stop
    }

    /// Applies an event at monotonic time `now` (ns) and says what to do.
    pub fn on_event(&mut self, ev: Event, now: u64) -> Action {
        use State::*;
        match (ev, self.state) {
            (Event::Stop | Event::Remove, _) => {
                self.up = false;
                self.remove |= ev == Event::Remove;
                match self.state {
                    Up => self.begin_stop(now),
                    Stopping => Action::Nothing,
                    _ if self.remove => Action::Forget,
                    Failed => Action::Nothing,
                    _ => {
                        self.state = Down;
                        self.deadline = 0;
                        Action::Nothing
                    }
                }
            }
            (_, Failed) if !self.pending => Action::Nothing,
            (Event::Start | Event::Restart | Event::NewConfig, _) if !self.running() => {
                self.up = true;
                self.quick = 0;
                self.deadline = 0;
                self.spawn()
            }
            (Event::Restart | Event::NewConfig, Up) => {
                self.up = true;
                self.quick = 0;
                self.begin_stop(now)
            }
            (Event::Start | Event::Restart | Event::NewConfig, _) => {
                self.up = true;
                Action::Nothing
            }
            (Event::Exited(how), _) => self.exited(how, now),
            (Event::Due, Backoff) if now >= self.deadline => {
                self.deadline = 0;
                self.spawn()
            }
            (Event::Due, Stopping) if now >= self.deadline && !self.killed => {
                self.killed = true;
                self.deadline = 0;
                Action::Kill
            }
            (Event::Due, _) => Action::Nothing,
            (Event::Forked(pid), _) => {
                self.state = Up;
                self.pending = false;
                self.pid = pid;
                self.since = now;
                self.deadline = 0;
                self.spawns = self.spawns.saturating_add(1);
                self.failed_spawns = 0;
                Action::Nothing
            }
            (Event::SpawnFailed, _) => {
                self.failed_spawns = self.failed_spawns.saturating_add(1);
                self.state = Backoff;
                self.deadline = now.saturating_add(SPAWN_RETRY_NS);
                Action::Nothing
            }
        }
    }

    fn exited(&mut self, how: Exit, now: u64) -> Action {
        let ran = now.saturating_sub(self.since);
        let stopping = self.state == State::Stopping;
        self.pid = 0;
        self.last = Some(how);
        self.deadline = 0;
        if self.remove {
            return Action::Forget;
        }
        if !self.up {
            self.state = State::Down;
            return Action::Nothing;
        }
        if stopping {
            return self.spawn();
        }
        let stays_down = match self.restart {
            Restart::Never => true,
            Restart::OnFailure => how == Exit::Code(0),
            Restart::Always => false,
        };
        if stays_down {
            self.state = State::Done;
            return Action::Nothing;
        }
        if ran >= MIN_UPTIME_NS {
            self.quick = 0;
            return self.spawn();
        }
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

    fn running(restart: Restart) -> Service {
        let mut s = Service::new(restart, crate::sig::TERM, 10);
        assert_eq!(s.on_event(Event::Start, T0), Action::Spawn);
        s.on_event(Event::Forked(42), T0);
        assert_eq!((s.state, s.pid), (State::Up, 42));
        s
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
        let a = s.on_event(Event::Exited(Exit::Signal(9)), T0 + MIN_UPTIME_NS);
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
            assert_eq!(s.on_event(Event::Exited(Exit::Code(1)), now), Action::Nothing);
            assert_eq!(s.state, State::Backoff);
            assert_eq!(s.deadline, now + backoff_secs(k) * SEC);
            assert_eq!(s.on_event(Event::Due, s.deadline - 1), Action::Nothing);
            now = s.deadline;
            assert_eq!(s.on_event(Event::Due, now), Action::Spawn);
            s.on_event(Event::Forked(100 + k as i32), now);
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
            s.on_event(Event::Exited(how), T0 + 1);
            assert_eq!(s.state, want, "{policy:?} {how:?}");
        }
    }

    #[test]
    fn stop_escalates_once() {
        let mut s = running(Restart::Always);
        assert_eq!(s.on_event(Event::Stop, T0), Action::Stop);
        assert_eq!((s.state, s.deadline), (State::Stopping, T0 + 10 * SEC));
        assert_eq!(s.on_event(Event::Due, T0 + 10 * SEC), Action::Kill);
        assert_eq!(s.on_event(Event::Due, T0 + 20 * SEC), Action::Nothing);
        assert_eq!(s.on_event(Event::Exited(Exit::Signal(9)), T0 + 11 * SEC), Action::Nothing);
        assert_eq!(s.state, State::Down);
        assert_eq!(s.on_event(Event::Start, T0 + 12 * SEC), Action::Spawn);
    }

    #[test]
    fn stop_in_backoff_cancels_the_deadline() {
        let mut s = running(Restart::Always);
        s.on_event(Event::Exited(Exit::Code(1)), T0 + 1);
        assert_eq!(s.on_event(Event::Stop, T0 + 2), Action::Nothing);
        assert_eq!((s.state, s.deadline), (State::Down, 0));
        assert_eq!(s.on_event(Event::Due, T0 + 100 * SEC), Action::Nothing);
    }

    #[test]
    fn restart_skips_backoff() {
        let mut s = running(Restart::Always);
        s.on_event(Event::Exited(Exit::Code(1)), T0 + 1);
        assert_eq!(s.on_event(Event::Restart, T0 + 2), Action::Spawn);
        let mut s = running(Restart::Always);
        assert_eq!(s.on_event(Event::Restart, T0), Action::Stop);
        assert_eq!(s.on_event(Event::Exited(Exit::Signal(15)), T0 + 1), Action::Spawn);
    }

    #[test]
    fn new_config_replaces_after_exit() {
        let mut s = running(Restart::Always);
        s.pending = true;
        assert_eq!(s.on_event(Event::NewConfig, T0), Action::Stop);
        assert_eq!(s.on_event(Event::Exited(Exit::Signal(15)), T0 + 1), Action::SpawnNew);
        s.on_event(Event::Forked(7), T0 + 1);
        assert!(!s.pending);
        // Down (stopped by hand): a new config starts it again.
        let mut s = running(Restart::Always);
        s.on_event(Event::Stop, T0);
        s.on_event(Event::Exited(Exit::Signal(15)), T0 + 1);
        s.pending = true;
        assert_eq!(s.on_event(Event::NewConfig, T0 + 2), Action::SpawnNew);
        // Failed: only a pending valid config brings it up.
        let mut f = Service::failed();
        assert_eq!(f.on_event(Event::Start, T0), Action::Nothing);
        assert_eq!(f.on_event(Event::Stop, T0), Action::Nothing);
        assert_eq!(f.state, State::Failed);
        assert_eq!(Service::failed().on_event(Event::Remove, T0), Action::Forget);
        f.pending = true;
        assert_eq!(f.on_event(Event::NewConfig, T0), Action::SpawnNew);
    }

    #[test]
    fn remove_forgets_once_down() {
        let mut s = running(Restart::Always);
        assert_eq!(s.on_event(Event::Remove, T0), Action::Stop);
        assert_eq!(s.on_event(Event::Exited(Exit::Code(0)), T0 + 1), Action::Forget);
        let mut s = running(Restart::Never);
        s.on_event(Event::Exited(Exit::Code(0)), T0 + 1);
        assert_eq!(s.on_event(Event::Remove, T0 + 2), Action::Forget);
    }

    #[test]
    fn shutdown_wins_over_pending_config() {
        let mut s = running(Restart::Always);
        s.pending = true;
        s.on_event(Event::NewConfig, T0);
        assert_eq!(s.on_event(Event::Stop, T0), Action::Nothing);
        assert_eq!(s.on_event(Event::Exited(Exit::Signal(15)), T0 + 1), Action::Nothing);
        assert_eq!(s.state, State::Down);
    }

    #[test]
    fn spawn_failure_retries_in_a_second() {
        let mut s = Service::new(Restart::Always, 15, 10);
        s.on_event(Event::Start, T0);
        s.on_event(Event::SpawnFailed, T0);
        assert_eq!((s.state, s.deadline), (State::Backoff, T0 + SPAWN_RETRY_NS));
        assert_eq!(s.on_event(Event::Due, T0 + SPAWN_RETRY_NS), Action::Spawn);
        s.on_event(Event::SpawnFailed, T0 + SPAWN_RETRY_NS);
        assert_eq!(s.failed_spawns, 2);
        s.on_event(Event::Forked(9), T0 + 2 * SPAWN_RETRY_NS);
        assert_eq!(s.failed_spawns, 0);
    }

    #[test]
    fn every_event_in_every_state_is_handled() {
        let states = [State::Down, State::Up, State::Backoff, State::Stopping, State::Done, State::Failed];
        let events = [
            Event::Start,
            Event::Stop,
            Event::Restart,
            Event::Remove,
            Event::NewConfig,
            Event::Exited(Exit::Code(0)),
            Event::Due,
            Event::Forked(5),
            Event::SpawnFailed,
        ];
        for st in states {
            for ev in events {
                for pending in [false, true] {
                    let mut s = running(Restart::Always);
                    s.state = st;
                    s.pending = pending;
                    let _ = s.on_event(ev, T0 + 1);
                }
            }
        }
    }
}
