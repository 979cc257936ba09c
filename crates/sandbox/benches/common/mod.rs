//! Shared set-up of the sandbox benches: the aether policy, the sandbox, and the bare-wasmi
//! floor that instantiates and calls the same module with nothing around it.

#![allow(dead_code)] // each bench uses a subset

use warden_sandbox::{AetherReadings, PolicyModule, Profile, Sandbox, SandboxLimits};
use wasmi::{Caller, CompilationMode, Config, Engine, Linker, Module, Store};

/// The seed-003 policy shipped under examples/policies.
pub const AETHER_WAT: &str = include_str!("../../../../examples/policies/aether.wat");

/// The bench injection of seed 003: 0.12 atm, dose 1250.
pub fn injection() -> [u8; 8] {
    AetherReadings {
        pressure_atm: 0.12,
        dose: 1250,
    }
    .to_input()
}

/// Errors of bench set-up, reported instead of panicking.
pub type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Loaded policy and a sandbox with default limits.
pub fn sandbox_setup() -> BenchResult<(PolicyModule, Sandbox)> {
    let bytes = wat::parse_str(AETHER_WAT)?;
    let limits = SandboxLimits::default();
    let module = PolicyModule::load(&bytes, Profile::Aether, &limits)?;
    let sandbox = Sandbox::with_limits(limits)?;
    Ok((module, sandbox))
}

/// Host state of the bare floor: just the readings and the committed values.
pub struct Bare {
    pressure: f32,
    dose: i32,
    telemetry_len: i32,
    uplink: (i32, i32),
}

/// The floor: same module bytes, same wasmi build, fuel metering and eager compilation
/// like the sandbox's engine, a `Linker` with the four aether functions (no bounds checks,
/// no copy), compiled once.
pub struct Floor {
    engine: Engine,
    module: Module,
    linker: Linker<Bare>,
}

impl Floor {
    /// Compiles the module and defines the host functions.
    pub fn new() -> BenchResult<Self> {
        let mut config = Config::default();
        config
            .consume_fuel(true)
            .compilation_mode(CompilationMode::Eager);
        let engine = Engine::new(&config);
        let module = Module::new(&engine, wat::parse_str(AETHER_WAT)?)?;
        let mut linker = Linker::<Bare>::new(&engine);
        linker.func_wrap(
            "aether",
            "read_atmospheric_pressure",
            |c: Caller<'_, Bare>| c.data().pressure,
        )?;
        linker.func_wrap(
            "aether",
            "read_radiation_dosimeter",
            |c: Caller<'_, Bare>| c.data().dose,
        )?;
        linker.func_wrap(
            "aether",
            "commit_telemetry_vector",
            |mut c: Caller<'_, Bare>, _ptr: i32, len: i32| c.data_mut().telemetry_len = len,
        )?;
        linker.func_wrap(
            "aether",
            "commit_uplink",
            |mut c: Caller<'_, Bare>, lo: i32, hi: i32| c.data_mut().uplink = (lo, hi),
        )?;
        Ok(Self {
            engine,
            module,
            linker,
        })
    }

    /// Fresh store + instantiate + call + drop: the least any per-event wasmi run costs.
    pub fn run(&self) -> BenchResult<i32> {
        let mut store = Store::new(
            &self.engine,
            Bare {
                pressure: 0.12,
                dose: 1250,
                telemetry_len: 0,
                uplink: (0, 0),
            },
        );
        store.set_fuel(1_000_000)?;
        let instance = self
            .linker
            .instantiate_and_start(&mut store, &self.module)?;
        let f = instance.get_typed_func::<(), i32>(&store, "evaluate_limits")?;
        Ok(f.call(&mut store, ())?)
    }
}
