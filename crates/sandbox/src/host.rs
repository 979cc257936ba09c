//! The host side of one cycle: per-cycle state, the resource limiter and the bridge functions.
//!
//! Every pointer and length a guest passes is checked here before any byte is touched; a bad
//! one returns a [`HostCallError`] as a wasmi host error, which traps the guest. Nothing in
//! this file can panic on guest input: all slicing goes through `get`/`get_mut`.

use wasmi::{Caller, Error, Func, Memory, ResourceLimiter, Store, TrapCode};
use wasmi_core::LimiterError;

use crate::error::HostCallError;
use crate::profile::{AetherReadings, HostFn};

/// Table elements a guest may have (tables hold function references, not data).
const MAX_TABLE_ELEMENTS: usize = 10_000;

/// Host-side copies charge fuel like `memory.copy` does: one unit per this many bytes.
const BYTES_PER_FUEL: usize = 8;

/// Everything a cycle's host functions can see. The two slices live in the cycle's arena
/// session; the sandbox zeroes them before the session ends.
pub(crate) struct HostState<'s> {
    /// Copy of the event input.
    pub(crate) input: &'s mut [u8],
    /// Telemetry scratch, exactly as long as the profile's telemetry maximum.
    pub(crate) telemetry: &'s mut [u8],
    /// Bytes of `telemetry` committed by the guest (last commit wins).
    pub(crate) telemetry_len: usize,
    /// Sensor readings of an `aether` cycle.
    pub(crate) readings: Option<AetherReadings>,
    /// Value passed to `aether.commit_uplink`, `hi << 32 | lo`.
    pub(crate) uplink: Option<u64>,
    /// The instance's exported memory, set right after instantiation.
    pub(crate) memory: Option<Memory>,
    /// Guest memory cap in bytes.
    pub(crate) memory_cap: usize,
    /// Set once the (single) memory has been created.
    pub(crate) memory_created: bool,
    /// Set when the limiter refused memory; turns the resulting trap into `MemoryLimit`.
    pub(crate) memory_denied: bool,
}

impl ResourceLimiter for HostState<'_> {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        // The creation of the memory is the only "growth" allowed, and only within the cap.
        // Any later enlargement is refused: wasmi backs memory with a `Vec`, and growing it
        // may `realloc`, leaving the old, unscrubbed buffer in the heap (see `design`, "What the scrub does not reach").
        // The first call is the creation, whatever its size: a `(memory 0)` must not leave
        // the door open for one later growth.
        let creating = !self.memory_created && current == 0;
        self.memory_created = true;
        if desired <= current {
            return Ok(true);
        }
        if creating && desired <= self.memory_cap {
            return Ok(true);
        }
        self.memory_denied = true;
        Err(LimiterError::ResourceLimiterDeniedAllocation)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        4
    }

    fn memories(&self) -> usize {
        1
    }
}

/// Creates the host function `f` in `store`.
pub(crate) fn host_func(store: &mut Store<HostState<'_>>, f: HostFn) -> Func {
    match f {
        HostFn::InputLen => Func::wrap(store, input_len),
        HostFn::ReadInput => Func::wrap(store, read_input),
        HostFn::CommitTelemetry => Func::wrap(store, commit_telemetry),
        HostFn::ReadPressure => Func::wrap(store, read_atmospheric_pressure),
        HostFn::ReadDose => Func::wrap(store, read_radiation_dosimeter),
        HostFn::CommitTelemetryVector => Func::wrap(store, commit_telemetry_vector),
        HostFn::CommitUplink => Func::wrap(store, commit_uplink),
    }
}

fn fault(e: HostCallError) -> Error {
    Error::host(e)
}

/// `[ptr, ptr + len)` as a range inside a memory of `size` bytes, if it fits.
fn guest_range(
    size: usize,
    ptr: i32,
    len: i32,
    call: &'static str,
) -> Result<(usize, usize), Error> {
    let (Ok(ptr), Ok(len)) = (usize::try_from(ptr), usize::try_from(len)) else {
        return Err(fault(HostCallError::NegativeArgument { call }));
    };
    match ptr.checked_add(len) {
        Some(end) if end <= size => Ok((ptr, end)),
        _ => Err(fault(HostCallError::OutOfBounds { call })),
    }
}

fn memory_of(caller: &Caller<'_, HostState<'_>>, call: &'static str) -> Result<Memory, Error> {
    caller
        .data()
        .memory
        .ok_or(fault(HostCallError::NoMemory { call }))
}

/// Charges fuel for `bytes` copied by the host, so bulk copies are not free.
fn charge_copy(caller: &mut Caller<'_, HostState<'_>>, bytes: usize) -> Result<(), Error> {
    let cost = u64::try_from(bytes.div_ceil(BYTES_PER_FUEL)).unwrap_or(u64::MAX);
    let left = caller.get_fuel()?;
    match left.checked_sub(cost) {
        Some(rest) => caller.set_fuel(rest),
        None => {
            caller.set_fuel(0)?;
            Err(Error::from(TrapCode::OutOfFuel))
        }
    }
}

fn input_len(caller: Caller<'_, HostState<'_>>) -> i32 {
    // The input is bounded by `max_input_bytes`, itself far below i32::MAX in practice;
    // saturate rather than wrap if a caller configured something absurd.
    i32::try_from(caller.data().input.len()).unwrap_or(i32::MAX)
}

/// Copies `input[offset .. offset + n]` to guest `dst`, where `n = min(len, input_len - offset)`,
/// and returns `n`. The whole destination `[dst, dst + len)` must lie in guest memory.
fn read_input(
    mut caller: Caller<'_, HostState<'_>>,
    dst: i32,
    offset: i32,
    len: i32,
) -> Result<i32, Error> {
    const CALL: &str = "read_input";
    let Ok(offset) = usize::try_from(offset) else {
        return Err(fault(HostCallError::NegativeArgument { call: CALL }));
    };
    let memory = memory_of(&caller, CALL)?;
    let (start, end) = guest_range(memory.data_size(&caller), dst, len, CALL)?;
    let wanted = end - start;
    let available = caller.data().input.len().saturating_sub(offset);
    let n = wanted.min(available);
    charge_copy(&mut caller, n)?;
    if n == 0 {
        return Ok(0);
    }
    let (data, state) = memory.data_and_store_mut(&mut caller);
    let src = state
        .input
        .get(offset..offset + n)
        .ok_or(fault(HostCallError::OutOfBounds { call: CALL }))?;
    let dst = data
        .get_mut(start..start + n)
        .ok_or(fault(HostCallError::OutOfBounds { call: CALL }))?;
    dst.copy_from_slice(src);
    Ok(i32::try_from(n).unwrap_or(i32::MAX))
}

/// Copies guest `[ptr, ptr + len)` into the telemetry scratch (replacing earlier commits).
fn copy_telemetry(
    mut caller: Caller<'_, HostState<'_>>,
    ptr: i32,
    len: i32,
    call: &'static str,
) -> Result<(), Error> {
    let memory = memory_of(&caller, call)?;
    let (start, end) = guest_range(memory.data_size(&caller), ptr, len, call)?;
    let n = end - start;
    let max = caller.data().telemetry.len();
    if n > max {
        return Err(fault(HostCallError::TelemetryTooLarge { len: n, max }));
    }
    charge_copy(&mut caller, n)?;
    let (data, state) = memory.data_and_store_mut(&mut caller);
    let src = data
        .get(start..end)
        .ok_or(fault(HostCallError::OutOfBounds { call }))?;
    let dst = state
        .telemetry
        .get_mut(..n)
        .ok_or(fault(HostCallError::TelemetryTooLarge { len: n, max }))?;
    dst.copy_from_slice(src);
    // Clear the tail a longer, earlier commit may have left.
    if let Some(tail) = state.telemetry.get_mut(n..) {
        tail.fill(0);
    }
    state.telemetry_len = n;
    Ok(())
}

fn commit_telemetry(caller: Caller<'_, HostState<'_>>, ptr: i32, len: i32) -> Result<(), Error> {
    copy_telemetry(caller, ptr, len, "commit_telemetry")
}

fn commit_telemetry_vector(
    caller: Caller<'_, HostState<'_>>,
    ptr: i32,
    len: i32,
) -> Result<(), Error> {
    copy_telemetry(caller, ptr, len, "commit_telemetry_vector")
}

fn read_atmospheric_pressure(caller: Caller<'_, HostState<'_>>) -> f32 {
    caller.data().readings.map_or(f32::NAN, |r| r.pressure_atm)
}

fn read_radiation_dosimeter(caller: Caller<'_, HostState<'_>>) -> i32 {
    caller.data().readings.map_or(0, |r| r.dose)
}

fn commit_uplink(mut caller: Caller<'_, HostState<'_>>, lo: i32, hi: i32) {
    // Reinterpret the two i32 halves as the unsigned 64-bit word the guest meant.
    let word = (u64::from(hi.cast_unsigned()) << 32) | u64::from(lo.cast_unsigned());
    caller.data_mut().uplink = Some(word);
}
