//! A daemon's handshake cannot make the client size its buffers past what any `wardend` may
//! announce: a frame limit above the daemon's own maximum (16 MiB) is a protocol error, not
//! an invitation to accept 8 GiB answers (red-team pass 3, "left alone" item).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::thread;

use warden_client::*;
use warden_wire::handshake::HelloAck;
use warden_wire::{DEFAULT_MAX_FRAME_LEN, FrameHeader, HEADER_LEN, PROTOCOL_VERSION};

/// A fake daemon that accepts every Hello announcing `max_frame_len`.
fn fake(max_frame_len: u32) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fake.sock");
    let listener = UnixListener::bind(&path).unwrap();
    thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { return };
            let mut h = [0u8; HEADER_LEN];
            if s.read_exact(&mut h).is_err() {
                continue;
            }
            let h = FrameHeader::decode(&h, DEFAULT_MAX_FRAME_LEN).unwrap();
            let mut body = vec![0u8; h.body_len as usize];
            s.read_exact(&mut body).unwrap();
            let ack = HelloAck {
                version: PROTOCOL_VERSION,
                daemon_version: PROTOCOL_VERSION,
                max_frame_len,
            }
            .encode();
            let mut out = h.response(0, ack.len() as u32).to_bytes().to_vec();
            out.extend_from_slice(&ack);
            let _ = s.write_all(&out);
            let mut rest = Vec::new();
            let _ = s.read_to_end(&mut rest);
        }
    });
    (dir, path)
}

#[test]
fn a_frame_limit_above_any_wardend_is_refused() {
    for limit in [u32::MAX, MAX_DAEMON_FRAME_LEN + 1] {
        let (_dir, path) = fake(limit);
        let e = CryptoStack::connect(StackConfig::new().socket_path(&path))
            .expect_err("an absurd frame limit");
        assert!(matches!(e, Error::Protocol(_)), "{limit}: {e:?}");
    }
}

#[test]
fn the_largest_frame_limit_a_wardend_may_announce_is_accepted() {
    let (_dir, path) = fake(MAX_DAEMON_FRAME_LEN);
    let stack = CryptoStack::connect(StackConfig::new().socket_path(&path)).unwrap();
    assert_eq!(stack.max_frame_len(), MAX_DAEMON_FRAME_LEN);
}
