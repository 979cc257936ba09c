//! Loading a policy module: size check, structural pre-scan, compile once, profile check.

use alloc::string::ToString;
use alloc::vec::Vec;
use core::fmt;

use sha2::{Digest, Sha256};
use wasmi::{CompilationMode, Config, EnforcedLimits, Engine, ExternType, Module, ValType};
use wasmparser::{ExternalKind, Parser, Payload, TypeRef};

use crate::error::{ModuleError, SandboxError};
use crate::limits::{SandboxLimits, WASM_PAGE_BYTES};
use crate::profile::{HostFn, Profile};

/// More imports than this is never a legitimate policy (the largest profile has four).
const MAX_IMPORTS: u32 = 8;

/// A SHA-256 digest (module identity, input and telemetry hashes).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Hash(pub [u8; 32]);

impl Sha256Hash {
    /// SHA-256 of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// The raw digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Sha256Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Sha256Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Hash({self})")
    }
}

/// A validated, compiled policy module, identified by the SHA-256 of its bytes.
///
/// Load once (an admin operation), run many cycles. Cloning is cheap (wasmi modules are
/// reference counted) and shares the compiled code.
#[derive(Clone)]
pub struct PolicyModule {
    module: Module,
    profile: Profile,
    hash: Sha256Hash,
    imports: Vec<HostFn>,
    len: usize,
}

impl fmt::Debug for PolicyModule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyModule")
            .field("profile", &self.profile)
            .field("hash", &self.hash)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl PolicyModule {
    /// Validates and compiles a binary WebAssembly module for `profile`.
    ///
    /// Checks, in order: size against `limits.max_module_bytes`; a structural pre-scan (no
    /// start function, at most one memory, not imported, exported as `memory`, 32-bit,
    /// unshared, initial size within `limits.max_memory_bytes`, few imports); full
    /// validation and eager compilation by wasmi under `EnforcedLimits::strict()`; every
    /// import known to the profile with the right signature; the entry point exported as
    /// `() -> i32`. Only the binary format is accepted.
    ///
    /// # Errors
    ///
    /// [`SandboxError::InvalidModule`] with the reason, or [`SandboxError::InvalidConfig`].
    pub fn load(
        bytes: &[u8],
        profile: Profile,
        limits: &SandboxLimits,
    ) -> Result<Self, SandboxError> {
        limits.validate()?;
        if bytes.len() > limits.max_module_bytes {
            return Err(ModuleError::TooLarge {
                len: bytes.len(),
                max: limits.max_module_bytes,
            }
            .into());
        }
        prescan(bytes, limits)?;
        let engine = engine_for(limits);
        let module =
            Module::new(&engine, bytes).map_err(|e| ModuleError::Rejected(e.to_string()))?;
        let imports = resolve_imports(&module, profile)?;
        check_entry_point(&module, profile)?;
        Ok(Self {
            module,
            profile,
            hash: Sha256Hash::of(bytes),
            imports,
            len: bytes.len(),
        })
    }

    /// SHA-256 of the module bytes: the module's identity in receipts.
    pub fn hash(&self) -> &Sha256Hash {
        &self.hash
    }

    /// The profile the module was loaded for.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// Size of the module in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always `false`: an empty byte string is not a module. Present for API symmetry.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn wasm(&self) -> &Module {
        &self.module
    }

    pub(crate) fn host_imports(&self) -> &[HostFn] {
        &self.imports
    }
}

/// The engine configuration every policy is compiled and run with.
fn engine_for(limits: &SandboxLimits) -> Engine {
    let mut config = Config::default();
    config
        .consume_fuel(true)
        .allow_start_fn(false)
        .enforced_limits(EnforcedLimits::strict())
        // Compile everything at load: a cycle never pays for (or fails in) translation.
        .compilation_mode(CompilationMode::Eager)
        .set_max_recursion_depth(limits.max_recursion_depth)
        .wasm_multi_memory(false);
    Engine::new(&config)
}

fn rejected(e: &wasmparser::BinaryReaderError) -> ModuleError {
    ModuleError::Rejected(e.to_string())
}

/// Structural checks wasmi either does not make or reports without a typed reason.
fn prescan(bytes: &[u8], limits: &SandboxLimits) -> Result<(), ModuleError> {
    let mut memories: u32 = 0;
    let mut imports: u32 = 0;
    let mut memory_imported = false;
    let mut memory_exported = false;
    let mut start = false;
    let mut unsupported = false;
    let mut initial_bytes: u64 = 0;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(|e| rejected(&e))? {
            Payload::ImportSection(reader) => {
                for import in reader {
                    let import = import.map_err(|e| rejected(&e))?;
                    imports = imports.saturating_add(1);
                    if let TypeRef::Memory(_) = import.ty {
                        memories = memories.saturating_add(1);
                        memory_imported = true;
                    }
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    let memory = memory.map_err(|e| rejected(&e))?;
                    memories = memories.saturating_add(1);
                    unsupported |=
                        memory.memory64 || memory.shared || memory.page_size_log2.is_some();
                    initial_bytes = memory.initial.saturating_mul(WASM_PAGE_BYTES as u64);
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(|e| rejected(&e))?;
                    if export.kind == ExternalKind::Memory && export.name == "memory" {
                        memory_exported = true;
                    }
                }
            }
            Payload::StartSection { .. } => start = true,
            _ => {}
        }
    }
    if start {
        return Err(ModuleError::StartFunction);
    }
    if imports > MAX_IMPORTS {
        return Err(ModuleError::TooManyImports { count: imports });
    }
    if memories > 1 {
        return Err(ModuleError::TooManyMemories { count: memories });
    }
    if memory_imported {
        return Err(ModuleError::MemoryImported);
    }
    if unsupported {
        return Err(ModuleError::UnsupportedMemory);
    }
    if memories == 1 && !memory_exported {
        return Err(ModuleError::MemoryNotExported);
    }
    if initial_bytes > limits.max_memory_bytes as u64 {
        return Err(ModuleError::MemoryTooLarge {
            initial_bytes,
            max: limits.max_memory_bytes,
        });
    }
    Ok(())
}

/// Maps every import to a host function of `profile`, in import order.
fn resolve_imports(module: &Module, profile: Profile) -> Result<Vec<HostFn>, ModuleError> {
    let mut out = Vec::new();
    for import in module.imports() {
        let Some(f) = HostFn::lookup(profile, import.module(), import.name()) else {
            return Err(ModuleError::UnknownImport {
                module: import.module().to_string(),
                name: import.name().to_string(),
            });
        };
        let (params, results) = f.signature();
        let ok = matches!(import.ty(), ExternType::Func(ty)
            if ty.params() == params && ty.results() == results);
        if !ok {
            return Err(ModuleError::ImportSignature {
                name: import.name().to_string(),
            });
        }
        out.push(f);
    }
    Ok(out)
}

fn check_entry_point(module: &Module, profile: Profile) -> Result<(), ModuleError> {
    let name = profile.entry_point();
    match module.get_export(name) {
        None => Err(ModuleError::MissingExport { name }),
        Some(ExternType::Func(ty)) if ty.params().is_empty() && ty.results() == [ValType::I32] => {
            Ok(())
        }
        Some(_) => Err(ModuleError::ExportSignature { name }),
    }
}
