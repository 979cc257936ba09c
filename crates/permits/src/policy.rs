//! The policy registry: action → policy module, persisted in the store's `warden.policies`
//! records, compiled once and cached in memory.
//!
//! Record value (version 1): `1u8 | profile u8 | tag_len u32 LE | tag | module bytes`, where
//! `tag` is the attestation key's signature over (`POLICY_DOMAIN`, action, profile,
//! SHA-256 of the module). A record without a valid tag (edited behind the service's back)
//! makes `open` fail. A record that is intact but no longer loads (e.g. the configured limits
//! were lowered) stays bound in a broken state: its action is denied with `PolicyFailed`
//! until an admin reloads or unloads it, so the gate fails closed, never open.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use warden_sandbox::{PolicyModule, Profile, SandboxLimits, Sha256Hash};
use warden_store::SlotStore;

use crate::attestation::AttestationKey;
use crate::config::check_name;
use crate::error::PermitError;

pub(crate) const POLICY_NAMESPACE: &str = "warden.policies";
const POLICY_DOMAIN: &str = "warden-permits/policy/v1";
const RECORD_VERSION: u8 = 1;

/// What `policy_list` reports for one bound action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyInfo {
    /// The action (tool id) the policy gates.
    pub action: String,
    /// The host-bridge profile the module was loaded for.
    pub profile: Profile,
    /// SHA-256 of the module bytes (its identity in receipts).
    pub hash: Sha256Hash,
    /// Module size in bytes.
    pub len: usize,
    /// Whether the module compiled under the current limits. `false`: the action is denied
    /// with `PolicyFailed` until the policy is reloaded or unloaded.
    pub compiled: bool,
}

/// A policy bound to an action.
#[derive(Debug)]
pub(crate) struct BoundPolicy {
    /// The compiled module; `None` when the stored module no longer loads.
    pub(crate) module: Option<PolicyModule>,
    pub(crate) profile: Profile,
    pub(crate) hash: Sha256Hash,
    pub(crate) len: usize,
}

fn profile_code(p: Profile) -> u8 {
    match p {
        Profile::Warden => 1,
        Profile::Aether => 2,
    }
}

fn profile_from_code(c: u8) -> Option<Profile> {
    match c {
        1 => Some(Profile::Warden),
        2 => Some(Profile::Aether),
        _ => None,
    }
}

/// Action → policy, cached compiled.
#[derive(Debug, Default)]
pub(crate) struct PolicyRegistry {
    policies: RwLock<BTreeMap<String, Arc<BoundPolicy>>>,
}

impl PolicyRegistry {
    /// Loads and compiles every stored policy (see the module docs for failures).
    pub(crate) fn load(
        store: &SlotStore,
        attest: &AttestationKey,
        limits: &SandboxLimits,
    ) -> Result<Self, PermitError> {
        let records = store.records(POLICY_NAMESPACE)?;
        let mut policies = BTreeMap::new();
        for key in records.keys()? {
            let corrupt = || PermitError::Integrity("policy record");
            let action = String::from_utf8(key.clone()).map_err(|_| corrupt())?;
            let record = records.get(&key)?.ok_or_else(corrupt)?;
            let (profile, module) = decode(&action, &record, attest).ok_or_else(corrupt)?;
            let bound = BoundPolicy {
                module: PolicyModule::load(module, profile, limits).ok(),
                profile,
                hash: Sha256Hash::of(module),
                len: module.len(),
            };
            policies.insert(action, Arc::new(bound));
        }
        Ok(Self {
            policies: RwLock::new(policies),
        })
    }

    /// The policy bound to `action`, if any.
    pub(crate) fn get(&self, action: &str) -> Result<Option<Arc<BoundPolicy>>, PermitError> {
        let policies = self.policies.read().map_err(|_| PermitError::Poisoned)?;
        Ok(policies.get(action).cloned())
    }

    /// Validates and compiles `module`, stores it durably, then binds it to `action`
    /// (replacing a previous binding).
    pub(crate) fn bind(
        &self,
        store: &SlotStore,
        attest: &AttestationKey,
        limits: &SandboxLimits,
        action: &str,
        profile: Profile,
        module: &[u8],
    ) -> Result<Sha256Hash, PermitError> {
        check_name(action, "action must be 1 to 256 bytes")?;
        let compiled =
            PolicyModule::load(module, profile, limits).map_err(PermitError::InvalidPolicy)?;
        let hash = *compiled.hash();
        let record = encode(action, profile, module, &hash, attest)?;
        let mut policies = self.policies.write().map_err(|_| PermitError::Poisoned)?;
        store
            .records(POLICY_NAMESPACE)?
            .put(action.as_bytes(), &record)?;
        let bound = BoundPolicy {
            module: Some(compiled),
            profile,
            hash,
            len: module.len(),
        };
        policies.insert(action.to_owned(), Arc::new(bound));
        Ok(hash)
    }

    pub(crate) fn unbind(&self, store: &SlotStore, action: &str) -> Result<(), PermitError> {
        check_name(action, "action must be 1 to 256 bytes")?;
        let mut policies = self.policies.write().map_err(|_| PermitError::Poisoned)?;
        if !store.records(POLICY_NAMESPACE)?.remove(action.as_bytes())? {
            return Err(PermitError::PolicyNotFound);
        }
        policies.remove(action);
        Ok(())
    }

    pub(crate) fn list(&self) -> Result<Vec<PolicyInfo>, PermitError> {
        let policies = self.policies.read().map_err(|_| PermitError::Poisoned)?;
        Ok(policies
            .iter()
            .map(|(action, p)| PolicyInfo {
                action: action.clone(),
                profile: p.profile,
                hash: p.hash,
                len: p.len,
                compiled: p.module.is_some(),
            })
            .collect())
    }
}

fn encode(
    action: &str,
    profile: Profile,
    module: &[u8],
    hash: &Sha256Hash,
    attest: &AttestationKey,
) -> Result<Vec<u8>, PermitError> {
    let code = profile_code(profile);
    let tag = attest.tag(
        POLICY_DOMAIN,
        &[action.as_bytes(), &[code], hash.as_bytes()],
    )?;
    let tag_len =
        u32::try_from(tag.len()).map_err(|_| PermitError::InvalidArgument("tag too large"))?;
    let mut out = Vec::with_capacity(6 + tag.len() + module.len());
    out.push(RECORD_VERSION);
    out.push(code);
    out.extend_from_slice(&tag_len.to_le_bytes());
    out.extend_from_slice(&tag);
    out.extend_from_slice(module);
    Ok(out)
}

fn decode<'r>(
    action: &str,
    record: &'r [u8],
    attest: &AttestationKey,
) -> Option<(Profile, &'r [u8])> {
    let (&[version, code], rest) = record.split_first_chunk::<2>()?;
    let (len, rest) = rest.split_first_chunk::<4>()?;
    let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
    if version != RECORD_VERSION || len > rest.len() {
        return None;
    }
    let (tag, module) = rest.split_at(len);
    let hash = Sha256Hash::of(module);
    if !attest.check(
        POLICY_DOMAIN,
        &[action.as_bytes(), &[code], hash.as_bytes()],
        tag,
    ) {
        return None;
    }
    Some((profile_from_code(code)?, module))
}
