//! Session operations: handshake, ping, status.

use warden_core::{Error, ErrorCode};
use warden_wire::handshake::{Hello, HelloAck, HelloRefusal, REFUSAL_CODE};
use warden_wire::messages::{
    ErrorCount, ErrorCounts, LiveCounts, ProviderCap, ProviderDesc, ProviderList, StatusReport,
};
use warden_wire::{PROTOCOL_VERSION, Response, negotiate};

use crate::request::{ConnState, Ctx, Flow, Outcome};
use crate::shared::Shared;
use crate::stats::ResourceKind;

/// Hello: agree on a version (ours or the previous minor) or refuse and close.
pub(crate) fn hello(state: &mut ConnState, shared: &Shared, body: &[u8]) -> Outcome {
    let close = |code| Outcome {
        status: Some(code),
        flow: Flow::Close,
    };
    let hello = match Hello::decode(body) {
        Ok(h) => h,
        Err(e) => return close(e.error_code()),
    };
    match negotiate(PROTOCOL_VERSION, hello.min, hello.max) {
        Ok(version) => {
            let ack = HelloAck {
                version,
                daemon_version: PROTOCOL_VERSION,
                max_frame_len: shared.config.limits.max_frame_size,
            };
            if state.out.reply_raw(&ack.encode()).is_err() {
                return close(ErrorCode::InternalError);
            }
            state.version = Some(version);
            Outcome {
                status: None,
                flow: Flow::Continue,
            }
        }
        Err(_) => {
            let refusal = HelloRefusal {
                daemon_version: PROTOCOL_VERSION,
            };
            // The refusal body travels with the error status (the only error with a body).
            let _ = state.out.reply_raw(&refusal.encode());
            Outcome {
                status: Some(REFUSAL_CODE),
                flow: Flow::Close,
            }
        }
    }
}

/// Ping: echo the payload.
pub(crate) fn ping(state: &mut ConnState, data: &[u8]) -> Result<(), Error> {
    state.out.reply(&Response::Ping { data })
}

/// Status: counters for operators and tests. Admins (and the daemon's own uid) see the
/// daemon-wide figures; anyone else sees only its own uid's connections, requests, errors,
/// live resources and arenas, so Status is no window on other tenants' activity.
pub(crate) fn status(state: &mut ConnState, ctx: &Ctx<'_, '_>) -> Result<(), Error> {
    let shared = ctx.shared;
    let uid = state.peer.uid;
    let sees_all = shared.config.access.admin_uids.contains(&uid)
        || uid == rustix::process::geteuid().as_raw();
    let snap = if sees_all {
        shared.snapshot()
    } else {
        let mut own = state.counted.stats().snapshot();
        // One arena per open connection: the uid's share of the pool.
        own.arenas_in_use = own.connections_open;
        own.arenas_total = shared.pool.stats().arenas as u64;
        own
    };
    let errors: Vec<ErrorCount> = snap
        .errors
        .iter()
        .map(|(code, count)| ErrorCount {
            code: code.as_u32(),
            count: *count,
        })
        .collect();
    let keys = snap.live_of(ResourceKind::Key);
    let mut live_by_kind = LiveCounts::default();
    for (kind, count) in &snap.live {
        // Every ResourceKind has a wire code (tested in stats): set cannot refuse it.
        let known = live_by_kind.set(kind.wire_code(), *count);
        debug_assert!(known, "resource kind without a wire code");
    }
    let to_u32 = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    // The providers and what each can do: the same for every caller (configuration, not
    // activity), so no tenant learns anything about another from it.
    let mut rows: Vec<(&'static str, bool, Vec<ProviderCap<'static>>)> = Vec::new();
    ctx.shared.provider.for_each_member(&mut |info, caps| {
        rows.push((
            info.name(),
            info.provider_type() == warden_crypto::ProviderType::Hardware,
            caps.iter()
                .filter(|c| c.operations.bits() != 0)
                .map(|c| ProviderCap {
                    algorithm: c.algorithm.name(),
                    operations: c.operations.bits(),
                })
                .collect(),
        ));
    });
    let providers: Vec<ProviderDesc<'_>> = rows
        .iter()
        .map(|(name, hardware, caps)| ProviderDesc {
            name,
            hardware: *hardware,
            capabilities: caps,
        })
        .collect();
    let report = StatusReport {
        uptime_ms: u64::try_from(shared.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        connections: to_u32(snap.connections_open),
        max_connections: to_u32(shared.config.limits.max_connections as u64),
        live_keys: keys,
        // Regions are neither keys nor contexts (they have their own kind code).
        live_contexts: snap.live_total() - keys - snap.live_of(ResourceKind::Region),
        arenas_in_use: to_u32(snap.arenas_in_use),
        arenas_total: to_u32(snap.arenas_total),
        requests_served: snap.requests,
        errors: ErrorCounts::from_slice(&errors),
        live_by_kind,
        providers: ProviderList::from_slice(&providers),
    };
    state.out.reply(&Response::Status(report))
}
