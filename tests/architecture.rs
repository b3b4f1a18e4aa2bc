//! The architecture rules of `ARCHITECTURE.md` that a compiler alone does not keep: no import
//! cycles between source files, the simulator's dependencies, and a repository that stands on
//! its own (no reference to files outside it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The source trees whose files may not import each other in a cycle: `src/` and every
/// `crates/*/src/`.
fn source_roots() -> Vec<PathBuf> {
    let mut roots = vec![repo().join("src")];
    if let Ok(entries) = std::fs::read_dir(repo().join("crates")) {
        for e in entries.flatten() {
            let src = e.path().join("src");
            if src.is_dir() {
                roots.push(src);
            }
        }
    }
    roots.sort();
    roots
}

/// `a/b.rs` → `["a", "b"]`; `a/mod.rs` → `["a"]`; `lib.rs` → `[]`.
fn module_path(root: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(root).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

fn is_hub(file: &Path) -> bool {
    matches!(
        file.file_name().and_then(|n| n.to_str()),
        Some("mod.rs" | "lib.rs" | "main.rs")
    )
}

/// The text without `#[cfg(test)] mod … { … }` blocks: tests may import anything.
fn without_tests(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let Some(brace) = after.find('{') else {
            rest = "";
            break;
        };
        let is_mod = after[..brace].contains("mod ");
        if !is_mod {
            out.push_str("#[cfg(test)]");
            rest = &after["#[cfg(test)]".len()..];
            continue;
        }
        let mut depth = 0usize;
        let mut end = after.len();
        for (k, c) in after[brace..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = brace + k + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Expands `a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e`.
fn expand(body: &str) -> Vec<String> {
    let body: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = body.find('{') else {
        return vec![body];
    };
    let prefix = &body[..open];
    let inner = &body[open + 1..body.len().saturating_sub(1)];
    let mut parts = Vec::new();
    let (mut depth, mut cur) = (0usize, String::new());
    for c in inner.chars() {
        match c {
            ',' if depth == 0 => parts.push(std::mem::take(&mut cur)),
            '{' => {
                depth += 1;
                cur.push(c);
            }
            '}' => {
                depth = depth.saturating_sub(1);
                cur.push(c);
            }
            _ => cur.push(c),
        }
    }
    parts.push(cur);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| expand(&format!("{prefix}{p}")))
        .collect()
}

/// The module paths a file refers to: `use` declarations and inline `crate::`/`super::` paths.
fn referenced(module: &[String], text: &str) -> Vec<Vec<String>> {
    let mut paths: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("use ") {
        let at_start = i == 0
            || rest[..i]
                .chars()
                .last()
                .is_some_and(|c| c.is_whitespace() || c == ';' || c == '}');
        let after = &rest[i + 4..];
        let end = after.find(';').unwrap_or(after.len());
        if at_start {
            paths.extend(expand(&after[..end]));
        }
        rest = &after[end.min(after.len())..];
    }
    for token in text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')) {
        if token.starts_with("crate::") || token.starts_with("super::") {
            paths.push(token.to_string());
        }
    }
    let mut out = Vec::new();
    for p in paths {
        let segs: Vec<&str> = p.split("::").filter(|s| !s.is_empty()).collect();
        let mut base: Vec<String> = match segs.first() {
            Some(&"crate") => Vec::new(),
            Some(&"super") | Some(&"self") => module.to_vec(),
            _ => continue,
        };
        let mut k = 0;
        if segs.first() == Some(&"crate") {
            k = 1;
        }
        while k < segs.len() && (segs[k] == "super" || segs[k] == "self") {
            if segs[k] == "super" {
                base.pop();
            }
            k += 1;
        }
        base.extend(segs[k..].iter().map(|s| s.to_string()));
        out.push(base);
    }
    out
}

/// Import cycles between non-hub files, as lists of files.
fn cycles() -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for root in source_roots() {
        let mut files = Vec::new();
        rust_files(&root, &mut files);
        let modules: BTreeMap<Vec<String>, PathBuf> = files
            .iter()
            .map(|f| (module_path(&root, f), f.clone()))
            .collect();
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (m, f) in &modules {
            if is_hub(f) {
                continue;
            }
            let text = without_tests(&std::fs::read_to_string(f).unwrap_or_default());
            let from = f.display().to_string();
            for path in referenced(m, &text) {
                // The longest prefix of the path that is a module file.
                let target = (1..=path.len())
                    .rev()
                    .find_map(|n| modules.get(&path[..n]))
                    .filter(|t| !is_hub(t) && *t != f);
                if let Some(t) = target {
                    edges
                        .entry(from.clone())
                        .or_default()
                        .insert(t.display().to_string());
                }
            }
        }
        // A cycle exists between a and b when each reaches the other.
        let reach = |start: &str| {
            let mut seen = BTreeSet::new();
            let mut stack = vec![start.to_string()];
            while let Some(n) = stack.pop() {
                for m in edges.get(&n).into_iter().flatten() {
                    if seen.insert(m.clone()) {
                        stack.push(m.clone());
                    }
                }
            }
            seen
        };
        let mut reported = BTreeSet::new();
        for a in edges.keys() {
            let ra = reach(a);
            if ra.contains(a) && reported.insert(a.clone()) {
                let members: Vec<String> = ra
                    .iter()
                    .filter(|b| reach(b).contains(a))
                    .cloned()
                    .collect();
                reported.extend(members.iter().cloned());
                found.push(members);
            }
        }
    }
    found
}

#[test]
fn no_import_cycles_between_source_files() {
    let c = cycles();
    assert!(c.is_empty(), "import cycles between files: {c:#?}");
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    // Two files that import each other, as the finder reads them.
    let a = referenced(
        &["x".to_string()],
        "use super::y::Thing;\nfn f() { crate::z::g() }",
    );
    assert!(
        a.contains(&vec!["y".to_string(), "Thing".to_string()]),
        "{a:?}"
    );
    assert!(a.contains(&vec!["z".to_string(), "g".to_string()]), "{a:?}");
    assert_eq!(expand("a::{b, c::{d, e}}"), ["a::b", "a::c::d", "a::c::e"]);
    let t = without_tests("use a;\n#[cfg(test)]\nmod tests { use b; }\nuse c;");
    assert!(
        t.contains("use a") && t.contains("use c") && !t.contains("use b"),
        "{t}"
    );
}

#[test]
fn the_simulator_does_not_depend_on_the_auditor() {
    let manifest = std::fs::read_to_string(repo().join("crates/sim/Cargo.toml")).unwrap();
    let deps = manifest
        .split("[dev-dependencies]")
        .next()
        .unwrap_or_default();
    for forbidden in ["mtls-audit.workspace", "mtls-audit-cert", "mtls-audit = "] {
        assert!(
            !deps.contains(forbidden),
            "crates/sim depends on {forbidden}: the simulator must not know the auditor"
        );
    }
    for file in {
        let mut v = Vec::new();
        rust_files(&repo().join("crates/sim/src"), &mut v);
        v
    } {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            !text.contains("mtls_audit::") && !text.contains("mtls_audit_cert::"),
            "{} imports the auditor",
            file.display()
        );
    }
}

/// Text files of the repository (what `git ls-files` would list, without running git).
fn repository_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() {
            if !matches!(
                name.as_str(),
                "target" | ".git" | "reports" | "corpus" | "artifacts" | "x509-limbo"
            ) {
                repository_files(&p, out);
            }
        } else if matches!(
            p.extension().and_then(|x| x.to_str()),
            Some("rs" | "md" | "toml" | "yml" | "yaml" | "sh" | "py" | "json" | "txt")
        ) || p.parent().is_some_and(|d| d.ends_with("scripts"))
            || name == "Dockerfile"
        {
            out.push(p);
        }
    }
}

#[test]
fn the_repository_points_to_nothing_outside_it() {
    let mut files = Vec::new();
    repository_files(&repo(), &mut files);
    assert!(files.len() > 50, "only {} files found", files.len());
    let needle = ["..", "/shared"].concat();
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| {
            std::fs::read_to_string(f)
                .map(|t| t.contains(&needle))
                .unwrap_or(false)
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "files that point outside the repository: {offenders:#?}"
    );
}
