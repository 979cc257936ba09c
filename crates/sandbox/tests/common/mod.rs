//! Helpers shared by the sandbox integration tests.

#![allow(dead_code, clippy::expect_used)]

use warden_sandbox::{
    CycleOutcome, PolicyModule, Profile, Sandbox, SandboxError, SandboxLimits, ScrubReport,
};

/// Compiles WAT text to a binary module.
pub fn wasm(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).expect("test WAT must parse")
}

/// Loads WAT under `profile` with default limits.
pub fn load(wat: &str, profile: Profile) -> Result<PolicyModule, SandboxError> {
    PolicyModule::load(&wasm(wat), profile, &SandboxLimits::default())
}

/// A sandbox with default limits.
pub fn sandbox() -> Sandbox {
    Sandbox::with_limits(SandboxLimits::default()).expect("sandbox")
}

/// What the observer saw after the scrub.
#[derive(Debug, Default)]
pub struct Seen {
    pub guest_len: usize,
    pub guest_nonzero: usize,
    pub input_len: usize,
    pub input_nonzero: usize,
    pub telemetry_len: usize,
    pub telemetry_nonzero: usize,
    pub calls: usize,
}

/// Runs one cycle and records how the per-cycle memory read back after the scrub.
pub fn run_observed(
    sandbox: &mut Sandbox,
    module: &PolicyModule,
    input: &[u8],
) -> (Result<CycleOutcome, SandboxError>, Seen) {
    let mut seen = Seen::default();
    let result = sandbox.run_cycle_observed(module, input, |ev| {
        seen.calls += 1;
        seen.guest_len = ev.guest_memory.len();
        seen.guest_nonzero = ev.guest_memory.iter().filter(|b| **b != 0).count();
        seen.input_len = ev.input_scratch.len();
        seen.input_nonzero = ev.input_scratch.iter().filter(|b| **b != 0).count();
        seen.telemetry_len = ev.telemetry_scratch.len();
        seen.telemetry_nonzero = ev.telemetry_scratch.iter().filter(|b| **b != 0).count();
    });
    (result, seen)
}

/// Asserts that the observer ran and every per-cycle byte read back as zero.
pub fn assert_scrubbed(seen: &Seen) {
    assert_eq!(seen.calls, 1, "observer must run exactly once");
    assert_eq!(seen.guest_nonzero, 0, "guest memory not zero after scrub");
    assert_eq!(seen.input_nonzero, 0, "input scratch not zero after scrub");
    assert_eq!(
        seen.telemetry_nonzero, 0,
        "telemetry scratch not zero after scrub"
    );
}

/// Asserts the scrub report matches what the observer saw.
pub fn assert_report(report: &ScrubReport, seen: &Seen) {
    assert_eq!(report.guest_memory_bytes, seen.guest_len);
    assert_eq!(
        report.host_scratch_bytes,
        seen.input_len + seen.telemetry_len
    );
}
