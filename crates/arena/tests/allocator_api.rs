//! `allocator_api2` collections living in a session: growth in place, roll-back of the
//! most recent block, out-of-memory as an error, and zeroing of everything at session end.

use allocator_api2::alloc::{Allocator, Layout};
use allocator_api2::boxed::Box as ArenaBox;
use allocator_api2::vec::Vec as ArenaVec;
use warden_arena::Arena;

#[test]
fn vec_grows_in_place_when_it_is_the_last_block() {
    let mut arena = Arena::with_capacity(1 << 16).unwrap();
    {
        let session = arena.session();
        let mut v: ArenaVec<u64, _> = ArenaVec::new_in(&session);
        for i in 0..1000u64 {
            v.push(i * 3);
        }
        assert_eq!(v.iter().sum::<u64>(), 3 * 999 * 1000 / 2);
        // Growing in place means the vector never left its first block: the session used
        // exactly its final capacity (no abandoned copies).
        assert_eq!(session.used(), v.capacity() * 8);
        assert_eq!(session.allocations(), 1);
    }
    assert!(arena.is_zeroed());
}

#[test]
fn interleaved_collections_copy_on_growth_and_stay_intact() {
    let mut arena = Arena::with_capacity(1 << 16).unwrap();
    let session = arena.session();
    let mut a: ArenaVec<u32, _> = ArenaVec::new_in(&session);
    let mut b: ArenaVec<u32, _> = ArenaVec::new_in(&session);
    for i in 0..500 {
        a.push(i);
        b.push(i * 7);
    }
    assert!(a.iter().copied().eq(0..500));
    assert!(b.iter().copied().eq((0..500).map(|i| i * 7)));
    assert!(session.allocations() > 2, "interleaving forces moves");
}

#[test]
fn dropping_the_last_box_rolls_back() {
    let mut arena = Arena::with_capacity(4096).unwrap();
    let session = arena.session();
    let first = ArenaBox::new_in([1u64; 4], &session);
    let used_after_first = session.used();
    let second = ArenaBox::new_in([2u64; 8], &session);
    assert_eq!(session.used(), used_after_first + 64);
    // Dropping a block that is not the last one is a no-op...
    drop(first);
    assert_eq!(session.used(), used_after_first + 64);
    // ...dropping the last one rolls the cursor back.
    drop(second);
    assert_eq!(session.used(), used_after_first);
    assert_eq!(session.high_water(), used_after_first + 64);
}

#[test]
fn shrink_of_last_block_returns_space() {
    let mut arena = Arena::with_capacity(4096).unwrap();
    let session = arena.session();
    let mut v: ArenaVec<u8, _> = ArenaVec::with_capacity_in(1000, &session);
    v.extend_from_slice(b"hello");
    v.shrink_to_fit();
    assert_eq!(&v[..], b"hello");
    assert_eq!(session.used(), 5);
}

#[test]
fn out_of_memory_is_an_error_not_a_panic() {
    let mut arena = Arena::with_capacity(256).unwrap();
    let session = arena.session();
    let mut v: ArenaVec<u8, _> = ArenaVec::new_in(&session);
    assert!(v.try_reserve(200).is_ok());
    assert!(v.try_reserve(10_000).is_err());
    assert!((&session).allocate(Layout::new::<[u8; 512]>()).is_err());
    assert_eq!(session.failed_allocations(), 2);
}

#[test]
fn grow_zeroed_zeroes_the_new_tail() {
    let mut arena = Arena::with_capacity(4096).unwrap();
    let session = arena.session();
    let alloc = &session;
    let small = Layout::from_size_align(16, 8).unwrap();
    let big = Layout::from_size_align(64, 8).unwrap();
    let p = alloc.allocate(small).unwrap().cast::<u8>();
    // SAFETY: `p` is a live 16-byte block.
    unsafe { std::ptr::write_bytes(p.as_ptr(), 0xCC, 16) };
    // Leave dirty bytes beyond the block: allocate+free a later block... (roll back)
    let q = alloc.allocate(big).unwrap().cast::<u8>();
    // SAFETY: `q` is a live 64-byte block, then freed once as the most recent block.
    unsafe {
        std::ptr::write_bytes(q.as_ptr(), 0xDD, 64);
        alloc.deallocate(q, big);
    }
    // SAFETY: `p` is live with layout `small`; `big` is larger.
    let grown = unsafe { alloc.grow_zeroed(p, small, big) }.unwrap();
    assert_eq!(grown.cast::<u8>(), p, "last block grows in place");
    // SAFETY: `grown` is a live 64-byte block.
    let bytes = unsafe { grown.as_ref() };
    assert!(bytes[..16].iter().all(|&b| b == 0xCC));
    assert!(bytes[16..].iter().all(|&b| b == 0));
}
