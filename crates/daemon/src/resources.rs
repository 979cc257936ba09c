//! Per-connection resource table (seed decisions 2 and 3).
//!
//! Every connection owns one table: an isolated namespace of unpredictable 64-bit ids. Keys
//! are reference counted here, in the daemon: the client's guard holds one reference and
//! every context bound to the key holds one more. `release` drops the guard's reference;
//! a context cannot be created from a key whose guard is gone (`ResourceNotFound`), even if
//! a context still keeps the key alive. Dropping the table (disconnect, clean or crash)
//! frees everything.
//!
//! Generic over the key and context types so the bookkeeping is tested without a provider.

use std::collections::HashMap;
use std::collections::hash_map::Entry as MapEntry;
use std::sync::Arc;

use warden_arena::Claim;
use warden_core::ErrorCode;

use crate::stats::{ResourceKind, Stats};

/// A resource id source: the provider's RNG, so ids are unpredictable across connections.
pub(crate) trait IdSource {
    /// A fresh random 64-bit value.
    fn random_u64(&self) -> Result<u64, ErrorCode>;
}

/// Tries before giving up on finding an unused id (a collision needs ~2^32 live ids).
const ID_ATTEMPTS: usize = 8;

/// The slot (and incarnation of it) a key was loaded from or stored into. It lives in the
/// key's own table entry, so it lasts exactly as long as anything (a client guard or a bound
/// context) references the key: no bookkeeping elsewhere can lose it and turn a slot key into
/// an "ephemeral" one that escapes the per-use re-check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SlotOrigin {
    /// Owner uid of the slot (the namespace).
    pub(crate) owner: u32,
    /// Slot name inside the owner's namespace.
    pub(crate) name: Box<str>,
    /// Creation time of the slot: a slot deleted and re-created under the same name is a
    /// different key.
    pub(crate) created_ms: u64,
}

enum Entry<K, C> {
    Key {
        key: Arc<K>,
        /// `Some` for a slot key (see [`SlotOrigin`]), `None` for an ephemeral key.
        origin: Option<SlotOrigin>,
        /// Client guards holding a reference: 1 at creation, one more for each repeated
        /// resolve of the same slot on this connection (each client handle releases once).
        guards: u32,
        /// Guards plus bound contexts; the entry goes at 0.
        refs: u32,
        /// What the key is charged to while the entry lives (a token key's place in its
        /// uid's `limits.max_token_keys_per_uid`); `None` for everything else.
        _charge: Option<Claim>,
    },
    Context {
        ctx: C,
        kind: ResourceKind,
        /// The key this context holds a reference on.
        key: Option<u64>,
    },
    /// A context that failed (e.g. timed out): its key reference and provider state are
    /// released; only the id remains so the client gets a clear error until it destroys it.
    Failed { code: ErrorCode },
}

/// The table. Not `Sync`: one request in flight per connection means one user at a time.
pub(crate) struct ResourceTable<K, C> {
    entries: HashMap<u64, Entry<K, C>>,
    limit: usize,
    stats: Arc<Stats>,
}

impl<K, C> ResourceTable<K, C> {
    pub(crate) fn new(limit: usize, stats: Arc<Stats>) -> Self {
        Self {
            entries: HashMap::new(),
            limit,
            stats,
        }
    }

    fn fresh_id(&self, ids: &(impl IdSource + ?Sized)) -> Result<u64, ErrorCode> {
        if self.entries.len() >= self.limit {
            return Err(ErrorCode::QuotaExceeded);
        }
        for _ in 0..ID_ATTEMPTS {
            let id = ids.random_u64()?;
            // 0 is never handed out so a zeroed id field can never name a resource.
            if id != 0 && !self.entries.contains_key(&id) {
                return Ok(id);
            }
        }
        Err(ErrorCode::InternalError)
    }

    /// Fails with `QuotaExceeded` if one more resource would not fit.
    pub(crate) fn check_quota(&self) -> Result<(), ErrorCode> {
        if self.entries.len() >= self.limit {
            Err(ErrorCode::QuotaExceeded)
        } else {
            Ok(())
        }
    }

    /// Adds a key with the guard's reference (ref = 1) and returns its id. `origin` is the
    /// slot it came from (`None`: an ephemeral key).
    pub(crate) fn insert_key(
        &mut self,
        key: K,
        origin: Option<SlotOrigin>,
        ids: &(impl IdSource + ?Sized),
    ) -> Result<u64, ErrorCode> {
        self.insert_charged_key(key, origin, ids, None)
    }

    /// [`Self::insert_key`], with `charge` held until the entry goes.
    pub(crate) fn insert_charged_key(
        &mut self,
        key: K,
        origin: Option<SlotOrigin>,
        ids: &(impl IdSource + ?Sized),
        charge: Option<Claim>,
    ) -> Result<u64, ErrorCode> {
        let id = self.fresh_id(ids)?;
        self.entries.insert(
            id,
            Entry::Key {
                key: Arc::new(key),
                origin,
                guards: 1,
                refs: 1,
                _charge: charge,
            },
        );
        self.stats.resource_added(ResourceKind::Key);
        Ok(id)
    }

    /// The key behind a live guard, for binding to a new context or a key operation.
    pub(crate) fn guarded_key(&self, id: u64) -> Result<&Arc<K>, ErrorCode> {
        match self.entries.get(&id) {
            Some(Entry::Key { key, guards, .. }) if *guards > 0 => Ok(key),
            Some(Entry::Key { .. }) | None => Err(ErrorCode::ResourceNotFound),
            Some(_) => Err(ErrorCode::InvalidResourceType),
        }
    }

    /// A live key, whether or not a client guard still holds it (a bound context may be
    /// the only holder).
    pub(crate) fn live_key(&self, id: u64) -> Result<&Arc<K>, ErrorCode> {
        match self.entries.get(&id) {
            Some(Entry::Key { key, .. }) => Ok(key),
            None => Err(ErrorCode::ResourceNotFound),
            Some(_) => Err(ErrorCode::InvalidResourceType),
        }
    }

    /// The slot a live key came from (`None` for ephemeral keys and non-key ids). Valid for
    /// as long as the key is referenced by a guard or a context.
    pub(crate) fn key_origin(&self, id: u64) -> Option<&SlotOrigin> {
        match self.entries.get(&id) {
            Some(Entry::Key { origin, .. }) => origin.as_ref(),
            _ => None,
        }
    }

    /// The id of the key a live context is bound to (`None` for keyless contexts, failed or
    /// unknown ids).
    pub(crate) fn context_key_id(&self, id: u64) -> Option<u64> {
        match self.entries.get(&id) {
            Some(Entry::Context { key, .. }) => *key,
            _ => None,
        }
    }

    /// One more client guard on a live key (a repeated resolve of the same slot hands out
    /// the same id again; each of the client's handles will release once).
    pub(crate) fn add_guard(&mut self, id: u64) -> Result<(), ErrorCode> {
        match self.entries.get_mut(&id) {
            Some(Entry::Key { guards, refs, .. }) if *guards > 0 => {
                let more_guards = guards.checked_add(1).ok_or(ErrorCode::QuotaExceeded)?;
                let more_refs = refs.checked_add(1).ok_or(ErrorCode::QuotaExceeded)?;
                (*guards, *refs) = (more_guards, more_refs);
                Ok(())
            }
            Some(Entry::Key { .. }) | None => Err(ErrorCode::ResourceNotFound),
            Some(_) => Err(ErrorCode::InvalidResourceType),
        }
    }

    /// Adds a context; if it is bound to `key`, takes a reference on that key first.
    ///
    /// Fails with `ResourceNotFound` if the key's guard was released (the seed's fail-fast
    /// rule), `QuotaExceeded` at the limit.
    pub(crate) fn insert_context(
        &mut self,
        ctx: C,
        kind: ResourceKind,
        key: Option<u64>,
        ids: &(impl IdSource + ?Sized),
    ) -> Result<u64, ErrorCode> {
        let id = self.fresh_id(ids)?;
        if let Some(key_id) = key {
            match self.entries.get_mut(&key_id) {
                Some(Entry::Key { guards, refs, .. }) if *guards > 0 => {
                    *refs = refs.checked_add(1).ok_or(ErrorCode::QuotaExceeded)?;
                }
                Some(Entry::Key { .. }) | None => {
                    return Err(ErrorCode::ResourceNotFound);
                }
                Some(_) => return Err(ErrorCode::InvalidResourceType),
            }
        }
        self.entries.insert(id, Entry::Context { ctx, kind, key });
        self.stats.resource_added(kind);
        Ok(id)
    }

    /// The context with this id. A failed context reports the code it failed with.
    pub(crate) fn context_mut(&mut self, id: u64) -> Result<&mut C, ErrorCode> {
        match self.entries.get_mut(&id) {
            Some(Entry::Context { ctx, .. }) => Ok(ctx),
            Some(Entry::Failed { code }) => Err(*code),
            Some(Entry::Key { .. }) => Err(ErrorCode::InvalidResourceType),
            None => Err(ErrorCode::ResourceNotFound),
        }
    }

    /// Moves a context to the failed state: drops the provider context and its key
    /// reference now; the id stays until the client destroys it.
    pub(crate) fn fail_context(&mut self, id: u64, code: ErrorCode) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        if !matches!(entry, Entry::Context { .. }) {
            return;
        }
        let old = std::mem::replace(entry, Entry::Failed { code });
        self.stats.resource_added(ResourceKind::FailedContext);
        if let Entry::Context { kind, key, ctx } = old {
            drop(ctx);
            self.stats.resource_removed(kind);
            if let Some(key_id) = key {
                self.unref_key(key_id);
            }
        }
    }

    /// Releases a resource: one of a key's guard references, or a (possibly failed) context.
    ///
    /// Releasing a key more often than it was handed out, or an unknown id, is
    /// `ResourceNotFound`.
    pub(crate) fn release(&mut self, id: u64) -> Result<(), ErrorCode> {
        match self.entries.get_mut(&id) {
            Some(Entry::Key { guards, .. }) if *guards > 0 => {
                *guards -= 1;
                self.unref_key(id);
                Ok(())
            }
            Some(Entry::Key { .. }) | None => Err(ErrorCode::ResourceNotFound),
            Some(Entry::Context { .. } | Entry::Failed { .. }) => {
                if let Some(old) = self.entries.remove(&id) {
                    self.forget(old);
                }
                Ok(())
            }
        }
    }

    fn unref_key(&mut self, key_id: u64) {
        if let MapEntry::Occupied(mut e) = self.entries.entry(key_id)
            && let Entry::Key { refs, .. } = e.get_mut()
        {
            *refs = refs.saturating_sub(1);
            if *refs == 0 {
                e.remove();
                self.stats.resource_removed(ResourceKind::Key);
            }
        }
    }

    /// Updates counters and key references for an entry that left the table.
    fn forget(&mut self, entry: Entry<K, C>) {
        match entry {
            Entry::Key { .. } => self.stats.resource_removed(ResourceKind::Key),
            Entry::Context { kind, key, ctx } => {
                drop(ctx);
                self.stats.resource_removed(kind);
                if let Some(key_id) = key {
                    self.unref_key(key_id);
                }
            }
            Entry::Failed { .. } => self.stats.resource_removed(ResourceKind::FailedContext),
        }
    }

    /// Drops a key's guard reference (`InvalidResourceType` for a context id).
    pub(crate) fn release_key(&mut self, id: u64) -> Result<(), ErrorCode> {
        match self.entries.get(&id) {
            Some(Entry::Context { .. } | Entry::Failed { .. }) => {
                Err(ErrorCode::InvalidResourceType)
            }
            _ => self.release(id),
        }
    }

    /// Destroys a (possibly failed) context (`InvalidResourceType` for a key id).
    pub(crate) fn destroy_context(&mut self, id: u64) -> Result<(), ErrorCode> {
        match self.entries.get(&id) {
            Some(Entry::Key { .. }) => Err(ErrorCode::InvalidResourceType),
            _ => self.release(id),
        }
    }

    /// Live references on a key (guard + contexts), for tests and status.
    #[cfg(test)]
    fn key_refs(&self, id: u64) -> Option<u32> {
        match self.entries.get(&id) {
            Some(Entry::Key { refs, .. }) => Some(*refs),
            _ => None,
        }
    }
}

impl<K, C> Drop for ResourceTable<K, C> {
    /// Disconnect: every resource of the connection goes, whatever the client did.
    fn drop(&mut self) {
        for (_, entry) in self.entries.drain() {
            match entry {
                Entry::Key { .. } => self.stats.resource_removed(ResourceKind::Key),
                Entry::Context { kind, .. } => self.stats.resource_removed(kind),
                Entry::Failed { .. } => self.stats.resource_removed(ResourceKind::FailedContext),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    struct Counter(Cell<u64>);
    impl IdSource for Counter {
        fn random_u64(&self) -> Result<u64, ErrorCode> {
            let v = self.0.get();
            self.0.set(
                v.wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407),
            );
            Ok(v)
        }
    }

    /// A source that keeps returning the same value: the table must not loop forever.
    struct Stuck;
    impl IdSource for Stuck {
        fn random_u64(&self) -> Result<u64, ErrorCode> {
            Ok(7)
        }
    }

    fn table(limit: usize) -> (ResourceTable<&'static str, u8>, Arc<Stats>) {
        let stats = Arc::new(Stats::default());
        (ResourceTable::new(limit, stats.clone()), stats)
    }

    #[test]
    fn guard_and_contexts_share_the_key() {
        let ids = Counter(Cell::new(1));
        let (mut t, stats) = table(16);
        let k = t.insert_key("k", None, &ids).unwrap();
        let c1 = t
            .insert_context(1, ResourceKind::SignContext, Some(k), &ids)
            .unwrap();
        let c2 = t
            .insert_context(2, ResourceKind::SignContext, Some(k), &ids)
            .unwrap();
        assert_eq!(t.key_refs(k), Some(3));
        t.release(k).unwrap();
        // The guard is gone: no new context, no second release, but the key lives on.
        assert_eq!(t.key_refs(k), Some(2));
        assert_eq!(
            t.insert_context(3, ResourceKind::SignContext, Some(k), &ids),
            Err(ErrorCode::ResourceNotFound)
        );
        assert_eq!(t.release(k), Err(ErrorCode::ResourceNotFound));
        assert_eq!(t.guarded_key(k).err(), Some(ErrorCode::ResourceNotFound));
        assert_eq!(*t.context_mut(c1).unwrap(), 1);
        t.release(c1).unwrap();
        assert_eq!(t.key_refs(k), Some(1));
        t.release(c2).unwrap();
        assert_eq!(t.key_refs(k), None, "last reference frees the key");
        assert_eq!(stats.snapshot().live_total(), 0);
    }

    #[test]
    fn a_repeated_guard_needs_as_many_releases() {
        let ids = Counter(Cell::new(1));
        let (mut t, _stats) = table(16);
        let k = t.insert_key("k", None, &ids).unwrap();
        t.add_guard(k).unwrap();
        assert_eq!(t.key_refs(k), Some(2));
        t.release(k).unwrap();
        // One guard left: the key is still usable and can bind contexts.
        assert!(t.guarded_key(k).is_ok());
        t.release(k).unwrap();
        assert_eq!(t.key_refs(k), None);
        assert_eq!(t.release(k), Err(ErrorCode::ResourceNotFound));
        assert_eq!(t.add_guard(k), Err(ErrorCode::ResourceNotFound));
    }

    #[test]
    fn a_slot_origin_lives_exactly_as_long_as_the_key() {
        let ids = Counter(Cell::new(3));
        let (mut t, _) = table(16);
        let origin = SlotOrigin {
            owner: 1000,
            name: "k".into(),
            created_ms: 7,
        };
        let k = t.insert_key("k", Some(origin.clone()), &ids).unwrap();
        let e = t.insert_key("e", None, &ids).unwrap();
        assert_eq!(t.key_origin(e), None, "ephemeral");
        let c = t
            .insert_context(1, ResourceKind::SignContext, Some(k), &ids)
            .unwrap();
        t.release(k).unwrap();
        // Only the context holds the key now: it is still a slot key.
        assert_eq!(t.key_origin(k), Some(&origin));
        assert_eq!(t.context_key_id(c), Some(k));
        t.release(c).unwrap();
        assert_eq!(t.key_origin(k), None, "gone with the last reference");
    }

    #[test]
    fn context_release_before_guard_keeps_key() {
        let ids = Counter(Cell::new(5));
        let (mut t, _) = table(16);
        let k = t.insert_key("k", None, &ids).unwrap();
        let c = t
            .insert_context(1, ResourceKind::MacContext, Some(k), &ids)
            .unwrap();
        t.release(c).unwrap();
        assert_eq!(t.key_refs(k), Some(1));
        assert!(t.guarded_key(k).is_ok());
        assert_eq!(t.context_mut(c).err(), Some(ErrorCode::ResourceNotFound));
    }

    #[test]
    fn quota_and_type_errors() {
        let ids = Counter(Cell::new(9));
        let (mut t, _) = table(2);
        let k = t.insert_key("k", None, &ids).unwrap();
        let c = t
            .insert_context(1, ResourceKind::HashContext, None, &ids)
            .unwrap();
        assert_eq!(t.insert_key("x", None, &ids), Err(ErrorCode::QuotaExceeded));
        assert_eq!(t.check_quota(), Err(ErrorCode::QuotaExceeded));
        assert_eq!(t.context_mut(k).err(), Some(ErrorCode::InvalidResourceType));
        assert_eq!(t.guarded_key(c).err(), Some(ErrorCode::InvalidResourceType));
        assert_eq!(t.release_key(c), Err(ErrorCode::InvalidResourceType));
        assert_eq!(t.destroy_context(k), Err(ErrorCode::InvalidResourceType));
        t.destroy_context(c).unwrap();
        assert_eq!(t.destroy_context(c), Err(ErrorCode::ResourceNotFound));
        t.insert_key("y", None, &ids).unwrap();
    }

    #[test]
    fn failed_context_releases_key_and_reports_its_code() {
        let ids = Counter(Cell::new(3));
        let (mut t, stats) = table(8);
        let k = t.insert_key("k", None, &ids).unwrap();
        let c = t
            .insert_context(1, ResourceKind::AeadContext, Some(k), &ids)
            .unwrap();
        t.release(k).unwrap();
        t.fail_context(c, ErrorCode::OperationTimedOut);
        assert_eq!(t.key_refs(k), None, "timed-out context released the key");
        assert_eq!(t.context_mut(c).err(), Some(ErrorCode::OperationTimedOut));
        let snap = stats.snapshot();
        assert_eq!(snap.live_of(ResourceKind::FailedContext), 1);
        assert_eq!(snap.live_of(ResourceKind::AeadContext), 0);
        t.release(c).unwrap();
        assert_eq!(stats.snapshot().live_total(), 0);
    }

    #[test]
    fn drop_frees_everything_and_ids_are_never_zero() {
        let ids = Counter(Cell::new(0)); // first draw is 0: must be skipped
        let (mut t, stats) = table(64);
        let k = t.insert_key("k", None, &ids).unwrap();
        assert_ne!(k, 0);
        for i in 0..10 {
            t.insert_context(i, ResourceKind::SignContext, Some(k), &ids)
                .unwrap();
        }
        assert_eq!(stats.snapshot().live_total(), 11);
        drop(t);
        assert_eq!(stats.snapshot().live_total(), 0);
    }

    #[test]
    fn stuck_rng_fails_cleanly() {
        let (mut t, _) = table(8);
        t.insert_key("a", None, &Stuck).unwrap();
        assert_eq!(
            t.insert_key("b", None, &Stuck),
            Err(ErrorCode::InternalError)
        );
    }
}
