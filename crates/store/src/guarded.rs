//! Caller-aware wrappers: the access rules of [`crate::acl`] applied in one place, with the
//! existence-hiding rule of issue 5 (a caller with no right to a slot gets `AccessDenied`
//! whether or not the slot exists).

use zeroize::Zeroizing;

use crate::acl::{SlotAccess, access};
use crate::error::StoreError;
use crate::record::SlotMeta;
use crate::slot_ref::SlotRef;
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
        slot: SlotRef<'_>,
        caller: Caller,
    ) -> Result<(SlotMeta, SlotAccess), StoreError> {
        // The daemon's own slots do not exist for callers, admins included.
        if crate::validate::is_reserved_slot_name(slot.name) {
            return Err(StoreError::AccessDenied);
        }
        let meta = match self.meta(slot) {
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
        slot: SlotRef<'_>,
        caller: Caller,
        required: u32,
    ) -> Result<(SlotMeta, SlotAccess, Zeroizing<Vec<u8>>), StoreError> {
        let (_, rights) = self.meta_for(slot, caller)?;
        if rights.operations == 0 || required & !rights.operations != 0 {
            return Err(StoreError::NotPermitted);
        }
        let (meta, secret) = self.load(slot)?;
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

    /// Deletes if the caller is the owner or an admin; an admin-locked slot only by an admin.
    /// Returns the deleted record's secret.
    pub fn delete_for(
        &self,
        slot: SlotRef<'_>,
        caller: Caller,
    ) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        // The first check gives the existence-hiding error; the second, inside the deleting
        // transaction, makes the right and the delete one atomic step (a slot deleted and
        // re-created by someone else in between is judged on its new owner).
        self.meta_for(slot, caller)?;
        let result = self.delete_if(slot, |m| {
            require(m, caller, |r| r.manage)?;
            // An admin's lock freezes the slot for its owner entirely: deleting (and then
            // re-creating the name) would lift it by other means.
            if m.locked_by_admin && !caller.is_admin {
                return Err(StoreError::SlotLocked);
            }
            Ok(())
        });
        hide_missing(result, caller)
    }

    /// Grants if the caller is the owner.
    pub fn grant_for(
        &self,
        slot: SlotRef<'_>,
        caller: Caller,
        uid: u32,
        permissions: u32,
    ) -> Result<SlotMeta, StoreError> {
        self.meta_for(slot, caller)?;
        let result = self.grant_if(slot, uid, permissions, |m| require(m, caller, |r| r.grant));
        hide_missing(result, caller)
    }

    /// Locks or unlocks if the caller is the owner or an admin (the same right as delete: an
    /// operator can freeze a key without being able to use it). An admin's lock is recorded
    /// as such: the owner cannot lift it ([`StoreError::SlotLocked`]).
    pub fn set_locked_for(
        &self,
        slot: SlotRef<'_>,
        caller: Caller,
        locked: bool,
    ) -> Result<SlotMeta, StoreError> {
        self.meta_for(slot, caller)?;
        let result = self.set_locked_if(slot, locked, caller.is_admin, |m| {
            require(m, caller, |r| r.manage)
        });
        hide_missing(result, caller)
    }

    /// Revokes if the caller is the owner.
    pub fn revoke_for(
        &self,
        slot: SlotRef<'_>,
        caller: Caller,
        uid: u32,
    ) -> Result<bool, StoreError> {
        self.meta_for(slot, caller)?;
        let result = self.revoke_if(slot, uid, |m| require(m, caller, |r| r.grant));
        hide_missing(result, caller)
    }
}

/// `AccessDenied` unless the caller's rights on `meta` (the record as the writing transaction
/// sees it) pass `right`.
fn require(
    meta: &SlotMeta,
    caller: Caller,
    right: impl FnOnce(&SlotAccess) -> bool,
) -> Result<(), StoreError> {
    if right(&access(meta, caller.uid, caller.is_admin)) {
        Ok(())
    } else {
        Err(StoreError::AccessDenied)
    }
}

/// A slot that vanished between the two checks is, like any missing slot, `AccessDenied` to
/// a non-admin.
fn hide_missing<T>(result: Result<T, StoreError>, caller: Caller) -> Result<T, StoreError> {
    match result {
        Err(StoreError::KeySlotEmpty) if !caller.is_admin => Err(StoreError::AccessDenied),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use warden_core::Algorithm;

    use super::*;
    use crate::FileMasterKey;
    use crate::record::{NewSlot, SlotState};

    fn slot(owner: u32) -> NewSlot {
        NewSlot {
            name: "shared".into(),
            owner_uid: owner,
            algorithm: Algorithm::Ed25519,
            permissions: 0x30,
            exportable: false,
        }
    }

    const SHARED: SlotRef<'static> = SlotRef::new(1, "shared");

    /// The race the in-transaction check closes: uid 1 passes the first check on its slot,
    /// then an admin deletes it and uid 2 creates a slot of that name in its own namespace
    /// before uid 1's write. The write phase judges the record it actually changes (and
    /// names are per owner), so uid 1 can neither grant on nor delete uid 2's slot.
    #[test]
    fn the_write_phase_rechecks_the_record_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store = SlotStore::open(dir.path(), &FileMasterKey::in_dir(dir.path())).unwrap();
        let one = Caller {
            uid: 1,
            is_admin: false,
        };
        store.create_slot(&slot(1), &[7u8; 32]).unwrap();
        let (_, rights) = store.meta_for(SHARED, one).unwrap();
        assert!(rights.grant && rights.manage, "uid 1 owns the first slot");

        store.delete(SHARED).unwrap();
        store.create_slot(&slot(2), &[8u8; 32]).unwrap();
        let theirs = SlotRef::new(2, "shared");

        let grant = store.grant_if(SHARED, 3, 0x20, |m| require(m, one, |r| r.grant));
        assert!(matches!(grant, Err(StoreError::KeySlotEmpty)), "{grant:?}");
        let grant = store.grant_if(theirs, 3, 0x20, |m| require(m, one, |r| r.grant));
        assert!(matches!(grant, Err(StoreError::AccessDenied)), "{grant:?}");
        let revoke = store.revoke_if(theirs, 3, |m| require(m, one, |r| r.grant));
        assert!(
            matches!(revoke, Err(StoreError::AccessDenied)),
            "{revoke:?}"
        );
        let delete = store.delete_if(theirs, |m| require(m, one, |r| r.manage));
        assert!(
            matches!(delete, Err(StoreError::AccessDenied)),
            "{delete:?}"
        );
        let meta = store.meta(theirs).unwrap();
        assert_eq!((meta.owner_uid, meta.grants.len()), (2, 0));
        // uid 1's bare name is its own namespace: it never reaches uid 2's slot.
        assert!(matches!(
            store.meta_for(SlotRef::parse("shared", 1).unwrap(), one),
            Err(StoreError::AccessDenied)
        ));

        // The owner's own calls still go through, and a vanished slot stays hidden.
        let two = Caller {
            uid: 2,
            is_admin: false,
        };
        store.grant_for(theirs, two, 3, 0x20).unwrap();
        store.delete_for(theirs, two).unwrap();
        assert!(matches!(
            store.delete_for(theirs, two),
            Err(StoreError::AccessDenied)
        ));
    }

    #[test]
    fn lock_needs_the_manage_right_and_hides_what_it_must() {
        let dir = tempfile::tempdir().unwrap();
        let store = SlotStore::open(dir.path(), &FileMasterKey::in_dir(dir.path())).unwrap();
        let caller = |uid, is_admin| Caller { uid, is_admin };
        store.create_slot(&slot(1), &[7u8; 32]).unwrap();
        store.grant_for(SHARED, caller(1, false), 3, 0x20).unwrap();
        // A grantee sees the slot but may not lock it; a stranger learns nothing.
        let e = store.set_locked_for(SHARED, caller(3, false), true);
        assert!(matches!(e, Err(StoreError::AccessDenied)), "{e:?}");
        let e = store.set_locked_for(SHARED, caller(4, false), true);
        assert!(matches!(e, Err(StoreError::AccessDenied)), "{e:?}");
        let e = store.set_locked_for(SlotRef::new(1, "missing"), caller(4, false), true);
        assert!(matches!(e, Err(StoreError::AccessDenied)), "{e:?}");
        // The owner locks: nobody may use it, grants are frozen; an admin may unlock.
        store
            .set_locked_for(SHARED, caller(1, false), true)
            .unwrap();
        let e = store.load_for(SHARED, caller(3, false), 0x20);
        assert!(matches!(e, Err(StoreError::NotPermitted)), "{e:?}");
        let e = store.grant_for(SHARED, caller(1, false), 5, 0x20);
        assert!(matches!(e, Err(StoreError::SlotLocked)), "{e:?}");
        store
            .set_locked_for(SHARED, caller(9, true), false)
            .unwrap();
        store.load_for(SHARED, caller(3, false), 0x20).unwrap();
    }

    #[test]
    fn an_admin_lock_is_not_the_owners_to_lift() {
        let dir = tempfile::tempdir().unwrap();
        let store = SlotStore::open(dir.path(), &FileMasterKey::in_dir(dir.path())).unwrap();
        let caller = |uid, is_admin| Caller { uid, is_admin };
        store.create_slot(&slot(1), &[7u8; 32]).unwrap();
        let m = store.set_locked_for(SHARED, caller(9, true), true).unwrap();
        assert!(m.locked_by_admin);
        let e = store.set_locked_for(SHARED, caller(1, false), false);
        assert!(matches!(e, Err(StoreError::SlotLocked)), "{e:?}");
        assert_eq!(store.meta(SHARED).unwrap().state, SlotState::Locked);
        // Re-locking as the owner does not downgrade the admin's lock.
        store
            .set_locked_for(SHARED, caller(1, false), true)
            .unwrap();
        assert!(store.meta(SHARED).unwrap().locked_by_admin);
        // An owner lock can be lifted by the owner; an admin lock survives reopening.
        drop(store);
        let store = SlotStore::open(dir.path(), &FileMasterKey::in_dir(dir.path())).unwrap();
        assert!(store.meta(SHARED).unwrap().locked_by_admin);
        store
            .set_locked_for(SHARED, caller(9, true), false)
            .unwrap();
        store
            .set_locked_for(SHARED, caller(1, false), true)
            .unwrap();
        assert!(!store.meta(SHARED).unwrap().locked_by_admin);
        store
            .set_locked_for(SHARED, caller(1, false), false)
            .unwrap();
    }
}
