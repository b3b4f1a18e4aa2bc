//! A generated tenant's Identity Directory and applications: users provisioned by LMS
//! (sourceSystem 101) and a few from SuccessFactors (100), two groups, two applications.

use super::identity::{FIRST, Identity, LAST};
use super::seeded::{day, hex, uuid};
use super::systems::LMS_SYSTEM_NAME;
use crate::scenario::{ApiCertificateSpec, ApplicationSpec, GroupSpec, TEST_USER, UserSpec};
use chrono::{DateTime, Duration, Utc};

/// A tenant's users and how many of them LMS provisioned (not counting a test-user leftover).
#[derive(Debug, Clone)]
pub(crate) struct Users {
    pub(crate) users: Vec<UserSpec>,
    pub(crate) lms_users: usize,
}

/// The users. LMS users changed within the last 20 days (the first yesterday), or 3 to 11
/// weeks ago on a `stale` tenant, which also holds the [`TEST_USER`] leftover.
pub(crate) fn users(
    who: &Identity,
    stale: bool,
    today: DateTime<Utc>,
    rng: &mut fastrand::Rng,
) -> Users {
    let lms_users = 3 + rng.usize(..8);
    let mut users = Vec::new();
    for k in 0..lms_users {
        users.push(lms_user(who, k, stale, today, rng));
    }
    for k in 0..(2 + rng.usize(..4)) {
        users.push(successfactors_user(who, k, today, rng));
    }
    if stale {
        users.push(test_user_leftover(who, today, rng));
    }
    Users { users, lms_users }
}

/// The `k`-th user LMS provisioned.
fn lms_user(
    who: &Identity,
    k: usize,
    stale: bool,
    today: DateTime<Utc>,
    rng: &mut fastrand::Rng,
) -> UserSpec {
    let f = FIRST[rng.usize(..FIRST.len())];
    let l = LAST[rng.usize(..LAST.len())];
    let created = day(today, -(30 + rng.i64(0..700)), rng);
    let modified = if stale {
        day(today, -(21 + rng.i64(0..60)), rng)
    } else if k == 0 {
        day(today, -1, rng)
    } else {
        day(today, -rng.i64(1..20), rng)
    };
    let user_name = format!("{}.{}{}", f.to_lowercase(), l.to_lowercase(), k + 1);
    UserSpec {
        id: uuid(rng),
        emails: vec![format!("{user_name}@{}.example", who.slug)],
        user_name,
        given_name: Some(f.to_string()),
        family_name: Some(l.to_string()),
        display_name: Some(format!("{f} {l}")),
        user_type: "employee".to_string(),
        active: true,
        source_system: Some(101),
        source_system_id: Some(who.tenant_id.clone()),
        user_id: Some(format!("P{:06}", rng.u32(1..1_000_000))),
        created,
        last_modified: modified.max(created),
        external_id: None,
        attributes: Default::default(),
    }
}

/// The `k`-th user from SuccessFactors; one in twenty is inactive.
fn successfactors_user(
    who: &Identity,
    k: usize,
    today: DateTime<Utc>,
    rng: &mut fastrand::Rng,
) -> UserSpec {
    let f = FIRST[rng.usize(..FIRST.len())];
    let l = LAST[rng.usize(..LAST.len())];
    let created = day(today, -(10 + rng.i64(0..900)), rng);
    let user_name = format!("{}{}{}", &f[..1].to_lowercase(), l.to_lowercase(), k + 1);
    UserSpec {
        id: uuid(rng),
        emails: vec![format!("{user_name}@{}.example", who.slug)],
        user_name,
        given_name: Some(f.to_string()),
        family_name: Some(l.to_string()),
        display_name: Some(format!("{f} {l}")),
        user_type: "employee".to_string(),
        active: rng.u8(0..100) < 95,
        source_system: Some(100),
        source_system_id: Some(format!("{}prod", who.slug)),
        user_id: Some(format!("P{:06}", rng.u32(1..1_000_000))),
        created,
        last_modified: created + Duration::days(rng.i64(0..5)),
        external_id: None,
        attributes: Default::default(),
    }
}

/// The test user a failed real-time sync activation left behind 90 days ago.
fn test_user_leftover(who: &Identity, today: DateTime<Utc>, rng: &mut fastrand::Rng) -> UserSpec {
    let at = day(today, -90, rng);
    UserSpec {
        id: uuid(rng),
        user_name: TEST_USER.to_string(),
        emails: vec![format!("ias_test_user_27f5aaea@{}.example", who.slug)],
        given_name: None,
        family_name: None,
        display_name: None,
        user_type: "public".to_string(),
        active: true,
        source_system: Some(101),
        source_system_id: Some(who.tenant_id.clone()),
        user_id: None,
        created: at,
        last_modified: at,
        external_id: None,
        attributes: Default::default(),
    }
}

/// `Learning Administrators` (the first two users) and `All Employees`.
pub(crate) fn groups(users: &[UserSpec], rng: &mut fastrand::Rng) -> Vec<GroupSpec> {
    let admins = GroupSpec {
        id: uuid(rng),
        display_name: "Learning Administrators".to_string(),
        members: users.iter().take(2).map(|u| u.id.clone()).collect(),
        external_id: None,
        attributes: Default::default(),
    };
    let all = GroupSpec {
        id: uuid(rng),
        display_name: "All Employees".to_string(),
        members: users.iter().map(|u| u.id.clone()).collect(),
        external_id: None,
        attributes: Default::default(),
    };
    vec![admins, all]
}

/// The LMS application (with an API certificate) and SuccessFactors.
pub(crate) fn applications(tenant_id: &str, rng: &mut fastrand::Rng) -> Vec<ApplicationSpec> {
    vec![
        ApplicationSpec {
            id: uuid(rng),
            name: LMS_SYSTEM_NAME.to_string(),
            description: format!("Learning tenant {tenant_id}"),
            api_certificates: vec![ApiCertificateSpec {
                id: hex(rng, 16),
                dn: "CN=lms-mtls.successfactors.com (2025-2026),O=SAP SE".to_string(),
                all_apis_access: false,
                authorization_scopes: vec!["readUserProfile".to_string()],
            }],
        },
        ApplicationSpec {
            id: uuid(rng),
            name: "SAP SuccessFactors".to_string(),
            description: String::new(),
            api_certificates: Vec::new(),
        },
    ]
}
