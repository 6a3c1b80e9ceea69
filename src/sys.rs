//! The only `unsafe` code of going: what rustix has no public API for
//! (signal masks, signalfd, fork, execve, waitid with WNOWAIT) and the
//! raw `argv`. Each block says why it is sound.
#![allow(unsafe_code)]

use core::convert::Infallible;
use core::ffi::{CStr, c_char};
use core::mem::MaybeUninit;
use rustix::fd::{BorrowedFd, FromRawFd, OwnedFd};
use rustix::io::Errno;

/// Signals that must keep their default action in going itself: faults
/// going cannot recover from.
const SYNCHRONOUS: [i32; 7] =
    [libc::SIGSEGV, libc::SIGBUS, libc::SIGFPE, libc::SIGILL, libc::SIGTRAP, libc::SIGABRT, libc::SIGSYS];

fn errno() -> Errno {
    // SAFETY: musl's errno location is valid for the calling thread.
    Errno::from_raw_os_error(unsafe { *libc::__errno_location() })
}

/// The program's arguments, `argv[1..]`.
pub fn args(argc: i32, argv: *const *const u8) -> impl Iterator<Item = &'static CStr> {
    (1..usize::try_from(argc).unwrap_or(0)).filter_map(move |i| {
        // SAFETY: the C runtime passes `argc` valid pointers in `argv`, each
        // to a NUL-terminated string that lives as long as the process.
        let p = unsafe { *argv.add(i) };
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p.cast::<c_char>()) })
    })
}

/// The value of an environment variable of going's own environment.
pub fn getenv(name: &CStr) -> Option<&'static [u8]> {
    // SAFETY: `name` is NUL-terminated; musl's `getenv` returns null or a
    // pointer into the environment, which lives as long as the process
    // (going never calls `setenv`).
    let p = unsafe { libc::getenv(name.as_ptr()) };
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_bytes())
}

/// Blocks every asynchronous signal and returns a non-blocking,
/// close-on-exec `signalfd(2)` that reads them all: going has no signal
/// handlers. `SIGPIPE` is blocked too, so a write to a closed pipe fails
/// with `EPIPE` instead of killing going.
pub fn signalfd_all() -> Result<OwnedFd, Errno> {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: `sigfillset` initialises the set; `sigdelset` and
    // `sigprocmask` only read and write it and the thread's mask.
    unsafe {
        libc::sigfillset(set.as_mut_ptr());
        for s in SYNCHRONOUS {
            libc::sigdelset(set.as_mut_ptr(), s);
        }
        if libc::sigprocmask(libc::SIG_BLOCK, set.as_ptr(), core::ptr::null_mut()) != 0 {
            return Err(errno());
        }
        let fd = libc::signalfd(-1, set.as_ptr(), libc::SFD_NONBLOCK | libc::SFD_CLOEXEC);
        if fd < 0 {
            return Err(errno());
        }
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

/// Unblocks every signal: in a child before `execve`, so a service starts
/// with an empty signal mask.
pub fn unblock_all() {
    let mut set = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: the set is initialised by `sigemptyset` before it is read.
    unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        libc::sigprocmask(libc::SIG_SETMASK, set.as_ptr(), core::ptr::null_mut());
    }
}

/// Sets every ignored signal back to its default action, so services do
/// not inherit what going's parent ignored (ignored signals survive exec).
/// The raw `rt_sigaction(2)`: musl's `sigaction` refuses the signals it
/// keeps for itself (32 to 34), and those can arrive ignored too.
pub fn default_dispositions() {
    // The kernel's `struct sigaction` on x86_64: handler, flags, restorer,
    // mask; a handler of 1 is SIG_IGN, 0 SIG_DFL.
    for s in 1..=64 {
        if s == libc::SIGKILL || s == libc::SIGSTOP {
            continue;
        }
        let mut old = [0u64; 4];
        let dfl = [0u64; 4];
        // SAFETY: both buffers have the kernel's layout and size for an
        // 8-byte signal set; a null new action only reads the old one.
        unsafe {
            let read = libc::syscall(libc::SYS_rt_sigaction, s, core::ptr::null::<u64>(), old.as_mut_ptr(), 8);
            if read == 0 && old[0] == 1 {
                libc::syscall(libc::SYS_rt_sigaction, s, dfl.as_ptr(), core::ptr::null_mut::<u64>(), 8);
            }
        }
    }
}

/// Marks every descriptor from 3 up close-on-exec, so nothing going
/// inherited reaches a service.
pub fn cloexec_from_3() {
    const SYS_CLOSE_RANGE: libc::c_long = 436;
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 4;
    // SAFETY: `close_range(2)` with CLOEXEC only changes descriptor flags.
    let r = unsafe { libc::syscall(SYS_CLOSE_RANGE, 3u32, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    if r != 0 {
        // Before Linux 5.11: set the flag on each descriptor that exists.
        for fd in 3..1024 {
            // SAFETY: F_SETFD on a descriptor that may not exist fails with
            // EBADF and changes nothing.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
    }
}

/// Starts a child process that shares going's memory and runs `child` on
/// `stack` until it execs or exits, as `posix_spawn` does: no page tables
/// are copied and no page of going's is made copy-on-write, and going
/// sleeps until the child has exec'd or died (`CLONE_VFORK`). Returns the
/// child's pid.
pub fn spawn_on<F: FnMut() -> Infallible>(stack: &mut [MaybeUninit<u8>], child: &mut F) -> Result<i32, Errno> {
    #[allow(unreachable_code)] // `child` never returns: it execs or exits
    extern "C" fn entry<F: FnMut() -> Infallible>(arg: *mut libc::c_void) -> libc::c_int {
        // SAFETY: `arg` is the `&mut F` passed to `clone` below, alive
        // while going sleeps in `clone`.
        let child = unsafe { &mut *arg.cast::<F>() };
        match child() {}
    }
    let top = stack.as_mut_ptr_range().end;
    let top = top.wrapping_sub(top as usize % 16);
    let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD;
    // SAFETY: going has one thread and every signal with a handler is
    // blocked (it has none), so nothing of going's runs on the child's
    // stack; the child writes only to that stack (and to errno, which
    // going does not read across this call), makes system calls, and
    // ends in `execve` or `_exit`, which wakes going. `stack` and `child`
    // outlive the call because going is suspended until then.
    let pid = unsafe { libc::clone(entry::<F>, top.cast(), flags, (child as *mut F).cast()) };
    if pid < 0 { Err(errno()) } else { Ok(pid) }
}

/// `execve(2)`; returns only on failure.
pub fn execve(path: *const c_char, argv: *const *const c_char, envp: *const *const c_char) -> Errno {
    // SAFETY: the caller passes a NUL-terminated path and null-terminated
    // arrays of NUL-terminated strings that outlive the call.
    unsafe { libc::execve(path, argv, envp) };
    errno()
}

/// `_exit(2)`: leaves a forked child without running anything of going's.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: `_exit` is always safe to call; it does not return.
    unsafe { libc::_exit(code) }
}

/// The text of an error number, as `strerror(3)` gives it.
pub fn strerror(e: Errno) -> &'static [u8] {
    // SAFETY: musl's `strerror` returns a pointer to a static string for
    // every number.
    unsafe { CStr::from_ptr(libc::strerror(e.raw_os_error())) }.to_bytes()
}

/// The pid of an exited child, left waitable (`WNOWAIT`): its process
/// group cannot be reused until it is reaped.
pub fn peek_exited() -> Option<i32> {
    let mut info = MaybeUninit::<libc::siginfo_t>::zeroed();
    let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
    // SAFETY: `waitid` writes a `siginfo_t` into the zeroed buffer; with
    // WNOHANG and no child ready, `si_pid` stays 0.
    unsafe {
        if libc::waitid(libc::P_ALL, 0, info.as_mut_ptr(), flags) != 0 {
            return None;
        }
        let pid = info.assume_init_ref().si_pid();
        (pid > 0).then_some(pid)
    }
}

/// Closes a raw descriptor that going owns.
pub fn close(fd: i32) {
    if fd >= 0 {
        // SAFETY: callers pass descriptors they own and forget them after.
        drop(unsafe { OwnedFd::from_raw_fd(fd) });
    }
}

/// Borrows a raw descriptor that going owns for the length of a call.
pub fn borrow(fd: i32) -> BorrowedFd<'static> {
    // SAFETY: callers only pass open descriptors they own, and do not keep
    // the borrow past closing them.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// Clock ticks per second, for CPU times in `/proc`.
pub fn clock_ticks() -> u64 {
    // SAFETY: `getauxval` only reads the auxiliary vector the kernel gave.
    match unsafe { libc::getauxval(libc::AT_CLKTCK) } {
        0 => 100,
        n => n,
    }
}

/// The memory page size in bytes.
pub fn page_size() -> u64 {
    // SAFETY: `getauxval` only reads the auxiliary vector the kernel gave.
    match unsafe { libc::getauxval(libc::AT_PAGESZ) } {
        0 => 4096,
        n => n,
    }
}

/// Is descriptor `fd` a terminal?
pub fn isatty(fd: i32) -> bool {
    // SAFETY: `isatty` only queries the descriptor.
    unsafe { libc::isatty(fd) == 1 }
}

/// `setgroups(2)` in a forked child (one thread, so the raw call is the
/// process-wide one).
pub fn setgroups(groups: &[u32]) -> Result<(), Errno> {
    // SAFETY: the pointer and length describe a valid slice of gids.
    let r = unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) };
    if r == 0 { Ok(()) } else { Err(errno()) }
}

/// `setgid(2)`.
pub fn setgid(gid: u32) -> Result<(), Errno> {
    // SAFETY: no memory is involved.
    if unsafe { libc::syscall(libc::SYS_setgid, gid) } == 0 { Ok(()) } else { Err(errno()) }
}

/// `setuid(2)`.
pub fn setuid(uid: u32) -> Result<(), Errno> {
    // SAFETY: no memory is involved.
    if unsafe { libc::syscall(libc::SYS_setuid, uid) } == 0 { Ok(()) } else { Err(errno()) }
}

/// `clock_gettime(CLOCK_MONOTONIC)` as seconds and nanoseconds; musl's
/// own vDSO lookup, which the binary carries anyway.
pub fn monotonic() -> (u64, u64) {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `t` is a valid timespec to write into.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
    (t.tv_sec as u64, t.tv_nsec as u64)
}

unsafe extern "C" {
    #[link_name = "environ"]
    static ENVIRON: *const *const c_char;
}

/// going's own environment, for Procfile mode.
pub fn environ() -> *const *const c_char {
    // SAFETY: musl's `environ` is set before `main` and going never
    // changes its environment.
    unsafe { ENVIRON }
}

/// `clock_gettime(CLOCK_BOOTTIME)` as seconds and nanoseconds.
pub fn boottime() -> (u64, u64) {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `t` is a valid timespec to write into.
    unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut t) };
    (t.tv_sec as u64, t.tv_nsec as u64)
}

/// `clock_gettime(CLOCK_REALTIME)` as seconds since 1970 and
/// nanoseconds, for `log_time=utc` only: nothing in going's timing reads
/// the wall clock.
pub fn realtime() -> (i64, u32) {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `t` is a valid timespec to write into.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut t) };
    (t.tv_sec, t.tv_nsec as u32)
}

/// Makes `n` a copy of `fd` that survives exec (`dup2(2)`; when they are
/// the same number, its close-on-exec flag is cleared instead). rustix's
/// `dup2` takes an owned target, and the child owns nothing.
pub fn dup_to(fd: BorrowedFd<'_>, n: i32) -> Result<(), Errno> {
    use rustix::fd::AsRawFd;
    if fd.as_raw_fd() == n {
        return rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty());
    }
    // SAFETY: `dup2` only changes the descriptor table; `n` is a number
    // the child gives its program, whatever it held is replaced.
    if unsafe { libc::dup2(fd.as_raw_fd(), n) } < 0 { Err(errno()) } else { Ok(()) }
}

/// `kill(2)` of a process (`group` false) or of a process group, with any
/// signal from 1 to 64: rustix names only the classic ones.
pub fn kill(pid: i32, sig: i32, group: bool) -> Result<(), Errno> {
    if pid <= 0 || !(1..=64).contains(&sig) {
        return Err(Errno::INVAL);
    }
    let target = if group { -pid } else { pid };
    // SAFETY: no memory is involved.
    if unsafe { libc::kill(target, sig) } == 0 { Ok(()) } else { Err(errno()) }
}
