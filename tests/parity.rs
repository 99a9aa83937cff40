//! The trainer and ae-core compute the same network: the trainer's batched forward pass and
//! ae-core's per-image kernels agree, and the int8 path stays close to the float path.

mod common;

use ae_core::format::ModelRef;
use rand::SeedableRng;
use trainer::model::backprop::Shard;
use trainer::model::{ModelBytes, Params};

#[test]
fn trainer_forward_matches_ae_core_float_path() {
    let set = common::synthetic(40, 10, 1);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let params = Params::glorot(100, 12, 0.3, &mut rng);
    let bytes = ModelBytes::new(&params.to_model_file().unwrap());
    let model = bytes.parse("t".as_ref()).unwrap();
    let mut shard = Shard::new(100, 12, 0);
    shard.load(set.images());
    shard.forward(&params);
    let mut worst = 0.0f32;
    for (i, img) in set.images().enumerate() {
        let mut out = vec![0.0f32; 100];
        trainer::eval::reconstruct(&model, img, &mut out).unwrap();
        for (a, b) in out.iter().zip(shard.output().column(i).iter()) {
            worst = worst.max((a - b).abs());
        }
    }
    assert!(worst < 2e-6, "trainer and ae-core differ by {worst}");
}

#[test]
fn int8_stays_close_to_float_on_trained_synthetic_models() {
    for seed in 0..3 {
        let set = common::synthetic(300, 8, 10 + seed);
        let dir = tempfile::tempdir().unwrap();
        let cfg = trainer::train::TrainConfig {
            latent: 8,
            epochs: 20,
            batch: 16,
            seed,
            ..Default::default()
        };
        let opts = trainer::train::RunOptions {
            ..trainer::train::RunOptions::new(dir.path().join("c"))
        };
        let empty = trainer::data::ImageSet::empty(set.rows(), set.cols());
        let out = trainer::train::train(&cfg, &set, &empty, &opts).unwrap();
        let (max, mean) = quantized_difference(&out.params, &set);
        assert!(
            max <= 12 && mean <= 1.0,
            "seed {seed}: max {max} levels, mean {mean:.3}"
        );
    }
}

#[test]
fn int8_stays_close_to_float_on_random_models() {
    use rand::Rng;
    for seed in 0..5u64 {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(100 + seed);
        let (input, latent) = (36 + 13 * seed as usize, 3 + 5 * seed as usize);
        let mut params = Params::glorot(input, latent, 0.3, &mut rng);
        for b in params.b1.iter_mut().chain(params.b2.iter_mut()) {
            *b = rng.random_range(-0.5..0.5);
        }
        let images: Vec<u8> = (0..input * 64).map(|_| rng.random()).collect();
        let set = trainer::data::ImageSet::new(images, 1, input).unwrap();
        let (max, mean) = quantized_difference(&params, &set);
        assert!(
            max <= 12 && mean <= 1.0,
            "{input}x{latent}: max {max} levels, mean {mean:.3}"
        );
    }
}

/// Exports `params` to int8 (calibrated on `set`) and returns the float-vs-int8 pixel difference
/// on `set` (max, mean grey levels).
fn quantized_difference(params: &Params, set: &trainer::data::ImageSet) -> (u8, f64) {
    let float_bytes = ModelBytes::new(&params.to_model_file().unwrap());
    let float = float_bytes.parse("f".as_ref()).unwrap();
    let ModelRef::Float(f) = float else {
        unreachable!()
    };
    let int8_bytes = ModelBytes::new(&trainer::quantize::quantize(&f, set, true).unwrap());
    let int8 = int8_bytes.parse("q".as_ref()).unwrap();
    common::float_vs_int8(&float, &int8, set)
}
