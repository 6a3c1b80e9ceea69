//! Procfile mode (`going -f Procfile`): `name: command` lines, `#`
//! comments. Each process runs `/bin/sh -c command` with going's own
//! environment and working directory, and its output is prefixed with its
//! name. Pure: a line becomes a config file's text, which then goes the
//! way of every config.

use crate::config::trim;

/// One meaningful line: its number and its name and command, or what is
/// wrong with it.
pub type Entry<'a> = (usize, Result<(&'a [u8], &'a [u8]), &'static [u8]>);

pub fn entries(src: &[u8]) -> impl Iterator<Item = Entry<'_>> {
    src.split(|&b| b == b'\n').enumerate().filter_map(|(n, raw)| {
        let t = trim(raw);
        if t.is_empty() || t.starts_with(b"#") {
            return None;
        }
        let parsed = match t.iter().position(|&b| b == b':') {
            None => Err(&b"expected NAME: COMMAND"[..]),
            Some(i) => {
                let name = trim(t.get(..i).unwrap_or(&[]));
                let cmd = trim(t.get(i + 1..).unwrap_or(&[]));
                let ok_name = !name.is_empty()
                    && name.len() <= crate::limits::MAX_NAME
                    && name.iter().all(|b| b.is_ascii_alphanumeric() || b"_-".contains(b));
                if !ok_name {
                    Err(&b"a name is 1 to 64 of A-Z a-z 0-9 _ -"[..])
                } else if cmd.is_empty() {
                    Err(&b"empty command"[..])
                } else if cmd.contains(&0) {
                    Err(&b"NUL byte in line"[..])
                } else {
                    Ok((name, cmd))
                }
            }
        };
        Some((n + 1, parsed))
    })
}

/// Writes the config text for a command into `out`:
/// `cmd=/bin/sh -c '...'` and `log=prefix`; returns its length.
pub fn config(cmd: &[u8], out: &mut [u8]) -> Option<usize> {
    let mut n = 0;
    let mut put = |b: &[u8]| {
        for &c in b {
            *out.get_mut(n)? = c;
            n += 1;
        }
        Some(())
    };
    put(b"cmd=/bin/sh -c '")?;
    for &c in cmd {
        // Close the quote, a literal quote, reopen: `'\''`.
        put(if c == b'\'' { b"'\\''" } else { core::slice::from_ref(&c) })?;
    }
    put(b"'\nlog=prefix\n")?;
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmdline::{Tok, split};

    #[test]
    fn lines() {
        let src =
            b"# dev\nweb: bundle exec puma -p $PORT\n\n worker : sh -c 'echo hi' \r\nbad line\n: x\nx:\nno space: ok\n";
        let got: Vec<_> = entries(src).collect();
        assert_eq!(got[0], (2, Ok((&b"web"[..], &b"bundle exec puma -p $PORT"[..]))));
        assert_eq!(got[1], (4, Ok((&b"worker"[..], &b"sh -c 'echo hi'"[..]))));
        assert!(got[2].1.is_err() && got[2].0 == 5);
        assert!(got[3].1.is_err() && got[3].0 == 6);
        assert!(got[4].1.is_err() && got[4].0 == 7);
        assert!(got[5].1.is_err(), "a name with a space");
        assert_eq!(got.len(), 6);
    }

    #[test]
    fn commands_survive_quoting() {
        for cmd in [&b"echo hi"[..], b"echo 'a b' \"c\" $X", b"it's", b"''", b"a\\b"] {
            let mut out = [0u8; 256];
            let n = config(cmd, &mut out).unwrap();
            let c = crate::config::parse(&out[..n]).unwrap();
            assert_eq!(c.log, crate::config::Log::Prefix);
            let mut args = vec![Vec::new()];
            split(c.cmd, |t| match t {
                Tok::Byte(b) => args.last_mut().unwrap().push(b),
                Tok::End => args.push(Vec::new()),
            })
            .unwrap();
            args.pop();
            assert_eq!(args, [&b"/bin/sh"[..], b"-c", cmd]);
        }
        assert_eq!(config(b"x", &mut [0u8; 8]), None);
    }
}
