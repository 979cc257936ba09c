//! `ArenaPool` checkout and return, and whole per-request sessions on a pooled arena, touch no
//! global heap once the pool exists: counted by a global allocator wrapper (its own test
//! binary, so no other test's allocations are counted).

use warden_arena::ArenaPool;

// The shared counting allocator (`counting-alloc` feature for the other crates); compiled
// in from its one source file because a crate cannot dev-depend on its own feature.
#[path = "../src/counting.rs"]
#[allow(dead_code)]
mod counting;

use counting::allocations;

#[global_allocator]
static GLOBAL: counting::CountingAlloc = counting::CountingAlloc;

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
