//! Action permits through a real `wardend` (issue 6): admin-only trust store and policies,
//! every deny reason over the wire, receipts that verify offline with the attestation public
//! key as one unbroken chain, and replay protection that survives a daemon restart.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

use warden_attest::{
    Decision, DenyReason, LocalSigner, PermitClaims, PublicKey, SigAlg, Signer, issue_permit,
    sha256, verify_chain, verify_receipt,
};
use warden_client::{CryptoStack, ErrorCode, PermitDecision};
use warden_e2e::persistent::{Wardend, audit_lines, config, my_uid, now};

const AUDIENCE: &str = "wardend@e2e"; // set by warden_e2e::persistent::config

/// A permit, the action/resource/intent presented with it, and the expected denial.
type Case<'a> = (Vec<u8>, &'a str, &'a str, &'a [u8], DenyReason);

fn claims(issuer: &str, id: &str, action: &str, resource: &str, intent: &[u8]) -> PermitClaims {
    PermitClaims {
        issuer: issuer.into(),
        subject: "agent-7".into(),
        audience: AUDIENCE.into(),
        not_before: now() - 60,
        expires: now() + 600,
        permit_id: id.as_bytes().to_vec(),
        action: action.into(),
        resource: resource.into(),
        max_uses: None,
        intent_hash: sha256(intent),
    }
}

fn attestation_key(stack: &CryptoStack) -> PublicKey {
    let (alg, raw) = stack.attestation_public_key().unwrap();
    PublicKey::new(SigAlg::from_name(&alg).unwrap(), &raw).unwrap()
}

/// Verifies and checks the receipt against the decision it came with.
fn check_receipt(d: &PermitDecision, key: &PublicKey, intent: &[u8]) {
    let body = verify_receipt(&d.receipt, key).unwrap();
    assert_eq!(body.counter, d.counter);
    assert_eq!(body.reason, d.reason);
    assert_eq!(body.intent_hash, sha256(intent));
    let expect = if d.allowed {
        Decision::Allow
    } else {
        Decision::Deny
    };
    assert_eq!(body.decision, expect);
}

fn policy_module() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/policies/allow_action.wat"
    );
    wat::parse_file(path).unwrap()
}

#[test]
fn admin_operations_need_an_admin() {
    let root = tempfile::tempdir().unwrap();
    let d = Wardend::start(root.path(), &config(&[]));
    let s = d.stack();
    let issuer = LocalSigner::generate(SigAlg::Ed25519).unwrap();
    let pk = issuer.public_key().unwrap();
    let err = s.trust_add("iss", "ED25519", pk.as_bytes()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::AccessDenied);
    let err = s
        .policy_load("read_file", "warden", &policy_module())
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::AccessDenied);
    assert_eq!(
        s.policy_unload("read_file").unwrap_err().code(),
        ErrorCode::AccessDenied
    );
    assert_eq!(
        s.trust_remove("iss").unwrap_err().code(),
        ErrorCode::AccessDenied
    );
    assert_eq!(
        s.export_receipts(1).unwrap_err().code(),
        ErrorCode::AccessDenied
    );
    // Reading is open to everyone.
    assert!(s.trust_list().unwrap().is_empty());
    assert!(s.policy_list().unwrap().is_empty());
    let key = attestation_key(&s);
    assert_eq!(key.alg(), SigAlg::Ed25519);
    let log = audit_lines(&d).join("\n");
    assert!(
        log.contains("\"op\":\"trust.add\"") && log.contains("\"result\":\"AccessDenied\""),
        "{log}"
    );
}

#[test]
fn permits_receipts_and_replay_across_restart() {
    let root = tempfile::tempdir().unwrap();
    let admin = config(&[my_uid()]);
    let d = Wardend::start(root.path(), &admin);
    let s = d.stack();
    let att = attestation_key(&s);
    let mut receipts: Vec<Vec<u8>> = Vec::new();

    let issuer = LocalSigner::generate(SigAlg::Ed25519).unwrap();
    let pk = issuer.public_key().unwrap();
    s.trust_add("issuer-a", "ED25519", pk.as_bytes()).unwrap();
    assert_eq!(
        s.trust_add("issuer-b", "RSA", &[1; 32]).unwrap_err().code(),
        ErrorCode::UnsupportedAlgorithm
    );
    assert_eq!(
        s.trust_add("issuer-b", "ED25519", &[1; 31])
            .unwrap_err()
            .code(),
        ErrorCode::InvalidArgument
    );
    let trusted = s.trust_list().unwrap();
    assert_eq!(trusted.len(), 1);
    assert_eq!(trusted[0].issuer, "issuer-a");
    assert_eq!(trusted[0].public_key, pk.as_bytes());

    let intent = b"{\"path\":\"/etc/motd\"}";
    let mut verify = |permit: &[u8], action: &str, resource: &str, intent: &[u8]| {
        let dec = s.verify_permit(permit, action, resource, intent).unwrap();
        check_receipt(&dec, &att, intent);
        receipts.push(dec.receipt.clone());
        dec
    };

    // Allowed once, then a replay.
    let p1 = issue_permit(
        &issuer,
        &claims("issuer-a", "p1", "read_file", "/etc/motd", intent),
    )
    .unwrap();
    let ok = verify(&p1, "read_file", "/etc/motd", intent);
    assert!(ok.allowed, "{ok:?}");
    assert_eq!(ok.reason, 0);
    let again = verify(&p1, "read_file", "/etc/motd", intent);
    assert!(!again.allowed);
    assert_eq!(again.reason, DenyReason::Replayed.as_u32());
    assert_eq!(again.counter, ok.counter + 1);

    // Each check has its own reason.
    let mut wrong_aud = claims("issuer-a", "p2", "read_file", "/etc/motd", intent);
    wrong_aud.audience = "someone-else".into();
    let mut expired = claims("issuer-a", "p3", "read_file", "/etc/motd", intent);
    expired.not_before = now() - 7200;
    expired.expires = now() - 3600;
    let stranger = LocalSigner::generate(SigAlg::Ed25519).unwrap();
    let cases: Vec<Case<'_>> = vec![
        (
            issue_permit(&issuer, &wrong_aud).unwrap(),
            "read_file",
            "/etc/motd",
            intent,
            DenyReason::WrongAudience,
        ),
        (
            issue_permit(&issuer, &expired).unwrap(),
            "read_file",
            "/etc/motd",
            intent,
            DenyReason::Expired,
        ),
        (
            issue_permit(
                &issuer,
                &claims("issuer-a", "p5", "read_file", "/etc/motd", intent),
            )
            .unwrap(),
            "read_file",
            "/etc/motd",
            b"{\"path\":\"/etc/shadow\"}",
            DenyReason::IntentMismatch,
        ),
        (
            issue_permit(
                &issuer,
                &claims("issuer-a", "p6", "read_file", "/etc/motd", intent),
            )
            .unwrap(),
            "delete_file",
            "/etc/motd",
            intent,
            DenyReason::ActionMismatch,
        ),
    ];
    for (permit, action, resource, intent, why) in &cases {
        let dec = verify(permit, action, resource, intent);
        assert!(!dec.allowed);
        assert_eq!(dec.reason, why.as_u32(), "expected {why:?}");
    }
    // A permit whose signature was altered.
    let mut tampered = issue_permit(
        &issuer,
        &claims("issuer-a", "p7", "read_file", "/etc/motd", intent),
    )
    .unwrap();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    // Unauthenticated permits (altered signature, unknown issuer) are refused with a
    // typed error and get no receipt.
    let err = s
        .verify_permit(&tampered, "read_file", "/etc/motd", intent)
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::CertificateVerifyFailed, "{err}");
    let untrusted = issue_permit(
        &stranger,
        &claims("issuer-x", "p4", "read_file", "/etc/motd", intent),
    )
    .unwrap();
    let err = s
        .verify_permit(&untrusted, "read_file", "/etc/motd", intent)
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::TrustAnchorNotFound, "{err}");

    // Max uses.
    let mut twice = claims("issuer-a", "p8", "read_file", "/etc/motd", intent);
    twice.max_uses = Some(2);
    let twice = issue_permit(&issuer, &twice).unwrap();
    assert!(verify(&twice, "read_file", "/etc/motd", intent).allowed);
    assert!(verify(&twice, "read_file", "/etc/motd", intent).allowed);
    assert_eq!(
        verify(&twice, "read_file", "/etc/motd", intent).reason,
        DenyReason::MaxUsesExceeded.as_u32()
    );

    // A policy decides after the permit checks.
    let module = policy_module();
    let hash = s.policy_load("read_file", "warden", &module).unwrap();
    assert_eq!(hash, sha256(&module));
    s.policy_load("write_file", "warden", &module).unwrap();
    assert_eq!(
        s.policy_load("bad", "warden", b"\0asm garbage")
            .unwrap_err()
            .code(),
        ErrorCode::InvalidFormat
    );
    let policies = s.policy_list().unwrap();
    assert_eq!(policies.len(), 2);
    assert_eq!(policies[0].sha256, hash);
    let read = issue_permit(
        &issuer,
        &claims("issuer-a", "p9", "read_file", "/tmp/x", intent),
    )
    .unwrap();
    assert!(verify(&read, "read_file", "/tmp/x", intent).allowed);
    let write = issue_permit(
        &issuer,
        &claims("issuer-a", "p10", "write_file", "/tmp/x", intent),
    )
    .unwrap();
    let dec = verify(&write, "write_file", "/tmp/x", intent);
    assert_eq!(dec.reason, DenyReason::PolicyDenied.as_u32());
    let body = verify_receipt(&dec.receipt, &att).unwrap();
    assert_eq!(body.policy_hash, Some(hash));
    s.policy_unload("write_file").unwrap();
    let last_counter = dec.counter;
    drop(s);
    d.stop();

    // After a restart: same attestation key, trust and policies kept, replay still denied,
    // and the receipt chain continues.
    let d = Wardend::start(root.path(), &admin);
    let s = d.stack();
    assert_eq!(attestation_key(&s), att);
    assert_eq!(s.trust_list().unwrap().len(), 1);
    assert_eq!(s.policy_list().unwrap().len(), 1);
    let dec = s
        .verify_permit(&p1, "read_file", "/etc/motd", intent)
        .unwrap();
    assert_eq!(dec.reason, DenyReason::Replayed.as_u32());
    assert_eq!(dec.counter, last_counter + 1);
    receipts.push(dec.receipt.clone());
    let dec = s
        .verify_permit(&twice, "read_file", "/etc/motd", intent)
        .unwrap();
    assert_eq!(dec.reason, DenyReason::MaxUsesExceeded.as_u32());
    receipts.push(dec.receipt);

    // The whole run is one chain, verifiable offline with only the public key.
    let all: Vec<&[u8]> = receipts.iter().map(Vec::as_slice).collect();
    let bodies = verify_chain(&all, &att).unwrap();
    assert_eq!(bodies.first().unwrap().counter, 1);
    let mut removed = all.clone();
    removed.remove(3);
    assert!(verify_chain(&removed, &att).is_err(), "a removed receipt");
    let mut altered = receipts[4].clone();
    let mid = altered.len() / 2;
    altered[mid] ^= 0x20;
    let mut with_altered = all.clone();
    with_altered[4] = &altered;
    assert!(
        verify_chain(&with_altered, &att).is_err(),
        "an altered receipt"
    );
    // Another key does not verify them.
    let other = LocalSigner::generate(SigAlg::Ed25519)
        .unwrap()
        .public_key()
        .unwrap();
    assert!(verify_receipt(&receipts[0], &other).is_err());
    // Denied decisions are in the audit log.
    let log = audit_lines(&d).join("\n");
    assert!(log.contains("\"op\":\"permit.verify\""), "{log}");
    assert!(log.contains("\"op\":\"policy.load\""), "{log}");
}

#[test]
fn ml_dsa_attestation_key_from_config() {
    let root = tempfile::tempdir().unwrap();
    let cfg = format!("{}attestation_alg = \"ML-DSA-65\"\n", config(&[my_uid()]));
    let d = Wardend::start(root.path(), &cfg);
    let s = d.stack();
    let att = attestation_key(&s);
    assert_eq!(att.alg(), SigAlg::MlDsa65);
    let issuer = LocalSigner::generate(SigAlg::MlDsa65).unwrap();
    assert_eq!(issuer.alg(), SigAlg::MlDsa65);
    s.trust_add("pq", "ML-DSA-65", issuer.public_key().unwrap().as_bytes())
        .unwrap();
    let intent = b"launch";
    let permit = issue_permit(&issuer, &claims("pq", "q1", "launch", "pad-39a", intent)).unwrap();
    let dec = s
        .verify_permit(&permit, "launch", "pad-39a", intent)
        .unwrap();
    assert!(dec.allowed, "{dec:?}");
    check_receipt(&dec, &att, intent);
    drop(s);
    d.stop();
    // A changed algorithm in the config must not silently rotate the key.
    let err = Wardend::try_start(root.path(), &config(&[my_uid()]))
        .err()
        .expect("daemon must refuse a different attestation algorithm");
    assert!(err.contains("permit service"), "{err}");
}

#[test]
fn sandbox_limits_come_from_the_config() {
    let root = tempfile::tempdir().unwrap();
    let module = policy_module();
    // A cap just below this module's size: `policy load` must refuse it with a typed error.
    let cfg = format!(
        "{}[permits.sandbox]\nmax_module_bytes = {}\n",
        config(&[my_uid()]),
        module.len() - 1
    );
    let d = Wardend::start(root.path(), &cfg);
    let s = d.stack();
    let err = s.policy_load("read_file", "warden", &module).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidFormat, "{err}");
    assert!(s.policy_list().unwrap().is_empty());
    drop(s);
    d.stop();
    // With the default cap the same module loads.
    let d = Wardend::start(root.path(), &config(&[my_uid()]));
    let s = d.stack();
    s.policy_load("read_file", "warden", &module).unwrap();
    assert_eq!(s.policy_list().unwrap().len(), 1);
}
