//! A minimal blocking frame client for the daemon benchmarks (independent of warden-client,
//! so the figures measure the daemon and the socket, not a client library).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use warden_core::ErrorCode;
use warden_wire::handshake::Hello;
use warden_wire::{
    Builder, FrameHeader, HEADER_LEN, Opcode, PROTOCOL_VERSION, Request, Response, decode_response,
    encode_request,
};

/// Bench failures are setup bugs; report them plainly.
pub type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

/// A handshaken connection with reusable buffers.
pub struct Client {
    s: UnixStream,
    builder: Builder,
    out: Vec<u8>,
    inb: Vec<u8>,
    next: u64,
}

fn err(code: u32) -> Box<dyn std::error::Error> {
    format!("daemon error {:?}", ErrorCode::from_u32(code)).into()
}

impl Client {
    /// Connects and performs the handshake.
    pub fn connect(path: &Path) -> BenchResult<Self> {
        let s = UnixStream::connect(path)?;
        let mut c = Client {
            s,
            builder: Builder::new(),
            out: Vec::new(),
            inb: Vec::new(),
            next: 1,
        };
        let h = Hello {
            min: PROTOCOL_VERSION,
            max: PROTOCOL_VERSION,
            client_name: "bench",
        };
        let mut body = vec![0u8; h.encoded_len()];
        h.encode(&mut body)?;
        c.send(Opcode::Hello, &body)?;
        let status = c.recv()?;
        if status != 0 {
            return Err(err(status));
        }
        Ok(c)
    }

    fn send(&mut self, op: Opcode, body: &[u8]) -> BenchResult<()> {
        self.next += 1;
        let h = FrameHeader {
            body_len: u32::try_from(body.len())?,
            ..FrameHeader::request(PROTOCOL_VERSION, self.next, op.as_u16())
        };
        self.out.clear();
        self.out.extend_from_slice(&h.to_bytes());
        self.out.extend_from_slice(body);
        self.s.write_all(&self.out)?;
        Ok(())
    }

    fn recv(&mut self) -> BenchResult<u32> {
        let mut head = [0u8; HEADER_LEN];
        self.s.read_exact(&mut head)?;
        let h = FrameHeader::decode(&head, u32::MAX)?;
        self.inb.resize(h.body_len as usize, 0);
        self.s.read_exact(&mut self.inb)?;
        Ok(h.status)
    }

    /// One request; returns the decoded response to `f`.
    pub fn call<T>(
        &mut self,
        req: &Request<'_>,
        f: impl FnOnce(Response<'_>) -> T,
    ) -> BenchResult<T> {
        let body = encode_request(&mut self.builder, req).to_vec();
        self.send(req.opcode(), &body)?;
        let status = self.recv()?;
        if status != 0 {
            return Err(err(status));
        }
        Ok(f(decode_response(req.opcode(), &self.inb)?))
    }

    /// One request whose response is not inspected (the hot loop).
    pub fn fire(&mut self, frame: &[u8]) -> BenchResult<()> {
        self.s.write_all(frame)?;
        let status = self.recv()?;
        if status != 0 {
            return Err(err(status));
        }
        Ok(())
    }

    /// A ready-to-send frame for `req` (request ids are not checked by the bench).
    pub fn frame(&mut self, req: &Request<'_>) -> BenchResult<Vec<u8>> {
        let body = encode_request(&mut self.builder, req).to_vec();
        let h = FrameHeader {
            body_len: u32::try_from(body.len())?,
            ..FrameHeader::request(PROTOCOL_VERSION, 7, req.opcode().as_u16())
        };
        let mut f = h.to_bytes().to_vec();
        f.extend_from_slice(&body);
        Ok(f)
    }

    /// Creates a key or context and returns its id.
    pub fn id(&mut self, req: &Request<'_>) -> BenchResult<u64> {
        self.call(req, |r| match r {
            Response::KeyCreated { key_id } => Ok(key_id),
            Response::ContextCreated { context_id, .. } => Ok(context_id),
            _ => Err("unexpected response".into()),
        })?
    }
}
