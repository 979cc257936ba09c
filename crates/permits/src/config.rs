//! Configuration of the permit service.

use warden_attest::SigAlg;
use warden_sandbox::SandboxLimits;

use crate::error::PermitError;

/// How a [`crate::PermitService`] verifies permits and signs receipts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermitConfig {
    /// This daemon's audience name: permits must name exactly this audience.
    pub audience: String,
    /// Algorithm of the attestation key, used only when the key is first created
    /// (Ed25519 by default; ML-DSA-65 for post-quantum receipts; ECDSA P-256 also works).
    /// A stored key of another algorithm makes `open` fail instead of silently rotating.
    pub attestation_alg: SigAlg,
    /// Limits of policy modules and their cycles (defaults: 1 MiB guest memory,
    /// one million fuel units per cycle, 64 KiB input, 256 KiB modules).
    pub sandbox: SandboxLimits,
    /// Clock skew tolerated on both ends of a permit's validity window, in seconds.
    pub leeway_secs: i64,
    /// How often (at most) `verify_permit` first forgets replay entries of permits that can
    /// no longer be accepted, in seconds; 0 = never automatically (call
    /// [`crate::PermitService::prune_replay_ledger`] yourself). Keeps the ledger bounded by
    /// the permits still valid instead of growing with every permit ever seen.
    pub replay_prune_interval_secs: i64,
    /// How many of the newest receipts the store keeps (0 = all, unbounded). Older ones are
    /// pruned in batches, behind a checkpoint signed by the attestation key (counter and
    /// hash of the last pruned receipt) from which the retained chain still verifies
    /// (`warden_attest::verify_anchored_chain`). Export the chain before it ages out if the
    /// whole history matters.
    pub receipt_retention: u64,
}

/// Default [`PermitConfig::receipt_retention`]: bounds the receipt log at roughly 25 MB
/// with Ed25519 receipts (about 350 MB with ML-DSA-65).
pub const DEFAULT_RECEIPT_RETENTION: u64 = 100_000;

impl PermitConfig {
    /// The defaults for `audience`: Ed25519, default sandbox limits, 30 s leeway, replay
    /// ledger pruned at most every 10 minutes, the newest
    /// [`DEFAULT_RECEIPT_RETENTION`] receipts kept.
    pub fn new(audience: impl Into<String>) -> Self {
        Self {
            audience: audience.into(),
            attestation_alg: SigAlg::Ed25519,
            sandbox: SandboxLimits::default(),
            leeway_secs: 30,
            replay_prune_interval_secs: 600,
            receipt_retention: DEFAULT_RECEIPT_RETENTION,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), PermitError> {
        if self.audience.is_empty() || self.audience.len() > MAX_NAME_LEN {
            return Err(PermitError::InvalidConfig(
                "audience must be 1 to 256 bytes",
            ));
        }
        if !(0..=3600).contains(&self.leeway_secs) {
            return Err(PermitError::InvalidConfig(
                "leeway must be 0 to 3600 seconds",
            ));
        }
        if self.replay_prune_interval_secs < 0 {
            return Err(PermitError::InvalidConfig(
                "replay prune interval must be >= 0 seconds",
            ));
        }
        self.sandbox
            .validate()
            .map_err(|_| PermitError::InvalidConfig("inconsistent sandbox limits"))
    }
}

/// Longest issuer, action or audience name accepted (bytes).
pub const MAX_NAME_LEN: usize = 256;

pub(crate) fn check_name(name: &str, what: &'static str) -> Result<(), PermitError> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(PermitError::InvalidArgument(what));
    }
    Ok(())
}
