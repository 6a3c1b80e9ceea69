//! SPEC §4 with issue 3: the config directory is watched with inotify, so
//! changes apply without SIGHUP; a missing directory is not fatal; and
//! `going check` validates a directory.

mod common;
mod extra;
use common::*;
use extra::*;
use std::fs;
use std::io::Write;
use std::time::{Duration, Instant};

/// Going has read its directory once (the services it found are started)
/// and watches it: its loop answers `going status`, which it enters only
/// after the first read. (It logs "supervising" before that read; an
/// emulated going takes long enough in between for a file written meanwhile
/// to be read half-written.)
fn ready(t: &Tmp, g: &Going) {
    g.expect_log(&format!("going: going {} supervising ", env!("CARGO_PKG_VERSION")));
    assert!(wait_until(T, || client(t, "status", &[]).code == 0), "going never answered status");
}

#[test]
fn a_new_file_is_started_without_a_signal() {
    let t = Tmp::new("ino_new");
    let g = Going::start(&t);
    ready(&t, &g);
    // Atomically renamed in, and plainly created, written and closed.
    t.write("a", &sleeper(1000));
    fs::write(t.conf().join("b"), sleeper(1001)).unwrap();
    let a = g.expect_started("a", 1);
    let b = g.expect_started("b", 1);
    expect_cmdline(a, &["/bin/sleep", "1000"]);
    expect_cmdline(b, &["/bin/sleep", "1001"]);
    assert!(!g.log().contains("reloading"), "a reload happened; log:\n{}", g.log());
}

#[test]
fn a_removed_file_stops_its_service() {
    let t = Tmp::new("ino_remove");
    t.write("a", &sleeper(1000));
    t.write("b", &sleeper(1000));
    let g = Going::start(&t);
    let a = g.expect_started("a", 1);
    let b = g.expect_started("b", 1);
    t.remove("a");
    assert!(wait_dead(a), "a (pid {a}) still runs after its file was removed");
    g.expect_log(&format!("going: a: pid {a} killed by SIGTERM after "));
    assert_eq!(last_exit(&g.log(), "a").unwrap().then, "removed");
    assert!(alive(b), "b was stopped too");
    assert_eq!(g.starts("b"), 1);
    assert_eq!(g.starts("a"), 1, "a came back; log:\n{}", g.log());
}

/// The same bytes saved again by a tool that takes the name away first:
/// vim's backup rename (the file renamed to `a~`, a new `a` written, the
/// backup removed) and `rm a; cp a.bak a`. The file did not change, so
/// the service is never stopped, however soon going sees the name gone.
#[test]
fn a_second_gap_inside_the_first_ones_grace_keeps_the_service() {
    let t = Tmp::new("ino_two_gaps");
    t.write("a", &sleeper(1000));
    let g = Going::start(&t);
    let a = g.expect_started("a", 1);
    let (file, backup) = (t.conf().join("a"), t.conf().join("a~"));
    // Gone for 40 ms, then again from 60 ms to 120 ms: the re-read the
    // first gap asked for (100 ms after it) falls in the second, which
    // has its own grace.
    let t0 = Instant::now();
    fs::rename(&file, &backup).unwrap();
    std::thread::sleep(Duration::from_millis(40));
    fs::rename(&backup, &file).unwrap();
    std::thread::sleep(Duration::from_millis(60).saturating_sub(t0.elapsed()));
    fs::rename(&file, &backup).unwrap();
    std::thread::sleep(Duration::from_millis(120).saturating_sub(t0.elapsed()));
    fs::rename(&backup, &file).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let log = g.log();
    assert!(!log.contains("stopping"), "a service was stopped:\n{log}");
    assert!(alive(a), "log:\n{log}");
    assert_eq!(g.starts("a"), 1, "log:\n{log}");
}

#[test]
fn the_same_file_saved_again_through_a_gap_keeps_its_service() {
    let t = Tmp::new("ino_same_again");
    t.write("a", &sleeper(1000));
    t.write("b", &sleeper(1001));
    let g = Going::start(&t);
    let a = g.expect_started("a", 1);
    let b = g.expect_started("b", 1);
    let (file, backup) = (t.conf().join("a"), t.conf().join("a~"));
    fs::copy(t.conf().join("b"), t.conf().join("b.bak")).unwrap();
    for _ in 0..10 {
        fs::rename(&file, &backup).unwrap();
        let mut new = fs::File::create(&file).unwrap();
        new.write_all(sleeper(1000).as_bytes()).unwrap();
        new.sync_all().unwrap();
        drop(new);
        fs::remove_file(&backup).unwrap();
        // `rm b; cp b.bak b`, done here: a gap of a few system calls,
        // not of a program's start (which a loaded machine can stretch
        // past the grace going gives a name gone).
        fs::remove_file(t.conf().join("b")).unwrap();
        fs::copy(t.conf().join("b.bak"), t.conf().join("b")).unwrap();
        std::thread::sleep(Duration::from_millis(30));
    }
    // Any stop would be logged within a second.
    std::thread::sleep(Duration::from_secs(1));
    let log = g.log();
    assert!(!log.contains("stopping"), "a service was stopped:\n{log}");
    assert!(alive(a) && alive(b), "log:\n{log}");
    assert_eq!((g.starts("a"), g.starts("b")), (1, 1), "log:\n{log}");
}

/// A name that turns into a symlink to nothing is an entry that cannot
/// be read, as a full read says: reported, and a running service keeps
/// its config. A new one is reported too.
#[test]
fn a_dangling_symlink_is_reported_and_keeps_what_runs() {
    let t = Tmp::new("ino_dangling");
    t.write("a", &sleeper(1000));
    let g = Going::start(&t);
    ready(&t, &g);
    let a = g.expect_started("a", 1);
    let dir = t.conf_str();
    std::os::unix::fs::symlink("/nonexistent/x", t.conf().join("new")).unwrap();
    g.expect_log(&format!("going: {dir}/new: cannot read: No such file or directory"));
    let moved = t.conf().join("a.tmp");
    std::os::unix::fs::symlink("/nonexistent/y", &moved).unwrap();
    fs::rename(&moved, t.conf().join("a")).unwrap();
    g.expect_log(&format!(
        "going: {dir}/a: cannot read: No such file or directory (still running the previous config)"
    ));
    std::thread::sleep(Duration::from_millis(500));
    assert!(alive(a), "log:\n{}", g.log());
    assert!(!g.log().contains("stopping"), "log:\n{}", g.log());
    // Read again in full, it says the same and keeps it.
    g.reload();
    assert!(wait_until(T, || g.count_log(&format!("{dir}/a: cannot read")) == 2), "log:\n{}", g.log());
    assert!(alive(a) && g.starts("a") == 1, "log:\n{}", g.log());
}

#[test]
fn a_file_moved_away_stops_its_service() {
    let t = Tmp::new("ino_moved_away");
    t.write("a", &sleeper(1000));
    let g = Going::start(&t);
    let a = g.expect_started("a", 1);
    // Away to an ignored name in the same dir, then out of the dir.
    fs::rename(t.conf().join("a"), t.conf().join("a.bak")).unwrap();
    assert!(wait_dead(a), "a still runs after its file was renamed to a.bak");
    assert_eq!(g.expect_exit("a", a).then, "removed");
    fs::rename(t.conf().join("a.bak"), t.conf().join("a")).unwrap();
    let a2 = g.expect_started("a", 2);
    fs::rename(t.conf().join("a"), t.file("elsewhere")).unwrap();
    assert!(wait_dead(a2), "a still runs after its file was moved out of the dir");
}

#[test]
fn a_change_restarts_only_that_service() {
    let t = Tmp::new("ino_change");
    for name in ["a", "b", "c"] {
        t.write(name, &sleeper(1000));
    }
    let g = Going::start(&t);
    let a = g.expect_started("a", 1);
    let b = g.expect_started("b", 1);
    let c = g.expect_started("c", 1);
    t.write("b", &sleeper(2000));
    let b2 = g.expect_started("b", 2);
    assert_ne!(b2, b);
    expect_cmdline(b2, &["/bin/sleep", "2000"]);
    assert!(wait_dead(b), "the old b still runs");
    let e = last_exit(&g.log(), "b").unwrap();
    assert_eq!((e.pid, e.then.as_str()), (b, "restarting with new config"));
    assert!(alive(a) && alive(c), "a or c was stopped");
    assert_eq!((g.starts("a"), g.starts("c")), (1, 1), "a or c restarted; log:\n{}", g.log());
}

#[test]
fn a_file_written_in_pieces_starts_once_with_its_final_content() {
    let t = Tmp::new("ino_pieces");
    let g = Going::start(&t);
    ready(&t, &g);
    // The first piece alone is a valid config too ("sleep 1"): acting on a
    // partial write would start the wrong command.
    let mut f = fs::File::create(t.conf().join("a")).unwrap();
    f.write_all(b"cmd=/bin/sleep 1").unwrap();
    f.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300)); // the writer pauses, file still open
    f.write_all(b"000\n").unwrap();
    drop(f);
    let a = g.expect_started("a", 1);
    expect_cmdline(a, &["/bin/sleep", "1000"]);
    // A second start would be a reaction to the same file twice.
    assert!(!wait_until(Duration::from_secs(1), || g.starts("a") > 1), "started twice; log:\n{}", g.log());
    assert!(alive(a));
}

#[test]
fn an_atomic_rename_replaces_the_service() {
    let t = Tmp::new("ino_rename");
    t.write("a", &sleeper(1000));
    let g = Going::start(&t);
    let a = g.expect_started("a", 1);
    // The way editors, install(1) and package managers write: a temp
    // file renamed over the old one.
    let tmp = t.conf().join("a.dpkg-new");
    fs::write(&tmp, "cmd=/bin/sleep 3000\n").unwrap();
    fs::rename(&tmp, t.conf().join("a")).unwrap();
    let a2 = g.expect_started("a", 2);
    expect_cmdline(a2, &["/bin/sleep", "3000"]);
    assert!(wait_dead(a));
    assert!(!wait_until(Duration::from_millis(500), || g.starts("a") > 2), "started again; log:\n{}", g.log());
}

#[test]
fn editor_temp_files_never_start() {
    let t = Tmp::new("ino_ignored");
    let g = Going::start(&t);
    ready(&t, &g);
    let ignored = [
        ".x.swp",
        "x.swp",
        "x~",
        ".#x",
        "#x#",
        ".hidden",
        "x.tmp",
        "x.bak",
        "x.dpkg-new",
        "x.dpkg-old",
        "x.dpkg-dist",
        "x.rpmnew",
        "x.rpmsave",
    ];
    for name in ignored {
        fs::write(t.conf().join(name), sleeper(1000)).unwrap();
    }
    // Events come in order: once "marker" has started, the others were seen.
    fs::write(t.conf().join("marker"), sleeper(1000)).unwrap();
    g.expect_started("marker", 1);
    g.reload(); // a full re-read ignores them as well
    let check = t.check();
    let log = g.log();
    for name in ignored {
        assert!(!log.contains(&format!("{name}:")) && !log.contains(&format!("/{name}")), "{name} in log:\n{log}");
        assert!(!check.1.contains(&format!("/{name}")), "{name} in check output:\n{}", check.1);
    }
    assert_eq!(log.matches(": started, pid ").count(), 1, "log:\n{log}");
    assert_eq!(check.0, 0, "check: {}", check.1);
    assert!(check.1.contains(": 1 valid service, 0 problems"), "check: {}", check.1);
    let names: Vec<String> = status_rows(&t).iter().map(|r| r.get("name").to_string()).collect();
    assert_eq!(names, ["marker"]);
}

#[test]
fn the_directory_removed_and_recreated() {
    let t = Tmp::new("ino_dir_gone");
    t.write("a", &sleeper(1000));
    t.write("b", &sleeper(1000));
    let g = Going::start(&t);
    let a = g.expect_started("a", 1);
    let b = g.expect_started("b", 1);
    fs::remove_dir_all(t.conf()).unwrap();
    g.expect_log(&format!("going: cannot open {}: No such file or directory", t.conf_str()));
    assert!(wait_dead(a) && wait_dead(b), "services still run without their directory");
    assert!(alive(g.pid()), "going exited");
    fs::create_dir(t.conf()).unwrap();
    t.write("a", &sleeper(1000));
    let a2 = g.expect_started("a", 2);
    assert!(alive(a2));
    assert_eq!(g.starts("b"), 1);
    // The new directory is watched: later changes apply too.
    t.write("b", &sleeper(1000));
    g.expect_started("b", 2);
}

#[test]
fn the_directory_moved_away_and_back() {
    let t = Tmp::new("ino_dir_moved");
    t.write("a", &sleeper(1000));
    let g = Going::start(&t);
    let a = g.expect_started("a", 1);
    let away = t.file("going.d.old");
    fs::rename(t.conf(), &away).unwrap();
    assert!(wait_dead(a), "a still runs after its directory moved away");
    // A change in the old directory is none of going's business now.
    fs::write(away.join("stray"), sleeper(1000)).unwrap();
    assert!(!wait_until(Duration::from_millis(500), || g.starts("stray") > 0), "log:\n{}", g.log());
    fs::rename(&away, t.conf()).unwrap();
    let a2 = g.expect_started("a", 2);
    let stray = g.expect_started("stray", 1);
    assert!(alive(a2) && alive(stray));
}

#[test]
fn a_directory_missing_at_start_and_created_later() {
    let t = Tmp::new("ino_dir_late");
    fs::remove_dir(t.conf()).unwrap();
    let g = Going::start(&t);
    g.expect_log(&format!("going: cannot open {}: No such file or directory", t.conf_str()));
    assert!(alive(g.pid()), "going exited without its directory");
    fs::create_dir(t.conf()).unwrap();
    t.write("a", &sleeper(1000));
    let a = g.expect_started("a", 1);
    assert!(alive(a));
}

#[test]
fn a_directory_missing_at_start_moved_in_with_its_files() {
    let t = Tmp::new("ino_dir_late_full");
    fs::remove_dir(t.conf()).unwrap();
    let g = Going::start(&t);
    g.expect_log("going: cannot open ");
    let staged = t.file("staged");
    fs::create_dir(&staged).unwrap();
    fs::write(staged.join("a"), sleeper(1000)).unwrap();
    fs::write(staged.join("b"), sleeper(1000)).unwrap();
    fs::rename(&staged, t.conf()).unwrap();
    g.expect_started("a", 1);
    g.expect_started("b", 1);
}

#[test]
fn a_symlink_or_hard_link_into_the_directory_is_started() {
    let t = Tmp::new("ino_symlink");
    let g = Going::start(&t);
    ready(&t, &g);
    let real = t.file("real");
    fs::write(&real, sleeper(1000)).unwrap();
    std::os::unix::fs::symlink(&real, t.conf().join("s")).unwrap();
    let s = g.expect_started("s", 1);
    expect_cmdline(s, &["/bin/sleep", "1000"]);
    let other = t.file("other");
    fs::write(&other, sleeper(1001)).unwrap();
    fs::hard_link(&other, t.conf().join("h")).unwrap();
    let h = g.expect_started("h", 1);
    expect_cmdline(h, &["/bin/sleep", "1001"]);
}

#[test]
fn check_a_valid_directory_exits_0() {
    let t = Tmp::new("check_ok");
    t.write("a", &sleeper(1000));
    let (code, out) = t.check();
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, format!("{}: 1 valid service, 0 problems\n", t.conf_str()));
    t.write("b", "# comment\n\ncmd=/bin/true\nrestart=never\n");
    let (code, out) = t.check();
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, format!("{}: 2 valid services, 0 problems\n", t.conf_str()));
}

#[test]
fn check_lists_each_problem_and_exits_78() {
    let t = Tmp::new("check_bad");
    let d = t.conf_str();
    t.write("good", &sleeper(1000));
    t.write("key", "cmd=/bin/true\nfoo=1\n");
    t.write("nouser", "cmd=/bin/true\n\nuser=no_such_user_going_test\n");
    t.write("nogroup", "cmd=/bin/true\ngroup=no_such_group_going_test\n");
    t.write("nolog", "cmd=/bin/true\nlog=/nonexistent-going-test/sub/x.log\n");
    t.write("nocmd", "restart=never\n");
    let (code, out) = t.check();
    assert_eq!(code, 78, "{out}");
    for want in [
        format!("{d}/key:2: unknown key \"foo\""),
        format!("{d}/nouser:3: unknown user \"no_such_user_going_test\""),
        format!("{d}/nogroup:2: unknown group \"no_such_group_going_test\""),
        format!("{d}/nolog:2: log directory /nonexistent-going-test/sub does not exist"),
        format!("{d}/nocmd: no cmd"),
    ] {
        assert!(out.lines().any(|l| l == want), "no line {want:?} in:\n{out}");
    }
    assert_eq!(out.lines().last(), Some(format!("{d}: 1 valid service, 5 problems").as_str()), "{out}");
    assert_eq!(out.lines().count(), 6, "{out}");
    // Singular "1 problem".
    for name in ["key", "nouser", "nogroup", "nolog"] {
        t.remove(name);
    }
    let (code, out) = t.check();
    assert_eq!(code, 78);
    assert!(out.ends_with(&format!("{d}: 1 valid service, 1 problem\n")), "{out}");
}

#[test]
fn check_a_missing_directory_exits_78() {
    let t = Tmp::new("check_missing");
    fs::remove_dir(t.conf()).unwrap();
    let out = going(&["check", "-d", &t.conf_str()]);
    assert_eq!(out.code, 78, "{out:?}");
    assert!(out.stderr.contains(&format!("going: cannot open {}: No such file or directory", t.conf_str())), "{out:?}");
}
