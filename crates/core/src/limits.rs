//! Bounds the parameter builders enforce. They exist so that no request can make the daemon
//! allocate or compute without limit; the values are policy, chosen generously.

/// Largest symmetric secret (HMAC key, generic secret, derived key) in bytes: 255 × 48, the
/// longest output of HKDF-SHA384 (RFC 5869 section 2.3), so every HKDF output warden offers
/// fits in a key object (issue 15; it was 1024).
pub const MAX_SECRET_KEY_LEN: u32 = 255 * 48;

/// Smallest *generated* HMAC key or generic secret in bytes (128 bits). Imported and derived
/// secrets may be shorter; generating a weak key on purpose is refused.
pub const MIN_GENERATED_SECRET_LEN: u32 = 16;

/// RSA modulus sizes accepted for key generation.
pub const RSA_BITS: &[u32] = &[2048, 3072, 4096];

/// Largest salt, info, label, seed or context given to a KDF, in bytes.
pub const MAX_KDF_INPUT_LEN: usize = 1024;

/// Largest PBKDF2 iteration count (bounds the CPU one request can burn).
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;

/// Largest TLS 1.3 label without the `"tls13 "` prefix (RFC 8446: `label<7..255>`).
pub const MAX_TLS13_LABEL_LEN: usize = 255 - 6;

/// Largest TLS 1.3 context (RFC 8446: `context<0..255>`).
pub const MAX_TLS13_CONTEXT_LEN: usize = 255;

/// Largest peer public key accepted for key agreement, in bytes.
pub const MAX_PEER_PUBLIC_LEN: usize = 1024;

/// Operation timeout the design uses when a context does not override it.
pub const DEFAULT_TIMEOUT_MS: u32 = 5000;
