//! Where the store's master key comes from.
//!
//! The store only needs 32 secret bytes. [`MasterKeySource`] hides where they live so that a
//! TPM-sealed blob, an HSM or a PKCS#11 token can replace [`FileMasterKey`] without touching
//! the store itself.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::error::StoreError;
use crate::fsutil::{current_uid, sync_dir};

/// Length of the master key in bytes (AES-256).
pub const MASTER_KEY_LEN: usize = 32;

/// File name of the file-based master key inside the data directory.
pub const MASTER_KEY_FILE: &str = "master.key";

/// The 32-byte key that encrypts every slot at rest.
///
/// Zeroized on drop, not `Clone`, and its `Debug` output never shows the bytes.
pub struct MasterKey(Zeroizing<[u8; MASTER_KEY_LEN]>);

impl MasterKey {
    /// Wraps raw key bytes (for sources that unseal them from elsewhere).
    pub fn from_bytes(bytes: Zeroizing<[u8; MASTER_KEY_LEN]>) -> Self {
        Self(bytes)
    }

    pub(crate) fn as_bytes(&self) -> &[u8; MASTER_KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey([REDACTED])")
    }
}

/// A source of the store's master key.
pub trait MasterKeySource {
    /// Returns the master key, creating it first if this source creates keys on demand.
    fn master_key(&self) -> Result<MasterKey, StoreError>;

    /// A short human-readable description for logs (never the key), e.g. `file:/var/lib/warden/master.key`.
    fn describe(&self) -> String;
}

/// The embedded default: a random key in a file of mode 0600 owned by the daemon's uid.
///
/// Created on first use with `O_CREAT | O_EXCL | O_NOFOLLOW` and mode 0600, then the file and
/// its directory are fsynced. An existing file is refused if it is not a regular file of exactly
/// 32 bytes, if any group/other (or execute) permission bit is set, or if another uid owns it.
#[derive(Debug, Clone)]
pub struct FileMasterKey {
    path: PathBuf,
}

impl FileMasterKey {
    /// A key file at an explicit path.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The conventional key file `DIR/master.key`.
    pub fn in_dir(dir: impl AsRef<Path>) -> Self {
        Self::new(dir.as_ref().join(MASTER_KEY_FILE))
    }

    /// The key file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read_existing(&self, mut file: File) -> Result<MasterKey, StoreError> {
        let meta = file
            .metadata()
            .map_err(StoreError::io("reading master key metadata"))?;
        if !meta.is_file() {
            return Err(StoreError::MasterKeyMalformed {
                path: self.path.clone(),
            });
        }
        let mode = meta.mode() & 0o7777;
        // Exactly owner read/write (and at most that): group/other bits and setuid/setgid/
        // sticky bits are all refused.
        if mode & 0o7177 != 0 {
            return Err(StoreError::InsecurePermissions {
                path: self.path.clone(),
                mode,
            });
        }
        let expected = current_uid();
        if meta.uid() != expected {
            return Err(StoreError::WrongOwner {
                path: self.path.clone(),
                uid: meta.uid(),
                expected,
            });
        }
        if meta.len() != MASTER_KEY_LEN as u64 {
            return Err(StoreError::MasterKeyMalformed {
                path: self.path.clone(),
            });
        }
        let mut key = Zeroizing::new([0u8; MASTER_KEY_LEN]);
        file.read_exact(key.as_mut())
            .map_err(StoreError::io("reading master key"))?;
        Ok(MasterKey(key))
    }

    /// Creates the key file atomically: the key is written and fsynced under a unique
    /// temporary name, then hard-linked to the final name (which, unlike `rename`, fails
    /// instead of replacing a key a concurrent starter created). A crash at any point leaves
    /// either no key file or a complete one, never a short one. Returns `None` if another
    /// process won the race (the caller then reads that key).
    fn create_new(&self) -> Result<Option<MasterKey>, StoreError> {
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tmp = dir.join(unique_temp_name(MASTER_KEY_FILE)?);
        let result = self.write_and_link(&tmp);
        // The temporary name is only a staging area; the link (if any) keeps the key.
        let _ = std::fs::remove_file(&tmp);
        let key = result?;
        sync_dir(dir)?;
        Ok(key)
    }

    fn write_and_link(&self, tmp: &Path) -> Result<Option<MasterKey>, StoreError> {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(nofollow())
            .open(tmp)
            .map_err(StoreError::io("creating master key"))?;
        let mut key = Zeroizing::new([0u8; MASTER_KEY_LEN]);
        warden_provider_awslc::primitives::fill_random(key.as_mut())
            .map_err(|_| StoreError::Rng)?;
        file.write_all(key.as_ref())
            .map_err(StoreError::io("writing master key"))?;
        file.sync_all()
            .map_err(StoreError::io("syncing master key"))?;
        match std::fs::hard_link(tmp, &self.path) {
            Ok(()) => Ok(Some(MasterKey(key))),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(None),
            Err(e) => Err(StoreError::io("installing master key")(e)),
        }
    }
}

/// `.NAME.<pid>.<random>.tmp`: unique per attempt, so concurrent starters never share one.
pub(crate) fn unique_temp_name(name: &str) -> Result<String, StoreError> {
    let mut r = [0u8; 8];
    warden_provider_awslc::primitives::fill_random(&mut r).map_err(|_| StoreError::Rng)?;
    Ok(format!(
        ".{name}.{}.{:016x}.tmp",
        std::process::id(),
        u64::from_le_bytes(r)
    ))
}

/// `O_NOFOLLOW`: a symlink planted at the key path is refused rather than followed.
fn nofollow() -> i32 {
    libc::O_NOFOLLOW
}

impl MasterKeySource for FileMasterKey {
    fn master_key(&self) -> Result<MasterKey, StoreError> {
        // Two attempts: a concurrent creator can win the O_EXCL race once.
        for _ in 0..2 {
            match OpenOptions::new()
                .read(true)
                .custom_flags(nofollow())
                .open(&self.path)
            {
                Ok(file) => return self.read_existing(file),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if let Some(key) = self.create_new()? {
                        return Ok(key);
                    }
                }
                Err(e) => return Err(StoreError::io("opening master key")(e)),
            }
        }
        Err(StoreError::MasterKeyMalformed {
            path: self.path.clone(),
        })
    }

    fn describe(&self) -> String {
        format!("file:{}", self.path.display())
    }
}
