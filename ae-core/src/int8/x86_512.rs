//! The int8 layers on x86-64 with AVX-512 VNNI: `vpdpbusd` multiplies 64 unsigned bytes by 64
//! signed bytes and adds each group of four products into a 32-bit lane, exactly (no 16-bit
//! intermediate to saturate), so one instruction does 64 MACs of a row.
//!
//! * Encoder: pixels are the unsigned operand, weights the signed one, as stored; eight rows share
//!   each load of 64 pixels, and the last partial chunk is a masked load.
//! * Decoder: the code bytes `q` are the unsigned operand. `sum (q - z) w = sum q w - sum z w`,
//!   so a second `vpdpbusd` with the zero point `z` in every byte gives the correction from the
//!   same weight load. Eight rows' accumulators are then summed across lanes at once and
//!   requantized eight pixels per vector by the AVX2 code of `x86.rs`.
//!
//! Integer sums are exact in any order, so every output equals the portable path's.

// Intrinsics by their Intel names, as the reference documents them.
use core::arch::x86_64::*;

use super::x86::{all_in_range, decode_rows_from, finish_block};
use super::{encoder_code, prepare_codes, Int8Ref, HIGH_WORD_SHIFTS};
use crate::kernels::for_row_blocks;

/// Bytes per `vpdpbusd`.
const CHUNK: usize = 64;

/// The mask selecting the first `len % 64` bytes of the last chunk (all 64 if none is left).
#[inline(always)]
fn tail_mask(len: usize) -> u64 {
    match len % CHUNK {
        0 => u64::MAX,
        rem => (1u64 << rem) - 1,
    }
}

/// `R` dot products of int8 rows with unsigned pixels over the shortest length; equal to
/// [`crate::kernels::dot_u8_i8_rows`].
///
/// # Safety
/// The CPU supports AVX-512F, AVX-512BW and AVX-512 VNNI.
#[inline(always)]
unsafe fn dot_u8_i8_rows<const R: usize>(rows: [&[i8]; R], x: &[u8]) -> [i32; R] {
    let n = rows.iter().fold(x.len(), |n, r| n.min(r.len()));
    let chunks = n.div_ceil(CHUNK);
    // SAFETY: the CPU features are the caller's contract. Chunk `k` starts at `64 * k < n`, an
    // in-bounds offset of `x` and of every row; the full-width loads read 64 bytes of a whole
    // chunk (`64 * (k + 1) <= n`), and the last chunk's masked loads only the bytes below `n`.
    unsafe {
        let mut acc = [_mm512_setzero_si512(); R];
        for k in 0..chunks {
            let mask = if k + 1 == chunks {
                tail_mask(n)
            } else {
                u64::MAX
            };
            let xv = _mm512_maskz_loadu_epi8(mask, x.as_ptr().add(CHUNK * k).cast());
            for r in 0..R {
                let w = _mm512_maskz_loadu_epi8(mask, rows[r].as_ptr().add(CHUNK * k));
                acc[r] = _mm512_dpbusd_epi32(acc[r], xv, w);
            }
        }
        acc.map(|a| _mm512_reduce_add_epi32(a))
    }
}

/// [`super::encode_unchecked`] with VNNI dot products, eight code bytes at a time.
///
/// # Safety
/// The CPU supports AVX-512F, AVX-512BW, AVX-512 VNNI and AVX2.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2")]
pub fn encode(m: &Int8Ref<'_>, pixels: &[u8], code: &mut [u8]) {
    let layer = &m.encoder;
    let zero_point = i32::from(m.latent_zero_point);
    // Eight rows per block: eight independent `vpdpbusd` chains cover its latency.
    for_row_blocks::<i8, u8, 8>(
        layer.weights,
        pixels.len(),
        code,
        |first, rows, out| {
            // SAFETY: this function only runs on CPUs with these features.
            let dots = unsafe { dot_u8_i8_rows(rows, pixels) };
            for (k, (o, dot)) in out.iter_mut().zip(dots).enumerate() {
                *o = encoder_code(layer, zero_point, first + k, dot);
            }
        },
        |j, row, o| {
            // SAFETY: as above.
            let dot = unsafe { dot_u8_i8_rows([row], pixels)[0] };
            *o = encoder_code(layer, zero_point, j, dot);
        },
    );
}

/// Lane `r` of the result is the sum of the sixteen lanes of `v[r]`.
///
/// # Safety
/// The CPU supports AVX-512F.
#[inline(always)]
unsafe fn transpose_sum8(v: [__m512i; 8]) -> __m256i {
    // SAFETY: register-only AVX-512F instructions (the caller's contract).
    unsafe {
        // Within each 128-bit lane: pairs of rows, then groups of four rows.
        let pair =
            |a, b| _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
        let (p0, p1, p2, p3) = (
            pair(v[0], v[1]),
            pair(v[2], v[3]),
            pair(v[4], v[5]),
            pair(v[6], v[7]),
        );
        let quad =
            |a, b| _mm512_add_epi32(_mm512_unpacklo_epi64(a, b), _mm512_unpackhi_epi64(a, b));
        // Each 128-bit lane of q0 now holds rows 0-3 summed over that lane (q1: rows 4-7).
        let (q0, q1) = (quad(p0, p1), quad(p2, p3));
        // [q0 lanes 0+1, q0 lanes 2+3, q1 lanes 0+1, q1 lanes 2+3], then across the halves.
        let s = _mm512_add_epi32(
            _mm512_shuffle_i32x4::<0b10_00_10_00>(q0, q1),
            _mm512_shuffle_i32x4::<0b11_01_11_01>(q0, q1),
        );
        let t = _mm512_add_epi32(
            _mm512_shuffle_i32x4::<0b00_00_10_00>(s, s),
            _mm512_shuffle_i32x4::<0b00_00_11_01>(s, s),
        );
        _mm512_castsi512_si256(t)
    }
}

/// The dot products of the eight rows of `block` (each `code.len()` long) with the code centred
/// on `zero_point`, as one vector (row `r` in lane `r`).
///
/// # Safety
/// The CPU supports AVX-512F, AVX-512BW and AVX-512 VNNI; `code` is not empty and `block.len()
/// >= 8 * code.len()`.
#[inline(always)]
unsafe fn dot8_codes(block: &[i8], code: &[u8], zero_point: u8) -> __m256i {
    let n = code.len();
    let chunks = n.div_ceil(CHUNK);
    // SAFETY: the CPU features and lengths are the caller's contract. Chunk `k` starts at
    // `64 * k < n` in `code` and in each row (`r * n + 64 * k`, inside `block`); the full-width
    // loads read whole chunks and the last chunk's masked loads only the bytes below `n`.
    unsafe {
        let zero = _mm512_set1_epi8(zero_point as i8);
        let mut acc = [_mm512_setzero_si512(); 8];
        let mut correction = [_mm512_setzero_si512(); 8];
        for k in 0..chunks {
            let mask = if k + 1 == chunks {
                tail_mask(n)
            } else {
                u64::MAX
            };
            let q = _mm512_maskz_loadu_epi8(mask, code.as_ptr().add(CHUNK * k).cast());
            for r in 0..8 {
                let w = _mm512_maskz_loadu_epi8(mask, block.as_ptr().add(r * n + CHUNK * k));
                acc[r] = _mm512_dpbusd_epi32(acc[r], q, w);
                // Masked-off weights are zero, so the zero point meets only real weights.
                correction[r] = _mm512_dpbusd_epi32(correction[r], zero, w);
            }
        }
        for (a, c) in acc.iter_mut().zip(correction) {
            *a = _mm512_sub_epi32(*a, c);
        }
        transpose_sum8(acc)
    }
}

/// [`super::decode_unchecked`] with VNNI dot products, eight pixels at a time.
///
/// # Safety
/// The CPU supports AVX-512F, AVX-512BW, AVX-512 VNNI and AVX2.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2")]
pub fn decode(m: &Int8Ref<'_>, code: &[u8], centred: &mut [i16], pixels: &mut [u8]) {
    // The centred codes serve the rows the blocks below do not reach.
    prepare_codes(code, m.latent_zero_point, centred);
    let centred = &*centred;
    let layer = &m.decoder;
    let row_len = code.len().min(centred.len());
    let code = code.get(..row_len).unwrap_or(&[]);
    // SAFETY: this function only runs on CPUs with AVX2.
    let fast = row_len > 0 && unsafe { all_in_range(layer.shifts, HIGH_WORD_SHIFTS) };
    let mut done = 0;
    if fast {
        let blocks = layer
            .weights
            .chunks_exact(8 * row_len)
            .zip(layer.bias.as_chunks::<8>().0)
            .zip(layer.multipliers.as_chunks::<8>().0)
            .zip(layer.shifts.as_chunks::<8>().0)
            .zip(pixels.as_chunks_mut::<8>().0);
        for ((((block, bias), mult), shift), out) in blocks {
            // SAFETY: the CPU features hold here; `block` is eight rows of `row_len > 0` bytes,
            // and every shift is in HIGH_WORD_SHIFTS (`fast`).
            unsafe {
                let dots = dot8_codes(block, code, m.latent_zero_point);
                finish_block(bias, mult, shift, dots, out);
            }
            done += 8;
        }
    }
    // SAFETY: this function only runs on CPUs with AVX2.
    unsafe { decode_rows_from(layer, done, row_len, centred, pixels) };
}
