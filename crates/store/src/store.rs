//! [`SlotStore`]: the durable, encrypted key-slot database.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use redb::{Database, Durability, ReadableDatabase, ReadableTable, WriteTransaction};
use warden_core::KeyOperationPermission;
use zeroize::Zeroizing;

use crate::error::{StoreError, db};
use crate::fsutil::{ensure_data_dir, precreate_private_file, sync_dir};
use crate::master_key::{MasterKeySource, unique_temp_name};
use crate::record::{MAX_GRANTS, NewSlot, RecordCipher, SlotMeta, SlotState};
use crate::schema::{
    self, KEY_KEY_CHECK, MIGRATIONS, MigrationContext, SCHEMA_VERSION, SLOTS, STORE_META,
};
use crate::slot_ref::{SlotRef, owner_range};
use crate::validate::{validate_permissions, validate_slot_name};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "store.redb";

/// How the store opens. [`StoreOptions::default`] is what the daemon must use.
#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    /// fsync every commit before the call returns (default `true`). `false` exists ONLY to
    /// measure the cost of durability in benchmarks: an acknowledged write may then be lost.
    pub fsync: bool,
    /// With `fsync`: use redb's two-phase commit (default `true`): fsync the data and the new
    /// commit slot, then flip and fsync the god byte, so recovery never has to trust a
    /// non-cryptographic checksum to pick the valid commit. `false` exists to measure its cost.
    pub two_phase_commit: bool,
    /// Per-owner bounds on durable growth.
    pub quotas: SlotQuotas,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            fsync: true,
            two_phase_commit: true,
            quotas: SlotQuotas::default(),
        }
    }
}

/// Per-owner bounds, so no uid can grow the store without limit. Checked inside the writing
/// transaction (no race between count and insert).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotQuotas {
    /// Slots one uid may own (default 256).
    pub max_slots_per_owner: u32,
    /// Grants one uid may have issued, summed over all its slots (default 1024; one slot
    /// holds at most [`crate::MAX_GRANTS`]).
    pub max_grants_per_owner: u32,
}

impl Default for SlotQuotas {
    fn default() -> Self {
        Self {
            max_slots_per_owner: 256,
            max_grants_per_owner: 1024,
        }
    }
}

/// The persistent key-slot store. `Send + Sync`: share it behind an `Arc`; writers are
/// serialised by the database, readers run concurrently with them (MVCC snapshots).
pub struct SlotStore {
    pub(crate) db: Database,
    pub(crate) cipher: RecordCipher,
    dir: PathBuf,
    options: StoreOptions,
}

impl std::fmt::Debug for SlotStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlotStore")
            .field("dir", &self.dir)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

fn begin_write(database: &Database, options: StoreOptions) -> Result<WriteTransaction, StoreError> {
    let mut txn = database.begin_write().map_err(db)?;
    if options.fsync {
        txn.set_durability(Durability::Immediate).map_err(db)?;
        txn.set_two_phase_commit(options.two_phase_commit);
    } else {
        txn.set_durability(Durability::None).map_err(db)?;
    }
    Ok(txn)
}

/// True if there is no database yet. A zero-length file counts as none: it can only be
/// left by a crash between creating and initialising a file (earlier builds did that).
fn needs_initialisation(path: &Path) -> Result<bool, StoreError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_file() && m.len() == 0 => {
            std::fs::remove_file(path).map_err(StoreError::io("removing empty database file"))?;
            Ok(true)
        }
        Ok(_) => Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(StoreError::io("inspecting database file")(e)),
    }
}

/// Builds a fresh, fully migrated database under a unique temporary name and links it into
/// place only once complete and fsynced, so a crash during first start never leaves a
/// half-initialised database behind. If another process linked one first, that one is used.
fn initialise(dir: &Path, path: &Path, cipher: &RecordCipher) -> Result<(), StoreError> {
    let tmp = dir.join(unique_temp_name(DB_FILE)?);
    let result = (|| {
        precreate_private_file(&tmp)?;
        {
            let database = Database::create(&tmp).map_err(db)?;
            let txn = begin_write(&database, StoreOptions::default())?;
            schema::migrate(
                &txn,
                &MigrationContext { cipher },
                MIGRATIONS,
                SCHEMA_VERSION,
            )?;
            txn.commit().map_err(db)?;
        }
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(StoreError::io("syncing new database"))?;
        match std::fs::hard_link(&tmp, path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(StoreError::io("installing new database")(e)),
        }
    })();
    let _ = std::fs::remove_file(&tmp);
    result?;
    sync_dir(dir)
}

/// `STORE_META` key of the last slot creation time handed out (u64 LE, unix ms).
const LAST_CREATED_KEY: &str = "last_created_ms";

pub(crate) fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl SlotStore {
    /// Opens (initialising on first start) the store in `dir` with durable commits.
    ///
    /// A missing `dir` is created with mode 0700. The master key comes from `keys`; a key that
    /// does not match the store's key check fails with [`StoreError::WrongMasterKey`].
    pub fn open(dir: impl AsRef<Path>, keys: &dyn MasterKeySource) -> Result<Self, StoreError> {
        Self::open_with(dir, keys, StoreOptions::default())
    }

    /// [`Self::open`] with explicit options.
    pub fn open_with(
        dir: impl AsRef<Path>,
        keys: &dyn MasterKeySource,
        options: StoreOptions,
    ) -> Result<Self, StoreError> {
        let dir = dir.as_ref().to_path_buf();
        ensure_data_dir(&dir)?;
        let master = keys.master_key()?;
        let cipher = RecordCipher::new(&master)?;
        drop(master);
        let path = dir.join(DB_FILE);
        if needs_initialisation(&path)? {
            initialise(&dir, &path, &cipher)?;
        }
        // Verify every page checksum on open: a file edited behind redb's back is then an
        // error instead of undefined behaviour inside redb (which may panic on bad pages).
        let database = Database::builder()
            .set_check_integrity_on_open(true)
            .open(&path)
            .map_err(db)?;
        let store = Self {
            db: database,
            cipher,
            dir,
            options,
        };
        let txn = store.begin_write()?;
        let ctx = MigrationContext {
            cipher: &store.cipher,
        };
        let found = schema::migrate(&txn, &ctx, MIGRATIONS, SCHEMA_VERSION)?;
        {
            let meta = txn.open_table(STORE_META).map_err(db)?;
            let check = meta
                .get(KEY_KEY_CHECK)
                .map_err(db)?
                .ok_or(StoreError::Integrity)?;
            store.cipher.verify_key_check(check.value())?;
        }
        if found == SCHEMA_VERSION {
            txn.abort().map_err(db)?;
        } else {
            txn.commit().map_err(db)?;
        }
        Ok(store)
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A write transaction with this store's durability: `commit()` returns only once the data
    /// is on stable storage (two fsyncs: two-phase commit, see `crate::design`).
    pub(crate) fn begin_write(&self) -> Result<WriteTransaction, StoreError> {
        begin_write(&self.db, self.options)
    }

    /// The quotas this store enforces.
    pub fn quotas(&self) -> SlotQuotas {
        self.options.quotas
    }

    /// Stores a new key in slot `new.name` of `new.owner_uid`'s namespace. Fails with
    /// [`StoreError::KeySlotOccupied`] if that slot holds a key and with
    /// [`StoreError::QuotaExceeded`] if the owner has its quota of slots. Returns after the
    /// write is durable.
    pub fn create_slot(&self, new: &NewSlot, secret: &[u8]) -> Result<SlotMeta, StoreError> {
        // Validates the name and fields before any write.
        SlotMeta::from_new(new, 0)?;
        let txn = self.begin_write()?;
        let meta;
        {
            // The creation time is the slot's incarnation (what a resolved key is checked
            // against): strictly increasing across the whole store, so a slot deleted and
            // re-created within one millisecond (or after the clock stepped back) is still a
            // new incarnation that old resolves and contexts do not match.
            let mut store_meta = txn.open_table(STORE_META).map_err(db)?;
            let last = store_meta
                .get(LAST_CREATED_KEY)
                .map_err(db)?
                .and_then(|v| v.value().try_into().ok().map(u64::from_le_bytes))
                .unwrap_or(0);
            let created = now_unix_ms().max(last.saturating_add(1));
            store_meta
                .insert(LAST_CREATED_KEY, created.to_le_bytes().as_slice())
                .map_err(db)?;
            meta = SlotMeta::from_new(new, created)?;
        }
        let record = self.cipher.seal(&meta, secret)?;
        let key = meta.slot().key();
        {
            let mut slots = txn.open_table(SLOTS).map_err(db)?;
            if slots.get(key.as_str()).map_err(db)?.is_some() {
                return Err(StoreError::KeySlotOccupied);
            }
            let (lo, hi) = owner_range(meta.owner_uid);
            let keys = slots.range(lo.as_str()..hi.as_str()).map_err(db)?.count();
            // Certificate slots count against the same quota.
            let certs = {
                let records = txn.open_table(crate::schema::RECORDS).map_err(db)?;
                crate::certs::certs_owned(&records, meta.owner_uid)?
            };
            let owned = keys.saturating_add(certs);
            if owned >= self.options.quotas.max_slots_per_owner as usize {
                return Err(StoreError::QuotaExceeded(
                    "this uid owns its quota of slots ([limits] max_slots_per_uid)",
                ));
            }
            slots.insert(key.as_str(), record.as_slice()).map_err(db)?;
        }
        txn.commit().map_err(db)?;
        Ok(meta)
    }

    /// Authenticates a record read under `slot`'s key: the owner is bound inside the record,
    /// so a record moved into another namespace fails like any other tampering.
    pub(crate) fn open_record(
        &self,
        slot: SlotRef<'_>,
        record: &[u8],
    ) -> Result<(SlotMeta, Zeroizing<Vec<u8>>), StoreError> {
        let (meta, secret) = self.cipher.open(slot.name, record)?;
        if meta.owner_uid != slot.owner {
            return Err(StoreError::Integrity);
        }
        Ok((meta, secret))
    }

    fn read_record(&self, slot: SlotRef<'_>) -> Result<(SlotMeta, Zeroizing<Vec<u8>>), StoreError> {
        validate_slot_name(slot.name)?;
        let txn = self.db.begin_read().map_err(db)?;
        let slots = txn.open_table(SLOTS).map_err(db)?;
        let record = slots
            .get(slot.key().as_str())
            .map_err(db)?
            .ok_or(StoreError::KeySlotEmpty)?;
        self.open_record(slot, record.value())
    }

    /// Loads a slot's metadata and decrypted secret. Locked slots fail with
    /// [`StoreError::SlotLocked`]; tampered records with [`StoreError::Integrity`].
    /// Access control is the caller's job (see [`crate::acl`]).
    pub fn load(&self, slot: SlotRef<'_>) -> Result<(SlotMeta, Zeroizing<Vec<u8>>), StoreError> {
        let (meta, secret) = self.read_record(slot)?;
        if meta.state == SlotState::Locked {
            return Err(StoreError::SlotLocked);
        }
        Ok((meta, secret))
    }

    /// A slot's metadata, authenticated (the record is decrypted and the secret discarded).
    pub fn meta(&self, slot: SlotRef<'_>) -> Result<SlotMeta, StoreError> {
        Ok(self.read_record(slot)?.0)
    }

    /// Whether `slot` holds a key (no authentication; use [`Self::meta`] for trusted data).
    pub fn contains(&self, slot: SlotRef<'_>) -> Result<bool, StoreError> {
        validate_slot_name(slot.name)?;
        let txn = self.db.begin_read().map_err(db)?;
        let slots = txn.open_table(SLOTS).map_err(db)?;
        Ok(slots.get(slot.key().as_str()).map_err(db)?.is_some())
    }

    /// Deletes a slot (locked or not). [`StoreError::KeySlotEmpty`] if there is none.
    pub fn delete(&self, slot: SlotRef<'_>) -> Result<(), StoreError> {
        validate_slot_name(slot.name)?;
        let txn = self.begin_write()?;
        {
            let mut slots = txn.open_table(SLOTS).map_err(db)?;
            if slots.remove(slot.key().as_str()).map_err(db)?.is_none() {
                return Err(StoreError::KeySlotEmpty);
            }
        }
        txn.commit().map_err(db)
    }

    /// Deletes a slot if `allow` accepts its authenticated metadata as read *inside* the
    /// deleting transaction, so no other writer can swap the record between check and delete.
    /// Returns the deleted record's secret (a provider may hold objects it names).
    pub(crate) fn delete_if(
        &self,
        slot: SlotRef<'_>,
        allow: impl FnOnce(&SlotMeta) -> Result<(), StoreError>,
    ) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        validate_slot_name(slot.name)?;
        let key = slot.key();
        let txn = self.begin_write()?;
        let secret = {
            let mut slots = txn.open_table(SLOTS).map_err(db)?;
            let (meta, secret) = {
                let record = slots
                    .get(key.as_str())
                    .map_err(db)?
                    .ok_or(StoreError::KeySlotEmpty)?;
                self.open_record(slot, record.value())?
            };
            allow(&meta)?;
            slots.remove(key.as_str()).map_err(db)?;
            secret
        };
        txn.commit().map_err(db)?;
        Ok(secret)
    }

    /// Whether any slot's secret satisfies `f` (every record is opened). Fails closed: a
    /// record that does not authenticate is [`StoreError::Integrity`], never "no".
    pub fn any_secret(&self, mut f: impl FnMut(&[u8]) -> bool) -> Result<bool, StoreError> {
        let txn = self.db.begin_read().map_err(db)?;
        let slots = txn.open_table(SLOTS).map_err(db)?;
        for entry in slots.iter().map_err(db)? {
            let (key, record) = entry.map_err(db)?;
            let slot = crate::slot_ref::split_key(key.value()).ok_or(StoreError::Integrity)?;
            if f(&self.open_record(slot, record.value())?.1) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Every slot's authenticated metadata, sorted by owner, then name. Fails closed: one record that
    /// does not authenticate makes the whole listing fail with [`StoreError::Integrity`]
    /// (delete it by name to recover).
    pub fn list(&self) -> Result<Vec<SlotMeta>, StoreError> {
        let txn = self.db.begin_read().map_err(db)?;
        let slots = txn.open_table(SLOTS).map_err(db)?;
        let mut out = Vec::new();
        for entry in slots.iter().map_err(db)? {
            let (key, record) = entry.map_err(db)?;
            let slot = crate::slot_ref::split_key(key.value()).ok_or(StoreError::Integrity)?;
            out.push(self.open_record(slot, record.value())?.0);
        }
        out.sort_by(|a, b| a.slot().cmp(&b.slot()));
        Ok(out)
    }

    /// Grants issued by `owner` over all its slots, as the transaction `slots` sees them.
    fn grants_issued(
        &self,
        slots: &impl ReadableTable<&'static str, &'static [u8]>,
        owner: u32,
    ) -> Result<usize, StoreError> {
        let (lo, hi) = owner_range(owner);
        let mut total = 0usize;
        for entry in slots.range(lo.as_str()..hi.as_str()).map_err(db)? {
            let (key, record) = entry.map_err(db)?;
            let slot = crate::slot_ref::split_key(key.value()).ok_or(StoreError::Integrity)?;
            total = total.saturating_add(self.open_record(slot, record.value())?.0.grants.len());
        }
        Ok(total)
    }

    /// Read-modify-write of one slot's metadata in a single durable transaction; the secret
    /// is re-sealed with a fresh nonce under the new metadata.
    fn update_meta(
        &self,
        slot: SlotRef<'_>,
        change: impl FnOnce(&mut SlotMeta) -> Result<(), StoreError>,
    ) -> Result<SlotMeta, StoreError> {
        validate_slot_name(slot.name)?;
        let key = slot.key();
        let txn = self.begin_write()?;
        let meta = {
            let mut slots = txn.open_table(SLOTS).map_err(db)?;
            let (mut meta, secret) = {
                let record = slots
                    .get(key.as_str())
                    .map_err(db)?
                    .ok_or(StoreError::KeySlotEmpty)?;
                self.open_record(slot, record.value())?
            };
            let before = meta.clone();
            change(&mut meta)?;
            if meta == before {
                // Nothing changed: no rewrite, no fsync.
                drop(slots);
                txn.abort().map_err(db)?;
                return Ok(meta);
            }
            if meta.grants.len() > before.grants.len() {
                let issued = self.grants_issued(&slots, meta.owner_uid)?;
                let added = meta.grants.len() - before.grants.len();
                if issued.saturating_add(added) > self.options.quotas.max_grants_per_owner as usize
                {
                    return Err(StoreError::QuotaExceeded(
                        "this uid has issued its quota of grants ([limits] max_grants_per_uid)",
                    ));
                }
            }
            let record = self.cipher.seal(&meta, &secret)?;
            slots.insert(key.as_str(), record.as_slice()).map_err(db)?;
            meta
        };
        txn.commit().map_err(db)?;
        Ok(meta)
    }

    /// Grants `uid` the permission bits `permissions`, which must be a non-empty subset of
    /// the slot's own bits ([`StoreError::InvalidArgument`] otherwise, also for the owner).
    /// Replaces an existing grant for `uid`.
    pub fn grant(
        &self,
        slot: SlotRef<'_>,
        uid: u32,
        permissions: u32,
    ) -> Result<SlotMeta, StoreError> {
        self.grant_if(slot, uid, permissions, |_| Ok(()))
    }

    /// [`Self::grant`] if `allow` accepts the slot's metadata as read inside the writing
    /// transaction (the caller's right is checked atomically with the change).
    pub(crate) fn grant_if(
        &self,
        slot: SlotRef<'_>,
        uid: u32,
        permissions: u32,
        allow: impl FnOnce(&SlotMeta) -> Result<(), StoreError>,
    ) -> Result<SlotMeta, StoreError> {
        validate_permissions(permissions)?;
        self.update_meta(slot, |meta| {
            allow(meta)?;
            if meta.state == SlotState::Locked {
                return Err(StoreError::SlotLocked);
            }
            if permissions == 0 {
                return Err(StoreError::InvalidArgument(
                    "grant must contain permission bits",
                ));
            }
            if permissions & !meta.permissions != 0 {
                return Err(StoreError::InvalidArgument(
                    "grant must be a subset of the slot's permissions",
                ));
            }
            // A slot stored before per-type permission rules may carry bits its key type
            // cannot use (e.g. derive on an HMAC key); never hand such a bit on.
            KeyOperationPermission::from_bits(permissions)
                .and_then(|p| p.check_applicable(meta.algorithm))
                .map_err(|e| StoreError::InvalidArgument(e.detail()))?;
            if uid == meta.owner_uid {
                return Err(StoreError::InvalidArgument(
                    "the owner already holds every permission",
                ));
            }
            if !meta.grants.contains_key(&uid) && meta.grants.len() >= MAX_GRANTS {
                return Err(StoreError::InvalidArgument("too many grants on this slot"));
            }
            meta.grants.insert(uid, permissions);
            Ok(())
        })
    }

    /// Removes `uid`'s grant. Returns whether there was one.
    pub fn revoke(&self, slot: SlotRef<'_>, uid: u32) -> Result<bool, StoreError> {
        self.revoke_if(slot, uid, |_| Ok(()))
    }

    /// [`Self::revoke`] if `allow` accepts the slot's metadata as read inside the writing
    /// transaction.
    pub(crate) fn revoke_if(
        &self,
        slot: SlotRef<'_>,
        uid: u32,
        allow: impl FnOnce(&SlotMeta) -> Result<(), StoreError>,
    ) -> Result<bool, StoreError> {
        let mut removed = false;
        self.update_meta(slot, |meta| {
            allow(meta)?;
            if meta.state == SlotState::Locked {
                return Err(StoreError::SlotLocked);
            }
            removed = meta.grants.remove(&uid).is_some();
            Ok(())
        })?;
        Ok(removed)
    }

    /// Locks or unlocks a slot as its owner would (an owner lock).
    pub fn set_locked(&self, slot: SlotRef<'_>, locked: bool) -> Result<SlotMeta, StoreError> {
        self.set_locked_if(slot, locked, false, |_| Ok(()))
    }

    /// Locks or unlocks a slot if `allow` accepts its record as the writing transaction sees
    /// it. `by_admin`: the lock is an admin's (only an admin can lift it); locking an
    /// owner-locked slot as admin turns it into an admin lock.
    pub(crate) fn set_locked_if(
        &self,
        slot: SlotRef<'_>,
        locked: bool,
        by_admin: bool,
        allow: impl FnOnce(&SlotMeta) -> Result<(), StoreError>,
    ) -> Result<SlotMeta, StoreError> {
        self.update_meta(slot, |meta| {
            allow(meta)?;
            if locked {
                meta.state = SlotState::Locked;
                meta.locked_by_admin |= by_admin;
            } else {
                if meta.state == SlotState::Locked && meta.locked_by_admin && !by_admin {
                    // An operator's freeze is not the owner's to lift.
                    return Err(StoreError::SlotLocked);
                }
                meta.state = SlotState::Occupied;
                meta.locked_by_admin = false;
            }
            Ok(())
        })
    }
}
