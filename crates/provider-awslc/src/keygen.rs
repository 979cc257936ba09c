//! Generating, importing and restoring key material, algorithm by algorithm.
//!
//! Every length is checked here before bytes are handed to aws-lc or RustCrypto; every
//! library rejection becomes a typed error (`InvalidFormat` for malformed encodings,
//! `KeyGenerationFailed` for generation failures). See `key.rs` for the encodings.

use aws_lc_rs::agreement;
use aws_lc_rs::digest;
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::kem;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, ParsedPublicKey, PqdsaKeyPair};
use slh_dsa::{Sha2_128f, Sha2_128s};
use warden_core::{Algorithm, Error, ErrorCode, KeyFormat, Result};
use zeroize::Zeroizing;

use crate::der;
use crate::material::{Material, verification_alg};

/// Default length of generated HMAC keys and generic secrets when none is given.
pub const DEFAULT_SECRET_LEN: usize = 32;
/// Largest HMAC key / generic secret we generate or import (bytes).
pub const MAX_SECRET_LEN: usize = warden_core::limits::MAX_SECRET_KEY_LEN as usize;
/// RSA modulus sizes accepted for generation and import (bits).
pub const RSA_BITS: [u32; 3] = [2048, 3072, 4096];

fn invalid_format(detail: &'static str) -> Error {
    Error::new(ErrorCode::InvalidFormat, detail)
}

fn gen_failed<E>(_: E) -> Error {
    Error::new(ErrorCode::KeyGenerationFailed, "key generation failed")
}

/// `n` random bytes from aws-lc's DRBG, in a zeroizing buffer.
pub(crate) fn random_secret(n: usize) -> Result<Zeroizing<Vec<u8>>> {
    let mut v = Zeroizing::new(vec![0u8; n]);
    SystemRandom::new()
        .fill(&mut v)
        .map_err(|_| Error::new(ErrorCode::OperationFailed, "random generator failed"))?;
    Ok(v)
}

fn ecdsa_alg(alg: Algorithm) -> Option<&'static signature::EcdsaSigningAlgorithm> {
    match alg {
        Algorithm::EcdsaP256Sha256 => Some(&signature::ECDSA_P256_SHA256_FIXED_SIGNING),
        Algorithm::EcdsaP384Sha384 => Some(&signature::ECDSA_P384_SHA384_FIXED_SIGNING),
        _ => None,
    }
}

pub(crate) fn agreement_alg(alg: Algorithm) -> Option<&'static agreement::Algorithm> {
    match alg {
        Algorithm::X25519 => Some(&agreement::X25519),
        Algorithm::EcdhP256 => Some(&agreement::ECDH_P256),
        Algorithm::EcdhP384 => Some(&agreement::ECDH_P384),
        _ => None,
    }
}

pub(crate) fn mlkem_alg(alg: Algorithm) -> Option<&'static kem::Algorithm> {
    match alg {
        Algorithm::MlKem512 => Some(&kem::ML_KEM_512),
        Algorithm::MlKem768 => Some(&kem::ML_KEM_768),
        Algorithm::MlKem1024 => Some(&kem::ML_KEM_1024),
        _ => None,
    }
}

fn mldsa_alg(alg: Algorithm) -> Option<&'static signature::PqdsaSigningAlgorithm> {
    match alg {
        Algorithm::MlDsa44 => Some(&signature::ML_DSA_44_SIGNING),
        Algorithm::MlDsa65 => Some(&signature::ML_DSA_65_SIGNING),
        Algorithm::MlDsa87 => Some(&signature::ML_DSA_87_SIGNING),
        _ => None,
    }
}

/// Fixed or bounded length of a symmetric key type; `Err(IncompatibleKeyType)` otherwise.
fn check_secret_len(alg: Algorithm, len: usize) -> Result<()> {
    let ok = match alg {
        Algorithm::Aes128Key => len == 16,
        Algorithm::Aes192Key => len == 24,
        Algorithm::Aes256Key | Algorithm::ChaCha20Key => len == 32,
        Algorithm::HmacKey | Algorithm::GenericSecret => (1..=MAX_SECRET_LEN).contains(&len),
        _ => {
            return Err(Error::new(
                ErrorCode::IncompatibleKeyType,
                "not a symmetric key type",
            ));
        }
    };
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_argument(
            "key length does not fit the key type",
        ))
    }
}

/// Fresh key material for `alg`. `rsa_bits` is required for RSA, `key_len` is used by `HMAC`
/// and `GENERIC-SECRET` (default 32 bytes).
pub(crate) fn generate(
    alg: Algorithm,
    rsa_bits: Option<u32>,
    key_len: Option<u32>,
) -> Result<Material> {
    if let Some(ecdsa) = ecdsa_alg(alg) {
        return Ok(Material::Ecdsa(
            EcdsaKeyPair::generate(ecdsa).map_err(gen_failed)?,
        ));
    }
    if let Some(agree) = agreement_alg(alg) {
        return Ok(Material::Agreement(
            agreement::PrivateKey::generate(agree).map_err(gen_failed)?,
        ));
    }
    if mlkem_alg(alg).is_some() {
        // Generated from a fresh 64-byte seed, so the seed (the private form IETF drafts
        // prefer) is what the key exports and what the store keeps.
        let seed = random_secret(MLKEM_SEED_LEN)?;
        return mlkem_from_seed(alg, &seed);
    }
    if let Some(mldsa) = mldsa_alg(alg) {
        return Ok(Material::MlDsa(
            PqdsaKeyPair::generate(mldsa).map_err(gen_failed)?,
        ));
    }
    match alg {
        Algorithm::Aes128Key
        | Algorithm::Aes192Key
        | Algorithm::Aes256Key
        | Algorithm::ChaCha20Key => {
            let len = alg.key_len().ok_or(Error::from(ErrorCode::InternalError))?;
            Ok(Material::Secret(random_secret(len)?))
        }
        Algorithm::HmacKey | Algorithm::GenericSecret => {
            let len = match key_len {
                Some(l) => usize::try_from(l).map_err(|_| Error::invalid_argument("key length"))?,
                None => DEFAULT_SECRET_LEN,
            };
            check_secret_len(alg, len)?;
            Ok(Material::Secret(random_secret(len)?))
        }
        Algorithm::Ed25519 | Algorithm::Ed25519ph => Ok(Material::Ed25519(
            Ed25519KeyPair::generate().map_err(gen_failed)?,
        )),
        a if a.is_rsa() => {
            let size = match rsa_bits {
                Some(2048) => rsa::KeySize::Rsa2048,
                Some(3072) => rsa::KeySize::Rsa3072,
                Some(4096) => rsa::KeySize::Rsa4096,
                Some(_) => {
                    return Err(Error::invalid_argument(
                        "RSA keys are 2048, 3072 or 4096 bits",
                    ));
                }
                None => return Err(Error::invalid_argument("RSA generation needs rsa_bits")),
            };
            let pair = rsa::KeyPair::generate(size).map_err(gen_failed)?;
            let pkcs8: Pkcs8V1Der<'static> = pair.as_der().map_err(gen_failed)?;
            let decrypt =
                rsa::PrivateDecryptingKey::from_pkcs8(pkcs8.as_ref()).map_err(gen_failed)?;
            Ok(Material::Rsa { pair, decrypt })
        }
        Algorithm::SlhDsaSha2_128s => {
            let seeds = random_secret(48)?;
            let (a, b, c) = split3(&seeds)?;
            Ok(Material::SlhDsa128s(Box::new(slh_dsa::SigningKey::<
                Sha2_128s,
            >::slh_keygen_internal(
                a, b, c
            ))))
        }
        Algorithm::SlhDsaSha2_128f => {
            let seeds = random_secret(48)?;
            let (a, b, c) = split3(&seeds)?;
            Ok(Material::SlhDsa128f(Box::new(slh_dsa::SigningKey::<
                Sha2_128f,
            >::slh_keygen_internal(
                a, b, c
            ))))
        }
        Algorithm::XWing => {
            let seed = random_secret(x_wing::DECAPSULATION_KEY_SIZE)?;
            xwing_from_seed(&seed)
        }
        _ => Err(Error::new(
            ErrorCode::UnsupportedAlgorithm,
            "not a key algorithm",
        )),
    }
}

fn split3(seeds: &[u8]) -> Result<(&[u8], &[u8], &[u8])> {
    match (seeds.get(0..16), seeds.get(16..32), seeds.get(32..48)) {
        (Some(a), Some(b), Some(c)) => Ok((a, b, c)),
        _ => Err(Error::from(ErrorCode::InternalError)),
    }
}

fn xwing_from_seed(seed: &[u8]) -> Result<Material> {
    let arr: Zeroizing<[u8; x_wing::DECAPSULATION_KEY_SIZE]> = Zeroizing::new(
        seed.try_into()
            .map_err(|_| invalid_format("X-Wing private key is a 32-byte seed"))?,
    );
    Ok(Material::XWing(Box::new(x_wing::DecapsulationKey::from(
        *arr,
    ))))
}

/// Private / secret material from its canonical encoding (see `key.rs`).
pub(crate) fn private_from_canonical(alg: Algorithm, bytes: &[u8]) -> Result<Material> {
    let rejected = |_| invalid_format("private key rejected");
    if let Some(ecdsa) = ecdsa_alg(alg) {
        return Ok(Material::Ecdsa(
            EcdsaKeyPair::from_pkcs8(ecdsa, bytes).map_err(rejected)?,
        ));
    }
    if let Some(agree) = agreement_alg(alg) {
        let key = if alg == Algorithm::X25519 {
            agreement::PrivateKey::from_private_key(agree, der::x25519_raw_from_pkcs8(bytes)?)
        } else {
            agreement::PrivateKey::from_private_key_der(agree, bytes)
        };
        return Ok(Material::Agreement(key.map_err(rejected)?));
    }
    if let Some(mlkem) = mlkem_alg(alg) {
        if bytes.len() == MLKEM_SEED_LEN {
            return mlkem_from_seed(alg, bytes);
        }
        let ek = mlkem_ek_from_dk(alg, bytes)?;
        let dk = kem::DecapsulationKey::new(mlkem, bytes).map_err(rejected)?;
        return Ok(Material::MlKem { dk, ek, seed: None });
    }
    if let Some(mldsa) = mldsa_alg(alg) {
        return Ok(Material::MlDsa(
            PqdsaKeyPair::from_pkcs8(mldsa, bytes).map_err(rejected)?,
        ));
    }
    match alg {
        Algorithm::Aes128Key
        | Algorithm::Aes192Key
        | Algorithm::Aes256Key
        | Algorithm::ChaCha20Key
        | Algorithm::HmacKey
        | Algorithm::GenericSecret => {
            check_secret_len(alg, bytes.len())?;
            Ok(Material::Secret(Zeroizing::new(bytes.to_vec())))
        }
        Algorithm::Ed25519 | Algorithm::Ed25519ph => Ok(Material::Ed25519(
            Ed25519KeyPair::from_pkcs8(bytes).map_err(rejected)?,
        )),
        a if a.is_rsa() => {
            let pair = rsa::KeyPair::from_pkcs8(bytes).map_err(rejected)?;
            let bits = pair.public_modulus_len().saturating_mul(8);
            if !RSA_BITS
                .iter()
                .any(|&b| usize::try_from(b).ok() == Some(bits))
            {
                return Err(Error::invalid_argument(
                    "RSA keys are 2048, 3072 or 4096 bits",
                ));
            }
            let decrypt = rsa::PrivateDecryptingKey::from_pkcs8(bytes).map_err(rejected)?;
            Ok(Material::Rsa { pair, decrypt })
        }
        Algorithm::SlhDsaSha2_128s => Ok(Material::SlhDsa128s(Box::new(
            slh_dsa::SigningKey::<Sha2_128s>::try_from(bytes)
                .map_err(|_| invalid_format("SLH-DSA key"))?,
        ))),
        Algorithm::SlhDsaSha2_128f => Ok(Material::SlhDsa128f(Box::new(
            slh_dsa::SigningKey::<Sha2_128f>::try_from(bytes)
                .map_err(|_| invalid_format("SLH-DSA key"))?,
        ))),
        Algorithm::XWing => xwing_from_seed(bytes),
        _ => Err(Error::new(
            ErrorCode::UnsupportedAlgorithm,
            "not a key algorithm",
        )),
    }
}

/// Length of an ML-KEM private key in seed form, `d || z` (FIPS 203 section 7.1).
pub(crate) const MLKEM_SEED_LEN: usize = 64;

/// ML-KEM key pair from its 64-byte seed `d || z` (FIPS 203 `ML-KEM.KeyGen_internal`).
///
/// aws-lc-rs cannot take a seed, so RustCrypto `ml-kem` expands it (the one thing it does
/// here) and aws-lc then loads the expanded key and performs every operation; the FIPS 203
/// hash check of `mlkem_ek_from_dk` runs on the expansion as on any imported key.
// `ExpandedKeyEncoding` is deprecated as a format to keep keys in; here it is only the hand-over
// to aws-lc, which loads nothing else.
#[allow(deprecated)]
fn mlkem_from_seed(alg: Algorithm, seed: &[u8]) -> Result<Material> {
    use ml_kem::ExpandedKeyEncoding;
    let arr: Zeroizing<[u8; MLKEM_SEED_LEN]> = Zeroizing::new(
        seed.try_into()
            .map_err(|_| invalid_format("ML-KEM seed is 64 bytes"))?,
    );
    let seed_arr = ml_kem::Seed::from(*arr);
    // The expanded key is secret: copied into a wiping buffer, the library's copy wiped.
    let expanded: Zeroizing<Vec<u8>> = Zeroizing::new(match alg {
        Algorithm::MlKem512 => {
            let mut e = ml_kem::DecapsulationKey::<ml_kem::MlKem512>::from_seed(seed_arr)
                .to_expanded_bytes();
            let v = e.to_vec();
            zeroize::Zeroize::zeroize(e.as_mut_slice());
            v
        }
        Algorithm::MlKem768 => {
            let mut e = ml_kem::DecapsulationKey::<ml_kem::MlKem768>::from_seed(seed_arr)
                .to_expanded_bytes();
            let v = e.to_vec();
            zeroize::Zeroize::zeroize(e.as_mut_slice());
            v
        }
        Algorithm::MlKem1024 => {
            let mut e = ml_kem::DecapsulationKey::<ml_kem::MlKem1024>::from_seed(seed_arr)
                .to_expanded_bytes();
            let v = e.to_vec();
            zeroize::Zeroize::zeroize(e.as_mut_slice());
            v
        }
        _ => {
            return Err(Error::new(
                ErrorCode::UnsupportedAlgorithm,
                "not an ML-KEM algorithm",
            ));
        }
    });
    let mlkem = mlkem_alg(alg).ok_or(Error::from(ErrorCode::InternalError))?;
    let ek = mlkem_ek_from_dk(alg, &expanded)?;
    let dk = kem::DecapsulationKey::new(mlkem, &expanded)
        .map_err(|_| invalid_format("private key rejected"))?;
    Ok(Material::MlKem {
        dk,
        ek,
        seed: Some(Zeroizing::new(arr.to_vec())),
    })
}

/// FIPS 203 `dk = dk_pke || ek || H(ek) || z`: returns `ek` after checking the length and the
/// embedded hash (the FIPS 203 section 7.3 decapsulation-key check).
fn mlkem_ek_from_dk(alg: Algorithm, dk: &[u8]) -> Result<Vec<u8>> {
    let ek_len = alg
        .kem_lengths()
        .ok_or(Error::from(ErrorCode::InternalError))?
        .public_key_len;
    let pke_len = ek_len - 32; // 384 * k
    if dk.len() != pke_len + ek_len + 64 {
        return Err(invalid_format(
            "ML-KEM decapsulation key has the wrong length",
        ));
    }
    let ek = dk
        .get(pke_len..pke_len + ek_len)
        .ok_or(invalid_format("ML-KEM key"))?;
    let h = dk
        .get(pke_len + ek_len..pke_len + ek_len + 32)
        .ok_or(invalid_format("ML-KEM key"))?;
    if digest::digest(&digest::SHA3_256, ek).as_ref() != h {
        return Err(invalid_format("ML-KEM decapsulation key hash check failed"));
    }
    Ok(ek.to_vec())
}

/// Public-only material from the `Raw` public encoding, validated by the library.
pub(crate) fn public_from_raw(alg: Algorithm, raw: &[u8]) -> Result<Material> {
    fn rejected<E>(_: E) -> Error {
        invalid_format("public key rejected")
    }
    if let Some(mlkem) = mlkem_alg(alg) {
        kem::EncapsulationKey::new(mlkem, raw).map_err(rejected)?;
    } else if let Some(valg) = verification_alg(alg) {
        ParsedPublicKey::new(valg, raw).map_err(rejected)?;
    } else {
        match alg {
            Algorithm::X25519 => {
                agreement::ParsedPublicKey::try_from(&agreement::UnparsedPublicKey::new(
                    &agreement::X25519,
                    raw,
                ))
                .map_err(rejected)?;
            }
            Algorithm::SlhDsaSha2_128s => {
                slh_dsa::VerifyingKey::<Sha2_128s>::try_from(raw).map_err(rejected)?;
            }
            Algorithm::SlhDsaSha2_128f => {
                slh_dsa::VerifyingKey::<Sha2_128f>::try_from(raw).map_err(rejected)?;
            }
            Algorithm::XWing => {
                x_wing::EncapsulationKey::try_from(raw).map_err(rejected)?;
            }
            _ => {
                return Err(Error::new(
                    ErrorCode::IncompatibleKeyType,
                    "symmetric keys have no public form",
                ));
            }
        }
    }
    Ok(Material::Public(raw.to_vec()))
}

/// Private length of the algorithms whose private key is imported `Raw` (told apart from
/// the public key by length, which differs for every parameter set).
fn raw_private_len(alg: Algorithm) -> Option<usize> {
    match alg {
        Algorithm::MlKem512 => Some(1632),
        Algorithm::MlKem768 => Some(2400),
        Algorithm::MlKem1024 => Some(3168),
        Algorithm::SlhDsaSha2_128s | Algorithm::SlhDsaSha2_128f => Some(64),
        Algorithm::XWing => Some(x_wing::DECAPSULATION_KEY_SIZE),
        _ => None,
    }
}

/// Material for an import request: see the encodings table in `key.rs`.
///
/// * symmetric key types: `Raw` only;
/// * `Pkcs8`: private key (not for ML-KEM, SLH-DSA, X-Wing, which have no PKCS#8 support in
///   our libraries: `UnsupportedOperation`);
/// * `SubjectPublicKeyInfo` / `Der`: public key;
/// * `Raw`: public key, except ML-KEM / SLH-DSA / X-Wing where a private-length input is the
///   private key.
pub(crate) fn import(alg: Algorithm, format: KeyFormat, bytes: &[u8]) -> Result<Material> {
    if !alg.is_asymmetric() {
        return match format {
            KeyFormat::Raw => private_from_canonical(alg, bytes),
            _ => Err(Error::new(
                ErrorCode::InvalidFormat,
                "symmetric keys import as Raw",
            )),
        };
    }
    match format {
        KeyFormat::Pkcs8 if raw_private_len(alg).is_some() => Err(Error::new(
            ErrorCode::UnsupportedOperation,
            "no PKCS#8 for this algorithm; import the raw private key",
        )),
        KeyFormat::Pkcs8 => private_from_canonical(alg, bytes),
        KeyFormat::Der | KeyFormat::SubjectPublicKeyInfo => {
            public_from_raw(alg, &der::raw_from_spki(alg, bytes)?)
        }
        KeyFormat::Raw
            if raw_private_len(alg) == Some(bytes.len())
                || (mlkem_alg(alg).is_some() && bytes.len() == MLKEM_SEED_LEN) =>
        {
            private_from_canonical(alg, bytes)
        }
        KeyFormat::Raw => public_from_raw(alg, bytes),
        _ => Err(Error::new(ErrorCode::InvalidFormat, "unknown key format")),
    }
}
