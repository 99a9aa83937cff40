//! Image data: IDX files from a directory (or downloaded MNIST), and the train / validation / test
//! splits the commands work on.
//!
//! Only images are read; labels play no part in an autoencoder.

pub mod download;
pub mod folder;
pub mod idx;
pub mod picture;
pub mod standard;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result, Setting};

/// File names of the standard IDX image files (a `.gz` suffix is also accepted).
pub const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
/// See [`TRAIN_IMAGES`].
pub const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";

/// `count` grayscale images of `rows x cols` bytes, one after the other.
///
/// The fields are private so that `pixels.len() == count * rows * cols` always holds: every
/// constructor and every way of adding images checks it, and indexing never has to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSet {
    pixels: Vec<u8>,
    count: usize,
    rows: usize,
    cols: usize,
}

impl ImageSet {
    /// `pixels` as whole `rows x cols` images, or [`Error::ImageSetShape`] when its length is not
    /// a multiple of `rows * cols` (an empty `pixels` is no images of any size).
    pub fn new(pixels: Vec<u8>, rows: usize, cols: usize) -> Result<Self> {
        let image_len = rows.checked_mul(cols);
        let count = match image_len {
            _ if pixels.is_empty() => Some(0),
            Some(n) if n > 0 && pixels.len().is_multiple_of(n) => Some(pixels.len() / n),
            _ => None,
        };
        let Some(count) = count else {
            return Err(Error::ImageSetShape {
                pixels: pixels.len(),
                count: image_len.map_or(0, |n| pixels.len() / n.max(1)),
                rows,
                cols,
            });
        };
        Ok(ImageSet {
            pixels,
            count,
            rows,
            cols,
        })
    }

    /// No images, of the given size (e.g. "no validation split").
    pub fn empty(rows: usize, cols: usize) -> Self {
        ImageSet {
            pixels: Vec::new(),
            count: 0,
            rows,
            cols,
        }
    }

    /// All pixels, image after image, row-major.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// The pixels, giving up the set.
    pub fn into_pixels(self) -> Vec<u8> {
        self.pixels
    }

    /// Number of images.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Image height.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Image width.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Pixels per image.
    pub fn image_len(&self) -> usize {
        self.rows * self.cols
    }

    /// The image shape as a model file stores it, or [`Error::ShapeTooLarge`].
    pub fn shape(&self) -> Result<ae_core::format::Shape> {
        let too_large = || Error::ShapeTooLarge {
            rows: self.rows,
            cols: self.cols,
        };
        Ok(ae_core::format::Shape {
            rows: u32::try_from(self.rows).map_err(|_| too_large())?,
            cols: u32::try_from(self.cols).map_err(|_| too_large())?,
        })
    }

    /// Adds one image of this set's size.
    pub fn push(&mut self, image: &[u8]) -> Result<()> {
        if image.len() != self.image_len() {
            return Err(Error::ImageSetShape {
                pixels: image.len(),
                count: 1,
                rows: self.rows,
                cols: self.cols,
            });
        }
        self.pixels.extend_from_slice(image);
        self.count += 1;
        Ok(())
    }

    /// Adds every image of `other`, which must have this set's image size.
    pub fn append(&mut self, other: ImageSet) -> Result<()> {
        if (other.rows, other.cols) != (self.rows, self.cols) {
            return Err(Error::ImageSetShape {
                pixels: other.pixels.len(),
                count: other.count,
                rows: self.rows,
                cols: self.cols,
            });
        }
        self.pixels.extend(other.pixels);
        self.count += other.count;
        Ok(())
    }

    /// Image `i`; panics if `i >= count` (callers index within `count`).
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.image_len();
        &self.pixels[i * n..(i + 1) * n]
    }

    /// Iterates over the images.
    pub fn images(&self) -> impl ExactSizeIterator<Item = &[u8]> {
        self.pixels.chunks_exact(self.image_len().max(1))
    }

    /// Moves the last `fraction` of the images into a new set (the validation split), the way
    /// Keras' `validation_split` does: no shuffling, so the split is the same on every run.
    pub fn split_off_tail(&mut self, fraction: f64) -> Result<ImageSet> {
        if !(0.0..1.0).contains(&fraction) {
            return Err(Error::InvalidSetting {
                setting: Setting::ValFraction,
                value: fraction.to_string(),
                expected: "in [0, 1)",
            });
        }
        let n_val = (self.count as f64 * fraction).round() as usize;
        if n_val > 0 && n_val == self.count {
            return Err(Error::NoTrainingImagesLeft { fraction });
        }
        let keep = self.count - n_val;
        let pixels = self.pixels.split_off(keep * self.image_len());
        self.count = keep;
        Ok(ImageSet {
            pixels,
            count: n_val,
            rows: self.rows,
            cols: self.cols,
        })
    }
}

/// Which part of the data a command works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// The training images (without the validation tail).
    Train,
    /// The validation tail carved from the training file.
    Val,
    /// The test file.
    Test,
}

/// The three splits of one data directory.
#[derive(Debug, Clone)]
pub struct Splits {
    /// Training images.
    pub train: ImageSet,
    /// Validation images (empty when `--val 0`).
    pub val: ImageSet,
    /// Test images.
    pub test: ImageSet,
}

impl Splits {
    /// Loads the training and test files of `dir` and carves `val_fraction` off training. The
    /// standard uncompressed MNIST layout goes through the `mnist` crate ([`standard`]), anything
    /// else through tinyae's own IDX reader ([`idx`]); picture folders (`train/`, `test/`) through
    /// [`folder`], 8-bit grey only.
    pub fn load(dir: &Path, val_fraction: f64) -> Result<Self> {
        Self::load_with(dir, val_fraction, false)
    }

    /// [`Splits::load`]; `convert` turns colour or 16-bit pictures of a picture folder into 8-bit
    /// grey instead of refusing them (`--grayscale`).
    pub fn load_with(dir: &Path, val_fraction: f64, convert: bool) -> Result<Self> {
        let (mut train, test) = if folder::is_picture_folders(dir) {
            (
                folder::read_folder(&dir.join(folder::TRAIN_DIR), convert)?,
                folder::read_folder(&dir.join(folder::TEST_DIR), convert)?,
            )
        } else {
            match standard::try_load(dir)? {
                Some(sets) => sets,
                None => (
                    idx::read_images(&find(dir, TRAIN_IMAGES)?)?,
                    idx::read_images(&find(dir, TEST_IMAGES)?)?,
                ),
            }
        };
        if (train.rows, train.cols) != (test.rows, test.cols) {
            return Err(Error::SplitShapes {
                dir: dir.to_path_buf(),
                train: (train.rows, train.cols),
                test: (test.rows, test.cols),
            });
        }
        let val = train.split_off_tail(val_fraction)?;
        Ok(Splits { train, val, test })
    }

    /// One split.
    pub fn get(&self, split: Split) -> &ImageSet {
        match split {
            Split::Train => &self.train,
            Split::Val => &self.val,
            Split::Test => &self.test,
        }
    }
}

/// `dir/name`, or `dir/name.gz`, whichever exists.
pub fn find(dir: &Path, name: &str) -> Result<PathBuf> {
    if !dir.is_dir() {
        return Err(Error::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "data directory not found"),
        });
    }
    // Whatever is there is taken (a FIFO or a directory is then reported by the reader).
    let raw = dir.join(name);
    if raw.exists() {
        return Ok(raw);
    }
    let gz = dir.join(format!("{name}.gz"));
    if gz.exists() {
        return Ok(gz);
    }
    Err(Error::MissingDataFile {
        dir: dir.to_path_buf(),
        name: name.to_string(),
    })
}

/// The data directory to use: `data` when given, else the MNIST cache (downloaded when missing).
pub fn resolve_dir(data: Option<&Path>, quiet: bool) -> Result<PathBuf> {
    match data {
        Some(dir) => Ok(dir.to_path_buf()),
        None => {
            let dir = download::default_cache_dir()?;
            download::Downloader::mnist(quiet).fetch_missing(&dir)?;
            Ok(dir)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_set_is_always_whole_images() {
        let set = ImageSet::new(vec![1; 12], 2, 3).unwrap();
        assert_eq!(
            (set.count(), set.image_len(), set.images().len()),
            (2, 6, 2)
        );
        assert_eq!(ImageSet::new(Vec::new(), 2, 3).unwrap().count(), 0);
        for (len, rows, cols) in [(7, 2, 3), (5, 0, 3), (4, usize::MAX, 2)] {
            let e = ImageSet::new(vec![0; len], rows, cols).unwrap_err();
            assert!(matches!(e, Error::ImageSetShape { .. }), "{e}");
        }
        let mut grown = ImageSet::empty(2, 3);
        grown.push(&[5; 6]).unwrap();
        assert!(grown.push(&[5; 5]).is_err());
        grown.append(set.clone()).unwrap();
        assert!(grown
            .append(ImageSet::new(vec![0; 6], 3, 2).unwrap())
            .is_err());
        assert_eq!((grown.count(), grown.pixels().len()), (3, 18));
        assert_eq!(grown.image(2), set.image(1));
    }
}
