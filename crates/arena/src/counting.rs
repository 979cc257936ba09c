//! A counting global allocator for tests that prove a code path never touches the heap.
//!
//! Behind the `counting-alloc` feature; only test binaries install it:
//!
//! ```ignore
//! #[global_allocator]
//! static GLOBAL: warden_arena::counting::CountingAlloc = warden_arena::counting::CountingAlloc;
//! ```
//!
//! Counts are kept **per thread** (the test harness runs other tests and threads of its own,
//! which must not disturb a measurement) in two buckets: allocations made inside
//! [`attribute_elsewhere`] (e.g. "inside the crypto provider") and all others. Every call is
//! forwarded unchanged to [`System`]; `dealloc` is not counted.

use core::cell::Cell;
use std::alloc::{GlobalAlloc, Layout, System};

/// Forwards to [`System`] and counts `alloc`, `alloc_zeroed` and `realloc` per thread.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAlloc;

std::thread_local! {
    // `const` initialisers: touching them never allocates (no lazy init inside the allocator).
    static OWN: Cell<u64> = const { Cell::new(0) };
    static ELSEWHERE: Cell<u64> = const { Cell::new(0) };
    /// > 0 while control is inside [`attribute_elsewhere`].
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: allocations during thread-local teardown must neither panic nor recurse.
    let elsewhere = DEPTH.try_with(Cell::get).unwrap_or(0) > 0;
    let cell = if elsewhere { &ELSEWHERE } else { &OWN };
    let _ = cell.try_with(|c| c.set(c.get().wrapping_add(1)));
}

// SAFETY: every method forwards to `System` with exactly the caller's arguments, so the
// `GlobalAlloc` contract is `System`'s; the counting touches only `const`-initialised
// thread-locals through `try_with`, which neither allocates nor unwinds.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's (`ptr` came from `System` with `layout`).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations this thread made outside [`attribute_elsewhere`] so far.
pub fn allocations() -> u64 {
    OWN.with(Cell::get)
}

/// Allocations this thread made inside [`attribute_elsewhere`] so far.
pub fn elsewhere_allocations() -> u64 {
    ELSEWHERE.with(Cell::get)
}

/// Runs `f` and returns its result with the allocations this thread made during it (outside
/// [`attribute_elsewhere`]).
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let before = allocations();
    let r = f();
    (r, allocations().wrapping_sub(before))
}

/// Runs `f` with its allocations counted in the "elsewhere" bucket (e.g. a crypto provider's
/// own allocations, measured apart from the caller's). Nests.
pub fn attribute_elsewhere<R>(f: impl FnOnce() -> R) -> R {
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
        }
    }
    DEPTH.with(|d| d.set(d.get().saturating_add(1)));
    let _leave = Leave;
    f()
}
