//! The models embedded in the firmware are exactly what the documented commands produce
//! (firmware-example/assets/README.md): re-running them gives byte-identical files.

mod common;

use common::ae;

use std::path::PathBuf;

fn assets() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("firmware-example/assets")
}

#[test]
fn int8_asset_is_what_ae_export_writes() {
    let Some(data) = common::data_dir("mnist-subset") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("int8.tnae");
    let float = assets().join("mnist-float.tnae");
    ae(&[
        "-q",
        "export",
        "--model",
        float.to_str().unwrap(),
        "--int8",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(assets().join("mnist-int8.tnae")).unwrap()
    );
}

#[test]
fn float_asset_is_what_ae_train_writes() {
    let Some(data) = common::data_dir("mnist-subset") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("float.tnae");
    ae(&[
        "-q",
        "train",
        "--data",
        data.to_str().unwrap(),
        "--seed",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(assets().join("mnist-float.tnae")).unwrap(),
        "training is not reproducing the committed model (a different CPU type can change float rounding in the matrix kernels)"
    );
}
