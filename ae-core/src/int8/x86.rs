//! The int8 layers on x86-64 with AVX2: the dot products of [`crate::kernels::x86`] and, in the
//! decoder, the requantization of eight pixels at once in 256-bit registers.
//!
//! Every output equals the portable path's: integer dot products are exact in any order, and the
//! vector requantization is the 32-bit high-word formula [`Requant::apply`] uses for shifts above
//! 32 (blocks with any other shift go through the scalar [`decoder_pixel`]).

// Intrinsics by their Intel names, as the reference documents them.
use core::arch::x86_64::*;

#[cfg(doc)]
use super::requant::Requant;
use super::{
    decoder_pixel, encoder_code, prepare_codes, sigmoid_lut, Int8Ref, QuantLayerRef,
    HIGH_WORD_SHIFTS,
};
use crate::kernels::for_row_blocks;
use crate::kernels::x86::{dot8_i16_i8_rows, dot_u8_i8_rows, hsum_i32, transpose_sum, widen16};

/// [`super::encode_unchecked`] with AVX2 dot products, [`ENCODE_ROWS`] code bytes at a time.
///
/// # Safety
/// The CPU supports AVX2.
#[target_feature(enable = "avx2")]
pub fn encode(m: &Int8Ref<'_>, pixels: &[u8], code: &mut [u8]) {
    let layer = &m.encoder;
    let zero_point = i32::from(m.latent_zero_point);
    let row_len = pixels.len();
    let done = if row_len > 0 && row_len.is_multiple_of(16) {
        // SAFETY: this function only runs on CPUs with AVX2; the length is what `encode_blocks`
        // asks for.
        unsafe { encode_blocks(layer, zero_point, pixels, code) }
    } else {
        0
    };
    let rest_weights = layer.weights.get(done * row_len..).unwrap_or(&[]);
    let rest_code = match code.get_mut(done..) {
        Some(c) => c,
        None => &mut [],
    };
    for_row_blocks::<i8, u8, ENCODE_ROWS>(
        rest_weights,
        row_len,
        rest_code,
        |start, rows, out| {
            // SAFETY: this function only runs on CPUs with AVX2.
            let dots = unsafe { dot_u8_i8_rows(rows, pixels) };
            for (k, (o, dot)) in out.iter_mut().zip(dots).enumerate() {
                *o = encoder_code(layer, zero_point, done + start + k, dot);
            }
        },
        |j, row, o| {
            // SAFETY: as above.
            let dot = unsafe { dot_u8_i8_rows([row], pixels)[0] };
            *o = encoder_code(layer, zero_point, done + j, dot);
        },
    );
}

/// Encoder rows per block: they share each split of the pixels into nibbles.
const ENCODE_ROWS: usize = 4;

/// 32-pixel chunks an `i16` nibble accumulator can take: each `vpmaddubsw` pair sum is at most
/// `2 * 15 * 128 = 3840` in magnitude, and `8 * 3840 < 2^15`.
const CHUNKS_PER_WIDENING: usize = 8;

/// The encoder's main loop when the input length is a multiple of 16, over whole blocks of
/// [`ENCODE_ROWS`] rows (no per-row slicing). Returns the number of code bytes written.
///
/// `vpmaddubsw` multiplies unsigned by signed bytes, 32 products per instruction, but saturates
/// its 16-bit pair sums, which 8-bit pixels times int8 weights can overflow. Pixels are therefore
/// split into 4-bit halves, `p = 16 * high + low`: each half's products cannot saturate, the
/// halves are summed in 16 bits for up to [`CHUNKS_PER_WIDENING`] chunks, then widened with
/// weights 1 and 16. The weights are used as stored, with no sign extension. The sums are exact,
/// so they equal the portable kernel's.
///
/// # Safety
/// The CPU supports AVX2 and `pixels.len()` is a non-zero multiple of 16.
#[inline(always)]
unsafe fn encode_blocks(
    layer: &QuantLayerRef<'_>,
    zero_point: i32,
    pixels: &[u8],
    code: &mut [u8],
) -> usize {
    let row_len = pixels.len();
    let (x_chunks, x_half) = pixels.as_chunks::<32>();
    let blocks = layer
        .weights
        .chunks_exact(ENCODE_ROWS * row_len)
        .zip(code.as_chunks_mut::<ENCODE_ROWS>().0);
    let mut done = 0;
    for (weights, out) in blocks {
        let mut dots = [0i32; ENCODE_ROWS];
        // SAFETY: AVX2 is available (the caller's contract). `weights` holds `ENCODE_ROWS` rows
        // of `row_len` bytes; the loads read 32 bytes at `r * row_len + 32 * k` with
        // `32 * (k + 1) <= row_len`, and the last 16 (when `row_len` is an odd multiple of 16)
        // at `r * row_len + 32 * x_chunks.len()`, which ends at the row's end.
        unsafe {
            let nibble = _mm256_set1_epi8(0x0f);
            let ones = _mm256_set1_epi16(1);
            let sixteens = _mm256_set1_epi16(16);
            let mut acc = [_mm256_setzero_si256(); ENCODE_ROWS];
            for (group_index, group) in x_chunks.chunks(CHUNKS_PER_WIDENING).enumerate() {
                let mut low_acc = [_mm256_setzero_si256(); ENCODE_ROWS];
                let mut high_acc = [_mm256_setzero_si256(); ENCODE_ROWS];
                for (k, xv) in group.iter().enumerate() {
                    let x = _mm256_loadu_si256(xv.as_ptr().cast());
                    let low = _mm256_and_si256(x, nibble);
                    let high = _mm256_and_si256(_mm256_srli_epi16::<4>(x), nibble);
                    let offset = 32 * (group_index * CHUNKS_PER_WIDENING + k);
                    for r in 0..ENCODE_ROWS {
                        let w =
                            _mm256_loadu_si256(weights.as_ptr().add(r * row_len + offset).cast());
                        low_acc[r] = _mm256_add_epi16(low_acc[r], _mm256_maddubs_epi16(low, w));
                        high_acc[r] = _mm256_add_epi16(high_acc[r], _mm256_maddubs_epi16(high, w));
                    }
                }
                for r in 0..ENCODE_ROWS {
                    acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(low_acc[r], ones));
                    acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(high_acc[r], sixteens));
                }
            }
            if !x_half.is_empty() {
                let x = widen16::<false>(x_half.as_ptr());
                let offset = 32 * x_chunks.len();
                for (r, a) in acc.iter_mut().enumerate() {
                    let w = widen16::<true>(weights.as_ptr().add(r * row_len + offset).cast());
                    *a = _mm256_add_epi32(*a, _mm256_madd_epi16(x, w));
                }
            }
            for (d, a) in dots.iter_mut().zip(acc) {
                *d = hsum_i32(a);
            }
        }
        for (k, (o, dot)) in out.iter_mut().zip(dots).enumerate() {
            *o = encoder_code(layer, zero_point, done + k, dot);
        }
        done += ENCODE_ROWS;
    }
    done
}

/// [`super::decode_unchecked`] with AVX2 dot products and requantization, eight pixels at a time.
///
/// # Safety
/// The CPU supports AVX2.
#[target_feature(enable = "avx2")]
pub fn decode(m: &Int8Ref<'_>, code: &[u8], centred: &mut [i16], pixels: &mut [u8]) {
    prepare_codes(code, m.latent_zero_point, centred);
    let centred = &*centred;
    let layer = &m.decoder;
    let row_len = centred.len();
    // SAFETY: this function only runs on CPUs with AVX2.
    let fast = row_len > 0
        && row_len.is_multiple_of(16)
        && unsafe { all_in_range(layer.shifts, HIGH_WORD_SHIFTS) };
    let done = if fast {
        // SAFETY: this function only runs on CPUs with AVX2; `fast` is the condition
        // `decode_blocks` asks for.
        unsafe {
            // The MNIST shape (64-long rows) with a compile-time chunk count: the loop unrolls
            // and the four code vectors stay in registers for the whole layer.
            match centred.as_chunks::<16>().0 {
                [a, b, c, d] => decode_blocks(layer, &[*a, *b, *c, *d], pixels),
                chunks => decode_blocks(layer, chunks, pixels),
            }
        }
    } else {
        0
    };
    // Whatever the fast loop did not reach: a last partial block, or everything.
    // SAFETY: this function only runs on CPUs with AVX2.
    unsafe { decode_rows_from(layer, done, row_len, centred, pixels) };
}

/// The decoder's pixels from row `done` on, eight rows at a time with AVX2 dot products and
/// requantization, then one by one: what the block loops of [`decode`] and the AVX-512 decoder
/// leave over (a last partial block, or everything when the fast path does not apply).
///
/// # Safety
/// The CPU supports AVX2.
#[inline(always)]
pub(super) unsafe fn decode_rows_from(
    layer: &QuantLayerRef<'_>,
    done: usize,
    row_len: usize,
    centred: &[i16],
    pixels: &mut [u8],
) {
    let rest_weights = layer.weights.get(done * row_len..).unwrap_or(&[]);
    let rest_pixels = match pixels.get_mut(done..) {
        Some(p) => p,
        None => &mut [],
    };
    for_row_blocks::<i8, u8, 8>(
        rest_weights,
        row_len,
        rest_pixels,
        // SAFETY: this function only runs on CPUs with AVX2.
        |first, rows, out| unsafe {
            decoder_block(layer, done + first, dot8_i16_i8_rows(rows, centred), out)
        },
        |i, row, o| {
            let dot = crate::kernels::dot_i16_i8(centred, row);
            *o = decoder_pixel(layer, done + i, dot);
        },
    );
}

/// Whether every byte of `bytes` is in `range`, 32 bytes per step. (A scalar `all` over the
/// decoder's 784 shifts cost a tenth of a whole decode; a min/max fold, half.)
///
/// # Safety
/// The CPU supports AVX2.
#[inline(always)]
pub(super) unsafe fn all_in_range(bytes: &[u8], range: core::ops::RangeInclusive<u8>) -> bool {
    let (lo, hi) = (*range.start(), *range.end());
    let (chunks, tail) = bytes.as_chunks::<32>();
    // SAFETY: AVX2 is available (the caller's contract); each load reads one whole 32-byte chunk.
    let chunks_ok = unsafe {
        let (lo_v, hi_v) = (_mm256_set1_epi8(lo as i8), _mm256_set1_epi8(hi as i8));
        let all_ones = _mm256_set1_epi8(-1);
        let mut outside = _mm256_setzero_si256();
        for chunk in chunks {
            let v = _mm256_loadu_si256(chunk.as_ptr().cast());
            // Unsigned: v < lo where max(v, lo) != v; v > hi where min(v, hi) != v.
            let below = _mm256_xor_si256(_mm256_cmpeq_epi8(_mm256_max_epu8(v, lo_v), v), all_ones);
            let above = _mm256_xor_si256(_mm256_cmpeq_epi8(_mm256_min_epu8(v, hi_v), v), all_ones);
            outside = _mm256_or_si256(outside, _mm256_or_si256(below, above));
        }
        _mm256_testz_si256(outside, outside) == 1
    };
    chunks_ok && tail.iter().all(|b| range.contains(b))
}

/// The decoder's main loop for the common shape — rows a multiple of 16 long, every shift above
/// 32 — over whole blocks of eight rows, with weights and requantization records walked in step
/// (no per-row slicing). Returns the number of pixels written.
///
/// The centred codes come as 16-value chunks: a slice, or an array when the count is known.
///
/// # Safety
/// The CPU supports AVX2, there is at least one chunk and every decoder shift is in
/// [`HIGH_WORD_SHIFTS`].
#[inline(always)]
unsafe fn decode_blocks<X: AsRef<[[i16; 16]]> + ?Sized>(
    layer: &QuantLayerRef<'_>,
    x_chunks: &X,
    pixels: &mut [u8],
) -> usize {
    let x_chunks = x_chunks.as_ref();
    let row_len = 16 * x_chunks.len();
    let blocks = layer
        .weights
        .chunks_exact(8 * row_len)
        .zip(layer.bias.as_chunks::<8>().0)
        .zip(layer.multipliers.as_chunks::<8>().0)
        .zip(layer.shifts.as_chunks::<8>().0)
        .zip(pixels.as_chunks_mut::<8>().0);
    let mut done = 0;
    for ((((weights, bias), mult), shift), out) in blocks {
        // SAFETY: AVX2 is available (the caller's contract). `weights` holds 8 rows of `row_len`
        // bytes, and each load reads the 16 bytes at `r * row_len + 16 * k` with `r < 8` and
        // `16 * (k + 1) <= row_len`; the record loads read whole 8-element arrays.
        unsafe {
            let mut acc = [_mm256_setzero_si256(); 8];
            for (k, xv) in x_chunks.iter().enumerate() {
                let x = _mm256_loadu_si256(xv.as_ptr().cast());
                for (r, a) in acc.iter_mut().enumerate() {
                    let w = widen16::<true>(weights.as_ptr().add(r * row_len + 16 * k).cast());
                    *a = _mm256_add_epi32(*a, _mm256_madd_epi16(x, w));
                }
            }
            finish_block(bias, mult, shift, transpose_sum(acc), out);
        }
        done += 8;
    }
    done
}

/// The eight pixels of a block from its dot products and requantization records: bias added,
/// requantized ([`requantize8`]) and looked up ([`store_pixels8`]).
///
/// # Safety
/// The CPU supports AVX2 and every shift is in [`HIGH_WORD_SHIFTS`].
#[inline(always)]
pub(super) unsafe fn finish_block(
    bias: &[[u8; 4]; 8],
    mult: &[[u8; 4]; 8],
    shift: &[u8; 8],
    dots: __m256i,
    out: &mut [u8; 8],
) {
    // SAFETY: AVX2 is available (the caller's contract); the loads read the 32 bytes of `bias`
    // and of `mult` and the 8 bytes of `shift`.
    unsafe {
        let index = requantize8(
            _mm256_add_epi32(dots, _mm256_loadu_si256(bias.as_ptr().cast())),
            _mm256_loadu_si256(mult.as_ptr().cast()),
            _mm256_cvtepu8_epi32(_mm_loadl_epi64(shift.as_ptr().cast())),
        );
        store_pixels8(index, out);
    }
}

/// Sigmoid-table indices of eight biased accumulators: `((high >> (shift - 33)) + 1) >> 1` plus
/// the table's zero, where `high` is the top word of `acc * mult` — [`Requant::apply`] for shifts
/// above 32.
///
/// # Safety
/// The CPU supports AVX2; every shift is in [`HIGH_WORD_SHIFTS`].
#[inline(always)]
unsafe fn requantize8(acc: __m256i, mult: __m256i, shift: __m256i) -> __m256i {
    // SAFETY: register-only AVX2 instructions; AVX2 is available (the caller's contract).
    unsafe {
        let high = mul_high(acc, mult);
        let shifted = _mm256_srav_epi32(high, _mm256_sub_epi32(shift, _mm256_set1_epi32(33)));
        let rounded = _mm256_srai_epi32::<1>(_mm256_add_epi32(shifted, _mm256_set1_epi32(1)));
        _mm256_add_epi32(rounded, _mm256_set1_epi32(sigmoid_lut::ZERO))
    }
}

/// The pixels of eight sigmoid-table indices: clamped to the table in the vector (as
/// [`sigmoid_lut::lookup`] clamps them), then looked up one by one.
///
/// # Safety
/// The CPU supports AVX2.
#[inline(always)]
unsafe fn store_pixels8(index: __m256i, out: &mut [u8; 8]) {
    let mut lanes = [0u32; 8];
    // SAFETY: register-only AVX2 instructions and a 32-byte store into `lanes`; AVX2 is available
    // (the caller's contract).
    unsafe {
        let last = _mm256_set1_epi32(sigmoid_lut::LEN as i32 - 1);
        let clamped = _mm256_min_epi32(_mm256_max_epi32(index, _mm256_setzero_si256()), last);
        _mm256_storeu_si256(lanes.as_mut_ptr().cast(), clamped);
    }
    for (o, i) in out.iter_mut().zip(lanes) {
        // Always in the table after the clamp; `0` is unreachable.
        *o = sigmoid_lut::TABLE.get(i as usize).copied().unwrap_or(0);
    }
}

/// The decoder's eight output pixels for the rows starting at `first`, given their dot products.
///
/// # Safety
/// The CPU supports AVX2.
#[inline(always)]
pub(super) unsafe fn decoder_block(
    layer: &QuantLayerRef<'_>,
    first: usize,
    dots: __m256i,
    out: &mut [u8; 8],
) {
    if let Some((bias, mult, shift)) = layer.block::<8>(first) {
        if shift.iter().all(|s| HIGH_WORD_SHIFTS.contains(s)) {
            // SAFETY: this function's caller guarantees AVX2; the shifts were just checked.
            unsafe { finish_block(bias, mult, shift, dots, out) };
            return;
        }
    }
    let mut lanes = [0i32; 8];
    // SAFETY: `lanes` is 32 bytes.
    unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), dots) };
    for (k, (o, dot)) in out.iter_mut().zip(lanes).enumerate() {
        *o = decoder_pixel(layer, first + k, dot);
    }
}

/// The high 32 bits of each lane's 64-bit product `a * b` (signed).
///
/// # Safety
/// The CPU supports AVX2.
#[inline(always)]
unsafe fn mul_high(a: __m256i, b: __m256i) -> __m256i {
    // SAFETY: register-only AVX2 instructions; AVX2 is available (the caller's contract).
    unsafe {
        let even = _mm256_mul_epi32(a, b);
        let odd = _mm256_mul_epi32(_mm256_srli_epi64::<32>(a), _mm256_srli_epi64::<32>(b));
        _mm256_blend_epi32::<0b1010_1010>(_mm256_srli_epi64::<32>(even), odd)
    }
}

#[cfg(test)]
mod tests {
    use super::all_in_range;

    /// `all_in_range(bytes, 33..=62)`. Only called once AVX2 is known to be there.
    fn fast_range(bytes: &[u8]) -> bool {
        assert!(std::is_x86_feature_detected!("avx2"));
        // SAFETY: AVX2 is checked just above.
        unsafe { all_in_range(bytes, 33..=62) }
    }

    #[test]
    fn range_check_sees_every_byte_and_both_bounds() {
        if !std::is_x86_feature_detected!("avx2") {
            // Under CI the check must run: a machine without AVX2 there is a failure, not a pass.
            assert!(
                std::env::var_os("CI").is_none(),
                "CI needs AVX2 to test the AVX2 range check"
            );
            eprintln!("skipped: this CPU has no AVX2, the AVX2 range check was not tested");
            return;
        }
        for len in [0usize, 1, 31, 32, 33, 64, 784] {
            let ok = vec![40u8; len];
            assert!(fast_range(&ok), "len {len}");
            for position in [0, len / 2, len.saturating_sub(1)] {
                for (value, inside) in [(0u8, false), (32, false), (33, true), (62, true)]
                    .into_iter()
                    .chain([(63, false), (200, false), (255, false)])
                {
                    let mut bytes = ok.clone();
                    if let Some(b) = bytes.get_mut(position) {
                        *b = value;
                        assert_eq!(fast_range(&bytes), inside, "{value} at {position}");
                    }
                }
            }
        }
    }
}
