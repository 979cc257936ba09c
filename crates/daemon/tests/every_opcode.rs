//! Exhaustive dispatch: every opcode the wire protocol defines reaches a handler. `Request`
//! is `#[non_exhaustive]`, so `dispatch` needs a catch-all arm answering
//! `UnsupportedOperation`; this proves no opcode falls into it (a new operation added to the
//! wire without a handler fails here, not in production).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../wire/tests/common/mod.rs"]
mod common;

use std::collections::HashSet;

use warden_core::ErrorCode;
use warden_daemon::{Config, Loopback};
use warden_wire::handshake::Hello;
use warden_wire::{Builder, FrameHeader, HEADER_LEN, Opcode, PROTOCOL_VERSION, encode_request};

fn frame(id: u64, opcode: u16, body: &[u8]) -> Vec<u8> {
    let header = FrameHeader {
        body_len: u32::try_from(body.len()).unwrap(),
        ..FrameHeader::request(PROTOCOL_VERSION, id, opcode)
    };
    let mut f = header.to_bytes().to_vec();
    f.extend_from_slice(body);
    f
}

fn status(h: &[u8; HEADER_LEN]) -> u32 {
    FrameHeader::decode(h, u32::MAX).unwrap().status
}

#[test]
fn every_opcode_reaches_a_handler() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.storage.data_dir = Some(dir.path().join("data"));
    config.audit.log = "audit.log".into();
    let mut lb = Loopback::new(config).unwrap();
    let hello = Hello {
        min: PROTOCOL_VERSION,
        max: PROTOCOL_VERSION,
        client_name: "every-opcode",
    };
    let mut body = vec![0u8; hello.encoded_len()];
    hello.encode(&mut body).unwrap();
    let f = frame(0, Opcode::Hello.as_u16(), &body);
    assert_eq!(lb.request(&f, |h, _| status(h)), Some(0));

    let mut b = Builder::new();
    let mut reached = HashSet::new();
    for (i, req) in common::requests().iter().enumerate() {
        let body = encode_request(&mut b, req).to_vec();
        let f = frame(i as u64 + 1, req.opcode().as_u16(), &body);
        let Some(code) = lb.request(&f, |h, _| status(h)) else {
            panic!("{:?} closed the connection", req.opcode());
        };
        // Any answer but "not served" means a handler ran (sample ids and names need not
        // exist: NotFound, AccessDenied and friends are handler answers).
        assert_ne!(
            ErrorCode::from_u32(code),
            Some(ErrorCode::UnsupportedOperation),
            "{:?} fell through to the dispatcher's catch-all",
            req.opcode()
        );
        reached.insert(req.opcode());
    }
    for &op in Opcode::ALL {
        assert!(
            op == Opcode::Hello || reached.contains(&op),
            "no request for {op:?} was sent"
        );
    }
}
