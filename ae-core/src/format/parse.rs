//! Reading a model file into validated, borrowed views.

use super::validate::{self, Layer};
use super::wire::{self, Header, Params};
use super::{
    crc32, Dims, ModelKind, Shape, CRC_LEN, ENTROPY_ALIGN, FORMAT_V1, FORMAT_VERSION, MAGIC,
    TENSOR_ALIGN,
};
use crate::entropy::EntropyRef;
use crate::int8::requant::Requant;
use crate::Error;

/// `dims()` and `shape()`, which every validated model has.
macro_rules! header_accessors {
    () => {
        /// Model dimensions.
        pub fn dims(&self) -> Dims {
            self.dims
        }

        /// The image shape (`rows * cols == dims().input`).
        pub fn shape(&self) -> Shape {
            self.shape
        }
    };
}

/// A validated float model with run-time dimensions: every slice has the length its dimensions
/// need and every value is finite.
///
/// Only [`ModelRef::parse`] makes one (its fields are private), so these promises always hold;
/// the accessors borrow the tensors from the model bytes.
#[derive(Debug, Clone, Copy)]
pub struct FloatRef<'a> {
    pub(crate) dims: Dims,
    pub(crate) shape: Shape,
    pub(crate) leaky_slope: f32,
    pub(crate) encoder_weights: &'a [f32],
    pub(crate) encoder_bias: &'a [f32],
    pub(crate) decoder_weights: &'a [f32],
    pub(crate) decoder_bias: &'a [f32],
}

impl<'a> FloatRef<'a> {
    header_accessors!();

    /// LeakyReLU slope for negative inputs, in `[0, 1]`.
    pub fn leaky_slope(&self) -> f32 {
        self.leaky_slope
    }

    /// `[latent][input]`: row `j` holds the weights into latent unit `j`.
    pub fn encoder_weights(&self) -> &'a [f32] {
        self.encoder_weights
    }

    /// `[latent]`.
    pub fn encoder_bias(&self) -> &'a [f32] {
        self.encoder_bias
    }

    /// `[input][latent]`: row `i` holds the weights into output pixel `i`.
    pub fn decoder_weights(&self) -> &'a [f32] {
        self.decoder_weights
    }

    /// `[input]`.
    pub fn decoder_bias(&self) -> &'a [f32] {
        self.decoder_bias
    }
}

/// One validated quantized layer (see `FORMAT.md` for the arithmetic): [`outputs`](Self::outputs)
/// rows of int8 weights, and per row one bias and [`branches`](Self::branches) requantizations.
///
/// Only the parser makes one (its fields are private): every tensor has its length and every
/// requantization is valid.
#[derive(Debug, Clone, Copy)]
pub struct QuantLayerRef<'a> {
    /// `[out][in]` int8 weights.
    pub(crate) weights: &'a [i8],
    /// Per output channel, i32 little-endian, in accumulator units.
    pub(crate) bias: &'a [[u8; 4]],
    /// Per output channel and branch, i32 little-endian, validated.
    pub(crate) multipliers: &'a [[u8; 4]],
    /// Per output channel and branch, right shifts, validated.
    pub(crate) shifts: &'a [u8],
}

impl<'a> QuantLayerRef<'a> {
    /// The `[out][in]` int8 weights: row `o` feeds output channel `o`.
    pub fn weights(&self) -> &'a [i8] {
        self.weights
    }

    /// Output channels.
    pub fn outputs(&self) -> usize {
        self.bias.len()
    }

    /// Requantizations per output channel: 2 for the encoder (`z >= 0`, `z < 0`), 1 for the
    /// decoder.
    pub fn branches(&self) -> usize {
        self.shifts.len().checked_div(self.bias.len()).unwrap_or(0)
    }

    /// Bias of output channel `channel` (in accumulator units), if it exists.
    #[inline(always)]
    pub fn bias(&self, channel: usize) -> Option<i32> {
        self.bias.get(channel).map(|b| i32::from_le_bytes(*b))
    }

    /// Requantization `index` (`channel * branches + branch`), if it exists.
    #[inline(always)]
    pub fn requant(&self, index: usize) -> Option<Requant> {
        let multiplier = i32::from_le_bytes(*self.multipliers.get(index)?);
        let shift = *self.shifts.get(index)?;
        Some(Requant { multiplier, shift })
    }

    /// The raw bias, multiplier and shift of the `R` channels from `first` (one branch per
    /// channel: the decoder), when they all exist.
    #[inline(always)]
    #[allow(clippy::type_complexity)]
    pub(crate) fn block<const R: usize>(
        &self,
        first: usize,
    ) -> Option<(&'a [[u8; 4]; R], &'a [[u8; 4]; R], &'a [u8; R])> {
        let end = first + R;
        let records = (
            self.bias.get(first..end).and_then(|b| b.try_into().ok()),
            self.multipliers
                .get(first..end)
                .and_then(|m| m.try_into().ok()),
            self.shifts.get(first..end).and_then(|s| s.try_into().ok()),
        );
        match records {
            (Some(bias), Some(multipliers), Some(shifts)) => Some((bias, multipliers, shifts)),
            _ => None,
        }
    }
}

/// A validated int8 model with run-time dimensions.
///
/// Only [`ModelRef::parse`] makes one (its fields are private): the layers have the lengths the
/// dimensions need, every requantization is valid and no accumulator can leave `i32`.
#[derive(Debug, Clone, Copy)]
pub struct Int8Ref<'a> {
    pub(crate) dims: Dims,
    pub(crate) shape: Shape,
    pub(crate) leaky_slope: f32,
    pub(crate) latent_scale: f32,
    pub(crate) latent_zero_point: u8,
    pub(crate) encoder: QuantLayerRef<'a>,
    pub(crate) decoder: QuantLayerRef<'a>,
    pub(crate) entropy: Option<EntropyRef<'a>>,
}

impl<'a> Int8Ref<'a> {
    header_accessors!();

    /// LeakyReLU slope the float model had (folded into the encoder's negative multipliers).
    pub fn leaky_slope(&self) -> f32 {
        self.leaky_slope
    }

    /// Scale of the 8-bit latent code: `h = latent_scale * (code - latent_zero_point)`.
    pub fn latent_scale(&self) -> f32 {
        self.latent_scale
    }

    /// Code value that stands for `h = 0`.
    pub fn latent_zero_point(&self) -> u8 {
        self.latent_zero_point
    }

    /// Encoder: `latent` channels of `input` weights, two requantizations per channel (`z >= 0`,
    /// `z < 0`).
    pub fn encoder(&self) -> &QuantLayerRef<'a> {
        &self.encoder
    }

    /// Decoder: `input` channels of `latent` weights, one requantization per channel (to the
    /// sigmoid table's index).
    pub fn decoder(&self) -> &QuantLayerRef<'a> {
        &self.decoder
    }

    /// The entropy model for the codes, when the file has one (version 2 files only).
    pub fn entropy(&self) -> Option<EntropyRef<'a>> {
        self.entropy
    }
}

/// Any validated model.
#[derive(Debug, Clone, Copy)]
pub enum ModelRef<'a> {
    /// Float weights.
    Float(FloatRef<'a>),
    /// int8 weights.
    Int8(Int8Ref<'a>),
}

impl<'a> ModelRef<'a> {
    /// Validates `bytes` as a model file (version 1 or 2) and borrows its tensors.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let body = checked_body(bytes)?;
        let (header, _) = postcard::take_from_bytes::<Header>(body).map_err(postcard_error)?;
        let file = match header.version {
            FORMAT_V1 => {
                let v1: wire::ModelFileV1<&'a [u8]> = take_canonical(body)?;
                wire::ModelFile {
                    magic: v1.magic,
                    version: v1.version,
                    dims: v1.dims,
                    shape: Shape::implied_by(v1.dims.input),
                    leaky_slope: v1.leaky_slope,
                    entropy: None,
                    params: v1.params,
                }
            }
            FORMAT_VERSION => take_canonical(body)?,
            other => return Err(Error::UnsupportedVersion(other)),
        };
        let dims = file.dims;
        let per_layer = validate::dims(dims)?;
        validate::shape(dims, file.shape)?;
        let slope = file.leaky_slope;
        validate::slope(slope)?;
        let header = Common {
            dims,
            shape: file.shape,
            slope,
            per_layer,
        };
        match file.params {
            Params::Float(p) => {
                if file.entropy.is_some() {
                    return Err(Error::InvalidValue(
                        "only int8 models can have an entropy model",
                    ));
                }
                validate::padding(p.pad, offset_in(bytes, p.tensors), TENSOR_ALIGN)?;
                parse_float(&header, p.tensors).map(ModelRef::Float)
            }
            Params::Int8(p) => {
                let entropy = match file.entropy {
                    None => None,
                    Some(e) => {
                        validate::padding(e.pad, offset_in(bytes, e.tensors), ENTROPY_ALIGN)?;
                        Some(EntropyRef::parse(
                            dims.latent as usize,
                            p.latent_zero_point,
                            e.predictor_shift,
                            e.tensors,
                        )?)
                    }
                };
                parse_int8(&header, p, entropy).map(ModelRef::Int8)
            }
        }
    }

    /// The image shape the model takes.
    pub fn shape(&self) -> Shape {
        match self {
            ModelRef::Float(m) => m.shape,
            ModelRef::Int8(m) => m.shape,
        }
    }

    /// The model's dimensions.
    pub fn dims(&self) -> Dims {
        match self {
            ModelRef::Float(m) => m.dims,
            ModelRef::Int8(m) => m.dims,
        }
    }

    /// Float or int8.
    pub fn kind(&self) -> ModelKind {
        match self {
            ModelRef::Float(_) => ModelKind::Float,
            ModelRef::Int8(_) => ModelKind::Int8,
        }
    }

    /// Fails with [`Error::DimsMismatch`] unless the model is `input -> latent`.
    pub fn expect_dims(&self, input: usize, latent: usize) -> Result<(), Error> {
        let found = self.dims();
        if found.as_usize() == (input, latent) {
            Ok(())
        } else {
            // Dimensions that do not fit in u32 can never match a parsed file.
            let clamp = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
            Err(Error::DimsMismatch {
                expected: (clamp(input), clamp(latent)),
                found: (found.input, found.latent),
            })
        }
    }
}

/// Checks magic, length and checksum; returns the body without the CRC trailer.
fn checked_body(bytes: &[u8]) -> Result<&[u8], Error> {
    let magic_len = bytes.len().min(MAGIC.len());
    if bytes.get(..magic_len) != MAGIC.get(..magic_len) {
        return Err(Error::BadMagic);
    }
    let Some(body_len) = bytes.len().checked_sub(CRC_LEN) else {
        return Err(Error::Truncated);
    };
    if body_len < MAGIC.len() {
        return Err(Error::Truncated);
    }
    let (body, trailer) = bytes.split_at(body_len);
    let mut stored = [0u8; CRC_LEN];
    stored.copy_from_slice(trailer);
    let stored = u32::from_le_bytes(stored);
    let computed = crc32(body);
    if stored != computed {
        return Err(Error::ChecksumMismatch { stored, computed });
    }
    Ok(body)
}

/// Decodes the whole body as `T`, refusing trailing bytes and non-canonical encodings (overlong
/// varints): one model has exactly one encoding.
fn take_canonical<'a, T>(body: &'a [u8]) -> Result<T, Error>
where
    T: serde::Deserialize<'a> + serde::Serialize,
{
    let (value, rest) = postcard::take_from_bytes::<T>(body).map_err(postcard_error)?;
    if !rest.is_empty() {
        return Err(Error::TrailingBytes);
    }
    let canonical = postcard::serialize_with_flavor(&value, postcard::ser_flavors::Size::default())
        .map_err(|_| Error::Malformed)?;
    if canonical != body.len() {
        return Err(Error::Malformed);
    }
    Ok(value)
}

/// Offset of `part` (a sub-slice of `file`) from the start of `file`.
fn offset_in(file: &[u8], part: &[u8]) -> usize {
    (part.as_ptr() as usize).wrapping_sub(file.as_ptr() as usize)
}

/// What every model kind shares after the header checks.
struct Common {
    dims: Dims,
    shape: Shape,
    slope: f32,
    per_layer: usize,
}

fn postcard_error(e: postcard::Error) -> Error {
    match e {
        postcard::Error::DeserializeUnexpectedEnd => Error::Truncated,
        _ => Error::Malformed,
    }
}

fn parse_float<'a>(c: &Common, tensors: &'a [u8]) -> Result<FloatRef<'a>, Error> {
    let (dims, per_layer) = (c.dims, c.per_layer);
    let (input, latent) = dims.as_usize();
    // `validate::dims` guarantees this cannot overflow.
    let expected = (2 * per_layer + input + latent) * 4;
    validate::len("float tensors", expected, tensors.len())?;
    if cfg!(target_endian = "big") {
        return Err(Error::InvalidValue(
            "float models need a little-endian target",
        ));
    }
    let all: &[f32] = bytemuck::try_cast_slice(tensors).map_err(|_| Error::Misaligned)?;
    validate::finite(all)?;
    // The length check above guarantees every split; checked splits keep loading panic-free.
    let (encoder_weights, rest) = all.split_at_checked(per_layer).ok_or(Error::Truncated)?;
    let (encoder_bias, rest) = rest.split_at_checked(latent).ok_or(Error::Truncated)?;
    let (decoder_weights, decoder_bias) =
        rest.split_at_checked(per_layer).ok_or(Error::Truncated)?;
    Ok(FloatRef {
        dims,
        shape: c.shape,
        leaky_slope: c.slope,
        encoder_weights,
        encoder_bias,
        decoder_weights,
        decoder_bias,
    })
}

fn parse_int8<'a>(
    c: &Common,
    p: wire::Int8Params<&'a [u8]>,
    entropy: Option<EntropyRef<'a>>,
) -> Result<Int8Ref<'a>, Error> {
    let (dims, per_layer) = (c.dims, c.per_layer);
    let (input, latent) = dims.as_usize();
    validate::latent_scale(p.latent_scale)?;
    let encoder = parse_layer(p.encoder, Layer::Encoder, per_layer, latent)?;
    let decoder = parse_layer(p.decoder, Layer::Decoder, per_layer, input)?;
    // The encoder sees pixels up to 255, the decoder centred codes down to -255 (|c - z| <= 255,
    // bounded by 256 to leave room).
    validate::accumulators(&encoder, input, 255)?;
    validate::accumulators(&decoder, latent, 256)?;
    Ok(Int8Ref {
        dims,
        shape: c.shape,
        leaky_slope: c.slope,
        latent_scale: p.latent_scale,
        latent_zero_point: p.latent_zero_point,
        encoder,
        decoder,
        entropy,
    })
}

fn parse_layer<'a>(
    layer: wire::QuantLayer<&'a [u8]>,
    which: Layer,
    weights: usize,
    outputs: usize,
) -> Result<QuantLayerRef<'a>, Error> {
    let (names, branches) = (which.names(), which.branches());
    let four = |tensor: &'static str, bytes: &'a [u8], count: usize| {
        let (chunks, rest) = bytes.as_chunks::<4>();
        validate::len(tensor, count * 4, bytes.len())?;
        debug_assert!(rest.is_empty() && chunks.len() == count);
        Ok::<_, Error>(chunks)
    };
    validate::len(names.weights, weights, layer.weights.len())?;
    let bias = four(names.bias, layer.bias, outputs)?;
    let multipliers = four(names.multipliers, layer.multipliers, outputs * branches)?;
    validate::len(names.shifts, outputs * branches, layer.shifts.len())?;
    for (m, &shift) in multipliers.iter().zip(layer.shifts) {
        Requant {
            multiplier: i32::from_le_bytes(*m),
            shift,
        }
        .validate()?;
    }
    Ok(QuantLayerRef {
        weights: bytemuck::cast_slice(layer.weights),
        bias,
        multipliers,
        shifts: layer.shifts,
    })
}
