//! The shipped example policies run under their profiles and give the documented verdicts.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

mod common;

use common::{assert_report, assert_scrubbed, load, run_observed, sandbox};
use warden_sandbox::{AetherReadings, Profile, Sha256Hash};

const AETHER: &str = include_str!("../../../examples/policies/aether.wat");
const ALLOW_ACTION: &str = include_str!("../../../examples/policies/allow_action.wat");

fn readings(pressure_atm: f32, dose: i32) -> [u8; 8] {
    AetherReadings { pressure_atm, dose }.to_input()
}

#[test]
fn aether_bench_injection_yields_3() {
    let module = load(AETHER, Profile::Aether).unwrap();
    let mut sb = sandbox();
    let input = readings(0.12, 1250);
    let (result, seen) = run_observed(&mut sb, &module, &input);
    let out = result.unwrap();
    assert_eq!(out.verdict, 3);
    assert_scrubbed(&seen);
    assert_report(&out.scrub, &seen);
    assert_eq!(seen.guest_len, 65_536);

    // Telemetry record: flags, pad, pressure bits, dose.
    let mut expected = vec![3u8, 0, 0, 0];
    expected.extend_from_slice(&0.12f32.to_bits().to_le_bytes());
    expected.extend_from_slice(&1250u32.to_le_bytes());
    assert_eq!(out.telemetry.as_bytes(), &expected[..]);
    assert_eq!(out.telemetry_hash, Sha256Hash::of(&expected));
    assert_eq!(out.input_hash, Sha256Hash::of(&input));
    assert_eq!(out.module_hash, *module.hash());

    // The seed's uplink word: lo = status + pressure_bits + dose, hi = dose.
    let lo = 3u32.wrapping_add(0.12f32.to_bits()).wrapping_add(1250);
    assert_eq!(out.uplink, Some((1250u64 << 32) | u64::from(lo)));
    assert!(out.fuel_consumed > 0);
}

#[test]
fn aether_other_inputs_give_0_1_2() {
    let module = load(AETHER, Profile::Aether).unwrap();
    let mut sb = sandbox();
    let cases = [
        (1.0, 10, 0),
        (0.15, 1000, 0), // both limits are strict inequalities
        (0.149, 1000, 1),
        (0.5, 1001, 2),
        (f32::NAN, 0, 0), // NaN never alarms, as in the seed
        (0.5, -1, 2),     // dose compared unsigned, as in the seed
        (0.0, 5000, 3),
    ];
    for (p, d, want) in cases {
        let out = sb.run_cycle(&module, &readings(p, d)).unwrap();
        assert_eq!(out.verdict, want, "pressure {p}, dose {d}");
        assert_eq!(out.telemetry.as_bytes().first(), Some(&(want as u8)));
    }
}

#[test]
fn aether_rejects_wrong_input_shape() {
    let module = load(AETHER, Profile::Aether).unwrap();
    let mut sb = sandbox();
    assert_eq!(
        sb.run_cycle(&module, &[0u8; 7]),
        Err(warden_sandbox::SandboxError::InvalidInput)
    );
    // And the sandbox still works.
    assert_eq!(
        sb.run_cycle(&module, &readings(0.12, 1250))
            .unwrap()
            .verdict,
        3
    );
}

/// A `warden`-profile input record (layout of `warden_permits::input`, rebuilt here because
/// the sandbox crate does not depend on the permits crate).
fn wpi1(claims: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut v = b"WPI1".to_vec();
    v.extend_from_slice(&u32::try_from(claims.len()).unwrap().to_le_bytes());
    v.extend_from_slice(claims);
    v.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_le_bytes());
    v.extend_from_slice(payload);
    v
}

fn telemetry(input_len: usize, at: i32) -> Vec<u8> {
    let mut tel = u32::try_from(input_len).unwrap().to_le_bytes().to_vec();
    tel.extend_from_slice(&at.to_le_bytes());
    tel
}

#[test]
fn allow_action_policy() {
    let module = load(ALLOW_ACTION, Profile::Warden).unwrap();
    let mut sb = sandbox();

    let claims = br#"{"sub":"a1","action":"read_file","resource":"/tmp/x"}"#;
    let allow = wpi1(claims, b"intent");
    let (result, seen) = run_observed(&mut sb, &module, &allow);
    let out = result.unwrap();
    assert_eq!(out.verdict, 1);
    assert_scrubbed(&seen);
    assert_eq!(seen.input_len, allow.len());
    let at = i32::try_from(
        claims
            .windows(20)
            .position(|w| w == br#""action":"read_file""#)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(out.telemetry.as_bytes(), &telemetry(allow.len(), at)[..]);

    let deny = wpi1(br#"{"sub":"a1","action":"delete_file"}"#, b"");
    let out = sb.run_cycle(&module, &deny).unwrap();
    assert_eq!(out.verdict, 0);
    assert_eq!(out.telemetry.as_bytes(), &telemetry(deny.len(), -1)[..]);

    // Match at the very end of the claims, and claims shorter than the needle.
    assert_eq!(
        sb.run_cycle(&module, &wpi1(br#"xx"action":"read_file""#, b""))
            .unwrap()
            .verdict,
        1
    );
    assert_eq!(
        sb.run_cycle(&module, &wpi1(b"read", b"")).unwrap().verdict,
        0
    );

    let long = wpi1(&vec![b'a'; 5000], b"");
    assert_eq!(sb.run_cycle(&module, &long).unwrap().verdict, 2);
}

#[test]
fn allow_action_policy_ignores_a_payload_that_imitates_a_claim() {
    let module = load(ALLOW_ACTION, Profile::Warden).unwrap();
    let mut sb = sandbox();
    // The payload (the agent's intent, attacker-chosen) names the allowed action; the claims
    // (verified by the daemon) do not. Searching the whole input would allow this.
    let forged = wpi1(
        br#"{"sub":"a1","action":"write_file"}"#,
        br#"{"action":"read_file"}"#,
    );
    let out = sb.run_cycle(&module, &forged).unwrap();
    assert_eq!(out.verdict, 0);
    assert_eq!(out.telemetry.as_bytes(), &telemetry(forged.len(), -1)[..]);
}

#[test]
fn allow_action_policy_refuses_malformed_records() {
    let module = load(ALLOW_ACTION, Profile::Warden).unwrap();
    let mut sb = sandbox();
    let raw_json = br#"{"agent":"a1","action":"read_file","path":"/tmp/x"}"#;
    let mut claims_too_long = wpi1(br#""action":"read_file""#, b"");
    claims_too_long[4] = 200; // claims_len points past the end of the input
    for bad in [&b""[..], b"WPI1", &raw_json[..], &claims_too_long[..]] {
        let out = sb.run_cycle(&module, bad).unwrap();
        assert_eq!(out.verdict, 3, "{bad:?}");
        assert_eq!(out.telemetry.as_bytes(), &telemetry(bad.len(), -1)[..]);
    }
}

#[test]
fn input_from_one_cycle_is_not_visible_to_the_next() {
    // The policy echoes the first 16 bytes of guest memory at 256 (where it copies input)
    // as telemetry *before* reading input: any residue from the previous cycle would show.
    // This is the guest-visible guarantee end to end; today it holds twice over (wasmi
    // zero-fills each fresh linear memory, and the host scrub zeroes the arena: the latter is
    // checked directly by `assert_scrubbed` in the tests that use `run_observed`).
    let echo = r#"(module
        (import "warden" "read_input" (func $r (param i32 i32 i32) (result i32)))
        (import "warden" "commit_telemetry" (func $t (param i32 i32)))
        (memory (export "memory") 1 1)
        (func (export "evaluate") (result i32)
            (call $t (i32.const 256) (i32.const 16))
            (call $r (i32.const 256) (i32.const 0) (i32.const 16))))"#;
    let module = load(echo, Profile::Warden).unwrap();
    let mut sb = sandbox();
    let first = sb.run_cycle(&module, b"SECRET-SECRET-SECRET").unwrap();
    assert_eq!(first.verdict, 16);
    assert_eq!(first.telemetry.as_bytes(), &[0u8; 16]);
    let second = sb.run_cycle(&module, b"").unwrap();
    assert_eq!(second.verdict, 0);
    assert_eq!(second.telemetry.as_bytes(), &[0u8; 16]);
}

#[test]
fn handles_can_move_between_threads() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    send::<warden_sandbox::Sandbox>();
    send::<warden_sandbox::PolicyModule>();
    sync::<warden_sandbox::PolicyModule>();
    send::<warden_sandbox::CycleOutcome>();
    send::<warden_sandbox::SandboxError>();
}
