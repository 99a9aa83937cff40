//! Writing model files into a caller-provided buffer (no allocation, so it also runs on a board).
//!
//! Everything written is validated with the same rules the parser applies, so a file this module
//! produces always loads.

use serde::ser::{Serialize, SerializeSeq, Serializer};

use super::validate::{self, Layer};
use super::wire::{EntropyParams, FloatParams, Int8Params, ModelFile, Params, QuantLayer};
use super::{crc32, Dims, Shape, CRC_LEN, ENTROPY_ALIGN, FORMAT_VERSION, MAGIC, TENSOR_ALIGN};
use crate::Error;

/// Float parameters to write, in the layouts [`super::FloatRef`] documents.
#[derive(Debug, Clone, Copy)]
pub struct FloatTensors<'a> {
    /// `[latent][input]`.
    pub encoder_weights: &'a [f32],
    /// `[latent]`.
    pub encoder_bias: &'a [f32],
    /// `[input][latent]`.
    pub decoder_weights: &'a [f32],
    /// `[input]`.
    pub decoder_bias: &'a [f32],
}

/// One quantized layer to write (see [`super::QuantLayerRef`]).
#[derive(Debug, Clone, Copy)]
pub struct QuantLayerTensors<'a> {
    /// `[out][in]`.
    pub weights: &'a [i8],
    /// `[out]`.
    pub bias: &'a [i32],
    /// `[out][branches]`.
    pub multipliers: &'a [i32],
    /// `[out][branches]`.
    pub shifts: &'a [u8],
}

/// Int8 parameters to write (see [`super::Int8Ref`]).
#[derive(Debug, Clone, Copy)]
pub struct Int8Tensors<'a> {
    /// Scale of the latent code.
    pub latent_scale: f32,
    /// Code value for zero.
    pub latent_zero_point: u8,
    /// Encoder (two requantizations per channel).
    pub encoder: QuantLayerTensors<'a>,
    /// Decoder (one requantization per channel).
    pub decoder: QuantLayerTensors<'a>,
}

/// The entropy model to store with an int8 model (see `FORMAT.md`, *Entropy coding*).
#[derive(Debug, Clone, Copy)]
pub struct EntropyTensors<'a> {
    /// Right shift of the predictor's fixed-point sums, `1..=24`.
    pub predictor_shift: u8,
    /// `[latent]`.
    pub predictor_bias: &'a [i32],
    /// `[latent][256]` cumulative frequencies out of 2^16.
    pub cumulative: &'a [u16],
    /// Lower-triangular rows `j = 1..latent`, row `j` holding `j` weights.
    pub predictor_weights: &'a [i16],
}

/// Writes a float model for images of the shape [`Shape::implied_by`] `input` (see
/// [`write_float_shaped`]).
pub fn write_float(
    input: u32,
    latent: u32,
    leaky_slope: f32,
    tensors: &FloatTensors<'_>,
    out: &mut [u8],
) -> Result<usize, Error> {
    write_float_shaped(Shape::implied_by(input), latent, leaky_slope, tensors, out)
}

/// Writes a float model for `shape` images into `out` and returns the number of bytes used.
///
/// The float tensors start [`TENSOR_ALIGN`]-aligned relative to `out`, so a 16-byte aligned
/// buffer (such as [`crate::Aligned`]) can be parsed in place.
pub fn write_float_shaped(
    shape: Shape,
    latent: u32,
    leaky_slope: f32,
    tensors: &FloatTensors<'_>,
    out: &mut [u8],
) -> Result<usize, Error> {
    let dims = dims_of(shape, latent)?;
    let per_layer = validate::dims(dims)?;
    validate::slope(leaky_slope)?;
    let (i, l) = dims.as_usize();
    let parts = [
        tensors.encoder_weights,
        tensors.encoder_bias,
        tensors.decoder_weights,
        tensors.decoder_bias,
    ];
    for (part, (name, len)) in parts.iter().zip([
        ("encoder_weights", per_layer),
        ("encoder_bias", l),
        ("decoder_weights", per_layer),
        ("decoder_bias", i),
    ]) {
        validate::len(name, len * 4, part.len() * 4)?;
        validate::finite(part)?;
    }
    let tensor_bytes: usize = parts.iter().map(|p| p.len() * 4).sum();
    let file = |pad| ModelFile {
        magic: MAGIC,
        version: FORMAT_VERSION,
        dims,
        shape,
        leaky_slope,
        entropy: None,
        params: Params::Float(FloatParams {
            pad: Bytes::Zeros(pad),
            tensors: Bytes::F32(&parts),
        }),
    };
    // Tensors are the last field: their offset is the body length minus their size. The padding
    // is under 128 bytes, so its varint length prefix stays one byte and the offset only moves by
    // the padding itself.
    let unpadded = serialized_len(&file(0))?;
    let pad = (TENSOR_ALIGN - (unpadded - tensor_bytes) % TENSOR_ALIGN) % TENSOR_ALIGN;
    debug_assert_eq!(
        Some(unpadded + pad + CRC_LEN),
        super::float_file_len(shape, latent)
    );
    finish(&file(pad), unpadded + pad, out)
}

/// Writes an int8 model without an entropy model for images of the shape
/// [`Shape::implied_by`] `input` (see [`write_int8_shaped`]).
pub fn write_int8(
    input: u32,
    latent: u32,
    leaky_slope: f32,
    tensors: &Int8Tensors<'_>,
    out: &mut [u8],
) -> Result<usize, Error> {
    write_int8_shaped(
        Shape::implied_by(input),
        latent,
        leaky_slope,
        tensors,
        None,
        out,
    )
}

/// Writes an int8 model for `shape` images, with an entropy model when given, into `out` and
/// returns the number of bytes used. The entropy tensors start [`ENTROPY_ALIGN`]-aligned
/// relative to `out`.
pub fn write_int8_shaped(
    shape: Shape,
    latent: u32,
    leaky_slope: f32,
    tensors: &Int8Tensors<'_>,
    entropy: Option<&EntropyTensors<'_>>,
    out: &mut [u8],
) -> Result<usize, Error> {
    let dims = dims_of(shape, latent)?;
    let per_layer = validate::dims(dims)?;
    validate::slope(leaky_slope)?;
    validate::latent_scale(tensors.latent_scale)?;
    let (i, l) = dims.as_usize();
    check_layer(&tensors.encoder, Layer::Encoder, per_layer, l)?;
    check_layer(&tensors.decoder, Layer::Decoder, per_layer, i)?;
    let (enc, dec) = (&tensors.encoder, &tensors.decoder);
    validate::accumulator_bounds(enc.weights, enc.bias.iter().copied(), i, 255)?;
    validate::accumulator_bounds(dec.weights, dec.bias.iter().copied(), l, 256)?;
    if let Some(e) = entropy {
        crate::entropy::validate_tables(
            l,
            e.predictor_shift,
            e.predictor_bias,
            e.cumulative,
            e.predictor_weights,
        )?;
    }
    let entropy_parts = entropy.map(|e| {
        [
            Bytes::I32(e.predictor_bias),
            Bytes::U16(e.cumulative),
            Bytes::I16(e.predictor_weights),
        ]
    });
    let file = |pad: usize| ModelFile {
        magic: MAGIC,
        version: FORMAT_VERSION,
        dims,
        shape,
        leaky_slope,
        entropy: entropy
            .zip(entropy_parts.as_ref())
            .map(|(e, parts)| EntropyParams {
                predictor_shift: e.predictor_shift,
                pad: Bytes::Zeros(pad),
                tensors: Bytes::Concat(parts),
            }),
        params: Params::Int8(Int8Params {
            latent_scale: tensors.latent_scale,
            latent_zero_point: tensors.latent_zero_point,
            encoder: layer(&tensors.encoder),
            decoder: layer(&tensors.decoder),
        }),
    };
    let pad = match (entropy, &entropy_parts) {
        (Some(e), Some(parts)) => {
            // Everything up to the entropy tensors' own length prefix, with an empty pad (whose
            // one-byte prefix stays one byte for any pad under 128).
            let prefix = serialized_len(&(
                MAGIC,
                FORMAT_VERSION,
                dims,
                shape,
                leaky_slope,
                Some((e.predictor_shift, Bytes::Zeros(0))),
            ))?;
            let tensor_len: usize = parts.iter().map(Bytes::len).sum();
            let at = prefix + serialized_len(&tensor_len)?;
            (ENTROPY_ALIGN - at % ENTROPY_ALIGN) % ENTROPY_ALIGN
        }
        _ => 0,
    };
    let file = file(pad);
    let len = serialized_len(&file)?;
    debug_assert_eq!(
        Some(len + CRC_LEN),
        super::int8_file_len(shape, latent, entropy.is_some())
    );
    finish(&file, len, out)
}

fn dims_of(shape: Shape, latent: u32) -> Result<Dims, Error> {
    let input = shape
        .pixels()
        .ok_or(Error::InvalidValue("image shape too large"))?;
    Ok(Dims { input, latent })
}

fn check_layer(
    t: &QuantLayerTensors<'_>,
    which: Layer,
    weights: usize,
    outputs: usize,
) -> Result<(), Error> {
    let (names, branches) = (which.names(), which.branches());
    validate::len(names.weights, weights, t.weights.len())?;
    validate::len(names.bias, outputs * 4, t.bias.len() * 4)?;
    validate::len(
        names.multipliers,
        outputs * branches * 4,
        t.multipliers.len() * 4,
    )?;
    validate::len(names.shifts, outputs * branches, t.shifts.len())?;
    for (&multiplier, &shift) in t.multipliers.iter().zip(t.shifts) {
        crate::requant::Requant { multiplier, shift }.validate()?;
    }
    Ok(())
}

fn layer<'a>(t: &'a QuantLayerTensors<'a>) -> QuantLayer<Bytes<'a>> {
    QuantLayer {
        weights: Bytes::I8(t.weights),
        bias: Bytes::I32(t.bias),
        multipliers: Bytes::I32(t.multipliers),
        shifts: Bytes::U8(t.shifts),
    }
}

fn serialized_len<T: Serialize>(value: &T) -> Result<usize, Error> {
    postcard::serialize_with_flavor(value, postcard::ser_flavors::Size::default())
        .map_err(|_| Error::Malformed)
}

/// Serializes `value` (`body_len` bytes) into `out` and appends the CRC.
fn finish<T: Serialize>(value: &T, body_len: usize, out: &mut [u8]) -> Result<usize, Error> {
    let total = body_len + CRC_LEN;
    if out.len() < total {
        return Err(Error::BufferSize {
            expected: total,
            found: out.len(),
        });
    }
    let (body, rest) = out.split_at_mut(body_len);
    let written = postcard::to_slice(value, body)
        .map_err(|_| Error::Malformed)?
        .len();
    debug_assert_eq!(written, body_len);
    let crc = crc32(body);
    rest[..CRC_LEN].copy_from_slice(&crc.to_le_bytes());
    Ok(total)
}

/// A byte string produced on the fly. postcard encodes a sequence of `u8` exactly like a byte
/// string (varint length, then raw bytes), so the parser can borrow it back as `&[u8]`.
enum Bytes<'a> {
    Zeros(usize),
    F32(&'a [&'a [f32]]),
    I8(&'a [i8]),
    I16(&'a [i16]),
    U16(&'a [u16]),
    I32(&'a [i32]),
    U8(&'a [u8]),
    Concat(&'a [Bytes<'a>]),
}

impl Bytes<'_> {
    fn len(&self) -> usize {
        match self {
            Bytes::Zeros(n) => *n,
            Bytes::F32(parts) => parts.iter().map(|p| p.len() * 4).sum(),
            Bytes::I8(v) => v.len(),
            Bytes::I16(v) => v.len() * 2,
            Bytes::U16(v) => v.len() * 2,
            Bytes::I32(v) => v.len() * 4,
            Bytes::U8(v) => v.len(),
            Bytes::Concat(parts) => parts.iter().map(Bytes::len).sum(),
        }
    }

    fn emit<S: SerializeSeq>(&self, seq: &mut S) -> Result<(), S::Error> {
        fn all<S: SerializeSeq>(seq: &mut S, bytes: &[u8]) -> Result<(), S::Error> {
            bytes.iter().try_for_each(|b| seq.serialize_element(b))
        }
        match self {
            Bytes::Zeros(n) => (0..*n).try_for_each(|_| seq.serialize_element(&0u8)),
            Bytes::F32(parts) => parts
                .iter()
                .flat_map(|p| p.iter())
                .try_for_each(|v| all(seq, &v.to_le_bytes())),
            Bytes::I8(v) => v
                .iter()
                .try_for_each(|b| seq.serialize_element(&(*b as u8))),
            Bytes::I16(v) => v.iter().try_for_each(|x| all(seq, &x.to_le_bytes())),
            Bytes::U16(v) => v.iter().try_for_each(|x| all(seq, &x.to_le_bytes())),
            Bytes::I32(v) => v.iter().try_for_each(|x| all(seq, &x.to_le_bytes())),
            Bytes::U8(v) => all(seq, v),
            Bytes::Concat(parts) => parts.iter().try_for_each(|p| p.emit(seq)),
        }
    }
}

impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.len()))?;
        self.emit(&mut seq)?;
        seq.end()
    }
}
