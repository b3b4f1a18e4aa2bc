//! Prometheus metric families (docs/spec.md §11): what `serve` exposes on `/metrics` and what
//! `audit --format prom` writes to `audit.prom` for the node_exporter textfile collector.
//!
//! The families are encoded by `prometheus-client` through one [`Collector`] that walks the
//! report in inventory order, so the output is stable from scrape to scrape and no copy of the
//! fleet is held beside the report. `deploy/prometheus/example.prom` is a sample of this
//! output; `deploy/README.md` lists the families and their cardinality.
//!
//! Labels carry identifiers only. The one free-text column that becomes a label, `owner`, is
//! cleaned by [`owner_label`]: control characters removed, cut to [`OWNER_MAX_CHARS`]
//! characters.

use crate::result::AuditReport;
use chrono::{DateTime, Utc};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric as _};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use std::io::Write;
use std::sync::Arc;

/// The longest `owner` label value, in characters.
pub const OWNER_MAX_CHARS: usize = 64;

/// The content type of the Prometheus text format 0.0.4.
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The content type of the OpenMetrics text format 1.0.0.
pub const OPENMETRICS_TEXT: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// How the last run went: `mtls_audit_last_run_*`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LastRun {
    /// When it finished.
    pub finished: DateTime<Utc>,
    /// How long it took, in seconds; `None` when not known (a merged report), and then the
    /// duration family is left out.
    pub duration_seconds: Option<f64>,
    /// Whether it completed (an interrupted or failed run is `false`).
    pub success: bool,
}

/// Everything one exposition shows.
#[derive(Debug, Clone, Default)]
pub struct Exposition {
    /// The results of the last complete run; `None` before the first one (then only the run
    /// families are shown).
    pub report: Option<Arc<AuditReport>>,
    /// The last run, complete or not; `None` before the first one ends.
    pub last_run: Option<LastRun>,
    /// `mtls_audit_runs_total`: runs started since the process started (`serve` only; a report
    /// file of one run leaves it out).
    pub runs_total: Option<u64>,
    /// `mtls_audit_inventory_load_errors_total`: re-reads of the inventory (or of the files
    /// read with it) that failed and left the previous one in use (`serve` only).
    pub inventory_load_errors_total: Option<u64>,
}

impl Exposition {
    /// The families of one finished run, as `audit --format prom` writes them: the report,
    /// and `last_run_*` of this run (no `runs_total`: a file holds one run).
    pub fn of_run(report: Arc<AuditReport>, last_run: LastRun) -> Exposition {
        Exposition {
            report: Some(report),
            last_run: Some(last_run),
            runs_total: None,
            inventory_load_errors_total: None,
        }
    }

    fn registry(&self) -> Registry {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Families(self.clone())));
        registry
    }

    /// The Prometheus text format 0.0.4 ([`PROMETHEUS_TEXT`]).
    pub fn prometheus_text(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail; an encoder error would be a bug in a family.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry());
        out
    }

    /// The OpenMetrics text format ([`OPENMETRICS_TEXT`]), ending in `# EOF`.
    pub fn openmetrics(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry());
        out
    }
}

/// Writes `audit.prom`: the Prometheus text format of [`Exposition::of_run`].
pub fn write(report: &AuditReport, last_run: LastRun, w: &mut dyn Write) -> std::io::Result<()> {
    let e = Exposition::of_run(Arc::new(report.clone()), last_run);
    w.write_all(e.prometheus_text().as_bytes())
}

/// The `owner` label: the inventory's free text without control characters, cut to
/// [`OWNER_MAX_CHARS`] characters (quotes and backslashes are escaped by the encoder).
pub fn owner_label(owner: &str) -> String {
    owner
        .chars()
        .filter(|c| !c.is_control())
        .take(OWNER_MAX_CHARS)
        .collect()
}

/// A level as the `mtls_audit_tenant_risk` value: 0 OK … 4 FAILING.
fn risk_value(level: crate::findings::Level) -> i64 {
    use crate::findings::Level;
    match level {
        Level::Ok => 0,
        Level::Warn => 1,
        Level::Unknown => 2,
        Level::AtRisk => 3,
        Level::Failing => 4,
    }
}

const TENANT_RISK: &str = "mtls_audit_tenant_risk";
const TENANT_READY: &str = "mtls_audit_tenant_ready";
const NOT_AFTER: &str = "mtls_audit_certificate_not_after_timestamp_seconds";
const NOT_BEFORE: &str = "mtls_audit_certificate_not_before_timestamp_seconds";
const FINDING: &str = "mtls_audit_finding";
const TENANTS: &str = "mtls_audit_tenants";
const INVENTORY_ERRORS: &str = "mtls_audit_inventory_errors";
const CUTOVER: &str = "mtls_audit_cutover_timestamp_seconds";
const DEADLINE: &str = "mtls_audit_deadline_timestamp_seconds";
const LAST_RUN_TIMESTAMP: &str = "mtls_audit_last_run_timestamp_seconds";
const LAST_RUN_DURATION: &str = "mtls_audit_last_run_duration_seconds";
const LAST_RUN_SUCCESS: &str = "mtls_audit_last_run_success";
// Counters are registered without `_total`: the encoder adds it.
const RUNS: &str = "mtls_audit_runs";
const INVENTORY_LOAD_ERRORS: &str = "mtls_audit_inventory_load_errors";

/// The collector: every family, in a fixed order, tenants in inventory order.
#[derive(Debug)]
struct Families(Exposition);

fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, v: impl Into<Value>) -> Fmt {
    let m = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    match v.into() {
        Value::Int(i) => ConstGauge::new(i).encode(m),
        Value::Float(f) => ConstGauge::new(f).encode(m),
    }
}

type Fmt = Result<(), std::fmt::Error>;

enum Value {
    Int(i64),
    Float(f64),
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Float(v)
    }
}

impl Collector for Families {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Fmt {
        let e = &self.0;
        if let Some(r) = &e.report {
            encode_report(&mut encoder, r)?;
        }
        if let Some(run) = &e.last_run {
            gauge(
                &mut encoder,
                LAST_RUN_TIMESTAMP,
                "Time the last audit run finished, as a Unix timestamp.",
                run.finished.timestamp(),
            )?;
            if let Some(d) = run.duration_seconds {
                gauge(
                    &mut encoder,
                    LAST_RUN_DURATION,
                    "Duration of the last audit run.",
                    d,
                )?;
            }
            gauge(
                &mut encoder,
                LAST_RUN_SUCCESS,
                "1 when the last audit run completed, 0 when it failed or was interrupted.",
                i64::from(run.success),
            )?;
        }
        if let Some(n) = e.runs_total {
            let m = encoder.encode_descriptor(
                RUNS,
                "Audit runs started since the process started.",
                None,
                MetricType::Counter,
            )?;
            ConstCounter::new(n).encode(m)?;
        }
        if let Some(n) = e.inventory_load_errors_total {
            let m = encoder.encode_descriptor(
                INVENTORY_LOAD_ERRORS,
                "Re-reads of the inventory (and the files read with it) that failed; the previous inventory stays in use.",
                None,
                MetricType::Counter,
            )?;
            ConstCounter::new(n).encode(m)?;
        }
        Ok(())
    }
}

fn encode_report(encoder: &mut DescriptorEncoder, r: &AuditReport) -> Fmt {
    {
        let mut m = encoder.encode_descriptor(
            TENANT_RISK,
            "Risk of the tenant, its highest finding level: 0 OK, 1 WARN, 2 UNKNOWN, 3 AT_RISK, 4 FAILING.",
            None,
            MetricType::Gauge,
        )?;
        for t in &r.tenants {
            let owner = owner_label(&t.owner);
            let labels = [
                ("tenant_id", t.tenant_id.as_str()),
                ("ips_type", t.ips_type.as_str()),
                ("environment", t.environment.as_str()),
                ("owner", owner.as_str()),
            ];
            ConstGauge::new(risk_value(t.risk)).encode(m.encode_family(&labels)?)?;
        }
    }
    {
        let mut m = encoder.encode_descriptor(
            TENANT_READY,
            "Readiness of the tenant for the certificate cutover: 1 ready, 0 not ready (no series when unknown).",
            None,
            MetricType::Gauge,
        )?;
        for t in &r.tenants {
            use crate::result::ReadinessState;
            let v: i64 = match t.readiness.state {
                ReadinessState::Ready => 1,
                ReadinessState::NotReady => 0,
                ReadinessState::Unknown => continue,
            };
            let labels = [("tenant_id", t.tenant_id.as_str())];
            ConstGauge::new(v).encode(m.encode_family(&labels)?)?;
        }
    }
    for (name, help, after) in [
        (
            NOT_AFTER,
            "End of validity (notAfter) of the tenant's certificate, as a Unix timestamp.",
            true,
        ),
        (
            NOT_BEFORE,
            "Start of validity (notBefore) of the tenant's certificate, as a Unix timestamp.",
            false,
        ),
    ] {
        let mut m = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
        for t in &r.tenants {
            for c in &t.certificates {
                let at = if after {
                    c.cert.not_after
                } else {
                    c.cert.not_before
                };
                let labels = [
                    ("tenant_id", t.tenant_id.as_str()),
                    ("target", c.target.as_str()),
                ];
                ConstGauge::new(at.timestamp()).encode(m.encode_family(&labels)?)?;
            }
        }
    }
    {
        let mut m = encoder.encode_descriptor(
            FINDING,
            "One series per finding of the tenant (value 1).",
            None,
            MetricType::Gauge,
        )?;
        for t in &r.tenants {
            // The same code on the same target twice would be one series twice: shown once.
            let mut seen: Vec<(crate::findings::Code, crate::findings::Target)> = Vec::new();
            for f in &t.findings {
                if seen.contains(&(f.code, f.target)) {
                    continue;
                }
                seen.push((f.code, f.target));
                let labels = [
                    ("tenant_id", t.tenant_id.as_str()),
                    ("code", f.code.as_str()),
                    ("target", f.target.as_str()),
                    ("level", f.level.as_str()),
                ];
                ConstGauge::new(1i64).encode(m.encode_family(&labels)?)?;
            }
        }
    }
    {
        let mut m = encoder.encode_descriptor(
            TENANTS,
            "Number of tenants at each risk level in the last run.",
            None,
            MetricType::Gauge,
        )?;
        for level in crate::findings::Level::ALL {
            let n = r.summary.by_risk.get(&level).copied().unwrap_or(0);
            let labels = [("risk", level.as_str())];
            ConstGauge::new(i64::try_from(n).unwrap_or(i64::MAX))
                .encode(m.encode_family(&labels)?)?;
        }
    }
    gauge(
        encoder,
        INVENTORY_ERRORS,
        "Number of inventory rows that could not be audited in the last run.",
        i64::try_from(r.summary.inventory_errors).unwrap_or(i64::MAX),
    )?;
    if let Some(c) = r.cutover {
        gauge(
            encoder,
            CUTOVER,
            "Date from which LMS presents the next certificate (--cutover), as a Unix timestamp.",
            c.timestamp(),
        )?;
    }
    if let Some(d) = r.deadline {
        gauge(
            encoder,
            DEADLINE,
            "Deadline of the certificate rollover (--deadline), as a Unix timestamp.",
            d.timestamp(),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_label_drops_control_characters_and_cuts() {
        assert_eq!(owner_label("HR IT,\n EMEA\u{7}"), "HR IT, EMEA");
        assert_eq!(
            owner_label(&"é".repeat(100)).chars().count(),
            OWNER_MAX_CHARS
        );
        assert_eq!(owner_label("say \"hi\" \\o/"), "say \"hi\" \\o/");
    }

    #[test]
    fn run_families_without_a_report() {
        let e = Exposition {
            report: None,
            last_run: None,
            runs_total: Some(0),
            inventory_load_errors_total: Some(0),
        };
        let text = e.prometheus_text();
        assert!(text.contains("# TYPE mtls_audit_runs_total counter\nmtls_audit_runs_total 0\n"));
        assert!(!text.contains("tenant_risk"));
        let om = e.openmetrics();
        assert!(om.contains("# TYPE mtls_audit_runs counter\nmtls_audit_runs_total 0\n"));
        assert!(om.ends_with("# EOF\n"));
    }
}
