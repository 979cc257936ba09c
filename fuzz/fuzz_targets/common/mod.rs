//! Shared by the daemon fuzz targets: a fuzzing configuration with a throw-away data
//! directory, the handshake frame, and the reply checks every target applies.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::OnceLock;

use warden_core::ErrorCode;
use warden_daemon::{Config, Loopback};
use warden_wire::handshake::{Hello, HelloRefusal, HelloReply};
use warden_wire::{
    Builder, FrameHeader, HEADER_LEN, Opcode, PROTOCOL_VERSION, Reply, Request, Version,
    decode_error_detail, decode_reply, encode_request,
};

/// Frame limit of the fuzzed daemon: small, so oversize paths are reachable.
pub const MAX_FRAME: u32 = 16 * 1024;
/// Resource quota per connection: small, so `QuotaExceeded` is reachable.
pub const MAX_RESOURCES: usize = 16;

/// Per-process data directory (slot store, master key, audit log). On tmpfs when there is
/// one, so inputs that touch slots stay fast. Wiped before every input: inputs must not see
/// each other's slots, or a crash would not reproduce from its artifact alone.
fn data_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        base.join(format!("warden-fuzz-{}", std::process::id()))
    })
}

/// The effective uid of this process (owner of `/proc/self`), to make it an admin.
fn own_uid() -> Option<u32> {
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// A fresh in-process daemon connection with small limits and an empty data directory.
/// `admin`: whether this process's uid is a configured admin (policy and trust paths).
pub fn fresh_loopback(admin: bool) -> Loopback {
    let dir = data_dir();
    let _ = std::fs::remove_dir_all(dir);
    let mut config = Config::default();
    config.limits.max_connections = 1;
    config.limits.max_frame_size = MAX_FRAME;
    config.limits.max_resources_per_connection = MAX_RESOURCES;
    config.storage.data_dir = Some(dir.clone());
    // Not stderr: libFuzzer's output would drown in audit lines.
    config.audit.log = "audit.log".into();
    config.permits.audience = Some("wardend@fuzz".into());
    if admin {
        config.access.admin_uids = own_uid().into_iter().collect();
    }
    Loopback::new(config).expect("a valid config builds a loopback daemon")
}

/// A frame: header (with `deadline_ms`) and body.
pub fn frame(request_id: u64, opcode: u16, deadline_ms: u32, body: &[u8]) -> Vec<u8> {
    let header = FrameHeader {
        deadline_ms,
        body_len: u32::try_from(body.len()).unwrap_or(u32::MAX),
        ..FrameHeader::request(PROTOCOL_VERSION, request_id, opcode)
    };
    let mut f = header.to_bytes().to_vec();
    f.extend_from_slice(body);
    f
}

/// The handshake frame a well-behaved client sends first.
pub fn hello_frame() -> Vec<u8> {
    let h = Hello {
        min: PROTOCOL_VERSION,
        max: PROTOCOL_VERSION,
        client_name: "fuzz",
    };
    let mut body = [0u8; 64];
    let n = h.encode(&mut body).expect("hello encodes");
    frame(0, Opcode::Hello.as_u16(), 0, &body[..n])
}

/// Sends the handshake and asserts that the daemon accepts it.
pub fn handshake(lb: &mut Loopback) {
    let f = hello_frame();
    let r = lb.request(&f, |h, b| {
        let h = FrameHeader::decode(h, MAX_FRAME).expect("hello reply header decodes");
        matches!(HelloReply::decode(h.status, b), Ok(HelloReply::Accepted(_)))
    });
    assert_eq!(r, Some(true), "the daemon refused a valid hello");
}

/// What a reply said, as far as the structured target needs to know.
pub enum Outcome {
    /// Success with this decoded response (owned copies of what the target reuses).
    Ok(Owned),
    /// An error reply with this code.
    Err(ErrorCode),
}

/// The parts of a successful response a later request may reuse.
#[derive(Default)]
pub struct Owned {
    /// A new key id (KeyCreated, Encapsulated).
    pub key_id: Option<u64>,
    /// A new context id.
    pub context_id: Option<u64>,
    /// Bytes produced (output, key bytes, ciphertext, receipt).
    pub data: Option<Vec<u8>>,
    /// AEAD tag.
    pub tag: Option<Vec<u8>>,
    /// Version agreed by an accepted Hello.
    pub version: Option<Version>,
}

/// Checks one reply against the request frame it answers, the way a strict client would:
/// the header decodes within the configured frame limit, is a response, echoes the request
/// id and opcode, carries a known error code, and the body decodes as the opcode's response
/// (or as an error detail). Panics on any violation.
pub fn check_reply(req: &[u8], head: &[u8; HEADER_LEN], body: &[u8]) -> Outcome {
    let h = FrameHeader::decode(head, MAX_FRAME).expect("reply header decodes within the limit");
    assert!(h.is_response(), "reply without the response flag");
    assert_eq!(h.body_len as usize, body.len(), "reply body length");
    // The daemon echoes what it could read of the request's id and opcode.
    if let (Some(id), Some(op)) = (req.get(8..16), req.get(16..18)) {
        let id = u64::from_le_bytes(id.try_into().expect("8 bytes"));
        let op = u16::from_le_bytes(op.try_into().expect("2 bytes"));
        assert_eq!(h.request_id, id, "reply to another request id");
        assert_eq!(h.opcode, op, "reply to another opcode");
    }
    let code = if h.status == 0 {
        None
    } else {
        Some(ErrorCode::from_u32(h.status).expect("reply status is a known error code"))
    };
    if h.opcode == Opcode::Hello.as_u16() {
        match code {
            None => {
                let ack = HelloReply::decode(0, body)
                    .and_then(HelloReply::into_result)
                    .expect("hello ack decodes");
                return Outcome::Ok(Owned {
                    version: Some(ack.version),
                    ..Owned::default()
                });
            }
            // A refusal, or (Hello after the handshake) a bare error.
            Some(_) => assert!(body.is_empty() || HelloRefusal::decode(body).is_ok()),
        }
        return code.map_or(Outcome::Ok(Owned::default()), Outcome::Err);
    }
    let Ok(op) = Opcode::from_u16(h.opcode) else {
        let code = code.expect("an unknown opcode never succeeds");
        decode_error_detail(body).expect("error detail decodes");
        return Outcome::Err(code);
    };
    match decode_reply(op, &h, body).expect("reply body decodes as the opcode's response") {
        Reply::Err { .. } => Outcome::Err(code.expect("error reply has a status")),
        Reply::Ok(resp) => Outcome::Ok(owned(&resp)),
    }
}

fn owned(resp: &warden_wire::Response<'_>) -> Owned {
    use warden_wire::Response as R;
    let inline = |p: &warden_wire::Payload<'_>| p.as_inline().map(<[u8]>::to_vec);
    match resp {
        R::KeyCreated { key_id } => Owned {
            key_id: Some(*key_id),
            ..Owned::default()
        },
        R::Encapsulated { ciphertext, key_id } => Owned {
            key_id: Some(*key_id),
            data: Some(ciphertext.to_vec()),
            ..Owned::default()
        },
        R::ContextCreated { context_id, .. } => Owned {
            context_id: Some(*context_id),
            ..Owned::default()
        },
        R::KeyBytes { data } | R::Ping { data } => Owned {
            data: Some(data.to_vec()),
            ..Owned::default()
        },
        R::Output { output, tag, .. } => Owned {
            data: inline(output),
            tag: (!tag.is_empty()).then(|| tag.to_vec()),
            ..Owned::default()
        },
        R::PermitDecision { receipt, .. } => Owned {
            data: Some(receipt.to_vec()),
            ..Owned::default()
        },
        R::AttestPublicKey { public_key, .. } => Owned {
            data: Some(public_key.to_vec()),
            ..Owned::default()
        },
        _ => Owned::default(),
    }
}

/// Asserts that an open connection still serves requests: a Ping (in the agreed version;
/// after a handshake first if there was none) echoes its payload.
pub fn assert_usable(lb: &mut Loopback, builder: &mut Builder, agreed: Option<Version>) {
    if lb.is_closed() {
        return;
    }
    let version = match agreed {
        Some(v) => v,
        None => {
            handshake(lb);
            PROTOCOL_VERSION
        }
    };
    let data = b"still alive";
    let body = encode_request(builder, &Request::Ping { data }).to_vec();
    let mut f = frame(u64::MAX, Opcode::Ping.as_u16(), 0, &body);
    f[4] = version.major;
    f[5] = version.minor;
    let echoed = lb.request(&f, |h, b| match check_reply(&f, h, b) {
        Outcome::Ok(o) => o.data,
        Outcome::Err(code) => panic!("ping after the input failed: {code:?}"),
    });
    assert_eq!(echoed, Some(Some(data.to_vec())), "ping after the input");
}
