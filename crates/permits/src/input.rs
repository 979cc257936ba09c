//! The input a policy cycle sees.
//!
//! For a policy of the `warden` profile the input is (all integers little-endian):
//!
//! ```text
//! magic     "WPI1"                      4 bytes
//! claims_len u32                        length of the claims document
//! claims    UTF-8 JSON, compact, keys in exactly this order:
//!           {"iss":str,"sub":str,"aud":str,"action":str,"resource":str,
//!            "cti":hex,"nbf":int,"exp":int,"max_uses":int|null,"use":int,
//!            "intent_sha256":hex}
//! payload_len u32                       length of the intent payload
//! payload   the intent payload, verbatim
//! ```
//!
//! JSON keeps policies simple (a policy can look for `"action":"read_file"` in the claims
//! document, as `examples/policies/allow_action.wat` does); the strings are escaped by
//! `serde_json`, so no claim can inject another key. The payload is raw bytes (it need not be
//! text) after the claims, length-delimited: a policy that matches text must search only the
//! claims document (`claims_len` bytes at offset 8), or a payload could imitate a claim.
//! Every claim here was verified (signature, audience, window, intent hash, action,
//! resource, replay) before the policy runs.
//!
//! For a policy of the `aether` profile (seed 003) the input is the intent payload verbatim,
//! which must then be `AetherReadings::to_input`'s 8 bytes, or the cycle fails closed.

use std::fmt::Write as _;

use warden_attest::PermitClaims;
use warden_sandbox::Profile;
use zeroize::Zeroizing;

use crate::error::PermitError;

/// Magic prefix of the `warden`-profile policy input.
pub const POLICY_INPUT_MAGIC: [u8; 4] = *b"WPI1";

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn json_str(s: &str) -> Result<String, PermitError> {
    serde_json::to_string(s).map_err(|_| PermitError::InvalidArgument("claim is not encodable"))
}

/// The claims document of the `warden`-profile input.
pub fn claims_json(claims: &PermitClaims, use_number: u32) -> Result<String, PermitError> {
    let max_uses = claims
        .max_uses
        .map_or_else(|| "null".to_owned(), |n| n.to_string());
    Ok(format!(
        "{{\"iss\":{},\"sub\":{},\"aud\":{},\"action\":{},\"resource\":{},\"cti\":\"{}\",\
         \"nbf\":{},\"exp\":{},\"max_uses\":{},\"use\":{},\"intent_sha256\":\"{}\"}}",
        json_str(&claims.issuer)?,
        json_str(&claims.subject)?,
        json_str(&claims.audience)?,
        json_str(&claims.action)?,
        json_str(&claims.resource)?,
        hex(&claims.permit_id),
        claims.not_before,
        claims.expires,
        max_uses,
        use_number,
        hex(&claims.intent_hash),
    ))
}

/// Encodes the cycle input for a policy of `profile` (see the module docs). The buffer (and
/// the claims document built on the way) is wiped when dropped: the intent payload may be
/// sensitive, and nothing of a cycle should outlive it on the host heap either.
pub fn policy_input(
    profile: Profile,
    claims: &PermitClaims,
    use_number: u32,
    payload: &[u8],
) -> Result<Zeroizing<Vec<u8>>, PermitError> {
    match profile {
        Profile::Aether => Ok(Zeroizing::new(payload.to_vec())),
        Profile::Warden => {
            let doc = Zeroizing::new(claims_json(claims, use_number)?);
            let too_large = || PermitError::InvalidArgument("policy input too large");
            let doc_len = u32::try_from(doc.len()).map_err(|_| too_large())?;
            let payload_len = u32::try_from(payload.len()).map_err(|_| too_large())?;
            // Exact capacity: the vector never reallocates, so no unwiped copy is left behind.
            let mut out = Zeroizing::new(Vec::with_capacity(12 + doc.len() + payload.len()));
            out.extend_from_slice(&POLICY_INPUT_MAGIC);
            out.extend_from_slice(&doc_len.to_le_bytes());
            out.extend_from_slice(doc.as_bytes());
            out.extend_from_slice(&payload_len.to_le_bytes());
            out.extend_from_slice(payload);
            Ok(out)
        }
    }
}
