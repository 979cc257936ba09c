//! Published known-answer tests for SLH-DSA-SHA2-128s / -128f *verification* (FIPS 205, pure
//! mode, empty context: exactly what the provider's Verify context does).
//!
//! Vectors: NIST ACVP (`usnistgov/ACVP-Server`, vsId 53), see `source` in
//! `tests/vectors/slhdsa_acvp_sigver.json`. Only `external` / `pure` groups and only cases with an
//! empty context are used. The ACVP sigVer file has no accepted (testPassed = true) case with an
//! empty context for these two parameter sets, so the signatures that must verify are ACVP sigGen
//! answers (deterministic signing, published signature); the signatures that must be refused are
//! ACVP sigVer cases with testPassed = false. Keys enter through the provider as Raw public keys.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

mod common;

use std::sync::Arc;

use common::*;
use serde_json::Value;
use warden_core::{Algorithm, ErrorCode, KeyFormat, KeyOperationPermission as P};
use warden_provider_awslc::{ContextKind, Key, Provider};

const FILE: &str = "slhdsa_acvp_sigver.json";

fn alg_of(case: &Value) -> Algorithm {
    match s(case, "parameterSet") {
        "SLH-DSA-SHA2-128s" => Algorithm::SlhDsaSha2_128s,
        "SLH-DSA-SHA2-128f" => Algorithm::SlhDsaSha2_128f,
        other => panic!("unexpected parameter set {other}"),
    }
}

fn sig_len(alg: Algorithm) -> usize {
    match alg {
        Algorithm::SlhDsaSha2_128s => 7856,
        _ => 17088,
    }
}

fn label(case: &Value) -> String {
    format!(
        "{} tgId {} tcId {}",
        s(case, "parameterSet"),
        case["tgId"],
        case["tcId"]
    )
}

/// Every case used must be one the provider can express: external interface, pure mode,
/// empty context.
fn assert_provider_shape(case: &Value) {
    let id = label(case);
    assert_eq!(s(case, "signatureInterface"), "external", "{id}");
    assert_eq!(s(case, "preHash"), "pure", "{id}");
    assert_eq!(s(case, "context"), "", "{id}: context must be empty");
}

fn import_public(p: &dyn Provider, alg: Algorithm, pk: &[u8]) -> Arc<Key> {
    assert_eq!(pk.len(), 32);
    Arc::new(import(p, alg, P::VERIFY, KeyFormat::Raw, pk))
}

/// Verifies `sig` over `msg` with a fresh Verify context; the message goes in 7-byte updates so
/// the buffered streaming path is the one under test.
fn verify(
    p: &dyn Provider,
    alg: Algorithm,
    key: &Arc<Key>,
    msg: &[u8],
    sig: &[u8],
) -> warden_core::Result<usize> {
    let mut ctx = context(p, ContextKind::Verify, alg, None, Some(key.clone()));
    ctx.init(&[])?;
    for piece in msg.chunks(7) {
        ctx.update(piece, &mut [])?;
    }
    ctx.finalize(sig, &mut [])
}

fn assert_refused(r: warden_core::Result<usize>, what: &str) {
    match r {
        Ok(_) => panic!("{what}: verified but must be refused"),
        Err(e) => assert_eq!(e.code(), ErrorCode::OperationFailed, "{what}"),
    }
}

#[test]
fn slh_dsa_acvp_published_signatures_verify() {
    let p = provider();
    let file = vectors(FILE);
    let list = cases(&file, "valid_siggen");
    let mut seen = Vec::new();
    for case in list {
        assert_provider_shape(case);
        let (alg, id) = (alg_of(case), label(case));
        // FIPS 205 SK = SK.seed || SK.prf || PK.seed || PK.root; PK = PK.seed || PK.root.
        let sk = b(case, "sk");
        assert_eq!(sk.len(), 64, "{id}");
        let pk = &sk[32..];
        let (msg, sig) = (b(case, "message"), b(case, "signature"));
        assert_eq!(sig.len(), sig_len(alg), "{id}");

        let key = import_public(&p, alg, pk);
        assert_eq!(verify(&p, alg, &key, &msg, &sig).unwrap(), 0, "{id}");
        // The whole message in a single update as well.
        let mut ctx = context(&p, ContextKind::Verify, alg, None, Some(key.clone()));
        ctx.init(&[]).unwrap();
        ctx.update(&msg, &mut []).unwrap();
        assert_eq!(ctx.finalize(&sig, &mut []).unwrap(), 0, "{id}");

        // The published SK imported as a Raw private key has the same public key, and verifies.
        let private = Arc::new(import(
            &p,
            alg,
            P::SIGN.union(P::VERIFY),
            KeyFormat::Raw,
            &sk,
        ));
        assert_eq!(private.public_key(KeyFormat::Raw).unwrap(), pk, "{id}");
        assert_eq!(verify(&p, alg, &private, &msg, &sig).unwrap(), 0, "{id}");

        // Derived from the published case (not published themselves): each must be refused.
        let mut flipped = sig.clone();
        flipped[sig.len() / 2] ^= 0x01;
        assert_refused(
            verify(&p, alg, &key, &msg, &flipped),
            &format!("{id} flipped sig"),
        );
        let mut r_flipped = sig.clone();
        r_flipped[0] ^= 0x80;
        assert_refused(
            verify(&p, alg, &key, &msg, &r_flipped),
            &format!("{id} flipped R"),
        );
        let mut other_msg = msg.clone();
        other_msg[0] ^= 0x01;
        assert_refused(
            verify(&p, alg, &key, &other_msg, &sig),
            &format!("{id} other msg"),
        );
        assert_refused(
            verify(&p, alg, &key, &msg, &sig[..sig.len() - 1]),
            &format!("{id} short sig"),
        );
        let mut long = sig.clone();
        long.push(0);
        assert_refused(
            verify(&p, alg, &key, &msg, &long),
            &format!("{id} long sig"),
        );
        seen.push(alg);
    }
    assert!(seen.contains(&Algorithm::SlhDsaSha2_128s));
    assert!(seen.contains(&Algorithm::SlhDsaSha2_128f));
}

#[test]
fn slh_dsa_acvp_sigver_invalid_cases_are_refused() {
    let p = provider();
    let file = vectors(FILE);
    let list = cases(&file, "invalid_sigver");
    let mut seen = Vec::new();
    for case in list {
        assert_provider_shape(case);
        let (alg, id) = (alg_of(case), label(case));
        assert_eq!(case["testPassed"], Value::Bool(false), "{id}");
        let key = import_public(&p, alg, &b(case, "pk"));
        let (msg, sig) = (b(case, "message"), b(case, "signature"));
        assert_refused(verify(&p, alg, &key, &msg, &sig), &id);
        seen.push(alg);
    }
    assert!(seen.contains(&Algorithm::SlhDsaSha2_128s));
    assert!(seen.contains(&Algorithm::SlhDsaSha2_128f));
}
