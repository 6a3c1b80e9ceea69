//! SPEC §9: readiness (`ready=start|fd:N|notify|exit`, `ready_timeout`),
//! order (`after=`), one-shot tasks, cycles, reverse-order shutdown and
//! `going wait`.

mod common;
mod extra;
use common::*;
use extra::*;
use std::fs;
use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

fn supervise(t: &Tmp, services: &[(&str, &str)]) -> Going {
    for (name, text) in services {
        t.write(name, text);
    }
    let g = Going::start(t);
    wait_socket(t);
    g
}

/// A service that becomes ready by `ready=fd:3` once FLAG exists.
fn fd_ready_when(flag: &std::path::Path) -> String {
    format!("cmd=/bin/sh -c '{}; echo >&3; exec sleep 1000'\nready=fd:3\n", sh_until(flag))
}

/// Index of the first log line containing `s`.
fn line_of(g: &Going, s: &str) -> Option<usize> {
    g.log().lines().position(|l| l.contains(s))
}

fn has_python() -> bool {
    Command::new("python3").arg("-c").arg("pass").status().is_ok_and(|s| s.success())
}

#[test]
fn fd_readiness_releases_what_is_after_it() {
    let t = Tmp::new("ready_fd");
    let flag = t.file("go");
    let g = supervise(&t, &[("a", &fd_ready_when(&flag)), ("b", "cmd=/bin/sleep 1000\nafter=a\n")]);
    g.expect_started("a", 1);
    let a = expect_state(&t, "a", "starting");
    assert_eq!(a.get("ready"), "no");
    let b = expect_state(&t, "b", "waiting");
    assert_eq!(b.get("waiting"), "a", "{b:?}");
    // Held back while a is not ready.
    assert!(!wait_until(Duration::from_millis(500), || g.starts("b") > 0), "b started early; log:\n{}", g.log());
    fs::write(&flag, "").unwrap();
    g.expect_log("going: a: ready");
    g.expect_started("b", 1);
    assert!(line_of(&g, "going: a: ready") < line_of(&g, "going: b: started"), "log:\n{}", g.log());
    assert_eq!(expect_state(&t, "a", "up").get("ready"), "yes");
    expect_state(&t, "b", "up");
    // The readiness pipe is given up once it has spoken. (Descriptors
    // past 100 were inherited from the test harness, not going's.)
    let pipes = fds(g.pid()).iter().filter(|(n, l)| *n < 100 && l.starts_with("pipe:")).count();
    assert_eq!(pipes, 0, "going's descriptors: {:?}", fds(g.pid()));
}

#[test]
fn the_ready_descriptor_is_the_one_asked_for() {
    let t = Tmp::new("ready_fd_n");
    let out = t.file("fd7");
    let cmd = format!(
        "cmd=/bin/sh -c 'readlink /proc/self/fd/7 > {}; echo >&7; exec sleep 1000'\nready=fd:7\n",
        out.display()
    );
    let g = supervise(&t, &[("s", &cmd)]);
    g.expect_log("going: s: ready");
    assert!(read(&out).starts_with("pipe:"), "fd 7 was {:?}", read(&out));
}

#[test]
fn notify_readiness_counts_only_from_the_service() {
    let test = "notify_readiness_counts_only_from_the_service";
    if !has_python() {
        return skip(test, "python3 is not installed");
    }
    let t = Tmp::new("ready_notify");
    let flag = t.file("go");
    let env = t.file("env");
    let barrier = t.file("barrier");
    // A child of the service (in its session) says READY=1 and, as
    // systemd-notify does, waits with BARRIER=1 until going has read it:
    // a sender that exits at once may be gone (and reaped) before going
    // looks at whose it is, and then it counts for nobody.
    let send = t.file("send.py");
    fs::write(
        &send,
        format!(
            "import array, os, select, socket\n\
             path = os.environ['NOTIFY_SOCKET']\n\
             s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n\
             s.sendto(b'STATUS=fine\\nREADY=1\\n', path)\n\
             r, w = os.pipe()\n\
             s.sendmsg([b'BARRIER=1\\n'], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array('i', [w]))], 0, path)\n\
             os.close(w)\n\
             hup = select.select([r], [], [], 10)[0] and os.read(r, 1) == b''\n\
             open('{}', 'w').write('closed' if hup else 'open')\n",
            barrier.display()
        ),
    )
    .unwrap();
    let cmd = format!(
        "cmd=/bin/sh -c 'env > {}; {}; python3 {}; exec sleep 1000'\n\
         ready=notify\n",
        env.display(),
        sh_until(&flag),
        send.display()
    );
    let g = supervise(&t, &[("n", &cmd), ("after", "cmd=/bin/sleep 1000\nafter=n\n")]);
    g.expect_started("n", 1);
    assert!(wait_until(T, || read(&env).contains("NOTIFY_SOCKET=")), "env: {}", read(&env));
    let path = read(&env).lines().find_map(|l| l.strip_prefix("NOTIFY_SOCKET=").map(str::to_string)).unwrap();
    // Anyone else saying it changes nothing.
    let stranger = UnixDatagram::unbound().unwrap();
    stranger.send_to(b"READY=1\n", &path).unwrap();
    assert!(!wait_until(Duration::from_millis(500), || g.starts("after") > 0), "a stranger made n ready");
    expect_state(&t, "n", "starting");
    fs::write(&flag, "").unwrap();
    g.expect_log("going: n: ready");
    g.expect_started("after", 1);
    // going closed the descriptor that came with BARRIER=1.
    assert!(wait_until(T, || read(&barrier) == "closed"), "barrier: {:?}", read(&barrier));
}

#[test]
fn a_task_releases_its_dependents_when_it_succeeds() {
    let t = Tmp::new("ready_task");
    let (marker, go) = (t.file("mounted"), t.file("go"));
    // The task ends when the test says so: its dependent is seen waiting
    // first, however slow the clients are.
    let task = format!("cmd=/bin/sh -c '{}; touch {}'\nready=exit\n", sh_until(&go), marker.display());
    let dep = format!("cmd=/bin/sh -c 'test -e {} && exec sleep 1000; exit 9'\nafter=mount\n", marker.display());
    let g = supervise(&t, &[("mount", &task), ("web", &dep)]);
    g.expect_started("mount", 1);
    expect_state(&t, "mount", "starting");
    expect_state(&t, "web", "waiting");
    fs::write(&go, "").unwrap();
    let done = expect_state(&t, "mount", "done");
    assert_eq!((done.get("last"), done.get("ready")), ("exit:0", "yes"));
    expect_state(&t, "web", "up");
    // A task runs once: restart defaults to never.
    assert!(!wait_until(Duration::from_millis(500), || g.starts("mount") > 1));
    assert!(g.log().contains("going: mount: pid "), "{}", g.log());
    let e = last_exit(&g.log(), "mount").unwrap();
    assert_eq!(e.then, "done");
}

#[test]
fn a_failed_task_holds_its_dependents_until_it_is_restarted() {
    let t = Tmp::new("ready_task_fail");
    let ok = t.file("ok");
    let task = format!("cmd=/bin/sh -c 'test -e {}'\nready=exit\n", ok.display());
    let g = supervise(&t, &[("setup", &task), ("d", "cmd=/bin/sleep 1000\nafter=setup\n")]);
    let r = expect_state(&t, "setup", "failed");
    assert!(r.get("error").contains("task failed with status 1"), "{r:?}");
    let d = expect_state(&t, "d", "waiting");
    assert_eq!(d.get("waiting"), "setup");
    // going wait says at once why it cannot be.
    let asked = Instant::now();
    let out = client(&t, "wait", &["d"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(asked.elapsed() < Duration::from_secs(2));
    assert!(out.stderr.contains("setup") && out.stderr.contains("task failed"), "{out:?}");
    // `going restart` of the task, now able to succeed, releases d.
    fs::write(&ok, "").unwrap();
    assert_eq!(client(&t, "restart", &["setup"]).code, 0);
    expect_state(&t, "setup", "done");
    expect_state(&t, "d", "up");
    assert_eq!(g.starts("d"), 1);
}

#[test]
fn a_task_on_failure_is_retried_with_backoff_until_it_succeeds() {
    let t = Tmp::new("ready_task_retry");
    let count = t.file("count");
    // Fails twice, then succeeds.
    let task = format!(
        "cmd=/bin/sh -c 'echo x >> {0}; test $(wc -l < {0}) -ge 3'\nready=exit\nrestart=on-failure\n",
        count.display()
    );
    let g = supervise(&t, &[("net", &task), ("d", "cmd=/bin/sleep 1000\nafter=net\n")]);
    expect_state(&t, "net", "backoff");
    assert!(wait_until(Duration::from_secs(8), || g.starts("net") >= 3), "log:\n{}", g.log());
    expect_state(&t, "net", "done");
    expect_state(&t, "d", "up");
    assert!(g.log().contains("; restarting in 1s") && g.log().contains("; restarting in 2s"), "{}", g.log());
}

#[test]
fn restart_always_is_not_for_tasks() {
    let t = Tmp::new("ready_task_always");
    t.write("bad", "cmd=/bin/true\nready=exit\nrestart=always\n");
    let (code, text) = t.check();
    assert_eq!(code, 78, "{text}");
    assert!(text.contains("/bad:3: restart=always cannot be used with ready=exit"), "{text}");
}

#[test]
fn not_ready_in_time_is_stopped_and_backs_off() {
    let t = Tmp::new("ready_timeout");
    let g = supervise(&t, &[("slow", "cmd=/bin/sleep 1000\nready=fd:3\nready_timeout=1\n")]);
    let first = g.expect_started("slow", 1);
    g.expect_log("going: slow: not ready after 1s; stopping pid ");
    assert!(wait_dead(first));
    let e = g.expect_exit("slow", first);
    assert_eq!(e.then, "restarting in 1s", "a timeout counts as a quick exit");
    g.expect_started("slow", 2);
}

/// Not ready in time is a failure: with `restart=never` nothing is tried
/// again, a task is `failed` (a wait on it fails at once) and a critical
/// service ends going.
#[test]
fn not_ready_in_time_with_restart_never_is_not_tried_again() {
    let t = Tmp::new("ready_timeout_never");
    let g = supervise(&t, &[("t", "cmd=/bin/sleep 1000\nready=exit\nready_timeout=1\nrestart=never\n")]);
    let first = g.expect_started("t", 1);
    g.expect_log("going: t: not ready after 1s; stopping pid ");
    assert!(wait_dead(first));
    expect_state(&t, "t", "failed");
    let asked = Instant::now();
    let out = client(&t, "wait", &["-t", "10", "t"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(asked.elapsed() < Duration::from_secs(5), "wait took {:?}", asked.elapsed());
    assert!(!wait_until(Duration::from_millis(2500), || g.starts("t") > 1), "tried again:\n{}", g.log());
    let t2 = Tmp::new("ready_timeout_critical");
    let mut g2 = supervise(
        &t2,
        &[
            ("c", "cmd=/bin/sleep 1000\nready=fd:3\nready_timeout=1\nrestart=never\ncritical=yes\n"),
            ("other", &sleeper(1000)),
        ],
    );
    g2.expect_started("c", 1);
    let st = g2.wait_exit(Duration::from_secs(15)).unwrap_or_else(|| panic!("going did not end:\n{}", g2.log()));
    assert!(!st.success(), "{st:?}");
}

/// A restart after a backoff waits for what the service is after, as its
/// first start did: after a stop of what it needs it is `waiting`.
#[test]
fn a_backoff_that_ends_waits_for_what_it_is_after() {
    let t = Tmp::new("ready_backoff_waits");
    let g = supervise(&t, &[("a", &sleeper(1000)), ("b", "cmd=/bin/sh -c 'exit 1'\nafter=a\n")]);
    g.expect_started("b", 1);
    assert_eq!(client(&t, "stop", &["a"]).code, 0);
    expect_state(&t, "a", "down");
    expect_state(&t, "b", "waiting");
    let n = g.starts("b");
    assert!(!wait_until(Duration::from_secs(3), || g.starts("b") > n), "b started while a was down:\n{}", g.log());
    assert_eq!(client(&t, "start", &["a"]).code, 0);
    assert!(wait_until(T, || g.starts("b") > n), "b never started again:\n{}", g.log());
}

/// An order change while both ran made a cycle of two running services:
/// a shutdown still stops them and going exits.
#[test]
fn a_cycle_of_running_services_does_not_hold_up_a_shutdown() {
    let t = Tmp::new("ready_cycle_shutdown");
    let mut g = supervise(&t, &[("a", &sleeper(1000)), ("b", &sleeper(1001))]);
    g.expect_started("a", 1);
    g.expect_started("b", 1);
    t.write("a", &format!("{}after=b\n", sleeper(1000)));
    t.write("b", &format!("{}after=a\n", sleeper(1001)));
    // Both are order-only changes: applied without a restart.
    thread::sleep(Duration::from_millis(500));
    assert_eq!((g.starts("a"), g.starts("b")), (1, 1), "{}", g.log());
    g.signal("TERM");
    let st = g.wait_exit(Duration::from_secs(15)).unwrap_or_else(|| panic!("going did not exit:\n{}", g.log()));
    assert!(st.success(), "{st:?}");
}

#[test]
fn a_cycle_fails_its_members_and_the_rest_runs() {
    let t = Tmp::new("ready_cycle");
    let g = supervise(
        &t,
        &[
            ("a", "cmd=/bin/sleep 1000\nafter=b\n"),
            ("b", "cmd=/bin/sleep 1000\nafter=a\n"),
            ("c", "cmd=/bin/sleep 1000\nafter=c\n"),
            ("free", "cmd=/bin/sleep 1000\n"),
            ("held", "cmd=/bin/sleep 1000\nafter=a\n"),
        ],
    );
    g.expect_started("free", 1);
    for (name, cycle) in [("a", "a -> b -> a"), ("b", "b -> a -> b"), ("c", "c -> c")] {
        let r = expect_state(&t, name, "failed");
        assert!(r.get("error").contains(&format!("dependency cycle {cycle}")), "{r:?}");
    }
    expect_state(&t, "held", "waiting");
    assert_eq!(g.starts("a") + g.starts("b") + g.starts("c") + g.starts("held"), 0);
    let (code, text) = t.check();
    assert_eq!(code, 78, "{text}");
    assert!(text.contains("dependency cycle a -> b -> a"), "{text}");
    assert!(text.contains("dependency cycle c -> c"), "{text}");
    // Breaking the cycle lets them start.
    t.write("b", "cmd=/bin/sleep 1000\n");
    expect_state(&t, "b", "up");
    expect_state(&t, "a", "up");
    expect_state(&t, "held", "up");
}

#[test]
fn names_with_no_file_are_ignored_with_a_warning() {
    let t = Tmp::new("ready_missing");
    let g = supervise(&t, &[("a", "cmd=/bin/sleep 1000\nafter=nosuch, other\n")]);
    g.expect_started("a", 1);
    let (code, text) = t.check();
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("/a: warning: after=nosuch: no such service (ignored)"), "{text}");
    assert!(text.contains("1 valid service, 0 problems, 2 warnings"), "{text}");
    // A name that appears later is waited for by later starts only.
    t.write("other", "cmd=/bin/sleep 1000\n");
    g.expect_started("other", 1);
    expect_state(&t, "a", "up");
    assert_eq!(g.starts("a"), 1);
}

#[test]
fn order_only_a_running_service_is_not_touched() {
    let t = Tmp::new("ready_order_only");
    let g = supervise(&t, &[("db", "cmd=/bin/sleep 1000\n"), ("web", "cmd=/bin/sleep 1001\nafter=db\n")]);
    let web = g.expect_started("web", 1);
    // A restart or stop of what it is after does not touch it.
    let db = g.expect_started("db", 1);
    assert_eq!(client(&t, "restart", &["db"]).code, 0);
    g.expect_started("db", 2);
    assert_eq!(client(&t, "stop", &["db"]).code, 0);
    assert!(wait_dead(g.pid_of("db").unwrap()) && wait_dead(db));
    assert!(alive(web));
    // Adding after= to a running service's file does not restart it.
    t.write("db", "cmd=/bin/sleep 1000\nafter=web\n");
    t.write("web", "cmd=/bin/sleep 1001\n\nafter = db\n# order only\n");
    assert!(!wait_until(Duration::from_millis(800), || g.starts("web") > 1), "log:\n{}", g.log());
    assert!(alive(web));
    assert_eq!(g.starts("web"), 1);
}

#[test]
fn shutdown_stops_in_reverse_order_and_unrelated_in_parallel() {
    let t = Tmp::new("ready_shutdown");
    // Each takes 0.4 s to stop, so an order shows in the log.
    let slow = |after: &str| {
        format!("cmd=/bin/sh -c 'trap \"sleep 0.4; exit 0\" TERM; while :; do sleep 0.05; done'\n{after}")
    };
    let mut g =
        supervise(&t, &[("a", &slow("")), ("b", &slow("after=a\n")), ("c", &slow("after=b\n")), ("lone", &slow(""))]);
    for n in ["a", "b", "c", "lone"] {
        expect_state(&t, n, "up");
    }
    g.signal("TERM");
    let st = g.wait_exit(Duration::from_secs(10)).expect("going did not exit");
    assert!(st.success(), "{st:?}");
    let log = g.log();
    let at = |s: &str| log.lines().position(|l| l.contains(s)).unwrap_or_else(|| panic!("no {s:?} in:\n{log}"));
    // c first, and lone with it; b once c is gone; a once b is gone.
    assert!(at("going: c: stopping") < at("going: c: pid "), "{log}");
    assert!(at("going: lone: stopping") < at("going: c: pid "), "lone waited for c:\n{log}");
    assert!(at("going: c: pid ") < at("going: b: stopping"), "{log}");
    assert!(at("going: b: pid ") < at("going: a: stopping"), "{log}");
}

#[test]
fn going_wait_returns_when_ready_and_fails_when_it_cannot_be() {
    let t = Tmp::new("ready_wait");
    let flag = t.file("go");
    let g = supervise(&t, &[("a", &fd_ready_when(&flag)), ("b", "cmd=/bin/sleep 1000\nafter=a\n")]);
    g.expect_started("a", 1);
    // A timeout.
    let out = client(&t, "wait", &["-t", "1", "b"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("not ready after 1s"), "{out:?}");
    // Unknown name.
    let out = client(&t, "wait", &["a", "nosuch"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("nosuch: no such service"), "{out:?}");
    // Ready: every waiting client returns 0 once a and b are.
    let sock = t.sock();
    let base = fds(g.pid()).len();
    let waiters: Vec<_> = (0..32)
        .map(|_| {
            going_command()
                .args(["wait", "-s", sock.to_str().unwrap(), "-t", "20", "a", "b"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // They wait in slots of their own: status and stop are still answered.
    assert!(
        wait_until(Duration::from_secs(20), || fds(g.pid()).len() >= base + 32),
        "{} of 32 waiters connected",
        fds(g.pid()).len().saturating_sub(base)
    );
    let asked = Instant::now();
    assert_eq!(client(&t, "status", &["a"]).code, 3, "a is not up yet");
    assert!(asked.elapsed() < Duration::from_secs(1));
    fs::write(&flag, "").unwrap();
    for w in waiters {
        let out = w.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(client(&t, "wait", &["a", "b"]).code, 0);
    // Stopped by hand: it cannot become ready without help.
    assert_eq!(client(&t, "stop", &["a"]).code, 0);
    expect_state(&t, "a", "down");
    let out = client(&t, "wait", &["a"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("a: stopped (going stop)"), "{out:?}");
    assert!(alive(g.pid()));
}

#[test]
fn status_exit_codes_say_whether_it_is_up() {
    let t = Tmp::new("ready_status_codes");
    let _g = supervise(&t, &[("up", &sleeper(1000)), ("f", "cmd=/bin/false\n")]);
    expect_state(&t, "up", "up");
    expect_state(&t, "f", "backoff");
    assert_eq!(client(&t, "status", &["up"]).code, 0);
    assert_eq!(client(&t, "status", &["up", "f"]).code, 3);
    assert_eq!(client(&t, "status", &["up", "nosuch"]).code, 1);
    assert_eq!(client(&t, "status", &[]).code, 0);
}

#[test]
fn a_waiting_client_costs_no_wake_up() {
    let test = "a_waiting_client_costs_no_wake_up";
    if emulated(test, "strace of going would trace the emulator") {
        return;
    }
    if !have("strace") {
        return skip(test, "strace is not installed");
    }
    let t = Tmp::new("ready_wait_idle");
    let g = supervise(&t, &[("a", "cmd=/bin/sleep 1000\nready=fd:3\n")]);
    g.expect_started("a", 1);
    let sock = t.sock();
    let mut waiter = going_command().args(["wait", "-s", sock.to_str().unwrap(), "a"]).spawn().unwrap();
    thread::sleep(Duration::from_millis(300));
    let trace = t.file("trace");
    let _ = Command::new("timeout")
        .args(["2", "strace", "-f", "-o", trace.to_str().unwrap(), "-p", &g.pid().to_string()])
        .status();
    let calls: Vec<String> =
        read(&trace).lines().filter(|l| !l.contains("epoll_wait") && !l.contains("+++")).map(str::to_string).collect();
    assert!(calls.iter().all(|l| l.contains("detached") || l.contains("resumed") || l.trim().is_empty()), "{calls:?}");
    let _ = waiter.kill();
    let _ = waiter.wait();
}
