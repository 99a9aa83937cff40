//! Training data from folders of pictures: `DIR/train/` and `DIR/test/`, each holding PNG or PGM
//! files of one size, read in the sorted order of their names so that every run sees the same
//! images in the same order (and so trains bit-identically).
//!
//! A sensor's user has pictures, not IDX files. Every failure names the file: an unreadable
//! picture, a colour or 16-bit one (unless `--grayscale` converts it), one whose size differs from
//! the first, an empty folder. Pictures are read one at a time (each bounded by
//! [`crate::limits::MAX_PICTURE_BYTES`]), with a progress bar for large folders.

use std::path::{Path, PathBuf};

use super::{picture, ImageSet};
use crate::error::{Error, Result};

/// Subfolder names of a picture data set.
pub const TRAIN_DIR: &str = "train";
/// See [`TRAIN_DIR`].
pub const TEST_DIR: &str = "test";
/// Folders with more pictures than this show a progress bar while loading.
const PROGRESS_FROM: usize = 2_000;

/// Whether `dir` is laid out as picture folders (`train/` and `test/` subdirectories).
pub fn is_picture_folders(dir: &Path) -> bool {
    dir.join(TRAIN_DIR).is_dir() && dir.join(TEST_DIR).is_dir()
}

/// Reads every picture in `dir` (sorted by file name; hidden files are skipped).
pub fn read_folder(dir: &Path, convert: bool) -> Result<ImageSet> {
    let files = picture_files(dir)?;
    let progress = (files.len() >= PROGRESS_FROM).then(|| {
        let bar = indicatif::ProgressBar::new(files.len() as u64);
        bar.set_message(format!("reading {}", dir.display()));
        bar
    });
    let mut set: Option<ImageSet> = None;
    for path in &files {
        let (rows, cols, pixels) = picture::read_grey(path, convert)?;
        let set = set.get_or_insert_with(|| ImageSet::empty(rows, cols));
        if (rows, cols) != (set.rows(), set.cols()) {
            return Err(Error::BadFile {
                path: path.clone(),
                problem: format!(
                    "is {cols}x{rows}, but the pictures before it in {} are {}x{}: all must be one size",
                    dir.display(),
                    set.cols(),
                    set.rows()
                ),
            });
        }
        set.push(&pixels)?;
        if let Some(bar) = &progress {
            bar.inc(1);
        }
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    set.ok_or_else(|| Error::BadFile {
        path: dir.to_path_buf(),
        problem: "holds no pictures".into(),
    })
}

/// The non-hidden entries of `dir`, sorted by name. Subdirectories are an error (named), so a
/// misplaced folder is not silently skipped.
fn picture_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(Error::io(dir))? {
        let entry = entry.map_err(Error::io(dir))?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            return Err(Error::BadFile {
                path,
                problem: "is a folder inside a picture folder (pictures only)".into(),
            });
        }
        files.push(path);
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn save(path: &Path, img: image::DynamicImage) {
        img.save_with_format(path, image::ImageFormat::Png).unwrap();
    }

    fn grey(w: u32, h: u32, seed: u8) -> image::DynamicImage {
        image::DynamicImage::ImageLuma8(image::GrayImage::from_fn(w, h, |x, y| {
            image::Luma([(x * 7 + y * 3) as u8 ^ seed])
        }))
    }

    #[test]
    fn pictures_load_in_name_order_and_hidden_files_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        save(&dir.path().join("b.png"), grey(3, 2, 2));
        save(&dir.path().join("a.png"), grey(3, 2, 1));
        std::fs::write(dir.path().join(".DS_Store"), b"junk").unwrap();
        let set = read_folder(dir.path(), false).unwrap();
        assert_eq!((set.count(), set.rows(), set.cols()), (2, 2, 3));
        assert_eq!(set.image(0), grey(3, 2, 1).to_luma8().as_raw().as_slice());
        assert_eq!(set.image(1), grey(3, 2, 2).to_luma8().as_raw().as_slice());
    }

    #[test]
    fn every_bad_folder_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let empty = read_folder(dir.path(), false).unwrap_err().to_string();
        assert!(empty.contains("holds no pictures"), "{empty}");

        save(&dir.path().join("a.png"), grey(4, 4, 0));
        save(&dir.path().join("b.png"), grey(5, 4, 0));
        let mixed = read_folder(dir.path(), false).unwrap_err().to_string();
        assert!(
            mixed.contains("b.png") && mixed.contains("5x4") && mixed.contains("4x4"),
            "{mixed}"
        );

        std::fs::remove_file(dir.path().join("b.png")).unwrap();
        let rgb = image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
            4,
            4,
            image::Rgb([9, 90, 200]),
        ));
        save(&dir.path().join("c.png"), rgb);
        let colour = read_folder(dir.path(), false).unwrap_err().to_string();
        assert!(
            colour.contains("c.png") && colour.contains("not 8-bit grayscale"),
            "{colour}"
        );
        let converted = read_folder(dir.path(), true).unwrap();
        assert_eq!(converted.count(), 2);

        std::fs::write(dir.path().join("d.png"), b"not a picture").unwrap();
        let junk = read_folder(dir.path(), true).unwrap_err().to_string();
        assert!(junk.contains("d.png"), "{junk}");
    }
}
