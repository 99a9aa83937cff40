//! The downloader against a local HTTP server on 127.0.0.1 that serves good, missing, truncated
//! and corrupted files. A failed download must never leave a file that could pass as valid.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use trainer::data::download::{md5_of_file, Downloader, RemoteFile};

/// Serves `payload` under `/good/NAME`, a truncated copy under `/trunc/`, a corrupted copy under
/// `/bad/`, and 404 elsewhere. Handles at most `max_requests` connections, then stops.
fn serve(name: &'static str, payload: Vec<u8>, max_requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(max_requests) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            let path = request.split_whitespace().nth(1).unwrap_or("").to_string();
            let (status, declared, body): (&str, usize, Vec<u8>) =
                if path == format!("/good/{name}") {
                    ("200 OK", payload.len(), payload.clone())
                } else if path == format!("/trunc/{name}") {
                    (
                        "200 OK",
                        payload.len(),
                        payload[..payload.len() / 2].to_vec(),
                    )
                } else if path == format!("/bad/{name}") {
                    let mut b = payload.clone();
                    b[100] ^= 0x55;
                    ("200 OK", b.len(), b)
                } else {
                    ("404 Not Found", 9, b"not found".to_vec())
                };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {declared}\r\nConnection: close\r\n\r\n"
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    format!("http://{addr}")
}

/// A real gzip file: the MNIST subset's test images when present, else gzipped synthetic bytes.
fn payload() -> Vec<u8> {
    let real = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/mnist-subset/t10k-images-idx3-ubyte.gz");
    std::fs::read(real).unwrap_or_else(|_| {
        use std::io::Write;
        let raw: Vec<u8> = (0..200_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&raw).unwrap();
        e.finish().unwrap()
    })
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn downloader(mirrors: Vec<String>, md5: String) -> Downloader {
    Downloader {
        mirrors,
        files: vec![RemoteFile {
            name: "t10k-images-idx3-ubyte.gz".into(),
            md5,
        }],
        timeout: Duration::from_secs(20),
        quiet: true,
    }
}

fn md5_of(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x");
    std::fs::write(&p, bytes).unwrap();
    md5_of_file(&p).unwrap()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

const NAME: &str = "t10k-images-idx3-ubyte.gz";

#[test]
fn good_file_is_downloaded_and_verified() {
    let data = payload();
    let base = serve(NAME, data.clone(), 4);
    let dir = tempfile::tempdir().unwrap();
    downloader(vec![format!("{base}/good/")], md5_of(&data))
        .fetch_missing(dir.path())
        .unwrap();
    assert_eq!(std::fs::read(dir.path().join(NAME)).unwrap(), data);
    // The verified archive and its uncompressed copy (for the `mnist` crate), nothing else.
    let raw = NAME.trim_end_matches(".gz");
    assert_eq!(entries(dir.path()), vec![raw.to_string(), NAME.to_string()]);
    assert_eq!(std::fs::read(dir.path().join(raw)).unwrap(), gunzip(&data));
    // A second call finds the verified file and does not download again (the server would 404).
    downloader(vec![format!("{base}/missing/")], md5_of(&data))
        .fetch_missing(dir.path())
        .unwrap();
}

#[test]
fn falls_through_to_the_next_mirror() {
    let data = payload();
    let base = serve(NAME, data.clone(), 4);
    let dir = tempfile::tempdir().unwrap();
    let mirrors = vec![
        format!("{base}/missing/"),
        format!("{base}/trunc/"),
        format!("{base}/good/"),
    ];
    downloader(mirrors, md5_of(&data))
        .fetch_missing(dir.path())
        .unwrap();
    assert_eq!(std::fs::read(dir.path().join(NAME)).unwrap(), data);
}

#[test]
fn truncated_and_corrupted_downloads_leave_nothing_behind() {
    let data = payload();
    let base = serve(NAME, data.clone(), 6);
    for (kind, expect) in [
        ("trunc", "truncated"),
        ("bad", "MD5 mismatch"),
        ("missing", "404"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let err = downloader(vec![format!("{base}/{kind}/")], md5_of(&data))
            .fetch_missing(dir.path())
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains(expect), "{kind}: {text}");
        assert!(
            entries(dir.path()).is_empty(),
            "{kind} left {:?}",
            entries(dir.path())
        );
    }
}

#[test]
fn a_corrupt_cached_file_is_replaced_only_by_a_verified_one() {
    let data = payload();
    let base = serve(NAME, data.clone(), 4);
    let dir = tempfile::tempdir().unwrap();
    let cached = dir.path().join(NAME);
    std::fs::write(&cached, b"garbage from an older, interrupted tool").unwrap();
    let err = downloader(vec![format!("{base}/bad/")], md5_of(&data)).fetch_missing(dir.path());
    assert!(err.is_err());
    assert_eq!(
        std::fs::read(&cached).unwrap(),
        b"garbage from an older, interrupted tool"
    );
    downloader(vec![format!("{base}/good/")], md5_of(&data))
        .fetch_missing(dir.path())
        .unwrap();
    assert_eq!(std::fs::read(&cached).unwrap(), data);
}
