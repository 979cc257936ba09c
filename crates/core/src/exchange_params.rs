//! Parameters for key agreement, key encapsulation, and key wrapping.

use alloc::vec::Vec;

use crate::algorithm::{Algorithm, AlgorithmClass};
use crate::error::{Error, Result};
use crate::limits::MAX_PEER_PUBLIC_LEN;
use crate::permission::KeyOperationPermission;

/// Parameters of a key agreement (X25519, ECDH). The shared secret becomes a key object.
///
/// ```
/// use warden_core::{AgreeKeyParams, Algorithm, KeyOperationPermission as P};
/// let p = AgreeKeyParams::builder()
///     .algorithm(Algorithm::X25519)
///     .peer_public(vec![9; 32])
///     .permissions(P::DERIVE)
///     .build()?;
/// assert_eq!(p.output_algorithm(), Algorithm::GenericSecret);
/// # Ok::<(), warden_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreeKeyParams {
    algorithm: Algorithm,
    peer_public: Vec<u8>,
    output_algorithm: Algorithm,
    permissions: KeyOperationPermission,
    exportable: bool,
}

impl AgreeKeyParams {
    /// A builder with nothing set.
    pub fn builder() -> AgreeKeyParamsBuilder {
        AgreeKeyParamsBuilder::default()
    }

    /// The agreement algorithm (class `KeyAgreement`).
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The peer's public key in the algorithm's raw encoding.
    pub fn peer_public(&self) -> &[u8] {
        &self.peer_public
    }

    /// Key type of the shared secret: `GENERIC-SECRET` (default) or `HMAC`.
    pub fn output_algorithm(&self) -> Algorithm {
        self.output_algorithm
    }

    /// Operations the shared-secret key allows.
    pub fn permissions(&self) -> KeyOperationPermission {
        self.permissions
    }

    /// Whether the shared secret may leave the daemon.
    pub fn exportable(&self) -> bool {
        self.exportable
    }
}

/// Builder for [`AgreeKeyParams`]. `algorithm`, `peer_public` and `permissions` are required;
/// `output_algorithm` defaults to `GENERIC-SECRET`, `exportable` to `false`.
#[derive(Debug, Clone, Default)]
pub struct AgreeKeyParamsBuilder {
    algorithm: Option<Algorithm>,
    peer_public: Option<Vec<u8>>,
    output_algorithm: Option<Algorithm>,
    permissions: Option<KeyOperationPermission>,
    exportable: bool,
}

impl AgreeKeyParamsBuilder {
    /// Sets the agreement algorithm.
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = Some(algorithm);
        self
    }

    /// Sets the peer's public key.
    pub fn peer_public(mut self, peer_public: Vec<u8>) -> Self {
        self.peer_public = Some(peer_public);
        self
    }

    /// Sets the shared secret's key type.
    pub fn output_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.output_algorithm = Some(algorithm);
        self
    }

    /// Sets the shared secret's permissions.
    pub fn permissions(mut self, permissions: KeyOperationPermission) -> Self {
        self.permissions = Some(permissions);
        self
    }

    /// Sets exportability.
    pub fn exportable(mut self, exportable: bool) -> Self {
        self.exportable = exportable;
        self
    }

    /// Validates and builds. Every failure is `InvalidArgument`. A raw DH output is not
    /// uniformly random, so it may only become a `GENERIC-SECRET` or `HMAC` key; derive
    /// cipher keys from it with [`crate::DeriveKeyParams`].
    pub fn build(self) -> Result<AgreeKeyParams> {
        let algorithm = self
            .algorithm
            .ok_or(Error::invalid_argument("algorithm is required"))?;
        let peer_public = self
            .peer_public
            .ok_or(Error::invalid_argument("peer_public is required"))?;
        let permissions = self
            .permissions
            .ok_or(Error::invalid_argument("permissions are required"))?;
        if algorithm.class() != AlgorithmClass::KeyAgreement {
            return Err(Error::invalid_argument("algorithm is not a key agreement"));
        }
        if peer_public.is_empty() || peer_public.len() > MAX_PEER_PUBLIC_LEN {
            return Err(Error::invalid_argument("peer_public length out of range"));
        }
        let output_algorithm = self.output_algorithm.unwrap_or(Algorithm::GenericSecret);
        if !matches!(
            output_algorithm,
            Algorithm::GenericSecret | Algorithm::HmacKey
        ) {
            return Err(Error::invalid_argument(
                "agreement output must be GENERIC-SECRET or HMAC",
            ));
        }
        permissions.check_applicable(output_algorithm)?;
        Ok(AgreeKeyParams {
            algorithm,
            peer_public,
            output_algorithm,
            permissions,
            exportable: self.exportable,
        })
    }
}

/// Parameters of a KEM encapsulation or decapsulation; the shared secret becomes a key
/// object of `output_algorithm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncapsulateParams {
    algorithm: Algorithm,
    output_algorithm: Algorithm,
    permissions: KeyOperationPermission,
    exportable: bool,
}

impl EncapsulateParams {
    /// A builder with nothing set.
    pub fn builder() -> EncapsulateParamsBuilder {
        EncapsulateParamsBuilder::default()
    }

    /// The KEM (class `Kem`).
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Key type of the shared secret.
    pub fn output_algorithm(&self) -> Algorithm {
        self.output_algorithm
    }

    /// Operations the shared-secret key allows.
    pub fn permissions(&self) -> KeyOperationPermission {
        self.permissions
    }

    /// Whether the shared secret may leave the daemon.
    pub fn exportable(&self) -> bool {
        self.exportable
    }
}

/// Builder for [`EncapsulateParams`]. `algorithm` and `permissions` are required;
/// `output_algorithm` defaults to `GENERIC-SECRET`, `exportable` to `false`.
#[derive(Debug, Clone, Default)]
pub struct EncapsulateParamsBuilder {
    algorithm: Option<Algorithm>,
    output_algorithm: Option<Algorithm>,
    permissions: Option<KeyOperationPermission>,
    exportable: bool,
}

impl EncapsulateParamsBuilder {
    /// Sets the KEM.
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = Some(algorithm);
        self
    }

    /// Sets the shared secret's key type.
    pub fn output_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.output_algorithm = Some(algorithm);
        self
    }

    /// Sets the shared secret's permissions.
    pub fn permissions(mut self, permissions: KeyOperationPermission) -> Self {
        self.permissions = Some(permissions);
        self
    }

    /// Sets exportability.
    pub fn exportable(mut self, exportable: bool) -> Self {
        self.exportable = exportable;
        self
    }

    /// Validates and builds. Every failure is `InvalidArgument`. The 32-byte KEM secret is
    /// uniformly random, so it may become any symmetric key type that is 32 bytes long or of
    /// variable length (`AES-256`, `CHACHA20`, `HMAC`, `GENERIC-SECRET`).
    pub fn build(self) -> Result<EncapsulateParams> {
        let algorithm = self
            .algorithm
            .ok_or(Error::invalid_argument("algorithm is required"))?;
        let permissions = self
            .permissions
            .ok_or(Error::invalid_argument("permissions are required"))?;
        let Some(lengths) = algorithm.kem_lengths() else {
            return Err(Error::invalid_argument("algorithm is not a KEM"));
        };
        let output_algorithm = self.output_algorithm.unwrap_or(Algorithm::GenericSecret);
        let fits = output_algorithm.class() == AlgorithmClass::KeyType
            && output_algorithm
                .key_len()
                .is_none_or(|l| l == lengths.shared_secret_len);
        if !fits {
            return Err(Error::invalid_argument(
                "output key type does not fit a KEM secret",
            ));
        }
        permissions.check_applicable(output_algorithm)?;
        Ok(EncapsulateParams {
            algorithm,
            output_algorithm,
            permissions,
            exportable: self.exportable,
        })
    }
}

/// Parameters of a key wrap (`AES-256-KW` or `AES-256-KWP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrapKeyParams {
    algorithm: Algorithm,
}

impl WrapKeyParams {
    /// A builder with nothing set.
    pub fn builder() -> WrapKeyParamsBuilder {
        WrapKeyParamsBuilder::default()
    }

    /// Shorthand for `builder().algorithm(algorithm).build()`.
    pub fn new(algorithm: Algorithm) -> Result<Self> {
        Self::builder().algorithm(algorithm).build()
    }

    /// The wrap algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }
}

/// Builder for [`WrapKeyParams`]. `algorithm` is required.
#[derive(Debug, Clone, Default)]
pub struct WrapKeyParamsBuilder {
    algorithm: Option<Algorithm>,
}

impl WrapKeyParamsBuilder {
    /// Sets the wrap algorithm.
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = Some(algorithm);
        self
    }

    /// Validates and builds; `InvalidArgument` if missing or not a key-wrap algorithm.
    pub fn build(self) -> Result<WrapKeyParams> {
        let algorithm = self
            .algorithm
            .ok_or(Error::invalid_argument("algorithm is required"))?;
        if algorithm.class() != AlgorithmClass::KeyWrap {
            return Err(Error::invalid_argument("algorithm is not a key wrap"));
        }
        Ok(WrapKeyParams { algorithm })
    }
}

/// Parameters of a key unwrap: the wrap algorithm and the attributes of the recovered key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnwrapKeyParams {
    algorithm: Algorithm,
    unwrapped_algorithm: Algorithm,
    permissions: KeyOperationPermission,
    exportable: bool,
}

impl UnwrapKeyParams {
    /// A builder with nothing set.
    pub fn builder() -> UnwrapKeyParamsBuilder {
        UnwrapKeyParamsBuilder::default()
    }

    /// The wrap algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Algorithm of the recovered key.
    pub fn unwrapped_algorithm(&self) -> Algorithm {
        self.unwrapped_algorithm
    }

    /// Operations the recovered key allows.
    pub fn permissions(&self) -> KeyOperationPermission {
        self.permissions
    }

    /// Whether the recovered secret may leave the daemon.
    pub fn exportable(&self) -> bool {
        self.exportable
    }
}

/// Builder for [`UnwrapKeyParams`]. `algorithm`, `unwrapped_algorithm` and `permissions` are
/// required; `exportable` defaults to `false`.
#[derive(Debug, Clone, Default)]
pub struct UnwrapKeyParamsBuilder {
    algorithm: Option<Algorithm>,
    unwrapped_algorithm: Option<Algorithm>,
    permissions: Option<KeyOperationPermission>,
    exportable: bool,
}

impl UnwrapKeyParamsBuilder {
    /// Sets the wrap algorithm.
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = Some(algorithm);
        self
    }

    /// Sets the recovered key's algorithm.
    pub fn unwrapped_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.unwrapped_algorithm = Some(algorithm);
        self
    }

    /// Sets the recovered key's permissions.
    pub fn permissions(mut self, permissions: KeyOperationPermission) -> Self {
        self.permissions = Some(permissions);
        self
    }

    /// Sets exportability.
    pub fn exportable(mut self, exportable: bool) -> Self {
        self.exportable = exportable;
        self
    }

    /// Validates and builds. Every failure is `InvalidArgument`.
    pub fn build(self) -> Result<UnwrapKeyParams> {
        let algorithm = self
            .algorithm
            .ok_or(Error::invalid_argument("algorithm is required"))?;
        let unwrapped_algorithm = self
            .unwrapped_algorithm
            .ok_or(Error::invalid_argument("unwrapped_algorithm is required"))?;
        let permissions = self
            .permissions
            .ok_or(Error::invalid_argument("permissions are required"))?;
        if algorithm.class() != AlgorithmClass::KeyWrap {
            return Err(Error::invalid_argument("algorithm is not a key wrap"));
        }
        if !unwrapped_algorithm.is_key_algorithm() {
            return Err(Error::invalid_argument(
                "unwrapped_algorithm is not a key type",
            ));
        }
        permissions.check_applicable(unwrapped_algorithm)?;
        Ok(UnwrapKeyParams {
            algorithm,
            unwrapped_algorithm,
            permissions,
            exportable: self.exportable,
        })
    }
}
