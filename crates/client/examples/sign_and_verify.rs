//! The README's "From Rust" example: a key in a persistent slot, a reusable signing context
//! that signs in one request, and a verification.
//!
//! Run against a daemon: `cargo run -p warden-client --example sign_and_verify`
//! (`WARDEN_SOCKET` or the default socket path; the slot name must be free).

use warden_client::*;

fn main() -> Result<()> {
    let stack = CryptoStack::connect(StackConfig::new())?; // WARDEN_SOCKET or the default path
    let km = stack.key_management();
    km.generate_key_into(
        "example.signing",
        &GenerateKeyParams::builder()
            .algorithm(Algorithm::Ed25519)
            .permissions(KeyOperationPermission::SIGN.union(KeyOperationPermission::VERIFY))
            .build()?,
    )?;
    let key = km.resolve("example.signing")?;
    let cfg = ContextConfig::builder()
        .algorithm(Algorithm::Ed25519)
        .key(key.id())
        .build()?;
    let mut signer = stack.create_sign_context(&cfg)?;
    let sig = signer.sign(b"release 4.2 manifest")?; // one request
    stack
        .create_verify_context(&cfg)?
        .verify(b"release 4.2 manifest", &sig)?;
    println!("signed and verified: {} signature bytes", sig.len());
    km.delete_slot("example.signing")?;
    Ok(())
}
