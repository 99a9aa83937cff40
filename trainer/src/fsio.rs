//! All file access of `ae` goes through here, so that the rules below hold for every command.
//!
//! Writing: data goes to a temporary `.tinyae-*.partial` file in the same directory, is flushed
//! to disk, then renamed over the target, so a crash, a full disk or Ctrl-C never leaves a
//! half-written file. Only a regular file is ever replaced: a symbolic link, FIFO, device or
//! directory at the output path is an error naming it, checked (without following links) before
//! writing starts and again right before the rename. `--force` only lets a regular file go.
//!
//! Locking: a command holds an advisory lock ([`OutputLock`], `flock` through the `fs4` crate) for
//! each of its outputs for its whole run, so two `ae` processes never write the same output. The
//! lock lives on a small persistent file beside the output (`.NAME.lock`, or `.tinyae.lock` inside
//! an output directory). It is never deleted: deleting a lock file while another process waits
//! on it would let two processes hold "the" lock. An empty leftover lock file is harmless, and the
//! next run takes it over; the kernel drops the lock when the process ends, however it ends.
//!
//! Stale temporaries: the temporary file is locked while it is written. When a command takes an
//! output lock it removes `.tinyae-*.partial` files in that directory that are older than the
//! process and not locked, i.e. left by a write that was killed, and says so on stderr.
//!
//! Reading: every input must be a regular file (a FIFO would block forever, `/dev/zero` never
//! ends) and is read with a size bound from [`crate::limits`].

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::SystemTime;

use crate::error::{Error, FileKind, Result};

/// Prefix of temporary files (the suffix is [`PARTIAL_SUFFIX`]).
pub const PARTIAL_PREFIX: &str = ".tinyae-";
/// Suffix of temporary files.
pub const PARTIAL_SUFFIX: &str = ".partial";
/// Name of the lock file inside an output directory.
pub const DIR_LOCK_NAME: &str = ".tinyae.lock";

static STARTED: OnceLock<SystemTime> = OnceLock::new();

/// Records when this process started (call first thing in `main`); temporary files older than
/// this and unlocked are stale.
pub fn mark_process_start() {
    let _ = STARTED.get_or_init(SystemTime::now);
}

fn process_start() -> SystemTime {
    *STARTED.get_or_init(SystemTime::now)
}

/// `Ok(true)` when `path` is a regular file, `Ok(false)` when nothing is there, and
/// [`Error::OutputNotRegular`] for anything else. Symbolic links are not followed.
pub fn check_replaceable(path: &Path) -> Result<bool> {
    match std::fs::symlink_metadata(path) {
        Ok(m) => match FileKind::of(m.file_type()) {
            None => Ok(true),
            Some(kind) => Err(Error::OutputNotRegular {
                path: path.to_path_buf(),
                kind,
            }),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(path)(e)),
    }
}

/// Fails when `path` is not a regular file ([`Error::OutputNotRegular`], even with `force`) or
/// when it exists and `force` is off ([`Error::WouldOverwrite`]).
pub fn refuse_overwrite(path: &Path, force: bool) -> Result<()> {
    if check_replaceable(path)? && !force {
        return Err(Error::WouldOverwrite(path.to_path_buf()));
    }
    Ok(())
}

/// Fails unless `dir` is a directory or absent (it is created later).
pub fn check_output_dir(dir: &Path) -> Result<()> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Error::NotADirectory(dir.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(dir)(e)),
    }
}

/// The directory a file path lives in (`.` for a bare name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Atomically replaces `path` with `bytes`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |f| f.write_all(bytes))
}

/// Atomically replaces `path` with what `fill` writes; `path` must be absent or a regular file.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<()> {
    let existed = check_replaceable(path)?;
    let dir = parent_dir(path);
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(PARTIAL_PREFIX)
        .suffix(PARTIAL_SUFFIX)
        .tempfile_in(dir)
        .map_err(Error::io(dir))?;
    // Locked while written, so another process's stale-file cleanup leaves it alone. Best effort:
    // a file system without locks only loses that protection (cleanup also spares files newer
    // than the cleaning process).
    let _ = fs4::FileExt::try_lock(tmp.as_file());
    keep_permissions(path, existed, tmp.as_file())?;
    fill(tmp.as_file_mut()).map_err(Error::io(path))?;
    tmp.as_file().sync_all().map_err(Error::io(path))?;
    // Something may have appeared at `path` while we wrote: check again right before the rename.
    // When nothing is there, the rename itself refuses to replace whatever appears meanwhile
    // (`renameat2(RENAME_NOREPLACE)`, or link + unlink); a rename over a regular file replaces
    // the name only, so even a link swapped in at the last instant has its target left alone.
    let persisted = if check_replaceable(path)? {
        tmp.persist(path)
    } else {
        tmp.persist_noclobber(path)
    };
    persisted.map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e.error,
    })?;
    Ok(())
}

/// Temporary files are created private (0600); give the result the permissions the file had, or
/// the usual 0644 for a new file.
fn keep_permissions(path: &Path, existed: bool, tmp: &File) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = existed
            .then(|| std::fs::symlink_metadata(path).ok())
            .flatten()
            .map_or(0o644, |m| m.permissions().mode());
        tmp.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(Error::io(path))?;
    }
    #[cfg(not(unix))]
    let _ = (path, existed, tmp);
    Ok(())
}

/// Fails with [`Error::InputNotRegular`] unless `t` is a regular file.
fn ensure_regular_input(path: &Path, t: std::fs::FileType) -> Result<()> {
    match FileKind::of(t) {
        None => Ok(()),
        Some(kind) => Err(Error::InputNotRegular {
            path: path.to_path_buf(),
            kind,
        }),
    }
}

/// Opens an input, which must be a regular file (a symbolic link to one is fine). The type is
/// checked before opening (opening a FIFO blocks) and again on the opened file. Returns the file
/// and its length.
pub fn open_input(path: &Path) -> Result<(File, u64)> {
    let before = std::fs::metadata(path).map_err(Error::io(path))?;
    ensure_regular_input(path, before.file_type())?;
    let file = File::open(path).map_err(Error::io(path))?;
    let meta = file.metadata().map_err(Error::io(path))?;
    ensure_regular_input(path, meta.file_type())?;
    Ok((file, meta.len()))
}

/// Reads a whole regular file of at most `limit` bytes; `what` names the kind of file in the
/// error ("a model file").
pub fn read_bounded(path: &Path, what: &'static str, limit: u64) -> Result<Vec<u8>> {
    let too_large = || Error::TooLarge {
        path: path.to_path_buf(),
        what,
        limit,
    };
    let (file, len) = open_input(path)?;
    if len > limit {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(Error::io(path))?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

/// An advisory lock on one output, held until dropped (or the process ends).
#[derive(Debug)]
pub struct OutputLock {
    _file: File,
}

/// Locks the output file `path` through `.NAME.lock` beside it, after removing stale temporaries
/// in its directory. Fails with [`Error::Locked`] when another process holds it.
/// Checks first that `path` is absent or a regular file.
pub fn lock_output_file(path: &Path) -> Result<OutputLock> {
    check_replaceable(path)?;
    let Some(name) = path.file_name() else {
        return Err(Error::OutputNotRegular {
            path: path.to_path_buf(),
            kind: FileKind::Directory,
        });
    };
    let mut lock_name = std::ffi::OsString::from(".");
    lock_name.push(name);
    lock_name.push(".lock");
    let dir = parent_dir(path);
    take_lock(path, dir, &dir.join(lock_name))
}

/// Locks the output directory `dir` (created if missing) through `.tinyae.lock` inside it, after
/// removing stale temporaries there.
pub fn lock_output_dir(dir: &Path) -> Result<OutputLock> {
    check_output_dir(dir)?;
    take_lock(dir, dir, &dir.join(DIR_LOCK_NAME))
}

fn take_lock(output: &Path, dir: &Path, lock: &Path) -> Result<OutputLock> {
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    if let Ok(m) = std::fs::symlink_metadata(lock) {
        if let Some(kind) = FileKind::of(m.file_type()) {
            return Err(Error::OutputNotRegular {
                path: lock.to_path_buf(),
                kind,
            });
        }
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(lock)
        .map_err(Error::io(lock))?;
    match fs4::FileExt::try_lock(&file) {
        Ok(()) => {}
        Err(fs4::TryLockError::WouldBlock) => {
            return Err(Error::Locked {
                path: output.to_path_buf(),
                lock: lock.to_path_buf(),
            })
        }
        Err(fs4::TryLockError::Error(e)) => return Err(Error::io(lock)(e)),
    }
    for stale in remove_stale_partials(dir) {
        eprintln!(
            "note: removed {}, left by an earlier write that was interrupted",
            stale.display()
        );
    }
    Ok(OutputLock { _file: file })
}

/// Removes `.tinyae-*.partial` regular files in `dir` that were last written before this process
/// started and that no process holds locked (a writer locks its temporary file); returns them.
/// Errors (unreadable directory, a file that vanished) are skipped: cleanup is best effort.
pub fn remove_stale_partials(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| is_partial_name(p))
        .filter(|p| remove_if_stale(p))
        .collect()
}

fn is_partial_name(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(PARTIAL_PREFIX) && n.ends_with(PARTIAL_SUFFIX))
}

fn remove_if_stale(path: &Path) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    let old = meta.modified().is_ok_and(|t| t < process_start());
    if !meta.is_file() || !old {
        return false;
    }
    let Ok(file) = File::open(path) else {
        return false;
    };
    if fs4::FileExt::try_lock(&file).is_err() {
        return false;
    }
    std::fs::remove_file(path).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_fill_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("model.tnae");
        write_atomic(&target, b"old").unwrap();
        let err = write_atomic_with(&target, |f| {
            f.write_all(b"half")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "temporary left behind: {names:?}");
    }

    #[test]
    fn only_regular_files_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let e = write_atomic(&sub, b"x").unwrap_err();
        assert!(
            matches!(
                e,
                Error::OutputNotRegular {
                    kind: FileKind::Directory,
                    ..
                }
            ),
            "{e}"
        );
        assert!(sub.is_dir());
        // A device node is reported, never touched (only the check runs here).
        let e = refuse_overwrite(Path::new("/dev/null"), true).unwrap_err();
        assert!(
            e.to_string().contains("/dev/null is a character device"),
            "{e}"
        );
        #[cfg(unix)]
        {
            let target = dir.path().join("target");
            std::fs::write(&target, b"keep").unwrap();
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&target, &link).unwrap();
            let e = write_atomic(&link, b"x").unwrap_err();
            assert!(e.to_string().contains("symbolic link"), "{e}");
            assert_eq!(std::fs::read(&target).unwrap(), b"keep");
            assert!(std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink());
        }
        assert!(refuse_overwrite(&dir.path().join("new"), false).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn a_link_that_appears_during_the_write_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, b"keep").unwrap();
        for existed in [false, true] {
            let out = dir.path().join(format!("out-{existed}"));
            if existed {
                std::fs::write(&out, b"old").unwrap();
            }
            let e = write_atomic_with(&out, |f| {
                // Between the first check and the rename, the output becomes a symlink.
                let _ = std::fs::remove_file(&out);
                std::os::unix::fs::symlink(&target, &out)?;
                f.write_all(b"new")
            })
            .unwrap_err();
            assert!(e.to_string().contains("symbolic link"), "{e}");
            assert!(std::fs::symlink_metadata(&out)
                .unwrap()
                .file_type()
                .is_symlink());
        }
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        assert_eq!(remove_stale_partials(dir.path()), Vec::<PathBuf>::new());
        let names = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(names, 3, "a temporary was left behind");
    }

    #[test]
    fn inputs_must_be_regular_and_small_enough() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_bounded(dir.path(), "a model file", 10).unwrap_err();
        assert!(e.to_string().contains("is a directory"), "{e}");
        let e = read_bounded(Path::new("/dev/zero"), "a model file", 10).unwrap_err();
        assert!(e.to_string().contains("character device"), "{e}");
        let f = dir.path().join("f");
        std::fs::write(&f, [0u8; 11]).unwrap();
        let e = read_bounded(&f, "a model file", 10).unwrap_err();
        assert!(e.to_string().contains("larger than 10 bytes"), "{e}");
        assert_eq!(read_bounded(&f, "a model file", 11).unwrap().len(), 11);
    }

    #[test]
    fn a_second_lock_on_one_output_is_refused_and_the_lock_file_is_reusable() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("m.tnae");
        let held = lock_output_file(&out).unwrap();
        let e = lock_output_file(&out).unwrap_err();
        assert!(matches!(e, Error::Locked { .. }), "{e}");
        drop(held);
        let _again = lock_output_file(&out).unwrap();
        let _dir_lock = lock_output_dir(&dir.path().join("run")).unwrap();
        assert!(lock_output_dir(&dir.path().join("run")).is_err());
    }

    #[test]
    fn stale_partials_go_but_locked_or_new_ones_stay() {
        mark_process_start();
        let dir = tempfile::tempdir().unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        let make = |name: &str, mtime: SystemTime| {
            let p = dir.path().join(name);
            let f = File::create(&p).unwrap();
            f.set_modified(mtime).unwrap();
            (p, f)
        };
        let (stale, _) = make(".tinyae-a.partial", old);
        let (locked, lf) = make(".tinyae-b.partial", old);
        fs4::FileExt::try_lock(&lf).unwrap();
        let (fresh, _) = make(
            ".tinyae-c.partial",
            SystemTime::now() + std::time::Duration::from_secs(5),
        );
        let (other, _) = make("keep.partial", old);
        assert_eq!(remove_stale_partials(dir.path()), vec![stale.clone()]);
        assert!(!stale.exists() && locked.exists() && fresh.exists() && other.exists());
    }
}
