//! The same operations on a SoftHSMv2 token through `wardend` (PKCS#11 provider) and through
//! `cryptoki` directly, in one run: what the daemon's boundary costs on top of the token.
//!
//! Per operation: median and best of 15 batches of 200 (batch minimum filters scheduler
//! noise on a shared machine). The token is a fresh SoftHSMv2 token in a temporary directory;
//! the process re-runs itself with `SOFTHSM2_CONF` pointing at it, so both paths use it.
//!
//! Run: `cargo build --release -p warden-daemon --bin wardend &&
//! cargo run --release -p warden-e2e --example pkcs11_bench`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::error::Error;
use std::time::{Duration, Instant};

use cryptoki::context::{CInitializeArgs, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, KeyType, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::{AuthPin, Ulong};
use warden_client::*;
use warden_e2e::persistent::{Wardend, config};
use warden_e2e::softhsm::{LABEL, SoftHsm, USER_PIN};

type R<T> = std::result::Result<T, Box<dyn Error>>;

const BATCHES: usize = 15;
const PER_BATCH: u32 = 200;

fn probe(mut f: impl FnMut() -> R<()>) -> R<(Duration, Duration)> {
    let mut per = Vec::with_capacity(BATCHES);
    for _ in 0..BATCHES {
        let t = Instant::now();
        for _ in 0..PER_BATCH {
            f()?;
        }
        per.push(t.elapsed() / PER_BATCH);
    }
    per.sort();
    Ok((per[BATCHES / 2], per[0]))
}

fn main() -> R<()> {
    if let (Some(conf), Some(module)) = (
        std::env::var_os("SOFTHSM2_CONF"),
        std::env::var_os("PKCS11_BENCH_MODULE"),
    ) {
        return run(conf.into(), module.into());
    }
    let Some(hsm) = SoftHsm::new() else {
        return Ok(());
    };
    // Re-run with the token's config in the environment (the module reads it when loaded).
    let status = std::process::Command::new(std::env::current_exe()?)
        .env("SOFTHSM2_CONF", &hsm.conf)
        .env("PKCS11_BENCH_MODULE", &hsm.module)
        .status()?;
    std::process::exit(status.code().unwrap_or(1));
}

fn row(op: &str, daemon: (Duration, Duration), direct: (Duration, Duration)) {
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "| {op} | {:.1} ({:.1}) | {:.1} ({:.1}) | {:.2} |",
        us(daemon.0),
        us(daemon.1),
        us(direct.0),
        us(direct.1),
        us(daemon.0) / us(direct.0)
    );
}

fn run(conf: std::path::PathBuf, module: std::path::PathBuf) -> R<()> {
    let msg = [0x5au8; 32];
    let data = [0xa5u8; 1024];

    // Direct: cryptoki on the token, keys made as the provider makes them.
    let p = Pkcs11::new(&module)?;
    p.initialize(CInitializeArgs::OsThreads)?;
    let slot = p
        .get_slots_with_initialized_token()?
        .into_iter()
        .find(|s| {
            p.get_token_info(*s)
                .is_ok_and(|i| i.label().trim_end() == LABEL)
        })
        .ok_or("no token")?;
    let s = p.open_rw_session(slot)?;
    s.login(UserType::User, Some(&AuthPin::new(USER_PIN.into())))?;
    let (_, ec) = s.generate_key_pair(
        &Mechanism::EccKeyPairGen,
        &[
            Attribute::EcParams(vec![
                0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07,
            ]),
            Attribute::Verify(true),
        ],
        &[
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
        ],
    )?;
    let secret = |kt: KeyType, len: u64, mech: &Mechanism| {
        s.generate_key(
            mech,
            &[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(kt),
                Attribute::ValueLen(Ulong::from(len)),
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Sign(true),
                Attribute::Encrypt(true),
            ],
        )
    };
    let hk = secret(KeyType::GENERIC_SECRET, 32, &Mechanism::GenericSecretKeyGen)?;
    let aes = secret(KeyType::AES, 32, &Mechanism::AesKeyGen)?;
    let direct_sign = probe(|| {
        let d = warden_provider_awslc::primitives::sha256(&msg);
        s.sign(&Mechanism::Ecdsa, ec, &d)?;
        Ok(())
    })?;
    let direct_mac = probe(|| {
        s.sign(&Mechanism::Sha256Hmac, hk, &data)?;
        Ok(())
    })?;
    let direct_seal = probe(|| {
        let mut iv = [0u8; 12];
        s.generate_random_slice(&mut iv)?;
        let params = GcmParams::new(&mut iv, b"", Ulong::from(128u64))?;
        s.encrypt(&Mechanism::AesGcm(params), aes, &data)?;
        Ok(())
    })?;
    drop(s);

    // Through wardend: the same token as provider "hsm".
    let root = tempfile::tempdir()?;
    let toml = format!(
        "{}[[providers.pkcs11]]\nname = \"hsm\"\nmodule = \"{}\"\ntoken_label = \"{LABEL}\"\n\
         pin_env = \"BENCH_PIN\"\n",
        config(&[]),
        module.display()
    );
    let env = vec![
        ("SOFTHSM2_CONF".to_owned(), conf.display().to_string()),
        ("BENCH_PIN".to_owned(), USER_PIN.to_owned()),
    ];
    let d = Wardend::try_start_env(root.path(), &toml, &root.path().join("w.sock"), None, &env)?;
    let stack = d.stack();
    let km = stack.key_management();
    let gen_ = |alg, perms: KeyOperationPermission, len: Option<u32>| {
        let mut b = GenerateKeyParams::builder()
            .algorithm(alg)
            .permissions(perms);
        if let Some(l) = len {
            b = b.key_len(l);
        }
        km.generate_key_with(&b.build().unwrap(), Some("hsm"))
    };
    let cfg = |alg, key: &ResourceGuard, dir: Option<CipherDirection>| {
        let mut b = ContextConfig::builder().algorithm(alg).key(key.id());
        if let Some(d) = dir {
            b = b.direction(d);
        }
        b.build().unwrap()
    };
    let ec = gen_(
        Algorithm::EcdsaP256Sha256,
        KeyOperationPermission::SIGN,
        None,
    )?;
    let hk = gen_(Algorithm::HmacKey, KeyOperationPermission::MAC, Some(32))?;
    let aes = gen_(Algorithm::Aes256Key, KeyOperationPermission::ENCRYPT, None)?;
    let mut sign = stack.create_sign_context(&cfg(Algorithm::EcdsaP256Sha256, &ec, None))?;
    let mut mac = stack.create_mac_context(&cfg(Algorithm::HmacSha256, &hk, None))?;
    let mut seal = stack.create_aead_context(&cfg(
        Algorithm::Aes256Gcm,
        &aes,
        Some(CipherDirection::Encrypt),
    ))?;
    let daemon_sign = probe(|| {
        sign.sign(&msg)?;
        Ok(())
    })?;
    let daemon_mac = probe(|| {
        mac.compute(&data)?;
        Ok(())
    })?;
    let daemon_seal = probe(|| {
        seal.seal_fresh(b"", &data)?;
        Ok(())
    })?;

    // The daemon's own cost on this machine and build, for reading the rows above: a round
    // trip, and the same HMAC with a software key.
    let sw = km.generate_key(
        &GenerateKeyParams::builder()
            .algorithm(Algorithm::HmacKey)
            .permissions(KeyOperationPermission::MAC)
            .key_len(32)
            .build()
            .unwrap(),
    )?;
    let mut sw_mac = stack.create_mac_context(&cfg(Algorithm::HmacSha256, &sw, None))?;
    let ping = probe(|| {
        stack.ping(b"")?;
        Ok(())
    })?;
    let software_mac = probe(|| {
        sw_mac.compute(&data)?;
        Ok(())
    })?;

    println!("| operation | wardend µs median (best) | cryptoki direct µs median (best) | ratio |");
    println!("|---|---|---|---|");
    row("ECDSA P-256 sign, 32 B", daemon_sign, direct_sign);
    row("HMAC-SHA256, 1 KiB", daemon_mac, direct_mac);
    row("AES-256-GCM seal, 1 KiB", daemon_seal, direct_seal);
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "baseline through wardend: ping {:.1} ({:.1}) µs, software-key HMAC-SHA256 1 KiB {:.1} ({:.1}) µs",
        us(ping.0),
        us(ping.1),
        us(software_mac.0),
        us(software_mac.1)
    );
    Ok(())
}
