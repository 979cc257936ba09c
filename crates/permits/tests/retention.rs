//! Receipt retention: the log stays bounded, the retained chain verifies from the signed
//! checkpoint, and tampering after pruning is still detected.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use warden_attest::{
    AttestError, LocalSigner, SigAlg, issue_checkpoint, split_chain, verify_anchored_chain,
    verify_checkpoint, verify_complete_chain,
};
use warden_permits::{PermitService, PublicKey};

mod common;
use common::*;

const KEEP: u64 = 10;

fn service(dir: &Path, keep: u64) -> PermitService {
    let mut cfg = config();
    cfg.receipt_retention = keep;
    let svc = PermitService::open(open_store(dir), cfg).unwrap();
    svc.trust_add(ISSUER, issuer_key()).unwrap();
    svc
}

/// One fixed issuer for every service in this file (so a restarted service trusts it too).
fn signer() -> &'static LocalSigner {
    static SIGNER: std::sync::OnceLock<LocalSigner> = std::sync::OnceLock::new();
    SIGNER.get_or_init(issuer)
}

fn issuer_key() -> PublicKey {
    signer().public_key().unwrap()
}

/// `n` decisions (a first use, then replays: each one is a chained deny).
fn decide_n(svc: &PermitService, n: usize) {
    let p = permit(signer(), &claims("spam"));
    for _ in 0..n {
        svc.verify_permit(&p, ACTION, RESOURCE, PAYLOAD, NOW)
            .unwrap();
    }
}

fn stored(svc: &PermitService) -> Vec<u64> {
    svc.receipts_from(0, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(c, _)| c)
        .collect()
}

#[test]
fn the_log_stays_bounded_and_verifies_from_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path(), KEEP);
    let key = svc.attestation_public_key();
    assert_eq!(svc.receipt_checkpoint().unwrap(), None);
    decide_n(&svc, 100);
    let head = svc.chain_head().unwrap().counter;
    assert_eq!(head, 100, "pruning never moves the counter");
    let kept = stored(&svc);
    assert!((KEEP..=KEEP + 1).contains(&(kept.len() as u64)), "{kept:?}");
    assert_eq!(kept.last(), Some(&head));
    let (pruned, anchor) = svc.receipt_checkpoint().unwrap().unwrap();
    assert_eq!(kept.first(), Some(&(pruned + 1)));
    assert_eq!(verify_checkpoint(&anchor, &key).unwrap().counter, pruned);

    // From counter 1, the export starts with the checkpoint and verifies to the head.
    let file = svc.export_chain(1, usize::MAX).unwrap();
    let items = split_chain(&file).unwrap();
    assert_eq!(items.len(), kept.len() + 1);
    let (cp, bodies) = verify_anchored_chain(&items, &key, Some(head)).unwrap();
    assert_eq!(cp.unwrap().counter, pruned);
    assert_eq!(bodies.len(), kept.len());
    // Without the checkpoint it is no longer a chain from genesis.
    assert!(verify_complete_chain(&items[1..], &key, Some(head)).is_err());
    assert!(verify_anchored_chain(&items[1..], &key, Some(head)).is_err());

    // A restart keeps the checkpoint and keeps pruning.
    drop(svc);
    let svc = service(dir.path(), KEEP);
    decide_n(&svc, 30);
    let kept = stored(&svc);
    assert!((KEEP..=KEEP + 1).contains(&(kept.len() as u64)));
    let file = svc.export_chain(1, usize::MAX).unwrap();
    let items = split_chain(&file).unwrap();
    verify_anchored_chain(&items, &key, Some(130)).unwrap();
}

#[test]
fn tampering_after_pruning_is_still_detected() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path(), KEEP);
    let key = svc.attestation_public_key();
    decide_n(&svc, 40);
    let old_anchor = svc.receipt_checkpoint().unwrap().unwrap().1;
    decide_n(&svc, 20);
    let head = svc.chain_head().unwrap().counter;
    let file = svc.export_chain(1, usize::MAX).unwrap();
    let items = split_chain(&file).unwrap();
    verify_anchored_chain(&items, &key, Some(head)).unwrap();
    let broken = |items: &[&[u8]]| {
        matches!(
            verify_anchored_chain(items, &key, Some(head)),
            Err(AttestError::ChainBroken { .. })
        )
    };

    // The first retained receipt removed: it no longer follows the checkpoint.
    let mut v = items.clone();
    v.remove(1);
    assert!(broken(&v), "first retained receipt removed");
    // One in the middle removed, and the last (against the known head).
    let mut v = items.clone();
    v.remove(5);
    assert!(broken(&v), "middle receipt removed");
    assert!(broken(&items[..items.len() - 1]), "last receipt removed");
    // One retained receipt altered.
    let mut altered = items[3].to_vec();
    let mid = altered.len() / 2;
    altered[mid] ^= 0x40;
    let mut v = items.clone();
    v[3] = &altered;
    assert!(broken(&v), "retained receipt altered");
    // The checkpoint altered, replaced by an older one, or forged by another key.
    let mut cp = items[0].to_vec();
    let last = cp.len() - 1;
    cp[last] ^= 0x01;
    let mut v = items.clone();
    v[0] = &cp;
    assert!(broken(&v), "checkpoint altered");
    let mut v = items.clone();
    v[0] = &old_anchor;
    assert!(broken(&v), "stale checkpoint");
    let stranger = LocalSigner::generate(SigAlg::Ed25519).unwrap();
    let genuine = verify_checkpoint(items[0], &key).unwrap();
    let forged = issue_checkpoint(&stranger, &genuine).unwrap();
    let mut v = items.clone();
    v[0] = &forged;
    assert!(broken(&v), "checkpoint signed by another key");
}

#[test]
fn retention_zero_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path(), 0);
    decide_n(&svc, 50);
    assert_eq!(stored(&svc).len(), 50);
    assert_eq!(svc.receipt_checkpoint().unwrap(), None);
    assert_eq!(svc.prune_receipts(NOW).unwrap(), 0);
    let file = svc.export_chain(1, usize::MAX).unwrap();
    let items = split_chain(&file).unwrap();
    let (cp, _) = verify_anchored_chain(&items, &svc.attestation_public_key(), Some(50)).unwrap();
    assert_eq!(cp, None);
}
