//! End-to-end tests over a raw Unix socket: handshake, ping, limits and malformed frames,
//! against a daemon started in-process on a temporary socket.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a panic is a failed test

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use common::{closed, connect, handshake, hello_body, recv, send, start};
use warden_core::ErrorCode;
use warden_daemon::Config;
use warden_wire::handshake::{HelloRefusal, REFUSAL_CODE};
use warden_wire::{
    Builder, FrameHeader, Opcode, PROTOCOL_VERSION, Request, Response, Version, decode_response,
    encode_request,
};

fn ping(s: &mut UnixStream, id: u64, payload: &[u8]) -> (FrameHeader, Vec<u8>) {
    let mut b = Builder::new();
    let body = encode_request(&mut b, &Request::Ping { data: payload }).to_vec();
    send(
        s,
        FrameHeader::request(PROTOCOL_VERSION, id, Opcode::Ping.as_u16()),
        &body,
    );
    let (h, body) = recv(s);
    if h.status != 0 {
        return (h, body);
    }
    let data = match decode_response(Opcode::Ping, &body).unwrap() {
        Response::Ping { data } => data.to_vec(),
        other => panic!("unexpected {other:?}"),
    };
    (h, data)
}

#[test]
fn handshake_then_ping_echoes() {
    let (_dir, d) = start(|_| {});
    let mut s = connect(&d);
    let ack = handshake(&mut s);
    assert_eq!(ack.version, PROTOCOL_VERSION);
    assert_eq!(ack.max_frame_len, Config::default().limits.max_frame_size);
    for id in 2..50u64 {
        let payload: Vec<u8> = (0..id as u8).collect();
        let (h, body) = ping(&mut s, id, &payload);
        assert_eq!(
            (h.status, h.request_id, h.opcode),
            (0, id, Opcode::Ping.as_u16())
        );
        assert_eq!(body, payload);
    }
    let mode = std::fs::metadata(d.socket_path())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o660);
}

#[test]
fn request_before_hello_is_refused_and_closed() {
    let (_dir, d) = start(|_| {});
    let mut s = connect(&d);
    let (h, _) = ping(&mut s, 9, b"x");
    assert_eq!(h.status, ErrorCode::UninitializedStack.as_u32());
    assert_eq!(h.request_id, 9);
    assert!(closed(&mut s));
}

#[test]
fn unsupported_version_range_gets_refusal_and_close() {
    let (_dir, d) = start(|_| {});
    let mut s = connect(&d);
    let future = Version::new(PROTOCOL_VERSION.major, PROTOCOL_VERSION.minor + 5);
    let req = FrameHeader::request(PROTOCOL_VERSION, 1, Opcode::Hello.as_u16());
    send(&mut s, req, &hello_body(future, future));
    let (h, body) = recv(&mut s);
    assert_eq!(h.status, REFUSAL_CODE.as_u32());
    assert_eq!(
        HelloRefusal::decode(&body).unwrap().daemon_version,
        PROTOCOL_VERSION
    );
    assert!(closed(&mut s));
}

#[test]
fn second_hello_is_a_typed_error_and_connection_survives() {
    let (_dir, d) = start(|_| {});
    let mut s = connect(&d);
    handshake(&mut s);
    let req = FrameHeader::request(PROTOCOL_VERSION, 2, Opcode::Hello.as_u16());
    send(&mut s, req, &hello_body(PROTOCOL_VERSION, PROTOCOL_VERSION));
    assert_eq!(
        recv(&mut s).0.status,
        ErrorCode::AlreadyInitialized.as_u32()
    );
    assert_eq!(ping(&mut s, 3, b"ok").1, b"ok");
}

#[test]
fn unknown_opcode_is_typed_and_connection_survives() {
    let (_dir, d) = start(|_| {});
    let mut s = connect(&d);
    handshake(&mut s);
    send(
        &mut s,
        FrameHeader::request(PROTOCOL_VERSION, 5, 0x7777),
        b"",
    );
    let (h, _) = recv(&mut s);
    assert_eq!(h.status, ErrorCode::UnsupportedOperation.as_u32());
    assert_eq!(h.request_id, 5);
    assert_eq!(ping(&mut s, 6, b"still here").1, b"still here");
}

#[test]
fn malformed_and_oversized_frames_close_only_that_client() {
    let (_dir, d) = start(|_| {});
    let mut good = connect(&d);
    handshake(&mut good);

    // Bad magic.
    let mut bad = connect(&d);
    handshake(&mut bad);
    let mut raw = FrameHeader::request(PROTOCOL_VERSION, 7, Opcode::Ping.as_u16()).to_bytes();
    raw[0] = b'X';
    bad.write_all(&raw).unwrap();
    let (h, _) = recv(&mut bad);
    assert_eq!(h.status, ErrorCode::InvalidFormat.as_u32());
    assert_eq!(h.request_id, 7);
    assert!(closed(&mut bad));

    // Oversized: announced body above the limit; nothing of the body is read.
    let mut big = connect(&d);
    handshake(&mut big);
    let h = FrameHeader {
        body_len: 10 << 20,
        ..FrameHeader::request(PROTOCOL_VERSION, 8, Opcode::Ping.as_u16())
    };
    big.write_all(&h.to_bytes()).unwrap();
    let (h, _) = recv(&mut big);
    assert_eq!(h.status, ErrorCode::QuotaExceeded.as_u32());
    assert!(closed(&mut big));

    // Wrong major version in a later frame.
    let mut wrong = connect(&d);
    handshake(&mut wrong);
    let h = FrameHeader::request(
        Version::new(PROTOCOL_VERSION.major + 1, 0),
        9,
        Opcode::Ping.as_u16(),
    );
    wrong.write_all(&h.to_bytes()).unwrap();
    assert_eq!(
        recv(&mut wrong).0.status,
        ErrorCode::ConnectionFailed.as_u32()
    );
    assert!(closed(&mut wrong));

    // Truncated: header announces a body, client sends half and disconnects.
    let mut trunc = connect(&d);
    handshake(&mut trunc);
    let h = FrameHeader {
        body_len: 100,
        ..FrameHeader::request(PROTOCOL_VERSION, 10, Opcode::Ping.as_u16())
    };
    trunc.write_all(&h.to_bytes()).unwrap();
    trunc.write_all(&[1u8; 50]).unwrap();
    drop(trunc);

    assert_eq!(ping(&mut good, 11, b"unaffected").1, b"unaffected");
}

#[test]
fn slow_partial_frame_times_out_without_blocking_others() {
    let (_dir, d) = start(|c| {
        c.timeouts.io_ms = 200;
        c.limits.worker_threads = 1;
    });
    let mut slow = connect(&d);
    handshake(&mut slow);
    let h = FrameHeader {
        body_len: 10,
        ..FrameHeader::request(PROTOCOL_VERSION, 2, Opcode::Ping.as_u16())
    };
    slow.write_all(&h.to_bytes()).unwrap();
    slow.write_all(&[0u8; 3]).unwrap();
    // With one worker, the other client is served once the slow frame's I/O budget ends.
    let mut other = connect(&d);
    handshake(&mut other);
    assert_eq!(ping(&mut other, 3, b"hi").1, b"hi");
    assert!(closed(&mut slow));
}

#[test]
fn connection_limit_gives_provider_busy() {
    // As root (the daemon's uid) this test may use the admin reserve: none here.
    let (_dir, d) = start(|c| {
        c.limits.max_connections = 2;
        c.limits.reserved_admin_connections = 0;
    });
    let mut a = connect(&d);
    handshake(&mut a);
    let mut b = connect(&d);
    handshake(&mut b);
    let mut c = connect(&d);
    let (h, _) = recv(&mut c);
    assert_eq!(h.status, ErrorCode::ProviderBusy.as_u32());
    assert!(closed(&mut c));
    // Freeing a connection makes room again.
    drop(a);
    let mut ok = None;
    for _ in 0..100 {
        let mut e = connect(&d);
        let req = FrameHeader::request(PROTOCOL_VERSION, 1, Opcode::Hello.as_u16());
        let _ = e.write_all(&{
            let body = hello_body(PROTOCOL_VERSION, PROTOCOL_VERSION);
            let mut f = FrameHeader {
                body_len: body.len() as u32,
                ..req
            }
            .to_bytes()
            .to_vec();
            f.extend_from_slice(&body);
            f
        });
        let (h, _) = recv(&mut e);
        if h.status == 0 {
            ok = Some(e);
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut e = ok.expect("a slot frees up after a disconnect");
    assert_eq!(ping(&mut e, 2, b"in").1, b"in");
    assert_eq!(ping(&mut b, 2, b"b").1, b"b");
}

#[test]
fn many_concurrent_clients() {
    let (_dir, d) = start(|c| c.limits.max_connections = 32);
    let path = d.socket_path().to_owned();
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut s = UnixStream::connect(&path).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                handshake(&mut s);
                for i in 0..200u64 {
                    let payload = (t * 1000 + i).to_le_bytes();
                    let (h, body) = ping(&mut s, i + 2, &payload);
                    assert_eq!(h.request_id, i + 2);
                    assert_eq!(body, payload);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(d.status().requests >= 16 * 201);
}

#[test]
fn shutdown_removes_socket_and_frees_connections() {
    let (_dir, d) = start(|_| {});
    let path = d.socket_path().to_owned();
    let mut s = connect(&d);
    handshake(&mut s);
    assert_eq!(d.status().connections_open, 1);
    assert_eq!(d.status().arenas_in_use, 1);
    d.shutdown();
    assert!(!path.exists());
    assert!(closed(&mut s));
}

fn ping_frame(id: u64, payload: &[u8]) -> Vec<u8> {
    let mut b = Builder::new();
    let body = encode_request(&mut b, &Request::Ping { data: payload }).to_vec();
    let h = FrameHeader {
        body_len: body.len() as u32,
        ..FrameHeader::request(PROTOCOL_VERSION, id, Opcode::Ping.as_u16())
    };
    let mut f = h.to_bytes().to_vec();
    f.extend_from_slice(&body);
    f
}

fn ping_reply(s: &mut UnixStream, id: u64, payload: &[u8]) {
    let (h, body) = recv(s);
    assert_eq!((h.status, h.request_id), (0, id));
    match decode_response(Opcode::Ping, &body).unwrap() {
        Response::Ping { data } => assert_eq!(data, payload),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn pipelined_frames_are_all_answered_in_order() {
    let (_dir, d) = start(|_| {});
    let mut s = connect(&d);
    handshake(&mut s);
    // Many frames in one write: the daemon reads a body and the next header together.
    let mut burst = Vec::new();
    for id in 10..40u64 {
        burst.extend_from_slice(&ping_frame(id, &id.to_le_bytes()));
    }
    s.write_all(&burst).unwrap();
    for id in 10..40u64 {
        ping_reply(&mut s, id, &id.to_le_bytes());
    }
    // A frame split inside the next header: the first bytes arrive with the previous frame.
    let a = ping_frame(50, b"first");
    let b = ping_frame(51, b"second");
    let mut part = a.clone();
    part.extend_from_slice(&b[..10]);
    s.write_all(&part).unwrap();
    ping_reply(&mut s, 50, b"first");
    s.write_all(&b[10..]).unwrap();
    ping_reply(&mut s, 51, b"second");
    // And the connection still serves ordinary requests.
    assert_eq!(ping(&mut s, 52, b"x").1, b"x");
}
