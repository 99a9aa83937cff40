//! The AVX2-dispatched kernels give bit-identical results to the portable ones, on a trained-size
//! random model and on odd sizes that exercise every tail path.

use ae_core::format::ModelRef;
use ae_core::int8_kernels;
use ae_core::kernels;
use rand::{Rng, SeedableRng};
use trainer::data::ImageSet;
use trainer::model::{ModelBytes, Params};

#[test]
fn dispatched_kernels_equal_portable_kernels_bit_for_bit() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    for (input, latent) in [(784, 64), (37, 5), (100, 17), (3, 1)] {
        let params = Params::glorot(input, latent, 0.3, &mut rng);
        let r = params.tensors();
        let x: Vec<f32> = (0..input).map(|_| rng.random()).collect();
        let (mut a, mut b) = (vec![0.0f32; latent], vec![0.0f32; latent]);
        kernels::encode_f32(r[0], r[1], &x, 0.3, &mut a);
        kernels::encode_f32_portable(r[0], r[1], &x, 0.3, &mut b);
        assert_eq!(
            a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            b.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
        let (mut ya, mut yb) = (vec![0.0f32; input], vec![0.0f32; input]);
        kernels::decode_f32(r[2], r[3], &a, &mut ya);
        kernels::decode_f32_portable(r[2], r[3], &a, &mut yb);
        assert_eq!(
            ya.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            yb.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );

        let images: Vec<u8> = (0..input * 50).map(|_| rng.random()).collect();
        let calib = ImageSet {
            pixels: images.clone(),
            count: 50,
            rows: 1,
            cols: input,
        };
        let float = ModelBytes::new(&params.to_model_file().unwrap());
        let ModelRef::Float(f) = float.parse("f".as_ref()).unwrap() else {
            unreachable!()
        };
        let int8 = ModelBytes::new(&trainer::quantize::quantize(&f, &calib).unwrap());
        let ModelRef::Int8(q) = int8.parse("q".as_ref()).unwrap() else {
            unreachable!()
        };
        for img in images.chunks(input) {
            let (mut ca, mut cb) = (vec![0u8; latent], vec![0u8; latent]);
            int8_kernels::encode_unchecked(&q, img, &mut ca);
            int8_kernels::encode_portable(&q, img, &mut cb);
            assert_eq!(ca, cb);
            let (mut pa, mut pb) = (vec![0u8; input], vec![0u8; input]);
            int8_kernels::decode_unchecked(&q, &ca, &mut vec![0; latent], &mut pa);
            int8_kernels::decode_portable(&q, &ca, &mut vec![0; latent], &mut pb);
            assert_eq!(pa, pb);
        }
    }
}
