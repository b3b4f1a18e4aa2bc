//! `audit --shard I/N` (docs/spec.md §11): which tenants one shard audits, and what its
//! `audit.json` records so that `merge` can put the shards back together.
//!
//! A tenant belongs to shard `fnv1a64(lowercase(tenant_id)) mod N + 1`: FNV-1a, 64 bits, over
//! the UTF-8 bytes of the ID in lower case (Unicode's default lowercase mapping, the one the
//! inventory's duplicate check uses), a function written here and pinned by test vectors so
//! that it stays the same across versions, machines and Rust releases.
//!
//! Every shard reads and checks the whole inventory; the rows that are not audited (inventory
//! errors, skipped empty rows) are reported by shard 1 only, so a merge counts each once.

use crate::inventory::Inventory;
use crate::result::{AuditReport, ShardInfo};
use std::fmt;
use std::str::FromStr;

/// The name of the hash recorded in `audit.json` (`shard.hash`).
pub const HASH: &str = "fnv1a64-lowercase";

/// One shard of `--shard I/N`: 1 ≤ `index` ≤ `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    index: u32,
    count: u32,
}

impl Shard {
    /// Shard `index` of `count`; `None` unless 1 ≤ index ≤ count.
    pub fn new(index: u32, count: u32) -> Option<Shard> {
        (index >= 1 && index <= count).then_some(Shard { index, count })
    }

    /// I, from 1.
    pub fn index(self) -> u32 {
        self.index
    }

    /// N.
    pub fn count(self) -> u32 {
        self.count
    }

    /// Whether `tenant_id` belongs to this shard.
    pub fn contains(self, tenant_id: &str) -> bool {
        shard_of(tenant_id, self.count) == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// `--shard` that is not `I/N` with 1 ≤ I ≤ N.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a shard: expected I/N with 1 <= I <= N, such as 1/4")]
pub struct ShardError(String);

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Shard, ShardError> {
        let err = || ShardError(s.to_string());
        let (i, n) = s.trim().split_once('/').ok_or_else(err)?;
        let i: u32 = i.trim().parse().map_err(|_| err())?;
        let n: u32 = n.trim().parse().map_err(|_| err())?;
        Shard::new(i, n).ok_or_else(err)
    }
}

/// FNV-1a, 64 bits.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The shard (1…`count`) of a tenant ID, compared case-insensitively. `count` 0 gives 0.
pub fn shard_of(tenant_id: &str, count: u32) -> u32 {
    if count == 0 {
        return 0;
    }
    let h = fnv1a64(tenant_id.to_lowercase().as_bytes());
    // The remainder is below `count`, a u32.
    u32::try_from(h % u64::from(count)).unwrap_or(0) + 1
}

/// Keeps the tenants of `shard` in `inv` (in inventory order); the inventory errors and the
/// skipped rows stay with shard 1 only. `rows` becomes this shard's share, so that
/// `rows = tenants + errors + skipped` holds in every shard and the shards' rows add up to the
/// inventory's. Returns the inventory's own row count.
pub fn select(inv: &mut Inventory, shard: Shard) -> u64 {
    let total = inv.rows;
    inv.tenants.retain(|t| shard.contains(&t.tenant_id));
    if shard.index != 1 {
        inv.errors.clear();
        inv.skipped = 0;
    }
    inv.rows = inv.tenants.len() as u64 + inv.errors.len() as u64 + inv.skipped;
    total
}

/// SHA-256, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The digest of what a report's tenants were judged by: the tool's name and version, the
/// settings (thresholds, switches, reference certificates), the deadline and the cutover.
/// Not the as-of time: shards started seconds apart are still one audit.
pub fn settings_sha256(report: &AuditReport) -> String {
    let judged = (
        &report.tool,
        &report.settings,
        report.deadline,
        report.cutover,
    );
    // Serialising plain data to JSON does not fail; an empty digest input would still differ
    // from every real one.
    sha256_hex(&serde_json::to_vec(&judged).unwrap_or_default())
}

/// The `shard` record of a shard's report.
pub fn info(
    shard: Shard,
    inventory_sha256: &str,
    inventory_rows: u64,
    report: &AuditReport,
) -> ShardInfo {
    ShardInfo {
        index: shard.index,
        count: shard.count,
        hash: HASH.to_string(),
        inventory_sha256: inventory_sha256.to_string(),
        inventory_rows,
        settings_sha256: settings_sha256(report),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_test_vectors() {
        // From the FNV reference (draft-eastlake-fnv, test vectors for FNV-1a 64).
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn shard_assignment_is_pinned() {
        // Changing these breaks merging shards written by an earlier version.
        assert_eq!(shard_of("ACME", 4), shard_of("acme", 4));
        assert_eq!(fnv1a64(b"acme"), 0x0724_d383_f4f6_de0f);
        assert_eq!(shard_of("AcMe", 4), 4);
        let got: Vec<u32> = [
            "acme",
            "globex",
            "umbrella",
            "lucerne",
            "wingtip",
            "fourthcoffee",
        ]
        .iter()
        .map(|id| shard_of(id, 4))
        .collect();
        assert_eq!(got, PINNED);
    }

    const PINNED: [u32; 6] = [4, 3, 2, 2, 4, 2];

    #[test]
    fn shard_parses_and_refuses() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        for bad in ["0/4", "5/4", "1/0", "0/0", "1", "a/b", "-1/4", "1/4/2", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
