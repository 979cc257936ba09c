//! What a key file holds: PEM, DER (SubjectPublicKeyInfo or PKCS#8) or raw bytes, told apart
//! from the bytes themselves so `warden key import` needs no `--format` for the common cases.
//!
//! DER is recognised only by a complete structural match (one outer SEQUENCE spanning the whole
//! file whose first element is itself a complete SEQUENCE — SubjectPublicKeyInfo's
//! AlgorithmIdentifier — or INTEGER — PKCS#8's version). A raw key that happens to look like that
//! is still sent as DER and refused by the daemon with `InvalidFormat`; `--format raw` overrides.

use warden_client::{Algorithm, KeyFormat};

use crate::args::KeyFileFormat;
use crate::failure::Failure;
use crate::pem;

/// One DER TLV at the start of `der`: (tag, header length, header + contents length).
/// Definite lengths up to four length bytes; `None` if truncated or malformed.
fn tlv(der: &[u8]) -> Option<(u8, usize, usize)> {
    let tag = *der.first()?;
    let first = *der.get(1)?;
    let (len, header) = match first {
        0..=0x7f => (usize::from(first), 2),
        0x81..=0x84 => {
            let n = usize::from(first & 0x7f);
            let bytes = der.get(2..2 + n)?;
            let len = bytes.iter().try_fold(0usize, |acc, b| {
                acc.checked_mul(256)?.checked_add(usize::from(*b))
            })?;
            (len, 2 + n)
        }
        _ => return None,
    };
    let total = header.checked_add(len)?;
    (total <= der.len()).then_some((tag, header, total))
}

/// The DER key format `der` is structured as, if any: `SubjectPublicKeyInfo` or `Pkcs8`.
pub fn der_kind(der: &[u8]) -> Option<KeyFormat> {
    let (tag, header, total) = tlv(der)?;
    if tag != 0x30 || total != der.len() {
        return None;
    }
    match tlv(der.get(header..)?)? {
        (0x30, _, _) => Some(KeyFormat::SubjectPublicKeyInfo),
        (0x02, _, _) => Some(KeyFormat::Pkcs8),
        _ => None,
    }
}

fn looks_like_pem(bytes: &[u8]) -> bool {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    bytes
        .get(start..)
        .is_some_and(|rest| rest.starts_with(b"-----BEGIN "))
}

/// The material and wire format for `bytes` read from `path`: as `explicit` says, or detected
/// (PEM by its armour, DER by structure, raw otherwise). Symmetric keys are always raw.
pub fn classify(
    bytes: Vec<u8>,
    alg: Algorithm,
    explicit: Option<KeyFileFormat>,
    path: &std::path::Path,
) -> Result<(Vec<u8>, KeyFormat), Failure> {
    let given = match explicit {
        Some(f) => f,
        None if looks_like_pem(&bytes) => KeyFileFormat::Pem,
        None if alg.is_asymmetric() && der_kind(&bytes).is_some() => KeyFileFormat::Der,
        None => KeyFileFormat::Raw,
    };
    match given {
        KeyFileFormat::Raw => Ok((bytes, KeyFormat::Raw)),
        KeyFileFormat::Der => {
            let format = der_kind(&bytes).ok_or_else(|| {
                Failure::Usage(format!(
                    "{} is not a DER SubjectPublicKeyInfo or PKCS#8 key",
                    path.display()
                ))
            })?;
            Ok((bytes, format))
        }
        KeyFileFormat::Pem => {
            let (label, der) = pem::decode(&bytes)
                .ok_or_else(|| Failure::Usage(format!("{} is not PEM", path.display())))?;
            let format = match label.as_str() {
                "PUBLIC KEY" => KeyFormat::SubjectPublicKeyInfo,
                "PRIVATE KEY" => KeyFormat::Pkcs8,
                other => {
                    return Err(Failure::Usage(format!(
                        "unsupported PEM label {other:?} (PUBLIC KEY or PRIVATE KEY)"
                    )));
                }
            };
            Ok((der, format))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spki_and_pkcs8_are_told_apart() {
        // RFC 8410 Ed25519 SubjectPublicKeyInfo and PKCS#8 headers.
        let mut spki = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        spki.extend([7u8; 32]);
        assert_eq!(der_kind(&spki), Some(KeyFormat::SubjectPublicKeyInfo));
        let mut p8 = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        p8.extend([7u8; 32]);
        assert_eq!(der_kind(&p8), Some(KeyFormat::Pkcs8));
        // Truncated, trailing bytes, raw keys: not DER.
        assert_eq!(der_kind(&spki[..spki.len() - 1]), None);
        let mut long = spki.clone();
        long.push(0);
        assert_eq!(der_kind(&long), None);
        assert_eq!(der_kind(&[7u8; 32]), None);
        assert_eq!(der_kind(&[]), None);
        assert_eq!(der_kind(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
    }

    #[test]
    fn detection_prefers_pem_then_der_then_raw() {
        let path = std::path::Path::new("k");
        let pem = pem::encode("PUBLIC KEY", &[0x30, 0x03, 0x30, 0x01, 0x00]);
        let (der, f) = classify(pem.into_bytes(), Algorithm::Ed25519, None, path).unwrap();
        assert_eq!(
            (der.as_slice(), f),
            (
                &[0x30, 0x03, 0x30, 0x01, 0x00][..],
                KeyFormat::SubjectPublicKeyInfo
            )
        );
        let (_, f) = classify(der, Algorithm::Ed25519, None, path).unwrap();
        assert_eq!(f, KeyFormat::SubjectPublicKeyInfo);
        let (_, f) = classify(vec![1; 32], Algorithm::Ed25519, None, path).unwrap();
        assert_eq!(f, KeyFormat::Raw);
        // Symmetric keys are raw even if their bytes parse as DER.
        let (_, f) = classify(
            vec![0x30, 0x03, 0x30, 0x01, 0x00],
            Algorithm::HmacKey,
            None,
            path,
        )
        .unwrap();
        assert_eq!(f, KeyFormat::Raw);
        // An explicit --format der that is not DER is a usage error, not a guess.
        assert!(
            classify(
                vec![1; 32],
                Algorithm::Ed25519,
                Some(KeyFileFormat::Der),
                path
            )
            .is_err()
        );
    }
}
