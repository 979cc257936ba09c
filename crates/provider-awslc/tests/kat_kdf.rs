//! Known-answer tests for every KDF (direct functions and through `Provider::derive_key`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

mod common;

use common::*;
use warden_core::{
    Algorithm, DeriveKeyParams, ErrorCode, ImportKeyParams, KdfParameters, KeyFormat,
    KeyOperationPermission as P,
};
use warden_provider_awslc::{Provider, kdf};

fn derive_via_provider(kdf_params: KdfParameters, secret: &[u8], out_len: usize) -> Vec<u8> {
    let p = provider();
    let base = import(
        &p,
        Algorithm::GenericSecret,
        P::DERIVE,
        KeyFormat::Raw,
        secret,
    );
    let params = DeriveKeyParams::builder()
        .kdf(kdf_params)
        .output_algorithm(Algorithm::GenericSecret)
        .output_len(u32::try_from(out_len).unwrap())
        .permissions(P::EXPORT)
        .exportable(true)
        .build()
        .unwrap();
    p.derive_key(&base, &params)
        .unwrap()
        .export_secret()
        .unwrap()
        .to_vec()
}

#[test]
fn hkdf_rfc5869() {
    let file = vectors("kdf.json");
    for case in cases(&file, "hkdf") {
        let okm = b(case, "okm");
        let mut out = vec![0u8; okm.len()];
        kdf::hkdf(
            Algorithm::Sha256,
            &b(case, "ikm"),
            &b(case, "salt"),
            &b(case, "info"),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, okm);
        let params = KdfParameters::Hkdf {
            hash: Algorithm::Sha256,
            salt: b(case, "salt"),
            info: b(case, "info"),
        };
        assert_eq!(derive_via_provider(params, &b(case, "ikm"), okm.len()), okm);
    }
}

#[test]
fn pbkdf2_hmac_sha256_rfc7914() {
    let file = vectors("kdf.json");
    for case in cases(&file, "pbkdf2_sha256") {
        let dk = b(case, "dk");
        let iterations = u32::try_from(case["iterations"].as_u64().unwrap()).unwrap();
        let mut out = vec![0u8; dk.len()];
        kdf::pbkdf2_hmac_sha256(&b(case, "password"), &b(case, "salt"), iterations, &mut out)
            .unwrap();
        assert_eq!(out, dk);
    }
    let case = &cases(&file, "pbkdf2_sha256")[0];
    let params = KdfParameters::Pbkdf2 {
        salt: b(case, "salt"),
        iterations: 1,
    };
    assert_eq!(
        derive_via_provider(params, &b(case, "password"), 64),
        b(case, "dk")
    );
    assert_eq!(
        kdf::pbkdf2_hmac_sha256(b"p", b"s", 0, &mut [0u8; 8])
            .unwrap_err()
            .code(),
        ErrorCode::InvalidArgument
    );
}

#[test]
fn tls12_prf_sha256_published_vector() {
    let file = vectors("kdf.json");
    for case in cases(&file, "tls12_prf_sha256") {
        let expected = b(case, "out");
        let mut out = vec![0u8; expected.len()];
        kdf::tls12_prf_sha256(
            &b(case, "secret"),
            &b(case, "label"),
            &b(case, "seed"),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, expected);
        let params = KdfParameters::Tls12Prf {
            label: b(case, "label"),
            seed: b(case, "seed"),
        };
        assert_eq!(
            derive_via_provider(params, &b(case, "secret"), expected.len()),
            expected
        );
    }
}

#[test]
fn tls13_expand_label_rfc8448() {
    let file = vectors("kdf.json");
    for case in cases(&file, "tls13_expand_label_sha256") {
        let expected = b(case, "out");
        let mut out = vec![0u8; expected.len()];
        kdf::tls13_expand_label_sha256(
            &b(case, "secret"),
            &b(case, "label"),
            &b(case, "context"),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, expected, "{case}");
        let params = KdfParameters::Tls13ExpandLabel {
            label: b(case, "label"),
            context: b(case, "context"),
        };
        assert_eq!(
            derive_via_provider(params, &b(case, "secret"), expected.len()),
            expected
        );
    }
    let too_long = vec![b'a'; kdf::TLS13_MAX_LABEL_LEN + 1];
    assert_eq!(
        kdf::tls13_expand_label_sha256(&[1; 32], &too_long, &[], &mut [0u8; 16])
            .unwrap_err()
            .code(),
        ErrorCode::InvalidArgument
    );
}

#[test]
fn sp800_108_counter_hmac_sha256_rfc8009() {
    let file = vectors("kdf.json");
    for case in cases(&file, "sp800_108_ctr_hmac_sha256") {
        let expected = b(case, "out");
        let mut out = vec![0u8; expected.len()];
        kdf::sp800_108_ctr_hmac_sha256(
            &b(case, "key"),
            &b(case, "label"),
            &b(case, "context"),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, expected);
        let params = KdfParameters::Sp800108CounterHmac {
            label: b(case, "label"),
            context: b(case, "context"),
        };
        assert_eq!(
            derive_via_provider(params, &b(case, "key"), expected.len()),
            expected
        );
    }
}

#[test]
fn derive_checks_permission_and_key_type() {
    let p = provider();
    let params = DeriveKeyParams::builder()
        .kdf(KdfParameters::Hkdf {
            hash: Algorithm::Sha256,
            salt: vec![],
            info: vec![],
        })
        .output_algorithm(Algorithm::Aes256Key)
        .permissions(P::ENCRYPT)
        .build()
        .unwrap();
    let no_derive = import(
        &p,
        Algorithm::GenericSecret,
        P::EXPORT,
        KeyFormat::Raw,
        &[1u8; 32],
    );
    assert_eq!(
        p.derive_key(&no_derive, &params).unwrap_err().code(),
        ErrorCode::KeyOperationNotPermitted
    );
    let aes = import(
        &p,
        Algorithm::Aes256Key,
        P::ENCRYPT,
        KeyFormat::Raw,
        &[1u8; 32],
    );
    assert_eq!(
        p.derive_key(&aes, &params).unwrap_err().code(),
        ErrorCode::IncompatibleKeyType
    );
    // Issue 11: an HMAC key is never a KDF input (PBKDF2 with one iteration would compute
    // its MACs), and it cannot even carry DERIVE.
    let hmac = import(&p, Algorithm::HmacKey, P::MAC, KeyFormat::Raw, &[1u8; 32]);
    assert_eq!(
        p.derive_key(&hmac, &params).unwrap_err().code(),
        ErrorCode::IncompatibleKeyType
    );
    for (alg, bits) in [
        (Algorithm::HmacKey, P::MAC | P::DERIVE),
        (Algorithm::Aes256Key, P::DERIVE),
        (Algorithm::GenericSecret, P::DERIVE | P::MAC),
    ] {
        let err = ImportKeyParams::builder()
            .algorithm(alg)
            .permissions(bits)
            .build()
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidArgument, "{alg} {bits}");
    }
    let ok = import(
        &p,
        Algorithm::GenericSecret,
        P::DERIVE,
        KeyFormat::Raw,
        &[1u8; 32],
    );
    let derived = p.derive_key(&ok, &params).unwrap();
    assert_eq!(derived.algorithm(), Algorithm::Aes256Key);
    assert_eq!(derived.secret_len(), Some(32));
    assert_eq!(
        derived.export_secret().unwrap_err().code(),
        ErrorCode::KeyNotExportable
    );
}

#[test]
fn pbkdf2_within_rfc7914_and_deadline() {
    let file = vectors("kdf.json");
    for case in cases(&file, "pbkdf2_sha256") {
        let dk = b(case, "dk");
        let iterations = u32::try_from(case["iterations"].as_u64().unwrap()).unwrap();
        let mut out = vec![0u8; dk.len()];
        kdf::pbkdf2_hmac_sha256_within(
            &b(case, "password"),
            &b(case, "salt"),
            iterations,
            &mut out,
            &|| false,
        )
        .unwrap();
        assert_eq!(out, dk);
    }
    // A deadline that passes mid-way stops the work with OperationTimedOut and no output.
    let calls = std::cell::Cell::new(0u32);
    let mut out = [0xAAu8; 40];
    let err = kdf::pbkdf2_hmac_sha256_within(b"p", b"s", 10_000_000, &mut out, &|| {
        calls.set(calls.get() + 1);
        calls.get() > 3
    })
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::OperationTimedOut);
    assert_eq!(calls.get(), 4, "asked before starting and once per chunk");
    assert_eq!(out, [0u8; 40]);
    // Already past: nothing runs.
    let err = kdf::pbkdf2_hmac_sha256_within(b"p", b"s", 1, &mut out, &|| true).unwrap_err();
    assert_eq!(err.code(), ErrorCode::OperationTimedOut);
    // Through the provider: the deadline reaches the KDF; without one the result is aws-lc's.
    let p = provider();
    let base = import(
        &p,
        Algorithm::GenericSecret,
        P::DERIVE,
        KeyFormat::Raw,
        b"pw",
    );
    let params = DeriveKeyParams::builder()
        .kdf(KdfParameters::Pbkdf2 {
            salt: b"salt".to_vec(),
            iterations: 10_000_000,
        })
        .output_algorithm(Algorithm::GenericSecret)
        .output_len(32)
        .permissions(P::EXPORT)
        .exportable(true)
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let deadline = started + std::time::Duration::from_millis(20);
    let err = p
        .derive_key_within(&base, &params, &|| std::time::Instant::now() >= deadline)
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::OperationTimedOut);
    // 10M iterations take seconds; stopping took about the deadline (generous bound for CI).
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// The chunked PBKDF2 equals aws-lc's one-call `pbkdf2::derive` on arbitrary inputs,
    /// including outputs that end mid-block and iteration counts across chunk borders.
    #[test]
    fn pbkdf2_within_matches_aws_lc(
        password in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80),
        salt in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
        iterations in 1u32..3000,
        len in 1usize..100,
    ) {
        let mut ours = vec![0u8; len];
        let mut theirs = vec![0u8; len];
        kdf::pbkdf2_hmac_sha256_within(&password, &salt, iterations, &mut ours, &|| false)
            .unwrap();
        kdf::pbkdf2_hmac_sha256(&password, &salt, iterations, &mut theirs).unwrap();
        proptest::prop_assert_eq!(ours, theirs);
    }
}
