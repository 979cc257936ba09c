//! AES key wrap: KW (RFC 3394 / SP 800-38F) and KWP (RFC 5649) under 128, 192 and 256-bit
//! key-encryption keys.
//!
//! aws-lc-rs serves AES-128 and AES-256; its `key_wrap` module has no AES-192 block cipher, so
//! AES-192 uses RustCrypto `aes-kw` (same NIST construction, constant-time `aes` crate, no
//! hand-rolled code). Both paths apply the same length rules, so a wrapped blob is accepted or
//! refused alike whichever library serves the key size.

use aes_kw::KeyInit;
use aws_lc_rs::key_wrap::{
    AES_128, AES_256, AesBlockCipher, KeyEncryptionKey, KeyWrap, KeyWrapPadded,
};
use warden_core::{Algorithm, Error, ErrorCode, Result};
use zeroize::Zeroizing;

/// Semiblock (KW integrity value) length.
const SEMIBLOCK: usize = 8;
/// Largest secret this crate wraps (matches every key type's bound with room to spare).
const MAX_WRAPPED: usize = 64 * 1024;

fn failed<E>(_: E) -> Error {
    Error::new(ErrorCode::WrapUnwrapFailed, "key wrap failed")
}

/// Whether `alg` pads (KWP) and the key length of its KEK.
fn shape(alg: Algorithm) -> Result<(bool, usize)> {
    use Algorithm as A;
    Ok(match alg {
        A::Aes128Kw => (false, 16),
        A::Aes192Kw => (false, 24),
        A::Aes256Kw => (false, 32),
        A::Aes128Kwp => (true, 16),
        A::Aes192Kwp => (true, 24),
        A::Aes256Kwp => (true, 32),
        _ => {
            return Err(Error::new(
                ErrorCode::UnsupportedAlgorithm,
                "wrap algorithms are AES-128/192/256-KW and -KWP",
            ));
        }
    })
}

fn aws_cipher(key_len: usize) -> Option<&'static AesBlockCipher> {
    match key_len {
        16 => Some(&AES_128),
        32 => Some(&AES_256),
        _ => None,
    }
}

/// Wraps `secret` under `kek` with `alg`.
pub(crate) fn wrap(alg: Algorithm, kek: &[u8], secret: &[u8]) -> Result<Vec<u8>> {
    let (padded, key_len) = shape(alg)?;
    if kek.len() != key_len {
        return Err(Error::new(
            ErrorCode::IncompatibleKeyType,
            "key-encryption key has the wrong length",
        ));
    }
    if !padded && (secret.len() < 16 || !secret.len().is_multiple_of(SEMIBLOCK)) {
        return Err(Error::invalid_argument(
            "AES-KW wraps multiples of 8 bytes (>= 16); use AES-KWP",
        ));
    }
    if secret.is_empty() || secret.len() > MAX_WRAPPED {
        return Err(Error::invalid_argument("nothing to wrap, or too much"));
    }
    // KWP pads to a multiple of 8, then both add one semiblock.
    let mut out = vec![0u8; secret.len().div_ceil(SEMIBLOCK) * SEMIBLOCK + SEMIBLOCK];
    let n = match (aws_cipher(key_len), padded) {
        (Some(c), false) => {
            let k = KeyEncryptionKey::new(c, kek).map_err(failed)?;
            k.wrap(secret, &mut out).map_err(failed)?.len()
        }
        (Some(c), true) => {
            let k = KeyEncryptionKey::new(c, kek).map_err(failed)?;
            k.wrap_with_padding(secret, &mut out).map_err(failed)?.len()
        }
        (None, false) => aes_kw::KwAes192::new_from_slice(kek)
            .map_err(failed)?
            .wrap_key(secret, &mut out)
            .map_err(failed)?
            .len(),
        (None, true) => aes_kw::KwpAes192::new_from_slice(kek)
            .map_err(failed)?
            .wrap_key(secret, &mut out)
            .map_err(failed)?
            .len(),
    };
    out.truncate(n);
    Ok(out)
}

/// Unwraps `wrapped` under `kek` with `alg`; every failure (length, integrity) is the same
/// opaque `WrapUnwrapFailed`.
pub(crate) fn unwrap(alg: Algorithm, kek: &[u8], wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let (padded, key_len) = shape(alg)?;
    if kek.len() != key_len {
        return Err(Error::new(
            ErrorCode::IncompatibleKeyType,
            "key-encryption key has the wrong length",
        ));
    }
    // RFC 3394 wraps at least two semiblocks (24 bytes out); RFC 5649 at least one (16 out).
    let min = if padded { 2 * SEMIBLOCK } else { 3 * SEMIBLOCK };
    if wrapped.len() < min
        || !wrapped.len().is_multiple_of(SEMIBLOCK)
        || wrapped.len() > MAX_WRAPPED + 2 * SEMIBLOCK
    {
        return Err(failed(()));
    }
    let mut out = Zeroizing::new(vec![0u8; wrapped.len()]);
    let n = match (aws_cipher(key_len), padded) {
        (Some(c), false) => {
            let k = KeyEncryptionKey::new(c, kek).map_err(failed)?;
            k.unwrap(wrapped, &mut out).map_err(failed)?.len()
        }
        (Some(c), true) => {
            let k = KeyEncryptionKey::new(c, kek).map_err(failed)?;
            k.unwrap_with_padding(wrapped, &mut out)
                .map_err(failed)?
                .len()
        }
        (None, false) => aes_kw::KwAes192::new_from_slice(kek)
            .map_err(failed)?
            .unwrap_key(wrapped, &mut out)
            .map_err(failed)?
            .len(),
        (None, true) => aes_kw::KwpAes192::new_from_slice(kek)
            .map_err(failed)?
            .unwrap_key(wrapped, &mut out)
            .map_err(failed)?
            .len(),
    };
    out.truncate(n);
    Ok(out)
}
