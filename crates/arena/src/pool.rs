//! `ArenaPool`: N equal arenas claimed once at start-up (feature `std`).
//!
//! The daemon keeps one [`PooledArena`] per connection and opens a [`Session`] on it per
//! request. Checkout pops an arena from a free stack and return pushes it back; both are
//! O(1) and allocation-free (the stack's storage is reserved for all N arenas up front).
//! A `Mutex` guards the stack: the critical section is a pointer-sized pop/push and
//! checkouts happen per connection, not per allocation.
//!
//! [`Session`]: crate::Session

extern crate alloc;

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::mem::ManuallyDrop;
use core::ops::{Deref, DerefMut};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::arena::Arena;
use crate::error::{ArenaError, PoolExhausted};
use crate::os_region::ArenaOptions;

/// Counters of an [`ArenaPool`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Arenas in the pool.
    pub arenas: usize,
    /// Arenas currently free.
    pub available: usize,
    /// Arenas currently checked out.
    pub in_use: usize,
    /// Most arenas ever checked out at once.
    pub peak_in_use: usize,
    /// Successful checkouts.
    pub checkouts: u64,
    /// Checkouts refused with [`PoolExhausted`].
    pub exhausted: u64,
}

struct PoolState {
    /// Free arenas; capacity reserved for all of them, so `push` never allocates.
    free: Vec<Arena>,
    stats: PoolStats,
}

struct PoolShared {
    state: Mutex<PoolState>,
    arena_capacity: usize,
}

impl PoolShared {
    fn lock(&self) -> MutexGuard<'_, PoolState> {
        // A panic while holding the lock cannot leave the stack half-updated (push/pop and
        // counter updates are single steps), so a poisoned lock is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A fixed set of equal arenas claimed at start-up. Cloning is cheap (shared handle).
#[derive(Clone)]
pub struct ArenaPool {
    shared: Arc<PoolShared>,
}

impl ArenaPool {
    /// Claim `arenas` arenas of `arena_bytes` each, with default [`ArenaOptions`].
    ///
    /// # Errors
    /// [`ArenaError::ZeroCapacity`] if either count is zero,
    /// [`ArenaError::CapacityOverflow`] if the total overflows, or any error of
    /// [`Arena::with_options`].
    pub fn new(arenas: usize, arena_bytes: usize) -> Result<Self, ArenaError> {
        Self::with_options(arenas, arena_bytes, ArenaOptions::default())
    }

    /// Like [`new`](Self::new) with explicit options (e.g. `mlock` for every arena).
    ///
    /// # Errors
    /// As [`new`](Self::new); with `mlock`, [`ArenaError::MlockRefused`] if the total does
    /// not fit under `RLIMIT_MEMLOCK`.
    pub fn with_options(
        arenas: usize,
        arena_bytes: usize,
        options: ArenaOptions,
    ) -> Result<Self, ArenaError> {
        if arenas == 0 {
            return Err(ArenaError::ZeroCapacity);
        }
        arenas
            .checked_mul(arena_bytes)
            .filter(|&total| total <= isize::MAX as usize)
            .ok_or(ArenaError::CapacityOverflow)?;
        let mut free = Vec::with_capacity(arenas);
        for _ in 0..arenas {
            free.push(Arena::with_options(arena_bytes, options)?);
        }
        let stats = PoolStats {
            arenas,
            available: arenas,
            ..PoolStats::default()
        };
        Ok(Self {
            shared: Arc::new(PoolShared {
                state: Mutex::new(PoolState { free, stats }),
                arena_capacity: arena_bytes,
            }),
        })
    }

    /// Take a free arena; it returns to the pool when the [`PooledArena`] is dropped.
    ///
    /// # Errors
    /// [`PoolExhausted`] when every arena is checked out.
    pub fn checkout(&self) -> Result<PooledArena, PoolExhausted> {
        let mut state = self.shared.lock();
        match state.free.pop() {
            Some(arena) => {
                let stats = &mut state.stats;
                stats.available -= 1;
                stats.in_use += 1;
                stats.peak_in_use = stats.peak_in_use.max(stats.in_use);
                stats.checkouts += 1;
                drop(state);
                Ok(PooledArena {
                    arena: ManuallyDrop::new(arena),
                    pool: Arc::clone(&self.shared),
                })
            }
            None => {
                state.stats.exhausted += 1;
                Err(PoolExhausted {
                    arenas: state.stats.arenas,
                })
            }
        }
    }

    /// Current counters.
    pub fn stats(&self) -> PoolStats {
        self.shared.lock().stats
    }

    /// Capacity of each arena in bytes.
    pub fn arena_capacity(&self) -> usize {
        self.shared.arena_capacity
    }
}

impl fmt::Debug for ArenaPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArenaPool")
            .field("arena_capacity", &self.shared.arena_capacity)
            .field("stats", &self.stats())
            .finish()
    }
}

/// An arena checked out of an [`ArenaPool`]; derefs to [`Arena`] (call `.session()` on it)
/// and goes back to the pool on drop. `Send`, so it can move with its connection.
pub struct PooledArena {
    arena: ManuallyDrop<Arena>,
    pool: Arc<PoolShared>,
}

impl Deref for PooledArena {
    type Target = Arena;
    fn deref(&self) -> &Arena {
        &self.arena
    }
}

impl DerefMut for PooledArena {
    fn deref_mut(&mut self) -> &mut Arena {
        &mut self.arena
    }
}

impl Drop for PooledArena {
    fn drop(&mut self) {
        // SAFETY: `arena` is taken exactly once, here, and `self` is never used afterwards.
        let mut arena = unsafe { ManuallyDrop::take(&mut self.arena) };
        // A connection closed mid-frame: the next user gets a zeroed arena.
        arena.discard_inbox();
        let mut state = self.pool.lock();
        // Never reallocates: capacity was reserved for every arena of the pool.
        state.free.push(arena);
        state.stats.available += 1;
        state.stats.in_use -= 1;
    }
}

impl fmt::Debug for PooledArena {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PooledArena").field(&*self.arena).finish()
    }
}
