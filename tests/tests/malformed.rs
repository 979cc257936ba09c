//! Hostile bytes on the socket: malformed, truncated, oversized and wrong-version frames each
//! get a typed error frame or a clean close, and a well-behaved client on another connection
//! keeps working throughout.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use warden_client::{CryptoStack, ErrorCode};
use warden_e2e::Daemon;
use warden_wire::handshake::{Hello, HelloReply, REFUSAL_CODE};
use warden_wire::{
    Builder, DEFAULT_MAX_FRAME_LEN, FrameHeader, HEADER_LEN, Opcode, PROTOCOL_VERSION, Request,
    Version,
};

/// What the daemon did with a frame.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// An answer frame with this status (0 = success).
    Status(u32),
    /// The daemon closed the connection.
    Closed,
}

fn raw(d: &Daemon) -> UnixStream {
    let s = UnixStream::connect(d.socket_path()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

fn hello_frame(min: Version, max: Version) -> Vec<u8> {
    let mut body = [0u8; 16];
    let n = Hello {
        min,
        max,
        client_name: "raw",
    }
    .encode(&mut body)
    .unwrap();
    let h = FrameHeader {
        body_len: n as u32,
        ..FrameHeader::request(max, 0, Opcode::Hello.as_u16())
    };
    let mut out = h.to_bytes().to_vec();
    out.extend_from_slice(&body[..n]);
    out
}

fn request(id: u64, req: &Request<'_>) -> Vec<u8> {
    let mut b = Builder::new();
    let body = warden_wire::encode_request(&mut b, req).to_vec();
    frame(id, req.opcode().as_u16(), &body)
}

fn frame(id: u64, opcode: u16, body: &[u8]) -> Vec<u8> {
    let h = FrameHeader {
        body_len: body.len() as u32,
        ..FrameHeader::request(PROTOCOL_VERSION, id, opcode)
    };
    let mut out = h.to_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

/// Reads one answer frame, or notices the close.
fn outcome(s: &mut UnixStream) -> Outcome {
    let mut h = [0u8; HEADER_LEN];
    match s.read_exact(&mut h) {
        Ok(()) => {}
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset
            ) =>
        {
            return Outcome::Closed;
        }
        Err(e) => panic!("daemon neither answered nor closed: {e}"),
    }
    let h = FrameHeader::decode(&h, DEFAULT_MAX_FRAME_LEN).unwrap();
    let mut body = vec![0u8; h.body_len as usize];
    s.read_exact(&mut body).unwrap();
    assert!(h.is_response());
    Outcome::Status(h.status)
}

fn handshaken(d: &Daemon) -> UnixStream {
    let mut s = raw(d);
    s.write_all(&hello_frame(PROTOCOL_VERSION, PROTOCOL_VERSION))
        .unwrap();
    assert_eq!(outcome(&mut s), Outcome::Status(0));
    s
}

/// A typed error (a known non-zero code) or a clean close.
fn typed_or_closed(o: &Outcome) -> bool {
    match o {
        Outcome::Closed => true,
        Outcome::Status(0) => false,
        Outcome::Status(c) => ErrorCode::from_u32(*c).is_some(),
    }
}

fn bystander_ok(stack: &CryptoStack) {
    assert_eq!(stack.ping(b"still fine").unwrap(), b"still fine");
}

#[test]
fn malformed_headers_get_typed_errors_or_a_close() {
    let d = Daemon::start().unwrap();
    let good = d.stack().unwrap();
    use ErrorCode as E;
    let mut cases: Vec<(&str, Vec<u8>, ErrorCode)> = Vec::new();
    let mut bad_magic = frame(1, Opcode::Ping.as_u16(), &[]);
    bad_magic[0] = b'X';
    cases.push(("bad magic", bad_magic, E::InvalidFormat));
    let mut flags = frame(1, Opcode::Ping.as_u16(), &[]);
    flags[6] = 0x80;
    cases.push(("unknown flags", flags, E::InvalidFormat));
    let mut reserved = frame(1, Opcode::Ping.as_u16(), &[]);
    reserved[18] = 1;
    cases.push(("reserved field", reserved, E::InvalidFormat));
    let mut major = frame(1, Opcode::Ping.as_u16(), &[]);
    major[4] = 9;
    cases.push(("wrong major version", major, E::ConnectionFailed));
    let mut minor = frame(1, Opcode::Ping.as_u16(), &[]);
    minor[5] = 7;
    cases.push((
        "wrong minor version after handshake",
        minor,
        E::ConnectionFailed,
    ));
    let mut response_flag = frame(1, Opcode::Ping.as_u16(), &[]);
    response_flag[6] = 1;
    cases.push((
        "response flag on a request",
        response_flag,
        E::InvalidFormat,
    ));
    cases.push(("opcode zero", frame(1, 0, &[]), E::UnsupportedOperation));
    cases.push((
        "hello after handshake",
        hello_frame(PROTOCOL_VERSION, PROTOCOL_VERSION),
        E::AlreadyInitialized,
    ));
    for (name, bytes, want) in cases {
        let mut s = handshaken(&d);
        s.write_all(&bytes).unwrap();
        let o = outcome(&mut s);
        // Every malformed frame gets its typed status before any close.
        assert_eq!(o, Outcome::Status(want.as_u32()), "{name}: expected {want}");
        bystander_ok(&good);
    }
}

#[test]
fn unknown_opcodes_and_garbage_bodies_are_typed_and_the_connection_survives() {
    let d = Daemon::start().unwrap();
    let good = d.stack().unwrap();
    let mut s = handshaken(&d);
    // Unassigned and private-use opcodes: UnsupportedOperation, connection stays usable.
    for (i, op) in [0x0C00u16, 0x0EEE, 0xF000].into_iter().enumerate() {
        s.write_all(&frame(10 + i as u64, op, &[])).unwrap();
        let o = outcome(&mut s);
        assert_eq!(
            o,
            Outcome::Status(ErrorCode::UnsupportedOperation.as_u32()),
            "{op:#x}"
        );
    }
    // A body that is not a FlatBuffer: a typed error, connection stays usable.
    s.write_all(&frame(20, Opcode::GenerateKey.as_u16(), &[0xff; 40]))
        .unwrap();
    let o = outcome(&mut s);
    assert!(
        matches!(o, Outcome::Status(c) if c != 0 && ErrorCode::from_u32(c).is_some()),
        "{o:?}"
    );
    s.write_all(&request(21, &Request::Ping { data: b"ok" }))
        .unwrap();
    assert_eq!(outcome(&mut s), Outcome::Status(0));
    bystander_ok(&good);
}

#[test]
fn truncated_frames_are_closed_cleanly() {
    let d = Daemon::start().unwrap();
    let good = d.stack().unwrap();
    // Header cut short, then the client half-closes.
    let mut s = handshaken(&d);
    s.write_all(&frame(1, Opcode::Ping.as_u16(), &[])[..10])
        .unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(outcome(&mut s), Outcome::Closed);
    // Body shorter than announced.
    let mut s = handshaken(&d);
    let mut f = request(1, &Request::Ping { data: &[1; 64] });
    f.truncate(f.len() - 20);
    s.write_all(&f).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(outcome(&mut s), Outcome::Closed);
    // A truncated Hello.
    let mut s = raw(&d);
    s.write_all(&hello_frame(PROTOCOL_VERSION, PROTOCOL_VERSION)[..HEADER_LEN + 2])
        .unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(outcome(&mut s), Outcome::Closed);
    bystander_ok(&good);
}

#[test]
fn a_stalled_partial_frame_does_not_block_other_clients() {
    let d = Daemon::start().unwrap();
    let good = d.stack().unwrap();
    let mut stalled: Vec<UnixStream> = (0..4).map(|_| handshaken(&d)).collect();
    for s in &mut stalled {
        s.write_all(&frame(1, Opcode::Ping.as_u16(), &[0; 8])[..HEADER_LEN + 3])
            .unwrap();
    }
    for _ in 0..20 {
        bystander_ok(&good);
    }
}

#[test]
fn oversized_frames_are_refused() {
    let d = Daemon::start().unwrap();
    let good = d.stack().unwrap();
    let max = good.max_frame_len();
    let mut s = handshaken(&d);
    // Announce one byte more than the limit; send nothing else.
    let h = FrameHeader {
        body_len: max - HEADER_LEN as u32 + 1,
        ..FrameHeader::request(PROTOCOL_VERSION, 1, Opcode::Ping.as_u16())
    };
    s.write_all(&h.to_bytes()).unwrap();
    let o = outcome(&mut s);
    assert_eq!(o, Outcome::Status(ErrorCode::QuotaExceeded.as_u32()));
    // A frame just under the limit (64 bytes of room for the FlatBuffer around the echoed
    // bytes) is accepted: Ping echoes it.
    let mut s = handshaken(&d);
    let room = max as usize - HEADER_LEN - 64;
    s.write_all(&request(
        2,
        &Request::Ping {
            data: &vec![5u8; room],
        },
    ))
    .unwrap();
    assert_eq!(outcome(&mut s), Outcome::Status(0));
    bystander_ok(&good);
}

#[test]
fn wrong_versions_are_refused_in_the_handshake() {
    let d = Daemon::start().unwrap();
    let good = d.stack().unwrap();
    for (min, max) in [
        (Version::new(2, 0), Version::new(2, 5)),
        (Version::new(0, 1), Version::new(0, 9)),
        (Version::new(1, 5), Version::new(1, 9)),
    ] {
        let mut s = raw(&d);
        s.write_all(&hello_frame(min, max)).unwrap();
        let mut h = [0u8; HEADER_LEN];
        s.read_exact(&mut h).unwrap();
        let h = FrameHeader::decode(&h, DEFAULT_MAX_FRAME_LEN)
            .or_else(|_| {
                // The refusal may be framed in the daemon's own version.
                let mut fixed = h;
                fixed[4] = PROTOCOL_VERSION.major;
                FrameHeader::decode(&fixed, DEFAULT_MAX_FRAME_LEN)
            })
            .unwrap();
        let mut body = vec![0u8; h.body_len as usize];
        s.read_exact(&mut body).unwrap();
        assert_eq!(h.status, REFUSAL_CODE.as_u32(), "{min}..{max}");
        // A refusal body names the daemon's version; a frame whose header layout is from
        // another major version may be refused before its body is read (empty body).
        if !body.is_empty() {
            let reply = HelloReply::decode(h.status, &body).unwrap();
            assert!(
                matches!(reply, HelloReply::Refused(_)),
                "{min}..{max}: {reply:?}"
            );
        }
        assert_eq!(outcome(&mut s), Outcome::Closed, "refusal must close");
        bystander_ok(&good);
    }
    // A request before any hello is refused too.
    let mut s = raw(&d);
    s.write_all(&request(1, &Request::Ping { data: b"x" }))
        .unwrap();
    let o = outcome(&mut s);
    assert!(typed_or_closed(&o), "{o:?}");
    bystander_ok(&good);
}

/// Evolution rule 6: a 1.1 daemon serves 1.0 clients, and on a 1.0 connection the operations
/// added in 1.1 do not exist (`UnsupportedOperation`) while 1.0 operations work; the same
/// requests on a 1.1 connection reach their handlers. The client library refuses them itself
/// on a 1.0 connection (unit-tested in `warden-wire` via `Opcode::available_in`).
#[test]
fn operations_newer_than_the_negotiated_minor_are_refused() {
    let d = Daemon::start().unwrap();
    let v10 = Version::new(1, 0);
    let newer = [
        Request::ReceiptExport {
            from: 1,
            max_bytes: 0,
        },
        Request::SlotSetLocked {
            name: "x",
            locked: true,
        },
    ];
    let with_version = |v: Version, req: &Request<'_>| {
        let mut b = Builder::new();
        let body = warden_wire::encode_request(&mut b, req).to_vec();
        let h = FrameHeader {
            body_len: body.len() as u32,
            ..FrameHeader::request(v, 2, req.opcode().as_u16())
        };
        let mut out = h.to_bytes().to_vec();
        out.extend_from_slice(&body);
        out
    };

    let mut old = raw(&d);
    old.write_all(&hello_frame(v10, v10)).unwrap();
    assert_eq!(outcome(&mut old), Outcome::Status(0), "1.0 is still served");
    for req in &newer {
        old.write_all(&with_version(v10, req)).unwrap();
        assert_eq!(
            outcome(&mut old),
            Outcome::Status(ErrorCode::UnsupportedOperation.as_u32()),
            "{:?} at 1.0",
            req.opcode()
        );
    }
    old.write_all(&with_version(v10, &Request::Ping { data: b"1.0" }))
        .unwrap();
    assert_eq!(outcome(&mut old), Outcome::Status(0));

    let mut new = handshaken(&d);
    for req in &newer {
        new.write_all(&request(3, req)).unwrap();
        let got = outcome(&mut new);
        assert!(
            typed_or_closed(&got)
                && got != Outcome::Status(ErrorCode::UnsupportedOperation.as_u32()),
            "{:?} at {PROTOCOL_VERSION}: {got:?}",
            req.opcode()
        );
    }
}
