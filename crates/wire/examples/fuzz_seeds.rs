//! Writes a seed corpus for the fuzz targets in `fuzz/`: one valid input per sample message.
//!
//! Usage: `cargo run -p warden-wire --example fuzz_seeds -- <corpus-dir>`; creates
//! `<corpus-dir>/frame_decoder/` and `<corpus-dir>/request_decoder/`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::io;
use std::path::{Path, PathBuf};

use warden_wire::handshake::{Hello, HelloAck};
use warden_wire::{
    Builder, FrameHeader, HEADER_LEN, PROTOCOL_VERSION, Version, encode_request, encode_response,
    write_frame,
};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    std::fs::write(dir.join(name), bytes)
}

/// Frame-decoder input: 4-byte little-endian frame limit, then the frame.
fn frame_input(header: &FrameHeader, body: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = vec![0u8; 4 + HEADER_LEN + body.len()];
    out[..4].copy_from_slice(&u32::MAX.to_le_bytes());
    write_frame(header, body, &mut out[4..]).map_err(io::Error::other)?;
    Ok(out)
}

fn main() -> io::Result<()> {
    let Some(root) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: fuzz_seeds <corpus-dir>");
        std::process::exit(2);
    };
    let frames = root.join("frame_decoder");
    let bodies = root.join("request_decoder");
    std::fs::create_dir_all(&frames)?;
    std::fs::create_dir_all(&bodies)?;

    let mut b = Builder::new();
    for (i, req) in common::requests().iter().enumerate() {
        let op = req.opcode().as_u16();
        let body = encode_request(&mut b, req).to_vec();
        let header = FrameHeader {
            deadline_ms: 5000,
            ..FrameHeader::request(PROTOCOL_VERSION, i as u64, op)
        };
        write(
            &frames,
            &format!("req-{i:03}"),
            &frame_input(&header, &body)?,
        )?;
        let mut input = op.to_le_bytes().to_vec();
        input.extend_from_slice(&body);
        write(&bodies, &format!("req-{i:03}"), &input)?;
    }
    for (i, resp) in common::responses().iter().enumerate() {
        let op = common::response_opcode(resp).as_u16();
        let body = encode_response(&mut b, resp).to_vec();
        let header = FrameHeader::request(PROTOCOL_VERSION, i as u64, op).response(0, 0);
        write(
            &frames,
            &format!("resp-{i:03}"),
            &frame_input(&header, &body)?,
        )?;
        let mut input = op.to_le_bytes().to_vec();
        input.extend_from_slice(&body);
        write(&bodies, &format!("resp-{i:03}"), &input)?;
    }
    // Handshake bodies, framed and bare (the target also tries the handshake decoders).
    let hello = Hello {
        min: Version::new(1, 0),
        max: Version::new(1, 1),
        client_name: "fuzz-seed",
    };
    let mut buf = [0u8; 80];
    let n = hello.encode(&mut buf).map_err(io::Error::other)?;
    let header = FrameHeader::request(PROTOCOL_VERSION, 0, warden_wire::Opcode::Hello.as_u16());
    write(&frames, "hello", &frame_input(&header, &buf[..n])?)?;
    let ack = HelloAck {
        version: PROTOCOL_VERSION,
        daemon_version: PROTOCOL_VERSION,
        max_frame_len: 1 << 20,
    };
    write(
        &frames,
        "hello-ack",
        &frame_input(&header.response(0, 0), &ack.encode())?,
    )?;
    println!("fuzz_seeds: wrote seeds under {}", root.display());
    Ok(())
}
