//! The request path's shared vocabulary: what a handler sees of its connection
//! ([`ConnState`]), what happens to the connection afterwards ([`Flow`]), when the request
//! must be done ([`Deadline`]) and what else a handler gets ([`Ctx`]). A leaf below
//! `connection`, `dispatch`, `handlers` and `lane`, so dependencies run one way along the
//! request path: server → connection → dispatch → handlers → request/shared/state.

use std::time::{Duration, Instant};

use warden_arena::Session;
use warden_core::{Error, ErrorCode};
use warden_wire::Version;

use crate::auth::PeerIdentity;
use crate::codec::Out;
use crate::provider::Resources;
use crate::shared::Shared;
use crate::slot_cache::SlotBindings;
use crate::stats::ConnectionCount;

/// What the event loop should do with a connection after a worker turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// No more input right now: wait for readiness.
    Idle,
    /// Input may be pending: queue another turn.
    Continue,
    /// Close the connection (EOF, error, protocol violation, handshake refusal).
    Close,
    /// A complete request is long work (`lane::is_long`): hand the connection to the long
    /// lane, which answers it ([`Connection::answer_pending`]) and sends it back.
    Handoff,
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
    /// Where this connection's contexts buffer data: its account inside its uid's.
    pub(crate) buffers: warden_crypto::BufferSource,
    /// Shared-memory regions registered on this connection (data plane).
    pub(crate) regions: crate::regions::Regions,
    /// Slot keys resolved or created on this connection (name ↔ id).
    pub(crate) slots: SlotBindings,
    /// This connection in its uid's counters (and the daemon's) while it lives.
    pub(crate) counted: ConnectionCount,
    /// The uid's account of keys held in a token outside slots (`token_keys`).
    pub(crate) token_keys: std::sync::Arc<warden_arena::Account>,
}

impl ConnState {
    /// A fresh per-connection state for `peer`, counted as an open connection of its uid
    /// until dropped.
    pub(crate) fn new(shared: &Shared, peer: PeerIdentity) -> Self {
        let counted = ConnectionCount::open(shared.per_uid.for_uid(peer.uid));
        let regions = shared
            .regions
            .for_connection(peer.uid, counted.stats().clone());
        Self {
            peer,
            version: None,
            resources: Resources::new(
                shared.config.limits.max_resources_per_connection,
                counted.stats().clone(),
            ),
            counted,
            out: Out::new(shared.config.limits.max_frame_size),
            buffers: shared.buffers.for_connection(peer.uid),
            regions,
            slots: Default::default(),
            token_keys: shared.token_keys.for_uid(peer.uid),
        }
    }
}

/// When a request must be done by (seed decision 7). Measured from the moment its header
/// was read, so time spent queued for a worker counts against the client's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deadline {
    received: Instant,
    at: Option<Instant>,
}

impl Deadline {
    /// The deadline carried in a header (`0` = none).
    pub(crate) fn from_header(received: Instant, deadline_ms: u32) -> Self {
        let at = (deadline_ms != 0)
            .then(|| received.checked_add(Duration::from_millis(u64::from(deadline_ms))))
            .flatten();
        Self { received, at }
    }

    /// No deadline.
    #[cfg(test)]
    pub(crate) fn none() -> Self {
        Self {
            received: Instant::now(),
            at: None,
        }
    }

    /// The tighter of this deadline and a context's own budget of `ms` per operation
    /// (`None` = the context has no budget of its own).
    pub(crate) fn tighten(self, ms: Option<u32>) -> Self {
        let budget = Self::from_header(self.received, ms.unwrap_or(0));
        match (self.at, budget.at) {
            (Some(a), Some(b)) => Self {
                at: Some(a.min(b)),
                ..self
            },
            (None, Some(_)) => budget,
            _ => self,
        }
    }

    /// Whether the deadline has passed.
    pub(crate) fn expired(&self) -> bool {
        self.at.is_some_and(|at| Instant::now() >= at)
    }

    /// `Err(OperationTimedOut)` if the deadline has passed.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.expired() {
            Err(Error::new(ErrorCode::OperationTimedOut, "deadline passed"))
        } else {
            Ok(())
        }
    }
}

/// What a handler gets besides the connection state: daemon-wide state, the request's
/// session (for scratch output buffers) and its deadline.
pub(crate) struct Ctx<'r, 's> {
    pub(crate) shared: &'r Shared,
    pub(crate) session: &'r Session<'s>,
    pub(crate) deadline: Deadline,
}

/// Result of dispatching one request.
pub(crate) struct Outcome {
    /// `None` = success; otherwise the code the reply carries.
    pub(crate) status: Option<ErrorCode>,
    /// What happens to the connection afterwards.
    pub(crate) flow: Flow,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines() {
        let now = Instant::now();
        assert!(!Deadline::from_header(now, 0).expired());
        assert!(Deadline::from_header(now, 0).check().is_ok());
        assert!(!Deadline::from_header(now, 60_000).expired());
        let past = now - Duration::from_millis(50);
        let d = Deadline::from_header(past, 10);
        assert!(d.expired());
        assert_eq!(d.check().unwrap_err().code(), ErrorCode::OperationTimedOut);
        // The tighter of the request's and the context's budget wins.
        assert!(Deadline::from_header(past, 0).tighten(Some(10)).expired());
        assert!(
            Deadline::from_header(past, 60_000)
                .tighten(Some(10))
                .expired()
        );
        assert!(
            Deadline::from_header(past, 10)
                .tighten(Some(60_000))
                .expired()
        );
        assert!(!Deadline::from_header(past, 60_000).tighten(None).expired());
        assert!(!Deadline::none().tighten(None).expired());
    }
}
