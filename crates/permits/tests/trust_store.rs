//! The trust store: add, list, remove, persisted; offline edits are detected.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use warden_attest::{DenyReason, LocalSigner, SigAlg};
use warden_permits::{PermitError, PermitService};

mod common;
use common::*;

#[test]
fn issuers_persist_and_removal_untrusts() {
    let dir = tempfile::tempdir().unwrap();
    let ed = issuer();
    let p256 = LocalSigner::generate(SigAlg::EcdsaP256).unwrap();
    let pq = LocalSigner::generate(SigAlg::MlDsa65).unwrap();
    {
        let svc = open(dir.path());
        assert!(!svc.trust_add(ISSUER, p256.public_key().unwrap()).unwrap());
        assert!(
            svc.trust_add(ISSUER, ed.public_key().unwrap()).unwrap(),
            "replaced"
        );
        svc.trust_add("pq-ops", pq.public_key().unwrap()).unwrap();
        assert!(matches!(
            svc.trust_add("", ed.public_key().unwrap()),
            Err(PermitError::InvalidArgument(_))
        ));
        assert!(matches!(
            svc.trust_add(&"x".repeat(257), ed.public_key().unwrap()),
            Err(PermitError::InvalidArgument(_))
        ));
    }
    let svc = open(dir.path());
    let list = svc.trust_list().unwrap();
    assert_eq!(
        list,
        vec![
            (ISSUER.to_owned(), ed.public_key().unwrap()),
            ("pq-ops".to_owned(), pq.public_key().unwrap()),
        ]
    );
    // The ML-DSA issuer's permits verify.
    let mut c = claims("pq-1");
    c.issuer = "pq-ops".into();
    let d = svc
        .verify_permit(&permit(&pq, &c), ACTION, RESOURCE, PAYLOAD, NOW)
        .unwrap();
    assert!(d.allowed, "{d:?}");

    svc.trust_remove(ISSUER).unwrap();
    let err = svc.trust_remove(ISSUER).unwrap_err();
    assert!(matches!(err, PermitError::IssuerNotFound));
    assert_eq!(err.code(), warden_core::ErrorCode::TrustAnchorNotFound);
    let err = svc
        .verify_permit(
            &permit(&ed, &claims("gone")),
            ACTION,
            RESOURCE,
            PAYLOAD,
            NOW,
        )
        .unwrap_err();
    assert!(matches!(
        err,
        PermitError::Unauthenticated(DenyReason::UntrustedIssuer)
    ));
    drop(svc);
    assert_eq!(open(dir.path()).trust_list().unwrap().len(), 1);
}

#[test]
fn a_trust_anchor_planted_offline_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let honest = issuer();
    let attacker = issuer();
    {
        let svc = open(dir.path());
        svc.trust_add(ISSUER, honest.public_key().unwrap()).unwrap();
    }
    {
        // Replace the trusted key in the record with the attacker's, keeping the tag.
        let store = open_store(dir.path());
        let records = store.records("warden.trust").unwrap();
        let mut record = records.get(ISSUER.as_bytes()).unwrap().unwrap();
        let honest_key = honest.public_key().unwrap();
        let at = record
            .windows(32)
            .position(|w| w == honest_key.as_bytes())
            .unwrap();
        record[at..at + 32].copy_from_slice(attacker.public_key().unwrap().as_bytes());
        records.put(ISSUER.as_bytes(), &record).unwrap();
        // And plant a second issuer with a made-up tag.
        let mut planted = record.clone();
        *planted.last_mut().unwrap() ^= 1;
        records.put(b"evil-ops", &planted).unwrap();
    }
    let err = PermitService::open(open_store(dir.path()), config()).unwrap_err();
    assert!(matches!(err, PermitError::Integrity(_)), "{err}");
    assert_eq!(err.to_string(), "trust store record failed integrity check");
}
