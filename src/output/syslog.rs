//! `log=syslog`: each line one datagram to `/dev/log`, as
//! `<30>NAME[PID]: line` — facility daemon, priority info, the service's
//! name as tag and its pid, and no date: syslogd (busybox, rsyslog)
//! stamps what it receives with its own clock.
//!
//! One socket for every service, apart from the one going's own lines
//! use (`log`): a flood of service lines that fills syslog, and the lines
//! it drops, are counted per service and never cost going its own
//! messages' accounting, nor the other way round. It is connected at the
//! first line and sent to with `MSG_DONTWAIT`. When `/dev/log` is
//! missing, refuses, or is full, the line is dropped and counted, and the
//! socket is left alone for `SYSLOG_PAUSE_NS`: the lines of that pause
//! are dropped without a system call, and the first line after it tries
//! again (reconnecting if the socket had failed). Nothing wakes going up
//! for it: the retry rides on the next line.

use super::lines::Lines;
use super::{Buf, Report, Target};
use crate::fmt::Line;
use crate::limits::SYSLOG_PAUSE_NS;
use crate::table::Capture;
use rustix::fd::OwnedFd;
use rustix::io::Errno;
use rustix::net::{AddressFamily, SendFlags, SocketAddrUnix, SocketFlags, SocketType, connect, send, socket_with};

pub struct Syslog {
    fd: Option<OwnedFd>,
    /// Until then, lines are dropped without a try.
    paused_until: u64,
    /// Why the last try failed.
    why: Errno,
}

impl Syslog {
    pub const fn new() -> Self {
        Syslog { fd: None, paused_until: 0, why: Errno::NOENT }
    }

    /// Sends one message.
    fn send(&mut self, msg: &[u8], now: u64) -> Result<(), Errno> {
        if now < self.paused_until {
            return Err(self.why);
        }
        let flags = SendFlags::DONTWAIT | SendFlags::NOSIGNAL;
        let sent = match &self.fd {
            Some(fd) => send(fd, msg, flags),
            None => connected().and_then(|fd| send(self.fd.insert(fd), msg, flags)),
        };
        match sent {
            Ok(_) => Ok(()),
            Err(e) => {
                // Full: the socket stays. Anything else (no reader any
                // more, a new syslogd): connect again after the pause.
                if !matches!(e, Errno::AGAIN | Errno::NOBUFS) {
                    self.fd = None;
                }
                self.why = e;
                self.paused_until = now.saturating_add(SYSLOG_PAUSE_NS);
                Err(e)
            }
        }
    }

    /// Sends the lines read into `buf`, one datagram each; returns how
    /// much was taken (an unfinished line is left when `hold`).
    pub fn write(
        &mut self,
        c: &mut Capture,
        t: &Target,
        buf: &mut Buf,
        hold: bool,
        report: &mut impl FnMut(Report),
    ) -> usize {
        let mut tag = Line::new();
        // <PRI>: facility daemon (3) * 8 + severity info (6).
        tag.s(b"<30>").s(t.name);
        if t.pid > 0 {
            tag.s(b"[").u(t.pid as u64).s(b"]");
        }
        tag.s(b": ");
        let mut lines = Lines::new(c.line_len, true, hold);
        while let Some(p) = lines.next(buf.data()) {
            let nl = buf.data().get(p.start..p.end).is_some_and(|t| t.ends_with(b"\n"));
            let end = p.end - usize::from(nl);
            if !p.head && end == p.start {
                // The end of a line already sent.
                continue;
            }
            match self.send(buf.message(tag.bytes(), p.start, end), t.now) {
                Ok(()) if c.failing => {
                    c.failing = false;
                    report(Report::SyslogBack(core::mem::take(&mut c.dropped)));
                }
                Ok(()) => {}
                Err(e) => {
                    c.dropped = c.dropped.saturating_add(1);
                    if !c.failing {
                        c.failing = true;
                        report(Report::SyslogDown(e));
                    }
                }
            }
        }
        c.line_len = lines.line_len();
        lines.used()
    }
}

/// A datagram socket connected to `/dev/log`, non-blocking.
fn connected() -> Result<OwnedFd, Errno> {
    let fd = socket_with(AddressFamily::UNIX, SocketType::DGRAM, SocketFlags::CLOEXEC | SocketFlags::NONBLOCK, None)?;
    connect(&fd, &SocketAddrUnix::new(c"/dev/log")?)?;
    Ok(fd)
}
