//! `going check`: reads the config directory the way the supervisor does
//! and prints every problem as `DIR/NAME:LINE: message`, then a summary.
//! The files' `after=` graph is checked too: a cycle is a problem, a name
//! with no file a warning (the supervisor ignores it).

use crate::cli::{EX_CONFIG, EX_OK};
use crate::fmt::Line;
use crate::graph::Graph;
use crate::limits::{MAX_FILE, MAX_SERVICES};
use crate::log::print;
use crate::table::{Table, Why, name_fault};
use crate::{scan, sys};
use core::ffi::CStr;

#[inline(never)] // its buffers stay out of the supervisor's frame
pub fn run(dir: &CStr) -> i32 {
    let d = dir.to_bytes();
    let d = d.strip_suffix(b"/").unwrap_or(d);
    let fd = match scan::open_dir(dir) {
        Ok(fd) => fd,
        Err(e) => return cannot(b"open ", d, e),
    };
    let (mut services, mut problems) = (0u64, 0u64);
    let mut table = Table::new();
    let walked = scan::each(&fd, |name, read| {
        let mut l = Line::new();
        l.file(d, name);
        let mut canon = [0u8; MAX_FILE + 1];
        let before = l.bytes().len();
        if let Some(why) = name_fault(name) {
            l.s(b": ");
            why.describe(&mut l);
        } else {
            match read.map(|b| scan::load(b, &mut canon, &mut l)) {
                Ok(Some(_)) if services as usize >= MAX_SERVICES => {
                    l.s(b": ");
                    Why::Full.describe(&mut l);
                }
                Ok(Some(n)) => {
                    services += 1;
                    table.update(name, Ok(canon.get(..n).unwrap_or(&[])));
                    if let Ok(i) = table.find(name) {
                        table.swap_in_next(i);
                    }
                }
                Ok(None) | Err(_) => {
                    // There is a file by that name: not missing for after=.
                    table.update(name, Err(b":"));
                    if let Err(p) = read {
                        p.describe(&mut l);
                    }
                }
            }
        }
        if l.bytes().len() > before {
            problems += 1;
            l.s(b"\n");
            print(1, l.bytes());
        }
    });
    let (cycles, warnings) = order(&table, d);
    problems += cycles;
    if let Err(e) = walked {
        return cannot(b"read ", d, e);
    }
    let mut l = Line::new();
    l.s(d).s(b": ");
    count(&mut l, services, b" valid service");
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

/// Checks the `after=` graph of the valid files: prints each dependency
/// cycle once (an error) and each name with no file (a warning); returns
/// how many of each.
fn order(table: &Table, dir: &[u8]) -> (u64, u64) {
    let mut graph = Graph::new();
    let mut warnings = 0;
    let _ = graph.build(table.entries.len(), |i, add| {
        for name in crate::config::after_names(table.cfg(i)) {
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
    let mut told = [0u64; MAX_SERVICES / 64];
    let mut cycles = 0;
    for i in 0..table.entries.len() {
        if !graph.in_cycle(i) || told.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0) {
            continue;
        }
        cycles += 1;
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
    (cycles, warnings)
}
