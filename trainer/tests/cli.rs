//! The `ae` binary on bad input: a clear message and exit code 1, never a panic, never a
//! half-written or clobbered file.

use std::path::Path;
use std::process::{Command, Output};

fn ae(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ae"))
        .args(args)
        .env_remove("XDG_CACHE_HOME")
        .output()
        .unwrap()
}

fn fails_with(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn write_idx(dir: &Path, name: &str, count: u32, side: u32) {
    let mut bytes = Vec::new();
    for v in [0x0803u32, count, side, side] {
        bytes.extend_from_slice(&v.to_be_bytes());
    }
    bytes.extend((0..count * side * side).map(|i| (i * 7 % 256) as u8));
    std::fs::write(dir.join(name), bytes).unwrap();
}

/// The images of an IDX file, read here from its header and bytes: (count, pixels per image,
/// pixels).
fn read_idx(path: &Path) -> (usize, usize, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap();
    let word = |i: usize| u32::from_be_bytes(bytes[4 * i..4 * i + 4].try_into().unwrap()) as usize;
    assert_eq!(word(0), 0x0803);
    let (count, len) = (word(1), word(2) * word(3));
    assert_eq!(bytes.len(), 16 + count * len);
    (count, len, bytes[16..].to_vec())
}

/// The figures `ae eval --json` reports, computed here from the pixels: each image is run
/// through ae-core directly, then MSE, PSNR (`10 log10(1 / MSE)`), mean per-image PSNR and
/// Keras' clipped BCE are taken as `ae eval --help` defines them.
struct Expected {
    bce: f64,
    mse: f64,
    psnr_db: f64,
    mean_image_psnr_db: f64,
    images: usize,
}

fn metrics_here(model: &Path, pixels: &[u8], image_len: usize) -> Expected {
    use ae_core::format::ModelRef;
    let bytes = trainer::model::ModelBytes::load(model).unwrap();
    let model = ModelRef::parse(bytes.bytes()).unwrap();
    let latent = model.dims().latent as usize;
    let (mut bce, mut se, mut psnr_sum) = (0.0f64, 0.0f64, 0.0f64);
    let images = pixels.len() / image_len;
    for img in pixels.chunks_exact(image_len) {
        let y: Vec<f64> = match &model {
            ModelRef::Float(m) => {
                let x: Vec<f32> = img.iter().map(|&p| f32::from(p) / 255.0).collect();
                let (mut h, mut y) = (vec![0.0f32; latent], vec![0.0f32; image_len]);
                m.encode(&x, &mut h).unwrap();
                m.decode(&h, &mut y).unwrap();
                y.into_iter().map(f64::from).collect()
            }
            ModelRef::Int8(m) => {
                let mut code = vec![0u8; latent];
                m.encode(img, &mut code).unwrap();
                let mut out = vec![0u8; image_len];
                m.decode(&code, &mut vec![0i16; latent], &mut out).unwrap();
                // The output pixel / 255 as the f32 a float model would give.
                out.into_iter()
                    .map(|p| f64::from(f32::from(p) / 255.0))
                    .collect()
            }
        };
        let mut image_se = 0.0;
        for (&p, &y) in img.iter().zip(&y) {
            let t = f64::from(p) / 255.0;
            let c = y.clamp(1e-7, 1.0 - 1e-7);
            bce -= t * c.ln() + (1.0 - t) * (1.0 - c).ln();
            image_se += (y - t).powi(2);
        }
        se += image_se;
        psnr_sum += (10.0 * (image_len as f64 / image_se).log10()).min(100.0);
    }
    let total = (images * image_len) as f64;
    Expected {
        bce: bce / total,
        mse: se / total,
        psnr_db: 10.0 * (total / se).log10(),
        mean_image_psnr_db: psnr_sum / images as f64,
        images,
    }
}

/// Asserts that a metrics JSON object holds `want`'s values (to 1e-9, relative).
fn assert_metrics(json: &serde_json::Value, want: &Expected, what: &str) {
    for (key, value) in [
        ("bce", want.bce),
        ("mse", want.mse),
        ("psnr_db", want.psnr_db),
        ("mean_image_psnr_db", want.mean_image_psnr_db),
    ] {
        let got = json[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{what}: no {key} in {json}"));
        assert!(
            (got - value).abs() <= 1e-9 * value.abs().max(1.0),
            "{what}: {key} is {got}, computed from the pixels {value}"
        );
    }
    assert_eq!(json["images"], want.images, "{what}: images");
}

/// `ae eval --json` of `model` on `data`, parsed; `extra` adds options (`--split`, `--val`).
fn eval_json(model: &Path, data: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "eval",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--json",
    ];
    args.extend_from_slice(extra);
    let out = ae(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The numbers after each `needle` in `text` (e.g. "PSNR " in "PSNR 12.34 dB").
fn numbers_after(text: &str, needle: &str) -> Vec<f64> {
    text.match_indices(needle)
        .map(|(i, _)| {
            let rest = &text[i + needle.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_digit() || "+-.".contains(c)))
                .unwrap_or(rest.len());
            rest[..end]
                .parse()
                .unwrap_or_else(|e| panic!("{e}: {rest}"))
        })
        .collect()
}

fn tiny_data() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    write_idx(d.path(), "train-images-idx3-ubyte", 64, 6);
    write_idx(d.path(), "t10k-images-idx3-ubyte", 16, 6);
    d
}

#[test]
fn missing_data_directory_and_files_are_named() {
    let out = ae(&[
        "train",
        "--data",
        "/nonexistent/dir",
        "--out",
        "/tmp/x.tnae",
        "--epochs",
        "1",
    ]);
    fails_with(&out, "/nonexistent/dir");
    let empty = tempfile::tempdir().unwrap();
    let out = ae(&[
        "eval",
        "--model",
        "m",
        "--data",
        empty.path().to_str().unwrap(),
    ]);
    fails_with(&out, "m: No such file");
    let model_dir = tempfile::tempdir().unwrap();
    let out = ae(&[
        "train",
        "--data",
        empty.path().to_str().unwrap(),
        "--out",
        model_dir.path().join("m.tnae").to_str().unwrap(),
    ]);
    fails_with(
        &out,
        "no train-images-idx3-ubyte (or train-images-idx3-ubyte.gz)",
    );
}

#[test]
fn corrupt_idx_files_are_reported_not_panicked_on() {
    let d = tiny_data();
    let f = d.path().join("t10k-images-idx3-ubyte");
    let bytes = std::fs::read(&f).unwrap();
    std::fs::write(&f, &bytes[..bytes.len() - 10]).unwrap();
    let out = ae(&[
        "train",
        "--data",
        d.path().to_str().unwrap(),
        "--out",
        d.path().join("m.tnae").to_str().unwrap(),
    ]);
    fails_with(&out, "truncated");
    assert!(!d.path().join("m.tnae").exists());
}

#[test]
fn bad_model_files_give_typed_errors() {
    let d = tiny_data();
    let junk = d.path().join("junk.tnae");
    std::fs::write(&junk, b"this is not a model").unwrap();
    let data = d.path().to_str().unwrap();
    fails_with(
        &ae(&["eval", "--model", junk.to_str().unwrap(), "--data", data]),
        "not a tinyae model file",
    );
    fails_with(
        &ae(&["summary", "--model", junk.to_str().unwrap()]),
        "bad magic",
    );
    let empty = d.path().join("empty.tnae");
    std::fs::write(&empty, b"").unwrap();
    fails_with(
        &ae(&["eval", "--model", empty.to_str().unwrap(), "--data", data]),
        "truncated",
    );
}

#[test]
fn train_eval_export_round_trip_and_no_clobbering() {
    let d = tiny_data();
    let data = d.path().to_str().unwrap();
    let model = d.path().join("m.tnae");
    let m = model.to_str().unwrap();
    let out = ae(&[
        "-q", "train", "--data", data, "--out", m, "--epochs", "2", "--latent", "4", "--batch", "8",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(d.path().join("m.history.json").exists() && d.path().join("m.ckpt").exists());

    // Training again onto the same file is refused unless --force: the model is not lost.
    let before = std::fs::read(&model).unwrap();
    fails_with(
        &ae(&[
            "-q", "train", "--data", data, "--out", m, "--epochs", "1", "--latent", "4",
        ]),
        "--force",
    );
    assert_eq!(std::fs::read(&model).unwrap(), before);

    // `ae eval --json` reports the figures the test computes from the test file's pixels.
    let json = eval_json(&model, d.path(), &[]);
    let (count, len, test_pixels) = read_idx(&d.path().join("t10k-images-idx3-ubyte"));
    assert_eq!(count, 16);
    assert_metrics(
        &json,
        &metrics_here(&model, &test_pixels, len),
        "eval --json",
    );

    let q = d.path().join("q.tnae");
    let out = ae(&[
        "export",
        "--model",
        m,
        "--int8",
        "--out",
        q.to_str().unwrap(),
        "--data",
        data,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // "test PSNR <float> dB -> <int8> dB (<change> dB)": the figures `ae eval` gives each model.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let float_db = eval_json(&model, d.path(), &[])["psnr_db"]
        .as_f64()
        .unwrap();
    let int8_db = eval_json(&q, d.path(), &[])["psnr_db"].as_f64().unwrap();
    let printed = numbers_after(&stdout, "test PSNR ");
    assert_eq!(printed.len(), 1, "{stdout}");
    assert!(
        (printed[0] - float_db).abs() <= 0.005 + 1e-9,
        "{stdout} vs {float_db}"
    );
    let int8_printed = numbers_after(&stdout, " dB -> ");
    assert!(
        (int8_printed[0] - int8_db).abs() <= 0.005 + 1e-9,
        "{stdout} vs {int8_db}"
    );
    let change = numbers_after(&stdout, " dB (");
    assert!(
        (change[0] - (int8_db - float_db)).abs() <= 0.0005 + 1e-9,
        "{stdout}"
    );
    assert_metrics(
        &eval_json(&q, d.path(), &[]),
        &metrics_here(&q, &test_pixels, len),
        "int8 eval --json",
    );
    let out = ae(&["summary", "--model", q.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("(int8)"));
    // Exporting an int8 model again is refused with a reason.
    let q2 = d.path().join("q2.tnae");
    fails_with(
        &ae(&[
            "export",
            "--model",
            q.to_str().unwrap(),
            "--int8",
            "--out",
            q2.to_str().unwrap(),
            "--data",
            data,
        ]),
        "already an int8",
    );
    // A model of the wrong size for the data.
    let other = tempfile::tempdir().unwrap();
    write_idx(other.path(), "train-images-idx3-ubyte", 8, 5);
    write_idx(other.path(), "t10k-images-idx3-ubyte", 8, 5);
    fails_with(
        &ae(&[
            "eval",
            "--model",
            m,
            "--data",
            other.path().to_str().unwrap(),
        ]),
        "36 pixels per image",
    );
}

#[test]
fn summary_without_a_model_shows_the_reference_architecture() {
    let out = ae(&["summary"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Total params: 101,200"));
}

#[test]
fn invalid_options_are_rejected() {
    let d = tiny_data();
    let data = d.path().to_str().unwrap();
    let m = d.path().join("m.tnae");
    fails_with(
        &ae(&[
            "train",
            "--data",
            data,
            "--out",
            m.to_str().unwrap(),
            "--batch",
            "0",
        ]),
        "--batch",
    );
    fails_with(
        &ae(&[
            "train",
            "--data",
            data,
            "--out",
            m.to_str().unwrap(),
            "--val",
            "1.5",
        ]),
        "--val",
    );
    assert!(!m.exists());
}

#[test]
fn pipeline_trains_exports_and_evaluates() {
    let d = tiny_data();
    let out = d.path().join("run");
    let o = ae(&[
        "-q",
        "pipeline",
        "--data",
        d.path().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--epochs",
        "2",
        "--latent",
        "4",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in [
        "model.tnae",
        "model-int8.tnae",
        "model.history.json",
        "metrics.json",
    ] {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    // metrics.json holds exactly what `ae eval --json` says of each model it wrote, and the
    // int8 figures are those computed here from the pixels.
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("metrics.json")).unwrap()).unwrap();
    for (key, file) in [("float", "model.tnae"), ("int8", "model-int8.tnae")] {
        assert_eq!(
            metrics[key],
            eval_json(&out.join(file), d.path(), &[]),
            "metrics.json {key} vs ae eval of {file}"
        );
    }
    let (_, len, test_pixels) = read_idx(&d.path().join("t10k-images-idx3-ubyte"));
    assert_metrics(
        &metrics["int8"],
        &metrics_here(&out.join("model-int8.tnae"), &test_pixels, len),
        "metrics.json int8",
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    let change = numbers_after(&stdout, "int8 export changes test PSNR by ");
    let want = metrics["int8"]["psnr_db"].as_f64().unwrap()
        - metrics["float"]["psnr_db"].as_f64().unwrap();
    assert_eq!(change.len(), 1, "{stdout}");
    assert!(
        (change[0] - want).abs() <= 0.0005 + 1e-9,
        "{stdout} vs {want}"
    );
    // Running it again does not overwrite the models without --force.
    let again = ae(&[
        "-q",
        "pipeline",
        "--data",
        d.path().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--epochs",
        "2",
    ]);
    fails_with(&again, "--force");
}

/// `count` 6x6 images of pseudo-random pixels (xorshift from `seed`), as an IDX file.
fn write_random_idx(dir: &Path, name: &str, count: usize, seed: u64) -> Vec<u8> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let pixels: Vec<u8> = (0..count * 36)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 56) as u8
        })
        .collect();
    let mut bytes = Vec::new();
    for v in [0x0803u32, count as u32, 6, 6] {
        bytes.extend_from_slice(&v.to_be_bytes());
    }
    bytes.extend_from_slice(&pixels);
    std::fs::write(dir.join(name), bytes).unwrap();
    pixels
}

/// `ae eval --split train|val|test` evaluates the split it names: with `--val 0.25` on a
/// 40-image training file, `train` is its first 30 images, `val` its last 10 and `test` the test
/// file, each checked against figures computed here from exactly those pixels (the three sets
/// differ, so a swapped split cannot pass). Without `--val`, `val` is empty and refused.
#[test]
fn eval_split_evaluates_the_split_it_names() {
    let d = tempfile::tempdir().unwrap();
    let train = write_random_idx(d.path(), "train-images-idx3-ubyte", 40, 1);
    let test = write_random_idx(d.path(), "t10k-images-idx3-ubyte", 12, 2);
    // A fixed 36 -> 4 float model (no training needed to tell splits apart).
    let mut s = 7u64;
    let mut next = |scale: f32| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
    };
    let ew: Vec<f32> = (0..36 * 4).map(|_| next(0.3)).collect();
    let eb: Vec<f32> = (0..4).map(|_| next(0.1)).collect();
    let dw: Vec<f32> = (0..36 * 4).map(|_| next(1.0)).collect();
    let db: Vec<f32> = (0..36).map(|_| next(0.5)).collect();
    let t = ae_core::format::FloatTensors {
        encoder_weights: &ew,
        encoder_bias: &eb,
        decoder_weights: &dw,
        decoder_bias: &db,
    };
    let shape = ae_core::format::Shape::implied_by(36);
    let mut buf = vec![0u8; ae_core::format::float_file_len(shape, 4).unwrap()];
    let n = ae_core::format::write_float(36, 4, 0.3, &t, &mut buf).unwrap();
    let model = d.path().join("m.tnae");
    std::fs::write(&model, &buf[..n]).unwrap();

    let cases = [
        ("train", &train[..30 * 36]),
        ("val", &train[30 * 36..]),
        ("test", &test[..]),
    ];
    let mut psnrs = Vec::new();
    for (split, pixels) in cases {
        let json = eval_json(&model, d.path(), &["--val", "0.25", "--split", split]);
        let want = metrics_here(&model, pixels, 36);
        assert_metrics(&json, &want, split);
        psnrs.push(want.psnr_db);
    }
    assert!(
        psnrs[0] != psnrs[1] && psnrs[1] != psnrs[2] && psnrs[0] != psnrs[2],
        "{psnrs:?}"
    );
    // The default split is the test file.
    assert_metrics(
        &eval_json(&model, d.path(), &["--val", "0.25"]),
        &metrics_here(&model, &test, 36),
        "default split",
    );
    fails_with(
        &ae(&[
            "eval",
            "--model",
            model.to_str().unwrap(),
            "--data",
            d.path().to_str().unwrap(),
            "--split",
            "val",
        ]),
        "the selected split has no images",
    );
}
