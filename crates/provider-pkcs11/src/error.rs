//! PKCS#11 return values (`CKR_*`) as warden error codes.
//!
//! The mapping is by what the caller can do about it: a token that is gone, locked or not
//! logged in is `ProviderNotAvailable` (retry later, use another provider); a refusal about
//! the key is the same code a software key would give; everything else is `OperationFailed`.
//! Details are static strings: nothing from the module reaches a client.

use cryptoki::error::{Error as CkError, RvError};
use warden_core::{Error, ErrorCode};

/// `e` as a warden error.
pub(crate) fn map(e: CkError) -> Error {
    match e {
        CkError::Pkcs11(rv, _) => map_rv(rv),
        CkError::LibraryLoading(_) => Error::new(
            ErrorCode::ProviderNotAvailable,
            "pkcs#11 module cannot be loaded",
        ),
        CkError::NotSupported => Error::new(
            ErrorCode::UnsupportedOperation,
            "not supported by the pkcs#11 binding",
        ),
        _ => Error::new(ErrorCode::OperationFailed, "pkcs#11 call failed"),
    }
}

fn map_rv(rv: RvError) -> Error {
    use ErrorCode as C;
    use RvError as R;
    let (code, detail) = match rv {
        R::TokenNotPresent
        | R::TokenNotRecognized
        | R::DeviceRemoved
        | R::DeviceError
        | R::SessionClosed
        | R::SessionHandleInvalid
        | R::SlotIdInvalid
        | R::CryptokiNotInitialized => (C::ProviderNotAvailable, "token not available"),
        R::PinIncorrect
        | R::PinLocked
        | R::PinExpired
        | R::PinInvalid
        | R::PinLenRange
        | R::UserNotLoggedIn
        | R::UserPinNotInitialized => (C::ProviderNotAvailable, "token refused the login"),
        R::SessionCount | R::FunctionNotParallel | R::OperationActive => {
            (C::ProviderBusy, "token is busy")
        }
        R::HostMemory | R::DeviceMemory => (C::AllocationFailed, "token out of memory"),
        R::KeyUnextractable | R::AttributeSensitive | R::KeyNotWrappable => {
            (C::KeyNotExportable, "key never leaves the token")
        }
        R::MechanismInvalid | R::MechanismParamInvalid | R::CurveNotSupported => {
            (C::UnsupportedAlgorithm, "token lacks the mechanism")
        }
        R::FunctionNotSupported => (C::UnsupportedOperation, "token lacks the function"),
        R::KeyTypeInconsistent | R::KeyHandleInvalid => {
            (C::IncompatibleKeyType, "key does not suit the mechanism")
        }
        R::KeyFunctionNotPermitted => (C::KeyOperationNotPermitted, "token key forbids this"),
        R::ObjectHandleInvalid => (C::ResourceNotFound, "token object is gone"),
        R::BufferTooSmall => (C::InsufficientBufferSize, "output buffer too small"),
        R::DataLenRange | R::DataInvalid | R::ArgumentsBad | R::KeySizeRange => {
            (C::InvalidArgument, "token rejected the input")
        }
        R::SignatureInvalid | R::SignatureLenRange => {
            (C::OperationFailed, "signature does not verify")
        }
        R::EncryptedDataInvalid | R::EncryptedDataLenRange => {
            (C::OperationFailed, "ciphertext does not authenticate")
        }
        R::TemplateIncomplete | R::TemplateInconsistent | R::AttributeValueInvalid => {
            (C::KeyGenerationFailed, "token rejected the key template")
        }
        _ => (C::OperationFailed, "token operation failed"),
    };
    Error::new(code, detail)
}

/// Whether `e` means the session (or the whole token) is unusable, so the session must not
/// go back to the pool and the login may have to be redone.
pub(crate) fn session_lost(e: &CkError) -> bool {
    matches!(
        e,
        CkError::Pkcs11(
            RvError::SessionClosed
                | RvError::SessionHandleInvalid
                | RvError::DeviceRemoved
                | RvError::DeviceError
                | RvError::TokenNotPresent
                | RvError::UserNotLoggedIn,
            _
        )
    )
}

/// Whether `e` says an object handle we used is not (or no longer) valid.
pub(crate) fn stale_handle(e: &CkError) -> bool {
    matches!(
        e,
        CkError::Pkcs11(RvError::ObjectHandleInvalid | RvError::KeyHandleInvalid, _)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use cryptoki::context::Function;

    #[test]
    fn token_failures_map_to_typed_codes() {
        let m = |rv| map(CkError::Pkcs11(rv, Function::Sign)).code();
        assert_eq!(m(RvError::TokenNotPresent), ErrorCode::ProviderNotAvailable);
        assert_eq!(m(RvError::DeviceRemoved), ErrorCode::ProviderNotAvailable);
        assert_eq!(m(RvError::PinIncorrect), ErrorCode::ProviderNotAvailable);
        assert_eq!(m(RvError::KeyUnextractable), ErrorCode::KeyNotExportable);
        assert_eq!(m(RvError::AttributeSensitive), ErrorCode::KeyNotExportable);
        assert_eq!(
            m(RvError::MechanismInvalid),
            ErrorCode::UnsupportedAlgorithm
        );
        assert_eq!(m(RvError::SignatureInvalid), ErrorCode::OperationFailed);
        assert_eq!(
            m(RvError::KeyFunctionNotPermitted),
            ErrorCode::KeyOperationNotPermitted
        );
        assert_eq!(m(RvError::Cancel), ErrorCode::OperationFailed);
        // SoftHSM answers a GCM tag mismatch with CKR_GENERAL_ERROR: a failed operation,
        // not a lost token (and not worth a retry on a fresh session).
        assert_eq!(m(RvError::GeneralError), ErrorCode::OperationFailed);
        assert!(!session_lost(&CkError::Pkcs11(
            RvError::GeneralError,
            Function::Decrypt
        )));
        assert!(session_lost(&CkError::Pkcs11(
            RvError::DeviceRemoved,
            Function::Sign
        )));
        assert!(!session_lost(&CkError::Pkcs11(
            RvError::SignatureInvalid,
            Function::Verify
        )));
    }
}
