//! The CPU time of the calling thread, for the stage figures of the state-file writer and the
//! trie benchmark.

use std::time::Duration;

/// The CPU time the calling thread has used so far (`CLOCK_THREAD_CPUTIME_ID`), or `None` where
/// the clock cannot be read.
pub fn thread_cpu() -> Option<Duration> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for the call to write; the clock id is one every
    // Linux knows.
    let read = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    (read == 0).then(|| Duration::new(now.tv_sec as u64, now.tv_nsec as u32))
}
