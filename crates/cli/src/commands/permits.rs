//! `warden policy|trust|permit|attest …`: the action-permit loop from the operator's side.

use std::cell::RefCell;
use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;
use warden_attest::{AttestError, DenyReason, PermitClaims, SigAlg, Signer, issue_permit, sha256};
use warden_client::{Algorithm, ContextConfig, CryptoStack};

use crate::args::{AttestCommand, PermitIssueArgs, PermitVerifyArgs, PolicyCommand, TrustCommand};
use crate::failure::Failure;
use crate::io::{emit_binary, read_file};
use crate::report::Report;

const MAX_MODULE_FILE: usize = 4 * 1024 * 1024;
const MAX_SMALL_FILE: usize = 1024 * 1024;

/// `warden policy …`
pub fn policy(stack: &CryptoStack, cmd: &PolicyCommand) -> Result<Report, Failure> {
    match cmd {
        PolicyCommand::Load {
            input,
            action,
            profile,
        } => {
            let raw = read_file(input, MAX_MODULE_FILE)?;
            // Binary modules start with the wasm magic; anything else is taken as WAT text.
            let module = if raw.starts_with(b"\0asm") {
                raw
            } else {
                wat::parse_bytes(&raw)
                    .map_err(|e| Failure::Usage(format!("{}: {e}", input.display())))?
                    .into_owned()
            };
            let hash = stack
                .policy_load(action, profile, &module)
                .map_err(Failure::from_client)?;
            Ok(Report::new(
                format!(
                    "loaded policy for action {action} ({profile} profile), sha256 {}",
                    hex::encode(hash)
                ),
                json!({ "action": action, "profile": profile, "sha256": hex::encode(hash) }),
            ))
        }
        PolicyCommand::List => {
            let list = stack.policy_list().map_err(Failure::from_client)?;
            let mut text = String::new();
            let mut items = Vec::new();
            for p in &list {
                text.push_str(&format!(
                    "{:<24} {:<8} {:>8} B  {}\n",
                    p.action,
                    p.profile,
                    p.size,
                    hex::encode(p.sha256)
                ));
                items.push(json!({ "action": p.action, "profile": p.profile, "size": p.size, "sha256": hex::encode(p.sha256) }));
            }
            if list.is_empty() {
                text = "no policies loaded\n".into();
            }
            Ok(Report::new(text, json!({ "policies": items })))
        }
        PolicyCommand::Unload { action } => {
            stack.policy_unload(action).map_err(Failure::from_client)?;
            Ok(Report::new(
                format!("unloaded policy for action {action}"),
                json!({ "action": action, "unloaded": true }),
            ))
        }
    }
}

fn sig_alg(name: &str) -> Result<SigAlg, Failure> {
    SigAlg::from_name(name).ok_or_else(|| {
        Failure::Usage(format!(
            "unsupported permit algorithm {name:?} (ED25519, ECDSA-P256-SHA256, ML-DSA-65)"
        ))
    })
}

/// `warden trust …`
pub fn trust(stack: &CryptoStack, cmd: &TrustCommand) -> Result<Report, Failure> {
    match cmd {
        TrustCommand::Add { issuer, alg, input } => {
            let alg = sig_alg(alg)?;
            let key = read_file(input, MAX_SMALL_FILE)?;
            // Check the key's shape here so a typo fails before the daemon sees it.
            warden_attest::PublicKey::new(alg, &key).map_err(|_| {
                Failure::Usage(format!("{} is not a raw {alg} public key", input.display()))
            })?;
            stack
                .trust_add(issuer, alg.name(), &key)
                .map_err(Failure::from_client)?;
            Ok(Report::new(
                format!("trusting {issuer} ({alg}) for permits"),
                json!({ "issuer": issuer, "alg": alg.name() }),
            ))
        }
        TrustCommand::List => {
            let list = stack.trust_list().map_err(Failure::from_client)?;
            let mut text = String::new();
            let items: Vec<_> = list
                .iter()
                .map(|t| {
                    let fp = hex::encode(sha256(&t.public_key));
                    text.push_str(&format!("{:<24} {:<18} sha256:{fp}\n", t.issuer, t.alg));
                    json!({ "issuer": t.issuer, "alg": t.alg, "public_key": hex::encode(&t.public_key), "fingerprint": fp })
                })
                .collect();
            if list.is_empty() {
                text = "no trusted issuers\n".into();
            }
            Ok(Report::new(text, json!({ "issuers": items })))
        }
        TrustCommand::Remove { issuer } => {
            stack.trust_remove(issuer).map_err(Failure::from_client)?;
            Ok(Report::new(
                format!("no longer trusting {issuer}"),
                json!({ "issuer": issuer, "removed": true }),
            ))
        }
    }
}

/// Signs through the daemon with a slot's key: the key never leaves wardend.
struct SlotSigner<'a> {
    stack: &'a CryptoStack,
    slot: &'a str,
    alg: SigAlg,
    failure: RefCell<Option<Failure>>,
}

impl Signer for SlotSigner<'_> {
    fn alg(&self) -> SigAlg {
        self.alg
    }

    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, AttestError> {
        let run = || -> Result<Vec<u8>, Failure> {
            let alg = Algorithm::from_name(self.alg.name())?;
            let key = self
                .stack
                .key_management()
                .resolve(self.slot)
                .map_err(Failure::from_client)?;
            let cfg = ContextConfig::builder()
                .algorithm(alg)
                .key(key.id())
                .build()?;
            let mut ctx = self
                .stack
                .create_sign_context(&cfg)
                .map_err(Failure::from_client)?;
            ctx.init().map_err(Failure::from_client)?;
            ctx.update(msg).map_err(Failure::from_client)?;
            ctx.finalize().map_err(Failure::from_client)
        };
        run().map_err(|f| {
            *self.failure.borrow_mut() = Some(f);
            AttestError::SigningFailed
        })
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `warden permit issue`
pub fn issue(stack: &CryptoStack, a: &PermitIssueArgs, json_mode: bool) -> Result<Report, Failure> {
    let slot_alg = stack
        .key_management()
        .slot_info(&a.slot)
        .map(|s| s.algorithm)
        .map_err(Failure::from_client)?;
    let alg = sig_alg(slot_alg.name())?;
    let intent = read_file(&a.intent, MAX_SMALL_FILE)?;
    let permit_id = match &a.id {
        Some(h) => hex::decode(h).map_err(|_| Failure::Usage("--id must be hex".into()))?,
        None => stack.random(16).map_err(Failure::from_client)?,
    };
    if a.ttl <= 0 {
        return Err(Failure::Usage("--ttl must be positive".into()));
    }
    let t = now();
    let claims = PermitClaims {
        issuer: a.issuer.clone(),
        subject: a.subject.clone(),
        audience: a.audience.clone(),
        not_before: t,
        expires: t.saturating_add(a.ttl),
        permit_id: permit_id.clone(),
        action: a.action.clone(),
        resource: a.resource.clone(),
        max_uses: a.max_uses,
        intent_hash: sha256(&intent),
    };
    let signer = SlotSigner {
        stack,
        slot: &a.slot,
        alg,
        failure: RefCell::new(None),
    };
    let permit = issue_permit(&signer, &claims).map_err(|e| {
        signer
            .failure
            .borrow_mut()
            .take()
            .unwrap_or_else(|| Failure::Usage(e.to_string()))
    })?;
    let mut report = emit_binary(&permit, a.out.as_deref(), a.hex, json_mode, "permit")?;
    report.add_json("permit_id", json!(hex::encode(&permit_id)));
    Ok(report)
}

/// `warden permit verify`: exit 0 when allowed, 1 when denied; the receipt is printed or appended.
pub fn verify(stack: &CryptoStack, a: &PermitVerifyArgs) -> Result<Report, Failure> {
    let permit = read_file(&a.permit, MAX_SMALL_FILE)?;
    let intent = read_file(&a.intent, MAX_SMALL_FILE)?;
    let d = stack
        .verify_permit(&permit, &a.action, &a.resource, &intent)
        .map_err(Failure::from_client)?;
    if let Some(path) = &a.receipt_out {
        append(path, &d.receipt)?;
    }
    let reason = DenyReason::from_u32(d.reason).map_or("none", DenyReason::name);
    let decision = if d.allowed { "allow" } else { "deny" };
    let report = Report::new(
        format!("{decision} (reason: {reason}), receipt #{}", d.counter),
        json!({
            "allowed": d.allowed,
            "reason": reason,
            "reason_code": d.reason,
            "counter": d.counter,
            "receipt": hex::encode(&d.receipt),
        }),
    );
    if d.allowed {
        Ok(report)
    } else {
        Err(Failure::Denied(report))
    }
}

fn append(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    if crate::io::is_std(path) {
        return crate::io::write_private(path, bytes).map_err(|e| Failure::io(path, e));
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Failure::io(path, e))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_data())
        .map_err(|e| Failure::io(path, e))
}

/// `warden attest public-key`
pub fn attest(
    stack: &CryptoStack,
    cmd: &AttestCommand,
    json_mode: bool,
) -> Result<Report, Failure> {
    match cmd {
        AttestCommand::PublicKey { out, hex } => {
            let (alg, key) = stack
                .attestation_public_key()
                .map_err(Failure::from_client)?;
            let mut report = emit_binary(&key, out.as_deref(), *hex, json_mode, "public_key")?;
            report.add_json("alg", json!(alg));
            Ok(report)
        }
    }
}
