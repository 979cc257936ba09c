//! Hostile policy modules through a real `wardend` (issue 6): modules the loader must refuse
//! get a typed error at `policy load`; modules that misbehave at run time deny the permit
//! with `policy-failed`, the audit log names how the cycle failed, and the daemon keeps
//! serving (the next good policy still allows, nothing is left live). That each failed cycle
//! is scrubbed is proven where the memory is visible: `crates/sandbox/tests/hostile.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

use warden_attest::{DenyReason, LocalSigner, PermitClaims, SigAlg, issue_permit, sha256};
use warden_client::{CryptoStack, ErrorCode};
use warden_e2e::persistent::{Wardend, audit_lines, config, my_uid, now};

const AUDIENCE: &str = "wardend@e2e"; // set by warden_e2e::persistent::config
const INTENT: &[u8] = b"{\"op\":\"go\"}";

fn permit(issuer: &LocalSigner, id: &str, action: &str) -> Vec<u8> {
    let claims = PermitClaims {
        issuer: "ops".into(),
        subject: "agent-7".into(),
        audience: AUDIENCE.into(),
        not_before: now() - 60,
        expires: now() + 600,
        permit_id: id.as_bytes().to_vec(),
        action: action.into(),
        resource: "r".into(),
        max_uses: None,
        intent_hash: sha256(INTENT),
    };
    issue_permit(issuer, &claims).unwrap()
}

/// A `warden`-profile module that first copies its input into memory, then runs `body`.
fn hostile(body: &str, extra: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
            (import "warden" "read_input" (func $read (param i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            {extra}
            (func (export "evaluate") (result i32)
                (drop (call $read (i32.const 0) (i32.const 0) (i32.const 32)))
                {body}))"#
    ))
    .unwrap()
}

/// Loads `module` for `action`, verifies a fresh permit for it and returns the decision's
/// reason and the `policy_error` of its audit line.
fn run(
    s: &CryptoStack,
    d: &Wardend,
    issuer: &LocalSigner,
    action: &str,
    module: &[u8],
) -> (u32, String) {
    s.policy_load(action, "warden", module).unwrap();
    let dec = s
        .verify_permit(&permit(issuer, action, action), action, "r", INTENT)
        .unwrap();
    assert!(!dec.allowed, "{action}: a failing policy must deny");
    let line = audit_lines(d)
        .into_iter()
        .rev()
        .find(|l| l.contains("\"op\":\"permit.verify\""))
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["detail"], "policy-failed", "{line}");
    (
        dec.reason,
        v["policy_error"].as_str().unwrap_or("").to_owned(),
    )
}

#[test]
fn hostile_policies_fail_typed_and_the_daemon_stays_healthy() {
    let root = tempfile::tempdir().unwrap();
    // Module cap below the frame limit, so the daemon's loader (not the framing) refuses.
    let cfg = format!(
        "{}[permits.sandbox]\nmax_module_bytes = 16384\n",
        config(&[my_uid()])
    );
    let d = Wardend::start(root.path(), &cfg);
    let s = d.stack();
    let issuer = LocalSigner::generate(SigAlg::Ed25519).unwrap();
    s.trust_add("ops", "ED25519", issuer.public_key().unwrap().as_bytes())
        .unwrap();

    // Refused at load time, each with a typed error; nothing gets bound.
    let huge = hostile(
        "(i32.const 1)",
        &format!("(data (i32.const 0) \"{}\")", "\\00".repeat(20 * 1024)),
    );
    let refused: [(&str, Vec<u8>); 3] = [
        ("huge", huge),
        (
            "start",
            wat::parse_str(
                r#"(module (memory (export "memory") 1) (func $s) (start $s)
                    (func (export "evaluate") (result i32) (i32.const 1)))"#,
            )
            .unwrap(),
        ),
        (
            "import",
            wat::parse_str(
                r#"(module (import "env" "system" (func $sys (param i32)))
                    (memory (export "memory") 1)
                    (func (export "evaluate") (result i32) (i32.const 1)))"#,
            )
            .unwrap(),
        ),
    ];
    for (what, module) in &refused {
        let err = s.policy_load(what, "warden", module).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidFormat, "{what}: {err}");
    }
    assert!(s.policy_list().unwrap().is_empty());

    // Fail at run time: denied as policy-failed, with the cycle's failure in the audit log.
    let failing = [
        (
            "fuel",
            hostile("(loop $l (br $l)) (i32.const 1)", ""),
            "fuel-exhausted",
        ),
        (
            "grow",
            hostile("(drop (memory.grow (i32.const 100))) (i32.const 1)", ""),
            "memory-limit",
        ),
        (
            "oob",
            hostile(
                "(drop (call $read (i32.const 65530) (i32.const 0) (i32.const 64))) (i32.const 1)",
                "",
            ),
            "host-call",
        ),
        (
            "recursion",
            hostile(
                "(call $down (i32.const 0))",
                "(func $down (param i32) (result i32) (call $down (i32.add (local.get 0) (i32.const 1))))",
            ),
            "trap",
        ),
    ];
    for (action, module, kind) in &failing {
        let (reason, policy_error) = run(&s, &d, &issuer, action, module);
        assert_eq!(reason, DenyReason::PolicyFailed.as_u32(), "{action}");
        assert_eq!(policy_error, *kind, "{action}");
        assert_eq!(s.ping(b"alive").unwrap(), b"alive", "after {action}");
    }

    // The daemon still decides normally: a policy that allows, allows.
    s.policy_load("ok", "warden", &hostile("(i32.const 1)", ""))
        .unwrap();
    let dec = s
        .verify_permit(&permit(&issuer, "ok", "ok"), "ok", "r", INTENT)
        .unwrap();
    assert!(dec.allowed, "{dec:?}");
    // No resource outlived its request.
    let st = s.status().unwrap();
    assert_eq!((st.live_keys, st.live_contexts), (0, 0));
}
