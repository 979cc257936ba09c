//! Permit verification: every check denies with its own reason, in the documented order.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use warden_attest::{
    ChainState, Decision, DenyReason, Intent, LocalSigner, MemoryReplayLedger, PermitClaims,
    PublicKey, ReceiptBody, SigAlg, TrustStore, VerifyContext, issue_permit, issue_receipt, sha256,
    verify_permit,
};

const NOW: i64 = 1_800_000_000;
const PAYLOAD: &[u8] = br#"{"valve":"open","percent":40}"#;

fn claims() -> PermitClaims {
    PermitClaims {
        issuer: "fleet-ops".into(),
        subject: "agent-7".into(),
        audience: "wardend@gw-1".into(),
        not_before: NOW - 60,
        expires: NOW + 60,
        permit_id: b"permit-0001".to_vec(),
        action: "actuator.set".into(),
        resource: "valve/3".into(),
        max_uses: None,
        intent_hash: sha256(PAYLOAD),
    }
}

fn intent() -> Intent<'static> {
    Intent {
        action: "actuator.set",
        resource: "valve/3",
        payload: PAYLOAD,
    }
}

fn ctx() -> VerifyContext<'static> {
    VerifyContext {
        audience: "wardend@gw-1",
        now: NOW,
        leeway: 0,
    }
}

fn trust(signer: &LocalSigner) -> HashMap<String, PublicKey> {
    HashMap::from([("fleet-ops".to_string(), signer.public_key().unwrap())])
}

fn check(permit: &[u8], intent: &Intent<'_>, trust: &dyn TrustStore) -> Result<u32, DenyReason> {
    let mut ledger = MemoryReplayLedger::default();
    verify_permit(permit, intent, trust, &ctx(), &mut ledger)
        .unwrap()
        .verdict
}

#[test]
fn valid_permit_is_allowed_for_every_algorithm() {
    for alg in [SigAlg::Ed25519, SigAlg::EcdsaP256, SigAlg::MlDsa65] {
        let signer = LocalSigner::generate(alg).unwrap();
        let permit = issue_permit(&signer, &claims()).unwrap();
        let mut ledger = MemoryReplayLedger::default();
        let out = verify_permit(&permit, &intent(), &trust(&signer), &ctx(), &mut ledger).unwrap();
        assert_eq!(out.verdict, Ok(1), "{alg}");
        let allowed = out.allowed().unwrap();
        assert_eq!(allowed.claims, claims());
    }
}

#[test]
fn tampered_signature_is_bad_signature() {
    let signer = LocalSigner::generate(SigAlg::Ed25519).unwrap();
    let mut permit = issue_permit(&signer, &claims()).unwrap();
    let last = permit.len() - 1;
    permit[last] ^= 0x01; // the signature is the last item of the COSE array
    assert_eq!(
        check(&permit, &intent(), &trust(&signer)),
        Err(DenyReason::BadSignature)
    );
}

#[test]
fn tampered_claims_are_bad_signature() {
    let signer = LocalSigner::generate(SigAlg::Ed25519).unwrap();
    let permit = issue_permit(&signer, &claims()).unwrap();
    // Change the resource text inside the payload without re-signing.
    let needle = b"valve/3";
    let pos = permit
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    let mut forged = permit.clone();
    forged[pos + 6] = b'4';
    assert_eq!(
        check(&forged, &intent(), &trust(&signer)),
        Err(DenyReason::BadSignature)
    );
}

#[test]
fn unknown_issuer_and_wrong_key_are_untrusted_or_bad_signature() {
    let signer = LocalSigner::generate(SigAlg::Ed25519).unwrap();
    let other = LocalSigner::generate(SigAlg::Ed25519).unwrap();
    let mut c = claims();
    c.issuer = "someone-else".into();
    let permit = issue_permit(&signer, &c).unwrap();
    assert_eq!(
        check(&permit, &intent(), &trust(&signer)),
        Err(DenyReason::UntrustedIssuer)
    );
    // Right issuer name, signed by a key the trust store does not hold.
    let forged = issue_permit(&other, &claims()).unwrap();
    assert_eq!(
        check(&forged, &intent(), &trust(&signer)),
        Err(DenyReason::BadSignature)
    );
    // Right name, but the trusted key is of another algorithm.
    let pq = LocalSigner::generate(SigAlg::MlDsa65).unwrap();
    let pq_permit = issue_permit(&pq, &claims()).unwrap();
    assert_eq!(
        check(&pq_permit, &intent(), &trust(&signer)),
        Err(DenyReason::UntrustedIssuer)
    );
}

#[test]
fn audience_window_intent_action_resource_each_have_a_reason() {
    let signer = LocalSigner::generate(SigAlg::EcdsaP256).unwrap();
    let t = trust(&signer);
    let deny_with = |edit: &dyn Fn(&mut PermitClaims), want: DenyReason| {
        let mut c = claims();
        edit(&mut c);
        let permit = issue_permit(&signer, &c).unwrap();
        assert_eq!(check(&permit, &intent(), &t), Err(want));
    };
    deny_with(
        &|c| c.audience = "wardend@gw-2".into(),
        DenyReason::WrongAudience,
    );
    deny_with(&|c| c.not_before = NOW + 1, DenyReason::NotYetValid);
    deny_with(&|c| c.expires = NOW, DenyReason::Expired);
    deny_with(
        &|c| c.intent_hash = sha256(b"other"),
        DenyReason::IntentMismatch,
    );
    deny_with(
        &|c| c.action = "actuator.reset".into(),
        DenyReason::ActionMismatch,
    );
    deny_with(
        &|c| c.resource = "valve/4".into(),
        DenyReason::ResourceMismatch,
    );
}

#[test]
fn checks_run_in_the_documented_order() {
    // A permit wrong in audience AND expired AND for another action reports the audience.
    let signer = LocalSigner::generate(SigAlg::Ed25519).unwrap();
    let mut c = claims();
    c.audience = "elsewhere".into();
    c.expires = NOW - 10;
    c.action = "x".into();
    let permit = issue_permit(&signer, &c).unwrap();
    assert_eq!(
        check(&permit, &intent(), &trust(&signer)),
        Err(DenyReason::WrongAudience)
    );
}

#[test]
fn replay_and_max_uses() {
    let signer = LocalSigner::generate(SigAlg::Ed25519).unwrap();
    let t = trust(&signer);
    let mut ledger = MemoryReplayLedger::default();
    let once = issue_permit(&signer, &claims()).unwrap();
    let v = |p: &[u8], l: &mut MemoryReplayLedger| {
        verify_permit(p, &intent(), &t, &ctx(), l).unwrap().verdict
    };
    assert_eq!(v(&once, &mut ledger), Ok(1));
    assert_eq!(v(&once, &mut ledger), Err(DenyReason::Replayed));

    let mut c = claims();
    c.permit_id = b"permit-0002".to_vec();
    c.max_uses = Some(3);
    let thrice = issue_permit(&signer, &c).unwrap();
    assert_eq!(v(&thrice, &mut ledger), Ok(1));
    assert_eq!(v(&thrice, &mut ledger), Ok(2));
    assert_eq!(v(&thrice, &mut ledger), Ok(3));
    assert_eq!(v(&thrice, &mut ledger), Err(DenyReason::MaxUsesExceeded));
}

#[test]
fn denied_permits_do_not_consume_uses() {
    let signer = LocalSigner::generate(SigAlg::Ed25519).unwrap();
    let t = trust(&signer);
    let mut ledger = MemoryReplayLedger::default();
    let permit = issue_permit(&signer, &claims()).unwrap();
    let wrong = Intent {
        action: "actuator.set",
        resource: "valve/3",
        payload: b"something else",
    };
    let out = verify_permit(&permit, &wrong, &t, &ctx(), &mut ledger).unwrap();
    assert_eq!(out.verdict, Err(DenyReason::IntentMismatch));
    let out = verify_permit(&permit, &intent(), &t, &ctx(), &mut ledger).unwrap();
    assert_eq!(out.verdict, Ok(1));
}

#[test]
fn garbage_is_malformed_not_a_panic() {
    let signer = LocalSigner::generate(SigAlg::Ed25519).unwrap();
    let t = trust(&signer);
    for bad in [&b""[..], b"\x00", b"\xd2\x84", b"\xa1\x01\x02", &[0xff; 64]] {
        assert_eq!(check(bad, &intent(), &t), Err(DenyReason::Malformed));
    }
    // A genuine COSE_Sign1 by a trusted issuer, but a receipt (wrong content type), is not a
    // permit: the signature alone must not make any signed object acceptable.
    let mut body = ReceiptBody {
        decision: Decision::Allow,
        reason: 0,
        permit_id: b"p".to_vec(),
        intent_hash: sha256(b"i"),
        policy_hash: None,
        input_hash: sha256(b"in"),
        telemetry_hash: sha256(b"t"),
        counter: 0,
        prev_hash: [0; 32],
        issued_at: 1_800_000_000,
    };
    let receipt = issue_receipt(&signer, &mut body, &mut ChainState::default()).unwrap();
    assert_eq!(check(&receipt, &intent(), &t), Err(DenyReason::Malformed));
}

#[test]
fn issue_rejects_bad_arguments() {
    let signer = LocalSigner::generate(SigAlg::Ed25519).unwrap();
    let mut c = claims();
    c.permit_id.clear();
    assert!(issue_permit(&signer, &c).is_err());
    let mut c = claims();
    c.max_uses = Some(0);
    assert!(issue_permit(&signer, &c).is_err());
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
        let signer = LocalSigner::generate(SigAlg::Ed25519).unwrap();
        let t = trust(&signer);
        let r = check(&bytes, &intent(), &t);
        proptest::prop_assert!(r.is_err());
    }
}
