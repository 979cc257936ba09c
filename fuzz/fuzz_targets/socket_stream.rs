//! Fuzzes the daemon through its real socket front end, the part the `dispatch` targets skip:
//! the event loop, the worker's non-blocking frame start, the bounded wait for the rest of a
//! header, the `readv` of a body together with the next header (the carry), replies with
//! `writev`, and closing on EOF. One in-process daemon (`Daemon::start` on a temporary
//! socket) serves every input; each input is one connection.
//!
//! Input: one flag byte, a list of write sizes, then the byte stream. Flag bit 0 clear: a
//! valid Hello is written first. The stream is written in pieces of the listed sizes (so a
//! header or body can arrive split anywhere, or several frames in one write), then the
//! writing half is shut down and every reply is read until the daemon closes.
//!
//! Asserts: no panic anywhere in the daemon (libFuzzer aborts on a panic in any thread);
//! every reply frame decodes as a response carrying a known status; the daemon closes the
//! connection after the input ends (no hang past the read timeout); and a fresh connection
//! still gets its Ping answered.

#![no_main]

#[allow(dead_code)] // helpers shared with the Loopback targets
mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use warden_core::ErrorCode;
use warden_daemon::{Config, Daemon, RunningDaemon};
use warden_wire::{DEFAULT_MAX_FRAME_LEN, FrameHeader, HEADER_LEN};

struct Shared {
    daemon: RunningDaemon,
    socket: PathBuf,
}

fn daemon() -> &'static Shared {
    static D: OnceLock<Shared> = OnceLock::new();
    D.get_or_init(|| {
        // One directory per fuzzing process (several jobs may run side by side).
        let dir = std::env::temp_dir().join(format!("warden-fuzz-socket-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("fuzz directory");
        let mut cfg = Config::default();
        cfg.socket.path = Some(dir.join("fuzz.sock"));
        cfg.storage.data_dir = Some(dir.join("data"));
        // Not stderr: libFuzzer's output would drown in audit lines.
        cfg.audit.log = "audit.log".into();
        cfg.limits.worker_threads = 1;
        cfg.limits.max_connections = 4;
        // Short waits keep a stalled input from costing seconds per run.
        cfg.timeouts.io_ms = 50;
        cfg.timeouts.handshake_ms = 1000;
        let daemon = Daemon::start(cfg).expect("daemon");
        let socket = daemon.socket_path().to_owned();
        Shared { daemon, socket }
    })
}

#[derive(Debug, Arbitrary)]
struct Input {
    flags: u8,
    writes: Vec<u16>,
    stream: Vec<u8>,
}

fn connect(path: &PathBuf) -> UnixStream {
    let s = UnixStream::connect(path).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.set_write_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s
}

/// Reads reply frames until the daemon closes; checks each header.
fn drain(s: &mut UnixStream) {
    loop {
        let mut head = [0u8; HEADER_LEN];
        match s.read_exact(&mut head) {
            Ok(()) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset
                ) =>
            {
                return;
            }
            Err(e) => panic!("daemon neither answered nor closed: {e}"),
        }
        let h = FrameHeader::decode(&head, DEFAULT_MAX_FRAME_LEN).expect("reply header decodes");
        assert!(h.is_response(), "reply without the response flag");
        assert!(
            h.status == 0 || ErrorCode::from_u32(h.status).is_some(),
            "unknown status {:#x}",
            h.status
        );
        let mut body = vec![0u8; h.body_len as usize];
        match s.read_exact(&mut body) {
            Ok(()) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset
                ) =>
            {
                panic!("daemon closed in the middle of a reply")
            }
            Err(e) => panic!("reply body: {e}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let d = daemon();
    let mut s = connect(&d.socket);
    let mut stream = Vec::new();
    if input.flags & 1 == 0 {
        stream.extend(common::hello_frame());
    }
    stream.extend_from_slice(&input.stream);
    let mut rest = &stream[..];
    let mut sizes = input.writes.iter().copied().cycle();
    while !rest.is_empty() {
        let n = usize::from(sizes.next().unwrap_or(u16::MAX)).clamp(1, rest.len());
        let (piece, tail) = rest.split_at(n);
        // The daemon may already have closed (bad header, refused handshake): stop writing.
        if s.write_all(piece).is_err() {
            break;
        }
        rest = tail;
    }
    let _ = s.shutdown(Shutdown::Write);
    drain(&mut s);

    // The daemon still serves a well-behaved client.
    let mut probe = connect(&d.socket);
    probe.write_all(&common::hello_frame()).expect("hello");
    let ping = common::frame(2, warden_wire::Opcode::Ping.as_u16(), 0, &ping_body());
    probe.write_all(&ping).expect("ping");
    let _ = probe.shutdown(Shutdown::Write);
    let mut replies = Vec::new();
    if let Err(e) = probe.read_to_end(&mut replies) {
        panic!(
            "probe: {e} after {} reply bytes; daemon: {:?}",
            replies.len(),
            d.daemon.status()
        );
    }
    let mut statuses = Vec::new();
    let mut at = &replies[..];
    while at.len() >= HEADER_LEN {
        let h = FrameHeader::decode(&at[..HEADER_LEN], DEFAULT_MAX_FRAME_LEN).expect("header");
        statuses.push(h.status);
        at = &at[(HEADER_LEN + h.body_len as usize).min(at.len())..];
    }
    assert_eq!(
        statuses,
        [0, 0],
        "hello and ping must succeed after a fuzz input"
    );
});

fn ping_body() -> Vec<u8> {
    let mut b = warden_wire::Builder::new();
    warden_wire::encode_request(&mut b, &warden_wire::Request::Ping { data: b"alive" }).to_vec()
}
