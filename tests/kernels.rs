//! The AVX2-dispatched kernels give bit-identical results to the portable ones, on a trained-size
//! random model, on sizes that exercise every block and tail path, and on the extreme weights and
//! pixels where a 16-bit intermediate could saturate.

use ae_core::format::ModelRef;
use ae_core::int8_kernels;
use ae_core::kernels;
use rand::{Rng, SeedableRng};
use trainer::data::ImageSet;
use trainer::model::{ModelBytes, Params};

/// Whether the dispatched kernels are the AVX2 ones here. Without AVX2 they are the portable
/// loops and comparing them with themselves proves nothing: the test says it skipped, and under
/// CI (which must test the AVX2 kernels) it fails.
fn avx2_or_skip(test: &str) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: CI needs an AVX2 x86-64 machine to compare the AVX2 kernels with the portable ones"
    );
    eprintln!("skipped {test}: no AVX2 on this CPU, the dispatched kernels are the portable ones");
    false
}

/// Runs every layer both ways on `params` and `images` (each `input` long) and compares.
fn assert_dispatched_equals_portable(params: &Params, images: &[u8], count: usize) {
    let (input, latent) = (params.input(), params.latent());
    let r = params.tensors();
    for img in images.chunks(input) {
        let x: Vec<f32> = img.iter().map(|&p| f32::from(p) / 255.0).collect();
        let (mut a, mut b) = (vec![0.0f32; latent], vec![0.0f32; latent]);
        kernels::encode_f32(r[0], r[1], &x, 0.3, &mut a);
        kernels::encode_f32_portable(r[0], r[1], &x, 0.3, &mut b);
        assert_eq!(bits(&a), bits(&b), "float encoder, {input}/{latent}");
        let (mut ya, mut yb) = (vec![0.0f32; input], vec![0.0f32; input]);
        kernels::decode_f32(r[2], r[3], &a, &mut ya);
        kernels::decode_f32_portable(r[2], r[3], &a, &mut yb);
        assert_eq!(bits(&ya), bits(&yb), "float decoder, {input}/{latent}");
    }

    let int8 = int8_model(params, images, count);
    let ModelRef::Int8(q) = int8.parse("q".as_ref()).unwrap() else {
        unreachable!()
    };
    for img in images.chunks(input) {
        let (mut ca, mut cb) = (vec![0u8; latent], vec![0u8; latent]);
        int8_kernels::encode_unchecked(&q, img, &mut ca);
        int8_kernels::encode_portable(&q, img, &mut cb);
        assert_eq!(ca, cb, "int8 encoder, {input}/{latent}");
        let (mut pa, mut pb) = (vec![0u8; input], vec![0u8; input]);
        int8_kernels::decode_unchecked(&q, &ca, &mut vec![0; latent], &mut pa);
        int8_kernels::decode_portable(&q, &ca, &mut vec![0; latent], &mut pb);
        assert_eq!(pa, pb, "int8 decoder, {input}/{latent}");
    }
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
    if !avx2_or_skip("dispatched_kernels_equal_portable_kernels_bit_for_bit") {
        return;
    }
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
        assert_dispatched_equals_portable(&params, &images, 50);
    }
}

#[test]
fn integer_kernels_are_exact_at_the_extreme_weights_and_pixels() {
    if !avx2_or_skip("integer_kernels_are_exact_at_the_extreme_weights_and_pixels") {
        return;
    }
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
        assert_dispatched_equals_portable(&params, &images, 4);
    }
}

#[test]
fn decoder_with_small_shifts_takes_the_general_path_and_still_agrees() {
    if !avx2_or_skip("decoder_with_small_shifts_takes_the_general_path_and_still_agrees") {
        return;
    }
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
    let mut shifts = q.decoder.shifts.to_vec();
    for channel in [3, 100, 783] {
        shifts[channel] = 20 + (channel % 13) as u8;
    }
    let mut edited = q;
    edited.decoder.shifts = &shifts;
    for img in images.chunks(input) {
        let mut code = vec![0u8; latent];
        int8_kernels::encode_unchecked(&edited, img, &mut code);
        let (mut pa, mut pb) = (vec![0u8; input], vec![0u8; input]);
        int8_kernels::decode_unchecked(&edited, &code, &mut vec![0; latent], &mut pa);
        int8_kernels::decode_portable(&edited, &code, &mut vec![0; latent], &mut pb);
        assert_eq!(pa, pb);
    }
}
