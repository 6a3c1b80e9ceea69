//! going booted for real (SPEC §9, §10, §11): a Linux kernel in qemu, an
//! initramfs of static busybox and going, and the serial console as the
//! record of what happened.
//!
//! Every scenario runs once per arch: `NAME::x86_64` and `NAME::aarch64`
//! (the aarch64 ones need `tests/vm/fetch-arm64.sh` and the aarch64 build;
//! without them they are skipped, or fail under `GOING_REQUIRE_VM=1`).
//!
//! The services themselves print the markers (`MARK …`) the tests look
//! for: with the default `log=inherit` their output is going's stdout, the
//! console, when going is process 1 or started by busybox init. Assertions
//! are on those markers, the kernel's own lines (`reboot: Power down`) and
//! what the scripts read in `/proc` and `/sys` inside the VM, never on the
//! wording of going's log, except the two phrases SPEC fixes
//! (`killed by the memory limit`; `memory_peak=`, `oom_kills=`). Every
//! failure message carries the whole console.
//!
//! A scenario's scripts wait by polling with a bound (`within`), and every
//! boot ends when its console has been silent for 15 s, so a hang fails
//! one test in about 20 s.
//!
//!     cargo test --release --test boot -- --nocapture   # boot times, footprint

mod common;
mod vm;
use std::path::Path;
use vm::{Arch, Boot, Image, Run};

/// Runs a scenario function once per arch, as `NAME::x86_64` and
/// `NAME::aarch64`.
macro_rules! on_both_arches {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn x86_64() {
                super::$name(crate::vm::Arch::X86_64)
            }
            #[test]
            fn aarch64() {
                super::$name(crate::vm::Arch::Aarch64)
            }
        }
    )*};
}

on_both_arches!(
    going_init_poweroff,
    going_init_reboot,
    busybox_init_respawns_going,
    crash_is_restarted,
    signal_usr2_powers_off,
    signal_term_reboots,
    signal_usr1_halts,
    cgroup_limits,
    footprint_256_services,
    footprint_256_services_under_busybox_init,
    example_initramfs_boots,
);

/// The kernel's last words for each way of going down (kernel/reboot.c).
const POWER_DOWN: &str = "reboot: Power down";
const RESTARTING: &str = "reboot: Restarting system";
const HALTED: &str = "reboot: System halted";

/// Shell helpers every scenario's scripts source.
const LIB: &str = r#"# within TENTHS CMD...: polls CMD every 0.1 s, at most TENTHS times.
within() {
    n=$1; shift
    until "$@"; do
        n=$((n - 1))
        [ "$n" -le 0 ] && return 1
        sleep 0.1
    done
}
# running REGEX: how many live processes have a command line matching REGEX
# as a whole (zombies have none).
running() { ps -o args | grep -cxE "$1"; }
# cgroup PID: the cgroup2 path of a process, as /proc/PID/cgroup says.
cgroup() { sed -n 's/^0:://p' "/proc/$1/cgroup"; }
"#;

/// What every scenario's image starts with: the shell helpers.
fn base(img: &mut Image) -> &mut Image {
    img.file("/lib/scenario.sh", LIB)
}

/// busybox init as process 1: mounts from `::sysinit:`, going respawned
/// from `::respawn:`, and the scenario's own `::once:` script.
fn busybox_inittab(once: &str) -> String {
    format!(
        "::sysinit:/bin/mount -t proc proc /proc\n\
         ::sysinit:/bin/mount -t sysfs sysfs /sys\n\
         ::sysinit:/bin/mount -t devtmpfs devtmpfs /dev\n\
         ::sysinit:/bin/mount -t tmpfs -o mode=0755 tmpfs /run\n\
         ::sysinit:/bin/mount -t cgroup2 cgroup2 /sys/fs/cgroup\n\
         ::respawn:/sbin/going\n\
         ::once:{once}\n"
    )
}

// ---------------------------------------------------------------------------
// going as /init: mounts, a boot task, order, power-off and reboot (§9, §10)

/// Prints what process 1 mounted (SPEC §10), then exits 0 (a task).
const APIS: &str = r#"#!/bin/sh
# mounted MOUNTPOINT FSTYPE: "ok" when /proc/mounts lists it, else "missing".
mounted() {
    if grep -q "^[^ ]* $1 $2 " /proc/mounts 2>/dev/null; then echo ok; else echo missing; fi
}
proc=missing; [ -r /proc/self/stat ] && proc=$(mounted /proc proc)
sys=missing; [ -d /sys/kernel ] && sys=$(mounted /sys sysfs)
dev=missing; [ -c /dev/null ] && dev=$(mounted /dev devtmpfs)
run=missing; [ "$(stat -c %a /run)" = 755 ] && run=$(mounted /run tmpfs)
cgroup=$(mounted /sys/fs/cgroup cgroup2)
echo "MARK apis proc=$proc sys=$sys dev=$dev run=$run cgroup2=$cgroup"
"#;

/// A daemon that needs the mount task's tmpfs, signals readiness on fd 3
/// and says when it is stopped.
const WEB: &str = r#"#!/bin/sh
trap 'echo MARK web stopped; exit 0' TERM
if [ "$(cat /mnt/stamp 2>/dev/null)" = mounted ]; then
    echo "MARK web sees the mount"
else
    echo "MARK web runs without the mount"
fi
echo >&3
exec 3>&-
while :; do sleep 1; done
"#;

/// The image of the two `going as /init` boots; `verb` is `poweroff` or
/// `reboot`.
fn going_init_image(img: &mut Image, verb: &str) {
    base(img).going_as_init();
    img.service(
        "mount",
        "ready=exit\n\
         cmd=/bin/sh -c 'mount -t tmpfs -o size=1m scratch /mnt && echo mounted >/mnt/stamp && echo MARK mount done'\n",
    );
    img.exe("/etc/apis.sh", APIS).service("apis", "ready=exit\nafter=mount\ncmd=/etc/apis.sh\n");
    img.exe("/etc/web.sh", WEB).service("web", "ready=fd:3\nafter=mount\ncmd=/etc/web.sh\n");
    img.service(
        "zz-last",
        &format!("ready=exit\nafter=web apis\ncmd=/bin/sh -c 'echo MARK asking for {verb}; exec /sbin/going {verb}'\n"),
    );
}

/// What both `going as /init` boots show: the mounts, the task before the
/// services that are `after` it, an orderly stop, then `last`.
fn expect_going_init(b: &Boot, verb: &str, last: &str) {
    b.expect("MARK apis proc=ok sys=ok dev=ok run=ok cgroup2=ok");
    b.expect_order(&["MARK mount done", "MARK apis "]);
    b.expect_order(&[
        "MARK mount done",
        "MARK web sees the mount",
        &format!("MARK asking for {verb}"),
        "MARK web stopped",
        last,
    ]);
    b.expect_not("MARK web runs without the mount");
    b.expect_no_panic();
}

fn going_init_poweroff(arch: Arch) {
    let Some(b) = Run::new("going_init_poweroff", arch).boot(|img| going_init_image(img, "poweroff")) else { return };
    expect_going_init(&b, "poweroff", POWER_DOWN);
}

fn going_init_reboot(arch: Arch) {
    let Some(b) = Run::new("going_init_reboot", arch).boot(|img| going_init_image(img, "reboot")) else { return };
    expect_going_init(&b, "reboot", RESTARTING);
}

// ---------------------------------------------------------------------------
// busybox init starts going from inittab; going is SIGKILLed and respawned

/// The `::once:` script: waits for every service, SIGKILLs going, waits for
/// init's new going and new services, checks nothing ever ran twice, powers
/// off.
const RESPAWN_CHECK: &str = r#"#!/bin/sh
. /lib/scenario.sh
# Four service processes, one each: a, b, and fam with its child.
SERVICES="1001 1002 1003 1004"
twice=""
all_once() {
    for s in $SERVICES; do
        c=$(running "(/bin/)?sleep $s")
        [ "$c" -gt 1 ] && twice="$twice $s"
        [ "$c" = 1 ] || return 1
    done
}
pids() { ps -o pid,args | grep -E " (/bin/)?sleep 100[1-4]$" | awk '{print $1}' | tr '\n' ' '; }
fail() {
    echo "MARK respawn FAIL: $*"
    ps -o pid,ppid,args
    poweroff -f
}
within 80 all_once || fail "the services did not come up once each"
old_going=$(pidof going)
old=$(pids)
echo "MARK respawn: going $old_going runs services $old"
kill -KILL "$old_going"
new_going() { g=$(pidof going) && [ "$g" != "$old_going" ]; }
old_left() {
    for p in $old; do [ -d "/proc/$p" ] && return 0; done
    return 1
}
back() { new_going && all_once && ! old_left; }
within 80 back || fail "going and its services did not come back"
# And stay as they are for a second.
steady() { ! all_once || [ "$(pids)" != "$now" ]; }
now=$(pids)
within 10 steady && fail "the services changed after the respawn: $now -> $(pids)"
[ -n "$twice" ] && fail "services that ran twice at once:$twice"
echo "MARK respawn ok: going $old_going -> $(pidof going), services $old-> $now"
poweroff -f
"#;

fn busybox_init_respawns_going(arch: Arch) {
    let Some(b) = Run::new("busybox_init_respawns_going", arch).boot(|img| {
        base(img).busybox_init(&busybox_inittab("/etc/respawn-check"));
        img.exe("/etc/respawn-check", RESPAWN_CHECK);
        img.service("a", "cmd=/bin/sleep 1001\n");
        img.service("b", "cmd=/bin/sleep 1002\n");
        // A child in the service's process group (and cgroup) that has no
        // parent-death signal: the respawned going must end it.
        img.service("fam", "cmd=/bin/sh -c 'sleep 1004 & exec sleep 1003'\n");
    }) else {
        return;
    };
    b.expect("MARK respawn: going ");
    b.expect_not("MARK respawn FAIL");
    b.expect_order(&["MARK respawn: going ", "MARK respawn ok", POWER_DOWN]);
    b.expect_no_panic();
}

// ---------------------------------------------------------------------------
// a crashing service is restarted (§3), under busybox init

/// Exits 1 the first time; a marker file on /run (tmpfs) makes the second
/// run stay up.
const CRASH: &str = r#"#!/bin/sh
if [ -e /run/crashed-once ]; then
    echo "MARK crash: second run"
    echo $$ >/run/crash.pid
    exec sleep 1000
fi
: >/run/crashed-once
echo "MARK crash: first run exits 1"
exit 1
"#;

const CRASH_CHECK: &str = r#"#!/bin/sh
. /lib/scenario.sh
within 80 [ -s /run/crash.pid ] || { echo "MARK crash FAIL: no second run"; poweroff -f; }
read -r pid </run/crash.pid
echo "MARK crash check: watching run $pid for 2 s"
gone() { [ ! -d "/proc/$pid" ]; }
if within 20 gone; then
    echo "MARK crash FAIL: the second run ended"
else
    echo "MARK crash check: run $pid still up after 2 s"
fi
poweroff -f
"#;

fn crash_is_restarted(arch: Arch) {
    let Some(b) = Run::new("crash_is_restarted", arch).boot(|img| {
        base(img).busybox_init(&busybox_inittab("/etc/crash-check"));
        img.exe("/etc/crash.sh", CRASH).exe("/etc/crash-check", CRASH_CHECK);
        img.service("crash", "cmd=/etc/crash.sh\n");
    }) else {
        return;
    };
    b.expect_order(&["MARK crash: first run exits 1", "MARK crash: second run", "still up after 2 s", POWER_DOWN]);
    b.expect_not("MARK crash FAIL");
    let runs =
        (b.console.matches("MARK crash: first run").count(), b.console.matches("MARK crash: second run").count());
    assert_eq!(runs, (1, 1), "expected one failed run, then one that stayed up\n{}", b.context());
    b.expect_no_panic();
}

// ---------------------------------------------------------------------------
// busybox init's signals to going as process 1 (§10)

const WEB_UP: &str = r#"#!/bin/sh
trap 'echo MARK web stopped; exit 0' TERM
echo "MARK web up"
: >/run/web.up
while :; do sleep 1; done
"#;

/// Sends SIG$1 to process 1 once web is up.
const SEND: &str = r#"#!/bin/sh
. /lib/scenario.sh
within 100 [ -e /run/web.up ]
echo "MARK sending SIG$1 to process 1"
kill -"$1" 1
"#;

/// going as process 1 with `rdinit=/sbin/going` (the image has no
/// `/init`), a service, and a one-shot that signals process 1. Uses only
/// §10 (no readiness keys): the sender polls for web's file.
fn signal_scenario(test: &str, arch: Arch, sig: &str, last: &'static str) {
    let until = [last];
    let run = Run::new(test, arch).append("rdinit=/sbin/going");
    // Halting leaves qemu running: stop at the kernel's line.
    let run = if last == HALTED { run.until(&until) } else { run };
    let Some(b) = run.boot(|img| signal_image(img, sig)) else { return };
    expect_signal(&b, sig, last);
}

fn signal_image(img: &mut Image, sig: &str) {
    base(img);
    img.exe("/etc/web.sh", WEB_UP).exe("/etc/send.sh", SEND);
    img.service("web", "cmd=/etc/web.sh\n");
    img.service("send", &format!("restart=never\ncmd=/etc/send.sh {sig}\n"));
}

/// web was stopped before the kernel's `last` line.
fn expect_signal(b: &Boot, sig: &str, last: &str) {
    b.expect_order(&["MARK web up", &format!("MARK sending SIG{sig}"), "MARK web stopped", last]);
    b.expect_no_panic();
}

fn signal_usr2_powers_off(arch: Arch) {
    signal_scenario("signal_usr2_powers_off", arch, "USR2", POWER_DOWN);
}

fn signal_term_reboots(arch: Arch) {
    signal_scenario("signal_term_reboots", arch, "TERM", RESTARTING);
}

fn signal_usr1_halts(arch: Arch) {
    signal_scenario("signal_usr1_halts", arch, "USR1", HALTED);
}

// ---------------------------------------------------------------------------
// cgroup v2 limits (§11), going as /init

/// Forks eight sleeps; with pids_max=5 the fifth fork fails and ash gives up.
const FORKER: &str = r#"#!/bin/sh
for i in 1 2 3 4 5 6 7 8; do
    sleep 1000 &
    echo "MARK pids: child $i"
done
echo "MARK pids: all eight forked"
wait
"#;

/// Measures the busy service's share of a CPU over 3 s from its
/// /proc/PID/stat times, waits for the memory hog to be gone, prints
/// `going status -m`, and powers off.
const METER: &str = r#"#!/bin/sh
. /lib/scenario.sh
within 100 [ -s /run/busy.pid ] || echo "MARK meter FAIL: busy never started"
busy=$(cat /run/busy.pid)
cg=$(cgroup "$busy")
echo "MARK cpu: cgroup=$cg cpu.max=$(cat "/sys/fs/cgroup$cg/cpu.max" 2>/dev/null)"
# cpu_ticks PID: utime + stime, in clock ticks (1/100 s).
cpu_ticks() { set -- $(sed 's/^.*) //' "/proc/$1/stat"); echo $((${12} + ${13})); }
# now: /proc/uptime in 1/100 s.
now() { read -r up _ </proc/uptime; echo "${up%.*}${up#*.}"; }
c0=$(cpu_ticks "$busy"); t0=$(now)
sleep 3
c1=$(cpu_ticks "$busy"); t1=$(now)
echo "MARK cpu: percent=$(( (c1 - c0) * 100 / (t1 - t0) ))"
hog_gone() { [ -s /run/hog.pid ] && ! grep -q dd "/proc/$(cat /run/hog.pid)/cmdline" 2>/dev/null; }
within 100 hog_gone || echo "MARK meter FAIL: the memory hog still runs"
# pids_max=1: a restart has its one process reaped before it counts twice.
pid_of() { /sbin/going status -m "$1" | sed -n 's/.* pid=\([0-9]*\) .*/\1/p'; }
one=$(pid_of one)
/sbin/going restart one
moved() { p=$(pid_of one); [ -n "$p" ] && [ "$p" != 0 ] && [ "$p" != "$one" ]; }
within 20 moved && echo "MARK one: restarted within 2s" || echo "MARK meter FAIL: one not restarted"
/sbin/going status -m | sed 's/^/MARK status: /'
echo "MARK meter done"
exec /sbin/going poweroff
"#;

/// Five services with limits (and a meter without) under going as /init.
fn cgroup_image(img: &mut Image) {
    base(img).going_as_init();
    // dd's 64 MiB buffer is filled by read(2) from /dev/zero: all of it
    // is charged to the cgroup, and memory.max stops it at 16 MiB.
    img.service(
        "hog",
        "memory_max=16M\nrestart=never\n\
         cmd=/bin/sh -c 'echo $$ >/run/hog.pid; exec dd if=/dev/zero of=/dev/null bs=64M count=1'\n",
    );
    img.exe("/etc/forker.sh", FORKER).service("forker", "pids_max=5\nrestart=never\ncmd=/etc/forker.sh\n");
    img.service("busy", "cpu_max=20%\ncmd=/bin/sh -c 'echo $$ >/run/busy.pid; while :; do :; done'\n");
    img.service("mem", "memory_max=32M\ncmd=/bin/sleep 1000\n");
    img.service("one", "pids_max=1\ncmd=/bin/sleep 1000\n");
    img.exe("/etc/meter.sh", METER).service("meter", "restart=never\ncmd=/etc/meter.sh\n");
}

fn cgroup_limits(arch: Arch) {
    let Some(b) = Run::new("cgroup_limits", arch).limit(45).boot(cgroup_image) else {
        return;
    };
    expect_cgroup_limits(&b);
}

/// What `cgroup_image` shows when going applies §11.
fn expect_cgroup_limits(b: &Boot) {
    b.expect_not("MARK meter FAIL");
    // memory_max: dd is killed, and going says why.
    let oom = b.console.lines().any(|l| l.contains("hog") && l.contains("killed by the memory limit"));
    assert!(oom, "no line says hog was \"killed by the memory limit\"\n{}", b.context());
    // pids_max=5: the shell and four children; the fifth fork fails.
    b.expect("MARK pids: child 4");
    b.expect_not("MARK pids: child 5");
    b.expect_not("MARK pids: all eight forked");
    // pids_max=1: restarted at once, its start never refused.
    b.expect("MARK one: restarted within 2s");
    b.expect_not("one: cannot fork");
    // cpu_max=20%: its own cgroup named after it, the quota, and the share.
    let line = b.line("MARK cpu: cgroup=").unwrap_or_else(|| panic!("no cgroup line\n{}", b.context()));
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert!(line.contains("/busy "), "busy is not in a cgroup named after it: {line}\n{}", b.context());
    let max: Vec<u64> =
        line.split("cpu.max=").nth(1).unwrap_or("").split_whitespace().filter_map(|n| n.parse().ok()).collect();
    assert!(max.len() == 2 && max[0] * 100 == max[1] * 20, "cpu.max is not 20% of a CPU: {fields:?}\n{}", b.context());
    let percent = b.number("MARK cpu: percent=", "percent=");
    eprintln!("cgroup_limits [{}]: busy loop under cpu_max=20% used {percent}% of a CPU", b.arch.name());
    assert!((10..=35).contains(&percent), "busy used {percent}% of a CPU, not about 20%\n{}", b.context());
    // status -m: the memory figures, for a service with a memory limit.
    let mem = b.console.lines().find(|l| l.starts_with("MARK status: ") && l.contains("name=mem "));
    let mem = mem.unwrap_or_else(|| panic!("no status -m row for mem\n{}", b.context()));
    assert!(mem.contains("memory_peak=") && mem.contains("oom_kills="), "status -m row: {mem}\n{}", b.context());
    b.expect_order(&["MARK meter done", POWER_DOWN]);
    b.expect_no_panic();
}

// ---------------------------------------------------------------------------
// footprint (§8): the table full, 256 services, as process 1 and under
// busybox init

/// One of the 256 services: waits for the other 255, prints going's memory,
/// then sleeps like them. $1 is going's pid, or empty to look it up by
/// name. VmPeak comes from /proc/PID/status; the resident size from
/// smaps_rollup, which walks the page tables: 6.1's VmRSS lags behind
/// (its per-task counters are folded in only every 64 page faults, so a
/// process as quiet as going shows a few kB).
const REPORT: &str = r#"#!/bin/sh
. /lib/scenario.sh
all() { [ "$(running '/bin/sleep 1000')" -ge 255 ]; }
within 400 all || echo "MARK footprint FAIL: only $(running '/bin/sleep 1000') services run"
g=${1:-$(pidof going)}
echo "MARK footprint: going (pid $g, $(readlink /proc/$g/exe)) with $(running '/bin/sleep 1000') sleeping services," \
    $(awk '/^VmPeak:/ { printf "%s %s kB ", $1, $2 }' /proc/$g/status) \
    $(awk '/^(Rss|Pss):/ { printf "%s %s kB ", $1, $2 }' /proc/$g/smaps_rollup)
exec sleep 1000
"#;

/// 255 sleep services and the report; `going_pid` as REPORT's $1.
fn footprint_image(img: &mut Image, going_pid: &str) {
    for i in 1..=255 {
        img.service(&format!("s{i:03}"), "cmd=/bin/sleep 1000\n");
    }
    img.exe("/etc/report.sh", REPORT).service("report", &format!("cmd=/etc/report.sh {going_pid}\n"));
}

/// Checks the report and prints the figures (`--nocapture`).
fn expect_footprint(b: &Boot, who: &str, expected: &str) {
    b.expect_not("MARK footprint FAIL");
    b.expect(expected);
    let peak = b.number("MARK footprint", "VmPeak:");
    let rss = b.number("MARK footprint", "Rss:");
    let pss = b.number("MARK footprint", "Pss:");
    println!("footprint [{}]: going {who}, 256 services: VmPeak {peak} kB, Rss {rss} kB, Pss {pss} kB", b.arch.name());
    assert!(peak < 1024, "VmPeak {peak} kB is not under 1024 kB\n{}", b.context());
    b.expect_no_panic();
    // The figures size-report.sh shows for this architecture (the VM is
    // where an emulated going's own memory can be read).
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/vm");
    let _ = std::fs::create_dir_all(&dir);
    let text = format!(
        "vmpeak_kb={peak}\nvmrss_kb={rss}\npss_kb={pss}\nservices=256\ncapacity=256\nkernel=Debian cloud 6.1 in qemu\nmeasured={who}\n"
    );
    let _ = std::fs::write(dir.join(format!("footprint-{}", b.arch.name())), text);
}

fn footprint_256_services(arch: Arch) {
    let mark = ["MARK footprint"];
    let Some(b) = Run::new("footprint_256_services", arch).until(&mark).limit(60).boot(|img| {
        base(img).going_as_init();
        footprint_image(img, "1");
    }) else {
        return;
    };
    expect_footprint(&b, "as process 1", "MARK footprint: going (pid 1, /sbin/going) with 255 sleeping services");
}

fn footprint_256_services_under_busybox_init(arch: Arch) {
    let mark = ["MARK footprint"];
    let Some(b) = Run::new("footprint_256_services_under_busybox_init", arch).until(&mark).limit(60).boot(|img| {
        base(img).busybox_init(&busybox_inittab("/bin/true"));
        footprint_image(img, "");
    }) else {
        return;
    };
    b.expect(", /sbin/going) with 255 sleeping services");
    expect_footprint(&b, "under busybox init", "MARK footprint: going (pid ");
}

// ---------------------------------------------------------------------------
// examples/initramfs: the system `make vm` boots

/// `examples/initramfs` on top of the base image, with going as /init: each
/// top-level directory of it (not its README) becomes the same path inside.
fn example_image(img: &mut Image) {
    base(img).going_as_init();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/initramfs");
    for e in std::fs::read_dir(&example).expect("examples/initramfs").flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            let at = format!("/{}", e.file_name().to_string_lossy());
            img.tree(&e.path(), &at).expect("cannot read examples/initramfs");
        }
    }
}

/// Added to the example for the test only: once the network and httpd are
/// there, fetch the page, show `going status`, power off.
const EXAMPLE_CHECK: &str = r#"#!/bin/sh
. /lib/scenario.sh
page() { wget -qO- http://127.0.0.1/ 2>/dev/null | grep -q "Served by busybox httpd"; }
if within 100 page; then echo "MARK example: httpd serves the page"; else echo "MARK example FAIL: no page"; fi
echo "MARK example: lo is $(cat /sys/class/net/lo/operstate), host name $(hostname)"
grep -q " /tmp tmpfs " /proc/mounts && echo "MARK example: /tmp is a tmpfs"
/sbin/going status -m | sed 's/^/MARK status: /'
exec /sbin/going poweroff
"#;

fn example_initramfs_boots(arch: Arch) {
    let Some(b) = Run::new("example_initramfs_boots", arch).boot(|img| {
        example_image(img);
        img.exe("/etc/example-check.sh", EXAMPLE_CHECK);
        img.service("zz-check", "ready=exit\nafter=httpd\ncmd=/etc/example-check.sh\n");
    }) else {
        return;
    };
    b.expect_not("MARK example FAIL");
    b.expect("MARK example: httpd serves the page");
    // `lo` up: the kernel says "unknown" for loopback's operstate once up.
    b.expect("MARK example: lo is unknown, host name going-vm");
    b.expect("MARK example: /tmp is a tmpfs");
    for name in ["mount", "network", "syslogd", "httpd", "shell"] {
        let row = b.console.lines().find(|l| l.starts_with("MARK status: ") && l.contains(&format!("name={name} ")));
        assert!(row.is_some(), "no status row for {name}\n{}", b.context());
    }
    b.expect_order(&["MARK example: httpd serves the page", POWER_DOWN]);
    b.expect_no_panic();
}

/// `make vm`: boots examples/initramfs with qemu's console on this
/// terminal (`GOING_VM_ARCH=aarch64` for the Arm one). Ignored by `cargo
/// test`; `make vm` runs it with `GOING_VM_INTERACTIVE=1`.
#[test]
#[ignore = "interactive: make vm"]
fn vm_interactive() {
    if std::env::var_os("GOING_VM_INTERACTIVE").is_none_or(|v| v != "1") {
        eprintln!("vm_interactive: run by `make vm` (GOING_VM_INTERACTIVE=1), not on its own");
        return;
    }
    let arch = match std::env::var("GOING_VM_ARCH").as_deref() {
        Ok("aarch64") => Arch::Aarch64,
        Ok("x86_64") | Err(_) => Arch::X86_64,
        Ok(other) => panic!("GOING_VM_ARCH={other}: x86_64 or aarch64"),
    };
    let tools = vm::find_tools(arch).unwrap_or_else(|why| panic!("make vm: {why}"));
    let mut img = Image::new(&tools).expect("cannot read busybox or going");
    example_image(&mut img);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/vm");
    std::fs::create_dir_all(&dir).unwrap();
    let initrd = dir.join(format!("initramfs-{}.cpio", arch.name()));
    img.save(&initrd).expect("cannot write the initramfs");
    let mut qemu = vm::qemu_command(&tools, &initrd, "");
    eprintln!(
        "make vm: {}\nmake vm: {qemu:?}\nmake vm: Ctrl-A X quits qemu; `going poweroff` shuts down",
        initrd.display()
    );
    let st = qemu.status().expect("cannot start qemu");
    assert!(st.success(), "qemu: {st}");
}
