//! Tight loop over one codec operation, for measuring CPU time per operation with
//! `/usr/bin/time` when the machine is too loaded for wall-clock benchmarks to mean much.
//!
//! Usage: `codec_loop <decode|copy|encode> <payload-bytes> <iterations>`. `decode` = split a
//! complete Update frame and decode its body; `copy` = copy the same frame once (the daemon's
//! arena copy, the floor); `encode` = encode the Update body with a warm builder.

use std::hint::black_box;

use warden_wire::{
    Builder, FrameHeader, HEADER_LEN, PROTOCOL_VERSION, Payload, Request, decode_request,
    encode_request, split_frame, write_frame,
};

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let size: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(64);
    let n: u64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);

    let mut b = Builder::with_capacity(size + 256);
    let payload = vec![0xA5u8; size];
    let req = Request::Update {
        context_id: 7,
        input: Payload::Inline(&payload),
    };
    let body = encode_request(&mut b, &req).to_vec();
    let header = FrameHeader::request(PROTOCOL_VERSION, 1, req.opcode().as_u16());
    let mut frame = vec![0u8; HEADER_LEN + body.len()];
    if let Err(e) = write_frame(&header, &body, &mut frame) {
        eprintln!("codec_loop: {e}");
        std::process::exit(1);
    }
    let mut arena = vec![0u8; frame.len()];
    let mut acc = 0u64;
    for _ in 0..n {
        match mode.as_str() {
            "decode" => {
                let r = split_frame(black_box(&frame), u32::MAX)
                    .and_then(|(h, body)| decode_request(h.opcode()?, body));
                acc += u64::from(r.is_ok());
            }
            "copy" => {
                arena.copy_from_slice(black_box(&frame));
                acc += u64::from(black_box(&arena)[0]);
            }
            "encode" => acc += encode_request(&mut b, black_box(&req)).len() as u64,
            _ => {
                eprintln!("usage: codec_loop <decode|copy|encode> <payload-bytes> <iterations>");
                std::process::exit(2);
            }
        }
    }
    println!("{mode} {size} x{n}: {acc}");
}
