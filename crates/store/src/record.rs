//! Slot metadata and the sealed on-disk record format.
//!
//! Record layout (format version 1), stored as the value under the key `"<owner>/<name>"`
//! (see [`crate::SlotRef`]):
//!
//! ```text
//! version: u8 = 1 | nonce: [u8; 12] | meta_len: u32 LE | meta: [u8; meta_len] | ciphertext || tag(16)
//! meta = owner u32 | permissions u32 | exportable u8 | state u8 | created_unix_ms u64
//!        (state: 1 occupied, 2 locked by its owner, 3 locked by an admin)
//!        | alg_len u8 | algorithm name | grant_count u32 | (uid u32, permissions u32) * grant_count
//! ```
//!
//! The secret is AES-256-GCM encrypted with a fresh random nonce on every write. The
//! associated data is `"warden-store/slot" | version | name_len u8 | name | meta`, so the slot
//! name, owner, algorithm, record version and every other metadata field (permissions,
//! exportable flag, grants, state) are authenticated: editing any of them, or moving a record
//! under another name, makes decryption fail. The owner is not in the associated data's name
//! field but in `meta`; the store checks it against the namespace the record was read from, so
//! a record moved into another owner's namespace fails too.

use std::collections::BTreeMap;

use warden_provider_awslc::primitives::{AEAD_NONCE_LEN as NONCE_LEN, Aes256Gcm, fill_random};
use zeroize::Zeroizing;

use crate::error::StoreError;
use crate::master_key::MasterKey;
use warden_core::Algorithm;

use crate::validate::{validate_permissions, validate_slot_name};

/// On-disk record format version written by this build.
pub const RECORD_VERSION: u8 = 1;
const TAG_LEN: usize = 16;
const AAD_LABEL: &[u8] = b"warden-store/slot";
/// Upper bound on a stored secret (the key's storage serialisation).
pub const MAX_SECRET_LEN: usize = 1 << 20;
/// Upper bound on grants per slot, so a record stays small.
pub const MAX_GRANTS: usize = 256;

/// Whether a slot's key may be used. (An empty slot is simply absent.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotState {
    /// Holds a key that may be used according to its permissions.
    Occupied,
    /// Holds a key that may not be loaded nor have its grants changed until unlocked.
    Locked,
}

impl SlotState {
    /// The stored state byte: 1 occupied, 2 locked by its owner, 3 locked by an admin.
    fn to_byte(self, locked_by_admin: bool) -> u8 {
        match (self, locked_by_admin) {
            (Self::Occupied, _) => 1,
            (Self::Locked, false) => 2,
            (Self::Locked, true) => 3,
        }
    }
    /// State and whether an admin holds the lock.
    fn from_byte(b: u8) -> Option<(Self, bool)> {
        match b {
            1 => Some((Self::Occupied, false)),
            2 => Some((Self::Locked, false)),
            3 => Some((Self::Locked, true)),
            _ => None,
        }
    }
}

/// What the caller provides to create a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSlot {
    /// Slot name, `[A-Za-z0-9._-]{1,64}`.
    pub name: String,
    /// The uid that owns the slot.
    pub owner_uid: u32,
    /// The key's algorithm (stored by its canonical name).
    pub algorithm: Algorithm,
    /// Permission bits of the key (`KeyOperationPermission` bits, at most 0xFFF).
    pub permissions: u32,
    /// Whether the secret may ever be exported.
    pub exportable: bool,
}

/// Everything the store knows about a slot, except its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotMeta {
    /// Slot name.
    pub name: String,
    /// Owner uid.
    pub owner_uid: u32,
    /// The key's algorithm.
    pub algorithm: Algorithm,
    /// Permission bits of the key.
    pub permissions: u32,
    /// Whether the secret may ever be exported.
    pub exportable: bool,
    /// Grants: uid -> permission subset.
    pub grants: BTreeMap<u32, u32>,
    /// Occupied or locked.
    pub state: SlotState,
    /// A locked slot's lock was set by an admin: the owner cannot lift it.
    pub locked_by_admin: bool,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_unix_ms: u64,
}

impl SlotMeta {
    pub(crate) fn from_new(new: &NewSlot, created_unix_ms: u64) -> Result<Self, StoreError> {
        validate_slot_name(&new.name)?;
        validate_permissions(new.permissions)?;
        Ok(Self {
            name: new.name.clone(),
            owner_uid: new.owner_uid,
            algorithm: new.algorithm,
            permissions: new.permissions,
            exportable: new.exportable,
            grants: BTreeMap::new(),
            state: SlotState::Occupied,
            locked_by_admin: false,
            created_unix_ms,
        })
    }

    /// The slot's address (owner namespace and name).
    pub fn slot(&self) -> crate::SlotRef<'_> {
        crate::SlotRef::new(self.owner_uid, &self.name)
    }

    fn encode(&self) -> Result<Vec<u8>, StoreError> {
        let alg = self.algorithm.name().as_bytes();
        let alg_len = u8::try_from(alg.len())
            .map_err(|_| StoreError::InvalidArgument("algorithm name too long"))?;
        let grant_count = u32::try_from(self.grants.len())
            .map_err(|_| StoreError::InvalidArgument("too many grants"))?;
        let mut out = Vec::with_capacity(27 + alg.len() + 8 * self.grants.len());
        out.extend_from_slice(&self.owner_uid.to_le_bytes());
        out.extend_from_slice(&self.permissions.to_le_bytes());
        out.push(u8::from(self.exportable));
        out.push(self.state.to_byte(self.locked_by_admin));
        out.extend_from_slice(&self.created_unix_ms.to_le_bytes());
        out.push(alg_len);
        out.extend_from_slice(alg);
        out.extend_from_slice(&grant_count.to_le_bytes());
        for (uid, perms) in &self.grants {
            out.extend_from_slice(&uid.to_le_bytes());
            out.extend_from_slice(&perms.to_le_bytes());
        }
        Ok(out)
    }

    fn decode(name: &str, bytes: &[u8]) -> Result<Self, StoreError> {
        let mut r = Reader(bytes);
        let owner_uid = r.u32()?;
        let permissions = r.u32()?;
        let exportable = match r.u8()? {
            0 => false,
            1 => true,
            _ => return Err(StoreError::Integrity),
        };
        let (state, locked_by_admin) =
            SlotState::from_byte(r.u8()?).ok_or(StoreError::Integrity)?;
        let created_unix_ms = r.u64()?;
        let alg_len = usize::from(r.u8()?);
        let algorithm = std::str::from_utf8(r.take(alg_len)?)
            .ok()
            .and_then(|n| Algorithm::from_name(n).ok())
            .ok_or(StoreError::Integrity)?;
        let grant_count = r.u32()?;
        if grant_count as usize > MAX_GRANTS {
            return Err(StoreError::Integrity);
        }
        let mut grants = BTreeMap::new();
        for _ in 0..grant_count {
            let uid = r.u32()?;
            let perms = r.u32()?;
            if grants.insert(uid, perms).is_some() {
                return Err(StoreError::Integrity);
            }
        }
        if !r.0.is_empty() {
            return Err(StoreError::Integrity);
        }
        Ok(Self {
            name: name.to_owned(),
            owner_uid,
            algorithm,
            permissions,
            exportable,
            grants,
            state,
            locked_by_admin,
            created_unix_ms,
        })
    }
}

/// The owner uid in a sealed record's (plaintext, authenticated-on-open) metadata header,
/// without decrypting: for re-keying records during a schema migration only.
pub(crate) fn peek_owner(record: &[u8]) -> Option<u32> {
    let mut r = Reader(record);
    if r.u8().ok()? != RECORD_VERSION {
        return None;
    }
    r.take(NONCE_LEN + 4).ok()?;
    r.u32().ok()
}

/// Bounds-checked little-endian reader: every short read is an integrity failure.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], StoreError> {
        if self.0.len() < n {
            return Err(StoreError::Integrity);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], StoreError> {
        self.take(N)?.try_into().map_err(|_| StoreError::Integrity)
    }
    fn u8(&mut self) -> Result<u8, StoreError> {
        Ok(u8::from_le_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32, StoreError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, StoreError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
}

/// AES-256-GCM under the master key, for slot records and the store's key check.
pub(crate) struct RecordCipher {
    key: Aes256Gcm,
}

impl std::fmt::Debug for RecordCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecordCipher([REDACTED])")
    }
}

fn aad(name: &str, meta: &[u8]) -> Result<Vec<u8>, StoreError> {
    let name_len =
        u8::try_from(name.len()).map_err(|_| StoreError::InvalidArgument("slot name too long"))?;
    let mut aad = Vec::with_capacity(AAD_LABEL.len() + 2 + name.len() + meta.len());
    aad.extend_from_slice(AAD_LABEL);
    aad.push(RECORD_VERSION);
    aad.push(name_len);
    aad.extend_from_slice(name.as_bytes());
    aad.extend_from_slice(meta);
    Ok(aad)
}

impl RecordCipher {
    pub(crate) fn new(master: &MasterKey) -> Result<Self, StoreError> {
        Ok(Self {
            key: Aes256Gcm::new(master.as_bytes()).map_err(|_| StoreError::Integrity)?,
        })
    }

    /// Seals `secret` for slot `meta.name`; returns the full on-disk record.
    pub(crate) fn seal(&self, meta: &SlotMeta, secret: &[u8]) -> Result<Vec<u8>, StoreError> {
        if secret.is_empty() || secret.len() > MAX_SECRET_LEN {
            return Err(StoreError::InvalidArgument("secret length out of range"));
        }
        if meta.grants.len() > MAX_GRANTS {
            return Err(StoreError::InvalidArgument("too many grants"));
        }
        let meta_bytes = meta.encode()?;
        let aad = aad(&meta.name, &meta_bytes)?;
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce).map_err(|_| StoreError::Rng)?;
        let meta_len = u32::try_from(meta_bytes.len())
            .map_err(|_| StoreError::InvalidArgument("metadata too large"))?;
        let header_len = 1 + NONCE_LEN + 4 + meta_bytes.len();
        // Whole record in one buffer; the plaintext is encrypted in place inside it, so it is
        // zeroized on drop in case sealing fails half-way.
        let mut record = Zeroizing::new(Vec::with_capacity(header_len + secret.len() + TAG_LEN));
        record.push(RECORD_VERSION);
        record.extend_from_slice(&nonce);
        record.extend_from_slice(&meta_len.to_le_bytes());
        record.extend_from_slice(&meta_bytes);
        record.extend_from_slice(secret);
        let tag = {
            let body = record.get_mut(header_len..).ok_or(StoreError::Integrity)?;
            self.key
                .seal(nonce, &aad, body)
                .map_err(|_| StoreError::Integrity)?
        };
        record.extend_from_slice(tag.as_ref());
        Ok(std::mem::take(&mut *record))
    }

    /// Authenticates and decrypts a record stored under `name`.
    pub(crate) fn open(
        &self,
        name: &str,
        record: &[u8],
    ) -> Result<(SlotMeta, Zeroizing<Vec<u8>>), StoreError> {
        let mut r = Reader(record);
        if r.u8()? != RECORD_VERSION {
            return Err(StoreError::Integrity);
        }
        let nonce: [u8; NONCE_LEN] = r.array()?;
        let meta_len = r.u32()? as usize;
        let meta_bytes = r.take(meta_len)?;
        let sealed = r.0;
        if sealed.len() <= TAG_LEN {
            return Err(StoreError::Integrity);
        }
        let meta = SlotMeta::decode(name, meta_bytes)?;
        let aad = aad(name, meta_bytes)?;
        let mut buf = Zeroizing::new(sealed.to_vec());
        let plain_len = self
            .key
            .open(nonce, &aad, buf.as_mut_slice())
            .map_err(|_| StoreError::Integrity)?;
        buf.truncate(plain_len);
        Ok((meta, buf))
    }

    /// Seals a fixed check value so opening with the wrong master key is reported clearly.
    pub(crate) fn seal_key_check(&self) -> Result<Vec<u8>, StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce).map_err(|_| StoreError::Rng)?;
        let mut body = KEY_CHECK_PLAINTEXT.to_vec();
        let tag = self
            .key
            .seal(nonce, KEY_CHECK_AAD, &mut body)
            .map_err(|_| StoreError::Integrity)?;
        body.extend_from_slice(&tag);
        let mut out = nonce.to_vec();
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Verifies the check value written by [`Self::seal_key_check`].
    pub(crate) fn verify_key_check(&self, stored: &[u8]) -> Result<(), StoreError> {
        let mut r = Reader(stored);
        let nonce: [u8; NONCE_LEN] = r.array().map_err(|_| StoreError::WrongMasterKey)?;
        let mut body = r.0.to_vec();
        let n = self
            .key
            .open(nonce, KEY_CHECK_AAD, &mut body)
            .map_err(|_| StoreError::WrongMasterKey)?;
        if body.get(..n) != Some(KEY_CHECK_PLAINTEXT) {
            return Err(StoreError::WrongMasterKey);
        }
        Ok(())
    }
}

const KEY_CHECK_AAD: &[u8] = b"warden-store/key-check";
const KEY_CHECK_PLAINTEXT: &[u8] = b"warden master key check v1";

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(byte: u8) -> RecordCipher {
        RecordCipher::new(&MasterKey::from_bytes(Zeroizing::new([byte; 32]))).unwrap()
    }

    fn meta(name: &str) -> SlotMeta {
        let mut m = SlotMeta::from_new(
            &NewSlot {
                name: name.into(),
                owner_uid: 1000,
                algorithm: Algorithm::Ed25519,
                permissions: 0x30,
                exportable: false,
            },
            42,
        )
        .unwrap();
        m.grants.insert(7, 0x20);
        m
    }

    #[test]
    fn seal_open_round_trip_and_fresh_nonce() {
        let c = cipher(1);
        let m = meta("a");
        let r1 = c.seal(&m, b"secret bytes").unwrap();
        let r2 = c.seal(&m, b"secret bytes").unwrap();
        assert_ne!(r1, r2, "each write must use a new nonce");
        let (m2, s) = c.open("a", &r1).unwrap();
        assert_eq!(m2, m);
        assert_eq!(s.as_slice(), b"secret bytes");
    }

    #[test]
    fn every_single_byte_flip_is_detected() {
        let c = cipher(1);
        let rec = c.seal(&meta("a"), b"0123456789abcdef").unwrap();
        for i in 0..rec.len() {
            let mut bad = rec.clone();
            bad[i] ^= 0x01;
            assert!(
                matches!(c.open("a", &bad), Err(StoreError::Integrity)),
                "flip at byte {i} not detected"
            );
        }
    }

    #[test]
    fn truncation_rename_and_wrong_key_fail() {
        let c = cipher(1);
        let rec = c.seal(&meta("a"), b"0123456789abcdef").unwrap();
        for len in 0..rec.len() {
            assert!(matches!(
                c.open("a", &rec[..len]),
                Err(StoreError::Integrity)
            ));
        }
        assert!(matches!(c.open("b", &rec), Err(StoreError::Integrity)));
        assert!(matches!(
            cipher(2).open("a", &rec),
            Err(StoreError::Integrity)
        ));
    }

    #[test]
    fn key_check_detects_wrong_key() {
        let check = cipher(1).seal_key_check().unwrap();
        cipher(1).verify_key_check(&check).unwrap();
        assert!(matches!(
            cipher(2).verify_key_check(&check),
            Err(StoreError::WrongMasterKey)
        ));
        assert!(matches!(
            cipher(1).verify_key_check(&check[..5]),
            Err(StoreError::WrongMasterKey)
        ));
    }

    #[test]
    fn empty_and_oversized_secrets_are_refused() {
        let c = cipher(1);
        assert!(matches!(
            c.seal(&meta("a"), b""),
            Err(StoreError::InvalidArgument(_))
        ));
        let big = vec![0u8; MAX_SECRET_LEN + 1];
        assert!(matches!(
            c.seal(&meta("a"), &big),
            Err(StoreError::InvalidArgument(_))
        ));
    }
}
