//! Structured fuzzing of the daemon's whole request path: the input is decoded (with
//! `arbitrary`) into a script of valid-ish requests (key management, contexts with
//! init/update/finalize/reset, slots, policies, permits, plus some raw frames), encoded with
//! the real wire encoder and served through `warden_daemon::Loopback` after a handshake.
//!
//! Raw bytes rarely get past FlatBuffers verification and never guess a live 64-bit resource
//! id; here ids refer to what earlier replies returned (keys, contexts, or a stale/raw id),
//! and byte fields can reuse the last reply's output (a signature, ciphertext, tag, wrapped
//! key, public key), so the fuzzer reaches sign→verify, seal→open, wrap→unwrap and
//! encapsulate→decapsulate with real data and with one flipped byte.
//!
//! Asserts, beyond "no panic" and the per-reply frame checks of `common::check_reply`:
//! - a released key cannot bind a new context, be released again or be used by any key
//!   operation (seed decision 2); a destroyed context answers nothing successfully;
//! - a context is only created on a key whose permission bits allow its kind, and a secret
//!   is only exported from a key created exportable with the Export bit;
//! - new ids are never 0 and never repeat an id of this connection;
//! - after releasing every key and destroying every context the daemon holds no resource
//!   (no leaked key reference), and the connection still answers a Ping.

#![no_main]

#[allow(dead_code)] // the raw target reads other reply fields
mod common;
mod ops_script;

use std::collections::{HashMap, HashSet};

use common::{Outcome, Owned, assert_usable, check_reply, frame, fresh_loopback, handshake};
use libfuzzer_sys::fuzz_target;
use ops_script::*;
use warden_core::{Algorithm, KeyFormat};
use warden_daemon::Loopback;
use warden_wire::messages::{
    AgreeKey, CipherDirection, ContextKind, CreateContext, Decapsulate, DeriveKey, Encapsulate,
    GenerateKey, ImportKey, Kdf, KeySpec, ShmSlice, Timeout, UnwrapKey, WrapKey,
};
use warden_wire::{Builder, Opcode, PROTOCOL_VERSION, Payload, Request, encode_request};

#[derive(Clone, Copy)]
struct KeyInfo {
    /// Permission bits and exportable flag as requested (`None`: not known, e.g. slot keys).
    attrs: Option<(u32, bool)>,
    /// Its algorithm as requested, if a known name.
    alg: Option<&'static str>,
    released: bool,
}

/// The connection as the script sees it.
struct Session {
    lb: Loopback,
    builder: Builder,
    next_id: u64,
    keys: Vec<u64>,
    key_info: HashMap<u64, KeyInfo>,
    ctxs: Vec<u64>,
    destroyed: HashSet<u64>,
    last: Vec<u8>,
    last_tag: Vec<u8>,
}

impl Session {
    fn key(&self, r: Ref) -> u64 {
        match r {
            Ref::Newest => self.keys.last().copied().unwrap_or(1),
            Ref::Key(i) if !self.keys.is_empty() => self.keys[usize::from(i) % self.keys.len()],
            Ref::Ctx(i) if !self.ctxs.is_empty() => self.ctxs[usize::from(i) % self.ctxs.len()],
            Ref::Raw(v) => v,
            _ => 1,
        }
    }

    fn ctx(&self, r: Ref) -> u64 {
        match r {
            Ref::Newest => self.ctxs.last().copied().unwrap_or(1),
            Ref::Key(i) if !self.keys.is_empty() => self.keys[usize::from(i) % self.keys.len()],
            Ref::Ctx(i) if !self.ctxs.is_empty() => self.ctxs[usize::from(i) % self.ctxs.len()],
            Ref::Raw(v) => v,
            _ => 1,
        }
    }

    /// The algorithm an operation on `key` names.
    fn op_alg(&self, a: &CtxAlg, key: Option<u64>) -> String {
        match a {
            CtxAlg::Any(a) => alg_name(a).to_owned(),
            CtxAlg::FromKey(i) => {
                let key_alg = key.and_then(|k| self.key_info.get(&k)).and_then(|k| k.alg);
                let algs = key_alg.map(algs_for_key).unwrap_or_default();
                algs.get(usize::from(*i) % algs.len().max(1))
                    .map_or_else(|| "SHA-256".to_owned(), |a| (*a).to_owned())
            }
        }
    }

    fn bytes(&self, b: &Bytes) -> Vec<u8> {
        match b {
            Bytes::Lit(v) => v.clone(),
            Bytes::Last => self.last.clone(),
            Bytes::LastTag => self.last_tag.clone(),
            Bytes::LastFlipped(i) => {
                let mut v = self.last.clone();
                if !v.is_empty() {
                    let n = usize::from(*i) % v.len();
                    v[n] ^= 1;
                }
                v
            }
        }
    }

    fn released(&self, id: u64) -> bool {
        self.key_info.get(&id).is_some_and(|k| k.released)
    }

    /// Sends one request; returns `None` if the connection is (now) closed.
    fn send(&mut self, req: &Request<'_>, deadline_ms: u32) -> Option<Outcome> {
        let body = encode_request(&mut self.builder, req).to_vec();
        self.send_raw(req.opcode().as_u16(), &body, deadline_ms)
    }

    fn send_raw(&mut self, opcode: u16, body: &[u8], deadline_ms: u32) -> Option<Outcome> {
        self.next_id += 1;
        let f = frame(self.next_id, opcode, deadline_ms, body);
        let out = self.lb.request(&f, |h, b| check_reply(&f, h, b))?;
        if trace() {
            let name = Opcode::from_u16(opcode).map_or("unknown", Opcode::name);
            match &out {
                Outcome::Ok(_) => eprintln!("trace: {name} ok"),
                Outcome::Err(code) => eprintln!("trace: {name} {code:?}"),
            }
        }
        if let Outcome::Ok(o) = &out {
            self.learn(o, opcode == Opcode::SlotResolve.as_u16());
        }
        Some(out)
    }

    /// Records what a successful reply handed out. `resolve`: a SlotResolve reply, which
    /// may repeat the id of a live (unreleased) key bound to the same slot.
    fn learn(&mut self, o: &Owned, resolve: bool) {
        if let (true, Some(id)) = (resolve, o.key_id)
            && let Some(k) = self.key_info.get(&id)
        {
            assert!(!k.released, "slot resolve handed back released key {id:#x}");
            return;
        }
        for id in [o.key_id, o.context_id].into_iter().flatten() {
            assert_ne!(id, 0, "the daemon handed out resource id 0");
            assert!(
                !self.key_info.contains_key(&id) && !self.ctxs.contains(&id),
                "the daemon reused id {id:#x} on one connection"
            );
        }
        if let Some(id) = o.key_id {
            self.keys.push(id);
            self.key_info.insert(
                id,
                KeyInfo {
                    attrs: None,
                    alg: None,
                    released: false,
                },
            );
        }
        if let Some(id) = o.context_id {
            self.ctxs.push(id);
        }
        if let Some(d) = &o.data {
            self.last.clone_from(d);
        }
        if let Some(t) = &o.tag {
            self.last_tag.clone_from(t);
        }
    }

    /// A key operation that creates a key with `spec`: remember its attributes.
    fn create_key(&mut self, req: &Request<'_>, spec: &KeySpec<'_>, uses: &[u64], dl: u32) {
        let Some(out) = self.send(req, dl) else {
            return;
        };
        for &id in uses {
            if self.released(id) {
                assert!(
                    !matches!(out, Outcome::Ok(_)),
                    "{:?} succeeded with released key {id:#x}",
                    req.opcode()
                );
            }
        }
        if let Outcome::Ok(Owned {
            key_id: Some(id), ..
        }) = out
        {
            if let Some(k) = self.key_info.get_mut(&id) {
                k.attrs = Some((spec.permissions, spec.exportable));
                k.alg = Algorithm::from_name(spec.algorithm)
                    .ok()
                    .map(Algorithm::name);
            }
        }
    }

    /// A request on existing resources: no success on a released key or a destroyed context.
    fn use_resources(&mut self, req: &Request<'_>, keys: &[u64], ctx: Option<u64>, dl: u32) {
        let Some(out) = self.send(req, dl) else {
            return;
        };
        let ok = matches!(out, Outcome::Ok(_));
        for &id in keys {
            assert!(
                !(ok && self.released(id)),
                "{:?} succeeded with released key {id:#x}",
                req.opcode()
            );
        }
        if let Some(c) = ctx {
            assert!(
                !(ok && self.destroyed.contains(&c)),
                "{:?} succeeded on destroyed context {c:#x}",
                req.opcode()
            );
        }
    }

    /// Creates a context (kind, algorithm and direction derived as the script says) and
    /// checks the permission and released-key rules on success.
    fn create(
        &mut self,
        kind: &Kind,
        alg: &CtxAlg,
        key: &Option<Ref>,
        dir: &Dir,
        timeout: &Option<Option<u8>>,
        dl: u32,
    ) {
        let key_id = key.map(|k| self.key(k));
        let algorithm = self.op_alg(alg, key_id);
        let kind = match kind {
            Kind::Auto { verify } => kind_for(&algorithm, *verify),
            Kind::Pick(i) => KINDS[usize::from(*i) % KINDS.len()],
        };
        let direction = match dir {
            Dir::Auto => matches!(kind, ContextKind::Cipher | ContextKind::Aead)
                .then_some(CipherDirection::Encrypt),
            Dir::Encrypt => Some(CipherDirection::Encrypt),
            Dir::Decrypt => Some(CipherDirection::Decrypt),
            Dir::Missing => None,
        };
        let decrypt = direction == Some(CipherDirection::Decrypt);
        let timeout = match timeout {
            None => Timeout::Default,
            Some(None) => Timeout::Disabled,
            Some(Some(ms)) => Timeout::Millis(u32::from(*ms)),
        };
        let r = CreateContext {
            kind,
            algorithm: &algorithm,
            key_id,
            direction,
            timeout,
            options: Default::default(),
        };
        let Some(out) = self.send(&Request::CreateContext(r), dl) else {
            return;
        };
        if let (Outcome::Ok(_), Some(k)) = (&out, key_id) {
            let info = self.key_info.get(&k).copied();
            assert!(
                info.is_some_and(|i| !i.released),
                "context created on a released or unknown key {k:#x}"
            );
            let need = needed_bit(kind, decrypt);
            if let (Some(bit), Some((perms, _))) = (need, info.and_then(|i| i.attrs)) {
                assert!(
                    perms & bit != 0,
                    "{kind:?} context on a key without permission {bit:#x} (has {perms:#x})"
                );
            }
        }
    }

    fn step(&mut self, op: &Op, dl: u32) {
        match op {
            Op::Ping(data) => {
                self.send(&Request::Ping { data }, dl);
            }
            Op::Status => {
                self.send(&Request::Status, dl);
            }
            Op::Generate {
                key,
                rsa_bits: bits,
                key_len: len,
            } => {
                let spec = key_spec(key);
                let r = GenerateKey {
                    key: spec,
                    rsa_bits: rsa_bits(*bits),
                    key_len: key_len(len, spec.algorithm),
                    provider: None,
                };
                self.create_key(&Request::GenerateKey(r), &spec, &[], dl);
            }
            Op::Import {
                key,
                format,
                material,
            } => {
                let material = self.bytes(material);
                let format = KeyFormat::from_u8(1 + format % 4).unwrap_or_default();
                let spec = key_spec(key);
                let r = ImportKey {
                    key: spec,
                    format,
                    material: Payload::Inline(&material),
                };
                self.create_key(&Request::ImportKey(r), &spec, &[], dl);
            }
            Op::ExportPublic { key, format } => {
                let key_id = self.key(*key);
                let format = format.and_then(|f| KeyFormat::from_u8(f % 6).ok());
                self.use_resources(
                    &Request::ExportPublicKey {
                        key_id,
                        format,
                        output: None,
                    },
                    &[key_id],
                    None,
                    dl,
                );
            }
            Op::ExportSecret { key } => {
                let key_id = self.key(*key);
                let Some(out) = self.send(
                    &Request::ExportSecretKey {
                        key_id,
                        output: None,
                    },
                    dl,
                ) else {
                    return;
                };
                if matches!(out, Outcome::Ok(_)) {
                    let info = self.key_info.get(&key_id).copied();
                    assert!(
                        info.is_some_and(|k| !k.released),
                        "secret export of a released or unknown key"
                    );
                    if let Some((perms, exportable)) = info.and_then(|k| k.attrs) {
                        assert!(
                            exportable && perms & EXPORT != 0,
                            "secret export without Export bit or exportable flag"
                        );
                    }
                }
            }
            Op::Derive {
                base,
                kdf,
                key,
                output_len,
            } => {
                let base_key_id = self.key(*base);
                let kdf = match kdf {
                    KdfOp::Hkdf { sha384, salt, info } => Kdf::Hkdf {
                        hash: if *sha384 { "SHA-384" } else { "SHA-256" },
                        salt,
                        info,
                    },
                    KdfOp::HkdfNamed { hash, salt, info } => Kdf::Hkdf {
                        hash: alg_name(hash),
                        salt,
                        info,
                    },
                    KdfOp::Pbkdf2 { salt, iterations } => Kdf::Pbkdf2 {
                        salt,
                        iterations: pbkdf2_iterations(*iterations),
                    },
                    KdfOp::Tls12 { label, seed } => Kdf::Tls12Prf { label, seed },
                    KdfOp::Tls13 { label, context } => Kdf::Tls13ExpandLabel { label, context },
                    KdfOp::Sp800108 { label, context } => {
                        Kdf::Sp800108CounterHmac { label, context }
                    }
                };
                let spec = key_spec(key);
                let r = DeriveKey {
                    base_key_id,
                    kdf,
                    key: spec,
                    output_len: u32::from(*output_len),
                };
                self.create_key(&Request::DeriveKey(r), &spec, &[base_key_id], dl);
            }
            Op::Agree {
                private,
                alg,
                peer,
                key,
            } => {
                let private_key_id = self.key(*private);
                let peer = self.bytes(peer);
                let spec = key_spec(key);
                let algorithm = self.op_alg(alg, Some(private_key_id));
                let r = AgreeKey {
                    private_key_id,
                    algorithm: &algorithm,
                    peer_public: &peer,
                    key: spec,
                };
                self.create_key(&Request::AgreeKey(r), &spec, &[private_key_id], dl);
            }
            Op::Wrap { kek, target, alg } => {
                let (kek_id, target_key_id) = (self.key(*kek), self.key(*target));
                let algorithm = self.op_alg(alg, Some(kek_id));
                let r = WrapKey {
                    kek_id,
                    target_key_id,
                    algorithm: &algorithm,
                    output: None,
                };
                self.use_resources(&Request::WrapKey(r), &[kek_id, target_key_id], None, dl);
            }
            Op::Unwrap {
                kek,
                alg,
                wrapped,
                key,
            } => {
                let kek_id = self.key(*kek);
                let wrapped = self.bytes(wrapped);
                let spec = key_spec(key);
                let algorithm = self.op_alg(alg, Some(kek_id));
                let r = UnwrapKey {
                    kek_id,
                    algorithm: &algorithm,
                    wrapped: Payload::Inline(&wrapped),
                    key: spec,
                };
                self.create_key(&Request::UnwrapKey(r), &spec, &[kek_id], dl);
            }
            Op::Encapsulate { public, key } => {
                let public_key_id = self.key(*public);
                let spec = key_spec(key);
                self.create_key(
                    &Request::Encapsulate(Encapsulate {
                        public_key_id,
                        key: spec,
                    }),
                    &spec,
                    &[public_key_id],
                    dl,
                );
            }
            Op::Decapsulate {
                private,
                ciphertext,
                key,
            } => {
                let private_key_id = self.key(*private);
                let ciphertext = self.bytes(ciphertext);
                let spec = key_spec(key);
                let r = Decapsulate {
                    private_key_id,
                    ciphertext: &ciphertext,
                    key: spec,
                };
                self.create_key(&Request::Decapsulate(r), &spec, &[private_key_id], dl);
            }
            Op::Release(r) => {
                let key_id = self.key(*r);
                let was_released = self.released(key_id);
                let Some(out) = self.send(&Request::ReleaseKey { key_id }, dl) else {
                    return;
                };
                if matches!(out, Outcome::Ok(_)) {
                    assert!(!was_released, "a key was released twice");
                    if let Some(k) = self.key_info.get_mut(&key_id) {
                        k.released = true;
                    }
                }
            }
            Op::Create {
                kind,
                alg,
                key,
                dir,
                timeout,
            } => self.create(kind, alg, key, dir, timeout, dl),
            Op::Init { ctx, iv } => {
                let context_id = self.ctx(*ctx);
                let iv = self.bytes(iv);
                self.use_resources(
                    &Request::InitContext {
                        context_id,
                        iv: &iv,
                    },
                    &[],
                    Some(context_id),
                    dl,
                );
            }
            Op::SetAad { ctx, aad } => {
                let context_id = self.ctx(*ctx);
                let aad = self.bytes(aad);
                self.use_resources(
                    &Request::SetAad {
                        context_id,
                        aad: Payload::Inline(&aad),
                    },
                    &[],
                    Some(context_id),
                    dl,
                );
            }
            Op::Update { ctx, input } => {
                let context_id = self.ctx(*ctx);
                let input = self.bytes(input);
                self.use_resources(
                    &Request::Update {
                        context_id,
                        input: Payload::Inline(&input),
                    },
                    &[],
                    Some(context_id),
                    dl,
                );
            }
            Op::UpdateShm {
                ctx,
                region,
                offset,
                len,
            } => {
                let context_id = self.ctx(*ctx);
                let input = Payload::Shm(ShmSlice {
                    region: *region,
                    offset: *offset,
                    len: *len,
                });
                let Some(out) = self.send(&Request::Update { context_id, input }, dl) else {
                    return;
                };
                // No data plane yet: a shared-memory reference is always refused.
                assert!(
                    !matches!(out, Outcome::Ok(_)),
                    "shared-memory payload accepted without a data plane"
                );
            }
            Op::Stream {
                new,
                ctx,
                iv,
                aad,
                chunks,
                last,
                tag,
            } => {
                let context_id = match new {
                    Some(n) => {
                        let before = self.ctxs.len();
                        self.create(&n.kind, &n.alg, &n.key, &n.dir, &None, dl);
                        if self.ctxs.len() == before {
                            return; // not created: the stream would only repeat errors
                        }
                        self.ctx(Ref::Newest)
                    }
                    None => self.ctx(*ctx),
                };
                let iv = self.bytes(iv);
                let r = Request::InitContext {
                    context_id,
                    iv: &iv,
                };
                self.use_resources(&r, &[], Some(context_id), dl);
                if let Some(aad) = aad {
                    let aad = self.bytes(aad);
                    let r = Request::SetAad {
                        context_id,
                        aad: Payload::Inline(&aad),
                    };
                    self.use_resources(&r, &[], Some(context_id), dl);
                }
                for c in chunks {
                    let input = self.bytes(c);
                    let r = Request::Update {
                        context_id,
                        input: Payload::Inline(&input),
                    };
                    self.use_resources(&r, &[], Some(context_id), dl);
                }
                let (input, tag) = (self.bytes(last), self.bytes(tag));
                let r = Request::Finalize {
                    context_id,
                    input: Payload::Inline(&input),
                    tag: &tag,
                };
                self.use_resources(&r, &[], Some(context_id), dl);
            }
            Op::Finalize { ctx, input, tag } => {
                let context_id = self.ctx(*ctx);
                let (input, tag) = (self.bytes(input), self.bytes(tag));
                let r = Request::Finalize {
                    context_id,
                    input: Payload::Inline(&input),
                    tag: &tag,
                };
                self.use_resources(&r, &[], Some(context_id), dl);
            }
            Op::Process {
                ctx,
                iv,
                aad,
                input,
                last,
                tag,
            } => {
                let context_id = self.ctx(*ctx);
                let (iv, aad, input) = (self.bytes(iv), self.bytes(aad), self.bytes(input));
                let (last, tag) = (self.bytes(last), self.bytes(tag));
                let r = Request::Process {
                    context_id,
                    iv: &iv,
                    aad: &aad,
                    input: Payload::Inline(&input),
                    last: &last,
                    tag: &tag,
                    output: None,
                };
                self.use_resources(&r, &[], Some(context_id), dl);
            }
            Op::Reset(c) => {
                let context_id = self.ctx(*c);
                self.use_resources(
                    &Request::ResetContext { context_id },
                    &[],
                    Some(context_id),
                    dl,
                );
            }
            Op::Destroy(c) => {
                let context_id = self.ctx(*c);
                let r = Request::DestroyContext { context_id };
                let was_destroyed = self.destroyed.contains(&context_id);
                let Some(out) = self.send(&r, dl) else { return };
                if matches!(out, Outcome::Ok(_)) {
                    assert!(!was_destroyed, "a context was destroyed twice");
                    self.destroyed.insert(context_id);
                }
            }
            Op::Random(len) => {
                self.send(
                    &Request::Random {
                        len: u32::from(*len),
                    },
                    dl,
                );
            }
            Op::SlotResolve(n) => {
                self.send(
                    &Request::SlotResolve {
                        name: slot_name(*n),
                    },
                    dl,
                );
            }
            Op::SlotPersist { key, name } => {
                let key_id = self.key(*key);
                self.use_resources(
                    &Request::SlotPersist {
                        key_id,
                        name: slot_name(*name),
                    },
                    &[key_id],
                    None,
                    dl,
                );
            }
            Op::SlotDelete(n) => {
                self.send(
                    &Request::SlotDelete {
                        name: slot_name(*n),
                    },
                    dl,
                );
            }
            Op::SlotList => {
                self.send(
                    &Request::SlotList {
                        start_after: "",
                        limit: 0,
                        name: "",
                    },
                    dl,
                );
            }
            Op::SlotGrant { name, uid, perms } => {
                let uid = UIDS[usize::from(*uid) % UIDS.len()];
                self.send(
                    &Request::SlotGrant {
                        name: slot_name(*name),
                        uid,
                        permissions: perm_bits(perms),
                    },
                    dl,
                );
            }
            Op::SlotRevoke { name, uid } => {
                let uid = UIDS[usize::from(*uid) % UIDS.len()];
                self.send(
                    &Request::SlotRevoke {
                        name: slot_name(*name),
                        uid,
                    },
                    dl,
                );
            }
            Op::PolicyLoad {
                action,
                profile,
                module,
            } => {
                let profile = if *profile { "warden" } else { "aether" };
                self.send(
                    &Request::PolicyLoad {
                        action: slot_name(*action),
                        profile,
                        module,
                    },
                    dl,
                );
            }
            Op::PolicyList { after, limit } => {
                self.send(
                    &Request::PolicyList {
                        start_after: after.map_or("", slot_name),
                        limit: u32::from(*limit),
                    },
                    dl,
                );
            }
            Op::PolicyUnload(a) => {
                self.send(
                    &Request::PolicyUnload {
                        action: slot_name(*a),
                    },
                    dl,
                );
            }
            Op::TrustAdd {
                issuer,
                alg,
                public_key,
            } => {
                let public_key = self.bytes(public_key);
                let r = Request::TrustAdd {
                    issuer: slot_name(*issuer),
                    algorithm: alg_name(alg),
                    public_key: &public_key,
                };
                self.send(&r, dl);
            }
            Op::TrustList { after, limit } => {
                self.send(
                    &Request::TrustList {
                        start_after: after.map_or("", slot_name),
                        limit: u32::from(*limit),
                    },
                    dl,
                );
            }
            Op::TrustRemove(i) => {
                self.send(
                    &Request::TrustRemove {
                        issuer: slot_name(*i),
                    },
                    dl,
                );
            }
            Op::PermitVerify {
                permit,
                action,
                resource,
                intent,
            } => {
                let permit = self.bytes(permit);
                let r = Request::PermitVerify {
                    permit: &permit,
                    action: slot_name(*action),
                    resource: slot_name(*resource),
                    intent,
                };
                self.send(&r, dl);
            }
            Op::AttestPublicKey => {
                self.send(&Request::AttestPublicKey, dl);
            }
            Op::Raw { opcode, body } => {
                // Never a second Hello here: the handshake target covers it.
                if *opcode != Opcode::Hello.as_u16() {
                    self.send_raw(*opcode, body, dl);
                }
            }
        }
    }

    /// Releases every key and destroys every context the script still holds, then checks
    /// that nothing is left alive (a leaked reference would keep a key in the table).
    fn clean_up_and_check(&mut self) {
        for c in self.ctxs.clone() {
            if !self.destroyed.contains(&c) {
                self.send(&Request::DestroyContext { context_id: c }, 0);
            }
        }
        for k in self.keys.clone() {
            if !self.released(k) {
                self.send(&Request::ReleaseKey { key_id: k }, 0);
            }
        }
        if self.lb.is_closed() {
            return;
        }
        let status = self.lb.status();
        assert_eq!(
            status.live_total(),
            0,
            "resources left after releasing everything: {status:?}"
        );
    }
}

/// `WARDEN_FUZZ_TRACE=1`: one stderr line per request with its outcome, to see which
/// operations a corpus reaches successfully (`cargo fuzz run dispatch_ops <corpus> -- -runs=0
/// 2>&1 | grep '^trace:' | sort | uniq -c`).
fn trace() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("WARDEN_FUZZ_TRACE").is_some())
}

fuzz_target!(|script: Script| {
    let mut lb = fresh_loopback(script.admin);
    handshake(&mut lb);
    let mut s = Session {
        lb,
        builder: Builder::new(),
        next_id: 0,
        keys: Vec::new(),
        key_info: HashMap::new(),
        ctxs: Vec::new(),
        destroyed: HashSet::new(),
        last: Vec::new(),
        last_tag: Vec::new(),
    };
    for step in &script.steps {
        if s.lb.is_closed() {
            break;
        }
        let dl = if step.deadline > 250 {
            u32::from(step.deadline - 250)
        } else {
            0
        };
        s.step(&step.op, dl);
    }
    s.clean_up_and_check();
    assert_usable(&mut s.lb, &mut s.builder, Some(PROTOCOL_VERSION));
});
