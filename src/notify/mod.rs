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
