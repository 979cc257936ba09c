//! [`Pkcs11Provider`]: the `Provider` whose keys are generated and used inside a token.

use std::sync::{Arc, OnceLock};

use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass};
use cryptoki::types::{AuthPin, Ulong};
use warden_core::{
    AgreeKeyParams, Algorithm, ContextConfig, DeriveKeyParams, EncapsulateParams, Error, ErrorCode,
    GenerateKeyParams, ImportKeyParams, KeyOperationPermission as P, Result, UnwrapKeyParams,
    WrapKeyParams,
};
use warden_crypto::context::{Stream, check_request};
use warden_crypto::{
    BufferSource, Capability, ContextKind, CryptoContext, DEFAULT_BUFFER_LIMIT, Key,
    Operations as O, Provider, ProviderInfo, ProviderType, StoredKey,
};

use crate::Pkcs11Config;
use crate::context::{Op, TokenEngine};
use crate::digest::DigestEngine;
use crate::key::{ID_LEN, TokenKey, ec_point_from_der};
use crate::token::{Fail, Token, attribute};

/// DER OIDs for CKA_EC_PARAMS.
const OID_P256: &[u8] = &[0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22];
const OID_ED25519: &[u8] = &[0x06, 0x03, 0x2B, 0x65, 0x70];
/// Object label of every key we create (the CKA_ID tells them apart).
const LABEL: &[u8] = b"warden";

/// A provider on one PKCS#11 token.
pub struct Pkcs11Provider {
    pub(crate) info: ProviderInfo,
    pub(crate) token: Arc<Token>,
    capabilities: Vec<Capability>,
    own_buffers: OnceLock<BufferSource>,
}

impl core::fmt::Debug for Pkcs11Provider {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pkcs11Provider")
            .field("name", &self.info.name())
            .finish_non_exhaustive()
    }
}

pub(crate) fn unsupported() -> Error {
    Error::new(
        ErrorCode::UnsupportedOperation,
        "not offered by the pkcs#11 provider",
    )
}

/// Which algorithms the token can serve, from its mechanism list (C_GetMechanismList).
fn capability_table(mechs: &[MechanismType]) -> Vec<Capability> {
    let has = |m: MechanismType| mechs.contains(&m);
    let mut caps = Vec::new();
    let mut add = |algorithm, operations| {
        caps.push(Capability {
            algorithm,
            operations,
        })
    };
    let gen_ = O::GENERATE;
    // Served by hash contexts created on this provider (digest.rs); the daemon routes keyless
    // requests to the default provider, so through wardend this is information only.
    for (m, a) in [
        (MechanismType::SHA256, Algorithm::Sha256),
        (MechanismType::SHA384, Algorithm::Sha384),
        (MechanismType::SHA512, Algorithm::Sha512),
    ] {
        if has(m) {
            add(a, O::HASH);
        }
    }
    if has(MechanismType::AES_KEY_GEN) {
        add(Algorithm::Aes128Key, gen_);
        add(Algorithm::Aes256Key, gen_);
        if has(MechanismType::AES_GCM) {
            add(Algorithm::Aes128Gcm, O::ENCRYPT.union(O::DECRYPT));
            add(Algorithm::Aes256Gcm, O::ENCRYPT.union(O::DECRYPT));
        }
        // Key wrap under a token AES key (exchange.rs): RFC 3394 and RFC 5649.
        let wrap = O::WRAP.union(O::UNWRAP);
        if has(MechanismType::AES_KEY_WRAP) {
            add(Algorithm::Aes128Kw, wrap);
            add(Algorithm::Aes256Kw, wrap);
        }
        if has(MechanismType::AES_KEY_WRAP_PAD) {
            add(Algorithm::Aes128Kwp, wrap);
            add(Algorithm::Aes256Kwp, wrap);
        }
    }
    if has(MechanismType::GENERIC_SECRET_KEY_GEN) {
        add(Algorithm::HmacKey, gen_);
        for (m, a) in [
            (MechanismType::SHA256_HMAC, Algorithm::HmacSha256),
            (MechanismType::SHA384_HMAC, Algorithm::HmacSha384),
            (MechanismType::SHA512_HMAC, Algorithm::HmacSha512),
        ] {
            if has(m) {
                add(a, O::MAC);
            }
        }
    }
    if has(MechanismType::ECC_KEY_PAIR_GEN) && has(MechanismType::ECDSA) {
        let ops = gen_.union(O::SIGN).union(O::VERIFY);
        add(Algorithm::EcdsaP256Sha256, ops);
        add(Algorithm::EcdsaP384Sha384, ops);
    }
    if has(MechanismType::ECC_KEY_PAIR_GEN) && has(MechanismType::ECDH1_DERIVE) {
        add(Algorithm::EcdhP256, gen_.union(O::AGREE));
        add(Algorithm::EcdhP384, gen_.union(O::AGREE));
    }
    if has(MechanismType::ECC_EDWARDS_KEY_PAIR_GEN) && has(MechanismType::EDDSA) {
        add(Algorithm::Ed25519, gen_.union(O::SIGN).union(O::VERIFY));
    }
    caps
}

impl Pkcs11Provider {
    /// Opens the token `config` names and logs in. Fails with `ProviderNotAvailable` when
    /// the module, the token or the login is not there.
    pub fn open(config: &Pkcs11Config) -> Result<Self> {
        // Leaked once per configured provider at startup: keys carry the name as
        // `&'static str`, and the set of providers lives as long as the daemon.
        let name: &'static str = Box::leak(config.name.clone().into_boxed_str());
        let info = ProviderInfo::new(name, ProviderType::Hardware, "pkcs#11")?;
        let pin = AuthPin::new(config.pin.as_str().into());
        let token = Token::open(&config.module, &config.token_label, pin)?;
        let capabilities = capability_table(&token.mechanisms()?);
        Ok(Pkcs11Provider {
            info,
            token: Arc::new(token),
            capabilities,
            own_buffers: OnceLock::new(),
        })
    }

    /// A handle on token objects `id`; `persisted` when a slot record already refers to them
    /// (else they are destroyed with the handle unless it gets stored).
    /// `wrappable`: the secret key was made CKA_EXTRACTABLE (sensitive still), so it may
    /// leave the token wrapped under a token KEK; warden's `exportable` flag carries that,
    /// and plain export stays refused (`TokenKey::export_material`).
    pub(crate) fn key(
        &self,
        alg: Algorithm,
        perms: P,
        wrappable: bool,
        id: [u8; ID_LEN],
        public: Option<Vec<u8>>,
        persisted: bool,
    ) -> Key {
        Key::new(
            alg,
            perms,
            wrappable,
            self.info.name(),
            Box::new(TokenKey {
                id,
                public,
                owner: Some(self.token.clone()),
                persisted: std::sync::atomic::AtomicBool::new(persisted),
            }),
        )
    }

    pub(crate) fn fresh_id(&self) -> Result<[u8; ID_LEN]> {
        let mut id = [0u8; ID_LEN];
        self.token.random(&mut id)?;
        Ok(id)
    }

    /// The secret-key template: inside the token, persistent, private, sensitive, usable
    /// only for what `perms` allows. Extractable only when `wrappable` (the caller asked for
    /// an exportable key): CKA_SENSITIVE keeps the value from ever being read in clear, so
    /// such a key leaves the token only wrapped. `len` is `None` where the mechanism sets it
    /// (unwrap, derive with a fixed output).
    pub(crate) fn secret_template(
        id: &[u8],
        kt: KeyType,
        len: Option<u64>,
        perms: P,
        wrappable: bool,
    ) -> Vec<Attribute> {
        let mut t = vec![
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(kt),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(wrappable),
            Attribute::Id(id.to_vec()),
            Attribute::Label(LABEL.to_vec()),
            Attribute::Encrypt(perms.contains(P::ENCRYPT)),
            Attribute::Decrypt(perms.contains(P::DECRYPT)),
            Attribute::Sign(perms.contains(P::MAC)),
            Attribute::Verify(perms.contains(P::MAC)),
            // Only AES keys can hold these bits (key_usage refuses them elsewhere), and only
            // AES-KW/KWP use them: a KEK cannot be read out, so what it wraps stays usable
            // only by unwrapping into a token that holds the same KEK.
            Attribute::Wrap(perms.contains(P::WRAP)),
            Attribute::Unwrap(perms.contains(P::UNWRAP)),
            // Nothing here derives from a secret key in the token.
            Attribute::Derive(false),
        ];
        if let Some(len) = len {
            t.push(Attribute::ValueLen(Ulong::from(len)));
        }
        t
    }

    fn generate_pair(&self, alg: Algorithm, perms: P) -> Result<Key> {
        let (mech, params) = match alg {
            Algorithm::EcdsaP256Sha256 | Algorithm::EcdhP256 => {
                (Mechanism::EccKeyPairGen, OID_P256)
            }
            Algorithm::EcdsaP384Sha384 | Algorithm::EcdhP384 => {
                (Mechanism::EccKeyPairGen, OID_P384)
            }
            Algorithm::Ed25519 => (Mechanism::EccEdwardsKeyPairGen, OID_ED25519),
            _ => return Err(Error::from(ErrorCode::UnsupportedAlgorithm)),
        };
        // One purpose per pair: an ECDH key cannot sign and an ECDSA key cannot derive.
        let agreement = matches!(alg, Algorithm::EcdhP256 | Algorithm::EcdhP384);
        let id = self.fresh_id()?;
        let public_t = vec![
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::EcParams(params.to_vec()),
            Attribute::Id(id.to_vec()),
            Attribute::Label(LABEL.to_vec()),
            Attribute::Verify(!agreement),
        ];
        let private_t = vec![
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Id(id.to_vec()),
            Attribute::Label(LABEL.to_vec()),
            Attribute::Sign(!agreement && perms.contains(P::SIGN)),
            Attribute::Derive(agreement && perms.contains(P::AGREE)),
        ];
        let point = self.token.with(|s| {
            let (public, _) = s.generate_key_pair(&mech, &public_t, &private_t)?;
            public_point(s, public)
        })?;
        Ok(self.key(alg, perms, false, id, Some(point), false))
    }
}

fn public_point(
    s: &cryptoki::session::Session,
    public: cryptoki::object::ObjectHandle,
) -> std::result::Result<Vec<u8>, Fail> {
    match attribute(s, public, AttributeType::EcPoint)? {
        Attribute::EcPoint(der) => Ok(ec_point_from_der(&der)?),
        _ => Err(Fail::W(Error::from(ErrorCode::InternalError))),
    }
}

impl Provider for Pkcs11Provider {
    fn info(&self) -> &ProviderInfo {
        &self.info
    }

    fn capabilities(&self) -> &[Capability] {
        &self.capabilities
    }

    fn generate_key(&self, p: &GenerateKeyParams) -> Result<Key> {
        let alg = p.algorithm();
        let wrappable = p.exportable();
        if wrappable && alg.is_asymmetric() {
            // Said out loud rather than silently dropped: only secret keys can be made
            // wrappable here (AES-KW of a private key is not offered).
            return Err(Error::new(
                ErrorCode::KeyNotExportable,
                "token key pairs are never exportable",
            ));
        }
        if !self.supports(alg, O::GENERATE) {
            return Err(Error::new(
                ErrorCode::UnsupportedAlgorithm,
                "the token cannot generate this key type",
            ));
        }
        let (mech, kt, len) = match alg {
            Algorithm::Aes128Key => (Mechanism::AesKeyGen, KeyType::AES, 16),
            Algorithm::Aes256Key => (Mechanism::AesKeyGen, KeyType::AES, 32),
            Algorithm::HmacKey => {
                let len = p.key_len().unwrap_or(32);
                if !(16..=128).contains(&len) {
                    return Err(Error::invalid_argument("HMAC key length 16..=128 bytes"));
                }
                (
                    Mechanism::GenericSecretKeyGen,
                    KeyType::GENERIC_SECRET,
                    u64::from(len),
                )
            }
            _ => return self.generate_pair(alg, p.permissions()),
        };
        let id = self.fresh_id()?;
        let template = Self::secret_template(&id, kt, Some(len), p.permissions(), wrappable);
        // AES key generation takes CKA_VALUE_LEN too; the key type is implied by the mechanism.
        self.token.with(|s| Ok(s.generate_key(&mech, &template)?))?;
        Ok(self.key(alg, p.permissions(), wrappable, id, None, false))
    }

    /// Keys are born in the token; material from outside would not be a token key.
    fn import_key(&self, _p: &ImportKeyParams, _material: &[u8]) -> Result<Key> {
        Err(unsupported())
    }

    fn discard_stored(&self, stored: &StoredKey<'_>) -> Result<()> {
        if stored.provider != self.info.name() {
            return Err(Error::invalid_argument("key record of another provider"));
        }
        let (_, id) = TokenKey::parse_material(stored.material)?;
        // Every object with the key's CKA_ID: the secret key, or both halves of a pair.
        self.token.with(|s| {
            for h in s.find_objects(&[Attribute::Id(id.to_vec())])? {
                s.destroy_object(h)?;
            }
            Ok(())
        })?;
        self.token.forget(&id);
        Ok(())
    }

    fn restore_key(&self, stored: &StoredKey<'_>) -> Result<Key> {
        if stored.provider != self.info.name() {
            return Err(Error::invalid_argument("key record of another provider"));
        }
        let (pair, id) = TokenKey::parse_material(stored.material)?;
        let public = self.token.with(|s| {
            if pair {
                let h = self.token.find(s, ObjectClass::PUBLIC_KEY, &id)?;
                self.token.find(s, ObjectClass::PRIVATE_KEY, &id)?;
                Ok(Some(public_point(s, h)?))
            } else {
                self.token.find(s, ObjectClass::SECRET_KEY, &id)?;
                Ok(None)
            }
        })?;
        // The record's exportable flag is only ever true for keys made wrappable; the token
        // still has the last word (CKA_EXTRACTABLE) when one is wrapped.
        let wrappable = stored.exportable && !pair;
        Ok(self.key(
            stored.algorithm,
            stored.permissions,
            wrappable,
            id,
            public,
            true,
        ))
    }

    fn derive_key(&self, _base: &Key, _p: &DeriveKeyParams) -> Result<Key> {
        Err(unsupported())
    }

    fn agree_key(&self, private: &Key, p: &AgreeKeyParams) -> Result<Key> {
        self.agree(private, p)
    }

    fn wrap_key(&self, kek: &Key, target: &Key, p: &WrapKeyParams) -> Result<Vec<u8>> {
        self.wrap(kek, target, p)
    }

    fn unwrap_key(&self, kek: &Key, wrapped: &[u8], p: &UnwrapKeyParams) -> Result<Key> {
        self.unwrap(kek, wrapped, p)
    }

    fn encapsulate(&self, _public: &Key, _p: &EncapsulateParams) -> Result<(Vec<u8>, Key)> {
        Err(unsupported())
    }

    fn decapsulate(&self, _private: &Key, _ct: &[u8], _p: &EncapsulateParams) -> Result<Key> {
        Err(unsupported())
    }

    fn create_context(
        &self,
        kind: ContextKind,
        config: &ContextConfig,
        key: Option<Arc<Key>>,
    ) -> Result<Box<dyn CryptoContext>> {
        let own = match self.own_buffers.get() {
            Some(b) => b,
            None => {
                let b = BufferSource::private(16, DEFAULT_BUFFER_LIMIT)?;
                self.own_buffers.get_or_init(|| b)
            }
        };
        self.create_context_in(kind, config, key, own)
    }

    fn create_context_in(
        &self,
        kind: ContextKind,
        config: &ContextConfig,
        key: Option<Arc<Key>>,
        buffers: &BufferSource,
    ) -> Result<Box<dyn CryptoContext>> {
        let alg = config.algorithm();
        let checked = check_request(kind, config, key)?;
        // Token contexts produce only the default encodings (ECDSA r||s, no salt, label or
        // context choice): an option they would silently ignore is refused instead, since the
        // daemon reports every option of a created context as applied.
        if config.options().set_bits() != 0 {
            return Err(Error::new(
                ErrorCode::UnsupportedOperation,
                "token keys take no context options (DER signatures, salt length, label, context)",
            ));
        }
        if kind == ContextKind::Hash {
            if !self.supports(alg, O::HASH) {
                return Err(Error::new(
                    ErrorCode::UnsupportedAlgorithm,
                    "the token lacks the mechanism",
                ));
            }
            return Ok(Box::new(Stream::new(DigestEngine::new(
                self.token.clone(),
                alg,
                buffers.clone(),
            )?)));
        }
        let key = checked.key.ok_or(unsupported())?;
        let tk = TokenKey::of(&key)?;
        let op = match kind {
            ContextKind::Mac => Op::Mac,
            ContextKind::Sign => Op::Sign,
            ContextKind::Verify => Op::Verify,
            ContextKind::Aead if checked.encrypt => Op::Seal,
            ContextKind::Aead => Op::Open,
            _ => return Err(unsupported()),
        };
        let needed = match op {
            Op::Mac => O::MAC,
            Op::Sign => O::SIGN,
            Op::Verify => O::VERIFY,
            Op::Seal => O::ENCRYPT,
            Op::Open => O::DECRYPT,
        };
        if !self.supports(alg, needed) {
            return Err(Error::new(
                ErrorCode::UnsupportedAlgorithm,
                "the token lacks the mechanism",
            ));
        }
        let id = tk.id;
        Ok(Box::new(Stream::new(TokenEngine::new(
            key.clone(),
            self.token.clone(),
            id,
            alg,
            op,
            checked.caller_nonce,
            buffers.clone(),
        ))))
    }

    fn create_random_context(&self) -> Result<Box<dyn CryptoContext>> {
        Err(unsupported())
    }

    fn random(&self, out: &mut [u8]) -> Result<()> {
        self.token.random(out)
    }
}
