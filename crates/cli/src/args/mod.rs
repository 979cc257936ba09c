//! Command-line grammar of `warden` (clap derive).

mod admin;
mod cert;
mod data;
mod keys;
mod slot;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use admin::*;
pub use cert::*;
pub use data::*;
pub use keys::*;
pub use slot::slot_name;

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
    /// The daemon's crypto providers (software, PKCS#11 tokens) and what each can do.
    Providers,
    /// Manage key slots.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Sign input with a slot's key.
    Sign(SignArgs),
    /// Verify a signature with a slot's key, or locally with a public key file and no daemon
    /// (exit 1 when it does not verify).
    Verify(VerifyArgs),
    /// Encrypt with a slot's key: AEAD (the nonce the daemon draws is prepended to the
    /// output) or RSA-OAEP (one short message, e.g. a key, to an RSA-OAEP key; --oaep-label).
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
    /// Certificate slots, CSRs, self-signed certificates, trust stores, CRLs, verification.
    #[command(subcommand)]
    Cert(CertCommand),
}
