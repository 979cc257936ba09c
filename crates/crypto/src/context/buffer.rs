//! Where a context's buffered data lives (issue 12: a hard memory budget).
//!
//! AEAD and Ed25519 / ML-DSA / SLH-DSA streams must buffer their data, because the library
//! operations are one-shot. That buffer is not allocated by the context: it is a chunk of a
//! pool claimed at start-up ([`warden_arena::ChunkPool`]), taken on the first byte buffered
//! and charged to the caller's account chain (in the daemon: connection → uid → pool). The
//! chunk never grows: past its size the caller gets `QuotaExceeded`, as it does when an
//! account or the pool is full. The chunk goes back (wiped with a memset the optimiser
//! cannot elide) as soon as the stream ends: finalize, reset, failure or drop.
//!
//! The crypto crate knows nothing of connections or uids: the daemon hands it a
//! [`BufferSource`] per connection.

use std::sync::Arc;

use warden_arena::{Account, ArenaOptions, Chunk, ChunkError, ChunkPool};
use warden_core::{Error, ErrorCode, Result};

/// A pool plus the account chain buffered data is charged to. Cloning is cheap.
#[derive(Clone, Debug)]
pub struct BufferSource {
    pool: ChunkPool,
    account: Arc<Account>,
}

impl BufferSource {
    /// Chunks of `pool`, charged to `account` (and its ancestors).
    pub fn new(pool: ChunkPool, account: Arc<Account>) -> Self {
        Self { pool, account }
    }

    /// A private pool of `chunks` chunks of `chunk_bytes`, limited only by its size (for an
    /// in-process provider without a daemon budget).
    pub fn private(chunks: usize, chunk_bytes: usize) -> Result<Self> {
        let pool = ChunkPool::with_options(chunks, chunk_bytes, ArenaOptions::new())
            .map_err(|_| Error::new(ErrorCode::AllocationFailed, "buffer pool not mapped"))?;
        Ok(Self::new(pool, Account::new(usize::MAX, None)))
    }

    /// The most bytes one context can buffer.
    pub fn chunk_bytes(&self) -> usize {
        self.pool.chunk_bytes()
    }

    fn take(&self) -> Result<Chunk> {
        self.pool.take(&self.account).map_err(quota)
    }
}

fn quota(e: ChunkError) -> Error {
    Error::new(
        ErrorCode::QuotaExceeded,
        match e {
            ChunkError::ChunkFull => "buffered data exceeds the context buffer limit",
            ChunkError::AccountFull { .. } => {
                "context buffer budget of this connection or uid in use"
            }
            _ => "context buffer budget of the daemon in use",
        },
    )
}

/// A context's buffered bytes: no memory until the first byte, at most one chunk.
pub struct Buffered {
    source: BufferSource,
    chunk: Option<Chunk>,
}

impl Buffered {
    /// Empty; takes a chunk of `source` on the first byte.
    pub fn new(source: BufferSource) -> Self {
        Self {
            source,
            chunk: None,
        }
    }

    /// Appends `data` (takes a chunk first if none is held); on error nothing changes.
    pub fn extend(&mut self, data: &[u8]) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        if data.len() > self.source.chunk_bytes() {
            return Err(quota(ChunkError::ChunkFull));
        }
        let chunk = match &mut self.chunk {
            Some(c) => c,
            None => self.chunk.insert(self.source.take()?),
        };
        chunk.extend(data).map_err(quota)
    }

    /// The bytes buffered so far.
    pub fn as_slice(&self) -> &[u8] {
        self.chunk.as_ref().map_or(&[], Chunk::as_slice)
    }

    /// How many bytes are buffered.
    pub fn len(&self) -> usize {
        self.chunk.as_ref().map_or(0, Chunk::len)
    }

    /// Whether nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Wipes the data and gives the chunk (and its budget) back.
    pub fn release(&mut self) {
        self.chunk = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_take_no_chunk_until_data_and_give_it_back() {
        let pool = ChunkPool::with_options(2, 16, ArenaOptions::new()).unwrap();
        let acct = Account::new(16, None);
        let src = BufferSource::new(pool.clone(), acct.clone());
        let mut a = Buffered::new(src.clone());
        let mut b = Buffered::new(src);
        a.extend(&[]).unwrap();
        assert_eq!(pool.in_use(), 0, "no data, no chunk");
        a.extend(b"0123456789").unwrap();
        assert_eq!(
            a.extend(b"0123456789").unwrap_err().code(),
            ErrorCode::QuotaExceeded
        );
        assert_eq!(
            a.as_slice(),
            b"0123456789",
            "a refused write changes nothing"
        );
        assert_eq!(
            b.extend(b"x").unwrap_err().code(),
            ErrorCode::QuotaExceeded,
            "the account holds one chunk"
        );
        a.release();
        assert_eq!((pool.in_use(), acct.used()), (0, 0));
        b.extend(b"x").unwrap();
        assert_eq!(b.as_slice(), b"x");
    }
}
