//! Action permits: issue and verify.

use std::collections::HashMap;

use ciborium::value::Value;
use coset::CborSerializable;
use coset::cwt::{ClaimName, ClaimsSet, Timestamp};

use crate::alg::{PublicKey, Signer};
use crate::cbor;
use crate::error::{AttestError, DenyReason};

/// Content type carried in a permit's protected header.
pub const PERMIT_CONTENT_TYPE: &str = "application/warden-permit+cwt";

const CLAIM_ACTION: &str = "warden.action";
const CLAIM_RESOURCE: &str = "warden.resource";
const CLAIM_MAX_USES: &str = "warden.max_uses";
const CLAIM_INTENT: &str = "warden.intent_sha256";

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    warden_provider_awslc::primitives::sha256(data)
}

/// The claims of an action permit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PermitClaims {
    /// Who issued the permit (looked up in the trust store).
    pub issuer: String,
    /// The agent the permit is for.
    pub subject: String,
    /// The daemon the permit is for.
    pub audience: String,
    /// Not valid before this time (Unix seconds).
    pub not_before: i64,
    /// Not valid at or after this time (Unix seconds).
    pub expires: i64,
    /// Unique id of this permit (the CWT `cti`); replay is tracked by it.
    pub permit_id: Vec<u8>,
    /// The action (tool id) the permit authorises.
    pub action: String,
    /// The resource the action may touch.
    pub resource: String,
    /// How many times the permit may be used; `None` means once.
    pub max_uses: Option<u32>,
    /// SHA-256 of the intent payload the permit authorises.
    pub intent_hash: [u8; 32],
}

impl PermitClaims {
    fn to_claims_set(&self) -> ClaimsSet {
        let mut rest = vec![
            (
                ClaimName::Text(CLAIM_ACTION.into()),
                Value::Text(self.action.clone()),
            ),
            (
                ClaimName::Text(CLAIM_RESOURCE.into()),
                Value::Text(self.resource.clone()),
            ),
            (
                ClaimName::Text(CLAIM_INTENT.into()),
                Value::Bytes(self.intent_hash.to_vec()),
            ),
        ];
        if let Some(n) = self.max_uses {
            rest.push((
                ClaimName::Text(CLAIM_MAX_USES.into()),
                cbor::uint(u64::from(n)),
            ));
        }
        ClaimsSet {
            issuer: Some(self.issuer.clone()),
            subject: Some(self.subject.clone()),
            audience: Some(self.audience.clone()),
            expiration_time: Some(Timestamp::WholeSeconds(self.expires)),
            not_before: Some(Timestamp::WholeSeconds(self.not_before)),
            issued_at: None,
            cwt_id: Some(self.permit_id.clone()),
            rest,
        }
    }

    fn from_claims_set(c: ClaimsSet) -> Option<PermitClaims> {
        let secs = |t: Option<Timestamp>| match t? {
            Timestamp::WholeSeconds(s) => Some(s),
            Timestamp::FractionalSeconds(_) => None,
        };
        let text = |name: &str| {
            c.rest.iter().find_map(|(k, v)| match (k, v) {
                (ClaimName::Text(k), Value::Text(v)) if k == name => Some(v.clone()),
                _ => None,
            })
        };
        let raw = |name: &str| {
            c.rest.iter().find_map(|(k, v)| match k {
                ClaimName::Text(k) if k == name => Some(v),
                _ => None,
            })
        };
        let max_uses = match raw(CLAIM_MAX_USES) {
            None => None,
            Some(v) => Some(u32::try_from(cbor::as_u64(v)?).ok().filter(|n| *n > 0)?),
        };
        let claims = PermitClaims {
            issuer: c.issuer.clone()?,
            subject: c.subject.clone()?,
            audience: c.audience.clone()?,
            not_before: secs(c.not_before.clone())?,
            expires: secs(c.expiration_time.clone())?,
            permit_id: c
                .cwt_id
                .clone()
                .filter(|id| !id.is_empty() && id.len() <= 64)?,
            action: text(CLAIM_ACTION)?,
            resource: text(CLAIM_RESOURCE)?,
            max_uses,
            intent_hash: cbor::as_hash(raw(CLAIM_INTENT)?)?,
        };
        Some(claims)
    }
}

/// Signs `claims` as a tagged COSE_Sign1 permit.
pub fn issue_permit(signer: &dyn Signer, claims: &PermitClaims) -> Result<Vec<u8>, AttestError> {
    if claims.permit_id.is_empty() || claims.permit_id.len() > 64 {
        return Err(AttestError::InvalidArgument(
            "permit id must be 1..=64 bytes",
        ));
    }
    if claims.max_uses == Some(0) {
        return Err(AttestError::InvalidArgument("max uses must be at least 1"));
    }
    let payload = claims
        .to_claims_set()
        .to_vec()
        .map_err(|_| AttestError::Encoding)?;
    cbor::sign1(signer, PERMIT_CONTENT_TYPE, payload)
}

/// What the agent asks to do, presented together with a permit.
#[derive(Clone, Copy, Debug)]
pub struct Intent<'a> {
    /// The action (tool id).
    pub action: &'a str,
    /// The resource.
    pub resource: &'a str,
    /// The intent payload (e.g. the tool call's arguments); the permit binds its SHA-256.
    pub payload: &'a [u8],
}

/// Trusted permit issuers: issuer name → public key.
pub trait TrustStore {
    /// The key trusted for `issuer`, if any.
    fn issuer_key(&self, issuer: &str) -> Option<&PublicKey>;
}

impl TrustStore for HashMap<String, PublicKey> {
    fn issuer_key(&self, issuer: &str) -> Option<&PublicKey> {
        self.get(issuer)
    }
}

/// Remembers how often each permit was used. Implementations must be atomic (check and
/// record in one step) and, in the daemon, durable across restarts.
pub trait ReplayLedger {
    /// Records one use of `permit_id` from `issuer` and returns how many uses there have been,
    /// including this one. Returns the previous count without recording when `limit` is reached.
    fn record_use(
        &mut self,
        issuer: &str,
        permit_id: &[u8],
        limit: u32,
    ) -> Result<UseCount, AttestError>;
}

/// The result of [`ReplayLedger::record_use`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UseCount {
    /// The use was recorded; this is its number (1 for the first use).
    Recorded(u32),
    /// The limit was already reached; nothing was recorded.
    LimitReached,
}

/// A ledger in memory, for tests and tools; the daemon persists its own.
#[derive(Debug, Default)]
pub struct MemoryReplayLedger {
    uses: HashMap<(String, Vec<u8>), u32>,
}

impl ReplayLedger for MemoryReplayLedger {
    fn record_use(
        &mut self,
        issuer: &str,
        permit_id: &[u8],
        limit: u32,
    ) -> Result<UseCount, AttestError> {
        let n = self
            .uses
            .entry((issuer.to_owned(), permit_id.to_vec()))
            .or_insert(0);
        if *n >= limit {
            return Ok(UseCount::LimitReached);
        }
        *n += 1;
        Ok(UseCount::Recorded(*n))
    }
}

/// Where and when a permit is being verified.
#[derive(Clone, Copy, Debug)]
pub struct VerifyContext<'a> {
    /// This daemon's audience name.
    pub audience: &'a str,
    /// The current time, Unix seconds.
    pub now: i64,
    /// Clock skew tolerated on both ends of the validity window, seconds.
    pub leeway: i64,
}

/// A permit that passed every check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedPermit {
    /// Its claims.
    pub claims: PermitClaims,
    /// Which use of the permit this was (1 for the first).
    pub use_number: u32,
}

/// The outcome of [`verify_permit`]: the claims when they could be read (also for most
/// denials, so that receipts can name the permit) and the verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PermitCheck {
    /// The claims, once the signature verified (never for untrusted or forged permits).
    pub claims: Option<PermitClaims>,
    /// Allowed, or the first check that failed.
    pub verdict: Result<u32, DenyReason>,
}

/// Verifies `permit` for `intent`, in this order, each with its own [`DenyReason`]:
/// well-formedness, trusted issuer, signature, audience, validity window, intent hash, action,
/// resource, replay / max uses. A use is recorded in `ledger` only when every earlier check
/// passed. Errors from the ledger itself are returned as `Err`.
pub fn verify_permit(
    permit: &[u8],
    intent: &Intent<'_>,
    trust: &dyn TrustStore,
    ctx: &VerifyContext<'_>,
    ledger: &mut dyn ReplayLedger,
) -> Result<PermitCheck, AttestError> {
    let deny = |claims: Option<PermitClaims>, why| {
        Ok(PermitCheck {
            claims,
            verdict: Err(why),
        })
    };
    let Some(sign1) = cbor::parse_sign1(permit) else {
        return deny(None, DenyReason::Malformed);
    };
    if cbor::sign1_content_type(&sign1) != Some(PERMIT_CONTENT_TYPE) {
        return deny(None, DenyReason::Malformed);
    }
    let Some(payload) = sign1.payload.as_deref() else {
        return deny(None, DenyReason::Malformed);
    };
    // The claims are read before the signature is checked only to find the issuer's key;
    // nothing else is acted on until the signature verifies.
    let Some(claims) = ClaimsSet::from_slice(payload)
        .ok()
        .and_then(PermitClaims::from_claims_set)
    else {
        return deny(None, DenyReason::Malformed);
    };
    let Some(key) = trust.issuer_key(&claims.issuer) else {
        return deny(None, DenyReason::UntrustedIssuer);
    };
    if cbor::sign1_alg(&sign1) != Some(key.alg()) {
        return deny(None, DenyReason::UntrustedIssuer);
    }
    if sign1
        .verify_signature(&[], |sig, tbs| {
            if key.verify(tbs, sig) {
                Ok(())
            } else {
                Err(())
            }
        })
        .is_err()
    {
        return deny(None, DenyReason::BadSignature);
    }
    if let Err(why) = check_claims(&claims, intent, ctx) {
        return deny(Some(claims), why);
    }
    let limit = claims.max_uses.unwrap_or(1);
    let verdict = match ledger.record_use(&claims.issuer, &claims.permit_id, limit)? {
        UseCount::Recorded(n) => Ok(n),
        UseCount::LimitReached if claims.max_uses.is_none() => Err(DenyReason::Replayed),
        UseCount::LimitReached => Err(DenyReason::MaxUsesExceeded),
    };
    Ok(PermitCheck {
        claims: Some(claims),
        verdict,
    })
}

/// The checks after the signature, in order: audience, window, intent, action, resource.
fn check_claims(
    c: &PermitClaims,
    intent: &Intent<'_>,
    ctx: &VerifyContext<'_>,
) -> Result<(), DenyReason> {
    if c.audience != ctx.audience {
        return Err(DenyReason::WrongAudience);
    }
    if ctx.now.saturating_add(ctx.leeway) < c.not_before {
        return Err(DenyReason::NotYetValid);
    }
    if ctx.now.saturating_sub(ctx.leeway) >= c.expires {
        return Err(DenyReason::Expired);
    }
    if sha256(intent.payload) != c.intent_hash {
        return Err(DenyReason::IntentMismatch);
    }
    if intent.action != c.action {
        return Err(DenyReason::ActionMismatch);
    }
    if intent.resource != c.resource {
        return Err(DenyReason::ResourceMismatch);
    }
    Ok(())
}

impl PermitCheck {
    /// The verified permit, when allowed.
    pub fn allowed(&self) -> Option<VerifiedPermit> {
        match (&self.claims, self.verdict) {
            (Some(c), Ok(n)) => Some(VerifiedPermit {
                claims: c.clone(),
                use_number: n,
            }),
            _ => None,
        }
    }
}
