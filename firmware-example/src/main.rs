//! tinyae on a microcontroller: the 784-byte MNIST digits embedded below each become a 64-byte
//! code and back, through the int8 path (and the float path where there is an FPU).
//!
//! For every digit it prints the code, the reconstruction's PSNR and the instructions (QEMU) or
//! cycles (DWT) of encode and decode, and it checks every code and every pixel against what
//! ae-core computed on the host at build time (`build.rs`). The program exits with success only
//! if all of them match. The model is read in place from flash.
#![no_std]
#![no_main]

// One board at a time: each sets the target, the memory map and how results are reported.
#[cfg(any(
    all(feature = "board-qemu-mps2", feature = "board-qemu-microbit"),
    all(feature = "board-qemu-mps2", feature = "board-nrf52840"),
    all(feature = "board-qemu-microbit", feature = "board-nrf52840"),
))]
compile_error!(
    "the features board-qemu-mps2, board-qemu-microbit and board-nrf52840 exclude each other: \
     enable exactly one board"
);

#[cfg(not(feature = "panic-check"))]
mod counter;
mod report;
#[cfg(not(feature = "panic-check"))]
mod stack;

/// `PIXELS` and `LATENT` of the embedded model (written by build.rs from the model file).
mod dims {
    include!(concat!(env!("OUT_DIR"), "/dims.rs"));
}

use ae_core::Aligned;
use dims::{LATENT, PIXELS};

/// The embedded int8 model, sized at compile time from its file.
type Model<'a> = ae_core::Int8Model<'a, PIXELS, LATENT>;
use cortex_m_rt::entry;

/// The int8 model: `TINYAE_MODEL` at build time, else the MNIST asset exported by
/// `ae export --int8` (see assets/README.md for the command).
static MODEL_INT8: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(
    env!("OUT_DIR"),
    "/model-int8.tnae"
)));
/// The float model it was exported from.
#[cfg(all(feature = "fpu", float_asset, not(feature = "panic-check")))]
static MODEL_FLOAT: &Aligned<[u8]> = &Aligned(*include_bytes!("../assets/mnist-float.tnae"));
/// Test digits (784 bytes each), taken from the MNIST test split at build time.
static DIGITS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/digits.bin"));
/// Per digit: the host's 64-byte code and 784 reconstructed pixels.
static EXPECTED_INT8: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/expected-int8.bin"));
/// The byte cap, then per digit the host's coded length and coded image (in a `CODED_MAX` slot).
#[cfg(not(feature = "panic-check"))]
static EXPECTED_CODED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/expected-coded.bin"));
/// Room for the longest coded image of a 64-dimensional code.
const CODED_MAX: usize = ae_core::entropy::max_coded_len(LATENT);
/// Per digit: the host's 64 latent floats (LE bits) and 784 reconstructed pixels.
#[cfg(all(feature = "fpu", float_asset, not(feature = "panic-check")))]
static EXPECTED_FLOAT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/expected-float.bin"));

/// A small model whose sizes reach the kernels' tail loops, odd last rows or block variants
/// (made by build.rs: see `SMALL_MODELS` there), its test images, and the host's codes and pixels.
#[cfg(not(feature = "panic-check"))]
struct SmallModel {
    label: &'static str,
    input: usize,
    latent: usize,
    model: &'static Aligned<[u8]>,
    images: &'static [u8],
    expected: &'static [u8],
}

#[cfg(not(feature = "panic-check"))]
static SMALL_MODELS: [SmallModel; 2] = [
    SmallModel {
        label: "35/7 model (tails, odd rows, misaligned scratch)",
        input: 35,
        latent: 7,
        model: &Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/odd-model.tnae"))),
        images: include_bytes!(concat!(env!("OUT_DIR"), "/odd-images.bin")),
        expected: include_bytes!(concat!(env!("OUT_DIR"), "/odd-expected.bin")),
    },
    SmallModel {
        label: "40/24 model (rows of 8 * odd)",
        input: 40,
        latent: 24,
        model: &Aligned(*include_bytes!(concat!(
            env!("OUT_DIR"),
            "/blocks-model.tnae"
        ))),
        images: include_bytes!(concat!(env!("OUT_DIR"), "/blocks-images.bin")),
        expected: include_bytes!(concat!(env!("OUT_DIR"), "/blocks-expected.bin")),
    },
];

/// A 35 -> 7 float model (made by build.rs) for the `odd` images, and the host's latent and
/// output values as `f32` bits.
#[cfg(all(feature = "fpu", not(feature = "panic-check")))]
static ODD_FLOAT_MODEL: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(
    env!("OUT_DIR"),
    "/odd-float-model.tnae"
)));
#[cfg(all(feature = "fpu", not(feature = "panic-check")))]
static ODD_FLOAT_EXPECTED: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/odd-float-expected.bin"));

/// Multiply-accumulates in one encode plus one decode of the 784/64 model.
pub const MACS: u32 = 2 * (PIXELS * LATENT) as u32;

#[entry]
fn main() -> ! {
    #[cfg(not(feature = "panic-check"))]
    let ok = run();
    #[cfg(feature = "panic-check")]
    let ok = run_silent();
    report::exit(ok)
}

/// The inference alone, with no formatting or printing: what the `panic-check` build links, so
/// that a panic reachable from loading, encoding or decoding fails the build. Exits 0 only if
/// every output matches the host's.
#[cfg(feature = "panic-check")]
fn run_silent() -> bool {
    let Ok(model) = Model::from_bytes(&MODEL_INT8.0) else {
        return false;
    };
    let digits = DIGITS.len() / PIXELS;
    if digits == 0 || EXPECTED_INT8.len() != digits * (LATENT + PIXELS) {
        return false;
    }
    let mut ok = true;
    for (digit, expected) in DIGITS
        .chunks_exact(PIXELS)
        .zip(EXPECTED_INT8.chunks_exact(LATENT + PIXELS))
    {
        let Ok(image) = <&[u8; PIXELS]>::try_from(digit) else {
            return false;
        };
        let mut code = [0u8; LATENT];
        let mut pixels = [0u8; PIXELS];
        model.encode(image, &mut code);
        model.decode(&code, &mut pixels);
        ok &= code[..] == expected[..LATENT] && pixels[..] == expected[LATENT..];
        if let Some(entropy) = model.untyped().entropy() {
            let mut centred = [0i16; LATENT];
            let mut coded = [0u8; CODED_MAX];
            let mut recon = [0u8; LATENT];
            let mut back = [0u8; LATENT];
            match entropy.encode_within(&code, 51, &mut centred, &mut coded) {
                Ok((n, _)) => {
                    entropy.reconstructed(&centred, &mut recon);
                    let coded = coded.get(..n).unwrap_or(&[]);
                    ok &= entropy.decode(coded, &mut centred, &mut back).is_ok() && back == recon;
                }
                Err(_) => return false,
            }
        }
    }
    ok
}

/// Everything, returning whether every output matched the host's.
#[cfg(not(feature = "panic-check"))]
fn run() -> bool {
    let Some(mut cp) = cortex_m::Peripherals::take() else {
        return false;
    };
    let mut counter = counter::Counter::new(cp.SYST, &mut cp.DCB, &mut cp.DWT);
    let Ok(model) = Model::from_bytes(&MODEL_INT8.0) else {
        report::line(format_args!("int8 model failed to load"));
        return false;
    };
    let digits = DIGITS.len() / PIXELS;
    // One expectation per digit, and at least one digit: a short or empty expectations file must
    // fail, not compare nothing.
    if digits == 0 || EXPECTED_INT8.len() != digits * (LATENT + PIXELS) {
        report::line(format_args!("int8 expectations do not cover the digits"));
        return false;
    }
    let mut ok = true;
    report::line(format_args!(
        "tinyae int8: {} digits, model {} bytes in flash",
        DIGITS.len() / PIXELS,
        MODEL_INT8.0.len()
    ));
    for (n, (digit, expected)) in DIGITS
        .chunks_exact(PIXELS)
        .zip(EXPECTED_INT8.chunks_exact(LATENT + PIXELS))
        .enumerate()
    {
        let Ok(image) = <&[u8; PIXELS]>::try_from(digit) else {
            return false;
        };
        let mut code = [0u8; LATENT];
        let mut pixels = [0u8; PIXELS];
        let enc = counter.measure(|| model.encode(image, &mut code));
        let dec = counter.measure(|| model.decode(&code, &mut pixels));
        let matches = code[..] == expected[..LATENT] && pixels[..] == expected[LATENT..];
        ok &= matches;
        report::digit(
            n,
            "int8",
            &code,
            report::psnr(image, &pixels),
            enc,
            dec,
            matches,
        );
    }
    ok &= run_entropy(&mut counter, &model);
    for small in &SMALL_MODELS {
        ok &= run_small_model(small);
    }
    #[cfg(feature = "fpu")]
    {
        ok &= run_small_float();
    }
    let mut code = [0u8; LATENT];
    let mut pixels = [0u8; PIXELS];
    let image = <&[u8; PIXELS]>::try_from(&DIGITS[..PIXELS]).ok();
    let stack = stack::measure(|| {
        if let Some(image) = image {
            infer(&model, image, &mut code, &mut pixels);
        }
    });
    report::line(format_args!(
        "int8 encode+decode stack: {stack} bytes (a frame of its own and everything below; at least the 64-byte unpainted margin), plus the caller's {} bytes of image and code",
        PIXELS + LATENT
    ));
    if let Some(entropy) = model.untyped().entropy() {
        let mut centred = [0i16; LATENT];
        let mut coded = [0u8; CODED_MAX];
        let mut back = [0u8; LATENT];
        let stack = stack::measure(|| {
            code_and_decode(&entropy, &code, &mut centred, &mut coded, &mut back)
        });
        report::line(format_args!(
            "entropy code+decode stack: {stack} bytes, plus the caller's {} bytes of code, scratch and coded image",
            2 * LATENT + 2 * LATENT + CODED_MAX
        ));
    }
    #[cfg(all(feature = "fpu", float_asset))]
    {
        ok &= run_float(&mut counter);
    }
    report::line(format_args!(
        "{}",
        if ok {
            "all outputs match the host"
        } else {
            "MISMATCH with the host"
        }
    ));
    ok
}

/// Codes every digit's 8-bit code under the byte cap (`ae compress --max-bytes` semantics),
/// checks each coded byte against the host's, decodes it back, and counts both directions.
#[cfg(not(feature = "panic-check"))]
fn run_entropy(counter: &mut counter::Counter, model: &Model<'_>) -> bool {
    let Some((&cap, expected)) = EXPECTED_CODED.split_first() else {
        return false;
    };
    let Some(entropy) = model.untyped().entropy() else {
        // Only a model exported without one (an older tinyae): nothing to code, nothing expected.
        report::line(format_args!(
            "the int8 model has no entropy model: coding skipped"
        ));
        return expected.is_empty();
    };
    let digits = DIGITS.len() / PIXELS;
    // One expectation per digit, and at least one: a short file must not compare nothing.
    if digits == 0 || expected.len() != digits * (1 + CODED_MAX) {
        report::line(format_args!("entropy expectations do not cover the digits"));
        return false;
    }
    let mut ok = true;
    for (n, (digit, expected)) in DIGITS
        .chunks_exact(PIXELS)
        .zip(expected.chunks_exact(1 + CODED_MAX))
        .enumerate()
    {
        let Ok(image) = <&[u8; PIXELS]>::try_from(digit) else {
            return false;
        };
        let mut code = [0u8; LATENT];
        model.encode(image, &mut code);
        let mut centred = [0i16; LATENT];
        let mut coded = [0u8; CODED_MAX];
        let mut result = Err(ae_core::Error::CorruptCode);
        let enc = counter.measure(|| {
            result = entropy.encode_within(&code, usize::from(cap), &mut centred, &mut coded);
        });
        let mut recon = [0u8; LATENT];
        entropy.reconstructed(&centred, &mut recon);
        let Ok((len, step)) = result else {
            report::line(format_args!("digit {n}: does not fit in {cap} bytes"));
            return false;
        };
        let mut back = [0u8; LATENT];
        let mut decoded = Err(ae_core::Error::CorruptCode);
        let dec =
            counter.measure(|| decoded = entropy.decode(&coded[..len], &mut centred, &mut back));
        let want_len = usize::from(expected[0]);
        let matches = len == want_len
            && coded[..len] == expected[1..1 + want_len]
            && decoded == Ok(step)
            && back == recon;
        ok &= matches;
        report::line(format_args!(
            "digit {n} entropy: {len} bytes (cap {cap}) at step {step}; coder encode {enc} {unit}, decode {dec} {unit}; {}",
            if matches { "matches host" } else { "MISMATCH" },
            unit = counter::UNIT
        ));
    }
    ok
}

/// Runs a small model on its images through the run-time-sized API and checks every code and
/// pixel against the host's. The decoder's scratch starts at an odd half-word (not 4-byte
/// aligned) when the latent size is odd, which sends the DSP decoder down its fallback.
#[cfg(not(feature = "panic-check"))]
fn run_small_model(small: &SmallModel) -> bool {
    const MAX: usize = 64;
    let SmallModel {
        label,
        input,
        latent,
        model,
        images,
        expected,
    } = *small;
    let Ok(ae_core::format::ModelRef::Int8(model)) = ae_core::format::ModelRef::parse(&model.0)
    else {
        report::line(format_args!("{label} failed to load"));
        return false;
    };
    let count = images.len() / input.max(1);
    if count == 0 || input > MAX || latent >= MAX || expected.len() != count * (latent + input) {
        report::line(format_args!(
            "{label}: expectations do not cover the images"
        ));
        return false;
    }
    let mut scratch = Aligned([0i16; MAX]);
    let offset = latent % 2;
    let mut matched = 0;
    for (image, expected) in images
        .chunks_exact(input)
        .zip(expected.chunks_exact(latent + input))
    {
        let (mut code, mut pixels) = ([0u8; MAX], [0u8; MAX]);
        let (code, pixels) = (&mut code[..latent], &mut pixels[..input]);
        let centred = &mut scratch.0[offset..offset + latent];
        let ran = model.encode(image, code).is_ok() && model.decode(code, centred, pixels).is_ok();
        if ran && code[..] == expected[..latent] && pixels[..] == expected[latent..] {
            matched += 1;
        }
    }
    report::line(format_args!(
        "{label}: {matched} of {count} images match the host"
    ));
    matched == count
}

/// Runs the 35 -> 7 float model on the `odd` images and checks every latent and output value
/// against the host's, bit for bit: the float kernels' tails and short rows.
#[cfg(all(feature = "fpu", not(feature = "panic-check")))]
fn run_small_float() -> bool {
    const INPUT: usize = 35;
    const LATENT_ODD: usize = 7;
    let Ok(ae_core::format::ModelRef::Float(model)) =
        ae_core::format::ModelRef::parse(&ODD_FLOAT_MODEL.0)
    else {
        report::line(format_args!("35/7 float model failed to load"));
        return false;
    };
    let images = SMALL_MODELS[0].images;
    let count = images.len() / INPUT;
    if count == 0 || ODD_FLOAT_EXPECTED.len() != count * 4 * (LATENT_ODD + INPUT) {
        report::line(format_args!(
            "35/7 float expectations do not cover the images"
        ));
        return false;
    }
    let mut matched = 0;
    for (image, expected) in images
        .chunks_exact(INPUT)
        .zip(ODD_FLOAT_EXPECTED.chunks_exact(4 * (LATENT_ODD + INPUT)))
    {
        let mut x = [0.0f32; INPUT];
        ae_core::pixels::to_unit_slice(image, &mut x);
        let (mut h, mut y) = ([0.0f32; LATENT_ODD], [0.0f32; INPUT]);
        let ran = model.encode(&x, &mut h).is_ok() && model.decode(&h, &mut y).is_ok();
        let same = h
            .iter()
            .chain(&y)
            .zip(expected.chunks_exact(4))
            .all(|(v, e)| v.to_le_bytes()[..] == e[..]);
        if ran && same {
            matched += 1;
        }
    }
    report::line(format_args!(
        "35/7 float model (tails, short rows): {matched} of {count} images match the host bit for bit"
    ));
    matched == count
}

/// One encode and decode in a frame of its own, so the stack measurement sees all of it.
#[cfg(not(feature = "panic-check"))]
#[inline(never)]
fn infer(
    model: &Model<'_>,
    image: &[u8; PIXELS],
    code: &mut [u8; LATENT],
    pixels: &mut [u8; PIXELS],
) {
    model.encode(image, code);
    model.decode(code, pixels);
}

/// Rate-controlled entropy coding of one code and its decoding, in a frame of its own for the
/// stack measurement.
#[cfg(not(feature = "panic-check"))]
#[inline(never)]
fn code_and_decode(
    entropy: &ae_core::entropy::EntropyRef<'_>,
    code: &[u8; LATENT],
    centred: &mut [i16; LATENT],
    coded: &mut [u8; CODED_MAX],
    back: &mut [u8; LATENT],
) {
    if let Ok((n, _)) = entropy.encode_within(code, 51, centred, coded) {
        let _ = entropy.decode(&coded[..n], centred, back);
    }
}

#[cfg(all(feature = "fpu", float_asset, not(feature = "panic-check")))]
fn run_float(counter: &mut counter::Counter) -> bool {
    use ae_core::nalgebra::SVector;
    let Ok(model) = ae_core::FloatModel::<PIXELS, LATENT>::from_bytes(&MODEL_FLOAT.0) else {
        report::line(format_args!("float model failed to load"));
        return false;
    };
    let digits = DIGITS.len() / PIXELS;
    if digits == 0 || EXPECTED_FLOAT.len() != digits * (4 * LATENT + PIXELS) {
        report::line(format_args!("float expectations do not cover the digits"));
        return false;
    }
    let mut ok = true;
    for (n, (digit, expected)) in DIGITS
        .chunks_exact(PIXELS)
        .zip(EXPECTED_FLOAT.chunks_exact(4 * LATENT + PIXELS))
        .enumerate()
    {
        let Ok(image) = <&[u8; PIXELS]>::try_from(digit) else {
            return false;
        };
        let mut scratch = SVector::<f32, PIXELS>::zeros();
        let mut h = SVector::<f32, LATENT>::zeros();
        let mut pixels = [0u8; PIXELS];
        let enc = counter.measure(|| model.encode_pixels(image, &mut scratch, &mut h));
        let dec = counter.measure(|| model.decode_pixels(&h, &mut scratch, &mut pixels));
        let code_matches = h
            .iter()
            .zip(expected.chunks_exact(4))
            .all(|(v, b)| v.to_le_bytes() == b);
        let matches = code_matches && pixels[..] == expected[4 * LATENT..];
        ok &= matches;
        let mut code8 = [0u8; LATENT];
        for (c, v) in code8.iter_mut().zip(h.iter()) {
            *c = v.to_bits() as u8;
        }
        report::digit(
            n,
            "float",
            &code8,
            report::psnr(image, &pixels),
            enc,
            dec,
            matches,
        );
    }
    ok
}
