//! The event loop and the worker pool.
//!
//! One I/O thread owns the poller, the listener and every idle connection. When a
//! connection becomes readable it is moved (by value, through a bounded channel that never
//! allocates per message) to the fixed worker pool; the worker serves whatever complete
//! frames are pending and moves it back. A connection is therefore owned by exactly one
//! thread at a time: one request in flight per connection, no locks around its state, no
//! thread per request or per connection, and no sleep-polling anywhere.

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token, Waker};
use warden_arena::ArenaPool;
use warden_core::ErrorCode;
use warden_wire::{FrameHeader, Opcode, PROTOCOL_VERSION};

use crate::DaemonError;
use crate::auth::{Authenticator, peer_identity};
use crate::codec::Out;
use crate::config::Config;
use crate::connection::{ConnState, Connection, Flow, write_all_timeout};
use crate::listener::BoundSocket;
use crate::provider::{ProviderRef, Resources};
use crate::stats::{Stats, StatusSnapshot};

const LISTENER: Token = Token(usize::MAX - 1);
const WAKER: Token = Token(usize::MAX - 2);

/// State every thread of the daemon reads.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) provider: ProviderRef,
    pub(crate) stats: Arc<Stats>,
    pub(crate) pool: ArenaPool,
    pub(crate) started: Instant,
    auth: Authenticator,
    stop: AtomicBool,
}

impl Shared {
    pub(crate) fn new(config: Config, provider: ProviderRef) -> Result<Self, DaemonError> {
        let l = &config.limits;
        let pool = ArenaPool::new(l.max_connections, l.arena_bytes)
            .map_err(|e| DaemonError::Arena(e.to_string()))?;
        Ok(Self {
            auth: Authenticator::new(&config.access),
            config,
            provider,
            stats: Arc::new(Stats::default()),
            pool,
            started: Instant::now(),
            stop: AtomicBool::new(false),
        })
    }

    /// Counters plus arena pool figures.
    pub(crate) fn snapshot(&self) -> StatusSnapshot {
        let mut s = self.stats.snapshot();
        let p = self.pool.stats();
        s.arenas_in_use = p.in_use as u64;
        s.arenas_total = p.arenas as u64;
        s.arena_bytes = self.pool.arena_capacity() as u64;
        s
    }

    /// A fresh per-connection state for `peer`.
    pub(crate) fn new_conn_state(&self, peer: crate::PeerIdentity) -> ConnState {
        ConnState {
            peer,
            version: None,
            resources: Resources::new(
                self.config.limits.max_resources_per_connection,
                self.stats.clone(),
            ),
            out: Out::new(self.config.limits.max_frame_size),
        }
    }
}

type Job = (usize, Connection);
type Done = (usize, Connection, Flow);

// The slot table is allocated once at start-up; boxing connections would only add a heap
// allocation per accept.
#[allow(clippy::large_enum_variant)]
enum Slot {
    Vacant,
    Idle(Connection),
    /// Owned by a worker; `pending` = readiness was reported meanwhile.
    Busy {
        pending: bool,
    },
}

/// Handle to stop the event loop from any thread.
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

/// The event loop before it runs (so `start` can report set-up errors synchronously).
pub(crate) struct EventLoop {
    poll: Poll,
    socket: BoundSocket,
    shared: Arc<Shared>,
    waker: Arc<Waker>,
    slots: Vec<Slot>,
    free: Vec<usize>,
    jobs: Option<SyncSender<Job>>,
    done: Receiver<Done>,
    workers: Vec<JoinHandle<()>>,
}

impl EventLoop {
    pub(crate) fn new(shared: Arc<Shared>, socket: BoundSocket) -> Result<Self, DaemonError> {
        let poll = Poll::new().map_err(|e| DaemonError::Setup("poller", e))?;
        let waker = Arc::new(
            Waker::new(poll.registry(), WAKER).map_err(|e| DaemonError::Setup("waker", e))?,
        );
        let lfd = socket.listener.as_raw_fd();
        poll.registry()
            .register(&mut SourceFd(&lfd), LISTENER, Interest::READABLE)
            .map_err(|e| DaemonError::Setup("listener registration", e))?;

        let max = shared.config.limits.max_connections;
        // Capacity = connections: each connection has at most one job or result in flight,
        // so neither channel can ever block its sender.
        let (job_tx, job_rx) = sync_channel::<Job>(max);
        let (done_tx, done_rx) = sync_channel::<Done>(max);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let mut workers = Vec::new();
        for i in 0..shared.config.effective_workers() {
            let (rx, tx, sh, wk) = (
                job_rx.clone(),
                done_tx.clone(),
                shared.clone(),
                waker.clone(),
            );
            let handle = std::thread::Builder::new()
                .name(format!("wardend-worker-{i}"))
                .spawn(move || worker(&rx, &tx, &sh, &wk))
                .map_err(|e| DaemonError::Setup("worker thread", e))?;
            workers.push(handle);
        }
        let mut slots = Vec::with_capacity(max);
        slots.resize_with(max, || Slot::Vacant);
        Ok(Self {
            poll,
            socket,
            shared,
            waker,
            slots,
            free: (0..max).rev().collect(),
            jobs: Some(job_tx),
            done: done_rx,
            workers,
        })
    }

    pub(crate) fn stop_handle(&self) -> StopHandle {
        StopHandle {
            shared: self.shared.clone(),
            waker: self.waker.clone(),
        }
    }

    /// Runs until stopped, then shuts down cleanly and removes the socket.
    pub(crate) fn run(mut self) {
        let mut events = Events::with_capacity(256);
        while !self.shared.stop.load(Ordering::SeqCst) {
            if let Err(e) = self.poll.poll(&mut events, None) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                eprintln!("wardend: poll failed, shutting down: {e}");
                break;
            }
            for ev in events.iter() {
                match ev.token() {
                    LISTENER => self.accept_all(),
                    WAKER => {}
                    Token(i) => self.ready(i),
                }
            }
            self.collect_done();
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
                    eprintln!("wardend: accept failed: {e}");
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
            return;
        };
        if !self.shared.auth.admits(&peer) {
            return self.refuse(stream, ErrorCode::AccessDenied);
        }
        let Some(idx) = self.free.pop() else {
            return self.refuse(stream, ErrorCode::ProviderBusy);
        };
        let arena = match self.shared.pool.checkout() {
            Ok(a) => a,
            Err(_) => {
                self.free.push(idx);
                return self.refuse(stream, ErrorCode::ProviderBusy);
            }
        };
        let fd = stream.as_raw_fd();
        if self
            .poll
            .registry()
            .register(&mut SourceFd(&fd), Token(idx), Interest::READABLE)
            .is_err()
        {
            self.free.push(idx);
            return;
        }
        let state = self.shared.new_conn_state(peer);
        self.shared.stats.connection_opened();
        if let Some(slot) = self.slots.get_mut(idx) {
            *slot = Slot::Idle(Connection::new(stream, arena, state));
        }
        // Data may already be waiting (the client sends Hello right after connect).
        self.ready(idx);
    }

    /// Best-effort typed refusal: a Hello-response frame with `code`, then close.
    fn refuse(&self, mut stream: UnixStream, code: ErrorCode) {
        self.shared.stats.connection_refused();
        let req = FrameHeader::request(PROTOCOL_VERSION, 0, Opcode::Hello.as_u16());
        let frame = req.response(code.as_u32(), 0).to_bytes();
        let _ = write_all_timeout(&mut stream, &frame, Duration::from_millis(10));
    }

    fn ready(&mut self, idx: usize) {
        let Some(slot) = self.slots.get_mut(idx) else {
            return;
        };
        match std::mem::replace(slot, Slot::Busy { pending: false }) {
            Slot::Idle(conn) => self.send_job(idx, conn),
            Slot::Busy { .. } => *slot = Slot::Busy { pending: true },
            Slot::Vacant => *slot = Slot::Vacant,
        }
    }

    fn send_job(&mut self, idx: usize, conn: Connection) {
        let sent = match &self.jobs {
            Some(tx) => tx.send((idx, conn)).map_err(|e| e.0.1),
            None => Err(conn),
        };
        if let Err(conn) = sent {
            self.close(idx, conn);
        }
    }

    fn collect_done(&mut self) {
        loop {
            match self.done.try_recv() {
                Ok((idx, conn, flow)) => self.returned(idx, conn, flow),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return,
            }
        }
    }

    fn returned(&mut self, idx: usize, conn: Connection, flow: Flow) {
        let pending = matches!(self.slots.get(idx), Some(Slot::Busy { pending: true }));
        match flow {
            Flow::Close => self.close(idx, conn),
            Flow::Continue => {
                if let Some(slot) = self.slots.get_mut(idx) {
                    *slot = Slot::Busy { pending: false };
                }
                self.send_job(idx, conn);
            }
            Flow::Idle if pending => {
                if let Some(slot) = self.slots.get_mut(idx) {
                    *slot = Slot::Busy { pending: false };
                }
                self.send_job(idx, conn);
            }
            Flow::Idle => {
                if let Some(slot) = self.slots.get_mut(idx) {
                    *slot = Slot::Idle(conn);
                }
            }
        }
    }

    /// Frees everything the connection held: resources (table drop), arena (back to the
    /// pool, zeroed), poller registration, slot.
    fn close(&mut self, idx: usize, conn: Connection) {
        deregister(self.poll.registry(), &conn);
        drop(conn);
        if let Some(slot) = self.slots.get_mut(idx) {
            *slot = Slot::Vacant;
        }
        self.free.push(idx);
        self.shared.stats.connection_closed();
    }

    fn shutdown(mut self) {
        let lfd = self.socket.listener.as_raw_fd();
        let _ = self.poll.registry().deregister(&mut SourceFd(&lfd));
        self.socket.remove();
        // Closing the job channel lets every worker finish its current turn and exit.
        self.jobs = None;
        for w in std::mem::take(&mut self.workers) {
            let _ = w.join();
        }
        self.collect_done();
        for idx in 0..self.slots.len() {
            if let Some(Slot::Idle(conn)) = self
                .slots
                .get_mut(idx)
                .map(|s| std::mem::replace(s, Slot::Vacant))
            {
                self.close(idx, conn);
            }
        }
    }
}

fn deregister(registry: &Registry, conn: &Connection) {
    let fd = conn.stream.as_raw_fd();
    let _ = registry.deregister(&mut SourceFd(&fd));
}

fn worker(jobs: &Mutex<Receiver<Job>>, done: &SyncSender<Done>, shared: &Shared, waker: &Waker) {
    loop {
        let job = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok((idx, mut conn)) = job else { return };
        let flow = conn.serve(shared);
        if done.send((idx, conn, flow)).is_err() {
            return;
        }
        let _ = waker.wake();
    }
}
