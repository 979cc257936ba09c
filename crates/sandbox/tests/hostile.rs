//! Hostile modules: each fails with its typed error, the failed cycle is still scrubbed

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns
//! (its memory reads back as zeros), and the next cycle on the same sandbox still works.

mod common;

use common::{assert_report, assert_scrubbed, load, run_observed, sandbox, wasm};
use warden_sandbox::{
    HostCallError, ModuleError, PolicyModule, Profile, Sandbox, SandboxError, SandboxLimits,
    TrapCode,
};

const SECRET: &[u8] = b"hostile-test-secret-input-bytes!";

/// Prologue every hostile guest runs first: copy the input into memory at 0, so that a
/// missing scrub would leave non-zero bytes behind.
fn hostile(body: &str, extra: &str) -> String {
    format!(
        r#"(module
            (import "warden" "read_input" (func $read (param i32 i32 i32) (result i32)))
            (import "warden" "commit_telemetry" (func $tel (param i32 i32)))
            (memory (export "memory") 1)
            {extra}
            (func (export "evaluate") (result i32)
                (drop (call $read (i32.const 0) (i32.const 0) (i32.const 32)))
                (call $tel (i32.const 0) (i32.const 8))
                {body}))"#
    )
}

/// A well-behaved module: returns input_len.
fn good_module() -> PolicyModule {
    load(
        r#"(module
            (import "warden" "input_len" (func $len (result i32)))
            (memory (export "memory") 1 1)
            (func (export "evaluate") (result i32) (call $len)))"#,
        Profile::Warden,
    )
    .unwrap()
}

/// Runs the hostile module, checks the error, the scrub, and that the sandbox still works.
fn expect_failure(sb: &mut Sandbox, module: &PolicyModule, want: SandboxError) {
    let (result, seen) = run_observed(sb, module, SECRET);
    assert_eq!(result, Err(want));
    assert_scrubbed(&seen);
    assert_eq!(
        seen.guest_len, 65_536,
        "hostile guest memory must have been observed"
    );
    assert_eq!(seen.input_len, SECRET.len());

    let good = good_module();
    let (result, seen) = run_observed(sb, &good, b"four");
    assert_eq!(result.unwrap().verdict, 4, "sandbox must keep working");
    assert_scrubbed(&seen);
}

#[test]
fn infinite_loop_runs_out_of_fuel() {
    let module = load(
        &hostile("(loop $l (br $l)) (i32.const 0)", ""),
        Profile::Warden,
    )
    .unwrap();
    let mut sb = sandbox();
    let limit = SandboxLimits::default().fuel_per_cycle;
    expect_failure(&mut sb, &module, SandboxError::FuelExhausted { limit });
}

#[test]
fn fuel_limit_is_configurable() {
    // A bounded loop of 10_000 iterations passes with the default budget, fails with a tiny one.
    let counted = r#"(module
        (memory (export "memory") 1 1)
        (func (export "evaluate") (result i32) (local $i i32)
            (loop $l
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (i32.const 10000))))
            (local.get $i)))"#;
    let module = load(counted, Profile::Warden).unwrap();
    let out = sandbox().run_cycle(&module, b"").unwrap();
    assert_eq!(out.verdict, 10_000);
    assert!(out.fuel_consumed >= 10_000, "fuel {}", out.fuel_consumed);

    let tiny = SandboxLimits {
        fuel_per_cycle: 1_000,
        ..SandboxLimits::default()
    };
    let mut sb = Sandbox::with_limits(tiny).unwrap();
    assert_eq!(
        sb.run_cycle(&module, b""),
        Err(SandboxError::FuelExhausted { limit: 1_000 })
    );
}

#[test]
fn host_copies_are_charged_fuel() {
    // Re-reading a 64 KiB input forever must run out of fuel even though the loop body is
    // tiny: each read_input charges one unit per 8 bytes copied.
    let module = load(
        &hostile(
            "(loop $l (drop (call $read (i32.const 0) (i32.const 0) (i32.const 65536))) (br $l)) (i32.const 0)",
            "",
        ),
        Profile::Warden,
    )
    .unwrap();
    let mut sb = sandbox();
    let big = vec![7u8; 64 * 1024];
    let (result, seen) = run_observed(&mut sb, &module, &big);
    assert_eq!(
        result,
        Err(SandboxError::FuelExhausted {
            limit: SandboxLimits::default().fuel_per_cycle
        })
    );
    assert_scrubbed(&seen);
}

#[test]
fn memory_grow_past_cap_is_memory_limit() {
    // 1 MiB cap = 16 pages; the module starts with 1 and asks for 100 more.
    let module = load(
        &hostile("(drop (memory.grow (i32.const 100))) (i32.const 0)", ""),
        Profile::Warden,
    )
    .unwrap();
    let mut sb = sandbox();
    expect_failure(
        &mut sb,
        &module,
        SandboxError::MemoryLimit {
            max_bytes: 1024 * 1024,
        },
    );
}

#[test]
fn any_memory_growth_is_refused() {
    // Growth inside the cap is refused too (no realloc residue; see the crate's `design` notes).
    let module = load(
        &hostile("(drop (memory.grow (i32.const 1))) (i32.const 0)", ""),
        Profile::Warden,
    )
    .unwrap();
    let mut sb = sandbox();
    expect_failure(
        &mut sb,
        &module,
        SandboxError::MemoryLimit {
            max_bytes: 1024 * 1024,
        },
    );
    // memory.grow 0 is a size query and is allowed.
    let module = load(&hostile("(memory.grow (i32.const 0))", ""), Profile::Warden).unwrap();
    assert_eq!(sb.run_cycle(&module, SECRET).unwrap().verdict, 1);
}

#[test]
fn a_zero_page_memory_cannot_grow_either() {
    // Creating `(memory 0)` is the creation; the first memory.grow after it is a growth.
    let module = load(
        r#"(module
            (memory (export "memory") 0)
            (func (export "evaluate") (result i32)
                (drop (memory.grow (i32.const 1)))
                (i32.const 0)))"#,
        Profile::Warden,
    )
    .unwrap();
    let mut sb = sandbox();
    assert_eq!(
        sb.run_cycle(&module, SECRET),
        Err(SandboxError::MemoryLimit {
            max_bytes: 1024 * 1024
        })
    );
    let (result, seen) = run_observed(&mut sb, &good_module(), b"four");
    assert_eq!(result.unwrap().verdict, 4, "sandbox must keep working");
    assert_scrubbed(&seen);
}

#[test]
fn initial_memory_above_cap_is_rejected_at_load() {
    let wat = r#"(module (memory (export "memory") 17)
        (func (export "evaluate") (result i32) (i32.const 0)))"#;
    assert_eq!(
        load(wat, Profile::Warden).unwrap_err(),
        SandboxError::InvalidModule(ModuleError::MemoryTooLarge {
            initial_bytes: 17 * 65_536,
            max: 1024 * 1024
        })
    );
    // A sandbox with a smaller cap than the one the module was loaded with refuses to
    // instantiate it, with MemoryLimit.
    let wat16 = r#"(module (memory (export "memory") 16)
        (func (export "evaluate") (result i32) (i32.const 0)))"#;
    let module = load(wat16, Profile::Warden).unwrap();
    let small = SandboxLimits {
        max_memory_bytes: 65_536,
        ..SandboxLimits::default()
    };
    let mut sb = Sandbox::with_limits(small).unwrap();
    assert_eq!(
        sb.run_cycle(&module, b""),
        Err(SandboxError::MemoryLimit { max_bytes: 65_536 })
    );
}

#[test]
fn out_of_bounds_host_call_pointers_trap() {
    let mut sb = sandbox();
    let cases: &[(&str, HostCallError)] = &[
        // destination runs past the end of the 64 KiB memory
        (
            "(drop (call $read (i32.const 65530) (i32.const 0) (i32.const 16)))",
            HostCallError::OutOfBounds { call: "read_input" },
        ),
        // pointer + length overflows 32 bits
        (
            "(call $tel (i32.const 0x7fffffff) (i32.const 0x7fffffff))",
            HostCallError::OutOfBounds {
                call: "commit_telemetry",
            },
        ),
        (
            "(call $tel (i32.const 65532) (i32.const 8))",
            HostCallError::OutOfBounds {
                call: "commit_telemetry",
            },
        ),
        (
            "(call $tel (i32.const -4) (i32.const 4))",
            HostCallError::NegativeArgument {
                call: "commit_telemetry",
            },
        ),
        (
            "(drop (call $read (i32.const 0) (i32.const -1) (i32.const 4)))",
            HostCallError::NegativeArgument { call: "read_input" },
        ),
        (
            "(drop (call $read (i32.const 0) (i32.const 0) (i32.const -1)))",
            HostCallError::NegativeArgument { call: "read_input" },
        ),
        (
            "(call $tel (i32.const 0) (i32.const 257))",
            HostCallError::TelemetryTooLarge { len: 257, max: 256 },
        ),
    ];
    for (body, fault) in cases {
        let module = load(
            &hostile(&format!("{body} (i32.const 0)"), ""),
            Profile::Warden,
        )
        .unwrap_or_else(|e| panic!("{body}: {e}"));
        expect_failure(&mut sb, &module, SandboxError::HostCall(*fault));
    }
}

#[test]
fn read_input_past_the_end_copies_what_exists() {
    // Offsets beyond the input are not an error: they copy nothing.
    let module = load(
        &hostile(
            "(call $read (i32.const 100) (i32.const 1000) (i32.const 16))",
            "",
        ),
        Profile::Warden,
    )
    .unwrap();
    assert_eq!(sandbox().run_cycle(&module, SECRET).unwrap().verdict, 0);
    let module = load(
        &hostile(
            "(call $read (i32.const 100) (i32.const 30) (i32.const 16))",
            "",
        ),
        Profile::Warden,
    )
    .unwrap();
    assert_eq!(sandbox().run_cycle(&module, SECRET).unwrap().verdict, 2);
}

#[test]
fn aether_telemetry_is_capped_at_64_bytes() {
    let wat = r#"(module
        (import "aether" "commit_telemetry_vector" (func $t (param i32 i32)))
        (memory (export "memory") 1 1)
        (func (export "evaluate_limits") (result i32)
            (call $t (i32.const 0) (i32.const 65)) (i32.const 0)))"#;
    let module = load(wat, Profile::Aether).unwrap();
    let input = warden_sandbox::AetherReadings {
        pressure_atm: 1.0,
        dose: 1,
    }
    .to_input();
    assert_eq!(
        sandbox().run_cycle(&module, &input),
        Err(SandboxError::HostCall(HostCallError::TelemetryTooLarge {
            len: 65,
            max: 64
        }))
    );
}

#[test]
fn pointer_taking_call_without_memory_traps() {
    let wat = r#"(module
        (import "warden" "commit_telemetry" (func $t (param i32 i32)))
        (func (export "evaluate") (result i32) (call $t (i32.const 0) (i32.const 0)) (i32.const 0)))"#;
    let module = load(wat, Profile::Warden).unwrap();
    let mut sb = sandbox();
    let (result, seen) = run_observed(&mut sb, &module, SECRET);
    assert_eq!(
        result,
        Err(SandboxError::HostCall(HostCallError::NoMemory {
            call: "commit_telemetry"
        }))
    );
    assert_eq!(seen.guest_len, 0);
    assert_scrubbed(&seen);
}

#[test]
fn deep_recursion_is_a_stack_overflow_trap() {
    let module = load(
        &hostile(
            "(call $down (i32.const 0))",
            "(func $down (param i32) (result i32) (call $down (i32.add (local.get 0) (i32.const 1))))",
        ),
        Profile::Warden,
    )
    .unwrap();
    let mut sb = sandbox();
    expect_failure(
        &mut sb,
        &module,
        SandboxError::Trap(TrapCode::StackOverflow),
    );
}

#[test]
fn guest_traps_carry_their_code() {
    let mut sb = sandbox();
    let cases = [
        ("(unreachable)", TrapCode::UnreachableCodeReached),
        (
            "(i32.div_u (i32.const 1) (i32.const 0))",
            TrapCode::IntegerDivisionByZero,
        ),
        ("(i32.load (i32.const 65535))", TrapCode::MemoryOutOfBounds),
    ];
    for (body, code) in cases {
        let module = load(&hostile(body, ""), Profile::Warden).unwrap();
        expect_failure(&mut sb, &module, SandboxError::Trap(code));
    }
}

#[test]
fn oversized_input_is_refused_before_the_guest_runs() {
    let module = good_module();
    let mut sb = sandbox();
    let big = vec![0u8; SandboxLimits::default().max_input_bytes + 1];
    assert_eq!(
        sb.run_cycle(&module, &big),
        Err(SandboxError::InputTooLarge {
            len: big.len(),
            max: SandboxLimits::default().max_input_bytes
        })
    );
    let (result, seen) = run_observed(&mut sb, &module, b"ok");
    let out = result.unwrap();
    assert_eq!(out.verdict, 2);
    assert_report(&out.scrub, &seen);
    assert_scrubbed(&seen);
}

// ---- load-time rejections -------------------------------------------------------------

fn load_err(wat: &str, profile: Profile) -> ModuleError {
    match load(wat, profile) {
        Err(SandboxError::InvalidModule(e)) => e,
        other => panic!("expected InvalidModule, got {other:?}"),
    }
}

#[test]
fn huge_module_is_rejected() {
    // 300 KiB of data segment: valid wasm, but over the 256 KiB module cap.
    let wat = format!(
        r#"(module (memory (export "memory") 16 16)
            (data (i32.const 0) "{}")
            (func (export "evaluate") (result i32) (i32.const 0)))"#,
        "A".repeat(300 * 1024)
    );
    let bytes = wasm(&wat);
    assert_eq!(
        PolicyModule::load(&bytes, Profile::Warden, &SandboxLimits::default()).unwrap_err(),
        SandboxError::InvalidModule(ModuleError::TooLarge {
            len: bytes.len(),
            max: 256 * 1024
        })
    );
    // The same module loads when the cap allows it, proving the size check is what failed.
    let roomy = SandboxLimits {
        max_module_bytes: 1024 * 1024,
        ..SandboxLimits::default()
    };
    assert!(PolicyModule::load(&bytes, Profile::Warden, &roomy).is_ok());
}

#[test]
fn strict_parse_limits_are_enforced() {
    // wasmi's strict limits include a minimum average function-body size (40 bytes once the
    // bodies total 1000 bytes), a defence against lazy-compilation bombs. 600 empty functions
    // (2-byte bodies) are far below it, and tiny in bytes.
    let many = |n: usize| {
        let mut wat =
            String::from(r#"(module (func (export "evaluate") (result i32) (i32.const 0))"#);
        for _ in 0..n {
            wat.push_str("(func)");
        }
        wat.push(')');
        wasm(&wat)
    };
    let bytes = many(600);
    assert!(bytes.len() < 4096);
    match PolicyModule::load(&bytes, Profile::Warden, &SandboxLimits::default()) {
        Err(SandboxError::InvalidModule(ModuleError::Rejected(reason))) => {
            assert!(reason.contains("average"), "{reason}");
        }
        other => panic!("expected a strict-limit rejection, got {other:?}"),
    }
    // Below the 1000-byte threshold the same shape is accepted: the limit is what bit.
    assert!(PolicyModule::load(&many(100), Profile::Warden, &SandboxLimits::default()).is_ok());
}

#[test]
fn start_function_is_rejected() {
    let wat = r#"(module (memory (export "memory") 1 1)
        (func $s) (start $s)
        (func (export "evaluate") (result i32) (i32.const 0)))"#;
    assert_eq!(load_err(wat, Profile::Warden), ModuleError::StartFunction);
}

#[test]
fn unknown_imports_are_rejected() {
    let wat = r#"(module (import "env" "system" (func (param i32)))
        (func (export "evaluate") (result i32) (i32.const 0)))"#;
    assert_eq!(
        load_err(wat, Profile::Warden),
        ModuleError::UnknownImport {
            module: "env".into(),
            name: "system".into()
        }
    );
    // An aether import is unknown to the warden profile, and vice versa.
    let wat = r#"(module (import "aether" "read_radiation_dosimeter" (func (result i32)))
        (func (export "evaluate") (result i32) (i32.const 0)))"#;
    assert!(matches!(
        load_err(wat, Profile::Warden),
        ModuleError::UnknownImport { .. }
    ));
    let wat = r#"(module (import "warden" "input_len" (func (result i32)))
        (func (export "evaluate_limits") (result i32) (i32.const 0)))"#;
    assert!(matches!(
        load_err(wat, Profile::Aether),
        ModuleError::UnknownImport { .. }
    ));
    // A known name with the wrong signature, or the wrong kind.
    let wat = r#"(module (import "warden" "input_len" (func (result i64)))
        (func (export "evaluate") (result i32) (i32.const 0)))"#;
    assert_eq!(
        load_err(wat, Profile::Warden),
        ModuleError::ImportSignature {
            name: "input_len".into()
        }
    );
    let wat = r#"(module (import "warden" "input_len" (global i32))
        (func (export "evaluate") (result i32) (i32.const 0)))"#;
    assert_eq!(
        load_err(wat, Profile::Warden),
        ModuleError::ImportSignature {
            name: "input_len".into()
        }
    );
}

#[test]
fn memory_shape_is_enforced() {
    let two = r#"(module (memory (export "memory") 1) (memory 1)
        (func (export "evaluate") (result i32) (i32.const 0)))"#;
    assert_eq!(
        load_err(two, Profile::Warden),
        ModuleError::TooManyMemories { count: 2 }
    );
    let imported = r#"(module (import "warden" "memory" (memory 1))
        (func (export "evaluate") (result i32) (i32.const 0)))"#;
    assert_eq!(
        load_err(imported, Profile::Warden),
        ModuleError::MemoryImported
    );
    let hidden = r#"(module (memory 1)
        (func (export "evaluate") (result i32) (i32.const 0)))"#;
    assert_eq!(
        load_err(hidden, Profile::Warden),
        ModuleError::MemoryNotExported
    );
}

#[test]
fn entry_point_is_required() {
    let none = r#"(module (func (export "run") (result i32) (i32.const 0)))"#;
    assert_eq!(
        load_err(none, Profile::Warden),
        ModuleError::MissingExport { name: "evaluate" }
    );
    let wrong = r#"(module (func (export "evaluate") (param i32) (result i32) (local.get 0)))"#;
    assert_eq!(
        load_err(wrong, Profile::Warden),
        ModuleError::ExportSignature { name: "evaluate" }
    );
    assert_eq!(
        load_err(none, Profile::Aether),
        ModuleError::MissingExport {
            name: "evaluate_limits"
        }
    );
}

#[test]
fn malformed_and_text_modules_are_rejected() {
    let limits = SandboxLimits::default();
    for bytes in [
        &b""[..],
        &b"\0asm"[..],
        &b"\0asm\x01\0\0\0\x01\xff"[..],
        &b"(module)"[..],
        &[0xffu8; 64][..],
    ] {
        match PolicyModule::load(bytes, Profile::Warden, &limits) {
            Err(SandboxError::InvalidModule(ModuleError::Rejected(reason))) => {
                assert!(!reason.is_empty());
            }
            other => panic!("{bytes:?}: expected Rejected, got {other:?}"),
        }
    }
    // Invalid code (type error) is caught by validation at load, not at run time.
    let ill_typed = r#"(module (func (export "evaluate") (result i32) (i64.const 0)))"#;
    let bytes = wasm(ill_typed);
    assert!(matches!(
        PolicyModule::load(&bytes, Profile::Warden, &limits),
        Err(SandboxError::InvalidModule(ModuleError::Rejected(_)))
    ));
}

#[test]
fn module_identity_is_sha256_of_the_bytes() {
    let wat = r#"(module (func (export "evaluate") (result i32) (i32.const 0)))"#;
    let bytes = wasm(wat);
    let module = PolicyModule::load(&bytes, Profile::Warden, &SandboxLimits::default()).unwrap();
    // Known-answer: SHA-256("abc") from FIPS 180-4, then the module's own bytes.
    assert_eq!(
        warden_sandbox::Sha256Hash::of(b"abc").to_string(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(*module.hash(), warden_sandbox::Sha256Hash::of(&bytes));
    assert_eq!(module.len(), bytes.len());
    let other = wasm(r#"(module (func (export "evaluate") (result i32) (i32.const 1)))"#);
    let other = PolicyModule::load(&other, Profile::Warden, &SandboxLimits::default()).unwrap();
    assert_ne!(module.hash(), other.hash());
}

#[test]
fn inconsistent_limits_are_refused() {
    let bad = SandboxLimits {
        max_telemetry_bytes: 257,
        ..SandboxLimits::default()
    };
    assert!(matches!(
        Sandbox::with_limits(bad),
        Err(SandboxError::InvalidConfig(_))
    ));
    let bad = SandboxLimits {
        fuel_per_cycle: 0,
        ..SandboxLimits::default()
    };
    assert!(matches!(
        PolicyModule::load(&wasm("(module)"), Profile::Warden, &bad),
        Err(SandboxError::InvalidConfig(_))
    ));
}
