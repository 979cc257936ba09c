//! Daemon-private scratch memory for copy-in, outside the global heap.
//!
//! A fresh anonymous mapping costs the kernel a page fault, a zeroed page and a memory-cgroup
//! charge per 4 KiB, and the unmap a TLB flush: about 250 µs for 1 MiB on the reference VM,
//! more than the copy itself (BENCHMARKS.md, "Data plane"). So each thread keeps one wiped
//! mapping of at most the caller's `keep` bytes for its next copy ([`Scratch::reusing`]);
//! larger copies map and unmap as before. What stays mapped between requests is all zero.

use std::cell::Cell;
use std::ptr::NonNull;

use rustix::mm::{Advice, MapFlags, ProtFlags, madvise, mmap_anonymous, munmap};

use crate::ShmError;

/// An anonymous private mapping of `len` bytes, prefaulted, excluded from core dumps, wiped
/// on drop and then unmapped, or kept (wiped) as its thread's spare. The daemon copies
/// region bytes here when it must see them exactly once (signing) or must not expose its
/// output before it is authenticated (AEAD open).
///
/// Not taken from the global heap (so data-plane requests stay heap-allocation-free) nor from
/// the session arena (whose size is one frame); its size is bounded by the region quota.
#[derive(Debug)]
pub struct Scratch {
    ptr: NonNull<u8>,
    /// Bytes handed out (only these can have been written).
    len: usize,
    /// Bytes mapped (`>= len.max(1)`).
    cap: usize,
    /// Go back to the thread's spare on drop instead of being unmapped.
    keep: bool,
}

// SAFETY: the mapping is private to this value; moving it moves the only handle. (A kept
// scratch dropped on another thread becomes that thread's spare, which is equally sound.)
unsafe impl Send for Scratch {}

/// A wiped mapping kept by a thread for its next [`Scratch::reusing`].
struct Spare {
    ptr: NonNull<u8>,
    cap: usize,
}

impl Drop for Spare {
    fn drop(&mut self) {
        // SAFETY: exactly the mapping made for it; a spare is referenced by nothing else.
        let _ = unsafe { munmap(self.ptr.as_ptr().cast(), self.cap) };
    }
}

thread_local! {
    /// This thread's spare: all zero, referenced by nothing. Unmapped when the thread ends.
    static SPARE: Cell<Option<Spare>> = const { Cell::new(None) };
}

impl Scratch {
    /// `len` zeroed bytes in a fresh mapping (at least one page is mapped even for
    /// `len == 0`), unmapped on drop.
    ///
    /// # Errors
    /// [`ShmError::Os`] when the kernel refuses the mapping.
    pub fn new(len: usize) -> Result<Scratch, ShmError> {
        let cap = len.max(1);
        let ptr = map(cap)?;
        Ok(Scratch {
            ptr,
            len,
            cap,
            keep: false,
        })
    }

    /// `len` zeroed bytes, from this thread's spare mapping when it is large enough. When
    /// `0 < len <= keep` the mapping is kept (wiped) as the thread's spare after use, so a
    /// thread holds at most `keep` bytes between requests; otherwise it behaves like
    /// [`Scratch::new`].
    ///
    /// # Errors
    /// [`ShmError::Os`] when the kernel refuses the mapping.
    pub fn reusing(len: usize, keep: usize) -> Result<Scratch, ShmError> {
        if len == 0 || len > keep {
            return Scratch::new(len);
        }
        // A spare that is too small is unmapped here (dropped) and replaced on return.
        if let Some(spare) = SPARE.try_with(Cell::take).ok().flatten()
            && spare.cap >= len
        {
            let spare = std::mem::ManuallyDrop::new(spare);
            return Ok(Scratch {
                ptr: spare.ptr,
                len,
                cap: spare.cap,
                keep: true,
            });
        }
        let ptr = map(len)?;
        Ok(Scratch {
            ptr,
            len,
            cap: len,
            keep: true,
        })
    }

    /// The bytes, read-only.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: as in `as_mut_slice`; `&self` rules out a mutable view meanwhile.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The bytes.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: `ptr..ptr+len` lies inside the private mapping owned by `self` (`len <=
        // cap`), which no other process can see; `&mut self` makes this the only view.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

/// A fresh private mapping of `cap > 0` bytes, prefaulted and excluded from core dumps.
fn map(cap: usize) -> Result<NonNull<u8>, ShmError> {
    // SAFETY: a fresh anonymous mapping at a kernel-chosen address aliases nothing.
    let p = unsafe {
        mmap_anonymous(
            std::ptr::null_mut(),
            cap,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::PRIVATE | MapFlags::POPULATE,
        )?
    };
    let ptr = NonNull::new(p.cast::<u8>()).ok_or(ShmError::Os(rustix::io::Errno::NOMEM))?;
    // SAFETY: advice on exactly the range just mapped; it changes no contents.
    let _ = unsafe { madvise(p, cap, Advice::LinuxDontDump) };
    Ok(ptr)
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Plaintext or a message may be here: wipe with stores the optimiser cannot drop.
        // Only `len` bytes were ever handed out, so the rest of a kept mapping is still zero.
        warden_arena::wipe(self.as_mut_slice());
        let spare = Spare {
            ptr: self.ptr,
            cap: self.cap,
        };
        if self.keep {
            // Keep the larger of this mapping and a spare already there (two scratches can
            // be alive at once: a decryption's input copy and its private output); the other
            // is unmapped by `Spare::drop`. During thread teardown, just unmap.
            let _ = SPARE.try_with(|cell| match cell.take() {
                Some(old) if old.cap >= spare.cap => cell.set(Some(old)),
                _ => cell.set(Some(spare)),
            });
        }
        // Otherwise `spare` (the mapping) is dropped here, unmapping it.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spare_cap() -> Option<usize> {
        SPARE.with(|c| {
            let s = c.take();
            let cap = s.as_ref().map(|s| s.cap);
            c.set(s);
            cap
        })
    }

    #[test]
    fn scratch_is_zeroed_and_writable() {
        let mut s = Scratch::new(10_000).unwrap();
        assert!(s.as_mut_slice().iter().all(|&b| b == 0));
        s.as_mut_slice()[9_999] = 1;
        assert_eq!(Scratch::new(0).unwrap().as_mut_slice().len(), 0);
    }

    #[test]
    fn a_kept_mapping_is_reused_and_comes_back_wiped() {
        let first = {
            let mut s = Scratch::reusing(8192, 1 << 20).unwrap();
            s.as_mut_slice().fill(0xa5);
            s.ptr
        };
        assert_eq!(spare_cap(), Some(8192));
        // A smaller request takes the same mapping, wiped, and sees only its own length.
        let mut s = Scratch::reusing(100, 1 << 20).unwrap();
        assert_eq!(s.ptr, first);
        assert_eq!(s.as_slice().len(), 100);
        assert!(s.as_slice().iter().all(|&b| b == 0), "spare not wiped");
        s.as_mut_slice().fill(0x5a);
        // While it is out, the thread has no spare: a second scratch maps afresh.
        assert_eq!(spare_cap(), None);
        let other = Scratch::reusing(4096, 1 << 20).unwrap();
        assert_ne!(other.ptr, first);
        drop(other);
        drop(s);
        // The larger of the two is kept; the whole of it is zero again.
        assert_eq!(spare_cap(), Some(8192));
        let s = Scratch::reusing(8192, 1 << 20).unwrap();
        assert_eq!(s.ptr, first);
        assert!(s.as_slice().iter().all(|&b| b == 0), "kept bytes not wiped");
    }

    #[test]
    fn above_the_keep_size_nothing_is_kept() {
        drop(Scratch::reusing(64 << 10, 32 << 10).unwrap());
        assert_eq!(spare_cap(), None);
        drop(Scratch::reusing(0, 32 << 10).unwrap());
        assert_eq!(spare_cap(), None);
        // keep = 0 turns reuse off.
        drop(Scratch::reusing(4096, 0).unwrap());
        assert_eq!(spare_cap(), None);
        // A spare too small for the next request is replaced by the larger mapping.
        drop(Scratch::reusing(4096, 1 << 20).unwrap());
        drop(Scratch::reusing(65536, 1 << 20).unwrap());
        assert_eq!(spare_cap(), Some(65536));
    }
}
