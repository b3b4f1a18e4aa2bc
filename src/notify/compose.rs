//! Who gets which mail: one message per owner address, listing the tenants of that address at
//! or above the level, and the owners who cannot be mailed (no address, or one that is not an
//! address).

use crate::findings::Level;
use crate::result::AuditReport;
use lettre::message::Mailbox;
use std::collections::BTreeMap;

/// One message to compose: an address and the tenants it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The address as the inventory gives it (the first spelling met, when several tenants
    /// spell it differently).
    pub address: String,
    /// The parsed mailbox.
    pub mailbox: Mailbox,
    /// The owners (the `owner` column) of those tenants, sorted, each once.
    pub owners: Vec<String>,
    /// Indexes into the report's tenants, worst first.
    pub tenants: Vec<usize>,
}

/// Why an owner's tenants are not mailed to an address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unmailable {
    /// The tenants have no `owner_email`.
    NoAddress,
    /// This `owner_email` value is not an e-mail address.
    NotAnAddress(String),
}

/// An owner who has tenants at or above the level but cannot get them by mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The owner (`owner` column; empty when none).
    pub owner: String,
    /// Why.
    pub reason: Unmailable,
    /// The tenants concerned.
    pub tenant_ids: Vec<String>,
}

/// The mail of one audit: the messages to compose and the owners that get none although they
/// should.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// One per address, in address order.
    pub recipients: Vec<Recipient>,
    /// Owners with tenants at or above the level that cannot be mailed.
    pub skipped: Vec<Skipped>,
}

/// Parses an `owner_email` value: a bare address or `Name <address>`.
pub fn parse_address(s: &str) -> Option<Mailbox> {
    let s = s.trim();
    if s.is_empty() || s.chars().any(char::is_control) {
        return None;
    }
    s.parse::<Mailbox>().ok()
}

/// The plan for `report`: for every tenant whose risk is at or above `min_level`, each of its
/// `owner_email` addresses gets it in its message; addresses are matched case-insensitively.
/// Owners whose tenants are all below the level get nothing.
pub fn plan(report: &AuditReport, min_level: Level) -> Plan {
    let order = report.worst_first();
    let mut by_address: BTreeMap<String, Recipient> = BTreeMap::new();
    let mut skipped: BTreeMap<(String, Unmailable), Vec<String>> = BTreeMap::new();
    // The spelling of an address is the one of its first inventory row, whatever the order
    // the tenants are listed in.
    let mut spelled_at: BTreeMap<String, usize> = BTreeMap::new();
    for i in order {
        let t = &report.tenants[i];
        if t.risk < min_level {
            continue;
        }
        if t.owner_email.is_empty() {
            skipped
                .entry((t.owner.clone(), Unmailable::NoAddress))
                .or_default()
                .push(t.tenant_id.clone());
        }
        for a in &t.owner_email {
            let Some(mailbox) = parse_address(a) else {
                skipped
                    .entry((t.owner.clone(), Unmailable::NotAnAddress(a.clone())))
                    .or_default()
                    .push(t.tenant_id.clone());
                continue;
            };
            let key = mailbox.email.to_string().to_lowercase();
            let first = spelled_at.entry(key.clone()).or_insert(i);
            let respell = i < *first;
            *first = (*first).min(i);
            let r = by_address.entry(key).or_insert_with(|| Recipient {
                address: a.trim().to_string(),
                mailbox: mailbox.clone(),
                owners: Vec::new(),
                tenants: Vec::new(),
            });
            if respell {
                r.address = a.trim().to_string();
                r.mailbox = mailbox;
            }
            if !r.tenants.contains(&i) {
                r.tenants.push(i);
            }
            if !r.owners.contains(&t.owner) {
                r.owners.push(t.owner.clone());
            }
        }
    }
    let recipients = by_address
        .into_values()
        .map(|mut r| {
            r.owners.sort();
            r
        })
        .collect();
    let skipped = skipped
        .into_iter()
        .map(|((owner, reason), tenant_ids)| Skipped {
            owner,
            reason,
            tenant_ids,
        })
        .collect();
    Plan {
        recipients,
        skipped,
    }
}
