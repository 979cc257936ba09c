//! Configuration of the sandbox: parse-time and run-time limits.

use crate::error::SandboxError;

/// WebAssembly page size (64 KiB).
pub const WASM_PAGE_BYTES: usize = 65_536;

/// Hard capacity of the telemetry buffer every cycle can return (bytes).
pub const TELEMETRY_CAPACITY: usize = 256;

/// Telemetry bound of the `aether` profile (seed 003: at most 64 bytes).
pub const AETHER_TELEMETRY_MAX: usize = 64;

/// Limits applied when a module is loaded and on every cycle.
///
/// The defaults suit small, hand-written policies: 256 KiB module, 1 MiB guest memory,
/// one million fuel units (roughly one million simple instructions) per cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxLimits {
    /// Largest accepted module, in bytes (checked before parsing).
    pub max_module_bytes: usize,
    /// Guest linear-memory cap in bytes; the module's initial memory must fit.
    pub max_memory_bytes: usize,
    /// Fuel granted to one cycle.
    pub fuel_per_cycle: u64,
    /// Largest event input, in bytes.
    pub max_input_bytes: usize,
    /// Largest telemetry a `warden` profile module may commit (at most [`TELEMETRY_CAPACITY`]).
    pub max_telemetry_bytes: usize,
    /// Maximum call depth of guest code (deeper recursion traps with `StackOverflow`).
    pub max_recursion_depth: usize,
}

impl SandboxLimits {
    /// The default limits (see the type's documentation).
    pub const DEFAULT: Self = Self {
        max_module_bytes: 256 * 1024,
        max_memory_bytes: 1024 * 1024,
        fuel_per_cycle: 1_000_000,
        max_input_bytes: 64 * 1024,
        max_telemetry_bytes: TELEMETRY_CAPACITY,
        max_recursion_depth: 256,
    };

    /// Checks that the limits are internally consistent.
    ///
    /// # Errors
    ///
    /// [`SandboxError::InvalidConfig`] naming the offending field.
    pub fn validate(&self) -> Result<(), SandboxError> {
        if self.max_telemetry_bytes > TELEMETRY_CAPACITY {
            return Err(SandboxError::InvalidConfig(
                "max_telemetry_bytes exceeds TELEMETRY_CAPACITY",
            ));
        }
        if self.max_memory_bytes > u32::MAX as usize {
            return Err(SandboxError::InvalidConfig(
                "max_memory_bytes exceeds the 32-bit address space",
            ));
        }
        if self.fuel_per_cycle == 0 {
            return Err(SandboxError::InvalidConfig("fuel_per_cycle is zero"));
        }
        if self.max_recursion_depth == 0 {
            return Err(SandboxError::InvalidConfig("max_recursion_depth is zero"));
        }
        Ok(())
    }

    /// Bytes of host scratch one cycle needs in its arena session (input copy + telemetry),
    /// plus alignment slack.
    pub fn scratch_bytes(&self) -> usize {
        self.max_input_bytes
            .saturating_add(TELEMETRY_CAPACITY)
            .saturating_add(64)
    }
}

impl Default for SandboxLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
