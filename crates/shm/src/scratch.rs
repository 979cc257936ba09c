//! Daemon-private scratch memory for copy-in, outside the global heap.

use std::ptr::NonNull;

use rustix::mm::{Advice, MapFlags, ProtFlags, madvise, mmap_anonymous, munmap};

use crate::ShmError;

/// An anonymous private mapping of `len` bytes, prefaulted, excluded from core dumps, wiped
/// and unmapped on drop. The daemon copies region bytes here when it must see them exactly
/// once (signing) or must not expose its output before it is authenticated (AEAD open).
///
/// Not taken from the global heap (so data-plane requests stay heap-allocation-free) nor from
/// the session arena (whose size is one frame); its size is bounded by the region quota.
#[derive(Debug)]
pub struct Scratch {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is private to this value; moving it moves the only handle.
unsafe impl Send for Scratch {}

impl Scratch {
    /// `len` zeroed bytes (at least one page is mapped even for `len == 0`).
    ///
    /// # Errors
    /// [`ShmError::Os`] when the kernel refuses the mapping.
    pub fn new(len: usize) -> Result<Scratch, ShmError> {
        let map_len = len.max(1);
        // SAFETY: a fresh anonymous mapping at a kernel-chosen address aliases nothing.
        let p = unsafe {
            mmap_anonymous(
                std::ptr::null_mut(),
                map_len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::PRIVATE | MapFlags::POPULATE,
            )?
        };
        let ptr = NonNull::new(p.cast::<u8>()).ok_or(ShmError::Os(rustix::io::Errno::NOMEM))?;
        // SAFETY: advice on exactly the range just mapped; it changes no contents.
        let _ = unsafe { madvise(p, map_len, Advice::LinuxDontDump) };
        Ok(Scratch { ptr, len })
    }

    /// The bytes, read-only.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: as in `as_mut_slice`; `&self` rules out a mutable view meanwhile.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The bytes.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: `ptr..ptr+len` lies inside the private mapping owned by `self`, which no
        // other process can see; `&mut self` makes this the only view.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Plaintext or a message may be here: wipe with stores the optimiser cannot drop.
        warden_arena::wipe(self.as_mut_slice());
        // SAFETY: exactly the mapping `new` made; no view outlives `&mut self`.
        let _ = unsafe { munmap(self.ptr.as_ptr().cast(), self.len.max(1)) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_is_zeroed_and_writable() {
        let mut s = Scratch::new(10_000).unwrap();
        assert!(s.as_mut_slice().iter().all(|&b| b == 0));
        s.as_mut_slice()[9_999] = 1;
        assert_eq!(Scratch::new(0).unwrap().as_mut_slice().len(), 0);
    }
}
