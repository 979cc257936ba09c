//! Fuzzes body decoding for every opcode: the first two input bytes pick the opcode (any u16;
//! unknown ones must fail cleanly), the rest is the body. Whatever decodes must re-encode and
//! decode to an equal value (the typed layer loses nothing it accepted).

#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_wire::{
    Builder, Opcode, decode_error_detail, decode_request, decode_response, encode_request,
    encode_response,
};

fuzz_target!(|data: &[u8]| {
    let Some((op, body)) = data.split_first_chunk::<2>() else {
        return;
    };
    let raw = u16::from_le_bytes(*op);
    // Map most inputs onto assigned opcodes so the fuzzer spends its time in body decoders.
    let op = match Opcode::from_u16(raw) {
        Ok(op) => op,
        Err(_) => Opcode::ALL[usize::from(raw) % Opcode::ALL.len()],
    };
    let mut b = Builder::new();

    if let Ok(req) = decode_request(op, body) {
        assert_eq!(req.opcode(), op);
        let again = encode_request(&mut b, &req).to_vec();
        assert_eq!(decode_request(op, &again), Ok(req));
    }
    if let Ok(resp) = decode_response(op, body) {
        let again = encode_response(&mut b, &resp).to_vec();
        assert_eq!(decode_response(op, &again), Ok(resp));
    }
    let _ = decode_error_detail(body);
});
