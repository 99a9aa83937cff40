//! Int8 layers on weights packed for AVX-512 VNNI, as XNNPACK packs them: sixteen output rows
//! side by side, so that one `vpdpbusd` adds four inputs' products into the sixteen rows' lanes
//! and no row ever needs a sum across lanes.
//!
//! Packed layout of a layer with `rows` outputs (a multiple of 16) and `len` inputs: for each
//! block of 16 rows, for each group `g` of four inputs (the last group zero-padded), 64 bytes:
//! row `r`'s weights `4g .. 4g + 4` at bytes `4r .. 4r + 4`. The inputs are broadcast four at a
//! time to every lane. The decoder's zero point is folded into its bias once, at packing time:
//! `bias + sum (q - z) w = (bias - z * sum w) + sum q w`, exact in wrapping 32-bit arithmetic
//! like the portable sums, so the codes go in as the unsigned operand unchanged.
//!
//! Each `vpdpbusd` depends on the previous one into the same register (5 cycles), so the loops
//! keep eight independent accumulators: for one image, four blocks with even and odd groups
//! apart; for batches, four images (each block's weights loaded once for all four) with even and
//! odd groups apart. Requantization runs sixteen channels per vector in 64-bit lanes, for every
//! shift the format allows. Integer sums are exact in any order: every output equals the portable
//! path's (`tests/kernels.rs` and `ae-core/tests/dispatch.rs` compare them).

extern crate std;

use core::arch::x86_64::*;
use std::vec::Vec;

use super::{sigmoid_lut, Int8Ref, QuantLayerRef};

/// Rows per packed block (the `i32` lanes of a 512-bit register).
pub(crate) const BLOCK: usize = 16;
/// Largest decoder input (code length) whose broadcasts stay in registers: 16 groups of four.
pub(crate) const MAX_DECODER_GROUPS: usize = 16;

/// Packs `weights` (`[rows][len]`, `rows` a multiple of [`BLOCK`]) into the layout above.
pub(crate) fn pack(weights: &[i8], rows: usize, len: usize) -> Vec<i8> {
    let groups = len.div_ceil(4);
    let mut packed = std::vec![0i8; rows * groups * 4];
    for (block, out) in packed.chunks_exact_mut(BLOCK * groups * 4).enumerate() {
        for g in 0..groups {
            for r in 0..BLOCK {
                for i in 0..4 {
                    let (row, k) = (block * BLOCK + r, 4 * g + i);
                    if k < len {
                        out[(g * BLOCK + r) * 4 + i] =
                            weights.get(row * len + k).copied().unwrap_or(0);
                    }
                }
            }
        }
    }
    packed
}

/// The decoder's bias with the zero point folded in: `bias[r] - z * sum_k w[r][k]`, wrapping.
pub(crate) fn folded_bias(layer: &QuantLayerRef<'_>, len: usize, zero_point: u8) -> Vec<i32> {
    layer
        .bias
        .iter()
        .zip(layer.weights.chunks_exact(len.max(1)))
        .map(|(b, row)| {
            let sum = row.iter().fold(0i32, |s, &w| s.wrapping_add(i32::from(w)));
            i32::from_le_bytes(*b).wrapping_sub(i32::from(zero_point).wrapping_mul(sum))
        })
        .collect()
}

/// Whether the packed kernels can run a model: whole blocks of rows in both layers, and a
/// decoder input short enough for its broadcasts to stay in registers.
pub(crate) fn fits(m: &Int8Ref<'_>) -> bool {
    let (input, latent) = m.dims.as_usize();
    latent > 0
        && input > 0
        && latent.is_multiple_of(BLOCK)
        && input.is_multiple_of(BLOCK)
        && latent.div_ceil(4) <= MAX_DECODER_GROUPS
}

/// Four bytes of `bytes` from `4 * g` (zero past the end) as one little-endian word, broadcast.
///
/// # Safety
/// The CPU supports AVX-512F.
#[inline(always)]
unsafe fn broadcast4(bytes: &[u8], g: usize) -> __m512i {
    let word = match bytes.get(4 * g..4 * g + 4).map(<[u8; 4]>::try_from) {
        Some(Ok(word)) => word,
        _ => {
            let mut word = [0u8; 4];
            for (w, b) in word.iter_mut().zip(bytes.iter().skip(4 * g)) {
                *w = *b;
            }
            word
        }
    };
    // SAFETY: register-only AVX-512F (the caller's contract).
    unsafe { _mm512_set1_epi32(i32::from_le_bytes(word)) }
}

/// The encoder on packed weights: `packed` from [`pack`] of the encoder, `latent` rows,
/// sixteen codes per vector.
///
/// # Safety
/// The CPU supports AVX-512F, AVX-512BW, AVX-512 VNNI and AVX2; `fits(m)`; `packed` is the
/// encoder packed for `m` and `records` its records; `pixels.len()` is the input length and
/// `code.len()` the latent one.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2")]
pub(crate) unsafe fn encode(
    m: &Int8Ref<'_>,
    packed: &[i8],
    records: &EncoderRecords,
    pixels: &[u8],
    code: &mut [u8],
) {
    let groups = m.dims.as_usize().0.div_ceil(4);
    let block_bytes = BLOCK * groups * 4;
    let zero_point = i32::from(m.latent_zero_point);
    let pairs = word_pairs(pixels, groups);
    for (quad, (blocks, out)) in packed
        .chunks(4 * block_bytes)
        .zip(code.chunks_mut(4 * BLOCK))
        .enumerate()
    {
        let first = quad * 4 * BLOCK;
        // SAFETY: the CPU features are the caller's contract; `blocks` holds as many whole
        // blocks of `groups` groups as the arm's constant says.
        unsafe {
            match blocks.len() / block_bytes {
                4 => encode_blocks::<4>(blocks, groups, pairs, records, first, zero_point, out),
                3 => encode_blocks::<3>(blocks, groups, pairs, records, first, zero_point, out),
                2 => encode_blocks::<2>(blocks, groups, pairs, records, first, zero_point, out),
                1 => encode_blocks::<1>(blocks, groups, pairs, records, first, zero_point, out),
                _ => debug_assert!(false, "the encoder's packing ends in a partial block"),
            }
        }
    }
}

/// The pixels' whole words of four, in pairs (one even and one odd group per step), at most
/// `groups` words. `fits` makes the input a multiple of 16, so there is no partial or odd group.
fn word_pairs(pixels: &[u8], groups: usize) -> &[[[u8; 4]; 2]] {
    debug_assert!(groups.is_multiple_of(2) && pixels.len() >= 4 * groups);
    let words = pixels.as_chunks::<4>().0;
    words.get(..groups).unwrap_or(words).as_chunks::<2>().0
}

/// A word of four pixels in every lane.
///
/// # Safety
/// The CPU supports AVX-512F.
#[inline(always)]
unsafe fn broadcast_word(word: &[u8; 4]) -> __m512i {
    // SAFETY: register-only AVX-512F (the caller's contract).
    unsafe { _mm512_set1_epi32(i32::from_le_bytes(*word)) }
}

/// The codes of `NB` consecutive encoder blocks (rows `first..first + 16 * NB`) into `out`.
///
/// # Safety
/// As [`block_dots`]; the CPU also supports AVX-512BW.
#[inline(always)]
unsafe fn encode_blocks<const NB: usize>(
    blocks: &[i8],
    groups: usize,
    pairs: &[[[u8; 4]; 2]],
    records: &EncoderRecords,
    first: usize,
    zero_point: i32,
    out: &mut [u8],
) {
    // SAFETY: the caller's contract; `codes16` checks its slices.
    unsafe {
        let sums = block_dots::<NB>(blocks, groups, pairs);
        for (b, sum) in sums.into_iter().enumerate() {
            let out = out.get_mut(b * BLOCK..).unwrap_or(&mut []);
            codes16(records, first + b * BLOCK, zero_point, sum, out);
        }
    }
}

/// One image's dot products with `NB` consecutive blocks of `groups` groups, even and odd
/// groups apart: `2 * NB` chains.
///
/// `NB` is a constant so that the loop over blocks unrolls and the accumulators stay in
/// registers. With a run-time count the fourth block's pair lived on the stack, stored and
/// reloaded in every step, and the speed depended on where those stores fell against the
/// weights' addresses modulo 4 KiB, which the stack's random offset decides: up to five times
/// slower, by process.
///
/// # Safety
/// The CPU supports AVX-512F, AVX-512 VNNI and AVX2; `blocks` holds at least `NB` blocks of
/// `groups` 64-byte groups; `pairs` has at most `groups / 2` pairs.
#[inline(always)]
unsafe fn block_dots<const NB: usize>(
    blocks: &[i8],
    groups: usize,
    pairs: &[[[u8; 4]; 2]],
) -> [__m512i; NB] {
    let block_bytes = BLOCK * groups * 4;
    // SAFETY: the CPU features are the caller's contract. Each load reads the 64 bytes of group
    // `g < groups` of block `b < NB`, inside `blocks`.
    unsafe {
        let mut even = [_mm512_setzero_si512(); NB];
        let mut odd = [_mm512_setzero_si512(); NB];
        for (pair, [w0, w1]) in pairs.iter().enumerate() {
            let g = 2 * pair;
            let (x0, x1) = (broadcast_word(w0), broadcast_word(w1));
            for b in 0..NB {
                let base = blocks.as_ptr().add(b * block_bytes + g * 64);
                even[b] = _mm512_dpbusd_epi32(even[b], x0, _mm512_loadu_si512(base.cast()));
                odd[b] = _mm512_dpbusd_epi32(odd[b], x1, _mm512_loadu_si512(base.add(64).cast()));
            }
        }
        core::array::from_fn(|b| _mm512_add_epi32(even[b], odd[b]))
    }
}

/// `Requant::apply` for sixteen biased accumulators: `(acc * mult + 2^(shift - 1)) >> shift` in
/// 64-bit lanes (even and odd lanes apart), for every shift the format allows (`1..=62`, where
/// `|acc * mult| < 2^62` leaves room for the rounding term), then clamped to
/// `-2^16..=2^16`: beyond that every caller's final clamp gives the same output, and the clamp
/// keeps the caller's offset from wrapping.
///
/// # Safety
/// The CPU supports AVX-512F; every shift is in `1..=62`.
#[inline(always)]
unsafe fn requant16(acc: __m512i, mult: __m512i, shift: __m512i) -> __m512i {
    // SAFETY: register-only AVX-512F (the caller's contract).
    unsafe {
        let low = _mm512_set1_epi64(0xFFFF_FFFF);
        let one = _mm512_set1_epi64(1);
        let round = |product: __m512i, shift: __m512i| {
            let half = _mm512_sllv_epi64(one, _mm512_sub_epi64(shift, one));
            let r = _mm512_srav_epi64(_mm512_add_epi64(product, half), shift);
            let limit = _mm512_set1_epi64(1 << 16);
            _mm512_min_epi64(
                _mm512_max_epi64(r, _mm512_sub_epi64(_mm512_setzero_si512(), limit)),
                limit,
            )
        };
        let even = round(_mm512_mul_epi32(acc, mult), _mm512_and_si512(shift, low));
        let odd = round(
            _mm512_mul_epi32(_mm512_srli_epi64::<32>(acc), _mm512_srli_epi64::<32>(mult)),
            _mm512_srli_epi64::<32>(shift),
        );
        // Each result fits 32 bits: the even ones sit in the low halves, the odd ones move up.
        _mm512_mask_blend_epi32(0b1010_1010_1010_1010, even, _mm512_slli_epi64::<32>(odd))
    }
}

/// The encoder's requantization records, split by branch: sixteen codes per vector.
pub(crate) struct EncoderRecords {
    bias: Vec<i32>,
    /// Multipliers and shifts for non-negative accumulators (branch 0), then negative ones.
    mult: [Vec<i32>; 2],
    shift: [Vec<i32>; 2],
}

impl EncoderRecords {
    /// The records of `layer` with `latent` channels (`None` if the lengths disagree).
    pub(crate) fn new(layer: &QuantLayerRef<'_>, latent: usize) -> Option<Self> {
        if layer.shifts.len() != 2 * latent
            || layer.multipliers.len() != 2 * latent
            || layer.bias.len() != latent
        {
            return None;
        }
        let branch = |b: usize| -> (Vec<i32>, Vec<i32>) {
            (0..latent)
                .map(|j| {
                    let k = 2 * j + b;
                    let m = layer
                        .multipliers
                        .get(k)
                        .map_or(0, |m| i32::from_le_bytes(*m));
                    let s = layer.shifts.get(k).map_or(0, |&s| i32::from(s));
                    (m, s)
                })
                .unzip()
        };
        let ((m0, s0), (m1, s1)) = (branch(0), branch(1));
        Some(EncoderRecords {
            bias: layer.bias.iter().map(|b| i32::from_le_bytes(*b)).collect(),
            mult: [m0, m1],
            shift: [s0, s1],
        })
    }
}

/// The encoder's sixteen codes of channels `first..first + 16` from their dot products.
///
/// # Safety
/// The CPU supports AVX-512F and AVX-512BW; `records` covers those channels and `out` is 16
/// bytes (both checked).
#[inline(always)]
unsafe fn codes16(
    records: &EncoderRecords,
    first: usize,
    zero_point: i32,
    dots: __m512i,
    out: &mut [u8],
) {
    let r = first..first + BLOCK;
    let (Some(bias), Some(m0), Some(m1), Some(s0), Some(s1), Some(out)) = (
        records.bias.get(r.clone()),
        records.mult[0].get(r.clone()),
        records.mult[1].get(r.clone()),
        records.shift[0].get(r.clone()),
        records.shift[1].get(r.clone()),
        out.get_mut(..BLOCK),
    ) else {
        return;
    };
    // SAFETY: the CPU features are the caller's contract; every load reads 16 `i32` of a slice
    // just checked to hold them, and the store writes the 16 bytes of `out`.
    unsafe {
        let load = |v: &[i32]| _mm512_loadu_si512(v.as_ptr().cast());
        let acc = _mm512_add_epi32(dots, load(bias));
        let negative = _mm512_cmplt_epi32_mask(acc, _mm512_setzero_si512());
        let mult = _mm512_mask_blend_epi32(negative, load(m0), load(m1));
        let shift = _mm512_mask_blend_epi32(negative, load(s0), load(s1));
        let code = _mm512_add_epi32(requant16(acc, mult, shift), _mm512_set1_epi32(zero_point));
        let code = _mm512_min_epi32(
            _mm512_max_epi32(code, _mm512_setzero_si512()),
            _mm512_set1_epi32(255),
        );
        _mm_storeu_si128(out.as_mut_ptr().cast(), _mm512_cvtepi32_epi8(code));
    }
}

/// The decoder's sixteen pixels of one block from its biased accumulators.
///
/// # Safety
/// The CPU supports AVX-512F, AVX-512BW and AVX2; every shift is in `1..=62`; `mult` and
/// `shift` hold the block's 16 records; `table` is the sigmoid table widened to
/// `u32`.
#[inline(always)]
unsafe fn finish16(acc: __m512i, mult: &[[u8; 4]], shift: &[u8], table: &[u32], out: &mut [u8]) {
    // SAFETY: the CPU features are the caller's contract; the loads read 64 bytes of `mult` and
    // 16 of `shift` (both checked to be that long), the gather reads table entries at indices
    // clamped to the table, and the store writes 16 bytes of `out` (checked).
    unsafe {
        if mult.len() < BLOCK
            || shift.len() < BLOCK
            || out.len() < BLOCK
            || table.len() < sigmoid_lut::LEN
        {
            return;
        }
        let mult = _mm512_loadu_si512(mult.as_ptr().cast());
        let shift = _mm512_cvtepu8_epi32(_mm_loadu_si128(shift.as_ptr().cast()));
        let rounded = requant16(acc, mult, shift);
        let index = _mm512_add_epi32(rounded, _mm512_set1_epi32(sigmoid_lut::ZERO));
        let last = _mm512_set1_epi32(sigmoid_lut::LEN as i32 - 1);
        let index = _mm512_min_epi32(_mm512_max_epi32(index, _mm512_setzero_si512()), last);
        let pixels = _mm512_i32gather_epi32::<4>(index, table.as_ptr().cast());
        _mm_storeu_si128(out.as_mut_ptr().cast(), _mm512_cvtepi32_epi8(pixels));
    }
}

/// The decoder on packed weights and folded biases.
///
/// # Safety
/// The CPU supports AVX-512F, AVX-512BW, AVX-512 VNNI and AVX2; `fits(m)`; `packed` and `bias`
/// are the decoder packed and folded for `m`; `table` is the sigmoid table widened to `u32`;
/// `code.len()` is the latent length and `pixels.len()` the input one.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2")]
pub(crate) unsafe fn decode(
    m: &Int8Ref<'_>,
    packed: &[i8],
    bias: &[i32],
    table: &[u32],
    code: &[u8],
    pixels: &mut [u8],
) {
    let layer = Rows {
        weights: packed,
        bias,
        mult: m.decoder.multipliers,
        shift: m.decoder.shifts,
        table,
    };
    // SAFETY: the caller's contract. `fits` makes the latent length, which is the code's, a
    // multiple of 16 no longer than `4 * MAX_DECODER_GROUPS`, so its groups of four are one of
    // these (whatever the length, each arm reads weights and biases by whole blocks only).
    unsafe {
        match code.len().div_ceil(4) {
            4 => decode_groups::<4>(&layer, code, pixels),
            8 => decode_groups::<8>(&layer, code, pixels),
            12 => decode_groups::<12>(&layer, code, pixels),
            16 => decode_groups::<16>(&layer, code, pixels),
            _ => debug_assert!(false, "a code that `fits` rejects"),
        }
    }
}

// The arms above are the multiples of four up to `MAX_DECODER_GROUPS` (a block of 16 codes is
// four groups).
const _: () = assert!(MAX_DECODER_GROUPS == 16 && BLOCK == 16);

/// [`decode`] for a code of `G` groups of four bytes, four blocks of rows at a time.
///
/// # Safety
/// As [`decode`], with `code.len().div_ceil(4) == G`.
#[inline(always)]
unsafe fn decode_groups<const G: usize>(layer: &Rows<'_>, code: &[u8], pixels: &mut [u8]) {
    let block_bytes = BLOCK * G * 4;
    // SAFETY: the CPU features are the caller's contract (here and below).
    let q: [__m512i; G] = core::array::from_fn(|g| unsafe { broadcast4(code, g) });
    let blocks = layer
        .weights
        .chunks(4 * block_bytes)
        .zip(layer.bias.chunks(4 * BLOCK))
        .zip(layer.mult.chunks(4 * BLOCK))
        .zip(layer.shift.chunks(4 * BLOCK))
        .zip(pixels.chunks_mut(4 * BLOCK));
    for ((((weights, bias), mult), shift), out) in blocks {
        let rows = Rows {
            weights,
            bias,
            mult,
            shift,
            table: layer.table,
        };
        // SAFETY: the CPU features are the caller's contract; `weights` and `bias` hold as many
        // whole blocks as the arm's constant says.
        unsafe {
            match (weights.len() / block_bytes).min(bias.len() / BLOCK) {
                4 => decode_blocks::<G, 4>(&rows, &q, out),
                3 => decode_blocks::<G, 3>(&rows, &q, out),
                2 => decode_blocks::<G, 2>(&rows, &q, out),
                1 => decode_blocks::<G, 1>(&rows, &q, out),
                _ => debug_assert!(false, "the decoder's packing ends in a partial block"),
            }
        }
    }
}

/// Decoder rows (the whole layer, or up to four blocks of it): their packed weights, folded
/// biases, requantization records, and the sigmoid table widened to `u32`.
struct Rows<'a> {
    weights: &'a [i8],
    bias: &'a [i32],
    mult: &'a [[u8; 4]],
    shift: &'a [u8],
    table: &'a [u32],
}

/// The pixels of `NB` consecutive decoder blocks into `out`.
///
/// `G` and `NB` are constants so that every loop unrolls: the `G` broadcast groups and the
/// eight accumulators stay in registers (24 of the 32), each weight vector goes straight from
/// memory into `vpdpbusd`, and no step branches on the block count.
///
/// # Safety
/// The CPU supports AVX-512F, AVX-512BW, AVX-512 VNNI and AVX2; `rows.weights` holds at least
/// `NB` blocks of `G` 64-byte groups and `rows.bias` at least `16 * NB` values; `rows.table` is
/// the sigmoid table widened to `u32`.
#[inline(always)]
unsafe fn decode_blocks<const G: usize, const NB: usize>(
    rows: &Rows<'_>,
    q: &[__m512i; G],
    out: &mut [u8],
) {
    let block_bytes = BLOCK * G * 4;
    // SAFETY: the CPU features are the caller's contract; every load is inside `rows.weights`
    // or `rows.bias` by the lengths above; `finish16` checks its slices.
    unsafe {
        let mut even: [__m512i; NB] =
            core::array::from_fn(|b| _mm512_loadu_si512(rows.bias.as_ptr().add(b * BLOCK).cast()));
        let mut odd = [_mm512_setzero_si512(); NB];
        for (g, qg) in q.iter().enumerate() {
            for b in 0..NB {
                let w = rows.weights.as_ptr().add(b * block_bytes + g * 64);
                let w = _mm512_loadu_si512(w.cast());
                if g % 2 == 0 {
                    even[b] = _mm512_dpbusd_epi32(even[b], *qg, w);
                } else {
                    odd[b] = _mm512_dpbusd_epi32(odd[b], *qg, w);
                }
            }
        }
        for (b, (e, o)) in even.into_iter().zip(odd).enumerate() {
            let r = b * BLOCK..(b + 1) * BLOCK;
            finish16(
                _mm512_add_epi32(e, o),
                rows.mult.get(r.clone()).unwrap_or(&[]),
                rows.shift.get(r.clone()).unwrap_or(&[]),
                rows.table,
                out.get_mut(r).unwrap_or(&mut []),
            );
        }
    }
}

/// Images per pass of the batch kernels: each weight register then serves four images, and the
/// four images' chains (twice four, with even and odd groups apart) cover `vpdpbusd`'s latency.
pub(crate) const IMAGES: usize = 4; // the kernels below name four accumulators of each kind

/// [`encode`] for [`IMAGES`] images at once, block by block: a block's weights (16 rows) are
/// loaded once for all the images, from L1 after the first.
///
/// # Safety
/// As [`encode`], for every image and code.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2")]
pub(crate) unsafe fn encode_images(
    m: &Int8Ref<'_>,
    packed: &[i8],
    records: &EncoderRecords,
    pixels: [&[u8]; IMAGES],
    codes: [&mut [u8]; IMAGES],
) {
    let groups = m.dims.as_usize().0.div_ceil(4);
    let block_bytes = BLOCK * groups * 4;
    let zero_point = i32::from(m.latent_zero_point);
    // The four images' word pairs, cut to one length so the loop carries no bounds checks.
    let [q0, q1, q2, q3] = pixels.map(|p| word_pairs(p, groups));
    let steps = q0.len().min(q1.len()).min(q2.len()).min(q3.len());
    let (q0, q1, q2, q3) = (&q0[..steps], &q1[..steps], &q2[..steps], &q3[..steps]);
    let mut codes = codes;
    for (b, block) in packed.chunks_exact(block_bytes).enumerate() {
        // SAFETY: the CPU features are the caller's contract. Each load reads the 64 bytes of
        // group `g < groups` of this block (`steps <= groups / 2`); `codes16` checks its slices.
        unsafe {
            // Four images, even and odd groups apart: eight named accumulators, so that they
            // stay in registers (as arrays indexed in a loop they went to the stack).
            let z = _mm512_setzero_si512();
            let (mut e0, mut e1, mut e2, mut e3) = (z, z, z, z);
            let (mut o0, mut o1, mut o2, mut o3) = (z, z, z, z);
            let words = q0.iter().zip(q1).zip(q2).zip(q3);
            for (pair, ((([a0, a1], [b0, b1]), [c0, c1]), [d0, d1])) in words.enumerate() {
                let g = 2 * pair;
                let w0 = _mm512_loadu_si512(block.as_ptr().add(g * 64).cast());
                let w1 = _mm512_loadu_si512(block.as_ptr().add(g * 64 + 64).cast());
                e0 = _mm512_dpbusd_epi32(e0, broadcast_word(a0), w0);
                e1 = _mm512_dpbusd_epi32(e1, broadcast_word(b0), w0);
                e2 = _mm512_dpbusd_epi32(e2, broadcast_word(c0), w0);
                e3 = _mm512_dpbusd_epi32(e3, broadcast_word(d0), w0);
                o0 = _mm512_dpbusd_epi32(o0, broadcast_word(a1), w1);
                o1 = _mm512_dpbusd_epi32(o1, broadcast_word(b1), w1);
                o2 = _mm512_dpbusd_epi32(o2, broadcast_word(c1), w1);
                o3 = _mm512_dpbusd_epi32(o3, broadcast_word(d1), w1);
            }
            let sums = [
                _mm512_add_epi32(e0, o0),
                _mm512_add_epi32(e1, o1),
                _mm512_add_epi32(e2, o2),
                _mm512_add_epi32(e3, o3),
            ];
            for (code, sum) in codes.iter_mut().zip(sums) {
                let out = code.get_mut(b * BLOCK..).unwrap_or(&mut []);
                codes16(records, b * BLOCK, zero_point, sum, out);
            }
        }
    }
}

/// [`decode`] for [`IMAGES`] codes at once, block by block (a block's 16 rows of weights are
/// loaded once for all the codes).
///
/// # Safety
/// As [`decode`], for every code and image.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2")]
pub(crate) unsafe fn decode_images(
    m: &Int8Ref<'_>,
    packed: &[i8],
    bias: &[i32],
    table: &[u32],
    codes: [&[u8]; IMAGES],
    pixels: [&mut [u8]; IMAGES],
) {
    let layer = &m.decoder;
    let groups = codes[0].len().div_ceil(4).min(MAX_DECODER_GROUPS);
    let block_bytes = BLOCK * groups * 4;
    // `fits` makes the latent a multiple of 16: the groups come in pairs.
    debug_assert!(groups.is_multiple_of(2));
    // Per group of four bytes, the codes' words, broadcast from memory inside the loop.
    let words: [[i32; IMAGES]; MAX_DECODER_GROUPS] = core::array::from_fn(|g| {
        core::array::from_fn(|i| {
            let mut word = [0u8; 4];
            for (w, b) in word.iter_mut().zip(codes[i].iter().skip(4 * g)) {
                *w = *b;
            }
            i32::from_le_bytes(word)
        })
    });
    let mut pixels = pixels;
    let blocks = packed
        .chunks_exact(block_bytes)
        .zip(bias.chunks_exact(BLOCK))
        .zip(layer.multipliers.chunks(BLOCK))
        .zip(layer.shifts.chunks(BLOCK));
    for (b, (((block, bias), mult), shift)) in blocks.enumerate() {
        // SAFETY: the CPU features are the caller's contract. Each load reads the 64 bytes of
        // group `g < groups` of this block or its 16 biases; `finish16` checks its slices.
        unsafe {
            // Named accumulators (see `encode_images`): the even groups start at the bias.
            let start = _mm512_loadu_si512(bias.as_ptr().cast());
            let z = _mm512_setzero_si512();
            let (mut e0, mut e1, mut e2, mut e3) = (start, start, start, start);
            let (mut o0, mut o1, mut o2, mut o3) = (z, z, z, z);
            let mut g = 0;
            while g + 1 < groups {
                let w0 = _mm512_loadu_si512(block.as_ptr().add(g * 64).cast());
                let w1 = _mm512_loadu_si512(block.as_ptr().add(g * 64 + 64).cast());
                let (q, r) = (&words[g], &words[g + 1]);
                e0 = _mm512_dpbusd_epi32(e0, _mm512_set1_epi32(q[0]), w0);
                e1 = _mm512_dpbusd_epi32(e1, _mm512_set1_epi32(q[1]), w0);
                e2 = _mm512_dpbusd_epi32(e2, _mm512_set1_epi32(q[2]), w0);
                e3 = _mm512_dpbusd_epi32(e3, _mm512_set1_epi32(q[3]), w0);
                o0 = _mm512_dpbusd_epi32(o0, _mm512_set1_epi32(r[0]), w1);
                o1 = _mm512_dpbusd_epi32(o1, _mm512_set1_epi32(r[1]), w1);
                o2 = _mm512_dpbusd_epi32(o2, _mm512_set1_epi32(r[2]), w1);
                o3 = _mm512_dpbusd_epi32(o3, _mm512_set1_epi32(r[3]), w1);
                g += 2;
            }
            let sums = [
                _mm512_add_epi32(e0, o0),
                _mm512_add_epi32(e1, o1),
                _mm512_add_epi32(e2, o2),
                _mm512_add_epi32(e3, o3),
            ];
            for (out, sum) in pixels.iter_mut().zip(sums) {
                let rows = b * BLOCK..(b + 1) * BLOCK;
                finish16(
                    sum,
                    mult,
                    shift,
                    table,
                    out.get_mut(rows).unwrap_or(&mut []),
                );
            }
        }
    }
}
