//! SPEC §12, service output part two (issue 15): `log_time` stamps
//! checked against the clocks, lines cut at 4096 bytes, `log=prefix`
//! lines that never run into another's, `log=syslog` into a real
//! datagram socket at a private `/dev/log` (a mount namespace of going's
//! own: the host's `/dev/log` is never touched), syslog missing, refusing
//! and full, and who may read and where going writes a log file.

mod common;
mod extra;
use common::*;
use extra::*;
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A shell script in the temp dir, run by a service as `cmd=/bin/sh SCRIPT`.
fn script(t: &Tmp, name: &str, body: &str) -> String {
    let p = t.file(name);
    fs::write(&p, body).unwrap();
    format!("cmd=/bin/sh {}\n", p.display())
}

// ---- stamps ----------------------------------------------------------------

/// Seconds since 1970 of `2026-12-01T18:33:22.123456Z`, checking its form.
fn parse_utc(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let punct = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.'), (26, b'Z')];
    if b.len() != 27 || punct.iter().any(|&(i, c)| b[i] != c) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<i64>().ok();
    let (y, mo, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (h, mi, sec, us) = (n(11..13)?, n(14..16)?, n(17..19)?, n(20..26)?);
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mut days: i64 = (1970..y).map(|y| if leap(y) { 366 } else { 365 }).sum();
    let lens = [31, if leap(y) { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    days += lens[..(mo - 1) as usize].iter().sum::<i64>() + d - 1;
    Some((days * 86_400 + h * 3600 + mi * 60 + sec) as f64 + us as f64 / 1e6)
}

fn wall() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

fn uptime() -> f64 {
    fs::read_to_string("/proc/uptime").unwrap().split(' ').next().unwrap().parse().unwrap()
}

/// Splits `[   12.345678] rest` into the seconds and the rest, checking
/// the kernel's form: five places before the point, blank-padded.
fn parse_boot(line: &str) -> Option<(f64, &str)> {
    let inner = line.strip_prefix('[')?;
    let (num, rest) = inner.split_once("] ")?;
    let (int, frac) = num.split_once('.')?;
    if int.len() < 5 || frac.len() != 6 || !int.trim_start().chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((num.trim_start().parse().ok()?, rest))
}

#[test]
fn utc_stamps_are_the_wall_clock_with_microseconds() {
    let t = Tmp::new("out2_utc");
    let log = t.file("u.log");
    let body = "for i in 1 2 3 4 5; do echo \"line $i\"; sleep 0.1; done; exec sleep 1000\n";
    t.write("u", &format!("{}log={}\nlog_time=utc\n", script(&t, "u.sh", body), log.display()));
    let before = wall();
    let g = Going::start(&t);
    g.expect_started("u", 1);
    assert!(wait_file(&log, T, |b| String::from_utf8_lossy(b).contains("line 5\n")), "{:?}", read(&log));
    let after = wall();
    let mut last = 0.0;
    for (i, l) in read(&log).lines().enumerate() {
        let (stamp, rest) = l.split_at(27.min(l.len()));
        let at = parse_utc(stamp).unwrap_or_else(|| panic!("no UTC stamp: {l:?}"));
        assert_eq!(rest, format!(" line {}", i + 1), "{l:?}");
        assert!(at > before - 1.0 && at < after + 1.0, "{l:?}: {at} not within [{before}, {after}]");
        assert!(at >= last, "stamps go backwards: {l:?}");
        last = at;
    }
}

#[test]
fn boot_stamps_are_seconds_since_boot_as_the_kernel_prints_them() {
    let t = Tmp::new("out2_boot");
    let log = t.file("b.log");
    // "second" 0.2 s at least after "first" was filed.
    let go = t.file("go");
    let body = format!("echo first; {}; echo second; exec sleep 1000\n", sh_until(&go));
    t.write("b", &format!("{}log={}\nlog_time=boot\n", script(&t, "b.sh", &body), log.display()));
    let before = uptime();
    let g = Going::start(&t);
    g.expect_started("b", 1);
    assert!(wait_file(&log, T, |b| String::from_utf8_lossy(b).contains("first\n")), "{:?}", read(&log));
    thread::sleep(Duration::from_millis(200));
    fs::write(&go, "").unwrap();
    assert!(wait_file(&log, T, |b| String::from_utf8_lossy(b).contains("second\n")), "{:?}", read(&log));
    let after = uptime();
    let text = read(&log);
    let lines: Vec<_> = text.lines().map(|l| parse_boot(l).unwrap_or_else(|| panic!("no boot stamp: {l:?}"))).collect();
    assert_eq!(lines.iter().map(|l| l.1).collect::<Vec<_>>(), ["first", "second"]);
    for (at, _) in &lines {
        assert!(*at > before - 1.0 && *at < after + 1.0, "{at} not within [{before}, {after}]");
    }
    assert!(lines[1].0 >= lines[0].0 + 0.1, "{text:?}");
}

#[test]
fn a_line_written_in_parts_is_stamped_once() {
    let t = Tmp::new("out2_parts");
    let log = t.file("p.log");
    let body = "printf 'abc'; sleep 0.4; printf 'def\\n'; echo next; exec sleep 1000\n";
    t.write("p", &format!("{}log={}\nlog_time=utc\n", script(&t, "p.sh", body), log.display()));
    t.write("q", &format!("{}log=prefix\nlog_time=utc\n", script(&t, "q.sh", body)));
    let g = Going::start(&t);
    g.expect_started("p", 1);
    assert!(wait_file(&log, T, |b| String::from_utf8_lossy(b).contains("next\n")), "{:?}", read(&log));
    let text = read(&log);
    let rests: Vec<_> = text.lines().map(|l| (parse_utc(&l[..27]).is_some(), &l[27..])).collect();
    assert_eq!(rests, [(true, " abcdef"), (true, " next")], "{text:?}");
    // log=prefix: the same, after the stamp and the name.
    let ours = |log: &str| -> Vec<String> {
        log.lines()
            .filter(|l| l.contains(" q | "))
            .map(|l| format!("{}{}", parse_utc(&l[..27]).is_some(), &l[27..]))
            .collect()
    };
    assert!(wait_until(T, || ours(&g.log()).len() >= 2), "log:\n{}", g.log());
    assert_eq!(ours(&g.log()), ["true q | abcdef", "true q | next"], "log:\n{}", g.log());
}

#[test]
fn long_lines_are_cut_at_4096_bytes_each_with_its_stamp() {
    let t = Tmp::new("out2_cut");
    let log = t.file("c.log");
    // 4096 exactly (not cut), 10000, then 5000 without a newline yet.
    let body = "head -c 4096 /dev/zero | tr '\\0' a; echo; head -c 10000 /dev/zero | tr '\\0' b; echo; \
                head -c 5000 /dev/zero | tr '\\0' c; exec sleep 1000\n";
    t.write("c", &format!("{}log={}\nlog_time=boot\n", script(&t, "c.sh", body), log.display()));
    t.write("p", &format!("{}log=prefix\n", script(&t, "p.sh", body)));
    let g = Going::start(&t);
    g.expect_started("c", 1);
    let want = [("a", 4096), ("b", 4096), ("b", 4096), ("b", 1808), ("c", 4096), ("c", 904)];
    let total: usize = want.iter().map(|w| w.1).sum();
    let letters = |s: &str| s.bytes().filter(|b| b"abc".contains(b)).count();
    assert!(wait_file(&log, T, |b| letters(&String::from_utf8_lossy(b)) >= total), "{}", read(&log).len());
    let text = read(&log);
    let got: Vec<_> = text
        .lines()
        .map(|l| {
            let (_, rest) = parse_boot(l).unwrap_or_else(|| panic!("no stamp on a piece: {:?}", &l[..l.len().min(40)]));
            (&rest[..1], rest.len())
        })
        .collect();
    assert_eq!(got, want);
    assert!(!text.ends_with('\n'), "the unfinished line was ended");
    // log=prefix: the same pieces, each with the name.
    let pieces = |log: &str| -> Vec<(String, usize)> {
        log.lines().filter_map(|l| l.strip_prefix("p | ")).map(|r| (r[..1].to_string(), r.len())).collect()
    };
    assert!(wait_until(T, || pieces(&g.log()).len() >= want.len()), "{:?}", pieces(&g.log()));
    let want: Vec<_> = want.iter().map(|(c, n)| (c.to_string(), *n)).collect();
    assert_eq!(pieces(&g.log()), want);
}

#[test]
fn prefixed_lines_of_services_never_run_into_each_other() {
    // Four services flood going's stdout with lines of every length up
    // to 3000 bytes, written in 4 KiB blocks that end inside lines; going
    // logs their starts and exits meanwhile on the same file. Every line
    // must be one service's only, and nothing may be lost.
    let t = Tmp::new("out2_interleave");
    let mut expected = Vec::new();
    for name in ["a", "b", "c", "d"] {
        let body = format!(
            "awk 'BEGIN {{ for (i = 0; i < 1500; i++) {{ n = (i * 37 + {k}) % 3000 + 1; s = \"\"; \
             while (length(s) < n) s = s \"{c}\"; print substr(s, 1, n) }} }}'; sleep 0.2; exit 1\n",
            k = expected.len() * 11,
            c = name.repeat(16)
        );
        let total: usize = (0..1500).map(|i| (i * 37 + expected.len() * 11) % 3000 + 1).sum();
        expected.push((name, total));
        t.write(name, &format!("{}log=prefix\n", script(&t, &format!("{name}.sh"), &body)));
    }
    let g = Going::start(&t);
    // Each is respawned (after 1 s): a second round of the same lines.
    for (name, _) in &expected {
        g.expect_started(name, 2);
    }
    let count = |log: &str, name: &str| -> usize {
        let p = format!("{name} | ");
        log.lines().filter_map(|l| l.strip_prefix(p.as_str())).map(str::len).sum()
    };
    let done = wait_until(Duration::from_secs(20), || {
        let log = g.log();
        expected.iter().all(|(n, total)| count(&log, n) >= 2 * total)
    });
    let log = g.log();
    assert!(done, "not all output arrived: {:?}", expected.iter().map(|(n, _)| count(&log, n)).collect::<Vec<_>>());
    for l in log.lines() {
        if let Some(own) = l.strip_prefix("going: ") {
            assert!(!own.contains(" | "), "a service line ran into going's: {:?}", &l[..l.len().min(80)]);
            continue;
        }
        let (name, text) =
            l.split_once(" | ").unwrap_or_else(|| panic!("not a prefixed line: {:?}", &l[..l.len().min(80)]));
        assert!(["a", "b", "c", "d"].contains(&name), "{:?}", &l[..l.len().min(80)]);
        assert!(text.bytes().all(|b| b == name.as_bytes()[0]), "two services in one line: {:?}", &l[..l.len().min(80)]);
    }
    for (name, total) in &expected {
        // Both rounds, and whatever of a third has come.
        assert!(count(&log, name) >= 2 * total, "{name}: {} of {}", count(&log, name), 2 * total);
    }
}

// ---- syslog ----------------------------------------------------------------

/// Root, `unshare`, `mknod`, and a kernel that lets us mount; else skips.
fn private_mounts(test: &str) -> bool {
    if !is_root() {
        skip(test, "needs root");
        return false;
    }
    if !have("unshare") || !have("mknod") {
        skip(test, "needs unshare and mknod");
        return false;
    }
    let ok = Command::new("unshare")
        .args(["-m", "--propagation", "private", "/bin/sh", "-c", "mount -t tmpfs going-test /mnt"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip(test, "cannot make a private mount namespace here");
    }
    ok
}

/// Datagrams on `sock` within `timeout`, until `enough` says so.
fn receive(sock: &UnixDatagram, timeout: Duration, mut enough: impl FnMut(&[String]) -> bool) -> Vec<String> {
    sock.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline && !enough(&got) {
        match sock.recv(&mut buf) {
            Ok(n) => got.push(String::from_utf8_lossy(&buf[..n]).into_owned()),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("recv: {e}"),
        }
    }
    got
}

#[test]
fn syslog_lines_carry_priority_name_and_pid() {
    let test = "syslog_lines_carry_priority_name_and_pid";
    if !private_mounts(test) {
        return;
    }
    let t = Tmp::new("out2_syslog");
    let path = t.file("syslog");
    let sock = UnixDatagram::bind(&path).unwrap();
    // (Only null and log in its /dev.)
    // The rest of "part" once it was sent: going had found the pipe
    // empty after it, so it went as a line of its own.
    let go = t.file("go");
    let body = format!(
        "echo one; echo 'two  words'; printf part; {}; echo ial; \
         awk 'BEGIN {{ while (length(s) < 5000) s = s \"xxxxxxxxxx\"; print s }}'; exec sleep 1000\n",
        sh_until(&go)
    );
    t.write("web-1", &format!("{}log=syslog\n", script(&t, "s.sh", &body)));
    let g = Going::start_via(&t, &private_dev_log(&path), &[]);
    let pid = g.expect_started("web-1", 1);
    let tag = format!("<30>web-1[{pid}]: ");
    // (going's own lines come to the same socket.)
    let mine = |m: &&String| m.starts_with("<30>web-1[");
    let mut got = receive(&sock, T, |g| g.iter().any(|m| m.ends_with("]: part")));
    fs::write(&go, "").unwrap();
    let before = got.iter().filter(mine).count();
    got.extend(receive(&sock, T, |g| g.iter().filter(mine).count() + before >= 6));
    let ours: Vec<_> = got.iter().filter(mine).cloned().collect();
    let want = [
        format!("{tag}one"),
        format!("{tag}two  words"),
        format!("{tag}part"),
        format!("{tag}ial"),
        format!("{tag}{}", "x".repeat(4096)),
        format!("{tag}{}", "x".repeat(904)),
    ];
    let short = |v: &[String]| -> Vec<String> {
        v.iter()
            .map(|m| if m.len() > 60 { format!("{}... ({} bytes)", &m[..40], m.len()) } else { m.clone() })
            .collect()
    };
    assert!(ours == want, "{:?} != {:?}; log:\n{}", short(&ours), short(&want), g.log());
    // Nothing of it on going's own output.
    let leaked = g.log().lines().any(|l| l == "one" || l.contains("two  words") || l.contains("xxxx"));
    assert!(!leaked, "log:\n{}", g.log());
}

/// Connects to /dev/log of `pid`'s mount namespace, as strace sees them.
fn connects_of(pid: u32, during: Duration) -> Option<usize> {
    if !have("strace") {
        return None;
    }
    let out = Command::new("timeout")
        .arg(format!("{}", during.as_secs_f64()))
        .args(["strace", "-f", "-e", "trace=connect", "-p", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stderr).lines().filter(|l| l.contains("connect(")).count())
}

#[test]
fn syslog_missing_or_refusing_drops_and_counts_then_recovers() {
    let test = "syslog_missing_or_refusing_drops_and_counts_then_recovers";
    if !private_mounts(test) {
        return;
    }
    let t = Tmp::new("out2_syslog_back");
    let path = t.file("syslog");
    let body = "i=0; while :; do echo \"tick $i\"; i=$((i+1)); sleep 0.05; done\n";
    t.write("tick", &format!("{}log=syslog\n", script(&t, "t.sh", body)));
    // No socket at the link's target: every connect fails.
    let g = Going::start_via(&t, &private_dev_log(&path), &[]);
    let pid = g.expect_started("tick", 1);
    let down = "going: tick: cannot send to /dev/log: No such file or directory; dropping its lines until it works";
    g.expect_log(down);
    // Twenty lines a second, but no more than a connect a second.
    if let Some(n) = connects_of(g.pid(), Duration::from_secs(3)) {
        assert!(n <= 4, "{n} connects in 3 s");
    }
    assert_eq!(g.count_log(down), 1, "log:\n{}", g.log());

    // syslog appears: the next line after the pause gets through, and
    // going says how many were lost before it.
    let sock = UnixDatagram::bind(&path).unwrap();
    let ours = |m: &String| m.contains("]: tick ");
    let got: Vec<_> = receive(&sock, Duration::from_secs(3), |g| g.iter().any(ours)).into_iter().filter(ours).collect();
    let first = got.first().unwrap_or_else(|| panic!("nothing arrived; log:\n{}", g.log()));
    let k: u64 = first.strip_prefix(&format!("<30>tick[{pid}]: tick ")).and_then(|n| n.parse().ok()).expect(first);
    g.expect_log(&format!("going: tick: {k} lines dropped while syslog was unavailable"));

    // It goes away, leaving its socket file: refused, then back again.
    drop(sock);
    let refused = "going: tick: cannot send to /dev/log: Connection refused; dropping its lines until it works";
    g.expect_log(refused);
    fs::remove_file(&path).unwrap();
    let sock = UnixDatagram::bind(&path).unwrap();
    let got = receive(&sock, Duration::from_secs(3), |g| !g.is_empty());
    assert!(!got.is_empty(), "nothing after the restart; log:\n{}", g.log());
    assert!(g.wait_log_n("lines dropped while syslog was unavailable", 2, T), "log:\n{}", g.log());
    assert_eq!(g.count_log(refused), 1, "log:\n{}", g.log());
}

#[test]
fn a_full_syslog_never_blocks_going_and_every_line_is_counted() {
    let test = "a_full_syslog_never_blocks_going_and_every_line_is_counted";
    if !private_mounts(test) {
        return;
    }
    let t = Tmp::new("out2_syslog_full");
    let path = t.file("syslog");
    // A syslogd that does not read (yet): its queue holds a few lines.
    let sock = UnixDatagram::bind(&path).unwrap();
    // The burst, then "after" lines once the test has read the queue.
    let go = t.file("go");
    let body = format!(
        "i=0; while [ $i -lt 300 ]; do echo \"burst $i\"; i=$((i+1)); done; \
         {}; while :; do echo after; sleep 0.1; done\n",
        sh_until(&go)
    );
    t.write("burst", &format!("{}log=syslog\n", script(&t, "b.sh", &body)));
    t.write("k", &sleeper(1000));
    let g = Going::start_via(&t, &private_dev_log(&path), &[]);
    g.expect_started("burst", 1);
    g.expect_log(
        "going: burst: cannot send to /dev/log: Resource temporarily unavailable; dropping its lines until it works",
    );
    // going goes on: it answers and restarts a killed service.
    wait_socket(&t);
    let k = g.expect_started("k", 1);
    signal(k, "KILL");
    g.expect_started("k", 2);
    let queued: Vec<_> =
        receive(&sock, Duration::from_millis(300), |_| false).into_iter().filter(|m| m.contains("burst ")).collect();
    assert!(!queued.is_empty() && queued.len() < 300, "{} of 300 queued", queued.len());
    assert_eq!(expect_state(&t, "burst", "up").get("name"), "burst");
    fs::write(&go, "").unwrap();
    // Read from now on: the next lines go, and every burst line is
    // either received or counted.
    let after = receive(&sock, Duration::from_secs(5), |g| g.iter().any(|m| m.ends_with(": after")));
    assert!(!after.is_empty(), "log:\n{}", g.log());
    let line = format!("going: burst: {} lines dropped while syslog was unavailable", 300 - queued.len());
    g.expect_log(&line);
}

#[test]
fn busybox_syslogd_files_the_lines() {
    let test = "busybox_syslogd_files_the_lines";
    if !private_mounts(test) {
        return;
    }
    if !Path::new("/bin/busybox").exists() {
        return skip(test, "no /bin/busybox");
    }
    let t = Tmp::new("out2_busybox");
    let messages = t.file("messages");
    // /dev with no /dev/log: busybox syslogd makes its own, a service of
    // the same going.
    let ns = "exec unshare -m --propagation private /bin/sh -c 'mount -t tmpfs -o mode=0755 going-test /dev \
              && mknod -m 666 /dev/null c 1 3 && exec \"$0\" -d \"$1\" -s \"$2\"' \"$0\" \"$1\" \"$2\";";
    t.write("syslogd", &format!("cmd=/bin/busybox syslogd -n -O {}\n", messages.display()));
    // The first line once syslogd has made /dev/log: it must be filed.
    let body =
        "while [ ! -S /dev/log ]; do sleep 0.05; done; echo hello from app; while :; do sleep 0.2; echo tick; done\n";
    t.write("app", &format!("{}log=syslog\n", script(&t, "app.sh", body)));
    let g = Going::start_via(&t, ns, &[]);
    let pid = g.expect_started("app", 1);
    let want = format!("daemon.info app[{pid}]: ");
    assert!(
        wait_file(&messages, Duration::from_secs(8), |b| String::from_utf8_lossy(b).contains(&format!("{want}tick"))),
        "messages:\n{}\nlog:\n{}",
        read(&messages),
        g.log()
    );
    let text = read(&messages);
    assert!(text.contains(&format!("{want}hello from app")), "messages:\n{text}\nlog:\n{}", g.log());
}

// ---- who may read, where going writes ---------------------------------------

/// useradd and friends lock /etc/passwd: one at a time in this process.
static ACCOUNTS: Mutex<()> = Mutex::new(());

fn admin(args: &[&str]) {
    let _lock = ACCOUNTS.lock().unwrap_or_else(|e| e.into_inner());
    let ok = wait_until(T, || Command::new(args[0]).args(&args[1..]).output().is_ok_and(|o| o.status.success()));
    assert!(ok, "{args:?} failed");
}

fn id_of(db: &str, name: &str) -> u32 {
    let out = Command::new("getent").args([db, name]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).split(':').nth(2).and_then(|s| s.parse().ok()).unwrap()
}

/// A user with a group of its own, and another group; deleted on drop.
struct Account {
    user: String,
    groups: [String; 2],
}

impl Account {
    fn new(tag: &str) -> Account {
        let base = format!("go{}{tag}", std::process::id() % 100_000);
        let groups = [format!("{base}g"), format!("{base}o")];
        for g in &groups {
            admin(&["groupadd", g]);
        }
        let user = format!("{base}u");
        admin(&["useradd", "-M", "-N", "-g", &groups[0], "-d", "/nonexistent", "-s", "/bin/sh", &user]);
        Account { user, groups }
    }
}

impl Drop for Account {
    fn drop(&mut self) {
        let _lock = ACCOUNTS.lock().unwrap_or_else(|e| e.into_inner());
        let _ = Command::new("userdel").arg(&self.user).output();
        for g in &self.groups {
            let _ = Command::new("groupdel").arg(g).output();
        }
    }
}

#[test]
fn a_new_log_file_is_0640_in_the_services_group_and_it_can_read_it() {
    let test = "a_new_log_file_is_0640_in_the_services_group_and_it_can_read_it";
    if !is_root() || !have("useradd") {
        return skip(test, "needs root and useradd");
    }
    let acct = Account::new("own");
    let (gid, other) = (id_of("group", &acct.groups[0]), id_of("group", &acct.groups[1]));
    let t = Tmp::new("out2_owner");
    let logs = t.file("logs");
    fs::create_dir(&logs).unwrap();
    let (mine, theirs) = (logs.join("mine.log"), logs.join("theirs.log"));
    // It reads back what it wrote: its own user, through the group.
    let body = |log: &Path| {
        format!("echo hello; sleep 0.3; head -n 1 {}; while :; do sleep 0.1; echo tick; done\n", log.display())
    };
    t.write("mine", &format!("{}user={}\nlog={}\n", script(&t, "m.sh", &body(&mine)), acct.user, mine.display()));
    let cfg = script(&t, "t.sh", &body(&theirs));
    t.write("theirs", &format!("{cfg}user={}\ngroup={}\nlog={}\n", acct.user, acct.groups[1], theirs.display()));
    let g = Going::start(&t);
    g.expect_started("mine", 1);
    g.expect_started("theirs", 1);
    for (log, group) in [(&mine, gid), (&theirs, other)] {
        assert!(wait_file(log, T, |b| b.starts_with(b"hello\nhello\ntick\n")), "{}: {:?}", log.display(), read(log));
        let m = fs::metadata(log).unwrap();
        assert_eq!((m.permissions().mode() & 0o7777, m.uid(), m.gid()), (0o640, 0, group), "{}", log.display());
        // Removed behind going's back (logrotate without `create`): the
        // new file has the service's group again.
        fs::remove_file(log).unwrap();
        assert!(wait_file(log, T, |b| b.starts_with(b"tick\n")), "{} not made again", log.display());
        let m = fs::metadata(log).unwrap();
        assert_eq!((m.permissions().mode() & 0o7777, m.uid(), m.gid()), (0o640, 0, group), "{} again", log.display());
    }
    assert!(!read(&mine).contains("denied") && !read(&theirs).contains("denied"));
}

#[test]
fn a_symbolic_link_as_log_file_fails_the_service_until_sighup() {
    let t = Tmp::new("out2_symlink");
    let logs = t.file("logs");
    fs::create_dir(&logs).unwrap();
    let target = t.file("elsewhere");
    let link = logs.join("l.log");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    t.write("l", &format!("cmd=/bin/sh -c 'echo written; exec sleep 1000'\nlog={}\n", link.display()));
    t.write("ok", &sleeper(1000));
    let g = Going::start(&t);
    let why = format!("log file {} is a symbolic link", link.display());
    g.expect_log(&format!("going: l: not started: {why}"));
    g.expect_started("ok", 1);
    wait_socket(&t);
    assert_eq!(expect_state(&t, "l", "failed").get("error"), format!("l: {why}"));
    assert!(!target.exists(), "going wrote through the link");
    // Fixed, it waits for a reload (going does not watch log directories).
    fs::remove_file(&link).unwrap();
    thread::sleep(Duration::from_millis(1200));
    assert_eq!(g.starts("l"), 0);
    g.reload();
    g.expect_started("l", 1);
    assert!(wait_file(&link, T, |b| b == b"written\n"), "{:?}", read(&link));
    assert!(!fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert!(!target.exists());
    assert_eq!(g.count_log(&why), 1, "log:\n{}", g.log());
}

#[test]
fn a_log_directory_others_may_write_fails_the_service_until_its_file_changes() {
    let t = Tmp::new("out2_unsafe_dir");
    let (open, group) = (t.file("open"), t.file("group"));
    for (d, mode) in [(&open, 0o777), (&group, 0o775)] {
        fs::create_dir(d).unwrap();
        fs::set_permissions(d, fs::Permissions::from_mode(mode)).unwrap();
    }
    let cfg = |d: &Path, extra: &str| {
        format!("cmd=/bin/sh -c 'echo written; exec sleep 1000'\nlog={}/x.log\n{extra}", d.display())
    };
    t.write("o", &cfg(&open, ""));
    t.write("g", &cfg(&group, ""));
    let g = Going::start(&t);
    wait_socket(&t);
    for (name, d) in [("o", &open), ("g", &group)] {
        let why = format!("log directory {} may be written by others than root and going's user", d.display());
        g.expect_log(&format!("going: {name}: not started: {why}"));
        assert_eq!(expect_state(&t, name, "failed").get("error"), format!("{name}: {why}"));
        assert!(!d.join("x.log").exists());
    }
    // Made safe: a change of the service's file tries it again.
    fs::set_permissions(&open, fs::Permissions::from_mode(0o755)).unwrap();
    t.write("o", &cfg(&open, "env=CHANGED=1\n"));
    g.expect_started("o", 1);
    assert!(wait_file(&open.join("x.log"), T, |b| b == b"written\n"));
    // And on SIGHUP, for the other.
    fs::set_permissions(&group, fs::Permissions::from_mode(0o755)).unwrap();
    g.reload();
    g.expect_started("g", 1);
    assert!(wait_file(&group.join("x.log"), T, |b| b == b"written\n"));
}
