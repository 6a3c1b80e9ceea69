//! SPEC §7: going's own log — one `going: ` line per event, never blocking.

mod common;
mod extra;
use common::*;
use extra::{have, read, sh_until, skip};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

const THEN: &[&str] = &[
    "restarting",
    "not restarting (restart=never)",
    "not restarting (restart=on-failure)",
    "stopped",
    "removed",
    "restarting with new config",
];

#[test]
fn every_line_starts_with_going() {
    let t = Tmp::new("log_prefix");
    t.write("up", &sleeper(1000));
    t.write("crash", "cmd=/bin/sh -c 'exit 2'\n");
    t.write("noexec", "cmd=/nonexistent/prog\n");
    t.write("bad", "cmd=/bin/sleep 1000\nfoo=1\n");
    t.write("gone", &sleeper(1000));
    t.write("once", "cmd=/bin/true\nrestart=never\n");
    let mut g = Going::start(&t);
    g.expect_log(&format!("going: going {} supervising {}", env!("CARGO_PKG_VERSION"), t.conf_str()));
    g.expect_started("up", 1);
    g.expect_started("crash", 2);
    g.expect_log("going: noexec: cannot exec /nonexistent/prog");
    g.expect_log("going: once: pid ");
    t.remove("gone");
    t.write("up", &sleeper(1001));
    g.signal("HUP");
    g.expect_log("; removed");
    g.expect_started("up", 2);
    g.signal("TERM");
    assert!(g.wait_exit(T).is_some(), "{}", g.log());
    let log = g.log();
    assert!(log.ends_with('\n'), "last line unterminated: {log:?}");
    for line in log.lines() {
        assert!(line.starts_with("going: "), "line without prefix: {line:?}\n{log}");
    }
    // Every exit line has the documented shape.
    let mut exits = 0;
    for line in log.lines().filter(|l| l.contains(" exited with status ") || l.contains(" killed by SIG")) {
        let name = line.strip_prefix("going: ").unwrap().split(':').next().unwrap();
        let e = last_exit(line, name).unwrap_or_else(|| panic!("malformed exit line {line:?}"));
        assert!(THEN.contains(&e.then.as_str()) || e.then.starts_with("restarting in "), "{line:?}");
        exits += 1;
    }
    assert!(exits >= 6, "only {exits} exit lines:\n{log}");
    for want in ["; removed", "; restarting with new config", "; stopped", "; not restarting (restart=never)"] {
        assert!(log.contains(want), "no exit line ending in {want:?}:\n{log}");
    }
}

#[test]
fn durations_use_human_units() {
    let t = Tmp::new("log_duration");
    t.write("short", "cmd=/bin/sh -c 'sleep 0.2'\nrestart=never\n");
    t.write("long", "cmd=/bin/sh -c 'sleep 1.2'\nrestart=never\n");
    let g = Going::start(&t);
    g.expect_log("going: short: pid ");
    g.expect_log("going: long: pid ");
    let log = g.log();
    let short = log.lines().find(|l| l.starts_with("going: short: pid ")).unwrap();
    let dur = short.split(" after ").nth(1).unwrap().split(';').next().unwrap();
    assert!(dur.ends_with("ms") && parse_dur(dur).is_some_and(|ms| (150..1000).contains(&ms)), "{short}");
    let long = log.lines().find(|l| l.starts_with("going: long: pid ")).unwrap();
    let dur = long.split(" after ").nth(1).unwrap().split(';').next().unwrap();
    assert!(!dur.ends_with("ms") && parse_dur(dur).is_some_and(|ms| (1000..4000).contains(&ms)), "{long}");
}

#[test]
fn a_stderr_pipe_nobody_reads_does_not_block_going() {
    let t = Tmp::new("log_full_pipe");
    // Fills going's stderr pipe and stays blocked writing to it.
    t.write("filler", "cmd=/bin/sh -c 'head -c 10000000 /dev/zero >&2'\n");
    t.write("crash", "cmd=/bin/false\n");
    let mut g = Going::start_stderr_pipe(&t);
    let going = g.pid();
    let cmd_of = |argv: &[&str]| children(going).into_iter().find(|&c| cmdline(c) == argv);
    assert!(wait_until(T, || cmd_of(&["/bin/sh", "-c", "head -c 10000000 /dev/zero >&2"]).is_some()));
    let filler = cmd_of(&["/bin/sh", "-c", "head -c 10000000 /dev/zero >&2"]).unwrap();
    assert!(wait_until(T, || children(filler).len() == 1));
    let head = children(filler)[0];
    // Let the crash loop log for a few seconds into the full pipe.
    assert!(!wait_until(Duration::from_secs(3), || !alive(going)), "going died");
    assert!(alive(head), "the pipe was drained: head finished");
    t.write("late", &sleeper(4242));
    g.signal("HUP");
    assert!(
        wait_until(T, || cmd_of(&["/bin/sleep", "4242"]).is_some()),
        "going did not start a new service; children {:?}",
        children(going)
    );
    g.signal("TERM");
    let st = g.wait_exit(T).expect("going blocked on its stderr at shutdown");
    assert_eq!(st.code(), Some(0));
}

/// The index of the first line of LOG that contains S.
fn line_at(log: &str, s: &str) -> Option<usize> {
    log.lines().position(|l| l.contains(s))
}

/// going's lines of a wake-up reach its stderr before anything they led
/// to: a run's "started" line comes before that run's first output line
/// (moved by going, log=prefix, into the same file), and the exit line of
/// a run before the output of the run that replaced it.
#[test]
fn going_lines_come_before_the_output_they_led_to() {
    let t = Tmp::new("log_order_output");
    t.write("a", "cmd=/bin/sh -c 'echo up $$; exec sleep 1000'\nlog=prefix\n");
    let g = Going::start(&t);
    let mut pids = Vec::new();
    for n in 1..=3 {
        let pid = g.expect_started("a", n);
        g.expect_log(&format!("a | up {pid}"));
        pids.push(pid);
        signal(pid, "KILL");
    }
    let log = g.log();
    let at = |s: String| line_at(&log, &s).unwrap_or_else(|| panic!("no {s:?} in:\n{log}"));
    for (k, pid) in pids.iter().enumerate() {
        let started = at(format!("going: a: started, pid {pid}"));
        let output = at(format!("a | up {pid}"));
        assert!(started < output, "run {k}: output before its start line:\n{log}");
        if let Some(next) = pids.get(k + 1) {
            let exited = at(format!("going: a: pid {pid} killed by SIGKILL"));
            assert!(output < exited, "run {k}: exit line before the output it followed:\n{log}");
            assert!(exited < at(format!("a | up {next}")), "run {k}: next run's output before its exit line:\n{log}");
        }
    }
}

/// The lines of one wake-up go out together: a cold start writes the
/// "started" lines of its services in a few writes, not one write each
/// (a start flushed the log before it, to order it before output that
/// the service had not captured).
#[test]
fn a_cold_start_writes_its_lines_together() {
    let test = "a_cold_start_writes_its_lines_together";
    if emulated(test, "strace of going would trace the emulator") {
        return;
    }
    if !have("strace") {
        return skip(test, "strace is not installed");
    }
    let t = Tmp::new("log_together");
    let n = 64;
    for i in 0..n {
        t.write(&format!("s{i:02}"), &sleeper(1000));
    }
    let trace = t.file("trace");
    let mut strace = going_under_strace(&t, &["-e", "trace=write"], &trace);
    let going = || children(strace.id()).first().copied();
    assert!(wait_until(T, || going().is_some_and(|g| children(g).len() == n)), "services did not start");
    let started = || read(&t.file("going.log")).matches(": started, pid ").count();
    assert!(wait_until(T, || started() == n), "{}", read(&t.file("going.log")));
    signal(going().unwrap(), "TERM");
    assert!(wait_until(Duration::from_secs(10), || strace.try_wait().unwrap().is_some()));
    let writes = read(&trace).lines().filter(|l| l.starts_with("write(") && l.contains(": started, pid")).count();
    assert!(writes > 0 && writes <= n / 8, "{writes} writes for {n} started lines:\n{}", read(&trace));
}

/// A control client's answer comes after the lines of what it waited
/// for: when `going wait` returns, the "ready" line is in the log.
#[test]
fn going_lines_come_before_a_control_answer() {
    let t = Tmp::new("log_order_answer");
    let flag = t.file("flag");
    t.write("b", &format!("cmd=/bin/sh -c '{}; echo >&3; exec sleep 1000'\nready=fd:3\n", sh_until(&flag)));
    let g = Going::start(&t);
    g.expect_started("b", 1);
    let sock = t.sock();
    let waiter = std::thread::spawn(move || {
        let out = going_command().arg("wait").arg("-s").arg(&sock).arg("b").output().unwrap();
        out.status.code()
    });
    // The waiter is connected (and waiting) before the service is ready.
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(&flag, "").unwrap();
    assert_eq!(waiter.join().unwrap(), Some(0), "{}", g.log());
    let log = g.log();
    assert!(log.contains("going: b: ready"), "wait answered before the ready line was written:\n{log}");
}

/// going's stderr is a file on a filesystem that fills up: a write that
/// stops in the middle of a line (the disk took only part of it) has
/// that line ended before the next, so no line is glued to a fragment,
/// and the note that follows counts every line that did not get out.
#[test]
fn stderr_on_a_full_disk_leaves_no_line_glued_and_counts_what_was_lost() {
    let test = "stderr_on_a_full_disk_leaves_no_line_glued_and_counts_what_was_lost";
    let ok = |script: &str| Command::new("/bin/sh").arg("-c").arg(script).status().is_ok_and(|s| s.success());
    if !ok("[ \"$(id -u)\" = 0 ] && command -v unshare >/dev/null") {
        eprintln!("SKIPPED {test}: needs root and unshare");
        return;
    }
    let t = Tmp::new("log_full_disk");
    // In a mount namespace of going's own: a 16 KiB tmpfs on /mnt, and
    // going's stderr a file there.
    let prefix = "exec unshare -m --propagation private /bin/sh -c 'mount -t tmpfs -o size=16k going-test /mnt \
                  && exec \"$0\" -d \"$1\" -s \"$2\" 2>>/mnt/going.err' \"$0\" \"$1\" \"$2\";";
    let mut g = Going::start_with(&t, prefix, |_| {});
    let mnt = PathBuf::from(format!("/proc/{}/root/mnt", g.pid()));
    let err = mnt.join("going.err");
    let text = || String::from_utf8_lossy(&std::fs::read(&err).unwrap_or_default()).into_owned();
    assert!(wait_until(T, || text().contains(" supervising ")), "going did not start; log:\n{}", g.log());
    let reload = |n: usize| {
        for _ in 0..n {
            let st = going_command().arg("reload").arg("-s").arg(t.sock()).output().unwrap().status;
            assert!(st.success());
        }
    };
    // The rest of the filesystem taken: only the log file's page is left.
    let free = 16 * 1024 - 4096;
    std::fs::write(mnt.join("fill"), vec![b'x'; free]).unwrap();
    let asked = 150;
    reload(asked);
    // Room again, and more lines: the cut one is ended first.
    std::fs::remove_file(mnt.join("fill")).unwrap();
    reload(3);
    let log = || text();
    assert!(wait_until(T, || log().contains(" log lines dropped: stderr was not writable")), "{}", log());
    let got = log();
    g.signal("TERM");
    assert!(g.wait_exit(T).is_some());
    let glued: Vec<&str> = got.lines().filter(|l| l.get(1..).is_some_and(|rest| rest.contains("going: "))).collect();
    assert!(glued.is_empty(), "lines glued to a fragment: {glued:?}");
    let whole = got
        .lines()
        .filter(|l| l.starts_with("going: reloading ") && l.ends_with("(asked on the control socket)"))
        .count();
    let note = got.lines().find(|l| l.ends_with(" log lines dropped: stderr was not writable")).unwrap();
    let n: usize = note.trim_start_matches("going: ").split(' ').next().unwrap().parse().unwrap();
    assert!(whole < asked, "the disk never filled: {whole} of {asked} lines");
    assert_eq!(n, asked + 3 - whole, "the note counts {n}, but {} reload lines are missing:\n{got}", asked + 3 - whole);
}
