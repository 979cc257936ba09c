//! One cycle per event: wake → fresh store and instance → run → commit → scrub.

use alloc::string::ToString;
use alloc::vec::Vec;
use core::fmt;

use warden_arena::{Arena, ArenaFull};
use wasmi::{Extern, Instance, ResourceLimiter, Store, TrapCode};

use crate::error::{HostCallError, SandboxError};
use crate::host::{HostState, host_func};
use crate::limits::{SandboxLimits, TELEMETRY_CAPACITY};
use crate::module::{PolicyModule, Sha256Hash};
use crate::profile::{AetherReadings, Profile};
use crate::scrub::{scrub_guest_memory, zero};

/// Source of zeroes for the telemetry scratch allocation.
static ZEROS: [u8; TELEMETRY_CAPACITY] = [0; TELEMETRY_CAPACITY];

/// Telemetry committed by a cycle (at most [`TELEMETRY_CAPACITY`] bytes, held inline).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Telemetry {
    len: usize,
    bytes: [u8; TELEMETRY_CAPACITY],
}

impl Telemetry {
    const EMPTY: Self = Self {
        len: 0,
        bytes: [0; TELEMETRY_CAPACITY],
    };

    fn copy_from(src: &[u8]) -> Self {
        let mut out = Self::EMPTY;
        if let Some(dst) = out.bytes.get_mut(..src.len()) {
            dst.copy_from_slice(src);
            out.len = src.len();
        }
        out
    }

    /// The committed bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }

    /// Number of committed bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the guest committed nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Telemetry(")?;
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// What the scrub zeroed at the end of a cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScrubReport {
    /// Bytes of guest linear memory zeroed.
    pub guest_memory_bytes: usize,
    /// Bytes of host scratch (input copy, telemetry) zeroed, before the arena session's own
    /// zeroing of its high-water mark.
    pub host_scratch_bytes: usize,
}

/// The result of a successful cycle. Everything here may leave the sandbox; nothing
/// references per-cycle memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleOutcome {
    /// The entry point's return value.
    pub verdict: i32,
    /// Telemetry the guest committed (empty if none).
    pub telemetry: Telemetry,
    /// Fuel the cycle used (including host-side copy charges).
    pub fuel_consumed: u64,
    /// Identity of the module that ran.
    pub module_hash: Sha256Hash,
    /// SHA-256 of the cycle input.
    pub input_hash: Sha256Hash,
    /// SHA-256 of the committed telemetry bytes.
    pub telemetry_hash: Sha256Hash,
    /// Word passed to `aether.commit_uplink` (`hi << 32 | lo`), if called.
    pub uplink: Option<u64>,
    /// What the scrub zeroed.
    pub scrub: ScrubReport,
}

/// Per-cycle memory as it reads right after the scrub, before it is released.
/// Given to the observer of [`Sandbox::run_cycle_observed`] (tests, audits).
#[derive(Debug)]
pub struct ScrubEvidence<'a> {
    /// The guest's linear memory (empty if the module has none or never instantiated).
    pub guest_memory: &'a [u8],
    /// The arena copy of the input.
    pub input_scratch: &'a [u8],
    /// The arena telemetry buffer.
    pub telemetry_scratch: &'a [u8],
}

/// Runs policy cycles. Owns the arena its per-cycle host scratch lives in.
pub struct Sandbox {
    arena: Arena,
    limits: SandboxLimits,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("arena_capacity", &self.arena.capacity())
            .field("limits", &self.limits)
            .finish()
    }
}

impl Sandbox {
    /// A sandbox over a pre-claimed `arena`, which must hold
    /// [`SandboxLimits::scratch_bytes`].
    ///
    /// # Errors
    ///
    /// [`SandboxError::InvalidConfig`] if the limits are inconsistent or the arena too small.
    pub fn new(arena: Arena, limits: SandboxLimits) -> Result<Self, SandboxError> {
        limits.validate()?;
        if arena.capacity() < limits.scratch_bytes() {
            return Err(SandboxError::InvalidConfig(
                "arena smaller than SandboxLimits::scratch_bytes()",
            ));
        }
        Ok(Self { arena, limits })
    }

    /// A sandbox with its own OS-backed arena sized for `limits`.
    ///
    /// # Errors
    ///
    /// [`SandboxError::InvalidConfig`] if the limits are inconsistent or the arena cannot be
    /// claimed.
    #[cfg(feature = "std")]
    pub fn with_limits(limits: SandboxLimits) -> Result<Self, SandboxError> {
        limits.validate()?;
        let arena = Arena::with_capacity(limits.scratch_bytes())
            .map_err(|_| SandboxError::InvalidConfig("cannot claim the sandbox arena"))?;
        Self::new(arena, limits)
    }

    /// The limits every cycle runs under.
    pub fn limits(&self) -> &SandboxLimits {
        &self.limits
    }

    /// Runs one cycle of `module` on `input` and scrubs it, whether it succeeded or not.
    ///
    /// For [`Profile::Aether`] the input is [`AetherReadings::to_input`].
    ///
    /// # Errors
    ///
    /// [`SandboxError::FuelExhausted`], [`SandboxError::MemoryLimit`],
    /// [`SandboxError::Trap`], [`SandboxError::HostCall`], [`SandboxError::InputTooLarge`],
    /// [`SandboxError::InvalidInput`], [`SandboxError::ScratchExhausted`],
    /// [`SandboxError::Runtime`]. The cycle's memory has been zeroed in every case.
    pub fn run_cycle(
        &mut self,
        module: &PolicyModule,
        input: &[u8],
    ) -> Result<CycleOutcome, SandboxError> {
        self.cycle(module, input, &mut |_| {})
    }

    /// [`Self::run_cycle`], calling `observe` with the per-cycle memory after the scrub and
    /// before it is released, so a test or audit can check that it reads back as zeros.
    ///
    /// # Errors
    ///
    /// As [`Self::run_cycle`].
    pub fn run_cycle_observed(
        &mut self,
        module: &PolicyModule,
        input: &[u8],
        mut observe: impl FnMut(&ScrubEvidence<'_>),
    ) -> Result<CycleOutcome, SandboxError> {
        self.cycle(module, input, &mut observe)
    }

    fn cycle(
        &mut self,
        module: &PolicyModule,
        input: &[u8],
        observe: &mut dyn FnMut(&ScrubEvidence<'_>),
    ) -> Result<CycleOutcome, SandboxError> {
        let limits = self.limits;
        if input.len() > limits.max_input_bytes {
            return Err(SandboxError::InputTooLarge {
                len: input.len(),
                max: limits.max_input_bytes,
            });
        }
        let readings = match module.profile() {
            Profile::Aether => {
                Some(AetherReadings::from_input(input).ok_or(SandboxError::InvalidInput)?)
            }
            Profile::Warden => None,
        };
        let input_hash = Sha256Hash::of(input);
        let telemetry_max = module.profile().telemetry_max(&limits);

        // Wake: all host scratch for this cycle comes from one arena session, which zeroes
        // its high-water mark when dropped at the end of this function.
        let session = self.arena.session();
        let input_copy = session
            .try_alloc_slice_copy(input)
            .map_err(scratch_exhausted)?;
        let telemetry = session
            .try_alloc_slice_copy(ZEROS.get(..telemetry_max).unwrap_or(&ZEROS))
            .map_err(scratch_exhausted)?;
        let state = HostState {
            input: input_copy,
            telemetry,
            telemetry_len: 0,
            readings,
            uplink: None,
            memory: None,
            memory_cap: limits.max_memory_bytes,
            memory_created: false,
            memory_denied: false,
        };
        let mut store = Store::new(module.wasm().engine(), state);
        store.limiter(as_limiter);

        // Run.
        let result = execute(&mut store, module, limits.fuel_per_cycle);
        let fuel_left = store.get_fuel().unwrap_or(0);
        let fuel_consumed = limits.fuel_per_cycle.saturating_sub(fuel_left);

        // Commit: copy what leaves the cycle out of per-cycle memory.
        let (telemetry, uplink) = {
            let st = store.data();
            let bytes = st.telemetry.get(..st.telemetry_len).unwrap_or(&[]);
            (Telemetry::copy_from(bytes), st.uplink)
        };

        // Scrub, on success and failure alike.
        let scrub = scrub(&mut store);
        {
            let memory = store.data().memory;
            let guest_memory = memory.map_or(&[][..], |m| m.data(&store));
            let st = store.data();
            observe(&ScrubEvidence {
                guest_memory,
                input_scratch: st.input,
                telemetry_scratch: st.telemetry,
            });
        }
        drop(store);
        drop(session);

        let verdict = result?;
        Ok(CycleOutcome {
            verdict,
            telemetry_hash: Sha256Hash::of(telemetry.as_bytes()),
            telemetry,
            fuel_consumed,
            module_hash: *module.hash(),
            input_hash,
            uplink,
            scrub,
        })
    }
}

fn as_limiter<'a>(state: &'a mut HostState<'_>) -> &'a mut dyn ResourceLimiter {
    state
}

fn scratch_exhausted(e: ArenaFull) -> SandboxError {
    SandboxError::ScratchExhausted {
        requested: e.requested,
        remaining: e.remaining,
    }
}

/// Instantiates the module in the fresh store and calls its entry point.
fn execute(
    store: &mut Store<HostState<'_>>,
    module: &PolicyModule,
    fuel: u64,
) -> Result<i32, SandboxError> {
    store
        .set_fuel(fuel)
        .map_err(|e| SandboxError::Runtime(e.to_string()))?;
    let mut externs = Vec::with_capacity(module.host_imports().len());
    for f in module.host_imports() {
        externs.push(Extern::Func(host_func(store, *f)));
    }
    let instance = Instance::new(&mut *store, module.wasm(), &externs)
        .map_err(|e| classify(store, &e, fuel))?;
    let memory = instance.get_memory(&*store, "memory");
    store.data_mut().memory = memory;
    let entry = instance
        .get_typed_func::<(), i32>(&*store, module.profile().entry_point())
        .map_err(|e| SandboxError::Runtime(e.to_string()))?;
    entry
        .call(&mut *store, ())
        .map_err(|e| classify(store, &e, fuel))
}

/// Turns a wasmi error from instantiation or the call into the typed failure.
fn classify(store: &Store<HostState<'_>>, e: &wasmi::Error, fuel: u64) -> SandboxError {
    if store.data().memory_denied {
        return SandboxError::MemoryLimit {
            max_bytes: store.data().memory_cap,
        };
    }
    if let Some(host) = e.downcast_ref::<HostCallError>() {
        return SandboxError::HostCall(*host);
    }
    match e.as_trap_code() {
        Some(TrapCode::OutOfFuel) => SandboxError::FuelExhausted { limit: fuel },
        Some(code) => SandboxError::Trap(code),
        None => SandboxError::Runtime(e.to_string()),
    }
}

/// Zeroes the guest's linear memory and the host scratch (see [`crate::scrub`]).
fn scrub(store: &mut Store<HostState<'_>>) -> ScrubReport {
    let guest_memory_bytes = match store.data().memory {
        Some(memory) => scrub_guest_memory(memory, store),
        None => 0,
    };
    let st = store.data_mut();
    zero(st.input);
    zero(st.telemetry);
    st.telemetry_len = 0;
    st.uplink = None;
    st.readings = None;
    ScrubReport {
        guest_memory_bytes,
        host_scratch_bytes: st.input.len() + st.telemetry.len(),
    }
}
