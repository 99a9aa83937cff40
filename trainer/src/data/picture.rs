//! The inputs of `ae compress`: pictures (PNG, PGM) and IDX image files, told apart by their first
//! bytes, not their names — a PNG saved as `digit.jpg` or `digit` is still a PNG, and an IDX file
//! can be called anything.
//!
//! Pictures are read whole (at most [`MAX_PICTURE_BYTES`]) and decoded with the image crate's
//! allocation limit set to [`MAX_PICTURE_ALLOC`], so a header claiming a huge image is refused.

use std::io::Read;
use std::path::Path;

use super::idx;
use crate::error::{Error, Result};
use crate::fsio;
use crate::limits::{MAX_PICTURE_ALLOC, MAX_PICTURE_BYTES};

/// What an input file is, by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// An IDX image file, raw or gzip-compressed.
    Idx,
    /// Anything else: tried as a picture.
    Picture,
}

/// Tells an IDX file (magic `00 00 08 xx`, or gzip `1f 8b`) from a picture by its first bytes; an
/// IDX file of another type (labels: `00 00 08 01`) goes to the IDX reader, which names it.
pub fn kind_of(path: &Path) -> Result<InputKind> {
    let (file, _) = fsio::open_input(path)?;
    let mut head = Vec::with_capacity(4);
    file.take(4)
        .read_to_end(&mut head)
        .map_err(Error::io(path))?;
    let idx = (head.len() == 4 && head[..3] == idx::IMAGES_MAGIC.to_be_bytes()[..3])
        || head.starts_with(&[0x1f, 0x8b]);
    Ok(if idx {
        InputKind::Idx
    } else {
        InputKind::Picture
    })
}

/// Reads one picture as `rows x cols` 8-bit grey, converting and resizing only when asked.
pub fn read_picture(path: &Path, rows: usize, cols: usize, resize: bool) -> Result<Vec<u8>> {
    let bytes = fsio::read_bounded(path, "a picture", MAX_PICTURE_BYTES)?;
    decode_picture(path, bytes, rows, cols, resize)
}

/// [`read_picture`] on bytes already read; `path` only names them in errors.
pub fn decode_picture(
    path: &Path,
    bytes: Vec<u8>,
    rows: usize,
    cols: usize,
    resize: bool,
) -> Result<Vec<u8>> {
    let img = decode(path, bytes)?;
    let (w, h) = (img.width() as usize, img.height() as usize);
    let grey = matches!(img.color(), image::ColorType::L8);
    if (!grey || (w, h) != (cols, rows)) && !resize {
        return Err(Error::PictureNeedsConverting {
            path: path.to_path_buf(),
            width: w,
            height: h,
            color: img.color(),
            rows,
            cols,
        });
    }
    let luma = img.to_luma8();
    let luma = if (w, h) == (cols, rows) {
        luma
    } else {
        image::imageops::resize(
            &luma,
            cols as u32,
            rows as u32,
            image::imageops::FilterType::Triangle,
        )
    };
    Ok(luma.into_raw())
}

/// One grey picture of a training folder: `(rows, cols, pixels)`. 8-bit greyscale is taken as it
/// is; colour or 16-bit is an error naming the file unless `convert` is set.
pub fn read_grey(path: &Path, convert: bool) -> Result<(usize, usize, Vec<u8>)> {
    let bytes = fsio::read_bounded(path, "a picture", MAX_PICTURE_BYTES)?;
    let img = decode(path, bytes)?;
    if !matches!(img.color(), image::ColorType::L8) && !convert {
        return Err(Error::PictureNotGrey {
            path: path.to_path_buf(),
            color: img.color(),
        });
    }
    let (rows, cols) = (img.height() as usize, img.width() as usize);
    Ok((rows, cols, img.to_luma8().into_raw()))
}

/// Decodes a PNG or PGM (found by content) under the allocation limit.
fn decode(path: &Path, bytes: Vec<u8>) -> Result<image::DynamicImage> {
    let bad = |problem: String| Error::BadFile {
        path: path.to_path_buf(),
        problem,
    };
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(Error::io(path))?;
    if reader.format().is_none() {
        return Err(bad(
            "is neither an IDX image file nor a PNG or PGM picture".into()
        ));
    }
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_PICTURE_ALLOC);
    reader.limits(limits);
    reader.decode().map_err(|source| Error::Picture {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(side: u32) -> Vec<u8> {
        let img = image::GrayImage::from_fn(side, side, |x, y| image::Luma([(x * 9 + y) as u8]));
        let mut buf = std::io::Cursor::new(Vec::new());
        img.write_to(&mut buf, image::ImageFormat::Png).unwrap();
        buf.into_inner()
    }

    #[test]
    fn pictures_and_idx_are_told_apart_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let jpg = dir.path().join("digit.jpg");
        let bare = dir.path().join("digit");
        std::fs::write(&jpg, png(4)).unwrap();
        std::fs::write(&bare, png(4)).unwrap();
        let idx_named_png = dir.path().join("batch.png");
        let images = super::super::ImageSet::new(vec![5; 32], 4, 4).unwrap();
        std::fs::write(&idx_named_png, idx::encode(&images)).unwrap();
        for p in [&jpg, &bare] {
            assert_eq!(kind_of(p).unwrap(), InputKind::Picture);
            assert_eq!(read_picture(p, 4, 4, false).unwrap(), png_pixels(4));
        }
        assert_eq!(kind_of(&idx_named_png).unwrap(), InputKind::Idx);
        let junk = dir.path().join("junk.png");
        std::fs::write(&junk, b"hello").unwrap();
        let e = read_picture(&junk, 4, 4, false).unwrap_err().to_string();
        assert!(e.contains("neither an IDX"), "{e}");
    }

    fn png_pixels(side: u32) -> Vec<u8> {
        image::GrayImage::from_fn(side, side, |x, y| image::Luma([(x * 9 + y) as u8])).into_raw()
    }
}
