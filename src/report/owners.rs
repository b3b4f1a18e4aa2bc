//! `audit --split-by owner` (docs/spec.md §10): `OUT/owners/<owner-slug>/` with `audit.csv`,
//! `report.md` and (with html among the formats) `report.html` holding only that owner's
//! tenants; tenants without an owner go to `OUT/owners/_unassigned/`. `OUT/owners/index.csv`
//! says which folder is whose.
//!
//! The whole `owners/` folder is one set, written like [`super::write_files`] writes a report
//! set: into a temporary folder first, which replaces the previous `owners/` only once every
//! owner's files are complete (so an owner who no longer has tenants loses the stale folder,
//! and a failed run leaves the previous folder as it was).

use super::{Campaign, Format, WriteError, process_alive, text};
use crate::findings::Level;
use crate::result::{AuditReport, ReadinessState, Summary, TenantResult};
use crate::trend::Trend;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The folder of tenants without an owner (a slug never has `_`, so no owner takes it).
pub const UNASSIGNED: &str = "_unassigned";

/// The name of the folder under `OUT`.
pub const FOLDER: &str = "owners";

/// A slug is cut to this many characters (before any hash suffix).
const SLUG_MAX: usize = 48;

/// ASCII for the Latin letters owner names commonly have, so `Müller` reads `muller`.
fn fold(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĳ' => "ij",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        'þ' => "th",
        _ => return None,
    })
}

/// An owner's text as a folder name: lowercase ASCII letters, digits and `-` (common accented
/// letters folded to ASCII, everything else a `-`), at most 48 characters; `owner` when nothing
/// is left. Two owners may share a slug: [`folders`] tells them apart.
pub fn slug(owner: &str) -> String {
    let mut out = String::with_capacity(owner.len());
    for c in owner.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if let Some(s) = fold(c) {
            out.push_str(s);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut s: String = out.trim_matches('-').chars().take(SLUG_MAX).collect();
    while s.ends_with('-') {
        s.pop();
    }
    if s.is_empty() {
        s.push_str("owner");
    }
    s
}

fn sha256_hex(s: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, s.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The folder of each owner (the empty owner's is [`UNASSIGNED`]). Owners whose slugs collide
/// each get a suffix from a hash of their exact text (`anna-muller-1f0c…`), so the same owner
/// keeps the same folder from run to run and two owners never share one.
pub fn folders<'a>(owners: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, String> {
    let owners: BTreeSet<&str> = owners.into_iter().collect();
    let mut by_slug: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for o in owners.iter().filter(|o| !o.is_empty()) {
        by_slug.entry(slug(o)).or_default().push(o);
    }
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    if owners.contains("") {
        out.insert(String::new(), UNASSIGNED.to_string());
    }
    for (s, list) in &by_slug {
        for o in list {
            let name = if list.len() == 1 {
                s.clone()
            } else {
                format!("{s}-{}", &sha256_hex(o)[..8])
            };
            out.insert((*o).to_string(), name);
        }
    }
    // A suffixed slug could equal another owner's plain slug (an owner named "Anna Muller
    // 1f0c2a3b"): those take the whole hash, which no text shares by chance.
    loop {
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for f in out.values() {
            *seen.entry(f.as_str()).or_default() += 1;
        }
        let clash: Vec<String> = out
            .iter()
            .filter(|(o, f)| !o.is_empty() && seen[f.as_str()] > 1)
            .map(|(o, _)| o.clone())
            .collect();
        if clash.is_empty() {
            return out;
        }
        let mut changed = false;
        for o in clash {
            let full = format!("{}-{}", slug(&o), sha256_hex(&o));
            if out.get(&o) != Some(&full) {
                out.insert(o, full);
                changed = true;
            }
        }
        if !changed {
            // Equal full hashes mean equal texts, which a map cannot hold twice.
            return out;
        }
    }
}

/// The report of one owner's tenants: the run's settings and dates, only those tenants, their
/// summary; inventory errors stay in the main report (a row that could not be read has no
/// owner).
pub fn subset(report: &AuditReport, tenants: Vec<TenantResult>) -> AuditReport {
    let n = tenants.len() as u64;
    AuditReport {
        tool: report.tool.clone(),
        as_of: report.as_of,
        deadline: report.deadline,
        cutover: report.cutover,
        inventory: report.inventory.clone(),
        complete: report.complete,
        settings: report.settings.clone(),
        shard: report.shard.clone(),
        summary: Summary::from_tenants(&tenants, n, 0, 0),
        tenants,
        inventory_errors: Vec::new(),
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |source| WriteError {
        path: path.to_path_buf(),
        source,
    }
}

/// Removes `.owners.tmp-PID` and `.owners.old-PID` folders of runs that no longer exist.
fn remove_stale(out: &Path) {
    let Ok(entries) = std::fs::read_dir(out) else {
        return;
    };
    let ours = std::process::id();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(".owners.tmp-")
            .or_else(|| name.strip_prefix(".owners.old-"))
        else {
            continue;
        };
        if let Ok(pid) = pid.parse::<u32>()
            && pid != ours
            && !process_alive(pid)
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Writes `OUT/owners/` for `report` as one set and returns the folders written. `trend` (by
/// owner), when the run was recorded in a history, gives each owner's `report.html` that
/// owner's burndown.
pub fn write(
    report: &AuditReport,
    out: &Path,
    formats: &[Format],
    trend: Option<&Trend>,
) -> Result<Vec<PathBuf>, WriteError> {
    std::fs::create_dir_all(out).map_err(io_err(out))?;
    remove_stale(out);
    let pid = std::process::id();
    let root = out.join(FOLDER);
    let tmp = out.join(format!(".owners.tmp-{pid}"));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
    }
    let result = write_all(report, &tmp, formats, trend);
    let folders = match result {
        Ok(f) => f,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    // Swap the new set in: the old one moves aside, the new one takes its name, the old one
    // goes. A failure in between puts the old one back.
    let old = out.join(format!(".owners.old-{pid}"));
    let had_old = root.exists();
    if had_old {
        std::fs::rename(&root, &old).map_err(|e| {
            let _ = std::fs::remove_dir_all(&tmp);
            io_err(&root)(e)
        })?;
    }
    if let Err(e) = std::fs::rename(&tmp, &root) {
        if had_old {
            let _ = std::fs::rename(&old, &root);
        }
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(io_err(&root)(e));
    }
    if had_old {
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(folders.into_iter().map(|f| root.join(f)).collect())
}

fn write_all(
    report: &AuditReport,
    tmp: &Path,
    formats: &[Format],
    trend: Option<&Trend>,
) -> Result<Vec<String>, WriteError> {
    std::fs::create_dir_all(tmp).map_err(io_err(tmp))?;
    let mut by_owner: BTreeMap<&str, Vec<&TenantResult>> = BTreeMap::new();
    for t in &report.tenants {
        by_owner.entry(t.owner.as_str()).or_default().push(t);
    }
    let names = folders(by_owner.keys().copied());
    let mut owner_formats = vec![Format::Csv, Format::Md];
    if formats.contains(&Format::Html) {
        owner_formats.push(Format::Html);
    }
    let index_path = tmp.join("index.csv");
    let mut index = ::csv::Writer::from_writer(Vec::new());
    let csv_err = |e: ::csv::Error| io_err(&index_path)(std::io::Error::other(e));
    index
        .write_record([
            "folder",
            "owner",
            "owner_email",
            "tenants",
            "ready",
            "not_ready",
            "readiness_unknown",
            "worst_risk",
        ])
        .map_err(csv_err)?;
    let mut written = Vec::new();
    for (owner, tenants) in by_owner {
        let folder = &names[owner];
        let sub = subset(report, tenants.iter().map(|t| (*t).clone()).collect());
        let campaign =
            trend.and_then(|tr| tr.group(owner).map(|group| Campaign { trend: tr, group }));
        super::write_files_with(
            &sub,
            &tmp.join(folder),
            &owner_formats,
            super::Extras {
                campaign,
                last_run: None,
            },
        )?;
        let emails: BTreeSet<&str> = tenants
            .iter()
            .flat_map(|t| t.owner_email.iter().map(String::as_str))
            .collect();
        let count = |s: ReadinessState| {
            tenants
                .iter()
                .filter(|t| t.readiness.state == s)
                .count()
                .to_string()
        };
        let worst = tenants.iter().map(|t| t.risk).max().unwrap_or(Level::Ok);
        index
            .write_record([
                folder.as_str(),
                &text::spreadsheet(owner),
                &text::spreadsheet(&emails.into_iter().collect::<Vec<_>>().join(";")),
                &tenants.len().to_string(),
                &count(ReadinessState::Ready),
                &count(ReadinessState::NotReady),
                &count(ReadinessState::Unknown),
                worst.as_str(),
            ])
            .map_err(csv_err)?;
        written.push(folder.clone());
    }
    let bytes = index
        .into_inner()
        .map_err(|e| io_err(&index_path)(std::io::Error::other(e.to_string())))?;
    std::fs::write(&index_path, bytes).map_err(io_err(&index_path))?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_ascii_digits_and_dashes() {
        assert_eq!(slug("Anna Müller"), "anna-muller");
        assert_eq!(
            slug("  Jörg O'Brien <jorg@x.example> "),
            "jorg-o-brien-jorg-x-example"
        );
        assert_eq!(slug("Łukasz Żółć"), "lukasz-zolc");
        assert_eq!(slug("李雷"), "owner");
        assert_eq!(slug("---"), "owner");
        assert!(slug(&"x".repeat(200)).len() <= SLUG_MAX);
        for s in [slug("Ünïcödé / ../../etc"), slug("a\u{0}b\nc")] {
            assert!(
                s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{s}"
            );
        }
    }

    #[test]
    fn colliding_owners_never_share_a_folder() {
        let f = folders(["Anna Müller", "Anna Muller", "anna-muller", "Bob", ""]);
        assert_eq!(f[""], UNASSIGNED);
        assert_eq!(f["Bob"], "bob");
        let annas: BTreeSet<&String> = ["Anna Müller", "Anna Muller", "anna-muller"]
            .iter()
            .map(|o| &f[*o])
            .collect();
        assert_eq!(annas.len(), 3, "{f:?}");
        for a in annas {
            assert!(a.starts_with("anna-muller-") && a.len() == "anna-muller-".len() + 8);
        }
        // Stable: the same owner gets the same folder whatever else is in the run.
        let again = folders(["Anna Muller", "anna-muller"]);
        assert_eq!(again["Anna Muller"], f["Anna Muller"]);
        // A lone owner keeps the plain slug.
        assert_eq!(folders(["Anna Müller"])["Anna Müller"], "anna-muller");
    }

    #[test]
    fn a_suffixed_slug_that_equals_another_owner_takes_the_full_hash() {
        let h = &sha256_hex("Anna Muller")[..8];
        let tricky = format!("anna muller {h}");
        let f = folders(["Anna Muller", "anna-muller", tricky.as_str()]);
        let set: BTreeSet<&String> = f.values().collect();
        assert_eq!(set.len(), 3, "{f:?}");
    }
}
