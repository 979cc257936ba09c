//! Configuration of streaming contexts: algorithm, key handle, timeout, cipher direction.

use crate::algorithm::{Algorithm, AlgorithmClass};
use crate::context_options::{ContextOptions, SignatureFormat};
use crate::error::{Error, Result};
use crate::limits::DEFAULT_TIMEOUT_MS;
use crate::resource::{ResourceId, ResourceType};

/// How long one operation on a context may run (seed 004's two-layer timeouts: a stack
/// default, overridable per context, with an explicit way to disable it).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Timeout {
    /// Use the stack's default ([`DEFAULT_TIMEOUT_MS`] unless the daemon is configured
    /// otherwise).
    #[default]
    Default,
    /// Override in milliseconds (never 0: the builders reject it; use `Disabled`).
    Millis(u32),
    /// No timeout, for deliberately long operations.
    Disabled,
}

impl Timeout {
    /// The effective limit in milliseconds given the stack default; `None` = no limit.
    ///
    /// ```
    /// use warden_core::Timeout;
    /// assert_eq!(Timeout::Default.effective_ms(5000), Some(5000));
    /// assert_eq!(Timeout::Millis(250).effective_ms(5000), Some(250));
    /// assert_eq!(Timeout::Disabled.effective_ms(5000), None);
    /// ```
    pub const fn effective_ms(self, stack_default_ms: u32) -> Option<u32> {
        match self {
            Timeout::Default => Some(stack_default_ms),
            Timeout::Millis(ms) => Some(ms),
            Timeout::Disabled => None,
        }
    }

    /// [`Timeout::effective_ms`] with the design's default of [`DEFAULT_TIMEOUT_MS`].
    pub const fn effective_ms_or_design_default(self) -> Option<u32> {
        self.effective_ms(DEFAULT_TIMEOUT_MS)
    }

    /// `InvalidArgument` for `Millis(0)`.
    pub const fn validate(self) -> Result<()> {
        match self {
            Timeout::Millis(0) => Err(Error::invalid_argument("timeout of 0 ms; use Disabled")),
            _ => Ok(()),
        }
    }
}

/// Direction of a cipher or AEAD context (one context type serves both).
#[repr(u8)]
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CipherDirection {
    /// Encrypt (seal).
    Encrypt = 1,
    /// Decrypt (open).
    Decrypt = 2,
}

impl CipherDirection {
    /// The stable value.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// The direction with value `v`; unknown values fail with `InvalidArgument`.
    pub const fn from_u8(v: u8) -> Result<Self> {
        match v {
            1 => Ok(CipherDirection::Encrypt),
            2 => Ok(CipherDirection::Decrypt),
            _ => Err(Error::invalid_argument("unknown cipher direction")),
        }
    }
}

/// Whether a context of this algorithm class takes a direction.
const fn needs_direction(class: AlgorithmClass) -> bool {
    matches!(
        class,
        AlgorithmClass::Cipher | AlgorithmClass::Aead | AlgorithmClass::AsymmetricEncryption
    )
}

/// Checks the fields every context shares: streaming algorithm class, key present exactly
/// when the algorithm takes one and naming a key, non-zero timeout.
fn validate_base(algorithm: Algorithm, key: Option<ResourceId>, timeout: Timeout) -> Result<()> {
    let streaming = matches!(
        algorithm.class(),
        AlgorithmClass::Hash
            | AlgorithmClass::Mac
            | AlgorithmClass::Aead
            | AlgorithmClass::Cipher
            | AlgorithmClass::Signature
            | AlgorithmClass::AsymmetricEncryption
    );
    if !streaming {
        return Err(Error::invalid_argument(
            "algorithm has no streaming context",
        ));
    }
    let keyed = !algorithm.key_algorithms().is_empty();
    match (keyed, key) {
        (true, None) => {
            return Err(Error::invalid_argument(
                "key is required for this algorithm",
            ));
        }
        (false, Some(_)) => return Err(Error::invalid_argument("hash contexts take no key")),
        (true, Some(k))
            if !matches!(k.resource_type, ResourceType::Key | ResourceType::KeySlot) =>
        {
            return Err(Error::invalid_argument(
                "key resource must be a Key or KeySlot",
            ));
        }
        _ => {}
    }
    timeout.validate()
}

/// Settings every context has. Build with [`BaseContextConfig::builder`].
///
/// ```
/// use warden_core::{Algorithm, BaseContextConfig, Timeout};
/// let cfg = BaseContextConfig::builder().algorithm(Algorithm::Sha256).timeout_ms(100).build()?;
/// assert_eq!(cfg.timeout(), Timeout::Millis(100));
/// let cfg = BaseContextConfig::builder().algorithm(Algorithm::Sha512).disable_timeout().build()?;
/// assert_eq!(cfg.timeout().effective_ms(5000), None);
/// # Ok::<(), warden_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BaseContextConfig {
    algorithm: Algorithm,
    key: Option<ResourceId>,
    timeout: Timeout,
}

impl BaseContextConfig {
    /// A builder with nothing set.
    pub fn builder() -> BaseContextConfigBuilder {
        BaseContextConfigBuilder::default()
    }

    /// The context's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The key the context uses (`None` for hashes).
    pub fn key(&self) -> Option<ResourceId> {
        self.key
    }

    /// The per-operation timeout.
    pub fn timeout(&self) -> Timeout {
        self.timeout
    }
}

/// Builder for [`BaseContextConfig`]. `algorithm` is required; `key` is required for every
/// keyed algorithm and rejected for hashes; timeout defaults to [`Timeout::Default`].
#[derive(Debug, Clone, Default)]
pub struct BaseContextConfigBuilder {
    algorithm: Option<Algorithm>,
    key: Option<ResourceId>,
    timeout: Timeout,
}

impl BaseContextConfigBuilder {
    /// Sets the algorithm.
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = Some(algorithm);
        self
    }

    /// Sets the key handle.
    pub fn key(mut self, key: ResourceId) -> Self {
        self.key = Some(key);
        self
    }

    /// Sets the timeout.
    pub fn timeout(mut self, timeout: Timeout) -> Self {
        self.timeout = timeout;
        self
    }

    /// Overrides the timeout in milliseconds (0 is rejected at build time).
    pub fn timeout_ms(self, ms: u32) -> Self {
        self.timeout(Timeout::Millis(ms))
    }

    /// Disables the timeout for this context.
    pub fn disable_timeout(self) -> Self {
        self.timeout(Timeout::Disabled)
    }

    /// Validates and builds. Every failure is `InvalidArgument`.
    pub fn build(self) -> Result<BaseContextConfig> {
        let algorithm = self
            .algorithm
            .ok_or(Error::invalid_argument("algorithm is required"))?;
        validate_base(algorithm, self.key, self.timeout)?;
        Ok(BaseContextConfig {
            algorithm,
            key: self.key,
            timeout: self.timeout,
        })
    }
}

/// A complete context configuration: base settings plus the direction for cipher, AEAD and
/// asymmetric-encryption contexts. This is what providers receive.
///
/// ```
/// use warden_core::*;
/// let key = ResourceId::new(7, ResourceType::Key, Persistence::Ephemeral, 0);
/// let cfg = ContextConfig::builder()
///     .algorithm(Algorithm::Aes256Gcm)
///     .key(key)
///     .direction(CipherDirection::Decrypt)
///     .build()?;
/// assert_eq!(cfg.direction(), Some(CipherDirection::Decrypt));
/// // An AEAD without a direction is an InvalidArgument.
/// let err = ContextConfig::builder().algorithm(Algorithm::Aes256Gcm).key(key).build().unwrap_err();
/// assert_eq!(err.code(), ErrorCode::InvalidArgument);
/// # Ok::<(), warden_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextConfig {
    base: BaseContextConfig,
    direction: Option<CipherDirection>,
    options: ContextOptions,
}

impl ContextConfig {
    /// A builder with nothing set.
    pub fn builder() -> ContextConfigBuilder {
        ContextConfigBuilder::default()
    }

    /// Combines a base config with a direction; `InvalidArgument` if the direction is
    /// missing for a cipher/AEAD/asymmetric-encryption algorithm or present for any other.
    pub fn new(base: BaseContextConfig, direction: Option<CipherDirection>) -> Result<Self> {
        match (needs_direction(base.algorithm.class()), direction) {
            (true, None) => Err(Error::invalid_argument("direction is required for ciphers")),
            (false, Some(_)) => Err(Error::invalid_argument("direction only applies to ciphers")),
            _ => Ok(ContextConfig {
                base,
                direction,
                options: ContextOptions::default(),
            }),
        }
    }

    /// The same configuration with `options`; `InvalidArgument` if an option does not apply
    /// to the algorithm ([`ContextOptions::check`]).
    pub fn with_options(mut self, options: ContextOptions) -> Result<Self> {
        options.check(self.base.algorithm)?;
        self.options = options;
        Ok(self)
    }

    /// The per-context options (defaults unless set).
    pub fn options(&self) -> &ContextOptions {
        &self.options
    }

    /// The shared settings.
    pub fn base(&self) -> &BaseContextConfig {
        &self.base
    }

    /// The context's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.base.algorithm
    }

    /// The key handle (`None` for hashes).
    pub fn key(&self) -> Option<ResourceId> {
        self.base.key
    }

    /// The per-operation timeout.
    pub fn timeout(&self) -> Timeout {
        self.base.timeout
    }

    /// The direction (`Some` exactly for cipher, AEAD and asymmetric encryption).
    pub fn direction(&self) -> Option<CipherDirection> {
        self.direction
    }
}

/// Builder for [`ContextConfig`]: the [`BaseContextConfigBuilder`] fields plus `direction`.
#[derive(Debug, Clone, Default)]
pub struct ContextConfigBuilder {
    base: BaseContextConfigBuilder,
    direction: Option<CipherDirection>,
    options: ContextOptions,
}

impl ContextConfigBuilder {
    /// Sets the algorithm.
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.base = self.base.algorithm(algorithm);
        self
    }

    /// Sets the key handle.
    pub fn key(mut self, key: ResourceId) -> Self {
        self.base = self.base.key(key);
        self
    }

    /// Sets the timeout.
    pub fn timeout(mut self, timeout: Timeout) -> Self {
        self.base = self.base.timeout(timeout);
        self
    }

    /// Overrides the timeout in milliseconds (0 is rejected at build time).
    pub fn timeout_ms(self, ms: u32) -> Self {
        self.timeout(Timeout::Millis(ms))
    }

    /// Disables the timeout for this context.
    pub fn disable_timeout(self) -> Self {
        self.timeout(Timeout::Disabled)
    }

    /// Sets the cipher direction.
    pub fn direction(mut self, direction: CipherDirection) -> Self {
        self.direction = Some(direction);
        self
    }

    /// Sets the ECDSA signature encoding (default [`SignatureFormat::Raw`]).
    pub fn signature_format(mut self, format: SignatureFormat) -> Self {
        self.options = self.options.with_signature_format(format);
        self
    }

    /// Sets the RSA-PSS salt length in bytes (0..=64; default the hash length).
    pub fn pss_salt_len(mut self, len: u16) -> Self {
        self.options = self.options.with_pss_salt_len(len);
        self
    }

    /// Sets every per-context option at once.
    pub fn options(mut self, options: ContextOptions) -> Self {
        self.options = options;
        self
    }

    /// Validates and builds. Every failure is `InvalidArgument`.
    pub fn build(self) -> Result<ContextConfig> {
        ContextConfig::new(self.base.build()?, self.direction)?.with_options(self.options)
    }
}
