//! Persistent key slots: resolve, persist, create keys directly in a slot, list, delete,
//! grant, revoke, lock. Slot keys are used exactly like ephemeral ones once resolved.
//!
//! Slot names are per owner. Every `slot` argument is either a bare name (`backup.key`: a
//! slot of the calling uid) or `uid/name` (`1000/backup.key`: a slot of uid 1000 that it
//! shared with the caller). A bare name therefore never reaches a key another uid created,
//! whatever it named its slot or granted. New slots are always created in the caller's own
//! namespace. [`KeyManagement::list_slots`] names each slot the way it must be addressed.

use warden_core::{
    Algorithm, DeriveKeyParams, ErrorCode, GenerateKeyParams, ImportKeyParams,
    KeyOperationPermission, ResourceId, UnwrapKeyParams,
};
use warden_wire::messages::{self as m, Request, Response};

use crate::error::unexpected;
use crate::error::{Error, Result};
use crate::keys::{KeyManagement, ResourceGuard, kdf, spec};

/// One slot as the caller may see it ([`KeyManagement::list_slots`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SlotInfo {
    /// The name to address the slot with: bare for the caller's own slots, `uid/name` for
    /// another owner's.
    pub name: String,
    /// Algorithm of its key.
    pub algorithm: Algorithm,
    /// Owner uid.
    pub owner_uid: u32,
    /// The slot's own permission bits.
    pub permissions: KeyOperationPermission,
    /// What the caller may do with it.
    pub effective: KeyOperationPermission,
    /// Whether the secret may ever be exported.
    pub exportable: bool,
    /// Grants `(uid, permissions)`; shown to the owner and admins only.
    pub grants: Vec<(u32, KeyOperationPermission)>,
    /// Creation time, Unix milliseconds.
    pub created_unix_ms: u64,
    /// The slot is locked: its key grants no use until unlocked (always `false` from a
    /// 1.0 daemon, which cannot lock slots).
    pub locked: bool,
}

fn with_slot<'a>(mut key: m::KeySpec<'a>, slot: &'a str) -> m::KeySpec<'a> {
    key.slot = Some(slot);
    key
}

fn perms(bits: u32) -> Result<KeyOperationPermission> {
    KeyOperationPermission::from_bits(bits)
        .map_err(|_| Error::Protocol("unknown permission bits from the daemon"))
}

impl KeyManagement {
    fn done(&self, req: &Request<'_>) -> Result<()> {
        self.link.request(req, self.timeout, |r| match r {
            Response::Done => Ok(()),
            _ => Err(unexpected()),
        })
    }

    /// Creates a key in a new slot and drops this connection's handle on it (the key stays in
    /// the slot). A created-in-slot key is durable before this returns.
    pub(crate) fn create_in_slot(&self, req: &Request<'_>) -> Result<()> {
        let guard = self.key(req)?;
        // The daemon answers with a per-connection handle on the new slot key; we do not keep
        // it. Releasing is best effort: the slot itself is already durable.
        let _ = guard.release();
        Ok(())
    }

    /// The per-connection key id of a persistent slot. The same name resolves to the same id
    /// on one connection; ids are unpredictable across connections. Errors: `AccessDenied`
    /// (no right, or no such slot for a caller without rights), `KeySlotEmpty`.
    pub fn resolve(&self, slot: &str) -> Result<ResourceGuard> {
        self.key(&Request::SlotResolve { name: slot })
    }

    /// Copies an ephemeral key into a new slot; `key` stays valid. `KeySlotOccupied` if taken.
    pub fn persist_key(&self, slot: &str, key: ResourceId) -> Result<()> {
        self.done(&Request::SlotPersist {
            key_id: key.id,
            name: slot,
        })
    }

    /// Generates a key directly into a new slot.
    pub fn generate_key_into(&self, slot: &str, p: &GenerateKeyParams) -> Result<()> {
        self.generate_key_into_with(slot, p, None)
    }

    /// [`Self::generate_key_into`] in the provider named `provider` (`None` = the default).
    /// The slot then records the provider and its token object id, never key bytes.
    pub fn generate_key_into_with(
        &self,
        slot: &str,
        p: &GenerateKeyParams,
        provider: Option<&str>,
    ) -> Result<()> {
        self.create_in_slot(&Request::GenerateKey(m::GenerateKey {
            key: with_slot(
                spec(p.algorithm(), p.permissions().bits(), p.exportable()),
                slot,
            ),
            rsa_bits: p.rsa_bits(),
            key_len: p.key_len(),
            provider,
        }))
    }

    /// Imports key material directly into a new slot.
    pub fn import_key_into(&self, slot: &str, p: &ImportKeyParams, material: &[u8]) -> Result<()> {
        self.create_in_slot(&Request::ImportKey(m::ImportKey {
            key: with_slot(
                spec(p.algorithm(), p.permissions().bits(), p.exportable()),
                slot,
            ),
            format: p.format(),
            material: m::Payload::Inline(material),
        }))
    }

    /// Derives a key from `base` directly into a new slot.
    pub fn derive_key_into(&self, slot: &str, base: ResourceId, p: &DeriveKeyParams) -> Result<()> {
        self.create_in_slot(&Request::DeriveKey(m::DeriveKey {
            base_key_id: base.id,
            kdf: kdf(p.kdf())?,
            key: with_slot(
                spec(p.output_algorithm(), p.permissions().bits(), p.exportable()),
                slot,
            ),
            output_len: p.output_len(),
        }))
    }

    /// Unwraps a key directly into a new slot.
    pub fn unwrap_key_into(
        &self,
        slot: &str,
        kek: ResourceId,
        wrapped: &[u8],
        p: &UnwrapKeyParams,
    ) -> Result<()> {
        self.create_in_slot(&Request::UnwrapKey(m::UnwrapKey {
            kek_id: kek.id,
            algorithm: p.algorithm().name(),
            wrapped: m::Payload::Inline(wrapped),
            key: with_slot(
                spec(
                    p.unwrapped_algorithm(),
                    p.permissions().bits(),
                    p.exportable(),
                ),
                slot,
            ),
        }))
    }

    /// Deletes a slot (owner or admin).
    pub fn delete_slot(&self, slot: &str) -> Result<()> {
        self.done(&Request::SlotDelete { name: slot })
    }

    /// Locks (`true`) or unlocks a slot (owner or admin). A locked slot keeps its key but
    /// grants no use (`KeyOperationNotPermitted`, also for ids resolved before the lock) and
    /// its grants are frozen. Needs a protocol 1.1 daemon (`UnsupportedOperation` otherwise).
    pub fn set_slot_locked(&self, slot: &str, locked: bool) -> Result<()> {
        self.done(&Request::SlotSetLocked { name: slot, locked })
    }

    /// The slots the caller may see, in name order (fetched page by page).
    pub fn list_slots(&self) -> Result<Vec<SlotInfo>> {
        let mut all: Vec<SlotInfo> = Vec::new();
        loop {
            let after = all.last().map(|s| s.name.clone()).unwrap_or_default();
            let (page, more) = self.list_page(&after, "")?;
            if more && page.is_empty() {
                return Err(Error::Protocol("empty slot page with more to come"));
            }
            all.extend(page);
            if !more {
                return Ok(all);
            }
        }
    }

    /// One slot's description (algorithm, owner, your permissions, …) without listing the
    /// store. `AccessDenied` if you may not see it (or it does not exist). Against a 1.0
    /// daemon, which ignores the filter, it is found in the full listing.
    pub fn slot_info(&self, slot: &str) -> Result<SlotInfo> {
        let denied = || Error::Daemon {
            code: ErrorCode::AccessDenied,
            detail: Some("slot not visible".into()),
        };
        let mut after = String::new();
        loop {
            let (page, more) = self.list_page(&after, slot)?;
            if let Some(info) = page.iter().find(|s| s.name == slot) {
                return Ok(info.clone());
            }
            match page.last() {
                Some(last) if more => after.clone_from(&last.name),
                _ => return Err(denied()),
            }
        }
    }

    fn list_page(&self, start_after: &str, only: &str) -> Result<(Vec<SlotInfo>, bool)> {
        let req = Request::SlotList {
            start_after,
            limit: 0,
            name: only,
        };
        self.link.request(&req, self.timeout, |r| match r {
            Response::SlotList { slots, more } => Ok((
                slots
                    .iter()
                    .map(|e| {
                        Ok(SlotInfo {
                            name: e.name.to_owned(),
                            algorithm: Algorithm::from_name(e.algorithm).map_err(|_| {
                                Error::Daemon {
                                    code: ErrorCode::UnsupportedAlgorithm,
                                    detail: Some("slot algorithm unknown to this client".into()),
                                }
                            })?,
                            owner_uid: e.owner_uid,
                            permissions: perms(e.permissions)?,
                            effective: perms(e.effective)?,
                            exportable: e.exportable,
                            grants: e
                                .grants()
                                .map(|(uid, p)| Ok((uid, perms(p)?)))
                                .collect::<Result<_>>()?,
                            created_unix_ms: e.created_unix_ms,
                            locked: e.locked,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?,
                more,
            )),
            _ => Err(unexpected()),
        })
    }

    /// Grants `uid` a subset of the slot's permissions (owner only). While the slot is
    /// locked its grants are frozen: grant and revoke answer `AccessDenied` ("key slot is
    /// locked").
    pub fn grant(&self, slot: &str, uid: u32, permissions: KeyOperationPermission) -> Result<()> {
        self.done(&Request::SlotGrant {
            name: slot,
            uid,
            permissions: permissions.bits(),
        })
    }

    /// Revokes `uid`'s grant on the slot (owner only; `AccessDenied` while it is locked).
    pub fn revoke(&self, slot: &str, uid: u32) -> Result<()> {
        self.done(&Request::SlotRevoke { name: slot, uid })
    }
}
