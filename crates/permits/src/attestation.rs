//! The daemon's attestation key: created on first start, sealed in a reserved key slot.
//!
//! The PKCS#8 encoding is stored as the secret of the slot [`ATTESTATION_SLOT`], so the
//! store encrypts it with AES-256-GCM under its master key and authenticates the slot's
//! metadata (the key algorithm included). The slot has no permission bits and is not
//! exportable, so the store's ACL never lets a client use or read it; the decoded key lives
//! only inside aws-lc-rs (which zeroes it on drop) and the PKCS#8 copy in a `Zeroizing`
//! buffer that is dropped as soon as the key is parsed.
//!
//! The same key also tags the trust-store and policy records, which the store keeps
//! unencrypted: a record written behind the service's back fails [`AttestationKey::check`].

use warden_attest::{LocalSigner, PublicKey, SigAlg, Signer};
use warden_core::Algorithm;
use warden_provider_awslc::primitives::{SignatureAlgorithm, SigningKey};
use warden_store::{NewSlot, SlotStore, StoreError};
use zeroize::Zeroizing;

use crate::error::PermitError;

/// Name of the reserved key slot holding the attestation key. The daemon must refuse client
/// operations on slot names starting with `_warden.` (the store itself does not reserve them).
pub const ATTESTATION_SLOT: &str = "_warden.attestation";

/// Owner of the reserved slot: `(uid_t)-1`, which no real user has.
const RESERVED_OWNER_UID: u32 = u32::MAX;

/// The attestation key and its public half.
pub(crate) struct AttestationKey {
    signer: LocalSigner,
    public: PublicKey,
}

impl core::fmt::Debug for AttestationKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AttestationKey")
            .field("alg", &self.public.alg())
            .finish_non_exhaustive()
    }
}

fn slot_algorithm(alg: SigAlg) -> Result<Algorithm, PermitError> {
    match alg {
        SigAlg::Ed25519 => Ok(Algorithm::Ed25519),
        SigAlg::EcdsaP256 => Ok(Algorithm::EcdsaP256Sha256),
        SigAlg::MlDsa65 => Ok(Algorithm::MlDsa65),
        _ => Err(PermitError::InvalidConfig(
            "unsupported attestation algorithm",
        )),
    }
}

fn sig_alg(alg: Algorithm) -> Option<SigAlg> {
    match alg {
        Algorithm::Ed25519 => Some(SigAlg::Ed25519),
        Algorithm::EcdsaP256Sha256 => Some(SigAlg::EcdsaP256),
        Algorithm::MlDsa65 => Some(SigAlg::MlDsa65),
        _ => None,
    }
}

/// A fresh private key in PKCS#8 form.
fn generate_pkcs8(alg: SigAlg) -> Result<Zeroizing<Vec<u8>>, PermitError> {
    let alg = match alg {
        SigAlg::Ed25519 => SignatureAlgorithm::Ed25519,
        SigAlg::EcdsaP256 => SignatureAlgorithm::EcdsaP256Sha256,
        SigAlg::MlDsa65 => SignatureAlgorithm::MlDsa65,
        _ => {
            return Err(PermitError::InvalidConfig(
                "unsupported attestation algorithm",
            ));
        }
    };
    SigningKey::generate_pkcs8(alg).map_err(|_| PermitError::Store(StoreError::Rng))
}

impl AttestationKey {
    /// Loads the key from its slot, or creates and stores it on first start.
    pub(crate) fn load_or_create(store: &SlotStore, alg: SigAlg) -> Result<Self, PermitError> {
        let configured = slot_algorithm(alg)?;
        let (stored_alg, pkcs8) = match store.load(warden_store::SlotRef::new(
            RESERVED_OWNER_UID,
            ATTESTATION_SLOT,
        )) {
            Ok((meta, pkcs8)) => (meta.algorithm, pkcs8),
            Err(StoreError::KeySlotEmpty) => {
                let pkcs8 = generate_pkcs8(alg)?;
                let slot = NewSlot {
                    name: ATTESTATION_SLOT.to_owned(),
                    owner_uid: RESERVED_OWNER_UID,
                    algorithm: configured,
                    permissions: 0,
                    exportable: false,
                };
                store.create_slot(&slot, &pkcs8)?;
                (configured, pkcs8)
            }
            Err(e) => return Err(e.into()),
        };
        let stored = sig_alg(stored_alg).ok_or(PermitError::Integrity("attestation key"))?;
        if stored != alg {
            return Err(PermitError::AttestationAlgMismatch {
                stored: stored.name(),
                configured: alg.name(),
            });
        }
        let signer = LocalSigner::from_pkcs8(stored, &pkcs8)
            .map_err(|_| PermitError::Integrity("attestation key"))?;
        drop(pkcs8);
        let public = signer.public_key()?;
        Ok(Self { signer, public })
    }

    pub(crate) fn signer(&self) -> &LocalSigner {
        &self.signer
    }

    pub(crate) fn public(&self) -> &PublicKey {
        &self.public
    }

    /// Signs a stored record: `domain` then each field length-prefixed (u32 LE). The message
    /// never starts with 0x84, so it cannot be mistaken for a COSE `Sig_structure` (a
    /// receipt signature by the same key).
    pub(crate) fn tag(&self, domain: &str, fields: &[&[u8]]) -> Result<Vec<u8>, PermitError> {
        Ok(self.signer.sign(&tag_message(domain, fields)?)?)
    }

    /// Whether `tag` is this key's tag over the record.
    pub(crate) fn check(&self, domain: &str, fields: &[&[u8]], tag: &[u8]) -> bool {
        tag_message(domain, fields).is_ok_and(|msg| self.public.verify(&msg, tag))
    }
}

fn tag_message(domain: &str, fields: &[&[u8]]) -> Result<Vec<u8>, PermitError> {
    let mut msg = Vec::with_capacity(64 + fields.iter().map(|f| f.len() + 4).sum::<usize>());
    msg.extend_from_slice(domain.as_bytes());
    for field in fields {
        let len = u32::try_from(field.len())
            .map_err(|_| PermitError::InvalidArgument("record field too large"))?;
        msg.extend_from_slice(&len.to_le_bytes());
        msg.extend_from_slice(field);
    }
    Ok(msg)
}
