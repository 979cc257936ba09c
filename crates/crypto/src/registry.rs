//! Several providers behind one [`Provider`]: the daemon's view (seed 004: software and
//! hardware providers side by side).
//!
//! Operations on a key go to the provider that owns it (its [`Key::provider`] name), so a
//! key never reaches code that cannot read it; keyless operations (hash contexts, random,
//! ids) and new keys without a chosen provider go to the default. Restoring a stored key goes
//! to the provider its record names. Wrapping follows the KEK; the target key's own provider
//! decides whether its secret may leave (a token key only ever leaves wrapped under a KEK of
//! the same token).

use std::sync::Arc;

use warden_core::{
    AgreeKeyParams, Algorithm, ContextConfig, DeriveKeyParams, EncapsulateParams, Error, ErrorCode,
    GenerateKeyParams, ImportKeyParams, Result, UnwrapKeyParams, WrapKeyParams,
};

use crate::context::{BufferSource, ContextKind, CryptoContext};
use crate::key::{Key, StoredKey};
use crate::provider::{Capability, Operations, Provider, ProviderInfo};

/// Providers by name, with one default. Implements [`Provider`] by dispatching.
pub struct Registry {
    default: Arc<dyn Provider>,
    others: Vec<Arc<dyn Provider>>,
}

impl Registry {
    /// Only `default`.
    pub fn new(default: Arc<dyn Provider>) -> Self {
        Registry {
            default,
            others: Vec::new(),
        }
    }

    /// Adds `provider`; a second provider of the same name fails with `InvalidArgument`
    /// (keys name their provider, so names must be unique).
    pub fn add(&mut self, provider: Arc<dyn Provider>) -> Result<()> {
        let name = provider.info().name();
        if self.all().any(|p| p.info().name() == name) {
            return Err(Error::invalid_argument("two providers share a name"));
        }
        self.others.push(provider);
        Ok(())
    }

    /// Every provider, the default first.
    pub fn all(&self) -> impl Iterator<Item = &Arc<dyn Provider>> {
        core::iter::once(&self.default).chain(self.others.iter())
    }

    /// The default provider.
    pub fn default_provider(&self) -> &Arc<dyn Provider> {
        &self.default
    }

    /// The provider named `name`, or `ProviderNotAvailable` (also for a stored key whose
    /// provider is no longer configured).
    pub fn by_name(&self, name: &str) -> Result<&Arc<dyn Provider>> {
        self.all()
            .find(|p| p.info().name() == name)
            .ok_or(Error::new(
                ErrorCode::ProviderNotAvailable,
                "no provider of that name is configured",
            ))
    }

    /// The provider owning `key`.
    fn owner(&self, key: &Key) -> Result<&Arc<dyn Provider>> {
        self.by_name(key.provider())
    }
}

impl Provider for Registry {
    fn info(&self) -> &ProviderInfo {
        self.default.info()
    }

    fn capabilities(&self) -> &[Capability] {
        self.default.capabilities()
    }

    fn supports(&self, algorithm: Algorithm, op: Operations) -> bool {
        self.default.supports(algorithm, op)
    }

    fn generate_key(&self, params: &GenerateKeyParams) -> Result<Key> {
        self.default.generate_key(params)
    }

    fn generate_key_in(&self, provider: &str, params: &GenerateKeyParams) -> Result<Key> {
        self.by_name(provider)?.generate_key(params)
    }

    fn for_each_member(&self, f: &mut dyn FnMut(&ProviderInfo, &[Capability])) {
        for p in self.all() {
            p.for_each_member(f);
        }
    }

    fn import_key(&self, params: &ImportKeyParams, material: &[u8]) -> Result<Key> {
        self.default.import_key(params, material)
    }

    fn restore_key(&self, stored: &StoredKey<'_>) -> Result<Key> {
        self.by_name(stored.provider)?.restore_key(stored)
    }

    fn discard_stored(&self, stored: &StoredKey<'_>) -> Result<()> {
        self.by_name(stored.provider)?.discard_stored(stored)
    }

    fn derive_key(&self, base: &Key, params: &DeriveKeyParams) -> Result<Key> {
        self.owner(base)?.derive_key(base, params)
    }

    fn derive_key_within(
        &self,
        base: &Key,
        params: &DeriveKeyParams,
        expired: &dyn Fn() -> bool,
    ) -> Result<Key> {
        self.owner(base)?.derive_key_within(base, params, expired)
    }

    fn agree_key(&self, private: &Key, params: &AgreeKeyParams) -> Result<Key> {
        self.owner(private)?.agree_key(private, params)
    }

    fn wrap_key(&self, kek: &Key, target: &Key, params: &WrapKeyParams) -> Result<Vec<u8>> {
        self.owner(kek)?.wrap_key(kek, target, params)
    }

    fn unwrap_key(&self, kek: &Key, wrapped: &[u8], params: &UnwrapKeyParams) -> Result<Key> {
        self.owner(kek)?.unwrap_key(kek, wrapped, params)
    }

    fn encapsulate(&self, public: &Key, params: &EncapsulateParams) -> Result<(Vec<u8>, Key)> {
        self.owner(public)?.encapsulate(public, params)
    }

    fn decapsulate(
        &self,
        private: &Key,
        ciphertext: &[u8],
        params: &EncapsulateParams,
    ) -> Result<Key> {
        self.owner(private)?
            .decapsulate(private, ciphertext, params)
    }

    fn create_context(
        &self,
        kind: ContextKind,
        config: &ContextConfig,
        key: Option<Arc<Key>>,
    ) -> Result<Box<dyn CryptoContext>> {
        let p = match &key {
            Some(k) => self.owner(k)?,
            None => &self.default,
        };
        p.create_context(kind, config, key)
    }

    fn create_context_in(
        &self,
        kind: ContextKind,
        config: &ContextConfig,
        key: Option<Arc<Key>>,
        buffers: &BufferSource,
    ) -> Result<Box<dyn CryptoContext>> {
        let p = match &key {
            Some(k) => self.owner(k)?,
            None => &self.default,
        };
        p.create_context_in(kind, config, key, buffers)
    }

    fn create_random_context(&self) -> Result<Box<dyn CryptoContext>> {
        self.default.create_random_context()
    }

    fn random(&self, out: &mut [u8]) -> Result<()> {
        self.default.random(out)
    }
}
