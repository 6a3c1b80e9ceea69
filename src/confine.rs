//! Confinement from the service file (SPEC §13): `private_network`,
//! `read_only`, `private_tmp`, `no_new_privs` and `capabilities`. The
//! parent turns a config into a `Confine` (pure, a few bytes in the one
//! `Prepared`) and keeps the network namespaces of a few services for
//! their next run (`Networks`); the child, between clone and exec, makes
//! the system calls a `Confine` asks for and nothing else: it writes no
//! memory but its own stack. Without the keys every step below is one
//! test of a flag that is false, and `Networks` stays empty.
//!
//! The order in the child, and why (going(5) says it for users):
//! 1. `before_chroot`: a network namespace (a new one, or the one kept
//!    from the service's last run) with `lo` up; a mount namespace whose
//!    mounts are the host's slaves, so that nothing mounted for the
//!    service is seen outside it; the `read_only` paths;
//!    the private `/tmp`. All need CAP_SYS_ADMIN, so they come before
//!    the credentials change. They come before `chroot` too: the
//!    propagation change needs the real `/`, a mount point (a `chroot`
//!    directory need not be one); `read_only` paths are host paths, as
//!    `chroot` is, so `read_only=/srv/jail` with `chroot=/srv/jail`
//!    makes the whole new root read-only (`chroot` enters the mount on
//!    top of it); and the private `/tmp` goes on the service's `/tmp`,
//!    `CHROOT/tmp` (the parent writes that path).
//! 2. `chroot`, then `chdir` (spawn.rs): a `cwd` under the new mounts is
//!    entered in them.
//! 3. `before_ids`: `no_new_privs`; the bounding set cut to the wanted
//!    capabilities while CAP_SETPCAP is still effective; and the
//!    permitted set kept through `setuid` (PR_SET_KEEPCAPS, cleared by
//!    exec).
//! 4. groups, gid, uid (spawn.rs); `setuid` away from 0 clears the
//!    effective set, not the permitted one.
//! 5. `after_ids`: permitted, effective and inheritable set to exactly the
//!    wanted ones, then the ambient set raised to them when the service
//!    is not root: exec keeps ambient capabilities of a program without
//!    file capabilities; for root it recomputes them from the bounding
//!    and inheritable sets anyway.

use crate::caps;
use crate::config::{Config, names_blank};
use crate::fmt::Line;
use crate::limits::{MAX_NAME, MAX_NETWORKS};
use crate::sys;
use core::ffi::CStr;
use heapless::Vec;
use rustix::fd::{AsRawFd, OwnedFd};
use rustix::fs::{Mode, OFlags, StatVfsMountFlags, open, statvfs};
use rustix::io::Errno;
use rustix::mount::{MountFlags, MountPropagationFlags, mount, mount_bind_recursive, mount_change, mount_remount};
use rustix::thread::{
    CapabilitySet, CapabilitySets, LinkNameSpaceType, UnshareFlags, clear_ambient_capability_set,
    configure_capability_in_ambient_set, move_into_link_name_space, remove_capability_from_bounding_set,
    set_capabilities, set_keep_capabilities, set_no_new_privs,
};

/// What a service's confinement asks of its child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Confine {
    no_new_privs: bool,
    /// `capabilities=`: the only ones the service has.
    caps: Option<u64>,
    network: bool,
    /// The namespace the network is joined in, kept from an earlier run;
    /// `None` makes a new one.
    pub join: Option<i32>,
    /// Where the `read_only` paths are in the strings of `Prepared`:
    /// from, to; each path ends in a NUL. Empty without the key.
    pub read_only: (u16, u16),
    /// Where the path of the private `/tmp` is in those strings.
    pub tmp: Option<u16>,
}

impl Confine {
    /// No confinement: a service without the keys.
    pub const NONE: Confine =
        Confine { no_new_privs: false, caps: None, network: false, join: None, read_only: (0, 0), tmp: None };

    /// The keys of `c` but the paths, which the caller copies into its
    /// strings.
    pub fn new(c: &Config) -> Confine {
        Confine { no_new_privs: c.no_new_privs, caps: c.capabilities, network: c.private_network, ..Confine::NONE }
    }

    /// A mount namespace of its own: `read_only` or `private_tmp`.
    fn mounts(&self) -> bool {
        self.read_only.0 != self.read_only.1 || self.tmp.is_some()
    }
}

/// Private networks kept from one run of a service to the next, by
/// service name: a respawn joins its namespace (`setns(2)`, microseconds)
/// where making one costs about half a millisecond, and tearing the last
/// one down as much again. A namespace is kept while its service's file
/// is unchanged; past `MAX_NETWORKS` services, each start makes a new one.
pub struct Networks {
    held: Vec<(Vec<u8, MAX_NAME>, OwnedFd), MAX_NETWORKS>,
}

impl Networks {
    pub const fn new() -> Self {
        Networks { held: Vec::new() }
    }

    /// The namespace kept for service `name`, to join at its next start.
    pub fn of(&self, name: &[u8]) -> Option<i32> {
        self.held.iter().find(|(n, _)| n.as_slice() == name).map(|(_, fd)| fd.as_raw_fd())
    }

    /// Keeps the network namespace of `pid`, the process just started
    /// for service `name`, unless one is kept for it or there is no room.
    /// A process that already exited has none to keep.
    pub fn keep(&mut self, name: &[u8], pid: i32) {
        if self.held.is_full() || self.of(name).is_some() {
            return;
        }
        let mut l = Line::new();
        l.s(b"/proc/").u(pid as u64).s(b"/ns/net\0");
        let Ok(path) = CStr::from_bytes_with_nul(l.bytes()) else { return };
        let (Ok(fd), Ok(n)) = (open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()), Vec::from_slice(name))
        else {
            return;
        };
        // Only a namespace of its own: where the child may not have made
        // it yet (a fork-like clone, as under an emulator), going's own
        // would be kept and joined by every later start.
        let id = |fd: &OwnedFd| rustix::fs::fstat(fd).ok().map(|st| (st.st_dev, st.st_ino));
        let own = open(c"/proc/self/ns/net", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty());
        if own.is_ok_and(|own| id(&own) == id(&fd)) {
            return;
        }
        let _ = self.held.push((n, fd));
    }

    /// Lets service `name`'s namespace go: its file changed or went.
    pub fn release(&mut self, name: &[u8]) {
        self.held.retain(|(n, _)| n.as_slice() != name);
    }
}

/// Which step of the confinement failed in a child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Network,
    Loopback,
    MountNs,
    /// The `read_only` path with this index.
    ReadOnly(u16),
    Tmp,
    NoNewPrivs,
    Bounding,
    KeepCaps,
    Caps,
    /// Raising this capability in the ambient set.
    Ambient(u8),
}

impl Step {
    /// The step as two numbers for the exec-error pipe.
    pub fn code(self) -> (u8, u16) {
        match self {
            Step::Network => (0, 0),
            Step::Loopback => (1, 0),
            Step::MountNs => (2, 0),
            Step::ReadOnly(i) => (3, i),
            Step::Tmp => (4, 0),
            Step::NoNewPrivs => (5, 0),
            Step::Bounding => (6, 0),
            Step::KeepCaps => (7, 0),
            Step::Caps => (8, 0),
            Step::Ambient(n) => (9, u16::from(n)),
        }
    }

    pub fn from_code(code: u8, arg: u16) -> Option<Step> {
        Some(match code {
            0 => Step::Network,
            1 => Step::Loopback,
            2 => Step::MountNs,
            3 => Step::ReadOnly(arg),
            4 => Step::Tmp,
            5 => Step::NoNewPrivs,
            6 => Step::Bounding,
            7 => Step::KeepCaps,
            8 => Step::Caps,
            9 => Step::Ambient(u8::try_from(arg).ok().filter(|&n| n < 64)?),
            _ => return None,
        })
    }
}

/// Names a failed step after "cannot ", with the `read_only=` value of
/// the config for the path at fault.
pub fn describe(l: &mut Line, step: Step, read_only: Option<&[u8]>) {
    let last: &[u8] = match step {
        Step::Network => b"create a private network",
        Step::Loopback => b"bring up lo in the private network",
        Step::MountNs => b"create a private mount namespace",
        Step::ReadOnly(i) => {
            let path = read_only.and_then(|v| names_blank(v).nth(usize::from(i)));
            l.s(b"make ").masked(path.unwrap_or(b"?"));
            b" read-only"
        }
        Step::Tmp => b"mount a private /tmp",
        Step::NoNewPrivs => b"set no_new_privs",
        Step::Bounding => b"drop capabilities from the bounding set",
        Step::KeepCaps => b"keep capabilities across setuid",
        Step::Caps => b"set capabilities",
        Step::Ambient(n) => {
            l.s(b"raise the ambient capability cap_");
            caps::name(u32::from(n)).unwrap_or(b"?")
        }
    };
    l.s(last);
}

type Done = Result<(), (Step, Errno)>;

fn at(step: Step) -> impl Fn(Errno) -> (Step, Errno) {
    move |e| (step, e)
}

/// Child, before `chroot`: the namespaces and the mounts, the paths of
/// the latter found in `strings`.
pub fn before_chroot(c: &Confine, strings: &[u8]) -> Done {
    if c.network {
        let made = match c.join {
            Some(fd) => move_into_link_name_space(sys::borrow(fd), Some(LinkNameSpaceType::Network)),
            None => sys::unshare(UnshareFlags::NEWNET),
        };
        made.map_err(at(Step::Network))?;
        // A new network namespace has `lo` alone, and down; a kept one
        // has it as the last run left it.
        sys::loopback_up().map_err(at(Step::Loopback))?;
    }
    if !c.mounts() {
        return Ok(());
    }
    sys::unshare(UnshareFlags::NEWNS).map_err(at(Step::MountNs))?;
    // Slaves (MS_SLAVE), not private: what the host mounts or unmounts
    // later still reaches the service (an unmounted disk is not kept busy
    // by it), and nothing mounted here goes back.
    let slaves = MountPropagationFlags::DOWNSTREAM | MountPropagationFlags::REC;
    mount_change(c"/", slaves).map_err(at(Step::MountNs))?;
    let (from, to) = (usize::from(c.read_only.0), usize::from(c.read_only.1));
    let paths = strings.get(from..to).unwrap_or(&[]).split_inclusive(|&b| b == 0);
    for (i, path) in paths.filter_map(|p| CStr::from_bytes_with_nul(p).ok()).enumerate() {
        read_only(path).map_err(at(Step::ReadOnly(i as u16)))?;
    }
    if let Some(tmp) = c.tmp.and_then(|at| cstr(strings, at)) {
        let flags = MountFlags::NOSUID | MountFlags::NODEV;
        mount(c"tmpfs", tmp, c"tmpfs", flags, c"mode=1777").map_err(at(Step::Tmp))?;
    }
    Ok(())
}

fn cstr(strings: &[u8], at: u16) -> Option<&CStr> {
    CStr::from_bytes_until_nul(strings.get(usize::from(at)..)?).ok()
}

/// Makes `path`, and not what is mounted below it, read-only in this
/// mount namespace: a remount of the mount at `path` with `MS_RDONLY`,
/// after a bind mount of `path` onto itself when it is no mount point
/// (`EINVAL`; recursive, so the mounts below stay visible). A mount
/// point is remounted as it is: a bind stacked on `/` is not what `/`
/// leads to, but `/etc/..` reaches it, and it would be writable. A bind
/// remount sets every per-mount flag at once, so the `nosuid`, `nodev`
/// and `noexec` that the path had are passed again, or the service
/// would lose them.
fn read_only(path: &CStr) -> Result<(), Errno> {
    let had = statvfs(path)?.f_flag;
    let mut flags = MountFlags::BIND | MountFlags::RDONLY;
    for (st, ms) in [
        (StatVfsMountFlags::NOSUID, MountFlags::NOSUID),
        (StatVfsMountFlags::NODEV, MountFlags::NODEV),
        (StatVfsMountFlags::NOEXEC, MountFlags::NOEXEC),
    ] {
        if had.contains(st) {
            flags |= ms;
        }
    }
    match mount_remount(path, flags, c"") {
        Err(Errno::INVAL) => {}
        done => return done,
    }
    mount_bind_recursive(path, path)?;
    mount_remount(path, flags, c"")
}

fn one(n: u32) -> CapabilitySet {
    CapabilitySet::from_bits_retain(1 << n)
}

/// Child, before the credentials change: `no_new_privs`, the bounding
/// set, and the permitted set kept through `setuid`.
pub fn before_ids(c: &Confine) -> Done {
    if c.no_new_privs {
        set_no_new_privs(true).map_err(at(Step::NoNewPrivs))?;
    }
    let Some(keep) = c.caps else { return Ok(()) };
    for n in 0..64 {
        if keep & (1 << n) != 0 {
            continue;
        }
        match remove_capability_from_bounding_set(one(n)) {
            Ok(()) => {}
            // Past the kernel's last capability.
            Err(Errno::INVAL) => break,
            Err(e) => return Err((Step::Bounding, e)),
        }
    }
    set_keep_capabilities(true).map_err(at(Step::KeepCaps))
}

/// Child, after the credentials change: exactly the wanted capabilities
/// in the permitted, effective and inheritable sets, and in the ambient
/// set unless the service is root.
pub fn after_ids(c: &Confine) -> Done {
    let Some(want) = c.caps else { return Ok(()) };
    let set = CapabilitySet::from_bits_retain(want);
    let sets = CapabilitySets { effective: set, permitted: set, inheritable: set };
    set_capabilities(None, sets).map_err(at(Step::Caps))?;
    if rustix::process::getuid().is_root() {
        // Root gets its capabilities from the other sets at exec; an
        // ambient set inherited from going's parent goes. (Before Linux
        // 4.3 there is none, and the call fails.)
        let _ = clear_ambient_capability_set();
        return Ok(());
    }
    for n in 0..64 {
        if want & (1 << n) != 0 {
            configure_capability_in_ambient_set(one(n), true).map_err(at(Step::Ambient(n as u8)))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

    #[test]
    fn absent_keys_ask_for_nothing() {
        let c = parse(b"cmd=x\nuser=nobody").unwrap();
        assert_eq!(Confine::new(&c), Confine::NONE);
    }

    #[test]
    fn keys() {
        let c = parse(b"cmd=x\nno_new_privs=yes\ncapabilities=net_bind_service\nprivate_network=yes").unwrap();
        let k = Confine::new(&c);
        assert!(k.no_new_privs && k.network && !k.mounts());
        assert_eq!(k.caps, Some(1 << 10));
        assert!(Confine { read_only: (4, 9), ..k }.mounts());
        assert!(Confine { tmp: Some(0), ..k }.mounts());
        assert_eq!(Confine::new(&parse(b"cmd=x\ncapabilities=").unwrap()).caps, Some(0));
    }

    #[test]
    fn codes_round_trip() {
        let steps = [
            Step::Network,
            Step::Loopback,
            Step::MountNs,
            Step::ReadOnly(0),
            Step::ReadOnly(2000),
            Step::Tmp,
            Step::NoNewPrivs,
            Step::Bounding,
            Step::KeepCaps,
            Step::Caps,
            Step::Ambient(10),
            Step::Ambient(63),
        ];
        for s in steps {
            let (code, arg) = s.code();
            assert_eq!(Step::from_code(code, arg), Some(s));
        }
        assert_eq!(Step::from_code(9, 64), None);
        assert_eq!(Step::from_code(10, 0), None);
    }

    #[test]
    fn descriptions() {
        let text = |s, ro| {
            let mut l = Line::new();
            describe(&mut l, s, ro);
            String::from_utf8_lossy(l.bytes()).into_owned()
        };
        assert_eq!(text(Step::ReadOnly(1), Some(&b"/usr  /srv/www"[..])), "make /srv/www read-only");
        assert_eq!(text(Step::ReadOnly(5), Some(&b"/usr"[..])), "make ? read-only");
        assert_eq!(text(Step::Ambient(10), None), "raise the ambient capability cap_net_bind_service");
        assert_eq!(text(Step::Caps, None), "set capabilities");
    }
}
