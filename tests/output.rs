//! SPEC §7 with issue 6: service output captured into `log=FILE` with
//! rotation, its faults (missing file, full disk), a flooding service, and
//! the Procfile mode (`going -f`) with `name | ` prefixes.

mod common;
mod extra;
use common::*;
use extra::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A shell script in the temp dir (outside the config dir), run by a
/// service as `cmd=/bin/sh SCRIPT`: no quoting through the cmd parser.
fn script(t: &Tmp, name: &str, body: &str) -> String {
    let p = t.file(name);
    fs::write(&p, body).unwrap();
    format!("cmd=/bin/sh {}\n", p.display())
}

fn with_suffix(p: &Path, n: u32) -> PathBuf {
    PathBuf::from(format!("{}.{n}", p.display()))
}

/// Numbers of the `line N ...` lines of a text, in order.
fn numbers(text: &str) -> Vec<u32> {
    text.lines().map(|l| l.split(' ').nth(1).and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{l:?}"))).collect()
}

/// A script printing `line N` for N in FROM..TO, padded, then sleeping.
fn lines_script(from: u32, to: u32) -> String {
    format!(
        "i={from}\nwhile [ $i -lt {to} ]; do echo \"line $i ................................\"; i=$((i+1)); done\n\
         exec sleep 1000\n"
    )
}

#[test]
fn stdout_and_stderr_both_go_into_the_file() {
    let t = Tmp::new("out_both");
    let log = t.file("a.log");
    let body = "echo to-stdout; echo to-stderr >&2; exec sleep 1000\n";
    t.write("a", &format!("{}log={}\n", script(&t, "a.sh", body), log.display()));
    let g = Going::start(&t);
    g.expect_started("a", 1);
    let both = |b: &[u8]| {
        let s = String::from_utf8_lossy(b);
        s.lines().any(|l| l == "to-stdout") && s.lines().any(|l| l == "to-stderr")
    };
    assert!(wait_file(&log, T, both), "log file: {:?}", read(&log));
    assert_eq!(fs::metadata(&log).unwrap().permissions().mode() & 0o777, 0o640);
    assert!(!g.log().contains("to-std"), "output leaked into going's own log:\n{}", g.log());
}

#[test]
fn output_written_just_before_a_crash_is_kept() {
    let t = Tmp::new("out_crash");
    let log = t.file("c.log");
    t.write("c", &format!("cmd=/bin/sh -c 'echo last-words; exit 1'\nlog={}\n", log.display()));
    let g = Going::start(&t);
    // The respawned instance writes into the same pipe.
    g.expect_started("c", 2);
    let twice = |b: &[u8]| String::from_utf8_lossy(b).matches("last-words\n").count() >= 2;
    assert!(wait_file(&log, T, twice), "log file: {:?}; going log:\n{}", read(&log), g.log());
}

#[test]
fn rotation_keeps_log_keep_files_each_ending_a_line() {
    let t = Tmp::new("out_rotate");
    let log = t.file("r.log");
    let cfg = script(&t, "r.sh", &lines_script(10_000, 12_000));
    t.write("r", &format!("{cfg}log={}\nlog_size=4k\nlog_keep=2\n", log.display()));
    let g = Going::start(&t);
    g.expect_started("r", 1);
    let all = || [with_suffix(&log, 2), with_suffix(&log, 1), log.clone()].iter().map(|p| read(p)).collect::<String>();
    assert!(wait_until(T, || all().contains("line 11999 ")), "the last line never arrived");
    assert!(!with_suffix(&log, 3).exists(), "{}.3 exists with log_keep=2", log.display());
    let mut texts = Vec::new();
    for p in [with_suffix(&log, 2), with_suffix(&log, 1), log.clone()] {
        let text = read(&p);
        let size = text.len();
        assert!(size <= 4096 + 4096, "{} has {size} bytes", p.display());
        if p != log {
            assert!(size >= 4096 - 200, "{} has only {size} bytes", p.display());
        }
        assert!(text.is_empty() || text.ends_with('\n'), "{} does not end a line", p.display());
        texts.push(text);
    }
    // Nothing lost or repeated across the kept files.
    let ns = numbers(&texts.concat());
    assert_eq!(ns.last(), Some(&11_999));
    assert!(ns.windows(2).all(|w| w[1] == w[0] + 1), "not consecutive: {ns:?}");
}

#[test]
fn log_keep_0_truncates() {
    let t = Tmp::new("out_keep0");
    let log = t.file("k.log");
    let cfg = script(&t, "k.sh", &lines_script(10_000, 10_300));
    t.write("k", &format!("{cfg}log={}\nlog_size=4k\nlog_keep=0\n", log.display()));
    let g = Going::start(&t);
    g.expect_started("k", 1);
    // 300 lines of 48 bytes: about 14 KB through a 4 KiB file.
    assert!(wait_file(&log, T, |b| String::from_utf8_lossy(b).contains("line 10299 ")), "{:?}", read(&log));
    let text = read(&log);
    assert!(text.len() <= 4096 + 4096, "{} bytes", text.len());
    assert!(!text.contains("line 10000 "), "never truncated: {} bytes", text.len());
    assert!(!with_suffix(&log, 1).exists(), "a rotated file with log_keep=0");
    let ns = numbers(&text);
    assert!(ns.windows(2).all(|w| w[1] == w[0] + 1), "not consecutive: {ns:?}");
}

#[test]
fn a_long_line_is_cut_into_lines_of_4096_bytes_not_dropped() {
    // SPEC §12: cut at 4096 bytes, newline not counted; what is left of
    // it (no newline yet) is written as it is.
    let t = Tmp::new("out_long");
    let one = t.file("one.log");
    let many = t.file("many.log");
    let x = |n: usize| format!("cmd=/bin/sh -c 'head -c {n} /dev/zero | tr \"\\\\0\" x; exec sleep 1000'\n");
    t.write("one", &format!("{}log={}\n", x(10_240), one.display()));
    t.write("many", &format!("{}log={}\nlog_size=4k\nlog_keep=9\n", x(20_480), many.display()));
    let g = Going::start(&t);
    g.expect_started("one", 1);
    g.expect_started("many", 1);
    let want = format!("{0}\n{0}\n{1}", "x".repeat(4096), "x".repeat(2048));
    assert!(wait_file(&one, T, |b| b.len() >= want.len()), "{} bytes", read(&one).len());
    assert!(read(&one) == want, "not cut at 4096: {:?}", read(&one).lines().map(str::len).collect::<Vec<_>>());
    // Five lines of 4096 in a file of 4 KiB: one file each, never one
    // line over two files.
    let files = || (0..10).map(|n| if n == 0 { many.clone() } else { with_suffix(&many, n) });
    let xs = || files().map(|p| read(&p).bytes().filter(|&b| b == b'x').count()).sum::<usize>();
    assert!(wait_until(T, || xs() >= 20_480), "{} of 20480 bytes arrived", xs());
    assert_eq!(xs(), 20_480);
    let kept: Vec<String> = files().filter(|p| p.exists()).map(|p| read(&p)).collect();
    assert_eq!(kept.len(), 5);
    for text in &kept {
        assert!(text.trim_end_matches('\n') == "x".repeat(4096), "{:?}", text.len());
    }
}

#[test]
fn a_removed_or_renamed_log_file_is_recreated_at_the_next_output() {
    let t = Tmp::new("out_reopen");
    let log = t.file("tick.log");
    let cfg = script(&t, "tick.sh", "while :; do echo tick; sleep 0.05; done\n");
    t.write("tick", &format!("{cfg}log={}\n", log.display()));
    let g = Going::start(&t);
    g.expect_started("tick", 1);
    assert!(wait_file(&log, T, |b| b.starts_with(b"tick\n")));
    fs::remove_file(&log).unwrap();
    assert!(wait_file(&log, T, |b| b.starts_with(b"tick\n")), "not recreated after removal");
    // As logrotate does: renamed away; the old file stops growing.
    let old = t.file("tick.log.old");
    fs::rename(&log, &old).unwrap();
    assert!(wait_file(&log, T, |b| b.starts_with(b"tick\n")), "not recreated after a rename");
    let frozen = read(&old).len();
    assert!(wait_file(&log, T, |b| b.len() >= 5 * 5), "the new file does not grow");
    assert_eq!(read(&old).len(), frozen, "going still writes into the renamed file");
    assert!(!g.log().contains("cannot"), "a fault was reported:\n{}", g.log());
}

#[test]
fn a_removed_log_directory_is_reported_once_and_recovers() {
    let t = Tmp::new("out_dir_gone");
    let dir = t.file("logs");
    fs::create_dir(&dir).unwrap();
    let log = dir.join("tick.log");
    let cfg = script(&t, "tick.sh", "while :; do echo tick; sleep 0.02; done\n");
    t.write("tick", &format!("{cfg}log={}\n", log.display()));
    let g = Going::start(&t);
    let pid = g.expect_started("tick", 1);
    assert!(wait_file(&log, T, |b| b.starts_with(b"tick\n")));
    fs::remove_dir_all(&dir).unwrap();
    let fault = format!(
        "going: tick: cannot open {}: No such file or directory; dropping its output until it works",
        log.display()
    );
    g.expect_log(&fault);
    // Give the service time to print more lines while the fault lasts.
    thread::sleep(Duration::from_millis(500));
    assert_eq!(g.count_log(&fault), 1, "logged more than once:\n{}", g.log());
    fs::create_dir(&dir).unwrap();
    let again = format!("going: tick: writing {} again; ", log.display());
    g.expect_log(&again);
    let log_text = g.log();
    let line = log_text.lines().find(|l| l.starts_with(&again)).unwrap();
    let n: u64 = line[again.len()..].strip_suffix(" bytes were dropped").and_then(|n| n.parse().ok()).expect(line);
    assert!(n >= 5 * 5 && n.is_multiple_of(5), "{n} bytes dropped: not whole \"tick\\n\" lines");
    assert!(alive(pid) && g.starts("tick") == 1, "the service was disturbed");
    assert!(wait_file(&log, T, |b| b.starts_with(b"tick\n")));
}

#[test]
fn a_missing_log_directory_is_a_config_error() {
    let t = Tmp::new("out_nodir");
    t.write("m", "cmd=/bin/sleep 1000\nlog=/nonexistent-going-logs/m.log\n");
    t.write("ok", &sleeper(1000));
    let g = Going::start(&t);
    let want = format!("{}/m:2: log directory /nonexistent-going-logs does not exist", t.conf_str());
    g.expect_log(&format!("going: {want}"));
    g.expect_started("ok", 1);
    wait_socket(&t);
    assert_eq!(expect_state(&t, "m", "failed").get("error"), want);
    assert_eq!(g.starts("m"), 0);
    let (code, out) = t.check();
    assert_eq!(code, 78);
    assert!(out.contains(&want), "{out}");
}

/// A small tmpfs, unmounted on drop.
struct SmallFs {
    dir: PathBuf,
}

/// A 64 KiB tmpfs that only root may write.
const SMALL: &str = "size=64k,mode=0755";

impl SmallFs {
    /// A tmpfs mounted with `options` at `dir` for `test`, or `None`
    /// once the test is said to be skipped (not root, no mount).
    fn mount(test: &str, dir: PathBuf, options: &str) -> Option<SmallFs> {
        if !is_root() {
            skip(test, "not root: cannot mount a small tmpfs");
            return None;
        }
        fs::create_dir_all(&dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(&dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            skip(test, "mount -t tmpfs failed");
        }
        ok.then_some(SmallFs { dir })
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

#[test]
fn a_full_disk_is_reported_once_and_writing_resumes() {
    let t = Tmp::new("out_enospc");
    let Some(small) = SmallFs::mount("a_full_disk_is_reported_once_and_writing_resumes", t.file("logs"), SMALL) else {
        return;
    };
    let log = small.dir.join("flood.log");
    let (flooded, go_on) = (t.file("flooded"), t.file("go-on"));
    // 200 000 bytes into a 64 KiB file system, then one more line on demand.
    let body = format!(
        "yes 'flood flood flood flood flood flood flood flood flood' | head -c 200000\n\
         touch {}\n\
         {}\n\
         echo after-the-flood\n\
         exec sleep 1000\n",
        flooded.display(),
        sh_until(&go_on)
    );
    t.write("flood", &format!("{}log={}\n", script(&t, "flood.sh", &body), log.display()));
    t.write("k", &sleeper(1000));
    let g = Going::start(&t);
    let flood = g.expect_started("flood", 1);
    let k = g.expect_started("k", 1);
    let fault = format!(
        "going: flood: cannot write {}: No space left on device; dropping its output until it works",
        log.display()
    );
    g.expect_log(&fault);
    assert!(wait_until(T, || flooded.exists()), "the flood never ended");
    // Going keeps working: status answers, another service is respawned.
    wait_socket(&t);
    assert_eq!(expect_state(&t, "flood", "up").num("pid"), u64::from(flood));
    signal(k, "KILL");
    let k2 = g.expect_started("k", 2);
    assert!(alive(k2));
    assert_eq!(g.count_log(&fault), 1, "reported more than once:\n{}", g.log());
    // Free the space; the next line is written and the loss reported.
    let written = fs::metadata(&log).unwrap().len();
    assert!(written > 0 && written < 200_000);
    fs::OpenOptions::new().write(true).open(&log).unwrap().set_len(0).unwrap();
    fs::write(&go_on, "").unwrap();
    let again = format!("going: flood: writing {} again; {} bytes were dropped", log.display(), 200_000 - written);
    g.expect_log(&again);
    assert!(wait_file(&log, T, |b| b == b"after-the-flood\n"), "{:?}", read(&log));
    assert_eq!(g.count_log(&fault), 1);
    assert!(alive(flood) && g.starts("flood") == 1);
}

#[test]
fn a_line_a_full_disk_cut_is_never_continued_by_what_comes_after() {
    let t = Tmp::new("out_enospc_cut");
    let Some(small) =
        SmallFs::mount("a_line_a_full_disk_cut_is_never_continued_by_what_comes_after", t.file("logs"), SMALL)
    else {
        return;
    };
    // 8 KiB kept aside; lines of 100 bytes fill the rest, the last one
    // cut where the disk is full.
    let filler = small.dir.join("filler");
    fs::write(&filler, vec![b'f'; 8192]).unwrap();
    let log = small.dir.join("cut.log");
    let (flooded, go_on) = (t.file("flooded"), t.file("go-on"));
    let body = format!(
        "yes {} | head -c 80000\ntouch {}\n{}\necho after-the-flood\nexec sleep 1000\n",
        "x".repeat(99),
        flooded.display(),
        sh_until(&go_on)
    );
    t.write("cut", &format!("{}log={}\n", script(&t, "cut.sh", &body), log.display()));
    let g = Going::start(&t);
    g.expect_started("cut", 1);
    g.expect_log("No space left on device; dropping its output until it works");
    assert!(wait_until(T, || flooded.exists()), "the flood never ended");
    let before = fs::metadata(&log).unwrap().len();
    assert!(before % 100 != 0, "the disk filled at a line's end ({before} bytes): nothing to test");
    fs::remove_file(&filler).unwrap();
    fs::write(&go_on, "").unwrap();
    g.expect_log("again;");
    assert!(wait_file(&log, T, |b| b.ends_with(b"after-the-flood\n")), "{} bytes", read(&log).len());
    let text = read(&log);
    let lines: Vec<&str> = text.lines().collect();
    let (last, rest) = lines.split_last().unwrap();
    assert_eq!(*last, "after-the-flood", "glued to the cut line: {:?}", &last[last.len().saturating_sub(40)..]);
    assert!(rest.iter().all(|l| !l.is_empty() && l.bytes().all(|b| b == b'x')), "a line is not the service's");
}

#[test]
fn a_flooding_service_does_not_delay_another_ones_respawn() {
    // The bound we state: with a service writing as fast as it can (yes),
    // another service killed after a good run is respawned within 1 s.
    // Going reads at most 64 KiB per service per wake-up, so its other
    // events are served between two reads.
    let t = Tmp::new("out_flood");
    let log = t.file("yes.log");
    t.write("yes", &format!("cmd=/usr/bin/yes going-flood\nlog={}\nlog_size=1M\nlog_keep=1\n", log.display()));
    t.write("k", &sleeper(1000));
    let g = Going::start(&t);
    let yes = g.expect_started("yes", 1);
    let k = g.expect_started("k", 1);
    // Past the 5 s after which a killed service is respawned at once.
    thread::sleep(Duration::from_millis(5500));
    assert!(with_suffix(&log, 1).exists(), "yes did not flood: no rotation in 5 s");
    // Under an emulator every system call of going's is translated, and
    // it shares two cores with the flood: the bound there is 3 s.
    let bound = Duration::from_secs(if emulator().is_some() { 3 } else { 1 });
    signal(k, "KILL");
    let killed = Instant::now();
    let respawned = wait_until(bound, || g.starts("k") >= 2);
    let took = killed.elapsed();
    assert!(respawned && took < bound, "respawn took {took:?}; log:\n{}", g.log());
    assert!(alive(yes), "yes stopped");
    // Rotation keeps the flood within log_size (the file may be between
    // its rename and its reopening: then it is missing).
    let size = fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    assert!(size <= 1024 * 1024 + 4096, "{size} bytes");
}

/// `going -f PROCFILE` in the temp dir, stdout and stderr to files.
struct Foreman {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl Foreman {
    fn start(t: &Tmp, procfile: &str) -> Foreman {
        let p = t.file("Procfile");
        fs::write(&p, procfile).unwrap();
        let (out, err) = (t.file("stdout"), t.file("stderr"));
        let child = going_command()
            .arg("-f")
            .arg(&p)
            .current_dir(&t.path)
            .env("GOING_TEST_VAR", "from-going")
            .env_remove("NO_COLOR")
            .stdin(Stdio::null())
            .stdout(fs::File::create(&out).unwrap())
            .stderr(fs::File::create(&err).unwrap())
            .spawn()
            .unwrap();
        Foreman { child, out, err }
    }

    fn pid_of(&self, name: &str) -> u32 {
        let prefix = format!("going: {name}: started, pid ");
        let mut pid = None;
        let found = wait_until(T, || {
            pid = read(&self.err).lines().find_map(|l| l.strip_prefix(&prefix)?.parse().ok());
            pid.is_some()
        });
        assert!(found, "{name} never started; stderr:\n{}", read(&self.err));
        pid.unwrap()
    }
}

impl Drop for Foreman {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn a_procfile_runs_its_processes_with_prefixed_output() {
    let t = Tmp::new("out_procfile");
    let f = Foreman::start(
        &t,
        "# processes\n\
         web: echo \"web says $GOING_TEST_VAR in $(pwd)\"; exec sleep 1000\n\
         \n\
         worker: echo to-stderr >&2; echo to-stdout; exec sleep 1000\n",
    );
    let web = f.pid_of("web");
    let worker = f.pid_of("worker");
    let want = [
        format!("web | web says from-going in {}", t.path.display()),
        "worker | to-stderr".into(),
        "worker | to-stdout".into(),
    ];
    let all_there = |b: &[u8]| {
        let s = String::from_utf8_lossy(b);
        want.iter().all(|w| s.lines().any(|l| l == w))
    };
    assert!(wait_file(&f.out, T, all_there), "stdout:\n{}\nstderr:\n{}", read(&f.out), read(&f.err));
    assert!(!read(&f.out).contains('\x1b'), "colour without a tty");
    assert!(alive(web) && alive(worker));
    // Ctrl-C: everything stops and going exits 0.
    let mut f = f;
    signal(f.child.id(), "INT");
    let status = exit_within(&mut f.child, T);
    assert_eq!(status.and_then(|s| s.code()), Some(0), "stderr:\n{}", read(&f.err));
    assert!(wait_dead(web) && wait_dead(worker), "processes outlived going");
    assert!(read(&f.err).contains("going: SIGINT received, stopping all services"), "{}", read(&f.err));
}

#[test]
fn a_bad_procfile_exits_78_naming_the_line() {
    let t = Tmp::new("out_bad_procfile");
    let p = t.file("Procfile");
    let ps = p.display().to_string();
    let cases = [
        ("web sleep 1000\n", format!("{ps}:1: expected NAME: COMMAND")),
        ("# nothing\n\n", format!("{ps}:0: no processes")),
        ("a: sleep 1000\na: sleep 1001\n", format!("{ps}:2: repeated name")),
        ("a: sleep 1000\n\nb:   \n", format!("{ps}:3: empty command")),
        ("a: sleep 1000\nno/slash: sleep 1\n", format!("{ps}:2: a name is 1 to 64 of A-Z a-z 0-9 _ -")),
    ];
    for (text, want) in cases {
        fs::write(&p, text).unwrap();
        let out = going(&["-f", &ps]);
        assert_eq!(out.code, 78, "{text:?}: {out:?}");
        assert!(out.stderr.lines().any(|l| l == format!("going: {want}")), "{text:?}: {out:?}");
        assert!(!out.stderr.contains("started"), "{text:?}: something ran: {out:?}");
    }
}

#[test]
fn the_first_line_after_a_removal_or_rename_is_written_at_the_path() {
    let t = Tmp::new("out_follow_first");
    let (log, trunc) = (t.file("one.log"), t.file("zero.log"));
    let go1 = t.file("go1");
    let two = |a: &str, b: &str| format!("cmd=/bin/sh -c 'echo {a}; {}; echo {b}; exec sleep 1000'\n", sh_until(&go1));
    t.write("one", &format!("{}log={}\n", two("one", "two"), log.display()));
    // log_keep=0 empties the file when a line would take it past its
    // size: never the file another program renamed away.
    t.write("zero", &format!("{}log={}\nlog_size=8\nlog_keep=0\n", two("aaaa", "bbbb"), trunc.display()));
    let g = Going::start(&t);
    assert!(wait_file(&log, T, |b| b == b"one\n"), "{:?}", read(&log));
    assert!(wait_file(&trunc, T, |b| b == b"aaaa\n"), "{:?}", read(&trunc));
    fs::remove_file(&log).unwrap();
    let archived = t.file("zero.log.archived");
    fs::rename(&trunc, &archived).unwrap();
    fs::write(&go1, "").unwrap();
    assert!(wait_file(&log, T, |b| b == b"two\n"), "the line after the removal: {:?}\n{}", read(&log), g.log());
    assert!(wait_file(&trunc, T, |b| b == b"bbbb\n"), "after the rename: {:?}\n{}", read(&trunc), g.log());
    assert_eq!(read(&archived), "aaaa\n", "the renamed file was emptied or written\n{}", g.log());
}

#[test]
fn a_full_disk_at_the_start_drops_output_and_never_fails_the_service() {
    let t = Tmp::new("out_full_start");
    let test = "a_full_disk_at_the_start_drops_output_and_never_fails_the_service";
    let Some(fs_) = SmallFs::mount(test, t.file("small"), "size=64k,nr_inodes=2,mode=0755") else { return };
    let small = fs_.dir.clone();
    // Its one free inode taken: no file can be made in it.
    let filler = small.join("filler");
    fs::write(&filler, "").unwrap();
    let log = small.join("svc.log");
    let go = t.file("go");
    t.write(
        "svc",
        &format!("cmd=/bin/sh -c 'echo lost; {}; echo kept; exec sleep 1000'\nlog={}\n", sh_until(&go), log.display()),
    );
    let g = Going::start(&t);
    g.expect_started("svc", 1);
    expect_state(&t, "svc", "up");
    assert!(!log.exists());
    fs::remove_file(&filler).unwrap();
    fs::write(&go, "").unwrap();
    assert!(wait_file(&log, T, |b| b == b"kept\n"), "{:?}\n{}", read(&log), g.log());
    g.expect_log("bytes were dropped");
}
