//! The dispatcher: handshake gate, version check, deadline check, opcode → handler.
//!
//! Every request goes through [`dispatch`], which never panics and always yields a status;
//! a handler error becomes an empty-bodied reply carrying the error code.

use warden_arena::Session;
use warden_core::{Error, ErrorCode};
use warden_wire::{FrameHeader, Opcode, Request, decode_request};

use crate::handlers;
use crate::request::{ConnState, Ctx, Deadline, Flow, Outcome};
use crate::shared::Shared;

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

fn route_cert(
    op: Opcode,
    c: &warden_wire::messages::CertCall<'_>,
    state: &mut ConnState,
    ctx: &Ctx<'_, '_>,
) -> Result<(), Error> {
    use handlers::{cert_stores, certs};
    match op {
        Opcode::CertImport => certs::import(state, ctx, c),
        Opcode::CertExport => certs::export(state, ctx, c),
        Opcode::CertList => certs::list(state, ctx, c),
        Opcode::CertDelete => certs::delete(state, ctx, c),
        Opcode::CertBind => certs::bind(state, ctx, c),
        Opcode::CertGrant => certs::grant(state, ctx, c, true),
        Opcode::CertRevoke => certs::grant(state, ctx, c, false),
        Opcode::CertCsr => certs::csr(state, ctx, c),
        Opcode::CertSelfSign => certs::self_sign(state, ctx, c),
        Opcode::CertStoreAdd => cert_stores::add(state, ctx, c),
        Opcode::CertStoreRemove => cert_stores::remove(state, ctx, c),
        Opcode::CertStoreList => cert_stores::list(state, ctx, c),
        Opcode::CertCrlImport => cert_stores::crl_import(state, ctx, c),
        Opcode::CertVerify => cert_stores::verify(state, ctx, c),
        _ => Err(Error::new(
            ErrorCode::UnsupportedOperation,
            "opcode not served",
        )),
    }
}

fn route_op(req: &Request<'_>, state: &mut ConnState, ctx: &Ctx<'_, '_>) -> Result<(), Error> {
    use handlers::{contexts, keys, permit_lists, permits, regions, session, slots};
    match *req {
        Request::Ping { data } => session::ping(state, data),
        Request::Status => session::status(state, ctx),
        Request::GenerateKey(ref r) => keys::generate(state, ctx, r),
        Request::ImportKey(ref r) => keys::import(state, ctx, r),
        Request::ExportPublicKey {
            key_id,
            format,
            output,
        } => keys::export_public(state, key_id, format, output),
        Request::ExportSecretKey { key_id, output } => keys::export_secret(state, key_id, output),
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
            output,
        } => {
            let args = contexts::ProcessArgs {
                iv,
                aad,
                input,
                last,
                tag,
                output,
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
        Request::Cert { op, ref call } => route_cert(op, call, state, ctx),
        Request::RegionRegister { len } => regions::register(state, ctx, len),
        Request::RegionRelease { region_id } => regions::release(state, region_id),
        _ => Err(Error::new(
            ErrorCode::UnsupportedOperation,
            "opcode not served",
        )),
    }
}
