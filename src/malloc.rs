//! The allocator's two thresholds, set once at start (glibc's `mallopt`).
//!
//! glibc maps a block above its mmap threshold on its own and unmaps it when it is freed,
//! and trims freed memory at the top of its heap once more than a trim threshold lies
//! there; by default both thresholds move with the largest block freed so far (the mmap
//! one up to 32 MiB, the trim one twice that). A backtest, an optimize grid or an
//! indicator table allocates and frees columns of 8 MB per million bars over and over;
//! each time they went back to the system, the next call paid a page fault per 4 KiB
//! again (measured, a million bars: MACD 9.1 ms where the same kernel with its pages
//! kept takes 2.5, Bollinger 20 ms instead of 5).
//!
//! Kept instead: blocks under [`MMAP_THRESHOLD_BYTES`] come from the heap and are reused,
//! and freed memory is given back once more than [`TRIM_THRESHOLD_BYTES`] of it lies at
//! the heap's top. The cost is that much resident memory held after a large job, at most.
//! Other C libraries: nothing is changed.

/// Blocks at least this large are mapped on their own and returned when freed.
pub const MMAP_THRESHOLD_BYTES: i32 = 64 << 20;
/// Freed memory at the top of the heap kept for reuse before it is given back.
pub const TRIM_THRESHOLD_BYTES: i32 = 128 << 20;

/// Sets both thresholds (call first thing in `main`, before other threads start).
pub fn keep_freed_blocks() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only sets two allocator parameters; it is called before any
    // other thread exists, and a refused value (return 0) leaves glibc's defaults.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES);
    }
}
