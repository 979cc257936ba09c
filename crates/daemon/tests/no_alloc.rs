//! The daemon's own request path does not touch the global heap for operations on existing
//! keys and contexts (hash, MAC, sign, verify, AEAD, plus ping and random).
//!
//! A counting global allocator counts per thread. Requests are driven in-process through
//! the real dispatcher ([`Loopback`]: arena copy, decode, dispatch, handler, reply encoding,
//! scrub). The provider is wrapped so that counting pauses while control is inside it: the
//! daemon's allocations must be zero, the provider's are measured separately and printed
//! (they are the crypto library's business, documented in BENCHMARKS.md).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use warden_core::{
    AgreeKeyParams, Algorithm, ContextConfig, DeriveKeyParams, EncapsulateParams, ErrorCode,
    GenerateKeyParams, ImportKeyParams, KeyOperationPermission as P, Result, UnwrapKeyParams,
    WrapKeyParams,
};
use warden_crypto::StoredKey;
use warden_daemon::{Config, Loopback};
use warden_provider_awslc::{
    AwsLcProvider, Capability, ContextKind as CK, ContextState, CryptoContext, Key, Provider,
    ProviderInfo,
};
use warden_wire::handshake::Hello;
use warden_wire::messages::{
    CipherDirection, ContextKind, CreateContext, GenerateKey, KeySpec, ShmSlice, Timeout,
};
use warden_wire::{
    Builder, FrameHeader, HEADER_LEN, Opcode, PROTOCOL_VERSION, Payload, Request, Response,
    decode_response, encode_request,
};

use warden_arena::counting::{
    CountingAlloc, allocations, attribute_elsewhere as inside, elsewhere_allocations,
};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Marks every provider and context call so its allocations are attributed to the provider.
struct Attributed(Arc<dyn Provider>);
struct AttributedCtx(Box<dyn CryptoContext>);

impl CryptoContext for AttributedCtx {
    fn kind(&self) -> CK {
        self.0.kind()
    }
    fn algorithm(&self) -> Option<Algorithm> {
        self.0.algorithm()
    }
    fn state(&self) -> ContextState {
        self.0.state()
    }
    fn init(&mut self, iv: &[u8]) -> Result<()> {
        inside(|| self.0.init(iv))
    }
    fn iv(&self) -> &[u8] {
        self.0.iv()
    }
    fn set_aad(&mut self, aad: &[u8]) -> Result<()> {
        inside(|| self.0.set_aad(aad))
    }
    fn update(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize> {
        inside(|| self.0.update(input, out))
    }
    fn finalize(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize> {
        inside(|| self.0.finalize(input, out))
    }
    fn set_tag(&mut self, tag: &[u8]) -> Result<()> {
        inside(|| self.0.set_tag(tag))
    }
    fn get_tag(&self, out: &mut [u8]) -> Result<usize> {
        inside(|| self.0.get_tag(out))
    }
    fn reset(&mut self) -> Result<()> {
        inside(|| self.0.reset())
    }
    fn max_output_len(&self, input_len: usize) -> usize {
        self.0.max_output_len(input_len)
    }
    fn finish_whole(&mut self, data: &[u8], last: &[u8], out: &mut [u8]) -> Result<usize> {
        inside(|| self.0.finish_whole(data, last, out))
    }
    fn finish_whole_in_place(&mut self, data: &mut [u8]) -> Result<usize> {
        inside(|| self.0.finish_whole_in_place(data))
    }
}

impl Provider for Attributed {
    fn info(&self) -> &ProviderInfo {
        self.0.info()
    }
    fn capabilities(&self) -> &[Capability] {
        self.0.capabilities()
    }
    fn generate_key(&self, p: &GenerateKeyParams) -> Result<Key> {
        inside(|| self.0.generate_key(p))
    }
    fn import_key(&self, p: &ImportKeyParams, m: &[u8]) -> Result<Key> {
        inside(|| self.0.import_key(p, m))
    }
    fn restore_key(&self, s: &StoredKey<'_>) -> Result<Key> {
        inside(|| self.0.restore_key(s))
    }
    fn derive_key(&self, b: &Key, p: &DeriveKeyParams) -> Result<Key> {
        inside(|| self.0.derive_key(b, p))
    }
    fn agree_key(&self, k: &Key, p: &AgreeKeyParams) -> Result<Key> {
        inside(|| self.0.agree_key(k, p))
    }
    fn wrap_key(&self, kek: &Key, t: &Key, p: &WrapKeyParams) -> Result<Vec<u8>> {
        inside(|| self.0.wrap_key(kek, t, p))
    }
    fn unwrap_key(&self, kek: &Key, w: &[u8], p: &UnwrapKeyParams) -> Result<Key> {
        inside(|| self.0.unwrap_key(kek, w, p))
    }
    fn encapsulate(&self, k: &Key, p: &EncapsulateParams) -> Result<(Vec<u8>, Key)> {
        inside(|| self.0.encapsulate(k, p))
    }
    fn decapsulate(&self, k: &Key, ct: &[u8], p: &EncapsulateParams) -> Result<Key> {
        inside(|| self.0.decapsulate(k, ct, p))
    }
    fn create_context(
        &self,
        kind: CK,
        cfg: &ContextConfig,
        key: Option<Arc<Key>>,
    ) -> Result<Box<dyn CryptoContext>> {
        let ctx = inside(|| self.0.create_context(kind, cfg, key))?;
        Ok(Box::new(AttributedCtx(ctx)))
    }
    fn create_context_in(
        &self,
        kind: CK,
        cfg: &ContextConfig,
        key: Option<Arc<Key>>,
        buffers: &warden_crypto::BufferSource,
    ) -> Result<Box<dyn CryptoContext>> {
        let ctx = inside(|| self.0.create_context_in(kind, cfg, key, buffers))?;
        Ok(Box::new(AttributedCtx(ctx)))
    }
    fn create_random_context(&self) -> Result<Box<dyn CryptoContext>> {
        inside(|| self.0.create_random_context())
    }
    fn random(&self, out: &mut [u8]) -> Result<()> {
        inside(|| self.0.random(out))
    }
}

struct Driver {
    lb: Loopback,
    builder: Builder,
    next: u64,
}

impl Driver {
    fn new() -> Self {
        let provider = Arc::new(Attributed(Arc::new(AwsLcProvider::new())));
        let mut lb = Loopback::with_provider(Config::default(), provider).unwrap();
        let h = Hello {
            min: PROTOCOL_VERSION,
            max: PROTOCOL_VERSION,
            client_name: "alloc",
        };
        let mut body = vec![0u8; h.encoded_len()];
        h.encode(&mut body).unwrap();
        let frame = frame(0, Opcode::Hello, &body);
        let status = lb.request(&frame, |h, _| status(h)).unwrap();
        assert_eq!(status, 0);
        Driver {
            lb,
            builder: Builder::new(),
            next: 1,
        }
    }

    /// Encodes a request frame (allocates: done outside the measured region).
    fn frame(&mut self, req: &Request<'_>) -> Vec<u8> {
        self.next += 1;
        let body = encode_request(&mut self.builder, req).to_vec();
        frame(self.next, req.opcode(), &body)
    }

    /// Sends a frame and returns the reply status plus a copy of the body (setup only).
    fn call(&mut self, req: &Request<'_>) -> (u32, Vec<u8>) {
        let f = self.frame(req);
        self.lb.request(&f, |h, b| (status(h), b.to_vec())).unwrap()
    }

    fn id(&mut self, req: &Request<'_>) -> u64 {
        let (st, body) = self.call(req);
        assert_eq!(st, 0, "{:?}", ErrorCode::from_u32(st));
        match decode_response(req.opcode(), &body).unwrap() {
            Response::KeyCreated { key_id } => key_id,
            Response::ContextCreated { context_id, .. } => context_id,
            other => panic!("{other:?}"),
        }
    }

    /// Sends a prepared frame; returns (status, reply body length, daemon allocations,
    /// provider allocations). The reply is only inspected, never copied.
    fn measured(&mut self, frame: &[u8]) -> (u32, usize, u64, u64) {
        let (a0, p0) = (allocations(), elsewhere_allocations());
        let (st, len) = self.lb.request(frame, |h, b| (status(h), b.len())).unwrap();
        let (a1, p1) = (allocations(), elsewhere_allocations());
        (st, len, a1 - a0, p1 - p0)
    }
}

fn frame(id: u64, op: Opcode, body: &[u8]) -> Vec<u8> {
    let h = FrameHeader {
        body_len: body.len() as u32,
        ..FrameHeader::request(PROTOCOL_VERSION, id, op.as_u16())
    };
    let mut f = h.to_bytes().to_vec();
    f.extend_from_slice(body);
    f
}

fn status(h: &[u8; HEADER_LEN]) -> u32 {
    u32::from_le_bytes([h[20], h[21], h[22], h[23]])
}

fn key(d: &mut Driver, alg: &str, perms: P) -> u64 {
    let key = KeySpec {
        algorithm: alg,
        permissions: perms.bits(),
        exportable: false,
        slot: None,
    };
    let key_len = (alg == "HMAC").then_some(32);
    d.id(&Request::GenerateKey(GenerateKey {
        key,
        rsa_bits: None,
        key_len,
        provider: None,
    }))
}

fn ctx(
    d: &mut Driver,
    kind: ContextKind,
    alg: &str,
    key: Option<u64>,
    dir: Option<CipherDirection>,
) -> u64 {
    d.id(&Request::CreateContext(CreateContext {
        kind,
        algorithm: alg,
        key_id: key,
        direction: dir,
        timeout: Timeout::Disabled,
        options: Default::default(),
    }))
}

#[test]
fn the_counter_sees_allocations() {
    let before = allocations();
    let v = std::hint::black_box(vec![1u8; 10]);
    assert_eq!(v.len(), 10);
    assert!(allocations() > before);
    let p0 = elsewhere_allocations();
    let w = inside(|| std::hint::black_box(vec![2u8; 10]));
    assert_eq!(w.len(), 10);
    assert!(elsewhere_allocations() > p0);
}

#[test]
fn request_path_on_existing_keys_and_contexts_does_not_allocate() {
    let mut d = Driver::new();
    let hmac = key(&mut d, "HMAC", P::MAC);
    let ed = key(&mut d, "ED25519", P::SIGN.union(P::VERIFY));
    let ecdsa = key(&mut d, "ECDSA-P256-SHA256", P::SIGN.union(P::VERIFY));
    let aes = key(&mut d, "AES-256", P::ENCRYPT.union(P::DECRYPT));
    let hash = ctx(&mut d, ContextKind::Hash, "SHA-256", None, None);
    let mac = ctx(&mut d, ContextKind::Mac, "HMAC-SHA256", Some(hmac), None);
    let sign = ctx(&mut d, ContextKind::Sign, "ED25519", Some(ed), None);
    let verify = ctx(&mut d, ContextKind::Verify, "ED25519", Some(ed), None);
    let esign = ctx(
        &mut d,
        ContextKind::Sign,
        "ECDSA-P256-SHA256",
        Some(ecdsa),
        None,
    );
    let seal = ctx(
        &mut d,
        ContextKind::Aead,
        "AES-256-GCM",
        Some(aes),
        Some(CipherDirection::Encrypt),
    );
    let open = ctx(
        &mut d,
        ContextKind::Aead,
        "AES-256-GCM",
        Some(aes),
        Some(CipherDirection::Decrypt),
    );

    // A signature and a ciphertext to verify/open during the measured rounds.
    let msg = [0x5au8; 64];
    let sig = {
        d.call(&Request::InitContext {
            context_id: sign,
            iv: &[],
        });
        let (_, b) = d.call(&Request::Finalize {
            context_id: sign,
            input: Payload::Inline(&msg),
            tag: &[],
        });
        d.call(&Request::ResetContext { context_id: sign });
        match decode_response(Opcode::Finalize, &b).unwrap() {
            Response::Output { output, .. } => output.as_inline().unwrap().to_vec(),
            other => panic!("{other:?}"),
        }
    };
    // Sealing draws its nonce in the daemon (the key has no CALLER_NONCE), so every measured
    // seal below covers the nonce generation too; opening uses the nonce this one reported.
    let (ct, tag, nonce) = {
        d.call(&Request::InitContext {
            context_id: seal,
            iv: &[],
        });
        let (_, b) = d.call(&Request::Finalize {
            context_id: seal,
            input: Payload::Inline(&msg),
            tag: &[],
        });
        d.call(&Request::ResetContext { context_id: seal });
        match decode_response(Opcode::Finalize, &b).unwrap() {
            Response::Output { output, tag, iv } => (
                output.as_inline().unwrap().to_vec(),
                tag.to_vec(),
                iv.to_vec(),
            ),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(nonce.len(), 12);

    // Every frame of one round, prepared up front.
    let mut plan: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut push = |d: &mut Driver, name: &'static str, r: Request<'_>| {
        let f = d.frame(&r);
        plan.push((name, f));
    };
    push(&mut d, "ping", Request::Ping { data: &msg });
    push(&mut d, "random", Request::Random { len: 32 });
    for (name, id) in [("hash", hash), ("mac", mac)] {
        push(
            &mut d,
            name,
            Request::InitContext {
                context_id: id,
                iv: &[],
            },
        );
        push(
            &mut d,
            name,
            Request::Update {
                context_id: id,
                input: Payload::Inline(&msg),
            },
        );
        push(
            &mut d,
            name,
            Request::Finalize {
                context_id: id,
                input: Payload::Inline(&[]),
                tag: &[],
            },
        );
        push(&mut d, name, Request::ResetContext { context_id: id });
    }
    for (name, id) in [("ed25519 sign", sign), ("ecdsa sign", esign)] {
        push(
            &mut d,
            name,
            Request::InitContext {
                context_id: id,
                iv: &[],
            },
        );
        push(
            &mut d,
            name,
            Request::Finalize {
                context_id: id,
                input: Payload::Inline(&msg),
                tag: &[],
            },
        );
        push(&mut d, name, Request::ResetContext { context_id: id });
    }
    push(
        &mut d,
        "ed25519 verify",
        Request::InitContext {
            context_id: verify,
            iv: &[],
        },
    );
    push(
        &mut d,
        "ed25519 verify",
        Request::Update {
            context_id: verify,
            input: Payload::Inline(&msg),
        },
    );
    push(
        &mut d,
        "ed25519 verify",
        Request::Finalize {
            context_id: verify,
            input: Payload::Inline(&sig),
            tag: &[],
        },
    );
    push(
        &mut d,
        "ed25519 verify",
        Request::ResetContext { context_id: verify },
    );
    push(
        &mut d,
        "aead seal",
        Request::InitContext {
            context_id: seal,
            iv: &[],
        },
    );
    push(
        &mut d,
        "aead seal",
        Request::SetAad {
            context_id: seal,
            aad: Payload::Inline(b""),
        },
    );
    push(
        &mut d,
        "aead seal",
        Request::Finalize {
            context_id: seal,
            input: Payload::Inline(&msg),
            tag: &[],
        },
    );
    push(
        &mut d,
        "aead seal",
        Request::ResetContext { context_id: seal },
    );
    push(
        &mut d,
        "aead open",
        Request::InitContext {
            context_id: open,
            iv: &nonce,
        },
    );
    push(
        &mut d,
        "aead open",
        Request::Finalize {
            context_id: open,
            input: Payload::Inline(&ct),
            tag: &tag,
        },
    );
    push(
        &mut d,
        "aead open",
        Request::ResetContext { context_id: open },
    );
    // The same operations as single `Process` requests (protocol 1.1), then a reset so the
    // next round's streaming calls start from Created again.
    let none: &[u8] = &[];
    for (name, id, iv, input, last, tag) in [
        ("process hash", hash, none, &msg[..], none, none),
        ("process mac", mac, none, &msg[..], none, none),
        ("process ed25519 sign", sign, none, &msg[..], none, none),
        (
            "process ed25519 verify",
            verify,
            none,
            &msg[..],
            &sig[..],
            none,
        ),
        ("process aead seal", seal, none, &msg[..], none, none),
        (
            "process aead open",
            open,
            &nonce[..],
            &ct[..],
            none,
            &tag[..],
        ),
    ] {
        push(
            &mut d,
            name,
            Request::Process {
                context_id: id,
                iv,
                aad: none,
                input: Payload::Inline(input),
                last,
                tag,
                output: None,
            },
        );
        push(&mut d, name, Request::ResetContext { context_id: id });
    }

    // The data plane (issue 13): the same one-shots over a shared-memory region four frames
    // long, outputs written into the region. Registering it allocates (the table entry);
    // using it must not (copy-in for signing and opening is an anonymous mapping, not heap).
    const N: usize = 256 * 1024;
    let mut region = warden_shm::Region::create(4 * N as u64).unwrap();
    region.mapping_mut().as_mut_slice()[..N].fill(0x42);
    d.lb.attach_fd(region.fd().try_clone_to_owned().unwrap());
    let (st, b) = d.call(&Request::RegionRegister { len: 4 * N as u64 });
    assert_eq!(st, 0, "{:?}", ErrorCode::from_u32(st));
    let rid = match decode_response(Opcode::RegionRegister, &b).unwrap() {
        Response::RegionRegistered { region_id } => region_id,
        other => panic!("{other:?}"),
    };
    let at = |i: usize| ShmSlice {
        region: rid,
        offset: (i * N) as u64,
        len: N as u64,
    };
    // A ciphertext in the second quarter to open during the rounds.
    let (rtag, rnonce) = {
        let (st, b) = d.call(&Request::Process {
            context_id: seal,
            iv: &[],
            aad: &[],
            input: Payload::Shm(at(0)),
            last: &[],
            tag: &[],
            output: Some(at(1)),
        });
        assert_eq!(st, 0, "{:?}", ErrorCode::from_u32(st));
        d.call(&Request::ResetContext { context_id: seal });
        match decode_response(Opcode::Process, &b).unwrap() {
            Response::Output { tag, iv, .. } => (tag.to_vec(), iv.to_vec()),
            other => panic!("{other:?}"),
        }
    };
    let rsig = {
        let (st, b) = d.call(&Request::Process {
            context_id: sign,
            iv: &[],
            aad: &[],
            input: Payload::Shm(at(0)),
            last: &[],
            tag: &[],
            output: None,
        });
        assert_eq!(st, 0, "{:?}", ErrorCode::from_u32(st));
        d.call(&Request::ResetContext { context_id: sign });
        match decode_response(Opcode::Process, &b).unwrap() {
            Response::Output { output, .. } => output.as_inline().unwrap().to_vec(),
            other => panic!("{other:?}"),
        }
    };
    for (name, id, iv, last, tag, output) in [
        ("region hash", hash, none, none, none, None),
        ("region ed25519 sign", sign, none, none, none, None),
        ("region ed25519 verify", verify, none, &rsig[..], none, None),
        ("region aead seal", seal, none, none, none, Some(at(2))),
        (
            "region aead seal in place",
            seal,
            none,
            none,
            none,
            Some(at(2)),
        ),
        (
            "region aead open",
            open,
            &rnonce[..],
            none,
            &rtag[..],
            Some(at(3)),
        ),
    ] {
        let input = Payload::Shm(match name {
            "region aead open" => at(1),
            "region aead seal in place" => at(2),
            _ => at(0),
        });
        push(
            &mut d,
            name,
            Request::Process {
                context_id: id,
                iv,
                aad: none,
                input,
                last,
                tag,
                output,
            },
        );
        push(&mut d, name, Request::ResetContext { context_id: id });
    }

    // Round 1 warms up lazily initialised state (thread-locals, first-use tables).
    for (name, f) in &plan {
        let (st, ..) = d.measured(f);
        assert_eq!(st, 0, "{name}: {:?}", ErrorCode::from_u32(st));
    }
    let mut daemon_total = 0;
    let mut report = String::new();
    for round in 0..3 {
        for (name, f) in &plan {
            let (st, len, daemon, provider) = d.measured(f);
            assert_eq!(st, 0, "{name}: {:?}", ErrorCode::from_u32(st));
            assert!(len > 0, "{name}: every reply has a body");
            daemon_total += daemon;
            assert_eq!(
                daemon, 0,
                "{name}: the daemon's request path allocated {daemon} times"
            );
            if round == 0 && provider > 0 {
                report.push_str(&format!(
                    "  {name}: {provider} allocation(s) inside the provider\n"
                ));
            }
        }
    }
    assert_eq!(daemon_total, 0);
    println!("provider-side allocations per request (not the daemon's):\n{report}");
}

#[test]
fn error_replies_do_not_allocate_either() {
    let mut d = Driver::new();
    let missing = d.frame(&Request::Update {
        context_id: 42,
        input: Payload::Inline(b"x"),
    });
    d.measured(&missing);
    let (st, len, daemon, _) = d.measured(&missing);
    assert_eq!(st, ErrorCode::ResourceNotFound.as_u32());
    assert_eq!(len, 0);
    assert_eq!(daemon, 0);
}
