//! Fixed-point requantization: multiplying an int32 accumulator by a real factor with integers only.
//!
//! A real multiplier `m > 0` is stored as `multiplier * 2^-shift` with `multiplier` in
//! `[2^30, 2^31)` (a Q31 number in `[0.5, 1)`) and `shift` in `1..=62`; `m = 0` is multiplier 0.
//! [`Requant::apply`] computes `round(acc * m)` as `(acc * multiplier + 2^(shift-1)) >> shift` in
//! 64-bit arithmetic: one rounding, half-way cases towards +infinity. This is TFLite's
//! `MultiplyByQuantizedMultiplier` in its single-rounding form; TFLite's `shift` exponent is
//! `31 - shift` here.

use crate::Error;

/// One real multiplier in fixed point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requant {
    /// Q31 mantissa in `[2^30, 2^31)`, or 0.
    pub multiplier: i32,
    /// Right shift, `1..=62`.
    pub shift: u8,
}

impl Requant {
    /// The factor 0: multiplier 0 (with shift 31, the one [`Requant::from_real`] gives for 0).
    /// Also what the kernels apply where a channel has no requantization, which a parsed model
    /// never lacks.
    pub const ZERO: Requant = Requant {
        multiplier: 0,
        shift: 31,
    };

    /// Checks the invariants the file format promises.
    pub fn validate(self) -> Result<Self, Error> {
        if !(1..=62).contains(&self.shift) {
            return Err(Error::InvalidValue(
                "requantization shift must be in 1..=62",
            ));
        }
        if self.multiplier != 0 && self.multiplier < (1 << 30) {
            return Err(Error::InvalidValue(
                "requantization multiplier must be 0 or in [2^30, 2^31)",
            ));
        }
        Ok(self)
    }

    /// The fixed-point form of `m`; fails when `m` is negative, not finite, or outside
    /// `[2^-32, 2^30]` (no shift in range could represent it). `m = 0` gives multiplier 0.
    pub fn from_real(m: f64) -> Result<Self, Error> {
        if !m.is_finite() || m < 0.0 {
            return Err(Error::InvalidValue(
                "requantization factor must be finite and >= 0",
            ));
        }
        if m == 0.0 {
            return Ok(Requant::ZERO);
        }
        // Find e with m = f * 2^e, f in [0.5, 1).
        let mut f = m;
        let mut e = 0i32;
        while f >= 1.0 {
            f *= 0.5;
            e += 1;
            if e > 64 {
                break;
            }
        }
        while f < 0.5 {
            f *= 2.0;
            e -= 1;
            if e < -64 {
                break;
            }
        }
        let mut q = libm::round(f * 2_147_483_648.0) as i64; // f * 2^31
        let mut shift = 31 - e;
        if q == 1 << 31 {
            q >>= 1;
            shift -= 1;
        }
        let shift = u8::try_from(shift)
            .map_err(|_| Error::InvalidValue("requantization factor out of range"))?;
        let multiplier = i32::try_from(q)
            .map_err(|_| Error::InvalidValue("requantization factor out of range"))?;
        Requant { multiplier, shift }.validate()
    }

    /// The real factor this represents.
    pub fn to_real(self) -> f64 {
        f64::from(self.multiplier) * libm::exp2(-f64::from(self.shift))
    }

    /// `round(acc * m)`, saturated to `i32`.
    #[inline(always)]
    pub fn apply(self, acc: i32) -> i32 {
        // The clamp keeps a hand-built value with an out-of-range shift from overflowing.
        let shift = u32::from(self.shift.clamp(1, 62));
        if shift > 32 {
            // floor((p + 2^(s-1)) / 2^s) = (floor(p / 2^(s-1)) + 1) >> 1, and for s - 1 >= 32
            // floor(p / 2^(s-1)) only needs the high word: one 32x32->64 multiply and three
            // 32-bit operations on a Cortex-M, same value. |p| < 2^62 keeps it inside i32.
            let high = mul_high(acc, self.multiplier);
            ((high >> (shift - 33)) + 1) >> 1
        } else {
            let product = i64::from(acc) * i64::from(self.multiplier);
            let sum = product + (1i64 << (shift - 1));
            (sum >> shift).clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
        }
    }
}

/// `floor(a * b / 2^32)`, the high word of the 64-bit product.
///
/// Cortex-M3 and up have `SMULL`/`SMMUL` for this; ARMv6-M (Cortex-M0) has only a 32-bit `MULS`,
/// and the 64-bit multiply LLVM would call there costs about three times [`mul_high_split`].
#[inline(always)]
pub fn mul_high(a: i32, b: i32) -> i32 {
    #[cfg(ae_core_v6m)]
    return mul_high_split(a, b);
    #[cfg(not(ae_core_v6m))]
    return ((i64::from(a) * i64::from(b)) >> 32) as i32;
}

/// [`mul_high`] from four 16 x 16-bit products, for cores without a 32 x 32 -> 64 multiply.
///
/// With `a = ah * 2^16 + al` and `b = bh * 2^16 + bl` (`al`, `bl` unsigned 16-bit; `ah`, `bh`
/// signed), `a * b = ah*bh * 2^32 + (ah*bl + al*bh) * 2^16 + al*bl`. Each partial product fits
/// 32 bits; the high word is `ah*bh`, plus the high halves of the middle products, plus the carry
/// out of their low halves and the high half of `al*bl` (a sum below `3 * 2^16`). Exact for all
/// inputs; the tests compare it with the 64-bit product.
#[inline(always)]
pub fn mul_high_split(a: i32, b: i32) -> i32 {
    let (al, ah) = ((a & 0xFFFF) as u32, a >> 16);
    let (bl, bh) = ((b & 0xFFFF) as u32, b >> 16);
    let low = al * bl;
    // |ah * bl| <= 2^15 * (2^16 - 1) < 2^31: exact in i32 (likewise al * bh).
    let mid1 = ah.wrapping_mul(bl as i32);
    let mid2 = (al as i32).wrapping_mul(bh);
    let carry = ((mid1 & 0xFFFF) + (mid2 & 0xFFFF) + (low >> 16) as i32) >> 16;
    ah.wrapping_mul(bh)
        .wrapping_add(mid1 >> 16)
        .wrapping_add(mid2 >> 16)
        .wrapping_add(carry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_high_word_equals_the_64_bit_product() {
        let edges = [
            i32::MIN,
            i32::MIN + 1,
            -65_537,
            -65_536,
            -65_535,
            -32_768,
            -1,
            0,
            1,
            32_767,
            65_535,
            65_536,
            1 << 30,
            i32::MAX - 1,
            i32::MAX,
        ];
        let mut state = 0x2545_f491_u32;
        let mut values = edges.to_vec();
        for _ in 0..2_000 {
            // xorshift32: a spread of magnitudes and signs.
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            values.push((state as i32) >> (state % 31));
        }
        for &a in &values {
            for &b in values.iter().step_by(7).chain(&edges) {
                let want = ((i64::from(a) * i64::from(b)) >> 32) as i32;
                assert_eq!(mul_high_split(a, b), want, "{a} * {b}");
                assert_eq!(mul_high(a, b), want, "{a} * {b}");
            }
        }
    }

    #[test]
    fn from_real_round_trips_within_q31_precision() {
        for &m in &[
            1e-9,
            3.7e-5,
            0.001,
            0.25,
            0.5,
            0.999_999_999_9,
            1.0,
            1.5,
            300.0,
            1e6,
        ] {
            let r = Requant::from_real(m).unwrap();
            assert!((r.to_real() - m).abs() <= m * 1e-9, "{m} -> {r:?}");
            assert!(r.multiplier >= 1 << 30);
        }
        assert_eq!(Requant::from_real(0.0).unwrap().multiplier, 0);
        assert!(Requant::from_real(-1.0).is_err());
        assert!(Requant::from_real(f64::NAN).is_err());
        assert!(Requant::from_real(1e-30).is_err());
        assert!(Requant::from_real(1e12).is_err());
    }

    #[test]
    fn apply_rounds_half_up_and_matches_float() {
        let half = Requant::from_real(0.5).unwrap();
        assert_eq!(half.apply(3), 2); // 1.5 -> 2
        assert_eq!(half.apply(-3), -1); // -1.5 -> -1
        assert_eq!(half.apply(4), 2);
        let r = Requant::from_real(0.0123).unwrap();
        for acc in (-2_000_000..2_000_000).step_by(9973) {
            let want = (f64::from(acc) * r.to_real() + 0.5).floor() as i32;
            assert_eq!(r.apply(acc), want, "acc {acc}");
        }
        let big = Requant::from_real(1e9).unwrap();
        assert_eq!(big.apply(i32::MAX), i32::MAX);
        assert_eq!(big.apply(i32::MIN), i32::MIN);
    }

    #[test]
    fn fast_path_equals_the_plain_formula() {
        let plain = |r: Requant, acc: i32| {
            let s = u32::from(r.shift);
            let v = (i64::from(acc) * i64::from(r.multiplier) + (1i64 << (s - 1))) >> s;
            v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
        };
        let mut x = 0x1234_5678u32;
        for shift in 1..=62u8 {
            for _ in 0..2000 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let multiplier = (1 << 30) | (x >> 2) as i32;
                let acc = x.rotate_left(shift.into()) as i32 >> (x % 24);
                let r = Requant { multiplier, shift };
                assert_eq!(r.apply(acc), plain(r, acc), "acc {acc} {r:?}");
            }
            for acc in [i32::MIN, i32::MIN + 1, -1, 0, 1, i32::MAX] {
                let r = Requant {
                    multiplier: i32::MAX,
                    shift,
                };
                assert_eq!(r.apply(acc), plain(r, acc));
            }
        }
    }

    #[test]
    fn hand_built_values_never_panic() {
        for shift in [0u8, 63, 255] {
            let r = Requant {
                multiplier: i32::MAX,
                shift,
            };
            let _ = r.apply(i32::MIN);
            assert!(r.validate().is_err());
        }
        assert!(Requant {
            multiplier: 5,
            shift: 10
        }
        .validate()
        .is_err());
    }
}
