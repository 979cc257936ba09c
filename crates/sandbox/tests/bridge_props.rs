//! Property tests of the host bridge: arbitrary guest-chosen pointers, offsets and lengths
//! give exactly the result a simple model predicts — a copy, or a typed trap — never a host
//! panic, and every cycle is scrubbed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

mod common;

use common::{assert_scrubbed, load, run_observed, sandbox};
use proptest::prelude::*;
use warden_sandbox::{HostCallError, Profile, SandboxError};

const MEM: i64 = 65_536;

/// Reads a 12-byte header (dst, offset, len as i32 LE) from the input into memory at 0, then
/// calls `read_input(dst, offset, len)` and returns its result.
const READ_PROBE: &str = r#"(module
    (import "warden" "read_input" (func $read (param i32 i32 i32) (result i32)))
    (memory (export "memory") 1 1)
    (func (export "evaluate") (result i32)
        (drop (call $read (i32.const 0) (i32.const 0) (i32.const 12)))
        (call $read (i32.load (i32.const 0)) (i32.load (i32.const 4)) (i32.load (i32.const 8)))))"#;

/// Same header (ptr, len, unused): calls `commit_telemetry(ptr, len)` over memory that holds
/// the input at 0, returns 7.
const TELEMETRY_PROBE: &str = r#"(module
    (import "warden" "read_input" (func $read (param i32 i32 i32) (result i32)))
    (import "warden" "commit_telemetry" (func $tel (param i32 i32)))
    (memory (export "memory") 1 1)
    (func (export "evaluate") (result i32)
        (drop (call $read (i32.const 0) (i32.const 0) (i32.const 512)))
        (call $tel (i32.load (i32.const 0)) (i32.load (i32.const 4)))
        (i32.const 7)))"#;

fn header(a: i32, b: i32, c: i32, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&a.to_le_bytes());
    v.extend_from_slice(&b.to_le_bytes());
    v.extend_from_slice(&c.to_le_bytes());
    v.extend_from_slice(payload);
    v
}

/// Values near the interesting edges, plus anything.
fn edgy() -> impl Strategy<Value = i32> {
    prop_oneof![
        -2..70_000i32,
        65_500..65_600i32,
        Just(i32::MAX),
        Just(i32::MIN),
        any::<i32>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn read_input_matches_model(dst in edgy(), off in edgy(), len in edgy(),
                                payload in proptest::collection::vec(any::<u8>(), 0..300)) {
        let module = load(READ_PROBE, Profile::Warden).unwrap();
        let mut sb = sandbox();
        let input = header(dst, off, len, &payload);
        let (result, seen) = run_observed(&mut sb, &module, &input);
        assert_scrubbed(&seen);
        let call = "read_input";
        let want = if off < 0 || dst < 0 || len < 0 {
            Err(SandboxError::HostCall(HostCallError::NegativeArgument { call }))
        } else if i64::from(dst) + i64::from(len) > MEM {
            Err(SandboxError::HostCall(HostCallError::OutOfBounds { call }))
        } else {
            let available = (input.len() as i64 - i64::from(off)).max(0);
            Ok(i64::from(len).min(available) as i32)
        };
        prop_assert_eq!(result.map(|o| o.verdict), want);
    }

    #[test]
    fn commit_telemetry_matches_model(ptr in edgy(), len in prop_oneof![0..300i32, edgy()],
                                      payload in proptest::collection::vec(1..=255u8, 0..500)) {
        let module = load(TELEMETRY_PROBE, Profile::Warden).unwrap();
        let mut sb = sandbox();
        let input = header(ptr, len, 0, &payload);
        let (result, seen) = run_observed(&mut sb, &module, &input);
        assert_scrubbed(&seen);
        let call = "commit_telemetry";
        if ptr < 0 || len < 0 {
            prop_assert_eq!(result,
                Err(SandboxError::HostCall(HostCallError::NegativeArgument { call })));
        } else if i64::from(ptr) + i64::from(len) > MEM {
            prop_assert_eq!(result, Err(SandboxError::HostCall(HostCallError::OutOfBounds { call })));
        } else if len > 256 {
            prop_assert_eq!(result, Err(SandboxError::HostCall(
                HostCallError::TelemetryTooLarge { len: len as usize, max: 256 })));
        } else {
            // Memory holds the first 512 input bytes at 0, zeros after.
            let mut memory = vec![0u8; 512 + 256];
            let n = input.len().min(512);
            memory[..n].copy_from_slice(&input[..n]);
            let (p, l) = (ptr as usize, len as usize);
            let expected: Vec<u8> = (p..p + l).map(|i| memory.get(i).copied().unwrap_or(0)).collect();
            let out = result.unwrap();
            prop_assert_eq!(out.verdict, 7);
            prop_assert_eq!(out.telemetry.as_bytes(), &expected[..]);
        }
    }
}
