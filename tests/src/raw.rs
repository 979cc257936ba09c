//! Raw protocol frames for tests that speak to `wardend` below the client library (pipelined,
//! truncated or malformed streams): frame building, frame reading and the version handshake.
//! Helpers panic on failure, like the tests that use them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use warden_wire::handshake::Hello;
use warden_wire::{Builder, FrameHeader, HEADER_LEN, Opcode, PROTOCOL_VERSION, Request};

/// A request frame: header (request id `id`, `opcode`, no deadline) and `body`.
pub fn frame(id: u64, opcode: Opcode, body: &[u8]) -> Vec<u8> {
    let h = FrameHeader {
        body_len: body.len() as u32,
        ..FrameHeader::request(PROTOCOL_VERSION, id, opcode.as_u16())
    };
    let mut out = h.to_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

/// A `Ping` request frame echoing `data`.
pub fn ping_frame(b: &mut Builder, id: u64, data: &[u8]) -> Vec<u8> {
    let body = warden_wire::encode_request(b, &Request::Ping { data }).to_vec();
    frame(id, Opcode::Ping, &body)
}

/// Reads one whole frame (any length) from `s`.
pub fn read_frame(s: &mut UnixStream) -> (FrameHeader, Vec<u8>) {
    let mut head = [0u8; HEADER_LEN];
    s.read_exact(&mut head).unwrap();
    let h = FrameHeader::decode(&head, u32::MAX).unwrap();
    let mut body = vec![0u8; h.body_len as usize];
    s.read_exact(&mut body).unwrap();
    (h, body)
}

/// A `Hello` frame offering exactly this build's protocol version.
pub fn hello_frame(client_name: &str) -> Vec<u8> {
    let mut hello = [0u8; 5 + warden_wire::handshake::MAX_CLIENT_NAME_LEN];
    let n = Hello {
        min: PROTOCOL_VERSION,
        max: PROTOCOL_VERSION,
        client_name,
    }
    .encode(&mut hello)
    .unwrap();
    frame(0, Opcode::Hello, &hello[..n])
}

/// A raw connection to the daemon at `socket`, past the version handshake, with a 10 s
/// read timeout.
pub fn handshaken(socket: &Path, client_name: &str) -> UnixStream {
    let mut s = UnixStream::connect(socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&hello_frame(client_name)).unwrap();
    assert_eq!(read_frame(&mut s).0.status, 0, "handshake refused");
    s
}
