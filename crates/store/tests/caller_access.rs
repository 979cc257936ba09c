//! The caller-aware API: owner / grantee / admin / stranger, existence hiding, export rules.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use warden_core::{Algorithm, ErrorCode, KeyOperationPermission as P};
use warden_store::{Caller, FileMasterKey, NewSlot, SlotRef, SlotStore, StoreError};

/// The owner's slot.
const K: SlotRef<'static> = SlotRef::new(1000, "k");

const OWNER: Caller = Caller {
    uid: 1000,
    is_admin: false,
};
const GRANTEE: Caller = Caller {
    uid: 2000,
    is_admin: false,
};
const STRANGER: Caller = Caller {
    uid: 3000,
    is_admin: false,
};
const ADMIN: Caller = Caller {
    uid: 0,
    is_admin: true,
};

fn store_with_key(exportable: bool) -> (tempfile::TempDir, SlotStore) {
    let tmp = tempfile::tempdir().unwrap();
    let store = SlotStore::open(tmp.path(), &FileMasterKey::in_dir(tmp.path())).unwrap();
    store
        .create_slot(
            &NewSlot {
                name: "k".into(),
                owner_uid: OWNER.uid,
                algorithm: Algorithm::Ed25519,
                permissions: (P::SIGN | P::VERIFY | P::EXPORT).bits(),
                exportable,
            },
            b"pkcs8 bytes",
        )
        .unwrap();
    store.grant(K, GRANTEE.uid, P::VERIFY.bits()).unwrap();
    (tmp, store)
}

#[test]
fn stranger_cannot_tell_missing_from_forbidden() {
    let (_t, store) = store_with_key(false);
    let existing = store.meta_for(K, STRANGER).unwrap_err();
    let missing = store
        .meta_for(SlotRef::new(OWNER.uid, "nope"), STRANGER)
        .unwrap_err();
    assert!(matches!(existing, StoreError::AccessDenied));
    assert!(matches!(missing, StoreError::AccessDenied));
    assert_eq!(existing.to_string(), missing.to_string());
    assert_eq!(existing.code(), ErrorCode::AccessDenied);
    for e in [
        store.load_for(K, STRANGER, 0).unwrap_err(),
        store.delete_for(K, STRANGER).unwrap_err(),
        store
            .grant_for(K, STRANGER, 3000, P::VERIFY.bits())
            .unwrap_err(),
        store.revoke_for(K, STRANGER, 2000).unwrap_err(),
    ] {
        assert!(matches!(e, StoreError::AccessDenied), "{e}");
    }
    assert!(store.list_for(STRANGER).unwrap().is_empty());
    // Admins may learn that a slot is missing.
    assert!(matches!(
        store.meta_for(SlotRef::new(OWNER.uid, "nope"), ADMIN),
        Err(StoreError::KeySlotEmpty)
    ));
}

#[test]
fn grantee_uses_only_its_subset_and_cannot_manage() {
    let (_t, store) = store_with_key(true);
    let (_, rights, secret) = store.load_for(K, GRANTEE, P::VERIFY.bits()).unwrap();
    assert_eq!(rights.operations, P::VERIFY.bits());
    assert_eq!(&secret[..], b"pkcs8 bytes");
    let e = store.load_for(K, GRANTEE, P::SIGN.bits()).unwrap_err();
    assert!(matches!(e, StoreError::NotPermitted));
    assert_eq!(e.code(), ErrorCode::KeyOperationNotPermitted);
    assert!(matches!(
        store.delete_for(K, GRANTEE),
        Err(StoreError::AccessDenied)
    ));
    assert!(matches!(
        store.grant_for(K, GRANTEE, 4000, P::VERIFY.bits()),
        Err(StoreError::AccessDenied)
    ));
    assert_eq!(store.list_for(GRANTEE).unwrap().len(), 1);
}

#[test]
fn admin_lists_and_deletes_but_never_exports_a_non_exportable_key() {
    let (_t, store) = store_with_key(false);
    assert_eq!(store.list_for(ADMIN).unwrap().len(), 1);
    assert!(matches!(
        store.load_for(K, ADMIN, P::EXPORT.bits()),
        Err(StoreError::NotPermitted)
    ));
    assert!(matches!(
        store.load_for(K, ADMIN, 0),
        Err(StoreError::NotPermitted)
    ));
    // Not even the owner may export a non-exportable key.
    assert!(matches!(
        store.load_for(K, OWNER, P::EXPORT.bits()),
        Err(StoreError::NotPermitted)
    ));
    let (_, rights, _) = store.load_for(K, OWNER, P::SIGN.bits()).unwrap();
    assert_eq!(rights.operations, (P::SIGN | P::VERIFY).bits());
    assert!(matches!(
        store.grant_for(K, ADMIN, 0, P::SIGN.bits()),
        Err(StoreError::AccessDenied)
    ));
    store.delete_for(K, ADMIN).unwrap();
    assert!(store.list_for(ADMIN).unwrap().is_empty());
}

#[test]
fn owner_exports_an_exportable_key_and_manages_grants() {
    let (_t, store) = store_with_key(true);
    store.load_for(K, OWNER, P::EXPORT.bits()).unwrap();
    assert!(matches!(
        store.load_for(K, ADMIN, P::EXPORT.bits()),
        Err(StoreError::NotPermitted)
    ));
    assert!(store.revoke_for(K, OWNER, GRANTEE.uid).unwrap());
    assert!(matches!(
        store.load_for(K, GRANTEE, 0),
        Err(StoreError::AccessDenied)
    ));
    store
        .grant_for(K, OWNER, GRANTEE.uid, P::SIGN.bits())
        .unwrap();
    store.load_for(K, GRANTEE, P::SIGN.bits()).unwrap();
    store.delete_for(K, OWNER).unwrap();
    assert!(matches!(
        store.meta_for(K, OWNER),
        Err(StoreError::AccessDenied)
    ));
}

#[test]
fn reserved_daemon_slots_are_invisible_to_every_caller() {
    let (_t, store) = store_with_key(false);
    let reserved = format!("{}attestation", warden_store::RESERVED_SLOT_PREFIX);
    store
        .create_slot(
            &NewSlot {
                name: reserved.clone(),
                owner_uid: u32::MAX,
                algorithm: Algorithm::Ed25519,
                permissions: 0,
                exportable: false,
            },
            b"daemon key",
        )
        .unwrap();
    for caller in [OWNER, STRANGER, ADMIN] {
        assert!(matches!(
            store.meta_for(SlotRef::new(u32::MAX, &reserved), caller),
            Err(StoreError::AccessDenied)
        ));
        assert!(matches!(
            store.delete_for(SlotRef::new(u32::MAX, &reserved), caller),
            Err(StoreError::AccessDenied)
        ));
        assert!(
            store
                .list_for(caller)
                .unwrap()
                .iter()
                .all(|m| m.name != reserved)
        );
    }
    // Still there for the daemon itself.
    assert!(store.contains(SlotRef::new(u32::MAX, &reserved)).unwrap());
}
