//! The loop. One `epoll_wait` for everything — signals (through a
//! signalfd), the config directory, the control socket, exec reports,
//! readiness, service output — with the nearest deadline as its timeout,
//! or none. Each source hands what happened to the fleet, which asks the
//! service's state machine and carries out its answer; then what waited
//! for a neighbour is settled, waiting clients are answered, and going
//! ends once a shutdown has stopped everything. Once the loop runs
//! nothing is fatal: errors are logged and retried at a deadline.

use crate::cgroup::Cgroups;
use crate::confdir::ConfDir;
use crate::control::{self, Client, Control};
use crate::fleet::{self, Fleet, Halt, Then};
use crate::graph::Graph;
use crate::limits::{MAX_CLIENTS, MAX_FILE};
use crate::log::Log;
use crate::output::Console;
use crate::ready;
use crate::table::Table;
use crate::{init, leftover, procfile, sig, spawn, sys, time};
use core::ffi::CStr;
use rustix::event::epoll::{self, CreateFlags, Event as Ready, EventData, EventFlags};
use rustix::fd::OwnedFd;
use rustix::io::Errno;
use rustix::process::Pid;

/// Sets up and runs the supervisor until it is told to stop; returns the
/// exit code.
#[inline(never)]
pub fn run(dir: &CStr, socket: Option<&CStr>, procfile: bool) -> i32 {
    let mut log = Log::new();
    init::setup(&mut log);
    sys::default_dispositions();
    sys::cloexec_from_3();
    // Orphans of services (daemons that double-fork) become going's to
    // reap; as PID 1 every orphan of the system already is.
    if !rustix::process::getpid().is_init() {
        let _ = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
    }
    if procfile && !procfile_valid(dir) {
        return crate::cli::EX_CONFIG;
    }
    let socket = socket.unwrap_or(c"");
    let Some(listener) = listen(socket, procfile, &mut log) else {
        return crate::cli::EX_FAIL;
    };
    let Some((epoll, signals)) = events(&listener, &mut log) else {
        return crate::cli::EX_FAIL;
    };
    log.info(|l| {
        l.s(concat!("going ", env!("CARGO_PKG_VERSION"), " supervising ").as_bytes()).s(dir.to_bytes());
    });
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
    // With cgroups, what a killed going left is found in its subtree.
    let cgroups = if procfile { Cgroups::none() } else { Cgroups::open(socket, &mut log) };
    cgroups.sweep(&mut log);
    // Never moved: every large part lives here and is lent to the loop.
    let mut table = Table::new();
    let mut graph = Graph::new();
    let mut pool = spawn::Pool::new();
    // All zeros, and mostly unused with few services: not resident. The
    // pool is uninitialised until a start writes a slot.
    sys::release_zero_pages(&mut table);
    sys::release_zero_pages(&mut graph);
    sys::release_zero_pages(&mut pool);
    let mut clients = [const { Client::new() }; MAX_CLIENTS];
    let mut fleet = Fleet::new(&mut table, &mut graph, &mut pool, log, epoll, dir, procfile);
    fleet.log.stderr = Console::open(2);
    fleet.stdout = Console::open(1);
    fleet.color = crate::output::colour();
    fleet.pids = pids.filter(|_| !cgroups.active());
    fleet.cgroups = cgroups;
    let mut boot = [0u8; 64];
    fleet.boot_id = leftover::boot_id(&mut boot);
    let mut notify_buf = [0u8; 256];
    fleet.notify_path = if procfile { None } else { ready::path(socket, &mut notify_buf) };
    let mut sup = Supervisor {
        confdir: ConfDir::new(dir, procfile, &mut fleet),
        control: Control::new(listener, &mut clients),
        fleet,
        signals,
    };
    let now = time::now();
    // From here on a wake-up's lines are written together (log.rs).
    sup.fleet.log.hold = true;
    sup.confdir.reload(&mut sup.fleet, now);
    let halt = sup.run_loop();
    sup.fleet.log.flush();
    sup.fleet.log.hold = false;
    if sup.control.listener.is_some() {
        let _ = rustix::fs::unlink(socket);
    }
    sup.fleet.close_notify();
    if let Some((file, _)) = sup.fleet.pids {
        let _ = rustix::fs::unlink(file);
    }
    let Fleet { table, cgroups, .. } = &mut sup.fleet;
    cgroups.close((0..table.entries.len()).map(|i| table.name(i)), socket);
    init::finish(halt.then, &mut sup.fleet.log);
    halt.code
}

struct Supervisor<'a> {
    fleet: Fleet<'a>,
    confdir: ConfDir<'a>,
    control: Control<'a>,
    signals: OwnedFd,
}

impl Supervisor<'_> {
    fn run_loop(&mut self) -> Halt {
        let mut ready = [Ready { flags: EventFlags::empty(), data: EventData::new_u64(0) }; 16];
        let mut now = time::now();
        let mut burst = false;
        loop {
            // What the last wake-up (or the first read) changed, settled
            // before going sleeps again.
            self.fleet.settle(now);
            self.control.check_waits(&mut self.fleet);
            self.fleet.record_pids(now);
            if let Some(halt) = self.fleet.halt.filter(|_| self.fleet.all_down()) {
                return self.exit(halt, now);
            }
            self.fleet.keep_spare();
            let timeout = self.next_deadline().map(|d| time::until(d, time::now()));
            // After a burst (more than one start in one wake-up: a boot,
            // a reload), what its deep calls wrote below this frame need
            // not stay resident once going sleeps with nothing to do. A
            // single respawn or pickup keeps its pages: it would only
            // fault them in again the next time, on its critical path.
            burst |= self.fleet.starts > 1;
            self.fleet.starts = 0;
            self.fleet.stalled = false;
            self.fleet.release_pool();
            if burst && timeout.is_none() {
                sys::trim_stack();
                burst = false;
            }
            self.fleet.log.flush();
            let n = epoll::wait(&self.fleet.epoll, &mut ready[..], timeout.as_ref()).unwrap_or(0);
            now = time::now();
            for ev in ready.iter().take(n) {
                self.dispatch(ev.data.u64(), ev.flags, now);
            }
            self.fleet.fire_due(now);
            self.control.expire(&mut self.fleet, now);
            self.confdir.fire(&mut self.fleet, now);
            if core::mem::take(&mut self.control.reload) {
                self.reload(b" (asked on the control socket)", now);
            }
        }
    }

    /// Everything has stopped: what the services wrote last is moved out.
    fn exit(&mut self, halt: Halt, now: u64) -> Halt {
        self.confdir.disarm(&mut self.fleet);
        for i in 0..self.fleet.table.entries.len() {
            self.fleet.drain(i, now);
        }
        self.fleet.log.info(|l| {
            l.s(b"exiting");
        });
        halt
    }

    /// One ready descriptor: which source it is, by its token.
    fn dispatch(&mut self, token: u64, flags: EventFlags, now: u64) {
        let low = token as u32;
        let f = &mut self.fleet;
        match token & !0xffff_ffff {
            fleet::SIGNALS => self.on_signals(now),
            fleet::EXEC => f.exec_report_fd(low as i32, now),
            fleet::OUTPUT => f.output_fd(low as i32, now),
            fleet::READY => f.ready_fd(low as i32, now),
            fleet::WATCH => self.confdir.on_watch(f, now),
            fleet::LISTEN => self.control.on_listen(f, now),
            fleet::CLIENT => self.control.on_client(low as usize, flags, f, now),
            fleet::WAITER => self.control.on_waiter(low as usize, f),
            fleet::NOTIFY => f.on_notify(now),
            fleet::CGROUP => f.cgroup_notes(now),
            _ => {}
        }
    }

    fn next_deadline(&self) -> Option<u64> {
        let deadlines = [
            self.fleet.table.next_deadline(),
            self.fleet.pids_deadline(),
            self.confdir.deadline(),
            self.control.deadline(),
        ];
        deadlines.iter().flatten().copied().min()
    }

    /// Reads the pending signals and acts on them. A call of its own: its
    /// buffer is on the stack only while it runs, not in the loop's frame.
    #[inline(never)]
    fn on_signals(&mut self, now: u64) {
        // Room for many at once: one read takes all that are pending.
        let mut info = [0u8; 128 * 16];
        let (mut child, mut hup) = (false, false);
        loop {
            let n = match rustix::io::read(&self.signals, &mut info) {
                Ok(n) if n >= 128 => n,
                _ => break,
            };
            for one in info.get(..n).unwrap_or(&[]).chunks_exact(128) {
                let [a, b, c, d, ..] = *one else { continue };
                match u32::from_ne_bytes([a, b, c, d]) as i32 {
                    sig::CHLD => child = true,
                    sig::HUP => hup = true,
                    s => {
                        if let Some(then) = init::stop_signal(s) {
                            self.stop(s, then, now);
                        }
                    }
                }
            }
            if n < info.len() {
                break;
            }
        }
        if child {
            self.fleet.reap(now);
        }
        if hup && self.fleet.halt.is_none() {
            self.reload(b"", now);
        }
    }

    /// SIGHUP, or `going reload`: everything read again, and what failed
    /// for want of something tried again.
    fn reload(&mut self, why: &[u8], now: u64) {
        if self.fleet.halt.is_some() {
            return;
        }
        self.fleet.log.info(|l| {
            l.s(b"reloading ").s(self.confdir.path.to_bytes()).s(why);
        });
        self.confdir.reload(&mut self.fleet, now);
        self.fleet.retry(now);
    }

    /// A signal that stops everything: the first stops in order, the next
    /// kills what is left.
    fn stop(&mut self, signal: i32, then: Then, now: u64) {
        let first = self.fleet.halt.is_none();
        self.fleet.log.info(|l| {
            fleet::signal_name(l, signal);
            l.s(if first { b" received, stopping all services" } else { b" received again, killing all services" });
        });
        if first {
            self.confdir.disarm(&mut self.fleet);
            self.fleet.shutdown(Halt { code: 0, then }, now);
        } else {
            self.fleet.kill_all(now);
        }
    }
}

/// The control socket; `None` (going ends) when another going has it.
/// Without it (or in Procfile mode) going runs without status and control.
fn listen(socket: &CStr, procfile: bool, log: &mut Log) -> Option<Option<OwnedFd>> {
    if procfile {
        return Some(None);
    }
    match control::open_socket(socket) {
        Ok(fd) => Some(Some(fd)),
        Err((what, Errno::ADDRINUSE)) => {
            log.error(|l| {
                l.s(socket.to_bytes()).s(b": ").s(what);
            });
            None
        }
        Err((what, e)) => {
            log.error(|l| {
                l.s(socket.to_bytes()).s(b": ").s(what).s(b": ").s(sys::strerror(e));
                l.s(b"; status and control are unavailable");
            });
            Some(None)
        }
    }
}

/// The epoll set and the signalfd in it, with the listener.
fn events(listener: &Option<OwnedFd>, log: &mut Log) -> Option<(OwnedFd, OwnedFd)> {
    let setup = sys::signalfd_all().and_then(|signals| {
        let epoll = epoll::create(CreateFlags::CLOEXEC)?;
        epoll::add(&epoll, &signals, EventData::new_u64(fleet::SIGNALS), EventFlags::IN)?;
        if let Some(l) = listener {
            epoll::add(&epoll, l, EventData::new_u64(fleet::LISTEN), EventFlags::IN)?;
        }
        Ok((epoll, signals))
    });
    match setup {
        Ok(fds) => Some(fds),
        Err(e) => {
            log.error(|l| {
                l.s(b"cannot set up signals and epoll: ").s(sys::strerror(e));
            });
            None
        }
    }
}

/// Checks a Procfile before anything starts: its problems are printed and
/// nothing runs, as befits a developer's tool. A call of its own, not
/// inlined into `run`.
#[inline(never)]
fn procfile_valid(path: &CStr) -> bool {
    let mut buf = [0u8; MAX_FILE + 1];
    let mut log = Log::new();
    let Some(n) = crate::confdir::read_procfile(path, &mut buf, &mut log) else {
        return false;
    };
    let mut ok = true;
    let mut any = false;
    let src = buf.get(..n).unwrap_or(&[]);
    for (line, entry) in procfile::entries(src) {
        // A repeat: the first line with its name is an earlier one.
        let dup = entry.is_ok_and(|(name, _)| {
            procfile::entries(src).find(|(_, e)| e.is_ok_and(|(n, _)| n == name)).is_some_and(|(l, _)| l < line)
        });
        match entry {
            Err(why) => crate::confdir::procfile_error(&mut log, path, line, why),
            Ok(_) if dup => crate::confdir::procfile_error(&mut log, path, line, b"repeated name"),
            Ok(_) => {
                any = true;
                continue;
            }
        }
        ok = false;
    }
    if ok && !any {
        crate::confdir::procfile_error(&mut log, path, 0, b"no processes");
    }
    ok && any
}

const _: () = assert!(core::mem::size_of::<Pid>() == 4);
