//! Issue 11, SPEC §14 "Trust" and §1's client conventions, black-box: each
//! test stages one way going 0.1.0 could be turned against the system, made
//! to spin or block, or made to lose a service, and checks what a user sees
//! (files and their owners, processes in /proc, exit codes, `going status`).
//!
//! Where SPEC gives no wording for a new message, the tests do not assert
//! one: they assert the state (`state=failed`) and that the message names
//! the path or the service. Tests that need root (other uids, chown) say
//! so and pass when they cannot stage their fault.

mod common;
mod extra;
use common::*;
use extra::*;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt, chown, symlink};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// nobody's uid and gid on Debian.
const NOBODY: u32 = 65534;

/// Going with the given services, its socket answering.
fn supervise(t: &Tmp, services: &[(&str, &str)]) -> Going {
    for (name, text) in services {
        t.write(name, text);
    }
    let g = Going::start(t);
    g.expect_log(" supervising ");
    wait_socket(t);
    g
}

/// True when the test runs as root; otherwise says why it does nothing.
fn root(test: &str) -> bool {
    if !is_root() {
        skip(test, "needs root");
    }
    is_root()
}

/// A service whose process ignores SIGTERM (the disposition survives the
/// exec), so that its stop lasts `stop_timeout` seconds; it runs
/// `/bin/sleep ARGS`.
fn slow(args: &str, stop_timeout: u32) -> String {
    format!("cmd=/bin/sh -c \"trap '' TERM; exec /bin/sleep {args}\"\nstop_timeout={stop_timeout}\n")
}

/// A shell script in the temp dir (outside the config dir), readable by
/// everyone, run by a service as `cmd=/bin/sh SCRIPT`.
fn script(t: &Tmp, name: &str, body: &str) -> String {
    let p = t.file(name);
    fs::write(&p, body).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
    format!("cmd=/bin/sh {}\n", p.display())
}

/// Exactly one process runs NAME, with `argv`, it is going's only live
/// child, and `going status` says NAME is up with that pid.
fn runs_once(t: &Tmp, g: &Going, name: &str, argv: &[&str]) -> bool {
    let live: Vec<u32> = g.children().into_iter().filter(|&p| alive(p)).collect();
    if live.len() != 1 || cmdline(live[0]) != argv {
        return false;
    }
    let out = client(t, "status", &["-m", name]);
    let row = out.stdout.lines().map(Row::parse).find(|r| r.get("name") == name);
    row.is_some_and(|r| r.get("state") == "up" && r.get("pid") == live[0].to_string())
}

/// Waits (up to `within`) until NAME runs once with `argv`, then checks it
/// stays so for 1.5 s; panics with what runs, the status and the log.
fn expect_runs_once(t: &Tmp, g: &Going, name: &str, argv: &[&str], within: Duration) {
    let settled = wait_until(within, || runs_once(t, g, name, argv));
    let stays = settled && !wait_until(Duration::from_millis(1500), || !runs_once(t, g, name, argv));
    if !stays {
        let procs: Vec<(u32, Vec<String>)> = g.children().into_iter().map(|p| (p, cmdline(p))).collect();
        panic!(
            "{name} is not running exactly once as {argv:?} ({}); going's children: {procs:?}\nstatus:\n{}",
            if settled { "it did, then changed" } else { "never settled" },
            client(t, "status", &["-m"]).stdout
        );
    }
}

/// Lines of going's log holding every one of `words`.
fn lines_with(g: &Going, words: &[&str]) -> Vec<String> {
    g.log().lines().filter(|l| words.iter().all(|w| l.contains(w))).map(str::to_string).collect()
}

/// Sends one raw request and reads the answer to EOF (2 s read timeout).
fn raw(t: &Tmp, req: &[u8], half_close: bool) -> String {
    let mut s = UnixStream::connect(t.sock()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    s.write_all(req).unwrap();
    if half_close {
        s.shutdown(std::net::Shutdown::Write).unwrap();
    }
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
}

/// Going still runs: panics with its log otherwise.
fn still_running(g: &mut Going) {
    if let Some(st) = g.wait_exit(Duration::ZERO) {
        panic!("going exited ({st}); log:\n{}", g.log());
    }
}

/// SIGTERM, and going exits 0 within `within`.
fn terminates(g: &mut Going, within: Duration) {
    g.signal("TERM");
    let st = g.wait_exit(within);
    assert!(st.is_some(), "going did not exit within {within:?} of SIGTERM; log:\n{}", g.log());
    assert_eq!(st.unwrap().code(), Some(0), "log:\n{}", g.log());
}

// ---- 1. Log files: no symlink, no directory the service can write ----

#[test]
fn a_service_cannot_make_going_append_to_a_root_file_through_a_symlink() {
    let test = "a_service_cannot_make_going_append_to_a_root_file_through_a_symlink";
    if !root(test) {
        return;
    }
    let t = Tmp::new("trust_symlink_swap");
    // The log directory belongs to the service's user, as /var/log/app
    // often does; /etc/passwd is played by a root file outside it.
    let logs = t.file("logs");
    fs::create_dir(&logs).unwrap();
    chown(&logs, Some(NOBODY), Some(NOBODY)).unwrap();
    let victim = t.file("passwd");
    let original = "root:x:0:0:root:/root:/bin/sh\n";
    fs::write(&victim, original).unwrap();
    let log = logs.join("x.log");
    let body = format!(
        "echo first\n\
         {until}\n\
         rm -f {log} && ln -s {victim} {log}\n\
         while :; do echo 'evil::0:0::/:/bin/sh'; sleep 0.1; done\n",
        until = sh_until(&log),
        log = log.display(),
        victim = victim.display()
    );
    let cfg = format!("{}user=nobody\nlog={}\n", script(&t, "evil.sh", &body), log.display());
    let g = supervise(&t, &[("evil", &cfg)]);
    let changed = wait_until(Duration::from_secs(3), || read(&victim) != original);
    assert!(
        !changed,
        "going wrote the service's output through its symlink into {}: {:?}",
        victim.display(),
        read(&victim)
    );
    // A directory the service's user can write is refused with the reason.
    let row = expect_state(&t, "evil", "failed");
    let dir = logs.to_str().unwrap();
    let said = row.get("error").contains(dir) || !lines_with(&g, &["evil", dir]).is_empty();
    assert!(said, "no message names {dir}: status {row:?}; log:\n{}", g.log());
    assert_eq!(read(&victim), original);
}

#[test]
fn a_service_cannot_swap_a_directory_above_its_log_directory_for_a_link() {
    let test = "a_service_cannot_swap_a_directory_above_its_log_directory_for_a_link";
    if !root(test) {
        return;
    }
    let t = Tmp::new("trust_parent_swap");
    // The log directory is root's (0755), but the one above it is the
    // service user's: the service could rename it away and put a link to
    // any root directory there.
    let home = t.file("home");
    let logs = home.join("logs");
    fs::create_dir_all(&logs).unwrap();
    chown(&home, Some(NOBODY), Some(NOBODY)).unwrap();
    let victim = t.file("victim");
    fs::create_dir(&victim).unwrap();
    let log = logs.join("web");
    let body = format!(
        "mv {home}/logs {home}/old && ln -s {victim} {home}/logs\n\
         while :; do echo '* * * * * root evil'; sleep 0.1; done\n",
        home = home.display(),
        victim = victim.display()
    );
    let cfg = format!("{}user=nobody\nlog={}\n", script(&t, "swap.sh", &body), log.display());
    // A link on the path that only root could make is followed.
    let real = t.file("real");
    fs::create_dir(&real).unwrap();
    symlink(&real, t.file("linked")).unwrap();
    let ok =
        format!("cmd=/bin/sh -c 'echo through-the-link; exec sleep 1000'\nlog={}/linked/ok.log\n", t.path.display());
    // In a sticky directory anyone may make a name: a link there that
    // the service's user made is not followed.
    let sticky = t.file("sticky");
    fs::create_dir(&sticky).unwrap();
    fs::set_permissions(&sticky, fs::Permissions::from_mode(0o1777)).unwrap();
    symlink(&real, sticky.join("logs")).unwrap();
    std::os::unix::fs::lchown(sticky.join("logs"), Some(NOBODY), Some(NOBODY)).unwrap();
    let planted =
        format!("cmd=/bin/sh -c 'echo planted; exec sleep 1000'\nlog={}/logs/planted.log\n", sticky.display());
    let g = supervise(&t, &[("web", &cfg), ("ok", &ok), ("planted", &planted)]);
    let row = expect_state(&t, "planted", "failed");
    let why = format!("a directory on the path to log directory {}/logs may be written by others", sticky.display());
    assert!(row.get("error").contains(&why) || g.log().contains(&why), "status {row:?}; log:\n{}", g.log());
    let row = expect_state(&t, "web", "failed");
    let why = format!("a directory on the path to log directory {} may be written by others", logs.display());
    assert!(row.get("error").contains(&why) || g.log().contains(&why), "status {row:?}; log:\n{}", g.log());
    assert!(
        !wait_until(Duration::from_secs(1), || victim.join("web").exists()),
        "going made {} through the swapped directory",
        victim.join("web").display()
    );
    assert!(wait_file(&real.join("ok.log"), T, |b| b == b"through-the-link\n"), "{}", g.log());
    assert!(!real.join("planted.log").exists());
}

#[test]
fn a_symlink_planted_as_the_log_file_is_not_followed() {
    let test = "a_symlink_planted_as_the_log_file_is_not_followed";
    if !root(test) {
        return;
    }
    let t = Tmp::new("trust_symlink_planted");
    // A directory only root can write (mode 0755, root's), and a symlink
    // left in it as the log file.
    let logs = t.file("logs");
    fs::create_dir(&logs).unwrap();
    fs::set_permissions(&logs, fs::Permissions::from_mode(0o755)).unwrap();
    let victim = t.file("shadow");
    let original = "root:*:19000:0:99999:7:::\n";
    fs::write(&victim, original).unwrap();
    let log = logs.join("p.log");
    symlink(&victim, &log).unwrap();
    let cfg = format!("cmd=/bin/sh -c 'echo hello-through-a-link; exec /bin/sleep 1000'\nlog={}\n", log.display());
    let g = supervise(&t, &[("p", &cfg)]);
    let changed = wait_until(Duration::from_secs(2), || read(&victim) != original);
    assert!(!changed, "going followed the symlink {} into {}: {:?}", log.display(), victim.display(), read(&victim));
    let row = expect_state(&t, "p", "failed");
    let path = log.to_str().unwrap();
    let said = row.get("error").contains(path) || !lines_with(&g, &["p", path]).is_empty();
    assert!(said, "no message names {path}: status {row:?}; log:\n{}", g.log());
    assert!(fs::symlink_metadata(&log).unwrap().file_type().is_symlink(), "the link was replaced");
    assert_eq!(read(&victim), original);
}

#[test]
fn a_new_log_file_is_0640_owned_by_going_with_the_service_group() {
    let test = "a_new_log_file_is_0640_owned_by_going_with_the_service_group";
    if !root(test) {
        return;
    }
    let t = Tmp::new("trust_log_owner");
    let logs = t.file("logs");
    fs::create_dir(&logs).unwrap();
    fs::set_permissions(&logs, fs::Permissions::from_mode(0o755)).unwrap();
    let (n_log, g_log) = (logs.join("n.log"), logs.join("g.log"));
    let say = "cmd=/bin/sh -c 'echo hello; exec /bin/sleep 1000'\n";
    let g = supervise(
        &t,
        &[
            ("n", &format!("{say}user=nobody\nlog={}\n", n_log.display())),
            ("g", &format!("{say}user=nobody\ngroup=4321\nlog={}\n", g_log.display())),
        ],
    );
    for (name, path, gid) in [("n", &n_log, NOBODY), ("g", &g_log, 4321)] {
        let written = wait_file(path, T, |b| b == b"hello\n");
        assert!(written, "{name}: {} holds {:?}; log:\n{}", path.display(), read(path), g.log());
        let m = fs::metadata(path).unwrap();
        let got = (m.mode() & 0o7777, m.uid(), m.gid());
        assert_eq!(got, (0o640, 0, gid), "{name}: (mode, owner, group) of {}", path.display());
    }
}

// ---- 2. A failing rotation waits instead of spinning ----

#[test]
fn a_rotation_whose_rename_fails_costs_little_cpu_and_going_still_answers() {
    let t = Tmp::new("trust_rotate_spin");
    let log = t.file("r.log");
    // rename(r.log, r.log.1) fails with EISDIR, for root too, as it does
    // with EBUSY on a bind-mounted file or EPERM under `chattr +a`.
    let blocker = t.file("r.log.1");
    fs::create_dir(&blocker).unwrap();
    fs::write(blocker.join("keep"), "").unwrap();
    // About 60 KB/s in bursts: past log_size and its 4 KiB slack at once.
    let body = "while :; do i=0; while [ $i -lt 100 ]; do \
                echo \"line $i ..................................................\"; i=$((i+1)); done; \
                sleep 0.1; done\n";
    let cfg = format!("{}log={}\nlog_size=1k\nlog_keep=1\n", script(&t, "r.sh", body), log.display());
    let mut g = supervise(&t, &[("r", &cfg), ("k", &sleeper(1000))]);
    g.expect_started("r", 1);
    let k = g.expect_started("k", 1);
    assert!(wait_file(&log, T, |b| b.len() >= 1024), "r.log never reached log_size: {} bytes", read(&log).len());
    let share = cpu_share(g.pid(), Duration::from_secs(3));
    eprintln!("going used {:.1}% of a CPU over 3 s of failing rotation", share * 100.0);
    assert!(share < 0.10, "going used {:.0}% of a CPU while rotation failed; log:\n{}", share * 100.0, g.log());
    let asked = Instant::now();
    let out = client_within(&t, "status", &["-m"], Duration::from_secs(3));
    assert!(
        out.as_ref().is_some_and(|o| o.code == 0),
        "status while rotation fails: {out:?} after {:?}",
        asked.elapsed()
    );
    signal(k, "KILL");
    assert!(g.wait_log_n("going: k: started, pid ", 2, T), "k was not respawned; log:\n{}", g.log());
    // The fault clears: a later retry rotates.
    fs::remove_dir_all(&blocker).unwrap();
    let rotated = wait_until(T, || fs::symlink_metadata(&blocker).is_ok_and(|m| m.is_file()));
    assert!(rotated, "no rotation once r.log.1 was free; log:\n{}", g.log());
    still_running(&mut g);
    terminates(&mut g, T);
}

// ---- 3. A service whose file exists is never forgotten ----

#[test]
fn a_file_restored_during_the_stop_of_its_removal_keeps_the_service() {
    let t = Tmp::new("trust_restore_during_stop");
    let cfg = slow("1001", 2);
    fs::write(t.conf().join("f.bak"), &cfg).unwrap(); // ignored: a backup
    let g = supervise(&t, &[("f", &cfg)]);
    let p1 = g.expect_started("f", 1);
    expect_cmdline(p1, &["/bin/sleep", "1001"]);
    // rm f; cp f.bak f, the copy landing while the old instance stops.
    t.remove("f");
    g.expect_log(&format!("going: f: stopping pid {p1}"));
    let cp = Command::new("cp").arg(t.conf().join("f.bak")).arg(t.conf().join("f")).status().unwrap();
    assert!(cp.success());
    // The old instance (told to stop, it ignores SIGTERM) may be killed
    // and the service started again, or kept: either way, one runs.
    expect_runs_once(&t, &g, "f", &["/bin/sleep", "1001"], 2 * T);
}

#[test]
fn an_editor_saving_by_rename_during_a_stop_keeps_the_service() {
    let t = Tmp::new("trust_editor_save");
    let g = supervise(&t, &[("f", &slow("1001", 2))]);
    let p1 = g.expect_started("f", 1);
    expect_cmdline(p1, &["/bin/sleep", "1001"]);
    // vim with backupcopy=no: the original is renamed to a backup, the
    // new text written to a new file of the old name.
    let (f, backup) = (t.conf().join("f"), t.conf().join("f~"));
    fs::rename(&f, &backup).unwrap();
    g.expect_log(&format!("going: f: stopping pid {p1}"));
    let mut new = fs::File::create(&f).unwrap();
    new.write_all(slow("1002", 2).as_bytes()).unwrap();
    drop(new);
    fs::remove_file(&backup).unwrap();
    assert!(wait_until(2 * T, || !alive(p1)), "the old instance never stopped");
    expect_runs_once(&t, &g, "f", &["/bin/sleep", "1002"], T);
}

#[test]
fn a_file_replaced_with_no_gap_is_not_read_half_written() {
    let t = Tmp::new("trust_no_gap");
    let cfg = sleeper(1001);
    let g = supervise(&t, &[("f", &cfg)]);
    let p1 = g.expect_started("f", 1);
    expect_cmdline(p1, &["/bin/sleep", "1001"]);
    // `rm f; cp f.bak f` on a loaded machine: going gets to the deletion
    // only once the copy has created f and not yet written it (going is
    // held with SIGSTOP meanwhile, so this happens every time).
    let f = t.conf().join("f");
    g.signal("STOP");
    fs::remove_file(&f).unwrap();
    let mut copy = fs::File::create(&f).unwrap();
    g.signal("CONT");
    // The copy is slow: its bytes come a little later.
    thread::sleep(Duration::from_millis(300));
    copy.write_all(cfg.as_bytes()).unwrap();
    drop(copy);
    expect_runs_once(&t, &g, "f", &["/bin/sleep", "1001"], T);
    let file = format!("going: {}/f", t.conf_str());
    let problems = lines_with(&g, &[&file]);
    assert!(problems.is_empty(), "a file that was being written was reported: {problems:?}");
}

// ---- 4. After SIGTERM nothing starts again ----

#[test]
fn start_and_restart_after_sigterm_start_nothing_and_going_exits() {
    let t = Tmp::new("trust_start_after_term");
    let mut g = supervise(&t, &[("fast", &sleeper(1000)), ("slow", &slow("1001", 3))]);
    let fast = g.expect_started("fast", 1);
    let slow_pid = g.expect_started("slow", 1);
    expect_cmdline(slow_pid, &["/bin/sleep", "1001"]);
    g.signal("TERM");
    g.expect_log("SIGTERM received");
    assert!(wait_dead(fast));
    // slow holds going in its shutdown for 3 s.
    let asked = Instant::now();
    let answers: Vec<(&str, &str, Out)> =
        [("start", "fast"), ("restart", "fast"), ("restart", "slow"), ("start", "slow")]
            .into_iter()
            .map(|(verb, name)| (verb, name, client(&t, verb, &[name])))
            .collect();
    assert!(asked.elapsed() < Duration::from_secs(2), "the clients took {:?}", asked.elapsed());
    let spawned = wait_until(Duration::from_secs(5), || g.starts("fast") > 1 || g.starts("slow") > 1);
    assert!(!spawned, "a service was started again after SIGTERM; log:\n{}", g.log());
    for (verb, name, out) in &answers {
        assert_eq!(out.code, 1, "`going {verb} {name}` during shutdown: {out:?}");
        assert!(!out.stderr.is_empty(), "`going {verb} {name}` got no error: {out:?}");
    }
    let st = g.wait_exit(T);
    assert!(st.is_some(), "going did not exit once slow was gone; log:\n{}", g.log());
    assert_eq!(st.unwrap().code(), Some(0));
    assert!(!alive(slow_pid));
}

// ---- 5. log=prefix never blocks going ----

/// Checks that going answers, reaps and respawns `k`, and exits on SIGTERM.
fn still_serves(t: &Tmp, g: &mut Going, k: u32) {
    let asked = Instant::now();
    let out = client_within(t, "status", &["-m"], Duration::from_secs(3));
    assert!(
        out.as_ref().is_some_and(|o| o.code == 0),
        "status with stdout blocked: {out:?} after {:?}; log:\n{}",
        asked.elapsed(),
        g.log()
    );
    signal(k, "KILL");
    assert!(g.wait_log_n("going: k: started, pid ", 2, T), "k was not respawned; log:\n{}", g.log());
    terminates(g, T);
}

#[test]
fn prefix_output_into_a_pipe_nobody_reads_never_blocks_going() {
    let t = Tmp::new("trust_prefix_pipe");
    t.write("flood", "cmd=/bin/sh -c 'yes going-flood-line | head -n 24000; exec /bin/sleep 1000'\nlog=prefix\n");
    t.write("k", &sleeper(1000));
    let mut g = Going::start_stdout(&t, Stdio::piped());
    let _unread = g.child.stdout.take().unwrap(); // held open, never read
    g.expect_log(" supervising ");
    wait_socket(&t);
    let flood = g.expect_started("flood", 1);
    let k = g.expect_started("k", 1);
    // 400 kB into a 64 KiB pipe: the flood ends only if going drops the rest.
    wait_until(T, || cmdline(flood) == ["/bin/sleep", "1000"]);
    still_serves(&t, &mut g, k);
}

/// What `log=prefix` output lost on a stdout nobody read is told once
/// stdout takes it again, as for a log file.
#[test]
fn prefix_output_dropped_on_stdout_is_counted_and_told() {
    let t = Tmp::new("trust_prefix_told");
    let flag = t.file("go");
    let cmd = format!(
        "cmd=/bin/sh -c 'yes going-flood-line | head -n 24000; {}; echo after-the-flood; exec /bin/sleep 1000'\nlog=prefix\n",
        sh_until(&flag)
    );
    t.write("flood", &cmd);
    let mut g = Going::start_stdout(&t, Stdio::piped());
    let mut out = g.child.stdout.take().unwrap();
    let flood = g.expect_started("flood", 1);
    // The flood is over once the service waits for the flag: the pipe is full.
    assert!(wait_until(T, || children(flood).len() == 1
        && cmdline(children(flood)[0]).first().is_some_and(|c| c == "sleep")));
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut b = [0u8; 65536];
        while let Ok(n) = std::io::Read::read(&mut out, &mut b) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&b[..n]);
            if all.windows(15).any(|w| w == b"after-the-flood") {
                break;
            }
        }
        String::from_utf8_lossy(&all).into_owned()
    });
    std::thread::sleep(Duration::from_millis(200));
    fs::write(&flag, "").unwrap();
    let read = reader.join().unwrap();
    assert!(read.contains("flood | after-the-flood"), "{}", &read[read.len().saturating_sub(200)..]);
    // What got through is lines cut short, never two run together.
    for l in read.lines() {
        assert!("flood | going-flood-line".starts_with(l) || l == "flood | after-the-flood", "{l:?} in\n{read}");
    }
    g.expect_log("going: flood: writing going's standard output again; ");
    // Told each time a write went through after a loss: a short one may
    // also fit in what a full pipe's last page has left. Of what stdout
    // was to show: the lines with their prefix.
    let log = g.log();
    let told = log.lines().filter_map(|l| l.split("standard output again; ").nth(1));
    let n: u64 = told.filter_map(|r| r.split(' ').next()?.parse::<u64>().ok()).sum();
    assert!(n > 100_000 && n < 1_000_000, "{n} bytes told:\n{log}");
}

/// A pseudo-terminal whose output is suspended as by XOFF (`tcflow
/// TCOOFF`): writes to its slave side wait until output is resumed.
struct HeldTerminal {
    master: fs::File,
    slave: fs::File,
}

impl HeldTerminal {
    fn open() -> Option<HeldTerminal> {
        use std::os::fd::FromRawFd;
        let (mut m, mut s) = (-1, -1);
        // SAFETY: openpty writes two descriptors into the ints passed; the
        // name, termios and winsize pointers may be null.
        let r = unsafe { libc::openpty(&mut m, &mut s, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
        if r != 0 {
            return None;
        }
        // SAFETY: both descriptors were just opened and are owned here only.
        let (master, slave) = unsafe { (fs::File::from_raw_fd(m), fs::File::from_raw_fd(s)) };
        // SAFETY: tcflow on a descriptor this function owns.
        let held = unsafe { libc::tcflow(std::os::fd::AsRawFd::as_raw_fd(&slave), libc::TCOOFF) } == 0;
        held.then_some(HeldTerminal { master, slave })
    }
}

#[test]
fn prefix_output_to_a_terminal_held_by_xoff_never_blocks_going() {
    let Some(tty) = HeldTerminal::open() else {
        return skip("prefix_output_to_a_terminal_held_by_xoff_never_blocks_going", "no pseudo-terminal here");
    };
    let t = Tmp::new("trust_prefix_xoff");
    t.write("talk", "cmd=/bin/sh -c 'echo one line for a held console; exec /bin/sleep 1000'\nlog=prefix\n");
    t.write("k", &sleeper(1000));
    let mut g = Going::start_stdout(&t, Stdio::from(tty.slave.try_clone().unwrap()));
    g.expect_log(" supervising ");
    wait_socket(&t);
    let talk = g.expect_started("talk", 1);
    let k = g.expect_started("k", 1);
    expect_cmdline(talk, &["/bin/sleep", "1000"]);
    still_serves(&t, &mut g, k);
    drop(tty.master);
}

// ---- 6. Every service dies with going ----

#[test]
fn services_with_user_or_group_die_with_a_killed_going() {
    let test = "services_with_user_or_group_die_with_a_killed_going";
    if !root(test) {
        return;
    }
    let t = Tmp::new("trust_pdeathsig");
    let mut g = supervise(
        &t,
        &[
            ("r", &sleeper(1000)),
            ("u", "cmd=/bin/sleep 1001\nuser=nobody\n"),
            ("g", &format!("cmd=/bin/sleep 1002\ngroup={NOBODY}\n")),
        ],
    );
    let pids: Vec<(&str, u32)> = ["r", "u", "g"].iter().map(|n| (*n, g.expect_started(n, 1))).collect();
    let _cleanup = KillOnDrop(pids.iter().map(|p| p.1).collect());
    expect_cmdline(pids[1].1, &["/bin/sleep", "1001"]);
    expect_cmdline(pids[2].1, &["/bin/sleep", "1002"]);
    assert_eq!(status_field(pids[1].1, "Uid").split_whitespace().next(), Some("65534"));
    g.signal("KILL");
    assert!(g.wait_exit(T).is_some());
    let survivors: Vec<&(&str, u32)> = pids.iter().filter(|(_, p)| !wait_dead(*p)).collect();
    assert!(survivors.is_empty(), "outlived going's SIGKILL: {survivors:?}");
}

// ---- 7. SOCKET.pids can kill only what the previous going started ----

/// A process in a session of its own, as an unrelated daemon would be.
fn victim() -> std::process::Child {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new("/bin/sleep");
    cmd.arg("1003").stdin(Stdio::null());
    // SAFETY: setsid is async-signal-safe and touches no memory.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let child = cmd.spawn().unwrap();
    expect_cmdline(child.id(), &["/bin/sleep", "1003"]);
    assert_eq!(stat(child.id()).unwrap().session, child.id());
    child
}

/// Kills and reaps a child of the test when dropped.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a going on TMP's socket (its directory empty), waits until it
/// answers (it sweeps leftovers before that) and stops it.
fn next_going_runs(t: &Tmp) -> String {
    for e in fs::read_dir(t.conf()).unwrap().flatten() {
        let _ = fs::remove_file(e.path());
    }
    let mut g = Going::start(t);
    g.expect_log(" supervising ");
    wait_socket(t);
    assert_eq!(client(t, "status", &[]).code, 0);
    terminates(&mut g, T);
    g.log()
}

/// Where 0.1.0 records its services' groups: `SOCKET.pids`.
fn pids_file(t: &Tmp) -> std::path::PathBuf {
    t.file("sock.pids")
}

#[test]
fn a_planted_pids_file_cannot_kill_an_unrelated_process() {
    let test = "a_planted_pids_file_cannot_kill_an_unrelated_process";
    if !root(test) {
        return;
    }
    let t = Tmp::new("trust_pids_planted");
    let v = Reaped(victim());
    let pid = v.0.id();
    // 0.1.0's format, "PGID START", with start time 0: older than anything.
    fs::write(pids_file(&t), format!("{pid} 0\n")).unwrap();
    fs::set_permissions(pids_file(&t), fs::Permissions::from_mode(0o600)).unwrap();
    let log = next_going_runs(&t);
    assert!(alive(pid), "going killed pid {pid}, a process it never started; log:\n{log}");
}

/// The files a going keeps beside its socket (`sock.pids`, or whatever
/// replaced it): regular files named `sock.*`.
fn state_files(t: &Tmp) -> Vec<std::path::PathBuf> {
    let mut v: Vec<std::path::PathBuf> = fs::read_dir(&t.path)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("sock."))
        .filter(|e| e.file_type().is_ok_and(|ft| ft.is_file()))
        .map(|e| e.path())
        .collect();
    v.sort();
    v
}

/// A going whose service leaves a process behind in its group, killed
/// with SIGKILL: the leftover's pid (alive) once that going is gone.
fn leftover_of_a_killed_going(t: &Tmp) -> u32 {
    t.write("s", "cmd=/bin/sh -c '/bin/sleep 1004 & exec /bin/sleep 1005'\n");
    let mut g = Going::start(t);
    let s = g.expect_started("s", 1);
    expect_cmdline(s, &["/bin/sleep", "1005"]);
    let mut left = None;
    let found = wait_until(T, || {
        left = children(s).into_iter().find(|&c| cmdline(c) == ["/bin/sleep", "1004"]);
        left.is_some()
    });
    assert!(found, "the service's child never ran");
    wait_until(T, || !state_files(t).is_empty());
    g.signal("KILL");
    assert!(g.wait_exit(T).is_some());
    assert!(wait_dead(s), "the service outlived going");
    let left = left.unwrap();
    assert!(alive(left));
    left
}

/// What a second going did to the leftover of the first, after `tamper`
/// changed each file the first one left beside its socket: whether the
/// leftover survived, the second one's log, and whether there was a file.
fn leftover_survives(name: &str, mut tamper: impl FnMut(&Path)) -> (bool, String, bool) {
    let t = Tmp::new(name);
    let left = leftover_of_a_killed_going(&t);
    let _cleanup = KillOnDrop(vec![left]);
    let files = state_files(&t);
    files.iter().for_each(|f| tamper(f));
    let log = next_going_runs(&t);
    let survived = !wait_until(Duration::from_millis(500), || !alive(left));
    (survived, log, !files.is_empty())
}

/// `leftover_survives`, or a skip when there is no file to tamper with.
fn tampered(test: &str, name: &str, tamper: impl FnMut(&Path)) -> Option<(bool, String)> {
    let (survived, log, had_file) = leftover_survives(name, tamper);
    if !had_file {
        skip(test, "going keeps no file beside its socket");
    }
    had_file.then_some((survived, log))
}

#[test]
fn a_genuine_pids_file_still_kills_the_leftovers() {
    // The control for the tests below: untouched, the file does its job.
    let test = "a_genuine_pids_file_still_kills_the_leftovers";
    if !root(test) {
        return;
    }
    let (survived, log, _) = leftover_survives("trust_pids_genuine", |_| {});
    assert!(!survived, "a leftover of the previous going was not killed; log:\n{log}");
}

#[test]
fn a_pids_file_owned_by_another_user_is_ignored() {
    let test = "a_pids_file_owned_by_another_user_is_ignored";
    if !root(test) {
        return;
    }
    let chowned = |p: &Path| chown(p, Some(NOBODY), Some(NOBODY)).unwrap();
    let Some((survived, log)) = tampered(test, "trust_pids_owner", chowned) else { return };
    assert!(survived, "going obeyed a pids file owned by nobody; log:\n{log}");
}

#[test]
fn a_pids_file_writable_by_group_or_others_is_ignored() {
    let test = "a_pids_file_writable_by_group_or_others_is_ignored";
    if !root(test) {
        return;
    }
    for mode in [0o666, 0o620] {
        let chmod = |p: &Path| fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
        let Some((survived, log)) = tampered(test, &format!("trust_pids_mode_{mode:o}"), chmod) else { return };
        assert!(survived, "going obeyed a pids file of mode {mode:o}; log:\n{log}");
    }
}

#[test]
fn a_pids_file_of_another_boot_is_ignored() {
    let test = "a_pids_file_of_another_boot_is_ignored";
    if !root(test) {
        return;
    }
    let boot = fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap().trim().to_string();
    let other = "00000000-1111-4222-8333-444444444444";
    let mut had_boot_id = false;
    let rewrite = |p: &Path| {
        let text = fs::read_to_string(p).unwrap();
        had_boot_id |= text.contains(&boot) || text.contains(&boot.replace('-', ""));
        let text = text.replace(&boot, other).replace(&boot.replace('-', ""), &other.replace('-', ""));
        fs::write(p, text).unwrap();
    };
    let Some((survived, log)) = tampered(test, "trust_pids_boot", rewrite) else { return };
    assert!(
        survived,
        "going obeyed a pids file of another boot (the file {} this boot's id); log:\n{log}",
        if had_boot_id { "held" } else { "did not even hold" }
    );
}

#[test]
fn the_pids_file_is_never_written_through_a_symlink() {
    if !root("the_pids_file_is_never_written_through_a_symlink") {
        return;
    }
    let t = Tmp::new("trust_pids_symlink");
    let precious = [t.file("precious-1"), t.file("precious-2")];
    for p in &precious {
        fs::write(p, "keep me\n").unwrap();
    }
    symlink(&precious[0], t.file("sock.pids")).unwrap();
    symlink(&precious[1], t.file("sock.pids.new")).unwrap();
    let g = supervise(&t, &[("a", &sleeper(1000))]);
    let a = g.expect_started("a", 1);
    signal(a, "KILL");
    g.expect_started("a", 2);
    let changed = wait_until(Duration::from_secs(2), || precious.iter().any(|p| read(p) != "keep me\n"));
    let got: Vec<String> = precious.iter().map(|p| read(p)).collect();
    assert!(!changed, "going wrote its pids through a symlink: {got:?}");
}

// ---- 8. A request at EOF keeps its last byte ----

#[test]
fn a_request_ending_at_eof_without_newline_is_read_whole() {
    let t = Tmp::new("trust_eof_request");
    let g = supervise(&t, &[("web", &sleeper(1000)), ("web1", &sleeper(1001))]);
    let web = g.expect_started("web", 1);
    let web1 = g.expect_started("web1", 1);
    let answer = raw(&t, b"stop web1", true);
    assert!(
        wait_dead(web1) && alive(web),
        "`stop web1` at EOF: web1 alive {}, web alive {}; answer {answer:?}",
        alive(web1),
        alive(web)
    );
    assert!(answer.contains("web1"), "{answer:?}");
    assert!(!wait_until(Duration::from_millis(500), || !alive(web)), "web was stopped");
}

// ---- 9. DIR a symlink that is repointed ----

#[test]
fn a_repointed_directory_symlink_is_followed_without_sighup() {
    let t = Tmp::new("trust_dir_symlink");
    let (d1, d2) = (t.file("d1"), t.file("d2"));
    fs::create_dir(&d1).unwrap();
    fs::create_dir(&d2).unwrap();
    fs::write(d1.join("a1"), sleeper(1001)).unwrap();
    fs::write(d2.join("b2"), sleeper(1002)).unwrap();
    fs::remove_dir(t.conf()).unwrap();
    symlink("d1", t.conf()).unwrap();
    let g = Going::start(&t);
    let a1 = g.expect_started("a1", 1);
    wait_socket(&t);
    // The usual atomic switch: a new link renamed over the old one.
    let tmp = t.file("going.d.new");
    symlink("d2", &tmp).unwrap();
    fs::rename(&tmp, t.conf()).unwrap();
    let b2 = g.wait_log("going: b2: started, pid ", T);
    assert!(b2, "the services of the new target never started (without SIGHUP); log:\n{}", g.log());
    assert!(wait_dead(a1), "a1, of the old target, still runs; log:\n{}", g.log());
    t.write("c2", &sleeper(1003));
    let c2 = g.wait_log("going: c2: started, pid ", T);
    assert!(c2, "a new file in the new target was not picked up; log:\n{}", g.log());
    fs::write(d1.join("z1"), sleeper(1004)).unwrap();
    assert!(!g.wait_log("going: z1: ", Duration::from_millis(1000)), "the old target is still watched");
}

// ---- 10. A file change during `going stop` starts the new config ----

#[test]
fn a_file_changed_while_stopping_by_hand_starts_the_new_config_at_once() {
    let t = Tmp::new("trust_stop_then_change");
    let g = supervise(&t, &[("s", &slow("1001", 2))]);
    let p1 = g.expect_started("s", 1);
    expect_cmdline(p1, &["/bin/sleep", "1001"]);
    assert_eq!(client(&t, "stop", &["s"]).code, 0);
    g.expect_log(&format!("going: s: stopping pid {p1}"));
    t.write("s", &slow("1002", 2));
    assert!(wait_until(2 * T, || !alive(p1)), "the old instance never stopped");
    let gone = Instant::now();
    let started = wait_until(Duration::from_secs(2), || g.starts("s") >= 2);
    assert!(started, "the changed file was not started within 2 s of the old exit; log:\n{}", g.log());
    assert!(gone.elapsed() < Duration::from_secs(1), "started {:?} after the old exit", gone.elapsed());
    expect_runs_once(&t, &g, "s", &["/bin/sleep", "1002"], T);
    let why = lines_with(&g, &["going: s: ", "new config"]);
    assert!(!why.is_empty(), "no line says the new config is why s started; log:\n{}", g.log());
}

// ---- 11. A busy going is not taken for a stale one ----

/// Resumes a SIGSTOPped process when dropped.
struct Resume(u32);

impl Drop for Resume {
    fn drop(&mut self) {
        signal(self.0, "CONT");
    }
}

#[test]
fn a_second_going_leaves_a_busy_one_alone() {
    use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType, connect, socket_with};
    let t = Tmp::new("trust_busy_second");
    let g = supervise(&t, &[("a", &sleeper(1000))]);
    let a = g.expect_started("a", 1);
    let sock_ino = fs::metadata(t.sock()).unwrap().ino();
    // Busy: it does not accept for a while (here it is stopped), and its
    // listen backlog fills with clients that send nothing.
    g.signal("STOP");
    let resume = Resume(g.pid());
    let path = std::ffi::CString::new(t.sock().to_str().unwrap()).unwrap();
    let addr = SocketAddrUnix::new(path.as_c_str()).unwrap();
    let mut held = Vec::new();
    let mut full = false;
    for _ in 0..512 {
        let fd = socket_with(AddressFamily::UNIX, SocketType::STREAM, SocketFlags::NONBLOCK, None).unwrap();
        match connect(&fd, &addr) {
            Ok(()) => held.push(fd),
            Err(rustix::io::Errno::AGAIN) => {
                full = true;
                break;
            }
            Err(e) => panic!("connect: {e}"),
        }
    }
    assert!(full, "the backlog never filled after {} connections", held.len());
    let out = fs::File::create(t.file("second.log")).unwrap();
    let mut second = going_command()
        .arg("-d")
        .arg(t.conf())
        .arg("-s")
        .arg(t.sock())
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let st = exit_within(&mut second, T);
    if st.is_none() {
        kill_child(&mut second);
    }
    drop(resume);
    drop(held);
    let said = read(&t.file("second.log"));
    assert!(st.is_some(), "the second going did not exit: it took over; it said:\n{said}");
    assert_ne!(st.unwrap().code(), Some(0), "{said}");
    let ino = fs::metadata(t.sock()).map(|m| m.ino()).ok();
    assert_eq!(ino, Some(sock_ino), "the busy going's socket was replaced");
    assert!(alive(a), "the busy going's service was killed; the second said:\n{said}");
    assert_eq!(row_of(&t, "a").map(|r| r.num("pid")), Some(u64::from(a)));
    assert_eq!(g.starts("a"), 1);
}

// ---- 12. Real-time stop signals ----

#[test]
fn real_time_stop_signals_are_valid_and_sent() {
    let t = Tmp::new("trust_rt_signals");
    let all = [("rt1", "RTMIN+2"), ("rt2", "40"), ("rt3", "SIGRTMAX")];
    // qemu-user keeps the highest real-time signals for itself.
    let qemu = emulator_lacks("real_time_stop_signals_are_valid_and_sent", "SIGRTMAX");
    let specs = if qemu { &all[..2] } else { &all[..] };
    for (name, sig) in specs {
        t.write(name, &format!("cmd=/bin/sleep 1000\nstop_signal={sig}\nstop_timeout=60\n"));
    }
    let (code, out) = t.check();
    assert_eq!(code, 0, "going check: {out}");
    let g = supervise(&t, &[]);
    let pids: Vec<u32> = specs.iter().map(|(n, _)| g.expect_started(n, 1)).collect();
    let names: Vec<&str> = specs.iter().map(|(n, _)| *n).collect();
    let out = client(&t, "stop", &names);
    assert_eq!(out.code, 0, "{out:?}");
    for ((name, sig), pid) in specs.iter().zip(pids) {
        // SIGKILL would come 60 s later: a quick death is the signal's.
        assert!(wait_dead(pid), "{name} (stop_signal={sig}) did not die of its stop signal");
        let row = expect_state(&t, name, "down");
        let last = row.get("last").strip_prefix("signal:").unwrap_or("").to_string();
        let rt = last.contains("RT") || last.parse::<u32>().is_ok_and(|n| (32..=64).contains(&n));
        assert!(rt, "{name}: last={} after stop_signal={sig}", row.get("last"));
        if *name == "rt2" {
            assert!(last == "40" || last.contains("RTMIN+6") || last.contains("RTMAX-24"), "rt2: last={last}");
        }
        if *name == "rt3" {
            assert!(last == "64" || last.contains("RTMAX"), "rt3: last={last}");
        }
    }
}

// ---- 13. Another uid runs a copy of going it can reach ----

#[test]
fn going_runs_as_nobody_from_a_reachable_copy() {
    let test = "going_runs_as_nobody_from_a_reachable_copy";
    if !root(test) || !have("setpriv") {
        return skip(test, "needs root and setpriv");
    }
    let t = Tmp::new("trust_as_nobody");
    let bin = reachable_binary(&t);
    chown(&t.path, Some(NOBODY), Some(NOBODY)).unwrap();
    t.write("a", &sleeper(1000));
    let emu = emulator().map(|e| format!("{e} ")).unwrap_or_default();
    let prefix =
        format!("exec setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups {emu}\"$0\" -d \"$1\" -s \"$2\";");
    let g = Going::start_bin(&t, &bin, &prefix, &[]);
    let a = g.expect_started("a", 1);
    assert_eq!(status_field(g.pid(), "Uid").split_whitespace().next(), Some("65534"), "log:\n{}", g.log());
    assert_eq!(status_field(a, "Uid").split_whitespace().next(), Some("65534"));
    wait_socket(&t);
    assert_eq!(expect_state(&t, "a", "up").num("pid"), u64::from(a));
}

// ---- Client conventions (§1) ----

#[test]
fn a_request_may_name_every_service_of_a_full_table() {
    let t = Tmp::new("trust_256_names");
    let names: Vec<String> = (0..256).map(|i| format!("service-{i:03}")).collect();
    for n in &names {
        fs::write(t.conf().join(n), "cmd=/bin/sleep 1000\n").unwrap();
    }
    let g = Going::start(&t);
    let long = Duration::from_secs(30);
    assert!(wait_until(long, || g.count_log(": started, pid ") >= 256), "not all 256 started; log:\n{}", g.log());
    wait_socket(&t);
    let args: Vec<&str> = names.iter().map(String::as_str).collect();
    let out = client_within(&t, "restart", &args, Duration::from_secs(10)).expect("restart of 256 did not finish");
    assert_eq!(out.code, 0, "going restart with 256 names ({} bytes): {out:?}", args.join(" ").len());
    assert!(wait_until(long, || g.count_log(": started, pid ") >= 512), "not all 256 restarted; log:\n{}", g.log());
    assert!(names.iter().all(|n| g.starts(n) == 2), "some service was not restarted exactly once");
    let all_up = wait_until(T, || client(&t, "status", &args).code == 0);
    assert!(all_up, "status of 256 names: {:?}", client(&t, "status", &args));
}

#[test]
fn the_socket_option_may_come_before_the_subcommand() {
    let t = Tmp::new("trust_s_first");
    let g = supervise(&t, &[("a", &sleeper(1000)), ("b", &sleeper(1001))]);
    let a = g.expect_started("a", 1);
    g.expect_started("b", 1);
    // Up once its exec is known to have succeeded: `status b` says 0.
    expect_state(&t, "b", "up");
    let sock = t.sock();
    let sock = sock.to_str().unwrap();
    let out = going(&["-s", sock, "status"]);
    assert_eq!(out.code, 0, "going -s SOCK status: {out:?}");
    assert!(out.stdout.lines().any(|l| l.starts_with("a ")), "{out:?}");
    let out = going(&["-s", sock, "status", "-m", "b"]);
    assert_eq!(out.code, 0, "going -s SOCK status -m b: {out:?}");
    assert!(out.stdout.starts_with("name=b "), "{out:?}");
    let out = going(&["-s", sock, "stop", "a"]);
    assert_eq!(out.code, 0, "going -s SOCK stop a: {out:?}");
    assert!(wait_dead(a));
}

#[test]
fn signal_takes_the_forms_kill_takes() {
    let t = Tmp::new("trust_signal_forms");
    let forms = [
        ("-9", "SIGKILL"),
        ("-KILL", "SIGKILL"),
        ("-TERM", "SIGTERM"),
        ("SIGTERM", "SIGTERM"),
        ("15", "SIGTERM"),
        ("-15", "SIGTERM"),
    ];
    let services: Vec<(String, String)> =
        (0..forms.len()).map(|i| (format!("s{i}"), sleeper(1000 + i as u32))).collect();
    let refs: Vec<(&str, &str)> = services.iter().map(|(n, c)| (n.as_str(), c.as_str())).collect();
    let g = supervise(&t, &refs);
    let mut wrong = Vec::new();
    for (i, (form, dies_by)) in forms.iter().enumerate() {
        let name = format!("s{i}");
        let pid = g.expect_started(&name, 1);
        let out = client(&t, "signal", &[form, &name]);
        if out.code != 0 {
            wrong.push(format!("`going signal {form} {name}` exited {}: {}", out.code, out.stderr.trim()));
            continue;
        }
        let line = format!("going: {name}: pid {pid} killed by {dies_by}");
        if !g.wait_log(&line, T) {
            wrong.push(format!("`going signal {form} {name}`: no {line:?}"));
        }
    }
    assert!(wrong.is_empty(), "\n  {}", wrong.join("\n  "));
}

#[test]
fn status_with_names_exits_3_when_one_is_not_up() {
    let t = Tmp::new("trust_status_codes");
    let g = supervise(
        &t,
        &[
            ("up1", &sleeper(1000)),
            ("down1", &sleeper(1001)),
            ("back1", "cmd=/bin/false\n"),
            ("bad1", "cmd=/bin/true\nfoo=1\n"),
        ],
    );
    g.expect_started("up1", 1);
    let d = g.expect_started("down1", 1);
    assert_eq!(client(&t, "stop", &["down1"]).code, 0);
    assert!(wait_dead(d));
    expect_state(&t, "down1", "down");
    expect_state(&t, "back1", "backoff");
    let code = |args: &[&str]| client(&t, "status", args).code;
    let mut wrong = Vec::new();
    for (args, want) in [
        (&["up1"][..], 0),
        (&["-m", "up1"][..], 0),
        (&[][..], 0),
        (&["up1", "down1"][..], 3),
        (&["-m", "down1"][..], 3),
        (&["bad1"][..], 3),
        (&["zz"][..], 1),
        (&["up1", "zz"][..], 1),
    ] {
        let got = code(args);
        if got != want {
            wrong.push(format!("status {args:?} exited {got}, not {want}"));
        }
    }
    // back1 is up for a moment at each try: 3 at least once in a while.
    if !wait_until(T, || code(&["back1"]) == 3) {
        wrong.push("status back1 (in backoff) never exited 3".to_string());
    }
    assert!(wrong.is_empty(), "\n  {}", wrong.join("\n  "));
}

#[test]
fn many_clients_at_once_all_get_their_answer() {
    let t = Tmp::new("trust_many_clients");
    let _g = supervise(&t, &[("a", &sleeper(1000))]);
    let burst = |t: &Tmp| -> Vec<Option<Out>> {
        thread::scope(|s| {
            let hs: Vec<_> =
                (0..12).map(|_| s.spawn(|| client_within(t, "status", &["-m"], Duration::from_secs(8)))).collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        })
    };
    let failed = |outs: &[Option<Out>]| -> Vec<String> {
        outs.iter().filter(|o| o.as_ref().is_none_or(|o| o.code != 0)).map(|o| format!("{o:?}")).collect()
    };
    let outs = burst(&t);
    assert!(failed(&outs).is_empty(), "of 12 clients at once: {:?}", failed(&outs));
    // Every slot held by a silent client (dropped at its deadline): the
    // clients told "busy" retry until they are served.
    let _silent: Vec<UnixStream> = (0..64).filter_map(|_| UnixStream::connect(t.sock()).ok()).collect();
    let outs = burst(&t);
    assert!(failed(&outs).is_empty(), "of 12 clients while the slots were held: {:?}", failed(&outs));
}
