//! Command-line grammar of `warden` (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// warden: use keys held by wardend without ever holding them yourself.
///
/// Exit codes: 0 success, 1 verification failed, 2 usage error, 3 the daemon returned an
/// error (its name and number are printed on stderr), 4 local I/O error.
#[derive(Debug, Parser)]
#[command(name = "warden", version = env!("WARDEN_VERSION"), propagate_version = true)]
pub struct Cli {
    /// Daemon socket (default: $WARDEN_SOCKET, then the daemon's default path).
    #[arg(long, global = true, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Also trust a daemon running as this uid (repeatable; $WARDEN_DAEMON_UIDS adds more).
    /// Without it only a daemon running as root or as yourself is spoken to: the socket's
    /// owner is checked before anything is sent.
    #[arg(long = "daemon-uid", global = true, value_name = "UID")]
    pub daemon_uids: Vec<u32>,
    /// Machine-readable JSON on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check that the daemon answers, and how fast.
    Ping,
    /// Daemon status: connections, live resources, arena pool, requests, errors (daemon-wide
    /// for admins, your own uid's share otherwise).
    Status,
    /// Manage key slots.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Sign input with a slot's key.
    Sign(SignArgs),
    /// Verify a signature with a slot's key, or locally with a public key file and no daemon
    /// (exit 1 when it does not verify).
    Verify(VerifyArgs),
    /// Encrypt with a slot's key: AEAD (the nonce the daemon draws is prepended to the
    /// output) or RSA-OAEP-SHA256 (one short message, e.g. a key, to an RSA-OAEP key).
    Encrypt(AeadArgs),
    /// Decrypt what `warden encrypt` produced (exit 1 when authentication fails).
    Decrypt(AeadArgs),
    /// MAC input with a slot's key (`warden mac verify` checks a tag).
    Mac(MacCmd),
    /// Hash input locally (no daemon needed: hashing uses no key).
    Hash(HashArgs),
    /// Key agreement (X25519, ECDH-P256/P384): a slot's private key with a peer's public key
    /// file; the shared secret lands in a new slot.
    Agree(AgreeArgs),
    /// The algorithms this build knows and what each can do (no daemon needed).
    Algorithms,
    /// Generate man pages or shell completions from this command line (for packagers).
    #[command(subcommand)]
    Generate(GenerateCommand),
    /// Random bytes from the daemon's generator.
    Random(RandomArgs),
    /// Key encapsulation.
    #[command(subcommand)]
    Kem(KemCommand),
    /// Derive a new slot key from a slot key.
    Derive(DeriveArgs),
    /// Manage policy modules (admins).
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Manage trusted permit issuers (admins).
    #[command(subcommand)]
    Trust(TrustCommand),
    /// Issue and verify action permits.
    #[command(subcommand)]
    Permit(PermitCommand),
    /// Verify decision receipts offline.
    #[command(subcommand)]
    Receipt(ReceiptCommand),
    /// The daemon's attestation identity.
    #[command(subcommand)]
    Attest(AttestCommand),
}

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
    /// Encoding of the file.
    #[arg(long, value_enum, default_value = "raw")]
    pub format: KeyFileFormat,
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

/// `warden sign`
#[derive(Debug, Args)]
pub struct SignArgs {
    /// Slot holding the signing key.
    #[arg(long, value_parser = slot_name)]
    pub slot: String,
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
    /// Slot holding the AEAD key.
    #[arg(long, value_parser = slot_name)]
    pub slot: String,
    /// Associated data (authenticated, not encrypted).
    #[arg(long)]
    pub aad: Option<String>,
    /// AEAD algorithm (default: AES-256-GCM for AES-256 keys, AES-128-GCM for AES-128 keys).
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

/// Checks a slot address against the documented rule before anything is sent: `NAME` with
/// `NAME` in `[A-Za-z0-9._-]{1,64}`, or `UID/NAME` with a decimal uid (no sign, no leading
/// zero), the same rule the daemon's store applies, so a typo is a usage error that says why.
pub fn slot_name(text: &str) -> Result<String, String> {
    let (uid, name) = match text.split_once('/') {
        Some((uid, name)) => (Some(uid), name),
        None => (None, text),
    };
    if let Some(uid) = uid {
        let canonical = !uid.is_empty()
            && uid.bytes().all(|b| b.is_ascii_digit())
            && (uid == "0" || !uid.starts_with('0'))
            && uid.parse::<u32>().is_ok();
        if !canonical {
            return Err(format!(
                "{text:?}: the part before '/' must be the owner's decimal uid (UID/NAME)"
            ));
        }
    }
    if name.is_empty() || name.len() > 64 {
        return Err(format!(
            "{text:?}: a slot name is 1 to 64 characters from A-Z a-z 0-9 . _ -"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "{text:?}: {bad:?} is not allowed in a slot name (use A-Z a-z 0-9 . _ -; \
             UID/NAME for another uid's slot)"
        ));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::slot_name;

    #[test]
    fn slot_names_follow_the_store_rule() {
        for ok in [
            "a",
            "backup.key",
            "A-Z_0.9",
            "1000/k",
            "0/k",
            &"x".repeat(64),
        ] {
            assert_eq!(slot_name(ok).as_deref(), Ok(ok), "{ok}");
        }
        for bad in [
            "",
            "bad!",
            "a b",
            "01/k",
            "-1/k",
            "/k",
            "1000/",
            "1/2/k",
            "99999999999/k",
            &"x".repeat(65),
        ] {
            assert!(slot_name(bad).is_err(), "{bad:?} accepted");
        }
    }
}
