//! Files above the inline bound go through shared memory (the data plane, issue 13): the
//! file is read into a region the daemon maps, and the one-shot algorithms (Ed25519, ML-DSA,
//! SLH-DSA, AES-GCM, ChaCha20-Poly1305) run over it whole, so a 50 MB file signs and encrypts.
//! Standard input keeps the streaming path (and its bound).

use std::io::Read;
use std::path::Path;

use warden_client::{
    AeadContext, CryptoStack, MemoryAllocator, MemoryRegion, SignContext, VerifyContext,
};

use crate::failure::Failure;
use crate::io::chunk_for;

/// The size of `path` when it is a regular file too large for one inline frame.
pub fn large_file(stack: &CryptoStack, path: Option<&Path>) -> Option<u64> {
    let meta = std::fs::metadata(crate::io::named(path)?).ok()?;
    let inline = chunk_for(stack.max_frame_len()) as u64;
    (meta.is_file() && meta.len() > inline).then_some(meta.len())
}

/// The per-operation budget for a one-shot over `size` bytes: the stack default covers small
/// inputs; a whole file takes time in proportion to its size (about 1 s per 2 MiB allowed,
/// generous for a loaded machine), so its context gets that much more.
pub fn timeout_for(size: Option<u64>) -> Option<warden_client::Timeout> {
    let mib = size? >> 20;
    let ms = 5_000u64.saturating_add(mib.saturating_mul(500));
    Some(warden_client::Timeout::Millis(
        u32::try_from(ms).unwrap_or(u32::MAX),
    ))
}

fn region_failure(e: warden_client::Error) -> Failure {
    if e.code() == warden_client::ErrorCode::QuotaExceeded {
        return Failure::Daemon(
            e.code(),
            "the file does not fit the daemon's shared-memory region budget ([limits] \
             region_bytes_per_connection / _per_uid / _total), or your other connections hold \
             it now"
                .to_owned(),
        );
    }
    Failure::from_client(e)
}

/// A region of `len` bytes (at least one) holding bytes `skip`..`skip + n` of `path` at
/// offset `at`. `path` must still be `file_len` bytes long once they are read: a file that
/// grew meanwhile would otherwise be signed or encrypted only in part, silently.
fn load(
    stack: &CryptoStack,
    path: &Path,
    (skip, at): (u64, usize),
    (n, file_len): (usize, u64),
    len: usize,
) -> Result<MemoryRegion, Failure> {
    let mem = MemoryAllocator::for_stack(stack);
    let mut r = mem.allocate(len.max(1)).map_err(region_failure)?;
    let mut f = std::fs::File::open(path).map_err(|e| Failure::io(path, e))?;
    std::io::copy(&mut (&mut f).take(skip), &mut std::io::sink())
        .map_err(|e| Failure::io(path, e))?;
    let dst = r
        .as_mut_slice()
        .get_mut(at..)
        .and_then(|rest| rest.get_mut(..n))
        .ok_or(Failure::Internal("region shorter than the file"))?;
    f.read_exact(dst).map_err(|e| Failure::io(path, e))?;
    let now = f.metadata().map_err(|e| Failure::io(path, e))?.len();
    if now != file_len {
        return Err(Failure::io(
            path,
            std::io::Error::other(format!(
                "the file changed size while it was read ({file_len} then {now} bytes)"
            )),
        ));
    }
    Ok(r)
}

fn usize_of(n: u64) -> Result<usize, Failure> {
    usize::try_from(n).map_err(|_| Failure::Usage("file too large for this machine".into()))
}

/// Signs the whole file.
pub fn sign(
    ctx: &mut SignContext,
    stack: &CryptoStack,
    path: &Path,
    size: u64,
) -> Result<Vec<u8>, Failure> {
    let n = usize_of(size)?;
    let r = load(stack, path, (0, 0), (n, size), n)?;
    let msg = r.slice(0..n).map_err(Failure::from_client)?;
    ctx.sign_region(&r, msg).map_err(Failure::from_client)
}

/// Verifies `sig` over the whole file.
pub fn verify(
    ctx: &mut VerifyContext,
    stack: &CryptoStack,
    path: &Path,
    size: u64,
    sig: &[u8],
) -> Result<Result<(), warden_client::Error>, Failure> {
    let n = usize_of(size)?;
    let r = load(stack, path, (0, 0), (n, size), n)?;
    let msg = r.slice(0..n).map_err(Failure::from_client)?;
    Ok(ctx.verify_region(&r, msg, sig))
}

/// Encrypts the whole file and hands `nonce ‖ ciphertext ‖ tag` to `emit` straight from the
/// region. Sealed in place (the region holds the file's size once) where the key's provider
/// can; else, or against a daemon from before in-place sealing, with the plaintext and the
/// ciphertext side by side (twice the file).
pub fn encrypt<R>(
    ctx: &mut AeadContext,
    stack: &CryptoStack,
    path: &Path,
    size: u64,
    lens: (usize, usize),
    aad: &[u8],
    emit: impl FnOnce(&[u8]) -> Result<R, Failure>,
) -> Result<R, Failure> {
    use warden_client::ErrorCode as E;
    let n = usize_of(size)?;
    let (r, out) = match seal_file(ctx, stack, path, n, lens, aad, true) {
        Err(Failure::Daemon(E::UnsupportedOperation | E::InvalidMemoryRegion, _)) => {
            seal_file(ctx, stack, path, n, lens, aad, false)?
        }
        sealed => sealed?,
    };
    emit(
        r.as_slice()
            .get(out)
            .ok_or(Failure::Internal("output outside the region"))?,
    )
}

/// Seals the `n`-byte file into a region: `in_place`, laid out nonce ‖ plaintext → ciphertext
/// ‖ tag; else plaintext ‖ nonce ‖ ciphertext ‖ tag. Returns the region and the range of
/// `nonce ‖ ciphertext ‖ tag` in it.
fn seal_file(
    ctx: &mut AeadContext,
    stack: &CryptoStack,
    path: &Path,
    n: usize,
    (nonce_len, tag_len): (usize, usize),
    aad: &[u8],
    in_place: bool,
) -> Result<(MemoryRegion, std::ops::Range<usize>), Failure> {
    let too_large = || Failure::Usage("file too large".into());
    let base = if in_place { 0 } else { n };
    let ct_at = base.checked_add(nonce_len).ok_or_else(too_large)?;
    let tag_at = ct_at.checked_add(n).ok_or_else(too_large)?;
    let end = tag_at.checked_add(tag_len).ok_or_else(too_large)?;
    let data_at = if in_place { ct_at } else { 0 };
    let mut r = load(stack, path, (0, data_at), (n, n as u64), end)?;
    let (input, output) = (
        r.slice(data_at..data_at + n)
            .map_err(Failure::from_client)?,
        r.slice(ct_at..tag_at).map_err(Failure::from_client)?,
    );
    let sealed = ctx
        .seal_region(&mut r, aad, input, output)
        .map_err(Failure::from_client)?;
    if sealed.nonce.len() != nonce_len || sealed.tag.len() != tag_len || sealed.len != n {
        return Err(Failure::Internal(
            "the daemon answered with unexpected nonce, tag or ciphertext lengths",
        ));
    }
    let all = r.as_mut_slice();
    all.get_mut(base..ct_at)
        .ok_or(Failure::Internal("nonce outside the region"))?
        .copy_from_slice(&sealed.nonce);
    all.get_mut(tag_at..end)
        .ok_or(Failure::Internal("tag outside the region"))?
        .copy_from_slice(&sealed.tag);
    Ok((r, base..end))
}

/// Decrypts a whole `nonce ‖ ciphertext ‖ tag` file in place (the daemon decrypts a private
/// copy, so the region holds the file's size once) and hands the plaintext to `emit` straight
/// from the region; `Ok(Err(e))` when the daemon refused (authentication failure included),
/// with nothing decrypted and `emit` not called.
pub fn decrypt<R>(
    ctx: &mut AeadContext,
    stack: &CryptoStack,
    path: &Path,
    size: u64,
    (nonce_len, tag_len): (usize, usize),
    aad: &[u8],
    emit: impl FnOnce(&[u8]) -> Result<R, Failure>,
) -> Result<Result<R, warden_client::Error>, Failure> {
    let size = usize_of(size)?;
    let n = size.checked_sub(nonce_len + tag_len).ok_or(Failure::Usage(
        "input is shorter than a nonce and a tag".into(),
    ))?;
    let mut head = vec![0u8; nonce_len];
    let mut f = std::fs::File::open(path).map_err(|e| Failure::io(path, e))?;
    f.read_exact(&mut head).map_err(|e| Failure::io(path, e))?;
    let mut tag = vec![0u8; tag_len];
    {
        use std::io::{Seek, SeekFrom};
        f.seek(SeekFrom::Start((nonce_len + n) as u64))
            .map_err(|e| Failure::io(path, e))?;
        f.read_exact(&mut tag).map_err(|e| Failure::io(path, e))?;
    }
    let mut r = load(stack, path, (nonce_len as u64, 0), (n, size as u64), n)?;
    let ct = r.slice(0..n).map_err(Failure::from_client)?;
    match ctx.open_region(&mut r, &head, aad, ct, &tag, ct) {
        Ok(len) => {
            let plain = r
                .as_slice()
                .get(..len)
                .ok_or(Failure::Internal("plaintext outside the region"))?;
            emit(plain).map(Ok)
        }
        Err(e) => Ok(Err(e)),
    }
}
