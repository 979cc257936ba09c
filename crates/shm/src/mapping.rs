//! A shared mapping of a memfd, and the daemon's check of a client's descriptor.

use std::ops::Range;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;

use rustix::fs::{FileType, SealFlags, fcntl_get_seals, fstat, fstatfs};
use rustix::mm::{MapFlags, ProtFlags, mmap, munmap};

use crate::ShmError;

/// `TMPFS_MAGIC` (linux/magic.h): plain memfds live on the kernel's internal tmpfs mount.
/// hugetlbfs memfds (`MFD_HUGETLB`) are refused: touching a page when the huge-page pool is
/// empty raises `SIGBUS`, which would let a client crash the daemon.
const TMPFS_MAGIC: u32 = 0x0102_1994;

/// A `MAP_SHARED` read-write mapping of a whole memfd. Unmapped on drop.
///
/// The other side (the client) can change any byte at any time; nothing read from the mapping
/// is ever trusted to stay the same between two reads (see the crate's `design` module).
#[derive(Debug)]
pub struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value; moving it to another thread moves
// the only handle (the daemon gives each connection's regions one owner at a time).
unsafe impl Send for Mapping {}
// SAFETY: `&Mapping` only hands out `&[u8]` views; mutation needs `&mut Mapping`.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// The daemon's entry point: accepts `fd` only if it is a memfd on tmpfs carrying
    /// `F_SEAL_SHRINK`, not sealed against writes, and exactly `declared` bytes long
    /// (`0 < declared <= max`); maps it shared and closes the descriptor (the mapping keeps
    /// the memory alive, and the daemon holds no descriptor per region).
    ///
    /// Order matters: the seals are read before anything asks the file's filesystem (see
    /// the body), and checked before the size, so the size cannot shrink between the check
    /// and the mapping (growing it is harmless: only `declared` bytes are mapped).
    ///
    /// # Errors
    /// [`ShmError::NotMemfd`], [`ShmError::NotSealed`], [`ShmError::WriteSealed`],
    /// [`ShmError::SizeMismatch`], [`ShmError::BadLength`], [`ShmError::Os`].
    pub fn from_client_fd(fd: OwnedFd, declared: u64, max: u64) -> Result<Mapping, ShmError> {
        Self::map_client_fd(fd.as_fd(), declared, max)
        // `fd` is closed here.
    }

    /// [`Mapping::from_client_fd`] without closing the descriptor: the daemon closes what it
    /// refused elsewhere (closing a file of a FUSE filesystem waits for that filesystem's
    /// server; see [`closes_locally`]).
    ///
    /// # Errors
    /// As [`Mapping::from_client_fd`].
    pub fn map_client_fd(fd: BorrowedFd<'_>, declared: u64, max: u64) -> Result<Mapping, ShmError> {
        if declared == 0 || declared > max {
            return Err(ShmError::BadLength);
        }
        // Seals first: `F_GET_SEALS` is answered by the VFS alone (only shmem and hugetlbfs
        // files have seals; anything else is EINVAL), whereas `fstatfs` or `fstat` on a file
        // of a FUSE filesystem is a request to its server — a client's server that never
        // answers would hold this worker thread, unkillably, for good.
        let seals = fcntl_get_seals(fd).map_err(|_| ShmError::NotMemfd)?;
        let fs = fstatfs(fd).map_err(|_| ShmError::NotMemfd)?;
        // `f_type`'s width differs by architecture; the magic fits 32 bits.
        if u64::try_from(fs.f_type).ok() != Some(u64::from(TMPFS_MAGIC)) {
            return Err(ShmError::NotMemfd);
        }
        if !seals.contains(SealFlags::SHRINK) {
            return Err(ShmError::NotSealed);
        }
        if seals.intersects(SealFlags::WRITE | SealFlags::FUTURE_WRITE) {
            return Err(ShmError::WriteSealed);
        }
        let st = fstat(fd)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(ShmError::NotMemfd);
        }
        let actual = u64::try_from(st.st_size).map_err(|_| ShmError::BadLength)?;
        if actual != declared {
            return Err(ShmError::SizeMismatch { declared, actual });
        }
        let len = usize::try_from(declared).map_err(|_| ShmError::BadLength)?;
        Self::map_shared(fd, len)
    }

    /// Maps the first `len` bytes of `fd` shared, read-write. The caller has made sure the
    /// file is at least `len` bytes long and cannot shrink.
    pub(crate) fn map_shared(fd: BorrowedFd<'_>, len: usize) -> Result<Mapping, ShmError> {
        if len == 0 {
            return Err(ShmError::BadLength);
        }
        // SAFETY: a fresh mapping at an address the kernel chooses (null hint) aliases no
        // Rust object; `len` is non-zero and the file cannot shrink below it (sealed), so
        // every page of the mapping stays backed for its whole life.
        let p = unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                fd,
                0,
            )?
        };
        let ptr = NonNull::new(p.cast::<u8>()).ok_or(ShmError::Os(rustix::io::Errno::NOMEM))?;
        Ok(Mapping { ptr, len })
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping is empty (never: zero-length regions are refused).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The whole mapping, read-only.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr..ptr+len` is one live mapping owned by `self`, readable for its whole
        // life. Another process may write the bytes concurrently: the daemon treats them as
        // opaque data it may read any number of times with any result (see `design`), never
        // as control data, so a changed byte changes an output, never the daemon's control
        // flow or memory safety.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The whole mapping, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`; `&mut self` makes this the only view in this process.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// Bytes `[offset, offset + len)`, bounds-checked with checked arithmetic.
    ///
    /// # Errors
    /// [`ShmError::OutOfBounds`].
    pub fn bytes(&self, offset: u64, len: u64) -> Result<&[u8], ShmError> {
        let r = check_range(self.len, offset, len)?;
        self.as_slice().get(r).ok_or(ShmError::OutOfBounds)
    }

    /// Writable bytes `[offset, offset + len)`.
    ///
    /// # Errors
    /// [`ShmError::OutOfBounds`].
    pub fn bytes_mut(&mut self, offset: u64, len: u64) -> Result<&mut [u8], ShmError> {
        let r = check_range(self.len, offset, len)?;
        self.as_mut_slice().get_mut(r).ok_or(ShmError::OutOfBounds)
    }

    /// An input and an output range of the same mapping at once; they must not share a byte.
    ///
    /// # Errors
    /// [`ShmError::OutOfBounds`], [`ShmError::Overlap`].
    pub fn split(
        &mut self,
        input: (u64, u64),
        output: (u64, u64),
    ) -> Result<(&[u8], &mut [u8]), ShmError> {
        let i = check_range(self.len, input.0, input.1)?;
        let o = check_range(self.len, output.0, output.1)?;
        if overlaps(&i, &o) {
            return Err(ShmError::Overlap);
        }
        let all = self.as_mut_slice();
        if i.start < o.start {
            let (lo, hi) = all.split_at_mut(o.start);
            let out = hi.get_mut(..o.len()).ok_or(ShmError::OutOfBounds)?;
            Ok((lo.get(i).ok_or(ShmError::OutOfBounds)?, out))
        } else {
            let (lo, hi) = all.split_at_mut(i.start);
            let inp = hi.get(..i.len()).ok_or(ShmError::OutOfBounds)?;
            Ok((inp, lo.get_mut(o).ok_or(ShmError::OutOfBounds)?))
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what `mmap` returned; no view outlives `&self`, so
        // nothing refers to the pages once this runs.
        let _ = unsafe { munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// Whether closing `fd` is a local matter: it is a shmem or hugetlbfs file (a memfd), the
/// only kind with seals, which the VFS reports without asking any filesystem. Anything else
/// may not be: closing a file of a FUSE filesystem sends its server a `FLUSH` and waits,
/// uninterruptibly, for the answer.
pub fn closes_locally(fd: BorrowedFd<'_>) -> bool {
    fcntl_get_seals(fd).is_ok()
}

/// `offset..offset + len` inside a region of `region_len` bytes (checked, never wraps).
///
/// # Errors
/// [`ShmError::OutOfBounds`].
pub fn check_range(region_len: usize, offset: u64, len: u64) -> Result<Range<usize>, ShmError> {
    let start = usize::try_from(offset).map_err(|_| ShmError::OutOfBounds)?;
    let n = usize::try_from(len).map_err(|_| ShmError::OutOfBounds)?;
    let end = start.checked_add(n).ok_or(ShmError::OutOfBounds)?;
    if end > region_len {
        return Err(ShmError::OutOfBounds);
    }
    Ok(start..end)
}

/// Whether two non-empty ranges share a byte (empty ranges overlap nothing).
pub fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    !a.is_empty() && !b.is_empty() && a.start < b.end && b.start < a.end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_checked_without_wrapping() {
        assert_eq!(check_range(10, 2, 8), Ok(2..10));
        assert_eq!(check_range(10, 0, 0), Ok(0..0));
        assert_eq!(check_range(10, 10, 0), Ok(10..10));
        assert_eq!(check_range(10, 3, 8), Err(ShmError::OutOfBounds));
        assert_eq!(check_range(10, 11, 0), Err(ShmError::OutOfBounds));
        assert_eq!(check_range(10, u64::MAX, 2), Err(ShmError::OutOfBounds));
        assert_eq!(check_range(10, 1, u64::MAX), Err(ShmError::OutOfBounds));
    }

    #[test]
    fn only_memfds_close_locally() {
        let r = crate::Region::create(4096).unwrap();
        assert!(closes_locally(r.fd()));
        let f = std::fs::File::open("/proc/self/exe").unwrap();
        assert!(!closes_locally(f.as_fd()));
    }

    #[test]
    fn overlap_rules() {
        assert!(overlaps(&(0..4), &(3..5)));
        assert!(!overlaps(&(0..4), &(4..5)));
        assert!(!overlaps(&(0..0), &(0..5)));
        assert!(overlaps(&(2..3), &(0..5)));
    }
}
