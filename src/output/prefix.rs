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

/// Writes the lines read into `buf`; returns how much was taken (an
/// unfinished line is left when `hold`).
pub fn write(
    c: &mut Capture,
    t: &Target,
    stamp: &[u8],
    buf: &mut Buf,
    hold: bool,
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
            broken = !flush(c, t, buf, &mut now, then);
        }
        then = if ends { NONE } else { c.rfd };
    }
    // Whole again after a loss: the loss is told, as for a log file.
    if flush(c, t, buf, &mut now, then) && !broken && c.dropped > 0 {
        report(Report::Recovered(core::mem::take(&mut c.dropped)));
    }
    c.line_len = lines.line_len();
    lines.used()
}

/// Writes what `buf` gathered; stdout then shows `then`, or an orphaned
/// line when only part of it went out. Returns whether all of it did.
fn flush(c: &mut Capture, t: &Target, buf: &mut Buf, now: &mut i32, then: i32) -> bool {
    let out = buf.out();
    if out.is_empty() {
        return true;
    }
    let n = t.stdout.write(out).min(out.len());
    let all = n == out.len();
    *now = match n {
        _ if all => then,
        0 => *now,
        _ => ORPHAN,
    };
    OPEN.store(*now, Ordering::Relaxed);
    c.dropped = c.dropped.saturating_add((out.len() - n) as u64);
    buf.clear();
    all
}
