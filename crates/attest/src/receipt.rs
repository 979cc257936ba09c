//! Decision receipts: a tamper-evident chain of COSE_Sign1 statements by the daemon.

use ciborium::value::Value;

use crate::alg::{PublicKey, Signer};
use crate::cbor;
use crate::error::AttestError;
use crate::permit::sha256;

/// Content type carried in a receipt's protected header.
pub const RECEIPT_CONTENT_TYPE: &str = "application/warden-receipt+cbor";

// Integer keys of the receipt claims map. Stable: never renumber, only append.
const K_DECISION: i64 = 1;
const K_REASON: i64 = 2;
const K_PERMIT_ID: i64 = 3;
const K_INTENT: i64 = 4;
const K_POLICY: i64 = 5;
const K_INPUT: i64 = 6;
const K_TELEMETRY: i64 = 7;
const K_COUNTER: i64 = 8;
const K_PREV: i64 = 9;
const K_TIME: i64 = 10;

/// Allow or deny.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The action was allowed.
    Allow,
    /// The action was denied; the receipt's reason says why.
    Deny,
}

/// What a receipt states. `counter` and `prev_hash` are filled in by [`issue_receipt`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptBody {
    /// The decision.
    pub decision: Decision,
    /// 0 when allowed, else a [`crate::DenyReason`] value.
    pub reason: u32,
    /// The permit's unique id (empty when the permit could not be read).
    pub permit_id: Vec<u8>,
    /// SHA-256 of the intent payload.
    pub intent_hash: [u8; 32],
    /// SHA-256 of the policy module that ran, if one did.
    pub policy_hash: Option<[u8; 32]>,
    /// SHA-256 of the input the policy saw (all zeros when no policy ran).
    pub input_hash: [u8; 32],
    /// SHA-256 of the telemetry the policy committed (all zeros when none).
    pub telemetry_hash: [u8; 32],
    /// Position in the chain: 1 for the first receipt a daemon ever issued.
    pub counter: u64,
    /// SHA-256 of the previous receipt's bytes (all zeros for the first).
    pub prev_hash: [u8; 32],
    /// Unix seconds when the decision was made.
    pub issued_at: i64,
}

impl ReceiptBody {
    fn to_value(&self) -> Value {
        let bytes = |b: &[u8]| Value::Bytes(b.to_vec());
        Value::Map(vec![
            (
                cbor::int(K_DECISION),
                Value::Bool(self.decision == Decision::Allow),
            ),
            (cbor::int(K_REASON), cbor::uint(u64::from(self.reason))),
            (cbor::int(K_PERMIT_ID), bytes(&self.permit_id)),
            (cbor::int(K_INTENT), bytes(&self.intent_hash)),
            (
                cbor::int(K_POLICY),
                self.policy_hash.map_or(Value::Null, |h| bytes(&h)),
            ),
            (cbor::int(K_INPUT), bytes(&self.input_hash)),
            (cbor::int(K_TELEMETRY), bytes(&self.telemetry_hash)),
            (cbor::int(K_COUNTER), cbor::uint(self.counter)),
            (cbor::int(K_PREV), bytes(&self.prev_hash)),
            (cbor::int(K_TIME), cbor::int(self.issued_at)),
        ])
    }

    fn from_value(v: &Value) -> Option<ReceiptBody> {
        let Value::Map(m) = v else { return None };
        let get = |k| cbor::map_get(m, k);
        let decision = match get(K_DECISION)? {
            Value::Bool(true) => Decision::Allow,
            Value::Bool(false) => Decision::Deny,
            _ => return None,
        };
        let policy_hash = match get(K_POLICY)? {
            Value::Null => None,
            other => Some(cbor::as_hash(other)?),
        };
        let permit_id = match get(K_PERMIT_ID)? {
            Value::Bytes(b) => b.clone(),
            _ => return None,
        };
        Some(ReceiptBody {
            decision,
            reason: u32::try_from(cbor::as_u64(get(K_REASON)?)?).ok()?,
            permit_id,
            intent_hash: cbor::as_hash(get(K_INTENT)?)?,
            policy_hash,
            input_hash: cbor::as_hash(get(K_INPUT)?)?,
            telemetry_hash: cbor::as_hash(get(K_TELEMETRY)?)?,
            counter: cbor::as_u64(get(K_COUNTER)?)?,
            prev_hash: cbor::as_hash(get(K_PREV)?)?,
            issued_at: cbor::as_i64(get(K_TIME)?)?,
        })
    }
}

/// The chain position of the last receipt issued. The daemon persists it, atomically with
/// handing out the receipt, so the counter stays monotonic across restarts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChainState {
    /// Counter of the last receipt issued (0 before the first).
    pub counter: u64,
    /// SHA-256 of the last receipt issued (zeros before the first).
    pub last_hash: [u8; 32],
}

/// Signs `body` as the next receipt of the chain in `state`: sets its counter and previous
/// hash, signs, and advances `state`. On error `state` is unchanged.
pub fn issue_receipt(
    signer: &dyn Signer,
    body: &mut ReceiptBody,
    state: &mut ChainState,
) -> Result<Vec<u8>, AttestError> {
    body.counter = state
        .counter
        .checked_add(1)
        .ok_or(AttestError::InvalidArgument("receipt counter exhausted"))?;
    body.prev_hash = state.last_hash;
    let payload = cbor::to_vec(&body.to_value())?;
    let receipt = cbor::sign1(signer, RECEIPT_CONTENT_TYPE, payload)?;
    state.counter = body.counter;
    state.last_hash = sha256(&receipt);
    Ok(receipt)
}

/// The payload of a COSE_Sign1 of `content_type` whose signature verifies under `key`
/// (receipts and retention checkpoints are both such messages). A wrong content type or
/// algorithm, or no payload, is `MalformedReceipt`; a bad signature `BadReceiptSignature`.
pub(crate) fn verified_payload(
    bytes: &[u8],
    content_type: &str,
    key: &PublicKey,
) -> Result<Vec<u8>, AttestError> {
    let sign1 = cbor::parse_sign1(bytes).ok_or(AttestError::MalformedReceipt)?;
    if cbor::sign1_content_type(&sign1) != Some(content_type)
        || cbor::sign1_alg(&sign1) != Some(key.alg())
    {
        return Err(AttestError::MalformedReceipt);
    }
    sign1
        .verify_signature(&[], |sig, tbs| {
            if key.verify(tbs, sig) {
                Ok(())
            } else {
                Err(())
            }
        })
        .map_err(|()| AttestError::BadReceiptSignature)?;
    sign1.payload.ok_or(AttestError::MalformedReceipt)
}

/// Verifies one receipt's signature under `key` and returns what it states.
pub fn verify_receipt(receipt: &[u8], key: &PublicKey) -> Result<ReceiptBody, AttestError> {
    let payload = verified_payload(receipt, RECEIPT_CONTENT_TYPE, key)?;
    let value = cbor::from_slice(&payload).ok_or(AttestError::MalformedReceipt)?;
    ReceiptBody::from_value(&value).ok_or(AttestError::MalformedReceipt)
}

/// Verifies a run of consecutive receipts: each signature, counters increasing by exactly one,
/// and each receipt naming the hash of the one before. A chain starting at counter 1 must name
/// the all-zero hash. Returns the bodies. A receipt altered, removed or reordered anywhere but
/// at the very end breaks the chain; truncation at the end is only visible against a counter
/// known from elsewhere (e.g. the daemon's status).
pub fn verify_chain(receipts: &[&[u8]], key: &PublicKey) -> Result<Vec<ReceiptBody>, AttestError> {
    let mut bodies: Vec<ReceiptBody> = Vec::with_capacity(receipts.len());
    let mut prev: Option<(u64, [u8; 32])> = None;
    for (index, receipt) in receipts.iter().enumerate() {
        let body = verify_receipt(receipt, key).map_err(|e| AttestError::ChainBroken {
            index,
            why: match e {
                AttestError::BadReceiptSignature => "signature does not verify",
                _ => "malformed receipt",
            },
        })?;
        match prev {
            None if body.counter == 1 && body.prev_hash != [0u8; 32] => {
                return Err(AttestError::ChainBroken {
                    index,
                    why: "first receipt names a previous receipt",
                });
            }
            None => {}
            Some((counter, hash)) => {
                if Some(body.counter) != counter.checked_add(1) {
                    return Err(AttestError::ChainBroken {
                        index,
                        why: "counter does not follow the previous receipt",
                    });
                }
                if body.prev_hash != hash {
                    return Err(AttestError::ChainBroken {
                        index,
                        why: "previous-receipt hash does not match",
                    });
                }
            }
        }
        prev = Some((body.counter, sha256(receipt)));
        bodies.push(body);
    }
    Ok(bodies)
}

/// Verifies a *whole* chain: [`verify_chain`], plus the first receipt must be the daemon's
/// first (counter 1), so removing receipts at the start is detected, and, when `head` (the
/// counter of the daemon's latest receipt, e.g. from its last permit decision) is given, the
/// last receipt must carry it, so truncation at the end is detected too.
pub fn verify_complete_chain(
    receipts: &[&[u8]],
    key: &PublicKey,
    head: Option<u64>,
) -> Result<Vec<ReceiptBody>, AttestError> {
    let bodies = verify_chain(receipts, key)?;
    if bodies.first().map(|b| b.counter) != Some(1) {
        return Err(AttestError::ChainBroken {
            index: 0,
            why: "chain does not start at the first receipt (counter 1)",
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

/// Splits a chain file (a CBOR sequence, RFC 8742, of COSE_Sign1 receipts) into the bytes of
/// each receipt, exactly as stored, so that their hashes can be checked.
pub fn split_chain(file: &[u8]) -> Result<Vec<&[u8]>, AttestError> {
    let mut out = Vec::new();
    let mut rest = file;
    while !rest.is_empty() {
        let before = rest.len();
        let mut cursor = rest;
        let _: Value =
            ciborium::de::from_reader(&mut cursor).map_err(|_| AttestError::MalformedReceipt)?;
        let used = before - cursor.len();
        let (item, tail) = rest.split_at(used);
        out.push(item);
        rest = tail;
    }
    Ok(out)
}
