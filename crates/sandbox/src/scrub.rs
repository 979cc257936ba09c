//! The zeroing primitives of the scrub step.
//!
//! Every fill is followed by `black_box` on the buffer: the buffers are freed right after the
//! scrub, and a store followed by a free is a dead store the optimiser may otherwise delete
//! (Rust's allocator functions are known to LLVM as deallocation functions). `fill(0)` lowers
//! to `memset`, so the cost is that of `ptr::write_bytes` plus an optimisation barrier —
//! never byte-wise volatile writes, which are an order of magnitude slower.

use core::hint::black_box;

use wasmi::{Memory, Store};

/// Zeroes `buf` in a way the compiler cannot elide.
pub fn zero(buf: &mut [u8]) {
    buf.fill(0);
    black_box(buf);
}

/// Zeroes the whole of a wasmi linear memory (its current size) and returns the byte count.
pub fn scrub_guest_memory<T>(memory: Memory, store: &mut Store<T>) -> usize {
    let data = memory.data_mut(store);
    let len = data.len();
    zero(data);
    len
}
