//! The algorithms warden knows, their canonical names and the metadata other crates need.

use core::fmt;

use crate::algorithm_id::AlgorithmId;
use crate::error::{Error, ErrorCode, Result};

/// What kind of primitive an [`Algorithm`] is.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlgorithmClass {
    /// Message digest.
    Hash,
    /// Message authentication code.
    Mac,
    /// Authenticated encryption with associated data.
    Aead,
    /// Unauthenticated symmetric cipher mode.
    Cipher,
    /// Key wrapping (RFC 3394 / 5649).
    KeyWrap,
    /// Key derivation function.
    Kdf,
    /// Digital signature.
    Signature,
    /// Asymmetric (public-key) encryption, e.g. RSA-OAEP.
    AsymmetricEncryption,
    /// Diffie-Hellman style key agreement.
    KeyAgreement,
    /// Key encapsulation mechanism.
    Kem,
    /// A symmetric key type (`AES-256`, `HMAC`, ...) rather than an operation.
    KeyType,
}

macro_rules! algorithms {
    ($( $(#[$doc:meta])+ $variant:ident => $name:literal, $class:ident; )+) => {
        /// Every algorithm warden names, with its canonical (upper-case) name.
        ///
        /// Asymmetric algorithms double as their key type: an `ED25519` key signs `ED25519`.
        /// Symmetric keys have their own key-type variants (`AES-256`, `HMAC`, ...); see
        /// [`Algorithm::key_algorithms`].
        #[non_exhaustive]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Algorithm {
            $( $(#[$doc])+ $variant, )+
        }

        impl Algorithm {
            /// Every algorithm, in declaration order.
            pub const ALL: &'static [Algorithm] = &[ $( Algorithm::$variant, )+ ];

            /// The canonical name (`"AES-256-GCM"`).
            pub const fn name(self) -> &'static str {
                match self {
                    $( Algorithm::$variant => $name, )+
                }
            }

            /// What kind of primitive this is.
            pub const fn class(self) -> AlgorithmClass {
                match self {
                    $( Algorithm::$variant => AlgorithmClass::$class, )+
                }
            }
        }
    };
}

algorithms! {
    /// SHA-256 (FIPS 180-4).
    Sha256 => "SHA-256", Hash;
    /// SHA-384 (FIPS 180-4).
    Sha384 => "SHA-384", Hash;
    /// SHA-512 (FIPS 180-4).
    Sha512 => "SHA-512", Hash;
    /// SHA3-256 (FIPS 202).
    Sha3_256 => "SHA3-256", Hash;
    /// SHA3-384 (FIPS 202).
    Sha3_384 => "SHA3-384", Hash;
    /// SHA3-512 (FIPS 202).
    Sha3_512 => "SHA3-512", Hash;
    /// HMAC with SHA-256 (RFC 2104).
    HmacSha256 => "HMAC-SHA256", Mac;
    /// HMAC with SHA-384.
    HmacSha384 => "HMAC-SHA384", Mac;
    /// HMAC with SHA-512.
    HmacSha512 => "HMAC-SHA512", Mac;
    /// AES-128 in GCM mode.
    Aes128Gcm => "AES-128-GCM", Aead;
    /// AES-256 in GCM mode.
    Aes256Gcm => "AES-256-GCM", Aead;
    /// ChaCha20-Poly1305 (RFC 8439).
    ChaCha20Poly1305 => "CHACHA20-POLY1305", Aead;
    /// AES-256 in CTR mode (unauthenticated).
    Aes256Ctr => "AES-256-CTR", Cipher;
    /// AES-256 in CBC mode with PKCS#7 padding (unauthenticated).
    Aes256CbcPkcs7 => "AES-256-CBC-PKCS7", Cipher;
    /// AES-256 key wrap (RFC 3394).
    Aes256Kw => "AES-256-KW", KeyWrap;
    /// AES-256 key wrap with padding (RFC 5649).
    Aes256Kwp => "AES-256-KWP", KeyWrap;
    /// HKDF with SHA-256 (RFC 5869).
    HkdfSha256 => "HKDF-SHA256", Kdf;
    /// HKDF with SHA-384 (RFC 5869).
    HkdfSha384 => "HKDF-SHA384", Kdf;
    /// PBKDF2 with HMAC-SHA256 (RFC 8018).
    Pbkdf2HmacSha256 => "PBKDF2-HMAC-SHA256", Kdf;
    /// TLS 1.2 PRF with SHA-256 (RFC 5246 section 5).
    Tls12PrfSha256 => "TLS12-PRF-SHA256", Kdf;
    /// TLS 1.3 HKDF-Expand-Label with SHA-256 (RFC 8446 section 7.1).
    Tls13HkdfSha256 => "TLS13-HKDF-SHA256", Kdf;
    /// NIST SP 800-108 KDF in counter mode with HMAC-SHA256.
    Sp800108CtrHmacSha256 => "SP800-108-CTR-HMAC-SHA256", Kdf;
    /// Ed25519 (RFC 8032).
    Ed25519 => "ED25519", Signature;
    /// ECDSA over P-256 with SHA-256.
    EcdsaP256Sha256 => "ECDSA-P256-SHA256", Signature;
    /// ECDSA over P-384 with SHA-384.
    EcdsaP384Sha384 => "ECDSA-P384-SHA384", Signature;
    /// RSASSA-PSS with SHA-256 (2048 to 4096-bit keys).
    RsaPssSha256 => "RSA-PSS-SHA256", Signature;
    /// RSAES-OAEP with SHA-256 (2048 to 4096-bit keys).
    RsaOaepSha256 => "RSA-OAEP-SHA256", AsymmetricEncryption;
    /// X25519 key agreement (RFC 7748).
    X25519 => "X25519", KeyAgreement;
    /// ECDH over P-256.
    EcdhP256 => "ECDH-P256", KeyAgreement;
    /// ECDH over P-384.
    EcdhP384 => "ECDH-P384", KeyAgreement;
    /// ML-KEM-512 (FIPS 203).
    MlKem512 => "ML-KEM-512", Kem;
    /// ML-KEM-768 (FIPS 203).
    MlKem768 => "ML-KEM-768", Kem;
    /// ML-KEM-1024 (FIPS 203).
    MlKem1024 => "ML-KEM-1024", Kem;
    /// ML-DSA-44 (FIPS 204).
    MlDsa44 => "ML-DSA-44", Signature;
    /// ML-DSA-65 (FIPS 204).
    MlDsa65 => "ML-DSA-65", Signature;
    /// ML-DSA-87 (FIPS 204).
    MlDsa87 => "ML-DSA-87", Signature;
    /// SLH-DSA-SHA2-128s (FIPS 205, small signatures).
    SlhDsaSha2_128s => "SLH-DSA-SHA2-128S", Signature;
    /// SLH-DSA-SHA2-128f (FIPS 205, fast signing).
    SlhDsaSha2_128f => "SLH-DSA-SHA2-128F", Signature;
    /// X-Wing hybrid KEM (X25519 + ML-KEM-768).
    XWing => "X-WING", Kem;
    /// 128-bit AES key.
    Aes128Key => "AES-128", KeyType;
    /// 256-bit AES key.
    Aes256Key => "AES-256", KeyType;
    /// 256-bit ChaCha20 key (for `CHACHA20-POLY1305`).
    ChaCha20Key => "CHACHA20", KeyType;
    /// HMAC key of any length.
    HmacKey => "HMAC", KeyType;
    /// Secret bytes of any length (KDF input, agreement or KEM output).
    GenericSecret => "GENERIC-SECRET", KeyType;
    // Issue 15, appended so the existing order (`ALL`, `Ord`) does not move.
    /// 192-bit AES key.
    Aes192Key => "AES-192", KeyType;
    /// AES-192 in GCM mode.
    Aes192Gcm => "AES-192-GCM", Aead;
    /// AES-128 in CTR mode (unauthenticated).
    Aes128Ctr => "AES-128-CTR", Cipher;
    /// AES-192 in CTR mode (unauthenticated).
    Aes192Ctr => "AES-192-CTR", Cipher;
    /// AES-128 in CBC mode with PKCS#7 padding (unauthenticated).
    Aes128CbcPkcs7 => "AES-128-CBC-PKCS7", Cipher;
    /// AES-192 in CBC mode with PKCS#7 padding (unauthenticated).
    Aes192CbcPkcs7 => "AES-192-CBC-PKCS7", Cipher;
    /// AES-128 key wrap (RFC 3394).
    Aes128Kw => "AES-128-KW", KeyWrap;
    /// AES-192 key wrap (RFC 3394).
    Aes192Kw => "AES-192-KW", KeyWrap;
    /// AES-128 key wrap with padding (RFC 5649).
    Aes128Kwp => "AES-128-KWP", KeyWrap;
    /// AES-192 key wrap with padding (RFC 5649).
    Aes192Kwp => "AES-192-KWP", KeyWrap;
    /// RSASSA-PSS with SHA-384 and MGF1-SHA384 (any RSA-PSS key).
    RsaPssSha384 => "RSA-PSS-SHA384", Signature;
    /// RSASSA-PSS with SHA-512 and MGF1-SHA512 (any RSA-PSS key).
    RsaPssSha512 => "RSA-PSS-SHA512", Signature;
    /// RSAES-OAEP with SHA-1 and MGF1-SHA1 (any RSA-OAEP key; for peers that need it).
    RsaOaepSha1 => "RSA-OAEP-SHA1", AsymmetricEncryption;
    /// RSAES-OAEP with SHA-384 and MGF1-SHA384 (any RSA-OAEP key).
    RsaOaepSha384 => "RSA-OAEP-SHA384", AsymmetricEncryption;
    /// RSAES-OAEP with SHA-512 and MGF1-SHA512 (any RSA-OAEP key).
    RsaOaepSha512 => "RSA-OAEP-SHA512", AsymmetricEncryption;
    /// Ed25519ph (RFC 8032 section 5.1: Ed25519 over SHA-512 of the message, so it streams);
    /// any Ed25519 key.
    Ed25519ph => "ED25519PH", Signature;
    /// HashML-DSA-44 with SHA-512 (FIPS 204 section 5.4: ML-DSA over the OID-tagged SHA-512
    /// of the message, so it streams); any ML-DSA-44 key.
    HashMlDsa44Sha512 => "HASH-ML-DSA-44-SHA512", Signature;
    /// HashML-DSA-65 with SHA-512 (FIPS 204 section 5.4); any ML-DSA-65 key.
    HashMlDsa65Sha512 => "HASH-ML-DSA-65-SHA512", Signature;
    /// HashML-DSA-87 with SHA-512 (FIPS 204 section 5.4); any ML-DSA-87 key.
    HashMlDsa87Sha512 => "HASH-ML-DSA-87-SHA512", Signature;
}

/// Key algorithms an RSA-PSS operation accepts (any RSA-PSS key, whatever hash it was named for).
const RSA_PSS_KEYS: &[Algorithm] = &[
    Algorithm::RsaPssSha256,
    Algorithm::RsaPssSha384,
    Algorithm::RsaPssSha512,
];

/// Key algorithms an RSA-OAEP operation accepts.
const RSA_OAEP_KEYS: &[Algorithm] = &[
    Algorithm::RsaOaepSha1,
    Algorithm::RsaOaepSha256,
    Algorithm::RsaOaepSha384,
    Algorithm::RsaOaepSha512,
];

/// Lengths of an AEAD algorithm, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AeadLengths {
    /// Key length.
    pub key_len: usize,
    /// Nonce length.
    pub nonce_len: usize,
    /// Tag length.
    pub tag_len: usize,
}

/// Lengths of a KEM, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KemLengths {
    /// Encoded public (encapsulation) key length.
    pub public_key_len: usize,
    /// Ciphertext length.
    pub ciphertext_len: usize,
    /// Shared secret length.
    pub shared_secret_len: usize,
}

impl Algorithm {
    /// Resolves a canonical name. Matching is exact (upper case, as listed);
    /// unknown names fail with [`ErrorCode::UnsupportedAlgorithm`].
    ///
    /// ```
    /// use warden_core::{Algorithm, ErrorCode};
    /// assert_eq!(Algorithm::from_name("AES-256-GCM")?, Algorithm::Aes256Gcm);
    /// assert_eq!(
    ///     Algorithm::from_name("aes-256-gcm").unwrap_err().code(),
    ///     ErrorCode::UnsupportedAlgorithm
    /// );
    /// # Ok::<(), warden_core::Error>(())
    /// ```
    pub fn from_name(name: &str) -> Result<Self> {
        Algorithm::ALL
            .iter()
            .copied()
            .find(|a| a.name() == name)
            .ok_or(Error::new(
                ErrorCode::UnsupportedAlgorithm,
                "unknown algorithm name",
            ))
    }

    /// Resolves an [`AlgorithmId`] (as received from the wire).
    pub fn from_id(id: &AlgorithmId) -> Result<Self> {
        Algorithm::from_name(id.as_str())
    }

    /// The canonical name as an [`AlgorithmId`].
    pub fn id(self) -> AlgorithmId {
        // Every canonical name is short printable ASCII (checked by a unit test), so this
        // cannot fail; the fallback keeps lib code free of unwrap.
        match AlgorithmId::new(self.name()) {
            Ok(id) => id,
            Err(_) => AlgorithmId::PLACEHOLDER,
        }
    }

    /// Whether a key object can have this algorithm (symmetric key types and every
    /// asymmetric algorithm, whose keys are typed by the algorithm itself), except the
    /// HashML-DSA variants, which take ML-DSA keys.
    pub const fn is_key_algorithm(self) -> bool {
        // HashML-DSA is a way to use an ML-DSA key, not a key type of its own.
        !matches!(
            self,
            Algorithm::HashMlDsa44Sha512
                | Algorithm::HashMlDsa65Sha512
                | Algorithm::HashMlDsa87Sha512
        ) && matches!(
            self.class(),
            AlgorithmClass::KeyType
                | AlgorithmClass::Signature
                | AlgorithmClass::AsymmetricEncryption
                | AlgorithmClass::KeyAgreement
                | AlgorithmClass::Kem
        )
    }

    /// Whether keys of this algorithm are asymmetric (have a public half).
    pub const fn is_asymmetric(self) -> bool {
        matches!(
            self.class(),
            AlgorithmClass::Signature
                | AlgorithmClass::AsymmetricEncryption
                | AlgorithmClass::KeyAgreement
                | AlgorithmClass::Kem
        )
    }

    /// The key algorithms an operation with `self` accepts. Empty for hashes (no key).
    ///
    /// AES-GCM/CTR/CBC/KW take the matching `AES-*` key, `CHACHA20-POLY1305` a `CHACHA20`
    /// key, HMACs an `HMAC` key, KDFs only a `GENERIC-SECRET` key; asymmetric algorithms
    /// and key types accept only keys of their own algorithm, except the schemes whose hash is
    /// a per-message choice (issue 15): any RSA-PSS key signs RSA-PSS-SHA256/384/512, any
    /// RSA-OAEP key serves RSA-OAEP-SHA1/256/384/512, and Ed25519 keys sign ED25519PH too.
    ///
    /// ```
    /// use warden_core::Algorithm;
    /// assert_eq!(Algorithm::Aes256Gcm.key_algorithms(), &[Algorithm::Aes256Key]);
    /// assert_eq!(Algorithm::EcdsaP256Sha256.key_algorithms(), &[Algorithm::EcdsaP256Sha256]);
    /// assert!(Algorithm::Sha256.key_algorithms().is_empty());
    /// ```
    pub const fn key_algorithms(self) -> &'static [Algorithm] {
        use Algorithm as A;
        match self {
            A::Sha256 | A::Sha384 | A::Sha512 | A::Sha3_256 | A::Sha3_384 | A::Sha3_512 => &[],
            A::HmacSha256 | A::HmacSha384 | A::HmacSha512 => &[A::HmacKey],
            A::Aes128Gcm | A::Aes128Ctr | A::Aes128CbcPkcs7 | A::Aes128Kw | A::Aes128Kwp => {
                &[A::Aes128Key]
            }
            A::Aes192Gcm | A::Aes192Ctr | A::Aes192CbcPkcs7 | A::Aes192Kw | A::Aes192Kwp => {
                &[A::Aes192Key]
            }
            A::Aes256Gcm | A::Aes256Ctr | A::Aes256CbcPkcs7 | A::Aes256Kw | A::Aes256Kwp => {
                &[A::Aes256Key]
            }
            A::ChaCha20Poly1305 => &[A::ChaCha20Key],
            A::HkdfSha256
            | A::HkdfSha384
            | A::Pbkdf2HmacSha256
            | A::Tls12PrfSha256
            | A::Tls13HkdfSha256
            // Only GENERIC-SECRET: every KDF here is HMAC-based, so a KDF on an HMAC key
            // would compute that key's MACs (PBKDF2 with one iteration is HMAC(K, salt‖1)).
            | A::Sp800108CtrHmacSha256 => &[A::GenericSecret],
            A::Ed25519 | A::Ed25519ph => &[A::Ed25519, A::Ed25519ph],
            A::EcdsaP256Sha256 => &[A::EcdsaP256Sha256],
            A::EcdsaP384Sha384 => &[A::EcdsaP384Sha384],
            // One RSA key serves every hash of its scheme (the hash is a per-message choice,
            // as in PKCS#11 and X.509's RSASSA-PSS-params); the key's own name is the one it
            // was created under.
            A::RsaPssSha256 | A::RsaPssSha384 | A::RsaPssSha512 => RSA_PSS_KEYS,
            A::RsaOaepSha1 | A::RsaOaepSha256 | A::RsaOaepSha384 | A::RsaOaepSha512 => {
                RSA_OAEP_KEYS
            }
            A::X25519 => &[A::X25519],
            A::EcdhP256 => &[A::EcdhP256],
            A::EcdhP384 => &[A::EcdhP384],
            A::MlKem512 => &[A::MlKem512],
            A::MlKem768 => &[A::MlKem768],
            A::MlKem1024 => &[A::MlKem1024],
            // The pre-hash variant is a per-message choice over the same key (FIPS 204 5.4).
            A::MlDsa44 | A::HashMlDsa44Sha512 => &[A::MlDsa44],
            A::MlDsa65 | A::HashMlDsa65Sha512 => &[A::MlDsa65],
            A::MlDsa87 | A::HashMlDsa87Sha512 => &[A::MlDsa87],
            A::SlhDsaSha2_128s => &[A::SlhDsaSha2_128s],
            A::SlhDsaSha2_128f => &[A::SlhDsaSha2_128f],
            A::XWing => &[A::XWing],
            A::Aes128Key => &[A::Aes128Key],
            A::Aes192Key => &[A::Aes192Key],
            A::Aes256Key => &[A::Aes256Key],
            A::ChaCha20Key => &[A::ChaCha20Key],
            A::HmacKey => &[A::HmacKey],
            A::GenericSecret => &[A::GenericSecret],
        }
    }

    /// Whether a key of algorithm `key` may be used for an operation with `self`.
    /// A `false` answer maps to [`ErrorCode::IncompatibleKeyType`].
    pub fn accepts_key(self, key: Algorithm) -> bool {
        self.key_algorithms().contains(&key)
    }

    /// Output length of a hash or MAC, in bytes.
    pub const fn digest_len(self) -> Option<usize> {
        use Algorithm as A;
        match self {
            A::Sha256 | A::Sha3_256 | A::HmacSha256 => Some(32),
            A::Sha384 | A::Sha3_384 | A::HmacSha384 => Some(48),
            A::Sha512 | A::Sha3_512 | A::HmacSha512 => Some(64),
            _ => None,
        }
    }

    /// The hash function underneath a MAC, KDF, or hashed signature/encryption scheme.
    pub const fn hash(self) -> Option<Algorithm> {
        use Algorithm as A;
        match self {
            A::HmacSha256
            | A::HkdfSha256
            | A::Pbkdf2HmacSha256
            | A::Tls12PrfSha256
            | A::Tls13HkdfSha256
            | A::Sp800108CtrHmacSha256
            | A::EcdsaP256Sha256
            | A::RsaPssSha256
            | A::RsaOaepSha256 => Some(A::Sha256),
            A::HmacSha384
            | A::HkdfSha384
            | A::EcdsaP384Sha384
            | A::RsaPssSha384
            | A::RsaOaepSha384 => Some(A::Sha384),
            A::HmacSha512 | A::RsaPssSha512 | A::RsaOaepSha512 | A::Ed25519ph => Some(A::Sha512),
            _ => None,
        }
    }

    /// Key, nonce and tag lengths of an AEAD.
    pub const fn aead_lengths(self) -> Option<AeadLengths> {
        let key_len = match self {
            Algorithm::Aes128Gcm => 16,
            Algorithm::Aes192Gcm => 24,
            Algorithm::Aes256Gcm | Algorithm::ChaCha20Poly1305 => 32,
            _ => return None,
        };
        Some(AeadLengths {
            key_len,
            nonce_len: 12,
            tag_len: 16,
        })
    }

    /// IV / nonce length for AEADs and cipher modes (16 for AES-CTR and AES-CBC).
    pub const fn iv_len(self) -> Option<usize> {
        match self {
            Algorithm::Aes128Ctr
            | Algorithm::Aes192Ctr
            | Algorithm::Aes256Ctr
            | Algorithm::Aes128CbcPkcs7
            | Algorithm::Aes192CbcPkcs7
            | Algorithm::Aes256CbcPkcs7 => Some(16),
            _ => match self.aead_lengths() {
                Some(l) => Some(l.nonce_len),
                None => None,
            },
        }
    }

    /// Block size of block-cipher based modes (16 for every AES mode).
    pub const fn block_len(self) -> Option<usize> {
        use Algorithm as A;
        match self {
            A::Aes128Gcm
            | A::Aes192Gcm
            | A::Aes256Gcm
            | A::Aes128Ctr
            | A::Aes192Ctr
            | A::Aes256Ctr
            | A::Aes128CbcPkcs7
            | A::Aes192CbcPkcs7
            | A::Aes256CbcPkcs7 => Some(16),
            A::Aes128Kw
            | A::Aes192Kw
            | A::Aes256Kw
            | A::Aes128Kwp
            | A::Aes192Kwp
            | A::Aes256Kwp => Some(8),
            _ => None,
        }
    }

    /// Fixed secret-key length of a symmetric key type or of the key a symmetric operation
    /// takes. `None` for variable-length keys (`HMAC`, `GENERIC-SECRET`) and asymmetric keys.
    pub const fn key_len(self) -> Option<usize> {
        use Algorithm as A;
        match self {
            A::Aes128Key
            | A::Aes128Gcm
            | A::Aes128Ctr
            | A::Aes128CbcPkcs7
            | A::Aes128Kw
            | A::Aes128Kwp => Some(16),
            A::Aes192Key
            | A::Aes192Gcm
            | A::Aes192Ctr
            | A::Aes192CbcPkcs7
            | A::Aes192Kw
            | A::Aes192Kwp => Some(24),
            A::Aes256Key
            | A::Aes256Gcm
            | A::Aes256Ctr
            | A::Aes256CbcPkcs7
            | A::Aes256Kw
            | A::Aes256Kwp
            | A::ChaCha20Key
            | A::ChaCha20Poly1305 => Some(32),
            _ => None,
        }
    }

    /// Lengths of a KEM (FIPS 203 table 3; X-Wing draft).
    pub const fn kem_lengths(self) -> Option<KemLengths> {
        let (public_key_len, ciphertext_len) = match self {
            Algorithm::MlKem512 => (800, 768),
            Algorithm::MlKem768 => (1184, 1088),
            Algorithm::MlKem1024 => (1568, 1568),
            Algorithm::XWing => (1216, 1120),
            _ => return None,
        };
        Some(KemLengths {
            public_key_len,
            ciphertext_len,
            shared_secret_len: 32,
        })
    }

    /// Whether an algorithm is an RSA scheme (and so needs a modulus size at generation).
    pub const fn is_rsa(self) -> bool {
        matches!(
            self,
            Algorithm::RsaPssSha256
                | Algorithm::RsaPssSha384
                | Algorithm::RsaPssSha512
                | Algorithm::RsaOaepSha1
                | Algorithm::RsaOaepSha256
                | Algorithm::RsaOaepSha384
                | Algorithm::RsaOaepSha512
        )
    }
}

impl AlgorithmId {
    /// Internal fallback value; never returned for a canonical algorithm.
    pub(crate) const PLACEHOLDER: AlgorithmId = match AlgorithmId::new("UNKNOWN") {
        Ok(id) => id,
        Err(_) => panic!("constant name is valid"),
    };
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl core::str::FromStr for Algorithm {
    type Err = Error;
    fn from_str(name: &str) -> Result<Self> {
        Algorithm::from_name(name)
    }
}

impl From<Algorithm> for AlgorithmId {
    fn from(a: Algorithm) -> AlgorithmId {
        a.id()
    }
}

impl TryFrom<AlgorithmId> for Algorithm {
    type Error = Error;
    fn try_from(id: AlgorithmId) -> Result<Self> {
        Algorithm::from_id(&id)
    }
}
