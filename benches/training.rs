//! Training throughput through the trainer's real code: one epoch of the MNIST subset (8,000
//! images, batch 32, two threads) when the shared data is present, else 8,000 synthetic images.
//!
//! Run with `cargo bench --bench training`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use trainer::data::{ImageSet, Splits};
use trainer::train::{self, RunOptions, TrainConfig};

fn training_set() -> (ImageSet, &'static str) {
    let dir = std::env::var_os("TINYAE_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data")
        })
        .join("mnist-subset");
    match Splits::load(&dir, 0.0) {
        Ok(s) => (s.train, "mnist-subset"),
        Err(_) => {
            let pixels = (0..8000 * 784)
                .map(|i: usize| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
                .collect();
            (ImageSet::new(pixels, 28, 28).unwrap(), "synthetic")
        }
    }
}

fn bench(c: &mut Criterion) {
    let (set, name) = training_set();
    let empty = ImageSet::empty(set.rows(), set.cols());
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("training");
    g.sample_size(10);
    g.throughput(Throughput::Elements(set.count() as u64));
    g.bench_function(
        format!("one epoch of {name} (784/64, batch 32, 2 threads)"),
        |b| {
            b.iter(|| {
                let cfg = TrainConfig {
                    epochs: 1,
                    ..TrainConfig::default()
                };
                let opts = RunOptions::new(dir.path().join("bench.ckpt"));
                train::train(&cfg, &set, &empty, &opts).unwrap()
            })
        },
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
