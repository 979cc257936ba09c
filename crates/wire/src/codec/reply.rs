//! Error details and whole reply frames as a client sees them.

use crate::error::WireError;
use crate::generated::warden::wire as g;
use crate::messages::{ErrorCount, Response, response_kind};
use crate::opcode::Opcode;

use super::Builder;
use super::fields::*;
use super::response::*;

/// Whether `resp` is the shape that answers opcode `op` (for debug assertions in the daemon).
pub fn response_fits(op: Opcode, resp: &Response<'_>) -> bool {
    response_kind(op) == Some(resp.kind())
}

/// Encodes the optional body of an error response: a static, non-secret detail string.
pub fn encode_error_detail<'b>(b: &'b mut Builder, detail: &str) -> &'b [u8] {
    b.clear();
    let o = g::ErrorDetail::create(b, detail);
    b.finish(o, None)
}

/// Decodes an error response body; an empty body (no detail) gives `""`.
pub fn decode_error_detail(body: &[u8]) -> Result<&str, WireError> {
    if body.is_empty() {
        return Ok("");
    }
    let r: g::ErrorDetailRef<'_> = root(body)?;
    Ok(val(r.detail())?.unwrap_or(""))
}

/// Converts a status-report counter (used by tests and by the daemon when building reports).
impl From<(u32, u64)> for ErrorCount {
    fn from((code, count): (u32, u64)) -> Self {
        ErrorCount { code, count }
    }
}

/// A response frame as the client sees it: a success body or the daemon's error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply<'a> {
    /// Status 0: the decoded body.
    Ok(Response<'a>),
    /// Non-zero status: the raw code (map it with `warden_core::ErrorCode::from_u32`) and the
    /// daemon's static detail string (may be empty).
    Err {
        /// `warden_core::ErrorCode` value from the header.
        code: u32,
        /// Static, non-secret detail.
        detail: &'a str,
    },
}

/// Decodes a response frame (header already checked by [`crate::FrameHeader::decode`]) whose
/// request had opcode `sent`.
///
/// Errors: [`WireError::MalformedBody`] if the frame is not a response or answers another
/// opcode; body errors as [`decode_response`].
pub fn decode_reply<'a>(
    sent: Opcode,
    header: &crate::FrameHeader,
    body: &'a [u8],
) -> Result<Reply<'a>, WireError> {
    if !header.is_response() {
        return Err(WireError::MalformedBody(
            "request frame where a response was expected",
        ));
    }
    if header.opcode != sent.as_u16() {
        return Err(WireError::MalformedBody("response to a different opcode"));
    }
    if header.status == 0 {
        decode_response(sent, body).map(Reply::Ok)
    } else {
        Ok(Reply::Err {
            code: header.status,
            detail: decode_error_detail(body)?,
        })
    }
}
