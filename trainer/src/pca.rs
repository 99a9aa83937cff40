//! PCA as a baseline codec for the rate-distortion table: the top `k` principal components of the
//! training images, coefficients stored at 8 bits each, reconstructions clipped to `[0, 1]`.
//!
//! Uses the same linear algebra as the trainer (`nalgebra`): covariance by one matrix product,
//! `SymmetricEigen` for the components.

use nalgebra::{DMatrix, DVector, SymmetricEigen};
use serde::Serialize;

use crate::data::{ImageSet, Splits};
use crate::error::{Error, Result};
use crate::eval::psnr;
use crate::limits::{MAX_PCA_PIXELS, MAX_PCA_VALUES};

/// A fitted PCA basis.
pub struct Pca {
    mean: DVector<f64>,
    /// `input x k`, orthonormal columns, largest variance first.
    components: DMatrix<f64>,
    /// Per component: (min, max) of the training coefficients, for 8-bit storage.
    ranges: Vec<(f64, f64)>,
}

/// PSNR of a PCA codec on a set.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PcaResult {
    /// Components kept.
    pub components: usize,
    /// PSNR with float coefficients.
    pub psnr_db: f64,
    /// PSNR with 8-bit coefficients (one byte per component per image).
    pub psnr_8bit_db: f64,
}

/// Fails with [`Error::PcaTooLarge`] unless the covariance (pixels²) and the data matrix
/// (pixels x images) of `set` fit the bounds of [`crate::limits`].
fn check_size(set: &ImageSet) -> Result<()> {
    let n = set.image_len();
    let values = n.checked_mul(set.count());
    if n > MAX_PCA_PIXELS || values.is_none_or(|v| v > MAX_PCA_VALUES) {
        return Err(Error::PcaTooLarge {
            pixels: n,
            images: set.count(),
            max_pixels: MAX_PCA_PIXELS,
            max_values: MAX_PCA_VALUES,
        });
    }
    Ok(())
}

fn as_matrix(set: &ImageSet) -> DMatrix<f64> {
    DMatrix::from_iterator(
        set.image_len(),
        set.count(),
        set.pixels().iter().map(|&p| f64::from(p) / 255.0),
    )
}

impl Pca {
    /// Fits `k` components to `train`.
    pub fn fit(train: &ImageSet, k: usize) -> Result<Self> {
        let n = train.image_len();
        if k == 0 || k > n || train.count() < 2 {
            return Err(Error::PcaComponents {
                components: k,
                pixels: n,
                images: train.count(),
            });
        }
        check_size(train)?;
        let mut x = as_matrix(train);
        let mean = x.column_mean();
        for mut col in x.column_iter_mut() {
            col -= &mean;
        }
        let cov = (&x * x.transpose()) / (train.count() as f64 - 1.0);
        let eig = SymmetricEigen::new(cov);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
        let components = DMatrix::from_columns(
            &order[..k]
                .iter()
                .map(|&i| eig.eigenvectors.column(i))
                .collect::<Vec<_>>(),
        );
        let coeffs = components.transpose() * &x;
        let ranges = coeffs.row_iter().map(|r| (r.min(), r.max())).collect();
        Ok(Pca {
            mean,
            components,
            ranges,
        })
    }

    /// PSNR on `set` with float and with 8-bit coefficients.
    pub fn evaluate(&self, set: &ImageSet) -> Result<PcaResult> {
        check_size(set)?;
        let mut x = as_matrix(set);
        let original = x.clone();
        for mut col in x.column_iter_mut() {
            col -= &self.mean;
        }
        let coeffs = self.components.transpose() * &x;
        let mut quantized = coeffs.clone();
        for (mut row, &(lo, hi)) in quantized.row_iter_mut().zip(&self.ranges) {
            let scale = ((hi - lo) / 255.0).max(f64::MIN_POSITIVE);
            for v in row.iter_mut() {
                *v = lo + ((*v - lo) / scale).round().clamp(0.0, 255.0) * scale;
            }
        }
        let mse = |c: &DMatrix<f64>| {
            let mut rec = &self.components * c;
            for mut col in rec.column_iter_mut() {
                col += &self.mean;
            }
            rec.zip_map(&original, |r, o| (r.clamp(0.0, 1.0) - o).powi(2))
                .mean()
        };
        let (float, eight_bit) = (mse(&coeffs), mse(&quantized));
        if !(float.is_finite() && eight_bit.is_finite()) {
            return Err(Error::NonFinite { what: "PCA error" });
        }
        Ok(PcaResult {
            components: self.components.ncols(),
            psnr_db: psnr(float),
            psnr_8bit_db: psnr(eight_bit),
        })
    }
}

/// The `ae pca` baseline: `components` components fitted on the training split, measured on the
/// test split.
pub fn baseline(splits: &Splits, components: usize) -> Result<PcaResult> {
    Pca::fit(&splits.train, components)?.evaluate(&splits.test)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_data_that_lies_in_a_low_dimensional_subspace() {
        // Images that are mixes of two fixed patterns: two components reconstruct them exactly.
        let a: Vec<f64> = (0..16).map(|i| (i % 4) as f64 / 3.0).collect();
        let b: Vec<f64> = (0..16).map(|i| (i / 4) as f64 / 3.0).collect();
        let pixels: Vec<u8> = (0..50)
            .flat_map(|k| {
                let (s, t) = ((k % 7) as f64 / 7.0, (k % 5) as f64 / 5.0);
                a.iter()
                    .zip(&b)
                    .map(move |(x, y)| ((0.5 * s * x + 0.5 * t * y) * 255.0).round() as u8)
                    .collect::<Vec<_>>()
            })
            .collect();
        let set = ImageSet::new(pixels, 4, 4).unwrap();
        let r2 = Pca::fit(&set, 2).unwrap().evaluate(&set).unwrap();
        let r1 = Pca::fit(&set, 1).unwrap().evaluate(&set).unwrap();
        assert!(r2.psnr_db > 45.0, "{r2:?}");
        assert!(r1.psnr_db < r2.psnr_db && r2.psnr_8bit_db < r2.psnr_db + 1e-9);
        assert!(Pca::fit(&set, 0).is_err() && Pca::fit(&set, 17).is_err());
    }

    #[test]
    fn covariance_larger_than_the_bound_is_refused_before_allocating() {
        // Two 256x256 images: the covariance alone would be 32 GiB.
        let set = ImageSet::new(vec![0; 2 * 256 * 256], 256, 256).unwrap();
        let e = Pca::fit(&set, 1).err().unwrap();
        assert!(matches!(e, Error::PcaTooLarge { .. }), "{e}");
    }
}
