//! The history's schema and its forward migrations. `PRAGMA user_version` is the schema version;
//! `PRAGMA application_id` marks the file as an mtls-audit history. A migration only ever goes
//! forward, inside the transaction that sets the new version, so a database is always at one
//! version or the next, never in between.

/// `PRAGMA application_id` of a history file: "mtls" in ASCII.
pub const APPLICATION_ID: i64 = 0x6D74_6C73;

/// The schema version this build writes and reads.
pub const CURRENT: i64 = 3;

/// Version 1, the first schema and the starting point of every migration: runs, their tenants,
/// the tenants' findings and certificates. Kept as written then, so tests can build a
/// version-1 file and open it with the current code.
pub const SCHEMA_V1: &str = "
PRAGMA application_id = 1836346483;
CREATE TABLE run (
    id INTEGER PRIMARY KEY,
    as_of TEXT NOT NULL,                -- RFC 3339, UTC
    deadline TEXT,
    cutover TEXT,
    settings TEXT NOT NULL,             -- the run's settings as in audit.json (JSON)
    inventory TEXT NOT NULL,            -- the inventory as given on the command line
    tool_name TEXT NOT NULL,
    tool_version TEXT NOT NULL,
    complete INTEGER NOT NULL CHECK (complete IN (0, 1)),
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    inventory_errors INTEGER NOT NULL
);
CREATE TABLE tenant (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES run(id),
    line INTEGER NOT NULL,
    tenant_id TEXT NOT NULL,
    ips_type TEXT NOT NULL,             -- neo | converged
    environment TEXT NOT NULL,          -- preview | production
    owner TEXT NOT NULL,
    owner_email TEXT NOT NULL,          -- ';'-separated
    risk TEXT NOT NULL,                 -- OK | WARN | UNKNOWN | AT_RISK | FAILING
    readiness TEXT NOT NULL,            -- ready | not_ready | unknown
    readiness_source TEXT NOT NULL,     -- probe | evidence | none
    place_ias_admin_record TEXT,        -- accepted | rejected | unknown; NULL: not required
    place_ips_inbound TEXT
);
CREATE INDEX tenant_run ON tenant(run_id);
CREATE TABLE finding (
    tenant INTEGER NOT NULL REFERENCES tenant(id),
    code TEXT NOT NULL,
    target TEXT NOT NULL,
    level TEXT NOT NULL
);
CREATE INDEX finding_tenant ON finding(tenant);
CREATE TABLE certificate (
    tenant INTEGER NOT NULL REFERENCES tenant(id),
    target TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    sha1 TEXT NOT NULL,
    not_after TEXT NOT NULL,
    reference_match INTEGER             -- 1, 0, or NULL when no reference was given
);
CREATE INDEX certificate_tenant ON certificate(tenant);
";

/// Version 2, found while building `trend` and `notify`:
///
/// - `run_group`: each run's counts per group (the fleet, each owner, environment and IPS
///   type), written with the run. `trend` and `history` read these few rows instead of grouping
///   every tenant of every run (50 runs of 10,000 tenants: see BENCHMARKS.md). Runs of version
///   1 files are counted into it by the migration.
/// - `notification`: what `notify --history` sent to whom, so the same content is not sent to
///   the same address again within `--resend-after`.
pub const MIGRATION_V2: &str = "
CREATE TABLE run_group (
    run_id INTEGER NOT NULL REFERENCES run(id),
    dimension TEXT NOT NULL,            -- all | owner | environment | ips_type
    grp TEXT NOT NULL,                  -- 'all', the owner, the environment or the IPS type
    tenants INTEGER NOT NULL,
    ready INTEGER NOT NULL,
    not_ready INTEGER NOT NULL,
    readiness_unknown INTEGER NOT NULL,
    risk_ok INTEGER NOT NULL,
    risk_warn INTEGER NOT NULL,
    risk_unknown INTEGER NOT NULL,
    risk_at_risk INTEGER NOT NULL,
    risk_failing INTEGER NOT NULL,
    PRIMARY KEY (run_id, dimension, grp)
) WITHOUT ROWID;
CREATE TABLE notification (
    id INTEGER PRIMARY KEY,
    sent_at TEXT NOT NULL,              -- RFC 3339, UTC
    address TEXT NOT NULL,
    owner TEXT NOT NULL,
    content_hash TEXT NOT NULL,         -- SHA-256 of the message content without dates
    subject TEXT NOT NULL,
    audit_as_of TEXT NOT NULL,
    tenants INTEGER NOT NULL
);
CREATE INDEX notification_sent ON notification(address, content_hash, sent_at);
";

/// Version 3, for the cost of recording a run (a 100,000-tenant run wrote half a million rows;
/// BENCHMARKS.md): a tenant's findings and certificates are two JSON columns of its row instead
/// of a row each in `finding` and `certificate`. The same facts, a quarter of the rows, still
/// queryable with SQLite's JSON functions (`SELECT … FROM tenant, json_each(tenant.findings)`).
///
/// - `findings`: `[[code, target, level], …]`
/// - `certificates`: `[[target, sha256, sha1, not_after, reference_match], …]`, reference_match
///   1, 0 or null as before.
pub const MIGRATION_V3: &str = "
ALTER TABLE tenant ADD COLUMN findings TEXT NOT NULL DEFAULT '[]';
ALTER TABLE tenant ADD COLUMN certificates TEXT NOT NULL DEFAULT '[]';
UPDATE tenant SET
    findings = (SELECT json_group_array(json_array(f.code, f.target, f.level))
                FROM finding f WHERE f.tenant = tenant.id),
    certificates = (SELECT json_group_array(json_array(c.target, c.sha256, c.sha1, c.not_after,
                        c.reference_match))
                    FROM certificate c WHERE c.tenant = tenant.id);
DROP TABLE finding;
DROP TABLE certificate;
";

/// The SELECT list that counts a group of `tenant` rows into `run_group`'s columns.
const COUNTS: &str = "count(*),
    sum(readiness = 'ready'), sum(readiness = 'not_ready'), sum(readiness = 'unknown'),
    sum(risk = 'OK'), sum(risk = 'WARN'), sum(risk = 'UNKNOWN'), sum(risk = 'AT_RISK'),
    sum(risk = 'FAILING')";

/// The SQL that takes a database from version `from` to `from + 1`.
pub(super) fn migration(from: i64) -> Option<String> {
    match from {
        0 => Some(SCHEMA_V1.to_string()),
        1 => {
            let mut sql = MIGRATION_V2.to_string();
            // Every run of a version-1 file counted into run_group, as `append` does now.
            sql.push_str(
                "INSERT INTO run_group SELECT r.id, 'all', 'all', count(t.id),
                    coalesce(sum(t.readiness = 'ready'), 0), coalesce(sum(t.readiness = 'not_ready'), 0),
                    coalesce(sum(t.readiness = 'unknown'), 0), coalesce(sum(t.risk = 'OK'), 0),
                    coalesce(sum(t.risk = 'WARN'), 0), coalesce(sum(t.risk = 'UNKNOWN'), 0),
                    coalesce(sum(t.risk = 'AT_RISK'), 0), coalesce(sum(t.risk = 'FAILING'), 0)
                 FROM run r LEFT JOIN tenant t ON t.run_id = r.id GROUP BY r.id;\n",
            );
            for column in ["owner", "environment", "ips_type"] {
                sql.push_str(&format!(
                    "INSERT INTO run_group SELECT run_id, '{column}', {column}, {COUNTS}
                     FROM tenant GROUP BY run_id, {column};\n"
                ));
            }
            Some(sql)
        }
        2 => Some(MIGRATION_V3.to_string()),
        _ => None,
    }
}
