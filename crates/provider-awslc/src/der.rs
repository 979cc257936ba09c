//! The few fixed encodings this crate handles itself, with bounds-checked readers.
//!
//! We never hand-roll general ASN.1: a SubjectPublicKeyInfo is walked only far enough to find
//! its BIT STRING, and the result is accepted only if aws-lc re-encodes that raw key to exactly
//! the same DER (which also proves the algorithm OID matched). X25519 PKCS#8 and the Ed25519 /
//! X25519 SPKI headers are the fixed prefixes printed in RFC 8410.

use aws_lc_rs::signature::ParsedPublicKey;
use warden_core::{Algorithm, Error, ErrorCode, Result};

use crate::material::{verification_alg, x509_der};

/// RFC 8410 SubjectPublicKeyInfo header of an Ed25519 key (followed by the 32-byte key).
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];
/// RFC 8410 SubjectPublicKeyInfo header of an X25519 key (followed by the 32-byte key).
const X25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00,
];
/// RFC 8410 PKCS#8 (OneAsymmetricKey v1) header of an X25519 private key (then 32 bytes).
const X25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
];

/// A bounds-checked forward reader: every accessor returns `None` instead of panicking.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.rest.len() {
            return None;
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take(1).and_then(|b| b.first().copied())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// One DER TLV with the expected tag; returns its contents. Lengths up to 2^16.
    fn tlv(&mut self, tag: u8) -> Option<&'a [u8]> {
        if self.u8()? != tag {
            return None;
        }
        let first = self.u8()?;
        let len = match first {
            0..=0x7f => usize::from(first),
            0x81 => usize::from(self.u8()?),
            0x82 => usize::from(u16::from_be_bytes([self.u8()?, self.u8()?])),
            _ => return None,
        };
        self.take(len)
    }
}

/// The BIT STRING payload of a SubjectPublicKeyInfo (no unused bits), unvalidated.
fn spki_bit_string(der: &[u8]) -> Option<&[u8]> {
    let mut outer = Reader::new(der);
    let body = outer.tlv(0x30)?;
    if !outer.is_empty() {
        return None;
    }
    let mut inner = Reader::new(body);
    inner.tlv(0x30)?; // AlgorithmIdentifier, checked by the round trip below
    let bits = inner.tlv(0x03)?;
    if !inner.is_empty() {
        return None;
    }
    match bits.split_first() {
        Some((0, key)) => Some(key),
        _ => None,
    }
}

/// DER SubjectPublicKeyInfo for a raw public key of `alg`.
pub(crate) fn spki_from_raw(alg: Algorithm, raw: &[u8]) -> Result<Vec<u8>> {
    let prefixed = |prefix: &[u8]| {
        if raw.len() != 32 {
            return Err(Error::new(
                ErrorCode::InvalidFormat,
                "public key has the wrong length",
            ));
        }
        let mut v = prefix.to_vec();
        v.extend_from_slice(raw);
        Ok(v)
    };
    match alg {
        Algorithm::Ed25519 | Algorithm::Ed25519ph => prefixed(&ED25519_SPKI_PREFIX),
        Algorithm::X25519 => prefixed(&X25519_SPKI_PREFIX),
        _ => {
            let valg = verification_alg(alg).ok_or(Error::new(
                ErrorCode::UnsupportedOperation,
                "no SubjectPublicKeyInfo encoding for this algorithm",
            ))?;
            let parsed = ParsedPublicKey::new(valg, raw)
                .map_err(|_| Error::new(ErrorCode::InvalidFormat, "public key rejected"))?;
            x509_der(&parsed)
        }
    }
}

/// The raw public key inside a SubjectPublicKeyInfo, accepted only if it re-encodes to `der`.
pub(crate) fn raw_from_spki(alg: Algorithm, der: &[u8]) -> Result<Vec<u8>> {
    let bad = Error::new(ErrorCode::InvalidFormat, "malformed SubjectPublicKeyInfo");
    let raw = spki_bit_string(der).ok_or(bad)?;
    let again = spki_from_raw(alg, raw)?;
    if again.as_slice() != der {
        return Err(bad);
    }
    Ok(raw.to_vec())
}

/// RFC 8410 PKCS#8 encoding of a raw X25519 private key.
pub(crate) fn x25519_pkcs8_from_raw(raw: &[u8]) -> Vec<u8> {
    let mut v = X25519_PKCS8_PREFIX.to_vec();
    v.extend_from_slice(raw);
    v
}

/// The raw X25519 private key inside an RFC 8410 PKCS#8 v1 structure.
pub(crate) fn x25519_raw_from_pkcs8(der: &[u8]) -> Result<&[u8]> {
    match der.strip_prefix(X25519_PKCS8_PREFIX.as_slice()) {
        Some(raw) if raw.len() == 32 => Ok(raw),
        _ => Err(Error::new(
            ErrorCode::InvalidFormat,
            "not an RFC 8410 X25519 PKCS#8 key",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_never_reads_past_the_end() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.take(4), None);
        assert_eq!(r.take(2), Some(&[1u8, 2][..]));
        assert_eq!(r.u8(), Some(3));
        assert_eq!(r.u8(), None);
        assert!(r.is_empty());
    }

    #[test]
    fn truncated_or_trailing_spki_is_rejected() {
        let raw = [7u8; 32];
        let der = spki_from_raw(Algorithm::Ed25519, &raw).unwrap();
        assert_eq!(raw_from_spki(Algorithm::Ed25519, &der).unwrap(), raw);
        for cut in 0..der.len() {
            assert!(raw_from_spki(Algorithm::Ed25519, &der[..cut]).is_err());
        }
        let mut long = der.clone();
        long.push(0);
        assert!(raw_from_spki(Algorithm::Ed25519, &long).is_err());
        // An X25519 SPKI is not an Ed25519 key (OID differs).
        let x = spki_from_raw(Algorithm::X25519, &raw).unwrap();
        assert_eq!(
            raw_from_spki(Algorithm::Ed25519, &x).unwrap_err().code(),
            ErrorCode::InvalidFormat
        );
    }
}
