//! Readiness by systemd's protocol (`ready=notify`): one datagram socket
//! for all such services, `SOCKET.notify`, named in their
//! `NOTIFY_SOCKET`. A datagram with the line `READY=1` makes its sender's
//! service ready, and the sender is known from the kernel's credentials
//! (`SO_PASSCRED`), so only a process of that service can speak for it:
//! the main process or one of its session (every service leads its
//! own). A sender already gone (and reaped) when going reads its datagram
//! cannot be told from a stranger and counts for nobody; systemd-notify
//! and `sd_notify_barrier` wait for that with `BARRIER=1`, whose
//! descriptor going closes once every datagram before it is read. The
//! other protocol, `ready=fd:N`, is a pipe per spawn (`fleet`).

use crate::fleet::Fleet;
use crate::leftover;
use core::ffi::CStr;
use core::mem::MaybeUninit;
use rustix::fd::{AsRawFd, OwnedFd};
use rustix::fs::Mode;
use rustix::io::{Errno, IoSliceMut};
use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SocketAddrUnix, SocketFlags, SocketType, bind,
    recvmsg, socket_with, sockopt,
};

/// How many descriptors one datagram may bring that going closes itself.
const PASSED_FDS: usize = 16;

pub struct Notify {
    fd: OwnedFd,
}

/// Builds `SOCKET.notify` into `buf`.
pub fn path<'a>(socket: &CStr, buf: &'a mut [u8; 256]) -> Option<&'a CStr> {
    crate::safefile::c_string(buf, &[socket.to_bytes(), b".notify"])
}

impl Notify {
    /// Binds the socket, replacing a stale one; any user may send to it
    /// (what a sender says counts only for its own service).
    pub fn open(path: &CStr) -> Result<Notify, Errno> {
        let addr = SocketAddrUnix::new(path)?;
        let fd =
            socket_with(AddressFamily::UNIX, SocketType::DGRAM, SocketFlags::CLOEXEC | SocketFlags::NONBLOCK, None)?;
        sockopt::set_socket_passcred(&fd, true)?;
        let _ = rustix::fs::unlink(path);
        let old = rustix::process::umask(Mode::from_bits_truncate(0o111));
        let bound = bind(&fd, &addr);
        rustix::process::umask(old);
        bound?;
        Ok(Notify { fd })
    }

    pub fn fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    /// Reads every datagram waiting; calls `ready` with the pid of each
    /// sender of a `READY=1`.
    pub fn receive(&self, mut ready: impl FnMut(i32)) {
        loop {
            let mut data = [0u8; 4096];
            // Room for the descriptors of a `BARRIER=1` (or any a sender
            // passes) so that they are received and closed here, which is
            // what the barrier waits for; going keeps none. Descriptors
            // beyond the room the kernel closes itself.
            let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmCredentials(1), ScmRights(PASSED_FDS))];
            let mut control = RecvAncillaryBuffer::new(&mut space);
            let mut iov = [IoSliceMut::new(&mut data)];
            let got = recvmsg(&self.fd, &mut iov, &mut control, RecvFlags::DONTWAIT | RecvFlags::CMSG_CLOEXEC);
            let n = match got {
                Ok(m) => m.bytes,
                Err(Errno::INTR) => continue,
                Err(_) => return,
            };
            let mut sender = None;
            for msg in control.drain() {
                // Passed descriptors close when their message drops.
                if let RecvAncillaryMessage::ScmCredentials(c) = msg {
                    sender = Some(c.pid.as_raw_nonzero().get());
                }
            }
            let says_ready = data.get(..n).is_some_and(|d| d.split(|&b| b == b'\n').any(|l| l == b"READY=1"));
            if let Some(pid) = sender.filter(|_| says_ready) {
                ready(pid);
            }
        }
    }
}

/// The service process `pid` belongs to: the one it is the main process
/// of, or whose session it is in.
pub fn owner(fleet: &Fleet, pid: i32) -> Option<usize> {
    let entries = &fleet.table.entries;
    if let Some(i) = entries.iter().position(|e| e.svc.pid == pid) {
        return Some(i);
    }
    let st = leftover::stat_of(u64::try_from(pid).ok()?)?;
    entries.iter().position(|e| e.svc.running() && u64::try_from(e.svc.pid).ok() == Some(st.session))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_get_their_suffix() {
        let mut buf = [0u8; 256];
        assert_eq!(path(c"/run/going.sock", &mut buf).unwrap().to_bytes(), b"/run/going.sock.notify");
        let long = std::ffi::CString::new(vec![b'x'; 250]).unwrap();
        assert!(path(&long, &mut buf).is_none());
    }
}
