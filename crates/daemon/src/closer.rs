//! Closing descriptors a client sent that the daemon will not map, off the worker threads.
//!
//! `close` on a file of a FUSE filesystem is a `FLUSH` request to that filesystem's server,
//! and once the server has read it the closing thread waits — uninterruptibly, not even
//! `SIGKILL` ends it — until the server answers. A client that mounts a filesystem other
//! uids (and so wardend) may use (`allow_other`; `user_allow_other` in `/etc/fuse.conf` lets
//! any user do it), opens a file there and sends its descriptor with any frame would hold
//! the worker that closes it, and every connection of every uid on that worker, for as long
//! as it likes. So a descriptor that is not a memfd is never closed on a worker: it goes to
//! a closer thread, which may block on it alone.
//!
//! A stuck closer must not turn into unbounded descriptors: each uid may have at most
//! [`MAX_WAITING_PER_UID`] descriptors waiting here. A connection that brings more is ended,
//! the uid's connections read nothing more (each read checks first), and the acceptor
//! refuses its new connections until its descriptors are closed (`QuotaExceeded`). A read
//! takes every descriptor of its message (up to 253: any it left would be released by the
//! kernel on the worker, see `warden_shm::MAX_FDS_PER_READ`), so what one uid can pin is
//! that bound plus what the reads under way when it was reached bring (one per worker),
//! plus one socket per connection of its that ends with descriptors still queued (the
//! socket goes here whole: `release_socket`, or `ClientSocket` when a connection ends).
//!
//! Stuck is not only FUSE: the last release of a TCP socket with `SO_LINGER` and unsent
//! data waits up to its linger time, and any uid can make one.

use std::collections::{HashMap, VecDeque};
use std::ops::{Deref, DerefMut};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Descriptors of one uid waiting to be closed before its connections are ended.
pub(crate) const MAX_WAITING_PER_UID: usize = 16;

/// Reads of 4 KiB that draining a closing socket may take before handing the socket itself
/// to the closer thread (a well-behaved client has at most a frame queued).
const DRAIN_READS: usize = 64;

#[derive(Default)]
struct Queue {
    fds: VecDeque<(u32, OwnedFd)>,
    /// Per uid: descriptors queued or being closed.
    waiting: HashMap<u32, usize>,
    /// Whether a closer thread is running (one at a time; it exits when the queue is empty).
    running: bool,
}

/// The closer: a queue and, while it holds anything, one thread closing what is in it.
#[derive(Default)]
pub(crate) struct Closer {
    queue: Mutex<Queue>,
    /// Descriptors queued or being closed, all uids: when zero (nearly always), no uid is
    /// over its bound and [`Closer::over_limit`] answers without the lock (it is asked
    /// before every read).
    waiting: AtomicUsize,
}

impl Closer {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Map and queue operations only: a poisoned lock is still consistent.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Closes `fd`, which `uid` sent: at once if it is a memfd (a shmem or hugetlbfs file:
    /// closing it involves no other process), else on the closer thread. `false` when `uid`
    /// already has [`MAX_WAITING_PER_UID`] descriptors waiting: its connection must end.
    pub(crate) fn discard(self: &Arc<Self>, uid: u32, fd: OwnedFd) -> bool {
        if warden_shm::closes_locally(fd.as_fd()) {
            drop(fd);
            return true;
        }
        let mut q = self.lock();
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let waiting = q.waiting.entry(uid).or_insert(0);
        *waiting += 1;
        let within = *waiting <= MAX_WAITING_PER_UID;
        q.fds.push_back((uid, fd));
        if !q.running {
            let me = Arc::clone(self);
            let started = std::thread::Builder::new()
                .name("wardend-closer".into())
                .spawn(move || me.run());
            // Without a thread the queue is closed by the next discard that starts one.
            q.running = started.is_ok();
        }
        within
    }

    /// Readies `socket`, a client's connection, for closing without releasing on this
    /// thread what the client queued on it and the daemon never read (closing a socket
    /// releases those files, in the closing thread: `warden_shm::drain_fds`): it is shut,
    /// and what is queued is read off and discarded here while `uid` is within its bound.
    /// `true`: it is empty and may close here. `false`: something may remain, and the
    /// socket itself must go to the closer thread ([`Closer::discard`]), which releases it.
    pub(crate) fn drain_socket(self: &Arc<Self>, uid: u32, socket: BorrowedFd<'_>) -> bool {
        // Over its bound already: not one more of its descriptors into our table.
        let reads = if self.over_limit(uid) { 0 } else { DRAIN_READS };
        warden_shm::drain_fds(socket, reads, |fd| self.discard(uid, fd))
    }

    /// Closes `socket` as [`Closer::drain_socket`] says: here if empty, else on the closer.
    pub(crate) fn release_socket(self: &Arc<Self>, uid: u32, socket: OwnedFd) {
        if !self.drain_socket(uid, socket.as_fd()) {
            self.discard(uid, socket);
        }
    }

    /// Whether `uid` has more descriptors waiting than it may (the acceptor refuses it).
    pub(crate) fn over_limit(&self, uid: u32) -> bool {
        if self.waiting.load(Ordering::SeqCst) == 0 {
            return false;
        }
        self.lock()
            .waiting
            .get(&uid)
            .is_some_and(|n| *n >= MAX_WAITING_PER_UID)
    }

    /// `stream`, a client's connection, as a socket released through this closer when it
    /// is dropped ([`ClientSocket`]).
    pub(crate) fn client_socket(self: &Arc<Self>, uid: u32, stream: UnixStream) -> ClientSocket {
        ClientSocket {
            stream,
            closer: Arc::clone(self),
            uid,
        }
    }

    fn run(&self) {
        loop {
            let (uid, fd) = {
                let mut q = self.lock();
                match q.fds.pop_front() {
                    Some(next) => next,
                    None => {
                        q.running = false;
                        return;
                    }
                }
            };
            drop(fd); // may block for as long as the file's filesystem wants
            let mut q = self.lock();
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            if let Some(n) = q.waiting.get_mut(&uid) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    q.waiting.remove(&uid);
                }
            }
        }
    }
}

/// A client connection's socket. Dropping it shuts and drains it ([`Closer::drain_socket`]);
/// if something may remain queued, a duplicate goes to the closer, so the connection's own
/// handle is not the last. (Should the duplicate fail — the descriptor table full — the
/// socket closes here regardless: nothing else can be done with it.)
///
/// The shutdown is what the client sees as the end of the connection, so the owner declares
/// this field last: its arena, counters and resources are released before, and a client
/// that sees the close can connect again at once.
pub(crate) struct ClientSocket {
    stream: UnixStream,
    closer: Arc<Closer>,
    uid: u32,
}

impl Deref for ClientSocket {
    type Target = UnixStream;
    fn deref(&self) -> &UnixStream {
        &self.stream
    }
}

impl DerefMut for ClientSocket {
    fn deref_mut(&mut self) -> &mut UnixStream {
        &mut self.stream
    }
}

impl AsFd for ClientSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.stream.as_fd()
    }
}

impl Drop for ClientSocket {
    fn drop(&mut self) {
        if !self.closer.drain_socket(self.uid, self.stream.as_fd())
            && let Ok(dup) = self.stream.as_fd().try_clone_to_owned()
        {
            self.closer.discard(self.uid, dup);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn memfds_close_at_once_and_other_files_on_the_closer() {
        let c = Arc::new(Closer::default());
        let r = warden_shm::Region::create(4096).unwrap();
        assert!(c.discard(7, r.fd().try_clone_to_owned().unwrap()));
        assert!(!c.over_limit(7));
        for _ in 0..MAX_WAITING_PER_UID + 2 {
            let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
            // Sockets close at once on the thread too; the count only says what waits.
            c.discard(7, a.into());
        }
        let start = Instant::now();
        while c.over_limit(7) || !c.lock().fds.is_empty() {
            assert!(start.elapsed() < Duration::from_secs(10), "closer drains");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(c.lock().waiting.is_empty());
        assert_eq!(c.waiting.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_released_socket_hands_over_what_was_queued_on_it() {
        use std::io::IoSlice;
        let c = Arc::new(Closer::default());
        let send = |to: &UnixStream, fd: std::os::fd::BorrowedFd<'_>| {
            warden_shm::send_with_fd(to, &[IoSlice::new(b"x")], fd).unwrap();
        };
        use std::os::unix::net::UnixStream;
        // Queued descriptors (not memfds) go to the closer; the socket, then empty, closes here.
        let (ours, theirs) = UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        let (p, _q) = UnixStream::pair().unwrap();
        for _ in 0..3 {
            send(&theirs, p.as_fd());
        }
        c.release_socket(9, ours.into());
        // Ours closed here (it was empty): the peer sees the end of the stream.
        let mut buf = [0u8; 1];
        assert_eq!(std::io::Read::read(&mut &theirs, &mut buf).unwrap(), 0);
        let start = Instant::now();
        while c.waiting.load(Ordering::SeqCst) != 0 {
            assert!(start.elapsed() < Duration::from_secs(10), "closer drains");
            std::thread::sleep(Duration::from_millis(5));
        }
        // Over its bound, a uid's socket goes whole, its queue unread.
        let (ours, theirs) = UnixStream::pair().unwrap();
        ours.set_nonblocking(true).unwrap();
        send(&theirs, p.as_fd());
        let mut q = c.lock();
        q.waiting.insert(9, MAX_WAITING_PER_UID);
        c.waiting.fetch_add(MAX_WAITING_PER_UID, Ordering::SeqCst);
        q.running = true; // no thread: what is queued stays visible
        drop(q);
        c.release_socket(9, ours.into());
        let q = c.lock();
        assert_eq!(q.fds.len(), 1, "the socket itself, not what it holds");
        assert_eq!(q.waiting.get(&9), Some(&(MAX_WAITING_PER_UID + 1)));
    }
}
