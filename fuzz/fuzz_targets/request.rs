//! `request::parse_request` and `request::names` on arbitrary bytes: what
//! any local client can make the supervisor parse.
//!
//! Checks: names are never empty and hold no blank; a request that needs
//! names has one; a signal is 1 to 31; and a parsed request written back
//! as `verb name name...` parses to the same request and names.

#![no_main]

#[allow(dead_code)]
#[path = "../../src/fmt.rs"]
mod fmt;
#[allow(dead_code)]
#[path = "../../src/limits.rs"]
mod limits;
#[allow(dead_code)]
#[path = "../../src/request.rs"]
mod request;
#[allow(dead_code)]
#[path = "../../src/sig.rs"]
mod sig;

use libfuzzer_sys::fuzz_target;
use request::{Request, names, parse_request};

/// The verb, the signal (0 for none) and the names of a request.
fn parts(r: Request<'_>) -> (&'static str, i32, Vec<Vec<u8>>) {
    let list = |rest: &[u8]| names(rest).map(<[u8]>::to_vec).collect::<Vec<_>>();
    match r {
        Request::Status(n) => ("status", 0, list(n)),
        Request::Start(n) => ("start", 0, list(n)),
        Request::Stop(n) => ("stop", 0, list(n)),
        Request::Restart(n) => ("restart", 0, list(n)),
        Request::Signal(s, n) => ("signal", s, list(n)),
        Request::Reload => ("reload", 0, Vec::new()),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(r) = parse_request(data) else { return };
    let (verb, sig, list) = parts(r);
    for n in &list {
        assert!(!n.is_empty() && !n.contains(&b' '), "bad name {:?}", String::from_utf8_lossy(n));
    }
    match verb {
        "start" | "stop" | "restart" | "signal" => assert!(!list.is_empty(), "{verb} without a name"),
        "reload" => assert!(list.is_empty()),
        _ => {}
    }
    if verb == "signal" {
        assert!((1..=31).contains(&sig));
    }
    let mut line = verb.as_bytes().to_vec();
    if verb == "signal" {
        line.extend_from_slice(format!(" {sig}").as_bytes());
    }
    for n in &list {
        line.push(b' ');
        line.extend_from_slice(n);
    }
    // A name may end in `\r` (only the line's last byte is stripped); a
    // closing blank keeps it a part of the name.
    if !list.is_empty() {
        line.push(b' ');
    }
    let again = parse_request(&line).unwrap_or_else(|e| {
        panic!("{:?} does not parse again: {}", String::from_utf8_lossy(&line), String::from_utf8_lossy(e))
    });
    assert_eq!(parts(again), (verb, sig, list));
});
