//! The logistic pass of the x86 float decoders: [`super::sigmoid_f32`] on 256- or 512-bit
//! vectors, operation for operation, so every value is the scalar function's, bit for bit.
//!
//! Why a hand-written pass when the compiler vectorizes [`super::sigmoid_in_place`]: the
//! exponential is one chain of about 25 dependent operations per vector, and the compiler's
//! loop takes the vectors one after the other. The scheduler then holds the chains of only the
//! next three or four vectors, so each vector took 27 cycles on AVX-512 (measured), twice what
//! the vector ports allow. Here `N` vectors go side by side, each step taken for all of them
//! before the next, so that `N` operations are ready at every step.

// Intrinsics by their Intel names, as the reference documents them.
use core::arch::x86_64::*;

use super::exp_consts::{HIGH, LN2_HI, LN2_LO, LOG2_E, LOW, ROUND, TAYLOR};

/// Adding this to the bits of `x * LOG2_E + ROUND` gives `n + 127`, the exponent field of 2^n.
const EXPONENT_BIAS: i32 = 127i32.wrapping_sub(ROUND.to_bits() as i32);

/// A float vector for the logistic: the operations [`super::exp_f32`] uses, one instruction each.
///
/// # Safety
/// Every method needs the CPU to support the vector's instruction set (AVX2 for `__m256`,
/// AVX-512F for `__m512`); `load` and `store` need `WIDTH` valid floats at the pointer.
pub(crate) trait Vector: Copy {
    /// Floats per vector.
    const WIDTH: usize;
    unsafe fn splat(v: f32) -> Self;
    unsafe fn load(p: *const f32) -> Self;
    unsafe fn store(self, p: *mut f32);
    unsafe fn add(self, o: Self) -> Self;
    unsafe fn sub(self, o: Self) -> Self;
    unsafe fn mul(self, o: Self) -> Self;
    unsafe fn div(self, o: Self) -> Self;
    /// `self` clamped to `[LOW, HIGH]` as `f32::clamp` does it: `max` then `min`, the constant
    /// first, so that a NaN passes through.
    unsafe fn clamp_exp_range(self) -> Self;
    /// `-self`: the sign bit flipped.
    unsafe fn negate(self) -> Self;
    /// The float whose bits are `(bits(self) + EXPONENT_BIAS) << 23`, wrapping.
    unsafe fn power_of_two(self) -> Self;
}

impl Vector for __m256 {
    const WIDTH: usize = 8;
    #[inline(always)]
    unsafe fn splat(v: f32) -> Self {
        // SAFETY: the trait's contract.
        unsafe { _mm256_set1_ps(v) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the trait's contract.
        unsafe { _mm256_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: the trait's contract.
        unsafe { _mm256_storeu_ps(p, self) }
    }
    #[inline(always)]
    unsafe fn add(self, o: Self) -> Self {
        // SAFETY: the trait's contract.
        unsafe { _mm256_add_ps(self, o) }
    }
    #[inline(always)]
    unsafe fn sub(self, o: Self) -> Self {
        // SAFETY: the trait's contract.
        unsafe { _mm256_sub_ps(self, o) }
    }
    #[inline(always)]
    unsafe fn mul(self, o: Self) -> Self {
        // SAFETY: the trait's contract.
        unsafe { _mm256_mul_ps(self, o) }
    }
    #[inline(always)]
    unsafe fn div(self, o: Self) -> Self {
        // SAFETY: the trait's contract.
        unsafe { _mm256_div_ps(self, o) }
    }
    #[inline(always)]
    unsafe fn clamp_exp_range(self) -> Self {
        // SAFETY: the trait's contract.
        unsafe {
            _mm256_min_ps(
                _mm256_set1_ps(HIGH),
                _mm256_max_ps(_mm256_set1_ps(LOW), self),
            )
        }
    }
    #[inline(always)]
    unsafe fn negate(self) -> Self {
        // SAFETY: the trait's contract.
        unsafe { _mm256_xor_ps(self, _mm256_set1_ps(-0.0)) }
    }
    #[inline(always)]
    unsafe fn power_of_two(self) -> Self {
        // SAFETY: the trait's contract.
        unsafe {
            let bits =
                _mm256_add_epi32(_mm256_castps_si256(self), _mm256_set1_epi32(EXPONENT_BIAS));
            _mm256_castsi256_ps(_mm256_slli_epi32::<23>(bits))
        }
    }
}

#[cfg(ae_core_avx512)]
impl Vector for __m512 {
    const WIDTH: usize = 16;
    #[inline(always)]
    unsafe fn splat(v: f32) -> Self {
        // SAFETY: the trait's contract.
        unsafe { _mm512_set1_ps(v) }
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the trait's contract.
        unsafe { _mm512_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: the trait's contract.
        unsafe { _mm512_storeu_ps(p, self) }
    }
    #[inline(always)]
    unsafe fn add(self, o: Self) -> Self {
        // SAFETY: the trait's contract.
        unsafe { _mm512_add_ps(self, o) }
    }
    #[inline(always)]
    unsafe fn sub(self, o: Self) -> Self {
        // SAFETY: the trait's contract.
        unsafe { _mm512_sub_ps(self, o) }
    }
    #[inline(always)]
    unsafe fn mul(self, o: Self) -> Self {
        // SAFETY: the trait's contract.
        unsafe { _mm512_mul_ps(self, o) }
    }
    #[inline(always)]
    unsafe fn div(self, o: Self) -> Self {
        // SAFETY: the trait's contract.
        unsafe { _mm512_div_ps(self, o) }
    }
    #[inline(always)]
    unsafe fn clamp_exp_range(self) -> Self {
        // SAFETY: the trait's contract.
        unsafe {
            _mm512_min_ps(
                _mm512_set1_ps(HIGH),
                _mm512_max_ps(_mm512_set1_ps(LOW), self),
            )
        }
    }
    #[inline(always)]
    unsafe fn negate(self) -> Self {
        // SAFETY: the trait's contract (AVX-512F has no float xor; the integer one is the same).
        unsafe {
            _mm512_castsi512_ps(_mm512_xor_si512(
                _mm512_castps_si512(self),
                _mm512_set1_epi32(i32::MIN),
            ))
        }
    }
    #[inline(always)]
    unsafe fn power_of_two(self) -> Self {
        // SAFETY: the trait's contract.
        unsafe {
            let bits =
                _mm512_add_epi32(_mm512_castps_si512(self), _mm512_set1_epi32(EXPONENT_BIAS));
            _mm512_castsi512_ps(_mm512_slli_epi32::<23>(bits))
        }
    }
}

/// Vectors side by side on AVX2 (sixteen registers) and on AVX-512 (thirty-two): with four and
/// eight the compiled code keeps the steps interleaved; with six or more on AVX-512 LLVM runs
/// Horner's steps one vector after the other again, for lack of registers (seen in the
/// disassembly; eight measured fastest of 2, 4, 6, 8 and 16).
const AVX2_CHAINS: usize = 4;
#[cfg(ae_core_avx512)]
const AVX512_CHAINS: usize = 8;

/// [`super::sigmoid_epilogue`] on AVX2: the bias added, then [`sigmoid_in_place`] on 256-bit
/// vectors.
///
/// # Safety
/// The CPU supports AVX2.
#[inline(always)]
pub(crate) unsafe fn sigmoid_epilogue_avx2(bias: &[f32], out: &mut [f32]) {
    super::add_bias(bias, out);
    // SAFETY: the caller's contract.
    unsafe { sigmoid_in_place::<__m256, AVX2_CHAINS>(out) }
}

/// [`super::sigmoid_in_place`] on AVX-512.
///
/// # Safety
/// The CPU supports AVX-512F.
#[cfg(ae_core_avx512)]
#[inline(always)]
pub(crate) unsafe fn sigmoid_in_place_avx512(out: &mut [f32]) {
    // SAFETY: the caller's contract.
    unsafe { sigmoid_in_place::<__m512, AVX512_CHAINS>(out) }
}

/// [`super::sigmoid_epilogue`] on AVX-512: the bias added, then [`sigmoid_in_place_avx512`].
///
/// # Safety
/// The CPU supports AVX-512F.
#[cfg(ae_core_avx512)]
#[inline(always)]
pub(crate) unsafe fn sigmoid_epilogue_avx512(bias: &[f32], out: &mut [f32]) {
    super::add_bias(bias, out);
    // SAFETY: the caller's contract.
    unsafe { sigmoid_in_place_avx512(out) }
}

/// [`super::sigmoid_in_place`] on vectors `V`: `N` vectors at a time through
/// [`sigmoid_vectors`], then one at a time, then the scalar function for the last values.
///
/// # Safety
/// The CPU supports `V`'s instruction set.
#[inline(always)]
unsafe fn sigmoid_in_place<V: Vector, const N: usize>(out: &mut [f32]) {
    let mut groups = out.chunks_exact_mut(N * V::WIDTH);
    // SAFETY: the instruction set is the caller's contract; each load and store is a whole
    // vector inside its group or chunk.
    unsafe {
        for g in &mut groups {
            let p = g.as_mut_ptr();
            let mut v = [V::splat(0.0); N];
            for (i, v) in v.iter_mut().enumerate() {
                *v = V::load(p.add(i * V::WIDTH));
            }
            for (i, s) in sigmoid_vectors(v).into_iter().enumerate() {
                s.store(p.add(i * V::WIDTH));
            }
        }
        let mut vectors = groups.into_remainder().chunks_exact_mut(V::WIDTH);
        for v in &mut vectors {
            let [s] = sigmoid_vectors([V::load(v.as_ptr())]);
            s.store(v.as_mut_ptr());
        }
        for o in vectors.into_remainder() {
            *o = super::sigmoid_f32(*o);
        }
    }
}

/// [`super::sigmoid_f32`] on `N` vectors, operation for operation (multiply and add apart, as
/// the scalar code rounds), each step taken for all `N` vectors before the next.
///
/// # Safety
/// The CPU supports `V`'s instruction set.
#[inline(always)]
unsafe fn sigmoid_vectors<V: Vector, const N: usize>(z: [V; N]) -> [V; N] {
    // SAFETY: register-only instructions of `V`'s instruction set (the caller's contract).
    // (Loops, not closures: a closure might be compiled without the instruction set.)
    unsafe {
        let mut x = z;
        for x in &mut x {
            *x = x.negate().clamp_exp_range();
        }
        let mut shifted = x;
        for s in &mut shifted {
            *s = s.mul(V::splat(LOG2_E)).add(V::splat(ROUND));
        }
        let mut r = x;
        for (r, s) in r.iter_mut().zip(shifted) {
            let n = s.sub(V::splat(ROUND));
            *r = r.sub(n.mul(V::splat(LN2_HI))).sub(n.mul(V::splat(LN2_LO)));
        }
        let mut p = [V::splat(TAYLOR[0]); N];
        for c in &TAYLOR[1..] {
            for (p, r) in p.iter_mut().zip(r) {
                *p = V::splat(*c).add(r.mul(*p));
            }
        }
        let one = V::splat(1.0);
        for (p, s) in p.iter_mut().zip(shifted) {
            *p = one.div(one.add(p.mul(s.power_of_two())));
        }
        p
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    #[target_feature(enable = "avx2")]
    fn logistic_avx2(values: &mut [f32]) {
        // SAFETY: this function only runs on CPUs with AVX2.
        unsafe { sigmoid_epilogue_avx2(&[], values) }
    }

    #[cfg(ae_core_avx512)]
    #[target_feature(enable = "avx512f,avx2")]
    fn logistic_avx512(values: &mut [f32]) {
        // SAFETY: this function only runs on CPUs with AVX-512F.
        unsafe { sigmoid_in_place_avx512(values) }
    }

    /// A logistic pass: its instruction set, its vector width, its vectors per group, the
    /// function.
    type Pass = (&'static str, usize, usize, unsafe fn(&mut [f32]));

    /// The pass on every instruction set this CPU has.
    fn passes() -> std::vec::Vec<Pass> {
        let mut passes = std::vec::Vec::new();
        if std::is_x86_feature_detected!("avx2") {
            passes.push((
                "avx2",
                8,
                AVX2_CHAINS,
                logistic_avx2 as unsafe fn(&mut [f32]),
            ));
        }
        #[cfg(ae_core_avx512)]
        if std::is_x86_feature_detected!("avx512f") {
            passes.push((
                "avx512",
                16,
                AVX512_CHAINS,
                logistic_avx512 as unsafe fn(&mut [f32]),
            ));
        }
        passes
    }

    /// Every value of the interleaved logistic is [`super::super::sigmoid_f32`]'s, on each
    /// instruction set, in the groups of vectors, the single vectors and the scalar tail: special
    /// values (a NaN must stay a NaN, as through `f32::clamp`), the clamp's edges and random bit
    /// patterns.
    #[test]
    fn vector_logistic_is_the_scalar_one_bit_for_bit() {
        let mut values = std::vec![
            0.0f32,
            -0.0,
            1.0,
            -1.0,
            0.5,
            87.0,
            -87.0,
            88.0,
            -88.0,
            86.9,
            -87.1,
            1e4,
            -1e4,
            f32::MAX,
            f32::MIN,
            f32::MIN_POSITIVE,
            1e-40,
            -1e-40,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        // Three groups of the widest pass, two of its vectors and seven more values.
        while values.len() < 3 * 128 + 2 * 16 + 7 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let bits = (state >> 32) as u32;
            // Half of them anywhere, half in the range that matters, [-20, 20].
            values.push(if state & 1 == 0 {
                f32::from_bits(bits)
            } else {
                (bits as f32 / u32::MAX as f32 - 0.5) * 40.0
            });
        }
        let passes = passes();
        if passes.is_empty() {
            std::eprintln!("skipped: this CPU has no AVX2");
        }
        for (name, width, chains, pass) in passes {
            let group = width * chains;
            for len in [values.len(), group + width + 3, width - 1] {
                let input = &values[..len];
                let mut got = input.to_vec();
                // SAFETY: `passes` holds only instruction sets this CPU has.
                unsafe { pass(&mut got) };
                for (k, (&x, &y)) in input.iter().zip(&got).enumerate() {
                    let want = super::super::sigmoid_f32(x);
                    if want.is_nan() {
                        assert!(y.is_nan(), "{name} value {k}: sigmoid({x}) = {y}, not NaN");
                    } else {
                        assert_eq!(
                            y.to_bits(),
                            want.to_bits(),
                            "{name} value {k}: sigmoid({x})"
                        );
                    }
                }
            }
        }
    }
}
