//! `ArenaPool` checkout and return, and whole per-request sessions on a pooled arena, touch no
//! global heap once the pool exists: counted by a global allocator wrapper (its own test
//! binary, so no other test's allocations are counted).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use warden_arena::ArenaPool;

/// Counts allocations made by the current thread (the test harness has threads of its own).
struct Counting;

thread_local! {
    // `const` initialiser: no lazy allocation inside the allocator itself.
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards every call unchanged to the system allocator; the counter is a
// thread-local `Cell` with a const initialiser, which neither allocates nor unwinds.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's (`layout` has a non-zero size).
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc`/`realloc` with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCS.with(Cell::get)
}

#[test]
fn checkout_return_and_sessions_do_not_allocate() {
    let pool = ArenaPool::new(2, 64 * 1024).unwrap();

    // The counter works (otherwise 0 below would prove nothing).
    let before = allocations();
    drop(std::hint::black_box(vec![1u8; 32]));
    assert_eq!(
        allocations() - before,
        1,
        "counting allocator is not counting"
    );

    let before = allocations();
    for round in 0..1000u32 {
        let mut a = pool.checkout().unwrap();
        let mut b = pool.checkout().unwrap();
        // Exhaustion is an error value, not an allocation either.
        assert!(pool.checkout().is_err());
        {
            let s = a.session();
            let x = s.try_alloc(round).unwrap();
            let buf = s.try_alloc_slice_copy(&[7u8; 4096]).unwrap();
            assert_eq!((*x, buf.len()), (round, 4096));
        }
        drop(b.session());
        drop((a, b));
    }
    let stats = pool.stats();
    assert_eq!(
        allocations() - before,
        0,
        "pool or session touched the heap"
    );
    assert_eq!((stats.checkouts, stats.exhausted), (2000, 1000));
}
