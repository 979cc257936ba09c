//! ML-DSA with a non-empty context string (FIPS 204 section 5.2, `ctx`), which aws-lc-rs 1.19
//! cannot express (it signs and verifies with the empty context). RustCrypto `ml-dsa` does the
//! signing and verification; the key is the aws-lc key's FIPS 204 expanded private key (or its
//! public key), converted per context and wiped with it. Signing is hedged, as aws-lc's is: the
//! `rnd` of ML-DSA.Sign_internal is 32 fresh bytes from aws-lc's generator, and
//! `M' = 0 || len(ctx) || ctx || M` is FIPS 204 Algorithm 2's pure-mode encoding.

use aws_lc_rs::encoding::AsRawBytes;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::PqdsaKeyPair;
use ml_dsa::{MlDsa44, MlDsa65, MlDsa87, MlDsaParams};
use warden_core::{Algorithm, Error, ErrorCode, Result};
use zeroize::Zeroize;

fn failed<E>(_: E) -> Error {
    Error::new(ErrorCode::OperationFailed, "signature operation failed")
}

fn bad<E>(_: E) -> Error {
    Error::new(ErrorCode::OperationFailed, "verification failed")
}

/// A signing key of one parameter set.
pub(crate) enum CtxSigner {
    K44(Box<ml_dsa::ExpandedSigningKey<MlDsa44>>),
    K65(Box<ml_dsa::ExpandedSigningKey<MlDsa65>>),
    K87(Box<ml_dsa::ExpandedSigningKey<MlDsa87>>),
}

/// A verifying key of one parameter set.
pub(crate) enum CtxVerifier {
    K44(Box<ml_dsa::VerifyingKey<MlDsa44>>),
    K65(Box<ml_dsa::VerifyingKey<MlDsa65>>),
    K87(Box<ml_dsa::VerifyingKey<MlDsa87>>),
}

// `from_expanded` is deprecated as a way to keep keys; here it only takes aws-lc's key over.
#[allow(deprecated)]
fn expanded<P: MlDsaParams>(raw: &[u8]) -> Result<Box<ml_dsa::ExpandedSigningKey<P>>> {
    let enc = ml_dsa::ExpandedSigningKeyBytes::<P>::try_from(raw).map_err(failed)?;
    let key = Box::new(ml_dsa::ExpandedSigningKey::<P>::from_expanded(&enc));
    let mut enc = enc;
    enc.as_mut_slice().zeroize();
    Ok(key)
}

impl CtxSigner {
    pub(crate) fn new(alg: Algorithm, pair: &PqdsaKeyPair) -> Result<Self> {
        let raw = pair.private_key().as_raw_bytes().map_err(failed)?;
        Ok(match alg {
            Algorithm::MlDsa44 => CtxSigner::K44(expanded::<MlDsa44>(raw.as_ref())?),
            Algorithm::MlDsa65 => CtxSigner::K65(expanded::<MlDsa65>(raw.as_ref())?),
            Algorithm::MlDsa87 => CtxSigner::K87(expanded::<MlDsa87>(raw.as_ref())?),
            _ => return Err(Error::from(ErrorCode::InternalError)),
        })
    }

    /// Signs `msg` under `ctx` (1..=255 bytes, checked by `ContextOptions`); returns the
    /// encoded signature.
    pub(crate) fn sign(&self, msg: &[u8], ctx: &[u8]) -> Result<Vec<u8>> {
        let len = [0u8, u8::try_from(ctx.len()).map_err(failed)?];
        let mut rnd = ml_dsa::B32::default();
        SystemRandom::new()
            .fill(rnd.as_mut_slice())
            .map_err(failed)?;
        let parts: [&[u8]; 3] = [&len, ctx, msg];
        let sig = match self {
            CtxSigner::K44(k) => k.sign_internal(&parts, &rnd).encode().to_vec(),
            CtxSigner::K65(k) => k.sign_internal(&parts, &rnd).encode().to_vec(),
            CtxSigner::K87(k) => k.sign_internal(&parts, &rnd).encode().to_vec(),
        };
        rnd.as_mut_slice().zeroize();
        Ok(sig)
    }
}

fn verifying<P: MlDsaParams>(raw: &[u8]) -> Result<Box<ml_dsa::VerifyingKey<P>>> {
    let enc = ml_dsa::EncodedVerifyingKey::<P>::try_from(raw)
        .map_err(|_| Error::new(ErrorCode::InvalidFormat, "public key rejected"))?;
    Ok(Box::new(ml_dsa::VerifyingKey::<P>::decode(&enc)))
}

fn check<P: MlDsaParams>(
    k: &ml_dsa::VerifyingKey<P>,
    msg: &[u8],
    ctx: &[u8],
    sig: &[u8],
) -> Result<()> {
    let enc = ml_dsa::EncodedSignature::<P>::try_from(sig).map_err(bad)?;
    let sig = ml_dsa::Signature::<P>::decode(&enc).ok_or_else(|| bad(()))?;
    if k.verify_with_context(msg, ctx, &sig) {
        Ok(())
    } else {
        Err(bad(()))
    }
}

impl CtxVerifier {
    pub(crate) fn new(alg: Algorithm, raw_public: &[u8]) -> Result<Self> {
        Ok(match alg {
            Algorithm::MlDsa44 => CtxVerifier::K44(verifying::<MlDsa44>(raw_public)?),
            Algorithm::MlDsa65 => CtxVerifier::K65(verifying::<MlDsa65>(raw_public)?),
            Algorithm::MlDsa87 => CtxVerifier::K87(verifying::<MlDsa87>(raw_public)?),
            _ => return Err(Error::from(ErrorCode::InternalError)),
        })
    }

    pub(crate) fn verify(&self, msg: &[u8], ctx: &[u8], sig: &[u8]) -> Result<()> {
        match self {
            CtxVerifier::K44(k) => check(k, msg, ctx, sig),
            CtxVerifier::K65(k) => check(k, msg, ctx, sig),
            CtxVerifier::K87(k) => check(k, msg, ctx, sig),
        }
    }
}
