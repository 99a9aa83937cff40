//! Golden files: the exact bytes of the tiny models. A change here is a change of the wire format:
//! bump `FORMAT_VERSION`, update `FORMAT.md`, then re-bless with `TINYAE_BLESS=1 cargo test`.

mod common;

use std::path::PathBuf;

fn check(name: &str, bytes: &[u8]) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("TINYAE_BLESS").is_some() {
        std::fs::write(&path, bytes).unwrap();
    }
    let golden = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        bytes,
        &golden[..],
        "{name} differs from its golden file: the format changed"
    );
}

#[test]
fn float_model_bytes_are_stable() {
    let mut b = common::buf();
    let n = common::tiny_float(&mut b);
    let bytes = &b.0[..n];
    assert_eq!(&bytes[..4], b"TNAE");
    assert_eq!(n % 4, 0);
    check("tiny-float-2x1.tnae", bytes);
}

#[test]
fn int8_model_bytes_are_stable() {
    let mut b = common::buf();
    let n = common::tiny_int8(&mut b);
    check("tiny-int8-2x1.tnae", &b.0[..n]);
}

#[test]
fn float_tensors_start_aligned_in_the_file() {
    for (input, latent) in [(1, 1), (2, 1), (6, 3), (7, 5), (784, 64)] {
        let mut out = vec![0u8; 16 + (2 * input * latent + input + latent) * 4 + 64];
        let n = common::random_float(input, latent, 3, &mut out);
        // The float tensors are the last field: they end where the CRC starts.
        let tensors = (2 * input * latent + input + latent) * 4;
        assert_eq!((n - 4 - tensors) % 16, 0, "{input}x{latent}");
    }
}
