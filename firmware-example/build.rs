//! Build script: picks the board's memory layout, and prepares the test digits with the outputs
//! the host computes for them, which the firmware must reproduce exactly.
//!
//! The digits are the first images of the MNIST test split, read at build time from the data
//! directory (`TINYAE_DATA`, else `../../shared/data`, else the MNIST cache that `ae` downloads
//! into), so no data set is copied into the repository.

use std::io::Read;
use std::path::{Path, PathBuf};

const DIGITS: usize = 4;
const PIXELS: usize = 784;
const LATENT: usize = 64;
/// The byte cap the board codes every digit under: one LoRaWAN uplink at its slowest data rate.
const MAX_BYTES: u8 = 51;

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    board_memory(&manifest, &out);
    let digits = load_digits(&manifest);
    std::fs::write(out.join("digits.bin"), &digits).unwrap();
    let mut int8 = expected_int8(&manifest, &digits);
    if std::env::var_os("CARGO_FEATURE_CORRUPT_EXPECTATION").is_some() {
        // The self-test build: one wrong expected pixel must make the run fail.
        if let Some(last) = int8.last_mut() {
            *last ^= 1;
        }
    }
    std::fs::write(out.join("expected-int8.bin"), int8).unwrap();
    std::fs::write(
        out.join("expected-coded.bin"),
        expected_coded(&manifest, &digits),
    )
    .unwrap();
    std::fs::write(
        out.join("expected-float.bin"),
        expected_float(&manifest, &digits),
    )
    .unwrap();
    println!("cargo:rerun-if-changed=assets");
    println!("cargo:rerun-if-changed=boards");
    println!("cargo:rerun-if-env-changed=TINYAE_DATA");
}

fn board_memory(manifest: &Path, out: &Path) {
    let boards = [
        ("CARGO_FEATURE_BOARD_QEMU_MPS2", "mps2-an386.x"),
        ("CARGO_FEATURE_BOARD_QEMU_MICROBIT", "microbit.x"),
        ("CARGO_FEATURE_BOARD_NRF52840", "nrf52840.x"),
    ];
    let chosen: Vec<_> = boards
        .iter()
        .filter(|(f, _)| std::env::var_os(f).is_some())
        .collect();
    let file = match chosen.as_slice() {
        [(_, file)] => file,
        [] => panic!("pick one board feature: use `cargo m4`, `cargo m0` or `cargo nrf52840` (see .cargo/config.toml)"),
        _ => panic!("more than one board feature is enabled"),
    };
    std::fs::copy(manifest.join("boards").join(file), out.join("memory.x")).unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    if std::env::var_os("CARGO_FEATURE_DEFMT").is_some() {
        println!("cargo:rustc-link-arg=-Tdefmt.x");
    }
}

fn test_images_file(manifest: &Path) -> PathBuf {
    let name = "t10k-images-idx3-ubyte.gz";
    let mut candidates = Vec::new();
    if let Some(d) = std::env::var_os("TINYAE_DATA") {
        candidates.push(PathBuf::from(d).join("mnist-subset").join(name));
    }
    candidates.push(manifest.join("../../shared/data/mnist-subset").join(name));
    // The MNIST cache `ae` downloads into serves users without the shared data; CI reads only
    // the places the host tests read (tests/common: TINYAE_DATA, else ../shared/data).
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
    if let (Some(c), None) = (cache, std::env::var_os("CI")) {
        candidates.push(c.join("tinyae/mnist").join(name));
    }
    println!("cargo:rerun-if-env-changed=CI");
    for c in &candidates {
        println!("cargo:rerun-if-changed={}", c.display());
    }
    candidates.into_iter().find(|c| c.is_file()).unwrap_or_else(|| {
        panic!("no MNIST test images found: run the README's main command once (it downloads MNIST), or set TINYAE_DATA")
    })
}

fn load_digits(manifest: &Path) -> Vec<u8> {
    let path = test_images_file(manifest);
    let mut gz = flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap());
    let mut head = [0u8; 16];
    gz.read_exact(&mut head)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        &head[..4],
        &[0, 0, 8, 3],
        "{}: not an IDX image file",
        path.display()
    );
    assert_eq!(
        &head[8..16],
        &[0, 0, 0, 28, 0, 0, 0, 28],
        "{}: not 28x28",
        path.display()
    );
    let mut digits = vec![0u8; DIGITS * PIXELS];
    gz.read_exact(&mut digits)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    digits
}

fn aligned(bytes: &[u8]) -> Vec<u128> {
    let mut words = vec![0u128; bytes.len().div_ceil(16)];
    for (i, b) in bytes.iter().enumerate() {
        words[i / 16] |= u128::from(*b) << (8 * (i % 16));
    }
    words
}

fn as_bytes(words: &[u128], len: usize) -> &[u8] {
    // SAFETY: u128 has no padding and any byte pattern is a valid u8; the length is in bounds.
    unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), len) }
}

/// Per digit: the 64-byte code, then the 784 reconstructed pixels.
fn expected_int8(manifest: &Path, digits: &[u8]) -> Vec<u8> {
    let bytes = std::fs::read(manifest.join("assets/mnist-int8.tnae")).unwrap();
    let words = aligned(&bytes);
    let model = ae_core::MnistInt8::from_bytes(as_bytes(&words, bytes.len())).unwrap();
    let mut out = Vec::new();
    for d in digits.chunks_exact(PIXELS) {
        let image: &[u8; PIXELS] = d.try_into().unwrap();
        let mut code = [0u8; LATENT];
        let mut pixels = [0u8; PIXELS];
        model.encode(image, &mut code);
        model.decode(&code, &mut pixels);
        out.extend_from_slice(&code);
        out.extend_from_slice(&pixels);
    }
    out
}

/// Per digit: the 64 latent floats (little-endian bits), then the 784 reconstructed pixels.
fn expected_float(manifest: &Path, digits: &[u8]) -> Vec<u8> {
    let bytes = std::fs::read(manifest.join("assets/mnist-float.tnae")).unwrap();
    let words = aligned(&bytes);
    let model = ae_core::Mnist::from_bytes(as_bytes(&words, bytes.len())).unwrap();
    let mut out = Vec::new();
    for d in digits.chunks_exact(PIXELS) {
        let image: &[u8; PIXELS] = d.try_into().unwrap();
        let mut scratch = [0.0f32; PIXELS];
        let mut h = [0.0f32; LATENT];
        let mut pixels = [0u8; PIXELS];
        model.encode_pixels(image, &mut scratch, &mut h);
        model.decode_pixels(&h, &mut scratch, &mut pixels);
        for v in h {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&pixels);
    }
    out
}

/// The byte cap, then per digit: the coded length, then `max_coded_len(64)` bytes holding the
/// coded image (step byte and payload) that rate control makes under that cap, zero-padded.
fn expected_coded(manifest: &Path, digits: &[u8]) -> Vec<u8> {
    let bytes = std::fs::read(manifest.join("assets/mnist-int8.tnae")).unwrap();
    let words = aligned(&bytes);
    let model = ae_core::MnistInt8::from_bytes(as_bytes(&words, bytes.len())).unwrap();
    let entropy = model
        .untyped()
        .entropy
        .expect("the int8 asset has no entropy model: re-export it (assets/README.md)");
    let slot = ae_core::entropy::max_coded_len(LATENT);
    let mut out = vec![MAX_BYTES];
    for d in digits.chunks_exact(PIXELS) {
        let image: &[u8; PIXELS] = d.try_into().unwrap();
        let mut code = [0u8; LATENT];
        model.encode(image, &mut code);
        let mut centred = [0i16; LATENT];
        let mut coded = vec![0u8; slot];
        let (n, _) = entropy
            .encode_within(&code, usize::from(MAX_BYTES), &mut centred, &mut coded)
            .unwrap();
        out.push(n as u8);
        out.extend_from_slice(&coded);
    }
    out
}
