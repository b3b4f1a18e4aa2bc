"""Runs scim2-tester against one tenant of a running `mtls-audit sim` and compares the checks
that fail with the expected deviations (tests/scim2-tester/expected-deviations.txt).

Called by scripts/scim2-tester, which starts the simulator and passes its listening line. The
simulator routes by Host header and SNI, so the tenant is reached by its real host name on the
simulator's port: this process resolves that name to the simulator's address (like curl's
--resolve) and trusts the simulator's CA only.

Each check result gets a stable identifier, `<resource type or ->:<check>[:<qualifier>]`: the
qualifier is the attribute path of PATCH checks, the HTTP method of the discovery endpoints'
method checks, the schema or resource type of per-item discovery checks, else the result's
position when a check returns several. Exit status: 0 when the failing checks are exactly the
listed ones, 1 otherwise (a new deviation, or a listed one that no longer fails), 2 on usage
errors.
"""

import argparse
import datetime
import json
import random
import socket
import ssl
import sys
import tomllib
from collections import defaultdict

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
import scim2_tester.checkers.patch_add
import scim2_tester.checkers.patch_replace
import scim2_tester.filling
from scim2_models import Mutability, Required
from scim2_tester import Status, check_server

FAILING = {Status.ERROR, Status.CRITICAL}


def fill_dates_with_dates():
    """Works around a limitation of scim2-tester 0.5.2, not of the server: its random filler
    has no branch for RFC 7643 `dateTime` attributes and fills them with a UUID string, which
    its own models then refuse before any request is sent (IAS publishes `dateTime`
    sub-attributes, e.g. `emails.verifiedTime` of SAP's user extension, so every User check
    that fills all attributes would fail on the client). This gives them a date instead, with
    the filler's own mutability and required rules."""
    original = scim2_tester.filling.generate_random_value

    def generate_random_value(context, path, mutability=None, required=None):
        binding = path.resolve()
        if binding is not None and binding.target_type is datetime.datetime:
            if mutability is not None and binding.get_annotation(Mutability) not in mutability:
                return None
            if required is not None and binding.get_annotation(Required) not in required:
                return None
            now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
            value = now - datetime.timedelta(days=random.randint(0, 999))
            return [value] if binding.target_is_multivalued else value
        return original(context, path, mutability=mutability, required=required)

    for module in (
        scim2_tester.filling,
        scim2_tester.checkers.patch_add,
        scim2_tester.checkers.patch_replace,
    ):
        module.generate_random_value = generate_random_value


def resolve_to(host, address):
    """Makes `host` resolve to `address` in this process (the simulator's --resolve)."""
    real = socket.getaddrinfo

    def getaddrinfo(name, *args, **kwargs):
        if isinstance(name, bytes):
            name = name.decode()
        if name is not None and name.lower().rstrip(".") == host:
            name = address
        return real(name, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo


def qualifier(result):
    data = result.data if isinstance(result.data, dict) else {}
    if "urn" in data:
        return str(data["urn"])
    reason = result.reason or ""
    title = result.title or ""
    if title.endswith("_endpoint_methods"):
        return reason.split(" ", 1)[0]
    if title == "access_schema_by_id":
        for prefix in ("Successfully accessed schema: ", "Failed to access schema "):
            if reason.startswith(prefix):
                return reason[len(prefix) :].split(":", 1)[0] if "Failed" in prefix else reason[len(prefix) :]
    if title == "query_resource_type_by_id" and "/ResourceTypes/" in reason:
        return reason.split("/ResourceTypes/", 1)[1].split(" ", 1)[0]
    if title == "resource_types_schema_validation" and "'" in reason:
        return reason.split("'")[1]
    return None


def identify(results):
    """(identifier, result) for every result, identifiers unique."""
    groups = defaultdict(list)
    for r in results:
        groups[(r.resource_type or "-", r.title or "?")].append(r)
    out = []
    for (rtype, title), rs in groups.items():
        seen = defaultdict(int)
        for i, r in enumerate(rs, 1):
            q = qualifier(r)
            if q is None and len(rs) > 1:
                q = f"#{i}"
            ident = f"{rtype}:{title}" + (f":{q}" if q else "")
            seen[ident] += 1
            if seen[ident] > 1:
                ident = f"{ident}#{seen[ident]}"
            out.append((ident, r))
    return out


def load_expected(path):
    expected = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            ident, _, why = text.partition(" #")
            ident = ident.strip()
            if not why.strip():
                sys.exit(f"{path}:{n}: '{ident}' needs a reason after ' #'")
            expected[ident] = why.strip()
    return expected


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listening", required=True, help="the simulator's JSON line")
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--tenant", default=None, help="tenant ID (default: the first)")
    ap.add_argument("--admin", default="scim2-tester", help="the admin record to use")
    ap.add_argument("--expected", required=True)
    ap.add_argument("--report", required=True, help="where to write every result (JSON)")
    ap.add_argument("--seed", type=int, default=7, help="seed of scim2-tester's random values")
    args = ap.parse_args()

    line = json.loads(args.listening)
    url = httpx2.URL(line["listening"])
    with open(args.scenario, "rb") as f:
        scenario = tomllib.load(f)
    tenants = scenario["tenant"]
    tenant = next((t for t in tenants if t["id"] == args.tenant), None) if args.tenant else tenants[0]
    if tenant is None:
        sys.exit(f"no tenant {args.tenant} in {args.scenario}")
    admin = next((a for a in tenant.get("admin", []) if a["name"] == args.admin), None)
    if admin is None or not admin.get("secrets"):
        sys.exit(f"no admin '{args.admin}' with a secret on tenant {tenant['id']}")
    host = tenant["ias_host"].lower()
    resolve_to(host, url.host)

    random.seed(args.seed)
    fill_dates_with_dates()
    tls = ssl.create_default_context(cafile=line["ca"])
    http = httpx2.Client(
        base_url=f"https://{host}:{url.port}/scim",
        verify=tls,
        auth=(admin["client_id"], admin["secrets"][0]),
        timeout=30.0,
    )
    client = SyncSCIMClient(http)
    results = check_server(client)

    identified = identify(results)
    failing = {i: r for i, r in identified if r.status in FAILING}
    expected = load_expected(args.expected)
    report = [
        {
            "id": i,
            "status": r.status.name,
            "reason": r.reason,
            "data": repr(r.data)[:2000] if r.data is not None else None,
        }
        for i, r in identified
    ]
    with open(args.report, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)

    counts = defaultdict(int)
    for _, r in identified:
        counts[r.status.name] += 1
    print(
        f"scim2-tester against {host} ({tenant['id']}): {len(identified)} results, "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    )
    for i, r in identified:
        if r.status == Status.DEVIATION:
            print(f"  (SHOULD-level deviation, not a failure) {i}: {r.reason}")

    new = sorted(set(failing) - set(expected))
    fixed = sorted(set(expected) - set(failing))
    listed = sorted(set(expected) & set(failing))
    print(f"expected deviations that still fail: {len(listed)}/{len(expected)}")
    ok = True
    if new:
        ok = False
        print(f"\nNEW: {len(new)} checks fail that expected-deviations.txt does not list:")
        for i in new:
            print(f"  {i}\n      {failing[i].reason}")
    if fixed:
        ok = False
        ran = {i for i, _ in identified}
        print(f"\nNO LONGER FAILING: {len(fixed)} listed deviations (take them off the list):")
        for i in fixed:
            print(f"  {i}  ({'passes now' if i in ran else 'did not run'}; listed because: {expected[i]})")
    print(f"\nevery result: {args.report}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
