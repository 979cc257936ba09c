//! Thin adapter between handlers and the wire crate's body encodings.

use warden_core::{Error, ErrorCode};

use crate::connection::Response;
use crate::server::Shared;
use crate::stats::StatusSnapshot;

/// Ping: `PingRequest` and `PingResponse` have the same schema, so the reply is the request
/// body itself.
pub(crate) fn ping_reply(body: &[u8], resp: &mut Response<'_>) -> Result<(), Error> {
    resp.push(body).map_err(Error::from)
}

/// Status reply (pending the wire crate's `StatusResponse` encoder).
pub(crate) fn status_reply(
    _body: &[u8],
    _snap: &StatusSnapshot,
    _shared: &Shared,
    _resp: &mut Response<'_>,
) -> Result<(), Error> {
    Err(Error::new(
        ErrorCode::UnsupportedOperation,
        "status encoding pending",
    ))
}
