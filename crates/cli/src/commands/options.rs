//! The per-context options of `sign`, `verify`, `encrypt` and `decrypt` (`--sig-format`,
//! `--pss-salt-len`, `--context`, `--external-mu`, `--oaep-label`) as the library's
//! `ContextOptions`. A flag the key's algorithm cannot use is refused here, naming the flag
//! and the algorithms that take it: the daemon (or the local provider) refuses it too, but
//! its message names no flag.

use std::path::Path;

use warden_client::{Algorithm, ContextOptions};
use warden_core::{MAX_OAEP_LABEL_LEN, MAX_SIGNATURE_CONTEXT_LEN, ML_DSA_MU_LEN};

use crate::args::{SigFormat, SigOptions};
use crate::commands::ops::signature_format;
use crate::failure::Failure;
use crate::io::{Input, is_std, read_file};

/// Largest `@FILE` read for a byte-valued flag; longer values are refused by length anyway.
const MAX_VALUE_FILE: usize = 4096;

/// The bytes of a byte-valued flag: `hex:HEX` decodes hex, `@FILE` is the file's bytes, any
/// other value is taken as UTF-8 text (as `--aad` is). A text value that itself starts with
/// `hex:` or `@` has to come from a file.
pub fn byte_value(flag: &str, value: &str) -> Result<Vec<u8>, Failure> {
    if let Some(h) = value.strip_prefix("hex:") {
        return hex::decode(h).map_err(|_| {
            Failure::Usage(format!("{flag} hex:… must be an even number of hex digits"))
        });
    }
    if let Some(file) = value.strip_prefix('@') {
        let path = Path::new(file);
        // stdin carries the message (or the ciphertext); it cannot carry the option too.
        if file.is_empty() || is_std(path) {
            return Err(Failure::Usage(format!(
                "{flag} @FILE needs a file name (stdin is the input)"
            )));
        }
        return read_file(path, MAX_VALUE_FILE);
    }
    Ok(value.as_bytes().to_vec())
}

/// `Usage` unless `probe` (an option set to a non-default value) suits `alg`: `check` is the
/// library's own rule, so the CLI's refusal cannot drift from what the daemon enforces.
fn applies(
    alg: Algorithm,
    probe: ContextOptions,
    flag: &str,
    takers: &str,
    holder: &str,
) -> Result<(), Failure> {
    probe.check(alg).map_err(|_| {
        Failure::Usage(format!(
            "{flag} applies to {takers} only, not {} ({holder})",
            alg.name()
        ))
    })
}

/// The options of a sign or verify context for `alg`; `holder` names the key ("slot X",
/// "--pubkey") for the errors.
pub fn signing_options(
    alg: Algorithm,
    sig_format: Option<SigFormat>,
    o: &SigOptions,
    holder: &str,
) -> Result<ContextOptions, Failure> {
    let mut out =
        ContextOptions::default().with_signature_format(signature_format(alg, sig_format, holder)?);
    if let Some(n) = o.pss_salt_len {
        let probe = ContextOptions::default().with_pss_salt_len(0);
        applies(
            alg,
            probe,
            "--pss-salt-len",
            "RSA-PSS-SHA256/384/512",
            holder,
        )?;
        out = out.with_pss_salt_len(n);
    }
    if let Some(v) = &o.context {
        let probe = ContextOptions::default().with_signature_context(b"x")?;
        let takers = "ML-DSA-44/65/87, HASH-ML-DSA-44/65/87-SHA512 and ED25519PH";
        applies(alg, probe, "--context", takers, holder)?;
        let ctx = byte_value("--context", v)?;
        if ctx.len() > MAX_SIGNATURE_CONTEXT_LEN {
            return Err(Failure::Usage(format!(
                "--context is {} bytes; a signature context is at most \
                 {MAX_SIGNATURE_CONTEXT_LEN}",
                ctx.len()
            )));
        }
        out = out.with_signature_context(&ctx)?;
    }
    if o.external_mu {
        let probe = ContextOptions::default().with_external_mu(true);
        applies(alg, probe, "--external-mu", "ML-DSA-44/65/87", holder)?;
        out = out.with_external_mu(true);
    }
    // Anything the checks above missed is still refused before the daemon is asked.
    out.check(alg)?;
    Ok(out)
}

/// The options of an encrypt / decrypt context for `alg` (`--oaep-label` only).
pub fn cipher_options(
    alg: Algorithm,
    oaep_label: Option<&str>,
    holder: &str,
) -> Result<ContextOptions, Failure> {
    let Some(v) = oaep_label else {
        return Ok(ContextOptions::default());
    };
    let probe = ContextOptions::default().with_oaep_label(b"x")?;
    applies(
        alg,
        probe,
        "--oaep-label",
        "RSA-OAEP-SHA1/256/384/512",
        holder,
    )?;
    let label = byte_value("--oaep-label", v)?;
    if label.len() > MAX_OAEP_LABEL_LEN {
        return Err(Failure::Usage(format!(
            "--oaep-label is {} bytes; an RSA-OAEP label is at most {MAX_OAEP_LABEL_LEN}",
            label.len()
        )));
    }
    let out = ContextOptions::default().with_oaep_label(&label)?;
    out.check(alg)?;
    Ok(out)
}

/// The input of an `--external-mu` sign or verify: exactly the 64-byte μ, read whole so a
/// wrong length is a usage error naming the flag rather than a daemon refusal.
pub fn read_mu(path: Option<&Path>) -> Result<Vec<u8>, Failure> {
    let mu = Input::open(path)?.read_all(MAX_VALUE_FILE)?;
    if mu.len() != ML_DSA_MU_LEN {
        return Err(Failure::Usage(format!(
            "--external-mu: the input must be the {ML_DSA_MU_LEN}-byte μ, not {} bytes",
            mu.len()
        )));
    }
    Ok(mu)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn usage(r: Result<impl std::fmt::Debug, Failure>) -> String {
        match r {
            Err(Failure::Usage(m)) => m,
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn byte_values_are_text_hex_or_a_file() {
        assert_eq!(byte_value("--context", "abc").unwrap(), b"abc");
        assert_eq!(byte_value("--context", "hex:00ff").unwrap(), [0, 0xff]);
        assert_eq!(byte_value("--context", "hex:").unwrap(), b"");
        assert!(usage(byte_value("--context", "hex:0")).contains("--context"));
        assert!(usage(byte_value("--context", "hex:zz")).contains("hex"));
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ctx");
        std::fs::write(&f, b"\x00from a file").unwrap();
        let at = format!("@{}", f.display());
        assert_eq!(byte_value("--oaep-label", &at).unwrap(), b"\x00from a file");
        assert!(usage(byte_value("--oaep-label", "@-")).contains("stdin"));
        assert!(usage(byte_value("--oaep-label", "@")).contains("file name"));
        let missing = format!("@{}", dir.path().join("nope").display());
        assert!(matches!(
            byte_value("--oaep-label", &missing),
            Err(Failure::Io(_))
        ));
    }

    #[test]
    fn a_flag_on_the_wrong_algorithm_names_the_flag_and_its_algorithms() {
        let salt = SigOptions {
            pss_salt_len: Some(20),
            ..SigOptions::default()
        };
        let o = signing_options(Algorithm::RsaPssSha384, None, &salt, "slot k").unwrap();
        assert_eq!(o.pss_salt_len(), Some(20));
        let m = usage(signing_options(Algorithm::Ed25519, None, &salt, "slot k"));
        assert!(m.contains("--pss-salt-len applies to RSA-PSS"), "{m}");
        assert!(m.contains("not ED25519 (slot k)"), "{m}");

        let ctx = SigOptions {
            context: Some("hex:0102".into()),
            ..SigOptions::default()
        };
        let o = signing_options(Algorithm::MlDsa65, None, &ctx, "slot k").unwrap();
        assert_eq!(o.signature_context(), [1, 2]);
        // Pure Ed25519 has no context (only Ed25519ph / Ed25519ctx do; warden has ph).
        let m = usage(signing_options(Algorithm::Ed25519, None, &ctx, "--pubkey"));
        assert!(m.contains("--context applies to ML-DSA"), "{m}");
        assert!(signing_options(Algorithm::Ed25519ph, None, &ctx, "k").is_ok());
        let long = SigOptions {
            context: Some("x".repeat(256)),
            ..SigOptions::default()
        };
        let m = usage(signing_options(Algorithm::MlDsa44, None, &long, "k"));
        assert!(m.contains("at most 255"), "{m}");
        // Even an empty value is refused where no context applies: the user asked for one.
        let empty = SigOptions {
            context: Some(String::new()),
            ..SigOptions::default()
        };
        usage(signing_options(
            Algorithm::EcdsaP256Sha256,
            None,
            &empty,
            "k",
        ));

        let mu = SigOptions {
            external_mu: true,
            ..SigOptions::default()
        };
        assert!(
            signing_options(Algorithm::MlDsa87, None, &mu, "k")
                .unwrap()
                .external_mu()
        );
        let m = usage(signing_options(
            Algorithm::HashMlDsa65Sha512,
            None,
            &mu,
            "k",
        ));
        assert!(
            m.contains("--external-mu applies to ML-DSA-44/65/87"),
            "{m}"
        );
        // Both together: the library's own check still refuses (clap refuses first).
        let both = SigOptions {
            context: Some("a".into()),
            external_mu: true,
            ..SigOptions::default()
        };
        usage(signing_options(Algorithm::MlDsa65, None, &both, "k"));
    }

    #[test]
    fn the_oaep_label_is_for_rsa_oaep_only() {
        let o = cipher_options(Algorithm::RsaOaepSha1, Some("purpose"), "slot r").unwrap();
        assert_eq!(o.oaep_label(), b"purpose");
        assert_eq!(
            cipher_options(Algorithm::Aes256Gcm, None, "slot a").unwrap(),
            ContextOptions::default()
        );
        let m = usage(cipher_options(Algorithm::Aes256Gcm, Some("x"), "slot a"));
        assert!(m.contains("--oaep-label applies to RSA-OAEP"), "{m}");
        let long = "y".repeat(257);
        let m = usage(cipher_options(Algorithm::RsaOaepSha256, Some(&long), "r"));
        assert!(m.contains("at most 256"), "{m}");
    }
}
