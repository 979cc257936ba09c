//! Known-answer tests for Ed25519, X25519, ECDSA, ML-DSA key generation and X-Wing, plus the
//! ML-KEM cross-implementation check (aws-lc against RustCrypto `ml-kem`), run through the
//! provider. Negative vectors: tampered signatures, wrong keys, malformed encodings.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

mod common;

use std::sync::Arc;

use aws_lc_rs::digest;
use common::*;
use warden_core::{
    AgreeKeyParams, Algorithm, EncapsulateParams, ErrorCode, KeyFormat, KeyOperationPermission as P,
};
use warden_provider_awslc::{ContextKind, Provider};

fn sign_with(
    p: &dyn Provider,
    alg: Algorithm,
    key: &Arc<warden_provider_awslc::Key>,
    msg: &[u8],
) -> Vec<u8> {
    let mut ctx = context(p, ContextKind::Sign, alg, None, Some(key.clone()));
    ctx.init(&[]).unwrap();
    let mut sig = vec![0u8; ctx.max_output_len(0)];
    let n = ctx.finalize(msg, &mut sig).unwrap();
    sig.truncate(n);
    sig
}

fn verify_with(
    p: &dyn Provider,
    alg: Algorithm,
    key: &Arc<warden_provider_awslc::Key>,
    msg: &[u8],
    sig: &[u8],
) -> warden_core::Result<usize> {
    let mut ctx = context(p, ContextKind::Verify, alg, None, Some(key.clone()));
    ctx.init(&[]).unwrap();
    for piece in msg.chunks(5) {
        ctx.update(piece, &mut []).unwrap();
    }
    ctx.finalize(sig, &mut [])
}

#[test]
fn ed25519_rfc8032() {
    let p = provider();
    let file = vectors("asymmetric.json");
    for case in cases(&file, "ed25519") {
        let sk = Arc::new(import(
            &p,
            Algorithm::Ed25519,
            P::SIGN,
            KeyFormat::Pkcs8,
            &ed25519_pkcs8(&b(case, "seed")),
        ));
        assert_eq!(sk.public_key(KeyFormat::Raw).unwrap(), b(case, "pk"));
        // Ed25519 is deterministic: the signature is a full known answer.
        assert_eq!(
            sign_with(&p, Algorithm::Ed25519, &sk, &b(case, "msg")),
            b(case, "sig")
        );
        let pk = Arc::new(import(
            &p,
            Algorithm::Ed25519,
            P::VERIFY,
            KeyFormat::Raw,
            &b(case, "pk"),
        ));
        assert_eq!(
            verify_with(
                &p,
                Algorithm::Ed25519,
                &pk,
                &b(case, "msg"),
                &b(case, "sig")
            )
            .unwrap(),
            0
        );
        let mut bad = b(case, "sig");
        bad[10] ^= 4;
        assert_eq!(
            verify_with(&p, Algorithm::Ed25519, &pk, &b(case, "msg"), &bad)
                .unwrap_err()
                .code(),
            ErrorCode::OperationFailed
        );
        assert_eq!(
            verify_with(
                &p,
                Algorithm::Ed25519,
                &pk,
                &b(case, "msg"),
                &b(case, "sig")[..63]
            )
            .unwrap_err()
            .code(),
            ErrorCode::OperationFailed
        );
        assert_eq!(
            verify_with(
                &p,
                Algorithm::Ed25519,
                &pk,
                b"other message",
                &b(case, "sig")
            )
            .unwrap_err()
            .code(),
            ErrorCode::OperationFailed
        );
    }
}

#[test]
fn x25519_rfc7748() {
    let p = provider();
    let file = vectors("asymmetric.json");
    for case in cases(&file, "x25519") {
        let sk = import(
            &p,
            Algorithm::X25519,
            P::AGREE,
            KeyFormat::Pkcs8,
            &x25519_pkcs8(&b(case, "scalar")),
        );
        let params = AgreeKeyParams::builder()
            .algorithm(Algorithm::X25519)
            .peer_public(b(case, "u"))
            .output_algorithm(Algorithm::GenericSecret)
            .permissions(P::EXPORT.union(P::DERIVE))
            .exportable(true)
            .build()
            .unwrap();
        let shared = p.agree_key(&sk, &params).unwrap();
        assert_eq!(shared.export_secret().unwrap().to_vec(), b(case, "out"));
    }
    for case in cases(&file, "x25519_public") {
        let sk = import(
            &p,
            Algorithm::X25519,
            P::AGREE,
            KeyFormat::Pkcs8,
            &x25519_pkcs8(&b(case, "private")),
        );
        assert_eq!(sk.public_key(KeyFormat::Raw).unwrap(), b(case, "public"));
    }
    // Malformed peer key (wrong length) fails with KeyAgreementFailed or InvalidArgument.
    let sk = import(
        &p,
        Algorithm::X25519,
        P::AGREE,
        KeyFormat::Pkcs8,
        &x25519_pkcs8(&[5u8; 32]),
    );
    let params = AgreeKeyParams::builder()
        .algorithm(Algorithm::X25519)
        .peer_public(vec![1u8; 31])
        .output_algorithm(Algorithm::GenericSecret)
        .permissions(P::DERIVE)
        .build();
    if let Ok(params) = params {
        assert_eq!(
            p.agree_key(&sk, &params).unwrap_err().code(),
            ErrorCode::KeyAgreementFailed
        );
    }
}

#[test]
fn ecdsa_rfc6979_signatures_verify_and_tampering_fails() {
    let p = provider();
    let file = vectors("asymmetric.json");
    let both = [
        (Algorithm::EcdsaP256Sha256, "ecdsa_p256_sha256_verify"),
        (Algorithm::EcdsaP384Sha384, "ecdsa_p384_sha384_verify"),
    ];
    for (alg, case) in both
        .iter()
        .flat_map(|(a, k)| cases(&file, k).iter().map(move |c| (*a, c)))
    {
        let mut point = vec![4u8];
        point.extend(b(case, "ux"));
        point.extend(b(case, "uy"));
        let pk = Arc::new(import(&p, alg, P::VERIFY, KeyFormat::Raw, &point));
        // The same key through SubjectPublicKeyInfo round-trips to the same raw point.
        let spki = pk.public_key(KeyFormat::SubjectPublicKeyInfo).unwrap();
        let again = import(&p, alg, P::VERIFY, KeyFormat::SubjectPublicKeyInfo, &spki);
        assert_eq!(again.public_key(KeyFormat::Raw).unwrap(), point);
        let mut sig = b(case, "r");
        sig.extend(b(case, "s"));
        assert_eq!(verify_with(&p, alg, &pk, &b(case, "msg"), &sig).unwrap(), 0);
        let mut bad = sig.clone();
        bad[40] ^= 1;
        assert_eq!(
            verify_with(&p, alg, &pk, &b(case, "msg"), &bad)
                .unwrap_err()
                .code(),
            ErrorCode::OperationFailed
        );
        assert_eq!(
            verify_with(&p, alg, &pk, b"test", &sig).unwrap_err().code(),
            ErrorCode::OperationFailed
        );
    }
    // A point not on the curve is a malformed encoding.
    let mut off_curve = vec![4u8];
    off_curve.extend([1u8; 64]);
    let params = warden_core::ImportKeyParams::builder()
        .algorithm(Algorithm::EcdsaP256Sha256)
        .permissions(P::VERIFY)
        .format(KeyFormat::Raw)
        .build()
        .unwrap();
    assert_eq!(
        p.import_key(&params, &off_curve).unwrap_err().code(),
        ErrorCode::InvalidFormat
    );
}

#[test]
fn ml_dsa_keygen_acvp_seed_to_public_key() {
    let p = provider();
    let file = vectors("asymmetric.json");
    for case in cases(&file, "ml_dsa_keygen") {
        let alg = alg(case);
        let signing = match alg {
            Algorithm::MlDsa44 => &aws_lc_rs::signature::ML_DSA_44_SIGNING,
            Algorithm::MlDsa87 => &aws_lc_rs::signature::ML_DSA_87_SIGNING,
            _ => unreachable!(),
        };
        // Seeded keygen is aws-lc's; the key then enters warden through PKCS#8 import.
        let pair =
            aws_lc_rs::signature::PqdsaKeyPair::from_seed(signing, &b(case, "seed")).unwrap();
        let pkcs8 = pair.to_pkcs8v1().unwrap();
        let key = Arc::new(import(
            &p,
            alg,
            P::SIGN.union(P::VERIFY),
            KeyFormat::Pkcs8,
            pkcs8.as_ref(),
        ));
        let pk = key.public_key(KeyFormat::Raw).unwrap();
        if case.get("pk_prefix").is_some() {
            assert_eq!(pk[..32].to_vec(), b(case, "pk_prefix"));
        }
        assert_eq!(
            digest::digest(&digest::SHA256, &pk).as_ref(),
            b(case, "pk_sha256").as_slice()
        );
        // Signing is hedged (randomised), so signatures are checked by verification only.
        let sig = sign_with(&p, alg, &key, b"known-answer message");
        assert_eq!(
            verify_with(&p, alg, &key, b"known-answer message", &sig).unwrap(),
            0
        );
        assert_ne!(
            sign_with(&p, alg, &key, b"known-answer message"),
            sig,
            "hedged signing"
        );
        let mut bad = sig.clone();
        bad[0] ^= 1;
        assert_eq!(
            verify_with(&p, alg, &key, b"known-answer message", &bad)
                .unwrap_err()
                .code(),
            ErrorCode::OperationFailed
        );
    }
}

#[test]
fn ml_dsa_65_keygen_acvp_full_public_key() {
    let p = provider();
    let file = vectors("mldsa65_acvp_keygen.json");
    for case in cases(&file, "tests") {
        assert_eq!(
            Algorithm::from_name(s(case, "parameterSet")).unwrap(),
            Algorithm::MlDsa65
        );
        // Seeded keygen is aws-lc's (FIPS 204 ML-DSA.KeyGen_internal); the key then enters
        // warden through PKCS#8 import, and the whole published pk is compared.
        let pair = aws_lc_rs::signature::PqdsaKeyPair::from_seed(
            &aws_lc_rs::signature::ML_DSA_65_SIGNING,
            &b(case, "seed"),
        )
        .unwrap();
        let pkcs8 = pair.to_pkcs8v1().unwrap();
        let key = Arc::new(import(
            &p,
            Algorithm::MlDsa65,
            P::SIGN.union(P::VERIFY),
            KeyFormat::Pkcs8,
            pkcs8.as_ref(),
        ));
        let pk = key.public_key(KeyFormat::Raw).unwrap();
        assert_eq!(pk, b(case, "pk"));
        // The published pk, imported on its own, verifies what the imported private key signs.
        let public = Arc::new(import(
            &p,
            Algorithm::MlDsa65,
            P::VERIFY,
            KeyFormat::Raw,
            &pk,
        ));
        let sig = sign_with(&p, Algorithm::MlDsa65, &key, b"acvp keygen");
        assert_eq!(sig.len(), 3309);
        assert_eq!(
            verify_with(&p, Algorithm::MlDsa65, &public, b"acvp keygen", &sig).unwrap(),
            0
        );
        assert_eq!(
            verify_with(&p, Algorithm::MlDsa65, &public, b"acvp keygeN", &sig)
                .unwrap_err()
                .code(),
            ErrorCode::OperationFailed
        );
    }
}

#[test]
fn xwing_draft_vectors_keygen_and_decapsulation() {
    let p = provider();
    let file = vectors("xwing_draft.json");
    let list = file.as_array().unwrap();
    assert_eq!(list.len(), 3);
    for case in list {
        // A 32-byte Raw import is the private seed.
        let sk = import(
            &p,
            Algorithm::XWing,
            P::DECRYPT,
            KeyFormat::Raw,
            &b(case, "sk"),
        );
        assert_eq!(sk.public_key(KeyFormat::Raw).unwrap(), b(case, "pk"));
        let params = EncapsulateParams::builder()
            .algorithm(Algorithm::XWing)
            .permissions(P::EXPORT)
            .exportable(true)
            .build()
            .unwrap();
        let ss = p.decapsulate(&sk, &b(case, "ct"), &params).unwrap();
        assert_eq!(ss.export_secret().unwrap().to_vec(), b(case, "ss"));
        // Tampered ciphertext: implicit rejection gives a different secret, not an error.
        let mut bad = b(case, "ct");
        bad[5] ^= 1;
        let other = p.decapsulate(&sk, &bad, &params).unwrap();
        assert_ne!(other.export_secret().unwrap().to_vec(), b(case, "ss"));
        // Truncated ciphertext: typed error.
        assert_eq!(
            p.decapsulate(&sk, &b(case, "ct")[..100], &params)
                .unwrap_err()
                .code(),
            ErrorCode::InvalidArgument
        );
    }
}

#[test]
#[allow(deprecated)] // ml-kem marks the FIPS 203 expanded key encoding as legacy
fn ml_kem_768_cross_checked_against_rustcrypto() {
    use ml_kem::{Decapsulate, ExpandedKeyEncoding, KeyExport};
    let p = provider();
    for fill in [0u8, 0x5a, 0xff] {
        let seed = ml_kem::Seed::from([fill; 64]);
        let dk = ml_kem::DecapsulationKey::<ml_kem::MlKem768>::from_seed(seed);
        let expanded = dk.to_expanded_bytes();
        let ek_bytes = dk.encapsulation_key().to_bytes();
        let ours = import_exportable(
            &p,
            Algorithm::MlKem768,
            P::DECRYPT.union(P::EXPORT),
            KeyFormat::Raw,
            &expanded,
            true,
        );
        assert_eq!(ours.public_key(KeyFormat::Raw).unwrap(), ek_bytes.to_vec());
        assert_eq!(ours.export_secret().unwrap().to_vec(), expanded.to_vec());
        let params = EncapsulateParams::builder()
            .algorithm(Algorithm::MlKem768)
            .permissions(P::EXPORT)
            .exportable(true)
            .build()
            .unwrap();
        // RustCrypto encapsulates, aws-lc (through warden) decapsulates.
        let (ct, ss) = dk
            .encapsulation_key()
            .encapsulate_deterministic(&[fill ^ 1; 32].into());
        let got = p.decapsulate(&ours, &ct, &params).unwrap();
        assert_eq!(got.export_secret().unwrap().to_vec(), ss.to_vec());
        // warden (aws-lc) encapsulates to a public-only key, RustCrypto decapsulates.
        let public = import(
            &p,
            Algorithm::MlKem768,
            P::ENCRYPT,
            KeyFormat::Raw,
            &ek_bytes,
        );
        let (ct2, ss2) = p.encapsulate(&public, &params).unwrap();
        let ct2 = ml_kem::Ciphertext::<ml_kem::MlKem768>::try_from(ct2.as_slice()).unwrap();
        assert_eq!(
            dk.decapsulate(&ct2).to_vec(),
            ss2.export_secret().unwrap().to_vec()
        );
    }
    // A decapsulation key whose embedded H(ek) is wrong is rejected at import.
    let dk = ml_kem::DecapsulationKey::<ml_kem::MlKem768>::from_seed(ml_kem::Seed::from([1u8; 64]));
    let mut expanded = dk.to_expanded_bytes().to_vec();
    expanded[1152 + 1184] ^= 1;
    let params = warden_core::ImportKeyParams::builder()
        .algorithm(Algorithm::MlKem768)
        .permissions(P::DECRYPT)
        .format(KeyFormat::Raw)
        .build()
        .unwrap();
    assert_eq!(
        p.import_key(&params, &expanded).unwrap_err().code(),
        ErrorCode::InvalidFormat
    );
}

#[test]
fn slh_dsa_keygen_acvp() {
    let p = provider();
    let file = vectors("asymmetric.json");
    for case in cases(&file, "slh_dsa_keygen") {
        let alg = alg(case);
        let (seed, prf, pk_seed) = (b(case, "sk_seed"), b(case, "sk_prf"), b(case, "pk_seed"));
        // Seeded keygen (FIPS 205 slh_keygen_internal) is the RustCrypto crate's; the 64-byte
        // SK then enters warden as a Raw private-key import.
        let sk = match alg {
            Algorithm::SlhDsaSha2_128s => {
                slh_dsa::SigningKey::<slh_dsa::Sha2_128s>::slh_keygen_internal(
                    &seed, &prf, &pk_seed,
                )
                .to_bytes()
                .to_vec()
            }
            _ => slh_dsa::SigningKey::<slh_dsa::Sha2_128f>::slh_keygen_internal(
                &seed, &prf, &pk_seed,
            )
            .to_bytes()
            .to_vec(),
        };
        let key = Arc::new(import(
            &p,
            alg,
            P::SIGN.union(P::VERIFY),
            KeyFormat::Raw,
            &sk,
        ));
        assert_eq!(key.public_key(KeyFormat::Raw).unwrap(), b(case, "pk"));
    }
    // One sign/verify on the first ACVP key (128s signing is slow, so only once).
    let case = &cases(&file, "slh_dsa_keygen")[3];
    let sk = slh_dsa::SigningKey::<slh_dsa::Sha2_128f>::slh_keygen_internal(
        &b(case, "sk_seed"),
        &b(case, "sk_prf"),
        &b(case, "pk_seed"),
    );
    let key = Arc::new(import(
        &p,
        Algorithm::SlhDsaSha2_128f,
        P::SIGN.union(P::VERIFY),
        KeyFormat::Raw,
        &sk.to_bytes(),
    ));
    let sig = sign_with(&p, Algorithm::SlhDsaSha2_128f, &key, b"acvp");
    assert_eq!(sig.len(), 17088);
    assert_eq!(
        verify_with(&p, Algorithm::SlhDsaSha2_128f, &key, b"acvp", &sig).unwrap(),
        0
    );
    assert_eq!(
        verify_with(&p, Algorithm::SlhDsaSha2_128f, &key, b"acvq", &sig)
            .unwrap_err()
            .code(),
        ErrorCode::OperationFailed
    );
}
