//! Which requests are long work (run on the long lane, see `lane`): decided from what the
//! request says and the connection's own resources, before dispatch.

use warden_core::Algorithm;
use warden_wire::Payload;
use warden_wire::messages::Kdf;
use warden_wire::{FrameHeader, Opcode, Request, decode_request};

use crate::request::ConnState;

/// PBKDF2 iteration counts above this are long work (8192 iterations ≈ 5 ms).
pub(crate) const LONG_PBKDF2_ITERATIONS: u32 = 8192;

/// Region payloads above this are long work (4 MiB: a few milliseconds of AES-GCM, about
/// ten of Ed25519); a 50 MB one-shot must not hold a worker.
pub(crate) const LONG_REGION_BYTES: u64 = 4 << 20;

/// Algorithms whose key generation (and import, which validates or expands the key) or
/// private-key operations take milliseconds to seconds.
fn slow_algorithm(a: Algorithm) -> bool {
    a.is_rsa() || matches!(a, Algorithm::SlhDsaSha2_128s | Algorithm::SlhDsaSha2_128f)
}

fn slow_name(name: &str) -> bool {
    Algorithm::from_name(name).is_ok_and(slow_algorithm)
}

/// Whether the request (`header`, `body`) on a connection in `state` is long work. Decides
/// on what the request says and the connection's own resources; a request that does not
/// decode is not long (dispatch answers its error on the worker).
pub(crate) fn is_long(state: &ConnState, header: &FrameHeader, body: &[u8]) -> bool {
    if state.version.is_none() {
        return false;
    }
    let op = match header.opcode() {
        // Certificate work: verification parses every anchor and CRL of the store (a uid
        // fills its own with 256 entries of up to 64 KiB: hundreds of milliseconds), listing
        // parses them too, a CRL import parses and checks one, and a CSR or self-signed
        // certificate is a private-key signature (RSA included). Not a hot path: always long.
        Ok(
            Opcode::CertVerify
            | Opcode::CertStoreList
            | Opcode::CertList
            | Opcode::CertCrlImport
            | Opcode::CertCsr
            | Opcode::CertSelfSign,
        ) => return true,
        Ok(
            op @ (Opcode::GenerateKey
            | Opcode::ImportKey
            | Opcode::DeriveKey
            | Opcode::Update
            | Opcode::Finalize
            | Opcode::Process),
        ) => op,
        _ => return false,
    };
    let context_slow = |id: u64| {
        state
            .resources
            .context_key_id(id)
            .and_then(|k| state.resources.live_key(k).ok())
            .is_some_and(|k| slow_algorithm(k.algorithm()))
    };
    match decode_request(op, body) {
        Ok(Request::GenerateKey(r)) => slow_name(r.key.algorithm),
        Ok(Request::ImportKey(r)) => slow_name(r.key.algorithm),
        Ok(Request::DeriveKey(r)) => {
            matches!(r.kdf, Kdf::Pbkdf2 { iterations, .. } if iterations > LONG_PBKDF2_ITERATIONS)
        }
        Ok(Request::Update {
            input: Payload::Shm(s),
            ..
        }) => s.len > LONG_REGION_BYTES,
        // Process always finalizes.
        Ok(
            Request::Finalize {
                context_id, input, ..
            }
            | Request::Process {
                context_id, input, ..
            },
        ) => {
            matches!(input, Payload::Shm(s) if s.len > LONG_REGION_BYTES)
                || context_slow(context_id)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_algorithms() {
        assert!(slow_name("RSA-PSS-SHA256"));
        assert!(slow_name("SLH-DSA-SHA2-128S"));
        assert!(!slow_name("ED25519"));
        assert!(!slow_name("AES-256-GCM"));
        assert!(!slow_name("no such algorithm"));
    }
}
