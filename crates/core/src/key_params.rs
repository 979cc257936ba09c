//! Parameters for creating keys: generation and import.

use crate::algorithm::{Algorithm, AlgorithmClass};
use crate::error::{Error, Result};
use crate::limits::{MAX_SECRET_KEY_LEN, MIN_GENERATED_SECRET_LEN, RSA_BITS};
use crate::permission::KeyOperationPermission;

/// Encoding of key material crossing the API (import, public-key export).
#[repr(u8)]
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KeyFormat {
    /// Raw bytes: the secret for symmetric keys; the algorithm's native encoding for
    /// asymmetric ones (RFC 8032/7748 32-byte keys, SEC1 uncompressed points, FIPS 203/204
    /// encodings).
    #[default]
    Raw = 1,
    /// Algorithm-specific DER (PKCS#1 `RSAPrivateKey`/`RSAPublicKey`, SEC1 `ECPrivateKey`).
    Der = 2,
    /// PKCS#8 `PrivateKeyInfo` / `OneAsymmetricKey` (DER).
    Pkcs8 = 3,
    /// X.509 `SubjectPublicKeyInfo` (DER).
    SubjectPublicKeyInfo = 4,
}

impl KeyFormat {
    /// The stable value.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// The format with value `v`; unknown values fail with `InvalidArgument`.
    pub const fn from_u8(v: u8) -> Result<Self> {
        match v {
            1 => Ok(KeyFormat::Raw),
            2 => Ok(KeyFormat::Der),
            3 => Ok(KeyFormat::Pkcs8),
            4 => Ok(KeyFormat::SubjectPublicKeyInfo),
            _ => Err(Error::invalid_argument("unknown key format")),
        }
    }
}

/// Parameters of a key generation. Build with [`GenerateKeyParams::builder`].
///
/// ```
/// use warden_core::{Algorithm, ErrorCode, GenerateKeyParams, KeyOperationPermission as P};
/// let p = GenerateKeyParams::builder()
///     .algorithm(Algorithm::HmacKey)
///     .permissions(P::MAC)
///     .key_len(32)
///     .build()?;
/// assert_eq!(p.key_len(), Some(32));
/// assert!(!p.exportable());
/// // Missing permissions: InvalidArgument, not a panic.
/// let err = GenerateKeyParams::builder().algorithm(Algorithm::Ed25519).build().unwrap_err();
/// assert_eq!(err.code(), ErrorCode::InvalidArgument);
/// # Ok::<(), warden_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenerateKeyParams {
    algorithm: Algorithm,
    permissions: KeyOperationPermission,
    exportable: bool,
    rsa_bits: Option<u32>,
    key_len: Option<u32>,
}

impl GenerateKeyParams {
    /// A builder with nothing set.
    pub fn builder() -> GenerateKeyParamsBuilder {
        GenerateKeyParamsBuilder::default()
    }

    /// Algorithm of the new key (a key type or an asymmetric algorithm).
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Operations the new key allows.
    pub fn permissions(&self) -> KeyOperationPermission {
        self.permissions
    }

    /// Whether the secret may ever leave the daemon (still needs the `EXPORT` bit).
    pub fn exportable(&self) -> bool {
        self.exportable
    }

    /// RSA modulus size; `Some` exactly for RSA algorithms.
    pub fn rsa_bits(&self) -> Option<u32> {
        self.rsa_bits
    }

    /// Secret length in bytes; `Some` exactly for `HMAC` and `GENERIC-SECRET`.
    pub fn key_len(&self) -> Option<u32> {
        self.key_len
    }
}

/// Builder for [`GenerateKeyParams`]. `algorithm` and `permissions` are required;
/// `exportable` defaults to `false`.
#[derive(Debug, Clone, Default)]
pub struct GenerateKeyParamsBuilder {
    algorithm: Option<Algorithm>,
    permissions: Option<KeyOperationPermission>,
    exportable: bool,
    rsa_bits: Option<u32>,
    key_len: Option<u32>,
}

impl GenerateKeyParamsBuilder {
    /// Sets the key algorithm.
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = Some(algorithm);
        self
    }

    /// Sets the permission bits.
    pub fn permissions(mut self, permissions: KeyOperationPermission) -> Self {
        self.permissions = Some(permissions);
        self
    }

    /// Sets exportability.
    pub fn exportable(mut self, exportable: bool) -> Self {
        self.exportable = exportable;
        self
    }

    /// Sets the RSA modulus size (required for RSA, rejected otherwise).
    pub fn rsa_bits(mut self, bits: u32) -> Self {
        self.rsa_bits = Some(bits);
        self
    }

    /// Sets the secret length in bytes (required for `HMAC`/`GENERIC-SECRET`, rejected
    /// otherwise).
    pub fn key_len(mut self, len: u32) -> Self {
        self.key_len = Some(len);
        self
    }

    /// Validates and builds. Every failure is `InvalidArgument`, including a permission bit
    /// the key type cannot use ([`KeyOperationPermission::check_applicable`]).
    pub fn build(self) -> Result<GenerateKeyParams> {
        let algorithm = self
            .algorithm
            .ok_or(Error::invalid_argument("algorithm is required"))?;
        let permissions = self
            .permissions
            .ok_or(Error::invalid_argument("permissions are required"))?;
        if !algorithm.is_key_algorithm() {
            return Err(Error::invalid_argument("algorithm is not a key type"));
        }
        match (algorithm.is_rsa(), self.rsa_bits) {
            (true, None) => return Err(Error::invalid_argument("rsa_bits is required for RSA")),
            (true, Some(bits)) if !RSA_BITS.contains(&bits) => {
                return Err(Error::invalid_argument(
                    "rsa_bits must be 2048, 3072 or 4096",
                ));
            }
            (false, Some(_)) => {
                return Err(Error::invalid_argument("rsa_bits only applies to RSA"));
            }
            _ => {}
        }
        let variable = matches!(algorithm, Algorithm::HmacKey | Algorithm::GenericSecret);
        match (variable, self.key_len) {
            (true, None) => {
                return Err(Error::invalid_argument(
                    "key_len is required for HMAC/GENERIC-SECRET",
                ));
            }
            (true, Some(len))
                if !(MIN_GENERATED_SECRET_LEN..=MAX_SECRET_KEY_LEN).contains(&len) =>
            {
                return Err(Error::invalid_argument("key_len out of range (16..=12240)"));
            }
            (false, Some(_)) => {
                return Err(Error::invalid_argument(
                    "key_len only applies to HMAC/GENERIC-SECRET",
                ));
            }
            _ => {}
        }
        permissions.check_applicable(algorithm)?;
        Ok(GenerateKeyParams {
            algorithm,
            permissions,
            exportable: self.exportable,
            rsa_bits: self.rsa_bits,
            key_len: self.key_len,
        })
    }
}

/// Parameters of a key import. Build with [`ImportKeyParams::builder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportKeyParams {
    algorithm: Algorithm,
    permissions: KeyOperationPermission,
    exportable: bool,
    format: KeyFormat,
}

impl ImportKeyParams {
    /// A builder with nothing set.
    pub fn builder() -> ImportKeyParamsBuilder {
        ImportKeyParamsBuilder::default()
    }

    /// Algorithm of the imported key.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Operations the imported key allows.
    pub fn permissions(&self) -> KeyOperationPermission {
        self.permissions
    }

    /// Whether the secret may leave the daemon again.
    pub fn exportable(&self) -> bool {
        self.exportable
    }

    /// Encoding of the material.
    pub fn format(&self) -> KeyFormat {
        self.format
    }
}

/// Builder for [`ImportKeyParams`]. `algorithm` and `permissions` are required; `exportable`
/// defaults to `false`, `format` to [`KeyFormat::Raw`].
#[derive(Debug, Clone, Default)]
pub struct ImportKeyParamsBuilder {
    algorithm: Option<Algorithm>,
    permissions: Option<KeyOperationPermission>,
    exportable: bool,
    format: KeyFormat,
}

impl ImportKeyParamsBuilder {
    /// Sets the key algorithm.
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = Some(algorithm);
        self
    }

    /// Sets the permission bits.
    pub fn permissions(mut self, permissions: KeyOperationPermission) -> Self {
        self.permissions = Some(permissions);
        self
    }

    /// Sets exportability.
    pub fn exportable(mut self, exportable: bool) -> Self {
        self.exportable = exportable;
        self
    }

    /// Sets the material's encoding.
    pub fn format(mut self, format: KeyFormat) -> Self {
        self.format = format;
        self
    }

    /// Validates and builds. Every failure is `InvalidArgument`: missing fields, a
    /// non-key algorithm, a non-`Raw` format for a symmetric key, or a permission bit the
    /// key type cannot use ([`KeyOperationPermission::check_applicable`]).
    pub fn build(self) -> Result<ImportKeyParams> {
        let algorithm = self
            .algorithm
            .ok_or(Error::invalid_argument("algorithm is required"))?;
        let permissions = self
            .permissions
            .ok_or(Error::invalid_argument("permissions are required"))?;
        if !algorithm.is_key_algorithm() {
            return Err(Error::invalid_argument("algorithm is not a key type"));
        }
        if algorithm.class() == AlgorithmClass::KeyType && self.format != KeyFormat::Raw {
            return Err(Error::invalid_argument(
                "symmetric keys are imported in Raw format",
            ));
        }
        permissions.check_applicable(algorithm)?;
        Ok(ImportKeyParams {
            algorithm,
            permissions,
            exportable: self.exportable,
            format: self.format,
        })
    }
}
