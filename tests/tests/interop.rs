//! warden beside openssl, through the `warden` CLI and a real `wardend` (issue 15): key files
//! go both ways (`key import` detects PEM / DER / raw; warden's own `key public` output and
//! openssl's are accepted) and signatures verify across the two.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use warden_e2e::{Daemon, wardend_path};

fn warden_bin() -> PathBuf {
    let wardend = wardend_path().expect("wardend built (cargo build --bins)");
    wardend.with_file_name("warden")
}

fn have_openssl() -> bool {
    let ok = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipping: openssl is not installed (scripts/setup.sh installs it)");
    }
    ok
}

struct Cli<'a> {
    d: &'a Daemon,
}

impl Cli<'_> {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(warden_bin())
            .arg("--socket")
            .arg(self.d.socket_path())
            .args(args)
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> Vec<u8> {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "warden {args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }
}

fn openssl(args: &[&str]) -> Output {
    Command::new("openssl").args(args).output().unwrap()
}

fn openssl_ok(args: &[&str]) {
    let out = openssl(args);
    assert!(
        out.status.success(),
        "openssl {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The openssl `genpkey` arguments for a warden algorithm's key.
fn genpkey(alg: &str) -> Vec<&'static str> {
    match alg {
        "ED25519" => vec!["-algorithm", "ed25519"],
        "ECDSA-P256-SHA256" => vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "ECDSA-P384-SHA384" => vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
        "RSA-PSS-SHA256" => vec!["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        other => panic!("no genpkey for {other}"),
    }
}

#[test]
fn key_import_takes_spki_der_from_warden_and_openssl() {
    if !have_openssl() {
        return;
    }
    let d = Daemon::start().unwrap();
    let cli = Cli { d: &d };
    let dir = tempfile::tempdir().unwrap();
    for alg in [
        "ED25519",
        "ECDSA-P256-SHA256",
        "ECDSA-P384-SHA384",
        "RSA-PSS-SHA256",
    ] {
        let tag = alg.to_ascii_lowercase();
        // warden's own DER SubjectPublicKeyInfo, imported with --format der and detected.
        let own = dir.path().join(format!("{tag}-own.der"));
        let mut generate = vec!["key", "generate", "--alg", alg, "--slot"];
        let slot = format!("{tag}-gen");
        generate.push(&slot);
        if alg.starts_with("RSA") {
            generate.extend(["--size", "2048"]);
        }
        cli.ok(&generate);
        cli.ok(&[
            "key",
            "public",
            "--slot",
            &slot,
            "--format",
            "der",
            "--out",
            p(&own),
        ]);
        let want = std::fs::read(&own).unwrap();
        for (suffix, extra) in [("explicit", Some("der")), ("detected", None)] {
            let s = format!("{tag}-own-{suffix}");
            let mut args = vec!["key", "import", "--alg", alg, "--slot", &s, "--in", p(&own)];
            if let Some(f) = extra {
                args.extend(["--format", f]);
            }
            cli.ok(&args);
            let again = cli.ok(&["key", "public", "--slot", &s, "--format", "der", "--hex"]);
            assert_eq!(
                String::from_utf8(again).unwrap().trim(),
                want.iter().map(|b| format!("{b:02x}")).collect::<String>(),
                "{alg} {suffix}: the imported key is the exported one"
            );
        }
        // openssl's key pair: the private key as PKCS#8 DER and PEM, the public key as
        // SubjectPublicKeyInfo DER and PEM, each detected without --format.
        let priv_pem = dir.path().join(format!("{tag}-ossl.pem"));
        let mut args = vec!["genpkey"];
        args.extend(genpkey(alg));
        args.extend(["-out", p(&priv_pem)]);
        openssl_ok(&args);
        let priv_der = dir.path().join(format!("{tag}-ossl.p8.der"));
        openssl_ok(&[
            "pkcs8",
            "-topk8",
            "-nocrypt",
            "-in",
            p(&priv_pem),
            "-outform",
            "DER",
            "-out",
            p(&priv_der),
        ]);
        let pub_der = dir.path().join(format!("{tag}-ossl.pub.der"));
        let pub_pem = dir.path().join(format!("{tag}-ossl.pub.pem"));
        openssl_ok(&[
            "pkey",
            "-in",
            p(&priv_pem),
            "-pubout",
            "-outform",
            "DER",
            "-out",
            p(&pub_der),
        ]);
        openssl_ok(&["pkey", "-in", p(&priv_pem), "-pubout", "-out", p(&pub_pem)]);
        let ossl_pub = std::fs::read(&pub_der).unwrap();
        for (name, file) in [
            ("p8der", &priv_der),
            ("pem", &priv_pem),
            ("pubder", &pub_der),
            ("pubpem", &pub_pem),
        ] {
            let s = format!("{tag}-ossl-{name}");
            cli.ok(&["key", "import", "--alg", alg, "--slot", &s, "--in", p(file)]);
            let got = cli.ok(&["key", "public", "--slot", &s, "--format", "der", "--hex"]);
            assert_eq!(
                String::from_utf8(got).unwrap().trim(),
                ossl_pub
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>(),
                "{alg} {name}: warden holds openssl's key"
            );
        }
    }
    // A file that is neither PEM nor a DER key, forced as DER: a usage error (exit 2), and
    // a DER key of the wrong algorithm: refused by the daemon (exit 3), not imported.
    let junk = dir.path().join("junk");
    std::fs::write(&junk, [7u8; 32]).unwrap();
    let out = cli.run(&[
        "key",
        "import",
        "--alg",
        "ED25519",
        "--slot",
        "junk",
        "--in",
        p(&junk),
        "--format",
        "der",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ed_pub = dir.path().join("ed25519-ossl.pub.der");
    let out = cli.run(&[
        "key",
        "import",
        "--alg",
        "ECDSA-P256-SHA256",
        "--slot",
        "wrong",
        "--in",
        p(&ed_pub),
    ]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn ecdsa_signatures_verify_across_warden_and_openssl() {
    if !have_openssl() {
        return;
    }
    let d = Daemon::start().unwrap();
    let cli = Cli { d: &d };
    let dir = tempfile::tempdir().unwrap();
    let msg = dir.path().join("msg");
    std::fs::write(
        &msg,
        b"signed by warden, checked by openssl, and back".repeat(999),
    )
    .unwrap();
    for (alg, digest) in [
        ("ECDSA-P256-SHA256", "-sha256"),
        ("ECDSA-P384-SHA384", "-sha384"),
    ] {
        let tag = alg.to_ascii_lowercase();
        let slot = format!("{tag}-sig");
        cli.ok(&["key", "generate", "--alg", alg, "--slot", &slot]);
        let pubkey = dir.path().join(format!("{tag}.pub.pem"));
        cli.ok(&["key", "public", "--slot", &slot, "--out", p(&pubkey)]);
        // warden signs (DER by default) → openssl verifies.
        let sig = dir.path().join(format!("{tag}.sig"));
        cli.ok(&["sign", "--slot", &slot, "--in", p(&msg), "--out", p(&sig)]);
        openssl_ok(&[
            "dgst",
            digest,
            "-verify",
            p(&pubkey),
            "-signature",
            p(&sig),
            p(&msg),
        ]);
        // An explicit --sig-format der is the same encoding; raw r||s is not what openssl
        // reads, and openssl says so.
        let raw = dir.path().join(format!("{tag}.raw.sig"));
        cli.ok(&[
            "sign",
            "--slot",
            &slot,
            "--sig-format",
            "raw",
            "--in",
            p(&msg),
            "--out",
            p(&raw),
        ]);
        assert!(
            !openssl(&[
                "dgst",
                digest,
                "-verify",
                p(&pubkey),
                "-signature",
                p(&raw),
                p(&msg)
            ])
            .status
            .success()
        );
        cli.ok(&[
            "verify",
            "--slot",
            &slot,
            "--sig-format",
            "raw",
            "--sig",
            p(&raw),
            "--in",
            p(&msg),
        ]);
        cli.ok(&[
            "verify",
            "--slot",
            &slot,
            "--sig-format",
            "der",
            "--sig",
            p(&sig),
            "--in",
            p(&msg),
        ]);
        // openssl signs with its own key → warden verifies with the imported public key.
        let ossl_key = dir.path().join(format!("{tag}.ossl.pem"));
        let mut args = vec!["genpkey"];
        args.extend(genpkey(alg));
        args.extend(["-out", p(&ossl_key)]);
        openssl_ok(&args);
        let ossl_pub = dir.path().join(format!("{tag}.ossl.pub.pem"));
        openssl_ok(&["pkey", "-in", p(&ossl_key), "-pubout", "-out", p(&ossl_pub)]);
        let ossl_sig = dir.path().join(format!("{tag}.ossl.sig"));
        openssl_ok(&[
            "dgst",
            digest,
            "-sign",
            p(&ossl_key),
            "-out",
            p(&ossl_sig),
            p(&msg),
        ]);
        let vslot = format!("{tag}-ossl");
        cli.ok(&[
            "key",
            "import",
            "--alg",
            alg,
            "--slot",
            &vslot,
            "--in",
            p(&ossl_pub),
        ]);
        cli.ok(&[
            "verify",
            "--slot",
            &vslot,
            "--sig",
            p(&ossl_sig),
            "--in",
            p(&msg),
        ]);
        // A different message does not verify (exit 1), nor does openssl's signature as raw.
        let other = dir.path().join("other");
        std::fs::write(&other, b"something else").unwrap();
        let out = cli.run(&[
            "verify",
            "--slot",
            &vslot,
            "--sig",
            p(&ossl_sig),
            "--in",
            p(&other),
        ]);
        assert_eq!(out.status.code(), Some(1));
        let out = cli.run(&[
            "verify",
            "--slot",
            &vslot,
            "--sig-format",
            "raw",
            "--sig",
            p(&ossl_sig),
            "--in",
            p(&msg),
        ]);
        assert_eq!(out.status.code(), Some(1));
    }
    // --sig-format is for ECDSA keys only: a usage error (exit 2) elsewhere.
    cli.ok(&["key", "generate", "--alg", "ED25519", "--slot", "ed"]);
    let out = cli.run(&[
        "sign",
        "--slot",
        "ed",
        "--sig-format",
        "der",
        "--in",
        p(&msg),
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `openssl enc` over `input` with a hex key (and IV); returns its output.
fn openssl_enc(
    cipher: &str,
    decrypt: bool,
    key: &[u8],
    iv: Option<&str>,
    input: &[u8],
    dir: &Path,
) -> Vec<u8> {
    let (inp, out) = (dir.join("enc.in"), dir.join("enc.out"));
    std::fs::write(&inp, input).unwrap();
    let key = hex(key);
    let mut args = vec!["enc", cipher, "-K", &key, "-in", p(&inp), "-out", p(&out)];
    if decrypt {
        args.push("-d");
    }
    if let Some(iv) = iv {
        args.extend(["-iv", iv]);
    }
    openssl_ok(&args);
    std::fs::read(&out).unwrap()
}

#[test]
fn aes_cbc_ctr_kw_kwp_interoperate_with_openssl_enc() {
    use KeyOperationPermission as P;
    use warden_client::*;
    if !have_openssl() {
        return;
    }
    let d = Daemon::start().unwrap();
    let stack = d.stack().unwrap();
    let km = stack.key_management();
    let dir = tempfile::tempdir().unwrap();
    let msg = b"forty-one bytes of plaintext for openssl.".to_vec();
    for (key_alg, bits) in [
        (Algorithm::Aes128Key, 128),
        (Algorithm::Aes192Key, 192),
        (Algorithm::Aes256Key, 256),
    ] {
        let key = km
            .generate_key(
                &GenerateKeyParams::builder()
                    .algorithm(key_alg)
                    .permissions(P::ENCRYPT | P::DECRYPT | P::WRAP | P::UNWRAP | P::EXPORT)
                    .exportable(true)
                    .build()
                    .unwrap(),
            )
            .unwrap();
        let secret = km.export_secret_key(key.id()).unwrap().to_vec();
        assert_eq!(secret.len() * 8, bits);
        for (mode, ossl) in [("CBC-PKCS7", "cbc"), ("CTR", "ctr")] {
            let alg = Algorithm::from_name(&format!("AES-{bits}-{mode}")).unwrap();
            let cipher = format!("-aes-{bits}-{ossl}");
            let cfg = |dir| {
                ContextConfig::builder()
                    .algorithm(alg)
                    .key(key.id())
                    .direction(dir)
                    .build()
                    .unwrap()
            };
            // warden encrypts under an IV it draws → openssl decrypts.
            let (iv, ct) = stack
                .create_cipher_context(&cfg(CipherDirection::Encrypt))
                .unwrap()
                .encrypt(&msg)
                .unwrap();
            assert_eq!(
                openssl_enc(&cipher, true, &secret, Some(&hex(&iv)), &ct, dir.path()),
                msg,
                "{alg}"
            );
            // openssl encrypts → warden decrypts.
            let iv = "000102030405060708090a0b0c0d0e0f";
            let ct = openssl_enc(&cipher, false, &secret, Some(iv), &msg, dir.path());
            let got = stack
                .create_cipher_context(&cfg(CipherDirection::Decrypt))
                .unwrap()
                .apply(&unhex(iv), &ct)
                .unwrap();
            assert_eq!(got, msg, "{alg}");
        }
        for (mode, ossl, iv, target_len) in [
            ("KW", "wrap", "A6A6A6A6A6A6A6A6", 24),
            ("KWP", "wrap-pad", "A65959A6", 20),
        ] {
            let alg = Algorithm::from_name(&format!("AES-{bits}-{mode}")).unwrap();
            let cipher = format!("-id-aes{bits}-{ossl}");
            let target = km
                .import_key(
                    &ImportKeyParams::builder()
                        .algorithm(Algorithm::GenericSecret)
                        .permissions(P::DERIVE | P::EXPORT)
                        .exportable(true)
                        .build()
                        .unwrap(),
                    &msg[..target_len],
                )
                .unwrap();
            let wrapped = km
                .wrap_key(key.id(), target.id(), &WrapKeyParams::new(alg).unwrap())
                .unwrap();
            assert_eq!(
                openssl_enc(&cipher, true, &secret, Some(iv), &wrapped, dir.path()),
                &msg[..target_len],
                "{alg}"
            );
            let theirs = openssl_enc(
                &cipher,
                false,
                &secret,
                Some(iv),
                &msg[..target_len],
                dir.path(),
            );
            let params = UnwrapKeyParams::builder()
                .algorithm(alg)
                .unwrapped_algorithm(Algorithm::GenericSecret)
                .permissions(P::DERIVE | P::EXPORT)
                .exportable(true)
                .build()
                .unwrap();
            let back = km.unwrap_key(key.id(), &theirs, &params).unwrap();
            assert_eq!(
                km.export_secret_key(back.id()).unwrap().as_slice(),
                &msg[..target_len],
                "{alg}"
            );
            // One flipped bit: openssl's blob no longer unwraps.
            let mut bad = theirs.clone();
            bad[3] ^= 1;
            assert_eq!(
                km.unwrap_key(key.id(), &bad, &params).unwrap_err().code(),
                ErrorCode::WrapUnwrapFailed
            );
        }
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn rsa_pss_salts_and_oaep_labels_interoperate_with_openssl() {
    use KeyOperationPermission as P;
    use warden_client::*;
    if !have_openssl() {
        return;
    }
    let d = Daemon::start().unwrap();
    let stack = d.stack().unwrap();
    let km = stack.key_management();
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n);
    // One openssl RSA key, imported into warden as a PSS key and as an OAEP key.
    openssl_ok(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        p(&path("rsa.pem")),
    ]);
    openssl_ok(&[
        "pkcs8",
        "-topk8",
        "-nocrypt",
        "-in",
        p(&path("rsa.pem")),
        "-outform",
        "DER",
        "-out",
        p(&path("rsa.p8")),
    ]);
    openssl_ok(&[
        "pkey",
        "-inform",
        "DER",
        "-in",
        p(&path("rsa.p8")),
        "-pubout",
        "-out",
        p(&path("rsa.pub")),
    ]);
    let pkcs8 = std::fs::read(path("rsa.p8")).unwrap();
    let import = |alg, perms| {
        let params = ImportKeyParams::builder()
            .algorithm(alg)
            .permissions(perms)
            .format(KeyFormat::Pkcs8)
            .build()
            .unwrap();
        km.import_key(&params, &pkcs8).unwrap()
    };
    let pss = import(Algorithm::RsaPssSha256, P::SIGN | P::VERIFY);
    let msg = b"RSA-PSS with a salt the peer chose".to_vec();
    std::fs::write(path("msg"), &msg).unwrap();
    for (alg, md, salt) in [
        (Algorithm::RsaPssSha256, "sha256", 0u16),
        (Algorithm::RsaPssSha384, "sha384", 20),
        (Algorithm::RsaPssSha512, "sha512", 64),
    ] {
        let cfg = ContextConfig::builder()
            .algorithm(alg)
            .key(pss.id())
            .pss_salt_len(salt)
            .build()
            .unwrap();
        // warden signs → openssl verifies with the same salt length (and refuses another).
        let sig = stack.create_sign_context(&cfg).unwrap().sign(&msg).unwrap();
        std::fs::write(path("sig"), &sig).unwrap();
        let verify = |salt: &str| {
            openssl(&[
                "dgst",
                &format!("-{md}"),
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                &format!("rsa_pss_saltlen:{salt}"),
                "-verify",
                p(&path("rsa.pub")),
                "-signature",
                p(&path("sig")),
                p(&path("msg")),
            ])
            .status
            .success()
        };
        assert!(verify(&salt.to_string()), "{alg} salt {salt}");
        assert!(!verify(&(salt + 1).to_string()), "{alg} salt {salt}");
        // openssl signs → warden verifies.
        openssl_ok(&[
            "dgst",
            &format!("-{md}"),
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            &format!("rsa_pss_saltlen:{salt}"),
            "-keyform",
            "DER",
            "-sign",
            p(&path("rsa.p8")),
            "-out",
            p(&path("ossl.sig")),
            p(&path("msg")),
        ]);
        let theirs = std::fs::read(path("ossl.sig")).unwrap();
        stack
            .create_verify_context(&cfg)
            .unwrap()
            .verify(&msg, &theirs)
            .unwrap();
    }
    let oaep = import(Algorithm::RsaOaepSha256, P::ENCRYPT | P::DECRYPT);
    let secret = b"an OAEP-wrapped secret".to_vec();
    std::fs::write(path("pt"), &secret).unwrap();
    for (alg, md) in [
        (Algorithm::RsaOaepSha1, "sha1"),
        (Algorithm::RsaOaepSha384, "sha384"),
        (Algorithm::RsaOaepSha512, "sha512"),
    ] {
        let label = b"purpose: issue 15";
        let options = ContextOptions::default().with_oaep_label(label).unwrap();
        let cfg = |dir| {
            ContextConfig::builder()
                .algorithm(alg)
                .key(oaep.id())
                .direction(dir)
                .options(options)
                .build()
                .unwrap()
        };
        let opts = |args: &mut Vec<String>| {
            for o in [
                "rsa_padding_mode:oaep".to_string(),
                format!("rsa_oaep_md:{md}"),
                format!("rsa_mgf1_md:{md}"),
                format!("rsa_oaep_label:{}", hex(label)),
            ] {
                args.extend(["-pkeyopt".to_string(), o]);
            }
        };
        // warden encrypts → openssl decrypts.
        let ct = stack
            .create_cipher_context(&cfg(CipherDirection::Encrypt))
            .unwrap()
            .apply(&[], &secret)
            .unwrap();
        std::fs::write(path("ct"), &ct).unwrap();
        let mut args: Vec<String> = [
            "pkeyutl",
            "-decrypt",
            "-keyform",
            "DER",
            "-inkey",
            p(&path("rsa.p8")),
            "-in",
            p(&path("ct")),
            "-out",
            p(&path("back")),
        ]
        .map(String::from)
        .to_vec();
        opts(&mut args);
        openssl_ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(std::fs::read(path("back")).unwrap(), secret, "{alg}");
        // openssl encrypts → warden decrypts.
        let mut args: Vec<String> = [
            "pkeyutl",
            "-encrypt",
            "-pubin",
            "-inkey",
            p(&path("rsa.pub")),
            "-in",
            p(&path("pt")),
            "-out",
            p(&path("ossl.ct")),
        ]
        .map(String::from)
        .to_vec();
        opts(&mut args);
        openssl_ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let theirs = std::fs::read(path("ossl.ct")).unwrap();
        let got = stack
            .create_cipher_context(&cfg(CipherDirection::Decrypt))
            .unwrap()
            .apply(&[], &theirs)
            .unwrap();
        assert_eq!(got, secret, "{alg}");
    }
}

#[test]
fn long_hkdf_outputs_match_openssl_kdf() {
    use KeyOperationPermission as P;
    use warden_client::*;
    if !have_openssl() {
        return;
    }
    let d = Daemon::start().unwrap();
    let stack = d.stack().unwrap();
    let km = stack.key_management();
    let ikm = b"input keying material for a long HKDF".to_vec();
    let base = km
        .import_key(
            &ImportKeyParams::builder()
                .algorithm(Algorithm::GenericSecret)
                .permissions(P::DERIVE)
                .build()
                .unwrap(),
            &ikm,
        )
        .unwrap();
    for (hash, md, len) in [
        (Algorithm::Sha256, "SHA256", 255 * 32),
        (Algorithm::Sha384, "SHA384", 255 * 48),
        (Algorithm::Sha256, "SHA256", 1500),
    ] {
        let params = DeriveKeyParams::builder()
            .kdf(KdfParameters::Hkdf {
                hash,
                salt: b"salt".to_vec(),
                info: b"info".to_vec(),
            })
            .output_algorithm(Algorithm::GenericSecret)
            .output_len(len)
            .permissions(P::DERIVE | P::EXPORT)
            .exportable(true)
            .build()
            .unwrap();
        let key = km.derive_key(base.id(), &params).unwrap();
        let ours = km.export_secret_key(key.id()).unwrap();
        let out = openssl(&[
            "kdf",
            "-keylen",
            &len.to_string(),
            "-kdfopt",
            &format!("digest:{md}"),
            "-kdfopt",
            &format!("hexkey:{}", hex(&ikm)),
            "-kdfopt",
            "salt:salt",
            "-kdfopt",
            "info:info",
            "HKDF",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs: String = String::from_utf8(out.stdout)
            .unwrap()
            .chars()
            .filter(char::is_ascii_hexdigit)
            .collect();
        assert_eq!(hex(&ours).to_ascii_uppercase(), theirs, "{hash} {len}");
    }
}
