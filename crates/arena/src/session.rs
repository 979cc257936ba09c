//! `Session`: the allocation handle of an arena. Dropping it zeroes the used bytes.

use core::alloc::Layout;
use core::cell::Cell;
use core::fmt;
use core::ptr::NonNull;

use crate::arena::Arena;
use crate::asan;
use crate::error::ArenaFull;
use crate::zeroing::zero_bytes;

/// The single live allocation session of an [`Arena`].
///
/// Allocation is a bump of a cursor: align, add, compare, store. Blocks live until the
/// session is dropped; the drop zeroes exactly the bytes used (the high-water mark) with an
/// optimiser-proof `memset` and resets the arena. Only `Copy` values can be allocated, so no
/// destructor is ever skipped.
///
/// `&Session` also implements [`allocator_api2::alloc::Allocator`], so `allocator_api2`
/// collections can live in a session.
pub struct Session<'a> {
    /// Holds the arena exclusively for the session's lifetime (one session at a time) and
    /// receives the counters when the session ends.
    arena: &'a mut Arena,
    /// Copies of the arena's region so the fast path does not chase `arena`.
    base: NonNull<u8>,
    capacity: usize,
    /// Address one past the region (`base + capacity`; cannot overflow, the region exists).
    limit: usize,
    /// Address of the first free byte. Invariant: `base <= next <= limit`. An address rather
    /// than an offset keeps the fast path's dependency chain (load, align, add, store) as
    /// short as bumpalo's.
    next: Cell<usize>,
    /// Highest offset of `next` before the last roll-back; the true high-water mark is
    /// `max(high_mark, used())`, so the fast path never has to update it.
    high_mark: Cell<usize>,
    /// Bytes at the start of the region that hold the arena's inbox (never allocated).
    inbox_len: usize,
    allocations: Cell<u64>,
    failed_allocations: Cell<u64>,
}

// SAFETY: a `Session` is an exclusive borrow of an `Arena` (which is `Send`) plus plain
// counters; moving it to another thread moves the only access path to the region with it.
// It is not `Sync` (the `Cell`s), so two threads can never allocate from it at once.
unsafe impl Send for Session<'_> {}

impl<'a> Session<'a> {
    #[inline]
    pub(crate) fn new(arena: &'a mut Arena) -> Self {
        asan::poison(arena.base.as_ptr(), arena.capacity);
        let inbox_len = arena.inbox_len;
        asan::unpoison(arena.base.as_ptr(), inbox_len);
        let start = arena.base.as_ptr().addr();
        debug_assert!(inbox_len <= arena.capacity, "inbox larger than the region");
        Session {
            base: arena.base,
            capacity: arena.capacity,
            limit: start + arena.capacity,
            // Allocation starts after the inbox, so `used()` and the zeroing cover it.
            next: Cell::new(start + inbox_len),
            arena,
            high_mark: Cell::new(0),
            inbox_len,
            allocations: Cell::new(0),
            failed_allocations: Cell::new(0),
        }
    }

    /// Reserve `size` bytes aligned to `align` (a power of two). O(1), no loops.
    #[inline(always)]
    pub(crate) fn bump(&self, size: usize, align: usize) -> Result<NonNull<u8>, ArenaFull> {
        debug_assert!(align.is_power_of_two());
        let mask = align.wrapping_sub(1);
        let next = self.next.get();
        // Align the address up, then add the size. Checked adds: no size or alignment can
        // wrap the arithmetic around (the checks are branches beside the dependency chain,
        // and vanish for constant small sizes and alignments).
        let start = match next.checked_add(mask) {
            Some(v) => v & !mask,
            None => return Err(self.fail(size)),
        };
        match start.checked_add(size) {
            Some(end) if end <= self.limit => {
                self.next.set(end);
                self.allocations.set(self.allocations.get() + 1);
                // SAFETY: `base <= start <= end <= limit = base + capacity`, so the offset
                // keeps the pointer inside (or one past the end of) the region.
                let ptr = unsafe { self.base.add(start - self.base.as_ptr().addr()) };
                asan::unpoison(ptr.as_ptr(), size);
                Ok(ptr)
            }
            _ => Err(self.fail(size)),
        }
    }

    #[cold]
    #[inline(never)]
    fn fail(&self, requested: usize) -> ArenaFull {
        self.failed_allocations
            .set(self.failed_allocations.get() + 1);
        ArenaFull {
            requested,
            remaining: self.remaining(),
        }
    }

    /// Move `value` into the session; the reference lives as long as the session borrow.
    ///
    /// # Errors
    /// [`ArenaFull`] when the value (plus alignment padding) does not fit.
    #[inline(always)]
    #[allow(clippy::mut_from_ref)] // each call returns a fresh, disjoint block (bump allocator)
    pub fn try_alloc<T: Copy>(&self, value: T) -> Result<&mut T, ArenaFull> {
        let ptr = self
            .bump(core::mem::size_of::<T>(), core::mem::align_of::<T>())?
            .cast::<T>();
        // SAFETY: `bump` returned a block of `size_of::<T>()` bytes aligned for `T` inside
        // the region, disjoint from every other live block; it stays valid until the session
        // (which the returned borrow is tied to) is dropped.
        unsafe {
            ptr.write(value);
            Ok(&mut *ptr.as_ptr())
        }
    }

    /// Copy a slice into the session.
    ///
    /// # Errors
    /// [`ArenaFull`] when the copy does not fit.
    #[inline(always)]
    #[allow(clippy::mut_from_ref)] // each call returns a fresh, disjoint block (bump allocator)
    pub fn try_alloc_slice_copy<T: Copy>(&self, src: &[T]) -> Result<&mut [T], ArenaFull> {
        let dst = self
            .bump(core::mem::size_of_val(src), core::mem::align_of::<T>())?
            .cast::<T>();
        // SAFETY: `dst` is a fresh block sized and aligned for `src.len()` values of `T`,
        // disjoint from `src` (which lives outside the region or in another live block).
        unsafe {
            core::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_ptr(), src.len());
            Ok(core::slice::from_raw_parts_mut(dst.as_ptr(), src.len()))
        }
    }

    /// Allocate `len` copies of `value`.
    ///
    /// # Errors
    /// [`ArenaFull`] when they do not fit (including when `len * size_of::<T>()` overflows,
    /// reported as `requested: usize::MAX`).
    #[inline]
    #[allow(clippy::mut_from_ref)] // each call returns a fresh, disjoint block (bump allocator)
    pub fn try_alloc_slice_fill_copy<T: Copy>(
        &self,
        len: usize,
        value: T,
    ) -> Result<&mut [T], ArenaFull> {
        let Some(size) = len.checked_mul(core::mem::size_of::<T>()) else {
            return Err(self.fail(usize::MAX));
        };
        let dst = self.bump(size, core::mem::align_of::<T>())?.cast::<T>();
        // SAFETY: `dst` is a fresh block sized and aligned for `len` values of `T`; every
        // element is written before the slice is formed.
        unsafe {
            for i in 0..len {
                dst.add(i).write(value);
            }
            Ok(core::slice::from_raw_parts_mut(dst.as_ptr(), len))
        }
    }

    /// Allocate `len` zero bytes (e.g. an output buffer).
    ///
    /// # Errors
    /// [`ArenaFull`] when they do not fit.
    #[inline(always)]
    #[allow(clippy::mut_from_ref)] // each call returns a fresh, disjoint block (bump allocator)
    pub fn try_alloc_zeroed_slice(&self, len: usize) -> Result<&mut [u8], ArenaFull> {
        let dst = self.bump(len, 1)?;
        // SAFETY: `dst` is a fresh block of `len` bytes. It is normally already zero, but a
        // rolled-back `Allocator` block may have left data there, so zero it explicitly.
        unsafe {
            core::ptr::write_bytes(dst.as_ptr(), 0, len);
            Ok(core::slice::from_raw_parts_mut(dst.as_ptr(), len))
        }
    }

    /// Copy a string into the session.
    ///
    /// # Errors
    /// [`ArenaFull`] when the copy does not fit.
    #[inline(always)]
    #[allow(clippy::mut_from_ref)] // each call returns a fresh, disjoint block (bump allocator)
    pub fn try_alloc_str(&self, s: &str) -> Result<&mut str, ArenaFull> {
        let bytes = self.try_alloc_slice_copy(s.as_bytes())?;
        // SAFETY: `bytes` is a byte-for-byte copy of a valid `&str`.
        Ok(unsafe { core::str::from_utf8_unchecked_mut(bytes) })
    }

    /// Reserve a raw block for `layout` (any power-of-two alignment). Its contents are
    /// unspecified (normally zero).
    ///
    /// # Errors
    /// [`ArenaFull`] when the block does not fit.
    #[inline(always)]
    pub fn try_alloc_layout(&self, layout: Layout) -> Result<NonNull<u8>, ArenaFull> {
        self.bump(layout.size(), layout.align())
    }

    /// The bytes the arena's inbox held when the session opened (see [`Arena::inbox`]);
    /// empty if none. Zeroed with everything else when the session ends.
    #[inline]
    pub fn inbox(&self) -> &[u8] {
        // SAFETY: `inbox_len <= capacity`; the bump cursor starts at `inbox_len` and never
        // goes below it (`set_cursor` asserts), so no allocation aliases these bytes, and
        // the zeroing in `drop` needs `&mut self`, which ends this borrow first.
        unsafe { core::slice::from_raw_parts(self.base.as_ptr(), self.inbox_len) }
    }

    /// Bytes allocated so far (including alignment padding, and the inbox).
    #[inline]
    pub fn used(&self) -> usize {
        self.next.get() - self.base.as_ptr().addr()
    }

    /// Bytes still free.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.limit - self.next.get()
    }

    /// Highest `used()` reached in this session: the bytes that will be zeroed at its end.
    #[inline]
    pub fn high_water(&self) -> usize {
        self.high_mark.get().max(self.used())
    }

    /// Capacity of the underlying arena.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Successful allocations so far in this session.
    #[inline]
    pub fn allocations(&self) -> u64 {
        self.allocations.get()
    }

    /// Failed allocations so far in this session.
    #[inline]
    pub fn failed_allocations(&self) -> u64 {
        self.failed_allocations.get()
    }

    /// Offset of `ptr` from the region start (caller guarantees it is in the region).
    #[inline]
    pub(crate) fn offset_of(&self, ptr: NonNull<u8>) -> usize {
        ptr.as_ptr().addr().wrapping_sub(self.base.as_ptr().addr())
    }

    /// Is the block `[ptr, ptr + size)` the most recent one (it ends at the cursor)?
    #[inline]
    pub(crate) fn is_last_block(&self, ptr: NonNull<u8>, size: usize) -> bool {
        ptr.as_ptr().addr().checked_add(size) == Some(self.next.get())
    }

    /// Move the cursor to offset `offset` (must be `<= capacity`), keeping the high-water
    /// mark.
    #[inline]
    pub(crate) fn set_cursor(&self, offset: usize) {
        debug_assert!(offset <= self.capacity);
        debug_assert!(offset >= self.inbox_len, "cursor moved into the inbox");
        let old = self.used();
        let base = self.base.as_ptr();
        if offset < old {
            asan::poison(base.wrapping_add(offset), old - offset);
        } else {
            asan::unpoison(base.wrapping_add(old), offset - old);
        }
        self.high_mark.set(self.high_water());
        self.next.set(base.addr() + offset);
    }
}

impl Drop for Session<'_> {
    #[inline]
    fn drop(&mut self) {
        let used = self.high_water();
        asan::unpoison(self.base.as_ptr(), used);
        // SAFETY: `used <= capacity`, so the range is inside the region. Every block of this
        // session is borrowed from `&self`, and we hold `&mut self`, so none is live.
        unsafe { zero_bytes(self.base.as_ptr(), used) };
        let stats = &mut self.arena.stats;
        stats.allocations += self.allocations.get();
        stats.failed_allocations += self.failed_allocations.get();
        stats.peak_bytes = stats.peak_bytes.max(used);
        stats.bytes_zeroed += used as u64;
        self.arena.session_open = false;
        self.arena.inbox_len = 0;
        // Between sessions nothing may touch the region (until `inspect_region`).
        asan::poison(self.base.as_ptr(), self.capacity);
    }
}

impl fmt::Debug for Session<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print block contents.
        f.debug_struct("Session")
            .field("used", &self.used())
            .field("remaining", &self.remaining())
            .field("high_water", &self.high_water())
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}
