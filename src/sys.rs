//! The only `unsafe` code of going: what rustix has no public API for
//! (signal masks, signalfd, fork, execve, waitid with WNOWAIT, the
//! interface ioctls) and the raw `argv`. Each block says why it is sound.
#![allow(unsafe_code)]

use core::convert::Infallible;
use core::ffi::{CStr, c_char};
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicU32, Ordering};
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

/// `clone3(2)`'s arguments, as far as `CLONE_INTO_CGROUP` (Linux 5.7).
#[repr(C)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// `spawn_on`, with the child started in the cgroup whose directory is
/// `cgroup` (`clone3` with `CLONE_INTO_CGROUP`): it never runs a moment
/// outside it, and no process is moved, which would wait for an RCU grace
/// period (about 10 ms) in the kernel. musl has no `clone3`, and a child
/// that shares going's memory must begin on its own stack, so the call
/// is a few lines of assembly. `ENOSYS`, `EINVAL` or `E2BIG`: this kernel
/// (or architecture) cannot; the caller moves the child itself.
pub fn spawn_into<F: FnMut() -> Infallible>(
    stack: &mut [MaybeUninit<u8>],
    child: &mut F,
    cgroup: BorrowedFd<'_>,
) -> Result<i32, Errno> {
    #[allow(unreachable_code)] // `child` never returns: it execs or exits
    extern "C" fn entry<F: FnMut() -> Infallible>(arg: *mut F) -> ! {
        // SAFETY: `arg` is the `&mut F` passed below, alive while going
        // sleeps in `clone3`.
        let child = unsafe { &mut *arg };
        match child() {}
    }
    let run = entry::<F> as extern "C" fn(*mut F) -> !;
    let arg = child as *mut F;
    let flags = (libc::CLONE_VM | libc::CLONE_VFORK) as u64;
    let ret = clone_on(stack, flags, 0, Some(cgroup), run as usize, arg as usize);
    if ret < 0 { Err(Errno::from_raw_os_error(-ret as i32)) } else { Ok(ret as i32) }
}

/// What runs in a child started by `Alongside::start`: on its own stack,
/// in going's memory, it reads only the slot it was started from and
/// ends in `execve` or `_exit`.
pub trait Child {
    /// What a slot holds before its first start.
    fn empty() -> Self;
    fn run(&self) -> !;
}

/// `CLONE_INTO_CGROUP` (Linux 5.7).
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// A few children at once that share going's memory, each on a slot of
/// its own: going goes on with the next start while the kernel makes this
/// one and runs it up to its `execve`, instead of sleeping through that
/// (`CLONE_VFORK`). A slot holds what its child reads (`T`) and its stack;
/// its word holds the child's pid from the clone (`CLONE_PARENT_SETTID`)
/// until the kernel clears it when the child execs or exits
/// (`CLONE_CHILD_CLEARTID`), and only then is the slot used again.
pub struct Alongside<T, const N: usize, const S: usize> {
    words: [AtomicU32; N],
    taken: [bool; N],
    /// The slot's data was written (and not given back since).
    inited: [bool; N],
    data: [MaybeUninit<T>; N],
    stacks: [[MaybeUninit<u8>; S]; N],
    /// A child started without waiting wrote on a slot's stack since the
    /// last `release`.
    dirty: bool,
    /// This kernel refused the flags of a start that does not wait.
    refused: bool,
    /// `clone3` cannot be used here at all: the kernel lacks it, or a
    /// seccomp filter refuses it (`EPERM` for a call that asks for no
    /// cgroup, as older container runtimes' default profiles do).
    no_clone3: bool,
}

impl<T: Child, const N: usize, const S: usize> Alongside<T, N, S> {
    pub const fn new() -> Self {
        Alongside {
            words: [const { AtomicU32::new(0) }; N],
            taken: [false; N],
            inited: [false; N],
            data: [const { MaybeUninit::uninit() }; N],
            stacks: [[MaybeUninit::uninit(); S]; N],
            dirty: false,
            refused: false,
            no_clone3: false,
        }
    }

    /// Whether starts may overlap here (the kernel took the flags, or
    /// they were not tried yet).
    pub fn overlaps(&self) -> bool {
        !self.refused
    }

    /// A free slot, marked taken until `unclaim`.
    pub fn claim(&mut self) -> Option<usize> {
        let k = (0..N).find(|&k| {
            !self.taken.get(k).copied().unwrap_or(true)
                && self.words.get(k).is_some_and(|w| w.load(Ordering::Acquire) == 0)
        })?;
        if let Some(t) = self.taken.get_mut(k) {
            *t = true;
        }
        Some(k)
    }

    /// The data of claimed slot `k`, to fill before `start`; `T::empty()`
    /// the first time.
    pub fn slot(&mut self, k: usize) -> Option<&mut T> {
        if self.taken.get(k) != Some(&true) {
            return None;
        }
        let (data, inited) = (self.data.get_mut(k)?, self.inited.get_mut(k)?);
        if !*inited {
            data.write(T::empty());
            *inited = true;
        }
        // SAFETY: written just above or by an earlier claim, and not given
        // back since (`release` clears `inited`).
        Some(unsafe { data.assume_init_mut() })
    }

    pub fn unclaim(&mut self, k: usize) {
        if let Some(t) = self.taken.get_mut(k) {
            *t = false;
        }
    }

    /// Starts a child that runs the (initialised) data of slot `k`, in
    /// `cgroup` when there is one. With `wait`, going sleeps until it has
    /// exec'd or exited (`CLONE_VFORK`), as `spawn_on` does; without, it
    /// returns at once and the slot stays busy until the child is done
    /// with it. Returns the child's pid. `EINVAL`, `E2BIG`: this kernel
    /// cannot (and a start without `wait` is not tried again). `ENOSYS`:
    /// `clone3` cannot be used here, now or later (it is missing, or it
    /// was refused with `EPERM` when no cgroup was asked for); the caller
    /// starts the child another way.
    pub fn start(&mut self, k: usize, cgroup: Option<BorrowedFd<'_>>, wait: bool) -> Result<i32, Errno> {
        #[allow(unreachable_code)] // `run` never returns: it execs or exits
        extern "C" fn entry<T: Child>(arg: *const T) -> ! {
            // SAFETY: `arg` points at the slot's data, initialised before
            // the clone and left alone until the slot's word is cleared,
            // which happens only when this child has exec'd or exited.
            let data = unsafe { &*arg };
            data.run()
        }
        let (Some(word), Some(data), Some(stack)) = (self.words.get(k), self.data.get(k), self.stacks.get_mut(k))
        else {
            return Err(Errno::INVAL);
        };
        if self.taken.get(k) != Some(&true) || self.inited.get(k) != Some(&true) {
            return Err(Errno::INVAL);
        }
        if self.no_clone3 {
            return Err(Errno::NOSYS);
        }
        let mut flags = libc::CLONE_VM as u64;
        if wait {
            flags |= libc::CLONE_VFORK as u64;
        } else {
            flags |= (libc::CLONE_PARENT_SETTID | libc::CLONE_CHILD_CLEARTID) as u64;
        }
        let tid = if wait { 0 } else { word.as_ptr() as u64 };
        let run = entry::<T> as extern "C" fn(*const T) -> !;
        let ret = clone_on(stack, flags, tid, cgroup, run as usize, data.as_ptr() as usize);
        if ret < 0 {
            let e = Errno::from_raw_os_error(-ret as i32);
            if e == Errno::NOSYS || (e == Errno::PERM && cgroup.is_none()) {
                self.no_clone3 = true;
                self.refused = true;
                return Err(Errno::NOSYS);
            }
            if !wait && matches!(e, Errno::INVAL | Errno::TOOBIG) {
                self.refused = true;
            }
            return Err(e);
        }
        if wait {
            // The child has exec'd or exited: its slot is free.
            word.store(0, Ordering::Release);
        } else {
            self.dirty = true;
        }
        Ok(ret as i32)
    }

    /// Sleeps until a busy slot is free, for at most `ns` nanoseconds;
    /// false if none was freed by then.
    pub fn wait_free(&self, ns: u64) -> bool {
        let busy = self.words.iter().map(|w| (w, w.load(Ordering::Acquire))).find(|&(_, pid)| pid != 0);
        let Some((word, pid)) = busy else { return true };
        let t = rustix::thread::futex::Timespec {
            tv_sec: (ns / 1_000_000_000) as i64,
            tv_nsec: (ns % 1_000_000_000) as i64,
        };
        let _ = rustix::thread::futex::wait(word, rustix::thread::futex::Flags::empty(), pid, Some(&t));
        word.load(Ordering::Acquire) == 0
    }

    /// With no child on any slot, gives back the pages the children
    /// wrote (their stacks and the data they read), as `trim_stack` does
    /// for the stack below.
    pub fn release(&mut self) {
        if !self.dirty || self.words.iter().any(|w| w.load(Ordering::Acquire) != 0) {
            return;
        }
        release_zero_pages(&mut self.stacks);
        release_zero_pages(&mut self.data);
        self.inited = [false; N];
        self.dirty = false;
    }
}

/// `clone3` with `flags` (and `CLONE_INTO_CGROUP` when there is a
/// `cgroup`) of a child on `stack` that calls `run(arg)`; `tid` is the
/// word of `CLONE_PARENT_SETTID` and `CLONE_CHILD_CLEARTID` (0: none).
/// The parent gets the pid or `-errno`.
#[inline(never)]
fn clone_on(
    stack: &mut [MaybeUninit<u8>],
    flags: u64,
    tid: u64,
    cgroup: Option<BorrowedFd<'_>>,
    run: usize,
    arg: usize,
) -> isize {
    use rustix::fd::AsRawFd;
    let range = stack.as_mut_ptr_range();
    let (low, high) = (range.start as u64, range.end as u64);
    let args = CloneArgs {
        flags: flags | if cgroup.is_some() { CLONE_INTO_CGROUP } else { 0 },
        pidfd: 0,
        child_tid: tid,
        parent_tid: tid,
        exit_signal: libc::SIGCHLD as u64,
        stack: low,
        stack_size: (high - high % 16).saturating_sub(low),
        tls: 0,
        set_tid: 0,
        set_tid_size: 0,
        cgroup: cgroup.map_or(0, |fd| fd.as_raw_fd() as u64),
    };
    clone3(&args, run, arg)
}

/// The raw `clone3` of `spawn_into`: the parent returns the pid or
/// `-errno`; the child, on the stack the kernel gave it (`args.stack` up
/// to `args.stack_size`, 16-byte aligned), calls `run(arg)`, which never
/// returns.
#[cfg(target_arch = "x86_64")]
fn clone3(args: &CloneArgs, run: usize, arg: usize) -> isize {
    let ret: isize;
    // SAFETY: the kernel reads `args` (valid, of the size passed). In the
    // parent only rax, rcx and r11 change (declared). The child starts
    // after `syscall` with every other register as the parent had it,
    // rsp at the top of its own stack, which the call aligns as the ABI
    // wants; `run` never returns, so nothing of going's frame is used.
    // With CLONE_VFORK going sleeps until the child execs or exits;
    // without it (`Alongside::start`) the child runs on a slot's stack
    // and reads only that slot, which going leaves alone until the
    // kernel clears the slot's word at the child's exec or exit.
    unsafe {
        core::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "mov rdi, {arg}",
            "call {run}",
            "ud2",
            "2:",
            run = in(reg) run,
            arg = in(reg) arg,
            inlateout("rax") 435isize => ret,
            in("rdi") args as *const CloneArgs,
            in("rsi") core::mem::size_of::<CloneArgs>(),
            out("rcx") _,
            out("r11") _,
        );
    }
    ret
}

#[cfg(target_arch = "aarch64")]
fn clone3(args: &CloneArgs, run: usize, arg: usize) -> isize {
    let ret: isize;
    // SAFETY: as on x86_64: the kernel reads `args`; in the parent only
    // x0 changes. The child starts after `svc` with sp at the top of its
    // own 16-byte aligned stack and calls `run(arg)`, which never returns.
    unsafe {
        core::arch::asm!(
            "svc #0",
            "cbnz x0, 2f",
            "mov x0, {arg}",
            "blr {run}",
            "brk #1",
            "2:",
            run = in(reg) run,
            arg = in(reg) arg,
            inlateout("x0") args as *const CloneArgs as usize => ret,
            in("x1") core::mem::size_of::<CloneArgs>(),
            in("x8") 435usize,
        );
    }
    ret
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn clone3(_: &CloneArgs, _: usize, _: usize) -> isize {
    -(libc::ENOSYS as isize)
}

/// `execve(2)`; returns only on failure. The raw call, not musl's: a
/// child started alongside going runs while going does, and musl's
/// wrapper would write its failure into errno, which is going's.
pub fn execve(path: *const c_char, argv: *const *const c_char, envp: *const *const c_char) -> Errno {
    let ret: isize;
    // SAFETY: the caller passes a NUL-terminated path and null-terminated
    // arrays of NUL-terminated strings that outlive the call; the kernel
    // changes only the registers declared.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") 59isize => ret,
            in("rdi") path,
            in("rsi") argv,
            in("rdx") envp,
            out("rcx") _,
            out("r11") _,
            options(nostack),
        );
    }
    // SAFETY: as on x86_64.
    #[cfg(target_arch = "aarch64")]
    unsafe {
        core::arch::asm!(
            "svc #0",
            inlateout("x0") path as usize as isize => ret,
            in("x1") argv,
            in("x2") envp,
            in("x8") 221usize,
            options(nostack),
        );
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        // SAFETY: as above.
        unsafe { libc::execve(path, argv, envp) };
        return errno();
    }
    #[allow(unreachable_code)]
    Errno::from_raw_os_error(-ret as i32)
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

/// An exited child, left waitable (`WNOWAIT`): its pid, whether it
/// exited (or was killed), and its exit code (or signal). Its process
/// group cannot be reused until it is reaped.
pub fn peek_exited() -> Option<(i32, bool, i32)> {
    let mut info = MaybeUninit::<libc::siginfo_t>::zeroed();
    let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
    // SAFETY: `waitid` writes a `siginfo_t` into the zeroed buffer; with
    // WNOHANG and no child ready, `si_pid` stays 0. For a child that
    // exited, `si_status` is its exit code or the signal that ended it.
    unsafe {
        if libc::waitid(libc::P_ALL, 0, info.as_mut_ptr(), flags) != 0 {
            return None;
        }
        let info = info.assume_init_ref();
        let pid = info.si_pid();
        (pid > 0).then(|| (pid, info.si_code == libc::CLD_EXITED, info.si_status()))
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

/// `setgroups(2)` in a child (one thread, so the raw call, which rustix
/// names for a thread, is the process-wide one).
pub fn setgroups(groups: &[u32]) -> Result<(), Errno> {
    // SAFETY: `Gid` is a transparent wrapper of the kernel's gid_t (u32).
    let gids = unsafe { core::slice::from_raw_parts(groups.as_ptr().cast::<rustix::process::Gid>(), groups.len()) };
    rustix::thread::set_thread_groups(gids)
}

/// `setgid(2)`, raw as `setgroups`.
pub fn setgid(gid: u32) -> Result<(), Errno> {
    rustix::thread::set_thread_gid(rustix::process::Gid::from_raw(gid))
}

/// `setuid(2)`, raw as `setgroups`.
pub fn setuid(uid: u32) -> Result<(), Errno> {
    rustix::thread::set_thread_uid(rustix::process::Uid::from_raw(uid))
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
    // SAFETY: `n` is a number the child gives its program, whatever it
    // held is replaced; the OwnedFd is never dropped, so nothing closes it.
    let mut target = core::mem::ManuallyDrop::new(unsafe { OwnedFd::from_raw_fd(n) });
    rustix::io::dup2(fd, &mut target)
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

/// `unshare(2)` of namespaces, in a child between clone and exec. Never
/// with `CLONE_FILES`: the child's descriptor table is its own already.
pub fn unshare(flags: rustix::thread::UnshareFlags) -> Result<(), Errno> {
    if flags.contains(rustix::thread::UnshareFlags::FILES) {
        return Err(Errno::INVAL);
    }
    // SAFETY: `unshare_unsafe` is unsafe only for CLONE_FILES, which
    // would leave other threads with descriptors of another table; it is
    // refused above, and the child has no other thread.
    unsafe { rustix::thread::unshare_unsafe(flags) }
}

/// `struct ifreq` as SIOCGIFFLAGS and SIOCSIFFLAGS use it: the name, then
/// the flags at the start of a 24-byte union (40 bytes in all on 64-bit
/// Linux, a little more than the 32 of 32-bit Linux).
#[repr(C)]
struct IfFlags {
    name: [u8; 16],
    flags: i16,
    rest: [u8; 22],
}

/// Brings the loopback interface `lo` up (`ip link set lo up`), with
/// two ioctls on a datagram socket; in a new network namespace the kernel
/// then gives it 127.0.0.1 and ::1 by itself.
pub fn loopback_up() -> Result<(), Errno> {
    use rustix::fd::AsRawFd;
    use rustix::net::{AddressFamily, SocketFlags, SocketType, socket_with};
    let sock = socket_with(AddressFamily::INET, SocketType::DGRAM, SocketFlags::CLOEXEC, None)?;
    let mut req = IfFlags { name: *b"lo\0\0\0\0\0\0\0\0\0\0\0\0\0\0", flags: 0, rest: [0; 22] };
    let fd = sock.as_raw_fd();
    // SAFETY: both requests read (and SIOCGIFFLAGS writes) one `struct
    // ifreq`, which `req` is in layout and at least in size.
    unsafe {
        if libc::ioctl(fd, libc::SIOCGIFFLAGS as _, &mut req as *mut IfFlags) < 0 {
            return Err(errno());
        }
        req.flags |= libc::IFF_UP as i16;
        if libc::ioctl(fd, libc::SIOCSIFFLAGS as _, &req as *const IfFlags) < 0 {
            return Err(errno());
        }
    }
    Ok(())
}

/// Gives the memory pages that lie wholly inside `*v` back to the kernel
/// (`madvise(2)`, `MADV_DONTNEED`): they read as zeros again and are
/// resident only once written. For the supervisor's large tables, made
/// all zeros in its stack frame, whose pages the compiler's stack probes
/// touched on entry: this keeps an unused table out of the resident set.
///
/// The caller passes a value whose bytes in those pages are zeros or
/// uninitialised (an empty `heapless::Vec`'s buffer), so it is unchanged.
pub fn release_zero_pages<T>(v: &mut T) {
    release_pages(core::ptr::from_mut(v) as usize, core::mem::size_of::<T>());
}

/// `release_zero_pages` on the `len` bytes at `start`: one copy for
/// every type.
#[inline(never)]
fn release_pages(start: usize, len: usize) {
    let end = start + len;
    let page = page_size() as usize;
    let from = start.div_ceil(page) * page;
    let to = end / page * page;
    if to > from {
        // SAFETY: the range is inside the `*v` of `release_zero_pages`,
        // which its caller owns exclusively; private anonymous pages
        // advised away read back as zeros, which is what they hold (see
        // above), so `*v` keeps its value.
        unsafe { libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_DONTNEED) };
    }
}

/// Gives back the stack pages below the caller's frame: what the deepest
/// paths (a burst of starts, a reload) wrote there is dead once they have
/// returned, and the pages read as zeros, resident again only when a call
/// goes that deep once more. The stack mapping keeps its size; only its
/// resident set shrinks.
#[inline(never)]
pub fn trim_stack() {
    const SPAN: usize = 512 * 1024; // deeper than any path of going's
    let here = core::hint::black_box(0u8);
    let page = page_size() as usize;
    // Two pages below this frame stay: madvise's own few words live there.
    let top = (core::ptr::from_ref(&here) as usize / page).saturating_sub(2) * page;
    let bottom = top.saturating_sub(SPAN);
    if top > bottom {
        // SAFETY: the range lies below this frame and the two pages under
        // it, where no live frame is (the caller's and this one are above,
        // madvise's own is in the pages kept). Stack pages advised away read
        // as zeros and are faulted in again on use; the part of the range
        // below the stack mapping is not mapped, and madvise skips it.
        unsafe { libc::madvise(bottom as *mut libc::c_void, top - bottom, libc::MADV_DONTNEED) };
    }
}
