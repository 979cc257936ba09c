//! Building PKCS#10 requests and self-signed certificates with a signer that lives elsewhere.
//!
//! The daemon's key never reaches this crate: `x509-cert`'s builders produce the
//! to-be-signed DER ([`Builder::finalize`]), the caller signs it through its provider (a Sign
//! context on the slot key) and hands back the signature, which is assembled into the final
//! structure ([`Builder::assemble`]). The builders want a signer object only to learn the
//! public key and the signature AlgorithmIdentifier; [`ExternalKey`] supplies exactly those.

use std::str::FromStr;
use std::time::{Duration, UNIX_EPOCH};

use const_oid::ObjectIdentifier;
use der::asn1::{BitString, UintRef};
use der::{Any, Decode, Document, Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use warden_core::Algorithm;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::TbsCertificate;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::request::RequestBuilder;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::error::CertError;

/// id-ml-dsa-44/65/87 (NIST CSOR sigAlgs 17, 18, 19; RFC 9881).
pub const ID_ML_DSA_44: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.17");
/// id-ml-dsa-65.
pub const ID_ML_DSA_65: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.18");
/// id-ml-dsa-87.
pub const ID_ML_DSA_87: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.19");
const ID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ID_RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");

/// RSASSA-PSS-params for SHA-256, MGF1-SHA-256, salt 32, trailer 1 (RFC 4055 section 3.1):
/// the one parameter set warden's RSA-PSS-SHA256 signs with, as a fixed DER constant.
const PSS_SHA256_PARAMS: [u8; 54] = [
    0x30, 0x34, 0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
    0x01, 0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
    0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0xa2, 0x03, 0x02, 0x01, 0x20,
];

/// The X.509 signature AlgorithmIdentifier for a warden signature algorithm.
pub fn signature_algorithm(alg: Algorithm) -> Result<AlgorithmIdentifierOwned, CertError> {
    let (oid, parameters) = match alg {
        Algorithm::Ed25519 => (ID_ED25519, None),
        Algorithm::EcdsaP256Sha256 => (ECDSA_SHA256, None),
        Algorithm::EcdsaP384Sha384 => (ECDSA_SHA384, None),
        Algorithm::RsaPssSha256 => (
            ID_RSASSA_PSS,
            Some(
                Any::from_der(&PSS_SHA256_PARAMS)
                    .map_err(|_| CertError::Build("pss parameters do not decode"))?,
            ),
        ),
        Algorithm::MlDsa44 => (ID_ML_DSA_44, None),
        Algorithm::MlDsa65 => (ID_ML_DSA_65, None),
        Algorithm::MlDsa87 => (ID_ML_DSA_87, None),
        _ => {
            return Err(CertError::Build(
                "the key's algorithm cannot sign certificates (ed25519, ecdsa, rsa-pss, ml-dsa)",
            ));
        }
    };
    Ok(AlgorithmIdentifierOwned { oid, parameters })
}

#[derive(Sequence)]
struct EcdsaSigValue<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

/// The signature as X.509 carries it: ECDSA's fixed `r || s` becomes `ECDSA-Sig-Value`
/// DER (RFC 5480); every other algorithm's bytes are used as they are.
pub fn x509_signature(alg: Algorithm, sig: &[u8]) -> Result<Vec<u8>, CertError> {
    let half = match alg {
        Algorithm::EcdsaP256Sha256 => 32,
        Algorithm::EcdsaP384Sha384 => 48,
        _ => return Ok(sig.to_vec()),
    };
    if sig.len() != 2 * half {
        return Err(CertError::Build("ecdsa signature has the wrong length"));
    }
    let (r, s) = sig.split_at(half);
    let bad = |_| CertError::Build("ecdsa signature does not encode");
    EcdsaSigValue {
        r: UintRef::new(r).map_err(bad)?,
        s: UintRef::new(s).map_err(bad)?,
    }
    .to_der()
    .map_err(bad)
}

/// A public key plus signature algorithm, standing in for the signer the builders want.
#[derive(Clone)]
struct ExternalKey {
    spki: SubjectPublicKeyInfoOwned,
    alg: AlgorithmIdentifierOwned,
}

impl spki::EncodePublicKey for ExternalKey {
    fn to_public_key_der(&self) -> spki::Result<Document> {
        Ok(Document::encode_msg(&self.spki)?)
    }
}

impl signature::Keypair for ExternalKey {
    type VerifyingKey = ExternalKey;
    fn verifying_key(&self) -> ExternalKey {
        self.clone()
    }
}

impl spki::DynSignatureAlgorithmIdentifier for ExternalKey {
    fn signature_algorithm_identifier(&self) -> spki::Result<AlgorithmIdentifierOwned> {
        Ok(self.alg.clone())
    }
}

fn external(alg: Algorithm, spki_der: &[u8]) -> Result<ExternalKey, CertError> {
    Ok(ExternalKey {
        spki: SubjectPublicKeyInfoOwned::from_der(spki_der)
            .map_err(|_| CertError::Build("public key is not a SubjectPublicKeyInfo"))?,
        alg: signature_algorithm(alg)?,
    })
}

/// Parses an RFC 4514 subject (`CN=device 7,O=Acme`); empty or malformed is refused.
pub fn subject(text: &str) -> Result<Name, CertError> {
    if text.trim().is_empty() || text.len() > 1024 {
        return Err(CertError::InvalidArgument(
            "subject must be 1 to 1024 bytes",
        ));
    }
    Name::from_str(text).map_err(|_| CertError::InvalidArgument("subject is not an RFC 4514 name"))
}

/// The signer callback: to-be-signed bytes in, the algorithm's raw signature out.
pub type SignFn<'a> = dyn FnMut(&[u8]) -> Result<Vec<u8>, warden_core::Error> + 'a;

fn signed(
    alg: Algorithm,
    tbs: &[u8],
    sign: &mut SignFn<'_>,
) -> Result<BitString, warden_core::Error> {
    let raw = sign(tbs)?;
    let sig = x509_signature(alg, &raw)?;
    BitString::from_bytes(&sig).map_err(|_| CertError::Build("signature does not encode").into())
}

/// A PKCS#10 request for `subject_text` over the key `spki_der` of algorithm `alg`, signed
/// by `sign`. DER.
pub fn csr(
    alg: Algorithm,
    spki_der: &[u8],
    subject_text: &str,
    sign: &mut SignFn<'_>,
) -> Result<Vec<u8>, warden_core::Error> {
    let key = external(alg, spki_der)?;
    let mut builder = RequestBuilder::new(subject(subject_text)?)
        .map_err(|_| CertError::Build("request builder refused the subject"))?;
    let tbs = builder
        .finalize(&key)
        .map_err(|_| CertError::Build("request info does not encode"))?;
    let sig = signed(alg, &tbs, sign)?;
    let req = builder
        .assemble(sig, &key)
        .map_err(|_| CertError::Build("request does not assemble"))?;
    Ok(req
        .to_der()
        .map_err(|_| CertError::Build("request does not encode"))?)
}

/// Self-signed CA profile: issuer = subject, basicConstraints cA, keyUsage
/// digitalSignature + keyCertSign + cRLSign, subjectKeyIdentifier.
struct SelfSigned {
    subject: Name,
}

impl BuilderProfile for SelfSigned {
    fn get_issuer(&self, subject: &Name) -> Name {
        subject.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: spki::SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: spki::SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let mut ext = Vec::new();
        ext.push(
            BasicConstraints {
                ca: true,
                path_len_constraint: None,
            }
            .to_extension(tbs.subject(), &ext)?,
        );
        let usage = KeyUsages::DigitalSignature | KeyUsages::KeyCertSign | KeyUsages::CRLSign;
        ext.push(KeyUsage(usage).to_extension(tbs.subject(), &ext)?);
        ext.push(SubjectKeyIdentifier::try_from(spk)?.to_extension(tbs.subject(), &ext)?);
        Ok(ext)
    }
}

fn time(unix_s: u64) -> Result<Time, CertError> {
    Time::try_from(UNIX_EPOCH + Duration::from_secs(unix_s))
        .map_err(|_| CertError::InvalidArgument("time outside what X.509 can encode"))
}

/// What a self-signed certificate says besides its key.
#[derive(Debug, Clone, Copy)]
pub struct SelfSignedSpec<'a> {
    /// RFC 4514 subject (also the issuer).
    pub subject: &'a str,
    /// notBefore, Unix seconds.
    pub not_before: u64,
    /// notAfter, Unix seconds (after `not_before`).
    pub not_after: u64,
    /// Serial number bytes (positive, 1 to 20 bytes; the daemon draws 16 random ones).
    pub serial: &'a [u8],
}

/// A self-signed certificate for the key `spki_der`, signed by `sign`. DER.
pub fn self_signed(
    alg: Algorithm,
    spki_der: &[u8],
    spec: &SelfSignedSpec<'_>,
    sign: &mut SignFn<'_>,
) -> Result<Vec<u8>, warden_core::Error> {
    if spec.not_after <= spec.not_before {
        return Err(CertError::InvalidArgument("not_after must be after not_before").into());
    }
    let key = external(alg, spki_der)?;
    let serial = SerialNumber::new(spec.serial)
        .map_err(|_| CertError::InvalidArgument("serial must be 1 to 20 positive bytes"))?;
    let validity = Validity::new(time(spec.not_before)?, time(spec.not_after)?);
    let profile = SelfSigned {
        subject: subject(spec.subject)?,
    };
    let mut builder = CertificateBuilder::new(profile, serial, validity, key.spki.clone())
        .map_err(|_| CertError::Build("certificate builder refused the fields"))?;
    let tbs = builder
        .finalize(&key)
        .map_err(|_| CertError::Build("certificate does not encode"))?;
    let sig = signed(alg, &tbs, sign)?;
    let cert = builder
        .assemble(sig, &key)
        .map_err(|_| CertError::Build("certificate does not assemble"))?;
    Ok(cert
        .to_der()
        .map_err(|_| CertError::Build("certificate does not encode"))?)
}
