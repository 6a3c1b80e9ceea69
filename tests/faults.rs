//! Fault injection (issue 7), black-box: each test breaks one thing going
//! depends on and shows that going stays up, the other services keep
//! running, the event is logged once, and going recovers when the fault
//! clears.
//!
//! Faults are staged without touching the machine: an unprivileged uid of
//! the test's own under a tiny `RLIMIT_NPROC`, `RLIMIT_NOFILE` lowered for
//! going alone, a chroot without `/dev/null`, private mount namespaces for
//! `/dev/log` and a read-only config directory, a time namespace for the
//! clocks. A test that cannot stage its fault here says why and passes.
//! (A stderr pipe nobody reads is `logging.rs`'s; the wall clock is never
//! stepped, see `clocks_far_from_the_wall_clock_change_nothing`.)
//!
//! "Logged once" is checked last in each test (after going was shown to
//! survive and recover), so a failure there names only the repetition.

mod common;
mod extra;
use common::*;
use extra::*;
use std::fs;
use std::io::ErrorKind;
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long a fault is held to tell "logged once" from "logged every
/// retry" (retries come every second).
const HOLD: Duration = Duration::from_millis(3500);

/// Going is still running: panics with its log otherwise.
fn alive_going(g: &mut Going) {
    if let Some(st) = g.wait_exit(Duration::ZERO) {
        panic!("going exited ({st}); log:\n{}", g.log());
    }
}

/// Lines of going's log holding `s`.
fn lines_with(g: &Going, s: &str) -> Vec<String> {
    g.log().lines().filter(|l| l.contains(s)).map(str::to_string).collect()
}

/// What went wrong with "logged once", reported together at the end.
#[derive(Default)]
struct Once(Vec<String>);

impl Once {
    /// The event `s` must have been logged exactly once.
    fn check(&mut self, g: &Going, s: &str) {
        let l = lines_with(g, s);
        if l.len() != 1 {
            let first: Vec<&String> = l.iter().take(3).collect();
            self.0.push(format!("{s:?} logged {} times, not once: {first:?}", l.len()));
        }
    }

    fn assert_none(self) {
        assert!(self.0.is_empty(), "going survived and recovered, but:\n  {}", self.0.join("\n  "));
    }
}

/// Whether `sh -c SCRIPT` succeeds (quietly).
fn sh_ok(script: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// True when the test runs as root and has every program; else skips.
fn root_with(test: &str, progs: &[&str]) -> bool {
    if !is_root() {
        skip(test, "needs root");
        return false;
    }
    if let Some(p) = progs.iter().find(|p| !have(p)) {
        skip(test, &format!("{p} is not installed"));
        return false;
    }
    true
}

/// Real uids of every process on the machine.
fn uids_in_use() -> Vec<u32> {
    let mut v = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>()
            && let Some(uid) = status_field(pid, "Uid").split_whitespace().next().and_then(|u| u.parse().ok())
        {
            v.push(uid);
        }
    }
    v
}

/// A uid no process uses and no passwd entry names: `RLIMIT_NPROC` then
/// counts going and its services only.
fn unused_uid() -> u32 {
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    let used = uids_in_use();
    (0..1000)
        .map(|i| 40_000 + (std::process::id() + i * 7919) % 20_000)
        .find(|u| !used.contains(u) && !passwd.lines().any(|l| l.split(':').nth(2) == Some(&u.to_string())))
        .expect("a free uid")
}

/// Waits until going's socket answers `status`.
fn answers(t: &Tmp) {
    wait_socket(t);
    let out = client(t, "status", &["-m"]);
    assert_eq!(out.code, 0, "status failed: {out:?}");
}

/// Waits until PID runs `argv` and returns it.
fn running(pid: u32, argv: &[&str]) -> u32 {
    expect_cmdline(pid, argv);
    pid
}

/// Starts going on TMP as an unused uid that may have at most `nproc`
/// processes (`RLIMIT_NPROC`); returns it and the uid.
fn going_at_nproc(t: &Tmp, nproc: u32) -> (Going, u32) {
    let uid = unused_uid();
    std::os::unix::fs::chown(&t.path, Some(uid), Some(uid)).unwrap();
    let prefix = format!(
        "exec setpriv --reuid={uid} --regid={uid} --clear-groups prlimit --nproc={nproc}:{nproc} -- \"$0\" -d \"$1\" -s \"$2\";"
    );
    // The uid runs a copy it can reach: the checkout may be in a 0700 directory.
    let bin = reachable_binary(t);
    (Going::start_bin(t, &bin, &prefix, &[]), uid)
}

#[test]
fn fork_failing_under_a_tiny_rlimit_nproc() {
    let test = "fork_failing_under_a_tiny_rlimit_nproc";
    if !root_with(test, &["setpriv", "prlimit"]) {
        return;
    }
    if emulated(test, "qemu-user starts a thread in each forked child, which RLIMIT_NPROC=3 refuses") {
        return;
    }
    let t = Tmp::new("fault_nproc");
    for name in ["a", "b", "c"] {
        t.write(name, &sleeper(1000));
    }
    // Three processes for the uid: going, a and b. Services start in name
    // order, so c is the one that cannot fork.
    let (mut g, uid) = going_at_nproc(&t, 3);
    let a = running(g.expect_started("a", 1), &["/bin/sleep", "1000"]);
    let b = running(g.expect_started("b", 1), &["/bin/sleep", "1000"]);
    let failed = "going: c: cannot fork: Resource temporarily unavailable; retrying in 1s";
    g.expect_log(failed);
    assert_eq!(status_field(g.pid(), "Uid").split_whitespace().next(), Some(uid.to_string().as_str()));

    // The fault holds: going answers, a and b keep running, c is not up.
    answers(&t);
    let changed = wait_until(HOLD, || g.starts("c") > 0 || !alive(a) || !alive(b));
    alive_going(&mut g);
    assert!(!changed && alive(a) && alive(b), "a or b died, or c started; log:\n{}", g.log());
    assert_ne!(row_of(&t, "c").unwrap().get("state"), "up");
    assert_eq!(g.starts("c"), 0);

    // The fault clears when a leaves: c starts within a retry.
    t.remove("a");
    assert!(wait_dead(a), "a was not stopped");
    running(g.expect_started("c", 1), &["/bin/sleep", "1000"]);
    expect_state(&t, "c", "up");
    assert!(alive(b));
    alive_going(&mut g);

    let mut once = Once::default();
    once.check(&g, "going: c: cannot fork: ");
    once.assert_none();
}

#[test]
fn descriptors_exhausted_by_services_recover_when_services_go() {
    let t = Tmp::new("fault_nofile_services");
    // Named to start first, before the descriptors run out.
    t.write("a", &sleeper(1000));
    let logged: Vec<String> = (1..=10).map(|i| format!("l{i:02}")).collect();
    for name in &logged {
        let file = t.file(&format!("{name}.log"));
        t.write(name, &format!("cmd=/bin/sleep 1000\nlog={}\n", file.display()));
    }
    // Each log=FILE service holds a pipe and its file (three descriptors):
    // ten of them cannot fit in 32 descriptors, but fit once those that
    // run are gone.
    // With cgroups (SPEC §11) going holds its subtree open and each spawn
    // opens its service's cgroup: two more.
    let limit = if cgroup2_mount().is_some() && is_root() { 34 } else { 32 };
    let mut g = Going::start_via(&t, &format!("ulimit -n {limit};"), &[]);
    let plain = running(g.expect_started("a", 1), &["/bin/sleep", "1000"]);
    let settled = |g: &Going, n: &str| g.starts(n) > 0 || g.count_log(&format!("going: {n}: cannot ")) > 0;
    assert!(wait_until(T, || logged.iter().all(|n| settled(&g, n))), "log:\n{}", g.log());
    // The first spawns' exec pipes close once they exec, which lets a few
    // more start: wait for 1.5 s without a start.
    let (mut starts, mut changed) = (g.count_log(": started, pid "), Instant::now());
    let steady = wait_until(2 * T, || {
        let now = g.count_log(": started, pid ");
        if now != starts {
            (starts, changed) = (now, Instant::now());
        }
        changed.elapsed() > Duration::from_millis(1500)
    });
    assert!(steady, "services kept starting; log:\n{}", g.log());
    let (up, down): (Vec<&String>, Vec<&String>) = logged.iter().partition(|n| g.starts(n) > 0);
    assert!(!down.is_empty(), "24 descriptors were enough for 10 pipes; log:\n{}", g.log());
    assert!(up.len() >= down.len(), "hardly anything started; log:\n{}", g.log());
    let up_pids: Vec<u32> = up.iter().map(|n| running(g.pid_of(n).unwrap(), &["/bin/sleep", "1000"])).collect();
    // Only the running services hold an output pipe; those that cannot
    // start hold nothing while they wait.
    // (Descriptors past the limit of 32 were inherited, not going's.)
    let pipes = fds(g.pid()).iter().filter(|(n, l)| *n < 32 && l.starts_with("pipe:")).count();
    assert_eq!(pipes, 2 * up.len(), "{} services up; going's descriptors: {:?}", up.len(), fds(g.pid()));

    // Going answers (a client needs a descriptor too) and nothing it runs
    // is disturbed while the fault holds.
    answers(&t);
    let changed = wait_until(HOLD, || {
        !alive(plain) || up_pids.iter().any(|&p| !alive(p)) || down.iter().any(|n| g.starts(n) > 0)
    });
    alive_going(&mut g);
    assert!(!changed, "a running service died or a failing one started; log:\n{}", g.log());

    // Two silent clients take what is left, the reserve included, so a new
    // file cannot be read when it arrives; it is read again once their
    // deadline frees the descriptors (its spawn then fails like the rest).
    let silent: Vec<UnixStream> = (0..2).map(|_| UnixStream::connect(t.file("sock")).unwrap()).collect();
    let held = wait_until(T, || fds(g.pid()).iter().filter(|(_, l)| l.starts_with("socket:")).count() >= 3);
    assert!(held, "going did not accept both clients; log:\n{}", g.log());
    // A logged service like the rest: its spawn needs as much as theirs.
    let late_log = t.file("late.log");
    t.write("late", &format!("cmd=/bin/sleep 1002\nlog={}\n", late_log.display()));
    g.expect_log("going: late: cannot ");
    drop(silent);

    // Removing the services that run frees their pipes: the rest start.
    for n in &up {
        t.remove(n);
    }
    for n in &down {
        running(g.expect_started(n, 1), &["/bin/sleep", "1000"]);
    }
    running(g.expect_started("late", 1), &["/bin/sleep", "1002"]);
    answers(&t);
    assert!(alive(plain));
    alive_going(&mut g);

    let mut once = Once::default();
    for n in &down {
        once.check(&g, &format!("going: {n}: cannot "));
    }
    let accepts = lines_with(&g, "cannot accept on the control socket");
    if accepts.len() > 1 {
        once.0.push(format!("the control socket's accept failure logged {} times: {:?}", accepts.len(), accepts));
    }
    once.assert_none();
}

/// The lowest descriptor number PID has free: with its soft
/// `RLIMIT_NOFILE` set there, every new descriptor fails with EMFILE.
fn lowest_free_fd(pid: u32) -> u32 {
    let used: Vec<u32> = fds(pid).into_iter().map(|(n, _)| n).collect();
    (0..).find(|n| !used.contains(n)).unwrap()
}

fn set_nofile(pid: u32, soft: &str) {
    let st = Command::new("prlimit").arg("--pid").arg(pid.to_string()).arg(format!("--nofile={soft}:")).status();
    assert!(st.is_ok_and(|s| s.success()), "prlimit --pid {pid} --nofile={soft}: failed");
}

#[test]
fn descriptors_exhausted_at_runtime_recover_when_the_limit_rises() {
    let test = "descriptors_exhausted_at_runtime_recover_when_the_limit_rises";
    if !have("prlimit") {
        skip(test, "prlimit is not installed");
        return;
    }
    let t = Tmp::new("fault_nofile_runtime");
    let out = t.file("out.log");
    t.write("steady", &sleeper(1000));
    t.write("victim", &sleeper(1001));
    t.write("out", &format!("cmd=/bin/sh -c 'while :; do echo tick; sleep 0.1; done'\nlog={}\n", out.display()));
    let mut g = Going::start(&t);
    let steady = running(g.expect_started("steady", 1), &["/bin/sleep", "1000"]);
    let victim = running(g.expect_started("victim", 1), &["/bin/sleep", "1001"]);
    g.expect_started("out", 1);
    answers(&t);
    // Settled: the output file is open and no spawn is under way.
    assert!(wait_file(&out, T, |b| b.len() > 20));
    let soft = fs::read_to_string(format!("/proc/{}/limits", g.pid()))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3).map(str::to_string))
        .unwrap();
    let limit = lowest_free_fd(g.pid());
    // going's reserve (descriptors of "/") must sit below the limit to be
    // of use, as it does when descriptors run out by number.
    let reserve: Vec<u32> = fds(g.pid()).into_iter().filter(|(_, l)| l == "/").map(|(n, _)| n).collect();
    assert!(reserve.len() == 2 && reserve.iter().all(|&n| n < limit), "reserve {reserve:?}, limit {limit}");
    set_nofile(g.pid(), &limit.to_string());

    // A service dies and cannot be restarted.
    signal(victim, "KILL");
    // EMFILE, as musl words it.
    let pipe_failed = "going: victim: cannot create a pipe: No file descriptors available; retrying in 1s";
    let accept_failed = "going: cannot accept on the control socket: No file descriptors available; pausing it for 1s";
    g.expect_log(pipe_failed);
    // A client is still answered: going keeps a descriptor in reserve.
    let asked = client(&t, "status", &[]);
    assert_eq!(asked.code, 0, "{asked:?}; log:\n{}", g.log());
    assert!(asked.stdout.contains("steady"), "{asked:?}");
    // A silent client holds the reserve until its deadline; one more waits
    // in the backlog meanwhile, and is answered once the first is dropped.
    let silent = UnixStream::connect(t.file("sock")).unwrap();
    let asked = thread::scope(|s| {
        let asked = s.spawn(|| client(&t, "status", &[]));
        g.expect_log(accept_failed);
        let size = fs::metadata(&out).unwrap().len();
        // Meanwhile the other services run and their output is captured.
        let changed = wait_until(Duration::from_millis(1500), || !alive(steady) || g.starts("victim") > 1);
        assert!(!changed, "steady died or victim started; log:\n{}", g.log());
        assert!(fs::metadata(&out).unwrap().len() > size, "output capture stopped");
        asked.join().unwrap()
    });
    assert_eq!(asked.code, 0, "{asked:?}");
    assert!(asked.stdout.contains("steady"), "{asked:?}");
    drop(silent);
    assert_eq!(g.starts("victim"), 1, "victim started while descriptors ran out; log:\n{}", g.log());
    // The fault clears.
    set_nofile(g.pid(), &soft);
    running(g.expect_started("victim", 2), &["/bin/sleep", "1001"]);
    answers(&t);
    alive_going(&mut g);

    let mut once = Once::default();
    once.check(&g, "going: victim: cannot create a pipe: ");
    once.check(&g, "going: cannot accept on the control socket: ");
    once.assert_none();
}

#[test]
fn dev_null_missing_in_a_chroot() {
    let test = "dev_null_missing_in_a_chroot";
    if !root_with(test, &["chroot", "mknod"]) {
        return;
    }
    let bb = Path::new("/bin/busybox");
    if !bb.exists() || !static_elf(bb) {
        skip(test, "no static /bin/busybox to run inside the chroot");
        return;
    }
    // The temp dir is the new root: going.d is /going.d, the socket /sock.
    let t = Tmp::new("fault_devnull");
    fs::create_dir_all(t.file("bin")).unwrap();
    fs::copy(bb, t.file("bin/sleep")).unwrap();
    fs::copy(bin(), t.file("going")).unwrap();
    // An emulator (qemu-user's is static) goes into the chroot with going.
    let going = match emulator() {
        Some(emu) => {
            let out = Command::new("sh").args(["-c", "command -v \"$0\"", emu]).output().unwrap();
            fs::copy(String::from_utf8_lossy(&out.stdout).trim(), t.file("emulator")).unwrap();
            "/emulator /going"
        }
        None => "/going",
    };
    t.write("a", &sleeper(1000));
    t.write("b", &sleeper(1001));
    let prefix = format!("exec chroot \"${{2%/sock}}\" {going} -d /going.d -s /sock;");
    let mut g = Going::start_via(&t, &prefix, &[]);
    let failed = "going: a: cannot open /dev/null: No such file or directory; retrying in 1s";
    g.expect_log(failed);
    g.expect_log("going: b: cannot open /dev/null: ");
    assert_eq!(readlink(&format!("/proc/{}/root", g.pid())), t.path.to_str().unwrap());
    answers(&t);
    assert!(!wait_until(HOLD, || g.starts("a") + g.starts("b") > 0), "started without /dev/null");
    alive_going(&mut g);

    fs::create_dir_all(t.file("dev")).unwrap();
    assert!(sh_ok(&format!("mknod -m 666 {}/dev/null c 1 3", t.path.display())));
    running(g.expect_started("a", 1), &["/bin/sleep", "1000"]);
    running(g.expect_started("b", 1), &["/bin/sleep", "1001"]);
    expect_state(&t, "a", "up");
    alive_going(&mut g);

    let mut once = Once::default();
    once.check(&g, "going: a: cannot open /dev/null");
    once.check(&g, "going: b: cannot open /dev/null");
    once.assert_none();
}

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

fn can_unshare_mount() -> bool {
    sh_ok("unshare -m --propagation private /bin/sh -c 'mount -t tmpfs going-test /mnt'")
}

/// Datagrams waiting on `sock`, without blocking.
fn drain(sock: &UnixDatagram) -> Vec<String> {
    sock.set_nonblocking(true).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match sock.recv(&mut buf) {
            Ok(n) => got.push(String::from_utf8_lossy(&buf[..n]).into_owned()),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return got,
            Err(e) => panic!("recv: {e}"),
        }
    }
}

/// Asks for reloads every 300 ms until `sock` receives a going line or
/// `timeout` passes; returns the lines received.
fn reload_until_received(t: &Tmp, sock: &UnixDatagram, timeout: Duration) -> Vec<String> {
    let mut got = Vec::new();
    wait_until(timeout, || {
        assert_eq!(client(t, "reload", &[]).code, 0);
        thread::sleep(Duration::from_millis(300));
        got.extend(drain(sock));
        !got.is_empty()
    });
    got
}

#[test]
fn dev_log_absent_then_present() {
    let test = "dev_log_absent_then_present";
    if !root_with(test, &["unshare", "mknod"]) {
        return;
    }
    if !can_unshare_mount() {
        skip(test, "cannot make a private mount namespace here");
        return;
    }
    let t = Tmp::new("fault_devlog_absent");
    let path = t.file("syslog");
    t.write("a", &sleeper(1000));
    // /dev/log is a symlink to nothing: every connect fails.
    let mut g = Going::start_via(&t, &private_dev_log(&path), &[]);
    let a = running(g.expect_started("a", 1), &["/bin/sleep", "1000"]);
    answers(&t);
    for _ in 0..5 {
        assert_eq!(client(&t, "reload", &[]).code, 0);
    }
    g.expect_log_n("going: reloading ", 5);
    alive_going(&mut g);
    assert!(alive(a));

    // A syslog daemon appears: within the 10 s retry, lines reach it.
    let sock = UnixDatagram::bind(&path).unwrap();
    let started = Instant::now();
    let got = reload_until_received(&t, &sock, Duration::from_secs(15));
    assert!(!got.is_empty(), "nothing reached syslog within 15s; log:\n{}", g.log());
    let waited = started.elapsed();
    assert!(got[0].starts_with(&format!("<30>going[{}]: ", g.pid())), "{got:?}");
    assert!(waited < Duration::from_secs(12), "syslog picked up after {waited:?}");
    alive_going(&mut g);
    assert!(alive(a));
    // Each reload is one stderr line, however syslog fared.
    let asked = lines_with(&g, "going: reloading ").len();
    assert!(asked >= 6, "{asked} reload lines");
    assert!(lines_with(&g, "/dev/log").is_empty(), "log:\n{}", g.log());
}

#[test]
fn dev_log_refusing_never_blocks_going() {
    let test = "dev_log_refusing_never_blocks_going";
    if !root_with(test, &["unshare", "mknod"]) {
        return;
    }
    if !can_unshare_mount() {
        skip(test, "cannot make a private mount namespace here");
        return;
    }
    let t = Tmp::new("fault_devlog_refusing");
    let path = t.file("syslog");
    // A syslog daemon that never reads: its queue fills after a few lines.
    let sock = UnixDatagram::bind(&path).unwrap();
    t.write("a", &sleeper(1000));
    let mut g = Going::start_via(&t, &private_dev_log(&path), &[]);
    let a = running(g.expect_started("a", 1), &["/bin/sleep", "1000"]);
    answers(&t);
    // More lines than the queue holds (max_dgram_qlen, or the sender's
    // buffer: some 270 short datagrams).
    let qlen: usize =
        fs::read_to_string("/proc/sys/net/unix/max_dgram_qlen").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(10);
    let n = qlen.min(300) + 30;
    let before = g.count_log("going: reloading ");
    let flood = Instant::now();
    for _ in 0..n {
        assert_eq!(client(&t, "reload", &[]).code, 0);
    }
    g.expect_log_n("going: reloading ", before + n);
    assert!(flood.elapsed() < Duration::from_secs(20), "{n} reloads took {:?}", flood.elapsed());
    alive_going(&mut g);
    assert!(alive(a));
    let queued = drain(&sock);
    assert!(!queued.is_empty() && queued.len() < n, "{} of {n} lines were queued", queued.len());
    assert!(queued.iter().all(|l| l.starts_with(&format!("<30>going[{}]: ", g.pid()))), "{queued:?}");

    // Read again: the next line gets through at once.
    let got = reload_until_received(&t, &sock, Duration::from_secs(2));
    assert!(got.iter().any(|l| l.contains("reloading")), "{got:?}");

    // The daemon goes away (connection refused) and comes back: going
    // reconnects within its 10 s retry.
    drop(sock);
    for _ in 0..3 {
        assert_eq!(client(&t, "reload", &[]).code, 0);
    }
    fs::remove_file(&path).unwrap();
    let sock = UnixDatagram::bind(&path).unwrap();
    let got = reload_until_received(&t, &sock, Duration::from_secs(15));
    assert!(!got.is_empty(), "nothing reached the new syslog socket; log:\n{}", g.log());
    alive_going(&mut g);
    assert!(alive(a));
    // Every event is one stderr line: nothing repeated, nothing lost.
    let lines = g.log();
    let mut seen = std::collections::HashSet::new();
    for l in lines.lines().filter(|l| !l.contains("reloading")) {
        assert!(seen.insert(l), "{l:?} logged twice:\n{lines}");
    }
}

/// Seconds since boot, from `/proc/uptime`.
fn uptime_secs() -> u64 {
    let s = fs::read_to_string("/proc/uptime").unwrap();
    s.split(['.', ' ']).next().unwrap().parse().unwrap()
}

#[test]
fn clocks_far_from_the_wall_clock_change_nothing() {
    // Stepping CLOCK_REALTIME would step the host's clock, which a test
    // must not do; going reads only CLOCK_MONOTONIC (and CLOCK_BOOTTIME
    // for /proc start times), so this runs it where those clocks are far
    // from the wall clock instead: a time namespace as if the machine had
    // booted 2 s ago, and one as if it had been up for ten years.
    let test = "clocks_far_from_the_wall_clock_change_nothing";
    if !root_with(test, &["unshare"]) {
        return;
    }
    let young = -(uptime_secs() as i64 - 2);
    let old = 10 * 365 * 86_400i64;
    for off in [young, old] {
        if !sh_ok(&format!("unshare -T --monotonic={off} --boottime={off} true")) {
            skip(test, &format!("cannot make a time namespace with offset {off}s here"));
            return;
        }
    }
    // Going first: each is stopped before its temp dir is removed.
    let runs: Vec<(Going, Tmp)> = [("young", young), ("old", old)]
        .iter()
        .map(|(name, off)| {
            let t = Tmp::new(&format!("fault_clock_{name}"));
            t.write("crash", "cmd=/bin/false\n");
            t.write("up", &sleeper(1000));
            let prefix = format!("exec unshare -T --monotonic={off} --boottime={off} \"$0\" -d \"$1\" -s \"$2\";");
            let g = Going::start_via(&t, &prefix, &[]);
            (g, t)
        })
        .collect();
    let since = Instant::now();
    let times: Vec<Vec<Duration>> = thread::scope(|s| {
        let hs: Vec<_> = runs
            .iter()
            .map(|(g, _)| s.spawn(move || start_times(g, "crash", 4, since, Duration::from_secs(12))))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for ((g, t), starts) in runs.iter().zip(&times) {
        assert_eq!(starts.len(), 4, "{}: log:\n{}", t.path.display(), g.log());
        // Backoff 1, 2, 4 s between quick exits, in real time.
        for (k, want) in [1.0f64, 2.0, 4.0].iter().enumerate() {
            let gap = (starts[k + 1] - starts[k]).as_secs_f64();
            assert!((gap - want).abs() < 0.6, "{}: backoff {k} was {gap:.2}s, not {want}s", t.path.display());
        }
        let exit = last_exit(&g.log(), "crash").unwrap();
        assert!(exit.ms < 1000, "/bin/false ran {}ms", exit.ms);
        let row = expect_state(t, "up", "up");
        let up = row.num("uptime") as f64;
        let real = since.elapsed().as_secs_f64();
        assert!((up - real).abs() <= 1.5, "{}: uptime {up}s after {real:.1}s", t.path.display());
    }
}

#[test]
fn config_directory_on_a_read_only_filesystem() {
    let test = "config_directory_on_a_read_only_filesystem";
    if !root_with(test, &["unshare", "nsenter"]) {
        return;
    }
    if !can_unshare_mount() {
        skip(test, "cannot make a private mount namespace here");
        return;
    }
    let t = Tmp::new("fault_readonly");
    t.write("a", &sleeper(1000));
    t.write("b", &sleeper(1001));
    // In going's namespace the directory is a read-only bind mount; the
    // test writes to it from outside, as an admin on the host would.
    let prefix = "exec unshare -m --propagation private /bin/sh -c 'mount --bind \"$1\" \"$1\" \
                  && mount -o remount,bind,ro \"$1\" && exec \"$0\" -d \"$1\" -s \"$2\"' \"$0\" \"$1\" \"$2\";";
    let mut g = Going::start_via(&t, prefix, &[]);
    let a = running(g.expect_started("a", 1), &["/bin/sleep", "1000"]);
    let b = running(g.expect_started("b", 1), &["/bin/sleep", "1001"]);
    let conf = t.conf_str();
    let ns = |cmd: &str| sh_ok(&format!("nsenter -t {} -m /bin/sh -c '{cmd}'", g.pid()));
    assert!(ns(&format!("! touch {conf}/.probe 2>/dev/null")), "the directory is writable in going's namespace");
    answers(&t);

    // Changes made outside still reach going (inotify watches the inode).
    t.write("c", &sleeper(1002));
    running(g.expect_started("c", 1), &["/bin/sleep", "1002"]);
    t.remove("b");
    assert!(wait_dead(b));
    g.reload();
    expect_state(&t, "c", "up");
    // Read-write again: nothing is restarted by it.
    assert!(ns(&format!("mount -o remount,bind,rw {conf}")));
    t.write("d", &sleeper(1003));
    running(g.expect_started("d", 1), &["/bin/sleep", "1003"]);
    alive_going(&mut g);
    assert!(alive(a));
    assert_eq!(g.starts("a"), 1);
    let problems: Vec<String> = g.log().lines().filter(|l| l.contains("cannot")).map(str::to_string).collect();
    assert!(problems.is_empty(), "{problems:?}");
}

/// The table's capacity, read from the one constant that sets it.
fn capacity() -> usize {
    let src = include_str!("../src/limits.rs");
    let line = src.lines().find(|l| l.starts_with("pub const MAX_SERVICES: usize =")).expect("MAX_SERVICES");
    line.trim_end_matches(';').rsplit(' ').next().unwrap().parse().unwrap()
}

/// Largest number of rejected entries one scan names in the log.
const NAMED_REJECTS: usize = 16;

#[test]
fn ten_thousand_files_in_the_directory() {
    let cap = capacity();
    let t = Tmp::new("fault_10000");
    let files = 10_000;
    for i in 0..files {
        fs::write(t.conf().join(format!("s{i:05}")), "cmd=/bin/sleep 1000\n").unwrap();
    }
    let mut g = Going::start(&t);
    let long = Duration::from_secs(30);
    assert!(
        wait_until(long, || g.count_log(": started, pid ") >= cap),
        "{} started; log:\n{}",
        g.count_log(": started, pid "),
        g.log()
    );
    let more = format!("going: {}: {} more entries rejected", t.conf_str(), files - cap - NAMED_REJECTS);
    g.expect_log(&more);
    answers(&t);

    // Responsive: status is answered at once and lists what runs.
    let asked = Instant::now();
    let mut rows = status_rows(&t);
    assert!(asked.elapsed() < Duration::from_secs(2), "status took {:?}", asked.elapsed());
    // The last started may not be known to have exec'd yet.
    let up = |rows: &[Row]| rows.iter().filter(|r| r.get("state") == "up").count();
    let all_up = up(&rows) == cap
        || wait_until(T, || {
            rows = status_rows(&t);
            up(&rows) == cap
        });
    assert!(all_up, "{} of {cap} up", up(&rows));
    assert!(!wait_until(Duration::from_millis(500), || g.count_log(": started, pid ") > cap));
    assert!(wait_until(T, || g.children().len() == cap), "{} children", g.children().len());
    let m = client(&t, "status", &["-m"]).stdout;
    let rejected: Vec<&str> = m.lines().filter(|l| l.starts_with("rejected=")).collect();
    assert_eq!(rejected.len(), NAMED_REJECTS + 1, "{rejected:?}");

    // Bounded log: one line per start, NAMED_REJECTS names, one summary.
    let limit = format!("too many services (limit {cap})");
    let named = lines_with(&g, &limit);
    assert_eq!(named.len(), NAMED_REJECTS, "{named:?}");
    // (and what going says at start of its cgroups, SPEC §11)
    let setup = g.log().lines().filter(|l| l.contains("cgroup")).count();
    assert_eq!(g.log().lines().count(), 1 + setup + cap + NAMED_REJECTS + 1, "log:\n{}", g.log());
    // A full re-read logs the same bounded set again, and restarts nothing.
    g.reload();
    g.expect_log_n(&more, 2);
    assert_eq!(lines_with(&g, &limit).len(), 2 * NAMED_REJECTS);
    assert_eq!(g.count_log(": started, pid "), cap);
    alive_going(&mut g);

    // The fault clears: the files that do not run go, and so do ten that
    // run; a new service then has room and starts.
    let up: Vec<String> = rows.iter().filter(|r| r.get("state") == "up").map(|r| r.get("name").to_string()).collect();
    for i in 0..files {
        let name = format!("s{i:05}");
        if !up.contains(&name) {
            fs::remove_file(t.conf().join(&name)).unwrap();
        }
    }
    for name in &up[..10] {
        t.remove(name);
    }
    // (A file that comes while they stop is another matter: see
    // `a_full_table_takes_a_new_file_once_a_removed_service_has_stopped`.)
    assert!(wait_until(T, || status_rows(&t).len() == cap - 10), "the removed services are still listed");
    t.write("fresh", &sleeper(1001));
    running_pid(&g, "fresh");
    assert_eq!(status_rows(&t).len(), cap - 10 + 1);
    alive_going(&mut g);

    // Not cleared by the removals alone: the count of unnamed rejected
    // entries stays until a full re-read.
    let stale: Vec<String> = client(&t, "status", &["-m"])
        .stdout
        .lines()
        .filter(|l| l.starts_with("rejected="))
        .map(str::to_string)
        .collect();
    g.reload();
    let after: Vec<String> = client(&t, "status", &["-m"])
        .stdout
        .lines()
        .filter(|l| l.starts_with("rejected="))
        .map(str::to_string)
        .collect();
    assert!(after.is_empty(), "{after:?}");
    assert!(stale.is_empty(), "status still shows {stale:?} after every rejected file was removed");
}

#[test]
fn a_full_table_takes_a_new_file_once_a_removed_service_has_stopped() {
    // An admin at capacity swaps one service for another: the new file
    // comes while the old service is still stopping (it ignores its
    // stop_signal for 2 s), and must run once the old one is gone.
    let cap = capacity();
    let t = Tmp::new("fault_full_swap");
    for i in 1..cap {
        fs::write(t.conf().join(format!("s{i:03}")), "cmd=/bin/sleep 1000\n").unwrap();
    }
    fs::write(t.conf().join("old"), "cmd=/bin/sleep 1000\nstop_signal=CONT\nstop_timeout=2\n").unwrap();
    let mut g = Going::start(&t);
    assert!(wait_until(Duration::from_secs(30), || g.count_log(": started, pid ") >= cap), "log:\n{}", g.log());
    let old = g.pid_of("old").unwrap();
    t.remove("old");
    t.write("fresh", &sleeper(1001));
    g.expect_log("going: old: stopping pid ");
    assert!(wait_until(T, || !alive(old)), "old never stopped");
    let started = g.wait_log("going: fresh: started, pid ", T);
    alive_going(&mut g);
    if !started {
        let why = lines_with(&g, "fresh");
        g.reload();
        let after_reload = g.wait_log("going: fresh: started, pid ", T);
        panic!("fresh did not start once old had stopped ({why:?}); after a SIGHUP it started: {after_reload}");
    }
    running_pid(&g, "fresh");
}

fn running_pid(g: &Going, name: &str) -> u32 {
    running(g.expect_started(name, 1), &["/bin/sleep", "1001"])
}

/// Installs, in the process about to exec, a seccomp filter under which
/// `clone3` fails with `EPERM` and every other call is allowed: the
/// default profile of older container runtimes (435 is `clone3` in every
/// ABI this runs on).
fn refuse_clone3() -> std::io::Result<()> {
    let stmt = |code: u32, k: u32| libc::sock_filter { code: code as u16, jt: 0, jf: 0, k };
    let mut filter = [
        stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0), // seccomp_data.nr
        libc::sock_filter { code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16, jt: 0, jf: 1, k: 435 },
        stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ERRNO | libc::EPERM as u32),
        stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW),
    ];
    let prog = libc::sock_fprog { len: filter.len() as u16, filter: filter.as_mut_ptr() };
    // SAFETY: prctl with a filter that outlives the call; nothing else
    // of the process is touched between fork and exec.
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            || libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &prog as *const libc::sock_fprog) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Under a seccomp filter that refuses `clone3` with `EPERM` (Docker's
/// default profile before 20.10.10 did), services start, respawn and
/// come up after a reload with the older `clone`, in their cgroups where
/// there are cgroups and without where there are none; nothing says
/// "cannot fork".
#[test]
fn clone3_refused_by_a_seccomp_filter() {
    let test = "clone3_refused_by_a_seccomp_filter";
    if emulated(test, "qemu-user makes the guest's clone calls itself, with the host's clone") {
        return;
    }
    let hidden = "exec unshare -m --propagation private /bin/sh -c 'mount -t tmpfs going-test /sys/fs/cgroup \
                  && exec \"$0\" -d \"$1\" -s \"$2\"' \"$0\" \"$1\" \"$2\";";
    let mut modes = vec![("as the host has them", "")];
    if root_with(test, &["unshare", "mount"]) && can_unshare_mount() {
        modes.push(("hidden", hidden));
    } else {
        skip(test, "cannot make a private mount namespace here: only the host's cgroups are tried");
    }
    for (cgroups, prefix) in modes {
        let t = Tmp::new("fault_clone3");
        for name in ["a", "b", "c"] {
            t.write(name, &sleeper(1000));
        }
        let mut g = Going::start_with(&t, prefix, |cmd| {
            use std::os::unix::process::CommandExt;
            // SAFETY: refuse_clone3 makes two prctl calls and allocates nothing.
            unsafe { cmd.pre_exec(refuse_clone3) };
        });
        let pids: Vec<u32> =
            ["a", "b", "c"].iter().map(|n| running(g.expect_started(n, 1), &["/bin/sleep", "1000"])).collect();
        let in_cgroups = g.log().contains("services run in cgroups below ");
        assert_eq!(in_cgroups, prefix.is_empty() && cgroup2_mount().is_some(), "cgroups {cgroups}; log:\n{}", g.log());
        if in_cgroups {
            for (name, pid) in ["a", "b", "c"].iter().zip(&pids) {
                assert!(cgroup_of(*pid).ends_with(&format!("/{name}")), "{name} in {}", cgroup_of(*pid));
            }
        }
        // A respawn, and a service added by a reload.
        signal(pids[0], "KILL");
        running(g.expect_started("a", 2), &["/bin/sleep", "1000"]);
        t.write("d", &sleeper(1000));
        g.reload();
        let d = running(g.expect_started("d", 1), &["/bin/sleep", "1000"]);
        if in_cgroups {
            assert!(cgroup_of(d).ends_with("/d"), "d in {}", cgroup_of(d));
        }
        answers(&t);
        alive_going(&mut g);
        assert!(!g.log().contains("cannot fork"), "cgroups {cgroups}; log:\n{}", g.log());
    }
}

/// A service whose uid is at its process limit (`RLIMIT_NPROC`: going
/// and the one service): the exited process counts until it is reaped,
/// and going reaps it rather than fail the successor's start, so a
/// `going restart` and a respawn after a long run start it again at once,
/// with no "cannot fork" and no retry a second later.
#[test]
fn respawn_at_the_process_limit() {
    let test = "respawn_at_the_process_limit";
    if !root_with(test, &["setpriv", "prlimit"]) {
        return;
    }
    if emulated(test, "qemu-user starts a thread in each forked child, which RLIMIT_NPROC=2 refuses") {
        return;
    }
    let t = Tmp::new("fault_nproc_respawn");
    t.write("a", &sleeper(1000));
    let (mut g, _) = going_at_nproc(&t, 2);
    let first = running(g.expect_started("a", 1), &["/bin/sleep", "1000"]);
    answers(&t);

    // Restarted on request: the old process exits, the new one starts.
    assert_eq!(client(&t, "restart", &["a"]).code, 0, "{}", g.log());
    let second = running(g.expect_started("a", 2), &["/bin/sleep", "1000"]);
    assert_ne!(first, second);

    // Killed after a run of 5 s or more: started again at once.
    thread::sleep(Duration::from_millis(5200));
    signal(second, "KILL");
    let third = running(g.expect_started("a", 3), &["/bin/sleep", "1000"]);
    assert_ne!(second, third);
    alive_going(&mut g);
    let log = g.log();
    assert!(!log.contains("cannot fork") && !log.contains("failed attempt"), "log:\n{log}");
    assert!(zombies_of(g.pid()).is_empty(), "zombies left: {:?}", zombies_of(g.pid()));
}
