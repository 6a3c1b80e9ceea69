//! SPEC §4: reload on SIGHUP. going may also notice changes by itself
//! (inotify), so each test changes the files, sends SIGHUP, and then waits
//! for the effect; either path must produce it.

mod common;
use common::*;
use std::fs;
use std::time::Duration;

#[test]
fn a_new_file_is_started() {
    let t = Tmp::new("reload_new");
    t.write("a", &sleeper(1000));
    let g = Going::start(&t);
    g.expect_started("a", 1);
    t.write("b", &sleeper(1001));
    g.signal("HUP");
    let b = g.expect_started("b", 1);
    assert!(wait_until(T, || cmdline(b) == ["/bin/sleep", "1001"]));
    g.expect_log(&format!("going: reloading {}", t.conf_str()));
}

#[test]
fn a_removed_file_is_stopped_and_forgotten() {
    let t = Tmp::new("reload_removed");
    t.write("a", &sleeper(1000));
    t.write("b", &sleeper(1000));
    let g = Going::start(&t);
    let a = g.expect_started("a", 1);
    let b = g.expect_started("b", 1);
    t.remove("b");
    g.signal("HUP");
    g.expect_log(&format!("going: b: stopping pid {b} with SIGTERM"));
    g.expect_log(&format!("going: b: pid {b} killed by SIGTERM after "));
    assert_eq!(last_exit(&g.log(), "b").unwrap().then, "removed");
    assert!(wait_dead(b), "pid {b} still running");
    // Forgotten: never started again, even after another reload.
    g.reload();
    assert!(!wait_until(Duration::from_millis(1500), || g.starts("b") > 1), "{}", g.log());
    assert!(wait_until(T, || g.children() == [a]), "children {:?}", g.children());
}

#[test]
fn a_changed_file_restarts_with_the_new_config() {
    let t = Tmp::new("reload_changed");
    t.write("a", &sleeper(1000));
    let g = Going::start(&t);
    let old = g.expect_started("a", 1);
    t.write("a", "cmd=/bin/sleep 2000\nenv=NEW=1\n");
    g.signal("HUP");
    let new = g.expect_started("a", 2);
    assert_ne!(new, old);
    assert!(!alive(old), "old pid {old} still running next to {new}");
    assert!(wait_until(T, || cmdline(new) == ["/bin/sleep", "2000"]), "{:?}", cmdline(new));
    assert!(environ(new).contains(&"NEW=1".to_string()));
    let e = last_exit(&g.log(), "a").unwrap();
    assert_eq!((e.pid, e.then.as_str()), (old, "restarting with new config"), "{}", g.log());
}

#[test]
fn the_new_version_starts_only_after_the_old_one_exited() {
    let t = Tmp::new("reload_overlap");
    // Takes about a second to stop.
    t.write("slow", "cmd=/bin/sh -c 'trap \"sleep 1; exit 0\" TERM; while :; do sleep 0.1; done'\n");
    let g = Going::start(&t);
    let old = g.expect_started("slow", 1);
    assert!(wait_until(T, || !children(old).is_empty())); // the trap is set
    t.write("slow", &sleeper(1000));
    g.signal("HUP");
    g.expect_started("slow", 2);
    let log = g.log();
    let exit_at = log.find(&format!("going: slow: pid {old} exited")).expect("old exit not logged");
    let start_at = log.rfind("going: slow: started, pid ").unwrap();
    assert!(exit_at < start_at, "new instance started before the old one exited:\n{log}");
}

#[test]
fn unchanged_services_keep_running() {
    let t = Tmp::new("reload_unchanged");
    for name in ["a", "b", "c"] {
        t.write(name, &sleeper(1000));
    }
    let g = Going::start(&t);
    let pids: Vec<u32> = ["a", "b", "c"].iter().map(|n| g.expect_started(n, 1)).collect();
    g.reload(); // nothing changed
    t.write("b", &sleeper(1001));
    t.write("a", &sleeper(1000)); // rewritten with the same bytes
    g.signal("HUP");
    let b = g.expect_started("b", 2);
    g.reload();
    assert!(!wait_until(Duration::from_millis(500), || g.starts("a") > 1 || g.starts("c") > 1));
    assert_eq!((g.starts("a"), g.starts("c")), (1, 1), "{}", g.log());
    assert!(alive(pids[0]) && alive(pids[2]));
    assert!(!alive(pids[1]));
    assert!(alive(b));
    assert!(!g.log().contains("going: a: stopping") && !g.log().contains("going: c: stopping"));
}

#[test]
fn an_invalid_new_version_keeps_the_old_one_running() {
    let t = Tmp::new("reload_invalid");
    t.write("a", &sleeper(1000));
    let g = Going::start(&t);
    let old = g.expect_started("a", 1);
    t.write("a", "cmd=/bin/sleep 2000\nbogus=1\n");
    g.signal("HUP");
    g.expect_log(&format!("going: {}/a:2: ", t.conf_str()));
    let log = g.log();
    let line = log.lines().find(|l| l.contains("/a:2: ")).unwrap();
    assert!(line.ends_with("(still running the previous config)"), "{line}");
    assert!(line.contains("bogus"), "{line}");
    assert!(alive(old));
    assert_eq!(g.starts("a"), 1);
    // A later valid version replaces it.
    t.write("a", &sleeper(2000));
    g.signal("HUP");
    let new = g.expect_started("a", 2);
    assert!(wait_dead(old));
    assert!(wait_until(T, || cmdline(new) == ["/bin/sleep", "2000"]), "{:?}", cmdline(new));
}

#[test]
fn a_change_to_comments_only_does_not_restart() {
    let t = Tmp::new("reload_comments");
    t.write("a", "cmd=/bin/sleep 1000\n");
    let g = Going::start(&t);
    let pid = g.expect_started("a", 1);
    t.write("a", "# now with a comment\n\n   cmd=/bin/sleep 1000   \n");
    g.reload();
    g.reload();
    assert!(!wait_until(Duration::from_millis(500), || g.starts("a") > 1));
    assert!(alive(pid));
    assert!(!g.log().contains("going: a: stopping"), "{}", g.log());
}

#[test]
fn a_missing_dir_is_not_fatal_and_is_picked_up_later() {
    let t = Tmp::new("reload_missing_dir");
    fs::remove_dir(t.conf()).unwrap();
    let mut g = Going::start(&t);
    g.expect_log(&format!("going: cannot open {}: No such file or directory", t.conf_str()));
    assert!(g.wait_exit(Duration::from_millis(300)).is_none(), "going exited:\n{}", g.log());
    fs::create_dir(t.conf()).unwrap();
    t.write("a", &sleeper(1000));
    g.signal("HUP");
    g.expect_started("a", 1);
}
