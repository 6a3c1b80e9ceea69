//! SPEC §6 with issue 4: the control socket and the client commands
//! (`status`, `start`, `stop`, `restart`, `signal`, `reload`), and the
//! socket's defences against slow, silent, garbage and unauthorised
//! clients.

mod common;
mod extra;
use common::*;
use extra::*;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

/// Going with the given services, its socket ready.
fn supervise(t: &Tmp, services: &[(&str, &str)]) -> Going {
    for (name, text) in services {
        t.write(name, text);
    }
    let g = Going::start(t);
    g.expect_log(&format!("going: going {} supervising ", env!("CARGO_PKG_VERSION")));
    wait_socket(t);
    g
}

/// `going status ARGS`, asked again until its answer passes `shows`
/// (within `T`): for a service that is in a state only most of the time.
fn status_until(t: &Tmp, args: &[&str], shows: impl Fn(&Out) -> bool) -> Out {
    let mut out = None;
    wait_until(T, || shows(out.insert(client(t, "status", args))));
    out.expect("wait_until asks at least once")
}

/// Sends one raw request and reads the answer to EOF (2 s read timeout).
fn raw(t: &Tmp, req: &[u8]) -> String {
    let mut s = UnixStream::connect(t.sock()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    // A busy going answers and closes before it reads: the write may then
    // fail, and the answer is still there to read.
    let _ = s.write_all(req);
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer
}

#[test]
fn the_socket_is_mode_0600() {
    let t = Tmp::new("ctl_mode");
    let _g = supervise(&t, &[]);
    let meta = fs::symlink_metadata(t.sock()).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o7777, 0o600);
}

#[test]
fn a_stale_socket_is_replaced() {
    let t = Tmp::new("ctl_stale");
    // A socket nobody listens on any more.
    drop(std::os::unix::net::UnixListener::bind(t.sock()).unwrap());
    let g = supervise(&t, &[("a", &sleeper(1000))]);
    let a = g.expect_started("a", 1);
    assert_eq!(row_of(&t, "a").unwrap().num("pid"), u64::from(a));
}

#[test]
fn the_status_table_has_a_header_and_a_row_per_service() {
    let t = Tmp::new("ctl_table");
    let g = supervise(
        &t,
        &[
            ("a-long-name", &sleeper(1000)),
            ("bad", "cmd=/bin/true\nfoo=1\n"),
            ("d", &sleeper(1000)),
            ("f", "cmd=/bin/false\n"),
            ("n", "cmd=/bin/true\nrestart=never\n"),
        ],
    );
    let a = g.expect_started("a-long-name", 1);
    let d = g.expect_started("d", 1);
    assert_eq!(client(&t, "stop", &["d"]).code, 0);
    assert!(wait_dead(d));
    expect_state(&t, "d", "down");
    expect_state(&t, "n", "done");
    // f is starting for a moment at each retry: the table looked at is
    // one that shows it in backoff.
    let out = status_until(&t, &[], |o| o.stdout.lines().any(|l| l.starts_with("f ") && l.contains(" backoff ")));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stdout.contains('\x1b'), "colour without a tty: {:?}", out.stdout);
    let lines: Vec<&str> = out.stdout.lines().collect();
    let header = lines[0];
    let cols: Vec<&str> = header.split_whitespace().collect();
    assert_eq!(cols, ["NAME", "STATE", "PID", "UPTIME", "RESTARTS", "LAST", "CPU", "RSS"], "{}", out.stdout);
    let (state_at, pid_at) = (header.find("STATE").unwrap(), header.find("PID").unwrap());
    let row = |name: &str| -> Vec<String> {
        let l = lines.iter().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("no {name} row"));
        assert_eq!(&l[state_at - 1..state_at], " ", "STATE column misaligned: {l:?}\n{header:?}");
        assert_ne!(&l[state_at..state_at + 1], " ", "STATE column misaligned: {l:?}\n{header:?}");
        assert_ne!(&l[pid_at..pid_at + 1], " ", "PID column misaligned: {l:?}\n{header:?}");
        l.split_whitespace().map(str::to_string).collect()
    };
    let r = row("a-long-name");
    assert_eq!(r[1], "up");
    assert_eq!(r[2], a.to_string());
    assert!(parse_dur(&r[3]).is_some(), "uptime {:?}", r[3]);
    assert_eq!((r[4].as_str(), r[5].as_str()), ("0", "-"));
    assert!(r[6].parse::<f64>().is_ok(), "cpu {:?}", r[6]);
    assert!(r[7].ends_with('K') || r[7].ends_with('M'), "rss {:?}", r[7]);
    let r = row("d");
    assert_eq!(&r[1..], ["down", "-", "-", "0", "SIGTERM", "-", "-"]);
    let r = row("n");
    assert_eq!(&r[1..], ["done", "-", "-", "0", "exit", "0", "-", "-"]);
    let r = row("f");
    assert_eq!(r[1], "backoff");
    assert!(r[2].ends_with('s') && r[2].trim_end_matches('s').parse::<u32>().is_ok(), "backoff wait {:?}", r[2]);
    assert_eq!((r[3].as_str(), r[4].as_str(), r[6].as_str(), r[7].as_str()), ("-", "-", "exit", "1"));
    let r = row("bad");
    assert_eq!(&r[1..], ["failed", "-", "-", "0", "-", "-", "-"]);
    // The error of the failed file on a line of its own, after the rows.
    let last = lines.last().unwrap();
    assert_eq!(*last, format!("{}/bad:2: unknown key \"foo\"", t.conf_str()), "{}", out.stdout);
    assert_eq!(lines.len(), 7, "{}", out.stdout);
}

/// `going status` on a terminal: its states are coloured, and the colour
/// codes take no room, so every column starts where its header does.
#[test]
fn the_status_table_in_colour_keeps_its_columns() {
    let t = Tmp::new("ctl_colour");
    let g = supervise(&t, &[("a", &sleeper(1000)), ("d", &sleeper(1000)), ("f", "cmd=/bin/false\n")]);
    g.expect_started("a", 1);
    let d = g.expect_started("d", 1);
    assert_eq!(client(&t, "stop", &["d"]).code, 0);
    assert!(wait_dead(d));
    expect_state(&t, "d", "down");
    expect_state(&t, "f", "backoff");
    // util-linux script(1) gives the command a terminal for its stdout.
    let argv: Vec<String> = going_argv()
        .into_iter()
        .map(str::to_string)
        .chain(["status".to_string(), "-s".to_string(), t.sock().to_str().unwrap().to_string()])
        .map(|a| format!("'{a}'"))
        .collect();
    let out = Command::new("script").args(["-qec", &argv.join(" "), "/dev/null"]).env_remove("NO_COLOR").output();
    let out = out.expect("script(1) (util-linux) runs");
    assert!(out.status.success(), "{out:?}");
    let tty = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert!(tty.contains("\x1b[32mup\x1b[0m"), "up is not green: {tty:?}");
    assert!(tty.contains("\x1b[33mbackoff "), "backoff is not yellow: {tty:?}");
    // What the terminal shows: the text without its escape sequences.
    let mut shown = String::new();
    let mut rest = tty.as_str();
    while let Some(at) = rest.find('\x1b') {
        shown.push_str(&rest[..at]);
        let tail = &rest[at..];
        rest = tail.find('m').map_or("", |m| &tail[m + 1..]);
    }
    shown.push_str(rest);
    let lines: Vec<&str> = shown.lines().collect();
    let header = lines[0];
    let pid_at = header.find("PID").unwrap();
    for name in ["a", "d", "f"] {
        let l = lines.iter().find(|l| l.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("no {name} row"));
        assert_eq!(&l[pid_at - 1..pid_at], " ", "PID column misaligned: {l:?}\n{header:?}");
        assert_ne!(&l[pid_at..pid_at + 1], " ", "PID column misaligned: {l:?}\n{header:?}");
    }
}

#[test]
fn status_m_prints_every_key() {
    let t = Tmp::new("ctl_m");
    let g = supervise(&t, &[("a", &sleeper(1000)), ("bad", "cmd=/bin/true\nfoo=1\n"), ("f", "cmd=/bin/false\n")]);
    let a = g.expect_started("a", 1);
    let out = status_until(&t, &["-m"], |o| o.stdout.contains("name=f state=backoff"));
    assert_eq!(out.code, 0, "{out:?}");
    let rows: Vec<Row> = out.stdout.lines().map(Row::parse).collect();
    assert_eq!(rows.len(), 3, "{}", out.stdout);
    let keys = ["name", "state", "pid", "uptime", "restarts", "last", "wait", "ready", "cpu", "rss"];
    for r in &rows {
        let mut want = keys.to_vec();
        if r.get("name") == "bad" {
            want.push("error");
        }
        assert_eq!(r.keys(), want, "{}", out.stdout);
    }
    let r = &rows[0];
    assert_eq!((r.get("name"), r.get("state"), r.num("pid")), ("a", "up", u64::from(a)));
    assert_eq!((r.get("restarts"), r.get("last"), r.get("wait")), ("0", "none", "0"));
    assert!(r.get("cpu").parse::<f64>().is_ok(), "cpu={}", r.get("cpu"));
    assert!(r.num("rss") > 0, "rss of a running sleep is 0");
    let r = &rows[1];
    assert_eq!((r.get("name"), r.get("state"), r.get("pid")), ("bad", "failed", "0"));
    assert_eq!(r.get("error"), format!("{}/bad:2: unknown key \"foo\"", t.conf_str()));
    let r = &rows[2];
    assert_eq!((r.get("name"), r.get("state"), r.get("pid"), r.get("last")), ("f", "backoff", "0", "exit:1"));
    assert!((1..=2).contains(&r.num("wait")), "wait={}", r.get("wait"));
    assert_eq!((r.get("cpu"), r.get("rss")), ("0.00", "0"));
}

#[test]
fn status_names_filter_the_rows() {
    let t = Tmp::new("ctl_filter");
    let _g = supervise(&t, &[("a", &sleeper(1000)), ("b", &sleeper(1000)), ("c", &sleeper(1000))]);
    // Started is not up yet: up once the exec is known to have succeeded.
    assert_eq!(client(&t, "wait", &["a", "b", "c"]).code, 0);
    let names = |out: &Out| -> Vec<String> {
        out.stdout
            .lines()
            .filter_map(|l| Some(Row::parse(l).get("name").to_string()).filter(|n| !n.is_empty()))
            .collect()
    };
    let out = client(&t, "status", &["-m", "c", "a"]);
    assert_eq!(out.code, 0, "{out:?}");
    let mut got = names(&out);
    got.sort();
    assert_eq!(got, ["a", "c"]);
    let out = client(&t, "status", &["zz"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr, "going: zz: no such service\n");
    assert_eq!(out.stdout.lines().count(), 1, "only the header: {out:?}");
    let out = client(&t, "status", &["-m", "b", "zz"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(names(&out), ["b"]);
    assert!(out.stderr.contains("going: zz: no such service"), "{out:?}");
}

#[test]
fn stop_start_restart_act_on_the_process() {
    let t = Tmp::new("ctl_verbs");
    let g = supervise(&t, &[("a", &sleeper(1000)), ("b", &sleeper(1000))]);
    let a = g.expect_started("a", 1);
    let b = g.expect_started("b", 1);
    let out = client(&t, "stop", &["a"]);
    assert_eq!((out.code, out.stdout.as_str(), out.stderr.as_str()), (0, "", ""));
    assert!(wait_dead(a), "a still runs after stop");
    g.expect_log(&format!("going: a: stopping pid {a} with SIGTERM"));
    assert_eq!(g.expect_exit("a", a).then, "stopped");
    expect_state(&t, "a", "down");
    assert_eq!(client(&t, "start", &["a"]).code, 0);
    let a2 = g.expect_started("a", 2);
    assert!(alive(a2));
    expect_state(&t, "a", "up");
    // restart: stopped and started at once, with no backoff although it
    // ran less than 5 s.
    let asked = Instant::now();
    assert_eq!(client(&t, "restart", &["a"]).code, 0);
    let a3 = g.expect_started("a", 3);
    assert_eq!(g.expect_exit("a", a2).then, "restarting", "log:\n{}", g.log());
    assert!(asked.elapsed() < Duration::from_secs(1), "restart took {:?}", asked.elapsed());
    assert!(wait_dead(a2));
    assert_ne!(a3, a2);
    assert!(alive(b) && g.starts("b") == 1, "b was touched");
    // Several names at once, and an unknown one.
    let out = client(&t, "stop", &["a", "b", "zz"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stderr, "going: zz: no such service\n");
    assert!(wait_dead(a3) && wait_dead(b), "a or b still runs");
    for verb in ["start", "restart"] {
        let out = client(&t, verb, &["nope"]);
        assert_eq!((out.code, out.stderr.as_str()), (1, "going: nope: no such service\n"), "{verb}");
    }
}

#[test]
fn a_name_longer_than_any_service_is_refused_before_anything_is_done() {
    let t = Tmp::new("ctl_long");
    let g = supervise(&t, &[("a", &sleeper(1000))]);
    let a = g.expect_started("a", 1);
    // 65 bytes can name no service; 700 bytes once came to the supervisor
    // cut, after `a` had already been stopped.
    for len in [65, 700] {
        let long = "b".repeat(len);
        let out = client(&t, "stop", &["a", &long]);
        assert_eq!(out.code, 64, "{len}: {out:?}");
        let said = format!("going: {}...: not a service or signal name ({len} bytes, at most 64)\n", &long[..64]);
        assert_eq!(out.stderr, said, "{len}");
        assert!(alive(a), "{len}: a was stopped by a refused request");
    }
    // 64 bytes is a name the supervisor looks up.
    let out = client(&t, "stop", &[&"c".repeat(64)]);
    assert_eq!((out.code, out.stderr), (1, format!("going: {}: no such service\n", "c".repeat(64))));
    assert_eq!(g.starts("a"), 1);
}

#[test]
fn signal_goes_to_the_process_group() {
    let t = Tmp::new("ctl_signal");
    let got = t.file("got");
    let script = t.file("script");
    let g_ = got.display();
    fs::write(
        &script,
        format!(
            "trap 'echo main >> {g_}' USR1\n\
             sh -c 'trap \"echo child >> {g_}\" USR1; echo child-ready >> {g_}; while :; do sleep 0.05; done' &\n\
             echo ready >> {g_}\n\
             while :; do sleep 0.05; done\n"
        ),
    )
    .unwrap();
    let g = supervise(
        &t,
        &[("s", &format!("cmd=/bin/sh {}\n", script.display())), ("d", "cmd=/bin/true\nrestart=never\n")],
    );
    let s = g.expect_started("s", 1);
    // Both shells have set their USR1 traps: the one in the background may
    // not have run its `trap` yet when the other says ready.
    let ready = |b: &[u8]| {
        let s = String::from_utf8_lossy(b);
        s.lines().any(|l| l == "ready") && s.lines().any(|l| l == "child-ready")
    };
    assert!(wait_file(&got, T, ready), "script never ran: {:?}", read(&got));
    let out = client(&t, "signal", &["USR1", "s"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    let both = |b: &[u8]| {
        let s = String::from_utf8_lossy(b);
        s.contains("main\n") && s.contains("child\n")
    };
    assert!(wait_file(&got, T, both), "not both got USR1: {:?}", read(&got));
    assert!(alive(s) && g.starts("s") == 1, "s was restarted");
    // With and without SIG, by number too.
    let out = client(&t, "signal", &["SIGKILL", "s"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(wait_dead(s));
    g.expect_log(&format!("going: s: pid {s} killed by SIGKILL"));
    expect_state(&t, "d", "done");
    let out = client(&t, "signal", &["TERM", "d"]);
    assert_eq!((out.code, out.stderr.as_str()), (1, "going: d: not running\n"));
    let out = client(&t, "signal", &["TERM", "zz"]);
    assert_eq!((out.code, out.stderr.as_str()), (1, "going: zz: no such service\n"));
    let out = client(&t, "signal", &["NOSUCHSIG", "s"]);
    assert_ne!(out.code, 0, "{out:?}");
}

#[test]
fn reload_rereads_and_leaves_unchanged_services_alone() {
    let t = Tmp::new("ctl_reload");
    let g = supervise(&t, &[("a", &sleeper(1000))]);
    let a = g.expect_started("a", 1);
    let out = client(&t, "reload", &[]);
    assert_eq!((out.code, out.stdout.as_str(), out.stderr.as_str()), (0, "", ""));
    g.expect_log(&format!("going: reloading {} (asked on the control socket)", t.conf_str()));
    assert!(alive(a) && g.starts("a") == 1);
}

#[test]
fn stop_keeps_it_down_through_backoff_and_reload_until_its_file_changes() {
    let t = Tmp::new("ctl_keep_down");
    let g = supervise(&t, &[("f", "cmd=/bin/false\n"), ("a", &sleeper(1000))]);
    let a = g.expect_started("a", 1);
    expect_state(&t, "f", "backoff");
    assert_eq!(client(&t, "stop", &["f", "a"]).code, 0);
    assert!(wait_dead(a));
    expect_state(&t, "f", "down");
    expect_state(&t, "a", "down");
    let (f_starts, a_starts) = (g.starts("f"), g.starts("a"));
    // Longer than the backoff f was in (1 s, or 2 s after two exits).
    let came_back = || g.starts("f") > f_starts || g.starts("a") > a_starts;
    assert!(!wait_until(Duration::from_millis(2500), came_back), "came back; log:\n{}", g.log());
    // A reload of the unchanged files does not bring them back.
    g.reload();
    assert!(!wait_until(Duration::from_millis(1500), came_back), "came back after reload; log:\n{}", g.log());
    assert_eq!(row_of(&t, "f").unwrap().get("state"), "down");
    // A change of its file does.
    t.write("a", &sleeper(2000));
    let a2 = g.expect_started("a", a_starts + 1);
    expect_cmdline(a2, &["/bin/sleep", "2000"]);
    assert_eq!(row_of(&t, "f").unwrap().get("state"), "down");
}

#[test]
fn restart_from_backoff_starts_at_once() {
    let t = Tmp::new("ctl_restart_backoff");
    let g = supervise(&t, &[("f", "cmd=/bin/false\n")]);
    g.expect_log("; restarting in 4s"); // the third quick exit
    let n = g.starts("f");
    let asked = Instant::now();
    assert_eq!(client(&t, "restart", &["f"]).code, 0);
    // Well before the 4 s (an emulated client takes its time to start).
    let started = wait_until(Duration::from_secs(3), || g.starts("f") > n);
    assert!(started, "not started within 3 s of restart (backoff was 4 s); log:\n{}", g.log());
    assert!(asked.elapsed() < Duration::from_secs(3));
}

#[test]
fn stopping_state_until_the_stop_timeout() {
    let t = Tmp::new("ctl_stopping");
    let g = supervise(&t, &[("s", "cmd=/bin/sh -c 'trap \"\" TERM; while :; do sleep 0.05; done'\nstop_timeout=2\n")]);
    let s = g.expect_started("s", 1);
    expect_cmdline(s, &["/bin/sh", "-c", "trap \"\" TERM; while :; do sleep 0.05; done"]);
    assert_eq!(client(&t, "stop", &["s"]).code, 0);
    let r = expect_state(&t, "s", "stopping");
    assert_eq!(r.num("pid"), u64::from(s));
    g.expect_log(&format!("going: s: pid {s} did not stop within 2s, sending SIGKILL"));
    assert!(wait_dead(s));
    let r = expect_state(&t, "s", "down");
    assert_eq!(r.get("last"), "signal:KILL");
}

#[test]
fn uptime_and_restart_counters_move() {
    let t = Tmp::new("ctl_counters");
    let g = supervise(&t, &[("a", &sleeper(1000))]);
    let a = g.expect_started("a", 1);
    let r = row_of(&t, "a").unwrap();
    assert_eq!((r.num("restarts"), r.get("last")), (0, "none"));
    assert!(r.num("uptime") <= 1, "uptime {} just after the start", r.num("uptime"));
    let r = wait_row(&t, "a", |r| r.num("uptime") >= 2).expect("uptime never reached 2 s");
    assert_eq!(r.num("pid"), u64::from(a));
    let table = client(&t, "status", &["a"]).stdout;
    let up = table.lines().nth(1).unwrap().split_whitespace().nth(3).unwrap().to_string();
    assert!(parse_dur(&up).is_some_and(|ms| ms >= 2000), "UPTIME {up:?} in\n{table}");
    signal(a, "KILL");
    let a2 = g.expect_started("a", 2);
    let r = wait_row(&t, "a", |r| r.num("pid") == u64::from(a2)).unwrap();
    assert_eq!((r.num("restarts"), r.get("last")), (1, "signal:KILL"));
    assert!(r.num("uptime") <= 1, "uptime {} after a respawn", r.num("uptime"));
    let table = client(&t, "status", &["a"]).stdout;
    let cols: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!((cols[4], cols[5]), ("1", "SIGKILL"), "{table}");
    signal(a2, "KILL");
    g.expect_started("a", 3);
    assert!(wait_row(&t, "a", |r| r.num("restarts") == 2).is_some());
}

#[test]
fn a_failed_service_shows_its_error_and_cannot_be_started() {
    let t = Tmp::new("ctl_failed");
    let g = supervise(&t, &[("bad", "cmd=/bin/true\nrestart=sometimes\n")]);
    g.expect_log("/bad:2: bad restart");
    let r = expect_state(&t, "bad", "failed");
    assert!(r.get("error").starts_with(&format!("{}/bad:2: bad restart", t.conf_str())), "{r:?}");
    for verb in ["start", "restart"] {
        let out = client(&t, verb, &["bad"]);
        assert_eq!((out.code, out.stderr.as_str()), (1, "going: bad: its config is invalid\n"), "{verb}");
    }
    // A wait on it is refused with the file's error, named as status names it.
    let out = client(&t, "wait", &["-t", "5", "bad"]);
    let want = format!("going: bad: its config is invalid: {}/bad:2: bad restart \"sometimes\"", t.conf_str());
    assert!(out.code != 0 && out.stderr.starts_with(&want), "{out:?}");
    assert_eq!(g.starts("bad"), 0);
}

#[test]
fn rejected_entries_are_listed() {
    let t = Tmp::new("ctl_rejected");
    let g = supervise(&t, &[("good", &sleeper(1000)), ("bad!name", &sleeper(1000))]);
    g.expect_started("good", 1);
    let want = format!("{}/bad!name: invalid service name", t.conf_str());
    let out = client(&t, "status", &["-m"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.lines().any(|l| l == format!("rejected={want}")), "{}", out.stdout);
    let out = client(&t, "status", &[]);
    assert!(out.stdout.lines().any(|l| l == want), "{}", out.stdout);
}

#[test]
fn no_supervisor_exits_69() {
    let t = Tmp::new("ctl_none");
    for (verb, args) in [("status", &[][..]), ("stop", &["a"][..]), ("reload", &[][..]), ("signal", &["TERM", "a"][..])]
    {
        let out = client(&t, verb, args);
        assert_eq!(out.code, 69, "{verb}: {out:?}");
        let want = format!("going: no supervisor answers on {}: ", t.sock().display());
        assert!(out.stderr.starts_with(&want), "{verb}: {out:?}");
    }
}

#[test]
fn a_second_going_on_the_same_socket_exits_1() {
    let t = Tmp::new("ctl_second");
    let g = supervise(&t, &[("a", &sleeper(1000))]);
    let a = g.expect_started("a", 1);
    let out = going(&["-d", &t.conf_str(), "-s", t.sock().to_str().unwrap()]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains(&format!("{}: another going is running on it", t.sock().display())), "{out:?}");
    assert!(!out.stderr.contains("started"), "the second one started services: {out:?}");
    assert_eq!(row_of(&t, "a").unwrap().num("pid"), u64::from(a), "the first going no longer answers");
    assert!(alive(a) && g.starts("a") == 1);
}

#[test]
fn a_user_other_than_root_or_going_is_refused() {
    if !is_root() || !have("setpriv") {
        return skip("a_user_other_than_root_or_going_is_refused", "needs root and setpriv");
    }
    let t = Tmp::new("ctl_refused");
    let g = supervise(&t, &[("a", &sleeper(1000))]);
    let a = g.expect_started("a", 1);
    fs::set_permissions(t.sock(), fs::Permissions::from_mode(0o666)).unwrap();
    for verb in ["status", "stop"] {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .args(going_argv())
            .args([verb, "-s"])
            .arg(t.sock());
        if verb == "stop" {
            cmd.arg("a");
        }
        let out = run(cmd);
        assert!(out.code > 0, "{verb} as nobody: {out:?}");
        assert!(out.stderr.contains("permission denied"), "{verb} as nobody: {out:?}");
        assert!(!out.stdout.contains("sleep") && !out.stdout.contains(" up "), "{out:?}");
    }
    assert!(alive(a) && g.starts("a") == 1, "nobody could stop a");
}

#[test]
fn silent_and_garbage_clients_delay_neither_status_nor_a_respawn() {
    let t = Tmp::new("ctl_slow_clients");
    let g = supervise(&t, &[("k", &sleeper(1000))]);
    let k = g.expect_started("k", 1);
    // Past the 5 s after which a killed service is respawned at once.
    thread::sleep(Duration::from_millis(5500));
    let base = settled_fd_count(g.pid());
    let silent = UnixStream::connect(t.sock()).unwrap();
    let mut garbage = UnixStream::connect(t.sock()).unwrap();
    let sender = thread::spawn(move || {
        let junk = vec![b'x'; 100 * 1024];
        let _ = garbage.write_all(&junk); // going hangs up after 512 bytes
        garbage
    });
    assert!(wait_until(T, || fd_count(g.pid()) > base), "the silent client was never accepted");
    let connected = Instant::now();
    // Asked on the socket itself, so the time is going's alone (not a
    // client's start, slow under an emulator).
    let asked = Instant::now();
    let out = raw(&t, b"status k\n");
    let took = asked.elapsed();
    assert!(out.contains("name=k state=up"), "{out:?}");
    assert!(took < Duration::from_secs(1), "status took {took:?} with a silent client connected");
    signal(k, "KILL");
    let killed = Instant::now();
    let respawned = wait_until(Duration::from_secs(1), || g.starts("k") >= 2);
    assert!(respawned, "not respawned within 1 s of SIGKILL; log:\n{}", g.log());
    assert!(killed.elapsed() < Duration::from_secs(1));
    // All of that happened while the silent client still held its slot
    // (going drops it 2 s after it connected): it is still open.
    silent.set_nonblocking(true).unwrap();
    let held = (&silent).read(&mut [0u8; 1]);
    assert!(
        held.as_ref().is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock),
        "the silent client was dropped before the respawn: {held:?} after {:?}",
        connected.elapsed()
    );
    silent.set_nonblocking(false).unwrap();
    let _garbage = sender.join().unwrap();
    // The silent one is dropped at its deadline.
    let mut silent = silent;
    silent.set_read_timeout(Some(T)).unwrap();
    let got = silent.read(&mut [0u8; 64]);
    let when = connected.elapsed();
    let hung_up = match &got {
        Ok(n) => *n == 0,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    };
    assert!(hung_up && when < Duration::from_secs(4), "silent client: {got:?} after {when:?}");
}

#[test]
fn a_garbage_request_gets_an_error() {
    let t = Tmp::new("ctl_garbage");
    let _g = supervise(&t, &[("a", &sleeper(1000))]);
    assert_eq!(raw(&t, b"frobnicate a\n"), "error=unknown request\n");
    assert_eq!(raw(&t, b"start\n"), "error=a service name is needed\n");
    // No request is too long, as long as each word fits.
    let long = format!("status {}\n", "a ".repeat(400));
    assert_eq!(raw(&t, long.as_bytes()).lines().count(), 400);
    let word = format!("stop {}\n", "a".repeat(300));
    assert_eq!(raw(&t, word.as_bytes()), "error=request too long\n");
}

#[test]
fn a_fifth_client_is_told_busy_and_asks_again_until_slots_free() {
    let t = Tmp::new("ctl_busy");
    let g = supervise(&t, &[("a", &sleeper(1000))]);
    // Counted once a's exec has closed the exec-error pipe and going has
    // answered since (an emulated going spawns with a plain fork, and so
    // logs "started" before the exec).
    expect_cmdline(g.expect_started("a", 1), &["/bin/sleep", "1000"]);
    assert_eq!(client(&t, "status", &[]).code, 0);
    let base = settled_fd_count(g.pid());
    // Their 2 s start at going's accept, after this.
    let before = Instant::now();
    let silent: Vec<UnixStream> = (0..4).map(|_| UnixStream::connect(t.sock()).unwrap()).collect();
    assert!(wait_until(T, || fd_count(g.pid()) == base + 4), "4 clients not accepted");
    // The raw protocol says busy at once.
    assert!(raw(&t, b"status\n").starts_with("error=busy"));
    // The client asks again until the silent ones are dropped at their
    // 2 s deadline, within its own 5 s.
    let out = client(&t, "status", &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        before.elapsed() >= Duration::from_millis(1900),
        "answered {:?} after the slots were taken",
        before.elapsed()
    );
    assert!(out.stdout.contains("a "), "{out:?}");
    drop(silent);
}

#[test]
fn many_clients_leave_no_fd_behind() {
    let t = Tmp::new("ctl_fds");
    let g = supervise(&t, &[("a", &sleeper(1000)), ("b", "cmd=/bin/true\nfoo=1\n")]);
    g.expect_started("a", 1);
    assert_eq!(client(&t, "status", &[]).code, 0);
    let base = settled_fd_count(g.pid());
    for i in 0..200 {
        let Ok(mut s) = UnixStream::connect(t.sock()) else { panic!("connect {i} failed") };
        s.set_read_timeout(Some(T)).unwrap();
        let mut answer = String::new();
        match i % 5 {
            0 => {
                s.write_all(b"status\n").unwrap();
                let _ = s.read_to_string(&mut answer);
                assert!(answer.contains("name=a ") || answer.starts_with("error=busy"), "{i}: {answer:?}");
            }
            1 => {
                let _ = s.write_all(b"status\n"); // and hang up without reading
            }
            2 => {} // connect and hang up
            3 => {
                let _ = s.write_all(b"stop zz\n");
                let _ = s.read_to_string(&mut answer);
            }
            _ => {
                let _ = s.write_all(b"status a b"); // no newline, then EOF
                let _ = s.shutdown(std::net::Shutdown::Write);
                let _ = s.read_to_string(&mut answer);
            }
        }
    }
    for _ in 0..5 {
        assert_eq!(client(&t, "status", &["a"]).code, 0);
    }
    let settled = wait_until(T, || fd_count(g.pid()) == base);
    assert!(settled, "going had {base} fds, now {}: {:?}", fd_count(g.pid()), fds(g.pid()));
}

#[test]
fn a_client_that_never_reads_is_dropped() {
    let t = Tmp::new("ctl_never_reads");
    // Many long rows: 120 invalid files, each with an error message.
    for i in 0..120 {
        t.write(&format!("service-with-a-rather-long-name-to-make-a-big-answer-{i:03}"), "restart=never\n");
    }
    let g = supervise(&t, &[("a", &sleeper(1000))]);
    g.expect_started("a", 1);
    assert!(wait_until(T, || status_rows(&t).len() == 121), "not all 121 rows");
    expect_state(&t, "a", "up");
    let base = settled_fd_count(g.pid());
    let mut lazy = UnixStream::connect(t.sock()).unwrap();
    lazy.write_all(b"status\n").unwrap();
    let asked = Instant::now();
    let out = client(&t, "status", &["-m", "a"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(asked.elapsed() < Duration::from_secs(1), "status took {:?}", asked.elapsed());
    // Going lets go of it (answer written or deadline) while it stays open.
    assert!(wait_until(T, || fd_count(g.pid()) == base), "the lazy client still holds an fd of going");
    assert!(alive(g.pid()));
    assert_eq!(status_rows(&t).len(), 121);
    drop(lazy);
}

/// A `-m` row longer than one line of the client's (the row as the
/// supervisor sent it, plus `cpu=` and `rss=`) keeps its newline, and so
/// does one that the supervisor itself had to cut: no row is glued to
/// the next.
#[test]
fn status_m_long_rows_keep_their_newline() {
    let t = Tmp::new("ctl_long_rows");
    let never = "cmd=/bin/sleep 100000\nready=fd:3\n";
    let workers: Vec<String> = (0..16).map(|i| format!("backend-worker-{i:02}-eu-west")).collect();
    let longer: Vec<String> = (0..8).map(|i| format!("backend-worker-{i:02}-eu-west-{}", "x".repeat(30))).collect();
    for w in workers.iter().chain(&longer) {
        t.write(w, never);
    }
    t.write("gateway", &format!("{}after={}\n", sleeper(1000), workers.join(",")));
    let all: Vec<String> = workers.iter().chain(&longer).cloned().collect();
    t.write("portal", &format!("{}after={}\n", sleeper(1000), all.join(",")));
    let g = supervise(&t, &[("web", &sleeper(1000))]);
    g.expect_started("web", 1);
    expect_state(&t, "gateway", "waiting");
    expect_state(&t, "portal", "waiting");
    let out = client(&t, "status", &["-m", "gateway", "portal", "web"]);
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stdout.ends_with('\n'), "{:?}", out.stdout);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "rows glued: {:?}", out.stdout);
    for (line, name) in lines.iter().zip(["gateway", "portal", "web"]) {
        assert_eq!(line.matches("name=").count(), 1, "{line:?}");
        let r = Row::parse(line);
        assert_eq!(r.get("name"), name, "{line:?}");
        let keys = r.keys();
        assert_eq!(keys[keys.len() - 2..], ["cpu", "rss"], "{line:?}");
    }
    let r = Row::parse(lines[0]);
    assert_eq!(r.get("waiting"), workers.join(","), "{:?}", lines[0]);
    assert_eq!((r.get("cpu"), r.get("rss")), ("0.00", "0"));
    // portal's row was cut by the supervisor inside its waiting= list.
    let r = Row::parse(lines[1]);
    assert!(all.join(",").starts_with(r.get("waiting")), "{:?}", lines[1]);
    assert!(r.get("waiting").len() < all.join(",").len(), "{:?}", lines[1]);
}
/// A full table of rows as long as the supervisor makes them (a cycle
/// of 256 long names, each row carrying the cut text of the cycle) fits
/// in the client's answer; an answer longer than any full status (a name
/// asked for again and again) is an error, not a silent cut.
#[test]
fn a_full_table_of_long_rows_is_shown_whole() {
    let t = Tmp::new("ctl_full_rows");
    let name = |i: usize| format!("s{:063}", i % 256);
    for i in 0..256 {
        t.write(&name(i), &format!("{}after={}\n", sleeper(1000), name(i + 1)));
    }
    let _g = supervise(&t, &[]);
    assert!(wait_until(T, || status_rows(&t).len() == 256), "not all 256 rows");
    let out = client(&t, "status", &["-m"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows: Vec<Row> = out.stdout.lines().map(Row::parse).collect();
    assert_eq!(rows.len(), 256, "{} rows", rows.len());
    assert!(rows.iter().all(|r| r.get("state") == "failed" && r.get("error").contains("dependency cycle")));
    let out = client(&t, "status", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.lines().filter(|l| l.starts_with('s') && l.contains(" failed ")).count(), 256);
    // As many names as the command line takes, all of the longest row.
    let many = vec![name(0); 260];
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let out = client(&t, "status", &[&["-m"][..], &many].concat());
    assert_eq!((out.code, out.stdout.lines().count()), (3, 260), "{}", out.stderr);
    // More than any supervisor sends is an error, not a silent cut.
    let fake = Tmp::new("ctl_full_rows_fake");
    let listener = std::os::unix::net::UnixListener::bind(fake.sock()).unwrap();
    let server = thread::spawn(move || {
        let (mut c, _) = listener.accept().unwrap();
        let _ = c.write_all(format!("name=a state=up ready=yes {}\n", "x".repeat(480)).repeat(300).as_bytes());
    });
    let out = client(&fake, "status", &["-m"]);
    assert_eq!(out.code, 69, "{}", out.stderr);
    assert!(out.stderr.contains("Message too large"), "{}", out.stderr);
    assert_eq!(out.stdout, "");
    server.join().unwrap();
}
/// A `wait` whose line arrives in pieces, while a file that sorts before
/// its name is added: the wait is not taken for one on another service.
#[test]
fn a_table_change_between_pieces_of_a_wait_does_not_redirect_it() {
    let t = Tmp::new("ctl_wait_pieces");
    let g = supervise(&t, &[("c_never", "cmd=/bin/sleep 1000\nready=fd:3\n")]);
    g.expect_started("c_never", 1);
    let mut s = UnixStream::connect(t.sock()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    s.write_all(b"wait c_never ").unwrap();
    thread::sleep(Duration::from_millis(300));
    t.write("a_new", &sleeper(1000));
    g.expect_started("a_new", 1);
    expect_state(&t, "a_new", "up");
    s.write_all(b"\n").unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    assert!(!answer.starts_with("ok"), "c_never is not ready: {answer:?}");
    assert!(answer.is_empty() || answer.starts_with("error=busy"), "{answer:?}");
    // The client asks again, and waits for the right service.
    let out = client(&t, "wait", &["-t", "1", "c_never"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("not ready after 1s"), "{out:?}");
    assert_eq!(client(&t, "wait", &["-t", "1", "a_new"]).code, 0);
}
/// A connection that ends before the answer promised for the request
/// (an `ok=`/`error=` line per name, a row per name, `ok` for reload,
/// poweroff and wait, whole lines) is a lost connection: exit 69. A fake
/// supervisor reads each request and hangs up after a part of an answer.
#[test]
fn an_answer_cut_short_is_a_lost_connection() {
    let t = Tmp::new("ctl_cut_answer");
    let listener = std::os::unix::net::UnixListener::bind(t.sock()).unwrap();
    let cases: Vec<(&str, Vec<&str>, &'static [u8])> = vec![
        ("stop", vec!["a"], b""),
        ("stop", vec!["a", "b"], b"ok=a\n"),
        ("start", vec!["a"], b"ok=a"),
        ("restart", vec!["a"], b""),
        ("signal", vec!["TERM", "a"], b""),
        ("status", vec!["a"], b""),
        ("status", vec!["-m"], b"name=a state=up pid=1"),
        ("reload", vec![], b""),
        ("poweroff", vec![], b""),
        ("wait", vec!["-t", "2", "a"], b""),
    ];
    let answers: Vec<&'static [u8]> = cases.iter().map(|c| c.2).collect();
    let server = thread::spawn(move || {
        for answer in answers {
            let (mut c, _) = listener.accept().unwrap();
            let mut b = [0u8; 1];
            while c.read(&mut b).unwrap_or(0) == 1 && b[0] != b'\n' {}
            c.write_all(answer).unwrap();
        }
    });
    for (verb, args, answer) in &cases {
        let out = client(&t, verb, args);
        let what = format!("{verb} {args:?} answered {:?}: {out:?}", String::from_utf8_lossy(answer));
        assert_eq!(out.code, 69, "{what}");
        let want = format!("going: lost the connection to {} ", t.sock().display());
        assert!(out.stderr.starts_with(&want), "{what}");
        assert!(!out.stdout.contains("name=a"), "{what}");
    }
    server.join().unwrap();
}

/// What the real supervisor answers is whole: reload answers ok.
#[test]
fn reload_and_poweroff_answer_ok() {
    let t = Tmp::new("ctl_reload_ok");
    let mut g = supervise(&t, &[("a", &sleeper(1000))]);
    g.expect_started("a", 1);
    assert_eq!(raw(&t, b"reload\n"), "ok\n");
    assert_eq!(raw(&t, b"poweroff\n"), "ok\n");
    assert!(g.wait_exit(T).is_some_and(|s| s.success()));
}
/// `going wait -t 0` asks once: 0 when the services are ready now, 1
/// when they are not, with the supervisor's reason when it has one.
#[test]
fn wait_with_a_zero_timeout_answers_what_is_now() {
    let t = Tmp::new("ctl_wait_zero");
    let g = supervise(
        &t,
        &[("a", &sleeper(1000)), ("n", "cmd=/bin/sleep 1000\nready=fd:3\n"), ("bad", "cmd=/bin/true\nfoo=1\n")],
    );
    g.expect_started("a", 1);
    g.expect_started("n", 1);
    expect_state(&t, "a", "up");
    let asked = Instant::now();
    let out = client(&t, "wait", &["-t", "0", "a"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    let out = client(&t, "wait", &["-t", "0", "a", "n"]);
    assert_eq!((out.code, out.stderr.as_str()), (1, "going: not ready after 0s\n"), "{out:?}");
    let out = client(&t, "wait", &["-t", "0", "bad"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.starts_with("going: bad: its config is invalid"), "{out:?}");
    assert!(asked.elapsed() < Duration::from_secs(2), "took {:?}", asked.elapsed());
    // The supervisor let go of every one of them.
    assert_eq!(client(&t, "status", &["a"]).code, 0);
}
/// Blanks between words are no part of any word: however many there
/// are, the request is taken.
#[test]
fn many_blanks_between_words_are_no_long_word() {
    let t = Tmp::new("ctl_blanks");
    let _g = supervise(&t, &[("web", &sleeper(1000))]);
    let name = |answer: String| answer.lines().map(|l| Row::parse(l).get("name").to_string()).collect::<Vec<_>>();
    let mut req = b"status".to_vec();
    req.extend_from_slice(&[b' '; 300]);
    req.extend_from_slice(b"web\n");
    assert_eq!(name(raw(&t, &req)), ["web"]);
    let mut req = vec![b' '; 130];
    req.extend_from_slice(b"status\t");
    req.extend_from_slice(&b" \t".repeat(200));
    req.extend_from_slice(b"web");
    req.extend_from_slice(&[b' '; 1000]);
    req.extend_from_slice(b"web  \n");
    assert_eq!(name(raw(&t, &req)), ["web", "web"]);
    // A word of 128 bytes still is too long.
    let word = format!("status {}\n", "w".repeat(128));
    assert_eq!(raw(&t, word.as_bytes()), "error=request too long\n");
}
