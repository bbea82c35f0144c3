//! How the process's memory allocator is set up: glibc's malloc told to keep freed memory.
//!
//! By default glibc serves an allocation of 128 KiB or more with its own `mmap` (the threshold
//! then rises with what is freed) and hands the top of a heap back to the OS once 128 KiB of it
//! are free. The block loop allocates and frees tens of megabytes per block (the trie's update
//! log in 256 KiB chunks, the block's change maps, the state-file applier's page buffers), so
//! each block faulted the same pages in again and had the kernel zero them: at 1M accounts a
//! `perf record` of the serial benchmark spent 12 % of the process's CPU in page faults, and
//! `perf stat` counted 121,615 page faults over 50 timed blocks of 2,000 ETH transfers. With
//! the thresholds below the same run faulted 68,992 times. The cost is that memory freed after
//! a peak stays in the process (resident until reused) instead of going back to the OS.

/// Largest allocation served from the heaps rather than by its own `mmap` (glibc's maximum).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 32 << 20;

/// Free memory at the top of a heap kept before any is handed back to the OS.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: libc::c_int = 1 << 30;

/// Tells glibc's malloc to keep freed memory for reuse (see the module's documentation).
/// Call it first thing in `main`, before other threads start. Returns whether the allocator
/// took the settings; elsewhere than glibc it does nothing and returns `false`.
pub fn keep_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes malloc's parameters; glibc takes its own lock for it,
        // and both values are within the ranges it accepts (it returns 0 for any it refuses).
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
                && libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}
