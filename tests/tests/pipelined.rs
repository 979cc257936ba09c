//! Pipelined region batches (`AeadContext::seal_regions` / `open_regions`) and the daemon's
//! reply coalescing (`held`): every answer reaches the job it belongs to, in order, also
//! when a long-lane job sits in the middle of a batch (the replies held back before it must
//! be written before the lane writes its own), when one job fails, and when frames are
//! pipelined on a raw socket that reads nothing for a while.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns

use std::collections::HashSet;
use std::io::{Read, Write};
use std::time::Duration;

use warden_client::*;
use warden_e2e::Daemon;
use warden_e2e::raw::{frame, handshaken, read_frame};
use warden_wire::{Builder, Opcode, Request};

type P = KeyOperationPermission;

fn aes_contexts(stack: &CryptoStack) -> (ResourceGuard, AeadContext, AeadContext) {
    let p = GenerateKeyParams::builder()
        .algorithm(Algorithm::Aes256Key)
        .permissions(P::ENCRYPT | P::DECRYPT)
        .build()
        .unwrap();
    let key = stack.key_management().generate_key(&p).unwrap();
    let cfg = |d| {
        ContextConfig::builder()
            .algorithm(Algorithm::Aes256Gcm)
            .key(key.id())
            .direction(d)
            .timeout(Timeout::Disabled)
            .build()
            .unwrap()
    };
    let seal = stack
        .create_aead_context(&cfg(CipherDirection::Encrypt))
        .unwrap();
    let open = stack
        .create_aead_context(&cfg(CipherDirection::Decrypt))
        .unwrap();
    (key, seal, open)
}

fn fill(buf: &mut [u8], seed: usize) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b = (i.wrapping_mul(131) ^ seed.wrapping_mul(7919)) as u8;
    }
}

/// Job `i`'s plaintext, ciphertext and plaintext-again ranges, laid out one after another.
struct Layout {
    ranges: Vec<(usize, usize, usize, usize)>, // (len, input, output, reopened)
    total: usize,
}

fn layout(lens: &[usize]) -> Layout {
    let mut at = 0;
    let mut ranges = Vec::new();
    for &len in lens {
        ranges.push((len, at, at + len, at + 2 * len));
        at += 3 * len;
    }
    Layout { ranges, total: at }
}

/// Seals every job in one batch, opens them all in another, and checks each plaintext came
/// back to its own job (a reply matched to the wrong job would open with a wrong nonce).
fn round_trip(d: &Daemon, lens: &[usize]) {
    let stack = CryptoStack::connect(d.stack_config()).unwrap();
    let mem = MemoryAllocator::connect(d.stack_config()).unwrap();
    let (_key, mut seal, mut open) = aes_contexts(&stack);
    let l = layout(lens);
    let mut r = mem.allocate(l.total).unwrap();
    for (i, &(len, input, _, _)) in l.ranges.iter().enumerate() {
        fill(&mut r.as_mut_slice()[input..input + len], i);
    }
    let aads: Vec<Vec<u8>> = (0..lens.len()).map(|i| format!("job {i}").into()).collect();
    let jobs: Vec<SealJob> = l
        .ranges
        .iter()
        .zip(&aads)
        .map(|(&(len, input, output, _), aad)| SealJob {
            aad,
            input: r.slice(input..input + len).unwrap(),
            output: r.slice(output..output + len).unwrap(),
        })
        .collect();
    let sealed: Vec<SealedRegion> = seal
        .seal_regions(&mut r, &jobs)
        .unwrap()
        .into_iter()
        .map(|s| s.unwrap())
        .collect();
    assert_eq!(sealed.len(), lens.len());
    let nonces: HashSet<_> = sealed.iter().map(|s| s.nonce.clone()).collect();
    assert_eq!(nonces.len(), lens.len(), "every message has its own nonce");
    for (s, &(len, input, output, _)) in sealed.iter().zip(&l.ranges) {
        assert_eq!(s.len, len);
        // A message of a few bytes can encrypt to itself by chance (1 in 256 for one byte);
        // from 16 bytes on that is 2^-128. The open below checks every job either way.
        if len < 16 {
            continue;
        }
        assert_ne!(
            r.as_slice()[output..output + len],
            r.as_slice()[input..input + len],
            "the output range holds ciphertext"
        );
    }
    let opens: Vec<OpenJob> = l
        .ranges
        .iter()
        .zip(&aads)
        .zip(&sealed)
        .map(|((&(len, _, output, again), aad), s)| OpenJob {
            nonce: &s.nonce,
            aad,
            input: r.slice(output..output + len).unwrap(),
            tag: &s.tag,
            output: r.slice(again..again + len).unwrap(),
        })
        .collect();
    let opened = open.open_regions(&mut r, &opens).unwrap();
    for (i, (n, &(len, input, _, again))) in opened.iter().zip(&l.ranges).enumerate() {
        assert_eq!(*n.as_ref().unwrap(), len, "job {i}");
        assert_eq!(
            r.as_slice()[again..again + len],
            r.as_slice()[input..input + len],
            "job {i} opened to its own plaintext"
        );
    }
    // The single-call path agrees with the batch for one message.
    let (len, _, output, again) = l.ranges[0];
    r.as_mut_slice()[again..again + len].fill(0);
    let (ct, back) = (
        r.slice(output..output + len).unwrap(),
        r.slice(again..again + len).unwrap(),
    );
    let n = open
        .open_region(&mut r, &sealed[0].nonce, &aads[0], ct, &sealed[0].tag, back)
        .unwrap();
    assert_eq!(n, len);
}

#[test]
fn a_batch_of_small_messages_round_trips_in_order() {
    let d = Daemon::start().unwrap();
    let lens: Vec<usize> = (0..40).map(|i| 1 + i * 977).collect();
    round_trip(&d, &lens);
}

#[test]
fn long_lane_jobs_inside_a_batch_keep_the_order() {
    // Region operations of 4 MiB and more run on the long lane, which writes its own reply:
    // the small replies held back before such a job must already be on the socket.
    let d = Daemon::start().unwrap();
    let big = 4 << 20;
    let lens = [1024, 2048, 4096, big, 10, 20, 30, 40, big, 5, big, 1, 2, 3];
    round_trip(&d, &lens);
}

#[test]
fn a_failing_job_fails_alone() {
    let d = Daemon::start().unwrap();
    let stack = CryptoStack::connect(d.stack_config()).unwrap();
    let mem = MemoryAllocator::connect(d.stack_config()).unwrap();
    let (_key, mut seal, mut open) = aes_contexts(&stack);
    let len = 4096;
    let mut r = mem.allocate(12 * len).unwrap();
    fill(r.as_mut_slice(), 3);
    let job = |i: usize| SealJob {
        aad: b"",
        input: r.slice(i * len..(i + 1) * len).unwrap(),
        output: r.slice((6 + i) * len..(7 + i) * len).unwrap(),
    };
    let mut jobs: Vec<SealJob> = (0..6).map(job).collect();
    let job0 = jobs[0];
    // Job 2's output is too short for its ciphertext.
    jobs[2].output = r.slice(8 * len..8 * len + 100).unwrap();
    let out = seal.seal_regions(&mut r, &jobs).unwrap();
    assert_eq!(out.len(), 6);
    for (i, o) in out.iter().enumerate() {
        assert_eq!(o.is_err(), i == 2, "job {i}: {o:?}");
    }
    // Open: job 1 carries a wrong tag; it fails opaquely and leaves its output untouched.
    let sealed: Vec<_> = out.into_iter().map(|o| o.ok()).collect();
    let mut bad_tag = sealed[1].as_ref().unwrap().tag.clone();
    bad_tag[0] ^= 1;
    let targets: Vec<usize> = vec![0, 1, 3, 4, 5];
    r.as_mut_slice()[..6 * len].fill(0xee);
    let opens: Vec<OpenJob> = targets
        .iter()
        .map(|&i| {
            let s = sealed[i].as_ref().unwrap();
            OpenJob {
                nonce: &s.nonce,
                aad: b"",
                input: r.slice((6 + i) * len..(7 + i) * len).unwrap(),
                tag: if i == 1 { &bad_tag } else { &s.tag },
                output: r.slice(i * len..(i + 1) * len).unwrap(),
            }
        })
        .collect();
    let opened = open.open_regions(&mut r, &opens).unwrap();
    let mut expect = vec![0u8; 6 * len];
    fill(&mut expect, 3);
    for (k, &i) in targets.iter().enumerate() {
        let got = &r.as_slice()[i * len..(i + 1) * len];
        if i == 1 {
            let e = opened[k].as_ref().expect_err("wrong tag");
            assert_eq!(e.code(), ErrorCode::OperationFailed, "{e}");
            assert!(got.iter().all(|&b| b == 0xee), "no plaintext released");
        } else {
            assert_eq!(opened[k].as_ref().unwrap(), &len);
            assert_eq!(got, &expect[i * len..(i + 1) * len], "job {i}");
        }
    }
    // The contexts and the connection are fine afterwards.
    let again = seal.seal_regions(&mut r, &[job0]).unwrap();
    assert!(again[0].is_ok());
}

#[test]
fn a_slice_of_another_region_refuses_the_whole_batch() {
    let d = Daemon::start().unwrap();
    let stack = CryptoStack::connect(d.stack_config()).unwrap();
    let mem = MemoryAllocator::connect(d.stack_config()).unwrap();
    let (_key, mut seal, _open) = aes_contexts(&stack);
    let mut r = mem.allocate(8192).unwrap();
    let other = mem.allocate(8192).unwrap();
    let jobs = [
        SealJob {
            aad: b"",
            input: r.slice(0..100).unwrap(),
            output: r.slice(4096..4196).unwrap(),
        },
        SealJob {
            aad: b"",
            input: other.slice(0..100).unwrap(),
            output: r.slice(5000..5100).unwrap(),
        },
    ];
    let e = seal.seal_regions(&mut r, &jobs).expect_err("foreign slice");
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    // Nothing was sent: the first job's output is untouched.
    assert!(r.as_slice()[4096..4196].iter().all(|&b| b == 0));
    assert!(seal.seal_regions(&mut r, &jobs[..1]).unwrap()[0].is_ok());
}

#[test]
fn pipelined_raw_frames_are_answered_in_order() {
    let d = Daemon::start().unwrap();
    let mut s = handshaken(d.socket_path(), "pipeline");
    // Small pings (held back and written together), large ones (written at once; several
    // fill the socket while nothing is read) and small ones again, in a single write.
    let mut b = Builder::new();
    let mut all = Vec::new();
    let mut expect = Vec::new();
    for id in 1..=60u64 {
        let len = if (20..32).contains(&id) {
            40 << 10
        } else {
            id as usize
        };
        let data: Vec<u8> = (0..len).map(|i| (i as u64 ^ id) as u8).collect();
        let body = warden_wire::encode_request(&mut b, &Request::Ping { data: &data }).to_vec();
        all.extend(frame(id, Opcode::Ping, &body));
        expect.push(data);
    }
    let writer = {
        let mut w = s.try_clone().unwrap();
        std::thread::spawn(move || w.write_all(&all).unwrap())
    };
    // Read nothing for a while: the large replies wait for writability, the rest queue.
    std::thread::sleep(Duration::from_millis(150));
    for (i, data) in expect.iter().enumerate() {
        let (h, body) = read_frame(&mut s);
        assert_eq!(h.request_id, i as u64 + 1, "answers come in request order");
        assert_eq!(h.status, 0);
        match warden_wire::decode_response(Opcode::Ping, &body).unwrap() {
            warden_wire::Response::Ping { data: got } => assert_eq!(got, &data[..]),
            other => panic!("unexpected {other:?}"),
        }
    }
    writer.join().unwrap();
}

#[test]
fn answers_to_complete_frames_arrive_before_a_truncated_one_closes() {
    let d = Daemon::start().unwrap();
    let mut s = handshaken(d.socket_path(), "pipeline");
    // Five pings (the first four are held: each has the next header behind it), then the
    // header and half the body of a sixth, then end of stream.
    let mut b = Builder::new();
    let mut all = Vec::new();
    for id in 1..=6u64 {
        let body = warden_wire::encode_request(&mut b, &Request::Ping { data: b"abc" }).to_vec();
        all.extend(frame(id, Opcode::Ping, &body));
    }
    let cut = all.len() - 8;
    s.write_all(&all[..cut]).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    for id in 1..=5u64 {
        let (h, _) = read_frame(&mut s);
        assert_eq!((h.request_id, h.status), (id, 0));
    }
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(rest.is_empty(), "nothing answers the truncated frame");
}

fn signer(stack: &CryptoStack, alg: Algorithm) -> (ResourceGuard, SignContext, VerifyContext) {
    let p = GenerateKeyParams::builder()
        .algorithm(alg)
        .permissions(P::SIGN | P::VERIFY)
        .build()
        .unwrap();
    let key = stack.key_management().generate_key(&p).unwrap();
    let cfg = ContextConfig::builder()
        .algorithm(alg)
        .key(key.id())
        .timeout(Timeout::Disabled)
        .build()
        .unwrap();
    let sign = stack.create_sign_context(&cfg).unwrap();
    let verify = stack.create_verify_context(&cfg).unwrap();
    (key, sign, verify)
}

/// Signs `n` messages in one batch, checks each signature with a single call, then verifies
/// them all in a batch with two pairs spoiled: only those two fail.
fn sign_verify_batch(stack: &CryptoStack, alg: Algorithm, n: usize) {
    let (_key, mut sign, mut verify) = signer(stack, alg);
    let msgs: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let mut m = vec![0u8; 1 + i * 97 % 3000];
            fill(&mut m, i);
            m
        })
        .collect();
    let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
    let sigs: Vec<Vec<u8>> = sign
        .sign_many(&refs)
        .unwrap()
        .into_iter()
        .map(|s| s.unwrap())
        .collect();
    assert_eq!(sigs.len(), n);
    for (i, (m, s)) in msgs.iter().zip(&sigs).enumerate() {
        verify
            .verify(m, s)
            .unwrap_or_else(|e| panic!("{alg:?} message {i}: {e}"));
    }
    let mut bad_sig = sigs[1].clone();
    bad_sig[3] ^= 0x40;
    let mut bad_msg = msgs[n - 1].clone();
    bad_msg[0] ^= 1;
    let mut items: Vec<(&[u8], &[u8])> = msgs
        .iter()
        .zip(&sigs)
        .map(|(m, s)| (m.as_slice(), s.as_slice()))
        .collect();
    items[1].1 = &bad_sig;
    items[n - 1].0 = &bad_msg;
    let checked = verify.verify_many(&items).unwrap();
    for (i, c) in checked.iter().enumerate() {
        if i == 1 || i == n - 1 {
            let e = c.as_ref().expect_err("spoiled pair");
            assert_eq!(e.code(), ErrorCode::OperationFailed, "{alg:?} {i}: {e}");
        } else {
            assert!(c.is_ok(), "{alg:?} pair {i}: {c:?}");
        }
    }
}

#[test]
fn sign_many_and_verify_many_answer_each_message() {
    let d = Daemon::start().unwrap();
    let stack = CryptoStack::connect(d.stack_config()).unwrap();
    sign_verify_batch(&stack, Algorithm::Ed25519, 40);
    sign_verify_batch(&stack, Algorithm::MlDsa44, 24);
}

#[test]
fn batches_of_large_signatures_on_the_long_lane_keep_the_order() {
    // SLH-DSA runs on the long lane and its 17 KiB signatures shrink the batch's depth
    // (INLINE_IN_FLIGHT): verification pairs are large requests.
    let d = Daemon::start().unwrap();
    let stack = CryptoStack::connect(d.stack_config()).unwrap();
    sign_verify_batch(&stack, Algorithm::SlhDsaSha2_128f, 5);
}

#[test]
fn a_message_larger_than_a_frame_refuses_the_whole_batch() {
    let d = Daemon::start().unwrap();
    let stack = CryptoStack::connect(d.stack_config()).unwrap();
    let (_key, mut sign, _verify) = signer(&stack, Algorithm::Ed25519);
    let big = vec![1u8; stack.max_frame_len() as usize];
    let e = sign
        .sign_many(&[b"small", &big])
        .expect_err("larger than a frame");
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    // Nothing was sent: the context is ready, and the next batch works.
    let ok = sign.sign_many(&[b"small"]).unwrap();
    assert!(ok[0].is_ok());
}

/// Held replies that do not fit the socket wait like any unsent reply, and the request read
/// behind them waits too. A long-lane request (`CertList`) behind held replies, with the socket
/// full at that moment, must still be answered from its own bytes: the flush of the held
/// replies once the client reads used to open and drop an arena session, which zeroed the
/// inbox holding that request, and the lane then decoded zeros.
#[test]
fn a_long_request_behind_held_replies_survives_a_full_socket() {
    let d = Daemon::start().unwrap();
    let mut b = Builder::new();
    let list = warden_wire::encode_request(
        &mut b,
        &Request::Cert {
            op: Opcode::CertList,
            call: warden_wire::messages::CertCall::default(),
        },
    )
    .to_vec();
    // How many 4 KiB echoes fill the daemon's socket exactly before the small pings depends
    // on the kernel's accounting: try a range, so some attempt hits it.
    for fill in 20..80u64 {
        let mut s = handshaken(d.socket_path(), "pipeline");
        let mut all = Vec::new();
        let mut id = 0;
        for _ in 0..fill {
            id += 1;
            all.extend(warden_e2e::raw::ping_frame(&mut b, id, &[7u8; 4096]));
        }
        for _ in 0..3 {
            id += 1;
            all.extend(warden_e2e::raw::ping_frame(&mut b, id, b"small"));
        }
        id += 1;
        all.extend(frame(id, Opcode::CertList, &list));
        let mut w = s.try_clone().unwrap();
        let writer = std::thread::spawn(move || w.write_all(&all).unwrap());
        std::thread::sleep(Duration::from_millis(50));
        for want in 1..=id {
            let (h, body) = read_frame(&mut s);
            assert_eq!(h.request_id, want, "fill {fill}: answers in order");
            assert_eq!(h.status, 0, "fill {fill}: request {want} failed");
            if want == id {
                assert!(matches!(
                    warden_wire::decode_response(Opcode::CertList, &body).unwrap(),
                    warden_wire::Response::CertList { .. }
                ));
            }
        }
        writer.join().unwrap();
    }
}
