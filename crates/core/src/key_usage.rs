//! Which permission bits make sense for which key algorithm.
//!
//! A bit that no operation on a key type can use looks harmless but is the seed of a
//! cross-operation attack once some operation starts accepting the type: `DERIVE` on an HMAC
//! key made PBKDF2 with one iteration a MAC oracle (`PBKDF2(K, M, 1) = HMAC(K, M‖00000001)`),
//! so HMAC keys MAC and never derive, and every HMAC-based KDF takes only `GENERIC-SECRET`
//! keys, which derive and never MAC. Key creation (generate, import, derive, agree, unwrap,
//! encapsulate) and grants refuse any bit outside [`KeyOperationPermission::applicable_to`].
//!
//! Keys stored before this rule may carry other bits; they load unchanged and the bits stay
//! inert, because every operation also checks the key type ([`Algorithm::accepts_key`]) and
//! no operation that needs such a bit accepts that key type.

use crate::algorithm::{Algorithm, AlgorithmClass};
use crate::error::{Error, Result};
use crate::permission::KeyOperationPermission as P;

/// Export and import are about the key object, not an operation: every key type takes them.
const LIFECYCLE: P = P::EXPORT.union(P::IMPORT);

/// One refusal per bit, so the error names the offending bit (details are static strings).
const NOT_APPLICABLE: &[(P, &str)] = &[
    (
        P::ENCRYPT,
        "permission `encrypt` does not apply to this key type",
    ),
    (
        P::DECRYPT,
        "permission `decrypt` does not apply to this key type",
    ),
    (P::WRAP, "permission `wrap` does not apply to this key type"),
    (
        P::UNWRAP,
        "permission `unwrap` does not apply to this key type",
    ),
    (P::SIGN, "permission `sign` does not apply to this key type"),
    (
        P::VERIFY,
        "permission `verify` does not apply to this key type",
    ),
    (P::MAC, "permission `mac` does not apply to this key type"),
    (
        P::AGREE,
        "permission `agree` does not apply to this key type",
    ),
    (
        P::DERIVE,
        "permission `derive` does not apply to this key type",
    ),
    (
        P::EXPORT,
        "permission `export` does not apply to this key type",
    ),
    (
        P::IMPORT,
        "permission `import` does not apply to this key type",
    ),
    (
        P::CALLER_NONCE,
        "permission `caller-nonce` does not apply to this key type",
    ),
];

impl P {
    /// The bits a key of algorithm `alg` can use; `NONE` for algorithms that are not key
    /// types (`AES-256-GCM`, `SHA-256`, ...).
    ///
    /// ```
    /// use warden_core::{Algorithm, KeyOperationPermission as P};
    /// assert!(P::applicable_to(Algorithm::HmacKey).contains(P::MAC));
    /// assert!(!P::applicable_to(Algorithm::HmacKey).contains(P::DERIVE));
    /// assert!(!P::applicable_to(Algorithm::GenericSecret).contains(P::MAC));
    /// assert!(P::applicable_to(Algorithm::Aes256Key).contains(P::CALLER_NONCE));
    /// ```
    pub const fn applicable_to(alg: Algorithm) -> Self {
        let cipher = P::ENCRYPT.union(P::DECRYPT).union(P::CALLER_NONCE);
        let ops = match alg {
            // AES keys of every size are also AES-KW / KWP key-encryption keys.
            Algorithm::Aes128Key | Algorithm::Aes192Key | Algorithm::Aes256Key => {
                cipher.union(P::WRAP).union(P::UNWRAP)
            }
            Algorithm::ChaCha20Key => cipher,
            Algorithm::HmacKey => P::MAC,
            Algorithm::GenericSecret => P::DERIVE,
            _ => match alg.class() {
                AlgorithmClass::Signature => P::SIGN.union(P::VERIFY),
                // RSA-OAEP contexts; KEMs encapsulate with ENCRYPT, decapsulate with DECRYPT.
                AlgorithmClass::AsymmetricEncryption | AlgorithmClass::Kem => {
                    P::ENCRYPT.union(P::DECRYPT)
                }
                AlgorithmClass::KeyAgreement => P::AGREE,
                _ => return P::NONE,
            },
        };
        ops.union(LIFECYCLE)
    }

    /// `InvalidArgument` naming the first bit (in bit order) that a key of `alg` cannot use.
    ///
    /// ```
    /// use warden_core::{Algorithm, ErrorCode, KeyOperationPermission as P};
    /// assert!((P::MAC | P::EXPORT).check_applicable(Algorithm::HmacKey).is_ok());
    /// let err = (P::MAC | P::DERIVE).check_applicable(Algorithm::HmacKey).unwrap_err();
    /// assert_eq!(err.code(), ErrorCode::InvalidArgument);
    /// assert!(err.detail().contains("`derive`"));
    /// ```
    pub fn check_applicable(self, alg: Algorithm) -> Result<()> {
        let extra = self.difference(Self::applicable_to(alg));
        if extra.is_empty() {
            return Ok(());
        }
        let detail = NOT_APPLICABLE
            .iter()
            .find(|(bit, _)| extra.contains(*bit))
            .map_or("permission does not apply to this key type", |(_, d)| *d);
        Err(Error::invalid_argument(detail))
    }
}
