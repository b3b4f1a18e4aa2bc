"""Helpers of scripts/check-deploy (run with Debian's /usr/bin/python3 and python3-yaml).

    check-deploy.py example PROM                  the exposition sample follows the metric contract
    check-deploy.py names FILE...                 metric and label names in the PromQL of rules
                                                  files (.yml) and dashboards (.json) exist
    check-deploy.py grafana DASHBOARD OUTDIR PROM dashboard structure; writes OUTDIR/exprs.rules.yml
                                                  (every expression as a recording rule, for
                                                  `promtool check rules`) and OUTDIR/exprs.test.yml
                                                  (each expression must return data on
                                                  the sample PROM, for `promtool test rules`)
    check-deploy.py k8s FILE...                   manifests: YAML, fields the deployment relies on
    check-deploy.py shard-command FILE            prints N, then the shard pod's shell command as
                                                  Kubernetes hands it to /bin/sh ($(VAR) expanded)
    check-deploy.py cron-command FILE             the same for the CronJob's command
    check-deploy.py shard-args N I ARGS_FILE      the stub's record of pod I's arguments is right
    check-deploy.py cron-args ARGS_FILE           the same for the CronJob's run
    check-deploy.py dockerfile DOCKERFILE DOCKERIGNORE

Exit status 1 with a message on stderr when a check fails.
"""

import json
import os
import re
import sys

import yaml

# The fixed metric contract: family -> (type, labels).
FAMILIES = {
    "mtls_audit_tenant_risk": ("gauge", ["tenant_id", "ips_type", "environment", "owner"]),
    "mtls_audit_tenant_ready": ("gauge", ["tenant_id"]),
    "mtls_audit_certificate_not_after_timestamp_seconds": ("gauge", ["tenant_id", "target"]),
    "mtls_audit_certificate_not_before_timestamp_seconds": ("gauge", ["tenant_id", "target"]),
    "mtls_audit_finding": ("gauge", ["tenant_id", "code", "target", "level"]),
    "mtls_audit_tenants": ("gauge", ["risk"]),
    "mtls_audit_inventory_errors": ("gauge", []),
    "mtls_audit_last_run_timestamp_seconds": ("gauge", []),
    "mtls_audit_last_run_duration_seconds": ("gauge", []),
    "mtls_audit_last_run_success": ("gauge", []),
    "mtls_audit_runs_total": ("counter", []),
    "mtls_audit_cutover_timestamp_seconds": ("gauge", []),
    "mtls_audit_deadline_timestamp_seconds": ("gauge", []),
    "mtls_audit_inventory_load_errors_total": ("counter", []),
}
LEVELS = ["OK", "WARN", "UNKNOWN", "AT_RISK", "FAILING"]
# Labels Prometheus adds when it scrapes a target.
TARGET_LABELS = ["job", "instance"]
# Values given to the dashboard's template variables before an expression is checked.
GRAFANA_VARS = {
    "environment": ".*",
    "ips_type": ".*",
    "__rate_interval": "5m",
    "__interval": "1m",
    "__range": "1h",
}


class CheckError(Exception):
    pass


def fail(msg):
    raise CheckError(msg)


# --- exposition format ---------------------------------------------------------------------------

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)')


def parse_labels(text, where):
    labels, pos = {}, 0
    while pos < len(text):
        m = _LABEL.match(text, pos)
        if not m:
            fail(f"{where}: cannot parse labels {{{text}}}")
        name = m.group(1)
        if name in labels:
            fail(f"{where}: label {name} twice")
        labels[name] = re.sub(r"\\(.)", lambda e: {"n": "\n"}.get(e.group(1), e.group(1)), m.group(2))
        pos = m.end()
    return labels


def parse_exposition(path):
    """Returns ({family: {"help", "type", "samples": [(labels, value)]}}, [(name, labels, value)])."""
    families, samples = {}, []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            where = f"{path}:{n}"
            if not line.strip():
                continue
            if line.startswith("#"):
                parts = line.split(None, 3)
                if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                    fam = families.setdefault(parts[2], {"samples": []})
                    key = parts[1].lower()
                    if key in fam:
                        fail(f"{where}: second {parts[1]} line for {parts[2]}")
                    fam[key] = parts[3] if len(parts) > 3 else ""
                continue
            m = _SAMPLE.match(line)
            if not m:
                fail(f"{where}: not a sample line: {line}")
            name, labels, value = m.group(1), parse_labels(m.group(3) or "", where), m.group(4)
            try:
                value = float(value)
            except ValueError:
                fail(f"{where}: value {value!r} is not a number")
            if name not in families:
                fail(f"{where}: sample of {name} before its HELP/TYPE lines")
            families[name]["samples"].append((labels, value))
            samples.append((name, labels, value))
    return families, samples


def check_example(path):
    families, samples = parse_exposition(path)
    missing = sorted(set(FAMILIES) - set(families))
    extra = sorted(set(families) - set(FAMILIES))
    if missing or extra:
        fail(f"{path}: families differ from the contract: missing {missing}, unexpected {extra}")
    seen = set()
    for name, labels, _ in samples:
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            fail(f"{path}: duplicate series {name}{labels}")
        seen.add(key)
    for name, (typ, labelnames) in FAMILIES.items():
        fam = families[name]
        if fam.get("type") != typ:
            fail(f"{path}: {name} has TYPE {fam.get('type')}, the contract says {typ}")
        if not fam.get("help"):
            fail(f"{path}: {name} has no HELP text")
        if not fam["samples"]:
            fail(f"{path}: {name} has no sample")
        for labels, _ in fam["samples"]:
            if sorted(labels) != sorted(labelnames):
                fail(f"{path}: {name} has labels {sorted(labels)}, the contract says {sorted(labelnames)}")
    risk = {l["tenant_id"]: v for l, v in families["mtls_audit_tenant_risk"]["samples"]}
    for tenant, v in risk.items():
        if v not in (0, 1, 2, 3, 4):
            fail(f"{path}: tenant {tenant} has risk {v}, not 0..4")
    for l, v in families["mtls_audit_tenant_ready"]["samples"]:
        if v not in (0, 1):
            fail(f"{path}: tenant_ready of {l['tenant_id']} is {v}, not 0 or 1")
        if l["tenant_id"] not in risk:
            fail(f"{path}: tenant_ready of {l['tenant_id']}, a tenant without tenant_risk")
    worst = {}
    for l, v in families["mtls_audit_finding"]["samples"]:
        if v != 1 or l["level"] not in LEVELS:
            fail(f"{path}: finding {l} has value {v} or an unknown level")
        if l["tenant_id"] not in risk:
            fail(f"{path}: finding of {l['tenant_id']}, a tenant without tenant_risk")
        worst[l["tenant_id"]] = max(worst.get(l["tenant_id"], 0), LEVELS.index(l["level"]))
    for tenant, v in risk.items():
        if worst.get(tenant, 0) != v:
            fail(f"{path}: tenant {tenant} has risk {v} but its worst finding is level {worst.get(tenant, 0)}")
    counts = {l["risk"]: v for l, v in families["mtls_audit_tenants"]["samples"]}
    if sorted(counts) != sorted(LEVELS):
        fail(f"{path}: mtls_audit_tenants should have one series per level {LEVELS}, has {sorted(counts)}")
    for i, level in enumerate(LEVELS):
        n = sum(1 for v in risk.values() if v == i)
        if counts[level] != n:
            fail(f"{path}: mtls_audit_tenants{{risk=\"{level}\"}} is {counts[level]}, the tenants say {n}")
    for fam in ("mtls_audit_certificate_not_after_timestamp_seconds",
                "mtls_audit_certificate_not_before_timestamp_seconds"):
        for l, _ in families[fam]["samples"]:
            if l["tenant_id"] not in risk:
                fail(f"{path}: {fam} of {l['tenant_id']}, a tenant without tenant_risk")
    success = families["mtls_audit_last_run_success"]["samples"][0][1]
    if success not in (0, 1):
        fail(f"{path}: mtls_audit_last_run_success is {success}")
    print(f"{path}: {len(families)} families, {len(samples)} series, {len(risk)} tenants: follows the contract")
    return families


# --- PromQL names ----------------------------------------------------------------------------------

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_SELECTOR = re.compile(r"\b(mtls_audit_[a-zA-Z0-9_:]*)\s*\{([^}]*)\}")
_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_FUNC_LABEL_ARGS = re.compile(r"\b(label_replace|label_join)\s*\(")


def check_expr_names(expr, where):
    """Every mtls_audit_* name is a family of the contract; every label a selector or grouping
    names belongs to its family (or to the scrape target)."""
    errors = []
    without_strings = _STRING.sub('""', expr)
    if _FUNC_LABEL_ARGS.search(without_strings):
        errors.append(f"{where}: label_replace/label_join are not checked by this script: {expr}")
    for name in re.findall(r"\bmtls_audit_[a-zA-Z0-9_:]*", without_strings):
        if name not in FAMILIES:
            errors.append(f"{where}: unknown metric {name} in: {expr}")
    for m in _SELECTOR.finditer(expr):
        fam = m.group(1)
        if fam not in FAMILIES:
            continue
        body = _STRING.sub('""', m.group(2))
        for lm in _MATCHER.finditer(body):
            if lm.group(1) not in FAMILIES[fam][1] + TARGET_LABELS + ["__name__"]:
                errors.append(f"{where}: {fam} has no label {lm.group(1)}: {expr}")
    all_labels = {l for _, labels in FAMILIES.values() for l in labels} | set(TARGET_LABELS)
    for m in _GROUPING.finditer(without_strings):
        for label in filter(None, (x.strip() for x in m.group(2).split(","))):
            if label not in all_labels:
                errors.append(f"{where}: {m.group(1)}({label}) names a label no family has: {expr}")
    return errors


def rule_exprs(path):
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    for group in doc["groups"]:
        for rule in group["rules"]:
            yield f"{path}: {rule.get('alert') or rule.get('record')}", rule["expr"]


def substitute(expr, where):
    def repl(m):
        name = m.group(1) or m.group(2)
        if name not in GRAFANA_VARS:
            fail(f"{where}: unknown template variable ${name} in: {expr}")
        return GRAFANA_VARS[name]
    out = re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", repl, expr)
    if "$" in out:
        fail(f"{where}: '$' left after substituting the template variables: {out}")
    return out


def walk_panels(panels):
    for p in panels:
        yield p
        yield from walk_panels(p.get("panels", []))


def dashboard_exprs(path):
    """(where, expr with variables substituted); label_values(SELECTOR, LABEL) gives
    `count by (LABEL) (SELECTOR)`."""
    with open(path, encoding="utf-8") as f:
        dash = json.load(f)
    out = []
    for p in walk_panels(dash.get("panels", [])):
        for t in p.get("targets", []):
            if "expr" in t:
                where = f"{path}: panel {p.get('id')} '{p.get('title')}' target {t.get('refId')}"
                out.append((where, substitute(t["expr"], where)))
    for a in dash.get("annotations", {}).get("list", []):
        if a.get("expr"):
            where = f"{path}: annotation '{a.get('name')}'"
            out.append((where, substitute(a["expr"], where)))
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        where = f"{path}: variable {v.get('name')}"
        m = re.fullmatch(r"\s*label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*", q or "")
        if not m:
            fail(f"{where}: expected label_values(SELECTOR, LABEL), got {q!r}")
        out.append((where, substitute(f"count by ({m.group(2)}) ({m.group(1)})", where)))
    return dash, out


def check_names(paths):
    errors, n = [], 0
    for path in paths:
        if path.endswith(".json"):
            _, exprs = dashboard_exprs(path)
        else:
            exprs = list(rule_exprs(path))
        for where, expr in exprs:
            errors += check_expr_names(expr, where)
            n += 1
    if errors:
        fail("\n".join(errors))
    print(f"{n} expressions in {', '.join(paths)}: every metric and label name is in the contract")


# --- Grafana -------------------------------------------------------------------------------------

def check_grafana(path, outdir, example):
    dash, exprs = dashboard_exprs(path)
    if not isinstance(dash.get("schemaVersion"), int) or dash["schemaVersion"] < 36:
        fail(f"{path}: schemaVersion {dash.get('schemaVersion')!r}, expected about 39")
    if not dash.get("uid") or not dash.get("title"):
        fail(f"{path}: no uid or title")
    names = [v.get("name") for v in dash.get("templating", {}).get("list", [])]
    for want in ("DS_PROMETHEUS", "environment", "ips_type"):
        if want not in names:
            fail(f"{path}: no template variable {want} (has {names})")
    if not any(i.get("name") == "DS_PROMETHEUS" for i in dash.get("__inputs", [])):
        fail(f"{path}: no DS_PROMETHEUS in __inputs")
    ids = set()
    for p in walk_panels(dash.get("panels", [])):
        if p.get("id") in ids:
            fail(f"{path}: panel id {p.get('id')} twice")
        ids.add(p.get("id"))
        g = p.get("gridPos", {})
        if g.get("x", 0) + g.get("w", 0) > 24:
            fail(f"{path}: panel '{p.get('title')}' goes past column 24")
        if p.get("type") == "row":
            continue
        refs = [p.get("datasource")] + [t.get("datasource") for t in p.get("targets", [])]
        for ds in refs:
            if ds != {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}:
                fail(f"{path}: panel '{p.get('title')}' uses datasource {ds}, not ${{DS_PROMETHEUS}}")
        if not p.get("targets"):
            fail(f"{path}: panel '{p.get('title')}' has no query")
    text = json.dumps(dash)
    for phrase in ("count(mtls_audit_tenant_ready == 0", "count by (environment)",
                   "mtls_audit_certificate_not_after_timestamp_seconds - time()) / 86400"):
        if phrase not in text:
            fail(f"{path}: no query with {phrase!r}")
    os.makedirs(outdir, exist_ok=True)
    rules = {"groups": [{"name": "grafana-expressions", "rules": [
        {"record": f"grafana_expr_{i}", "expr": e} for i, (_, e) in enumerate(exprs)]}]}
    with open(os.path.join(outdir, "exprs.rules.yml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(rules, f, sort_keys=False, width=1000)
    # Each expression must return data on the sample exposition, scraped every minute.
    families, _ = parse_exposition(example)
    series = []
    for name, fam in families.items():
        for labels, value in fam["samples"]:
            labels = {**labels, "job": "mtls-audit", "instance": "mtls-audit:9750"}
            body = ",".join(f'{k}="{json.dumps(v)[1:-1]}"' for k, v in labels.items())
            series.append({"series": f"{name}{{{body}}}", "values": f"{value!r}x15"})
    tests = {
        "rule_files": [os.path.join(outdir, "exprs.rules.yml")],
        "evaluation_interval": "1m",
        "tests": [{
            "name": "every dashboard expression returns data on example.prom",
            "interval": "1m",
            "input_series": series,
            "promql_expr_test": [
                {"expr": f"clamp_max(count({e}), 1)", "eval_time": "10m",
                 "exp_samples": [{"labels": "{}", "value": 1}]}
                for _, e in exprs],
        }],
    }
    with open(os.path.join(outdir, "exprs.test.yml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(tests, f, sort_keys=False, width=1000)
    with open(os.path.join(outdir, "exprs.txt"), "w", encoding="utf-8") as f:
        for where, e in exprs:
            f.write(f"{where}\n    {e}\n")
    print(f"{path}: {len(ids)} panels, {len(exprs)} expressions extracted to {outdir}")


# --- Kubernetes ----------------------------------------------------------------------------------

def load_docs(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def pod_spec(doc):
    kind = doc["kind"]
    if kind in ("Deployment", "Job"):
        return doc["spec"]["template"]["spec"]
    if kind == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


def check_pod(doc, where):
    spec = pod_spec(doc)
    sc = spec.get("securityContext", {})
    if not sc.get("runAsNonRoot") or sc.get("runAsUser") != 10001:
        fail(f"{where}: pod must run as non-root user 10001")
    for c in spec["containers"]:
        csc = c.get("securityContext", {})
        if csc.get("readOnlyRootFilesystem") is not True or csc.get("allowPrivilegeEscalation") is not False:
            fail(f"{where}: container {c['name']}: readOnlyRootFilesystem true and allowPrivilegeEscalation false")
        if "resources" not in c:
            fail(f"{where}: container {c['name']} has no resources")
        mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
        vols = {v["name"] for v in spec.get("volumes", [])}
        for m in c.get("volumeMounts", []):
            if m["name"] not in vols:
                fail(f"{where}: volumeMount {m['name']} has no volume")
        if "/tmp" not in mounts:
            fail(f"{where}: container {c['name']} has a read-only root and no /tmp volume")


def check_k8s(paths):
    by_kind = {}
    for path in paths:
        docs = load_docs(path)
        if not docs:
            fail(f"{path}: no document")
        for d in docs:
            where = f"{path}: {d.get('kind')}/{d.get('metadata', {}).get('name')}"
            for key in ("apiVersion", "kind", "metadata"):
                if key not in d:
                    fail(f"{where}: no {key}")
            if "namespace" in d["metadata"]:
                fail(f"{where}: sets a namespace; the manifests are namespace-agnostic")
            if pod_spec(d) is not None:
                check_pod(d, where)
            by_kind.setdefault(d["kind"], []).append((path, d))
    for path, d in by_kind.get("Deployment", []):
        where = f"{path}: Deployment"
        if d["spec"].get("replicas") != 1:
            fail(f"{where}: replicas should be 1")
        c = d["spec"]["template"]["spec"]["containers"][0]
        for probe in ("livenessProbe", "readinessProbe"):
            get = c.get(probe, {}).get("httpGet", {})
            port = get.get("port")
            ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
            if get.get("path") != "/healthz" or ports.get(port, port) != 9750:
                fail(f"{where}: {probe} must GET /healthz on port 9750")
        ann = d["spec"]["template"]["metadata"].get("annotations", {})
        if ann.get("prometheus.io/scrape") != "true" or ann.get("prometheus.io/port") != "9750":
            fail(f"{where}: no prometheus.io scrape annotations on the pod template")
        mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
        if "/config" not in mounts:
            fail(f"{where}: /config is not mounted")
    svc = by_kind.get("Service", [])
    if not any(p.get("port") == 9750 and p.get("name") == "metrics" for _, s in svc for p in s["spec"]["ports"]):
        fail("no Service with port 9750 named metrics")
    for path, d in by_kind.get("CronJob", []):
        if d["spec"].get("concurrencyPolicy") != "Forbid":
            fail(f"{path}: CronJob concurrencyPolicy must be Forbid")
        vols = pod_spec(d).get("volumes", [])
        if not any("persistentVolumeClaim" in v for v in vols):
            fail(f"{path}: CronJob has no PersistentVolumeClaim")
    claims = {d["metadata"]["name"]: d for _, d in by_kind.get("PersistentVolumeClaim", [])}
    for path, d in by_kind.get("CronJob", []) + by_kind.get("Job", []):
        for v in pod_spec(d).get("volumes", []):
            claim = v.get("persistentVolumeClaim", {}).get("claimName")
            if claim and claim not in claims:
                fail(f"{path}: claim {claim} is not defined in the manifests")
    n = sum(len(v) for v in by_kind.values())
    print(f"{n} objects in {len(paths)} files ({', '.join(sorted(by_kind))}): fields checked")


# Kubernetes expands $(VAR) in command and args for the variables the container defines, turns
# $$ into $, and leaves anything else alone (k8s.io/kubernetes third_party/forked/golang/expansion).
def k8s_expand(s, env):
    out, i = [], 0
    while i < len(s):
        if s[i] == "$" and i + 1 < len(s):
            nxt = s[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
                continue
            if nxt == "(":
                close = s.find(")", i + 2)
                if close == -1:
                    out.append("$(")
                    i += 2
                    continue
                name = s[i + 2:close]
                out.append(env[name] if name in env else f"$({name})")
                i = close + 1
                continue
            out.append("$" + nxt)
            i += 2
            continue
        out.append(s[i])
        i += 1
    return "".join(out)


def shell_command(doc, extra_env=()):
    c = pod_spec(doc)["containers"][0]
    cmd = c.get("command", []) + c.get("args", [])
    if cmd[:2] != ["/bin/sh", "-c"] or len(cmd) != 3:
        fail(f"{doc['metadata']['name']}: expected command [/bin/sh, -c] and one script argument, got {cmd}")
    env = {e["name"]: e.get("value", "") for e in c.get("env", []) if "value" in e}
    for name in extra_env:
        env[name] = f"$({name})"  # set by Kubernetes in the pod; its value is not known here
    return k8s_expand(cmd[2], env)


def find(docs, kind, name=None):
    for d in docs:
        if d["kind"] == kind and (name is None or d["metadata"]["name"] == name):
            return d
    fail(f"no {kind} {name or ''}")


def shard_command(path):
    docs = load_docs(path)
    shards = next((d for d in docs if d["kind"] == "Job" and d["spec"].get("completionMode") == "Indexed"), None)
    if shards is None:
        fail(f"{path}: no Job with completionMode Indexed")
    n = shards["spec"].get("completions")
    if not isinstance(n, int) or n < 1 or shards["spec"].get("parallelism") != n:
        fail(f"{path}: completions ({n}) and parallelism ({shards['spec'].get('parallelism')}) must be the same N")
    merge = next((d for d in docs if d["kind"] == "Job" and d is not shards), None)
    if merge is None:
        fail(f"{path}: no merge Job")
    c = pod_spec(merge)["containers"][0]
    args = c.get("command", []) + c.get("args", [])
    want_dirs = [f"/data/shards/{i}" for i in range(1, n + 1)]
    if args[:1] != ["merge"] or args[1:1 + n] != want_dirs or args[1 + n:1 + n + 1] != ["--out"]:
        fail(f"{path}: merge must be given the {n} shard folders {want_dirs} then --out, got {args}")
    claim = lambda d: {v["persistentVolumeClaim"]["claimName"] for v in pod_spec(d)["volumes"] if "persistentVolumeClaim" in v}
    if claim(shards) != claim(merge):
        fail(f"{path}: the shard and merge Jobs use different volumes")
    pvc = find(docs, "PersistentVolumeClaim")
    if "ReadWriteMany" not in pvc["spec"]["accessModes"]:
        fail(f"{path}: the shards' volume must be ReadWriteMany")
    print(n)
    print(shell_command(shards, extra_env=["JOB_COMPLETION_INDEX"]))


def cron_command(path):
    print(shell_command(find(load_docs(path), "CronJob")))


def read_args(path):
    with open(path, encoding="utf-8") as f:
        return f.read().split("\n")[:-1]


def shard_args(n, i, path):
    n, i = int(n), int(i)
    args = read_args(path)

    def opt(name):
        if args.count(name) != 1:
            fail(f"pod {i}: {name} given {args.count(name)} times: {args}")
        return args[args.index(name) + 1]

    if args[:2] != ["audit", "/config/inventory.csv"]:
        fail(f"pod {i}: expected `audit /config/inventory.csv ...`, got {args}")
    if opt("--shard") != f"{i + 1}/{n}" or opt("--out") != f"/data/shards/{i + 1}" or opt("--format") != "json":
        fail(f"pod {i}: expected --shard {i + 1}/{n} --out /data/shards/{i + 1} --format json, got {args}")
    print(f"JOB_COMPLETION_INDEX={i}: mtls-audit audit /config/inventory.csv --shard {i + 1}/{n} --out /data/shards/{i + 1} --format json ...")


def cron_args(path):
    args = read_args(path)
    if args[:2] != ["audit", "/config/inventory.csv"]:
        fail(f"cron: expected `audit /config/inventory.csv ...`, got {args}")
    out = args[args.index("--out") + 1] if "--out" in args else ""
    if not re.fullmatch(r"/data/reports/\d{4}-\d\d-\d\dT\d{6}Z", out):
        fail(f"cron: --out {out!r} is not /data/reports/<UTC time>")
    if "--history" not in args or args[args.index("--history") + 1] != "/data/history.sqlite":
        fail(f"cron: no --history /data/history.sqlite in {args}")
    print(f"cron: mtls-audit audit /config/inventory.csv --history /data/history.sqlite --out {out} ...")


# --- Dockerfile ----------------------------------------------------------------------------------

def check_dockerfile(path, ignore):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    joined = re.sub(r"\\\n", " ", text)
    lines = [l.strip() for l in joined.splitlines() if l.strip() and not l.strip().startswith("#")]
    froms = [l for l in lines if l.upper().startswith("FROM ")]
    args = dict(re.findall(r"^ARG (\w+)=(\S+)", joined, re.M))
    resolved = [re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), l) for l in froms]
    if len(froms) < 2 or not resolved[0].startswith("FROM rust:1.95-bookworm ") or \
            not resolved[-1].startswith("FROM debian:bookworm-slim"):
        fail(f"{path}: expected a rust:1.95-bookworm build stage and a debian:bookworm-slim runtime, got {resolved}")
    runtime = lines[lines.index(froms[-1]):]
    want = {
        "USER 10001": lambda l: l == "USER 10001",
        "EXPOSE 9750": lambda l: l == "EXPOSE 9750",
        'ENTRYPOINT ["/usr/local/bin/mtls-audit"]': lambda l: l == 'ENTRYPOINT ["/usr/local/bin/mtls-audit"]',
        "CMD serve": lambda l: l == 'CMD ["serve", "/config/inventory.csv", "--listen", "0.0.0.0:9750"]',
        "LABEL org.opencontainers.image.*": lambda l: l.startswith("LABEL org.opencontainers.image."),
        "ca-certificates only": lambda l: "apt-get install" in l and
            re.search(r"install -y --no-install-recommends ca-certificates( |$)", l) is not None,
    }
    for what, test in want.items():
        if not any(test(l) for l in runtime):
            fail(f"{path}: the runtime stage lacks {what}")
    if "cargo build --release --locked --bin mtls-audit" not in joined:
        fail(f"{path}: no `cargo build --release --locked --bin mtls-audit`")
    if any(l.upper().startswith("HEALTHCHECK") for l in lines):
        fail(f"{path}: HEALTHCHECK needs curl, which the image does not have")
    with open(ignore, encoding="utf-8") as f:
        entries = {l.strip().rstrip("/") for l in f if l.strip() and not l.startswith("#")}
    for want in ("target", "reports", ".git", "fuzz/target"):
        if want not in entries:
            fail(f"{ignore}: does not exclude {want}")
    print(f"{path}: stages {[r.split()[1] for r in resolved]}, runtime user 10001, port 9750; {ignore}: ok")


def main(argv):
    cmd, args = argv[1], argv[2:]
    try:
        if cmd == "example":
            check_example(*args)
        elif cmd == "names":
            check_names(args)
        elif cmd == "grafana":
            check_grafana(*args)
        elif cmd == "k8s":
            check_k8s(args)
        elif cmd == "shard-command":
            shard_command(*args)
        elif cmd == "cron-command":
            cron_command(*args)
        elif cmd == "shard-args":
            shard_args(*args)
        elif cmd == "cron-args":
            cron_args(*args)
        elif cmd == "dockerfile":
            check_dockerfile(*args)
        else:
            fail(f"unknown subcommand {cmd}")
    except CheckError as e:
        print(e, file=sys.stderr)
        return 1
    except (OSError, yaml.YAMLError, json.JSONDecodeError, KeyError, IndexError, TypeError) as e:
        print(f"{cmd}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
