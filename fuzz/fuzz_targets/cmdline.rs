//! `cmdline::split` on arbitrary bytes, against the rules of going(5).
//!
//! Checks: the count returned is the number of argument ends and within
//! `MAX_ARGS`; the result matches a plain model of the quoting rules; and
//! every argument vector survives quoting back: each argument put in
//! single quotes (a `'` as `'\''`) splits to the same vector.

#![no_main]

#[allow(dead_code)]
#[path = "../../src/cmdline.rs"]
mod cmdline;
#[allow(dead_code)]
#[path = "../../src/limits.rs"]
mod limits;

use cmdline::{CmdError, Tok, split};
use libfuzzer_sys::fuzz_target;
use limits::MAX_ARGS;

fn args(v: &[u8]) -> Result<Vec<Vec<u8>>, CmdError> {
    let mut out = vec![Vec::new()];
    let n = split(v, |t| match t {
        Tok::Byte(b) => out.last_mut().unwrap().push(b),
        Tok::End => out.push(Vec::new()),
    })?;
    out.pop();
    assert_eq!(n, out.len(), "count differs from the arguments emitted");
    Ok(out)
}

/// The quoting rules written the obvious way, with a heap.
fn model(v: &[u8]) -> Result<Vec<Vec<u8>>, CmdError> {
    let blank = |c: u8| c == b' ' || c == b'\t';
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut i = 0;
    loop {
        while i < v.len() && blank(v[i]) {
            i += 1;
        }
        if i == v.len() {
            break;
        }
        if out.len() == MAX_ARGS {
            return Err(CmdError::TooManyArgs);
        }
        let mut arg = Vec::new();
        while i < v.len() && !blank(v[i]) {
            let c = v[i];
            i += 1;
            match c {
                b'\'' => {
                    let end = v[i..].iter().position(|&b| b == b'\'').ok_or(CmdError::Unterminated)?;
                    arg.extend_from_slice(&v[i..i + end]);
                    i += end + 1;
                }
                b'"' => loop {
                    let Some(&d) = v.get(i) else { return Err(CmdError::Unterminated) };
                    i += 1;
                    match d {
                        b'"' => break,
                        b'\\' if matches!(v.get(i), Some(b'"' | b'\\')) => {
                            arg.push(v[i]);
                            i += 1;
                        }
                        d => arg.push(d),
                    }
                },
                b'\\' => {
                    arg.push(*v.get(i).ok_or(CmdError::TrailingBackslash)?);
                    i += 1;
                }
                c => arg.push(c),
            }
        }
        out.push(arg);
    }
    if out.is_empty() {
        return Err(CmdError::Empty);
    }
    Ok(out)
}

fn quote(argv: &[Vec<u8>]) -> Vec<u8> {
    let mut line = Vec::new();
    for a in argv {
        line.push(b'\'');
        for &b in a {
            if b == b'\'' {
                line.extend_from_slice(b"'\\''");
            } else {
                line.push(b);
            }
        }
        line.extend_from_slice(b"' ");
    }
    line
}

fuzz_target!(|data: &[u8]| {
    let got = args(data);
    assert_eq!(got, model(data), "split disagrees with the model on {:?}", String::from_utf8_lossy(data));
    if let Ok(argv) = got {
        assert!((1..=MAX_ARGS).contains(&argv.len()));
        assert_eq!(args(&quote(&argv)), Ok(argv), "quoted arguments do not split back");
    }
});
