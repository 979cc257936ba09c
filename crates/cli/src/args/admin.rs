//! Arguments of the operator commands: policy, trust, permit, receipt, attest, generate.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::slot_name;

/// `warden generate …`
#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// Man pages, one per command (warden.1, warden-key.1, warden-key-generate.1, ...).
    Man {
        /// Directory to write the pages into (created if missing).
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
    },
    /// A shell completion script, on stdout.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `warden policy …`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Load a WASM policy module and bind it to an action.
    Load {
        /// The module (.wasm, or .wat text).
        #[arg(long = "in", value_name = "FILE")]
        input: PathBuf,
        /// The action (tool id) the policy decides on.
        #[arg(long)]
        action: String,
        /// Host-bridge profile the module is written for.
        #[arg(long, default_value = "warden")]
        profile: String,
    },
    /// List loaded policies.
    List,
    /// Unload the policy bound to an action.
    Unload {
        /// The action.
        #[arg(long)]
        action: String,
    },
}

/// `warden trust …`
#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Trust an issuer's public key for permits.
    Add {
        /// Issuer name (the permit's `iss`).
        #[arg(long)]
        issuer: String,
        /// Signature algorithm: ED25519, ECDSA-P256-SHA256 or ML-DSA-65.
        #[arg(long)]
        alg: String,
        /// Raw public key file (as `warden key public --format raw` writes it).
        #[arg(long = "in", value_name = "FILE")]
        input: PathBuf,
    },
    /// List trusted issuers.
    List,
    /// Stop trusting an issuer.
    Remove {
        /// Issuer name.
        #[arg(long)]
        issuer: String,
    },
}

/// `warden permit …`
#[derive(Debug, Subcommand)]
pub enum PermitCommand {
    /// Issue a permit signed by a slot key (for tests and demos).
    Issue(PermitIssueArgs),
    /// Ask the daemon to verify a permit for an intent; prints the decision and writes the receipt.
    Verify(PermitVerifyArgs),
}

/// `warden permit issue`
#[derive(Debug, Args)]
pub struct PermitIssueArgs {
    /// Slot holding the issuer's signing key.
    #[arg(long, value_parser = slot_name)]
    pub slot: String,
    /// Issuer name.
    #[arg(long)]
    pub issuer: String,
    /// Subject (the agent).
    #[arg(long)]
    pub subject: String,
    /// Audience (the daemon).
    #[arg(long)]
    pub audience: String,
    /// Action (tool id).
    #[arg(long)]
    pub action: String,
    /// Resource.
    #[arg(long)]
    pub resource: String,
    /// File holding the intent payload the permit authorises.
    #[arg(long, value_name = "FILE")]
    pub intent: PathBuf,
    /// Validity in seconds from now.
    #[arg(long, default_value_t = 300)]
    pub ttl: i64,
    /// Maximum number of uses (default: one).
    #[arg(long)]
    pub max_uses: Option<u32>,
    /// Permit id (default: 16 random bytes from the daemon), hex.
    #[arg(long)]
    pub id: Option<String>,
    /// Output file (default: stdout).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write as hex.
    #[arg(long)]
    pub hex: bool,
}

/// `warden permit verify`
#[derive(Debug, Args)]
pub struct PermitVerifyArgs {
    /// The permit file.
    #[arg(long, value_name = "FILE")]
    pub permit: PathBuf,
    /// Action requested.
    #[arg(long)]
    pub action: String,
    /// Resource requested.
    #[arg(long)]
    pub resource: String,
    /// File holding the intent payload.
    #[arg(long, value_name = "FILE")]
    pub intent: PathBuf,
    /// Append the receipt to this chain file.
    #[arg(long, value_name = "FILE")]
    pub receipt_out: Option<PathBuf>,
}

/// `warden receipt …`
#[derive(Debug, Subcommand)]
pub enum ReceiptCommand {
    /// Verify one receipt or a whole chain file against the daemon's attestation public key.
    Verify {
        /// Receipt or chain file (a CBOR sequence of receipts).
        #[arg(long = "in", value_name = "FILE")]
        input: PathBuf,
        /// Attestation public key file (raw, as `warden attest public-key --out` writes it).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// Its algorithm.
        #[arg(long, default_value = "ED25519")]
        alg: String,
        /// The file must hold the whole chain from the daemon's first receipt (counter 1), or
        /// from the daemon's signed retention checkpoint when older receipts were pruned, so a
        /// receipt removed at the start is detected.
        #[arg(long)]
        from_genesis: bool,
        /// Counter of the daemon's latest receipt (e.g. from the last `permit verify`): the
        /// chain must end there, so a receipt removed at the end is detected. Implies
        /// `--from-genesis`.
        #[arg(long, value_name = "COUNTER")]
        head: Option<u64>,
    },
    /// Export the daemon's receipt chain (admins) as a chain file for `receipt verify`.
    Export {
        /// Chain file to write (a CBOR sequence of receipts).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// First receipt counter to export (1 = the genesis receipt).
        #[arg(long, default_value_t = 1, value_name = "COUNTER")]
        from: u64,
    },
}

/// `warden attest …`
#[derive(Debug, Subcommand)]
pub enum AttestCommand {
    /// The daemon's attestation public key (raw).
    PublicKey {
        /// Output file (default: stdout).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Write as hex.
        #[arg(long)]
        hex: bool,
    },
}
