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
//! Signature encodings: ECDSA fixed-length `r || s` (IEEE P1363: 64 / 96 bytes), RSA-PSS with
//! MGF1-SHA256 and a 32-byte salt, Ed25519 (RFC 8032), ML-DSA pure mode with an empty context
//! (FIPS 204), SLH-DSA pure mode, empty context, hedged with 16 fresh random bytes (FIPS 205).

use std::sync::Arc;

use warden_crypto::context::{Buffered, Engine, too_small};
use warden_crypto::{BufferSource, ContextKind, Key};

use crate::material::{AwsLcKey as _, Material, verification_alg};
use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{self, ParsedPublicKey};
use slh_dsa::{Sha2_128f, Sha2_128s};
use warden_core::{Algorithm, Error, ErrorCode, KeyFormat, Result};

/// Signature length (maximum for RSA: the modulus length).
fn signature_len(alg: Algorithm, key: &Key) -> Result<usize> {
    Ok(match (alg, key.material()?) {
        (Algorithm::EcdsaP256Sha256 | Algorithm::Ed25519, _) => 64,
        (Algorithm::EcdsaP384Sha384, _) => 96,
        (Algorithm::RsaPssSha256, Material::Rsa { pair, .. }) => pair.public_modulus_len(),
        (Algorithm::RsaPssSha256, Material::Public(raw)) => raw.len(), // bound: PKCS#1 > modulus
        (Algorithm::MlDsa44, _) => 2420,
        (Algorithm::MlDsa65, _) => 3309,
        (Algorithm::MlDsa87, _) => 4627,
        (Algorithm::SlhDsaSha2_128s, _) => 7856,
        (Algorithm::SlhDsaSha2_128f, _) => 17088,
        _ => 0,
    })
}

fn prehash_alg(alg: Algorithm) -> Option<&'static digest::Algorithm> {
    match alg {
        Algorithm::EcdsaP256Sha256 | Algorithm::RsaPssSha256 => Some(&digest::SHA256),
        Algorithm::EcdsaP384Sha384 => Some(&digest::SHA384),
        _ => None,
    }
}

fn failed<E>(_: E) -> Error {
    Error::new(ErrorCode::OperationFailed, "signature operation failed")
}

/// Message accumulation shared by Sign and Verify.
struct Message {
    prehash: Option<&'static digest::Algorithm>,
    hasher: Option<digest::Context>,
    buffer: Buffered,
}

enum Whole<'a> {
    Digest(digest::Digest),
    Bytes(&'a [u8]),
}

impl Message {
    fn new(alg: Algorithm, buffers: BufferSource) -> Self {
        Message {
            prehash: prehash_alg(alg),
            hasher: None,
            buffer: Buffered::new(buffers),
        }
    }

    fn start(&mut self) {
        self.hasher = self.prehash.map(digest::Context::new);
    }

    fn add(&mut self, input: &[u8]) -> Result<()> {
        if let Some(h) = self.hasher.as_mut() {
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
        if self.prehash.is_some() {
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
        self.buffer.release();
    }
}

pub(crate) struct SignEngine {
    alg: Algorithm,
    key: Arc<Key>,
    msg: Message,
    sig_len: usize,
}

impl SignEngine {
    pub(crate) fn new(alg: Algorithm, key: Arc<Key>, buffers: BufferSource) -> Result<Self> {
        if key.is_public_only() {
            return Err(Error::new(
                ErrorCode::IncompatibleKeyType,
                "signing needs a private key",
            ));
        }
        let sig_len = signature_len(alg, &key)?;
        Ok(SignEngine {
            alg,
            msg: Message::new(alg, buffers),
            key,
            sig_len,
        })
    }
}

fn sign_whole(key: &Key, whole: Whole<'_>, out: &mut [u8]) -> Result<usize> {
    let copy = |sig: &[u8], out: &mut [u8]| -> Result<usize> {
        out.get_mut(..sig.len())
            .ok_or_else(too_small)?
            .copy_from_slice(sig);
        Ok(sig.len())
    };
    match (key.material()?, whole) {
        (Material::Ecdsa(k), Whole::Digest(d)) => {
            copy(k.sign_digest(&d).map_err(failed)?.as_ref(), out)
        }
        (Material::Rsa { pair, .. }, Whole::Digest(d)) => {
            let n = pair.public_modulus_len();
            let dst = out.get_mut(..n).ok_or_else(too_small)?;
            pair.sign_digest(&signature::RSA_PSS_SHA256, &d, dst)
                .map_err(failed)?;
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
        let r = sign_whole(&self.key, whole, out);
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
    Slh128s(Box<slh_dsa::VerifyingKey<Sha2_128s>>),
    Slh128f(Box<slh_dsa::VerifyingKey<Sha2_128f>>),
}

pub(crate) struct VerifyEngine {
    alg: Algorithm,
    verifier: Verifier,
    msg: Message,
}

impl VerifyEngine {
    pub(crate) fn new(alg: Algorithm, key: &Key, buffers: BufferSource) -> Result<Self> {
        let raw = key.public_key(KeyFormat::Raw)?;
        fn bad<E>(_: E) -> Error {
            Error::new(ErrorCode::InvalidFormat, "public key rejected")
        }
        let verifier = match alg {
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
        let r = if self.msg.prehash.is_none() && self.msg.buffer.is_empty() {
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
