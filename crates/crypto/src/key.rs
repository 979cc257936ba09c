//! Key objects: algorithm, permission bits, exportability and the (private) key material.
//!
//! A [`Key`] never implements `Clone`, its `Debug` prints no key bytes, and every secret byte
//! it owns is zeroized on drop (our own buffers through `zeroize`; aws-lc frees its `EVP_PKEY`
//! objects with `OPENSSL_free`, which cleanses memory before releasing it).
//!
//! Encodings (the same for export, import and storage):
//!
//! | algorithm | secret / private encoding | public `Raw` | public `SubjectPublicKeyInfo` |
//! |---|---|---|---|
//! | AES-*, CHACHA20, HMAC, GENERIC-SECRET | raw bytes | — | — |
//! | ED25519, ECDSA-*, ECDH-*, RSA-*, ML-DSA-* | PKCS#8 v1 | 32-byte key / SEC1 uncompressed point / PKCS#1 `RSAPublicKey` / FIPS 204 `pk` | yes |
//! | X25519 | PKCS#8 (RFC 8410) | 32 bytes | yes |
//! | ML-KEM-* | FIPS 203 `dk` (raw) | FIPS 203 `ek` | not supported (`UnsupportedOperation`) |
//! | SLH-DSA-* | FIPS 205 `SK` (raw, 64 bytes) | FIPS 205 `PK` (32 bytes) | not supported |
//! | X-WING | 32-byte seed (draft `sk`) | 1216-byte `pk` | not supported |

use core::fmt;

use aws_lc_rs::agreement;
use aws_lc_rs::encoding::{AsBigEndian, AsDer, Curve25519SeedBin, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::kem;
use aws_lc_rs::rsa;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, PqdsaKeyPair};
use slh_dsa::{Sha2_128f, Sha2_128s};
use warden_core::{Algorithm, Error, ErrorCode, KeyFormat, KeyOperationPermission, Result};
use zeroize::Zeroizing;

use crate::der;

/// The key material of a [`Key`]. Only this crate sees it.
pub(crate) enum Material {
    /// Symmetric key or secret bytes (AES, CHACHA20, HMAC, GENERIC-SECRET, KEM/agreement output).
    Secret(Zeroizing<Vec<u8>>),
    /// Ed25519 key pair.
    Ed25519(Ed25519KeyPair),
    /// ECDSA key pair (P-256 or P-384, fixed-length `r || s` signatures).
    Ecdsa(EcdsaKeyPair),
    /// RSA key pair, held both as a signing key (PSS) and as a decrypting key (OAEP).
    Rsa {
        /// Signing half (also gives the public key).
        pair: rsa::KeyPair,
        /// OAEP decryption half (same key).
        decrypt: rsa::PrivateDecryptingKey,
    },
    /// X25519 / ECDH private key.
    Agreement(agreement::PrivateKey),
    /// ML-KEM decapsulation key plus its encapsulation key bytes.
    MlKem {
        /// The aws-lc decapsulation key.
        dk: kem::DecapsulationKey,
        /// The FIPS 203 encoded `ek` (aws-lc cannot recompute it from an imported `dk`).
        ek: Vec<u8>,
        /// The 64-byte seed `d || z` when the key was generated or imported in seed form;
        /// then it is the key's export and storage encoding (an expanded-form import has none).
        seed: Option<Zeroizing<Vec<u8>>>,
    },
    /// ML-DSA key pair.
    MlDsa(PqdsaKeyPair),
    /// SLH-DSA-SHA2-128s signing key (RustCrypto `slh-dsa`).
    SlhDsa128s(Box<slh_dsa::SigningKey<Sha2_128s>>),
    /// SLH-DSA-SHA2-128f signing key (RustCrypto `slh-dsa`).
    SlhDsa128f(Box<slh_dsa::SigningKey<Sha2_128f>>),
    /// X-Wing decapsulation key (RustCrypto `x-wing`, zeroizes its seed on drop).
    XWing(Box<x_wing::DecapsulationKey>),
    /// Public key only, in the `Raw` encoding of the table above.
    Public(Vec<u8>),
}

/// A key object: the only way key material moves through warden.
///
/// Built by a [`crate::Provider`] (generate, import, derive, agree, unwrap, decapsulate) or
/// restored from storage with [`Key::from_storage_bytes`].
pub struct Key {
    algorithm: Algorithm,
    permissions: KeyOperationPermission,
    exportable: bool,
    material: Material,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("algorithm", &self.algorithm)
            .field("permissions", &self.permissions)
            .field("exportable", &self.exportable)
            .field("public_only", &self.is_public_only())
            .field("material", &"<redacted>")
            .finish()
    }
}

const STORAGE_MAGIC: &[u8; 4] = b"WKEY";
const STORAGE_VERSION: u8 = 1;
const KIND_SECRET: u8 = 0;
const KIND_PUBLIC: u8 = 1;

impl Key {
    pub(crate) fn new(
        algorithm: Algorithm,
        permissions: KeyOperationPermission,
        exportable: bool,
        material: Material,
    ) -> Self {
        Key {
            algorithm,
            permissions,
            exportable,
            material,
        }
    }

    /// The key's algorithm (a key type such as `AES-256`, or an asymmetric algorithm).
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The operations this key may be used for.
    pub fn permissions(&self) -> KeyOperationPermission {
        self.permissions
    }

    /// The same key allowed only `permissions`, which must be a subset of its own (a grantee
    /// gets the slot key with just its granted bits, so the provider itself refuses the
    /// rest). Widening fails with `KeyOperationNotPermitted`.
    pub fn narrowed(mut self, permissions: KeyOperationPermission) -> Result<Key> {
        if !self.permissions.contains(permissions) {
            return Err(Error::new(
                ErrorCode::KeyOperationNotPermitted,
                "permissions can only be narrowed",
            ));
        }
        self.permissions = permissions;
        Ok(self)
    }

    /// Whether secret material may leave the daemon (also requires the `EXPORT` bit).
    pub fn exportable(&self) -> bool {
        self.exportable
    }

    /// Whether this key holds only a public key (imported for verify / encapsulate / agree).
    pub fn is_public_only(&self) -> bool {
        matches!(self.material, Material::Public(_))
    }

    /// Length of the secret in bytes for symmetric keys and secrets, `None` for asymmetric keys.
    pub fn secret_len(&self) -> Option<usize> {
        match &self.material {
            Material::Secret(s) => Some(s.len()),
            _ => None,
        }
    }

    pub(crate) fn material(&self) -> &Material {
        &self.material
    }

    /// Fails with `IncompatibleKeyType` unless an operation with `op` accepts this key, and with
    /// `KeyOperationNotPermitted` unless the key carries `needed`.
    pub(crate) fn check(&self, op: Algorithm, needed: KeyOperationPermission) -> Result<()> {
        if !op.accepts_key(self.algorithm) {
            return Err(Error::new(
                ErrorCode::IncompatibleKeyType,
                "key type does not suit the operation",
            ));
        }
        self.check_permission(needed)
    }

    /// Fails with `KeyOperationNotPermitted` unless the key carries every bit of `needed`.
    pub(crate) fn check_permission(&self, needed: KeyOperationPermission) -> Result<()> {
        if self.permissions.contains(needed) {
            Ok(())
        } else {
            Err(Error::new(
                ErrorCode::KeyOperationNotPermitted,
                "key permission bit missing",
            ))
        }
    }

    /// The symmetric secret, or `IncompatibleKeyType` for asymmetric keys.
    pub(crate) fn secret_bytes(&self) -> Result<&[u8]> {
        match &self.material {
            Material::Secret(s) => Ok(s),
            _ => Err(Error::new(
                ErrorCode::IncompatibleKeyType,
                "not a symmetric key",
            )),
        }
    }

    /// The public key in `format`. Always allowed (no permission bit needed).
    ///
    /// `Raw` and `SubjectPublicKeyInfo` (alias `Der`) are supported as in the module table;
    /// symmetric keys fail with `IncompatibleKeyType`; `Pkcs8` fails with `InvalidArgument`.
    pub fn public_key(&self, format: KeyFormat) -> Result<Vec<u8>> {
        let raw = self.public_raw()?;
        match format {
            KeyFormat::Raw => Ok(raw),
            KeyFormat::Der | KeyFormat::SubjectPublicKeyInfo => {
                der::spki_from_raw(self.algorithm, &raw)
            }
            _ => Err(Error::invalid_argument(
                "public keys export as Raw or SubjectPublicKeyInfo",
            )),
        }
    }

    fn public_raw(&self) -> Result<Vec<u8>> {
        let fail = |_| Error::new(ErrorCode::OperationFailed, "public key encoding failed");
        Ok(match &self.material {
            Material::Secret(_) => {
                return Err(Error::new(
                    ErrorCode::IncompatibleKeyType,
                    "symmetric keys have no public half",
                ));
            }
            Material::Public(raw) => raw.clone(),
            Material::Ed25519(k) => k.public_key().as_ref().to_vec(),
            Material::Ecdsa(k) => k.public_key().as_ref().to_vec(),
            Material::Rsa { pair, .. } => pair.public_key().as_ref().to_vec(),
            Material::Agreement(k) => k.compute_public_key().map_err(fail)?.as_ref().to_vec(),
            Material::MlKem { ek, .. } => ek.clone(),
            Material::MlDsa(k) => k.public_key().as_ref().to_vec(),
            Material::SlhDsa128s(k) => {
                AsRef::<slh_dsa::VerifyingKey<Sha2_128s>>::as_ref(&**k).to_vec()
            }
            Material::SlhDsa128f(k) => {
                AsRef::<slh_dsa::VerifyingKey<Sha2_128f>>::as_ref(&**k).to_vec()
            }
            Material::XWing(k) => {
                use x_wing::{Decapsulator, KeyExport};
                k.encapsulation_key().to_bytes().to_vec()
            }
        })
    }

    /// The secret / private key in its canonical encoding (module table). Needs the `EXPORT`
    /// permission bit *and* the exportable flag, else `KeyNotExportable`. Public-only keys fail
    /// with `IncompatibleKeyType` (use [`Key::public_key`]).
    pub fn export_secret(&self) -> Result<Zeroizing<Vec<u8>>> {
        if !self.exportable || !self.permissions.contains(KeyOperationPermission::EXPORT) {
            return Err(Error::new(
                ErrorCode::KeyNotExportable,
                "key is not exportable",
            ));
        }
        if self.is_public_only() {
            return Err(Error::new(
                ErrorCode::IncompatibleKeyType,
                "public-only key has no secret",
            ));
        }
        self.secret_encoding()
    }

    fn secret_encoding(&self) -> Result<Zeroizing<Vec<u8>>> {
        let fail = |_| Error::new(ErrorCode::OperationFailed, "private key encoding failed");
        let out = match &self.material {
            Material::Secret(s) => s.to_vec(),
            Material::Public(raw) => raw.clone(),
            Material::Ed25519(k) => pkcs8(k.to_pkcs8v1().map_err(fail)?.as_ref()),
            Material::Ecdsa(k) => pkcs8(k.to_pkcs8v1().map_err(fail)?.as_ref()),
            Material::Rsa { pair, .. } => {
                let der: Pkcs8V1Der<'static> = pair.as_der().map_err(fail)?;
                der.as_ref().to_vec()
            }
            Material::Agreement(k) if self.algorithm == Algorithm::X25519 => {
                let seed: Curve25519SeedBin<'static> = k.as_be_bytes().map_err(fail)?;
                der::x25519_pkcs8_from_raw(seed.as_ref())
            }
            Material::Agreement(k) => {
                let der: Pkcs8V1Der<'static> = k.as_der().map_err(fail)?;
                der.as_ref().to_vec()
            }
            Material::MlKem { seed: Some(s), .. } => s.to_vec(),
            Material::MlKem { dk, .. } => dk.key_bytes().map_err(fail)?.as_ref().to_vec(),
            Material::MlDsa(k) => pkcs8(k.to_pkcs8v1().map_err(fail)?.as_ref()),
            Material::SlhDsa128s(k) => {
                let mut b = k.to_bytes();
                let out = b.to_vec();
                zeroize::Zeroize::zeroize(b.as_mut_slice());
                out
            }
            Material::SlhDsa128f(k) => {
                let mut b = k.to_bytes();
                let out = b.to_vec();
                zeroize::Zeroize::zeroize(b.as_mut_slice());
                out
            }
            Material::XWing(k) => k.as_bytes().to_vec(),
        };
        Ok(Zeroizing::new(out))
    }

    /// DANGER: the full key, secret included, serialised for the daemon's persistent store,
    /// which encrypts it at rest. Not gated by the `EXPORT` bit: storage is not export. Only the
    /// key store may call this; nothing it returns may reach a client.
    ///
    /// Layout: `b"WKEY"`, version `1`, name length `u8`, canonical algorithm name, permission
    /// bits `u32` LE, exportable `u8`, kind `u8` (0 secret/private, 1 public only), material
    /// length `u32` LE, material (module table encoding).
    pub fn danger_storage_bytes(&self) -> Result<Zeroizing<Vec<u8>>> {
        let material = self.secret_encoding()?;
        let name = self.algorithm.name().as_bytes();
        let name_len =
            u8::try_from(name.len()).map_err(|_| Error::from(ErrorCode::InternalError))?;
        let material_len =
            u32::try_from(material.len()).map_err(|_| Error::from(ErrorCode::InternalError))?;
        let mut out = Zeroizing::new(Vec::with_capacity(16 + name.len() + material.len()));
        out.extend_from_slice(STORAGE_MAGIC);
        out.push(STORAGE_VERSION);
        out.push(name_len);
        out.extend_from_slice(name);
        out.extend_from_slice(&self.permissions.bits().to_le_bytes());
        out.push(u8::from(self.exportable));
        out.push(if self.is_public_only() {
            KIND_PUBLIC
        } else {
            KIND_SECRET
        });
        out.extend_from_slice(&material_len.to_le_bytes());
        out.extend_from_slice(&material);
        Ok(out)
    }

    /// Restores a key written by [`Key::danger_storage_bytes`]. Malformed input fails with
    /// `InvalidFormat` (never a panic); unknown algorithm names with `UnsupportedAlgorithm`.
    pub fn from_storage_bytes(bytes: &[u8]) -> Result<Key> {
        let bad = || Error::new(ErrorCode::InvalidFormat, "malformed key storage record");
        let mut r = der::Reader::new(bytes);
        if r.take(4).ok_or_else(bad)? != STORAGE_MAGIC || r.u8().ok_or_else(bad)? != STORAGE_VERSION
        {
            return Err(bad());
        }
        let name_len = usize::from(r.u8().ok_or_else(bad)?);
        let name = core::str::from_utf8(r.take(name_len).ok_or_else(bad)?).map_err(|_| bad())?;
        let algorithm = Algorithm::from_name(name)?;
        let perm_bytes: [u8; 4] = r.take(4).ok_or_else(bad)?.try_into().map_err(|_| bad())?;
        let permissions = KeyOperationPermission::from_bits(u32::from_le_bytes(perm_bytes))?;
        let exportable = match r.u8().ok_or_else(bad)? {
            0 => false,
            1 => true,
            _ => return Err(bad()),
        };
        let kind = r.u8().ok_or_else(bad)?;
        let len_bytes: [u8; 4] = r.take(4).ok_or_else(bad)?.try_into().map_err(|_| bad())?;
        let len = usize::try_from(u32::from_le_bytes(len_bytes)).map_err(|_| bad())?;
        let material = r.take(len).ok_or_else(bad)?;
        if !r.is_empty() {
            return Err(bad());
        }
        let material = match kind {
            KIND_SECRET => crate::keygen::private_from_canonical(algorithm, material)?,
            KIND_PUBLIC => crate::keygen::public_from_raw(algorithm, material)?,
            _ => return Err(bad()),
        };
        Ok(Key::new(algorithm, permissions, exportable, material))
    }
}

fn pkcs8(bytes: &[u8]) -> Vec<u8> {
    bytes.to_vec()
}

/// DER SubjectPublicKeyInfo of an aws-lc public key, for [`der::spki_from_raw`].
pub(crate) fn x509_der<T: AsDer<PublicKeyX509Der<'static>>>(key: &T) -> Result<Vec<u8>> {
    key.as_der()
        .map(|d| d.as_ref().to_vec())
        .map_err(|_| Error::new(ErrorCode::InvalidFormat, "public key rejected"))
}

/// The aws-lc verification algorithm for a signature algorithm's public key.
pub(crate) fn verification_alg(
    alg: Algorithm,
) -> Option<&'static dyn signature::VerificationAlgorithm> {
    Some(match alg {
        Algorithm::Ed25519 | Algorithm::Ed25519ph => &signature::ED25519,
        Algorithm::EcdsaP256Sha256 | Algorithm::EcdhP256 => &signature::ECDSA_P256_SHA256_FIXED,
        Algorithm::EcdsaP384Sha384 | Algorithm::EcdhP384 => &signature::ECDSA_P384_SHA384_FIXED,
        // Parses any RSA public key; PSS verification picks its own parameters
        // (`rsa_params::pss_verification`).
        a if a.is_rsa() => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::MlDsa44 => &signature::ML_DSA_44,
        Algorithm::MlDsa65 => &signature::ML_DSA_65,
        Algorithm::MlDsa87 => &signature::ML_DSA_87,
        _ => return None,
    })
}
