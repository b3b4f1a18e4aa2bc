//! Identifiers: lowercase hex and version-4 UUIDs, random (tokens, job IDs, users created at run
//! time) or from seeded bytes (the generator).

use ring::rand::SecureRandom as _;

/// Lowercase hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A version-4 UUID from 16 bytes (random or seeded).
pub(crate) fn uuid_from_bytes(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Nanoseconds since the epoch: the fallback when the OS random source fails. That is not
/// recoverable in any useful way, and simulated tokens and identifiers only need to be unique,
/// not secret, so the simulator keeps answering.
fn clock_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
}

/// `n` random bytes as lowercase hex (tokens, job IDs).
pub(crate) fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    if ring::rand::SystemRandom::new().fill(&mut buf).is_err() {
        let t = clock_nanos();
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (t >> ((i % 16) * 8)) as u8 ^ i as u8;
        }
    }
    hex(&buf)
}

/// A random version-4 UUID (users created through the API).
pub(crate) fn random_uuid() -> String {
    let mut b = [0u8; 16];
    if ring::rand::SystemRandom::new().fill(&mut b).is_err() {
        b = clock_nanos().to_le_bytes();
    }
    uuid_from_bytes(b)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn uuids_are_version_4() {
        let u = uuid_from_bytes([0xff; 16]);
        assert_eq!(u, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert_eq!(random_hex(10).len(), 20);
        assert_ne!(random_uuid(), random_uuid());
    }
}
