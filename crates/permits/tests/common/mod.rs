//! Shared fixtures: a data directory, an issuer, permits and a service over them.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use warden_attest::{LocalSigner, PermitClaims, SigAlg, issue_permit, sha256};
use warden_permits::{PermitConfig, PermitService};
use warden_store::{FileMasterKey, SlotStore};

pub const AUDIENCE: &str = "wardend@gw-1";
pub const ISSUER: &str = "fleet-ops";
pub const ACTION: &str = "actuator.set";
pub const RESOURCE: &str = "valve/3";
pub const PAYLOAD: &[u8] = br#"{"valve":"open","percent":40}"#;
pub const NOW: i64 = 1_800_000_000;

pub fn open_store(dir: &Path) -> Arc<SlotStore> {
    Arc::new(SlotStore::open(dir, &FileMasterKey::in_dir(dir)).unwrap())
}

pub fn config() -> PermitConfig {
    PermitConfig::new(AUDIENCE)
}

/// Opens the service on `dir` (a fresh store handle each time: a "restart" is dropping the
/// service and its store, then calling this again).
pub fn open(dir: &Path) -> PermitService {
    PermitService::open(open_store(dir), config()).unwrap()
}

pub fn issuer() -> LocalSigner {
    LocalSigner::generate(SigAlg::Ed25519).unwrap()
}

pub fn claims(id: &str) -> PermitClaims {
    PermitClaims {
        issuer: ISSUER.into(),
        subject: "agent-7".into(),
        audience: AUDIENCE.into(),
        not_before: NOW - 60,
        expires: NOW + 600,
        permit_id: id.as_bytes().to_vec(),
        action: ACTION.into(),
        resource: RESOURCE.into(),
        max_uses: None,
        intent_hash: sha256(PAYLOAD),
    }
}

pub fn permit(signer: &LocalSigner, claims: &PermitClaims) -> Vec<u8> {
    issue_permit(signer, claims).unwrap()
}

/// A service on `dir` that trusts `signer` as [`ISSUER`].
pub fn trusting(dir: &Path, signer: &LocalSigner) -> PermitService {
    let svc = open(dir);
    svc.trust_add(ISSUER, signer.public_key().unwrap()).unwrap();
    svc
}

/// Every file under `dir`, recursively.
pub fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
