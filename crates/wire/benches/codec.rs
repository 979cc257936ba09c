//! Codec cost against its floor: decoding an Update request (header + FlatBuffers body) is
//! compared with the one copy the daemon makes anyway (the frame into its arena); encoding with
//! a warm builder is compared with a plain copy of the payload.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use warden_wire::{
    Builder, FrameHeader, HEADER_LEN, PROTOCOL_VERSION, Payload, Request, decode_request,
    encode_request, split_frame, write_frame,
};

fn frame_for(payload: &[u8], b: &mut Builder) -> Vec<u8> {
    let req = Request::Update {
        context_id: 7,
        input: Payload::Inline(payload),
    };
    let body = encode_request(b, &req).to_vec();
    let header = FrameHeader::request(PROTOCOL_VERSION, 1, req.opcode().as_u16());
    let mut frame = vec![0u8; HEADER_LEN + body.len()];
    match write_frame(&header, &body, &mut frame) {
        Ok(_) => frame,
        Err(e) => panic!("bench setup: {e}"),
    }
}

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode_update");
    let mut b = Builder::new();
    for size in [64usize, 4096, 65536] {
        let payload = vec![0xA5u8; size];
        let frame = frame_for(&payload, &mut b);
        let mut arena = vec![0u8; frame.len()];
        g.throughput(Throughput::Bytes(frame.len() as u64));
        g.bench_with_input(
            BenchmarkId::new("baseline_copy_frame", size),
            &frame,
            |bn, f| {
                bn.iter(|| {
                    arena.copy_from_slice(black_box(f));
                    black_box(&arena);
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new("split_and_decode", size),
            &frame,
            |bn, f| {
                bn.iter(|| {
                    let ok = split_frame(black_box(f), u32::MAX)
                        .and_then(|(h, body)| decode_request(h.opcode()?, body));
                    black_box(ok.is_ok())
                })
            },
        );
    }
    g.finish();
}

fn encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode_update");
    for size in [64usize, 4096, 65536] {
        let payload = vec![0x5Au8; size];
        let mut out = vec![0u8; size];
        let mut b = Builder::with_capacity(size + 256);
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(
            BenchmarkId::new("baseline_copy_payload", size),
            &payload,
            |bn, p| {
                bn.iter(|| {
                    out.copy_from_slice(black_box(p));
                    black_box(&out);
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new("encode_request", size),
            &payload,
            |bn, p| {
                bn.iter(|| {
                    let req = Request::Update {
                        context_id: 7,
                        input: Payload::Inline(black_box(p)),
                    };
                    black_box(encode_request(&mut b, &req).len())
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, decode, encode);
criterion_main!(benches);
