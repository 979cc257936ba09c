//! Byte copies that avoid a slow `rep movsb` case.
//!
//! glibc (2.36 here) copies blocks between about 2 KiB and its "stop threshold" (hundreds of
//! KiB) with `rep movsb` on CPUs that advertise fast string moves. On AMD Zen (this EPYC),
//! `rep movsb` runs about 16× slower when destination and source are 1–15 bytes apart
//! modulo 4096 (page aliasing): measured 9.4 µs instead of 0.6 µs for 32 KiB. Which
//! distance two buffers get depends on allocation addresses, so it came and went between
//! runs (the inline per-KiB cost of the daemon benchmark moved from 0.36 to 0.6 µs/KiB with
//! unrelated changes; perf: 38 % of the client's time in one 32 KiB copy). Copying in 1 KiB
//! pieces keeps every call under the threshold, on glibc's vector loop, which is as fast
//! at any distance (0.60 µs per 32 KiB at every distance tried). Copies of 1 MiB and more,
//! past the stop threshold, do not use `rep movsb` and go in one call.

/// Pieces small enough never to take glibc's `rep movsb` path.
const PIECE: usize = 1024;
/// From this length on glibc's copy does not use `rep movsb` (its stop threshold is below).
const WHOLE_FROM: usize = 1 << 20;

/// Copies `src` into `dst` (equal lengths, like `copy_from_slice`), avoiding the slow
/// `rep movsb` case described in the module docs.
///
/// # Panics
/// If the lengths differ, like `copy_from_slice`.
#[inline]
pub fn copy(dst: &mut [u8], src: &[u8]) {
    assert_eq!(
        dst.len(),
        src.len(),
        "copy between slices of different lengths"
    );
    if src.len() <= PIECE || src.len() >= WHOLE_FROM {
        dst.copy_from_slice(src);
        return;
    }
    for (d, s) in dst.chunks_mut(PIECE).zip(src.chunks(PIECE)) {
        d.copy_from_slice(s);
    }
}

/// A `Vec` holding a copy of `src`, made with [`copy`].
#[cfg(feature = "std")]
pub fn to_vec(src: &[u8]) -> std::vec::Vec<u8> {
    let mut v = std::vec![0u8; src.len()];
    copy(&mut v, src);
    v
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    #[test]
    fn copies_every_byte_at_every_size_class() {
        for len in [
            0,
            1,
            PIECE - 1,
            PIECE,
            PIECE + 1,
            32 * 1024 + 7,
            WHOLE_FROM + 3,
        ] {
            let src: std::vec::Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let mut dst = std::vec![0u8; len];
            copy(&mut dst, &src);
            assert_eq!(dst, src, "length {len}");
            assert_eq!(to_vec(&src), src, "length {len}");
        }
    }

    #[test]
    #[should_panic(expected = "different lengths")]
    fn refuses_different_lengths() {
        copy(&mut [0u8; 3], &[1u8; 4]);
    }
}
