//! Sign and Verify contexts.
//!
//! Streaming: ECDSA-P256-SHA256, ECDSA-P384-SHA384 and RSA-PSS-SHA256 pre-hash the message in
//! an aws-lc digest context and sign / verify the digest (`sign_digest`, `verify_digest_sig`),
//! so messages of any length stream with constant memory.
//!
//! Buffered (the algorithms hash the whole message inside the signature, so it cannot be
//! pre-hashed without changing the scheme): Ed25519, ML-DSA-*, SLH-DSA-*. Data passed to
//! `update` is copied into a budgeted chunk taken on the first byte (`super::buffer`; beyond
//! the chunk or the caller's budget `QuotaExceeded`) and given back, wiped, when the stream
//! ends. If nothing was buffered,
//! `finalize(input, ..)` signs `input` directly, so one-shot calls have no bound.
//!
//! RSA-PSS signs with SHA-256/384/512 (MGF1 with the same hash) and a salt of the hash length
//! unless the context chose one (0..=64 bytes, `rsa_params`).
//!
//! Signature encodings: ECDSA fixed-length `r || s` (IEEE P1363: 64 / 96 bytes) or, with the
//! context option `SignatureFormat::Der`, DER `ECDSA-Sig-Value` (aws-lc's `*_ASN1` algorithms:
//! at most 72 / 104 bytes), RSA-PSS with
//! MGF1-SHA256 and a 32-byte salt, Ed25519 (RFC 8032), ML-DSA pure mode with an empty context
//! (FIPS 204), SLH-DSA pure mode, empty context, hedged with 16 fresh random bytes (FIPS 205).

use std::sync::Arc;

use warden_crypto::context::{Buffered, Engine, too_small};
use warden_crypto::{BufferSource, ContextKind, Key};

use super::mldsa_ctx::{self, CtxSigner, CtxVerifier};
use crate::material::{AwsLcKey as _, Material, verification_alg};
use crate::rsa_params;
use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{self, EcdsaKeyPair, ParsedPublicKey};
use slh_dsa::{Sha2_128f, Sha2_128s};
use warden_core::{
    Algorithm, ContextOptions, Error, ErrorCode, KeyFormat, Result, SignatureFormat,
};

/// Signature length (maximum for RSA: the modulus length).
fn signature_len(alg: Algorithm, key: &Key) -> Result<usize> {
    Ok(match (alg, key.material()?) {
        (Algorithm::EcdsaP256Sha256 | Algorithm::Ed25519 | Algorithm::Ed25519ph, _) => 64,
        (Algorithm::EcdsaP384Sha384, _) => 96,
        (a, Material::Rsa { pair, .. }) if rsa_params::is_pss(a) => pair.public_modulus_len(),
        (a, Material::Public(raw)) if rsa_params::is_pss(a) => raw.len(), // bound: PKCS#1 > modulus
        (Algorithm::MlDsa44 | Algorithm::HashMlDsa44Sha512, _) => 2420,
        (Algorithm::MlDsa65 | Algorithm::HashMlDsa65Sha512, _) => 3309,
        (Algorithm::MlDsa87 | Algorithm::HashMlDsa87Sha512, _) => 4627,
        (Algorithm::SlhDsaSha2_128s, _) => 7856,
        (Algorithm::SlhDsaSha2_128f, _) => 17088,
        _ => 0,
    })
}

/// Longest DER `ECDSA-Sig-Value`: SEQUENCE header plus two INTEGERs of the order's length
/// and a leading zero each (P-256: 2 + 2 × 35 = 72; P-384: 2 + 2 × 51 = 104).
fn der_signature_len(alg: Algorithm) -> usize {
    match alg {
        Algorithm::EcdsaP256Sha256 => 72,
        Algorithm::EcdsaP384Sha384 => 104,
        _ => 0,
    }
}

/// The aws-lc DER (`ASN1`) signing and verification algorithms of an ECDSA algorithm.
fn ecdsa_der_algs(
    alg: Algorithm,
) -> Result<(
    &'static signature::EcdsaSigningAlgorithm,
    &'static signature::EcdsaVerificationAlgorithm,
)> {
    match alg {
        Algorithm::EcdsaP256Sha256 => Ok((
            &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            &signature::ECDSA_P256_SHA256_ASN1,
        )),
        Algorithm::EcdsaP384Sha384 => Ok((
            &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
            &signature::ECDSA_P384_SHA384_ASN1,
        )),
        _ => Err(Error::invalid_argument(
            "the DER signature format applies to ECDSA only",
        )),
    }
}

fn prehash_alg(alg: Algorithm) -> Option<&'static digest::Algorithm> {
    match alg {
        Algorithm::EcdsaP256Sha256 => Some(&digest::SHA256),
        Algorithm::EcdsaP384Sha384 => Some(&digest::SHA384),
        _ => rsa_params::pss_digest(alg),
    }
}

fn failed<E>(_: E) -> Error {
    Error::new(ErrorCode::OperationFailed, "signature operation failed")
}

/// Message accumulation shared by Sign and Verify.
struct Message {
    prehash: Option<&'static digest::Algorithm>,
    hasher: Option<digest::Context>,
    /// Ed25519ph: ed25519-dalek takes the SHA-512 state itself, so it hashes in RustCrypto's.
    ph: bool,
    ph_hasher: Option<sha2::Sha512>,
    buffer: Buffered,
}

enum Whole<'a> {
    Digest(digest::Digest),
    Sha512(sha2::Sha512),
    Bytes(&'a [u8]),
}

impl Message {
    fn new(alg: Algorithm, buffers: BufferSource) -> Self {
        Message {
            prehash: prehash_alg(alg),
            hasher: None,
            // Ed25519ph and HashML-DSA both stream through SHA-512.
            ph: alg == Algorithm::Ed25519ph || mldsa_ctx::is_hash(alg),
            ph_hasher: None,
            buffer: Buffered::new(buffers),
        }
    }

    fn start(&mut self) {
        use sha2::Digest;
        self.hasher = self.prehash.map(digest::Context::new);
        self.ph_hasher = self.ph.then(sha2::Sha512::new);
    }

    fn add(&mut self, input: &[u8]) -> Result<()> {
        use sha2::Digest;
        if let Some(h) = self.hasher.as_mut() {
            h.update(input);
            return Ok(());
        }
        if let Some(h) = self.ph_hasher.as_mut() {
            h.update(input);
            return Ok(());
        }
        self.buffer.extend(input)
    }

    /// The whole message: its digest (pre-hash algorithms) or the bytes (buffered ones).
    fn whole<'a>(&'a mut self, last: &'a [u8]) -> Result<Whole<'a>> {
        if let Some(mut h) = self.hasher.take() {
            h.update(last);
            return Ok(Whole::Digest(h.finish()));
        }
        if let Some(mut h) = self.ph_hasher.take() {
            sha2::Digest::update(&mut h, last);
            return Ok(Whole::Sha512(h));
        }
        if self.prehash.is_some() || self.ph {
            return Err(Error::from(ErrorCode::StreamNotInitialized));
        }
        if self.buffer.is_empty() {
            return Ok(Whole::Bytes(last));
        }
        self.add(last)?;
        Ok(Whole::Bytes(self.buffer.as_slice()))
    }

    fn clear(&mut self) {
        self.hasher = None;
        self.ph_hasher = None;
        self.buffer.release();
    }
}

pub(crate) struct SignEngine {
    alg: Algorithm,
    key: Arc<Key>,
    /// The same ECDSA key under aws-lc's DER signing algorithm, when the context asked for
    /// DER signatures (an aws-lc key pair is bound to one encoding at construction).
    der_pair: Option<EcdsaKeyPair>,
    /// Ed25519ph / ML-DSA: the context string (RFC 8032 / FIPS 204 `ctx`, empty by default).
    context: Vec<u8>,
    /// ML-DSA with a non-empty context or external μ: RustCrypto signs (aws-lc has the empty
    /// context only, and no μ entry).
    mldsa_ctx: Option<CtxSigner>,
    /// ML-DSA external μ: the message is the caller's 64-byte μ.
    external_mu: bool,
    /// RSA-PSS: the encoding with this context's hash and salt length.
    pss: Option<&'static signature::RsaSignatureEncoding>,
    msg: Message,
    sig_len: usize,
}

impl SignEngine {
    pub(crate) fn new(
        alg: Algorithm,
        key: Arc<Key>,
        options: &ContextOptions,
        buffers: BufferSource,
    ) -> Result<Self> {
        if key.is_public_only() {
            return Err(Error::new(
                ErrorCode::IncompatibleKeyType,
                "signing needs a private key",
            ));
        }
        let (der_pair, sig_len) = match (options.signature_format(), key.material()?) {
            (SignatureFormat::Der, Material::Ecdsa(k)) => {
                let (signing, _) = ecdsa_der_algs(alg)?;
                // The PKCS#8 document wipes itself on drop.
                let pkcs8 = k.to_pkcs8v1().map_err(failed)?;
                let pair = EcdsaKeyPair::from_pkcs8(signing, pkcs8.as_ref()).map_err(failed)?;
                (Some(pair), der_signature_len(alg))
            }
            (SignatureFormat::Der, _) => {
                return Err(Error::invalid_argument(
                    "the DER signature format applies to ECDSA only",
                ));
            }
            _ => (None, signature_len(alg, &key)?),
        };
        let mldsa_ctx = match key.material()? {
            Material::MlDsa(pair)
                if !options.signature_context().is_empty()
                    || options.external_mu()
                    || mldsa_ctx::is_hash(alg) =>
            {
                Some(CtxSigner::new(alg, pair)?)
            }
            _ => None,
        };
        let pss = if rsa_params::is_pss(alg) {
            Some(rsa_params::pss_signing(alg, options.pss_salt_len())?)
        } else {
            None
        };
        Ok(SignEngine {
            alg,
            msg: Message::new(alg, buffers),
            key,
            der_pair,
            context: options.signature_context().to_vec(),
            mldsa_ctx,
            external_mu: options.external_mu(),
            pss,
            sig_len,
        })
    }
}

fn copy(sig: &[u8], out: &mut [u8]) -> Result<usize> {
    out.get_mut(..sig.len())
        .ok_or_else(too_small)?
        .copy_from_slice(sig);
    Ok(sig.len())
}

fn sign_whole(
    key: &Key,
    pss: Option<&'static signature::RsaSignatureEncoding>,
    whole: Whole<'_>,
    out: &mut [u8],
) -> Result<usize> {
    match (key.material()?, whole) {
        (Material::Ecdsa(k), Whole::Digest(d)) => {
            copy(k.sign_digest(&d).map_err(failed)?.as_ref(), out)
        }
        (Material::Rsa { pair, .. }, Whole::Digest(d)) => {
            let encoding = pss.ok_or(Error::from(ErrorCode::InternalError))?;
            let n = pair.public_modulus_len();
            let dst = out.get_mut(..n).ok_or_else(too_small)?;
            pair.sign_digest(encoding, &d, dst).map_err(failed)?;
            Ok(n)
        }
        (Material::Ed25519(k), Whole::Bytes(m)) => {
            copy(k.try_sign(m).map_err(failed)?.as_ref(), out)
        }
        (Material::MlDsa(k), Whole::Bytes(m)) => k.sign(m, out).map_err(failed),
        (Material::SlhDsa128s(k), Whole::Bytes(m)) => {
            let rand = slh_randomizer()?;
            copy(
                &k.try_sign_with_context(m, &[], Some(&rand))
                    .map_err(failed)?
                    .to_bytes(),
                out,
            )
        }
        (Material::SlhDsa128f(k), Whole::Bytes(m)) => {
            let rand = slh_randomizer()?;
            copy(
                &k.try_sign_with_context(m, &[], Some(&rand))
                    .map_err(failed)?
                    .to_bytes(),
                out,
            )
        }
        _ => Err(Error::new(
            ErrorCode::IncompatibleKeyType,
            "key cannot sign with this algorithm",
        )),
    }
}

/// RFC 8032 Ed25519ph over the SHA-512 state `h` of the message, with context `ctx`. The
/// ed25519-dalek signing key is built from the aws-lc key's seed for this one signature and
/// wipes itself on drop.
fn ed25519ph_sign(key: &Key, h: sha2::Sha512, ctx: &[u8], out: &mut [u8]) -> Result<usize> {
    use aws_lc_rs::encoding::{AsBigEndian, Curve25519SeedBin};
    let Material::Ed25519(k) = key.material()? else {
        return Err(Error::new(
            ErrorCode::IncompatibleKeyType,
            "key cannot sign with this algorithm",
        ));
    };
    let seed: Curve25519SeedBin<'static> =
        k.seed().map_err(failed)?.as_be_bytes().map_err(failed)?;
    let bytes: zeroize::Zeroizing<[u8; 32]> =
        zeroize::Zeroizing::new(seed.as_ref().try_into().map_err(failed)?);
    let signing = ed25519_dalek::SigningKey::from_bytes(&bytes);
    let sig = signing.sign_prehashed(h, Some(ctx)).map_err(failed)?;
    copy(&sig.to_bytes(), out)
}

/// FIPS 205 hedged signing: `opt_rand` of `n` = 16 fresh bytes.
fn slh_randomizer() -> Result<[u8; 16]> {
    let mut r = [0u8; 16];
    SystemRandom::new().fill(&mut r).map_err(failed)?;
    Ok(r)
}

impl Engine for SignEngine {
    fn kind(&self) -> ContextKind {
        ContextKind::Sign
    }

    fn algorithm(&self) -> Option<Algorithm> {
        Some(self.alg)
    }

    fn start(&mut self, iv: &[u8]) -> Result<()> {
        if !iv.is_empty() {
            return Err(Error::invalid_argument("sign contexts take no IV"));
        }
        self.msg.start();
        Ok(())
    }

    fn update(&mut self, input: &[u8], _out: &mut [u8]) -> Result<usize> {
        self.msg.add(input)?;
        Ok(0)
    }

    /// With no separate last piece the message is signed where it lies (no buffering).
    fn finish_whole(&mut self, data: &[u8], last: &[u8], out: &mut [u8]) -> Result<usize> {
        if !last.is_empty() {
            self.msg.add(data)?;
            return self.finish(last, out);
        }
        self.finish(data, out)
    }

    fn finish(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize> {
        if out.len() < self.sig_len {
            return Err(too_small());
        }
        let whole = self.msg.whole(input)?;
        let r = match (&self.der_pair, whole) {
            (Some(pair), Whole::Digest(d)) => pair
                .sign_digest(&d)
                .map_err(failed)
                .and_then(|sig| copy(sig.as_ref(), out)),
            (Some(_), Whole::Bytes(_) | Whole::Sha512(_)) => {
                Err(Error::from(ErrorCode::InternalError))
            }
            (None, Whole::Sha512(h)) if mldsa_ctx::is_hash(self.alg) => match &self.mldsa_ctx {
                Some(s) => s
                    .sign_sha512(&sha2::Digest::finalize(h), &self.context)
                    .and_then(|sig| copy(&sig, out)),
                None => Err(Error::from(ErrorCode::IncompatibleKeyType)),
            },
            (None, Whole::Sha512(h)) => ed25519ph_sign(&self.key, h, &self.context, out),
            (None, Whole::Bytes(m)) if self.mldsa_ctx.is_some() => match &self.mldsa_ctx {
                Some(s) if self.external_mu => s.sign_mu(m).and_then(|sig| copy(&sig, out)),
                Some(s) => s.sign(m, &self.context).and_then(|sig| copy(&sig, out)),
                None => Err(Error::from(ErrorCode::InternalError)),
            },
            (None, whole) => sign_whole(&self.key, self.pss, whole, out),
        };
        self.msg.clear();
        r
    }

    fn clear(&mut self) {
        self.msg.clear();
    }

    fn max_output_len(&self, _input_len: usize) -> usize {
        self.sig_len
    }
}

/// The parsed public key a Verify context checks against.
enum Verifier {
    AwsLc(ParsedPublicKey),
    /// Ed25519ph public key and context string.
    Ed25519ph(Box<ed25519_dalek::VerifyingKey>, Vec<u8>),
    /// ML-DSA public key and a non-empty context string (RustCrypto `ml-dsa`).
    MlDsaCtx(CtxVerifier, Vec<u8>),
    /// ML-DSA public key for external μ: the message is μ.
    MlDsaMu(CtxVerifier),
    /// HashML-DSA-SHA512: the key, its encoding (for `tr`) and the context string.
    HashMlDsa(CtxVerifier, Vec<u8>, Vec<u8>),
    Slh128s(Box<slh_dsa::VerifyingKey<Sha2_128s>>),
    Slh128f(Box<slh_dsa::VerifyingKey<Sha2_128f>>),
}

pub(crate) struct VerifyEngine {
    alg: Algorithm,
    verifier: Verifier,
    msg: Message,
}

impl VerifyEngine {
    pub(crate) fn new(
        alg: Algorithm,
        key: &Key,
        options: &ContextOptions,
        buffers: BufferSource,
    ) -> Result<Self> {
        let raw = key.public_key(KeyFormat::Raw)?;
        fn bad<E>(_: E) -> Error {
            Error::new(ErrorCode::InvalidFormat, "public key rejected")
        }
        let verifier = match alg {
            Algorithm::Ed25519ph => {
                let arr: [u8; 32] = raw.as_slice().try_into().map_err(bad)?;
                Verifier::Ed25519ph(
                    Box::new(ed25519_dalek::VerifyingKey::from_bytes(&arr).map_err(bad)?),
                    options.signature_context().to_vec(),
                )
            }
            a if mldsa_ctx::is_hash(a) => Verifier::HashMlDsa(
                CtxVerifier::new(alg, &raw)?,
                raw.to_vec(),
                options.signature_context().to_vec(),
            ),
            Algorithm::MlDsa44 | Algorithm::MlDsa65 | Algorithm::MlDsa87
                if options.external_mu() =>
            {
                Verifier::MlDsaMu(CtxVerifier::new(alg, &raw)?)
            }
            Algorithm::MlDsa44 | Algorithm::MlDsa65 | Algorithm::MlDsa87
                if !options.signature_context().is_empty() =>
            {
                Verifier::MlDsaCtx(
                    CtxVerifier::new(alg, &raw)?,
                    options.signature_context().to_vec(),
                )
            }
            a if rsa_params::is_pss(a) => Verifier::AwsLc(
                ParsedPublicKey::new(
                    rsa_params::pss_verification(a, options.pss_salt_len())?,
                    &raw,
                )
                .map_err(bad)?,
            ),
            _ if options.signature_format() == SignatureFormat::Der => {
                let (_, valg) = ecdsa_der_algs(alg)?;
                Verifier::AwsLc(ParsedPublicKey::new(valg, &raw).map_err(bad)?)
            }
            Algorithm::SlhDsaSha2_128s => Verifier::Slh128s(Box::new(
                slh_dsa::VerifyingKey::try_from(raw.as_slice()).map_err(bad)?,
            )),
            Algorithm::SlhDsaSha2_128f => Verifier::Slh128f(Box::new(
                slh_dsa::VerifyingKey::try_from(raw.as_slice()).map_err(bad)?,
            )),
            _ => {
                let valg = verification_alg(alg)
                    .ok_or(Error::new(ErrorCode::UnsupportedAlgorithm, "no verifier"))?;
                Verifier::AwsLc(ParsedPublicKey::new(valg, &raw).map_err(bad)?)
            }
        };
        Ok(VerifyEngine {
            alg,
            verifier,
            msg: Message::new(alg, buffers),
        })
    }
}

fn verify_whole(verifier: &Verifier, whole: Whole<'_>, sig: &[u8]) -> Result<()> {
    fn bad<E>(_: E) -> Error {
        Error::new(ErrorCode::OperationFailed, "verification failed")
    }
    match (verifier, whole) {
        (Verifier::AwsLc(k), Whole::Digest(d)) => k.verify_digest_sig(&d, sig).map_err(bad),
        (Verifier::AwsLc(k), Whole::Bytes(m)) => k.verify_sig(m, sig).map_err(bad),
        // Strict: refuses small-order keys and non-canonical signatures (RFC 8032 5.1.7).
        (Verifier::MlDsaCtx(k, ctx), Whole::Bytes(m)) => k.verify(m, ctx, sig),
        (Verifier::MlDsaMu(k), Whole::Bytes(mu)) => k.verify_mu(mu, sig),
        (Verifier::HashMlDsa(k, pk, ctx), Whole::Sha512(h)) => {
            let mu = mldsa_ctx::hash_mu(pk, ctx, &sha2::Digest::finalize(h))?;
            k.verify_mu(&mu, sig)
        }
        (Verifier::Ed25519ph(k, ctx), Whole::Sha512(h)) => {
            let sig = ed25519_dalek::Signature::from_slice(sig).map_err(bad)?;
            k.verify_prehashed_strict(h, Some(ctx), &sig).map_err(bad)
        }
        (Verifier::Slh128s(k), Whole::Bytes(m)) => {
            let sig = slh_dsa::Signature::<Sha2_128s>::try_from(sig).map_err(bad)?;
            k.try_verify_with_context(m, &[], &sig).map_err(bad)
        }
        (Verifier::Slh128f(k), Whole::Bytes(m)) => {
            let sig = slh_dsa::Signature::<Sha2_128f>::try_from(sig).map_err(bad)?;
            k.try_verify_with_context(m, &[], &sig).map_err(bad)
        }
        _ => Err(Error::from(ErrorCode::InternalError)),
    }
}

impl Engine for VerifyEngine {
    fn kind(&self) -> ContextKind {
        ContextKind::Verify
    }

    fn algorithm(&self) -> Option<Algorithm> {
        Some(self.alg)
    }

    fn start(&mut self, iv: &[u8]) -> Result<()> {
        if !iv.is_empty() {
            return Err(Error::invalid_argument("verify contexts take no IV"));
        }
        self.msg.start();
        Ok(())
    }

    fn update(&mut self, input: &[u8], _out: &mut [u8]) -> Result<usize> {
        self.msg.add(input)?;
        Ok(0)
    }

    /// `data` is the (rest of the) message, `signature` the signature: verified where the
    /// message lies when nothing was buffered.
    fn finish_whole(&mut self, data: &[u8], signature: &[u8], _out: &mut [u8]) -> Result<usize> {
        let r = if self.msg.prehash.is_none() && !self.msg.ph && self.msg.buffer.is_empty() {
            verify_whole(&self.verifier, Whole::Bytes(data), signature)
        } else {
            self.msg.add(data).and_then(|()| {
                let whole = self.msg.whole(&[])?;
                verify_whole(&self.verifier, whole, signature)
            })
        };
        self.msg.clear();
        r.map(|()| 0)
    }

    /// `signature` is the signature to check; nothing is written to `out`.
    fn finish(&mut self, signature: &[u8], _out: &mut [u8]) -> Result<usize> {
        let whole = self.msg.whole(&[])?;
        let r = verify_whole(&self.verifier, whole, signature);
        self.msg.clear();
        r.map(|()| 0)
    }

    fn clear(&mut self) {
        self.msg.clear();
    }

    fn max_output_len(&self, _input_len: usize) -> usize {
        0
    }
}
