//! Fuzzes what `warden-cert` does with client bytes: certificate parsing and key matching,
//! CRL admission against a fixed anchor, and chain verification of arbitrary leaf and
//! intermediate bytes. Everything must fail with a typed error, never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let (a, b) = data.split_at(split);
    let _ = warden_cert::CertInfo::parse(data);
    let _ = warden_cert::ensure_key_matches(a, b);
    let _ = warden_cert::check_crl(b, &[a.to_vec()], None);
    let _ = warden_cert::check_crl(a, &[b.to_vec()], Some(b));
    let _ = warden_cert::crl_summary(data);
    let usage = warden_cert::Usage {
        eku: Some("1.3.6.1.5.5.7.3.2"),
        key_usage: 1,
    };
    let _ = warden_cert::verify_chain(&[a.to_vec()], b, &[a.to_vec()], &[b.to_vec()], 1_750_000_000, &usage);
});
