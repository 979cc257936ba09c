//! The long lane over a raw socket (issue 12): a long request's connection leaves its
//! worker and comes back without losing order, bytes already read, or its close.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is a failed test

mod common;

use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use common::{connect, handshake, recv, start};
use warden_wire::messages::{GenerateKey, KeySpec};
use warden_wire::{
    Builder, FrameHeader, Opcode, PROTOCOL_VERSION, Request, Response, decode_response,
    encode_request,
};

fn frame(id: u64, op: Opcode, req: &Request<'_>) -> Vec<u8> {
    let mut b = Builder::new();
    let body = encode_request(&mut b, req).to_vec();
    let h = FrameHeader {
        body_len: body.len() as u32,
        ..FrameHeader::request(PROTOCOL_VERSION, id, op.as_u16())
    };
    let mut f = h.to_bytes().to_vec();
    f.extend_from_slice(&body);
    f
}

/// RSA key generation: long work, classified for the lane.
fn rsa_keygen(id: u64, bits: u32) -> Vec<u8> {
    let req = Request::GenerateKey(GenerateKey {
        key: KeySpec {
            algorithm: "RSA-PSS-SHA256",
            permissions: warden_core::KeyOperationPermission::SIGN.bits(),
            exportable: false,
            slot: None,
        },
        rsa_bits: Some(bits),
        key_len: None,
        provider: None,
    });
    frame(id, Opcode::GenerateKey, &req)
}

fn ping(id: u64, data: &[u8]) -> Vec<u8> {
    frame(id, Opcode::Ping, &Request::Ping { data })
}

fn expect_ping(s: &mut UnixStream, id: u64, data: &[u8]) {
    let (h, body) = recv(s);
    assert_eq!((h.status, h.request_id), (0, id));
    match decode_response(Opcode::Ping, &body).unwrap() {
        Response::Ping { data: d } => assert_eq!(d, data),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_long_request_and_a_pipelined_ping_are_answered_in_order() {
    let (_dir, d) = start(|c| c.limits.worker_threads = 1);
    let mut s = connect(&d);
    handshake(&mut s);
    // One write: the daemon reads the keygen body and the ping's header together, so the
    // connection goes to the lane with the next frame's first bytes in hand.
    let mut burst = rsa_keygen(60, 3072);
    burst.extend_from_slice(&ping(61, b"after"));
    s.write_all(&burst).unwrap();
    // Then the client says it is done sending, while its connection is on the lane: the
    // daemon must still answer both, and then close (the end-of-stream report came while
    // the worker did not hold the connection, and is not repeated).
    std::thread::sleep(Duration::from_millis(50));
    s.shutdown(Shutdown::Write).unwrap();
    let (h, body) = recv(&mut s);
    assert_eq!((h.status, h.request_id), (0, 60));
    assert!(matches!(
        decode_response(Opcode::GenerateKey, &body).unwrap(),
        Response::KeyCreated { .. }
    ));
    expect_ping(&mut s, 61, b"after");
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut b = [0u8; 1];
    assert_eq!(
        s.read(&mut b).map_err(|e| e.kind()),
        Ok(0),
        "the daemon must close after the client's end of stream"
    );
}

#[test]
fn the_worker_serves_others_while_its_connection_is_on_the_lane() {
    // One worker: before the lane, the keygen held it and the other client waited.
    let (_dir, d) = start(|c| c.limits.worker_threads = 1);
    let mut hog = connect(&d);
    handshake(&mut hog);
    let mut other = connect(&d);
    handshake(&mut other);
    for i in 0..3u64 {
        hog.write_all(&rsa_keygen(100 + i, 4096)).unwrap();
    }
    // A ping is answered while RSA-4096 generations are in flight on that worker's
    // connection (each takes about a second; the read timeout is far below three).
    other
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    for id in 0..5u64 {
        other.write_all(&ping(id, b"short")).unwrap();
        expect_ping(&mut other, id, b"short");
    }
    // The hog gets its keys, in order (RSA-4096 generation time varies widely, and more on
    // a loaded machine: allow far more than the usual second each).
    hog.set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    for i in 0..3u64 {
        let (h, _) = recv(&mut hog);
        assert_eq!((h.status, h.request_id), (0, 100 + i));
    }
}

#[test]
fn a_client_that_leaves_while_on_the_lane_is_closed_and_uncounted() {
    let (_dir, d) = start(|c| c.limits.worker_threads = 1);
    let mut s = connect(&d);
    handshake(&mut s);
    s.write_all(&rsa_keygen(70, 3072)).unwrap();
    std::thread::sleep(Duration::from_millis(50)); // on the lane now
    drop(s); // its close is reported while the connection is away from the worker
    let until = Instant::now() + Duration::from_secs(30);
    while d.status().connections_open != 0 {
        assert!(
            Instant::now() < until,
            "the connection was never closed after coming back from the lane"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
