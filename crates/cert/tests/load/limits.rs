//! Limits: files over the size limit are not read, zips over the entry, per-entry and total
//! limits are refused (nested archives spend the same budget), and zip bombs, true or with
//! forged sizes, are refused quickly with the limits message.

use crate::harness::*;
use mtls_audit_cert::{Limits, LoadError, load_bytes, load_file};
use std::io::{Cursor, Read};
use std::path::Path;
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

#[test]
fn oversized_files_are_not_read() {
    let t = TestDir::new();
    let small = Limits {
        max_file_bytes: 1000,
        ..Limits::default()
    };
    let p = t.write("big.pem", vec![b'A'; 5000]);
    let e = load_file(&p, &small).unwrap_err();
    assert_eq!(
        e,
        LoadError::TooLarge {
            size: Some(5000),
            limit: 1000
        }
    );
    assert!(e.to_string().contains("1000-byte limit"), "{e}");
    assert!(e.to_string().contains("--max-cert-size"), "{e}");
    // A device reports no size and may never end: refused by its type, before any read.
    let zero = Path::new("/dev/zero");
    if zero.exists() {
        let e = load_file(zero, &small).unwrap_err();
        assert_eq!(e, LoadError::NotRegular { kind: "device" });
    }
    assert!(matches!(
        load_bytes(&[b'x'; 1001], &small).unwrap_err(),
        LoadError::TooLarge { .. }
    ));
}

#[test]
fn zip_over_the_entry_and_total_limits() {
    let c = chain();
    let names: Vec<String> = (0..5).map(|i| format!("{i}.pem")).collect();
    let entries: Vec<(&str, &[u8])> = names
        .iter()
        .map(|n| (n.as_str(), c.leaf.pem.as_bytes()))
        .collect();
    let z = zip_of(&entries, CompressionMethod::Deflated);
    let few = Limits {
        max_zip_entries: 4,
        ..Limits::default()
    };
    let e = load_bytes(&z, &few).unwrap_err();
    assert!(
        matches!(e, LoadError::ZipTooLarge(_)) && e.to_string().contains("5 entries"),
        "{e}"
    );
    let tight = Limits {
        max_total_unzipped: 2 * c.leaf.pem.len() as u64 + 10,
        ..Limits::default()
    };
    let e = load_bytes(&z, &tight).unwrap_err();
    assert!(e.to_string().contains("in all"), "{e}");
    // Nested archives spend the same budget.
    let outer = zip_of(&[("in.zip", &z)], CompressionMethod::Stored);
    let e = load_bytes(&outer, &tight).unwrap_err();
    assert!(e.to_string().contains("in all"), "{e}");
    let many = Limits {
        max_certs: 3,
        ..Limits::default()
    };
    let e = load_bytes(&z, &many).unwrap_err();
    assert_eq!(e, LoadError::TooManyCertificates { limit: 3 });
}

/// A zip whose one entry is `size` zero bytes, deflated by the zip crate.
fn zero_zip(size: u64) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file(
        "cer.crt",
        SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(1)),
    )
    .expect("start");
    std::io::copy(&mut std::io::repeat(0).take(size), &mut w).expect("deflate zeros");
    w.finish().expect("finish").into_inner()
}

/// A raw DEFLATE stream of `size` zero bytes written directly (one fixed-Huffman block: a
/// literal 0, then "copy 258 bytes from distance 1" codes), so a 256 MiB bomb takes
/// milliseconds to make instead of seconds of compression.
fn deflated_zeros(size: u64) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u8,
        n: u8,
    }
    impl Bits {
        fn bit(&mut self, b: u32) {
            self.acc |= ((b & 1) as u8) << self.n;
            self.n += 1;
            if self.n == 8 {
                self.out.push(self.acc);
                self.acc = 0;
                self.n = 0;
            }
        }
        /// Huffman codes go most significant bit first; everything else least first.
        fn code(&mut self, code: u32, len: u32) {
            for i in (0..len).rev() {
                self.bit(code >> i);
            }
        }
    }
    let mut w = Bits {
        out: Vec::new(),
        acc: 0,
        n: 0,
    };
    w.bit(1); // BFINAL
    w.bit(1); // BTYPE = 01 (fixed Huffman), least significant bit first
    w.bit(0);
    let literal_zero = (0x30, 8);
    let mut left = size;
    if left > 0 {
        w.code(literal_zero.0, literal_zero.1);
        left -= 1;
    }
    while left >= 258 {
        w.code(0xC5, 8); // length symbol 285 = 258 bytes
        w.code(0, 5); // distance code 0 = distance 1
        left -= 258;
    }
    for _ in 0..left {
        w.code(literal_zero.0, literal_zero.1);
    }
    w.code(0, 7); // end of block
    if w.n > 0 {
        w.out.push(w.acc);
    }
    w.out
}

fn crc32_of_zeros(size: u64) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for _ in 0..size {
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A zip holding `deflated` as a Deflate entry that inflates to `size` bytes: written as a
/// stored entry by the zip crate, then the method, CRC and size fields are patched.
fn zip_with_raw_deflate(deflated: &[u8], size: u32, crc: u32) -> Vec<u8> {
    let mut z = zip_of(&[("cer.crt", deflated)], CompressionMethod::Stored);
    let mut i = 0;
    while i + 30 < z.len() {
        // Local header: method at 8, CRC at 14, sizes at 18/22. Central: 10, 16, 20/24.
        let fields = if z[i..].starts_with(b"PK\x03\x04") {
            Some((8, 14, 22))
        } else if z[i..].starts_with(b"PK\x01\x02") {
            Some((10, 16, 24))
        } else {
            None
        };
        if let Some((method, crc_at, size_at)) = fields {
            z[i + method..i + method + 2].copy_from_slice(&8u16.to_le_bytes());
            z[i + crc_at..i + crc_at + 4].copy_from_slice(&crc.to_le_bytes());
            z[i + size_at..i + size_at + 4].copy_from_slice(&size.to_le_bytes());
        }
        i += 1;
    }
    z
}

#[test]
fn hand_made_deflate_streams_inflate_to_zeros() {
    for size in [0u32, 1, 258, 259, 100_000] {
        let z = zip_with_raw_deflate(
            &deflated_zeros(u64::from(size)),
            size,
            crc32_of_zeros(u64::from(size)),
        );
        let mut a = zip::ZipArchive::new(Cursor::new(&z)).expect("zip");
        let mut out = Vec::new();
        a.by_index(0)
            .expect("entry")
            .read_to_end(&mut out)
            .expect("inflate");
        assert_eq!(out.len(), size as usize);
        assert!(out.iter().all(|&b| b == 0));
    }
}

#[test]
fn zip_bomb_is_refused_with_the_limits_message() {
    let limits = Limits::default();
    // 256 MiB of zeros in a 1.7 MB zip, the sizes in its headers true. The CRC is left 0: the
    // loader must refuse before it ever gets that far.
    let size: u32 = 256 << 20;
    let stream = deflated_zeros(u64::from(size));
    let bomb = zip_with_raw_deflate(&stream, size, 0);
    assert!(bomb.len() < (2 << 20), "bomb is {} bytes", bomb.len());
    let e = load_bytes(&bomb, &limits).unwrap_err();
    let m = e.to_string();
    assert!(matches!(e, LoadError::ZipTooLarge(_)), "{m}");
    assert!(
        m.contains("over the limits") && m.contains(&limits.max_entry_bytes.to_string()),
        "{m}"
    );

    // The same bomb with the size in its headers forged small: still refused, after inflating
    // no more than the forged size.
    let forged = zip_with_raw_deflate(&stream, 4096, 0);
    let e = load_bytes(&forged, &limits).unwrap_err();
    assert!(
        matches!(e, LoadError::DamagedZip(_))
            && e.to_string().contains("more than its header declares"),
        "{e}"
    );

    // A bomb of many entries each under the per-entry cap trips the total. One entry is
    // deflated once and copied raw under six names.
    let tight = Limits {
        max_entry_bytes: 4 << 20,
        max_total_unzipped: 10 << 20,
        ..Limits::default()
    };
    let one = zero_zip(3 << 20);
    let mut src = zip::ZipArchive::new(Cursor::new(&one)).expect("read back");
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..6 {
        let f = src.by_index_raw(0).expect("entry");
        w.raw_copy_file_rename(f, format!("{i}.crt")).expect("copy");
    }
    let many = w.finish().expect("finish").into_inner();
    let e = load_bytes(&many, &tight).unwrap_err();
    assert!(
        matches!(e, LoadError::ZipTooLarge(_))
            && e.to_string()
                .contains(&tight.max_total_unzipped.to_string()),
        "{e}"
    );
}
