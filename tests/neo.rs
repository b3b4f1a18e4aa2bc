//! NEO IPS retirement and LMS's IPS settings (docs/spec.md §9), offline through the binary:
//! the inventory columns, each level, each mismatch and the near misses, the remediation with
//! this tenant's values filled in, and the reports.

use crate::harness::*;

const HEADER: &str = "tenant_id,ips_type,ias_url,ips_url,ips_source_system_id,learning_only_users,lms_ips_source_system_id,lms_ips_url,lms_ips_api_url,tech_user_permissions\n";
const PERMS: &str = "Read Users;Access Real-Time Provisioning API";

fn audit(t: &TestDir, csv: &str, as_of: &str) -> serde_json::Value {
    t.write("inv.csv", format!("{HEADER}{csv}"));
    let r = t.run(&[
        "audit",
        "inv.csv",
        "--offline",
        "--as-of",
        as_of,
        "--out",
        "o",
        "--format",
        "json,md,html,csv",
        "--fail-on",
        "never",
    ]);
    r.expect_code(0);
    serde_json::from_str(&t.read("o/audit.json")).unwrap()
}

fn finding<'a>(
    j: &'a serde_json::Value,
    tenant: &str,
    code: &str,
) -> Option<&'a serde_json::Value> {
    j["tenants"]
        .as_array()?
        .iter()
        .find(|t| t["tenant_id"] == tenant)?["findings"]
        .as_array()?
        .iter()
        .find(|f| f["code"] == code)
}

#[test]
fn neo_retirement_levels_follow_the_dates_and_learning_only_users() {
    let t = TestDir::new();
    let rows = format!(
        "YES,neo,,,,yes,,,,{PERMS}\nNO,neo,,,,No,,,,{PERMS}\nUNK,neo,,,,,,,,{PERMS}\nT1,neo,,,,TRUE,,,,{PERMS}\nZ0,neo,,,,0,,,,{PERMS}\nCONV,converged,,,,yes,,,,{PERMS}\n"
    );
    let cases = [
        (
            "2026-07-09T23:59:59Z",
            ["WARN", "WARN", "WARN", "WARN", "WARN"],
        ),
        (
            "2026-07-10",
            ["FAILING", "WARN", "AT_RISK", "FAILING", "WARN"],
        ),
        (
            "2028-12-30",
            ["FAILING", "WARN", "AT_RISK", "FAILING", "WARN"],
        ),
        (
            "2028-12-31",
            ["FAILING", "FAILING", "FAILING", "FAILING", "FAILING"],
        ),
    ];
    for (as_of, levels) in cases {
        let j = audit(&t, &rows, as_of);
        for (tenant, level) in ["YES", "NO", "UNK", "T1", "Z0"].iter().zip(levels) {
            let f = finding(&j, tenant, "IPS_NEO_RETIRING").expect("a NEO tenant gets it");
            assert_eq!(f["level"], level, "{tenant} at {as_of}: {f}");
            assert_eq!(f["target"], "inventory");
            assert_eq!(f["impacts"], serde_json::json!(["user_sync"]));
        }
        assert!(
            finding(&j, "CONV", "IPS_NEO_RETIRING").is_none(),
            "converged stays quiet"
        );
    }
    let j = audit(&t, &rows, "2026-11-30");
    let f = finding(&j, "YES", "IPS_NEO_RETIRING").unwrap();
    for needle in ["2026-07-09", "2028-12-31", "KBA 3718271"] {
        assert!(f["message"].as_str().unwrap().contains(needle), "{f}");
    }
    let md = t.read("o/report.md");
    assert!(
        md.contains("NEO tenants: 5, of which 2 with Learning-only users past the 2026-07-09 deadline (their real-time sync has stopped) and 1 not known"),
        "{md}"
    );
    assert!(
        t.read("o/report.html")
            .contains("<p id=\"neo\">NEO tenants: 5")
    );
    assert!(
        t.read("o/report.html")
            .contains("value=\"IPS_NEO_RETIRING\""),
        "the code filter offers it"
    );
}

#[test]
fn lms_settings_that_contradict_the_tenant_are_failing_and_near_misses_are_quiet() {
    let t = TestDir::new();
    let rows = format!(
        "SID,converged,https://sid.accounts.ondemand.com,,new-sys,,old-sys,,,{PERMS}\n\
         NEOAPI,converged,https://neoapi.accounts.ondemand.com,,s,,,,https://ipsproxyabc-xyz.hana.ondemand.com/ips,{PERMS}\n\
         HOST,converged,https://host.accounts.ondemand.com,,s,,,https://ipsproxyabc-xyz.hana.ondemand.com,,{PERMS}\n\
         PATH,converged,https://path.accounts.ondemand.com,,s,,,,https://path.accounts.ondemand.com/ipsproxy/api,{PERMS}\n\
         OWNIPS,converged,https://own.accounts.ondemand.com,https://ips.own.example,s,,,,https://own.accounts.ondemand.com/ipsproxy/service/api,{PERMS}\n\
         NEAR,converged,https://near.accounts.ondemand.com,,Sys-1,,sys-1,https://NEAR.accounts.ondemand.com:443/,HTTPS://Near.Accounts.OnDemand.com/ipsproxy/service/api/,{PERMS}\n\
         NONE,converged,https://none.accounts.ondemand.com,,s,,,,,{PERMS}\n"
    );
    let j = audit(&t, &rows, "2026-11-30");
    let check = |tenant: &str, column: &str, found: &str, expected: &str| {
        let f = finding(&j, tenant, "LMS_CONFIG_MISMATCH").unwrap_or_else(|| panic!("{tenant}"));
        assert_eq!(f["level"], "FAILING");
        assert_eq!(f["target"], "lms_config");
        let m = f["message"].as_str().unwrap();
        assert!(
            m.starts_with(&format!("{column} is '{found}', expected '{expected}'")),
            "{tenant}: {m}"
        );
    };
    check("SID", "lms_ips_source_system_id", "old-sys", "new-sys");
    check(
        "NEOAPI",
        "lms_ips_api_url",
        "https://ipsproxyabc-xyz.hana.ondemand.com/ips",
        "https://neoapi.accounts.ondemand.com/ipsproxy/service/api",
    );
    check(
        "HOST",
        "lms_ips_url",
        "https://ipsproxyabc-xyz.hana.ondemand.com",
        "https://host.accounts.ondemand.com",
    );
    check(
        "PATH",
        "lms_ips_api_url",
        "https://path.accounts.ondemand.com/ipsproxy/api",
        "https://path.accounts.ondemand.com/ipsproxy/service/api",
    );
    // The tenant's own ips_url decides where its IPS is.
    check(
        "OWNIPS",
        "lms_ips_api_url",
        "https://own.accounts.ondemand.com/ipsproxy/service/api",
        "https://ips.own.example/ipsproxy/service/api",
    );
    assert!(
        finding(&j, "NEOAPI", "LMS_CONFIG_MISMATCH").unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("NEO form")
    );
    for quiet in ["NEAR", "NONE"] {
        assert!(
            finding(&j, quiet, "LMS_CONFIG_MISMATCH").is_none(),
            "{quiet}"
        );
    }
    // The remediation names the exact ipsAPIUrl to set for this tenant.
    let r = finding(&j, "NEOAPI", "LMS_CONFIG_MISMATCH").unwrap()["remediation"]
        .as_str()
        .unwrap();
    assert!(
        r.contains("ipsAPIUrl = https://neoapi.accounts.ondemand.com/ipsproxy/service/api"),
        "{r}"
    );
    // The lms_config check is listed as run where settings were given, not run elsewhere.
    let tenant = |id: &str| {
        j["tenants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["tenant_id"] == id)
            .unwrap()
            .clone()
    };
    assert!(
        tenant("NEAR")["checks_run"]
            .to_string()
            .contains("lms_config")
    );
    assert!(
        tenant("NONE")["checks_not_run"]
            .to_string()
            .contains("lms_config")
    );
}

#[test]
fn the_neo_migration_steps_fill_in_the_new_values() {
    let t = TestDir::new();
    let j = audit(
        &t,
        &format!(
            "N,neo,https://acme.accounts.ondemand.com,https://ipsproxyabc-xyz.cert.hana.ondemand.com,s,yes,,,,{PERMS}\n"
        ),
        "2026-11-30",
    );
    let r = finding(&j, "N", "IPS_NEO_RETIRING").unwrap()["remediation"]
        .as_str()
        .unwrap();
    assert!(r.contains("KBA 3394484"), "{r}");
    assert!(
        r.contains("ipsURL to https://acme.accounts.ondemand.com"),
        "{r}"
    );
    assert!(
        r.contains("ipsAPIUrl to https://acme.accounts.ondemand.com/ipsproxy/service/api"),
        "{r}"
    );
}

#[test]
fn malformed_values_are_row_errors_naming_the_column_and_line() {
    let t = TestDir::new();
    t.write(
        "inv.csv",
        format!(
            "{HEADER}A,neo,,,,maybe,,,,\nB,converged,,,,,,http://plain.example,,\nC,converged,,,,,,,https://,\nD,converged,,,,,../x,,,\nE,converged,,,,yes,,,,\n"
        ),
    );
    let r = t.run(&[
        "audit",
        "inv.csv",
        "--offline",
        "--out",
        "o",
        "--format",
        "json",
        "--fail-on",
        "never",
    ]);
    r.expect_code(0);
    let j: serde_json::Value = serde_json::from_str(&t.read("o/audit.json")).unwrap();
    let errors: Vec<String> = j["inventory_errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(errors.len(), 4, "{errors:?}");
    assert!(
        errors[0].starts_with("line 2:") && errors[0].contains("learning_only_users 'maybe'"),
        "{errors:?}"
    );
    assert!(
        errors[1].starts_with("line 3:") && errors[1].contains("lms_ips_url"),
        "{errors:?}"
    );
    assert!(
        errors[2].starts_with("line 4:") && errors[2].contains("lms_ips_api_url"),
        "{errors:?}"
    );
    assert!(
        errors[3].starts_with("line 5:") && errors[3].contains("lms_ips_source_system_id"),
        "{errors:?}"
    );
    assert_eq!(j["tenants"].as_array().unwrap().len(), 1);
}
