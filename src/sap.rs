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
