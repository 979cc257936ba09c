//! The fixed 32-byte frame header that precedes every message in both directions.
//!
//! Layout (all integers little endian):
//!
//! | offset | size | field | meaning |
//! |---|---|---|---|
//! | 0 | 4 | magic | `b"WRDN"` |
//! | 4 | 1 | version major | |
//! | 5 | 1 | version minor | |
//! | 6 | 2 | flags | [`FLAG_RESPONSE`]; other bits must be 0 |
//! | 8 | 8 | request id | chosen by the client, echoed in the response |
//! | 16 | 2 | opcode | see [`crate::Opcode`]; a response repeats the request's opcode |
//! | 18 | 2 | reserved | must be 0 |
//! | 20 | 4 | status | 0 = success, otherwise a `warden_core::ErrorCode` value (responses only) |
//! | 24 | 4 | deadline | relative budget in ms for the request, 0 = none |
//! | 28 | 4 | body length | bytes following the header |
//!
//! The first six bytes (magic and version) are frozen for every major version, so any peer can
//! read a frame's version and refuse it with a typed error.

use crate::error::WireError;
use crate::version::Version;

/// Size of the encoded header in bytes.
pub const HEADER_LEN: usize = 32;

/// The four bytes every frame starts with.
pub const MAGIC: [u8; 4] = *b"WRDN";

/// Flag bit: the frame is a response (daemon to client). Requests have it clear.
pub const FLAG_RESPONSE: u16 = 0x0001;

/// All flag bits this version defines; any other set bit is rejected.
pub const KNOWN_FLAGS: u16 = FLAG_RESPONSE;

/// The largest frame limit a daemon may configure and announce in its handshake (bulk data
/// belongs to the shared-memory data plane); a client refuses a handshake announcing more.
pub const MAX_FRAME_LIMIT: u32 = 16 * 1024 * 1024;

/// Default maximum frame length (header plus body): 1 MiB + header. Daemon config overrides it.
pub const DEFAULT_MAX_FRAME_LEN: u32 = 1024 * 1024 + HEADER_LEN as u32;

/// A decoded frame header. Plain data: every field is public and `Copy`.
///
/// `opcode` stays a raw `u16` so that a frame with an opcode this side does not know can still
/// be answered with its request id; [`FrameHeader::opcode`] parses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Protocol version the frame is encoded in.
    pub version: Version,
    /// Flag bits ([`FLAG_RESPONSE`]).
    pub flags: u16,
    /// Client-chosen id that the response echoes.
    pub request_id: u64,
    /// Raw opcode; see [`FrameHeader::opcode`].
    pub opcode: u16,
    /// 0 for success or a request; otherwise an error code value.
    pub status: u32,
    /// Relative deadline budget in milliseconds, 0 = none.
    pub deadline_ms: u32,
    /// Length of the body that follows the header.
    pub body_len: u32,
}

impl FrameHeader {
    /// A request header with no deadline, no flags and an empty body.
    pub const fn request(version: Version, request_id: u64, opcode: u16) -> Self {
        FrameHeader {
            version,
            flags: 0,
            request_id,
            opcode,
            status: 0,
            deadline_ms: 0,
            body_len: 0,
        }
    }

    /// The response header matching this request: same version, id and opcode, response flag
    /// set, the given status (0 = success) and body length, no deadline.
    pub const fn response(&self, status: u32, body_len: u32) -> Self {
        FrameHeader {
            version: self.version,
            flags: FLAG_RESPONSE,
            request_id: self.request_id,
            opcode: self.opcode,
            status,
            deadline_ms: 0,
            body_len,
        }
    }

    /// Whether the response flag is set.
    pub const fn is_response(&self) -> bool {
        self.flags & FLAG_RESPONSE != 0
    }

    /// The parsed opcode, or [`WireError::UnknownOpcode`].
    pub fn opcode(&self) -> Result<crate::Opcode, WireError> {
        crate::Opcode::from_u16(self.opcode)
    }

    /// Total frame length (header plus body) in bytes.
    pub const fn frame_len(&self) -> u64 {
        HEADER_LEN as u64 + self.body_len as u64
    }

    /// Encodes the header into exactly [`HEADER_LEN`] bytes.
    pub fn encode(&self, out: &mut [u8; HEADER_LEN]) {
        out[0..4].copy_from_slice(&MAGIC);
        out[4] = self.version.major;
        out[5] = self.version.minor;
        out[6..8].copy_from_slice(&self.flags.to_le_bytes());
        out[8..16].copy_from_slice(&self.request_id.to_le_bytes());
        out[16..18].copy_from_slice(&self.opcode.to_le_bytes());
        out[18..20].copy_from_slice(&0u16.to_le_bytes());
        out[20..24].copy_from_slice(&self.status.to_le_bytes());
        out[24..28].copy_from_slice(&self.deadline_ms.to_le_bytes());
        out[28..32].copy_from_slice(&self.body_len.to_le_bytes());
    }

    /// The encoded header as an array.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        self.encode(&mut out);
        out
    }

    /// The response to a header that [`FrameHeader::decode`] refused (bad magic, flags,
    /// length...): the request id and opcode are read from their fixed places whatever else
    /// is wrong, so the client can still match the error to its request; our version, status
    /// `status`, no body.
    pub fn refusal_of(raw: &[u8; HEADER_LEN], status: u32) -> FrameHeader {
        let request_id = u64::from_le_bytes([
            raw[8], raw[9], raw[10], raw[11], raw[12], raw[13], raw[14], raw[15],
        ]);
        let opcode = u16::from_le_bytes([raw[16], raw[17]]);
        FrameHeader::request(crate::PROTOCOL_VERSION, request_id, opcode).response(status, 0)
    }

    /// Decodes a header from the first [`HEADER_LEN`] bytes of `bytes` (extra bytes are
    /// ignored: they are the body) and checks it against `max_frame_len`.
    ///
    /// Total over arbitrary input. Checks, in this order: length ([`WireError::Truncated`]),
    /// magic ([`WireError::BadMagic`]), major version of the header layout
    /// ([`WireError::UnsupportedVersion`]), flags ([`WireError::UnknownFlags`]), reserved field
    /// ([`WireError::ReservedNotZero`]), header plus body length against `max_frame_len`
    /// ([`WireError::FrameTooLarge`]). The opcode is not checked here (see
    /// [`FrameHeader::opcode`]) and the minor version is checked against the negotiated one by
    /// [`FrameHeader::check_version`].
    pub fn decode(bytes: &[u8], max_frame_len: u32) -> Result<Self, WireError> {
        let Some(h) = bytes.first_chunk::<HEADER_LEN>() else {
            return Err(WireError::Truncated {
                needed: HEADER_LEN,
                got: bytes.len(),
            });
        };
        let magic = [h[0], h[1], h[2], h[3]];
        if magic != MAGIC {
            return Err(WireError::BadMagic(magic));
        }
        let version = Version::new(h[4], h[5]);
        if version.major != crate::PROTOCOL_VERSION.major {
            return Err(WireError::UnsupportedVersion {
                min: version,
                max: version,
            });
        }
        let flags = u16::from_le_bytes([h[6], h[7]]);
        if flags & !KNOWN_FLAGS != 0 {
            return Err(WireError::UnknownFlags(flags));
        }
        let reserved = u16::from_le_bytes([h[18], h[19]]);
        if reserved != 0 {
            return Err(WireError::ReservedNotZero(reserved));
        }
        let header = FrameHeader {
            version,
            flags,
            request_id: u64::from_le_bytes([h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]]),
            opcode: u16::from_le_bytes([h[16], h[17]]),
            status: u32::from_le_bytes([h[20], h[21], h[22], h[23]]),
            deadline_ms: u32::from_le_bytes([h[24], h[25], h[26], h[27]]),
            body_len: u32::from_le_bytes([h[28], h[29], h[30], h[31]]),
        };
        if header.frame_len() > u64::from(max_frame_len) {
            return Err(WireError::FrameTooLarge {
                len: header.frame_len(),
                max: max_frame_len,
            });
        }
        Ok(header)
    }

    /// Checks that the frame uses the version negotiated for the connection.
    pub fn check_version(&self, negotiated: Version) -> Result<(), WireError> {
        if self.version == negotiated {
            Ok(())
        } else {
            Err(WireError::UnsupportedVersion {
                min: self.version,
                max: self.version,
            })
        }
    }
}

/// Splits one complete frame into its header and body.
///
/// `bytes` must hold exactly one frame: [`WireError::Truncated`] if the body is shorter than
/// announced, [`WireError::TrailingBytes`] if longer. Other errors as [`FrameHeader::decode`].
pub fn split_frame(bytes: &[u8], max_frame_len: u32) -> Result<(FrameHeader, &[u8]), WireError> {
    let header = FrameHeader::decode(bytes, max_frame_len)?;
    let body = bytes.get(HEADER_LEN..).unwrap_or(&[]);
    let expected = header.body_len as usize;
    if body.len() < expected {
        return Err(WireError::Truncated {
            needed: HEADER_LEN + expected,
            got: bytes.len(),
        });
    }
    if body.len() > expected {
        return Err(WireError::TrailingBytes {
            expected: HEADER_LEN + expected,
            got: bytes.len(),
        });
    }
    Ok((header, body))
}

/// Writes a complete frame (header with `body_len` set from `body`, then `body`) into `out`
/// and returns the number of bytes written.
///
/// Errors: [`WireError::FrameTooLarge`] if the body does not fit a `u32` length;
/// [`WireError::BufferTooSmall`] if `out` is too short.
pub fn write_frame(header: &FrameHeader, body: &[u8], out: &mut [u8]) -> Result<usize, WireError> {
    let body_len = u32::try_from(body.len()).map_err(|_| WireError::FrameTooLarge {
        len: HEADER_LEN as u64 + body.len() as u64,
        max: u32::MAX,
    })?;
    let total = HEADER_LEN + body.len();
    let got = out.len();
    let Some((head, rest)) = out
        .get_mut(..total)
        .and_then(|o| o.split_first_chunk_mut::<HEADER_LEN>())
    else {
        return Err(WireError::BufferTooSmall { needed: total, got });
    };
    FrameHeader {
        body_len,
        ..*header
    }
    .encode(head);
    rest.copy_from_slice(body);
    Ok(total)
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_refused_header_still_names_its_request() {
        let mut raw =
            FrameHeader::request(crate::PROTOCOL_VERSION, 0x1122_3344_5566_7788, 0x0203).to_bytes();
        raw[0] = b'X'; // bad magic: decode refuses it
        assert!(FrameHeader::decode(&raw, u32::MAX).is_err());
        let reply = FrameHeader::refusal_of(&raw, 7);
        assert_eq!(
            (reply.request_id, reply.opcode),
            (0x1122_3344_5566_7788, 0x0203)
        );
        assert_eq!((reply.status, reply.body_len), (7, 0));
        assert!(reply.is_response());
    }

    use super::*;
    use crate::PROTOCOL_VERSION;

    fn sample() -> FrameHeader {
        FrameHeader {
            // Fixed, not PROTOCOL_VERSION: the byte layout below must not move with releases.
            version: Version::new(1, 0),
            flags: FLAG_RESPONSE,
            request_id: 0x0102_0304_0506_0708,
            opcode: 0x0203,
            status: 0x0108_000A,
            deadline_ms: 5000,
            body_len: 3,
        }
    }

    #[test]
    fn layout_is_little_endian_at_documented_offsets() {
        let b = sample().to_bytes();
        assert_eq!(&b[0..4], b"WRDN");
        assert_eq!(b[4..6], [1, 0]);
        assert_eq!(b[6..8], [1, 0]);
        assert_eq!(b[8..16], [8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(b[16..18], [0x03, 0x02]);
        assert_eq!(b[18..20], [0, 0]);
        assert_eq!(b[20..24], [0x0A, 0x00, 0x08, 0x01]);
        assert_eq!(b[24..28], 5000u32.to_le_bytes());
        assert_eq!(b[28..32], [3, 0, 0, 0]);
    }

    #[test]
    fn round_trips() {
        let h = sample();
        assert_eq!(
            FrameHeader::decode(&h.to_bytes(), DEFAULT_MAX_FRAME_LEN),
            Ok(h)
        );
    }

    #[test]
    fn every_short_prefix_is_truncated() {
        let b = sample().to_bytes();
        for n in 0..HEADER_LEN {
            assert_eq!(
                FrameHeader::decode(&b[..n], DEFAULT_MAX_FRAME_LEN),
                Err(WireError::Truncated {
                    needed: HEADER_LEN,
                    got: n
                })
            );
        }
    }

    #[test]
    fn wrong_magic_is_rejected() {
        let mut b = sample().to_bytes();
        b[0] = b'X';
        assert_eq!(
            FrameHeader::decode(&b, DEFAULT_MAX_FRAME_LEN),
            Err(WireError::BadMagic(*b"XRDN"))
        );
    }

    #[test]
    fn wrong_major_is_rejected_and_wrong_minor_fails_the_session_check() {
        let mut b = sample().to_bytes();
        b[4] = 2;
        assert_eq!(
            FrameHeader::decode(&b, DEFAULT_MAX_FRAME_LEN),
            Err(WireError::UnsupportedVersion {
                min: Version::new(2, 0),
                max: Version::new(2, 0)
            })
        );
        let mut b = sample().to_bytes();
        b[5] = 7;
        let h = FrameHeader::decode(&b, DEFAULT_MAX_FRAME_LEN).unwrap();
        assert_eq!(h.check_version(Version::new(1, 7)), Ok(()));
        assert!(matches!(
            h.check_version(PROTOCOL_VERSION),
            Err(WireError::UnsupportedVersion { .. })
        ));
    }

    #[test]
    fn unknown_flags_and_reserved_bits_are_rejected() {
        let mut b = sample().to_bytes();
        b[6] = 0x03;
        assert_eq!(
            FrameHeader::decode(&b, DEFAULT_MAX_FRAME_LEN),
            Err(WireError::UnknownFlags(0x0003))
        );
        let mut b = sample().to_bytes();
        b[19] = 0x80;
        assert_eq!(
            FrameHeader::decode(&b, DEFAULT_MAX_FRAME_LEN),
            Err(WireError::ReservedNotZero(0x8000))
        );
    }

    #[test]
    fn oversized_frames_are_rejected_at_the_limit_boundary() {
        let h = FrameHeader {
            body_len: 100,
            ..sample()
        };
        let b = h.to_bytes();
        let exact = HEADER_LEN as u32 + 100;
        assert_eq!(FrameHeader::decode(&b, exact), Ok(h));
        assert_eq!(
            FrameHeader::decode(&b, exact - 1),
            Err(WireError::FrameTooLarge {
                len: u64::from(exact),
                max: exact - 1
            })
        );
        let huge = FrameHeader {
            body_len: u32::MAX,
            ..sample()
        };
        assert!(matches!(
            FrameHeader::decode(&huge.to_bytes(), u32::MAX),
            Err(WireError::FrameTooLarge { .. })
        ));
    }

    #[test]
    fn split_frame_checks_body_length_both_ways() {
        let mut buf = [0u8; 64];
        let n = write_frame(&sample(), b"abc", &mut buf).unwrap();
        assert_eq!(n, HEADER_LEN + 3);
        let (h, body) = split_frame(&buf[..n], DEFAULT_MAX_FRAME_LEN).unwrap();
        assert_eq!(h, sample());
        assert_eq!(body, b"abc");
        assert!(matches!(
            split_frame(&buf[..n - 1], DEFAULT_MAX_FRAME_LEN),
            Err(WireError::Truncated { .. })
        ));
        assert!(matches!(
            split_frame(&buf[..n + 1], DEFAULT_MAX_FRAME_LEN),
            Err(WireError::TrailingBytes { .. })
        ));
    }

    #[test]
    fn write_frame_reports_small_buffer() {
        let mut buf = [0u8; HEADER_LEN + 2];
        assert_eq!(
            write_frame(&sample(), b"abc", &mut buf),
            Err(WireError::BufferTooSmall {
                needed: HEADER_LEN + 3,
                got: HEADER_LEN + 2
            })
        );
    }

    #[test]
    fn response_echoes_request_identity() {
        let req = FrameHeader {
            deadline_ms: 10,
            ..FrameHeader::request(PROTOCOL_VERSION, 42, 0x0002)
        };
        assert!(!req.is_response());
        let resp = req.response(0x0103_0006, 9);
        assert!(resp.is_response());
        assert_eq!(
            (resp.request_id, resp.opcode, resp.version),
            (42, 0x0002, PROTOCOL_VERSION)
        );
        assert_eq!(
            (resp.status, resp.body_len, resp.deadline_ms),
            (0x0103_0006, 9, 0)
        );
    }
}
