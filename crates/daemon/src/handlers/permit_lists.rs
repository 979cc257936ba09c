//! `TrustList` and `PolicyList`: paged like `SlotList`. Entries come in name order after the
//! client's cursor (`start_after`), as many as fit in one frame by encoded size (and at most
//! `limit` when non-zero), with `more` telling the client to ask again from the last name.
//! Bounding pages by bytes, not only by count, is what keeps a long trust store or long
//! issuer names (up to 256 bytes each, keys up to ML-DSA's 1952) from making the listing
//! fail for everyone.

use warden_core::Error;
use warden_wire::Response;
use warden_wire::admin::{PolicyEntries, PolicyEntry, TrustEntries, TrustEntry};

use super::permits::profile_name;
use super::persistent;
use crate::request::{ConnState, Ctx};

/// Bytes of a listing page kept free for the frame header and FlatBuffers envelope.
const PAGE_SLACK: usize = 1024;
/// Per-entry FlatBuffers overhead, rounded up generously (table, vtable, offsets, string
/// terminators and padding).
const ENTRY_OVERHEAD: usize = 96;

/// How many entries of the given encoded sizes (in order) fit in one page.
fn page_len(costs: impl Iterator<Item = usize>, limit: u32, budget: usize) -> usize {
    let cap = if limit == 0 {
        usize::MAX
    } else {
        limit as usize
    };
    let mut used = 0usize;
    let mut fit = 0usize;
    for cost in costs {
        if fit == cap || used.saturating_add(cost) > budget {
            break;
        }
        used += cost;
        fit += 1;
    }
    fit
}

fn budget(ctx: &Ctx<'_, '_>) -> usize {
    usize::try_from(ctx.shared.config.limits.max_frame_size)
        .unwrap_or(usize::MAX)
        .saturating_sub(PAGE_SLACK)
}

pub(crate) fn policy_list(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    start_after: &str,
    limit: u32,
) -> Result<(), Error> {
    let p = persistent(ctx)?;
    // Sorted by action already; the cursor is the last action the client saw.
    let mut infos = p.permits.policy_list()?;
    infos.retain(|i| start_after.is_empty() || i.action.as_str() > start_after);
    let cost = |i: &warden_permits::PolicyInfo| {
        ENTRY_OVERHEAD + i.action.len() + profile_name(i.profile).len() + i.hash.0.len()
    };
    let fit = page_len(infos.iter().map(cost), limit, budget(ctx));
    let more = fit < infos.len();
    infos.truncate(fit);
    let entries: Vec<PolicyEntry<'_>> = infos
        .iter()
        .map(|i| PolicyEntry {
            action: &i.action,
            profile: profile_name(i.profile),
            sha256: &i.hash.0,
            size: i.len as u64,
        })
        .collect();
    state.out.reply(&Response::PolicyList {
        policies: PolicyEntries::from_slice(&entries),
        more,
    })
}

pub(crate) fn trust_list(
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
    start_after: &str,
    limit: u32,
) -> Result<(), Error> {
    let p = persistent(ctx)?;
    // Sorted by issuer already; the cursor is the last issuer the client saw.
    let mut issuers = p.permits.trust_list()?;
    issuers.retain(|(issuer, _)| start_after.is_empty() || issuer.as_str() > start_after);
    let cost = |(issuer, key): &(String, warden_permits::PublicKey)| {
        ENTRY_OVERHEAD + issuer.len() + key.alg().name().len() + key.as_bytes().len()
    };
    let fit = page_len(issuers.iter().map(cost), limit, budget(ctx));
    let more = fit < issuers.len();
    issuers.truncate(fit);
    let entries: Vec<TrustEntry<'_>> = issuers
        .iter()
        .map(|(issuer, key)| TrustEntry {
            issuer,
            algorithm: key.alg().name(),
            public_key: key.as_bytes(),
        })
        .collect();
    state.out.reply(&Response::TrustList {
        issuers: TrustEntries::from_slice(&entries),
        more,
    })
}

#[cfg(test)]
mod tests {
    use super::page_len;

    #[test]
    fn pages_are_bounded_by_bytes_and_by_limit() {
        let costs = [400usize; 10];
        assert_eq!(page_len(costs.iter().copied(), 0, 1000), 2);
        assert_eq!(page_len(costs.iter().copied(), 1, 1000), 1);
        assert_eq!(page_len(costs.iter().copied(), 0, 4000), 10);
        assert_eq!(page_len(costs.iter().copied(), 0, 399), 0);
        assert_eq!(page_len(core::iter::empty(), 0, 1000), 0);
    }
}
