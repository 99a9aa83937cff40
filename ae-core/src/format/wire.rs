//! The serde shape of the file body. One definition serves reading and writing: byte fields are a
//! type parameter, `&[u8]` borrowed from the file when reading, [`crate::format::write`]'s byte
//! sources when writing. Changing anything here changes the wire format (the golden tests notice).

use serde::{Deserialize, Serialize};

use super::{Dims, Shape};

/// Fixed prefix of every version: read first, so that a future layout is reported as an
/// unsupported version rather than as a malformed file.
#[derive(Serialize, Deserialize)]
pub(crate) struct Header {
    pub magic: [u8; 4],
    pub version: u16,
}

/// Version 1: no shape, no entropy model.
#[derive(Serialize, Deserialize)]
pub(crate) struct ModelFileV1<B> {
    pub magic: [u8; 4],
    pub version: u16,
    pub dims: Dims,
    pub leaky_slope: f32,
    pub params: Params<B>,
}

/// Version 2: the image shape and an optional entropy model, before the same parameters.
#[derive(Serialize, Deserialize)]
pub(crate) struct ModelFile<B> {
    pub magic: [u8; 4],
    pub version: u16,
    pub dims: Dims,
    pub shape: Shape,
    pub leaky_slope: f32,
    pub entropy: Option<EntropyParams<B>>,
    pub params: Params<B>,
}

/// The entropy model of the latent codes. `tensors` starts [`super::ENTROPY_ALIGN`]-aligned from
/// the start of the file, after `pad` zero bytes: predictor bias `i32 [latent]`, cumulative
/// frequencies `u16 [latent][256]`, predictor weights `i16 [latent * (latent - 1) / 2]`.
#[derive(Serialize, Deserialize)]
pub(crate) struct EntropyParams<B> {
    pub predictor_shift: u8,
    pub pad: B,
    pub tensors: B,
}

#[derive(Serialize, Deserialize)]
pub(crate) enum Params<B> {
    Float(FloatParams<B>),
    Int8(Int8Params<B>),
}

/// `tensors` is the last field of the body, preceded by zero padding that puts its first byte at
/// a multiple of [`super::TENSOR_ALIGN`] from the start of the file. Order inside: encoder weights
/// `[latent][input]`, encoder bias `[latent]`, decoder weights `[input][latent]`, decoder bias
/// `[input]`, all `f32` little-endian.
#[derive(Serialize, Deserialize)]
pub(crate) struct FloatParams<B> {
    pub pad: B,
    pub tensors: B,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Int8Params<B> {
    pub latent_scale: f32,
    pub latent_zero_point: u8,
    pub encoder: QuantLayer<B>,
    pub decoder: QuantLayer<B>,
}

/// One quantized dense layer, weights `[out][in]` as i8. Per output channel: bias (i32, in
/// accumulator units) and one requantization (multiplier i32, right shift u8) per branch — two
/// for the encoder (z >= 0, z < 0), one for the decoder. Weight scales are folded into those and
/// not stored: the file holds only what the integer kernels read.
#[derive(Serialize, Deserialize)]
pub(crate) struct QuantLayer<B> {
    pub weights: B,
    pub bias: B,
    pub multipliers: B,
    pub shifts: B,
}
