//! `Arena`: one fixed, pre-claimed region that never grows.

use core::fmt;
use core::ptr::NonNull;

use crate::asan;
#[cfg(feature = "std")]
use crate::error::ArenaError;
use crate::error::ArenaFull;
#[cfg(feature = "std")]
use crate::os_region::{ArenaOptions, OsRegion};
use crate::session::Session;
use crate::zeroing::zero_bytes;

/// Counters kept by an [`Arena`], cheap enough to leave on.
///
/// Allocation counts are kept in plain integers inside the [`Session`] and folded into the
/// arena when the session ends, so the allocation fast path pays one register increment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ArenaStats {
    /// Sessions opened on this arena.
    pub sessions: u64,
    /// Successful allocations in finished sessions.
    pub allocations: u64,
    /// Failed allocations (`ArenaFull`) in finished sessions.
    pub failed_allocations: u64,
    /// Largest high-water mark (bytes) of any finished session.
    pub peak_bytes: usize,
    /// Total bytes zeroed at session ends.
    pub bytes_zeroed: u64,
    /// Sessions that were leaked (`mem::forget`) and whose region was therefore zeroed in
    /// full when the next session opened or the arena was dropped.
    pub leaked_sessions: u64,
}

/// One fixed, pre-claimed memory region; allocate from it through a [`Session`].
///
/// The region is all zeros whenever no session is live, except for a pending inbox (see
/// [`Arena::inbox`]): it is zeroed once when the arena is created and each session zeroes
/// the bytes it used, inbox included, when it ends.
pub struct Arena {
    /// Start of the region. Only raw pointers to it are kept, never a Rust reference, so
    /// blocks handed out by sessions do not alias any borrow.
    pub(crate) base: NonNull<u8>,
    pub(crate) capacity: usize,
    /// Set while a session is live; still set at the next `session()` only if the previous
    /// session was leaked without running its destructor.
    pub(crate) session_open: bool,
    /// Length of the inbox at the start of the region (0 = none): bytes kept between
    /// sessions, handed to the next session as [`Session::inbox`] and zeroed when it ends.
    pub(crate) inbox_len: usize,
    pub(crate) stats: ArenaStats,
    /// Keeps the OS mapping alive (dropped after `Arena::drop` has run).
    #[cfg(feature = "std")]
    _region: Option<OsRegion>,
}

// SAFETY: an `Arena` exclusively owns (or exclusively borrows for `'static`) its region;
// there is no shared state with any other value, so moving it to another thread is sound.
// It is deliberately not `Sync`: all use goes through `&mut self`.
unsafe impl Send for Arena {}

impl Arena {
    /// An arena over a caller-provided static region (for `no_std` targets, e.g. a
    /// `static mut` buffer obtained with `addr_of_mut!`, or a leaked `Box`).
    ///
    /// The region is zeroed once here (O(len)), so the first session sees only zeros. Any
    /// alignment of the region is fine; allocations are aligned on absolute addresses.
    pub fn from_static(region: &'static mut [u8]) -> Arena {
        let capacity = region.len();
        let base = NonNull::from(region).cast::<u8>();
        // SAFETY: `base` is valid for writes of `capacity` bytes: it comes from a live
        // `&'static mut [u8]` of that length, which we consume.
        unsafe { zero_bytes(base.as_ptr(), capacity) };
        Arena {
            base,
            capacity,
            session_open: false,
            inbox_len: 0,
            stats: ArenaStats::default(),
            #[cfg(feature = "std")]
            _region: None,
        }
    }

    /// An arena over a fresh OS region of exactly `bytes` usable bytes: page-aligned,
    /// zero-filled and prefaulted, with the default [`ArenaOptions`] (no `mlock`).
    ///
    /// # Errors
    /// [`ArenaError::ZeroCapacity`] for 0 bytes, [`ArenaError::CapacityOverflow`] if the
    /// size cannot be rounded to pages, [`ArenaError::MapFailed`] if the OS refuses.
    #[cfg(feature = "std")]
    pub fn with_capacity(bytes: usize) -> Result<Arena, ArenaError> {
        Self::with_options(bytes, ArenaOptions::default())
    }

    /// Like [`with_capacity`](Self::with_capacity), with explicit options (e.g. `mlock`).
    ///
    /// # Errors
    /// As `with_capacity`, plus [`ArenaError::MlockRefused`] when `mlock` was asked for and
    /// the OS refused it (typically `RLIMIT_MEMLOCK`).
    #[cfg(feature = "std")]
    pub fn with_options(bytes: usize, options: ArenaOptions) -> Result<Arena, ArenaError> {
        let region = OsRegion::new(bytes, options)?;
        Ok(Arena {
            base: region.as_ptr(),
            capacity: bytes,
            session_open: false,
            inbox_len: 0,
            stats: ArenaStats::default(),
            _region: Some(region),
        })
    }

    /// Open the allocation session. The `&mut self` borrow guarantees at most one live
    /// session per arena; dropping the session zeroes what it used and resets the arena.
    ///
    /// If the previous session was leaked (`mem::forget`), its extent is unknown, so the
    /// whole region is zeroed here first (O(capacity), counted in
    /// [`ArenaStats::leaked_sessions`]).
    #[inline]
    pub fn session(&mut self) -> Session<'_> {
        if self.session_open {
            self.recover_leaked_session();
        }
        self.session_open = true;
        self.stats.sessions += 1;
        Session::new(self)
    }

    /// The first `len` bytes of the region, kept while no session is live: a receive
    /// buffer for a frame that arrives over several reads (the daemon's one copy of a request
    /// stays in arena memory even when a slow client sends it in pieces). Bytes written stay
    /// across calls; growing it adds zero bytes. The next [`session`](Self::session) sees
    /// them as [`Session::inbox`], allocates after them and zeroes them when it ends;
    /// [`discard_inbox`](Self::discard_inbox) zeroes them without a session.
    ///
    /// # Errors
    /// [`ArenaFull`] when `len` exceeds the capacity.
    pub fn inbox(&mut self, len: usize) -> Result<&mut [u8], ArenaFull> {
        if self.session_open {
            self.recover_leaked_session();
        }
        if len > self.capacity {
            return Err(ArenaFull {
                requested: len,
                remaining: self.capacity,
            });
        }
        self.inbox_len = self.inbox_len.max(len);
        asan::unpoison(self.base.as_ptr(), len);
        // SAFETY: `len <= capacity`, so the range is inside the region, which is initialised
        // (zeroed at creation, written only through sessions and this method). `&mut self`
        // means no session, and so no block handed out by one, is live; the slice borrows
        // `self` mutably, so no session can start while it exists.
        let inbox = unsafe { core::slice::from_raw_parts_mut(self.base.as_ptr(), len) };
        Ok(inbox)
    }

    /// Bytes currently held in the inbox (0 when none).
    pub fn inbox_len(&self) -> usize {
        self.inbox_len
    }

    /// Zeroes and forgets the inbox (a connection closed mid-frame). O(inbox length).
    pub fn discard_inbox(&mut self) {
        if self.inbox_len == 0 {
            return;
        }
        asan::unpoison(self.base.as_ptr(), self.inbox_len);
        // SAFETY: `inbox_len <= capacity` (checked in `inbox`); `&mut self` means no session
        // and no inbox slice is live.
        unsafe { zero_bytes(self.base.as_ptr(), self.inbox_len) };
        self.stats.bytes_zeroed += self.inbox_len as u64;
        asan::poison(self.base.as_ptr(), self.inbox_len);
        self.inbox_len = 0;
    }

    /// Usable bytes in the region.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Counters accumulated over finished sessions.
    pub fn stats(&self) -> ArenaStats {
        self.stats
    }

    /// Read-only view of the whole region while no session is live, for tests and audits
    /// (it must be all zeros).
    pub fn inspect_region(&mut self) -> &[u8] {
        if self.session_open {
            self.recover_leaked_session();
        }
        asan::unpoison(self.base.as_ptr(), self.capacity);
        // SAFETY: the region is valid for reads of `capacity` bytes and fully initialised
        // (zeroed at creation, only written through sessions since). `&mut self` means no
        // session, and hence no block handed out by one, is live while the view exists.
        unsafe { core::slice::from_raw_parts(self.base.as_ptr(), self.capacity) }
    }

    /// True when every byte of the region is zero (O(capacity); see `inspect_region`).
    pub fn is_zeroed(&mut self) -> bool {
        self.inspect_region().iter().all(|&b| b == 0)
    }

    #[cold]
    fn recover_leaked_session(&mut self) {
        asan::unpoison(self.base.as_ptr(), self.capacity);
        // SAFETY: the region is valid for writes of `capacity` bytes; the leaked session's
        // borrow of `self` has ended (we hold `&mut self`), so no block handed out by it can
        // be used any more.
        unsafe { zero_bytes(self.base.as_ptr(), self.capacity) };
        self.stats.leaked_sessions += 1;
        self.stats.bytes_zeroed += self.capacity as u64;
        self.session_open = false;
        self.inbox_len = 0;
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        if self.session_open {
            self.recover_leaked_session();
        }
        self.discard_inbox();
        // The memory goes back to its owner (OS or leaked static): leave it addressable.
        asan::unpoison(self.base.as_ptr(), self.capacity);
    }
}

impl fmt::Debug for Arena {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print region contents: they may be session secrets.
        f.debug_struct("Arena")
            .field("capacity", &self.capacity)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}
