//! LMS's IPS settings (`LMS_CONFIG_MISMATCH`, docs/spec.md §9): after a tenant moves from NEO
//! to the converged IPS, LMS's System Configuration (SAP CLOUD IDENTITY SERVICES) must name the
//! new source system (`ipsSourceSystemID`), the new IPS (`ipsURL`) and its real-time API
//! (`ipsAPIUrl` = the IPS URL + `/ipsproxy/service/api`; the NEO form ended in `/ips`), or
//! real-time user sync stops again (KBA 3394484). Compared from the inventory alone: URLs match
//! case-insensitively on scheme and host, with the default port and a trailing slash ignored.

use crate::findings::{Code, Finding, Target};
use crate::inventory::{IpsType, LmsConfig};
use crate::sap::CONVERGED_API_PATH;
use reqwest::Url;

/// `scheme://host[:port]` with the default port left out: what two URLs of the same server
/// share however they are written.
pub(crate) fn origin(u: &Url) -> String {
    match u.port() {
        Some(p) => format!("{}://{}:{p}", u.scheme(), u.host_str().unwrap_or_default()),
        None => format!("{}://{}", u.scheme(), u.host_str().unwrap_or_default()),
    }
}

/// A URL as compared: origin and path, without a trailing slash (the path keeps its case).
fn normal(u: &Url) -> String {
    format!("{}{}", origin(u), u.path().trim_end_matches('/'))
}

/// The URL LMS's `ipsAPIUrl` must hold for a converged tenant whose IPS is `ips`.
pub(crate) fn expected_api_url(ips: &Url) -> String {
    format!("{}{CONVERGED_API_PATH}", origin(ips))
}

fn parse(v: &str) -> Option<Url> {
    let with_scheme = if v.contains("://") {
        v.to_string()
    } else {
        format!("https://{v}")
    };
    Url::parse(&with_scheme).ok()
}

fn mismatch(column: &str, found: &str, expected: &str, why: &str) -> Finding {
    Finding::new(
        Code::LmsConfigMismatch,
        Target::LmsConfig,
        format!("{column} is '{found}', expected '{expected}': {why}"),
    )
}

/// The mismatches between LMS's settings and the tenant. `ips` is the tenant's IPS URL (for a
/// converged tenant the `ips_url`, which defaults to the `ias_url`).
pub(crate) fn check(
    ips_type: IpsType,
    ips: Option<&Url>,
    ips_source_system_id: Option<&str>,
    lms: &LmsConfig,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if let (Some(found), Some(expected)) = (&lms.ips_source_system_id, ips_source_system_id)
        && !found.eq_ignore_ascii_case(expected)
    {
        out.push(mismatch(
            "lms_ips_source_system_id",
            found,
            expected,
            "LMS's ipsSourceSystemID must name the tenant's LMS source system in IPS (after a migration, the new one: the end of its URL after sourceSystems/, KBA 3394484)",
        ));
    }
    // NEO tenants keep their NEO URLs until they migrate; only the converged form is known.
    let (IpsType::Converged, Some(ips)) = (ips_type, ips) else {
        return out;
    };
    if let Some(found) = &lms.ips_api_url {
        let expected = expected_api_url(ips);
        match parse(found) {
            Some(u) if u.path().trim_end_matches('/').ends_with("/ips") => out.push(mismatch(
                "lms_ips_api_url",
                found,
                &expected,
                "it is still the NEO form ending in /ips; on the converged IPS, ipsAPIUrl is the IPS URL + /ipsproxy/service/api (KBA 3394484)",
            )),
            Some(u) if normal(&u) != expected => out.push(mismatch(
                "lms_ips_api_url",
                found,
                &expected,
                "ipsAPIUrl must be the tenant's IPS URL + /ipsproxy/service/api (KBA 3394484)",
            )),
            _ => {}
        }
    }
    if let Some(found) = &lms.ips_url
        && let Some(u) = parse(found)
        && origin(&u) != origin(ips)
    {
        out.push(mismatch(
            "lms_ips_url",
            found,
            &origin(ips),
            "LMS's ipsURL points at another host than the tenant's IPS (after a migration, the converged IPS on the IAS host, KBA 3394484)",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|_| {
            Url::parse("https://invalid.example").unwrap_or_else(|_| unreachable!())
        })
    }

    fn lms(sid: Option<&str>, ips_url: Option<&str>, api: Option<&str>) -> LmsConfig {
        LmsConfig {
            ips_source_system_id: sid.map(str::to_string),
            ips_url: ips_url.map(str::to_string),
            ips_api_url: api.map(str::to_string),
        }
    }

    fn columns(f: &[Finding]) -> Vec<String> {
        f.iter()
            .map(|f| f.message.split(' ').next().unwrap_or_default().to_string())
            .collect()
    }

    #[test]
    fn each_mismatch_names_its_column_found_and_expected() {
        let ips = url("https://acme.accounts.ondemand.com");
        let f = check(
            IpsType::Converged,
            Some(&ips),
            Some("new-sys"),
            &lms(
                Some("old-sys"),
                Some("https://ipsproxyabc-xyz.hana.ondemand.com"),
                Some("https://ipsproxyabc-xyz.hana.ondemand.com/ips"),
            ),
        );
        assert_eq!(
            columns(&f),
            ["lms_ips_source_system_id", "lms_ips_api_url", "lms_ips_url"]
        );
        assert!(
            f[0].message.contains("'old-sys', expected 'new-sys'"),
            "{}",
            f[0].message
        );
        assert!(
            f[1].message
                .contains("expected 'https://acme.accounts.ondemand.com/ipsproxy/service/api'")
                && f[1].message.contains("NEO form"),
            "{}",
            f[1].message
        );
        assert!(
            f[2].message
                .contains("expected 'https://acme.accounts.ondemand.com'"),
            "{}",
            f[2].message
        );
        // Another path than the converged one.
        let f = check(
            IpsType::Converged,
            Some(&ips),
            None,
            &lms(
                None,
                None,
                Some("https://acme.accounts.ondemand.com/ipsproxy/api"),
            ),
        );
        assert_eq!(columns(&f), ["lms_ips_api_url"]);
    }

    #[test]
    fn near_misses_stay_quiet() {
        let ips = url("https://acme.accounts.ondemand.com/");
        for api in [
            "https://acme.accounts.ondemand.com/ipsproxy/service/api",
            "https://acme.accounts.ondemand.com/ipsproxy/service/api/",
            "https://ACME.Accounts.OnDemand.com/ipsproxy/service/api",
            "HTTPS://acme.accounts.ondemand.com:443/ipsproxy/service/api",
        ] {
            for ips_url in [
                "https://acme.accounts.ondemand.com",
                "https://acme.accounts.ondemand.com/",
                "https://ACME.accounts.ondemand.com:443",
            ] {
                let f = check(
                    IpsType::Converged,
                    Some(&ips),
                    Some("Sys-1"),
                    &lms(Some("sys-1"), Some(ips_url), Some(api)),
                );
                assert!(f.is_empty(), "{api} {ips_url}: {f:?}");
            }
        }
    }

    #[test]
    fn neo_tenants_compare_only_the_source_system() {
        let ips = url("https://ipsproxyabc-xyz.cert.hana.ondemand.com");
        let f = check(
            IpsType::Neo,
            Some(&ips),
            Some("sys"),
            &lms(
                Some("sys"),
                Some("https://elsewhere.example"),
                Some("https://elsewhere.example/ips"),
            ),
        );
        assert!(f.is_empty(), "{f:?}");
        let f = check(
            IpsType::Neo,
            Some(&ips),
            Some("sys"),
            &lms(Some("other"), None, None),
        );
        assert_eq!(columns(&f), ["lms_ips_source_system_id"]);
    }
}
