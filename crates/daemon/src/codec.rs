//! Reply encoding: one FlatBuffers builder per connection, sized once for the largest frame.
//!
//! The builder is claimed when the connection is accepted with room for a maximum frame, so
//! it never grows and encoding a reply never touches the global heap. Replies that carry
//! bytes (outputs, exported keys, ciphertexts) are scrubbed out of the builder right after
//! they are sent, so no plaintext or key byte outlives its request in daemon memory.

use warden_core::{Error, ErrorCode};
use warden_wire::{Builder, HEADER_LEN, Response, encode_response};

/// Slack for FlatBuffers framing (root offset, vtables, alignment) beyond the frame limit.
const BUILDER_SLACK: usize = 1024;
/// Largest fixed-layout (handshake) reply.
const RAW_MAX: usize = 16;

/// The reply being prepared for the current request.
pub(crate) struct Out {
    builder: Builder,
    /// Fixed-layout handshake replies (not FlatBuffers).
    raw: [u8; RAW_MAX],
    raw_len: usize,
    body_len: usize,
    carries_bytes: bool,
    max_body: usize,
}

/// Zeros written over a reply's bytes, a chunk at a time ([`Out::scrub`]).
static ZEROS: [u8; 16 * 1024] = [0; 16 * 1024];

impl Out {
    /// A reply buffer for frames of at most `max_frame` bytes.
    pub(crate) fn new(max_frame: u32) -> Self {
        let max_body = (max_frame as usize).saturating_sub(HEADER_LEN);
        Self {
            builder: Builder::with_capacity(max_body + BUILDER_SLACK),
            raw: [0; RAW_MAX],
            raw_len: 0,
            body_len: 0,
            carries_bytes: false,
            max_body,
        }
    }

    /// Encodes `resp` as the reply body.
    pub(crate) fn reply(&mut self, resp: &Response<'_>) -> Result<(), Error> {
        self.carries_bytes |= matches!(
            resp,
            Response::Ping { .. }
                | Response::KeyBytes { .. }
                | Response::Encapsulated { .. }
                | Response::Output { .. }
        );
        self.raw_len = 0;
        let n = encode_response(&mut self.builder, resp).len();
        if n > self.max_body {
            self.body_len = 0;
            return Err(Error::new(
                ErrorCode::InsufficientBufferSize,
                "reply exceeds frame limit",
            ));
        }
        self.body_len = n;
        Ok(())
    }

    /// A fixed-layout reply body (handshake messages), at most 16 bytes.
    pub(crate) fn reply_raw(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let dst = self
            .raw
            .get_mut(..bytes.len())
            .ok_or(ErrorCode::InternalError)?;
        dst.copy_from_slice(bytes);
        self.raw_len = bytes.len();
        self.body_len = 0;
        Ok(())
    }

    /// Largest reply body allowed.
    pub(crate) fn max_body(&self) -> usize {
        self.max_body
    }

    /// Drops the body (an error reply carries none).
    pub(crate) fn clear(&mut self) {
        self.body_len = 0;
        self.raw_len = 0;
    }

    /// The encoded body (empty if none).
    pub(crate) fn body(&self) -> &[u8] {
        if self.raw_len > 0 {
            self.raw.get(..self.raw_len).unwrap_or_default()
        } else if self.body_len == 0 {
            &[]
        } else {
            self.builder.as_slice()
        }
    }

    /// Overwrites the bytes of a byte-carrying reply with zeros and forgets the body.
    ///
    /// planus writes back to front into a fixed buffer, so encoding zero vectors at least
    /// as long as the previous message, after a `clear`, covers every byte that message
    /// occupied. The zeros come from a static chunk: an arena copy of them cost a memset
    /// and the session's zeroing of it again per reply, and could fail in a full arena,
    /// which left the reply unscrubbed.
    pub(crate) fn scrub(&mut self) {
        if self.carries_bytes {
            let mut left = self.builder.len();
            self.builder.clear();
            while left > 0 {
                let n = left.min(ZEROS.len());
                let _ = self.builder.create_vector(ZEROS.get(..n).unwrap_or(&ZEROS));
                left -= n;
            }
            self.builder.clear();
        }
        self.carries_bytes = false;
        self.clear();
    }
}

/// A connection that closes with a reply still unsent (the client stopped reading and the
/// stall timer fired, or its write failed) drops the reply with it: the builder's buffer
/// goes back to the heap, so its bytes (a decryption, an exported key) are scrubbed first.
impl Drop for Out {
    fn drop(&mut self) {
        self.scrub();
    }
}
