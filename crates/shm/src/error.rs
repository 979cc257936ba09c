//! The crate's one error type.

use std::fmt;

/// Why a region could not be created, accepted or used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShmError {
    /// The descriptor is not a memfd on tmpfs (a file, pipe, socket, hugetlbfs memfd...).
    NotMemfd,
    /// The memfd does not carry `F_SEAL_SHRINK`: the client could shrink it under the daemon.
    NotSealed,
    /// The memfd is sealed against writing: the daemon could not write outputs into it.
    WriteSealed,
    /// The memfd's size is not the declared length.
    SizeMismatch {
        /// What the request declared.
        declared: u64,
        /// What `fstat` says.
        actual: u64,
    },
    /// Zero length, or larger than the limit / the address space.
    BadLength,
    /// A range (offset, length) falls outside the region or wraps.
    OutOfBounds,
    /// An input and an output range share bytes.
    Overlap,
    /// A system call failed (mmap, memfd_create, ftruncate, fcntl...).
    Os(rustix::io::Errno),
}

impl fmt::Display for ShmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShmError::NotMemfd => write!(f, "descriptor is not a memfd"),
            ShmError::NotSealed => write!(f, "memfd is not sealed against shrinking"),
            ShmError::WriteSealed => write!(f, "memfd is sealed against writing"),
            ShmError::SizeMismatch { declared, actual } => {
                write!(f, "memfd size {actual} is not the declared {declared}")
            }
            ShmError::BadLength => write!(f, "region length is zero or too large"),
            ShmError::OutOfBounds => write!(f, "range outside the region"),
            ShmError::Overlap => write!(f, "input and output ranges overlap"),
            ShmError::Os(e) => write!(f, "system call failed: {e}"),
        }
    }
}

impl std::error::Error for ShmError {}

impl From<rustix::io::Errno> for ShmError {
    fn from(e: rustix::io::Errno) -> Self {
        ShmError::Os(e)
    }
}
