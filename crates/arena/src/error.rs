//! Error types of the arena crate.
//!
//! Allocation failure (`ArenaFull`) is deliberately a separate, `Copy` type from set-up
//! failure (`ArenaError`): the allocation path must stay tiny and allocation-free, and
//! callers on the request path only ever have to handle "does not fit".

use core::fmt;

/// An allocation did not fit in what is left of the session's arena.
///
/// `requested` counts the bytes the caller asked for (saturated at `usize::MAX` when the
/// size itself overflowed, e.g. a slice of `usize::MAX` elements); alignment padding is not
/// included. `remaining` is what was left in the arena at the time of the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ArenaFull {
    /// Bytes asked for (without alignment padding).
    pub requested: usize,
    /// Bytes left in the arena when the request was made.
    pub remaining: usize,
}

impl fmt::Display for ArenaFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arena full: requested {} bytes, {} bytes remaining",
            self.requested, self.remaining
        )
    }
}

impl core::error::Error for ArenaFull {}

/// Failure to set up an arena or a pool of arenas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArenaError {
    /// A zero-byte arena or a zero-arena pool was requested.
    ZeroCapacity,
    /// The requested size overflows once rounded up to whole pages (or multiplied out for a
    /// pool).
    CapacityOverflow,
    /// The operating system refused to map the region (`errno` from `mmap`).
    MapFailed {
        /// The OS error number.
        errno: i32,
    },
    /// `mlock` was requested and the operating system refused it (`errno` from `mlock`,
    /// typically `ENOMEM`/`EPERM` when `RLIMIT_MEMLOCK` is too small).
    MlockRefused {
        /// The OS error number.
        errno: i32,
    },
    /// `mlock` was requested on a platform where this crate cannot lock memory.
    MlockUnsupported,
}

impl fmt::Display for ArenaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroCapacity => f.write_str("arena capacity must be non-zero"),
            Self::CapacityOverflow => f.write_str("arena capacity overflows the address space"),
            Self::MapFailed { errno } => {
                write!(f, "mapping the arena region failed (os error {errno})")
            }
            Self::MlockRefused { errno } => write!(
                f,
                "locking the arena region in memory was refused (os error {errno}); \
                 raise RLIMIT_MEMLOCK or disable mlock"
            ),
            Self::MlockUnsupported => {
                f.write_str("locking the arena region in memory is not supported on this platform")
            }
        }
    }
}

impl core::error::Error for ArenaError {}

/// Every arena of an [`ArenaPool`](crate::ArenaPool) is checked out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PoolExhausted {
    /// Number of arenas in the pool (all of them in use).
    pub arenas: usize,
}

impl fmt::Display for PoolExhausted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "arena pool exhausted: all {} arenas in use", self.arenas)
    }
}

impl core::error::Error for PoolExhausted {}
