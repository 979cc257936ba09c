//! The data plane (seed decision 10, issue 13): [`MemoryAllocator`] hands out
//! [`MemoryRegion`]s — shared memory the daemon maps too — so payloads of any size (up to the
//! daemon's region quotas) never travel through the socket.
//!
//! The allocator is obtained apart from [`crate::CryptoStack`] (it is the data plane; the
//! stack is the control plane), from the same [`StackConfig`]: both join the process's shared
//! connection for that socket, and a region can only be used on the connection it was
//! registered on (the daemon's region ids are per connection, like key ids). A region is
//! released (unmapped in the daemon, its quota returned) when the [`MemoryRegion`] drops.
//!
//! Latency: a region operation costs one round trip on the socket. On a VM whose idle vCPUs
//! halt, the wake-ups of a round trip cost tens of microseconds, which is most of the overhead
//! of a 1 MiB operation; [`StackConfig::busy_poll`] (with the daemon's `limits.busy_poll_us`)
//! trades CPU time for it (BENCHMARKS.md, "Data plane").

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use warden_core::{ErrorCode, Timeout};
use warden_wire::messages::{Request, Response, ShmSlice};

use crate::config::StackConfig;
use crate::error::{Error, Result, unexpected};
use crate::link::Link;
use crate::registry;

/// Registers and releases shared-memory regions on a daemon connection.
#[derive(Clone)]
pub struct MemoryAllocator {
    link: Link,
    quota: u64,
    in_use: Arc<AtomicU64>,
}

impl std::fmt::Debug for MemoryAllocator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryAllocator")
            .field("quota", &self.quota)
            .field("in_use", &self.in_use())
            .finish()
    }
}

fn invalid(detail: &'static str) -> Error {
    Error::Invalid(warden_core::Error::new(ErrorCode::InvalidArgument, detail))
}

impl MemoryAllocator {
    /// Joins (or opens) the connection `config` names. Regions it makes work with every
    /// [`crate::CryptoStack`] on that same connection (the default: one shared connection per
    /// socket and process).
    ///
    /// # Errors
    /// As [`crate::CryptoStack::connect`].
    pub fn connect(config: StackConfig) -> Result<Self> {
        let path = config.resolved_socket_path();
        let trust = config.daemon_trust()?;
        let conn = if config.is_dedicated() {
            registry::dedicated(&path, config.connect_bound(), &trust)?
        } else {
            registry::shared(&path, config.connect_bound(), &trust)?
        };
        Ok(Self {
            link: Link::new(conn, Arc::new(config)),
            quota: u64::MAX,
            in_use: Arc::new(AtomicU64::new(0)),
        })
    }

    /// An allocator on `stack`'s connection, whatever its configuration (a dedicated
    /// connection included). The allocator stays a separate object: it holds the connection,
    /// not the stack.
    pub fn for_stack(stack: &crate::CryptoStack) -> Self {
        Self {
            link: stack.link.clone(),
            quota: u64::MAX,
            in_use: Arc::new(AtomicU64::new(0)),
        }
    }

    /// This allocator with a client-side quota: `allocate` refuses (`QuotaExceeded`) beyond
    /// `bytes` in use, before asking the daemon (which enforces its own quotas regardless).
    #[must_use]
    pub fn with_quota(mut self, bytes: u64) -> Self {
        self.quota = bytes;
        self
    }

    /// The client-side quota (`u64::MAX` = only the daemon's).
    pub fn quota(&self) -> u64 {
        self.quota
    }

    /// Bytes of live regions made by this allocator (and its clones).
    pub fn in_use(&self) -> u64 {
        self.in_use.load(Ordering::Relaxed)
    }

    /// A new zero-filled region of `len` bytes, registered with the daemon.
    ///
    /// # Errors
    /// `QuotaExceeded` (this allocator's quota, or the daemon's per-connection / per-uid /
    /// total region budget or region count), `InvalidMemoryRegion` (refused by the daemon),
    /// [`Error::Invalid`] for a zero length or a memfd the system refused.
    pub fn allocate(&self, len: usize) -> Result<MemoryRegion> {
        let n = len as u64;
        if n == 0 {
            return Err(invalid("a region needs at least one byte"));
        }
        let claimed = self
            .in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                u.checked_add(n).filter(|&t| t <= self.quota)
            });
        if claimed.is_err() {
            return Err(Error::Daemon {
                code: ErrorCode::QuotaExceeded,
                detail: Some("the allocator's quota is in use".into()),
            });
        }
        let made = warden_shm::Region::create(n)
            .map_err(|_| invalid("the system refused a shared-memory region"))
            .and_then(|region| {
                let id = self.register(&region, n)?;
                Ok((region, id))
            });
        match made {
            Ok((region, id)) => Ok(MemoryRegion {
                region,
                id,
                link: self.link.clone(),
                in_use: Arc::clone(&self.in_use),
            }),
            Err(e) => {
                self.in_use.fetch_sub(n, Ordering::AcqRel);
                Err(e)
            }
        }
    }

    fn register(&self, region: &warden_shm::Region, len: u64) -> Result<u64> {
        self.register_fd(region.fd(), len)
    }

    /// Sends `fd` as a region of `len` bytes and returns the daemon's id for it. For tests
    /// of the daemon's checks (a non-memfd, an unsealed memfd, a wrong size must be refused);
    /// applications use [`MemoryAllocator::allocate`].
    #[doc(hidden)]
    pub fn register_fd(&self, fd: std::os::fd::BorrowedFd<'_>, len: u64) -> Result<u64> {
        let req = Request::RegionRegister { len };
        self.link
            .request_with_fd(&req, fd, Timeout::Default, |r| match r {
                Response::RegionRegistered { region_id } => Ok(region_id),
                _ => Err(unexpected()),
            })
    }

    /// Releases a region id on this allocator's connection (tests: a foreign or stale id
    /// must be refused). Regions release themselves on drop.
    #[doc(hidden)]
    pub fn release_id(&self, region_id: u64) -> Result<()> {
        release(&self.link, region_id)
    }
}

fn release(link: &Link, region_id: u64) -> Result<()> {
    link.request(
        &Request::RegionRelease { region_id },
        Timeout::Default,
        |r| match r {
            Response::Done => Ok(()),
            _ => Err(unexpected()),
        },
    )
}

/// A shared-memory region registered with the daemon: read and write it like a byte buffer,
/// then hand [`RegionSlice`]s of it to context operations. Released on drop.
pub struct MemoryRegion {
    region: warden_shm::Region,
    id: u64,
    link: Link,
    in_use: Arc<AtomicU64>,
}

impl std::fmt::Debug for MemoryRegion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryRegion")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl MemoryRegion {
    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.region.len()
    }

    /// Never true (regions have at least one byte).
    pub fn is_empty(&self) -> bool {
        self.region.is_empty()
    }

    /// The region's id on its connection (for diagnostics and tests).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The bytes. The daemon writes outputs here during operations that name this region
    /// (those take `&mut MemoryRegion`, so no view is alive meanwhile).
    pub fn as_slice(&self) -> &[u8] {
        self.region.mapping().as_slice()
    }

    /// The bytes, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        self.region.mapping_mut().as_mut_slice()
    }

    /// A new descriptor of the region's memfd (to map it elsewhere, e.g. in a child
    /// process; the daemon's mapping and quota are unaffected).
    ///
    /// # Errors
    /// The `fcntl(F_DUPFD_CLOEXEC)` error.
    pub fn clone_fd(&self) -> std::io::Result<std::os::fd::OwnedFd> {
        self.region.fd().try_clone_to_owned()
    }

    /// A reference to `range` for a context operation.
    ///
    /// # Errors
    /// [`Error::Invalid`] if `range` is not inside the region.
    pub fn slice(&self, range: Range<usize>) -> Result<RegionSlice> {
        if range.start > range.end {
            return Err(invalid("range outside the region"));
        }
        let r = warden_shm::check_range(self.len(), range.start as u64, range.len() as u64)
            .map_err(|_| invalid("range outside the region"))?;
        Ok(RegionSlice {
            region: self.id,
            offset: r.start as u64,
            len: r.len() as u64,
        })
    }

    /// A reference to `len` bytes at `offset` *without* the client's bounds check. For tests
    /// that the daemon refuses ranges outside a region; applications use
    /// [`MemoryRegion::slice`].
    #[doc(hidden)]
    pub fn unchecked_slice(&self, offset: u64, len: u64) -> RegionSlice {
        RegionSlice {
            region: self.id,
            offset,
            len,
        }
    }

    /// Whether `s` was made from this region.
    pub(crate) fn check_slice(&self, s: &RegionSlice) -> Result<()> {
        if s.region == self.id {
            Ok(())
        } else {
            Err(invalid("the slice was made from another region"))
        }
    }

    /// Whether this region was registered on `link`'s connection.
    pub(crate) fn check_link(&self, link: &Link) -> Result<()> {
        if self.link.same_connection(link) {
            Ok(())
        } else {
            Err(invalid(
                "the region belongs to another connection (use one StackConfig for both)",
            ))
        }
    }
}

impl Drop for MemoryRegion {
    fn drop(&mut self) {
        // A destructor cannot report; a lost connection unmaps the region anyway.
        let _ = release(&self.link, self.id);
        self.in_use
            .fetch_sub(self.region.len() as u64, Ordering::AcqRel);
    }
}

/// A byte range of a [`MemoryRegion`] (made by [`MemoryRegion::slice`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionSlice {
    region: u64,
    offset: u64,
    len: u64,
}

impl RegionSlice {
    /// The range inside the region.
    pub fn range(&self) -> Range<usize> {
        // Saturating: an `unchecked_slice` may name a range past `u64::MAX`.
        self.offset as usize..self.offset.saturating_add(self.len) as usize
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the range is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn wire(&self) -> ShmSlice {
        ShmSlice {
            region: self.region,
            offset: self.offset,
            len: self.len,
        }
    }
}
