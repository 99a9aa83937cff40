//! Models prepared for a host CPU (`std` feature): the weights copied once into 64-byte aligned
//! memory, the instruction set chosen once, and batch entry points.
//!
//! Why: a model file's tensors sit wherever the header leaves them (4-byte aligned), so on the
//! host every 64-byte vector load of a weight row straddles two cache lines. With AVX-512 that
//! was a quarter of the float path's time (5.7 µs vs 4.1 µs for encode plus decode of the 784/64
//! model, measured on an Intel Xeon with AVX-512). A board reads the borrowed bytes in place
//! (flash is not cached that way, and it has no room for a copy); a host has the memory, and
//! pays the copy (about 400 KB for the float model) once, as XNNPACK packs its weights once at
//! load time. The layout stays the file's row-major one, so the same kernels run on either, and
//! the results are the borrowed model's bit for bit (the tests compare them).

extern crate std;

use std::vec::Vec;

use crate::format::{FloatRef, Int8Ref};
use crate::int8::{decode_with, encode_with};
use crate::kernels::{
    decode_f32_images_with, decode_f32_with, encode_f32_images_with, encode_f32_with, Isa,
};
use crate::Error;

/// Images per pass of the float batch kernels: each block of weights is read once for them all
/// (sixteen measured 4% faster than eight in three paired runs).
const IMAGES: usize = 16;

/// 64 bytes, the size and alignment of a cache line and of an AVX-512 register.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; 64]);

// SAFETY: `Line` is 64 bytes with no padding (`[u8; 64]` at alignment 64), so every bit pattern
// is valid and all-zero is a valid value.
unsafe impl bytemuck::Zeroable for Line {}
// SAFETY: as above; it is `Copy`, `'static` and `repr(C)`.
unsafe impl bytemuck::Pod for Line {}

/// An owned, 64-byte aligned copy of a slice of plain numbers.
struct AlignedCopy<T> {
    lines: Vec<Line>,
    len: usize,
    _type: core::marker::PhantomData<T>,
}

impl<T: bytemuck::Pod> AlignedCopy<T> {
    fn new(values: &[T]) -> Self {
        let bytes: &[u8] = bytemuck::cast_slice(values);
        let mut lines = std::vec![Line([0; 64]); bytes.len().div_ceil(64)];
        for (line, chunk) in lines.iter_mut().zip(bytes.chunks(64)) {
            line.0[..chunk.len()].copy_from_slice(chunk);
        }
        AlignedCopy {
            lines,
            len: values.len(),
            _type: core::marker::PhantomData,
        }
    }

    fn get(&self) -> &[T] {
        let bytes: &[u8] = bytemuck::cast_slice(&self.lines);
        // The lines hold exactly the copied values' bytes first, at an alignment of 64, which
        // satisfies any `T` of this crate (`f32`, `i8`).
        bytemuck::cast_slice(
            bytes
                .get(..self.len * core::mem::size_of::<T>())
                .unwrap_or(&[]),
        )
    }
}

/// Runs `pass` on the inputs in `x` (`per_input` values each) and their outputs in `out`
/// (`per_output` each), [`IMAGES`] at a time.
fn in_passes(
    x: &[f32],
    out: &mut [f32],
    per_input: usize,
    per_output: usize,
    mut pass: impl FnMut(&[&[f32]], &mut [&mut [f32]]),
) {
    // The parser refuses empty layers, so neither is 0 (and `out` is always written).
    debug_assert!(per_input > 0 && per_output > 0);
    let chunks = x
        .chunks(IMAGES * per_input.max(1))
        .zip(out.chunks_mut(IMAGES * per_output.max(1)));
    for (x, out) in chunks {
        let xs: Vec<&[f32]> = x.chunks_exact(per_input.max(1)).collect();
        let mut outs: Vec<&mut [f32]> = out.chunks_exact_mut(per_output.max(1)).collect();
        pass(&xs, &mut outs);
    }
}

/// Checks that `len` values of `per_image` each were given for `images`, and returns `images`.
fn batch_len(found: usize, per_image: usize, images: usize) -> Result<(), Error> {
    match images.checked_mul(per_image) {
        Some(expected) if expected == found => Ok(()),
        Some(expected) => Err(Error::BufferSize { expected, found }),
        None => Err(Error::BufferSize {
            expected: usize::MAX,
            found,
        }),
    }
}

/// A float model prepared for this CPU: [`FloatRef::encode`] and [`FloatRef::decode`] with the
/// weights in aligned memory, plus batches.
pub struct PreparedFloat<'a> {
    model: FloatRef<'a>,
    isa: Isa,
    encoder_weights: AlignedCopy<f32>,
    decoder_weights: AlignedCopy<f32>,
    /// The encoder with each block of eight rows as one stream, for AVX-512
    /// (`kernels/x86_512.rs`), when its sizes are whole blocks.
    #[cfg(ae_core_avx512)]
    packed_encoder: Option<AlignedCopy<f32>>,
    /// The decoder with sixteen rows to a register, for AVX-512 (`kernels/x86_512.rs`), when
    /// its sizes are whole blocks.
    #[cfg(ae_core_avx512)]
    packed_decoder: Option<AlignedCopy<f32>>,
}

impl<'a> PreparedFloat<'a> {
    /// Copies the weights of `model` and picks the best instruction set of this CPU.
    pub fn new(model: FloatRef<'a>) -> Self {
        Self::with_isa(model, Isa::detect())
    }

    /// As [`PreparedFloat::new`], on a chosen instruction set (tests compare them all).
    pub fn with_isa(model: FloatRef<'a>, isa: Isa) -> Self {
        #[cfg(ae_core_avx512)]
        let packed_decoder = {
            use crate::kernels::x86_512::{pack_decoder, BLOCK};
            let (input, latent) = model.dims.as_usize();
            (isa.is_avx512()
                && input > 0
                && latent > 0
                && input.is_multiple_of(BLOCK)
                && latent.is_multiple_of(crate::kernels::LANES))
            .then(|| AlignedCopy::new(&pack_decoder(model.decoder_weights, input, latent)))
        };
        #[cfg(ae_core_avx512)]
        let packed_encoder = {
            use crate::kernels::x86_512::{pack_encoder, ENCODER_ROWS};
            let (input, latent) = model.dims.as_usize();
            (isa.is_avx512()
                && input > 0
                && latent > 0
                && input.is_multiple_of(crate::kernels::LANES)
                && latent.is_multiple_of(ENCODER_ROWS))
            .then(|| AlignedCopy::new(&pack_encoder(model.encoder_weights, latent, input)))
        };
        PreparedFloat {
            model,
            isa,
            encoder_weights: AlignedCopy::new(model.encoder_weights),
            decoder_weights: AlignedCopy::new(model.decoder_weights),
            #[cfg(ae_core_avx512)]
            packed_encoder,
            #[cfg(ae_core_avx512)]
            packed_decoder,
        }
    }

    /// The model it was prepared from.
    pub fn model(&self) -> &FloatRef<'a> {
        &self.model
    }

    /// Encodes `x` (length `input`) into `out` (length `latent`).
    pub fn encode(&self, x: &[f32], out: &mut [f32]) -> Result<(), Error> {
        let (input, latent) = self.model.dims.as_usize();
        batch_len(x.len(), input, 1)?;
        batch_len(out.len(), latent, 1)?;
        self.encode_unchecked(x, out);
        Ok(())
    }

    /// Decodes `h` (length `latent`) into `out` (length `input`).
    pub fn decode(&self, h: &[f32], out: &mut [f32]) -> Result<(), Error> {
        let (input, latent) = self.model.dims.as_usize();
        batch_len(h.len(), latent, 1)?;
        batch_len(out.len(), input, 1)?;
        self.decode_unchecked(h, out);
        Ok(())
    }

    /// Encodes `images` images (`input` values each, one after the other) into their codes.
    pub fn encode_batch(&self, images: usize, x: &[f32], out: &mut [f32]) -> Result<(), Error> {
        let (input, latent) = self.model.dims.as_usize();
        batch_len(x.len(), input, images)?;
        batch_len(out.len(), latent, images)?;
        #[cfg(ae_core_avx512)]
        if let Some(packed) = &self.packed_encoder {
            let m = &self.model;
            in_passes(x, out, input, latent, |xs, outs| {
                // SAFETY: the packing exists only on AVX-512 (which this CPU then has), for
                // whole blocks of rows and inputs; it is this model's encoder, 64-byte aligned;
                // `xs` and `outs` pair up with the lengths checked above.
                unsafe {
                    crate::kernels::x86_512::encode_f32_packed_images(
                        packed.get(),
                        m.encoder_bias,
                        xs,
                        m.leaky_slope,
                        outs,
                    )
                }
            });
            return Ok(());
        }
        let m = &self.model;
        in_passes(x, out, input, latent, |xs, outs| {
            encode_f32_images_with(
                self.isa,
                self.encoder_weights.get(),
                m.encoder_bias,
                xs,
                m.leaky_slope,
                outs,
            )
        });
        Ok(())
    }

    /// Decodes `images` codes (`latent` values each) into their images.
    pub fn decode_batch(&self, images: usize, h: &[f32], out: &mut [f32]) -> Result<(), Error> {
        let (input, latent) = self.model.dims.as_usize();
        batch_len(h.len(), latent, images)?;
        batch_len(out.len(), input, images)?;
        #[cfg(ae_core_avx512)]
        if let Some(packed) = &self.packed_decoder {
            in_passes(h, out, latent, input, |hs, outs| {
                // SAFETY: as in `decode_unchecked`, for several codes.
                unsafe {
                    crate::kernels::x86_512::decode_f32_packed_images(
                        packed.get(),
                        self.model.decoder_bias,
                        hs,
                        outs,
                    )
                }
            });
            return Ok(());
        }
        in_passes(h, out, latent, input, |hs, outs| {
            decode_f32_images_with(
                self.isa,
                self.decoder_weights.get(),
                self.model.decoder_bias,
                hs,
                outs,
            )
        });
        Ok(())
    }

    fn encode_unchecked(&self, x: &[f32], out: &mut [f32]) {
        let m = &self.model;
        #[cfg(ae_core_avx512)]
        if let Some(packed) = &self.packed_encoder {
            // SAFETY: as in `encode_batch`, for one image; the lengths were checked by the
            // callers.
            unsafe {
                crate::kernels::x86_512::encode_f32_packed_images(
                    packed.get(),
                    m.encoder_bias,
                    &[x],
                    m.leaky_slope,
                    &mut [out],
                )
            };
            return;
        }
        encode_f32_with(
            self.isa,
            self.encoder_weights.get(),
            m.encoder_bias,
            x,
            m.leaky_slope,
            out,
        );
    }

    fn decode_unchecked(&self, h: &[f32], out: &mut [f32]) {
        let m = &self.model;
        #[cfg(ae_core_avx512)]
        if let Some(packed) = &self.packed_decoder {
            // SAFETY: the packing exists only on AVX-512 (which this CPU then has), for whole
            // blocks of rows and inputs; it is this model's decoder, 64-byte aligned; the
            // lengths were checked by the callers.
            unsafe {
                crate::kernels::x86_512::decode_f32_packed(packed.get(), m.decoder_bias, h, out)
            };
            return;
        }
        decode_f32_with(self.isa, self.decoder_weights.get(), m.decoder_bias, h, out);
    }
}

/// An int8 model prepared for this CPU: [`Int8Ref::encode`] and [`Int8Ref::decode`] with the
/// weights in aligned memory, plus batches.
pub struct PreparedInt8<'a> {
    model: Int8Ref<'a>,
    isa: Isa,
    encoder_weights: AlignedCopy<i8>,
    decoder_weights: AlignedCopy<i8>,
    #[cfg(ae_core_avx512)]
    packed: Option<Packed>,
}

/// Both layers packed for the AVX-512 VNNI kernels (`int8/vnni_packed.rs`).
#[cfg(ae_core_avx512)]
struct Packed {
    encoder: AlignedCopy<i8>,
    encoder_records: crate::int8::vnni_packed::EncoderRecords,
    decoder: AlignedCopy<i8>,
    decoder_bias: Vec<i32>,
    table: Vec<u32>,
}

#[cfg(ae_core_avx512)]
impl Packed {
    fn new(m: &Int8Ref<'_>, isa: Isa) -> Option<Self> {
        use crate::int8::vnni_packed::{fits, folded_bias, pack};
        if !(isa.is_avx512() && fits(m)) {
            return None;
        }
        let (input, latent) = m.dims.as_usize();
        Some(Packed {
            encoder: AlignedCopy::new(&pack(m.encoder.weights, latent, input)),
            encoder_records: crate::int8::vnni_packed::EncoderRecords::new(&m.encoder, latent)?,
            decoder: AlignedCopy::new(&pack(m.decoder.weights, input, latent)),
            decoder_bias: folded_bias(&m.decoder, latent, m.latent_zero_point),
            table: crate::sigmoid_lut::TABLE
                .iter()
                .map(|&v| u32::from(v))
                .collect(),
        })
    }
}

impl<'a> PreparedInt8<'a> {
    /// Copies the weights of `model` and picks the best instruction set of this CPU.
    pub fn new(model: Int8Ref<'a>) -> Self {
        Self::with_isa(model, Isa::detect())
    }

    /// As [`PreparedInt8::new`], on a chosen instruction set (tests compare them all).
    pub fn with_isa(model: Int8Ref<'a>, isa: Isa) -> Self {
        PreparedInt8 {
            model,
            isa,
            encoder_weights: AlignedCopy::new(model.encoder.weights),
            decoder_weights: AlignedCopy::new(model.decoder.weights),
            #[cfg(ae_core_avx512)]
            packed: Packed::new(&model, isa),
        }
    }

    /// The model it was prepared from.
    pub fn model(&self) -> &Int8Ref<'a> {
        &self.model
    }

    /// The model with its weights read from the aligned copies.
    fn aligned(&self) -> Int8Ref<'_> {
        let mut m = self.model;
        m.encoder.weights = self.encoder_weights.get();
        m.decoder.weights = self.decoder_weights.get();
        m
    }

    /// Encodes `pixels` (length `input`) into `code` (length `latent`).
    pub fn encode(&self, pixels: &[u8], code: &mut [u8]) -> Result<(), Error> {
        self.encode_batch(1, pixels, code)
    }

    /// Decodes `code` (length `latent`) into `pixels` (length `input`).
    pub fn decode(&self, code: &[u8], pixels: &mut [u8]) -> Result<(), Error> {
        self.decode_batch(1, code, pixels)
    }

    /// Encodes `images` images (`input` pixels each, one after the other) into their codes.
    pub fn encode_batch(
        &self,
        images: usize,
        pixels: &[u8],
        codes: &mut [u8],
    ) -> Result<(), Error> {
        let (input, latent) = self.model.dims.as_usize();
        batch_len(pixels.len(), input, images)?;
        batch_len(codes.len(), latent, images)?;
        #[cfg(ae_core_avx512)]
        if let Some(packed) = &self.packed {
            use crate::int8::vnni_packed::{encode, encode_images, IMAGES};
            let records = &packed.encoder_records;
            let whole = pixels.len() / (IMAGES * input) * IMAGES;
            let (pixel_groups, pixel_rest) = pixels.split_at(whole * input);
            let (code_groups, code_rest) = codes.split_at_mut(whole * latent);
            for (p, c) in pixel_groups
                .chunks_exact(IMAGES * input)
                .zip(code_groups.chunks_exact_mut(IMAGES * latent))
            {
                let mut c = c.chunks_exact_mut(latent);
                let c: [&mut [u8]; IMAGES] = core::array::from_fn(|_| c.next().unwrap_or_default());
                let mut p = p.chunks_exact(input);
                let p: [&[u8]; IMAGES] = core::array::from_fn(|_| p.next().unwrap_or_default());
                // SAFETY: as below, for four images at a time.
                unsafe { encode_images(&self.model, packed.encoder.get(), records, p, c) };
            }
            for (p, c) in pixel_rest
                .chunks_exact(input)
                .zip(code_rest.chunks_exact_mut(latent))
            {
                // SAFETY: `packed` exists only when the instruction set is AVX-512 with VNNI
                // (which this CPU then has) and `fits` the model; it is this model's encoder
                // packed; the lengths were checked above.
                unsafe { encode(&self.model, packed.encoder.get(), records, p, c) };
            }
            return Ok(());
        }
        let m = self.aligned();
        for (p, c) in pixels
            .chunks_exact(input)
            .zip(codes.chunks_exact_mut(latent))
        {
            encode_with(self.isa, &m, p, c);
        }
        Ok(())
    }

    /// Decodes `images` codes (`latent` bytes each) into their images.
    pub fn decode_batch(
        &self,
        images: usize,
        codes: &[u8],
        pixels: &mut [u8],
    ) -> Result<(), Error> {
        let (input, latent) = self.model.dims.as_usize();
        batch_len(codes.len(), latent, images)?;
        batch_len(pixels.len(), input, images)?;
        #[cfg(ae_core_avx512)]
        if let Some(packed) = &self.packed {
            use crate::int8::vnni_packed::{decode, decode_images, IMAGES};
            let (bias, table) = (&packed.decoder_bias, &packed.table);
            let whole = codes.len() / (IMAGES * latent) * IMAGES;
            let (code_groups, code_rest) = codes.split_at(whole * latent);
            let (pixel_groups, pixel_rest) = pixels.split_at_mut(whole * input);
            for (c, p) in code_groups
                .chunks_exact(IMAGES * latent)
                .zip(pixel_groups.chunks_exact_mut(IMAGES * input))
            {
                let mut p = p.chunks_exact_mut(input);
                let p: [&mut [u8]; IMAGES] = core::array::from_fn(|_| p.next().unwrap_or_default());
                let mut c = c.chunks_exact(latent);
                let c: [&[u8]; IMAGES] = core::array::from_fn(|_| c.next().unwrap_or_default());
                // SAFETY: as below, for four codes at a time.
                unsafe { decode_images(&self.model, packed.decoder.get(), bias, table, c, p) };
            }
            for (c, p) in code_rest
                .chunks_exact(latent)
                .zip(pixel_rest.chunks_exact_mut(input))
            {
                // SAFETY: as in `encode_batch`, for the decoder's packing, its folded bias and
                // the widened table.
                unsafe { decode(&self.model, packed.decoder.get(), bias, table, c, p) };
            }
            return Ok(());
        }
        let m = self.aligned();
        let mut centred = std::vec![0i16; latent];
        for (c, p) in codes
            .chunks_exact(latent)
            .zip(pixels.chunks_exact_mut(input))
        {
            decode_with(self.isa, &m, c, &mut centred, p);
        }
        Ok(())
    }
}
