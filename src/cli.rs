//! Command line -> `Command`; usage text; exit codes. Pure.

pub use crate::request::Verb;
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
       going wait [-s SOCKET] [-t SECS] NAME...   wait until every NAME is ready
       going poweroff|reboot|halt [-s SOCKET]     stop everything in order, then do that
       going -h | --help                          this text
       going -V | --version                       version
DIR defaults to /etc/going.d, SOCKET to /run/going.sock; -s may also come first.
";

#[derive(Debug, PartialEq, Eq)]
pub enum Command<'a> {
    Supervise { dir: &'static CStr, socket: &'static CStr },
    Procfile(&'static CStr),
    Check { dir: &'static CStr },
    Client { verb: Verb, socket: &'static CStr, machine: bool, timeout: Option<u32>, args: &'a [&'static CStr] },
    Help,
    Version,
}

/// A usage error: what is wrong, and the argument at fault if any.
#[derive(Debug, PartialEq, Eq)]
pub struct Usage(pub &'static [u8], pub Option<&'static CStr>);

/// What the options say so far.
struct Opts {
    dir: Option<&'static CStr>,
    socket: Option<&'static CStr>,
    procfile: Option<&'static CStr>,
    machine: bool,
    timeout: Option<u32>,
}

/// Where an option stands: before any command, or after which one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Front,
    Check,
    Client(Verb),
}

enum Step<'a> {
    Done(Command<'a>),
    Next,
}

/// Reads the options at the head of `rest`, leaving it at the first word
/// that is not one.
fn options<'a>(rest: &mut &'a [&'static CStr], at: Place, o: &mut Opts) -> Result<Step<'a>, Usage> {
    while let Some((opt, tail)) = rest.split_first() {
        let b = opt.to_bytes();
        if !b.starts_with(b"-") || b == b"-" {
            break;
        }
        // `going signal -9 web`: a signal written as kill(1) takes it.
        if at == Place::Client(Verb::Signal) && b != b"-s" && b != b"--" {
            break;
        }
        *rest = tail;
        if b == b"--" {
            break;
        }
        let value = || tail.first().copied().ok_or(Usage(b"option needs an argument", Some(*opt)));
        let client = matches!(at, Place::Client(_));
        // The options that take a value are 4 to 7.
        let k = crate::fmt::pick(b, b"-h --help -V --version -d -s -f -t -m");
        match k {
            Some(0 | 1) => return Ok(Step::Done(Command::Help)),
            Some(2 | 3) => return Ok(Step::Done(Command::Version)),
            Some(4) if !client => o.dir = Some(value()?),
            Some(5) if at != Place::Check => o.socket = Some(value()?),
            Some(6) if at == Place::Front => o.procfile = Some(value()?),
            Some(7) if at == Place::Client(Verb::Wait) => {
                let v = value()?;
                let secs = crate::fmt::parse_u64(v.to_bytes()).filter(|&n| n <= u64::from(u32::MAX));
                o.timeout = Some(secs.ok_or(Usage(b"-t needs whole seconds", Some(v)))? as u32);
            }
            Some(8) if at == Place::Client(Verb::Status) => o.machine = true,
            Some(_) => return Err(Usage(b"option not allowed here", Some(*opt))),
            None => return Err(Usage(b"unknown option", Some(*opt))),
        }
        if matches!(k, Some(4..=7)) {
            *rest = rest.get(1..).unwrap_or(&[]);
        }
    }
    Ok(Step::Next)
}

pub fn parse<'a>(args: &'a [&'static CStr]) -> Result<Command<'a>, Usage> {
    let mut o = Opts { dir: None, socket: None, procfile: None, machine: false, timeout: None };
    let mut rest = args;
    if let Step::Done(c) = options(&mut rest, Place::Front, &mut o)? {
        return Ok(c);
    }
    let dir = |o: &Opts| o.dir.unwrap_or(crate::limits::DEFAULT_DIR_C);
    let Some((word, tail)) = rest.split_first() else {
        return Ok(match o.procfile {
            Some(p) if o.dir.is_some() || o.socket.is_some() => return Err(Usage(b"-f takes no -d or -s", Some(p))),
            Some(p) => Command::Procfile(p),
            None => Command::Supervise { dir: dir(&o), socket: o.socket.unwrap_or(crate::limits::DEFAULT_SOCKET_C) },
        });
    };
    rest = tail;
    let at = match word.to_bytes() {
        b"check" => Place::Check,
        w => Place::Client(crate::request::verb(w).ok_or(Usage(b"unknown command", Some(*word)))?),
    };
    if o.procfile.is_some() || (o.dir.is_some() && at != Place::Check) {
        return Err(Usage(b"option not allowed here", Some(*word)));
    }
    if at == Place::Check && o.socket.is_some() {
        return Err(Usage(b"option not allowed here", Some(*word)));
    }
    if let Step::Done(c) = options(&mut rest, at, &mut o)? {
        return Ok(c);
    }
    let Place::Client(verb) = at else {
        if let Some((extra, _)) = rest.split_first() {
            return Err(Usage(b"unexpected argument", Some(extra)));
        }
        return Ok(Command::Check { dir: dir(&o) });
    };
    if !verb.takes_names()
        && let Some((extra, _)) = rest.split_first()
    {
        return Err(Usage(b"unexpected argument", Some(extra)));
    }
    let need = match verb {
        Verb::Signal => 2,
        v if v.needs_names() => 1,
        _ => 0,
    };
    if rest.len() < need {
        let what: &[u8] = if verb == Verb::Signal { b"signal needs SIG and NAME" } else { b"a service NAME is needed" };
        return Err(Usage(what, None));
    }
    let socket = o.socket.unwrap_or(crate::limits::DEFAULT_SOCKET_C);
    Ok(Command::Client { verb, socket, machine: o.machine, timeout: o.timeout, args: rest })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::{DEFAULT_DIR_C, DEFAULT_SOCKET_C};

    fn p<'a>(v: &'a [&'static CStr]) -> Result<Command<'a>, Usage> {
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
        assert_eq!(p(&[c"-d", c"/x", c"extra"]), Err(Usage(b"unknown command", Some(c"extra"))));
        assert_eq!(p(&[c"check", c"extra"]), Err(Usage(b"unexpected argument", Some(c"extra"))));
        assert_eq!(p(&[c"check", c"-s", c"/s"]), Err(Usage(b"option not allowed here", Some(c"-s"))));
        assert_eq!(p(&[c"stop", c"-d", c"/x", c"a"]), Err(Usage(b"option not allowed here", Some(c"-d"))));
        assert_eq!(p(&[c"stop"]), Err(Usage(b"a service NAME is needed", None)));
        assert_eq!(p(&[c"signal", c"HUP"]), Err(Usage(b"signal needs SIG and NAME", None)));
        assert_eq!(p(&[c"reload", c"x"]), Err(Usage(b"unexpected argument", Some(c"x"))));
        assert_eq!(p(&[c"-m"]), Err(Usage(b"option not allowed here", Some(c"-m"))));
        assert_eq!(p(&[c"stop", c"-m", c"x"]), Err(Usage(b"option not allowed here", Some(c"-m"))));
        assert_eq!(p(&[c"wait", c"-t", c"x", c"a"]), Err(Usage(b"-t needs whole seconds", Some(c"x"))));
        assert_eq!(p(&[c"-d", c"/x", c"status"]), Err(Usage(b"option not allowed here", Some(c"status"))));
        assert_eq!(p(&[c"-s", c"/s", c"check"]), Err(Usage(b"option not allowed here", Some(c"check"))));
        assert_eq!(p(&[c"poweroff", c"now"]), Err(Usage(b"unexpected argument", Some(c"now"))));
        assert_eq!(p(&[c"wait"]), Err(Usage(b"a service NAME is needed", None)));
    }

    #[test]
    fn client_conventions() {
        // The socket before the command, as sv and systemctl users type it.
        match p(&[c"-s", c"/s", c"status", c"a"]) {
            Ok(Command::Client { verb: Verb::Status, socket, args, .. }) => {
                assert_eq!((socket, args), (c"/s", &[c"a"][..]));
            }
            other => panic!("{other:?}"),
        }
        // Signals as kill(1) takes them.
        for sig in [c"-9", c"-TERM", c"-SIGTERM"] {
            match p(&[c"signal", sig, c"web"]) {
                Ok(Command::Client { verb: Verb::Signal, args, .. }) => assert_eq!(args, &[sig, c"web"]),
                other => panic!("{other:?}"),
            }
        }
        match p(&[c"signal", c"-s", c"/s", c"-15", c"web"]) {
            Ok(Command::Client { socket, args, .. }) => assert_eq!((socket, args), (c"/s", &[c"-15", c"web"][..])),
            other => panic!("{other:?}"),
        }
        match p(&[c"wait", c"-t", c"30", c"a", c"b"]) {
            Ok(Command::Client { verb: Verb::Wait, timeout: Some(30), args, .. }) => assert_eq!(args.len(), 2),
            other => panic!("{other:?}"),
        }
        for (w, v) in [(c"poweroff", Verb::Poweroff), (c"reboot", Verb::Reboot), (c"halt", Verb::Halt)] {
            assert!(matches!(p(&[w]), Ok(Command::Client { verb, .. }) if verb == v));
        }
    }

    #[test]
    fn check_and_clients() {
        assert_eq!(p(&[c"check"]), Ok(Command::Check { dir: DEFAULT_DIR_C }));
        assert_eq!(p(&[c"check", c"-d", c"/x"]), Ok(Command::Check { dir: c"/x" }));
        let names = [c"status", c"-s", c"/s", c"-m", c"a", c"b"];
        match p(&names) {
            Ok(Command::Client { verb: Verb::Status, socket, machine: true, args, .. }) => {
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
