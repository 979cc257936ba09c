//! Contexts whose work happens in the token. Data is buffered in the caller's budget
//! ([`Buffered`]) and handed to the token in one call at `finalize`: a multi-part PKCS#11
//! operation would pin a session for the whole stream, and a client could hold every
//! session of the token by leaving streams open. ECDSA messages are hashed here (the token
//! signs the digest with CKM_ECDSA), as every PKCS#11 application does.

use std::sync::Arc;

use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::object::ObjectClass;
use cryptoki::types::Ulong;
use warden_core::{Algorithm, Error, ErrorCode, Result};
use warden_crypto::context::{Buffered, Engine, too_small};
use warden_crypto::{BufferSource, ContextKind, Key};
use warden_provider_awslc::primitives;

use crate::key::ID_LEN;
use crate::token::Token;

const GCM_NONCE_LEN: usize = 12;
const GCM_TAG_LEN: usize = 16;

/// What a token context does at `finalize`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// MAC: produce (empty `finalize` input) or check a tag.
    Mac,
    /// Sign the buffered message.
    Sign,
    /// Verify `finalize`'s input as a signature of the buffered message.
    Verify,
    /// AES-GCM seal.
    Seal,
    /// AES-GCM open.
    Open,
}

pub(crate) struct TokenEngine {
    /// Held so the key's token objects live as long as the context (see `TokenKey`'s drop).
    _key: Arc<Key>,
    token: Arc<Token>,
    id: [u8; ID_LEN],
    alg: Algorithm,
    op: Op,
    caller_nonce: bool,
    nonce: [u8; GCM_NONCE_LEN],
    tag: Option<[u8; GCM_TAG_LEN]>,
    /// AAD (first `aad_len` bytes) then data.
    buf: Buffered,
    aad_len: usize,
}

impl TokenEngine {
    pub(crate) fn new(
        key: Arc<Key>,
        token: Arc<Token>,
        id: [u8; ID_LEN],
        alg: Algorithm,
        op: Op,
        caller_nonce: bool,
        buffers: BufferSource,
    ) -> Self {
        TokenEngine {
            _key: key,
            token,
            id,
            alg,
            op,
            caller_nonce,
            nonce: [0; GCM_NONCE_LEN],
            tag: None,
            buf: Buffered::new(buffers),
            aad_len: 0,
        }
    }

    fn data(&self) -> &[u8] {
        self.buf.as_slice().get(self.aad_len..).unwrap_or(&[])
    }

    fn out_len(&self) -> usize {
        match (self.op, self.alg) {
            (Op::Mac, a) => a.digest_len().unwrap_or(64),
            (Op::Sign, Algorithm::EcdsaP384Sha384) => 96,
            (Op::Sign, _) => 64,
            (Op::Verify, _) => 0,
            (Op::Seal | Op::Open, _) => self.data().len(),
        }
    }

    fn mac_mechanism(&self) -> Result<Mechanism<'static>> {
        Ok(match self.alg {
            Algorithm::HmacSha256 => Mechanism::Sha256Hmac,
            Algorithm::HmacSha384 => Mechanism::Sha384Hmac,
            Algorithm::HmacSha512 => Mechanism::Sha512Hmac,
            _ => return Err(Error::from(ErrorCode::UnsupportedAlgorithm)),
        })
    }

    /// The bytes the token signs: a digest for ECDSA, the message for EdDSA.
    fn to_be_signed(&self) -> Vec<u8> {
        match self.alg {
            Algorithm::EcdsaP256Sha256 => primitives::sha256(self.data()).to_vec(),
            Algorithm::EcdsaP384Sha384 => primitives::sha384(self.data()).to_vec(),
            _ => self.data().to_vec(),
        }
    }

    fn sig_mechanism(&self) -> Mechanism<'static> {
        match self.alg {
            Algorithm::Ed25519 => Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
            _ => Mechanism::Ecdsa,
        }
    }

    fn run(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize> {
        let id = self.id;
        match self.op {
            Op::Mac => {
                let mech = self.mac_mechanism()?;
                let data = self.data();
                if input.is_empty() {
                    let tag = self.token.with(|s| {
                        let k = self.token.find(s, ObjectClass::SECRET_KEY, &id)?;
                        Ok(s.sign(&mech, k, data)?)
                    })?;
                    copy(&tag, out)
                } else {
                    self.token.with(|s| {
                        let k = self.token.find(s, ObjectClass::SECRET_KEY, &id)?;
                        Ok(s.verify(&mech, k, data, input)?)
                    })?;
                    Ok(0)
                }
            }
            Op::Sign => {
                let tbs = self.to_be_signed();
                let mech = self.sig_mechanism();
                let sig = self.token.with(|s| {
                    let k = self.token.find(s, ObjectClass::PRIVATE_KEY, &id)?;
                    Ok(s.sign(&mech, k, &tbs)?)
                })?;
                copy(&sig, out)
            }
            Op::Verify => {
                let tbs = self.to_be_signed();
                let mech = self.sig_mechanism();
                self.token.with(|s| {
                    let k = self.token.find(s, ObjectClass::PUBLIC_KEY, &id)?;
                    Ok(s.verify(&mech, k, &tbs, input)?)
                })?;
                Ok(0)
            }
            Op::Seal | Op::Open => self.gcm(out),
        }
    }

    fn gcm(&mut self, out: &mut [u8]) -> Result<usize> {
        let id = self.id;
        let (aad, data) = self
            .buf
            .as_slice()
            .split_at_checked(self.aad_len)
            .ok_or(Error::from(ErrorCode::InternalError))?;
        let n = data.len();
        let dst = out.get_mut(..n).ok_or_else(too_small)?;
        let mut nonce = self.nonce;
        if self.op == Op::Seal {
            let sealed = self.token.with(|s| {
                let k = self.token.find(s, ObjectClass::SECRET_KEY, &id)?;
                let params = GcmParams::new(&mut nonce, aad, Ulong::from(128u64))?;
                Ok(s.encrypt(&Mechanism::AesGcm(params), k, data)?)
            })?;
            let (ct, tag) = sealed
                .split_at_checked(n)
                .ok_or(Error::from(ErrorCode::OperationFailed))?;
            dst.copy_from_slice(ct);
            self.tag = Some(
                tag.try_into()
                    .map_err(|_| Error::from(ErrorCode::OperationFailed))?,
            );
        } else {
            let tag = self.tag.ok_or(Error::new(
                ErrorCode::StreamIncomplete,
                "set_tag before finalize",
            ))?;
            let mut whole = zeroize::Zeroizing::new(Vec::with_capacity(n + GCM_TAG_LEN));
            whole.extend_from_slice(data);
            whole.extend_from_slice(&tag);
            let plain = zeroize::Zeroizing::new(self.token.with(|s| {
                let k = self.token.find(s, ObjectClass::SECRET_KEY, &id)?;
                let params = GcmParams::new(&mut nonce, aad, Ulong::from(128u64))?;
                Ok(s.decrypt(&Mechanism::AesGcm(params), k, &whole)?)
            })?);
            dst.copy_from_slice(
                plain
                    .get(..n)
                    .ok_or(Error::from(ErrorCode::OperationFailed))?,
            );
        }
        Ok(n)
    }
}

fn copy(src: &[u8], out: &mut [u8]) -> Result<usize> {
    out.get_mut(..src.len())
        .ok_or_else(too_small)?
        .copy_from_slice(src);
    Ok(src.len())
}

impl Engine for TokenEngine {
    fn kind(&self) -> ContextKind {
        match self.op {
            Op::Mac => ContextKind::Mac,
            Op::Sign => ContextKind::Sign,
            Op::Verify => ContextKind::Verify,
            Op::Seal | Op::Open => ContextKind::Aead,
        }
    }

    fn algorithm(&self) -> Option<Algorithm> {
        Some(self.alg)
    }

    fn start(&mut self, iv: &[u8]) -> Result<()> {
        match self.op {
            Op::Seal if iv.is_empty() => self.token.random(&mut self.nonce),
            // A caller-chosen encryption nonce needs the key's CALLER_NONCE bit (a repeated
            // GCM nonce gives away the keystream and the authentication key).
            Op::Seal if !self.caller_nonce => Err(Error::new(
                ErrorCode::KeyOperationNotPermitted,
                "a caller-chosen encryption nonce needs the caller-nonce permission",
            )),
            Op::Seal | Op::Open => {
                self.nonce = iv
                    .try_into()
                    .map_err(|_| Error::invalid_argument("nonce must be 12 bytes"))?;
                Ok(())
            }
            _ if iv.is_empty() => Ok(()),
            _ => Err(Error::invalid_argument("this context takes no IV")),
        }
    }

    fn iv(&self) -> &[u8] {
        if self.op == Op::Seal {
            &self.nonce
        } else {
            &[]
        }
    }

    fn aad(&mut self, aad: &[u8]) -> Result<()> {
        if !matches!(self.op, Op::Seal | Op::Open) {
            return Err(warden_crypto::context::unsupported());
        }
        self.buf.extend(aad)?;
        self.aad_len += aad.len();
        Ok(())
    }

    fn update(&mut self, input: &[u8], _out: &mut [u8]) -> Result<usize> {
        self.buf.extend(input)?;
        Ok(0)
    }

    fn finish(&mut self, input: &[u8], out: &mut [u8]) -> Result<usize> {
        let last_is_data = !matches!(self.op, Op::Mac | Op::Verify);
        if last_is_data {
            self.buf.extend(input)?;
        }
        let need = self.out_len();
        if (self.op != Op::Mac || input.is_empty()) && out.len() < need {
            return Err(too_small());
        }
        let r = self.run(if last_is_data { &[] } else { input }, out);
        self.buf.release();
        self.aad_len = 0;
        r
    }

    fn set_tag(&mut self, tag: &[u8]) -> Result<()> {
        if self.op != Op::Open {
            return Err(Error::new(
                ErrorCode::InvalidOperation,
                "set_tag is for decryption",
            ));
        }
        self.tag = Some(
            tag.try_into()
                .map_err(|_| Error::invalid_argument("tag must be 16 bytes"))?,
        );
        Ok(())
    }

    fn get_tag(&self, out: &mut [u8]) -> Result<usize> {
        if self.op != Op::Seal {
            return Err(Error::new(
                ErrorCode::InvalidOperation,
                "get_tag is for encryption",
            ));
        }
        let tag = self
            .tag
            .ok_or(Error::new(ErrorCode::InvalidOperation, "no tag yet"))?;
        copy(&tag, out)
    }

    fn clear(&mut self) {
        self.buf.release();
        self.aad_len = 0;
        self.nonce = [0; GCM_NONCE_LEN];
        self.tag = None;
    }

    fn max_output_len(&self, input_len: usize) -> usize {
        match self.op {
            Op::Seal | Op::Open => self.data().len().saturating_add(input_len),
            _ => self.out_len(),
        }
    }
}
