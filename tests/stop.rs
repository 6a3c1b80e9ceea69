//! SPEC §5: stopping — SIGTERM/SIGINT to going, stop_signal and
//! stop_timeout, the second signal, and going's own death.

mod common;
use common::*;
use std::fs;
use std::time::{Duration, Instant};

const IGNORE_TERM: &str = "cmd=/bin/sh -c 'trap \"\" TERM; while :; do sleep 1; done'\n";

/// Waits until PID has `n` children and returns them.
fn wait_children(pid: u32, n: usize) -> Vec<u32> {
    assert!(wait_until(T, || children(pid).len() == n), "pid {pid} has children {:?}", children(pid));
    children(pid)
}

#[test]
fn sigterm_stops_every_service_and_grandchild_then_exits_0() {
    let t = Tmp::new("stop_term");
    t.write("a", &sleeper(1000));
    t.write("tree", "cmd=/bin/sh -c 'sleep 1000 & sleep 1000'\n");
    let mut g = Going::start(&t);
    let a = g.expect_started("a", 1);
    let tree = g.expect_started("tree", 1);
    let grandchildren = wait_children(tree, 2);
    g.signal("TERM");
    let st = g.wait_exit(T).unwrap_or_else(|| panic!("going still running:\n{}", g.log()));
    assert_eq!(st.code(), Some(0), "{}", g.log());
    for pid in [a, tree].iter().chain(&grandchildren) {
        assert!(wait_dead(*pid), "pid {pid} survived going");
    }
    let log = g.log();
    assert!(log.contains("going: SIGTERM received, stopping all services"), "{log}");
    assert_eq!(last_exit(&log, "a").unwrap().then, "stopped", "{log}");
    assert_eq!(last_exit(&log, "tree").unwrap().then, "stopped", "{log}");
    assert!(log.trim_end().ends_with("going: exiting"), "{log}");
}

#[test]
fn going_reaps_before_exiting() {
    let t = Tmp::new("stop_reap");
    for name in ["a", "b", "c"] {
        t.write(name, &sleeper(1000));
    }
    let mut g = Going::start(&t);
    for name in ["a", "b", "c"] {
        g.expect_started(name, 1);
    }
    g.signal("TERM");
    // Every service's exit line is logged, i.e. each was reaped by going.
    assert!(g.wait_exit(T).is_some());
    for name in ["a", "b", "c"] {
        assert!(last_exit(&g.log(), name).is_some(), "{name} not reaped:\n{}", g.log());
    }
}

#[test]
fn a_service_ignoring_its_stop_signal_is_killed_after_stop_timeout() {
    let t = Tmp::new("stop_timeout");
    t.write("stubborn", &format!("{IGNORE_TERM}stop_timeout=1\n"));
    t.write("other", &sleeper(1000));
    let mut g = Going::start(&t);
    let pid = g.expect_started("stubborn", 1);
    wait_children(pid, 1);
    t.remove("stubborn");
    // Before the stop is asked for: the SIGKILL is a second after it.
    let asked = std::time::Instant::now();
    g.signal("HUP");
    g.expect_log(&format!("going: stubborn: stopping pid {pid} with SIGTERM"));
    g.expect_log(&format!("going: stubborn: pid {pid} did not stop within 1s, sending SIGKILL"));
    let waited = asked.elapsed();
    assert!(waited >= Duration::from_millis(950), "SIGKILL after only {waited:?}");
    g.expect_log(&format!("going: stubborn: pid {pid} killed by SIGKILL after "));
    assert!(wait_dead(pid));
    g.signal("TERM");
    let st = g.wait_exit(T).unwrap_or_else(|| panic!("going did not exit:\n{}", g.log()));
    assert_eq!(st.code(), Some(0));
}

#[test]
fn going_exits_after_stop_timeout_when_a_service_ignores_sigterm() {
    let t = Tmp::new("stop_all_timeout");
    t.write("stubborn", &format!("{IGNORE_TERM}stop_timeout=1\n"));
    let mut g = Going::start(&t);
    let pid = g.expect_started("stubborn", 1);
    let kids = wait_children(pid, 1);
    g.signal("TERM");
    let st = g.wait_exit(T).unwrap_or_else(|| panic!("going did not exit:\n{}", g.log()));
    assert_eq!(st.code(), Some(0));
    assert!(g.log().contains("did not stop within 1s, sending SIGKILL"), "{}", g.log());
    assert!(wait_dead(pid) && wait_dead(kids[0]));
}

#[test]
fn a_second_sigterm_kills_at_once() {
    let t = Tmp::new("stop_twice");
    t.write("stubborn", &format!("{IGNORE_TERM}stop_timeout=30\n"));
    let mut g = Going::start(&t);
    let pid = g.expect_started("stubborn", 1);
    let kids = wait_children(pid, 1);
    g.signal("TERM");
    g.expect_log(&format!("going: stubborn: stopping pid {pid} with SIGTERM"));
    assert!(g.wait_exit(Duration::from_millis(500)).is_none(), "going exited at the first SIGTERM");
    g.signal("TERM");
    let st = g.wait_exit(Duration::from_secs(2));
    let st = st.unwrap_or_else(|| panic!("going still running 2 s after the second SIGTERM:\n{}", g.log()));
    assert_eq!(st.code(), Some(0));
    assert!(g.log().contains("going: SIGTERM received again, killing all services"), "{}", g.log());
    assert!(wait_dead(pid) && wait_dead(kids[0]));
}

#[test]
fn stop_signal_is_honoured() {
    let t = Tmp::new("stop_signal");
    let mark = t.file("mark");
    t.write(
        "int",
        &format!(
            "cmd=/bin/sh -c 'trap \"echo got-int > {}; exit 0\" INT; while :; do sleep 0.1; done'\nstop_signal=INT\n",
            mark.display()
        ),
    );
    let g = Going::start(&t);
    let pid = g.expect_started("int", 1);
    wait_children(pid, 1);
    t.remove("int");
    g.signal("HUP");
    g.expect_log(&format!("going: int: stopping pid {pid} with SIGINT"));
    g.expect_log(&format!("going: int: pid {pid} exited with status 0 after "));
    assert_eq!(fs::read_to_string(&mark).unwrap(), "got-int\n");
}

#[test]
fn stop_signal_accepts_the_sig_prefix() {
    let t = Tmp::new("stop_signal_prefix");
    t.write("usr", "cmd=/bin/sleep 1000\nstop_signal=SIGUSR1\n");
    let g = Going::start(&t);
    let pid = g.expect_started("usr", 1);
    t.remove("usr");
    g.signal("HUP");
    g.expect_log(&format!("going: usr: pid {pid} killed by SIGUSR1 after "));
}

#[test]
fn sigint_behaves_like_sigterm() {
    let t = Tmp::new("stop_int");
    t.write("a", &sleeper(1000));
    let mut g = Going::start(&t);
    let a = g.expect_started("a", 1);
    g.signal("INT");
    let st = g.wait_exit(T).unwrap_or_else(|| panic!("going did not exit:\n{}", g.log()));
    assert_eq!(st.code(), Some(0));
    assert!(wait_dead(a));
    let log = g.log();
    assert!(log.contains("going: SIGINT received, stopping all services"), "{log}");
    assert!(log.contains(&format!("going: a: pid {a} killed by SIGTERM after ")), "{log}");
}

#[test]
fn services_die_with_a_sigkilled_going() {
    let t = Tmp::new("stop_pdeath");
    t.write("a", &sleeper(1000));
    t.write("b", &sleeper(1000));
    let mut g = Going::start(&t);
    let a = g.expect_started("a", 1);
    let b = g.expect_started("b", 1);
    g.signal("KILL");
    assert!(g.wait_exit(T).is_some());
    let since = Instant::now();
    assert!(wait_dead(a) && wait_dead(b), "services outlived going by {:?}", since.elapsed());
}

#[test]
fn a_going_killed_at_once_leaves_nothing_to_its_successor() {
    // Nothing wakes going after it starts the service: SOCKET.pids must be
    // written before it first sleeps, or its successor cannot clean up.
    // (Without cgroups: with them, the successor empties the cgroups, see
    // tests/cgroup.rs.)
    let t = Tmp::new("stop_killed_at_once");
    let child = t.file("child");
    t.write("fam", &format!("cmd=/bin/sh -c 'sleep 1004 & echo $! > {}; exec sleep 1003'\n", child.display()));
    let mut g = Going::start_via(&t, WITHOUT_CGROUPS, &[]);
    g.expect_started("fam", 1);
    assert!(wait_until(T, || fs::read_to_string(&child).is_ok_and(|s| s.ends_with('\n'))));
    let orphan: u32 = fs::read_to_string(&child).unwrap().trim().parse().unwrap();
    assert!(wait_until(T, || t.file("sock.pids").exists()), "no SOCKET.pids written");
    signal(g.pid(), "KILL");
    assert!(g.wait_exit(T).is_some());
    assert!(alive(orphan), "the orphan died with going");
    let next = Going::start_via(&t, WITHOUT_CGROUPS, &[]);
    next.expect_log("leftover processes of a previous going");
    assert!(wait_dead(orphan), "the successor left {orphan} running");
    next.expect_started("fam", 1);
}
