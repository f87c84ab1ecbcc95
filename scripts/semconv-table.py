#!/usr/bin/env python3
"""Derives tests/data/semconv.tsv, the compact table of semantic-convention facts that
tests/semantic_conventions.rs checks tracewire's spans and metrics against, from the model's
YAML in a copy of open-telemetry/semantic-conventions.

usage: python3 scripts/semconv-table.py REPO [OUT]
  REPO: a checkout, or a bare git directory (read with `git show HEAD:…`)
  OUT:  default tests/data/semconv.tsv

Rows (tab-separated):
  version  <commit of the model>
  attr     <name> <type> <stability> <deprecated: "-", or "renamed:<new>", or "removed">
  span     <group id> <span kind>
  metric   <group id> <metric name> <instrument> <unit>
  ref      <group id> <attribute> <requirement level: required, conditionally_required,
           recommended, opt_in>

Only the domains tracewire instruments (HTTP, RPC, database, messaging, and the attributes they
use) are kept; a group's attributes include those of the groups it extends, a group's own
requirement level winning. Run it after updating the model, commit the table: the test then
fails where tracewire drifted from it.
"""

import os
import subprocess
import sys

import yaml

DOMAINS = ("http", "rpc", "db", "messaging")
NAMESPACES = (
    "http.", "url.", "server.", "client.", "network.", "rpc.", "db.", "messaging.", "error.",
    "exception.", "user_agent.", "code.", "peer.",
)


def read_model(repo):
    """(path, text) of every YAML file under model/."""
    if os.path.isdir(os.path.join(repo, "model")):
        for root, _, files in os.walk(os.path.join(repo, "model")):
            for f in files:
                if f.endswith(".yaml"):
                    p = os.path.join(root, f)
                    yield p, open(p, encoding="utf-8").read()
        return
    names = subprocess.check_output(
        ["git", "-C", repo, "ls-tree", "-r", "--name-only", "HEAD", "model"], text=True
    ).split()
    for n in names:
        if n.endswith(".yaml"):
            yield n, subprocess.check_output(["git", "-C", repo, "show", f"HEAD:{n}"], text=True)


def commit(repo):
    try:
        return subprocess.check_output(["git", "-C", repo, "rev-parse", "--short", "HEAD"], text=True).strip()
    except Exception:
        return "unknown"


def attr_type(t):
    if isinstance(t, dict) and "members" in t:
        values = [m.get("value") for m in t["members"]]
        return "int" if all(isinstance(v, int) for v in values) else "string"
    return str(t)


def level(r):
    lv = r.get("requirement_level", "recommended")
    if isinstance(lv, dict):
        return next(iter(lv))
    return lv


def main():
    repo = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        os.path.dirname(__file__), "..", "tests", "data", "semconv.tsv")
    attrs, groups = {}, {}
    for _, text in read_model(repo):
        doc = yaml.safe_load(text) or {}
        # The model is moving to weaver's `definition/2` files: attributes keyed `key`, groups
        # in `attribute_groups`, spans in `spans` (their `type` the id, `kind` the span kind).
        v2 = []
        if doc.get("attributes"):
            v2.append({"id": "registry.v2", "type": "attribute_group",
                       "attributes": [dict(a, id=a["key"]) for a in doc["attributes"]]})
        for g in doc.get("attribute_groups", []):
            v2.append(dict(g, type="attribute_group"))
        for sp in doc.get("spans", []):
            v2.append(dict(sp, id="span." + sp["type"], type="span", span_kind=sp.get("kind", "-")))
        # A refinement (RabbitMQ's spans, ...) is the span it refines with its own attributes.
        for sp in doc.get("span_refinements", []):
            v2.append(dict(sp, type="span", extends="span." + sp["ref"], refines=True))
        for g in doc.get("groups", []) + v2:
            if g["id"] == "registry.v2":
                for a in g["attributes"]:
                    dep = a.get("deprecated")
                    d = "-" if dep is None else ("renamed:" + dep["renamed_to"]
                                                 if isinstance(dep, dict) and dep.get("renamed_to")
                                                 else "removed")
                    attrs[a["id"]] = (attr_type(a.get("type")), a.get("stability", "-"), d)
                continue
            groups[g["id"]] = g
            for a in g.get("attributes", []):
                if "id" in a:
                    dep = a.get("deprecated")
                    if dep is None:
                        d = "-"
                    elif isinstance(dep, dict) and dep.get("renamed_to"):
                        d = "renamed:" + dep["renamed_to"]
                    else:
                        d = "removed"
                    attrs[a["id"]] = (attr_type(a.get("type")), a.get("stability", "-"), d)

    def resolved(gid, seen=()):
        g = groups.get(gid)
        if g is None or gid in seen:
            return {}
        refs = dict(resolved(g["extends"], seen + (gid,))) if g.get("extends") else {}
        for a in g.get("attributes", []):
            if a.get("ref_group"):
                for name, lv in resolved(a["ref_group"], seen + (gid,)).items():
                    refs.setdefault(name, lv)
                continue
            name = a.get("ref") or a.get("id")
            # A ref that says no level keeps the one it inherits (recommended when new).
            if "requirement_level" in a or name not in refs:
                refs[name] = level(a)
        return refs

    rows = [("version", commit(repo))]
    for name in sorted(attrs):
        if name.startswith(NAMESPACES):
            rows.append(("attr", name) + attrs[name])
    for gid in sorted(groups):
        g = groups[gid]
        kind = g.get("type")
        wanted = any(gid.startswith(f"{kind}.{d}.") for d in DOMAINS)
        if kind not in ("span", "metric") or not wanted or g.get("deprecated"):
            continue
        if kind == "span":
            base = groups.get(g.get("extends", ""), {}) if g.get("refines") else {}
            rows.append(("span", gid, g.get("span_kind", base.get("span_kind", "-"))))
        else:
            rows.append(("metric", gid, g["metric_name"], g.get("instrument", "-"), g.get("unit", "-")))
        for name, lv in sorted(resolved(gid).items()):
            rows.append(("ref", gid, name, lv))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        f.write("# Derived by scripts/semconv-table.py from open-telemetry/semantic-conventions' model/ YAML; do not edit.\n")
        for r in rows:
            f.write("\t".join(str(x) for x in r) + "\n")
    print(f"semconv-table: {len(rows)} rows to {out}")


if __name__ == "__main__":
    main()
