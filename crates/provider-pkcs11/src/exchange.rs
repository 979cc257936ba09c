//! Key agreement and key wrap inside the token: the secrets they produce or move never
//! appear in the daemon.
//!
//! * Agree: `CKM_ECDH1_DERIVE` (null KDF) from a token ECDH private key and the peer's
//!   point into a new token secret key: sensitive, never extractable, `CKK_GENERIC_SECRET`
//!   (the agreement output types are GENERIC-SECRET and HMAC; SoftHSM's HMAC mechanisms take
//!   generic secrets).
//! * Wrap: `CKM_AES_KEY_WRAP` / `_PAD` under a token AES key with the WRAP bit, of a secret
//!   key of the same token that was created exportable (CKA_EXTRACTABLE, still sensitive).
//!   A key created non-exportable is CKA_EXTRACTABLE false and the token itself refuses; we
//!   refuse first, with the same `KeyNotExportable`.
//! * Unwrap: into the token, always non-extractable, the length checked against the
//!   algorithm the caller named.
//!
//! Why the known-key attack on PKCS#11 (derive a key whose value you know, use it as a KEK,
//! wrap the victim) does not work through warden: agreement outputs are never AES keys and
//! carry no CKA_WRAP (a remote peer knows an ECDH secret), and every KEK is generated or
//! unwrapped inside the token with an unknown value.

use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::elliptic_curve::{EcKdf, Ecdh1DeriveParams};
use cryptoki::object::{Attribute, KeyType, ObjectClass};
use warden_core::{
    AgreeKeyParams, Algorithm, Error, ErrorCode, KeyOperationPermission as P, Result,
    UnwrapKeyParams, WrapKeyParams,
};
use warden_crypto::{Key, Operations as O, Provider};

use crate::key::TokenKey;
use crate::provider::Pkcs11Provider;

/// Largest blob we hand the token to unwrap (a 128-byte HMAC key wraps to 136 bytes).
const MAX_WRAPPED: usize = 4096;

/// Failures of the operation itself (not of the token or the key) as `code`, the rest
/// unchanged: a bad peer point or a blob that fails its integrity check is the caller's
/// problem, a token that went away is not.
fn as_failure(e: Error, code: ErrorCode, detail: &'static str) -> Error {
    match e.code() {
        ErrorCode::OperationFailed
        | ErrorCode::InvalidArgument
        | ErrorCode::KeyGenerationFailed => Error::new(code, detail),
        _ => e,
    }
}

/// Whether a `len`-byte blob can hold a key whose length is in `lens`. The length has to be
/// read from the blob: SoftHSM leaves CKA_VALUE_LEN of an unwrapped key at 0, and
/// CKA_VALUE is sensitive. KW (RFC 3394) adds exactly one semiblock, so the key length is
/// exact and an AES-128 secret never passes as an AES-256 key; KWP (RFC 5649) pads to a
/// semiblock first, so only the padded length is checked (a 25..=31-byte secret would pass
/// as AES-256 and then fail in every AES mechanism).
fn blob_fits(len: usize, alg: Algorithm, lens: &core::ops::RangeInclusive<u64>) -> bool {
    let Some(inner) = u64::try_from(len)
        .ok()
        .filter(|&l| l <= MAX_WRAPPED as u64 && l % 8 == 0)
        .and_then(|l| l.checked_sub(8))
    else {
        return false;
    };
    if matches!(alg, Algorithm::Aes128Kwp | Algorithm::Aes256Kwp) {
        let pad = |n: u64| n.div_ceil(8) * 8;
        (pad(*lens.start())..=pad(*lens.end())).contains(&inner)
    } else {
        lens.contains(&inner)
    }
}

fn not_offered(what: &'static str) -> Error {
    Error::new(ErrorCode::UnsupportedAlgorithm, what)
}

impl Pkcs11Provider {
    /// This token's key behind `key` (`IncompatibleKeyType` for any other provider's).
    fn own<'k>(&self, key: &'k Key) -> Result<&'k TokenKey> {
        if key.provider() != self.info.name() {
            return Err(Error::new(
                ErrorCode::IncompatibleKeyType,
                "key belongs to another provider",
            ));
        }
        TokenKey::of(key)
    }

    pub(crate) fn agree(&self, private: &Key, p: &AgreeKeyParams) -> Result<Key> {
        private.check(p.algorithm(), P::AGREE)?;
        if !self.supports(p.algorithm(), O::AGREE) {
            return Err(not_offered("the token cannot do this agreement"));
        }
        if p.exportable() {
            return Err(Error::new(
                ErrorCode::KeyNotExportable,
                "agreed token keys are never exportable",
            ));
        }
        let len: u64 = match p.algorithm() {
            Algorithm::EcdhP256 => 32,
            Algorithm::EcdhP384 => 48,
            _ => return Err(not_offered("the token cannot do this agreement")),
        };
        // An uncompressed SEC1 point of the curve; the token checks it is on the curve.
        let point_len =
            usize::try_from(2 * len + 1).map_err(|_| Error::from(ErrorCode::InternalError))?;
        if p.peer_public().len() != point_len || p.peer_public().first() != Some(&0x04) {
            return Err(Error::new(
                ErrorCode::KeyAgreementFailed,
                "peer public key is not an uncompressed point of the curve",
            ));
        }
        let base = self.own(private)?.id;
        let id = self.fresh_id()?;
        let mut template = Self::secret_template(
            &id,
            KeyType::GENERIC_SECRET,
            Some(len),
            p.permissions(),
            false,
        );
        // Never a KEK or a cipher key: its value is known to the peer.
        template.retain(|a| {
            !matches!(
                a,
                Attribute::Wrap(_)
                    | Attribute::Unwrap(_)
                    | Attribute::Encrypt(_)
                    | Attribute::Decrypt(_)
            )
        });
        template.extend([
            Attribute::Wrap(false),
            Attribute::Unwrap(false),
            Attribute::Encrypt(false),
            Attribute::Decrypt(false),
        ]);
        let peer = p.peer_public();
        self.token
            .with(|s| {
                let k = self.token.find(s, ObjectClass::PRIVATE_KEY, &base)?;
                let mech = Mechanism::Ecdh1Derive(Ecdh1DeriveParams::new(EcKdf::null(), peer));
                Ok(s.derive_key(&mech, k, &template)?)
            })
            .map_err(|e| as_failure(e, ErrorCode::KeyAgreementFailed, "key agreement failed"))?;
        Ok(self.key(
            p.output_algorithm(),
            p.permissions(),
            false,
            id,
            None,
            false,
        ))
    }

    fn wrap_mechanism(&self, alg: Algorithm, op: O) -> Result<Mechanism<'static>> {
        if !self.supports(alg, op) {
            return Err(not_offered("the token lacks this key wrap"));
        }
        Ok(match alg {
            Algorithm::Aes128Kw | Algorithm::Aes256Kw => Mechanism::AesKeyWrap,
            Algorithm::Aes128Kwp | Algorithm::Aes256Kwp => Mechanism::AesKeyWrapPad,
            _ => return Err(not_offered("the token lacks this key wrap")),
        })
    }

    pub(crate) fn wrap(&self, kek: &Key, target: &Key, p: &WrapKeyParams) -> Result<Vec<u8>> {
        kek.check(p.algorithm(), P::WRAP)?;
        let mech = self.wrap_mechanism(p.algorithm(), O::WRAP)?;
        let kek_id = self.own(kek)?.id;
        // A software key under a token KEK would have to come into the daemon in clear first.
        let t = self.own(target)?;
        // The same gate as a software export (exportable flag and EXPORT bit); the token then
        // enforces CKA_EXTRACTABLE on its own.
        if !target.exportable() || !target.permissions().contains(P::EXPORT) || t.public.is_some() {
            return Err(Error::new(
                ErrorCode::KeyNotExportable,
                "only token secret keys created exportable can be wrapped",
            ));
        }
        let target_id = t.id;
        self.token
            .with(|s| {
                let w = self.token.find(s, ObjectClass::SECRET_KEY, &kek_id)?;
                let k = self.token.find(s, ObjectClass::SECRET_KEY, &target_id)?;
                Ok(s.wrap_key(&mech, w, k)?)
            })
            .map_err(|e| as_failure(e, ErrorCode::WrapUnwrapFailed, "key wrap failed"))
    }

    pub(crate) fn unwrap(&self, kek: &Key, wrapped: &[u8], p: &UnwrapKeyParams) -> Result<Key> {
        kek.check(p.algorithm(), P::UNWRAP)?;
        let mech = self.wrap_mechanism(p.algorithm(), O::UNWRAP)?;
        if p.exportable() {
            return Err(Error::new(
                ErrorCode::KeyNotExportable,
                "unwrapped token keys are never exportable",
            ));
        }
        // Allowed lengths, as for keys generated here (HMAC: 16..=128 bytes).
        let (kt, lens): (KeyType, core::ops::RangeInclusive<u64>) = match p.unwrapped_algorithm() {
            Algorithm::Aes128Key => (KeyType::AES, 16..=16),
            Algorithm::Aes256Key => (KeyType::AES, 32..=32),
            Algorithm::HmacKey => (KeyType::GENERIC_SECRET, 16..=128),
            Algorithm::GenericSecret => (KeyType::GENERIC_SECRET, 1..=1024),
            _ => {
                return Err(not_offered(
                    "the token unwraps AES, HMAC and generic secret keys",
                ));
            }
        };
        if !blob_fits(wrapped.len(), p.algorithm(), &lens) {
            return Err(Error::new(
                ErrorCode::WrapUnwrapFailed,
                "wrapped key has the wrong length for its algorithm",
            ));
        }
        let kek_id = self.own(kek)?.id;
        let id = self.fresh_id()?;
        let template = Self::secret_template(&id, kt, None, p.permissions(), false);
        self.token
            .with(|s| {
                let w = self.token.find(s, ObjectClass::SECRET_KEY, &kek_id)?;
                s.unwrap_key(&mech, w, wrapped, &template)?;
                Ok(())
            })
            .map_err(|e| as_failure(e, ErrorCode::WrapUnwrapFailed, "key unwrap failed"))?;
        Ok(self.key(
            p.unwrapped_algorithm(),
            p.permissions(),
            false,
            id,
            None,
            false,
        ))
    }
}
