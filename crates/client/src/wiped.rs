//! Received frame bodies, wiped when dropped.

use std::ops::Deref;

/// A frame body copied out of the read buffer. Answers may carry secrets (exported keys,
/// decrypted data), so the bytes are wiped on drop — with `warden_arena::wipe`, an optimised
/// memset the optimiser cannot remove, not `zeroize`'s byte-wise volatile loop, which costs
/// about 0.3 ns per byte (10 µs for a 32 KiB answer, as much as the round trip itself).
pub(crate) struct WipedBytes(Vec<u8>);

impl WipedBytes {
    /// A copy of `bytes` (capacity exactly `bytes.len()`, so the wipe covers every copy).
    pub(crate) fn copy_of(bytes: &[u8]) -> Self {
        WipedBytes(bytes.to_vec())
    }
}

impl Deref for WipedBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for WipedBytes {
    fn drop(&mut self) {
        warden_arena::wipe(&mut self.0);
    }
}

impl std::fmt::Debug for WipedBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WipedBytes({} bytes)", self.0.len())
    }
}
