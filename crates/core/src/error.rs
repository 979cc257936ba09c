//! The protocol's error vocabulary: one code enum with stable numeric values.
//!
//! Values are `0x01CC_NNNN`: `CC` is the category, `NNNN` counts from 1 within the category in
//! the order of the seed design's list. The numbers travel on the wire and are stored in audit
//! logs, so they never change; new codes are only appended at the end of a category.

use core::fmt;

macro_rules! error_codes {
    ($( $(#[$doc:meta])+ $name:ident = $val:literal, )+) => {
        /// Every error the protocol can report, with its stable numeric value.
        ///
        /// `Display` prints the name (`KeyOperationNotPermitted`); [`ErrorCode::from_u32`]
        /// inverts [`ErrorCode::as_u32`].
        #[repr(u32)]
        #[non_exhaustive]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $( $(#[$doc])+ $name = $val, )+
        }

        impl ErrorCode {
            /// Every code, in numeric order.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$name, )+ ];

            /// The code with numeric value `v`, or `None` if no code has that value.
            pub const fn from_u32(v: u32) -> Option<Self> {
                match v {
                    $( $val => Some(ErrorCode::$name), )+
                    _ => None,
                }
            }

            /// The code's name, exactly as the variant is spelled (`"InvalidArgument"`).
            pub const fn name(self) -> &'static str {
                match self {
                    $( ErrorCode::$name => stringify!($name), )+
                }
            }
        }
    };
}

error_codes! {
    /// The stack (daemon connection) was used before it was initialised.
    UninitializedStack = 0x0101_0001,
    /// The stack was initialised twice.
    AlreadyInitialized = 0x0101_0002,
    /// The connection to the daemon failed or was lost.
    ConnectionFailed = 0x0101_0003,
    /// An internal invariant failed; details are logged by the daemon, not sent.
    InternalError = 0x0101_0004,

    /// The operation is not supported by this provider or context.
    UnsupportedOperation = 0x0102_0001,
    /// The operation is not valid in the current state.
    InvalidOperation = 0x0102_0002,
    /// The operation failed (opaque: decrypt and verify failures use this).
    OperationFailed = 0x0102_0003,
    /// The operation ran past its deadline.
    OperationTimedOut = 0x0102_0004,

    /// An argument is missing, malformed or out of range.
    InvalidArgument = 0x0103_0001,
    /// The referenced resource does not exist.
    ResourceNotFound = 0x0103_0002,
    /// The resource id is malformed.
    InvalidResourceId = 0x0103_0003,
    /// The resource has the wrong type for this operation.
    InvalidResourceType = 0x0103_0004,
    /// The caller's output buffer is too small.
    InsufficientBufferSize = 0x0103_0005,
    /// An encoding (DER, PKCS#8, frame body, ...) is malformed.
    InvalidFormat = 0x0103_0006,
    /// A value does not fit its fixed-capacity field; it is rejected, never silently cut.
    ParamTruncated = 0x0103_0007,

    /// `update`/`finalize` before `init`.
    StreamNotInitialized = 0x0104_0001,
    /// `init` while a stream is already active.
    StreamAlreadyActive = 0x0104_0002,
    /// The stream ended before all required input was supplied.
    StreamIncomplete = 0x0104_0003,

    /// The algorithm is not known or not supported.
    UnsupportedAlgorithm = 0x0105_0001,
    /// The algorithm does not match the key, context or parameters.
    AlgorithmMismatch = 0x0105_0002,

    /// Memory could not be allocated (arena exhausted).
    AllocationFailed = 0x0106_0001,
    /// A per-client or per-session quota was exceeded.
    QuotaExceeded = 0x0106_0002,
    /// A shared or arena memory region reference is invalid.
    InvalidMemoryRegion = 0x0106_0003,

    /// A context could not be created.
    ContextCreationFailed = 0x0107_0001,
    /// The context was already destroyed.
    ContextAlreadyDestroyed = 0x0107_0002,
    /// The context could not be reset (for example while updating).
    ContextResetFailed = 0x0107_0003,
    /// The session expired.
    SessionExpired = 0x0107_0004,

    /// The key slot is empty.
    KeySlotEmpty = 0x0108_0001,
    /// The key slot is already occupied.
    KeySlotOccupied = 0x0108_0002,
    /// The key may not be exported.
    KeyNotExportable = 0x0108_0003,
    /// Key generation failed.
    KeyGenerationFailed = 0x0108_0004,
    /// Key derivation failed.
    KeyDerivationFailed = 0x0108_0005,
    /// Key agreement failed.
    KeyAgreementFailed = 0x0108_0006,
    /// Key wrapping or unwrapping failed (opaque).
    WrapUnwrapFailed = 0x0108_0007,
    /// The key could not be persisted.
    PersistFailed = 0x0108_0008,
    /// The key's type does not suit the operation.
    IncompatibleKeyType = 0x0108_0009,
    /// The key's permission bits do not allow the operation.
    KeyOperationNotPermitted = 0x0108_000A,

    /// A certificate could not be parsed.
    CertificateParsingFailed = 0x0109_0001,
    /// The certificate has expired.
    CertificateExpired = 0x0109_0002,
    /// The certificate was revoked.
    CertificateRevoked = 0x0109_0003,
    /// The certificate's signature did not verify.
    CertificateVerifyFailed = 0x0109_0004,
    /// The certificate chain did not verify.
    CertChainVerifyFailed = 0x0109_0005,
    /// A CRL could not be imported.
    CrlImportFailed = 0x0109_0006,
    /// A CSR could not be generated.
    CsrGenerationFailed = 0x0109_0007,
    /// An OCSP exchange failed.
    OcspError = 0x0109_0008,
    /// No trust anchor matched.
    TrustAnchorNotFound = 0x0109_0009,

    /// The provider is not available.
    ProviderNotAvailable = 0x010A_0001,
    /// The provider is busy.
    ProviderBusy = 0x010A_0002,
    /// Objects from different providers cannot be combined.
    CrossProviderIncompatible = 0x010A_0003,

    /// The caller may not access this resource.
    AccessDenied = 0x010B_0001,
    /// The resource is not allocated to the caller.
    ResourceNotAllocated = 0x010B_0002,
}

impl ErrorCode {
    /// The stable numeric value (the one sent on the wire).
    pub const fn as_u32(self) -> u32 {
        self as u32
    }

    /// The category byte `CC` of `0x01CC_NNNN` (1 = stack, ..., 0x0B = access).
    pub const fn category(self) -> u8 {
        // Truncation intended: bits 16..24 are the category.
        ((self as u32) >> 16) as u8
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<ErrorCode> for u32 {
    fn from(code: ErrorCode) -> u32 {
        code.as_u32()
    }
}

impl TryFrom<u32> for ErrorCode {
    type Error = Error;

    /// Unknown values fail with [`ErrorCode::InvalidArgument`].
    fn try_from(v: u32) -> Result<Self> {
        ErrorCode::from_u32(v).ok_or(Error::new(ErrorCode::InvalidArgument, "unknown error code"))
    }
}

/// An error: a protocol [`ErrorCode`] plus a static detail string.
///
/// The detail is `&'static str` on purpose: it can never carry bytes of a key, a message or
/// anything else that came from a caller. Only the code travels on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Error {
    code: ErrorCode,
    detail: &'static str,
}

impl Error {
    /// An error with `code` and a static explanation (may be empty).
    pub const fn new(code: ErrorCode, detail: &'static str) -> Self {
        Error { code, detail }
    }

    /// The protocol code.
    pub const fn code(&self) -> ErrorCode {
        self.code
    }

    /// The static explanation ("" if none was given).
    pub const fn detail(&self) -> &'static str {
        self.detail
    }

    /// Shorthand for `Error::new(ErrorCode::InvalidArgument, detail)`.
    pub const fn invalid_argument(detail: &'static str) -> Self {
        Error::new(ErrorCode::InvalidArgument, detail)
    }
}

impl From<ErrorCode> for Error {
    fn from(code: ErrorCode) -> Self {
        Error::new(code, "")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.detail.is_empty() {
            write!(f, "{}", self.code)
        } else {
            write!(f, "{}: {}", self.code, self.detail)
        }
    }
}

// `core::error::Error` is the trait `std::error::Error` re-exports, so this impl serves std
// users too and also works for `no_std` callers.
impl core::error::Error for Error {}

/// Result with the shared [`Error`].
pub type Result<T> = core::result::Result<T, Error>;
