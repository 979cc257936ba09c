//! attest's [`ReplayLedger`] backed by the store's persisted [`ReplayTable`].

use coset::cwt::{ClaimsSet, Timestamp};
use coset::{CborSerializable, CoseSign1, TaggedCborSerializable};
use warden_attest::{AttestError, ReplayLedger, UseCount};
use warden_store::{ReplayTable, StoreError};

/// Records permit uses durably (each `consume` is fsynced before it returns), keyed by
/// (issuer, permit id), so two issuers' ids never collide.
pub(crate) struct StoreLedger<'s> {
    table: ReplayTable<'s>,
    /// When the entry may be pruned: the permit's expiry plus the leeway, after which the
    /// verifier rejects the permit as expired before it consults the ledger.
    prune_after: u64,
    /// The store error behind an `AttestError::Ledger`, kept to report it precisely.
    pub(crate) error: Option<StoreError>,
}

impl<'s> StoreLedger<'s> {
    pub(crate) fn new(table: ReplayTable<'s>, permit: &[u8], leeway: i64) -> Self {
        let prune_after = peek_expiry(permit).map_or(u64::MAX, |exp| {
            u64::try_from(exp.saturating_add(leeway)).unwrap_or(0)
        });
        Self {
            table,
            prune_after,
            error: None,
        }
    }
}

/// The `exp` claim of a permit, read without verification. Only used for the prune time of
/// a ledger entry, and the ledger is only consulted after `verify_permit` has verified the
/// signature over these same bytes, so the value used is authentic.
fn peek_expiry(permit: &[u8]) -> Option<i64> {
    let sign1 = CoseSign1::from_tagged_slice(permit)
        .or_else(|_| CoseSign1::from_slice(permit))
        .ok()?;
    let claims = ClaimsSet::from_slice(sign1.payload.as_deref()?).ok()?;
    match claims.expiration_time? {
        Timestamp::WholeSeconds(s) => Some(s),
        Timestamp::FractionalSeconds(_) => None,
    }
}

impl ReplayLedger for StoreLedger<'_> {
    fn record_use(
        &mut self,
        issuer: &str,
        permit_id: &[u8],
        limit: u32,
    ) -> Result<UseCount, AttestError> {
        match self
            .table
            .consume(issuer, permit_id, u64::from(limit), self.prune_after)
        {
            Ok(used) => Ok(UseCount::Recorded(
                u32::try_from(used.uses).unwrap_or(u32::MAX),
            )),
            Err(StoreError::PermitReplayed) => Ok(UseCount::LimitReached),
            Err(e) => {
                self.error = Some(e);
                Err(AttestError::Ledger("replay table failed"))
            }
        }
    }
}
