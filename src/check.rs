//! `going check`: reads the config directory the way the supervisor does
//! and prints every problem as `DIR/NAME:LINE: message`, then a summary.

use crate::cli::{EX_CONFIG, EX_OK};
use crate::fmt::Line;
use crate::limits::{MAX_FILE, MAX_SERVICES};
use crate::log::print;
use crate::table::{Why, valid_name};
use crate::{scan, sys};
use core::ffi::CStr;

#[inline(never)] // its buffers stay out of the supervisor's frame
pub fn run(dir: &CStr) -> i32 {
    let d = dir.to_bytes();
    let d = d.strip_suffix(b"/").unwrap_or(d);
    let fd = match scan::open_dir(dir) {
        Ok(fd) => fd,
        Err(e) => {
            let mut l = Line::new();
            l.s(b"going: cannot open ").s(d).s(b": ").s(sys::strerror(e)).s(b"\n");
            print(2, l.bytes());
            return EX_CONFIG;
        }
    };
    let (mut services, mut problems) = (0u64, 0u64);
    let walked = scan::each(&fd, |name, read| {
        let mut l = Line::new();
        l.file(d, name);
        let mut canon = [0u8; MAX_FILE + 1];
        let before = l.bytes().len();
        if !valid_name(name) {
            l.s(b": ");
            Why::BadName.describe(&mut l);
        } else {
            match read.map(|b| scan::load(b, &mut canon, &mut l)) {
                Ok(Some(_)) if services as usize >= MAX_SERVICES => {
                    l.s(b": ");
                    Why::Full.describe(&mut l);
                }
                Ok(Some(_)) => services += 1,
                Ok(None) => {}
                Err(p) => p.describe(&mut l),
            }
        }
        if l.bytes().len() > before {
            problems += 1;
            l.s(b"\n");
            print(1, l.bytes());
        }
    });
    let mut l = Line::new();
    if let Err(e) = walked {
        l.s(b"going: cannot read ").s(d).s(b": ").s(sys::strerror(e)).s(b"\n");
        print(2, l.bytes());
        return EX_CONFIG;
    }
    l.s(d).s(b": ").u(services).s(if services == 1 { b" valid service, " } else { b" valid services, " });
    l.u(problems).s(if problems == 1 { b" problem\n" } else { b" problems\n" });
    print(1, l.bytes());
    if problems == 0 { EX_OK } else { EX_CONFIG }
}
