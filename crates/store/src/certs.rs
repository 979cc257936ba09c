//! Certificate slots (issue 16): per-owner named X.509 certificates, optionally bound to a
//! key slot, readable by uids the owner grants. Kept in the generic records table under the
//! namespace [`CERT_NAMESPACE`], keyed `"<owner uid>/<name>"` like key slots, and counted
//! against the same per-owner slot quota (one transaction counts both tables).
//!
//! Certificates are public data, so records are not encrypted; a record's owner and name are
//! its key, and its grants only ever give read access to public bytes.

use redb::{ReadableDatabase, ReadableTable};
use serde::{Deserialize, Serialize};

use crate::error::{StoreError, db};
use crate::schema::{RECORDS, SLOTS};
use crate::slot_ref::{SlotRef, owner_range};
use crate::store::{SlotStore, now_unix_ms};
use crate::validate::validate_slot_name;

/// Records namespace of certificate slots.
pub const CERT_NAMESPACE: &str = "warden.certs";
/// Grantees one certificate slot may have.
pub const MAX_CERT_GRANTS: usize = 64;

/// One certificate slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSlot {
    /// Owner uid.
    pub owner_uid: u32,
    /// Name within the owner's namespace.
    pub name: String,
    /// The certificate, DER (validated by the daemon before storing).
    pub der: Vec<u8>,
    /// The key slot it is bound to (`uid/name`), if any.
    pub key_slot: Option<String>,
    /// Uids that may read it.
    pub grants: Vec<u32>,
    /// Creation time, Unix milliseconds.
    pub created_unix_ms: u64,
}

impl CertSlot {
    /// Its address.
    pub fn slot(&self) -> SlotRef<'_> {
        SlotRef::new(self.owner_uid, &self.name)
    }
}

#[derive(Serialize, Deserialize)]
struct Header {
    created: u64,
    key_slot: Option<String>,
    grants: Vec<u32>,
}

/// Record: u32 LE header length, JSON header, DER.
fn encode(c: &CertSlot) -> Result<Vec<u8>, StoreError> {
    let header = serde_json::to_vec(&Header {
        created: c.created_unix_ms,
        key_slot: c.key_slot.clone(),
        grants: c.grants.clone(),
    })
    .map_err(|_| StoreError::InvalidArgument("certificate record does not encode"))?;
    let len = u32::try_from(header.len())
        .map_err(|_| StoreError::InvalidArgument("certificate record too large"))?;
    let mut out = len.to_le_bytes().to_vec();
    out.extend_from_slice(&header);
    out.extend_from_slice(&c.der);
    Ok(out)
}

fn decode(slot: SlotRef<'_>, record: &[u8]) -> Result<CertSlot, StoreError> {
    let (len, rest) = record.split_at_checked(4).ok_or(StoreError::Integrity)?;
    let mut n = [0u8; 4];
    n.copy_from_slice(len);
    let n = usize::try_from(u32::from_le_bytes(n)).map_err(|_| StoreError::Integrity)?;
    let (header, der) = rest.split_at_checked(n).ok_or(StoreError::Integrity)?;
    let h: Header = serde_json::from_slice(header).map_err(|_| StoreError::Integrity)?;
    Ok(CertSlot {
        owner_uid: slot.owner,
        name: slot.name.to_owned(),
        der: der.to_vec(),
        key_slot: h.key_slot,
        grants: h.grants,
        created_unix_ms: h.created,
    })
}

/// Keys of `owner`'s records in a namespace, as `(lo, hi)` byte bounds.
fn owner_bytes(owner: u32) -> (Vec<u8>, Vec<u8>) {
    let (lo, hi) = owner_range(owner);
    (lo.into_bytes(), hi.into_bytes())
}

/// Every certificate slot in `records`, with its database key (`owner/name`).
fn certs_in(
    records: &impl ReadableTable<(&'static str, &'static [u8]), &'static [u8]>,
) -> Result<Vec<(String, CertSlot)>, StoreError> {
    let mut out = Vec::new();
    let start: (&str, &[u8]) = (CERT_NAMESPACE, &[]);
    for entry in records.range(start..).map_err(db)? {
        let (k, v) = entry.map_err(db)?;
        let (ns, key) = k.value();
        if ns != CERT_NAMESPACE {
            break;
        }
        let key = std::str::from_utf8(key).map_err(|_| StoreError::Integrity)?;
        let slot = crate::slot_ref::split_key(key).ok_or(StoreError::Integrity)?;
        out.push((key.to_owned(), decode(slot, v.value())?));
    }
    Ok(out)
}

/// Certificate slots `owner` holds, as the transaction `records` sees them.
pub(crate) fn certs_owned(
    records: &impl ReadableTable<(&'static str, &'static [u8]), &'static [u8]>,
    owner: u32,
) -> Result<usize, StoreError> {
    let (lo, hi) = owner_bytes(owner);
    Ok(records
        .range((CERT_NAMESPACE, lo.as_slice())..(CERT_NAMESPACE, hi.as_slice()))
        .map_err(db)?
        .count())
}

impl SlotStore {
    /// Stores a certificate in a new certificate slot. [`StoreError::KeySlotOccupied`] if the
    /// name is taken, [`StoreError::QuotaExceeded`] if the owner's key and certificate slots
    /// together reach its slot quota. Durable on return.
    pub fn cert_create(
        &self,
        slot: SlotRef<'_>,
        der: &[u8],
        key_slot: Option<String>,
    ) -> Result<CertSlot, StoreError> {
        validate_slot_name(slot.name)?;
        let cert = CertSlot {
            owner_uid: slot.owner,
            name: slot.name.to_owned(),
            der: der.to_vec(),
            key_slot,
            grants: Vec::new(),
            created_unix_ms: now_unix_ms(),
        };
        let record = encode(&cert)?;
        let key = slot.key();
        let txn = self.begin_write()?;
        {
            let mut records = txn.open_table(RECORDS).map_err(db)?;
            if records
                .get((CERT_NAMESPACE, key.as_bytes()))
                .map_err(db)?
                .is_some()
            {
                return Err(StoreError::KeySlotOccupied);
            }
            let slots = txn.open_table(SLOTS).map_err(db)?;
            let (lo, hi) = owner_range(slot.owner);
            let keys = slots.range(lo.as_str()..hi.as_str()).map_err(db)?.count();
            let total = keys.saturating_add(certs_owned(&records, slot.owner)?);
            if total >= self.quotas().max_slots_per_owner as usize {
                return Err(StoreError::QuotaExceeded(
                    "this uid owns its quota of slots ([limits] max_slots_per_uid)",
                ));
            }
            records
                .insert((CERT_NAMESPACE, key.as_bytes()), record.as_slice())
                .map_err(db)?;
        }
        txn.commit().map_err(db)?;
        Ok(cert)
    }

    /// A certificate slot; [`StoreError::KeySlotEmpty`] if there is none.
    pub fn cert_get(&self, slot: SlotRef<'_>) -> Result<CertSlot, StoreError> {
        validate_slot_name(slot.name)?;
        let txn = self.db.begin_read().map_err(db)?;
        let records = txn.open_table(RECORDS).map_err(db)?;
        let key = slot.key();
        let rec = records
            .get((CERT_NAMESPACE, key.as_bytes()))
            .map_err(db)?
            .ok_or(StoreError::KeySlotEmpty)?;
        decode(slot, rec.value())
    }

    /// Every certificate slot, in `(owner, name)` order.
    pub fn cert_list(&self) -> Result<Vec<CertSlot>, StoreError> {
        let txn = self.db.begin_read().map_err(db)?;
        let records = txn.open_table(RECORDS).map_err(db)?;
        let mut out: Vec<CertSlot> = certs_in(&records)?.into_iter().map(|(_, c)| c).collect();
        out.sort_by(|a, b| a.slot().cmp(&b.slot()));
        Ok(out)
    }

    /// Deletes a certificate slot; [`StoreError::KeySlotEmpty`] if there is none.
    pub fn cert_delete(&self, slot: SlotRef<'_>) -> Result<(), StoreError> {
        validate_slot_name(slot.name)?;
        let key = slot.key();
        let txn = self.begin_write()?;
        let removed = {
            let mut records = txn.open_table(RECORDS).map_err(db)?;
            records
                .remove((CERT_NAMESPACE, key.as_bytes()))
                .map_err(db)?
                .is_some()
        };
        if !removed {
            return Err(StoreError::KeySlotEmpty);
        }
        txn.commit().map_err(db)
    }

    /// Removes every certificate slot's binding to the key slot `qualified` (`owner/name`), in
    /// one transaction; returns how many were unbound. Called when that key slot is deleted,
    /// so a key later created under the same name is not shown as the certificate's key.
    pub fn cert_unbind_key_slot(&self, qualified: &str) -> Result<usize, StoreError> {
        let txn = self.begin_write()?;
        let mut unbound = 0;
        {
            let mut records = txn.open_table(RECORDS).map_err(db)?;
            let bound = certs_in(&records)?
                .into_iter()
                .filter(|(_, c)| c.key_slot.as_deref() == Some(qualified));
            for (key, mut cert) in bound {
                cert.key_slot = None;
                let record = encode(&cert)?;
                records
                    .insert((CERT_NAMESPACE, key.as_bytes()), record.as_slice())
                    .map_err(db)?;
                unbound += 1;
            }
        }
        txn.commit().map_err(db)?;
        Ok(unbound)
    }

    /// Changes a certificate slot in one transaction: `change` sees the current record and
    /// may refuse; nothing is written unless it succeeds. Durable on return.
    pub fn cert_update(
        &self,
        slot: SlotRef<'_>,
        change: impl FnOnce(&mut CertSlot) -> Result<(), StoreError>,
    ) -> Result<CertSlot, StoreError> {
        validate_slot_name(slot.name)?;
        let key = slot.key();
        let txn = self.begin_write()?;
        let cert = {
            let mut records = txn.open_table(RECORDS).map_err(db)?;
            let mut cert = {
                let rec = records
                    .get((CERT_NAMESPACE, key.as_bytes()))
                    .map_err(db)?
                    .ok_or(StoreError::KeySlotEmpty)?;
                decode(slot, rec.value())?
            };
            change(&mut cert)?;
            if cert.grants.len() > MAX_CERT_GRANTS {
                return Err(StoreError::QuotaExceeded(
                    "a certificate slot has at most 64 grantees",
                ));
            }
            let record = encode(&cert)?;
            records
                .insert((CERT_NAMESPACE, key.as_bytes()), record.as_slice())
                .map_err(db)?;
            cert
        };
        txn.commit().map_err(db)?;
        Ok(cert)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FileMasterKey, NewSlot, SlotQuotas, StoreOptions};
    use warden_core::Algorithm;

    fn store(max: u32) -> (tempfile::TempDir, SlotStore) {
        let dir = tempfile::tempdir().unwrap();
        let opts = StoreOptions {
            quotas: SlotQuotas {
                max_slots_per_owner: max,
                ..SlotQuotas::default()
            },
            ..StoreOptions::default()
        };
        let s = SlotStore::open_with(dir.path(), &FileMasterKey::in_dir(dir.path()), opts).unwrap();
        (dir, s)
    }

    #[test]
    fn certificate_slots_round_trip_update_and_delete() {
        let (_d, s) = store(8);
        let a = SlotRef::new(1000, "dev.cert");
        s.cert_create(a, b"DER", Some("1000/dev.key".into()))
            .unwrap();
        assert!(matches!(
            s.cert_create(a, b"other", None),
            Err(StoreError::KeySlotOccupied)
        ));
        let got = s.cert_get(a).unwrap();
        assert_eq!(
            (got.der.as_slice(), got.key_slot.as_deref()),
            (&b"DER"[..], Some("1000/dev.key"))
        );
        s.cert_update(a, |c| {
            c.grants.push(4242);
            Ok(())
        })
        .unwrap();
        // A refused change writes nothing.
        assert!(s.cert_update(a, |_| Err(StoreError::AccessDenied)).is_err());
        assert_eq!(s.cert_get(a).unwrap().grants, [4242]);
        assert_eq!(s.cert_list().unwrap().len(), 1);
        s.cert_delete(a).unwrap();
        assert!(matches!(s.cert_get(a), Err(StoreError::KeySlotEmpty)));
        assert!(matches!(s.cert_delete(a), Err(StoreError::KeySlotEmpty)));
    }

    #[test]
    fn key_and_certificate_slots_share_the_quota() {
        let (_d, s) = store(2);
        let new = NewSlot {
            name: "k".into(),
            owner_uid: 7,
            algorithm: Algorithm::Aes256Key,
            permissions: 1,
            exportable: false,
        };
        s.create_slot(&new, &[0; 32]).unwrap();
        s.cert_create(SlotRef::new(7, "c1"), b"x", None).unwrap();
        assert!(matches!(
            s.cert_create(SlotRef::new(7, "c2"), b"x", None),
            Err(StoreError::QuotaExceeded(_))
        ));
        let new2 = NewSlot {
            name: "k2".into(),
            ..new
        };
        assert!(matches!(
            s.create_slot(&new2, &[0; 32]),
            Err(StoreError::QuotaExceeded(_))
        ));
        // Another owner is unaffected.
        s.cert_create(SlotRef::new(8, "c1"), b"x", None).unwrap();
    }
}
