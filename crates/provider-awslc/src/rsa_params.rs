//! RSA parameter choices: RSASSA-PSS encodings per hash and salt length, RSAES-OAEP per hash.
//!
//! aws-lc-rs takes PSS parameters as `&'static` values, so a salt length chosen per context
//! cannot be built at run time. Instead every salt length 0..=[`MAX_PSS_SALT_LEN`] is
//! precomputed here, at compile time, for each hash (sign and verify), and a context picks
//! its entry. MGF1 always uses the message hash (aws-lc-rs's PSS and OAEP constants).

use aws_lc_rs::digest;
use aws_lc_rs::rsa::{
    OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OAEP_SHA384_MGF1SHA384, OAEP_SHA512_MGF1SHA512,
    OaepAlgorithm,
};
use aws_lc_rs::signature::{
    self, RsaParameters, RsaPssSaltLength, RsaSignatureEncoding, VerificationAlgorithm,
};
use warden_core::{Algorithm, Error, ErrorCode, MAX_PSS_SALT_LEN, Result};

const SALTS: usize = MAX_PSS_SALT_LEN as usize + 1;

macro_rules! salt_table {
    ($name:ident: $ty:ty = $base:path) => {
        // Every entry is `$base` with salt length `i`; built at compile time.
        #[allow(clippy::indexing_slicing, clippy::cast_possible_truncation)]
        static $name: [$ty; SALTS] = {
            let mut t = [$base; SALTS];
            let mut i = 0;
            while i < SALTS {
                t[i] = $base.with_pss_salt_length(RsaPssSaltLength::Custom(i as u16));
                i += 1;
            }
            t
        };
    };
}

salt_table!(SIGN_SHA256: RsaSignatureEncoding = signature::RSA_PSS_SHA256);
salt_table!(SIGN_SHA384: RsaSignatureEncoding = signature::RSA_PSS_SHA384);
salt_table!(SIGN_SHA512: RsaSignatureEncoding = signature::RSA_PSS_SHA512);
salt_table!(VERIFY_SHA256: RsaParameters = signature::RSA_PSS_2048_8192_SHA256);
salt_table!(VERIFY_SHA384: RsaParameters = signature::RSA_PSS_2048_8192_SHA384);
salt_table!(VERIFY_SHA512: RsaParameters = signature::RSA_PSS_2048_8192_SHA512);

fn not_pss() -> Error {
    Error::new(ErrorCode::UnsupportedAlgorithm, "not an RSA-PSS algorithm")
}

fn salt_index(salt: u16) -> Result<usize> {
    let i = usize::from(salt);
    if i < SALTS {
        Ok(i)
    } else {
        Err(Error::invalid_argument(
            "RSA-PSS salt length is 0..=64 bytes",
        ))
    }
}

/// Whether `alg` is an RSA-PSS signature algorithm.
pub(crate) fn is_pss(alg: Algorithm) -> bool {
    matches!(
        alg,
        Algorithm::RsaPssSha256 | Algorithm::RsaPssSha384 | Algorithm::RsaPssSha512
    )
}

/// The message digest an RSA-PSS algorithm pre-hashes with.
pub(crate) fn pss_digest(alg: Algorithm) -> Option<&'static digest::Algorithm> {
    match alg {
        Algorithm::RsaPssSha256 => Some(&digest::SHA256),
        Algorithm::RsaPssSha384 => Some(&digest::SHA384),
        Algorithm::RsaPssSha512 => Some(&digest::SHA512),
        _ => None,
    }
}

/// The signing encoding for `alg` with `salt` bytes of salt (`None`: the hash length).
pub(crate) fn pss_signing(
    alg: Algorithm,
    salt: Option<u16>,
) -> Result<&'static RsaSignatureEncoding> {
    let (default, table) = match alg {
        Algorithm::RsaPssSha256 => (&signature::RSA_PSS_SHA256, &SIGN_SHA256),
        Algorithm::RsaPssSha384 => (&signature::RSA_PSS_SHA384, &SIGN_SHA384),
        Algorithm::RsaPssSha512 => (&signature::RSA_PSS_SHA512, &SIGN_SHA512),
        _ => return Err(not_pss()),
    };
    match salt {
        None => Ok(default),
        Some(s) => table.get(salt_index(s)?).ok_or_else(not_pss),
    }
}

/// The verification parameters for `alg` with `salt` bytes of salt (`None`: the hash length).
pub(crate) fn pss_verification(
    alg: Algorithm,
    salt: Option<u16>,
) -> Result<&'static dyn VerificationAlgorithm> {
    let (default, table): (&'static RsaParameters, &'static [RsaParameters; SALTS]) = match alg {
        Algorithm::RsaPssSha256 => (&signature::RSA_PSS_2048_8192_SHA256, &VERIFY_SHA256),
        Algorithm::RsaPssSha384 => (&signature::RSA_PSS_2048_8192_SHA384, &VERIFY_SHA384),
        Algorithm::RsaPssSha512 => (&signature::RSA_PSS_2048_8192_SHA512, &VERIFY_SHA512),
        _ => return Err(not_pss()),
    };
    match salt {
        None => Ok(default),
        Some(s) => table
            .get(salt_index(s)?)
            .map(|p| p as &'static dyn VerificationAlgorithm)
            .ok_or_else(not_pss),
    }
}

/// The OAEP parameters (hash and MGF1 hash) of an RSA-OAEP algorithm.
pub(crate) fn oaep(alg: Algorithm) -> Result<&'static OaepAlgorithm> {
    match alg {
        Algorithm::RsaOaepSha1 => Ok(&OAEP_SHA1_MGF1SHA1),
        Algorithm::RsaOaepSha256 => Ok(&OAEP_SHA256_MGF1SHA256),
        Algorithm::RsaOaepSha384 => Ok(&OAEP_SHA384_MGF1SHA384),
        Algorithm::RsaOaepSha512 => Ok(&OAEP_SHA512_MGF1SHA512),
        _ => Err(Error::new(ErrorCode::UnsupportedAlgorithm, "not RSA-OAEP")),
    }
}
