//! `Shared`: the state every thread of the daemon reads (configuration, provider, counters,
//! the arena and chunk pools, the memory budget, the persistent state). A leaf below the
//! request path: the event loop, the workers, the lane and the handlers all read it; it
//! knows none of them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use warden_arena::{ArenaOptions, ArenaPool};

use crate::DaemonError;
use crate::auth::Authenticator;
use crate::config::Config;
use crate::provider::ProviderRef;
use crate::stats::{PerUidStats, Stats, StatusSnapshot};

/// State every thread of the daemon reads.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) provider: ProviderRef,
    pub(crate) stats: Arc<Stats>,
    /// Each uid's share of `stats` (what a non-admin's Status shows).
    pub(crate) per_uid: PerUidStats,
    pub(crate) pool: ArenaPool,
    /// Context buffer chunks, per uid and per connection (issue 12).
    pub(crate) buffers: crate::budget::ContextBuffers,
    /// Shared-memory region accounts, per uid and daemon-wide (issue 13).
    pub(crate) regions: crate::regions::RegionAccounts,
    pub(crate) token_keys: crate::token_keys::TokenKeyAccounts,
    /// What the daemon can ever use, computed before the pools were claimed.
    pub(crate) budget: crate::budget::MemoryBudget,
    pub(crate) started: Instant,
    /// Key store, permit service and audit log (opened at start-up or on first use).
    pub(crate) persistent: crate::state::PersistentCell,
    pub(crate) auth: Authenticator,
    pub(crate) stop: AtomicBool,
}

impl Shared {
    pub(crate) fn new(config: Config, provider: ProviderRef) -> Result<Self, DaemonError> {
        let l = &config.limits;
        let budget =
            crate::budget::MemoryBudget::for_config(&config, crate::budget::resident_bytes());
        let options = ArenaOptions {
            mlock: l.lock_arenas,
            ..ArenaOptions::new()
        };
        let pool = ArenaPool::with_options(l.connection_slots(), l.arena_bytes, options)
            .map_err(|e| DaemonError::Arena(e.to_string()))?;
        let buffers = crate::budget::ContextBuffers::new(&config, options)?;
        let stats = Arc::new(Stats::default());
        let regions = crate::regions::RegionAccounts::new(&config);
        let token_keys = crate::token_keys::TokenKeyAccounts::new(&config);
        Ok(Self {
            auth: Authenticator::new(&config.access),
            persistent: crate::state::PersistentCell::new(config.clone()),
            config,
            provider,
            per_uid: PerUidStats::new(stats.clone()),
            stats,
            pool,
            buffers,
            regions,
            token_keys,
            budget,
            started: Instant::now(),
            stop: AtomicBool::new(false),
        })
    }

    /// Whether the daemon is shutting down (long work stops early rather than delay it).
    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
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
}
