//! Build script: picks the board's memory layout, embeds the model and test images the firmware
//! runs, and computes on the host the outputs the board must reproduce exactly.
//!
//! * The model is `TINYAE_MODEL` (any int8 model file `ae export --int8` wrote; a relative path is
//!   taken from the repository root), else the MNIST asset. Its dimensions become the constants
//!   in `dims.rs`, so the firmware's buffers fit the model.
//! * The test images are `TINYAE_IMAGES` (a folder of PNG/PGM pictures, the first
//!   [`IMAGES`] in name order, or an IDX file), else the first MNIST test digits from the data
//!   directory (`TINYAE_DATA`, else `../../shared/data`, else the MNIST cache that `ae` downloads
//!   into; under CI only the first two), so no data set is copied into the repository.
//! * A model that cannot fit the board's flash or RAM fails the build, saying by how much.

use std::io::Read;
use std::path::{Path, PathBuf};

/// Test images embedded.
const IMAGES: usize = 4;
/// The byte cap the board codes every image under: one LoRaWAN uplink at its slowest data rate.
const MAX_BYTES: u8 = 51;
/// Flash the firmware's code and tables take besides the model and images (measured: 53 KB on
/// the micro:bit build), rounded up.
const CODE_FLASH: usize = 64 * 1024;
/// RAM besides the image-sized buffers: inference and coder stacks (under 1 KB measured), the
/// reporting code's frames and the runtime, rounded up.
const BASE_RAM: usize = 6 * 1024;

/// The model the firmware runs.
struct Embedded {
    bytes: Vec<u8>,
    input: usize,
    latent: usize,
    rows: usize,
    cols: usize,
    /// The MNIST asset (with its float model) rather than a user's model.
    is_default: bool,
}

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    println!("cargo::rustc-check-cfg=cfg(float_asset)");
    let (flash, ram) = board_memory(&manifest, &out);
    let model = embedded_model(&manifest);
    let images = load_images(&manifest, &model);
    check_fits(&model, &images, flash, ram);
    std::fs::write(out.join("model-int8.tnae"), &model.bytes).unwrap();
    std::fs::write(
        out.join("dims.rs"),
        format!(
            "/// Pixels per image of the embedded model.\npub const PIXELS: usize = {};\n\
             /// Latent dimensions of the embedded model.\npub const LATENT: usize = {};\n",
            model.input, model.latent
        ),
    )
    .unwrap();
    std::fs::write(out.join("digits.bin"), &images).unwrap();
    let mut int8 = expected_int8(&model, &images);
    if std::env::var_os("CARGO_FEATURE_CORRUPT_EXPECTATION").is_some() {
        // The self-test build: one wrong expected pixel must make the run fail.
        if let Some(last) = int8.last_mut() {
            *last ^= 1;
        }
    }
    std::fs::write(out.join("expected-int8.bin"), int8).unwrap();
    std::fs::write(
        out.join("expected-coded.bin"),
        expected_coded(&model, &images),
    )
    .unwrap();
    if model.is_default {
        println!("cargo:rustc-cfg=float_asset");
        std::fs::write(
            out.join("expected-float.bin"),
            expected_float(&manifest, &images),
        )
        .unwrap();
    }
    let (model, expected) = small_float_model();
    std::fs::write(out.join("odd-float-model.tnae"), model).unwrap();
    std::fs::write(out.join("odd-float-expected.bin"), expected).unwrap();
    for (name, shape, latent) in SMALL_MODELS {
        let (model, images, expected) = small_model(shape, latent);
        std::fs::write(out.join(format!("{name}-model.tnae")), model).unwrap();
        std::fs::write(out.join(format!("{name}-images.bin")), images).unwrap();
        std::fs::write(out.join(format!("{name}-expected.bin")), expected).unwrap();
    }
    println!("cargo:rerun-if-changed=assets");
    println!("cargo:rerun-if-changed=boards");
    println!("cargo:rerun-if-env-changed=TINYAE_DATA");
    println!("cargo:rerun-if-env-changed=TINYAE_MODEL");
    println!("cargo:rerun-if-env-changed=TINYAE_IMAGES");
}

/// Copies the chosen board's `memory.x` and returns its flash and RAM sizes.
fn board_memory(manifest: &Path, out: &Path) -> (usize, usize) {
    let boards = [
        (
            "CARGO_FEATURE_BOARD_QEMU_MPS2",
            "mps2-an386.x",
            4 << 20,
            4 << 20,
        ),
        (
            "CARGO_FEATURE_BOARD_QEMU_MICROBIT",
            "microbit.x",
            256 << 10,
            16 << 10,
        ),
        (
            "CARGO_FEATURE_BOARD_NRF52840",
            "nrf52840.x",
            1 << 20,
            256 << 10,
        ),
    ];
    let chosen: Vec<_> = boards
        .iter()
        .filter(|(f, ..)| std::env::var_os(f).is_some())
        .collect();
    let (file, flash, ram) = match chosen.as_slice() {
        [(_, file, flash, ram)] => (file, *flash, *ram),
        [] => panic!("pick one board feature: use `cargo m4`, `cargo m0` or `cargo nrf52840` (see .cargo/config.toml)"),
        _ => panic!("more than one board feature is enabled"),
    };
    std::fs::copy(manifest.join("boards").join(file), out.join("memory.x")).unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    if std::env::var_os("CARGO_FEATURE_DEFMT").is_some() {
        println!("cargo:rustc-link-arg=-Tdefmt.x");
    }
    (flash, ram)
}

/// A path from the environment: absolute, or relative to the repository root.
fn env_path(manifest: &Path, name: &str) -> Option<PathBuf> {
    let value = PathBuf::from(std::env::var_os(name)?);
    let path = if value.is_absolute() {
        value
    } else {
        manifest.join("..").join(value)
    };
    println!("cargo:rerun-if-changed={}", path.display());
    Some(path)
}

fn embedded_model(manifest: &Path) -> Embedded {
    let (path, is_default) = match env_path(manifest, "TINYAE_MODEL") {
        Some(p) => (p, false),
        None => (manifest.join("assets/mnist-int8.tnae"), true),
    };
    let bytes =
        std::fs::read(&path).unwrap_or_else(|e| panic!("TINYAE_MODEL {}: {e}", path.display()));
    let words = aligned(&bytes);
    let model = match ae_core::format::ModelRef::parse(as_bytes(&words, bytes.len())) {
        Ok(ae_core::format::ModelRef::Int8(m)) => m,
        Ok(_) => panic!(
            "{} is a float model: the boards run int8 models (`ae export --int8`)",
            path.display()
        ),
        Err(e) => panic!("{}: {e}", path.display()),
    };
    let (input, latent) = model.dims().as_usize();
    Embedded {
        input,
        latent,
        rows: model.shape().rows as usize,
        cols: model.shape().cols as usize,
        bytes,
        is_default,
    }
}

/// Fails the build when the model, images and expectations cannot fit the board.
fn check_fits(model: &Embedded, images: &[u8], flash: usize, ram: usize) {
    let per_image = model.latent + model.input + 1 + ae_core::entropy::max_coded_len(model.latent);
    let flash_needed = CODE_FLASH + model.bytes.len() + images.len() + IMAGES * per_image;
    // Image, reconstruction, code, centred scratch and coded image live on the stack at once.
    let ram_needed = BASE_RAM + 2 * model.input + 4 * model.latent + 2 * model.latent + 16;
    if flash_needed > flash {
        panic!(
            "the model ({} bytes) with its test images and code needs about {flash_needed} bytes of \
             flash; this board has {flash}: {} bytes too many. Train a smaller model (--latent, \
             smaller images) or pick a board with more flash.",
            model.bytes.len(),
            flash_needed - flash
        );
    }
    if ram_needed > ram {
        panic!(
            "a {}x{} image needs about {ram_needed} bytes of RAM for its buffers and stack; this \
             board has {ram}: {} bytes too many.",
            model.cols,
            model.rows,
            ram_needed - ram
        );
    }
}

/// The first [`IMAGES`] test images, of the model's shape.
fn load_images(manifest: &Path, model: &Embedded) -> Vec<u8> {
    let (images, rows, cols, source) = match env_path(manifest, "TINYAE_IMAGES") {
        Some(p) if p.is_dir() => {
            let (images, rows, cols) = picture_folder(&p);
            (images, rows, cols, p)
        }
        Some(p) => {
            let (images, rows, cols) = idx_images(&p);
            (images, rows, cols, p)
        }
        None => {
            let p = mnist_test_images(manifest);
            let (images, rows, cols) = idx_images(&p);
            (images, rows, cols, p)
        }
    };
    if (rows, cols) != (model.rows, model.cols) {
        panic!(
            "{}: images are {cols}x{rows}, the model takes {}x{} (set TINYAE_IMAGES to images of \
             the model's size)",
            source.display(),
            model.cols,
            model.rows
        );
    }
    images
}

/// The first [`IMAGES`] pictures of a folder, in name order, 8-bit grey.
fn picture_folder(dir: &Path) -> (Vec<u8>, usize, usize) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("TINYAE_IMAGES {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    let mut pixels = Vec::new();
    let mut shape = None;
    for path in files.iter().take(IMAGES) {
        let img = image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if !matches!(img.color(), image::ColorType::L8) {
            panic!("{}: not an 8-bit grey picture", path.display());
        }
        let (rows, cols) = (img.height() as usize, img.width() as usize);
        if *shape.get_or_insert((rows, cols)) != (rows, cols) {
            panic!("{}: pictures of different sizes", path.display());
        }
        pixels.extend(img.to_luma8().into_raw());
    }
    let (rows, cols) = shape.unwrap_or_else(|| panic!("{}: no pictures", dir.display()));
    (pixels, rows, cols)
}

/// The first [`IMAGES`] images of an IDX image file (raw or gzip).
fn idx_images(path: &Path) -> (Vec<u8>, usize, usize) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader: Box<dyn Read> = if bytes.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::MultiGzDecoder::new(&bytes[..]))
    } else {
        Box::new(&bytes[..])
    };
    let mut head = [0u8; 16];
    reader
        .read_exact(&mut head)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        &head[..4],
        &[0, 0, 8, 3],
        "{}: not an IDX image file",
        path.display()
    );
    let dim = |i: usize| u32::from_be_bytes(head[i..i + 4].try_into().unwrap()) as usize;
    let (count, rows, cols) = (dim(4), dim(8), dim(12));
    let take = count.min(IMAGES);
    assert!(take > 0, "{}: no images", path.display());
    let mut pixels = vec![0u8; take * rows * cols];
    reader
        .read_exact(&mut pixels)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (pixels, rows, cols)
}

/// The MNIST test split's image file: where the host tests look, or (outside CI) the cache `ae`
/// downloads MNIST into.
fn mnist_test_images(manifest: &Path) -> PathBuf {
    let name = "t10k-images-idx3-ubyte.gz";
    let mut candidates = Vec::new();
    if let Some(d) = std::env::var_os("TINYAE_DATA") {
        candidates.push(PathBuf::from(d).join("mnist-subset").join(name));
    }
    candidates.push(manifest.join("../../shared/data/mnist-subset").join(name));
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
        panic!("no MNIST test images found: run the README's main command once (it downloads MNIST), or set TINYAE_DATA or TINYAE_IMAGES")
    })
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

fn parsed<'a>(model: &Embedded, words: &'a [u128]) -> ae_core::format::Int8Ref<'a> {
    match ae_core::format::ModelRef::parse(as_bytes(words, model.bytes.len())) {
        Ok(ae_core::format::ModelRef::Int8(m)) => m,
        _ => unreachable!("checked in embedded_model"),
    }
}

/// Per image: the code, then the reconstructed pixels.
fn expected_int8(model: &Embedded, images: &[u8]) -> Vec<u8> {
    let words = aligned(&model.bytes);
    let m = parsed(model, &words);
    let mut out = Vec::new();
    for image in images.chunks_exact(model.input) {
        let mut code = vec![0u8; model.latent];
        let mut pixels = vec![0u8; model.input];
        m.encode(image, &mut code).unwrap();
        m.decode(&code, &mut vec![0i16; model.latent], &mut pixels)
            .unwrap();
        out.extend_from_slice(&code);
        out.extend_from_slice(&pixels);
    }
    out
}

/// Per image of the MNIST asset's float model: the latent floats (little-endian bits), then the
/// reconstructed pixels.
fn expected_float(manifest: &Path, images: &[u8]) -> Vec<u8> {
    let bytes = std::fs::read(manifest.join("assets/mnist-float.tnae")).unwrap();
    let words = aligned(&bytes);
    let model = ae_core::Mnist::from_bytes(as_bytes(&words, bytes.len())).unwrap();
    let mut out = Vec::new();
    for d in images.chunks_exact(ae_core::MNIST_PIXELS) {
        let image: &[u8; ae_core::MNIST_PIXELS] = d.try_into().unwrap();
        let mut scratch = ae_core::nalgebra::SVector::<f32, { ae_core::MNIST_PIXELS }>::zeros();
        let mut h = ae_core::nalgebra::SVector::<f32, { ae_core::MNIST_LATENT }>::zeros();
        let mut pixels = [0u8; ae_core::MNIST_PIXELS];
        model.encode_pixels(image, &mut scratch, &mut h);
        model.decode_pixels(&h, &mut scratch, &mut pixels);
        for v in h.iter() {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&pixels);
    }
    out
}

/// The byte cap, then per image: the coded length, then `max_coded_len(latent)` bytes holding
/// the coded image that rate control makes under that cap, zero-padded. Only the cap when the
/// model has no entropy model.
fn expected_coded(model: &Embedded, images: &[u8]) -> Vec<u8> {
    let words = aligned(&model.bytes);
    let m = parsed(model, &words);
    let mut out = vec![MAX_BYTES];
    let Some(entropy) = m.entropy() else {
        return out;
    };
    let slot = ae_core::entropy::max_coded_len(model.latent);
    for image in images.chunks_exact(model.input) {
        let mut code = vec![0u8; model.latent];
        m.encode(image, &mut code).unwrap();
        let mut centred = vec![0i16; model.latent];
        let mut coded = vec![0u8; slot];
        let (n, _) = entropy
            .encode_within(&code, usize::from(MAX_BYTES), &mut centred, &mut coded)
            .unwrap();
        out.push(n as u8);
        out.extend_from_slice(&coded);
    }
    out
}

/// Small pseudo-random models whose sizes reach the kernel paths the 784/64 model never does:
/// - `odd`, 5x7 -> 7: odd lengths, no multiple of any kernel block, so every tail loop, the
///   misaligned-scratch fallback and the odd last rows run;
/// - `blocks`, 5x8 -> 24: rows of 40 and 24, multiples of 8 but not of 16, so the DSP kernels'
///   two-groups-per-pass variant runs (the 784/64 model only takes the four-group one), and
///   rows come in whole groups of four.
const SMALL_MODELS: [(&str, (u32, u32), usize); 2] = [("odd", (5, 7), 7), ("blocks", (5, 8), 24)];
/// Test images per small model.
const SMALL_IMAGES: usize = 5;

/// A deterministic pseudo-random int8 model of `rows * cols` -> `latent`, a few images (extremes
/// included) and, per image, the host's code then pixels.
fn small_model((rows, cols): (u32, u32), latent: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let input = (rows * cols) as usize;
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
    let enc_w = weights(input * latent);
    let dec_w = weights(input * latent);
    let rq = |m: f64| Requant::from_real(m).unwrap();
    let (pos, neg, dec) = (rq(2.0e-4), rq(0.6e-4), rq(4.0e-3));
    let enc_mult: Vec<i32> = (0..latent)
        .flat_map(|_| [pos.multiplier, neg.multiplier])
        .collect();
    let enc_shift: Vec<u8> = (0..latent).flat_map(|_| [pos.shift, neg.shift]).collect();
    let enc_bias: Vec<i32> = (0..latent as i32).map(|j| 1000 * j - 3000).collect();
    let dec_bias: Vec<i32> = (0..input as i32).map(|i| 500 * (i % 9) - 2000).collect();
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
            multipliers: &vec![dec.multiplier; input],
            shifts: &vec![dec.shift; input],
        },
    };
    let shape = Shape { rows, cols };
    let len = ae_core::format::int8_file_len(shape, latent as u32, false).unwrap();
    let mut file = vec![0u8; len];
    let n =
        ae_core::format::write_int8_shaped(shape, latent as u32, 0.3, &tensors, None, &mut file)
            .unwrap();
    assert_eq!(n, len);
    let mut images = vec![255u8; input];
    images.extend(vec![0u8; input]);
    images.extend((0..input).map(|k| if k % 2 == 0 { 255 } else { 0 }));
    images.extend((0..(SMALL_IMAGES - 3) * input).map(|_| next() as u8));
    let words = aligned(&file);
    let model = match ae_core::format::ModelRef::parse(as_bytes(&words, file.len())).unwrap() {
        ae_core::format::ModelRef::Int8(m) => m,
        ae_core::format::ModelRef::Float(_) => unreachable!("written as int8"),
    };
    let mut expected = Vec::new();
    for image in images.chunks_exact(input) {
        let mut code = vec![0u8; latent];
        let mut pixels = vec![0u8; input];
        model.encode(image, &mut code).unwrap();
        model
            .decode(&code, &mut vec![0i16; latent], &mut pixels)
            .unwrap();
        expected.extend_from_slice(&code);
        expected.extend_from_slice(&pixels);
    }
    // The model must exercise the arithmetic, not clamp everything to one value.
    let mut codes: Vec<u8> = expected
        .chunks_exact(latent + input)
        .flat_map(|e| e[..latent].to_vec())
        .collect();
    codes.sort_unstable();
    codes.dedup();
    assert!(
        codes.len() >= 8,
        "{input}/{latent} model codes barely vary: {codes:?}"
    );
    (file, images, expected)
}

/// A deterministic pseudo-random float model of 35 -> 7 and, for the `odd` model's images, the
/// host's latent values then output values (all as little-endian `f32` bits). 35 = 2 * 16 + 3 and
/// 7 < 16, so the float kernels' tail loop and their no-whole-chunk case run on the board.
fn small_float_model() -> (Vec<u8>, Vec<u8>) {
    let (input, latent) = (35usize, 7usize);
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        // Uniform in [-0.5, 0.5): 24 random bits.
        ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
    };
    let mut values = |n: usize| -> Vec<f32> { (0..n).map(|_| next()).collect() };
    let (ew, eb, dw, db) = (
        values(input * latent),
        values(latent),
        values(input * latent),
        values(input),
    );
    let tensors = ae_core::format::FloatTensors {
        encoder_weights: &ew,
        encoder_bias: &eb,
        decoder_weights: &dw,
        decoder_bias: &db,
    };
    let shape = ae_core::format::Shape::implied_by(input as u32);
    let len = ae_core::format::float_file_len(shape, latent as u32).unwrap();
    let mut file = vec![0u8; len];
    let n = ae_core::format::write_float(input as u32, latent as u32, 0.3, &tensors, &mut file)
        .unwrap();
    assert_eq!(n, len);
    let words = aligned(&file);
    let model = match ae_core::format::ModelRef::parse(as_bytes(&words, file.len())).unwrap() {
        ae_core::format::ModelRef::Float(m) => m,
        ae_core::format::ModelRef::Int8(_) => unreachable!("written as float"),
    };
    let (_, images, _) = small_model(SMALL_MODELS[0].1, SMALL_MODELS[0].2);
    let mut expected = Vec::new();
    for image in images.chunks_exact(input) {
        let x: Vec<f32> = image.iter().map(|&p| ae_core::pixels::to_unit(p)).collect();
        let (mut h, mut y) = (vec![0.0f32; latent], vec![0.0f32; input]);
        model.encode(&x, &mut h).unwrap();
        model.decode(&h, &mut y).unwrap();
        for v in h.iter().chain(&y) {
            expected.extend_from_slice(&v.to_le_bytes());
        }
    }
    (file, expected)
}
