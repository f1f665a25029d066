#!/usr/bin/env python3
"""Measures how soon capture changes reach /metrics and what they cost in REST calls.

    api_economy.py watch OUT_DIR SECONDS NAME=METRICS_URL,SIM_URL ...
    api_economy.py report OUT_DIR NAME ...

`watch` scrapes every exporter's /metrics about once a second for SECONDS and records, per
scrape, the (site_id, capture_id) pairs of mist_pcap_capture_info and the (site_id, ap_mac)
pairs of mist_pcap_capture_ap_failed; at the start and the end it saves each simulator's
/sim/stats; at the end its /sim/changes (the ground truth: what changed when, on the
simulator's clock, which is this machine's clock). `report` matches every churn change with
the first scrape that shows it and prints a markdown table: REST calls per hour (from the
simulator's request counters), and the p50 / p99 / max delay from a change to /metrics, per
kind. A change not shown by the end of the run counts as not seen (and makes p99 "> run" when
more than 1% are unseen); a failed AP whose capture ended before anything showed it is counted
apart ("ended before shown": failed-AP series exist only while their capture runs, so no
schedule could show it); an end counts only for a capture /metrics showed running. Changes in
the last GRACE seconds of the run are left out: no
schedule could show them in time.
"""
import json
import math
import os
import re
import sys
import time
import urllib.request

GRACE = 90.0
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def fetch(url, timeout=30):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode("utf-8", "replace")


def labels_of(line):
    return dict(LABEL.findall(line[line.index("{") + 1:line.rindex("}")]))


def snapshot(text):
    caps, failed = [], []
    for line in text.splitlines():
        if line.startswith("mist_pcap_capture_info{"):
            l = labels_of(line)
            caps.append([l.get("site_id", ""), l.get("capture_id", "")])
        elif line.startswith("mist_pcap_capture_ap_failed{"):
            l = labels_of(line)
            failed.append([l.get("site_id", ""), l.get("ap_mac", "")])
    return caps, failed


def sim_requests(stats):
    return sum(v for v in stats["requests"].values() if isinstance(v, int))


def watch(out, seconds, targets):
    start = time.time()
    files = {}
    for name, (metrics, sim) in targets.items():
        with open(os.path.join(out, f"{name}.stats_start.json"), "w") as f:
            f.write(fetch(sim + "/sim/stats"))
        files[name] = open(os.path.join(out, f"{name}.scrapes.jsonl"), "w")
    while time.time() - start < seconds:
        tick = time.time()
        for name, (metrics, sim) in targets.items():
            t = time.time()
            try:
                caps, failed = snapshot(fetch(metrics))
            except Exception as e:  # an exporter that stops answering is a result too
                files[name].write(json.dumps({"t": t, "error": str(e)}) + "\n")
                continue
            files[name].write(json.dumps({"t": t, "caps": caps, "failed": failed}) + "\n")
        time.sleep(max(0.0, 1.0 - (time.time() - tick)))
    for name, (metrics, sim) in targets.items():
        files[name].close()
        with open(os.path.join(out, f"{name}.stats_end.json"), "w") as f:
            f.write(fetch(sim + "/sim/stats"))
        with open(os.path.join(out, f"{name}.changes.json"), "w") as f:
            f.write(fetch(sim + "/sim/changes"))
        with open(os.path.join(out, f"{name}.metrics_end.txt"), "w") as f:
            f.write(fetch(metrics))
    with open(os.path.join(out, "window.json"), "w") as f:
        json.dump({"start": start, "end": time.time()}, f)


def percentile(values, q):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


def analyse(out, name):
    window = json.load(open(os.path.join(out, "window.json")))
    scrapes = [json.loads(l) for l in open(os.path.join(out, f"{name}.scrapes.jsonl"))]
    scrapes = [s for s in scrapes if "error" not in s]
    for s in scrapes:
        s["caps"] = {tuple(c) for c in s["caps"]}
        s["failed"] = {tuple(f) for f in s["failed"]}
    changes = json.load(open(os.path.join(out, f"{name}.changes.json")))["changes"]
    s0 = json.load(open(os.path.join(out, f"{name}.stats_start.json")))
    s1 = json.load(open(os.path.join(out, f"{name}.stats_end.json")))
    hours = (window["end"] - window["start"]) / 3600.0
    calls = (sim_requests(s1) - sim_requests(s0)) / hours
    delays = {"capture_start": [], "capture_end": [], "ap_failed": []}
    unseen = {k: 0 for k in delays}
    superseded = 0
    never_shown = 0
    ends = {c["capture_id"]: c["time"] for c in changes if c["kind"] == "capture_end"}
    for c in changes:
        if c.get("source") != "churn" or c["kind"] not in delays:
            continue
        t0 = c["time"]
        if t0 < window["start"] or t0 > window["end"] - GRACE:
            continue
        key_cap = (c["site_id"], c["capture_id"])
        if c["kind"] == "capture_end" and not any(key_cap in s["caps"] for s in scrapes
                                                  if s["t"] < t0):
            # Never shown while it ran: "gone from /metrics" would be no news.
            never_shown += 1
            continue
        seen = None
        for s in scrapes:
            if s["t"] < t0:
                continue
            if c["kind"] == "capture_start" and key_cap in s["caps"]:
                seen = s["t"]
            elif c["kind"] == "capture_end" and key_cap not in s["caps"]:
                seen = s["t"]
            elif c["kind"] == "ap_failed" and (c["site_id"], c.get("ap_mac", "")) in s["failed"]:
                seen = s["t"]
            if seen is not None:
                break
        if seen is None and c["kind"] == "ap_failed" and ends.get(c["capture_id"], math.inf) <= \
                window["end"]:
            # The capture ended before anything showed the failure: no schedule can show it
            # any more (failed-AP series exist only while their capture runs). Counted apart.
            superseded += 1
        elif seen is None:
            unseen[c["kind"]] += 1
        else:
            delays[c["kind"]].append(seen - t0)
    return calls, delays, unseen, superseded, never_shown, s1.get("requests", {})


def fmt(delays, unseen):
    n = len(delays) + unseen
    if n == 0:
        return "-"
    p50 = percentile(delays + [math.inf] * unseen, 0.5)
    p99 = percentile(delays + [math.inf] * unseen, 0.99)
    show = lambda v: "> run" if math.isinf(v) else f"{v:.1f} s"
    return f"{show(p50)} / {show(p99)} ({n}{', ' + str(unseen) + ' unseen' if unseen else ''})"


def report(out, names):
    rows = ["| schedule | REST calls/h | capture start p50 / p99 (n) | capture end p50 / p99 (n) "
            "| failed AP p50 / p99 (n) | calls by endpoint (run) |",
            "|---|---|---|---|---|---|"]
    for name in names:
        calls, delays, unseen, superseded, never_shown, by_ep = analyse(out, name)
        s0 = json.load(open(os.path.join(out, f"{name}.stats_start.json")))["requests"]
        eps = ", ".join(f"{k} {by_ep[k] - s0.get(k, 0)}" for k in sorted(by_ep)
                        if isinstance(by_ep[k], int) and by_ep[k] - s0.get(k, 0) > 0)
        rows.append(f"| {name} | {calls:.0f} | {fmt(delays['capture_start'], unseen['capture_start'])} "
                    f"| {fmt(delays['capture_end'], unseen['capture_end'])}"
                    f"{f'; {never_shown} never shown running' if never_shown else ''} "
                    f"| {fmt(delays['ap_failed'], unseen['ap_failed'])}"
                    f"{f'; {superseded} ended before shown' if superseded else ''} | {eps} |")
    text = "\n".join(rows) + "\n"
    with open(os.path.join(out, "api_economy.md"), "w") as f:
        f.write(text)
    sys.stdout.write(text)


def main(argv):
    if len(argv) >= 5 and argv[1] == "watch":
        targets = {}
        for spec in argv[4:]:
            name, urls = spec.split("=", 1)
            metrics, sim = urls.split(",", 1)
            targets[name] = (metrics, sim)
        watch(argv[2], float(argv[3]), targets)
        return 0
    if len(argv) >= 4 and argv[1] == "report":
        report(argv[2], argv[3:])
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
