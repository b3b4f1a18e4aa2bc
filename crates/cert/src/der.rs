//! A tiny DER (and BER indefinite-length) TLV walker: enough to recognise what a blob of
//! binary is (certificate, PKCS#7, PKCS#12, private key, CSR, …), to pull the certificates out
//! of a PKCS#7 SignedData and to read the attributes of a distinguished name. It never
//! allocates, never recurses deeper than [`MAX_DEPTH`] and checks every length against the
//! input, so hostile bytes can only make it return an error.

/// Nesting depth at which indefinite-length parsing gives up (stack safety).
pub(crate) const MAX_DEPTH: usize = 32;

pub(crate) const INTEGER: u32 = 2;
pub(crate) const BIT_STRING: u32 = 3;
pub(crate) const OCTET_STRING: u32 = 4;
pub(crate) const OID: u32 = 6;
pub(crate) const SEQUENCE: u32 = 16;
pub(crate) const UTC_TIME: u32 = 23;
pub(crate) const GENERALIZED_TIME: u32 = 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Universal,
    Application,
    Context,
    Private,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tag {
    pub(crate) class: Class,
    pub(crate) constructed: bool,
    pub(crate) number: u32,
}

impl Tag {
    /// A universal tag with this number (primitive or constructed).
    pub(crate) fn is_universal(&self, number: u32) -> bool {
        self.class == Class::Universal && self.number == number
    }

    /// `[number]` in the context class, constructed (EXPLICIT or IMPLICIT SET/SEQUENCE).
    pub(crate) fn is_context_constructed(&self, number: u32) -> bool {
        self.class == Class::Context && self.constructed && self.number == number
    }
}

/// One tag-length-value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tlv<'a> {
    pub(crate) tag: Tag,
    /// The content octets (for an indefinite length: without the end-of-contents marker).
    pub(crate) value: &'a [u8],
    /// The whole encoding, header and end-of-contents marker included.
    pub(crate) raw: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DerError {
    #[error("the data ends inside an ASN.1 element (truncated)")]
    Truncated,
    #[error("an ASN.1 length is malformed")]
    BadLength,
    #[error("an ASN.1 tag is malformed")]
    BadTag,
    #[error("ASN.1 nesting is too deep")]
    TooDeep,
}

impl<'a> Tlv<'a> {
    /// The children of a constructed value, in order.
    pub(crate) fn children(&self) -> Children<'a> {
        Children { rest: self.value }
    }

    /// All children, or an error if any of them is malformed.
    pub(crate) fn child_vec(&self) -> Result<Vec<Tlv<'a>>, DerError> {
        self.children().collect()
    }

    /// The value as a small unsigned integer (INTEGER of at most 8 bytes, not negative).
    pub(crate) fn small_uint(&self) -> Option<u64> {
        if !self.tag.is_universal(INTEGER) || self.value.is_empty() || self.value.len() > 9 {
            return None;
        }
        if self.value[0] & 0x80 != 0 {
            return None;
        }
        let mut n: u64 = 0;
        for &b in self.value {
            n = n.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        Some(n)
    }
}

/// Iterator over the TLVs of a byte string. Stops at the first error (which it yields).
pub(crate) struct Children<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Children<'a> {
    type Item = Result<Tlv<'a>, DerError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match parse(self.rest) {
            Ok((tlv, rest)) => {
                self.rest = rest;
                Some(Ok(tlv))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

/// Parses the first TLV of `input` and returns it with the bytes after it.
pub(crate) fn parse(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), DerError> {
    parse_at_depth(input, 0)
}

fn parse_at_depth(input: &[u8], depth: usize) -> Result<(Tlv<'_>, &[u8]), DerError> {
    if depth > MAX_DEPTH {
        return Err(DerError::TooDeep);
    }
    let (tag, mut pos) = read_tag(input)?;
    let first = *input.get(pos).ok_or(DerError::Truncated)?;
    pos += 1;
    if first == 0x80 {
        // BER indefinite length: the value runs until an end-of-contents marker at this level.
        if !tag.constructed {
            return Err(DerError::BadLength);
        }
        let start = pos;
        let mut cursor = &input[start..];
        loop {
            if cursor.len() < 2 {
                return Err(DerError::Truncated);
            }
            if cursor[0] == 0 && cursor[1] == 0 {
                let value_len = input.len() - start - cursor.len();
                let end = start + value_len + 2;
                let tlv = Tlv {
                    tag,
                    value: &input[start..start + value_len],
                    raw: &input[..end],
                };
                return Ok((tlv, &input[end..]));
            }
            let (_, rest) = parse_at_depth(cursor, depth + 1)?;
            cursor = rest;
        }
    }
    let len: usize = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0x7f || n > 8 {
            return Err(DerError::BadLength);
        }
        let bytes = input.get(pos..pos + n).ok_or(DerError::Truncated)?;
        pos += n;
        let mut len: u64 = 0;
        for &b in bytes {
            len = len
                .checked_mul(256)
                .and_then(|l| l.checked_add(u64::from(b)))
                .ok_or(DerError::BadLength)?;
        }
        usize::try_from(len).map_err(|_| DerError::BadLength)?
    };
    let end = pos.checked_add(len).ok_or(DerError::BadLength)?;
    if end > input.len() {
        return Err(DerError::Truncated);
    }
    let tlv = Tlv {
        tag,
        value: &input[pos..end],
        raw: &input[..end],
    };
    Ok((tlv, &input[end..]))
}

fn read_tag(input: &[u8]) -> Result<(Tag, usize), DerError> {
    let b = *input.first().ok_or(DerError::Truncated)?;
    let class = match b >> 6 {
        0 => Class::Universal,
        1 => Class::Application,
        2 => Class::Context,
        _ => Class::Private,
    };
    let constructed = b & 0x20 != 0;
    let low = u32::from(b & 0x1f);
    if low != 0x1f {
        return Ok((
            Tag {
                class,
                constructed,
                number: low,
            },
            1,
        ));
    }
    // High tag number form: base-128 digits, at most four of them here.
    let mut number: u32 = 0;
    for (i, &d) in input.iter().enumerate().skip(1).take(4) {
        number = (number << 7) | u32::from(d & 0x7f);
        if d & 0x80 == 0 {
            return Ok((
                Tag {
                    class,
                    constructed,
                    number,
                },
                i + 1,
            ));
        }
    }
    if input.len() <= 5 {
        Err(DerError::Truncated)
    } else {
        Err(DerError::BadTag)
    }
}

/// Dotted-decimal text of an OBJECT IDENTIFIER's content octets, or `None` if malformed.
pub(crate) fn oid_string(value: &[u8]) -> Option<String> {
    let mut arcs: Vec<u128> = Vec::new();
    let mut acc: u128 = 0;
    let mut in_arc = false;
    for &b in value {
        if !in_arc && b == 0x80 {
            return None; // non-minimal encoding
        }
        acc = acc.checked_mul(128)?.checked_add(u128::from(b & 0x7f))?;
        in_arc = true;
        if b & 0x80 == 0 {
            arcs.push(acc);
            acc = 0;
            in_arc = false;
        }
    }
    if in_arc || arcs.is_empty() {
        return None;
    }
    let first = arcs[0];
    let (a, b) = match first {
        0..=39 => (0, first),
        40..=79 => (1, first - 40),
        _ => (2, first - 80),
    };
    let mut out = format!("{a}.{b}");
    for arc in &arcs[1..] {
        out.push('.');
        out.push_str(&arc.to_string());
    }
    Some(out)
}

/// Helpers for the unit tests of this crate: DER encodings built by hand.
#[cfg(test)]
pub(crate) mod test_support {
    /// One tag-length-value with a definite DER length.
    pub(crate) fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = value.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|&&b| b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
        out.extend_from_slice(value);
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::test_support::tlv;
    use super::*;

    #[test]
    fn parses_short_and_long_lengths() {
        let (t, rest) = parse(&[0x30, 0x03, 0x02, 0x01, 0x05, 0xff]).unwrap();
        assert!(t.tag.is_universal(SEQUENCE) && t.tag.constructed);
        assert_eq!(rest, &[0xff]);
        let kids = t.child_vec().unwrap();
        assert_eq!(kids.len(), 1);
        assert_eq!(kids[0].small_uint(), Some(5));

        let mut long = vec![0x04, 0x82, 0x01, 0x00];
        long.extend(std::iter::repeat_n(0u8, 256));
        let (t, rest) = parse(&long).unwrap();
        assert_eq!(t.value.len(), 256);
        assert!(rest.is_empty());
    }

    #[test]
    fn rejects_truncated_and_oversized_lengths() {
        assert_eq!(parse(&[0x30, 0x05, 0x02]).unwrap_err(), DerError::Truncated);
        assert_eq!(parse(&[0x30]).unwrap_err(), DerError::Truncated);
        assert_eq!(
            parse(&[0x30, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9]).unwrap_err(),
            DerError::BadLength
        );
        assert_eq!(
            parse(&[0x30, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).unwrap_err(),
            DerError::BadLength
        );
        assert_eq!(
            parse(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00]).unwrap_err(),
            DerError::Truncated
        );
    }

    #[test]
    fn reads_indefinite_lengths_and_limits_depth() {
        // SEQUENCE (indefinite) { INTEGER 1, SEQUENCE (indefinite) { } } EOC
        let ber = [
            0x30, 0x80, 0x02, 0x01, 0x01, 0x30, 0x80, 0x00, 0x00, 0x00, 0x00, 0xaa,
        ];
        let (t, rest) = parse(&ber).unwrap();
        assert_eq!(rest, &[0xaa]);
        assert_eq!(t.raw.len(), 11);
        assert_eq!(t.child_vec().unwrap().len(), 2);

        let mut deep = Vec::new();
        for _ in 0..100 {
            deep.extend([0x30, 0x80]);
        }
        assert_eq!(parse(&deep).unwrap_err(), DerError::TooDeep);
    }

    #[test]
    fn high_tag_numbers_and_oids() {
        let (t, _) = parse(&[0x9f, 0x81, 0x00, 0x00]).unwrap();
        assert_eq!(t.tag.number, 128);
        assert_eq!(t.tag.class, Class::Context);
        assert_eq!(
            oid_string(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02]).as_deref(),
            Some("1.2.840.113549.1.7.2")
        );
        assert_eq!(oid_string(&[0x55, 0x04, 0x03]).as_deref(), Some("2.5.4.3"));
        assert_eq!(oid_string(&[0x88, 0x37]).as_deref(), Some("2.999"));
        assert_eq!(oid_string(&[0x55, 0x84]), None);
    }

    #[test]
    fn lengths_round_trip() {
        for len in [0usize, 1, 127, 128, 255, 256, 65_535, 70_000] {
            let enc = tlv(0x04, &vec![0u8; len]);
            let (t, rest) = parse(&enc).unwrap();
            assert_eq!(t.value.len(), len);
            assert!(rest.is_empty());
        }
    }
}
