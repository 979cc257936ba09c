//! `warden key …`: generate, import, list, public, delete, grant, revoke.

use serde_json::json;
use warden_client::{
    Algorithm, AlgorithmClass, CryptoStack, GenerateKeyParams, ImportKeyParams, KeyFormat,
    KeyOperationPermission,
};

use crate::args::{
    ExportArgs, GenerateArgs, GrantArgs, ImportArgs, KeyFileFormat, PublicArgs, RevokeArgs,
};
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

/// Parses a key type for `key generate` / `key import`. An operation's name (AES-256-GCM,
/// HASH-ML-DSA-65-SHA512, ...) is refused with the key type that serves it.
pub fn parse_key_type(name: &str) -> Result<Algorithm, Failure> {
    let alg = parse_alg(name)?;
    if alg.is_key_algorithm() {
        return Ok(alg);
    }
    let serving: Vec<&str> = alg.key_algorithms().iter().map(|k| k.name()).collect();
    Err(Failure::Usage(match serving.as_slice() {
        [] => format!("{} is an operation that uses no key", alg.name()),
        [one] => format!(
            "{} is an operation, not a key type: use --alg {one} (such a key serves {})",
            alg.name(),
            alg.name()
        ),
        many => format!(
            "{} is an operation, not a key type: use --alg {} (any of them serves {})",
            alg.name(),
            many.join(" or --alg "),
            alg.name()
        ),
    }))
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

/// The parameters of `warden key generate`, checked locally: run before connecting, so a
/// missing `--size` is a usage error even with no daemon.
pub fn generate_params(a: &GenerateArgs) -> Result<GenerateKeyParams, Failure> {
    let alg = parse_key_type(&a.alg)?;
    let permissions = parse_permissions(a.permissions.as_deref(), alg)?;
    let mut b = GenerateKeyParams::builder()
        .algorithm(alg)
        .permissions(permissions)
        .exportable(a.exportable);
    if alg.is_rsa() && a.size.is_none() {
        return Err(Failure::Usage(format!(
            "{} keys need a size: add --size 2048, 3072 or 4096 (bits)",
            alg.name()
        )));
    }
    if let Some(size) = a.size {
        b = if alg.is_rsa() {
            b.rsa_bits(size)
        } else {
            b.key_len(size)
        };
    } else if matches!(alg, Algorithm::HmacKey | Algorithm::GenericSecret) {
        b = b.key_len(32);
    }
    // The builder speaks of its fields (rsa_bits, key_len); the user typed --size.
    b.build().map_err(|e| {
        Failure::Usage(
            e.detail()
                .replace("rsa_bits", "--size (RSA bits)")
                .replace("key_len", "--size"),
        )
    })
}

/// `warden key generate`
pub fn generate(stack: &CryptoStack, a: &GenerateArgs) -> Result<Report, Failure> {
    let params = generate_params(a)?;
    let (alg, permissions) = (params.algorithm(), params.permissions());
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
    let alg = parse_key_type(&a.alg)?;
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
    let bytes = match km.export_public_key(key.id(), Some(format)) {
        Ok(b) => b,
        Err(e) => return Err(public_failure(stack, a, key.id(), e)),
    };
    if a.format == KeyFileFormat::Pem {
        let text = pem::encode("PUBLIC KEY", &bytes);
        if let Some(path) = crate::io::named(a.out.as_deref()) {
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

/// A failed public-key export, with the formats that do work for this key (asked of the
/// daemon: it alone knows which encodings each key type has), or, for a key without a
/// public part, the command that exports secrets.
fn public_failure(
    stack: &CryptoStack,
    a: &PublicArgs,
    key: warden_client::ResourceId,
    e: warden_client::Error,
) -> Failure {
    use warden_client::ErrorCode as C;
    let code = e.code();
    if !matches!(
        code,
        C::UnsupportedOperation
            | C::UnsupportedAlgorithm
            | C::InvalidArgument
            | C::InvalidFormat
            | C::IncompatibleKeyType
    ) {
        return Failure::from_client(e);
    }
    let km = stack.key_management();
    let algorithm = km
        .slot_info(&a.slot)
        .map(|s| s.algorithm.name())
        .unwrap_or("this");
    let working: Vec<&str> = [
        (KeyFormat::Raw, "raw"),
        (KeyFormat::SubjectPublicKeyInfo, "der, pem"),
    ]
    .into_iter()
    .filter(|(f, _)| km.export_public_key(key, Some(*f)).is_ok())
    .map(|(_, name)| name)
    .collect();
    if working.is_empty() {
        return Failure::Daemon(
            code,
            format!(
                "slot {} holds a key of type {algorithm}, which has no public part; an exportable \
                 secret key is written by `warden key export --slot {}`",
                a.slot, a.slot
            ),
        );
    }
    Failure::Daemon(
        code,
        format!(
            "{algorithm} public keys do not export as --format {}; use --format {}",
            format_name(a.format),
            working.join(", ")
        ),
    )
}

fn format_name(f: KeyFileFormat) -> &'static str {
    match f {
        KeyFileFormat::Raw => "raw",
        KeyFileFormat::Der => "der",
        KeyFileFormat::Pem => "pem",
    }
}

/// `warden key export`: the secret bytes of an exportable key whose permissions include
/// export (the daemon checks both), raw, to a 0600 file or stdout.
pub fn export(stack: &CryptoStack, a: &ExportArgs, json_mode: bool) -> Result<Report, Failure> {
    let km = stack.key_management();
    let key = km.resolve(&a.slot).map_err(Failure::from_client)?;
    let secret = km.export_secret_key(key.id()).map_err(|e| {
        if e.code() == warden_client::ErrorCode::KeyNotExportable {
            Failure::Daemon(
                e.code(),
                format!(
                    "slot {} is not exportable: only a key generated or imported with \
                     --exportable (and the export permission) can leave the daemon; a public \
                     key is exported by `warden key public --slot {}`",
                    a.slot, a.slot
                ),
            )
        } else {
            Failure::from_client(e)
        }
    })?;
    emit_binary(&secret, a.out.as_deref(), a.hex, json_mode, "secret_key")
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
