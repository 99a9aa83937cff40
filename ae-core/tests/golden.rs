//! Golden files: the exact bytes of tiny models. A change here is a change of the wire format:
//! bump `FORMAT_VERSION`, update `FORMAT.md`, then re-bless with `TINYAE_BLESS=1 cargo test`
//! (refused under CI, where it would compare a file with itself). The version-1 files are never
//! re-blessed: they are what older tinyae wrote, and must keep loading with the same outputs.

mod common;

use std::path::PathBuf;

use ae_core::format::{ModelRef, Shape};
use ae_core::Aligned;

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn check(name: &str, bytes: &[u8]) {
    let path = golden_path(name);
    if std::env::var_os("TINYAE_BLESS").is_some() {
        assert!(
            std::env::var_os("CI").is_none(),
            "TINYAE_BLESS under CI would compare the golden files with themselves"
        );
        std::fs::write(&path, bytes).unwrap();
    }
    let golden = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        bytes,
        &golden[..],
        "{name} differs from its golden file: the format changed"
    );
}

fn read_aligned(name: &str) -> Box<Aligned<[u8; 8192]>> {
    let bytes = std::fs::read(golden_path(name)).unwrap();
    let mut b = Box::new(Aligned([0u8; 8192]));
    b.0[..bytes.len()].copy_from_slice(&bytes);
    b
}

#[test]
fn float_model_bytes_are_stable() {
    let mut b = common::buf();
    let n = common::tiny_float(&mut b);
    let bytes = &b.0[..n];
    assert_eq!(&bytes[..4], b"TNAE");
    assert_eq!(n % 4, 0);
    check("tiny-float-2x1.v2.tnae", bytes);
}

#[test]
fn int8_model_bytes_are_stable() {
    let mut b = common::buf();
    let n = common::tiny_int8(&mut b);
    check("tiny-int8-2x1.v2.tnae", &b.0[..n]);
}

#[test]
fn int8_model_with_entropy_tables_bytes_are_stable() {
    let mut b = common::buf();
    let n = common::small_int8_entropy(&mut b);
    check("small-int8-entropy-2x3.v2.tnae", &b.0[..n]);
    let ModelRef::Int8(m) = ModelRef::parse(&b.0[..n]).unwrap() else {
        panic!("not int8")
    };
    assert_eq!(m.shape(), Shape { rows: 2, cols: 3 });
    assert!(m.entropy().is_some());
}

#[test]
fn version_1_files_load_with_the_same_outputs() {
    let v1 = read_aligned("tiny-float-2x1.v1.tnae");
    let len = std::fs::read(golden_path("tiny-float-2x1.v1.tnae"))
        .unwrap()
        .len();
    let ModelRef::Float(old) = ModelRef::parse(&v1.0[..len]).unwrap() else {
        panic!("v1 float golden is not float")
    };
    let mut b = common::buf();
    let n = common::tiny_float(&mut b);
    let ModelRef::Float(new) = ModelRef::parse(&b.0[..n]).unwrap() else {
        panic!("not float")
    };
    assert_eq!(old.shape(), Shape { rows: 1, cols: 2 });
    for x in [[0.0f32, 0.0], [1.0, 1.0], [0.2, -3.0]] {
        let (mut h0, mut h1) = ([0.0f32], [0.0f32]);
        old.encode(&x, &mut h0).unwrap();
        new.encode(&x, &mut h1).unwrap();
        assert_eq!(h0, h1);
        let (mut y0, mut y1) = ([0.0f32; 2], [0.0f32; 2]);
        old.decode(&h0, &mut y0).unwrap();
        new.decode(&h1, &mut y1).unwrap();
        assert_eq!(y0, y1);
    }

    let v1 = read_aligned("tiny-int8-2x1.v1.tnae");
    let len = std::fs::read(golden_path("tiny-int8-2x1.v1.tnae"))
        .unwrap()
        .len();
    let ModelRef::Int8(old) = ModelRef::parse(&v1.0[..len]).unwrap() else {
        panic!("v1 int8 golden is not int8")
    };
    let mut b = common::buf();
    let n = common::tiny_int8(&mut b);
    let ModelRef::Int8(new) = ModelRef::parse(&b.0[..n]).unwrap() else {
        panic!("not int8")
    };
    assert!(old.entropy().is_none());
    for px in [[0u8, 0], [255, 0], [0, 255], [17, 200]] {
        let (mut c0, mut c1) = ([0u8], [0u8]);
        old.encode(&px, &mut c0).unwrap();
        new.encode(&px, &mut c1).unwrap();
        assert_eq!(c0, c1);
        let (mut y0, mut y1) = ([0u8; 2], [0u8; 2]);
        old.decode(&c0, &mut [0i16], &mut y0).unwrap();
        new.decode(&c1, &mut [0i16], &mut y1).unwrap();
        assert_eq!(y0, y1);
    }
}

#[test]
fn float_tensors_start_aligned_in_the_file() {
    for (input, latent) in [(1, 1), (2, 1), (6, 3), (7, 5), (784, 64)] {
        let shape = ae_core::format::Shape::implied_by(input as u32);
        let len = ae_core::format::float_file_len(shape, latent as u32).unwrap();
        let mut out = vec![0u8; len];
        let n = common::random_float(input, latent, 3, &mut out);
        assert_eq!(n, len);
        // The float tensors are the last field: they end where the CRC starts.
        let tensors = (2 * input * latent + input + latent) * 4;
        assert_eq!((n - 4 - tensors) % 16, 0, "{input}x{latent}");
    }
}
