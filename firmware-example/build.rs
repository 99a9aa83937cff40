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
    let (odd_model, odd_images, odd_expected) = odd_sized_model();
    std::fs::write(out.join("odd-model.tnae"), odd_model).unwrap();
    std::fs::write(out.join("odd-images.bin"), odd_images).unwrap();
    std::fs::write(out.join("odd-expected.bin"), odd_expected).unwrap();
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

/// Input and latent size of the second, deliberately awkward model: 5x7 images into 7 codes.
/// 35 and 7 are odd and not multiples of any kernel block, so the boards run every tail loop,
/// the unaligned fallbacks and the odd last row that the 784/64 model never reaches.
const ODD_INPUT: usize = 35;
const ODD_LATENT: usize = 7;
const ODD_IMAGES: usize = 5;

/// A deterministic pseudo-random int8 model of [`ODD_INPUT`] -> [`ODD_LATENT`], a few images
/// (extremes included) and, per image, the host's code then pixels.
fn odd_sized_model() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    use ae_core::format::{Int8Tensors, QuantLayerTensors, Shape};
    use ae_core::requant::Requant;
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut weights = |n: usize| -> Vec<i8> { (0..n).map(|_| next() as u8 as i8).collect() };
    let enc_w = weights(ODD_INPUT * ODD_LATENT);
    let dec_w = weights(ODD_INPUT * ODD_LATENT);
    let rq = |m: f64| Requant::from_real(m).unwrap();
    let (pos, neg, dec) = (rq(2.0e-4), rq(0.6e-4), rq(4.0e-3));
    let enc_mult: Vec<i32> = (0..ODD_LATENT)
        .flat_map(|_| [pos.multiplier, neg.multiplier])
        .collect();
    let enc_shift: Vec<u8> = (0..ODD_LATENT)
        .flat_map(|_| [pos.shift, neg.shift])
        .collect();
    let enc_bias: Vec<i32> = (0..ODD_LATENT as i32).map(|j| 1000 * j - 3000).collect();
    let dec_bias: Vec<i32> = (0..ODD_INPUT as i32)
        .map(|i| 500 * (i % 9) - 2000)
        .collect();
    let tensors = Int8Tensors {
        latent_scale: 0.05,
        latent_zero_point: 120,
        encoder: QuantLayerTensors {
            weights: &enc_w,
            bias: &enc_bias,
            multipliers: &enc_mult,
            shifts: &enc_shift,
        },
        decoder: QuantLayerTensors {
            weights: &dec_w,
            bias: &dec_bias,
            multipliers: &[dec.multiplier; ODD_INPUT],
            shifts: &[dec.shift; ODD_INPUT],
        },
    };
    let mut file = vec![0u8; 4096];
    let shape = Shape { rows: 5, cols: 7 };
    let n = ae_core::format::write_int8_shaped(
        shape,
        ODD_LATENT as u32,
        0.3,
        &tensors,
        None,
        &mut file,
    )
    .unwrap();
    file.truncate(n);
    let mut images = vec![255u8; ODD_INPUT];
    images.extend([0u8; ODD_INPUT]);
    images.extend((0..ODD_INPUT).map(|k| if k % 2 == 0 { 255 } else { 0 }));
    images.extend((0..(ODD_IMAGES - 3) * ODD_INPUT).map(|_| next() as u8));
    let words = aligned(&file);
    let model = match ae_core::format::ModelRef::parse(as_bytes(&words, file.len())).unwrap() {
        ae_core::format::ModelRef::Int8(m) => m,
        ae_core::format::ModelRef::Float(_) => unreachable!("written as int8"),
    };
    let mut expected = Vec::new();
    for image in images.chunks_exact(ODD_INPUT) {
        let mut code = [0u8; ODD_LATENT];
        let mut pixels = [0u8; ODD_INPUT];
        model.encode(image, &mut code).unwrap();
        model
            .decode(&code, &mut [0i16; ODD_LATENT], &mut pixels)
            .unwrap();
        expected.extend_from_slice(&code);
        expected.extend_from_slice(&pixels);
    }
    // The model must exercise the arithmetic, not clamp everything to one value.
    let mut codes: Vec<u8> = expected
        .chunks_exact(ODD_LATENT + ODD_INPUT)
        .flat_map(|e| e[..ODD_LATENT].to_vec())
        .collect();
    codes.sort_unstable();
    codes.dedup();
    assert!(codes.len() >= 8, "35/7 model codes barely vary: {codes:?}");
    (file, images, expected)
}
