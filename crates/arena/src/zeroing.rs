//! Zeroing that the optimiser cannot remove.
//!
//! The bytes of a finished session are never read again by Rust code before they are
//! overwritten, so from the compiler's point of view the zeroing stores could be dead. We
//! use a plain `write_bytes` (which lowers to an optimised `memset`: word/vector-wide
//! stores, ~26 GB/s here) and then hand the pointer to an empty `asm!` block that the
//! compiler must assume reads the memory. This is the technique of BoringSSL's
//! `OPENSSL_cleanse` and of `zeroize`'s barrier; it is much faster than byte-wise volatile
//! writes (≈ 10× for 4 MiB, see seed-facts), which is what `zeroize` on `[u8]` does.

use core::sync::atomic::{Ordering, compiler_fence};

/// Zero `len` bytes starting at `ptr`, in a way the optimiser cannot elide.
///
/// # Safety
/// `ptr` must be valid for writes of `len` bytes.
#[inline]
pub(crate) unsafe fn zero_bytes(ptr: *mut u8, len: usize) {
    if len == 0 {
        return;
    }
    // SAFETY: the caller guarantees `ptr..ptr+len` is valid for writes; `u8` has no
    // alignment requirement.
    unsafe { core::ptr::write_bytes(ptr, 0, len) };
    observe(ptr);
    compiler_fence(Ordering::SeqCst);
}

/// Make the compiler believe the memory behind `ptr` is read by unknown code.
#[inline(always)]
fn observe(ptr: *mut u8) {
    #[cfg(any(
        target_arch = "x86",
        target_arch = "x86_64",
        target_arch = "arm",
        target_arch = "aarch64",
        target_arch = "riscv32",
        target_arch = "riscv64",
        target_arch = "loongarch64",
    ))]
    // SAFETY: an empty asm block (no instruction, no memory access); without `nomem`/
    // `readonly` the compiler must assume it reads memory reachable from `ptr`, so the
    // zeroing stores before it cannot be eliminated.
    unsafe {
        core::arch::asm!("/* {0} */", in(reg) ptr, options(nostack, preserves_flags));
    }
    #[cfg(not(any(
        target_arch = "x86",
        target_arch = "x86_64",
        target_arch = "arm",
        target_arch = "aarch64",
        target_arch = "riscv32",
        target_arch = "riscv64",
        target_arch = "loongarch64",
    )))]
    {
        // Best effort on other architectures: `black_box` is documented as such.
        core::hint::black_box(ptr);
    }
}

/// Zeroes `buf` with an optimised memset (word/vector-wide stores) the optimiser cannot
/// remove: the safe entry point for buffers outside an arena (e.g. a context's state).
#[inline]
pub fn wipe(buf: &mut [u8]) {
    // SAFETY: a `&mut [u8]` is valid for writes of its whole length.
    unsafe { zero_bytes(buf.as_mut_ptr(), buf.len()) }
}
