//! Seeded draws: everything random in a generated fleet comes from one `fastrand::Rng`, in a
//! fixed order, so a `(tenants, seed, today)` always gives the same fleet.

use crate::ids;
use chrono::{DateTime, Duration, Utc};

/// A version-4 UUID.
pub(crate) fn uuid(rng: &mut fastrand::Rng) -> String {
    let mut b = [0u8; 16];
    rng.fill(&mut b);
    ids::uuid_from_bytes(b)
}

/// `n` bytes as lowercase hex.
pub(crate) fn hex(rng: &mut fastrand::Rng, n: usize) -> String {
    let mut b = vec![0u8; n];
    rng.fill(&mut b);
    ids::hex(&b)
}

/// A client secret: 32 characters without look-alikes.
pub(crate) fn secret(rng: &mut fastrand::Rng) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    (0..32)
        .map(|_| ALPHABET[rng.usize(..ALPHABET.len())] as char)
        .collect()
}

/// A moment during the day `days` from `today` (negative: in the past).
pub(crate) fn day(today: DateTime<Utc>, days: i64, rng: &mut fastrand::Rng) -> DateTime<Utc> {
    today + Duration::days(days) - Duration::seconds(rng.i64(0..86_400))
}
