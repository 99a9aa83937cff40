//! Forward and backward passes over a batch, by hand, on `nalgebra` matrices.
//!
//! A batch is a matrix with one image per column (`input x k`). With `W1ᵀ`, `W2ᵀ` the transposes
//! of the stored kernels (see [`super::Params`]):
//!
//! ```text
//! Z1 = W1ᵀ X + b1     H = leaky(Z1)     Z2 = W2ᵀ H + b2     Y = sigmoid(Z2)
//! L  = mean over pixels and batch of BCE(Y, X)
//! dZ2 = (Y - X) / N                      (sigmoid and BCE fused; N = pixels x batch)
//! dW2 = H dZ2ᵀ     db2 = Σ_cols dZ2      dH = W2 dZ2
//! dZ1 = dH ⊙ leaky'(Z1)
//! dW1 = X dZ1ᵀ     db1 = Σ_cols dZ1
//! ```
//!
//! Every product goes through `gemm` on views; transposes are strided views, never copies, so
//! nalgebra hands them straight to its blocked matrix multiply.

use nalgebra::{DMatrix, DVector, Dyn, MatrixView};

use super::loss::sigmoid_bce_in_place;
use super::Params;

type Strided<'a> = MatrixView<'a, f32, Dyn, Dyn, Dyn, Dyn>;

/// The transpose of `m` as a view over the same memory.
fn transposed(m: &DMatrix<f32>) -> Strided<'_> {
    let (rows, cols) = m.shape();
    Strided::from_slice_with_strides_generic(m.as_slice(), Dyn(cols), Dyn(rows), Dyn(rows), Dyn(1))
}

/// A plain view of `m` with the same strided type as [`transposed`].
fn plain(m: &DMatrix<f32>) -> Strided<'_> {
    let (rows, cols) = m.shape();
    Strided::from_slice_with_strides_generic(m.as_slice(), Dyn(rows), Dyn(cols), Dyn(1), Dyn(rows))
}

/// nalgebra's blocked `gemm` path (matrixmultiply) takes any strides; its fallback for
/// matrices with a dimension of 5 or less reads strided views out of bounds (nalgebra 0.35,
/// `axcpy_uninit` uses the storage length as the vector length). Only tiny test shapes go there;
/// they get contiguous copies.
const NALGEBRA_SMALL_DIM: usize = 5;

/// `y = a b`.
fn gemm(y: &mut DMatrix<f32>, a: Strided<'_>, b: Strided<'_>) {
    let small = [a.nrows(), a.ncols(), b.ncols()]
        .iter()
        .any(|&d| d <= NALGEBRA_SMALL_DIM);
    if small {
        y.gemm(1.0, &a.clone_owned(), &b.clone_owned(), 0.0);
    } else {
        y.gemm(1.0, &a, &b, 0.0);
    }
}

/// Gradients of the loss with respect to each parameter tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Grads {
    /// Same shape as `Params::w1`.
    pub w1: DMatrix<f32>,
    /// Same shape as `Params::b1`.
    pub b1: DVector<f32>,
    /// Same shape as `Params::w2`.
    pub w2: DMatrix<f32>,
    /// Same shape as `Params::b2`.
    pub b2: DVector<f32>,
}

impl Grads {
    /// Zero gradients for `input -> latent`.
    pub fn zeros(input: usize, latent: usize) -> Self {
        Grads {
            w1: DMatrix::zeros(input, latent),
            b1: DVector::zeros(latent),
            w2: DMatrix::zeros(latent, input),
            b2: DVector::zeros(input),
        }
    }

    /// `self += other`, element by element.
    pub fn add(&mut self, other: &Grads) {
        self.w1 += &other.w1;
        self.b1 += &other.b1;
        self.w2 += &other.w2;
        self.b2 += &other.b2;
    }

    /// The four tensors, in file order.
    pub fn tensors(&self) -> [&[f32]; 4] {
        [
            self.w1.as_slice(),
            self.b1.as_slice(),
            self.w2.as_slice(),
            self.b2.as_slice(),
        ]
    }
}

/// Buffers for one slice of a batch: inputs, activations and gradients. Reused across steps.
#[derive(Debug, Clone)]
pub struct Shard {
    /// `input x k`, pixels scaled to `[0, 1]`.
    pub x: DMatrix<f32>,
    z1: DMatrix<f32>,
    h: DMatrix<f32>,
    /// Holds `Y` after [`Shard::forward`], then `dZ2` during [`Shard::backward`].
    y: DMatrix<f32>,
    dh: DMatrix<f32>,
    /// Gradients from the last [`Shard::backward`].
    pub grads: Grads,
}

impl Shard {
    /// Buffers for `k` images of an `input -> latent` model.
    pub fn new(input: usize, latent: usize, k: usize) -> Self {
        Shard {
            x: DMatrix::zeros(input, k),
            z1: DMatrix::zeros(latent, k),
            h: DMatrix::zeros(latent, k),
            y: DMatrix::zeros(input, k),
            dh: DMatrix::zeros(latent, k),
            grads: Grads::zeros(input, latent),
        }
    }

    /// Loads images (8-bit pixels) as the columns of `x`, resizing for a short last batch.
    pub fn load<'a>(&mut self, images: impl ExactSizeIterator<Item = &'a [u8]>) {
        let (input, latent, k) = (self.x.nrows(), self.z1.nrows(), images.len());
        if self.x.ncols() != k {
            let grads = std::mem::replace(&mut self.grads, Grads::zeros(0, 0));
            *self = Shard {
                grads,
                ..Shard::new(input, latent, k)
            };
        }
        for (col, img) in self
            .x
            .as_mut_slice()
            .chunks_exact_mut(input.max(1))
            .zip(images)
        {
            ae_core::pixels::to_unit_slice(img, col);
        }
    }

    /// Images in this shard.
    pub fn len(&self) -> usize {
        self.x.ncols()
    }

    /// True when the shard holds no images.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reconstructions of the loaded images (valid after [`Shard::forward`]).
    pub fn output(&self) -> &DMatrix<f32> {
        &self.y
    }

    /// Runs the network on `x`; returns the sum of the per-pixel BCE over the shard.
    pub fn forward(&mut self, p: &Params) -> f64 {
        gemm(&mut self.z1, transposed(&p.w1), plain(&self.x));
        let slope = p.slope;
        let latent = self.z1.nrows().max(1);
        for (z_col, h_col) in self
            .z1
            .as_mut_slice()
            .chunks_exact_mut(latent)
            .zip(self.h.as_mut_slice().chunks_exact_mut(latent))
        {
            for ((z, h), &b) in z_col.iter_mut().zip(h_col.iter_mut()).zip(p.b1.as_slice()) {
                *z += b;
                *h = if *z >= 0.0 { *z } else { slope * *z };
            }
        }
        gemm(&mut self.y, transposed(&p.w2), plain(&self.h));
        let input = self.x.nrows().max(1);
        let mut total = 0.0f64;
        for (y_col, x_col) in self
            .y
            .as_mut_slice()
            .chunks_exact_mut(input)
            .zip(self.x.as_slice().chunks_exact(input))
        {
            total += f64::from(sigmoid_bce_in_place(y_col, p.b2.as_slice(), x_col));
        }
        total
    }

    /// Back-propagates after [`Shard::forward`]; `scale` is `1 / N` for the whole batch, so the
    /// shards' gradients add up to the batch gradient.
    pub fn backward(&mut self, p: &Params, scale: f32) {
        for (y, &t) in self.y.as_mut_slice().iter_mut().zip(self.x.as_slice()) {
            *y = (*y - t) * scale;
        }
        let dz2 = &self.y;
        let g = &mut self.grads;
        gemm(&mut g.w2, plain(&self.h), transposed(dz2));
        g.b2.fill(0.0);
        for col in dz2.column_iter() {
            g.b2 += col;
        }
        gemm(&mut self.dh, plain(&p.w2), plain(dz2));
        let slope = p.slope;
        for (d, &z) in self.dh.as_mut_slice().iter_mut().zip(self.z1.as_slice()) {
            if z < 0.0 {
                *d *= slope;
            }
        }
        let dz1 = &self.dh;
        gemm(&mut g.w1, plain(&self.x), transposed(dz1));
        g.b1.fill(0.0);
        for col in dz1.column_iter() {
            g.b1 += col;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// The loss in f64, written independently of the code under test.
    fn reference_loss(
        p: &[Vec<f64>; 4],
        slope: f64,
        input: usize,
        latent: usize,
        xs: &[Vec<f64>],
    ) -> f64 {
        let [w1, b1, w2, b2] = p;
        let mut total = 0.0;
        for x in xs {
            let h: Vec<f64> = (0..latent)
                .map(|j| {
                    let z = b1[j] + (0..input).map(|i| w1[j * input + i] * x[i]).sum::<f64>();
                    if z >= 0.0 {
                        z
                    } else {
                        slope * z
                    }
                })
                .collect();
            for i in 0..input {
                let z = b2[i] + (0..latent).map(|j| w2[i * latent + j] * h[j]).sum::<f64>();
                let y = 1.0 / (1.0 + (-z).exp());
                total -= x[i] * y.ln() + (1.0 - x[i]) * (1.0 - y).ln();
            }
        }
        total / (xs.len() * input) as f64
    }

    #[test]
    fn gradients_match_finite_differences_for_every_tensor() {
        let (input, latent, k) = (7, 4, 5);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
        let mut p = Params::glorot(input, latent, 0.3, &mut rng);
        for b in p.b1.iter_mut().chain(p.b2.iter_mut()) {
            *b = rng.random_range(-0.5..0.5);
        }
        let images: Vec<Vec<u8>> = (0..k)
            .map(|_| (0..input).map(|_| rng.random()).collect())
            .collect();
        let mut shard = Shard::new(input, latent, k);
        shard.load(images.iter().map(|v| v.as_slice()));
        let loss = shard.forward(&p) / (k * input) as f64;
        shard.backward(&p, 1.0 / (k * input) as f32);

        let xs: Vec<Vec<f64>> = images
            .iter()
            .map(|v| v.iter().map(|&b| f64::from(b) / 255.0).collect())
            .collect();
        let as_f64 = |p: &Params| {
            p.tensors()
                .map(|t| t.iter().map(|&v| f64::from(v)).collect::<Vec<f64>>())
        };
        let base = as_f64(&p);
        let slope = f64::from(p.slope);
        assert!((reference_loss(&base, slope, input, latent, &xs) - loss).abs() < 1e-5);

        let names = ["w1", "b1", "w2", "b2"];
        let analytic = shard.grads.tensors();
        let eps = 1e-5;
        for t in 0..4 {
            for i in 0..base[t].len() {
                let mut plus = base.clone();
                plus[t][i] += eps;
                let mut minus = base.clone();
                minus[t][i] -= eps;
                let fd = (reference_loss(&plus, slope, input, latent, &xs)
                    - reference_loss(&minus, slope, input, latent, &xs))
                    / (2.0 * eps);
                let a = f64::from(analytic[t][i]);
                assert!(
                    (a - fd).abs() <= 1e-4 * fd.abs().max(1e-2),
                    "{}[{i}]: analytic {a:e}, finite difference {fd:e}",
                    names[t]
                );
            }
        }
    }

    #[test]
    fn shards_add_up_to_the_whole_batch() {
        let (input, latent) = (9, 3);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let p = Params::glorot(input, latent, 0.3, &mut rng);
        let images: Vec<Vec<u8>> = (0..6)
            .map(|_| (0..input).map(|_| rng.random()).collect())
            .collect();
        let scale = 1.0 / (6 * input) as f32;
        let mut whole = Shard::new(input, latent, 6);
        whole.load(images.iter().map(|v| v.as_slice()));
        whole.forward(&p);
        whole.backward(&p, scale);
        let mut a = Shard::new(input, latent, 3);
        let mut b = Shard::new(input, latent, 3);
        a.load(images[..3].iter().map(|v| v.as_slice()));
        b.load(images[3..].iter().map(|v| v.as_slice()));
        a.forward(&p);
        b.forward(&p);
        a.backward(&p, scale);
        b.backward(&p, scale);
        a.grads.add(&b.grads);
        for (x, y) in a.grads.tensors().iter().zip(whole.grads.tensors()) {
            for (u, v) in x.iter().zip(y) {
                assert!((u - v).abs() <= 1e-6 * v.abs().max(1e-3));
            }
        }
    }
}
