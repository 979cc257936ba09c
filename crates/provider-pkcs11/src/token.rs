//! The connection to one token: the loaded module, the slot, the login, a pool of sessions.
//!
//! PKCS#11 logs in per application, not per session, so one login serves every session we
//! open. Sessions are not `Sync` (a session runs one operation at a time), so each operation
//! takes one from the pool and puts it back; a session that failed because the token went
//! away is dropped instead, and the next operation opens a fresh one and logs in again. That
//! is what lets a token that vanished and came back serve again without a daemon restart.

use std::collections::HashMap;
use std::sync::Mutex;

use cryptoki::context::{CInitializeArgs, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::MechanismType;
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use warden_core::{Error, ErrorCode, Result};

use crate::error::{map, session_lost, stale_handle};
use crate::key::ID_LEN;

/// Sessions kept open for reuse (more may be open at once; the extra ones close after use).
const POOL_MAX: usize = 8;

/// One token, logged in as its user.
pub(crate) struct Token {
    pkcs11: Pkcs11,
    slot: Slot,
    pin: AuthPin,
    pool: Mutex<Vec<Session>>,
    /// Object handles by (class, CKA_ID): a search per operation costs SoftHSM more than the
    /// operation itself (BENCHMARKS.md). Handles stay valid across our sessions; the cache is
    /// dropped whenever the token or a handle turns out stale.
    handles: Mutex<HashMap<(u8, [u8; ID_LEN]), ObjectHandle>>,
}

/// Our small tag for the object classes we look up (the cache key).
fn class_tag(class: ObjectClass) -> u8 {
    if class == ObjectClass::SECRET_KEY {
        0
    } else if class == ObjectClass::PRIVATE_KEY {
        1
    } else {
        2
    }
}

impl Token {
    /// Loads `module`, finds the initialised token labelled `label`, logs in with `pin`.
    pub(crate) fn open(module: &std::path::Path, label: &str, pin: AuthPin) -> Result<Token> {
        let pkcs11 = Pkcs11::new(module).map_err(map)?;
        pkcs11.initialize(CInitializeArgs::OsThreads).map_err(map)?;
        let slot = pkcs11
            .get_slots_with_initialized_token()
            .map_err(map)?
            .into_iter()
            .find(|s| {
                pkcs11
                    .get_token_info(*s)
                    .is_ok_and(|i| i.label().trim_end() == label)
            })
            .ok_or(Error::new(
                ErrorCode::ProviderNotAvailable,
                "no initialised token with that label",
            ))?;
        let token = Token {
            pkcs11,
            slot,
            pin,
            pool: Mutex::new(Vec::new()),
            handles: Mutex::new(HashMap::new()),
        };
        // Log in now: a wrong PIN fails at startup, not at the first client request.
        let s = token.session()?;
        token.put_back(s);
        Ok(token)
    }

    /// The mechanisms the token offers.
    pub(crate) fn mechanisms(&self) -> Result<Vec<MechanismType>> {
        self.pkcs11.get_mechanism_list(self.slot).map_err(map)
    }

    /// A logged-in read-write session: from the pool, or freshly opened.
    fn session(&self) -> Result<Session> {
        if let Some(s) = self.pool.lock().ok().and_then(|mut p| p.pop()) {
            return Ok(s);
        }
        let s = self.pkcs11.open_rw_session(self.slot).map_err(map)?;
        match s.login(UserType::User, Some(&self.pin)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(s),
            Err(e) => Err(map(e)),
        }
    }

    fn put_back(&self, s: Session) {
        if let Ok(mut p) = self.pool.lock()
            && p.len() < POOL_MAX
        {
            p.push(s);
        }
    }

    /// Runs `f` on a session. A session the token lost is dropped, not pooled; when that
    /// happens on a pooled session, `f` runs once more on a fresh one (the token may be back,
    /// with a new login). Errors come back mapped to warden codes.
    pub(crate) fn with<T>(
        &self,
        mut f: impl FnMut(&Session) -> std::result::Result<T, Fail>,
    ) -> Result<T> {
        let mut last = None;
        for _ in 0..2 {
            let s = self.session()?;
            match f(&s) {
                Ok(v) => {
                    self.put_back(s);
                    return Ok(v);
                }
                Err(Fail::Ck(e)) if session_lost(&e) => {
                    // Drop every pooled session: they share the token's fate.
                    if let Ok(mut p) = self.pool.lock() {
                        p.clear();
                    }
                    self.forget_handles();
                    last = Some(e);
                }
                Err(Fail::Ck(e)) if stale_handle(&e) => {
                    // A cached handle the token no longer knows: look it up again.
                    self.put_back(s);
                    self.forget_handles();
                    last = Some(e);
                }
                Err(e) => {
                    self.put_back(s);
                    return Err(e.into());
                }
            }
        }
        Err(last.map_or(Error::from(ErrorCode::ProviderNotAvailable), map))
    }

    /// The handle of the object of `class` whose CKA_ID is `id` (`ResourceNotFound` if the
    /// token no longer has it).
    pub(crate) fn find(
        &self,
        s: &Session,
        class: ObjectClass,
        id: &[u8; ID_LEN],
    ) -> std::result::Result<ObjectHandle, Fail> {
        let key = (class_tag(class), *id);
        if let Some(h) = self.handles.lock().ok().and_then(|m| m.get(&key).copied()) {
            return Ok(h);
        }
        let found = s.find_objects(&[Attribute::Class(class), Attribute::Id(id.to_vec())])?;
        let h = found.first().copied().ok_or(Fail::W(Error::new(
            ErrorCode::ResourceNotFound,
            "key is not on the token",
        )))?;
        if let Ok(mut m) = self.handles.lock() {
            m.insert(key, h);
        }
        Ok(h)
    }

    /// Drops the cached handles of objects `id` (they were destroyed).
    pub(crate) fn forget(&self, id: &[u8; ID_LEN]) {
        if let Ok(mut m) = self.handles.lock() {
            m.retain(|(_, i), _| i != id);
        }
    }

    fn forget_handles(&self) {
        if let Ok(mut m) = self.handles.lock() {
            m.clear();
        }
    }

    /// Random bytes from the token's generator.
    pub(crate) fn random(&self, out: &mut [u8]) -> Result<()> {
        self.with(|s| Ok(s.generate_random_slice(out)?))
    }
}

/// A failed step inside [`Token::with`]: from the module, or our own check.
pub(crate) enum Fail {
    /// The module returned an error.
    Ck(CkError),
    /// We refused (already a warden error).
    W(Error),
}

impl From<CkError> for Fail {
    fn from(e: CkError) -> Self {
        Fail::Ck(e)
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::W(e)
    }
}

impl From<Fail> for Error {
    fn from(f: Fail) -> Self {
        match f {
            Fail::Ck(e) => map(e),
            Fail::W(e) => e,
        }
    }
}

/// Reads one attribute of `handle` (`InternalError` if the token omits it).
pub(crate) fn attribute(
    s: &Session,
    handle: ObjectHandle,
    ty: AttributeType,
) -> std::result::Result<Attribute, Fail> {
    s.get_attributes(handle, &[ty])?
        .into_iter()
        .next()
        .ok_or(Fail::W(Error::new(
            ErrorCode::InternalError,
            "token omitted an attribute",
        )))
}
