//! Per-uid bound on keys held in a hardware token outside slots.
//!
//! A key generated (or agreed, unwrapped) in a PKCS#11 token is an object in the token even
//! when it is only a connection's ephemeral key: a slot may refer to it later, so it cannot
//! be a session object. Token object storage is small (some HSMs hold a few hundred objects)
//! and shared by every uid, while the generic bounds (resources per connection, connections
//! per uid) allow thousands of keys per uid. So each uid's connections together may hold at
//! most `limits.max_token_keys_per_uid` such keys; the next is refused (`QuotaExceeded`) and
//! its objects leave the token with it. Slot keys are bounded by the slot quota instead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use warden_arena::{Account, Claim};
use warden_core::{Error, ErrorCode};
use warden_crypto::{DEFAULT_PROVIDER_NAME, Key};

use crate::config::Config;

/// The per-uid accounts (one unit per key).
pub(crate) struct TokenKeyAccounts {
    per_uid: usize,
    uids: Mutex<HashMap<u32, Weak<Account>>>,
}

impl TokenKeyAccounts {
    pub(crate) fn new(config: &Config) -> Self {
        Self {
            per_uid: config.limits.max_token_keys_per_uid,
            uids: Mutex::new(HashMap::new()),
        }
    }

    /// `uid`'s account, shared by all its connections while any holds it.
    pub(crate) fn for_uid(&self, uid: u32) -> Arc<Account> {
        // Plain map operations: a poisoned lock is still consistent.
        let mut uids = self.uids.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(a) = uids.get(&uid).and_then(Weak::upgrade) {
            return a;
        }
        uids.retain(|_, w| w.strong_count() > 0);
        let a = Account::new(self.per_uid, None);
        uids.insert(uid, Arc::downgrade(&a));
        a
    }
}

/// The charge for holding `key` outside a slot: one unit of `account` for a key of another
/// provider than the built-in software one, nothing for a software key.
pub(crate) fn charge(account: &Arc<Account>, key: &Key) -> Result<Option<Claim>, Error> {
    if key.provider() == DEFAULT_PROVIDER_NAME {
        return Ok(None);
    }
    account.try_claim(1).map(Some).map_err(|_| {
        Error::new(
            ErrorCode::QuotaExceeded,
            "token keys held by this uid outside slots at the limit",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_account_per_uid_while_held() {
        let mut c = Config::default();
        c.limits.max_token_keys_per_uid = 2;
        let t = TokenKeyAccounts::new(&c);
        let (a, b) = (t.for_uid(1), t.for_uid(1));
        let _x = a.try_claim(1).unwrap();
        let _y = b.try_claim(1).unwrap();
        assert!(a.try_claim(1).is_err(), "shared by the uid's connections");
        assert!(t.for_uid(2).try_claim(1).is_ok(), "another uid has its own");
    }
}
