//! `ChunkPool`: fixed-size buffers for long-lived data, claimed once at start-up (feature
//! `std`), handed out under hierarchical byte budgets.
//!
//! Session arenas hold what one request needs; some data outlives a request — a streaming
//! AEAD or Ed25519 context buffers its message across many `update`s because the library is
//! one-shot. That data comes from here: one region of `chunks × chunk_bytes`, mapped and
//! prefaulted when the pool is built (so it is inside the memory the daemon announces at
//! start-up), cut into equal chunks. Each [`Chunk`] is a fixed-capacity byte buffer that
//! never grows: a write past its capacity is refused (`ChunkFull`).
//!
//! A chunk is taken against an [`Account`] chain (e.g. connection → uid): every account on
//! the chain must have room for one more chunk, or the take is refused and nothing is held.
//! The pool itself is the global limit. Dropping the chunk gives the chunk back to the pool
//! and its bytes back to every account on the chain, after wiping the bytes it held with an
//! optimised memset the compiler cannot elide (see `zeroing`), not byte-wise volatile stores.

extern crate alloc;

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::error::ArenaError;
use crate::os_region::{ArenaOptions, OsRegion};

/// Why a chunk could not be taken, or data did not fit in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChunkError {
    /// An account on the chain (connection, uid, ...) has no room for one more chunk.
    AccountFull {
        /// The account's limit in bytes.
        limit: usize,
    },
    /// Every chunk of the pool is taken (the global limit).
    PoolExhausted,
    /// A write does not fit in the chunk's remaining capacity.
    ChunkFull,
}

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AccountFull { limit } => write!(f, "buffer budget of {limit} bytes in use"),
            Self::PoolExhausted => f.write_str("every buffer chunk of the pool is in use"),
            Self::ChunkFull => f.write_str("data exceeds the buffer chunk"),
        }
    }
}

impl core::error::Error for ChunkError {}

/// A byte budget, optionally inside a parent's: taking `n` bytes needs room here and in
/// every ancestor.
#[derive(Debug)]
pub struct Account {
    limit: usize,
    used: AtomicUsize,
    parent: Option<Arc<Account>>,
}

impl Account {
    /// A budget of `limit` bytes, counted also against `parent` (if any).
    pub fn new(limit: usize, parent: Option<Arc<Account>>) -> Arc<Self> {
        Arc::new(Self {
            limit,
            used: AtomicUsize::new(0),
            parent,
        })
    }

    /// Bytes currently claimed against this account (its descendants included).
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// The limit in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Claims `n` bytes here and in every ancestor (or nothing anywhere), given back when
    /// the returned [`Claim`] is dropped: for budgets of memory that is not a pool chunk
    /// (the daemon's shared-memory regions).
    ///
    /// # Errors
    /// [`ChunkError::AccountFull`] with the limit of the account that refused.
    pub fn try_claim(self: &Arc<Self>, n: usize) -> Result<Claim, ChunkError> {
        self.claim(n)?;
        Ok(Claim {
            account: Arc::clone(self),
            bytes: n,
        })
    }

    /// Claims `n` bytes here and in every ancestor, or nothing anywhere.
    fn claim(&self, n: usize) -> Result<(), ChunkError> {
        let limit = self.limit;
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                u.checked_add(n).filter(|&t| t <= limit)
            })
            .map_err(|_| ChunkError::AccountFull { limit })?;
        if let Some(p) = &self.parent
            && let Err(e) = p.claim(n)
        {
            self.used.fetch_sub(n, Ordering::AcqRel);
            return Err(e);
        }
        Ok(())
    }

    fn release(&self, n: usize) {
        self.used.fetch_sub(n, Ordering::AcqRel);
        if let Some(p) = &self.parent {
            p.release(n);
        }
    }
}

/// Bytes claimed against an [`Account`] chain; released on drop.
#[derive(Debug)]
pub struct Claim {
    account: Arc<Account>,
    bytes: usize,
}

impl Claim {
    /// The bytes claimed.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.account.release(self.bytes);
    }
}

struct PoolShared {
    region: OsRegion,
    chunk_bytes: usize,
    chunks: usize,
    /// Free chunk indices; capacity reserved for all of them, so `push` never allocates.
    free: Mutex<Vec<usize>>,
}

// SAFETY: the region is only read or written through `Chunk`s, and each index is held by at
// most one `Chunk` at a time (it is popped from `free` under the mutex and pushed back only
// when that `Chunk` is dropped), so no two threads ever touch the same bytes; the rest of
// the struct is immutable or behind the mutex.
unsafe impl Sync for PoolShared {}

impl PoolShared {
    fn lock(&self) -> MutexGuard<'_, Vec<usize>> {
        // push/pop are single steps: a poisoned lock is still consistent.
        self.free.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `chunks` buffers of `chunk_bytes` each, claimed once. Cloning is cheap (shared handle).
#[derive(Clone)]
pub struct ChunkPool {
    shared: Arc<PoolShared>,
}

impl ChunkPool {
    /// Maps and prefaults `chunks × chunk_bytes` bytes (locked with `options.mlock`).
    ///
    /// # Errors
    /// [`ArenaError::ZeroCapacity`] if either count is zero, [`ArenaError::CapacityOverflow`]
    /// if the total overflows, or the mapping's errors.
    pub fn with_options(
        chunks: usize,
        chunk_bytes: usize,
        options: ArenaOptions,
    ) -> Result<Self, ArenaError> {
        if chunks == 0 || chunk_bytes == 0 {
            return Err(ArenaError::ZeroCapacity);
        }
        let total = chunks
            .checked_mul(chunk_bytes)
            .filter(|&t| t <= isize::MAX as usize)
            .ok_or(ArenaError::CapacityOverflow)?;
        let region = OsRegion::new(total, options)?;
        // Highest index on top: chunks are handed out from the start of the region.
        let free = (0..chunks).rev().collect();
        Ok(Self {
            shared: Arc::new(PoolShared {
                region,
                chunk_bytes,
                chunks,
                free: Mutex::new(free),
            }),
        })
    }

    /// Bytes per chunk.
    pub fn chunk_bytes(&self) -> usize {
        self.shared.chunk_bytes
    }

    /// Chunks in the pool.
    pub fn chunks(&self) -> usize {
        self.shared.chunks
    }

    /// Chunks currently taken.
    pub fn in_use(&self) -> usize {
        self.shared.chunks - self.shared.lock().len()
    }

    /// Takes a chunk, charging `chunk_bytes` to `account` and its ancestors; both come back
    /// when the chunk is dropped.
    ///
    /// # Errors
    /// [`ChunkError::AccountFull`] or [`ChunkError::PoolExhausted`]; nothing is held then.
    pub fn take(&self, account: &Arc<Account>) -> Result<Chunk, ChunkError> {
        account.claim(self.shared.chunk_bytes)?;
        let Some(index) = self.shared.lock().pop() else {
            account.release(self.shared.chunk_bytes);
            return Err(ChunkError::PoolExhausted);
        };
        Ok(Chunk {
            pool: Arc::clone(&self.shared),
            account: Arc::clone(account),
            index,
            len: 0,
        })
    }
}

impl fmt::Debug for ChunkPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChunkPool")
            .field("chunks", &self.shared.chunks)
            .field("chunk_bytes", &self.shared.chunk_bytes)
            .finish_non_exhaustive()
    }
}

/// A fixed-capacity byte buffer taken from a [`ChunkPool`]: `extend` appends, never grows.
/// Dropping it wipes the bytes written and returns chunk and budget.
pub struct Chunk {
    pool: Arc<PoolShared>,
    account: Arc<Account>,
    index: usize,
    len: usize,
}

impl Chunk {
    fn base(&self) -> *mut u8 {
        // SAFETY: `index < chunks`, so the offset stays inside the mapped region.
        unsafe {
            self.pool
                .region
                .as_ptr()
                .as_ptr()
                .add(self.index * self.pool.chunk_bytes)
        }
    }

    /// Appends `data`, or fails with [`ChunkError::ChunkFull`] and changes nothing.
    pub fn extend(&mut self, data: &[u8]) -> Result<(), ChunkError> {
        let end = self
            .len
            .checked_add(data.len())
            .filter(|&e| e <= self.pool.chunk_bytes)
            .ok_or(ChunkError::ChunkFull)?;
        // SAFETY: `len..end` lies inside this chunk (end <= chunk_bytes), which this handle
        // owns exclusively; `data` cannot overlap it (no reference to the chunk's spare
        // capacity is ever handed out).
        unsafe {
            core::ptr::copy_nonoverlapping(data.as_ptr(), self.base().add(self.len), data.len());
        }
        self.len = end;
        Ok(())
    }

    /// The bytes written so far.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `..len` was written by `extend` (or zeroed by the mapping) and belongs to
        // this handle; the shared borrow of `self` keeps `extend`/`clear` out meanwhile.
        unsafe { core::slice::from_raw_parts(self.base(), self.len) }
    }

    /// Bytes written.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes the chunk can hold.
    pub fn capacity(&self) -> usize {
        self.pool.chunk_bytes
    }

    /// Wipes what was written and starts over (the chunk stays taken).
    pub fn clear(&mut self) {
        // SAFETY: `..len` lies inside this chunk, owned by this handle.
        unsafe { crate::zeroing::zero_bytes(self.base(), self.len) };
        self.len = 0;
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        // Zero before the index is free again: the next holder only ever sees zeros.
        self.clear();
        self.pool.lock().push(self.index);
        self.account.release(self.pool.chunk_bytes);
    }
}

impl fmt::Debug for Chunk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the contents: they may be plaintext.
        f.debug_struct("Chunk")
            .field("index", &self.index)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

// SAFETY: a `Chunk` exclusively owns its bytes of the region (see `PoolShared`); moving it to
// another thread moves that ownership, like a `Box<[u8]>`.
unsafe impl Send for Chunk {}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(n: usize) -> ChunkPool {
        ChunkPool::with_options(n, 64, ArenaOptions::new()).unwrap()
    }

    #[test]
    fn chunks_are_fixed_and_refuse_overflow() {
        let p = pool(2);
        let a = Account::new(usize::MAX, None);
        let mut c = p.take(&a).unwrap();
        c.extend(&[1; 60]).unwrap();
        assert_eq!(c.extend(&[2; 5]), Err(ChunkError::ChunkFull));
        assert_eq!(c.len(), 60, "a refused write changes nothing");
        c.extend(&[3; 4]).unwrap();
        assert_eq!(c.as_slice()[59..], [1, 3, 3, 3, 3]);
        assert_eq!(a.used(), 64);
    }

    #[test]
    fn every_account_on_the_chain_limits_and_gets_its_bytes_back() {
        let p = pool(8);
        let uid = Account::new(3 * 64, None);
        let conn1 = Account::new(2 * 64, Some(uid.clone()));
        let conn2 = Account::new(2 * 64, Some(uid.clone()));
        let a = p.take(&conn1).unwrap();
        let b = p.take(&conn1).unwrap();
        assert_eq!(
            p.take(&conn1).unwrap_err(),
            ChunkError::AccountFull { limit: 128 }
        );
        let c = p.take(&conn2).unwrap();
        assert_eq!(
            p.take(&conn2).unwrap_err(),
            ChunkError::AccountFull { limit: 192 },
            "the uid's budget binds although the connection has room"
        );
        assert_eq!((conn1.used(), conn2.used(), uid.used()), (128, 64, 192));
        assert_eq!(p.in_use(), 3);
        drop((a, b, c));
        assert_eq!((conn1.used(), conn2.used(), uid.used()), (0, 0, 0));
        assert_eq!(p.in_use(), 0);
        p.take(&conn2).unwrap();
    }

    #[test]
    fn an_exhausted_pool_refuses_and_holds_nothing() {
        let p = pool(1);
        let a = Account::new(usize::MAX, None);
        let _c = p.take(&a).unwrap();
        assert_eq!(p.take(&a).unwrap_err(), ChunkError::PoolExhausted);
        assert_eq!(a.used(), 64, "the refused take released its claim");
    }

    #[test]
    fn released_chunks_are_wiped_before_reuse() {
        let p = pool(1);
        let a = Account::new(usize::MAX, None);
        let mut c = p.take(&a).unwrap();
        c.extend(&[0xAA; 64]).unwrap();
        drop(c);
        let again = p.take(&a).unwrap();
        // `as_slice` only shows written bytes, so look at the whole chunk directly.
        // SAFETY: the chunk owns `capacity()` bytes at its base, and nothing writes them
        // while `raw` lives.
        let raw = unsafe { core::slice::from_raw_parts(again.base(), again.capacity()) };
        assert!(
            raw.iter().all(|&b| b == 0),
            "previous holder's bytes were wiped"
        );
    }
}

#[cfg(test)]
mod claim_tests {
    use super::*;

    #[test]
    fn claims_are_all_or_nothing_and_released_on_drop() {
        let total = Account::new(100, None);
        let conn = Account::new(60, Some(Arc::clone(&total)));
        let other = Account::new(100, Some(Arc::clone(&total)));
        let a = conn.try_claim(50).unwrap();
        assert_eq!(
            conn.try_claim(11).unwrap_err(),
            ChunkError::AccountFull { limit: 60 }
        );
        let b = other.try_claim(50).unwrap();
        assert_eq!(
            other.try_claim(1).unwrap_err(),
            ChunkError::AccountFull { limit: 100 },
            "the parent refuses"
        );
        assert_eq!(other.used(), 50, "a refused claim leaves nothing behind");
        drop(a);
        assert_eq!((conn.used(), total.used()), (0, 50));
        drop(b);
        assert_eq!(total.used(), 0);
    }
}
