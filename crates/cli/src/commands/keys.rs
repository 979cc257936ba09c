//! `warden key …`: generate, import, list, public, delete, grant, revoke.

use serde_json::json;
use warden_client::{
    Algorithm, AlgorithmClass, CryptoStack, GenerateKeyParams, ImportKeyParams, KeyFormat,
    KeyOperationPermission,
};

use crate::args::{GenerateArgs, GrantArgs, ImportArgs, KeyFileFormat, PublicArgs, RevokeArgs};
use crate::failure::Failure;
use crate::io::{emit_binary, read_file};
use crate::keyfile;
use crate::pem;
use crate::report::Report;

/// Largest key file read.
const MAX_KEY_FILE: usize = 64 * 1024;

/// Parses an algorithm name, case-insensitively, with a helpful error.
pub fn parse_alg(name: &str) -> Result<Algorithm, Failure> {
    Algorithm::from_name(&name.to_ascii_uppercase()).map_err(|_| {
        Failure::Usage(format!(
            "unknown algorithm {name:?}; known: {}",
            Algorithm::ALL
                .iter()
                .map(|a| a.name())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

/// Parses a permission list, or picks the algorithm's natural set.
pub fn parse_permissions(
    given: Option<&str>,
    alg: Algorithm,
) -> Result<KeyOperationPermission, Failure> {
    match given {
        Some(s) => KeyOperationPermission::parse(s).map_err(|_| {
            let names: Vec<&str> = KeyOperationPermission::NAMED_BITS
                .iter()
                .chain(KeyOperationPermission::PRESETS)
                .map(|(n, _)| *n)
                .collect();
            Failure::Usage(format!(
                "bad permissions {s:?}; use a comma list of: {}",
                names.join(", ")
            ))
        }),
        None => Ok(natural_permissions(alg)),
    }
}

/// What a key of `alg` is for, when the operator does not say.
fn natural_permissions(alg: Algorithm) -> KeyOperationPermission {
    use KeyOperationPermission as P;
    match alg {
        Algorithm::Aes128Key
        | Algorithm::Aes192Key
        | Algorithm::Aes256Key
        | Algorithm::ChaCha20Key => P::ENCRYPT | P::DECRYPT,
        Algorithm::HmacKey => P::MAC,
        Algorithm::GenericSecret => P::DERIVE,
        _ => match alg.class() {
            AlgorithmClass::Signature => P::SIGN | P::VERIFY,
            // Not DERIVE: only GENERIC-SECRET keys are KDF inputs (the agreed secret is).
            AlgorithmClass::KeyAgreement => P::AGREE,
            AlgorithmClass::Kem | AlgorithmClass::AsymmetricEncryption => P::ENCRYPT | P::DECRYPT,
            _ => P::NONE,
        },
    }
}

/// `warden key generate`
pub fn generate(stack: &CryptoStack, a: &GenerateArgs) -> Result<Report, Failure> {
    let alg = parse_alg(&a.alg)?;
    let permissions = parse_permissions(a.permissions.as_deref(), alg)?;
    let mut b = GenerateKeyParams::builder()
        .algorithm(alg)
        .permissions(permissions)
        .exportable(a.exportable);
    if let Some(size) = a.size {
        b = if alg.is_rsa() {
            b.rsa_bits(size)
        } else {
            b.key_len(size)
        };
    } else if matches!(alg, Algorithm::HmacKey | Algorithm::GenericSecret) {
        b = b.key_len(32);
    }
    let params = b.build()?;
    stack
        .key_management()
        .generate_key_into_with(&a.slot, &params, a.provider.as_deref())
        .map_err(Failure::from_client)?;
    let provider = a.provider.as_deref().unwrap_or("default");
    Ok(Report::new(
        format!(
            "generated {} key in slot {} (permissions: {permissions}; provider: {provider})",
            alg.name(),
            a.slot
        ),
        json!({ "slot": a.slot, "algorithm": alg.name(), "permissions": permissions.to_string(), "exportable": a.exportable, "provider": provider }),
    ))
}

/// `warden key import`
pub fn import(stack: &CryptoStack, a: &ImportArgs) -> Result<Report, Failure> {
    let alg = parse_alg(&a.alg)?;
    let permissions = parse_permissions(a.permissions.as_deref(), alg)?;
    let raw = read_file(&a.input, MAX_KEY_FILE)?;
    let (material, format) = keyfile::classify(raw, alg, a.format, &a.input)?;
    let params = ImportKeyParams::builder()
        .algorithm(alg)
        .permissions(permissions)
        .exportable(a.exportable)
        .format(format)
        .build()?;
    stack
        .key_management()
        .import_key_into(&a.slot, &params, &material)
        .map_err(Failure::from_client)?;
    Ok(Report::new(
        format!("imported {} key into slot {}", alg.name(), a.slot),
        json!({ "slot": a.slot, "algorithm": alg.name(), "permissions": permissions.to_string() }),
    ))
}

/// `warden key list`
pub fn list(stack: &CryptoStack) -> Result<Report, Failure> {
    let slots = stack
        .key_management()
        .list_slots()
        .map_err(Failure::from_client)?;
    let mut text = format!(
        "{:<24} {:<20} {:>6}  {:<28} {:<10} {}\n",
        "SLOT", "ALGORITHM", "OWNER", "YOUR PERMISSIONS", "EXPORTABLE", "STATE"
    );
    let mut items = Vec::new();
    for s in &slots {
        text.push_str(&format!(
            "{:<24} {:<20} {:>6}  {:<28} {:<10} {}\n",
            s.name,
            s.algorithm.name(),
            s.owner_uid,
            s.effective.to_string(),
            if s.exportable { "yes" } else { "no" },
            if s.locked { "locked" } else { "occupied" }
        ));
        items.push(json!({
            "slot": s.name,
            "algorithm": s.algorithm.name(),
            "owner_uid": s.owner_uid,
            "permissions": s.permissions.to_string(),
            "effective_permissions": s.effective.to_string(),
            "exportable": s.exportable,
            "grants": s.grants.iter().map(|(uid, p)| json!({"uid": uid, "permissions": p.to_string()})).collect::<Vec<_>>(),
            "created_unix_ms": s.created_unix_ms,
            "locked": s.locked,
        }));
    }
    if slots.is_empty() {
        text = "no slots visible to you\n".into();
    }
    Ok(Report::new(text, json!({ "slots": items })))
}

/// `warden key public`
pub fn public(stack: &CryptoStack, a: &PublicArgs, json_mode: bool) -> Result<Report, Failure> {
    let km = stack.key_management();
    let key = km.resolve(&a.slot).map_err(Failure::from_client)?;
    let format = match a.format {
        KeyFileFormat::Raw => KeyFormat::Raw,
        KeyFileFormat::Der | KeyFileFormat::Pem => KeyFormat::SubjectPublicKeyInfo,
    };
    let bytes = km
        .export_public_key(key.id(), Some(format))
        .map_err(Failure::from_client)?;
    if a.format == KeyFileFormat::Pem {
        let text = pem::encode("PUBLIC KEY", &bytes);
        if let Some(path) = &a.out {
            std::fs::write(path, text.as_bytes()).map_err(|e| Failure::io(path, e))?;
            return Ok(Report::quiet(json!({ "slot": a.slot, "out": path })));
        }
        return Ok(Report::new(
            text.clone(),
            json!({ "slot": a.slot, "pem": text }),
        ));
    }
    emit_binary(&bytes, a.out.as_deref(), a.hex, json_mode, "public_key")
}

/// `warden key delete`
pub fn delete(stack: &CryptoStack, slot: &str) -> Result<Report, Failure> {
    stack
        .key_management()
        .delete_slot(slot)
        .map_err(Failure::from_client)?;
    Ok(Report::new(
        format!("deleted slot {slot}"),
        json!({ "slot": slot, "deleted": true }),
    ))
}

/// `warden key lock` / `warden key unlock`
pub fn set_locked(stack: &CryptoStack, slot: &str, locked: bool) -> Result<Report, Failure> {
    stack
        .key_management()
        .set_slot_locked(slot, locked)
        .map_err(Failure::from_client)?;
    let word = if locked { "locked" } else { "unlocked" };
    Ok(Report::new(
        format!("{word} slot {slot}"),
        json!({ "slot": slot, "locked": locked }),
    ))
}

/// `warden key grant`
pub fn grant(stack: &CryptoStack, a: &GrantArgs) -> Result<Report, Failure> {
    let perms = KeyOperationPermission::parse(&a.permissions)
        .map_err(|_| Failure::Usage(format!("bad permissions {:?}", a.permissions)))?;
    stack
        .key_management()
        .grant(&a.slot, a.uid, perms)
        .map_err(Failure::from_client)?;
    Ok(Report::new(
        format!("granted uid {} {perms} on slot {}", a.uid, a.slot),
        json!({ "slot": a.slot, "uid": a.uid, "permissions": perms.to_string() }),
    ))
}

/// `warden key revoke`
pub fn revoke(stack: &CryptoStack, a: &RevokeArgs) -> Result<Report, Failure> {
    stack
        .key_management()
        .revoke(&a.slot, a.uid)
        .map_err(Failure::from_client)?;
    Ok(Report::new(
        format!("revoked uid {} on slot {}", a.uid, a.slot),
        json!({ "slot": a.slot, "uid": a.uid, "revoked": true }),
    ))
}
