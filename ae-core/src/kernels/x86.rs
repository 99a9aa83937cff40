//! AVX2 dot products for x86-64 hosts, written with `core::arch` intrinsics, and the float layers.
//!
//! Left to the auto-vectorizer, the lane-parallel loops in [`super`] ran two to four times slower
//! than these (the row-block closures ended up outside the AVX2 copy, the 64-long decoder rows
//! were reduced one at a time, and the int8 paths widened every product to 32 bits). These are
//! the same computations spelled out:
//!
//! * float: sixteen lanes as two 256-bit registers per row, multiplied then added (no FMA), and
//!   reduced with the same pairwise tree as [`super::dot_f32_rows`] — for the decoder, eight rows
//!   at once on transposed registers — so the bits are the portable kernel's;
//! * integer: `vpmaddwd` on sign-extended weights (sixteen products per instruction, summed in
//!   pairs into 32 bits), for the int8 layers in `int8/x86.rs` (whose encoder uses `vpmaddubsw`
//!   on split pixels instead). Integer sums are exact, so any order gives the portable result.
//!
//! Every function here needs AVX2; the layer functions' callers check for it once per call (with
//! the `std` feature) or know it at compile time (`target_feature = "avx2"`).

// Intrinsics by their Intel names, as the reference documents them.
use core::arch::x86_64::*;

use super::LANES;

// Helpers are `#[inline(always)] unsafe fn` rather than `#[target_feature]` functions because only
// the former are guaranteed to be inlined into the AVX2 layer functions below (stable Rust does
// not allow `#[inline(always)]` together with `#[target_feature]`, and a call per block of rows
// costs more than the block). Their one safety condition, besides what each states: the CPU
// supports AVX2, which the layer functions' callers establish.

/// `R` float dot products of `rows` with `x`, bit-identical to [`super::dot_f32_rows`].
///
/// # Safety
/// The CPU supports AVX2.
#[inline(always)]
pub unsafe fn dot_f32_rows<const R: usize>(rows: [&[f32]; R], x: &[f32]) -> [f32; R] {
    let (x_chunks, x_tail) = x.as_chunks::<LANES>();
    let mut n = x_chunks.len();
    for r in rows {
        n = n.min(r.len() / LANES);
    }
    // SAFETY: AVX2 is available (the caller's contract); every load reads 8 floats from the start
    // or the middle of a whole 16-float chunk, and the chunk indices stay below `n`, which no row
    // and not `x` falls short of.
    unsafe {
        let mut lo = [_mm256_setzero_ps(); R];
        let mut hi = [_mm256_setzero_ps(); R];
        for (k, xv) in x_chunks.iter().take(n).enumerate() {
            let x_lo = _mm256_loadu_ps(xv.as_ptr());
            let x_hi = _mm256_loadu_ps(xv.as_ptr().add(8));
            for r in 0..R {
                let w = rows[r].as_ptr().add(k * LANES);
                lo[r] = _mm256_add_ps(lo[r], _mm256_mul_ps(x_lo, _mm256_loadu_ps(w)));
                hi[r] = _mm256_add_ps(hi[r], _mm256_mul_ps(x_hi, _mm256_loadu_ps(w.add(8))));
            }
        }
        let mut out = [0.0f32; R];
        for r in 0..R {
            let tail_w = rows[r].get(n * LANES..).unwrap_or(&[]);
            let mut tail = 0.0f32;
            for (&a, &b) in x_tail.iter().zip(tail_w) {
                tail += a * b;
            }
            out[r] = reduce_f32(lo[r], hi[r]) + tail;
        }
        out
    }
}

/// The dot products of eight consecutive rows of `block` (each `x.len()` long, a multiple of
/// [`LANES`]) with `x`, as one vector (row `r` in lane `r`). Bit-identical to
/// [`super::dot_f32_rows`]: the same lanes and the same pairwise tree, run for eight rows at once
/// on transposed data instead of one row at a time.
///
/// # Safety
/// The CPU supports AVX2, `x.len()` is a multiple of [`LANES`] and `block.len() >= 8 * x.len()`.
#[inline(always)]
unsafe fn dot8_f32_block(block: &[f32], x: &[f32]) -> __m256 {
    let row_len = x.len();
    let x_chunks = x.as_chunks::<LANES>().0;
    // SAFETY: AVX2 is available and `block` holds eight rows of `row_len` (the caller's
    // contract); every load reads 8 floats from the start or the middle of a whole 16-float chunk
    // of `x` or of a row.
    unsafe {
        // Width 8 of the tree: lane l + lane l + 8, one vector per row. Four rows at a time share
        // each load of `x` (eight accumulators; all eight rows would not fit the registers).
        let mut s8 = [_mm256_setzero_ps(); 8];
        for half in 0..2 {
            let mut lo = [_mm256_setzero_ps(); 4];
            let mut hi = [_mm256_setzero_ps(); 4];
            for (k, xv) in x_chunks.iter().enumerate() {
                let x_lo = _mm256_loadu_ps(xv.as_ptr());
                let x_hi = _mm256_loadu_ps(xv.as_ptr().add(8));
                for r in 0..4 {
                    let w = block.as_ptr().add((4 * half + r) * row_len + k * LANES);
                    lo[r] = _mm256_add_ps(lo[r], _mm256_mul_ps(x_lo, _mm256_loadu_ps(w)));
                    hi[r] = _mm256_add_ps(hi[r], _mm256_mul_ps(x_hi, _mm256_loadu_ps(w.add(8))));
                }
            }
            for r in 0..4 {
                s8[4 * half + r] = _mm256_add_ps(lo[r], hi[r]);
            }
        }
        reduce8_rows(s8)
    }
}

/// The rest of the pairwise tree for eight rows whose width-8 step is done (`s8[r]` holds row
/// `r`'s lanes `l + (l + 8)`), as one vector of the eight row sums, each `+ 0.0` like the
/// portable kernel's empty tail.
///
/// # Safety
/// The CPU supports AVX2.
#[inline(always)]
pub(crate) unsafe fn reduce8_rows(s8: [__m256; 8]) -> __m256 {
    // SAFETY: register-only AVX instructions; AVX2 is available (the caller's contract).
    unsafe {
        // Width 4, two rows per vector: [row a lanes 0-3 | row b lanes 0-3]. (Plain loops, not
        // closures: a closure here would be compiled without AVX2.)
        let mut s4 = [_mm256_setzero_ps(); 4];
        for (p, pair) in s4.iter_mut().enumerate() {
            let (a, b) = (s8[2 * p], s8[2 * p + 1]);
            *pair = _mm256_add_ps(
                _mm256_permute2f128_ps::<0x20>(a, b),
                _mm256_permute2f128_ps::<0x31>(a, b),
            );
        }
        // Width 2: [r0 l0, r0 l1, r2 l0, r2 l1 | r1 l0, r1 l1, r3 l0, r3 l1], and rows 4-7.
        let mut s2 = [_mm256_setzero_ps(); 2];
        for (q, quad) in s2.iter_mut().enumerate() {
            let (a, b) = (s4[2 * q], s4[2 * q + 1]);
            *quad = _mm256_add_ps(
                _mm256_shuffle_ps::<0b01_00_01_00>(a, b),
                _mm256_shuffle_ps::<0b11_10_11_10>(a, b),
            );
        }
        // Width 1: [r0, r2, r4, r6 | r1, r3, r5, r7].
        let s1 = _mm256_add_ps(
            _mm256_shuffle_ps::<0b10_00_10_00>(s2[0], s2[1]),
            _mm256_shuffle_ps::<0b11_01_11_01>(s2[0], s2[1]),
        );
        let sums = _mm256_permutevar8x32_ps(s1, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        // The portable kernel adds its (here empty) tail: `+ 0.0`, which matters for `-0.0`.
        _mm256_add_ps(sums, _mm256_setzero_ps())
    }
}

/// The pairwise reduction of [`super::dot_f32_rows`]: lane `l` gets lane `l + 8`, then `l + 4`,
/// `l + 2` and `l + 1`, with lanes 0-7 in `lo` and 8-15 in `hi`.
///
/// # Safety
/// The CPU supports AVX2.
#[inline(always)]
pub(crate) unsafe fn reduce_f32(lo: __m256, hi: __m256) -> f32 {
    // SAFETY: register-only AVX instructions; AVX2 is available (the caller's contract).
    unsafe {
        let s8 = _mm256_add_ps(lo, hi);
        let s4: __m128 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps::<1>(s8));
        let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
        let s1 = _mm_add_ss(s2, _mm_shuffle_ps::<0b01>(s2, s2));
        _mm_cvtss_f32(s1)
    }
}

/// Loads 16 bytes and widens them to 16 lanes of `i16`, sign-extending if `SIGNED`.
///
/// # Safety
/// The CPU supports AVX2 and `ptr` is valid for reading 16 bytes.
#[inline(always)]
pub(crate) unsafe fn widen16<const SIGNED: bool>(ptr: *const u8) -> __m256i {
    // SAFETY: the caller guarantees AVX2 and 16 readable bytes.
    unsafe {
        let bytes = _mm_loadu_si128(ptr.cast());
        if SIGNED {
            _mm256_cvtepi8_epi16(bytes)
        } else {
            _mm256_cvtepu8_epi16(bytes)
        }
    }
}

/// Sum of the eight `i32` lanes (wrapping, like the portable sums).
///
/// # Safety
/// The CPU supports AVX2.
#[inline(always)]
pub(crate) unsafe fn hsum_i32(v: __m256i) -> i32 {
    // SAFETY: register-only AVX2 instructions; AVX2 is available (the caller's contract).
    unsafe {
        let s4 = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
        let s2 = _mm_add_epi32(s4, _mm_shuffle_epi32::<0b01_00_11_10>(s4));
        let s1 = _mm_add_epi32(s2, _mm_shuffle_epi32::<0b10_11_00_01>(s2));
        _mm_cvtsi128_si32(s1)
    }
}

/// `R` dot products of int8 rows with unsigned pixels; equal to [`super::dot_u8_i8_rows`].
///
/// # Safety
/// The CPU supports AVX2.
#[inline(always)]
pub unsafe fn dot_u8_i8_rows<const R: usize>(rows: [&[i8]; R], x: &[u8]) -> [i32; R] {
    let (x_chunks, x_tail) = x.as_chunks::<16>();
    let mut n = x_chunks.len();
    for r in rows {
        n = n.min(r.len() / 16);
    }
    // SAFETY: AVX2 is available (the caller's contract); every load reads one whole 16-byte
    // chunk, at chunk indices below `n`, which no row and not `x` falls short of.
    unsafe {
        let mut acc = [_mm256_setzero_si256(); R];
        for (k, xv) in x_chunks.iter().take(n).enumerate() {
            let xw = widen16::<false>(xv.as_ptr());
            for r in 0..R {
                let ww = widen16::<true>(rows[r].as_ptr().add(k * 16).cast());
                acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(xw, ww));
            }
        }
        let mut out = [0i32; R];
        for r in 0..R {
            let tail_w = rows[r].get(n * 16..).unwrap_or(&[]);
            let mut tail = 0i32;
            for (&a, &b) in x_tail.iter().zip(tail_w) {
                tail = tail.wrapping_add(i32::from(a) * i32::from(b));
            }
            out[r] = hsum_i32(acc[r]).wrapping_add(tail);
        }
        out
    }
}

/// Eight dot products of int8 rows with centred codes, as one vector (row `r` in lane `r`); equal
/// to [`super::dot_i16_i8_rows`].
///
/// # Safety
/// The CPU supports AVX2.
#[inline(always)]
pub unsafe fn dot8_i16_i8_rows(rows: [&[i8]; 8], x: &[i16]) -> __m256i {
    let (x_chunks, x_tail) = x.as_chunks::<16>();
    let mut n = x_chunks.len();
    for r in rows {
        n = n.min(r.len() / 16);
    }
    // SAFETY: AVX2 is available (the caller's contract); every load reads one whole chunk (16
    // bytes of a row, 16 values of `x`) at chunk indices below `n`, which no row and not `x`
    // falls short of.
    unsafe {
        let mut acc = [_mm256_setzero_si256(); 8];
        for (k, xv) in x_chunks.iter().take(n).enumerate() {
            let xw = _mm256_loadu_si256(xv.as_ptr().cast());
            for r in 0..8 {
                let ww = widen16::<true>(rows[r].as_ptr().add(k * 16).cast());
                acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(xw, ww));
            }
        }
        let mut tails = [0i32; 8];
        for r in 0..8 {
            let tail_w = rows[r].get(n * 16..).unwrap_or(&[]);
            for (&a, &b) in x_tail.iter().zip(tail_w) {
                tails[r] = tails[r].wrapping_add(i32::from(a) * i32::from(b));
            }
        }
        let tails = _mm256_loadu_si256(tails.as_ptr().cast());
        _mm256_add_epi32(transpose_sum(acc), tails)
    }
}

/// Lane `r` of the result is the sum of the eight lanes of `v[r]`.
///
/// # Safety
/// The CPU supports AVX2.
#[inline(always)]
pub(crate) unsafe fn transpose_sum(v: [__m256i; 8]) -> __m256i {
    // SAFETY: register-only AVX2 instructions; AVX2 is available (the caller's contract).
    unsafe {
        let h01 = _mm256_hadd_epi32(v[0], v[1]);
        let h23 = _mm256_hadd_epi32(v[2], v[3]);
        let h45 = _mm256_hadd_epi32(v[4], v[5]);
        let h67 = _mm256_hadd_epi32(v[6], v[7]);
        // Per 128-bit half: partial sums of rows 0-3, and of rows 4-7.
        let h0123 = _mm256_hadd_epi32(h01, h23);
        let h4567 = _mm256_hadd_epi32(h45, h67);
        let low_halves = _mm256_permute2x128_si256::<0x20>(h0123, h4567);
        let high_halves = _mm256_permute2x128_si256::<0x31>(h0123, h4567);
        _mm256_add_epi32(low_halves, high_halves)
    }
}

/// [`super::encode_f32`] with the AVX2 dot products.
///
/// # Safety
/// The CPU supports AVX2.
#[target_feature(enable = "avx2")]
pub fn encode_f32(weights: &[f32], bias: &[f32], x: &[f32], slope: f32, out: &mut [f32]) {
    super::for_row_blocks::<f32, f32, 4>(
        weights,
        x.len(),
        out,
        // SAFETY: this function only runs on CPUs with AVX2.
        |_, rows, o| *o = unsafe { dot_f32_rows(rows, x) },
        // SAFETY: as above.
        |_, row, o| *o = unsafe { dot_f32_rows([row], x)[0] },
    );
    super::leaky_relu_epilogue(bias, slope, out);
}

/// [`super::decode_f32`] with the AVX2 dot products, eight outputs at a time.
///
/// # Safety
/// The CPU supports AVX2.
#[target_feature(enable = "avx2")]
pub fn decode_f32(weights: &[f32], bias: &[f32], h: &[f32], out: &mut [f32]) {
    let row_len = h.len();
    let mut done = 0;
    if row_len > 0 && row_len.is_multiple_of(LANES) {
        let blocks = weights
            .chunks_exact(8 * row_len)
            .zip(out.as_chunks_mut::<8>().0);
        for (block, o) in blocks {
            // SAFETY: this function only runs on CPUs with AVX2; `block` is eight rows of
            // `row_len`, a multiple of `LANES`; `o` is 8 floats.
            unsafe { _mm256_storeu_ps(o.as_mut_ptr(), dot8_f32_block(block, h)) };
            done += 8;
        }
    }
    let rest_weights = weights.get(done * row_len..).unwrap_or(&[]);
    let rest_out = match out.get_mut(done..) {
        Some(o) => o,
        None => &mut [],
    };
    super::for_row_blocks::<f32, f32, 4>(
        rest_weights,
        row_len,
        rest_out,
        // SAFETY: this function only runs on CPUs with AVX2.
        |_, rows, o| *o = unsafe { dot_f32_rows(rows, h) },
        // SAFETY: as above.
        |_, row, o| *o = unsafe { dot_f32_rows([row], h)[0] },
    );
    // SAFETY: this function only runs on CPUs with AVX2.
    unsafe { super::x86_logistic::sigmoid_epilogue_avx2(bias, out) };
}

/// [`encode_f32`] for several images, four rows at a time for all of them (their 12.5 KB of
/// weights, for 784 inputs, stay in L1 across the images). Every output is the single-image
/// kernel's.
///
/// # Safety
/// The CPU supports AVX2.
#[cfg(feature = "std")]
#[target_feature(enable = "avx2")]
pub(crate) fn encode_f32_images(
    weights: &[f32],
    bias: &[f32],
    xs: &[&[f32]],
    slope: f32,
    outs: &mut [&mut [f32]],
) {
    super::encode_f32_images_on::<4>(
        weights,
        bias,
        xs,
        slope,
        outs,
        // SAFETY: this function only runs on CPUs with AVX2.
        |rows, x| unsafe { dot_f32_rows(rows, x) },
        // SAFETY: as above.
        |row, x| unsafe { dot_f32_rows([row], x)[0] },
    );
}

/// [`decode_f32`] for several codes, eight rows at a time for all of them (2 KB of weights for a
/// latent of 64, in L1 across the codes). Every output is the single-image kernel's.
///
/// # Safety
/// The CPU supports AVX2.
#[cfg(feature = "std")]
#[target_feature(enable = "avx2")]
pub(crate) fn decode_f32_images(
    weights: &[f32],
    bias: &[f32],
    hs: &[&[f32]],
    outs: &mut [&mut [f32]],
) {
    let len = hs.first().map_or(0, |h| h.len());
    // The eight-row blocks are `8 * len` weights and `dot8_f32_block` reads `8 * h.len()`: codes
    // of other lengths (no caller passes them) take the single-code kernel, which reads no
    // further than the weights go.
    if len == 0 || !len.is_multiple_of(LANES) || hs.iter().any(|h| h.len() != len) {
        for (h, out) in hs.iter().zip(outs.iter_mut()) {
            decode_f32(weights, bias, h, out);
        }
        return;
    }
    super::row_blocks_across_images::<8>(
        weights,
        hs,
        outs,
        // SAFETY: this function only runs on CPUs with AVX2; `block` is eight rows of `h.len()`,
        // a multiple of `LANES`; `o` is 8 floats.
        |block, h, o| unsafe { _mm256_storeu_ps(o.as_mut_ptr(), dot8_f32_block(block, h)) },
        // SAFETY: as above.
        |row, h| unsafe { dot_f32_rows([row], h)[0] },
    );
    for out in outs.iter_mut() {
        // SAFETY: this function only runs on CPUs with AVX2.
        unsafe { super::x86_logistic::sigmoid_epilogue_avx2(bias, out) };
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    /// Codes of different lengths in one call (which `prepared.rs` never makes) take the
    /// single-code kernel: the same outputs as one call per code, and no read past the weights
    /// (the second code is twice as long as the first, whose length sizes the blocks).
    #[test]
    fn batch_decoder_takes_codes_of_other_lengths_one_at_a_time() {
        if !std::is_x86_feature_detected!("avx2") {
            std::eprintln!("skipped: this CPU has no AVX2");
            return;
        }
        let (rows, len) = (24, 16);
        let weights: std::vec::Vec<f32> =
            (0..rows * len).map(|k| (k as f32 * 0.37).sin()).collect();
        let bias: std::vec::Vec<f32> = (0..rows).map(|k| k as f32 * 0.01).collect();
        let short: std::vec::Vec<f32> = (0..len).map(|k| (k as f32 * 0.11).cos()).collect();
        let long: std::vec::Vec<f32> = (0..2 * len).map(|k| (k as f32 * 0.13).cos()).collect();
        let mut want = [std::vec![0.0f32; rows], std::vec![0.0f32; rows]];
        for (h, out) in [&short, &long].into_iter().zip(want.iter_mut()) {
            // SAFETY: the CPU has AVX2, checked above.
            unsafe { decode_f32(&weights, &bias, h, out) };
        }
        let (mut a, mut b) = (std::vec![0.0f32; rows], std::vec![0.0f32; rows]);
        // SAFETY: as above.
        unsafe { decode_f32_images(&weights, &bias, &[&short, &long], &mut [&mut a, &mut b]) };
        assert_eq!(a, want[0]);
        assert_eq!(b, want[1]);
    }
}
