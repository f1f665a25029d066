#!/usr/bin/env python3
"""Reads run_bench.py --json-out files (<name>-<i>.json) and prints a markdown table with
medians and ratios against the peers and the floor; with a second argument, the scrape.env
of bench/scrape_under_load.sh, also the scrape latency and memory per label set."""
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
    goals = {"peer_python": "goal ≥ 40×", "peer_node": "goal ≥ 8×"}
    for peer in ("peer_python", "peer_node"):
        p = med(peer, "msgs_per_s")
        if p:
            print(f"- ours / {peer}: {ours / p:.2f}× ({goals[peer]})")
    floor = med("floor", "msgs_per_s")
    if floor:
        print(f"- floor / ours: {floor / ours:.2f}× (goal ≤ 3×)")

if len(sys.argv) > 2:
    envs = []
    for path in sys.argv[2:]:
        env = {}
        with open(path) as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                env[k] = v
        envs.append(env)
    sets = int(envs[0]["label_sets"])
    print()
    print(f"Scrape and memory at {sets:,} active label sets (`bench/scrape_under_load.sh`, "
          f"stream paused, 10 curl scrapes each; totals = truth: "
          f"{', '.join(e['truth'] for e in envs)}):")
    print()
    print("| what | " + " | ".join(f"exporter on core(s) {e.get('exporter_cores', '1')}" for e in envs)
          + " |")
    print("|---|" + "---|" * len(envs))

    def row(what, cell):
        print(f"| {what} | " + " | ".join(cell(e) for e in envs) + " |")

    def per_set(e, key):
        b = int(e[key]) * 1024
        return f"{b / 1048576:.1f} MiB = {b / int(e['label_sets']):.0f} bytes per label set"

    row("active label sets", lambda e: f"{int(e['label_sets']):,}")
    row("one plain scrape, wall ms median (min–max)",
        lambda e: f"{e['plain_ms']} ({e['plain_range']}), {e['plain_mib']} MiB")
    row("one gzip scrape, wall ms median (min–max)",
        lambda e: f"{e['gzip_ms']} ({e['gzip_range']}), {e['gzip_mib']} MiB")
    row("RSS after the scrapes", lambda e: per_set(e, "rss_kib"))
    row("peak RSS (VmHWM, scrapes included)", lambda e: per_set(e, "hwm_kib"))
