//! The provider on its own against a SoftHSMv2 token initialised here, for what `wardend`
//! cannot reach or cannot forge (the e2e tests are `tests/tests/pkcs11*.rs`):
//! * token digests (`CKM_SHA256/384/512`): the daemon never routes a keyless request to
//!   this provider (design.md), so this checks what the capability table claims;
//! * the token's own CKA_EXTRACTABLE check behind warden's: a key record that claims a
//!   non-extractable key is exportable still cannot get it wrapped.
//!
//! Skips, saying why, without SoftHSMv2.
//!
//! SoftHSM finds its token directory through `SOFTHSM2_CONF`; setting it in this process
//! would need `unsafe` (`std::env::set_var`), so the test runs itself again as a child with
//! the variable set.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::Command;

use warden_core::{
    Algorithm, ContextConfig, ErrorCode, GenerateKeyParams, KeyOperationPermission as P,
    WrapKeyParams,
};
use warden_crypto::{ContextKind, Operations, Provider, StoredKey};
use warden_provider_awslc::AwsLcProvider;
use warden_provider_pkcs11::{Pkcs11Config, Pkcs11Provider};

const MODULES: [&str; 2] = [
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
];
const CHILD: &str = "WARDEN_PKCS11_DIGEST_CHILD";

fn hash(p: &dyn Provider, alg: Algorithm, parts: &[&[u8]]) -> warden_core::Result<Vec<u8>> {
    let cfg = ContextConfig::builder().algorithm(alg).build().unwrap();
    let mut c = p.create_context(ContextKind::Hash, &cfg, None)?;
    c.init(&[])?;
    let mut out = vec![0u8; 64];
    let (last, first) = parts.split_last().unwrap();
    for part in first {
        c.update(part, &mut out)?;
    }
    let n = c.finalize(last, &mut out)?;
    out.truncate(n);
    Ok(out)
}

/// In the parent: initialises a token, runs `test` again as a child with `SOFTHSM2_CONF`
/// set, checks it passed, returns `None`. In the child: the provider on that token.
fn token(test: &str) -> Option<Pkcs11Provider> {
    let Some(module) = MODULES.iter().map(PathBuf::from).find(|p| p.exists()) else {
        println!("SKIPPED: SoftHSMv2 is not installed (scripts/setup.sh installs softhsm2)");
        return None;
    };
    if std::env::var_os(CHILD).is_some() {
        return Some(
            Pkcs11Provider::open(&Pkcs11Config {
                name: "hsm".into(),
                module,
                token_label: "provider-test".into(),
                pin: String::from("1234").into(),
            })
            .unwrap(),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    let Ok(init) = Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", &conf)
        .args(["--init-token", "--free", "--label", "provider-test"])
        .args(["--pin", "1234", "--so-pin", "5678"])
        .output()
    else {
        println!("SKIPPED: softhsm2-util is not installed");
        return None;
    };
    assert!(init.status.success(), "{init:?}");
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture"])
        .env("SOFTHSM2_CONF", &conf)
        .env(CHILD, "1")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&child.stdout);
    assert!(
        child.status.success(),
        "child: {out}\n{}",
        String::from_utf8_lossy(&child.stderr)
    );
    assert!(out.contains("1 passed"), "the child ran the test: {out}");
    None
}

#[test]
fn token_digests_equal_software_digests() {
    let Some(token) = token("token_digests_equal_software_digests") else {
        return;
    };
    let soft = AwsLcProvider::new();
    let data: Vec<u8> = (0..40_000u32).map(|i| i as u8).collect();
    for alg in [Algorithm::Sha256, Algorithm::Sha384, Algorithm::Sha512] {
        assert!(
            token.supports(alg, Operations::HASH),
            "{alg:?} from the mechanism list"
        );
        let parts: [&[u8]; 3] = [b"abc", &data, b"tail"];
        let in_token = hash(&token, alg, &parts).unwrap();
        assert_eq!(in_token.len(), alg.digest_len().unwrap());
        assert_eq!(in_token, hash(&soft, alg, &parts).unwrap(), "{alg:?}");
        assert_ne!(in_token, hash(&token, alg, &[b"abd"]).unwrap());
        // One context, two streams (reset between): the second starts empty.
        let cfg = ContextConfig::builder().algorithm(alg).build().unwrap();
        let mut c = token.create_context(ContextKind::Hash, &cfg, None).unwrap();
        let mut out = [0u8; 64];
        for _ in 0..2 {
            c.init(&[]).unwrap();
            c.update(b"ab", &mut out).unwrap();
            let n = c.finalize(b"c", &mut out).unwrap();
            assert_eq!(out[..n], hash(&soft, alg, &[b"abc"]).unwrap()[..]);
            c.reset().unwrap();
        }
        // A too-small output buffer is a typed error, not a panic.
        c.init(&[]).unwrap();
        let mut small = [0u8; 8];
        assert_eq!(
            c.finalize(b"x", &mut small).unwrap_err().code(),
            ErrorCode::InsufficientBufferSize
        );
    }
    // Data is buffered in the caller's budget: more than it allows is a typed refusal.
    let big = vec![7u8; warden_crypto::DEFAULT_BUFFER_LIMIT + 1];
    assert_eq!(
        hash(&token, Algorithm::Sha256, &[&big, b""])
            .unwrap_err()
            .code(),
        ErrorCode::QuotaExceeded
    );
    // A hash the token does not have: refused, typed.
    assert!(!token.supports(Algorithm::Sha3_256, Operations::HASH));
    assert_eq!(
        hash(&token, Algorithm::Sha3_256, &[b"x"])
            .unwrap_err()
            .code(),
        ErrorCode::UnsupportedAlgorithm
    );
}

#[test]
fn the_token_refuses_to_wrap_a_non_extractable_key_whatever_the_record_says() {
    let Some(token) =
        token("the_token_refuses_to_wrap_a_non_extractable_key_whatever_the_record_says")
    else {
        return;
    };
    let gen_ = |perms: P, exportable: bool| {
        let p = GenerateKeyParams::builder()
            .algorithm(Algorithm::Aes256Key)
            .permissions(perms)
            .exportable(exportable)
            .build()
            .unwrap();
        token.generate_key(&p).unwrap()
    };
    let kek = gen_(P::WRAP, false);
    let wrap = WrapKeyParams::new(Algorithm::Aes256Kw).unwrap();
    // Control: a key created exportable wraps.
    let movable = gen_(P::ENCRYPT | P::EXPORT, true);
    assert_eq!(token.wrap_key(&kek, &movable, &wrap).unwrap().len(), 40);
    // A key created non-exportable, restored from a record that says "exportable" (a
    // tampered or buggy store): warden's gate passes, the token's CKA_EXTRACTABLE does not.
    let fixed = gen_(P::ENCRYPT | P::EXPORT, false);
    let material = fixed
        .provider_key()
        .storage_material(Algorithm::Aes256Key)
        .unwrap();
    let forged = token
        .restore_key(&StoredKey {
            provider: "hsm",
            algorithm: Algorithm::Aes256Key,
            permissions: P::ENCRYPT | P::EXPORT,
            exportable: true,
            public_only: false,
            material: &material,
        })
        .unwrap();
    assert!(forged.exportable());
    assert_eq!(
        token.wrap_key(&kek, &forged, &wrap).unwrap_err().code(),
        ErrorCode::KeyNotExportable
    );
}
