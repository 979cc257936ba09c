//! Reading certificates: the summary warden shows and stores, the key-match check for a
//! binding, and the leaf's key-usage bits. All decoding is `x509-cert`'s (RustCrypto `der`).

use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};

use crate::error::CertError;

/// Largest certificate or CRL warden accepts (a frame carries more, a slot should not).
pub const MAX_DER_LEN: usize = 64 * 1024;

/// What warden reads out of a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// Subject distinguished name (RFC 4514 text).
    pub subject: String,
    /// Issuer distinguished name (RFC 4514 text).
    pub issuer: String,
    /// Serial number, lowercase hex.
    pub serial_hex: String,
    /// notBefore, Unix seconds.
    pub not_before: i64,
    /// notAfter, Unix seconds.
    pub not_after: i64,
    /// The subject's SubjectPublicKeyInfo, DER.
    pub spki_der: Vec<u8>,
    /// basicConstraints cA.
    pub is_ca: bool,
}

fn unix(t: x509_cert::time::Time) -> i64 {
    i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

/// Decodes one DER certificate (nothing may trail it).
pub fn decode(der: &[u8]) -> Result<Certificate, CertError> {
    if der.is_empty() || der.len() > MAX_DER_LEN {
        return Err(CertError::Parse(
            "certificate must be 1 byte to 64 KiB of DER",
        ));
    }
    Certificate::from_der(der).map_err(|_| CertError::Parse("not a DER X.509 certificate"))
}

impl CertInfo {
    /// Parses `der` and summarises it.
    pub fn parse(der: &[u8]) -> Result<Self, CertError> {
        let cert = decode(der)?;
        let tbs = cert.tbs_certificate();
        let spki_der = tbs
            .subject_public_key_info()
            .to_der()
            .map_err(|_| CertError::Parse("subject public key info does not encode"))?;
        let is_ca = tbs
            .get_extension::<BasicConstraints>()
            .map_err(|_| CertError::Parse("malformed basic constraints"))?
            .is_some_and(|(_, bc)| bc.ca);
        Ok(CertInfo {
            subject: tbs.subject().to_string(),
            issuer: tbs.issuer().to_string(),
            serial_hex: tbs
                .serial_number()
                .as_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
            not_before: unix(tbs.validity().not_before),
            not_after: unix(tbs.validity().not_after),
            spki_der,
            is_ca,
        })
    }
}

/// Refuses a binding unless the certificate's SubjectPublicKeyInfo is exactly `key_spki`
/// (the DER the key slot's key exports). Byte equality of the canonical DER, so neither
/// side's algorithm parameters can be swapped.
pub fn ensure_key_matches(cert_der: &[u8], key_spki: &[u8]) -> Result<(), CertError> {
    let info = CertInfo::parse(cert_der)?;
    // Both sides re-encoded by `der`: normalise the key's SPKI the same way.
    let key = spki::SubjectPublicKeyInfoOwned::from_der(key_spki)
        .map_err(|_| CertError::InvalidArgument("key public key is not a SubjectPublicKeyInfo"))?
        .to_der()
        .map_err(|_| CertError::InvalidArgument("key public key does not encode"))?;
    if info.spki_der == key {
        Ok(())
    } else {
        Err(CertError::KeyMismatch)
    }
}

/// The leaf's keyUsage bits (bit 0 = digitalSignature ... bit 8 = decipherOnly, RFC 5280
/// order), or `None` without the extension.
pub fn key_usage_bits(cert: &Certificate) -> Result<Option<u16>, CertError> {
    Ok(cert
        .tbs_certificate()
        .get_extension::<KeyUsage>()
        .map_err(|_| CertError::Parse("malformed key usage"))?
        .map(|(_, ku)| ku.0.bits()))
}

/// Lowercase hex SHA-256 of `der`: the id of a trust-store entry.
pub fn fingerprint(der: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
