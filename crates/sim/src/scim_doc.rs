//! SCIM resources as JSON documents, for the writes and reads RFC 7644 describes: what a client
//! may write (RFC 7643 §2.2 mutability: read-only attributes are ignored), PATCH operations
//! (§3.5.2: `add`, `replace`, `remove`, with attribute paths, extension URNs and value filters
//! such as `members[value eq "…"]`), and the `attributes`/`excludedAttributes` projection
//! (§3.4.2.5). Attribute names are case-insensitive (RFC 7643 §2.1). The attribute definitions
//! come from the published schemas (`discovery.rs`).

use crate::discovery::{self, Resource};
use crate::filter::{Filter, FilterError, Val};
use serde_json::{Map, Value};

/// A document: core attributes by name, extension attributes in an object under the
/// extension's URN.
pub(crate) type Doc = Map<String, Value>;

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Why a write is refused; each maps to an RFC 7644 §3.12 `scimType`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DocError {
    #[error("{0}")]
    InvalidSyntax(String),
    #[error("{0}")]
    InvalidPath(String),
    #[error("{0}")]
    NoTarget(String),
    #[error("{0}")]
    InvalidValue(String),
    #[error("{0}")]
    Mutability(String),
    #[error("{0}")]
    InvalidFilter(String),
}

impl DocError {
    pub(crate) fn scim_type(&self) -> &'static str {
        match self {
            DocError::InvalidSyntax(_) => "invalidSyntax",
            DocError::InvalidPath(_) => "invalidPath",
            DocError::NoTarget(_) => "noTarget",
            DocError::InvalidValue(_) => "invalidValue",
            DocError::Mutability(_) => "mutability",
            DocError::InvalidFilter(_) => "invalidFilter",
        }
    }
}

/// The key of `name` in `m`, matched case-insensitively.
fn key_of(m: &Doc, name: &str) -> Option<String> {
    m.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

/// The schema (core or the extension) a top-level key of a `r` document belongs to: the
/// extension's URN for the extension object, else the core schema.
fn is_extension(r: Resource, key: &str) -> bool {
    key.eq_ignore_ascii_case(r.extension())
}

/// The definition of attribute `name` in `schema`.
fn def(schema: &str, name: &str) -> Option<&'static Value> {
    discovery::attribute(schema, name)
}

fn mutability(d: Option<&Value>) -> &str {
    d.and_then(|d| d["mutability"].as_str())
        .unwrap_or("readWrite")
}

/// The attribute's name as the schema spells it, else as given.
fn canonical(schema: &str, name: &str) -> String {
    def(schema, name)
        .and_then(|d| d["name"].as_str())
        .unwrap_or(name)
        .to_string()
}

/// Drops nulls and empty arrays (unassigned, RFC 7643 §2.5) and, with `defs`, read-only
/// sub-attributes.
fn tidy(v: &mut Value, d: Option<&Value>) {
    match v {
        Value::Object(o) => {
            let keys: Vec<String> = o.keys().cloned().collect();
            for k in keys {
                let sub = d.and_then(|d| discovery::sub_attribute(d, &k));
                if mutability(sub) == "readOnly" && sub.is_some() {
                    o.remove(&k);
                    continue;
                }
                if let Some(x) = o.get_mut(&k) {
                    tidy(x, sub);
                    if x.is_null() || x.as_array().is_some_and(Vec::is_empty) {
                        o.remove(&k);
                    }
                }
            }
        }
        Value::Array(a) => {
            for x in a.iter_mut() {
                tidy(x, d);
            }
            a.retain(|x| !x.is_null());
        }
        _ => {}
    }
}

/// Sets `key` of one schema's attribute map from a client value, or drops it when read-only
/// (RFC 7643 §2.2: the server ignores read-only values a client sends).
fn put_attr(out: &mut Doc, schema: &str, key: &str, value: &Value) {
    let d = def(schema, key);
    if mutability(d) == "readOnly" {
        return;
    }
    let mut v = value.clone();
    tidy(&mut v, d);
    if v.is_null() || v.as_array().is_some_and(Vec::is_empty) {
        return;
    }
    out.insert(canonical(schema, key), v);
}

/// What a client's resource (POST or PUT body) leaves to store: no `schemas`, `id`, `meta`,
/// nothing read-only, no nulls; the extension under its URN. Anything but an object is an
/// error.
pub(crate) fn writable(body: &Value, r: Resource) -> Result<Doc, DocError> {
    let obj = body
        .as_object()
        .ok_or_else(|| DocError::InvalidSyntax("the resource is not a JSON object".into()))?;
    let mut out = Doc::new();
    for (k, v) in obj {
        let lower = k.to_ascii_lowercase();
        if matches!(lower.as_str(), "schemas" | "id" | "meta") {
            continue;
        }
        if is_extension(r, k) {
            let Some(ext) = v.as_object() else {
                return Err(DocError::InvalidSyntax(format!(
                    "{k} must be a JSON object"
                )));
            };
            let mut e = Doc::new();
            for (ek, ev) in ext {
                put_attr(&mut e, r.extension(), ek, ev);
            }
            if !e.is_empty() {
                out.insert(r.extension().to_string(), Value::Object(e));
            }
            continue;
        }
        if lower.starts_with("urn:") {
            // Another extension (or the core URN as a key): kept as the client sent it.
            let mut v = v.clone();
            tidy(&mut v, None);
            out.insert(k.clone(), v);
            continue;
        }
        put_attr(&mut out, r.core(), k, v);
    }
    Ok(out)
}

/// Removes what a response never shows: `returned: never` and write-only attributes (the
/// password, SAP's `sendMail`, …).
pub(crate) fn strip_unreturned(v: &mut Value, r: Resource) {
    let hidden = |schema: &str, k: &str| {
        def(schema, k).is_some_and(|d| d["returned"] == "never" || d["mutability"] == "writeOnly")
    };
    let Some(o) = v.as_object_mut() else {
        return;
    };
    o.retain(|k, _| !hidden(r.core(), k));
    if let Some(Value::Object(ext)) = o.get_mut(r.extension()) {
        ext.retain(|k, _| !hidden(r.extension(), k));
    }
}

/// A parsed PATCH path: the container (core or the extension), the attribute, an optional value
/// filter and an optional sub-attribute.
#[derive(Debug, Clone, PartialEq)]
struct PatchPath {
    /// `Some(urn)` when the attribute is in the extension object.
    extension: Option<String>,
    /// `None`: the whole extension object (a path that is the bare URN).
    attr: Option<String>,
    filter: Option<Filter>,
    sub: Option<String>,
}

fn parse_path(path: &str, r: Resource) -> Result<PatchPath, DocError> {
    let bad = || DocError::InvalidPath(format!("'{path}' is not a valid attribute path"));
    let p = path.trim();
    if p.is_empty() {
        return Err(bad());
    }
    let mut extension = None;
    let mut rest = p;
    for urn in [r.extension(), r.core()] {
        if p.len() >= urn.len() && p[..urn.len()].eq_ignore_ascii_case(urn) {
            let after = &p[urn.len()..];
            if after.is_empty() {
                if urn == r.core() {
                    return Err(bad());
                }
                return Ok(PatchPath {
                    extension: Some(urn.to_string()),
                    attr: None,
                    filter: None,
                    sub: None,
                });
            }
            if let Some(a) = after.strip_prefix(':').or_else(|| after.strip_prefix('.')) {
                rest = a;
                if urn == r.extension() {
                    extension = Some(urn.to_string());
                }
                break;
            }
        }
    }
    if rest.to_ascii_lowercase().starts_with("urn:") {
        return Err(DocError::InvalidPath(format!(
            "'{path}' names a schema this resource does not have"
        )));
    }
    let (attr, filter, sub) = match rest.find('[') {
        Some(open) => {
            let close = rest.rfind(']').ok_or_else(bad)?;
            if close < open {
                return Err(bad());
            }
            let f = Filter::parse(&rest[open + 1..close])
                .map_err(|e| DocError::InvalidFilter(format!("'{path}': {e}")))?;
            let after = &rest[close + 1..];
            let sub = match after.strip_prefix('.') {
                Some(s) if !s.is_empty() => Some(s.to_string()),
                None if after.is_empty() => None,
                _ => return Err(bad()),
            };
            (rest[..open].to_string(), Some(f), sub)
        }
        None => match rest.split_once('.') {
            Some((a, s)) if !a.is_empty() && !s.is_empty() => {
                (a.to_string(), None, Some(s.to_string()))
            }
            Some(_) => return Err(bad()),
            None => (rest.to_string(), None, None),
        },
    };
    if attr.is_empty()
        || attr.contains(|c: char| !(c.is_ascii_alphanumeric() || c == '$' || c == '_' || c == '-'))
    {
        return Err(bad());
    }
    Ok(PatchPath {
        extension,
        attr: Some(attr),
        filter,
        sub,
    })
}

/// The values of `attr` in one element of a multi-valued attribute, for a value filter.
fn element_vals(el: &Value, attr: &str) -> Result<Vec<Val>, FilterError> {
    let v = match el {
        Value::Object(o) => o
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(attr))
            .map(|(_, v)| v.clone()),
        // A multi-valued attribute of simple values: `value` stands for the element.
        other if attr == "value" => Some(other.clone()),
        _ => None,
    };
    Ok(match v {
        Some(Value::String(s)) => vec![Val::Str(s)],
        Some(Value::Bool(b)) => vec![Val::Bool(b)],
        Some(Value::Number(n)) => n.as_f64().map(Val::Num).into_iter().collect(),
        _ => Vec::new(),
    })
}

fn element_matches(f: &Filter, el: &Value) -> Result<bool, DocError> {
    f.matches(&|a| element_vals(el, a))
        .map_err(|e| DocError::InvalidFilter(e.to_string()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

fn is_multi(schema: &str, name: &str, existing: Option<&Value>) -> bool {
    def(schema, name).map_or(matches!(existing, Some(Value::Array(_))), |d| {
        d["multiValued"] == true
    })
}

fn as_list(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    }
}

fn is_primary(el: &Value) -> bool {
    el.get("primary").and_then(Value::as_bool) == Some(true)
}

fn clear_primary(items: &mut [Value]) {
    for el in items.iter_mut() {
        if let Some(o) = el.as_object_mut()
            && o.get("primary").and_then(Value::as_bool) == Some(true)
        {
            o.insert("primary".into(), Value::Bool(false));
        }
    }
}

/// Merges `v` into `target` for `add`: objects key by key, everything else replaced.
fn merge(target: &mut Value, v: &Value) {
    match (target, v) {
        (Value::Object(t), Value::Object(src)) => {
            for (k, x) in src {
                let key = key_of(t, k).unwrap_or_else(|| k.clone());
                t.insert(key, x.clone());
            }
        }
        (t, v) => *t = v.clone(),
    }
}

/// One operation on one attribute map (`container`, whose schema is `schema`).
fn apply_to(
    container: &mut Doc,
    schema: &str,
    op: Op,
    p: &PatchPath,
    value: Option<&Value>,
) -> Result<(), DocError> {
    let Some(attr) = &p.attr else {
        return Err(DocError::InvalidPath("no attribute".into()));
    };
    let d = def(schema, attr);
    if mutability(d) == "readOnly" {
        return Err(DocError::Mutability(format!("{attr} is read-only")));
    }
    let key = key_of(container, attr).unwrap_or_else(|| canonical(schema, attr));
    let value = value.filter(|v| !v.is_null());
    let need = || {
        value
            .cloned()
            .ok_or_else(|| DocError::InvalidValue(format!("{:?} of {attr} needs a value", op)))
    };
    match (&p.filter, &p.sub, op) {
        (None, None, Op::Remove) => {
            match (value, container.get_mut(&key)) {
                // `remove` with a value (some clients): take those elements out.
                (Some(v), Some(Value::Array(items))) => {
                    let gone = as_list(v);
                    items.retain(|el| {
                        !gone.iter().any(|g| {
                            g == el
                                || (g.get("value").is_some() && g.get("value") == el.get("value"))
                        })
                    });
                }
                _ => {
                    container.remove(&key);
                }
            }
        }
        (None, None, Op::Add) => {
            let v = need()?;
            if is_multi(schema, attr, container.get(&key)) {
                let list = container
                    .entry(key.clone())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if !list.is_array() {
                    *list = Value::Array(Vec::new());
                }
                if let Value::Array(items) = list {
                    let new = as_list(&v);
                    if new.iter().any(is_primary) {
                        // RFC 7644 §3.5.2: a new primary value takes `primary` from the others.
                        clear_primary(items);
                    }
                    for x in new {
                        if !items.contains(&x) {
                            items.push(x);
                        }
                    }
                }
            } else {
                match container.get_mut(&key) {
                    Some(existing) => merge(existing, &v),
                    None => {
                        container.insert(key.clone(), v);
                    }
                }
            }
        }
        (None, None, Op::Replace) => {
            let v = need()?;
            let v = if is_multi(schema, attr, container.get(&key)) {
                Value::Array(as_list(&v))
            } else {
                v
            };
            container.insert(key.clone(), v);
        }
        (None, Some(sub), op) => {
            let entry = container
                .entry(key.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            let set = |el: &mut Value| -> Result<(), DocError> {
                let Some(o) = el.as_object_mut() else {
                    return Err(DocError::InvalidPath(format!(
                        "{attr} has no sub-attributes"
                    )));
                };
                let sk = key_of(o, sub).unwrap_or_else(|| sub.clone());
                if op == Op::Remove {
                    o.remove(&sk);
                } else {
                    o.insert(sk, need()?);
                }
                Ok(())
            };
            match entry {
                Value::Array(items) => {
                    for el in items.iter_mut() {
                        set(el)?;
                    }
                }
                el => set(el)?,
            }
        }
        (Some(f), sub, op) => {
            let Some(Value::Array(items)) = container.get_mut(&key) else {
                return Err(DocError::NoTarget(format!(
                    "{attr} has no values to filter"
                )));
            };
            let mut hit = false;
            let mut keep = Vec::with_capacity(items.len());
            for mut el in std::mem::take(items) {
                if !element_matches(f, &el)? {
                    keep.push(el);
                    continue;
                }
                hit = true;
                match (sub, op) {
                    (None, Op::Remove) => {}
                    (None, Op::Replace) => keep.push(need()?),
                    (None, Op::Add) => {
                        merge(&mut el, &need()?);
                        keep.push(el);
                    }
                    (Some(s), op) => {
                        if let Some(o) = el.as_object_mut() {
                            let sk = key_of(o, s).unwrap_or_else(|| s.clone());
                            if op == Op::Remove {
                                o.remove(&sk);
                            } else {
                                o.insert(sk, need()?);
                            }
                        }
                        keep.push(el);
                    }
                }
            }
            if keep.iter().filter(|el| is_primary(el)).count() > 1 {
                // The values this operation made primary keep it; the others lose it.
                let (mut made, mut rest): (Vec<Value>, Vec<Value>) = keep
                    .into_iter()
                    .partition(|el| element_matches(f, el).unwrap_or(false));
                clear_primary(&mut rest);
                made.append(&mut rest);
                keep = made;
            }
            *items = keep;
            if !hit {
                return Err(DocError::NoTarget(format!(
                    "no value of {attr} matches the filter"
                )));
            }
        }
    }
    if let Some(v) = container.get_mut(&key) {
        tidy(v, d);
        if v.is_null() || v.as_array().is_some_and(Vec::is_empty) {
            container.remove(&key);
        }
    }
    Ok(())
}

/// Applies one operation without a path: the value is an object of attributes (and extension
/// objects by URN), each added or replaced.
fn apply_without_path(
    doc: &mut Doc,
    r: Resource,
    op: Op,
    value: Option<&Value>,
) -> Result<(), DocError> {
    if op == Op::Remove {
        return Err(DocError::NoTarget("remove needs a path".into()));
    }
    let Some(Value::Object(o)) = value else {
        return Err(DocError::InvalidValue(
            "an operation without a path needs an object value".into(),
        ));
    };
    for (k, v) in o {
        if is_extension(r, k) {
            let Some(ext) = v.as_object() else {
                return Err(DocError::InvalidValue(format!("{k} must be an object")));
            };
            for (ek, ev) in ext {
                let p = PatchPath {
                    extension: Some(r.extension().to_string()),
                    attr: Some(ek.clone()),
                    filter: None,
                    sub: None,
                };
                apply(doc, r, op, &p, Some(ev))?;
            }
            continue;
        }
        if k.eq_ignore_ascii_case("schemas")
            || k.eq_ignore_ascii_case("id")
            || k.eq_ignore_ascii_case("meta")
        {
            continue;
        }
        let p = PatchPath {
            extension: None,
            attr: Some(k.clone()),
            filter: None,
            sub: None,
        };
        apply(doc, r, op, &p, Some(v))?;
    }
    Ok(())
}

fn apply(
    doc: &mut Doc,
    r: Resource,
    op: Op,
    p: &PatchPath,
    value: Option<&Value>,
) -> Result<(), DocError> {
    match &p.extension {
        None => apply_to(doc, r.core(), op, p, value),
        Some(urn) => {
            let key = key_of(doc, urn).unwrap_or_else(|| urn.clone());
            if p.attr.is_none() {
                // The whole extension object.
                match op {
                    Op::Remove => {
                        doc.remove(&key);
                    }
                    Op::Add | Op::Replace => {
                        let Some(Value::Object(v)) = value else {
                            return Err(DocError::InvalidValue(format!("{urn} must be an object")));
                        };
                        if op == Op::Replace {
                            doc.remove(&key);
                        }
                        for (ek, ev) in v {
                            let sp = PatchPath {
                                extension: Some(urn.clone()),
                                attr: Some(ek.clone()),
                                filter: None,
                                sub: None,
                            };
                            apply(doc, r, Op::Add, &sp, Some(ev))?;
                        }
                    }
                }
                return Ok(());
            }
            let mut ext = match doc.remove(&key) {
                Some(Value::Object(o)) => o,
                _ => Map::new(),
            };
            let res = apply_to(&mut ext, r.extension(), op, p, value);
            if !ext.is_empty() {
                doc.insert(urn.clone(), Value::Object(ext));
            }
            res
        }
    }
}

/// Applies a PatchOp message (RFC 7644 §3.5.2) to `doc`. All operations apply or none.
pub(crate) fn patch(doc: &mut Doc, body: &Value, r: Resource) -> Result<(), DocError> {
    let obj = body
        .as_object()
        .ok_or_else(|| DocError::InvalidSyntax("the PATCH body is not a JSON object".into()))?;
    let schemas_ok = obj
        .get("schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter()
                .any(|x| x.as_str().is_some_and(|x| x.eq_ignore_ascii_case(PATCH_OP)))
        });
    if !schemas_ok {
        return Err(DocError::InvalidSyntax(format!(
            "schemas must hold {PATCH_OP}"
        )));
    }
    let ops = obj
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Operations"))
        .and_then(|(_, v)| v.as_array())
        .filter(|a| !a.is_empty())
        .ok_or_else(|| DocError::InvalidSyntax("Operations must be a non-empty array".into()))?;
    let mut work = doc.clone();
    for o in ops {
        let field = |name: &str| {
            o.as_object()
                .and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                .map(|(_, v)| v)
        };
        let op = match field("op")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("add") => Op::Add,
            Some("replace") => Op::Replace,
            Some("remove") => Op::Remove,
            other => {
                return Err(DocError::InvalidSyntax(format!(
                    "op must be add, replace or remove, not {other:?}"
                )));
            }
        };
        let value = field("value");
        match field("path").and_then(Value::as_str) {
            None => apply_without_path(&mut work, r, op, value)?,
            Some(path) => {
                let p = parse_path(path, r)?;
                apply(&mut work, r, op, &p, value)?;
            }
        }
    }
    *doc = work;
    Ok(())
}

/// The comma-separated attribute paths of `attributes`/`excludedAttributes`, as (extension URN
/// or none, attribute, sub-attribute) in lower case.
fn paths(list: &str, r: Resource) -> Vec<(Option<&'static str>, String, Option<String>)> {
    list.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let pp = parse_path(p, r).ok()?;
            let ext = pp.extension.as_ref().map(|_| r.extension());
            match pp.attr {
                Some(a) => Some((
                    ext,
                    a.to_ascii_lowercase(),
                    pp.sub.map(|s| s.to_ascii_lowercase()),
                )),
                // A bare extension URN: the whole extension.
                None => Some((ext, String::new(), None)),
            }
        })
        .collect()
}

/// Applies `attributes` (keep only those, plus `id` and `schemas`) or else `excludedAttributes`
/// (drop those) to a rendered resource (RFC 7644 §3.4.2.5).
pub(crate) fn project(
    v: &mut Value,
    attributes: Option<&str>,
    excluded: Option<&str>,
    r: Resource,
) {
    let Some(o) = v.as_object_mut() else {
        return;
    };
    let ext_key = key_of(o, r.extension());
    if let Some(list) = attributes.filter(|s| !s.trim().is_empty()) {
        let want = paths(list, r);
        let mut out = Map::new();
        for (k, x) in o.iter() {
            let lower = k.to_ascii_lowercase();
            if lower == "id" || lower == "schemas" {
                out.insert(k.clone(), x.clone());
                continue;
            }
            if Some(k) == ext_key.as_ref() {
                let Some(ext) = x.as_object() else { continue };
                if want.iter().any(|(e, a, _)| e.is_some() && a.is_empty()) {
                    out.insert(k.clone(), x.clone());
                    continue;
                }
                let kept: Map<String, Value> = ext
                    .iter()
                    .filter(|(ek, _)| {
                        want.iter()
                            .any(|(e, a, _)| e.is_some() && *a == ek.to_ascii_lowercase())
                    })
                    .map(|(a, b)| (a.clone(), b.clone()))
                    .collect();
                if !kept.is_empty() {
                    out.insert(k.clone(), Value::Object(kept));
                }
                continue;
            }
            let subs: Vec<&Option<String>> = want
                .iter()
                .filter(|(e, a, _)| e.is_none() && *a == lower)
                .map(|(_, _, s)| s)
                .collect();
            if subs.is_empty() {
                continue;
            }
            if subs.iter().any(|s| s.is_none()) {
                out.insert(k.clone(), x.clone());
                continue;
            }
            let keep_sub = |el: &Value| -> Value {
                match el {
                    Value::Object(m) => Value::Object(
                        m.iter()
                            .filter(|(sk, _)| {
                                subs.iter()
                                    .any(|s| s.as_deref() == Some(&sk.to_ascii_lowercase()))
                            })
                            .map(|(a, b)| (a.clone(), b.clone()))
                            .collect(),
                    ),
                    other => other.clone(),
                }
            };
            let projected = match x {
                Value::Array(a) => Value::Array(a.iter().map(keep_sub).collect()),
                other => keep_sub(other),
            };
            out.insert(k.clone(), projected);
        }
        *o = out;
        return;
    }
    if let Some(list) = excluded.filter(|s| !s.trim().is_empty()) {
        for (e, a, sub) in paths(list, r) {
            let container = match e {
                Some(_) => match ext_key
                    .as_ref()
                    .and_then(|k| o.get_mut(k))
                    .and_then(Value::as_object_mut)
                {
                    Some(c) => c,
                    None => continue,
                },
                None => &mut *o,
            };
            if a.is_empty() {
                continue;
            }
            if a == "id" || a == "schemas" {
                continue;
            }
            let Some(k) = key_of(container, &a) else {
                continue;
            };
            match sub {
                None => {
                    container.remove(&k);
                }
                Some(s) => {
                    let strip = |el: &mut Value| {
                        if let Some(m) = el.as_object_mut()
                            && let Some(sk) = key_of(m, &s)
                        {
                            m.remove(&sk);
                        }
                    };
                    match container.get_mut(&k) {
                        Some(Value::Array(items)) => items.iter_mut().for_each(strip),
                        Some(el) => strip(el),
                        None => {}
                    }
                }
            }
        }
        if let Some(k) = ext_key
            && o.get(&k)
                .and_then(Value::as_object)
                .is_some_and(Map::is_empty)
        {
            o.remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use serde_json::json;

    const SAP: &str = "urn:ietf:params:scim:schemas:extension:sap:2.0:User";

    fn doc(v: Value) -> Doc {
        v.as_object().unwrap().clone()
    }

    fn ops(list: Value) -> Value {
        json!({"schemas": [PATCH_OP], "Operations": list})
    }

    #[test]
    fn writable_drops_read_only_and_keeps_the_rest() {
        let d = writable(
            &json!({
                "schemas": ["x"], "id": "nope", "meta": {},
                "USERNAME": "a", "externalId": "E1", "groups": [{"value": "g"}],
                "nickName": null, "emails": [],
                SAP: {"userId": "P1", "sourceSystem": 101, "passwordDetails": {"setTime": "t", "policy": "p"}}
            }),
            Resource::User,
        )
        .unwrap();
        assert_eq!(
            Value::Object(d),
            json!({"userName": "a", "externalId": "E1", SAP: {"sourceSystem": 101, "passwordDetails": {"policy": "p"}}})
        );
        assert!(writable(&json!([]), Resource::User).is_err());
    }

    #[test]
    fn patch_adds_replaces_and_removes() {
        let mut d = doc(json!({"userName": "a", "emails": [{"value": "a@x", "type": "work"}]}));
        patch(
            &mut d,
            &ops(json!([
                {"op": "add", "path": "emails", "value": [{"value": "b@x", "type": "home"}]},
                {"op": "Replace", "path": "name.givenName", "value": "Ann"},
                {"op": "add", "path": format!("{SAP}:sourceSystem"), "value": 101},
                {"op": "add", "value": {"title": "Dr", SAP: {"industry": "Retail"}}},
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "c@x"},
            ])),
            Resource::User,
        )
        .unwrap();
        assert_eq!(
            Value::Object(d.clone()),
            json!({
                "userName": "a", "title": "Dr", "name": {"givenName": "Ann"},
                "emails": [{"value": "c@x", "type": "work"}, {"value": "b@x", "type": "home"}],
                SAP: {"sourceSystem": 101, "industry": "Retail"}
            })
        );
        patch(
            &mut d,
            &ops(json!([
                {"op": "remove", "path": "emails[type eq \"home\"]"},
                {"op": "remove", "path": format!("{SAP}:sourceSystem")},
                {"op": "remove", "path": "TITLE"},
            ])),
            Resource::User,
        )
        .unwrap();
        assert_eq!(d["emails"], json!([{"value": "c@x", "type": "work"}]));
        assert_eq!(d[SAP], json!({"industry": "Retail"}));
        assert!(d.get("title").is_none());
        // All or nothing: a failing operation leaves the document as it was.
        let before = d.clone();
        let err = patch(
            &mut d,
            &ops(json!([
                {"op": "remove", "path": "name"},
                {"op": "remove", "path": "emails[type eq \"fax\"]"},
            ])),
            Resource::User,
        )
        .unwrap_err();
        assert_eq!(err.scim_type(), "noTarget");
        assert_eq!(d, before);
        for bad in [
            json!({"Operations": []}),
            json!({"schemas": [PATCH_OP]}),
            json!([]),
        ] {
            assert_eq!(
                patch(&mut d, &bad, Resource::User).unwrap_err().scim_type(),
                "invalidSyntax"
            );
        }
        let e = patch(
            &mut d,
            &ops(json!([{"op": "add", "path": format!("{SAP}:userId"), "value": "P9"}])),
            Resource::User,
        )
        .unwrap_err();
        assert_eq!(e.scim_type(), "mutability");
    }

    #[test]
    fn a_new_primary_value_takes_primary_from_the_others() {
        let mut d = doc(json!({"userName": "a", "emails": [{"value": "a@x", "primary": true}]}));
        patch(
            &mut d,
            &ops(json!([{"op": "add", "path": "emails", "value": [{"value": "b@x", "primary": true}]}])),
            Resource::User,
        )
        .unwrap();
        assert_eq!(
            d["emails"],
            json!([{"value": "a@x", "primary": false}, {"value": "b@x", "primary": true}])
        );
    }

    #[test]
    fn group_members_are_removed_by_filter() {
        let mut d = doc(
            json!({"displayName": "g", "members": [{"value": "u1", "type": "User"}, {"value": "u2"}]}),
        );
        patch(
            &mut d,
            &ops(json!([{"op": "remove", "path": "members[value eq \"u1\"]", "value": null}])),
            Resource::Group,
        )
        .unwrap();
        assert_eq!(d["members"], json!([{"value": "u2"}]));
        patch(
            &mut d,
            &ops(json!([{"op": "remove", "path": "members", "value": [{"value": "u2"}]}])),
            Resource::Group,
        )
        .unwrap();
        assert!(d.get("members").is_none());
    }

    #[test]
    fn projection_keeps_or_drops_attributes() {
        let user = json!({"id": "1", "schemas": ["s"], "userName": "a", "title": "t",
            "name": {"givenName": "g", "familyName": "f"}, SAP: {"sourceSystem": 101, "status": "active"}});
        let mut v = user.clone();
        project(
            &mut v,
            Some(
                "title,name.givenName, urn:ietf:params:scim:schemas:extension:sap:2.0:User:status",
            ),
            None,
            Resource::User,
        );
        assert_eq!(
            v,
            json!({"id": "1", "schemas": ["s"], "title": "t", "name": {"givenName": "g"}, SAP: {"status": "active"}})
        );
        let mut v = user.clone();
        project(
            &mut v,
            None,
            Some(
                "title,id,urn:ietf:params:scim:schemas:extension:sap:2.0:User:sourceSystem,urn:ietf:params:scim:schemas:extension:sap:2.0:User:status",
            ),
            Resource::User,
        );
        assert_eq!(
            v,
            json!({"id": "1", "schemas": ["s"], "userName": "a", "name": {"givenName": "g", "familyName": "f"}})
        );
    }
}
