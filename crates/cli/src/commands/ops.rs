//! Data operations with slot keys: sign, verify, encrypt, decrypt, mac; and random.

use serde_json::json;
use warden_client::{
    Algorithm, AlgorithmClass, CipherDirection, ContextConfig, CryptoStack, ErrorCode,
    SignatureFormat,
};

use crate::args::{
    AeadArgs, MacArgs, MacVerifyArgs, RandomArgs, SigFormat, SigOptions, SignArgs, VerifyArgs,
};
use crate::commands::keys::parse_alg;
use crate::commands::options::{cipher_options, read_mu, signing_options};
use crate::commands::regions;
use crate::failure::Failure;
use crate::io::{Input, chunk_for, emit_binary, read_file};
use crate::report::Report;

/// What a streamed input feeds, for advice when the daemon's buffer quota stops it.
#[derive(Clone, Copy)]
enum Feeding {
    /// A signature (Ed25519, ML-DSA and SLH-DSA buffer the message; ECDSA and RSA stream).
    Signature,
    /// An AEAD message (buffered whole).
    Aead,
    /// A MAC (streams; only the shared budgets can stop it).
    Mac,
}

/// A failed `update`: a `QuotaExceeded` there means the algorithm buffers the whole message in
/// the daemon and the input is past that bound, or the shared context-buffer budget is in
/// use. The advice names only what this CLI can do instead.
fn update_failure(e: warden_client::Error, feeding: Feeding) -> Failure {
    if e.code() != ErrorCode::QuotaExceeded {
        return Failure::from_client(e);
    }
    let instead = match feeding {
        Feeding::Signature => {
            "this key type buffers a message read from stdin in the daemon (at most one 64 \
             KiB buffer): pass it as a file (--in FILE), which goes through shared memory at \
             any size, or use an ECDSA-P256-SHA256 / RSA-PSS-SHA256 key, which streams; or"
        }
        Feeding::Aead => {
            "an AEAD message read from stdin is buffered whole in the daemon (at most one 64 \
             KiB buffer): pass it as a file (--in FILE), which goes through shared memory at \
             any size; or"
        }
        Feeding::Mac => "",
    };
    Failure::Daemon(
        e.code(),
        format!(
            "{instead} the daemon's context-buffer budget for your uid or for all uids is in \
             use right now (retry later; `warden status` shows your uid's live contexts)"
        )
        .trim_start()
        .to_owned(),
    )
}

/// Resolves `slot` and builds a context config for `alg` keyed by it. The returned guard
/// must stay alive until the context is created (the context then keeps the key alive).
fn keyed_config(
    stack: &CryptoStack,
    slot: &str,
    alg: Algorithm,
) -> Result<(ContextConfig, warden_client::ResourceGuard), Failure> {
    signing_config(stack, slot, alg, None, &SigOptions::default())
}

/// [`keyed_config`] for sign / verify: ECDSA signatures are DER unless `--sig-format raw`
/// (what openssl and X.509 expect); other algorithms take no `--sig-format`. The other
/// signature options are checked against `alg` before the slot is even resolved.
fn signing_config(
    stack: &CryptoStack,
    slot: &str,
    alg: Algorithm,
    sig_format: Option<SigFormat>,
    options: &SigOptions,
) -> Result<(ContextConfig, warden_client::ResourceGuard), Failure> {
    let options = signing_options(alg, sig_format, options, &format!("slot {slot}"))?;
    let key = stack
        .key_management()
        .resolve(slot)
        .map_err(Failure::from_client)?;
    let cfg = ContextConfig::builder()
        .algorithm(alg)
        .key(key.id())
        .options(options)
        .build()?;
    Ok((cfg, key))
}

/// The signature encoding for `alg`: ECDSA defaults to DER (what openssl and X.509 use),
/// `--sig-format raw` picks r||s; other algorithms have one encoding. `holder` names where
/// the key is, for the error.
pub fn signature_format(
    alg: Algorithm,
    sig_format: Option<SigFormat>,
    holder: &str,
) -> Result<SignatureFormat, Failure> {
    let ecdsa = matches!(alg, Algorithm::EcdsaP256Sha256 | Algorithm::EcdsaP384Sha384);
    match (sig_format, ecdsa) {
        (Some(SigFormat::Raw), true) => Ok(SignatureFormat::Raw),
        (Some(SigFormat::Der) | None, true) => Ok(SignatureFormat::Der),
        (None, false) => Ok(SignatureFormat::Raw),
        (Some(_), false) => Err(Failure::Usage(format!(
            "--sig-format applies to ECDSA keys; {holder} holds a key of type {}",
            alg.name()
        ))),
    }
}

/// `cfg` with the budget a whole-file (data-plane) operation over `size` bytes gets.
fn with_timeout(cfg: ContextConfig, size: Option<u64>) -> Result<ContextConfig, Failure> {
    let Some(t) = regions::timeout_for(size) else {
        return Ok(cfg);
    };
    // Everything but the timeout is kept, per-context options (e.g. `--sig-format`) included.
    let mut b = ContextConfig::builder()
        .algorithm(cfg.algorithm())
        .timeout(t)
        .options(*cfg.options());
    if let Some(k) = cfg.key() {
        b = b.key(k);
    }
    if let Some(d) = cfg.direction() {
        b = b.direction(d);
    }
    Ok(b.build()?)
}

/// Streams the input at `path` (stdin when `None`) through `update`, in chunks that fit the
/// daemon's frame limit.
fn feed(
    stack: &CryptoStack,
    path: Option<&std::path::Path>,
    feeding: Feeding,
    mut update: impl FnMut(&[u8]) -> Result<(), warden_client::Error>,
) -> Result<u64, Failure> {
    Input::open(path)?.stream(chunk_for(stack.max_frame_len()), |chunk| {
        update(chunk).map_err(|e| update_failure(e, feeding))
    })
}

/// Largest signature file read.
const MAX_SIG_FILE: usize = 64 * 1024;

/// The algorithm a slot's key signs with: the key type *is* the signature algorithm.
fn slot_algorithm(stack: &CryptoStack, slot: &str) -> Result<Algorithm, Failure> {
    stack
        .key_management()
        .slot_info(slot)
        .map(|s| s.algorithm)
        .map_err(Failure::from_client)
}

/// The algorithm of the key in `slot`, which must be a signature key (sign and verify).
fn signature_key(stack: &CryptoStack, slot: &str) -> Result<Algorithm, Failure> {
    let alg = slot_algorithm(stack, slot)?;
    if alg.class() != AlgorithmClass::Signature {
        return Err(Failure::Usage(format!(
            "slot {slot} holds a key of type {}, not a signature key",
            alg.name()
        )));
    }
    Ok(alg)
}

/// `warden sign`
pub fn sign(stack: &CryptoStack, a: &SignArgs, json_mode: bool) -> Result<Report, Failure> {
    let alg = signature_key(stack, &a.slot)?;
    let (cfg, _key) = signing_config(stack, &a.slot, alg, a.sig_format, &a.options)?;
    if a.options.external_mu {
        // The input is μ itself: 64 bytes, never streamed or mapped.
        let mu = read_mu(a.io.input.as_deref())?;
        let mut ctx = stack
            .create_sign_context(&cfg)
            .map_err(Failure::from_client)?;
        let sig = ctx.sign(&mu).map_err(Failure::from_client)?;
        return emit_binary(&sig, a.io.out.as_deref(), a.io.hex, json_mode, "signature");
    }
    let cfg = with_timeout(cfg, regions::large_file(stack, a.io.input.as_deref()))?;
    let mut ctx = stack
        .create_sign_context(&cfg)
        .map_err(Failure::from_client)?;
    if let (Some(size), Some(path)) = (
        regions::large_file(stack, a.io.input.as_deref()),
        a.io.input.as_deref(),
    ) {
        let sig = regions::sign(&mut ctx, stack, path, size)?;
        return emit_binary(&sig, a.io.out.as_deref(), a.io.hex, json_mode, "signature");
    }
    ctx.init().map_err(Failure::from_client)?;
    feed(stack, a.io.input.as_deref(), Feeding::Signature, |chunk| {
        ctx.update(chunk)
    })?;
    let sig = ctx.finalize().map_err(Failure::from_client)?;
    emit_binary(&sig, a.io.out.as_deref(), a.io.hex, json_mode, "signature")
}

/// `warden verify`: exit 1 when the signature does not verify.
pub fn verify(
    stack: &CryptoStack,
    a: &VerifyArgs,
    slot: &str,
    json_mode: bool,
) -> Result<Report, Failure> {
    let alg = signature_key(stack, slot)?;
    let sig = read_file(&a.sig, MAX_SIG_FILE)?;
    let (cfg, _key) = signing_config(stack, slot, alg, a.sig_format, &a.options)?;
    // An external μ is read whole (64 bytes), so it never takes the data-plane path.
    let mu = a
        .options
        .external_mu
        .then(|| read_mu(a.input.as_deref()))
        .transpose()?;
    let large = regions::large_file(stack, a.input.as_deref()).filter(|_| mu.is_none());
    let cfg = with_timeout(cfg, large)?;
    let mut ctx = stack
        .create_verify_context(&cfg)
        .map_err(Failure::from_client)?;
    let result = match (large, a.input.as_deref(), mu) {
        (_, _, Some(mu)) => ctx.verify(&mu, &sig),
        (Some(size), Some(path), None) => regions::verify(&mut ctx, stack, path, size, &sig)?,
        _ => {
            ctx.init().map_err(Failure::from_client)?;
            feed(stack, a.input.as_deref(), Feeding::Signature, |chunk| {
                ctx.update(chunk)
            })?;
            ctx.finalize(&sig)
        }
    };
    match result {
        Ok(()) => Ok(Report::new(
            "signature ok",
            json!({ "slot": slot, "valid": true }),
        )),
        Err(e)
            if e.code() == ErrorCode::OperationFailed || e.code() == ErrorCode::InvalidFormat =>
        {
            if json_mode {
                // Machine output says so on stdout too (exit code 1 either way).
                return Err(Failure::Denied(Report::quiet(
                    json!({ "slot": slot, "valid": false }),
                )));
            }
            eprintln!("warden: signature does NOT verify");
            Err(Failure::VerifyFailed)
        }
        Err(e) => Err(Failure::from_client(e)),
    }
}

fn is_oaep(alg: Algorithm) -> bool {
    matches!(
        alg,
        Algorithm::RsaOaepSha1
            | Algorithm::RsaOaepSha256
            | Algorithm::RsaOaepSha384
            | Algorithm::RsaOaepSha512
    )
}

/// The AEAD (or RSA-OAEP) to use with a slot's key.
fn aead_algorithm(stack: &CryptoStack, a: &AeadArgs, verb: &str) -> Result<Algorithm, Failure> {
    if let Some(name) = &a.alg {
        return parse_alg(name);
    }
    match slot_algorithm(stack, &a.slot)? {
        Algorithm::Aes256Key => Ok(Algorithm::Aes256Gcm),
        Algorithm::Aes128Key => Ok(Algorithm::Aes128Gcm),
        Algorithm::Aes192Key => Ok(Algorithm::Aes192Gcm),
        Algorithm::ChaCha20Key => Ok(Algorithm::ChaCha20Poly1305),
        // An RSA-OAEP key's own name is its default hash (`--alg` picks another).
        oaep if is_oaep(oaep) => Ok(oaep),
        other => Err(Failure::Usage(format!(
            "slot {} holds a key of type {}; {verb} needs an AES, CHACHA20 or RSA-OAEP key",
            a.slot,
            other.name()
        ))),
    }
}

fn aead_context(
    stack: &CryptoStack,
    a: &AeadArgs,
    alg: Algorithm,
    direction: CipherDirection,
) -> Result<
    (
        warden_client::AeadContext,
        Algorithm,
        warden_client::ResourceGuard,
    ),
    Failure,
> {
    let key = stack
        .key_management()
        .resolve(&a.slot)
        .map_err(Failure::from_client)?;
    let mut b = ContextConfig::builder()
        .algorithm(alg)
        .key(key.id())
        .direction(direction);
    if let Some(t) = regions::timeout_for(regions::large_file(stack, a.io.input.as_deref())) {
        b = b.timeout(t);
    }
    let cfg = b.build()?;
    let ctx = stack
        .create_aead_context(&cfg)
        .map_err(Failure::from_client)?;
    Ok((ctx, alg, key))
}

/// `warden encrypt`: output = nonce ‖ ciphertext ‖ tag.
pub fn encrypt(stack: &CryptoStack, a: &AeadArgs, json_mode: bool) -> Result<Report, Failure> {
    let alg = aead_algorithm(stack, a, "encrypt")?;
    if is_oaep(alg) {
        return rsa_oaep(stack, a, alg, CipherDirection::Encrypt, json_mode);
    }
    // Refuses --oaep-label for an AEAD (it has --aad).
    cipher_options(alg, a.oaep_label.as_deref(), &format!("slot {}", a.slot))?;
    let (mut ctx, alg, _key) = aead_context(stack, a, alg, CipherDirection::Encrypt)?;
    let lengths = alg
        .aead_lengths()
        .ok_or_else(|| Failure::Usage(format!("{} is not an AEAD", alg.name())))?;
    if let (Some(size), Some(path)) = (
        regions::large_file(stack, a.io.input.as_deref()),
        a.io.input.as_deref(),
    ) {
        let aad = a.aad.as_deref().map_or(&[][..], str::as_bytes);
        let lens = (lengths.nonce_len, lengths.tag_len);
        return regions::encrypt(&mut ctx, stack, path, size, lens, aad, |out| {
            emit_binary(out, a.io.out.as_deref(), a.io.hex, json_mode, "ciphertext")
        });
    }
    // The daemon draws a fresh nonce for every message (an empty init nonce) and returns it
    // with the last output; the CLI never picks one, so slot keys need no caller-nonce bit.
    ctx.init(&[]).map_err(Failure::from_client)?;
    if let Some(aad) = &a.aad {
        ctx.set_aad(aad.as_bytes()).map_err(Failure::from_client)?;
    }
    let mut body = Vec::new();
    Input::open(a.io.input.as_deref())?.stream(chunk_for(stack.max_frame_len()), |chunk| {
        body.extend(
            ctx.update(chunk)
                .map_err(|e| update_failure(e, Feeding::Aead))?,
        );
        Ok(())
    })?;
    body.extend(ctx.finalize(&[]).map_err(Failure::from_client)?);
    if ctx.nonce().len() != lengths.nonce_len {
        // A daemon from before nonce reporting; the output could never be decrypted.
        return Err(Failure::Daemon(
            ErrorCode::UnsupportedOperation,
            "the daemon did not report the encryption nonce; upgrade wardend".into(),
        ));
    }
    let mut out = Vec::with_capacity(lengths.nonce_len + body.len() + lengths.tag_len);
    out.extend_from_slice(ctx.nonce());
    out.extend(body);
    out.extend_from_slice(ctx.tag());
    emit_binary(&out, a.io.out.as_deref(), a.io.hex, json_mode, "ciphertext")
}

/// `warden decrypt`: exit 1 when authentication fails; no plaintext is written then.
pub fn decrypt(stack: &CryptoStack, a: &AeadArgs, json_mode: bool) -> Result<Report, Failure> {
    let alg = aead_algorithm(stack, a, "decrypt")?;
    if is_oaep(alg) {
        return rsa_oaep(stack, a, alg, CipherDirection::Decrypt, json_mode);
    }
    // Refuses --oaep-label for an AEAD (it has --aad).
    cipher_options(alg, a.oaep_label.as_deref(), &format!("slot {}", a.slot))?;
    let (mut ctx, alg, _key) = aead_context(stack, a, alg, CipherDirection::Decrypt)?;
    let lengths = alg
        .aead_lengths()
        .ok_or_else(|| Failure::Usage(format!("{} is not an AEAD", alg.name())))?;
    if let (Some(size), Some(path)) = (
        regions::large_file(stack, a.io.input.as_deref()),
        a.io.input.as_deref(),
    ) {
        let aad = a.aad.as_deref().map_or(&[][..], str::as_bytes);
        let lens = (lengths.nonce_len, lengths.tag_len);
        let emit = |plain: &[u8]| {
            emit_binary(plain, a.io.out.as_deref(), a.io.hex, json_mode, "plaintext")
        };
        return match regions::decrypt(&mut ctx, stack, path, size, lens, aad, emit)? {
            Ok(report) => Ok(report),
            Err(e) if e.code() == ErrorCode::OperationFailed => {
                eprintln!("warden: decryption failed (wrong key, AAD, or tampered data)");
                Err(Failure::VerifyFailed)
            }
            Err(e) => Err(Failure::from_client(e)),
        };
    }
    // Stream: the first bytes are the nonce, the last `tag_len` bytes the tag; everything in
    // between goes to `update` as it arrives. Plaintext is written only after the tag checks.
    let mut pending: Vec<u8> = Vec::new();
    let mut started = false;
    let mut plain = Vec::new();
    let aad = a.aad.as_deref().map(str::as_bytes);
    Input::open(a.io.input.as_deref())?.stream(chunk_for(stack.max_frame_len()), |chunk| {
        pending.extend_from_slice(chunk);
        if !started {
            if pending.len() < lengths.nonce_len {
                return Ok(());
            }
            let nonce: Vec<u8> = pending.drain(..lengths.nonce_len).collect();
            ctx.init(&nonce).map_err(Failure::from_client)?;
            if let Some(aad) = aad {
                ctx.set_aad(aad).map_err(Failure::from_client)?;
            }
            started = true;
        }
        if pending.len() > lengths.tag_len {
            let ready: Vec<u8> = pending.drain(..pending.len() - lengths.tag_len).collect();
            plain.extend(
                ctx.update(&ready)
                    .map_err(|e| update_failure(e, Feeding::Aead))?,
            );
        }
        Ok(())
    })?;
    if !started || pending.len() < lengths.tag_len {
        return Err(Failure::Usage(
            "input is shorter than a nonce and a tag".into(),
        ));
    }
    let tag = pending;
    ctx.set_tag(&tag);
    match ctx.finalize(&[]) {
        Ok(tail) => plain.extend(tail),
        Err(e) if e.code() == ErrorCode::OperationFailed => {
            eprintln!("warden: decryption failed (wrong key, AAD, or tampered data)");
            return Err(Failure::VerifyFailed);
        }
        Err(e) => return Err(Failure::from_client(e)),
    }
    emit_binary(
        &plain,
        a.io.out.as_deref(),
        a.io.hex,
        json_mode,
        "plaintext",
    )
}

/// Largest RSA-OAEP input: one block (a 4096-bit modulus is 512 bytes).
const MAX_OAEP_INPUT: usize = 512;

/// `warden encrypt|decrypt` with an RSA-OAEP key (MGF1 with the OAEP hash, the label of
/// `--oaep-label`, empty by default): one short message, no nonce, no AAD. Decryption
/// failure is opaque and exits 1 like an AEAD's.
fn rsa_oaep(
    stack: &CryptoStack,
    a: &AeadArgs,
    alg: Algorithm,
    direction: CipherDirection,
    json_mode: bool,
) -> Result<Report, Failure> {
    if a.aad.is_some() {
        return Err(Failure::Usage(format!(
            "{} takes no --aad; an RSA-OAEP label is --oaep-label",
            alg.name()
        )));
    }
    let options = cipher_options(alg, a.oaep_label.as_deref(), &format!("slot {}", a.slot))?;
    let input = Input::open(a.io.input.as_deref())?.read_all(MAX_OAEP_INPUT)?;
    let key = stack
        .key_management()
        .resolve(&a.slot)
        .map_err(Failure::from_client)?;
    let cfg = ContextConfig::builder()
        .algorithm(alg)
        .key(key.id())
        .direction(direction)
        .options(options)
        .build()?;
    let mut ctx = stack
        .create_cipher_context(&cfg)
        .map_err(Failure::from_client)?;
    ctx.init(&[]).map_err(Failure::from_client)?;
    let (out, field) = match (ctx.finalize(&input), direction) {
        (Ok(ct), CipherDirection::Encrypt) => (ct, "ciphertext"),
        (Ok(pt), _) => (pt, "plaintext"),
        (Err(e), CipherDirection::Decrypt) if e.code() == ErrorCode::OperationFailed => {
            eprintln!("warden: decryption failed (wrong key, label, or tampered data)");
            return Err(Failure::VerifyFailed);
        }
        (Err(e), _) if e.code() == ErrorCode::InvalidArgument => {
            return Err(Failure::Usage(
                "input too long for one RSA-OAEP block with this key; encrypt a short secret \
                 (e.g. an AES key), not a file"
                    .to_owned(),
            ));
        }
        (Err(e), _) => return Err(Failure::from_client(e)),
    };
    emit_binary(&out, a.io.out.as_deref(), a.io.hex, json_mode, field)
}

/// `warden mac`
pub fn mac(stack: &CryptoStack, a: &MacArgs, json_mode: bool) -> Result<Report, Failure> {
    let slot = a
        .slot
        .as_deref()
        .ok_or_else(|| Failure::Usage("--slot is required".to_owned()))?;
    let alg = parse_alg(&a.alg)?;
    let (cfg, _key) = keyed_config(stack, slot, alg)?;
    let mut ctx = stack
        .create_mac_context(&cfg)
        .map_err(Failure::from_client)?;
    ctx.init().map_err(Failure::from_client)?;
    feed(stack, a.io.input.as_deref(), Feeding::Mac, |chunk| {
        ctx.update(chunk)
    })?;
    let tag = ctx.finalize().map_err(Failure::from_client)?;
    // A MAC is short and usually wanted as text: hex unless written to a file.
    let hex = a.io.hex || crate::io::named(a.io.out.as_deref()).is_none();
    emit_binary(&tag, a.io.out.as_deref(), hex, json_mode, "mac")
}

/// Largest tag file read (hex of a 64-byte tag, with room for whitespace).
const MAX_TAG_FILE: usize = 1024;

/// A tag file's bytes: hex text (what `warden mac` prints) when it is exactly that, else raw.
fn tag_bytes(file: &[u8], alg: Algorithm) -> Vec<u8> {
    let text = std::str::from_utf8(file).map(str::trim);
    let tag_len = alg.digest_len();
    if let Ok(t) = text
        && tag_len.is_some_and(|n| t.len() == 2 * n)
        && let Ok(bytes) = hex::decode(t)
    {
        return bytes;
    }
    file.to_vec()
}

/// `warden mac verify`: the daemon compares in constant time; exit 1 on a mismatch.
pub fn mac_verify(
    stack: &CryptoStack,
    a: &MacVerifyArgs,
    json_mode: bool,
) -> Result<Report, Failure> {
    let alg = parse_alg(&a.alg)?;
    let tag = tag_bytes(&read_file(&a.tag, MAX_TAG_FILE)?, alg);
    if tag.is_empty() {
        return Err(Failure::Usage(format!("{} is empty", a.tag.display())));
    }
    let (cfg, _key) = keyed_config(stack, &a.slot, alg)?;
    let mut ctx = stack
        .create_mac_context(&cfg)
        .map_err(Failure::from_client)?;
    ctx.init().map_err(Failure::from_client)?;
    feed(stack, a.input.as_deref(), Feeding::Mac, |chunk| {
        ctx.update(chunk)
    })?;
    match ctx.verify(&tag) {
        Ok(()) => Ok(Report::new(
            "mac ok",
            json!({ "slot": a.slot, "valid": true }),
        )),
        Err(e) if e.code() == ErrorCode::OperationFailed => {
            if json_mode {
                return Err(Failure::Denied(Report::quiet(
                    json!({ "slot": a.slot, "valid": false }),
                )));
            }
            eprintln!("warden: mac does NOT match");
            Err(Failure::VerifyFailed)
        }
        Err(e) => Err(Failure::from_client(e)),
    }
}

/// `warden random`
pub fn random(stack: &CryptoStack, a: &RandomArgs, json_mode: bool) -> Result<Report, Failure> {
    const MAX: usize = 1 << 20;
    if a.bytes == 0 || a.bytes > MAX {
        return Err(Failure::Usage(format!("--bytes must be 1..={MAX}")));
    }
    let bytes = stack.random(a.bytes).map_err(Failure::from_client)?;
    emit_binary(&bytes, a.out.as_deref(), a.hex, json_mode, "random")
}
