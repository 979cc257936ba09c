//! Every error code's numeric value, name and round trip, checked against the table in
//! `shared/reference/seed-facts.md` (written out here by hand, not generated from the enum).

use warden_core::{Error, ErrorCode};

/// (name, value) exactly as seed-facts lists them: `0x01CCxxxx`, counting from 1 within each
/// category in the listed order.
const TABLE: &[(&str, u32)] = &[
    // 01 stack
    ("UninitializedStack", 0x0101_0001),
    ("AlreadyInitialized", 0x0101_0002),
    ("ConnectionFailed", 0x0101_0003),
    ("InternalError", 0x0101_0004),
    // 02 operation
    ("UnsupportedOperation", 0x0102_0001),
    ("InvalidOperation", 0x0102_0002),
    ("OperationFailed", 0x0102_0003),
    ("OperationTimedOut", 0x0102_0004),
    // 03 argument
    ("InvalidArgument", 0x0103_0001),
    ("ResourceNotFound", 0x0103_0002),
    ("InvalidResourceId", 0x0103_0003),
    ("InvalidResourceType", 0x0103_0004),
    ("InsufficientBufferSize", 0x0103_0005),
    ("InvalidFormat", 0x0103_0006),
    ("ParamTruncated", 0x0103_0007),
    // 04 stream
    ("StreamNotInitialized", 0x0104_0001),
    ("StreamAlreadyActive", 0x0104_0002),
    ("StreamIncomplete", 0x0104_0003),
    // 05 algorithm
    ("UnsupportedAlgorithm", 0x0105_0001),
    ("AlgorithmMismatch", 0x0105_0002),
    // 06 memory
    ("AllocationFailed", 0x0106_0001),
    ("QuotaExceeded", 0x0106_0002),
    ("InvalidMemoryRegion", 0x0106_0003),
    // 07 context
    ("ContextCreationFailed", 0x0107_0001),
    ("ContextAlreadyDestroyed", 0x0107_0002),
    ("ContextResetFailed", 0x0107_0003),
    ("SessionExpired", 0x0107_0004),
    // 08 key
    ("KeySlotEmpty", 0x0108_0001),
    ("KeySlotOccupied", 0x0108_0002),
    ("KeyNotExportable", 0x0108_0003),
    ("KeyGenerationFailed", 0x0108_0004),
    ("KeyDerivationFailed", 0x0108_0005),
    ("KeyAgreementFailed", 0x0108_0006),
    ("WrapUnwrapFailed", 0x0108_0007),
    ("PersistFailed", 0x0108_0008),
    ("IncompatibleKeyType", 0x0108_0009),
    ("KeyOperationNotPermitted", 0x0108_000A),
    // 09 certificate
    ("CertificateParsingFailed", 0x0109_0001),
    ("CertificateExpired", 0x0109_0002),
    ("CertificateRevoked", 0x0109_0003),
    ("CertificateVerifyFailed", 0x0109_0004),
    ("CertChainVerifyFailed", 0x0109_0005),
    ("CrlImportFailed", 0x0109_0006),
    ("CsrGenerationFailed", 0x0109_0007),
    ("OcspError", 0x0109_0008),
    ("TrustAnchorNotFound", 0x0109_0009),
    // 0A provider
    ("ProviderNotAvailable", 0x010A_0001),
    ("ProviderBusy", 0x010A_0002),
    ("CrossProviderIncompatible", 0x010A_0003),
    // 0B access
    ("AccessDenied", 0x010B_0001),
    ("ResourceNotAllocated", 0x010B_0002),
];

#[test]
fn every_code_has_the_value_from_the_table() {
    for &(name, value) in TABLE {
        let code = ErrorCode::from_u32(value).unwrap_or_else(|| panic!("{value:#010x} missing"));
        assert_eq!(code.name(), name, "value {value:#010x}");
        assert_eq!(code.as_u32(), value, "{name}");
        assert_eq!(u32::from(code), value);
        assert_eq!(code.category(), ((value >> 16) & 0xFF) as u8);
    }
}

#[test]
fn enum_has_exactly_the_table_codes() {
    assert_eq!(ErrorCode::ALL.len(), TABLE.len());
    for code in ErrorCode::ALL {
        assert!(
            TABLE
                .iter()
                .any(|&(n, v)| n == code.name() && v == code.as_u32()),
            "{code:?} is not in the seed table"
        );
    }
}

#[test]
fn spot_check_named_values() {
    assert_eq!(ErrorCode::KeyOperationNotPermitted as u32, 0x0108_000A);
    assert_eq!(ErrorCode::UninitializedStack.as_u32(), 0x0101_0001);
    assert_eq!(ErrorCode::ResourceNotAllocated.as_u32(), 0x010B_0002);
    assert_eq!(ErrorCode::ParamTruncated.as_u32(), 0x0103_0007);
}

#[test]
fn from_u32_round_trips_and_rejects_every_other_value_in_the_domain() {
    // Exhaustive over the low 16 bits of every category 0x00..=0x10.
    let mut found = 0;
    for category in 0u32..=0x10 {
        for low in 0u32..=0xFFFF {
            let v = 0x0100_0000 | (category << 16) | low;
            match ErrorCode::from_u32(v) {
                Some(code) => {
                    assert_eq!(code.as_u32(), v);
                    found += 1;
                }
                None => assert!(!TABLE.iter().any(|&(_, t)| t == v), "{v:#010x} lost"),
            }
        }
    }
    assert_eq!(found, TABLE.len());
    for v in [
        0,
        1,
        0x0001_0001,
        0x0201_0001,
        u32::MAX,
        0x0108_000B,
        0x0101_0000,
    ] {
        assert_eq!(ErrorCode::from_u32(v), None, "{v:#x}");
    }
}

#[test]
fn try_from_unknown_is_invalid_argument() {
    let err = ErrorCode::try_from(0x0199_0001).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    assert_eq!(
        ErrorCode::try_from(0x0108_000A).unwrap(),
        ErrorCode::KeyOperationNotPermitted
    );
}

#[test]
fn display_prints_the_name() {
    for &(name, value) in TABLE {
        let code = ErrorCode::from_u32(value).unwrap();
        assert_eq!(code.to_string(), name);
    }
    assert_eq!(
        ErrorCode::KeyOperationNotPermitted.to_string(),
        "KeyOperationNotPermitted"
    );
}

#[test]
fn error_carries_code_and_static_detail() {
    let e = Error::new(ErrorCode::InvalidArgument, "algorithm is required");
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert_eq!(e.detail(), "algorithm is required");
    assert_eq!(e.to_string(), "InvalidArgument: algorithm is required");
    let bare: Error = ErrorCode::AccessDenied.into();
    assert_eq!(bare.to_string(), "AccessDenied");
    assert_eq!(bare.detail(), "");
}

#[test]
fn error_is_a_std_error() {
    fn boxed() -> Result<(), Box<dyn std::error::Error>> {
        Err(Error::from(ErrorCode::OperationFailed))?;
        Ok(())
    }
    assert_eq!(boxed().unwrap_err().to_string(), "OperationFailed");
}
