//! The inbox: a frame received over several reads stays in arena memory between sessions,
//! is seen by exactly the next session, and is zeroed with it (or when discarded, or when
//! a pooled arena goes back to its pool).

use warden_arena::{Arena, ArenaFull, ArenaPool};

#[test]
fn bytes_written_in_pieces_reach_the_next_session_and_are_zeroed_with_it() {
    let mut arena = Arena::with_capacity(4096).unwrap();
    arena.inbox(8).unwrap().copy_from_slice(b"partial ");
    // A later read grows the inbox: what was there stays, the new tail starts zeroed.
    let grown = arena.inbox(16).unwrap();
    assert_eq!(&grown[..8], b"partial ");
    assert_eq!(&grown[8..], &[0; 8]);
    grown[8..].copy_from_slice(b"complete");
    assert_eq!(arena.inbox_len(), 16);
    {
        let session = arena.session();
        assert_eq!(session.inbox(), b"partial complete");
        // Allocations never overlap the inbox.
        let block = session.try_alloc_slice_copy(&[0xAAu8; 32]).unwrap();
        let inbox = session.inbox().as_ptr_range();
        assert!(
            block.as_ptr() >= inbox.end,
            "an allocation overlapped the inbox"
        );
        assert_eq!(session.inbox(), b"partial complete");
        assert!(session.used() >= 16 + 32);
    }
    assert_eq!(arena.inbox_len(), 0);
    assert!(
        arena.is_zeroed(),
        "the session must zero the inbox it consumed"
    );
    // The next session has no inbox.
    assert!(arena.session().inbox().is_empty());
}

#[test]
fn a_discarded_inbox_is_zeroed() {
    let mut arena = Arena::with_capacity(4096).unwrap();
    arena.inbox(100).unwrap().fill(0x5A);
    arena.discard_inbox();
    assert_eq!(arena.inbox_len(), 0);
    assert!(arena.is_zeroed());
}

#[test]
fn an_inbox_larger_than_the_arena_is_refused() {
    let mut arena = Arena::with_capacity(4096).unwrap();
    assert_eq!(
        arena.inbox(4097).unwrap_err(),
        ArenaFull {
            requested: 4097,
            remaining: 4096
        }
    );
    assert_eq!(arena.inbox_len(), 0);
    // The whole arena as inbox leaves nothing to allocate, and says so.
    arena.inbox(4096).unwrap().fill(1);
    let session = arena.session();
    assert_eq!(session.inbox().len(), 4096);
    assert!(session.try_alloc(0u8).is_err());
}

#[test]
fn a_pooled_arena_returned_mid_frame_comes_back_zeroed() {
    let pool = ArenaPool::new(1, 4096).unwrap();
    let mut a = pool.checkout().unwrap();
    a.inbox(64).unwrap().fill(0xC3);
    drop(a);
    let mut b = pool.checkout().unwrap();
    assert_eq!(b.inbox_len(), 0);
    assert!(
        b.is_zeroed(),
        "a pooled arena must not carry another connection's bytes"
    );
}
