//! OS-backed regions for `Arena::with_capacity` / `Arena::with_options` (feature `std`).
//!
//! On Unix the region is an anonymous private mapping: page-aligned, zero-filled by the
//! kernel, prefaulted (every page written once, plus `MAP_POPULATE` on Linux) so that no
//! allocation on the request path ever takes a page fault, optionally `mlock`ed so it is
//! never swapped, and on Linux excluded from core dumps (`MADV_DONTDUMP`). Elsewhere it is
//! a page-aligned `alloc_zeroed` block (no `mlock`).

use core::ptr::NonNull;

use crate::error::ArenaError;

/// Options for OS-backed arenas ([`Arena::with_options`](crate::Arena::with_options)).
///
/// ```
/// use warden_arena::{Arena, ArenaOptions};
/// let opts = ArenaOptions { mlock: false, ..ArenaOptions::default() };
/// let arena = Arena::with_options(64 * 1024, opts)?;
/// assert_eq!(arena.capacity(), 64 * 1024);
/// # Ok::<(), warden_arena::ArenaError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArenaOptions {
    /// Lock the region into RAM (`mlock`) so session data is never written to swap.
    /// Failure is reported as [`ArenaError::MlockRefused`]; nothing is silently skipped.
    pub mlock: bool,
    /// Exclude the region from core dumps (`MADV_DONTDUMP`, Linux only; best effort,
    /// ignored on other platforms).
    pub dontdump: bool,
    /// Ask for transparent huge pages (`MADV_HUGEPAGE`, Linux only; best effort). Fewer TLB
    /// misses for large arenas; wasteful for small ones, hence off by default.
    pub huge_pages: bool,
}

impl ArenaOptions {
    /// The defaults: no `mlock`, excluded from core dumps where supported.
    pub const fn new() -> Self {
        Self {
            mlock: false,
            dontdump: true,
            huge_pages: false,
        }
    }
}

impl Default for ArenaOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// An owned, page-aligned, zero-initialised, prefaulted region.
#[derive(Debug)]
pub(crate) struct OsRegion {
    ptr: NonNull<u8>,
    /// Length actually mapped (a whole number of pages).
    mapped_len: usize,
}

// SAFETY: `OsRegion` exclusively owns its mapping; no other handle to it exists, so moving
// it to another thread is sound (it is a `Box<[u8]>` in all but name).
unsafe impl Send for OsRegion {}

impl OsRegion {
    /// The start of the region.
    pub(crate) fn as_ptr(&self) -> NonNull<u8> {
        self.ptr
    }

    /// Map a region of at least `bytes` bytes.
    pub(crate) fn new(bytes: usize, options: ArenaOptions) -> Result<Self, ArenaError> {
        if bytes == 0 {
            return Err(ArenaError::ZeroCapacity);
        }
        let page = page_size();
        let mapped_len = bytes
            .checked_next_multiple_of(page)
            .filter(|&len| len <= isize::MAX as usize)
            .ok_or(ArenaError::CapacityOverflow)?;
        let region = Self::map(mapped_len, options)?;
        region.prefault(page);
        Ok(region)
    }

    /// Write every page once so that later allocations never fault.
    fn prefault(&self, page: usize) {
        let mut offset = 0;
        while offset < self.mapped_len {
            // SAFETY: `offset < mapped_len`, so the byte is inside the mapping we own. The
            // region is zero-filled, so writing 0 changes no value; the volatile write keeps
            // the (otherwise redundant) store that faults the page in.
            unsafe { self.ptr.as_ptr().add(offset).write_volatile(0) };
            offset += page;
        }
    }

    #[cfg(unix)]
    fn map(mapped_len: usize, options: ArenaOptions) -> Result<Self, ArenaError> {
        // MAP_POPULATE would fault the region in as small pages before `MADV_HUGEPAGE`
        // could apply, so with huge pages the prefault loop in `new` does the faulting.
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let flags = if options.huge_pages {
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS
        } else {
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE
        };
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
        // SAFETY: an anonymous private mapping with a null hint creates fresh memory and
        // cannot alias anything that exists; all arguments are valid for `mmap`.
        let raw = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                mapped_len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                -1,
                0,
            )
        };
        if raw == libc::MAP_FAILED {
            return Err(ArenaError::MapFailed {
                errno: last_errno(),
            });
        }
        let ptr = NonNull::new(raw.cast::<u8>()).ok_or(ArenaError::MapFailed { errno: 0 })?;
        // From here on, `Drop` unmaps the region on every error path.
        let region = Self { ptr, mapped_len };

        #[cfg(any(target_os = "linux", target_os = "android"))]
        if options.huge_pages {
            // SAFETY: the range is exactly the mapping created above. Best effort: without
            // THP the region simply uses small pages.
            unsafe { libc::madvise(raw, mapped_len, libc::MADV_HUGEPAGE) };
        }

        #[cfg(any(target_os = "linux", target_os = "android"))]
        if options.dontdump {
            // SAFETY: the range is exactly the mapping created above. Best effort: failure
            // only means the region may appear in a core dump, which we document.
            unsafe { libc::madvise(raw, mapped_len, libc::MADV_DONTDUMP) };
        }

        if options.mlock {
            // SAFETY: the range is exactly the mapping created above.
            let rc = unsafe { libc::mlock(raw, mapped_len) };
            if rc != 0 {
                return Err(ArenaError::MlockRefused {
                    errno: last_errno(),
                });
            }
        }
        Ok(region)
    }

    #[cfg(not(unix))]
    fn map(mapped_len: usize, options: ArenaOptions) -> Result<Self, ArenaError> {
        if options.mlock {
            return Err(ArenaError::MlockUnsupported);
        }
        let layout = Self::fallback_layout(mapped_len)?;
        // SAFETY: `layout` has a non-zero size (`mapped_len >= page >= 1`).
        let raw = unsafe { std::alloc::alloc_zeroed(layout) };
        let ptr = NonNull::new(raw).ok_or(ArenaError::MapFailed { errno: 0 })?;
        Ok(Self { ptr, mapped_len })
    }

    #[cfg(not(unix))]
    fn fallback_layout(mapped_len: usize) -> Result<core::alloc::Layout, ArenaError> {
        core::alloc::Layout::from_size_align(mapped_len, FALLBACK_PAGE)
            .map_err(|_| ArenaError::CapacityOverflow)
    }
}

impl Drop for OsRegion {
    fn drop(&mut self) {
        #[cfg(unix)]
        // SAFETY: `ptr`/`mapped_len` describe a mapping we created and still own; nothing
        // borrows it any more (the owning `Arena` is being dropped). `munmap` also unlocks.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.mapped_len);
        }
        #[cfg(not(unix))]
        if let Ok(layout) = Self::fallback_layout(self.mapped_len) {
            // SAFETY: allocated in `map` with exactly this layout and not yet freed.
            unsafe { std::alloc::dealloc(self.ptr.as_ptr(), layout) };
        }
    }
}

#[cfg(not(unix))]
const FALLBACK_PAGE: usize = 4096;

#[cfg(unix)]
fn page_size() -> usize {
    // SAFETY: `sysconf` has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(page)
        .ok()
        .filter(|p| p.is_power_of_two())
        .unwrap_or(4096)
}

#[cfg(not(unix))]
fn page_size() -> usize {
    FALLBACK_PAGE
}

#[cfg(unix)]
fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}
