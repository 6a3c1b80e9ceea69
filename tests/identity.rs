//! SPEC §2 keys `user`, `group`, `chroot`, `umask`, `nice` and `limit_*`
//! (issue 5): what the kernel shows of the running child in `/proc`, and
//! each failure between fork and exec logged with its step and reason.
//!
//! Most tests need root (to create a user and to change ids); they print
//! why and do nothing otherwise.

mod common;
mod extra;
use common::*;
use extra::*;
use std::fs;
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// useradd and friends lock /etc/passwd: one at a time in this process,
/// retried when another process holds the lock.
static ACCOUNTS: Mutex<()> = Mutex::new(());
static SEQ: AtomicUsize = AtomicUsize::new(0);

fn admin(args: &[&str]) {
    let _lock = ACCOUNTS.lock().unwrap_or_else(|e| e.into_inner());
    let mut last = None;
    let ok = wait_until(T, || {
        let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
        let done = out.status.success();
        last = Some(out);
        done
    });
    assert!(ok, "{args:?} failed: {last:?}");
}

fn id_of(db: &str, name: &str) -> u32 {
    let out = Command::new("getent").args([db, name]).output().unwrap();
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    line.split(':').nth(2).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("getent {db} {name}: {line:?}"))
}

/// A user with a primary group, one supplementary group, and a spare
/// group for `group=`; all deleted on drop.
struct TestUser {
    name: String,
    group: String,
    extra: String,
    spare: String,
    uid: u32,
    gid: u32,
    extra_gid: u32,
    spare_gid: u32,
}

impl TestUser {
    fn new() -> TestUser {
        let tag = format!("gt{}x{}", std::process::id() % 100_000, SEQ.fetch_add(1, Ordering::SeqCst));
        let (name, group, extra, spare) = (format!("{tag}u"), format!("{tag}g"), format!("{tag}e"), format!("{tag}s"));
        for g in [&group, &extra, &spare] {
            admin(&["groupadd", g]);
        }
        let home = format!("/home/{name}");
        admin(&["useradd", "-M", "-N", "-g", &group, "-G", &extra, "-d", &home, "-s", "/bin/sh", &name]);
        TestUser {
            uid: id_of("passwd", &name),
            gid: id_of("group", &group),
            extra_gid: id_of("group", &extra),
            spare_gid: id_of("group", &spare),
            name,
            group,
            extra,
            spare,
        }
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        let _lock = ACCOUNTS.lock().unwrap_or_else(|e| e.into_inner());
        let _ = Command::new("userdel").arg(&self.name).output();
        for g in [&self.group, &self.extra, &self.spare] {
            let _ = Command::new("groupdel").arg(g).output();
        }
    }
}

/// Root and useradd, or the reason why not.
fn can_manage_users(test: &str) -> bool {
    if !is_root() {
        skip(test, "not root");
        return false;
    }
    if !have("useradd") || !have("groupadd") {
        skip(test, "useradd or groupadd missing");
        return false;
    }
    true
}

fn root(test: &str) -> bool {
    if !is_root() {
        skip(test, "not root");
        return false;
    }
    true
}

fn groups(pid: u32) -> Vec<u32> {
    let mut g: Vec<u32> = status_field(pid, "Groups").split_whitespace().map(|s| s.parse().unwrap()).collect();
    g.sort();
    g
}

fn env_value(pid: u32, key: &str) -> Option<String> {
    environ(pid).into_iter().find_map(|kv| kv.strip_prefix(&format!("{key}=")).map(str::to_string))
}

/// Waits until the child has exec'd (before that it shows going's ids).
fn running(pid: u32, argv: &[&str]) -> u32 {
    expect_cmdline(pid, argv);
    pid
}

#[test]
fn user_sets_uid_gid_and_supplementary_groups() {
    if !can_manage_users("user_sets_uid_gid_and_supplementary_groups") {
        return;
    }
    let u = TestUser::new();
    let t = Tmp::new("id_user");
    t.write("a", &format!("cmd=/bin/sleep 1000\nuser={}\n", u.name));
    let g = Going::start(&t);
    let a = running(g.expect_started("a", 1), &["/bin/sleep", "1000"]);
    ids_are(a, "Uid", u.uid);
    ids_are(a, "Gid", u.gid);
    let gs = groups(a);
    assert!(gs.contains(&u.extra_gid), "groups {gs:?} lack {} ({})", u.extra_gid, u.extra);
    assert!(gs.iter().all(|g| *g == u.gid || *g == u.extra_gid), "groups {gs:?}: only {} and {}", u.gid, u.extra_gid);
    // Only the child changed: going is still root with its own groups.
    ids_are(g.pid(), "Uid", 0);
    ids_are(g.pid(), "Gid", 0);
}

#[test]
fn user_sets_home_user_logname_unless_env_does() {
    if !can_manage_users("user_sets_home_user_logname_unless_env_does") {
        return;
    }
    let u = TestUser::new();
    let t = Tmp::new("id_env");
    t.write("a", &format!("cmd=/bin/sleep 1000\nuser={}\n", u.name));
    t.write("b", &format!("cmd=/bin/sleep 1000\nuser={}\nenv=HOME=/srv/b\nenv=LOGNAME=bee\n", u.name));
    let g = Going::start(&t);
    let a = running(g.expect_started("a", 1), &["/bin/sleep", "1000"]);
    let b = running(g.expect_started("b", 1), &["/bin/sleep", "1000"]);
    let mut env = environ(a);
    env.sort();
    let home = format!("HOME=/home/{}", u.name);
    let mut want =
        vec![home.clone(), format!("LOGNAME={}", u.name), DEFAULT_PATH.to_string(), format!("USER={}", u.name)];
    want.sort();
    assert_eq!(env, want);
    assert_eq!(env_value(b, "HOME").as_deref(), Some("/srv/b"));
    assert_eq!(env_value(b, "LOGNAME").as_deref(), Some("bee"));
    assert_eq!(env_value(b, "USER"), Some(u.name.clone()));
    assert_eq!(environ(b).iter().filter(|kv| kv.starts_with("HOME=")).count(), 1, "{:?}", environ(b));
}

#[test]
fn a_numeric_uid_without_a_passwd_entry() {
    if !root("a_numeric_uid_without_a_passwd_entry") {
        return;
    }
    // A uid nobody has.
    let uid = (54_321..60_000)
        .find(|u| !Command::new("getent").args(["passwd", &u.to_string()]).status().unwrap().success())
        .unwrap();
    let t = Tmp::new("id_numeric");
    t.write("a", &format!("cmd=/bin/sleep 1000\nuser={uid}\n"));
    let g = Going::start(&t);
    let a = running(g.expect_started("a", 1), &["/bin/sleep", "1000"]);
    ids_are(a, "Uid", uid);
    ids_are(a, "Gid", uid);
    assert_eq!(groups(a), Vec::<u32>::new());
}

#[test]
fn group_replaces_the_primary_group() {
    if !can_manage_users("group_replaces_the_primary_group") {
        return;
    }
    let u = TestUser::new();
    let t = Tmp::new("id_group");
    t.write("byname", &format!("cmd=/bin/sleep 1000\nuser={}\ngroup={}\n", u.name, u.spare));
    t.write("bynum", &format!("cmd=/bin/sleep 1000\nuser={}\ngroup={}\n", u.name, u.spare_gid));
    t.write("alone", &format!("cmd=/bin/sleep 1000\ngroup={}\n", u.spare));
    let g = Going::start(&t);
    for name in ["byname", "bynum"] {
        let p = running(g.expect_started(name, 1), &["/bin/sleep", "1000"]);
        ids_are(p, "Uid", u.uid);
        ids_are(p, "Gid", u.spare_gid);
    }
    let p = running(g.expect_started("alone", 1), &["/bin/sleep", "1000"]);
    ids_are(p, "Uid", 0);
    ids_are(p, "Gid", u.spare_gid);
}

/// Needs no root: the lookup happens when the file is read.
#[test]
fn an_unknown_user_or_group_is_rejected_by_check_and_the_supervisor() {
    let t = Tmp::new("id_unknown");
    let d = t.conf_str();
    t.write("u", "cmd=/bin/sleep 1000\nuser=no_such_user_going_id\n");
    t.write("g", "# a comment\ncmd=/bin/sleep 1000\ngroup=no_such_group_going_id\n");
    t.write("ok", &sleeper(1000));
    let (code, out) = t.check();
    assert_eq!(code, 78, "{out}");
    assert!(out.contains(&format!("{d}/u:2: unknown user \"no_such_user_going_id\"\n")), "{out}");
    assert!(out.contains(&format!("{d}/g:3: unknown group \"no_such_group_going_id\"\n")), "{out}");
    let g = Going::start(&t);
    g.expect_log(&format!("going: {d}/u:2: unknown user \"no_such_user_going_id\""));
    g.expect_log(&format!("going: {d}/g:3: unknown group \"no_such_group_going_id\""));
    g.expect_started("ok", 1);
    wait_socket(&t);
    assert_eq!(expect_state(&t, "u", "failed").get("pid"), "0");
    assert_eq!(g.starts("u") + g.starts("g"), 0, "log:\n{}", g.log());
}

/// Copies the static busybox into ROOT/bin, or says why not.
fn busybox_root(test: &str, root: &std::path::Path) -> bool {
    let bb = std::path::Path::new("/bin/busybox");
    let is_static = || {
        Command::new("sh")
            .arg("-c")
            .arg("file -L /bin/busybox 2>/dev/null | grep -q 'statically linked' || dpkg -s busybox-static >/dev/null 2>&1")
            .status()
            .is_ok_and(|s| s.success())
    };
    if !bb.exists() || !is_static() {
        let _ = Command::new("apt-get").args(["install", "-y", "busybox-static"]).output();
    }
    if !bb.exists() || !is_static() {
        skip(test, "no static /bin/busybox (apt-get install -y busybox-static failed)");
        return false;
    }
    fs::create_dir_all(root.join("bin")).unwrap();
    fs::create_dir_all(root.join("srv/www")).unwrap();
    fs::copy(bb, root.join("bin/busybox")).unwrap();
    true
}

#[test]
fn chroot_runs_a_static_program_inside_the_new_root() {
    let test = "chroot_runs_a_static_program_inside_the_new_root";
    if !root(test) {
        return;
    }
    let t = Tmp::new("id_chroot");
    let r = t.file("root");
    if !busybox_root(test, &r) {
        return;
    }
    let rs = r.to_str().unwrap();
    t.write("abs", &format!("cmd=/bin/busybox sleep 1000\nchroot={rs}\n"));
    // Found through PATH inside the new root; cwd entered after chroot.
    t.write("path", &format!("cmd=busybox sleep 1001\nchroot={rs}\ncwd=/srv/www\n"));
    let g = Going::start(&t);
    let a = running(g.expect_started("abs", 1), &["/bin/busybox", "sleep", "1000"]);
    assert_eq!(readlink(&format!("/proc/{a}/root")), rs);
    assert_eq!(readlink(&format!("/proc/{a}/cwd")), rs);
    let p = running(g.expect_started("path", 1), &["busybox", "sleep", "1001"]);
    assert_eq!(readlink(&format!("/proc/{p}/root")), rs);
    assert_eq!(readlink(&format!("/proc/{p}/cwd")), format!("{rs}/srv/www"));
    assert_eq!(readlink(&format!("/proc/{p}/exe")), format!("{rs}/bin/busybox"));
}

#[test]
fn umask_is_set() {
    let t = Tmp::new("id_umask");
    t.write("a", "cmd=/bin/sleep 1000\numask=027\n");
    t.write("b", "cmd=/bin/sleep 1000\numask=0\n");
    t.write("c", &sleeper(1000));
    // Going's own umask is not what its services get.
    let g = Going::start_via(&t, "umask 077;", &[]);
    let a = running(g.expect_started("a", 1), &["/bin/sleep", "1000"]);
    let b = running(g.expect_started("b", 1), &["/bin/sleep", "1000"]);
    let c = running(g.expect_started("c", 1), &["/bin/sleep", "1000"]);
    assert_eq!(status_field(a, "Umask"), "0027");
    assert_eq!(status_field(b, "Umask"), "0000");
    assert_eq!(status_field(c, "Umask"), "0022");
}

/// Soft and hard value of one `/proc/PID/limits` row.
fn limit(pid: u32, row: &str) -> (String, String) {
    let text = fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = text.lines().find(|l| l.starts_with(row)).unwrap_or_else(|| panic!("no {row:?} in\n{text}"));
    let mut v = line[row.len()..].split_whitespace();
    (v.next().unwrap().to_string(), v.next().unwrap().to_string())
}

#[test]
fn each_limit_is_set() {
    if !root("each_limit_is_set") {
        return; // raising a hard limit needs root
    }
    let t = Tmp::new("id_limits");
    t.write(
        "a",
        "cmd=/bin/sleep 1000\n\
         limit_nofile=100:200\n\
         limit_nproc=300:400\n\
         limit_core=1M:unlimited\n\
         limit_as=1G:2G\n\
         limit_stack=512k:1M\n\
         limit_cpu=100:200\n\
         limit_data=1G:unlimited\n\
         limit_fsize=10M:20M\n\
         limit_memlock=64k:128k\n",
    );
    let g = Going::start(&t);
    let a = running(g.expect_started("a", 1), &["/bin/sleep", "1000"]);
    let s = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(limit(a, "Max open files"), s("100", "200"));
    assert_eq!(limit(a, "Max processes"), s("300", "400"));
    assert_eq!(limit(a, "Max core file size"), s("1048576", "unlimited"));
    // qemu-user only pretends to set these, or they would limit qemu itself.
    if !emulator_lacks("each_limit_is_set", "RLIMIT_AS, RLIMIT_STACK and RLIMIT_DATA") {
        assert_eq!(limit(a, "Max address space"), s("1073741824", "2147483648"));
        assert_eq!(limit(a, "Max stack size"), s("524288", "1048576"));
        assert_eq!(limit(a, "Max data size"), s("1073741824", "unlimited"));
    }
    assert_eq!(limit(a, "Max cpu time"), s("100", "200"));
    assert_eq!(limit(a, "Max file size"), s("10485760", "20971520"));
    assert_eq!(limit(a, "Max locked memory"), s("65536", "131072"));
    // Going's own limits are untouched.
    assert_ne!(limit(g.pid(), "Max open files"), s("100", "200"));
}

#[test]
fn nice_is_set() {
    if !root("nice_is_set") {
        return; // a negative nice needs root
    }
    let t = Tmp::new("id_nice");
    t.write("up", "cmd=/bin/sleep 1000\nnice=7\n");
    t.write("down", "cmd=/bin/sleep 1000\nnice=-5\n");
    let g = Going::start(&t);
    let nice = |pid: u32| -> i32 {
        let s = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        // Field 19 of stat(5); field 3 is the first after the command name.
        s[s.rfind(')').unwrap() + 2..].split(' ').nth(19 - 3).unwrap().parse().unwrap()
    };
    let up = running(g.expect_started("up", 1), &["/bin/sleep", "1000"]);
    let down = running(g.expect_started("down", 1), &["/bin/sleep", "1000"]);
    assert_eq!(nice(up), 7);
    assert_eq!(nice(down), -5);
    assert_eq!(nice(g.pid()), 0);
}

#[test]
fn each_failure_step_is_logged_with_its_reason() {
    if !root("each_failure_step_is_logged_with_its_reason") {
        return; // chroot needs root
    }
    let t = Tmp::new("id_failures");
    let empty_root = t.file("empty-root");
    fs::create_dir(&empty_root).unwrap();
    let plain = t.file("not-executable");
    fs::write(&plain, "#!/bin/sh\n").unwrap();
    let (er, pl) = (empty_root.display(), plain.display());
    t.write("chroot", "cmd=/bin/sleep 1000\nchroot=/nonexistent-going-root\n");
    t.write("cwd", "cmd=/bin/sleep 1000\ncwd=/nonexistent-going-cwd\n");
    t.write("exec", "cmd=/nonexistent-going-prog\n");
    t.write("noexec", &format!("cmd={pl}\n"));
    t.write("inroot", &format!("cmd=/bin/sleep 1000\nchroot={er}\n"));
    t.write("nofile", "cmd=/bin/sleep 1000\nlimit_nofile=unlimited\n");
    let g = Going::start(&t);
    let cases = [
        ("chroot", "cannot chroot /nonexistent-going-root: No such file or directory".to_string(), 126),
        ("cwd", "cannot chdir /nonexistent-going-cwd: No such file or directory".to_string(), 126),
        ("exec", "cannot exec /nonexistent-going-prog: No such file or directory".to_string(), 127),
        ("noexec", format!("cannot exec {pl}: Permission denied"), 126),
        ("inroot", "cannot exec /bin/sleep: No such file or directory".to_string(), 127),
        // RLIMIT_NOFILE cannot exceed fs.nr_open, even for root.
        ("nofile", "cannot set limit_nofile: Operation not permitted".to_string(), 126),
    ];
    for (name, why, code) in &cases {
        g.expect_log(&format!("going: {name}: {why}\n"));
        let exited = || last_exit(&g.log(), name).is_some();
        assert!(wait_until(T, exited), "{name}: no exit line; log:\n{}", g.log());
        let e = last_exit(&g.log(), name).unwrap();
        assert_eq!(e.how, format!("exited with status {code}"), "{name}");
        assert!(e.then.starts_with("restarting in "), "{name}: {}", e.then);
    }
}
