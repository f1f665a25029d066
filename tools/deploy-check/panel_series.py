#!/usr/bin/python3
"""Counts the series every dashboard panel returns from a live Prometheus (used by
scripts/fleet_dashboards.sh).

  panel_series.py --src SRC_DIR --prometheus http://127.0.0.1:9090 \
      [--range-seconds 180] [--max-series 20] [--step-seconds 5]

Variables take the values that draw the most: $site/$site_id/$ap -> .* ("All"), $topn -> its
largest choice, $__range -> the range queried. Targets of graphs run as range queries over the
last --range-seconds (a graph draws every series that appears at any step, so a topk that
picks different series at different steps shows up here), instant targets as instant
queries. A panel's count: for tables, the largest target (the targets of a table are merged
into one row per key, and all of ours are restricted to the same top-N keys); for the other
panels, the sum over the targets. Prints one line per panel; exit 1 when a panel returns more
than --max-series or a query fails. Empty results are reported, not failed: families newer
than the exporter under test, and problem lists while nothing fails, are empty.
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

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import promql_queries  # noqa: E402  (same directory: substitutions and the query helper)


def substitute(expr, values):
    def repl(m):
        name = m.group(1) or m.group(2)
        if name.isdigit():
            return m.group(0)
        if name not in values:
            raise ValueError(f"unknown Grafana variable ${name} in {expr!r}")
        return values[name]

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", repl, expr)


def run(base, path, params):
    data = urllib.parse.urlencode(params).encode()
    req = urllib.request.Request(base.rstrip("/") + path, data=data, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            body = json.load(resp)
    except urllib.error.HTTPError as e:
        try:
            body = json.load(e)
        except Exception:  # pylint: disable=broad-except
            return f"HTTP {e.code}", None
    except Exception as e:  # pylint: disable=broad-except
        return f"request failed: {e}", None
    if body.get("status") != "success":
        return f"{body.get('errorType')}: {body.get('error')}", None
    return None, body["data"]


def series_count(data):
    if data["resultType"] in ("scalar", "string"):
        return 1
    keys = {tuple(sorted((k, v) for k, v in r["metric"].items() if k != "__name__"))
            for r in data["result"]}
    return len(keys)


def topn_max(dash):
    for v in dash.get("templating", {}).get("list", []):
        if v.get("name") == "topn":
            return str(max(int(x) for x in str(v.get("query", "")).split(",")))
    return "20"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--src", required=True)
    ap.add_argument("--prometheus", required=True)
    ap.add_argument("--range-seconds", type=int, default=180)
    ap.add_argument("--step-seconds", type=int, default=5)
    ap.add_argument("--max-series", type=int, default=20)
    args = ap.parse_args()

    end = time.time()
    start = end - args.range_seconds
    rows, errors, over = [], [], 0
    for path in sorted(glob.glob(os.path.join(args.src, "dashboards", "*.json"))):
        with open(path) as f:
            dash = json.load(f)
        values = dict(promql_queries.SUBSTITUTIONS)
        values.update({"__range": f"{args.range_seconds}s", "topn": topn_max(dash)})
        name = os.path.basename(path)
        panels = []
        for p in dash.get("panels", []):
            panels.append(p)
            panels.extend(p.get("panels", []) or [])
        for p in panels:
            if p.get("type") == "row":
                continue
            counts = []
            for t in p.get("targets", []) or []:
                expr = substitute(t["expr"], values)
                if t.get("instant"):
                    err, data = run(args.prometheus, "/api/v1/query", {"query": expr, "time": end})
                else:
                    err, data = run(args.prometheus, "/api/v1/query_range",
                                    {"query": expr, "start": start, "end": end, "step": args.step_seconds})
                if err:
                    errors.append(f"ERROR {name} panel {p['id']} {p['title']!r} {t.get('refId')}: {err}\n      {expr}")
                    continue
                counts.append(series_count(data))
            n = (max(counts) if p.get("type") == "table" else sum(counts)) if counts else 0
            status = "OK" if n <= args.max_series else "TOO MANY"
            over += n > args.max_series
            kind = "instant" if all(t.get("instant") for t in p.get("targets", [])) else "range"
            rows.append((name, p["id"], p["type"], kind, n, status, p["title"]))

    wt = max(len(r[6]) for r in rows)
    print(f"{'dashboard':<14} {'id':>3}  {'type':<11} {'query':<7} {'series':>6}  {'':<8} panel")
    for name, pid, ptype, kind, n, status, title in rows:
        print(f"{name:<14} {pid:>3}  {ptype:<11} {kind:<7} {n:>6}  {status:<8} {title}")
    for e in errors:
        print(e)
    empty = sum(1 for r in rows if r[4] == 0)
    print(f"{len(rows)} panels: max {max(r[4] for r in rows)} series per panel (limit "
          f"{args.max_series}), {over} over the limit, {empty} empty, {len(errors)} query errors")
    return 1 if over or errors else 0


if __name__ == "__main__":
    sys.exit(main())
