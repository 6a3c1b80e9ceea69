//! going: keeps services running on small Linux systems.
//!
//! The story of the program, in the order data flows: `cli` turns the
//! command line into a `Command`. The supervisor (`supervisor`) blocks
//! every signal and reads them from a signalfd in one epoll loop. `scan`
//! reads the config directory without ever blocking; `config` and
//! `cmdline` turn a file's bytes into a service config or an error that
//! names its line; `table` keeps every service in one fixed table over a
//! byte arena and computes what a reload changes. `service` is each
//! service's state machine: events in, one action out, performed by the
//! loop — spawn (`spawn`: clone, child setup, exec, errors back through a
//! pipe), stop, kill, forget. Deadlines (backoff, stop timeouts) are the
//! epoll timeout, so an idle going makes no system call. `log` writes
//! events to stderr and syslog without ever blocking. There is no heap:
//! every bound is a constant in `limits`, and `unsafe` lives in `sys`.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]
#![deny(unsafe_code)]
#![cfg_attr(test, allow(dead_code))]

mod caps;
mod cgroup;
mod check;
mod cli;
mod client;
mod cmdline;
mod confdir;
mod config;
mod confine;
mod control;
mod fleet;
mod fmt;
mod graph;
mod ids;
mod init;
mod leftover;
mod limits;
mod log;
mod output;
mod procfile;
mod ready;
mod request;
mod safefile;
mod scan;
mod service;
mod sig;
mod spawn;
mod status;
mod supervisor;
mod sys;
mod table;
mod time;
mod watch;

use cli::{Command, EX_OK, EX_USAGE};
use core::ffi::CStr;
use fmt::Line;
use log::print;

#[cfg(not(test))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    sys::exit_now(70)
}

/// With `panic = "abort"` nothing unwinds, but the precompiled libcore of
/// a debug build still names this symbol; release builds drop it with LTO.
#[cfg(not(test))]
#[allow(unsafe_code)] // a symbol the linker looks for, never called
#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() {}

#[cfg(not(test))]
#[allow(unsafe_code)] // the C entry point musl's crt1.o calls; its arguments go to `sys::args`
#[unsafe(no_mangle)]
pub extern "C" fn main(argc: i32, argv: *const *const u8) -> i32 {
    start(argc, argv)
}

fn start(argc: i32, argv: *const *const u8) -> i32 {
    std_fds_open();
    match command(argc, argv) {
        Next::Supervise(dir, socket) => supervisor::run(dir, Some(socket), false),
        Next::Procfile(path) => supervisor::run(path, None, true),
        Next::Exit(code) => code,
    }
}

/// What `start` does once the command line is read.
enum Next {
    Supervise(&'static CStr, &'static CStr),
    Procfile(&'static CStr),
    Exit(i32),
}

/// Reads the command line and runs every command but the supervisor, in
/// a frame of its own: the argument list (room for a request naming
/// every service) is gone by the time the supervisor runs.
#[inline(never)]
fn command(argc: i32, argv: *const *const u8) -> Next {
    let mut args = heapless::Vec::<&'static CStr, { limits::MAX_SERVICES + 16 }>::new();
    for a in sys::args(argc, argv) {
        if args.push(a).is_err() {
            return Next::Exit(usage(cli::Usage(b"too many arguments", None)));
        }
    }
    let parsed = match cli::parse(&args) {
        // As process 1, the words the kernel passes from its command line
        // (`single`, `quiet` ...) are not going's to refuse: exiting would
        // panic the kernel.
        Err(_) if rustix::process::getpid().is_init() => {
            Ok(Command::Supervise { dir: limits::DEFAULT_DIR_C, socket: limits::DEFAULT_SOCKET_C })
        }
        parsed => parsed,
    };
    Next::Exit(match parsed {
        Ok(Command::Supervise { dir, socket }) => return Next::Supervise(dir, socket),
        Ok(Command::Procfile(path)) => return Next::Procfile(path),
        Ok(Command::Check { dir }) => check::run(dir),
        Ok(Command::Help) => {
            print(1, cli::USAGE);
            EX_OK
        }
        Ok(Command::Version) => {
            print(1, concat!("going ", env!("CARGO_PKG_VERSION"), "\n").as_bytes());
            EX_OK
        }
        Ok(Command::Client { verb, socket, machine, timeout, args }) => {
            client::run(verb, socket, machine, timeout, args)
        }
        Err(u) => usage(u),
    })
}

fn usage(u: cli::Usage) -> i32 {
    let mut l = Line::new();
    l.s(b"going: ").s(u.0);
    if let Some(arg) = u.1 {
        l.s(b": ").masked(arg.to_bytes());
    }
    l.s(b"\n");
    print(2, l.bytes());
    print(2, cli::USAGE);
    EX_USAGE
}

/// Makes sure descriptors 0, 1 and 2 are open (on /dev/null if need be),
/// so no file going opens later lands on one of them.
fn std_fds_open() {
    use rustix::fd::AsRawFd;
    use rustix::fs::{Mode, OFlags, open};
    while let Ok(fd) = open(c"/dev/null", OFlags::RDWR, Mode::empty()) {
        if fd.as_raw_fd() > 2 {
            break;
        }
        core::mem::forget(fd);
    }
}
