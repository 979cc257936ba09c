//! Behaviour of `Arena` and `Session`: typed allocation, alignment, failure reporting,
//! overflow-proof arithmetic, zeroing at session end, leak recovery and counters.

use std::alloc::Layout;

use warden_arena::{Arena, ArenaError, ArenaFull};

#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C, align(64))]
struct CacheLine([u8; 64]);

#[test]
fn typed_allocations_hold_their_values_and_alignment() {
    let mut arena = Arena::with_capacity(4096).unwrap();
    let session = arena.session();
    let a = session.try_alloc(1u8).unwrap();
    let b = session.try_alloc(0x1122_3344_5566_7788u64).unwrap();
    let c = session.try_alloc(CacheLine([9; 64])).unwrap();
    let d = session.try_alloc_slice_copy(&[1u16, 2, 3]).unwrap();
    let e = session.try_alloc_str("ml-kem-768").unwrap();
    let f = session.try_alloc_slice_fill_copy(5, 0xABu8).unwrap();
    assert_eq!((*a, *b, *c), (1, 0x1122_3344_5566_7788, CacheLine([9; 64])));
    assert_eq!(
        (&*d, &*e, &*f),
        (&[1u16, 2, 3][..], "ml-kem-768", &[0xAB; 5][..])
    );
    assert_eq!(b as *mut u64 as usize % 8, 0);
    assert_eq!(c as *mut CacheLine as usize % 64, 0);
    assert_eq!(d.as_ptr() as usize % 2, 0);
    // The references are independent: writing one leaves the others intact.
    *a = 2;
    c.0[0] = 0;
    assert_eq!(*b, 0x1122_3344_5566_7788);
    assert_eq!(session.allocations(), 6);
}

#[test]
fn with_capacity_is_page_aligned_and_exact() {
    let mut arena = Arena::with_capacity(10_000).unwrap();
    assert_eq!(arena.capacity(), 10_000);
    assert_eq!(arena.inspect_region().as_ptr() as usize % 4096, 0);
    assert!(arena.is_zeroed());
    let session = arena.session();
    assert_eq!(session.remaining(), 10_000);
    session.try_alloc_zeroed_slice(10_000).unwrap();
    assert_eq!(session.remaining(), 0);
    assert_eq!(
        session.try_alloc(0u8),
        Err(ArenaFull {
            requested: 1,
            remaining: 0
        })
    );
}

#[test]
fn zero_capacity_is_rejected_for_os_regions() {
    assert_eq!(
        Arena::with_capacity(0).unwrap_err(),
        ArenaError::ZeroCapacity
    );
    assert_eq!(
        Arena::with_capacity(usize::MAX).unwrap_err(),
        ArenaError::CapacityOverflow
    );
}

#[test]
fn full_arena_reports_request_and_remaining() {
    let mut arena = Arena::with_capacity(100).unwrap();
    let session = arena.session();
    session.try_alloc_zeroed_slice(90).unwrap();
    let err = session.try_alloc([0u8; 11]).unwrap_err();
    assert_eq!(
        err,
        ArenaFull {
            requested: 11,
            remaining: 10
        }
    );
    assert_eq!(
        err.to_string(),
        "arena full: requested 11 bytes, 10 bytes remaining"
    );
    // A failure changes nothing: an allocation that fits still succeeds.
    assert_eq!(session.used(), 90);
    assert!(session.try_alloc([0u8; 10]).is_ok());
    assert_eq!(session.failed_allocations(), 1);
}

#[test]
fn absurd_sizes_and_alignments_fail_without_overflow() {
    let mut arena = Arena::with_capacity(4096).unwrap();
    let session = arena.session();
    session.try_alloc(1u8).unwrap();
    let used = session.used();
    for (size, align) in [
        (isize::MAX as usize, 1),
        (isize::MAX as usize - 4095, 4096),
        (0, 1usize << 40),
        (1, 1usize << 62),
        (usize::MAX / 2 - (1 << 20), 1 << 20),
    ] {
        let layout = Layout::from_size_align(size, align).unwrap();
        let err = session.try_alloc_layout(layout).unwrap_err();
        assert_eq!(err.requested, size);
        assert_eq!(err.remaining, 4096 - used);
    }
    for len in [usize::MAX, usize::MAX - 1, isize::MAX as usize + 1] {
        assert_eq!(
            session.try_alloc_zeroed_slice(len).unwrap_err().requested,
            len
        );
    }
    let err = session
        .try_alloc_slice_fill_copy(usize::MAX / 2, 0u64)
        .unwrap_err();
    assert_eq!(err.requested, usize::MAX, "overflowing size saturates");
    assert_eq!(session.used(), used);
    assert_eq!(session.failed_allocations(), 9);
}

#[test]
fn large_power_of_two_alignment_within_region() {
    let mut arena = Arena::with_capacity(3 * 65536).unwrap();
    let base = arena.inspect_region().as_ptr() as usize;
    let session = arena.session();
    session.try_alloc(1u8).unwrap();
    let p = session
        .try_alloc_layout(Layout::from_size_align(8, 65536).unwrap())
        .unwrap();
    assert_eq!(p.as_ptr() as usize % 65536, 0);
    let expected_start = (base + 1).next_multiple_of(65536) - base;
    assert_eq!(p.as_ptr() as usize - base, expected_start);
    assert_eq!(session.used(), expected_start + 8);
}

#[test]
fn session_end_zeroes_exactly_the_used_bytes() {
    let region: &'static mut [u8] = Box::leak(vec![0xEE; 256].into_boxed_slice());
    let mut arena = Arena::from_static(region);
    assert!(arena.is_zeroed(), "from_static zeroes the region once");
    {
        let session = arena.session();
        session.try_alloc_slice_copy(&[0xFFu8; 100]).unwrap();
        session.try_alloc(u64::MAX).unwrap();
        assert!(session.high_water() >= 108);
    }
    assert!(arena.is_zeroed());
    let stats = arena.stats();
    assert_eq!(stats.sessions, 1);
    assert_eq!(stats.allocations, 2);
    assert_eq!(stats.bytes_zeroed, stats.peak_bytes as u64);
    assert!(stats.peak_bytes >= 108 && stats.peak_bytes < 120);
    // The next session sees only zeros where the secrets were.
    let session = arena.session();
    let p = session
        .try_alloc_layout(Layout::from_size_align(200, 1).unwrap())
        .unwrap();
    // SAFETY: `p` is a live 200-byte block of this session.
    let bytes = unsafe { std::slice::from_raw_parts(p.as_ptr(), 200) };
    assert!(bytes.iter().all(|&b| b == 0));
}

#[test]
fn high_water_survives_roll_back_and_is_zeroed() {
    use allocator_api2::alloc::Allocator;
    let mut arena = Arena::with_capacity(1024).unwrap();
    {
        let session = arena.session();
        let layout = Layout::from_size_align(300, 1).unwrap();
        let block = (&session).allocate(layout).unwrap().cast::<u8>();
        // SAFETY: 300-byte live block.
        unsafe { std::ptr::write_bytes(block.as_ptr(), 0x77, 300) };
        // SAFETY: most recent block, deallocated once and not used afterwards.
        unsafe { (&session).deallocate(block, layout) };
        assert_eq!(session.used(), 0);
        assert_eq!(session.high_water(), 300);
        // Memory re-used after a roll-back is handed out zeroed by the zeroed API.
        assert!(
            session
                .try_alloc_zeroed_slice(300)
                .unwrap()
                .iter()
                .all(|&b| b == 0)
        );
    }
    assert!(arena.is_zeroed());
    assert_eq!(arena.stats().peak_bytes, 300);
}

#[test]
fn leaked_session_is_scrubbed_before_the_next_one() {
    let mut arena = Arena::with_capacity(4096).unwrap();
    let session = arena.session();
    session.try_alloc([0x5Au8; 1000]).unwrap();
    std::mem::forget(session);
    assert!(arena.is_zeroed(), "leaked session's bytes must not survive");
    assert_eq!(arena.stats().leaked_sessions, 1);
    let session = arena.session();
    assert_eq!(session.used(), 0);
    drop(session);
    assert_eq!(arena.stats().leaked_sessions, 1);
    assert_eq!(arena.stats().sessions, 2);
}

#[test]
fn empty_static_region_allocates_only_zero_sized_values() {
    let mut arena = Arena::from_static(Box::leak(Box::new([])));
    assert_eq!(arena.capacity(), 0);
    let session = arena.session();
    assert!(session.try_alloc(()).is_ok());
    assert_eq!(
        session.try_alloc(1u8),
        Err(ArenaFull {
            requested: 1,
            remaining: 0
        })
    );
}

#[test]
fn sessions_are_reusable_many_times() {
    let mut arena = Arena::with_capacity(1 << 16).unwrap();
    for round in 0..1000u64 {
        let session = arena.session();
        for i in 0..50 {
            let v = session.try_alloc([round, i, round ^ i]).unwrap();
            assert_eq!(v[2], round ^ i);
        }
        assert_eq!(session.used(), 50 * 24);
    }
    let stats = arena.stats();
    assert_eq!((stats.sessions, stats.allocations), (1000, 50_000));
    assert_eq!(stats.bytes_zeroed, 1000 * 50 * 24);
    assert!(arena.is_zeroed());
}

#[test]
fn arena_and_session_are_send_and_debug_hides_contents() {
    fn assert_send<T: Send>(_: &T) {}
    let mut arena = Arena::with_capacity(4096).unwrap();
    assert_send(&arena);
    let session = arena.session();
    assert_send(&session);
    session.try_alloc_str("secret-key-bytes").unwrap();
    let shown = format!("{session:?}");
    assert!(shown.contains("used") && !shown.contains("secret"));
    drop(session);
    let arena = std::thread::spawn(move || {
        let session = arena.session();
        session.try_alloc(1u32).unwrap();
        drop(session);
        arena
    })
    .join()
    .unwrap();
    assert_eq!(arena.stats().allocations, 2);
}
