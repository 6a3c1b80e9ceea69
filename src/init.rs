//! going as process 1. Of a container (a PID namespace of its own): it
//! reaps every orphan and ends as its critical service did. Of a machine
//! (the kernel started it, kernel threads run beside it): it mounts what
//! is missing of the API filesystems before anything starts, and after
//! everything has stopped it syncs and halts, powers off or reboots
//! instead of exiting, which would panic the kernel.

use core::sync::atomic::{AtomicU8, Ordering};

/// 0 not known yet, 1 not process 1 of a machine, 2 it is.
static MACHINE: AtomicU8 = AtomicU8::new(0);

/// Is going process 1 of a machine (not of a container)? Decided once,
/// by `detect`.
pub fn is_machine() -> bool {
    MACHINE.load(Ordering::Relaxed) == 2
}

/// Decides whether going is process 1 of a machine: it is process 1 and
/// the kernel's own thread daemon (`kthreadd`, process 2, child of
/// process 0) is in its PID namespace; a container's namespace holds no
/// kernel thread.
pub fn detect() {
    let machine =
        rustix::process::getpid().is_init() && crate::leftover::stat_of(2).is_some_and(|s| s.ppid == 0 && s.kthread);
    MACHINE.store(if machine { 2 } else { 1 }, Ordering::Relaxed);
}

/// What a signal to going asks for, if it stops everything. busybox
/// init's: as process 1 of a machine SIGTERM and SIGINT (Ctrl-Alt-Del)
/// reboot, SIGUSR1 halts and SIGUSR2 powers off; elsewhere SIGTERM and
/// SIGINT make going exit.
pub fn stop_signal(s: i32) -> Option<crate::fleet::Then> {
    use crate::fleet::Then;
    let machine = is_machine();
    match s {
        crate::sig::TERM | crate::sig::INT if machine => Some(Then::Reboot),
        crate::sig::TERM | crate::sig::INT => Some(Then::Exit),
        crate::sig::USR1 if machine => Some(Then::Halt),
        crate::sig::USR2 if machine => Some(Then::PowerOff),
        _ => None,
    }
}

/// Everything has stopped: as process 1 of a machine, sync and do what
/// was asked with reboot(2). Returns only where going just exits (or the
/// kernel refused).
pub fn finish(then: crate::fleet::Then, log: &mut crate::log::Log) {
    use crate::fleet::Then;
    use rustix::system::{RebootCommand, reboot};
    let cmd = match then {
        Then::Exit => return,
        Then::PowerOff => RebootCommand::PowerOff,
        Then::Reboot => RebootCommand::Restart,
        Then::Halt => RebootCommand::Halt,
    };
    rustix::fs::sync();
    if let Err(e) = reboot(cmd) {
        log.error(|l| {
            l.s(b"reboot(2) refused: ").s(crate::sys::strerror(e)).s(b"; exiting");
        });
    }
}
