//! `ArenaPool`: fixed number of arenas, O(1) checkout/return, exhaustion as an error, and
//! the daemon's pattern of one pooled arena per connection with a session per request.

use std::sync::{Arc, Barrier};

use warden_arena::{ArenaError, ArenaPool, PoolExhausted};

#[test]
fn checkout_until_exhausted_then_return() {
    let pool = ArenaPool::new(3, 8192).unwrap();
    assert_eq!(pool.arena_capacity(), 8192);
    let a = pool.checkout().unwrap();
    let b = pool.checkout().unwrap();
    let c = pool.checkout().unwrap();
    let err = pool.checkout().unwrap_err();
    assert_eq!(err, PoolExhausted { arenas: 3 });
    assert_eq!(err.to_string(), "arena pool exhausted: all 3 arenas in use");
    let s = pool.stats();
    assert_eq!(
        (s.arenas, s.available, s.in_use, s.checkouts, s.exhausted),
        (3, 0, 3, 3, 1)
    );
    drop(b);
    let b2 = pool.checkout().unwrap();
    drop((a, b2, c));
    let s = pool.stats();
    assert_eq!(
        (s.available, s.in_use, s.peak_in_use, s.checkouts),
        (3, 0, 3, 4)
    );
}

#[test]
fn per_connection_arena_with_session_per_request() {
    let pool = ArenaPool::new(2, 4096).unwrap();
    let mut conn = pool.checkout().unwrap();
    for request in 0..10u32 {
        let session = conn.session();
        let out = session.try_alloc_zeroed_slice(64).unwrap();
        out[0] = request as u8;
        session.try_alloc_str("request body").unwrap();
    }
    assert_eq!(conn.capacity(), 4096);
    assert_eq!(conn.stats().sessions, 10);
    assert_eq!(conn.stats().allocations, 20);
    assert!(conn.is_zeroed());
}

#[test]
fn pooled_arenas_move_across_threads() {
    let pool = ArenaPool::new(4, 16 * 1024).unwrap();
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4u64)
        .map(|t| {
            let pool = pool.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let mut arena = pool.checkout().unwrap();
                barrier.wait(); // all four checked out at once
                for i in 0..100u64 {
                    let session = arena.session();
                    let v = session.try_alloc([t, i, t * i]).unwrap();
                    assert_eq!(v[2], t * i);
                }
                arena.stats().allocations
            })
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(total, 400);
    let s = pool.stats();
    assert_eq!((s.available, s.peak_in_use, s.exhausted), (4, 4, 0));
}

#[test]
fn returned_arena_is_zero_for_the_next_connection() {
    let pool = ArenaPool::new(1, 4096).unwrap();
    {
        let mut conn = pool.checkout().unwrap();
        let session = conn.session();
        session.try_alloc([0xAAu8; 512]).unwrap();
        std::mem::forget(session); // even a leaked session must not leak bytes
    }
    let mut next = pool.checkout().unwrap();
    assert!(next.is_zeroed());
    assert_eq!(next.stats().leaked_sessions, 1);
}

#[test]
fn invalid_pool_sizes_are_errors() {
    assert_eq!(
        ArenaPool::new(0, 4096).unwrap_err(),
        ArenaError::ZeroCapacity
    );
    assert_eq!(ArenaPool::new(4, 0).unwrap_err(), ArenaError::ZeroCapacity);
    assert_eq!(
        ArenaPool::new(1 << 20, 1 << 50).unwrap_err(),
        ArenaError::CapacityOverflow
    );
}
