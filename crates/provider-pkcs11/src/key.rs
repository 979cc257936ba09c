//! A key inside the token: only its CKA_ID (and, for key pairs, the public point) is held
//! in the daemon. The secret never leaves the token: generated there with CKA_SENSITIVE
//! true and CKA_EXTRACTABLE false, and this type has no way to ask for CKA_VALUE.

use core::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cryptoki::object::Attribute;

use warden_core::{Algorithm, Error, ErrorCode, KeyFormat, Result};
use warden_crypto::{Key, ProviderKey};
use zeroize::Zeroizing;

use crate::token::Token;

/// Length of the CKA_ID we give every key (random, from the token's generator).
pub(crate) const ID_LEN: usize = 16;
/// Storage material layout version.
const MATERIAL_V1: u8 = 1;
const KIND_SECRET: u8 = 0;
const KIND_PAIR: u8 = 1;

/// What the daemon knows of a token key.
pub(crate) struct TokenKey {
    /// CKA_ID of the secret key, or of both halves of a key pair.
    pub(crate) id: [u8; ID_LEN],
    /// The raw public key of a pair (SEC1 uncompressed point / 32-byte Ed25519 key);
    /// `None` for secret keys.
    pub(crate) public: Option<Vec<u8>>,
    /// The token, to destroy the objects of a key that was never stored (`None`: leave them).
    pub(crate) owner: Option<Arc<Token>>,
    /// Set once a slot record refers to the objects (or they were restored from one): from
    /// then on they belong to the slot and outlive this handle.
    pub(crate) persisted: AtomicBool,
}

/// A key generated for one connection and never put in a slot would otherwise stay in the
/// token for good (keys are token objects so that a slot can refer to them): any local
/// client could fill the token by generating keys in a loop. So its objects go when the
/// daemon drops the key. Best effort: a token that is gone keeps them.
impl Drop for TokenKey {
    fn drop(&mut self) {
        if self.persisted.load(Ordering::Acquire) {
            return;
        }
        if let Some(token) = &self.owner {
            let id = self.id;
            let _ = token.with(|s| {
                for h in s.find_objects(&[Attribute::Id(id.to_vec())])? {
                    s.destroy_object(h)?;
                }
                Ok(())
            });
            token.forget(&id);
        }
    }
}

impl TokenKey {
    /// The token key behind `key`, or `IncompatibleKeyType` for another provider's key.
    pub(crate) fn of(key: &Key) -> Result<&TokenKey> {
        key.provider_key()
            .as_any()
            .downcast_ref::<TokenKey>()
            .ok_or(Error::new(
                ErrorCode::IncompatibleKeyType,
                "key belongs to another provider",
            ))
    }

    /// Parses [`ProviderKey::storage_material`]: `1`, kind, id (`InvalidFormat` otherwise).
    pub(crate) fn parse_material(m: &[u8]) -> Result<(bool, [u8; ID_LEN])> {
        let bad = || Error::new(ErrorCode::InvalidFormat, "malformed token key reference");
        let (head, id) = m.split_at_checked(2).ok_or_else(bad)?;
        let pair = match head {
            [MATERIAL_V1, KIND_SECRET] => false,
            [MATERIAL_V1, KIND_PAIR] => true,
            _ => return Err(bad()),
        };
        Ok((pair, id.try_into().map_err(|_| bad())?))
    }
}

impl ProviderKey for TokenKey {
    fn is_public_only(&self) -> bool {
        false
    }

    /// Unknown without asking the token; nothing in the daemon needs it for token keys.
    fn secret_len(&self) -> Option<usize> {
        None
    }

    fn public_key(&self, algorithm: Algorithm, format: KeyFormat) -> Result<Vec<u8>> {
        let raw = self.public.as_ref().ok_or(Error::new(
            ErrorCode::IncompatibleKeyType,
            "symmetric keys have no public half",
        ))?;
        match format {
            KeyFormat::Raw => Ok(raw.clone()),
            KeyFormat::Der | KeyFormat::SubjectPublicKeyInfo => {
                warden_provider_awslc::spki_from_raw(algorithm, raw)
            }
            _ => Err(Error::invalid_argument(
                "public keys export as Raw or SubjectPublicKeyInfo",
            )),
        }
    }

    /// Never: the token generated the key non-extractable, so not even a wrapping
    /// mechanism could take it out.
    fn export_material(&self, _algorithm: Algorithm) -> Result<Zeroizing<Vec<u8>>> {
        Err(Error::new(
            ErrorCode::KeyNotExportable,
            "key never leaves the token",
        ))
    }

    /// A reference, not key bytes: version, kind, CKA_ID. The objects stay this handle's
    /// until [`ProviderKey::mark_stored`]: the record written from this may never commit.
    fn storage_material(&self, _algorithm: Algorithm) -> Result<Zeroizing<Vec<u8>>> {
        let kind = if self.public.is_some() {
            KIND_PAIR
        } else {
            KIND_SECRET
        };
        let mut m = Zeroizing::new(Vec::with_capacity(2 + ID_LEN));
        m.push(MATERIAL_V1);
        m.push(kind);
        m.extend_from_slice(&self.id);
        Ok(m)
    }

    /// A committed slot record names the objects: they outlive this handle from now on.
    fn mark_stored(&self) {
        self.persisted.store(true, Ordering::Release);
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The point inside a DER OCTET STRING (CKA_EC_POINT), bounds-checked.
pub(crate) fn ec_point_from_der(der: &[u8]) -> Result<Vec<u8>> {
    let bad = || {
        Error::new(
            ErrorCode::InvalidFormat,
            "token returned a malformed EC point",
        )
    };
    let (len, body) = match der {
        [0x04, 0x81, n, rest @ ..] => (usize::from(*n), rest),
        [0x04, n, rest @ ..] if *n < 0x80 => (usize::from(*n), rest),
        _ => return Err(bad()),
    };
    if body.len() != len {
        return Err(bad());
    }
    Ok(body.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_material_names_the_object_and_holds_no_key_bytes() {
        let k = TokenKey {
            id: [9; ID_LEN],
            public: Some(vec![4; 65]),
            owner: None,
            persisted: AtomicBool::new(false),
        };
        let m = k.storage_material(Algorithm::EcdsaP256Sha256).unwrap();
        assert_eq!(m.len(), 2 + ID_LEN);
        assert!(
            !k.persisted.load(Ordering::Acquire),
            "the record may still fail to commit: the objects are still the handle's"
        );
        k.mark_stored();
        assert!(
            k.persisted.load(Ordering::Acquire),
            "a committed key is the slot's"
        );

        assert_eq!(TokenKey::parse_material(&m).unwrap(), (true, [9; ID_LEN]));
        assert!(TokenKey::parse_material(&m[..5]).is_err());
        assert!(TokenKey::parse_material(&[2, 0]).is_err());
        assert_eq!(
            k.export_material(Algorithm::EcdsaP256Sha256)
                .unwrap_err()
                .code(),
            ErrorCode::KeyNotExportable
        );
    }

    #[test]
    fn ec_points_parse_short_and_long_forms_only_when_exact() {
        assert_eq!(ec_point_from_der(&[4, 2, 7, 8]).unwrap(), vec![7, 8]);
        let mut long = vec![4, 0x81, 0x85];
        long.extend_from_slice(&[1; 0x85]);
        assert_eq!(ec_point_from_der(&long).unwrap().len(), 0x85);
        assert!(ec_point_from_der(&[4, 3, 7, 8]).is_err());
        assert!(ec_point_from_der(&[]).is_err());
        assert!(ec_point_from_der(&[3, 1, 0]).is_err());
    }
}
