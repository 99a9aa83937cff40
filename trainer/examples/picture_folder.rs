//! Makes a picture-folder data set (`OUT/train/*.png`, `OUT/test/*.png`) from an IDX data
//! directory, shrunk to `SIDE x SIDE`: the layout a user's own images come in, for the README's
//! "your own images" walk-through and its test (`scripts/own-images.sh`).
//!
//! `cargo run --release -p trainer --example picture_folder -- IDX_DIR OUT SIDE TRAIN TEST`

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use trainer::data::{ImageSet, Splits};

fn write_folder(set: &ImageSet, count: usize, side: u32, dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (i, image) in set.images().take(count).enumerate() {
        let full = image::GrayImage::from_raw(set.cols() as u32, set.rows() as u32, image.to_vec())
            .ok_or("image size")?;
        let small =
            image::imageops::resize(&full, side, side, image::imageops::FilterType::Triangle);
        let path = dir.join(format!("{i:05}.png"));
        small
            .save(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

fn run(args: &[String]) -> Result<(), String> {
    let [idx_dir, out, side, train, test] = args else {
        return Err("usage: picture_folder IDX_DIR OUT SIDE TRAIN_COUNT TEST_COUNT".into());
    };
    let number = |s: &str| s.parse::<usize>().map_err(|e| format!("{s}: {e}"));
    let side = u32::try_from(number(side)?).map_err(|e| e.to_string())?;
    let splits = Splits::load(Path::new(idx_dir), 0.0).map_err(|e| e.to_string())?;
    let out = PathBuf::from(out);
    write_folder(&splits.train, number(train)?, side, &out.join("train"))?;
    write_folder(&splits.test, number(test)?, side, &out.join("test"))?;
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("picture_folder: {e}");
            ExitCode::FAILURE
        }
    }
}
