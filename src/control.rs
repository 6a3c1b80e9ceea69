//! The control socket, server side. A client sends one request line and
//! reads the answer until EOF. Every client costs one fixed slot; reads
//! and writes never block; a slow, silent or garbage-sending client is
//! dropped at its deadline, and status rows stream through a small buffer
//! so the answer's size never matters. Requests are parsed in `request`.

use crate::fmt::Line;
use crate::limits::{CLIENT_TIMEOUT_NS, MAX_CLIENTS, REPLY_BUF, REQUEST_MAX};
use crate::request::{Request, names, parse_request};
use crate::service::{Event, State};
use crate::status;
use crate::supervisor::{CLIENT, Supervisor, signal_group};
use core::ffi::CStr;
use rustix::event::epoll::{self, EventData, EventFlags};
use rustix::fd::OwnedFd;
use rustix::fs::{AtFlags, FileType, Mode, statat};
use rustix::io::Errno;
use rustix::net::{
    AddressFamily, SendFlags, SocketAddrUnix, SocketFlags, SocketType, accept_with, bind, connect, listen, send,
    socket_with, sockopt,
};

/// One connected client.
pub struct Client {
    fd: Option<OwnedFd>,
    deadline: u64,
    req: [u8; REQUEST_MAX],
    len: usize,
    out: [u8; REPLY_BUF],
    out_len: usize,
    sent: usize,
    /// Status: the next row to send, or `None` once all rows are out.
    cursor: Option<usize>,
    /// Status: length of the request line whose names filter the rows.
    line: usize,
}

impl Client {
    pub const fn new() -> Self {
        Client {
            fd: None,
            deadline: 0,
            req: [0; REQUEST_MAX],
            len: 0,
            out: [0; REPLY_BUF],
            out_len: 0,
            sent: 0,
            cursor: None,
            line: 0,
        }
    }

    /// A copy of the request line, to read while the table changes.
    fn request(&self) -> ([u8; REQUEST_MAX], usize) {
        let mut copy = [0u8; REQUEST_MAX];
        let line = self.req.get(..self.line).unwrap_or(&[]);
        if let Some(d) = copy.get_mut(..line.len()) {
            d.copy_from_slice(line);
        }
        (copy, line.len())
    }

    fn push(&mut self, l: &Line) -> bool {
        let b = l.bytes();
        let Some(dst) = self.out.get_mut(self.out_len..self.out_len + b.len() + 1) else {
            return false;
        };
        let (body, nl) = dst.split_at_mut(b.len());
        body.copy_from_slice(b);
        nl.fill(b'\n');
        self.out_len += b.len() + 1;
        true
    }
}

/// Creates the listening socket: a live supervisor on `path` is an error
/// (two would fight over the services); a stale socket is replaced.
pub fn open_socket(path: &CStr) -> Result<OwnedFd, (&'static [u8], Errno)> {
    let addr = SocketAddrUnix::new(path).map_err(|e| (&b"bad socket path"[..], e))?;
    let flags = SocketFlags::CLOEXEC | SocketFlags::NONBLOCK;
    let new = || socket_with(AddressFamily::UNIX, SocketType::STREAM, flags, None);
    let probe = new().map_err(|e| (&b"cannot create socket"[..], e))?;
    if connect(&probe, &addr).is_ok() {
        return Err((b"another going is running on it", Errno::ADDRINUSE));
    }
    match statat(rustix::fs::CWD, path, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) if FileType::from_raw_mode(st.st_mode) != FileType::Socket => {
            return Err((b"exists and is not a socket", Errno::EXIST));
        }
        Ok(_) => {
            let _ = rustix::fs::unlink(path);
        }
        Err(_) => {}
    }
    let fd = new().map_err(|e| (&b"cannot create socket"[..], e))?;
    let old = rustix::process::umask(Mode::from_bits_truncate(0o177));
    let bound = bind(&fd, &addr);
    rustix::process::umask(old);
    bound.map_err(|e| (&b"cannot bind"[..], e))?;
    listen(&fd, 16).map_err(|e| (&b"cannot listen"[..], e))?;
    Ok(fd)
}

impl Supervisor<'_> {
    /// Accepts every waiting connection.
    pub fn on_listen(&mut self, now: u64) {
        let Some(listener) = &self.listener else {
            return;
        };
        let mut reserve_used = false;
        loop {
            let fd = match accept_with(listener, SocketFlags::CLOEXEC | SocketFlags::NONBLOCK) {
                Ok(fd) => {
                    // Only an accept that needed no reserve ends the fault.
                    self.accept_failing &= reserve_used;
                    fd
                }
                Err(Errno::INTR | Errno::CONNABORTED) => continue,
                Err(Errno::AGAIN) => return,
                // Out of descriptors: the reserve makes room for this one.
                Err(Errno::MFILE | Errno::NFILE) if self.spare.iter().any(Option::is_some) => {
                    self.spare = [None, None];
                    reserve_used = true;
                    continue;
                }
                Err(e) => {
                    // Out of descriptors: the listener would stay readable
                    // and spin the loop. Leave it alone for a second.
                    let _ = epoll::delete(&self.epoll, listener);
                    self.listen_paused_until = now + crate::limits::SEC;
                    if !self.accept_failing {
                        self.accept_failing = true;
                        self.log.error(|l| {
                            l.s(b"cannot accept on the control socket: ").s(crate::sys::strerror(e));
                            l.s(b"; pausing it for 1s");
                        });
                    }
                    return;
                }
            };
            let allowed = sockopt::socket_peercred(&fd).is_ok_and(|c| c.uid.is_root() || c.uid.as_raw() == self.uid);
            let free = self.clients.iter().position(|c| c.fd.is_none());
            let refusal: &[u8] = match (allowed, free) {
                (false, _) => b"error=permission denied\n",
                (true, None) => b"error=busy: too many clients, try again\n",
                (true, Some(slot)) => {
                    let token = EventData::new_u64(CLIENT | slot as u64);
                    if epoll::add(&self.epoll, &fd, token, EventFlags::IN | EventFlags::RDHUP).is_err() {
                        continue;
                    }
                    if let Some(c) = self.clients.get_mut(slot) {
                        *c = Client::new();
                        c.fd = Some(fd);
                        c.deadline = now + CLIENT_TIMEOUT_NS;
                    }
                    continue;
                }
            };
            let _ = send(&fd, refusal, SendFlags::DONTWAIT | SendFlags::NOSIGNAL);
            // Unread input would turn the close into a reset that can hide
            // the refusal from the client.
            let mut sink = [0u8; 512];
            while matches!(rustix::io::read(&fd, &mut sink), Ok(n) if n > 0) {}
        }
    }

    /// Something happened on client `slot`'s socket.
    pub fn on_client(&mut self, slot: usize, flags: EventFlags, now: u64) {
        let Some(c) = self.clients.get_mut(slot) else {
            return;
        };
        let Some(fd) = &c.fd else { return };
        if c.cursor.is_some() || c.out_len > 0 {
            if flags.intersects(EventFlags::ERR | EventFlags::HUP) {
                self.close_client(slot);
            } else {
                self.flush(slot, now);
            }
            return;
        }
        let got = rustix::io::read(fd, c.req.get_mut(c.len..).unwrap_or(&mut []));
        match got {
            Err(Errno::AGAIN | Errno::INTR) => return,
            Ok(n) if n > 0 => c.len += n,
            _ if c.len == 0 => return self.close_client(slot),
            _ => {
                // EOF after a request without newline: take it as it is.
                let _ = c.req.get_mut(c.len - 1..c.len).map(|b| b.fill(b'\n'));
            }
        }
        let Some(end) = c.req.get(..c.len).and_then(|r| r.iter().position(|&b| b == b'\n')) else {
            if c.len == REQUEST_MAX {
                let mut l = Line::new();
                l.s(b"error=request too long");
                c.push(&l);
                self.start_reply(slot, now);
            }
            return;
        };
        c.line = end;
        self.answer(slot, now);
        self.start_reply(slot, now);
    }

    fn start_reply(&mut self, slot: usize, now: u64) {
        if let Some(fd) = self.clients.get(slot).and_then(|c| c.fd.as_ref()) {
            let token = EventData::new_u64(CLIENT | slot as u64);
            let _ = epoll::modify(&self.epoll, fd, token, EventFlags::OUT);
        }
        self.flush(slot, now);
    }

    /// Carries out a request; status rows are produced later by `flush`.
    fn answer(&mut self, slot: usize, now: u64) {
        let Some(c) = self.clients.get_mut(slot) else {
            return;
        };
        let (req, n) = c.request();
        let request = parse_request(req.get(..n).unwrap_or(&[]));
        let (ev, list) = match request {
            Err(why) => {
                let mut l = Line::new();
                l.s(b"error=").s(why);
                c.push(&l);
                return;
            }
            Ok(Request::Status(_)) => {
                c.cursor = Some(0);
                return;
            }
            Ok(Request::Reload) => {
                self.log.info(|l| {
                    l.s(b"reloading ").s(self.dir.to_bytes()).s(b" (asked on the control socket)");
                });
                self.reload(now);
                return;
            }
            Ok(Request::Start(n)) => (Some(Event::Start), n),
            Ok(Request::Stop(n)) => (Some(Event::Stop), n),
            Ok(Request::Restart(n)) => (Some(Event::Restart), n),
            Ok(Request::Signal(_, n)) => (None, n),
        };
        for name in names(list) {
            let mut l = Line::new();
            let found = self.table.find(name).ok();
            let svc = found.and_then(|i| self.table.entries.get(i)).map(|e| e.svc);
            match (svc, ev, request) {
                (None, _, _) => l.s(b"error=").masked(name).s(b": no such service"),
                (Some(s), Some(Event::Start | Event::Restart), _) if s.state == State::Failed => {
                    l.s(b"error=").s(name).s(b": its config is invalid")
                }
                (Some(s), None, Ok(Request::Signal(n, _))) => {
                    if s.running() {
                        signal_group(s.pid, n);
                        l.s(b"ok=").s(name)
                    } else {
                        l.s(b"error=").s(name).s(b": not running")
                    }
                }
                (Some(_), Some(ev), _) => {
                    if let Some(i) = found {
                        self.act(i, ev, now);
                    }
                    l.s(b"ok=").s(name)
                }
                _ => continue,
            };
            if let Some(c) = self.clients.get_mut(slot) {
                c.push(&l);
            }
        }
    }

    /// Writes what is buffered; refills status rows; closes when done.
    fn flush(&mut self, slot: usize, now: u64) {
        loop {
            let Some(c) = self.clients.get_mut(slot) else {
                return;
            };
            let Some(fd) = &c.fd else { return };
            if c.sent < c.out_len {
                let pending = c.out.get(c.sent..c.out_len).unwrap_or(&[]);
                match send(fd, pending, SendFlags::DONTWAIT | SendFlags::NOSIGNAL) {
                    Ok(n) => c.sent += n,
                    Err(Errno::AGAIN | Errno::INTR) => return,
                    Err(_) => return self.close_client(slot),
                }
                continue;
            }
            c.sent = 0;
            c.out_len = 0;
            if c.cursor.is_none() || !self.status_rows(slot, now) {
                return self.close_client(slot);
            }
        }
    }

    /// Appends the next status rows to a client's buffer; `false` when
    /// there are none left.
    fn status_rows(&mut self, slot: usize, now: u64) -> bool {
        let Self { table, clients, dir, .. } = self;
        let Some(c) = clients.get_mut(slot) else {
            return false;
        };
        let (req, n) = c.request();
        let filter = match parse_request(req.get(..n).unwrap_or(&[])) {
            Ok(Request::Status(f)) => f,
            _ => b"",
        };
        let d = dir.to_bytes();
        let mut wrote = false;
        while let Some(k) = c.cursor {
            let mut l = Line::new();
            let named = names(filter).nth(k);
            let entry = match named {
                Some(n) => match table.find(n) {
                    Ok(i) => table.entries.get(i),
                    Err(_) => {
                        l.s(b"error=").masked(n).s(b": no such service");
                        None
                    }
                },
                None if names(filter).next().is_some() => {
                    c.cursor = None;
                    break;
                }
                None => table.entries.get(k),
            };
            let rejected = k.checked_sub(table.entries.len()).and_then(|r| table.rejected.get(r));
            if let Some(e) = entry {
                let name = table.bytes(e.name);
                status::row(&mut l, name, &e.svc, now);
                if !e.err.is_empty() {
                    l.s(b" error=").file(d, name).s(table.bytes(e.err));
                }
            } else if let (None, Some(r)) = (named, rejected) {
                l.s(b"rejected=").file(d, r.name()).s(b": ");
                r.why.describe(&mut l);
            } else if named.is_none() {
                if table.more_rejected > 0 && k == table.entries.len() + table.rejected.len() {
                    l.s(b"rejected=").u(u64::from(table.more_rejected)).s(b" more entries");
                } else {
                    c.cursor = None;
                    break;
                }
            }
            if !c.push(&l) {
                break;
            }
            wrote = true;
            c.cursor = Some(k + 1);
        }
        wrote || c.out_len > 0
    }

    pub fn close_client(&mut self, slot: usize) {
        if let Some(c) = self.clients.get_mut(slot) {
            if let Some(fd) = c.fd.take() {
                let _ = epoll::delete(&self.epoll, &fd);
            }
            c.cursor = None;
        }
    }

    /// The earliest client deadline, or the end of a listener pause.
    pub fn client_deadline(&self) -> Option<u64> {
        let pause = Some(self.listen_paused_until).filter(|&t| t != 0);
        self.clients.iter().filter(|c| c.fd.is_some()).map(|c| c.deadline).chain(pause).min()
    }

    pub fn expire_clients(&mut self, now: u64) {
        if self.listen_paused_until != 0 && self.listen_paused_until <= now {
            self.listen_paused_until = 0;
            if let Some(l) = &self.listener {
                let _ = epoll::add(&self.epoll, l, EventData::new_u64(crate::supervisor::LISTEN), EventFlags::IN);
            }
        }
        for slot in 0..MAX_CLIENTS {
            if self.clients.get(slot).is_some_and(|c| c.fd.is_some() && c.deadline <= now) {
                self.close_client(slot);
            }
        }
    }
}
