//! The control socket, server side. A client sends one request line and
//! reads the answer until EOF. The line is taken a word at a time as it
//! arrives (a request may name all 256 services), each name acted on and
//! answered at once, so no request is too long and no buffer holds it
//! whole. Reads and writes never block; a slow, silent or garbage-sending
//! client is dropped at its deadline, and answers stream through a small
//! buffer. `going wait` clients move to slots of their own that cost only
//! a descriptor: they are answered when their services are ready or
//! cannot become so, never time out here (the client keeps its own
//! deadline), and never hold up anyone else. Words are parsed in
//! `request`.

use crate::fleet::{CLIENT, Fleet, Halt, LISTEN, Then, WAITER, signal_group};
use crate::fmt::Line;
use crate::limits::{CLIENT_TIMEOUT_NS, MAX_CLIENTS, MAX_WAITERS, REPLY_BUF, SEC};
use crate::request::{self, Verb};
use crate::service::Event;
use crate::status;
use core::ffi::CStr;
use rustix::event::epoll::{self, EventData, EventFlags};
use rustix::fd::OwnedFd;
use rustix::fs::{AtFlags, FileType, Mode, statat};
use rustix::io::Errno;
use rustix::net::{
    AddressFamily, SendFlags, SocketAddrUnix, SocketFlags, SocketType, accept_with, bind, connect, listen, send,
    socket_with, sockopt,
};

/// The longest word of a request: a name, a signal, a verb.
const WORD: usize = 128;

/// One connected client.
pub struct Client {
    fd: Option<OwnedFd>,
    deadline: u64,
    /// Bytes read and not yet taken as words.
    input: [u8; WORD],
    len: usize,
    /// The request line has ended (newline or EOF).
    ended: bool,
    verb: Option<Verb>,
    /// `signal`: its signal, once read.
    signal: i32,
    /// Names acted on so far.
    names: usize,
    /// `wait`: the services named, by table index, and `Table::moves`
    /// when the first was looked up.
    wait_for: WaitSet,
    moves: u32,
    out: [u8; REPLY_BUF],
    out_len: usize,
    sent: usize,
    /// Status of every service: the next row to send.
    cursor: Option<usize>,
    /// All is answered: close once it is written.
    closing: bool,
    /// An error was answered (a `wait` then does not wait).
    refused: bool,
}

/// The table indices a `wait` names, as a bit set. A request line that
/// comes in pieces is read over several wake-ups, between which files may
/// be added or removed: the indices then no longer name the same
/// services, and the wait is refused (`begin_wait`).
type WaitSet = [u64; crate::limits::MAX_SERVICES / 64];

impl Client {
    pub const fn new() -> Self {
        Client {
            fd: None,
            deadline: 0,
            input: [0; WORD],
            len: 0,
            ended: false,
            verb: None,
            signal: 0,
            names: 0,
            wait_for: [0; crate::limits::MAX_SERVICES / 64],
            moves: 0,
            out: [0; REPLY_BUF],
            out_len: 0,
            sent: 0,
            cursor: None,
            closing: false,
            refused: false,
        }
    }

    /// Queues a line of answer; `false` when the buffer has no room.
    fn push(&mut self, l: &Line) -> bool {
        let b = l.bytes();
        self.refused |= b.starts_with(b"error=");
        let Some(dst) = self.out.get_mut(self.out_len..self.out_len + b.len() + 1) else {
            return false;
        };
        let (body, nl) = dst.split_at_mut(b.len());
        body.copy_from_slice(b);
        nl.fill(b'\n');
        self.out_len += b.len() + 1;
        true
    }

    /// Room for one more line of any length?
    fn room(&self) -> bool {
        self.out_len + crate::limits::LINE < REPLY_BUF
    }

    /// The next whole word, if one has arrived; its end tells whether the
    /// line ended with it.
    fn word(&mut self) -> Option<([u8; WORD], usize)> {
        loop {
            let data = self.input.get(..self.len)?;
            // Blanks alone are no part of a word: they would fill the buffer.
            let Some(start) = data.iter().position(|&b| b != b' ' && b != b'\t') else {
                self.len = 0;
                return None;
            };
            if data.get(start) == Some(&b'\n') {
                self.ended = true;
                self.len = 0;
                return None;
            }
            let end = data.iter().skip(start).position(|&b| matches!(b, b' ' | b'\t' | b'\n')).map(|p| p + start);
            let end = match end {
                Some(e) => e,
                // At EOF the last word needs no newline.
                None if self.ended => self.len,
                None => {
                    self.input.copy_within(start..self.len, 0);
                    self.len -= start;
                    return None;
                }
            };
            let mut w = [0u8; WORD];
            let word = data.get(start..end)?;
            let n = word.len();
            w.get_mut(..n)?.copy_from_slice(word);
            let nl = data.get(end) == Some(&b'\n');
            let rest = if nl { self.len } else { end };
            self.input.copy_within(rest.min(self.len)..self.len, 0);
            self.len -= rest.min(self.len);
            if nl {
                self.ended = true;
                self.len = 0;
            }
            let w = (w, n);
            if w.1 > 0 {
                return Some(w);
            }
        }
    }
}

/// A `going wait` client between its request and its answer.
pub struct Waiter {
    fd: Option<OwnedFd>,
}

/// The socket and its clients.
pub struct Control<'a> {
    pub listener: Option<OwnedFd>,
    clients: &'a mut [Client; MAX_CLIENTS],
    waiters: [Waiter; MAX_WAITERS],
    /// Waiter slots in use, one bit each.
    waiting: u32,
    uid: u32,
    /// When accepting failed (no descriptors left), the listener rests
    /// until then; 0 when it is listening.
    paused_until: u64,
    /// Accepting failed and was logged; logged again only after it worked.
    accept_failing: bool,
    /// A client asked for `reload`.
    pub reload: bool,
}

/// Creates the listening socket: a live supervisor on `path` is an error
/// (two would fight over the services); a stale socket is replaced.
pub fn open_socket(path: &CStr) -> Result<OwnedFd, (&'static [u8], Errno)> {
    let addr = SocketAddrUnix::new(path).map_err(|e| (&b"bad socket path"[..], e))?;
    let flags = SocketFlags::CLOEXEC | SocketFlags::NONBLOCK;
    let new = || socket_with(AddressFamily::UNIX, SocketType::STREAM, flags, None);
    let probe = new().map_err(|e| (&b"cannot create socket"[..], e))?;
    match connect(&probe, &addr) {
        // A full backlog refuses with EAGAIN: a busy going is still live.
        Ok(()) | Err(Errno::AGAIN) | Err(Errno::INPROGRESS) => {
            return Err((b"another going is running on it", Errno::ADDRINUSE));
        }
        Err(_) => {}
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
    listen(&fd, 64).map_err(|e| (&b"cannot listen"[..], e))?;
    Ok(fd)
}

impl<'a> Control<'a> {
    pub fn new(listener: Option<OwnedFd>, clients: &'a mut [Client; MAX_CLIENTS]) -> Self {
        Control {
            listener,
            clients,
            waiters: [const { Waiter { fd: None } }; MAX_WAITERS],
            waiting: 0,
            uid: rustix::process::getuid().as_raw(),
            paused_until: 0,
            accept_failing: false,
            reload: false,
        }
    }

    /// Accepts every waiting connection.
    pub fn on_listen(&mut self, fleet: &mut Fleet, now: u64) {
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
                Err(e) if fleet.spend_spare(e) => {
                    reserve_used = true;
                    continue;
                }
                Err(e) => {
                    // Out of descriptors: the listener would stay readable
                    // and spin the loop. Leave it alone for a second.
                    let _ = epoll::delete(&fleet.epoll, listener);
                    self.paused_until = now + SEC;
                    if !self.accept_failing {
                        self.accept_failing = true;
                        fleet.log.error(|l| {
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
                    if epoll::add(&fleet.epoll, &fd, token, EventFlags::IN | EventFlags::RDHUP).is_err() {
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
    pub fn on_client(&mut self, slot: usize, flags: EventFlags, fleet: &mut Fleet, now: u64) {
        let writing = self.clients.get(slot).is_some_and(|c| c.out_len > c.sent);
        if writing && flags.intersects(EventFlags::ERR | EventFlags::HUP) {
            return self.close_client(slot, fleet);
        }
        self.serve(slot, fleet, now);
    }

    /// Takes what the client sent, answers what it can, writes what is
    /// answered; stops when it has to wait for the client.
    fn serve(&mut self, slot: usize, fleet: &mut Fleet, now: u64) {
        loop {
            // An answer never overtakes the log lines of what it did.
            fleet.log.flush();
            match self.flush(slot) {
                Flushed::Closed => return self.close_client(slot, fleet),
                Flushed::Blocked => return self.interest(slot, fleet, EventFlags::OUT),
                Flushed::Empty => {}
            }
            let Some(c) = self.clients.get_mut(slot) else { return };
            if let Some(k) = c.cursor {
                c.cursor = status_rows(c, fleet, k, now);
                continue;
            }
            if c.closing {
                return self.close_client(slot, fleet);
            }
            if let Some((w, n)) = c.word() {
                self.take(slot, w.get(..n).unwrap_or(&[]), fleet, now);
                continue;
            }
            if c.ended {
                self.finish(slot, fleet, now);
                continue;
            }
            if c.len == WORD {
                let mut l = Line::new();
                l.s(b"error=request too long");
                c.push(&l);
                c.closing = true;
                continue;
            }
            let Some(fd) = &c.fd else { return };
            match rustix::io::read(fd, c.input.get_mut(c.len..).unwrap_or(&mut [])) {
                // A client that hangs up without a word gets no answer.
                Ok(0) if c.verb.is_none() && c.len == 0 => return self.close_client(slot, fleet),
                Ok(0) => c.ended = true,
                Ok(n) => c.len += n,
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => return self.interest(slot, fleet, EventFlags::IN | EventFlags::RDHUP),
                Err(_) => return self.close_client(slot, fleet),
            }
        }
    }

    fn interest(&mut self, slot: usize, fleet: &mut Fleet, flags: EventFlags) {
        if let Some(fd) = self.clients.get(slot).and_then(|c| c.fd.as_ref()) {
            let _ = epoll::modify(&fleet.epoll, fd, EventData::new_u64(CLIENT | slot as u64), flags);
        }
    }

    /// One word of the request: the verb, a signal, or a name to act on.
    fn take(&mut self, slot: usize, word: &[u8], fleet: &mut Fleet, now: u64) {
        let Some(c) = self.clients.get_mut(slot) else { return };
        let mut l = Line::new();
        match c.verb {
            None => match request::verb(word) {
                Some(v) => return c.verb = Some(v),
                None => l.s(b"error=unknown request"),
            },
            Some(Verb::Signal) if c.signal == 0 => match request::signal(word) {
                Some(s) => return c.signal = s,
                None => l.s(b"error=unknown signal"),
            },
            Some(verb) => {
                c.names += 1;
                if verb.takes_names() {
                    return answer_name(c, &mut l, verb, word, fleet, now);
                }
                l.s(b"error=unexpected argument ").quoted(word)
            }
        };
        c.push(&l);
        c.closing = true;
    }

    /// The request line has ended: what is done once for it. The client
    /// is closed once its answer is written.
    fn finish(&mut self, slot: usize, fleet: &mut Fleet, now: u64) {
        let Some(c) = self.clients.get_mut(slot) else { return };
        c.closing = true;
        let mut l = Line::new();
        match c.verb {
            None if c.out_len == 0 => {
                l.s(b"error=unknown request");
            }
            None => {}
            Some(v) if v.needs_names() && c.names == 0 => {
                l.s(if v == Verb::Signal && c.signal == 0 {
                    &b"error=a signal and a service name are needed"[..]
                } else {
                    b"error=a service name is needed"
                });
            }
            Some(Verb::Status) if c.names == 0 => c.cursor = Some(0),
            Some(Verb::Reload) => {
                self.reload = true;
                l.s(b"ok");
            }
            Some(Verb::Wait) if !c.refused => self.begin_wait(slot, fleet),
            Some(v @ (Verb::Poweroff | Verb::Reboot | Verb::Halt)) => {
                let then = match v {
                    _ if !crate::init::is_machine() => Then::Exit,
                    Verb::Reboot => Then::Reboot,
                    Verb::Halt => Then::Halt,
                    _ => Then::PowerOff,
                };
                fleet.log.info(|l| {
                    l.s(v.word()).s(b" asked on the control socket, stopping all services");
                });
                fleet.shutdown(Halt { code: 0, then }, now);
                l.s(b"ok");
            }
            Some(_) => {}
        }
        if let Some(c) = self.clients.get_mut(slot) {
            c.verb = None;
            if !l.bytes().is_empty() {
                c.push(&l);
            }
        }
    }

    /// Moves a `wait` client to a waiting slot; its answer comes with
    /// `check_waits`.
    fn begin_wait(&mut self, slot: usize, fleet: &mut Fleet) {
        let Some(c) = self.clients.get_mut(slot) else { return };
        let free = (0..MAX_WAITERS).find(|&k| self.waiting & (1 << k) == 0);
        let stale = c.moves != fleet.table.moves && c.wait_for.iter().any(|&w| w != 0);
        let Some(k) = free.filter(|_| !stale) else {
            let mut l = Line::new();
            l.s(b"error=busy: ").s(if stale { &b"services came or went"[..] } else { b"too many waiting clients" });
            c.push(l.s(b", try again"));
            return;
        };
        let Some(fd) = c.fd.take() else { return };
        let _ = epoll::modify(&fleet.epoll, &fd, EventData::new_u64(WAITER | k as u64), EventFlags::RDHUP);
        for (i, e) in fleet.table.entries.iter_mut().enumerate() {
            if c.wait_for.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0) {
                e.waiters |= 1 << k;
            }
        }
        if let Some(w) = self.waiters.get_mut(k) {
            w.fd = Some(fd);
        }
        self.waiting |= 1 << k;
    }

    /// Answers every waiting client whose services are all ready, or one
    /// of which cannot become ready without help.
    pub fn check_waits(&mut self, fleet: &mut Fleet) {
        if self.waiting == 0 {
            return;
        }
        let lost = core::mem::take(&mut fleet.lost_waiters);
        for k in 0..MAX_WAITERS {
            let bit = 1u32 << k;
            if self.waiting & bit == 0 {
                continue;
            }
            let mut l = Line::new();
            let mut all_ready = true;
            if lost & bit != 0 {
                l.s(b"error=a service it waited for was removed");
            }
            for i in 0..fleet.table.entries.len() {
                if !l.bytes().is_empty() {
                    break;
                }
                if !fleet.table.entries.get(i).is_some_and(|e| e.waiters & bit != 0 && !e.svc.ready()) {
                    continue;
                }
                all_ready = false;
                if let Some(j) = fleet.stuck(i) {
                    l.s(b"error=").s(fleet.table.name(i)).s(b": ");
                    if j != i {
                        l.s(b"it waits for ").s(fleet.table.name(j)).s(b", which is ");
                    }
                    fleet.describe(&mut l, j);
                }
            }
            if all_ready && l.bytes().is_empty() {
                l.s(b"ok");
            } else if l.bytes().is_empty() {
                continue;
            }
            l.s(b"\n");
            fleet.log.flush();
            if let Some(fd) = self.waiters.get_mut(k).and_then(|w| w.fd.take()) {
                let _ = send(&fd, l.bytes(), SendFlags::DONTWAIT | SendFlags::NOSIGNAL);
                let _ = epoll::delete(&fleet.epoll, &fd);
            }
            self.end_wait(k, fleet);
        }
    }

    /// A waiting client hung up.
    pub fn on_waiter(&mut self, k: usize, fleet: &mut Fleet) {
        if let Some(fd) = self.waiters.get_mut(k).and_then(|w| w.fd.take()) {
            let _ = epoll::delete(&fleet.epoll, &fd);
        }
        self.end_wait(k, fleet);
    }

    fn end_wait(&mut self, k: usize, fleet: &mut Fleet) {
        self.waiting &= !(1 << k);
        for e in fleet.table.entries.iter_mut() {
            e.waiters &= !(1 << k);
        }
    }

    /// Writes what is buffered.
    fn flush(&mut self, slot: usize) -> Flushed {
        let Some(c) = self.clients.get_mut(slot) else { return Flushed::Closed };
        let Some(fd) = &c.fd else { return Flushed::Closed };
        while c.sent < c.out_len {
            let pending = c.out.get(c.sent..c.out_len).unwrap_or(&[]);
            match send(fd, pending, SendFlags::DONTWAIT | SendFlags::NOSIGNAL) {
                Ok(n) => c.sent += n,
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => return Flushed::Blocked,
                Err(_) => return Flushed::Closed,
            }
        }
        c.sent = 0;
        c.out_len = 0;
        Flushed::Empty
    }

    pub fn close_client(&mut self, slot: usize, fleet: &mut Fleet) {
        if let Some(c) = self.clients.get_mut(slot) {
            if let Some(fd) = c.fd.take() {
                let _ = epoll::delete(&fleet.epoll, &fd);
            }
            c.cursor = None;
        }
    }

    /// The earliest client deadline, or the end of a listener pause.
    pub fn deadline(&self) -> Option<u64> {
        // 0 is no pause; a client's deadline is never 0.
        let clients = self.clients.iter().filter(|c| c.fd.is_some()).map(|c| c.deadline);
        clients.chain([self.paused_until]).filter(|&t| t != 0).min()
    }

    pub fn expire(&mut self, fleet: &mut Fleet, now: u64) {
        if self.paused_until != 0 && self.paused_until <= now {
            self.paused_until = 0;
            if let Some(l) = &self.listener {
                let _ = epoll::add(&fleet.epoll, l, EventData::new_u64(LISTEN), EventFlags::IN);
            }
        }
        for slot in 0..MAX_CLIENTS {
            if self.clients.get(slot).is_some_and(|c| c.fd.is_some() && c.deadline <= now) {
                self.close_client(slot, fleet);
            }
        }
    }
}

enum Flushed {
    Empty,
    Blocked,
    Closed,
}

/// A name in a request that takes names: acted on, and answered.
fn answer_name(c: &mut Client, l: &mut Line, verb: Verb, word: &[u8], fleet: &mut Fleet, now: u64) {
    let Ok(i) = fleet.table.find(word) else {
        l.s(b"error=").masked(word).s(b": no such service");
        c.push(l);
        return;
    };
    let Some(s) = fleet.table.entries.get(i).map(|e| &e.svc) else { return };
    let invalid = s.state == crate::service::State::Failed(crate::service::Fault::Invalid);
    // Why it is refused; empty when it is done.
    let why: &[u8] = match verb {
        Verb::Status => {
            status_row(l, fleet, i, now);
            c.push(l);
            return;
        }
        Verb::Wait => {
            if c.wait_for.iter().all(|&w| w == 0) {
                c.moves = fleet.table.moves;
            }
            if let Some(w) = c.wait_for.get_mut(i / 64) {
                *w |= 1 << (i % 64);
            }
            return;
        }
        Verb::Signal if s.running() => {
            signal_group(s.pid, c.signal);
            b""
        }
        Verb::Signal => b": not running",
        _ if fleet.halt.is_some() => b": going is shutting down",
        Verb::Stop => {
            fleet.act(i, Event::Stop, now);
            b""
        }
        _ if invalid => b": its config is invalid",
        _ => {
            fleet.act(i, if verb == Verb::Restart { Event::Restart } else { Event::Start }, now);
            b""
        }
    };
    l.s(if why.is_empty() { b"ok=" } else { b"error=" }).s(word).s(why);
    c.push(l);
}

/// Appends the next rows of a full status to a client's buffer, from
/// row `k`; returns where to go on, `None` once all are out.
fn status_rows(c: &mut Client, fleet: &mut Fleet, mut k: usize, now: u64) -> Option<usize> {
    let n = fleet.table.entries.len();
    while c.room() {
        let mut l = Line::new();
        if k < n {
            status_row(&mut l, fleet, k, now);
        } else if let Some(r) = fleet.table.rejected.get(k - n) {
            l.s(b"rejected=").file(fleet.dir.to_bytes(), r.name()).s(b": ");
            r.why.describe(&mut l);
        } else if fleet.table.more_rejected > 0 && k == n + fleet.table.rejected.len() {
            l.s(b"rejected=").u(u64::from(fleet.table.more_rejected)).s(b" more entries");
        } else {
            return None;
        }
        c.push(&l);
        k += 1;
    }
    Some(k)
}

/// One service's status row: `status::row`, what it waits for, and why
/// it is failed or what is wrong with its file.
fn status_row(l: &mut Line, fleet: &mut Fleet, i: usize, now: u64) {
    let Some(e) = fleet.table.entries.get(i) else { return };
    let (state, err) = (e.svc.state, e.err);
    status::row(l, fleet.table.name(i), &e.svc, now);
    fleet.cgroup_fields(l, i);
    if state == crate::service::State::Waiting {
        l.s(b" waiting=");
        fleet.waiting_for(l, i);
    }
    if !err.is_empty() {
        let name = fleet.table.name(i);
        l.s(b" error=").file(fleet.dir.to_bytes(), name).s(fleet.table.bytes(err));
    } else if let crate::service::State::Failed(_) = state {
        l.s(b" error=").s(fleet.table.name(i)).s(b": ");
        fleet.describe(l, i);
    }
}
