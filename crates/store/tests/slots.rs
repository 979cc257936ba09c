//! Integration tests of the slot store: round trips, persistence, errors, at-rest encryption,
//! tamper detection, grants, master-key and data-dir checks, schema versions.

// Test helpers outside `#[test]` fns: a panic there is a failed test too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use warden_core::{Algorithm, ErrorCode, KeyOperationPermission as P};
use warden_store::{
    DB_FILE, EXPORT_BIT, FileMasterKey, MASTER_KEY_FILE, NewSlot, SCHEMA_VERSION, SlotQuotas,
    SlotRef, SlotState, SlotStore, StoreError, StoreOptions, effective_permissions,
};
use zeroize::Zeroizing;

const RAW_SLOTS: TableDefinition<&str, &[u8]> = TableDefinition::new("slots");
const RAW_META: TableDefinition<&str, &[u8]> = TableDefinition::new("store_meta");

fn open(dir: &Path) -> SlotStore {
    SlotStore::open(dir, &FileMasterKey::in_dir(dir)).unwrap()
}

fn new_slot(name: &str, owner: u32) -> NewSlot {
    NewSlot {
        name: name.into(),
        owner_uid: owner,
        algorithm: Algorithm::Ed25519,
        permissions: (P::SIGN | P::VERIFY | P::EXPORT).bits(),
        exportable: false,
    }
}

fn secret(tag: u8) -> Zeroizing<Vec<u8>> {
    Zeroizing::new((0..48u8).map(|i| i.wrapping_mul(37) ^ tag).collect())
}

#[test]
fn round_trip_and_persistence_across_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    {
        let store = open(&dir);
        let meta = store
            .create_slot(&new_slot("signer", 1000), &secret(1))
            .unwrap();
        assert_eq!(meta.state, SlotState::Occupied);
        assert!(meta.created_unix_ms > 0);
        let (m, s) = store.load(SlotRef::new(1000, "signer")).unwrap();
        assert_eq!(m, meta);
        assert_eq!(*s, *secret(1));
    }
    let store = open(&dir);
    let (m, s) = store.load(SlotRef::new(1000, "signer")).unwrap();
    assert_eq!(m.owner_uid, 1000);
    assert_eq!(m.algorithm, Algorithm::Ed25519);
    assert!(!m.exportable);
    assert_eq!(*s, *secret(1));
    assert_eq!(store.meta(SlotRef::new(1000, "signer")).unwrap(), m);
    assert_eq!(store.list().unwrap(), vec![m]);
}

#[test]
fn fresh_data_dir_is_private_and_files_are_0600() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("nested").join("data");
    let _store = open(&dir);
    assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
    for f in [MASTER_KEY_FILE, DB_FILE] {
        let mode = std::fs::metadata(dir.join(f)).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600, "{f} has mode {mode:o}");
    }
    assert_eq!(
        std::fs::metadata(dir.join(MASTER_KEY_FILE)).unwrap().len(),
        32
    );
}

#[test]
fn occupied_empty_and_bad_names() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    store.create_slot(&new_slot("a", 1), &secret(1)).unwrap();
    let e = store
        .create_slot(&new_slot("a", 1), &secret(2))
        .unwrap_err();
    assert!(matches!(e, StoreError::KeySlotOccupied));
    assert_eq!(e.code(), ErrorCode::KeySlotOccupied);
    // The failed create did not touch the original.
    assert_eq!(*store.load(SlotRef::new(1, "a")).unwrap().1, *secret(1));

    for e in [
        store.load(SlotRef::new(1, "missing")).unwrap_err(),
        store.meta(SlotRef::new(1, "missing")).unwrap_err(),
        store.delete(SlotRef::new(1, "missing")).unwrap_err(),
        store
            .grant(SlotRef::new(1, "missing"), 5, P::SIGN.bits())
            .unwrap_err(),
        // Names are per owner: uid 2 has no "a".
        store.load(SlotRef::new(2, "a")).unwrap_err(),
    ] {
        assert!(matches!(e, StoreError::KeySlotEmpty), "{e}");
        assert_eq!(e.code(), ErrorCode::KeySlotEmpty);
    }

    for bad in ["", "has space", "../x", &"n".repeat(65), "ü"] {
        let e = store
            .create_slot(&new_slot(bad, 1), &secret(1))
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{bad:?}");
        assert_eq!(
            store.load(SlotRef::new(1, bad)).unwrap_err().code(),
            ErrorCode::InvalidArgument
        );
    }
    let mut unknown_bits = new_slot("b", 1);
    unknown_bits.permissions = 0x1000;
    assert_eq!(
        store
            .create_slot(&unknown_bits, &secret(1))
            .unwrap_err()
            .code(),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        store
            .create_slot(&new_slot("b", 1), &[])
            .unwrap_err()
            .code(),
        ErrorCode::InvalidArgument
    );

    store.delete(SlotRef::new(1, "a")).unwrap();
    assert!(matches!(
        store.load(SlotRef::new(1, "a")),
        Err(StoreError::KeySlotEmpty)
    ));
    // The name is free again.
    store.create_slot(&new_slot("a", 1), &secret(3)).unwrap();
    // Another owner's "a" is a different slot that takes nothing from uid 1's.
    store.create_slot(&new_slot("a", 2), &secret(4)).unwrap();
    assert_eq!(*store.load(SlotRef::new(1, "a")).unwrap().1, *secret(3));
    assert_eq!(*store.load(SlotRef::new(2, "a")).unwrap().1, *secret(4));
}

#[test]
fn grants_must_be_subsets_and_persist() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let store = open(tmp.path());
        store.create_slot(&new_slot("k", 1000), &secret(1)).unwrap();
        let m = store
            .grant(SlotRef::new(1000, "k"), 2000, P::VERIFY.bits())
            .unwrap();
        assert_eq!(m.grants.get(&2000), Some(&P::VERIFY.bits()));
        for (uid, bits) in [
            (2000, P::ENCRYPT.bits()),
            (2000, (P::SIGN | P::DECRYPT).bits()),
            (2000, 0),
            (1000, P::SIGN.bits()),
            (2000, 0x1000),
        ] {
            let e = store.grant(SlotRef::new(1000, "k"), uid, bits).unwrap_err();
            assert_eq!(
                e.code(),
                ErrorCode::InvalidArgument,
                "grant {bits:#x} to {uid}"
            );
        }
        // Still only the valid grant.
        assert_eq!(store.meta(SlotRef::new(1000, "k")).unwrap().grants.len(), 1);
    }
    let store = open(tmp.path());
    let m = store.meta(SlotRef::new(1000, "k")).unwrap();
    assert_eq!(effective_permissions(&m, 2000, false), P::VERIFY.bits());
    assert_eq!(
        effective_permissions(&m, 1000, false),
        (P::SIGN | P::VERIFY).bits(),
        "export stripped: not exportable"
    );
    assert_eq!(
        effective_permissions(&m, 0, true),
        0,
        "admin gains no use rights"
    );
    assert!(store.revoke(SlotRef::new(1000, "k"), 2000).unwrap());
    assert!(!store.revoke(SlotRef::new(1000, "k"), 2000).unwrap());
    assert_eq!(
        effective_permissions(&store.meta(SlotRef::new(1000, "k")).unwrap(), 2000, false),
        0
    );
    // The secret survived the metadata rewrites.
    assert_eq!(*store.load(SlotRef::new(1000, "k")).unwrap().1, *secret(1));
}

#[test]
fn exportable_key_lets_owner_export() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    let mut n = new_slot("e", 7);
    n.exportable = true;
    let m = store.create_slot(&n, &secret(1)).unwrap();
    assert_ne!(effective_permissions(&m, 7, false) & EXPORT_BIT, 0);
    assert_eq!(effective_permissions(&m, 0, true) & EXPORT_BIT, 0);
}

#[test]
fn locked_slot_refuses_load_and_grants() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    store.create_slot(&new_slot("l", 1), &secret(1)).unwrap();
    assert_eq!(
        store.set_locked(SlotRef::new(1, "l"), true).unwrap().state,
        SlotState::Locked
    );
    let e = store.load(SlotRef::new(1, "l")).unwrap_err();
    assert!(matches!(e, StoreError::SlotLocked));
    assert_eq!(e.code(), ErrorCode::AccessDenied);
    assert!(matches!(
        store.grant(SlotRef::new(1, "l"), 2, P::SIGN.bits()),
        Err(StoreError::SlotLocked)
    ));
    assert_eq!(
        store.meta(SlotRef::new(1, "l")).unwrap().state,
        SlotState::Locked
    );
    store.set_locked(SlotRef::new(1, "l"), false).unwrap();
    assert_eq!(*store.load(SlotRef::new(1, "l")).unwrap().1, *secret(1));
}

/// Every 16-byte window of `needle` searched in `hay`.
fn contains_any_window(hay: &[u8], needle: &[u8]) -> bool {
    needle.windows(16).any(|w| hay.windows(16).any(|h| h == w))
}

#[test]
fn store_files_never_contain_the_plaintext_secret() {
    let tmp = tempfile::tempdir().unwrap();
    let mut plain = Zeroizing::new(vec![0u8; 64]);
    warden_provider_awslc::primitives::fill_random(&mut plain).unwrap();
    {
        let store = open(tmp.path());
        store.create_slot(&new_slot("s", 1), &plain).unwrap();
        // Metadata rewrites re-seal the secret; none may leave plaintext behind either.
        store
            .grant(SlotRef::new(1, "s"), 2, P::SIGN.bits())
            .unwrap();
        store.set_locked(SlotRef::new(1, "s"), true).unwrap();
        store.set_locked(SlotRef::new(1, "s"), false).unwrap();
        assert_eq!(*store.load(SlotRef::new(1, "s")).unwrap().1, *plain);
    }
    let mut scanned = 0;
    for entry in std::fs::read_dir(tmp.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        scanned += bytes.len();
        assert!(
            !contains_any_window(&bytes, &plain),
            "plaintext found on disk"
        );
    }
    assert!(scanned > 64);
    // Sanity check of the scanner itself: a file that does contain it is caught.
    let mut planted = vec![0u8; 100];
    planted.extend_from_slice(&plain[10..30]);
    assert!(contains_any_window(&planted, &plain));
}

fn with_raw_db(dir: &Path, f: impl FnOnce(&Database)) {
    let db = Database::create(dir.join(DB_FILE)).unwrap();
    f(&db);
}

#[test]
fn tampered_and_swapped_records_are_detected() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let store = open(tmp.path());
        store
            .create_slot(&new_slot("alice", 1000), &secret(1))
            .unwrap();
        store
            .create_slot(&new_slot("bob", 2000), &secret(2))
            .unwrap();
        store
            .create_slot(&new_slot("carol", 3000), &secret(3))
            .unwrap();
        store
            .create_slot(&new_slot("dave", 4000), &secret(4))
            .unwrap();
        store
            .create_slot(&new_slot("eve", 5000), &secret(5))
            .unwrap();
    }
    with_raw_db(tmp.path(), |db| {
        let txn = db.begin_write().unwrap();
        {
            let mut t = txn.open_table(RAW_SLOTS).unwrap();
            // Swap alice's and bob's records.
            let a = t.get("1000/alice").unwrap().unwrap().value().to_vec();
            let b = t.get("2000/bob").unwrap().unwrap().value().to_vec();
            t.insert("1000/alice", b.as_slice()).unwrap();
            t.insert("2000/bob", a.as_slice()).unwrap();
            // Flip one bit of carol's ciphertext (last byte before the 16-byte tag).
            let mut c = t.get("3000/carol").unwrap().unwrap().value().to_vec();
            let i = c.len() - 17;
            c[i] ^= 0x80;
            t.insert("3000/carol", c.as_slice()).unwrap();
            // Make dave's key exportable in the clear metadata (byte 8 of meta = exportable).
            let mut d = t.get("4000/dave").unwrap().unwrap().value().to_vec();
            let exportable_at = 1 + 12 + 4 + 8;
            assert_eq!(d[exportable_at], 0);
            d[exportable_at] = 1;
            t.insert("4000/dave", d.as_slice()).unwrap();
            // Copy eve's record, unchanged, into another owner's namespace under the same name.
            let e = t.get("5000/eve").unwrap().unwrap().value().to_vec();
            t.insert("6000/eve", e.as_slice()).unwrap();
        }
        txn.commit().unwrap();
    });
    let store = open(tmp.path());
    let tampered = [
        SlotRef::new(1000, "alice"),
        SlotRef::new(2000, "bob"),
        SlotRef::new(3000, "carol"),
        SlotRef::new(4000, "dave"),
        SlotRef::new(6000, "eve"),
    ];
    for slot in tampered {
        let e = store.load(slot).unwrap_err();
        assert!(matches!(e, StoreError::Integrity), "{slot}: {e}");
        assert_eq!(e.code(), ErrorCode::OperationFailed);
        assert!(matches!(store.meta(slot), Err(StoreError::Integrity)));
        assert_eq!(e.to_string(), "stored record failed integrity check");
    }
    // The original of the moved record is untouched.
    assert_eq!(
        *store.load(SlotRef::new(5000, "eve")).unwrap().1,
        *secret(5)
    );
    assert!(matches!(store.list(), Err(StoreError::Integrity)));
    // Recovery path: tampered slots can still be deleted.
    for slot in tampered {
        store.delete(slot).unwrap();
    }
    assert_eq!(store.list().unwrap().len(), 1);
}

#[test]
fn flipped_byte_in_the_db_file_is_never_silently_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = secret(9);
    let record = {
        let store = open(tmp.path());
        store.create_slot(&new_slot("victim", 1), &plain).unwrap();
        drop(store);
        let mut rec = Vec::new();
        with_raw_db(tmp.path(), |db| {
            let txn = db.begin_read().unwrap();
            rec = txn
                .open_table(RAW_SLOTS)
                .unwrap()
                .get("1/victim")
                .unwrap()
                .unwrap()
                .value()
                .to_vec();
        });
        rec
    };
    let path = tmp.path().join(DB_FILE);
    let mut file = std::fs::read(&path).unwrap();
    let ct = &record[record.len() - 40..record.len() - 16];
    let at = file
        .windows(ct.len())
        .position(|w| w == ct)
        .expect("ciphertext located in file");
    file[at + 3] ^= 0x01;
    std::fs::write(&path, &file).unwrap();
    // Either redb's page checksums refuse the file, or the AEAD refuses the record: never
    // the wrong secret.
    match SlotStore::open(tmp.path(), &FileMasterKey::in_dir(tmp.path())) {
        Err(e) => {
            eprintln!("db file flip refused at open: {e}");
            assert_eq!(e.code(), ErrorCode::PersistFailed, "{e}")
        }
        Ok(store) => match store.load(SlotRef::new(1, "victim")) {
            Err(e) => {
                eprintln!("db file flip refused by the record AEAD: {e}");
                assert!(matches!(e, StoreError::Integrity), "{e}")
            }
            Ok((_, s)) => panic!("tampered record accepted (secret equal: {})", *s == *plain),
        },
    }
}

#[test]
fn loose_or_foreign_master_key_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    drop(open(tmp.path()));
    let key = tmp.path().join(MASTER_KEY_FILE);
    for mode in [0o644, 0o640, 0o604, 0o700, 0o666, 0o4600, 0o2600, 0o1600] {
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
        let e = SlotStore::open(tmp.path(), &FileMasterKey::in_dir(tmp.path())).unwrap_err();
        match &e {
            StoreError::InsecurePermissions { path, mode: m } => {
                assert_eq!(path, &key);
                assert_eq!(*m, mode);
            }
            other => panic!("mode {mode:o}: unexpected {other}"),
        }
        let msg = e.to_string();
        assert!(
            msg.contains(&format!("{mode:04o}")) && msg.contains(MASTER_KEY_FILE),
            "{msg}"
        );
    }
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o400)).unwrap();
    drop(open(tmp.path()));
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();

    if rustix_euid() == 0 {
        std::os::unix::fs::chown(&key, Some(54321), None).unwrap();
        let e = SlotStore::open(tmp.path(), &FileMasterKey::in_dir(tmp.path())).unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::WrongOwner {
                    uid: 54321,
                    expected: 0,
                    ..
                }
            ),
            "{e}"
        );
        std::os::unix::fs::chown(&key, Some(0), None).unwrap();
    } else {
        eprintln!("skipping foreign-owner check: needs root to chown");
    }

    // A symlink in place of the key file is refused, not followed.
    let real = tmp.path().join("elsewhere.key");
    std::fs::rename(&key, &real).unwrap();
    std::os::unix::fs::symlink(&real, &key).unwrap();
    assert!(SlotStore::open(tmp.path(), &FileMasterKey::in_dir(tmp.path())).is_err());
    std::fs::remove_file(&key).unwrap();
    std::fs::rename(&real, &key).unwrap();

    // A truncated key file is malformed.
    let good = std::fs::read(&key).unwrap();
    std::fs::write(&key, &good[..31]).unwrap();
    assert!(matches!(
        SlotStore::open(tmp.path(), &FileMasterKey::in_dir(tmp.path())),
        Err(StoreError::MasterKeyMalformed { .. })
    ));
    std::fs::write(&key, &good).unwrap();
    drop(open(tmp.path()));
}

fn rustix_euid() -> u32 {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX)
}

#[test]
fn wrong_master_key_is_reported_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let store = open(tmp.path());
        store.create_slot(&new_slot("x", 1), &secret(1)).unwrap();
    }
    let key = tmp.path().join(MASTER_KEY_FILE);
    let mut bytes = std::fs::read(&key).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&key, &bytes).unwrap();
    let e = SlotStore::open(tmp.path(), &FileMasterKey::in_dir(tmp.path())).unwrap_err();
    assert!(matches!(e, StoreError::WrongMasterKey), "{e}");
    // A lost key file is regenerated, and that new key is refused too.
    std::fs::remove_file(&key).unwrap();
    let e = SlotStore::open(tmp.path(), &FileMasterKey::in_dir(tmp.path())).unwrap_err();
    assert!(matches!(e, StoreError::WrongMasterKey), "{e}");
}

#[test]
fn group_writable_data_dir_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o770)).unwrap();
    let e = SlotStore::open(tmp.path(), &FileMasterKey::in_dir(tmp.path())).unwrap_err();
    assert!(
        matches!(e, StoreError::InsecurePermissions { mode: 0o770, .. }),
        "{e}"
    );
}

#[test]
fn second_open_of_same_store_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let _first = open(tmp.path());
    let e = SlotStore::open(tmp.path(), &FileMasterKey::in_dir(tmp.path())).unwrap_err();
    assert!(matches!(e, StoreError::AlreadyOpen), "{e}");
}

#[test]
fn newer_schema_is_refused_and_v0_store_is_migrated() {
    // Newer: bump the stored version behind the store's back.
    let tmp = tempfile::tempdir().unwrap();
    drop(open(tmp.path()));
    with_raw_db(tmp.path(), |db| {
        let txn = db.begin_write().unwrap();
        txn.open_table(RAW_META)
            .unwrap()
            .insert(
                "schema_version",
                (SCHEMA_VERSION + 1).to_le_bytes().as_slice(),
            )
            .unwrap();
        txn.commit().unwrap();
    });
    let e = SlotStore::open(tmp.path(), &FileMasterKey::in_dir(tmp.path())).unwrap_err();
    assert!(
        matches!(e, StoreError::UnsupportedSchema { found, supported } if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION),
        "{e}"
    );

    // v0: a pre-versioning database that already has a generic record but no version.
    let tmp = tempfile::tempdir().unwrap();
    const RAW_RECORDS: TableDefinition<(&str, &[u8]), &[u8]> = TableDefinition::new("records");
    with_raw_db(tmp.path(), |db| {
        let txn = db.begin_write().unwrap();
        txn.open_table(RAW_RECORDS)
            .unwrap()
            .insert(("trust", b"issuer".as_slice()), b"pk".as_slice())
            .unwrap();
        txn.commit().unwrap();
    });
    std::fs::set_permissions(
        tmp.path().join(DB_FILE),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    {
        let store = open(tmp.path());
        assert_eq!(
            store
                .records("trust")
                .unwrap()
                .get(b"issuer")
                .unwrap()
                .as_deref(),
            Some(b"pk".as_slice())
        );
        store
            .create_slot(&new_slot("after-migration", 1), &secret(1))
            .unwrap();
    }
    with_raw_db(tmp.path(), |db| {
        let txn = db.begin_read().unwrap();
        let v = txn
            .open_table(RAW_META)
            .unwrap()
            .get("schema_version")
            .unwrap()
            .unwrap()
            .value()
            .to_vec();
        assert_eq!(v, SCHEMA_VERSION.to_le_bytes());
    });
}

#[test]
fn concurrent_writers_all_land() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(open(tmp.path()));
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..10 {
                    store
                        .create_slot(&new_slot(&format!("t{t}-{i}"), t), &secret(i))
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(store.list().unwrap().len(), 40);
    assert_eq!(*store.load(SlotRef::new(3, "t3-9")).unwrap().1, *secret(9));
}

#[test]
fn debug_output_redacts() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    let key = warden_store::MasterKey::from_bytes(Zeroizing::new([0xAB; 32]));
    assert_eq!(format!("{key:?}"), "MasterKey([REDACTED])");
    let dbg = format!("{store:?}");
    assert!(dbg.contains("SlotStore") && !dbg.to_lowercase().contains("ab, ab"));
}

/// Schema 1 keyed slots by a global name; schema 2 keys them by owner. A v1 store (made here
/// by rewriting a fresh store's keys and version back to v1) opens migrated: every slot in its
/// owner's namespace, secrets, grants and locks intact, the old keys gone.
#[test]
fn v1_store_with_global_names_is_migrated_to_owner_namespaces() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let store = open(tmp.path());
        store
            .create_slot(&new_slot("backup.key", 1000), &secret(1))
            .unwrap();
        store
            .create_slot(&new_slot("other", 2000), &secret(2))
            .unwrap();
        store
            .grant(SlotRef::new(1000, "backup.key"), 3000, P::SIGN.bits())
            .unwrap();
        store.set_locked(SlotRef::new(2000, "other"), true).unwrap();
    }
    with_raw_db(tmp.path(), |db| {
        let txn = db.begin_write().unwrap();
        {
            let mut t = txn.open_table(RAW_SLOTS).unwrap();
            for (v2, v1) in [("1000/backup.key", "backup.key"), ("2000/other", "other")] {
                let rec = t.remove(v2).unwrap().unwrap().value().to_vec();
                t.insert(v1, rec.as_slice()).unwrap();
            }
            // A v1 record too short to name its owner: kept, under the unreadable owner.
            t.insert("stub", [1u8, 2, 3].as_slice()).unwrap();
            txn.open_table(RAW_META)
                .unwrap()
                .insert("schema_version", 1u64.to_le_bytes().as_slice())
                .unwrap();
        }
        txn.commit().unwrap();
    });
    let store = open(tmp.path());
    let (m, s) = store.load(SlotRef::new(1000, "backup.key")).unwrap();
    assert_eq!(*s, *secret(1));
    assert_eq!(m.grants.get(&3000), Some(&P::SIGN.bits()));
    assert_eq!(
        store.meta(SlotRef::new(2000, "other")).unwrap().state,
        SlotState::Locked
    );
    assert!(matches!(
        store.load(SlotRef::new(3000, "backup.key")),
        Err(StoreError::KeySlotEmpty)
    ));
    assert!(matches!(
        store.meta(SlotRef::new(u32::MAX, "stub")),
        Err(StoreError::Integrity)
    ));
    store.delete(SlotRef::new(u32::MAX, "stub")).unwrap();
    assert_eq!(store.list().unwrap().len(), 2);
    drop(store);
    with_raw_db(tmp.path(), |db| {
        let txn = db.begin_read().unwrap();
        let t = txn.open_table(RAW_SLOTS).unwrap();
        let keys: Vec<String> = t
            .iter()
            .unwrap()
            .map(|e| e.unwrap().0.value().to_owned())
            .collect();
        assert_eq!(keys, ["1000/backup.key", "2000/other"]);
        let v = txn
            .open_table(RAW_META)
            .unwrap()
            .get("schema_version")
            .unwrap()
            .unwrap()
            .value()
            .to_vec();
        assert_eq!(v, SCHEMA_VERSION.to_le_bytes());
    });
}

#[test]
fn per_owner_slot_and_grant_quotas() {
    let tmp = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        quotas: SlotQuotas {
            max_slots_per_owner: 2,
            max_grants_per_owner: 3,
        },
        ..StoreOptions::default()
    };
    let store =
        SlotStore::open_with(tmp.path(), &FileMasterKey::in_dir(tmp.path()), options).unwrap();
    store.create_slot(&new_slot("a", 1), &secret(1)).unwrap();
    store.create_slot(&new_slot("b", 1), &secret(2)).unwrap();
    let e = store
        .create_slot(&new_slot("c", 1), &secret(3))
        .unwrap_err();
    assert!(matches!(e, StoreError::QuotaExceeded(_)), "{e}");
    assert_eq!(e.code(), ErrorCode::QuotaExceeded);
    // Other owners (including uids whose decimal form extends this one's) are unaffected.
    store.create_slot(&new_slot("c", 10), &secret(3)).unwrap();
    store.create_slot(&new_slot("c", 11), &secret(3)).unwrap();
    // Deleting frees quota.
    store.delete(SlotRef::new(1, "b")).unwrap();
    store.create_slot(&new_slot("c", 1), &secret(3)).unwrap();
    assert_eq!(store.list().unwrap().len(), 4);

    // Grants count over all of an owner's slots; replacing a grant adds nothing.
    let (a, c) = (SlotRef::new(1, "a"), SlotRef::new(1, "c"));
    store.grant(a, 100, P::SIGN.bits()).unwrap();
    store.grant(a, 101, P::SIGN.bits()).unwrap();
    store.grant(c, 102, P::SIGN.bits()).unwrap();
    store.grant(c, 102, P::VERIFY.bits()).unwrap();
    let e = store.grant(c, 103, P::SIGN.bits()).unwrap_err();
    assert!(matches!(e, StoreError::QuotaExceeded(_)), "{e}");
    store
        .grant(SlotRef::new(10, "c"), 103, P::SIGN.bits())
        .unwrap();
    assert!(store.revoke(a, 100).unwrap());
    store.grant(c, 103, P::SIGN.bits()).unwrap();
}

/// Issue 11: a slot written before the per-type permission rules may carry a bit its key
/// type cannot use (DERIVE on an HMAC key, the PBKDF2 MAC-forgery bit). It stays readable,
/// but the owner cannot hand that bit on; the sensible bits still grant.
#[test]
fn grants_refuse_bits_the_key_type_cannot_use() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(&tmp.path().join("data"));
    let legacy = NewSlot {
        algorithm: Algorithm::HmacKey,
        permissions: (P::MAC | P::DERIVE).bits(),
        ..new_slot("legacy", 1000)
    };
    store.create_slot(&legacy, &secret(3)).unwrap();
    let slot = SlotRef::new(1000, "legacy");
    for bad in [P::DERIVE, P::MAC | P::DERIVE] {
        let e = store.grant(slot, 2000, bad.bits()).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{bad}");
    }
    store.grant(slot, 2000, P::MAC.bits()).unwrap();
    assert_eq!(
        store.load(slot).unwrap().0.grants.get(&2000),
        Some(&P::MAC.bits())
    );
}

/// A slot's creation time is its incarnation: a delete and re-create within one
/// millisecond (here: a hundred in a row, far faster than the clock ticks) must still give
/// every incarnation a distinct, increasing value, or a key resolved from an old incarnation
/// would pass the daemon's re-check against the new one.
#[test]
fn every_incarnation_of_a_slot_is_distinct_even_within_a_millisecond() {
    let dir = tempfile::tempdir().unwrap();
    let store = SlotStore::open_with(
        dir.path(),
        &FileMasterKey::in_dir(dir.path()),
        StoreOptions {
            fsync: false,
            two_phase_commit: false,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    let slot = SlotRef::new(1000, "again");
    let mut last = 0;
    for i in 0..100u8 {
        let meta = store
            .create_slot(&new_slot("again", 1000), &secret(i))
            .unwrap();
        assert!(
            meta.created_unix_ms > last,
            "incarnation {i} reused {}",
            meta.created_unix_ms
        );
        assert_eq!(
            store.meta(slot).unwrap().created_unix_ms,
            meta.created_unix_ms
        );
        last = meta.created_unix_ms;
        store.delete(slot).unwrap();
    }
    // Across a reopen too.
    drop(store);
    let store = open(dir.path());
    let meta = store
        .create_slot(&new_slot("again", 1000), &secret(0))
        .unwrap();
    assert!(meta.created_unix_ms > last);
}
