//! ZIP archives, read within limits: every entry is handed to a visitor. Everything is capped
//! by [`ZipLimits`]: the number of entries (checked in the end-of-central-directory record
//! before the zip crate reads the directory), the bytes actually inflated per entry and in all
//! (read through `take`, never trusting the sizes in the headers). The zip crate is built
//! without AES, so encrypted entries are recognised by their flag and reported, not read.
//!
//! SAP ships the new LMS certificate as `cer.zip` and the IPS job-log export is a ZIP: both
//! are read through here.

use std::io::{Cursor, Read};
use zip::CompressionMethod;
use zip::result::ZipError as Inner;

/// Caps on what is read from one archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZipLimits {
    /// Most entries looked at in one archive.
    pub max_entries: usize,
    /// Largest uncompressed entry read.
    pub max_entry_bytes: u64,
    /// Most uncompressed bytes read from one archive in all (nested archives included, through
    /// the budget handed to the visitor).
    pub max_total: u64,
}

/// Why an archive could not be read (within its limits).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZipError {
    /// The archive is damaged, truncated or forged.
    #[error("{0}")]
    Damaged(String),
    /// Over one of the [`ZipLimits`]; the text says which.
    #[error("{0}")]
    OverLimit(String),
}

/// What the visitor is given for one entry.
pub enum Entry<'a> {
    /// The entry's uncompressed bytes (at most [`ZipLimits::max_entry_bytes`]).
    Data(&'a [u8]),
    /// The entry is password-protected (ZipCrypto or AES); its content was not read.
    Encrypted,
    /// The entry uses a compression method this build cannot inflate (named).
    Unsupported(String),
}

/// Whether the bytes start like a zip archive (local file header, empty archive or spanned
/// marker).
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
        || bytes.starts_with(b"PK\x05\x06")
        || bytes.starts_with(b"PK\x07\x08")
}

/// Calls `visit(name, entry, budget)` for every file entry of the archive, in directory order.
/// `budget` is the number of inflated bytes still allowed for the whole file; it is decreased
/// by what is read and handed to the visitor, which spends it on nested archives.
pub fn for_each_entry<E: From<ZipError>>(
    bytes: &[u8],
    limits: &ZipLimits,
    budget: &mut u64,
    mut visit: impl FnMut(&str, Entry<'_>, &mut u64) -> Result<(), E>,
) -> Result<(), E> {
    if let Some(n) = declared_entries(bytes)
        && n > limits.max_entries as u64
    {
        return Err(too_many_entries(n, limits).into());
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| damaged(None, &e))?;
    if archive.len() > limits.max_entries {
        return Err(too_many_entries(archive.len() as u64, limits).into());
    }
    for i in 0..archive.len() {
        let (name, is_dir, encrypted, method, declared) = {
            let e = archive.by_index_data(i).map_err(|e| damaged(None, &e))?;
            (
                display_name(&String::from_utf8_lossy(e.name_raw())),
                e.is_dir(),
                e.encrypted(),
                e.compression(),
                e.size(),
            )
        };
        if is_dir {
            continue;
        }
        if encrypted {
            visit(&name, Entry::Encrypted, budget)?;
            continue;
        }
        if method != CompressionMethod::Stored && method != CompressionMethod::Deflated {
            visit(&name, Entry::Unsupported(method.to_string()), budget)?;
            continue;
        }
        // The declared size can lie, but when it already says "too big" believe it and stop
        // before inflating anything.
        if declared > limits.max_entry_bytes {
            return Err(entry_too_large(&name, limits).into());
        }
        if declared > *budget {
            return Err(total_too_large(limits).into());
        }
        let cap = limits.max_entry_bytes.min(*budget);
        let mut buf = Vec::new();
        {
            let file = archive.by_index(i).map_err(|e| damaged(Some(&name), &e))?;
            file.take(cap.saturating_add(1))
                .read_to_end(&mut buf)
                .map_err(|e| damaged_io(&name, &e))?;
        }
        let got = buf.len() as u64;
        if got > limits.max_entry_bytes {
            return Err(entry_too_large(&name, limits).into());
        }
        if got > *budget {
            return Err(total_too_large(limits).into());
        }
        *budget -= got;
        visit(&name, Entry::Data(&buf), budget)?;
    }
    Ok(())
}

fn too_many_entries(n: u64, limits: &ZipLimits) -> ZipError {
    ZipError::OverLimit(format!(
        "it has {n} entries, more than the limit of {}",
        limits.max_entries
    ))
}

fn entry_too_large(name: &str, limits: &ZipLimits) -> ZipError {
    ZipError::OverLimit(format!(
        "entry '{name}' inflates to more than {} bytes, the limit for one entry (a zip bomb?)",
        limits.max_entry_bytes
    ))
}

fn total_too_large(limits: &ZipLimits) -> ZipError {
    ZipError::OverLimit(format!(
        "its entries inflate to more than {} bytes in all, the limit for one archive (a zip bomb?)",
        limits.max_total
    ))
}

fn damaged(entry: Option<&str>, e: &Inner) -> ZipError {
    let what = match e {
        Inner::Io(io) => io_reason(io),
        other => other.to_string(),
    };
    ZipError::Damaged(match entry {
        Some(name) => format!("entry '{name}': {what}"),
        None => what,
    })
}

fn damaged_io(name: &str, e: &std::io::Error) -> ZipError {
    ZipError::Damaged(format!("entry '{name}': {}", io_reason(e)))
}

fn io_reason(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        return "it ends early (truncated?)".to_string();
    }
    let s = e.to_string();
    if s.contains("larger than its declared") {
        "an entry inflates to more than its header declares (forged or damaged)".to_string()
    } else if s.to_ascii_lowercase().contains("checksum") {
        "an entry fails its CRC check".to_string()
    } else {
        s
    }
}

/// An entry name fit for a message: control characters replaced, at most 80 characters.
fn display_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(80)
        .collect();
    if name.chars().count() > 80 {
        out.push('…');
    }
    out
}

/// The largest entry count any end-of-central-directory record near the end of the archive
/// declares (ZIP64 included). `None` if there is no such record (the zip crate then reports
/// the archive as damaged).
fn declared_entries(bytes: &[u8]) -> Option<u64> {
    const EOCD: &[u8] = b"PK\x05\x06";
    // The record is 22 bytes plus a comment of at most 65535 bytes.
    let from = bytes.len().saturating_sub(22 + 65_535);
    let mut best: Option<u64> = None;
    let mut end = bytes.len();
    while end >= from + 22 {
        let window = &bytes[from..end];
        let Some(pos) = rfind(window, EOCD) else {
            break;
        };
        let at = from + pos;
        end = at + 3;
        let Some(rec) = bytes.get(at..at + 22) else {
            continue;
        };
        let total = u64::from(u16::from_le_bytes([rec[10], rec[11]]));
        let mut n = total;
        if total == 0xFFFF && at >= 20 {
            // ZIP64: the locator just before the record points at the ZIP64 record.
            let loc = &bytes[at - 20..at];
            if loc.starts_with(b"PK\x06\x07") {
                let mut off = [0u8; 8];
                off.copy_from_slice(&loc[8..16]);
                let off = u64::from_le_bytes(off);
                if let Some(z) = usize::try_from(off)
                    .ok()
                    .and_then(|o| bytes.get(o..o.checked_add(40)?))
                    && z.starts_with(b"PK\x06\x06")
                {
                    let mut cnt = [0u8; 8];
                    cnt.copy_from_slice(&z[32..40]);
                    n = n.max(u64::from_le_bytes(cnt));
                }
            }
        }
        best = Some(best.map_or(n, |b| b.max(n)));
    }
    best
}

/// The last position of `needle` in `haystack`.
fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, _) = needle.split_first()?;
    let mut end = haystack.len().checked_sub(needle.len())? + 1;
    while end > 0 {
        let p = haystack[..end].iter().rposition(|&b| b == first)?;
        if &haystack[p..p + needle.len()] == needle {
            return Some(p);
        }
        end = p;
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::io::Write;
    use zip::write::SimpleFileOptions;

    const LIMITS: ZipLimits = ZipLimits {
        max_entries: 1024,
        max_entry_bytes: 16 * 1024 * 1024,
        max_total: 64 * 1024 * 1024,
    };

    fn zip_of(entries: &[(&str, &[u8])], method: CompressionMethod) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in entries {
            w.start_file(
                *name,
                SimpleFileOptions::default().compression_method(method),
            )
            .unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn collect(bytes: &[u8], limits: &ZipLimits) -> Result<Vec<(String, usize)>, ZipError> {
        let mut out = Vec::new();
        let mut budget = limits.max_total;
        for_each_entry(bytes, limits, &mut budget, |name, e, _| {
            let n = match e {
                Entry::Data(d) => d.len(),
                Entry::Encrypted => usize::MAX,
                Entry::Unsupported(_) => usize::MAX - 1,
            };
            out.push((name.to_string(), n));
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn visits_entries_in_order() {
        let z = zip_of(
            &[("a.txt", b"hello"), ("dir/b.bin", &[0u8; 1000])],
            CompressionMethod::Deflated,
        );
        assert!(is_zip(&z));
        assert_eq!(declared_entries(&z), Some(2));
        let got = collect(&z, &LIMITS).unwrap();
        assert_eq!(got, vec![("a.txt".into(), 5), ("dir/b.bin".into(), 1000)]);
    }

    #[test]
    fn entry_count_limit_is_checked_first() {
        let entries: Vec<(String, Vec<u8>)> =
            (0..5).map(|i| (format!("{i}.txt"), vec![b'x'])).collect();
        let refs: Vec<(&str, &[u8])> = entries
            .iter()
            .map(|(n, d)| (n.as_str(), d.as_slice()))
            .collect();
        let z = zip_of(&refs, CompressionMethod::Stored);
        let limits = ZipLimits {
            max_entries: 4,
            ..LIMITS
        };
        let err = collect(&z, &limits).unwrap_err();
        assert!(err.to_string().contains("5 entries"), "{err}");
    }

    #[test]
    fn per_entry_and_total_caps() {
        let z = zip_of(
            &[("a", &[0u8; 600]), ("b", &[0u8; 600])],
            CompressionMethod::Deflated,
        );
        let per_entry = ZipLimits {
            max_entry_bytes: 500,
            ..LIMITS
        };
        let e = collect(&z, &per_entry).unwrap_err().to_string();
        assert!(e.contains("entry 'a'") && e.contains("500 bytes"), "{e}");
        let total = ZipLimits {
            max_total: 1000,
            ..LIMITS
        };
        let e = collect(&z, &total).unwrap_err().to_string();
        assert!(e.contains("1000 bytes in all"), "{e}");
    }

    #[test]
    fn truncated_archive_is_damaged() {
        let z = zip_of(&[("a.txt", b"hello world")], CompressionMethod::Deflated);
        for cut in [4, 20, z.len() / 2, z.len() - 1] {
            let err = collect(&z[..cut], &LIMITS).unwrap_err();
            assert!(matches!(err, ZipError::Damaged(_)), "cut {cut}: {err:?}");
        }
    }

    #[test]
    fn rfind_finds_the_last_match() {
        assert_eq!(rfind(b"a--b--", b"--"), Some(4));
        assert_eq!(rfind(b"", b"--"), None);
        assert_eq!(rfind(b"---", b"--"), Some(1));
        assert_eq!(rfind(b"x-y", b""), None);
        assert_eq!(rfind(b"ab", b"ab"), Some(0));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
            let _ = collect(&bytes, &LIMITS);
            // Behind a zip magic, so the archive reader gets past its first check.
            let _ = collect(&[b"PK\x03\x04".as_slice(), &bytes].concat(), &LIMITS);
        }

        #[test]
        fn mutated_archives_never_panic_nor_exceed_the_limits(
            method in proptest::sample::select(vec![CompressionMethod::Stored, CompressionMethod::Deflated]),
            flips in proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), proptest::prelude::any::<u8>()), 0..8),
            cut in proptest::option::of(proptest::prelude::any::<proptest::sample::Index>()),
        ) {
            let mut z = zip_of(
                &[("a.pem", b"-----BEGIN CERTIFICATE-----\nMIIB\n".as_slice()), ("b", &[0u8; 3000])],
                method,
            );
            for (at, v) in &flips {
                let i = at.index(z.len());
                z[i] ^= v | 1;
            }
            if let Some(c) = cut {
                z.truncate(c.index(z.len()));
            }
            let small = ZipLimits { max_entries: 4, max_entry_bytes: 4096, max_total: 6000 };
            if let Ok(entries) = collect(&z, &small) {
                proptest::prop_assert!(entries.len() <= small.max_entries);
                let data: Vec<usize> = entries.iter().map(|e| e.1).filter(|&n| n < usize::MAX - 1).collect();
                proptest::prop_assert!(data.iter().all(|&n| n as u64 <= small.max_entry_bytes));
                proptest::prop_assert!(data.iter().sum::<usize>() as u64 <= small.max_total);
            }
        }
    }

    #[test]
    fn names_are_sanitised() {
        assert_eq!(display_name("a\nb\u{7}"), "a?b?");
        assert_eq!(display_name(&"x".repeat(100)).chars().count(), 81);
    }
}
