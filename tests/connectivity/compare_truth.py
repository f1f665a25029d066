#!/usr/bin/python3
"""Compares the client-connectivity families on an exporter's /metrics with the simulator's
truth (GET /sim/truth, computed by src/sim without decode/ or metrics/).

  compare_truth.py TRUTH.json METRICS.txt [--top-clients-k K]

Every series of every family must be equal (a series absent on one side counts as 0); the
truth's top clients are the exact bytes per client, so mist_pcap_top_clients_bytes is checked
with the Space-Saving bound (every client above total/K shown, every value >= the truth and
<= truth + total/K). Prints every mismatch; exits 1 when there is one."""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tshark_reference as ref  # noqa: E402


def truth_families(truth):
    """The truth's families in tshark_reference's shape ({family: [{labels, value}]})."""
    fams = truth.get("families", truth)
    out = {}
    for family in ref.FAMILIES:
        items = fams.get(family)
        if items is None:
            raise SystemExit(f"the truth has no {family}")
        if family in ref.HISTOGRAMS:
            out[family] = [{"labels": it["labels"],
                            "value": {"count": it["count"], "sum": it["sum_us"] / 1e6,
                                      "buckets": it["buckets"]}} for it in items]
        else:
            out[family] = [{"labels": it["labels"], "value": it["value"]} for it in items]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("truth")
    ap.add_argument("metrics")
    ap.add_argument("--top-clients-k", type=int, default=10)
    args = ap.parse_args()
    with open(args.truth) as f:
        expected = truth_families(json.load(f))
    with open(args.metrics) as f:
        got = ref.parse_exposition(f.read())
    sites = {it["labels"]["site_id"] for fam in expected.values() for it in fam
             if "site_id" in it["labels"]}
    n = sum(len(v) for v in expected.values())
    rc = ref.diff(expected, got, site_ids=sites or None, top_clients_mode="bound",
                  top_clients_k=args.top_clients_k)
    print(f"{'FAIL' if rc else 'OK'}: {n} truth series of {len(ref.FAMILIES)} families "
          f"compared with /metrics")
    return rc


if __name__ == "__main__":
    sys.exit(main())
