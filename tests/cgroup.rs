//! SPEC §11 (issue 14): every process of a service in the service's own
//! cgroup, tracked, stopped, limited and measured — on this host's
//! cgroup2, and without any (a mount namespace whose /sys/fs/cgroup is an
//! empty tmpfs).
//!
//! The tests need root and cgroup2 (at /sys/fs/cgroup, or at
//! /sys/fs/cgroup/unified on a hybrid system); where either is missing
//! they say so and pass without checking anything.

mod common;
use common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

/// What the tests need to know of the host, or why they cannot run.
struct Host {
    mount: &'static str,
    /// The cgroup the tests (and so going) run in.
    base: String,
}

impl Host {
    fn get(test: &str) -> Option<Host> {
        let why = if !rustix_is_root() {
            "not root: going cannot make cgroups"
        } else if let Some(mount) = cgroup2_mount() {
            return Some(Host { mount, base: cgroup_of(std::process::id()) });
        } else {
            "no cgroup2 mounted at /sys/fs/cgroup or /sys/fs/cgroup/unified"
        };
        eprintln!("{test}: skipped: {why}");
        None
    }

    /// The directory of service `name` of the going on `t`'s socket.
    fn dir(&self, t: &Tmp, name: &str) -> String {
        format!("{}{}/{}/{name}", self.mount, self.base.trim_end_matches('/'), self.subtree(t))
    }

    fn subtree(&self, t: &Tmp) -> String {
        cgroup_subtree(t.sock().to_str().unwrap())
    }

    /// The cgroup path (as /proc/PID/cgroup says it) of service `name`.
    fn path(&self, t: &Tmp, name: &str) -> String {
        format!("{}/{}/{name}", self.base.trim_end_matches('/'), self.subtree(t))
    }

    fn procs(&self, t: &Tmp, name: &str) -> Vec<u32> {
        let text = fs::read_to_string(format!("{}/cgroup.procs", self.dir(t, name))).unwrap_or_default();
        text.split_whitespace().filter_map(|p| p.parse().ok()).collect()
    }
}

fn rustix_is_root() -> bool {
    status_field(std::process::id(), "Uid").split_whitespace().nth(1) == Some("0")
}

/// A service whose main process (`sleep MAIN`) starts a daemon that leaves
/// its session (`setsid`) and is orphaned (its shell exits): it writes its
/// pid to DIR/daemon and runs `sleep MAIN+1`. Before anything, each
/// instance writes `overlap` to DIR/overlaps if the previous instance's
/// daemon still runs.
fn daemonizing(t: &Tmp, main: u32) -> String {
    let dir = t.path.display();
    format!(
        "cmd=/bin/sh -c 'd=$(cat {dir}/daemon 2>/dev/null); \
         [ -n \"$d\" ] && grep -qs {daemon} /proc/$d/cmdline && echo overlap >>{dir}/overlaps; \
         setsid /bin/sh -c \"echo \\$\\$ >{dir}/daemon; exec sleep {daemon}\" & exec sleep {main}'\n",
        daemon = main + 1
    )
}

/// Waits until DIR/daemon names a live `sleep`, and returns its pid.
fn daemon_pid(t: &Tmp, old: Option<u32>) -> u32 {
    let mut pid = 0;
    let found = wait_until(T, || {
        pid = fs::read_to_string(t.file("daemon")).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0);
        pid != 0 && Some(pid) != old && cmdline(pid).first().is_some_and(|c| c == "sleep")
    });
    assert!(found, "no daemon started (pid file says {pid})");
    pid
}

fn overlaps(t: &Tmp) -> String {
    fs::read_to_string(t.file("overlaps")).unwrap_or_default()
}

#[test]
fn a_service_and_the_daemons_it_starts_share_its_cgroup() {
    let t = Tmp::new("cg_track");
    let Some(h) = Host::get("cg_track") else { return };
    t.write("web", &daemonizing(&t, 4_141_000));
    let g = Going::start(&t);
    let main = g.expect_started("web", 1);
    let daemon = daemon_pid(&t, None);
    let want = h.path(&t, "web");
    assert_eq!(cgroup_of(main), want, "main process");
    assert_eq!(cgroup_of(daemon), want, "daemon");
    assert_ne!(stat(daemon).unwrap().session, stat(main).unwrap().session, "the daemon left the session");
    let procs = h.procs(&t, "web");
    assert!(procs.contains(&main) && procs.contains(&daemon), "cgroup.procs: {procs:?}");
    g.expect_log(&format!("going: services run in cgroups below {}", h.dir(&t, "").trim_end_matches('/')));
    // going itself is not in a service's cgroup.
    assert!(!cgroup_of(g.pid()).ends_with("/web"), "{}", cgroup_of(g.pid()));
}

#[test]
fn stop_kills_every_process_of_the_cgroup() {
    let t = Tmp::new("cg_stop");
    let Some(h) = Host::get("cg_stop") else { return };
    // A second daemon that ignores the stop signal, and a stop_timeout
    // far beyond the test's patience: what is left when the main process
    // has gone is killed at once.
    let dir = t.path.display();
    t.write(
        "web",
        &format!(
            "cmd=/bin/sh -c 'setsid /bin/sh -c \"echo \\$\\$ >{dir}/daemon; exec sleep 4142001\" & \
             setsid /bin/sh -c \"trap \\\"\\\" TERM; sleep 4142005; :\" & exec sleep 4142000'\n\
             stop_timeout=600\n"
        ),
    );
    let g = Going::start(&t);
    let main = g.expect_started("web", 1);
    let daemon = daemon_pid(&t, None);
    assert!(wait_until(T, || h.procs(&t, "web").len() >= 4), "cgroup.procs: {:?}", h.procs(&t, "web"));
    let all = h.procs(&t, "web");
    let out = going_command().args(["stop", "-s", t.sock().to_str().unwrap(), "web"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    for pid in all.iter().chain([&main, &daemon]) {
        assert!(wait_dead(*pid), "pid {pid} ({:?}) survived going stop\n{}", cmdline(*pid), g.log());
    }
    assert!(wait_until(T, || h.procs(&t, "web").is_empty()));
    g.expect_log("going: web: pid ");
    let exit = last_exit(&g.log(), "web").unwrap();
    assert_eq!((exit.pid, exit.then.as_str()), (main, "stopped"), "{}", g.log());
    assert!(exit.ms < 5000, "the stop waited for stop_timeout: {}ms", exit.ms);
}

#[test]
fn what_a_main_process_leaves_is_killed_before_it_is_restarted() {
    let t = Tmp::new("cg_restart");
    let Some(h) = Host::get("cg_restart") else { return };
    t.write("web", &daemonizing(&t, 4_143_000));
    let g = Going::start(&t);
    let mut main = g.expect_started("web", 1);
    let mut daemon = daemon_pid(&t, None);
    for n in 2..=3 {
        signal(main, "KILL");
        let next = g.expect_started("web", n);
        assert!(!alive(daemon), "daemon {daemon} of the killed instance still runs");
        let exit = exit_of(&g.log(), "web", main).unwrap_or_else(|| panic!("no exit line for {main}\n{}", g.log()));
        assert_eq!(exit.how, "killed by SIGKILL");
        assert!(g.log().contains("going: web: its main process exited; killing the rest of its cgroup"));
        main = next;
        daemon = daemon_pid(&t, Some(daemon));
        assert_eq!(cgroup_of(daemon), h.path(&t, "web"));
    }
    assert_eq!(overlaps(&t), "", "an instance started while the previous one's daemon ran");
    // A main process that exits on its own: its daemon goes too.
    signal(main, "TERM");
    g.expect_started("web", 4);
    assert!(wait_dead(daemon), "daemon {daemon} outlived its main process");
    assert_eq!(overlaps(&t), "");
}

#[test]
fn a_going_killed_with_sigkill_leaves_nothing_its_successor_runs_beside() {
    let t = Tmp::new("cg_successor");
    let Some(h) = Host::get("cg_successor") else { return };
    t.write("web", &daemonizing(&t, 4_144_000));
    let mut g = Going::start(&t);
    let main = g.expect_started("web", 1);
    let daemon = daemon_pid(&t, None);
    signal(g.pid(), "KILL");
    assert!(g.wait_exit(T).is_some());
    // The main process dies with going; the daemon is still in the cgroup.
    assert!(wait_dead(main));
    assert!(alive(daemon), "the daemon died with going: nothing left to test");
    assert_eq!(h.procs(&t, "web"), [daemon]);
    let g2 = Going::start(&t);
    g2.expect_started("web", 1);
    let log = g2.log();
    let emptied = log.find("going: emptied 1 cgroups that a previous going left").unwrap_or_else(|| panic!("{log}"));
    assert!(emptied < log.find("going: web: started").unwrap(), "{log}");
    assert!(!alive(daemon), "the old daemon survived the new going");
    assert_eq!(overlaps(&t), "", "the new instance started beside the old daemon");
    drop(g2);
    // A going that exits removes what it made.
    assert!(wait_until(T, || !std::path::Path::new(&h.dir(&t, "")).exists()), "{} is left", h.dir(&t, ""));
}

#[test]
fn two_sockets_give_two_subtrees() {
    let (a, b) = (Tmp::new("cg_two_a"), Tmp::new("cg_two_b"));
    let Some(h) = Host::get("cg_two") else { return };
    a.write("x", &sleeper(4_145_000));
    b.write("x", &sleeper(4_145_001));
    let ga = Going::start(&a);
    let gb = Going::start(&b);
    let (pa, pb) = (ga.expect_started("x", 1), gb.expect_started("x", 1));
    assert_ne!(h.subtree(&a), h.subtree(&b));
    // (A child that moves itself into its cgroup, where clone3 cannot
    // start it there, may be seen before it has.)
    assert!(wait_until(T, || cgroup_of(pa) == h.path(&a, "x")), "{} in {}", pa, cgroup_of(pa));
    assert!(wait_until(T, || cgroup_of(pb) == h.path(&b, "x")), "{} in {}", pb, cgroup_of(pb));
    // One going's stop leaves the other's service alone.
    drop(ga);
    assert!(wait_dead(pa));
    assert!(alive(pb) && cgroup_of(pb) == h.path(&b, "x"));
    // And a second going on a socket already served keeps out of it.
    let g3 = Going::start(&b);
    assert!(g3.wait_log("another going is running", T), "{}", g3.log());
    assert!(alive(pb));
}

#[test]
fn status_cpu_is_the_whole_cgroups() {
    let t = Tmp::new("cg_cpu");
    let Some(_h) = Host::get("cg_cpu") else { return };
    // The main process sleeps; a child of it burns CPU.
    t.write("busy", "cmd=/bin/sh -c '(while :; do :; done) & exec sleep 4146000'\n");
    let g = Going::start(&t);
    let main = g.expect_started("busy", 1);
    let cpu = || {
        let out = going_command().args(["status", "-m", "-s", t.sock().to_str().unwrap(), "busy"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let v = text.split_whitespace().find_map(|f| f.strip_prefix("cpu=")).and_then(|v| v.parse::<f64>().ok());
        (v.unwrap_or(0.0), text)
    };
    let start = Instant::now();
    let busy = wait_until(Duration::from_secs(20), || cpu().0 >= 0.3);
    let (seconds, row) = cpu();
    assert!(busy, "cpu stayed below 0.3 s for {:?}: {row}", start.elapsed());
    assert!(!row.contains("cpu_usec=") && !row.contains("memory_current="), "{row}");
    // Its main process itself has used next to nothing.
    let stat = fs::read_to_string(format!("/proc/{main}/stat")).unwrap();
    let f: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    assert!(ticks < 10, "main used {ticks} ticks; the cgroup {seconds} s");
    drop(g);
}

/// The controller each limit key needs, and the file it sets.
const LIMITS: [(&str, &str, &str, &str); 4] = [
    ("memory_max=64M", "memory", "memory.max", "67108864"),
    ("pids_max=20", "pids", "pids.max", "20"),
    ("cpu_max=50%", "cpu", "cpu.max", "50000 100000"),
    ("cpu_weight=200", "cpu", "cpu.weight", "200"),
];

#[test]
fn a_limit_key_is_applied_or_its_service_fails_with_the_reason() {
    let t = Tmp::new("cg_limits");
    let Some(h) = Host::get("cg_limits") else { return };
    for (i, (key, ..)) in LIMITS.iter().enumerate() {
        t.write(&format!("l{i}"), &format!("{}{key}\n", sleeper(4_147_000 + i as u32)));
    }
    let base_controllers =
        fs::read_to_string(format!("{}{}/cgroup.controllers", h.mount, h.base.trim_end_matches('/')))
            .unwrap_or_default();
    let g = Going::start(&t);
    for (i, (key, ctl, file, value)) in LIMITS.iter().enumerate() {
        let name = format!("l{i}");
        if base_controllers.split_whitespace().any(|c| c == *ctl) {
            g.expect_started(&name, 1);
            let got = fs::read_to_string(format!("{}/{file}", h.dir(&t, &name))).unwrap_or_default();
            assert_eq!(got.trim(), *value, "{key}");
        } else {
            let k = key.split('=').next().unwrap();
            g.expect_log(&format!("going: {name}: not started: {k}: no {ctl} controller in cgroup2"));
            let out = going_command().args(["status", "-s", t.sock().to_str().unwrap()]).output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(text.contains(&format!("{name}: {k}: no {ctl} controller in cgroup2")), "{text}");
            assert!(!std::path::Path::new(&h.dir(&t, &name)).exists(), "a cgroup without its limit is left");
        }
    }
    assert_eq!(g.count_log(": started, pid "), base_controllers_count(&base_controllers));
}

fn base_controllers_count(controllers: &str) -> usize {
    LIMITS.iter().filter(|(_, ctl, ..)| controllers.split_whitespace().any(|c| c == *ctl)).count()
}

#[test]
fn without_cgroup2_services_run_in_process_groups_as_before() {
    let t = Tmp::new("cg_none");
    if !rustix_is_root() {
        eprintln!("cg_none: skipped: not root: no mount namespace");
        return;
    }
    t.write("web", &daemonizing(&t, 4_148_000));
    t.write("limited", &format!("{}memory_max=64M\n", sleeper(4_148_100)));
    // going in a mount namespace of its own whose /sys/fs/cgroup is empty.
    let hide = "exec unshare -m /bin/sh -c 'mount -t tmpfs none /sys/fs/cgroup && exec \"$0\" \"$@\"' \
                \"$0\" -d \"$1\" -s \"$2\";";
    let g = Going::start_via(&t, hide, &[]);
    g.expect_log("going: no cgroup2 mounted: services are tracked by their process groups");
    let main = g.expect_started("web", 1);
    let daemon = daemon_pid(&t, None);
    assert_eq!(cgroup_of(main), cgroup_of(g.pid()), "in a cgroup of its own without cgroup2?");
    g.expect_log("going: limited: not started: memory_max: no memory controller in cgroup2");
    // SOCKET.pids is what a restarted going goes by.
    assert!(wait_until(T, || t.path.join("sock.pids").exists()));
    // Process groups: stop ends the main process's group; the daemon
    // that left the session is, as before, out of reach.
    let out = going_command().args(["stop", "-s", t.sock().to_str().unwrap(), "web"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    g.expect_log(&format!("going: web: pid {main} "));
    assert_eq!(last_exit(&g.log(), "web").unwrap().then, "stopped");
    assert!(alive(daemon), "without cgroups the daemon was reached?");
    signal(daemon, "KILL");
}

#[test]
fn a_shutdown_kills_what_services_leave_and_removes_every_cgroup() {
    let t = Tmp::new("cg_shutdown");
    let Some(h) = Host::get("cg_shutdown") else { return };
    // `web` leaves a daemon that ignores SIGTERM when its main process
    // goes; `db` is a plain service, whose cgroup goes as soon as it is
    // empty.
    let dir = t.path.display();
    t.write(
        "web",
        &format!(
            "cmd=/bin/sh -c 'setsid /bin/sh -c \"echo \\$\\$ >{dir}/daemon; trap \\\"\\\" TERM; \
             while :; do sleep 1; done\" & exec sleep 4146000'\nstop_timeout=600\n"
        ),
    );
    t.write("db", &sleeper(4_146_001));
    let mut g = Going::start(&t);
    let (web, db) = (g.expect_started("web", 1), g.expect_started("db", 1));
    let daemon = daemon_pid_of(&t);
    assert!(wait_until(T, || h.procs(&t, "web").contains(&daemon)), "cgroup.procs: {:?}", h.procs(&t, "web"));
    signal(g.pid(), "TERM");
    let status = g.wait_exit(T).unwrap_or_else(|| panic!("going did not exit\n{}", g.log()));
    assert!(status.success(), "{status:?}\n{}", g.log());
    for pid in [web, db, daemon] {
        assert!(wait_dead(pid), "pid {pid} survived the shutdown\n{}", g.log());
    }
    g.expect_log("going: web: its main process exited; killing the rest of its cgroup");
    assert!(!std::path::Path::new(&h.dir(&t, "")).exists(), "{} is left\n{}", h.dir(&t, ""), g.log());
}

/// The pid in DIR/daemon once it names a live shell.
fn daemon_pid_of(t: &Tmp) -> u32 {
    let mut pid = 0;
    let found = wait_until(T, || {
        pid = fs::read_to_string(t.file("daemon")).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0);
        pid != 0 && alive(pid)
    });
    assert!(found, "no daemon started");
    pid
}

/// Service `web`: it makes cgroups below its own, `inner` (a path) and
/// `empty/a/b` (nothing ever runs in the latter), and starts a daemon
/// that leaves its session and moves into `inner`, writing its pid
/// to DIR/daemon. The daemon writes `term` to DIR/got on SIGTERM and
/// exits, and the main process, a shell, exits on SIGTERM once it sees
/// that (or 2 s later); with `stubborn` both ignore SIGTERM.
fn nesting(t: &Tmp, h: &Host, inner: &str, stubborn: bool) {
    let (dir, cg) = (t.path.display(), h.dir(t, "web"));
    let script = |name: &str, text: String| {
        let path = t.file(name);
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    };
    let (daemon_trap, main_trap) = if stubborn {
        ("trap '' TERM".to_string(), "trap '' TERM".to_string())
    } else {
        (
            format!("trap 'echo term >>{dir}/got; exit 0' TERM"),
            format!(
                "trap 'i=0; while [ ! -s {dir}/got ] && [ $i -lt 40 ]; do sleep 0.05; i=$((i+1)); done; exit 0' TERM"
            ),
        )
    };
    script(
        "daemon.sh",
        format!(
            "#!/bin/sh\necho $$ >$1/cgroup.procs || exit 1\n{daemon_trap}\necho $$ >{dir}/daemon\nwhile :; do sleep 1; done\n"
        ),
    );
    script(
        "nest.sh",
        format!(
            "#!/bin/sh\nmkdir -p {cg}/{inner} {cg}/empty/a/b || exit 1\n\
             setsid {dir}/daemon.sh {cg}/{inner} &\n{main_trap}\nwhile :; do sleep 1; done\n"
        ),
    );
    t.write("web", &format!("cmd={dir}/nest.sh\nstop_timeout=600\n"));
}

/// The daemon `nesting` started, once it is in `inner`.
fn nested_daemon(t: &Tmp, h: &Host, inner: &str) -> u32 {
    let daemon = daemon_pid_of(t);
    let want = format!("{}/{inner}", h.path(t, "web"));
    assert!(wait_until(T, || cgroup_of(daemon) == want), "daemon {daemon} in {}", cgroup_of(daemon));
    daemon
}

const INNER: &str = "inner/deeper";

#[test]
fn the_stop_signal_and_the_kill_reach_cgroups_a_service_made_below_its_own() {
    let t = Tmp::new("cg_nested_stop");
    let Some(h) = Host::get("cg_nested_stop") else { return };
    nesting(&t, &h, INNER, false);
    let g = Going::start(&t);
    let main = g.expect_started("web", 1);
    let daemon = nested_daemon(&t, &h, INNER);
    let out = going_command().args(["stop", "-s", t.sock().to_str().unwrap(), "web"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(wait_dead(main) && wait_dead(daemon), "daemon {daemon} survived going stop\n{}", g.log());
    let exit = g.expect_exit("web", main);
    assert_eq!(exit.then, "stopped", "{}", g.log());
    assert!(exit.ms < 5000, "the stop waited for stop_timeout: {}ms", exit.ms);
    // It had the stop signal, not only the kill.
    let got = fs::read_to_string(t.file("got")).unwrap_or_default();
    assert_eq!(got, "term\n", "{}", g.log());
    let out = going_command().args(["status", "-s", t.sock().to_str().unwrap(), "web"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.lines().any(|l| l.split_whitespace().take(2).eq(["web", "down"])), "{text}");
}

/// going with `nesting`'s stubborn service at `inner`: one SIGTERM stops
/// nothing, a second kills it all and going exits 0.
fn killed_by_a_second_sigterm(t: &Tmp, h: &Host, inner: &str) -> Going {
    nesting(t, h, inner, true);
    let mut g = Going::start(t);
    let main = g.expect_started("web", 1);
    let daemon = nested_daemon(t, h, inner);
    g.signal("TERM");
    g.expect_log(&format!("going: web: stopping pid {main} with SIGTERM"));
    assert!(g.wait_exit(Duration::from_millis(300)).is_none(), "going exited at the first SIGTERM");
    g.signal("TERM");
    let st = g.wait_exit(T).unwrap_or_else(|| panic!("going still running after the second SIGTERM\n{}", g.log()));
    assert_eq!(st.code(), Some(0), "{}", g.log());
    assert!(wait_dead(main) && wait_dead(daemon), "daemon {daemon} survived\n{}", g.log());
    g
}

#[test]
fn a_second_sigterm_kills_below_a_services_cgroup_and_going_leaves_no_cgroup() {
    let t = Tmp::new("cg_nested_twice");
    let Some(h) = Host::get("cg_nested_twice") else { return };
    let g = killed_by_a_second_sigterm(&t, &h, INNER);
    assert!(!std::path::Path::new(&h.dir(&t, "")).exists(), "{} is left\n{}", h.dir(&t, ""), g.log());
}

#[test]
fn a_second_sigterm_kills_a_process_deeper_than_the_walk_reaches() {
    let t = Tmp::new("cg_nested_deeper");
    let Some(h) = Host::get("cg_nested_deeper") else { return };
    // 20 levels, beyond the 16 a walk of pids reaches (going(8)), and a
    // daemon that ignores SIGTERM: a shutdown kills the whole cgroup
    // whatever the kernel, as nothing starts again. The empty cgroups
    // below the walk's bounds are left (going(8)).
    let inner = (1..=20).map(|n| format!("l{n}")).collect::<Vec<_>>().join("/");
    killed_by_a_second_sigterm(&t, &h, &inner);
}

#[test]
fn a_successor_empties_the_cgroups_below_a_killed_goings_services() {
    let t = Tmp::new("cg_nested_successor");
    let Some(h) = Host::get("cg_nested_successor") else { return };
    nesting(&t, &h, INNER, false);
    let mut g = Going::start(&t);
    let main = g.expect_started("web", 1);
    let daemon = nested_daemon(&t, &h, INNER);
    signal(g.pid(), "KILL");
    assert!(g.wait_exit(T).is_some());
    assert!(wait_dead(main));
    assert!(alive(daemon), "the daemon died with going: nothing left to test");
    fs::remove_file(t.file("daemon")).unwrap();
    let g2 = Going::start(&t);
    g2.expect_started("web", 1);
    let log = g2.log();
    let emptied = log.find("going: emptied 1 cgroups that a previous going left").unwrap_or_else(|| panic!("{log}"));
    assert!(emptied < log.find("going: web: started").unwrap(), "{log}");
    assert!(!alive(daemon), "the old daemon survived the new going");
    let second = nested_daemon(&t, &h, INNER);
    drop(g2);
    assert!(wait_dead(second), "daemon {second} outlived going");
    assert!(wait_until(T, || !std::path::Path::new(&h.dir(&t, "")).exists()), "{} is left", h.dir(&t, ""));
}

#[test]
fn the_stop_signal_reaches_sixteen_levels_below_a_service_and_its_exit_removes_them() {
    let t = Tmp::new("cg_nested_deep");
    let Some(h) = Host::get("cg_nested_deep") else { return };
    // going(8): at most 16 levels below the service's cgroup.
    let inner = (1..=16).map(|n| format!("l{n}")).collect::<Vec<_>>().join("/");
    nesting(&t, &h, &inner, false);
    let mut g = Going::start(&t);
    let main = g.expect_started("web", 1);
    let daemon = nested_daemon(&t, &h, &inner);
    g.signal("TERM");
    let st = g.wait_exit(T).unwrap_or_else(|| panic!("going still running\n{}", g.log()));
    assert_eq!(st.code(), Some(0), "{}", g.log());
    assert!(wait_dead(main) && wait_dead(daemon), "daemon {daemon} survived\n{}", g.log());
    assert_eq!(fs::read_to_string(t.file("got")).unwrap_or_default(), "term\n", "{}", g.log());
    assert!(!std::path::Path::new(&h.dir(&t, "")).exists(), "{} is left\n{}", h.dir(&t, ""), g.log());
}

#[test]
fn every_cgroup_of_a_wide_tree_below_a_service_is_emptied_and_removed() {
    let t = Tmp::new("cg_nested_wide");
    let Some(h) = Host::get("cg_nested_wide") else { return };
    // 40 cgroups side by side, each with one below it where a process
    // that ignores SIGTERM runs: more than one read of each directory.
    let (dir, cg) = (t.path.display(), h.dir(&t, "web"));
    let path = t.file("wide.sh");
    fs::write(
        &path,
        format!(
            "#!/bin/sh\nfor i in $(seq 1 40); do mkdir -p {cg}/c$i/d || exit 1; \
             setsid /bin/sh -c \"trap '' TERM; echo \\$\\$ >{cg}/c$i/d/cgroup.procs; echo \\$\\$ >>{dir}/pids; \
             exec sleep 4153000\" & done\nexec sleep 4153001\n"
        ),
    )
    .unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    t.write("web", &format!("cmd={}\nstop_timeout=600\n", path.display()));
    let mut g = Going::start(&t);
    let main = g.expect_started("web", 1);
    let pids = || -> Vec<u32> {
        let text = fs::read_to_string(t.file("pids")).unwrap_or_default();
        text.split_whitespace().filter_map(|p| p.parse().ok()).collect()
    };
    assert!(wait_until(T, || pids().len() == 40), "{:?}", pids());
    let all = pids();
    assert!(wait_until(T, || all.iter().all(|&p| cgroup_of(p).ends_with("/d"))));
    g.signal("TERM");
    let st = g.wait_exit(T).unwrap_or_else(|| panic!("going still running\n{}", g.log()));
    assert_eq!(st.code(), Some(0), "{}", g.log());
    for pid in all.iter().chain([&main]) {
        assert!(wait_dead(*pid), "pid {pid} survived\n{}", g.log());
    }
    assert!(!std::path::Path::new(&h.dir(&t, "")).exists(), "{} is left\n{}", h.dir(&t, ""), g.log());
}

/// A service whose main process and a daemon it starts (out of its
/// session) each write `TAG-main` or `TAG-daemon` to DIR/terms for every
/// SIGTERM they get, and exit 0.5 s after the first: a second signal, even
/// a few milliseconds later, would be written too (python runs a handler
/// as soon as a signal wakes it, where a shell's trap waits for its
/// foreground command). Each writes a line to DIR/armed once its handler
/// is set.
fn counting(t: &Tmp, tag: &str) -> String {
    let dir = t.path.display();
    let script = t.file("counting.py");
    fs::write(
        &script,
        format!(
            "import os, signal, sys, time\n\
             who = 'main' if os.fork() else (os.setsid(), 'daemon')[1]\n\
             first = []\n\
             def term(*_):\n\
             \x20   open('{dir}/terms', 'a').write(sys.argv[1] + '-' + who + '\\n')\n\
             \x20   first.append(time.monotonic())\n\
             signal.signal(signal.SIGTERM, term)\n\
             open('{dir}/armed', 'a').write(who + '\\n')\n\
             while not first or time.monotonic() < first[0] + 0.5:\n\
             \x20   time.sleep(0.02)\n"
        ),
    )
    .unwrap();
    format!("cmd=/usr/bin/python3 {} {tag}\n", script.display())
}

#[test]
fn every_process_of_every_service_gets_one_stop_signal_in_a_shutdown() {
    let t = Tmp::new("cg_once");
    let Some(h) = Host::get("cg_once") else { return };
    t.write("a", &counting(&t, "a"));
    t.write("b", &counting(&t, "b"));
    // Down when the shutdown comes: its cgroup is still there, and going
    // removes it with the subtree.
    t.write("c", "cmd=/bin/false\n");
    let mut g = Going::start(&t);
    g.expect_started("a", 1);
    g.expect_started("b", 1);
    g.expect_log("going: c: pid ");
    assert!(std::path::Path::new(&h.dir(&t, "c")).exists(), "no cgroup for c\n{}", g.log());
    let armed = || fs::read_to_string(t.file("armed")).unwrap_or_default().lines().count();
    assert!(wait_until(T, || armed() == 4), "{} of 4 shells set their trap", armed());
    signal(g.pid(), "TERM");
    let status = g.wait_exit(T).unwrap_or_else(|| panic!("going did not exit\n{}", g.log()));
    assert!(status.success(), "{status:?}\n{}", g.log());
    let mut terms: Vec<String> =
        fs::read_to_string(t.file("terms")).unwrap_or_default().lines().map(String::from).collect();
    terms.sort();
    assert_eq!(terms, ["a-daemon", "a-main", "b-daemon", "b-main"], "{}", g.log());
    assert!(!std::path::Path::new(&h.dir(&t, "")).exists(), "{} is left\n{}", h.dir(&t, ""), g.log());
}

#[test]
fn what_a_stop_handler_starts_is_not_sent_the_stop_signal() {
    let t = Tmp::new("cg_handler");
    let Some(_h) = Host::get("cg_handler") else { return };
    // Each service's shell runs a command when SIGTERM comes; that
    // command must run to its end (status 0), not be stopped with it.
    let dir = t.path.display();
    let script = t.file("handler.sh");
    fs::write(
        &script,
        format!(
            "trap '/bin/sleep 0.3; echo \"$1 $?\" >>{dir}/helpers; exit 0' TERM\n\
             echo $1 >>{dir}/armed\n/bin/sleep 1000 &\nwait\n"
        ),
    )
    .unwrap();
    let n = 15;
    for i in 0..n {
        t.write(&format!("s{i:02}"), &format!("cmd=/bin/sh {} s{i:02}\nstop_timeout=5\n", script.display()));
    }
    let mut g = Going::start(&t);
    let armed = || fs::read_to_string(t.file("armed")).unwrap_or_default().lines().count();
    assert!(wait_until(T, || armed() == n), "{} of {n} shells set their trap\n{}", armed(), g.log());
    signal(g.pid(), "TERM");
    let status = g.wait_exit(T).unwrap_or_else(|| panic!("going did not exit\n{}", g.log()));
    assert!(status.success(), "{status:?}\n{}", g.log());
    let helpers = fs::read_to_string(t.file("helpers")).unwrap_or_default();
    let mut lines: Vec<&str> = helpers.lines().collect();
    lines.sort();
    let want: Vec<String> = (0..n).map(|i| format!("s{i:02} 0")).collect();
    assert_eq!(lines, want, "{}", g.log());
}

#[test]
fn a_process_moved_out_of_its_services_cgroup_dies_with_its_process_group() {
    let t = Tmp::new("cg_moved_out");
    let Some(h) = Host::get("cg_moved_out") else { return };
    // Root can move a process of a service into another cgroup; it is
    // still in the service's process group, which is killed when the
    // main process is reaped.
    let out = format!("{}{}/cg-moved-out-{}", h.mount, h.base.trim_end_matches('/'), std::process::id());
    fs::create_dir(&out).unwrap();
    let dir = t.path.display();
    t.write(
        "web",
        &format!(
            "cmd=/bin/sh -c '/bin/sh -c \"echo \\$\\$ >{out}/cgroup.procs; trap \\\"\\\" TERM; \
             echo \\$\\$ >{dir}/daemon; while :; do sleep 1; done\" & exec sleep 4147000'\n"
        ),
    );
    let mut g = Going::start(&t);
    let main = g.expect_started("web", 1);
    let daemon = daemon_pid_of(&t);
    assert!(wait_until(T, || cgroup_of(daemon).ends_with(&out[out.rfind('/').unwrap()..])), "{}", cgroup_of(daemon));
    signal(g.pid(), "TERM");
    let status = g.wait_exit(T).unwrap_or_else(|| panic!("going did not exit\n{}", g.log()));
    let dead = wait_dead(daemon);
    if !dead {
        signal(daemon, "KILL");
        wait_dead(daemon);
    }
    wait_until(T, || fs::remove_dir(&out).is_ok());
    assert!(status.success(), "{status:?}\n{}", g.log());
    assert!(wait_dead(main), "main {main} survived");
    assert!(dead, "pid {daemon}, moved out of the cgroup, outlived going\n{}", g.log());
}
