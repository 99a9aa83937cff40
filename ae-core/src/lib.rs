//! # ae-core: dense autoencoder inference for microcontrollers
//!
//! `ae-core` runs the tinyae autoencoder — `Dense(IN -> LATENT) + LeakyReLU` followed by
//! `Dense(LATENT -> IN) + sigmoid` — with **no heap and no `std`**, on anything from a Cortex-M0
//! to a desktop. It turns a 784-byte MNIST image into a 64-byte code and back.
//!
//! ## Layers of the crate
//!
//! * [`format`](mod@format) — the model file: a postcard-encoded header and borrowed tensors, framed by a
//!   CRC-32. Parsing is total: every byte string gives a model or an [`Error`], never a panic.
//!   Weights are *borrowed* from the file bytes, so on a board they stay in flash.
//! * [`FloatModel`] — the `f32` path, for chips with an FPU and for the host. It takes and returns
//!   `nalgebra` static vectors (`SVector<f32, IN>` and views of one) and shows its weights as
//!   static matrix views over the model bytes; the products themselves run in the [`kernels`], and
//!   nalgebra's own `gemv` is the reference the tests compare them with.
//! * [`Int8Model`] — the integer path for chips without an FPU: int8 weights (symmetric, per output
//!   channel), int32 accumulators, fixed-point requantization and a sigmoid lookup table. It reads
//!   `u8` pixels and writes an 8-bit latent code, which *is* the compressed image.
//! * [`entropy`] — a range coder with a predictor and one table per latent dimension, stored in
//!   the model file: codes in fewer bytes, losslessly or with a quantization step the caller
//!   picks (or that rate control picks to fit a byte budget).
//! * [`kernels`] — the hand-written inner loops both paths share, on slices: portable loops
//!   shaped for auto-vectorization, AVX2 and AVX-512 intrinsics on x86-64 and assembly for
//!   Cortex-M0 and Cortex-M4/M7 (int8 and float), all giving the same results bit for bit.
//! * `prepared` (`std` feature) — models prepared once for the host CPU, with batches.
//!
//! Dimensions are const generics (`IN`, `LATENT`); [`Mnist`] and [`MnistInt8`] name the 784/64 model.
//! The untyped [`format::ModelRef`] serves hosts that learn the dimensions at run time.
//!
//! ```
//! # fn main() -> Result<(), ae_core::Error> {
//! use ae_core::{format, FloatModel};
//! use ae_core::nalgebra::SVector;
//! // A tiny 2 -> 1 model: h = leaky(0.5*x0 + 0.5*x1), y = sigmoid(4h - 2).
//! let tensors = format::FloatTensors {
//!     encoder_weights: &[0.5, 0.5], encoder_bias: &[0.0],
//!     decoder_weights: &[4.0, 4.0], decoder_bias: &[-2.0, -2.0],
//! };
//! // The file's exact length, known before writing it.
//! const LEN: usize = format::float_file_len(format::Shape::implied_by(2), 1).unwrap();
//! let mut buf = ae_core::Aligned([0u8; LEN]);
//! let len = format::write_float(2, 1, 0.3, &tensors, &mut buf.0)?;
//! assert_eq!(len, LEN);
//! let model = FloatModel::<2, 1>::from_bytes(&buf.0)?;
//! let code = model.encode(&SVector::from([1.0, 1.0]));
//! assert_eq!(code, SVector::from([1.0]));
//! # Ok(()) }
//! ```
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![deny(missing_docs)]
// `unsafe_op_in_unsafe_fn` and `clippy::undocumented_unsafe_blocks` are denied by the workspace's
// `[lints]` table (Cargo.toml).

mod aligned;
pub mod entropy;
mod error;
mod float;
pub mod format;
mod int8;
pub mod kernels;
pub mod pixels;
#[cfg(feature = "std")]
pub mod prepared;

/// The int8 layer functions, dispatched and portable, for tests that compare the two.
#[doc(hidden)]
pub mod int8_kernels {
    pub use crate::int8::{
        decode_portable, decode_unchecked, decode_with, encode_portable, encode_unchecked,
        encode_with,
    };
}

/// The `nalgebra` this crate's float API speaks ([`FloatModel`] takes and returns its static
/// vectors), re-exported so that a user names the very same types without a dependency of their own.
pub use nalgebra;

pub use aligned::Aligned;
pub use error::Error;
pub use float::FloatModel;
pub use int8::{requant, sigmoid_lut, Int8Model};

/// Pixels in an MNIST image (28 x 28).
pub const MNIST_PIXELS: usize = 784;
/// Latent size of the reference model: 64 values, 64 bytes once quantized.
pub const MNIST_LATENT: usize = 64;

/// The reference 784 -> 64 -> 784 model on the float path.
pub type Mnist<'a> = FloatModel<'a, MNIST_PIXELS, MNIST_LATENT>;
/// The reference 784 -> 64 -> 784 model on the integer path.
pub type MnistInt8<'a> = Int8Model<'a, MNIST_PIXELS, MNIST_LATENT>;
