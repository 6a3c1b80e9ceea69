//! SPEC §3 and §9 for starts in a burst (a boot, a reload, several
//! services dying at once): after the first start of a wake-up, going
//! goes on with the next one while the kernel makes the child and runs
//! it up to its exec. Whatever overlaps, each service gets what its file
//! says: its failures are logged with their reason, its user and groups
//! are its own, its kept network namespace is its own, and an `after=`
//! chain waits for each exec.

mod common;
mod extra;
use common::*;
use extra::*;

#[test]
fn in_a_burst_each_failing_exec_is_logged_and_the_rest_run() {
    let t = Tmp::new("burst_fail");
    let n = 48;
    for k in 0..n {
        if k % 4 == 1 {
            t.write(&format!("bad{k}"), &format!("cmd=/nonexistent-going-burst/prog{k}\n"));
        } else {
            t.write(&format!("ok{k}"), &format!("cmd=/bin/sleep {}\n", 1000 + k));
        }
    }
    let g = Going::start(&t);
    for k in 0..n {
        if k % 4 == 1 {
            g.expect_log(&format!(
                "going: bad{k}: cannot exec /nonexistent-going-burst/prog{k}: No such file or directory"
            ));
        } else {
            let pid = g.expect_started(&format!("ok{k}"), 1);
            expect_cmdline(pid, &["/bin/sleep", &(1000 + k).to_string()]);
        }
    }
    // No report went to another service, and none was read as a success.
    let log = g.log();
    for k in 0..n {
        let wrong = format!("going: ok{k}: cannot exec");
        assert!(!log.contains(&wrong), "{wrong}\n{log}");
    }
    wait_socket(&t);
    for k in (0..n).filter(|k| k % 4 != 1) {
        assert_eq!(
            expect_state(&t, &format!("ok{k}"), "up").num("pid"),
            u64::from(g.pid_of(&format!("ok{k}")).unwrap())
        );
    }
}

#[test]
fn in_a_burst_each_service_runs_as_its_own_user_and_groups() {
    let test = "in_a_burst_each_service_runs_as_its_own_user_and_groups";
    if !is_root() {
        return skip(test, "not root: cannot change uid");
    }
    let t = Tmp::new("burst_user");
    let base = free_uid();
    let n = 24u32;
    for k in 0..n {
        let body = match k % 3 {
            0 => format!("cmd=/bin/sleep {}\nuser={}\n", 1000 + k, base + k),
            1 => format!("cmd=/bin/sleep {}\nuser={}\ngroup={}\n", 1000 + k, base + k, base + 100 + k),
            _ => format!("cmd=/bin/sleep {}\n", 1000 + k),
        };
        t.write(&format!("s{k}"), &body);
    }
    let g = Going::start(&t);
    for k in 0..n {
        let pid = g.expect_started(&format!("s{k}"), 1);
        // Before its exec a child still shows going's credentials.
        expect_cmdline(pid, &["/bin/sleep", &(1000 + k).to_string()]);
        let (uid, gid) = match k % 3 {
            0 => (base + k, base + k),
            1 => (base + k, base + 100 + k),
            _ => (0, 0),
        };
        ids_are(pid, "Uid", uid);
        ids_are(pid, "Gid", gid);
        // A uid without a password entry has no supplementary groups
        // (going(5)); going's own, root's, are not kept.
        if k % 3 != 2 {
            assert_eq!(status_field(pid, "Groups"), "", "s{k}");
        }
    }
}

#[test]
fn in_a_burst_each_private_network_is_kept_for_its_own_service() {
    let test = "in_a_burst_each_private_network_is_kept_for_its_own_service";
    if !is_root() {
        return skip(test, "not root: cannot make a network namespace");
    }
    if emulated(test, "an emulated going clones as fork, so it cannot see the new namespace to keep") {
        return;
    }
    let t = Tmp::new("burst_net");
    // As many as keep theirs (going(5): up to 8).
    let n = 8u32;
    for k in 0..n {
        t.write(&format!("n{k}"), &format!("cmd=/bin/sleep {}\nprivate_network=yes\n", 1000 + k));
    }
    let g = Going::start(&t);
    let ns = |pid: u32| readlink(&format!("/proc/{pid}/ns/net"));
    let argv = |k: u32| ["/bin/sleep".to_string(), (1000 + k).to_string()];
    let mut first = Vec::new();
    for k in 0..n {
        let pid = g.expect_started(&format!("n{k}"), 1);
        let a = argv(k);
        expect_cmdline(pid, &[&a[0], &a[1]]);
        first.push((pid, ns(pid)));
    }
    let mut seen: Vec<&String> = first.iter().map(|(_, n)| n).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), n as usize, "services share a namespace: {first:?}");
    // Past the 5 s after which a killed service is respawned at once, all
    // die together: their respawns are one burst.
    std::thread::sleep(std::time::Duration::from_millis(5500));
    for (pid, _) in &first {
        signal(*pid, "KILL");
    }
    for k in 0..n {
        let pid = g.expect_started(&format!("n{k}"), 2);
        let a = argv(k);
        expect_cmdline(pid, &[&a[0], &a[1]]);
        assert_eq!(ns(pid), first[k as usize].1, "n{k} did not join the namespace kept for it");
    }
}

#[test]
fn an_after_chain_in_a_burst_waits_for_each_exec() {
    // c0 <- c1 <- ... <- c7, started from one scan: each is ready when its
    // program runs (ready=start), and c3's never does, so c4 to c7 wait.
    let t = Tmp::new("burst_chain");
    for k in 0..8 {
        let cmd = if k == 3 { "/nonexistent-going-chain/c3".to_string() } else { format!("/bin/sleep {}", 1000 + k) };
        let after = if k == 0 { String::new() } else { format!("after=c{}\n", k - 1) };
        t.write(&format!("c{k}"), &format!("cmd={cmd}\n{after}"));
    }
    let g = Going::start(&t);
    for k in 0..3 {
        g.expect_started(&format!("c{k}"), 1);
    }
    g.expect_log("going: c3: cannot exec /nonexistent-going-chain/c3: No such file or directory");
    // The order of the lines: each started after the one it comes after.
    let log = g.log();
    let at = |k: usize| log.find(&format!("going: c{k}: started, pid ")).unwrap();
    assert!(at(0) < at(1) && at(1) < at(2), "{log}");
    // c3 is tried again after its backoff; c4 to c7 never start meanwhile.
    assert!(wait_until(T, || g.count_log("going: c3: cannot exec") >= 2), "{}", g.log());
    for k in 4..8 {
        assert_eq!(g.starts(&format!("c{k}")), 0, "c{k} started after a failed exec:\n{}", g.log());
    }
    // Once c3's file is fixed the rest of the chain comes up, in order.
    t.write("c3", "cmd=/bin/sleep 1003\nafter=c2\n");
    for k in 3..8 {
        g.expect_started(&format!("c{k}"), 1);
    }
    let log = g.log();
    let at = |k: usize| log.find(&format!("going: c{k}: started, pid ")).unwrap();
    assert!((3..7).all(|k| at(k) < at(k + 1)), "{log}");
}
