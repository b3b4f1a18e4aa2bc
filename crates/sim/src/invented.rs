//! Every shape the simulator had to invent because SAP does not document it (docs/sap-facts.md:
//! open gaps). Nothing here is an SAP fact; `docs/simulator.md` lists each item. Keeping them
//! in one place means a client written against the simulator knows exactly which parts of its
//! parsing are guesses.
//!
//! 1. The `startJob` response body and status.
//! 2. The contents of the job-log ZIP: file names and their JSON.
//! 3. The real-time provisioning payload rule and response bodies.
//! 4. How long a job started through the API runs before it reports `Success`.
//! 5. The IPS error body (the Applications API's shape is reused).

use crate::scenario::{EntityLog, JobSpec, JobStatistics, JobStatus};
use chrono::{DateTime, Datelike, Timelike, Utc};
use serde_json::{Value, json};
use std::io::Write as _;
use std::time::Duration;

/// How long a job started with `startJob` runs (simulated time) before it is `Success`.
pub(crate) const JOB_RUN_TIME: Duration = Duration::from_secs(30);

/// Status of a `startJob` answer: the job runs asynchronously, so `202 Accepted`.
pub(crate) const START_JOB_STATUS: u16 = 202;

/// The `startJob` answer.
pub(crate) fn start_job_response(job: &JobSpec) -> Value {
    json!({
        "jobId": job.id,
        "sourceSystemId": job.source_system_id,
        "jobType": job.job_type.as_str(),
        "triggerType": job.trigger_type.as_str(),
        "status": job.status.as_str(),
        "triggeredBy": job.triggered_by,
        "startTime": ts(job.start),
    })
}

/// The `triggeredBy` of a job started through the API (the UI's wording; docs/sap-facts.md: IPS
/// jobs).
pub(crate) fn triggered_by_api(client: &str) -> String {
    format!("Identity Provisioning API – {client}")
}

/// The log types `jobLogs` accepts (docs/sap-facts.md: IPS job logs, including the doc example's
/// `allErrorsLog`).
pub(crate) const LOG_TYPES: [&str; 7] = [
    "commonLog",
    "failedEntitiesLog",
    "skippedEntitiesLog",
    "createdEntitiesLog",
    "updatedEntitiesLog",
    "deletedEntitiesLog",
    "allErrorsLog",
];

fn ts(d: DateTime<Utc>) -> String {
    d.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The name of the one file in a job-log ZIP, after the UI's download names
/// (`ips_jobErrorLogs_<job ID>_<date>_<time>`).
pub(crate) fn log_file_name(job_id: &str, log_type: &str, at: DateTime<Utc>) -> String {
    let kind = match log_type {
        "commonLog" => "ips_jobCommonLogs",
        "failedEntitiesLog" => "ips_jobFailedEntitiesLogs",
        "skippedEntitiesLog" => "ips_jobSkippedEntitiesLogs",
        "createdEntitiesLog" => "ips_jobCreatedEntitiesLogs",
        "updatedEntitiesLog" => "ips_jobUpdatedEntitiesLogs",
        "deletedEntitiesLog" => "ips_jobDeletedEntitiesLogs",
        _ => "ips_jobErrorLogs",
    };
    format!("{kind}_{job_id}_{}.json", at.format("%Y%m%d_%H%M%S"))
}

fn stats_json(s: &JobStatistics) -> Value {
    json!({
        "entityType": s.entity_type, "system": s.system, "read": s.read, "created": s.created,
        "updated": s.updated, "deleted": s.deleted, "skipped": s.skipped, "failed": s.failed,
    })
}

fn entity_json(e: &EntityLog) -> Value {
    json!({
        "entityId": e.entity_id, "entityType": e.entity_type, "system": e.system,
        "operation": e.operation, "reason": e.reason,
    })
}

/// The JSON document of one log type.
pub(crate) fn log_document(job: &JobSpec, log_type: &str) -> Value {
    match log_type {
        "commonLog" => json!({
            "jobId": job.id,
            "sourceSystemId": job.source_system_id,
            "jobType": job.job_type.as_str(),
            "triggerType": job.trigger_type.as_str(),
            "readMode": job.read_mode.as_str(),
            "triggeredBy": job.triggered_by,
            "status": job.status.as_str(),
            "startTime": ts(job.start),
            "endTime": job.end.map(ts),
            "errorMessage": job.error_message,
            "restartedAsJobId": job.restarted_as,
            "statistics": job.statistics.iter().map(stats_json).collect::<Vec<_>>(),
        }),
        "failedEntitiesLog" | "allErrorsLog" => json!({
            "jobId": job.id,
            "logType": log_type,
            "entities": job.failed_entities.iter().map(entity_json).collect::<Vec<_>>(),
        }),
        "skippedEntitiesLog" => json!({
            "jobId": job.id,
            "logType": log_type,
            "entities": job.skipped_entities.iter().map(entity_json).collect::<Vec<_>>(),
        }),
        // Created/updated/deleted entities are not modelled one by one; the counts are in the
        // common log's statistics.
        _ => json!({"jobId": job.id, "logType": log_type, "entities": []}),
    }
}

/// The ZIP `jobLogs?action=export&logType=…` returns: one JSON file.
pub(crate) fn job_log_zip(
    job: &JobSpec,
    log_type: &str,
    at: DateTime<Utc>,
) -> Result<Vec<u8>, zip::result::ZipError> {
    let mut zw = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let mut opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    if let Ok(t) = zip::DateTime::from_date_and_time(
        u16::try_from(at.year()).unwrap_or(1980),
        at.month() as u8,
        at.day() as u8,
        at.hour() as u8,
        at.minute() as u8,
        at.second() as u8,
    ) {
        opts = opts.last_modified_time(t);
    }
    zw.start_file(log_file_name(&job.id, log_type, at), opts)?;
    let doc = serde_json::to_vec_pretty(&log_document(job, log_type)).unwrap_or_default();
    zw.write_all(&doc)?;
    Ok(zw.finish()?.into_inner())
}

/// A job started with `startJob` that has run `run` (`JOB_RUN_TIME`, scaled) is finished.
pub(crate) fn finish_started_job(job: &mut JobSpec, now: DateTime<Utc>, run: Duration) {
    if job.status != JobStatus::Running {
        return;
    }
    let Ok(run) = chrono::Duration::from_std(run) else {
        return;
    };
    if now >= job.start + run {
        job.status = JobStatus::Success;
        job.end = Some(job.start + run);
    }
}

/// What a real-time call did, as the real-time log vocabulary says it (docs/sap-facts.md: real-time
/// logs).
pub(crate) fn realtime_response(
    operation: &str,
    state: &str,
    entity_id: &str,
    user_uuid: Option<&str>,
) -> Value {
    let mut v = json!({
        "status": "Finished Successfully",
        "operation": operation,
        "state": state,
        "entityType": "user",
        "entityId": entity_id,
    });
    if let Some(u) = user_uuid {
        v["userUuid"] = u.into();
    }
    v
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::scenario::{JobType, ReadMode, TriggerType};
    use std::io::Read as _;

    fn job() -> JobSpec {
        JobSpec {
            id: "cbc1eb01686664856111".into(),
            source_system_id: "sys".into(),
            job_type: JobType::Read,
            trigger_type: TriggerType::Repeat,
            read_mode: ReadMode::Delta,
            status: JobStatus::FinishedWithError,
            start: DateTime::from_timestamp(1_750_000_000, 0).unwrap(),
            end: DateTime::from_timestamp(1_750_000_100, 0),
            triggered_by: "Identity Provisioning Internal API".into(),
            error_message: Some("2 entities failed".into()),
            statistics: vec![],
            failed_entities: vec![EntityLog {
                entity_id: "u1".into(),
                entity_type: "user".into(),
                system: "IAS.target".into(),
                operation: "CREATE".into(),
                reason: "boom".into(),
            }],
            skipped_entities: vec![],
            restarted_as: None,
        }
    }

    #[test]
    fn the_zip_holds_one_named_json_file() {
        let at = DateTime::from_timestamp(1_750_000_200, 0).unwrap();
        let bytes = job_log_zip(&job(), "failedEntitiesLog", at).unwrap();
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(z.len(), 1);
        let mut f = z.by_index(0).unwrap();
        assert_eq!(
            f.name().unwrap(),
            "ips_jobFailedEntitiesLogs_cbc1eb01686664856111_20250615_151000.json"
        );
        let mut s = String::new();
        f.read_to_string(&mut s).unwrap();
        let v: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["entities"][0]["reason"], "boom");
        let common = log_document(&job(), "commonLog");
        assert_eq!(common["status"], "Finished with Error");
    }
}
