//! Manual AddressSanitizer poisoning of the region (feature `asan-poison`).
//!
//! ASan cannot see inside an arena: the whole region is one valid mapping to it. With this
//! feature (used only by `scripts/arena-sanitizer.sh`, together with
//! `-Zsanitizer=address`; it does not link without ASan) every byte that is not part of a
//! live block is poisoned — free space, alignment padding, rolled-back blocks, and the whole
//! region between sessions — so ASan reports any access to them. Without the feature these
//! functions are empty and vanish.

#[cfg(feature = "asan-poison")]
unsafe extern "C" {
    fn __asan_poison_memory_region(addr: *const core::ffi::c_void, size: usize);
    fn __asan_unpoison_memory_region(addr: *const core::ffi::c_void, size: usize);
}

/// Mark `[ptr, ptr + len)` as not addressable (best effort at 8-byte granularity: a
/// partially covered granule keeps its addressable prefix, so no false reports).
#[inline(always)]
pub(crate) fn poison(ptr: *const u8, len: usize) {
    #[cfg(feature = "asan-poison")]
    // SAFETY: only ASan's shadow memory is updated; the range lies inside the region (all
    // callers pass sub-ranges of it). Compiled only when the ASan runtime is linked.
    unsafe {
        __asan_poison_memory_region(ptr.cast(), len);
    }
    #[cfg(not(feature = "asan-poison"))]
    let _ = (ptr, len);
}

/// Mark `[ptr, ptr + len)` as addressable again.
#[inline(always)]
pub(crate) fn unpoison(ptr: *const u8, len: usize) {
    #[cfg(feature = "asan-poison")]
    // SAFETY: as for `poison`.
    unsafe {
        __asan_unpoison_memory_region(ptr.cast(), len);
    }
    #[cfg(not(feature = "asan-poison"))]
    let _ = (ptr, len);
}
