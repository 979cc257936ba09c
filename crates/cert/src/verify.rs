//! Chain verification and CRL admission, on `rustls-webpki` (path building, validity,
//! basic constraints, name constraints, EKU, CRL revocation with signature checks).
//!
//! warden adds only what webpki leaves to its caller: an EKU required by dotted OID at run
//! time, the leaf's keyUsage bits, the mapping of webpki's errors onto the seed's
//! certificate errors, and the check that a CRL is signed by its issuer before it is stored.

use std::time::Duration;

use const_oid::ObjectIdentifier;
use der::{Decode, Encode};
use pki_types::{CertificateDer, SignatureVerificationAlgorithm, UnixTime};
use webpki::aws_lc_rs as algs;
use webpki::{
    CertRevocationList, EndEntityCert, ExpirationPolicy, ExtendedKeyUsageValidator,
    KeyPurposeIdIter, OwnedCertRevocationList, RevocationCheckDepth, RevocationOptionsBuilder,
    UnknownStatusPolicy,
};
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage};
use x509_cert::spki::AlgorithmIdentifierOwned;

use crate::error::CertError;
use crate::parse::{MAX_DER_LEN, decode, key_usage_bits};

/// Every signature algorithm warden accepts in certificates and CRLs.
static ALGS: &[&dyn SignatureVerificationAlgorithm] = &[
    algs::ECDSA_P256_SHA256,
    algs::ECDSA_P256_SHA384,
    algs::ECDSA_P384_SHA256,
    algs::ECDSA_P384_SHA384,
    algs::ED25519,
    algs::RSA_PKCS1_2048_8192_SHA256,
    algs::RSA_PKCS1_2048_8192_SHA384,
    algs::RSA_PKCS1_2048_8192_SHA512,
    algs::RSA_PKCS1_3072_8192_SHA384,
    algs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    algs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    algs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
    algs::ML_DSA_44,
    algs::ML_DSA_65,
    algs::ML_DSA_87,
];

/// What the leaf must be good for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage<'a> {
    /// A key purpose the leaf's extendedKeyUsage must list (dotted OID, e.g.
    /// `1.3.6.1.5.5.7.3.2` clientAuth); `None`: no EKU requirement.
    pub eku: Option<&'a str>,
    /// keyUsage bits the leaf must assert (RFC 5280 order: 1 = digitalSignature, 2 =
    /// nonRepudiation, 4 = keyEncipherment, ...); 0 = none. A leaf without the extension
    /// allows every usage (RFC 5280 section 4.2.1.3).
    pub key_usage: u16,
}

/// webpki calls this for every certificate of a path, the anchor's children included, and
/// cannot say which is the leaf: so it enforces "if a certificate lists key purposes, the
/// wanted one is among them" (EKU chaining, as webpki's own `required_if_present`), and
/// [`leaf_lists_eku`] then insists that the leaf itself lists it. Owned OID: webpki's own
/// validators want a `'static` one.
struct RequiredEku(Option<Vec<u8>>);

impl ExtendedKeyUsageValidator for RequiredEku {
    // The context variant's fields are private to webpki; the unit variant still means it.
    #[allow(deprecated)]
    fn validate(&self, iter: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        let Some(want) = &self.0 else {
            return Ok(());
        };
        let wanted = webpki::KeyPurposeId::new(want);
        let mut empty = true;
        for id in iter {
            empty = false;
            if id? == wanted {
                return Ok(());
            }
        }
        if empty {
            Ok(())
        } else {
            Err(webpki::Error::RequiredEkuNotFound)
        }
    }
}

/// Whether the leaf's extendedKeyUsage extension is present and lists `oid`.
fn leaf_lists_eku(leaf: &Certificate, oid: &[u8]) -> Result<bool, CertError> {
    let eku = leaf
        .tbs_certificate()
        .get_extension::<ExtendedKeyUsage>()
        .map_err(|_| CertError::Parse("malformed extended key usage"))?;
    Ok(eku.is_some_and(|(_, e)| e.0.iter().any(|o| o.as_bytes() == oid)))
}

#[allow(deprecated)] // matching the unit variants webpki still returns in places
fn map_webpki(e: &webpki::Error) -> CertError {
    use webpki::Error as W;
    match e {
        W::CertExpired { .. } | W::CertNotValidYet { .. } | W::InvalidCertValidity => {
            CertError::Expired
        }
        W::CertRevoked => CertError::Revoked,
        W::UnknownIssuer => CertError::AnchorNotFound,
        W::RequiredEkuNotFound | W::RequiredEkuNotFoundContext(_) | W::EmptyEkuExtension => {
            CertError::UsageNotAllowed("required extended key usage not present")
        }
        W::InvalidSignatureForPublicKey => CertError::ChainFailed("bad signature"),
        W::CaUsedAsEndEntity => CertError::ChainFailed("a ca certificate is not a leaf"),
        W::EndEntityUsedAsCa => CertError::ChainFailed("an end-entity certificate issues"),
        W::UnsupportedSignatureAlgorithm
        | W::UnsupportedSignatureAlgorithmContext(_)
        | W::UnsupportedSignatureAlgorithmForPublicKey
        | W::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            CertError::ChainFailed("unsupported signature algorithm")
        }
        W::CrlExpired { .. } => {
            CertError::ChainFailed("a crl of the store is past its next update")
        }
        W::InvalidCrlSignatureForPublicKey | W::IssuerNotCrlSigner => {
            CertError::ChainFailed("a crl of the store does not verify")
        }
        W::PathLenConstraintViolated | W::NameConstraintViolation => {
            CertError::ChainFailed("path constraint violated")
        }
        W::BadDer | W::BadDerTime | W::TrailingData(_) => {
            CertError::Parse("a certificate of the chain is malformed")
        }
        _ => CertError::ChainFailed("path validation failed"),
    }
}

fn eku_bytes(eku: Option<&str>) -> Result<Option<Vec<u8>>, CertError> {
    eku.map(|text| {
        ObjectIdentifier::new(text)
            .map(|oid| oid.as_bytes().to_vec())
            .map_err(|_| CertError::InvalidArgument("eku must be a dotted object identifier"))
    })
    .transpose()
}

/// Verifies `leaf` through `intermediates` to one of `anchors` at `at_unix` (seconds), with
/// the leaf good for `usage` and no certificate of the path revoked by `crls` (CRLs are
/// checked for every certificate whose issuer has one; an issuer without a CRL is not an
/// error; a CRL whose nextUpdate is before `at_unix` fails the path with
/// [`CertError::ChainFailed`]). Errors: [`CertError::Expired`], [`CertError::Revoked`],
/// [`CertError::AnchorNotFound`], [`CertError::UsageNotAllowed`], [`CertError::ChainFailed`],
/// [`CertError::Parse`].
pub fn verify_chain(
    anchors: &[Vec<u8>],
    leaf: &[u8],
    intermediates: &[Vec<u8>],
    crls: &[Vec<u8>],
    at_unix: u64,
    usage: &Usage<'_>,
) -> Result<(), CertError> {
    if anchors.is_empty() {
        return Err(CertError::AnchorNotFound);
    }
    let parsed = decode(leaf)?;
    let eku = RequiredEku(eku_bytes(usage.eku)?);
    let anchor_ders: Vec<CertificateDer<'_>> = anchors
        .iter()
        .map(|a| CertificateDer::from(a.as_slice()))
        .collect();
    let trust: Vec<_> = anchor_ders
        .iter()
        .map(|a| webpki::anchor_from_trusted_cert(a).map_err(|e| map_webpki(&e)))
        .collect::<Result<_, _>>()?;
    let inter: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|c| CertificateDer::from(c.as_slice()))
        .collect();
    let lists: Vec<CertRevocationList<'_>> = crls
        .iter()
        .map(|c| {
            OwnedCertRevocationList::from_der(c)
                .map(CertRevocationList::from)
                .map_err(|_| CertError::ChainFailed("a crl of the store is malformed"))
        })
        .collect::<Result<_, _>>()?;
    let list_refs: Vec<&CertRevocationList<'_>> = lists.iter().collect();
    let revocation = RevocationOptionsBuilder::new(&list_refs).ok().map(|b| {
        b.with_depth(RevocationCheckDepth::Chain)
            .with_status_policy(UnknownStatusPolicy::Allow)
            // A CRL past its nextUpdate says nothing about revocations since: a path whose
            // status rests on one is refused rather than trusted on stale news (issue 16).
            .with_expiration_policy(ExpirationPolicy::Enforce)
            .build()
    });
    let leaf_der = CertificateDer::from(leaf);
    let ee = EndEntityCert::try_from(&leaf_der).map_err(|e| map_webpki(&e))?;
    let time = UnixTime::since_unix_epoch(Duration::from_secs(at_unix));
    ee.verify_for_usage(ALGS, &trust, &inter, time, &eku, revocation, None)
        .map_err(|e| map_webpki(&e))?;
    if let Some(oid) = &eku.0
        && !leaf_lists_eku(&parsed, oid)?
    {
        return Err(CertError::UsageNotAllowed(
            "required extended key usage not present",
        ));
    }
    if usage.key_usage != 0
        && let Some(bits) = key_usage_bits(&parsed)?
        && bits & usage.key_usage != usage.key_usage
    {
        return Err(CertError::UsageNotAllowed(
            "required key usage not asserted",
        ));
    }
    Ok(())
}

/// What an admitted CRL says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlInfo {
    /// Issuer name (RFC 4514 text).
    pub issuer: String,
    /// The issuer name's DER: one stored CRL per issuer, a newer import replaces it.
    pub issuer_der: Vec<u8>,
    /// thisUpdate, Unix seconds.
    pub this_update: i64,
    /// Number of revoked entries.
    pub revoked: usize,
}

/// Whether `signer` (a certificate, DER) signed `tbs` with `signature` under `alg`.
fn signed_by(signer: &[u8], alg: &AlgorithmIdentifierOwned, tbs: &[u8], signature: &[u8]) -> bool {
    let Ok(alg_der) = alg.to_der() else {
        return false;
    };
    // The AlgorithmIdentifier's contents (webpki compares without the outer SEQUENCE).
    let Ok(any) = der::Any::from_der(&alg_der) else {
        return false;
    };
    let id = any.value();
    let der = CertificateDer::from(signer);
    let Ok(ee) = EndEntityCert::try_from(&der) else {
        return false;
    };
    ALGS.iter()
        .filter(|a| a.signature_alg_id().as_ref() == id)
        .any(|a| ee.verify_signature(*a, tbs, signature).is_ok())
}

fn is_crl_signer(cert: &Certificate) -> bool {
    let ca = cert
        .tbs_certificate()
        .get_extension::<BasicConstraints>()
        .ok()
        .flatten()
        .is_some_and(|(_, bc)| bc.ca);
    let ku = cert.tbs_certificate().get_extension::<KeyUsage>();
    ca && match ku {
        Ok(None) => true,
        Ok(Some((_, k))) => k.crl_sign(),
        Err(_) => false,
    }
}

/// Admits `crl` for a trust store whose anchors are `anchors`: it must be well formed, and
/// signed by an anchor that is a CA allowed to sign CRLs — or by `issuer`, an intermediate
/// CA given with it, whose own certificate an anchor signed. The time is not checked here
/// (an old CRL is still a statement); verification uses what is stored.
pub fn check_crl(
    crl: &[u8],
    anchors: &[Vec<u8>],
    issuer: Option<&[u8]>,
) -> Result<CrlInfo, CertError> {
    if crl.is_empty() || crl.len() > MAX_DER_LEN {
        return Err(CertError::CrlImport("crl must be 1 byte to 64 KiB of DER"));
    }
    // webpki must accept it too, or verification would later fail on it.
    OwnedCertRevocationList::from_der(crl)
        .map_err(|_| CertError::CrlImport("malformed or unsupported crl"))?;
    let list = CertificateList::<x509_cert::certificate::Rfc5280>::from_der(crl)
        .map_err(|_| CertError::CrlImport("malformed crl"))?;
    if list.signature_algorithm != list.tbs_cert_list.signature {
        return Err(CertError::CrlImport("signature algorithms disagree"));
    }
    let tbs = list
        .tbs_cert_list
        .to_der()
        .map_err(|_| CertError::CrlImport("malformed crl"))?;
    let sig = list
        .signature
        .as_bytes()
        .ok_or(CertError::CrlImport("malformed crl signature"))?;
    let issuer_der = list
        .tbs_cert_list
        .issuer
        .to_der()
        .map_err(|_| CertError::CrlImport("malformed crl issuer"))?;
    let named =
        |c: &Certificate| c.tbs_certificate().subject().to_der().ok() == Some(issuer_der.clone());
    let candidates: Vec<&[u8]> = match issuer {
        None => anchors.iter().map(Vec::as_slice).collect(),
        Some(inter) => {
            let cert =
                decode(inter).map_err(|_| CertError::CrlImport("issuer is not a certificate"))?;
            let tbs_c = cert
                .tbs_certificate()
                .to_der()
                .map_err(|_| CertError::CrlImport("issuer is malformed"))?;
            let csig = cert
                .signature()
                .as_bytes()
                .ok_or(CertError::CrlImport("issuer is malformed"))?;
            let by_anchor = anchors
                .iter()
                .any(|a| signed_by(a, cert.signature_algorithm(), &tbs_c, csig));
            if !by_anchor {
                return Err(CertError::CrlImport(
                    "issuer is not signed by an anchor of the store",
                ));
            }
            vec![inter]
        }
    };
    let ok = candidates.iter().any(|c| {
        decode(c).is_ok_and(|cert| named(&cert) && is_crl_signer(&cert))
            && signed_by(c, &list.signature_algorithm, &tbs, sig)
    });
    if !ok {
        return Err(CertError::CrlImport(
            "no crl signer of the store signed this crl",
        ));
    }
    Ok(CrlInfo {
        issuer: list.tbs_cert_list.issuer.to_string(),
        issuer_der,
        this_update: i64::try_from(list.tbs_cert_list.this_update.to_unix_duration().as_secs())
            .unwrap_or(i64::MAX),
        revoked: list
            .tbs_cert_list
            .revoked_certificates
            .as_ref()
            .map_or(0, Vec::len),
    })
}

/// A stored CRL's issuer (RFC 4514) and thisUpdate (Unix seconds), without checks.
pub fn crl_summary(crl: &[u8]) -> Result<(String, i64), CertError> {
    let list = CertificateList::<x509_cert::certificate::Rfc5280>::from_der(crl)
        .map_err(|_| CertError::CrlImport("malformed crl"))?;
    Ok((
        list.tbs_cert_list.issuer.to_string(),
        i64::try_from(list.tbs_cert_list.this_update.to_unix_duration().as_secs())
            .unwrap_or(i64::MAX),
    ))
}
