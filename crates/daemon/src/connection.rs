//! One client connection: its socket, its session arena, its resource namespace, and the
//! framing of requests into that arena.
//!
//! Control-plane rule (seed decision 11): the header is read into a fixed buffer and decoded
//! once; the body is read from the socket straight into the connection's arena (its inbox,
//! kept across reads), the only copy. Handlers get borrowed views of that copy; the response
//! is encoded into the connection's reply buffer; the session is zeroed when the request ends.
//!
//! No socket operation ever waits (issue 12): the socket is non-blocking, a frame that
//! arrives in pieces is resumed on the next readiness report, and a reply the client does not
//! read is kept and finished on writability, with no new request read meanwhile. A frame or
//! reply that does not complete within `timeouts.io_ms` of its first byte closes the
//! connection: the worker's stall timer ([`Connection::stall_due`]) sees to it, so a slow
//! or stalled client costs its worker nothing but a timer entry.
//!
//! Every read is a `recvmsg` that also takes `SCM_RIGHTS` descriptors (all of its message's:
//! any left over the kernel would release on this worker, where a lingering socket's release
//! waits as long as its sender likes): a shared-memory region's memfd travels attached to
//! its `RegionRegister` frame and waits in the connection's region table until that request
//! takes it (`regions`); the rest go to the closer. For the same reason a connection's
//! socket is drained of queued descriptors before it closes (`Drop`).

use std::io::{self, IoSliceMut};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use warden_arena::{PooledArena, Session};
use warden_core::ErrorCode;
use warden_wire::{FrameHeader, HEADER_LEN};

use crate::closer::ClientSocket;
use crate::dispatch;
use crate::held::HeldReplies;
use crate::request::{ConnState, Deadline, Flow};
use crate::shared::Shared;
use crate::socket_write::write_frame_now;

/// Frames served per worker turn before the connection goes back to the queue, so one
/// busy client cannot starve others.
const FRAMES_PER_TURN: usize = 8;

/// A connection owned by the event loop or, for one turn, by one worker.
pub(crate) struct Connection {
    // Drop order is declaration order: resources and counters go before the socket closes
    // (`stream` is last), so a client that sees the close also sees them released.
    pub(crate) state: ConnState,
    arena: PooledArena,
    /// The header being received (the previous body read may have taken its start).
    head: [u8; HEADER_LEN],
    head_have: usize,
    /// A decoded header whose body is being received into the arena inbox, with the instant
    /// the header completed (the request deadline counts from there).
    body_of: Option<(FrameHeader, Instant)>,
    body_have: usize,
    /// A reply not yet fully written; no request is read until it is.
    unsent: Option<Unsent>,
    /// Small replies kept back while the client pipelines (`held`); written before the
    /// turn ends, and always ahead of any later reply.
    held: HeldReplies,
    /// A complete request (body in the arena inbox) waiting for the long lane.
    pending: Option<(FrameHeader, Deadline)>,
    /// When the version handshake must be complete (set by the worker that owns it).
    pub(crate) handshake_due: Instant,
    /// When the frame or reply in progress must be complete; `None` when nothing is.
    stall_due: Option<Instant>,
    /// Worker bookkeeping: the due instant last put on the worker's stall timer queue.
    pub(crate) stall_armed: Option<Instant>,
    /// Worker bookkeeping: the socket is registered for write readiness too.
    pub(crate) write_interest: bool,
    /// The poller reported the peer's end of stream (or an error): serve until a read sees it.
    pub(crate) peer_closed: bool,
    /// Declared last (see above). Dropping it drains descriptors still queued on it to the
    /// closer: the kernel would release them in the thread that closes it (a worker), where
    /// a file's last release may wait as long as its owner likes.
    pub(crate) stream: ClientSocket,
}

/// How [`Connection::answer`] produces the reply.
enum Answer<'a> {
    /// Run the request, then call the hook before the reply is written.
    Dispatch(&'a dyn Fn()),
    /// Do not run it: reply with this code.
    Refuse(ErrorCode),
}

/// The part of a reply still to be written: the held replies, then (unless only held
/// replies were being written) the current reply's header and its body in `state.out`.
struct Unsent {
    head: Option<[u8; HEADER_LEN]>,
    /// Bytes of held replies, header, then body already written.
    done: usize,
    /// Close once it is written (a refused handshake).
    then_close: bool,
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
    let crate::request::Outcome { status, flow } =
        dispatch::dispatch(state, shared, header, body, deadline, session);
    state.counted.stats().request_served(status);
    let body_len = u32::try_from(state.out.body().len()).unwrap_or(0);
    let reply = header.response(status.map_or(0, ErrorCode::as_u32), body_len);
    (reply.to_bytes(), flow)
}

/// An error frame for a header that could not be decoded: echoes what can be read of the
/// request id and opcode so the client can match it, then the connection closes.
pub(crate) fn undecodable_reply(raw: &[u8; HEADER_LEN], code: ErrorCode) -> [u8; HEADER_LEN] {
    FrameHeader::refusal_of(raw, code.as_u32()).to_bytes()
}

impl Connection {
    pub(crate) fn new(stream: UnixStream, arena: PooledArena, state: ConnState) -> Self {
        Self {
            stream: state.regions.client_socket(stream),
            arena,
            state,
            head: [0; HEADER_LEN],
            head_have: 0,
            body_of: None,
            body_have: 0,
            unsent: None,
            held: HeldReplies::new(),
            pending: None,
            handshake_due: Instant::now(),
            stall_due: None,
            stall_armed: None,
            write_interest: false,
            peer_closed: false,
        }
    }

    /// When the frame or reply in progress must be complete, if one is in progress.
    pub(crate) fn stall_due(&self) -> Option<Instant> {
        self.stall_due
    }

    /// A reply is waiting for the socket to become writable.
    pub(crate) fn wants_write(&self) -> bool {
        self.unsent.is_some()
    }

    /// One worker turn: serve frames until the socket has no complete input pending (or
    /// the client does not take its replies). Never waits on the socket.
    pub(crate) fn serve(&mut self, shared: &Shared) -> Flow {
        let mut flow = Flow::Continue;
        for _ in 0..FRAMES_PER_TURN {
            flow = self.serve_frame(shared);
            if flow != Flow::Continue {
                break;
            }
        }
        // Replies held back for a pipelining client go out before the turn ends (while a
        // write is unfinished they are part of it). Before a close too, as far as the socket
        // takes them at once: a client that sent a truncated frame after complete ones still
        // gets the answers to those, as it did before replies were held.
        if self.held.is_empty() || self.unsent.is_some() {
            return flow;
        }
        if flow == Flow::Close {
            let _ = write_frame_now(&mut self.stream, self.held.bytes(), &[], &[], 0);
            self.held.clear();
            return flow;
        }
        match self.write_held(shared) {
            Ok(true) => flow,
            Ok(false) => Flow::Idle,
            Err(_) => Flow::Close,
        }
    }

    /// Writes the held replies. `Ok(false)`: the socket did not take them all; the rest
    /// waits for writability like any unsent reply.
    fn write_held(&mut self, shared: &Shared) -> io::Result<bool> {
        let held = self.held.bytes();
        let done = write_frame_now(&mut self.stream, held, &[], &[], 0)?;
        if done < held.len() {
            self.unsent = Some(Unsent {
                head: None,
                done,
                then_close: false,
            });
            self.stall_due = None;
            self.in_progress(shared);
            return Ok(false);
        }
        self.held.clear();
        Ok(true)
    }

    /// Starts the stall clock if it is not running (something is now in progress).
    fn in_progress(&mut self, shared: &Shared) {
        if self.stall_due.is_none() {
            let budget = Duration::from_millis(u64::from(shared.config.timeouts.io_ms));
            self.stall_due = Some(Instant::now() + budget);
        }
    }

    fn serve_frame(&mut self, shared: &Shared) -> Flow {
        if self.unsent.is_some() {
            match self.flush() {
                Ok(Some(flow)) => return flow,
                Ok(None) => {}
                Err(_) => return Flow::Close,
            }
        }
        if self.pending.is_some() {
            // A long request waited for held replies to be written ahead of its own.
            return Flow::Handoff;
        }
        let (header, received) = match self.body_of {
            Some(frame) => frame,
            None => match self.receive_header(shared) {
                Ok(Some(frame)) => frame,
                Ok(None) => return Flow::Idle,
                Err(flow) => return flow,
            },
        };
        let drained = match self.receive_body(header.body_len as usize) {
            Ok(Some(drained)) => drained,
            Ok(None) => {
                self.in_progress(shared);
                return Flow::Idle;
            }
            Err(_) => return Flow::Close,
        };
        self.body_of = None;
        self.stall_due = None;
        let deadline = Deadline::from_header(received, header.deadline_ms);
        if shared.config.limits.long_lane_threads > 0 {
            // The request is in the inbox (no session yet, so nothing is zeroed by looking).
            let len = header.body_len as usize;
            let long = match self.arena.inbox(len) {
                Ok(body) => crate::long_ops::is_long(&self.state, &header, body),
                Err(_) => false,
            };
            if long {
                self.pending = Some((header, deadline));
                if self.held.is_empty() {
                    return Flow::Handoff;
                }
                // What is held goes out now, not after the lane's queue (the lane's write
                // would carry it ahead of its own reply too).
                return match self.write_held(shared) {
                    Ok(true) => Flow::Handoff,
                    Ok(false) => Flow::Idle,
                    Err(_) => Flow::Close,
                };
            }
        }
        self.answer(
            shared,
            &header,
            deadline,
            drained,
            Answer::Dispatch(&|| {}),
            true,
        )
    }

    /// Serves the request parked by [`Flow::Handoff`] (on a long-lane thread): dispatches it,
    /// calls `before_reply`, then writes the reply as a worker would.
    pub(crate) fn answer_pending(&mut self, shared: &Shared, before_reply: &dyn Fn()) -> Flow {
        let Some((header, deadline)) = self.pending.take() else {
            before_reply();
            return Flow::Close;
        };
        self.answer(
            shared,
            &header,
            deadline,
            false,
            Answer::Dispatch(before_reply),
            false,
        )
    }

    /// Answers the request parked by [`Flow::Handoff`] with `code` without running it (its
    /// uid is at its long-operation limit).
    pub(crate) fn refuse_pending(&mut self, shared: &Shared, code: ErrorCode) -> Flow {
        let Some((header, deadline)) = self.pending.take() else {
            return Flow::Close;
        };
        self.answer(
            shared,
            &header,
            deadline,
            false,
            Answer::Refuse(code),
            false,
        )
    }

    /// Replies to the request whose body is in the inbox, then zeroes the request.
    /// `drained`: the read that completed the request found the socket empty. `may_hold`:
    /// a small reply may be held back while the next request is already queued (`held`;
    /// worker turns only, the long lane writes at once).
    fn answer(
        &mut self,
        shared: &Shared,
        header: &FrameHeader,
        deadline: Deadline,
        drained: bool,
        how: Answer<'_>,
        may_hold: bool,
    ) -> Flow {
        if self.head_have > 0 {
            self.in_progress(shared); // the next frame has started
        }
        let session = self.arena.session();
        let body = session.inbox();
        let (reply, flow) = match how {
            Answer::Dispatch(before_reply) => {
                let r = process(&mut self.state, shared, header, body, deadline, &session);
                before_reply();
                r
            }
            Answer::Refuse(code) => {
                self.state.counted.stats().request_served(Some(code));
                self.state.out.clear();
                let reply = header.response(code.as_u32(), 0).to_bytes();
                (reply, Flow::Continue)
            }
        };
        if may_hold
            && flow == Flow::Continue
            && self.head_have == HEADER_LEN
            && self
                .held
                .try_hold(&reply, self.state.out.body(), Instant::now())
        {
            // The next request is queued: answer it first and write both together.
            self.state.out.scrub();
            drop(session);
            return Flow::Continue;
        }
        let held = self.held.bytes();
        let body = self.state.out.body();
        let total = held.len() + HEADER_LEN + body.len();
        let sent = match write_frame_now(&mut self.stream, held, &reply, body, 0) {
            Ok(n) => n,
            Err(_) => return Flow::Close,
        };
        if sent < total {
            // The client is not reading: keep the reply (it lives in `state.out`, not in the
            // session) and finish it on writability. Scrubbing waits until it is sent.
            drop(session);
            self.unsent = Some(Unsent {
                head: Some(reply),
                done: sent,
                then_close: flow == Flow::Close,
            });
            self.stall_due = None;
            self.in_progress(shared);
            return Flow::Idle;
        }
        self.held.clear();
        self.state.out.scrub();
        drop(session); // zeroes the request copy and every scratch buffer
        match flow {
            // The socket was empty after this frame: wait for readiness instead of paying a
            // read that would only say so (edge-triggered polling reports any later data).
            Flow::Continue if drained && self.head_have == 0 => Flow::Idle,
            flow => flow,
        }
    }

    /// Reads what is available of the header. `Ok(None)`: incomplete, wait for readiness.
    /// `Err(flow)`: the connection ends (EOF, socket error, undecodable header).
    fn receive_header(&mut self, shared: &Shared) -> Result<Option<(FrameHeader, Instant)>, Flow> {
        while self.head_have < HEADER_LEN {
            let rest = self.head.get_mut(self.head_have..).unwrap_or_default();
            let regions = &mut self.state.regions;
            // The uid's descriptors are stuck closing: this read could bring more.
            if regions.must_close() {
                return Err(Flow::Close);
            }
            // recvmsg, not read: a memfd for RegionRegister arrives with its frame's first
            // byte, and a plain read would make the kernel release it here.
            let r = warden_shm::recv_with_fds(&self.stream, &mut [IoSliceMut::new(rest)], |fd| {
                regions.descriptor_arrived(fd)
            });
            if regions.must_close() {
                return Err(Flow::Close);
            }
            match r {
                Ok(0) => return Err(Flow::Close),
                Ok(n) => {
                    self.head_have += n;
                    self.in_progress(shared);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err(Flow::Close),
            }
        }
        let received = Instant::now();
        self.head_have = 0;
        match FrameHeader::decode(&self.head, shared.config.limits.max_frame_size) {
            Ok(header) => {
                self.body_of = Some((header, received));
                self.body_have = 0;
                Ok(Some((header, received)))
            }
            Err(e) => {
                // The stream cannot be resynchronised after a bad header: answer (if the
                // socket takes it now) and close.
                self.state
                    .counted
                    .stats()
                    .request_served(Some(e.error_code()));
                let reply = undecodable_reply(&self.head, e.error_code());
                let _ = write_frame_now(&mut self.stream, self.held.bytes(), &reply, &[], 0);
                // Written (or not) with the refusal: not again after it when the turn ends.
                self.held.clear();
                Err(Flow::Close)
            }
        }
    }

    /// Reads what is available of a `len`-byte body into the arena inbox and, in the same
    /// `readv`, up to a header's worth of the next frame. `Ok(None)`: incomplete. `Ok(Some(
    /// drained))`: complete, and whether the socket was drained (a stream read returns less
    /// than asked only when nothing more is queued; an empty body never proves it).
    fn receive_body(&mut self, len: usize) -> io::Result<Option<bool>> {
        if len == 0 {
            return Ok(Some(false));
        }
        // Config validation guarantees room for a max-size frame in every arena.
        let inbox = self
            .arena
            .inbox(len)
            .map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
        loop {
            let rest = inbox.get_mut(self.body_have..).unwrap_or_default();
            let rest_len = rest.len();
            let mut bufs = [IoSliceMut::new(rest), IoSliceMut::new(&mut self.head[..])];
            // The next frame's first bytes (and the memfd attached to them) may come too.
            let regions = &mut self.state.regions;
            if regions.must_close() {
                return Err(io::ErrorKind::PermissionDenied.into());
            }
            let r = warden_shm::recv_with_fds(&self.stream, &mut bufs, |fd| {
                regions.descriptor_arrived(fd)
            });
            if regions.must_close() {
                return Err(io::ErrorKind::PermissionDenied.into());
            }
            match r {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) if n >= rest_len => {
                    self.body_have = len;
                    self.head_have = n - rest_len;
                    return Ok(Some(self.head_have < HEADER_LEN));
                }
                Ok(n) => self.body_have += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes what the socket takes of the unsent reply. `Ok(None)`: all written, carry on
    /// reading. `Ok(Some(flow))`: stop this turn with `flow` (still blocked, or close now).
    fn flush(&mut self) -> io::Result<Option<Flow>> {
        let Some(unsent) = &mut self.unsent else {
            return Ok(None);
        };
        let held = self.held.bytes();
        let (head, body): (&[u8], &[u8]) = match &unsent.head {
            Some(head) => (head, self.state.out.body()),
            None => (&[], &[]),
        };
        unsent.done = write_frame_now(&mut self.stream, held, head, body, unsent.done)?;
        if unsent.done < held.len() + head.len() + body.len() {
            return Ok(Some(Flow::Idle));
        }
        let then_close = unsent.then_close;
        self.unsent = None;
        self.stall_due = None;
        self.held.clear();
        // No session here: opening and dropping one would zero the arena's inbox, which may
        // hold a request already read behind the held replies (a long-lane request waiting
        // for them, or the first part of the next body).
        self.state.out.scrub();
        Ok(then_close.then_some(Flow::Close))
    }
}
