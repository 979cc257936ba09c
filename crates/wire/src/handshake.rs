//! Connect-time handshake: the first frame on a connection is a `Hello` from the client; the
//! daemon answers with a `HelloAck` (status 0) or a `HelloRefusal` (status
//! [`REFUSAL_CODE`]) and then closes.
//!
//! Handshake bodies use a fixed little-endian layout instead of FlatBuffers: they are read
//! before any version is agreed, so they must not depend on the body schema of a version. The
//! header of a handshake frame carries the client's highest version; the daemon reads the
//! header only for its major layout. Both layouts may grow by appending bytes: a reader ignores
//! bytes past the fields it knows.
//!
//! `Hello`: `min.major, min.minor, max.major, max.minor, name_len (u8), name (name_len bytes)`.
//! `HelloAck`: `chosen.major, chosen.minor, daemon.major, daemon.minor, max_frame_len (u32)`.
//! `HelloRefusal`: `daemon.major, daemon.minor` (the daemon also serves the previous minor).

use warden_core::ErrorCode;

use crate::error::WireError;
use crate::header::HEADER_LEN;
use crate::version::{Version, negotiate};

/// Longest client name accepted in a `Hello`, in bytes.
pub const MAX_CLIENT_NAME_LEN: usize = 64;

/// The status a daemon puts in the header of a refusal (the seed's code table has no version
/// code; from the client's view the connection could not be established).
pub const REFUSAL_CODE: ErrorCode = ErrorCode::ConnectionFailed;

/// Encoded length of a [`HelloAck`].
pub const HELLO_ACK_LEN: usize = 8;

/// Encoded length of a [`HelloRefusal`].
pub const HELLO_REFUSAL_LEN: usize = 2;

/// The client's opening message: the range of versions it speaks and an optional name for logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hello<'a> {
    /// Lowest version the client speaks.
    pub min: Version,
    /// Highest version the client speaks.
    pub max: Version,
    /// Client name for daemon logs (printable ASCII, at most [`MAX_CLIENT_NAME_LEN`] bytes;
    /// empty = none). Borrowed from the decoded bytes.
    pub client_name: &'a str,
}

fn check_name(name: &[u8]) -> Result<(), WireError> {
    if name.len() > MAX_CLIENT_NAME_LEN {
        return Err(WireError::InvalidHandshake("client name too long"));
    }
    // Printable ASCII only: the name ends up in logs and must not carry control characters.
    if !name.iter().all(|b| (0x20..0x7f).contains(b)) {
        return Err(WireError::InvalidHandshake(
            "client name not printable ascii",
        ));
    }
    Ok(())
}

impl<'a> Hello<'a> {
    /// Encoded length in bytes.
    pub fn encoded_len(&self) -> usize {
        5 + self.client_name.len()
    }

    /// Encodes into `out`, returning the number of bytes written.
    ///
    /// Errors: [`WireError::InvalidHandshake`] for a bad name or `min > max`;
    /// [`WireError::BufferTooSmall`].
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, WireError> {
        check_name(self.client_name.as_bytes())?;
        if self.min > self.max {
            return Err(WireError::InvalidHandshake("client min version above max"));
        }
        let n = self.encoded_len();
        let got = out.len();
        let Some(dst) = out.get_mut(..n) else {
            return Err(WireError::BufferTooSmall { needed: n, got });
        };
        let (fixed, name) = dst.split_at_mut(5);
        // The name length fits a u8: check_name bounded it by MAX_CLIENT_NAME_LEN.
        let name_len = self.client_name.len() as u8;
        fixed.copy_from_slice(&[
            self.min.major,
            self.min.minor,
            self.max.major,
            self.max.minor,
            name_len,
        ]);
        name.copy_from_slice(self.client_name.as_bytes());
        Ok(n)
    }

    /// Decodes a `Hello` body; the name borrows from `bytes`. Trailing bytes are ignored.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, WireError> {
        let Some((fixed, rest)) = bytes.split_first_chunk::<5>() else {
            return Err(WireError::Truncated {
                needed: 5,
                got: bytes.len(),
            });
        };
        let name_len = usize::from(fixed[4]);
        let Some(name) = rest.get(..name_len) else {
            return Err(WireError::Truncated {
                needed: 5 + name_len,
                got: bytes.len(),
            });
        };
        check_name(name)?;
        let client_name = core::str::from_utf8(name)
            .map_err(|_| WireError::InvalidHandshake("client name not printable ascii"))?;
        let hello = Hello {
            min: Version::new(fixed[0], fixed[1]),
            max: Version::new(fixed[2], fixed[3]),
            client_name,
        };
        if hello.min > hello.max {
            return Err(WireError::InvalidHandshake("client min version above max"));
        }
        Ok(hello)
    }
}

/// The daemon's acceptance: the version for the rest of the connection and its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HelloAck {
    /// The negotiated version; every later frame must carry it.
    pub version: Version,
    /// The daemon's own (newest) version.
    pub daemon_version: Version,
    /// Largest frame (header plus body) the daemon accepts.
    pub max_frame_len: u32,
}

impl HelloAck {
    /// Encodes the acceptance.
    pub fn encode(&self) -> [u8; HELLO_ACK_LEN] {
        let m = self.max_frame_len.to_le_bytes();
        [
            self.version.major,
            self.version.minor,
            self.daemon_version.major,
            self.daemon_version.minor,
            m[0],
            m[1],
            m[2],
            m[3],
        ]
    }

    /// Decodes an acceptance. Trailing bytes are ignored; a `max_frame_len` smaller than a
    /// header is [`WireError::InvalidHandshake`].
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let Some(b) = bytes.first_chunk::<HELLO_ACK_LEN>() else {
            return Err(WireError::Truncated {
                needed: HELLO_ACK_LEN,
                got: bytes.len(),
            });
        };
        let ack = HelloAck {
            version: Version::new(b[0], b[1]),
            daemon_version: Version::new(b[2], b[3]),
            max_frame_len: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        };
        if (ack.max_frame_len as usize) < HEADER_LEN {
            return Err(WireError::InvalidHandshake(
                "max frame length below header size",
            ));
        }
        Ok(ack)
    }
}

/// The daemon's refusal: no common version. It names the daemon's version so the client can
/// report what it would need (the daemon also serves the previous minor).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HelloRefusal {
    /// The daemon's own (newest) version.
    pub daemon_version: Version,
}

impl HelloRefusal {
    /// Encodes the refusal.
    pub fn encode(&self) -> [u8; HELLO_REFUSAL_LEN] {
        [self.daemon_version.major, self.daemon_version.minor]
    }

    /// Decodes a refusal; trailing bytes are ignored.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let Some(b) = bytes.first_chunk::<HELLO_REFUSAL_LEN>() else {
            return Err(WireError::Truncated {
                needed: HELLO_REFUSAL_LEN,
                got: bytes.len(),
            });
        };
        Ok(HelloRefusal {
            daemon_version: Version::new(b[0], b[1]),
        })
    }
}

/// The daemon's decision on a `Hello`: negotiate with [`negotiate`] and build the reply.
pub fn answer_hello(
    daemon: Version,
    max_frame_len: u32,
    hello: &Hello<'_>,
) -> Result<HelloAck, HelloRefusal> {
    match negotiate(daemon, hello.min, hello.max) {
        Ok(version) => Ok(HelloAck {
            version,
            daemon_version: daemon,
            max_frame_len,
        }),
        Err(_) => Err(HelloRefusal {
            daemon_version: daemon,
        }),
    }
}

/// A decoded handshake reply as the client sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelloReply {
    /// The daemon accepted; use `version` from now on.
    Accepted(HelloAck),
    /// The daemon refused (header status was non-zero).
    Refused(HelloRefusal),
}

impl HelloReply {
    /// Decodes the reply body according to the header's `status` (0 = accepted).
    pub fn decode(status: u32, body: &[u8]) -> Result<Self, WireError> {
        if status == 0 {
            HelloAck::decode(body).map(HelloReply::Accepted)
        } else {
            HelloRefusal::decode(body).map(HelloReply::Refused)
        }
    }

    /// The version to use, or [`WireError::UnsupportedVersion`] naming the daemon's range.
    pub fn into_result(self) -> Result<HelloAck, WireError> {
        match self {
            HelloReply::Accepted(ack) => Ok(ack),
            HelloReply::Refused(r) => Err(WireError::UnsupportedVersion {
                min: r.daemon_version.oldest_served(),
                max: r.daemon_version,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PROTOCOL_VERSION;

    #[test]
    fn hello_round_trips_with_and_without_name() {
        for name in ["", "my-app/1.2 (pid 7)"] {
            let h = Hello {
                min: Version::new(1, 0),
                max: Version::new(1, 4),
                client_name: name,
            };
            let mut buf = [0u8; 80];
            let n = h.encode(&mut buf).unwrap();
            assert_eq!(n, h.encoded_len());
            assert_eq!(Hello::decode(&buf[..n]), Ok(h));
            // Appended future fields are ignored.
            assert_eq!(Hello::decode(&buf[..n + 3]), Ok(h));
        }
    }

    #[test]
    fn hello_rejects_bad_input() {
        assert!(matches!(
            Hello::decode(&[1, 0, 1]),
            Err(WireError::Truncated { .. })
        ));
        assert!(matches!(
            Hello::decode(&[1, 0, 1, 0, 4, b'a']),
            Err(WireError::Truncated { needed: 9, got: 6 })
        ));
        assert_eq!(
            Hello::decode(&[1, 2, 1, 1, 0]),
            Err(WireError::InvalidHandshake("client min version above max"))
        );
        assert_eq!(
            Hello::decode(&[1, 0, 1, 0, 2, b'a', b'\n']),
            Err(WireError::InvalidHandshake(
                "client name not printable ascii"
            ))
        );
        let mut long = vec![1, 0, 1, 0, 65];
        long.extend_from_slice(&[b'x'; 65]);
        assert_eq!(
            Hello::decode(&long),
            Err(WireError::InvalidHandshake("client name too long"))
        );
        let h = Hello {
            min: Version::new(1, 0),
            max: Version::new(1, 0),
            client_name: "abc",
        };
        assert_eq!(
            h.encode(&mut [0u8; 7]),
            Err(WireError::BufferTooSmall { needed: 8, got: 7 })
        );
    }

    #[test]
    fn ack_and_refusal_round_trip() {
        let ack = HelloAck {
            version: Version::new(1, 2),
            daemon_version: Version::new(1, 3),
            max_frame_len: 70_000,
        };
        assert_eq!(
            HelloReply::decode(0, &ack.encode()),
            Ok(HelloReply::Accepted(ack))
        );
        let r = HelloRefusal {
            daemon_version: Version::new(1, 3),
        };
        let reply = HelloReply::decode(REFUSAL_CODE.as_u32(), &r.encode()).unwrap();
        assert_eq!(reply, HelloReply::Refused(r));
        assert_eq!(
            reply.into_result(),
            Err(WireError::UnsupportedVersion {
                min: Version::new(1, 2),
                max: Version::new(1, 3)
            })
        );
        assert!(matches!(
            HelloAck::decode(&[1, 0, 1]),
            Err(WireError::Truncated { .. })
        ));
        let tiny = HelloAck {
            max_frame_len: 31,
            ..ack
        };
        assert!(matches!(
            HelloAck::decode(&tiny.encode()),
            Err(WireError::InvalidHandshake(_))
        ));
    }

    #[test]
    fn answer_hello_accepts_or_refuses() {
        let ok = Hello {
            min: Version::new(1, 0),
            max: Version::new(1, 9),
            client_name: "",
        };
        assert_eq!(
            answer_hello(PROTOCOL_VERSION, 4096, &ok),
            Ok(HelloAck {
                version: PROTOCOL_VERSION,
                daemon_version: PROTOCOL_VERSION,
                max_frame_len: 4096
            })
        );
        let future = Hello {
            min: Version::new(2, 0),
            max: Version::new(2, 1),
            client_name: "",
        };
        assert_eq!(
            answer_hello(PROTOCOL_VERSION, 4096, &future),
            Err(HelloRefusal {
                daemon_version: PROTOCOL_VERSION
            })
        );
    }
}
