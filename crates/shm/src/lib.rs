//! The shared-memory data plane (issue 13): regions of memory a client and `wardend` both map,
//! so bulk payloads (a 50 MB file to sign or seal) never travel through the control socket.
//!
//! - [`Region::create`] (client): a `memfd` sealed against shrinking and growing, mapped
//!   read-write and shared; its descriptor is passed once over the authenticated socket.
//! - [`Mapping::from_client_fd`] (daemon): **refuses** any descriptor that is not a plain
//!   memfd (tmpfs, not hugetlbfs) carrying `F_SEAL_SHRINK`, or whose size is not the declared
//!   length, then maps it. With the shrink seal in place no client action can make the
//!   mapping's pages disappear, so the daemon can never take `SIGBUS` on it.
//! - [`Scratch`]: daemon-private anonymous memory for copy-in (signing, AEAD open), wiped
//!   before it is unmapped.
//! - [`send_with_fd`] / [`recv_with_fds`]: `SCM_RIGHTS` over a Unix stream socket.
//!
//! See [`design`] for what a client can and cannot do by changing region bytes during an
//! operation. This crate and `warden-arena` are the only ones with `unsafe`; every block has a
//! `// SAFETY:` comment.

// Client bytes reach this crate (lengths, offsets): no indexing or panics on them (tests may).
#![deny(clippy::indexing_slicing, clippy::panic)]
#![cfg_attr(test, allow(clippy::indexing_slicing, clippy::panic))]

mod error;
mod fdpass;
mod mapping;
mod region;
mod scratch;

#[doc = include_str!("design.md")]
pub mod design {}

pub use error::ShmError;
pub use fdpass::{MAX_FDS_PER_READ, drain_fds, recv_with_fds, send_with_fd};
pub use mapping::{Mapping, check_range, closes_locally, overlaps};
pub use region::Region;
pub use scratch::Scratch;
