#!/usr/bin/python3
"""tshark 4.0's reading of pcap files as the connectivity families of issue 18.

Every value is computed from tshark's own fields (one `tshark -T fields` pass per file), with
the counting rules of /work/notes/decisions.md and the handshake rule of the issue applied to
those fields in file order on integer microseconds. It is the reference the exporter's
/metrics is compared with; nothing here reads the bytes itself (tshark does).

usage:
  tshark_reference.py --file A.pcap --site-id S1 --site "Site 1" --ap-mac 5c5b35000001 \
                      [--freq MHZ] [--file B.pcap --site-id ... ] \
                      [--tshark /usr/bin/tshark] [--top-window-seconds N] [--out FILE] \
                      [--compare METRICS.txt|http://host:port/metrics \
                       [--top-clients-mode exact|bound] [--top-clients-k 10]]

Every --file starts a group; --site-id, --site, --ap-mac and --freq that follow apply to it.
--freq is the pcap_dict channel_frequency of the stream (it wins over radiotap's channel for
the band label, as in the exporter). The link type (radiotap 127 or Ethernet 1) is read from
the file. Output (stdout or --out): JSON {family: [{"labels": {...}, "value": number}]},
counters as totals; the histogram's value is {"count": n, "sum": seconds,
"buckets": {"0.01": cumulative, ..., "+Inf": n}}. With --compare, the exposition is parsed
into the same shape and every mismatching series is printed; exit 1 on any mismatch.

Stdlib only. Findings behind the rules: /work/notes/tshark_findings.md.
"""

import argparse
import json
import re
import struct
import subprocess
import sys
import urllib.request

TSHARK = "/usr/bin/tshark"

RETRIES = "mist_pcap_wireless_retries_total"
JOINS = "mist_pcap_wireless_join_responses_total"
DISCONNECTS = "mist_pcap_wireless_disconnects_total"
EAPOL_MESSAGES = "mist_pcap_eapol_messages_total"
HANDSHAKES = "mist_pcap_eapol_handshakes_total"
DURATION = "mist_pcap_eapol_handshake_duration_seconds"
DHCP = "mist_pcap_wired_dhcp_messages_total"
DNS = "mist_pcap_wired_dns_responses_total"
TOP_CLIENTS = "mist_pcap_top_clients_bytes"
TRUNCATED = "mist_pcap_decode_truncated_total"

FAMILIES = [RETRIES, JOINS, DISCONNECTS, EAPOL_MESSAGES, HANDSHAKES, DURATION, DHCP, DNS,
            TOP_CLIENTS, TRUNCATED]
HISTOGRAMS = {DURATION}

# le string -> bound in integer microseconds (compared on integers, never on floats).
BUCKETS = [("0.01", 10_000), ("0.025", 25_000), ("0.05", 50_000), ("0.1", 100_000),
           ("0.25", 250_000), ("0.5", 500_000), ("1", 1_000_000), ("2.5", 2_500_000),
           ("5", 5_000_000)]
LE_STRINGS = [b for b, _ in BUCKETS] + ["+Inf"]

HANDSHAKE_TIMEOUT_US = 5_000_000

JOIN_SUBTYPES = {0x0b: "authentication", 0x01: "association_response",
                 0x03: "reassociation_response"}
DISCONNECT_SUBTYPES = {0x0c: "deauthentication", 0x0a: "disassociation"}
DHCP_TYPES = {1: "discover", 2: "offer", 3: "request", 4: "decline", 5: "ack", 6: "nak",
              7: "release", 8: "inform"}
RCODES = {0: "noerror", 1: "formerr", 2: "servfail", 3: "nxdomain", 4: "notimp", 5: "refused"}

# frame.protocols names -> the layers. Names not here (wlan_radio, ethertype, tcp,
# icmp, arp, data, mdns, _ws.*, ...) count under the nearest listed layer containing them,
# i.e. the last listed name before them in frame.protocols.
LAYER_OF = {"radiotap": "radiotap", "wlan": "802.11", "llc": "llc", "eapol": "eapol",
            "eth": "ethernet", "vlan": "vlan", "ieee8021ad": "vlan", "ip": "ip", "ipv6": "ip",
            "udp": "udp", "dhcp": "dhcp", "dns": "dns"}

LINKTYPE_ETHERNET = 1
LINKTYPE_RADIOTAP = 127

FIELDS = [
    "frame.len", "frame.cap_len", "frame.time_epoch", "frame.protocols",
    "radiotap.channel.freq",
    "wlan.fc.retry", "wlan.fc.type_subtype", "wlan.fc.ds", "wlan.ta", "wlan.ra", "wlan.bssid",
    "wlan.fixed.status_code", "wlan.fixed.reason_code",
    "wlan_rsna_eapol.keydes.msgnr", "wlan_rsna_eapol.keydes.key_info.key_type",
    "dhcp.option.dhcp", "dns.flags.response", "dns.flags.rcode",
    "udp.srcport", "udp.dstport",
]


class Frame:
    """One tshark row; every field is a list of its occurrences (possibly empty)."""

    def __init__(self, values):
        self.f = {name: (v.split("|") if v != "" else []) for name, v in zip(FIELDS, values)}

    def first(self, name):
        v = self.f.get(name) or []
        return v[0] if v else None

    def int(self, name):
        v = self.first(name)
        if v is None or v == "":
            return None
        return int(v, 16) if v[:2].lower() == "0x" else int(v, 10)  # "0x0011", "08" both ok

    @property
    def protocols(self):
        p = self.first("frame.protocols")
        return p.split(":") if p else []


def linktype_of(path):
    with open(path, "rb") as fh:
        head = fh.read(24)
    if len(head) < 24:
        raise ValueError(f"{path}: not a pcap file (short header)")
    magic = head[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        return struct.unpack("<I", head[20:24])[0] & 0x0FFFFFFF
    if magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        return struct.unpack(">I", head[20:24])[0] & 0x0FFFFFFF
    raise ValueError(f"{path}: not a classic pcap file (magic {magic.hex()})")


def epoch_us(text):
    """'1700000000.123456789' -> 1700000000123456 (integer; nanoseconds floored)."""
    sec, _, frac = text.partition(".")
    return int(sec) * 1_000_000 + int((frac + "000000")[:6])


def read_frames(path, tshark=TSHARK):
    cmd = [tshark, "-n", "-r", path, "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a",
           "-E", "aggregator=|", "-E", "quote=n"]
    for f in FIELDS:
        cmd += ["-e", f]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"tshark failed on {path}: {res.stderr.strip()}")
    frames = []
    for line in res.stdout.split("\n"):
        if line == "":
            continue
        values = line.split("\t")
        values += [""] * (len(FIELDS) - len(values))
        frames.append(Frame(values))
    return frames


def band_of(mhz):
    """decode::BandFromFrequency."""
    if mhz is None or mhz <= 0:
        return "unknown"
    if mhz < 3000:
        return "2.4"
    if mhz < 5925:
        return "5"
    if mhz <= 7125:
        return "6"
    return "unknown"


def truncated_layer(protocols):
    layer = None
    for name in protocols:
        if name in LAYER_OF:
            layer = LAYER_OF[name]
    return layer


def _strip(protocols):
    return [p for p in protocols if p != "ethertype" and not p.startswith("_ws")]


def wired_chain(protocols, app):
    """eth, 0..2 VLAN tags, ip/ipv6, udp, app -- nothing else (no tunnels, no ICMP quotes)."""
    p = _strip(protocols)
    if len(p) < 4 or p[0] != "eth" or p[-1] != app or p[-2] != "udp":
        return False
    tags = p[1:-3]
    if len(tags) > 2 or any(t not in ("vlan", "ieee8021ad") for t in tags):
        return False
    return p[-3] in (("ip",) if app == "dhcp" else ("ip", "ipv6"))


def is_individual(mac):
    return mac is not None and (int(mac[:2], 16) & 0x01) == 0


class Result:
    def __init__(self):
        self.counters = {}    # (family, labels tuple) -> int
        self.hist = {}        # labels tuple -> [count, sum_us, [bucket counts]]
        self.top = {}         # (site_id, site) -> {client: bytes}

    def add(self, family, labels, n=1):
        key = (family, tuple(labels))
        self.counters[key] = self.counters.get(key, 0) + n

    def observe(self, labels, dur_us):
        h = self.hist.setdefault(tuple(labels), [0, 0, [0] * len(BUCKETS)])
        h[0] += 1
        h[1] += dur_us
        for i, (_, bound) in enumerate(BUCKETS):
            if dur_us <= bound:
                h[2][i] += 1

    def to_json(self):
        out = {f: [] for f in FAMILIES}
        for (family, labels), v in sorted(self.counters.items()):
            out[family].append({"labels": dict(labels), "value": v})
        for labels, (count, sum_us, buckets) in sorted(self.hist.items()):
            b = {le: c for (le, _), c in zip(BUCKETS, buckets)}
            b["+Inf"] = count
            out[DURATION].append({"labels": dict(labels),
                                  "value": {"count": count, "sum": sum_us / 1e6, "buckets": b}})
        for (site_id, site), clients in sorted(self.top.items()):
            for client, v in sorted(clients.items()):
                # The exporter's MAC labels: 12 lowercase hex digits, no separators.
                out[TOP_CLIENTS].append({"labels": {"site_id": site_id, "site": site,
                                                    "client_mac": client.replace(":", "").lower()},
                                         "value": v})
        return out


class Handshakes:
    """The issue's handshake rule on one file (one site) in file order."""

    def __init__(self, result, base):
        self.result = result
        self.base = base             # [("site_id",..),("site",..),("ap_mac",..)]
        self.pending = {}            # (bssid, client) -> [start_us, last_us, next_msg]

    def _incomplete(self, pair):
        del self.pending[pair]
        self.result.add(HANDSHAKES, self.base + [("result", "incomplete")])

    def tick(self, ts):
        for pair, (_, last, _) in list(self.pending.items()):
            if ts - last > HANDSHAKE_TIMEOUT_US:
                self._incomplete(pair)

    def message(self, pair, msg, ts):
        p = self.pending.get(pair)
        if msg == 1:
            if p is not None:
                self._incomplete(pair)
            self.pending[pair] = [ts, ts, 2]
            return
        if p is None or msg != p[2] or ts - p[1] > HANDSHAKE_TIMEOUT_US:
            return
        p[1], p[2] = ts, msg + 1
        if msg == 4:
            del self.pending[pair]
            self.result.add(HANDSHAKES, self.base + [("result", "complete")])
            self.result.observe(self.base, ts - p[0])

    def end(self):
        for pair in list(self.pending):
            self._incomplete(pair)


def process_file(result, path, site_id, site, ap_mac, freq=None, tshark=TSHARK,
                 top_window_us=None):
    linktype = linktype_of(path)
    if linktype not in (LINKTYPE_ETHERNET, LINKTYPE_RADIOTAP):
        raise ValueError(f"{path}: link type {linktype} is neither radiotap (127) nor "
                         "Ethernet (1)")
    radio = linktype == LINKTYPE_RADIOTAP
    frames = read_frames(path, tshark)
    base = [("site_id", site_id), ("site", site), ("ap_mac", ap_mac)]
    hs = Handshakes(result, base)
    last_ts = max((epoch_us(fr.first("frame.time_epoch")) for fr in frames), default=0)
    top = result.top.setdefault((site_id, site), {})
    for fr in frames:
        ts = epoch_us(fr.first("frame.time_epoch"))
        hs.tick(ts)
        protocols = fr.protocols
        flen, caplen = fr.int("frame.len"), fr.int("frame.cap_len")
        if caplen < flen:
            layer = truncated_layer(protocols)
            if layer is not None:
                result.add(TRUNCATED, [("site_id", site_id), ("site", site), ("layer", layer)])
        if radio:
            process_radio(result, fr, ts, base, freq, hs, top, flen,
                          top_window_us is None or ts > last_ts - top_window_us)
        else:
            process_wired(result, fr, base)
    hs.end()
    return result


def process_radio(result, fr, ts, base, freq, hs, top, flen, in_window):
    if "wlan" not in fr.protocols:
        return
    if fr.int("wlan.fc.retry") == 1:
        mhz = freq if freq is not None else fr.int("radiotap.channel.freq")
        result.add(RETRIES, base + [("band", band_of(mhz))])
    st = fr.int("wlan.fc.type_subtype")
    if st is None:
        return
    ta, ra, bssid = fr.first("wlan.ta"), fr.first("wlan.ra"), fr.first("wlan.bssid")
    if st in JOIN_SUBTYPES:
        code = fr.int("wlan.fixed.status_code")
        if code is not None and ta is not None and ta == bssid:
            result.add(JOINS, base + [("frame_subtype", JOIN_SUBTYPES[st]),
                                      ("status_code", str(code))])
    elif st in DISCONNECT_SUBTYPES:
        code = fr.int("wlan.fixed.reason_code")
        if code is not None:
            result.add(DISCONNECTS, base + [("frame_subtype", DISCONNECT_SUBTYPES[st]),
                                            ("reason_code", str(code))])
    elif 0x20 <= st <= 0x2f:
        ds = fr.int("wlan.fc.ds")
        if in_window:
            if ds == 1 and ta is not None:
                top[ta] = top.get(ta, 0) + flen
            elif ds == 2 and is_individual(ra):
                top[ra] = top.get(ra, 0) + flen
        msgnr = fr.int("wlan_rsna_eapol.keydes.msgnr")
        if msgnr in (1, 2, 3, 4) and fr.int("wlan_rsna_eapol.keydes.key_info.key_type") == 1:
            result.add(EAPOL_MESSAGES, base + [("message", str(msgnr))])
            if fr.int("wlan.fc.retry") != 1 and bssid is not None:
                client = ra if ta == bssid else ta
                if client is not None and client != bssid:
                    hs.message((bssid, client), msgnr, ts)


def process_wired(result, fr, base):
    protocols = fr.protocols
    if wired_chain(protocols, "dhcp"):
        ports = {fr.int("udp.srcport"), fr.int("udp.dstport")}
        t = fr.int("dhcp.option.dhcp")
        if ports & {67, 68} and t in DHCP_TYPES:
            result.add(DHCP, base + [("message_type", DHCP_TYPES[t])])
    if wired_chain(protocols, "dns"):
        rcode = fr.int("dns.flags.rcode")
        if (fr.int("udp.srcport") == 53 and fr.int("dns.flags.response") == 1
                and rcode is not None):
            result.add(DNS, base + [("rcode", RCODES.get(rcode, "other"))])


def reference(files, tshark=TSHARK, top_window_seconds=None):
    """files: [{"path", "site_id", "site", "ap_mac", optional "freq"}] -> JSON-shaped dict."""
    result = Result()
    window = None if top_window_seconds is None else int(round(top_window_seconds * 1e6))
    for f in files:
        process_file(result, f["path"], f["site_id"], f["site"], f["ap_mac"], f.get("freq"),
                     tshark, window)
    return result.to_json()


# ---------------------------------------------------------------- Prometheus text exposition

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?\s*$")


def _parse_labels(text):
    labels, i, n = {}, 0, len(text)
    while i < n:
        while i < n and text[i] in " ,":
            i += 1
        if i >= n:
            break
        eq = text.index("=", i)
        name = text[i:eq].strip()
        i = eq + 1
        if text[i] != '"':
            raise ValueError(f"bad label value in {{{text}}}")
        i += 1
        val = []
        while text[i] != '"':
            if text[i] == "\\":
                i += 1
                val.append({"n": "\n", "\\": "\\", '"': '"'}.get(text[i], "\\" + text[i]))
            else:
                val.append(text[i])
            i += 1
        i += 1
        labels[name] = "".join(val)
    return labels


def _number(s):
    v = float(s)
    return int(v) if v.is_integer() and abs(v) < 2**53 else v


def parse_exposition(text, families=FAMILIES):
    """Prometheus text -> {family: [{"labels", "value"}]} for the given families."""
    out = {f: [] for f in families}
    hist = {}
    wanted = set(families)
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            continue
        name, labels, value = m.group(1), _parse_labels(m.group(3) or ""), m.group(4)
        if name in wanted and name not in HISTOGRAMS:
            out[name].append({"labels": labels, "value": _number(value)})
            continue
        for h in HISTOGRAMS & wanted:
            for suffix in ("_bucket", "_sum", "_count"):
                if name == h + suffix:
                    le = labels.pop("le", None)
                    key = (h, tuple(sorted(labels.items())))
                    e = hist.setdefault(key, {"count": 0, "sum": 0.0, "buckets": {}})
                    if suffix == "_bucket":
                        e["buckets"][_canonical_le(le)] = _number(value)
                    elif suffix == "_sum":
                        e["sum"] = float(value)
                    else:
                        e["count"] = _number(value)
    for (h, labels), e in sorted(hist.items()):
        out[h].append({"labels": dict(labels), "value": e})
    return out


def _canonical_le(le):
    if le in LE_STRINGS:
        return le
    v = float(le)
    for s in LE_STRINGS[:-1]:
        if float(s) == v:
            return s
    return "+Inf" if v == float("inf") else le


# ---------------------------------------------------------------- diff

def _index(series):
    return {tuple(sorted(s["labels"].items())): s["value"] for s in series}


def _fmt(labels):
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels) + "}"


def diff(expected, got, families=None, site_ids=None, top_clients_mode="exact",
         top_clients_k=10, sum_tolerance=1e-6, out=sys.stdout):
    """Print every mismatching series (label set, expected, got); return 0 if none, else 1.

    A series absent on one side counts as 0 (counters and histograms). site_ids, when given,
    restricts the comparison to series of those sites. top_clients_mode "bound": the exporter
    keeps at most K clients per site (Space-Saving): every reported value must be >= the true
    bytes and <= true + site total / K, and every client whose true bytes exceed total / K must
    be reported."""
    families = families or [f for f in FAMILIES if f in expected or f in got]
    bad = 0

    def keep(labels):
        return site_ids is None or dict(labels).get("site_id") in site_ids

    def report(family, labels, e, g, why=""):
        nonlocal bad
        bad += 1
        print(f"MISMATCH {family}{_fmt(labels)} expected={json.dumps(e)} got={json.dumps(g)}"
              f"{' ' + why if why else ''}", file=out)

    for family in families:
        exp = {k: v for k, v in _index(expected.get(family, [])).items() if keep(k)}
        gt = {k: v for k, v in _index(got.get(family, [])).items() if keep(k)}
        if family == TOP_CLIENTS and top_clients_mode == "bound":
            bad += _diff_top_bound(exp, gt, top_clients_k, report)
            continue
        for labels in sorted(set(exp) | set(gt)):
            e, g = exp.get(labels), gt.get(labels)
            if family in HISTOGRAMS:
                zero = {"count": 0, "sum": 0.0, "buckets": {le: 0 for le in LE_STRINGS}}
                e, g = e or zero, g or zero
                same = (e["count"] == g["count"] and abs(e["sum"] - g["sum"]) <= sum_tolerance
                        and all(e["buckets"].get(le, 0) == g["buckets"].get(le, 0)
                                for le in LE_STRINGS))
                if not same:
                    report(family, labels, e, g)
            elif (e or 0) != (g or 0):
                report(family, labels, e or 0, g or 0)
    return 1 if bad else 0


def _diff_top_bound(exp, got, k, report):
    sites = {}
    for labels, v in exp.items():
        d = dict(labels)
        sites.setdefault((d.get("site_id"), d.get("site")), {})[labels] = v
    errors = 0
    for (site_id, site), clients in sites.items():
        total = sum(clients.values())
        bound = total / k
        reported = {l: v for l, v in got.items() if dict(l).get("site_id") == site_id}
        if len(reported) > k:
            report(TOP_CLIENTS, [("site_id", site_id)], k, len(reported), "more than K clients")
            errors += 1
        for labels, v in reported.items():
            true = clients.get(labels, 0)
            if not (true <= v <= true + bound):
                report(TOP_CLIENTS, labels, true, v, f"outside [true, true+{bound:g}]")
                errors += 1
        for labels, true in clients.items():
            if true > bound and labels not in reported:
                report(TOP_CLIENTS, labels, true, None, f"heavy hitter (> {bound:g}) missing")
                errors += 1
    return errors


# ---------------------------------------------------------------- CLI

def _parse_args(argv):
    files, rest, cur = [], [], None
    it = iter(argv)
    for a in it:
        if a == "--file":
            cur = {"path": next(it), "site_id": None, "site": None, "ap_mac": None}
            files.append(cur)
        elif a in ("--site-id", "--site", "--ap-mac", "--freq"):
            if cur is None:
                raise SystemExit(f"{a} before any --file")
            v = next(it)
            cur[a[2:].replace("-", "_")] = int(v) if a == "--freq" else v
        else:
            rest.append(a)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tshark", default=TSHARK)
    ap.add_argument("--top-window-seconds", type=float)
    ap.add_argument("--out")
    ap.add_argument("--compare")
    ap.add_argument("--top-clients-mode", choices=["exact", "bound"], default="exact")
    ap.add_argument("--top-clients-k", type=int, default=10)
    args = ap.parse_args(rest)
    if not files:
        ap.error("at least one --file PATH --site-id ID --site NAME --ap-mac MAC")
    for f in files:
        missing = [k for k in ("site_id", "site", "ap_mac") if f[k] is None]
        if missing:
            ap.error(f"--file {f['path']}: missing {', '.join(missing)}")
    return files, args


def main(argv=None):
    files, args = _parse_args(sys.argv[1:] if argv is None else argv)
    expected = reference(files, args.tshark, args.top_window_seconds)
    text = json.dumps(expected, indent=1, sort_keys=True)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")
    elif not args.compare:
        print(text)
    if args.compare:
        src = args.compare
        if src.startswith("http://") or src.startswith("https://"):
            with urllib.request.urlopen(src, timeout=30) as r:
                exposition = r.read().decode()
        else:
            with open(src) as fh:
                exposition = fh.read()
        got = parse_exposition(exposition)
        rc = diff(expected, got, site_ids={f["site_id"] for f in files},
                  top_clients_mode=args.top_clients_mode, top_clients_k=args.top_clients_k)
        print("OK: /metrics equals tshark's reading" if rc == 0 else "FAIL", file=sys.stderr)
        return rc
    return 0


if __name__ == "__main__":
    sys.exit(main())
