//! Key management (seed 004's `IKeyManagementContext`) and the RAII `ResourceGuard`.

use warden_core::{
    AgreeKeyParams, DeriveKeyParams, EncapsulateParams, GenerateKeyParams, ImportKeyParams,
    KdfParameters, KeyFormat, Persistence, ResourceId, ResourceType, Timeout, UnwrapKeyParams,
    WrapKeyParams,
};
use warden_wire::messages::{self as m, KeySpec, Payload, Request, Response};
use zeroize::Zeroizing;

use warden_core::ErrorCode;

use crate::error::unexpected;
use crate::error::{Error, Result};
use crate::link::Link;

/// A key object in the daemon, owned by this handle (seed decision 2).
///
/// Dropping the guard sends `ReleaseKey` and ignores the outcome; call [`ResourceGuard::release`]
/// to see it. The daemon refcounts keys: a context created from the key keeps it alive after
/// the guard is released, but creating a context from an already released key fails with
/// `ResourceNotFound`. If the process dies, the daemon frees the key with the connection.
pub struct ResourceGuard {
    link: Link,
    id: ResourceId,
    active: bool,
}

impl std::fmt::Debug for ResourceGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceGuard")
            .field("id", &self.id)
            .field("active", &self.active)
            .finish()
    }
}

impl ResourceGuard {
    fn new(link: Link, key_id: u64) -> Self {
        ResourceGuard {
            link,
            id: ResourceId::new(key_id, ResourceType::Key, Persistence::Ephemeral, 0),
            active: true,
        }
    }

    /// The key's resource id (for context configs and key-management calls).
    pub fn id(&self) -> ResourceId {
        self.id
    }

    /// Whether this guard still holds its reference (client-side view).
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Releases the guard's reference now and reports the daemon's answer.
    pub fn release(mut self) -> Result<()> {
        self.active = false;
        release(&self.link, self.id.id)
    }
}

fn release(link: &Link, key_id: u64) -> Result<()> {
    link.request(
        &Request::ReleaseKey { key_id },
        Timeout::Default,
        |r| match r {
            Response::Done => Ok(()),
            _ => Err(unexpected()),
        },
    )
}

impl Drop for ResourceGuard {
    fn drop(&mut self) {
        if self.active {
            // Destructors cannot report errors; a lost connection frees the key anyway.
            let _ = release(&self.link, self.id.id);
        }
    }
}

impl From<&ResourceGuard> for ResourceId {
    fn from(g: &ResourceGuard) -> Self {
        g.id
    }
}

/// Key-management operations on a stack. Obtain with [`crate::CryptoStack::key_management`].
///
/// Keys are named by [`ResourceId`] (`guard.id()`); every key-producing call returns a new
/// [`ResourceGuard`].
#[derive(Clone)]
pub struct KeyManagement {
    pub(crate) link: Link,
    pub(crate) timeout: Timeout,
}

impl std::fmt::Debug for KeyManagement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyManagement")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

pub(crate) fn spec(
    algorithm: warden_core::Algorithm,
    perms: u32,
    exportable: bool,
) -> KeySpec<'static> {
    KeySpec {
        algorithm: algorithm.name(),
        permissions: perms,
        exportable,
        slot: None,
    }
}

pub(crate) fn kdf(p: &KdfParameters) -> Result<m::Kdf<'_>> {
    Ok(match p {
        KdfParameters::Hkdf { hash, salt, info } => m::Kdf::Hkdf {
            hash: hash.name(),
            salt,
            info,
        },
        KdfParameters::Pbkdf2 { salt, iterations } => m::Kdf::Pbkdf2 {
            salt,
            iterations: *iterations,
        },
        KdfParameters::Tls12Prf { label, seed } => m::Kdf::Tls12Prf { label, seed },
        KdfParameters::Tls13ExpandLabel { label, context } => {
            m::Kdf::Tls13ExpandLabel { label, context }
        }
        KdfParameters::Sp800108CounterHmac { label, context } => {
            m::Kdf::Sp800108CounterHmac { label, context }
        }
        _ => {
            return Err(Error::Invalid(warden_core::Error::new(
                ErrorCode::UnsupportedAlgorithm,
                "kdf not known to this client version",
            )));
        }
    })
}

impl KeyManagement {
    pub(crate) fn new(link: Link) -> Self {
        KeyManagement {
            link,
            timeout: Timeout::Default,
        }
    }

    /// The same handle with another timeout (e.g. `Timeout::Disabled` for RSA-4096 keygen).
    pub fn with_timeout(mut self, timeout: Timeout) -> Self {
        self.timeout = timeout;
        self
    }

    pub(crate) fn key(&self, req: &Request<'_>) -> Result<ResourceGuard> {
        let key_id = self.link.request(req, self.timeout, |r| match r {
            Response::KeyCreated { key_id } => Ok(key_id),
            _ => Err(unexpected()),
        })?;
        Ok(ResourceGuard::new(self.link.clone(), key_id))
    }

    fn bytes(&self, req: &Request<'_>) -> Result<Zeroizing<Vec<u8>>> {
        self.link.request(req, self.timeout, |r| match r {
            Response::KeyBytes { data } => Ok(Zeroizing::new(warden_arena::to_vec(data))),
            _ => Err(unexpected()),
        })
    }

    /// Generates a key in the daemon.
    ///
    /// ```
    /// use warden_client::{Algorithm, CryptoStack, GenerateKeyParams, KeyOperationPermission, StackConfig};
    /// # // Hidden set-up: an in-process daemon on a temporary socket, so this example runs.
    /// # let dir = tempfile::tempdir().expect("tempdir");
    /// # let mut cfg = warden_daemon::Config::default();
    /// # cfg.socket.path = Some(dir.path().join("wardend.sock"));
    /// # let daemon = warden_daemon::Daemon::start(cfg).expect("daemon");
    /// # let socket = daemon.socket_path().to_owned();
    /// let stack = CryptoStack::connect(StackConfig::new().socket_path(&socket))?;
    /// let params = GenerateKeyParams::builder()
    ///     .algorithm(Algorithm::Ed25519)
    ///     .permissions(KeyOperationPermission::SIGN.union(KeyOperationPermission::VERIFY))
    ///     .build()?;
    /// let key = stack.key_management().generate_key(&params)?;
    /// key.release()?;
    /// # Ok::<(), warden_client::Error>(())
    /// ```
    pub fn generate_key(&self, p: &GenerateKeyParams) -> Result<ResourceGuard> {
        self.generate_key_with(p, None)
    }

    /// [`KeyManagement::generate_key`] in the provider named `provider` (see
    /// [`crate::CryptoStack::status`]'s `providers`; `None` = the daemon's default). A
    /// hardware provider keeps the key in its token: it is never exportable.
    pub fn generate_key_with(
        &self,
        p: &GenerateKeyParams,
        provider: Option<&str>,
    ) -> Result<ResourceGuard> {
        self.key(&Request::GenerateKey(m::GenerateKey {
            key: spec(p.algorithm(), p.permissions().bits(), p.exportable()),
            rsa_bits: p.rsa_bits(),
            key_len: p.key_len(),
            provider,
        }))
    }

    /// Imports key material (raw, DER, PKCS#8 or SPKI per `p.format()`).
    pub fn import_key(&self, p: &ImportKeyParams, material: &[u8]) -> Result<ResourceGuard> {
        self.key(&Request::ImportKey(m::ImportKey {
            key: spec(p.algorithm(), p.permissions().bits(), p.exportable()),
            format: p.format(),
            material: Payload::Inline(material),
        }))
    }

    /// Exports the public part of an asymmetric key; `None` = the algorithm's default format.
    pub fn export_public_key(&self, key: ResourceId, format: Option<KeyFormat>) -> Result<Vec<u8>> {
        let b = self.bytes(&Request::ExportPublicKey {
            key_id: key.id,
            format,
            output: None,
        })?;
        Ok(b.to_vec())
    }

    /// Exports the secret bytes; needs the Export permission and an exportable key
    /// (`KeyOperationNotPermitted` / `KeyNotExportable` otherwise).
    pub fn export_secret_key(&self, key: ResourceId) -> Result<Zeroizing<Vec<u8>>> {
        self.bytes(&Request::ExportSecretKey {
            key_id: key.id,
            output: None,
        })
    }

    /// Derives a key from `base` with the KDF in `p`.
    pub fn derive_key(&self, base: ResourceId, p: &DeriveKeyParams) -> Result<ResourceGuard> {
        self.key(&Request::DeriveKey(m::DeriveKey {
            base_key_id: base.id,
            kdf: kdf(p.kdf())?,
            key: spec(p.output_algorithm(), p.permissions().bits(), p.exportable()),
            output_len: p.output_len(),
        }))
    }

    /// Key agreement between our private key and `p.peer_public()`.
    pub fn agree_key(&self, private: ResourceId, p: &AgreeKeyParams) -> Result<ResourceGuard> {
        self.key(&Request::AgreeKey(m::AgreeKey {
            private_key_id: private.id,
            algorithm: p.algorithm().name(),
            peer_public: p.peer_public(),
            key: spec(p.output_algorithm(), p.permissions().bits(), p.exportable()),
        }))
    }

    /// Wraps `target` under `kek`; returns the wrapped bytes.
    pub fn wrap_key(
        &self,
        kek: ResourceId,
        target: ResourceId,
        p: &WrapKeyParams,
    ) -> Result<Vec<u8>> {
        let b = self.bytes(&Request::WrapKey(m::WrapKey {
            kek_id: kek.id,
            target_key_id: target.id,
            algorithm: p.algorithm().name(),
            output: None,
        }))?;
        Ok(b.to_vec())
    }

    /// Unwraps `wrapped` under `kek` into a new key object.
    pub fn unwrap_key(
        &self,
        kek: ResourceId,
        wrapped: &[u8],
        p: &UnwrapKeyParams,
    ) -> Result<ResourceGuard> {
        self.key(&Request::UnwrapKey(m::UnwrapKey {
            kek_id: kek.id,
            algorithm: p.algorithm().name(),
            wrapped: Payload::Inline(wrapped),
            key: spec(
                p.unwrapped_algorithm(),
                p.permissions().bits(),
                p.exportable(),
            ),
        }))
    }

    /// KEM encapsulation to `public`: the ciphertext for the peer and our shared-secret key.
    pub fn encapsulate(
        &self,
        public: ResourceId,
        p: &EncapsulateParams,
    ) -> Result<(Vec<u8>, ResourceGuard)> {
        let req = Request::Encapsulate(m::Encapsulate {
            public_key_id: public.id,
            key: spec(p.output_algorithm(), p.permissions().bits(), p.exportable()),
        });
        let (ct, key_id) = self.link.request(&req, self.timeout, |r| match r {
            Response::Encapsulated { ciphertext, key_id } => Ok((ciphertext.to_vec(), key_id)),
            _ => Err(unexpected()),
        })?;
        Ok((ct, ResourceGuard::new(self.link.clone(), key_id)))
    }

    /// KEM decapsulation of `ciphertext` with our private key into a shared-secret key.
    pub fn decapsulate(
        &self,
        private: ResourceId,
        ciphertext: &[u8],
        p: &EncapsulateParams,
    ) -> Result<ResourceGuard> {
        self.key(&Request::Decapsulate(m::Decapsulate {
            private_key_id: private.id,
            ciphertext,
            key: spec(p.output_algorithm(), p.permissions().bits(), p.exportable()),
        }))
    }
}
