//! The one error type of `warden-store`.

use std::fmt;
use std::path::PathBuf;

use warden_core::ErrorCode;

/// Everything that can go wrong in the store.
///
/// Display strings are lowercase and never contain key bytes. Integrity failures are
/// deliberately opaque: they do not say which check failed.
#[non_exhaustive]
#[derive(Debug)]
pub enum StoreError {
    /// A caller-supplied value was rejected (bad slot name, unknown permission bits,
    /// a grant that is not a subset of the slot's permissions, ...).
    InvalidArgument(&'static str),
    /// `create_slot` on a name that already holds a key.
    KeySlotOccupied,
    /// The named slot holds no key.
    KeySlotEmpty,
    /// The slot is locked: its key may not be loaded or its grants changed until unlocked.
    SlotLocked,
    /// The caller's identity has no right to this slot, or the slot does not exist and the
    /// caller may not learn that.
    AccessDenied,
    /// The caller sees the slot but lacks the permission bits for the operation.
    NotPermitted,
    /// A per-owner quota (slots, grants) would be exceeded; names which one.
    QuotaExceeded(&'static str),
    /// A stored record (or the store's key check) failed authentication: tampered,
    /// swapped between slots, truncated or otherwise corrupt. Opaque on purpose.
    Integrity,
    /// The master key does not open this store (a different or regenerated key).
    WrongMasterKey,
    /// The store was written by a newer schema than this build understands.
    UnsupportedSchema {
        /// Version found in the database.
        found: u64,
        /// Newest version this build supports.
        supported: u64,
    },
    /// An action permit was already used (or used up its allowed count).
    PermitReplayed,
    /// The receipt chain moved on since the caller read it (compare-and-swap failed).
    ChainConflict {
        /// Counter the caller expected.
        expected: u64,
        /// Counter actually stored.
        current: u64,
    },
    /// A file or directory that guards the master key has permissions looser than allowed.
    InsecurePermissions {
        /// The offending path.
        path: PathBuf,
        /// Its permission bits (`st_mode & 0o7777`).
        mode: u32,
    },
    /// A file or directory that guards the master key belongs to another user.
    WrongOwner {
        /// The offending path.
        path: PathBuf,
        /// Its owner.
        uid: u32,
        /// The uid the daemon runs as.
        expected: u32,
    },
    /// The master key file exists but is not a regular 32-byte file.
    MasterKeyMalformed {
        /// The offending path.
        path: PathBuf,
    },
    /// Another process has the store open.
    AlreadyOpen,
    /// An I/O error while touching the data directory or key file.
    Io {
        /// What the store was doing.
        context: &'static str,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The embedded database reported an error (I/O, corruption detected by its checksums, ...).
    Database(Box<redb::Error>),
    /// The random number generator failed.
    Rng,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidArgument(what) => write!(f, "invalid argument: {what}"),
            Self::KeySlotOccupied => f.write_str("key slot is occupied"),
            Self::KeySlotEmpty => f.write_str("key slot is empty"),
            Self::SlotLocked => f.write_str("key slot is locked"),
            Self::AccessDenied => f.write_str("access denied"),
            Self::NotPermitted => f.write_str("key operation not permitted"),
            Self::QuotaExceeded(what) => write!(f, "quota exceeded: {what}"),
            Self::Integrity => f.write_str("stored record failed integrity check"),
            Self::WrongMasterKey => f.write_str("master key does not open this store"),
            Self::UnsupportedSchema { found, supported } => write!(
                f,
                "store schema version {found} is newer than supported version {supported}"
            ),
            Self::PermitReplayed => f.write_str("permit already used"),
            Self::ChainConflict { expected, current } => write!(
                f,
                "receipt chain is at counter {current}, caller expected {expected}"
            ),
            Self::InsecurePermissions { path, mode } => write!(
                f,
                "{} has mode {mode:04o}, which is looser than allowed",
                path.display()
            ),
            Self::WrongOwner {
                path,
                uid,
                expected,
            } => write!(
                f,
                "{} is owned by uid {uid}, expected uid {expected}",
                path.display()
            ),
            Self::MasterKeyMalformed { path } => {
                write!(f, "master key file {} is malformed", path.display())
            }
            Self::AlreadyOpen => f.write_str("store is already open in another process"),
            Self::Io { context, source } => write!(f, "i/o error while {context}: {source}"),
            Self::Database(e) => write!(f, "database error: {e}"),
            Self::Rng => f.write_str("random number generator failed"),
        }
    }
}

impl From<StoreError> for warden_core::Error {
    fn from(e: StoreError) -> Self {
        let detail = match &e {
            StoreError::InvalidArgument(what) | StoreError::QuotaExceeded(what) => what,
            StoreError::Integrity => "stored record failed integrity check",
            StoreError::SlotLocked => "key slot is locked",
            StoreError::PermitReplayed => "permit already used",
            StoreError::AccessDenied => "access denied",
            StoreError::NotPermitted => "key operation not permitted",
            StoreError::KeySlotEmpty => "key slot is empty",
            StoreError::KeySlotOccupied => "key slot is occupied",
            _ => "key store error",
        };
        warden_core::Error::new(e.code(), detail)
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Database(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}

impl StoreError {
    /// The protocol error code the daemon reports for this error.
    ///
    /// Integrity and wrong-master-key failures are `OperationFailed` on purpose: a client learns
    /// nothing about why a stored record did not authenticate.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Self::KeySlotOccupied => ErrorCode::KeySlotOccupied,
            Self::KeySlotEmpty => ErrorCode::KeySlotEmpty,
            Self::AccessDenied | Self::SlotLocked | Self::PermitReplayed => ErrorCode::AccessDenied,
            Self::NotPermitted => ErrorCode::KeyOperationNotPermitted,
            Self::QuotaExceeded(_) => ErrorCode::QuotaExceeded,
            Self::InsecurePermissions { .. } | Self::WrongOwner { .. } => ErrorCode::AccessDenied,
            Self::Integrity | Self::WrongMasterKey | Self::ChainConflict { .. } | Self::Rng => {
                ErrorCode::OperationFailed
            }
            Self::UnsupportedSchema { .. }
            | Self::MasterKeyMalformed { .. }
            | Self::AlreadyOpen
            | Self::Io { .. }
            | Self::Database(_) => ErrorCode::PersistFailed,
        }
    }

    pub(crate) fn io(context: &'static str) -> impl FnOnce(std::io::Error) -> Self {
        move |source| Self::Io { context, source }
    }
}

/// Any redb error becomes [`StoreError::Database`], except the lock conflict which has its own variant.
pub(crate) fn db<E: Into<redb::Error>>(e: E) -> StoreError {
    match e.into() {
        redb::Error::DatabaseAlreadyOpen => StoreError::AlreadyOpen,
        other => StoreError::Database(Box::new(other)),
    }
}
