//! Fuzzes the daemon's whole request path with raw bytes: the input is the byte stream of
//! one connection, fed frame by frame through `warden_daemon::Loopback` (header decoder,
//! arena copy, handshake gate, version check, `decode_request`, dispatcher, handlers, the
//! aws-lc provider, slot store in a throw-away data directory, reply encoding, scrubbing).
//!
//! Input: one flag byte, then the stream. Flag bit 0 clear: a valid Hello is sent first, so
//! most inputs reach the handlers rather than the handshake gate. Bit 1 set: this process's
//! uid is an admin (policy and trust-store paths). The stream is cut into frames by the
//! body length each header announces, as the daemon's socket reader does.
//!
//! Asserts: no panic; every reply is a well-formed response frame within the frame limit
//! that echoes the request id and opcode, carries a known status, and whose body decodes as
//! the opcode's response or an error detail; at most the quota of resources is live; an
//! open connection still answers a Ping after the input.

#![no_main]

#[allow(dead_code)] // the structured target reads more of the decoded replies
mod common;

use common::{
    MAX_RESOURCES, Outcome, Owned, assert_usable, check_reply, fresh_loopback, handshake,
};
use libfuzzer_sys::fuzz_target;
use warden_wire::{Builder, HEADER_LEN, PROTOCOL_VERSION};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, mut rest)) = data.split_first() else {
        return;
    };
    let mut lb = fresh_loopback(flags & 2 != 0);
    let mut agreed = None;
    if flags & 1 == 0 {
        handshake(&mut lb);
        agreed = Some(PROTOCOL_VERSION);
    }
    while rest.len() >= HEADER_LEN && !lb.is_closed() {
        let len = u32::from_le_bytes([rest[28], rest[29], rest[30], rest[31]]) as usize;
        let take = HEADER_LEN.saturating_add(len).min(rest.len());
        let (frame, tail) = rest.split_at(take);
        rest = tail;
        match lb.request(frame, |h, b| check_reply(frame, h, b)) {
            None => break, // body shorter than announced: a socket read would still be waiting
            Some(Outcome::Ok(Owned {
                version: Some(v), ..
            })) => agreed = Some(v),
            Some(_) => {}
        }
    }
    let status = lb.status();
    assert!(
        status.live_total() <= MAX_RESOURCES as u64,
        "quota overrun: {status:?}"
    );
    assert_eq!(status.arenas_in_use, 1, "one connection, one arena");
    assert_usable(&mut lb, &mut Builder::new(), agreed);
});
