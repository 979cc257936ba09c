//! `allocator_api2::alloc::Allocator` for `&Session`, so `allocator_api2` collections
//! (`Vec`, `Box`, ...) can live in a session.
//!
//! Deallocation rolls the cursor back only for the most recent block (stack discipline);
//! other blocks are reclaimed when the session ends. `grow`/`shrink` of the most recent
//! block happen in place, which makes a single growing `Vec` as cheap as a bump.

use core::alloc::Layout;
use core::ptr::NonNull;

use allocator_api2::alloc::{AllocError, Allocator};

use crate::session::Session;

// SAFETY: blocks come from `Session::bump`, which hands out disjoint, correctly aligned
// ranges of the region; they stay valid until the session is dropped, and the session
// cannot be dropped while this `&Session` (and so any collection using it) is alive.
// Copying the reference does not affect the blocks. Roll-back only ever releases the most
// recent block, which the caller has just declared deallocated.
unsafe impl Allocator for &Session<'_> {
    #[inline]
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, AllocError> {
        let ptr = self
            .bump(layout.size(), layout.align())
            .map_err(|_| AllocError)?;
        Ok(NonNull::slice_from_raw_parts(ptr, layout.size()))
    }

    #[inline]
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        if self.is_last_block(ptr, layout.size()) {
            self.set_cursor(self.offset_of(ptr));
        }
    }

    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old_layout: Layout,
        new_layout: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        if self.is_last_block(ptr, old_layout.size())
            && ptr.as_ptr().addr() & (new_layout.align() - 1) == 0
        {
            let start = self.offset_of(ptr);
            if let Some(end) = start.checked_add(new_layout.size())
                && end <= self.capacity()
            {
                self.set_cursor(end);
                return Ok(NonNull::slice_from_raw_parts(ptr, new_layout.size()));
            }
        }
        let new = self.allocate(new_layout)?;
        // SAFETY: the caller guarantees `ptr` is a live block of `old_layout.size()` bytes
        // and `new_layout.size() >= old_layout.size()`; `new` is a fresh, disjoint block.
        unsafe {
            core::ptr::copy_nonoverlapping(
                ptr.as_ptr(),
                new.cast::<u8>().as_ptr(),
                old_layout.size(),
            );
        }
        Ok(new)
    }

    unsafe fn grow_zeroed(
        &self,
        ptr: NonNull<u8>,
        old_layout: Layout,
        new_layout: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        // SAFETY: forwarded caller contract.
        let new = unsafe { self.grow(ptr, old_layout, new_layout)? };
        // SAFETY: `new` is valid for `new_layout.size()` bytes and `old <= new` (contract).
        unsafe {
            core::ptr::write_bytes(
                new.cast::<u8>().as_ptr().add(old_layout.size()),
                0,
                new_layout.size() - old_layout.size(),
            );
        }
        Ok(new)
    }

    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old_layout: Layout,
        new_layout: Layout,
    ) -> Result<NonNull<[u8]>, AllocError> {
        if ptr.as_ptr().addr() & (new_layout.align() - 1) == 0 {
            if self.is_last_block(ptr, old_layout.size()) {
                // `start + new_size <= start + old_size == cursor`: cannot overflow.
                self.set_cursor(self.offset_of(ptr) + new_layout.size());
            }
            return Ok(NonNull::slice_from_raw_parts(ptr, new_layout.size()));
        }
        let new = self.allocate(new_layout)?;
        // SAFETY: `ptr` is live for `old_layout.size() >= new_layout.size()` bytes (caller
        // contract); `new` is a fresh, disjoint block of `new_layout.size()` bytes.
        unsafe {
            core::ptr::copy_nonoverlapping(
                ptr.as_ptr(),
                new.cast::<u8>().as_ptr(),
                new_layout.size(),
            );
        }
        Ok(new)
    }
}
