//! The training loop end to end on small synthetic data: learning happens, runs are bit-identical,
//! resume equals an uninterrupted run, divergence is caught and the last checkpoint survives.

mod common;

use trainer::data::ImageSet;
use trainer::optim::AdamConfig;
use trainer::train::{self, RunOptions, TrainConfig};
use trainer::Error;

fn config(epochs: usize) -> TrainConfig {
    TrainConfig {
        latent: 6,
        epochs,
        batch: 8,
        seed: 5,
        ..TrainConfig::default()
    }
}

fn run(
    cfg: &TrainConfig,
    set: &ImageSet,
    dir: &std::path::Path,
    threads: usize,
) -> trainer::train::Outcome {
    let opts = RunOptions {
        threads,
        ..RunOptions::new(dir.join("m.ckpt"))
    };
    train::train(cfg, set, &ImageSet::empty(set.rows(), set.cols()), &opts).unwrap()
}

#[test]
fn loss_falls_and_validation_is_reported() {
    let set = common::synthetic(120, 8, 1);
    let val = common::synthetic(20, 8, 2);
    let dir = tempfile::tempdir().unwrap();
    let opts = RunOptions::new(dir.path().join("m.ckpt"));
    let fast = TrainConfig {
        adam: AdamConfig {
            lr: 1e-2,
            ..AdamConfig::default()
        },
        ..config(8)
    };
    let out = train::train(&fast, &set, &val, &opts).unwrap();
    let h = &out.history;
    assert_eq!(h.len(), 8);
    assert!(h[7].loss < 0.8 * h[0].loss, "loss did not fall: {h:?}");
    assert!(h.iter().all(|r| r.val_loss.is_some_and(f64::is_finite)));
}

#[test]
fn same_seed_gives_identical_bits_on_any_thread_count() {
    let set = common::synthetic(100, 8, 3);
    let d1 = tempfile::tempdir().unwrap();
    let d2 = tempfile::tempdir().unwrap();
    let a = run(&config(3), &set, d1.path(), 1);
    let b = run(&config(3), &set, d2.path(), 2);
    assert_eq!(
        a.params.to_model_file().unwrap(),
        b.params.to_model_file().unwrap()
    );
    let other_seed = run(
        &TrainConfig {
            seed: 6,
            ..config(3)
        },
        &set,
        d1.path(),
        2,
    );
    assert_ne!(a.params, other_seed.params, "the seed must matter");
}

#[test]
fn resume_after_interrupt_is_bit_identical() {
    let set = common::synthetic(100, 8, 4); // 13 batches per epoch
    let full_dir = tempfile::tempdir().unwrap();
    let full = run(&config(3), &set, full_dir.path(), 2);

    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("m.ckpt");
    let empty = ImageSet::empty(set.rows(), set.cols());
    // Interrupt mid-epoch twice (step 17 is in epoch 2), then finish.
    for stop in [17, 5] {
        let opts = RunOptions {
            resume: stop == 5,
            stop_after_steps: Some(stop),
            ..RunOptions::new(ckpt.clone())
        };
        match train::train(&config(3), &set, &empty, &opts) {
            Err(Error::Interrupted { checkpoint }) => assert_eq!(checkpoint, ckpt),
            other => panic!("expected an interruption, got {other:?}"),
        }
    }
    let opts = RunOptions {
        resume: true,
        ..RunOptions::new(ckpt.clone())
    };
    let resumed = train::train(&config(3), &set, &empty, &opts).unwrap();
    assert_eq!(
        resumed.params.to_model_file().unwrap(),
        full.params.to_model_file().unwrap()
    );
    assert_eq!(resumed.history.len(), 3);
    for (a, b) in resumed.history.iter().zip(&full.history) {
        assert_eq!(a.loss.to_bits(), b.loss.to_bits());
    }
}

#[test]
fn resume_refuses_other_data_or_settings() {
    let set = common::synthetic(40, 8, 5);
    let dir = tempfile::tempdir().unwrap();
    run(&config(1), &set, dir.path(), 1);
    let ckpt = dir.path().join("m.ckpt");
    let empty = ImageSet::empty(set.rows(), set.cols());
    let resume = |cfg: &TrainConfig, s: &ImageSet| {
        let opts = RunOptions {
            resume: true,
            ..RunOptions::new(ckpt.clone())
        };
        train::train(cfg, s, &empty, &opts)
    };
    let other = common::synthetic(40, 8, 6);
    let e = resume(&config(2), &other).unwrap_err().to_string();
    assert!(e.contains("different training data"), "{e}");
    let e = resume(
        &TrainConfig {
            batch: 4,
            ..config(2)
        },
        &set,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("other settings"), "{e}");
    // More epochs is allowed and continues from epoch 2.
    assert_eq!(resume(&config(2), &set).unwrap().history.len(), 2);
    // A corrupted checkpoint is refused, not misread.
    let mut bytes = std::fs::read(&ckpt).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&ckpt, &bytes).unwrap();
    let e = resume(&config(3), &set).unwrap_err().to_string();
    assert!(e.contains("corrupted"), "{e}");
}

#[test]
fn divergence_stops_with_an_error_and_keeps_the_last_good_checkpoint() {
    let set = common::synthetic(64, 8, 7);
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("m.ckpt");
    let empty = ImageSet::empty(set.rows(), set.cols());
    let good = TrainConfig {
        epochs: 1,
        ..config(1)
    };
    let opts = RunOptions::new(ckpt.clone());
    train::train(&good, &set, &empty, &opts).unwrap();
    let before = std::fs::read(&ckpt).unwrap();
    // An absurd learning rate blows the weights up to infinity within a few steps.
    let wild = TrainConfig {
        epochs: 3,
        adam: AdamConfig {
            lr: 1e30,
            ..AdamConfig::default()
        },
        ..good
    };
    let opts = RunOptions {
        resume: false,
        ..RunOptions::new(ckpt.clone())
    };
    match train::train(&wild, &set, &empty, &opts) {
        Err(Error::Diverged { epoch, .. }) => assert_eq!(epoch, 1),
        other => panic!("expected divergence, got {other:?}"),
    }
    assert_eq!(
        std::fs::read(&ckpt).unwrap(),
        before,
        "the good checkpoint must survive"
    );
}

#[test]
fn invalid_settings_are_rejected_before_training() {
    let set = common::synthetic(10, 4, 8);
    let dir = tempfile::tempdir().unwrap();
    let opts = RunOptions::new(dir.path().join("m.ckpt"));
    for bad in [
        TrainConfig {
            batch: 0,
            ..config(1)
        },
        TrainConfig {
            latent: 0,
            ..config(1)
        },
        TrainConfig {
            adam: AdamConfig {
                lr: f32::NAN,
                ..AdamConfig::default()
            },
            ..config(1)
        },
    ] {
        let e = train::train(&bad, &set, &set, &opts).unwrap_err();
        assert!(matches!(e, Error::InvalidSetting { .. }), "{e}");
    }
}

/// The loop reports through its observer (the `ae` progress bar is one): every batch of every
/// epoch in order, each epoch's record, and nothing when it finishes normally.
#[test]
fn the_observer_sees_every_batch_and_epoch() {
    #[derive(Default)]
    struct Count {
        started: Vec<(usize, usize, usize)>,
        batches: usize,
        done: Vec<usize>,
        stopped: usize,
    }
    impl train::Observer for Count {
        fn epoch_started(&mut self, epoch: usize, epochs: usize, batches: usize) {
            self.started.push((epoch, epochs, batches));
        }
        fn batch_done(&mut self, done: usize, mean_loss: f64) {
            assert!(done >= 1 && mean_loss.is_finite());
            self.batches += 1;
        }
        fn epoch_done(&mut self, record: &train::history::EpochRecord, epochs: usize) {
            assert_eq!(epochs, 2);
            self.done.push(record.epoch);
        }
        fn stopped(&mut self) {
            self.stopped += 1;
        }
    }
    let set = common::synthetic(20, 4, 9); // 3 batches of 8
    let dir = tempfile::tempdir().unwrap();
    let opts = RunOptions::new(dir.path().join("m.ckpt"));
    let mut seen = Count::default();
    let empty = ImageSet::empty(set.rows(), set.cols());
    let out = train::train_observed(&config(2), &set, &empty, &opts, &mut seen).unwrap();
    assert_eq!(seen.started, vec![(0, 2, 3), (1, 2, 3)]);
    assert_eq!((seen.batches, seen.done, seen.stopped), (6, vec![1, 2], 0));
    // The silent loop trains to the same bits.
    let quiet = tempfile::tempdir().unwrap();
    let again = train::train(
        &config(2),
        &set,
        &empty,
        &RunOptions::new(quiet.path().join("m.ckpt")),
    )
    .unwrap();
    assert_eq!(out.params, again.params);
}
