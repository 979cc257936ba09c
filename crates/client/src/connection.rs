//! One Unix-socket connection to `wardend`: connect, version handshake, and synchronous
//! request/response exchange with a bounded wait.
//!
//! Requests on a connection are serialised by a mutex (the daemon serves one request in flight
//! per connection). Each request carries its deadline; the client itself waits at most the
//! deadline plus a grace period. When it gives up, the connection stays usable: the late answer
//! is recognised by its stale request id and skipped when the next answer is read.

use std::io::{self, IoSlice, Read, Write};
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

/// Read chunk when the size of the next frame is not known yet: one syscall fetches the header
/// and any small body together.
const READ_CHUNK: usize = 4096;

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
    /// Sends requests `0..n` on this connection keeping at most `depth` of them unanswered,
    /// and hands each answer, in order, to `answer` (a non-zero status as
    /// [`Error::Daemon`]). `encode(i, send)` encodes request `i` and passes its opcode and
    /// body to `send`.
    ///
    /// Why: the daemon serves one connection's frames in order, so a queued request is read
    /// the moment the previous answer is written and the worker never waits for the client
    /// (on a VM whose idle vCPUs halt, each such wait is a wake-up of tens of microseconds).
    ///
    /// Only for requests and answers of a few hundred bytes (region references): the daemon
    /// reads no new request while an answer of this connection is unsent, so `depth` large
    /// answers could fill the socket while we block writing. Each answer is awaited for the
    /// request's deadline plus grace, counted from when it was sent or the previous answer
    /// came, whichever is later (the daemon starts its clock when it reads the header). An
    /// error returned by `encode` or `answer`, or a lost connection, ends the run; answers
    /// still on the way are recognised as stale by their ids and skipped by the next call.
    pub(crate) fn call_pipelined(
        &self,
        n: usize,
        depth: usize,
        deadline_ms: Option<u32>,
        wait: Waiting,
        mut encode: impl FnMut(usize, &mut dyn FnMut(Opcode, &[u8]) -> Result<()>) -> Result<()>,
        mut answer: impl FnMut(usize, Result<&[u8]>) -> Result<()>,
    ) -> Result<()> {
        let depth = depth.max(1);
        let budget = deadline_ms.map(|ms| Duration::from_millis(ms.into()) + wait.grace);
        let mut inner = self.lock();
        if inner.broken {
            return Err(Error::ConnectionLost(None));
        }
        // (request id, opcode, sent at) of the requests whose answers are still to come.
        let mut pending = std::collections::VecDeque::with_capacity(depth.min(n));
        let mut sent = 0;
        let mut last_answer = Instant::now();
        for i in 0..n {
            while sent < n && pending.len() < depth {
                let id = inner.next_id;
                let at = Instant::now();
                let until = budget.map(|b| at + b);
                let mut op_sent = None;
                encode(sent, &mut |op: Opcode, body: &[u8]| {
                    if HEADER_LEN as u64 + body.len() as u64 > u64::from(self.max_request_len) {
                        return Err(Error::Invalid(warden_core::Error::new(
                            ErrorCode::InvalidArgument,
                            "request larger than the daemon's frame limit",
                        )));
                    }
                    inner.next_id = id.wrapping_add(1);
                    let header = FrameHeader {
                        deadline_ms: deadline_ms.unwrap_or(0),
                        ..FrameHeader::request(self.version, id, op.as_u16())
                    };
                    inner.send(&header, body, until)?;
                    op_sent = Some(op);
                    Ok(())
                })?;
                let Some(op) = op_sent else {
                    return Err(Error::Protocol("pipelined request was not encoded"));
                };
                pending.push_back((id, op, at));
                sent += 1;
            }
            let Some((id, op, at)) = pending.pop_front() else {
                return Err(Error::Protocol("pipelined answer without a request"));
            };
            let until = budget.map(|b| at.max(last_answer) + b);
            // Waiting in poll: a blocked read would be woken by every request the worker
            // takes from the queue ([`wait_read`]), costing the worker a wake-up each.
            let (h, total) = inner.recv(
                id,
                op.as_u16(),
                self.max_response_len,
                until,
                wait.busy_poll,
                true,
            )?;
            last_answer = Instant::now();
            let r = match self.judge(&mut inner, &h, total) {
                Err(Error::Protocol(p)) => Err(Error::Protocol(p)),
                judged => answer(i, judged),
            };
            inner.consume(total);
            r?;
        }
        Ok(())
    }
}

impl Inner {
    fn set_timeout(&mut self, until: Option<Instant>) -> Result<()> {
        let t = match until {
            None => None,
            Some(u) => {
                let left = u.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(Error::TimedOut);
                }
                Some(left)
            }
        };
        // Skip the syscall when the budget is the same to the millisecond as last time (the
        // common case: same operation timeout on every call).
        let rounded = t.map(|d| Duration::from_millis(d.as_millis().max(1) as u64));
        if self.io_timeout != Some(rounded) {
            self.stream.set_read_timeout(rounded).map_err(lost)?;
            self.stream.set_write_timeout(rounded).map_err(lost)?;
            self.io_timeout = Some(rounded);
        }
        Ok(())
    }

    fn send(&mut self, header: &FrameHeader, body: &[u8], until: Option<Instant>) -> Result<()> {
        self.send_fd(header, body, None, until)
    }

    fn send_fd(
        &mut self,
        header: &FrameHeader,
        body: &[u8],
        fd: Option<BorrowedFd<'_>>,
        until: Option<Instant>,
    ) -> Result<()> {
        let Ok(body_len) = u32::try_from(body.len()) else {
            return Err(Error::Invalid(warden_core::Error::invalid_argument(
                "request body too large",
            )));
        };
        let header = FrameHeader {
            body_len,
            ..*header
        };
        // The budget may already be spent (e.g. queued behind another thread's long call):
        // give up before writing anything, which leaves the stream intact.
        self.set_timeout(until)?;
        // Header and body go out side by side from where they are (the body from the
        // thread's builder, which the codec scrubs): no copy into a frame buffer, and so no
        // such buffer holding key material (import, unwrap) to wipe afterwards.
        let r = write_frame(&self.stream, &header.to_bytes(), body, fd)
            .map_err(|e| timeout_or_lost(&e));
        if r.is_err() {
            // A partial write desynchronises the stream: nothing more can be sent on it.
            self.broken = true;
        }
        r
    }

    /// Reads frames until the answer to request `id` arrives; earlier (stale) answers are
    /// skipped. Any malformed frame breaks the connection. The answer is left at the front
    /// of the read buffer: returns its header and its length with the header; read it with
    /// [`Inner::body`], then [`Inner::consume`] it.
    fn recv(
        &mut self,
        id: u64,
        opcode: u16,
        max_len: u32,
        until: Option<Instant>,
        mut busy_poll: Duration,
        in_poll: bool,
    ) -> Result<(FrameHeader, usize)> {
        loop {
            if let Some((h, total)) = self.next_frame(max_len)? {
                if !h.is_response() {
                    self.broken = true;
                    return Err(Error::Protocol("daemon sent a request frame"));
                }
                if h.request_id < id && id != 0 {
                    // The late answer to a call the client gave up on.
                    self.consume(total);
                    continue;
                }
                if h.request_id != id || h.opcode != opcode {
                    self.broken = true;
                    return Err(Error::Protocol("response does not match the request"));
                }
                return Ok((h, total));
            }
            self.fill(max_len, until, busy_poll, in_poll)?;
            // Poll only for the first bytes of the answer; the rest follows at once.
            busy_poll = Duration::ZERO;
        }
    }

    /// The header and length (with the header) of the complete frame at the front of the
    /// read buffer, if there is one.
    fn next_frame(&mut self, max_len: u32) -> Result<Option<(FrameHeader, usize)>> {
        let filled = self.filled;
        let Some(received) = self.rbuf.get(..filled).filter(|r| r.len() >= HEADER_LEN) else {
            return Ok(None);
        };
        let h = match FrameHeader::decode(received, max_len) {
            Ok(h) => h,
            Err(e) => {
                self.broken = true;
                return Err(Error::Protocol(wire_problem(e)));
            }
        };
        // frame_len is bounded by max_len (a u32), so it fits a usize.
        let total = h.frame_len() as usize;
        if filled < total {
            return Ok(None);
        }
        Ok(Some((h, total)))
    }

    /// The body of the `total`-byte frame at the front of the read buffer.
    fn body(&self, total: usize) -> &[u8] {
        self.rbuf.get(HEADER_LEN..total).unwrap_or_default()
    }

    /// Removes the `total`-byte frame at the front of the read buffer. Answers may carry
    /// secrets: what follows the frame is shifted down over it, then the bytes behind the
    /// new end (the frame's, or the old copy of what moved) are wiped.
    fn consume(&mut self, total: usize) {
        let filled = self.filled;
        let total = total.min(filled);
        self.rbuf.copy_within(total..filled, 0);
        let rest = filled - total;
        if let Some(behind) = self.rbuf.get_mut(rest..filled) {
            warden_arena::wipe(behind);
        }
        self.filled = rest;
    }

    /// Reads more bytes into the read buffer, waiting at most until `until`.
    /// `in_poll`: wait in `poll` rather than a blocking read ([`wait_read`]).
    fn fill(
        &mut self,
        max_len: u32,
        until: Option<Instant>,
        busy_poll: Duration,
        in_poll: bool,
    ) -> Result<()> {
        // Read what the current frame still needs (at least a chunk, to batch small frames).
        let start = self.filled;
        let need = match self.rbuf.get(..start) {
            Some(received) if received.len() >= HEADER_LEN => {
                FrameHeader::decode(received, max_len)
                    .map(|h| h.frame_len() as usize)
                    .unwrap_or(0)
                    .saturating_sub(start)
            }
            _ => 0,
        };
        let want = need.max(READ_CHUNK);
        self.set_timeout(until)?;
        grow_wiping(&mut self.rbuf, start, start + want);
        let r = match self.rbuf.get_mut(start..start + want) {
            // Poll first (if asked to), then wait for what the window did not bring.
            Some(dst) => match poll_read(&self.stream, dst, busy_poll, until) {
                Some(r) => r,
                None if in_poll => wait_read(&self.stream, dst, until, start == 0),
                None => self.stream.read(dst),
            },
            None => Ok(0),
        };
        match r {
            Ok(0) => {
                self.broken = true;
                Err(Error::ConnectionLost(None))
            }
            Ok(n) => {
                self.filled = start + n;
                Ok(())
            }
            Err(e) => {
                if e.kind() == io::ErrorKind::Interrupted {
                    return Ok(());
                }
                let err = timeout_or_lost(&e);
                if !matches!(err, Error::TimedOut) {
                    self.broken = true;
                }
                Err(err)
            }
        }
    }
}

/// Makes `buf` at least `len` bytes long (zero-filled), keeping its first `filled` bytes,
/// without leaving them behind: `Vec` growth moves them to a new allocation and frees the
/// old one as it is, so the move is done here and the old allocation wiped first (a partly
/// read answer may carry secrets).
fn grow_wiping(buf: &mut Vec<u8>, filled: usize, len: usize) {
    if len <= buf.len() {
        return;
    }
    let mut bigger = vec![0; len];
    if let (Some(dst), Some(src)) = (bigger.get_mut(..filled), buf.get(..filled)) {
        dst.copy_from_slice(src);
    }
    wipe_all(buf);
    *buf = bigger;
}

/// Writes `head` then `body` without copying them together (a descriptor, if any, rides on
/// the first byte; what the socket did not take at once follows without it).
fn write_frame(
    stream: &UnixStream,
    head: &[u8],
    body: &[u8],
    fd: Option<BorrowedFd<'_>>,
) -> io::Result<()> {
    let total = head.len() + body.len();
    let mut done = match fd {
        Some(fd) => {
            warden_shm::send_with_fd(stream, &[IoSlice::new(head), IoSlice::new(body)], fd)?
        }
        None => 0,
    };
    while done < total {
        let bufs = [
            IoSlice::new(head.get(done..).unwrap_or_default()),
            IoSlice::new(
                body.get(done.saturating_sub(head.len())..)
                    .unwrap_or_default(),
            ),
        ];
        match (&*stream).write_vectored(&bufs) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Wipes all of `buf`'s allocation, not only its length (earlier contents may lie beyond).
fn wipe_all(buf: &mut Vec<u8>) {
    buf.resize(buf.capacity(), 0);
    warden_arena::wipe(buf);
    buf.clear();
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

/// Reads what is there, waiting for it in `poll(POLLIN)` (never past `until`), not in a
/// blocking `read`: a thread blocked in a Unix-stream read is on the socket's one wait queue
/// without an event filter, so it is also woken each time the daemon *consumes* one of our
/// requests (the kernel's write-space wake-up, `unix_write_space`), only to sleep again. On
/// a VM whose idle vCPUs halt, each such wake-up costs the daemon's worker ≈ 20 µs inside
/// its `recvmsg` (perf: `sock_wfree` → `unix_write_space` → `try_to_wake_up`). A poller asks
/// for input only and is not woken by it. `fresh`: nothing of the answer has come yet, so
/// wait before the first read instead of paying a read that would only say so.
///
/// Only pipelined calls wait this way. A single call is better off blocked in `read`: its
/// early, spurious wake-up gets its vCPU going before the answer comes (measured: 64 KiB
/// seal 37 → 56 µs, 32 KiB ping 56 → 70 µs when single calls waited in poll, 1 MiB seal
/// 160 → 154 µs).
fn wait_read(
    stream: &UnixStream,
    dst: &mut [u8],
    until: Option<Instant>,
    fresh: bool,
) -> io::Result<usize> {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let mut first = fresh;
    loop {
        if !first {
            match rustix::net::recv(stream, &mut *dst, rustix::net::RecvFlags::DONTWAIT) {
                Ok((n, _)) => return Ok(n),
                Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => {}
                Err(e) => return Err(io::Error::from(e)),
            }
        }
        first = false;
        let left = match until {
            None => None,
            Some(u) => {
                let left = u.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(io::ErrorKind::TimedOut.into());
                }
                Some(Timespec::try_from(left).map_err(|_| io::ErrorKind::InvalidInput)?)
            }
        };
        let mut fds = [PollFd::new(stream, PollFlags::IN)];
        match poll(&mut fds, left.as_ref()) {
            Ok(0) => return Err(io::ErrorKind::TimedOut.into()),
            // Readable, end of stream or an error: the read says which.
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(io::Error::from(e)),
        }
    }
}

/// Reads without sleeping for up to `busy_poll` (and never past `until`): `Some` with the
/// result once bytes, end of stream or an error arrive, `None` when the time is up and the
/// caller should block. The thread stays on its CPU meanwhile, so an answer that comes
/// within the window costs no wake-up (tens of microseconds on a VM whose idle vCPUs halt).
fn poll_read(
    stream: &UnixStream,
    dst: &mut [u8],
    busy_poll: Duration,
    until: Option<Instant>,
) -> Option<io::Result<usize>> {
    if busy_poll.is_zero() {
        return None;
    }
    let start = Instant::now();
    let stop = until.map_or(start + busy_poll, |u| u.min(start + busy_poll));
    loop {
        match rustix::net::recv(stream, &mut *dst, rustix::net::RecvFlags::DONTWAIT) {
            Ok((n, _)) => return Some(Ok(n)),
            Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => {}
            Err(e) => return Some(Err(io::Error::from(e))),
        }
        if Instant::now() >= stop {
            return None;
        }
        // Yield, not a pause loop: when another thread wants this CPU (the daemon's worker
        // on a busy machine, say), it runs at once instead of waiting out our window.
        // Measured with pause loops and two builds running: 1 MiB seals at 0.97 ms instead
        // of 0.17 ms; with yields, no worse than without polling.
        std::thread::yield_now();
    }
}
