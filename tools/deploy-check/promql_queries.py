#!/usr/bin/python3
"""Extracts every PromQL expression of the dashboards and rules, and runs them against a live
Prometheus (used by scripts/promql_e2e.sh).

  promql_queries.py --src SRC_DIR --list
  promql_queries.py --src SRC_DIR --run http://127.0.0.1:9090 [--deadline-seconds 30]

Grafana variables are replaced the way a default dashboard would send them:
$__rate_interval -> 1m, $__interval -> 15s, $__range -> 5m, $site/$site_id/$ap -> .* (the
"All" value), $topn -> 20 (its largest choice).
--run fails (exit 1) when any expression errors, or when a dashboard expression returns no
series; empty dashboard results are retried until the deadline because some series appear only
after the first poll rounds. Rule expressions only have to evaluate without error (an alert
expression is empty while nothing is wrong), and so do dashboard expressions that use a family
marked optional in exporter_metrics.yaml (problem-only series, features off unless configured,
families newer than the exporter under test) or that filter with a comparison (a list of
problems is empty while all is well).
"""

import argparse
import glob
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import yaml

SUBSTITUTIONS = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__range": "5m",
    "site": ".*",
    "site_id": ".*",
    "ap": ".*",
    "topn": "20",
}

HERE = os.path.dirname(os.path.abspath(__file__))
# A comparison that filters (not "bool"): "> 0", "== 0", "< 1" ...
FILTER_RE = re.compile(r"(?:==|!=|>=|<=|>|<)\s*(?!bool\b)[0-9]")


def optional_families(metrics_file=os.path.join(HERE, "exporter_metrics.yaml")):
    with open(metrics_file) as f:
        spec = yaml.safe_load(f)
    return {name for name, m in spec["metrics"].items() if m.get("optional")}


def may_be_empty(expr, optional):
    if FILTER_RE.search(expr):
        return True
    return any(re.search(r"\b%s(?:_bucket|_sum|_count)?\b" % re.escape(m), expr) for m in optional)


def substitute(expr):
    def repl(m):
        name = m.group(1) or m.group(2)
        if name.isdigit():
            return m.group(0)  # a label_replace() capture group such as "$1"
        if name not in SUBSTITUTIONS:
            raise ValueError(f"unknown Grafana variable ${name} in {expr!r}")
        return SUBSTITUTIONS[name]

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", repl, expr)


def collect(src):
    """Returns [(kind, where, expr)] with kind 'dashboard' or 'rule'."""
    out = []
    for path in sorted(glob.glob(os.path.join(src, "dashboards", "*.json"))):
        with open(path) as f:
            dash = json.load(f)
        panels = []
        for p in dash.get("panels", []):
            panels.append(p)
            panels.extend(p.get("panels", []) or [])
        for p in panels:
            for t in p.get("targets", []) or []:
                if t.get("expr"):
                    where = f"{os.path.basename(path)} panel {p.get('id')} {p.get('title')!r} {t.get('refId')}"
                    out.append(("dashboard", where, substitute(t["expr"])))
        for v in dash.get("templating", {}).get("list", []):
            q = v.get("query")
            q = q.get("query") if isinstance(q, dict) else q
            m = (re.match(r"label_values\((.*),\s*(\w+)\)$", q or "")
                 or re.match(r"query_result\((.*)\)$", q or "", re.S))
            if v.get("type") == "query" and m:
                # The variable query: its series selector must find series.
                out.append(("dashboard", f"{os.path.basename(path)} variable {v['name']}",
                            substitute(m.group(1))))
    with open(os.path.join(src, "deploy", "prometheus", "rules.yml")) as f:
        rules = yaml.safe_load(f)
    for g in rules["groups"]:
        for r in g["rules"]:
            name = r.get("alert") or r.get("record")
            out.append(("rule", f"rules.yml {g['name']} {name}", r["expr"]))
    return out


def query(base, expr):
    """Returns (error or None, number of series/samples)."""
    data = urllib.parse.urlencode({"query": expr}).encode()
    req = urllib.request.Request(base.rstrip("/") + "/api/v1/query", data=data, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = json.load(resp)
    except urllib.error.HTTPError as e:
        try:
            body = json.load(e)
        except Exception:  # pylint: disable=broad-except
            return f"HTTP {e.code}", 0
    except Exception as e:  # pylint: disable=broad-except
        return f"request failed: {e}", 0
    if body.get("status") != "success":
        return f"{body.get('errorType')}: {body.get('error')}", 0
    result = body["data"]["result"]
    if body["data"]["resultType"] in ("scalar", "string"):
        return None, 1
    return None, len(result)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--src", required=True)
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--run", metavar="PROMETHEUS_URL")
    ap.add_argument("--deadline-seconds", type=float, default=30)
    args = ap.parse_args()

    exprs = collect(args.src)
    if args.list:
        for kind, where, expr in exprs:
            print(f"{kind}\t{where}\t{expr}")
        return 0
    if not args.run:
        ap.error("--list or --run required")

    optional = optional_families()
    exprs = [("dashboard-optional" if k == "dashboard" and may_be_empty(e, optional) else k, w, e)
             for k, w, e in exprs]
    deadline = time.monotonic() + args.deadline_seconds
    pending = list(exprs)
    errors, counts = [], {}
    while True:
        still_empty = []
        for item in pending:
            kind, where, expr = item
            err, n = query(args.run, expr)
            if err:
                errors.append(f"ERROR {where}: {err}\n      {expr}")
                continue
            counts[where] = n
            if kind == "dashboard" and n == 0:
                still_empty.append(item)
        pending = still_empty
        if not pending or errors or time.monotonic() > deadline:
            break
        time.sleep(2)

    for kind, where, expr in exprs:
        if where in counts and not any(where == p[1] for p in pending):
            print(f"ok    {kind:18} {counts[where]:4} series  {where}")
    for e in errors:
        print(e)
    for _, where, expr in pending:
        print(f"EMPTY {where}: no series\n      {expr}")
    n_dash = sum(1 for k, _, _ in exprs if k.startswith("dashboard"))
    print(f"{len(exprs)} expressions ({n_dash} dashboard, {len(exprs) - n_dash} rule): "
          f"{len(errors)} errors, {len(pending)} dashboard expressions without series")
    return 1 if errors or pending else 0


if __name__ == "__main__":
    sys.exit(main())
