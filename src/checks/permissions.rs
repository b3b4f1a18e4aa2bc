//! Declared permissions (docs/spec.md §5): the `tech_user_permissions` column, as copied from the IAS
//! console, must list both permissions LMS needs on its admin record.

use crate::findings::{Code, Finding, Target};

use crate::sap::{REQUIRED_PERMISSIONS as REQUIRED, admin_record};

/// Labels are compared case-insensitively, with runs of spaces and the hyphen in "Real-Time"
/// treated loosely, because people copy them from the console by hand.
fn norm(label: &str) -> String {
    label
        .to_lowercase()
        .replace(['-', '_'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The required permissions missing from `declared`.
pub(crate) fn missing(declared: &[String]) -> Vec<&'static str> {
    let have: Vec<String> = declared.iter().map(|d| norm(d)).collect();
    REQUIRED
        .iter()
        .copied()
        .filter(|r| !have.contains(&norm(r)))
        .collect()
}

/// One finding per missing permission, naming it.
pub(crate) fn check(declared: &[String], tenant_id: &str) -> Vec<Finding> {
    missing(declared)
        .into_iter()
        .map(|perm| {
            Finding::new(
                Code::TechUserMissingPermission,
                Target::TechUser,
                format!(
                    "'{perm}' is not among the permissions declared for {} (tech_user_permissions)",
                    admin_record(tenant_id)
                ),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn both_present_in_any_case_is_quiet() {
        assert!(
            check(
                &s(&[
                    "read users",
                    "ACCESS REAL-TIME PROVISIONING API",
                    "Manage Users"
                ]),
                "T"
            )
            .is_empty()
        );
        assert!(
            check(
                &s(&["Read  Users", "Access Real Time Provisioning API"]),
                "T"
            )
            .is_empty()
        );
    }

    #[test]
    fn each_missing_permission_is_named() {
        let f = check(&s(&["Manage Users"]), "T");
        assert_eq!(f.len(), 2);
        assert!(f[0].message.contains("'Read Users'"));
        assert!(f[1].message.contains("'Access Real-Time Provisioning API'"));
        let f = check(&s(&["Read Users"]), "T");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, Code::TechUserMissingPermission);
        assert!(check(&[], "T").len() == 2);
    }
}
