//! The daemon's view of the crypto provider and the per-connection resource types.

use std::sync::Arc;

use warden_core::ErrorCode;
use warden_crypto::{ContextKind, CryptoContext, Key, Provider, Registry};

use crate::resources::{IdSource, ResourceTable};
use crate::stats::ResourceKind;

/// Shared handle to the provider (object safe; one instance serves every connection).
pub(crate) type ProviderRef = Arc<dyn Provider>;

/// A live context plus the per-context budget it was created with (seed decision 7).
pub(crate) struct ContextEntry {
    pub(crate) ctx: Box<dyn CryptoContext>,
    /// Milliseconds per operation; `None` = disabled.
    pub(crate) budget_ms: Option<u32>,
    /// A decrypting cipher or AEAD context (its region input is copied in and its output
    /// kept private until authenticated; see `warden_shm::design`).
    pub(crate) decrypt: bool,
}

/// The per-connection table instantiated with the provider's key and context types.
pub(crate) type Resources = ResourceTable<Key, ContextEntry>;

/// Ids come from the provider's RNG: unpredictable, and independent per connection.
impl IdSource for dyn Provider {
    fn random_u64(&self) -> Result<u64, ErrorCode> {
        let mut b = [0u8; 8];
        self.random(&mut b).map_err(|e| e.code())?;
        Ok(u64::from_le_bytes(b))
    }
}

/// Status counter bucket of a context kind.
pub(crate) fn resource_kind(kind: ContextKind) -> ResourceKind {
    match kind {
        ContextKind::Hash => ResourceKind::HashContext,
        ContextKind::Mac => ResourceKind::MacContext,
        ContextKind::Cipher => ResourceKind::CipherContext,
        ContextKind::Aead => ResourceKind::AeadContext,
        ContextKind::Sign => ResourceKind::SignContext,
        ContextKind::Verify => ResourceKind::VerifyContext,
        ContextKind::Random => ResourceKind::RandomContext,
    }
}

/// The default provider: aws-lc-rs (RustCrypto where it lacks an algorithm), in a registry
/// that routes each key's operations to the provider owning it.
pub(crate) fn default_provider() -> ProviderRef {
    Arc::new(Registry::new(software_provider()))
}

/// The built-in software provider (the registry's default; configured providers join it).
pub(crate) fn software_provider() -> ProviderRef {
    Arc::new(warden_provider_awslc::AwsLcProvider::new())
}
