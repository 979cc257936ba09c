//! Policies bound to actions: allow, deny, hostile modules failing closed, the documented
//! input encoding, persistence across restarts, and the example policy of the sandbox crate.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use warden_attest::{DenyReason, sha256, verify_chain, verify_receipt};
use warden_permits::input::{POLICY_INPUT_MAGIC, claims_json, policy_input};
use warden_permits::{PermitError, PermitService, Profile};
use warden_sandbox::SandboxError;

mod common;
use common::*;

fn wasm(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).unwrap()
}

const ALLOW: &str = r#"(module (func (export "evaluate") (result i32) i32.const 1))"#;
const DENY: &str = r#"(module (func (export "evaluate") (result i32) i32.const 0))"#;
const DENY_SEVEN: &str = r#"(module (func (export "evaluate") (result i32) i32.const 7))"#;
const TRAP: &str = r#"(module (func (export "evaluate") (result i32) unreachable))"#;
const SPIN: &str =
    r#"(module (func (export "evaluate") (result i32) (loop $l (br $l)) i32.const 1))"#;
const GROW: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "evaluate") (result i32)
    (if (i32.eq (memory.grow (i32.const 64)) (i32.const -1)) (then unreachable))
    i32.const 1))"#;
const START: &str =
    r#"(module (func $s) (start $s) (func (export "evaluate") (result i32) i32.const 1))"#;
/// Allows iff the input starts with the documented magic; commits the 8-byte header
/// (magic + claims length) as telemetry.
const CHECK_INPUT: &str = r#"(module
  (import "warden" "input_len" (func $input_len (result i32)))
  (import "warden" "read_input" (func $read_input (param i32 i32 i32) (result i32)))
  (import "warden" "commit_telemetry" (func $commit (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "evaluate") (result i32)
    (drop (call $read_input (i32.const 0) (i32.const 0) (call $input_len)))
    (call $commit (i32.const 0) (i32.const 8))
    (i32.eq (i32.load (i32.const 0)) (i32.const 0x31495057))))"#;

fn decide(svc: &PermitService, permit: &[u8]) -> warden_permits::PermitDecision {
    svc.verify_permit(permit, ACTION, RESOURCE, PAYLOAD, NOW)
        .unwrap()
}

#[test]
fn verdicts_and_failures_are_receipted_and_the_service_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let signer = issuer();
    let svc = trusting(dir.path(), &signer);
    let key = svc.attestation_public_key();
    let mut n = 0;
    let mut fresh = || {
        n += 1;
        permit(&signer, &claims(&format!("p-{n}")))
    };

    let cases: [(&str, Option<DenyReason>); 7] = [
        (ALLOW, None),
        (DENY, Some(DenyReason::PolicyDenied)),
        (DENY_SEVEN, Some(DenyReason::PolicyDenied)),
        (TRAP, Some(DenyReason::PolicyFailed)),
        (SPIN, Some(DenyReason::PolicyFailed)),
        (GROW, Some(DenyReason::PolicyFailed)),
        (ALLOW, None),
    ];
    for (wat, reason) in cases {
        let module = wasm(wat);
        let hash = svc.policy_load(ACTION, Profile::Warden, &module).unwrap();
        assert_eq!(hash.as_bytes(), &sha256(&module));
        let d = decide(&svc, &fresh());
        assert_eq!(d.reason, reason, "{wat}");
        let body = verify_receipt(&d.receipt, &key).unwrap();
        assert_eq!(body.reason, reason.map_or(0, DenyReason::as_u32));
        assert_eq!(
            body.policy_hash,
            Some(sha256(&module)),
            "the module is named"
        );
        assert_ne!(body.input_hash, [0; 32], "the input is named");
        match wat {
            SPIN => assert!(matches!(
                d.policy_error,
                Some(SandboxError::FuelExhausted { .. })
            )),
            GROW => assert!(matches!(
                d.policy_error,
                Some(SandboxError::MemoryLimit { .. })
            )),
            TRAP => assert!(matches!(d.policy_error, Some(SandboxError::Trap(_)))),
            _ => assert_eq!(d.policy_error, None),
        }
    }
    // A denied or failed policy still consumed the permit's use: replay is caught first.
    let d = decide(&svc, &permit(&signer, &claims("p-2")));
    assert_eq!(d.reason, Some(DenyReason::Replayed));
    let body = verify_receipt(&d.receipt, &key).unwrap();
    assert_eq!(
        body.policy_hash, None,
        "no policy runs for a replayed permit"
    );

    // Without a policy the action is decided by the permit alone.
    svc.policy_unload(ACTION).unwrap();
    assert!(svc.policy_list().unwrap().is_empty());
    assert!(matches!(
        svc.policy_unload(ACTION),
        Err(PermitError::PolicyNotFound)
    ));
    let d = decide(&svc, &fresh());
    assert!(d.allowed);
    assert_eq!(verify_receipt(&d.receipt, &key).unwrap().policy_hash, None);

    let all = svc.export_chain(1, usize::MAX).unwrap();
    let receipts = warden_attest::split_chain(&all).unwrap();
    assert_eq!(verify_chain(&receipts, &key).unwrap().len(), 9);
}

#[test]
fn the_policy_sees_the_documented_input() {
    let dir = tempfile::tempdir().unwrap();
    let signer = issuer();
    let svc = trusting(dir.path(), &signer);
    svc.policy_load(ACTION, Profile::Warden, &wasm(CHECK_INPUT))
        .unwrap();
    let c = claims("input-1");
    let d = decide(&svc, &permit(&signer, &c));
    assert!(d.allowed, "{d:?}");

    let expected = policy_input(Profile::Warden, &c, 1, PAYLOAD).unwrap();
    assert_eq!(&expected[..4], &POLICY_INPUT_MAGIC);
    let doc = claims_json(&c, 1).unwrap();
    let doc_len = u32::from_le_bytes(expected[4..8].try_into().unwrap()) as usize;
    assert_eq!(&expected[8..8 + doc_len], doc.as_bytes());
    assert_eq!(&expected[8 + doc_len + 4..], PAYLOAD);
    let parsed: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(parsed["action"], ACTION);
    assert_eq!(parsed["iss"], ISSUER);
    assert_eq!(parsed["use"], 1);
    assert_eq!(parsed["max_uses"], serde_json::Value::Null);
    assert_eq!(parsed["cti"], "696e7075742d31");

    let body = verify_receipt(&d.receipt, &svc.attestation_public_key()).unwrap();
    assert_eq!(body.input_hash, sha256(&expected));
    assert_eq!(body.telemetry_hash, sha256(&expected[..8]));
}

#[test]
fn claims_cannot_inject_json_keys() {
    let mut c = claims("x");
    c.subject = r#"a","action":"read_file"#.into();
    let doc = claims_json(&c, 1).unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(parsed["action"], ACTION);
    assert_eq!(parsed["sub"], c.subject.as_str());
}

#[test]
fn example_policy_gates_by_action() {
    let dir = tempfile::tempdir().unwrap();
    let signer = issuer();
    let svc = trusting(dir.path(), &signer);
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/policies/allow_action.wat"
    );
    let module = wat::parse_file(path).unwrap();
    for action in ["read_file", "write_file"] {
        svc.policy_load(action, Profile::Warden, &module).unwrap();
    }
    for (action, allowed) in [("read_file", true), ("write_file", false)] {
        let mut c = claims(action);
        c.action = action.into();
        let d = svc
            .verify_permit(&permit(&signer, &c), action, RESOURCE, PAYLOAD, NOW)
            .unwrap();
        assert_eq!(d.allowed, allowed, "{action}");
        if !allowed {
            assert_eq!(d.reason, Some(DenyReason::PolicyDenied));
        }
    }
}

#[test]
fn example_policy_is_not_fooled_by_a_payload_that_names_the_allowed_action() {
    let dir = tempfile::tempdir().unwrap();
    let signer = issuer();
    let svc = trusting(dir.path(), &signer);
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/policies/allow_action.wat"
    );
    svc.policy_load(
        "write_file",
        Profile::Warden,
        &wat::parse_file(path).unwrap(),
    )
    .unwrap();
    // A valid write_file permit whose (agent-chosen) intent payload imitates the claim the
    // policy looks for: only the verified claims may decide.
    let payload = br#"{"action":"read_file"}"#;
    let mut c = claims("forged-intent");
    c.action = "write_file".into();
    c.intent_hash = warden_attest::sha256(payload);
    let d = svc
        .verify_permit(&permit(&signer, &c), "write_file", RESOURCE, payload, NOW)
        .unwrap();
    assert!(!d.allowed);
    assert_eq!(d.reason, Some(DenyReason::PolicyDenied));
}

#[test]
fn invalid_modules_are_refused_and_nothing_is_bound() {
    let dir = tempfile::tempdir().unwrap();
    let svc = open(dir.path());
    for bad in [
        wasm(START),
        b"\0asm not really".to_vec(),
        vec![0u8; 300 * 1024],
    ] {
        let err = svc.policy_load(ACTION, Profile::Warden, &bad).unwrap_err();
        assert!(matches!(err, PermitError::InvalidPolicy(_)), "{err}");
        assert_eq!(err.code(), warden_core::ErrorCode::InvalidFormat);
    }
    // A warden-profile module is not an aether-profile module.
    let err = svc
        .policy_load(ACTION, Profile::Aether, &wasm(ALLOW))
        .unwrap_err();
    assert!(matches!(err, PermitError::InvalidPolicy(_)), "{err}");
    assert!(matches!(
        svc.policy_load("", Profile::Warden, &wasm(ALLOW)),
        Err(PermitError::InvalidArgument(_))
    ));
    assert!(svc.policy_list().unwrap().is_empty());
    drop(svc);
    assert!(open(dir.path()).policy_list().unwrap().is_empty());
}

#[test]
fn policies_persist_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let signer = issuer();
    let deny = wasm(DENY);
    let hash = {
        let svc = trusting(dir.path(), &signer);
        svc.policy_load("other.action", Profile::Warden, &wasm(ALLOW))
            .unwrap();
        svc.policy_load(ACTION, Profile::Warden, &deny).unwrap()
    };
    let svc = open(dir.path());
    let list = svc.policy_list().unwrap();
    assert_eq!(list.len(), 2);
    let bound = list.iter().find(|p| p.action == ACTION).unwrap();
    assert_eq!(bound.hash, hash);
    assert_eq!(bound.len, deny.len());
    assert!(bound.compiled);
    let d = decide(&svc, &permit(&signer, &claims("after-restart")));
    assert_eq!(d.reason, Some(DenyReason::PolicyDenied));
}

#[test]
fn a_policy_that_no_longer_loads_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    let signer = issuer();
    // A module of two pages of initial memory, loaded under the default 1 MiB cap...
    let two_pages = wasm(
        r#"(module (memory (export "memory") 2) (func (export "evaluate") (result i32) i32.const 1))"#,
    );
    {
        let svc = trusting(dir.path(), &signer);
        svc.policy_load(ACTION, Profile::Warden, &two_pages)
            .unwrap();
    }
    // ...then the daemon restarts with a 64 KiB cap: the policy stays bound but cannot run.
    let mut cfg = config();
    cfg.sandbox.max_memory_bytes = 64 * 1024;
    let svc = PermitService::open(open_store(dir.path()), cfg).unwrap();
    let info = svc.policy_list().unwrap();
    assert!(!info[0].compiled);
    let d = decide(&svc, &permit(&signer, &claims("capped")));
    assert_eq!(d.reason, Some(DenyReason::PolicyFailed));
    let body = verify_receipt(&d.receipt, &svc.attestation_public_key()).unwrap();
    assert_eq!(body.policy_hash, Some(sha256(&two_pages)));
}

#[test]
fn a_policy_record_edited_offline_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let svc = open(dir.path());
        svc.policy_load(ACTION, Profile::Warden, &wasm(DENY))
            .unwrap();
    }
    {
        // Swap the module for an allow-all one, keeping the record's header and tag.
        let store = open_store(dir.path());
        let records = store.records("warden.policies").unwrap();
        let record = records.get(ACTION.as_bytes()).unwrap().unwrap();
        let deny = wasm(DENY);
        let allow = wasm(ALLOW);
        assert!(record.ends_with(&deny));
        let mut edited = record[..record.len() - deny.len()].to_vec();
        edited.extend_from_slice(&allow);
        records.put(ACTION.as_bytes(), &edited).unwrap();
    }
    let err = PermitService::open(open_store(dir.path()), config()).unwrap_err();
    assert!(matches!(err, PermitError::Integrity(_)), "{err}");
}
