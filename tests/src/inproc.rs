//! In-process reference computations with `warden-crypto`, to check that results through the
//! daemon agree with the library run directly.

use std::sync::Arc;

use warden_core::{
    Algorithm, AlgorithmClass, ContextConfig, GenerateKeyParams, ImportKeyParams, KeyFormat,
    KeyOperationPermission, Persistence, ResourceId, ResourceType,
};
use warden_provider_awslc::{AwsLcProvider, ContextKind, Key, Provider};

/// The default in-process provider.
pub fn provider() -> AwsLcProvider {
    AwsLcProvider::new()
}

/// The encoding `warden-crypto` uses for a key's secret export and import.
pub fn secret_format(alg: Algorithm) -> KeyFormat {
    match alg.class() {
        AlgorithmClass::KeyType | AlgorithmClass::Kem => KeyFormat::Raw,
        _ if matches!(alg, Algorithm::SlhDsaSha2_128s | Algorithm::SlhDsaSha2_128f) => {
            KeyFormat::Raw
        }
        _ => KeyFormat::Pkcs8,
    }
}

/// A fresh in-process key of `alg` with every permission its type can carry (`CALLER_NONCE`
/// included, so fixed-nonce comparisons work), exportable, and its secret bytes.
pub fn generate(alg: Algorithm) -> (Arc<Key>, Vec<u8>) {
    let mut b = GenerateKeyParams::builder()
        .algorithm(alg)
        .permissions(KeyOperationPermission::applicable_to(alg))
        .exportable(true);
    if matches!(alg, Algorithm::HmacKey | Algorithm::GenericSecret) {
        b = b.key_len(32);
    }
    if alg.is_rsa() {
        b = b.rsa_bits(2048);
    }
    let params = b
        .build()
        .unwrap_or_else(|e| panic!("params for {alg:?}: {e}"));
    let key = provider()
        .generate_key(&params)
        .unwrap_or_else(|e| panic!("generate {alg:?}: {e}"));
    let secret = key
        .export_secret()
        .unwrap_or_else(|e| panic!("export {alg:?}: {e}"))
        .to_vec();
    (Arc::new(key), secret)
}

/// Import parameters for `alg` with `perms`, exportable, in the algorithm's secret format.
pub fn import_params(alg: Algorithm, perms: KeyOperationPermission) -> ImportKeyParams {
    ImportKeyParams::builder()
        .algorithm(alg)
        .permissions(perms)
        .exportable(true)
        .format(secret_format(alg))
        .build()
        .unwrap_or_else(|e| panic!("import params for {alg:?}: {e}"))
}

/// A placeholder resource id for building in-process context configs.
pub fn local_id() -> ResourceId {
    ResourceId::new(1, ResourceType::Key, Persistence::Ephemeral, 0)
}

/// The inputs of one stream: `init(iv)`, optional AAD, one `update` per chunk, an optional
/// expected tag (AEAD decrypt), `finalize(last)`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stream<'a> {
    /// IV or nonce (empty for hash, MAC, sign, verify).
    pub iv: &'a [u8],
    /// AEAD associated data.
    pub aad: Option<&'a [u8]>,
    /// Inputs to `update`, in order.
    pub chunks: &'a [&'a [u8]],
    /// Input to `finalize` (Verify: the signature).
    pub last: &'a [u8],
    /// Expected tag for AEAD decryption.
    pub tag: Option<&'a [u8]>,
}

/// Runs a whole stream in process; returns the concatenated output and the tag (AEAD
/// encrypt; empty otherwise).
pub fn run(
    kind: ContextKind,
    cfg: &ContextConfig,
    key: Option<Arc<Key>>,
    s: Stream<'_>,
) -> warden_core::Result<(Vec<u8>, Vec<u8>)> {
    let (iv, aad, chunks, last, tag_in) = (s.iv, s.aad, s.chunks, s.last, s.tag);
    let p = provider();
    let mut ctx = p.create_context(kind, cfg, key)?;
    ctx.init(iv)?;
    if let Some(a) = aad {
        ctx.set_aad(a)?;
    }
    let mut out = Vec::new();
    for c in chunks {
        let mut buf = vec![0u8; ctx.max_output_len(c.len())];
        let n = ctx.update(c, &mut buf)?;
        out.extend_from_slice(buf.get(..n).unwrap_or(&[]));
    }
    if let Some(t) = tag_in {
        ctx.set_tag(t)?;
    }
    let mut buf = vec![0u8; ctx.max_output_len(last.len()).max(64)];
    let n = ctx.finalize(last, &mut buf)?;
    out.extend_from_slice(buf.get(..n).unwrap_or(&[]));
    let mut tag = vec![0u8; 16];
    let tag = match ctx.get_tag(&mut tag) {
        Ok(n) => tag.get(..n).unwrap_or(&[]).to_vec(),
        Err(_) => Vec::new(),
    };
    Ok((out, tag))
}
