//! The long lane: where work that takes milliseconds to seconds runs, so it never holds a
//! worker (issue 12, fairness across uids).
//!
//! # Design
//!
//! A worker serves many connections on one thread. Before this lane, one client's RSA-4096
//! key generation (≈ 1.5 s), SLH-DSA-128s signature (≈ 1.5 s) or 10⁷-iteration PBKDF2
//! (≈ 6 s) ran on that thread, and every other connection it owned — of any uid — waited:
//! two such hogs took both default workers and another uid's ping went from 0.1 ms to
//! seconds.
//!
//! * **Classified up front, cheaply.** When a worker has read a complete frame it asks
//!   [`is_long`]: key generation or import of an RSA or SLH-DSA key, `DeriveKey` PBKDF2
//!   above [`LONG_PBKDF2_ITERATIONS`], and `Finalize`/`Process` on a context whose key is RSA
//!   or SLH-DSA (signing, RSA-OAEP decryption), and certificate verification, listing, CRL
//!   import, CSRs and self-signed certificates (a store full of large CRLs takes hundreds of
//!   milliseconds to verify against). Everything else — ping, AES, Ed25519, HMAC,
//!   ML-KEM, slot and permit operations — is served on the worker exactly as before, with
//!   no extra thread hop.
//! * **Handed off with its connection.** A long request's connection leaves the worker
//!   whole (socket, arena with the request in it, resource table) for a lane thread, which
//!   runs the normal dispatch path and writes the reply, then sends the connection back to
//!   its worker. The worker keeps serving its other connections meanwhile. The connection
//!   reads no further frame while away, so replies stay in request order and a client has
//!   at most one long operation per connection.
//! * **Bounded per uid.** A uid may have [`Limits::max_long_ops_per_uid`] (default 8) long
//!   operations queued or running; the next is answered `QuotaExceeded` at once by the
//!   worker. Below the bound a request waits in the queue instead: refusing early only made
//!   a hog's connections retry in a loop, which on a small machine cost other uids more CPU
//!   than the queued work (measured: BENCHMARKS.md, hostile load).
//! * **Below the workers' priority.** Lane threads run at nice `limits.long_lane_nice`
//!   (default 10), so a worker waking for a short request preempts long work at once.
//! * **Uids take turns.** The queue is one FIFO per uid and a ring of uids that have work:
//!   a free lane thread takes the oldest request of the next uid in the ring (round robin),
//!   so a uid with many connections does not get more of the lane than one with one.
//! * **Deadlines inside the work.** The request deadline counts from its header's arrival,
//!   so queue time counts; dispatch refuses to start a request already past it, and PBKDF2
//!   asks it every `warden_provider_awslc::kdf::PBKDF2_CHUNK` iterations (≈ 0.5 ms) and stops with
//!   `OperationTimedOut`, freeing the lane thread. RSA and SLH-DSA are single aws-lc /
//!   RustCrypto calls that cannot be interrupted: they are checked before and after, and
//!   cost at most one lane thread for their ≈ 1.5 s.
//!
//! What this does not give: a long operation still waits behind the long operations
//! already running (at most `long_lane_threads` of them, each bounded by its kind's cost or
//! its deadline). Short operations never wait for long ones.
//!
//! [`Limits::max_long_ops_per_uid`]: crate::config::Limits::max_long_ops_per_uid

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use mio::Waker;

use crate::DaemonError;
use crate::connection::Connection;
use crate::request::Flow;
use crate::shared::Shared;

/// Where a connection goes back to when its long request is answered.
pub(crate) struct Home {
    /// Its slot in the owning worker.
    pub(crate) idx: usize,
    pub(crate) tx: Sender<Returned>,
    pub(crate) waker: Arc<Waker>,
}

/// A connection coming back from the lane, with what its worker should do next.
pub(crate) struct Returned {
    pub(crate) idx: usize,
    pub(crate) conn: Connection,
    pub(crate) flow: Flow,
}

/// A connection whose pending request is long work.
pub(crate) struct Job {
    pub(crate) conn: Connection,
    pub(crate) home: Home,
}

/// One uid's share of the lane.
#[derive(Default)]
struct UidQueue {
    waiting: VecDeque<Job>,
    /// Requests of this uid queued or running (what the per-uid limit bounds).
    active: usize,
}

#[derive(Default)]
struct Queue {
    uids: HashMap<u32, UidQueue>,
    /// Uids with waiting requests, in turn order; each appears at most once.
    turns: VecDeque<u32>,
    stop: bool,
}

/// The lane's shared queue (threads are started by [`spawn`]).
pub(crate) struct Lane {
    queue: Mutex<Queue>,
    work: Condvar,
    max_per_uid: usize,
}

impl Lane {
    pub(crate) fn new(max_per_uid: usize) -> Self {
        Self {
            queue: Mutex::new(Queue::default()),
            work: Condvar::new(),
            max_per_uid,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Nothing panics while holding the lock; a poisoned queue is still consistent.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `job`, or gives it back when its uid is at its limit (or the lane stops).
    pub(crate) fn submit(&self, job: Job) -> Result<(), Box<Job>> {
        let uid = job.conn.state.peer.uid;
        let mut q = self.lock();
        if q.stop {
            return Err(Box::new(job));
        }
        let entry = q.uids.entry(uid).or_default();
        if entry.active >= self.max_per_uid {
            return Err(Box::new(job));
        }
        entry.active += 1;
        entry.waiting.push_back(job);
        if entry.waiting.len() == 1 {
            q.turns.push_back(uid);
        }
        drop(q);
        self.work.notify_one();
        Ok(())
    }

    /// The next job in turn order; `None` once the lane stops.
    fn next(&self) -> Option<Job> {
        let mut q = self.lock();
        loop {
            if q.stop {
                return None;
            }
            if let Some(uid) = q.turns.pop_front() {
                let Some(entry) = q.uids.get_mut(&uid) else {
                    continue;
                };
                let job = entry.waiting.pop_front();
                if !entry.waiting.is_empty() {
                    q.turns.push_back(uid); // its next request waits for the others' turns
                }
                if let Some(job) = job {
                    return Some(job);
                }
                continue;
            }
            q = self.work.wait(q).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// A request of `uid` finished.
    fn done(&self, uid: u32) {
        let mut q = self.lock();
        if let Some(entry) = q.uids.get_mut(&uid) {
            entry.active = entry.active.saturating_sub(1);
            if entry.active == 0 && entry.waiting.is_empty() {
                q.uids.remove(&uid);
            }
        }
    }

    /// Stops the lane threads after their current job; queued connections are closed.
    pub(crate) fn stop(&self) {
        let mut q = self.lock();
        q.stop = true;
        q.turns.clear();
        let dropped: Vec<UidQueue> = q.uids.drain().map(|(_, v)| v).collect();
        drop(q);
        drop(dropped); // closes their sockets outside the lock
        self.work.notify_all();
    }
}

/// Starts `threads` lane threads serving `lane`.
pub(crate) fn spawn(
    lane: &Arc<Lane>,
    shared: &Arc<Shared>,
    threads: usize,
) -> Result<Vec<JoinHandle<()>>, DaemonError> {
    (0..threads)
        .map(|i| {
            let lane = lane.clone();
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("wardend-long-{i}"))
                .spawn(move || run(&lane, &shared))
                .map_err(|e| DaemonError::Setup("long lane thread", e))
        })
        .collect()
}

fn run(lane: &Lane, shared: &Shared) {
    // Long work competes with the workers for the same cores; at nice 10 (the default: a
    // tenth of a worker's CPU weight under CFS) a worker that wakes for a short request
    // preempts a lane thread at once instead of waiting out its time slice, so short
    // requests keep their latency while the lane still runs at full speed on an idle core.
    // Linux: nice is per thread, and `None` names the calling thread. Best effort: a failure
    // (e.g. a seccomp filter) leaves the lane at the workers' priority, still correct.
    let nice = i32::from(shared.config.limits.long_lane_nice);
    let _ = rustix::process::setpriority_process(None, nice);
    while let Some(Job { mut conn, home }) = lane.next() {
        let uid = conn.state.peer.uid;
        // The uid's slot is given back before the reply goes out: a client that sees the
        // reply may at once start another long operation (on any of its connections).
        let flow = conn.answer_pending(shared, &|| lane.done(uid));
        let back = Returned {
            idx: home.idx,
            conn,
            flow,
        };
        // A worker that has stopped drops the channel: the connection closes here.
        if home.tx.send(back).is_ok() {
            let _ = home.waker.wake();
        }
    }
}
