//! Every instruction set this CPU has (`kernels::Isa`: portable, AVX2, AVX-512 with VNNI) gives
//! the portable kernels' results bit for bit, for any layer shape, weights, inputs and
//! requantization shifts (property tests), through the model read in place and, with the `std`
//! feature, through the prepared models and their batches.
//!
//! `cargo test -p ae-core --features std` runs these against the vector kernels (and
//! `cargo test --workspace` does too, since the workspace turns `std` on); without `std` only the
//! portable kernels exist and the comparison is with themselves.

#[cfg(feature = "std")]
use ae_core::format::FloatTensors;
use ae_core::format::{self, Int8Tensors, ModelRef, QuantLayerTensors};
use ae_core::int8_kernels;
use ae_core::kernels::{self, Isa};
use ae_core::requant::Requant;
use ae_core::Aligned;
use proptest::prelude::*;

mod common;
use common::stream;

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// An int8 model of `input -> latent` with pseudo-random weights and biases, and requantization
/// shifts drawn around `shift` (so that some fall at or below 32, where the vector kernels need
/// their general path).
fn int8_model(input: usize, latent: usize, seed: u64, shift: u8) -> Vec<u8> {
    let mut next = stream(seed);
    let mut weights = |n: usize| -> Vec<i8> { (0..n).map(|_| next() as u8 as i8).collect() };
    let (enc_w, dec_w) = (weights(input * latent), weights(input * latent));
    let mut next = stream(seed ^ 0x5555);
    let mut requant = |spread: u64| {
        let m = (1u64 << 30) + next() % (1 << 30);
        Requant {
            multiplier: m as i32,
            shift: (u64::from(shift) + next() % spread).clamp(1, 62) as u8,
        }
    };
    let enc: Vec<Requant> = (0..2 * latent).map(|_| requant(8)).collect();
    let dec: Vec<Requant> = (0..input).map(|_| requant(8)).collect();
    let enc_bias: Vec<i32> = (0..latent as i32).map(|j| 997 * j - 20_000).collect();
    let dec_bias: Vec<i32> = (0..input as i32).map(|i| 331 * (i % 17) - 3_000).collect();
    let tensors = Int8Tensors {
        latent_scale: 0.05,
        latent_zero_point: (seed % 256) as u8,
        encoder: QuantLayerTensors {
            weights: &enc_w,
            bias: &enc_bias,
            multipliers: &enc.iter().map(|r| r.multiplier).collect::<Vec<_>>(),
            shifts: &enc.iter().map(|r| r.shift).collect::<Vec<_>>(),
        },
        decoder: QuantLayerTensors {
            weights: &dec_w,
            bias: &dec_bias,
            multipliers: &dec.iter().map(|r| r.multiplier).collect::<Vec<_>>(),
            shifts: &dec.iter().map(|r| r.shift).collect::<Vec<_>>(),
        },
    };
    let shape = format::Shape::implied_by(input as u32);
    let mut file = vec![0u8; format::int8_file_len(shape, latent as u32, false).unwrap()];
    let n = format::write_int8(input as u32, latent as u32, 0.3, &tensors, &mut file).unwrap();
    assert_eq!(n, file.len());
    file
}

/// The bytes of `file` at a 16-byte aligned address.
fn aligned(file: &[u8]) -> Box<Aligned<[u8; 1 << 19]>> {
    let mut buf = Box::new(Aligned([0u8; 1 << 19]));
    buf.0[..file.len()].copy_from_slice(file);
    buf
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn float_layers_agree_on_every_instruction_set(
        input in 1usize..200, latent in 1usize..40, seed in any::<u64>(),
    ) {
        let mut next = stream(seed);
        let mut values = |n: usize, scale: f32| -> Vec<f32> {
            (0..n).map(|_| ((next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * scale).collect()
        };
        let (ew, eb, dw, db) = (
            values(input * latent, 0.5),
            values(latent, 1.0),
            values(input * latent, 2.0),
            values(input, 1.0),
        );
        let x: Vec<f32> = values(input, 2.0).iter().map(|v| v.abs().min(1.0)).collect();
        let (mut h0, mut y0) = (vec![0.0f32; latent], vec![0.0f32; input]);
        kernels::encode_f32_portable(&ew, &eb, &x, 0.3, &mut h0);
        kernels::decode_f32_portable(&dw, &db, &h0, &mut y0);
        for isa in Isa::available() {
            let (mut h, mut y) = (vec![0.0f32; latent], vec![0.0f32; input]);
            kernels::encode_f32_with(isa, &ew, &eb, &x, 0.3, &mut h);
            kernels::decode_f32_with(isa, &dw, &db, &h0, &mut y);
            prop_assert_eq!(bits(&h), bits(&h0), "{} encoder {}/{}", isa.name(), input, latent);
            prop_assert_eq!(bits(&y), bits(&y0), "{} decoder {}/{}", isa.name(), input, latent);
        }
        #[cfg(feature = "std")]
        prepared_float_agrees(input, latent, [&ew, &eb, &dw, &db], &x)?;
    }

    #[test]
    fn int8_layers_agree_on_every_instruction_set(
        input in 1usize..200, latent in 1usize..40, seed in any::<u64>(), shift in 20u8..50,
    ) {
        let file = int8_model(input, latent, seed, shift);
        let buf = aligned(&file);
        let Ok(ModelRef::Int8(m)) = ModelRef::parse(&buf.0[..file.len()]) else {
            panic!("not an int8 model")
        };
        let mut next = stream(seed ^ 0xabcd);
        let images = 9;
        let pixels: Vec<u8> = (0..images * input).map(|_| next() as u8).collect();
        let (mut want_codes, mut want_pixels) = (vec![0u8; images * latent], vec![0u8; images * input]);
        for k in 0..images {
            let code = &mut want_codes[k * latent..][..latent];
            int8_kernels::encode_portable(&m, &pixels[k * input..][..input], code);
            let out = &mut want_pixels[k * input..][..input];
            int8_kernels::decode_portable(&m, code, &mut vec![0; latent], out);
        }
        for isa in Isa::available() {
            for k in 0..images {
                let mut code = vec![0u8; latent];
                int8_kernels::encode_with(isa, &m, &pixels[k * input..][..input], &mut code);
                prop_assert_eq!(&code[..], &want_codes[k * latent..][..latent], "{} encoder", isa.name());
                let mut out = vec![0u8; input];
                int8_kernels::decode_with(isa, &m, &code, &mut vec![0; latent], &mut out);
                prop_assert_eq!(&out[..], &want_pixels[k * input..][..input], "{} decoder", isa.name());
            }
            #[cfg(feature = "std")]
            {
                let p = ae_core::prepared::PreparedInt8::with_isa(m, isa);
                let (mut codes, mut back) = (vec![0u8; images * latent], vec![0u8; images * input]);
                p.encode_batch(images, &pixels, &mut codes).unwrap();
                p.decode_batch(images, &codes, &mut back).unwrap();
                prop_assert_eq!(&codes, &want_codes, "{} prepared encoder", isa.name());
                prop_assert_eq!(&back, &want_pixels, "{} prepared decoder", isa.name());
            }
        }
    }
}

/// Prepared float models, one image and batches of 35 different images (two full passes of
/// sixteen and a partial one), against the portable kernels, on every instruction set.
#[cfg(feature = "std")]
fn prepared_float_agrees(
    input: usize,
    latent: usize,
    [ew, eb, dw, db]: [&[f32]; 4],
    x: &[f32],
) -> Result<(), TestCaseError> {
    let tensors = FloatTensors {
        encoder_weights: ew,
        encoder_bias: eb,
        decoder_weights: dw,
        decoder_bias: db,
    };
    let shape = format::Shape::implied_by(input as u32);
    let mut file = vec![0u8; format::float_file_len(shape, latent as u32).unwrap()];
    let n = format::write_float(input as u32, latent as u32, 0.3, &tensors, &mut file).unwrap();
    let buf = aligned(&file[..n]);
    let Ok(ModelRef::Float(f)) = ModelRef::parse(&buf.0[..n]) else {
        panic!("not a float model")
    };
    // Image k is `x` rotated by k: every image of a pass differs.
    let images = 35;
    let xs: Vec<f32> = (0..images)
        .flat_map(|k| x.iter().cycle().skip(k % input).take(input).copied())
        .collect();
    let (mut h0, mut y0) = (vec![0.0f32; images * latent], vec![0.0f32; images * input]);
    for k in 0..images {
        let h = &mut h0[k * latent..][..latent];
        kernels::encode_f32_portable(ew, eb, &xs[k * input..][..input], 0.3, h);
        kernels::decode_f32_portable(dw, db, h, &mut y0[k * input..][..input]);
    }
    for isa in Isa::available() {
        let p = ae_core::prepared::PreparedFloat::with_isa(f, isa);
        let (mut h, mut y) = (vec![0.0f32; images * latent], vec![0.0f32; images * input]);
        p.encode_batch(images, &xs, &mut h).unwrap();
        p.decode_batch(images, &h, &mut y).unwrap();
        prop_assert_eq!(
            bits(&h),
            bits(&h0),
            "{} batch encoder {}/{}",
            isa.name(),
            input,
            latent
        );
        prop_assert_eq!(
            bits(&y),
            bits(&y0),
            "{} batch decoder {}/{}",
            isa.name(),
            input,
            latent
        );
        let (mut h1, mut y1) = (vec![0.0f32; latent], vec![0.0f32; input]);
        p.encode(&xs[..input], &mut h1).unwrap();
        p.decode(&h1, &mut y1).unwrap();
        prop_assert_eq!(
            bits(&h1),
            bits(&h0[..latent]),
            "{} encoder {}/{}",
            isa.name(),
            input,
            latent
        );
        prop_assert_eq!(
            bits(&y1),
            bits(&y0[..input]),
            "{} decoder {}/{}",
            isa.name(),
            input,
            latent
        );
    }
    Ok(())
}

/// The float shapes whose whole blocks the packed AVX-512 kernels take (inputs a multiple of
/// 16, latents of 8 for the encoder and inputs of 16 for the decoder), which the property test
/// reaches only by chance.
#[cfg(feature = "std")]
#[test]
fn whole_block_float_shapes_agree_on_every_instruction_set() {
    for (input, latent) in [
        (784, 64),
        (64, 16),
        (48, 24),
        (32, 8),
        (48, 20),
        (36, 16),
        (100, 32),
    ] {
        let mut next = stream(input as u64 * 31 + latent as u64);
        let mut values = |n: usize, scale: f32| -> Vec<f32> {
            (0..n)
                .map(|_| ((next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * scale)
                .collect()
        };
        let (ew, eb, dw, db) = (
            values(input * latent, 0.5),
            values(latent, 1.0),
            values(input * latent, 2.0),
            values(input, 1.0),
        );
        let x: Vec<f32> = values(input, 2.0)
            .iter()
            .map(|v| v.abs().min(1.0))
            .collect();
        prepared_float_agrees(input, latent, [&ew, &eb, &dw, &db], &x).unwrap();
    }
}

/// Shapes the property tests reach only by chance: the MNIST model's whole blocks (the packed
/// VNNI and float kernels, the four- and eight-image batches) and rows that are multiples of 16
/// with small shifts. Between them the packed int8 kernels see one to four blocks in the
/// encoder's and the decoder's last pass and codes of 4, 8, 12 and 16 groups of four.
#[test]
fn whole_block_shapes_agree_on_every_instruction_set() {
    for (input, latent, shift) in [
        (784, 64, 40),
        (784, 64, 28),
        (256, 16, 33),
        (48, 32, 30),
        (1024, 16, 40),
        (528, 32, 40),
        (240, 48, 40),
        (160, 32, 36),
    ] {
        let file = int8_model(input, latent, 7 + input as u64, shift);
        let buf = aligned(&file);
        let Ok(ModelRef::Int8(m)) = ModelRef::parse(&buf.0[..file.len()]) else {
            panic!("not an int8 model")
        };
        let pixels: Vec<u8> = (0..9 * input).map(|k| (k * 131 % 251) as u8).collect();
        for isa in Isa::available() {
            for img in pixels.chunks_exact(input) {
                let (mut a, mut b) = (vec![0u8; latent], vec![0u8; latent]);
                int8_kernels::encode_with(isa, &m, img, &mut a);
                int8_kernels::encode_portable(&m, img, &mut b);
                assert_eq!(a, b, "{} {input}/{latent}", isa.name());
                let (mut pa, mut pb) = (vec![0u8; input], vec![0u8; input]);
                int8_kernels::decode_with(isa, &m, &a, &mut vec![0; latent], &mut pa);
                int8_kernels::decode_portable(&m, &a, &mut vec![0; latent], &mut pb);
                assert_eq!(pa, pb, "{} {input}/{latent}", isa.name());
            }
            #[cfg(feature = "std")]
            prepared_int8_agrees(&m, isa, &pixels);
        }
    }
}

/// A prepared int8 model on `isa` (packed where it fits), one image at a time and as one batch
/// (two passes of four and one image left), against the portable kernels.
#[cfg(feature = "std")]
fn prepared_int8_agrees(m: &format::Int8Ref<'_>, isa: Isa, pixels: &[u8]) {
    let dims = m.dims();
    let (input, latent) = (dims.input as usize, dims.latent as usize);
    let images = pixels.len() / input;
    let (mut want_codes, mut want_pixels) = (vec![0u8; images * latent], vec![0u8; images * input]);
    for (k, img) in pixels.chunks_exact(input).enumerate() {
        let code = &mut want_codes[k * latent..][..latent];
        int8_kernels::encode_portable(m, img, code);
        let out = &mut want_pixels[k * input..][..input];
        int8_kernels::decode_portable(m, code, &mut vec![0; latent], out);
    }
    let p = ae_core::prepared::PreparedInt8::with_isa(*m, isa);
    let (mut codes, mut back) = (vec![0u8; images * latent], vec![0u8; images * input]);
    p.encode_batch(images, pixels, &mut codes).unwrap();
    p.decode_batch(images, &codes, &mut back).unwrap();
    assert_eq!(
        codes,
        want_codes,
        "{} prepared batch, {input}/{latent}",
        isa.name()
    );
    assert_eq!(
        back,
        want_pixels,
        "{} prepared batch, {input}/{latent}",
        isa.name()
    );
    for (k, img) in pixels.chunks_exact(input).enumerate() {
        let (mut code, mut out) = (vec![0u8; latent], vec![0u8; input]);
        p.encode(img, &mut code).unwrap();
        p.decode(&code, &mut out).unwrap();
        assert_eq!(
            code,
            want_codes[k * latent..][..latent],
            "{} prepared",
            isa.name()
        );
        assert_eq!(
            out,
            want_pixels[k * input..][..input],
            "{} prepared",
            isa.name()
        );
    }
}
