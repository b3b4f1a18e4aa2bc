//! Sync health (`sync`): LMS-provisioned users in IAS, the leftover test user of a failed
//! activation, and (converged, with a job ID) the IPS job log. Inputs are what the live calls
//! returned; this module decides the findings.

use super::failure::ApiFailure;
use crate::dates::date;
use crate::findings::{Code, Finding, Level, Target};
use chrono::{DateTime, Duration, Utc};

use crate::sap::TEST_USER;

/// What the SCIM query for LMS-provisioned users found (every page read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LmsUsers {
    pub count: u64,
    /// The newest `meta.created` or `meta.lastModified` among them.
    pub latest_change: Option<DateTime<Utc>>,
}

/// What the job log export said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JobLog {
    pub job_id: String,
    /// As IPS words it: `Success`, `Finished with Error`, `Running`, …
    pub status: String,
    pub failed_entities: u64,
    pub error_message: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct SyncCalls {
    pub users: Result<LmsUsers, ApiFailure>,
    pub test_user_present: Result<bool, ApiFailure>,
    /// `None` when the job check does not apply or has no job ID.
    pub job: Option<Result<JobLog, ApiFailure>>,
}

pub(crate) fn check(
    tenant_id: &str,
    ev: &SyncCalls,
    as_of: DateTime<Utc>,
    stale_days: i64,
) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    let push_failure = |f: Finding, out: &mut Vec<Finding>| {
        // The same failure on several calls is one finding.
        if !out.iter().any(|o| o.code == f.code) {
            out.push(f);
        }
    };
    match &ev.users {
        // Users were found but none carries a date: whether sync is alive cannot be told, and
        // saying it is stale would be a guess (docs/spec.md §12).
        Ok(u) if u.count > 0 && u.latest_change.is_none() => out.push(
            Finding::new(
                Code::ApiError,
                Target::Sync,
                format!(
                    "SCIM query of LMS-provisioned users: {} user{} from tenant {tenant_id} found, but none carries a readable meta.created or meta.lastModified date, so whether Real Time User Sync is alive cannot be judged",
                    u.count,
                    if u.count == 1 { "" } else { "s" }
                ),
            )
            .with_level(Level::Unknown),
        ),
        Ok(u) => {
            let since = as_of - Duration::days(stale_days);
            let fresh = u.latest_change.is_some_and(|c| c >= since);
            if !fresh {
                let latest = match u.latest_change {
                    Some(c) => format!("the latest change was on {}", date(c)),
                    None => "none has a creation or change date".to_string(),
                };
                let msg = if u.count == 0 {
                    format!(
                        "IAS holds no user provisioned by LMS tenant {tenant_id} (sourceSystem 101): Real Time User Sync has never created one"
                    )
                } else {
                    format!(
                        "no LMS-provisioned user was created or changed in the last {stale_days} days ({} users from tenant {tenant_id}; {latest})",
                        u.count
                    )
                };
                out.push(Finding::new(Code::SyncStale, Target::Sync, msg));
            }
        }
        Err(e) => push_failure(
            e.finding(Target::Sync, "SCIM query of LMS-provisioned users"),
            &mut out,
        ),
    }
    match &ev.test_user_present {
        Ok(true) => out.push(Finding::new(
            Code::SyncTestUserLeftover,
            Target::Sync,
            format!(
                "the IAS user {TEST_USER} exists: a failed activation left it and it blocks retries"
            ),
        )),
        Ok(false) => {}
        Err(e) => push_failure(
            e.finding(Target::Sync, "SCIM query of the test user"),
            &mut out,
        ),
    }
    match &ev.job {
        None => {}
        Some(Ok(job)) => {
            let failed_status = job.status.eq_ignore_ascii_case("Finished with Error");
            if failed_status || job.failed_entities > 0 {
                let mut msg = format!(
                    "IPS job {} has status '{}' and {} failed entit{}",
                    job.job_id,
                    job.status,
                    job.failed_entities,
                    if job.failed_entities == 1 { "y" } else { "ies" }
                );
                if let Some(e) = &job.error_message {
                    msg.push_str(&format!(": {e}"));
                }
                out.push(Finding::new(Code::SyncJobFailed, Target::Sync, msg));
            }
        }
        Some(Err(e)) => push_failure(e.finding(Target::Sync, "IPS job log export"), &mut out),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn ev(users: Result<LmsUsers, ApiFailure>) -> SyncCalls {
        SyncCalls {
            users,
            test_user_present: Ok(false),
            job: None,
        }
    }

    #[test]
    fn stale_exactly_at_the_boundary() {
        let as_of = at("2025-07-15T00:00:00Z");
        let fresh = LmsUsers {
            count: 3,
            latest_change: Some(at("2025-07-08T00:00:00Z")),
        };
        assert!(check("T", &ev(Ok(fresh)), as_of, 7).is_empty());
        let stale = LmsUsers {
            count: 3,
            latest_change: Some(at("2025-07-07T23:59:59Z")),
        };
        let f = check("T", &ev(Ok(stale)), as_of, 7);
        assert_eq!(f[0].code, Code::SyncStale);
        assert!(f[0].message.contains("2025-07-07"), "{}", f[0].message);
        let none = check("T", &ev(Ok(LmsUsers::default())), as_of, 7);
        assert!(none[0].message.contains("never created"));
    }

    #[test]
    fn users_without_dates_are_unknown_not_stale() {
        let as_of = at("2025-07-15T00:00:00Z");
        let undated = LmsUsers {
            count: 4,
            latest_change: None,
        };
        let f = check("T", &ev(Ok(undated)), as_of, 7);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!((f[0].code, f[0].level), (Code::ApiError, Level::Unknown));
        assert!(f[0].message.contains("4 users"), "{}", f[0].message);
        assert!(f[0].message.contains("date"), "{}", f[0].message);
    }

    #[test]
    fn leftover_job_failures_and_api_failures() {
        let as_of = at("2025-07-15T00:00:00Z");
        let fresh = LmsUsers {
            count: 1,
            latest_change: Some(as_of),
        };
        let mut e = ev(Ok(fresh));
        e.test_user_present = Ok(true);
        e.job = Some(Ok(JobLog {
            job_id: "cbc1eb01686664856111".into(),
            status: "Success".into(),
            failed_entities: 2,
            error_message: None,
        }));
        let codes: Vec<Code> = check("T", &e, as_of, 7).iter().map(|f| f.code).collect();
        assert_eq!(codes, [Code::SyncTestUserLeftover, Code::SyncJobFailed]);
        e.test_user_present = Ok(false);
        e.job = Some(Ok(JobLog {
            job_id: "j".into(),
            status: "Success".into(),
            failed_entities: 0,
            error_message: None,
        }));
        assert!(check("T", &e, as_of, 7).is_empty());
        let auth = ApiFailure::Auth {
            status: 401,
            detail: String::new(),
        };
        let e = SyncCalls {
            users: Err(auth.clone()),
            test_user_present: Err(auth),
            job: Some(Err(ApiFailure::Throttled { attempts: 4 })),
        };
        let codes: Vec<Code> = check("T", &e, as_of, 7).iter().map(|f| f.code).collect();
        assert_eq!(codes, [Code::ApiAuthFailed, Code::ApiThrottled]);
    }
}
