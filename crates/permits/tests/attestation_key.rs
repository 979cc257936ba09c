//! The attestation key: created once, the same after a restart, never on disk in the clear,
//! and not silently replaced by another algorithm.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use warden_attest::{LocalSigner, SigAlg, verify_receipt};
use warden_permits::{ATTESTATION_SLOT, PermitError, PermitService};
use warden_store::SlotStore;

mod common;
use common::*;

/// The 32-byte Ed25519 seed inside a PKCS#8 document (after `04 22 04 20`).
fn ed25519_seed(pkcs8: &[u8]) -> &[u8] {
    let at = pkcs8
        .windows(4)
        .position(|w| w == [0x04, 0x22, 0x04, 0x20])
        .expect("PKCS#8 holds an Ed25519 seed");
    &pkcs8[at + 4..at + 36]
}

#[test]
fn key_survives_restart_and_is_not_stored_in_the_clear() {
    let dir = tempfile::tempdir().unwrap();
    let signer = issuer();
    let (public, receipt) = {
        let svc = trusting(dir.path(), &signer);
        let d = svc
            .verify_permit(
                &permit(&signer, &claims("k")),
                ACTION,
                RESOURCE,
                PAYLOAD,
                NOW,
            )
            .unwrap();
        (svc.attestation_public_key(), d.receipt)
    };
    assert_eq!(public.alg(), SigAlg::Ed25519);

    // Restart: same key, and old receipts still verify under it.
    let svc = open(dir.path());
    assert_eq!(svc.attestation_public_key(), public);
    verify_receipt(&receipt, &svc.attestation_public_key()).unwrap();
    drop(svc);

    // Read the sealed key through the store (which decrypts it) to know what to look for.
    let store: Arc<SlotStore> = open_store(dir.path());
    let (meta, pkcs8) = store
        .load(warden_store::SlotRef::new(u32::MAX, ATTESTATION_SLOT))
        .unwrap();
    assert_eq!(meta.permissions, 0, "no client may use the attestation key");
    assert!(!meta.exportable);
    let parsed = LocalSigner::from_pkcs8(SigAlg::Ed25519, &pkcs8).unwrap();
    assert_eq!(
        parsed.public_key().unwrap(),
        public,
        "the slot holds the attestation key"
    );
    let seed = ed25519_seed(&pkcs8).to_vec();
    drop(store);

    let files = files(dir.path());
    assert!(!files.is_empty());
    let mut scanned = 0;
    let mut saw_public_record = false;
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        scanned += bytes.len();
        // Control: the scan does see database contents (the issuer key is stored in clear).
        saw_public_record |= contains(&bytes, signer.public_key().unwrap().as_bytes());
        assert!(!contains(&bytes, &pkcs8), "PKCS#8 in the clear in {file:?}");
        assert!(
            !contains(&bytes, &seed),
            "private seed in the clear in {file:?}"
        );
    }
    assert!(scanned > 0);
    assert!(
        saw_public_record,
        "the scan must reach the database contents"
    );
}

#[test]
fn ml_dsa_attestation_and_algorithm_changes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let signer = issuer();
    let mut cfg = config();
    cfg.attestation_alg = SigAlg::MlDsa65;
    let public = {
        let svc = PermitService::open(open_store(dir.path()), cfg.clone()).unwrap();
        svc.trust_add(ISSUER, signer.public_key().unwrap()).unwrap();
        let d = svc
            .verify_permit(
                &permit(&signer, &claims("pq")),
                ACTION,
                RESOURCE,
                PAYLOAD,
                NOW,
            )
            .unwrap();
        assert!(d.allowed);
        let key = svc.attestation_public_key();
        assert_eq!(key.alg(), SigAlg::MlDsa65);
        verify_receipt(&d.receipt, &key).unwrap();
        key
    };
    // Reopening with the default (Ed25519) would orphan the chain: refused.
    let err = PermitService::open(open_store(dir.path()), config()).unwrap_err();
    assert!(
        matches!(err, PermitError::AttestationAlgMismatch { .. }),
        "{err}"
    );
    assert_eq!(err.code(), warden_core::ErrorCode::AlgorithmMismatch);
    // The configured algorithm still opens, with the same key.
    let svc = PermitService::open(open_store(dir.path()), cfg).unwrap();
    assert_eq!(svc.attestation_public_key(), public);
}

#[test]
fn bad_configuration_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config();
    cfg.audience = String::new();
    assert!(matches!(
        PermitService::open(open_store(dir.path()), cfg),
        Err(PermitError::InvalidConfig(_))
    ));
    let mut cfg = config();
    cfg.sandbox.fuel_per_cycle = 0;
    assert!(matches!(
        PermitService::open(open_store(dir.path()), cfg),
        Err(PermitError::InvalidConfig(_))
    ));
}
