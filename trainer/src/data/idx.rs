//! Reading IDX image files (`.gz` or raw) with every header field checked before any pixel is read.
//!
//! No header can make the reader allocate more than the data it really holds: a raw file's header
//! is checked against the file's length before anything is allocated, and a gzip stream (whose
//! length is unknown until it is read) fills a buffer that grows only as data arrives, up to what
//! the header declares, itself bounded by [`MAX_PIXELS`]. A `.gz` of several members (as `cat
//! a.gz b.gz` makes, valid for `gzip -t`) is read to its end.
//!
//! The `mnist` crate reads the same format but only at MNIST's exact sizes (60,000 / 10,000 images
//! of 28x28, uncompressed) and panics on anything else: that layout goes through the crate
//! ([`super::standard`]), every other set through this reader; a test checks both agree on a
//! full-size set.

use std::io::Read;
use std::path::Path;

use flate2::read::MultiGzDecoder;

use super::ImageSet;
use crate::error::{Error, Result};
use crate::fsio;

/// Magic number of an IDX file of unsigned bytes with three dimensions.
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Refuse headers that promise more than this many pixels, before allocating.
pub const MAX_PIXELS: usize = crate::limits::MAX_IDX_PIXELS;

/// Reads an IDX image file; gzip is detected from its first two bytes.
pub fn read_images(path: &Path) -> Result<ImageSet> {
    open_images(path)?.read_all()
}

/// Opens an IDX image file and reads and checks its header; the pixels follow in pieces
/// ([`ImageStream::next_images`]). Gzip is detected from the first two bytes.
pub fn open_images(path: &Path) -> Result<ImageStream<Box<dyn Read + Send>>> {
    let (file, len) = fsio::open_input(path)?;
    let mut head = [0u8; 2];
    let mut peek = std::io::BufReader::new(file);
    let gz = {
        use std::io::BufRead;
        let buf = peek.fill_buf().map_err(Error::io(path))?;
        head[..buf.len().min(2)].copy_from_slice(&buf[..buf.len().min(2)]);
        head == [0x1f, 0x8b]
    };
    if gz {
        ImageStream::start(path, Box::new(MultiGzDecoder::new(peek)), None)
    } else {
        ImageStream::start(path, Box::new(peek), Some(len))
    }
}

/// Reads and validates an IDX image stream; `path` only names it in errors.
pub fn read_from(path: &Path, r: impl Read) -> Result<ImageSet> {
    ImageStream::start(path, r, None)?.read_all()
}

/// An IDX image stream whose header has been read and checked: `count` images of `rows x cols`
/// pixels follow, read in pieces so that a caller can work on the first images while the rest
/// are still being read (and unzipped).
pub struct ImageStream<R> {
    r: R,
    path: std::path::PathBuf,
    count: usize,
    rows: usize,
    cols: usize,
    /// Images read so far.
    done: usize,
}

impl<R: Read> ImageStream<R> {
    /// Reads the header from `r` and checks it; `known_len` is the stream's length when it is
    /// known (a raw file), so that a truncated file is reported before its pixels are read.
    fn start(path: &Path, mut r: R, known_len: Option<u64>) -> Result<Self> {
        let bad = |problem: String| Error::BadFile {
            path: path.to_path_buf(),
            problem,
        };
        let mut header = [0u8; 16];
        read_full(&mut r, &mut header).map_err(|e| match e {
            Short(n) => bad(format!("too short for an IDX header ({n} of 16 bytes)")),
            Io(e) => Error::Unreadable {
                path: path.to_path_buf(),
                source: e,
            },
        })?;
        let field =
            |i: usize| u32::from_be_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
        let magic = field(0);
        if magic != IMAGES_MAGIC {
            return Err(bad(format!(
                "not an IDX image file (magic {magic:#010x}, expected {IMAGES_MAGIC:#010x}; a labels file has 0x00000801)"
            )));
        }
        let (count, rows, cols) = (field(4) as usize, field(8) as usize, field(12) as usize);
        if count == 0 || rows == 0 || cols == 0 {
            return Err(bad(format!(
                "header declares {count} images of {rows}x{cols}: nothing to read"
            )));
        }
        let stream = ImageStream {
            r,
            path: path.to_path_buf(),
            count,
            rows,
            cols,
            done: 0,
        };
        let total = stream.total().ok_or_else(|| {
            bad(format!(
                "header declares an implausible size: {count} images of {rows}x{cols}"
            ))
        })?;
        if let Some(len) = known_len {
            let body = len.saturating_sub(16);
            if body < total as u64 {
                return Err(stream.truncated(body));
            }
        }
        Ok(stream)
    }

    /// All the pixels the header declares, if within [`MAX_PIXELS`].
    fn total(&self) -> Option<usize> {
        self.count
            .checked_mul(self.rows)
            .and_then(|v| v.checked_mul(self.cols))
            .filter(|&v| v <= MAX_PIXELS)
    }

    fn truncated(&self, after: u64) -> Error {
        let (count, rows, cols) = (self.count, self.rows, self.cols);
        let total = self.total().unwrap_or(0);
        Error::BadFile {
            path: self.path.clone(),
            problem: format!(
                "truncated: header declares {count} images of {rows}x{cols} ({total} bytes) but the data ends after {after} bytes"
            ),
        }
    }

    /// Image height.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Image width.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Images the header declares.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The pixels of up to `max` more images (at least one), or `None` once all are read. The
    /// last call also checks that nothing follows the declared images.
    pub fn next_images(&mut self, max: usize) -> Result<Option<Vec<u8>>> {
        let mut pixels = Vec::new();
        Ok(self.next_images_into(max, &mut pixels)?.then_some(pixels))
    }

    /// Like [`Self::next_images`], into `pixels` (cleared first; a buffer used before keeps
    /// its memory, which a long stream read in chunks on several threads would otherwise fault
    /// in again and again). `false` once all are read.
    pub fn next_images_into(&mut self, max: usize, pixels: &mut Vec<u8>) -> Result<bool> {
        pixels.clear();
        let n = max.max(1).min(self.count - self.done);
        if n == 0 {
            return Ok(false);
        }
        let image = self.rows * self.cols;
        let before = (self.done * image) as u64;
        read_body(&mut self.r, n * image, pixels).map_err(|e| match e {
            Short(k) => self.truncated(before + k as u64),
            Io(source) => Error::Unreadable {
                path: self.path.clone(),
                source,
            },
        })?;
        self.done += n;
        if self.done == self.count {
            self.check_end()?;
        }
        Ok(true)
    }

    /// Everything the header declares, as one image set.
    fn read_all(mut self) -> Result<ImageSet> {
        let (rows, cols) = (self.rows, self.cols);
        let pixels = self.next_images(self.count)?.unwrap_or_default();
        ImageSet::new(pixels, rows, cols)
    }

    fn check_end(&mut self) -> Result<()> {
        let mut extra = [0u8; 1];
        match self.r.read(&mut extra) {
            Ok(0) => Ok(()),
            Ok(_) => Err(Error::BadFile {
                path: self.path.clone(),
                problem: format!(
                    "has bytes after the {} images its header declares",
                    self.count
                ),
            }),
            Err(source) => Err(Error::Unreadable {
                path: self.path.clone(),
                source,
            }),
        }
    }
}

enum ReadError {
    Short(usize),
    Io(std::io::Error),
}
use ReadError::{Io, Short};

/// Reads exactly `total` bytes into a buffer that grows as data arrives (never more than 64 MiB
/// ahead of it), reporting how much was read when the stream ends early.
/// Appends exactly `total` bytes of `r` to `pixels` (which grows only as data arrives).
fn read_body(
    r: &mut impl Read,
    total: usize,
    pixels: &mut Vec<u8>,
) -> std::result::Result<(), ReadError> {
    pixels.reserve(total.min(1 << 26));
    match r.take(total as u64).read_to_end(pixels) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
        Err(e) => return Err(Io(e)),
    }
    if pixels.len() < total {
        return Err(Short(pixels.len()));
    }
    Ok(())
}

/// Like `read_exact`, but reports how much was read when the stream ends early.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::result::Result<(), ReadError> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => return Err(Short(filled)),
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(Short(filled)),
            Err(e) => return Err(Io(e)),
        }
    }
    Ok(())
}

/// Encodes images as an IDX file (for tests, `ae decompress` and tools).
pub fn encode(set: &ImageSet) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + set.pixels.len());
    for v in [
        IMAGES_MAGIC,
        set.count() as u32,
        set.rows() as u32,
        set.cols() as u32,
    ] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.extend_from_slice(set.pixels());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn set(count: usize) -> ImageSet {
        ImageSet::new((0..count * 6).map(|v| v as u8).collect(), 2, 3).unwrap()
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn read_file(bytes: &[u8]) -> Result<ImageSet> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x-idx3-ubyte");
        std::fs::write(&p, bytes).unwrap();
        read_images(&p)
    }

    fn err(bytes: &[u8]) -> String {
        read_file(bytes).unwrap_err().to_string()
    }

    #[test]
    fn raw_and_gz_round_trip() {
        let s = set(5);
        assert_eq!(read_file(&encode(&s)).unwrap(), s);
        assert_eq!(read_file(&gz(&encode(&s))).unwrap(), s);
    }

    #[test]
    fn every_bad_header_is_named() {
        assert!(err(b"").contains("too short"), "{}", err(b""));
        let mut labels = encode(&set(2));
        labels[3] = 1;
        assert!(err(&labels).contains("not an IDX image file"));
        let mut zero = encode(&set(2));
        zero[4..8].copy_from_slice(&0u32.to_be_bytes());
        assert!(err(&zero).contains("nothing to read"));
        let mut huge = encode(&set(2));
        huge[4..16].copy_from_slice(&[0xff; 12]);
        assert!(err(&huge).contains("implausible"));
    }

    #[test]
    fn truncation_and_trailing_bytes_are_errors() {
        let full = encode(&set(4));
        let e = err(&full[..full.len() - 1]);
        assert!(
            e.contains("truncated") && e.contains("24 bytes") && e.contains("after 23"),
            "{e}"
        );
        let e = err(&gz(&full[..20]));
        assert!(e.contains("truncated"), "{e}");
        let mut long = full.clone();
        long.push(0);
        assert!(err(&long).contains("bytes after"));
        let zipped = gz(&full);
        let e = err(&zipped[..zipped.len() / 2]);
        assert!(e.contains("truncated") || e.contains("corrupt"), "{e}");
    }

    #[test]
    fn multi_member_gzip_is_read_to_its_end() {
        let full = encode(&set(4));
        let mut two = gz(&full[..30]);
        two.extend(gz(&full[30..]));
        assert_eq!(read_file(&two).unwrap(), set(4));
    }

    #[test]
    fn a_header_larger_than_the_file_fails_before_allocating() {
        // 1 x 65536 x 65536 claims 4 GiB: above the bound whatever the file holds.
        let mut bytes = encode(&set(1));
        bytes[4..16].copy_from_slice(&[0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0]);
        bytes.extend([0u8; 10]);
        let e = err(&bytes);
        assert!(e.contains("implausible"), "{e}");
        // 1 x 16384 x 16384 (256 MiB) is within the bound but not within the 16-byte body: the
        // file length refuses it before any buffer is made.
        bytes[4..16].copy_from_slice(&[0, 0, 0, 1, 0, 0, 0x40, 0, 0, 0, 0x40, 0]);
        let e = err(&bytes);
        assert!(
            e.contains("truncated") && e.contains("after 16 bytes"),
            "{e}"
        );
        // Through gzip, the buffer grows only with the data.
        let e = err(&gz(&bytes));
        assert!(
            e.contains("truncated") && e.contains("after 16 bytes"),
            "{e}"
        );
    }

    #[test]
    fn validation_tail_is_the_last_images() {
        let mut s = set(10);
        let v = s.split_off_tail(0.2).unwrap();
        assert_eq!((s.count(), v.count()), (8, 2));
        assert_eq!(v.image(0), set(10).image(8));
        assert!(set(3).split_off_tail(1.0).is_err());
        assert!(set(3).split_off_tail(-0.1).is_err());
        assert_eq!(set(3).split_off_tail(0.0).unwrap().count(), 0);
    }
}
