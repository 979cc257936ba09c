//! CSR and certificate building with an in-test signer; verification with webpki paths.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use warden_core::Algorithm;

#[test]
fn subjects_parse() {
    warden_cert::subject("CN=ed device,O=Acme").unwrap();
    warden_cert::subject("CN=x").unwrap();
    assert!(warden_cert::subject("not a name").is_err());
    assert!(warden_cert::subject("").is_err());
}

#[test]
fn ecdsa_csr_builds_and_carries_the_key() {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let kp = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    let spki = aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(
        kp.public_key(),
    )
    .unwrap();
    let mut sign = |m: &[u8]| Ok(kp.sign(&rng, m).unwrap().as_ref().to_vec());
    let csr =
        warden_cert::csr(Algorithm::EcdsaP256Sha256, spki.as_ref(), "CN=t", &mut sign).unwrap();
    assert!(csr.len() > 100);
}

fn p256() -> (EcdsaKeyPair, Vec<u8>) {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let kp = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
    let spki = aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::PublicKeyX509Der>::as_der(
        kp.public_key(),
    )
    .unwrap()
    .as_ref()
    .to_vec();
    (kp, spki)
}

fn self_signed(kp: &EcdsaKeyPair, spki: &[u8], not_before: u64, not_after: u64) -> Vec<u8> {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let mut sign = |m: &[u8]| Ok(kp.sign(&rng, m).unwrap().as_ref().to_vec());
    let spec = warden_cert::SelfSignedSpec {
        subject: "CN=unit root",
        not_before,
        not_after,
        serial: &[0x41, 1, 2, 3],
    };
    warden_cert::self_signed(Algorithm::EcdsaP256Sha256, spki, &spec, &mut sign).unwrap()
}

#[test]
fn self_signed_certificates_carry_the_key_and_refuse_bad_input() {
    let (kp, spki) = p256();
    let cert = self_signed(&kp, &spki, 1_700_000_000, 1_800_000_000);
    let info = warden_cert::CertInfo::parse(&cert).unwrap();
    assert_eq!(info.subject, "CN=unit root");
    assert_eq!(info.issuer, "CN=unit root");
    assert!(info.is_ca);
    assert_eq!(
        (info.not_before, info.not_after),
        (1_700_000_000, 1_800_000_000)
    );
    assert_eq!(info.serial_hex, "41010203");
    warden_cert::ensure_key_matches(&cert, &spki).unwrap();
    let (_, other) = p256();
    assert_eq!(
        warden_cert::ensure_key_matches(&cert, &other),
        Err(warden_cert::CertError::KeyMismatch)
    );
    // Times out of order, a key that cannot sign, a signer with the wrong length.
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let mut sign = |m: &[u8]| Ok(kp.sign(&rng, m).unwrap().as_ref().to_vec());
    let spec = warden_cert::SelfSignedSpec {
        subject: "CN=x",
        not_before: 10,
        not_after: 10,
        serial: &[1],
    };
    let e = warden_cert::self_signed(Algorithm::EcdsaP256Sha256, &spki, &spec, &mut sign);
    assert_eq!(
        e.unwrap_err().code(),
        warden_core::ErrorCode::InvalidArgument
    );
    let spec = warden_cert::SelfSignedSpec {
        not_after: 20,
        ..spec
    };
    let e = warden_cert::self_signed(Algorithm::Aes256Key, &spki, &spec, &mut sign);
    assert_eq!(
        e.unwrap_err().code(),
        warden_core::ErrorCode::CsrGenerationFailed
    );
    let mut short = |_: &[u8]| Ok(vec![0u8; 63]);
    let e = warden_cert::self_signed(Algorithm::EcdsaP256Sha256, &spki, &spec, &mut short);
    assert_eq!(
        e.unwrap_err().code(),
        warden_core::ErrorCode::CsrGenerationFailed
    );
    // Garbage is a parse error, never a panic.
    for junk in [
        &b""[..],
        b"\x30",
        b"\x30\x03\x02\x01\x01",
        &cert[..cert.len() - 1],
    ] {
        assert_eq!(
            warden_cert::CertInfo::parse(junk).unwrap_err().code(),
            warden_core::ErrorCode::CertificateParsingFailed
        );
    }
}

#[test]
fn ecdsa_signatures_become_der_and_others_pass_through() {
    let sig = [0x80u8; 64];
    let der = warden_cert::x509_signature(Algorithm::EcdsaP256Sha256, &sig).unwrap();
    // SEQUENCE { INTEGER 00 80.., INTEGER 00 80.. }: positive integers gain a zero byte.
    assert_eq!(&der[..5], &[0x30, 0x46, 0x02, 0x21, 0x00]);
    assert_eq!(der.len(), 0x48);
    assert!(warden_cert::x509_signature(Algorithm::EcdsaP384Sha384, &sig).is_err());
    assert_eq!(
        warden_cert::x509_signature(Algorithm::Ed25519, &sig).unwrap(),
        sig
    );
}

#[test]
fn verification_without_anchors_or_with_a_ca_leaf_fails_typed() {
    let (kp, spki) = p256();
    let now = 1_750_000_000;
    let cert = self_signed(&kp, &spki, 1_700_000_000, 1_800_000_000);
    let usage = warden_cert::Usage::default();
    assert_eq!(
        warden_cert::verify_chain(&[], &cert, &[], &[], now, &usage),
        Err(warden_cert::CertError::AnchorNotFound)
    );
    // The self-signed root is a CA: not acceptable as the leaf of a path.
    assert!(matches!(
        warden_cert::verify_chain(std::slice::from_ref(&cert), &cert, &[], &[], now, &usage),
        Err(warden_cert::CertError::ChainFailed(_))
    ));
    let bad = warden_cert::Usage {
        eku: Some("not an oid"),
        key_usage: 0,
    };
    assert!(matches!(
        warden_cert::verify_chain(std::slice::from_ref(&cert), &cert, &[], &[], now, &bad),
        Err(warden_cert::CertError::InvalidArgument(_))
    ));
    // A CRL that is not one, and one with no signer in the store.
    assert!(matches!(
        warden_cert::check_crl(b"\x30\x00", std::slice::from_ref(&cert), None),
        Err(warden_cert::CertError::CrlImport(_))
    ));
    assert!(matches!(
        warden_cert::check_crl(&cert, std::slice::from_ref(&cert), None),
        Err(warden_cert::CertError::CrlImport(_))
    ));
}

/// Every single-byte corruption and every truncation of a real certificate is either still a
/// certificate or a typed error, through every entry point (a cheap stand-in for the
/// `cert_parse` fuzz target).
#[test]
fn corrupted_certificates_never_panic() {
    let (kp, spki) = p256();
    let cert = self_signed(&kp, &spki, 1_700_000_000, 1_800_000_000);
    let usage = warden_cert::Usage {
        eku: Some("1.3.6.1.5.5.7.3.2"),
        key_usage: 1,
    };
    let anchors = [cert.clone()];
    let mut inputs: Vec<Vec<u8>> = (0..cert.len()).map(|n| cert[..n].to_vec()).collect();
    for i in 0..cert.len() {
        for mask in [0x01u8, 0x80, 0xFF] {
            let mut c = cert.clone();
            c[i] ^= mask;
            inputs.push(c);
        }
    }
    for c in &inputs {
        let _ = warden_cert::CertInfo::parse(c);
        let _ = warden_cert::ensure_key_matches(c, &spki);
        let _ = warden_cert::check_crl(c, &anchors, Some(c));
        let _ = warden_cert::crl_summary(c);
        let r = warden_cert::verify_chain(
            &anchors,
            c,
            std::slice::from_ref(c),
            &[],
            1_750_000_000,
            &usage,
        );
        assert!(
            r.is_err(),
            "a corrupted or CA certificate never verifies as a leaf"
        );
    }
}
