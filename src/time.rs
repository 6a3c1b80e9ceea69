//! Monotonic time in nanoseconds. `CLOCK_MONOTONIC` only: a change of the
//! wall clock changes nothing in going.

use rustix::time::{ClockId, Timespec, clock_gettime};

/// Now, in ns since an arbitrary start; never goes backwards. Read from
/// the vDSO, without a system call.
pub fn now() -> u64 {
    let t = clock_gettime(ClockId::Monotonic);
    (t.tv_sec as u64).saturating_mul(1_000_000_000).saturating_add(t.tv_nsec as u64)
}

/// The wait until `deadline`, rounded up to whole milliseconds so a wait
/// never ends before its deadline (which would spin).
pub fn until(deadline: u64, now: u64) -> Timespec {
    let ms = deadline.saturating_sub(now).div_ceil(1_000_000);
    Timespec { tv_sec: (ms / 1000) as i64, tv_nsec: ((ms % 1000) * 1_000_000) as i64 }
}
