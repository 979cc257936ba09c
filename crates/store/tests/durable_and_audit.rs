//! Replay table, receipt chain and generic records survive reopen; the audit log writes
//! parseable JSON lines, honours the per-use flag and reopens after rotation.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use warden_core::{Algorithm, ErrorCode};
use warden_store::{
    AuditEvent, AuditLog, AuditOutcome, FileMasterKey, ReceiptChainState, SlotStore, StoreError,
};

fn open(dir: &Path) -> SlotStore {
    SlotStore::open(dir, &FileMasterKey::in_dir(dir)).unwrap()
}

#[test]
fn replay_counts_survive_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let store = open(tmp.path());
        let replay = store.replay_table();
        assert_eq!(replay.consume("iss", b"permit-1", 1, 100).unwrap().uses, 1);
        let e = replay.consume("iss", b"permit-1", 1, 100).unwrap_err();
        assert!(matches!(e, StoreError::PermitReplayed));
        assert_eq!(e.code(), ErrorCode::AccessDenied);
        assert_eq!(replay.consume("iss", b"permit-3x", 3, 100).unwrap().uses, 1);
        assert_eq!(replay.consume("iss", b"permit-3x", 3, 100).unwrap().uses, 2);
        assert_eq!(replay.consume("iss", b"permit-old", 1, 10).unwrap().uses, 1);
    }
    let store = open(tmp.path());
    let replay = store.replay_table();
    assert!(matches!(
        replay.consume("iss", b"permit-1", 1, 100),
        Err(StoreError::PermitReplayed)
    ));
    assert_eq!(replay.uses("iss", b"permit-3x").unwrap(), 2);
    assert_eq!(replay.consume("iss", b"permit-3x", 3, 100).unwrap().uses, 3);
    assert!(matches!(
        replay.consume("iss", b"permit-3x", 3, 100),
        Err(StoreError::PermitReplayed)
    ));
    assert_eq!(replay.uses("iss", b"never").unwrap(), 0);
    // Pruning forgets only expired permits.
    assert_eq!(replay.prune_expired(50).unwrap(), 1);
    assert_eq!(replay.uses("iss", b"permit-old").unwrap(), 0);
    assert_eq!(replay.uses("iss", b"permit-1").unwrap(), 1);
    for bad in [&b""[..], &[0u8; 257][..]] {
        assert_eq!(
            replay.consume("iss", bad, 1, 1).unwrap_err().code(),
            ErrorCode::InvalidArgument
        );
    }
    assert_eq!(
        replay.consume("iss", b"x", 0, 1).unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
}

#[test]
fn receipt_chain_survives_reopen_and_rejects_stale_writers() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let store = open(tmp.path());
        let chain = store.receipt_chain();
        assert_eq!(chain.state().unwrap(), ReceiptChainState::default());
        let s1 = chain.advance(0, &[1; 32], b"receipt one").unwrap();
        assert_eq!(s1.counter, 1);
        let s2 = chain.advance(1, &[2; 32], b"receipt two").unwrap();
        assert_eq!(
            s2,
            ReceiptChainState {
                counter: 2,
                prev_hash: vec![2; 32]
            }
        );
        // A writer that read counter 1 loses the race and changes nothing.
        let e = chain.advance(1, &[9; 32], b"stale").unwrap_err();
        assert!(
            matches!(
                e,
                StoreError::ChainConflict {
                    expected: 1,
                    current: 2
                }
            ),
            "{e}"
        );
        assert_eq!(
            chain.advance(2, &[], b"x").unwrap_err().code(),
            ErrorCode::InvalidArgument
        );
    }
    let store = open(tmp.path());
    let chain = store.receipt_chain();
    assert_eq!(
        chain.state().unwrap(),
        ReceiptChainState {
            counter: 2,
            prev_hash: vec![2; 32]
        }
    );
    assert_eq!(
        chain.receipt(1).unwrap().as_deref(),
        Some(&b"receipt one"[..])
    );
    assert_eq!(chain.receipt(3).unwrap(), None);
    let all = chain.receipts_from(1, 10).unwrap();
    assert_eq!(
        all,
        vec![(1, b"receipt one".to_vec()), (2, b"receipt two".to_vec())]
    );
    assert_eq!(chain.receipts_from(2, 10).unwrap().len(), 1);
    assert_eq!(chain.advance(2, &[3; 48], b"three").unwrap().counter, 3);
}

#[test]
fn pruning_keeps_the_head_moves_the_checkpoint_forward_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        let chain = store.receipt_chain();
        assert_eq!(chain.checkpoint().unwrap(), None);
        for n in 0..5u64 {
            chain.advance(n, &[n as u8 + 1; 32], b"receipt").unwrap();
        }
        // The head receipt (5) is never pruned, nor is anything past it.
        for bad in [0, 5, 6] {
            assert_eq!(
                chain.prune_through(bad, b"cp").unwrap_err().code(),
                ErrorCode::InvalidArgument,
                "{bad}"
            );
        }
        assert_eq!(chain.prune_through(3, b"anchor-3").unwrap(), 3);
        // Not backwards, not in place.
        for stale in [2, 3] {
            assert!(chain.prune_through(stale, b"old").is_err(), "{stale}");
        }
        assert_eq!(
            chain.checkpoint().unwrap().unwrap().anchor,
            b"anchor-3".to_vec()
        );
    }
    let store = open(dir.path());
    let chain = store.receipt_chain();
    let cp = chain.checkpoint().unwrap().unwrap();
    assert_eq!((cp.counter, cp.anchor.as_slice()), (3, &b"anchor-3"[..]));
    let left: Vec<u64> = chain
        .receipts_from(1, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    assert_eq!(left, vec![4, 5]);
    assert_eq!(chain.receipt(3).unwrap(), None);
    assert_eq!(chain.state().unwrap().counter, 5, "pruning leaves the head");
}

#[test]
fn generic_records_are_namespaced_and_durable() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let store = open(tmp.path());
        let trust = store.records("trust").unwrap();
        assert!(!trust.put(b"issuer-a", b"pk-a").unwrap());
        assert!(trust.put(b"issuer-a", b"pk-a2").unwrap());
        trust.insert_new(b"issuer-b", b"pk-b").unwrap();
        assert!(matches!(
            trust.insert_new(b"issuer-b", b"x"),
            Err(StoreError::KeySlotOccupied)
        ));
        store
            .records("policy")
            .unwrap()
            .put(b"mod", b"wasm")
            .unwrap();
        assert!(store.records("bad ns").is_err());
    }
    let store = open(tmp.path());
    let trust = store.records("trust").unwrap();
    assert_eq!(
        trust.keys().unwrap(),
        vec![b"issuer-a".to_vec(), b"issuer-b".to_vec()]
    );
    assert_eq!(
        trust.get(b"issuer-a").unwrap().as_deref(),
        Some(&b"pk-a2"[..])
    );
    assert!(trust.remove(b"issuer-a").unwrap());
    assert!(!trust.remove(b"issuer-a").unwrap());
    assert_eq!(
        store.records("policy").unwrap().keys().unwrap(),
        vec![b"mod".to_vec()]
    );
    assert!(store.records("polic").unwrap().keys().unwrap().is_empty());
}

fn lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn audit_log_lines_flag_and_rotation() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("audit.log");
    let log = AuditLog::to_file(&path, false).unwrap();
    log.record(&AuditEvent {
        uid: 1000,
        pid: Some(42),
        operation: "key.generate",
        slot: Some("signer"),
        algorithm: Some(Algorithm::Ed25519),
        outcome: AuditOutcome::Success,
        detail: None,
        policy_error: None,
    })
    .unwrap();
    // Allowed use: skipped while per-use logging is off. Denied use: always written.
    let used = AuditEvent {
        uid: 2000,
        pid: None,
        operation: "sign",
        slot: Some("sig\"ner\n"),
        algorithm: None,
        outcome: AuditOutcome::Success,
        detail: None,
        policy_error: None,
    };
    assert!(!log.record_use(&used).unwrap());
    let denied = AuditEvent {
        outcome: AuditOutcome::Error(ErrorCode::AccessDenied),
        detail: Some("expired"),
        ..used
    };
    assert!(log.record_use(&denied).unwrap());

    let got = lines(&path);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["uid"], 1000);
    assert_eq!(got[0]["pid"], 42);
    assert_eq!(got[0]["op"], "key.generate");
    assert_eq!(got[0]["slot"], "signer");
    assert_eq!(got[0]["alg"], "ED25519");
    assert!(
        got[0].get("detail").is_none(),
        "no detail given: none logged"
    );
    assert_eq!(got[1]["detail"], "expired");
    assert_eq!(got[0]["result"], "Success");
    assert_eq!(got[0]["code"], 0);
    assert!(got[0]["time"].as_str().unwrap().ends_with('Z'));
    assert!(got[0]["ts_ms"].as_u64().unwrap() > 1_600_000_000_000);
    assert_eq!(got[1]["result"], "AccessDenied");
    assert_eq!(got[1]["code"], 0x010B_0001);
    assert_eq!(
        got[1]["slot"], "sig\"ner\n",
        "hostile slot text is escaped, not injected"
    );
    assert!(got[1].get("pid").is_none());

    // Rotation: rename, reopen, keep writing to the new file.
    let rotated = tmp.path().join("audit.log.1");
    std::fs::rename(&path, &rotated).unwrap();
    log.reopen().unwrap();
    log.record(&denied).unwrap();
    assert_eq!(lines(&rotated).len(), 2);
    assert_eq!(lines(&path).len(), 1);

    let with_uses = AuditLog::to_file(&path, true).unwrap();
    assert!(with_uses.logs_uses());
    assert!(with_uses.record_use(&used).unwrap());
    assert_eq!(lines(&path).len(), 2);
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
}
