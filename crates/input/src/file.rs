//! Size-limited reads of regular files.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// How much of one kind of input may be read, and how the user raises it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLimit {
    /// Largest file read, in bytes.
    pub bytes: u64,
    /// What the file is, for messages: "inventory", "certificate file", "credentials file".
    pub what: &'static str,
    /// The command-line option that raises the limit, for messages.
    pub option: &'static str,
}

/// Why a file was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileProblem {
    /// It does not exist.
    Missing,
    /// It is a directory.
    Directory,
    /// It is a FIFO, a socket or a device: reading it could block or never end.
    NotRegular(&'static str),
    /// This user may not read it.
    PermissionDenied,
    /// It is larger than the limit (`size` is `None` when only reading found out).
    TooLarge {
        /// The size the file system reports, when it reports one.
        size: Option<u64>,
    },
    /// Any other I/O error, as the system words it (kept as text so the error can be cloned
    /// and compared).
    Io(String),
}

/// A file that could not be read: which file, what it was for, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// The file as given.
    pub path: PathBuf,
    /// The limit it was read under (names the kind of input and the option).
    pub limit: FileLimit,
    /// Why it was not read.
    pub problem: FileProblem,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.path.display();
        let what = self.limit.what;
        match &self.problem {
            FileProblem::Missing => write!(f, "{p}: the {what} does not exist"),
            FileProblem::Directory => write!(f, "{p}: the {what} is a directory, not a file"),
            FileProblem::NotRegular(kind) => write!(
                f,
                "{p}: the {what} is a {kind}, not a regular file; refused (reading it could block or never end)"
            ),
            FileProblem::PermissionDenied => {
                write!(
                    f,
                    "{p}: permission denied: this user may not read the {what}"
                )
            }
            FileProblem::TooLarge { size } => {
                let size = match size {
                    Some(s) => format!("{s} bytes"),
                    None => "larger than that".to_string(),
                };
                write!(
                    f,
                    "{p}: the {what} is {size}, over its limit of {} bytes; not read (raise the limit with {})",
                    self.limit.bytes, self.limit.option
                )
            }
            FileProblem::Io(e) => write!(f, "{p}: cannot read the {what}: {e}"),
        }
    }
}

impl std::error::Error for FileError {}

impl FileError {
    /// What is wrong, without the file name in front (for messages that name the file
    /// already).
    pub fn problem_text(&self) -> String {
        let full = self.to_string();
        let prefix = format!("{}: ", self.path.display());
        full.strip_prefix(&prefix)
            .map(str::to_string)
            .unwrap_or(full)
    }
}

/// The kind of a non-regular file, for messages.
fn special_kind(ft: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "FIFO (named pipe)";
        }
        if ft.is_socket() {
            return "socket";
        }
        if ft.is_char_device() || ft.is_block_device() {
            return "device";
        }
    }
    let _ = ft;
    "special file"
}

fn problem_of(e: std::io::Error) -> FileProblem {
    match e.kind() {
        std::io::ErrorKind::NotFound => FileProblem::Missing,
        std::io::ErrorKind::PermissionDenied => FileProblem::PermissionDenied,
        std::io::ErrorKind::IsADirectory => FileProblem::Directory,
        _ => FileProblem::Io(e.to_string()),
    }
}

/// Opens without blocking: opening a FIFO for reading waits for a writer, so the file is
/// opened non-blocking and its type checked on the open handle before anything is read.
fn open(path: &Path) -> std::io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(libc::O_NONBLOCK);
    }
    opts.open(path)
}

/// Reads a whole regular file of at most `limit.bytes` bytes. FIFOs, sockets and devices are
/// refused before a byte is read; a file that grows past the limit while it is read is refused
/// too (at most `limit + 1` bytes are ever read).
pub fn read_file(path: &Path, limit: &FileLimit) -> Result<Vec<u8>, FileError> {
    let err = |problem| FileError {
        path: path.to_path_buf(),
        limit: *limit,
        problem,
    };
    // The type is checked on the path first (no open at all for a FIFO) and again on the
    // handle, in case the path was swapped in between.
    let meta = std::fs::metadata(path).map_err(|e| err(problem_of(e)))?;
    check_type(&meta).map_err(err)?;
    if meta.len() > limit.bytes {
        return Err(err(FileProblem::TooLarge {
            size: Some(meta.len()),
        }));
    }
    let file = open(path).map_err(|e| err(problem_of(e)))?;
    let meta = file.metadata().map_err(|e| err(problem_of(e)))?;
    check_type(&meta).map_err(err)?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len().min(limit.bytes)).unwrap_or(0));
    file.take(limit.bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| err(problem_of(e)))?;
    if bytes.len() as u64 > limit.bytes {
        return Err(err(FileProblem::TooLarge { size: None }));
    }
    Ok(bytes)
}

/// Checks, without reading it, that `path` is a regular file of at most `limit.bytes` bytes,
/// and returns its size: for files another library opens itself (an SQLite database), which
/// must still never be a FIFO or a device.
pub fn regular_file(path: &Path, limit: &FileLimit) -> Result<u64, FileError> {
    let err = |problem| FileError {
        path: path.to_path_buf(),
        limit: *limit,
        problem,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(problem_of(e)))?;
    check_type(&meta).map_err(err)?;
    if meta.len() > limit.bytes {
        return Err(err(FileProblem::TooLarge {
            size: Some(meta.len()),
        }));
    }
    Ok(meta.len())
}

fn check_type(meta: &std::fs::Metadata) -> Result<(), FileProblem> {
    let ft = meta.file_type();
    if ft.is_dir() {
        Err(FileProblem::Directory)
    } else if !ft.is_file() {
        Err(FileProblem::NotRegular(special_kind(&ft)))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const LIMIT: FileLimit = FileLimit {
        bytes: 10,
        what: "test input",
        option: "--max-test-bytes",
    };

    #[test]
    fn reads_a_small_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a");
        std::fs::write(&p, b"hello").unwrap();
        assert_eq!(read_file(&p, &LIMIT).unwrap(), b"hello");
    }

    #[test]
    fn refuses_what_is_over_the_limit_naming_file_limit_and_option() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big");
        std::fs::write(&p, [0u8; 11]).unwrap();
        let e = read_file(&p, &LIMIT).unwrap_err().to_string();
        assert!(e.contains("big") && e.contains("11 bytes"), "{e}");
        assert!(
            e.contains("10 bytes") && e.contains("--max-test-bytes"),
            "{e}"
        );
    }

    #[test]
    fn refuses_missing_files_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_file(&dir.path().join("nope"), &LIMIT).unwrap_err();
        assert!(matches!(e.problem, FileProblem::Missing), "{e}");
        let e = read_file(dir.path(), &LIMIT).unwrap_err();
        assert!(matches!(e.problem, FileProblem::Directory), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_fifo_at_once_and_devices() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fifo");
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: mkfifo reads a NUL-terminated path; the CString outlives the call.
        #[allow(unsafe_code)]
        let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
        assert_eq!(rc, 0);
        // Without a writer, a blocking read would hang this test forever.
        let e = read_file(&p, &LIMIT).unwrap_err();
        assert!(matches!(e.problem, FileProblem::NotRegular(_)), "{e}");
        assert!(e.to_string().contains("FIFO"), "{e}");
        let e = read_file(Path::new("/dev/zero"), &LIMIT).unwrap_err();
        assert!(
            matches!(e.problem, FileProblem::NotRegular("device")),
            "{e}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn refusals_name_the_file_and_the_kind_and_read_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let e = read_file(&sock, &LIMIT).unwrap_err();
        assert!(
            matches!(e.problem, FileProblem::NotRegular("socket")),
            "{e}"
        );
        let m = e.to_string();
        assert!(
            m.contains("sock") && m.contains("test input is a socket, not a regular file; refused"),
            "{m}"
        );
        // Devices that never end (/dev/zero, /dev/urandom) or are always empty (/dev/null) are
        // refused by their type, at once, whatever the limit.
        let huge = FileLimit {
            bytes: u64::MAX,
            ..LIMIT
        };
        for dev in ["/dev/zero", "/dev/urandom", "/dev/null"] {
            let p = Path::new(dev);
            if !p.exists() {
                continue;
            }
            let started = std::time::Instant::now();
            let e = read_file(p, &huge).unwrap_err();
            assert!(
                matches!(e.problem, FileProblem::NotRegular("device")),
                "{e}"
            );
            assert!(e.to_string().starts_with(dev), "{e}");
            assert!(
                started.elapsed() < std::time::Duration::from_secs(2),
                "{dev}"
            );
        }
    }
}
