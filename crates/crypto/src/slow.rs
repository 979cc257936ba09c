//! Test double: a provider that sleeps before every operation (feature `test-util`).
//!
//! The daemon's timeout tests wrap the real provider in a [`SlowProvider`] so that an
//! operation reliably outlasts its deadline. Never enable `test-util` in production builds.

use std::sync::Arc;
use std::time::Duration;

use warden_core::{
    AgreeKeyParams, Algorithm, ContextConfig, DeriveKeyParams, EncapsulateParams,
    GenerateKeyParams, ImportKeyParams, Result, UnwrapKeyParams, WrapKeyParams,
};

use crate::context::{ContextKind, ContextState, CryptoContext};
use crate::key::{Key, StoredKey};
use crate::provider::{Capability, Provider, ProviderInfo};

/// Wraps a provider and sleeps `delay` before each call (including each context call that
/// processes data: `update` and `finalize`).
pub struct SlowProvider {
    inner: Arc<dyn Provider>,
    delay: Duration,
}

impl SlowProvider {
    /// `inner` delayed by `delay` per operation.
    pub fn new(inner: Arc<dyn Provider>, delay: Duration) -> Self {
        SlowProvider { inner, delay }
    }

    fn pause(&self) {
        std::thread::sleep(self.delay);
    }
}

impl Provider for SlowProvider {
    fn info(&self) -> &ProviderInfo {
        self.inner.info()
    }

    fn capabilities(&self) -> &[Capability] {
        self.inner.capabilities()
    }

    fn generate_key(&self, params: &GenerateKeyParams) -> Result<Key> {
        self.pause();
        self.inner.generate_key(params)
    }

    fn import_key(&self, params: &ImportKeyParams, material: &[u8]) -> Result<Key> {
        self.pause();
        self.inner.import_key(params, material)
    }

    fn restore_key(&self, stored: &StoredKey<'_>) -> Result<Key> {
        self.inner.restore_key(stored)
    }

    fn discard_stored(&self, stored: &StoredKey<'_>) -> Result<()> {
        self.inner.discard_stored(stored)
    }

    fn derive_key(&self, base: &Key, params: &DeriveKeyParams) -> Result<Key> {
        self.pause();
        self.inner.derive_key(base, params)
    }

    fn agree_key(&self, private: &Key, params: &AgreeKeyParams) -> Result<Key> {
        self.pause();
        self.inner.agree_key(private, params)
    }

    fn wrap_key(&self, kek: &Key, target: &Key, params: &WrapKeyParams) -> Result<Vec<u8>> {
        self.pause();
        self.inner.wrap_key(kek, target, params)
    }

    fn unwrap_key(&self, kek: &Key, wrapped: &[u8], params: &UnwrapKeyParams) -> Result<Key> {
        self.pause();
        self.inner.unwrap_key(kek, wrapped, params)
    }

    fn encapsulate(&self, public: &Key, params: &EncapsulateParams) -> Result<(Vec<u8>, Key)> {
        self.pause();
        self.inner.encapsulate(public, params)
    }

    fn decapsulate(
        &self,
        private: &Key,
        ciphertext: &[u8],
        params: &EncapsulateParams,
    ) -> Result<Key> {
        self.pause();
        self.inner.decapsulate(private, ciphertext, params)
    }

    fn create_context(
        &self,
        kind: ContextKind,
        config: &ContextConfig,
        key: Option<Arc<Key>>,
    ) -> Result<Box<dyn CryptoContext>> {
        self.pause();
        let inner = self.inner.create_context(kind, config, key)?;
        Ok(Box::new(SlowContext {
            inner,
            delay: self.delay,
        }))
    }

    fn create_context_in(
        &self,
        kind: ContextKind,
        config: &ContextConfig,
        key: Option<Arc<Key>>,
        buffers: &crate::BufferSource,
    ) -> Result<Box<dyn CryptoContext>> {
        self.pause();
        let inner = self.inner.create_context_in(kind, config, key, buffers)?;
        Ok(Box::new(SlowContext {
            inner,
            delay: self.delay,
        }))
    }

    fn create_random_context(&self) -> Result<Box<dyn CryptoContext>> {
        self.pause();
        let inner = self.inner.create_random_context()?;
        Ok(Box::new(SlowContext {
            inner,
            delay: self.delay,
        }))
    }

    fn random(&self, out: &mut [u8]) -> Result<()> {
        self.pause();
        self.inner.random(out)
    }
}

/// A context whose `update` and `finalize` sleep first.
struct SlowContext {
    inner: Box<dyn CryptoContext>,
    delay: Duration,
}

impl CryptoContext for SlowContext {
    fn kind(&self) -> ContextKind {
        self.inner.kind()
    }

    fn algorithm(&self) -> Option<Algorithm> {
        self.inner.algorithm()
    }

    fn state(&self) -> ContextState {
        self.inner.state()
    }

    fn init(&mut self, iv_or_nonce: &[u8]) -> Result<()> {
        self.inner.init(iv_or_nonce)
    }

    fn iv(&self) -> &[u8] {
        self.inner.iv()
    }

    fn set_aad(&mut self, aad: &[u8]) -> Result<()> {
        self.inner.set_aad(aad)
    }

    fn update(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize> {
        std::thread::sleep(self.delay);
        self.inner.update(input, out)
    }

    fn finalize(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize> {
        std::thread::sleep(self.delay);
        self.inner.finalize(input, out)
    }

    fn set_tag(&mut self, tag: &[u8]) -> Result<()> {
        self.inner.set_tag(tag)
    }

    fn get_tag(&self, out: &mut [u8]) -> Result<usize> {
        self.inner.get_tag(out)
    }

    fn reset(&mut self) -> Result<()> {
        self.inner.reset()
    }

    fn max_output_len(&self, input_len: usize) -> usize {
        self.inner.max_output_len(input_len)
    }
}
