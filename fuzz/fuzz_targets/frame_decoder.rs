//! Fuzzes the frame header decoder and the fixed-layout handshake decoders: they must be total
//! (no panic on any input), and whatever they accept must re-encode to the same bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_wire::handshake::{Hello, HelloAck, HelloReply};
use warden_wire::{FrameHeader, HEADER_LEN, split_frame};

fuzz_target!(|data: &[u8]| {
    // Let the input pick the configured limit too, so the limit check is exercised.
    let max = data
        .get(..4)
        .map_or(u32::MAX, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let frame = data.get(4..).unwrap_or(&[]);

    if let Ok(h) = FrameHeader::decode(frame, max) {
        assert!(h.frame_len() <= u64::from(max));
        assert_eq!(&h.to_bytes()[..], &frame[..HEADER_LEN]);
        let _ = h.opcode();
    }
    if let Ok((h, body)) = split_frame(frame, max) {
        assert_eq!(body.len() as u64, u64::from(h.body_len));
    }

    if let Ok(hello) = Hello::decode(frame) {
        let mut buf = [0u8; 128];
        let n = hello.encode(&mut buf).expect("accepted hello re-encodes");
        assert_eq!(Hello::decode(&buf[..n]), Ok(hello));
    }
    if let Ok(ack) = HelloAck::decode(frame) {
        assert_eq!(HelloAck::decode(&ack.encode()), Ok(ack));
    }
    let _ = HelloReply::decode(max, frame);
});
