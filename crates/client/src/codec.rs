//! Thin adapter over `warden-wire`'s body codec: a reused FlatBuffers builder per thread, and
//! wire errors turned into client errors.

use std::cell::RefCell;

use warden_wire::messages::ShmSlice;
use warden_wire::{Builder, Opcode, Payload, Response, WireError};

use crate::error::unexpected;
use crate::error::{Error, Result};

thread_local! {
    // One builder per thread keeps its capacity, so steady-state encoding does not allocate;
    // with the capacity it was made with.
    static BUILDER: RefCell<(Builder, usize)> = RefCell::new((Builder::new(), 0));
}

/// The most a thread's builder is made to hold up front (see [`with_encoded`]).
const MAX_PRESIZE: usize = 1 << 20;

/// Encodes `req` and hands the body bytes to `f` (the bytes live in the thread's builder,
/// which is scrubbed afterwards).
///
/// The builder is made large enough for `max_len` bytes (the daemon's frame limit, up to
/// 1 MiB) before encoding: a builder that grows mid-encoding frees its old buffer, with the
/// part of the body already written (a plaintext, key material), unwiped.
pub(crate) fn with_encoded<T>(
    req: &warden_wire::Request<'_>,
    max_len: usize,
    f: impl FnOnce(&[u8]) -> Result<T>,
) -> Result<T> {
    // Slack for what encoding adds around the payloads (vtables, alignment).
    let want = max_len.min(MAX_PRESIZE) + 1024;
    let run = |b: &mut Builder| {
        let r = f(warden_wire::encode_request(b, req));
        scrub(b);
        r
    };
    BUILDER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut held) => {
            if held.1 < want {
                // The old builder was scrubbed after its last use: nothing leaks with it.
                *held = (Builder::with_capacity(want), want);
            }
            run(&mut held.0)
        }
        // Only reachable if `f` re-enters the client on this thread; use a fresh builder.
        Err(_) => run(&mut Builder::with_capacity(want)),
    })
}

/// Zeros written over a builder's used bytes, a chunk at a time.
static ZEROS: [u8; 16 * 1024] = [0; 16 * 1024];

/// Overwrites the bytes the last encoding used: a request body may carry a plaintext or key
/// material, and the builder is kept for the thread's next request (the frame buffer it
/// was copied to is wiped after sending). A builder writes from the end of its buffer
/// down, so after `clear` the zeros land exactly where the body was; the builder exposes
/// no mutable view, hence zeros written through it rather than a wipe.
fn scrub(b: &mut Builder) {
    let mut left = b.len();
    b.clear();
    while left > 0 {
        let n = left.min(ZEROS.len());
        let _ = b.create_vector(ZEROS.get(..n).unwrap_or(&ZEROS));
        left -= n;
    }
    b.clear();
}

/// Decodes a successful response body for opcode `op`.
pub(crate) fn decode(op: Opcode, body: &[u8]) -> Result<Response<'_>> {
    warden_wire::decode_response(op, body).map_err(|e: WireError| {
        let _ = e;
        Error::Protocol("malformed response body")
    })
}

/// The daemon's optional static detail string on an error response.
pub(crate) fn error_detail(body: &[u8]) -> Option<String> {
    match warden_wire::decode_error_detail(body) {
        Ok(s) if !s.is_empty() => Some(s.to_owned()),
        _ => None,
    }
}

/// What an `Output` response carries: the produced bytes, the AEAD-encryption tag and the
/// nonce / IV of an encrypting stream (empty when not applicable).
#[derive(Debug, Default)]
pub(crate) struct Produced {
    pub(crate) data: Vec<u8>,
    pub(crate) tag: Vec<u8>,
    pub(crate) iv: Vec<u8>,
}

/// The contents of an `Output` response whose output went into a region: the bytes written
/// (checked against the range asked for), the tag and the IV.
pub(crate) fn region_output(r: Response<'_>, asked: &ShmSlice) -> Result<(usize, Produced)> {
    match r {
        Response::Output {
            output: Payload::Shm(s),
            tag,
            iv,
        } if s.region == asked.region && s.offset == asked.offset && s.len <= asked.len => Ok((
            usize::try_from(s.len).map_err(|_| Error::Protocol("output length out of range"))?,
            Produced {
                data: Vec::new(),
                tag: tag.to_vec(),
                iv: iv.to_vec(),
            },
        )),
        Response::Output { .. } => Err(Error::Protocol(
            "the daemon wrote outside the output range asked for",
        )),
        _ => Err(unexpected()),
    }
}

/// The contents of an `Output` response (inline payloads only).
pub(crate) fn output(r: Response<'_>) -> Result<Produced> {
    match r {
        Response::Output { output, tag, iv } => match output.as_inline() {
            Some(o) => Ok(Produced {
                // Not `to_vec`: `warden_arena::to_vec` avoids glibc's slow `rep movsb` case.
                data: warden_arena::to_vec(o),
                tag: tag.to_vec(),
                iv: iv.to_vec(),
            }),
            None => Err(Error::Protocol("shared-memory output without a data plane")),
        },
        _ => Err(unexpected()),
    }
}
