#!/usr/bin/env python3
"""Reads run_bench.py --json-out files (<name>-<i>.json) and prints a markdown table with
medians and ratios against the peers and the floor."""
import glob
import json
import os
import statistics
import sys

runs = {}
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    name = os.path.basename(path).rsplit("-", 1)[0]
    with open(path) as f:
        runs.setdefault(name, []).append(json.load(f))


def med(name, key):
    vals = [r.get(key) for r in runs.get(name, []) if r.get(key) is not None]
    return statistics.median(vals) if vals else None


print("| exporter | runs | N | msgs/s (median) | min–max | peak RSS MiB | CPU s | CPU µs/msg | correct |")
print("|---|---|---|---|---|---|---|---|---|")
for name in ("floor", "peer_python", "peer_node", "mist_pcap_exporter"):
    rs = runs.get(name, [])
    if not rs:
        continue
    rates = [r.get("msgs_per_s", 0) for r in rs]
    correct = sum(1 for r in rs if r.get("correct") in (True, "yes"))
    n = rs[0].get("messages") or 0
    cpu = med(name, "cpu_s") or 0
    rss_kb = med(name, "rss_kb")
    rss = f"{rss_kb / 1024:.1f}" if rss_kb else "—"
    per_msg = f"{cpu / n * 1e6:.2f}" if n else "—"
    print(f"| {name} | {len(rs)} | {n} | {statistics.median(rates):,.0f} | "
          f"{min(rates):,.0f}–{max(rates):,.0f} | {rss} | {cpu:.2f} | {per_msg} | "
          f"{correct}/{len(rs)} |")
ours = med("mist_pcap_exporter", "msgs_per_s")
if ours:
    print()
    for peer in ("peer_python", "peer_node", "floor"):
        p = med(peer, "msgs_per_s")
        if p:
            print(f"- ours / {peer}: {ours / p:.2f}×")
