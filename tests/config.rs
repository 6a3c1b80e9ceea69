//! SPEC §2: config files, seen from outside — through the supervisor's log
//! and through `going check`.

mod common;
use common::*;
use std::fs;
use std::os::unix::fs::symlink;
use std::process::Command;
use std::time::Duration;

/// (file name, content, what the log line must contain after "DIR/").
const INVALID: &[(&str, &str, &[&str])] = &[
    ("unknown_key", "cmd=/bin/sleep 1000\nfoo=bar\n", &["unknown_key:2: ", "\"foo\""]),
    ("repeated_key", "cmd=/bin/sleep 1000\ncmd=/bin/sleep 2000\n", &["repeated_key:2: ", "\"cmd\""]),
    ("missing_cmd", "cwd=/\n", &["missing_cmd: ", "no cmd"]),
    ("bad_restart", "cmd=/bin/sleep 1000\nrestart=sometimes\n", &["bad_restart:2: ", "\"sometimes\""]),
    ("bad_stop_signal", "cmd=/bin/sleep 1000\n\nstop_signal=FOO\n", &["bad_stop_signal:3: ", "\"FOO\""]),
    ("bad_umask", "umask=abc\ncmd=/bin/sleep 1000\n", &["bad_umask:1: ", "\"abc\""]),
    ("bad_umask_digit", "cmd=/bin/sleep 1000\numask=8\n", &["bad_umask_digit:2: ", "umask"]),
    ("bad_stop_timeout", "cmd=/bin/sleep 1000\nstop_timeout=soon\n", &["bad_stop_timeout:2: ", "\"soon\""]),
    ("bad_env", "cmd=/bin/sleep 1000\nenv=NO EQUALS\n", &["bad_env:2: ", "\"NO EQUALS\""]),
    ("no_equals", "cmd=/bin/sleep 1000\n# fine\njunk\n", &["no_equals:3: "]),
    ("empty_cmd", "cmd=\n", &["empty_cmd:1: "]),
    ("open_quote", "cmd=/bin/sh -c 'sleep 1000\n", &["open_quote:1: "]),
    ("relative_cwd", "cmd=/bin/sleep 1000\ncwd=tmp\n", &["relative_cwd:2: "]),
];

#[test]
fn invalid_files_are_reported_by_file_and_line_and_skipped() {
    let t = Tmp::new("invalid");
    for (name, content, _) in INVALID {
        t.write(name, content);
    }
    t.write("good", &sleeper(1000));
    t.write("env_twice", "cmd=/bin/sleep 1000\nenv=A=1\nenv=B=2\n");
    let dir = t.conf_str();
    let g = Going::start(&t);
    let good = g.expect_started("good", 1);
    g.expect_started("env_twice", 1);
    for (name, _, want) in INVALID {
        let line = format!("going: {dir}/{}", want[0]);
        g.expect_log(&line);
        let log = g.log();
        let l = log.lines().find(|l| l.starts_with(&line)).unwrap();
        for w in &want[1..] {
            assert!(l.contains(w), "{name}: {l:?} lacks {w:?}");
        }
        assert_eq!(g.starts(name), 0, "{name} was started:\n{log}");
    }
    assert!(alive(good));
    assert_eq!(g.children().len(), 2, "children of going: {:?}", g.children());

    let (code, out) = t.check();
    assert_eq!(code, 78, "{out}");
    for (name, _, want) in INVALID {
        assert!(out.contains(&format!("{dir}/{}", want[0])), "check does not report {name}: {out}");
    }
    for name in ["/good", "/env_twice"] {
        assert!(!out.contains(name), "check reports valid {name}: {out}");
    }
}

#[test]
fn bad_names_are_rejected_by_name() {
    let t = Tmp::new("bad_names");
    let long = "n".repeat(65);
    let bad = ["bad name", "a:b", "caf\u{e9}", "semi;colon", long.as_str()];
    let max = "m".repeat(64);
    let good = ["Az09._-@+", max.as_str()];
    for name in bad.iter().chain(&good) {
        t.write(name, &sleeper(1000));
    }
    let dir = t.conf_str();
    let g = Going::start(&t);
    for name in good {
        g.expect_started(name, 1);
    }
    for name in bad {
        g.expect_log(&format!("going: {dir}/{name}: invalid service name"));
        assert_eq!(g.starts(name), 0, "{name} started");
    }
    assert_eq!(g.children().len(), good.len());
    let (code, out) = t.check();
    assert_eq!(code, 78, "{out}");
    for name in bad {
        assert!(out.contains(&format!("{dir}/{name}: invalid service name")), "check: {out}");
    }
}

/// A service's cgroup is named after it, beside the kernel's files of
/// the cgroup above (`cgroup.procs`, `memory.max`, `cpu.pressure`): such
/// names are refused, with cgroups or without, by the supervisor and by
/// `going check` alike; names merely like them are services.
#[test]
fn names_of_cgroup_files_are_refused() {
    let t = Tmp::new("cgroup_names");
    let kept = ["cgroup.procs", "cgroup.kill", "memory.max", "cpu.pressure", "pids.max"];
    let good = ["normal", "memory", "cgroups.x", "nginx.service"];
    for name in kept.iter().chain(&good) {
        t.write(name, &sleeper(1000));
    }
    let dir = t.conf_str();
    let g = Going::start(&t);
    for name in good {
        g.expect_started(name, 1);
    }
    let why = "invalid service name: cgroup., cpu., io., memory., pids. and the other controllers' prefixes name the kernel's cgroup files";
    for name in kept {
        g.expect_log(&format!("going: {dir}/{name}: {why}"));
        assert_eq!(g.starts(name), 0, "{name} started");
    }
    assert_eq!(g.children().len(), good.len());
    let (code, out) = t.check();
    assert_eq!(code, 78, "{out}");
    for name in kept {
        assert!(out.contains(&format!("{dir}/{name}: {why}")), "check: {out}");
    }
}

#[test]
fn editor_and_package_manager_files_are_ignored_silently() {
    let t = Tmp::new("ignored");
    let ignored = [
        ".hidden",
        "x~",
        "x.swp",
        "x.tmp",
        "x.bak",
        "x.dpkg-new",
        "x.dpkg-old",
        "x.dpkg-dist",
        "x.rpmnew",
        "x.rpmsave",
    ];
    for name in ignored {
        t.write(name, &sleeper(1000));
    }
    t.write("zz", &sleeper(1000));
    let g = Going::start(&t);
    g.expect_started("zz", 1);
    g.reload(); // scan twice, then give going a moment to say anything more
    assert!(!wait_until(Duration::from_millis(500), || g.children().len() != 1));
    let log = g.log();
    for name in ignored {
        assert!(!log.contains(&format!("/{name}")), "{name} mentioned:\n{log}");
        assert!(!log.contains(&format!("going: {name}:")), "{name} mentioned:\n{log}");
    }
    assert_eq!(g.children().len(), 1, "log:\n{log}");
    let (code, out) = t.check();
    assert_eq!(code, 0, "{out}");
    for name in ignored {
        assert!(!out.contains(name), "check mentions {name}: {out}");
    }
}

#[test]
fn files_over_4096_bytes_are_rejected() {
    let t = Tmp::new("size");
    let mut exact = String::from("cmd=/bin/sleep 1000\n");
    exact.push_str(&"#".repeat(4096 - exact.len() - 1));
    exact.push('\n');
    assert_eq!(exact.len(), 4096);
    let big = format!("{exact}\n");
    t.write("exact", &exact);
    t.write("big", &big);
    let g = Going::start(&t);
    g.expect_started("exact", 1);
    g.expect_log(&format!("going: {}/big: larger than 4096 bytes", t.conf_str()));
    assert_eq!(g.starts("big"), 0);
}

#[test]
fn binary_garbage_is_rejected() {
    let t = Tmp::new("garbage");
    let mut junk = b"cmd=/bin/sleep 1000\n\xff".to_vec();
    let mut x: u32 = 12345;
    for _ in 0..2000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let b = (x >> 16) as u8;
        junk.push(if b == b'=' || b == b'\n' { 0 } else { b });
    }
    t.write_bytes("garbage", &junk);
    t.write("good", &sleeper(1000));
    let g = Going::start(&t);
    g.expect_started("good", 1);
    g.expect_log(&format!("going: {}/garbage:", t.conf_str()));
    assert_eq!(g.starts("garbage"), 0);
    assert!(wait_until(T, || g.children().len() == 1));
}

#[test]
fn a_fifo_does_not_hang_going() {
    let t = Tmp::new("fifo");
    let st = Command::new("mkfifo").arg(t.conf().join("fifo")).status().unwrap();
    assert!(st.success());
    t.write("good", &sleeper(1000));
    let g = Going::start(&t);
    g.expect_started("good", 1);
    g.expect_log(&format!("going: {}/fifo: not a regular file", t.conf_str()));
    g.reload(); // a re-read must not block either
    t.write("later", &sleeper(1000));
    g.reload();
    g.expect_started("later", 1);
    let (code, out) = t.check();
    assert_eq!(code, 78, "{out}");
    assert!(out.contains("/fifo: not a regular file"), "{out}");
}

#[test]
fn a_subdirectory_is_reported() {
    let t = Tmp::new("subdir");
    fs::create_dir(t.conf().join("sub")).unwrap();
    t.write("good", &sleeper(1000));
    let g = Going::start(&t);
    g.expect_started("good", 1);
    g.expect_log(&format!("going: {}/sub: not a regular file", t.conf_str()));
}

#[test]
fn a_symlink_to_a_regular_file_is_a_service() {
    let t = Tmp::new("symlink");
    let real = t.file("real.conf");
    fs::write(&real, "cmd=/bin/sleep 1000\n").unwrap();
    symlink(&real, t.conf().join("link")).unwrap();
    symlink(t.path.join("nowhere"), t.conf().join("dangling")).unwrap();
    symlink(&t.path, t.conf().join("todir")).unwrap();
    let g = Going::start(&t);
    let pid = g.expect_started("link", 1);
    assert!(wait_until(T, || cmdline(pid) == ["/bin/sleep", "1000"]));
    let dir = t.conf_str();
    g.expect_log(&format!("going: {dir}/dangling: "));
    g.expect_log(&format!("going: {dir}/todir: not a regular file"));
    assert_eq!(g.starts("dangling") + g.starts("todir"), 0);
}

/// The table's capacity, read from the one constant that sets it.
fn capacity() -> usize {
    let src = include_str!("../src/limits.rs");
    let line = src.lines().find(|l| l.starts_with("pub const MAX_SERVICES: usize =")).expect("MAX_SERVICES");
    line.trim_end_matches(';').rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn files_over_capacity_reject_the_rest() {
    let cap = capacity();
    let t = Tmp::new("capacity");
    for i in 0..cap + 2 {
        t.write(&format!("s{i:03}"), &sleeper(1000));
    }
    let g = Going::start(&t);
    let limit = format!("too many services (limit {cap})");
    g.expect_log_n(&limit, 2);
    assert!(
        wait_until(Duration::from_secs(15), || g.count_log(": started, pid ") >= cap),
        "only {} started",
        g.count_log(": started, pid ")
    );
    assert!(wait_until(T, || g.children().len() == cap), "{} children", g.children().len());
    assert!(!wait_until(Duration::from_millis(300), || g.count_log(": started, pid ") > cap));
    let log = g.log();
    let rejected: Vec<&str> = log.lines().filter(|l| l.ends_with(&limit)).collect();
    assert_eq!(rejected.len(), 2, "{rejected:?}");
    let mut names = Vec::new();
    for l in rejected {
        let name = l.strip_prefix(&format!("going: {}/", t.conf_str())).unwrap().split(':').next().unwrap();
        assert_eq!(g.starts(name), 0, "{name} both rejected and started");
        names.push(name.to_string());
    }
    // The files that lose out are the last by name, whatever order the
    // directory lists them in.
    names.sort();
    assert_eq!(names, [format!("s{cap:03}"), format!("s{:03}", cap + 1)]);
}

#[test]
fn crlf_line_endings_are_accepted() {
    let t = Tmp::new("crlf");
    t.write("dos", "cmd=/bin/sleep 1000\r\nenv=A=b\r\numask=077\r\n");
    let g = Going::start(&t);
    let pid = g.expect_started("dos", 1);
    assert!(wait_until(T, || cmdline(pid) == ["/bin/sleep", "1000"]), "cmdline {:?}", cmdline(pid));
    assert!(environ(pid).contains(&"A=b".to_string()), "{:?}", environ(pid));
    assert_eq!(status_field(pid, "Umask"), "0077");
}

#[test]
fn comments_blanks_and_surrounding_blanks_are_ignored() {
    let t = Tmp::new("comments");
    t.write(
        "c",
        "# a comment\n\n   # indented comment\n\t\n  cmd=/bin/sleep 1000  \n \tenv=A=b\t \n# cmd=/bin/false\n",
    );
    let g = Going::start(&t);
    let pid = g.expect_started("c", 1);
    assert!(wait_until(T, || cmdline(pid) == ["/bin/sleep", "1000"]), "cmdline {:?}", cmdline(pid));
    let env = environ(pid);
    assert!(env.contains(&"A=b".to_string()), "{env:?}");
    let (code, out) = t.check();
    assert_eq!(code, 0, "{out}");
}

/// A regression: when the shared config storage was so full that not even
/// the error could be kept, the log named the file with no reason at all.
#[test]
fn a_full_config_store_still_says_why() {
    let t = Tmp::new("arena_full");
    let padding = "x".repeat(3900);
    for i in 0..40 {
        t.write(&format!("big{i:02}"), &format!("cmd=/bin/sleep 1000\nenv=PAD={padding}\n"));
    }
    let g = Going::start(&t);
    g.expect_log("no room left for this config");
    let prefix = format!("going: {}/", t.conf_str());
    assert!(wait_until(T, || g.count_log(&prefix) + g.count_log(": started, pid ") >= 40), "log:\n{}", g.log());
    for line in g.log().lines().filter(|l| l.starts_with(&prefix)) {
        let rest = line.strip_prefix(&prefix).unwrap();
        let (name, why) = rest.split_once(':').unwrap_or((rest, ""));
        assert!(why.trim().len() > 3, "{name}: logged without a reason: {line:?}");
    }
}

/// The problems the supervisor logged about the files of `t`'s directory
/// (`going: DIR/NAME...` without `going: `), and those `going check`
/// printed (without its summary), each sorted; with check's exit code and
/// its summary line.
fn both_reports(t: &Tmp, g: &Going) -> (Vec<String>, Vec<String>, i32, String) {
    let prefix = format!("going: {}/", t.conf_str());
    let mut logged: Vec<String> =
        g.log().lines().filter(|l| l.starts_with(&prefix)).map(|l| l["going: ".len()..].to_string()).collect();
    logged.sort();
    let (code, out) = t.check();
    let mut printed: Vec<String> = out.lines().map(str::to_string).collect();
    let summary = printed.pop().unwrap_or_default();
    printed.sort();
    (logged, printed, code, summary)
}

/// All files share one store (48 KiB): a valid file that no longer fits
/// is refused by the supervisor, in name order at its start, and `going
/// check` says so of the same files instead of counting them valid.
#[test]
fn check_finds_no_room_where_the_supervisor_does() {
    let t = Tmp::new("check_no_room");
    let pad = "v".repeat(3990);
    for j in 1..=14 {
        t.write(&format!("z{j:02}"), &format!("cmd=/bin/sleep 60{j:02}\nenv=A={pad}\n"));
    }
    let g = Going::start(&t);
    g.expect_log_n("no room left for this config", 2);
    let d = t.conf_str();
    let (logged, printed, code, summary) = both_reports(&t, &g);
    let no_room = ": no room left for this config (all configs share 48 KiB)";
    assert_eq!(logged, [format!("{d}/z13{no_room}"), format!("{d}/z14{no_room}")]);
    assert_eq!(printed, logged);
    assert_eq!(summary, format!("{d}: 12 valid services, 2 problems"));
    assert_eq!(code, 78);
}

/// Past the table's capacity the names that lose out are the last by
/// name, whatever order the directory lists them in, and an invalid file
/// holds an entry of the table as a valid one does (its row in `going
/// status` says why): check names the same files as the supervisor.
#[test]
fn check_rejects_past_capacity_the_files_the_supervisor_rejects() {
    let cap = capacity();
    let t = Tmp::new("check_capacity");
    for i in 0..cap {
        t.write(&format!("s{i:03}"), &sleeper(1000));
    }
    for name in ["b001", "b002", "b003", "b004", "b005", "a000"] {
        t.write(name, &sleeper(1000));
    }
    t.write("a001", "cmd=/bin/sleep 1000\nfoo=bar\n");
    t.write("bad name", &sleeper(1000));
    let g = Going::start(&t);
    let limit = format!(": too many services (limit {cap})");
    g.expect_log_n(&limit, 7);
    let d = t.conf_str();
    let (logged, printed, code, summary) = both_reports(&t, &g);
    let mut want: Vec<String> = (cap - 7..cap).map(|i| format!("{d}/s{i:03}{limit}")).collect();
    want.push(format!("{d}/a001:2: unknown key \"foo\""));
    want.push(format!("{d}/bad name: invalid service name"));
    want.sort();
    assert_eq!(logged, want);
    assert_eq!(printed, want);
    assert_eq!(summary, format!("{d}: {} valid services, 9 problems", cap - 1));
    assert_eq!(code, 78);
}

/// The `after=` edges of all services together, read from the one
/// constant that sets them.
fn max_edges() -> usize {
    let src = include_str!("../src/limits.rs");
    let line = src.lines().find(|l| l.starts_with("pub const MAX_EDGES: usize =")).expect("MAX_EDGES");
    line.trim_end_matches(';').rsplit(' ').next().unwrap().parse().unwrap()
}

/// Past the graph's limit of `after=` edges the supervisor ignores the
/// rest, so the services past it start without waiting: a problem, which
/// check reports in the supervisor's words.
#[test]
fn check_reports_after_names_past_the_limit() {
    let (tasks, services) = (40, 30);
    let edges = max_edges();
    assert!(tasks * services > edges);
    let t = Tmp::new("check_edges");
    let names: Vec<String> = (0..tasks).map(|i| format!("d{i:03}")).collect();
    for (i, n) in names.iter().enumerate() {
        t.write(n, &format!("cmd=/bin/sleep 9{i}\nready=exit\nrestart=on-failure\n"));
    }
    for i in 0..services {
        t.write(&format!("s{i:03}"), &format!("cmd=/bin/sleep 1000\nafter={}\n", names.join(" ")));
    }
    // Tasks sort first and are after nothing: the first service whose
    // edges do not all fit is the one past `edges / tasks` others.
    let over = format!("s{:03}", edges / tasks);
    let why = format!(": too many after= names in all services (limit {edges}); the rest are ignored");
    let g = Going::start(&t);
    g.expect_log(&format!("going: {over}{why}"));
    let d = t.conf_str();
    let (code, out) = t.check();
    assert_eq!(out, format!("{d}/{over}{why}\n{d}: {} valid services, 1 problem\n", tasks + services));
    assert_eq!(code, 78);
}
