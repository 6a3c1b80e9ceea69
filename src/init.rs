//! going as process 1. Of a container (a PID namespace of its own): it
//! reaps every orphan and ends as its critical service did. Of a machine
//! (the kernel started it, kernel threads run beside it): it mounts what
//! is missing of the API filesystems before anything starts, and after
//! everything has stopped it syncs and halts, powers off or reboots
//! instead of exiting, which would panic the kernel.

use crate::log::Log;
use core::ffi::CStr;
use core::sync::atomic::{AtomicU8, Ordering};
use rustix::fs::{AtFlags, Mode, OFlags, statat};
use rustix::mount::{MountFlags, mount};

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
/// kernel thread. To see it, process 1 mounts `/proc` if it is not there.
/// As process 1 of a machine it then mounts the rest of the API
/// filesystems, gives itself a console if the kernel found none, and
/// asks for Ctrl-Alt-Del as a SIGINT instead of an instant reboot.
pub fn setup(log: &mut Log) {
    let init = rustix::process::getpid().is_init();
    if init && statat(rustix::fs::CWD, c"/proc/self", AtFlags::empty()).is_err() {
        let [proc, ..] = &API_FILESYSTEMS;
        mount_missing(proc, log);
    }
    let machine = init && crate::leftover::stat_of(2).is_some_and(|s| s.ppid == 0 && s.kthread);
    MACHINE.store(if machine { 2 } else { 1 }, Ordering::Relaxed);
    if !machine {
        return;
    }
    for api in &API_FILESYSTEMS {
        mount_missing(api, log);
    }
    console();
    let _ = rustix::system::reboot(rustix::system::RebootCommand::CadOff);
}

/// What process 1 of a machine mounts when it is missing, in order:
/// where, its parent (to tell a mount point), type (its source too), options.
type Api = (&'static CStr, &'static CStr, &'static CStr, Option<&'static CStr>);
const API_FILESYSTEMS: [Api; 5] = [
    (c"/proc", c"/", c"proc", None),
    (c"/sys", c"/", c"sysfs", None),
    (c"/dev", c"/", c"devtmpfs", Some(c"mode=0755")),
    (c"/run", c"/", c"tmpfs", Some(c"mode=0755")),
    (c"/sys/fs/cgroup", c"/sys", c"cgroup2", None),
];

/// Mounts `fs` on `dir` unless something is mounted there already (its
/// device differs from its parent's). Failures are logged: the services
/// that need it will say what is wrong.
fn mount_missing(&(dir, parent, fs, data): &Api, log: &mut Log) {
    let dev = |p: &CStr| statat(rustix::fs::CWD, p, AtFlags::empty()).ok().map(|st| st.st_dev);
    if dev(dir).is_some_and(|d| Some(d) != dev(parent)) {
        return;
    }
    let _ = rustix::fs::mkdir(dir, Mode::from_bits_truncate(0o755));
    let nodev = if fs == c"devtmpfs" { MountFlags::empty() } else { MountFlags::NODEV };
    if let Err(e) = mount(fs, dir, fs, MountFlags::NOSUID | MountFlags::NOEXEC | nodev, data) {
        log.error(|l| {
            l.s(b"cannot mount ").s(fs.to_bytes()).s(b" on ").s(dir.to_bytes()).s(b": ").s(crate::sys::strerror(e));
        });
    }
}

/// Opens `/dev/console` on descriptors 0, 1 and 2 where they are closed:
/// the kernel leaves them closed when the initramfs has no console node.
fn console() {
    let closed = |fd| rustix::io::fcntl_getfd(crate::sys::borrow(fd)).is_err();
    if !(0..=2).any(closed) {
        return;
    }
    let Ok(con) = rustix::fs::open(c"/dev/console", OFlags::RDWR | OFlags::NOCTTY, Mode::empty()) else {
        return;
    };
    for fd in 0..=2 {
        if closed(fd) {
            let _ = crate::sys::dup_to(rustix::fd::AsFd::as_fd(&con), fd);
        }
    }
    if rustix::fd::AsRawFd::as_raw_fd(&con) <= 2 {
        // It took one of the numbers itself: keep it there.
        core::mem::forget(con);
    }
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
