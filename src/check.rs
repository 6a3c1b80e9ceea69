//! `going check`: reads the config directory the way the supervisor does
//! and prints every problem as `DIR/NAME:LINE: message`, then a summary.
//! It fills a table as going's first read does (`scan::first_read`),
//! so the same files find no room in the shared store and the same names
//! are over the table's capacity. The files' `after=` graph is checked
//! too: a cycle, or more edges than the graph holds, is a problem; a name
//! with no file a warning (the supervisor ignores it).

use crate::cli::{EX_CONFIG, EX_OK};
use crate::fmt::Line;
use crate::graph::{Graph, Overflow};
use crate::limits::{MAX_EDGES, MAX_FILE, MAX_SERVICES};
use crate::log::print;
use crate::scan::{self, Contents};
use crate::sys;
use crate::table::{NO_ROOM, Outcome, Table, Why, name_fault};
use core::ffi::CStr;
use rustix::fd::OwnedFd;
use rustix::io::Errno;

#[inline(never)] // its buffers stay out of the supervisor's frame
pub fn run(dir: &CStr) -> i32 {
    let d = dir.to_bytes();
    let d = d.strip_suffix(b"/").unwrap_or(d);
    let fd = match scan::open_dir(dir) {
        Ok(fd) => fd,
        Err(e) => return cannot(b"open ", d, e),
    };
    let mut table = Table::new();
    let (mut problems, walked) = read_all(&fd, &mut table, d);
    if let Err(e) = walked {
        return cannot(b"read ", d, e);
    }
    // Reported after the read, as the supervisor does: which names are
    // over the capacity is known only once every name is listed.
    for r in table.rejected.iter().filter(|r| r.why == Why::Full) {
        let mut why = Line::new();
        Why::Full.describe(why.s(b": "));
        say(d, r.name(), why.bytes());
        problems += 1;
    }
    let more = u64::from(table.more_rejected);
    if more > 0 {
        let mut l = Line::new();
        l.s(d).s(b": ").u(more).s(b" more entries rejected\n");
        print(1, l.bytes());
    }
    problems += more;
    let (graph_problems, warnings) = order(&table, d);
    problems += graph_problems;
    let services = table.entries.iter().filter(|e| !e.next.is_empty() || !e.cfg.is_empty()).count();
    let mut l = Line::new();
    l.s(d).s(b": ");
    count(&mut l, services as u64, b" valid service");
    l.s(b", ");
    count(&mut l, problems, b" problem");
    if warnings > 0 {
        l.s(b", ");
        count(&mut l, warnings, b" warning");
    }
    l.s(b"\n");
    print(1, l.bytes());
    if problems == 0 { EX_OK } else { EX_CONFIG }
}

/// Fills `table` as going's first read does (`scan::first_read`), and
/// prints what the supervisor would log of each entry; returns how many
/// problems were printed.
fn read_all(fd: &OwnedFd, table: &mut Table, d: &[u8]) -> (u64, Result<(), Errno>) {
    let mut buf = [0u8; MAX_FILE + 1];
    let mut check = Check { table, d, problems: 0 };
    let read = scan::first_read(fd, &mut buf, &mut check);
    (check.problems, read)
}

struct Check<'t, 'd> {
    table: &'t mut Table,
    d: &'d [u8],
    problems: u64,
}

impl scan::Reader for Check<'_, '_> {
    fn table(&mut self) -> &mut Table {
        self.table
    }

    /// Takes one entry as the supervisor does (`confdir`'s `found`) and
    /// prints what it would log of it. A file the table has no room for
    /// is reported with the rejected ones, and so are bad names past the
    /// 16 the table keeps.
    fn found(&mut self, name: &[u8], read: Contents<'_>) {
        let mut text = Line::new();
        if let Some(why) = name_fault(name) {
            // Past the rejected names the table keeps, only counted.
            if !self.table.reject(name, why) {
                return;
            }
            why.describe(text.s(b": "));
        } else {
            match scan::take(self.table, name, read, &mut text) {
                Outcome::Full => return,
                // Valid, but the shared store had no room for it.
                Outcome::Invalid if text.bytes().is_empty() => {
                    text.s(NO_ROOM);
                }
                _ => {}
            }
        }
        if !text.bytes().is_empty() {
            say(self.d, name, text.bytes());
            self.problems += 1;
        }
    }
}

/// Prints `DIR/NAME` and `what`, as one line.
#[inline(never)]
fn say(d: &[u8], name: &[u8], what: &[u8]) {
    let mut l = Line::new();
    l.file(d, name).s(what).s(b"\n");
    print(1, l.bytes());
}

/// Says on stderr that the directory cannot be opened or read.
fn cannot(what: &[u8], d: &[u8], e: rustix::io::Errno) -> i32 {
    let mut l = Line::new();
    l.s(b"going: cannot ").s(what).s(d).s(b": ").s(sys::strerror(e)).s(b"\n");
    print(2, l.bytes());
    EX_CONFIG
}

/// Appends `N thing`, or `N things` when N is not 1.
fn count(l: &mut Line, n: u64, thing: &[u8]) {
    l.u(n).s(thing);
    if n != 1 {
        l.s(b"s");
    }
}

/// Checks the `after=` graph of the valid files: prints the service whose
/// edges did not all fit, as the supervisor logs it (fleet's `rebuild`),
/// and each dependency cycle once (errors), and each name with no file (a
/// warning); returns how many errors and warnings.
fn order(table: &Table, dir: &[u8]) -> (u64, u64) {
    let mut graph = Graph::new();
    let mut warnings = 0;
    let built = graph.build(table.entries.len(), |i, add| {
        for name in crate::config::after_names(table.effective(i)) {
            match table.find(name) {
                Ok(j) => add(j),
                Err(_) => {
                    warnings += 1;
                    let mut l = Line::new();
                    l.file(dir, table.name(i)).s(b": warning: after=").masked(name);
                    l.s(b": no such service (ignored)\n");
                    print(1, l.bytes());
                }
            }
        }
    });
    let mut errors = 0;
    if let Err(Overflow(i)) = built {
        errors += 1;
        let mut why = Line::new();
        why.s(b": too many after= names in all services (limit ").u(MAX_EDGES as u64).s(b"); the rest are ignored");
        say(dir, table.name(i), why.bytes());
    }
    let mut told = [0u64; MAX_SERVICES / 64];
    for i in 0..table.entries.len() {
        if !graph.in_cycle(i) || told.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0) {
            continue;
        }
        errors += 1;
        let mut l = Line::new();
        l.file(dir, table.name(i)).s(b": dependency cycle ");
        let mut first = true;
        graph.cycle(i, |n| {
            if let Some(w) = told.get_mut(n / 64) {
                *w |= 1 << (n % 64);
            }
            l.s(if first { b"" } else { b" -> " }).s(table.name(n));
            first = false;
        });
        l.s(b"\n");
        print(1, l.bytes());
    }
    (errors, warnings)
}
