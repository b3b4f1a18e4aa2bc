//! The tenant inventory (docs/spec.md §3): CSV rows → tenants to audit, and inventory errors for rows
//! that cannot be audited. Every data row ends up in exactly one of the two lists.

use crate::findings::Code;
use mtls_audit_input::{FileError, FileLimit, read_file as read_input};
use reqwest::Url;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

/// Which Identity Provisioning a tenant uses (the `ips_type` column); it decides which evidence
/// applies and which remediation steps are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IpsType {
    /// `neo`: IPS on SAP BTP Neo, with its own host; the LMS certificate is imported twice
    /// (IPS Inbound Certificates and the IAS admin record).
    Neo,
    /// `converged`: IPS inside IAS; the IAS admin record's certificate is the only one.
    Converged,
}

impl IpsType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            IpsType::Neo => "neo",
            IpsType::Converged => "converged",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<IpsType> {
        match s.trim().to_ascii_lowercase().as_str() {
            "neo" => Some(IpsType::Neo),
            "converged" => Some(IpsType::Converged),
            _ => None,
        }
    }
}

impl fmt::Display for IpsType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The LMS landscape of a tenant (the `environment` column): LMS switches to the new
/// certificate on different dates in each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// `preview`.
    Preview,
    /// `production`; also an empty column and `prod`.
    Production,
}

impl Environment {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Environment::Preview => "preview",
            Environment::Production => "production",
        }
    }

    /// Empty means production (docs/spec.md §3).
    pub(crate) fn parse(s: &str) -> Option<Environment> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "production" | "prod" => Some(Environment::Production),
            "preview" => Some(Environment::Preview),
            _ => None,
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One tenant to audit: a valid inventory row with paths resolved and URLs normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Line of the row in the file (the header is line 1).
    pub line: u64,
    /// The LMS tenant ID, trimmed; unique in the inventory (compared case-insensitively).
    pub tenant_id: String,
    /// `neo` or `converged`.
    pub ips_type: IpsType,
    /// `preview` or `production` (an empty column is production).
    pub environment: Environment,
    /// The IAS base URL, always `https://` (a bare host name gets it added).
    pub ias_url: Option<Url>,
    /// For converged tenants an empty `ips_url` is the `ias_url` (docs/spec.md §3).
    pub ips_url: Option<Url>,
    /// ID of the LMS source system in IPS, quoted in the remediation steps.
    pub ips_source_system_id: Option<String>,
    /// The certificate file exported from the IAS admin record, resolved against the
    /// inventory's folder.
    pub ias_admin_cert: Option<PathBuf>,
    /// The certificate file from the IPS LMS source system's Inbound Certificates, resolved
    /// against the inventory's folder (only checked for NEO tenants).
    pub ips_inbound_cert: Option<PathBuf>,
    /// `None` when the column is absent or empty (not checked); `Some(vec![])` for an explicit
    /// `-` or `none` (nothing toggled on).
    pub tech_user_permissions: Option<Vec<String>>,
    /// Name of the API credential in the `--credentials` file (needed by the sync check).
    pub credential: Option<String>,
    /// The IPS job whose logs are read (converged tenants).
    pub job_id: Option<String>,
    /// Free text carried into every report; empty when not given.
    pub owner: String,
    /// The owner's e-mail addresses (`owner_email`, `;`-separated), as written; checked when
    /// mail is sent (`notify`), where a bad address is reported per owner.
    pub owner_email: Vec<String>,
    /// Whether the customer has Learning-only users who authenticate through IAS
    /// (`learning_only_users`: yes/no/true/false/1/0); `None` when not known. Decides how
    /// urgent the NEO IPS retirement is (KBA 3718271).
    pub learning_only_users: Option<bool>,
    /// The IPS settings as configured in LMS (System Configuration, SAP CLOUD IDENTITY
    /// SERVICES), compared with the tenant's IPS (KBA 3394484).
    pub lms_config: LmsConfig,
    /// Columns the format does not define, by lowercased header name (`column_N` for a value
    /// under an unnamed column); `extra` in audit.json.
    pub extra: BTreeMap<String, String>,
}

/// The IPS settings as configured in LMS; each `None` when the column is absent or empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LmsConfig {
    /// `ipsSourceSystemID` (`lms_ips_source_system_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ips_source_system_id: Option<String>,
    /// `ipsURL` (`lms_ips_url`), as written (validated as an https URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ips_url: Option<String>,
    /// `ipsAPIUrl` (`lms_ips_api_url`), as written (validated as an https URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ips_api_url: Option<String>,
}

impl LmsConfig {
    /// Whether no LMS setting was given.
    pub fn is_empty(&self) -> bool {
        self.ips_source_system_id.is_none() && self.ips_url.is_none() && self.ips_api_url.is_none()
    }
}

/// A row that could not be audited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryError {
    /// Line of the row in the file (the header is line 1); 0 when the CSV reader could not
    /// tell.
    pub line: u64,
    /// `INVENTORY_INVALID_ROW` or `INVENTORY_DUPLICATE_TENANT`.
    pub code: Code,
    /// What is wrong, starting with `line N: `.
    pub message: String,
}

/// A parsed inventory: every data row is a tenant, an error or an empty row that was skipped
/// (`rows = tenants.len() + errors.len() + skipped`).
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// The file as given on the command line.
    pub path: PathBuf,
    /// Data rows read (empty lines are not rows; a row of empty fields such as `,,` is).
    pub rows: u64,
    /// Rows whose fields are all empty: skipped, and counted so that nothing vanishes.
    pub skipped: u64,
    /// The rows to audit, in file order (the first row of each `tenant_id`).
    pub tenants: Vec<Tenant>,
    /// The rows that cannot be audited, in file order.
    pub errors: Vec<InventoryError>,
    /// SHA-256 of the file's bytes, lowercase hex (empty when parsed from bytes): what
    /// `audit --shard` records so that `merge` refuses shards of different inventories.
    pub sha256: String,
}

/// Why the inventory as a whole cannot be read. Row problems are [`InventoryError`]s instead.
#[derive(Debug, thiserror::Error)]
pub enum InventoryFileError {
    /// The file cannot be read: missing, a folder, a FIFO or device, no permission, or over
    /// its size limit (the message names the limit and the option that raises it).
    #[error(transparent)]
    Input(#[from] FileError),
    /// The file is not well-formed CSV (an unterminated quote swallows every later row into one
    /// field): the whole file is refused rather than rows lost.
    #[error("{path}: line {line}: {reason}")]
    Malformed {
        /// The inventory as given.
        path: PathBuf,
        /// Where the problem starts.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// No header row: the file is empty or blank.
    #[error("{path}: the inventory is empty; a header row is required (columns: {columns})")]
    Empty {
        /// The inventory as given.
        path: PathBuf,
        /// The required columns, comma-separated, to say what the header needs.
        columns: String,
    },
    /// The header row is unusable: a required column is missing, a name appears twice, or the
    /// row is not valid CSV or UTF-8.
    #[error("{path}: line 1 (header): {reason}")]
    Header {
        /// The inventory as given.
        path: PathBuf,
        /// What is wrong, with a `--delimiter` hint when the file looks `;`-separated.
        reason: String,
    },
}

const KNOWN: [&str; 17] = [
    "tenant_id",
    "ips_type",
    "environment",
    "ias_url",
    "ips_url",
    "ips_source_system_id",
    "ias_admin_cert",
    "ips_inbound_cert",
    "tech_user_permissions",
    "credential",
    "job_id",
    "owner",
    "owner_email",
    "learning_only_users",
    "lms_ips_source_system_id",
    "lms_ips_url",
    "lms_ips_api_url",
];

/// The columns every inventory must have.
pub(crate) const REQUIRED: [&str; 2] = ["tenant_id", "ips_type"];

/// Reads an inventory file within `limit`. `delimiter` is a single byte (`,` by default, `;`
/// for spreadsheets that use it).
pub fn read_file(
    path: &Path,
    delimiter: u8,
    limit: &FileLimit,
) -> Result<Inventory, InventoryFileError> {
    let bytes = read_input(path, limit)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut inv = parse(&bytes, delimiter, base).map_err(|e| e.with_path(path))?;
    inv.path = path.to_path_buf();
    inv.sha256 = ring::digest::digest(&ring::digest::SHA256, &bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(inv)
}

/// A whole-file problem found while parsing bytes, before the path is known.
#[derive(Debug)]
pub enum ParseError {
    /// No header row (no bytes, or only blank lines).
    Empty,
    /// The header row is unusable; the reason, as in [`InventoryFileError::Header`].
    Header(String),
    /// Not well-formed CSV from this line on, as in [`InventoryFileError::Malformed`].
    Malformed {
        /// Where the problem starts.
        line: u64,
        /// What is wrong.
        reason: String,
    },
}

impl ParseError {
    fn with_path(self, path: &Path) -> InventoryFileError {
        match self {
            ParseError::Empty => InventoryFileError::Empty {
                path: path.to_path_buf(),
                columns: REQUIRED.join(", "),
            },
            ParseError::Header(reason) => InventoryFileError::Header {
                path: path.to_path_buf(),
                reason,
            },
            ParseError::Malformed { line, reason } => InventoryFileError::Malformed {
                path: path.to_path_buf(),
                line,
                reason,
            },
        }
    }
}

/// Parses inventory bytes; relative certificate paths are resolved against `base`.
pub fn parse(bytes: &[u8], delimiter: u8, base: &Path) -> Result<Inventory, ParseError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Some(line) = unterminated_quote(bytes, delimiter) {
        return Err(ParseError::Malformed {
            line,
            reason: "a quoted field opened here is never closed (an unterminated \"), so every later row would be read into it; close the quote or remove it".to_string(),
        });
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = reader.byte_records();

    // The header: the first record, whatever line it is on.
    let header = loop {
        match records.next() {
            None => return Err(ParseError::Empty),
            Some(Err(e)) => return Err(ParseError::Header(csv_reason(&e))),
            Some(Ok(r)) if is_blank(&r) => continue,
            Some(Ok(r)) => break r,
        }
    };
    let columns = header_columns(&header, delimiter)?;

    let mut inv = Inventory::default();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut lines = LineCounter::new(bytes);
    for rec in records {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                inv.rows += 1;
                let line = e.position().map(|p| lines.line_at(p.byte())).unwrap_or(0);
                inv.errors.push(InventoryError {
                    line,
                    code: Code::InventoryInvalidRow,
                    message: format!("line {line}: {}", csv_reason(&e)),
                });
                continue;
            }
        };
        inv.rows += 1;
        if is_blank(&rec) {
            inv.skipped += 1;
            continue;
        }
        let line = rec.position().map(|p| lines.line_at(p.byte())).unwrap_or(0);
        match row_to_tenant(&rec, &columns, line, base) {
            Ok(t) => {
                let key = t.tenant_id.to_lowercase();
                if let Some(first) = seen.get(&key) {
                    inv.errors.push(InventoryError {
                        line,
                        code: Code::InventoryDuplicateTenant,
                        message: format!(
                            "line {line}: tenant_id '{}' was already listed on line {first}; this row is not audited",
                            t.tenant_id
                        ),
                    });
                } else {
                    seen.insert(key, line);
                    inv.tenants.push(t);
                }
            }
            Err(reason) => inv.errors.push(InventoryError {
                line,
                code: Code::InventoryInvalidRow,
                message: format!("line {line}: {reason}"),
            }),
        }
    }
    Ok(inv)
}

/// The line of a quoted field that is still open at the end of the file, if any. Quotes are
/// read as RFC 4180 reads them: a field that starts with `"` runs to the next `"` not
/// followed by another `"`; a `"` inside an unquoted field is literal (as the CSV reader
/// takes it).
fn unterminated_quote(bytes: &[u8], delimiter: u8) -> Option<u64> {
    let mut line = 1u64;
    let mut open_line = 0u64;
    let mut in_quotes = false;
    let mut field_start = true;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_quotes {
            if b == b'"' {
                if bytes.get(i + 1) == Some(&b'"') {
                    i += 1;
                } else {
                    in_quotes = false;
                }
            }
        } else if b == b'"' && field_start {
            in_quotes = true;
            open_line = line;
        }
        if b == b'\n' {
            line += 1;
        }
        field_start = !in_quotes && (b == delimiter || b == b'\n' || b == b'\r');
        i += 1;
    }
    in_quotes.then_some(open_line)
}

/// Line numbers from byte offsets. The csv crate's own line count lags by one after CRLF
/// line ends, so lines are counted here: 1 + the newlines before the record's first byte.
struct LineCounter<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        LineCounter {
            bytes,
            pos: 0,
            line: 1,
        }
    }

    /// Offsets only grow, so each byte is looked at once.
    fn line_at(&mut self, offset: u64) -> u64 {
        let mut target = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        // A record reported as starting on the line end of the previous one starts after it.
        while target < self.bytes.len() && matches!(self.bytes[target], b'\r' | b'\n') {
            target += 1;
        }
        if target > self.pos {
            self.line += self.bytes[self.pos..target]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            self.pos = target;
        }
        self.line
    }
}

fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "the text is not valid UTF-8".to_string(),
        _ => e.to_string(),
    }
}

fn is_blank(r: &csv::ByteRecord) -> bool {
    r.iter().all(|f| f.iter().all(u8::is_ascii_whitespace))
}

/// Header names, normalised, with a helpful error when the required columns are missing.
fn header_columns(header: &csv::ByteRecord, delimiter: u8) -> Result<Vec<String>, ParseError> {
    let mut columns = Vec::with_capacity(header.len());
    for (i, raw) in header.iter().enumerate() {
        let name = std::str::from_utf8(raw)
            .map_err(|_| ParseError::Header(format!("column {} is not valid UTF-8", i + 1)))?
            .trim()
            .to_lowercase();
        if !name.is_empty() && columns.contains(&name) {
            return Err(ParseError::Header(format!("column '{name}' appears twice")));
        }
        columns.push(name);
    }
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|r| !columns.iter().any(|c| c == r))
        .collect();
    if !missing.is_empty() {
        let mut reason = format!(
            "required column{} {} missing (found: {})",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", "),
            columns.join(", ")
        );
        let other = if delimiter == b';' { ',' } else { ';' };
        if columns.len() == 1 && columns[0].contains(other) {
            reason.push_str(&format!(
                "; hint: the file looks '{other}'-separated, try --delimiter '{other}'"
            ));
        }
        return Err(ParseError::Header(reason));
    }
    Ok(columns)
}

/// Why a row cannot be audited; the text goes into the inventory error after `line N: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum RowError {
    #[error("field {field} is not valid UTF-8")]
    NotUtf8 { field: usize },
    #[error("the row has {fields} fields but the header has {columns}")]
    TooManyFields { fields: usize, columns: usize },
    #[error("tenant_id is missing")]
    NoTenantId,
    #[error("tenant '{tenant}': ips_type is missing (expected neo or converged)")]
    NoIpsType { tenant: String },
    #[error("tenant '{tenant}': unknown ips_type '{value}' (expected neo or converged)")]
    UnknownIpsType { tenant: String, value: String },
    #[error("tenant '{tenant}': unknown environment '{value}' (expected preview or production)")]
    UnknownEnvironment { tenant: String, value: String },
    #[error("tenant '{tenant}': {column} {problem}")]
    Url {
        tenant: String,
        column: &'static str,
        problem: UrlProblem,
    },
    #[error(
        "tenant '{tenant}': learning_only_users '{value}' is not one of yes, no, true, false, 1, 0"
    )]
    LearningOnly { tenant: String, value: String },
    #[error(
        "tenant '{tenant}': {column} '{value}' may hold only letters, digits, '-', '_' and '.' (it goes into API paths)"
    )]
    BadIdentifier {
        tenant: String,
        column: &'static str,
        value: String,
    },
}

/// What is wrong with a URL column's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum UrlProblem {
    #[error("'{value}' is not a valid URL: {reason}")]
    Invalid { value: String, reason: String },
    #[error("'{value}' must be an https:// URL")]
    NotHttps { value: String },
    #[error("'{value}' has no host name")]
    NoHost { value: String },
    // The value is not quoted: it holds a password.
    #[error(
        "holds a user name or password (user:password@host); refused: credentials belong in the --credentials file, not in the inventory"
    )]
    UserInfo,
}

fn row_to_tenant(
    rec: &csv::ByteRecord,
    columns: &[String],
    line: u64,
    base: &Path,
) -> Result<Tenant, RowError> {
    let mut values: HashMap<&str, String> = HashMap::new();
    let mut extra = BTreeMap::new();
    for (i, raw) in rec.iter().enumerate() {
        let value = std::str::from_utf8(raw)
            .map_err(|_| RowError::NotUtf8 { field: i + 1 })?
            .trim()
            .to_string();
        match columns.get(i) {
            Some(name) if KNOWN.contains(&name.as_str()) => {
                values.insert(name.as_str(), value);
            }
            Some(name) if !name.is_empty() => {
                extra.insert(name.clone(), value);
            }
            // An unnamed column (a trailing delimiter in the header) is kept only if used.
            Some(_) | None if value.is_empty() => {}
            Some(_) => {
                extra.insert(format!("column_{}", i + 1), value);
            }
            None => {
                return Err(RowError::TooManyFields {
                    fields: rec.len(),
                    columns: columns.len(),
                });
            }
        }
    }
    let get = |k: &str| values.get(k).map(String::as_str).unwrap_or("");
    let opt = |k: &str| Some(get(k).to_string()).filter(|v| !v.is_empty());

    let tenant_id = get("tenant_id").to_string();
    if tenant_id.is_empty() {
        return Err(RowError::NoTenantId);
    }
    let ips_type = IpsType::parse(get("ips_type")).ok_or_else(|| {
        let value = get("ips_type").to_string();
        let tenant = tenant_id.clone();
        if value.is_empty() {
            RowError::NoIpsType { tenant }
        } else {
            RowError::UnknownIpsType { tenant, value }
        }
    })?;
    let environment =
        Environment::parse(get("environment")).ok_or_else(|| RowError::UnknownEnvironment {
            tenant: tenant_id.clone(),
            value: get("environment").to_string(),
        })?;
    let url = |column: &'static str| {
        parse_url(get(column)).map_err(|problem| RowError::Url {
            tenant: tenant_id.clone(),
            column,
            problem,
        })
    };
    let ias_url = url("ias_url")?;
    let mut ips_url = url("ips_url")?;
    if ips_url.is_none() && ips_type == IpsType::Converged {
        ips_url = ias_url.clone();
    }
    let path = |k: &str| opt(k).map(|p| base.join(p));
    let tech_user_permissions = opt("tech_user_permissions").map(|v| {
        if matches!(v.to_ascii_lowercase().as_str(), "-" | "none") {
            Vec::new()
        } else {
            v.split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        }
    });
    let identifier = |column: &'static str| -> Result<Option<String>, RowError> {
        let v = opt(column);
        match &v {
            Some(id) if !is_identifier(id) => Err(RowError::BadIdentifier {
                tenant: tenant_id.clone(),
                column,
                value: id.clone(),
            }),
            _ => Ok(v),
        }
    };
    let ips_source_system_id = identifier("ips_source_system_id")?;
    let job_id = identifier("job_id")?;
    let learning_only_users = match get("learning_only_users").to_ascii_lowercase().as_str() {
        "" => None,
        "yes" | "true" | "1" => Some(true),
        "no" | "false" | "0" => Some(false),
        _ => {
            return Err(RowError::LearningOnly {
                tenant: tenant_id.clone(),
                value: get("learning_only_users").to_string(),
            });
        }
    };
    // LMS's own settings are validated like the tenant's URLs but kept as written: the
    // comparison with the tenant must see what LMS holds, trailing slash and all.
    let lms_url = |column: &'static str| -> Result<Option<String>, RowError> {
        url(column)?;
        Ok(opt(column))
    };
    let lms_config = LmsConfig {
        ips_source_system_id: identifier("lms_ips_source_system_id")?,
        ips_url: lms_url("lms_ips_url")?,
        ips_api_url: lms_url("lms_ips_api_url")?,
    };
    let owner_email = get("owner_email")
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    Ok(Tenant {
        line,
        tenant_id,
        ips_type,
        environment,
        ias_url,
        ips_url,
        ips_source_system_id,
        ias_admin_cert: path("ias_admin_cert"),
        ips_inbound_cert: path("ips_inbound_cert"),
        tech_user_permissions,
        credential: opt("credential"),
        job_id,
        owner: get("owner").to_string(),
        owner_email,
        learning_only_users,
        lms_config,
        extra,
    })
}

/// An ID that goes into an API path as one segment: letters, digits, `-`, `_`, `.`, and not
/// `.` or `..` (SAP's system and job IDs are UUID-like or hexadecimal).
fn is_identifier(id: &str) -> bool {
    !matches!(id, "." | "..")
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// `https://host[:port][/path]`; a bare host name gets `https://`. Plain HTTP is refused: IAS
/// and IPS are HTTPS only, and a typo should not send credentials in clear text.
fn parse_url(v: &str) -> Result<Option<Url>, UrlProblem> {
    if v.is_empty() {
        return Ok(None);
    }
    let with_scheme = if v.contains("://") {
        v.to_string()
    } else {
        format!("https://{v}")
    };
    let value = || v.to_string();
    let url = Url::parse(&with_scheme).map_err(|e| UrlProblem::Invalid {
        // A value that does not parse may still hold a password: never quote what precedes
        // an `@`.
        value: match v.rsplit_once('@') {
            Some((_, host)) => format!("…@{host}"),
            None => value(),
        },
        reason: e.to_string(),
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlProblem::UserInfo);
    }
    if url.scheme() != "https" {
        return Err(UrlProblem::NotHttps { value: value() });
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(UrlProblem::NoHost { value: value() });
    }
    Ok(Some(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Inventory {
        parse(s.as_bytes(), b',', Path::new("/inv")).unwrap()
    }

    #[test]
    fn bom_crlf_case_and_spaces_in_headers() {
        let inv =
            p("\u{feff} Tenant_ID , IPS_Type ,Owner\r\nACME,NEO,Ann\r\nglobex,converged,Bob\r\n");
        assert_eq!(inv.rows, 2);
        assert!(inv.errors.is_empty(), "{:?}", inv.errors);
        assert_eq!(inv.tenants[0].tenant_id, "ACME");
        assert_eq!(inv.tenants[0].ips_type, IpsType::Neo);
        assert_eq!(inv.tenants[0].line, 2);
        assert_eq!(inv.tenants[1].owner, "Bob");
        assert_eq!(inv.tenants[1].line, 3);
    }

    #[test]
    fn quoted_fields_with_commas_newlines_and_non_ascii() {
        let inv =
            p("tenant_id,ips_type,owner\n\"a,b\",neo,\"Müller, Jürgen\nLine 2\"\nc,neo,Zoë\n");
        assert_eq!(inv.tenants.len(), 2);
        assert_eq!(inv.tenants[0].tenant_id, "a,b");
        assert_eq!(inv.tenants[0].owner, "Müller, Jürgen\nLine 2");
        // The multi-line field moves the next row's line number.
        assert_eq!(inv.tenants[1].line, 4);
        assert_eq!(inv.tenants[1].owner, "Zoë");
    }

    #[test]
    fn the_three_row_errors_carry_line_numbers() {
        let inv = p("tenant_id,ips_type\n,neo\nx,cloud\ny,neo\nY,converged\n");
        assert_eq!(inv.rows, 4);
        assert_eq!(inv.tenants.len(), 1);
        assert_eq!(inv.errors.len(), 3);
        assert_eq!(
            (inv.errors[0].line, inv.errors[0].code),
            (2, Code::InventoryInvalidRow)
        );
        assert!(inv.errors[0].message.contains("tenant_id is missing"));
        assert_eq!(inv.errors[1].line, 3);
        assert!(inv.errors[1].message.contains("unknown ips_type 'cloud'"));
        assert_eq!(
            (inv.errors[2].line, inv.errors[2].code),
            (5, Code::InventoryDuplicateTenant)
        );
        assert!(inv.errors[2].message.contains("line 4"));
    }

    #[test]
    fn unknown_columns_go_to_extra_and_paths_resolve() {
        let inv = p(
            "tenant_id,ips_type,ias_admin_cert,Region,ias_url\nA,converged,certs/a.pem,EU10,acme.accounts.ondemand.com\n",
        );
        let t = &inv.tenants[0];
        assert_eq!(t.extra.get("region").map(String::as_str), Some("EU10"));
        assert_eq!(
            t.ias_admin_cert.as_deref(),
            Some(Path::new("/inv/certs/a.pem"))
        );
        assert_eq!(
            t.ias_url.as_ref().map(Url::as_str),
            Some("https://acme.accounts.ondemand.com/")
        );
        // Converged: an empty ips_url is the ias_url.
        assert_eq!(t.ips_url, t.ias_url);
    }

    #[test]
    fn semicolon_delimiter_and_hint() {
        let inv = parse(b"tenant_id;ips_type\nA;neo\n", b';', Path::new(".")).unwrap();
        assert_eq!(inv.tenants.len(), 1);
        match parse(b"tenant_id;ips_type\nA;neo\n", b',', Path::new(".")) {
            Err(ParseError::Header(r)) => assert!(r.contains("--delimiter ';'"), "{r}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn permissions_are_split_and_none_is_explicit() {
        let inv = p(
            "tenant_id,ips_type,tech_user_permissions\nA,neo,Read Users; Access Real-Time Provisioning API\nB,neo,none\nC,neo,\n",
        );
        assert_eq!(
            inv.tenants[0].tech_user_permissions.as_deref(),
            Some(
                &[
                    "Read Users".to_string(),
                    "Access Real-Time Provisioning API".to_string()
                ][..]
            )
        );
        assert_eq!(
            inv.tenants[1].tech_user_permissions.as_deref(),
            Some(&[][..])
        );
        assert_eq!(inv.tenants[2].tech_user_permissions, None);
    }

    #[test]
    fn too_many_fields_and_bad_urls_are_row_errors() {
        let inv = p("tenant_id,ips_type\nA,neo,surprise\nB,neo,,\n");
        assert_eq!(inv.errors.len(), 1);
        assert!(inv.errors[0].message.contains("3 fields"));
        assert_eq!(inv.tenants.len(), 1, "trailing empty fields are tolerated");
        let inv = p("tenant_id,ips_type,ias_url\nA,neo,http://x.example\n");
        assert!(inv.errors[0].message.contains("https://"));
    }

    #[test]
    fn missing_required_column_is_a_header_error() {
        match parse(b"tenant,ips_type\n", b',', Path::new(".")) {
            Err(ParseError::Header(r)) => assert!(r.contains("tenant_id"), "{r}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(b"", b',', Path::new(".")),
            Err(ParseError::Empty)
        ));
        assert!(matches!(
            parse(b"\xEF\xBB\xBF\n\n", b',', Path::new(".")),
            Err(ParseError::Empty)
        ));
    }

    proptest::proptest! {
        /// Arbitrary bytes never panic, and every data row is accounted for.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
            if let Ok(inv) = parse(&bytes, b',', Path::new(".")) {
                proptest::prop_assert_eq!(inv.rows, (inv.tenants.len() + inv.errors.len()) as u64 + inv.skipped);
            }
        }

        /// Rows of arbitrary fields under a valid header: rows in = tenants out + errors.
        #[test]
        fn arbitrary_rows_are_all_accounted_for(rows in proptest::collection::vec(
            proptest::collection::vec("[ -~äö\"\r\n,;]{0,12}", 0..8), 0..40)) {
            let mut text = String::from("tenant_id,ips_type,owner\n");
            let mut w = csv::WriterBuilder::new().flexible(true).from_writer(Vec::new());
            for r in &rows {
                w.write_record(r).unwrap();
            }
            text.push_str(&String::from_utf8_lossy(&w.into_inner().unwrap_or_default()));
            let inv = parse(text.as_bytes(), b',', Path::new(".")).unwrap();
            proptest::prop_assert_eq!(inv.rows, (inv.tenants.len() + inv.errors.len()) as u64 + inv.skipped);
        }
    }

    #[test]
    fn invalid_utf8_in_a_row_is_that_rows_error() {
        let inv = parse(
            b"tenant_id,ips_type,owner\nA,neo,\xff\xfe\nB,neo,ok\n",
            b',',
            Path::new("."),
        )
        .unwrap();
        assert_eq!(inv.rows, 2);
        assert_eq!(inv.tenants.len(), 1);
        assert_eq!(inv.errors[0].line, 2);
        assert!(inv.errors[0].message.contains("UTF-8"));
    }
}
