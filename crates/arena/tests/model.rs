//! Model-based property tests: random sessions of random allocations (sizes, alignments,
//! roll-backs) are replayed against a reference model of the bump cursor. Every block must
//! be exactly where the model puts it (hence aligned and inside the region), must keep its
//! contents while other blocks are made (disjointness), failures must happen exactly when
//! the model says the arena is full, and the whole region must be zero after each session.

use std::alloc::Layout;
use std::ptr::NonNull;

use allocator_api2::alloc::Allocator;
use proptest::prelude::*;
use warden_arena::{Arena, ArenaFull, Session};

#[derive(Clone, Debug)]
enum Op {
    /// `try_alloc_layout`, or `Allocator::allocate` when `via_allocator`.
    Layout {
        size: usize,
        align_log2: u32,
        via_allocator: bool,
    },
    /// `try_alloc_zeroed_slice(len)`; `len` may be absurd (overflow checks).
    Zeroed { len: usize },
    /// `try_alloc_slice_copy` of `len` u32 values.
    CopyU32 { len: usize },
    /// `Allocator::deallocate` of the most recent live block (rolls back if it is last).
    PopLast,
}

fn op() -> impl Strategy<Value = Op> {
    let size = prop_oneof![
        8 => 0usize..300,
        2 => 300usize..5000,
        1 => Just(usize::MAX / 4),
    ];
    let align = prop_oneof![8 => 0u32..7, 2 => 7u32..14, 1 => 14u32..40];
    prop_oneof![
        6 => (size, align, any::<bool>()).prop_map(|(size, align_log2, via_allocator)| Op::Layout {
            size,
            align_log2,
            via_allocator
        }),
        2 => prop_oneof![8 => 0usize..200, 1 => Just(usize::MAX), 1 => Just(usize::MAX - 7)]
            .prop_map(|len| Op::Zeroed { len }),
        2 => (0usize..64).prop_map(|len| Op::CopyU32 { len }),
        2 => Just(Op::PopLast),
    ]
}

/// A block the model believes is live, with the fill byte written into it.
#[derive(Clone, Copy, Debug)]
struct Block {
    start: usize,
    len: usize,
    fill: u8,
    align: usize,
}

struct Model {
    base: usize,
    capacity: usize,
    cursor: usize,
    high: usize,
    live: Vec<Block>,
    successes: u64,
    failures: u64,
}

impl Model {
    /// Where the model places `size` bytes aligned to `align`, or `None` when full.
    fn place(&self, size: usize, align: usize) -> Option<usize> {
        let addr = self.base as u128 + self.cursor as u128;
        let aligned = addr.div_ceil(align as u128) * align as u128;
        let start = aligned - self.base as u128;
        let end = start + size as u128;
        (end <= self.capacity as u128).then_some(start as usize)
    }

    fn expect_full(&mut self, requested: usize) -> ArenaFull {
        self.failures += 1;
        ArenaFull {
            requested,
            remaining: self.capacity - self.cursor,
        }
    }
}

fn check_block(model: &Model, got: NonNull<u8>, start: usize, len: usize, align: usize) {
    let addr = got.as_ptr() as usize;
    assert_eq!(
        addr,
        model.base + start,
        "block not where the model puts it"
    );
    assert_eq!(addr % align, 0, "misaligned block");
    assert!(start + len <= model.capacity, "block outside the region");
}

fn fill(ptr: NonNull<u8>, len: usize, byte: u8) {
    // SAFETY: `ptr` is a live block of `len` bytes just returned by the session.
    unsafe { std::ptr::write_bytes(ptr.as_ptr(), byte, len) };
}

fn run_op(session: &Session<'_>, model: &mut Model, op: &Op, fill_byte: u8) {
    match *op {
        Op::Layout {
            size,
            align_log2,
            via_allocator,
        } => {
            let align = 1usize << align_log2;
            let Ok(layout) = Layout::from_size_align(size, align) else {
                return;
            };
            let got = if via_allocator {
                (&session)
                    .allocate(layout)
                    .map(|p| p.cast::<u8>())
                    .map_err(|_| ())
            } else {
                session.try_alloc_layout(layout).map_err(|e| {
                    assert_eq!(e, model.expect_full(size));
                    model.failures -= 1;
                })
            };
            match (model.place(size, align), got) {
                (Some(start), Ok(ptr)) => {
                    check_block(model, ptr, start, size, align);
                    fill(ptr, size, fill_byte);
                    model.record(start, size, fill_byte, align);
                }
                (None, Err(())) => model.failures += 1,
                (want, got) => panic!("model {want:?} vs arena {got:?} for {op:?}"),
            }
        }
        Op::Zeroed { len } => match (model.place(len, 1), session.try_alloc_zeroed_slice(len)) {
            (Some(start), Ok(slice)) => {
                assert!(slice.iter().all(|&b| b == 0), "zeroed slice not zero");
                let ptr = NonNull::from(&mut *slice).cast::<u8>();
                check_block(model, ptr, start, len, 1);
                slice.fill(fill_byte);
                model.record(start, len, fill_byte, 1);
            }
            (None, Err(e)) => assert_eq!(e, model.expect_full(len)),
            (want, got) => panic!("model {want:?} vs arena {got:?} for {op:?}"),
        },
        Op::CopyU32 { len } => {
            let src: Vec<u32> = (0..len as u32)
                .map(|i| i.wrapping_mul(2_654_435_761))
                .collect();
            let size = len * 4;
            match (model.place(size, 4), session.try_alloc_slice_copy(&src)) {
                (Some(start), Ok(copy)) => {
                    assert_eq!(copy, &src[..]);
                    let ptr = NonNull::from(&mut *copy).cast::<u8>();
                    check_block(model, ptr, start, size, 4);
                    fill(ptr, size, fill_byte);
                    model.record(start, size, fill_byte, 4);
                }
                (None, Err(e)) => assert_eq!(e, model.expect_full(size)),
                (want, got) => panic!("model {want:?} vs arena {got:?} for {op:?}"),
            }
        }
        Op::PopLast => {
            let Some(block) = model.live.pop() else {
                return;
            };
            let (Some(ptr), Ok(layout)) = (
                NonNull::new((model.base + block.start) as *mut u8),
                Layout::from_size_align(block.len, block.align),
            ) else {
                panic!("model recorded an impossible block {block:?}");
            };
            // SAFETY: the block is live (the model tracks it) and was made by this session
            // with this size; after this call the test never touches it again.
            unsafe { (&session).deallocate(ptr, layout) };
            if block.start + block.len == model.cursor {
                model.cursor = block.start;
            }
        }
    }
}

impl Model {
    fn record(&mut self, start: usize, len: usize, fill: u8, align: usize) {
        self.cursor = start + len;
        self.high = self.high.max(self.cursor);
        self.successes += 1;
        self.live.push(Block {
            start,
            len,
            fill,
            align,
        });
    }

    /// Every live block still holds its fill byte: no block overlaps a later one.
    fn check_live(&self) {
        for b in &self.live {
            // SAFETY: the block is live in the current session.
            let bytes =
                unsafe { std::slice::from_raw_parts((self.base + b.start) as *const u8, b.len) };
            assert!(
                bytes.iter().all(|&x| x == b.fill),
                "block {b:?} was overwritten by a later allocation"
            );
        }
    }
}

fn leaked_region(len: usize, junk: u8) -> &'static mut [u8] {
    Box::leak(vec![junk; len].into_boxed_slice())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arena_matches_model(
        capacity in prop_oneof![Just(0usize), 1usize..64, 64usize..8192],
        offset in 0usize..16,
        sessions in prop::collection::vec(prop::collection::vec(op(), 0..40), 1..5),
    ) {
        // An odd sub-slice makes the region start unaligned, so padding is exercised.
        let region = &mut leaked_region(capacity + offset, 0xA5)[offset..];
        let mut arena = Arena::from_static(region);
        prop_assert!(arena.is_zeroed(), "from_static must zero the region");
        let base = arena.inspect_region().as_ptr() as usize;
        let (mut total_ok, mut total_failed, mut peak) = (0u64, 0u64, 0usize);
        for ops in &sessions {
            let mut model = Model {
                base, capacity, cursor: 0, high: 0, live: Vec::new(), successes: 0, failures: 0,
            };
            {
                let session = arena.session();
                for (i, op) in ops.iter().enumerate() {
                    let fill_byte = (i % 250) as u8 + 1;
                    run_op(&session, &mut model, op, fill_byte);
                    model.check_live();
                    prop_assert_eq!(session.used(), model.cursor);
                    prop_assert_eq!(session.remaining(), capacity - model.cursor);
                    prop_assert_eq!(session.high_water(), model.high);
                }
                prop_assert_eq!(session.allocations(), model.successes);
                prop_assert_eq!(session.failed_allocations(), model.failures);
            }
            prop_assert!(arena.is_zeroed(), "bytes left non-zero after session end");
            total_ok += model.successes;
            total_failed += model.failures;
            peak = peak.max(model.high);
        }
        let stats = arena.stats();
        prop_assert_eq!(stats.sessions, sessions.len() as u64);
        prop_assert_eq!(stats.allocations, total_ok);
        prop_assert_eq!(stats.failed_allocations, total_failed);
        prop_assert_eq!(stats.peak_bytes, peak);
    }
}
