//! `mtls-audit notify` (docs/spec.md §10): one e-mail per owner address, listing that owner's
//! tenants at or above a level with the deadline, the cutover, their readiness and the exact
//! steps, as text and HTML; written as `.eml` files (dry run) or sent over SMTP.
//!
//! - [`compose::plan`] decides who gets which tenants (and which owners cannot be mailed);
//! - [`mail::compose`] writes one message's parts and its content hash, [`mail::message`] makes
//!   it an RFC 5322 message;
//! - [`smtp::Sender`] sends, paced and retrying, and says per message what became of it.
//!
//! Nothing here prints: the binary reports each outcome as it comes.

pub mod compose;
pub mod mail;
pub mod smtp;

/// The `.eml` file name of the `n`-th message (from 1) to `address`: `001-anna-example-com.eml`.
pub fn eml_name(n: usize, address: &str) -> String {
    format!("{n:03}-{}.eml", crate::report::owners::slug(address))
}

/// Writes `message` as `DIR/<eml_name>` (RFC 5322 bytes), under a temporary name first so a
/// reader never sees half a message. Returns the path.
pub fn write_eml(
    dir: &std::path::Path,
    n: usize,
    composed: &mail::Composed,
    message: &lettre::Message,
) -> std::io::Result<std::path::PathBuf> {
    std::fs::create_dir_all(dir)?;
    let name = eml_name(n, composed.to.email.as_ref());
    let path = dir.join(&name);
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, message.formatted())?;
    std::fs::rename(&tmp, &path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    Ok(path)
}

/// Whether `name` is a message file [`write_eml`] writes (`NNN-<slug>.eml`).
fn is_eml_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".eml") else {
        return false;
    };
    let Some((n, slug)) = stem.split_once('-') else {
        return false;
    };
    n.len() >= 3
        && n.bytes().all(|b| b.is_ascii_digit())
        && !slug.is_empty()
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Removes the messages an earlier dry run wrote into `dir` (files named as [`write_eml`]
/// names them; nothing else), so the folder holds this run's messages only: an owner who has
/// nothing left to do must not find last week's message there. Returns how many went.
pub fn clear_earlier(dir: &std::path::Path) -> std::io::Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for e in entries {
        let e = e?;
        let ours = e.file_name().to_str().is_some_and(is_eml_name);
        if ours && e.file_type()?.is_file() {
            std::fs::remove_file(e.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_message_names_are_ours() {
        for ours in [
            "001-anna-example-com.eml",
            "1234-_unassigned.eml",
            "002-a.eml",
        ] {
            assert!(is_eml_name(ours), "{ours}");
        }
        for theirs in [
            "notes.eml",
            "01-anna.eml",
            "001-.eml",
            "001-Anna.eml",
            "001-anna.eml.bak",
            "001-anna.txt",
            "abc-anna.eml",
            "001-an na.eml",
        ] {
            assert!(!is_eml_name(theirs), "{theirs}");
        }
    }

    #[test]
    fn clearing_removes_earlier_messages_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "001-anna-example-com.eml",
            "002-bob.eml",
            "notes.txt",
            "mine.eml",
        ] {
            std::fs::write(dir.path().join(f), "x").unwrap();
        }
        std::fs::create_dir(dir.path().join("003-dir.eml")).unwrap();
        assert_eq!(clear_earlier(dir.path()).unwrap(), 2);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["003-dir.eml", "mine.eml", "notes.txt"]);
        assert_eq!(clear_earlier(&dir.path().join("missing")).unwrap(), 0);
    }
}
