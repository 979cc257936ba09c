//! `warden ping` and `warden status`.

use std::time::Instant;

use serde_json::json;
use warden_client::CryptoStack;

use crate::failure::Failure;
use crate::report::Report;

/// `warden ping`: one round trip, timed.
pub fn ping(stack: &CryptoStack) -> Result<Report, Failure> {
    let probe = b"warden-ping";
    let started = Instant::now();
    let echo = stack.ping(probe).map_err(Failure::from_client)?;
    let micros = started.elapsed().as_micros();
    if echo != probe {
        return Err(Failure::Daemon(
            warden_client::ErrorCode::InternalError,
            "ping answer does not echo the probe".into(),
        ));
    }
    Ok(Report::new(
        format!(
            "wardend {} at {} answered in {micros} µs (protocol {})",
            stack.daemon_version(),
            stack.socket_path().display(),
            stack.protocol_version()
        ),
        json!({
            "socket": stack.socket_path(),
            "daemon_version": stack.daemon_version().to_string(),
            "protocol_version": stack.protocol_version().to_string(),
            "round_trip_us": micros,
        }),
    ))
}

/// `warden status`
pub fn status(stack: &CryptoStack) -> Result<Report, Failure> {
    let s = stack.status().map_err(Failure::from_client)?;
    let errors: Vec<_> = s
        .errors
        .iter()
        .map(|(code, n)| {
            let name = warden_client::ErrorCode::from_u32(*code).map_or("unknown", |c| c.name());
            json!({ "code": code, "name": name, "count": n })
        })
        .collect();
    let mut text = format!(
        "uptime          {:.1} s\nconnections     {} / {}\nlive keys       {}\nlive contexts   {}\narenas in use   {} / {}\nrequests served {}\n",
        s.uptime_ms as f64 / 1000.0,
        s.connections,
        s.max_connections,
        s.live_keys,
        s.live_contexts,
        s.arenas_in_use,
        s.arenas_total,
        s.requests_served,
    );
    if !s.live_by_kind.is_empty() {
        let kinds: Vec<String> = s
            .live_by_kind
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        text.push_str(&format!("live by kind    {}\n", kinds.join(", ")));
    }
    for e in &errors {
        text.push_str(&format!(
            "error {:<24} {}\n",
            e["name"].as_str().unwrap_or("unknown"),
            e["count"]
        ));
    }
    Ok(Report::new(
        text,
        json!({
            "uptime_ms": s.uptime_ms,
            "connections": s.connections,
            "max_connections": s.max_connections,
            "live_keys": s.live_keys,
            "live_contexts": s.live_contexts,
            "arenas_in_use": s.arenas_in_use,
            "arenas_total": s.arenas_total,
            "requests_served": s.requests_served,
            "errors": errors,
            "live_by_kind": s
                .live_by_kind
                .iter()
                .map(|(k, n)| (k.clone(), json!(n)))
                .collect::<serde_json::Map<_, _>>(),
        }),
    ))
}

/// Names of the operation bits of a provider capability (`warden_crypto::Operations`).
const OPERATION_NAMES: [(u32, &str); 14] = [
    (1 << 0, "hash"),
    (1 << 1, "mac"),
    (1 << 2, "encrypt"),
    (1 << 3, "decrypt"),
    (1 << 4, "sign"),
    (1 << 5, "verify"),
    (1 << 6, "derive"),
    (1 << 7, "agree"),
    (1 << 8, "wrap"),
    (1 << 9, "unwrap"),
    (1 << 10, "encapsulate"),
    (1 << 11, "decapsulate"),
    (1 << 12, "generate"),
    (1 << 13, "import"),
];

fn operation_names(bits: u32) -> Vec<&'static str> {
    OPERATION_NAMES
        .iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, n)| *n)
        .collect()
}

/// `warden providers`
pub fn providers(stack: &CryptoStack) -> Result<Report, Failure> {
    let s = stack.status().map_err(Failure::from_client)?;
    let mut text = String::new();
    let mut list = Vec::new();
    for (i, p) in s.providers.iter().enumerate() {
        let kind = if p.hardware { "hardware" } else { "software" };
        let default = if i == 0 { ", default" } else { "" };
        text.push_str(&format!("{} ({kind}{default})\n", p.name));
        let mut caps = Vec::new();
        for (alg, bits) in &p.capabilities {
            let ops = operation_names(*bits);
            text.push_str(&format!("  {alg:<26} {}\n", ops.join(",")));
            caps.push(json!({ "algorithm": alg, "operations": ops }));
        }
        list.push(json!({ "name": p.name, "hardware": p.hardware, "default": i == 0, "capabilities": caps }));
    }
    Ok(Report::new(text, json!({ "providers": list })))
}
