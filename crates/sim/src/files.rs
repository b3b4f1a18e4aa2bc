//! Writing files the simulator produces (the export, the CA certificate): private files readable
//! by the owner only, folders created 0700.

use std::io;
use std::path::Path;

/// Whether `contents` is (or holds) a PEM private key, whatever its file was meant to be.
pub(crate) fn holds_private_key(contents: &[u8]) -> bool {
    contents
        .windows(b"PRIVATE KEY-----".len())
        .any(|w| w == b"PRIVATE KEY-----")
}

/// Creates `dir` and its missing parents, each new one readable by the owner only (0700 on
/// Unix); folders that exist keep their mode.
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        b.mode(0o700);
    }
    b.create(dir)
}

/// Writes `contents`; private files (keys, secrets) are readable by the owner only, also when
/// the file existed before with a wider mode (the mode is set before anything is written).
pub(crate) fn write_file(path: &Path, contents: &[u8], private: bool) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::io::Write as _;
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        let mode = if private { 0o600 } else { 0o644 };
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(path)?;
        if private {
            f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        f.write_all(contents)
    }
    #[cfg(not(unix))]
    {
        let _ = private;
        std::fs::write(path, contents)
    }
}
