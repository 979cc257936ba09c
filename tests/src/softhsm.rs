//! A SoftHSMv2 token in a temporary directory, for the PKCS#11 provider's tests.
//!
//! Each [`SoftHsm`] has its own `softhsm2.conf` and token directory: the daemon (and
//! `pkcs11-tool`) see it through `SOFTHSM2_CONF`, so nothing touches the machine's own
//! tokens. When SoftHSMv2 is not installed, [`SoftHsm::new`] prints why and returns `None`
//! (`scripts/setup.sh` installs it, so CI runs these tests).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

/// The user PIN of every test token.
pub const USER_PIN: &str = "4711-warden";
const SO_PIN: &str = "0815-so";
/// The label of every test token.
pub const LABEL: &str = "warden-test";

/// Where Debian puts the module.
const MODULES: [&str; 2] = [
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
];

/// One initialised token.
pub struct SoftHsm {
    /// The directory holding the config and the token directory.
    pub dir: tempfile::TempDir,
    /// Path of `softhsm2.conf` (the value for `SOFTHSM2_CONF`).
    pub conf: PathBuf,
    /// The token directory (remove it to make the token vanish).
    pub tokens: PathBuf,
    /// The PKCS#11 module.
    pub module: PathBuf,
}

impl SoftHsm {
    /// A fresh initialised token, or `None` (with a printed reason) without SoftHSMv2.
    pub fn new() -> Option<SoftHsm> {
        let Some(module) = MODULES.iter().map(PathBuf::from).find(|p| p.exists()) else {
            println!("SKIPPED: SoftHSMv2 is not installed (scripts/setup.sh installs softhsm2)");
            return None;
        };
        if Command::new("softhsm2-util")
            .arg("--version")
            .output()
            .is_err()
        {
            println!("SKIPPED: softhsm2-util is not installed (scripts/setup.sh installs it)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).unwrap();
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .unwrap();
        let hsm = SoftHsm {
            dir,
            conf,
            tokens,
            module,
        };
        let out = hsm
            .util()
            .args(["--init-token", "--free", "--label", LABEL])
            .args(["--pin", USER_PIN, "--so-pin", SO_PIN])
            .output()
            .unwrap();
        assert!(out.status.success(), "softhsm2-util: {out:?}");
        Some(hsm)
    }

    fn util(&self) -> Command {
        let mut c = Command::new("softhsm2-util");
        c.env("SOFTHSM2_CONF", &self.conf);
        c
    }

    /// The environment the daemon needs: where the token lives, and the PIN variable.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("SOFTHSM2_CONF".into(), self.conf.display().to_string()),
            ("WARDEN_TEST_HSM_PIN".into(), USER_PIN.into()),
        ]
    }

    /// A `[[providers.pkcs11]]` section named `name`, PIN from `WARDEN_TEST_HSM_PIN`.
    pub fn provider_toml(&self, name: &str) -> String {
        format!(
            "[[providers.pkcs11]]\nname = \"{name}\"\nmodule = \"{}\"\ntoken_label = \"{LABEL}\"\n\
             pin_env = \"WARDEN_TEST_HSM_PIN\"\n",
            self.module.display()
        )
    }

    /// `pkcs11-tool --module ... --login --list-objects` on this token (stdout), or `None`
    /// when OpenSC is not installed.
    pub fn list_objects(&self) -> Option<String> {
        let out = Command::new("pkcs11-tool")
            .env("SOFTHSM2_CONF", &self.conf)
            .arg("--module")
            .arg(&self.module)
            .args([
                "--token-label",
                LABEL,
                "--login",
                "--pin",
                USER_PIN,
                "--list-objects",
            ])
            .output()
            .ok()?;
        assert!(out.status.success(), "pkcs11-tool: {out:?}");
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}
