//! Certificates (issue 16): certificate slots, CSRs and self-signed certificates made by a
//! slot key inside the daemon, verification trust stores, CRLs and chain verification.
//!
//! Certificate slot names follow key slots: a bare name is the caller's own, `uid/name`
//! another owner's that was shared. Trust stores are `@name` (global, admin-managed, usable
//! by all) or a per-owner name like a slot. Certificates and CRLs travel as DER.

use warden_core::Timeout;
use warden_wire::Opcode;
use warden_wire::messages::{CertCall, Request, Response, pack_chain};

use crate::error::unexpected;
use crate::error::{Error, Result};
use crate::stack::CryptoStack;

/// One certificate slot or trust-store entry ([`CryptoStack::cert_list`],
/// [`CryptoStack::trust_store_list`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertInfo {
    /// Slot name as you must address it; for store entries the entry id (`a/<sha256>` for an
    /// anchor, `c/<sha256 of the issuer name>` for a CRL).
    pub name: String,
    /// Owner uid (0 for global stores).
    pub owner_uid: u32,
    /// The key slot it is bound to (`uid/name`; empty: none).
    pub key_slot: String,
    /// Subject (RFC 4514); empty for CRLs.
    pub subject: String,
    /// Issuer (RFC 4514).
    pub issuer: String,
    /// notBefore (CRLs: thisUpdate), Unix seconds.
    pub not_before: i64,
    /// notAfter, Unix seconds (0 for CRLs).
    pub not_after: i64,
    /// Uids that may read the slot (owner and admins see them).
    pub grants: Vec<u32>,
    /// `cert`, `anchor` or `crl`.
    pub kind: String,
}

/// What a verified leaf must be good for ([`CryptoStack::cert_verify`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerifyOptions<'a> {
    /// Verification time, Unix seconds (0 = now).
    pub time_unix: u64,
    /// Required extended key usage (dotted OID, e.g. `1.3.6.1.5.5.7.3.2`).
    pub eku: Option<&'a str>,
    /// Required keyUsage bits (RFC 5280 order: 1 digitalSignature, 2 nonRepudiation,
    /// 4 keyEncipherment, 8 dataEncipherment, 16 keyAgreement, ...).
    pub key_usage: u16,
}

/// The leaf of a verification: DER bytes or a certificate slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaf<'a> {
    /// The certificate itself.
    Der(&'a [u8]),
    /// A certificate slot you may read.
    Slot(&'a str),
}

impl CryptoStack {
    fn cert(&self, op: Opcode, call: CertCall<'_>) -> Result<()> {
        self.link
            .request(&Request::Cert { op, call }, Timeout::Default, |r| match r {
                Response::Done => Ok(()),
                _ => Err(unexpected()),
            })
    }

    fn cert_bytes(&self, op: Opcode, call: CertCall<'_>) -> Result<Vec<u8>> {
        self.link
            .request(&Request::Cert { op, call }, Timeout::Default, |r| match r {
                Response::KeyBytes { data } => Ok(data.to_vec()),
                _ => Err(unexpected()),
            })
    }

    fn cert_pages(&self, op: Opcode, store: &str) -> Result<Vec<CertInfo>> {
        let mut all: Vec<CertInfo> = Vec::new();
        loop {
            let after = all.last().map(|c| c.name.clone()).unwrap_or_default();
            let call = CertCall {
                store,
                start_after: &after,
                ..CertCall::default()
            };
            let (page, more) =
                self.link
                    .request(&Request::Cert { op, call }, Timeout::Default, |r| match r {
                        Response::CertList { certs, more } => Ok((
                            certs
                                .iter()
                                .map(|e| CertInfo {
                                    name: e.name.to_owned(),
                                    owner_uid: e.owner_uid,
                                    key_slot: e.key_slot.to_owned(),
                                    subject: e.subject.to_owned(),
                                    issuer: e.issuer.to_owned(),
                                    not_before: e.not_before,
                                    not_after: e.not_after,
                                    grants: e.grants().collect(),
                                    kind: e.kind.to_owned(),
                                })
                                .collect::<Vec<_>>(),
                            more,
                        )),
                        _ => Err(unexpected()),
                    })?;
            if more && page.is_empty() {
                return Err(Error::Protocol("empty certificate page with more to come"));
            }
            all.extend(page);
            if !more {
                return Ok(all);
            }
        }
    }

    /// Stores `der` in a new certificate slot `name` of your namespace, bound to `key_slot`
    /// if given (refused with `IncompatibleKeyType` unless the certificate's public key is
    /// that key's). Shares the per-uid slot quota with key slots.
    pub fn cert_import(&self, name: &str, der: &[u8], key_slot: Option<&str>) -> Result<()> {
        let call = CertCall {
            name,
            der,
            key_slot: key_slot.unwrap_or(""),
            ..CertCall::default()
        };
        self.cert(Opcode::CertImport, call)
    }

    /// The certificate in slot `name` (DER).
    pub fn cert_export(&self, name: &str) -> Result<Vec<u8>> {
        self.cert_bytes(
            Opcode::CertExport,
            CertCall {
                name,
                ..CertCall::default()
            },
        )
    }

    /// The certificate slots you may read, in name order.
    pub fn cert_list(&self) -> Result<Vec<CertInfo>> {
        self.cert_pages(Opcode::CertList, "")
    }

    /// Deletes certificate slot `name` (owner or admin).
    pub fn cert_delete(&self, name: &str) -> Result<()> {
        self.cert(
            Opcode::CertDelete,
            CertCall {
                name,
                ..CertCall::default()
            },
        )
    }

    /// Binds certificate slot `name` to `key_slot` (whose key must be the certificate's),
    /// or unbinds it with `None`.
    pub fn cert_bind(&self, name: &str, key_slot: Option<&str>) -> Result<()> {
        let call = CertCall {
            name,
            key_slot: key_slot.unwrap_or(""),
            ..CertCall::default()
        };
        self.cert(Opcode::CertBind, call)
    }

    /// Lets `uid` read certificate slot `name` (`granted`), or withdraws that.
    pub fn cert_grant(&self, name: &str, uid: u32, granted: bool) -> Result<()> {
        let op = if granted {
            Opcode::CertGrant
        } else {
            Opcode::CertRevoke
        };
        self.cert(
            op,
            CertCall {
                name,
                uid,
                ..CertCall::default()
            },
        )
    }

    /// A PKCS#10 request for `subject` (RFC 4514, e.g. `CN=device 7,O=Acme`), signed inside
    /// the daemon by the key in `key_slot` (your Sign right needed). DER.
    pub fn cert_csr(&self, key_slot: &str, subject: &str) -> Result<Vec<u8>> {
        let call = CertCall {
            key_slot,
            subject,
            ..CertCall::default()
        };
        self.cert_bytes(Opcode::CertCsr, call)
    }

    /// A self-signed CA certificate for the key in `key_slot`, valid from `not_before`
    /// (0 = now) to `not_after` (Unix seconds); also stored in certificate slot `store_as`,
    /// bound to the key, if given. DER.
    pub fn cert_self_sign(
        &self,
        key_slot: &str,
        subject: &str,
        not_before: u64,
        not_after: u64,
        store_as: Option<&str>,
    ) -> Result<Vec<u8>> {
        let call = CertCall {
            key_slot,
            subject,
            time_unix: not_before,
            not_after_unix: not_after,
            name: store_as.unwrap_or(""),
            ..CertCall::default()
        };
        self.cert_bytes(Opcode::CertSelfSign, call)
    }

    /// Adds `der` as an anchor of trust store `store` (`@name`: admins only).
    pub fn trust_store_add(&self, store: &str, der: &[u8]) -> Result<()> {
        self.cert(
            Opcode::CertStoreAdd,
            CertCall {
                store,
                der,
                ..CertCall::default()
            },
        )
    }

    /// Removes entry `entry` (an id from [`CryptoStack::trust_store_list`]) of `store`, or
    /// the whole store with `None`.
    pub fn trust_store_remove(&self, store: &str, entry: Option<&str>) -> Result<()> {
        let call = CertCall {
            store,
            name: entry.unwrap_or(""),
            ..CertCall::default()
        };
        self.cert(Opcode::CertStoreRemove, call)
    }

    /// The anchors and CRLs of `store`.
    pub fn trust_store_list(&self, store: &str) -> Result<Vec<CertInfo>> {
        self.cert_pages(Opcode::CertStoreList, store)
    }

    /// Imports CRL `der` into `store`: it must be signed by an anchor of the store, or by
    /// `issuer` (an intermediate CA certificate that an anchor signed). `CrlImportFailed`
    /// otherwise, or if the store holds a newer CRL of that issuer.
    pub fn crl_import(&self, store: &str, der: &[u8], issuer: Option<&[u8]>) -> Result<()> {
        let chain = issuer.map(|i| pack_chain(&[i])).unwrap_or_default();
        let call = CertCall {
            store,
            der,
            chain: &chain,
            ..CertCall::default()
        };
        self.cert(Opcode::CertCrlImport, call)
    }

    /// Verifies `leaf` through `intermediates` to an anchor of `store`, with the store's
    /// CRLs. Errors carry the certificate codes: `CertificateExpired`, `CertificateRevoked`,
    /// `TrustAnchorNotFound`, `CertChainVerifyFailed`, `CertificateVerifyFailed` (usage),
    /// `CertificateParsingFailed`.
    pub fn cert_verify(
        &self,
        store: &str,
        leaf: Leaf<'_>,
        intermediates: &[&[u8]],
        options: &VerifyOptions<'_>,
    ) -> Result<()> {
        let chain = pack_chain(intermediates);
        let (der, name) = match leaf {
            Leaf::Der(d) => (d, ""),
            Leaf::Slot(s) => (&[][..], s),
        };
        let call = CertCall {
            store,
            der,
            name,
            chain: &chain,
            time_unix: options.time_unix,
            eku: options.eku.unwrap_or(""),
            key_usage: u32::from(options.key_usage),
            ..CertCall::default()
        };
        self.cert(Opcode::CertVerify, call)
    }
}
