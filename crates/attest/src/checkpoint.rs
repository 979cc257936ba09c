//! Retention checkpoints: the daemon's signed statement that it pruned its stored receipt
//! log up to a counter, naming the hash of the last receipt it pruned.
//!
//! A daemon that keeps only its newest receipts cannot hand out a chain starting at
//! counter 1 any more. The checkpoint replaces the pruned prefix: it is a COSE_Sign1 by the
//! same attestation key (with its own content type, so it is never mistaken for a receipt)
//! over `{1: counter, 2: last_hash, 3: issued_at}`. A verifier checks the checkpoint's
//! signature, then that the first retained receipt carries `counter + 1` and names
//! `last_hash` as its previous receipt ([`verify_chain_after`]). Removing retained receipts
//! at the start, or presenting a forged or older checkpoint, breaks that link; the pruned
//! receipts themselves are only as safe as the copies exported before they were pruned.

use ciborium::value::Value;

use crate::alg::{PublicKey, Signer};
use crate::cbor;
use crate::error::AttestError;
use crate::receipt::{ReceiptBody, verified_payload, verify_chain, verify_complete_chain};

/// Content type carried in a checkpoint's protected header.
pub const CHECKPOINT_CONTENT_TYPE: &str = "application/warden-checkpoint+cbor";

// Integer keys of the checkpoint map. Stable: never renumber, only append.
const K_COUNTER: i64 = 1;
const K_LAST: i64 = 2;
const K_TIME: i64 = 3;

/// What a checkpoint states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Counter of the last pruned receipt: the retained chain starts at `counter + 1`.
    pub counter: u64,
    /// SHA-256 of the last pruned receipt's bytes.
    pub last_hash: [u8; 32],
    /// Unix seconds when the daemon pruned.
    pub issued_at: i64,
}

/// Signs `checkpoint` with the attestation key.
pub fn issue_checkpoint(
    signer: &dyn Signer,
    checkpoint: &Checkpoint,
) -> Result<Vec<u8>, AttestError> {
    let body = Value::Map(vec![
        (cbor::int(K_COUNTER), cbor::uint(checkpoint.counter)),
        (
            cbor::int(K_LAST),
            Value::Bytes(checkpoint.last_hash.to_vec()),
        ),
        (cbor::int(K_TIME), cbor::int(checkpoint.issued_at)),
    ]);
    cbor::sign1(signer, CHECKPOINT_CONTENT_TYPE, cbor::to_vec(&body)?)
}

/// Whether `bytes` claim to be a checkpoint (content type only; nothing is verified).
pub fn is_checkpoint(bytes: &[u8]) -> bool {
    cbor::parse_sign1(bytes)
        .is_some_and(|s| cbor::sign1_content_type(&s) == Some(CHECKPOINT_CONTENT_TYPE))
}

/// Verifies a checkpoint's signature under `key` and returns what it states.
pub fn verify_checkpoint(bytes: &[u8], key: &PublicKey) -> Result<Checkpoint, AttestError> {
    let payload = verified_payload(bytes, CHECKPOINT_CONTENT_TYPE, key)?;
    let Some(Value::Map(m)) = cbor::from_slice(&payload) else {
        return Err(AttestError::MalformedReceipt);
    };
    let get = |k| cbor::map_get(&m, k).ok_or(AttestError::MalformedReceipt);
    Ok(Checkpoint {
        counter: cbor::as_u64(get(K_COUNTER)?).ok_or(AttestError::MalformedReceipt)?,
        last_hash: cbor::as_hash(get(K_LAST)?).ok_or(AttestError::MalformedReceipt)?,
        issued_at: cbor::as_i64(get(K_TIME)?).ok_or(AttestError::MalformedReceipt)?,
    })
}

/// [`verify_chain`] for the receipts retained after `checkpoint` (already verified with
/// [`verify_checkpoint`]): the first must carry `checkpoint.counter + 1` and name
/// `checkpoint.last_hash`, and, when `head` is given, the last must carry `head`.
pub fn verify_chain_after(
    checkpoint: &Checkpoint,
    receipts: &[&[u8]],
    key: &PublicKey,
    head: Option<u64>,
) -> Result<Vec<ReceiptBody>, AttestError> {
    let bodies = verify_chain(receipts, key)?;
    let linked = bodies.first().is_some_and(|b| {
        Some(b.counter) == checkpoint.counter.checked_add(1) && b.prev_hash == checkpoint.last_hash
    });
    if !linked {
        return Err(AttestError::ChainBroken {
            index: 0,
            why: "first receipt does not follow the retention checkpoint",
        });
    }
    if let Some(head) = head
        && bodies.last().map(|b| b.counter) != Some(head)
    {
        return Err(AttestError::ChainBroken {
            index: bodies.len().saturating_sub(1),
            why: "chain does not end at the expected head counter",
        });
    }
    Ok(bodies)
}

/// Verifies a chain file's items (from [`crate::split_chain`]) as the daemon's whole
/// retained chain: either it starts with a checkpoint, which must verify and anchor the
/// receipts after it ([`verify_chain_after`]), or it must start at counter 1
/// ([`verify_complete_chain`]). Returns the checkpoint, if any, and the receipt bodies.
/// A `ChainBroken` index counts receipts after the checkpoint.
pub fn verify_anchored_chain(
    items: &[&[u8]],
    key: &PublicKey,
    head: Option<u64>,
) -> Result<(Option<Checkpoint>, Vec<ReceiptBody>), AttestError> {
    match items.split_first() {
        Some((first, rest)) if is_checkpoint(first) => {
            let checkpoint =
                verify_checkpoint(first, key).map_err(|_| AttestError::ChainBroken {
                    index: 0,
                    why: "retention checkpoint does not verify",
                })?;
            let bodies = verify_chain_after(&checkpoint, rest, key, head)?;
            Ok((Some(checkpoint), bodies))
        }
        _ => Ok((None, verify_complete_chain(items, key, head)?)),
    }
}
