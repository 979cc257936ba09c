//! The dispatcher: handshake gate, version check, deadline check, opcode → handler.
//!
//! Every request goes through [`dispatch`], which never panics and always yields a status;
//! a handler error becomes an empty-bodied reply carrying the error code.

use std::time::{Duration, Instant};

use warden_arena::Session;
use warden_core::{Error, ErrorCode};
use warden_wire::{FrameHeader, Opcode, Request, decode_request};

use crate::connection::{ConnState, Flow};
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

    /// The tighter of this deadline and a context's own budget of `ms` per operation
    /// (`None` = the context has no budget of its own).
    pub(crate) fn tighten(self, ms: Option<u32>) -> Self {
        let budget = Self::from_header(self.received, ms.unwrap_or(0));
        match (self.at, budget.at) {
            (Some(a), Some(b)) => Self {
                at: Some(a.min(b)),
                ..self
            },
            (None, Some(_)) => budget,
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

/// What a handler gets besides the connection state: daemon-wide state, the request's
/// session (for scratch output buffers) and its deadline.
pub(crate) struct Ctx<'r, 's> {
    pub(crate) shared: &'r Shared,
    pub(crate) session: &'r Session<'s>,
    pub(crate) deadline: Deadline,
}

/// Routes one request. `body` is the arena copy; the reply goes into `state.out`.
pub(crate) fn dispatch(
    state: &mut ConnState,
    shared: &Shared,
    header: &FrameHeader,
    body: &[u8],
    deadline: Deadline,
    session: &Session<'_>,
) -> Outcome {
    if header.is_response() {
        return fail(ErrorCode::InvalidFormat, Flow::Close);
    }
    let Some(version) = state.version else {
        // Before the handshake only Hello is understood; anything else ends the connection.
        if header.opcode != Opcode::Hello.as_u16() {
            return fail(ErrorCode::UninitializedStack, Flow::Close);
        }
        return handlers::session::hello(state, shared, body);
    };
    let outcome = serve(state, shared, header, body, deadline, session, version);
    if outcome.status.is_some() {
        // Error replies carry only the code.
        state.out.clear();
    }
    outcome
}

fn serve(
    state: &mut ConnState,
    shared: &Shared,
    header: &FrameHeader,
    body: &[u8],
    deadline: Deadline,
    session: &Session<'_>,
    version: warden_wire::Version,
) -> Outcome {
    if let Err(e) = header.check_version(version) {
        return fail(e.error_code(), Flow::Continue);
    }
    let op = match header.opcode() {
        Ok(Opcode::Hello) => return fail(ErrorCode::AlreadyInitialized, Flow::Continue),
        // Evolution rule 6: an operation newer than the negotiated version does not exist
        // on this connection.
        Ok(op) if !op.available_in(version) => {
            return fail(ErrorCode::UnsupportedOperation, Flow::Continue);
        }
        Ok(op) => op,
        Err(e) => return fail(e.error_code(), Flow::Continue),
    };
    // Queued past its budget already: do not start the work at all.
    if deadline.expired() {
        return fail(ErrorCode::OperationTimedOut, Flow::Continue);
    }
    let request = match decode_request(op, body) {
        Ok(r) => r,
        Err(e) => return fail(e.error_code(), Flow::Continue),
    };
    let ctx = Ctx {
        shared,
        session,
        deadline,
    };
    match route(&request, state, &ctx) {
        Ok(()) => Outcome {
            status: None,
            flow: Flow::Continue,
        },
        Err(e) => fail(e.code(), Flow::Continue),
    }
}

fn fail(code: ErrorCode, flow: Flow) -> Outcome {
    Outcome {
        status: Some(code),
        flow,
    }
}

/// Every request that names a slot key re-checks the caller's rights on that slot first
/// (revocations and deletions take effect at once) and has its outcome audited.
fn route(req: &Request<'_>, state: &mut ConnState, ctx: &Ctx<'_, '_>) -> Result<(), Error> {
    let slot_use = handlers::slots::check_uses(req, state, ctx)?;
    let result = route_op(req, state, ctx);
    handlers::slots::audit_use(slot_use, state, ctx, &result);
    result
}

fn route_op(req: &Request<'_>, state: &mut ConnState, ctx: &Ctx<'_, '_>) -> Result<(), Error> {
    use handlers::{contexts, keys, permit_lists, permits, session, slots};
    match *req {
        Request::Ping { data } => session::ping(state, data),
        Request::Status => session::status(state, ctx),
        Request::GenerateKey(ref r) => keys::generate(state, ctx, r),
        Request::ImportKey(ref r) => keys::import(state, ctx, r),
        Request::ExportPublicKey { key_id, format } => keys::export_public(state, key_id, format),
        Request::ExportSecretKey { key_id } => keys::export_secret(state, key_id),
        Request::DeriveKey(ref r) => keys::derive(state, ctx, r),
        Request::AgreeKey(ref r) => keys::agree(state, ctx, r),
        Request::WrapKey(ref r) => keys::wrap(state, ctx, r),
        Request::UnwrapKey(ref r) => keys::unwrap(state, ctx, r),
        Request::Encapsulate(ref r) => keys::encapsulate(state, ctx, r),
        Request::Decapsulate(ref r) => keys::decapsulate(state, ctx, r),
        Request::ReleaseKey { key_id } => keys::release(state, key_id),
        Request::CreateContext(ref r) => contexts::create(state, ctx, r),
        Request::InitContext { context_id, iv } => contexts::init(state, ctx, context_id, iv),
        Request::SetAad { context_id, aad } => contexts::set_aad(state, ctx, context_id, aad),
        Request::Update { context_id, input } => contexts::update(state, ctx, context_id, input),
        Request::Finalize {
            context_id,
            input,
            tag,
        } => contexts::finalize(state, ctx, context_id, input, tag),
        Request::Process {
            context_id,
            iv,
            aad,
            input,
            last,
            tag,
        } => {
            let args = contexts::ProcessArgs {
                iv,
                aad,
                input,
                last,
                tag,
            };
            contexts::process(state, ctx, context_id, &args)
        }
        Request::ResetContext { context_id } => contexts::reset(state, ctx, context_id),
        Request::DestroyContext { context_id } => contexts::destroy(state, context_id),
        Request::Random { len } => contexts::random(state, ctx, len),
        Request::SlotResolve { name } => slots::resolve(state, ctx, name),
        Request::SlotPersist { key_id, name } => slots::persist(state, ctx, key_id, name),
        Request::SlotDelete { name } => slots::delete(state, ctx, name),
        Request::SlotList {
            start_after,
            limit,
            name,
        } => slots::list(state, ctx, start_after, limit, name),
        Request::SlotGrant {
            name,
            uid,
            permissions,
        } => slots::grant(state, ctx, name, uid, permissions),
        Request::SlotRevoke { name, uid } => slots::revoke(state, ctx, name, uid),
        Request::PolicyLoad {
            action,
            profile,
            module,
        } => permits::policy_load(state, ctx, action, profile, module),
        Request::PolicyList { start_after, limit } => {
            permit_lists::policy_list(state, ctx, start_after, limit)
        }
        Request::PolicyUnload { action } => permits::policy_unload(state, ctx, action),
        Request::TrustAdd {
            issuer,
            algorithm,
            public_key,
        } => permits::trust_add(state, ctx, issuer, algorithm, public_key),
        Request::TrustList { start_after, limit } => {
            permit_lists::trust_list(state, ctx, start_after, limit)
        }
        Request::TrustRemove { issuer } => permits::trust_remove(state, ctx, issuer),
        Request::PermitVerify {
            permit,
            action,
            resource,
            intent,
        } => permits::verify(state, ctx, permit, action, resource, intent),
        Request::AttestPublicKey => permits::attest_public_key(state, ctx),
        Request::SlotSetLocked { name, locked } => slots::set_locked(state, ctx, name, locked),
        Request::ReceiptExport { from, max_bytes } => {
            permits::receipt_export(state, ctx, from, max_bytes)
        }
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
        // The tighter of the request's and the context's budget wins.
        assert!(Deadline::from_header(past, 0).tighten(Some(10)).expired());
        assert!(
            Deadline::from_header(past, 60_000)
                .tighten(Some(10))
                .expired()
        );
        assert!(
            Deadline::from_header(past, 10)
                .tighten(Some(60_000))
                .expired()
        );
        assert!(!Deadline::from_header(past, 60_000).tighten(None).expired());
        assert!(!Deadline::none().tighten(None).expired());
    }
}
