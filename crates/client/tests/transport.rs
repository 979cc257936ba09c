//! Transport tests against a scripted fake daemon: handshake, shared connection, deadlines in
//! the header, the client's own wait bound, stale-answer skipping, refusal and protocol
//! violations.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use warden_client::{CryptoStack, ErrorCode, StackConfig};
use warden_wire::handshake::{Hello, HelloAck, HelloRefusal, REFUSAL_CODE};
use warden_wire::{
    Builder, DEFAULT_MAX_FRAME_LEN, FrameHeader, HEADER_LEN, Opcode, PROTOCOL_VERSION, Request,
    Response, Version,
};

fn read_frame(s: &mut UnixStream) -> Option<(FrameHeader, Vec<u8>)> {
    let mut h = [0u8; HEADER_LEN];
    s.read_exact(&mut h).ok()?;
    let h = FrameHeader::decode(&h, DEFAULT_MAX_FRAME_LEN).ok()?;
    let mut body = vec![0u8; h.body_len as usize];
    s.read_exact(&mut body).ok()?;
    Some((h, body))
}

fn write_frame(s: &mut UnixStream, h: FrameHeader, body: &[u8]) {
    let h = FrameHeader {
        body_len: body.len() as u32,
        ..h
    };
    let mut out = h.to_bytes().to_vec();
    out.extend_from_slice(body);
    s.write_all(&out).unwrap();
}

fn accept_hello(s: &mut UnixStream) {
    let (h, body) = read_frame(s).unwrap();
    assert_eq!(h.opcode, Opcode::Hello.as_u16());
    let hello = Hello::decode(&body).unwrap();
    assert!(hello.client_name.starts_with("warden-client/"));
    let ack = HelloAck {
        version: PROTOCOL_VERSION,
        daemon_version: PROTOCOL_VERSION,
        max_frame_len: DEFAULT_MAX_FRAME_LEN,
    };
    write_frame(s, h.response(0, 0), &ack.encode());
}

fn ping_reply(h: &FrameHeader, body: &[u8], s: &mut UnixStream) {
    let Request::Ping { data } = warden_wire::decode_request(Opcode::Ping, body).unwrap() else {
        panic!("not a ping");
    };
    let mut b = Builder::new();
    let out = warden_wire::encode_response(&mut b, &Response::Ping { data }).to_vec();
    write_frame(s, h.response(0, 0), &out);
}

/// A fake daemon on a temp socket running `script` for each accepted connection.
fn fake(script: fn(UnixStream)) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fake.sock");
    let listener = UnixListener::bind(&path).unwrap();
    thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(s) = s else { return };
            thread::spawn(move || script(s));
        }
    });
    (dir, path)
}

fn echo_server(mut s: UnixStream) {
    accept_hello(&mut s);
    while let Some((h, body)) = read_frame(&mut s) {
        assert_eq!(h.version, PROTOCOL_VERSION);
        ping_reply(&h, &body, &mut s);
    }
}

#[test]
fn handshake_then_ping_round_trips() {
    let (_d, path) = fake(echo_server);
    let stack = CryptoStack::connect(StackConfig::new().socket_path(&path)).unwrap();
    assert_eq!(stack.protocol_version(), PROTOCOL_VERSION);
    assert_eq!(stack.ping(b"hello").unwrap(), b"hello");
    assert_eq!(stack.ping(&[7u8; 100_000]).unwrap(), vec![7u8; 100_000]);
}

#[test]
fn stacks_in_one_process_share_one_connection_unless_dedicated() {
    let (_d, path) = fake(echo_server);
    let a = CryptoStack::connect(StackConfig::new().socket_path(&path)).unwrap();
    let b = CryptoStack::connect(StackConfig::new().socket_path(&path)).unwrap();
    assert!(a.shares_connection_with(&b));
    let c = CryptoStack::connect(
        StackConfig::new()
            .socket_path(&path)
            .dedicated_connection(true),
    )
    .unwrap();
    assert!(!a.shares_connection_with(&c));
    // Concurrent callers on the shared connection are serialised and each gets its own answer.
    let handles: Vec<_> = (0..8u8)
        .map(|i| {
            let s = a.clone();
            thread::spawn(move || {
                for j in 0..50u8 {
                    assert_eq!(s.ping(&[i, j]).unwrap(), vec![i, j]);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn deadline_travels_in_the_header() {
    fn server(mut s: UnixStream) {
        accept_hello(&mut s);
        while let Some((h, body)) = read_frame(&mut s) {
            // Echo the deadline back as the payload so the test can see it.
            let _ = body;
            let mut b = Builder::new();
            let d = h.deadline_ms.to_le_bytes();
            let out = warden_wire::encode_response(&mut b, &Response::Ping { data: &d }).to_vec();
            write_frame(&mut s, h.response(0, 0), &out);
        }
    }
    let (_d, path) = fake(server);
    let dflt = CryptoStack::connect(
        StackConfig::new()
            .socket_path(&path)
            .dedicated_connection(true),
    )
    .unwrap();
    assert_eq!(dflt.ping(b"").unwrap(), 5000u32.to_le_bytes());
    let short = CryptoStack::connect(
        StackConfig::new()
            .socket_path(&path)
            .default_timeout_ms(250)
            .dedicated_connection(true),
    )
    .unwrap();
    assert_eq!(short.ping(b"").unwrap(), 250u32.to_le_bytes());
    let off = CryptoStack::connect(
        StackConfig::new()
            .socket_path(&path)
            .disable_timeout()
            .dedicated_connection(true),
    )
    .unwrap();
    assert_eq!(off.ping(b"").unwrap(), 0u32.to_le_bytes());
}

#[test]
fn client_bounds_its_wait_and_skips_the_late_answer() {
    fn server(mut s: UnixStream) {
        accept_hello(&mut s);
        let mut first = true;
        while let Some((h, body)) = read_frame(&mut s) {
            if first {
                // Answer the first request far too late.
                first = false;
                thread::sleep(Duration::from_millis(400));
            }
            ping_reply(&h, &body, &mut s);
        }
    }
    let (_d, path) = fake(server);
    let stack = CryptoStack::connect(
        StackConfig::new()
            .socket_path(&path)
            .default_timeout_ms(50)
            .client_grace(Duration::from_millis(50))
            .dedicated_connection(true),
    )
    .unwrap();
    let t = Instant::now();
    let err = stack.ping(b"slow").unwrap_err();
    assert_eq!(err.code(), ErrorCode::OperationTimedOut);
    assert!(
        t.elapsed() < Duration::from_millis(350),
        "waited {:?}",
        t.elapsed()
    );
    thread::sleep(Duration::from_millis(400));
    // The late answer to "slow" is skipped; the connection still works.
    assert_eq!(stack.ping(b"next").unwrap(), b"next");
}

#[test]
fn daemon_status_codes_and_details_reach_the_caller() {
    fn server(mut s: UnixStream) {
        accept_hello(&mut s);
        while let Some((h, _)) = read_frame(&mut s) {
            let mut b = Builder::new();
            let d = warden_wire::encode_error_detail(&mut b, "key is gone").to_vec();
            write_frame(
                &mut s,
                h.response(ErrorCode::ResourceNotFound.as_u32(), 0),
                &d,
            );
        }
    }
    let (_d, path) = fake(server);
    let stack = CryptoStack::connect(StackConfig::new().socket_path(&path)).unwrap();
    let err = stack.ping(b"x").unwrap_err();
    assert_eq!(err.code(), ErrorCode::ResourceNotFound);
    assert_eq!(
        err.to_string(),
        "daemon returned ResourceNotFound: key is gone"
    );
}

#[test]
fn version_refusal_is_a_typed_connect_error() {
    fn server(mut s: UnixStream) {
        let (h, _) = read_frame(&mut s).unwrap();
        let r = HelloRefusal {
            daemon_version: Version::new(2, 0),
        };
        write_frame(&mut s, h.response(REFUSAL_CODE.as_u32(), 0), &r.encode());
    }
    let (_d, path) = fake(server);
    let err = CryptoStack::connect(StackConfig::new().socket_path(&path)).unwrap_err();
    assert!(matches!(err, warden_client::Error::VersionRefused { daemon } if daemon.major == 2));
    assert_eq!(err.code(), ErrorCode::ConnectionFailed);
}

#[test]
fn garbage_answer_breaks_the_connection_and_a_new_stack_reconnects() {
    fn server(mut s: UnixStream) {
        accept_hello(&mut s);
        let mut n = 0;
        while let Some((h, body)) = read_frame(&mut s) {
            n += 1;
            if n == 1 {
                s.write_all(&[0xAB; HEADER_LEN]).unwrap();
                return;
            }
            ping_reply(&h, &body, &mut s);
        }
    }
    let (_d, path) = fake(server);
    let stack = CryptoStack::connect(StackConfig::new().socket_path(&path)).unwrap();
    let err = stack.ping(b"x").unwrap_err();
    assert!(matches!(err, warden_client::Error::Protocol(_)), "{err}");
    assert_eq!(err.code(), ErrorCode::ConnectionFailed);
    // The broken connection stays broken for its holders...
    assert_eq!(
        stack.ping(b"y").unwrap_err().code(),
        ErrorCode::ConnectionFailed
    );
    // ...and the registry hands a fresh one to the next stack.
    let fresh = CryptoStack::connect(StackConfig::new().socket_path(&path)).unwrap();
    assert!(!fresh.shares_connection_with(&stack));
}

#[test]
fn missing_socket_is_connection_failed_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("none.sock");
    let err = CryptoStack::connect(StackConfig::new().socket_path(&path)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConnectionFailed);
    assert!(err.to_string().contains("none.sock"));
}

#[test]
fn daemon_closing_mid_call_is_connection_lost() {
    fn server(mut s: UnixStream) {
        accept_hello(&mut s);
        let _ = read_frame(&mut s);
        // close without answering
    }
    let (_d, path) = fake(server);
    let stack = CryptoStack::connect(StackConfig::new().socket_path(&path)).unwrap();
    let err = stack.ping(b"x").unwrap_err();
    assert!(
        matches!(err, warden_client::Error::ConnectionLost(_)),
        "{err}"
    );
}

#[test]
fn oversized_request_is_refused_locally_without_breaking_the_stream() {
    let (_d, path) = fake(echo_server);
    let stack = CryptoStack::connect(StackConfig::new().socket_path(&path)).unwrap();
    let big = vec![0u8; stack.max_frame_len() as usize];
    assert_eq!(
        stack.ping(&big).unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    assert_eq!(stack.ping(b"ok").unwrap(), b"ok");
}

#[test]
fn handles_can_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<CryptoStack>();
    send_sync::<warden_client::KeyManagement>();
    send_sync::<warden_client::ResourceGuard>();
    send_sync::<warden_client::Error>();
    send::<warden_client::HashContext>();
    send::<warden_client::MacContext>();
    send::<warden_client::CipherContext>();
    send::<warden_client::AeadContext>();
    send::<warden_client::SignContext>();
    send::<warden_client::VerifyContext>();
}

#[test]
fn admission_refusal_before_reading_the_hello_is_a_typed_error() {
    fn server(mut s: UnixStream) {
        // Like a daemon at its connection limit: answer at once and close unread.
        let h = FrameHeader::request(PROTOCOL_VERSION, 0, Opcode::Hello.as_u16());
        let _ = s.write_all(&h.response(ErrorCode::ProviderBusy.as_u32(), 0).to_bytes());
    }
    let (_d, path) = fake(server);
    for _ in 0..20 {
        let err = CryptoStack::connect(
            StackConfig::new()
                .socket_path(&path)
                .dedicated_connection(true),
        )
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::ProviderBusy, "{err}");
    }
}

#[test]
fn a_caller_whose_budget_runs_out_in_the_queue_does_not_break_the_connection() {
    fn server(mut s: UnixStream) {
        accept_hello(&mut s);
        let mut first = true;
        while let Some((h, body)) = read_frame(&mut s) {
            if first {
                first = false;
                thread::sleep(Duration::from_millis(300));
            }
            ping_reply(&h, &body, &mut s);
        }
    }
    let (_d, path) = fake(server);
    // Two stacks on the one shared connection, with different default timeouts.
    let patient =
        CryptoStack::connect(StackConfig::new().socket_path(&path).disable_timeout()).unwrap();
    let hasty = CryptoStack::connect(
        StackConfig::new()
            .socket_path(&path)
            .default_timeout_ms(50)
            .client_grace(Duration::from_millis(50)),
    )
    .unwrap();
    assert!(patient.shares_connection_with(&hasty));
    let slow = {
        let p = patient.clone();
        thread::spawn(move || p.ping(b"slow").unwrap())
    };
    thread::sleep(Duration::from_millis(30));
    // Queued behind the slow call until its budget is gone: it gives up without sending.
    assert_eq!(
        hasty.ping(b"queued").unwrap_err().code(),
        ErrorCode::OperationTimedOut
    );
    assert_eq!(slow.join().unwrap(), b"slow");
    assert_eq!(hasty.ping(b"later").unwrap(), b"later");
}

/// Against a 1.0 daemon (it negotiates 1.0): the operations of 1.1 fail locally with
/// `UnsupportedOperation` and nothing reaches the wire; 1.0 operations still work, in the
/// negotiated version.
#[test]
fn operations_newer_than_the_negotiated_version_are_refused_before_sending() {
    fn server(mut s: UnixStream) {
        let v10 = Version::new(1, 0);
        let (h, _) = read_frame(&mut s).unwrap();
        let ack = HelloAck {
            version: v10,
            daemon_version: v10,
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
        };
        write_frame(&mut s, h.response(0, 0), &ack.encode());
        // Only pings may arrive, each in version 1.0.
        while let Some((h, body)) = read_frame(&mut s) {
            assert_eq!(
                h.opcode,
                Opcode::Ping.as_u16(),
                "a 1.1 opcode reached a 1.0 daemon"
            );
            assert_eq!(h.version, v10);
            ping_reply(&h, &body, &mut s);
        }
    }
    let (_d, path) = fake(server);
    let stack = CryptoStack::connect(
        StackConfig::new()
            .socket_path(&path)
            .dedicated_connection(true),
    )
    .unwrap();
    assert_eq!(
        stack.export_receipts(1).unwrap_err().code(),
        ErrorCode::UnsupportedOperation
    );
    assert_eq!(
        stack
            .key_management()
            .set_slot_locked("s", true)
            .unwrap_err()
            .code(),
        ErrorCode::UnsupportedOperation
    );
    assert_eq!(stack.ping(b"still 1.0").unwrap(), b"still 1.0");
}
