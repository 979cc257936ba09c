//! Commands that need no daemon: `hash`, `verify --pubkey`, `algorithms`, `generate`. They hold no
//! secret (a hash has no key; a public key is public), so running them in the CLI's own
//! process gives nothing away, and they work where no wardend runs. The crypto is
//! the aws-lc-rs provider crate (the daemon's own software provider), never code of this crate.

use std::path::Path;
use std::sync::Arc;

use serde_json::json;
use warden_client::{
    Algorithm, AlgorithmClass, ContextConfig, ImportKeyParams, KeyFormat, KeyOperationPermission,
    Persistence, ResourceId, ResourceType,
};
use warden_provider_awslc::{AwsLcProvider, ContextKind, Key, Operations, Provider};

use crate::args::{HashArgs, VerifyArgs};
use crate::commands::keys::parse_alg;
use crate::commands::options::{read_mu, signing_options};
use crate::failure::Failure;
use crate::io::{CHUNK, Input, emit_binary, read_file};
use crate::pem;
use crate::report::Report;

/// Largest public key or signature file read (SLH-DSA signatures are ~17 KiB).
const MAX_SMALL_FILE: usize = 64 * 1024;

/// A public key of `alg` from a file's bytes: PEM `PUBLIC KEY`, DER SubjectPublicKeyInfo, or
/// the raw encoding (`warden key public --format raw`). A DER-looking file that does not
/// parse as SPKI is tried as raw (a raw key may start with 0x30 too).
pub fn public_key(
    provider: &AwsLcProvider,
    alg: Algorithm,
    bytes: &[u8],
    permissions: KeyOperationPermission,
) -> Result<Key, Failure> {
    let import = |material: &[u8], format: KeyFormat| {
        let params = ImportKeyParams::builder()
            .algorithm(alg)
            .permissions(permissions)
            .format(format)
            .build()?;
        provider.import_key(&params, material).map_err(|e| {
            Failure::Usage(format!(
                "not a {} public key (PEM, DER SubjectPublicKeyInfo or raw): {}",
                alg.name(),
                e.detail()
            ))
        })
    };
    if let Some((label, der)) = pem::decode(bytes) {
        if label != "PUBLIC KEY" {
            return Err(Failure::Usage(format!(
                "a public key file must be PEM \"PUBLIC KEY\", not {label:?}"
            )));
        }
        return import(&der, KeyFormat::SubjectPublicKeyInfo);
    }
    if bytes.first() == Some(&0x30)
        && let Ok(key) = import(bytes, KeyFormat::SubjectPublicKeyInfo)
    {
        return Ok(key);
    }
    import(bytes, KeyFormat::Raw)
}

/// Largest message `verify --pubkey` reads whole for a [`one_shot`] algorithm.
const MAX_ONE_SHOT_MESSAGE: usize = 1 << 30;

/// Pure Ed25519, ML-DSA and SLH-DSA verify the whole message in one call; the provider
/// buffers a streamed one only up to one bounded chunk (its budget in the daemon), so the
/// local verify hands such a message over whole and its size is bounded by this process only.
fn one_shot(alg: Algorithm) -> bool {
    matches!(
        alg,
        Algorithm::Ed25519
            | Algorithm::MlDsa44
            | Algorithm::MlDsa65
            | Algorithm::MlDsa87
            | Algorithm::SlhDsaSha2_128s
            | Algorithm::SlhDsaSha2_128f
    )
}

/// `warden verify --pubkey FILE --alg ALG`: exit 1 when the signature does not verify.
pub fn verify(a: &VerifyArgs, pubkey: &Path, json_mode: bool) -> Result<Report, Failure> {
    let alg_name = a.alg.as_deref().ok_or_else(|| {
        Failure::Usage("--pubkey needs --alg (the signature algorithm)".to_owned())
    })?;
    let alg = parse_alg(alg_name)?;
    if alg.class() != AlgorithmClass::Signature {
        return Err(Failure::Usage(format!(
            "{} is not a signature algorithm",
            alg.name()
        )));
    }
    let provider = AwsLcProvider::new();
    let key = public_key(
        &provider,
        alg,
        &read_file(pubkey, MAX_SMALL_FILE)?,
        KeyOperationPermission::VERIFY,
    )?;
    let sig = read_file(&a.sig, MAX_SMALL_FILE)?;
    // The key travels as an object here; the config's key id only addresses daemon keys, so
    // any well-formed placeholder id will do.
    let placeholder = ResourceId::new(1, ResourceType::Key, Persistence::Ephemeral, 0);
    // The same options as `verify --slot`, applied by the same provider code the daemon runs.
    let options = signing_options(alg, a.sig_format, &a.options, "--pubkey")?;
    let cfg = ContextConfig::builder()
        .algorithm(alg)
        .key(placeholder)
        .options(options)
        .build()?;
    let mut ctx = provider.create_context(ContextKind::Verify, &cfg, Some(Arc::new(key)))?;
    ctx.init(&[])?;
    let result = if a.options.external_mu {
        ctx.finish_whole(&read_mu(a.input.as_deref())?, &sig, &mut [])
    } else if one_shot(alg) {
        let msg = Input::open(a.input.as_deref())?.read_all(MAX_ONE_SHOT_MESSAGE)?;
        ctx.finish_whole(&msg, &sig, &mut [])
    } else {
        Input::open(a.input.as_deref())?.stream(CHUNK, |chunk| {
            ctx.update(chunk, &mut []).map(drop).map_err(Failure::from)
        })?;
        ctx.finalize(&sig, &mut [])
    };
    let shown = pubkey.display().to_string();
    match result {
        Ok(_) => Ok(Report::new(
            "signature ok",
            json!({ "pubkey": shown, "algorithm": alg.name(), "valid": true }),
        )),
        Err(e)
            if matches!(
                e.code(),
                warden_client::ErrorCode::OperationFailed | warden_client::ErrorCode::InvalidFormat
            ) =>
        {
            if json_mode {
                return Err(Failure::Denied(Report::quiet(
                    json!({ "pubkey": shown, "algorithm": alg.name(), "valid": false }),
                )));
            }
            eprintln!("warden: signature does NOT verify");
            Err(Failure::VerifyFailed)
        }
        Err(e) => Err(Failure::from(e)),
    }
}

/// `warden hash`, computed in this process.
pub fn hash(a: &HashArgs, json_mode: bool) -> Result<Report, Failure> {
    let alg = parse_alg(&a.alg)?;
    if alg.class() != AlgorithmClass::Hash {
        return Err(Failure::Usage(format!(
            "{} is not a hash algorithm (see `warden algorithms`)",
            alg.name()
        )));
    }
    let provider = AwsLcProvider::new();
    let cfg = ContextConfig::builder().algorithm(alg).build()?;
    let mut ctx = provider.create_context(ContextKind::Hash, &cfg, None)?;
    ctx.init(&[])?;
    Input::open(a.io.input.as_deref())?.stream(CHUNK, |chunk| {
        ctx.update(chunk, &mut []).map(drop).map_err(Failure::from)
    })?;
    let mut digest = vec![0u8; ctx.max_output_len(0)];
    let n = ctx.finalize(&[], &mut digest)?;
    digest.truncate(n);
    let hex = a.io.hex || crate::io::named(a.io.out.as_deref()).is_none();
    emit_binary(&digest, a.io.out.as_deref(), hex, json_mode, "digest")
}

/// What each operation bit is called in `warden algorithms`, with the command that does it.
const OPERATIONS: &[(Operations, &str)] = &[
    (Operations::HASH, "hash"),
    (Operations::MAC, "mac"),
    (Operations::ENCRYPT, "encrypt"),
    (Operations::DECRYPT, "decrypt"),
    (Operations::SIGN, "sign"),
    (Operations::VERIFY, "verify"),
    (Operations::DERIVE, "derive"),
    (Operations::AGREE, "agree"),
    (Operations::WRAP, "wrap"),
    (Operations::UNWRAP, "unwrap"),
    (Operations::ENCAPSULATE, "kem-encap"),
    (Operations::DECAPSULATE, "kem-decap"),
    (Operations::GENERATE, "generate"),
    (Operations::IMPORT, "import"),
];

/// `warden algorithms`: every algorithm of this build, its class, what the provider can do
/// with it, and which key types it takes.
pub fn algorithms() -> Report {
    let provider = AwsLcProvider::new();
    let mut text = format!(
        "{:<28} {:<22} {:<44} {}\n",
        "ALGORITHM", "CLASS", "OPERATIONS", "KEY TYPES"
    );
    let mut items = Vec::new();
    for &alg in Algorithm::ALL {
        let ops = provider
            .capabilities()
            .iter()
            .filter(|c| c.algorithm == alg)
            .fold(Operations::default(), |acc, c| acc.union(c.operations));
        let names: Vec<&str> = OPERATIONS
            .iter()
            .filter(|(bit, _)| ops.contains(*bit))
            .map(|(_, n)| *n)
            .collect();
        let keys: Vec<&str> = alg.key_algorithms().iter().map(|k| k.name()).collect();
        let class = format!("{:?}", alg.class());
        text.push_str(&format!(
            "{:<28} {:<22} {:<44} {}\n",
            alg.name(),
            class,
            names.join(","),
            if keys.is_empty() {
                "-".to_owned()
            } else {
                keys.join(",")
            }
        ));
        items.push(json!({
            "algorithm": alg.name(),
            "class": class,
            "operations": names,
            "key_types": keys,
        }));
    }
    Report::new(text, json!({ "algorithms": items }))
}

/// `warden generate man|completions`: derived from the clap grammar, so they never drift
/// from the real command line.
pub fn generate(cmd: &crate::args::GenerateCommand) -> Result<Report, Failure> {
    use clap::CommandFactory as _;
    match cmd {
        crate::args::GenerateCommand::Man { dir } => {
            std::fs::create_dir_all(dir).map_err(|e| Failure::io(dir, e))?;
            clap_mangen::generate_to(crate::args::Cli::command(), dir)
                .map_err(|e| Failure::io(dir, e))?;
            let pages = std::fs::read_dir(dir)
                .map_err(|e| Failure::io(dir, e))?
                .filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().ends_with(".1"))
                .count();
            Ok(Report::new(
                format!("wrote {pages} man pages to {}", dir.display()),
                json!({ "dir": dir, "pages": pages }),
            ))
        }
        crate::args::GenerateCommand::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut crate::args::Cli::command(), "warden", &mut out);
            crate::io::write_private(Path::new("-"), &out)
                .map_err(|e| Failure::io(Path::new("stdout"), e))?;
            Ok(Report::quiet(json!({ "shell": shell.to_string() })))
        }
    }
}
