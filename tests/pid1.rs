//! going as process 1 of a container (SPEC §10), on the host:
//!
//! ```text
//! unshare --pid --fork --kill-child --mount-proc going -d DIR -s SOCK
//! ```
//!
//! A `critical=yes` service that ends for good ends the container with its
//! status (128+N for signal N), after going has stopped the others; SIGTERM
//! from outside stops everything and going exits 0. The booted machine's
//! side of §10 is in `tests/boot.rs`.
//!
//! Skipped, saying why, when not root or `unshare` is missing.

mod common;
mod extra;
use common::*;
use extra::*;
use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A generous bound for a container's whole life.
const LONG: Duration = Duration::from_secs(15);

/// unshare and the going it runs as process 1 of a new PID namespace.
/// Dropping it kills that going from outside (which ends every process of
/// the namespace) and waits for unshare.
struct Container {
    unshare: Child,
    log: PathBuf,
    exit: Option<ExitStatus>,
}

impl Container {
    fn start(t: &Tmp) -> Container {
        let log = t.file("going.log");
        let out = fs::File::create(&log).unwrap();
        let unshare = Command::new("unshare")
            .args(["--pid", "--fork", "--kill-child", "--mount-proc", "--", bin(), "-d"])
            .arg(t.conf())
            .arg("-s")
            .arg(t.sock())
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        Container { unshare, log, exit: None }
    }

    fn log(&self) -> String {
        read(&self.log)
    }

    /// The namespace's process 1, as seen from here: unshare's only child.
    fn init(&self) -> Option<u32> {
        children(self.unshare.id()).first().copied()
    }

    /// unshare's exit status, which is its child's: going's.
    fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = exit_within(&mut self.unshare, timeout);
        }
        self.exit
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        if self.exit.is_some() || self.unshare.try_wait().ok().flatten().is_some() {
            return;
        }
        if let Some(init) = self.init() {
            signal(init, "KILL");
        }
        if self.wait_exit(T).is_none() {
            let _ = self.unshare.kill();
            let _ = self.unshare.wait();
        }
    }
}

/// Whether this machine can run the test; prints why not.
fn can_run(test: &str) -> bool {
    if !is_root() {
        skip(test, "needs root (PID and mount namespaces)");
        return false;
    }
    if !have("unshare") {
        skip(test, "unshare is not installed (util-linux)");
        return false;
    }
    true
}

/// A service that records its pid, and its stop (SIGTERM) in `NAME.stopped`.
fn bystander(t: &Tmp, name: &str) {
    let pid = t.file(&format!("{name}.pid"));
    let stopped = t.file(&format!("{name}.stopped"));
    t.write(
        name,
        &format!(
            "cmd=/bin/sh -c 'trap \"echo stopped >{}; exit 0\" TERM; echo $$ >{}; while :; do sleep 0.1; done'\n",
            stopped.display(),
            pid.display()
        ),
    );
}

/// Processes on the host whose command line mentions the test's temp dir.
fn left_behind(t: &Tmp) -> Vec<u32> {
    let marker = t.path.to_str().unwrap().to_string();
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|&p| alive(p) && cmdline(p).iter().any(|a| a.contains(&marker)))
        .collect()
}

/// Starts the container and checks that going is its process 1 and the
/// bystander runs.
fn start_with_bystander(t: &Tmp) -> Container {
    bystander(t, "other");
    let c = Container::start(t);
    let pid_file = t.file("other.pid");
    assert!(wait_until(LONG, || pid_file.exists()), "the bystander never ran; log:\n{}", c.log());
    let init = c.init().expect("unshare has no child");
    assert_eq!(cmdline(init).first().map(String::as_str), Some(bin()), "unshare's child is not going");
    let nspid = status_field(init, "NSpid");
    assert!(nspid.ends_with("\t1") || nspid.ends_with(" 1"), "going is not process 1 of its namespace: {nspid:?}");
    // What ends the container may begin (see `once_told`).
    fs::write(t.file("go"), "").unwrap();
    c
}

/// A shell command that waits for `start_with_bystander` to have seen
/// the container, then runs `then`: the container cannot end before.
fn once_told(t: &Tmp, then: &str) -> String {
    format!("{}; {then}", sh_until(&t.file("go")))
}

/// The container ended with `code`; the bystander was stopped, nothing is
/// left.
fn expect_end(t: &Tmp, c: &mut Container, code: i32) {
    let st = c.wait_exit(LONG);
    let log = c.log();
    assert!(st.is_some(), "the container did not end within {LONG:?}; log:\n{log}");
    assert_eq!(st.unwrap().code(), Some(code), "the container's exit status; log:\n{log}");
    let stopped = read(&t.file("other.stopped"));
    assert_eq!(stopped.trim(), "stopped", "the bystander was not stopped with its stop signal; log:\n{log}");
    assert!(wait_until(T, || left_behind(t).is_empty()), "left behind: {:?}; log:\n{log}", left_behind(t));
}

#[test]
fn critical_service_exit_status_ends_the_container() {
    let test = "critical_service_exit_status_ends_the_container";
    if !can_run(test) {
        return;
    }
    let t = Tmp::new(test);
    t.write("main", &format!("critical=yes\nrestart=never\ncmd=/bin/sh -c '{}'\n", once_told(&t, "sleep 1; exit 7")));
    let started = Instant::now();
    let mut c = start_with_bystander(&t);
    expect_end(&t, &mut c, 7);
    assert!(started.elapsed() >= Duration::from_secs(1), "the container ended before main did");
}

#[test]
fn critical_service_killed_by_sigkill_ends_the_container_with_137() {
    let test = "critical_service_killed_by_sigkill_ends_the_container_with_137";
    if !can_run(test) {
        return;
    }
    let t = Tmp::new(test);
    t.write("main", &format!("critical=yes\nrestart=never\ncmd=/bin/sh -c '{}'\n", once_told(&t, "kill -KILL $$")));
    let mut c = start_with_bystander(&t);
    expect_end(&t, &mut c, 137);
}

#[test]
fn critical_service_that_is_restarted_does_not_end_the_container() {
    let test = "critical_service_that_is_restarted_does_not_end_the_container";
    if !can_run(test) {
        return;
    }
    let t = Tmp::new(test);
    // Fails once (restarted after the 1 s backoff), then exits 0, which
    // `on-failure` leaves down for good: the container ends with 0.
    let once = t.file("failed-once");
    t.write(
        "main",
        &format!(
            "critical=yes\nrestart=on-failure\n\
             cmd=/bin/sh -c '{1} if [ -e {0} ]; then exit 0; fi; : >{0}; exit 3'\n",
            once.display(),
            once_told(&t, "")
        ),
    );
    let started = Instant::now();
    let mut c = start_with_bystander(&t);
    expect_end(&t, &mut c, 0);
    assert!(started.elapsed() >= Duration::from_secs(1), "the container ended before main's second run");
}

#[test]
fn sigterm_from_outside_stops_the_container() {
    let test = "sigterm_from_outside_stops_the_container";
    if !can_run(test) {
        return;
    }
    let t = Tmp::new(test);
    let mut c = start_with_bystander(&t);
    signal(c.init().unwrap(), "TERM");
    expect_end(&t, &mut c, 0);
}
