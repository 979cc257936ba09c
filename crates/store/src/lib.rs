//! Persistent, encrypted key slots for warden, plus the durable tables and audit log the
//! daemon needs around them.
//!
//! - [`SlotStore`]: named key slots in a redb database; each secret AES-256-GCM encrypted
//!   under a master key with its metadata bound as associated data; every mutation durable
//!   (fsynced) before the call returns.
//! - [`MasterKeySource`] / [`FileMasterKey`]: where the master key comes from.
//! - [`acl`]: owner / grantee / admin access decisions.
//! - [`ReplayTable`], [`ReceiptChain`], [`DurableRecords`]: persisted permit replay counts,
//!   the receipt chain head and log, and generic records (issue 6).
//! - [`AuditLog`]: JSON-lines audit trail that cannot carry key bytes.
//!
//! The store never sees a crypto provider: it stores an opaque secret blob (the key's storage
//! serialisation) per slot.

#![forbid(unsafe_code)]
// Client, file and network bytes reach this crate: no indexing or panics that could
// turn them into a crash (tests may).
#![deny(clippy::indexing_slicing, clippy::panic)]
#![cfg_attr(test, allow(clippy::indexing_slicing, clippy::panic))]

pub mod acl;
pub mod audit;
mod certs;
mod durable;
mod error;
mod fsutil;
mod guarded;
mod master_key;
mod record;
mod schema;
mod slot_ref;
mod store;
mod validate;

pub use acl::{SlotAccess, access, effective_permissions};
pub use audit::{AuditEvent, AuditLog, AuditOutcome};
pub use certs::{CERT_NAMESPACE, CertSlot, MAX_CERT_GRANTS};
pub use durable::{
    DurableRecords, MAX_HASH_LEN, MAX_ISSUER_LEN, MAX_PERMIT_ID_LEN, MAX_RECEIPT_LEN,
    MAX_RECORD_LEN, PermitUse, ReceiptChain, ReceiptChainState, ReceiptCheckpoint, RecordEntry,
    ReplayTable,
};
pub use error::StoreError;
pub use guarded::Caller;
pub use master_key::{FileMasterKey, MASTER_KEY_FILE, MASTER_KEY_LEN, MasterKey, MasterKeySource};
pub use record::{MAX_GRANTS, MAX_SECRET_LEN, NewSlot, RECORD_VERSION, SlotMeta, SlotState};
pub use schema::SCHEMA_VERSION;
pub use slot_ref::{OWNER_SEPARATOR, SlotRef};
pub use store::{DB_FILE, SlotQuotas, SlotStore, StoreOptions};
pub use validate::{
    ALL_PERMISSION_BITS, EXPORT_BIT, MAX_SLOT_NAME_LEN, RESERVED_SLOT_PREFIX,
    is_reserved_slot_name, validate_slot_name,
};

/// How this crate works and why (design notes; the short overview is `ARCHITECTURE.md`).
#[doc = include_str!("design.md")]
pub mod design {}
