//! Versioned wire protocol between `wardend` and its clients.
//!
//! A connection is a byte stream of frames. Every frame is a fixed 32-byte [`FrameHeader`]
//! followed by `body_len` body bytes. The first frame is a [`handshake::Hello`] that fixes the
//! protocol [`Version`] for the connection ([`negotiate`]); after that each request frame
//! carries an [`Opcode`] and a FlatBuffers body, answered by one response frame with the same
//! request id and opcode.
//!
//! Decoding is total: any byte string yields a value or a typed [`WireError`], never a panic,
//! and every error maps to a stable `warden_core::ErrorCode` ([`WireError::error_code`]).
//!
//! Bodies are FlatBuffers (schema in `crates/wire/schema/*.fbs`, generated code checked in and
//! private). Daemon and client code use only the typed layer: [`encode_request`] /
//! [`decode_request`] and [`encode_response`] / [`decode_response`] over the borrowed values
//! of [`messages`]. Decoded values borrow from the body (zero-copy) and decoding allocates
//! nothing, so a daemon that copies a frame once into its session arena decodes it there.
//!
//! ```
//! use warden_wire::{Builder, FrameHeader, Opcode, Payload, Request, PROTOCOL_VERSION};
//! use warden_wire::{decode_request, encode_request, split_frame, write_frame};
//!
//! // Client: encode a body, then frame it.
//! let mut builder = Builder::new();
//! let req = Request::Update { context_id: 7, input: Payload::Inline(b"hello") };
//! let body = encode_request(&mut builder, &req);
//! let header = FrameHeader { deadline_ms: 5000, ..FrameHeader::request(PROTOCOL_VERSION, 1, req.opcode().as_u16()) };
//! let mut frame = [0u8; 256];
//! let n = write_frame(&header, body, &mut frame)?;
//!
//! // Daemon: check the header against the configured limit, then decode in place.
//! let (h, body) = split_frame(&frame[..n], 64 * 1024)?;
//! h.check_version(PROTOCOL_VERSION)?;
//! assert_eq!(decode_request(h.opcode()?, body)?, req);
//! # Ok::<(), warden_wire::WireError>(())
//! ```

// `deny`, not `forbid`: the planus-generated module (and only it) contains `unsafe` blocks from
// the code generator (unchecked writes in its serialisers). Hand-written code has none;
// `tests/unsafe_only_in_generated.rs` keeps it that way.
#![deny(unsafe_code)]
// Client, file and network bytes reach this crate: no indexing or panics that could
// turn them into a crash (tests may).
#![deny(clippy::indexing_slicing, clippy::panic)]
#![cfg_attr(test, allow(clippy::indexing_slicing, clippy::panic))]

mod codec;
mod error;
#[allow(
    unsafe_code,
    missing_docs,
    unused,
    clippy::all,
    clippy::pedantic,
    clippy::undocumented_unsafe_blocks,
    clippy::unwrap_used,
    clippy::expect_used
)]
#[rustfmt::skip]
mod generated;
pub mod admin;
pub mod handshake;
mod header;
pub mod messages;
mod opcode;
mod providers;
mod version;

pub use codec::{
    Builder, Reply, decode_error_detail, decode_reply, decode_request, decode_response,
    encode_error_detail, encode_request, encode_response, response_fits,
};
pub use error::WireError;
pub use header::{
    DEFAULT_MAX_FRAME_LEN, FLAG_RESPONSE, FrameHeader, HEADER_LEN, KNOWN_FLAGS, MAGIC,
    MAX_FRAME_LIMIT, split_frame, write_frame,
};
pub use messages::{Payload, Request, Response};
pub use opcode::{Opcode, reserved};
pub use version::{PROTOCOL_VERSION, Version, negotiate};

/// How this crate works and why (design notes; the short overview is `ARCHITECTURE.md`).
#[doc = include_str!("design.md")]
pub mod design {}
