//! `log=prefix`: each line on going's stdout as `NAME | line`, after the
//! `log_time` stamp when there is one.
//!
//! Services share stdout, so a line is never run into another's: an
//! unfinished line (the service paused in its middle) stays open on
//! stdout for the rest of it, until someone else has something to write
//! there. That writer ends it with a newline first, and what follows of
//! the interrupted line comes later as a line of its own, prefixed again.
//! going's own log lines do the same when stderr is the same file.
//! No service has a buffer of its own: which line is open is one number
//! for the whole process, as stdout is one.

use super::lines::Lines;
use super::{Buf, Report, Target};
use crate::fmt::Line;
use crate::table::Capture;
use core::sync::atomic::{AtomicI32, Ordering};

/// The output pipe (read end) of the service whose line is open on
/// stdout, or one of these.
const NONE: i32 = -1;
/// A line is open but its service is gone, or a write was cut short.
const ORPHAN: i32 = -2;

static OPEN: AtomicI32 = AtomicI32::new(NONE);

/// Ends the open line, if any, for a writer that is about to write to
/// the same file; returns whether the writer must put a newline first.
pub fn end_line() -> bool {
    OPEN.swap(NONE, Ordering::Relaxed) != NONE
}

/// A writer to the same file left a line of its own unfinished: the
/// next line written here ends it first.
pub fn left_open() {
    OPEN.store(ORPHAN, Ordering::Relaxed);
}

/// The service with pipe `rfd` stops writing here.
pub fn closed(rfd: i32) {
    if rfd >= 0 {
        let _ = OPEN.compare_exchange(rfd, ORPHAN, Ordering::Relaxed, Ordering::Relaxed);
    }
}

/// Writes the lines read into `buf` with `put` (stdout's write: it
/// returns how many bytes it took); returns how much was taken (an
/// unfinished line is left when `hold`).
///
/// Once a write is cut short the rest of what was read is dropped and
/// counted, the piece being gathered too: stdout no longer shows what
/// the pieces' heads were chosen for.
pub fn write(
    c: &mut Capture,
    t: &Target,
    stamp: &[u8],
    buf: &mut Buf,
    hold: bool,
    put: &mut dyn FnMut(&[u8]) -> usize,
    report: &mut dyn FnMut(Report),
) -> usize {
    // What goes before a line, and the same after a newline that ends
    // another's line.
    let mut head = Line::new();
    head.s(b"\n").s(stamp);
    if let Some(k) = t.color {
        head.s(b"\x1b[").u(u64::from(k)).s(b"m");
    }
    head.s(t.name).s(b" | ");
    if t.color.is_some() {
        head.s(b"\x1b[0m");
    }
    let (ended, head) = (head.bytes(), head.bytes().get(1..).unwrap_or(&[]));
    let mut lines = Lines::new(c.line_len, true, hold);
    // What stdout shows now, and once what is gathered is written.
    let (mut now, mut then) = (OPEN.load(Ordering::Relaxed), OPEN.load(Ordering::Relaxed));
    let mut broken = false;
    while let Some(p) = lines.next(buf.data()) {
        let text = buf.data().get(p.start..p.end).unwrap_or(&[]);
        let ours = then == c.rfd;
        let ends = p.cut || text.ends_with(b"\n");
        if !p.head && !ours && text.iter().all(|&b| b == b'\n') {
            // The rest of a line someone else ended: only its end was left.
            continue;
        }
        if broken {
            c.dropped = c.dropped.saturating_add(text.len() as u64);
            continue;
        }
        let before = match (p.head || !ours, then != NONE) {
            (false, _) => &b""[..],
            (true, false) => head,
            (true, true) => ended,
        };
        while !buf.add(before, p.start, p.end, p.cut) {
            if !flush(c, put, buf, &mut now, then) {
                broken = true;
                c.dropped = c.dropped.saturating_add(p.end.saturating_sub(p.start) as u64);
                break;
            }
        }
        then = if ends { NONE } else { c.rfd };
    }
    // Whole again after a loss: the loss is told, as for a log file.
    if flush(c, put, buf, &mut now, then) && !broken && c.dropped > 0 {
        report(Report::Recovered(core::mem::take(&mut c.dropped)));
    }
    c.line_len = lines.line_len();
    lines.used()
}

/// Writes what `buf` gathered; stdout then shows `then`, or an orphaned
/// line when only part of it went out. Returns whether all of it did.
fn flush(c: &mut Capture, put: &mut dyn FnMut(&[u8]) -> usize, buf: &mut Buf, now: &mut i32, then: i32) -> bool {
    let out = buf.out();
    if out.is_empty() {
        return true;
    }
    let n = put(out).min(out.len());
    let all = n == out.len();
    // Nothing went out: stdout shows what it did, but a line of ours
    // left open there lost its middle, and what follows of it is a line
    // of its own.
    *now = match n {
        _ if all => then,
        0 if *now != c.rfd => *now,
        _ => ORPHAN,
    };
    OPEN.store(*now, Ordering::Relaxed);
    c.dropped = c.dropped.saturating_add((out.len() - n) as u64);
    buf.clear();
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LogTime;
    use crate::output::{Console, Sink};

    const NAME: &[u8] = b"a-rather-long-service-name";

    fn target() -> Target<'static> {
        Target {
            sink: Sink::Prefix,
            path: b"",
            name: NAME,
            color: None,
            stdout: Console::plain(-1),
            time: LogTime::None,
            pid: 0,
            now: 0,
        }
    }

    /// Runs `write` on `data` with a stdout that takes what `take` says
    /// for each write; returns what stdout shows and the losses told.
    fn run(c: &mut Capture, data: &[u8], take: &mut dyn FnMut(usize) -> usize) -> (Vec<u8>, u64) {
        let mut buf = Buf::holding(data, false);
        let (mut shown, mut told) = (Vec::new(), 0);
        let mut put = |b: &[u8]| {
            let n = take(b.len()).min(b.len());
            shown.extend_from_slice(&b[..n]);
            n
        };
        let used = write(c, &target(), b"", &mut buf, false, &mut put, &mut |r| {
            if let Report::Recovered(n) = r {
                told += n;
            }
        });
        assert_eq!(used, data.len());
        (shown, told)
    }

    /// `OPEN` is one for the process: the tests that use it take turns.
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

    /// A turn with no line open on stdout, and a service reading `rfd`.
    fn fresh(rfd: i32) -> (std::sync::MutexGuard<'static, ()>, Capture) {
        let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
        OPEN.store(NONE, Ordering::Relaxed);
        let mut c = Capture::none();
        c.rfd = rfd;
        (turn, c)
    }

    #[test]
    fn a_write_cut_short_drops_the_rest_and_never_runs_lines_together() {
        let (_turn, mut c) = fresh(7);
        let data = b"going-flood-line\n".repeat(240);
        // The first write is cut 10 bytes short, inside a line; stdout
        // takes everything after that.
        let mut first = true;
        let (shown, told) = run(&mut c, &data, &mut |n| if core::mem::take(&mut first) { n - 10 } else { n });
        let whole: Vec<u8> = [NAME, b" | going-flood-line"].concat();
        for l in shown.split(|&b| b == b'\n') {
            assert!(whole.starts_with(l), "{:?} in\n{}", String::from_utf8_lossy(l), String::from_utf8_lossy(&shown));
        }
        // What did not go out is counted, and not yet told: the loss is
        // told once a write goes through whole.
        assert_eq!(told, 0);
        let lost = c.dropped;
        assert!(lost > 10 && (lost as usize) < data.len(), "{lost}");
        assert_eq!(OPEN.load(Ordering::Relaxed), ORPHAN);
        // The next line ends the cut one first, and the loss is told.
        let (shown, told) = run(&mut c, b"next\n", &mut |n| n);
        assert_eq!(shown, [b"\n", NAME, b" | next\n"].concat());
        assert_eq!((told, c.dropped), (lost, 0));
    }

    #[test]
    fn nothing_written_in_the_middle_of_a_line_ends_it() {
        let (_turn, mut c) = fresh(8);
        // An unfinished line goes out as it is, and stays open.
        let (shown, _) = run(&mut c, b"begin", &mut |n| n);
        assert_eq!(shown, [NAME, b" | begin"].concat());
        assert_eq!(OPEN.load(Ordering::Relaxed), 8);
        c.line_len = 5;
        // Its middle is lost: what follows of it is a line of its own.
        let (shown, _) = run(&mut c, b"-middle-", &mut |_| 0);
        assert!(shown.is_empty());
        let (shown, told) = run(&mut c, b"end\n", &mut |n| n);
        assert_eq!(shown, [b"\n", NAME, b" | end\n"].concat());
        assert_eq!(told, 8);
    }
}
