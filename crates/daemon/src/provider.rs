//! The daemon's view of the crypto provider and the per-connection resource types.

use std::sync::Arc;

use warden_core::{Error, ErrorCode};

use crate::resources::{IdSource, ResourceTable};

/// Minimal provider surface used until `warden-crypto`'s `Provider` trait lands.
pub(crate) trait Provider: Send + Sync {
    /// Fills `out` with random bytes.
    fn random(&self, out: &mut [u8]) -> Result<(), Error>;
}

/// Shared handle to the provider.
pub(crate) type ProviderRef = Arc<dyn Provider>;

/// Placeholder key type until `warden-crypto` lands.
pub(crate) struct KeyObject;
/// Placeholder context type until `warden-crypto` lands.
pub(crate) struct ContextObject;

/// The per-connection table instantiated with the provider's key and context types.
pub(crate) type Resources = ResourceTable<KeyObject, ContextObject>;

impl IdSource for dyn Provider {
    fn random_u64(&self) -> Result<u64, ErrorCode> {
        let mut b = [0u8; 8];
        self.random(&mut b).map_err(|e| e.code())?;
        Ok(u64::from_le_bytes(b))
    }
}

/// OS randomness through the standard library's hasher seeds is not a CSPRNG; this exists
/// only so the daemon runs before the real provider is wired in.
pub(crate) struct BootstrapProvider;

impl Provider for BootstrapProvider {
    fn random(&self, out: &mut [u8]) -> Result<(), Error> {
        let mut f = std::fs::File::open("/dev/urandom")
            .map_err(|_| Error::new(ErrorCode::ProviderNotAvailable, "no urandom"))?;
        std::io::Read::read_exact(&mut f, out)
            .map_err(|_| Error::new(ErrorCode::ProviderNotAvailable, "urandom read failed"))
    }
}
