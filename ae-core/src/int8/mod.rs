//! The integer inference path: no floating point at run time, for chips without an FPU.
//!
//! Pixels `p` (scale 1/255, zero point 0) meet int8 weights `w` (symmetric, one scale per output
//! channel) in int32 accumulators that start at the int32 bias (scale `s_in * s_w`, as in the
//! TFLite int8 specification). The encoder requantizes each accumulator straight into the 8-bit
//! code, with LeakyReLU folded in as a second multiplier for negative values. The decoder centres
//! the code on its zero point, accumulates, and requantizes into an index of the sigmoid table,
//! which gives the output pixel. `FORMAT.md` spells out every constant.

pub mod requant;
pub mod sigmoid_lut;

use crate::error::ModelKind;
use crate::format::{Int8Ref, ModelRef};
use crate::kernels::{dot_i16_i8, dot_u8_i8};
use crate::Error;
use requant::Requant;

impl Int8Ref<'_> {
    /// Encodes `pixels` (length `input`) into `code` (length `latent`).
    pub fn encode(&self, pixels: &[u8], code: &mut [u8]) -> Result<(), Error> {
        let (input, latent) = self.dims.as_usize();
        check_len(input, pixels.len())?;
        check_len(latent, code.len())?;
        encode_unchecked(self, pixels, code);
        Ok(())
    }

    /// Decodes `code` (length `latent`) into `pixels` (length `input`); `centred` is scratch of
    /// length `latent`.
    pub fn decode(&self, code: &[u8], centred: &mut [i16], pixels: &mut [u8]) -> Result<(), Error> {
        let (input, latent) = self.dims.as_usize();
        check_len(latent, code.len())?;
        check_len(latent, centred.len())?;
        check_len(input, pixels.len())?;
        decode_unchecked(self, code, centred, pixels);
        Ok(())
    }

    /// The real latent value a code byte stands for: `latent_scale * (code - zero_point)`.
    pub fn dequantize(&self, code: u8) -> f32 {
        self.latent_scale * (f32::from(code) - f32::from(self.latent_zero_point))
    }
}

fn check_len(expected: usize, found: usize) -> Result<(), Error> {
    if expected == found {
        Ok(())
    } else {
        Err(Error::BufferSize { expected, found })
    }
}

/// Lengths must already match the model; every access is through zips and `get`, so a mismatch
/// could only shorten the output, never panic.
#[inline]
fn encode_unchecked(m: &Int8Ref<'_>, pixels: &[u8], code: &mut [u8]) {
    let layer = &m.encoder;
    let zero_point = i32::from(m.latent_zero_point);
    let rows = layer.weights.chunks_exact(pixels.len().max(1));
    let requants = layer
        .multipliers
        .as_chunks::<2>()
        .0
        .iter()
        .zip(layer.shifts.as_chunks::<2>().0);
    for (((out, row), bias), (mult, shift)) in
        code.iter_mut().zip(rows).zip(layer.bias).zip(requants)
    {
        let acc = i32::from_le_bytes(*bias).wrapping_add(dot_u8_i8(pixels, row));
        let branch = usize::from(acc < 0);
        let rq = Requant {
            multiplier: i32::from_le_bytes(mult[branch]),
            shift: shift[branch],
        };
        *out = rq.apply(acc).saturating_add(zero_point).clamp(0, 255) as u8;
    }
}

#[inline]
fn decode_unchecked(m: &Int8Ref<'_>, code: &[u8], centred: &mut [i16], pixels: &mut [u8]) {
    let zero_point = i16::from(m.latent_zero_point);
    for (c, &q) in centred.iter_mut().zip(code) {
        *c = i16::from(q) - zero_point;
    }
    let layer = &m.decoder;
    let rows = layer.weights.chunks_exact(centred.len().max(1));
    let requants = layer.multipliers.iter().zip(layer.shifts);
    for (((out, row), bias), (mult, &shift)) in
        pixels.iter_mut().zip(rows).zip(layer.bias).zip(requants)
    {
        let acc = i32::from_le_bytes(*bias).wrapping_add(dot_i16_i8(centred, row));
        let rq = Requant {
            multiplier: i32::from_le_bytes(*mult),
            shift,
        };
        *out = sigmoid_lut::lookup(rq.apply(acc).saturating_add(sigmoid_lut::ZERO));
    }
}

/// An int8 model with compile-time dimensions: `[u8; IN]` pixels to a `[u8; LATENT]` code and back.
///
/// Weights are read in place from the model bytes; the only memory it uses is its arguments and
/// `2 * LATENT` bytes of stack in [`Int8Model::decode`].
#[derive(Debug, Clone, Copy)]
pub struct Int8Model<'a, const IN: usize, const LATENT: usize> {
    model: Int8Ref<'a>,
}

impl<'a, const IN: usize, const LATENT: usize> Int8Model<'a, IN, LATENT> {
    /// Parses and validates `bytes`, which must hold an int8 `IN -> LATENT` model.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, Error> {
        match ModelRef::parse(bytes)? {
            ModelRef::Int8(m) => Self::from_ref(m),
            ModelRef::Float(_) => Err(Error::WrongKind {
                expected: ModelKind::Int8,
                found: ModelKind::Float,
            }),
        }
    }

    /// Wraps an already validated model after checking its dimensions.
    pub fn from_ref(model: Int8Ref<'a>) -> Result<Self, Error> {
        ModelRef::Int8(model).expect_dims(IN, LATENT)?;
        Ok(Self { model })
    }

    /// The validated model with run-time dimensions.
    pub fn untyped(&self) -> &Int8Ref<'a> {
        &self.model
    }

    /// Compresses an image into its `LATENT`-byte code.
    pub fn encode(&self, pixels: &[u8; IN], code: &mut [u8; LATENT]) {
        encode_unchecked(&self.model, pixels, code);
    }

    /// Reconstructs an image from its code.
    pub fn decode(&self, code: &[u8; LATENT], pixels: &mut [u8; IN]) {
        let mut centred = [0i16; LATENT];
        decode_unchecked(&self.model, code, &mut centred, pixels);
    }
}
