//! Command line -> `Command`; usage text; exit codes. Pure.

use core::ffi::CStr;

/// Exit codes, from sysexits(3).
pub const EX_OK: i32 = 0;
pub const EX_FAIL: i32 = 1;
pub const EX_USAGE: i32 = 64;
pub const EX_UNAVAILABLE: i32 = 69;
pub const EX_CONFIG: i32 = 78;

pub const USAGE: &[u8] = b"usage: going [-d DIR] [-s SOCKET]                supervise the services configured in DIR
       going -f PROCFILE                          run a Procfile's processes in the foreground
       going check [-d DIR]                       validate every config file, print problems
       going status [-s SOCKET] [-m] [NAME...]    show what the running supervisor is doing
       going start|stop|restart [-s SOCKET] NAME...   control services of a running supervisor
       going signal [-s SOCKET] SIG NAME...       send a signal to a service's process group
       going reload [-s SOCKET]                   re-read DIR (same as SIGHUP)
       going -h | --help                          this text
       going -V | --version                       version
DIR defaults to /etc/going.d, SOCKET to /run/going.sock.
";

/// What a client asks the supervisor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Status,
    Start,
    Stop,
    Restart,
    Signal,
    Reload,
}

impl Verb {
    pub fn word(self) -> &'static [u8] {
        match self {
            Verb::Status => b"status",
            Verb::Start => b"start",
            Verb::Stop => b"stop",
            Verb::Restart => b"restart",
            Verb::Signal => b"signal",
            Verb::Reload => b"reload",
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Command<'a> {
    Supervise { dir: &'a CStr, socket: &'a CStr },
    Procfile(&'a CStr),
    Check { dir: &'a CStr },
    Client { verb: Verb, socket: &'a CStr, machine: bool, args: &'a [&'a CStr] },
    Help,
    Version,
}

/// A usage error: what is wrong, and the argument at fault if any.
#[derive(Debug, PartialEq, Eq)]
pub struct Usage<'a>(pub &'static [u8], pub Option<&'a CStr>);

pub fn parse<'a>(args: &'a [&'a CStr]) -> Result<Command<'a>, Usage<'a>> {
    let mut dir = crate::limits::DEFAULT_DIR_C;
    let mut socket = crate::limits::DEFAULT_SOCKET_C;
    let (verb, mut rest) = match args.split_first() {
        Some((first, rest)) if !first.to_bytes().starts_with(b"-") => (Some(*first), rest),
        _ => (None, args),
    };
    let mut machine = false;
    let mut procfile = None;
    let word = verb.map(CStr::to_bytes);
    let client = match word {
        None | Some(b"check") => None,
        Some(b"status") => Some(Verb::Status),
        Some(b"start") => Some(Verb::Start),
        Some(b"stop") => Some(Verb::Stop),
        Some(b"restart") => Some(Verb::Restart),
        Some(b"signal") => Some(Verb::Signal),
        Some(b"reload") => Some(Verb::Reload),
        Some(_) => return Err(Usage(b"unknown command", verb)),
    };
    while let Some((opt, tail)) = rest.split_first() {
        let o = opt.to_bytes();
        if !o.starts_with(b"-") || o == b"-" {
            break;
        }
        rest = tail;
        if o == b"--" {
            break;
        }
        let takes = |allowed: bool| -> Result<&'a CStr, Usage<'a>> {
            if !allowed {
                return Err(Usage(b"option not allowed here", Some(opt)));
            }
            tail.first().copied().ok_or(Usage(b"option needs an argument", Some(opt)))
        };
        match o {
            b"-h" | b"--help" => return Ok(Command::Help),
            b"-V" | b"--version" => return Ok(Command::Version),
            b"-d" => dir = takes(client.is_none())?,
            b"-s" => socket = takes(word != Some(b"check"))?,
            b"-f" => procfile = Some(takes(verb.is_none())?),
            b"-m" if client == Some(Verb::Status) => machine = true,
            _ => return Err(Usage(b"unknown option", Some(opt))),
        }
        if matches!(o, b"-d" | b"-s" | b"-f") {
            rest = rest.get(1..).unwrap_or(&[]);
        }
    }
    let Some(verb) = client else {
        if let Some((extra, _)) = rest.split_first() {
            return Err(Usage(b"unexpected argument", Some(extra)));
        }
        return Ok(match (word, procfile) {
            (Some(_), _) => Command::Check { dir },
            (None, Some(p)) => Command::Procfile(p),
            (None, None) => Command::Supervise { dir, socket },
        });
    };
    let need = match verb {
        Verb::Status => 0,
        Verb::Reload => {
            if let Some((extra, _)) = rest.split_first() {
                return Err(Usage(b"unexpected argument", Some(extra)));
            }
            0
        }
        Verb::Signal => 2,
        _ => 1,
    };
    if rest.len() < need {
        let what: &[u8] = if verb == Verb::Signal { b"signal needs SIG and NAME" } else { b"a service NAME is needed" };
        return Err(Usage(what, None));
    }
    Ok(Command::Client { verb, socket, machine, args: rest })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{DEFAULT_DIR_C, DEFAULT_SOCKET_C};

    fn p<'a>(v: &'a [&'a CStr]) -> Result<Command<'a>, Usage<'a>> {
        parse(v)
    }

    #[test]
    fn supervise() {
        assert_eq!(p(&[]), Ok(Command::Supervise { dir: DEFAULT_DIR_C, socket: DEFAULT_SOCKET_C }));
        assert_eq!(p(&[c"-d", c"/x", c"-s", c"/s"]), Ok(Command::Supervise { dir: c"/x", socket: c"/s" }));
        assert_eq!(p(&[c"-s", c"/s", c"-d", c"/x"]), Ok(Command::Supervise { dir: c"/x", socket: c"/s" }));
        assert_eq!(p(&[c"-f", c"Procfile"]), Ok(Command::Procfile(c"Procfile")));
        assert_eq!(p(&[c"-h"]), Ok(Command::Help));
        assert_eq!(p(&[c"--help"]), Ok(Command::Help));
        assert_eq!(p(&[c"-V"]), Ok(Command::Version));
        assert_eq!(p(&[c"--version"]), Ok(Command::Version));
    }

    #[test]
    fn usage_errors() {
        assert_eq!(p(&[c"-x"]), Err(Usage(b"unknown option", Some(c"-x"))));
        assert_eq!(p(&[c"-d"]), Err(Usage(b"option needs an argument", Some(c"-d"))));
        assert_eq!(p(&[c"frob"]), Err(Usage(b"unknown command", Some(c"frob"))));
        assert_eq!(p(&[c"-d", c"/x", c"extra"]), Err(Usage(b"unexpected argument", Some(c"extra"))));
        assert_eq!(p(&[c"check", c"-s", c"/s"]), Err(Usage(b"option not allowed here", Some(c"-s"))));
        assert_eq!(p(&[c"stop", c"-d", c"/x", c"a"]), Err(Usage(b"option not allowed here", Some(c"-d"))));
        assert_eq!(p(&[c"stop"]), Err(Usage(b"a service NAME is needed", None)));
        assert_eq!(p(&[c"signal", c"HUP"]), Err(Usage(b"signal needs SIG and NAME", None)));
        assert_eq!(p(&[c"reload", c"x"]), Err(Usage(b"unexpected argument", Some(c"x"))));
        assert_eq!(p(&[c"-m"]), Err(Usage(b"unknown option", Some(c"-m"))));
        assert_eq!(p(&[c"stop", c"-m", c"x"]), Err(Usage(b"unknown option", Some(c"-m"))));
    }

    #[test]
    fn check_and_clients() {
        assert_eq!(p(&[c"check"]), Ok(Command::Check { dir: DEFAULT_DIR_C }));
        assert_eq!(p(&[c"check", c"-d", c"/x"]), Ok(Command::Check { dir: c"/x" }));
        let names = [c"status", c"-s", c"/s", c"-m", c"a", c"b"];
        match p(&names) {
            Ok(Command::Client { verb: Verb::Status, socket, machine: true, args }) => {
                assert_eq!(socket, c"/s");
                assert_eq!(args, &[c"a", c"b"]);
            }
            other => panic!("{other:?}"),
        }
        match p(&[c"signal", c"HUP", c"web"]) {
            Ok(Command::Client { verb: Verb::Signal, socket, args, .. }) => {
                assert_eq!(socket, DEFAULT_SOCKET_C);
                assert_eq!(args, &[c"HUP", c"web"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(p(&[c"reload"]), Ok(Command::Client { verb: Verb::Reload, .. })));
        assert!(matches!(p(&[c"status"]), Ok(Command::Client { verb: Verb::Status, machine: false, .. })));
        assert!(matches!(p(&[c"stop", c"--", c"-odd"]), Ok(Command::Client { verb: Verb::Stop, .. })));
        assert_eq!(p(&[c"status", c"-h"]), Ok(Command::Help));
    }
}
