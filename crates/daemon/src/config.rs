//! Daemon configuration: embedded secure defaults, an optional TOML file, and the
//! socket / data-directory resolution order (`--flag`, then environment, then default).
//!
//! The daemon must start with no file at all, so every field has a default and the file
//! only overrides what it names. Unknown keys are rejected so a typo never silently leaves
//! a limit at its default.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use warden_permits::SandboxLimits;

/// The environment variables and root's paths, shared with the client
/// (`warden_core::paths`): `--socket`/`--data-dir` fall back to `WARDEN_SOCKET` /
/// `WARDEN_DATA_DIR`, then to the defaults below.
pub use warden_core::paths::{DATA_DIR_ENV, SOCKET_ENV, SYSTEM_DATA_DIR, SYSTEM_SOCKET_PATH};

/// The example configuration shipped with the daemon (every default, commented).
const EXAMPLE_TOML: &str = include_str!("../wardend.example.toml");

/// Smallest frame limit accepted: a header plus a useful body.
const MIN_FRAME_SIZE: u32 = 4096;
/// Hard ceiling on a frame; bulk data belongs to the shared-memory data plane.
const MAX_FRAME_SIZE: u32 = warden_wire::MAX_FRAME_LIMIT;
/// Arena room reserved beyond request + response for per-request scratch.
const ARENA_SLACK: usize = 16 * 1024;

/// Full daemon configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where and how the Unix socket is created.
    pub socket: SocketConfig,
    /// Persistent-state location (reserved for the key store).
    pub storage: StorageConfig,
    /// Resource limits; reaching one yields a typed error, never an out-of-memory.
    pub limits: Limits,
    /// Operation timeouts (seed decision 7).
    pub timeouts: Timeouts,
    /// Who may connect, and who administers slots, policies and the trust store.
    pub access: AccessConfig,
    /// Audit log of key management and denials.
    pub audit: AuditConfig,
    /// Action permits and receipts (issue 6).
    pub permits: PermitsConfig,
    /// Crypto providers beside the built-in software one (PKCS#11 tokens; issue 14).
    pub providers: crate::providers_config::ProvidersConfig,
}

/// Socket settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SocketConfig {
    /// Socket path; `None` = `WARDEN_SOCKET`, then the built-in default.
    pub path: Option<PathBuf>,
    /// File mode of the socket (octal in TOML: `mode = 0o660`).
    pub mode: u32,
    /// Group the socket file is given (a group name from /etc/group or a numeric gid), so
    /// uids in that group can connect; `None` = the daemon's own group.
    pub group: Option<String>,
}

/// Storage settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Data directory; `None` = `WARDEN_DATA_DIR`, then the built-in default.
    pub data_dir: Option<PathBuf>,
}

/// Limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Concurrent connections; the next one is refused with `ProviderBusy`.
    pub max_connections: usize,
    /// Connection slots beyond `max_connections` that only admins and the daemon's own uid
    /// may use, so an operator can always connect, however many other clients hold slots.
    pub reserved_admin_connections: usize,
    /// Concurrent connections one uid may hold (admins and the daemon's own uid exempt);
    /// the next is refused with `QuotaExceeded`, so one uid cannot take every slot. Above
    /// `max_connections` it changes nothing.
    pub max_connections_per_uid: usize,
    /// Largest frame (header + body) accepted or produced, in bytes.
    pub max_frame_size: u32,
    /// Keys + contexts one connection may hold; the next gets `QuotaExceeded`.
    pub max_resources_per_connection: usize,
    /// Worker threads serving requests; 0 = one per available CPU.
    pub worker_threads: usize,
    /// Threads of the long lane, which runs the operations that take milliseconds to
    /// seconds (RSA and SLH-DSA key generation and private-key use, PBKDF2 with a large
    /// work factor) so they never hold a worker (issue 12; see `lane`). 0 runs them on the
    /// workers, where they stall every connection sharing the worker: not for production.
    pub long_lane_threads: usize,
    /// Nice value of the long-lane threads (0..=19; default 10, a tenth of a worker's CPU
    /// weight), so a worker waking for a short request preempts long work at once. The cost:
    /// next to other busy processes at nice 0, long work gets about that tenth of a CPU
    /// (an RSA key generation or a large PBKDF2 slows down as much). Lower it on a device
    /// whose CPUs other work keeps busy; 0 puts long work level with the workers.
    pub long_lane_nice: u8,
    /// Long operations one uid may have queued or running at once; the next gets
    /// `QuotaExceeded`. Bounds how much of the lane queue one uid can claim (uids take turns
    /// at the threads whatever their queue length). Queued requests wait rather than being
    /// refused, so a hog's connections idle instead of spinning on refusals.
    pub max_long_ops_per_uid: usize,
    /// Bytes of the session arena each connection owns (claimed once at start-up).
    pub arena_bytes: usize,
    /// Lock every session arena into RAM (`mlock`) so request data never reaches swap.
    /// Start-up fails, naming `RLIMIT_MEMLOCK`, when the total does not fit the limit.
    pub lock_arenas: bool,
    /// Slots one uid may own; the next `create` gets `QuotaExceeded` (bounds durable growth).
    pub max_slots_per_uid: u32,
    /// Grants one uid may have issued over all its slots; the next gets `QuotaExceeded`.
    pub max_grants_per_uid: u32,
    /// Keys one uid's connections may hold at once in a provider other than the built-in
    /// software one (a PKCS#11 token), outside slots (default 64; slot keys count against
    /// `max_slots_per_uid`). Each is an object in the token, whose storage is small and
    /// shared by every uid: the next gets `QuotaExceeded` and leaves the token at once.
    pub max_token_keys_per_uid: usize,
    /// Bytes of buffered context data (AEAD, Ed25519 / ML-DSA / SLH-DSA streams) one
    /// connection may hold, in 64 KiB chunks; the next buffering context gets `QuotaExceeded`.
    pub context_buffer_bytes_per_connection: usize,
    /// The same bound over all connections of one uid.
    pub context_buffer_bytes_per_uid: usize,
    /// The same bound over the daemon: the chunk pool claimed (and, with `lock_arenas`,
    /// locked) at start-up.
    pub context_buffer_bytes_total: usize,
    /// Bytes of shared-memory regions (data plane, issue 13) one connection may have
    /// registered (mapped) at once; the next `RegionRegister` gets `QuotaExceeded`. Default
    /// 256 MiB: a one-shot AEAD of a 100 MB file needs its input and output mapped together.
    pub region_bytes_per_connection: usize,
    /// The same bound over all connections of one uid (default 512 MiB).
    pub region_bytes_per_uid: usize,
    /// The same bound over the daemon (default 2 GiB). Mapped pages belong to the clients'
    /// memfds; pages the daemon touches first (outputs, inputs that were holes) are
    /// allocated by its faults (see the design notes: the data plane).
    pub region_bytes_total: usize,
    /// Regions one connection may have registered at once (default 16; each is one mapping).
    pub max_regions_per_connection: usize,
    /// Bytes of private scratch memory (the copy of region input a signing or decrypting
    /// context reads, a decryption's output before its tag is checked) each worker and
    /// long-lane thread keeps mapped, wiped, for its next request (default 4 MiB). Larger
    /// copies are mapped and unmapped per request, which costs about a quarter of a
    /// millisecond per MiB in page faults. 0 = keep nothing.
    pub scratch_keep_bytes: usize,
    /// Microseconds a worker keeps polling its connections without sleeping after it served
    /// a request, before it blocks (default 0 = block at once). Catches the next request of
    /// a client that sends back to back without a wake-up of the worker's CPU, which costs
    /// tens of microseconds on a VM whose idle vCPUs halt (BENCHMARKS.md, "Data plane"), at
    /// the price of up to this much CPU time per request (the worker yields between looks,
    /// so other runnable threads are not held up). At most 1000.
    pub busy_poll_us: u32,
}

/// Timeouts in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timeouts {
    /// Budget for contexts created with the default timeout when a request carries none.
    pub default_ms: u32,
    /// How long a client may take to finish sending a frame it started, or to accept a reply.
    ///
    /// While it waits, the worker owning the connection serves no one else, so this bounds
    /// what a stalling client can take. A well-behaved client writes a whole frame at once,
    /// and a default-size frame fits the kernel's socket buffer, so the wait is normally 0.
    pub io_ms: u32,
    /// How long a new connection may take to complete the version handshake (`Hello`).
    ///
    /// Each accepted connection holds a session arena from the pool: without this bound, a
    /// process that connects and says nothing could fill `max_connections` and lock every
    /// other client out. Established connections have no idle limit: an application keeps its
    /// one shared connection (and the ephemeral keys it holds) for its whole life.
    pub handshake_ms: u32,
}

/// Connection admission.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccessConfig {
    /// If non-empty, only these uids may connect (checked with `allowed_gids`: either matches).
    pub allowed_uids: Vec<u32>,
    /// If non-empty, members of these primary gids may connect.
    pub allowed_gids: Vec<u32>,
    /// Uids that may list and delete every slot and manage policies and the trust store.
    /// Empty by default: not even root is an admin unless listed. Admins never gain the
    /// right to use, or read the secret of, another user's key.
    pub admin_uids: Vec<u32>,
}

/// Audit log settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// `"stderr"`, or a file path (appended to, mode 0600; reopened on SIGHUP for rotation).
    /// A relative path is relative to the data directory.
    pub log: String,
    /// Also log every allowed key use (denied uses are always logged).
    pub log_uses: bool,
    /// Audit lines one non-admin uid may cause per second (successes and denials alike),
    /// sustained, and in a burst above that: past them its lines are summarised by one
    /// `audit.rate_limited` line per second instead of one line each, so no uid can fill the
    /// disk through the audit log (its actions and denials still take effect). Admins are
    /// never limited. 0 = unlimited.
    pub lines_per_second_per_uid: u32,
    /// See `lines_per_second_per_uid`.
    pub line_burst_per_uid: u32,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            log: AUDIT_STDERR.into(),
            log_uses: false,
            lines_per_second_per_uid: 100,
            line_burst_per_uid: 1000,
        }
    }
}

/// The `audit.log` value that selects stderr.
pub const AUDIT_STDERR: &str = "stderr";

/// `[permits.sandbox]`: the policy sandbox's layered limits (parse time: module size;
/// growth: guest memory; run time: fuel). Defaults are the library's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxConfig {
    /// Guest linear-memory cap in bytes (a module's initial memory must fit; growth is refused).
    pub max_memory_bytes: usize,
    /// Fuel (roughly, wasm instructions) one cycle may burn before it fails closed.
    pub fuel_per_cycle: u64,
    /// Largest policy module accepted by `policy load`, in bytes.
    pub max_module_bytes: usize,
    /// Largest policy input (claims + intent payload) of one cycle, in bytes.
    pub max_input_bytes: usize,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        let d = SandboxLimits::DEFAULT;
        Self {
            max_memory_bytes: d.max_memory_bytes,
            fuel_per_cycle: d.fuel_per_cycle,
            max_module_bytes: d.max_module_bytes,
            max_input_bytes: d.max_input_bytes,
        }
    }
}

impl SandboxConfig {
    /// The library limits these settings select (others keep the library defaults).
    pub fn limits(&self) -> SandboxLimits {
        SandboxLimits {
            max_memory_bytes: self.max_memory_bytes,
            fuel_per_cycle: self.fuel_per_cycle,
            max_module_bytes: self.max_module_bytes,
            max_input_bytes: self.max_input_bytes,
            ..SandboxLimits::DEFAULT
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        // One wasm page is the smallest memory a policy can have; 256 MiB keeps one cycle's
        // guest memory far below what a daemon on a small device can afford.
        if !(64 * 1024..=256 << 20).contains(&self.max_memory_bytes) {
            return Err(ConfigError::Invalid(
                "permits.sandbox.max_memory_bytes must be 64 KiB..=256 MiB",
            ));
        }
        if self.max_module_bytes == 0 || self.max_module_bytes > 16 << 20 {
            return Err(ConfigError::Invalid(
                "permits.sandbox.max_module_bytes must be 1..=16 MiB",
            ));
        }
        if self.max_input_bytes == 0 || self.max_input_bytes > 16 << 20 {
            return Err(ConfigError::Invalid(
                "permits.sandbox.max_input_bytes must be 1..=16 MiB",
            ));
        }
        if self.fuel_per_cycle == 0 || self.fuel_per_cycle > 10_000_000_000 {
            return Err(ConfigError::Invalid(
                "permits.sandbox.fuel_per_cycle must be 1..=10000000000",
            ));
        }
        self.limits()
            .validate()
            .map_err(|_| ConfigError::Invalid("permits.sandbox limits are inconsistent"))
    }
}

/// Permit verification settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PermitsConfig {
    /// Audience name permits must carry; `None` = `wardend@<hostname>`.
    pub audience: Option<String>,
    /// Attestation (receipt signing) key algorithm, used when the key is first created:
    /// `ED25519` (default), `ML-DSA-65` or `ECDSA-P256-SHA256`.
    pub attestation_alg: String,
    /// At most how often (seconds) a permit verification first forgets replay entries of
    /// permits that expired (leeway included); 0 = never, and the ledger grows with every
    /// permit seen.
    pub replay_prune_interval_s: u32,
    /// How many of the newest receipts the store keeps; older ones are pruned behind a
    /// checkpoint signed by the attestation key, from which the retained chain verifies.
    /// 0 = keep every receipt (the log then grows with every decision).
    pub receipt_retention: u64,
    /// Permit verifications one uid may make per second, sustained (each appends a receipt
    /// to the shared chain); 0 = unlimited.
    pub verify_per_second_per_uid: u32,
    /// Verifications one uid may make in a burst above that rate.
    pub verify_burst_per_uid: u32,
    /// Limits of policy modules and of each sandbox cycle.
    pub sandbox: SandboxConfig,
}

impl Default for PermitsConfig {
    fn default() -> Self {
        Self {
            audience: None,
            attestation_alg: "ED25519".into(),
            replay_prune_interval_s: 600,
            receipt_retention: warden_permits::DEFAULT_RECEIPT_RETENTION,
            verify_per_second_per_uid: 50,
            verify_burst_per_uid: 200,
            sandbox: SandboxConfig::default(),
        }
    }
}

impl PermitsConfig {
    /// The audience this daemon answers to.
    pub fn effective_audience(&self) -> String {
        match &self.audience {
            Some(a) => a.clone(),
            None => format!("wardend@{}", hostname()),
        }
    }
}

/// The host name from the kernel, `localhost` if unreadable.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

impl Default for SocketConfig {
    fn default() -> Self {
        Self {
            path: None,
            mode: 0o660,
            group: None,
        }
    }
}

impl Limits {
    /// Arenas (and so connection slots) claimed at start-up: `max_connections` for everyone
    /// plus `reserved_admin_connections` for admins.
    pub fn connection_slots(&self) -> usize {
        self.max_connections + self.reserved_admin_connections
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 64,
            max_connections_per_uid: 16,
            reserved_admin_connections: 2,
            max_frame_size: 64 * 1024,
            max_resources_per_connection: 1024,
            worker_threads: 0,
            long_lane_threads: 2,
            long_lane_nice: 10,
            max_long_ops_per_uid: 8,
            arena_bytes: 256 * 1024,
            lock_arenas: false,
            max_slots_per_uid: 256,
            max_grants_per_uid: 1024,
            max_token_keys_per_uid: 64,
            // 16 buffering contexts per connection, 64 per uid, 256 in all: one uid cannot
            // take more than a quarter of the pool.
            context_buffer_bytes_per_connection: 1 << 20,
            // total / per_uid = 16 uids must fill their share before another is refused.
            context_buffer_bytes_per_uid: 2 << 20,
            context_buffer_bytes_total: 32 << 20,
            region_bytes_per_connection: 256 << 20,
            region_bytes_per_uid: 512 << 20,
            region_bytes_total: 2 << 30,
            max_regions_per_connection: 16,
            scratch_keep_bytes: 4 << 20,
            busy_poll_us: 0,
        }
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            default_ms: 5000,
            io_ms: 500,
            handshake_ms: 2000,
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    Read(PathBuf, std::io::Error),
    /// The TOML did not parse or named an unknown key.
    Parse(String),
    /// A value is outside its allowed range.
    Invalid(&'static str),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read(p, e) => write!(f, "cannot read config {}: {e}", p.display()),
            Self::Parse(m) => write!(f, "invalid config: {m}"),
            Self::Invalid(m) => write!(f, "invalid config: {m}"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Parses TOML text over the embedded defaults and validates the result.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reads and parses a TOML file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.to_owned(), e))?;
        Self::from_toml(&text)
    }

    /// The defaults as TOML (what `wardend --print-default-config` prints): the commented
    /// example file, in its notation (octal modes, commented optional keys). A unit test
    /// holds it equal to `Config::default()`, so it states exactly what no file means.
    pub fn default_toml() -> String {
        EXAMPLE_TOML.to_owned()
    }

    /// Checks ranges and the relations between limits.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.providers.validate()?;
        let l = &self.limits;
        if self.socket.mode & !0o777 != 0 {
            return Err(ConfigError::Invalid(
                "socket.mode must be a permission mode (<= 0o777)",
            ));
        }
        if self.socket.mode & 0o007 != 0 {
            return Err(ConfigError::Invalid(
                "socket.mode must not grant access to others",
            ));
        }
        if let Some(group) = &self.socket.group {
            if group.is_empty() {
                return Err(ConfigError::Invalid("socket.group must not be empty"));
            }
            // A group that cannot read and write the socket cannot connect: the setting
            // would silently do nothing.
            if self.socket.mode & 0o060 != 0o060 {
                return Err(ConfigError::Invalid(
                    "socket.group needs a socket.mode that lets the group read and write (0o660)",
                ));
            }
        }
        if l.max_connections == 0 || l.max_connections > 65_536 {
            return Err(ConfigError::Invalid(
                "limits.max_connections must be 1..=65536",
            ));
        }
        if l.reserved_admin_connections > 64 {
            return Err(ConfigError::Invalid(
                "limits.reserved_admin_connections must be 0..=64",
            ));
        }
        if l.max_connections_per_uid == 0 {
            return Err(ConfigError::Invalid(
                "limits.max_connections_per_uid must be at least 1",
            ));
        }
        if !(MIN_FRAME_SIZE..=MAX_FRAME_SIZE).contains(&l.max_frame_size) {
            return Err(ConfigError::Invalid(
                "limits.max_frame_size must be 4 KiB..=16 MiB",
            ));
        }
        if l.max_resources_per_connection == 0 || l.max_resources_per_connection > 1 << 20 {
            return Err(ConfigError::Invalid(
                "limits.max_resources_per_connection must be 1..=1048576",
            ));
        }
        if l.worker_threads > 1024 {
            return Err(ConfigError::Invalid(
                "limits.worker_threads must be 0..=1024",
            ));
        }
        if l.long_lane_threads > 64 {
            return Err(ConfigError::Invalid(
                "limits.long_lane_threads must be 0..=64",
            ));
        }
        if l.long_lane_nice > 19 {
            return Err(ConfigError::Invalid("limits.long_lane_nice must be 0..=19"));
        }
        if !(1..=1024).contains(&l.max_long_ops_per_uid) {
            return Err(ConfigError::Invalid(
                "limits.max_long_ops_per_uid must be 1..=1024",
            ));
        }
        // The arena holds the request copy, the provider's output and the zeros that scrub
        // the reply encoder: three frames, plus slack.
        let frame = l.max_frame_size as usize;
        if l.arena_bytes < 3 * frame + ARENA_SLACK {
            return Err(ConfigError::Invalid(
                "limits.arena_bytes must be at least 3 * max_frame_size + 16 KiB",
            ));
        }
        let chunk = warden_crypto::DEFAULT_BUFFER_LIMIT;
        let (conn, uid, total) = (
            l.context_buffer_bytes_per_connection,
            l.context_buffer_bytes_per_uid,
            l.context_buffer_bytes_total,
        );
        if !(chunk <= conn && conn <= uid && uid <= total && total <= 1 << 32) {
            return Err(ConfigError::Invalid(
                "limits.context_buffer_bytes_* must satisfy 64 KiB <= per_connection <= \
                 per_uid <= total <= 4 GiB",
            ));
        }
        if !(1..=1 << 20).contains(&l.max_token_keys_per_uid) {
            return Err(ConfigError::Invalid(
                "limits.max_token_keys_per_uid must be 1..=1048576",
            ));
        }
        let (conn, uid, total) = (
            l.region_bytes_per_connection,
            l.region_bytes_per_uid,
            l.region_bytes_total,
        );
        if !(4096 <= conn && conn <= uid && uid <= total && total <= 1 << 40) {
            return Err(ConfigError::Invalid(
                "limits.region_bytes_* must satisfy 4 KiB <= per_connection <= per_uid <= \
                 total <= 1 TiB",
            ));
        }
        if l.scratch_keep_bytes > 256 << 20 {
            return Err(ConfigError::Invalid(
                "limits.scratch_keep_bytes must be at most 256 MiB (it is kept per thread)",
            ));
        }
        if l.busy_poll_us > 1000 {
            return Err(ConfigError::Invalid("limits.busy_poll_us must be 0..=1000"));
        }
        if !(1..=1024).contains(&l.max_regions_per_connection) {
            return Err(ConfigError::Invalid(
                "limits.max_regions_per_connection must be 1..=1024",
            ));
        }
        if self.timeouts.io_ms == 0 {
            return Err(ConfigError::Invalid("timeouts.io_ms must be > 0"));
        }
        if !(1..=60_000).contains(&self.timeouts.handshake_ms) {
            return Err(ConfigError::Invalid(
                "timeouts.handshake_ms must be 1..=60000",
            ));
        }
        if self.audit.log.is_empty() {
            return Err(ConfigError::Invalid(
                "audit.log must be \"stderr\" or a file path",
            ));
        }
        if !["ED25519", "ML-DSA-65", "ECDSA-P256-SHA256"]
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&self.permits.attestation_alg))
        {
            return Err(ConfigError::Invalid(
                "permits.attestation_alg must be ED25519, ML-DSA-65 or ECDSA-P256-SHA256",
            ));
        }
        if self
            .permits
            .audience
            .as_ref()
            .is_some_and(|a| a.is_empty() || a.len() > 256)
        {
            return Err(ConfigError::Invalid(
                "permits.audience must be 1 to 256 bytes",
            ));
        }
        self.permits.sandbox.validate()?;
        Ok(())
    }

    /// Worker threads to start (resolves 0 to the CPU count).
    pub fn effective_workers(&self) -> usize {
        match self.limits.worker_threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        }
    }

    /// Socket path: the config/flag value, then `WARDEN_SOCKET`, then the default.
    pub fn socket_path(&self) -> PathBuf {
        resolve(self.socket.path.as_deref(), SOCKET_ENV, default_socket_path)
    }

    /// Whether the data directory was chosen explicitly (flag, config or environment) rather
    /// than by the built-in default.
    pub fn data_dir_is_explicit(&self) -> bool {
        self.storage.data_dir.is_some()
            || std::env::var_os(DATA_DIR_ENV).is_some_and(|v| !v.is_empty())
    }

    /// Data directory: the config/flag value, then `WARDEN_DATA_DIR`, then the default.
    pub fn data_dir(&self) -> PathBuf {
        resolve(
            self.storage.data_dir.as_deref(),
            DATA_DIR_ENV,
            default_data_dir,
        )
    }
}

fn resolve(explicit: Option<&Path>, env: &str, default: fn() -> PathBuf) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_owned();
    }
    match std::env::var_os(env) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => default(),
    }
}

fn effective_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Default socket path: `/run/warden/wardend.sock` for root; otherwise
/// `$XDG_RUNTIME_DIR/warden.sock`, else `/tmp/warden-<uid>/wardend.sock`.
pub fn default_socket_path() -> PathBuf {
    warden_core::paths::default_socket_path(
        effective_uid(),
        std::env::var_os("XDG_RUNTIME_DIR").as_deref(),
    )
}

/// Default data directory: `/var/lib/warden` for root, else
/// `$XDG_DATA_HOME/warden`, else `$HOME/.local/share/warden`.
pub fn default_data_dir() -> PathBuf {
    warden_core::paths::default_data_dir(
        effective_uid(),
        std::env::var_os("XDG_DATA_HOME").as_deref(),
        std::env::var_os("HOME").as_deref(),
    )
}

/// The per-user data directory: `$XDG_DATA_HOME/warden`, else `$HOME/.local/share/warden`,
/// else `/tmp/warden-<uid>/data`. Also the fallback when the system default is unusable.
pub fn user_data_dir() -> PathBuf {
    warden_core::paths::user_data_dir(
        effective_uid(),
        std::env::var_os("XDG_DATA_HOME").as_deref(),
        std::env::var_os("HOME").as_deref(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_round_trip() {
        let d = Config::default();
        d.validate().unwrap();
        let text = Config::default_toml();
        assert_eq!(Config::from_toml(&text).unwrap(), d);
        assert_eq!(Config::from_toml("").unwrap(), d);
    }

    #[test]
    fn overrides_and_octal_mode() {
        let c =
            Config::from_toml("[socket]\nmode = 0o600\n[limits]\nmax_connections = 3\n").unwrap();
        assert_eq!(c.socket.mode, 0o600);
        assert_eq!(c.limits.max_connections, 3);
        assert_eq!(c.limits.max_frame_size, Limits::default().max_frame_size);
    }

    #[test]
    fn rejects_unknown_keys_and_bad_ranges() {
        assert!(matches!(
            Config::from_toml("[limits]\nmax_conections = 3"),
            Err(ConfigError::Parse(_))
        ));
        assert!(matches!(
            Config::from_toml("[socket]\nmode = 0o666"),
            Err(ConfigError::Invalid(_))
        ));
        assert!(matches!(
            Config::from_toml("[limits]\nmax_connections = 0"),
            Err(ConfigError::Invalid(_))
        ));
        assert!(matches!(
            Config::from_toml("[limits]\narena_bytes = 4096"),
            Err(ConfigError::Invalid(_))
        ));
        assert!(matches!(
            Config::from_toml("[limits]\nmax_frame_size = 100"),
            Err(ConfigError::Invalid(_))
        ));
        assert!(matches!(
            Config::from_toml("[limits]\nmax_long_ops_per_uid = 0"),
            Err(ConfigError::Invalid(_))
        ));
        assert!(matches!(
            Config::from_toml("[limits]\nlong_lane_nice = 20"),
            Err(ConfigError::Invalid(_))
        ));
        assert!(matches!(
            Config::from_toml("[limits]\nlong_lane_nice = -1"),
            Err(ConfigError::Parse(_))
        ));
        assert!(matches!(
            Config::from_toml("[limits]\nlong_lane_threads = 65"),
            Err(ConfigError::Invalid(_))
        ));
        // Busy polling is bounded; kept scratch cannot exceed what one connection may map.
        assert!(Config::from_toml("[limits]\nbusy_poll_us = 1000").is_ok());
        assert!(matches!(
            Config::from_toml("[limits]\nbusy_poll_us = 1001"),
            Err(ConfigError::Invalid(_))
        ));
        assert!(Config::from_toml("[limits]\nscratch_keep_bytes = 0").is_ok());
        assert!(matches!(
            Config::from_toml("[limits]\nscratch_keep_bytes = 268435457"),
            Err(ConfigError::Invalid(_))
        ));
    }

    #[test]
    fn audit_admin_and_permit_settings() {
        let c = Config::from_toml(
            "[access]\nadmin_uids = [0, 1000]\n[audit]\nlog = \"audit.jsonl\"\nlog_uses = true\n\
             [permits]\naudience = \"gate-1\"\nattestation_alg = \"ML-DSA-65\"\n",
        )
        .unwrap();
        assert_eq!(c.access.admin_uids, vec![0, 1000]);
        assert_eq!(c.audit.log, "audit.jsonl");
        assert!(c.audit.log_uses);
        assert_eq!(c.permits.effective_audience(), "gate-1");
        assert!(Config::default().access.admin_uids.is_empty());
        assert!(
            Config::default()
                .permits
                .effective_audience()
                .starts_with("wardend@")
        );
        assert!(matches!(
            Config::from_toml("[permits]\nattestation_alg = \"RSA\""),
            Err(ConfigError::Invalid(_))
        ));
        assert!(matches!(
            Config::from_toml("[permits]\naudience = \"\""),
            Err(ConfigError::Invalid(_))
        ));
        assert!(matches!(
            Config::from_toml("[audit]\nlog = \"\""),
            Err(ConfigError::Invalid(_))
        ));
    }

    #[test]
    fn explicit_socket_path_wins() {
        let mut c = Config::default();
        c.socket.path = Some(PathBuf::from("/x/y.sock"));
        assert_eq!(c.socket_path(), PathBuf::from("/x/y.sock"));
    }

    #[test]
    fn example_file_parses() {
        let text = include_str!("../wardend.example.toml");
        // The example shows the defaults: it must say exactly what no config file means.
        assert_eq!(Config::from_toml(text).unwrap(), Config::default());
    }

    #[test]
    fn sandbox_and_mlock_settings_parse_and_are_checked() {
        let c = Config::from_toml(
            "[limits]\nlock_arenas = true\n[permits.sandbox]\nfuel_per_cycle = 500\n\
             max_memory_bytes = 131072\n",
        )
        .unwrap();
        assert!(c.limits.lock_arenas);
        let l = c.permits.sandbox.limits();
        assert_eq!((l.fuel_per_cycle, l.max_memory_bytes), (500, 131_072));
        assert_eq!(l.max_module_bytes, SandboxLimits::DEFAULT.max_module_bytes);
        for bad in [
            "[permits.sandbox]\nfuel_per_cycle = 0\n",
            "[permits.sandbox]\nmax_memory_bytes = 4096\n",
            "[permits.sandbox]\nmax_module_bytes = 0\n",
            "[permits.sandbox]\nmax_input_bytes = 999999999\n",
            "[permits.sandbox]\nunknown = 1\n",
            "[timeouts]\nhandshake_ms = 0\n",
            "[limits]\ncontext_buffer_bytes_per_connection = 1024\n",
            "[limits]\ncontext_buffer_bytes_per_uid = 524288\n",
            "[limits]\ncontext_buffer_bytes_total = 1048576\n",
            "[timeouts]\nhandshake_ms = 60001\n",
        ] {
            assert!(Config::from_toml(bad).is_err(), "{bad}");
        }
    }
}
