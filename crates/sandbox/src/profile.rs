//! Host-bridge profiles: which imports a policy may use and which export it must provide.

use wasmi::ValType;

use crate::limits::{AETHER_TELEMETRY_MAX, SandboxLimits};

/// The host bridge a policy module is written against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// Import module `warden`: `input_len() -> i32`, `read_input(dst, offset, len) -> i32`,
    /// `commit_telemetry(ptr, len)`; export `evaluate() -> i32`.
    /// The cycle input is the event's bytes.
    Warden,
    /// Seed 003 compatibility, import module `aether`: `read_atmospheric_pressure() -> f32`,
    /// `read_radiation_dosimeter() -> i32`, `commit_telemetry_vector(ptr, len)` (at most
    /// 64 bytes), `commit_uplink(lo, hi)`; export `evaluate_limits() -> i32`.
    /// The cycle input is [`AetherReadings::to_input`].
    Aether,
}

impl Profile {
    /// Name of the import module the profile provides.
    pub const fn import_module(self) -> &'static str {
        match self {
            Self::Warden => "warden",
            Self::Aether => "aether",
        }
    }

    /// Name of the `() -> i32` export a cycle calls.
    pub const fn entry_point(self) -> &'static str {
        match self {
            Self::Warden => "evaluate",
            Self::Aether => "evaluate_limits",
        }
    }

    /// Most telemetry bytes one cycle may commit under this profile.
    pub fn telemetry_max(self, limits: &SandboxLimits) -> usize {
        match self {
            Self::Warden => limits.max_telemetry_bytes,
            Self::Aether => AETHER_TELEMETRY_MAX.min(limits.max_telemetry_bytes),
        }
    }
}

/// Sensor readings an `aether` cycle sees, encoded as the cycle input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AetherReadings {
    /// Atmospheric pressure in atmospheres (`read_atmospheric_pressure`).
    pub pressure_atm: f32,
    /// Radiation dose (`read_radiation_dosimeter`).
    pub dose: i32,
}

impl AetherReadings {
    /// Length of the encoded form.
    pub const ENCODED_LEN: usize = 8;

    /// Encodes as 8 bytes: pressure (f32 little-endian), then dose (i32 little-endian).
    pub fn to_input(self) -> [u8; 8] {
        let mut out = [0u8; 8];
        let (p, d) = out.split_at_mut(4);
        p.copy_from_slice(&self.pressure_atm.to_le_bytes());
        d.copy_from_slice(&self.dose.to_le_bytes());
        out
    }

    /// Decodes [`Self::to_input`]'s form; `None` unless exactly 8 bytes.
    pub fn from_input(input: &[u8]) -> Option<Self> {
        let bytes: &[u8; 8] = input.try_into().ok()?;
        let (p, d) = bytes.split_at(4);
        Some(Self {
            pressure_atm: f32::from_le_bytes(p.try_into().ok()?),
            dose: i32::from_le_bytes(d.try_into().ok()?),
        })
    }
}

/// One host function a module can import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HostFn {
    InputLen,
    ReadInput,
    CommitTelemetry,
    ReadPressure,
    ReadDose,
    CommitTelemetryVector,
    CommitUplink,
}

impl HostFn {
    /// Resolves `module.name` under `profile`; `None` for anything the profile lacks.
    pub(crate) fn lookup(profile: Profile, module: &str, name: &str) -> Option<Self> {
        if module != profile.import_module() {
            return None;
        }
        match (profile, name) {
            (Profile::Warden, "input_len") => Some(Self::InputLen),
            (Profile::Warden, "read_input") => Some(Self::ReadInput),
            (Profile::Warden, "commit_telemetry") => Some(Self::CommitTelemetry),
            (Profile::Aether, "read_atmospheric_pressure") => Some(Self::ReadPressure),
            (Profile::Aether, "read_radiation_dosimeter") => Some(Self::ReadDose),
            (Profile::Aether, "commit_telemetry_vector") => Some(Self::CommitTelemetryVector),
            (Profile::Aether, "commit_uplink") => Some(Self::CommitUplink),
            _ => None,
        }
    }

    /// Parameter and result types the import must be declared with.
    pub(crate) fn signature(self) -> (&'static [ValType], &'static [ValType]) {
        use ValType::{F32, I32};
        match self {
            Self::InputLen | Self::ReadDose => (&[], &[I32]),
            Self::ReadInput => (&[I32, I32, I32], &[I32]),
            Self::CommitTelemetry | Self::CommitTelemetryVector | Self::CommitUplink => {
                (&[I32, I32], &[])
            }
            Self::ReadPressure => (&[], &[F32]),
        }
    }
}
