//! Fetching MNIST into the cache directory: mirrors tried in order, MD5-verified, written atomically.
//!
//! A file is streamed into a temporary file next to its destination while its MD5 is computed; only
//! a file whose size and digest match is renamed into place. A failed, short or corrupted download
//! therefore never leaves anything that a later run could take for valid data.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use md5::{Digest, Md5};

use crate::error::{Error, Result};

/// One file to fetch and the MD5 it must have.
#[derive(Debug, Clone)]
pub struct RemoteFile {
    /// File name on the mirror and on disk.
    pub name: String,
    /// Expected MD5, lowercase hex.
    pub md5: String,
}

/// MNIST mirrors, tried in this order.
pub const MNIST_MIRRORS: [&str; 2] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
];

/// The four MNIST files with their published MD5 sums.
pub const MNIST_FILES: [(&str, &str); 4] = [
    (
        "train-images-idx3-ubyte.gz",
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    ),
    (
        "train-labels-idx1-ubyte.gz",
        "d53e105ee54ea40749a09fcbcd1e9432",
    ),
    (
        "t10k-images-idx3-ubyte.gz",
        "9fb629c4189551a2d022fa330f9573f3",
    ),
    (
        "t10k-labels-idx1-ubyte.gz",
        "ec29112dd5afa0611ce80d1b7f02629c",
    ),
];

/// Where MNIST is cached: `$XDG_CACHE_HOME/tinyae/mnist` (or the platform's cache directory).
pub fn default_cache_dir() -> Result<PathBuf> {
    dirs::cache_dir()
        .map(|d| d.join("tinyae").join("mnist"))
        .ok_or(Error::NoCacheDir)
}

/// Downloads a set of files from a list of mirrors.
#[derive(Debug, Clone)]
pub struct Downloader {
    /// Base URLs ending in `/`, tried in order.
    pub mirrors: Vec<String>,
    /// Files to fetch.
    pub files: Vec<RemoteFile>,
    /// Bound on one whole request.
    pub timeout: Duration,
    /// No progress output at all.
    pub quiet: bool,
}

impl Downloader {
    /// The MNIST files from the standard mirrors.
    pub fn mnist(quiet: bool) -> Self {
        Downloader {
            mirrors: MNIST_MIRRORS.iter().map(|s| s.to_string()).collect(),
            files: MNIST_FILES
                .iter()
                .map(|(name, md5)| RemoteFile {
                    name: name.to_string(),
                    md5: md5.to_string(),
                })
                .collect(),
            timeout: Duration::from_secs(300),
            quiet,
        }
    }

    /// Makes sure every file is in `dir` with the right digest, downloading what is missing or
    /// corrupt. An existing file with the wrong digest is replaced only by a verified download.
    pub fn fetch_missing(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        for file in &self.files {
            let dest = dir.join(&file.name);
            if !(dest.is_file() && md5_of_file(&dest)? == file.md5) {
                self.fetch_one(file, &dest)?;
            }
            extract_beside(&dest)?;
        }
        Ok(())
    }

    fn fetch_one(&self, file: &RemoteFile, dest: &Path) -> Result<()> {
        let mut failures = Vec::new();
        for mirror in &self.mirrors {
            let url = format!("{mirror}{}", file.name);
            match self.try_mirror(&url, file, dest) {
                Ok(()) => return Ok(()),
                Err(reason) => {
                    if !self.quiet {
                        eprintln!("download of {url} failed: {reason}");
                    }
                    failures.push(MirrorFailure { url, reason });
                }
            }
        }
        Err(Error::Download {
            name: file.name.clone(),
            failures: MirrorFailures(failures),
        })
    }

    /// One attempt; on any failure the temporary file is dropped (deleted) and `dest` untouched.
    fn try_mirror(
        &self,
        url: &str,
        file: &RemoteFile,
        dest: &Path,
    ) -> std::result::Result<(), MirrorError> {
        let dir = dest.parent().unwrap_or(Path::new("."));
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(self.timeout))
            .build()
            .into();
        let mut response = agent.get(url).call().map_err(MirrorError::Request)?;
        let expected_len = response
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let bar = progress_bar(self.quiet, expected_len, &file.name);
        let mut tmp = tempfile::Builder::new()
            .prefix(".tinyae-download-")
            .tempfile_in(dir)
            .map_err(|source| MirrorError::TempFile {
                dir: dir.to_path_buf(),
                source,
            })?;
        let mut reader = response.body_mut().as_reader();
        let mut hasher = Md5::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut received = 0u64;
        loop {
            let n = reader
                .read(&mut buf)
                .map_err(|source| MirrorError::Read { received, source })?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            tmp.write_all(&buf[..n]).map_err(MirrorError::Write)?;
            received += n as u64;
            bar.set_position(received);
        }
        bar.finish_and_clear();
        if let Some(len) = expected_len {
            if received != len {
                return Err(MirrorError::Short { received, len });
            }
        }
        let digest = hex::encode(hasher.finalize());
        if digest != file.md5 {
            return Err(MirrorError::Md5 {
                got: digest,
                expected: file.md5.clone(),
            });
        }
        tmp.as_file().sync_all().map_err(MirrorError::Flush)?;
        crate::fsio::check_replaceable(dest).map_err(|e| MirrorError::Destination(Box::new(e)))?;
        tmp.persist(dest)
            .map_err(|e| MirrorError::Persist(e.error))?;
        if !self.quiet {
            eprintln!("downloaded {} ({received} bytes, MD5 ok)", dest.display());
        }
        Ok(())
    }
}

fn progress_bar(quiet: bool, len: Option<u64>, name: &str) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len.unwrap_or(0));
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(name.to_string());
    bar
}

/// Writes the uncompressed copy of a verified `.gz` file next to it (atomically), once, so the
/// standard layout can be read by the `mnist` crate ([`super::standard`]).
fn extract_beside(gz: &Path) -> Result<()> {
    let Some(raw) = gz
        .to_str()
        .and_then(|s| s.strip_suffix(".gz"))
        .map(PathBuf::from)
    else {
        return Ok(());
    };
    if raw.is_file() {
        return Ok(());
    }
    let mut input = flate2::read::MultiGzDecoder::new(crate::fsio::open_input(gz)?.0);
    crate::fsio::write_atomic_with(&raw, |f| std::io::copy(&mut input, f).map(|_| ()))
}

/// MD5 of a file, lowercase hex.
pub fn md5_of_file(path: &Path) -> Result<String> {
    let (mut f, _) = crate::fsio::open_input(path)?;
    let mut hasher = Md5::new();
    std::io::copy(&mut f, &mut hasher).map_err(Error::io(path))?;
    Ok(hex::encode(hasher.finalize()))
}

/// Why one mirror failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MirrorError {
    /// The request failed (DNS, connection, TLS, HTTP status, time-out).
    #[error("{0}")]
    Request(#[source] ureq::Error),
    /// No temporary file could be made beside the destination.
    #[error("cannot create a temporary file in {dir}: {source}")]
    TempFile {
        /// The directory.
        dir: std::path::PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The connection broke.
    #[error("truncated: the connection ended after {received} bytes ({source})")]
    Read {
        /// Bytes received before it broke.
        received: u64,
        /// What the connection said.
        source: std::io::Error,
    },
    /// The body ended before its declared length.
    #[error("truncated: received {received} of {len} bytes")]
    Short {
        /// Bytes received.
        received: u64,
        /// Bytes declared (`content-length`).
        len: u64,
    },
    /// The file's digest is not the published one.
    #[error("MD5 mismatch (got {got}, expected {expected}): corrupted download")]
    Md5 {
        /// The digest of what arrived.
        got: String,
        /// The published digest.
        expected: String,
    },
    /// Writing the temporary file failed.
    #[error("cannot write: {0}")]
    Write(#[source] std::io::Error),
    /// Flushing the temporary file failed.
    #[error("cannot flush: {0}")]
    Flush(#[source] std::io::Error),
    /// The destination may not be replaced.
    #[error("{0}")]
    Destination(#[source] Box<Error>),
    /// Moving the download into place failed.
    #[error("cannot move into place: {0}")]
    Persist(#[source] std::io::Error),
}

/// One failed mirror: its URL and why.
#[derive(Debug)]
pub struct MirrorFailure {
    /// The URL tried.
    pub url: String,
    /// Why it failed.
    pub reason: MirrorError,
}

/// Every mirror's failure, in the order they were tried. Shown as `url: reason; url: reason`;
/// its `source()` is the last mirror's reason.
#[derive(Debug, Default)]
pub struct MirrorFailures(pub Vec<MirrorFailure>);

impl std::fmt::Display for MirrorFailures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, m) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", m.url, m.reason)?;
        }
        Ok(())
    }
}

impl std::error::Error for MirrorFailures {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .last()
            .map(|m| &m.reason as &(dyn std::error::Error + 'static))
    }
}
