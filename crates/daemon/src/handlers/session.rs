//! Session operations: handshake, ping, status.

use warden_core::{Error, ErrorCode};
use warden_wire::handshake::{Hello, HelloAck, HelloRefusal, REFUSAL_CODE};
use warden_wire::{PROTOCOL_VERSION, negotiate};

use crate::codec;
use crate::connection::{ConnState, Flow, Response};
use crate::dispatch::Outcome;
use crate::server::Shared;

/// Hello: negotiate the version (ours or the previous minor) or refuse and close.
pub(crate) fn hello(
    state: &mut ConnState,
    shared: &Shared,
    body: &[u8],
    resp: &mut Response<'_>,
) -> Outcome {
    let hello = match Hello::decode(body) {
        Ok(h) => h,
        Err(e) => {
            resp.clear_body();
            return Outcome {
                status: Some(e.error_code()),
                flow: Flow::Close,
            };
        }
    };
    match negotiate(PROTOCOL_VERSION, hello.min, hello.max) {
        Ok(version) => {
            let ack = HelloAck {
                version,
                daemon_version: PROTOCOL_VERSION,
                max_frame_len: shared.config.limits.max_frame_size,
            };
            if resp.push(&ack.encode()).is_err() {
                resp.clear_body();
                return Outcome {
                    status: Some(ErrorCode::InternalError),
                    flow: Flow::Close,
                };
            }
            state.version = Some(version);
            Outcome {
                status: None,
                flow: Flow::Continue,
            }
        }
        Err(_) => {
            resp.clear_body();
            let refusal = HelloRefusal {
                daemon_version: PROTOCOL_VERSION,
            };
            let _ = resp.push(&refusal.encode());
            Outcome {
                status: Some(REFUSAL_CODE),
                flow: Flow::Close,
            }
        }
    }
}

/// Ping: echo the payload.
pub(crate) fn ping(body: &[u8], resp: &mut Response<'_>) -> Result<(), Error> {
    codec::ping_reply(body, resp)
}

/// Status: counters for operators and tests.
pub(crate) fn status(
    _state: &mut ConnState,
    shared: &Shared,
    body: &[u8],
    resp: &mut Response<'_>,
) -> Result<(), Error> {
    let snap = shared.snapshot();
    codec::status_reply(body, &snap, shared, resp)
}
