//! The daemon's request path without a socket: for allocation tests, fuzzing the whole
//! dispatch path, and benchmarks that separate IPC cost from request-handling cost.
//!
//! A [`Loopback`] is one connection's state (session arena, resource namespace, reply
//! encoder) driven by complete frames handed in by the caller. Everything after the socket
//! read is the same code the event loop's workers run.

use std::sync::Arc;
use std::time::Instant;

use warden_arena::PooledArena;
use warden_wire::{FrameHeader, HEADER_LEN};

use crate::DaemonError;
use crate::config::Config;
use crate::connection::{process, undecodable_reply};
use crate::provider::default_provider;
use crate::request::{ConnState, Deadline, Flow};
use crate::shared::Shared;
use crate::stats::StatusSnapshot;

/// One in-process connection to a daemon request path.
pub struct Loopback {
    shared: Arc<Shared>,
    arena: PooledArena,
    state: ConnState,
    closed: bool,
}

impl std::fmt::Debug for Loopback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loopback")
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl Loopback {
    /// A connection to a fresh daemon state with the default provider.
    pub fn new(config: Config) -> Result<Self, DaemonError> {
        Self::with_provider(config, default_provider())
    }

    /// A connection to a fresh daemon state served by `provider`.
    pub fn with_provider(
        config: Config,
        provider: Arc<dyn warden_crypto::Provider>,
    ) -> Result<Self, DaemonError> {
        config.validate()?;
        let shared = Arc::new(Shared::new(config, provider)?);
        let arena = shared
            .pool
            .checkout()
            .map_err(|e| DaemonError::Arena(e.to_string()))?;
        // Credentials of this process: an in-process caller is its own peer.
        let peer = crate::PeerIdentity {
            uid: rustix::process::geteuid().as_raw(),
            gid: rustix::process::getegid().as_raw(),
            pid: rustix::process::getpid().as_raw_nonzero().get(),
        };
        let state = ConnState::new(&shared, peer);
        Ok(Self {
            shared,
            arena,
            state,
            closed: false,
        })
    }

    /// Whether the daemon would have closed this connection (after a refused handshake, a
    /// malformed header or a request before the handshake). Closed loopbacks answer nothing.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The counters of this loopback's daemon state.
    pub fn status(&self) -> StatusSnapshot {
        self.shared.snapshot()
    }

    /// Hands `fd` to the connection as if it had arrived (`SCM_RIGHTS`) with the next frame:
    /// what a `RegionRegister` request then maps (data-plane tests and benches).
    pub fn attach_fd(&mut self, fd: std::os::fd::OwnedFd) {
        self.state.regions.descriptor_arrived(fd);
    }

    /// Serves one request frame (`header ‖ body`, as a client would write it) and passes the
    /// reply header and body to `reply`. Returns `None` if the connection is closed or the
    /// frame is shorter than its header announces (a socket read would still be waiting).
    pub fn request<R>(
        &mut self,
        frame: &[u8],
        reply: impl FnOnce(&[u8; HEADER_LEN], &[u8]) -> R,
    ) -> Option<R> {
        if self.closed {
            return None;
        }
        let head: [u8; HEADER_LEN] = *frame.first_chunk::<HEADER_LEN>()?;
        let received = Instant::now();
        let header = match FrameHeader::decode(&head, self.shared.config.limits.max_frame_size) {
            Ok(h) => h,
            Err(e) => {
                self.state
                    .counted
                    .stats()
                    .request_served(Some(e.error_code()));
                self.closed = true;
                return Some(reply(&undecodable_reply(&head, e.error_code()), &[]));
            }
        };
        let body_src = frame.get(HEADER_LEN..HEADER_LEN + header.body_len as usize)?;
        let session = self.arena.session();
        // The one copy into daemon-owned memory, as on the socket path.
        let body: &[u8] = session.try_alloc_slice_copy(body_src).ok()?;
        let deadline = Deadline::from_header(received, header.deadline_ms);
        let (head_out, flow) = process(
            &mut self.state,
            &self.shared,
            &header,
            body,
            deadline,
            &session,
        );
        let r = reply(&head_out, self.state.out.body());
        self.state.out.scrub();
        drop(session);
        if flow == Flow::Close {
            self.closed = true;
        }
        Some(r)
    }
}
