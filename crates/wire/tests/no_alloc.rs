//! Decoding allocates nothing, and encoding with a warmed-up builder allocates nothing: a
//! counting global allocator proves it for every sample message.

mod common;

use warden_wire::{
    Builder, FrameHeader, HEADER_LEN, Opcode, decode_request, decode_response, encode_request,
    encode_response, split_frame,
};

use warden_arena::counting::{CountingAlloc, measure as allocations};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

#[test]
fn the_counter_sees_allocations() {
    let (v, n) = allocations(|| vec![1u8; 10]);
    assert_eq!(v.len(), 10);
    assert!(n >= 1);
}

#[test]
fn decoding_frames_and_bodies_does_not_allocate() {
    let mut b = Builder::new();
    let reqs = common::requests();
    let bodies: Vec<Vec<u8>> = reqs
        .iter()
        .map(|r| encode_request(&mut b, r).to_vec())
        .collect();
    for (req, body) in reqs.iter().zip(&bodies) {
        let mut frame =
            FrameHeader::request(warden_wire::PROTOCOL_VERSION, 1, req.opcode().as_u16())
                .to_bytes()
                .to_vec();
        frame.extend_from_slice(body);
        let len = frame.len() as u32;
        frame[28..32].copy_from_slice(&(len - HEADER_LEN as u32).to_le_bytes());
        let (ok, n) = allocations(|| {
            let (h, body) = split_frame(&frame, u32::MAX).ok()?;
            let op = h.opcode().ok()?;
            decode_request(op, body).ok().map(|d| d == *req)
        });
        assert_eq!(ok, Some(true), "{req:?}");
        assert_eq!(n, 0, "decoding {req:?} allocated {n} times");
    }
    for resp in common::responses() {
        let op = common::response_opcode(&resp);
        let body = encode_response(&mut b, &resp).to_vec();
        let (ok, n) = allocations(|| decode_response(op, &body).map(|d| d == resp));
        assert_eq!(ok, Ok(true));
        assert_eq!(n, 0, "decoding {resp:?} allocated {n} times");
    }
    // Error paths do not allocate either.
    let (r, n) = allocations(|| decode_request(Opcode::GenerateKey, &[1, 2, 3, 4, 5, 6, 7]));
    assert!(r.is_err());
    assert_eq!(n, 0);
}

#[test]
fn encoding_with_a_warm_builder_does_not_allocate() {
    let reqs = common::requests();
    let mut b = Builder::with_capacity(64 * 1024);
    for r in &reqs {
        let _ = encode_request(&mut b, r);
    }
    for r in &reqs {
        let (len, n) = allocations(|| encode_request(&mut b, r).len());
        assert!(len > 0);
        assert_eq!(n, 0, "encoding {r:?} allocated {n} times");
    }
    // Responses on the hot path (everything but the operator's status report and the
    // management listings, which collect their entry offsets before writing the vector).
    for resp in common::responses() {
        use warden_wire::Response as R;
        if matches!(
            resp,
            R::Status(_)
                | R::SlotList { .. }
                | R::PolicyList { .. }
                | R::TrustList { .. }
                | R::CertList { .. }
        ) {
            continue;
        }
        let _ = encode_response(&mut b, &resp);
        let (_, n) = allocations(|| encode_response(&mut b, &resp).len());
        assert_eq!(n, 0, "encoding {resp:?} allocated {n} times");
    }
}
