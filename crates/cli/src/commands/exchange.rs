//! `warden kem encap|decap` and `warden derive`: new keys land in slots, never on stdout.

use serde_json::json;
use warden_client::{
    AgreeKeyParams, Algorithm, CryptoStack, DeriveKeyParams, EncapsulateParams, KdfParameters,
    KeyOperationPermission,
};

use crate::args::{AgreeArgs, DecapArgs, DeriveArgs, EncapArgs};
use crate::commands::keys::{parse_alg, parse_permissions};
use crate::failure::Failure;
use crate::io::read_file;
use crate::report::Report;

/// Largest ciphertext file read.
const MAX_CT_FILE: usize = 64 * 1024;

/// The algorithm of a slot's key: for KEMs and key agreement the key type is the algorithm.
fn kem_of(stack: &CryptoStack, slot: &str) -> Result<Algorithm, Failure> {
    let info = stack
        .key_management()
        .slot_info(slot)
        .map_err(Failure::from_client)?;
    Ok(info.algorithm)
}

fn encap_params(kem: Algorithm, secret_alg: &str) -> Result<EncapsulateParams, Failure> {
    let out = parse_alg(secret_alg)?;
    Ok(EncapsulateParams::builder()
        .algorithm(kem)
        .output_algorithm(out)
        .permissions(parse_permissions(None, out)?)
        .build()?)
}

/// `warden kem encap`
pub fn encap(stack: &CryptoStack, a: &EncapArgs) -> Result<Report, Failure> {
    let kem = kem_of(stack, &a.slot)?;
    let params = encap_params(kem, &a.secret_alg)?;
    let km = stack.key_management();
    let key = km.resolve(&a.slot).map_err(Failure::from_client)?;
    let (ct, secret) = km
        .encapsulate(key.id(), &params)
        .map_err(Failure::from_client)?;
    // The ciphertext file first: a shared secret in a slot whose ciphertext could not be
    // written would be useless, and would block a retry with KeySlotOccupied.
    match crate::io::named(Some(&a.out_ct)) {
        Some(path) => std::fs::write(path, &ct),
        None => crate::io::write_private(&a.out_ct, &ct),
    }
    .map_err(|e| Failure::io(&a.out_ct, e))?;
    km.persist_key(&a.to_slot, secret.id())
        .map_err(Failure::from_client)?;
    // The ciphertext on stdout (`--out-ct -`) is the output: the summary must not mix in.
    let text = if crate::io::named(Some(&a.out_ct)).is_none() {
        String::new()
    } else {
        format!(
            "encapsulated with {}: ciphertext ({} bytes) in {}, shared secret in slot {}",
            kem.name(),
            ct.len(),
            a.out_ct.display(),
            a.to_slot
        )
    };
    Ok(Report::new(
        text,
        json!({ "kem": kem.name(), "ciphertext": a.out_ct, "ciphertext_len": ct.len(), "to_slot": a.to_slot }),
    ))
}

/// `warden kem decap`
pub fn decap(stack: &CryptoStack, a: &DecapArgs) -> Result<Report, Failure> {
    let kem = kem_of(stack, &a.slot)?;
    let params = encap_params(kem, &a.secret_alg)?;
    let ct = read_file(&a.ct, MAX_CT_FILE)?;
    let km = stack.key_management();
    let key = km.resolve(&a.slot).map_err(Failure::from_client)?;
    let secret = km
        .decapsulate(key.id(), &ct, &params)
        .map_err(Failure::from_client)?;
    km.persist_key(&a.to_slot, secret.id())
        .map_err(Failure::from_client)?;
    Ok(Report::new(
        format!(
            "decapsulated with {}: shared secret in slot {}",
            kem.name(),
            a.to_slot
        ),
        json!({ "kem": kem.name(), "to_slot": a.to_slot }),
    ))
}

/// `warden agree`: our slot's private key with the peer's public key file; the shared
/// secret goes into a new slot, never to stdout.
pub fn agree(stack: &CryptoStack, a: &AgreeArgs) -> Result<Report, Failure> {
    let alg = kem_of(stack, &a.slot)?;
    if alg.class() != warden_client::AlgorithmClass::KeyAgreement {
        return Err(Failure::Usage(format!(
            "slot {} holds a key of type {}; agree needs X25519, ECDH-P256 or ECDH-P384",
            a.slot,
            alg.name()
        )));
    }
    // The peer's file may be PEM or DER (as `warden key public` writes it) or raw; the daemon
    // takes the raw encoding, which the provider's parser extracts.
    let provider = warden_provider_awslc::AwsLcProvider::new();
    let peer = crate::commands::local::public_key(
        &provider,
        alg,
        &read_file(&a.peer, MAX_CT_FILE)?,
        KeyOperationPermission::NONE,
    )?
    .public_key(warden_client::KeyFormat::Raw)
    .map_err(Failure::from)?;
    let out = parse_alg(&a.secret_alg)?;
    let params = AgreeKeyParams::builder()
        .algorithm(alg)
        .peer_public(peer)
        .output_algorithm(out)
        .permissions(parse_permissions(a.permissions.as_deref(), out)?)
        .exportable(a.exportable)
        .build()?;
    let km = stack.key_management();
    let key = km.resolve(&a.slot).map_err(Failure::from_client)?;
    let secret = km
        .agree_key(key.id(), &params)
        .map_err(Failure::from_client)?;
    km.persist_key(&a.to_slot, secret.id())
        .map_err(Failure::from_client)?;
    Ok(Report::new(
        format!(
            "agreed with {}: shared secret ({}) in slot {}",
            alg.name(),
            out.name(),
            a.to_slot
        ),
        json!({ "algorithm": alg.name(), "secret_algorithm": out.name(), "to_slot": a.to_slot }),
    ))
}

fn hex_arg(name: &str, v: Option<&str>) -> Result<Vec<u8>, Failure> {
    match v {
        None => Ok(Vec::new()),
        Some(s) => hex::decode(s).map_err(|_| Failure::Usage(format!("--{name} must be hex"))),
    }
}

/// `warden derive`
pub fn derive(stack: &CryptoStack, a: &DeriveArgs) -> Result<Report, Failure> {
    let kdf_alg = parse_alg(&a.kdf)?;
    let out_alg = parse_alg(&a.alg)?;
    let salt = hex_arg("salt", a.salt.as_deref())?;
    let info = hex_arg("info", a.info.as_deref())?;
    let label = a.label.clone().unwrap_or_default().into_bytes();
    let kdf = match kdf_alg {
        Algorithm::HkdfSha256 | Algorithm::HkdfSha384 => KdfParameters::Hkdf {
            hash: if kdf_alg == Algorithm::HkdfSha384 {
                Algorithm::Sha384
            } else {
                Algorithm::Sha256
            },
            salt,
            info,
        },
        Algorithm::Pbkdf2HmacSha256 => KdfParameters::Pbkdf2 {
            salt,
            iterations: a.iterations.unwrap_or(600_000),
        },
        Algorithm::Tls12PrfSha256 => KdfParameters::Tls12Prf { label, seed: info },
        Algorithm::Tls13HkdfSha256 => KdfParameters::Tls13ExpandLabel {
            label,
            context: info,
        },
        Algorithm::Sp800108CtrHmacSha256 => KdfParameters::Sp800108CounterHmac {
            label,
            context: info,
        },
        other => {
            return Err(Failure::Usage(format!(
                "{} is not a KDF (HKDF-SHA256, HKDF-SHA384, PBKDF2-HMAC-SHA256, TLS12-PRF-SHA256, TLS13-HKDF-SHA256, SP800-108-CTR-HMAC-SHA256)",
                other.name()
            )));
        }
    };
    let permissions: KeyOperationPermission = parse_permissions(a.permissions.as_deref(), out_alg)?;
    let mut b = DeriveKeyParams::builder()
        .kdf(kdf)
        .output_algorithm(out_alg)
        .permissions(permissions)
        .exportable(a.exportable);
    if let Some(len) = a.len {
        b = b.output_len(len);
    } else if matches!(out_alg, Algorithm::HmacKey | Algorithm::GenericSecret) {
        b = b.output_len(32);
    }
    let params = b.build()?;
    let km = stack.key_management();
    let base = km.resolve(&a.slot).map_err(Failure::from_client)?;
    km.derive_key_into(&a.to_slot, base.id(), &params)
        .map_err(Failure::from_client)?;
    Ok(Report::new(
        format!(
            "derived {} key with {} into slot {}",
            out_alg.name(),
            kdf_alg.name(),
            a.to_slot
        ),
        json!({ "kdf": kdf_alg.name(), "algorithm": out_alg.name(), "to_slot": a.to_slot }),
    ))
}
