//! Issue 13, driven through the `ae` binary: nothing lost (only regular files are replaced,
//! siblings and checkpoints are kept, concurrent writers are refused, stale temporaries go),
//! nothing hangs (FIFOs and devices are refused), nothing panics or allocates without bound
//! (`--latent`, `--side`, model sizes), and no NaN becomes a PSNR.
//!
//! Every child runs under a timeout, so a regression to "blocks on a FIFO" fails instead of
//! hanging the test run.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

fn command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ae"));
    c.args(args)
        .env_remove("XDG_CACHE_HOME")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Waits for `child` at most `secs` seconds; kills it and panics when it takes longer.
fn finish(mut child: Child, secs: u64, what: &str) -> Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{what} still running after {secs} s; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Runs `ae args`, failing the test if it takes more than 60 s (a hang).
fn ae(args: &[&str]) -> Output {
    finish(command(args).spawn().unwrap(), 60, &format!("ae {args:?}"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn fails_with(out: &Output, needle: &str) {
    let e = stderr(out);
    assert_eq!(out.status.code(), Some(1), "stderr: {e}");
    assert!(e.contains(needle), "expected {needle:?} in: {e}");
    assert!(!e.contains("panicked"), "{e}");
}

fn succeeds(out: &Output) {
    assert!(out.status.success(), "stderr: {}", stderr(out));
}

fn idx_bytes(count: u32, side: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    for v in [0x0803u32, count, side, side] {
        bytes.extend_from_slice(&v.to_be_bytes());
    }
    bytes.extend((0..count * side * side).map(|i| (i * 7 % 256) as u8));
    bytes
}

fn data_dir(train: u32, test: u32, side: u32) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("train-images-idx3-ubyte"),
        idx_bytes(train, side),
    )
    .unwrap();
    std::fs::write(
        d.path().join("t10k-images-idx3-ubyte"),
        idx_bytes(test, side),
    )
    .unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn mkfifo(path: &Path) {
    let st = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(st.success());
}

fn is_fifo(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(path)
        .map(|m| m.file_type().is_fifo())
        .unwrap_or(false)
}

/// `ae train` on `data` into `out` for `epochs` with a tiny model, plus extra arguments.
fn train(data: &Path, out: &Path, epochs: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "-q",
        "train",
        "--data",
        s(data),
        "--out",
        s(out),
        "--epochs",
        epochs,
        "--latent",
        "4",
        "--batch",
        "8",
        "--threads",
        "1",
    ];
    args.extend_from_slice(extra);
    ae(&args)
}

/// A trained float model and its int8 export in `data`.
fn models(data: &Path) -> (PathBuf, PathBuf) {
    let float = data.join("m.tnae");
    succeeds(&train(data, &float, "1", &[]));
    let int8 = data.join("q.tnae");
    succeeds(&ae(&[
        "-q",
        "export",
        "--model",
        s(&float),
        "--int8",
        "--out",
        s(&int8),
        "--data",
        s(data),
    ]));
    (float, int8)
}

// Item 1: a FIFO, a symbolic link or a directory at the output path is never replaced, even with
// --force.
#[test]
fn outputs_that_are_not_regular_files_are_never_replaced() {
    let d = data_dir(64, 16, 6);
    let (float, _) = models(d.path());
    let fifo = d.path().join("pipe.tnae");
    mkfifo(&fifo);
    fails_with(
        &train(d.path(), &fifo, "1", &["--force"]),
        "pipe.tnae is a FIFO (named pipe), not a regular file",
    );
    assert!(is_fifo(&fifo));
    let target = d.path().join("precious");
    std::fs::write(&target, b"keep").unwrap();
    let link = d.path().join("link.tnae");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let export = |out: &Path| {
        ae(&[
            "-q",
            "export",
            "--model",
            s(&float),
            "--int8",
            "--out",
            s(out),
            "--data",
            s(d.path()),
            "--force",
        ])
    };
    fails_with(&export(&link), "link.tnae is a symbolic link");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read(&target).unwrap(), b"keep");
    fails_with(&export(&fifo), "is a FIFO");
    assert!(is_fifo(&fifo));
}

// Item 2: the checkpoint and history of an earlier run are kept without --resume or --force.
#[test]
fn siblings_of_out_are_not_overwritten_without_force_or_resume() {
    let d = data_dir(64, 16, 6);
    let out = d.path().join("m.tnae");
    // An interrupted run: checkpoint in epoch 2, no model yet.
    let first = train(d.path(), &out, "3", &["--stop-after-steps", "12"]);
    assert_eq!(first.status.code(), Some(130), "{}", stderr(&first));
    let ckpt = d.path().join("m.ckpt");
    let saved = std::fs::read(&ckpt).unwrap();
    assert!(!out.exists());
    fails_with(
        &train(d.path(), &out, "3", &[]),
        "m.ckpt holds the checkpoint of an earlier run: pass --resume to continue it or --force",
    );
    assert_eq!(std::fs::read(&ckpt).unwrap(), saved);
    // A history without a model is kept as well.
    succeeds(&train(d.path(), &out, "3", &["--resume"]));
    std::fs::remove_file(&out).unwrap();
    std::fs::remove_file(&ckpt).unwrap();
    let history = d.path().join("m.history.json");
    let kept = std::fs::read(&history).unwrap();
    fails_with(
        &train(d.path(), &out, "1", &[]),
        "m.history.json already exists",
    );
    assert_eq!(std::fs::read(&history).unwrap(), kept);
    // --force starts over.
    succeeds(&train(d.path(), &out, "1", &["--force"]));
}

// Item 3: a second writer to the same output is refused while the first runs; the lock file the
// first leaves behind (even when killed) does not stop a later run.
#[test]
fn a_second_writer_to_one_output_is_refused() {
    let d = data_dir(2000, 16, 28);
    let out = d.path().join("m.tnae");
    let first = command(&[
        "-q",
        "train",
        "--data",
        s(d.path()),
        "--out",
        s(&out),
        "--epochs",
        "100000",
        "--latent",
        "8",
        "--threads",
        "1",
    ])
    .spawn()
    .unwrap();
    let first_pid = first.id();
    std::thread::sleep(Duration::from_millis(1500));
    let second = train(d.path(), &out, "1", &["--force"]);
    let _ = Command::new("kill")
        .args(["-KILL", &first_pid.to_string()])
        .status();
    let first = first.wait_with_output().unwrap();
    assert!(!first.status.success(), "{}", stderr(&first));
    fails_with(&second, "m.tnae is being written by another ae process");
    // The killed run's lock file is taken over.
    succeeds(&train(d.path(), &out, "1", &["--force"]));
}

// Item 10 (killed writes): stale temporary files are removed and reported.
#[test]
fn stale_partial_files_from_killed_writes_are_removed() {
    let d = data_dir(64, 16, 6);
    let stale = d.path().join(".tinyae-Ab12Cd.partial");
    let f = std::fs::File::create(&stale).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(600))
        .unwrap();
    drop(f);
    let out = train(d.path(), &d.path().join("m.tnae"), "1", &[]);
    succeeds(&out);
    assert!(!stale.exists(), "stale temporary left: {}", stderr(&out));
    assert!(stderr(&out).contains(".tinyae-Ab12Cd.partial"));
}

// Item 6: FIFOs as inputs are refused at once (they used to block forever), directories and
// oversized files with a clear message.
#[test]
fn fifo_and_directory_inputs_are_refused_not_waited_on() {
    let d = data_dir(64, 16, 6);
    let (_, int8) = models(d.path());
    let fifo = d.path().join("fifo");
    mkfifo(&fifo);
    let data = s(d.path());
    fails_with(
        &ae(&["eval", "--model", s(&fifo), "--data", data]),
        "fifo is a FIFO (named pipe), not a regular file: ae only reads regular files",
    );
    fails_with(&ae(&["summary", "--model", s(&fifo)]), "is a FIFO");
    let codes = d.path().join("c.tnac");
    fails_with(
        &ae(&["decompress", "--model", s(&int8), s(&fifo), "-o", s(&codes)]),
        "is a FIFO",
    );
    fails_with(
        &ae(&["compress", "--model", s(&int8), s(&fifo), "-o", s(&codes)]),
        "is a FIFO",
    );
    // A FIFO where the checkpoint should be.
    let out = d.path().join("r.tnae");
    mkfifo(&d.path().join("r.ckpt"));
    fails_with(&train(d.path(), &out, "2", &["--resume"]), "is a FIFO");
    fails_with(
        &ae(&["summary", "--model", data]),
        "is a directory, not a regular file",
    );
    // A model file larger than any model ae makes (sparse, so cheap) is refused unread.
    let big = d.path().join("big.tnae");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(trainer::limits::MAX_MODEL_BYTES + 1).unwrap();
    fails_with(&ae(&["summary", "--model", s(&big)]), "is larger than");
}

// Item 6: a device as input is refused before reading (`/dev/zero` used to be read until memory
// ran out).
#[test]
fn device_inputs_are_refused() {
    fails_with(
        &ae(&["summary", "--model", "/dev/zero"]),
        "/dev/zero is a character device",
    );
}

// Item 4 and item 10 (`summary --side`): sizes from options are bounded and computed without
// overflow.
#[test]
fn huge_sizes_from_options_are_refused_before_allocating() {
    let d = data_dir(64, 16, 6);
    let out = d.path().join("m.tnae");
    for latent in ["18446744073709551615", "4294967296", "100000"] {
        let o = ae(&[
            "train",
            "--data",
            s(d.path()),
            "--out",
            s(&out),
            "--latent",
            latent,
            "--epochs",
            "1",
        ]);
        fails_with(&o, "--latent");
        fails_with(&o, "out of range (at most 4096)");
    }
    assert!(!out.exists() && !d.path().join("m.ckpt").exists());
    // Within the latent bound but over the parameter bound: 64x64 images, 4096 latent units.
    let big = data_dir(2, 2, 64);
    fails_with(
        &ae(&[
            "train",
            "--data",
            s(big.path()),
            "--out",
            s(&out),
            "--latent",
            "4096",
            "--epochs",
            "1",
        ]),
        "more than 16777216 parameters",
    );
    fails_with(
        &ae(&["summary", "--side", "4294967296"]),
        "--side 4294967296 is out of range",
    );
    fails_with(
        &ae(&["summary", "--side", "4096", "--latent", "4096"]),
        "parameters",
    );
    succeeds(&ae(&["summary", "--side", "28", "--latent", "64"]));
}

// Item 5: `ae pca` refuses a covariance matrix larger than its bound instead of allocating it.
#[test]
fn pca_refuses_a_covariance_larger_than_its_bound() {
    let d = data_dir(2, 2, 256);
    fails_with(
        &ae(&["pca", "--data", s(d.path()), "--components", "1"]),
        "too large",
    );
}

// Item 7: NaN outputs are an error, never "PSNR 100.00 dB".
#[test]
fn nan_outputs_are_an_error_not_a_psnr() {
    use rand::SeedableRng;
    let d = data_dir(64, 16, 6);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let mut p = trainer::model::Params::glorot(36, 4, 0.3, &mut rng);
    // Huge but finite weights: the encoder's outputs are near f32::MAX, the decoder's sums of
    // +inf and -inf are NaN.
    p.w1.fill(1e37);
    for (i, w) in p.w2.iter_mut().enumerate() {
        *w = if i % 2 == 0 { 1e37 } else { -1e37 };
    }
    let model = d.path().join("huge.tnae");
    std::fs::write(&model, p.to_model_file().unwrap()).unwrap();
    let data = s(d.path());
    fails_with(
        &ae(&["eval", "--model", s(&model), "--data", data]),
        "non-finite output",
    );
    let o = ae(&["eval", "--model", s(&model), "--data", data, "--json"]);
    fails_with(&o, "non-finite");
    assert!(
        o.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

// Item 9: resuming with --epochs below where the checkpoint is fails.
#[test]
fn resume_past_the_requested_epochs_is_an_error() {
    let d = data_dir(64, 16, 6);
    let out = d.path().join("m.tnae");
    // 8 batches per epoch: 12 steps stop in epoch 2.
    let o = train(d.path(), &out, "3", &["--stop-after-steps", "12"]);
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    fails_with(
        &train(d.path(), &out, "1", &["--resume"]),
        "already at epoch 2 (batch 4), past --epochs 1",
    );
    assert!(!out.exists());
}

// Item 10: a resume with other settings names the setting.
#[test]
fn resume_mismatch_names_the_setting() {
    let d = data_dir(64, 16, 6);
    let out = d.path().join("m.tnae");
    let o = train(d.path(), &out, "3", &["--stop-after-steps", "3"]);
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    let o = ae(&[
        "-q",
        "train",
        "--data",
        s(d.path()),
        "--out",
        s(&out),
        "--epochs",
        "3",
        "--latent",
        "4",
        "--batch",
        "16",
        "--resume",
    ]);
    fails_with(&o, "--batch is 8 there and 16 in this run");
    assert!(!stderr(&o).contains("TrainConfig"), "{}", stderr(&o));
}

// Item 10: `--out` that is the checkpoint path, or an existing directory, fails before training;
// `--epochs 0` is refused.
#[test]
fn bad_out_paths_and_zero_epochs_fail_before_training() {
    let d = data_dir(64, 16, 6);
    let ckpt = d.path().join("m.ckpt");
    fails_with(
        &train(d.path(), &ckpt, "1", &[]),
        "is also the checkpoint path",
    );
    assert!(!ckpt.exists());
    let dir = d.path().join("adir");
    std::fs::create_dir(&dir).unwrap();
    fails_with(
        &train(d.path(), &dir, "1", &["--force"]),
        "adir is a directory, not a regular file",
    );
    assert!(
        !d.path().join("adir.ckpt").exists(),
        "trained before failing"
    );
    let out = d.path().join("m.tnae");
    fails_with(
        &train(d.path(), &out, "0", &[]),
        "--epochs must be at least 1",
    );
    assert!(!out.exists());
}

// Item 10: `--out` of report and pipeline naming a file.
#[test]
fn report_and_pipeline_out_must_be_a_directory() {
    let d = data_dir(64, 16, 6);
    let (float, _) = models(d.path());
    let file = d.path().join("afile");
    std::fs::write(&file, b"x").unwrap();
    let data = s(d.path());
    fails_with(
        &ae(&[
            "report",
            "--model",
            s(&float),
            "--data",
            data,
            "--out",
            s(&file),
        ]),
        "afile is not a directory",
    );
    fails_with(
        &ae(&[
            "pipeline",
            "--data",
            data,
            "--out",
            s(&file),
            "--epochs",
            "1",
        ]),
        "afile is not a directory",
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
}

// Item 10: a PNG named `.jpg`, or with no extension, is read as a picture (by its content).
#[test]
fn pictures_are_recognised_by_content_not_name() {
    let d = data_dir(64, 16, 6);
    let (_, int8) = models(d.path());
    let img = image::GrayImage::from_fn(6, 6, |x, y| image::Luma([(x * 40 + y) as u8]));
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png).unwrap();
    for name in ["digit.jpg", "digit"] {
        let input = d.path().join(name);
        std::fs::write(&input, png.get_ref()).unwrap();
        let codes = d.path().join(format!("{name}.tnac"));
        let o = ae(&["compress", "--model", s(&int8), s(&input), "-o", s(&codes)]);
        succeeds(&o);
        assert!(codes.is_file());
    }
}

// Item 10: Ctrl-C during a command that is not training stops it at once, without promising to
// "stop after this batch".
#[test]
fn ctrl_c_outside_training_stops_at_once() {
    // PCA of 48x48 images: the eigendecomposition of a 2304 x 2304 matrix takes many seconds.
    let d = data_dir(400, 8, 48);
    let child = command(&["pca", "--data", s(d.path()), "--components", "8"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let st = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let out = finish(child, 5, "ae pca after Ctrl-C");
    let e = stderr(&out);
    assert!(!e.contains("stopping after this batch"), "{e}");
    assert_eq!(out.status.code(), Some(130), "{e}");
    assert!(e.contains("interrupted"), "{e}");
}
