//! The default provider: aws-lc-rs for everything it has, RustCrypto `slh-dsa` for SLH-DSA and
//! `x-wing` for X-Wing.

use std::sync::Arc;

use aws_lc_rs::agreement;
use aws_lc_rs::kem;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use warden_core::{
    AgreeKeyParams, Algorithm, AlgorithmClass, ContextConfig, DeriveKeyParams, EncapsulateParams,
    Error, ErrorCode, GenerateKeyParams, ImportKeyParams, KeyOperationPermission as P, Result,
    UnwrapKeyParams, WrapKeyParams,
};
use zeroize::Zeroizing;

use warden_crypto::{
    BufferSource, Capability, ContextKind, CryptoContext, DEFAULT_BUFFER_LIMIT, Key,
    Operations as O, Provider, ProviderInfo, ProviderType, StoredKey,
};

use crate::context;
use crate::keygen::{self, agreement_alg, mlkem_alg};
use crate::material::{AwsLcKey as _, Material, key};
use crate::wrap;

/// The software provider on aws-lc-rs.
pub struct AwsLcProvider {
    info: ProviderInfo,
    capabilities: Vec<Capability>,
    buffer_limit: usize,
    /// The pool `create_context` buffers into, mapped on first use.
    own_buffers: std::sync::OnceLock<BufferSource>,
}

/// Contexts of one in-process provider that may buffer data at the same time.
const IN_PROCESS_BUFFERS: usize = 64;

impl Default for AwsLcProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl AwsLcProvider {
    /// The provider with the default context buffer limit ([`DEFAULT_BUFFER_LIMIT`]).
    pub fn new() -> Self {
        Self::with_buffer_limit(DEFAULT_BUFFER_LIMIT)
    }

    /// The provider with `limit` bytes of buffer per AEAD / buffered-signature context in
    /// its own pool (used by [`Provider::create_context`]): up to 64 such contexts buffer at
    /// once, the next gets `QuotaExceeded` until one ends.
    pub fn with_buffer_limit(limit: usize) -> Self {
        AwsLcProvider {
            info: SOFTWARE_INFO,
            capabilities: capability_table(),
            buffer_limit: limit,
            own_buffers: std::sync::OnceLock::new(),
        }
    }

    fn own_buffers(&self) -> Result<&BufferSource> {
        if let Some(b) = self.own_buffers.get() {
            return Ok(b);
        }
        let b = BufferSource::private(IN_PROCESS_BUFFERS, self.buffer_limit.max(1))?;
        Ok(self.own_buffers.get_or_init(|| b))
    }
}

/// Checked at compile time: an invalid name would fail the build, not the daemon.
const SOFTWARE_INFO: ProviderInfo =
    match ProviderInfo::new("aws-lc-rs", ProviderType::Software, "aws-lc-rs 1.19") {
        Ok(info) => info,
        Err(_) => panic!("provider name is valid"),
    };

fn capability_table() -> Vec<Capability> {
    Algorithm::ALL
        .iter()
        .map(|&algorithm| {
            // Only key algorithms create keys (HashML-DSA signs with ML-DSA keys).
            let key_ops = if algorithm.is_key_algorithm() {
                O::GENERATE.union(O::IMPORT)
            } else {
                O::default()
            };
            let operations = match algorithm.class() {
                AlgorithmClass::Hash => O::HASH,
                AlgorithmClass::Mac => O::MAC,
                AlgorithmClass::Aead | AlgorithmClass::Cipher => O::ENCRYPT.union(O::DECRYPT),
                AlgorithmClass::KeyWrap => O::WRAP.union(O::UNWRAP),
                AlgorithmClass::Kdf => O::DERIVE,
                AlgorithmClass::Signature => key_ops.union(O::SIGN).union(O::VERIFY),
                AlgorithmClass::AsymmetricEncryption => key_ops.union(O::ENCRYPT).union(O::DECRYPT),
                AlgorithmClass::KeyAgreement => key_ops.union(O::AGREE),
                AlgorithmClass::Kem => key_ops.union(O::ENCAPSULATE).union(O::DECAPSULATE),
                AlgorithmClass::KeyType => key_ops,
                _ => O::default(),
            };
            Capability {
                algorithm,
                operations,
            }
        })
        .collect()
}

fn secret_key(
    alg: Algorithm,
    secret: Zeroizing<Vec<u8>>,
    perms: P,
    exportable: bool,
) -> Result<Key> {
    if alg.class() != AlgorithmClass::KeyType {
        return Err(Error::invalid_argument(
            "output algorithm must be a symmetric key type",
        ));
    }
    let material = keygen::private_from_canonical(alg, &secret)?;
    Ok(key(alg, perms, exportable, material))
}

/// See [`Provider::restore_key`]; needs no provider instance.
pub(crate) fn restore(stored: &StoredKey<'_>) -> Result<Key> {
    if stored.provider != crate::NAME {
        return Err(Error::invalid_argument("key record of another provider"));
    }
    let material = if stored.public_only {
        keygen::public_from_raw(stored.algorithm, stored.material)?
    } else {
        keygen::private_from_canonical(stored.algorithm, stored.material)?
    };
    Ok(key(
        stored.algorithm,
        stored.permissions,
        stored.exportable,
        material,
    ))
}

fn agree_failed<E>(_: E) -> Error {
    Error::new(ErrorCode::KeyAgreementFailed, "key agreement failed")
}

fn kem_failed<E>(_: E) -> Error {
    Error::new(ErrorCode::OperationFailed, "KEM operation failed")
}

fn wrap_failed<E>(_: E) -> Error {
    Error::new(ErrorCode::WrapUnwrapFailed, "key wrap failed")
}

/// The KEK's secret for wrap algorithm `alg`, after the type and permission checks.
fn wrap_kek(kek: &Key, alg: Algorithm, needed: P) -> Result<&[u8]> {
    if alg.class() != AlgorithmClass::KeyWrap {
        return Err(Error::new(
            ErrorCode::UnsupportedAlgorithm,
            "not a key wrap algorithm",
        ));
    }
    kek.check(alg, needed)?;
    kek.secret_bytes()
}

impl Provider for AwsLcProvider {
    fn info(&self) -> &ProviderInfo {
        &self.info
    }

    fn capabilities(&self) -> &[Capability] {
        &self.capabilities
    }

    fn generate_key(&self, p: &GenerateKeyParams) -> Result<Key> {
        let material = keygen::generate(p.algorithm(), p.rsa_bits(), p.key_len())?;
        Ok(key(
            p.algorithm(),
            p.permissions(),
            p.exportable(),
            material,
        ))
    }

    fn import_key(&self, p: &ImportKeyParams, material: &[u8]) -> Result<Key> {
        let m = keygen::import(p.algorithm(), p.format(), material)?;
        Ok(key(p.algorithm(), p.permissions(), p.exportable(), m))
    }

    fn restore_key(&self, stored: &StoredKey<'_>) -> Result<Key> {
        restore(stored)
    }

    fn derive_key(&self, base: &Key, p: &DeriveKeyParams) -> Result<Key> {
        self.derive_key_within(base, p, &|| false)
    }

    fn derive_key_within(
        &self,
        base: &Key,
        p: &DeriveKeyParams,
        expired: &dyn Fn() -> bool,
    ) -> Result<Key> {
        base.check(p.kdf_algorithm(), P::DERIVE)?;
        let len =
            usize::try_from(p.output_len()).map_err(|_| Error::invalid_argument("output_len"))?;
        let mut out = Zeroizing::new(vec![0u8; len]);
        crate::kdf::derive_within(p.kdf(), base.secret_bytes()?, &mut out, expired)?;
        secret_key(p.output_algorithm(), out, p.permissions(), p.exportable())
    }

    fn agree_key(&self, private: &Key, p: &AgreeKeyParams) -> Result<Key> {
        private.check(p.algorithm(), P::AGREE)?;
        let alg = agreement_alg(p.algorithm()).ok_or(Error::new(
            ErrorCode::UnsupportedAlgorithm,
            "not a key agreement algorithm",
        ))?;
        let Material::Agreement(sk) = private.material()? else {
            return Err(Error::new(
                ErrorCode::IncompatibleKeyType,
                "agreement needs a private key",
            ));
        };
        let peer = agreement::UnparsedPublicKey::new(alg, p.peer_public());
        let secret = agreement::agree(
            sk,
            peer,
            Error::new(ErrorCode::KeyAgreementFailed, "key agreement failed"),
            |s| Ok(Zeroizing::new(s.to_vec())),
        )
        .map_err(agree_failed)?;
        secret_key(
            p.output_algorithm(),
            secret,
            p.permissions(),
            p.exportable(),
        )
    }

    fn wrap_key(&self, kek: &Key, target: &Key, p: &WrapKeyParams) -> Result<Vec<u8>> {
        let alg = p.algorithm();
        let kek = wrap_kek(kek, alg, P::WRAP)?;
        let secret = target.export_secret()?;
        wrap::wrap(alg, kek, &secret)
    }

    fn unwrap_key(&self, kek: &Key, wrapped: &[u8], p: &UnwrapKeyParams) -> Result<Key> {
        let alg = p.algorithm();
        let kek = wrap_kek(kek, alg, P::UNWRAP)?;
        let plain = wrap::unwrap(alg, kek, wrapped)?;
        let material =
            keygen::private_from_canonical(p.unwrapped_algorithm(), &plain).map_err(wrap_failed)?;
        Ok(key(
            p.unwrapped_algorithm(),
            p.permissions(),
            p.exportable(),
            material,
        ))
    }

    fn encapsulate(&self, public: &Key, p: &EncapsulateParams) -> Result<(Vec<u8>, Key)> {
        public.check(p.algorithm(), P::ENCRYPT)?;
        let raw = public.public_key(warden_core::KeyFormat::Raw)?;
        let (ct, ss) = if let Some(alg) = mlkem_alg(p.algorithm()) {
            let ek = kem::EncapsulationKey::new(alg, &raw).map_err(kem_failed)?;
            let (ct, ss) = ek.encapsulate().map_err(kem_failed)?;
            (ct.as_ref().to_vec(), Zeroizing::new(ss.as_ref().to_vec()))
        } else if p.algorithm() == Algorithm::XWing {
            let ek = x_wing::EncapsulationKey::try_from(raw.as_slice()).map_err(kem_failed)?;
            let mut rand = Zeroizing::new([0u8; x_wing::ENCAPSULATION_RANDOMNESS_SIZE]);
            SystemRandom::new()
                .fill(rand.as_mut())
                .map_err(kem_failed)?;
            // The crate's array types do not wipe themselves: copy into zeroizing buffers
            // and wipe the originals (randomness and shared secret) by hand.
            let mut seed = (*rand).into();
            let (ct, mut ss) = ek.encapsulate_deterministic(&seed);
            let out = Zeroizing::new(ss.to_vec());
            wipe(&mut seed);
            wipe(&mut ss);
            (ct.to_vec(), out)
        } else {
            return Err(Error::new(ErrorCode::UnsupportedAlgorithm, "not a KEM"));
        };
        let key = secret_key(p.output_algorithm(), ss, p.permissions(), p.exportable())?;
        Ok((ct, key))
    }

    fn decapsulate(&self, private: &Key, ct: &[u8], p: &EncapsulateParams) -> Result<Key> {
        private.check(p.algorithm(), P::DECRYPT)?;
        let expected = p.algorithm().kem_lengths().map(|l| l.ciphertext_len);
        if expected != Some(ct.len()) {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                "ciphertext has the wrong length",
            ));
        }
        let ss = match private.material()? {
            Material::MlKem { dk, .. } => {
                let ss = dk
                    .decapsulate(kem::Ciphertext::from(ct))
                    .map_err(kem_failed)?;
                Zeroizing::new(ss.as_ref().to_vec())
            }
            Material::XWing(dk) => {
                use x_wing::Decapsulate;
                let ct = x_wing::Ciphertext::try_from(ct).map_err(kem_failed)?;
                let mut ss = dk.decapsulate(&ct);
                let out = Zeroizing::new(ss.to_vec());
                wipe(&mut ss);
                out
            }
            _ => {
                return Err(Error::new(
                    ErrorCode::IncompatibleKeyType,
                    "decapsulation needs the private key",
                ));
            }
        };
        secret_key(p.output_algorithm(), ss, p.permissions(), p.exportable())
    }

    fn create_context(
        &self,
        kind: ContextKind,
        config: &ContextConfig,
        key: Option<Arc<Key>>,
    ) -> Result<Box<dyn CryptoContext>> {
        self.create_context_in(kind, config, key, self.own_buffers()?)
    }

    fn create_context_in(
        &self,
        kind: ContextKind,
        config: &ContextConfig,
        key: Option<Arc<Key>>,
        buffers: &BufferSource,
    ) -> Result<Box<dyn CryptoContext>> {
        if kind == ContextKind::Random {
            return Err(Error::invalid_argument("use create_random_context"));
        }
        // Class, key type and permission are checked there; every streaming algorithm of
        // the capability table has an engine.
        context::create(kind, config, key, buffers)
    }

    fn create_random_context(&self) -> Result<Box<dyn CryptoContext>> {
        Ok(context::create_random())
    }

    fn random(&self, out: &mut [u8]) -> Result<()> {
        SystemRandom::new()
            .fill(out)
            .map_err(|_| Error::new(ErrorCode::OperationFailed, "random generator failed"))
    }
}

/// Wipes a byte array type that derefs to `[u8]` but has no zeroize-on-drop of its own.
fn wipe<A: core::ops::DerefMut<Target = [u8]>>(a: &mut A) {
    use zeroize::Zeroize as _;
    let bytes: &mut [u8] = a;
    bytes.zeroize();
}
