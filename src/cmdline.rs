//! `cmd=` value -> argument vector, without a shell.
//!
//! Arguments are split on blanks (space, tab). `'...'` quotes literally;
//! `"..."` quotes with `\"` and `\\` as the only escapes (any other
//! backslash stays as written); outside quotes `\` takes the next byte
//! literally. No variable expansion, no globbing. Pure.

use crate::limits::MAX_ARGS;

/// Why a `cmd=` value cannot be split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmdError {
    Empty,
    Unterminated,
    TrailingBackslash,
    TooManyArgs,
}

impl CmdError {
    pub fn text(self) -> &'static [u8] {
        match self {
            CmdError::Empty => b"empty cmd",
            CmdError::Unterminated => b"unterminated quote in cmd",
            CmdError::TrailingBackslash => b"cmd ends in a backslash",
            CmdError::TooManyArgs => b"too many arguments in cmd",
        }
    }
}

/// One piece of output: a byte of the current argument, or its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tok {
    Byte(u8),
    End,
}

fn blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// Splits `v`, feeding every argument byte and every argument end to
/// `emit`; returns the number of arguments.
pub fn split(v: &[u8], mut emit: impl FnMut(Tok)) -> Result<usize, CmdError> {
    split_to(v, &mut emit)
}

/// `split`, one copy for every caller.
#[inline(never)]
fn split_to(v: &[u8], emit: &mut dyn FnMut(Tok)) -> Result<usize, CmdError> {
    let mut it = v.iter().copied().peekable();
    let mut args = 0;
    loop {
        while it.next_if(|&c| blank(c)).is_some() {}
        if it.peek().is_none() {
            break;
        }
        if args == MAX_ARGS {
            return Err(CmdError::TooManyArgs);
        }
        while let Some(c) = it.next_if(|&c| !blank(c)) {
            match c {
                q @ (b'\'' | b'"') => loop {
                    match it.next() {
                        None => return Err(CmdError::Unterminated),
                        Some(c) if c == q => break,
                        Some(b'\\') if q == b'"' => {
                            emit(Tok::Byte(it.next_if(|&c| c == b'"' || c == b'\\').unwrap_or(b'\\')))
                        }
                        Some(c) => emit(Tok::Byte(c)),
                    }
                },
                b'\\' => emit(Tok::Byte(it.next().ok_or(CmdError::TrailingBackslash)?)),
                c => emit(Tok::Byte(c)),
            }
        }
        emit(Tok::End);
        args += 1;
    }
    if args == 0 {
        return Err(CmdError::Empty);
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &str) -> Result<Vec<String>, CmdError> {
        let mut out = vec![String::new()];
        split(v.as_bytes(), |t| match t {
            Tok::Byte(c) => out.last_mut().unwrap().push(c as char),
            Tok::End => out.push(String::new()),
        })?;
        out.pop();
        Ok(out)
    }

    #[test]
    fn table() {
        let ok: &[(&str, &[&str])] = &[
            ("a", &["a"]),
            ("  a \t b  ", &["a", "b"]),
            ("/bin/sh -c 'echo $HOME; exit 1'", &["/bin/sh", "-c", "echo $HOME; exit 1"]),
            ("'a b'c", &["a bc"]),
            ("''", &[""]),
            ("a '' b", &["a", "", "b"]),
            ("\"\"", &[""]),
            ("\"a \\\"b\\\" \\\\ \\n\"", &["a \"b\" \\ \\n"]),
            ("a\\ b", &["a b"]),
            ("\\'", &["'"]),
            ("'\\'", &["\\"]),
            ("\"'\"", &["'"]),
            ("'\"'", &["\""]),
            ("x\"y z\"'w'", &["xy zw"]),
        ];
        for (input, want) in ok {
            let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
            assert_eq!(args(input), Ok(want), "{input:?}");
        }
        let bad: &[(&str, CmdError)] = &[
            ("", CmdError::Empty),
            ("   \t ", CmdError::Empty),
            ("'abc", CmdError::Unterminated),
            ("\"abc", CmdError::Unterminated),
            ("\"abc\\\"", CmdError::Unterminated),
            ("abc\\", CmdError::TrailingBackslash),
        ];
        for (input, want) in bad {
            assert_eq!(args(input), Err(*want), "{input:?}");
        }
    }

    #[test]
    fn argument_limit() {
        let many = "a ".repeat(MAX_ARGS);
        assert_eq!(args(&many).unwrap().len(), MAX_ARGS);
        let too_many = "a ".repeat(MAX_ARGS + 1);
        assert_eq!(args(&too_many), Err(CmdError::TooManyArgs));
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x1234_5678_u32;
        for _ in 0..20_000 {
            let mut v = Vec::new();
            for _ in 0..(seed % 24) {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                v.push(b" \t'\"\\ab\0\xff"[(seed >> 16) as usize % 10]);
            }
            let _ = split(&v, |_| {});
        }
    }
}
