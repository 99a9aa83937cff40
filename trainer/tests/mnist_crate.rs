//! tinyae's IDX reader against the `mnist` crate on a full-size (60,000 + 10,000, 28x28) set: the
//! two read the same pixels. (The crate only reads exactly these sizes and panics otherwise, which
//! is why tinyae validates and reads the files itself.)

use std::path::Path;

fn write(dir: &Path, name: &str, magic: u32, dims: &[u32], body: impl Iterator<Item = u8>) {
    let mut bytes = magic.to_be_bytes().to_vec();
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend(body);
    std::fs::write(dir.join(name), bytes).unwrap();
}

#[test]
fn same_pixels_as_the_mnist_crate() {
    let dir = tempfile::tempdir().unwrap();
    let pixels = |count: u32, salt: u32| {
        (0..count * 784)
            .map(move |i| (i.wrapping_mul(2_654_435_761).wrapping_add(salt) >> 24) as u8)
    };
    write(
        dir.path(),
        "train-images-idx3-ubyte",
        0x803,
        &[60_000, 28, 28],
        pixels(60_000, 1),
    );
    write(
        dir.path(),
        "t10k-images-idx3-ubyte",
        0x803,
        &[10_000, 28, 28],
        pixels(10_000, 2),
    );
    write(
        dir.path(),
        "train-labels-idx1-ubyte",
        0x801,
        &[60_000],
        (0..60_000u32).map(|i| (i % 10) as u8),
    );
    write(
        dir.path(),
        "t10k-labels-idx1-ubyte",
        0x801,
        &[10_000],
        (0..10_000u32).map(|i| (i % 10) as u8),
    );

    let base = dir.path().to_str().unwrap();
    let theirs = mnist::MnistBuilder::new()
        .base_path(base)
        .training_set_length(60_000)
        .test_set_length(10_000)
        .finalize();
    let ours = trainer::data::Splits::load(dir.path(), 0.0).unwrap();
    assert_eq!(ours.train.pixels, theirs.trn_img);
    assert_eq!(ours.test.pixels, theirs.tst_img);
}
