//! Key derivation parameters: one typed variant per KDF warden implements.

use alloc::vec::Vec;

use crate::algorithm::{Algorithm, AlgorithmClass};
use crate::error::{Error, Result};
use crate::limits::{
    MAX_KDF_INPUT_LEN, MAX_PBKDF2_ITERATIONS, MAX_SECRET_KEY_LEN, MAX_TLS13_CONTEXT_LEN,
    MAX_TLS13_LABEL_LEN,
};
use crate::permission::KeyOperationPermission;

/// The KDF and its public inputs. The secret input is always the base key object.
///
/// ```
/// use warden_core::{Algorithm, KdfParameters};
/// let kdf = KdfParameters::Hkdf { hash: Algorithm::Sha384, salt: vec![0; 16], info: b"ctx".to_vec() };
/// assert_eq!(kdf.algorithm()?, Algorithm::HkdfSha384);
/// # Ok::<(), warden_core::Error>(())
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KdfParameters {
    /// HKDF extract-then-expand (RFC 5869); `hash` is `SHA-256` or `SHA-384`.
    Hkdf {
        /// Underlying hash.
        hash: Algorithm,
        /// Extract salt (may be empty: RFC 5869 then uses zeros).
        salt: Vec<u8>,
        /// Expand info.
        info: Vec<u8>,
    },
    /// PBKDF2-HMAC-SHA256 (RFC 8018); the base key is the password.
    Pbkdf2 {
        /// Salt.
        salt: Vec<u8>,
        /// Iteration count (1..=[`MAX_PBKDF2_ITERATIONS`]).
        iterations: u32,
    },
    /// TLS 1.2 PRF with SHA-256 (RFC 5246 section 5); the base key is the secret.
    Tls12Prf {
        /// ASCII label, e.g. `b"key expansion"` (non-empty).
        label: Vec<u8>,
        /// Seed (e.g. the randoms).
        seed: Vec<u8>,
    },
    /// TLS 1.3 `HKDF-Expand-Label` with SHA-256 (RFC 8446 section 7.1); the base key is the
    /// secret (PRK). The `"tls13 "` prefix is added by the implementation.
    Tls13ExpandLabel {
        /// Label without prefix (1..=249 bytes).
        label: Vec<u8>,
        /// Context, usually a transcript hash (0..=255 bytes).
        context: Vec<u8>,
    },
    /// NIST SP 800-108r1 counter-mode KDF with HMAC-SHA256, 32-bit counter before the fixed
    /// input `label || 0x00 || context || [L]_32` (big-endian lengths, L in bits).
    Sp800108CounterHmac {
        /// Label.
        label: Vec<u8>,
        /// Context.
        context: Vec<u8>,
    },
}

fn check_len(field: &[u8], max: usize, msg: &'static str) -> Result<()> {
    if field.len() > max {
        Err(Error::invalid_argument(msg))
    } else {
        Ok(())
    }
}

impl KdfParameters {
    /// The canonical KDF algorithm these parameters select. `InvalidArgument` for an HKDF
    /// hash other than SHA-256/SHA-384.
    pub fn algorithm(&self) -> Result<Algorithm> {
        Ok(match self {
            KdfParameters::Hkdf {
                hash: Algorithm::Sha256,
                ..
            } => Algorithm::HkdfSha256,
            KdfParameters::Hkdf {
                hash: Algorithm::Sha384,
                ..
            } => Algorithm::HkdfSha384,
            KdfParameters::Hkdf { .. } => {
                return Err(Error::invalid_argument(
                    "HKDF hash must be SHA-256 or SHA-384",
                ));
            }
            KdfParameters::Pbkdf2 { .. } => Algorithm::Pbkdf2HmacSha256,
            KdfParameters::Tls12Prf { .. } => Algorithm::Tls12PrfSha256,
            KdfParameters::Tls13ExpandLabel { .. } => Algorithm::Tls13HkdfSha256,
            KdfParameters::Sp800108CounterHmac { .. } => Algorithm::Sp800108CtrHmacSha256,
        })
    }

    /// Largest output the KDF can produce (HKDF and TLS 1.3 Expand-Label: 255 hash blocks,
    /// RFC 5869; 8160 bytes for SHA-256, 12240 for SHA-384), capped at [`MAX_SECRET_KEY_LEN`].
    pub fn max_output_len(&self) -> Result<u32> {
        let limit = match self.algorithm()? {
            Algorithm::HkdfSha256 | Algorithm::Tls13HkdfSha256 => 255 * 32,
            Algorithm::HkdfSha384 => 255 * 48,
            _ => MAX_SECRET_KEY_LEN,
        };
        Ok(limit.min(MAX_SECRET_KEY_LEN))
    }

    /// Checks every public input against the KDF's rules and [`crate::limits`].
    /// Every failure is `InvalidArgument`.
    pub fn validate(&self) -> Result<()> {
        self.algorithm()?;
        const TOO_LONG: &str = "KDF input longer than MAX_KDF_INPUT_LEN";
        match self {
            KdfParameters::Hkdf { salt, info, .. } => {
                check_len(salt, MAX_KDF_INPUT_LEN, TOO_LONG)?;
                check_len(info, MAX_KDF_INPUT_LEN, TOO_LONG)
            }
            KdfParameters::Pbkdf2 { salt, iterations } => {
                if !(1..=MAX_PBKDF2_ITERATIONS).contains(iterations) {
                    return Err(Error::invalid_argument("PBKDF2 iterations out of range"));
                }
                check_len(salt, MAX_KDF_INPUT_LEN, TOO_LONG)
            }
            KdfParameters::Tls12Prf { label, seed } => {
                if label.is_empty() {
                    return Err(Error::invalid_argument("TLS 1.2 PRF label is empty"));
                }
                check_len(label, MAX_KDF_INPUT_LEN, TOO_LONG)?;
                check_len(seed, MAX_KDF_INPUT_LEN, TOO_LONG)
            }
            KdfParameters::Tls13ExpandLabel { label, context } => {
                if label.is_empty() {
                    return Err(Error::invalid_argument("TLS 1.3 label is empty"));
                }
                check_len(
                    label,
                    MAX_TLS13_LABEL_LEN,
                    "TLS 1.3 label longer than 249 bytes",
                )?;
                check_len(
                    context,
                    MAX_TLS13_CONTEXT_LEN,
                    "TLS 1.3 context longer than 255 bytes",
                )
            }
            KdfParameters::Sp800108CounterHmac { label, context } => {
                check_len(label, MAX_KDF_INPUT_LEN, TOO_LONG)?;
                check_len(context, MAX_KDF_INPUT_LEN, TOO_LONG)
            }
        }
    }
}

/// Parameters of a key derivation. Build with [`DeriveKeyParams::builder`].
///
/// ```
/// use warden_core::{Algorithm, DeriveKeyParams, KdfParameters, KeyOperationPermission as P};
/// let p = DeriveKeyParams::builder()
///     .kdf(KdfParameters::Pbkdf2 { salt: b"NaCl-and-pepper!".to_vec(), iterations: 600_000 })
///     .output_algorithm(Algorithm::Aes256Key)
///     .permissions(P::ENCRYPT | P::DECRYPT)
///     .build()?;
/// assert_eq!(p.output_len(), 32); // implied by AES-256
/// # Ok::<(), warden_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeriveKeyParams {
    kdf: KdfParameters,
    output_algorithm: Algorithm,
    permissions: KeyOperationPermission,
    exportable: bool,
    output_len: u32,
}

impl DeriveKeyParams {
    /// A builder with nothing set.
    pub fn builder() -> DeriveKeyParamsBuilder {
        DeriveKeyParamsBuilder::default()
    }

    /// The KDF and its inputs.
    pub fn kdf(&self) -> &KdfParameters {
        &self.kdf
    }

    /// The canonical KDF algorithm (validated at build time).
    pub fn kdf_algorithm(&self) -> Algorithm {
        // Validated in build(); the fallback is never taken.
        self.kdf.algorithm().unwrap_or(Algorithm::HkdfSha256)
    }

    /// Key type of the derived key (a symmetric key type).
    pub fn output_algorithm(&self) -> Algorithm {
        self.output_algorithm
    }

    /// Operations the derived key allows.
    pub fn permissions(&self) -> KeyOperationPermission {
        self.permissions
    }

    /// Whether the derived secret may leave the daemon.
    pub fn exportable(&self) -> bool {
        self.exportable
    }

    /// Bytes to derive (resolved: implied by fixed-length key types).
    pub fn output_len(&self) -> u32 {
        self.output_len
    }
}

/// Builder for [`DeriveKeyParams`]. `kdf`, `output_algorithm` and `permissions` are required;
/// `output_len` is required for `HMAC`/`GENERIC-SECRET` outputs and, if given for a
/// fixed-length type, must match it. `exportable` defaults to `false`.
#[derive(Debug, Clone, Default)]
pub struct DeriveKeyParamsBuilder {
    kdf: Option<KdfParameters>,
    output_algorithm: Option<Algorithm>,
    permissions: Option<KeyOperationPermission>,
    exportable: bool,
    output_len: Option<u32>,
}

impl DeriveKeyParamsBuilder {
    /// Sets the KDF and its inputs.
    pub fn kdf(mut self, kdf: KdfParameters) -> Self {
        self.kdf = Some(kdf);
        self
    }

    /// Sets the derived key's type.
    pub fn output_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.output_algorithm = Some(algorithm);
        self
    }

    /// Sets the derived key's permissions.
    pub fn permissions(mut self, permissions: KeyOperationPermission) -> Self {
        self.permissions = Some(permissions);
        self
    }

    /// Sets exportability.
    pub fn exportable(mut self, exportable: bool) -> Self {
        self.exportable = exportable;
        self
    }

    /// Sets the number of bytes to derive.
    pub fn output_len(mut self, len: u32) -> Self {
        self.output_len = Some(len);
        self
    }

    /// Validates and builds. Every failure is `InvalidArgument`.
    pub fn build(self) -> Result<DeriveKeyParams> {
        let kdf = self.kdf.ok_or(Error::invalid_argument("kdf is required"))?;
        let output_algorithm = self
            .output_algorithm
            .ok_or(Error::invalid_argument("output_algorithm is required"))?;
        let permissions = self
            .permissions
            .ok_or(Error::invalid_argument("permissions are required"))?;
        kdf.validate()?;
        let output_len = resolve_secret_len(output_algorithm, self.output_len)?;
        if output_len > kdf.max_output_len()? {
            return Err(Error::invalid_argument(
                "output_len exceeds what the KDF can produce",
            ));
        }
        permissions.check_applicable(output_algorithm)?;
        Ok(DeriveKeyParams {
            kdf,
            output_algorithm,
            permissions,
            exportable: self.exportable,
            output_len,
        })
    }
}

/// Resolves the byte length of a symmetric key of type `algorithm`: fixed-length types imply
/// it (a different explicit value is an error), variable-length ones require it
/// (1..=[`MAX_SECRET_KEY_LEN`]). Non-symmetric types are an error.
pub(crate) fn resolve_secret_len(algorithm: Algorithm, requested: Option<u32>) -> Result<u32> {
    if algorithm.class() != AlgorithmClass::KeyType {
        return Err(Error::invalid_argument(
            "output algorithm must be a symmetric key type",
        ));
    }
    match (algorithm.key_len(), requested) {
        (Some(fixed), None) => {
            u32::try_from(fixed).map_err(|_| Error::invalid_argument("key length"))
        }
        (Some(fixed), Some(len)) if usize::try_from(len).ok() == Some(fixed) => Ok(len),
        (Some(_), Some(_)) => Err(Error::invalid_argument(
            "output_len does not match the key type",
        )),
        (None, None) => Err(Error::invalid_argument(
            "output_len is required for this key type",
        )),
        (None, Some(len)) if (1..=MAX_SECRET_KEY_LEN).contains(&len) => Ok(len),
        (None, Some(_)) => Err(Error::invalid_argument(
            "output_len out of range (1..=12240)",
        )),
    }
}
