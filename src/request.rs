//! The control protocol's request line -> `Request`. Pure: the supervisor
//! (`control`) carries requests out, and this is all a client can make it
//! parse.

use crate::sig;

/// A parsed request; names are the rest of the line, split on blanks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    Status(&'a [u8]),
    Start(&'a [u8]),
    Stop(&'a [u8]),
    Restart(&'a [u8]),
    Signal(i32, &'a [u8]),
    Reload,
}

pub fn names(rest: &[u8]) -> impl Iterator<Item = &[u8]> {
    rest.split(|&b| b == b' ').filter(|n| !n.is_empty())
}

/// Parses one request line (without its newline).
pub fn parse_request(line: &[u8]) -> Result<Request<'_>, &'static [u8]> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let (verb, rest) = match line.iter().position(|&b| b == b' ') {
        Some(i) => (line.get(..i).unwrap_or(&[]), line.get(i + 1..).unwrap_or(&[])),
        None => (line, &b""[..]),
    };
    let need_names = |r| {
        if names(rest).next().is_some() { Ok(r) } else { Err(&b"a service name is needed"[..]) }
    };
    match verb {
        b"status" => Ok(Request::Status(rest)),
        b"start" => need_names(Request::Start(rest)),
        b"stop" => need_names(Request::Stop(rest)),
        b"restart" => need_names(Request::Restart(rest)),
        b"reload" if names(rest).next().is_none() => Ok(Request::Reload),
        b"signal" => {
            let mut it = names(rest);
            let s = it.next().and_then(sig::parse).ok_or(&b"unknown signal"[..])?;
            let after = rest.iter().position(|&b| b != b' ').unwrap_or(0);
            let rest = rest.get(after..).unwrap_or(&[]);
            let rest = rest.get(rest.iter().position(|&b| b == b' ').unwrap_or(rest.len())..).unwrap_or(&[]);
            if names(rest).next().is_none() {
                return Err(b"a service name is needed");
            }
            Ok(Request::Signal(s, rest))
        }
        _ => Err(b"unknown request"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests() {
        assert_eq!(parse_request(b"status"), Ok(Request::Status(b"")));
        assert_eq!(parse_request(b"status a b"), Ok(Request::Status(b"a b")));
        assert_eq!(parse_request(b"start web"), Ok(Request::Start(b"web")));
        assert_eq!(parse_request(b"stop  a  b\r"), Ok(Request::Stop(b" a  b")));
        assert_eq!(parse_request(b"restart x"), Ok(Request::Restart(b"x")));
        assert_eq!(parse_request(b"reload"), Ok(Request::Reload));
        assert_eq!(parse_request(b"signal HUP web db"), Ok(Request::Signal(1, b" web db")));
        assert_eq!(parse_request(b"signal SIGUSR1 web"), Ok(Request::Signal(10, b" web")));
        let rest = match parse_request(b"signal 9 a b") {
            Ok(Request::Signal(9, r)) => r,
            other => panic!("{other:?}"),
        };
        assert_eq!(names(rest).collect::<Vec<_>>(), [&b"a"[..], b"b"]);
    }

    #[test]
    fn bad_requests() {
        for bad in [
            &b""[..],
            b"frob",
            b"start",
            b"stop   ",
            b"signal",
            b"signal HUP",
            b"signal NOPE web",
            b"reload x",
            b"STATUS",
        ] {
            assert!(parse_request(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 3u32;
        for _ in 0..20_000 {
            let mut v = Vec::new();
            for _ in 0..(seed % 40) {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let alphabet = b"status stop signal HUP 9 \r\n\0\xffab";
                v.push(alphabet[(seed >> 16) as usize % alphabet.len()]);
            }
            if let Ok(Request::Signal(_, n) | Request::Start(n) | Request::Stop(n)) = parse_request(&v) {
                let _ = names(n).count();
            }
        }
    }
}
