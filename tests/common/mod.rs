//! The black-box harness: a temp dir per test, one `going` per test, and
//! readers for what the kernel shows in `/proc`.
//!
//! Every wait polls with a deadline; nothing here sleeps and then asserts.
//! The harness only ever waits on the `Child` it spawned (never
//! `waitpid(-1)`), so tests running in parallel threads cannot steal one
//! another's exit statuses.
//!
//! The `going` under test is cargo's build, or `GOING_BIN` when that is
//! set; with `GOING_EMULATOR` (e.g. `qemu-aarch64-static`) it runs under
//! that emulator, so the suite can test another architecture's binary.
//! The tests and the services stay host programs: only going is
//! emulated. Start going only through `going_command` or `going_argv`.

#![allow(dead_code)] // each test file uses a different part of the harness

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How long "eventually" may take on a loaded two-core machine.
pub const T: Duration = Duration::from_secs(5);

/// The environment every service gets when its file sets no `env=`.
pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The binary under test: `GOING_BIN`, or the one cargo built.
pub fn bin() -> &'static str {
    static BIN: OnceLock<String> = OnceLock::new();
    BIN.get_or_init(|| match std::env::var("GOING_BIN") {
        Ok(b) if !b.is_empty() => b,
        _ => env!("CARGO_BIN_EXE_going").to_string(),
    })
}

/// `GOING_EMULATOR`: the program going runs under, when it is set.
pub fn emulator() -> Option<&'static str> {
    static EMU: OnceLock<Option<String>> = OnceLock::new();
    EMU.get_or_init(|| std::env::var("GOING_EMULATOR").ok().filter(|e| !e.is_empty())).as_deref()
}

/// The words that start going: `[BIN]`, or `[EMULATOR, BIN]`.
pub fn going_argv() -> Vec<&'static str> {
    emulator().into_iter().chain([bin()]).collect()
}

/// going supervising `t` under `strace` (its options `args`, its report
/// in `trace`), going's stdout and stderr in `t`'s `going.log`; going is
/// the strace's first child.
pub fn going_under_strace(t: &Tmp, args: &[&str], trace: &std::path::Path) -> Child {
    let log = fs::File::create(t.file("going.log")).unwrap();
    Command::new("strace")
        .args(args)
        .arg("-o")
        .arg(trace)
        .args(going_argv())
        .arg("-d")
        .arg(t.conf())
        .arg("-s")
        .arg(t.sock())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// A `Command` that runs going; add its arguments.
pub fn going_command() -> Command {
    let argv = going_argv();
    let mut cmd = Command::new(argv[0]);
    cmd.args(&argv[1..]);
    cmd
}

/// Whether a process's argv is going's, emulated or not.
pub fn is_going_argv(argv: &[String]) -> bool {
    let words = going_argv();
    argv.len() >= words.len() && argv.iter().zip(&words).all(|(a, w)| a == w)
}

/// True, after saying why, when going runs under an emulator and `test`
/// cannot be right there: it reads what the kernel shows of going itself
/// (its memory, system calls), which is the emulator's, or stages a fault
/// the emulator cannot live with. The aarch64 boot test in qemu-system
/// runs the real binary and covers it.
pub fn emulated(test: &str, why: &str) -> bool {
    let Some(emu) = emulator() else { return false };
    eprintln!("SKIPPED {test} under {emu}: {why}; the VM boot test covers it");
    true
}

/// True, after saying so, when going runs under an emulator that does not
/// pass `what` on to the kernel: the part of `test` that checks it is
/// left out there (the VM boot test runs the real binary).
pub fn emulator_lacks(test: &str, what: &str) -> bool {
    let Some(emu) = emulator() else { return false };
    eprintln!("SKIPPED PART of {test}: {emu} does not pass {what} on to the kernel; the VM boot test covers it");
    true
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A directory of its own for one test, removed on drop (kept, with its
/// path printed, when the test fails, so the log can be read).
pub struct Tmp {
    pub path: PathBuf,
}

impl Tmp {
    pub fn new(test: &str) -> Tmp {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("going-test-{}-{}-{}", std::process::id(), n, test);
        let path = std::env::temp_dir().join(name);
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(path.join("going.d")).unwrap();
        Tmp { path }
    }

    /// The config directory passed to `going -d`.
    pub fn conf(&self) -> PathBuf {
        self.path.join("going.d")
    }

    /// The config directory as text, as going prints it in `DIR/NAME:LINE`.
    pub fn conf_str(&self) -> String {
        self.conf().to_str().unwrap().to_string()
    }

    pub fn sock(&self) -> PathBuf {
        self.path.join("sock")
    }

    /// A path inside the temp dir (outside the config directory).
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes a service file atomically: a dot-prefixed temp file (which
    /// going ignores) renamed over the target.
    pub fn write(&self, name: &str, content: &str) {
        self.write_bytes(name, content.as_bytes());
    }

    pub fn write_bytes(&self, name: &str, content: &[u8]) {
        let tmp = self.conf().join(format!(".{name}.tmp-write"));
        let mut f = fs::File::create(&tmp).unwrap();
        f.write_all(content).unwrap();
        f.sync_all().unwrap();
        drop(f);
        fs::rename(&tmp, self.conf().join(name)).unwrap();
    }

    pub fn remove(&self, name: &str) {
        fs::remove_file(self.conf().join(name)).unwrap();
    }

    /// `going check -d DIR`: exit code and stdout+stderr together. Panics
    /// if check has not finished within `T` (it must never block).
    pub fn check(&self) -> (i32, String) {
        let out_path = self.path.join("check.out");
        let out = fs::File::create(&out_path).unwrap();
        let mut child = going_command()
            .arg("check")
            .arg("-d")
            .arg(self.conf())
            .env_clear()
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let status = exit_within(&mut child, T);
        if status.is_none() {
            kill_child(&mut child);
            panic!("going check did not finish within {T:?}");
        }
        let text = String::from_utf8_lossy(&fs::read(&out_path).unwrap()).into_owned();
        (status.unwrap().code().unwrap_or(-1), text)
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        remove_cgroups(&self.sock());
        if thread::panicking() {
            eprintln!("test failed; its files are kept in {}", self.path.display());
        } else {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// A running supervisor, stopped on drop: SIGTERM, up to 5 s, then SIGKILL.
pub struct Going {
    pub child: Child,
    pub conf: PathBuf,
    pub log_path: PathBuf,
    /// Kept open and never read, for `start_stderr_pipe`.
    pub stderr_pipe: Option<ChildStderr>,
    exited: Option<ExitStatus>,
}

impl Going {
    /// `going -d DIR/going.d -s DIR/sock`, stdout+stderr into DIR/going.log.
    pub fn start(t: &Tmp) -> Going {
        Going::start_via(t, "", &[])
    }

    /// Starts going through `sh -c 'PREFIX exec going …'`, so the shell can
    /// open an extra fd, ignore a signal or set a umask for going to
    /// inherit; `env` is added to going's own environment.
    pub fn start_via(t: &Tmp, prefix: &str, env: &[(&str, &str)]) -> Going {
        let log_path = t.path.join("going.log");
        let log = fs::File::create(&log_path).unwrap();
        let mut cmd = shell_command(t, prefix, env);
        cmd.stdout(log.try_clone().unwrap()).stderr(log);
        let child = cmd.spawn().unwrap();
        Going { child, conf: t.conf(), log_path, stderr_pipe: None, exited: None }
    }

    /// Going with its stderr a pipe that nobody reads (stdout to the log
    /// file, which then only ever holds service output).
    pub fn start_stderr_pipe(t: &Tmp) -> Going {
        let log_path = t.path.join("going.log");
        let log = fs::File::create(&log_path).unwrap();
        let mut cmd = shell_command(t, "", &[]);
        cmd.stdout(log).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let pipe = child.stderr.take();
        Going { child, conf: t.conf(), log_path, stderr_pipe: pipe, exited: None }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        String::from_utf8_lossy(&fs::read(&self.log_path).unwrap_or_default()).into_owned()
    }

    pub fn count_log(&self, s: &str) -> usize {
        self.log().matches(s).count()
    }

    /// Polls the log until it contains `s`.
    pub fn wait_log(&self, s: &str, timeout: Duration) -> bool {
        wait_until(timeout, || self.log().contains(s))
    }

    /// Polls the log until `s` occurs at least `n` times.
    pub fn wait_log_n(&self, s: &str, n: usize, timeout: Duration) -> bool {
        wait_until(timeout, || self.count_log(s) >= n)
    }

    /// Like `wait_log` with `T`, panicking with the whole log on timeout.
    pub fn expect_log(&self, s: &str) {
        if !self.wait_log(s, T) {
            panic!("log never showed {s:?}; log:\n{}", self.log());
        }
    }

    pub fn expect_log_n(&self, s: &str, n: usize) {
        if !self.wait_log_n(s, n, T) {
            panic!("log never showed {s:?} {n} times; log:\n{}", self.log());
        }
    }

    /// PID of the last "NAME: started, pid N" line.
    pub fn pid_of(&self, name: &str) -> Option<u32> {
        let prefix = format!("going: {name}: started, pid ");
        let log = self.log();
        log.lines().rev().find_map(|l| l.strip_prefix(&prefix)?.split_whitespace().next()?.parse().ok())
    }

    /// Waits for NAME to have been started (`n`-th time) and returns its pid.
    pub fn expect_started(&self, name: &str, n: usize) -> u32 {
        self.expect_log_n(&format!("going: {name}: started, pid "), n);
        self.pid_of(name).unwrap()
    }

    /// Waits for the exit line of NAME's process PID: a process that is
    /// dead may not have been reaped and logged yet.
    pub fn expect_exit(&self, name: &str, pid: u32) -> ExitLine {
        let mut found = None;
        wait_until(T, || {
            found = exit_of(&self.log(), name, pid);
            found.is_some()
        });
        found.unwrap_or_else(|| panic!("no exit line for {name} pid {pid}; log:\n{}", self.log()))
    }

    /// How often NAME has been started so far.
    pub fn starts(&self, name: &str) -> usize {
        self.count_log(&format!("going: {name}: started, pid "))
    }

    pub fn signal(&self, sig: &str) {
        signal(self.pid(), sig);
    }

    /// SIGHUP and wait until going has logged the `n`-th reload.
    pub fn reload(&self) {
        let n = self.count_log("going: reloading ");
        self.signal("HUP");
        self.expect_log_n("going: reloading ", n + 1);
    }

    /// Waits up to `timeout` for going to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if self.exited.is_some() {
            return self.exited;
        }
        self.exited = exit_within(&mut self.child, timeout);
        self.exited
    }

    /// Direct children of going, from /proc.
    pub fn children(&self) -> Vec<u32> {
        children(self.pid())
    }
}

impl Drop for Going {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("---- going log ({}) ----\n{}", self.log_path.display(), self.log());
        }
        if self.exited.is_none() && self.child.try_wait().ok().flatten().is_none() {
            signal(self.pid(), "TERM");
            if self.wait_exit(T).is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

/// `sh -c 'PREFIX exec "$0" -d "$1" -s "$2"' GOING CONF SOCK`: PREFIX may
/// use the three too (and exec going itself through other programs).
fn shell_command(t: &Tmp, prefix: &str, env: &[(&str, &str)]) -> Command {
    let script = format!("{prefix} exec \"$0\" -d \"$1\" -s \"$2\"");
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(script).arg(launcher(t)).arg(t.conf()).arg(t.sock());
    cmd.stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// The program that runs going from a shell: the binary itself, or under
/// an emulator a script in the test's directory that execs the emulator
/// on it, so that `exec "$0"` works through `setpriv`, `unshare` and the
/// like, and going keeps the pid the shell had.
fn launcher(t: &Tmp) -> PathBuf {
    let Some(emu) = emulator() else { return PathBuf::from(bin()) };
    let path = t.file("going-emulated");
    if !path.exists() {
        let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
        fs::write(&path, format!("#!/bin/sh\nexec {} {} \"$@\"\n", quote(emu), quote(bin()))).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

/// `child`'s exit status once it has exited, or `None` when it still
/// runs after `timeout`.
pub fn exit_within(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let mut status = None;
    wait_until(timeout, || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    status
}

/// Kills `child` and reaps it.
pub fn kill_child(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Polls `f` every 5 ms until it holds or `timeout` has passed.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Sends SIG (a name without "SIG", e.g. "TERM") with kill(1).
pub fn signal(pid: u32, sig: &str) {
    let st = Command::new("kill").args(["-s", sig, &pid.to_string()]).stderr(Stdio::null()).status().unwrap();
    assert!(st.success(), "kill -s {sig} {pid} failed");
}

/// `/proc/PID/stat` fields after the command name: state, ppid, pgrp, session.
pub struct Stat {
    pub state: char,
    pub ppid: u32,
    pub pgrp: u32,
    pub session: u32,
}

pub fn stat(pid: u32) -> Option<Stat> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    Some(Stat {
        state: f[0].chars().next()?,
        ppid: f[1].parse().ok()?,
        pgrp: f[2].parse().ok()?,
        session: f[3].parse().ok()?,
    })
}

/// True while the process exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    matches!(stat(pid), Some(s) if s.state != 'Z' && s.state != 'X')
}

/// Waits (up to `T`) for the process to be gone or a zombie.
pub fn wait_dead(pid: u32) -> bool {
    wait_until(T, || !alive(pid))
}

/// `/proc/PID/environ` as a list of NAME=VALUE strings.
pub fn environ(pid: u32) -> Vec<String> {
    nul_list(&format!("/proc/{pid}/environ"))
}

/// `/proc/PID/cmdline` as argv.
pub fn cmdline(pid: u32) -> Vec<String> {
    nul_list(&format!("/proc/{pid}/cmdline"))
}

fn nul_list(path: &str) -> Vec<String> {
    let b = fs::read(path).unwrap_or_default();
    b.split(|&c| c == 0).filter(|s| !s.is_empty()).map(|s| String::from_utf8_lossy(s).into_owned()).collect()
}

/// Open fds of PID with their targets, sorted by number.
pub fn fds(pid: u32) -> Vec<(u32, String)> {
    let mut v: Vec<(u32, String)> = fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|rd| {
            rd.filter_map(|e| {
                let e = e.ok()?;
                let n = e.file_name().to_str()?.parse().ok()?;
                let target = fs::read_link(e.path()).ok()?;
                Some((n, target.to_string_lossy().into_owned()))
            })
            .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

pub fn readlink(path: &str) -> String {
    fs::read_link(path).map(|p| p.to_string_lossy().into_owned()).unwrap_or_default()
}

/// The value of one `Key:` line of `/proc/PID/status`.
pub fn status_field(pid: u32, key: &str) -> String {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let prefix = format!("{key}:");
    s.lines().find_map(|l| l.strip_prefix(&prefix).map(|v| v.trim().to_string())).unwrap_or_default()
}

/// Direct children of PID (`/proc/PID/task/PID/children`).
pub fn children(pid: u32) -> Vec<u32> {
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Children of PID that are zombies.
pub fn zombies_of(pid: u32) -> Vec<u32> {
    children(pid).into_iter().filter(|&c| matches!(stat(c), Some(s) if s.state == 'Z')).collect()
}

/// Parses a duration as going prints it ("350ms", "45s", "12m5s", "3h4m",
/// "3d4h") into milliseconds.
pub fn parse_dur(s: &str) -> Option<u64> {
    if let Some(ms) = s.strip_suffix("ms") {
        return ms.parse().ok();
    }
    let mut total = 0u64;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            'd' => 86_400_000,
            'h' => 3_600_000,
            'm' => 60_000,
            's' => 1000,
            _ => return None,
        };
        total += num.parse::<u64>().ok()? * unit;
        num.clear();
    }
    if num.is_empty() && !s.is_empty() { Some(total) } else { None }
}

/// The last exit line of NAME: (pid, "exited with status N" or "killed by
/// SIGX", duration in ms, what follows the ';').
pub struct ExitLine {
    pub pid: u32,
    pub how: String,
    pub ms: u64,
    pub then: String,
}

pub fn last_exit(log: &str, name: &str) -> Option<ExitLine> {
    log.lines().rev().find_map(|l| parse_exit(l, name))
}

/// The exit line of NAME's process PID.
pub fn exit_of(log: &str, name: &str, pid: u32) -> Option<ExitLine> {
    log.lines().find_map(|l| parse_exit(l, name).filter(|e| e.pid == pid))
}

fn parse_exit(l: &str, name: &str) -> Option<ExitLine> {
    let rest = l.strip_prefix(&format!("going: {name}: pid "))?;
    let (pid, rest) = rest.split_once(' ')?;
    let (how, rest) = rest.split_once(" after ")?;
    if !(how.starts_with("exited with status ") || how.starts_with("killed by SIG")) {
        return None;
    }
    let (dur, then) = rest.split_once("; ")?;
    Some(ExitLine { pid: pid.parse().ok()?, how: how.to_string(), ms: parse_dur(dur)?, then: then.to_string() })
}

/// Times (since `since`) at which NAME's "started" lines were first seen,
/// polling the log every 5 ms until `n` starts were seen or `timeout`.
pub fn start_times(g: &Going, name: &str, n: usize, since: Instant, timeout: Duration) -> Vec<Duration> {
    let mut seen = Vec::new();
    let deadline = Instant::now() + timeout;
    while seen.len() < n && Instant::now() < deadline {
        let c = g.starts(name);
        while seen.len() < c {
            seen.push(since.elapsed());
        }
        thread::sleep(Duration::from_millis(5));
    }
    seen
}

/// A one-line service file running /bin/sleep.
pub fn sleeper(secs: u32) -> String {
    format!("cmd=/bin/sleep {secs}\n")
}

// ---- Added for the trust and model tests (issue 11) ----

impl Going {
    /// Like `start_via`, running the binary at `bin` (for instance a copy
    /// another user can reach, see `extra::reachable_binary`).
    pub fn start_bin(t: &Tmp, bin: &std::path::Path, prefix: &str, env: &[(&str, &str)]) -> Going {
        let log_path = t.path.join("going.log");
        let log = fs::File::create(&log_path).unwrap();
        let mut cmd = shell_command_bin(t, bin, prefix, env);
        cmd.stdout(log.try_clone().unwrap()).stderr(log);
        let child = cmd.spawn().unwrap();
        Going { child, conf: t.conf(), log_path, stderr_pipe: None, exited: None }
    }

    /// Like `start_via`, with `f` given the shell's command before it is
    /// spawned (a `pre_exec` whose effect going inherits, say).
    pub fn start_with(t: &Tmp, prefix: &str, f: impl FnOnce(&mut Command)) -> Going {
        let log_path = t.path.join("going.log");
        let log = fs::File::create(&log_path).unwrap();
        let mut cmd = shell_command(t, prefix, &[]);
        cmd.stdout(log.try_clone().unwrap()).stderr(log);
        f(&mut cmd);
        let child = cmd.spawn().unwrap();
        Going { child, conf: t.conf(), log_path, stderr_pipe: None, exited: None }
    }

    /// Going with its stdout on `out` (a pipe or a terminal the test
    /// holds; with `Stdio::piped()` the read end is in `child.stdout`),
    /// its stderr into DIR/going.log.
    pub fn start_stdout(t: &Tmp, out: Stdio) -> Going {
        let log_path = t.path.join("going.log");
        let log = fs::File::create(&log_path).unwrap();
        let mut cmd = shell_command(t, "", &[]);
        cmd.stdout(out).stderr(log);
        let child = cmd.spawn().unwrap();
        Going { child, conf: t.conf(), log_path, stderr_pipe: None, exited: None }
    }
}

fn shell_command_bin(t: &Tmp, bin: &std::path::Path, prefix: &str, env: &[(&str, &str)]) -> Command {
    // Under an emulator the copy runs through it, as `bin()` does.
    let emu = emulator().map(|e| format!("{e} ")).unwrap_or_default();
    let script = format!("{prefix} exec {emu}\"$0\" -d \"$1\" -s \"$2\"");
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(script).arg(bin).arg(t.conf()).arg(t.sock());
    cmd.stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// User plus system CPU time of PID so far, in clock ticks
/// (`/proc/PID/stat` fields 14 and 15).
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Clock ticks a second (`getconf CLK_TCK`).
pub fn clock_ticks() -> u64 {
    let out = Command::new("getconf").arg("CLK_TCK").output().ok();
    out.and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok()).unwrap_or(100)
}

/// The share of one CPU that PID used over `over` (1.0 is a whole CPU).
pub fn cpu_share(pid: u32, over: Duration) -> f64 {
    let (t0, c0) = (Instant::now(), cpu_ticks(pid).unwrap_or(0));
    thread::sleep(over); // a measurement interval, not a wait for an event
    let (t1, c1) = (Instant::now(), cpu_ticks(pid).unwrap_or(0));
    (c1.saturating_sub(c0)) as f64 / clock_ticks() as f64 / (t1 - t0).as_secs_f64()
}

/// Kills the processes it holds (SIGKILL) when dropped: for what a test
/// expects to die with going but may outlive it on a defective build.
#[derive(Default)]
pub struct KillOnDrop(pub Vec<u32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for &p in &self.0 {
            if alive(p) {
                let _ = Command::new("kill").args(["-s", "KILL", &p.to_string()]).stderr(Stdio::null()).status();
            }
        }
    }
}

/// Where cgroup2 is mounted, as going looks for it (SPEC §11).
pub fn cgroup2_mount() -> Option<&'static str> {
    let mounts = fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"].into_iter().find(|m| {
        mounts.lines().any(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            f.get(1) == Some(m) && f.get(2) == Some(&"cgroup2")
        })
    })
}

/// The cgroup of a process (the `0::` line of /proc/PID/cgroup).
pub fn cgroup_of(pid: u32) -> String {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    text.lines().find_map(|l| l.strip_prefix("0::")).unwrap_or("").to_string()
}

/// The subtree name going(8) documents for a socket path: `going@`, the
/// path without its leading `/`, `/` as `-`, and every other byte but
/// `A-Z a-z 0-9 . _ + @` as `%xx`.
pub fn cgroup_subtree(socket: &str) -> String {
    let mut s = String::from("going@");
    for b in socket.trim_start_matches('/').bytes() {
        match b {
            b'/' => s.push('-'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'+' | b'@' => s.push(b as char),
            _ => s.push_str(&format!("%{b:02x}")),
        }
    }
    s
}

/// The directory of the cgroup subtree of a going on `sock`.
pub fn cgroup_dir(sock: &std::path::Path) -> Option<String> {
    let base = cgroup_of(std::process::id());
    let subtree = cgroup_subtree(sock.to_str()?);
    Some(format!("{}{}/{subtree}", cgroup2_mount()?, base.trim_end_matches('/')))
}

/// Removes the cgroups a going on `sock` left (one killed with SIGKILL
/// leaves its subtree for its successor), and those its services made
/// below theirs, deepest first, killing what is still in them.
fn remove_cgroups(sock: &std::path::Path) {
    let Some(dir) = cgroup_dir(sock) else { return };
    remove_cgroup_tree(std::path::Path::new(&dir), 0);
}

fn remove_cgroup_tree(p: &std::path::Path, depth: usize) {
    if depth > 64 {
        return;
    }
    for e in fs::read_dir(p).into_iter().flatten().flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            remove_cgroup_tree(&e.path(), depth + 1);
        }
    }
    // A process that just died (a going killed with SIGKILL, its services
    // dying after it) may hold its cgroup busy a moment longer.
    wait_until(Duration::from_secs(5), || {
        fs::remove_dir(p).is_ok() || fs::metadata(p).is_err() || {
            // still busy: kill what is left
            let procs = fs::read_to_string(p.join("cgroup.procs")).unwrap_or_default();
            for pid in procs.lines().filter_map(|l| l.trim().parse::<u32>().ok()).filter(|&p| p > 1) {
                let _ = Command::new("kill").args(["-s", "KILL", &pid.to_string()]).stderr(Stdio::null()).status();
            }
            false
        }
    });
}

/// A `Going::start_via` prefix that runs going in a mount namespace of its
/// own whose /sys/fs/cgroup is an empty tmpfs: going without cgroups, as
/// on a system that has none (needs root).
pub const WITHOUT_CGROUPS: &str = "exec unshare -m /bin/sh -c 'mount -t tmpfs none /sys/fs/cgroup && exec \"$0\" \"$@\"' \
                                   \"$0\" -d \"$1\" -s \"$2\";";
