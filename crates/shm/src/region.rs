//! The client's side of a region: a sealed memfd and its shared mapping.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{MemfdFlags, SealFlags, fcntl_add_seals, ftruncate, memfd_create};

use crate::{Mapping, ShmError};

/// A memfd of fixed size, sealed (`F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL`) and mapped
/// shared read-write. The descriptor is kept so it can be passed to the daemon.
#[derive(Debug)]
pub struct Region {
    fd: OwnedFd,
    map: Mapping,
}

impl Region {
    /// A new zero-filled region of `len` bytes.
    ///
    /// # Errors
    /// [`ShmError::BadLength`] for 0 or a length beyond the address space, [`ShmError::Os`].
    pub fn create(len: u64) -> Result<Region, ShmError> {
        let n = usize::try_from(len).map_err(|_| ShmError::BadLength)?;
        if n == 0 {
            return Err(ShmError::BadLength);
        }
        let fd = memfd_create(
            "warden-region",
            MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
        )?;
        ftruncate(&fd, len)?;
        // F_SEAL_SEAL last: no one (this process included) can ever change the size again,
        // which is what the daemon checks for before it maps the region.
        fcntl_add_seals(&fd, SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL)?;
        let map = Mapping::map_shared(fd.as_fd(), n)?;
        Ok(Region { fd, map })
    }

    /// The descriptor to pass to the daemon.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The mapping.
    pub fn mapping(&self) -> &Mapping {
        &self.map
    }

    /// The mapping, writable.
    pub fn mapping_mut(&mut self) -> &mut Mapping {
        &mut self.map
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Never true (zero-length regions cannot be created).
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_region_passes_the_daemon_check_and_shares_bytes() {
        let mut r = Region::create(8192).unwrap();
        r.mapping_mut().as_mut_slice()[100] = 7;
        let dup = r.fd().try_clone_to_owned().unwrap();
        let mut seen = Mapping::from_client_fd(dup, 8192, 1 << 20).unwrap();
        assert_eq!(seen.as_slice()[100], 7);
        seen.as_mut_slice()[5] = 9;
        assert_eq!(
            r.mapping().as_slice()[5],
            9,
            "both mappings are the same pages"
        );
    }

    #[test]
    fn the_daemon_check_refuses_what_it_must() {
        let r = Region::create(4096).unwrap();
        let dup = || r.fd().try_clone_to_owned().unwrap();
        assert_eq!(
            Mapping::from_client_fd(dup(), 8192, 1 << 20).unwrap_err(),
            ShmError::SizeMismatch {
                declared: 8192,
                actual: 4096
            }
        );
        assert_eq!(
            Mapping::from_client_fd(dup(), 4096, 1024).unwrap_err(),
            ShmError::BadLength
        );
        assert_eq!(
            Mapping::from_client_fd(dup(), 0, 1 << 20).unwrap_err(),
            ShmError::BadLength
        );
        // Unsealed memfd.
        let fd = memfd_create("t", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING).unwrap();
        ftruncate(&fd, 4096).unwrap();
        assert_eq!(
            Mapping::from_client_fd(fd, 4096, 1 << 20).unwrap_err(),
            ShmError::NotSealed
        );
        // A memfd created without sealing support reports F_SEAL_SEAL only.
        let fd = memfd_create("t", MemfdFlags::CLOEXEC).unwrap();
        ftruncate(&fd, 4096).unwrap();
        assert_eq!(
            Mapping::from_client_fd(fd, 4096, 1 << 20).unwrap_err(),
            ShmError::NotSealed
        );
        // Write-sealed memfd.
        let fd = memfd_create("t", MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING).unwrap();
        ftruncate(&fd, 4096).unwrap();
        fcntl_add_seals(&fd, SealFlags::SHRINK | SealFlags::WRITE).unwrap();
        assert_eq!(
            Mapping::from_client_fd(fd, 4096, 1 << 20).unwrap_err(),
            ShmError::WriteSealed
        );
        // Not a memfd: a regular file, a pipe.
        let f: OwnedFd = std::fs::File::open("/proc/self/exe").unwrap().into();
        assert_eq!(
            Mapping::from_client_fd(f, 4096, 1 << 20).unwrap_err(),
            ShmError::NotMemfd
        );
        let (p, _w) = std::os::unix::net::UnixStream::pair().unwrap();
        assert_eq!(
            Mapping::from_client_fd(p.into(), 4096, 1 << 20).unwrap_err(),
            ShmError::NotMemfd
        );
    }

    #[test]
    fn a_sealed_region_cannot_be_shrunk_or_grown() {
        let r = Region::create(4096).unwrap();
        assert!(ftruncate(r.fd(), 0).is_err());
        assert!(ftruncate(r.fd(), 8192).is_err());
    }

    #[test]
    fn split_gives_disjoint_views() {
        let mut r = Region::create(100).unwrap();
        let (i, o) = r.mapping_mut().split((0, 10), (10, 20)).unwrap();
        o[0] = i[0] + 1;
        assert_eq!(r.mapping().as_slice()[10], 1);
        let (i, _) = r.mapping_mut().split((50, 10), (0, 20)).unwrap();
        assert_eq!(i.len(), 10);
        assert_eq!(
            r.mapping_mut().split((0, 10), (9, 2)).unwrap_err(),
            ShmError::Overlap
        );
        assert_eq!(
            r.mapping_mut().split((0, 10), (95, 10)).unwrap_err(),
            ShmError::OutOfBounds
        );
    }
}
