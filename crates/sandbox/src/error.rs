//! Typed failures of loading a policy module and of running a cycle.

use alloc::string::String;
use core::fmt;

pub use wasmi::TrapCode;

/// Why a policy module was refused at load time.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModuleError {
    /// The module is larger than [`SandboxLimits::max_module_bytes`](crate::SandboxLimits).
    TooLarge {
        /// Size of the module in bytes.
        len: usize,
        /// Configured maximum.
        max: usize,
    },
    /// The module has a start section (code that would run during instantiation).
    StartFunction,
    /// The module imports something the selected profile does not provide.
    UnknownImport {
        /// Import module name.
        module: String,
        /// Import field name.
        name: String,
    },
    /// A known import is declared with the wrong kind or signature.
    ImportSignature {
        /// Import field name.
        name: String,
    },
    /// The module declares or imports more than one linear memory.
    TooManyMemories {
        /// Number of memories found.
        count: u32,
    },
    /// The module imports its linear memory; the sandbox always lets wasmi create it.
    MemoryImported,
    /// The module's memory is not exported as `memory`, so the host could neither
    /// bridge pointers into it nor scrub it.
    MemoryNotExported,
    /// 64-bit or shared memories are not supported.
    UnsupportedMemory,
    /// The declared initial memory is larger than the cycle's memory cap.
    MemoryTooLarge {
        /// Declared initial size in bytes (saturated).
        initial_bytes: u64,
        /// Configured cap in bytes.
        max: usize,
    },
    /// The module has more imports than any profile needs.
    TooManyImports {
        /// Number of imports found.
        count: u32,
    },
    /// The profile's entry point is not exported.
    MissingExport {
        /// Expected export name.
        name: &'static str,
    },
    /// The entry point has the wrong signature (must be `() -> i32`).
    ExportSignature {
        /// Export name.
        name: &'static str,
    },
    /// wasmi rejected the module (malformed, invalid, or over its strict parse-time limits).
    Rejected(String),
}

impl fmt::Display for ModuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { len, max } => {
                write!(f, "module is {len} bytes, more than the maximum of {max}")
            }
            Self::StartFunction => f.write_str("module has a start function"),
            Self::UnknownImport { module, name } => {
                write!(f, "unknown import {module}.{name} for this profile")
            }
            Self::ImportSignature { name } => {
                write!(f, "import {name} has the wrong kind or signature")
            }
            Self::TooManyMemories { count } => {
                write!(f, "module has {count} memories, at most one is allowed")
            }
            Self::MemoryImported => f.write_str("module imports its memory"),
            Self::MemoryNotExported => f.write_str("module memory is not exported as `memory`"),
            Self::UnsupportedMemory => f.write_str("64-bit or shared memory is not supported"),
            Self::MemoryTooLarge { initial_bytes, max } => write!(
                f,
                "initial memory of {initial_bytes} bytes exceeds the cap of {max} bytes"
            ),
            Self::TooManyImports { count } => write!(f, "module has too many imports ({count})"),
            Self::MissingExport { name } => write!(f, "module does not export `{name}`"),
            Self::ExportSignature { name } => {
                write!(f, "export `{name}` must be a function `() -> i32`")
            }
            Self::Rejected(reason) => write!(f, "module rejected: {reason}"),
        }
    }
}

/// A guest's host call broke the bridge's rules; the guest is trapped, the host is unharmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostCallError {
    /// A pointer/length pair does not lie inside guest memory (or is negative).
    OutOfBounds {
        /// Host function that was called.
        call: &'static str,
    },
    /// A negative offset or length was passed.
    NegativeArgument {
        /// Host function that was called.
        call: &'static str,
    },
    /// More telemetry than the profile allows.
    TelemetryTooLarge {
        /// Bytes offered.
        len: usize,
        /// Profile maximum.
        max: usize,
    },
    /// A pointer-taking host function was called by a module without memory.
    NoMemory {
        /// Host function that was called.
        call: &'static str,
    },
}

impl fmt::Display for HostCallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutOfBounds { call } => write!(f, "{call}: range outside guest memory"),
            Self::NegativeArgument { call } => write!(f, "{call}: negative offset or length"),
            Self::TelemetryTooLarge { len, max } => {
                write!(f, "telemetry of {len} bytes exceeds the maximum of {max}")
            }
            Self::NoMemory { call } => write!(f, "{call}: module has no memory"),
        }
    }
}

impl core::error::Error for HostCallError {}
impl wasmi::errors::HostError for HostCallError {}

/// Every way loading a module or running a cycle can fail.
///
/// A failed cycle has still been scrubbed when this error is returned.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SandboxError {
    /// The module was refused at load time.
    InvalidModule(ModuleError),
    /// The guest ran out of fuel before returning.
    FuelExhausted {
        /// Fuel granted to the cycle.
        limit: u64,
    },
    /// The guest needed more linear memory than the cycle allows
    /// (any `memory.grow` that would enlarge memory, see the crate's `design` notes).
    MemoryLimit {
        /// Cap in bytes.
        max_bytes: usize,
    },
    /// The guest trapped; carries the WebAssembly trap code.
    Trap(TrapCode),
    /// The guest broke a host-bridge rule and was trapped.
    HostCall(HostCallError),
    /// The event input is larger than the configured maximum.
    InputTooLarge {
        /// Input length.
        len: usize,
        /// Configured maximum.
        max: usize,
    },
    /// The event input is not valid for the module's profile (e.g. aether readings not 8 bytes).
    InvalidInput,
    /// The per-cycle scratch arena is too small for this cycle.
    ScratchExhausted {
        /// Bytes requested.
        requested: usize,
        /// Bytes left in the session.
        remaining: usize,
    },
    /// The sandbox configuration is unusable (e.g. telemetry maximum above capacity).
    InvalidConfig(&'static str),
    /// wasmi failed in a way that is not a guest trap (instantiation or engine error).
    Runtime(String),
}

impl SandboxError {
    /// A fixed, lower-case name of the failure kind (for logs and metrics: no data from the
    /// guest or its input, unlike `Display`, which includes numbers and messages).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidModule(_) => "invalid-module",
            Self::FuelExhausted { .. } => "fuel-exhausted",
            Self::MemoryLimit { .. } => "memory-limit",
            Self::Trap(_) => "trap",
            Self::HostCall(_) => "host-call",
            Self::InputTooLarge { .. } => "input-too-large",
            Self::InvalidInput => "invalid-input",
            Self::ScratchExhausted { .. } => "scratch-exhausted",
            Self::InvalidConfig(_) => "invalid-config",
            Self::Runtime(_) => "runtime",
        }
    }
}

impl fmt::Display for SandboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidModule(e) => write!(f, "invalid policy module: {e}"),
            Self::FuelExhausted { limit } => write!(f, "policy ran out of fuel ({limit} units)"),
            Self::MemoryLimit { max_bytes } => {
                write!(f, "policy exceeded its memory limit of {max_bytes} bytes")
            }
            Self::Trap(code) => write!(f, "policy trapped: {code}"),
            Self::HostCall(e) => write!(f, "policy host call rejected: {e}"),
            Self::InputTooLarge { len, max } => {
                write!(f, "input of {len} bytes exceeds the maximum of {max}")
            }
            Self::InvalidInput => f.write_str("input does not match the module's profile"),
            Self::ScratchExhausted {
                requested,
                remaining,
            } => write!(
                f,
                "sandbox scratch arena full: {requested} bytes requested, {remaining} left"
            ),
            Self::InvalidConfig(why) => write!(f, "invalid sandbox configuration: {why}"),
            Self::Runtime(why) => write!(f, "sandbox runtime error: {why}"),
        }
    }
}

impl core::error::Error for SandboxError {}

impl From<ModuleError> for SandboxError {
    fn from(e: ModuleError) -> Self {
        Self::InvalidModule(e)
    }
}
