//! The verification trust store (seed resource type `VerificationTrustStore`): issuer name →
//! public key, persisted in the store's `warden.trust` records and mirrored in memory.
//!
//! Record value (version 1): `1u8 | alg u8 | key_len u32 LE | key | tag`, where `tag` is the
//! attestation key's signature over (`TRUST_DOMAIN`, issuer, alg, key). The store keeps these
//! records unencrypted (public keys are public) but an issuer planted by editing the database
//! would be a forged trust anchor, hence the tag.

use std::collections::BTreeMap;
use std::sync::{RwLock, RwLockReadGuard};

use warden_attest::{PublicKey, SigAlg, TrustStore};
use warden_store::SlotStore;

use crate::attestation::AttestationKey;
use crate::config::check_name;
use crate::error::PermitError;

pub(crate) const TRUST_NAMESPACE: &str = "warden.trust";
const TRUST_DOMAIN: &str = "warden-permits/trust/v1";
const RECORD_VERSION: u8 = 1;

fn alg_code(alg: SigAlg) -> Result<u8, PermitError> {
    match alg {
        SigAlg::Ed25519 => Ok(1),
        SigAlg::EcdsaP256 => Ok(2),
        SigAlg::MlDsa65 => Ok(3),
        _ => Err(PermitError::InvalidArgument(
            "unsupported issuer key algorithm",
        )),
    }
}

fn alg_from_code(code: u8) -> Option<SigAlg> {
    match code {
        1 => Some(SigAlg::Ed25519),
        2 => Some(SigAlg::EcdsaP256),
        3 => Some(SigAlg::MlDsa65),
        _ => None,
    }
}

/// Trusted issuers, loaded at open and updated write-through (store first, then memory).
#[derive(Debug, Default)]
pub(crate) struct TrustRegistry {
    issuers: RwLock<BTreeMap<String, PublicKey>>,
}

/// A read-locked view of the trust store, handed to `warden_attest::verify_permit`.
pub(crate) struct TrustView<'a>(RwLockReadGuard<'a, BTreeMap<String, PublicKey>>);

impl TrustStore for TrustView<'_> {
    fn issuer_key(&self, issuer: &str) -> Option<&PublicKey> {
        self.0.get(issuer)
    }
}

fn encode(issuer: &str, key: &PublicKey, attest: &AttestationKey) -> Result<Vec<u8>, PermitError> {
    let alg = alg_code(key.alg())?;
    let tag = attest.tag(TRUST_DOMAIN, &[issuer.as_bytes(), &[alg], key.as_bytes()])?;
    let key_len = u32::try_from(key.as_bytes().len())
        .map_err(|_| PermitError::InvalidArgument("issuer key too large"))?;
    let mut out = Vec::with_capacity(6 + key.as_bytes().len() + tag.len());
    out.push(RECORD_VERSION);
    out.push(alg);
    out.extend_from_slice(&key_len.to_le_bytes());
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(&tag);
    Ok(out)
}

fn decode(issuer: &str, record: &[u8], attest: &AttestationKey) -> Option<PublicKey> {
    let (&[version, alg], rest) = record.split_first_chunk::<2>()?;
    let (len, rest) = rest.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
    if version != RECORD_VERSION || len > rest.len() {
        return None;
    }
    let (key, tag) = rest.split_at(len);
    if !attest.check(TRUST_DOMAIN, &[issuer.as_bytes(), &[alg], key], tag) {
        return None;
    }
    PublicKey::new(alg_from_code(alg)?, key).ok()
}

impl TrustRegistry {
    /// Loads every stored issuer. Fails closed: one record without a valid tag makes the
    /// whole trust store fail with [`PermitError::Integrity`].
    pub(crate) fn load(store: &SlotStore, attest: &AttestationKey) -> Result<Self, PermitError> {
        let records = store.records(TRUST_NAMESPACE)?;
        let mut issuers = BTreeMap::new();
        for key in records.keys()? {
            let corrupt = PermitError::Integrity("trust store record");
            let issuer = String::from_utf8(key.clone()).map_err(|_| corrupt)?;
            let record = records
                .get(&key)?
                .ok_or(PermitError::Integrity("trust store record"))?;
            let public = decode(&issuer, &record, attest)
                .ok_or(PermitError::Integrity("trust store record"))?;
            issuers.insert(issuer, public);
        }
        Ok(Self {
            issuers: RwLock::new(issuers),
        })
    }

    pub(crate) fn view(&self) -> Result<TrustView<'_>, PermitError> {
        Ok(TrustView(
            self.issuers.read().map_err(|_| PermitError::Poisoned)?,
        ))
    }

    /// Trusts `key` for `issuer`, replacing a previous key. Returns whether one was replaced.
    pub(crate) fn add(
        &self,
        store: &SlotStore,
        attest: &AttestationKey,
        issuer: &str,
        key: PublicKey,
    ) -> Result<bool, PermitError> {
        check_name(issuer, "issuer must be 1 to 256 bytes")?;
        let record = encode(issuer, &key, attest)?;
        // The write lock is held across the durable write so that memory and store apply
        // concurrent changes in the same order.
        let mut issuers = self.issuers.write().map_err(|_| PermitError::Poisoned)?;
        store
            .records(TRUST_NAMESPACE)?
            .put(issuer.as_bytes(), &record)?;
        Ok(issuers.insert(issuer.to_owned(), key).is_some())
    }

    pub(crate) fn remove(&self, store: &SlotStore, issuer: &str) -> Result<(), PermitError> {
        check_name(issuer, "issuer must be 1 to 256 bytes")?;
        let mut issuers = self.issuers.write().map_err(|_| PermitError::Poisoned)?;
        if !store.records(TRUST_NAMESPACE)?.remove(issuer.as_bytes())? {
            return Err(PermitError::IssuerNotFound);
        }
        issuers.remove(issuer);
        Ok(())
    }

    pub(crate) fn list(&self) -> Result<Vec<(String, PublicKey)>, PermitError> {
        let issuers = self.issuers.read().map_err(|_| PermitError::Poisoned)?;
        Ok(issuers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}
