//! Policies, trusted issuers, permit verification and the attestation key (issue 6).

use warden_core::Timeout;
use warden_wire::messages::{Request, Response};

use crate::error::unexpected;
use crate::error::{Error, Result};
use crate::stack::CryptoStack;

/// A loaded policy module ([`CryptoStack::policy_list`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PolicyInfo {
    /// The action it decides on.
    pub action: String,
    /// Host-bridge profile.
    pub profile: String,
    /// SHA-256 of the module.
    pub sha256: [u8; 32],
    /// Module size in bytes.
    pub size: u64,
}

/// A trusted permit issuer ([`CryptoStack::trust_list`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrustedIssuer {
    /// Issuer name.
    pub issuer: String,
    /// Signature algorithm name.
    pub alg: String,
    /// Raw public key.
    pub public_key: Vec<u8>,
}

/// The daemon's decision on a permit ([`CryptoStack::verify_permit`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PermitDecision {
    /// Whether the action is allowed.
    pub allowed: bool,
    /// 0 when allowed, else the deny reason (`warden_attest::DenyReason` value).
    pub reason: u32,
    /// The receipt's position in the daemon's chain.
    pub counter: u64,
    /// The signed COSE_Sign1 receipt.
    pub receipt: Vec<u8>,
}

fn hash32(b: &[u8]) -> Result<[u8; 32]> {
    <[u8; 32]>::try_from(b).map_err(|_| Error::Protocol("policy hash is not 32 bytes"))
}

impl CryptoStack {
    fn done(&self, req: &Request<'_>) -> Result<()> {
        self.link.request(req, Timeout::Default, |r| match r {
            Response::Done => Ok(()),
            _ => Err(unexpected()),
        })
    }

    /// Binds a WASM policy module to `action` (admins); returns the module's SHA-256.
    pub fn policy_load(&self, action: &str, profile: &str, module: &[u8]) -> Result<[u8; 32]> {
        let req = Request::PolicyLoad {
            action,
            profile,
            module,
        };
        self.link.request(&req, Timeout::Default, |r| match r {
            Response::KeyBytes { data } => hash32(data),
            _ => Err(unexpected()),
        })
    }

    /// The loaded policies, in action order (fetched page by page).
    pub fn policy_list(&self) -> Result<Vec<PolicyInfo>> {
        let mut all: Vec<PolicyInfo> = Vec::new();
        loop {
            let after = all.last().map(|p| p.action.clone()).unwrap_or_default();
            let req = Request::PolicyList {
                start_after: &after,
                limit: 0,
            };
            let (page, more) = self.link.request(&req, Timeout::Default, |r| match r {
                Response::PolicyList { policies, more } => Ok((
                    policies
                        .iter()
                        .map(|p| {
                            Ok(PolicyInfo {
                                action: p.action.to_owned(),
                                profile: p.profile.to_owned(),
                                sha256: hash32(p.sha256)?,
                                size: p.size,
                            })
                        })
                        .collect::<Result<Vec<_>>>()?,
                    more,
                )),
                _ => Err(unexpected()),
            })?;
            if more && page.is_empty() {
                return Err(Error::Protocol("empty policy page with more to come"));
            }
            all.extend(page);
            if !more {
                return Ok(all);
            }
        }
    }

    /// Unloads the policy bound to `action` (admins).
    pub fn policy_unload(&self, action: &str) -> Result<()> {
        self.done(&Request::PolicyUnload { action })
    }

    /// Trusts `issuer`'s raw public key for permits (admins). `alg`: `ED25519`,
    /// `ECDSA-P256-SHA256` or `ML-DSA-65`.
    pub fn trust_add(&self, issuer: &str, alg: &str, public_key: &[u8]) -> Result<()> {
        self.done(&Request::TrustAdd {
            issuer,
            algorithm: alg,
            public_key,
        })
    }

    /// The trusted issuers, in issuer order (fetched page by page).
    pub fn trust_list(&self) -> Result<Vec<TrustedIssuer>> {
        let mut all: Vec<TrustedIssuer> = Vec::new();
        loop {
            let after = all.last().map(|t| t.issuer.clone()).unwrap_or_default();
            let req = Request::TrustList {
                start_after: &after,
                limit: 0,
            };
            let (page, more) = self.link.request(&req, Timeout::Default, |r| match r {
                Response::TrustList { issuers, more } => Ok((
                    issuers
                        .iter()
                        .map(|t| TrustedIssuer {
                            issuer: t.issuer.to_owned(),
                            alg: t.algorithm.to_owned(),
                            public_key: t.public_key.to_vec(),
                        })
                        .collect::<Vec<_>>(),
                    more,
                )),
                _ => Err(unexpected()),
            })?;
            if more && page.is_empty() {
                return Err(Error::Protocol("empty trust page with more to come"));
            }
            all.extend(page);
            if !more {
                return Ok(all);
            }
        }
    }

    /// Stops trusting `issuer` (admins).
    pub fn trust_remove(&self, issuer: &str) -> Result<()> {
        self.done(&Request::TrustRemove { issuer })
    }

    /// Asks the daemon to verify `permit` for the intent; every decision comes with a receipt.
    pub fn verify_permit(
        &self,
        permit: &[u8],
        action: &str,
        resource: &str,
        intent: &[u8],
    ) -> Result<PermitDecision> {
        let req = Request::PermitVerify {
            permit,
            action,
            resource,
            intent,
        };
        self.link.request(&req, Timeout::Default, |r| match r {
            Response::PermitDecision {
                allowed,
                reason,
                counter,
                receipt,
            } => Ok(PermitDecision {
                allowed,
                reason,
                counter,
                receipt: receipt.to_vec(),
            }),
            _ => Err(unexpected()),
        })
    }

    /// The daemon's attestation public key: `(algorithm name, raw key)`.
    pub fn attestation_public_key(&self) -> Result<(String, Vec<u8>)> {
        self.link
            .request(&Request::AttestPublicKey, Timeout::Default, |r| match r {
                Response::AttestPublicKey {
                    algorithm,
                    public_key,
                } => Ok((algorithm.to_owned(), public_key.to_vec())),
                _ => Err(unexpected()),
            })
    }

    /// The daemon's receipt chain from counter `from` (1 = genesis) to its head, as one chain
    /// file (receipts concatenated, a CBOR sequence that `warden_attest::split_chain` splits),
    /// plus the head counter. Fetched page by page; admins only. Needs a protocol 1.1 daemon.
    ///
    /// When the daemon pruned receipts up to or past `from` (receipt retention), the file
    /// starts with the daemon's signed retention checkpoint followed by the first retained
    /// receipt; `warden_attest::verify_anchored_chain` verifies such a file.
    pub fn export_receipts(&self, from: u64) -> Result<(Vec<u8>, u64)> {
        let mut chain = Vec::new();
        let mut next = from.max(1);
        let mut first = true;
        loop {
            let req = Request::ReceiptExport {
                from: next,
                max_bytes: 0,
            };
            let (count, head, pruned) = self.link.request(&req, Timeout::Default, |r| match r {
                Response::ReceiptExport {
                    receipts,
                    count,
                    head,
                    pruned,
                    checkpoint,
                } => {
                    // The checkpoint anchors the file only at its start; later pages
                    // begin where the previous one ended, after any prune point.
                    if first && !checkpoint.is_empty() && next <= pruned.saturating_add(1) {
                        chain.extend_from_slice(checkpoint);
                    }
                    chain.extend_from_slice(receipts);
                    Ok((count, head, pruned))
                }
                _ => Err(unexpected()),
            })?;
            if first {
                // The page was served from the first retained receipt.
                next = next.max(pruned.saturating_add(1));
                first = false;
            } else if pruned >= next {
                // Retention pruned the counters this page was asked for: the pages would
                // not join up.
                return Err(Error::Protocol(
                    "receipts were pruned during the export; export again",
                ));
            }
            if count == 0 {
                if next <= head {
                    return Err(Error::Protocol("receipt export made no progress"));
                }
                return Ok((chain, head));
            }
            next = next.saturating_add(u64::from(count));
            if next > head {
                return Ok((chain, head));
            }
        }
    }
}
