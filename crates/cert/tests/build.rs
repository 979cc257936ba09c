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
