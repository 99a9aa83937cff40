//! The hand-written inner loops of both inference paths.
//!
//! Every loop keeps [`LANES`] independent accumulators and adds them up in a fixed order at the
//! end. That order is part of the result (float addition is not associative), so it is fixed here
//! once: the compiler turns the lanes into SIMD registers on any target, and every build — portable
//! or dispatched to wider vectors — adds the same numbers in the same order and gets the same bits.
//!
//! On x86-64 the layer functions run on the best instruction set the CPU has ([`Isa`], detected
//! at run time with the `std` feature, or known at compile time): AVX-512 with VNNI
//! (`x86_512.rs`, `int8/x86_512.rs`), else AVX2 (`x86.rs`, `int8/x86.rs`). The float kernels
//! follow the same lanes and reduction tree (multiply then add, no FMA, which would round
//! differently), the integer ones are exact in any order; `ae-core/tests/dispatch.rs` and
//! `tests/kernels.rs` check every one against the portable code bit for bit. Left to the auto-vectorizer, the portable code ran two to four
//! times slower on x86-64. On a microcontroller the assembly modules take over where they apply,
//! each four output rows per pass and each equal to the portable code: `dsp` (int8 on `SMLAD`,
//! Cortex-M4/M7/M33), `fpv4` (float on `VMLA.F32` with the sixteen lanes in FPU registers, their
//! hard-float builds) and `v6m` (int8 on Cortex-M0/M0+); other cores run the portable loops.

#[cfg(ae_core_dsp)]
pub mod dsp;
#[cfg(ae_core_fpu)]
pub mod fpv4;
#[cfg(ae_core_v6m)]
pub mod v6m;
#[cfg(ae_core_avx2)]
pub(crate) mod x86;
#[cfg(ae_core_avx512)]
pub(crate) mod x86_512;
#[cfg(ae_core_avx2)]
pub(crate) mod x86_logistic;

/// Independent accumulators per dot product.
pub const LANES: usize = 16;

/// Generates a dot product over [`LANES`] lanes for `R` rows at once: the rows share each load of
/// `x` and give the CPU `R` independent accumulator chains. Every row's sum is formed exactly as
/// the one-row version forms it (same lanes, same order), so blocking never changes a result.
macro_rules! blocked_dot {
    ($(#[$meta:meta])* $name:ident, $x:ty, $w:ty, $acc:ty, $zero:expr, |$a:ident, $b:ident| $mul:expr, $reduce:path) => {
        $(#[$meta])*
        #[inline(always)]
        pub fn $name<const R: usize>(rows: [&[$w]; R], x: &[$x]) -> [$acc; R] {
            let (x_chunks, x_tail) = x.as_chunks::<LANES>();
            let n = rows.iter().fold(x_chunks.len(), |n, r| n.min(r.len() / LANES));
            let x_chunks = &x_chunks[..n];
            let w_chunks = rows.map(|r| &r.as_chunks::<LANES>().0[..n]);
            let mut acc = [[$zero; LANES]; R];
            for (k, xv) in x_chunks.iter().enumerate() {
                for r in 0..R {
                    // Every row slice has exactly `n` chunks; `get` keeps the loop panic-free.
                    let Some(wv) = w_chunks[r].get(k) else { continue };
                    for l in 0..LANES {
                        let ($a, $b) = (xv[l], wv[l]);
                        acc[r][l] += $mul;
                    }
                }
            }
            let mut out = [$zero; R];
            for r in 0..R {
                let tail_w = rows[r].get(n * LANES..).unwrap_or(&[]);
                let mut tail = $zero;
                for (&$a, &$b) in x_tail.iter().zip(tail_w) {
                    tail += $mul;
                }
                out[r] = $reduce(acc[r]) + tail;
            }
            out
        }
    };
}

blocked_dot!(
    /// `R` dot products of `f32` rows with `x`.
    dot_f32_rows, f32, f32, f32, 0.0f32, |a, b| a * b, reduce_f32
);
#[cfg(not(target_arch = "arm"))]
blocked_dot!(
    /// `R` dot products of int8 rows with unsigned pixels; exact while `len * 255 * 128 < 2^31`
    /// (up to 65,793 inputs).
    dot_u8_i8_rows, u8, i8, i32, 0i32, |a, b| i32::from(a) * i32::from(b), reduce_i32
);
#[cfg(not(target_arch = "arm"))]
blocked_dot!(
    /// `R` dot products of int8 rows with centred 9-bit codes.
    dot_i16_i8_rows, i16, i8, i32, 0i32, |a, b| i32::from(a) * i32::from(b), reduce_i32
);

// On Cortex-M, sixteen accumulators per row would not fit the register file (eight low registers
// on the M0) and would spill to the stack. Integer sums are exact, so the order is free: one
// accumulator per row, which LLVM turns into load-load-multiply-accumulate loops.
#[cfg(target_arch = "arm")]
macro_rules! simple_dot {
    ($(#[$meta:meta])* $name:ident, $x:ty) => {
        $(#[$meta])*
        #[inline(always)]
        pub fn $name<const R: usize>(rows: [&[i8]; R], x: &[$x]) -> [i32; R] {
            core::array::from_fn(|r| {
                let mut acc = 0i32;
                for (&a, &b) in x.iter().zip(rows[r]) {
                    acc = acc.wrapping_add(i32::from(a) * i32::from(b));
                }
                acc
            })
        }
    };
}
#[cfg(target_arch = "arm")]
simple_dot!(
    /// `R` dot products of int8 rows with unsigned pixels (Cortex-M build).
    dot_u8_i8_rows, u8
);
#[cfg(target_arch = "arm")]
simple_dot!(
    /// `R` dot products of int8 rows with centred 9-bit codes (Cortex-M build).
    dot_i16_i8_rows, i16
);

/// Sum of `a[k] * b[k]` over the shorter slice, lane-parallel.
#[inline(always)]
pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    dot_f32_rows([&b[..n]], &a[..n])[0]
}

/// Pairwise sum of the lanes, in a fixed order.
#[inline(always)]
fn reduce_f32(mut acc: [f32; LANES]) -> f32 {
    let mut width = LANES / 2;
    while width > 0 {
        for l in 0..width {
            acc[l] += acc[l + width];
        }
        width /= 2;
    }
    acc[0]
}

#[cfg_attr(target_arch = "arm", allow(dead_code))]
#[inline(always)]
fn reduce_i32(acc: [i32; LANES]) -> i32 {
    acc.iter().fold(0i32, |s, &v| s.wrapping_add(v))
}

/// Sum of `x[k] * w[k]` (unsigned pixels times int8 weights) over the shorter slice.
#[inline(always)]
pub fn dot_u8_i8(x: &[u8], w: &[i8]) -> i32 {
    let n = x.len().min(w.len());
    dot_u8_i8_rows([&w[..n]], &x[..n])[0]
}

/// Sum of `x[k] * w[k]` (centred 9-bit codes times int8 weights) over the shorter slice.
#[inline(always)]
pub fn dot_i16_i8(x: &[i16], w: &[i8]) -> i32 {
    let n = x.len().min(w.len());
    dot_i16_i8_rows([&w[..n]], &x[..n])[0]
}

/// Calls `block` on groups of `R` consecutive rows of `weights` (each `x_len` long), then `single`
/// on the rows left over, with the index of the first row and the outputs for those rows.
#[inline(always)]
pub fn for_row_blocks<W, O, const R: usize>(
    weights: &[W],
    x_len: usize,
    out: &mut [O],
    mut block: impl FnMut(usize, [&[W]; R], &mut [O; R]),
    mut single: impl FnMut(usize, &[W], &mut O),
) {
    let rows = weights.chunks_exact(x_len.max(1));
    let n_rows = rows.len().min(out.len());
    let (out_blocks, out_rest) = out[..n_rows].as_chunks_mut::<R>();
    let mut rows = rows.take(n_rows);
    let mut index = 0;
    for o in out_blocks {
        let block_rows: [&[W]; R] = core::array::from_fn(|_| rows.next().unwrap_or(&[]));
        block(index, block_rows, o);
        index += R;
    }
    for (o, row) in out_rest.iter_mut().zip(rows) {
        single(index, row, o);
        index += 1;
    }
}

/// `out[j] = dot(row j of weights, x)` for every image of a pass, `R` rows at a time for all the
/// images before the next `R` rows, so that each block of rows comes from memory once and from
/// L1 for the other images. The rows are as long as the first input (the batches of
/// `prepared.rs` give every input the model's length); `block` gets `R` consecutive rows and
/// `single` one of the rows past the last whole block, each with the input, which may be of
/// another length (the callers' kernels read no more of either than both hold). Both compute the
/// single-image kernel's dot products, so every output is that kernel's.
#[cfg(all(feature = "std", ae_core_avx2))]
#[inline(always)]
pub(crate) fn row_blocks_across_images<const R: usize>(
    weights: &[f32],
    xs: &[&[f32]],
    outs: &mut [&mut [f32]],
    mut block: impl FnMut(&[f32], &[f32], &mut [f32; R]),
    mut single: impl FnMut(&[f32], &[f32]) -> f32,
) {
    let len = xs.first().map_or(0, |x| x.len()).max(1);
    let whole = weights.chunks_exact(R * len);
    let rest = whole.remainder();
    for (b, rows) in whole.enumerate() {
        for (x, out) in xs.iter().zip(outs.iter_mut()) {
            let o = out
                .get_mut(R * b..R * (b + 1))
                .and_then(|o| o.as_chunks_mut::<R>().0.first_mut());
            if let Some(o) = o {
                block(rows, x, o);
            }
        }
    }
    let done = (weights.len() - rest.len()) / len;
    for (x, out) in xs.iter().zip(outs.iter_mut()) {
        let rest_out = out.get_mut(done..).unwrap_or_default();
        for (o, row) in rest_out.iter_mut().zip(rest.chunks_exact(len)) {
            *o = single(row, x);
        }
    }
}

/// [`encode_f32`] for several images on an instruction set's dot products: `dots` for `R` rows
/// at once, `dot` for one row (both the single-image kernel's, so every output is its own),
/// `R` rows at a time for all the images ([`row_blocks_across_images`]), then the epilogue.
#[cfg(all(feature = "std", ae_core_avx2))]
#[inline(always)]
pub(crate) fn encode_f32_images_on<const R: usize>(
    weights: &[f32],
    bias: &[f32],
    xs: &[&[f32]],
    slope: f32,
    outs: &mut [&mut [f32]],
    mut dots: impl FnMut([&[f32]; R], &[f32]) -> [f32; R],
    dot: impl FnMut(&[f32], &[f32]) -> f32,
) {
    row_blocks_across_images::<R>(
        weights,
        xs,
        outs,
        |block, x, o| {
            let len = x.len();
            *o = dots(
                core::array::from_fn(|r| block.get(r * len..(r + 1) * len).unwrap_or(&[])),
                x,
            );
        },
        dot,
    );
    for out in outs.iter_mut() {
        leaky_relu_epilogue(bias, slope, out);
    }
}

/// The constants of [`exp_f32`], shared with the vector logistic of `x86_logistic.rs`, which must
/// repeat its operations one for one.
pub(crate) mod exp_consts {
    /// The range `exp_f32` clamps its argument to: `e^x` stays a normal float.
    pub const LOW: f32 = -87.0;
    pub const HIGH: f32 = 88.0;
    pub const LOG2_E: f32 = core::f32::consts::LOG2_E;
    /// ln 2 split so that `n * LN2_HI` is exact for |n| < 2^9.
    pub const LN2_HI: f32 = 0.693_145_75;
    pub const LN2_LO: f32 = 1.428_606_8e-6;
    /// Adding and subtracting 1.5 * 2^23 rounds to the nearest integer.
    pub const ROUND: f32 = 12_582_912.0;
    /// Taylor coefficients of `e^r` from the innermost: `1/720, 1/120, ... 1`, the last `1`
    /// being the constant term.
    pub const TAYLOR: [f32; 7] = [
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ];
}

/// `e^x` for `f32`, branch-free so that it vectorizes; within 4 ulp of the true value for
/// `x` in `[-87, 88]` and clamped outside (no infinities, no denormals).
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    use exp_consts::{HIGH, LN2_HI, LN2_LO, LOG2_E, LOW, ROUND, TAYLOR};
    let x = x.clamp(LOW, HIGH);
    // `shifted` is 1.5 * 2^23 + n, where one ulp is 1: its bits are ROUND's bits plus n.
    let shifted = x * LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // Taylor series of e^r on |r| <= ln2/2 in Horner's order; the first omitted term is below
    // 1.3e-7 relative.
    let [c720, c120, c24, c6, c2, c1, c0] = TAYLOR;
    let p = c0 + r * (c1 + r * (c2 + r * (c6 + r * (c24 + r * (c120 + r * c720)))));
    // n is in [-126, 127], so 2^n is a normal float. Integer arithmetic on the bits (rather than
    // `n as i32`, whose saturation x86 cannot vectorize) builds its exponent field.
    let n_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    let two_n = f32::from_bits(n_bits.wrapping_add(127) << 23);
    p * two_n
}

/// The logistic function on [`exp_f32`].
#[inline(always)]
pub fn sigmoid_f32(z: f32) -> f32 {
    1.0 / (1.0 + exp_f32(-z))
}

/// The instruction set the host kernels run on, chosen once per call from what the CPU has.
///
/// A value only exists for an instruction set this CPU supports ([`Isa::detect`],
/// [`Isa::available`]), so passing one to the `*_with` functions is always sound. Every choice
/// gives bit-identical results; the tests run each one against the portable code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Isa(Level);

/// The instruction sets, for [`dispatch!`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    Portable,
    #[cfg(ae_core_avx2)]
    Avx2,
    #[cfg(ae_core_avx512)]
    Avx512,
}

impl Isa {
    /// The portable loops, always available.
    pub const PORTABLE: Isa = Isa(Level::Portable);

    /// The best instruction set this CPU has: AVX-512 with VNNI (and BW), else AVX2, else the
    /// portable loops (checked at run time with the `std` feature, else known at compile time).
    #[inline]
    pub fn detect() -> Isa {
        Self::available().last().unwrap_or(Self::PORTABLE)
    }

    /// Every instruction set this CPU has, portable first.
    pub fn available() -> impl Iterator<Item = Isa> {
        let levels = [
            Some(Level::Portable),
            #[cfg(ae_core_avx2)]
            has_avx2().then_some(Level::Avx2),
            #[cfg(ae_core_avx512)]
            has_avx512().then_some(Level::Avx512),
        ];
        levels.into_iter().flatten().map(Isa)
    }

    /// A short name: `portable`, `avx2` or `avx512`.
    pub fn name(self) -> &'static str {
        match self.0 {
            Level::Portable => "portable",
            #[cfg(ae_core_avx2)]
            Level::Avx2 => "avx2",
            #[cfg(ae_core_avx512)]
            Level::Avx512 => "avx512",
        }
    }
}

#[cfg(ae_core_avx2)]
#[inline]
fn has_avx2() -> bool {
    #[cfg(feature = "std")]
    return std::is_x86_feature_detected!("avx2");
    #[cfg(not(feature = "std"))]
    return cfg!(target_feature = "avx2");
}

#[cfg(ae_core_avx512)]
#[inline]
fn has_avx512() -> bool {
    #[cfg(feature = "std")]
    return std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx512bw")
        && std::is_x86_feature_detected!("avx512vnni");
    #[cfg(not(feature = "std"))]
    return cfg!(all(
        target_feature = "avx2",
        target_feature = "avx512f",
        target_feature = "avx512bw",
        target_feature = "avx512vnni"
    ));
}

/// Runs the arm for `$isa`: `avx512 => ...`, `avx2 => ...`, and `portable => ...` for everything
/// else. The x86 arms call `#[target_feature]` functions, which is sound because an [`Isa`] only
/// names an instruction set the CPU has.
macro_rules! dispatch {
    ($isa:expr, avx512 => $avx512:expr, avx2 => $avx2:expr, portable => $portable:expr $(,)?) => {{
        #[allow(unreachable_patterns)]
        match $isa.level() {
            #[cfg(ae_core_avx512)]
            crate::kernels::Level::Avx512 => {
                // SAFETY: an `Isa` of this level exists only if the CPU has AVX-512 (F, BW,
                // VNNI) and AVX2.
                #[allow(unused_unsafe)]
                unsafe {
                    $avx512
                }
            }
            #[cfg(ae_core_avx2)]
            crate::kernels::Level::Avx2 => {
                // SAFETY: an `Isa` of this level exists only if the CPU has AVX2.
                #[allow(unused_unsafe)]
                unsafe {
                    $avx2
                }
            }
            _ => $portable,
        }
    }};
}

pub(crate) use dispatch;

impl Isa {
    pub(crate) fn level(self) -> Level {
        self.0
    }

    /// Whether this is AVX-512 with VNNI (for the packed kernels).
    #[cfg(ae_core_avx512)]
    pub(crate) fn is_avx512(self) -> bool {
        self.0 == Level::Avx512
    }
}

/// Float encoder layer: `out[j] = leaky(dot(weights[j], x) + bias[j])`, `weights` `[out][in]`.
#[inline]
pub fn encode_f32(weights: &[f32], bias: &[f32], x: &[f32], slope: f32, out: &mut [f32]) {
    encode_f32_with(Isa::detect(), weights, bias, x, slope, out)
}

/// [`encode_f32`] on a chosen instruction set (tests compare them all).
#[inline]
pub fn encode_f32_with(
    isa: Isa,
    weights: &[f32],
    bias: &[f32],
    x: &[f32],
    slope: f32,
    out: &mut [f32],
) {
    dispatch!(isa,
        avx512 => x86_512::encode_f32(weights, bias, x, slope, out),
        avx2 => x86::encode_f32(weights, bias, x, slope, out),
        portable => encode_f32_portable(weights, bias, x, slope, out),
    )
}

/// Float decoder layer: `out[i] = sigmoid(dot(weights[i], h) + bias[i])`, `weights` `[out][in]`.
#[inline]
pub fn decode_f32(weights: &[f32], bias: &[f32], h: &[f32], out: &mut [f32]) {
    decode_f32_with(Isa::detect(), weights, bias, h, out)
}

/// [`decode_f32`] on a chosen instruction set (tests compare them all).
#[inline]
pub fn decode_f32_with(isa: Isa, weights: &[f32], bias: &[f32], h: &[f32], out: &mut [f32]) {
    dispatch!(isa,
        avx512 => x86_512::decode_f32(weights, bias, h, out),
        avx2 => x86::decode_f32(weights, bias, h, out),
        portable => decode_f32_portable(weights, bias, h, out),
    )
}

/// [`encode_f32_with`] for several images (`xs`, each `x.len()` long, and their `outs`), the
/// rows outermost where the instruction set has a batch kernel: the same outputs, bit for bit.
#[cfg(feature = "std")]
pub(crate) fn encode_f32_images_with(
    isa: Isa,
    weights: &[f32],
    bias: &[f32],
    xs: &[&[f32]],
    slope: f32,
    outs: &mut [&mut [f32]],
) {
    dispatch!(isa,
        avx512 => x86_512::encode_f32_images(weights, bias, xs, slope, outs),
        avx2 => x86::encode_f32_images(weights, bias, xs, slope, outs),
        portable => for (x, out) in xs.iter().zip(outs.iter_mut()) {
            encode_f32_portable(weights, bias, x, slope, out)
        },
    )
}

/// [`decode_f32_with`] for several codes, the rows outermost where the instruction set has a
/// batch kernel (AVX2; AVX-512 has the packed one of `prepared.rs`): the same outputs.
#[cfg(feature = "std")]
pub(crate) fn decode_f32_images_with(
    isa: Isa,
    weights: &[f32],
    bias: &[f32],
    hs: &[&[f32]],
    outs: &mut [&mut [f32]],
) {
    dispatch!(isa,
        avx512 => for (h, out) in hs.iter().zip(outs.iter_mut()) {
            x86_512::decode_f32(weights, bias, h, out)
        },
        avx2 => x86::decode_f32_images(weights, bias, hs, outs),
        portable => for (h, out) in hs.iter().zip(outs.iter_mut()) {
            decode_f32_portable(weights, bias, h, out)
        },
    )
}

/// The portable build of [`encode_f32`] (tests compare the two).
#[doc(hidden)]
#[inline(always)]
pub fn encode_f32_portable(weights: &[f32], bias: &[f32], x: &[f32], slope: f32, out: &mut [f32]) {
    row_dots_f32(weights, x, out);
    leaky_relu_epilogue(bias, slope, out);
}

/// The portable build of [`decode_f32`] (tests compare the two).
#[doc(hidden)]
#[inline(always)]
pub fn decode_f32_portable(weights: &[f32], bias: &[f32], h: &[f32], out: &mut [f32]) {
    row_dots_f32(weights, h, out);
    sigmoid_epilogue(bias, out);
}

/// `out[j] = dot(weights[j], x)` for the rows of `weights` (`[out][x.len()]`): four rows at a
/// time, or on a Cortex-M4F one row at a time in the FPU's registers (same bits either way).
#[inline(always)]
fn row_dots_f32(weights: &[f32], x: &[f32], out: &mut [f32]) {
    #[cfg(ae_core_fpu)]
    for (o, row) in out.iter_mut().zip(weights.chunks_exact(x.len().max(1))) {
        *o = fpv4::dot_f32(x, row);
    }
    #[cfg(not(ae_core_fpu))]
    for_row_blocks::<f32, f32, 4>(
        weights,
        x.len(),
        out,
        |_, rows, o| *o = dot_f32_rows(rows, x),
        |_, row, o| *o = dot_f32_rows([row], x)[0],
    );
}

/// Adds the bias to each dot product and applies LeakyReLU.
#[inline(always)]
pub(crate) fn leaky_relu_epilogue(bias: &[f32], slope: f32, out: &mut [f32]) {
    for (o, b) in out.iter_mut().zip(bias) {
        let z = *o + b;
        *o = if z >= 0.0 { z } else { slope * z };
    }
}

/// Adds the bias to each dot product and applies the logistic function.
#[inline(always)]
pub(crate) fn sigmoid_epilogue(bias: &[f32], out: &mut [f32]) {
    add_bias(bias, out);
    sigmoid_in_place(out);
}

/// Adds the bias to each dot product.
#[inline(always)]
pub(crate) fn add_bias(bias: &[f32], out: &mut [f32]) {
    for (o, b) in out.iter_mut().zip(bias) {
        *o += b;
    }
}

/// The logistic function on every value, in a pass of its own, so that the exponentials
/// vectorize across outputs.
#[inline(always)]
pub(crate) fn sigmoid_in_place(out: &mut [f32]) {
    for o in out.iter_mut() {
        *o = sigmoid_f32(*o);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_matches_libm_within_four_ulp() {
        let mut x = -87.0f32;
        while x <= 88.0 {
            let want = libm::expf(x);
            let got = exp_f32(x);
            let ulps = (got.to_bits() as i64 - want.to_bits() as i64).abs();
            assert!(ulps <= 4, "exp({x}) = {got}, libm {want}, {ulps} ulp");
            x += 0.0137;
        }
        assert!(exp_f32(-1000.0) > 0.0);
        assert!(exp_f32(1000.0).is_finite());
        assert!(exp_f32(f32::NAN).is_nan() || exp_f32(f32::NAN).is_finite());
    }

    #[test]
    fn dots_match_naive_sums_with_tails() {
        for len in [0usize, 1, 5, 16, 17, 64, 784, 799] {
            let a: Vec<f32> = (0..len).map(|k| (k as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..len).map(|k| (k as f32 * 0.11).cos()).collect();
            let naive: f64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| f64::from(*x) * f64::from(*y))
                .sum();
            assert!(
                (f64::from(dot_f32(&a, &b)) - naive).abs() < 1e-3,
                "len {len}"
            );

            let x: Vec<u8> = (0..len).map(|k| (k * 37 % 256) as u8).collect();
            let w: Vec<i8> = (0..len).map(|k| (k * 11 % 256) as u8 as i8).collect();
            let naive: i32 = x
                .iter()
                .zip(&w)
                .map(|(&x, &w)| i32::from(x) * i32::from(w))
                .sum();
            assert_eq!(dot_u8_i8(&x, &w), naive);

            let c: Vec<i16> = x.iter().map(|&v| i16::from(v) - 128).collect();
            let naive: i32 = c
                .iter()
                .zip(&w)
                .map(|(&x, &w)| i32::from(x) * i32::from(w))
                .sum();
            assert_eq!(dot_i16_i8(&c, &w), naive);
        }
    }

    #[test]
    fn u8_dot_is_exact_at_the_extremes() {
        let x = [255u8; 784];
        assert_eq!(dot_u8_i8(&x, &[-128i8; 784]), -128 * 255 * 784);
        assert_eq!(dot_u8_i8(&x, &[127i8; 784]), 127 * 255 * 784);
    }
}
