//! Small helpers for reading and writing COSE_Sign1 and CBOR values.

use ciborium::value::{Integer, Value};
use coset::{CborSerializable, CoseSign1, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable};

use crate::alg::{SigAlg, Signer};
use crate::error::AttestError;

/// Builds a tagged COSE_Sign1 over `payload`, signed by `signer`, with the algorithm in the
/// protected header and `content_type` naming what the payload is.
pub(crate) fn sign1(
    signer: &dyn Signer,
    content_type: &str,
    payload: Vec<u8>,
) -> Result<Vec<u8>, AttestError> {
    let protected = HeaderBuilder::new()
        .algorithm(signer.alg().cose())
        .content_type(content_type.to_owned())
        .build();
    let sign1 = CoseSign1Builder::new()
        .protected(protected)
        .payload(payload)
        .try_create_signature(&[], |tbs| signer.sign(tbs))?
        .build();
    sign1.to_tagged_vec().map_err(|_| AttestError::Encoding)
}

/// Parses a COSE_Sign1, tagged or untagged. `None` when it is not one.
pub(crate) fn parse_sign1(bytes: &[u8]) -> Option<CoseSign1> {
    CoseSign1::from_tagged_slice(bytes)
        .or_else(|_| CoseSign1::from_slice(bytes))
        .ok()
}

/// The signature algorithm named in a COSE_Sign1's protected header, if supported.
pub(crate) fn sign1_alg(sign1: &CoseSign1) -> Option<SigAlg> {
    match sign1.protected.header.alg.as_ref()? {
        coset::RegisteredLabelWithPrivate::Assigned(a) => SigAlg::from_cose(*a),
        _ => None,
    }
}

/// The content type named in a COSE_Sign1's protected header, if it is a text type.
pub(crate) fn sign1_content_type(sign1: &CoseSign1) -> Option<&str> {
    match sign1.protected.header.content_type.as_ref()? {
        coset::ContentType::Text(t) => Some(t.as_str()),
        coset::ContentType::Assigned(_) => None,
    }
}

/// Serialises a CBOR value.
pub(crate) fn to_vec(value: &Value) -> Result<Vec<u8>, AttestError> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out).map_err(|_| AttestError::Encoding)?;
    Ok(out)
}

/// Parses exactly one CBOR value from `bytes` (trailing bytes are an error).
pub(crate) fn from_slice(bytes: &[u8]) -> Option<Value> {
    let mut rest = bytes;
    let value: Value = ciborium::de::from_reader(&mut rest).ok()?;
    rest.is_empty().then_some(value)
}

/// Looks up an integer key in a CBOR map.
pub(crate) fn map_get(map: &[(Value, Value)], key: i64) -> Option<&Value> {
    map.iter()
        .find(|(k, _)| matches!(k, Value::Integer(i) if i128::from(*i) == i128::from(key)))
        .map(|(_, v)| v)
}

/// An integer value as `i64`.
pub(crate) fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Integer(i) => i64::try_from(*i).ok(),
        _ => None,
    }
}

/// An integer value as `u64`.
pub(crate) fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Integer(i) => u64::try_from(*i).ok(),
        _ => None,
    }
}

/// A byte-string value of exactly 32 bytes.
pub(crate) fn as_hash(v: &Value) -> Option<[u8; 32]> {
    match v {
        Value::Bytes(b) => <[u8; 32]>::try_from(b.as_slice()).ok(),
        _ => None,
    }
}

/// A CBOR integer from an `i64`.
pub(crate) fn int(v: i64) -> Value {
    Value::Integer(Integer::from(v))
}

/// A CBOR integer from a `u64`.
pub(crate) fn uint(v: u64) -> Value {
    Value::Integer(Integer::from(v))
}
