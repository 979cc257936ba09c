//! Counters behind the status operation: daemon-wide, and per uid.
//!
//! Plain relaxed atomics: each counter is independent, the status reply is a snapshot for
//! operators and tests, and updating one must cost no more than an uncontended add.
//!
//! Status must not show one uid another's activity (issue 11): every connection counts into
//! the [`Stats`] of its peer uid, which forwards each update to the daemon-wide parent.
//! Admins see the daemon-wide figures, everyone else their own uid's ([`PerUidStats`]). A
//! uid's counters live while any of its connections does (the registry holds only `Weak`s),
//! so the registry is bounded by the connection limit, not by how many uids ever connected.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use warden_core::ErrorCode;

/// Number of distinct resource kinds counted (keys plus each context kind).
pub const RESOURCE_KINDS: usize = ResourceKind::ALL.len();
/// Error codes counted individually (all codes fit; extras would land in the last slot).
const ERROR_SLOTS: usize = 96;

/// What a live resource is, for the per-kind counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResourceKind {
    /// An ephemeral key object.
    Key,
    /// A hash context.
    HashContext,
    /// A MAC context.
    MacContext,
    /// A cipher context.
    CipherContext,
    /// An AEAD context.
    AeadContext,
    /// A signing context.
    SignContext,
    /// A verification context.
    VerifyContext,
    /// A random-generator context.
    RandomContext,
    /// A context that failed (for example timed out) and holds nothing but its id.
    FailedContext,
    /// A registered shared-memory region (data plane; not a key or context).
    Region,
}

impl ResourceKind {
    /// Every kind, in status order.
    pub const ALL: [ResourceKind; 10] = [
        ResourceKind::Key,
        ResourceKind::HashContext,
        ResourceKind::MacContext,
        ResourceKind::CipherContext,
        ResourceKind::AeadContext,
        ResourceKind::SignContext,
        ResourceKind::VerifyContext,
        ResourceKind::RandomContext,
        ResourceKind::FailedContext,
        ResourceKind::Region,
    ];

    /// Stable lowercase name used in status output.
    pub const fn name(self) -> &'static str {
        match self {
            ResourceKind::Key => "key",
            ResourceKind::HashContext => "hash",
            ResourceKind::MacContext => "mac",
            ResourceKind::CipherContext => "cipher",
            ResourceKind::AeadContext => "aead",
            ResourceKind::SignContext => "sign",
            ResourceKind::VerifyContext => "verify",
            ResourceKind::RandomContext => "random",
            ResourceKind::FailedContext => "failed",
            ResourceKind::Region => "region",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }

    /// Stable code on the wire (`warden_wire::messages::live_kind_name` names it).
    pub const fn wire_code(self) -> u32 {
        self as u32 + 1
    }
}

/// Live counters. Shared by the event loop, the workers and the status handler.
#[derive(Debug)]
pub struct Stats {
    connections_open: AtomicU64,
    connections_total: AtomicU64,
    connections_refused: AtomicU64,
    requests: AtomicU64,
    live: [AtomicU64; RESOURCE_KINDS],
    errors: [AtomicU64; ERROR_SLOTS],
    /// The daemon-wide counters a per-uid `Stats` forwards every update to.
    parent: Option<Arc<Stats>>,
}

/// A point-in-time copy of the daemon's counters, plus the arena pool figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSnapshot {
    /// Connections currently open.
    pub connections_open: u64,
    /// Connections accepted since start.
    pub connections_total: u64,
    /// Connections refused (limit, allow-list) or closed for a missed handshake, since start.
    pub connections_refused: u64,
    /// Requests answered (success or error) since start.
    pub requests: u64,
    /// Live resources per kind (only kinds with a non-zero count).
    pub live: Vec<(ResourceKind, u64)>,
    /// Error replies per code (only codes that occurred).
    pub errors: Vec<(ErrorCode, u64)>,
    /// Arenas checked out of the pool.
    pub arenas_in_use: u64,
    /// Arenas in the pool.
    pub arenas_total: u64,
    /// Bytes per arena.
    pub arena_bytes: u64,
}

impl StatusSnapshot {
    /// Live resources of one kind.
    pub fn live_of(&self, kind: ResourceKind) -> u64 {
        self.live
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, n)| *n)
    }

    /// Total live resources.
    pub fn live_total(&self) -> u64 {
        self.live.iter().map(|(_, n)| n).sum()
    }

    /// Error replies with one code.
    pub fn errors_of(&self, code: ErrorCode) -> u64 {
        self.errors
            .iter()
            .find(|(c, _)| *c == code)
            .map_or(0, |(_, n)| *n)
    }
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            connections_open: AtomicU64::new(0),
            connections_total: AtomicU64::new(0),
            connections_refused: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            live: [const { AtomicU64::new(0) }; RESOURCE_KINDS],
            errors: [const { AtomicU64::new(0) }; ERROR_SLOTS],
            parent: None,
        }
    }
}

fn error_slot(code: ErrorCode) -> usize {
    let pos = ErrorCode::ALL
        .iter()
        .position(|c| *c == code)
        .unwrap_or(ERROR_SLOTS - 1);
    pos.min(ERROR_SLOTS - 1)
}

impl Stats {
    /// Counters that also count into `parent` (a uid's share of the daemon-wide figures).
    pub(crate) fn child_of(parent: Arc<Stats>) -> Self {
        Self {
            parent: Some(parent),
            ..Self::default()
        }
    }

    /// This and the parent, if any.
    fn chain(&self) -> impl Iterator<Item = &Stats> {
        std::iter::once(self).chain(self.parent.as_deref())
    }

    /// Connections open now.
    pub(crate) fn connections_open(&self) -> u64 {
        self.connections_open.load(Relaxed)
    }

    pub(crate) fn connection_opened(&self) {
        for s in self.chain() {
            s.connections_open.fetch_add(1, Relaxed);
            s.connections_total.fetch_add(1, Relaxed);
        }
    }

    pub(crate) fn connection_closed(&self) {
        for s in self.chain() {
            s.connections_open.fetch_sub(1, Relaxed);
        }
    }

    pub(crate) fn connection_refused(&self) {
        for s in self.chain() {
            s.connections_refused.fetch_add(1, Relaxed);
        }
    }

    pub(crate) fn request_served(&self, status: Option<ErrorCode>) {
        for s in self.chain() {
            s.requests.fetch_add(1, Relaxed);
            if let Some(slot) = status.and_then(|code| s.errors.get(error_slot(code))) {
                slot.fetch_add(1, Relaxed);
            }
        }
    }

    pub(crate) fn resource_added(&self, kind: ResourceKind) {
        for s in self.chain() {
            if let Some(n) = s.live.get(kind.index()) {
                n.fetch_add(1, Relaxed);
            }
        }
    }

    pub(crate) fn resource_removed(&self, kind: ResourceKind) {
        for s in self.chain() {
            if let Some(n) = s.live.get(kind.index()) {
                n.fetch_sub(1, Relaxed);
            }
        }
    }

    /// Copies the counters (the arena figures are filled in by the caller that owns the pool).
    pub(crate) fn snapshot(&self) -> StatusSnapshot {
        let live = ResourceKind::ALL
            .iter()
            .map(|k| (*k, self.live.get(k.index()).map_or(0, |n| n.load(Relaxed))))
            .filter(|(_, n)| *n > 0)
            .collect();
        let errors = ErrorCode::ALL
            .iter()
            .map(|c| {
                let n = self
                    .errors
                    .get(error_slot(*c))
                    .map_or(0, |n| n.load(Relaxed));
                (*c, n)
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        StatusSnapshot {
            connections_open: self.connections_open.load(Relaxed),
            connections_total: self.connections_total.load(Relaxed),
            connections_refused: self.connections_refused.load(Relaxed),
            requests: self.requests.load(Relaxed),
            live,
            errors,
            arenas_in_use: 0,
            arenas_total: 0,
            arena_bytes: 0,
        }
    }
}

/// The per-uid counters of the uids that have a connection open.
#[derive(Debug)]
pub(crate) struct PerUidStats {
    global: Arc<Stats>,
    by_uid: Mutex<HashMap<u32, Weak<Stats>>>,
}

/// Dead entries are swept when the registry reaches this size (then at twice the live
/// count), so the sweep is amortised O(1) per connection.
const SWEEP_AT: usize = 64;

impl PerUidStats {
    pub(crate) fn new(global: Arc<Stats>) -> Self {
        Self {
            global,
            by_uid: Mutex::new(HashMap::new()),
        }
    }

    /// The counters of `uid`, shared by all its open connections.
    pub(crate) fn for_uid(&self, uid: u32) -> Arc<Stats> {
        // A poisoned lock only means another thread panicked mid-insert; the map is still
        // a valid map of weak pointers.
        let mut map = self.by_uid.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(live) = map.get(&uid).and_then(Weak::upgrade) {
            return live;
        }
        if map.len() >= SWEEP_AT {
            map.retain(|_, w| w.strong_count() > 0);
        }
        let fresh = Arc::new(Stats::child_of(self.global.clone()));
        map.insert(uid, Arc::downgrade(&fresh));
        fresh
    }

    /// Connections `uid` has open now (0 when it has none).
    pub(crate) fn open_connections(&self, uid: u32) -> u64 {
        let map = self.by_uid.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(&uid)
            .and_then(Weak::upgrade)
            .map_or(0, |s| s.connections_open.load(Relaxed))
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.by_uid
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// One open connection in the counters of its uid (and so the daemon's): counted when
/// made, uncounted when dropped, whichever path drops it.
#[derive(Debug)]
pub(crate) struct ConnectionCount(Arc<Stats>);

impl ConnectionCount {
    pub(crate) fn open(stats: Arc<Stats>) -> Self {
        stats.connection_opened();
        Self(stats)
    }

    /// The uid's counters.
    pub(crate) fn stats(&self) -> &Arc<Stats> {
        &self.0
    }
}

impl Drop for ConnectionCount {
    fn drop(&mut self) {
        self.0.connection_closed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_has_its_own_slot() {
        assert!(ErrorCode::ALL.len() < ERROR_SLOTS);
        let s = Stats::default();
        s.request_served(Some(ErrorCode::ResourceNotFound));
        s.request_served(Some(ErrorCode::ResourceNotFound));
        s.request_served(Some(ErrorCode::QuotaExceeded));
        s.request_served(None);
        let snap = s.snapshot();
        assert_eq!(snap.requests, 4);
        assert_eq!(snap.errors_of(ErrorCode::ResourceNotFound), 2);
        assert_eq!(snap.errors_of(ErrorCode::QuotaExceeded), 1);
        assert_eq!(snap.errors_of(ErrorCode::InternalError), 0);
    }

    #[test]
    fn wire_codes_name_the_same_kinds() {
        assert_eq!(warden_wire::messages::LiveCounts::KINDS, RESOURCE_KINDS);
        for kind in ResourceKind::ALL {
            assert_eq!(
                warden_wire::messages::live_kind_name(kind.wire_code()),
                Some(kind.name())
            );
        }
    }

    #[test]
    fn live_counts_per_kind() {
        let s = Stats::default();
        s.resource_added(ResourceKind::Key);
        s.resource_added(ResourceKind::SignContext);
        s.resource_added(ResourceKind::Key);
        s.resource_removed(ResourceKind::Key);
        let snap = s.snapshot();
        assert_eq!(snap.live_of(ResourceKind::Key), 1);
        assert_eq!(snap.live_of(ResourceKind::SignContext), 1);
        assert_eq!(snap.live_total(), 2);
    }

    #[test]
    fn a_uid_sees_its_own_counters_and_the_daemon_sees_all() {
        let global = Arc::new(Stats::default());
        let per_uid = PerUidStats::new(global.clone());
        let a1 = ConnectionCount::open(per_uid.for_uid(1000));
        let a2 = ConnectionCount::open(per_uid.for_uid(1000));
        let b = ConnectionCount::open(per_uid.for_uid(2000));
        a1.stats().request_served(None);
        a2.stats().resource_added(ResourceKind::Key);
        b.stats().request_served(Some(ErrorCode::AccessDenied));
        b.stats().resource_added(ResourceKind::SignContext);

        let a = a1.stats().snapshot();
        assert_eq!((a.connections_open, a.requests, a.live_total()), (2, 1, 1));
        assert_eq!(
            a.errors_of(ErrorCode::AccessDenied),
            0,
            "b's error leaked to a"
        );
        let bs = b.stats().snapshot();
        assert_eq!(
            (bs.connections_open, bs.requests, bs.live_total()),
            (1, 1, 1)
        );
        let all = global.snapshot();
        assert_eq!(
            (all.connections_open, all.requests, all.live_total()),
            (3, 2, 2)
        );

        drop(b);
        assert_eq!(global.snapshot().connections_open, 2);
    }

    #[test]
    fn the_registry_forgets_uids_without_connections() {
        let global = Arc::new(Stats::default());
        let per_uid = PerUidStats::new(global.clone());
        for uid in 0..10 * SWEEP_AT as u32 {
            drop(ConnectionCount::open(per_uid.for_uid(uid)));
        }
        assert!(per_uid.tracked() <= SWEEP_AT, "{}", per_uid.tracked());
        assert_eq!(global.snapshot().connections_open, 0);
        assert_eq!(global.snapshot().connections_total, 10 * SWEEP_AT as u64);
        // A uid that comes back starts from zero: counters live with the connections.
        let again = ConnectionCount::open(per_uid.for_uid(3));
        assert_eq!(again.stats().snapshot().connections_total, 1);
    }
}
