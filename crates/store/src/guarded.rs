//! Caller-aware wrappers: the access rules of [`crate::acl`] applied in one place, with the
//! existence-hiding rule of issue 5 (a caller with no right to a slot gets `AccessDenied`
//! whether or not the slot exists).

use zeroize::Zeroizing;

use crate::acl::{SlotAccess, access};
use crate::error::StoreError;
use crate::record::SlotMeta;
use crate::store::SlotStore;

/// Who is asking: the peer's uid and whether config names it an admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// Peer uid from the socket credentials.
    pub uid: u32,
    /// Whether the uid is a configured admin.
    pub is_admin: bool,
}

impl SlotStore {
    /// Metadata and the caller's rights. A missing slot, or one the caller may not see, is
    /// `AccessDenied` for non-admins (admins get `KeySlotEmpty` for a missing slot).
    pub fn meta_for(
        &self,
        name: &str,
        caller: Caller,
    ) -> Result<(SlotMeta, SlotAccess), StoreError> {
        // The daemon's own slots do not exist for callers, admins included.
        if crate::validate::is_reserved_slot_name(name) {
            return Err(StoreError::AccessDenied);
        }
        let meta = match self.meta(name) {
            Ok(m) => m,
            Err(StoreError::KeySlotEmpty) if !caller.is_admin => {
                return Err(StoreError::AccessDenied);
            }
            Err(e) => return Err(e),
        };
        let rights = access(&meta, caller.uid, caller.is_admin);
        if !rights.visible {
            return Err(StoreError::AccessDenied);
        }
        Ok((meta, rights))
    }

    /// Loads a slot's secret for a caller that needs at least the permission bits `required`
    /// (0: any use). Fails with `AccessDenied` as [`Self::meta_for`] does, and with
    /// [`StoreError::NotPermitted`] if the caller sees the slot but lacks bits (or has none
    /// at all, e.g. an admin who is not the owner). The key object the daemon builds from the
    /// secret must be limited to the returned `SlotAccess::operations`.
    pub fn load_for(
        &self,
        name: &str,
        caller: Caller,
        required: u32,
    ) -> Result<(SlotMeta, SlotAccess, Zeroizing<Vec<u8>>), StoreError> {
        let (_, rights) = self.meta_for(name, caller)?;
        if rights.operations == 0 || required & !rights.operations != 0 {
            return Err(StoreError::NotPermitted);
        }
        let (meta, secret) = self.load(name)?;
        // Re-derive from what was actually loaded: the record may have changed in between.
        let rights = access(&meta, caller.uid, caller.is_admin);
        if rights.operations == 0 || required & !rights.operations != 0 {
            return Err(StoreError::NotPermitted);
        }
        Ok((meta, rights, secret))
    }

    /// The slots the caller may see (owner, grantee, or everything for an admin).
    pub fn list_for(&self, caller: Caller) -> Result<Vec<SlotMeta>, StoreError> {
        Ok(self
            .list()?
            .into_iter()
            .filter(|m| !crate::validate::is_reserved_slot_name(&m.name))
            .filter(|m| access(m, caller.uid, caller.is_admin).visible)
            .collect())
    }

    /// Deletes if the caller is the owner or an admin.
    pub fn delete_for(&self, name: &str, caller: Caller) -> Result<(), StoreError> {
        let (_, rights) = self.meta_for(name, caller)?;
        if !rights.manage {
            return Err(StoreError::AccessDenied);
        }
        self.delete(name)
    }

    /// Grants if the caller is the owner.
    pub fn grant_for(
        &self,
        name: &str,
        caller: Caller,
        uid: u32,
        permissions: u32,
    ) -> Result<SlotMeta, StoreError> {
        let (_, rights) = self.meta_for(name, caller)?;
        if !rights.grant {
            return Err(StoreError::AccessDenied);
        }
        self.grant(name, uid, permissions)
    }

    /// Revokes if the caller is the owner.
    pub fn revoke_for(&self, name: &str, caller: Caller, uid: u32) -> Result<bool, StoreError> {
        let (_, rights) = self.meta_for(name, caller)?;
        if !rights.grant {
            return Err(StoreError::AccessDenied);
        }
        self.revoke(name, uid)
    }
}
