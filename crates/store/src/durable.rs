//! Durable tables for the permit/receipt loop (issue 6) and generic records.

use redb::{ReadableDatabase, ReadableTable};

use crate::error::{StoreError, db};
use crate::schema::{RECEIPT_CHAIN, RECEIPTS, RECORDS, REPLAY};
use crate::store::SlotStore;
use crate::validate::validate_slot_name;

/// Longest permit id accepted.
pub const MAX_PERMIT_ID_LEN: usize = 256;
/// Longest issuer name accepted.
pub const MAX_ISSUER_LEN: usize = 256;
/// Longest receipt hash accepted.
pub const MAX_HASH_LEN: usize = 64;
/// Largest generic record value (policy modules are the big ones).
pub const MAX_RECORD_LEN: usize = 16 << 20;
/// Largest stored receipt.
pub const MAX_RECEIPT_LEN: usize = 64 << 10;
const CHAIN_KEY: &str = "state";
/// Key of the retention checkpoint in the chain table.
const CHECKPOINT_KEY: &str = "checkpoint";

/// Persisted permit use counts: replay protection that survives restarts.
#[derive(Debug, Clone, Copy)]
pub struct ReplayTable<'s> {
    store: &'s SlotStore,
}

/// Outcome of a successful [`ReplayTable::consume`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PermitUse {
    /// How many times the permit has now been used, including this use.
    pub uses: u64,
}

impl<'s> ReplayTable<'s> {
    fn check_id(issuer: &str, permit_id: &[u8]) -> Result<(), StoreError> {
        if permit_id.is_empty() || permit_id.len() > MAX_PERMIT_ID_LEN {
            return Err(StoreError::InvalidArgument(
                "permit id must be 1 to 256 bytes",
            ));
        }
        if issuer.is_empty() || issuer.len() > MAX_ISSUER_LEN {
            return Err(StoreError::InvalidArgument(
                "permit issuer must be 1 to 256 bytes",
            ));
        }
        Ok(())
    }

    /// Atomically records one use of permit `permit_id` from `issuer` (ids are unique per
    /// issuer, so two issuers' ids never collide), allowing at most `max_uses` in total
    /// (1 for a single-use permit). Fails with [`StoreError::PermitReplayed`] once used up.
    /// `expires_unix_s` (the permit's expiry) lets [`Self::prune_expired`] forget the entry
    /// after the permit could no longer be accepted anyway. Durable before it returns.
    pub fn consume(
        &self,
        issuer: &str,
        permit_id: &[u8],
        max_uses: u64,
        expires_unix_s: u64,
    ) -> Result<PermitUse, StoreError> {
        Self::check_id(issuer, permit_id)?;
        if max_uses == 0 {
            return Err(StoreError::InvalidArgument("max uses must be at least 1"));
        }
        let txn = self.store.begin_write()?;
        let uses = {
            let mut t = txn.open_table(REPLAY).map_err(db)?;
            let (used, expiry) = t
                .get((issuer, permit_id))
                .map_err(db)?
                .map(|v| v.value())
                .unwrap_or((0, expires_unix_s));
            if used >= max_uses {
                return Err(StoreError::PermitReplayed);
            }
            let uses = used + 1;
            t.insert((issuer, permit_id), (uses, expiry.max(expires_unix_s)))
                .map_err(db)?;
            uses
        };
        txn.commit().map_err(db)?;
        Ok(PermitUse { uses })
    }

    /// How many times `issuer`'s permit `permit_id` has been used (0 if never).
    pub fn uses(&self, issuer: &str, permit_id: &[u8]) -> Result<u64, StoreError> {
        Self::check_id(issuer, permit_id)?;
        let txn = self.store.db.begin_read().map_err(db)?;
        let t = txn.open_table(REPLAY).map_err(db)?;
        Ok(t.get((issuer, permit_id))
            .map_err(db)?
            .map(|v| v.value().0)
            .unwrap_or(0))
    }

    /// Forgets permits whose expiry is before `now_unix_s`; returns how many were removed.
    /// Only safe because the verifier rejects expired permits before consulting this table.
    pub fn prune_expired(&self, now_unix_s: u64) -> Result<usize, StoreError> {
        let txn = self.store.begin_write()?;
        let mut removed = 0usize;
        {
            let mut t = txn.open_table(REPLAY).map_err(db)?;
            t.retain(|_, (_, expiry)| {
                let keep = expiry >= now_unix_s;
                if !keep {
                    removed += 1;
                }
                keep
            })
            .map_err(db)?;
        }
        txn.commit().map_err(db)?;
        Ok(removed)
    }
}

/// The persisted head of the receipt chain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceiptChainState {
    /// Counter of the last receipt issued (0 before the first).
    pub counter: u64,
    /// Hash of the last receipt issued (empty before the first).
    pub prev_hash: Vec<u8>,
}

/// Where the stored receipt log starts after retention pruning: every receipt with a counter
/// up to `counter` was deleted. `anchor` is opaque to the store: the permit service keeps its
/// signed checkpoint there (counter and hash of the last pruned receipt), which lets a
/// verifier check the retained receipts from that point on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptCheckpoint {
    /// Counter of the last pruned receipt.
    pub counter: u64,
    /// The caller's proof of the pruned prefix (the permit service's signed checkpoint).
    pub anchor: Vec<u8>,
}

/// The receipt chain: a monotonic counter and the previous receipt's hash, advanced with a
/// compare-and-swap, plus the durable log of issued receipts.
#[derive(Debug, Clone, Copy)]
pub struct ReceiptChain<'s> {
    store: &'s SlotStore,
}

fn decode_chain(bytes: &[u8]) -> Result<ReceiptChainState, StoreError> {
    let (counter, hash) = bytes
        .split_first_chunk::<8>()
        .ok_or(StoreError::Integrity)?;
    Ok(ReceiptChainState {
        counter: u64::from_le_bytes(*counter),
        prev_hash: hash.to_vec(),
    })
}

impl<'s> ReceiptChain<'s> {
    /// The current head of the chain.
    pub fn state(&self) -> Result<ReceiptChainState, StoreError> {
        let txn = self.store.db.begin_read().map_err(db)?;
        let t = txn.open_table(RECEIPT_CHAIN).map_err(db)?;
        match t.get(CHAIN_KEY).map_err(db)? {
            Some(v) => decode_chain(v.value()),
            None => Ok(ReceiptChainState::default()),
        }
    }

    /// Appends a receipt: if the stored counter still equals `expected_counter`, stores
    /// counter + 1, `receipt_hash` as the new previous hash and `receipt` under the new counter,
    /// all in one durable transaction, and returns the new state. Otherwise fails with
    /// [`StoreError::ChainConflict`] and changes nothing.
    ///
    /// Intended use: read [`Self::state`], build and sign receipt number `counter + 1` that
    /// embeds `prev_hash`, then `advance(counter, hash(receipt), receipt)` before replying.
    pub fn advance(
        &self,
        expected_counter: u64,
        receipt_hash: &[u8],
        receipt: &[u8],
    ) -> Result<ReceiptChainState, StoreError> {
        if receipt_hash.is_empty() || receipt_hash.len() > MAX_HASH_LEN {
            return Err(StoreError::InvalidArgument(
                "receipt hash must be 1 to 64 bytes",
            ));
        }
        if receipt.len() > MAX_RECEIPT_LEN {
            return Err(StoreError::InvalidArgument("receipt too large"));
        }
        let txn = self.store.begin_write()?;
        let next = {
            let mut t = txn.open_table(RECEIPT_CHAIN).map_err(db)?;
            let current = match t.get(CHAIN_KEY).map_err(db)? {
                Some(v) => decode_chain(v.value())?.counter,
                None => 0,
            };
            if current != expected_counter {
                return Err(StoreError::ChainConflict {
                    expected: expected_counter,
                    current,
                });
            }
            let counter = current
                .checked_add(1)
                .ok_or(StoreError::InvalidArgument("receipt counter exhausted"))?;
            let mut value = counter.to_le_bytes().to_vec();
            value.extend_from_slice(receipt_hash);
            t.insert(CHAIN_KEY, value.as_slice()).map_err(db)?;
            let mut log = txn.open_table(RECEIPTS).map_err(db)?;
            log.insert(counter, receipt).map_err(db)?;
            ReceiptChainState {
                counter,
                prev_hash: receipt_hash.to_vec(),
            }
        };
        txn.commit().map_err(db)?;
        Ok(next)
    }

    /// The latest retention checkpoint, if receipts were ever pruned.
    pub fn checkpoint(&self) -> Result<Option<ReceiptCheckpoint>, StoreError> {
        let txn = self.store.db.begin_read().map_err(db)?;
        let t = txn.open_table(RECEIPT_CHAIN).map_err(db)?;
        match t.get(CHECKPOINT_KEY).map_err(db)? {
            Some(v) => {
                let (counter, anchor) = v
                    .value()
                    .split_first_chunk::<8>()
                    .ok_or(StoreError::Integrity)?;
                Ok(Some(ReceiptCheckpoint {
                    counter: u64::from_le_bytes(*counter),
                    anchor: anchor.to_vec(),
                }))
            }
            None => Ok(None),
        }
    }

    /// Deletes every stored receipt with a counter up to `counter` and records `anchor` as
    /// the new checkpoint, in one durable transaction; returns how many receipts went.
    /// `counter` must not pass the chain head (the head receipt is always kept) and must move
    /// the checkpoint forward, so a stale caller cannot roll it back.
    pub fn prune_through(&self, counter: u64, anchor: &[u8]) -> Result<usize, StoreError> {
        if anchor.len() > MAX_RECEIPT_LEN {
            return Err(StoreError::InvalidArgument("checkpoint too large"));
        }
        let txn = self.store.begin_write()?;
        let removed = {
            let mut chain = txn.open_table(RECEIPT_CHAIN).map_err(db)?;
            let head = match chain.get(CHAIN_KEY).map_err(db)? {
                Some(v) => decode_chain(v.value())?.counter,
                None => 0,
            };
            if counter == 0 || counter >= head {
                return Err(StoreError::InvalidArgument(
                    "prune point must be before the chain head",
                ));
            }
            let previous = match chain.get(CHECKPOINT_KEY).map_err(db)? {
                Some(v) => v
                    .value()
                    .first_chunk::<8>()
                    .map(|c| u64::from_le_bytes(*c))
                    .ok_or(StoreError::Integrity)?,
                None => 0,
            };
            if counter <= previous {
                return Err(StoreError::InvalidArgument(
                    "prune point must move the checkpoint forward",
                ));
            }
            let mut value = counter.to_le_bytes().to_vec();
            value.extend_from_slice(anchor);
            chain.insert(CHECKPOINT_KEY, value.as_slice()).map_err(db)?;
            let mut log = txn.open_table(RECEIPTS).map_err(db)?;
            let mut removed = 0usize;
            log.retain_in(..=counter, |_, _| {
                removed += 1;
                false
            })
            .map_err(db)?;
            removed
        };
        txn.commit().map_err(db)?;
        Ok(removed)
    }

    /// The stored receipt with this counter, if any.
    pub fn receipt(&self, counter: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.store.db.begin_read().map_err(db)?;
        let t = txn.open_table(RECEIPTS).map_err(db)?;
        Ok(t.get(counter).map_err(db)?.map(|v| v.value().to_vec()))
    }

    /// Up to `limit` stored receipts with counter >= `from`, in order.
    pub fn receipts_from(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let txn = self.store.db.begin_read().map_err(db)?;
        let t = txn.open_table(RECEIPTS).map_err(db)?;
        let mut out = Vec::new();
        for entry in t.range(from..).map_err(db)?.take(limit) {
            let (k, v) = entry.map_err(db)?;
            out.push((k.value(), v.value().to_vec()));
        }
        Ok(out)
    }
}

/// One `(key, value)` of [`DurableRecords::scan`].
pub type RecordEntry = (Vec<u8>, Vec<u8>);

/// Generic durable records: `(namespace, key) -> bytes`, for data that is public or
/// integrity-protected elsewhere (trust-store public keys, policy modules). Not encrypted.
#[derive(Debug, Clone, Copy)]
pub struct DurableRecords<'s> {
    store: &'s SlotStore,
    namespace: &'s str,
}

impl<'s> DurableRecords<'s> {
    fn check(key: &[u8], value_len: usize) -> Result<(), StoreError> {
        if key.is_empty() || key.len() > 1024 {
            return Err(StoreError::InvalidArgument(
                "record key must be 1 to 1024 bytes",
            ));
        }
        if value_len > MAX_RECORD_LEN {
            return Err(StoreError::InvalidArgument("record too large"));
        }
        Ok(())
    }

    /// Inserts or replaces a record; returns whether one was replaced. Durable on return.
    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<bool, StoreError> {
        Self::check(key, value.len())?;
        let txn = self.store.begin_write()?;
        let replaced = {
            let mut t = txn.open_table(RECORDS).map_err(db)?;
            t.insert((self.namespace, key), value)
                .map_err(db)?
                .is_some()
        };
        txn.commit().map_err(db)?;
        Ok(replaced)
    }

    /// Inserts only if absent; [`StoreError::KeySlotOccupied`] otherwise.
    pub fn insert_new(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        Self::check(key, value.len())?;
        let txn = self.store.begin_write()?;
        {
            let mut t = txn.open_table(RECORDS).map_err(db)?;
            if t.get((self.namespace, key)).map_err(db)?.is_some() {
                return Err(StoreError::KeySlotOccupied);
            }
            t.insert((self.namespace, key), value).map_err(db)?;
        }
        txn.commit().map_err(db)
    }

    /// The record under `key`.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Self::check(key, 0)?;
        let txn = self.store.db.begin_read().map_err(db)?;
        let t = txn.open_table(RECORDS).map_err(db)?;
        Ok(t.get((self.namespace, key))
            .map_err(db)?
            .map(|v| v.value().to_vec()))
    }

    /// Removes a record; returns whether it existed. Durable on return.
    pub fn remove(&self, key: &[u8]) -> Result<bool, StoreError> {
        Self::check(key, 0)?;
        let txn = self.store.begin_write()?;
        let removed = {
            let mut t = txn.open_table(RECORDS).map_err(db)?;
            t.remove((self.namespace, key)).map_err(db)?.is_some()
        };
        txn.commit().map_err(db)?;
        Ok(removed)
    }

    /// Every `(key, value)` in this namespace whose key starts with `prefix`, in key order.
    pub fn scan(&self, prefix: &[u8]) -> Result<Vec<RecordEntry>, StoreError> {
        let txn = self.store.db.begin_read().map_err(db)?;
        let t = txn.open_table(RECORDS).map_err(db)?;
        let mut out = Vec::new();
        let start: (&str, &[u8]) = (self.namespace, prefix);
        for entry in t.range(start..).map_err(db)? {
            let (k, v) = entry.map_err(db)?;
            let (ns, key) = k.value();
            if ns != self.namespace || !key.starts_with(prefix) {
                break;
            }
            out.push((key.to_vec(), v.value().to_vec()));
        }
        Ok(out)
    }

    /// Removes every record whose key starts with `prefix` (non-empty), in one transaction;
    /// returns how many. Durable on return.
    pub fn remove_prefix(&self, prefix: &[u8]) -> Result<usize, StoreError> {
        Self::check(prefix, 0)?;
        let keys: Vec<Vec<u8>> = self.scan(prefix)?.into_iter().map(|(k, _)| k).collect();
        let txn = self.store.begin_write()?;
        {
            let mut t = txn.open_table(RECORDS).map_err(db)?;
            for k in &keys {
                t.remove((self.namespace, k.as_slice())).map_err(db)?;
            }
        }
        txn.commit().map_err(db)?;
        Ok(keys.len())
    }

    /// Every key in this namespace, sorted.
    pub fn keys(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        let txn = self.store.db.begin_read().map_err(db)?;
        let t = txn.open_table(RECORDS).map_err(db)?;
        let mut out = Vec::new();
        let start: (&str, &[u8]) = (self.namespace, &[]);
        for entry in t.range(start..).map_err(db)? {
            let (k, _) = entry.map_err(db)?;
            let (ns, key) = k.value();
            if ns != self.namespace {
                break;
            }
            out.push(key.to_vec());
        }
        Ok(out)
    }
}

impl SlotStore {
    /// The persisted permit replay table.
    pub fn replay_table(&self) -> ReplayTable<'_> {
        ReplayTable { store: self }
    }

    /// The persisted receipt chain.
    pub fn receipt_chain(&self) -> ReceiptChain<'_> {
        ReceiptChain { store: self }
    }

    /// Generic durable records in `namespace` (same character rules as slot names).
    pub fn records<'s>(&'s self, namespace: &'s str) -> Result<DurableRecords<'s>, StoreError> {
        validate_slot_name(namespace)?;
        Ok(DurableRecords {
            store: self,
            namespace,
        })
    }
}
