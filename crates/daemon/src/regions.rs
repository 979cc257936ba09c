//! Shared-memory regions of one connection (the data plane, issue 13), and the per-uid and
//! daemon-wide accounts their bytes are charged to.
//!
//! A region arrives as a memfd attached (`SCM_RIGHTS`) to the `RegionRegister` frame: every
//! read of the socket takes descriptors with the bytes (`Connection`), and they wait here in
//! arrival order until a `RegionRegister` takes the oldest. `warden_shm::Mapping` refuses
//! anything but a shrink-sealed tmpfs memfd of the declared length, so no client action can
//! make the daemon fault on a mapped page. Ids are 64-bit values from the provider's RNG, like
//! key ids: unpredictable, meaningful on this connection only; an id of another connection is
//! the same `InvalidMemoryRegion` as an id never issued. The table is dropped with the
//! connection, however it ends, and every mapping with it.

use std::collections::{HashMap, VecDeque};
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use warden_arena::{Account, Claim};
use warden_core::{Error, ErrorCode};
use warden_shm::{Mapping, ShmError};
use warden_wire::messages::ShmSlice;

use crate::config::Config;
use crate::resources::IdSource;
use crate::stats::{ResourceKind, Stats};

/// Descriptors kept while waiting for their `RegionRegister`; more are closed at once.
const MAX_PENDING_FDS: usize = 4;
/// Tries before giving up on finding an unused id.
const ID_ATTEMPTS: usize = 8;

/// The daemon-wide region account and the per-uid accounts below it.
pub(crate) struct RegionAccounts {
    total: Arc<Account>,
    per_uid: usize,
    per_connection: usize,
    max_regions: usize,
    uids: Mutex<HashMap<u32, Weak<Account>>>,
}

impl RegionAccounts {
    pub(crate) fn new(config: &Config) -> Self {
        let l = &config.limits;
        Self {
            total: Account::new(l.region_bytes_total, None),
            per_uid: l.region_bytes_per_uid,
            per_connection: l.region_bytes_per_connection,
            max_regions: l.max_regions_per_connection,
            uids: Mutex::new(HashMap::new()),
        }
    }

    /// A new connection's empty table, charging into its uid's account.
    pub(crate) fn for_connection(&self, uid: u32, stats: Arc<Stats>) -> Regions {
        let uid_account = {
            // Plain map operations: a poisoned lock is still consistent.
            let mut uids = self.uids.lock().unwrap_or_else(PoisonError::into_inner);
            match uids.get(&uid).and_then(Weak::upgrade) {
                Some(a) => a,
                None => {
                    uids.retain(|_, w| w.strong_count() > 0);
                    let a = Account::new(self.per_uid, Some(Arc::clone(&self.total)));
                    uids.insert(uid, Arc::downgrade(&a));
                    a
                }
            }
        };
        Regions {
            map: HashMap::new(),
            pending: VecDeque::new(),
            account: Account::new(self.per_connection, Some(uid_account)),
            limit: self.max_regions,
            stats,
        }
    }

    /// Region bytes mapped now, over the daemon.
    #[cfg(test)]
    pub(crate) fn mapped(&self) -> usize {
        self.total.used()
    }
}

struct Region {
    map: Mapping,
    /// The region's bytes in the connection → uid → daemon accounts, while it is mapped.
    _claim: Claim,
}

/// One connection's regions and the descriptors that arrived for them.
pub(crate) struct Regions {
    map: HashMap<u64, Region>,
    pending: VecDeque<OwnedFd>,
    account: Arc<Account>,
    limit: usize,
    stats: Arc<Stats>,
}

fn invalid(detail: &'static str) -> Error {
    Error::new(ErrorCode::InvalidMemoryRegion, detail)
}

fn refused(e: ShmError) -> Error {
    invalid(match e {
        ShmError::NotMemfd => "descriptor is not a memfd",
        ShmError::NotSealed => "memfd is not sealed against shrinking",
        ShmError::WriteSealed => "memfd is sealed against writing",
        ShmError::SizeMismatch { .. } => "memfd size is not the declared length",
        ShmError::BadLength => "region length is zero or above the per-connection limit",
        ShmError::OutOfBounds => "range outside the region",
        ShmError::Overlap => "input and output ranges overlap",
        _ => "region could not be mapped",
    })
}

impl Regions {
    /// A descriptor that came with the socket's bytes. Beyond a few waiting, extras are
    /// closed (a client sending descriptors with no `RegionRegister` only wastes its own).
    pub(crate) fn descriptor_arrived(&mut self, fd: OwnedFd) {
        if self.pending.len() < MAX_PENDING_FDS {
            if self.pending.capacity() == 0 {
                self.pending.reserve_exact(MAX_PENDING_FDS);
            }
            self.pending.push_back(fd);
        }
    }

    /// Maps the oldest waiting descriptor as a region of `len` bytes and returns its id.
    pub(crate) fn register(
        &mut self,
        len: u64,
        ids: &(impl IdSource + ?Sized),
    ) -> Result<u64, Error> {
        let fd = self
            .pending
            .pop_front()
            .ok_or(invalid("no memfd came with the request"))?;
        if self.map.len() >= self.limit {
            return Err(Error::new(
                ErrorCode::QuotaExceeded,
                "regions per connection at the limit",
            ));
        }
        let bytes = usize::try_from(len).map_err(|_| refused(ShmError::BadLength))?;
        if bytes > self.account.limit() {
            return Err(Error::new(
                ErrorCode::QuotaExceeded,
                "region larger than the per-connection region budget",
            ));
        }
        let claim = self.account.try_claim(bytes).map_err(|_| {
            Error::new(
                ErrorCode::QuotaExceeded,
                "region budget of this connection, uid or daemon in use",
            )
        })?;
        let map = Mapping::from_client_fd(fd, len, self.account.limit() as u64).map_err(refused)?;
        let id = self.fresh_id(ids)?;
        self.map.insert(id, Region { map, _claim: claim });
        self.stats.resource_added(ResourceKind::Region);
        Ok(id)
    }

    fn fresh_id(&self, ids: &(impl IdSource + ?Sized)) -> Result<u64, Error> {
        for _ in 0..ID_ATTEMPTS {
            let id = ids.random_u64()?;
            if id != 0 && !self.map.contains_key(&id) {
                return Ok(id);
            }
        }
        Err(Error::from(ErrorCode::InternalError))
    }

    /// Unmaps a region and returns its bytes to the budget.
    pub(crate) fn release(&mut self, id: u64) -> Result<(), Error> {
        self.map
            .remove(&id)
            .ok_or(invalid("no such region on this connection"))?;
        self.stats.resource_removed(ResourceKind::Region);
        Ok(())
    }

    fn get(&self, id: u64) -> Result<&Region, Error> {
        self.map
            .get(&id)
            .ok_or(invalid("no such region on this connection"))
    }

    /// The bytes a reference names (read-only).
    pub(crate) fn input(&self, s: &ShmSlice) -> Result<&[u8], Error> {
        self.get(s.region)?
            .map
            .bytes(s.offset, s.len)
            .map_err(refused)
    }

    /// The bytes a reference names, writable.
    pub(crate) fn output(&mut self, s: &ShmSlice) -> Result<&mut [u8], Error> {
        self.map
            .get_mut(&s.region)
            .ok_or(invalid("no such region on this connection"))?
            .map
            .bytes_mut(s.offset, s.len)
            .map_err(refused)
    }

    /// An input and an output reference at once (same or different regions); they must not
    /// share a byte.
    pub(crate) fn input_output(
        &mut self,
        input: &ShmSlice,
        output: &ShmSlice,
    ) -> Result<(&[u8], &mut [u8]), Error> {
        if input.region == output.region {
            let r = self
                .map
                .get_mut(&input.region)
                .ok_or(invalid("no such region on this connection"))?;
            return r
                .map
                .split((input.offset, input.len), (output.offset, output.len))
                .map_err(refused);
        }
        let [i, o] = self.map.get_disjoint_mut([&input.region, &output.region]);
        let i = i.ok_or(invalid("no such region on this connection"))?;
        let o = o.ok_or(invalid("no such region on this connection"))?;
        Ok((
            i.map.bytes(input.offset, input.len).map_err(refused)?,
            o.map
                .bytes_mut(output.offset, output.len)
                .map_err(refused)?,
        ))
    }
}

impl Drop for Regions {
    fn drop(&mut self) {
        for _ in self.map.drain() {
            self.stats.resource_removed(ResourceKind::Region);
        }
    }
}
