//! Red-team pass 3 on reply coalescing and close paths, from a client's own raw socket:
//! - replies held back while the client pipelines are written once, and nothing follows the
//!   refusal of an undecodable header (they were written with the refusal, then again);

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use warden_e2e::Daemon;
use warden_wire::handshake::Hello;
use warden_wire::{Builder, FrameHeader, HEADER_LEN, Opcode, PROTOCOL_VERSION, Request};

fn frame(id: u64, opcode: Opcode, body: &[u8]) -> Vec<u8> {
    let h = FrameHeader {
        body_len: body.len() as u32,
        ..FrameHeader::request(PROTOCOL_VERSION, id, opcode.as_u16())
    };
    let mut out = h.to_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

fn read_frame(s: &mut UnixStream) -> (FrameHeader, Vec<u8>) {
    let mut head = [0u8; HEADER_LEN];
    s.read_exact(&mut head).unwrap();
    let h = FrameHeader::decode(&head, u32::MAX).unwrap();
    let mut body = vec![0u8; h.body_len as usize];
    s.read_exact(&mut body).unwrap();
    (h, body)
}

/// A raw connection past the version handshake.
fn connect(d: &Daemon) -> UnixStream {
    let mut s = UnixStream::connect(d.socket_path()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut hello = [0u8; 32];
    let n = Hello {
        min: PROTOCOL_VERSION,
        max: PROTOCOL_VERSION,
        client_name: "reply-hygiene",
    }
    .encode(&mut hello)
    .unwrap();
    s.write_all(&frame(0, Opcode::Hello, &hello[..n])).unwrap();
    assert_eq!(read_frame(&mut s).0.status, 0);
    s
}

fn ping(b: &mut Builder, id: u64, data: &[u8]) -> Vec<u8> {
    let body = warden_wire::encode_request(b, &Request::Ping { data }).to_vec();
    frame(id, Opcode::Ping, &body)
}

#[test]
fn held_replies_are_written_once_before_an_undecodable_header_closes() {
    let d = Daemon::start().unwrap();
    let mut s = connect(&d);
    // Three small pings, each with the next header queued behind it (so their replies are
    // held), the last followed by a header with a bad magic: all in one write.
    let mut b = Builder::new();
    let mut all = Vec::new();
    for id in 1..=3u64 {
        all.extend(ping(&mut b, id, b"secret-ish"));
    }
    all.extend_from_slice(&[0xA5; HEADER_LEN]);
    s.write_all(&all).unwrap();
    for id in 1..=3u64 {
        let (h, _) = read_frame(&mut s);
        assert_eq!((h.request_id, h.status), (id, 0), "answers in order");
    }
    let (refusal, _) = read_frame(&mut s);
    assert_ne!(refusal.status, 0, "the bad header is refused");
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(
        rest.is_empty(),
        "{} bytes after the refusal (held replies written a second time)",
        rest.len()
    );
}
