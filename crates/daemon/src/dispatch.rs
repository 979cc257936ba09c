//! The dispatcher: handshake gate, version check, deadline check, opcode → handler.
//!
//! Every request goes through [`dispatch`], which never panics and always yields a status;
//! a handler error becomes an empty-bodied reply carrying the error code.

use std::time::{Duration, Instant};

use warden_core::{Error, ErrorCode};
use warden_wire::{FrameHeader, Opcode};

use crate::connection::{ConnState, Flow, Response};
use crate::handlers;
use crate::server::Shared;

/// When a request must be done by (seed decision 7). Measured from the moment its header
/// was read, so time spent queued for a worker counts against the client's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deadline {
    received: Instant,
    at: Option<Instant>,
}

impl Deadline {
    /// The deadline carried in a header (`0` = none).
    pub(crate) fn from_header(received: Instant, deadline_ms: u32) -> Self {
        let at = (deadline_ms != 0)
            .then(|| received.checked_add(Duration::from_millis(u64::from(deadline_ms))))
            .flatten();
        Self { received, at }
    }

    /// No deadline.
    #[cfg(test)]
    pub(crate) fn none() -> Self {
        Self {
            received: Instant::now(),
            at: None,
        }
    }

    /// A deadline `ms` after the request arrived, unless the header already set one: a
    /// context's own timeout applies when the request carries none.
    pub(crate) fn or_budget(self, ms: Option<u32>) -> Self {
        match (self.at, ms) {
            (None, Some(ms)) => Self::from_header(self.received, ms),
            _ => self,
        }
    }

    /// Whether the deadline has passed.
    pub(crate) fn expired(&self) -> bool {
        self.at.is_some_and(|at| Instant::now() >= at)
    }

    /// `Err(OperationTimedOut)` if the deadline has passed.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.expired() {
            Err(Error::new(ErrorCode::OperationTimedOut, "deadline passed"))
        } else {
            Ok(())
        }
    }
}

/// Result of dispatching one request.
pub(crate) struct Outcome {
    /// `None` = success; otherwise the code the reply carries.
    pub(crate) status: Option<ErrorCode>,
    /// What happens to the connection afterwards.
    pub(crate) flow: Flow,
}

/// Routes one request. The body is the arena copy; the response goes into `resp`.
pub(crate) fn dispatch(
    state: &mut ConnState,
    shared: &Shared,
    header: &FrameHeader,
    body: &[u8],
    deadline: Deadline,
    resp: &mut Response<'_>,
) -> Outcome {
    if header.is_response() {
        return fail(resp, ErrorCode::InvalidFormat, Flow::Close);
    }
    let Some(version) = state.version else {
        // Before the handshake only Hello is understood; anything else ends the connection.
        if header.opcode != Opcode::Hello.as_u16() {
            return fail(resp, ErrorCode::UninitializedStack, Flow::Close);
        }
        return handlers::session::hello(state, shared, body, resp);
    };
    if let Err(e) = header.check_version(version) {
        return fail(resp, e.error_code(), Flow::Continue);
    }
    let op = match header.opcode() {
        Ok(op) => op,
        Err(e) => return fail(resp, e.error_code(), Flow::Continue),
    };
    // Queued past its budget already: do not start the work at all.
    if deadline.expired() {
        return fail(resp, ErrorCode::OperationTimedOut, Flow::Continue);
    }
    match route(op, state, shared, body, deadline, resp) {
        Ok(()) => Outcome {
            status: None,
            flow: Flow::Continue,
        },
        Err(e) => fail(resp, e.code(), Flow::Continue),
    }
}

fn fail(resp: &mut Response<'_>, code: ErrorCode, flow: Flow) -> Outcome {
    resp.clear_body();
    Outcome {
        status: Some(code),
        flow,
    }
}

fn route(
    op: Opcode,
    state: &mut ConnState,
    shared: &Shared,
    body: &[u8],
    deadline: Deadline,
    resp: &mut Response<'_>,
) -> Result<(), Error> {
    let _ = deadline;
    match op {
        Opcode::Hello => Err(Error::new(
            ErrorCode::AlreadyInitialized,
            "handshake already done",
        )),
        Opcode::Ping => handlers::session::ping(body, resp),
        Opcode::Status => handlers::session::status(state, shared, body, resp),
        _ => Err(Error::new(
            ErrorCode::UnsupportedOperation,
            "opcode not served",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines() {
        let now = Instant::now();
        assert!(!Deadline::from_header(now, 0).expired());
        assert!(Deadline::from_header(now, 0).check().is_ok());
        assert!(!Deadline::from_header(now, 60_000).expired());
        let past = now - Duration::from_millis(50);
        let d = Deadline::from_header(past, 10);
        assert!(d.expired());
        assert_eq!(d.check().unwrap_err().code(), ErrorCode::OperationTimedOut);
        // A context budget applies only when the header carried none.
        assert!(Deadline::from_header(past, 0).or_budget(Some(10)).expired());
        assert!(
            !Deadline::from_header(past, 60_000)
                .or_budget(Some(10))
                .expired()
        );
        assert!(!Deadline::none().or_budget(None).expired());
    }
}
