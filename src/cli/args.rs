//! Arguments shared by several subcommands, and their parsers. Raw values are parsed here with
//! no I/O; turning them into settings (reading reference certificates) happens in `settings`.

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, Utc};
use clap::Args;
use mtls_audit::audit::load_references;
use mtls_audit::checks::cert::Policy;
use mtls_audit::findings::Level;
use mtls_audit::inputs::InputLimits;
use std::path::PathBuf;

/// `YYYY-MM-DD` (00:00:00 UTC) or RFC 3339.
pub(super) fn parse_date(s: &str) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d
            .and_hms_opt(0, 0, 0)
            .map(|dt| dt.and_utc())
            .ok_or_else(|| format!("'{s}' is out of range"));
    }
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| {
            format!(
                "'{s}' is neither a date (2025-08-07) nor an RFC 3339 time (2025-08-07T12:00:00Z)"
            )
        })
}

/// `--fail-on`: a level, or `never` (no level fails the run). A newtype because clap treats a
/// bare `Option` field as "flag may be absent".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FailOn(pub Option<Level>);

/// A level for `--fail-on`, or `never` to always exit 0 on findings.
pub(super) fn parse_fail_on(s: &str) -> Result<FailOn, String> {
    if matches!(s.trim().to_ascii_lowercase().as_str(), "never" | "none") {
        return Ok(FailOn(None));
    }
    Level::parse(s).map(|l| FailOn(Some(l))).ok_or_else(|| {
        format!("'{s}' is not a level (OK, WARN, UNKNOWN, AT_RISK, FAILING or never)")
    })
}

pub(super) fn parse_days(s: &str) -> Result<i64, String> {
    let n: i64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a whole number of days"))?;
    if !(0..=36_500).contains(&n) {
        return Err(format!("{n} is out of range (0 to 36500 days)"));
    }
    Ok(n)
}

pub(super) fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("'{s}' is not a duration like 10s or 500ms: {e}"))
}

pub(super) fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "\\t" | "tab" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => Err(format!("'{s}' is not a single ASCII character")),
    }
}

/// A size such as `512`, `64KiB`, `16MiB` or `2GiB`.
pub(super) fn parse_size_arg(s: &str) -> Result<u64, String> {
    mtls_audit::inputs::parse_size(s)
        .ok_or_else(|| format!("'{s}' is not a size like 16MiB, 512KiB or 2GiB"))
}

/// How much of each kind of input is read (docs/spec.md §12): a larger file, a FIFO or a device
/// is refused at once, naming the file, the limit and the option that raises it.
#[derive(Debug, Clone, Args)]
pub(crate) struct InputArgs {
    /// Largest inventory CSV read [default: 256MiB]
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
    pub max_inventory_size: Option<u64>,
    /// Largest certificate file read (evidence, --reference-cert) [default: 16MiB]
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
    pub max_cert_size: Option<u64>,
    /// Largest configuration file read (credentials, secret and key files, --ca-cert) [default: 16MiB]
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
    pub max_config_size: Option<u64>,
}

impl InputArgs {
    /// The limits of this run.
    pub(crate) fn limits(&self) -> InputLimits {
        let d = InputLimits::default();
        InputLimits {
            inventory: self.max_inventory_size.unwrap_or(d.inventory),
            cert: self.max_cert_size.unwrap_or(d.cert),
            config: self.max_config_size.unwrap_or(d.config),
            report: d.report,
        }
    }
}

/// The certificate options `audit` and `inspect` share.
#[derive(Debug, Clone, Args)]
pub(crate) struct CertArgs {
    /// The new LMS certificate: PEM, DER, .cer/.crt, .p7b or a .zip holding them (e.g. SAP's
    /// cer.zip as downloaded). Repeatable
    #[arg(long = "reference-cert", value_name = "FILE")]
    pub reference_cert: Vec<PathBuf>,
    /// Judge as of this date or RFC 3339 time [default: now]
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub as_of: Option<DateTime<Utc>>,
    /// Certificates expiring before this date are AT_RISK (CERT_EXPIRES_BEFORE_DEADLINE)
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub deadline: Option<DateTime<Utc>>,
    /// From this date LMS presents the new certificate: CERT_NOT_REFERENCE becomes FAILING
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub cutover: Option<DateTime<Utc>>,
    /// CERT_EXPIRES_SOON when days_left <= N
    #[arg(long, value_name = "N", default_value = "30", value_parser = parse_days)]
    pub warn_days: i64,
    /// CERT_EXPIRES_CRITICAL when days_left <= N
    #[arg(long, value_name = "N", default_value = "14", value_parser = parse_days)]
    pub critical_days: i64,
    /// Exit 1 when a tenant's risk is at or above LEVEL (OK, WARN, UNKNOWN, AT_RISK, FAILING,
    /// never)
    #[arg(long, value_name = "LEVEL", default_value = "AT_RISK", value_parser = parse_fail_on)]
    pub fail_on: FailOn,
    /// Do not fail the run because of UNKNOWN (checks that could not run)
    #[arg(long)]
    pub allow_unknown: bool,
}

impl CertArgs {
    /// Reads the reference certificates and builds the policy. `as_of` is truncated to whole
    /// seconds so reports show clean RFC 3339 times.
    pub(crate) fn policy(&self, limits: &InputLimits) -> anyhow::Result<Policy> {
        let as_of = match self.as_of {
            Some(d) => d,
            None => {
                let now = Utc::now();
                DateTime::from_timestamp(now.timestamp(), 0).context("the clock is out of range")?
            }
        };
        if self.critical_days > self.warn_days {
            anyhow::bail!(
                "--critical-days ({}) is more than --warn-days ({}); critical is the nearer threshold",
                self.critical_days,
                self.warn_days
            );
        }
        let references = load_references(&self.reference_cert, &limits.certificates())?;
        Ok(Policy {
            as_of,
            deadline: self.deadline,
            cutover: self.cutover,
            warn_days: self.warn_days,
            critical_days: self.critical_days,
            references,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_as_utc_midnight_or_rfc3339() {
        assert_eq!(
            parse_date("2025-08-07").unwrap().to_rfc3339(),
            "2025-08-07T00:00:00+00:00"
        );
        assert_eq!(
            parse_date("2025-08-07T02:00:00+02:00")
                .unwrap()
                .to_rfc3339(),
            "2025-08-07T00:00:00+00:00"
        );
        assert!(parse_date("07.08.2025").is_err());
    }

    #[test]
    fn fail_on_accepts_never() {
        assert_eq!(parse_fail_on("never").unwrap(), FailOn(None));
        assert_eq!(parse_fail_on("warn").unwrap(), FailOn(Some(Level::Warn)));
        assert!(parse_fail_on("bad").is_err());
    }
}

/// An LMS client identity, when given.
pub(crate) type Identity = Option<std::sync::Arc<mtls_audit::net::ClientIdentity>>;

/// Network options shared by `audit` and `inspect`.
#[derive(Debug, Clone, Args)]
pub(crate) struct NetArgs {
    /// Timeout of each request (connect, TLS and response)
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
    /// Retries of a request after a connection error, 429 or 5xx (jittered exponential backoff;
    /// Retry-After is honoured)
    #[arg(long, value_name = "N", default_value = "3")]
    pub retries: u32,
    /// The LMS client certificate (enables the mTLS acceptance probes)
    #[arg(long, value_name = "FILE", requires = "lms_key")]
    pub lms_cert: Option<PathBuf>,
    /// The LMS client certificate's private key (PEM, unencrypted)
    #[arg(long, value_name = "FILE", requires = "lms_cert")]
    pub lms_key: Option<PathBuf>,
    /// The next LMS client certificate, which LMS presents from --cutover: every mTLS probe
    /// also runs with it, for readiness (MTLS_NEXT_REJECTED)
    #[arg(long, value_name = "FILE", requires = "next_lms_key")]
    pub next_lms_cert: Option<PathBuf>,
    /// The next LMS client certificate's private key (PEM, unencrypted)
    #[arg(long, value_name = "FILE", requires = "next_lms_cert")]
    pub next_lms_key: Option<PathBuf>,
    /// An extra trust anchor for servers (PEM), e.g. the simulator's CA
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Send every connection to HOST:PORT, keeping the URL's host name for SNI and Host
    #[arg(long, value_name = "HOST:PORT")]
    pub connect_to: Option<String>,
    /// Accept any server certificate in API calls (the server TLS check still reports it)
    #[arg(long)]
    pub insecure: bool,
    /// Requests in flight at once to one resolved address, whatever host names share it (a
    /// front end in front of many tenants; every host with --connect-to)
    #[arg(long, value_name = "N", default_value_t = mtls_audit::net::NetConfig::default().per_address)]
    pub per_address: usize,
}

impl NetArgs {
    /// The network layer's settings and the LMS identity. Problems with files the user named
    /// are errors; warnings (a key readable by others) go to stderr.
    pub(crate) fn config(
        &self,
        concurrency: usize,
        limits: &InputLimits,
    ) -> anyhow::Result<(mtls_audit::net::NetConfig, Identity, Identity)> {
        use mtls_audit::net::{
            ClientIdentity, ConnectTo, NetConfig, RetryPolicy, trust::read_ca_file,
        };
        let connect_to = self
            .connect_to
            .as_deref()
            .map(ConnectTo::parse)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--connect-to: {e}"))?;
        let extra_ca = match &self.ca_cert {
            Some(p) => read_ca_file(p, limits).map_err(|e| anyhow::anyhow!("--ca-cert: {e}"))?,
            None => Vec::new(),
        };
        let lms = match (&self.lms_cert, &self.lms_key) {
            (Some(c), Some(k)) => {
                let id = ClientIdentity::from_files("LMS", c, k, limits)
                    .map_err(|e| anyhow::anyhow!("--lms-cert/--lms-key: {e}"))?;
                for w in id.warnings() {
                    eprintln!("warning: {w}");
                }
                Some(std::sync::Arc::new(id))
            }
            _ => None,
        };
        // The next identity is refused before any tenant is contacted when its key does not
        // match its certificate (from_files checks) or when it is the current one again.
        let next = match (&self.next_lms_cert, &self.next_lms_key) {
            (Some(c), Some(k)) => {
                let id = ClientIdentity::from_files("next LMS", c, k, limits)
                    .map_err(|e| anyhow::anyhow!("--next-lms-cert/--next-lms-key: {e}"))?;
                for w in id.warnings() {
                    eprintln!("warning: {w}");
                }
                if let (Some(current), Some(current_file)) = (&lms, &self.lms_cert)
                    && current.fingerprint() == id.fingerprint()
                {
                    anyhow::bail!(
                        "--next-lms-cert {} is the same certificate as --lms-cert {}: the next identity must be the certificate LMS presents from the cutover",
                        c.display(),
                        current_file.display()
                    );
                }
                Some(std::sync::Arc::new(id))
            }
            _ => None,
        };
        if concurrency == 0 {
            anyhow::bail!("--concurrency must be at least 1");
        }
        if self.per_address == 0 {
            anyhow::bail!("--per-address must be at least 1");
        }
        let cfg = NetConfig {
            offline: false,
            timeout: self.timeout,
            retry: RetryPolicy {
                retries: self.retries,
                ..RetryPolicy::default()
            },
            concurrency,
            per_address: self.per_address,
            connect_to,
            extra_ca,
            insecure: self.insecure,
            lms_identity: lms.clone(),
            ..NetConfig::default()
        };
        Ok((cfg, lms, next))
    }
}
