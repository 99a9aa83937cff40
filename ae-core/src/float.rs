//! The float inference path, with `nalgebra` static types where a user meets it.
//!
//! [`FloatModel<IN, LATENT>`] takes and returns `nalgebra` vectors of its compile-time sizes
//! ([`SVector`], or any contiguous view of one) and shows its weights as static matrix views over
//! the borrowed model bytes ([`FloatModel::encoder_weights`] and friends): no copy, and a wrong
//! size does not compile. The arithmetic underneath is not nalgebra's: `encode` and `decode` hand
//! the vectors' contiguous storage to the [`kernels`] (`encode_f32`, `decode_f32`), whose fixed
//! summation order gives the same bits on every target (portable loops, AVX2, AVX-512, the
//! Cortex-M4F's FPU). nalgebra's own matrix-vector product (`gemv`) is the reference the tests
//! hold the kernels to, within rounding, since it sums in another order.
//!
//! [`FloatRef`] is the same model with run-time dimensions, on slices, for hosts that learn the
//! sizes from the file.

use nalgebra::storage::{IsContiguous, RawStorage, RawStorageMut};
use nalgebra::{Const, SMatrixView, SVector, SVectorView, Vector};

use crate::error::ModelKind;
use crate::format::{FloatRef, ModelRef};
use crate::kernels;
use crate::pixels;
use crate::Error;

impl FloatRef<'_> {
    /// Encodes `x` (length `input`, values in `[0, 1]`) into `out` (length `latent`).
    pub fn encode(&self, x: &[f32], out: &mut [f32]) -> Result<(), Error> {
        let (input, latent) = self.dims.as_usize();
        Error::check_len(input, x.len())?;
        Error::check_len(latent, out.len())?;
        kernels::encode_f32(
            self.encoder_weights,
            self.encoder_bias,
            x,
            self.leaky_slope,
            out,
        );
        Ok(())
    }

    /// Decodes `h` (length `latent`) into `out` (length `input`, values in `(0, 1)`).
    pub fn decode(&self, h: &[f32], out: &mut [f32]) -> Result<(), Error> {
        let (input, latent) = self.dims.as_usize();
        Error::check_len(latent, h.len())?;
        Error::check_len(input, out.len())?;
        kernels::decode_f32(self.decoder_weights, self.decoder_bias, h, out);
        Ok(())
    }
}

/// A float model with compile-time dimensions, on `nalgebra` static vectors.
///
/// Inputs are `&SVector<f32, N>` or any contiguous view of `N` values (`SVectorView`,
/// `SVectorViewMut`); [`Self::encode`] and [`Self::decode`] return a new vector, and
/// [`Self::encode_to`] and [`Self::decode_to`] write into one the caller owns (a 784-value image
/// is 3 KiB: on a small board, keep one buffer and reuse it). The weights are `nalgebra` views
/// into the model bytes ([`FloatModel::encoder_weights`] and friends), never copies. The
/// products do not run in nalgebra: [`kernels::encode_f32`] and [`kernels::decode_f32`] run on
/// the vectors' contiguous storage, in a fixed summation order that gives the same bits on every
/// target, and the tests hold them to nalgebra's `gemv` within rounding.
///
/// ```
/// # fn main() -> Result<(), ae_core::Error> {
/// use ae_core::{format, FloatModel};
/// use ae_core::nalgebra::{SVector, SVectorView};
/// const LEN: usize = format::float_file_len(format::Shape::implied_by(2), 1).unwrap();
/// // h = leaky(0.5 x0 + 0.5 x1), y = sigmoid(4h - 2).
/// let tensors = format::FloatTensors {
///     encoder_weights: &[0.5, 0.5], encoder_bias: &[0.0],
///     decoder_weights: &[4.0, 4.0], decoder_bias: &[-2.0, -2.0],
/// };
/// let mut buf = ae_core::Aligned([0u8; LEN]);
/// let len = format::write_float(2, 1, 0.3, &tensors, &mut buf.0)?;
/// let model = FloatModel::<2, 1>::from_bytes(&buf.0[..len])?;
/// let h = model.encode(&SVector::from([1.0, 1.0]));
/// assert_eq!(h, SVector::from([1.0]));
/// // A view over a slice works too, and `decode_to` reuses the caller's output.
/// let mut y = SVector::<f32, 2>::zeros();
/// model.decode_to(&SVectorView::<f32, 1>::from_slice(&[0.5]), &mut y);
/// assert_eq!(y, SVector::from([0.5, 0.5]));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct FloatModel<'a, const IN: usize, const LATENT: usize> {
    model: FloatRef<'a>,
}

impl<'a, const IN: usize, const LATENT: usize> FloatModel<'a, IN, LATENT> {
    /// Parses and validates `bytes`, which must hold a float `IN -> LATENT` model and be 4-byte
    /// aligned (see [`crate::Aligned`]).
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, Error> {
        match ModelRef::parse(bytes)? {
            ModelRef::Float(m) => Self::from_ref(m),
            ModelRef::Int8(_) => Err(Error::WrongKind {
                expected: ModelKind::Float,
                found: ModelKind::Int8,
            }),
        }
    }

    /// Wraps an already validated model after checking its dimensions.
    pub fn from_ref(model: FloatRef<'a>) -> Result<Self, Error> {
        ModelRef::Float(model).expect_dims(IN, LATENT)?;
        Ok(Self { model })
    }

    /// The validated model with run-time dimensions.
    pub fn untyped(&self) -> &FloatRef<'a> {
        &self.model
    }

    /// LeakyReLU slope.
    pub fn leaky_slope(&self) -> f32 {
        self.model.leaky_slope
    }

    /// Encoder weights as an `IN x LATENT` matrix: column `j` feeds latent unit `j`, so the
    /// pre-activation is `W^T x + b`.
    pub fn encoder_weights(&self) -> SMatrixView<'a, f32, IN, LATENT> {
        SMatrixView::from_slice(self.model.encoder_weights)
    }

    /// Encoder bias.
    pub fn encoder_bias(&self) -> SVectorView<'a, f32, LATENT> {
        SVectorView::from_slice(self.model.encoder_bias)
    }

    /// Decoder weights as a `LATENT x IN` matrix: column `i` feeds output pixel `i`, so the
    /// pre-activation is `V^T h + c`.
    pub fn decoder_weights(&self) -> SMatrixView<'a, f32, LATENT, IN> {
        SMatrixView::from_slice(self.model.decoder_weights)
    }

    /// Decoder bias.
    pub fn decoder_bias(&self) -> SVectorView<'a, f32, IN> {
        SVectorView::from_slice(self.model.decoder_bias)
    }

    /// `leaky(W^T x + b)`: the latent code of `x` (values in `[0, 1]`).
    pub fn encode<S>(&self, x: &Vector<f32, Const<IN>, S>) -> SVector<f32, LATENT>
    where
        S: RawStorage<f32, Const<IN>> + IsContiguous,
    {
        let mut out = SVector::zeros();
        self.encode_to(x, &mut out);
        out
    }

    /// [`Self::encode`] into `out`.
    pub fn encode_to<S, SO>(
        &self,
        x: &Vector<f32, Const<IN>, S>,
        out: &mut Vector<f32, Const<LATENT>, SO>,
    ) where
        S: RawStorage<f32, Const<IN>> + IsContiguous,
        SO: RawStorageMut<f32, Const<LATENT>> + IsContiguous,
    {
        let m = &self.model;
        kernels::encode_f32(
            m.encoder_weights,
            m.encoder_bias,
            x.as_slice(),
            m.leaky_slope,
            out.as_mut_slice(),
        );
    }

    /// `sigmoid(V^T h + c)`: the reconstruction from a latent code (values in `(0, 1)`).
    pub fn decode<S>(&self, h: &Vector<f32, Const<LATENT>, S>) -> SVector<f32, IN>
    where
        S: RawStorage<f32, Const<LATENT>> + IsContiguous,
    {
        let mut out = SVector::zeros();
        self.decode_to(h, &mut out);
        out
    }

    /// [`Self::decode`] into `out`.
    pub fn decode_to<S, SO>(
        &self,
        h: &Vector<f32, Const<LATENT>, S>,
        out: &mut Vector<f32, Const<IN>, SO>,
    ) where
        S: RawStorage<f32, Const<LATENT>> + IsContiguous,
        SO: RawStorageMut<f32, Const<IN>> + IsContiguous,
    {
        let m = &self.model;
        kernels::decode_f32(
            m.decoder_weights,
            m.decoder_bias,
            h.as_slice(),
            out.as_mut_slice(),
        );
    }

    /// [`Self::encode_to`] from 8-bit pixels (`pixel / 255`); `scratch` holds the converted image.
    pub fn encode_pixels(
        &self,
        image: &[u8; IN],
        scratch: &mut SVector<f32, IN>,
        out: &mut SVector<f32, LATENT>,
    ) {
        pixels::to_unit_slice(image, scratch.as_mut_slice());
        self.encode_to(scratch, out);
    }

    /// [`Self::decode_to`] to 8-bit pixels (`round(255 y)`); `scratch` holds the float output.
    pub fn decode_pixels(
        &self,
        h: &SVector<f32, LATENT>,
        scratch: &mut SVector<f32, IN>,
        out: &mut [u8; IN],
    ) {
        self.decode_to(h, scratch);
        pixels::from_unit_slice(scratch.as_slice(), out);
    }
}
