//! `config::parse` and `config::canonical` on arbitrary bytes.
//!
//! Beyond "never panics", it checks what going relies on: the table keeps
//! a file's canonical form and the spawn parses that again, so for any file
//! that fits (`MAX_FILE`) canonical must succeed exactly when parse does,
//! with the same error, and parsing the canonical form must give the same
//! config; canonical is idempotent; every error can be described.

#![no_main]

#[allow(dead_code)]
#[path = "../../src/cmdline.rs"]
mod cmdline;
#[allow(dead_code)]
#[path = "../../src/config.rs"]
mod config;
#[allow(dead_code)]
#[path = "../../src/fmt.rs"]
mod fmt;
#[allow(dead_code)]
#[path = "../../src/limits.rs"]
mod limits;
#[allow(dead_code)]
#[path = "../../src/sig.rs"]
mod sig;

use config::Config;
use libfuzzer_sys::fuzz_target;
use limits::{MAX_ARGS, MAX_FILE};

/// Everything a config says, line numbers left out.
fn same(a: &Config, b: &Config) -> bool {
    a.cmd == b.cmd
        && a.cwd == b.cwd
        && a.env == b.env
        && a.user == b.user
        && a.group == b.group
        && a.chroot == b.chroot
        && a.umask == b.umask
        && a.restart == b.restart
        && a.stop_signal == b.stop_signal
        && a.stop_timeout == b.stop_timeout
        && a.log == b.log
        && a.log_size == b.log_size
        && a.log_keep == b.log_keep
        && a.nice == b.nice
        && a.limits == b.limits
}

fuzz_target!(|data: &[u8]| {
    let parsed = config::parse(data);
    let mut canon = [0u8; MAX_FILE + 1];
    let canonical = config::canonical(data, &mut canon);
    if let Err(e) = &parsed {
        let mut l = fmt::Line::new();
        e.describe(&mut l);
        assert!(!l.bytes().is_empty());
        assert!(e.line <= data.split(|&b| b == b'\n').count());
    }
    if data.len() > MAX_FILE {
        // going never parses a file this large; only "no panic" holds.
        return;
    }
    let n = match (&parsed, canonical) {
        (Ok(_), Ok(n)) => n,
        (Err(p), Err(c)) => {
            assert_eq!(*p, c, "canonical fails differently from parse");
            return;
        }
        (p, c) => panic!("parse {:?} but canonical {:?}", p.is_ok(), c.map(|_| ())),
    };
    let c = parsed.unwrap();
    let canon = &canon[..n];
    let again = config::parse(canon)
        .unwrap_or_else(|e| panic!("canonical form {:?} does not parse: {e:?}", String::from_utf8_lossy(canon)));
    assert_eq!(again.cmd, c.cmd);
    assert!(same(&c, &again), "canonical form configures another service:\n{c:?}\n{again:?}");
    let mut twice = [0u8; MAX_FILE + 1];
    let m = config::canonical(canon, &mut twice).expect("canonical of canonical");
    assert_eq!(&twice[..m], canon, "canonical is not idempotent");
    let mut ends = 0;
    let args = cmdline::split(c.cmd, |t| ends += usize::from(t == cmdline::Tok::End)).expect("cmd was validated");
    assert!((1..=MAX_ARGS).contains(&args) && args == ends);
});
