//! Criterion: permit verification in-process through `PermitService::verify_permit` (every
//! check, the durable replay record, a signed receipt durably appended to the chain) against
//! the floor of bare signature verification of the same permit (`PublicKey::verify` over its
//! COSE `Sig_structure`). Variants: with an allow-all policy cycle, and with the store's fsync
//! switched off to show what durability costs.
//!
//! `cargo bench -p warden-permits --bench permits -- --warm-up-time 1 --measurement-time 3`

use std::error::Error;
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use coset::{CborSerializable, CoseSign1, TaggedCborSerializable};
use criterion::{BatchSize, Criterion, Throughput};
use warden_attest::{LocalSigner, PermitClaims, SigAlg, issue_permit, sha256};
use warden_permits::{PermitConfig, PermitService, Profile};
use warden_store::{FileMasterKey, SlotStore, StoreOptions};

const AUDIENCE: &str = "wardend@bench";
const ISSUER: &str = "bench-ops";
const ACTION: &str = "actuator.set";
const RESOURCE: &str = "valve/3";
const PAYLOAD: &[u8] = br#"{"valve":"open","percent":40}"#;
const NOW: i64 = 1_800_000_000;
const ALLOW: &str = r#"(module (func (export "evaluate") (result i32) i32.const 1))"#;

fn claims(n: u64) -> PermitClaims {
    PermitClaims {
        issuer: ISSUER.into(),
        subject: "agent-7".into(),
        audience: AUDIENCE.into(),
        not_before: NOW - 60,
        expires: NOW + 600,
        permit_id: n.to_le_bytes().to_vec(),
        action: ACTION.into(),
        resource: RESOURCE.into(),
        max_uses: None,
        intent_hash: sha256(PAYLOAD),
    }
}

fn service(
    dir: &Path,
    fsync: bool,
    signer: &LocalSigner,
    policy: bool,
) -> Result<PermitService, Box<dyn Error>> {
    let store = SlotStore::open_with(
        dir,
        &FileMasterKey::in_dir(dir),
        StoreOptions {
            fsync,
            ..StoreOptions::default()
        },
    )?;
    let svc = PermitService::open(Arc::new(store), PermitConfig::new(AUDIENCE))?;
    svc.trust_add(ISSUER, signer.public_key()?)?;
    if policy {
        svc.policy_load(ACTION, Profile::Warden, &wat::parse_str(ALLOW)?)?;
    }
    Ok(svc)
}

fn run() -> Result<(), Box<dyn Error>> {
    let mut c = Criterion::default().configure_from_args();
    let signer = LocalSigner::generate(SigAlg::Ed25519)?;
    let public = signer.public_key()?;
    // Data directories on the real disk (not tmpfs), so fsync costs what it costs.
    let base = std::env::var_os("CARGO_TARGET_DIR").map_or_else(std::env::temp_dir, Into::into);
    std::fs::create_dir_all(&base)?;

    let permit = issue_permit(&signer, &claims(0))?;
    let sign1 =
        CoseSign1::from_tagged_slice(&permit).or_else(|_| CoseSign1::from_slice(&permit))?;
    let tbs = sign1.tbs_data(&[]);
    let sig = sign1.signature.clone();
    if !public.verify(&tbs, &sig) {
        return Err("floor set-up: signature does not verify".into());
    }

    let mut group = c.benchmark_group("permit_verify");
    group.throughput(Throughput::Elements(1));
    group.bench_function("bare_signature_verify_ed25519", |b| {
        b.iter(|| black_box(public.verify(black_box(&tbs), black_box(&sig))))
    });

    let mut denied = 0u64;
    for (name, fsync, policy) in [
        ("service_verify_permit_durable", true, false),
        ("service_verify_permit_durable_with_policy", true, true),
        ("service_verify_permit_no_fsync", false, false),
    ] {
        let dir = tempfile::tempdir_in(&base)?;
        let svc = service(dir.path(), fsync, &signer, policy)?;
        let mut next = 1u64;
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    next += 1;
                    issue_permit(&signer, &claims(next)).unwrap_or_default()
                },
                |permit| match svc.verify_permit(&permit, ACTION, RESOURCE, PAYLOAD, NOW) {
                    Ok(d) if d.allowed => black_box(d.counter),
                    _ => {
                        denied += 1;
                        0
                    }
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
    c.final_summary();
    if denied > 0 {
        return Err(format!("{denied} benchmark permits were not allowed").into());
    }
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("bench failed: {e}");
        std::process::exit(1);
    }
}
