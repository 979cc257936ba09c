//! Property tests: the frame and handshake decoders are total and encode→decode is identity.

use proptest::prelude::*;
use warden_wire::handshake::{Hello, HelloAck, HelloReply};
use warden_wire::{
    FLAG_RESPONSE, FrameHeader, HEADER_LEN, MAGIC, Version, WireError, split_frame, write_frame,
};

fn any_header() -> impl Strategy<Value = FrameHeader> {
    (
        any::<u8>(),
        any::<bool>(),
        any::<u64>(),
        any::<u16>(),
        any::<u32>(),
        any::<u32>(),
        0u32..4096,
    )
        .prop_map(|(minor, resp, id, op, status, deadline, len)| FrameHeader {
            version: Version::new(1, minor),
            flags: if resp { FLAG_RESPONSE } else { 0 },
            request_id: id,
            opcode: op,
            status,
            deadline_ms: deadline,
            body_len: len,
        })
}

proptest! {
    #[test]
    fn header_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64), max in any::<u32>()) {
        let _ = FrameHeader::decode(&bytes, max);
        let _ = split_frame(&bytes, max);
    }

    #[test]
    fn header_decode_never_panics_with_valid_magic(mut bytes in proptest::collection::vec(any::<u8>(), 32..64), max in any::<u32>()) {
        // Random bytes almost never start with the magic; force it so later checks run.
        bytes[..4].copy_from_slice(&MAGIC);
        bytes[4] = 1;
        match FrameHeader::decode(&bytes, max) {
            Ok(h) => {
                prop_assert!(h.frame_len() <= u64::from(max));
                let enc = h.to_bytes();
                prop_assert_eq!(&enc[..], &bytes[..HEADER_LEN]);
            }
            Err(e) => {
                let expected = matches!(
                    e,
                    WireError::UnknownFlags(_) | WireError::ReservedNotZero(_) | WireError::FrameTooLarge { .. }
                );
                prop_assert!(expected, "unexpected error {:?}", e);
            }
        }
    }

    #[test]
    fn header_encode_decode_is_identity(h in any_header()) {
        prop_assert_eq!(FrameHeader::decode(&h.to_bytes(), u32::MAX), Ok(h));
    }

    #[test]
    fn frame_write_split_is_identity(h in any_header(), body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut buf = vec![0u8; HEADER_LEN + body.len()];
        let n = write_frame(&h, &body, &mut buf).unwrap();
        let (got, got_body) = split_frame(&buf[..n], u32::MAX).unwrap();
        prop_assert_eq!(got, FrameHeader { body_len: body.len() as u32, ..h });
        prop_assert_eq!(got_body, body.as_slice());
    }

    #[test]
    fn handshake_decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80), status in any::<u32>()) {
        let _ = Hello::decode(&bytes);
        let _ = HelloReply::decode(status, &bytes);
    }

    #[test]
    fn hello_and_ack_round_trip(a in any::<(u8, u8)>(), b in any::<(u8, u8)>(), name in "[ -~]{0,64}", max in 32u32..) {
        let (lo, hi) = {
            let x = Version::new(a.0, a.1);
            let y = Version::new(b.0, b.1);
            (x.min(y), x.max(y))
        };
        let hello = Hello { min: lo, max: hi, client_name: &name };
        let mut buf = [0u8; 80];
        let n = hello.encode(&mut buf).unwrap();
        prop_assert_eq!(Hello::decode(&buf[..n]), Ok(hello));
        let ack = HelloAck { version: lo, daemon_version: hi, max_frame_len: max };
        prop_assert_eq!(HelloAck::decode(&ack.encode()), Ok(ack));
    }
}
