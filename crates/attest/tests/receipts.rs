//! Receipts: signed, chained, verifiable offline; any alteration or removal breaks the chain.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use warden_attest::{
    AttestError, ChainState, Decision, LocalSigner, ReceiptBody, SigAlg, issue_receipt, sha256,
    split_chain, verify_chain, verify_complete_chain, verify_receipt,
};

fn body(i: u8) -> ReceiptBody {
    ReceiptBody {
        decision: if i.is_multiple_of(2) {
            Decision::Allow
        } else {
            Decision::Deny
        },
        reason: u32::from(i % 2) * 7,
        permit_id: vec![b'p', i],
        intent_hash: sha256(&[i]),
        policy_hash: i.is_multiple_of(3).then(|| sha256(b"policy")),
        input_hash: sha256(&[i, 1]),
        telemetry_hash: sha256(&[i, 2]),
        counter: 0,
        prev_hash: [0; 32],
        issued_at: 1_800_000_000 + i64::from(i),
    }
}

fn chain(signer: &LocalSigner, n: u8) -> (Vec<Vec<u8>>, ChainState) {
    let mut state = ChainState::default();
    let receipts = (0..n)
        .map(|i| issue_receipt(signer, &mut body(i), &mut state).unwrap())
        .collect();
    (receipts, state)
}

#[test]
fn receipts_verify_and_round_trip_for_each_algorithm() {
    for alg in [SigAlg::Ed25519, SigAlg::EcdsaP256, SigAlg::MlDsa65] {
        let signer = LocalSigner::generate(alg).unwrap();
        let pk = signer.public_key().unwrap();
        let (receipts, state) = chain(&signer, 3);
        assert_eq!(state.counter, 3);
        assert_eq!(state.last_hash, sha256(&receipts[2]));
        let b = verify_receipt(&receipts[1], &pk).unwrap();
        let mut want = body(1);
        want.counter = 2;
        want.prev_hash = sha256(&receipts[0]);
        assert_eq!(b, want, "{alg}");
    }
}

#[test]
fn whole_chain_verifies() {
    let signer = LocalSigner::generate(SigAlg::Ed25519).unwrap();
    let pk = signer.public_key().unwrap();
    let (receipts, _) = chain(&signer, 5);
    let refs: Vec<&[u8]> = receipts.iter().map(Vec::as_slice).collect();
    let bodies = verify_chain(&refs, &pk).unwrap();
    assert_eq!(
        bodies.iter().map(|b| b.counter).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    // A chain that starts later (an excerpt) verifies too.
    assert!(verify_chain(&refs[2..], &pk).is_ok());
}

#[test]
fn altered_receipt_breaks_the_chain() {
    let signer = LocalSigner::generate(SigAlg::Ed25519).unwrap();
    let pk = signer.public_key().unwrap();
    let (mut receipts, _) = chain(&signer, 4);
    // Flip the decision byte inside the payload of receipt 2 (true <-> false).
    let r = &mut receipts[2];
    let pos = r
        .windows(2)
        .position(|w| w == [0x01, 0xf5] || w == [0x01, 0xf4])
        .unwrap();
    r[pos + 1] ^= 0x01;
    let refs: Vec<&[u8]> = receipts.iter().map(Vec::as_slice).collect();
    match verify_chain(&refs, &pk) {
        Err(AttestError::ChainBroken { index: 2, .. }) => {}
        other => panic!("expected break at 2, got {other:?}"),
    }
}

#[test]
fn removed_or_reordered_receipt_breaks_the_chain() {
    let signer = LocalSigner::generate(SigAlg::Ed25519).unwrap();
    let pk = signer.public_key().unwrap();
    let (receipts, _) = chain(&signer, 4);
    let removed: Vec<&[u8]> = [0, 1, 3].iter().map(|&i| receipts[i].as_slice()).collect();
    assert!(matches!(
        verify_chain(&removed, &pk),
        Err(AttestError::ChainBroken { index: 2, .. })
    ));
    let swapped: Vec<&[u8]> = [0, 2, 1, 3]
        .iter()
        .map(|&i| receipts[i].as_slice())
        .collect();
    assert!(matches!(
        verify_chain(&swapped, &pk),
        Err(AttestError::ChainBroken { index: 1, .. })
    ));
}

#[test]
fn a_complete_chain_detects_removal_at_either_end() {
    let signer = LocalSigner::generate(SigAlg::Ed25519).unwrap();
    let pk = signer.public_key().unwrap();
    let (receipts, _) = chain(&signer, 4);
    let pick =
        |idx: &[usize]| -> Vec<&[u8]> { idx.iter().map(|&i| receipts[i].as_slice()).collect() };
    assert_eq!(
        verify_complete_chain(&pick(&[0, 1, 2, 3]), &pk, Some(4))
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        verify_complete_chain(&pick(&[0, 1, 2, 3]), &pk, None)
            .unwrap()
            .len(),
        4
    );
    // The first receipt removed: a valid segment for verify_chain, not a complete chain.
    assert!(verify_chain(&pick(&[1, 2, 3]), &pk).is_ok());
    assert!(matches!(
        verify_complete_chain(&pick(&[1, 2, 3]), &pk, None),
        Err(AttestError::ChainBroken { index: 0, .. })
    ));
    // The last receipt removed: only visible against the head counter.
    assert!(verify_complete_chain(&pick(&[0, 1, 2]), &pk, None).is_ok());
    assert!(matches!(
        verify_complete_chain(&pick(&[0, 1, 2]), &pk, Some(4)),
        Err(AttestError::ChainBroken { index: 2, .. })
    ));
    assert!(matches!(
        verify_complete_chain(&[], &pk, None),
        Err(AttestError::ChainBroken { index: 0, .. })
    ));
}

#[test]
fn a_forged_first_link_is_rejected() {
    // A receipt with counter 1 must not name a previous receipt.
    let signer = LocalSigner::generate(SigAlg::Ed25519).unwrap();
    let pk = signer.public_key().unwrap();
    let mut state = ChainState {
        counter: 0,
        last_hash: [7; 32],
    };
    let r = issue_receipt(&signer, &mut body(0), &mut state).unwrap();
    assert!(verify_chain(&[r.as_slice()], &pk).is_err());
}

#[test]
fn wrong_key_fails_and_garbage_is_malformed() {
    let signer = LocalSigner::generate(SigAlg::Ed25519).unwrap();
    let other = LocalSigner::generate(SigAlg::Ed25519).unwrap();
    let (receipts, _) = chain(&signer, 1);
    assert_eq!(
        verify_receipt(&receipts[0], &other.public_key().unwrap()),
        Err(AttestError::BadReceiptSignature)
    );
    assert_eq!(
        verify_receipt(b"\x01\x02", &signer.public_key().unwrap()),
        Err(AttestError::MalformedReceipt)
    );
}

#[test]
fn chain_file_splits_into_exact_receipts() {
    let signer = LocalSigner::generate(SigAlg::Ed25519).unwrap();
    let (receipts, _) = chain(&signer, 3);
    let file: Vec<u8> = receipts.concat();
    let parts = split_chain(&file).unwrap();
    assert_eq!(parts.len(), 3);
    for (a, b) in parts.iter().zip(&receipts) {
        assert_eq!(*a, b.as_slice());
    }
    assert!(split_chain(&file[..file.len() - 1]).is_err());
    assert!(split_chain(&[]).unwrap().is_empty());
}
