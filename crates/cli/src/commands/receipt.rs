//! `warden receipt verify`: offline verification of one receipt or a chain file;
//! `warden receipt export`: the daemon's chain as such a file.

use std::path::Path;

use serde_json::json;
use warden_attest::{
    Decision, DenyReason, PublicKey, SigAlg, is_checkpoint, split_chain, verify_anchored_chain,
    verify_chain,
};

use crate::failure::Failure;
use crate::io::{read_file, write_private};
use crate::report::Report;

/// Largest chain file read into memory.
const MAX_CHAIN_FILE: usize = 64 * 1024 * 1024;

/// How much of the chain the file must hold.
#[derive(Debug, Clone, Copy, Default)]
pub struct Anchor {
    /// The first receipt must be the daemon's first (counter 1), or follow the daemon's
    /// signed retention checkpoint at the start of the file.
    pub from_genesis: bool,
    /// The last receipt must carry this counter.
    pub head: Option<u64>,
}

/// Verifies the receipts in `input` against the raw public key in `key`.
pub fn verify(input: &Path, key: &Path, alg: &str, anchor: Anchor) -> Result<Report, Failure> {
    let alg = SigAlg::from_name(alg).ok_or_else(|| {
        Failure::Usage(format!(
            "unknown attestation algorithm {alg:?} (ED25519, ECDSA-P256-SHA256, ML-DSA-65)"
        ))
    })?;
    let key_bytes = read_file(key, 8192)?;
    let key = PublicKey::new(alg, &key_bytes)
        .map_err(|_| Failure::Usage(format!("{} is not a raw {alg} public key", key.display())))?;
    let file = read_file(input, MAX_CHAIN_FILE)?;
    let receipts = split_chain(&file).map_err(|_| Failure::VerifyFailed)?;
    if receipts.is_empty() {
        return Err(Failure::Usage(format!(
            "{} holds no receipt",
            input.display()
        )));
    }
    // A file that starts with a retention checkpoint is always checked against it (a
    // checkpoint is not a receipt); otherwise `--from-genesis` asks for counter 1.
    let anchored = anchor.from_genesis || receipts.first().is_some_and(|r| is_checkpoint(r));
    let checked = if anchored {
        verify_anchored_chain(&receipts, &key, anchor.head)
    } else {
        verify_chain(&receipts, &key).map(|b| (None, b))
    };
    let (checkpoint, bodies) = match checked {
        Ok(b) => b,
        Err(e) => {
            eprintln!("warden: {e}");
            return Err(Failure::VerifyFailed);
        }
    };
    let mut text = String::new();
    let mut items = Vec::new();
    for b in &bodies {
        let reason = DenyReason::from_u32(b.reason).map_or("none", DenyReason::name);
        let decision = match b.decision {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
        };
        text.push_str(&format!(
            "#{:<6} {decision:<5} {reason:<18} permit {}\n",
            b.counter,
            hex::encode(&b.permit_id)
        ));
        items.push(json!({
            "counter": b.counter,
            "decision": decision,
            "reason": reason,
            "reason_code": b.reason,
            "permit_id": hex::encode(&b.permit_id),
            "intent_sha256": hex::encode(b.intent_hash),
            "policy_sha256": b.policy_hash.map(hex::encode),
            "input_sha256": hex::encode(b.input_hash),
            "telemetry_sha256": hex::encode(b.telemetry_hash),
            "prev_sha256": hex::encode(b.prev_hash),
            "issued_at": b.issued_at,
        }));
    }
    if let Some(cp) = checkpoint {
        text.push_str(&format!(
            "ok: retention checkpoint verified (receipts up to #{} pruned)\n",
            cp.counter
        ));
    }
    text.push_str(&format!("ok: {} receipt(s) verified\n", bodies.len()));
    Ok(Report::new(
        text,
        json!({
            "verified": true,
            "pruned_through": checkpoint.map(|c| c.counter),
            "receipts": items,
        }),
    ))
}

/// Writes the daemon's receipt chain from counter `from` to its head into `out`.
pub fn export(
    stack: &warden_client::CryptoStack,
    out: &Path,
    from: u64,
) -> Result<Report, Failure> {
    let (chain, head) = stack.export_receipts(from).map_err(Failure::from_client)?;
    let items = split_chain(&chain)
        .map_err(|_| Failure::Internal("the daemon exported a malformed chain"))?;
    // A leading retention checkpoint is not a receipt.
    let count = items.len() - usize::from(items.first().is_some_and(|i| is_checkpoint(i)));
    write_private(out, &chain).map_err(|e| Failure::io(out, e))?;
    Ok(Report::new(
        format!(
            "wrote {count} receipt(s) (counters {from}..={head}) to {}",
            out.display()
        ),
        json!({ "out": out.display().to_string(), "count": count, "from": from, "head": head }),
    ))
}
