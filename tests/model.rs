//! The model-based test of issue 11: random, seeded, reproducible bursts of
//! what admins, editors and package managers do to a config directory and
//! to the services (create, delete, rename away and back, rewrite in place,
//! replace by rename, an editor's backup rename, `rm f; cp f.bak f`, an
//! invalid version, SIGHUP, `going stop/start/restart`, `kill -9` of a
//! service), each burst followed by a quiet period after which what runs
//! must be what the files say (SPEC §2–§5, §14):
//!
//! - a valid file, its service not stopped by hand: exactly one process,
//!   running the file's latest version;
//! - stopped by hand (`going stop`): nothing, until `going start`,
//!   `going restart` or a new version of its file;
//! - an invalid file: whatever its last valid version was (if the service
//!   still exists), else nothing, `failed`;
//! - no file: nothing, and `going status` does not list it;
//! - nothing else runs.
//!
//! The model never asks for what SPEC leaves to timing: a stopped service
//! whose file vanished and came back unchanged may be down or up (going
//! may or may not have seen the gap); an invalid version is written only
//! to a file going has already read, and nothing else touches that service
//! until the next quiet period.
//!
//! `GOING_MODEL_SEED` picks the seed (printed on failure), `GOING_MODEL_STEPS`
//! the number of operations (default 250; `make soak` runs thousands);
//! `GOING_MODEL_WITHOUT=Delete,Stop` leaves operations out, to narrow a
//! failure down; `GOING_MODEL_SCRIPT="Create m1; quiet; RemoveAndCopyBack m1"`
//! runs a given sequence instead (`quiet` ends a burst; the script ends
//! with one); `GOING_BIN` runs another build of going as the supervisor.

mod common;
mod extra;
use common::*;
use extra::*;
use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

/// Service names the operations pick from.
const POOL: usize = 8;
/// How long the quiet period may take to settle: the slowest stop (1 s,
/// then SIGKILL) and a respawn, with room for a loaded machine.
const SETTLE: Duration = Duration::from_secs(15);
/// A settled state must stay so this long.
const STABLE: Duration = Duration::from_millis(250);

/// xorshift64*: small, seeded, the same sequence on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn env_u64(key: &str, default: u64) -> u64 {
    std::env::var(key).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

/// What a service file holds: a version of its config, valid or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Content {
    Valid(u32),
    Invalid(u32),
}

/// Every fourth version ignores SIGTERM, so that its stops last 1 s and
/// later operations land while it stops.
fn slow(v: u32) -> bool {
    v.is_multiple_of(4)
}

/// The file's text. The process runs `/bin/sleep 100000 IDX VERSION`
/// (sleep adds its arguments), so /proc tells which name and version.
fn text(idx: usize, c: Content) -> String {
    match c {
        Content::Valid(v) if slow(v) => {
            format!("cmd=/bin/sh -c \"trap '' TERM; exec /bin/sleep 100000 {idx} {v}\"\nstop_timeout=1\n")
        }
        Content::Valid(v) => format!("cmd=/bin/sleep 100000 {idx} {v}\n"),
        Content::Invalid(v) => format!("cmd=/bin/sleep 100000 {idx} {v}\nno_such_key={v}\n"),
    }
}

/// What one name must look like after a quiet period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// No process, no status row.
    Gone,
    /// No process; a status row in one of these states.
    Idle(&'static [&'static str]),
    /// Exactly one process, of this version; status `up` with its pid.
    Run(u32),
    /// Either `Idle(["down"])` or `Run(v)`.
    DownOrRun(u32),
}

/// The model of one name.
#[derive(Clone, Copy, Debug, Default)]
struct Name {
    file: Option<Content>,
    /// The valid version going's entry for this name holds (what an
    /// invalid file keeps), `None` when there is no entry or it was never
    /// valid.
    kept: Option<u32>,
    /// Stopped by hand.
    held: bool,
    /// A file operation touched it in this burst.
    dirty: bool,
    /// Its file vanished and came back unchanged while it was held down.
    gap_while_held: bool,
    /// An invalid version was written in this burst: left alone until
    /// the next quiet period.
    frozen: bool,
}

impl Name {
    fn expect(&self) -> Expect {
        match self.file {
            None => Expect::Gone,
            Some(Content::Valid(v)) if !self.held => Expect::Run(v),
            Some(Content::Valid(v)) if self.gap_while_held => Expect::DownOrRun(v),
            Some(Content::Valid(_)) => Expect::Idle(&["down"]),
            Some(Content::Invalid(_)) => match self.kept {
                None => Expect::Idle(&["failed"]),
                Some(_) if self.held => Expect::Idle(&["down", "failed"]),
                Some(v) => Expect::Run(v),
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// A new file (absent before), written in place.
    Create,
    /// A new file, written under an ignored name and renamed into place.
    CreateByRename,
    Delete,
    /// `mv f .f.away; mv .f.away f`.
    RenameAwayAndBack,
    /// A new valid version, written in place (truncate, write, close).
    Rewrite,
    /// A new valid version, renamed over the file.
    ReplaceByRename,
    /// `mv f f~`, the new version written as f, `rm f~`.
    EditorSave,
    /// `cp f f.bak; rm f; cp f.bak f; rm f.bak`.
    RemoveAndCopyBack,
    /// An invalid version, written in place.
    WriteInvalid,
    Sighup,
    Stop,
    Start,
    Restart,
    /// `kill -9` of the service's process (one that ran over 5 s, so it
    /// is respawned without backoff).
    Kill,
    /// 0 to 200 ms.
    Pause,
}

/// Which operations make sense for a name now, with their weights, less
/// those `GOING_MODEL_WITHOUT` (comma-separated `Op` names) leaves out.
fn choices(n: &Name, without: &[String]) -> Vec<(Op, u32)> {
    let mut v = possible(n);
    v.retain(|(op, _)| !without.iter().any(|w| *w == format!("{op:?}")));
    v
}

fn possible(n: &Name) -> Vec<(Op, u32)> {
    let mut v = Vec::new();
    if n.frozen {
        return v;
    }
    let clean = !n.dirty;
    match n.file {
        None => {
            v.extend([(Op::Create, 8), (Op::CreateByRename, 8)]);
            if clean {
                v.push((Op::WriteInvalid, 2));
            }
        }
        Some(Content::Valid(_)) => {
            v.extend([
                (Op::Delete, 6),
                (Op::RenameAwayAndBack, 6),
                (Op::Rewrite, 8),
                (Op::ReplaceByRename, 8),
                (Op::EditorSave, 6),
                (Op::RemoveAndCopyBack, 6),
            ]);
            if clean {
                v.extend([(Op::WriteInvalid, 3), (Op::Stop, 5), (Op::Start, 3), (Op::Restart, 4), (Op::Kill, 3)]);
            }
        }
        Some(Content::Invalid(_)) => {
            v.extend([(Op::Delete, 4), (Op::Rewrite, 4), (Op::ReplaceByRename, 4), (Op::EditorSave, 3)]);
        }
    }
    v.extend([(Op::Sighup, 2), (Op::Pause, 3)]);
    v
}

const ALL_OPS: [Op; 15] = [
    Op::Create,
    Op::CreateByRename,
    Op::Delete,
    Op::RenameAwayAndBack,
    Op::Rewrite,
    Op::ReplaceByRename,
    Op::EditorSave,
    Op::RemoveAndCopyBack,
    Op::WriteInvalid,
    Op::Sighup,
    Op::Stop,
    Op::Start,
    Op::Restart,
    Op::Kill,
    Op::Pause,
];

/// One step of a `GOING_MODEL_SCRIPT`: `quiet`, `Sighup`, `Pause`, or
/// `OP mN` (`Create m1`, `RemoveAndCopyBack m1`...), with `slow` or
/// `fast` after a step that writes a version to choose how it stops.
enum Step {
    Quiet,
    Do(Op, usize, Option<bool>),
}

fn parse_step(s: &str) -> Step {
    let mut words = s.split_whitespace();
    let op = words.next().unwrap_or("");
    if op.eq_ignore_ascii_case("quiet") {
        return Step::Quiet;
    }
    let op = ALL_OPS
        .into_iter()
        .find(|o| format!("{o:?}").eq_ignore_ascii_case(op))
        .unwrap_or_else(|| panic!("GOING_MODEL_SCRIPT: unknown operation {op:?} (one of {ALL_OPS:?}, or quiet)"));
    let idx = words.next().and_then(|w| w.strip_prefix('m')?.parse().ok()).filter(|&i| i < POOL).unwrap_or(0);
    let slow = match words.next() {
        Some("slow") => Some(true),
        Some("fast") => Some(false),
        _ => None,
    };
    Step::Do(op, idx, slow)
}

fn pick(rng: &mut Rng, ops: &[(Op, u32)]) -> Op {
    let total: u32 = ops.iter().map(|o| o.1).sum();
    let mut r = rng.below(total as usize) as u32;
    for &(op, w) in ops {
        if r < w {
            return op;
        }
        r -= w;
    }
    ops[0].0
}

/// What going shows for one name.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Seen {
    /// (state, pid) of its status row.
    row: Option<(String, u32)>,
    /// Its live processes: (pid, version).
    procs: Vec<(u32, u32)>,
}

/// Everything going shows: per name, and processes that belong to none.
struct World {
    names: Vec<Seen>,
    strays: Vec<(u32, Vec<String>)>,
    rows_elsewhere: Vec<String>,
    status: String,
}

fn observe(t: &Tmp, g: &Going) -> World {
    let out = client(t, "status", &["-m"]);
    let mut names: Vec<Seen> = (0..POOL).map(|_| Seen { row: None, procs: Vec::new() }).collect();
    let mut rows_elsewhere = Vec::new();
    for r in out.stdout.lines().filter(|l| l.starts_with("name=")).map(Row::parse) {
        let idx = r.get("name").strip_prefix('m').and_then(|i| i.parse::<usize>().ok()).filter(|&i| i < POOL);
        match idx {
            Some(i) => names[i].row = Some((r.get("state").to_string(), r.get("pid").parse().unwrap_or(0))),
            None => rows_elsewhere.push(r.get("name").to_string()),
        }
    }
    let mut strays = Vec::new();
    for p in g.children().into_iter().filter(|&p| alive(p)) {
        let argv = cmdline(p);
        let nums: Vec<u32> = argv.iter().skip(1).filter_map(|a| a.parse().ok()).collect();
        match (argv.first().map(String::as_str), nums.as_slice()) {
            (Some("/bin/sleep"), [100000, i, v]) if (*i as usize) < POOL && argv.len() == 4 => {
                names[*i as usize].procs.push((p, *v))
            }
            _ => strays.push((p, argv)),
        }
    }
    World { names, strays, rows_elsewhere, status: out.stdout }
}

/// Whether one name looks as expected.
fn fits(e: Expect, s: &Seen) -> bool {
    let idle =
        |states: &[&str]| s.procs.is_empty() && s.row.as_ref().is_some_and(|(st, _)| states.contains(&st.as_str()));
    let runs = |v: u32| {
        s.procs.len() == 1
            && s.procs[0].1 == v
            && s.row.as_ref().is_some_and(|(st, pid)| st == "up" && *pid == s.procs[0].0)
    };
    match e {
        Expect::Gone => s.procs.is_empty() && s.row.is_none(),
        Expect::Idle(states) => idle(states),
        Expect::Run(v) => runs(v),
        Expect::DownOrRun(v) => idle(&["down"]) || runs(v),
    }
}

fn fits_all(model: &[Name], w: &World) -> bool {
    w.strays.is_empty() && w.rows_elsewhere.is_empty() && model.iter().zip(&w.names).all(|(m, s)| fits(m.expect(), s))
}

/// The test's side: the directory, going, the model and the trace.
struct Run {
    t: Tmp,
    g: Going,
    seed: u64,
    model: Vec<Name>,
    next_version: u32,
    trace: Vec<String>,
    without: Vec<String>,
    /// A script's choice of how the next version stops.
    want_slow: Option<bool>,
}

impl Run {
    fn path(&self, idx: usize) -> PathBuf {
        self.t.conf().join(format!("m{idx}"))
    }

    fn aside(&self, idx: usize, suffix: &str) -> PathBuf {
        self.t.conf().join(format!("m{idx}{suffix}"))
    }

    fn hidden(&self, idx: usize, what: &str) -> PathBuf {
        self.t.conf().join(format!(".m{idx}.{what}"))
    }

    fn new_version(&mut self) -> u32 {
        self.next_version += 1;
        if let Some(want) = self.want_slow.take() {
            while slow(self.next_version) != want {
                self.next_version += 1;
            }
        }
        self.next_version
    }

    /// Writes in place: open with O_TRUNC, one write, close.
    fn write_in_place(&self, idx: usize, c: Content) {
        let mut f = fs::File::create(self.path(idx)).unwrap();
        f.write_all(text(idx, c).as_bytes()).unwrap();
    }

    fn write_by_rename(&self, idx: usize, c: Content) {
        let tmp = self.hidden(idx, "tmp");
        fs::write(&tmp, text(idx, c)).unwrap();
        fs::rename(&tmp, self.path(idx)).unwrap();
    }

    /// A client request that must succeed.
    fn ask(&mut self, verb: &str, idx: usize) {
        let name = format!("m{idx}");
        let out = client(&self.t, verb, &[&name]);
        if out.code != 0 {
            self.fail(&format!("`going {verb} {name}` failed: {out:?}"), None);
        }
    }

    /// Applies one operation to going's world and to the model.
    fn apply(&mut self, rng: &mut Rng, idx: usize, op: Op) {
        let before = self.model[idx].expect();
        let mut what = format!("{op:?} m{idx}");
        if !matches!(op, Op::Sighup | Op::Pause | Op::Stop | Op::Start | Op::Restart | Op::Kill) {
            self.model[idx].dirty = true;
        }
        match op {
            Op::Create | Op::CreateByRename | Op::Rewrite | Op::ReplaceByRename | Op::EditorSave => {
                let v = self.new_version();
                what += &format!(" v{v}{}", if slow(v) { " (slow stop)" } else { "" });
                let c = Content::Valid(v);
                match op {
                    Op::Create | Op::Rewrite => self.write_in_place(idx, c),
                    Op::EditorSave => {
                        fs::rename(self.path(idx), self.aside(idx, "~")).unwrap();
                        self.write_in_place(idx, c);
                        fs::remove_file(self.aside(idx, "~")).unwrap();
                    }
                    _ => self.write_by_rename(idx, c),
                }
                let n = &mut self.model[idx];
                n.file = Some(c);
                n.kept = Some(v);
                n.held = false;
                n.gap_while_held = false;
            }
            Op::Delete => {
                fs::remove_file(self.path(idx)).unwrap();
                self.model[idx] = Name { dirty: true, ..Name::default() };
            }
            Op::RenameAwayAndBack => {
                let away = self.hidden(idx, "away");
                fs::rename(self.path(idx), &away).unwrap();
                fs::rename(&away, self.path(idx)).unwrap();
                let n = &mut self.model[idx];
                n.gap_while_held |= n.held;
            }
            Op::RemoveAndCopyBack => {
                let bak = self.aside(idx, ".bak");
                fs::copy(self.path(idx), &bak).unwrap();
                fs::remove_file(self.path(idx)).unwrap();
                fs::copy(&bak, self.path(idx)).unwrap();
                fs::remove_file(&bak).unwrap();
                let n = &mut self.model[idx];
                n.gap_while_held |= n.held;
            }
            Op::WriteInvalid => {
                let v = self.new_version();
                what += &format!(" v{v}");
                self.write_in_place(idx, Content::Invalid(v));
                let n = &mut self.model[idx];
                n.frozen = true;
                if n.file.is_none() {
                    n.kept = None;
                }
                n.file = Some(Content::Invalid(v));
            }
            Op::Sighup => {
                what = "SIGHUP".to_string();
                self.g.signal("HUP");
            }
            Op::Stop | Op::Start | Op::Restart => {
                self.model[idx].held = op == Op::Stop;
                let verb = format!("{op:?}").to_lowercase();
                self.ask(&verb, idx);
            }
            Op::Kill => match self.killable(idx) {
                Some(pid) => {
                    what += &format!(" (pid {pid})");
                    signal(pid, "KILL");
                }
                None => what += " (skipped: not up for 5 s)",
            },
            Op::Pause => {
                let ms = rng.below(200) as u64;
                what = format!("pause {ms}ms");
                thread::sleep(Duration::from_millis(ms));
            }
        }
        let after = self.model[idx].expect();
        if before != after {
            what += &format!("  => {after:?}");
        }
        self.trace.push(what);
    }

    /// The pid of NAME's process when it is up and has run over 5.5 s.
    fn killable(&self, idx: usize) -> Option<u32> {
        let row = row_of(&self.t, &format!("m{idx}"))?;
        let pid = u32::try_from(row.num("pid")).ok().filter(|&p| p > 0 && row.get("state") == "up")?;
        (process_age(pid)? > 5.5).then_some(pid)
    }

    /// One burst of 1 to 6 operations.
    fn burst(&mut self, rng: &mut Rng, budget: usize) -> usize {
        let len = 1 + rng.below(6).min(budget.saturating_sub(1));
        let mut done = 0;
        for _ in 0..len {
            let idx = rng.below(POOL);
            let ops = choices(&self.model[idx], &self.without);
            if ops.is_empty() {
                continue;
            }
            let op = pick(rng, &ops);
            self.apply(rng, idx, op);
            done += 1;
        }
        done.max(1)
    }

    /// Waits for the quiet state the model predicts; panics if it never
    /// comes or does not last.
    fn settle(&mut self, burst: usize) {
        let started = Instant::now();
        let mut last = None;
        let mut ok = wait_until(SETTLE, || {
            let w = observe(&self.t, &self.g);
            let fit = fits_all(&self.model, &w);
            last = Some(w);
            fit
        });
        if ok {
            // Stable: nothing pending changes it later.
            ok = !wait_until(STABLE, || {
                let w = observe(&self.t, &self.g);
                let fit = fits_all(&self.model, &w);
                last = Some(w);
                !fit
            });
        }
        if !ok {
            let why = if started.elapsed() >= SETTLE { "never settled" } else { "settled, then changed" };
            self.fail(&format!("after burst {burst}: {why}"), last.as_ref());
        }
        // Take the branch going took where both were allowed.
        for (n, s) in self.model.iter_mut().zip(&last.unwrap().names) {
            if let Expect::DownOrRun(_) = n.expect() {
                n.held = s.procs.is_empty();
            }
            n.dirty = false;
            n.frozen = false;
            n.gap_while_held = false;
        }
        self.trace.push(format!("-- quiet: burst {burst} settled"));
    }

    fn fail(&self, why: &str, w: Option<&World>) -> ! {
        let mut report = format!("model test failed, GOING_MODEL_SEED={} — {why}\n", self.seed);
        report += "steps:\n";
        for s in &self.trace {
            report += &format!("  {s}\n");
        }
        if let Some(w) = w {
            report += "expected vs seen:\n";
            for (i, (m, s)) in self.model.iter().zip(&w.names).enumerate() {
                let mark = if fits(m.expect(), s) { " " } else { "*" };
                report += &format!("{mark} m{i}: expected {:?}, seen {:?} (file {:?})\n", m.expect(), s, m.file);
            }
            report += &format!("processes of no name: {:?}\n", w.strays);
            report += &format!("status rows of no name: {:?}\n", w.rows_elsewhere);
            report += &format!("status -m:\n{}", w.status);
        }
        report += "going's children (pid, state, wchan, argv):\n";
        for p in self.g.children() {
            let state = stat(p).map_or('?', |s| s.state);
            let wchan = fs::read_to_string(format!("/proc/{p}/wchan")).unwrap_or_default();
            report += &format!("  {p} {state} {wchan} {:?}\n", cmdline(p));
        }
        report += &format!("(reproduce: GOING_MODEL_SEED={} cargo test --release --test model)", self.seed);
        panic!("{report}");
    }
}

/// Seconds since PID started, from `/proc/PID/stat` and `/proc/uptime`.
fn process_age(pid: u32) -> Option<f64> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let start: f64 = rest.split(' ').nth(19)?.parse().ok()?;
    let up: f64 = fs::read_to_string("/proc/uptime").ok()?.split(' ').next()?.parse().ok()?;
    Some(up - start / clock_ticks() as f64)
}

#[test]
fn random_changes_leave_exactly_what_the_files_say_running() {
    let seed = env_u64("GOING_MODEL_SEED", 0x5eed_0001).max(1);
    let steps = env_u64("GOING_MODEL_STEPS", 250) as usize;
    eprintln!("model: GOING_MODEL_SEED={seed} GOING_MODEL_STEPS={steps}");
    let t = Tmp::new("model");
    let g = match std::env::var("GOING_BIN") {
        Ok(bin) if !bin.is_empty() => Going::start_bin(&t, std::path::Path::new(&bin), "", &[]),
        _ => Going::start(&t),
    };
    g.expect_log(" supervising ");
    wait_socket(&t);
    let without: Vec<String> =
        std::env::var("GOING_MODEL_WITHOUT").unwrap_or_default().split(',').map(|w| w.trim().to_string()).collect();
    let model = vec![Name::default(); POOL];
    let mut run = Run { t, g, seed, model, next_version: 0, trace: Vec::new(), without, want_slow: None };
    let mut rng = Rng(seed);
    let (mut done, mut bursts) = (0, 0);
    let began = Instant::now();
    let script = std::env::var("GOING_MODEL_SCRIPT").unwrap_or_default();
    if !script.trim().is_empty() {
        // A given sequence instead of random ones, ending in a quiet period.
        bursts = 1;
        run.trace.push("-- burst 1".to_string());
        for step in script.split([',', ';']).filter(|s| !s.trim().is_empty()).map(parse_step).chain([Step::Quiet]) {
            match step {
                Step::Quiet => {
                    run.settle(bursts);
                    bursts += 1;
                    run.trace.push(format!("-- burst {bursts}"));
                }
                Step::Do(op, idx, slow) => {
                    if !possible(&run.model[idx]).iter().any(|(o, _)| *o == op) {
                        run.fail(&format!("GOING_MODEL_SCRIPT: {op:?} m{idx} is not possible here"), None);
                    }
                    run.want_slow = slow;
                    run.apply(&mut rng, idx, op);
                    done += 1;
                }
            }
        }
    }
    while done < steps && script.trim().is_empty() {
        bursts += 1;
        run.trace.push(format!("-- burst {bursts}"));
        done += run.burst(&mut rng, steps - done);
        run.settle(bursts);
    }
    eprintln!("model: {done} steps in {bursts} bursts, {:.1}s", began.elapsed().as_secs_f64());
    // Everything stops on SIGTERM and nothing is left.
    let mut g = run.g;
    let kids = g.children();
    g.signal("TERM");
    assert!(g.wait_exit(SETTLE).is_some_and(|s| s.success()), "going did not exit 0 on SIGTERM");
    assert!(kids.iter().all(|&p| wait_dead(p)), "services outlived going");
}
