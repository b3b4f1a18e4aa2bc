//! Who a generated tenant is: its slug and ID, IPS type, landscape, host names and owner.

use super::profiles::Profile;
use super::seeded::hex;
use crate::scenario::{Environment, IpsType};

/// Tenant slugs; past 48 tenants they repeat with a number (`acme2`).
const COMPANIES: [&str; 48] = [
    "acme",
    "globex",
    "initech",
    "umbrella",
    "hooli",
    "soylent",
    "vandelay",
    "wonka",
    "tyrell",
    "cyberdyne",
    "oscorp",
    "stark",
    "wayne",
    "monarch",
    "gringotts",
    "aperture",
    "blackmesa",
    "contoso",
    "fabrikam",
    "northwind",
    "tailspin",
    "wingtip",
    "adatum",
    "litware",
    "proseware",
    "lucerne",
    "margie",
    "fourthcoffee",
    "alpineski",
    "wideworld",
    "nodpublishers",
    "trey",
    "dunder",
    "sterling",
    "pied",
    "massive",
    "rekall",
    "weyland",
    "yoyodyne",
    "zorg",
    "duff",
    "krusty",
    "planet",
    "virtucon",
    "sirius",
    "encom",
    "omni",
    "bluth",
];

/// Given names of owners, administrators and users.
pub(crate) const FIRST: [&str; 16] = [
    "Anna", "Ben", "Chiara", "David", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kofi",
    "Lena", "Mateo", "Nora", "Omar", "Priya",
];
/// Family names of owners, administrators and users.
pub(crate) const LAST: [&str; 16] = [
    "Schmidt", "Rossi", "Nakamura", "Okafor", "Novak", "Silva", "Dubois", "Kowalski", "Jensen",
    "Haddad", "Moreau", "Fischer", "Larsen", "Costa", "Yilmaz", "Weber",
];

/// IAS domains; a fifth of the tenants are on the newer `accounts.cloud.sap`.
const IAS_DOMAINS: [&str; 2] = ["accounts.ondemand.com", "accounts.cloud.sap"];
/// NEO region hosts the IPS proxy hosts of NEO tenants live under.
const NEO_REGIONS: [&str; 4] = [
    "hana.ondemand.com",
    "eu2.hana.ondemand.com",
    "us1.hana.ondemand.com",
    "ap1.hana.ondemand.com",
];

/// A tenant's identity, drawn before anything else about it.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    /// Lowercase, for host names, file names and e-mail domains (`acme`, `acme2`).
    pub(crate) slug: String,
    /// The LMS tenant ID (`ACME`).
    pub(crate) tenant_id: String,
    pub(crate) ips_type: IpsType,
    pub(crate) environment: Environment,
    pub(crate) ias_host: String,
    /// NEO only: the IPS proxy host (OAuth paths).
    pub(crate) ips_host: Option<String>,
    /// NEO only: the IPS proxy host for client certificates.
    pub(crate) ips_cert_host: Option<String>,
    /// The owner, who is also the tenant's human administrator.
    pub(crate) first: &'static str,
    pub(crate) last: &'static str,
}

impl Identity {
    /// The inventory's `owner` column: `Anna Schmidt <anna.schmidt@acme.example>`.
    pub(crate) fn owner(&self) -> String {
        format!("{} {} <{}>", self.first, self.last, self.email())
    }

    /// The owner's address, the inventory's `owner_email` column: `anna.schmidt@acme.example`.
    pub(crate) fn email(&self) -> String {
        format!(
            "{}.{}@{}.example",
            self.first.to_lowercase(),
            self.last.to_lowercase(),
            self.slug
        )
    }
}

/// The identity of the `i`-th tenant. A profile fixes the IPS type; a healthy tenant is NEO
/// one time in three.
pub(crate) fn identity(i: usize, profile: Option<&Profile>, rng: &mut fastrand::Rng) -> Identity {
    let base = COMPANIES[i % COMPANIES.len()];
    let slug = match i / COMPANIES.len() {
        0 => base.to_string(),
        n => format!("{base}{}", n + 1),
    };
    let tenant_id = slug.to_uppercase();
    let ips_type = match profile {
        Some(p) => p.ips_type,
        None if rng.u8(0..100) < 35 => IpsType::Neo,
        None => IpsType::Converged,
    };
    let environment = if rng.u8(0..100) < 20 {
        Environment::Preview
    } else {
        Environment::Production
    };
    let ias_host = format!("{slug}.{}", IAS_DOMAINS[usize::from(rng.u8(0..100) >= 80)]);
    let (ips_host, ips_cert_host) = if ips_type == IpsType::Neo {
        let region = NEO_REGIONS[rng.usize(..NEO_REGIONS.len())];
        let provider = format!("a{}", &hex(rng, 4)[..7]);
        (
            Some(format!("ipsproxy{provider}-{slug}.{region}")),
            Some(format!("ipsproxy{provider}-{slug}.cert.{region}")),
        )
    } else {
        (None, None)
    };
    let first = FIRST[rng.usize(..FIRST.len())];
    let last = LAST[rng.usize(..LAST.len())];
    Identity {
        slug,
        tenant_id,
        ips_type,
        environment,
        ias_host,
        ips_host,
        ips_cert_host,
        first,
        last,
    }
}
