//! WASM policy sandbox: wake, run, scrub.
//!
//! A [`PolicyModule`] is loaded once (validated under strict parse-time limits, compiled
//! eagerly, identified by the SHA-256 of its bytes). A [`Sandbox`] runs it once per event:
//! a fresh wasmi store and instance, a fuel budget, a capped linear memory, host scratch in a
//! `warden-arena` session; it commits the verdict and telemetry into a [`CycleOutcome`] and
//! zeroes every per-cycle buffer before releasing it, also when the cycle fails.
//!
//! ```
//! # fn main() -> Result<(), warden_sandbox::SandboxError> {
//! use warden_sandbox::{PolicyModule, Profile, Sandbox, SandboxLimits};
//! // (module (func (export "evaluate") (result i32) i32.const 1))
//! let wasm = [
//!     0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01,
//!     0x7f, 0x03, 0x02, 0x01, 0x00, 0x07, 0x0c, 0x01, 0x08, 0x65, 0x76, 0x61, 0x6c, 0x75,
//!     0x61, 0x74, 0x65, 0x00, 0x00, 0x0a, 0x06, 0x01, 0x04, 0x00, 0x41, 0x01, 0x0b,
//! ];
//! let limits = SandboxLimits::default();
//! let module = PolicyModule::load(&wasm, Profile::Warden, &limits)?;
//! let mut sandbox = Sandbox::with_limits(limits)?;
//! let outcome = sandbox.run_cycle(&module, b"event")?;
//! assert_eq!(outcome.verdict, 1);
//! # Ok(())
//! # }
//! ```

#![no_std]
#![forbid(unsafe_code)]
// Client, file and network bytes reach this crate: no indexing or panics that could
// turn them into a crash (tests may).
#![deny(clippy::indexing_slicing, clippy::panic)]
#![cfg_attr(test, allow(clippy::indexing_slicing, clippy::panic))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod error;
mod host;
mod limits;
mod module;
mod profile;
mod sandbox;
pub mod scrub;

pub use error::{HostCallError, ModuleError, SandboxError, TrapCode};
pub use limits::{AETHER_TELEMETRY_MAX, SandboxLimits, TELEMETRY_CAPACITY, WASM_PAGE_BYTES};
pub use module::{PolicyModule, Sha256Hash};
pub use profile::{AetherReadings, Profile};
pub use sandbox::{CycleOutcome, Sandbox, ScrubEvidence, ScrubReport, Telemetry};

/// How this crate works and why (design notes; the short overview is `ARCHITECTURE.md`).
#[doc = include_str!("design.md")]
pub mod design {}
