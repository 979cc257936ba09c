//! Shared helpers for the integration tests: vector loading and provider shortcuts.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use serde_json::Value;
use warden_core::{
    Algorithm, CipherDirection, ContextConfig, ImportKeyParams, KeyFormat, KeyOperationPermission,
    Persistence, ResourceId, ResourceType,
};
use warden_provider_awslc::{AwsLcProvider, ContextKind, CryptoContext, Key, Provider};

/// Parses `tests/vectors/<name>`.
pub fn vectors(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// The cases under `key` of a vector file.
pub fn cases<'a>(file: &'a Value, key: &str) -> &'a Vec<Value> {
    let list = file[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} cases"));
    assert!(!list.is_empty(), "empty vector list {key}");
    list
}

/// Field bytes: `<name>_ascii` as UTF-8 if present, else `<name>` as hex.
pub fn b(case: &Value, name: &str) -> Vec<u8> {
    if let Some(s) = case[format!("{name}_ascii")].as_str() {
        return s.as_bytes().to_vec();
    }
    hex::decode(
        case[name]
            .as_str()
            .unwrap_or_else(|| panic!("missing field {name}")),
    )
    .unwrap()
}

pub fn s<'a>(case: &'a Value, name: &str) -> &'a str {
    case[name].as_str().unwrap()
}

pub fn alg(case: &Value) -> Algorithm {
    Algorithm::from_name(s(case, "alg")).unwrap()
}

pub fn provider() -> AwsLcProvider {
    AwsLcProvider::new()
}

pub fn import(
    p: &dyn Provider,
    alg: Algorithm,
    perms: KeyOperationPermission,
    format: KeyFormat,
    bytes: &[u8],
) -> Key {
    import_exportable(p, alg, perms, format, bytes, false)
}

pub fn import_exportable(
    p: &dyn Provider,
    alg: Algorithm,
    perms: KeyOperationPermission,
    format: KeyFormat,
    bytes: &[u8],
    exportable: bool,
) -> Key {
    let params = ImportKeyParams::builder()
        .algorithm(alg)
        .permissions(perms)
        .format(format)
        .exportable(exportable)
        .build()
        .unwrap();
    p.import_key(&params, bytes).unwrap()
}

/// A dummy key handle: the config needs one for keyed algorithms; the provider uses the Key.
pub fn handle() -> ResourceId {
    ResourceId::new(1, ResourceType::Key, Persistence::Ephemeral, 0)
}

pub fn config(alg: Algorithm, direction: Option<CipherDirection>) -> ContextConfig {
    let mut b = ContextConfig::builder().algorithm(alg);
    if !alg.key_algorithms().is_empty() {
        b = b.key(handle());
    }
    if let Some(d) = direction {
        b = b.direction(d);
    }
    b.build().unwrap()
}

pub fn context(
    p: &dyn Provider,
    kind: ContextKind,
    alg: Algorithm,
    direction: Option<CipherDirection>,
    key: Option<Arc<Key>>,
) -> Box<dyn CryptoContext> {
    p.create_context(kind, &config(alg, direction), key)
        .unwrap()
}

/// Feeds `data` in `chunk`-sized updates, then finalizes with `last`; returns all output.
pub fn stream(
    ctx: &mut dyn CryptoContext,
    iv: &[u8],
    data: &[u8],
    chunk: usize,
    last: &[u8],
) -> Vec<u8> {
    ctx.init(iv).unwrap();
    let mut out = Vec::new();
    for piece in data.chunks(chunk.max(1)) {
        let mut buf = vec![0u8; ctx.max_output_len(piece.len())];
        let n = ctx.update(piece, &mut buf).unwrap();
        out.extend_from_slice(&buf[..n]);
    }
    let mut buf = vec![0u8; ctx.max_output_len(last.len()).max(16)];
    let n = ctx.finalize(last, &mut buf).unwrap();
    out.extend_from_slice(&buf[..n]);
    out
}

/// RFC 8410 PKCS#8 for an Ed25519 seed (fixed 16-byte header).
pub fn ed25519_pkcs8(seed: &[u8]) -> Vec<u8> {
    let mut v = hex::decode("302e020100300506032b657004220420").unwrap();
    v.extend_from_slice(seed);
    v
}

/// RFC 8410 PKCS#8 for an X25519 private key.
pub fn x25519_pkcs8(raw: &[u8]) -> Vec<u8> {
    let mut v = hex::decode("302e020100300506032b656e04220420").unwrap();
    v.extend_from_slice(raw);
    v
}
