//! Monotonic time in nanoseconds. `CLOCK_MONOTONIC` only: a change of the
//! wall clock changes nothing in going.

use rustix::time::Timespec;

/// Now, in ns since an arbitrary start; never goes backwards. musl reads
/// it from the vDSO, without a system call.
pub fn now() -> u64 {
    let (sec, nsec) = crate::sys::monotonic();
    sec.saturating_mul(1_000_000_000).saturating_add(nsec)
}

/// The wait until `deadline`, rounded up to whole milliseconds so a wait
/// never ends before its deadline (which would spin).
pub fn until(deadline: u64, now: u64) -> Timespec {
    let ms = deadline.saturating_sub(now).div_ceil(1_000_000);
    Timespec { tv_sec: (ms / 1000) as i64, tv_nsec: ((ms % 1000) * 1_000_000) as i64 }
}
