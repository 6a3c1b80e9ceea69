//! `log=syslog`: each line one datagram to `/dev/log`, as
//! `<30>NAME[PID]: line` — facility daemon, priority info, the service's
//! name as tag and its pid, and no date: syslogd (busybox, rsyslog)
//! stamps what it receives with its own clock.
//!
//! One socket serves every service; going's own lines keep theirs
//! (`log`), so each side paces its reconnects (10 s there, a second here)
//! and counts its drops, a service's for that service alone, without the
//! other's state in its way. It is connected at the first line and sent to with `MSG_DONTWAIT`. A line `/dev/log` does not
//! take is dropped and counted. When its queue is full (a syslogd holds
//! only `max_dgram_qlen` datagrams before it reads them), that is all:
//! the next line may go. When it is missing or refuses, the socket is
//! closed and left alone for `SYSLOG_PAUSE_NS`: the lines of that pause
//! are dropped without a system call, and the first line after it
//! connects again. Nothing wakes going up for it: the retry rides on the
//! next line.

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
    #[inline(never)]
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
            // Its queue is full: this line is lost, the next may go.
            Err(e @ (Errno::AGAIN | Errno::NOBUFS)) => Err(e),
            Err(e) => {
                // Missing, refusing, a new syslogd: connect again, once
                // the pause is over.
                self.fd = None;
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
                // A run of drops ends with a line that gets through, at
                // the earliest a pause after it began: a syslogd that is
                // full again and again costs two log lines a second.
                Ok(()) if c.failing && t.now >= c.until => {
                    c.failing = false;
                    report(Report::SyslogBack(core::mem::take(&mut c.dropped)));
                }
                Ok(()) => {}
                Err(e) => {
                    c.dropped = c.dropped.saturating_add(1);
                    if !c.failing {
                        c.failing = true;
                        c.until = t.now.saturating_add(SYSLOG_PAUSE_NS);
                        report(Report::SyslogDown(e));
                    }
                }
            }
        }
        c.line_len = lines.line_len();
        lines.used()
    }
}

/// A datagram socket connected to `/dev/log`, non-blocking; going's own
/// lines (`log`) use one too.
pub fn connected() -> Result<OwnedFd, Errno> {
    let fd = socket_with(AddressFamily::UNIX, SocketType::DGRAM, SocketFlags::CLOEXEC | SocketFlags::NONBLOCK, None)?;
    connect(&fd, &SocketAddrUnix::new(c"/dev/log")?)?;
    Ok(fd)
}
