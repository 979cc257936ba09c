//! `AlgorithmId`: a fixed-capacity algorithm name that never touches the heap.

use core::fmt;

use crate::error::{Error, ErrorCode, Result};

/// An algorithm name in a fixed 64-byte buffer: `Copy`, no heap, comparable.
///
/// Unlike the seed design, a name longer than [`AlgorithmId::CAPACITY`] is rejected with
/// [`ErrorCode::ParamTruncated`], never silently cut. Empty and non-printable-ASCII names are
/// rejected with [`ErrorCode::InvalidArgument`]. The id stores the name as given; use
/// [`crate::Algorithm::from_name`] to resolve a canonical algorithm.
///
/// ```
/// use warden_core::{AlgorithmId, ErrorCode};
/// let id = AlgorithmId::new("AES-256-GCM")?;
/// assert_eq!(id.as_str(), "AES-256-GCM");
/// let long = "X".repeat(65);
/// assert_eq!(AlgorithmId::new(&long).unwrap_err().code(), ErrorCode::ParamTruncated);
/// # Ok::<(), warden_core::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct AlgorithmId {
    len: u8,
    buf: [u8; AlgorithmId::CAPACITY],
}

impl AlgorithmId {
    /// Maximum name length in bytes.
    pub const CAPACITY: usize = 64;

    /// Validates and copies `name` (see the type docs for the rules).
    pub const fn new(name: &str) -> Result<Self> {
        Self::from_bytes(name.as_bytes())
    }

    /// Like [`AlgorithmId::new`], for bytes received from the wire.
    // A `const fn` cannot use `get`: both indexes are below `name.len() <= CAPACITY`, checked
    // first.
    #[allow(clippy::indexing_slicing)]
    pub const fn from_bytes(name: &[u8]) -> Result<Self> {
        if name.len() > Self::CAPACITY {
            return Err(Error::new(
                ErrorCode::ParamTruncated,
                "algorithm name longer than 64 bytes",
            ));
        }
        if name.is_empty() {
            return Err(Error::invalid_argument("empty algorithm name"));
        }
        let mut buf = [0u8; Self::CAPACITY];
        let mut i = 0;
        while i < name.len() {
            let b = name[i];
            // Printable ASCII only: names end up in logs and CLI output.
            if !b.is_ascii_graphic() {
                return Err(Error::invalid_argument(
                    "algorithm name is not printable ASCII",
                ));
            }
            buf[i] = b;
            i += 1;
        }
        // Fits: name.len() <= 64 was checked above.
        Ok(AlgorithmId {
            len: name.len() as u8,
            buf,
        })
    }

    /// The name. Always valid ASCII by construction.
    pub fn as_str(&self) -> &str {
        // Only printable ASCII is ever stored, so this cannot fail; fall back to "" rather
        // than panic to keep the no-panic rule mechanical.
        core::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    /// The name's bytes (without padding).
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// Length of the name in bytes (1..=64).
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// Always `false`: an empty id cannot be constructed. Present for API symmetry.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl PartialEq for AlgorithmId {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for AlgorithmId {}

impl core::hash::Hash for AlgorithmId {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl fmt::Debug for AlgorithmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AlgorithmId").field(&self.as_str()).finish()
    }
}

impl fmt::Display for AlgorithmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<&str> for AlgorithmId {
    type Error = Error;
    fn try_from(name: &str) -> Result<Self> {
        AlgorithmId::new(name)
    }
}

impl TryFrom<&[u8]> for AlgorithmId {
    type Error = Error;
    fn try_from(name: &[u8]) -> Result<Self> {
        AlgorithmId::from_bytes(name)
    }
}

impl core::str::FromStr for AlgorithmId {
    type Err = Error;
    fn from_str(name: &str) -> Result<Self> {
        AlgorithmId::new(name)
    }
}
