//! The standard layout (60,000 + 10,000 uncompressed 28x28 images and labels) loads through the
//! `mnist` crate, and gives exactly the pixels tinyae's own IDX reader reads; a broken file of
//! that layout falls back to the IDX reader's error instead of the crate's panic.

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

    let through_crate = trainer::data::standard::try_load(dir.path())
        .unwrap()
        .expect("standard layout");
    let ours_train =
        trainer::data::idx::read_images(&dir.path().join("train-images-idx3-ubyte")).unwrap();
    let ours_test =
        trainer::data::idx::read_images(&dir.path().join("t10k-images-idx3-ubyte")).unwrap();
    assert_eq!(through_crate.0, ours_train);
    assert_eq!(through_crate.1, ours_test);
    let splits = trainer::data::Splits::load(dir.path(), 0.0).unwrap();
    assert_eq!(splits.train, ours_train);

    // One byte short: not the standard layout any more, so the IDX reader reports it.
    let labels = dir.path().join("t10k-images-idx3-ubyte");
    let bytes = std::fs::read(&labels).unwrap();
    std::fs::write(&labels, &bytes[..bytes.len() - 1]).unwrap();
    assert!(trainer::data::standard::try_load(dir.path())
        .unwrap()
        .is_none());
    let err = trainer::data::Splits::load(dir.path(), 0.0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("truncated"), "{err}");
}
