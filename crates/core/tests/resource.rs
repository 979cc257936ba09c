//! Resource ids, types and persistence: stable values and the fixed 16-byte encoding.

use warden_core::{ErrorCode, Persistence, ResourceId, ResourceType};

#[test]
fn resource_type_values_are_stable_in_seed_order() {
    let expected = [
        (ResourceType::Provider, 1),
        (ResourceType::KeySlot, 2),
        (ResourceType::CertSlot, 3),
        (ResourceType::VerificationTrustStore, 4),
        (ResourceType::Key, 5),
        (ResourceType::Certificate, 6),
        (ResourceType::Crl, 7),
        (ResourceType::SecureObject, 8),
        (ResourceType::DataObject, 9),
    ];
    assert_eq!(ResourceType::ALL.len(), expected.len());
    for (t, v) in expected {
        assert_eq!(t.as_u16(), v);
        assert_eq!(ResourceType::from_u16(v).unwrap(), t);
    }
    for bad in [0, 10, u16::MAX] {
        assert_eq!(
            ResourceType::from_u16(bad).unwrap_err().code(),
            ErrorCode::InvalidResourceType
        );
    }
    assert_eq!(Persistence::from_u8(1).unwrap(), Persistence::Persistent);
    assert_eq!(Persistence::from_u8(2).unwrap(), Persistence::Ephemeral);
    assert_eq!(
        Persistence::from_u8(0).unwrap_err().code(),
        ErrorCode::InvalidResourceId
    );
}

#[test]
fn encode_decode_round_trip() {
    for &t in ResourceType::ALL {
        for p in [Persistence::Persistent, Persistence::Ephemeral] {
            for (id, provider) in [
                (0, 0),
                (1, 1),
                (u64::MAX, u16::MAX),
                (0x0102_0304_0506_0708, 0x0A0B),
            ] {
                let r = ResourceId::new(id, t, p, provider);
                assert_eq!(ResourceId::decode(&r.encode()).unwrap(), r);
            }
        }
    }
}

#[test]
fn encoding_layout_is_little_endian() {
    let r = ResourceId::new(
        0x0102_0304_0506_0708,
        ResourceType::Key,
        Persistence::Ephemeral,
        0x0A0B,
    );
    assert_eq!(
        r.encode(),
        [8, 7, 6, 5, 4, 3, 2, 1, 5, 0, 2, 0, 0x0B, 0x0A, 0, 0]
    );
}

#[test]
fn decode_rejects_malformed_input() {
    let good = ResourceId::new(5, ResourceType::Key, Persistence::Persistent, 1).encode();
    assert_eq!(
        ResourceId::decode(&good[..15]).unwrap_err().code(),
        ErrorCode::InvalidResourceId
    );
    assert_eq!(
        ResourceId::decode(&[0; 17]).unwrap_err().code(),
        ErrorCode::InvalidResourceId
    );
    assert_eq!(
        ResourceId::decode(&[]).unwrap_err().code(),
        ErrorCode::InvalidResourceId
    );
    for reserved in [11, 14, 15] {
        let mut b = good;
        b[reserved] = 1;
        assert_eq!(
            ResourceId::decode(&b).unwrap_err().code(),
            ErrorCode::InvalidResourceId
        );
    }
    let mut bad_type = good;
    bad_type[8] = 0x63;
    assert_eq!(
        ResourceId::decode(&bad_type).unwrap_err().code(),
        ErrorCode::InvalidResourceType
    );
    let mut bad_persistence = good;
    bad_persistence[10] = 3;
    assert_eq!(
        ResourceId::decode(&bad_persistence).unwrap_err().code(),
        ErrorCode::InvalidResourceId
    );
}
