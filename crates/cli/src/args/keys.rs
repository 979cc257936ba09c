//! Arguments of `warden key …`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::slot_name;

/// `warden key …`
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Generate a key into a new slot.
    Generate(GenerateArgs),
    /// Import key material into a new slot.
    Import(ImportArgs),
    /// List the slots you may see (others' slots as UID/NAME, the way you address them).
    List,
    /// Export a slot's public key.
    Public(PublicArgs),
    /// Export an exportable slot's secret key (raw bytes; needs the export permission).
    Export(ExportArgs),
    /// Delete a slot.
    Delete(SlotArg),
    /// Lock a slot: its key stays stored but nobody may use it or change its grants.
    Lock(SlotArg),
    /// Unlock a locked slot.
    Unlock(SlotArg),
    /// Grant another uid a subset of a slot's permissions.
    Grant(GrantArgs),
    /// Revoke a uid's grant on a slot.
    Revoke(RevokeArgs),
}

/// A slot name.
#[derive(Debug, Args)]
pub struct SlotArg {
    /// Slot: `NAME` for one of your own (`[A-Za-z0-9._-]{1,64}`), `UID/NAME` for another
    /// uid's slot shared with you (as `warden key list` shows it).
    #[arg(long, value_parser = slot_name)]
    pub slot: String,
}

/// `warden key generate`
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Algorithm or key type, e.g. ED25519, AES-256, ML-DSA-65.
    #[arg(long)]
    pub alg: String,
    /// Slot to create.
    #[arg(long, value_parser = slot_name)]
    pub slot: String,
    /// Permissions, comma separated (e.g. `sign,verify`) or a preset (`data-protection`,
    /// `authentication`, `full-lifecycle`). Only bits the key type can use are accepted (an
    /// HMAC key macs, a GENERIC-SECRET derives, ...). `caller-nonce` (AES/CHACHA20) is
    /// dangerous: it lets encrypt callers pick nonces, so ENCRYPT can read other messages.
    /// Default: the algorithm's natural set.
    #[arg(long)]
    pub permissions: Option<String>,
    /// Allow the secret to be exported later.
    #[arg(long)]
    pub exportable: bool,
    /// Key length in bytes (HMAC, GENERIC-SECRET) or bits (RSA).
    #[arg(long)]
    pub size: Option<u32>,
    /// Provider that generates and keeps the key (see `warden providers`); default: the
    /// daemon's software provider. A hardware provider's keys never leave its token.
    #[arg(long)]
    pub provider: Option<String>,
}

/// Format of key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyFileFormat {
    /// Raw bytes.
    Raw,
    /// DER (PKCS#8 for private keys, SubjectPublicKeyInfo for public keys).
    Der,
    /// PEM.
    Pem,
}

/// `warden key import`
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Algorithm or key type of the material.
    #[arg(long)]
    pub alg: String,
    /// Slot to create.
    #[arg(long, value_parser = slot_name)]
    pub slot: String,
    /// File holding the key material.
    #[arg(long = "in", value_name = "FILE")]
    pub input: PathBuf,
    /// Encoding of the file. Default: detected (PEM by its armour; DER — SubjectPublicKeyInfo
    /// or PKCS#8 — by structure; raw otherwise; symmetric keys are always raw).
    #[arg(long, value_enum)]
    pub format: Option<KeyFileFormat>,
    /// Permissions (see `key generate`).
    #[arg(long)]
    pub permissions: Option<String>,
    /// Allow the secret to be exported later.
    #[arg(long)]
    pub exportable: bool,
}

/// `warden key public`
#[derive(Debug, Args)]
pub struct PublicArgs {
    /// Slot holding the key pair.
    #[arg(long, value_parser = slot_name)]
    pub slot: String,
    /// Encoding of the output.
    #[arg(long, value_enum, default_value = "pem")]
    pub format: KeyFileFormat,
    /// Output file (default: stdout).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write binary output as hex.
    #[arg(long)]
    pub hex: bool,
}

/// `warden key grant`
#[derive(Debug, Args)]
pub struct GrantArgs {
    /// Slot to share.
    #[arg(long, value_parser = slot_name)]
    pub slot: String,
    /// The uid to grant.
    #[arg(long)]
    pub uid: u32,
    /// Permissions to grant (a subset of the slot's).
    #[arg(long)]
    pub permissions: String,
}

/// `warden key revoke`
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// Slot.
    #[arg(long, value_parser = slot_name)]
    pub slot: String,
    /// The uid whose grant goes.
    #[arg(long)]
    pub uid: u32,
}

/// `warden key export`
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Slot holding an exportable key.
    #[arg(long, value_parser = slot_name)]
    pub slot: String,
    /// Output file (default: stdout; created mode 0600).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write as hex.
    #[arg(long)]
    pub hex: bool,
}
