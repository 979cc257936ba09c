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

#![forbid(unsafe_code)]

mod error;
pub mod handshake;
mod header;
mod opcode;
mod version;

pub use error::WireError;
pub use header::{
    DEFAULT_MAX_FRAME_LEN, FLAG_RESPONSE, FrameHeader, HEADER_LEN, KNOWN_FLAGS, MAGIC, split_frame,
    write_frame,
};
pub use opcode::{Opcode, reserved};
pub use version::{PROTOCOL_VERSION, Version, negotiate};
