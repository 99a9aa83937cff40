//! The float inference path on `nalgebra` static-size views of the borrowed weights.

use nalgebra::{SMatrixView, SVectorView};

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

/// A float model with compile-time dimensions.
///
/// The weights are `nalgebra` views into the model bytes ([`FloatModel::encoder_weights`] and
/// friends), never copies; `encode` and `decode` run the [`kernels`] over them.
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

    /// Decoder weights as a `LATENT x IN` matrix: column `i` feeds output pixel `i`.
    pub fn decoder_weights(&self) -> SMatrixView<'a, f32, LATENT, IN> {
        SMatrixView::from_slice(self.model.decoder_weights)
    }

    /// Decoder bias.
    pub fn decoder_bias(&self) -> SVectorView<'a, f32, IN> {
        SVectorView::from_slice(self.model.decoder_bias)
    }

    /// `leaky(W^T x + b)`: the latent code of `x` (values in `[0, 1]`).
    pub fn encode(&self, x: &[f32; IN], out: &mut [f32; LATENT]) {
        let m = &self.model;
        kernels::encode_f32(m.encoder_weights, m.encoder_bias, x, m.leaky_slope, out);
    }

    /// `sigmoid(V^T h + c)`: the reconstruction from a latent code.
    pub fn decode(&self, h: &[f32; LATENT], out: &mut [f32; IN]) {
        let m = &self.model;
        kernels::decode_f32(m.decoder_weights, m.decoder_bias, h, out);
    }

    /// [`Self::encode`] from 8-bit pixels (`pixel / 255`); `scratch` holds the converted image.
    pub fn encode_pixels(
        &self,
        image: &[u8; IN],
        scratch: &mut [f32; IN],
        out: &mut [f32; LATENT],
    ) {
        pixels::to_unit_slice(image, scratch);
        self.encode(scratch, out);
    }

    /// [`Self::decode`] to 8-bit pixels (`round(255 y)`); `scratch` holds the float output.
    pub fn decode_pixels(&self, h: &[f32; LATENT], scratch: &mut [f32; IN], out: &mut [u8; IN]) {
        self.decode(h, scratch);
        pixels::from_unit_slice(scratch, out);
    }
}
