//! Table definitions, the schema version and the migration framework.
//!
//! The schema version lives in the `store_meta` table under `schema_version`. A database with
//! no version is version 0: either brand new, or written before versioning existed. Opening
//! runs every migration from the stored version up to [`SCHEMA_VERSION`] inside ONE write
//! transaction, so a crash mid-migration leaves the old version intact and the next start
//! simply runs the migrations again. A version newer than this build is refused.

use redb::{ReadableTable, TableDefinition, WriteTransaction};

use crate::error::{StoreError, db};
use crate::record::RecordCipher;

/// Schema version written by this build.
pub const SCHEMA_VERSION: u64 = 2;

/// `"<owner uid>/<slot name>"` -> sealed record (schema 2; schema 1 keyed by bare name).
pub(crate) const SLOTS: TableDefinition<&str, &[u8]> = TableDefinition::new("slots");
/// Store-wide metadata: `schema_version` (u64 LE), `key_check` (sealed check value).
pub(crate) const STORE_META: TableDefinition<&str, &[u8]> = TableDefinition::new("store_meta");
/// (issuer, permit id) -> (uses so far, expiry in unix seconds).
pub(crate) const REPLAY: TableDefinition<(&str, &[u8]), (u64, u64)> =
    TableDefinition::new("permit_replay");
/// `state` -> counter u64 LE || previous receipt hash.
pub(crate) const RECEIPT_CHAIN: TableDefinition<&str, &[u8]> =
    TableDefinition::new("receipt_chain");
/// Receipt counter -> receipt bytes (the durable receipt log).
pub(crate) const RECEIPTS: TableDefinition<u64, &[u8]> = TableDefinition::new("receipts");
/// (namespace, key) -> value: generic durable records (trust store, policy modules, ...).
pub(crate) const RECORDS: TableDefinition<(&str, &[u8]), &[u8]> = TableDefinition::new("records");

pub(crate) const KEY_SCHEMA_VERSION: &str = "schema_version";
pub(crate) const KEY_KEY_CHECK: &str = "key_check";

/// What a migration step may use.
pub(crate) struct MigrationContext<'a> {
    pub(crate) cipher: &'a RecordCipher,
}

/// One step from version `from` to `from + 1`.
pub(crate) struct Migration {
    pub(crate) from: u64,
    pub(crate) run: fn(&WriteTransaction, &MigrationContext<'_>) -> Result<(), StoreError>,
}

/// The real migration list of this build.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        from: 0,
        run: migrate_v0_to_v1,
    },
    Migration {
        from: 1,
        run: migrate_v1_to_v2,
    },
];

/// Owner namespace for v1 records whose owner cannot even be read (truncated header): they
/// land where no caller's bare name reaches, fail authentication on use like before, and an
/// admin can still delete them as `4294967295/<name>`.
const UNREADABLE_OWNER: u32 = u32::MAX;

/// v1 -> v2: per-owner namespaces. Slot names were global; every record moves from key
/// `name` to key `"<owner>/<name>"`. The owner is read from the record's metadata header
/// without decrypting (it is authenticated on every later read, and a mismatch with the
/// namespace fails then), so a store whose master key is wrong or which holds a tampered
/// record still migrates: nothing is lost or silently repaired. Old names were unique, so
/// no two records can collide.
fn migrate_v1_to_v2(txn: &WriteTransaction, _: &MigrationContext<'_>) -> Result<(), StoreError> {
    let mut slots = txn.open_table(SLOTS).map_err(db)?;
    let mut old: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in slots.iter().map_err(db)? {
        let (name, record) = entry.map_err(db)?;
        let name = name.value();
        if crate::slot_ref::split_key(name).is_none() {
            old.push((name.to_owned(), record.value().to_vec()));
        }
    }
    for (name, record) in old {
        let owner = crate::record::peek_owner(&record).unwrap_or(UNREADABLE_OWNER);
        let key = crate::slot_ref::SlotRef::new(owner, &name).key();
        slots.remove(name.as_str()).map_err(db)?;
        slots.insert(key.as_str(), record.as_slice()).map_err(db)?;
    }
    Ok(())
}

/// v0 -> v1: create every table (keeping any rows a pre-versioned store already has) and
/// record the master-key check value.
fn migrate_v0_to_v1(txn: &WriteTransaction, ctx: &MigrationContext<'_>) -> Result<(), StoreError> {
    txn.open_table(SLOTS).map_err(db)?;
    txn.open_table(REPLAY).map_err(db)?;
    txn.open_table(RECEIPT_CHAIN).map_err(db)?;
    txn.open_table(RECEIPTS).map_err(db)?;
    txn.open_table(RECORDS).map_err(db)?;
    let mut meta = txn.open_table(STORE_META).map_err(db)?;
    if meta.get(KEY_KEY_CHECK).map_err(db)?.is_none() {
        let check = ctx.cipher.seal_key_check()?;
        meta.insert(KEY_KEY_CHECK, check.as_slice()).map_err(db)?;
    }
    Ok(())
}

/// Reads the stored schema version (0 if none).
pub(crate) fn read_version(txn: &WriteTransaction) -> Result<u64, StoreError> {
    let meta = txn.open_table(STORE_META).map_err(db)?;
    let Some(v) = meta.get(KEY_SCHEMA_VERSION).map_err(db)? else {
        return Ok(0);
    };
    let bytes: [u8; 8] = v.value().try_into().map_err(|_| StoreError::Integrity)?;
    Ok(u64::from_le_bytes(bytes))
}

fn write_version(txn: &WriteTransaction, version: u64) -> Result<(), StoreError> {
    let mut meta = txn.open_table(STORE_META).map_err(db)?;
    meta.insert(KEY_SCHEMA_VERSION, version.to_le_bytes().as_slice())
        .map_err(db)?;
    Ok(())
}

/// Brings the schema from its stored version to `target` using `steps`; returns the version
/// found. The caller commits (or drops) the transaction, which makes the whole run atomic.
pub(crate) fn migrate(
    txn: &WriteTransaction,
    ctx: &MigrationContext<'_>,
    steps: &[Migration],
    target: u64,
) -> Result<u64, StoreError> {
    let found = read_version(txn)?;
    if found > target {
        return Err(StoreError::UnsupportedSchema {
            found,
            supported: target,
        });
    }
    let mut version = found;
    while version < target {
        let step =
            steps
                .iter()
                .find(|m| m.from == version)
                .ok_or(StoreError::UnsupportedSchema {
                    found,
                    supported: target,
                })?;
        (step.run)(txn, ctx)?;
        version += 1;
        write_version(txn, version)?;
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master_key::MasterKey;
    use redb::Database;
    use zeroize::Zeroizing;

    const SCRATCH: TableDefinition<&str, u64> = TableDefinition::new("scratch");

    fn bump(txn: &WriteTransaction, _: &MigrationContext<'_>) -> Result<(), StoreError> {
        let mut t = txn.open_table(SCRATCH).map_err(db)?;
        let n = t.get("steps").map_err(db)?.map(|v| v.value()).unwrap_or(0);
        t.insert("steps", n * 10 + read_version(txn)? + 1)
            .map_err(db)?;
        Ok(())
    }

    fn fail(_: &WriteTransaction, _: &MigrationContext<'_>) -> Result<(), StoreError> {
        Err(StoreError::InvalidArgument("migration failed on purpose"))
    }

    fn setup() -> (tempfile::TempDir, Database, RecordCipher) {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("t.redb")).unwrap();
        let cipher = RecordCipher::new(&MasterKey::from_bytes(Zeroizing::new([3; 32]))).unwrap();
        (dir, db, cipher)
    }

    #[test]
    fn steps_run_in_order_and_version_is_recorded() {
        let (_d, db, cipher) = setup();
        let ctx = MigrationContext { cipher: &cipher };
        let steps = [
            Migration { from: 2, run: bump },
            Migration { from: 0, run: bump },
            Migration { from: 1, run: bump },
        ];
        let txn = db.begin_write().unwrap();
        assert_eq!(migrate(&txn, &ctx, &steps, 3).unwrap(), 0);
        txn.commit().unwrap();
        let txn = db.begin_write().unwrap();
        assert_eq!(read_version(&txn).unwrap(), 3);
        // Steps saw versions 0, 1, 2 in that order: digits 1, 2, 3.
        let t = txn.open_table(SCRATCH).unwrap();
        assert_eq!(t.get("steps").unwrap().unwrap().value(), 123);
    }

    #[test]
    fn failing_step_leaves_old_version() {
        let (_d, db, cipher) = setup();
        let ctx = MigrationContext { cipher: &cipher };
        let steps = [
            Migration { from: 0, run: bump },
            Migration { from: 1, run: fail },
        ];
        let txn = db.begin_write().unwrap();
        assert!(migrate(&txn, &ctx, &steps, 2).is_err());
        drop(txn); // not committed: rolled back
        let txn = db.begin_write().unwrap();
        assert_eq!(read_version(&txn).unwrap(), 0);
    }

    #[test]
    fn newer_version_and_missing_step_are_refused() {
        let (_d, db, cipher) = setup();
        let ctx = MigrationContext { cipher: &cipher };
        let txn = db.begin_write().unwrap();
        write_version(&txn, 5).unwrap();
        assert!(matches!(
            migrate(&txn, &ctx, MIGRATIONS, SCHEMA_VERSION),
            Err(StoreError::UnsupportedSchema {
                found: 5,
                supported: 2
            })
        ));
        write_version(&txn, 0).unwrap();
        assert!(matches!(
            migrate(&txn, &ctx, &[], 1),
            Err(StoreError::UnsupportedSchema {
                found: 0,
                supported: 1
            })
        ));
    }
}
