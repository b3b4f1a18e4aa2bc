//! `mtls-audit notify AUDIT_JSON --from ADDRESS (--smtp URL | --dry-run DIR)`: one e-mail per
//! owner address with that owner's tenants at or above `--min-level` and what to do
//! (docs/spec.md §10).

use super::Exit;
use super::args::{parse_duration, parse_size_arg};
use anyhow::Context as _;
use chrono::Utc;
use clap::Args;
use mtls_audit::findings::Level;
use mtls_audit::history::{History, Open, Sent};
use mtls_audit::inputs::InputLimits;
use mtls_audit::net::Secret;
use mtls_audit::notify;
use mtls_audit::notify::compose::{self, Unmailable};
use mtls_audit::notify::mail::{self, Composed};
use mtls_audit::notify::smtp::{Outcome, Sender, SmtpConfig, SmtpUrl};
use mtls_audit::report::terminal_line;
use mtls_audit::result::AuditReport;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `--rate N/min` (also `N/s`, `N/h`; a bare N is per minute): the least time between two
/// messages.
fn parse_rate(s: &str) -> Result<Duration, String> {
    let (n, per) = match s.trim().split_once('/') {
        Some((n, unit)) => (
            n,
            match unit.trim().to_ascii_lowercase().as_str() {
                "s" | "sec" | "second" => 1,
                "m" | "min" | "minute" => 60,
                "h" | "hour" => 3600,
                other => return Err(format!("'{other}' is not s, min or h")),
            },
        ),
        None => (s, 60),
    };
    let n: u32 = n
        .trim()
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("'{s}' is not a rate like 30/min"))?;
    Ok(Duration::from_secs(per) / n)
}

fn parse_level(s: &str) -> Result<Level, String> {
    Level::parse(s)
        .ok_or_else(|| format!("'{s}' is not a level (OK, WARN, UNKNOWN, AT_RISK, FAILING)"))
}

#[derive(Debug, Args)]
#[command(
    group(clap::ArgGroup::new("how").required(true).args(["smtp", "dry_run"])),
    after_help = "Each owner address (inventory column owner_email; several separated by ';') gets one \
message listing its tenants whose risk is at or above --min-level, with the deadline, the \
cutover, readiness and the steps per tenant, as text and HTML. Owners with nothing at or above \
the level get no mail. The SMTP password is read from the SMTP_PASSWORD environment variable \
only; it is never printed.\n\n\
Exit codes: 0 every message went out (or was written); 1 a message was refused or failed, or \
an owner at or above the level has no address or one that is not an address (the others are \
still sent); 2 the tool could not do its job (unreadable or incomplete audit.json, bad options)."
)]
pub(crate) struct NotifyArgs {
    /// The audit.json of the run to notify about
    #[arg(value_name = "AUDIT_JSON")]
    pub audit: PathBuf,
    /// The sender, e.g. 'mTLS campaign <campaign@example.com>'
    #[arg(long, value_name = "ADDRESS")]
    pub from: String,
    /// The SMTP server: smtp://HOST:PORT (STARTTLS when offered) or smtps://HOST:PORT
    #[arg(long, value_name = "URL")]
    pub smtp: Option<String>,
    /// Write one .eml file per message into DIR (replacing an earlier dry run's) and send
    /// nothing
    #[arg(long, value_name = "DIR")]
    pub dry_run: Option<PathBuf>,
    /// Mail tenants whose risk is at or above LEVEL
    #[arg(long, value_name = "LEVEL", default_value = "AT_RISK", value_parser = parse_level)]
    pub min_level: Level,
    /// Log in as USER (the password comes from SMTP_PASSWORD); requires TLS
    #[arg(long, value_name = "USER")]
    pub smtp_user: Option<String>,
    /// Refuse a server that does not offer STARTTLS, even without a login
    #[arg(long)]
    pub require_tls: bool,
    /// An extra trust anchor for the SMTP server's certificate (PEM)
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// At most this many messages a minute (also N/s, N/h)
    #[arg(long, value_name = "N/min", default_value = "30/min", value_parser = parse_rate)]
    pub rate: Duration,
    /// Retries of a message the server answers with 4xx
    #[arg(long, value_name = "N", default_value = "3")]
    pub retries: u32,
    /// The first wait before such a retry; it doubles each time
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    pub retry_delay: Duration,
    /// Timeout of each SMTP command
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Record what was sent in this history file (audit --history) and skip messages whose
    /// content was sent to the same address within --resend-after
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// With --history: send the same content to the same address again only after this long
    #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = parse_duration)]
    pub resend_after: Duration,
    /// Notify even about an interrupted audit (complete: false)
    #[arg(long)]
    pub allow_incomplete: bool,
    /// Largest audit.json read [default: 2GiB]
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
    pub max_report_size: Option<u64>,
    /// Largest --ca-cert file read [default: 16MiB]
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
    pub max_config_size: Option<u64>,
}

/// Reads the audit. Typed rather than leniently like `diff`: a mail tells an owner exactly what
/// to do, so the levels, the readiness and the steps must be what this version of the tool
/// wrote and understands; a file it cannot read whole is refused (exit 2) instead of mailing
/// guesses. Fields added by later versions are ignored, missing optional ones default.
fn read_audit(path: &Path, limits: &InputLimits) -> anyhow::Result<AuditReport> {
    let bytes = mtls_audit_input::read_file(path, &limits.report())?;
    serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{}: not an audit.json this mtls-audit can read (use the version that wrote it)",
            path.display()
        )
    })
}

/// Counts for the closing line and the exit code.
#[derive(Debug, Default)]
struct Tally {
    sent: usize,
    written: usize,
    unchanged: usize,
    refused: usize,
    failed: usize,
    unmailable: usize,
}

pub(super) fn run(args: NotifyArgs) -> anyhow::Result<Exit> {
    let mut limits = InputLimits::default();
    if let Some(max) = args.max_report_size {
        limits.report = max;
    }
    if let Some(max) = args.max_config_size {
        limits.config = max;
    }
    let from = compose::parse_address(&args.from).ok_or_else(|| {
        anyhow::anyhow!(
            "--from '{}' is not an e-mail address",
            terminal_line(&args.from, 200)
        )
    })?;
    let report = read_audit(&args.audit, &limits)?;
    if !report.complete && !args.allow_incomplete {
        anyhow::bail!(
            "{} is an interrupted audit (complete: false): its tenants' checks did not all finish; audit again, or pass --allow-incomplete",
            args.audit.display()
        );
    }
    let sender = match &args.smtp {
        Some(url) => Some(smtp_config(&args, url, &limits)?),
        None => None,
    };
    let mut history = match &args.history {
        Some(p) => Some(History::open(p, Open::Create)?),
        None => None,
    };
    let plan = compose::plan(&report, args.min_level);
    let mut tally = Tally::default();
    let mut outgoing: Vec<(Composed, lettre::Message)> = Vec::new();
    for r in &plan.recipients {
        let c = mail::compose(&report, r, args.min_level);
        if let Some(h) = &history {
            let key = c.to.email.to_string().to_lowercase();
            if let Some(last) = h.last_sent(&key, &c.content_hash)?
                && Utc::now() - last
                    < chrono::Duration::from_std(args.resend_after)
                        .unwrap_or(chrono::TimeDelta::MAX)
            {
                tally.unchanged += 1;
                println!(
                    "unchanged {}  {} tenants  same content sent {} (within --resend-after)",
                    terminal_line(&c.address, 200),
                    c.tenants,
                    last.format("%Y-%m-%d %H:%M UTC")
                );
                continue;
            }
        }
        let msg = mail::message(&c, &from).with_context(|| {
            format!(
                "composing the message to {}",
                terminal_line(&c.address, 200)
            )
        })?;
        outgoing.push((c, msg));
    }
    match (&args.dry_run, sender) {
        (Some(dir), _) => write_eml(dir, &outgoing, &mut tally)?,
        (None, Some(cfg)) => send(cfg, &outgoing, history.as_mut(), &report, &mut tally)?,
        (None, None) => unreachable_config()?,
    }
    for s in &plan.skipped {
        tally.unmailable += 1;
        let owner = if s.owner.is_empty() {
            "(no owner)".to_string()
        } else {
            format!("'{}'", terminal_line(&s.owner, 200))
        };
        let why = match &s.reason {
            Unmailable::NoAddress => "no owner_email".to_string(),
            Unmailable::NotAnAddress(a) => {
                format!("'{}' is not an e-mail address", terminal_line(a, 200))
            }
        };
        println!(
            "skipped   owner {owner}: {why}; {} at or above {} not mailed: {}",
            plural(s.tenant_ids.len(), "tenant", "tenants"),
            args.min_level,
            terminal_line(&s.tenant_ids.join(", "), 400)
        );
    }
    eprintln!(
        "notify: {} sent, {} written, {} unchanged, {} refused, {} failed, {} owner{} not mailable ({} at or above {})",
        tally.sent,
        tally.written,
        tally.unchanged,
        tally.refused,
        tally.failed,
        tally.unmailable,
        if tally.unmailable == 1 { "" } else { "s" },
        plural(plan.recipients.len(), "address", "addresses"),
        args.min_level
    );
    Ok(if tally.refused + tally.failed + tally.unmailable > 0 {
        Exit::Findings
    } else {
        Exit::Clean
    })
}

fn unreachable_config() -> anyhow::Result<()> {
    // clap's group makes one of --smtp and --dry-run required.
    anyhow::bail!("give --smtp URL or --dry-run DIR")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn smtp_config(args: &NotifyArgs, url: &str, limits: &InputLimits) -> anyhow::Result<SmtpConfig> {
    let url = SmtpUrl::parse(url).map_err(|e| anyhow::anyhow!("--smtp: {e}"))?;
    let login = match &args.smtp_user {
        Some(user) => {
            let password = std::env::var("SMTP_PASSWORD").map_err(|_| {
                anyhow::anyhow!(
                    "--smtp-user needs the password in the SMTP_PASSWORD environment variable"
                )
            })?;
            Some((user.clone(), Secret::new(password)))
        }
        None => None,
    };
    let extra_ca = match &args.ca_cert {
        Some(p) => mtls_audit::net::trust::read_ca_file(p, limits)
            .map_err(|e| anyhow::anyhow!("--ca-cert: {e}"))?,
        None => Vec::new(),
    };
    Ok(SmtpConfig {
        url,
        login,
        require_tls: args.require_tls,
        extra_ca,
        timeout: args.timeout,
        retries: args.retries,
        retry_delay: args.retry_delay,
        interval: args.rate,
    })
}

/// One `.eml` per message (`--dry-run DIR`).
fn write_eml(
    dir: &Path,
    outgoing: &[(Composed, lettre::Message)],
    tally: &mut Tally,
) -> anyhow::Result<()> {
    if dir.exists() && !dir.is_dir() {
        anyhow::bail!("--dry-run {}: exists and is not a folder", dir.display());
    }
    let removed = notify::clear_earlier(dir).with_context(|| {
        format!(
            "removing the messages of an earlier dry run from {}",
            dir.display()
        )
    })?;
    if removed > 0 {
        eprintln!(
            "notify: removed {} of an earlier dry run from {}",
            plural(removed, "message", "messages"),
            dir.display()
        );
    }
    for (i, (c, msg)) in outgoing.iter().enumerate() {
        let path = notify::write_eml(dir, i + 1, c, msg)
            .with_context(|| format!("writing message {} into {}", i + 1, dir.display()))?;
        tally.written += 1;
        println!(
            "written   {}  to {}  {}",
            path.display(),
            terminal_line(&c.address, 200),
            plural(c.tenants, "tenant", "tenants")
        );
    }
    Ok(())
}

fn send(
    cfg: SmtpConfig,
    outgoing: &[(Composed, lettre::Message)],
    mut history: Option<&mut History>,
    report: &AuditReport,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    if outgoing.is_empty() {
        return Ok(());
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async {
        let mut sender = Sender::new(cfg)?;
        for (c, msg) in outgoing {
            let outcome = sender.send(msg).await;
            let to = terminal_line(&c.address, 200);
            let n = plural(c.tenants, "tenant", "tenants");
            match &outcome {
                Outcome::Sent { reply } => {
                    tally.sent += 1;
                    println!("sent      {to}  {n}  {reply}");
                    if let Some(h) = history.as_deref_mut() {
                        let key = c.to.email.to_string().to_lowercase();
                        h.record_sent(&Sent {
                            sent_at: Utc::now(),
                            address: &key,
                            owner: &c.owners,
                            content_hash: &c.content_hash,
                            subject: &c.subject,
                            audit_as_of: report.as_of,
                            tenants: c.tenants,
                        })?;
                    }
                }
                Outcome::Refused { code, reply } => {
                    tally.refused += 1;
                    println!("refused   {to}  {n}  {code} {reply}");
                }
                Outcome::Failed { reason } => {
                    tally.failed += 1;
                    println!("failed    {to}  {n}  {reason}");
                }
            }
        }
        sender.close().await;
        anyhow::Ok(())
    })
}
