//! Key objects: algorithm, permission bits, exportability, the name of the provider that owns
//! the key, and that provider's own representation of it behind [`ProviderKey`].
//!
//! rustls's model: this crate never sees key material. A software provider keeps bytes (or
//! library key objects) in its [`ProviderKey`]; a hardware provider keeps a token handle, so
//! the secret never enters the process. A [`Key`] never implements `Clone`, and its `Debug`
//! prints no key bytes; what a provider keeps must zeroize itself on drop.
//!
//! Storage record (what [`Key::danger_storage_bytes`] writes and [`Key::parse_storage`] reads):
//!
//! * version 1 (keys of the `aws-lc-rs` provider, unchanged since before providers were
//!   split, so stores written by older daemons still load): `b"WKEY"`, `1`, name length `u8`,
//!   canonical algorithm name, permission bits `u32` LE, exportable `u8`, kind `u8` (0
//!   secret/private, 1 public only), material length `u32` LE, material.
//! * version 2 (every other provider): `b"WKEY"`, `2`, provider name length `u8`, provider
//!   name, then as version 1 from the algorithm name on. The material is whatever the
//!   provider's [`ProviderKey::storage_material`] gives: a hardware provider writes a token
//!   object id, never key bytes.

use core::any::Any;
use core::fmt;

use warden_core::{Algorithm, Error, ErrorCode, KeyFormat, KeyOperationPermission, Result};
use zeroize::Zeroizing;

/// Name of the default software provider; its keys are stored in the version-1 layout.
pub const DEFAULT_PROVIDER_NAME: &str = "aws-lc-rs";

/// A provider's own representation of one key. Only the owning provider looks inside (by
/// downcasting through [`ProviderKey::as_any`]); everyone else goes through [`Key`].
pub trait ProviderKey: Send + Sync + 'static {
    /// Whether only a public key is held (imported for verify / encapsulate / agree).
    fn is_public_only(&self) -> bool;
    /// Length in bytes of a symmetric secret, `None` for asymmetric keys or when unknown.
    fn secret_len(&self) -> Option<usize>;
    /// The public key of `algorithm` in `format`. Symmetric keys: `IncompatibleKeyType`.
    fn public_key(&self, algorithm: Algorithm, format: KeyFormat) -> Result<Vec<u8>>;
    /// The secret in its canonical encoding, for export and wrapping. [`Key`] has already
    /// checked the `EXPORT` bit and the exportable flag; a provider whose keys cannot leave
    /// it answers `KeyNotExportable`.
    fn export_material(&self, algorithm: Algorithm) -> Result<Zeroizing<Vec<u8>>>;
    /// What the daemon's store persists (encrypted at rest) so that the provider's
    /// `restore_key` can rebuild this key: the secret encoding for a software provider, a
    /// token object reference for a hardware one.
    fn storage_material(&self, algorithm: Algorithm) -> Result<Zeroizing<Vec<u8>>>;
    /// A durable record now refers to this key's material (called once the record is
    /// committed, never before): a provider whose keys are objects outside the process (a
    /// token) keeps them from then on instead of destroying them with the last handle.
    /// Writing the storage material alone must not do this: a write that then fails (name
    /// taken, quota) would leave objects no record and no handle accounts for.
    fn mark_stored(&self) {}
    /// For the owning provider's downcast.
    fn as_any(&self) -> &dyn Any;
}

/// A key object: the only way key material moves through warden.
///
/// Built by a [`crate::Provider`] (generate, import, derive, agree, unwrap, decapsulate,
/// restore from storage). The provider checks [`Key::check`] before it uses the key.
pub struct Key {
    algorithm: Algorithm,
    permissions: KeyOperationPermission,
    exportable: bool,
    provider: &'static str,
    inner: Box<dyn ProviderKey>,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("algorithm", &self.algorithm)
            .field("permissions", &self.permissions)
            .field("exportable", &self.exportable)
            .field("provider", &self.provider)
            .field("public_only", &self.is_public_only())
            .field("material", &"<redacted>")
            .finish()
    }
}

const STORAGE_MAGIC: &[u8; 4] = b"WKEY";
const STORAGE_V1: u8 = 1;
const STORAGE_V2: u8 = 2;
const KIND_SECRET: u8 = 0;
const KIND_PUBLIC: u8 = 1;

/// A parsed storage record: everything a provider needs to rebuild the key.
#[derive(Debug)]
pub struct StoredKey<'a> {
    /// The provider that owns the key (`aws-lc-rs` for version-1 records).
    pub provider: &'a str,
    /// The key's algorithm.
    pub algorithm: Algorithm,
    /// Its permission bits.
    pub permissions: KeyOperationPermission,
    /// Its exportable flag.
    pub exportable: bool,
    /// Whether only a public key was stored.
    pub public_only: bool,
    /// The provider's storage material (see [`ProviderKey::storage_material`]).
    pub material: &'a [u8],
}

impl Key {
    /// A key owned by the provider named `provider`, which alone interprets `inner`.
    pub fn new(
        algorithm: Algorithm,
        permissions: KeyOperationPermission,
        exportable: bool,
        provider: &'static str,
        inner: Box<dyn ProviderKey>,
    ) -> Self {
        Key {
            algorithm,
            permissions,
            exportable,
            provider,
            inner,
        }
    }

    /// The key's algorithm (a key type such as `AES-256`, or an asymmetric algorithm).
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The operations this key may be used for.
    pub fn permissions(&self) -> KeyOperationPermission {
        self.permissions
    }

    /// Name of the provider that owns the key (operations on it go to that provider).
    pub fn provider(&self) -> &'static str {
        self.provider
    }

    /// The provider's representation, for the owning provider to downcast.
    pub fn provider_key(&self) -> &dyn ProviderKey {
        &*self.inner
    }

    /// The same key allowed only `permissions`, which must be a subset of its own (a grantee
    /// gets the slot key with just its granted bits, so the provider itself refuses the
    /// rest). Widening fails with `KeyOperationNotPermitted`.
    pub fn narrowed(mut self, permissions: KeyOperationPermission) -> Result<Key> {
        if !self.permissions.contains(permissions) {
            return Err(Error::new(
                ErrorCode::KeyOperationNotPermitted,
                "permissions can only be narrowed",
            ));
        }
        self.permissions = permissions;
        Ok(self)
    }

    /// Whether secret material may leave the daemon (also requires the `EXPORT` bit).
    pub fn exportable(&self) -> bool {
        self.exportable
    }

    /// Whether this key holds only a public key (imported for verify / encapsulate / agree).
    pub fn is_public_only(&self) -> bool {
        self.inner.is_public_only()
    }

    /// Length of the secret in bytes for symmetric keys and secrets, `None` for asymmetric keys.
    pub fn secret_len(&self) -> Option<usize> {
        self.inner.secret_len()
    }

    /// Fails with `IncompatibleKeyType` unless an operation with `op` accepts this key, and with
    /// `KeyOperationNotPermitted` unless the key carries `needed`.
    pub fn check(&self, op: Algorithm, needed: KeyOperationPermission) -> Result<()> {
        if !op.accepts_key(self.algorithm) {
            return Err(Error::new(
                ErrorCode::IncompatibleKeyType,
                "key type does not suit the operation",
            ));
        }
        self.check_permission(needed)
    }

    /// Fails with `KeyOperationNotPermitted` unless the key carries every bit of `needed`.
    pub fn check_permission(&self, needed: KeyOperationPermission) -> Result<()> {
        if self.permissions.contains(needed) {
            Ok(())
        } else {
            Err(Error::new(
                ErrorCode::KeyOperationNotPermitted,
                "key permission bit missing",
            ))
        }
    }

    /// The public key in `format`. Always allowed (no permission bit needed).
    ///
    /// `Raw` and `SubjectPublicKeyInfo` (alias `Der`); symmetric keys fail with
    /// `IncompatibleKeyType`; `Pkcs8` fails with `InvalidArgument`.
    pub fn public_key(&self, format: KeyFormat) -> Result<Vec<u8>> {
        self.inner.public_key(self.algorithm, format)
    }

    /// The secret / private key in its canonical encoding. Needs the `EXPORT` permission bit
    /// *and* the exportable flag, else `KeyNotExportable` (and a provider may refuse on its own,
    /// as a token does for its non-extractable keys). Public-only keys fail with
    /// `IncompatibleKeyType` (use [`Key::public_key`]).
    pub fn export_secret(&self) -> Result<Zeroizing<Vec<u8>>> {
        if !self.exportable || !self.permissions.contains(KeyOperationPermission::EXPORT) {
            return Err(Error::new(
                ErrorCode::KeyNotExportable,
                "key is not exportable",
            ));
        }
        if self.is_public_only() {
            return Err(Error::new(
                ErrorCode::IncompatibleKeyType,
                "public-only key has no secret",
            ));
        }
        self.inner.export_material(self.algorithm)
    }

    /// Tells the provider a committed record now refers to this key
    /// ([`ProviderKey::mark_stored`]); the store calls it after the commit, never before.
    pub fn mark_stored(&self) {
        self.inner.mark_stored();
    }

    /// DANGER: the record the daemon's persistent store keeps (encrypted at rest) to restore
    /// this key: for a software key the full secret. Not gated by the `EXPORT` bit: storage is
    /// not export. Only the key store may call this; nothing it returns may reach a client.
    /// Layout in the module documentation.
    pub fn danger_storage_bytes(&self) -> Result<Zeroizing<Vec<u8>>> {
        let material = self.inner.storage_material(self.algorithm)?;
        let name = self.algorithm.name().as_bytes();
        let internal = |_| Error::from(ErrorCode::InternalError);
        let name_len = u8::try_from(name.len()).map_err(internal)?;
        let provider_len = u8::try_from(self.provider.len()).map_err(internal)?;
        let material_len = u32::try_from(material.len()).map_err(internal)?;
        let mut out = Zeroizing::new(Vec::with_capacity(
            17 + self.provider.len() + name.len() + material.len(),
        ));
        out.extend_from_slice(STORAGE_MAGIC);
        if self.provider == DEFAULT_PROVIDER_NAME {
            out.push(STORAGE_V1);
        } else {
            out.push(STORAGE_V2);
            out.push(provider_len);
            out.extend_from_slice(self.provider.as_bytes());
        }
        out.push(name_len);
        out.extend_from_slice(name);
        out.extend_from_slice(&self.permissions.bits().to_le_bytes());
        out.push(u8::from(self.exportable));
        out.push(if self.is_public_only() {
            KIND_PUBLIC
        } else {
            KIND_SECRET
        });
        out.extend_from_slice(&material_len.to_le_bytes());
        out.extend_from_slice(&material);
        Ok(out)
    }

    /// Parses a record written by [`Key::danger_storage_bytes`]; the provider it names
    /// rebuilds the key ([`crate::Provider::restore_key`]). Malformed input fails with
    /// `InvalidFormat` (never a panic); unknown algorithm names with `UnsupportedAlgorithm`.
    pub fn parse_storage(bytes: &[u8]) -> Result<StoredKey<'_>> {
        let bad = || Error::new(ErrorCode::InvalidFormat, "malformed key storage record");
        let mut r = Reader(bytes);
        if r.take(4).ok_or_else(bad)? != STORAGE_MAGIC {
            return Err(bad());
        }
        let provider = match r.u8().ok_or_else(bad)? {
            STORAGE_V1 => DEFAULT_PROVIDER_NAME,
            STORAGE_V2 => {
                let len = usize::from(r.u8().ok_or_else(bad)?);
                let name = r.take(len).ok_or_else(bad)?;
                core::str::from_utf8(name).map_err(|_| bad())?
            }
            _ => return Err(bad()),
        };
        let name_len = usize::from(r.u8().ok_or_else(bad)?);
        let name = core::str::from_utf8(r.take(name_len).ok_or_else(bad)?).map_err(|_| bad())?;
        let algorithm = Algorithm::from_name(name)?;
        let perm_bytes: [u8; 4] = r.take(4).ok_or_else(bad)?.try_into().map_err(|_| bad())?;
        let permissions = KeyOperationPermission::from_bits(u32::from_le_bytes(perm_bytes))?;
        let exportable = match r.u8().ok_or_else(bad)? {
            0 => false,
            1 => true,
            _ => return Err(bad()),
        };
        let public_only = match r.u8().ok_or_else(bad)? {
            KIND_SECRET => false,
            KIND_PUBLIC => true,
            _ => return Err(bad()),
        };
        let len_bytes: [u8; 4] = r.take(4).ok_or_else(bad)?.try_into().map_err(|_| bad())?;
        let len = usize::try_from(u32::from_le_bytes(len_bytes)).map_err(|_| bad())?;
        let material = r.take(len).ok_or_else(bad)?;
        if !r.0.is_empty() {
            return Err(bad());
        }
        Ok(StoredKey {
            provider,
            algorithm,
            permissions,
            exportable,
            public_only,
            material,
        })
    }
}

/// A bounds-checked cursor (no indexing on stored bytes).
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).and_then(|b| b.first().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A provider key that stores a fixed reference (like a token handle).
    struct Handle(Vec<u8>);

    impl ProviderKey for Handle {
        fn is_public_only(&self) -> bool {
            false
        }
        fn secret_len(&self) -> Option<usize> {
            None
        }
        fn public_key(&self, _: Algorithm, _: KeyFormat) -> Result<Vec<u8>> {
            Err(Error::from(ErrorCode::IncompatibleKeyType))
        }
        fn export_material(&self, _: Algorithm) -> Result<Zeroizing<Vec<u8>>> {
            Err(Error::from(ErrorCode::KeyNotExportable))
        }
        fn storage_material(&self, _: Algorithm) -> Result<Zeroizing<Vec<u8>>> {
            Ok(Zeroizing::new(self.0.clone()))
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
    }

    fn key(provider: &'static str, exportable: bool) -> Key {
        Key::new(
            Algorithm::Aes256Key,
            KeyOperationPermission::ENCRYPT | KeyOperationPermission::EXPORT,
            exportable,
            provider,
            Box::new(Handle(vec![1, 2, 3])),
        )
    }

    #[test]
    fn records_name_their_provider_and_the_default_keeps_version_1() {
        let hw = key("hsm", false).danger_storage_bytes().unwrap();
        assert_eq!(hw.get(4), Some(&STORAGE_V2));
        let s = Key::parse_storage(&hw).unwrap();
        assert_eq!((s.provider, s.material), ("hsm", &[1u8, 2, 3][..]));
        assert_eq!(s.algorithm, Algorithm::Aes256Key);
        assert!(!s.public_only && !s.exportable);

        let sw = key(DEFAULT_PROVIDER_NAME, true)
            .danger_storage_bytes()
            .unwrap();
        assert_eq!(
            sw.get(4),
            Some(&STORAGE_V1),
            "pre-split layout for the default"
        );
        let s = Key::parse_storage(&sw).unwrap();
        assert_eq!(s.provider, DEFAULT_PROVIDER_NAME);
        assert!(s.exportable);

        for cut in 0..hw.len() {
            assert!(Key::parse_storage(&hw[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = hw.to_vec();
        bad[4] = 3;
        assert!(Key::parse_storage(&bad).is_err(), "unknown version");
    }

    #[test]
    fn export_is_gated_before_the_provider_is_asked() {
        // Not exportable: refused by Key itself.
        assert_eq!(
            key("hsm", false).export_secret().unwrap_err().code(),
            ErrorCode::KeyNotExportable
        );
        // Exportable with the bit: the provider still decides (a token refuses).
        assert_eq!(
            key("hsm", true).export_secret().unwrap_err().code(),
            ErrorCode::KeyNotExportable
        );
        let narrowed = key("hsm", true)
            .narrowed(KeyOperationPermission::ENCRYPT)
            .unwrap();
        assert_eq!(narrowed.provider(), "hsm");
        assert!(
            key("hsm", true)
                .narrowed(KeyOperationPermission::SIGN)
                .is_err()
        );
    }
}
