//! One Unix-socket connection to `wardend`: connect, version handshake, and synchronous
//! request/response exchange with a bounded wait.
//!
//! Requests on a connection are serialised by a mutex (the daemon serves a connection's
//! requests one after another, in order); a batch keeps several queued under one lock
//! (`pipeline`). The socket side (frames out, the receive buffer, waiting) is `stream`.
//! Each request carries its deadline; the client itself waits at most the
//! deadline plus a grace period. When it gives up, the connection stays usable: the late answer
//! is recognised by its stale request id and skipped when the next answer is read.

use std::io;
use std::os::fd::BorrowedFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use warden_core::ErrorCode;
use warden_wire::handshake::{Hello, HelloReply};
use warden_wire::{DEFAULT_MAX_FRAME_LEN, FrameHeader, HEADER_LEN, Opcode, Version, WireError};

use crate::error::{Error, Result};
use crate::protocol::{MAX_VERSION, MIN_VERSION};
use crate::trust::{DaemonTrust, peer_uid};

mod pipeline;
mod stream;

use stream::wipe_all;

/// Read chunk when the size of the next frame is not known yet: one syscall fetches the header
/// and any small body together.
const READ_CHUNK: usize = 4096;

/// The largest frame limit a daemon may announce (`warden_wire::MAX_FRAME_LIMIT`); a larger
/// one refuses the connection with a protocol error.
pub const MAX_DAEMON_FRAME_LEN: u32 = warden_wire::MAX_FRAME_LIMIT;

/// How a call waits for its answer (from the stack's config).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Waiting {
    /// How long past the request's deadline the client still waits for the answer.
    pub(crate) grace: Duration,
    /// How long to poll for the answer without sleeping before blocking
    /// ([`crate::StackConfig::busy_poll`]).
    pub(crate) busy_poll: Duration,
}

/// An established, version-negotiated connection.
pub(crate) struct Connection {
    path: PathBuf,
    /// The listener's uid, checked before the first byte was sent.
    peer_uid: u32,
    version: Version,
    daemon_version: Version,
    /// Largest frame the daemon accepts from us.
    max_request_len: u32,
    /// Largest frame we accept from the daemon (guards against a corrupt length).
    max_response_len: u32,
    inner: Mutex<Inner>,
}

struct Inner {
    stream: UnixStream,
    next_id: u64,
    /// Receive buffer: its first `filled` bytes were received and not yet consumed
    /// (possibly a partial or stale frame). Every byte past `filled` is zero (consumed bytes
    /// are wiped), so reading into it needs no fresh zero-fill, and its length is its size.
    rbuf: Vec<u8>,
    filled: usize,
    /// Socket timeout currently configured, to avoid a syscall when it does not change.
    io_timeout: Option<Option<Duration>>,
    broken: bool,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("path", &self.path)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Connects to `path`, checks that `trust` allows the listener's uid, and negotiates the
    /// protocol version within `bound`.
    pub(crate) fn open(path: &Path, bound: Duration, trust: &DaemonTrust) -> Result<Self> {
        let connect_error = |source| Error::Connect {
            path: path.to_path_buf(),
            source,
        };
        let stream = UnixStream::connect(path).map_err(connect_error)?;
        // Before anything is written, not even the hello: an impostor learns nothing but that
        // a client came (the stream is dropped, i.e. closed, on the error path).
        let peer_uid = peer_uid(&stream).map_err(connect_error)?;
        trust.check(path, peer_uid)?;
        let mut inner = Inner {
            stream,
            next_id: 1,
            rbuf: vec![0; READ_CHUNK],
            filled: 0,
            io_timeout: None,
            broken: false,
        };
        let name = format!(
            "warden-client/{} pid {}",
            env!("CARGO_PKG_VERSION"),
            std::process::id()
        );
        let hello = Hello {
            min: MIN_VERSION,
            max: MAX_VERSION,
            client_name: &name,
        };
        let mut body = [0u8; 5 + warden_wire::handshake::MAX_CLIENT_NAME_LEN];
        let n = hello
            .encode(&mut body)
            .map_err(|_| Error::Protocol("cannot encode hello"))?;
        let header = FrameHeader::request(MAX_VERSION, 0, Opcode::Hello.as_u16());
        let until = Instant::now() + bound;
        let sent = inner.send(&header, body.get(..n).unwrap_or(&[]), Some(until));
        // A daemon at its connection limit writes a typed refusal and closes at once, so our
        // Hello may hit a closed socket: the refusal can still be waiting to be read.
        let hello_op = Opcode::Hello.as_u16();
        let (reply_header, total) = match inner.recv(
            0,
            hello_op,
            DEFAULT_MAX_FRAME_LEN,
            Some(until),
            Duration::ZERO,
            false,
        ) {
            Ok(r) => r,
            Err(e) => return Err(sent.err().unwrap_or(e)),
        };
        let refusal = warden_wire::handshake::REFUSAL_CODE.as_u32();
        if reply_header.status != 0 && reply_header.status != refusal {
            // Not a version refusal: admission control (busy, access denied) with a code.
            let code = ErrorCode::from_u32(reply_header.status).unwrap_or(ErrorCode::InternalError);
            return Err(Error::Daemon { code, detail: None });
        }
        let decoded = HelloReply::decode(reply_header.status, inner.body(total));
        inner.consume(total);
        let ack = match decoded {
            Ok(HelloReply::Accepted(ack)) => ack,
            Ok(HelloReply::Refused(r)) => {
                return Err(Error::VersionRefused {
                    daemon: r.daemon_version,
                });
            }
            Err(_) => return Err(Error::Protocol("malformed handshake reply")),
        };
        if ack.max_frame_len > MAX_DAEMON_FRAME_LEN {
            // No wardend may announce more; accepting it would let a confused or hostile
            // peer make us take answers of up to 8 GiB.
            return Err(Error::Protocol(
                "daemon announced a frame limit above any wardend's maximum",
            ));
        }
        if ack.version < MIN_VERSION || ack.version > MAX_VERSION {
            return Err(Error::Protocol(
                "daemon chose a version outside the offered range",
            ));
        }
        Ok(Connection {
            path: path.to_path_buf(),
            peer_uid,
            version: ack.version,
            daemon_version: ack.daemon_version,
            max_request_len: ack.max_frame_len,
            max_response_len: ack
                .max_frame_len
                .saturating_mul(2)
                .max(DEFAULT_MAX_FRAME_LEN),
            inner: Mutex::new(inner),
        })
    }

    /// The socket path this connection was opened on.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The uid the daemon runs as (checked against the opener's trust).
    pub(crate) fn peer_uid(&self) -> u32 {
        self.peer_uid
    }

    /// The negotiated protocol version.
    pub(crate) fn version(&self) -> Version {
        self.version
    }

    /// The daemon's own protocol version.
    pub(crate) fn daemon_version(&self) -> Version {
        self.daemon_version
    }

    /// The largest request frame the daemon accepts.
    pub(crate) fn max_request_len(&self) -> u32 {
        self.max_request_len
    }

    /// Whether the connection failed and must be replaced.
    pub(crate) fn is_broken(&self) -> bool {
        self.lock().broken
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the stream half-written without also
        // setting `broken` first, so the state behind a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends one request and hands the body of its successful response to `on_reply`.
    ///
    /// `deadline_ms` travels in the header (`None` = no deadline); the client waits at most
    /// `deadline_ms + grace`. A non-zero status becomes [`Error::Daemon`]. The body is read
    /// where it was received (no copy), and wiped there once `on_reply` returns: answers
    /// may carry secrets.
    pub(crate) fn call<T>(
        &self,
        opcode: Opcode,
        body: &[u8],
        deadline_ms: Option<u32>,
        wait: Waiting,
        on_reply: impl FnOnce(&[u8]) -> Result<T>,
    ) -> Result<T> {
        self.call_with_fd(opcode, body, None, deadline_ms, wait, on_reply)
    }

    /// As [`Connection::call`], with `fd` (if any) attached to the request's first byte.
    pub(crate) fn call_with_fd<T>(
        &self,
        opcode: Opcode,
        body: &[u8],
        fd: Option<BorrowedFd<'_>>,
        deadline_ms: Option<u32>,
        wait: Waiting,
        on_reply: impl FnOnce(&[u8]) -> Result<T>,
    ) -> Result<T> {
        if HEADER_LEN as u64 + body.len() as u64 > u64::from(self.max_request_len) {
            // The daemon would refuse it anyway; refusing here keeps the stream in sync.
            return Err(Error::Invalid(warden_core::Error::new(
                ErrorCode::InvalidArgument,
                "request larger than the daemon's frame limit",
            )));
        }
        let until =
            deadline_ms.map(|ms| Instant::now() + Duration::from_millis(ms.into()) + wait.grace);
        let mut inner = self.lock();
        if inner.broken {
            return Err(Error::ConnectionLost(None));
        }
        let id = inner.next_id;
        inner.next_id = id.wrapping_add(1);
        let header = FrameHeader {
            deadline_ms: deadline_ms.unwrap_or(0),
            ..FrameHeader::request(self.version, id, opcode.as_u16())
        };
        inner.send_fd(&header, body, fd, until)?;
        let (h, total) = inner.recv(
            id,
            opcode.as_u16(),
            self.max_response_len,
            until,
            wait.busy_poll,
            false,
        )?;
        let r = self.judge(&mut inner, &h, total).and_then(on_reply);
        inner.consume(total);
        r
    }

    /// The body of the received answer `h` (`total` bytes with its header, at the front of
    /// the read buffer) if its status is success; the daemon's error otherwise.
    fn judge<'i>(&self, inner: &'i mut Inner, h: &FrameHeader, total: usize) -> Result<&'i [u8]> {
        if h.version != self.version {
            inner.broken = true;
            return Err(Error::Protocol("response in a different protocol version"));
        }
        let body = inner.body(total);
        if h.status != 0 {
            let code = ErrorCode::from_u32(h.status).unwrap_or(ErrorCode::InternalError);
            let detail = crate::codec::error_detail(body);
            return Err(Error::Daemon { code, detail });
        }
        Ok(body)
    }
}

impl Drop for Inner {
    /// A partial or unclaimed answer (one that came after its caller gave up) may still be
    /// in the read buffer.
    fn drop(&mut self) {
        wipe_all(&mut self.rbuf);
    }
}

fn lost(e: io::Error) -> Error {
    Error::ConnectionLost(Some(e))
}

fn timeout_or_lost(e: &io::Error) -> Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::TimedOut,
        kind => Error::ConnectionLost(Some(io::Error::from(kind))),
    }
}

fn wire_problem(e: WireError) -> &'static str {
    match e {
        WireError::BadMagic(_) => "bad magic in response header",
        WireError::UnsupportedVersion { .. } => "response in an unsupported protocol version",
        WireError::FrameTooLarge { .. } => "response frame too large",
        _ => "malformed response header",
    }
}
