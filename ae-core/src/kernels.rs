//! The hand-written inner loops of both inference paths.
//!
//! Every loop keeps [`LANES`] independent accumulators and adds them up in a fixed order at the
//! end. That order is part of the result (float addition is not associative), so it is fixed here
//! once: the compiler turns the lanes into SIMD registers on any target, and every build — portable
//! or dispatched to wider vectors — adds the same numbers in the same order and gets the same bits.
//!
//! With the `std` feature on x86-64, the layer functions run a copy of the same code compiled with
//! AVX2 when the CPU has it (no FMA: fused multiply-add would round differently). Without `std`
//! (on a microcontroller) the portable code is all there is.

/// Independent accumulators per dot product.
pub const LANES: usize = 16;

/// Sum of `a[k] * b[k]` over the shorter slice, lane-parallel.
#[inline(always)]
pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let (a_chunks, a_tail) = a.as_chunks::<LANES>();
    let (b_chunks, b_tail) = b.as_chunks::<LANES>();
    let mut acc = [0.0f32; LANES];
    for (x, y) in a_chunks.iter().zip(b_chunks) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    let mut tail = 0.0f32;
    for (x, y) in a_tail.iter().zip(b_tail) {
        tail += x * y;
    }
    reduce_f32(acc) + tail
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

/// Sum of `x[k] * w[k]` (unsigned pixels times int8 weights) over the shorter slice.
///
/// Exact while `len * 255 * 128 < 2^31`, i.e. for up to 65,793 inputs.
#[inline(always)]
pub fn dot_u8_i8(x: &[u8], w: &[i8]) -> i32 {
    let (x_chunks, x_tail) = x.as_chunks::<LANES>();
    let (w_chunks, w_tail) = w.as_chunks::<LANES>();
    let mut acc = [0i32; LANES];
    for (x, w) in x_chunks.iter().zip(w_chunks) {
        for l in 0..LANES {
            acc[l] += i32::from(x[l]) * i32::from(w[l]);
        }
    }
    let tail: i32 = x_tail
        .iter()
        .zip(w_tail)
        .map(|(&x, &w)| i32::from(x) * i32::from(w))
        .sum();
    acc.iter().sum::<i32>() + tail
}

/// Sum of `x[k] * w[k]` (centred 9-bit codes times int8 weights) over the shorter slice.
#[inline(always)]
pub fn dot_i16_i8(x: &[i16], w: &[i8]) -> i32 {
    let (x_chunks, x_tail) = x.as_chunks::<LANES>();
    let (w_chunks, w_tail) = w.as_chunks::<LANES>();
    let mut acc = [0i32; LANES];
    for (x, w) in x_chunks.iter().zip(w_chunks) {
        for l in 0..LANES {
            acc[l] += i32::from(x[l]) * i32::from(w[l]);
        }
    }
    let tail: i32 = x_tail
        .iter()
        .zip(w_tail)
        .map(|(&x, &w)| i32::from(x) * i32::from(w))
        .sum();
    acc.iter().sum::<i32>() + tail
}

/// `e^x` for `f32`, branch-free so that it vectorizes; within 4 ulp of the true value for
/// `x` in `[-87, 88]` and clamped outside (no infinities, no denormals).
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2_E: f32 = core::f32::consts::LOG2_E;
    // ln 2 split so that `n * LN2_HI` is exact for |n| < 2^9.
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // Adding and subtracting 1.5 * 2^23 rounds to the nearest integer.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2_E + ROUND) - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // Taylor series of e^r on |r| <= ln2/2; the first omitted term is below 1.3e-7 relative.
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // n is in [-126, 127], so 2^n is a normal float.
    let two_n = f32::from_bits(((n as i32 + 127) as u32) << 23);
    p * two_n
}

/// The logistic function on [`exp_f32`].
#[inline(always)]
pub fn sigmoid_f32(z: f32) -> f32 {
    1.0 / (1.0 + exp_f32(-z))
}

/// Defines a layer function whose body is also compiled for AVX2 and picked at run time when the
/// `std` feature is on and the CPU supports it. Both copies are the same source, so they agree.
macro_rules! dispatched {
    ($(#[$meta:meta])* pub fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$meta])*
        #[inline]
        pub fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn portable($($arg: $ty),*) $body
            #[cfg(all(feature = "std", target_arch = "x86_64"))]
            {
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) { portable($($arg),*) }
                if std::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU was just checked to support AVX2.
                    return unsafe { avx2($($arg),*) };
                }
            }
            portable($($arg),*)
        }
    };
}

dispatched! {
    /// Float encoder layer: `out[j] = leaky(dot(weights[j], x) + bias[j])`, `weights` `[out][in]`.
    pub fn encode_f32(weights: &[f32], bias: &[f32], x: &[f32], slope: f32, out: &mut [f32]) {
        for ((o, row), b) in out.iter_mut().zip(weights.chunks_exact(x.len().max(1))).zip(bias) {
            let z = dot_f32(row, x) + b;
            *o = if z >= 0.0 { z } else { slope * z };
        }
    }
}

dispatched! {
    /// Float decoder layer: `out[i] = sigmoid(dot(weights[i], h) + bias[i])`, `weights` `[out][in]`.
    pub fn decode_f32(weights: &[f32], bias: &[f32], h: &[f32], out: &mut [f32]) {
        for ((o, row), b) in out.iter_mut().zip(weights.chunks_exact(h.len().max(1))).zip(bias) {
            *o = dot_f32(row, h) + b;
        }
        // A separate pass, so the exponentials vectorize across outputs.
        for o in out.iter_mut() {
            *o = sigmoid_f32(*o);
        }
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
