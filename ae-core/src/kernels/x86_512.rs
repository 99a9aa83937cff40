//! AVX-512 float layers for x86-64 hosts: the sixteen lanes of [`super::dot_f32_rows`] are exactly
//! one 512-bit register, so each row keeps one accumulator (multiply, then add: no FMA, which
//! would round once instead of twice) and the pairwise reduction starts with the two 256-bit
//! halves, as in `x86.rs`. Half the instructions of the AVX2 kernels, the same bits.
//!
//! Every function here needs AVX-512F and AVX2; the callers hold an [`super::Isa`] that says so.

// Intrinsics by their Intel names, as the reference documents them.
use core::arch::x86_64::*;

use super::x86::{reduce8_rows, reduce_f32};
use super::LANES;

/// The two 256-bit halves of a 512-bit float vector: lanes 0-7 and 8-15.
///
/// # Safety
/// The CPU supports AVX-512F.
#[inline(always)]
unsafe fn halves(v: __m512) -> (__m256, __m256) {
    // SAFETY: register-only AVX-512F instructions (the caller's contract).
    unsafe {
        (
            _mm512_castps512_ps256(v),
            _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v))),
        )
    }
}

/// `R` float dot products of `rows` with `x`, bit-identical to [`super::dot_f32_rows`].
///
/// # Safety
/// The CPU supports AVX-512F and AVX2.
#[inline(always)]
unsafe fn dot_f32_rows<const R: usize>(rows: [&[f32]; R], x: &[f32]) -> [f32; R] {
    let (x_chunks, x_tail) = x.as_chunks::<LANES>();
    let mut n = x_chunks.len();
    for r in rows {
        n = n.min(r.len() / LANES);
    }
    // SAFETY: the CPU features are the caller's contract; every load reads one whole 16-float
    // chunk at a chunk index below `n`, which no row and not `x` falls short of.
    unsafe {
        let mut acc = [_mm512_setzero_ps(); R];
        for (k, xv) in x_chunks.iter().take(n).enumerate() {
            let xv = _mm512_loadu_ps(xv.as_ptr());
            for r in 0..R {
                let w = _mm512_loadu_ps(rows[r].as_ptr().add(k * LANES));
                acc[r] = _mm512_add_ps(acc[r], _mm512_mul_ps(xv, w));
            }
        }
        let mut out = [0.0f32; R];
        for r in 0..R {
            let tail_w = rows[r].get(n * LANES..).unwrap_or(&[]);
            let mut tail = 0.0f32;
            for (&a, &b) in x_tail.iter().zip(tail_w) {
                tail += a * b;
            }
            let (lo, hi) = halves(acc[r]);
            out[r] = reduce_f32(lo, hi) + tail;
        }
        out
    }
}

/// The dot products of eight consecutive rows of `block` (each `x.len()` long, a multiple of
/// [`LANES`]) with `x`, as one vector (row `r` in lane `r`), bit-identical to
/// [`super::dot_f32_rows`]: one 512-bit accumulator per row, then the tree of
/// [`reduce8_rows`] on the eight rows at once.
///
/// # Safety
/// The CPU supports AVX-512F and AVX2, `x.len()` is a multiple of [`LANES`] and `block.len() >=
/// 8 * x.len()`.
#[inline(always)]
unsafe fn dot8_f32_block(block: &[f32], x: &[f32]) -> __m256 {
    let row_len = x.len();
    let x_chunks = x.as_chunks::<LANES>().0;
    // SAFETY: the CPU features and the lengths are the caller's contract; every load reads one
    // whole 16-float chunk of `x` or of a row.
    unsafe {
        let mut acc = [_mm512_setzero_ps(); 8];
        for (k, xv) in x_chunks.iter().enumerate() {
            let xv = _mm512_loadu_ps(xv.as_ptr());
            for (r, a) in acc.iter_mut().enumerate() {
                let w = _mm512_loadu_ps(block.as_ptr().add(r * row_len + k * LANES));
                *a = _mm512_add_ps(*a, _mm512_mul_ps(xv, w));
            }
        }
        reduce8_accumulators(acc)
    }
}

/// The sums of eight row accumulators (row `r` in lane `r`), as the portable tree forms them: each
/// register's two halves added, then [`reduce8_rows`] on the eight rows at once (with its final
/// `+ 0.0`).
///
/// # Safety
/// The CPU supports AVX-512F and AVX2.
#[inline(always)]
unsafe fn reduce8_accumulators(acc: [__m512; 8]) -> __m256 {
    // SAFETY: register-only instructions on this CPU (the caller's contract).
    unsafe {
        let mut s8 = [_mm256_setzero_ps(); 8];
        for (s, a) in s8.iter_mut().zip(acc) {
            let (lo, hi) = halves(a);
            *s = _mm256_add_ps(lo, hi);
        }
        reduce8_rows(s8)
    }
}

/// [`super::encode_f32`] with AVX-512 dot products, eight rows at a time: each row's sixteen
/// lanes are one dependency chain (the lane order is fixed), and eight chains keep both vector
/// adders busy through the add latency.
///
/// # Safety
/// The CPU supports AVX-512F and AVX2.
#[target_feature(enable = "avx512f,avx2")]
pub fn encode_f32(weights: &[f32], bias: &[f32], x: &[f32], slope: f32, out: &mut [f32]) {
    super::for_row_blocks::<f32, f32, 8>(
        weights,
        x.len(),
        out,
        // SAFETY: this function only runs on CPUs with AVX-512F and AVX2.
        |_, rows, o| *o = unsafe { dot_f32_rows(rows, x) },
        // SAFETY: as above.
        |_, row, o| *o = unsafe { dot_f32_rows([row], x)[0] },
    );
    super::leaky_relu_epilogue(bias, slope, out);
}

/// [`super::decode_f32`] with AVX-512 dot products, eight outputs at a time.
///
/// # Safety
/// The CPU supports AVX-512F and AVX2.
#[target_feature(enable = "avx512f,avx2")]
pub fn decode_f32(weights: &[f32], bias: &[f32], h: &[f32], out: &mut [f32]) {
    let row_len = h.len();
    let mut done = 0;
    if row_len > 0 && row_len.is_multiple_of(LANES) {
        let blocks = weights
            .chunks_exact(8 * row_len)
            .zip(out.as_chunks_mut::<8>().0);
        for (block, o) in blocks {
            // SAFETY: this function only runs on CPUs with AVX-512F and AVX2; `block` is eight
            // rows of `row_len`, a multiple of `LANES`; `o` is 8 floats.
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
        // SAFETY: this function only runs on CPUs with AVX-512F and AVX2.
        |_, rows, o| *o = unsafe { dot_f32_rows(rows, h) },
        // SAFETY: as above.
        |_, row, o| *o = unsafe { dot_f32_rows([row], h)[0] },
    );
    // SAFETY: this function only runs on CPUs with AVX-512F.
    unsafe { super::x86_logistic::sigmoid_epilogue_avx512(bias, out) };
}

/// Rows per packed float block: one output row per lane.
#[cfg(feature = "std")]
pub(crate) const BLOCK: usize = 16;

/// Packs decoder weights (`[rows][len]`, `rows` a multiple of [`BLOCK`], `len` of
/// [`LANES`]) for [`decode_f32_packed`]: for each block of sixteen rows, for each input `k`, the
/// sixteen rows' weights `k` side by side.
#[cfg(feature = "std")]
pub(crate) fn pack_decoder(weights: &[f32], rows: usize, len: usize) -> std::vec::Vec<f32> {
    let mut packed = std::vec![0.0f32; rows * len];
    for (block, out) in packed.chunks_exact_mut(BLOCK * len).enumerate() {
        for k in 0..len {
            for r in 0..BLOCK {
                out[k * BLOCK + r] = weights
                    .get((block * BLOCK + r) * len + k)
                    .copied()
                    .unwrap_or(0.0);
            }
        }
    }
    packed
}

/// [`super::decode_f32`] on weights packed by [`pack_decoder`]: the rows are in the lanes, and
/// the sixteen *partial sums* of the portable kernel become sixteen registers, `acc[l]` holding
/// lane `l` of sixteen rows. Each one takes `h[16c + l] * w[16c + l]` for `c = 0, 1, ...` in
/// order, then the registers are added in the portable tree's pairs (`l + 8`, `+ 4`, `+ 2`,
/// `+ 1`), so every row's sum is the portable one bit for bit, with no sum across lanes.
///
/// # Safety
/// The CPU supports AVX-512F and AVX2; `h.len()` is a non-zero multiple of [`LANES`]; `packed`
/// is `pack_decoder` of `out.len()` rows (a multiple of [`BLOCK`]) of `h.len()` weights, 64-byte
/// aligned.
#[cfg(feature = "std")]
#[target_feature(enable = "avx512f,avx2")]
pub(crate) unsafe fn decode_f32_packed(packed: &[f32], bias: &[f32], h: &[f32], out: &mut [f32]) {
    // SAFETY: the caller's contract, for one code.
    unsafe { decode_f32_packed_images(packed, bias, &[h], &mut [out]) }
}

/// Rows per packed encoder block: eight accumulators keep both vector units busy through the
/// add latency.
#[cfg(feature = "std")]
pub(crate) const ENCODER_ROWS: usize = 8;

/// Packs encoder weights (`[rows][len]`, `rows` a multiple of [`ENCODER_ROWS`], `len` of
/// [`LANES`]) for [`encode_f32_packed_images`]: for each block of eight rows, for each 16-input
/// chunk, the eight rows' chunks one after the other, so that the kernel reads one sequential
/// stream instead of eight rows 3 KB apart.
#[cfg(feature = "std")]
pub(crate) fn pack_encoder(weights: &[f32], rows: usize, len: usize) -> std::vec::Vec<f32> {
    debug_assert!(len.is_multiple_of(LANES));
    let mut packed = std::vec![0.0f32; rows * len];
    for (b, block) in packed.chunks_exact_mut(ENCODER_ROWS * len).enumerate() {
        for (k, group) in block.chunks_exact_mut(ENCODER_ROWS * LANES).enumerate() {
            for (r, out) in group.chunks_exact_mut(LANES).enumerate() {
                let start = (b * ENCODER_ROWS + r) * len + k * LANES;
                if let Some(row) = weights.get(start..start + LANES) {
                    out.copy_from_slice(row);
                }
            }
        }
    }
    packed
}

/// [`encode_f32`] on weights packed by [`pack_encoder`], for one image or several: each row's
/// sixteen lanes are one register, accumulated chunk by chunk as in [`dot_f32_rows`] and reduced
/// the same way, so every output is the portable kernel's.
///
/// # Safety
/// The CPU supports AVX-512F and AVX2; every `x` is `len` long, a non-zero multiple of
/// [`LANES`]; `packed` is `pack_encoder` of `out.len()` rows (a multiple of [`ENCODER_ROWS`]) of
/// `len` weights, 64-byte aligned; `xs` and `outs` have the same length.
#[cfg(feature = "std")]
#[target_feature(enable = "avx512f,avx2")]
pub(crate) unsafe fn encode_f32_packed_images(
    packed: &[f32],
    bias: &[f32],
    xs: &[&[f32]],
    slope: f32,
    outs: &mut [&mut [f32]],
) {
    let len = xs.first().map_or(0, |x| x.len());
    debug_assert!(xs.iter().all(|x| x.len() == len) && outs.len() == xs.len());
    for (b, block) in packed.chunks_exact(ENCODER_ROWS * len.max(1)).enumerate() {
        let rows = b * ENCODER_ROWS..(b + 1) * ENCODER_ROWS;
        let mut i = 0;
        while i < xs.len() {
            // The images after this step (counting round to the first ones, for the next
            // block), which ask for their inputs while it runs.
            let next = |k: usize| xs[k % xs.len()].as_ptr();
            // The first step brings the block from L2 into L1, ahead of its loads; the others
            // find it there.
            let first = i == 0;
            // Two images per weight load while two are left.
            if i + 1 < xs.len() {
                // SAFETY: the CPU features and the layout are the caller's contract.
                let accs = unsafe {
                    packed_encoder_step::<2>(
                        block,
                        [xs[i], xs[i + 1]],
                        [next(i + 2), next(i + 3)],
                        first,
                    )
                };
                // SAFETY: as above.
                unsafe { store_encoder_rows(&mut outs[i..i + 2], rows.clone(), accs) };
                i += 2;
            } else {
                // SAFETY: as above.
                let accs =
                    unsafe { packed_encoder_step::<1>(block, [xs[i]], [next(i + 1)], first) };
                // SAFETY: as above.
                unsafe { store_encoder_rows(&mut outs[i..i + 1], rows.clone(), accs) };
                i += 1;
            }
        }
    }
    for out in outs.iter_mut() {
        super::leaky_relu_epilogue(bias, slope, out);
    }
}

/// Lines ahead that [`packed_encoder_block`] and [`decode_f32_packed_images`] ask for while
/// streaming a block from L2: 2 KB (measured: 512 bytes ahead gained nothing).
#[cfg(feature = "std")]
const PREFETCH_LINES: usize = 32;

/// Codes per pass from which [`decode_f32_packed_images`] spreads the fetch of the next block
/// over all of them: a block of `len` inputs is `len` lines, `len / LANES` chunks, and each code
/// asks for one line per chunk, so sixteen codes cover the whole block.
#[cfg(feature = "std")]
const SPREAD_FROM: usize = LANES;

/// The eight row accumulators of one packed encoder block for each of the `N` images `xs`
/// (one or two): chunk by chunk, in lane order, as [`dot_f32_rows`] keeps them. Two images share
/// each weight load, and their sixteen chains hide the add latency better than eight (batch
/// encode 1.27-1.29 to 1.14-1.21 µs per image, alternating bench binaries); each image's
/// accumulators see the same operations in the same order either way. The decoder does the
/// same with two codes in [`packed_decoder_pair`], written out because its lanes are split.
///
/// With `PREFETCH`, every line is requested from L2 [`PREFETCH_LINES`] ahead of its load
/// (measured: 1.71 to 1.45 µs for one 784 -> 64 image). Each chunk also asks for the same chunk
/// of `next`, the images after these, which then find their inputs in L1 (sixteen images'
/// inputs, 50 KB, do not stay there while the block streams): with the reduction below, 1.43 ->
/// 1.18 µs per image in a batch of 1,000.
///
/// # Safety
/// The CPU supports AVX-512F; every `x.len()` is the same multiple of [`LANES`] and `block` is
/// one packed block of that many inputs, 64-byte aligned.
#[cfg(feature = "std")]
#[inline(always)]
unsafe fn packed_encoder_block<const PREFETCH: bool, const N: usize>(
    block: &[f32],
    xs: [&[f32]; N],
    next: [*const f32; N],
) -> [[__m512; ENCODER_ROWS]; N] {
    const {
        assert!(
            N == 1 || N == 2,
            "one or two images: 8 * N accumulators in registers"
        )
    };
    let chunks = xs[0].len() / LANES;
    let base = block.as_ptr();
    // SAFETY: the caller's contract: each load reads chunk `k < chunks` of an `x` or row `r`'s
    // chunk `k` of this aligned block; a prefetch is a hint, valid for any address.
    unsafe {
        let mut acc = [[_mm512_setzero_ps(); ENCODER_ROWS]; N];
        for k in 0..chunks {
            // A loop, not a closure: a closure might be compiled without AVX-512.
            let mut xv = [_mm512_setzero_ps(); N];
            for (v, x) in xv.iter_mut().zip(xs) {
                *v = _mm512_loadu_ps(x.as_ptr().add(k * LANES));
            }
            for n in next {
                _mm_prefetch::<_MM_HINT_T0>(n.wrapping_add(k * LANES).cast());
            }
            for r in 0..ENCODER_ROWS {
                let line = k * ENCODER_ROWS + r;
                if PREFETCH {
                    _mm_prefetch::<_MM_HINT_T0>(
                        base.wrapping_add((line + PREFETCH_LINES) * LANES).cast(),
                    );
                }
                let w = _mm512_load_ps(base.add(line * LANES));
                for (a, x) in acc.iter_mut().zip(xv) {
                    a[r] = _mm512_add_ps(a[r], _mm512_mul_ps(x, w));
                }
            }
        }
        acc
    }
}

/// [`packed_encoder_block`], prefetching the block when `first`.
///
/// # Safety
/// As [`packed_encoder_block`].
#[cfg(feature = "std")]
#[inline(always)]
unsafe fn packed_encoder_step<const N: usize>(
    block: &[f32],
    xs: [&[f32]; N],
    next: [*const f32; N],
    first: bool,
) -> [[__m512; ENCODER_ROWS]; N] {
    // SAFETY: the caller's contract.
    unsafe {
        if first {
            packed_encoder_block::<true, N>(block, xs, next)
        } else {
            packed_encoder_block::<false, N>(block, xs, next)
        }
    }
}

/// Stores each image's eight rows, reduced side by side as in `dot8_f32_block` (one vector
/// store, not eight scalar trees).
///
/// # Safety
/// The CPU supports AVX-512F and AVX2.
#[cfg(feature = "std")]
#[inline(always)]
unsafe fn store_encoder_rows<const N: usize>(
    outs: &mut [&mut [f32]],
    rows: core::ops::Range<usize>,
    accs: [[__m512; ENCODER_ROWS]; N],
) {
    for (out, acc) in outs.iter_mut().zip(accs) {
        if let Some(o) = out.get_mut(rows.clone()) {
            // SAFETY: register-only instructions on this CPU (the caller's contract); `o` is
            // eight floats.
            unsafe { _mm256_storeu_ps(o.as_mut_ptr(), reduce8_accumulators(acc)) };
        }
    }
}

/// [`encode_f32`] for several images, eight rows at a time for all of them: each block of
/// weights is read from memory once and from L1 for the other images (sixteen rows, 50 KB,
/// measured no faster). Every output is the single-image kernel's.
///
/// # Safety
/// The CPU supports AVX-512F and AVX2.
#[cfg(feature = "std")]
#[target_feature(enable = "avx512f,avx2")]
pub(crate) fn encode_f32_images(
    weights: &[f32],
    bias: &[f32],
    xs: &[&[f32]],
    slope: f32,
    outs: &mut [&mut [f32]],
) {
    super::encode_f32_images_on::<8>(
        weights,
        bias,
        xs,
        slope,
        outs,
        // SAFETY: this function only runs on CPUs with AVX-512F and AVX2.
        |rows, x| unsafe { dot_f32_rows(rows, x) },
        // SAFETY: as above.
        |row, x| unsafe { dot_f32_rows([row], x)[0] },
    );
}

/// [`decode_f32_packed`] for several codes, block by block for all of them (a block's 4 KB of
/// packed weights stay in L1 across the codes). Every output is the single-image kernel's.
///
/// # Safety
/// As [`decode_f32_packed`], for every code and output; `hs` and `outs` have the same length.
#[cfg(feature = "std")]
#[target_feature(enable = "avx512f,avx2")]
pub(crate) unsafe fn decode_f32_packed_images(
    packed: &[f32],
    bias: &[f32],
    hs: &[&[f32]],
    outs: &mut [&mut [f32]],
) {
    let len = hs.first().map_or(0, |h| h.len());
    // From sixteen codes, pairs of codes share each weight load and every code fetches a share
    // of the next block (measured with everything in L2: 1.80 -> 1.67 µs per code for the
    // shares, then 8-10% less for the pairs), against the first code streaming the block with
    // the others waiting on it. An even count only: the passes of `prepared.rs` are sixteen
    // codes, or fewer for the last one.
    let spread = hs.len() >= SPREAD_FROM && hs.len().is_multiple_of(2);
    for (b, block) in packed.chunks_exact(BLOCK * len.max(1)).enumerate() {
        let next = block.as_ptr().wrapping_add(BLOCK * len);
        let Some(bias) = bias.get(b * BLOCK..(b + 1) * BLOCK) else {
            continue;
        };
        if spread {
            let pairs = hs.chunks_exact(2).zip(outs.chunks_exact_mut(2));
            for (i, (h, out)) in pairs.enumerate() {
                // Codes `2i` and `2i + 1` ask for lines `2i * len / LANES ..` of the next block,
                // one per chunk each.
                let share = next.wrapping_add(2 * i * len);
                // SAFETY: as below, for two codes.
                let sums = unsafe { packed_decoder_pair(block, [h[0], h[1]], share) };
                for (out, sum) in out.iter_mut().zip(sums) {
                    if let Some(o) = out.get_mut(b * BLOCK..(b + 1) * BLOCK) {
                        // SAFETY: `o` is sixteen floats, `bias` too.
                        unsafe { store_with_bias(o, sum, bias) };
                    }
                }
            }
            continue;
        }
        for (i, (h, out)) in hs.iter().zip(outs.iter_mut()).enumerate() {
            let Some(o) = out.get_mut(b * BLOCK..(b + 1) * BLOCK) else {
                continue;
            };
            // SAFETY: the CPU features and the layout are the caller's contract; the store
            // writes the sixteen floats of `o`. With few codes, the first one brings the block
            // into L1 ahead of its loads, as in the encoder.
            unsafe {
                let sum = if i == 0 {
                    packed_decoder_block::<true>(block, h)
                } else {
                    packed_decoder_block::<false>(block, h)
                };
                store_with_bias(o, sum, bias);
            }
        }
    }
    // A pass of its own (measured: the logistic fused into the block loop, on registers or on
    // each block's sixteen outputs, made the decoder 25-60% slower).
    for out in outs.iter_mut() {
        // SAFETY: this CPU has AVX-512F (the caller's contract).
        unsafe { super::x86_logistic::sigmoid_in_place_avx512(out) };
    }
}

/// The sums of sixteen rows (one packed decoder block) for the code `h`: sixteen lane registers,
/// `acc[l]` taking `h[16c + l] * w[16c + l]` for `c = 0, 1, ...` in order, then added in the
/// portable tree's pairs (`l + 8`, `+ 4`, `+ 2`, `+ 1`), then `+ 0.0` as the portable kernel's
/// final addition. With `PREFETCH`, each line is requested [`PREFETCH_LINES`] ahead.
///
/// # Safety
/// The CPU supports AVX-512F; `h.len()` is a non-zero multiple of [`LANES`] and `block` is one
/// packed block of `h.len()` inputs, 64-byte aligned.
#[cfg(feature = "std")]
#[inline(always)]
unsafe fn packed_decoder_block<const PREFETCH: bool>(block: &[f32], h: &[f32]) -> __m512 {
    let base = block.as_ptr();
    // SAFETY: the caller's contract: each load reads the sixteen floats of input `k < h.len()`
    // of this aligned block; a prefetch is a hint, valid for any address.
    unsafe {
        let mut acc = [_mm512_setzero_ps(); LANES];
        for (c, hc) in h.chunks_exact(LANES).enumerate() {
            for (l, (a, &x)) in acc.iter_mut().zip(hc).enumerate() {
                let line = c * LANES + l;
                if PREFETCH {
                    _mm_prefetch::<_MM_HINT_T0>(
                        base.wrapping_add((line + PREFETCH_LINES) * BLOCK).cast(),
                    );
                }
                let w = _mm512_load_ps(base.add(line * BLOCK));
                *a = _mm512_add_ps(*a, _mm512_mul_ps(_mm512_set1_ps(x), w));
            }
        }
        lane_tree(&mut acc, LANES / 2)
    }
}

/// The portable reduction tree on lane registers, from `width` on: `acc[l] + acc[l + width]`,
/// then half the width, down to one; then `+ 0.0`, the portable kernel's empty tail.
///
/// # Safety
/// The CPU supports AVX-512F; `acc` holds at least `2 * width` registers.
#[cfg(feature = "std")]
#[inline(always)]
unsafe fn lane_tree(acc: &mut [__m512], mut width: usize) -> __m512 {
    // SAFETY: register-only instructions on this CPU (the caller's contract).
    unsafe {
        while width > 0 {
            for l in 0..width {
                acc[l] = _mm512_add_ps(acc[l], acc[l + width]);
            }
            width /= 2;
        }
        _mm512_add_ps(acc[0], _mm512_setzero_ps())
    }
}

/// Stores `sum + bias` into `o`: the bias added after the dot product, as the portable epilogue
/// adds it.
///
/// # Safety
/// The CPU supports AVX-512F; `o` and `bias` hold at least sixteen floats.
#[cfg(feature = "std")]
#[inline(always)]
unsafe fn store_with_bias(o: &mut [f32], sum: __m512, bias: &[f32]) {
    // SAFETY: the caller's contract.
    unsafe {
        _mm512_storeu_ps(
            o.as_mut_ptr(),
            _mm512_add_ps(sum, _mm512_loadu_ps(bias.as_ptr())),
        )
    }
}

/// [`packed_decoder_block`] for two codes at once, each weight line loaded once for both (a
/// quarter fewer loads: measured 8-10% faster per code than one code at a time). Sixteen lane
/// registers per code would take all 32, so the lanes go in the portable tree's order: lanes
/// 0-7 accumulate first; lanes 8-11, then 12-15, are summed on their own and each added to lane
/// `l - 8` (the tree's first level, `acc[l] + acc[l + 8]`); then the rest of the tree. Every sum
/// is the portable one bit for bit. Each code also asks for one line per chunk of its share of
/// the next block, from `share` on.
///
/// # Safety
/// As [`packed_decoder_block`], for both codes (of the same length).
#[cfg(feature = "std")]
#[inline(always)]
unsafe fn packed_decoder_pair(block: &[f32], hs: [&[f32]; 2], share: *const f32) -> [__m512; 2] {
    let base = block.as_ptr();
    let chunks = hs[0].len().min(hs[1].len()) / LANES;
    // SAFETY: the caller's contract: each load reads the sixteen floats of input `line <
    // h.len()` of this aligned block, and `line` of both codes; a prefetch is a hint, valid
    // for any address.
    unsafe {
        // (Macros, not closures: a closure might be compiled without AVX-512.)
        macro_rules! weights {
            ($line:expr) => {
                _mm512_load_ps(base.add($line * BLOCK))
            };
        }
        macro_rules! code {
            ($g:expr, $line:expr) => {
                _mm512_set1_ps(*hs[$g].get_unchecked($line))
            };
        }
        let zero = _mm512_setzero_ps();
        let mut acc = [[zero; LANES / 2]; 2];
        for c in 0..chunks {
            for g in 0..2 {
                _mm_prefetch::<_MM_HINT_T0>(share.wrapping_add((g * chunks + c) * BLOCK).cast());
            }
            for l in 0..LANES / 2 {
                let w = weights!(c * LANES + l);
                for (g, a) in acc.iter_mut().enumerate() {
                    a[l] = _mm512_add_ps(a[l], _mm512_mul_ps(code!(g, c * LANES + l), w));
                }
            }
        }
        for quarter in [LANES / 2, 3 * LANES / 4] {
            let mut sums = [[zero; LANES / 4]; 2];
            for c in 0..chunks {
                for q in 0..LANES / 4 {
                    let line = c * LANES + quarter + q;
                    let w = weights!(line);
                    for (g, s) in sums.iter_mut().enumerate() {
                        s[q] = _mm512_add_ps(s[q], _mm512_mul_ps(code!(g, line), w));
                    }
                }
            }
            for (a, s) in acc.iter_mut().zip(sums) {
                let first = quarter - LANES / 2;
                for (a, s) in a[first..first + LANES / 4].iter_mut().zip(s) {
                    *a = _mm512_add_ps(*a, s);
                }
            }
        }
        let [a0, a1] = &mut acc;
        [lane_tree(a0, LANES / 4), lane_tree(a1, LANES / 4)]
    }
}
