//! One client connection: its socket, its session arena, its resource namespace, and the
//! framing of requests into that arena.
//!
//! Control-plane rule (seed decision 11): the header is read into a fixed stack buffer and
//! decoded once; the body is read from the socket straight into memory of the connection's
//! session arena, the only copy. Handlers get borrowed views of that copy; the response is
//! encoded into the same session; the session is zeroed when the request ends.

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use warden_arena::{PooledArena, Session};
use warden_core::ErrorCode;
use warden_wire::{FrameHeader, HEADER_LEN, PROTOCOL_VERSION, Version};

use crate::auth::PeerIdentity;
use crate::codec::Out;
use crate::dispatch::{self, Deadline};
use crate::provider::Resources;
use crate::server::Shared;

/// Frames served per worker turn before the connection goes back to the queue, so one
/// busy client cannot starve others.
const FRAMES_PER_TURN: usize = 8;

/// What the event loop should do with a connection after a worker turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// No more input right now: wait for readiness.
    Idle,
    /// Input may be pending: queue another turn.
    Continue,
    /// Close the connection (EOF, error, protocol violation, handshake refusal).
    Close,
}

/// Per-connection protocol state: what handlers see.
pub(crate) struct ConnState {
    /// Who is connected (from the kernel, at accept time): slot ownership, ACLs, audit.
    pub(crate) peer: PeerIdentity,
    /// Version agreed in the handshake; `None` until then.
    pub(crate) version: Option<Version>,
    /// Keys and contexts of this connection.
    pub(crate) resources: Resources,
    /// Reply encoder (sized once for the largest frame).
    pub(crate) out: Out,
    /// Slot keys resolved or created on this connection (name ↔ id).
    pub(crate) slots: crate::handlers::slots::SlotBindings,
    /// This connection in its uid's counters (and the daemon's) while it lives.
    pub(crate) counted: crate::stats::ConnectionCount,
}

/// A connection owned by the event loop or, for one turn, by one worker.
pub(crate) struct Connection {
    pub(crate) stream: UnixStream,
    arena: PooledArena,
    pub(crate) state: ConnState,
    /// Start of the next frame's header, read together with the previous body.
    carry: [u8; HEADER_LEN],
    carry_len: usize,
    /// When the version handshake must be complete (set by the worker that owns it).
    pub(crate) handshake_due: Instant,
    /// The poller reported the peer's end of stream (or an error): serve until a read sees it.
    pub(crate) peer_closed: bool,
}

/// Serves one complete request frame that is already in arena memory: dispatches it,
/// leaves the reply body in `state.out`, and returns the reply header and what happens to
/// the connection afterwards.
pub(crate) fn process(
    state: &mut ConnState,
    shared: &Shared,
    header: &FrameHeader,
    body: &[u8],
    deadline: Deadline,
    session: &Session<'_>,
) -> ([u8; HEADER_LEN], Flow) {
    let dispatch::Outcome { status, flow } =
        dispatch::dispatch(state, shared, header, body, deadline, session);
    state.counted.stats().request_served(status);
    let body_len = u32::try_from(state.out.body().len()).unwrap_or(0);
    let reply = header.response(status.map_or(0, ErrorCode::as_u32), body_len);
    (reply.to_bytes(), flow)
}

/// An error frame for a header that could not be decoded: echoes what can be read of the
/// request id and opcode so the client can match it, then the connection closes.
pub(crate) fn undecodable_reply(raw: &[u8; HEADER_LEN], code: ErrorCode) -> [u8; HEADER_LEN] {
    let mut req = FrameHeader::request(PROTOCOL_VERSION, 0, 0);
    if let (Some(id), Some(op)) = (raw.get(8..16), raw.get(16..18)) {
        req.request_id = id.try_into().map(u64::from_le_bytes).unwrap_or(0);
        req.opcode = op.try_into().map(u16::from_le_bytes).unwrap_or(0);
    }
    req.response(code.as_u32(), 0).to_bytes()
}

impl Connection {
    pub(crate) fn new(stream: UnixStream, arena: PooledArena, state: ConnState) -> Self {
        Self {
            stream,
            arena,
            state,
            carry: [0; HEADER_LEN],
            carry_len: 0,
            handshake_due: Instant::now(),
            peer_closed: false,
        }
    }

    /// One worker turn: serve frames until the socket has no complete input pending.
    pub(crate) fn serve(&mut self, shared: &Shared) -> Flow {
        for _ in 0..FRAMES_PER_TURN {
            match self.serve_frame(shared) {
                Flow::Continue => {}
                other => return other,
            }
        }
        Flow::Continue
    }

    fn serve_frame(&mut self, shared: &Shared) -> Flow {
        let io_timeout = Duration::from_millis(u64::from(shared.config.timeouts.io_ms));
        let mut head = [0u8; HEADER_LEN];
        let carried = std::mem::take(&mut self.carry_len);
        if carried > 0 {
            // The previous body read already took (part of) this header.
            let (have, rest) = head.split_at_mut(carried.min(HEADER_LEN));
            have.copy_from_slice(self.carry.get(..have.len()).unwrap_or_default());
            if read_exact_timeout(&mut self.stream, rest, io_timeout).is_err() {
                return Flow::Close;
            }
        } else {
            match read_frame_start(&mut self.stream, &mut head, io_timeout) {
                Ok(true) => {}
                Ok(false) => return Flow::Idle,
                Err(_) => return Flow::Close,
            }
        }
        let received = Instant::now();
        let header = match FrameHeader::decode(&head, shared.config.limits.max_frame_size) {
            Ok(h) => h,
            Err(e) => {
                // The stream cannot be resynchronised after a bad header: answer and close.
                self.state
                    .counted
                    .stats()
                    .request_served(Some(e.error_code()));
                let reply = undecodable_reply(&head, e.error_code());
                let _ = write_all_timeout(&mut self.stream, &reply, io_timeout);
                return Flow::Close;
            }
        };
        let deadline = Deadline::from_header(received, header.deadline_ms);
        let session = self.arena.session();
        // The one copy: socket -> session arena.
        let Ok(body) = session.try_alloc_zeroed_slice(header.body_len as usize) else {
            return Flow::Close; // cannot happen: config guarantees room for a max frame
        };
        let drained = match read_body(&mut self.stream, body, &mut self.carry, io_timeout) {
            Ok((carry_len, drained)) => {
                self.carry_len = carry_len;
                drained
            }
            Err(_) => return Flow::Close,
        };
        let body: &[u8] = body;
        let (reply, flow) = process(&mut self.state, shared, &header, body, deadline, &session);
        let sent = write_frame(&mut self.stream, &reply, self.state.out.body(), io_timeout);
        self.state.out.scrub(&session);
        drop(session); // zeroes the request copy and every scratch buffer
        match (sent, flow) {
            (Err(_), _) => Flow::Close,
            // The socket was empty after this frame: wait for readiness instead of paying a
            // read that would only say so (edge-triggered polling reports any later data).
            (Ok(()), Flow::Continue) if drained && self.carry_len == 0 => Flow::Idle,
            (Ok(()), flow) => flow,
        }
    }
}

/// Reads the first header byte without blocking; if a frame has started, finishes the
/// header within `timeout`. `Ok(false)` = nothing pending. EOF is an error (`UnexpectedEof`).
fn read_frame_start(
    stream: &mut UnixStream,
    head: &mut [u8; HEADER_LEN],
    timeout: Duration,
) -> io::Result<bool> {
    let n = loop {
        match stream.read(head) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => break n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    };
    if n < HEADER_LEN {
        read_exact_timeout(stream, head.get_mut(n..).unwrap_or_default(), timeout)?;
    }
    Ok(true)
}

/// Fills `body` (arena memory) and, in the same `readv`, takes up to a header's worth of the
/// next frame into `carry`. Returns how many carry bytes were read and whether the socket
/// was drained: a stream read returns less than asked only when nothing more is queued.
/// An empty body is never "drained" (no read was made to prove it).
fn read_body(
    stream: &mut UnixStream,
    body: &mut [u8],
    carry: &mut [u8; HEADER_LEN],
    timeout: Duration,
) -> io::Result<(usize, bool)> {
    if body.is_empty() {
        return Ok((0, false));
    }
    let until = Instant::now() + timeout;
    let mut done = 0;
    loop {
        let rest = body.get_mut(done..).unwrap_or_default();
        let rest_len = rest.len();
        let mut bufs = [IoSliceMut::new(rest), IoSliceMut::new(&mut carry[..])];
        match stream.read_vectored(&mut bufs) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) if n >= rest_len => {
                let extra = n - rest_len;
                return Ok((extra, extra < HEADER_LEN));
            }
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                wait(stream, PollFlags::IN, until)?;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Waits until `stream` is readable or writable, at most until `until`.
fn wait(stream: &UnixStream, flags: PollFlags, until: Instant) -> io::Result<()> {
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        let ts = Timespec::try_from(left).map_err(|_| io::ErrorKind::InvalidInput)?;
        let mut fds = [PollFd::new(stream, flags)];
        match poll(&mut fds, Some(&ts)) {
            Ok(0) => return Err(io::ErrorKind::TimedOut.into()),
            Ok(_) => return Ok(()),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Fills `buf` from the non-blocking `stream`, waiting (not spinning) for at most `timeout`.
fn read_exact_timeout(
    stream: &mut UnixStream,
    buf: &mut [u8],
    timeout: Duration,
) -> io::Result<()> {
    let until = Instant::now() + timeout;
    let mut done = 0;
    while done < buf.len() {
        match stream.read(buf.get_mut(done..).unwrap_or_default()) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                wait(stream, PollFlags::IN, until)?;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes all of `buf` to the non-blocking `stream` within `timeout`.
pub(crate) fn write_all_timeout(
    stream: &mut UnixStream,
    buf: &[u8],
    timeout: Duration,
) -> io::Result<()> {
    let until = Instant::now() + timeout;
    let mut done = 0;
    while done < buf.len() {
        match stream.write(buf.get(done..).unwrap_or_default()) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                wait(stream, PollFlags::OUT, until)?;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes header and body with as few syscalls as the socket allows (one `writev` normally),
/// without first copying them together.
fn write_frame(
    stream: &mut UnixStream,
    head: &[u8; HEADER_LEN],
    body: &[u8],
    timeout: Duration,
) -> io::Result<()> {
    let until = Instant::now() + timeout;
    let total = HEADER_LEN + body.len();
    let mut done = 0;
    while done < total {
        let r = if done < HEADER_LEN {
            let bufs = [
                IoSlice::new(head.get(done..).unwrap_or_default()),
                IoSlice::new(body),
            ];
            stream.write_vectored(&bufs)
        } else {
            stream.write(body.get(done - HEADER_LEN..).unwrap_or_default())
        };
        match r {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => wait(stream, PollFlags::OUT, until)?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
