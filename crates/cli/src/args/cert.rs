//! Arguments of `warden cert …`.

use std::path::PathBuf;

use clap::Subcommand;

/// `warden cert …` (certificates and CRLs are read as PEM or DER; written as PEM unless
/// `--der`).
#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Store a certificate in a new certificate slot of yours.
    Import {
        /// Certificate slot name.
        #[arg(long)]
        name: String,
        /// The certificate (PEM or DER).
        #[arg(long = "in", value_name = "FILE")]
        input: PathBuf,
        /// Bind it to this key slot (refused unless the certificate's key is that key).
        #[arg(long)]
        key: Option<String>,
    },
    /// Write a certificate slot's certificate.
    Show {
        /// Certificate slot (`name` or `uid/name`).
        name: String,
        /// Output file (default: stdout).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// DER instead of PEM.
        #[arg(long)]
        der: bool,
    },
    /// List the certificate slots you may read.
    List,
    /// Delete a certificate slot.
    Delete {
        /// Certificate slot.
        name: String,
    },
    /// Bind a certificate slot to a key slot (`--key`), or unbind it (no `--key`).
    Bind {
        /// Certificate slot.
        name: String,
        /// Key slot whose key the certificate must carry.
        #[arg(long)]
        key: Option<String>,
    },
    /// Let a uid read a certificate slot.
    Grant {
        /// Certificate slot.
        name: String,
        /// The uid.
        #[arg(long)]
        uid: u32,
    },
    /// Withdraw a uid's read grant.
    Revoke {
        /// Certificate slot.
        name: String,
        /// The uid.
        #[arg(long)]
        uid: u32,
    },
    /// A PKCS#10 request signed inside the daemon by a slot key.
    Csr {
        /// Signing key slot (your Sign right is needed).
        #[arg(long)]
        key: String,
        /// Subject, RFC 4514 (`CN=device 7,O=Acme`).
        #[arg(long)]
        subject: String,
        /// Output file (default: stdout).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// DER instead of PEM.
        #[arg(long)]
        der: bool,
    },
    /// A self-signed CA certificate for a slot key, signed inside the daemon.
    SelfSign {
        /// Signing key slot.
        #[arg(long)]
        key: String,
        /// Subject (also the issuer), RFC 4514.
        #[arg(long)]
        subject: String,
        /// Days of validity from now.
        #[arg(long, default_value_t = 365)]
        days: u64,
        /// Also store it in this certificate slot, bound to the key.
        #[arg(long)]
        store_as: Option<String>,
        /// Output file (default: stdout).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// DER instead of PEM.
        #[arg(long)]
        der: bool,
    },
    /// Manage verification trust stores (`@name`: global, admins; else per owner).
    #[command(subcommand)]
    Store(CertStoreCommand),
    /// Import a CRL into a trust store.
    CrlImport {
        /// Trust store.
        #[arg(long)]
        store: String,
        /// The CRL (PEM or DER).
        #[arg(long = "in", value_name = "FILE")]
        input: PathBuf,
        /// The intermediate CA that signed it, if not an anchor of the store.
        #[arg(long, value_name = "FILE")]
        issuer: Option<PathBuf>,
    },
    /// Verify a certificate chain against a trust store (exit 3 with the reason when not).
    Verify {
        /// Trust store.
        #[arg(long)]
        store: String,
        /// The leaf certificate (PEM or DER).
        #[arg(long = "in", value_name = "FILE", conflicts_with = "slot")]
        input: Option<PathBuf>,
        /// The leaf as a certificate slot.
        #[arg(long)]
        slot: Option<String>,
        /// An intermediate certificate (repeat for more).
        #[arg(long, value_name = "FILE")]
        chain: Vec<PathBuf>,
        /// Verification time, Unix seconds (default: now).
        #[arg(long)]
        at: Option<u64>,
        /// Required extended key usage: a dotted OID or serverAuth, clientAuth, codeSigning,
        /// emailProtection, timeStamping, ocspSigning.
        #[arg(long)]
        eku: Option<String>,
        /// Required keyUsage bits (1 digitalSignature, 2 nonRepudiation, 4 keyEncipherment,
        /// 8 dataEncipherment, 16 keyAgreement, 32 keyCertSign, 64 cRLSign).
        #[arg(long, default_value_t = 0)]
        key_usage: u16,
    },
}

/// `warden cert store …`
#[derive(Debug, Subcommand)]
pub enum CertStoreCommand {
    /// Add an anchor.
    Add {
        /// Trust store.
        #[arg(long)]
        store: String,
        /// The anchor certificate (PEM or DER).
        #[arg(long = "in", value_name = "FILE")]
        input: PathBuf,
    },
    /// List anchors and CRLs.
    List {
        /// Trust store.
        #[arg(long)]
        store: String,
    },
    /// Remove one entry (`--entry` as listed), or the whole store.
    Remove {
        /// Trust store.
        #[arg(long)]
        store: String,
        /// Entry id (`a/<sha256>` or `c/<sha256>`).
        #[arg(long)]
        entry: Option<String>,
    },
}
