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
#[cfg(all(ae_core_avx512, feature = "std"))]
pub(crate) mod vnni_packed;
#[cfg(ae_core_avx2)]
mod x86;
#[cfg(ae_core_avx512)]
mod x86_512;

use crate::error::ModelKind;
use crate::format::QuantLayerRef;
use crate::format::{Int8Ref, ModelRef};
#[cfg(not(ae_core_dsp))]
use crate::kernels::dot_i16_i8_rows;
use crate::kernels::dot_u8_i8_rows;
use crate::kernels::{dispatch, for_row_blocks, Isa};
use crate::{Aligned, Error};
use requant::Requant;

impl Int8Ref<'_> {
    /// Encodes `pixels` (length `input`) into `code` (length `latent`).
    pub fn encode(&self, pixels: &[u8], code: &mut [u8]) -> Result<(), Error> {
        let (input, latent) = self.dims.as_usize();
        Error::check_len(input, pixels.len())?;
        Error::check_len(latent, code.len())?;
        encode_unchecked(self, pixels, code);
        Ok(())
    }

    /// Decodes `code` (length `latent`) into `pixels` (length `input`); `centred` is scratch of
    /// length `latent`.
    pub fn decode(&self, code: &[u8], centred: &mut [i16], pixels: &mut [u8]) -> Result<(), Error> {
        let (input, latent) = self.dims.as_usize();
        Error::check_len(latent, code.len())?;
        Error::check_len(latent, centred.len())?;
        Error::check_len(input, pixels.len())?;
        decode_unchecked(self, code, centred, pixels);
        Ok(())
    }

    /// The real latent value a code byte stands for: `latent_scale * (code - zero_point)`.
    pub fn dequantize(&self, code: u8) -> f32 {
        self.latent_scale * (f32::from(code) - f32::from(self.latent_zero_point))
    }
}

/// The encoder's output for one channel: requantize with the branch the accumulator's sign picks.
#[inline(always)]
pub(super) fn encoder_code(
    layer: &QuantLayerRef<'_>,
    zero_point: i32,
    channel: usize,
    dot: i32,
) -> u8 {
    let acc = layer.bias(channel).unwrap_or(0).wrapping_add(dot);
    let branch = 2 * channel + usize::from(acc < 0);
    let rq = layer.requant(branch).unwrap_or(Requant::ZERO);
    rq.apply(acc).saturating_add(zero_point).clamp(0, 255) as u8
}

/// Shifts for which [`Requant::apply`] needs only the high word of the 64-bit product (every
/// exported model's decoder): the block paths write that formula lane by lane.
pub(super) const HIGH_WORD_SHIFTS: core::ops::RangeInclusive<u8> = 33..=62;

/// The decoder's output pixels for a block of channels starting at `first`.
///
/// When every shift in the block is in [`HIGH_WORD_SHIFTS`] (always, for exported models) the
/// requantization is written lane by lane in 32-bit arithmetic — the same formula
/// [`Requant::apply`] uses for those shifts — so the compiler can vectorize it; otherwise, channel
/// by channel.
#[inline(always)]
fn decoder_block<const R: usize>(
    layer: &QuantLayerRef<'_>,
    first: usize,
    dots: [i32; R],
    out: &mut [u8; R],
) {
    if let Some((bias, mult, shift)) = layer.block::<R>(first) {
        if shift.iter().all(|s| HIGH_WORD_SHIFTS.contains(s)) {
            let mut index = [0i32; R];
            for k in 0..R {
                let acc = i32::from_le_bytes(bias[k]).wrapping_add(dots[k]);
                let high = requant::mul_high(acc, i32::from_le_bytes(mult[k]));
                // |result| < 2^30, so adding the table's zero cannot overflow.
                index[k] = (((high >> (u32::from(shift[k]) - 33)) + 1) >> 1) + sigmoid_lut::ZERO;
            }
            for (o, i) in out.iter_mut().zip(index) {
                *o = sigmoid_lut::lookup(i);
            }
            return;
        }
    }
    decoder_block_general(layer, first, dots, out);
}

/// [`decoder_block`] channel by channel, for shifts outside [`HIGH_WORD_SHIFTS`] (no exported
/// model has them); out of line, so the common case keeps its registers.
#[inline(never)]
#[cold]
fn decoder_block_general<const R: usize>(
    layer: &QuantLayerRef<'_>,
    first: usize,
    dots: [i32; R],
    out: &mut [u8; R],
) {
    for (k, (o, dot)) in out.iter_mut().zip(dots).enumerate() {
        *o = decoder_pixel(layer, first + k, dot);
    }
}

/// The decoder's output pixel for one channel.
#[inline(always)]
pub(super) fn decoder_pixel(layer: &QuantLayerRef<'_>, channel: usize, dot: i32) -> u8 {
    let acc = layer.bias(channel).unwrap_or(0).wrapping_add(dot);
    let rq = layer.requant(channel).unwrap_or(Requant::ZERO);
    sigmoid_lut::lookup(rq.apply(acc).saturating_add(sigmoid_lut::ZERO))
}

// Lengths must already match the model; every access is through zips, `get` and checked slicing,
// so a mismatch could only shorten the output, never panic.
/// Rows per block in the generic loops. On Cortex-M the assembly kernels take rows four at a time
/// ([`row_quads`]) and the generic loop only sees the (up to three) rows left over, one by one.
/// Elsewhere (hosts without AVX2) four for the encoder's long rows and eight for the decoder's
/// short ones, which LLVM vectorizes better than four.
#[cfg(target_arch = "arm")]
const ROWS: usize = 1;
#[cfg(not(target_arch = "arm"))]
const ROWS: usize = 4;
#[cfg(target_arch = "arm")]
const DECODE_ROWS: usize = 1;
#[cfg(not(target_arch = "arm"))]
const DECODE_ROWS: usize = 8;

/// Encoder dot products for a block of rows.
#[inline(always)]
fn encoder_dots(rows: [&[i8]; ROWS], pixels: &[u8]) -> [i32; ROWS] {
    dot_u8_i8_rows(rows, pixels)
}

/// Decoder dot products for a block of rows; `centred` is in [`prepare_codes`] order.
#[inline(always)]
fn decoder_dots(rows: [&[i8]; DECODE_ROWS], centred: &[i16]) -> [i32; DECODE_ROWS] {
    #[cfg(ae_core_dsp)]
    return rows.map(|row| crate::kernels::dsp::dot_paired_i16_i8(centred, row));
    #[cfg(not(ae_core_dsp))]
    dot_i16_i8_rows(rows, centred)
}

/// Centres the code on its zero point (and, for the DSP kernels, pairs it up).
#[inline(always)]
pub(super) fn prepare_codes(code: &[u8], zero_point: u8, centred: &mut [i16]) {
    for (c, &q) in centred.iter_mut().zip(code) {
        *c = i16::from(q) - i16::from(zero_point);
    }
    #[cfg(ae_core_dsp)]
    crate::kernels::dsp::pair_codes_for_smlad(centred);
}

/// The int8 encoder over run-time sizes. Lengths must already match the model; every access is
/// through zips, `get` and checked slicing, so a mismatch could only shorten the output.
#[inline]
pub fn encode_unchecked(m: &Int8Ref<'_>, pixels: &[u8], code: &mut [u8]) {
    encode_with(Isa::detect(), m, pixels, code)
}

/// [`encode_unchecked`] on a chosen instruction set (tests compare them all).
#[inline]
pub fn encode_with(isa: Isa, m: &Int8Ref<'_>, pixels: &[u8], code: &mut [u8]) {
    dispatch!(isa,
        avx512 => x86_512::encode(m, pixels, code),
        avx2 => x86::encode(m, pixels, code),
        portable => encode_portable(m, pixels, code),
    )
}

/// The portable build of [`encode_unchecked`] (tests compare the two).
#[inline(always)]
pub fn encode_portable(m: &Int8Ref<'_>, pixels: &[u8], code: &mut [u8]) {
    let layer = &m.encoder;
    let zero_point = i32::from(m.latent_zero_point);
    #[cfg(target_arch = "arm")]
    let (layer_rest, code, first) = encode_quads_arm(layer, zero_point, pixels, code);
    #[cfg(not(target_arch = "arm"))]
    let (layer_rest, first) = (layer.weights, 0);
    for_row_blocks::<i8, u8, ROWS>(
        layer_rest,
        pixels.len(),
        code,
        |start, rows, out| {
            let dots = encoder_dots(rows, pixels);
            for (k, (o, dot)) in out.iter_mut().zip(dots).enumerate() {
                *o = encoder_code(layer, zero_point, first + start + k, dot);
            }
        },
        |j, row, o| {
            *o = encoder_code(
                layer,
                zero_point,
                first + j,
                encoder_dots([row; ROWS], pixels)[0],
            )
        },
    );
}

/// Largest image whose pixels the DSP encoder pairs on the stack (2 KiB); larger ones use the
/// kernel that splits the pixels itself.
#[cfg(ae_core_dsp)]
const PAIRED_PIXELS_MAX: usize = 1024;

/// The Cortex-M encoder's main loop, four code bytes at a time (see [`row_quads`]).
#[cfg(target_arch = "arm")]
#[inline(always)]
fn encode_quads_arm<'w, 'c>(
    layer: &QuantLayerRef<'w>,
    zero_point: i32,
    pixels: &[u8],
    code: &'c mut [u8],
) -> (&'w [i8], &'c mut [u8], usize) {
    // On the DSP path the pixels are widened and paired once per image (up to
    // `PAIRED_PIXELS_MAX`, on the stack), then every group of four rows reads them like codes.
    #[cfg(ae_core_dsp)]
    let mut scratch = crate::Aligned([core::mem::MaybeUninit::<i16>::uninit(); PAIRED_PIXELS_MAX]);
    #[cfg(ae_core_dsp)]
    let paired = crate::kernels::dsp::pair_pixels_for_smlad(pixels, &mut scratch.0);
    row_quads(layer.weights, pixels.len(), code, |first, block, out| {
        #[cfg(ae_core_dsp)]
        let dots = match paired {
            Some(paired) => crate::kernels::dsp::dot4_paired_i16_i8(paired, block),
            None => four_row_dots_u8(pixels, block),
        };
        #[cfg(not(ae_core_dsp))]
        let dots = four_row_dots_u8(pixels, block);
        for (k, (o, dot)) in out.iter_mut().zip(dots).enumerate() {
            *o = encoder_code(layer, zero_point, first + k, dot);
        }
    })
}

/// The int8 decoder over run-time sizes; `centred` is scratch of the code's length. Lengths must
/// already match the model (see [`encode_unchecked`]).
#[inline]
pub fn decode_unchecked(m: &Int8Ref<'_>, code: &[u8], centred: &mut [i16], pixels: &mut [u8]) {
    decode_with(Isa::detect(), m, code, centred, pixels)
}

/// [`decode_unchecked`] on a chosen instruction set (tests compare them all).
#[inline]
pub fn decode_with(isa: Isa, m: &Int8Ref<'_>, code: &[u8], centred: &mut [i16], pixels: &mut [u8]) {
    dispatch!(isa,
        avx512 => x86_512::decode(m, code, centred, pixels),
        avx2 => x86::decode(m, code, centred, pixels),
        portable => decode_portable(m, code, centred, pixels),
    )
}

/// The portable build of [`decode_unchecked`] (tests compare the two).
#[inline(always)]
pub fn decode_portable(m: &Int8Ref<'_>, code: &[u8], centred: &mut [i16], pixels: &mut [u8]) {
    prepare_codes(code, m.latent_zero_point, centred);
    let centred = &*centred;
    let layer = &m.decoder;
    #[cfg(target_arch = "arm")]
    let (layer_rest, pixels, first) =
        decode_quads_arm(layer, code, m.latent_zero_point, centred, pixels);
    #[cfg(not(target_arch = "arm"))]
    let (layer_rest, first) = (layer.weights, 0);
    for_row_blocks::<i8, u8, DECODE_ROWS>(
        layer_rest,
        centred.len(),
        pixels,
        |start, rows, out| decoder_block(layer, first + start, decoder_dots(rows, centred), out),
        |i, row, o| {
            *o = decoder_pixel(
                layer,
                first + i,
                decoder_dots([row; DECODE_ROWS], centred)[0],
            )
        },
    );
}

/// The Cortex-M decoder's main loop, four pixels at a time (see [`row_quads`]). The DSP kernel
/// reads the paired centred codes; the ARMv6-M one centres the code bytes itself.
#[cfg(target_arch = "arm")]
#[inline(always)]
fn decode_quads_arm<'w, 'p>(
    layer: &QuantLayerRef<'w>,
    code: &[u8],
    zero_point: u8,
    centred: &[i16],
    pixels: &'p mut [u8],
) -> (&'w [i8], &'p mut [u8], usize) {
    let row_len = centred.len().max(1);
    let quads = layer
        .weights
        .chunks_exact(4 * row_len)
        .zip(layer.bias.as_chunks::<4>().0)
        .zip(layer.multipliers.as_chunks::<4>().0)
        .zip(layer.shifts.as_chunks::<4>().0);
    let mut done = 0;
    for (out, (((block, bias), mult), shift)) in pixels.as_chunks_mut::<4>().0.iter_mut().zip(quads)
    {
        let dots = four_row_dots_code(code, zero_point, centred, block);
        if all_high_word(shift) {
            for k in 0..4 {
                let acc = i32::from_le_bytes(bias[k]).wrapping_add(dots[k]);
                let high = requant::mul_high(acc, i32::from_le_bytes(mult[k]));
                // `Requant::apply` for these shifts, plus the table's zero: (y + 1) / 2 + ZERO
                // is (y + 1 + 2 ZERO) / 2, and |y| < 2^30 leaves room for the sum.
                let y = high >> (u32::from(shift[k]) - 33);
                out[k] = sigmoid_lut::lookup((y + 1 + 2 * sigmoid_lut::ZERO) >> 1);
            }
        } else {
            decoder_block_general(layer, done, dots, out);
        }
        done += 4;
    }
    let rest_weights = layer.weights.get(done * row_len..).unwrap_or(&[]);
    let rest_out = match pixels.get_mut(done..) {
        Some(o) => o,
        None => &mut [],
    };
    (rest_weights, rest_out, done)
}

/// Whether all four shifts are in [`HIGH_WORD_SHIFTS`], given that each is in `1..=62` (the
/// parser's promise): adding 95 to a byte sets its top bit exactly when it is at least 33, and
/// never carries into the next byte. Five instructions instead of twelve.
#[cfg(target_arch = "arm")]
#[inline(always)]
fn all_high_word(shifts: &[u8; 4]) -> bool {
    const TOP_BITS: u32 = 0x8080_8080;
    u32::from_le_bytes(*shifts).wrapping_add(0x5F5F_5F5F) & TOP_BITS == TOP_BITS
}

/// Walks a layer's weights four output rows at a time: `quad(first, block, out)` gets the index
/// of the first row, the four rows' `4 * row_len` weights and their four outputs. Returns the
/// weights and outputs it did not reach (up to three last rows) and the index of the first of them.
#[cfg(target_arch = "arm")]
#[inline(always)]
fn row_quads<'w, 'o>(
    weights: &'w [i8],
    row_len: usize,
    out: &'o mut [u8],
    mut quad: impl FnMut(usize, &[i8], &mut [u8; 4]),
) -> (&'w [i8], &'o mut [u8], usize) {
    let row_len = row_len.max(1);
    let mut done = 0;
    for (o, w) in out
        .as_chunks_mut::<4>()
        .0
        .iter_mut()
        .zip(weights.chunks_exact(4 * row_len))
    {
        quad(done, w, o);
        done += 4;
    }
    let rest_weights = weights.get(done * row_len..).unwrap_or(&[]);
    let rest_out = match out.get_mut(done..) {
        Some(o) => o,
        None => &mut [],
    };
    (rest_weights, rest_out, done)
}

/// Encoder dot products of four consecutive rows (`block`) with the pixels.
#[cfg(target_arch = "arm")]
#[inline(always)]
fn four_row_dots_u8(pixels: &[u8], block: &[i8]) -> [i32; 4] {
    #[cfg(ae_core_dsp)]
    return crate::kernels::dsp::dot4_u8_i8(pixels, block);
    #[cfg(ae_core_v6m)]
    return crate::kernels::v6m::dot4_u8_i8(pixels, split_rows(block, pixels.len()));
    #[cfg(not(any(ae_core_dsp, ae_core_v6m)))]
    dot_u8_i8_rows(split_rows(block, pixels.len()), pixels)
}

/// Decoder dot products of four consecutive rows (`block`) with the centred code.
#[cfg(target_arch = "arm")]
#[inline(always)]
#[allow(unused_variables)]
fn four_row_dots_code(code: &[u8], zero_point: u8, centred: &[i16], block: &[i8]) -> [i32; 4] {
    #[cfg(ae_core_dsp)]
    return crate::kernels::dsp::dot4_paired_i16_i8(centred, block);
    #[cfg(ae_core_v6m)]
    return crate::kernels::v6m::dot4_code_i8(code, zero_point, split_rows(block, code.len()));
    #[cfg(not(any(ae_core_dsp, ae_core_v6m)))]
    dot_i16_i8_rows(split_rows(block, centred.len()), centred)
}

/// The four rows of `row_len` weights in `block` (empty rows where it is short).
#[cfg(target_arch = "arm")]
#[inline(always)]
#[allow(dead_code)]
fn split_rows(block: &[i8], row_len: usize) -> [&[i8]; 4] {
    core::array::from_fn(|r| block.get(r * row_len..(r + 1) * row_len).unwrap_or(&[]))
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
        // Word-aligned, so the Cortex-M DSP kernel can read the codes two at a time.
        let mut centred = Aligned([0i16; LATENT]);
        decode_unchecked(&self.model, code, &mut centred.0, pixels);
    }
}
