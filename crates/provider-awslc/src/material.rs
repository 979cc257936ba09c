//! This provider's key material: what its [`Key`]s carry behind `warden_crypto::ProviderKey`.
//!
//! Every secret byte it owns is zeroized on drop (our own buffers through `zeroize`; aws-lc frees its `EVP_PKEY`
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

use core::any::Any;

use aws_lc_rs::agreement;
use aws_lc_rs::encoding::{AsBigEndian, AsDer, Curve25519SeedBin, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::kem;
use aws_lc_rs::rsa;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, PqdsaKeyPair};
use slh_dsa::{Sha2_128f, Sha2_128s};
use warden_core::{Algorithm, Error, ErrorCode, KeyFormat, KeyOperationPermission, Result};
use zeroize::Zeroizing;

use warden_crypto::{Key, ProviderKey};

use crate::der;

/// The key material of an aws-lc-rs [`Key`]. Only this crate sees it.
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

/// Reaches this provider's [`Material`] inside a [`Key`].
pub(crate) trait AwsLcKey {
    /// The material, or `IncompatibleKeyType` for a key another provider owns.
    fn material(&self) -> Result<&Material>;
    /// The symmetric secret, or `IncompatibleKeyType` for asymmetric or foreign keys.
    fn secret_bytes(&self) -> Result<&[u8]>;
}

impl AwsLcKey for Key {
    fn material(&self) -> Result<&Material> {
        self.provider_key()
            .as_any()
            .downcast_ref::<Material>()
            .ok_or(Error::new(
                ErrorCode::IncompatibleKeyType,
                "key belongs to another provider",
            ))
    }

    fn secret_bytes(&self) -> Result<&[u8]> {
        match self.material()? {
            Material::Secret(s) => Ok(s),
            _ => Err(Error::new(
                ErrorCode::IncompatibleKeyType,
                "not a symmetric key",
            )),
        }
    }
}

/// A key of this provider around `material`.
pub(crate) fn key(
    algorithm: Algorithm,
    permissions: KeyOperationPermission,
    exportable: bool,
    material: Material,
) -> Key {
    Key::new(
        algorithm,
        permissions,
        exportable,
        crate::NAME,
        Box::new(material),
    )
}

impl ProviderKey for Material {
    fn is_public_only(&self) -> bool {
        matches!(self, Material::Public(_))
    }

    fn secret_len(&self) -> Option<usize> {
        match self {
            Material::Secret(s) => Some(s.len()),
            _ => None,
        }
    }

    /// `Raw` and `SubjectPublicKeyInfo` (alias `Der`) as in the module table; symmetric keys
    /// fail with `IncompatibleKeyType`; `Pkcs8` with `InvalidArgument`.
    fn public_key(&self, algorithm: Algorithm, format: KeyFormat) -> Result<Vec<u8>> {
        let raw = self.public_raw()?;
        match format {
            KeyFormat::Raw => Ok(raw),
            KeyFormat::Der | KeyFormat::SubjectPublicKeyInfo => der::spki_from_raw(algorithm, &raw),
            _ => Err(Error::invalid_argument(
                "public keys export as Raw or SubjectPublicKeyInfo",
            )),
        }
    }

    fn export_material(&self, algorithm: Algorithm) -> Result<Zeroizing<Vec<u8>>> {
        self.secret_encoding(algorithm)
    }

    fn storage_material(&self, algorithm: Algorithm) -> Result<Zeroizing<Vec<u8>>> {
        self.secret_encoding(algorithm)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Material {
    fn public_raw(&self) -> Result<Vec<u8>> {
        let fail = |_| Error::new(ErrorCode::OperationFailed, "public key encoding failed");
        Ok(match self {
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

    /// The secret / private key (or the public-only key) in its canonical encoding.
    fn secret_encoding(&self, algorithm: Algorithm) -> Result<Zeroizing<Vec<u8>>> {
        let fail = |_| Error::new(ErrorCode::OperationFailed, "private key encoding failed");
        let out = match self {
            Material::Secret(s) => s.to_vec(),
            Material::Public(raw) => raw.clone(),
            Material::Ed25519(k) => pkcs8(k.to_pkcs8v1().map_err(fail)?.as_ref()),
            Material::Ecdsa(k) => pkcs8(k.to_pkcs8v1().map_err(fail)?.as_ref()),
            Material::Rsa { pair, .. } => {
                let der: Pkcs8V1Der<'static> = pair.as_der().map_err(fail)?;
                der.as_ref().to_vec()
            }
            Material::Agreement(k) if algorithm == Algorithm::X25519 => {
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
