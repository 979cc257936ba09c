//! Key derivation functions, each writing into a caller buffer.
//!
//! The primitives are aws-lc's: HKDF (`hkdf`), PBKDF2 (`pbkdf2`), the TLS 1.2 PRF
//! (`tls_prf`) and SP 800-108 counter-mode KBKDF (`kdf::kbkdf_ctr_hmac`). The constructions
//! written here are only the input encodings: TLS 1.3 `HkdfLabel` (RFC 8446 section 7.1) and
//! the SP 800-108 fixed input `Label || 0x00 || Context || [L]_32`. Each function is checked
//! against published vectors in `tests/kdf_vectors.rs`.

use core::num::NonZeroU32;

use aws_lc_rs::hkdf;
use aws_lc_rs::kdf::{KbkdfCtrHmacAlgorithmId, get_kbkdf_ctr_hmac_algorithm, kbkdf_ctr_hmac};
use aws_lc_rs::pbkdf2;
use aws_lc_rs::tls_prf;
use warden_core::{Algorithm, Error, ErrorCode, KdfParameters, Result};

fn failed<E>(_: E) -> Error {
    Error::new(ErrorCode::KeyDerivationFailed, "key derivation failed")
}

/// HKDF output length for aws-lc's typed `expand` API.
struct OutLen(usize);

impl hkdf::KeyType for OutLen {
    fn len(&self) -> usize {
        self.0
    }
}

fn hkdf_alg(hash: Algorithm) -> Result<hkdf::Algorithm> {
    match hash {
        Algorithm::Sha256 => Ok(hkdf::HKDF_SHA256),
        Algorithm::Sha384 => Ok(hkdf::HKDF_SHA384),
        Algorithm::Sha512 => Ok(hkdf::HKDF_SHA512),
        _ => Err(Error::invalid_argument(
            "HKDF hash must be SHA-256, SHA-384 or SHA-512",
        )),
    }
}

/// HKDF (RFC 5869) extract-then-expand: fills `out` (at most 255 hash lengths).
pub fn hkdf(hash: Algorithm, ikm: &[u8], salt: &[u8], info: &[u8], out: &mut [u8]) -> Result<()> {
    let prk = hkdf::Salt::new(hkdf_alg(hash)?, salt).extract(ikm);
    let info = [info];
    let okm = prk.expand(&info, OutLen(out.len())).map_err(failed)?;
    okm.fill(out).map_err(failed)
}

/// HKDF-Expand only (RFC 5869 section 2.3), `prk` being an already extracted key.
pub fn hkdf_expand(hash: Algorithm, prk: &[u8], info: &[&[u8]], out: &mut [u8]) -> Result<()> {
    let prk = hkdf::Prk::new_less_safe(hkdf_alg(hash)?, prk);
    let okm = prk.expand(info, OutLen(out.len())).map_err(failed)?;
    okm.fill(out).map_err(failed)
}

/// PBKDF2-HMAC-SHA256 (RFC 8018) with `iterations >= 1`.
pub fn pbkdf2_hmac_sha256(
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    out: &mut [u8],
) -> Result<()> {
    let iterations = NonZeroU32::new(iterations).ok_or(Error::invalid_argument(
        "PBKDF2 needs at least one iteration",
    ))?;
    if out.is_empty() {
        return Err(Error::invalid_argument("empty KDF output"));
    }
    pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA256, iterations, salt, password, out);
    Ok(())
}

/// PBKDF2 iterations between two looks at the caller's deadline: about 0.5 ms of work, so
/// a request past its deadline stops within a millisecond (issue 12).
pub const PBKDF2_CHUNK: u32 = 1024;

/// [`pbkdf2_hmac_sha256`] that gives up with `OperationTimedOut` (leaving `out` zeroed) as
/// soon as `expired()` says so, asked before the first iteration and every
/// [`PBKDF2_CHUNK`] iterations.
///
/// aws-lc's `pbkdf2::derive` runs all iterations in one call that cannot be interrupted,
/// so this is RFC 8018 section 5.2 written over RustCrypto's HMAC-SHA256 (`hmac`, `sha2`):
/// `T_i = U_1 ^ ... ^ U_c`, `U_1 = HMAC(P, S || INT(i))`, `U_j = HMAC(P, U_{j-1})`. Only the
/// iteration structure is ours; it is checked against the RFC 7914 section 11 vectors and
/// against `pbkdf2::derive` on random inputs (`tests/kat_kdf.rs`).
pub fn pbkdf2_hmac_sha256_within(
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    out: &mut [u8],
    expired: &dyn Fn() -> bool,
) -> Result<()> {
    let iterations = NonZeroU32::new(iterations).ok_or(Error::invalid_argument(
        "PBKDF2 needs at least one iteration",
    ))?;
    if out.is_empty() {
        return Err(Error::invalid_argument("empty KDF output"));
    }
    let result = pbkdf2_blocks(password, salt, iterations.get(), out, expired);
    if result.is_err() {
        out.fill(0);
    }
    result
}

fn pbkdf2_blocks(
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    out: &mut [u8],
    expired: &dyn Fn() -> bool,
) -> Result<()> {
    const H: usize = 32; // SHA-256 output
    let timed_out = || Error::new(ErrorCode::OperationTimedOut, "deadline passed");
    if expired() {
        return Err(timed_out());
    }
    // The key schedule (inner and outer padded states) is computed once and each tag resets
    // to it. RustCrypto's HMAC-SHA256 here, not aws-lc's: an aws-lc HMAC per iteration pays
    // an FFI call and a context set-up each time (1.67x aws-lc's one-shot PBKDF2), where
    // this loop takes 0.95x of it (benches/pbkdf2.rs). States are zeroized on drop.
    let mac = <hmac::HmacReset<sha2::Sha256> as hmac::KeyInit>::new_from_slice(password)
        .map_err(failed)?;
    // U_{j-1} and the running XOR live in wiped buffers: no copy of either is left behind.
    let mut u = zeroize::Zeroizing::new([0u8; H]);
    let mut t = zeroize::Zeroizing::new([0u8; H]);
    for (i, block) in out.chunks_mut(H).enumerate() {
        // dkLen is bounded far below 2^32 blocks by the caller; refuse rather than wrap.
        let index = u32::try_from(i + 1).map_err(|_| Error::invalid_argument("output_len"))?;
        let mut first = mac.clone();
        hmac::Mac::update(&mut first, salt);
        hmac::Mac::update(&mut first, &index.to_be_bytes());
        u.copy_from_slice(&hmac::Mac::finalize(first).into_bytes());
        t.copy_from_slice(u.as_slice());
        // One working copy, reset to the keyed state after each tag (no clone, and so no
        // zeroizing drop, per iteration).
        let mut m = mac.clone();
        for j in 1..iterations {
            if j % PBKDF2_CHUNK == 0 && expired() {
                return Err(timed_out());
            }
            hmac::Mac::update(&mut m, u.as_slice());
            u.copy_from_slice(&hmac::Mac::finalize_reset(&mut m).into_bytes());
            for (a, b) in t.iter_mut().zip(u.iter()) {
                *a ^= b;
            }
        }
        let n = block.len();
        block.copy_from_slice(t.get(..n).ok_or(failed(()))?);
    }
    Ok(())
}

/// The TLS 1.2 PRF with SHA-256 (RFC 5246 section 5): `P_SHA256(secret, label || seed)`.
pub fn tls12_prf_sha256(secret: &[u8], label: &[u8], seed: &[u8], out: &mut [u8]) -> Result<()> {
    let s = tls_prf::Secret::new(&tls_prf::P_SHA256, secret).map_err(failed)?;
    let derived = s.derive(label, seed, out.len()).map_err(failed)?;
    let bytes = derived.as_ref();
    if bytes.len() != out.len() {
        return Err(failed(()));
    }
    out.copy_from_slice(bytes);
    Ok(())
}

/// Longest TLS 1.3 label without the `"tls13 "` prefix (the encoded label is at most 255).
pub const TLS13_MAX_LABEL_LEN: usize = 255 - TLS13_LABEL_PREFIX.len();
const TLS13_LABEL_PREFIX: &[u8] = b"tls13 ";

/// TLS 1.3 `HKDF-Expand-Label(secret, label, context, out.len())` with SHA-256
/// (RFC 8446 section 7.1). `label` excludes the `"tls13 "` prefix, which is added here.
///
/// `HkdfLabel` is passed to HKDF-Expand as separate info pieces, so nothing is allocated.
pub fn tls13_expand_label_sha256(
    secret: &[u8],
    label: &[u8],
    context: &[u8],
    out: &mut [u8],
) -> Result<()> {
    let out_len =
        u16::try_from(out.len()).map_err(|_| Error::invalid_argument("TLS 1.3 output too long"))?;
    let label_len = u8::try_from(TLS13_LABEL_PREFIX.len() + label.len())
        .map_err(|_| Error::invalid_argument("TLS 1.3 label longer than 249 bytes"))?;
    let context_len = u8::try_from(context.len())
        .map_err(|_| Error::invalid_argument("TLS 1.3 context longer than 255 bytes"))?;
    let length = out_len.to_be_bytes();
    let label_len = [label_len];
    let context_len = [context_len];
    let info: [&[u8]; 6] = [
        &length,
        &label_len,
        TLS13_LABEL_PREFIX,
        label,
        &context_len,
        context,
    ];
    hkdf_expand(Algorithm::Sha256, secret, &info, out)
}

/// SP 800-108r1 KDF in counter mode, HMAC-SHA256 PRF, 32-bit big-endian counter placed
/// before the fixed input (the NIST CAVP `BEFORE_FIXED`, `RLEN=32_BITS` configuration).
/// `fixed_input` is used verbatim.
pub fn sp800_108_ctr_hmac_sha256_fixed(
    key: &[u8],
    fixed_input: &[u8],
    out: &mut [u8],
) -> Result<()> {
    let alg = get_kbkdf_ctr_hmac_algorithm(KbkdfCtrHmacAlgorithmId::Sha256).ok_or(failed(()))?;
    kbkdf_ctr_hmac(alg, key, fixed_input, out).map_err(failed)
}

/// SP 800-108r1 counter mode with the fixed input of its section 4:
/// `Label || 0x00 || Context || [L]_32` where `L` is the output length in bits (big endian).
pub fn sp800_108_ctr_hmac_sha256(
    key: &[u8],
    label: &[u8],
    context: &[u8],
    out: &mut [u8],
) -> Result<()> {
    let bits = out
        .len()
        .checked_mul(8)
        .and_then(|b| u32::try_from(b).ok())
        .ok_or(Error::invalid_argument("SP 800-108 output too long"))?;
    let mut fixed = zeroize::Zeroizing::new(Vec::with_capacity(label.len() + context.len() + 5));
    fixed.extend_from_slice(label);
    fixed.push(0);
    fixed.extend_from_slice(context);
    fixed.extend_from_slice(&bits.to_be_bytes());
    sp800_108_ctr_hmac_sha256_fixed(key, &fixed, out)
}

/// Runs the KDF described by `params` over `secret`, filling `out`.
pub fn derive(params: &KdfParameters, secret: &[u8], out: &mut [u8]) -> Result<()> {
    derive_within(params, secret, out, &|| false)
}

/// [`derive()`] under a deadline: PBKDF2 (the only KDF with a caller-chosen work factor) stops
/// with `OperationTimedOut` once `expired()` says so; the others take microseconds and
/// run whole. `expired()` is asked before any work starts.
pub fn derive_within(
    params: &KdfParameters,
    secret: &[u8],
    out: &mut [u8],
    expired: &dyn Fn() -> bool,
) -> Result<()> {
    if expired() {
        return Err(Error::new(ErrorCode::OperationTimedOut, "deadline passed"));
    }
    match params {
        KdfParameters::Hkdf { hash, salt, info } => hkdf(*hash, secret, salt, info, out),
        KdfParameters::Pbkdf2 { salt, iterations } => {
            pbkdf2_hmac_sha256_within(secret, salt, *iterations, out, expired)
        }
        KdfParameters::Tls12Prf { label, seed } => tls12_prf_sha256(secret, label, seed, out),
        KdfParameters::Tls13ExpandLabel { label, context } => {
            tls13_expand_label_sha256(secret, label, context, out)
        }
        KdfParameters::Sp800108CounterHmac { label, context } => {
            sp800_108_ctr_hmac_sha256(secret, label, context, out)
        }
        _ => Err(Error::new(ErrorCode::UnsupportedAlgorithm, "unknown KDF")),
    }
}
