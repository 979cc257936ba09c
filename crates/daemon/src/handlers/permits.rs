//! Action permits (issue 6): policies, trust store, permit verification with signed
//! receipts, and the attestation public key — all served by `warden_permits::PermitService`.
//!
//! Loading/unloading policies and editing the trust store are admin operations (uids in
//! `access.admin_uids`); listing and verifying are open to every connected peer. Admin
//! actions and denied decisions are audited. Listings are paged (name order, a cursor and
//! a page bounded by the frame size in bytes), so no number or length of names can push a
//! reply past the frame limit.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use warden_core::{Error, ErrorCode};
use warden_permits::{PermitError, Profile, PublicKey, SigAlg};
use warden_wire::Response;

use super::persistent;
use crate::rate::Verdict;
use crate::request::{ConnState, Ctx};
use crate::state::Persistent;

/// Runs an admin action: refused with `AccessDenied` for non-admins; audited either way.
fn as_admin(
    state: &ConnState,
    p: &Persistent,
    operation: &'static str,
    action: impl FnOnce() -> Result<(), Error>,
) -> Result<(), Error> {
    let result = if p.caller(&state.peer).is_admin {
        action()
    } else {
        Err(Error::new(
            ErrorCode::AccessDenied,
            "policies and the trust store are managed by admins",
        ))
    };
    p.audit(
        &state.peer,
        operation,
        None,
        None,
        result.as_ref().map(|_| ()).map_err(Error::code),
    );
    result
}

fn profile(name: &str) -> Result<Profile, Error> {
    if name.eq_ignore_ascii_case("warden") {
        Ok(Profile::Warden)
    } else if name.eq_ignore_ascii_case("aether") {
        Ok(Profile::Aether)
    } else {
        Err(Error::invalid_argument("profile must be warden or aether"))
    }
}

pub(super) fn profile_name(p: Profile) -> &'static str {
    match p {
        Profile::Warden => "warden",
        Profile::Aether => "aether",
    }
}

pub(crate) fn policy_load(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    action: &str,
    profile_name: &str,
    module: &[u8],
) -> Result<(), Error> {
    let p = persistent(ctx)?;
    let mut hash = [0u8; 32];
    as_admin(state, p, "policy.load", || {
        hash = p
            .permits
            .policy_load(action, profile(profile_name)?, module)?
            .0;
        Ok(())
    })?;
    state.out.reply(&Response::KeyBytes { data: &hash })
}

pub(crate) fn policy_unload(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    action: &str,
) -> Result<(), Error> {
    let p = persistent(ctx)?;
    as_admin(state, p, "policy.unload", || {
        Ok(p.permits.policy_unload(action)?)
    })?;
    state.out.reply(&Response::Done)
}

pub(crate) fn trust_add(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    issuer: &str,
    algorithm: &str,
    public_key: &[u8],
) -> Result<(), Error> {
    let p = persistent(ctx)?;
    as_admin(state, p, "trust.add", || {
        let alg = SigAlg::from_name(algorithm).ok_or(Error::new(
            ErrorCode::UnsupportedAlgorithm,
            "issuer keys are ED25519, ECDSA-P256-SHA256 or ML-DSA-65",
        ))?;
        let key = PublicKey::new(alg, public_key)
            .map_err(|_| Error::invalid_argument("malformed issuer public key"))?;
        p.permits.trust_add(issuer, key)?;
        Ok(())
    })?;
    state.out.reply(&Response::Done)
}

pub(crate) fn trust_remove(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    issuer: &str,
) -> Result<(), Error> {
    let p = persistent(ctx)?;
    as_admin(state, p, "trust.remove", || {
        Ok(p.permits.trust_remove(issuer)?)
    })?;
    state.out.reply(&Response::Done)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Verifies a permit; a denial of an authenticated permit is a normal reply carrying its
/// reason and signed receipt. Unauthenticated input is an error reply without a receipt.
pub(crate) fn verify(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    permit: &[u8],
    action: &str,
    resource: &str,
    intent: &[u8],
) -> Result<(), Error> {
    let p = persistent(ctx)?;
    // Before anything is chained or audited: one uid cannot flood the shared receipt chain.
    if let Verdict::Refused { first } = p.verify_rate.take(state.peer.uid, Instant::now()) {
        if first {
            p.audit(
                &state.peer,
                "permit.verify",
                None,
                None,
                Err(ErrorCode::QuotaExceeded),
            );
        }
        return Err(Error::new(
            ErrorCode::QuotaExceeded,
            "permit verifications over this uid's rate",
        ));
    }
    let decision = match p
        .permits
        .verify_permit(permit, action, resource, intent, unix_now())
    {
        Ok(d) => d,
        Err(PermitError::Unauthenticated(why)) => {
            // Not a permit from a trusted issuer: audited (a fixed-size line naming the
            // reason, none of the caller's bytes), never chained, refused with a typed error.
            let e = Error::from(PermitError::Unauthenticated(why));
            p.audit_permit(&state.peer, Err(e.code()), Some(why.name()), None);
            return Err(e);
        }
        Err(e) => {
            // No receipt could be issued: the caller must treat this as a denial.
            let e = Error::from(e);
            p.audit(&state.peer, "permit.verify", None, None, Err(e.code()));
            return Err(e);
        }
    };
    if !decision.allowed || p.audit.logs_uses() {
        let result = if decision.allowed {
            Ok(())
        } else {
            Err(ErrorCode::AccessDenied)
        };
        let detail = decision.reason.map(|r| r.name());
        let policy_error = decision.policy_error.as_ref().map(|e| e.kind());
        p.audit_permit(&state.peer, result, detail, policy_error);
    }
    state.out.reply(&Response::PermitDecision {
        allowed: decision.allowed,
        reason: decision.reason.map_or(0, |r| r.as_u32()),
        counter: decision.counter,
        receipt: &decision.receipt,
    })
}

/// Bytes of an export page kept free for the frame header and FlatBuffers envelope.
const EXPORT_SLACK: usize = 1024;
/// Receipts read from the store per page before the size cut (receipts are 0.2–5 KiB).
const EXPORT_BATCH: usize = 256;

/// One page of the receipt chain from counter `from` (admins: the chain records every
/// agent's decisions), or from the first retained receipt when `from` was pruned. As many whole receipts as fit in a frame (and in `max_bytes` when
/// non-zero, but always at least one, so paging cannot stall); `head` tells the client
/// where the chain ends.
pub(crate) fn receipt_export(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    from: u64,
    max_bytes: u32,
) -> Result<(), Error> {
    let p = persistent(ctx)?;
    let mut page = (Vec::new(), 0u32, 0u64, 0u64, Vec::new());
    as_admin(state, p, "receipt.export", || {
        let head = p.permits.chain_head()?.counter;
        // Counters at or below the retention checkpoint are gone: the page starts after it
        // and carries the signed checkpoint, the anchor the retained chain verifies from.
        let (pruned, checkpoint) = match p.permits.receipt_checkpoint()? {
            Some((pruned, anchor)) if from <= pruned.saturating_add(1) => (pruned, anchor),
            Some((pruned, _)) => (pruned, Vec::new()),
            None => (0, Vec::new()),
        };
        let frame = usize::try_from(ctx.shared.config.limits.max_frame_size)
            .unwrap_or(usize::MAX)
            .saturating_sub(EXPORT_SLACK)
            .saturating_sub(checkpoint.len());
        let budget = match max_bytes {
            0 => frame,
            n => frame.min(n as usize),
        };
        let mut out = Vec::new();
        let mut count = 0u32;
        let start = from.max(pruned.saturating_add(1)).max(1);
        for (_, receipt) in p.permits.receipts_from(start, EXPORT_BATCH)? {
            let first = count == 0 && receipt.len() <= frame;
            if !first && out.len() + receipt.len() > budget {
                break;
            }
            out.extend_from_slice(&receipt);
            count += 1;
        }
        page = (out, count, head, pruned, checkpoint);
        Ok(())
    })?;
    let (receipts, count, head, pruned, checkpoint) = page;
    state.out.reply(&Response::ReceiptExport {
        receipts: &receipts,
        count,
        head,
        pruned,
        checkpoint: &checkpoint,
    })
}

pub(crate) fn attest_public_key(state: &mut ConnState, ctx: &Ctx<'_, '_>) -> Result<(), Error> {
    let p = persistent(ctx)?;
    let key = p.permits.attestation_public_key();
    state.out.reply(&Response::AttestPublicKey {
        algorithm: key.alg().name(),
        public_key: key.as_bytes(),
    })
}
