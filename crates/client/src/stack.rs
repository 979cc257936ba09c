//! `CryptoStack`: the entry point. It owns a handle on the process's shared connection and
//! creates key-management handles and crypto contexts.

use std::path::Path;
use std::sync::Arc;

use warden_core::{Algorithm, AlgorithmClass, CipherDirection, ContextConfig, ErrorCode, Timeout};
use warden_wire::Version;
use warden_wire::messages::{self as m, Request, Response, live_kind_name};

use crate::codec;
use crate::config::StackConfig;
use crate::context::{
    AeadContext, CipherContext, ContextCore, HashContext, MacContext, SignContext, VerifyContext,
};
use crate::error::{Error, Result, unexpected};
use crate::keys::KeyManagement;
use crate::link::Link;
use crate::registry;

/// Daemon counters returned by [`CryptoStack::status`].
///
/// Scope: an admin (a uid in the daemon's `access.admin_uids`, or the daemon's own uid) sees
/// daemon-wide figures; any other caller sees only its own uid's connections, requests,
/// errors, live resources and arenas ("all connections" below then means its own), counted
/// from when the first of its currently open connections was made.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DaemonStatus {
    /// Milliseconds since the daemon started.
    pub uptime_ms: u64,
    /// Open connections (including this one).
    pub connections: u32,
    /// Configured connection limit.
    pub max_connections: u32,
    /// Live key objects over all connections.
    pub live_keys: u64,
    /// Live contexts over all connections.
    pub live_contexts: u64,
    /// Session arenas checked out of the pool.
    pub arenas_in_use: u32,
    /// Session arenas in the pool.
    pub arenas_total: u32,
    /// Requests answered since start.
    pub requests_served: u64,
    /// Error replies by code: `(code value, count)`.
    pub errors: Vec<(u32, u64)>,
    /// Live resources per kind: `(kind name, count)`, only kinds with a non-zero count
    /// (names: key, hash, mac, cipher, aead, sign, verify, random, failed; kinds a newer
    /// daemon adds are not listed by this version).
    pub live_by_kind: Vec<(String, u64)>,
    /// The daemon's crypto providers, the default first, with what each can do (issue 14).
    pub providers: Vec<warden_wire::messages::ProviderSummary>,
}

impl DaemonStatus {
    /// How often the daemon answered with `code` since start.
    pub fn error_count(&self, code: ErrorCode) -> u64 {
        self.errors
            .iter()
            .filter(|(c, _)| *c == code.as_u32())
            .map(|(_, n)| n)
            .sum()
    }

    /// Live resources of the kind named `kind` (0 when none are live).
    pub fn live_of(&self, kind: &str) -> u64 {
        self.live_by_kind
            .iter()
            .filter(|(k, _)| k == kind)
            .map(|(_, n)| n)
            .sum()
    }
}

/// A connection-backed crypto stack (seed 004's `ICryptoStack`).
///
/// All stacks created in one process for the same socket share one connection (seed decision
/// 3): ephemeral key ids from one stack are valid on another. The connection closes when the
/// last stack, guard and context using it are dropped, and the daemon then frees everything it
/// held for this process. Calls are synchronous; each one carries the applicable timeout.
///
/// ```
/// use warden_client::{CryptoStack, StackConfig};
/// # // Hidden set-up: an in-process daemon on a temporary socket, so this example runs.
/// # let dir = tempfile::tempdir().expect("tempdir");
/// # let mut cfg = warden_daemon::Config::default();
/// # cfg.socket.path = Some(dir.path().join("wardend.sock"));
/// # let daemon = warden_daemon::Daemon::start(cfg).expect("daemon");
/// # let socket = daemon.socket_path().to_owned();
/// let stack = CryptoStack::connect(StackConfig::new().socket_path(&socket))?;
/// let bytes = stack.random(32)?;
/// assert_eq!(bytes.len(), 32);
/// # Ok::<(), warden_client::Error>(())
/// ```
#[derive(Clone)]
pub struct CryptoStack {
    pub(crate) link: Link,
}

impl std::fmt::Debug for CryptoStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CryptoStack")
            .field("socket", &self.link.path())
            .field("version", &self.link.version())
            .finish()
    }
}

impl CryptoStack {
    /// Connects (or joins this process's existing connection) to the daemon named by `config`.
    ///
    /// Errors: [`Error::Connect`] if the socket cannot be reached, [`Error::UntrustedDaemon`]
    /// if the process listening on it runs as an untrusted uid (checked before anything is
    /// sent), [`Error::VersionRefused`] if no protocol version is common, [`Error::TimedOut`]
    /// if the handshake exceeds the connect timeout, [`Error::Invalid`] if
    /// `WARDEN_DAEMON_UIDS` is malformed.
    pub fn connect(config: StackConfig) -> Result<Self> {
        let path = config.resolved_socket_path();
        let trust = config.daemon_trust()?;
        let conn = if config.is_dedicated() {
            registry::dedicated(&path, config.connect_bound(), &trust)?
        } else {
            registry::shared(&path, config.connect_bound(), &trust)?
        };
        Ok(CryptoStack {
            link: Link::new(conn, Arc::new(config)),
        })
    }

    /// The socket path of the underlying connection.
    pub fn socket_path(&self) -> &Path {
        self.link.path()
    }

    /// The negotiated protocol version.
    pub fn protocol_version(&self) -> Version {
        self.link.version()
    }

    /// The daemon's own protocol version.
    pub fn daemon_version(&self) -> Version {
        self.link.daemon_version()
    }

    /// The largest request frame the daemon accepts (header plus body).
    pub fn max_frame_len(&self) -> u32 {
        self.link.max_request_len()
    }

    /// Whether two stacks use the same daemon connection (and so the same id namespace).
    pub fn shares_connection_with(&self, other: &CryptoStack) -> bool {
        self.link.same_connection(&other.link)
    }

    /// Liveness check: the daemon echoes `data`.
    pub fn ping(&self, data: &[u8]) -> Result<Vec<u8>> {
        self.link
            .request(&Request::Ping { data }, Timeout::Default, |r| match r {
                Response::Ping { data } => Ok(warden_arena::to_vec(data)),
                _ => Err(unexpected()),
            })
    }

    /// The daemon's counters (connections, live resources, arenas, requests, errors).
    pub fn status(&self) -> Result<DaemonStatus> {
        self.link
            .request(&Request::Status, Timeout::Default, |r| match r {
                Response::Status(s) => Ok(DaemonStatus {
                    uptime_ms: s.uptime_ms,
                    connections: s.connections,
                    max_connections: s.max_connections,
                    live_keys: s.live_keys,
                    live_contexts: s.live_contexts,
                    arenas_in_use: s.arenas_in_use,
                    arenas_total: s.arenas_total,
                    requests_served: s.requests_served,
                    errors: s.errors.iter().map(|e| (e.code, e.count)).collect(),
                    live_by_kind: s
                        .live_by_kind
                        .iter()
                        .filter_map(|c| Some((live_kind_name(c.kind)?.to_owned(), c.count)))
                        .collect(),
                    providers: s.providers.to_vec(),
                }),
                _ => Err(unexpected()),
            })
    }

    /// `len` random bytes from the daemon's provider.
    pub fn random(&self, len: usize) -> Result<Vec<u8>> {
        let len = u32::try_from(len).map_err(|_| {
            Error::Invalid(warden_core::Error::invalid_argument("length too large"))
        })?;
        self.link
            .request(&Request::Random { len }, Timeout::Default, |r| {
                codec::output(r).map(|p| p.data)
            })
    }

    /// Key management operations using the stack's default timeout.
    pub fn key_management(&self) -> KeyManagement {
        KeyManagement::new(self.link.clone())
    }

    fn create(
        &self,
        kind: m::ContextKind,
        cfg: &ContextConfig,
        expect: &[AlgorithmClass],
    ) -> Result<ContextCore> {
        if !expect.contains(&cfg.algorithm().class()) {
            return Err(Error::Invalid(warden_core::Error::new(
                ErrorCode::AlgorithmMismatch,
                "algorithm does not suit this context kind",
            )));
        }
        ContextCore::create(self.link.clone(), kind, cfg)
    }

    /// A hash context (`SHA-256`, ...). The config carries no key.
    pub fn create_hash_context(&self, cfg: &ContextConfig) -> Result<HashContext> {
        let core = self.create(m::ContextKind::Hash, cfg, &[AlgorithmClass::Hash])?;
        Ok(HashContext::new(core))
    }

    /// A MAC context (`HMAC-SHA256`, ...) over the key in `cfg` (needs the Mac permission).
    pub fn create_mac_context(&self, cfg: &ContextConfig) -> Result<MacContext> {
        let core = self.create(m::ContextKind::Mac, cfg, &[AlgorithmClass::Mac])?;
        Ok(MacContext::new(core))
    }

    /// An unauthenticated cipher context (AES-CTR, AES-CBC, RSA-OAEP); direction from `cfg`.
    pub fn create_cipher_context(&self, cfg: &ContextConfig) -> Result<CipherContext> {
        let classes = [AlgorithmClass::Cipher, AlgorithmClass::AsymmetricEncryption];
        let core = self.create(m::ContextKind::Cipher, cfg, &classes)?;
        Ok(CipherContext::new(core))
    }

    /// An AEAD context (AES-GCM, ChaCha20-Poly1305); direction from `cfg`.
    pub fn create_aead_context(&self, cfg: &ContextConfig) -> Result<AeadContext> {
        let core = self.create(m::ContextKind::Aead, cfg, &[AlgorithmClass::Aead])?;
        let encrypt = cfg.direction() == Some(CipherDirection::Encrypt);
        Ok(AeadContext::new(core, encrypt))
    }

    /// A signing context (Ed25519, ECDSA, RSA-PSS, ML-DSA, SLH-DSA) over a private key.
    pub fn create_sign_context(&self, cfg: &ContextConfig) -> Result<SignContext> {
        let core = self.create(m::ContextKind::Sign, cfg, &[AlgorithmClass::Signature])?;
        Ok(SignContext::new(core))
    }

    /// A verification context over a public (or private) key.
    pub fn create_verify_context(&self, cfg: &ContextConfig) -> Result<VerifyContext> {
        let core = self.create(m::ContextKind::Verify, cfg, &[AlgorithmClass::Signature])?;
        Ok(VerifyContext::new(core))
    }

    /// One-shot digest of `data` (creates, uses and destroys a hash context).
    pub fn digest(&self, algorithm: Algorithm, data: &[u8]) -> Result<Vec<u8>> {
        let cfg = ContextConfig::builder().algorithm(algorithm).build()?;
        let mut ctx = self.create_hash_context(&cfg)?;
        ctx.init()?;
        ctx.update(data)?;
        ctx.finalize()
    }
}
