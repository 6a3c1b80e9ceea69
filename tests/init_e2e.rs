//! going under a real init (issue 7): busybox-static's `init` runs as PID 1
//! of a new PID and mount namespace and starts going from an `/etc/inittab`
//! bind-mounted in that namespace only:
//!
//! ```text
//! ::respawn:GOING -d DIR -s SOCK
//! ```
//!
//! Services come up; orphans re-parented to going are reaped; going is
//! SIGKILLed, init respawns it, and every service runs again exactly once
//! within 2 s (the old instances and their grandchildren gone); killing the
//! namespace's init from outside leaves nothing behind.
//!
//! Every service program is a symlink to `sleep` under the test's temp dir,
//! so a process is recognised by its first argument, and the temp dir's
//! unique path is the marker of everything this test started.
//!
//! Skipped, saying why, when not root or `unshare` or a static busybox is
//! missing.

mod common;
mod extra;
use common::*;
use extra::*;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A generous bound for slow steps (namespace set-up, first start).
const LONG: Duration = Duration::from_secs(15);

/// Whether an ELF file has no program interpreter (is statically linked).
fn static_elf(path: &Path) -> bool {
    let Ok(b) = fs::read(path) else { return false };
    if b.len() < 64 || &b[..4] != b"\x7fELF" || b[4] != 2 {
        return false;
    }
    let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(b[32..40].try_into().unwrap()) as usize;
    let (size, count) = (u16_at(54), u16_at(56));
    (0..count).all(|i| {
        let o = phoff + i * size;
        o + 4 <= b.len() && u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) != 3 // PT_INTERP
    })
}

/// The static busybox to run as init, or why there is none.
fn busybox() -> Result<PathBuf, String> {
    let found = Command::new("sh").arg("-c").arg("command -v busybox").output().map_err(|e| e.to_string())?;
    let path = PathBuf::from(String::from_utf8_lossy(&found.stdout).trim());
    if !found.status.success() || !path.is_absolute() {
        return Err("busybox is not installed (apt-get install busybox-static)".into());
    }
    let path = fs::canonicalize(&path).map_err(|e| e.to_string())?;
    if !static_elf(&path) {
        return Err(format!("{} is not statically linked (apt-get install busybox-static)", path.display()));
    }
    Ok(path)
}

/// Every process on the machine: (pid, argv).
fn processes() -> Vec<(u32, Vec<String>)> {
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .map(|pid| (pid, cmdline(pid)))
        .collect()
}

/// Live (not zombie) processes whose program is `prog`.
fn running_as(prog: &Path) -> Vec<u32> {
    let prog = prog.to_str().unwrap();
    processes()
        .into_iter()
        .filter(|(p, argv)| argv.first().is_some_and(|a| a == prog) && alive(*p))
        .map(|(p, _)| p)
        .collect()
}

/// PID and every process below it.
fn descendants(pid: u32) -> Vec<u32> {
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        all.extend(children(all[i]));
        i += 1;
    }
    all
}

/// The namespace: unshare (with `--kill-child`) and, once known, its init.
/// Dropping it kills the init from outside, which ends every process of
/// the namespace, and waits for unshare.
struct Namespace {
    unshare: Child,
}

impl Namespace {
    /// The namespace's PID 1, as seen from here: unshare's only child.
    fn init(&self) -> Option<u32> {
        children(self.unshare.id()).first().copied()
    }

    fn teardown(&mut self) -> bool {
        if let Some(init) = self.init() {
            signal(init, "KILL");
        }
        let deadline = Instant::now() + LONG;
        while Instant::now() < deadline {
            if self.unshare.try_wait().unwrap().is_some() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.unshare.kill();
        let _ = self.unshare.wait();
        false
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        if self.unshare.try_wait().ok().flatten().is_none() {
            self.teardown();
        }
    }
}

/// How many live processes run each program.
fn counts(progs: &[PathBuf]) -> Vec<usize> {
    progs.iter().map(|p| running_as(p).len()).collect()
}

#[test]
fn busybox_init_respawns_going_and_each_service_runs_once_again() {
    let test = "busybox_init_respawns_going_and_each_service_runs_once_again";
    if !is_root() {
        skip(test, "needs root (PID and mount namespaces, bind mounts)");
        return;
    }
    if !have("unshare") {
        skip(test, "unshare is not installed (util-linux)");
        return;
    }
    let bb = match busybox() {
        Ok(p) => p,
        Err(why) => {
            skip(test, &why);
            return;
        }
    };
    let t = Tmp::new("init_e2e");
    let marker = t.path.to_str().unwrap().to_string();
    let bin = t.file("bin");
    fs::create_dir_all(&bin).unwrap();
    let prog = |name: &str| bin.join(format!("svc-{name}"));
    for name in ["a", "b", "fam", "kid", "parent", "orphan"] {
        symlink("/bin/sleep", prog(name)).unwrap();
    }
    let p = |name: &str| prog(name).to_str().unwrap().to_string();
    t.write("a", &format!("cmd={} 100000\n", p("a")));
    t.write("b", &format!("cmd={} 100000\n", p("b")));
    // A grandchild in the service's process group: it outlives going's
    // SIGKILL (no parent-death signal of its own) until the next going
    // kills the leftovers.
    t.write("fam", &format!("cmd=/bin/sh -c \"{} 100000 & exec {} 100000\"\n", p("kid"), p("fam")));
    // A double fork: the orphan is re-parented to going and must be reaped.
    t.write("parent", &format!("cmd=/bin/sh -c \"({} 2 &); exec {} 100000\"\n", p("orphan"), p("parent")));
    let services: Vec<PathBuf> = ["a", "b", "fam", "kid", "parent"].iter().map(|n| prog(n)).collect();

    let etc = t.file("etc");
    fs::create_dir_all(&etc).unwrap();
    let (conf, sock) = (t.conf_str(), t.sock().to_str().unwrap().to_string());
    let going = going_argv().join(" ");
    fs::write(etc.join("inittab"), format!("::respawn:{going} -d {conf} -s {sock}\n")).unwrap();
    // The host may have no /etc/inittab to bind over: then the namespace's
    // /etc is a directory holding only the inittab.
    let script = "if [ -e /etc/inittab ]; then mount --bind \"$1/inittab\" /etc/inittab; \
                  else mount --bind \"$1\" /etc; fi && exec \"$2\" init";
    let log = fs::File::create(t.file("going.log")).unwrap();
    let unshare = Command::new("unshare")
        .args(["--pid", "--fork", "--kill-child", "--mount-proc", "--", "/bin/sh", "-c", script, "sh"])
        .arg(&etc)
        .arg(&bb)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut ns = Namespace { unshare };
    let log = || read(&t.file("going.log"));
    let going_pids = || {
        processes()
            .into_iter()
            .filter(|(p, argv)| is_going_argv(argv) && argv.contains(&conf) && alive(*p))
            .map(|(p, _)| p)
            .collect::<Vec<u32>>()
    };

    // Up: init, one going, each service once.
    assert!(wait_until(LONG, || ns.init().is_some()), "no init; log:\n{}", log());
    let init = ns.init().unwrap();
    assert!(
        wait_until(LONG, || going_pids().len() == 1 && counts(&services).iter().all(|&c| c == 1)),
        "services did not come up: {:?}; log:\n{}",
        counts(&services),
        log()
    );
    let going = going_pids()[0];
    assert!(descendants(init).contains(&going), "going {going} is not below init {init}");
    assert_eq!(status_field(going, "NSpid").split_whitespace().count(), 2, "going is not in a child PID namespace");

    // The double-forked orphan is going's child now, and is reaped when it
    // exits: no zombie anywhere in the namespace.
    // (qemu-user 7.2 answers PR_SET_CHILD_SUBREAPER with EINVAL: there the
    // orphan goes to init, which reaps it.)
    let orphan = prog("orphan");
    let test = "busybox_init_respawns_going_and_each_service_runs_once_again";
    assert!(
        emulator_lacks(test, "PR_SET_CHILD_SUBREAPER")
            || wait_until(LONG, || running_as(&orphan).iter().any(|&o| stat(o).is_some_and(|s| s.ppid == going))),
        "the orphan was not re-parented to going; log:\n{}",
        log()
    );
    assert!(wait_until(LONG, || running_as(&orphan).is_empty()), "the orphan never exited");
    let no_zombies = || descendants(init).iter().all(|&p| stat(p).is_none_or(|s| s.state != 'Z'));
    assert!(wait_until(T, no_zombies), "zombies in the namespace: {:?}", descendants(init));

    // going is SIGKILLed; init respawns it; each service runs exactly once
    // again, never twice at a time, within 2 s.
    let old: Vec<Vec<u32>> = services.iter().map(|s| running_as(s)).collect();
    let killed = Instant::now();
    signal(going, "KILL");
    let mut most = vec![0; services.len()];
    let back = wait_until(LONG, || {
        let now: Vec<Vec<u32>> = services.iter().map(|s| running_as(s)).collect();
        for (m, pids) in most.iter_mut().zip(&now) {
            let fresh = pids.iter().filter(|p| !old.iter().flatten().any(|o| o == *p)).count();
            *m = (*m).max(fresh);
        }
        let gs = going_pids();
        gs.len() == 1 && gs[0] != going && now.iter().zip(&old).all(|(n, o)| n.len() == 1 && n[0] != o[0])
    });
    let took = killed.elapsed();
    assert!(back, "services did not come back once each: {:?}; log:\n{}", counts(&services), log());
    eprintln!("init_e2e: from going's SIGKILL to every service running again: {took:?}");
    // Under qemu-user 7.2 going is no subreaper: init itself reaped the
    // orphan just before the kill, and busybox init pauses a second after
    // each round of reaping, so it respawns going one or two seconds later.
    let bound = Duration::from_secs(if emulator().is_some() { 4 } else { 2 });
    assert!(took <= bound, "services took {took:?} to come back");
    assert!(most.iter().all(|&m| m == 1), "a service ran twice at once: {most:?}");
    // The old instances and the grandchild are gone, not just replaced.
    for pid in old.iter().flatten() {
        assert!(wait_dead(*pid), "old process {pid} survived; log:\n{}", log());
    }
    // Found by SOCKET.pids, or with cgroup2 in the cgroups it left.
    let swept =
        |l: &str| l.contains("leftover processes of a previous going") || l.contains("that a previous going left");
    assert!(swept(&log()), "log:\n{}", log());
    // And it stays that way.
    let changed = wait_until(Duration::from_millis(1500), || counts(&services).iter().any(|&c| c != 1));
    assert!(!changed, "services changed after the restart: {:?}; log:\n{}", counts(&services), log());
    assert!(wait_until(T, no_zombies), "zombies in the namespace after the restart");

    // Killing init from outside tears the namespace down: nothing with the
    // marker is left on the machine.
    assert!(ns.teardown(), "unshare did not exit after its init was killed");
    let left = || processes().into_iter().filter(|(_, argv)| argv.iter().any(|a| a.contains(&marker))).count();
    assert!(wait_until(T, || left() == 0), "{} processes left behind", left());
    assert!(!alive(init), "init {init} survived");
}
