//! Every deny reason of an authenticated permit ends up in a receipt that verifies under the
//! attestation public key; unauthenticated input (malformed, untrusted issuer, bad
//! signature) is refused with a typed error and leaves the chain and replay table alone;
//! replay is caught also after a restart.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use warden_attest::{
    Decision, DenyReason, LocalSigner, SigAlg, sha256, verify_chain, verify_receipt,
};
use warden_permits::{PermitDecision, PermitError, PermitService};

mod common;
use common::*;

/// Verifies the decision's receipt and checks that it records `reason` and the permit id.
fn assert_receipt(svc: &PermitService, d: &PermitDecision, reason: Option<DenyReason>, id: &[u8]) {
    assert_eq!(d.allowed, reason.is_none(), "{d:?}");
    assert_eq!(d.reason, reason);
    let body = verify_receipt(&d.receipt, &svc.attestation_public_key()).unwrap();
    assert_eq!(body.counter, d.counter);
    assert_eq!(body.reason, reason.map_or(0, DenyReason::as_u32));
    assert_eq!(
        body.decision,
        if reason.is_none() {
            Decision::Allow
        } else {
            Decision::Deny
        }
    );
    assert_eq!(body.permit_id, id);
    assert_eq!(body.intent_hash, sha256(PAYLOAD));
    assert_eq!(body.policy_hash, None);
}

fn decide(svc: &PermitService, permit: &[u8]) -> PermitDecision {
    svc.verify_permit(permit, ACTION, RESOURCE, PAYLOAD, NOW)
        .unwrap()
}

#[test]
fn every_reason_is_signed_into_a_receipt_and_the_chain_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let signer = issuer();
    let svc = trusting(dir.path(), &signer);

    // Allowed.
    let ok = permit(&signer, &claims("ok-1"));
    assert_receipt(&svc, &decide(&svc, &ok), None, b"ok-1");

    // Unauthenticated input: a typed error, no receipt, the chain head does not move.
    let refused = |permit: &[u8], why: DenyReason| {
        let before = svc.chain_head().unwrap();
        let err = svc
            .verify_permit(permit, ACTION, RESOURCE, PAYLOAD, NOW)
            .unwrap_err();
        assert!(
            matches!(err, PermitError::Unauthenticated(r) if r == why),
            "{err:?}"
        );
        assert_eq!(svc.chain_head().unwrap(), before, "{why} was chained");
    };
    // Tampered signature: flip the last byte (inside the signature).
    let mut tampered = permit(&signer, &claims("tampered"));
    *tampered.last_mut().unwrap() ^= 0x01;
    refused(&tampered, DenyReason::BadSignature);
    // Untrusted issuer: same claims, signed by a key the service does not trust...
    let stranger = LocalSigner::generate(SigAlg::Ed25519).unwrap();
    refused(
        &permit(&stranger, &claims("stranger")),
        DenyReason::BadSignature,
    );
    // ...and under an issuer name the trust store does not know.
    let mut c = claims("unknown-issuer");
    c.issuer = "someone-else".into();
    refused(&permit(&signer, &c), DenyReason::UntrustedIssuer);
    // Garbage.
    refused(b"\xff\x00 not cbor", DenyReason::Malformed);
    // The refusals recorded no use: the tampered permit's id is still fresh once signed.
    assert_receipt(
        &svc,
        &decide(&svc, &permit(&signer, &claims("tampered"))),
        None,
        b"tampered",
    );

    type Edit = fn(&mut warden_attest::PermitClaims);
    let cases: Vec<(&str, Edit, DenyReason)> = vec![
        (
            "aud",
            |c| c.audience = "wardend@other".into(),
            DenyReason::WrongAudience,
        ),
        ("exp", |c| c.expires = NOW - 31, DenyReason::Expired),
        ("nbf", |c| c.not_before = NOW + 31, DenyReason::NotYetValid),
        (
            "intent",
            |c| c.intent_hash = sha256(b"something else"),
            DenyReason::IntentMismatch,
        ),
        (
            "action",
            |c| c.action = "actuator.reset".into(),
            DenyReason::ActionMismatch,
        ),
        (
            "resource",
            |c| c.resource = "valve/4".into(),
            DenyReason::ResourceMismatch,
        ),
    ];
    for (id, edit, reason) in cases {
        let mut c = claims(id);
        edit(&mut c);
        let p = permit(&signer, &c);
        assert_receipt(&svc, &decide(&svc, &p), Some(reason), id.as_bytes());
    }

    // Within the 30 s leeway, both ends of the window are still accepted.
    let mut c = claims("leeway");
    c.expires = NOW - 29;
    c.not_before = NOW + 29;
    assert_receipt(&svc, &decide(&svc, &permit(&signer, &c)), None, b"leeway");

    // Replay of a single-use permit.
    assert_receipt(
        &svc,
        &decide(&svc, &ok),
        Some(DenyReason::Replayed),
        b"ok-1",
    );

    // Max uses: three allowed, the fourth denied.
    let mut c = claims("thrice");
    c.max_uses = Some(3);
    let thrice = permit(&signer, &c);
    for _ in 0..3 {
        assert_receipt(&svc, &decide(&svc, &thrice), None, b"thrice");
    }
    assert_receipt(
        &svc,
        &decide(&svc, &thrice),
        Some(DenyReason::MaxUsesExceeded),
        b"thrice",
    );

    // The whole run is one chain: counters 1..=n, each naming the previous receipt.
    let head = svc.chain_head().unwrap();
    let exported = svc.receipts_from(1, usize::MAX).unwrap();
    assert_eq!(exported.len() as u64, head.counter);
    let receipts: Vec<&[u8]> = exported.iter().map(|(_, r)| r.as_slice()).collect();
    let bodies = verify_chain(&receipts, &svc.attestation_public_key()).unwrap();
    assert_eq!(bodies.first().unwrap().counter, 1);
    assert_eq!(bodies.last().unwrap().counter, head.counter);
    assert_eq!(sha256(receipts.last().unwrap()), head.last_hash);
    let reasons: Vec<u32> = bodies.iter().map(|b| b.reason).collect();
    for reason in [
        DenyReason::WrongAudience,
        DenyReason::NotYetValid,
        DenyReason::Expired,
        DenyReason::IntentMismatch,
        DenyReason::ActionMismatch,
        DenyReason::ResourceMismatch,
        DenyReason::Replayed,
        DenyReason::MaxUsesExceeded,
    ] {
        assert!(
            reasons.contains(&reason.as_u32()),
            "{reason} missing from the chain"
        );
    }
    for reason in [
        DenyReason::Malformed,
        DenyReason::UntrustedIssuer,
        DenyReason::BadSignature,
    ] {
        assert!(
            !reasons.contains(&reason.as_u32()),
            "{reason} must not be chained"
        );
    }
}

#[test]
fn replay_and_max_uses_survive_a_restart_and_the_counter_continues() {
    let dir = tempfile::tempdir().unwrap();
    let signer = issuer();
    let once = permit(&signer, &claims("once"));
    let mut c = claims("twice");
    c.max_uses = Some(2);
    let twice = permit(&signer, &c);

    let (key, head) = {
        let svc = trusting(dir.path(), &signer);
        assert!(decide(&svc, &once).allowed);
        assert!(decide(&svc, &twice).allowed);
        (svc.attestation_public_key(), svc.chain_head().unwrap())
    };
    assert_eq!(head.counter, 2);

    // Restart: a new service and store over the same data directory.
    let svc = open(dir.path());
    assert_eq!(svc.attestation_public_key(), key);
    assert_eq!(svc.chain_head().unwrap(), head);
    let d = decide(&svc, &once);
    assert_eq!(d.reason, Some(DenyReason::Replayed));
    assert_eq!(d.counter, 3, "the counter continues after the restart");
    assert!(decide(&svc, &twice).allowed, "second of two uses");
    let d = decide(&svc, &twice);
    assert_eq!(d.reason, Some(DenyReason::MaxUsesExceeded));

    // The chain across the restart verifies as one.
    let exported = svc.export_chain(1, usize::MAX).unwrap();
    let receipts = warden_attest::split_chain(&exported).unwrap();
    assert_eq!(receipts.len(), 5);
    let bodies = verify_chain(&receipts, &key).unwrap();
    assert_eq!(
        bodies.iter().map(|b| b.counter).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
}

#[test]
fn permit_ids_are_scoped_by_issuer() {
    let dir = tempfile::tempdir().unwrap();
    let a = issuer();
    let b = issuer();
    let svc = trusting(dir.path(), &a);
    svc.trust_add("other-ops", b.public_key().unwrap()).unwrap();
    let mut cb = claims("shared-id");
    cb.issuer = "other-ops".into();
    assert!(decide(&svc, &permit(&a, &claims("shared-id"))).allowed);
    assert!(
        decide(&svc, &permit(&b, &cb)).allowed,
        "same id, other issuer"
    );
}

#[test]
fn pruning_never_forgets_a_permit_that_could_still_be_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let signer = issuer();
    let svc = trusting(dir.path(), &signer);
    let mut c = claims("short-lived");
    c.expires = NOW + 10;
    let p = permit(&signer, &c);
    assert!(decide(&svc, &p).allowed);

    // 20 s later the permit is past `exp` but inside the 30 s leeway: it must stay recorded.
    let later = NOW + 20;
    assert_eq!(svc.prune_replay_ledger(later).unwrap(), 0);
    let d = svc
        .verify_permit(&p, ACTION, RESOURCE, PAYLOAD, later)
        .unwrap();
    assert_eq!(d.reason, Some(DenyReason::Replayed));

    // Once the leeway has passed too, the entry goes and the permit is simply expired.
    let much_later = NOW + 41;
    assert_eq!(svc.prune_replay_ledger(much_later).unwrap(), 1);
    let d = svc
        .verify_permit(&p, ACTION, RESOURCE, PAYLOAD, much_later)
        .unwrap();
    assert_eq!(d.reason, Some(DenyReason::Expired));
}

#[test]
fn verify_prunes_the_replay_ledger_on_its_own() {
    let run = |interval: i64| {
        let dir = tempfile::tempdir().unwrap();
        let signer = issuer();
        let mut cfg = config();
        cfg.replay_prune_interval_secs = interval;
        let svc = PermitService::open(open_store(dir.path()), cfg).unwrap();
        svc.trust_add(ISSUER, signer.public_key().unwrap()).unwrap();
        let mut short = claims("short-lived");
        short.expires = NOW + 10;
        assert!(decide(&svc, &permit(&signer, &short)).allowed);
        // Long after the first permit (and its leeway) expired, another one is verified.
        let later = NOW + 700;
        let mut next = claims("next");
        next.not_before = later - 60;
        next.expires = later + 600;
        let d = svc
            .verify_permit(&permit(&signer, &next), ACTION, RESOURCE, PAYLOAD, later)
            .unwrap();
        assert!(d.allowed, "{d:?}");
        // What an explicit prune still finds = what the automatic one left behind.
        svc.prune_replay_ledger(later).unwrap()
    };
    assert_eq!(
        run(600),
        0,
        "the verification at NOW + 700 was due to prune"
    );
    assert_eq!(run(0), 1, "automatic pruning off: the expired entry stays");
    assert_eq!(run(3600), 1, "next prune not due before NOW + 3600");
}
