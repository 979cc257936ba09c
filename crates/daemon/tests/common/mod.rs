//! A minimal raw-socket client for the daemon's own tests (the real client lives in
//! `warden-client`; these tests pin down the daemon's behaviour at the frame level).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use warden_core::ErrorCode;
use warden_daemon::{Config, Daemon, RunningDaemon};
use warden_wire::handshake::{Hello, HelloAck};
use warden_wire::{
    Builder, FrameHeader, HEADER_LEN, Opcode, PROTOCOL_VERSION, Request, Response, Version,
    decode_response, encode_request,
};

/// Starts a daemon on a socket in a fresh temporary directory.
pub fn start(tweak: impl FnOnce(&mut Config)) -> (tempfile::TempDir, RunningDaemon) {
    start_with(tweak, None)
}

/// Like [`start`] with a custom provider.
pub fn start_with(
    tweak: impl FnOnce(&mut Config),
    provider: Option<std::sync::Arc<dyn warden_crypto::Provider>>,
) -> (tempfile::TempDir, RunningDaemon) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.socket.path = Some(dir.path().join("wardend.sock"));
    config.storage.data_dir = Some(dir.path().join("data"));
    config.limits.worker_threads = 2;
    config.limits.max_connections = 8;
    tweak(&mut config);
    let mut d = Daemon::new(config);
    if let Some(p) = provider {
        d = d.with_provider(p);
    }
    (dir, d.launch().unwrap())
}

/// Connects to a socket path without a handshake.
pub fn connect_path(path: &std::path::Path) -> UnixStream {
    let s = UnixStream::connect(path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Connects without a handshake.
pub fn connect(d: &RunningDaemon) -> UnixStream {
    let s = UnixStream::connect(d.socket_path()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

pub fn send(s: &mut UnixStream, h: FrameHeader, body: &[u8]) {
    let h = FrameHeader {
        body_len: body.len() as u32,
        ..h
    };
    let mut frame = h.to_bytes().to_vec();
    frame.extend_from_slice(body);
    s.write_all(&frame).unwrap();
}

pub fn recv(s: &mut UnixStream) -> (FrameHeader, Vec<u8>) {
    let mut head = [0u8; HEADER_LEN];
    s.read_exact(&mut head).unwrap();
    let h = FrameHeader::decode(&head, u32::MAX).unwrap();
    let mut body = vec![0u8; h.body_len as usize];
    s.read_exact(&mut body).unwrap();
    (h, body)
}

/// True if the daemon closed the connection (EOF or reset).
pub fn closed(s: &mut UnixStream) -> bool {
    let mut b = [0u8; 1];
    matches!(s.read(&mut b), Ok(0) | Err(_))
}

pub fn hello_body(min: Version, max: Version) -> Vec<u8> {
    let h = Hello {
        min,
        max,
        client_name: "daemon-test",
    };
    let mut buf = vec![0u8; h.encoded_len()];
    h.encode(&mut buf).unwrap();
    buf
}

pub fn handshake(s: &mut UnixStream) -> HelloAck {
    let req = FrameHeader::request(PROTOCOL_VERSION, 1, Opcode::Hello.as_u16());
    send(s, req, &hello_body(PROTOCOL_VERSION, PROTOCOL_VERSION));
    let (h, body) = recv(s);
    assert_eq!(h.status, 0, "handshake refused");
    assert!(h.is_response());
    assert_eq!(h.request_id, 1);
    HelloAck::decode(&body).unwrap()
}

/// A handshaken connection that sends typed requests.
pub struct Conn {
    pub s: UnixStream,
    next: u64,
    builder: Builder,
    /// Deadline put in every request header (0 = none).
    pub deadline_ms: u32,
}

impl Conn {
    pub fn open(d: &RunningDaemon) -> Self {
        let mut s = connect(d);
        handshake(&mut s);
        Conn {
            s,
            next: 2,
            builder: Builder::new(),
            deadline_ms: 0,
        }
    }

    /// Sends `req`; returns the raw reply body or the error code.
    pub fn raw(&mut self, req: &Request<'_>) -> Result<Vec<u8>, ErrorCode> {
        let id = self.next;
        self.next += 1;
        let body = encode_request(&mut self.builder, req).to_vec();
        let h = FrameHeader {
            deadline_ms: self.deadline_ms,
            ..FrameHeader::request(PROTOCOL_VERSION, id, req.opcode().as_u16())
        };
        send(&mut self.s, h, &body);
        let (rh, rbody) = recv(&mut self.s);
        assert_eq!(rh.request_id, id);
        assert_eq!(rh.opcode, req.opcode().as_u16());
        if rh.status == 0 {
            Ok(rbody)
        } else {
            Err(ErrorCode::from_u32(rh.status).expect("known error code"))
        }
    }

    /// Sends `req` and hands the decoded response to `f`.
    pub fn call<T>(
        &mut self,
        req: &Request<'_>,
        f: impl FnOnce(Response<'_>) -> T,
    ) -> Result<T, ErrorCode> {
        let op = req.opcode();
        let body = self.raw(req)?;
        Ok(f(decode_response(op, &body).expect("well-formed response")))
    }

    pub fn key(&mut self, req: &Request<'_>) -> Result<u64, ErrorCode> {
        self.call(req, |r| match r {
            Response::KeyCreated { key_id } => key_id,
            other => panic!("unexpected {other:?}"),
        })
    }

    pub fn bytes(&mut self, req: &Request<'_>) -> Result<Vec<u8>, ErrorCode> {
        self.call(req, |r| match r {
            Response::KeyBytes { data } | Response::Ping { data } => data.to_vec(),
            Response::Output { output, .. } => output.as_inline().unwrap().to_vec(),
            other => panic!("unexpected {other:?}"),
        })
    }

    /// Output, tag and encryption nonce / IV of a Finalize.
    pub fn output_iv(&mut self, req: &Request<'_>) -> Result<OutputIv, ErrorCode> {
        self.call(req, |r| match r {
            Response::Output { output, tag, iv } => (
                output.as_inline().unwrap().to_vec(),
                tag.to_vec(),
                iv.to_vec(),
            ),
            other => panic!("unexpected {other:?}"),
        })
    }

    /// Output and tag of an Update/Finalize.
    pub fn output(&mut self, req: &Request<'_>) -> Result<(Vec<u8>, Vec<u8>), ErrorCode> {
        self.call(req, |r| match r {
            Response::Output { output, tag, .. } => {
                (output.as_inline().unwrap().to_vec(), tag.to_vec())
            }
            other => panic!("unexpected {other:?}"),
        })
    }

    pub fn context(&mut self, req: &Request<'_>) -> Result<u64, ErrorCode> {
        self.call(req, |r| match r {
            Response::ContextCreated { context_id, .. } => context_id,
            other => panic!("unexpected {other:?}"),
        })
    }

    pub fn done(&mut self, req: &Request<'_>) -> Result<(), ErrorCode> {
        self.call(req, |r| assert_eq!(r, Response::Done))
    }

    pub fn ping(&mut self, data: &[u8]) -> Vec<u8> {
        self.bytes(&Request::Ping { data }).unwrap()
    }
}

/// Output, tag and encryption nonce / IV of a Finalize reply.
pub type OutputIv = (Vec<u8>, Vec<u8>, Vec<u8>);
