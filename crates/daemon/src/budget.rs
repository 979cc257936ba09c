//! The daemon's memory budget (issue 12): what it can ever use, computed at start-up.
//!
//! Every per-connection and per-context buffer is claimed up front and bounded:
//! - session arenas: `connection_slots() × arena_bytes` (`max_connections` plus the
//!   admin reserve), mapped and prefaulted at start-up;
//! - reply buffers: one FlatBuffers builder of `max_frame_size` + slack per connection,
//!   claimed when the connection is accepted, never grown (`codec`), plus 1 KiB for replies
//!   held back while the client pipelines (`held`);
//! - context buffers: a pool of 64 KiB chunks (`context_buffer_bytes_total`) mapped and
//!   prefaulted at start-up; a connection takes chunks under its own and its uid's account
//!   ([`ContextBuffers`]); at any limit the client gets `QuotaExceeded`, nothing grows;
//! - resource tables: at most `max_resources_per_connection` entries per connection;
//! - shared-memory regions (issue 13): mapped, not allocated — the pages are the clients'
//!   memfds — at most `region_bytes_per_connection` / `_per_uid` / `_total` mapped
//!   (`crate::regions`); reported beside the budget, outside its total, since the daemon
//!   commits only the pages it writes outputs into (and copy-in scratch, at most twice one
//!   request's input, per in-flight request);
//! - kept scratch: each worker and long-lane thread keeps up to `scratch_keep_bytes` of
//!   wiped private scratch mapped between requests (`warden_shm::Scratch::reusing`).
//!
//! Not inside the budget, and bounded only by count: the key and context objects themselves
//! (aws-lc key schedules, RSA / ML-DSA / SLH-DSA key material, parsed public keys), allocated
//! by the crypto library on its own heap. At most `max_connections ×
//! max_resources_per_connection` of them exist at once; [`MemoryBudget::objects`] says how
//! many, and the status counters show how many are live. The base figure is the process's
//! resident size measured before any pool is claimed (code, libraries, thread stacks).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use warden_arena::{Account, ArenaOptions, ChunkPool};
use warden_crypto::{BufferSource, DEFAULT_BUFFER_LIMIT};

use crate::DaemonError;
use crate::config::Config;

/// Reply-builder slack beyond the frame (kept equal to `codec::BUILDER_SLACK`).
const REPLY_SLACK: usize = 1024;
/// Bytes one resource-table entry may take: the hash map slot (id + entry, ~80 bytes) at
/// the map's worst load factor (it doubles, so up to 2 slots per entry) plus control bytes.
const TABLE_ENTRY_BYTES: usize = 192;

/// What the daemon can ever use, by part, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemoryBudget {
    /// Resident size of the process before any pool was claimed (measured; 0 if unreadable).
    pub base: u64,
    /// Session arenas (all of them, claimed at start-up).
    pub arenas: u64,
    /// Reply builders, one per connection at most.
    pub reply_buffers: u64,
    /// The context buffer pool (claimed at start-up).
    pub context_buffers: u64,
    /// Resource table entries at the connection and resource limits.
    pub resource_tables: u64,
    /// Private scratch the worker and long-lane threads keep between requests.
    pub kept_scratch: u64,
    /// Key and context objects that may exist at once (their size is the crypto library's;
    /// see the module documentation).
    pub objects: u64,
    /// Shared-memory region bytes that may be mapped at once (all connections).
    pub regions_total: u64,
    /// ... by one uid.
    pub regions_per_uid: u64,
    /// ... by one connection.
    pub regions_per_connection: u64,
    /// Regions one connection may hold.
    pub max_regions_per_connection: u64,
}

impl MemoryBudget {
    /// The figures `config` implies, with `base` the measured starting size.
    pub fn for_config(config: &Config, base: u64) -> Self {
        let l = &config.limits;
        let conns = l.connection_slots() as u64;
        let chunks = (l.context_buffer_bytes_total / DEFAULT_BUFFER_LIMIT) as u64;
        Self {
            base,
            arenas: conns * l.arena_bytes as u64,
            reply_buffers: conns
                * (u64::from(l.max_frame_size) + (REPLY_SLACK + crate::held::HELD_BYTES) as u64),
            context_buffers: chunks * DEFAULT_BUFFER_LIMIT as u64,
            resource_tables: conns * (l.max_resources_per_connection * TABLE_ENTRY_BYTES) as u64,
            kept_scratch: ((config.effective_workers() + l.long_lane_threads)
                * l.scratch_keep_bytes) as u64,
            objects: conns * l.max_resources_per_connection as u64,
            regions_total: l.region_bytes_total as u64,
            regions_per_uid: l.region_bytes_per_uid as u64,
            regions_per_connection: l.region_bytes_per_connection as u64,
            max_regions_per_connection: l.max_regions_per_connection as u64,
        }
    }

    /// The sum of every bounded part (objects excluded, see [`MemoryBudget::objects`]).
    pub fn total(&self) -> u64 {
        self.base
            + self.arenas
            + self.reply_buffers
            + self.context_buffers
            + self.resource_tables
            + self.kept_scratch
    }
}

impl fmt::Display for MemoryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        write!(
            f,
            "memory budget: {:.1} MiB (base {:.1}, arenas {:.1}, reply buffers {:.1}, \
             context buffers {:.1}, resource tables {:.1}, kept scratch {:.1}; outside it: at most {} key and \
             context objects; shared regions mapped: at most {:.1} MiB, {:.1} per uid, {:.1} \
             per connection in at most {} regions)",
            mib(self.total()),
            mib(self.base),
            mib(self.arenas),
            mib(self.reply_buffers),
            mib(self.context_buffers),
            mib(self.resource_tables),
            mib(self.kept_scratch),
            self.objects,
            mib(self.regions_total),
            mib(self.regions_per_uid),
            mib(self.regions_per_connection),
            self.max_regions_per_connection
        )
    }
}

/// Resident bytes of this process now (`VmRSS`), 0 if `/proc` cannot say.
pub(crate) fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

/// The context buffer pool and the per-uid accounts over it.
pub(crate) struct ContextBuffers {
    pool: ChunkPool,
    per_uid: usize,
    per_connection: usize,
    /// Live uids' accounts. Only `Weak`s: an account lives while a connection (or a chunk)
    /// of its uid does, so the map is bounded by the connection limit.
    uids: Mutex<HashMap<u32, Weak<Account>>>,
}

impl ContextBuffers {
    pub(crate) fn new(config: &Config, options: ArenaOptions) -> Result<Self, DaemonError> {
        let l = &config.limits;
        let chunks = l.context_buffer_bytes_total / DEFAULT_BUFFER_LIMIT;
        let pool = ChunkPool::with_options(chunks, DEFAULT_BUFFER_LIMIT, options)
            .map_err(|e| DaemonError::Arena(format!("context buffer pool: {e}")))?;
        Ok(Self {
            pool,
            per_uid: l.context_buffer_bytes_per_uid,
            per_connection: l.context_buffer_bytes_per_connection,
            uids: Mutex::new(HashMap::new()),
        })
    }

    /// A new connection's source: its own account inside its uid's.
    pub(crate) fn for_connection(&self, uid: u32) -> BufferSource {
        let uid_account = {
            // Plain map operations: a poisoned lock is still consistent.
            let mut uids = self.uids.lock().unwrap_or_else(PoisonError::into_inner);
            match uids.get(&uid).and_then(Weak::upgrade) {
                Some(a) => a,
                None => {
                    uids.retain(|_, w| w.strong_count() > 0);
                    let a = Account::new(self.per_uid, None);
                    uids.insert(uid, Arc::downgrade(&a));
                    a
                }
            }
        };
        let conn = Account::new(self.per_connection, Some(uid_account));
        BufferSource::new(self.pool.clone(), conn)
    }

    /// Chunks in use now.
    #[cfg(test)]
    pub(crate) fn chunks_in_use(&self) -> usize {
        self.pool.in_use()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_budget_is_bounded_and_adds_up() {
        let b = MemoryBudget::for_config(&Config::default(), 10 << 20);
        assert_eq!(b.arenas, (64 + 2) * 256 * 1024);
        assert_eq!(b.context_buffers, 32 << 20);
        assert_eq!(
            b.total(),
            b.base
                + b.arenas
                + b.reply_buffers
                + b.context_buffers
                + b.resource_tables
                + b.kept_scratch
        );
        let threads = Config::default().effective_workers() as u64 + 2;
        assert_eq!(b.kept_scratch, threads * (4 << 20));
        assert!(b.total() < 96 << 20, "defaults stay small: {b}");
        assert!(b.to_string().starts_with("memory budget: "));
    }

    #[test]
    fn connections_of_one_uid_share_its_account_and_other_uids_do_not() {
        let mut c = Config::default();
        c.limits.context_buffer_bytes_per_connection = 2 * DEFAULT_BUFFER_LIMIT;
        c.limits.context_buffer_bytes_per_uid = 3 * DEFAULT_BUFFER_LIMIT;
        c.limits.context_buffer_bytes_total = 8 * DEFAULT_BUFFER_LIMIT;
        let bufs = ContextBuffers::new(&c, ArenaOptions::new()).unwrap();
        let a1 = bufs.for_connection(1000);
        let a2 = bufs.for_connection(1000);
        let b = bufs.for_connection(2000);
        let mut held = Vec::new();
        for src in [&a1, &a1, &a2] {
            held.push(take(src));
        }
        assert!(held.iter().all(Option::is_some));
        assert!(take(&a2).is_none(), "uid 1000's three chunks are in use");
        held.push(take(&b));
        assert!(held[3].is_some(), "another uid keeps its own budget");
        assert_eq!(bufs.chunks_in_use(), 4);
        held.clear();
        assert_eq!(
            bufs.chunks_in_use(),
            0,
            "dropped contexts give their chunks back"
        );
        assert!(take(&a2).is_some());
    }

    /// An Ed25519 stream with one buffered update (one chunk of `src`), or `None` if the
    /// update was refused.
    fn take(src: &BufferSource) -> Option<Box<dyn warden_crypto::CryptoContext>> {
        use warden_provider_awslc::{AwsLcProvider, ContextKind, Provider};
        let p = AwsLcProvider::new();
        let key = p
            .generate_key(
                &warden_core::GenerateKeyParams::builder()
                    .algorithm(warden_core::Algorithm::Ed25519)
                    .permissions(warden_core::KeyOperationPermission::SIGN)
                    .build()
                    .unwrap(),
            )
            .unwrap();
        use warden_core::{Persistence, ResourceId, ResourceType};
        let cfg = warden_core::ContextConfig::builder()
            .algorithm(warden_core::Algorithm::Ed25519)
            .key(ResourceId::new(
                1,
                ResourceType::Key,
                Persistence::Ephemeral,
                0,
            ))
            .build()
            .unwrap();
        let mut ctx = p
            .create_context_in(ContextKind::Sign, &cfg, Some(Arc::new(key)), src)
            .unwrap();
        ctx.init(&[]).unwrap();
        ctx.update(b"buffered", &mut []).ok().map(|_| ctx)
    }
}
