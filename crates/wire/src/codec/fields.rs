//! Readers and writers shared by every message: scalars, strings, payloads, small enums,
//! KDFs.

use planus::ReadAsRoot;
use planus::errors::ErrorKind;
use warden_core::KeyFormat;

use crate::error::WireError;
use crate::generated::warden::wire as g;
use crate::messages::{
    CipherDirection, ContextKind, Kdf, Payload, ShmSlice, SignatureFormat, Timeout,
};

use super::Builder;

pub(super) fn malformed(e: planus::Error) -> WireError {
    WireError::MalformedBody(match e.error_kind {
        ErrorKind::InvalidOffset => "invalid offset",
        ErrorKind::InvalidLength => "invalid length",
        ErrorKind::UnknownEnumTag { .. } => "unknown enum value",
        ErrorKind::UnknownUnionTag { .. } => "unknown union variant",
        ErrorKind::InvalidVtableLength { .. } => "invalid vtable length",
        ErrorKind::InvalidUtf8 { .. } => "invalid utf-8 string",
        ErrorKind::MissingNullTerminator => "string without terminator",
        _ => "invalid flatbuffer",
    })
}

pub(super) fn val<T>(r: planus::Result<T>) -> Result<T, WireError> {
    r.map_err(malformed)
}

pub(super) fn bytes(r: planus::Result<Option<&[u8]>>) -> Result<&[u8], WireError> {
    Ok(val(r)?.unwrap_or(&[]))
}

pub(super) fn string<'a>(
    r: planus::Result<Option<&'a str>>,
    field: &'static str,
) -> Result<&'a str, WireError> {
    val(r)?.ok_or(WireError::MissingField(field))
}

/// An optional string field: absent when empty.
pub(super) fn opt_str(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

pub(super) fn root<'a, T: ReadAsRoot<'a>>(body: &'a [u8]) -> Result<T, WireError> {
    T::read_as_root(body).map_err(malformed)
}

/// `None` for an empty slice: an absent vector costs no bytes and decodes as empty.
pub(super) fn opt(b: &[u8]) -> Option<&[u8]> {
    if b.is_empty() { None } else { Some(b) }
}

// ---------------------------------------------------------------- payloads and small enums

pub(super) fn write_payload(b: &mut Builder, p: &Payload<'_>) -> planus::UnionOffset<g::Payload> {
    match p {
        Payload::Inline(data) => {
            let o = g::Inline::create(b, opt(data));
            g::Payload::create_inline(b, o)
        }
        Payload::Shm(s) => {
            // The old 32-bit `region` field is written as 0 (deprecated before release).
            let o = g::Shm::create(b, 0u32, s.offset, s.len, s.region);
            g::Payload::create_shm(b, o)
        }
    }
}

pub(super) fn read_payload<'a>(
    r: planus::Result<Option<g::PayloadRef<'a>>>,
) -> Result<Payload<'a>, WireError> {
    Ok(match val(r)? {
        None => Payload::Inline(&[]),
        Some(g::PayloadRef::Inline(i)) => Payload::Inline(bytes(i.data())?),
        Some(g::PayloadRef::Shm(s)) => Payload::Shm(read_shm(s)?),
    })
}

/// A byte field that may instead name a region range (appended as a separate `Shm` field):
/// the vector for inline bytes (absent when empty), the reference otherwise.
pub(super) fn write_bytes_or_shm<'p>(
    b: &mut Builder,
    p: &Payload<'p>,
) -> (Option<&'p [u8]>, Option<planus::Offset<g::Shm>>) {
    match p {
        Payload::Inline(data) => (opt(data), None),
        Payload::Shm(s) => (None, Some(write_shm(b, s))),
    }
}

/// Reads a byte field and its appended region alternative; both at once is malformed (the
/// daemon must not have to guess which one the client meant).
pub(super) fn read_bytes_or_shm<'a>(
    data: planus::Result<Option<&'a [u8]>>,
    shm: planus::Result<Option<g::ShmRef<'a>>>,
) -> Result<Payload<'a>, WireError> {
    let data = bytes(data)?;
    match val(shm)? {
        None => Ok(Payload::Inline(data)),
        Some(_) if !data.is_empty() => Err(WireError::MalformedBody(
            "inline bytes and a region reference at once",
        )),
        Some(s) => Ok(Payload::Shm(read_shm(s)?)),
    }
}

pub(super) fn write_shm(b: &mut Builder, s: &ShmSlice) -> planus::Offset<g::Shm> {
    g::Shm::create(b, 0u32, s.offset, s.len, s.region)
}

pub(super) fn read_shm(s: g::ShmRef<'_>) -> Result<ShmSlice, WireError> {
    Ok(ShmSlice {
        region: val(s.region_id())?,
        offset: val(s.offset())?,
        len: val(s.len())?,
    })
}

pub(super) fn write_format(f: Option<KeyFormat>) -> g::KeyFormat {
    // The wire enum shares warden_core's stable values; 0 is Unspecified.
    let v = f.map_or(0, KeyFormat::as_u8);
    g::KeyFormat::try_from(v).unwrap_or(g::KeyFormat::Unspecified)
}

pub(super) fn read_format(f: g::KeyFormat) -> Result<Option<KeyFormat>, WireError> {
    match f {
        g::KeyFormat::Unspecified => Ok(None),
        other => KeyFormat::from_u8(u8::from(other))
            .map(Some)
            .map_err(|_| WireError::MalformedBody("unknown enum value")),
    }
}

pub(super) fn write_kind(k: ContextKind) -> g::ContextKind {
    match k {
        ContextKind::Hash => g::ContextKind::Hash,
        ContextKind::Mac => g::ContextKind::Mac,
        ContextKind::Cipher => g::ContextKind::Cipher,
        ContextKind::Aead => g::ContextKind::Aead,
        ContextKind::Sign => g::ContextKind::Sign,
        ContextKind::Verify => g::ContextKind::Verify,
    }
}

pub(super) fn read_kind(k: g::ContextKind) -> Result<ContextKind, WireError> {
    Ok(match k {
        g::ContextKind::Unspecified => return Err(WireError::MissingField("context kind")),
        g::ContextKind::Hash => ContextKind::Hash,
        g::ContextKind::Mac => ContextKind::Mac,
        g::ContextKind::Cipher => ContextKind::Cipher,
        g::ContextKind::Aead => ContextKind::Aead,
        g::ContextKind::Sign => ContextKind::Sign,
        g::ContextKind::Verify => ContextKind::Verify,
    })
}

pub(super) fn write_direction(d: Option<CipherDirection>) -> g::CipherDirection {
    match d {
        None => g::CipherDirection::Unspecified,
        Some(CipherDirection::Encrypt) => g::CipherDirection::Encrypt,
        Some(CipherDirection::Decrypt) => g::CipherDirection::Decrypt,
        // A direction this protocol version cannot carry: the daemon then sees none and
        // refuses a cipher context without one.
        Some(_) => g::CipherDirection::Unspecified,
    }
}

pub(super) fn write_signature_format(f: SignatureFormat) -> g::SignatureFormat {
    match f {
        SignatureFormat::Der => g::SignatureFormat::Der,
        // Raw is the default and travels as an absent field; a format this protocol version
        // cannot carry would also read as Raw, and `applied_options` exposes that.
        _ => g::SignatureFormat::Default,
    }
}

pub(super) fn read_signature_format(f: g::SignatureFormat) -> SignatureFormat {
    match f {
        g::SignatureFormat::Default | g::SignatureFormat::Raw => SignatureFormat::Raw,
        g::SignatureFormat::Der => SignatureFormat::Der,
    }
}

pub(super) fn read_direction(d: g::CipherDirection) -> Option<CipherDirection> {
    match d {
        g::CipherDirection::Unspecified => None,
        g::CipherDirection::Encrypt => Some(CipherDirection::Encrypt),
        g::CipherDirection::Decrypt => Some(CipherDirection::Decrypt),
    }
}

pub(super) fn write_timeout(t: Timeout) -> (g::TimeoutMode, u32) {
    match t {
        Timeout::Default => (g::TimeoutMode::Default, 0),
        Timeout::Millis(ms) => (g::TimeoutMode::Millis, ms),
        Timeout::Disabled => (g::TimeoutMode::Disabled, 0),
        // A mode this protocol version cannot carry: the daemon's default applies.
        _ => (g::TimeoutMode::Default, 0),
    }
}

pub(super) fn read_timeout(mode: g::TimeoutMode, ms: u32) -> Timeout {
    match mode {
        g::TimeoutMode::Default => Timeout::Default,
        g::TimeoutMode::Millis => Timeout::Millis(ms),
        g::TimeoutMode::Disabled => Timeout::Disabled,
    }
}

pub(super) fn write_kdf(b: &mut Builder, kdf: &Kdf<'_>) -> planus::UnionOffset<g::Kdf> {
    match *kdf {
        Kdf::Hkdf { hash, salt, info } => {
            let o = g::HkdfParams::create(b, hash, opt(salt), opt(info));
            g::Kdf::create_hkdf_params(b, o)
        }
        Kdf::Pbkdf2 { salt, iterations } => {
            let o = g::Pbkdf2Params::create(b, opt(salt), iterations);
            g::Kdf::create_pbkdf2_params(b, o)
        }
        Kdf::Tls12Prf { label, seed } => {
            let o = g::Tls12PrfParams::create(b, opt(label), opt(seed));
            g::Kdf::create_tls12_prf_params(b, o)
        }
        Kdf::Tls13ExpandLabel { label, context } => {
            let o = g::Tls13ExpandLabelParams::create(b, opt(label), opt(context));
            g::Kdf::create_tls13_expand_label_params(b, o)
        }
        Kdf::Sp800108CounterHmac { label, context } => {
            let o = g::Sp800108CounterHmacParams::create(b, opt(label), opt(context));
            g::Kdf::create_sp800108_counter_hmac_params(b, o)
        }
    }
}

pub(super) fn read_kdf<'a>(r: planus::Result<Option<g::KdfRef<'a>>>) -> Result<Kdf<'a>, WireError> {
    Ok(match val(r)?.ok_or(WireError::MissingField("kdf"))? {
        g::KdfRef::HkdfParams(p) => Kdf::Hkdf {
            hash: string(p.hash(), "hkdf hash")?,
            salt: bytes(p.salt())?,
            info: bytes(p.info())?,
        },
        g::KdfRef::Pbkdf2Params(p) => Kdf::Pbkdf2 {
            salt: bytes(p.salt())?,
            iterations: val(p.iterations())?,
        },
        g::KdfRef::Tls12PrfParams(p) => Kdf::Tls12Prf {
            label: bytes(p.label())?,
            seed: bytes(p.seed())?,
        },
        g::KdfRef::Tls13ExpandLabelParams(p) => Kdf::Tls13ExpandLabel {
            label: bytes(p.label())?,
            context: bytes(p.context())?,
        },
        g::KdfRef::Sp800108CounterHmacParams(p) => Kdf::Sp800108CounterHmac {
            label: bytes(p.label())?,
            context: bytes(p.context())?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::Response;
    use crate::opcode::Opcode;
    use crate::{decode_request, decode_response};

    fn shm(b: &mut Builder) -> planus::Offset<g::Shm> {
        g::Shm::create(b, 0u32, 0u64, 4u64, 9u64)
    }

    #[test]
    fn inline_bytes_and_a_region_reference_at_once_are_malformed() {
        let both = WireError::MalformedBody("inline bytes and a region reference at once");
        let mut b = Builder::new();
        let s = shm(&mut b);
        let o = g::ImportKeyRequest::create(
            &mut b,
            "AES-256",
            0u32,
            false,
            g::KeyFormat::Raw,
            Some(&[1u8; 32][..]),
            None::<&str>,
            s,
        );
        let body = b.finish(o, None).to_vec();
        assert_eq!(decode_request(Opcode::ImportKey, &body), Err(both));

        let mut b = Builder::new();
        let s = shm(&mut b);
        let o = g::UnwrapKeyRequest::create(
            &mut b,
            1u64,
            Some(&[7u8; 40][..]),
            "AES-256-KW",
            "AES-256",
            0u32,
            false,
            None::<&str>,
            s,
        );
        let body = b.finish(o, None).to_vec();
        assert_eq!(decode_request(Opcode::UnwrapKey, &body), Err(both));

        let mut b = Builder::new();
        let s = shm(&mut b);
        let o = g::KeyBytesResponse::create(&mut b, Some(&[3u8; 8][..]), s);
        let body = b.finish(o, None).to_vec();
        assert_eq!(decode_response(Opcode::WrapKey, &body), Err(both));

        // Either one alone decodes.
        let mut b = Builder::new();
        let s = shm(&mut b);
        let o = g::KeyBytesResponse::create(&mut b, None::<&[u8]>, s);
        let body = b.finish(o, None).to_vec();
        let written = ShmSlice {
            region: 9,
            offset: 0,
            len: 4,
        };
        assert_eq!(
            decode_response(Opcode::ExportSecretKey, &body),
            Ok(Response::KeyWritten { written })
        );
    }
}
