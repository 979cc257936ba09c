//! The provider abstraction the daemon depends on (as rustls depends on `CryptoProvider`).

use std::sync::Arc;

use warden_core::{
    AgreeKeyParams, Algorithm, ContextConfig, DeriveKeyParams, EncapsulateParams, Error, ErrorCode,
    GenerateKeyParams, ImportKeyParams, Result, UnwrapKeyParams, WrapKeyParams,
};

use crate::context::{BufferSource, ContextKind, CryptoContext};
use crate::key::{Key, StoredKey};

/// Longest provider name, in bytes.
pub const MAX_PROVIDER_NAME_LEN: usize = 32;

/// Where a provider's keys live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderType {
    /// Keys in process memory.
    Software,
    /// Keys in a hardware token / secure element.
    Hardware,
}

/// Identity of a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderInfo {
    name: &'static str,
    provider_type: ProviderType,
    version: &'static str,
}

impl ProviderInfo {
    /// A provider identity; names longer than [`MAX_PROVIDER_NAME_LEN`] bytes or empty are
    /// rejected with `ParamTruncated` / `InvalidArgument`.
    pub const fn new(
        name: &'static str,
        provider_type: ProviderType,
        version: &'static str,
    ) -> Result<Self> {
        if name.is_empty() {
            return Err(Error::invalid_argument("provider name is empty"));
        }
        if name.len() > MAX_PROVIDER_NAME_LEN {
            return Err(Error::new(
                ErrorCode::ParamTruncated,
                "provider name longer than 32 bytes",
            ));
        }
        Ok(ProviderInfo {
            name,
            provider_type,
            version,
        })
    }

    /// The provider's name (at most 32 bytes).
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// Software or hardware.
    pub fn provider_type(&self) -> ProviderType {
        self.provider_type
    }

    /// Version of the underlying library, for diagnostics.
    pub fn version(&self) -> &'static str {
        self.version
    }
}

/// A set of operations a provider supports for one algorithm (bit set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Operations(u32);

impl Operations {
    /// Digest.
    pub const HASH: Operations = Operations(1 << 0);
    /// Produce / check a MAC.
    pub const MAC: Operations = Operations(1 << 1);
    /// Encrypt (cipher, AEAD, RSA-OAEP).
    pub const ENCRYPT: Operations = Operations(1 << 2);
    /// Decrypt.
    pub const DECRYPT: Operations = Operations(1 << 3);
    /// Sign.
    pub const SIGN: Operations = Operations(1 << 4);
    /// Verify.
    pub const VERIFY: Operations = Operations(1 << 5);
    /// Key derivation.
    pub const DERIVE: Operations = Operations(1 << 6);
    /// Key agreement.
    pub const AGREE: Operations = Operations(1 << 7);
    /// Key wrap.
    pub const WRAP: Operations = Operations(1 << 8);
    /// Key unwrap.
    pub const UNWRAP: Operations = Operations(1 << 9);
    /// KEM encapsulation.
    pub const ENCAPSULATE: Operations = Operations(1 << 10);
    /// KEM decapsulation.
    pub const DECAPSULATE: Operations = Operations(1 << 11);
    /// Key generation (for key algorithms).
    pub const GENERATE: Operations = Operations(1 << 12);
    /// Key import / public export.
    pub const IMPORT: Operations = Operations(1 << 13);

    /// Both sets.
    pub const fn union(self, other: Operations) -> Operations {
        Operations(self.0 | other.0)
    }

    /// Whether every operation in `other` is in `self`.
    pub const fn contains(self, other: Operations) -> bool {
        self.0 & other.0 == other.0
    }

    /// The raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }
}

/// One row of a provider's capability table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capability {
    /// The algorithm.
    pub algorithm: Algorithm,
    /// What the provider can do with it.
    pub operations: Operations,
}

/// A crypto provider. Object safe: the daemon holds `Arc<dyn Provider>`.
///
/// Every key-taking method checks the key's type (`IncompatibleKeyType`) and permission bit
/// (`KeyOperationNotPermitted`) before touching material:
///
/// | method | key permission |
/// |---|---|
/// | `derive_key` | base: `DERIVE` |
/// | `agree_key` | private: `AGREE` |
/// | `wrap_key` | KEK: `WRAP`; target: `EXPORT` + exportable (wrapping is export) |
/// | `unwrap_key` | KEK: `UNWRAP` |
/// | `encapsulate` / `decapsulate` | `ENCRYPT` / `DECRYPT` (as PSA does for KEMs) |
/// | contexts | MAC: `MAC`; cipher/AEAD: `ENCRYPT`/`DECRYPT` by direction; `SIGN`; `VERIFY` |
pub trait Provider: Send + Sync {
    /// Name and type.
    fn info(&self) -> &ProviderInfo;
    /// Which algorithms, and which operations on each.
    fn capabilities(&self) -> &[Capability];
    /// Whether `op` is supported for `algorithm`.
    fn supports(&self, algorithm: Algorithm, op: Operations) -> bool {
        self.capabilities()
            .iter()
            .any(|c| c.algorithm == algorithm && c.operations.contains(op))
    }
    /// A fresh key.
    fn generate_key(&self, params: &GenerateKeyParams) -> Result<Key>;
    /// A fresh key in the provider named `provider`: this one if the name is its own (a
    /// [`crate::Registry`] picks among its members), else `ProviderNotAvailable`.
    fn generate_key_in(&self, provider: &str, params: &GenerateKeyParams) -> Result<Key> {
        if provider == self.info().name() {
            self.generate_key(params)
        } else {
            Err(Error::new(
                ErrorCode::ProviderNotAvailable,
                "no provider of that name is configured",
            ))
        }
    }
    /// Calls `f` with the identity and capabilities of every provider behind this one: just
    /// itself, or each member of a [`crate::Registry`] (for `warden providers`).
    fn for_each_member(&self, f: &mut dyn FnMut(&ProviderInfo, &[Capability])) {
        f(self.info(), self.capabilities());
    }
    /// A key from external bytes (encodings: the provider's documentation).
    fn import_key(&self, params: &ImportKeyParams, material: &[u8]) -> Result<Key>;
    /// The key a storage record of this provider describes ([`Key::parse_storage`]): the
    /// record's algorithm, permissions and exportable flag, this provider's material.
    /// A record of another provider fails with `InvalidArgument`; bad material with
    /// `InvalidFormat`.
    fn restore_key(&self, stored: &StoredKey<'_>) -> Result<Key>;
    /// The storage record of a key of this provider was deleted and no other record refers
    /// to the same material: release whatever the provider holds for it outside the record
    /// (a token's objects). Software providers hold nothing there (this default). Live
    /// handles on the key may fail afterwards with the provider's typed error.
    fn discard_stored(&self, stored: &StoredKey<'_>) -> Result<()> {
        let _ = stored;
        Ok(())
    }
    /// A symmetric key derived from `base` by the KDF in `params`.
    fn derive_key(&self, base: &Key, params: &DeriveKeyParams) -> Result<Key>;
    /// [`Provider::derive_key`] under a deadline: `OperationTimedOut` once `expired()` says
    /// so. A provider whose KDFs can run long (PBKDF2's caller-chosen work factor) asks it
    /// between chunks of work, so a request past its deadline stops promptly and frees its
    /// thread (issue 12). This default only asks before starting.
    fn derive_key_within(
        &self,
        base: &Key,
        params: &DeriveKeyParams,
        expired: &dyn Fn() -> bool,
    ) -> Result<Key> {
        if expired() {
            return Err(warden_core::Error::new(
                warden_core::ErrorCode::OperationTimedOut,
                "deadline passed",
            ));
        }
        self.derive_key(base, params)
    }
    /// The raw shared secret of `private` and `params.peer_public()` as a key object.
    fn agree_key(&self, private: &Key, params: &AgreeKeyParams) -> Result<Key>;
    /// `target`'s canonical secret encoding wrapped under `kek` (RFC 3394 / 5649).
    fn wrap_key(&self, kek: &Key, target: &Key, params: &WrapKeyParams) -> Result<Vec<u8>>;
    /// The key inside `wrapped`; any failure is the opaque `WrapUnwrapFailed`.
    fn unwrap_key(&self, kek: &Key, wrapped: &[u8], params: &UnwrapKeyParams) -> Result<Key>;
    /// KEM encapsulation: the ciphertext, and the shared secret as a key object (never bytes).
    fn encapsulate(&self, public: &Key, params: &EncapsulateParams) -> Result<(Vec<u8>, Key)>;
    /// KEM decapsulation: the shared secret as a key object.
    fn decapsulate(
        &self,
        private: &Key,
        ciphertext: &[u8],
        params: &EncapsulateParams,
    ) -> Result<Key>;
    /// A streaming context of `kind` (not Random: see [`Provider::create_random_context`]).
    /// `key` is required for every kind except Hash. Buffered data (AEAD, Ed25519 / ML-DSA /
    /// SLH-DSA messages) comes from the provider's own pool, limited only by its size: for
    /// in-process use. A daemon uses [`Provider::create_context_in`].
    fn create_context(
        &self,
        kind: ContextKind,
        config: &ContextConfig,
        key: Option<Arc<Key>>,
    ) -> Result<Box<dyn CryptoContext>>;
    /// As [`Provider::create_context`], with every byte the context buffers taken from
    /// `buffers` (the caller's budget): at its limit the context answers `QuotaExceeded`,
    /// it never grows. Required, so no provider can bypass a daemon's memory budget.
    fn create_context_in(
        &self,
        kind: ContextKind,
        config: &ContextConfig,
        key: Option<Arc<Key>>,
        buffers: &BufferSource,
    ) -> Result<Box<dyn CryptoContext>>;
    /// A Random context (`init(&[])`, then `update`/`finalize` fill the output buffer).
    fn create_random_context(&self) -> Result<Box<dyn CryptoContext>>;
    /// Fills `out` with random bytes.
    fn random(&self, out: &mut [u8]) -> Result<()>;
}
