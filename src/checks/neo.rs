//! NEO IPS retirement (`IPS_NEO_RETIRING`, docs/spec.md §9): every NEO tenant is on borrowed
//! time. SAP's dates (KBA 3718271, in `crate::sap`): customers with Learning-only users who
//! authenticate through IAS had to migrate to the converged IPS by 2026-07-09 to keep real-time
//! user synchronization; NEO IPS is sunset on 2028-12-31. Judged from the inventory alone
//! against `--as-of`, so a past or future audit can be replayed.

use crate::dates::date;
use crate::findings::{Code, Finding, Level, Target};
use crate::inventory::IpsType;
use crate::sap::{NEO_LEARNING_ONLY_DEADLINE, NEO_RETIREMENT, day_start};
use chrono::{DateTime, Duration, Utc};

/// The finding for a NEO tenant (none for a converged one). `learning_only_users` is the
/// inventory's column (`None`: not known).
pub(crate) fn check(
    ips_type: IpsType,
    learning_only_users: Option<bool>,
    as_of: DateTime<Utc>,
) -> Vec<Finding> {
    if ips_type != IpsType::Neo {
        return Vec::new();
    }
    let deadline = day_start(NEO_LEARNING_ONLY_DEADLINE);
    let past_deadline = as_of >= deadline + Duration::days(1);
    let retirement = day_start(NEO_RETIREMENT);
    let (level, why) = if as_of >= retirement {
        (
            Level::Failing,
            format!(
                "NEO IPS was retired on {} (KBA 3718271): real-time user synchronization through this tenant has stopped",
                date(retirement)
            ),
        )
    } else if past_deadline && learning_only_users == Some(true) {
        (
            Level::Failing,
            format!(
                "the tenant has Learning-only users and is still on NEO IPS after {}, the date by which it had to migrate to the converged IPS to keep real-time user synchronization (KBA 3718271): their sync has stopped; NEO IPS is retired on {}",
                date(deadline),
                date(retirement)
            ),
        )
    } else if past_deadline && learning_only_users.is_none() {
        (
            Level::AtRisk,
            format!(
                "still on NEO IPS after {}: if the customer has Learning-only users who authenticate through IAS, their real-time sync has stopped (KBA 3718271); set learning_only_users in the inventory to tell; NEO IPS is retired on {}",
                date(deadline),
                date(retirement)
            ),
        )
    } else {
        let who = match learning_only_users {
            Some(false) => "the tenant has no Learning-only users, so the 2026-07-09 migration deadline does not apply".to_string(),
            _ => format!(
                "tenants with Learning-only users must migrate to the converged IPS by {} (KBA 3718271)",
                date(deadline)
            ),
        };
        (
            Level::Warn,
            format!(
                "on NEO IPS, which is retired on {}: migrate to the converged IPS before then; {who}",
                date(retirement)
            ),
        )
    };
    vec![Finding::new(Code::IpsNeoRetiring, Target::Inventory, why).with_level(level)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn level(lo: Option<bool>, as_of: &str) -> Option<Level> {
        check(IpsType::Neo, lo, at(as_of)).first().map(|f| f.level)
    }

    #[test]
    fn levels_on_both_sides_of_both_dates() {
        // Up to the end of 2026-07-09: a warning for everyone.
        for lo in [Some(true), Some(false), None] {
            assert_eq!(
                level(lo, "2026-07-09T23:59:59Z"),
                Some(Level::Warn),
                "{lo:?}"
            );
        }
        // From 2026-07-10: failing with Learning-only users, at risk when not known.
        assert_eq!(
            level(Some(true), "2026-07-10T00:00:00Z"),
            Some(Level::Failing)
        );
        assert_eq!(level(None, "2026-07-10T00:00:00Z"), Some(Level::AtRisk));
        assert_eq!(
            level(Some(false), "2026-07-10T00:00:00Z"),
            Some(Level::Warn)
        );
        // The day before the sunset and the day of it.
        assert_eq!(
            level(Some(false), "2028-12-30T23:59:59Z"),
            Some(Level::Warn)
        );
        assert_eq!(level(None, "2028-12-30T23:59:59Z"), Some(Level::AtRisk));
        for lo in [Some(true), Some(false), None] {
            assert_eq!(
                level(lo, "2028-12-31T00:00:00Z"),
                Some(Level::Failing),
                "{lo:?}"
            );
        }
    }

    #[test]
    fn converged_tenants_are_quiet_and_messages_give_the_dates() {
        assert!(check(IpsType::Converged, Some(true), at("2027-01-01T00:00:00Z")).is_empty());
        let f = check(IpsType::Neo, Some(true), at("2026-11-30T00:00:00Z"));
        assert_eq!(f[0].code, Code::IpsNeoRetiring);
        assert!(f[0].message.contains("2026-07-09"), "{}", f[0].message);
        assert!(f[0].message.contains("2028-12-31"), "{}", f[0].message);
        assert!(f[0].message.contains("KBA 3718271"), "{}", f[0].message);
    }
}
