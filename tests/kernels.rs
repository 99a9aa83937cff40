//! Every vector kernel (AVX2, and AVX-512 with VNNI where the CPU has it) gives bit-identical
//! results to the portable ones, on a trained-size
//! random model, on sizes that exercise every block and tail path, and on the extreme weights and
//! pixels where a 16-bit intermediate could saturate.

use ae_core::format::{self, Int8Ref, Int8Tensors, ModelRef, QuantLayerRef, QuantLayerTensors};
use ae_core::int8_kernels;
use ae_core::kernels::{self, Isa};
use ae_core::prepared::{PreparedFloat, PreparedInt8};
use rand::{Rng, SeedableRng};
use trainer::data::ImageSet;
use trainer::model::{ModelBytes, Params};

/// The instruction sets this CPU has besides the portable loops, each of which must give the
/// portable results. Without AVX2 there is nothing to compare: the test says it skipped, and under
/// CI (which must test the x86 kernels) it fails. AVX-512 (with VNNI) is compared wherever the CPU
/// has it; the machines CI runs on vary, so its absence is only reported.
fn vector_isas_or_skip(test: &str) -> Vec<Isa> {
    let isas: Vec<Isa> = Isa::available().filter(|&i| i != Isa::PORTABLE).collect();
    let names: Vec<&str> = isas.iter().map(|i| i.name()).collect();
    if isas.is_empty() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: CI needs an AVX2 x86-64 machine to compare the vector kernels with the portable ones"
        );
        eprintln!("skipped {test}: no AVX2 on this CPU, only the portable kernels exist");
    } else {
        eprintln!("{test}: comparing {names:?} with the portable kernels");
    }
    isas
}

/// Every requantization shift of `layer`, channel by channel and branch by branch.
fn shifts_of(layer: &QuantLayerRef<'_>) -> Vec<u8> {
    (0..layer.outputs() * layer.branches())
        .map(|k| layer.requant(k).unwrap().shift)
        .collect()
}

/// `q` written again with other requantization shifts (weights, biases and multipliers
/// unchanged): a model no export makes, built the only way a model is, through its file.
fn with_shifts(q: &Int8Ref<'_>, encoder_shifts: &[u8], decoder_shifts: &[u8]) -> ModelBytes {
    let records = |layer: &QuantLayerRef<'_>| -> (Vec<i32>, Vec<i32>) {
        let bias = (0..layer.outputs()).map(|o| layer.bias(o).unwrap());
        let requants = 0..layer.outputs() * layer.branches();
        let multipliers = requants.map(|k| layer.requant(k).unwrap().multiplier);
        (bias.collect(), multipliers.collect())
    };
    let (enc_bias, enc_mult) = records(q.encoder());
    let (dec_bias, dec_mult) = records(q.decoder());
    let tensors = Int8Tensors {
        latent_scale: q.latent_scale(),
        latent_zero_point: q.latent_zero_point(),
        encoder: QuantLayerTensors {
            weights: q.encoder().weights(),
            bias: &enc_bias,
            multipliers: &enc_mult,
            shifts: encoder_shifts,
        },
        decoder: QuantLayerTensors {
            weights: q.decoder().weights(),
            bias: &dec_bias,
            multipliers: &dec_mult,
            shifts: decoder_shifts,
        },
    };
    let (shape, latent) = (q.shape(), q.dims().latent);
    let mut file = vec![0u8; format::int8_file_len(shape, latent, false).unwrap()];
    let n = format::write_int8_shaped(shape, latent, q.leaky_slope(), &tensors, None, &mut file)
        .unwrap();
    assert_eq!(n, file.len());
    ModelBytes::new(&file)
}

/// Runs every layer on every instruction set in `isas` and on the portable code, and compares.
fn assert_kernels_equal_portable(isas: &[Isa], params: &Params, images: &[u8], count: usize) {
    let (input, latent) = (params.input(), params.latent());
    let r = params.tensors();
    let int8 = int8_model(params, images, count);
    let ModelRef::Int8(q) = int8.parse("q".as_ref()).unwrap() else {
        unreachable!()
    };
    for &isa in isas {
        let name = isa.name();
        for img in images.chunks(input) {
            let x: Vec<f32> = img.iter().map(|&p| f32::from(p) / 255.0).collect();
            let (mut a, mut b) = (vec![0.0f32; latent], vec![0.0f32; latent]);
            kernels::encode_f32_with(isa, r[0], r[1], &x, 0.3, &mut a);
            kernels::encode_f32_portable(r[0], r[1], &x, 0.3, &mut b);
            assert_eq!(bits(&a), bits(&b), "{name} float encoder, {input}/{latent}");
            let (mut ya, mut yb) = (vec![0.0f32; input], vec![0.0f32; input]);
            kernels::decode_f32_with(isa, r[2], r[3], &a, &mut ya);
            kernels::decode_f32_portable(r[2], r[3], &a, &mut yb);
            assert_eq!(
                bits(&ya),
                bits(&yb),
                "{name} float decoder, {input}/{latent}"
            );
        }
        for img in images.chunks(input) {
            let (mut ca, mut cb) = (vec![0u8; latent], vec![0u8; latent]);
            int8_kernels::encode_with(isa, &q, img, &mut ca);
            int8_kernels::encode_portable(&q, img, &mut cb);
            assert_eq!(ca, cb, "{name} int8 encoder, {input}/{latent}");
            let (mut pa, mut pb) = (vec![0u8; input], vec![0u8; input]);
            int8_kernels::decode_with(isa, &q, &ca, &mut vec![0; latent], &mut pa);
            int8_kernels::decode_portable(&q, &ca, &mut vec![0; latent], &mut pb);
            assert_eq!(pa, pb, "{name} int8 decoder, {input}/{latent}");
        }
    }
}

/// Runs the prepared models (aligned weights; packed weights for AVX-512 VNNI where the shape
/// allows) on every instruction set this CPU has, single images and a batch, against the
/// portable kernels on the borrowed model.
fn assert_prepared_equals_portable(params: &Params, images: &[u8], count: usize) {
    let (input, latent) = (params.input(), params.latent());
    let float = ModelBytes::new(&params.to_model_file().unwrap());
    let ModelRef::Float(f) = float.parse("f".as_ref()).unwrap() else {
        unreachable!()
    };
    let int8 = int8_model(params, images, count);
    let ModelRef::Int8(q) = int8.parse("q".as_ref()).unwrap() else {
        unreachable!()
    };
    let n = images.len() / input;
    let (mut want_codes, mut want_pixels) = (vec![0u8; n * latent], vec![0u8; n * input]);
    let xs: Vec<f32> = images.iter().map(|&p| f32::from(p) / 255.0).collect();
    let (mut want_h, mut want_y) = (vec![0.0f32; n * latent], vec![0.0f32; n * input]);
    for k in 0..n {
        let (img, x) = (&images[k * input..][..input], &xs[k * input..][..input]);
        let (code, h) = (
            &mut want_codes[k * latent..][..latent],
            &mut want_h[k * latent..][..latent],
        );
        int8_kernels::encode_portable(&q, img, code);
        int8_kernels::decode_portable(
            &q,
            code,
            &mut vec![0; latent],
            &mut want_pixels[k * input..][..input],
        );
        kernels::encode_f32_portable(f.encoder_weights(), f.encoder_bias(), x, f.leaky_slope(), h);
        kernels::decode_f32_portable(
            f.decoder_weights(),
            f.decoder_bias(),
            h,
            &mut want_y[k * input..][..input],
        );
    }
    for isa in Isa::available() {
        let name = isa.name();
        let pi = PreparedInt8::with_isa(q, isa);
        let (mut codes, mut pixels) = (vec![0u8; n * latent], vec![0u8; n * input]);
        pi.encode_batch(n, images, &mut codes).unwrap();
        pi.decode_batch(n, &codes, &mut pixels).unwrap();
        assert_eq!(
            codes, want_codes,
            "{name} prepared int8 encoder, {input}/{latent}"
        );
        assert_eq!(
            pixels, want_pixels,
            "{name} prepared int8 decoder, {input}/{latent}"
        );
        let (mut one_code, mut one_image) = (vec![0u8; latent], vec![0u8; input]);
        pi.encode(&images[..input], &mut one_code).unwrap();
        pi.decode(&one_code, &mut one_image).unwrap();
        assert_eq!(
            one_code,
            want_codes[..latent],
            "{name} prepared int8, one image"
        );
        assert_eq!(
            one_image,
            want_pixels[..input],
            "{name} prepared int8, one image"
        );

        let pf = PreparedFloat::with_isa(f, isa);
        let (mut h, mut y) = (vec![0.0f32; n * latent], vec![0.0f32; n * input]);
        pf.encode_batch(n, &xs, &mut h).unwrap();
        pf.decode_batch(n, &h, &mut y).unwrap();
        assert_eq!(
            bits(&h),
            bits(&want_h),
            "{name} prepared float encoder, {input}/{latent}"
        );
        assert_eq!(
            bits(&y),
            bits(&want_y),
            "{name} prepared float decoder, {input}/{latent}"
        );
    }
}

#[test]
fn prepared_models_equal_portable_kernels_on_every_instruction_set() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    // 784/64, 1024/16, 528/32, 240/48 and 160/32 take the packed VNNI kernels where the CPU
    // has them: between them, one to four blocks of 16 codes in the encoder's last pass, codes
    // of 4, 8, 12 and 16 groups, and one to four blocks of 16 pixels in the decoder's last pass.
    // The rest do not fit them (rows not a multiple of 16) and take the aligned generic ones.
    for (input, latent) in [
        (784, 64),
        (1024, 16),
        (528, 32),
        (240, 48),
        (160, 32),
        (64, 8),
        (37, 5),
        (100, 17),
    ] {
        let params = Params::glorot(input, latent, 0.3, &mut rng);
        // 21 images: a full pass of sixteen, then five, whose last one has no partner in the
        // float encoder's pairs.
        let images: Vec<u8> = (0..input * 21).map(|_| rng.random()).collect();
        assert_prepared_equals_portable(&params, &images, 21);
    }
}

#[test]
fn prepared_batches_check_their_lengths() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
    let params = Params::glorot(32, 16, 0.3, &mut rng);
    let images: Vec<u8> = (0..32 * 4).map(|_| rng.random()).collect();
    let int8 = int8_model(&params, &images, 4);
    let ModelRef::Int8(q) = int8.parse("q".as_ref()).unwrap() else {
        unreachable!()
    };
    let pi = PreparedInt8::new(q);
    let mut codes = vec![0u8; 16 * 4];
    assert!(pi.encode_batch(4, &images[..100], &mut codes).is_err());
    assert!(pi.encode_batch(3, &images, &mut codes).is_err());
    assert!(pi.encode_batch(usize::MAX, &images, &mut codes).is_err());
    assert!(pi.encode_batch(4, &images, &mut codes).is_ok());
    let mut back = vec![0u8; 32 * 4];
    assert!(pi.decode_batch(4, &codes[..63], &mut back).is_err());
    assert!(pi.decode_batch(4, &codes, &mut back).is_ok());
}

/// The int8 export of `params`, calibrated on `count` images of `params.input()` pixels.
fn int8_model(params: &Params, images: &[u8], count: usize) -> ModelBytes {
    let calib = ImageSet::new(images.to_vec(), 1, params.input()).unwrap();
    assert_eq!(calib.count(), count);
    let float = ModelBytes::new(&params.to_model_file().unwrap());
    let ModelRef::Float(f) = float.parse("f".as_ref()).unwrap() else {
        unreachable!()
    };
    ModelBytes::new(&trainer::quantize::quantize(&f, &calib, false).unwrap())
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn dispatched_kernels_equal_portable_kernels_bit_for_bit() {
    let isas = vector_isas_or_skip("dispatched_kernels_equal_portable_kernels_bit_for_bit");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    // 784/64: the model; 1024/16: several 8-chunk groups and no 16-pixel remainder; 528/32: an
    // odd number of 16-pixel chunks; 64/8 and 16/16: single blocks; the rest: tails everywhere.
    for (input, latent) in [
        (784, 64),
        (1024, 16),
        (528, 32),
        (64, 8),
        (16, 16),
        (37, 5),
        (100, 17),
        (3, 1),
    ] {
        let params = Params::glorot(input, latent, 0.3, &mut rng);
        let images: Vec<u8> = (0..input * 50).map(|_| rng.random()).collect();
        assert_kernels_equal_portable(&isas, &params, &images, 50);
    }
}

#[test]
fn integer_kernels_are_exact_at_the_extreme_weights_and_pixels() {
    let isas = vector_isas_or_skip("integer_kernels_are_exact_at_the_extreme_weights_and_pixels");
    // Weights +-1 quantize to +-127, the worst case for 16-bit pair sums. Encoder row `j` is +1
    // up to a split past the 300th input and -1 after it, so a long run of same-sign products
    // meets white pixels, yet the dot products stay in the range the codes are calibrated for:
    // an overflowing 16-bit partial sum would show up in the codes.
    for (input, latent) in [(784, 64), (1024, 16)] {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut params = Params::glorot(input, latent, 0.3, &mut rng);
        let [encoder_weights, _, decoder_weights, _] = params.tensors_mut();
        for (k, w) in encoder_weights.iter_mut().enumerate() {
            let (j, i) = (k / input, k % input);
            let split = input * 2 / 5 + j * input / (2 * latent);
            *w = if i < split { 1.0 } else { -1.0 };
        }
        for (k, w) in decoder_weights.iter_mut().enumerate() {
            *w = if (k / 3) % 2 == 0 { 1.0 } else { -1.0 };
        }
        let mut images = vec![255u8; input];
        images.extend(vec![0u8; input]);
        images.extend((0..input).map(|k| if k % 2 == 0 { 255 } else { 0 }));
        images.extend((0..input).map(|k| if (k / 2) % 2 == 0 { 255 } else { 15 }));
        assert_kernels_equal_portable(&isas, &params, &images, 4);
    }
}

#[test]
fn decoder_with_small_shifts_takes_the_general_path_and_still_agrees() {
    let isas =
        vector_isas_or_skip("decoder_with_small_shifts_takes_the_general_path_and_still_agrees");
    // Exported models always have decoder shifts above 32 (the vector fast path); a hand-edited
    // one with a few small shifts must give the portable result too, block by block.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let (input, latent) = (784, 64);
    let params = Params::glorot(input, latent, 0.3, &mut rng);
    let images: Vec<u8> = (0..input * 20).map(|_| rng.random()).collect();
    let int8 = int8_model(&params, &images, 20);
    let ModelRef::Int8(q) = int8.parse("q".as_ref()).unwrap() else {
        unreachable!()
    };
    let enc_shifts = shifts_of(q.encoder());
    let mut dec_shifts = shifts_of(q.decoder());
    for channel in [3, 100, 783] {
        dec_shifts[channel] = 20 + (channel % 13) as u8;
    }
    let edited_bytes = with_shifts(&q, &enc_shifts, &dec_shifts);
    let ModelRef::Int8(edited) = edited_bytes.parse("edited".as_ref()).unwrap() else {
        unreachable!()
    };
    assert_eq!(edited.decoder().requant(100).unwrap().shift, 29);
    for isa in isas {
        for img in images.chunks(input) {
            let mut code = vec![0u8; latent];
            int8_kernels::encode_portable(&edited, img, &mut code);
            let (mut pa, mut pb) = (vec![0u8; input], vec![0u8; input]);
            int8_kernels::decode_with(isa, &edited, &code, &mut vec![0; latent], &mut pa);
            int8_kernels::decode_portable(&edited, &code, &mut vec![0; latent], &mut pb);
            assert_eq!(pa, pb, "{}", isa.name());
        }
    }
    // The prepared models (the packed VNNI kernels requantize in 64-bit lanes, every shift
    // alike), with small shifts in the encoder too.
    let mut enc_shifts = enc_shifts;
    for channel in [0, 7, 63] {
        enc_shifts[2 * channel] = 16 + channel as u8 % 17;
        enc_shifts[2 * channel + 1] = 24 + channel as u8 % 9;
    }
    let edited_bytes = with_shifts(&q, &enc_shifts, &dec_shifts);
    let ModelRef::Int8(edited) = edited_bytes.parse("edited".as_ref()).unwrap() else {
        unreachable!()
    };
    let n = images.len() / input;
    let (mut want_codes, mut want_pixels) = (vec![0u8; n * latent], vec![0u8; n * input]);
    for k in 0..n {
        let code = &mut want_codes[k * latent..][..latent];
        int8_kernels::encode_portable(&edited, &images[k * input..][..input], code);
        let out = &mut want_pixels[k * input..][..input];
        int8_kernels::decode_portable(&edited, code, &mut vec![0; latent], out);
    }
    for isa in Isa::available() {
        let pi = PreparedInt8::with_isa(edited, isa);
        let (mut codes, mut pixels) = (vec![0u8; n * latent], vec![0u8; n * input]);
        pi.encode_batch(n, &images, &mut codes).unwrap();
        pi.decode_batch(n, &codes, &mut pixels).unwrap();
        assert_eq!(
            codes,
            want_codes,
            "{} prepared encoder, small shifts",
            isa.name()
        );
        assert_eq!(
            pixels,
            want_pixels,
            "{} prepared decoder, small shifts",
            isa.name()
        );
    }
}
