//! The accept loop and the worker pool.
//!
//! One thread accepts (peer credentials, admission, arena checkout) and hands each new
//! connection to the least-loaded of a fixed set of workers. Each worker runs its own
//! `mio` poller over the connections it owns and serves a request start to finish on its
//! thread: read into the arena, dispatch, reply. No hand-over per request, no thread per
//! request or per connection, no locks around connection state (one owner), one request in
//! flight per connection, and no sleep-polling anywhere.
//!
//! The one exception is long work (RSA and SLH-DSA, large PBKDF2): its connection is handed
//! whole to the long lane (`lane`) and comes back through the worker's return channel, so
//! the worker goes on serving its other connections (issue 12).

use std::collections::{HashMap, VecDeque};
use std::io;
use std::io::Write as _;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};
use warden_core::ErrorCode;
use warden_wire::{FrameHeader, Opcode, PROTOCOL_VERSION};

use crate::DaemonError;
use crate::auth::peer_identity;
use crate::connection::Connection;
use crate::lane::{Home, Job, Lane, Returned};
use crate::listener::BoundSocket;
use crate::request::{ConnState, Flow};
use crate::shared::Shared;
use crate::socket_write::write_all_timeout;

const LISTENER: Token = Token(usize::MAX - 1);
const WAKE: Token = Token(usize::MAX - 2);

/// Handle to stop the daemon from any thread.
#[derive(Clone)]
pub(crate) struct StopHandle {
    shared: Arc<Shared>,
    waker: Arc<Waker>,
}

impl StopHandle {
    pub(crate) fn stop(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = self.waker.wake();
    }
}

/// The acceptor's view of one worker.
struct WorkerHandle {
    inbox: SyncSender<Connection>,
    waker: Arc<Waker>,
    load: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

/// The accept loop before it runs (so `start` can report set-up errors synchronously).
pub(crate) struct EventLoop {
    poll: Poll,
    socket: BoundSocket,
    shared: Arc<Shared>,
    waker: Arc<Waker>,
    workers: Vec<WorkerHandle>,
    lane: Arc<Lane>,
    lane_threads: Vec<JoinHandle<()>>,
}

impl EventLoop {
    pub(crate) fn new(shared: Arc<Shared>, socket: BoundSocket) -> Result<Self, DaemonError> {
        let poll = Poll::new().map_err(|e| DaemonError::Setup("poller", e))?;
        let waker = Arc::new(
            Waker::new(poll.registry(), WAKE).map_err(|e| DaemonError::Setup("waker", e))?,
        );
        let lfd = socket.listener.as_raw_fd();
        poll.registry()
            .register(&mut SourceFd(&lfd), LISTENER, Interest::READABLE)
            .map_err(|e| DaemonError::Setup("listener registration", e))?;
        let max = shared.config.limits.connection_slots();
        let lane = Arc::new(Lane::new(shared.config.limits.max_long_ops_per_uid));
        let lane_threads =
            crate::lane::spawn(&lane, &shared, shared.config.limits.long_lane_threads)?;
        let mut workers = Vec::new();
        for i in 0..shared.config.effective_workers() {
            let wpoll = Poll::new().map_err(|e| DaemonError::Setup("worker poller", e))?;
            let wwaker = Arc::new(
                Waker::new(wpoll.registry(), WAKE)
                    .map_err(|e| DaemonError::Setup("worker waker", e))?,
            );
            // Capacity = connection limit: a hand-over never blocks the acceptor.
            let (tx, rx) = sync_channel::<Connection>(max);
            let load = Arc::new(AtomicUsize::new(0));
            let (home_tx, returns) = channel::<Returned>();
            let mut worker = Worker {
                poll: wpoll,
                inbox: rx,
                lane: lane.clone(),
                home_tx,
                returns,
                waker: wwaker.clone(),
                away: HashMap::new(),
                shared: shared.clone(),
                load: load.clone(),
                conns: Vec::new(),
                free: Vec::new(),
                ready: VecDeque::new(),
                handshakes: VecDeque::new(),
                stalls: VecDeque::new(),
                busy_poll: Duration::from_micros(u64::from(shared.config.limits.busy_poll_us)),
            };
            let thread = std::thread::Builder::new()
                .name(format!("wardend-worker-{i}"))
                .spawn(move || worker.run())
                .map_err(|e| DaemonError::Setup("worker thread", e))?;
            workers.push(WorkerHandle {
                inbox: tx,
                waker: wwaker,
                load,
                thread: Some(thread),
            });
        }
        Ok(Self {
            poll,
            socket,
            shared,
            waker,
            workers,
            lane,
            lane_threads,
        })
    }

    pub(crate) fn stop_handle(&self) -> StopHandle {
        StopHandle {
            shared: self.shared.clone(),
            waker: self.waker.clone(),
        }
    }

    /// Accepts until stopped, then stops the workers and removes the socket.
    pub(crate) fn run(mut self) {
        let mut events = Events::with_capacity(64);
        while !self.shared.stop.load(Ordering::SeqCst) {
            if let Err(e) = self.poll.poll(&mut events, None) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                let _ = writeln!(
                    std::io::stderr(),
                    "wardend: poll failed, shutting down: {e}"
                );
                break;
            }
            if events.iter().any(|ev| ev.token() == LISTENER) {
                self.accept_all();
            }
        }
        self.shutdown();
    }

    fn accept_all(&mut self) {
        loop {
            match self.socket.listener.accept() {
                Ok((stream, _)) => self.admit(stream),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // E.g. EMFILE: leave the backlog for the next readiness report.
                    let _ = writeln!(std::io::stderr(), "wardend: accept failed: {e}");
                    return;
                }
            }
        }
    }

    fn admit(&mut self, stream: UnixStream) {
        if stream.set_nonblocking(true).is_err() {
            return;
        }
        let Ok(peer) = peer_identity(&stream) else {
            // A uid nobody has: the closer still bounds what the descriptors pin.
            return self.shared.regions.release_refused(u32::MAX, stream);
        };
        if !self.shared.auth.admits(&peer) {
            return self.refuse(stream, peer.uid, ErrorCode::AccessDenied);
        }
        // Per-uid share of the slots (only the acceptor creates connections, so the count
        // cannot race past the limit). Admins and the daemon's own uid are exempt.
        let limits = &self.shared.config.limits;
        let privileged = self.shared.config.access.admin_uids.contains(&peer.uid)
            || peer.uid == rustix::process::geteuid().as_raw();
        if !privileged
            && self.shared.per_uid.open_connections(peer.uid)
                >= limits.max_connections_per_uid as u64
        {
            return self.refuse(stream, peer.uid, ErrorCode::QuotaExceeded);
        }
        // A uid whose sent descriptors are stuck closing (a stalling filesystem's files)
        // brings no more until they are closed (`closer`). Admins too: it bounds memory.
        if self.shared.regions.descriptors_stuck(peer.uid) {
            return self.refuse(stream, peer.uid, ErrorCode::QuotaExceeded);
        }
        // The last `reserved_admin_connections` slots are for admins only.
        if !privileged && self.shared.stats.connections_open() >= limits.max_connections as u64 {
            return self.refuse(stream, peer.uid, ErrorCode::ProviderBusy);
        }
        // One arena per connection slot: an exhausted pool is the connection limit.
        let Ok(arena) = self.shared.pool.checkout() else {
            return self.refuse(stream, peer.uid, ErrorCode::ProviderBusy);
        };
        let state = ConnState::new(&self.shared, peer);
        let conn = Connection::new(stream, arena, state);
        // The least-loaded worker owns the connection for its whole life.
        let Some(w) = self
            .workers
            .iter()
            .min_by_key(|w| w.load.load(Ordering::Relaxed))
        else {
            return;
        };
        w.load.fetch_add(1, Ordering::Relaxed);
        // On failure the connection is dropped here, which uncounts it.
        if w.inbox.try_send(conn).is_ok() {
            let _ = w.waker.wake();
        } else {
            w.load.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Best-effort typed refusal: a Hello-response frame with `code`, then close.
    fn refuse(&self, mut stream: UnixStream, uid: u32, code: ErrorCode) {
        self.shared.stats.connection_refused();
        let req = FrameHeader::request(PROTOCOL_VERSION, 0, Opcode::Hello.as_u16());
        let frame = req.response(code.as_u32(), 0).to_bytes();
        let _ = write_all_timeout(&mut stream, &frame, Duration::from_millis(10));
        self.shared.regions.release_refused(uid, stream);
    }

    fn shutdown(mut self) {
        let lfd = self.socket.listener.as_raw_fd();
        let _ = self.poll.registry().deregister(&mut SourceFd(&lfd));
        self.socket.remove();
        self.lane.stop();
        for t in self.lane_threads.drain(..) {
            let _ = t.join();
        }
        for w in &self.workers {
            let _ = w.waker.wake();
        }
        for w in &mut self.workers {
            if let Some(t) = w.thread.take() {
                let _ = t.join();
            }
        }
    }
}

/// One worker: its own poller and the connections it owns. A request is read, served and
/// answered on this thread without any hand-over.
struct Worker {
    poll: Poll,
    inbox: Receiver<Connection>,
    shared: Arc<Shared>,
    /// Where long requests go; connections come back on `returns` (sent to `home_tx`,
    /// announced on `waker`).
    lane: Arc<Lane>,
    home_tx: Sender<Returned>,
    returns: Receiver<Returned>,
    waker: Arc<Waker>,
    /// Slots whose connection is on the lane, and whether the peer's end of stream was
    /// reported meanwhile (edge-triggered: the report is not repeated).
    away: HashMap<usize, bool>,
    load: Arc<AtomicUsize>,
    conns: Vec<Option<Connection>>,
    free: Vec<usize>,
    /// Connections with input possibly pending (new, or cut off by the per-turn limit).
    ready: VecDeque<usize>,
    /// New connections in arrival order with the instant their handshake is due. Every
    /// connection gets the same budget, so the front is always the earliest deadline.
    handshakes: VecDeque<(usize, Instant)>,
    /// Connections with a frame or reply in progress, with the instant it must complete
    /// (`timeouts.io_ms` after it started: one budget for all, so again sorted).
    stalls: VecDeque<(usize, Instant)>,
    /// `limits.busy_poll_us`: how long to poll without sleeping after serving requests.
    busy_poll: Duration,
}

/// A round of serving short enough that its client may still be polling for the answer
/// (the client library's largest `busy_poll` window).
const SHORT_ROUND: Duration = Duration::from_millis(1);

impl Worker {
    fn run(&mut self) {
        let mut events = Events::with_capacity(256);
        let mut served = false;
        loop {
            // Connections still owed a turn: collect new readiness without blocking. Otherwise
            // sleep until readiness or the earliest handshake deadline.
            let timeout = if self.ready.is_empty() {
                let handshake = self.handshakes.front().map(|&(_, due)| due);
                let stall = self.stalls.front().map(|&(_, due)| due);
                let next = match (handshake, stall) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                next.map(|due| due.saturating_duration_since(Instant::now()))
            } else {
                Some(Duration::ZERO)
            };
            if let Err(e) = self.wait(&mut events, timeout, served)
                && e.kind() != io::ErrorKind::Interrupted
            {
                let _ = writeln!(std::io::stderr(), "wardend: worker poll failed: {e}");
                break;
            }
            if self.shared.stop.load(Ordering::SeqCst) {
                break;
            }
            for ev in events.iter() {
                match ev.token() {
                    WAKE => {
                        self.take_new();
                        self.take_returned();
                    }
                    Token(i) => {
                        if let Some(closed) = self.away.get_mut(&i) {
                            *closed |= ev.is_read_closed() || ev.is_error();
                            continue;
                        }
                        // Edge-triggered: the peer's shutdown is reported once, possibly in the
                        // same event as its last request. Remember it, or a turn that drains
                        // that request (a short read, no EOF seen) would park the connection
                        // waiting for an edge that never comes.
                        if (ev.is_read_closed() || ev.is_error())
                            && let Some(Some(c)) = self.conns.get_mut(i)
                        {
                            c.peer_closed = true;
                        }
                        self.ready.push_back(i);
                    }
                }
            }
            // Serve this round's connections once each; a connection that used its whole
            // turn goes to the back for the next round.
            let round = Instant::now();
            let any = !self.ready.is_empty();
            for _ in 0..self.ready.len() {
                let Some(i) = self.ready.pop_front() else {
                    break;
                };
                self.serve(i);
            }
            // Poll on only after a quick round: a client whose answer took longer than its
            // own polling window (at most 1 ms) is asleep by now, and the kernel tends to
            // wake it on this CPU, where our spinning would only delay it. Nor while one of
            // our connections is on the long lane, whose thread needs a CPU more than we do.
            served = any && round.elapsed() < SHORT_ROUND && self.away.is_empty();
            self.expire_handshakes();
            self.expire_stalls();
        }
        for i in 0..self.conns.len() {
            self.close(i);
        }
    }

    /// Waits for readiness until `timeout`. Right after a round that served requests, with
    /// `busy_poll` set, first polls without sleeping for up to that long: a client sending
    /// back to back then finds the worker awake instead of paying for its CPU's wake-up
    /// (tens of microseconds on a VM whose idle vCPUs halt; BENCHMARKS.md, "Data plane").
    /// Never after an idle round, so an idle daemon never spins.
    fn wait(
        &mut self,
        events: &mut Events,
        mut timeout: Option<Duration>,
        served: bool,
    ) -> io::Result<()> {
        if served && !self.busy_poll.is_zero() && timeout != Some(Duration::ZERO) {
            let start = Instant::now();
            let spin = timeout.map_or(self.busy_poll, |t| t.min(self.busy_poll));
            loop {
                self.poll.poll(events, Some(Duration::ZERO))?;
                if !events.is_empty() || self.shared.stop.load(Ordering::Relaxed) {
                    return Ok(());
                }
                if start.elapsed() >= spin {
                    break;
                }
                // Yield rather than pause: any other runnable thread (a long-lane thread,
                // the very client we wait for) gets this CPU at once.
                std::thread::yield_now();
            }
            timeout = timeout.map(|t| t.saturating_sub(start.elapsed()));
        }
        self.poll.poll(events, timeout)
    }

    fn take_new(&mut self) {
        while let Ok(conn) = self.inbox.try_recv() {
            let idx = match self.free.pop() {
                Some(i) => i,
                None => {
                    self.conns.push(None);
                    self.conns.len() - 1
                }
            };
            let fd = conn.stream.as_raw_fd();
            if let Some(slot) = self.conns.get_mut(idx) {
                *slot = Some(conn);
            }
            if self
                .poll
                .registry()
                .register(&mut SourceFd(&fd), Token(idx), Interest::READABLE)
                .is_err()
            {
                self.close(idx);
                continue;
            }
            // The client usually sent Hello before we registered: serve it now.
            self.ready.push_back(idx);
            let budget = u64::from(self.shared.config.timeouts.handshake_ms);
            let due = Instant::now() + Duration::from_millis(budget);
            if let Some(Some(c)) = self.conns.get_mut(idx) {
                c.handshake_due = due;
            }
            self.handshakes.push_back((idx, due));
        }
    }

    /// Closes connections whose handshake deadline passed without a `Hello`. An entry whose
    /// slot was closed and reused carries an older deadline than the slot's new connection,
    /// which has its own entry, so it is skipped.
    fn expire_handshakes(&mut self) {
        let now = Instant::now();
        while let Some(&(idx, due)) = self.handshakes.front() {
            if due > now {
                break;
            }
            self.handshakes.pop_front();
            let expired = matches!(
                self.conns.get(idx),
                Some(Some(c)) if c.handshake_due == due && c.state.version.is_none()
            );
            if expired {
                self.shared.stats.connection_refused();
                self.close(idx);
            }
        }
    }

    /// Closes connections whose frame or reply did not complete in time (slow or stalled
    /// clients). Entries for frames that completed, or for a reused slot, do not match the
    /// connection's current due instant and are skipped.
    fn expire_stalls(&mut self) {
        let now = Instant::now();
        while let Some(&(idx, due)) = self.stalls.front() {
            if due > now {
                break;
            }
            self.stalls.pop_front();
            if matches!(self.conns.get(idx), Some(Some(c)) if c.stall_due() == Some(due)) {
                self.close(idx);
            }
        }
    }

    fn serve(&mut self, idx: usize) {
        let Some(Some(conn)) = self.conns.get_mut(idx) else {
            return;
        };
        let flow = conn.serve(&self.shared);
        self.settle(idx, flow);
    }

    /// Connections back from the long lane: their reply is written (or pending), and the
    /// client may have sent more meanwhile, so each gets a turn.
    fn take_returned(&mut self) {
        while let Ok(Returned {
            idx,
            mut conn,
            flow,
        }) = self.returns.try_recv()
        {
            conn.peer_closed |= self.away.remove(&idx).unwrap_or(false);
            if let Some(slot) = self.conns.get_mut(idx) {
                *slot = Some(conn);
            }
            self.settle(idx, flow);
        }
    }

    /// Sends the connection in `idx` to the long lane, or answers `QuotaExceeded` when its
    /// uid already has its share of the lane.
    fn hand_off(&mut self, idx: usize) {
        let Some(conn) = self.conns.get_mut(idx).and_then(Option::take) else {
            return;
        };
        let home = Home {
            idx,
            tx: self.home_tx.clone(),
            waker: self.waker.clone(),
        };
        match self.lane.submit(Job { conn, home }) {
            Ok(()) => {
                self.away.insert(idx, false);
            }
            Err(job) => {
                let mut conn = job.conn;
                let flow = conn.refuse_pending(&self.shared, ErrorCode::QuotaExceeded);
                if let Some(slot) = self.conns.get_mut(idx) {
                    *slot = Some(conn);
                }
                self.settle(idx, flow);
            }
        }
    }

    /// What follows a turn (or a return from the lane) with outcome `flow`.
    fn settle(&mut self, idx: usize, flow: Flow) {
        if flow == Flow::Handoff {
            return self.hand_off(idx);
        }
        if flow == Flow::Close {
            self.close(idx);
            return;
        }
        let Some(Some(conn)) = self.conns.get_mut(idx) else {
            return;
        };
        // A frame or reply in progress: arm its timer (once per due instant).
        if let Some(due) = conn.stall_due()
            && conn.stall_armed != Some(due)
        {
            conn.stall_armed = Some(due);
            self.stalls.push_back((idx, due));
        }
        // Ask for writability only while a reply waits for it: edge-triggered write events
        // would otherwise cost a turn each time the client reads.
        if conn.wants_write() != conn.write_interest {
            let interest = if conn.wants_write() {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            let fd = conn.stream.as_raw_fd();
            if self
                .poll
                .registry()
                .reregister(&mut SourceFd(&fd), Token(idx), interest)
                .is_err()
            {
                self.close(idx);
                return;
            }
            conn.write_interest = conn.wants_write();
        }
        match flow {
            // One more turn reads the end of stream and closes (unless a reply is stuck,
            // which the write event or the stall timer settles).
            Flow::Idle if conn.peer_closed && !conn.wants_write() => self.ready.push_back(idx),
            Flow::Idle | Flow::Close | Flow::Handoff => {}
            Flow::Continue => self.ready.push_back(idx),
        }
    }

    /// Frees everything the connection held: resources (table drop), arena (back to the
    /// pool), poller registration, slot.
    fn close(&mut self, idx: usize) {
        let Some(conn) = self.conns.get_mut(idx).and_then(Option::take) else {
            return;
        };
        let fd = conn.stream.as_raw_fd();
        let _ = self.poll.registry().deregister(&mut SourceFd(&fd));
        drop(conn); // uncounts it (ConnectionCount)
        self.free.push(idx);
        self.load.fetch_sub(1, Ordering::Relaxed);
    }
}
