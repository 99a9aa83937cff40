//! `ae report` figures and the `ae compress` / `ae decompress` codec, end to end on a small model
//! trained on synthetic images.

mod common;

use common::{ae, ae_err};

use std::path::Path;

use trainer::data::{idx, ImageSet, Splits};
use trainer::model::ModelBytes;
use trainer::report::figures::{Grid, HISTORY_SIZE, SCALE};

struct Fixture {
    dir: tempfile::TempDir,
    splits: Splits,
}

impl Fixture {
    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }
}

/// Trains a 10x10 -> 6 model on synthetic data and exports it to int8, through the CLI.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(
        data.join("train-images-idx3-ubyte"),
        idx::encode(&common::synthetic(200, 10, 1)),
    )
    .unwrap();
    std::fs::write(
        data.join("t10k-images-idx3-ubyte"),
        idx::encode(&common::synthetic(40, 10, 2)),
    )
    .unwrap();
    let f = Fixture {
        splits: Splits::load(&data, 0.1).unwrap(),
        dir,
    };
    let d = f.path("data");
    ae(&[
        "-q",
        "train",
        "--data",
        &d,
        "--val",
        "0.1",
        "--out",
        &f.path("m.tnae"),
        "--epochs",
        "6",
        "--latent",
        "6",
        "--batch",
        "16",
        "--lr",
        "0.01",
    ]);
    ae(&[
        "-q",
        "export",
        "--model",
        &f.path("m.tnae"),
        "--int8",
        "--data",
        &d,
        "--val",
        "0.1",
        "--out",
        &f.path("q.tnae"),
    ]);
    f
}

fn png(path: &Path) -> image::RgbImage {
    image::open(path).unwrap().to_rgb8()
}

/// The image pixels inside tile (`row`, `col`) of a figure, sampled at each square's centre.
fn tile(img: &image::RgbImage, grid: Grid, row: usize, col: usize) -> Vec<u8> {
    let (x0, y0) = grid.tile_origin(row, col);
    let mut out = Vec::new();
    for r in 0..grid.h {
        for c in 0..grid.w {
            let p = img.get_pixel(
                (x0 + c * SCALE + SCALE / 2) as u32,
                (y0 + r * SCALE + SCALE / 2) as u32,
            );
            assert!(p[0] == p[1] && p[1] == p[2], "tile pixels are grey");
            out.push(p[0]);
        }
    }
    out
}

#[test]
fn report_figures_show_the_source_images() {
    let f = fixture();
    let out = f.dir.path().join("report");
    let bytes = ModelBytes::load(&f.dir.path().join("m.tnae")).unwrap();
    let history =
        trainer::train::history::History::load(&f.dir.path().join("m.history.json")).unwrap();
    let opts = trainer::report::ReportOptions {
        n: 3,
        seed: 4,
        noise: 0.3,
    };
    let s = trainer::report::write_report(
        &bytes,
        &f.dir.path().join("m.tnae"),
        Some(&history),
        &f.splits,
        &out,
        &opts,
    )
    .unwrap();

    let grid2 = Grid {
        rows: 2,
        cols: 3,
        h: 10,
        w: 10,
    };
    let grid3 = Grid {
        rows: 3,
        cols: 3,
        h: 10,
        w: 10,
    };
    for (name, set, indices, grid) in [
        ("train.png", &f.splits.train, &s.train_indices, grid2),
        ("test.png", &f.splits.test, &s.test_indices, grid2),
        ("denoise.png", &f.splits.test, &s.test_indices, grid3),
    ] {
        let img = png(&out.join(name));
        let (w, h) = grid.size();
        assert_eq!(
            (img.width() as usize, img.height() as usize),
            (w, h),
            "{name}"
        );
        for (col, &i) in indices.iter().enumerate() {
            assert_eq!(
                tile(&img, grid, 0, col),
                set.image(i),
                "{name}: original tile {col} is image {i}"
            );
        }
    }
    let hist = png(&out.join("history.png"));
    assert_eq!(
        (hist.width() as usize, hist.height() as usize),
        HISTORY_SIZE
    );
    // Noise of 0.3 on images in [0, 1] lands around 10-14 dB. (This 6-epoch model reconstructs
    // at about that PSNR, so it cannot denoise: `denoising_beats_the_noise_by_the_tests_own_psnr`
    // trains one that can and checks the denoising figures against pixels.)
    assert!((9.0..16.0).contains(&s.noisy_psnr_db), "{s:?}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    for (label, value) in [
        ("| denoising (noise 0.3): noisy input |", s.noisy_psnr_db),
        ("| denoising: reconstruction |", s.denoised_psnr_db),
    ] {
        assert!(md.contains(&format!("{label} {value:.2} dB |")), "{md}");
    }
    assert!(
        md.contains("100 bytes -> 6 bytes of 8-bit code (16.67:1)"),
        "{md}"
    );
    assert!(md.contains("![denoise](denoise.png)"));
}

/// `pixel` after `x + sigma * N(0, 1)`, clipped to `[0, 1]` and rounded back to 8 bits, is off by
/// this much in squared `[0, 1]` units on average: the expectation, integrated numerically here
/// (no random numbers), over the Gaussian's density.
fn expected_noise_se(pixel: u8, sigma: f64) -> f64 {
    let x = f64::from(pixel) / 255.0;
    let (lo, hi, steps) = (-8.0f64, 8.0f64, 16_000);
    let dz = (hi - lo) / f64::from(steps);
    (0..steps)
        .map(|k| {
            let z = lo + (f64::from(k) + 0.5) * dz;
            let density = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
            let back = ((x + sigma * z).clamp(0.0, 1.0) * 255.0).round() / 255.0;
            density * dz * (back - x).powi(2)
        })
        .sum()
}

/// Reconstructs `image` through ae-core directly (not through `trainer::eval`), as 8-bit pixels.
fn reconstruct_here(model: &ae_core::format::ModelRef<'_>, image: &[u8]) -> Vec<u8> {
    use ae_core::format::ModelRef;
    let (input, latent) = model.dims().as_usize();
    match model {
        ModelRef::Float(m) => {
            let x: Vec<f32> = image.iter().map(|&p| f32::from(p) / 255.0).collect();
            let (mut h, mut y) = (vec![0.0f32; latent], vec![0.0f32; input]);
            m.encode(&x, &mut h).unwrap();
            m.decode(&h, &mut y).unwrap();
            y.iter()
                .map(|&v| (f64::from(v).clamp(0.0, 1.0) * 255.0).round() as u8)
                .collect()
        }
        ModelRef::Int8(m) => {
            let mut code = vec![0u8; latent];
            m.encode(image, &mut code).unwrap();
            let mut out = vec![0u8; input];
            m.decode(&code, &mut vec![0i16; latent], &mut out).unwrap();
            out
        }
    }
}

/// Denoising works and the report's two denoising figures are the PSNRs they claim to be. With
/// every test image in `denoise.png`, the test reads each noisy and denoised tile, checks that
/// the denoised tile is the model's reconstruction of the noisy one (run here through ae-core),
/// and computes both PSNRs itself from those pixels: denoised beats noisy by a margin, and the
/// report's numbers (the same images under another draw of the same noise) agree within 0.5 dB.
/// The noisy figure also matches the noise's expected error, integrated from the Gaussian.
#[test]
fn denoising_beats_the_noise_by_the_tests_own_psnr() {
    let f = fixture();
    let d = f.path("data");
    // The fixture's 6-epoch model is no better than the noise; this one is.
    ae(&[
        "-q",
        "train",
        "--data",
        &d,
        "--val",
        "0.1",
        "--out",
        &f.path("d.tnae"),
        "--epochs",
        "60",
        "--latent",
        "6",
        "--batch",
        "16",
        "--lr",
        "0.01",
    ]);
    ae(&[
        "-q",
        "export",
        "--model",
        &f.path("d.tnae"),
        "--int8",
        "--data",
        &d,
        "--val",
        "0.1",
        "--out",
        &f.path("dq.tnae"),
    ]);
    let test = &f.splits.test;
    let sigma = 0.3f32;
    let expected_se: f64 = test
        .pixels()
        .iter()
        .map(|&p| expected_noise_se(p, f64::from(sigma)))
        .sum();
    let expected_noisy_db = 10.0 * (test.pixels().len() as f64 / expected_se).log10();
    for (name, min_gain_db) in [("d.tnae", 1.0), ("dq.tnae", 1.0)] {
        let path = f.dir.path().join(name);
        let bytes = ModelBytes::load(&path).unwrap();
        let model = bytes.parse(&path).unwrap();
        let out = f.dir.path().join(format!("report-{name}"));
        let opts = trainer::report::ReportOptions {
            n: test.count(),
            seed: 11,
            noise: sigma,
        };
        let s = trainer::report::write_report(&bytes, &path, None, &f.splits, &out, &opts).unwrap();
        let grid = Grid {
            rows: 3,
            cols: test.count(),
            h: test.rows(),
            w: test.cols(),
        };
        let img = png(&out.join("denoise.png"));
        let (mut se_noisy, mut se_denoised) = (0.0f64, 0.0f64);
        let sq = |a: &[u8], b: &[u8]| -> f64 {
            a.iter()
                .zip(b)
                .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
                .sum()
        };
        let mut shown: Vec<usize> = s.test_indices.clone();
        for (col, &i) in s.test_indices.iter().enumerate() {
            let (original, noisy, denoised) = (
                tile(&img, grid, 0, col),
                tile(&img, grid, 1, col),
                tile(&img, grid, 2, col),
            );
            assert_eq!(original, test.image(i), "{name}: tile {col} is image {i}");
            assert_ne!(noisy, original, "{name}: image {i} got no noise");
            assert_eq!(
                denoised,
                reconstruct_here(&model, &noisy),
                "{name}: denoised tile {col} is the reconstruction of the noisy one"
            );
            se_noisy += sq(&original, &noisy);
            se_denoised += sq(&original, &denoised);
        }
        shown.sort_unstable();
        assert_eq!(shown, (0..test.count()).collect::<Vec<_>>());
        let psnr = |se: f64| 10.0 * (255.0 * 255.0 * test.pixels().len() as f64 / se).log10();
        let (noisy_db, denoised_db) = (psnr(se_noisy), psnr(se_denoised));
        eprintln!(
            "{name}: figure noisy {noisy_db:.3} dB, denoised {denoised_db:.3} dB; report {:.3} / \
             {:.3} dB; expected noisy {expected_noisy_db:.3} dB",
            s.noisy_psnr_db, s.denoised_psnr_db
        );
        assert!(
            denoised_db > noisy_db + min_gain_db,
            "{name}: {denoised_db} vs {noisy_db}"
        );
        assert!(
            s.denoised_psnr_db > s.noisy_psnr_db + min_gain_db,
            "{name}: {s:?}"
        );
        assert!((s.noisy_psnr_db - noisy_db).abs() < 0.5, "{name}: {s:?}");
        assert!(
            (s.denoised_psnr_db - denoised_db).abs() < 0.5,
            "{name}: {s:?}"
        );
        assert!(
            (s.noisy_psnr_db - expected_noisy_db).abs() < 0.5,
            "{name}: {s:?} vs {expected_noisy_db}"
        );
        assert!(
            (noisy_db - expected_noisy_db).abs() < 0.5,
            "{name}: {noisy_db} vs {expected_noisy_db}"
        );
    }
}

#[test]
fn compress_decompress_round_trip_matches_eval() {
    let f = fixture();
    let test_idx = f.path("test.idx");
    std::fs::write(&test_idx, idx::encode(&f.splits.test)).unwrap();
    ae(&[
        "compress",
        "--model",
        &f.path("q.tnae"),
        &test_idx,
        "-o",
        &f.path("test.tnac"),
        "--stats",
    ]);
    let code_len = std::fs::metadata(f.path("test.tnac")).unwrap().len();
    assert!(
        code_len < 40 * 6 + 80,
        "{code_len} bytes for 40 codes of 6 bytes"
    );
    ae(&[
        "decompress",
        "--model",
        &f.path("q.tnae"),
        &f.path("test.tnac"),
        "-o",
        &f.path("back.idx"),
    ]);
    let back = idx::read_images(Path::new(&f.path("back.idx"))).unwrap();
    assert_eq!((back.count(), back.rows(), back.cols()), (40, 10, 10));

    // The round trip's PSNR is exactly what `ae eval` reports for the int8 model.
    let se: f64 = back
        .pixels()
        .iter()
        .zip(f.splits.test.pixels())
        .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
        .sum();
    let round_trip = trainer::eval::psnr(se / (255.0 * 255.0 * back.pixels().len() as f64));
    let q = ModelBytes::load(Path::new(&f.path("q.tnae"))).unwrap();
    let evaluated =
        trainer::eval::evaluate(&q.parse(Path::new("q")).unwrap(), &f.splits.test).unwrap();
    // Equal up to the f32 rounding of pixel / 255 inside `eval`.
    assert!(
        (round_trip - evaluated.psnr_db).abs() < 1e-6,
        "{round_trip} vs {}",
        evaluated.psnr_db
    );

    // One picture in, one picture out.
    let one = ImageSet::new(f.splits.test.image(3).to_vec(), 10, 10).unwrap();
    image::GrayImage::from_raw(10, 10, one.pixels().to_vec())
        .unwrap()
        .save(f.path("one.png"))
        .unwrap();
    ae(&[
        "compress",
        "--model",
        &f.path("q.tnae"),
        &f.path("one.png"),
        "-o",
        &f.path("one.tnac"),
    ]);
    ae(&[
        "decompress",
        "--model",
        &f.path("q.tnae"),
        &f.path("one.tnac"),
        "-o",
        &f.path("one-back.png"),
    ]);
    let one_back = image::open(f.path("one-back.png"))
        .unwrap()
        .to_luma8()
        .into_raw();
    assert_eq!(
        one_back,
        back.image(3),
        "single image and batch decode alike"
    );
}

#[test]
fn codec_refuses_bad_input_with_reasons() {
    let f = fixture();
    let q = f.path("q.tnae");
    // Colour or wrong-size pictures, unless --resize.
    image::RgbImage::from_pixel(10, 10, image::Rgb([200, 10, 10]))
        .save(f.path("red.png"))
        .unwrap();
    assert!(ae_err(&[
        "compress",
        "--model",
        &q,
        &f.path("red.png"),
        "-o",
        &f.path("x.tnac")
    ])
    .contains("--resize"));
    image::GrayImage::from_pixel(20, 14, image::Luma([9]))
        .save(f.path("big.png"))
        .unwrap();
    assert!(ae_err(&[
        "compress",
        "--model",
        &q,
        &f.path("big.png"),
        "-o",
        &f.path("x.tnac")
    ])
    .contains("20x14"));
    ae(&[
        "compress",
        "--model",
        &q,
        &f.path("red.png"),
        &f.path("big.png"),
        "--resize",
        "-o",
        &f.path("x.tnac"),
    ]);
    // A float model cannot make 8-bit codes.
    assert!(ae_err(&[
        "compress",
        "--model",
        &f.path("m.tnae"),
        &f.path("red.png"),
        "-o",
        &f.path("y.tnac")
    ])
    .contains("export --int8"));
    // Truncated and foreign code files; codes from another model.
    let codes = std::fs::read(f.path("x.tnac")).unwrap();
    std::fs::write(f.path("cut.tnac"), &codes[..codes.len() - 3]).unwrap();
    let e = ae_err(&[
        "decompress",
        "--model",
        &q,
        &f.path("cut.tnac"),
        "-o",
        &f.path("o.idx"),
    ]);
    assert!(e.contains("corrupted") || e.contains("truncated"), "{e}");
    let e = ae_err(&["decompress", "--model", &q, &q, "-o", &f.path("o.idx")]);
    assert!(e.contains("not a tinyae code file"), "{e}");
    let d = f.path("data");
    ae(&[
        "-q",
        "train",
        "--data",
        &d,
        "--out",
        &f.path("m2.tnae"),
        "--epochs",
        "1",
        "--latent",
        "6",
        "--seed",
        "2",
    ]);
    ae(&[
        "-q",
        "export",
        "--model",
        &f.path("m2.tnae"),
        "--int8",
        "--data",
        &d,
        "--out",
        &f.path("q2.tnae"),
    ]);
    let e = ae_err(&[
        "decompress",
        "--model",
        &f.path("q2.tnae"),
        &f.path("x.tnac"),
        "-o",
        &f.path("o.idx"),
    ]);
    assert!(e.contains("different model"), "{e}");
    // Two images do not fit one PNG; nothing is written.
    let e = ae_err(&[
        "decompress",
        "--model",
        &q,
        &f.path("x.tnac"),
        "-o",
        &f.path("o.png"),
    ]);
    assert!(e.contains("IDX output"), "{e}");
    assert!(!Path::new(&f.path("o.png")).exists() && !Path::new(&f.path("o.idx")).exists());
}

/// PSNR of `back` against `original`, computed here from the pixels (not by the tool).
fn psnr_of(original: &[u8], back: &[u8]) -> f64 {
    let se: f64 = original
        .iter()
        .zip(back)
        .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
        .sum();
    10.0 * (255.0f64 * 255.0 * original.len() as f64 / se).log10()
}

#[test]
fn entropy_coding_is_lossless_and_rate_control_keeps_every_cap() {
    use trainer::codec::{CodeFile, Coding};
    let f = fixture();
    let test_idx = f.path("test.idx");
    std::fs::write(&test_idx, idx::encode(&f.splits.test)).unwrap();
    let q = f.path("q.tnae");
    let decompressed = |codes: &str| {
        let out = format!("{codes}.idx");
        ae(&["decompress", "--model", &q, codes, "-o", &out, "--force"]);
        idx::read_images(Path::new(&out)).unwrap().into_pixels()
    };

    // Raw fixed-size codes and the default lossless entropy coding decode to the same pixels.
    // (On this 6-dimensional toy model the coded images are not shorter than 6 raw bytes; the
    // MNIST model's sizes are checked in `real_data.rs`.)
    let (raw, lossless) = (f.path("raw.tnac"), f.path("lossless.tnac"));
    ae(&["compress", "--model", &q, &test_idx, "-o", &raw, "--raw"]);
    ae(&["compress", "--model", &q, &test_idx, "-o", &lossless]);
    assert_eq!(decompressed(&raw), decompressed(&lossless));
    assert_eq!(
        CodeFile::parse(&std::fs::read(&raw).unwrap())
            .unwrap()
            .coding,
        Coding::Raw
    );
    let lossless_len = std::fs::metadata(&lossless).unwrap().len();

    // A byte cap: every coded image fits, and quality is never above the lossless codes'.
    let full_psnr = psnr_of(f.splits.test.pixels(), &decompressed(&lossless));
    for cap in [6usize, 4, 3] {
        let out = f.path(&format!("cap{cap}.tnac"));
        let r = common::ae_run(&[
            "compress",
            "--model",
            &q,
            &test_idx,
            "-o",
            &out,
            "--max-bytes",
            &cap.to_string(),
        ]);
        if let Err(e) = r {
            // Only an image that fits at no step may stop it, and the message names it.
            let msg = e.to_string();
            assert!(
                msg.contains("does not fit in") && msg.contains("test.idx image"),
                "{msg}"
            );
            continue;
        }
        let bytes = std::fs::read(&out).unwrap();
        let file = CodeFile::parse(&bytes).unwrap();
        assert_eq!(file.coding, Coding::Entropy);
        assert_eq!(file.images().count(), 40);
        for image in file.images() {
            assert!(image.len() <= cap, "{} > {cap}", image.len());
        }
        let psnr = psnr_of(f.splits.test.pixels(), &decompressed(&out));
        assert!(psnr <= full_psnr + 0.01, "cap {cap}: {psnr} vs {full_psnr}");
    }

    // A fixed coarse step costs quality and saves bytes.
    let coarse = f.path("step8.tnac");
    ae(&[
        "compress", "--model", &q, &test_idx, "-o", &coarse, "--step", "8",
    ]);
    assert!(std::fs::metadata(&coarse).unwrap().len() < lossless_len);
    assert!(psnr_of(f.splits.test.pixels(), &decompressed(&coarse)) < full_psnr);

    // Options that contradict each other are refused before anything is written.
    let both = f.path("both.tnac");
    assert!(common::ae_run_args(&[
        "compress", "--model", &q, &test_idx, "-o", &both, "--raw", "--step", "2"
    ])
    .is_err());
    assert!(!Path::new(&both).exists());
}

/// `ae compress` reads on one thread and codes on the others: the code file is the same bytes
/// for every thread count, over several inputs of several chunks each, and a cap that some image
/// cannot meet names the same image (the first in input order) whatever the thread count.
#[test]
fn compress_gives_the_same_bytes_and_errors_on_every_thread_count() {
    let f = fixture();
    let q = f.path("q.tnae");
    // 700 and 300 images: chunks of 256 with partial ones, the second file continuing the count.
    let (a, b) = (f.path("a.idx"), f.path("b.idx.gz"));
    std::fs::write(&a, idx::encode(&common::synthetic(700, 10, 5))).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &idx::encode(&common::synthetic(300, 10, 6))).unwrap();
    std::fs::write(&b, gz.finish().unwrap()).unwrap();
    let run = |threads: &str, extra: &[&str]| {
        let out = f.path(&format!("t{threads}.tnac"));
        let mut args = vec!["compress", "--model", &q, &a, &b, "-o", &out, "--force"];
        args.extend_from_slice(&["--threads", threads]);
        args.extend_from_slice(extra);
        common::ae_run(&args)
            .map(|()| std::fs::read(&out).unwrap())
            .map_err(|e| e.to_string())
    };
    for extra in [&[][..], &["--raw"], &["--step", "5"]] {
        let one = run("1", extra).unwrap();
        for threads in ["2", "3", "5"] {
            assert!(
                run(threads, extra).unwrap() == one,
                "{threads} threads, {extra:?}"
            );
        }
    }
    // Find a cap that some images miss: the error must name the same one for every count.
    let failing = (1..6)
        .map(|cap| cap.to_string())
        .find_map(|cap| run("1", &["--max-bytes", &cap]).err().map(|e| (cap, e)));
    let (cap, want) = failing.expect("some cap below 6 bytes fails");
    assert!(want.contains("image"), "{want}");
    for threads in ["2", "3"] {
        assert_eq!(run(threads, &["--max-bytes", &cap]).unwrap_err(), want);
    }
}

/// A model trained on 7x5 IDX images records that shape: `ae compress` takes IDX files of 7x5
/// images, and refuses a 28x28 picture with an error naming both shapes.
#[test]
fn models_keep_the_shape_they_were_trained_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let shaped = |count: usize, seed: u64| {
        let square = common::synthetic(count, 7, seed);
        ImageSet::new(
            square.images().flat_map(|img| img[..35].to_vec()).collect(),
            7,
            5,
        )
        .unwrap()
    };
    std::fs::write(
        data.join("train-images-idx3-ubyte"),
        idx::encode(&shaped(60, 1)),
    )
    .unwrap();
    std::fs::write(
        data.join("t10k-images-idx3-ubyte"),
        idx::encode(&shaped(10, 2)),
    )
    .unwrap();
    let d = data.to_str().unwrap();
    ae(&[
        "-q",
        "train",
        "--data",
        d,
        "--out",
        &path("m.tnae"),
        "--epochs",
        "2",
        "--latent",
        "4",
    ]);
    ae(&[
        "-q",
        "export",
        "--model",
        &path("m.tnae"),
        "--int8",
        "--out",
        &path("q.tnae"),
    ]);
    let q = ModelBytes::load(Path::new(&path("q.tnae"))).unwrap();
    let shape = q.parse(Path::new("q")).unwrap().shape();
    assert_eq!((shape.rows, shape.cols), (7, 5));

    let test_idx = data.join("t10k-images-idx3-ubyte");
    ae(&[
        "compress",
        "--model",
        &path("q.tnae"),
        test_idx.to_str().unwrap(),
        "-o",
        &path("c.tnac"),
    ]);
    ae(&[
        "decompress",
        "--model",
        &path("q.tnae"),
        &path("c.tnac"),
        "-o",
        &path("back.idx"),
    ]);
    let back = idx::read_images(Path::new(&path("back.idx"))).unwrap();
    assert_eq!((back.count(), back.rows(), back.cols()), (10, 7, 5));

    image::GrayImage::new(28, 28).save(path("big.png")).unwrap();
    let e = ae_err(&[
        "compress",
        "--model",
        &path("q.tnae"),
        &path("big.png"),
        "-o",
        &path("x.tnac"),
    ]);
    assert!(e.contains("28x28") && e.contains("5x7"), "{e}");
}
