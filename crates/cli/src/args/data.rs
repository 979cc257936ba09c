//! Arguments of the data commands: sign, verify, encrypt, decrypt, mac, hash, random, kem,
//! derive, agree.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::slot_name;

/// Where input comes from and output goes. Every FILE argument of this CLI takes `-` for
/// stdin (inputs) or stdout (outputs).
#[derive(Debug, Args, Clone)]
pub struct InOut {
    /// Input file (default and `-`: stdin).
    #[arg(long = "in", value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Output file (default and `-`: stdout).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write binary output as hex (allowed to a terminal).
    #[arg(long)]
    pub hex: bool,
}

/// Encoding of an ECDSA signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SigFormat {
    /// DER `ECDSA-Sig-Value` (what openssl writes and reads).
    Der,
    /// Fixed-length r||s (IEEE P1363, JOSE/COSE).
    Raw,
}

/// Signature options beyond `--sig-format`, shared by `sign` and `verify` (both ends must use
/// the same ones). A flag the key's algorithm cannot use is a usage error (exit 2).
#[derive(Debug, Args, Clone, Default)]
pub struct SigOptions {
    /// RSA-PSS salt length in bytes, 0..=64 (default: the hash length). RSA-PSS keys only;
    /// `openssl dgst -sigopt rsa_pss_saltlen:N` is the same setting.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(0..=64))]
    pub pss_salt_len: Option<u16>,
    /// Signature context string, at most 255 bytes: TEXT, `hex:HEX`, or `@FILE` (a file's
    /// bytes). ML-DSA-44/65/87, HASH-ML-DSA-*-SHA512 and ED25519PH keys only (FIPS 204 /
    /// RFC 8032 `ctx`; pure ED25519 has none).
    #[arg(long, value_name = "VALUE", allow_hyphen_values = true)]
    pub context: Option<String>,
    /// The input is the 64-byte ML-DSA μ (FIPS 204 external mu), computed by the caller over
    /// the public key, the context and the message; the signature is over that message.
    /// ML-DSA-44/65/87 keys only; μ already includes the context, so no --context.
    #[arg(long, conflicts_with = "context")]
    pub external_mu: bool,
}

/// `warden sign`
#[derive(Debug, Args)]
pub struct SignArgs {
    /// Slot holding the signing key.
    #[arg(long, value_parser = slot_name)]
    pub slot: String,
    /// ECDSA signature encoding: `der` (X.509, TLS, `openssl dgst`; the default for ECDSA)
    /// or `raw` fixed-length r||s. Other algorithms have one encoding.
    #[arg(long, value_enum)]
    pub sig_format: Option<SigFormat>,
    /// Salt length, context string, external μ.
    #[command(flatten)]
    pub options: SigOptions,
    /// Input and output.
    #[command(flatten)]
    pub io: InOut,
}

/// `warden verify`
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("key").required(true).args(["slot", "pubkey"]))]
pub struct VerifyArgs {
    /// Slot holding the key (verification in the daemon).
    #[arg(long, value_parser = slot_name)]
    pub slot: Option<String>,
    /// Public key file (PEM, DER SubjectPublicKeyInfo, or raw as `warden key public --format
    /// raw` writes it): verify locally, without a daemon. Needs --alg.
    #[arg(long, value_name = "FILE", requires = "alg")]
    pub pubkey: Option<PathBuf>,
    /// Signature algorithm of --pubkey, e.g. ED25519, ECDSA-P256-SHA256, ML-DSA-65.
    #[arg(long, requires = "pubkey")]
    pub alg: Option<String>,
    /// ECDSA signature encoding of `--sig` (see `sign --sig-format`; default `der`).
    #[arg(long, value_enum)]
    pub sig_format: Option<SigFormat>,
    /// Salt length, context string, external μ (as given to `sign`).
    #[command(flatten)]
    pub options: SigOptions,
    /// File holding the signature (`-` = stdin).
    #[arg(long, value_name = "FILE")]
    pub sig: PathBuf,
    /// Signed input (default: stdin).
    #[arg(long = "in", value_name = "FILE")]
    pub input: Option<PathBuf>,
}

/// `warden encrypt` / `warden decrypt`
#[derive(Debug, Args)]
pub struct AeadArgs {
    /// Slot holding the AEAD or RSA-OAEP key.
    #[arg(long, value_parser = slot_name)]
    pub slot: String,
    /// Associated data (authenticated, not encrypted).
    #[arg(long)]
    pub aad: Option<String>,
    /// RSA-OAEP label, at most 256 bytes: TEXT, `hex:HEX`, or `@FILE` (a file's bytes).
    /// RSA-OAEP keys only; both ends must use the same label (`openssl pkeyutl -pkeyopt
    /// rsa_oaep_label:HEX`). Default: empty.
    #[arg(long, value_name = "VALUE", allow_hyphen_values = true)]
    pub oaep_label: Option<String>,
    /// Algorithm (default: AES-256-GCM for AES-256 keys, AES-128-GCM for AES-128 keys, the
    /// key's own RSA-OAEP hash for RSA-OAEP keys; RSA-OAEP-SHA1/256/384/512 pick another).
    #[arg(long)]
    pub alg: Option<String>,
    /// Input and output.
    #[command(flatten)]
    pub io: InOut,
}

/// `warden mac [verify]`
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct MacCmd {
    /// `verify`, or nothing to compute a tag.
    #[command(subcommand)]
    pub command: Option<MacCommand>,
    /// Computing a tag.
    #[command(flatten)]
    pub args: MacArgs,
}

/// `warden mac …`
#[derive(Debug, Subcommand)]
pub enum MacCommand {
    /// Check a tag inside the daemon (constant time; exit 1 when it does not match).
    Verify(MacVerifyArgs),
}

/// `warden mac`
#[derive(Debug, Args)]
pub struct MacArgs {
    /// Slot holding the MAC key.
    #[arg(long, value_parser = slot_name)]
    pub slot: Option<String>,
    /// MAC algorithm (default: HMAC-SHA256).
    #[arg(long, default_value = "HMAC-SHA256")]
    pub alg: String,
    /// Input and output.
    #[command(flatten)]
    pub io: InOut,
}

/// `warden mac verify`
#[derive(Debug, Args)]
pub struct MacVerifyArgs {
    /// Slot holding the MAC key.
    #[arg(long, value_parser = slot_name)]
    pub slot: String,
    /// MAC algorithm (default: HMAC-SHA256).
    #[arg(long, default_value = "HMAC-SHA256")]
    pub alg: String,
    /// File holding the tag: hex (as `warden mac` prints it) or raw bytes (as `--out` writes).
    #[arg(long, value_name = "FILE")]
    pub tag: PathBuf,
    /// MACed input (default: stdin).
    #[arg(long = "in", value_name = "FILE")]
    pub input: Option<PathBuf>,
}

/// `warden agree`
#[derive(Debug, Args)]
pub struct AgreeArgs {
    /// Slot holding our private key (X25519, ECDH-P256, ECDH-P384).
    #[arg(long, value_parser = slot_name)]
    pub slot: String,
    /// The peer's public key file (PEM, DER SubjectPublicKeyInfo or raw; `-` = stdin).
    #[arg(long, value_name = "FILE")]
    pub peer: PathBuf,
    /// New slot for the shared secret.
    #[arg(long, value_parser = slot_name)]
    pub to_slot: String,
    /// Algorithm of the shared-secret key (default: GENERIC-SECRET, a KDF input for `warden
    /// derive`).
    #[arg(long, default_value = "GENERIC-SECRET")]
    pub secret_alg: String,
    /// Permissions of the shared-secret key (default: the algorithm's natural set).
    #[arg(long)]
    pub permissions: Option<String>,
    /// Allow the shared secret to be exported.
    #[arg(long)]
    pub exportable: bool,
}

/// `warden hash`
#[derive(Debug, Args)]
pub struct HashArgs {
    /// Hash algorithm, e.g. SHA-256, SHA3-512.
    #[arg(long, default_value = "SHA-256")]
    pub alg: String,
    /// Input and output.
    #[command(flatten)]
    pub io: InOut,
}

/// `warden random`
#[derive(Debug, Args)]
pub struct RandomArgs {
    /// How many bytes.
    #[arg(long)]
    pub bytes: usize,
    /// Output file (default: stdout).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write as hex.
    #[arg(long)]
    pub hex: bool,
}

/// `warden kem …`
#[derive(Debug, Subcommand)]
pub enum KemCommand {
    /// Encapsulate to a slot's public key: writes the ciphertext, stores the shared secret.
    Encap(EncapArgs),
    /// Decapsulate a ciphertext with a slot's private key into a new slot.
    Decap(DecapArgs),
}

/// `warden kem encap`
#[derive(Debug, Args)]
pub struct EncapArgs {
    /// Slot holding the recipient's KEM key.
    #[arg(long, value_parser = slot_name)]
    pub slot: String,
    /// Where to write the ciphertext.
    #[arg(long, value_name = "FILE")]
    pub out_ct: PathBuf,
    /// New slot for the shared secret.
    #[arg(long, value_parser = slot_name)]
    pub to_slot: String,
    /// Algorithm of the shared-secret key (default: GENERIC-SECRET).
    #[arg(long, default_value = "GENERIC-SECRET")]
    pub secret_alg: String,
}

/// `warden kem decap`
#[derive(Debug, Args)]
pub struct DecapArgs {
    /// Slot holding the KEM private key.
    #[arg(long, value_parser = slot_name)]
    pub slot: String,
    /// File holding the ciphertext.
    #[arg(long, value_name = "FILE")]
    pub ct: PathBuf,
    /// New slot for the shared secret.
    #[arg(long, value_parser = slot_name)]
    pub to_slot: String,
    /// Algorithm of the shared-secret key (default: GENERIC-SECRET).
    #[arg(long, default_value = "GENERIC-SECRET")]
    pub secret_alg: String,
}

/// `warden derive`
#[derive(Debug, Args)]
pub struct DeriveArgs {
    /// Slot holding the base key.
    #[arg(long, value_parser = slot_name)]
    pub slot: String,
    /// KDF, e.g. HKDF-SHA256, SP800-108-CTR-HMAC-SHA256.
    #[arg(long)]
    pub kdf: String,
    /// Salt, hex.
    #[arg(long)]
    pub salt: Option<String>,
    /// Info / context, hex.
    #[arg(long)]
    pub info: Option<String>,
    /// Label (TLS PRFs, SP 800-108), text.
    #[arg(long)]
    pub label: Option<String>,
    /// PBKDF2 iterations.
    #[arg(long)]
    pub iterations: Option<u32>,
    /// New slot.
    #[arg(long, value_parser = slot_name)]
    pub to_slot: String,
    /// Algorithm of the derived key, e.g. AES-256, HMAC.
    #[arg(long)]
    pub alg: String,
    /// Length of the derived key in bytes (default: the algorithm's).
    #[arg(long)]
    pub len: Option<u32>,
    /// Permissions of the derived key.
    #[arg(long)]
    pub permissions: Option<String>,
    /// Allow the derived secret to be exported.
    #[arg(long)]
    pub exportable: bool,
}
