//! `[providers]`: crypto providers beside the built-in software one (issue 14).
//!
//! ```toml
//! [[providers.pkcs11]]
//! name = "hsm"                                # what `warden key generate --provider` names
//! module = "/usr/lib/softhsm/libsofthsm2.so"  # absolute path of the PKCS#11 module
//! token_label = "warden"
//! pin_file = "/etc/warden/hsm.pin"            # or: pin_env = "WARDEN_HSM_PIN"
//! ```
//!
//! The PIN never goes on a command line (other local users could read it from `/proc`): it
//! comes from a file that must be a regular file, not a symlink, readable by its owner only,
//! or from an environment variable of the daemon. A token that cannot be opened stops the
//! start: a daemon that silently served without its configured HSM would hand out software
//! keys where hardware ones were asked for.

use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use warden_crypto::{MAX_PROVIDER_NAME_LEN, Provider, Registry};
use zeroize::Zeroizing;

use crate::config::ConfigError;
use crate::error::DaemonError;

/// All extra providers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProvidersConfig {
    /// PKCS#11 tokens, one provider each.
    pub pkcs11: Vec<Pkcs11ProviderConfig>,
}

/// One PKCS#11 token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Pkcs11ProviderConfig {
    /// Provider name: 1..=32 of `a-z 0-9 - _`, unique, not `aws-lc-rs`.
    pub name: String,
    /// Absolute path of the PKCS#11 module.
    pub module: PathBuf,
    /// Label of the (initialised) token.
    pub token_label: String,
    /// File holding the user PIN (owner-only permissions); exclusive with `pin_env`.
    pub pin_file: Option<PathBuf>,
    /// Environment variable holding the user PIN; exclusive with `pin_file`.
    pub pin_env: Option<String>,
}

impl ProvidersConfig {
    /// Names, paths and PIN sources are well formed.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut seen: Vec<&str> = Vec::new();
        for p in &self.pkcs11 {
            let n = p.name.as_str();
            let ok_chars = n
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
            if n.is_empty() || n.len() > MAX_PROVIDER_NAME_LEN || !ok_chars {
                return Err(ConfigError::Invalid(
                    "providers.pkcs11.name must be 1..=32 of a-z 0-9 - _",
                ));
            }
            if n == warden_crypto::DEFAULT_PROVIDER_NAME || seen.contains(&n) {
                return Err(ConfigError::Invalid("providers.pkcs11.name must be unique"));
            }
            seen.push(n);
            if !p.module.is_absolute() {
                return Err(ConfigError::Invalid(
                    "providers.pkcs11.module must be an absolute path",
                ));
            }
            if p.token_label.is_empty() || p.token_label.len() > 32 {
                return Err(ConfigError::Invalid(
                    "providers.pkcs11.token_label must be 1..=32 bytes",
                ));
            }
            match (&p.pin_file, &p.pin_env) {
                (Some(f), None) if f.is_absolute() => {}
                (None, Some(e)) if !e.is_empty() => {}
                _ => {
                    return Err(ConfigError::Invalid(
                        "providers.pkcs11 needs exactly one of pin_file (absolute) or pin_env",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Reads a PIN file: a regular file (no symlink) that only its owner may read or write.
fn read_pin_file(path: &Path) -> Result<Zeroizing<String>, DaemonError> {
    let io = |op| {
        move |source| DaemonError::Io {
            op,
            path: path.to_owned(),
            source,
        }
    };
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc_nofollow())
        .open(path)
        .map_err(io("opening pkcs#11 pin file"))?;
    let meta = f.metadata().map_err(io("reading pkcs#11 pin file"))?;
    if !meta.is_file() {
        return Err(DaemonError::Unsafe(
            "pin file is not a regular file",
            path.into(),
        ));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(DaemonError::Unsafe(
            "pin file is readable or writable by group or others",
            path.into(),
        ));
    }
    // Its owner could read the PIN or change it; only root or the daemon's uid may be that.
    if meta.uid() != 0 && meta.uid() != rustix::process::geteuid().as_raw() {
        return Err(DaemonError::Unsafe(
            "pin file is owned by another user",
            path.into(),
        ));
    }
    let mut pin = Zeroizing::new(String::new());
    f.read_to_string(&mut pin)
        .map_err(io("reading pkcs#11 pin file"))?;
    let trimmed = Zeroizing::new(pin.trim_end_matches(['\n', '\r']).to_owned());
    Ok(trimmed)
}

/// `O_NOFOLLOW`, so a symlink planted at the PIN path is refused rather than followed.
fn libc_nofollow() -> i32 {
    rustix::fs::OFlags::NOFOLLOW.bits() as i32
}

fn pin(p: &Pkcs11ProviderConfig) -> Result<Zeroizing<String>, DaemonError> {
    match (&p.pin_file, &p.pin_env) {
        (Some(f), _) => read_pin_file(f),
        (None, Some(var)) => std::env::var(var).map(Zeroizing::new).map_err(|_| {
            DaemonError::Config(ConfigError::Invalid(
                "providers.pkcs11.pin_env names an unset environment variable",
            ))
        }),
        (None, None) => Err(DaemonError::Config(ConfigError::Invalid(
            "providers.pkcs11 has no pin source",
        ))),
    }
}

/// The built-in provider plus every configured one, in a registry.
pub(crate) fn build(
    default: Arc<dyn Provider>,
    cfg: &ProvidersConfig,
) -> Result<Arc<dyn Provider>, DaemonError> {
    let mut registry = Registry::new(default);
    for p in &cfg.pkcs11 {
        // The module's code runs as the daemon: only root or the daemon's uid may change it.
        crate::trusted_file::check_trusted_file(&p.module, "pkcs#11 module")?;
        let provider =
            warden_provider_pkcs11::Pkcs11Provider::open(&warden_provider_pkcs11::Pkcs11Config {
                name: p.name.clone(),
                module: p.module.clone(),
                token_label: p.token_label.clone(),
                pin: pin(p)?,
            })
            .map_err(DaemonError::Provider)?;
        registry
            .add(Arc::new(provider))
            .map_err(DaemonError::Provider)?;
    }
    Ok(Arc::new(registry))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(extra: &str) -> ProvidersConfig {
        let text = format!(
            "[[pkcs11]]\nname = \"hsm\"\nmodule = \"/usr/lib/x.so\"\ntoken_label = \"t\"\n{extra}"
        );
        toml::from_str(&text).unwrap()
    }

    #[test]
    fn pin_sources_and_names_are_checked() {
        assert!(one("pin_env = \"PIN\"\n").validate().is_ok());
        assert!(one("pin_file = \"/etc/pin\"\n").validate().is_ok());
        assert!(one("").validate().is_err(), "no pin source");
        assert!(
            one("pin_env = \"A\"\npin_file = \"/p\"\n")
                .validate()
                .is_err()
        );
        assert!(one("pin_file = \"rel/pin\"\n").validate().is_err());
        let mut c = one("pin_env = \"PIN\"\n");
        c.pkcs11[0].name = "aws-lc-rs".into();
        assert!(c.validate().is_err());
        c.pkcs11[0].name = "Bad Name".into();
        assert!(c.validate().is_err());
        c.pkcs11[0].name = "hsm".into();
        c.pkcs11[0].module = "lib.so".into();
        assert!(c.validate().is_err());
        let mut two = one("pin_env = \"PIN\"\n");
        two.pkcs11.push(two.pkcs11[0].clone());
        assert!(two.validate().is_err(), "duplicate name");
    }

    #[test]
    fn pin_files_must_be_private_regular_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pin");
        std::fs::write(&f, "1234\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_pin_file(&f).unwrap().as_str(), "1234");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(read_pin_file(&f).is_err(), "world-readable");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&f, &link).unwrap();
        assert!(read_pin_file(&link).is_err(), "symlink");
        assert!(read_pin_file(dir.path()).is_err(), "directory");
    }
}
