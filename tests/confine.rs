//! SPEC §13, confinement from the service file (issue 16): what the
//! kernel shows of the running service in `/proc/PID/status` and
//! `/proc/PID/ns`, what it sees of the network and the file system, what
//! it may bind and write, and each failing step logged with its reason
//! while the other services run.
//!
//! Everything but `going check` needs root (namespaces, capabilities, a
//! change of uid); the tests print why and do nothing otherwise. The
//! unprivileged user is a numeric uid without a password entry.

mod common;
mod extra;
use common::*;
use extra::*;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root(test: &str) -> bool {
    if !is_root() {
        skip(test, "not root");
        return false;
    }
    true
}

/// Waits until the child has exec'd (before that it shows going's own
/// credentials and namespaces).
fn running(pid: u32, argv: &[&str]) -> u32 {
    expect_cmdline(pid, argv);
    pid
}

/// CapInh, CapPrm, CapEff, CapBnd and CapAmb of PID.
fn caps(pid: u32) -> [u64; 5] {
    ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]
        .map(|k| u64::from_str_radix(&status_field(pid, k), 16).unwrap_or_else(|_| panic!("{k} of {pid}")))
}

const NET_BIND_SERVICE: u64 = 1 << 10;
const CHOWN: u64 = 1;
/// errno of a write to a read-only file system.
const EROFS: i32 = 30;

#[test]
fn no_new_privs_is_set_only_where_asked() {
    if !root("no_new_privs_is_set_only_where_asked") {
        return;
    }
    let t = Tmp::new("cf_nnp");
    t.write("on", "cmd=/bin/sleep 1000\nno_new_privs=yes\n");
    t.write("off", "cmd=/bin/sleep 1001\nno_new_privs=no\n");
    t.write("plain", "cmd=/bin/sleep 1002\n");
    let g = Going::start(&t);
    let on = running(g.expect_started("on", 1), &["/bin/sleep", "1000"]);
    let off = running(g.expect_started("off", 1), &["/bin/sleep", "1001"]);
    let plain = running(g.expect_started("plain", 1), &["/bin/sleep", "1002"]);
    assert_eq!(status_field(on, "NoNewPrivs"), "1");
    assert_eq!(status_field(off, "NoNewPrivs"), "0");
    assert_eq!(status_field(plain, "NoNewPrivs"), "0");
    assert_eq!(status_field(g.pid(), "NoNewPrivs"), "0");
}

#[test]
fn capabilities_of_a_root_service_are_exactly_these() {
    if !root("capabilities_of_a_root_service_are_exactly_these") {
        return;
    }
    let t = Tmp::new("cf_caps_root");
    t.write("two", "cmd=/bin/sleep 1000\ncapabilities=NET_BIND_SERVICE, cap_chown\n");
    t.write("none", "cmd=/bin/sleep 1001\ncapabilities=\n");
    t.write("plain", "cmd=/bin/sleep 1002\n");
    let g = Going::start(&t);
    let two = running(g.expect_started("two", 1), &["/bin/sleep", "1000"]);
    let none = running(g.expect_started("none", 1), &["/bin/sleep", "1001"]);
    let plain = running(g.expect_started("plain", 1), &["/bin/sleep", "1002"]);
    let want = NET_BIND_SERVICE | CHOWN;
    // Root needs no ambient set: exec gives it the bounding set's.
    assert_eq!(caps(two), [want, want, want, want, 0], "Inh Prm Eff Bnd Amb of {two}");
    assert_eq!(caps(none), [0; 5]);
    // Without the key a service has what going has.
    assert_eq!(caps(plain)[3], caps(g.pid())[3]);
    assert_ne!(caps(plain)[2], 0);
    assert_eq!(caps(g.pid())[3], caps(std::process::id())[3], "going's own set is untouched");
}

#[test]
fn capabilities_of_a_user_service_are_ambient_too() {
    if !root("capabilities_of_a_user_service_are_ambient_too") {
        return;
    }
    let uid = free_uid();
    let t = Tmp::new("cf_caps_user");
    t.write("web", &format!("cmd=/bin/sleep 1000\nuser={uid}\ncapabilities=cap_net_bind_service\n"));
    t.write("none", &format!("cmd=/bin/sleep 1001\nuser={uid}\ncapabilities=\n"));
    t.write("plain", &format!("cmd=/bin/sleep 1002\nuser={uid}\n"));
    let g = Going::start(&t);
    let web = running(g.expect_started("web", 1), &["/bin/sleep", "1000"]);
    let none = running(g.expect_started("none", 1), &["/bin/sleep", "1001"]);
    let plain = running(g.expect_started("plain", 1), &["/bin/sleep", "1002"]);
    let n = NET_BIND_SERVICE;
    assert_eq!(caps(web), [n, n, n, n, n], "Inh Prm Eff Bnd Amb of {web}");
    assert_eq!(status_field(web, "Uid"), format!("{uid}\t{uid}\t{uid}\t{uid}"));
    assert_eq!(caps(none), [0; 5]);
    // As before: a user without the key has no capabilities, and going's
    // bounding set.
    assert_eq!(&caps(plain)[..3], &[0, 0, 0]);
    assert_eq!(caps(plain)[3], caps(g.pid())[3]);
}

/// A python3 one-liner run as `uid` that binds 127.0.0.1:80, says so
/// and stays; its output goes to `log`.
fn bind_80(uid: u32, log: &Path, extra: &str) -> String {
    let code = "s = socket.socket(); s.bind((\"127.0.0.1\", 80)); print(\"bound\", flush=True); time.sleep(1000)";
    format!("cmd=/usr/bin/python3 -c 'import socket, time; {code}'\nuser={uid}\nlog={}\n{extra}", log.display())
}

fn unprivileged_port_start() -> u32 {
    fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1024)
}

fn python(test: &str) -> bool {
    if !Path::new("/usr/bin/python3").exists() {
        skip(test, "no /usr/bin/python3");
        return false;
    }
    true
}

#[test]
fn a_user_binds_port_80_with_net_bind_service_and_not_without() {
    let test = "a_user_binds_port_80_with_net_bind_service_and_not_without";
    if !root(test) || !python(test) {
        return;
    }
    if unprivileged_port_start() <= 80 {
        skip(test, "net.ipv4.ip_unprivileged_port_start lets anyone bind port 80 here");
        return;
    }
    let uid = free_uid();
    let t = Tmp::new("cf_bind80");
    let (with, without) = (t.file("with.out"), t.file("without.out"));
    t.write("with", &bind_80(uid, &with, "capabilities=net_bind_service\n"));
    t.write("without", &bind_80(uid, &without, ""));
    let g = Going::start(&t);
    assert!(wait_file(&with, T, |b| b.starts_with(b"bound\n")), "with: {:?}; log:\n{}", read(&with), g.log());
    let refused = |b: &[u8]| String::from_utf8_lossy(b).contains("Permission denied");
    assert!(wait_file(&without, T, refused), "without: {:?}", read(&without));
    assert!(!read(&without).contains("bound"));
    assert!(wait_until(T, || last_exit(&g.log(), "without").is_some()), "log:\n{}", g.log());
    assert!(last_exit(&g.log(), "with").is_none(), "log:\n{}", g.log());
}

#[test]
fn private_network_has_only_lo_and_it_is_up() {
    if !root("private_network_has_only_lo_and_it_is_up") {
        return;
    }
    let t = Tmp::new("cf_net");
    let seen = t.file("seen.out");
    let ip = if have("ip") { "ip -o link; ip -o addr; " } else { "" };
    let sensor =
        format!("cmd=/bin/sh -c '{ip}echo seen; exec sleep 1000'\nprivate_network=yes\nlog={}\n", seen.display());
    t.write("sensor", &sensor);
    t.write("plain", "cmd=/bin/sleep 1001\n");
    let g = Going::start(&t);
    let s = running(g.expect_started("sensor", 1), &["sleep", "1000"]);
    let plain = running(g.expect_started("plain", 1), &["/bin/sleep", "1001"]);
    let ns = |pid: u32| readlink(&format!("/proc/{pid}/ns/net"));
    assert!(ns(s).starts_with("net:["), "{}", ns(s));
    assert_ne!(ns(s), ns(g.pid()));
    assert_eq!(ns(plain), ns(g.pid()));
    let dev = fs::read_to_string(format!("/proc/{s}/net/dev")).unwrap();
    let devs: Vec<&str> = dev.lines().skip(2).map(|l| l.split(':').next().unwrap().trim()).collect();
    assert_eq!(devs, ["lo"]);
    // What the service itself saw.
    assert!(wait_file(&seen, T, |b| b.ends_with(b"seen\n")));
    let out = read(&seen);
    if !ip.is_empty() {
        let links: Vec<&str> = out.lines().filter(|l| l.contains("link/")).collect();
        assert_eq!(links.len(), 1, "{out}");
        assert!(links[0].starts_with("1: lo: <LOOPBACK,UP,LOWER_UP>"), "{out}");
        assert!(out.contains("inet 127.0.0.1/8"), "{out}");
    }
}

#[test]
fn a_private_network_is_kept_across_restarts_until_the_file_changes() {
    let test = "a_private_network_is_kept_across_restarts_until_the_file_changes";
    if !root(test) || emulated(test, "an emulated going clones as fork, so it cannot see the new namespace to keep") {
        return;
    }
    let t = Tmp::new("cf_net_kept");
    t.write("a", "cmd=/bin/sleep 1000\nprivate_network=yes\n");
    t.write("b", "cmd=/bin/sleep 1001\nprivate_network=yes\n");
    let g = Going::start(&t);
    let ns = |pid: u32| readlink(&format!("/proc/{pid}/ns/net"));
    let a1 = running(g.expect_started("a", 1), &["/bin/sleep", "1000"]);
    let b1 = running(g.expect_started("b", 1), &["/bin/sleep", "1001"]);
    let (na, nb) = (ns(a1), ns(b1));
    assert_ne!(na, nb, "two services share a namespace");
    assert_ne!(na, ns(g.pid()));
    signal(a1, "KILL");
    let a2 = running(g.expect_started("a", 2), &["/bin/sleep", "1000"]);
    assert_ne!(a2, a1);
    assert_eq!(ns(a2), na, "a restart joins the namespace kept");
    let dev = fs::read_to_string(format!("/proc/{a2}/net/dev")).unwrap();
    assert_eq!(dev.lines().skip(2).count(), 1, "{dev}");
    // A changed file starts in a new one.
    t.write("a", "cmd=/bin/sleep 1002\nprivate_network=yes\n");
    let a3 = running(g.expect_started("a", 3), &["/bin/sleep", "1002"]);
    assert_ne!(ns(a3), na);
    assert_ne!(ns(a3), nb);
    assert_eq!(ns(b1), nb);
    // going holds the namespaces it keeps, and lets them go with the
    // file that had them.
    let held = |n: &str| fds(g.pid()).iter().any(|(_, target)| target == n);
    assert!(!held(&na) && held(&nb));
    assert!(wait_until(T, || held(&ns(a3))));
    t.remove("b");
    assert!(wait_dead(b1));
    assert!(wait_until(T, || !held(&nb)), "{:?}", fds(g.pid()));
}

/// The options of the last mount at `point` that PID sees.
fn mount_options(pid: u32, point: &Path) -> Option<Vec<String>> {
    let info = fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap();
    let point = point.to_str().unwrap();
    let line = info.lines().rfind(|l| l.split(' ').nth(4) == Some(point))?;
    Some(line.split(' ').nth(5)?.split(',').map(str::to_string).collect())
}

#[test]
fn read_only_paths_refuse_writes_and_the_rest_stays_writable() {
    if !root("read_only_paths_refuse_writes_and_the_rest_stays_writable") {
        return;
    }
    let t = Tmp::new("cf_ro");
    let (ro, ro2, rw) = (t.file("ro"), t.file("ro2"), t.file("rw"));
    for d in [&ro, &ro2, &rw] {
        fs::create_dir(d).unwrap();
    }
    fs::write(ro.join("old"), "kept\n").unwrap();
    let out = t.file("writer.out");
    let (r1, r2, w) = (ro.display(), ro2.display(), rw.display());
    t.write(
        "writer",
        &format!(
            "cmd=/bin/sh -c 'echo new >$0/new; echo new >>$0/old; echo new >$1/new; echo w >$2/w && echo wrote; \
             exec sleep 1000' {r1} {r2} {w}\nread_only={r1}\t {r2}\nlog={}\n",
            out.display()
        ),
    );
    let g = Going::start(&t);
    let pid = g.expect_started("writer", 1);
    assert!(wait_file(&out, T, |b| b.ends_with(b"wrote\n")), "{:?}; log:\n{}", read(&out), g.log());
    let text = read(&out);
    assert_eq!(text.matches("Read-only file system").count(), 3, "{text}");
    assert!(rw.join("w").exists());
    assert!(!ro.join("new").exists() && !ro2.join("new").exists());
    assert_eq!(fs::read_to_string(ro.join("old")).unwrap(), "kept\n");
    // From the host the paths are as writable as ever; through the
    // service's root they are not: EROFS.
    fs::write(ro.join("host"), "x").unwrap();
    let theirs = format!("/proc/{pid}/root{r1}/x");
    assert_eq!(fs::write(&theirs, "x").unwrap_err().raw_os_error(), Some(EROFS), "{theirs}");
    assert!(mount_options(pid, &ro).unwrap().contains(&"ro".to_string()));
    assert_eq!(mount_options(g.pid(), &ro), None, "the mount is seen outside the service");
}

/// A tmpfs mounted by the test, unmounted on drop.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn read_only_root_has_no_way_around_it() {
    if !root("read_only_root_has_no_way_around_it") {
        return;
    }
    let t = Tmp::new("cf_ro_root");
    let out = t.file("root.out");
    let (a, b) =
        (format!("/going-confine-{}-a", std::process::id()), format!("/going-confine-{}-b", std::process::id()));
    // `/etc/..` is `/` reached from below: it must not lead to a
    // writable mount stacked on the root.
    t.write(
        "a",
        &format!(
            "cmd=/bin/sh -c 'echo x >{a}; echo x >/etc/..{b}; echo x >/tmp/x && echo tmp; exec sleep 1000'\n\
             read_only=/\nprivate_tmp=yes\nlog={}\n",
            out.display()
        ),
    );
    let g = Going::start(&t);
    assert!(wait_file(&out, T, |x| x.ends_with(b"tmp\n")), "{:?}; log:\n{}", read(&out), g.log());
    let text = read(&out);
    let (escaped_a, escaped_b) = (Path::new(&a).exists(), Path::new(&b).exists());
    let _ = (fs::remove_file(&a), fs::remove_file(&b));
    assert!(!escaped_a && !escaped_b, "wrote through the read-only root: {text}");
    assert_eq!(text.matches("Read-only file system").count(), 2, "{text}");
}

/// Copies the static busybox into ROOT/bin, or says why not.
fn busybox_root(test: &str, root: &Path) -> bool {
    let bb = Path::new("/bin/busybox");
    let is_static = Command::new("sh")
        .arg("-c")
        .arg("file -L /bin/busybox 2>/dev/null | grep -q 'statically linked'")
        .status()
        .is_ok_and(|s| s.success());
    if !bb.exists() || !is_static {
        skip(test, "no static /bin/busybox");
        return false;
    }
    for d in ["bin", "etc", "tmp"] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    fs::copy(bb, root.join("bin/busybox")).unwrap();
    true
}

#[test]
fn with_chroot_read_only_paths_are_host_paths_and_tmp_is_the_services() {
    let test = "with_chroot_read_only_paths_are_host_paths_and_tmp_is_the_services";
    if !root(test) {
        return;
    }
    let t = Tmp::new("cf_chroot");
    let r = t.file("root");
    if !busybox_root(test, &r) {
        return;
    }
    let out = t.file("jail.out");
    let rs = r.display();
    t.write(
        "jail",
        &format!(
            "cmd=/bin/busybox sh -c 'echo x >/x; echo x >/etc/x; pwd; echo x >y && echo tmp; exec busybox sleep 1000'\n\
             chroot={rs}\nread_only={rs}\nprivate_tmp=yes\ncwd=/tmp\nlog={}\n",
            out.display()
        ),
    );
    t.write("etc", &format!("cmd=/bin/busybox sleep 1001\nchroot={rs}\nread_only={rs}/etc\n"));
    let g = Going::start(&t);
    assert!(wait_file(&out, T, |x| x.ends_with(b"tmp\n")), "{:?}; log:\n{}", read(&out), g.log());
    let text = read(&out);
    assert_eq!(text.matches("Read-only file system").count(), 2, "{text}");
    assert!(text.contains("/tmp\n"), "{text}");
    assert!(!r.join("x").exists() && !r.join("etc/x").exists() && !r.join("tmp/y").exists());
    let pid = g.pid_of("jail").unwrap();
    assert_eq!(readlink(&format!("/proc/{pid}/root")), rs.to_string());
    // Only the named path: the rest of this root stays writable.
    let etc = running(g.expect_started("etc", 1), &["/bin/busybox", "sleep", "1001"]);
    assert_eq!(fs::write(format!("/proc/{etc}/root/etc/x"), "x").unwrap_err().raw_os_error(), Some(EROFS));
    fs::write(format!("/proc/{etc}/root/x"), "x").unwrap();
    assert!(r.join("x").exists());
}

#[test]
fn read_only_keeps_nosuid_nodev_and_noexec() {
    let test = "read_only_keeps_nosuid_nodev_and_noexec";
    if !root(test) {
        return;
    }
    let t = Tmp::new("cf_ro_flags");
    let m = t.file("m");
    fs::create_dir(&m).unwrap();
    let ok =
        Command::new("mount").args(["-t", "tmpfs", "-o", "nosuid,nodev,noexec,size=64k", "tmpfs"]).arg(&m).status();
    if !ok.is_ok_and(|s| s.success()) {
        skip(test, "cannot mount a tmpfs");
        return;
    }
    let _m = Mounted(m.clone());
    t.write("a", &format!("cmd=/bin/sleep 1000\nread_only={}\n", m.display()));
    let g = Going::start(&t);
    let a = running(g.expect_started("a", 1), &["/bin/sleep", "1000"]);
    let opts = mount_options(a, &m).unwrap();
    for o in ["ro", "nosuid", "nodev", "noexec"] {
        assert!(opts.contains(&o.to_string()), "{o} missing from {opts:?}");
    }
    let host = mount_options(g.pid(), &m).unwrap();
    assert!(host.contains(&"rw".to_string()), "{host:?}");
}

#[test]
fn private_tmp_is_empty_sticky_and_not_the_hosts() {
    if !root("private_tmp_is_empty_sticky_and_not_the_hosts") {
        return;
    }
    let t = Tmp::new("cf_tmp");
    // The host's /tmp is never empty while this test runs.
    let marker = Path::new("/tmp").join(format!("going-confine-marker-{}", std::process::id()));
    fs::write(&marker, "host\n").unwrap();
    let mine = format!("going-confine-mine-{}", std::process::id());
    let out = t.file("tmp.out");
    t.write(
        "a",
        &format!(
            "cmd=/bin/sh -c 'ls -A /tmp; stat -c %a /tmp; echo mine >/tmp/{mine} && echo done; exec sleep 1000'\n\
             private_tmp=yes\nlog={}\n",
            out.display()
        ),
    );
    t.write("plain", "cmd=/bin/sleep 1001\n");
    let g = Going::start(&t);
    let a = g.expect_started("a", 1);
    let plain = running(g.expect_started("plain", 1), &["/bin/sleep", "1001"]);
    assert!(wait_file(&out, T, |b| b.ends_with(b"done\n")), "{:?}; log:\n{}", read(&out), g.log());
    assert_eq!(read(&out), "1777\ndone\n", "/tmp was not empty, or not 1777");
    let theirs = PathBuf::from(format!("/proc/{a}/root/tmp"));
    let meta = fs::metadata(&theirs).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o1777);
    assert_ne!(meta.dev(), fs::metadata("/tmp").unwrap().dev());
    let names: Vec<_> = fs::read_dir(&theirs).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, [mine.as_str()]);
    assert!(!Path::new("/tmp").join(&mine).exists(), "the service wrote into the host's /tmp");
    assert!(mount_options(a, Path::new("/tmp")).unwrap().contains(&"nosuid".to_string()));
    assert_eq!(fs::metadata(format!("/proc/{plain}/root/tmp")).unwrap().dev(), fs::metadata("/tmp").unwrap().dev());
    let _ = fs::remove_file(&marker);
}

#[test]
fn a_missing_read_only_path_is_a_failing_step_and_the_others_run() {
    if !root("a_missing_read_only_path_is_a_failing_step_and_the_others_run") {
        return;
    }
    let t = Tmp::new("cf_ro_missing");
    t.write("bad", "cmd=/bin/sleep 1000\nread_only=/usr /nonexistent-going-ro\n");
    t.write("ok", "cmd=/bin/sleep 1001\nread_only=/usr\n");
    let g = Going::start(&t);
    g.expect_log("going: bad: cannot make /nonexistent-going-ro read-only: No such file or directory\n");
    assert!(wait_until(T, || last_exit(&g.log(), "bad").is_some()), "log:\n{}", g.log());
    let e = last_exit(&g.log(), "bad").unwrap();
    assert_eq!(e.how, "exited with status 126");
    assert!(e.then.starts_with("restarting in 1s"), "{}", e.then);
    wait_socket(&t);
    expect_state(&t, "bad", "backoff");
    let ok = running(g.expect_started("ok", 1), &["/bin/sleep", "1001"]);
    assert!(alive(ok));
    assert_eq!(expect_state(&t, "ok", "up").get("pid"), ok.to_string());
    assert_eq!(g.starts("ok"), 1);
}

/// Starts going with capabilities dropped from its bounding set (by
/// capsh, before going's exec), or says why not.
fn start_without(t: &Tmp, test: &str, drop: &str) -> Option<Going> {
    if !have("capsh") {
        skip(test, "no capsh");
        return None;
    }
    let prefix = format!("exec capsh --drop={drop} -- -c 'exec \"$@\"' capsh \"$0\" -d \"$1\" -s \"$2\";");
    Some(Going::start_via(t, &prefix, &[]))
}

#[test]
fn each_failing_step_is_logged_with_its_errno() {
    let test = "each_failing_step_is_logged_with_its_errno";
    if !root(test) {
        return;
    }
    let t = Tmp::new("cf_steps");
    t.write("net", "cmd=/bin/sleep 1000\nprivate_network=yes\n");
    t.write("tmp", "cmd=/bin/sleep 1000\nprivate_tmp=yes\n");
    t.write("caps", "cmd=/bin/sleep 1000\ncapabilities=net_bind_service\n");
    t.write("ok", "cmd=/bin/sleep 1001\nno_new_privs=yes\n");
    let Some(g) = start_without(&t, test, "cap_sys_admin,cap_setpcap") else { return };
    let cases = [
        ("net", "cannot create a private network: Operation not permitted"),
        ("tmp", "cannot create a private mount namespace: Operation not permitted"),
        ("caps", "cannot drop capabilities from the bounding set: Operation not permitted"),
    ];
    for (name, why) in cases {
        g.expect_log(&format!("going: {name}: {why}\n"));
        assert!(wait_until(T, || last_exit(&g.log(), name).is_some()), "{name}; log:\n{}", g.log());
        let e = last_exit(&g.log(), name).unwrap();
        assert_eq!(e.how, "exited with status 126", "{name}");
        assert!(e.then.starts_with("restarting in "), "{name}: {}", e.then);
    }
    let ok = running(g.expect_started("ok", 1), &["/bin/sleep", "1001"]);
    assert_eq!(status_field(ok, "NoNewPrivs"), "1");
    assert_eq!(g.starts("ok"), 1);
}

#[test]
fn a_confined_web_server_as_in_going_5() {
    let test = "a_confined_web_server_as_in_going_5";
    if !root(test) || !python(test) {
        return;
    }
    let uid = free_uid();
    let t = Tmp::new("cf_web");
    let out = t.file("web.out");
    // Port 80 inside its own network, so the host's port 80 is not needed.
    let extra = "capabilities=net_bind_service\nno_new_privs=yes\nprivate_network=yes\n\
                 read_only=/usr /etc\nprivate_tmp=yes\ncwd=/tmp\n";
    t.write("web", &bind_80(uid, &out, extra));
    let g = Going::start(&t);
    assert!(wait_file(&out, T, |b| b.starts_with(b"bound\n")), "{:?}; log:\n{}", read(&out), g.log());
    let pid = g.pid_of("web").unwrap();
    let n = NET_BIND_SERVICE;
    assert_eq!(caps(pid), [n, n, n, n, n]);
    assert_eq!(status_field(pid, "NoNewPrivs"), "1");
    assert_ne!(readlink(&format!("/proc/{pid}/ns/net")), readlink(&format!("/proc/{}/ns/net", g.pid())));
    assert_ne!(readlink(&format!("/proc/{pid}/ns/mnt")), readlink(&format!("/proc/{}/ns/mnt", g.pid())));
    // cwd=/tmp is entered in the private /tmp.
    let cwd = fs::metadata(format!("/proc/{pid}/cwd")).unwrap();
    assert_ne!(cwd.dev(), fs::metadata("/tmp").unwrap().dev());
    assert!(mount_options(pid, Path::new("/usr")).unwrap().contains(&"ro".to_string()));
}

#[test]
fn check_rejects_unknown_capabilities_and_relative_paths() {
    let t = Tmp::new("cf_check");
    let d = t.conf_str();
    t.write("caps", "cmd=/bin/true\ncapabilities=net_bind_service,cap_nonsense\n");
    t.write("ro", "# a comment\ncmd=/bin/true\nread_only=/usr etc\n");
    t.write("net", "cmd=/bin/true\nprivate_network=on\n");
    t.write("good", "cmd=/bin/true\ncapabilities=CAP_NET_BIND_SERVICE,chown\nread_only=/usr\nprivate_tmp=yes\n");
    let (code, out) = t.check();
    assert_eq!(code, 78, "{out}");
    assert!(out.contains(&format!("{d}/caps:2: unknown capability \"cap_nonsense\"\n")), "{out}");
    assert!(
        out.contains(&format!("{d}/ro:3: bad read_only \"/usr etc\" (absolute paths separated by blanks)\n")),
        "{out}"
    );
    assert!(out.contains(&format!("{d}/net:2: bad private_network \"on\" (yes or no)\n")), "{out}");
    assert!(!out.contains("/good"), "{out}");
}

#[test]
fn a_restarted_private_network_service_is_never_in_goings_namespace() {
    // Where a spawn returns before the child made its namespace (a going
    // under an emulator clones as fork), going must not keep its own
    // namespace for the service's next start.
    let test = "a_restarted_private_network_service_is_never_in_goings_namespace";
    if !root(test) {
        return;
    }
    let t = Tmp::new("cf_net_never_ours");
    t.write("a", "cmd=/bin/sleep 1000\nprivate_network=yes\n");
    let g = Going::start(&t);
    let ns = |pid: u32| readlink(&format!("/proc/{pid}/ns/net"));
    let ours = readlink("/proc/self/ns/net");
    for n in 1..=3 {
        let a = running(g.expect_started("a", n), &["/bin/sleep", "1000"]);
        assert_ne!(ns(a), ours, "start {n} runs in the host's namespace");
        signal(a, "KILL");
        assert!(wait_dead(a));
    }
}
