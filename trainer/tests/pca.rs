//! The PCA baseline (`trainer::pca` and `ae pca`) on images that lie exactly in a known
//! subspace, with every expected PSNR computed here from the construction.
//!
//! The images are 4x4: `128 + a1 h1 + a2 h2 + a3 h3` grey levels, where `h1..h3` are +-1 Walsh
//! patterns (orthogonal, norm 4) and the integer coefficients run over a full factorial design, so
//! the pixels are exact integers, the coefficients are uncorrelated and the principal components
//! are the patterns themselves, largest spread first.

use std::path::Path;
use std::process::Command;

use trainer::data::ImageSet;
use trainer::pca::Pca;

const SIDE: usize = 4;
const N: usize = SIDE * SIDE;
/// Coefficient levels (grey levels) of each pattern: spreads 90 > 48 > 18.
const LEVELS: [&[i32]; 3] = [
    &[-45, -30, -15, 0, 15, 30, 45],
    &[-24, -12, 0, 12, 24],
    &[-9, -3, 3, 9],
];
/// Walsh pattern `r`: pixel `i` is `(-1)^popcount(r & i)`.
const PATTERNS: [usize; 3] = [1, 6, 11];

fn walsh(r: usize, i: usize) -> i32 {
    if (r & i).count_ones().is_multiple_of(2) {
        1
    } else {
        -1
    }
}

/// Every combination of the levels, one image each (140 images).
fn subspace_images() -> (ImageSet, Vec<[i32; 3]>) {
    let mut coeffs = Vec::new();
    for &a in LEVELS[0] {
        for &b in LEVELS[1] {
            for &c in LEVELS[2] {
                coeffs.push([a, b, c]);
            }
        }
    }
    let pixels = coeffs
        .iter()
        .flat_map(|a| {
            (0..N).map(move |i| {
                let v: i32 = 128 + (0..3).map(|k| a[k] * walsh(PATTERNS[k], i)).sum::<i32>();
                u8::try_from(v).unwrap()
            })
        })
        .collect();
    let set = ImageSet::new(pixels, SIDE, SIDE).unwrap();
    (set, coeffs)
}

/// MSE (pixels in [0, 1]) of keeping the first `k` patterns, each coefficient stored in 8 bits
/// over its own range when `eight_bit`: computed from the design, not from a fitted PCA. A
/// pattern's coefficient in the orthonormal basis is `4 a / 255`; a dropped pattern costs its
/// centred coefficient squared, a kept one its rounding to `lo + round((c - lo) / step) * step`.
fn expected_mse(coeffs: &[[i32; 3]], k: usize, eight_bit: bool) -> f64 {
    let mut se = 0.0;
    for p in 0..3 {
        let mean = coeffs.iter().map(|a| f64::from(a[p])).sum::<f64>() / coeffs.len() as f64;
        let c: Vec<f64> = coeffs
            .iter()
            .map(|a| 4.0 * (f64::from(a[p]) - mean) / 255.0)
            .collect();
        if p >= k {
            se += c.iter().map(|v| v * v).sum::<f64>();
        } else if eight_bit {
            let lo = c.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = c.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let step = (hi - lo) / 255.0;
            se += c
                .iter()
                .map(|&v| (lo + ((v - lo) / step).round() * step - v).powi(2))
                .sum::<f64>();
        }
    }
    se / (coeffs.len() * N) as f64
}

fn psnr(mse: f64) -> f64 {
    (10.0 * (1.0 / mse).log10()).min(100.0)
}

/// Three components reconstruct the images exactly (PSNR at the 100 dB cap); two or one lose
/// exactly the dropped patterns' variance; 8-bit coefficients cost exactly their rounding error,
/// as computed from the design (to 1e-6 dB).
#[test]
fn components_of_a_known_subspace_cost_what_the_construction_says() {
    let (set, coeffs) = subspace_images();
    for k in 1..=3 {
        let r = Pca::fit(&set, k).unwrap().evaluate(&set).unwrap();
        assert_eq!(r.components, k);
        let (float, eight) = (
            psnr(expected_mse(&coeffs, k, false)),
            psnr(expected_mse(&coeffs, k, true)),
        );
        eprintln!("k={k}: {r:?}; expected {float} / {eight} dB");
        if k == 3 {
            assert!(r.psnr_db > 99.0, "{r:?}");
        } else {
            assert!((r.psnr_db - float).abs() < 1e-6, "k={k}: {r:?} vs {float}");
        }
        assert!(
            (r.psnr_8bit_db - eight).abs() < 1e-6,
            "k={k}: {r:?} vs {eight}"
        );
        assert!(r.psnr_8bit_db < r.psnr_db, "k={k}: {r:?}");
    }
    // The 8-bit cost with all three is small and known: well above 50 dB here.
    let r = Pca::fit(&set, 3).unwrap().evaluate(&set).unwrap();
    assert!(r.psnr_8bit_db > 50.0, "{r:?}");
    assert!(Pca::fit(&set, 0).is_err() && Pca::fit(&set, N + 1).is_err());
}

fn write_idx(dir: &Path, name: &str, set: &ImageSet) {
    std::fs::write(dir.join(name), trainer::data::idx::encode(set)).unwrap();
}

/// `ae pca --components k` fits on the training file and measures the test file: on the subspace
/// images it prints the PSNRs computed from the design (to its two decimals).
#[test]
fn ae_pca_prints_the_expected_psnrs() {
    let (set, coeffs) = subspace_images();
    let d = tempfile::tempdir().unwrap();
    write_idx(d.path(), "train-images-idx3-ubyte", &set);
    write_idx(d.path(), "t10k-images-idx3-ubyte", &set);
    for k in [2usize, 3] {
        let out = Command::new(env!("CARGO_BIN_EXE_ae"))
            .args(["-q", "pca", "--data", d.path().to_str().unwrap()])
            .args(["--components", &k.to_string()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let want = format!(
            "PCA, {k} components: test PSNR {:.2} dB (float coefficients), {:.2} dB at {k} bytes \
             per image (8-bit)",
            if k == 3 {
                100.0
            } else {
                psnr(expected_mse(&coeffs, k, false))
            },
            psnr(expected_mse(&coeffs, k, true)),
        );
        assert_eq!(stdout.trim(), want);
    }
}
