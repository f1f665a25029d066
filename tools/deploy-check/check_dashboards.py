#!/usr/bin/python3
"""Checks the Grafana dashboards and Prometheus rules beyond what the JSON schema can see.

Usage (from the repository root):
  /usr/bin/python3 tools/deploy-check/check_dashboards.py \
      --rules deploy/prometheus/rules.yml [--docs docs/operations.md] \
      [--promtool promtool] dashboards/*.json

Dashboards: schemaVersion >= 39, unique uid, the datasource/site/site_id/ap variables (ap: a
query_result() over streaming and failed APs with inventory names), a custom topn variable
whose choices stay <= 20, data links that set only known variables, unique panel ids, gridPos inside the 24-column grid without overlaps, a datasource object on every panel and
target, a refId on every target. Expressions (dashboards and rules): every metric is one the
exporter exposes (exporter_metrics.yaml) or a recording rule, every label matcher names a label
that metric carries, every $variable is known; all dashboard expressions are parsed by
`promtool check rules` from a throwaway rules file. --docs: every metric and alert appears in
the operations guide, and every alert has its runbook anchor there.
Exit status 0 when everything passes, 1 otherwise; problems are printed one per line.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
SITE_QUERY = "label_values(mist_pcap_up, site)"
SITE_ID_QUERY = 'label_values(mist_pcap_up{site=~"$site"}, site_id)'
# The AP variable lists streaming and failed APs (a failed AP never streams) with their names
# from the inventory; a query_result() whose regex keeps the MAC as the value.
AP_QUERY_METRICS = ("mist_pcap_packets_total", "mist_pcap_capture_ap_failed", "mist_pcap_ap_info")
# Worst-N panels: the largest $topn a dashboard may offer (no panel draws more series).
MAX_TOPN = 20

# What Grafana's template variables become when the expressions are parsed or run.
SUBSTITUTIONS = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__range": "1h",
    "site": ".*",
    "site_id": ".*",
    "ap": ".*",
    "topn": str(MAX_TOPN),
}

AGGREGATORS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
               "bottomk", "topk", "quantile"}
KEYWORDS = {"and", "or", "unless", "bool", "offset", "atan2"}
LABEL_LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
TARGET_LABELS = {"job", "instance"}

TOKEN_RE = re.compile(r"""
    (?P<str>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
  | (?P<num>(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)(?:ms|[smhdwy])*)
  | (?P<id>[a-zA-Z_:][a-zA-Z0-9_:]*)
  | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=(){}\[\],@])
  | (?P<ws>\s+)
  | (?P<bad>.)
""", re.VERBOSE)


def substitute(expr):
    """Replaces Grafana variables; returns (expr, unknown variable names)."""
    unknown = []

    def repl(m):
        name = m.group(1) or m.group(2)
        if name.isdigit():
            return m.group(0)  # a label_replace() capture group such as "$1"
        if name in SUBSTITUTIONS:
            return SUBSTITUTIONS[name]
        unknown.append(name)
        return m.group(0)

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", repl, expr), unknown


def tokenize(expr):
    tokens = []
    for m in TOKEN_RE.finditer(expr):
        kind = m.lastgroup
        if kind == "ws":
            continue
        tokens.append((kind, m.group(kind)))
    return tokens


def selectors(expr):
    """Yields (metric name, [matcher label names]) for every vector selector in expr."""
    toks = tokenize(expr)
    i, n = 0, len(toks)
    while i < n:
        kind, text = toks[i]
        nxt = toks[i + 1][1] if i + 1 < n else None
        if kind == "op" and text == "[":
            while i < n and toks[i][1] != "]":
                i += 1
            i += 1
            continue
        if kind == "id" and text in LABEL_LIST_KEYWORDS:
            i += 1
            if i < n and toks[i][1] == "(":
                while i < n and toks[i][1] != ")":
                    i += 1
                i += 1
            continue
        if kind == "op" and text == "{":
            # Selector without a metric name: {__name__="..."}.
            labels, i = _matchers(toks, i)
            yield None, labels
            continue
        if kind == "id":
            low = text.lower()
            if nxt == "(" or low in AGGREGATORS or low in KEYWORDS or low in ("inf", "nan"):
                i += 1
                continue
            if nxt == "{":
                labels, i = _matchers(toks, i + 1)
                yield text, labels
                continue
            yield text, []
        i += 1


def _matchers(toks, i):
    """Parses {label op "value", ...} starting at the '{' token; returns (labels, next index)."""
    labels = []
    i += 1
    while i < len(toks) and toks[i][1] != "}":
        if toks[i][0] == "id" and i + 1 < len(toks) and toks[i + 1][1] in ("=", "!=", "=~", "!~"):
            labels.append(toks[i][1])
        i += 1
    return labels, i + 1


class Catalogue:
    """Metric name -> allowed matcher labels, from exporter_metrics.yaml and recording rules."""

    def __init__(self, metrics_file, rules_file):
        with open(metrics_file) as f:
            spec = yaml.safe_load(f)
        self.labels = {}
        for name, m in spec["metrics"].items():
            base = set(m.get("labels") or []) | TARGET_LABELS
            if m["type"] == "histogram":
                self.labels[name + "_bucket"] = base | {"le"}
                self.labels[name + "_sum"] = base
                self.labels[name + "_count"] = base
            else:
                self.labels[name] = base
        for name, m in (spec.get("prometheus") or {}).items():
            self.labels[name] = set(m.get("labels") or []) | TARGET_LABELS
        self.exporter_metrics = list(spec["metrics"].keys())
        self.recording_rules, self.alerts, self.rule_exprs = [], [], []
        with open(rules_file) as f:
            rules = yaml.safe_load(f)
        for group in rules["groups"]:
            for rule in group["rules"]:
                self.rule_exprs.append((rule.get("record") or rule.get("alert"), rule["expr"]))
                if "record" in rule:
                    self.recording_rules.append(rule["record"])
                    m = re.search(r"\b(?:by)\s*\(([^)]*)\)", rule["expr"])
                    kept = {l.strip() for l in m.group(1).split(",")} if m else set()
                    self.labels[rule["record"]] = (kept - {"le"}) | TARGET_LABELS
                else:
                    self.alerts.append(rule["alert"])

    def check_expr(self, where, expr):
        problems = []
        for name, labels in selectors(expr):
            if name is None:
                problems.append(f"{where}: selector without metric name in {expr!r}")
                continue
            if name not in self.labels:
                problems.append(f"{where}: unknown metric {name!r} (not in docs/spec.md §6 or the "
                                f"recording rules)")
                continue
            for label in labels:
                if label not in self.labels[name]:
                    problems.append(f"{where}: metric {name} has no label {label!r}")
        return problems


def _links(dash):
    """Every data link of every panel (field defaults and overrides)."""
    for p in panels_flat(dash):
        fc = p.get("fieldConfig") or {}
        yield from (fc.get("defaults") or {}).get("links") or []
        for o in fc.get("overrides") or []:
            for prop in o.get("properties") or []:
                if prop.get("id") == "links":
                    yield from prop.get("value") or []


def panels_flat(dashboard):
    for p in dashboard.get("panels", []):
        yield p
        for sub in p.get("panels", []) or []:
            yield sub


def check_dashboard(path, dash, cat, exprs_out):
    problems = []
    say = problems.append
    if not isinstance(dash.get("schemaVersion"), int) or dash["schemaVersion"] < 39:
        say(f"{path}: schemaVersion must be an integer >= 39")
    if not dash.get("uid"):
        say(f"{path}: missing uid")
    variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        say(f"{path}: needs a variable 'datasource' of type datasource for prometheus")
    for name in ("site", "site_id", "ap"):
        v = variables.get(name)
        if not v:
            say(f"{path}: missing variable {name!r}")
            continue
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        if name == "ap":
            ok = (q or "").startswith("query_result(") and all(m in q for m in AP_QUERY_METRICS) \
                and "$site_id" in q and "(?<value>" in (v.get("regex") or "")
            want = f"query_result() over {', '.join(AP_QUERY_METRICS)} filtered by $site_id, regex naming value"
        else:
            want = SITE_QUERY if name == "site" else SITE_ID_QUERY
            ok = q == want
        if v.get("type") != "query" or not ok:
            say(f"{path}: variable {name!r} must be a query variable {want!r}, has {q!r}")
        if not v.get("includeAll"):
            say(f"{path}: variable {name!r} needs includeAll")
        if v.get("datasource") != DATASOURCE:
            say(f"{path}: variable {name!r} must use datasource {DATASOURCE}")
        if q:
            concrete, unknown = substitute(q)
            for u in unknown:
                say(f"{path}: variable {name!r} uses unknown variable ${u}")
            inner = re.match(r"(?:label_values|query_result)\((.*?)(?:,\s*\w+)?\)$", concrete)
            if inner:
                problems.extend(cat.check_expr(f"{path}: variable {name!r}", inner.group(1)))
    topn = variables.get("topn")
    if not topn or topn.get("type") != "custom":
        say(f"{path}: needs a custom variable 'topn' (worst-N panels)")
    else:
        values = [v.strip() for v in str(topn.get("query", "")).split(",")]
        if not all(v.isdigit() and 0 < int(v) <= MAX_TOPN for v in values):
            say(f"{path}: variable 'topn' offers {values}; each must be 1..{MAX_TOPN}")
    for link in _links(dash):
        for var in re.findall(r"var-(\w+)=", link.get("url", "")):
            if var not in variables:
                say(f"{path}: link {link.get('title')!r} sets unknown variable {var!r}")

    ids, boxes = {}, []
    for p in panels_flat(dash):
        pid, title = p.get("id"), p.get("title", "?")
        where = f"{path}: panel {pid} {title!r}"
        if not isinstance(pid, int):
            say(f"{where}: id must be an integer")
        elif pid in ids:
            say(f"{where}: id {pid} already used by {ids[pid]!r}")
        else:
            ids[pid] = title
        g = p.get("gridPos") or {}
        if not all(isinstance(g.get(k), int) for k in ("x", "y", "w", "h")):
            say(f"{where}: gridPos needs integer x, y, w, h")
        else:
            if g["x"] < 0 or g["y"] < 0 or g["w"] < 1 or g["h"] < 1 or g["x"] + g["w"] > 24:
                say(f"{where}: gridPos {g} is outside the 24-column grid")
            for other_title, o in boxes:
                if (g["x"] < o["x"] + o["w"] and o["x"] < g["x"] + g["w"]
                        and g["y"] < o["y"] + o["h"] and o["y"] < g["y"] + g["h"]):
                    say(f"{where}: gridPos {g} overlaps panel {other_title!r} {o}")
            boxes.append((title, g))
        if p.get("type") == "row":
            continue
        if p.get("datasource") != DATASOURCE:
            say(f"{where}: datasource must be {DATASOURCE}")
        targets = p.get("targets") or []
        if not targets:
            say(f"{where}: has no targets")
        refs = set()
        for t in targets:
            ref = t.get("refId")
            if not ref:
                say(f"{where}: target without refId")
            elif ref in refs:
                say(f"{where}: duplicate refId {ref}")
            refs.add(ref)
            if t.get("datasource") != DATASOURCE:
                say(f"{where}: target {ref} datasource must be {DATASOURCE}")
            expr = t.get("expr")
            if not expr:
                say(f"{where}: target {ref} has no expr")
                continue
            concrete, unknown = substitute(expr)
            for u in unknown:
                say(f"{where}: target {ref} uses unknown variable ${u}")
            problems.extend(cat.check_expr(f"{where} target {ref}", concrete))
            exprs_out.append((f"{os.path.basename(path)} panel {pid} {title!r} {ref}", concrete))
    return problems


def promtool_parse(promtool, exprs):
    """Parses every expression with promtool by way of a throwaway recording rules file."""
    rules = [{"record": f"dashboard_expr:{i}", "expr": e} for i, (_, e) in enumerate(exprs)]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "dashboard_exprs.yml")
        with open(path, "w") as f:
            yaml.safe_dump({"groups": [{"name": "dashboard-exprs", "rules": rules}]}, f)
        res = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True)
    if res.returncode == 0:
        return []
    out = (res.stdout + res.stderr).strip()
    problems = [f"promtool rejects a dashboard expression: {line.strip()}"
                for line in out.splitlines()
                if not line.startswith("Checking") and ("dashboard_expr" in line or "parse error" in line)]
    # Map "group ..., rule N" style messages back to panels where possible.
    for m in re.finditer(r"dashboard_expr:(\d+)", out):
        i = int(m.group(1))
        if i < len(exprs):
            problems.append(f"  -> {exprs[i][0]}: {exprs[i][1]}")
    return problems or [f"promtool check rules failed: {out}"]


def github_slug(heading):
    """The anchor GitHub generates for a Markdown heading."""
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return slug.replace(" ", "-")


def check_docs(path, cat):
    with open(path) as f:
        text = f.read()
    anchors = {github_slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.*)$", text, re.MULTILINE)}
    anchors |= set(re.findall(r'<a (?:id|name)="([^"]+)"', text))
    problems = []
    for m in cat.exporter_metrics:
        if m not in text:
            problems.append(f"{path}: metric {m} is not documented")
    for a in cat.alerts:
        if a not in text:
            problems.append(f"{path}: alert {a} is not documented")
        if f"runbook-{a.lower()}" not in anchors:
            problems.append(f"{path}: no heading with anchor runbook-{a.lower()} for alert {a}")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("dashboards", nargs="+")
    ap.add_argument("--rules", required=True)
    ap.add_argument("--metrics", default=os.path.join(HERE, "exporter_metrics.yaml"))
    ap.add_argument("--docs")
    ap.add_argument("--promtool", default="promtool", help="'' skips the promtool parse")
    args = ap.parse_args()

    cat = Catalogue(args.metrics, args.rules)
    problems, exprs, uids = [], [], {}
    panels = 0
    for path in args.dashboards:
        with open(path) as f:
            dash = json.load(f)
        if dash.get("uid") in uids:
            problems.append(f"{path}: uid {dash['uid']} already used by {uids[dash['uid']]}")
        uids[dash.get("uid")] = path
        panels += sum(1 for p in panels_flat(dash) if p.get("type") != "row")
        problems.extend(check_dashboard(path, dash, cat, exprs))
    for name, expr in cat.rule_exprs:
        problems.extend(cat.check_expr(f"{args.rules}: rule {name}", expr))
    if args.promtool:
        problems.extend(promtool_parse(args.promtool, exprs))
    if args.docs:
        problems.extend(check_docs(args.docs, cat))

    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"FAILED: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"OK: {len(args.dashboards)} dashboards, {panels} panels, {len(exprs)} expressions "
          f"parsed, {len(cat.rule_exprs)} rules use only exporter metrics"
          + (f", {args.docs} covers {len(cat.exporter_metrics)} metrics and "
             f"{len(cat.alerts)} runbooks" if args.docs else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
