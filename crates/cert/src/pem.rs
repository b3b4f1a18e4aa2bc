//! Text: byte-order marks and UTF-16 (Windows "Unicode" exports), PEM blocks with any text
//! around them (OpenSSL "Bag Attributes", `subject=` lines, comments), CRLF line ends, RFC 1421
//! headers inside a block, and headerless base64 (what IAS "Insert as Text" users paste).
//!
//! Scanning works on bytes, not `str`: text around the blocks may be Latin-1 or anything
//! else, and only the ASCII markers matter.

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use std::borrow::Cow;

/// Base64 as found in the wild: padding optional, trailing bits tolerated.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Longest label accepted between `-----BEGIN ` and `-----`.
const MAX_LABEL: usize = 64;

/// Headerless base64 shorter than this is not taken for a certificate (the smallest real
/// certificates are a few hundred bytes).
const MIN_HEADERLESS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// ASCII or UTF-8 without a byte-order mark.
    Plain,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
}

/// The file's bytes as 8-bit text.
pub(crate) struct Text<'a> {
    pub(crate) bytes: Cow<'a, [u8]>,
    pub(crate) encoding: Encoding,
}

/// Strips a UTF-8 BOM and transcodes UTF-16 (with a BOM, or recognisably ASCII-in-UTF-16
/// without one) to UTF-8.
pub(crate) fn decode_text(bytes: &[u8]) -> Text<'_> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return Text {
            bytes: Cow::Borrowed(rest),
            encoding: Encoding::Utf8Bom,
        };
    }
    let le = if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        Some((rest, true))
    } else if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        Some((rest, false))
    } else if looks_utf16(bytes, true) {
        Some((bytes, true))
    } else if looks_utf16(bytes, false) {
        Some((bytes, false))
    } else {
        None
    };
    match le {
        Some((rest, little)) => Text {
            bytes: Cow::Owned(utf16_to_utf8(rest, little)),
            encoding: if little {
                Encoding::Utf16Le
            } else {
                Encoding::Utf16Be
            },
        },
        None => Text {
            bytes: Cow::Borrowed(bytes),
            encoding: Encoding::Plain,
        },
    }
}

/// ASCII text stored as UTF-16 without a BOM: in its first characters every high byte is zero
/// and every low byte is printable.
fn looks_utf16(bytes: &[u8], little: bool) -> bool {
    let sample = &bytes[..bytes.len().min(64)];
    if sample.len() < 8 || !sample.len().is_multiple_of(2) {
        return false;
    }
    sample.chunks_exact(2).all(|pair| {
        let (lo, hi) = if little {
            (pair[0], pair[1])
        } else {
            (pair[1], pair[0])
        };
        hi == 0 && (lo.is_ascii_graphic() || lo.is_ascii_whitespace())
    })
}

fn utf16_to_utf8(bytes: &[u8], little: bool) -> Vec<u8> {
    let units = bytes.chunks_exact(2).map(|p| {
        if little {
            u16::from_le_bytes([p[0], p[1]])
        } else {
            u16::from_be_bytes([p[0], p[1]])
        }
    });
    char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect::<String>()
        .into_bytes()
}

/// Why a PEM block's content could not be decoded. Never carries the content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PemError {
    #[error("it has no END line (is the file truncated?)")]
    NoEnd,
    #[error("its base64 is invalid")]
    Base64,
}

/// One `-----BEGIN label-----` … `-----END label-----` block. The body is decoded only on
/// request, so key blocks are never decoded at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Block<'a> {
    /// The label as written (trimmed), e.g. `CERTIFICATE`, `RSA PRIVATE KEY`.
    pub(crate) label: String,
    /// The text between the BEGIN and END lines; `None` when there is no END line.
    body: Option<&'a [u8]>,
}

impl Block<'_> {
    /// The label if it is safe and useful to show (short, upper-case ASCII as PEM labels are);
    /// anything else is not echoed, since it is file content of unknown nature.
    pub(crate) fn shown_label(&self) -> &str {
        shown_label(&self.label)
    }

    /// The decoded content, or why it cannot be decoded.
    pub(crate) fn der(&self) -> Result<Vec<u8>, PemError> {
        match self.body {
            Some(body) => decode_body(body),
            None => Err(PemError::NoEnd),
        }
    }
}

pub(crate) fn shown_label(label: &str) -> &str {
    let ok = !label.is_empty()
        && label.len() <= 40
        && label
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ' || b == b'#');
    if ok { label } else { "(unusual label)" }
}

/// Whether the text holds at least one PEM BEGIN marker.
pub(crate) fn has_pem(text: &[u8]) -> bool {
    find(text, b"-----BEGIN ").is_some()
}

/// Every PEM block of the text, in order. Text outside blocks is ignored. A block without an
/// END line is returned with [`PemError::NoEnd`] and ends the scan.
pub(crate) fn blocks(text: &[u8]) -> Vec<Block<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = find(rest, b"-----BEGIN ") {
        let after = &rest[start + 11..];
        let Some(label_end) = find(&after[..after.len().min(MAX_LABEL + 5)], b"-----") else {
            rest = after;
            continue;
        };
        let raw_label = &after[..label_end];
        if raw_label.iter().any(|&b| b == b'\n' || b == b'\r') {
            rest = after;
            continue;
        }
        let label = String::from_utf8_lossy(raw_label).trim().to_string();
        let body_and_rest = &after[label_end + 5..];
        let Some(end) = find(body_and_rest, b"-----END ") else {
            out.push(Block { label, body: None });
            break;
        };
        let body = &body_and_rest[..end];
        let tail = &body_and_rest[end + 9..];
        // Skip the END label (whatever it says; a mismatch is tolerated) and its dashes.
        rest = match find(&tail[..tail.len().min(MAX_LABEL + 5)], b"-----") {
            Some(i) => &tail[i + 5..],
            None => tail,
        };
        out.push(Block {
            label,
            body: Some(body),
        });
    }
    out
}

/// Base64 of a block body: RFC 1421 header lines (`Proc-Type: …`) are dropped, whitespace is
/// ignored, anything else outside the alphabet is an error.
fn decode_body(body: &[u8]) -> Result<Vec<u8>, PemError> {
    let mut b64 = Vec::with_capacity(body.len());
    for line in body.split(|&b| b == b'\n' || b == b'\r') {
        if line.contains(&b':') {
            continue;
        }
        for &c in line {
            if c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'=' {
                b64.push(c);
            } else if !c.is_ascii_whitespace() {
                return Err(PemError::Base64);
            }
        }
    }
    LENIENT.decode(&b64).map_err(|_| PemError::Base64)
}

/// Decodes text that is nothing but base64 (and whitespace), as pasted from a certificate
/// field without its PEM header. `None` if the text is anything else or too short.
pub(crate) fn headerless_base64(text: &[u8]) -> Option<Vec<u8>> {
    let mut b64 = Vec::with_capacity(text.len());
    for &c in text {
        if c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'=' {
            b64.push(c);
        } else if !c.is_ascii_whitespace() {
            return None;
        }
    }
    if b64.len() < MIN_HEADERLESS {
        return None;
    }
    LENIENT.decode(&b64).ok()
}

/// First position of `needle` in `haystack`. Looks for the first byte before comparing, which
/// is fast for the markers searched here (`-` and `P` are rare in base64 and DER).
pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, _) = needle.split_first()?;
    let last_start = haystack.len().checked_sub(needle.len())?;
    let mut i = 0;
    while i <= last_start {
        let p = haystack[i..=last_start].iter().position(|&b| b == first)?;
        i += p;
        if &haystack[i..i + needle.len()] == needle {
            return Some(i);
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const BODY: &str = "MIIBAgMEBQ==";

    #[test]
    fn finds_blocks_among_text_with_crlf_and_headers() {
        let text = format!(
            "Bag Attributes\r\n    friendlyName: x\r\nsubject=/CN=x\r\n-----BEGIN CERTIFICATE-----\r\n{BODY}\r\n-----END CERTIFICATE-----\r\n\
             junk\n-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n"
        );
        let b = blocks(text.as_bytes());
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].label, "CERTIFICATE");
        assert_eq!(
            b[0].der().unwrap(),
            &[0x30, 0x82, 0x01, 0x02, 0x03, 0x04, 0x05]
        );
        assert_eq!(b[1].label, "RSA PRIVATE KEY");
        assert_eq!(b[1].der().unwrap(), &[0, 0, 0]);
    }

    #[test]
    fn one_line_pem_and_missing_end() {
        let text = format!("-----BEGIN CERTIFICATE----- {BODY} -----END CERTIFICATE-----");
        assert!(blocks(text.as_bytes())[0].der().is_ok());
        let cut = format!("-----BEGIN CERTIFICATE-----\n{BODY}\n");
        assert_eq!(blocks(cut.as_bytes())[0].der(), Err(PemError::NoEnd));
        let bad = "-----BEGIN CERTIFICATE-----\nMII*\n-----END CERTIFICATE-----";
        assert_eq!(blocks(bad.as_bytes())[0].der(), Err(PemError::Base64));
    }

    #[test]
    fn boms_and_utf16_are_decoded() {
        let s = "-----BEGIN CERTIFICATE-----";
        let mut le = vec![0xff, 0xfe];
        let mut be = vec![0xfe, 0xff];
        let mut le_nobom = Vec::new();
        for u in s.encode_utf16() {
            le.extend(u.to_le_bytes());
            be.extend(u.to_be_bytes());
            le_nobom.extend(u.to_le_bytes());
        }
        for (bytes, enc) in [
            (le, Encoding::Utf16Le),
            (be, Encoding::Utf16Be),
            (le_nobom, Encoding::Utf16Le),
        ] {
            let t = decode_text(&bytes);
            assert_eq!(t.encoding, enc);
            assert_eq!(&t.bytes[..], s.as_bytes());
        }
        let bom = [b"\xEF\xBB\xBF".as_slice(), s.as_bytes()].concat();
        let t = decode_text(&bom);
        assert_eq!(t.encoding, Encoding::Utf8Bom);
        assert_eq!(&t.bytes[..], s.as_bytes());
        // A DER certificate is not mistaken for UTF-16.
        let der = [0x30, 0x82, 0x01, 0x0a, 0x30, 0x81, 0xf0, 0xa0, 0x03, 0x02];
        assert_eq!(decode_text(&der).encoding, Encoding::Plain);
    }

    #[test]
    fn headerless_base64_needs_only_base64() {
        let long = "QUJD".repeat(20);
        assert_eq!(headerless_base64(long.as_bytes()).unwrap().len(), 60);
        let wrapped = format!("{}\r\n{}\n", &long[..40], &long[40..]);
        assert!(headerless_base64(wrapped.as_bytes()).is_some());
        assert!(headerless_base64(b"QUJD").is_none());
        assert!(headerless_base64(format!("{long} hello!").as_bytes()).is_none());
    }

    #[test]
    fn find_finds_the_first_match() {
        // The rfind half of this test moved with the one rfind left, in mtls-audit-input's zip.
        assert_eq!(find(b"a--b--", b"--"), Some(1));
        assert_eq!(find(b"-", b"--"), None);
        assert_eq!(find(b"x-y", b""), None);
        assert_eq!(find(b"ab", b"ab"), Some(0));
    }

    #[test]
    fn unusual_labels_are_not_echoed() {
        assert_eq!(shown_label("RSA PRIVATE KEY"), "RSA PRIVATE KEY");
        assert_eq!(shown_label("MIIEvQIBADANBgkqhkiG9w0"), "(unusual label)");
    }
}
