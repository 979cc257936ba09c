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
    info: ProviderInfo,
    token: Arc<Token>,
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

fn unsupported() -> Error {
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
    if has(MechanismType::AES_KEY_GEN) {
        add(Algorithm::Aes128Key, gen_);
        add(Algorithm::Aes256Key, gen_);
        if has(MechanismType::AES_GCM) {
            add(Algorithm::Aes128Gcm, O::ENCRYPT.union(O::DECRYPT));
            add(Algorithm::Aes256Gcm, O::ENCRYPT.union(O::DECRYPT));
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
    fn key(
        &self,
        alg: Algorithm,
        perms: P,
        id: [u8; ID_LEN],
        public: Option<Vec<u8>>,
        persisted: bool,
    ) -> Key {
        // Exportable is always false: the token would refuse anyway.
        Key::new(
            alg,
            perms,
            false,
            self.info.name(),
            Box::new(TokenKey {
                id,
                public,
                owner: Some(self.token.clone()),
                persisted: std::sync::atomic::AtomicBool::new(persisted),
            }),
        )
    }

    fn fresh_id(&self) -> Result<[u8; ID_LEN]> {
        let mut id = [0u8; ID_LEN];
        self.token.random(&mut id)?;
        Ok(id)
    }

    /// The secret-key template: inside the token, persistent, private, sensitive and
    /// never extractable, usable only for what `perms` allows.
    fn secret_template(id: &[u8], kt: KeyType, len: u64, perms: P) -> Vec<Attribute> {
        vec![
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(kt),
            Attribute::ValueLen(Ulong::from(len)),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Id(id.to_vec()),
            Attribute::Label(LABEL.to_vec()),
            Attribute::Encrypt(perms.contains(P::ENCRYPT)),
            Attribute::Decrypt(perms.contains(P::DECRYPT)),
            Attribute::Sign(perms.contains(P::MAC)),
            Attribute::Verify(perms.contains(P::MAC)),
            Attribute::Wrap(false),
            Attribute::Unwrap(false),
            Attribute::Derive(false),
        ]
    }

    fn generate_pair(&self, alg: Algorithm, perms: P) -> Result<Key> {
        let (mech, params) = match alg {
            Algorithm::EcdsaP256Sha256 => (Mechanism::EccKeyPairGen, OID_P256),
            Algorithm::EcdsaP384Sha384 => (Mechanism::EccKeyPairGen, OID_P384),
            Algorithm::Ed25519 => (Mechanism::EccEdwardsKeyPairGen, OID_ED25519),
            _ => return Err(Error::from(ErrorCode::UnsupportedAlgorithm)),
        };
        let id = self.fresh_id()?;
        let public_t = vec![
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::EcParams(params.to_vec()),
            Attribute::Id(id.to_vec()),
            Attribute::Label(LABEL.to_vec()),
            Attribute::Verify(true),
        ];
        let private_t = vec![
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Id(id.to_vec()),
            Attribute::Label(LABEL.to_vec()),
            Attribute::Sign(perms.contains(P::SIGN)),
            Attribute::Derive(false),
        ];
        let point = self.token.with(|s| {
            let (public, _) = s.generate_key_pair(&mech, &public_t, &private_t)?;
            public_point(s, public)
        })?;
        Ok(self.key(alg, perms, id, Some(point), false))
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
        if p.exportable() {
            // Said out loud rather than silently dropped: the caller asked for a key it could
            // take out, and a token key never leaves the token.
            return Err(Error::new(
                ErrorCode::KeyNotExportable,
                "token keys are never exportable",
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
        let template = Self::secret_template(&id, kt, len, p.permissions());
        // AES key generation takes CKA_VALUE_LEN too; the key type is implied by the mechanism.
        self.token.with(|s| Ok(s.generate_key(&mech, &template)?))?;
        Ok(self.key(alg, p.permissions(), id, None, false))
    }

    /// Keys are born in the token; material from outside would not be a token key.
    fn import_key(&self, _p: &ImportKeyParams, _material: &[u8]) -> Result<Key> {
        Err(unsupported())
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
        Ok(self.key(stored.algorithm, stored.permissions, id, public, true))
    }

    fn derive_key(&self, _base: &Key, _p: &DeriveKeyParams) -> Result<Key> {
        Err(unsupported())
    }

    fn agree_key(&self, _private: &Key, _p: &AgreeKeyParams) -> Result<Key> {
        Err(unsupported())
    }

    fn wrap_key(&self, _kek: &Key, _target: &Key, _p: &WrapKeyParams) -> Result<Vec<u8>> {
        Err(unsupported())
    }

    fn unwrap_key(&self, _kek: &Key, _wrapped: &[u8], _p: &UnwrapKeyParams) -> Result<Key> {
        Err(unsupported())
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
