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
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use warden_arena::{Account, Claim};
use warden_core::{Error, ErrorCode};
use warden_shm::{Mapping, Scratch, ShmError};
use warden_wire::messages::ShmSlice;

use crate::closer::{ClientSocket, Closer};
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
    scratch_keep: usize,
    uids: Mutex<HashMap<u32, Weak<Account>>>,
    /// Where descriptors the daemon does not map are closed (never on a worker).
    closer: Arc<Closer>,
}

impl RegionAccounts {
    pub(crate) fn new(config: &Config) -> Self {
        let l = &config.limits;
        Self {
            total: Account::new(l.region_bytes_total, None),
            per_uid: l.region_bytes_per_uid,
            per_connection: l.region_bytes_per_connection,
            max_regions: l.max_regions_per_connection,
            scratch_keep: l.scratch_keep_bytes,
            uids: Mutex::new(HashMap::new()),
            closer: Arc::new(Closer::default()),
        }
    }

    /// Whether `uid` has too many unmapped descriptors still waiting to be closed to be
    /// admitted (see `closer`).
    pub(crate) fn descriptors_stuck(&self, uid: u32) -> bool {
        self.closer.over_limit(uid)
    }

    /// Closes a client socket the acceptor refuses (`Closer::release_socket`).
    pub(crate) fn release_refused(&self, uid: u32, stream: std::os::unix::net::UnixStream) {
        self.closer.release_socket(uid, stream.into());
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
            scratch_keep: self.scratch_keep,
            stats,
            uid,
            closer: Arc::clone(&self.closer),
            hostile: false,
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
    /// `limits.scratch_keep_bytes`: private copies up to this size reuse the thread's spare.
    scratch_keep: usize,
    stats: Arc<Stats>,
    uid: u32,
    closer: Arc<Closer>,
    /// This uid has too many descriptors waiting to be closed: the connection must end.
    hostile: bool,
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
        } else {
            self.discard(fd);
        }
    }

    /// Closes a descriptor this connection will not map, never on this thread unless it is
    /// a memfd (`closer`).
    fn discard(&mut self, fd: OwnedFd) {
        if !self.closer.discard(self.uid, fd) {
            self.hostile = true;
        }
    }

    /// `stream`, this connection's socket, released through the closer when dropped.
    pub(crate) fn client_socket(&self, stream: std::os::unix::net::UnixStream) -> ClientSocket {
        self.closer.client_socket(self.uid, stream)
    }

    /// Whether the connection must end: its uid has too many descriptors waiting to be
    /// closed (a stalling filesystem's files, see `closer`).
    pub(crate) fn must_close(&self) -> bool {
        self.hostile || self.closer.over_limit(self.uid)
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
        let result = self.map_fd(&fd, len, ids);
        // Mapped or not, the descriptor is done with (the mapping keeps the memory).
        self.discard(fd);
        result
    }

    fn map_fd(
        &mut self,
        fd: &OwnedFd,
        len: u64,
        ids: &(impl IdSource + ?Sized),
    ) -> Result<u64, Error> {
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
        let map = Mapping::map_client_fd(fd.as_fd(), len, self.account.limit() as u64)
            .map_err(refused)?;
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

    /// A private copy of the bytes a reference names, for inputs the daemon must see exactly
    /// once (signing, decryption, key material): read here once, then only the copy is used;
    /// it is wiped when dropped.
    pub(crate) fn copy_in(&self, s: &ShmSlice) -> Result<Scratch, Error> {
        let bytes = self.input(s)?;
        let mut copy = self.private(bytes.len())?;
        // Not `copy_from_slice`: `warden_arena::copy` avoids glibc's slow `rep movsb` case.
        warden_arena::copy(copy.as_mut_slice(), bytes);
        Ok(copy)
    }

    /// `len` bytes of private scratch memory (zeroed; wiped when dropped), from the thread's
    /// spare up to `limits.scratch_keep_bytes`.
    pub(crate) fn private(&self, len: usize) -> Result<Scratch, Error> {
        Scratch::reusing(len, self.scratch_keep)
            .map_err(|_| Error::new(ErrorCode::AllocationFailed, "private memory refused"))
    }

    /// Writes `bytes` at the start of the range `s` names and returns the range written
    /// (`InsufficientBufferSize` if it does not fit; nothing is written then).
    pub(crate) fn write_out(&mut self, s: &ShmSlice, bytes: &[u8]) -> Result<ShmSlice, Error> {
        let dst = self.output(s)?.get_mut(..bytes.len()).ok_or(Error::new(
            ErrorCode::InsufficientBufferSize,
            "output region range too small",
        ))?;
        warden_arena::copy(dst, bytes);
        Ok(ShmSlice {
            len: bytes.len() as u64,
            ..*s
        })
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
        while let Some(fd) = self.pending.pop_front() {
            self.discard(fd);
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
            self.0.set(self.0.get() + 1);
            Ok(self.0.get())
        }
    }

    fn region(len: u64) -> (warden_shm::Region, OwnedFd) {
        let r = warden_shm::Region::create(len).unwrap();
        let fd = r.fd().try_clone_to_owned().unwrap();
        (r, fd)
    }

    #[test]
    fn registration_charges_every_account_and_release_returns_it() {
        let mut c = Config::default();
        c.limits.region_bytes_per_connection = 1 << 20;
        c.limits.region_bytes_per_uid = 1 << 20;
        c.limits.region_bytes_total = 2 << 20;
        c.limits.max_regions_per_connection = 2;
        let accounts = RegionAccounts::new(&c);
        let stats = Arc::new(Stats::default());
        let ids = Counter(Cell::new(0));
        let mut a = accounts.for_connection(1000, stats.clone());
        let mut b = accounts.for_connection(1000, stats.clone());
        let no_fd = a.register(4096, &ids).unwrap_err();
        assert_eq!(no_fd.code(), ErrorCode::InvalidMemoryRegion);
        let (_r1, fd) = region(512 << 10);
        a.descriptor_arrived(fd);
        let id = a.register(512 << 10, &ids).unwrap();
        assert_eq!(accounts.mapped(), 512 << 10);
        let (_r2, fd) = region(768 << 10);
        b.descriptor_arrived(fd);
        assert_eq!(
            b.register(768 << 10, &ids).unwrap_err().code(),
            ErrorCode::QuotaExceeded,
            "the uid's megabyte is half used"
        );
        a.release(id).unwrap();
        assert_eq!(
            a.release(id).unwrap_err().code(),
            ErrorCode::InvalidMemoryRegion
        );
        assert_eq!(accounts.mapped(), 0);
        let (_r3, fd) = region(4096);
        a.descriptor_arrived(fd);
        let id = a.register(4096, &ids).unwrap();
        let s = ShmSlice {
            region: id,
            offset: 4000,
            len: 97,
        };
        assert_eq!(
            a.input(&s).unwrap_err().code(),
            ErrorCode::InvalidMemoryRegion
        );
        let s = ShmSlice {
            region: id,
            offset: u64::MAX,
            len: 2,
        };
        assert_eq!(
            a.input(&s).unwrap_err().code(),
            ErrorCode::InvalidMemoryRegion
        );
        let s = ShmSlice {
            region: id ^ 1,
            offset: 0,
            len: 1,
        };
        assert_eq!(
            a.input(&s).unwrap_err().code(),
            ErrorCode::InvalidMemoryRegion
        );
        drop(a);
        assert_eq!(
            accounts.mapped(),
            0,
            "the table's drop unmaps and returns all"
        );
        assert_eq!(stats.snapshot().live_of(ResourceKind::Region), 0);
    }

    #[test]
    fn copy_in_is_a_snapshot_and_write_out_writes_only_what_fits() {
        let accounts = RegionAccounts::new(&Config::default());
        let mut a = accounts.for_connection(1, Arc::new(Stats::default()));
        let (mut client, fd) = region(4096);
        a.descriptor_arrived(fd);
        let id = a.register(4096, &Counter(Cell::new(0))).unwrap();
        client.mapping_mut().as_mut_slice()[..4].copy_from_slice(b"once");
        let at = |offset, len| ShmSlice {
            region: id,
            offset,
            len,
        };
        let copy = a.copy_in(&at(0, 4)).unwrap();
        // The client rewrites its region after the read: the daemon's copy does not change.
        client.mapping_mut().as_mut_slice()[..4].copy_from_slice(b"twic");
        assert_eq!(copy.as_slice(), b"once");
        assert_eq!(
            a.copy_in(&at(4090, 7)).unwrap_err().code(),
            ErrorCode::InvalidMemoryRegion
        );

        let w = a.write_out(&at(100, 8), b"secret").unwrap();
        assert_eq!((w.offset, w.len), (100, 6));
        assert_eq!(&client.mapping().as_slice()[100..108], b"secret\0\0");
        assert_eq!(
            a.write_out(&at(200, 5), b"secret").unwrap_err().code(),
            ErrorCode::InsufficientBufferSize
        );
        assert!(
            client.mapping().as_slice()[200..206]
                .iter()
                .all(|&b| b == 0)
        );
        assert_eq!(
            a.write_out(&at(4095, 6), b"secret").unwrap_err().code(),
            ErrorCode::InvalidMemoryRegion
        );
    }

    #[test]
    fn default_limits_take_a_megabyte() {
        let accounts = RegionAccounts::new(&Config::default());
        let mut a = accounts.for_connection(1, Arc::new(Stats::default()));
        let (_r, fd) = region(1 << 20);
        a.descriptor_arrived(fd);
        a.register(1 << 20, &Counter(Cell::new(0))).unwrap();
    }
}
