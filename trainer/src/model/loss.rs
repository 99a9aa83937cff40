//! Binary cross-entropy and the activations the training step needs, written so they vectorize.
//!
//! Keras computes BCE on probabilities clipped to `[1e-7, 1 - 1e-7]`. Clipping the probability is
//! the same as clamping the logit to `±logit(1 - 1e-7)`, so the loss is computed from the logit in
//! the numerically stable form `max(z, 0) - z t + ln(1 + e^-|z|)`.

use ae_core::kernels::exp_f32;

/// Keras' `epsilon()`: predictions are clipped to `[EPSILON, 1 - EPSILON]` for the loss.
pub const EPSILON: f64 = 1e-7;
/// `logit(1 - 1e-7)`: the logit beyond which clipping takes over.
pub const MAX_LOGIT: f32 = 16.118_095;
/// `e^-MAX_LOGIT`.
const MIN_EXP: f32 = 1.000_000_1e-7;

/// `ln(1 + x)` for `x` in `[0, 1]`, branch-free; error below 1e-7 absolute.
#[inline(always)]
pub fn ln_1p_unit(x: f32) -> f32 {
    // ln(1 + x) = 2 atanh(s), s = x / (2 + x) in [0, 1/3].
    let s = x / (2.0 + x);
    let s2 = s * s;
    let p = 1.0
        + s2 * (1.0 / 3.0
            + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0)))));
    2.0 * s * p
}

/// Returns `(sigmoid(z), bce(z, t))` for one output with logit `z` and target `t`.
#[inline(always)]
pub fn sigmoid_and_bce(z: f32, t: f32) -> (f32, f32) {
    let e = exp_f32(-z.abs());
    let r = 1.0 / (1.0 + e);
    let y = if z >= 0.0 { r } else { e * r };
    // e^-|clamp(z)| = max(e^-|z|, e^-MAX_LOGIT): the exponential is monotonic.
    let zc = z.clamp(-MAX_LOGIT, MAX_LOGIT);
    let ec = e.max(MIN_EXP);
    let loss = zc.max(0.0) - zc * t + ln_1p_unit(ec);
    (y, loss)
}

/// Lanes of the loss accumulator in [`sigmoid_bce_in_place`].
const LANES: usize = 8;

crate::multiversion! {
/// For one image: turns logits `z` (plus `bias`) into sigmoid outputs in place and returns the
/// summed BCE against `target`. Accumulates in [`LANES`] lanes so the loop vectorizes.
pub fn sigmoid_bce_in_place(z: &mut [f32], bias: &[f32], target: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let (zc, zt) = z.as_chunks_mut::<LANES>();
    let (bc, bt) = bias.as_chunks::<LANES>();
    let (tc, tt) = target.as_chunks::<LANES>();
    for ((z, b), t) in zc.iter_mut().zip(bc).zip(tc) {
        for l in 0..LANES {
            let (y, loss) = sigmoid_and_bce(z[l] + b[l], t[l]);
            z[l] = y;
            acc[l] += loss;
        }
    }
    let mut tail = 0.0;
    for ((z, b), t) in zt.iter_mut().zip(bt).zip(tt) {
        let (y, loss) = sigmoid_and_bce(*z + b, *t);
        *z = y;
        tail += loss;
    }
    acc.iter().sum::<f32>() + tail
}
}

/// Keras' BCE of one prediction `y` (a probability) against target `t`, in f64.
pub fn bce_of_probability(y: f64, t: f64) -> f64 {
    let p = y.clamp(EPSILON, 1.0 - EPSILON);
    -(t * p.ln() + (1.0 - t) * (1.0 - p).ln())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_1p_is_accurate_on_the_unit_interval() {
        for k in 0..=1000 {
            let x = k as f32 / 1000.0;
            assert!((ln_1p_unit(x) - x.ln_1p()).abs() < 2e-7, "x = {x}");
        }
    }

    #[test]
    fn logit_form_equals_clipped_probability_form() {
        for &z in &[-30.0f32, -16.2, -5.0, -0.3, 0.0, 0.7, 4.0, 16.0, 40.0] {
            for &t in &[0.0f32, 0.2, 0.5, 1.0] {
                let (y, loss) = sigmoid_and_bce(z, t);
                let want_y = 1.0 / (1.0 + (-f64::from(z)).exp());
                assert!((f64::from(y) - want_y).abs() < 1e-6);
                let want = bce_of_probability(want_y, f64::from(t));
                assert!(
                    (f64::from(loss) - want).abs() < 2e-5 * want.max(1.0),
                    "z {z} t {t}: {loss} vs {want}"
                );
            }
        }
    }
}
