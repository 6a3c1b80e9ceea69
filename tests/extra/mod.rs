//! Helpers for the tests of the features added after the foundation
//! (inotify, control socket, identity, output), on top of `common`:
//! running the client, reading `going status -m`, fd counts, root checks.
//!
//! Like `common`, nothing here sleeps and then asserts: every wait polls
//! with a deadline.

#![allow(dead_code)] // each test file uses a different part

use crate::common::*;
use std::fs;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// What a finished command printed, and its exit code (-1 for a signal).
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cmd` to completion; panics if it has not exited within `T`.
pub fn run(cmd: Command) -> Out {
    let what = format!("{cmd:?}");
    run_within(cmd, T).unwrap_or_else(|| panic!("{what} did not finish within {T:?}"))
}

/// `going ARGS...` to completion.
pub fn going(args: &[&str]) -> Out {
    let mut cmd = going_command();
    cmd.args(args).env_remove("NO_COLOR");
    run(cmd)
}

/// `going VERB -s TMP/sock ARGS...` to completion.
pub fn client(t: &Tmp, verb: &str, args: &[&str]) -> Out {
    let sock = t.sock();
    let mut all = vec![verb, "-s", sock.to_str().unwrap()];
    all.extend_from_slice(args);
    going(&all)
}

/// Waits until going's socket exists (it is created at start).
pub fn wait_socket(t: &Tmp) {
    assert!(wait_until(T, || t.sock().exists()), "no socket at {}", t.sock().display());
}

/// One `key=value` line of `going status -m`, keys in order; the value
/// of a last `error=` key may hold blanks.
#[derive(Clone, Debug)]
pub struct Row {
    pub fields: Vec<(String, String)>,
}

impl Row {
    pub fn parse(line: &str) -> Row {
        let (main, error) = match line.split_once(" error=") {
            Some((m, e)) => (m, Some(e)),
            None => (line, None),
        };
        let mut fields: Vec<(String, String)> = main
            .split(' ')
            .map(|f| {
                let (k, v) = f.split_once('=').unwrap_or((f, ""));
                (k.to_string(), v.to_string())
            })
            .collect();
        if let Some(e) = error {
            fields.push(("error".to_string(), e.to_string()));
        }
        Row { fields }
    }

    pub fn get(&self, key: &str) -> &str {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).unwrap_or("")
    }

    pub fn num(&self, key: &str) -> u64 {
        self.get(key).parse().unwrap_or_else(|_| panic!("{key}={:?} is not a number", self.get(key)))
    }

    pub fn keys(&self) -> Vec<&str> {
        self.fields.iter().map(|(k, _)| k.as_str()).collect()
    }
}

/// The service rows of `going status -m` (panics if the client fails).
pub fn status_rows(t: &Tmp) -> Vec<Row> {
    let out = client(t, "status", &["-m"]);
    assert_eq!(out.code, 0, "status -m failed: {out:?}");
    out.stdout.lines().filter(|l| l.starts_with("name=")).map(Row::parse).collect()
}

/// The `-m` row of one service, if going lists it.
pub fn row_of(t: &Tmp, name: &str) -> Option<Row> {
    status_rows(t).into_iter().find(|r| r.get("name") == name)
}

/// Polls `going status -m` until NAME's row satisfies `f`; returns that row.
pub fn wait_row(t: &Tmp, name: &str, mut f: impl FnMut(&Row) -> bool) -> Option<Row> {
    let mut found = None;
    wait_until(T, || {
        found = row_of(t, name).filter(|r| f(r));
        found.is_some()
    });
    found
}

/// Waits until NAME is in STATE; panics with the last status otherwise.
pub fn expect_state(t: &Tmp, name: &str, state: &str) -> Row {
    wait_row(t, name, |r| r.get("state") == state).unwrap_or_else(|| {
        let last = client(t, "status", &["-m"]);
        panic!("{name} never reached state {state}; status:\n{}", last.stdout)
    })
}

/// Number of open fds of PID.
pub fn fd_count(pid: u32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

/// PID's descriptor count once it has stayed the same for 200 ms (at most
/// `T`): the connection of a client just answered may still be open for a
/// moment, which would make a base to compare with one too high.
pub fn settled_fd_count(pid: u32) -> usize {
    let (mut last, mut since) = (fd_count(pid), Instant::now());
    wait_until(T, || {
        let n = fd_count(pid);
        if n != last {
            (last, since) = (n, Instant::now());
        }
        since.elapsed() >= Duration::from_millis(200)
    });
    last
}

/// True when this test runs as root.
pub fn is_root() -> bool {
    status_field(std::process::id(), "Uid").split_whitespace().nth(1) == Some("0")
}

/// Whether PROG is found in PATH.
pub fn have(prog: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {prog}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Prints why a test does nothing here; tests `return` right after.
pub fn skip(test: &str, why: &str) {
    eprintln!("SKIPPED {test}: {why}");
}

/// Polls until `path` holds content satisfying `f`.
pub fn wait_file(path: &std::path::Path, timeout: Duration, mut f: impl FnMut(&[u8]) -> bool) -> bool {
    wait_until(timeout, || fs::read(path).is_ok_and(|b| f(&b)))
}

/// A shell loop that ends once `path` exists: where a service's script
/// waits for the test's go-ahead (a service's steps in the order the test
/// sets, however slow the machine).
pub fn sh_until(path: &std::path::Path) -> String {
    format!("while [ ! -e {} ]; do sleep 0.02; done", path.display())
}

/// Text of a file, empty when missing.
pub fn read(path: &std::path::Path) -> String {
    String::from_utf8_lossy(&fs::read(path).unwrap_or_default()).into_owned()
}

/// Waits until PID has exec'd into `argv` (between fork and exec it still
/// shows going's own command line); panics with what it shows otherwise.
pub fn expect_cmdline(pid: u32, argv: &[&str]) {
    if !wait_until(T, || cmdline(pid) == argv) {
        panic!("pid {pid} runs {:?}, not {argv:?}", cmdline(pid));
    }
}

// ---- Added for the trust and model tests (issue 11) ----

/// A copy of the going binary that any user can run: `TMP/bin/going`,
/// mode 0755, in directories of mode 0755. A checkout may sit where other
/// users cannot enter (`/root/going`, a 0700 `mktemp -d`), so a test that
/// runs going as another uid runs this copy, never `BIN` itself.
pub fn reachable_binary(t: &Tmp) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = t.path.join("bin");
    fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("going");
    fs::copy(bin(), &copy).unwrap();
    for (p, mode) in [(&t.path, 0o755), (&dir, 0o755), (&copy, 0o755)] {
        fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
    }
    copy
}

/// Runs `cmd` for at most `limit`: its output, or `None` (and it is
/// killed) when it did not finish in time.
pub fn run_within(mut cmd: Command, limit: Duration) -> Option<Out> {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => {
            let out = out.unwrap();
            Some(Out {
                code: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            })
        }
        Err(_) => {
            signal(pid, "KILL");
            let _ = rx.recv_timeout(T);
            None
        }
    }
}

/// A shell prefix for `Going::start_via` running going in a private mount
/// namespace whose `/dev` is a fresh tmpfs holding `null` and a `log`
/// symlink to `syslog` (a socket path the test controls); the host's
/// `/dev/log` is never touched.
pub fn private_dev_log(syslog: &std::path::Path) -> String {
    format!(
        "exec unshare -m --propagation private /bin/sh -c 'mount -t tmpfs -o mode=0755 going-test /dev \
         && mknod -m 666 /dev/null c 1 3 && ln -s \"$3\" /dev/log && exec \"$0\" -d \"$1\" -s \"$2\"' \
         \"$0\" \"$1\" \"$2\" '{}';",
        syslog.display()
    )
}

/// `going VERB -s TMP/sock ARGS...` for at most `limit`.
pub fn client_within(t: &Tmp, verb: &str, args: &[&str], limit: Duration) -> Option<Out> {
    let mut cmd = going_command();
    cmd.arg(verb).arg("-s").arg(t.sock()).args(args).env_remove("NO_COLOR");
    run_within(cmd, limit)
}

/// A uid nobody has, so a service can run as it without a passwd entry.
pub fn free_uid() -> u32 {
    (54_400..60_000)
        .find(|u| !Command::new("getent").args(["passwd", &u.to_string()]).status().unwrap().success())
        .unwrap()
}

/// The four ids of a `Uid:` or `Gid:` line, all equal to `want`.
pub fn ids_are(pid: u32, key: &str, want: u32) {
    let line = status_field(pid, key);
    let ids: Vec<&str> = line.split_whitespace().collect();
    let w = want.to_string();
    assert_eq!(ids, [w.as_str(); 4], "{key}: {line:?}");
}
