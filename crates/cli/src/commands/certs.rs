//! `warden cert …`: certificate slots, CSRs, self-signed certificates, trust stores, CRLs and
//! chain verification.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;
use warden_client::{CertInfo, CryptoStack, Leaf, VerifyOptions};

use crate::args::{CertCommand, CertStoreCommand};
use crate::failure::Failure;
use crate::io::{Output, read_file};
use crate::report::Report;

const MAX_CERT_FILE: usize = 256 * 1024;

/// A certificate or CRL file: the first PEM block's DER, or the file itself as DER.
fn read_der(path: &Path) -> Result<Vec<u8>, Failure> {
    let raw = read_file(path, MAX_CERT_FILE)?;
    Ok(match crate::pem::decode(&raw) {
        Some((_, der)) => der,
        None => raw,
    })
}

/// Writes `der` as PEM with `label` (or as DER) to `out` or stdout.
fn write_der(der: &[u8], label: &str, out: Option<&Path>, as_der: bool) -> Result<Report, Failure> {
    let bytes = if as_der {
        der.to_vec()
    } else {
        crate::pem::encode(label, der).into_bytes()
    };
    Output::new(out, false)?.write(&bytes)?;
    Ok(Report::quiet(json!({
        "out": out.map(|p| p.display().to_string()),
        "len": der.len(),
    })))
}

fn listing(list: &[CertInfo], empty: &str) -> Report {
    let mut text = String::new();
    let mut items = Vec::new();
    for c in list {
        let bound = if c.key_slot.is_empty() {
            String::new()
        } else {
            format!("  key={}", c.key_slot)
        };
        let what = if c.kind == "crl" {
            format!("crl issuer={}", c.issuer)
        } else {
            c.subject.clone()
        };
        text.push_str(&format!("{:<28} {:<6} {what}{bound}\n", c.name, c.kind));
        items.push(json!({
            "name": c.name, "kind": c.kind, "owner_uid": c.owner_uid, "key_slot": c.key_slot,
            "subject": c.subject, "issuer": c.issuer, "not_before": c.not_before,
            "not_after": c.not_after, "grants": c.grants,
        }));
    }
    if list.is_empty() {
        text = format!("{empty}\n");
    }
    Report::new(text, json!({ "entries": items }))
}

fn done(text: String, value: serde_json::Value) -> Result<Report, Failure> {
    Ok(Report::new(text, value))
}

/// Named EKUs (RFC 5280 section 4.2.1.12), or a dotted OID as given.
fn eku_oid(name: &str) -> &str {
    match name {
        "serverAuth" => "1.3.6.1.5.5.7.3.1",
        "clientAuth" => "1.3.6.1.5.5.7.3.2",
        "codeSigning" => "1.3.6.1.5.5.7.3.3",
        "emailProtection" => "1.3.6.1.5.5.7.3.4",
        "timeStamping" => "1.3.6.1.5.5.7.3.8",
        "ocspSigning" => "1.3.6.1.5.5.7.3.9",
        other => other,
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `warden cert …`
pub fn run(stack: &CryptoStack, cmd: &CertCommand, _json: bool) -> Result<Report, Failure> {
    let client = Failure::from_client;
    match cmd {
        CertCommand::Import { name, input, key } => {
            let der = read_der(input)?;
            stack
                .cert_import(name, &der, key.as_deref())
                .map_err(client)?;
            done(
                format!("imported certificate into slot {name}"),
                json!({ "name": name, "key_slot": key }),
            )
        }
        CertCommand::Show { name, out, der } => {
            let cert = stack.cert_export(name).map_err(client)?;
            write_der(&cert, "CERTIFICATE", out.as_deref(), *der)
        }
        CertCommand::List => Ok(listing(
            &stack.cert_list().map_err(client)?,
            "no certificate slots",
        )),
        CertCommand::Delete { name } => {
            stack.cert_delete(name).map_err(client)?;
            done(
                format!("deleted certificate slot {name}"),
                json!({ "name": name }),
            )
        }
        CertCommand::Bind { name, key } => {
            stack.cert_bind(name, key.as_deref()).map_err(client)?;
            let text = match key {
                Some(k) => format!("bound certificate slot {name} to key slot {k}"),
                None => format!("unbound certificate slot {name}"),
            };
            done(text, json!({ "name": name, "key_slot": key }))
        }
        CertCommand::Grant { name, uid } | CertCommand::Revoke { name, uid } => {
            let granted = matches!(cmd, CertCommand::Grant { .. });
            stack.cert_grant(name, *uid, granted).map_err(client)?;
            let verb = if granted { "granted" } else { "revoked" };
            done(
                format!("{verb} read of certificate slot {name} for uid {uid}"),
                json!({ "name": name, "uid": uid, "granted": granted }),
            )
        }
        CertCommand::Csr {
            key,
            subject,
            out,
            der,
        } => {
            let csr = stack.cert_csr(key, subject).map_err(client)?;
            write_der(&csr, "CERTIFICATE REQUEST", out.as_deref(), *der)
        }
        CertCommand::SelfSign {
            key,
            subject,
            days,
            store_as,
            out,
            der,
        } => {
            let start = now();
            let end = start.saturating_add(days.saturating_mul(86_400));
            let cert = stack
                .cert_self_sign(key, subject, start, end, store_as.as_deref())
                .map_err(client)?;
            write_der(&cert, "CERTIFICATE", out.as_deref(), *der)
        }
        CertCommand::Store(CertStoreCommand::Add { store, input }) => {
            let der = read_der(input)?;
            stack.trust_store_add(store, &der).map_err(client)?;
            done(
                format!("added an anchor to trust store {store}"),
                json!({ "store": store }),
            )
        }
        CertCommand::Store(CertStoreCommand::List { store }) => Ok(listing(
            &stack.trust_store_list(store).map_err(client)?,
            "empty trust store",
        )),
        CertCommand::Store(CertStoreCommand::Remove { store, entry }) => {
            stack
                .trust_store_remove(store, entry.as_deref())
                .map_err(client)?;
            done(
                format!(
                    "removed {} from trust store {store}",
                    entry.as_deref().unwrap_or("everything")
                ),
                json!({ "store": store, "entry": entry }),
            )
        }
        CertCommand::CrlImport {
            store,
            input,
            issuer,
        } => {
            let crl = read_der(input)?;
            let issuer = issuer.as_deref().map(read_der).transpose()?;
            stack
                .crl_import(store, &crl, issuer.as_deref())
                .map_err(client)?;
            done(
                format!("imported crl into trust store {store}"),
                json!({ "store": store }),
            )
        }
        CertCommand::Verify {
            store,
            input,
            slot,
            chain,
            at,
            eku,
            key_usage,
        } => {
            let leaf_der;
            let leaf = match (input, slot) {
                (Some(path), None) => {
                    leaf_der = read_der(path)?;
                    Leaf::Der(&leaf_der)
                }
                (None, Some(s)) => Leaf::Slot(s),
                _ => return Err(Failure::Usage("give the leaf with --in or --slot".into())),
            };
            let inter: Vec<Vec<u8>> = chain
                .iter()
                .map(|p| read_der(p))
                .collect::<Result<_, _>>()?;
            let refs: Vec<&[u8]> = inter.iter().map(Vec::as_slice).collect();
            let options = VerifyOptions {
                time_unix: at.unwrap_or(0),
                eku: eku.as_deref().map(eku_oid),
                key_usage: *key_usage,
            };
            stack
                .cert_verify(store, leaf, &refs, &options)
                .map_err(client)?;
            done(
                format!("certificate verified against trust store {store}"),
                json!({ "store": store, "verified": true }),
            )
        }
    }
}
