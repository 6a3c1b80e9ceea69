//! The words of the control protocol. Pure: the supervisor (`control`)
//! reads a request a word at a time and carries it out; this is all a
//! client can make it parse.
//!
//! A request is one line: a verb, for `signal` a signal, then names,
//! separated by blanks. The answer is lines of `ok=NAME`, `error=TEXT`
//! or status rows, then EOF.

use crate::sig;

/// What a client asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Status,
    Start,
    Stop,
    Restart,
    Signal,
    Reload,
    Wait,
    Poweroff,
    Reboot,
    Halt,
}

const VERBS: [(Verb, &[u8]); 10] = [
    (Verb::Status, b"status"),
    (Verb::Start, b"start"),
    (Verb::Stop, b"stop"),
    (Verb::Restart, b"restart"),
    (Verb::Signal, b"signal"),
    (Verb::Reload, b"reload"),
    (Verb::Wait, b"wait"),
    (Verb::Poweroff, b"poweroff"),
    (Verb::Reboot, b"reboot"),
    (Verb::Halt, b"halt"),
];

impl Verb {
    pub fn word(self) -> &'static [u8] {
        // `VERBS` is in the order of `Verb`.
        VERBS.get(self as usize).map_or(b"?", |(_, w)| w)
    }

    /// Does it take service names?
    pub fn takes_names(self) -> bool {
        !matches!(self, Verb::Reload | Verb::Poweroff | Verb::Reboot | Verb::Halt)
    }

    /// Must it name at least one service?
    pub fn needs_names(self) -> bool {
        self.takes_names() && self != Verb::Status
    }
}

/// The verb a request starts with.
pub fn verb(w: &[u8]) -> Option<Verb> {
    VERBS.iter().find(|(_, word)| *word == w).map(|(v, _)| *v)
}

/// A signal as kill(1) takes it: `TERM`, `SIGTERM`, `15`, `-TERM`, `-15`.
pub fn signal(w: &[u8]) -> Option<i32> {
    sig::parse(w.strip_prefix(b"-").unwrap_or(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_round_trip() {
        for (v, w) in VERBS {
            assert_eq!(verb(w), Some(v));
            assert_eq!(v.word(), w);
        }
        for bad in [&b""[..], b"STATUS", b"frob", b"stat"] {
            assert_eq!(verb(bad), None);
        }
        assert!(Verb::Status.takes_names() && !Verb::Status.needs_names());
        assert!(Verb::Wait.needs_names() && !Verb::Reload.takes_names());
    }

    #[test]
    fn signals_as_kill_takes_them() {
        for w in [&b"TERM"[..], b"SIGTERM", b"15", b"-TERM", b"-15", b"-SIGTERM", b"term"] {
            assert_eq!(signal(w), Some(15), "{:?}", String::from_utf8_lossy(w));
        }
        assert_eq!(signal(b"-9"), Some(9));
        assert_eq!(signal(b"RTMIN+1"), Some(35));
        for bad in [&b""[..], b"-", b"--9", b"NOPE", b"0", b"65"] {
            assert_eq!(signal(bad), None);
        }
    }
}
