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

    let out = ae(&["eval", "--model", m, "--data", data, "--json"]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in ["bce", "mse", "psnr_db", "mean_image_psnr_db", "images"] {
        assert!(json.get(key).is_some(), "missing {key} in {json}");
    }
    assert_eq!(json["images"], 16);

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
    assert!(String::from_utf8_lossy(&out.stdout).contains("dB"));
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
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("int8 export changes test PSNR by"),
        "{stdout}"
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
