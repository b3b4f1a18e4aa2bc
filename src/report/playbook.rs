//! Remediation grouped by what to do, for the HTML and Markdown reports.
//!
//! Each finding carries its tenant's own steps (with the tenant ID, source system and job in
//! them), so the texts hardly ever repeat verbatim. To group tenants that need the same action,
//! the steps are written once more for a placeholder tenant (`<LMSTenantID>`, as SAP's notes
//! spell it) with no tenant-specific values; findings whose placeholder text is the same need
//! the same action. The per-tenant texts stay in the findings and are shown per tenant.

use crate::findings::{Code, Level, Target};
use crate::inventory::IpsType;
use crate::remediation;
use crate::result::{AuditReport, TenantFinding};
use std::collections::HashMap;

/// The tenant ID in a group's steps.
pub(crate) const TENANT_PLACEHOLDER: &str = "<LMSTenantID>";

/// One action: the steps, the findings it answers and the tenants that need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Group {
    /// Numbered lines (`1. …\n2. …`) written for [`TENANT_PLACEHOLDER`].
    pub steps: String,
    pub codes: Vec<Code>,
    pub targets: Vec<Target>,
    pub ips_types: Vec<IpsType>,
    /// The worst level among the findings of the group.
    pub level: Level,
    /// Tenant indexes into `report.tenants`, worst first, each once.
    pub tenants: Vec<usize>,
    pub findings: u64,
}

impl Group {
    /// `CERT_NOT_REFERENCE, CERT_EXPIRED on ips_inbound_cert (NEO)`: what the group is about.
    pub(crate) fn title(&self) -> String {
        let codes: Vec<&str> = self.codes.iter().map(|c| c.as_str()).collect();
        let targets: Vec<&str> = self.targets.iter().map(|t| t.as_str()).collect();
        let types: Vec<&str> = self
            .ips_types
            .iter()
            .map(|t| match t {
                IpsType::Neo => "NEO",
                IpsType::Converged => "converged",
            })
            .collect();
        format!(
            "{} on {} ({})",
            codes.join(", "),
            targets.join(", "),
            types.join(", ")
        )
    }

    /// The step lines without their numbers.
    pub(crate) fn step_lines(&self) -> Vec<&str> {
        step_lines(&self.steps)
    }
}

/// Splits a numbered remediation (`1. a\n2. b`) into its steps.
pub(crate) fn step_lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(|l| {
            let t = l.trim();
            match t.split_once(". ") {
                Some((n, rest)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => rest,
                _ => t,
            }
        })
        .filter(|l| !l.is_empty())
        .collect()
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Playbook {
    /// Worst level first, then most tenants.
    pub groups: Vec<Group>,
    /// For `report.tenants[i].findings[j]`, the index of its group in `groups`.
    pub of_finding: Vec<Vec<usize>>,
}

/// The placeholder steps of a finding: depend only on code, target and IPS type.
fn generic_steps(f: &TenantFinding, ips_type: IpsType) -> String {
    let ctx = remediation::Context {
        tenant_id: TENANT_PLACEHOLDER,
        ips_type,
        ips_source_system_id: None,
        job_id: None,
        credential: None,
        converged_ips: None,
    };
    remediation::for_code(f.code, f.target, &ctx)
}

pub(crate) fn build(report: &AuditReport) -> Playbook {
    // The text depends on (code, target, IPS type) only: write it once per key.
    let mut by_key: HashMap<(Code, Target, IpsType), usize> = HashMap::new();
    let mut by_text: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<Group> = Vec::new();
    let mut of_finding: Vec<Vec<usize>> = vec![Vec::new(); report.tenants.len()];
    for &ti in &report.worst_first() {
        let t = &report.tenants[ti];
        for f in &t.findings {
            let key = (f.code, f.target, t.ips_type);
            let gi = match by_key.get(&key) {
                Some(&gi) => gi,
                None => {
                    let text = generic_steps(f, t.ips_type);
                    let gi = *by_text.entry(text.clone()).or_insert_with(|| {
                        groups.push(Group {
                            steps: text,
                            codes: Vec::new(),
                            targets: Vec::new(),
                            ips_types: Vec::new(),
                            level: f.level,
                            tenants: Vec::new(),
                            findings: 0,
                        });
                        groups.len() - 1
                    });
                    by_key.insert(key, gi);
                    gi
                }
            };
            let g = &mut groups[gi];
            g.findings += 1;
            g.level = g.level.max(f.level);
            if !g.codes.contains(&f.code) {
                g.codes.push(f.code);
            }
            if !g.targets.contains(&f.target) {
                g.targets.push(f.target);
            }
            if !g.ips_types.contains(&t.ips_type) {
                g.ips_types.push(t.ips_type);
            }
            // Findings of one tenant are visited together, so a repeat is the last entry.
            if g.tenants.last() != Some(&ti) {
                g.tenants.push(ti);
            }
            of_finding[ti].push(gi);
        }
    }
    // Order: worst first, then the most tenants; remap the finding indexes.
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by(|&a, &b| {
        groups[b]
            .level
            .cmp(&groups[a].level)
            .then(groups[b].tenants.len().cmp(&groups[a].tenants.len()))
            .then(a.cmp(&b))
    });
    let mut new_index = vec![0; groups.len()];
    for (new, &old) in order.iter().enumerate() {
        new_index[old] = new;
    }
    for list in &mut of_finding {
        for gi in list.iter_mut() {
            *gi = new_index[*gi];
        }
    }
    let mut slots: Vec<Option<Group>> = groups.into_iter().map(Some).collect();
    let groups = order.iter().filter_map(|&old| slots[old].take()).collect();
    Playbook { groups, of_finding }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_lines_drop_numbers_only() {
        assert_eq!(
            step_lines("1. Do a.\n2. Do 3. things\n10. Last"),
            vec!["Do a.", "Do 3. things", "Last"]
        );
        assert_eq!(step_lines("no number"), vec!["no number"]);
    }
}
