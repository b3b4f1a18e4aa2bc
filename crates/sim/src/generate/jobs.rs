//! The last IPS job of a generated tenant's LMS source system (only converged tenants expose
//! job logs; NEO tenants keep none).

use super::seeded::{day, hex};
use super::systems::LMS_SYSTEM_NAME;
use crate::scenario::{
    EntityLog, JobSpec, JobStatistics, JobStatus, JobType, ReadMode, TriggerType,
};
use chrono::{DateTime, Duration, Utc};

/// A scheduled delta read that ran two hours ago; on `job_failed` it finished with two failed
/// entities.
pub(crate) fn last_job(
    name: &str,
    lms_system_id: &str,
    lms_users: usize,
    today: DateTime<Utc>,
    rng: &mut fastrand::Rng,
) -> JobSpec {
    let id = hex(rng, 10);
    let read_count = lms_users as u64 + rng.u64(0..20);
    let failed = if name == "job_failed" { 2 } else { 0 };
    let start = day(today, 0, rng) - Duration::hours(2);
    JobSpec {
        id,
        source_system_id: lms_system_id.to_string(),
        job_type: JobType::Read,
        trigger_type: TriggerType::Repeat,
        read_mode: ReadMode::Delta,
        status: if failed > 0 {
            JobStatus::FinishedWithError
        } else {
            JobStatus::Success
        },
        start,
        end: Some(start + Duration::minutes(3 + rng.i64(0..10))),
        triggered_by: "Identity Provisioning Internal API".to_string(),
        error_message: (failed > 0).then(|| format!("{failed} entities failed to be provisioned")),
        statistics: statistics(read_count, failed, rng),
        failed_entities: (0..failed).map(failed_entity).collect(),
        skipped_entities: Vec::new(),
        restarted_as: None,
    }
}

/// What the LMS source read and what the IAS target did with it.
fn statistics(read_count: u64, failed: u64, rng: &mut fastrand::Rng) -> Vec<JobStatistics> {
    vec![
        JobStatistics {
            entity_type: "user".to_string(),
            system: format!("{LMS_SYSTEM_NAME}.source"),
            read: read_count,
            created: 0,
            updated: 0,
            deleted: 0,
            skipped: 0,
            failed: 0,
        },
        JobStatistics {
            entity_type: "user".to_string(),
            system: "Identity Authentication.target".to_string(),
            read: 0,
            created: rng.u64(0..3),
            updated: rng.u64(0..5),
            deleted: 0,
            skipped: read_count / 4,
            failed,
        },
    ]
}

/// The `k`-th failed entity: a duplicate user name, then an invalid e-mail address.
fn failed_entity(k: u64) -> EntityLog {
    EntityLog {
        entity_id: format!("lmsuser{}", 100 + k),
        entity_type: "user".to_string(),
        system: "IAS.target".to_string(),
        operation: "CREATE".to_string(),
        reason: if k == 0 {
            "HTTP 409 Conflict: User with userName already exists".to_string()
        } else {
            "HTTP 400 Bad Request: emails[0].value is not a valid e-mail address".to_string()
        },
    }
}
