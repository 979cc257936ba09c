//! Criterion: permit verification through a real `wardend` (client → socket → daemon →
//! `PermitService` → durable receipt → reply) against, in the same run, the same service
//! in-process over a store in the same kind of directory, and the floor of bare signature
//! verification of the permit.
//!
//! ```sh
//! cargo build --release -p warden-daemon --bin wardend
//! cargo bench -p warden-e2e --bench permits_ipc -- --warm-up-time 1 --measurement-time 3
//! ```

use std::error::Error;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use coset::{CborSerializable, CoseSign1, TaggedCborSerializable};
use criterion::{BatchSize, Criterion, Throughput};
use warden_attest::{LocalSigner, PermitClaims, SigAlg, issue_permit, sha256};
use warden_e2e::{Daemon, DaemonOptions};
use warden_permits::{PermitConfig, PermitService};
use warden_store::{FileMasterKey, SlotStore};

const AUDIENCE: &str = "wardend@bench";
const ISSUER: &str = "bench-ops";
const ACTION: &str = "actuator.set";
const RESOURCE: &str = "valve/3";
const PAYLOAD: &[u8] = br#"{"valve":"open","percent":40}"#;

fn now() -> Result<i64, Box<dyn Error>> {
    Ok(i64::try_from(
        SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs(),
    )?)
}

fn claims(n: u64, now: i64) -> PermitClaims {
    PermitClaims {
        issuer: ISSUER.into(),
        subject: "agent-7".into(),
        audience: AUDIENCE.into(),
        not_before: now - 60,
        expires: now + 3600,
        permit_id: n.to_le_bytes().to_vec(),
        action: ACTION.into(),
        resource: RESOURCE.into(),
        max_uses: None,
        intent_hash: sha256(PAYLOAD),
    }
}

fn my_uid() -> Result<u32, Box<dyn Error>> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|r| r.split_whitespace().nth(1))
        .ok_or("no Uid line")?;
    Ok(uid.parse()?)
}

fn run() -> Result<(), Box<dyn Error>> {
    let mut c = Criterion::default().configure_from_args().sample_size(10);
    let signer = LocalSigner::generate(SigAlg::Ed25519)?;
    let public = signer.public_key()?;
    let t0 = now()?;

    // The daemon, as an admin so the bench may trust its issuer. Its data directory is a
    // temporary directory, like the in-process store below (same filesystem, same fsyncs).
    let config = format!(
        "[access]\nadmin_uids = [{}]\n[permits]\naudience = \"{AUDIENCE}\"\n",
        my_uid()?
    );
    let daemon = Daemon::start_with(DaemonOptions {
        config_toml: Some(config),
        ..DaemonOptions::default()
    })?;
    let stack = daemon.stack()?;
    stack.trust_add(ISSUER, "ED25519", public.as_bytes())?;

    let dir = tempfile::Builder::new().prefix("warden-bench").tempdir()?;
    let store = SlotStore::open(dir.path(), &FileMasterKey::in_dir(dir.path()))?;
    let service = PermitService::open(Arc::new(store), PermitConfig::new(AUDIENCE))?;
    service.trust_add(ISSUER, public.clone())?;

    let permit = issue_permit(&signer, &claims(0, t0))?;
    let sign1 =
        CoseSign1::from_tagged_slice(&permit).or_else(|_| CoseSign1::from_slice(&permit))?;
    let tbs = sign1.tbs_data(&[]);
    let sig = sign1.signature.clone();
    let first = stack.verify_permit(&permit, ACTION, RESOURCE, PAYLOAD)?;
    if !public.verify(&tbs, &sig) || !first.allowed {
        return Err("set-up: the permit does not verify".into());
    }

    let mut g = c.benchmark_group("permit_verify_ipc");
    g.throughput(Throughput::Elements(1));
    g.bench_function("bare_signature_verify_ed25519", |b| {
        b.iter(|| black_box(public.verify(black_box(&tbs), black_box(&sig))));
    });
    let mut n = 1u64;
    let mut fresh = || {
        n += 1;
        issue_permit(&signer, &claims(n, t0)).unwrap_or_default()
    };
    g.bench_function("in_process_service_durable", |b| {
        b.iter_batched(
            &mut fresh,
            |p| {
                let d = service.verify_permit(&p, ACTION, RESOURCE, PAYLOAD, t0);
                assert!(d.as_ref().is_ok_and(|d| d.allowed), "{d:?}");
            },
            BatchSize::SmallInput,
        );
    });
    g.bench_function("through_wardend_durable", |b| {
        b.iter_batched(
            &mut fresh,
            |p| {
                let d = stack.verify_permit(&p, ACTION, RESOURCE, PAYLOAD);
                assert!(d.as_ref().is_ok_and(|d| d.allowed), "{d:?}");
            },
            BatchSize::SmallInput,
        );
    });
    // A replayed permit: every check and a signed, durable receipt, no replay-record write.
    g.bench_function("through_wardend_replay_denied", |b| {
        b.iter(|| {
            let d = stack.verify_permit(&permit, ACTION, RESOURCE, PAYLOAD);
            assert!(d.as_ref().is_ok_and(|d| !d.allowed), "{d:?}");
        });
    });
    g.finish();
    c.final_summary();
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    run()
}
