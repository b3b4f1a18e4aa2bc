//! SAP facts the checks and the remediation text rely on, each with its source, in one place:
//! when SAP renames a console label or moves a date, this is the file to change.
//! Sources are listed in `docs/sap-facts.md`.

/// The user a failed Real Time User Sync activation leaves in IAS; it blocks later retries
/// (SAP KBA 3248892).
pub(crate) const TEST_USER: &str = "ias_test_user_27F5AAEA";

/// The console labels of the two permissions LMS's system administrator needs (the
/// SAP-docs page "Add Administrators"; KBA 3394484 and KBA 3552671).
pub(crate) const REQUIRED_PERMISSIONS: [&str; 2] =
    ["Read Users", "Access Real-Time Provisioning API"];

/// `sourceSystem` of users that SAP SuccessFactors Learning provisioned to IAS (SAP-docs
/// "Configure Authentication Provider to Migrate User Passwords from SAP Learning Management").
pub(crate) const LMS_SOURCE_SYSTEM: u32 = 101;

/// The IAS administrator record LMS authenticates as, as KBA 3247849 spells it (with an en
/// dash). Other KBAs name the same record differently (see `docs/sap-facts.md`).
pub(crate) fn admin_record(tenant_id: &str) -> String {
    format!("SAP LMS – {tenant_id}")
}

/// The day by which customers with Learning-only users who authenticate through IAS had to
/// leave NEO IPS for the converged IPS to keep real-time user synchronization (KBA 3718271:
/// "by July 9, 2026"). From the next day on, such a tenant's Learning-only users no longer
/// sync.
pub(crate) const NEO_LEARNING_ONLY_DEADLINE: (i32, u32, u32) = (2026, 7, 9);

/// The day NEO IPS tenants are sunset (KBA 3718271: "December 31, 2028"). From that day on a
/// NEO tenant is treated as retired.
pub(crate) const NEO_RETIREMENT: (i32, u32, u32) = (2028, 12, 31);

/// The path LMS's `ipsAPIUrl` must end in on a converged tenant: the IPS URL plus
/// `/ipsproxy/service/api` (KBA 3394484); the NEO form ended in `/ips`.
pub(crate) const CONVERGED_API_PATH: &str = "/ipsproxy/service/api";

/// Midnight UTC of a `(year, month, day)` above.
pub(crate) fn day_start(day: (i32, u32, u32)) -> chrono::DateTime<chrono::Utc> {
    let (y, m, d) = day;
    chrono::NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|n| n.and_hms_opt(0, 0, 0))
        .map(|n| n.and_utc())
        // Invariant: the constants above are valid dates (a unit test checks them).
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dates_are_valid() {
        assert_eq!(
            day_start(NEO_LEARNING_ONLY_DEADLINE).to_rfc3339(),
            "2026-07-09T00:00:00+00:00"
        );
        assert_eq!(
            day_start(NEO_RETIREMENT).to_rfc3339(),
            "2028-12-31T00:00:00+00:00"
        );
    }
}
