//! ML-DSA with a non-empty context string (FIPS 204 section 5.2, `ctx`), which aws-lc-rs 1.19
//! cannot express (it signs and verifies with the empty context). RustCrypto `ml-dsa` does the
//! signing and verification; the key is the aws-lc key's FIPS 204 expanded private key (or its
//! public key), converted per context and wiped with it. Signing is hedged, as aws-lc's is: the
//! `rnd` of ML-DSA.Sign_internal is 32 fresh bytes from aws-lc's generator, and
//! `M' = 0 || len(ctx) || ctx || M` is FIPS 204 Algorithm 2's pure-mode encoding.
//!
//! Also external μ (issue 15): the caller hands over μ itself, which is signed and verified
//! as Algorithm 7 / 8 would from line 6 on. Every signature goes through μ here, because the
//! crate's only non-panicking signing entry that takes a prepared input is
//! `sign_mu_randomized` (`sign_internal` and `sign_mu_deterministic` `expect` on an exhausted
//! rejection loop).

use aws_lc_rs::encoding::AsRawBytes;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{KeyPair, PqdsaKeyPair};
use ml_dsa::{MlDsa44, MlDsa65, MlDsa87, MlDsaParams};
use shake::{ExtendableOutput, Update};
use warden_core::{Algorithm, Error, ErrorCode, ML_DSA_MU_LEN, Result};
use zeroize::Zeroize;

fn failed<E>(_: E) -> Error {
    Error::new(ErrorCode::OperationFailed, "signature operation failed")
}

fn bad<E>(_: E) -> Error {
    Error::new(ErrorCode::OperationFailed, "verification failed")
}

/// ml-dsa's 64-byte array (its own alias is private).
type Mu = ml_dsa::common::array::Array<u8, ml_dsa::common::typenum::U64>;

/// aws-lc's generator as the `rand_core` source `ml-dsa`'s fallible signing wants.
struct AwsLcRng;

impl ml_dsa::signature::rand_core::TryRng for AwsLcRng {
    type Error = core::fmt::Error;

    fn try_next_u32(&mut self) -> core::result::Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> core::result::Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> core::result::Result<(), Self::Error> {
        SystemRandom::new().fill(dst).map_err(|_| core::fmt::Error)
    }
}

impl ml_dsa::signature::rand_core::TryCryptoRng for AwsLcRng {}

/// SHAKE256 of `parts`, 64 bytes (FIPS 204's `H(·, 64)`).
fn h64(parts: &[&[u8]]) -> [u8; ML_DSA_MU_LEN] {
    let mut h = shake::Shake256::default();
    for p in parts {
        h.update(p);
    }
    let mut out = [0u8; ML_DSA_MU_LEN];
    h.finalize_xof_into(&mut out);
    out
}

/// μ of pure ML-DSA (FIPS 204 Algorithm 2 line 10 and Algorithm 7 line 6): with
/// `tr = H(pk, 64)`, `μ = H(tr ‖ 0 ‖ len(ctx) ‖ ctx ‖ M, 64)`.
pub(crate) fn pure_mu(public_key: &[u8], ctx: &[u8], msg: &[u8]) -> Result<[u8; ML_DSA_MU_LEN]> {
    let len = [0u8, u8::try_from(ctx.len()).map_err(failed)?];
    let tr = h64(&[public_key]);
    Ok(h64(&[&tr, &len, ctx, msg]))
}

/// DER of the SHA-512 OID (2.16.840.1.101.3.4.2.3), HashML-DSA's pre-hash tag.
const SHA512_OID: [u8; 11] = [
    0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03,
];

/// μ of HashML-DSA with SHA-512 (FIPS 204 Algorithm 4 lines 10-23): `M' = 1 ‖ len(ctx) ‖ ctx ‖
/// OID ‖ SHA-512(M)`, `μ = H(tr ‖ M', 64)`. The domain byte 1 and the OID keep a pre-hash
/// signature from ever verifying as a pure one (or under another hash).
pub(crate) fn hash_mu(public_key: &[u8], ctx: &[u8], sha512: &[u8]) -> Result<[u8; ML_DSA_MU_LEN]> {
    let len = [1u8, u8::try_from(ctx.len()).map_err(failed)?];
    let tr = h64(&[public_key]);
    Ok(h64(&[&tr, &len, ctx, &SHA512_OID, sha512]))
}

/// Whether `alg` is HashML-DSA (its keys are the ML-DSA keys of the same parameter set).
pub(crate) fn is_hash(alg: Algorithm) -> bool {
    matches!(
        alg,
        Algorithm::HashMlDsa44Sha512 | Algorithm::HashMlDsa65Sha512 | Algorithm::HashMlDsa87Sha512
    )
}

/// The parameter set of a (Hash)ML-DSA algorithm.
fn base(alg: Algorithm) -> Algorithm {
    match alg {
        Algorithm::HashMlDsa44Sha512 => Algorithm::MlDsa44,
        Algorithm::HashMlDsa65Sha512 => Algorithm::MlDsa65,
        Algorithm::HashMlDsa87Sha512 => Algorithm::MlDsa87,
        a => a,
    }
}

/// The caller's μ, which must be exactly 64 bytes (typed error otherwise).
fn mu_of(mu: &[u8]) -> Result<Mu> {
    Mu::try_from(mu)
        .map_err(|_| Error::invalid_argument("an external ML-DSA mu is exactly 64 bytes"))
}

/// A signing key of one parameter set with its public key (for `tr`).
pub(crate) enum CtxSigner {
    K44(Box<ml_dsa::ExpandedSigningKey<MlDsa44>>, Vec<u8>),
    K65(Box<ml_dsa::ExpandedSigningKey<MlDsa65>>, Vec<u8>),
    K87(Box<ml_dsa::ExpandedSigningKey<MlDsa87>>, Vec<u8>),
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

/// Hedged signing of a finished μ. `sign_mu_randomized` returns an error where
/// `sign_internal` / `sign_mu_deterministic` would panic (rejection sampling exhausted), so
/// no client input can abort the daemon here.
fn sign_mu<P: MlDsaParams>(k: &ml_dsa::ExpandedSigningKey<P>, mu: &Mu) -> Result<Vec<u8>> {
    let sig = k.sign_mu_randomized(mu, &mut AwsLcRng).map_err(failed)?;
    Ok(sig.encode().to_vec())
}

impl CtxSigner {
    pub(crate) fn new(alg: Algorithm, pair: &PqdsaKeyPair) -> Result<Self> {
        let raw = pair.private_key().as_raw_bytes().map_err(failed)?;
        let public = pair.public_key().as_ref().to_vec();
        Ok(match base(alg) {
            Algorithm::MlDsa44 => CtxSigner::K44(expanded::<MlDsa44>(raw.as_ref())?, public),
            Algorithm::MlDsa65 => CtxSigner::K65(expanded::<MlDsa65>(raw.as_ref())?, public),
            Algorithm::MlDsa87 => CtxSigner::K87(expanded::<MlDsa87>(raw.as_ref())?, public),
            _ => return Err(Error::from(ErrorCode::InternalError)),
        })
    }

    fn public(&self) -> &[u8] {
        match self {
            CtxSigner::K44(_, p) | CtxSigner::K65(_, p) | CtxSigner::K87(_, p) => p,
        }
    }

    /// Signs `msg` under `ctx` (1..=255 bytes, checked by `ContextOptions`); returns the
    /// encoded signature.
    pub(crate) fn sign(&self, msg: &[u8], ctx: &[u8]) -> Result<Vec<u8>> {
        let mu = pure_mu(self.public(), ctx, msg)?;
        self.sign_mu(&mu)
    }

    /// HashML-DSA: signs the SHA-512 digest of the message under `ctx`.
    pub(crate) fn sign_sha512(&self, digest: &[u8], ctx: &[u8]) -> Result<Vec<u8>> {
        let mu = hash_mu(self.public(), ctx, digest)?;
        self.sign_mu(&mu)
    }

    /// Signs the caller's μ (external μ): `InvalidArgument` unless it is 64 bytes.
    pub(crate) fn sign_mu(&self, mu: &[u8]) -> Result<Vec<u8>> {
        let mu = mu_of(mu)?;
        match self {
            CtxSigner::K44(k, _) => sign_mu(k, &mu),
            CtxSigner::K65(k, _) => sign_mu(k, &mu),
            CtxSigner::K87(k, _) => sign_mu(k, &mu),
        }
    }
}

fn verifying<P: MlDsaParams>(raw: &[u8]) -> Result<Box<ml_dsa::VerifyingKey<P>>> {
    let enc = ml_dsa::EncodedVerifyingKey::<P>::try_from(raw)
        .map_err(|_| Error::new(ErrorCode::InvalidFormat, "public key rejected"))?;
    Ok(Box::new(ml_dsa::VerifyingKey::<P>::decode(&enc)))
}

fn decoded<P: MlDsaParams>(sig: &[u8]) -> Option<ml_dsa::Signature<P>> {
    let enc = ml_dsa::EncodedSignature::<P>::try_from(sig).ok()?;
    ml_dsa::Signature::<P>::decode(&enc)
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
        Ok(match base(alg) {
            Algorithm::MlDsa44 => CtxVerifier::K44(verifying::<MlDsa44>(raw_public)?),
            Algorithm::MlDsa65 => CtxVerifier::K65(verifying::<MlDsa65>(raw_public)?),
            Algorithm::MlDsa87 => CtxVerifier::K87(verifying::<MlDsa87>(raw_public)?),
            _ => return Err(Error::from(ErrorCode::InternalError)),
        })
    }

    /// Verifies `sig` over the caller's μ: `InvalidArgument` unless it is 64 bytes,
    /// `OperationFailed` when the signature does not verify.
    pub(crate) fn verify_mu(&self, mu: &[u8], sig: &[u8]) -> Result<()> {
        let mu = mu_of(mu)?;
        let ok = match self {
            CtxVerifier::K44(k) => decoded(sig).is_some_and(|s| k.verify_mu(&mu, &s)),
            CtxVerifier::K65(k) => decoded(sig).is_some_and(|s| k.verify_mu(&mu, &s)),
            CtxVerifier::K87(k) => decoded(sig).is_some_and(|s| k.verify_mu(&mu, &s)),
        };
        if ok { Ok(()) } else { Err(bad(())) }
    }

    pub(crate) fn verify(&self, msg: &[u8], ctx: &[u8], sig: &[u8]) -> Result<()> {
        match self {
            CtxVerifier::K44(k) => check(k, msg, ctx, sig),
            CtxVerifier::K65(k) => check(k, msg, ctx, sig),
            CtxVerifier::K87(k) => check(k, msg, ctx, sig),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ml_dsa::MlDsa65;

    // Our μ is the crate's own μ (its `compute_mu` is FIPS 204 Algorithm 2 line 10), and a
    // signature of our μ verifies as the crate's ordinary ML-DSA signature of the message.
    #[test]
    fn pure_mu_is_the_crates_mu_and_signs_ordinarily() {
        let kp = ml_dsa::SigningKey::<MlDsa65>::from_seed(&[7u8; 32].into());
        let vk = kp.expanded_key().verifying_key();
        let pk = vk.encode();
        let (ctx, msg) = (&b"warden"[..], &b"message"[..]);
        let ours = pure_mu(pk.as_slice(), ctx, msg).unwrap();
        let theirs = vk
            .compute_mu(
                |h| {
                    h.update(msg);
                    Ok(())
                },
                ctx,
            )
            .unwrap();
        assert_eq!(ours.as_slice(), theirs.as_slice());
        let signer = CtxSigner::K65(Box::new(kp.expanded_key().clone()), pk.to_vec());
        let sig = signer.sign_mu(&ours).unwrap();
        let enc = ml_dsa::EncodedSignature::<MlDsa65>::try_from(sig.as_slice()).unwrap();
        let sig = ml_dsa::Signature::<MlDsa65>::decode(&enc).unwrap();
        assert!(vk.verify_with_context(msg, ctx, &sig));
        assert!(!vk.verify_with_context(msg, b"other", &sig));
        // HashML-DSA's μ differs from the pure one for the same bytes (domain byte 1).
        assert_ne!(hash_mu(pk.as_slice(), ctx, msg).unwrap(), ours);
        for len in [0, 63, 65] {
            let e = signer.sign_mu(&vec![0; len]).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidArgument);
        }
    }
}
