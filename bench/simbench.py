#!/usr/bin/python3
"""Helpers for the end-to-end benches against mist_cloud_sim (bench/site_scaling.sh,
bench/scrape_under_load.sh).

  simbench.py scenario SITES APS_PER_SITE BANDS TYPE > scenario.yaml
      SITES sites in one org, each with APS_PER_SITE APs and a streaming capture of TYPE
      (radiotap | wired | radiotap,wired) on BANDS (comma list of 2.4,5,6) running for a day.
  simbench.py config SITES SIM_URL > exporter.yaml
      exporter config listing the same SITES sites (names given: no lookups), all on one stream
      connection, polling slowed to 1 h, series cap far above what the benches create.
  simbench.py metrics METRICS.txt
      prints "messages_total data_messages samples label_sets body_bytes" of a scrape
      (label_sets counts a histogram once; samples counts every line).
  simbench.py compare METRICS.txt TRUTH.json
      compares every stream family of /sim/truth (counters, histogram buckets, counts and sums)
      with the scrape; prints "compared N differ M" and exits 1 on any difference.
"""
import json
import re
import sys

ORG = "9e1f3c2a-0000-4000-8000-00000000b000"


def site_id(i):
    return f"5be1e000-0000-4000-8000-{i:012d}"


def ap_mac(site, ap):
    return f"{0x5c5b35000000 + site * 4096 + ap:012x}"


def scenario(sites, aps, bands, ctype):
    band_list = ", ".join(f'"{b}"' for b in bands.split(","))
    out = ["email: bench@example.com", "orgs:", f"  - id: {ORG}", "    name: Bench Org", "sites:"]
    for i in range(sites):
        macs = ", ".join(ap_mac(i, a) for a in range(aps))
        out += [
            f"  - id: {site_id(i)}",
            f"    name: site-{i:04d}",
            f"    org: {ORG}",
            f"    aps: [{macs}]",
            "    stream:",
            "      wired_share: 0.3",
            f"      bands: [{band_list}]",
            "      vlans: [1, 10]",
            "    capture:",
            f"      type: {ctype}",
            "      format: stream",
            "      duration: 86400",
            "      max_pkt_len: 128",
        ]
    return "\n".join(out) + "\n"


def config(sites, sim_url):
    out = [
        "mist:",
        f"  api_url: {sim_url}",
        "  token_env: MIST_API_TOKEN",
        "  max_requests_per_hour: 1000000",
        "sites:",
    ]
    out += [f"  - {{id: {site_id(i)}, name: site-{i:04d}}}" for i in range(sites)]
    out += [
        "poll:",
        "  status_interval: 1h",
        "  list_interval: 1h",
        "stream:",
        "  reconnect_min: 100ms",
        "  reconnect_max: 1s",
        f"  max_channels_per_connection: {max(1000, sites)}",
        "metrics:",
        "  max_series_per_family: 2000000",
        "web:",
        "  listen_address: 127.0.0.1:0",
        "log:",
        "  level: info",
    ]
    return "\n".join(out) + "\n"


LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(path):
    samples = {}
    for line in open(path, encoding="utf-8"):
        if line.startswith("#") or not line.strip():
            continue
        m = LINE.match(line.strip())
        if m:
            samples[(m.group(1), frozenset(LABEL.findall(m.group(3) or "")))] = float(m.group(4))
    return samples


def metrics_summary(path):
    samples = parse(path)
    msgs = sum(v for (n, _), v in samples.items() if n == "mist_pcap_stream_messages_total")
    data = sum(v for (n, l), v in samples.items()
               if n == "mist_pcap_stream_messages_total" and ("event", "data") in l)
    label_sets = set()
    for n, l in samples:
        if n.endswith("_bucket"):
            continue  # the histogram's _count stands for its label set
        if n.endswith("_sum") and (n[:-4] + "_count", l) in samples:
            continue
        if n.endswith("_count"):
            n = n[:-6]
        label_sets.add((n, l))
    size = len(open(path, "rb").read())
    print(int(msgs), int(data), len(samples), len(label_sets), size)


# Families the truth cannot state as a total: mist_pcap_top_clients_bytes is the exporter's
# top-K estimate over metrics.top_clients_window, the truth every client's bytes since the
# start. script.client_connectivity checks it against tshark within the Space-Saving bound.
WINDOWED = {"mist_pcap_top_clients_bytes"}


def compare(metrics_path, truth_path):
    samples = parse(metrics_path)
    truth = json.load(open(truth_path))
    compared, bad = 0, []
    for name, entries in truth["families"].items():
        if name in WINDOWED:
            continue
        for e in entries:
            labels = dict(e["labels"])
            if "buckets" in e:
                checks = [(name + "_count", labels, e["count"]), (name + "_sum", labels, e["sum"])]
                checks += [(name + "_bucket", {**labels, "le": le}, v)
                           for le, v in e["buckets"].items()]
            else:
                v = e["value"] if "value" in e else e["value_cumulative"]
                checks = [(name, labels, v)]
            for n, l, want in checks:
                got = samples.get((n, frozenset(l.items())), 0.0)
                compared += 1
                if got != want and not (n.endswith("_sum")
                                        and abs(got - want) <= 1e-9 * max(1.0, abs(want))):
                    bad.append(f"{n}{l}: exporter {got} truth {want}")
    data = truth["messages"]["data"]
    got = sum(v for (n, l), v in samples.items()
              if n == "mist_pcap_stream_messages_total" and ("event", "data") in l)
    if got != data:
        bad.append(f"data messages: exporter {got} truth {data}")
    print(f"compared {compared} differ {len(bad)} data {int(got)}/{data}")
    for b in bad[:10]:
        print("MISMATCH", b, file=sys.stderr)
    return 0 if not bad else 1


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "scenario" and len(argv) == 6:
        sys.stdout.write(scenario(int(argv[2]), int(argv[3]), argv[4], argv[5]))
    elif cmd == "config" and len(argv) == 4:
        sys.stdout.write(config(int(argv[2]), argv[3]))
    elif cmd == "metrics" and len(argv) == 3:
        metrics_summary(argv[2])
    elif cmd == "compare" and len(argv) == 4:
        return compare(argv[2], argv[3])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
