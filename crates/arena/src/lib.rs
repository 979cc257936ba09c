//! Fixed, pre-claimed session bump arena, zeroed when each session ends.
//!
//! Every request of the warden daemon lives in a [`Session`] of an [`Arena`]: a region
//! claimed once (a static buffer, or an OS mapping with the `std` feature), bump-allocated in
//! O(1) without touching the global heap, and zeroed — exactly the bytes used — when the
//! session is dropped, so the next request only ever sees zeros.
//!
//! ```
//! use warden_arena::Arena;
//!
//! let mut arena = Arena::with_capacity(64 * 1024)?;
//! {
//!     let session = arena.session();
//!     let key = session.try_alloc([0x42u8; 32])?;
//!     key[0] = 7;
//!     let name = session.try_alloc_str("aes-256-gcm")?;
//!     assert_eq!(name, "aes-256-gcm");
//!     assert!(session.used() >= 32 + 11);
//! } // session ends: the used bytes are zeroed
//! assert!(arena.is_zeroed());
//! assert_eq!(arena.stats().allocations, 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Guarantees the compiler enforces
//!
//! Only `Copy` types can be allocated, so no destructor is ever skipped:
//!
//! ```compile_fail,E0277
//! let mut arena = warden_arena::Arena::with_capacity(4096).unwrap();
//! let session = arena.session();
//! let s = session.try_alloc(String::from("has a destructor"));
//! ```
//!
//! A reference cannot outlive its session:
//!
//! ```compile_fail,E0597
//! let mut arena = warden_arena::Arena::with_capacity(4096).unwrap();
//! let escaped: &mut u64 = {
//!     let session = arena.session();
//!     session.try_alloc(7u64).unwrap()
//! };
//! *escaped = 8;
//! ```
//!
//! An arena has at most one live session:
//!
//! ```compile_fail,E0499
//! let mut arena = warden_arena::Arena::with_capacity(4096).unwrap();
//! let first = arena.session();
//! let second = arena.session();
//! drop(first);
//! drop(second);
//! ```
//!
//! # `no_std`
//!
//! Without the default `std` feature the crate needs neither `std` nor `alloc`; use
//! [`Arena::from_static`] with a region you own for `'static`.

#![no_std]

#[cfg(feature = "std")]
extern crate std;

mod allocator;
mod arena;
mod asan;
#[cfg(feature = "std")]
mod chunks;
mod copying;
#[cfg(feature = "counting-alloc")]
pub mod counting;
mod error;
#[cfg(feature = "std")]
mod os_region;
#[cfg(feature = "std")]
mod pool;
mod session;
mod zeroing;

pub use arena::{Arena, ArenaStats};
#[cfg(feature = "std")]
pub use chunks::{Account, Chunk, ChunkError, ChunkPool, Claim};
pub use copying::copy;
#[cfg(feature = "std")]
pub use copying::to_vec;
pub use error::{ArenaError, ArenaFull, PoolExhausted};
#[cfg(feature = "std")]
pub use os_region::ArenaOptions;
#[cfg(feature = "std")]
pub use pool::{ArenaPool, PoolStats, PooledArena};
pub use session::Session;
pub use zeroing::wipe;

/// How this crate works and why (design notes; the short overview is `ARCHITECTURE.md`).
#[doc = include_str!("design.md")]
pub mod design {}
