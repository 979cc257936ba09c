//! [`PermitService`]: verify a permit, run its action's policy, sign a chained receipt.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use warden_attest::{
    ChainState, Checkpoint, Decision, DenyReason, Intent, PermitClaims, PublicKey, ReceiptBody,
    VerifyContext, issue_checkpoint, issue_receipt, sha256,
};
use warden_sandbox::{Profile, Sandbox, SandboxError, Sha256Hash};
use warden_store::SlotStore;

use crate::attestation::AttestationKey;
use crate::config::PermitConfig;
use crate::error::PermitError;
use crate::input::policy_input;
use crate::ledger::StoreLedger;
use crate::policy::{BoundPolicy, PolicyInfo, PolicyRegistry};
use crate::trust::TrustRegistry;

/// The outcome of [`PermitService::verify_permit`]. A denial is an outcome, not an error:
/// it carries its receipt like an allow does.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PermitDecision {
    /// Whether the action may proceed.
    pub allowed: bool,
    /// Why not, when denied.
    pub reason: Option<DenyReason>,
    /// The signed receipt (tagged COSE_Sign1), already durably appended to the chain.
    pub receipt: Vec<u8>,
    /// The receipt's position in the chain.
    pub counter: u64,
    /// The permit's claims, once its signature verified (also for most denials).
    pub claims: Option<PermitClaims>,
    /// Why the policy cycle failed, for `PolicyFailed` (for logs; the receipt has the reason).
    pub policy_error: Option<SandboxError>,
}

/// The daemon's permit service. One per daemon; `Send + Sync`, share it behind an `Arc`.
///
/// Admin operations (trust store, policies) take short per-registry locks; decisions are
/// serialised by one mutex (which also owns the sandbox), so the receipt chain stays linear.
pub struct PermitService {
    store: Arc<SlotStore>,
    cfg: PermitConfig,
    key: AttestationKey,
    trust: TrustRegistry,
    policies: PolicyRegistry,
    decisions: Mutex<Sandbox>,
    /// Unix time from which the next `verify_permit` prunes the replay ledger first.
    next_prune: AtomicI64,
}

impl std::fmt::Debug for PermitService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PermitService")
            .field("audience", &self.cfg.audience)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The verdict of the checks so far, plus what the policy cycle reported.
struct Verdict {
    result: Result<(), DenyReason>,
    policy_error: Option<SandboxError>,
}

impl PermitService {
    /// Opens the service over `store`: loads (or on first start creates and seals) the
    /// attestation key, loads the trust store and compiles every stored policy.
    ///
    /// # Errors
    ///
    /// [`PermitError::InvalidConfig`], [`PermitError::AttestationAlgMismatch`],
    /// [`PermitError::Integrity`] for a stored record not tagged by this daemon's key,
    /// [`PermitError::Store`].
    pub fn open(store: Arc<SlotStore>, cfg: PermitConfig) -> Result<Self, PermitError> {
        cfg.validate()?;
        let key = AttestationKey::load_or_create(&store, cfg.attestation_alg)?;
        let trust = TrustRegistry::load(&store, &key)?;
        let policies = PolicyRegistry::load(&store, &key, &cfg.sandbox)?;
        let sandbox = Sandbox::with_limits(cfg.sandbox)
            .map_err(|_| PermitError::InvalidConfig("cannot create the policy sandbox"))?;
        // Refuse to start on a chain head the store cannot vouch for.
        chain_state(&store)?;
        Ok(Self {
            store,
            cfg,
            key,
            trust,
            policies,
            decisions: Mutex::new(sandbox),
            next_prune: AtomicI64::new(i64::MIN),
        })
    }

    /// The configuration the service runs with.
    pub fn config(&self) -> &PermitConfig {
        &self.cfg
    }

    /// The public half of the attestation key: what verifies every receipt offline.
    pub fn attestation_public_key(&self) -> PublicKey {
        self.key.public().clone()
    }

    /// Trusts `key` for permits of `issuer` (durable before it returns); replaces a previous
    /// key and returns whether there was one.
    ///
    /// # Errors
    ///
    /// [`PermitError::InvalidArgument`] for an empty or over-long issuer, [`PermitError::Store`].
    pub fn trust_add(&self, issuer: &str, key: PublicKey) -> Result<bool, PermitError> {
        self.trust.add(&self.store, &self.key, issuer, key)
    }

    /// Every trusted issuer with its key, sorted by issuer.
    ///
    /// # Errors
    ///
    /// [`PermitError::Poisoned`].
    pub fn trust_list(&self) -> Result<Vec<(String, PublicKey)>, PermitError> {
        self.trust.list()
    }

    /// Stops trusting `issuer` (durable before it returns).
    ///
    /// # Errors
    ///
    /// [`PermitError::IssuerNotFound`], [`PermitError::Store`].
    pub fn trust_remove(&self, issuer: &str) -> Result<(), PermitError> {
        self.trust.remove(&self.store, issuer)
    }

    /// Validates `module` with the sandbox's loader (under the configured limits), stores it
    /// and binds it to `action`, replacing a previous policy. Returns the module's SHA-256.
    ///
    /// # Errors
    ///
    /// [`PermitError::InvalidPolicy`] with the sandbox's reason, [`PermitError::Store`].
    pub fn policy_load(
        &self,
        action: &str,
        profile: Profile,
        module: &[u8],
    ) -> Result<Sha256Hash, PermitError> {
        self.policies.bind(
            &self.store,
            &self.key,
            &self.cfg.sandbox,
            action,
            profile,
            module,
        )
    }

    /// Every bound policy, sorted by action.
    ///
    /// # Errors
    ///
    /// [`PermitError::Poisoned`].
    pub fn policy_list(&self) -> Result<Vec<PolicyInfo>, PermitError> {
        self.policies.list()
    }

    /// Removes the policy bound to `action` (durable before it returns).
    ///
    /// # Errors
    ///
    /// [`PermitError::PolicyNotFound`], [`PermitError::Store`].
    pub fn policy_unload(&self, action: &str) -> Result<(), PermitError> {
        self.policies.unbind(&self.store, action)
    }

    /// Decides whether the agent may perform `action` on `resource` with `intent_payload`
    /// under `permit`, at Unix time `now`.
    ///
    /// In order: `warden_attest::verify_permit` (signature against a trusted issuer,
    /// audience, validity window, intent hash, action, resource, replay / max uses, the last
    /// recorded durably in the store's replay table); then, if a policy is bound to the
    /// action, one sandbox cycle over the input of [`crate::input`] (verdict 1 allows,
    /// anything else is `PolicyDenied`, a failing cycle is `PolicyFailed`). Every decision
    /// on an authenticated permit (signature verified under a trusted issuer's key), allow
    /// or deny, is signed as the next receipt of the chain, which is advanced durably before
    /// this returns. Input that is not such a permit gets no receipt (see Errors).
    ///
    /// A use of the permit is consumed once the permit passed the replay check, also when the
    /// policy then denies: the policy sees an authorised use, and a denied use is not handed
    /// back (fail closed).
    ///
    /// # Errors
    ///
    /// [`PermitError::Unauthenticated`] for a malformed permit, an untrusted issuer or a bad
    /// signature (nothing is recorded: no replay entry, no receipt); infrastructure failures:
    /// [`PermitError::Store`] (replay table or chain), [`PermitError::Attest`] (signing),
    /// [`PermitError::Poisoned`]. No receipt is issued then, and the caller must deny.
    pub fn verify_permit(
        &self,
        permit: &[u8],
        action: &str,
        resource: &str,
        intent_payload: &[u8],
        now: i64,
    ) -> Result<PermitDecision, PermitError> {
        let mut sandbox = self.decisions.lock().map_err(|_| PermitError::Poisoned)?;
        self.prune_if_due(now);
        let intent = Intent {
            action,
            resource,
            payload: intent_payload,
        };
        let check = {
            let trust = self.trust.view()?;
            let ctx = VerifyContext {
                audience: &self.cfg.audience,
                now,
                leeway: self.cfg.leeway_secs,
            };
            let mut ledger =
                StoreLedger::new(self.store.replay_table(), permit, self.cfg.leeway_secs);
            match warden_attest::verify_permit(permit, &intent, &trust, &ctx, &mut ledger) {
                Ok(check) => check,
                Err(e) => {
                    return Err(ledger
                        .error
                        .take()
                        .map_or(PermitError::Attest(e), PermitError::Store));
                }
            }
        };

        // Only a permit signed by a trusted issuer earns a chain entry: the claims are
        // present exactly when the signature verified. Anything else is bytes any local
        // user can send in bulk, refused with a typed error and left to the audit log.
        let Some(claims) = &check.claims else {
            // Fail closed also on an (impossible) allow without claims.
            let why = check.verdict.err().unwrap_or(DenyReason::Malformed);
            return Err(PermitError::Unauthenticated(why));
        };

        let mut body = ReceiptBody {
            decision: Decision::Deny,
            reason: 0,
            permit_id: claims.permit_id.clone(),
            intent_hash: sha256(intent_payload),
            policy_hash: None,
            input_hash: [0; 32],
            telemetry_hash: [0; 32],
            counter: 0,
            prev_hash: [0; 32],
            issued_at: now,
        };
        let verdict = match check.verdict {
            Err(why) => Verdict {
                result: Err(why),
                policy_error: None,
            },
            Ok(use_number) => match self.policies.get(&claims.action)? {
                None => Verdict {
                    result: Ok(()),
                    policy_error: None,
                },
                Some(policy) => run_policy(
                    &mut sandbox,
                    &policy,
                    claims,
                    use_number,
                    intent_payload,
                    &mut body,
                ),
            },
        };
        match verdict.result {
            Ok(()) => body.decision = Decision::Allow,
            Err(why) => body.reason = why.as_u32(),
        }

        let (receipt, counter) = self.append_receipt(&mut body)?;
        // Best effort: the receipt is already chained and must reach the caller; a failed
        // prune leaves the log a little longer and is retried on the next decision.
        let _ = self.prune_receipts(now);
        drop(sandbox);
        Ok(PermitDecision {
            allowed: verdict.result.is_ok(),
            reason: verdict.result.err(),
            receipt,
            counter,
            claims: check.claims,
            policy_error: verdict.policy_error,
        })
    }

    /// Signs `body` as the next receipt and advances the durable chain (compare-and-swap on
    /// the counter) before returning it. Called with the decision lock held.
    fn append_receipt(&self, body: &mut ReceiptBody) -> Result<(Vec<u8>, u64), PermitError> {
        let chain = self.store.receipt_chain();
        let mut state = chain_state(&self.store)?;
        let expected = state.counter;
        let receipt = issue_receipt(self.key.signer(), body, &mut state)?;
        chain.advance(expected, &state.last_hash, &receipt)?;
        Ok((receipt, state.counter))
    }

    /// The head of the receipt chain: counter and hash of the last receipt issued.
    ///
    /// # Errors
    ///
    /// [`PermitError::Store`], [`PermitError::Integrity`] for a malformed stored head.
    pub fn chain_head(&self) -> Result<ChainState, PermitError> {
        chain_state(&self.store)
    }

    /// Up to `limit` stored receipts with counter >= `from`, in order, as `(counter, receipt)`.
    ///
    /// # Errors
    ///
    /// [`PermitError::Store`].
    pub fn receipts_from(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, PermitError> {
        Ok(self.store.receipt_chain().receipts_from(from, limit)?)
    }

    /// The signed retention checkpoint (`warden_attest::verify_checkpoint`) and the counter
    /// of the last receipt it covers, once receipts were pruned.
    ///
    /// # Errors
    ///
    /// [`PermitError::Store`].
    pub fn receipt_checkpoint(&self) -> Result<Option<(u64, Vec<u8>)>, PermitError> {
        Ok(self
            .store
            .receipt_chain()
            .checkpoint()?
            .map(|c| (c.counter, c.anchor)))
    }

    /// Prunes the stored receipt log down to the newest `receipt_retention` receipts once it
    /// holds 1/64 more than that (batches keep it to one checkpoint signature per batch).
    /// The checkpoint, signed first, names the last pruned receipt's counter and hash, so
    /// the retained chain still verifies from it. Returns how many receipts went. Called
    /// after each decision; callable directly.
    ///
    /// # Errors
    ///
    /// [`PermitError::Store`], [`PermitError::Attest`] (signing), [`PermitError::Integrity`]
    /// when the receipt at the prune point is missing from the log.
    pub fn prune_receipts(&self, now: i64) -> Result<usize, PermitError> {
        let keep = self.cfg.receipt_retention;
        if keep == 0 {
            return Ok(0);
        }
        let chain = self.store.receipt_chain();
        let head = chain_state(&self.store)?.counter;
        let pruned = chain.checkpoint()?.map_or(0, |c| c.counter);
        let slack = (keep / 64).max(1);
        if head.saturating_sub(pruned) <= keep.saturating_add(slack) {
            return Ok(0);
        }
        let cut = head - keep;
        let last = chain
            .receipt(cut)?
            .ok_or(PermitError::Integrity("receipt log"))?;
        let checkpoint = Checkpoint {
            counter: cut,
            last_hash: sha256(&last),
            issued_at: now,
        };
        let anchor = issue_checkpoint(self.key.signer(), &checkpoint)?;
        Ok(chain.prune_through(cut, &anchor)?)
    }

    /// [`Self::receipts_from`] as a chain file: the receipts concatenated as a CBOR sequence
    /// (RFC 8742), which `warden_attest::split_chain` splits and `verify_chain` verifies.
    /// When `from` reaches into the pruned prefix, the file starts with the retention
    /// checkpoint instead, for `warden_attest::verify_anchored_chain`.
    ///
    /// # Errors
    ///
    /// [`PermitError::Store`].
    pub fn export_chain(&self, from: u64, limit: usize) -> Result<Vec<u8>, PermitError> {
        let receipts = self.receipts_from(from, limit)?;
        let mut out = Vec::with_capacity(receipts.iter().map(|(_, r)| r.len()).sum());
        if let Some((pruned, anchor)) = self.receipt_checkpoint()?
            && from <= pruned.saturating_add(1)
        {
            out.extend_from_slice(&anchor);
        }
        for (_, receipt) in receipts {
            out.extend_from_slice(&receipt);
        }
        Ok(out)
    }

    /// Forgets replay entries of permits that can no longer be accepted (expired, leeway
    /// included) at Unix time `now`; returns how many were removed.
    ///
    /// # Errors
    ///
    /// [`PermitError::Store`].
    pub fn prune_replay_ledger(&self, now: i64) -> Result<usize, PermitError> {
        let now = u64::try_from(now).unwrap_or(0);
        Ok(self.store.replay_table().prune_expired(now)?)
    }

    /// The automatic prune of `verify_permit` (called under its lock). Safe at any `now`:
    /// only entries of permits the verifier would reject as expired at `now` go. Best
    /// effort: a store failure here also fails the verification's own ledger write, which
    /// reports it.
    fn prune_if_due(&self, now: i64) {
        let interval = self.cfg.replay_prune_interval_secs;
        if interval == 0 || now < self.next_prune.load(Ordering::Relaxed) {
            return;
        }
        self.next_prune
            .store(now.saturating_add(interval), Ordering::Relaxed);
        let _ = self.prune_replay_ledger(now);
    }
}

/// Runs one policy cycle and records its hashes in the receipt body.
fn run_policy(
    sandbox: &mut Sandbox,
    policy: &BoundPolicy,
    claims: &PermitClaims,
    use_number: u32,
    payload: &[u8],
    body: &mut ReceiptBody,
) -> Verdict {
    body.policy_hash = Some(*policy.hash.as_bytes());
    let failed = |e: Option<SandboxError>| Verdict {
        result: Err(DenyReason::PolicyFailed),
        policy_error: e,
    };
    let Some(module) = &policy.module else {
        return failed(None);
    };
    let Ok(input) = policy_input(policy.profile, claims, use_number, payload) else {
        return failed(None);
    };
    body.input_hash = sha256(&input);
    match sandbox.run_cycle(module, &input) {
        Ok(outcome) => {
            if !outcome.telemetry.is_empty() {
                body.telemetry_hash = *outcome.telemetry_hash.as_bytes();
            }
            Verdict {
                result: if outcome.verdict == 1 {
                    Ok(())
                } else {
                    Err(DenyReason::PolicyDenied)
                },
                policy_error: None,
            }
        }
        Err(e) => failed(Some(e)),
    }
}

/// The stored chain head in attest's form.
fn chain_state(store: &SlotStore) -> Result<ChainState, PermitError> {
    let head = store.receipt_chain().state()?;
    let last_hash = if head.prev_hash.is_empty() && head.counter == 0 {
        [0; 32]
    } else {
        <[u8; 32]>::try_from(head.prev_hash.as_slice())
            .map_err(|_| PermitError::Integrity("receipt chain head"))?
    };
    Ok(ChainState {
        counter: head.counter,
        last_hash,
    })
}
