//! The autoencoder's parameters on the host, and the glue to and from ae-core model files.
//!
//! Weights are stored in exactly the memory layout ae-core reads, so export is a copy:
//! `w1` is an `input x latent` column-major matrix whose column `j` holds the weights into latent
//! unit `j` (ae-core's `[latent][input]`), and `w2` is `latent x input`, column `i` feeding output
//! pixel `i` (ae-core's `[input][latent]`).

pub mod backprop;
pub mod loss;

use nalgebra::{DMatrix, DVector};
use rand::Rng;

use crate::error::{Error, Result};

/// Parameters of `Dense(input -> latent) + LeakyReLU -> Dense(latent -> input) + sigmoid`.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// `input x latent`, column `j` feeds latent unit `j`.
    pub w1: DMatrix<f32>,
    /// `latent`.
    pub b1: DVector<f32>,
    /// `latent x input`, column `i` feeds output `i`.
    pub w2: DMatrix<f32>,
    /// `input`.
    pub b2: DVector<f32>,
    /// LeakyReLU slope.
    pub slope: f32,
}

impl Params {
    /// Glorot-uniform kernels (`U(-l, l)`, `l = sqrt(6 / (fan_in + fan_out))`) and zero biases,
    /// as Keras initializes `Dense`.
    pub fn glorot(input: usize, latent: usize, slope: f32, rng: &mut impl Rng) -> Self {
        let limit = (6.0 / (input + latent) as f64).sqrt() as f32;
        let mut uniform =
            |n: usize| -> Vec<f32> { (0..n).map(|_| rng.random_range(-limit..limit)).collect() };
        let w1 = DMatrix::from_vec(input, latent, uniform(input * latent));
        let w2 = DMatrix::from_vec(latent, input, uniform(input * latent));
        Params {
            w1,
            b1: DVector::zeros(latent),
            w2,
            b2: DVector::zeros(input),
            slope,
        }
    }

    /// Values per image.
    pub fn input(&self) -> usize {
        self.w1.nrows()
    }

    /// Values per code.
    pub fn latent(&self) -> usize {
        self.w1.ncols()
    }

    /// Number of trainable parameters (101,200 for 784/64).
    pub fn count(&self) -> usize {
        2 * self.input() * self.latent() + self.input() + self.latent()
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

    /// The four tensors, mutable, in file order.
    pub fn tensors_mut(&mut self) -> [&mut [f32]; 4] {
        [
            self.w1.as_mut_slice(),
            self.b1.as_mut_slice(),
            self.w2.as_mut_slice(),
            self.b2.as_mut_slice(),
        ]
    }

    /// The ae-core float model file for these parameters.
    pub fn to_model_file(&self) -> Result<Vec<u8>> {
        let input = u32::try_from(self.input()).map_err(|_| Error::ShapeTooLarge {
            rows: self.input(),
            cols: 1,
        })?;
        self.to_model_file_shaped(ae_core::format::Shape::implied_by(input))
    }

    /// The float model file for images of `shape` (`rows * cols` must be the input size).
    pub fn to_model_file_shaped(&self, shape: ae_core::format::Shape) -> Result<Vec<u8>> {
        let [encoder_weights, encoder_bias, decoder_weights, decoder_bias] = self.tensors();
        let t = ae_core::format::FloatTensors {
            encoder_weights,
            encoder_bias,
            decoder_weights,
            decoder_bias,
        };
        let latent = self.latent() as u32;
        // Sizes the writer refuses have no length; it then says why (the buffer is not reached).
        let len = ae_core::format::float_file_len(shape, latent).unwrap_or(0);
        let mut out = vec![0u8; len];
        let n = ae_core::format::write_float_shaped(shape, latent, self.slope, &t, &mut out)
            .map_err(|source| Error::ModelEncode {
                kind: ae_core::format::ModelKind::Float,
                source,
            })?;
        out.truncate(n);
        Ok(out)
    }

    /// Parameters copied out of a parsed float model.
    pub fn from_model(m: &ae_core::format::FloatRef<'_>) -> Self {
        let (input, latent) = m.dims().as_usize();
        Params {
            w1: DMatrix::from_column_slice(input, latent, m.encoder_weights()),
            b1: DVector::from_column_slice(m.encoder_bias()),
            w2: DMatrix::from_column_slice(latent, input, m.decoder_weights()),
            b2: DVector::from_column_slice(m.decoder_bias()),
            slope: m.leaky_slope(),
        }
    }
}

/// `(rows, cols)` of the images a parsed model file takes.
pub fn image_shape(model: &ae_core::format::ModelRef<'_>) -> (usize, usize) {
    let shape = model.shape();
    (shape.rows as usize, shape.cols as usize)
}

/// A model file read into 16-byte aligned memory, so ae-core can borrow float weights in place.
#[derive(Debug, Clone)]
pub struct ModelBytes {
    words: Vec<u128>,
    len: usize,
}

impl ModelBytes {
    /// Copies `bytes` into aligned storage.
    pub fn new(bytes: &[u8]) -> Self {
        let mut words = vec![0u128; bytes.len().div_ceil(16)];
        bytemuck::cast_slice_mut::<u128, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
        ModelBytes {
            words,
            len: bytes.len(),
        }
    }

    /// Reads a model file.
    pub fn load(path: &std::path::Path) -> Result<Self> {
        Ok(Self::new(&crate::fsio::read_bounded(
            path,
            "a model file",
            crate::limits::MAX_MODEL_BYTES,
        )?))
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &bytemuck::cast_slice::<u128, u8>(&self.words)[..self.len]
    }

    /// Parses the model, naming `path` in the error.
    pub fn parse(&self, path: &std::path::Path) -> Result<ae_core::format::ModelRef<'_>> {
        ae_core::format::ModelRef::parse(self.bytes()).map_err(|source| Error::Model {
            path: path.to_path_buf(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn glorot_limits_and_counts() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let p = Params::glorot(784, 64, 0.3, &mut rng);
        assert_eq!(p.count(), 101_200);
        let limit = (6.0f32 / 848.0).sqrt();
        assert!(p.w1.iter().chain(p.w2.iter()).all(|w| w.abs() <= limit));
        assert!(p.w1.amax() > 0.9 * limit);
        assert!(p.b1.iter().chain(p.b2.iter()).all(|&b| b == 0.0));
    }

    #[test]
    fn model_file_round_trip_is_exact() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let p = Params::glorot(12, 5, 0.3, &mut rng);
        let bytes = ModelBytes::new(&p.to_model_file().unwrap());
        let ae_core::format::ModelRef::Float(m) = bytes.parse("x".as_ref()).unwrap() else {
            panic!()
        };
        assert_eq!(Params::from_model(&m), p);
    }
}
