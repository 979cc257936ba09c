//! The crate's one error type, and its mapping onto the protocol's error codes.

use core::fmt;

use warden_core::ErrorCode;

use crate::version::Version;

/// Everything that can go wrong while encoding or decoding a frame, a handshake or a body.
///
/// Every variant maps to a stable [`ErrorCode`] through [`WireError::error_code`], so a daemon
/// can answer a malformed request with a typed error instead of a bare disconnect. Variants
/// carry only numbers and static strings: never bytes from the peer.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireError {
    /// The frame does not start with the magic `b"WRDN"` (the stream is not ours or desynced).
    BadMagic([u8; 4]),
    /// The peer speaks a version (or a version range) this side does not serve.
    UnsupportedVersion {
        /// Lowest version the peer offered (equal to `max` for a single frame).
        min: Version,
        /// Highest version the peer offered.
        max: Version,
    },
    /// The whole frame (header plus body) is larger than the configured maximum.
    FrameTooLarge {
        /// Announced frame length in bytes (header plus body).
        len: u64,
        /// Configured maximum frame length in bytes.
        max: u32,
    },
    /// Fewer bytes than the header or a fixed-layout body requires.
    Truncated {
        /// Bytes required.
        needed: usize,
        /// Bytes present.
        got: usize,
    },
    /// The body is longer than the header announced (or than a fixed layout allows).
    TrailingBytes {
        /// Bytes expected.
        expected: usize,
        /// Bytes present.
        got: usize,
    },
    /// The opcode is not assigned (or assigned to a later protocol version).
    UnknownOpcode(u16),
    /// A flag bit that this version does not define is set.
    UnknownFlags(u16),
    /// The header's reserved field is not zero.
    ReservedNotZero(u16),
    /// A FlatBuffers body is malformed (bad offset, bad UTF-8, unknown enum or union tag...).
    MalformedBody(&'static str),
    /// A field that the operation requires is absent.
    MissingField(&'static str),
    /// A field is present but out of range (for example a name longer than its limit).
    InvalidField(&'static str),
    /// A handshake message is malformed (for example `min > max`).
    InvalidHandshake(&'static str),
    /// The caller's output buffer is too small for the encoding.
    BufferTooSmall {
        /// Bytes required.
        needed: usize,
        /// Bytes available.
        got: usize,
    },
}

impl WireError {
    /// The protocol error code a daemon sends back for this error.
    ///
    /// A version refusal maps to [`ErrorCode::ConnectionFailed`]: the seed's code table has no
    /// version code, and from the client's view the connection could not be established.
    pub fn error_code(self) -> ErrorCode {
        match self {
            WireError::BadMagic(_)
            | WireError::Truncated { .. }
            | WireError::TrailingBytes { .. }
            | WireError::UnknownFlags(_)
            | WireError::ReservedNotZero(_)
            | WireError::MalformedBody(_)
            | WireError::InvalidHandshake(_) => ErrorCode::InvalidFormat,
            WireError::UnsupportedVersion { .. } => ErrorCode::ConnectionFailed,
            WireError::FrameTooLarge { .. } => ErrorCode::QuotaExceeded,
            WireError::UnknownOpcode(_) => ErrorCode::UnsupportedOperation,
            WireError::MissingField(_) | WireError::InvalidField(_) => ErrorCode::InvalidArgument,
            WireError::BufferTooSmall { .. } => ErrorCode::InsufficientBufferSize,
        }
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::BadMagic(m) => write!(f, "bad frame magic {m:02x?}"),
            WireError::UnsupportedVersion { min, max } if min == max => {
                write!(f, "unsupported protocol version {min}")
            }
            WireError::UnsupportedVersion { min, max } => {
                write!(f, "no common protocol version in {min}..={max}")
            }
            WireError::FrameTooLarge { len, max } => {
                write!(f, "frame of {len} bytes exceeds the maximum of {max}")
            }
            WireError::Truncated { needed, got } => {
                write!(f, "truncated: need {needed} bytes, got {got}")
            }
            WireError::TrailingBytes { expected, got } => {
                write!(f, "trailing bytes: expected {expected} bytes, got {got}")
            }
            WireError::UnknownOpcode(op) => write!(f, "unknown opcode {op:#06x}"),
            WireError::UnknownFlags(fl) => write!(f, "unknown flag bits {fl:#06x}"),
            WireError::ReservedNotZero(r) => write!(f, "reserved header field is {r:#06x}, not 0"),
            WireError::MalformedBody(what) => write!(f, "malformed body: {what}"),
            WireError::MissingField(what) => write!(f, "missing field: {what}"),
            WireError::InvalidField(what) => write!(f, "invalid field: {what}"),
            WireError::InvalidHandshake(what) => write!(f, "invalid handshake: {what}"),
            WireError::BufferTooSmall { needed, got } => {
                write!(f, "output buffer too small: need {needed} bytes, got {got}")
            }
        }
    }
}

impl core::error::Error for WireError {}

impl From<WireError> for warden_core::Error {
    fn from(e: WireError) -> Self {
        warden_core::Error::new(e.error_code(), "wire protocol error")
    }
}
