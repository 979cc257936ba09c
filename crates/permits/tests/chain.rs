//! The receipt chain: tamper evidence, and linearity under concurrent callers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use warden_attest::{AttestError, split_chain, verify_chain};
use warden_permits::PermitService;

mod common;
use common::*;

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn altering_or_removing_one_receipt_breaks_the_chain() {
    assert_send_sync::<PermitService>();
    let dir = tempfile::tempdir().unwrap();
    let signer = issuer();
    let svc = trusting(dir.path(), &signer);
    for i in 0..6 {
        // Half allowed, half denied (replays), so both kinds are in the chain.
        let p = permit(&signer, &claims(&format!("c-{}", i / 2)));
        svc.verify_permit(&p, ACTION, RESOURCE, PAYLOAD, NOW)
            .unwrap();
    }
    let key = svc.attestation_public_key();
    let file = svc.export_chain(1, usize::MAX).unwrap();
    let receipts = split_chain(&file).unwrap();
    assert_eq!(receipts.len(), 6);
    verify_chain(&receipts, &key).unwrap();

    // A suffix exported from a later counter verifies on its own too.
    let tail = svc.export_chain(4, usize::MAX).unwrap();
    assert_eq!(
        verify_chain(&split_chain(&tail).unwrap(), &key).unwrap()[0].counter,
        4
    );

    // Removing a receipt in the middle.
    let mut removed = receipts.clone();
    removed.remove(2);
    assert!(matches!(
        verify_chain(&removed, &key),
        Err(AttestError::ChainBroken { index: 2, .. })
    ));

    // Altering one byte of a receipt (anywhere: payload or signature).
    for pos in [20, receipts[3].len() / 2, receipts[3].len() - 1] {
        let mut altered = receipts[3].to_vec();
        altered[pos] ^= 0x40;
        let mut chain = receipts.clone();
        chain[3] = &altered;
        assert!(
            matches!(
                verify_chain(&chain, &key),
                Err(AttestError::ChainBroken { index: 3, .. })
            ),
            "byte {pos}"
        );
    }

    // Swapping two receipts.
    let mut swapped = receipts.clone();
    swapped.swap(1, 2);
    assert!(verify_chain(&swapped, &key).is_err());

    // A receipt signed by another key.
    let other = tempfile::tempdir().unwrap();
    let foreign = trusting(other.path(), &signer);
    let p = permit(&signer, &claims("foreign"));
    let d = foreign
        .verify_permit(&p, ACTION, RESOURCE, PAYLOAD, NOW)
        .unwrap();
    assert_eq!(d.counter, 1);
    let mut chain = receipts.clone();
    chain.push(&d.receipt);
    assert!(matches!(
        verify_chain(&chain, &key),
        Err(AttestError::ChainBroken { index: 6, .. })
    ));
}

#[test]
fn concurrent_callers_get_one_linear_chain() {
    let dir = tempfile::tempdir().unwrap();
    let signer = Arc::new(issuer());
    let svc = Arc::new(trusting(dir.path(), &signer));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let svc = Arc::clone(&svc);
            let signer = Arc::clone(&signer);
            std::thread::spawn(move || {
                let mut counters = Vec::new();
                for i in 0..10 {
                    let p = permit(&signer, &claims(&format!("t{t}-{i}")));
                    let d = svc
                        .verify_permit(&p, ACTION, RESOURCE, PAYLOAD, NOW)
                        .unwrap();
                    assert!(d.allowed);
                    counters.push(d.counter);
                }
                counters
            })
        })
        .collect();
    let mut counters: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    counters.sort_unstable();
    assert_eq!(counters, (1..=40).collect::<Vec<u64>>());
    let file = svc.export_chain(1, usize::MAX).unwrap();
    let bodies = verify_chain(&split_chain(&file).unwrap(), &svc.attestation_public_key()).unwrap();
    assert_eq!(bodies.len(), 40);
}
