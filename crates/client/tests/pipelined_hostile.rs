//! Red-team pass 3: pipelined batches (`seal_regions`) against a scripted daemon that
//! misbehaves on the third answer. The client must end the batch with a typed error (or
//! skip a stale answer), never panic, and never wait past its timeout.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use warden_client::*;
use warden_wire::handshake::HelloAck;
use warden_wire::{
    Builder, DEFAULT_MAX_FRAME_LEN, FrameHeader, HEADER_LEN, Opcode, PROTOCOL_VERSION, Payload,
    Request, Response,
};

fn read_frame(s: &mut UnixStream) -> Option<(FrameHeader, Vec<u8>)> {
    let mut h = [0u8; HEADER_LEN];
    s.read_exact(&mut h).ok()?;
    let h = FrameHeader::decode(&h, DEFAULT_MAX_FRAME_LEN).ok()?;
    let mut body = vec![0u8; h.body_len as usize];
    s.read_exact(&mut body).ok()?;
    Some((h, body))
}

fn answer(s: &mut UnixStream, h: &FrameHeader, r: &Response<'_>) {
    let mut b = Builder::new();
    let body = warden_wire::encode_response(&mut b, r).to_vec();
    let mut out = h.response(0, body.len() as u32).to_bytes().to_vec();
    out.extend_from_slice(&body);
    let _ = s.write_all(&out);
}

/// What the daemon does with the third `Process` request.
#[derive(Clone, Copy, Debug)]
enum Mischief {
    /// Answers it with the next request's id.
    FutureId,
    /// Sends the first answer again, then answers properly.
    StaleRepeat,
    /// A header announcing a 4 GiB body.
    HugeLength,
    /// Closes the connection.
    Close,
    /// Never answers it or any later one (keeps reading).
    Silence,
    /// Half a header, then nothing (keeps reading).
    HalfHeader,
}

fn server(mut s: UnixStream, m: Mischief) {
    let mut processed = 0;
    let mut first: Option<(FrameHeader, warden_wire::messages::ShmSlice)> = None;
    while let Some((h, body)) = read_frame(&mut s) {
        let op = Opcode::from_u16(h.opcode).ok();
        match op {
            Some(Opcode::Hello) => {
                let ack = HelloAck {
                    version: PROTOCOL_VERSION,
                    daemon_version: PROTOCOL_VERSION,
                    max_frame_len: DEFAULT_MAX_FRAME_LEN,
                }
                .encode();
                let mut out = h.response(0, ack.len() as u32).to_bytes().to_vec();
                out.extend_from_slice(&ack);
                s.write_all(&out).unwrap();
            }
            Some(Opcode::GenerateKey) => answer(&mut s, &h, &Response::KeyCreated { key_id: 7 }),
            Some(Opcode::CreateContext) => answer(
                &mut s,
                &h,
                &Response::ContextCreated {
                    context_id: 9,
                    applied_options: 0,
                },
            ),
            Some(Opcode::RegionRegister) => {
                answer(&mut s, &h, &Response::RegionRegistered { region_id: 5 })
            }
            Some(Opcode::Process) => {
                let Ok(Request::Process {
                    output: Some(out), ..
                }) = warden_wire::decode_request(Opcode::Process, &body)
                else {
                    panic!("not a region Process");
                };
                processed += 1;
                let ok = |s: &mut UnixStream, h: &FrameHeader, out| {
                    answer(
                        s,
                        h,
                        &Response::Output {
                            output: Payload::Shm(out),
                            tag: &[1; 16],
                            iv: &[2; 12],
                        },
                    )
                };
                if processed == 1 {
                    first = Some((h, out));
                }
                let quiet = matches!(m, Mischief::Silence | Mischief::HalfHeader);
                if processed > 3 && quiet {
                    continue; // nothing more after it
                }
                if processed != 3 {
                    ok(&mut s, &h, out);
                    continue;
                }
                match m {
                    Mischief::FutureId => {
                        let h = FrameHeader {
                            request_id: h.request_id + 1,
                            ..h
                        };
                        ok(&mut s, &h, out);
                    }
                    Mischief::StaleRepeat => {
                        let (h1, out1) = first.unwrap();
                        ok(&mut s, &h1, out1);
                        ok(&mut s, &h, out);
                    }
                    Mischief::HugeLength => {
                        let mut head = h.response(0, 0).to_bytes();
                        let big = FrameHeader {
                            body_len: u32::MAX - HEADER_LEN as u32,
                            ..h.response(0, 0)
                        }
                        .to_bytes();
                        head.copy_from_slice(&big);
                        let _ = s.write_all(&head);
                    }
                    Mischief::Close => return,
                    Mischief::Silence => {}
                    Mischief::HalfHeader => {
                        let head = h.response(0, 60 * 1024).to_bytes();
                        let _ = s.write_all(&head[..HEADER_LEN / 2]);
                    }
                }
            }
            _ => answer(&mut s, &h, &Response::Done),
        }
    }
}

fn fake(m: Mischief) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fake.sock");
    let listener = UnixListener::bind(&path).unwrap();
    thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(s) = s else { return };
            thread::spawn(move || server(s, m));
        }
    });
    (dir, path)
}

/// Seals 8 jobs through the fake daemon (200 ms timeout per answer) on another thread and
/// returns the batch's outcome, failing if it takes more than 5 s.
fn batch(m: Mischief) -> Result<Vec<Result<SealedRegion>>> {
    let (_dir, path) = fake(m);
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let config = StackConfig::new()
            .socket_path(&path)
            .default_timeout_ms(200)
            .client_grace(Duration::from_millis(50));
        let stack = CryptoStack::connect(config.clone()).unwrap();
        let mem = MemoryAllocator::connect(config).unwrap();
        let key = stack
            .key_management()
            .generate_key(
                &GenerateKeyParams::builder()
                    .algorithm(Algorithm::Aes256Key)
                    .permissions(KeyOperationPermission::ENCRYPT)
                    .build()
                    .unwrap(),
            )
            .unwrap();
        let cfg = ContextConfig::builder()
            .algorithm(Algorithm::Aes256Gcm)
            .key(key.id())
            .direction(CipherDirection::Encrypt)
            .build()
            .unwrap();
        let mut seal = stack.create_aead_context(&cfg).unwrap();
        let mut r = mem.allocate(8 * 2048).unwrap();
        let jobs: Vec<SealJob> = (0..8)
            .map(|i| SealJob {
                aad: b"",
                input: r.slice(i * 2048..i * 2048 + 1024).unwrap(),
                output: r.slice(i * 2048 + 1024..i * 2048 + 2048).unwrap(),
            })
            .collect();
        let _ = tx.send(seal.seal_regions(&mut r, &jobs));
    });
    rx.recv_timeout(Duration::from_secs(5))
        .unwrap_or_else(|_| panic!("{m:?}: the batch neither ended nor failed within 5 s"))
}

#[test]
fn an_answer_with_a_future_id_ends_the_batch_with_a_protocol_error() {
    let e = batch(Mischief::FutureId).unwrap_err();
    assert!(matches!(e, Error::Protocol(_)), "{e:?}");
}

#[test]
fn a_repeated_earlier_answer_is_skipped_as_stale() {
    let all = batch(Mischief::StaleRepeat).unwrap();
    assert_eq!(all.len(), 8);
    assert!(all.iter().all(|r| r.is_ok()), "{all:?}");
}

#[test]
fn a_huge_announced_length_ends_the_batch_with_a_protocol_error() {
    let e = batch(Mischief::HugeLength).unwrap_err();
    assert!(matches!(e, Error::Protocol(_)), "{e:?}");
}

#[test]
fn a_daemon_closing_mid_batch_is_connection_lost() {
    let e = batch(Mischief::Close).unwrap_err();
    assert!(matches!(e, Error::ConnectionLost(_)), "{e:?}");
}

#[test]
fn a_silent_daemon_times_the_batch_out() {
    let e = batch(Mischief::Silence).unwrap_err();
    assert_eq!(e.code(), ErrorCode::OperationTimedOut, "{e:?}");
}

#[test]
fn half_a_header_times_the_batch_out() {
    let e = batch(Mischief::HalfHeader).unwrap_err();
    assert_eq!(e.code(), ErrorCode::OperationTimedOut, "{e:?}");
}

/// A call that times out with half an answer (over 4 KiB, so the read buffer grew) in its
/// read buffer: the next call reads the rest, skips the stale answer and gets its own (the
/// buffer's `filled` count and its zeroed tail stay consistent across the timeout).
#[test]
fn a_half_received_answer_at_a_timeout_is_finished_and_skipped_by_the_next_call() {
    fn server(mut s: UnixStream) {
        let mut n = 0;
        while let Some((h, body)) = read_frame(&mut s) {
            n += 1;
            if n == 1 {
                // The handshake.
                let ack = HelloAck {
                    version: PROTOCOL_VERSION,
                    daemon_version: PROTOCOL_VERSION,
                    max_frame_len: DEFAULT_MAX_FRAME_LEN,
                }
                .encode();
                let mut out = h.response(0, ack.len() as u32).to_bytes().to_vec();
                out.extend_from_slice(&ack);
                s.write_all(&out).unwrap();
                continue;
            }
            let Ok(Request::Ping { data }) = warden_wire::decode_request(Opcode::Ping, &body)
            else {
                panic!("not a ping");
            };
            let mut b = Builder::new();
            let reply = warden_wire::encode_response(&mut b, &Response::Ping { data }).to_vec();
            let mut out = h.response(0, reply.len() as u32).to_bytes().to_vec();
            out.extend_from_slice(&reply);
            if n == 2 {
                // Half now, the rest after the caller gave up.
                let half = out.len() / 2;
                s.write_all(&out[..half]).unwrap();
                thread::sleep(Duration::from_millis(400));
                s.write_all(&out[half..]).unwrap();
            } else {
                s.write_all(&out).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fake.sock");
    let listener = UnixListener::bind(&path).unwrap();
    thread::spawn(move || {
        if let Some(Ok(s)) = listener.incoming().next() {
            server(s);
        }
    });
    let stack = CryptoStack::connect(
        StackConfig::new()
            .socket_path(&path)
            .default_timeout_ms(100)
            .client_grace(Duration::from_millis(50))
            .dedicated_connection(true),
    )
    .unwrap();
    let slow = vec![0x5a; 12 * 1024];
    let e = stack.ping(&slow).unwrap_err();
    assert_eq!(e.code(), ErrorCode::OperationTimedOut, "{e:?}");
    thread::sleep(Duration::from_millis(400));
    for i in 0..3u8 {
        let data = vec![i; 6000 + usize::from(i)];
        assert_eq!(
            stack.ping(&data).unwrap(),
            data,
            "call {i} after the timeout"
        );
    }
}
