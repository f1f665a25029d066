#!/usr/bin/python3
"""Every answer of the real mist_cloud_sim binary validates against Mist's OpenAPI description.

usage: sim_conformance_test.py SIM_BINARY [--spec-dir DIR]

Starts the simulator on 127.0.0.1 port 0 with its own scenario (an idle site, a site whose
running capture has failed APs, a site with several pages of finished captures), then checks
status (idle, running, failed APs), the start reply of every capture type, 400s naming the
field, every list page, annotate, the capture file behind pcap_url (read by tshark), self,
self/usage, org sites, every org inventory page, site and the error bodies (400, 401, 404,
429); then, on a second simulator with a churn scenario, the status and list answers of the
captures that churn starts and ends, and /sim/changes. Exit 0 when all pass;
1 on any failure; 2 when the description is missing (never a skip).
"""

import argparse
import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mist_openapi  # noqa: E402

TOKEN = "conformance-token"
ORG = "0c0f0000-0000-4000-8000-000000000001"
IDLE = "0c0f0000-0000-4000-8000-00000000a001"
RUNNING = "0c0f0000-0000-4000-8000-00000000a002"
HISTORY = "0c0f0000-0000-4000-8000-00000000a003"
IDLE_APS = ["5c5b35c00001", "5c5b35c00002"]
RUN_APS = ["5c5b35c00101", "5c5b35c00102", "5c5b35c00103", "5c5b35c00104"]

SCENARIO = f"""
email: conformance@example.com
orgs: [{{id: {ORG}, name: Conformance Org}}]
sites:
  - id: {IDLE}
    name: Idle
    org: {ORG}
    aps: [{", ".join(IDLE_APS)}]
  - id: {RUNNING}
    name: Running
    org: {ORG}
    aps: [{", ".join(RUN_APS)}]
    failing_aps: [{RUN_APS[3]}]
    stream: {{wired_share: 0.4, bands: ["2.4", "5"], vlans: [10]}}
    capture:
      type: radiotap,wired
      format: stream
      duration: 3600
      num_packets: 500
      max_pkt_len: 256
      failed_aps: [{RUN_APS[2]}]
  - id: {HISTORY}
    name: History
    org: {ORG}
    aps: [5c5b35c00201]
    history:
      - {{type: radiotap, started_ago: 1h, duration: 600, notes: "kept, never listed"}}
      - {{type: wired, started_ago: 2h, duration: 300, termination_reason: user}}
      - {{type: client, started_ago: 3h, duration: 900}}
      - {{type: radiotap, started_ago: 4h, duration: 600, id: false}}
      - {{type: "radiotap,wired", started_ago: 5h, duration: 1200}}
      - {{type: scan, started_ago: 6h, duration: 60}}
      - {{type: wireless, started_ago: 7h, duration: 60}}
"""

STATUS = "/api/v1/sites/{site_id}/pcaps/capture"
LIST = "/api/v1/sites/{site_id}/pcaps"
ANNOTATE = "/api/v1/sites/{site_id}/pcaps/{pcap_id}"


class Checker:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL: {what}" + (f"\n      {detail}" if detail else ""), file=sys.stderr)
        return cond

    def valid(self, errors, what):
        return self.check(not errors, f"{what} validates", "\n      ".join(errors))


class Sim:
    def __init__(self, binary, workdir, scenario_text=SCENARIO, name="sim"):
        scenario = os.path.join(workdir, f"{name}-scenario.yaml")
        with open(scenario, "w", encoding="utf-8") as f:
            f.write(scenario_text)
        self.out = open(os.path.join(workdir, f"{name}.out"), "w+", encoding="utf-8")
        self.proc = subprocess.Popen(
            [binary, "--listen=127.0.0.1:0", f"--scenario={scenario}", f"--token={TOKEN}",
             "--rate=400", "--download-origin=http://localhost:{port}"],
            stdout=self.out, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        self.base = None
        while time.time() < deadline and self.base is None:
            if self.proc.poll() is not None:
                break
            self.out.seek(0)
            for line in self.out.read().splitlines():
                if "listening on " in line:
                    self.base = line.split("listening on ")[1].strip()
            time.sleep(0.05)
        if self.base is None:
            self.out.seek(0)
            raise RuntimeError("simulator did not start: " + self.out.read())
        self.port = int(self.base.rsplit(":", 1)[1])

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def call(self, method, path, body=None, token=TOKEN, raw_body=None, headers=None):
        """(status, parsed JSON or None, headers, raw bytes)."""
        data = raw_body if raw_body is not None else (
            None if body is None else json.dumps(body).encode())
        url = path if path.startswith("http") else self.base + path
        req = urllib.request.Request(url, data=data, method=method)
        if token is not None:
            req.add_header("Authorization", f"Token {token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                status, hdrs, raw = res.status, res.headers, res.read()
        except urllib.error.HTTPError as e:
            status, hdrs, raw = e.code, e.headers, e.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return status, parsed, hdrs, raw


class WsClient:
    """A minimal RFC 6455 client (text frames only) for the simulator's stream."""

    def __init__(self, port, token):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /api-ws/v1/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                           f"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                           f"Authorization: Token {token}\r\n\r\n").encode())
        self.file = self.sock.makefile("rb")
        status = self.file.readline()
        if b" 101 " not in status:
            raise RuntimeError(f"upgrade refused: {status!r}")
        while self.file.readline() not in (b"\r\n", b""):
            pass

    def send(self, text):
        payload = text.encode()
        mask = os.urandom(4)
        head = bytes([0x81])
        n = len(payload)
        head += bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def recv(self):
        while True:
            b0, b1 = self.file.read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self.file.read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self.file.read(8))[0]
            payload = self.file.read(n)
            if b0 & 0x0F == 0x1:
                return payload.decode()
            if b0 & 0x0F == 0x8:
                raise RuntimeError("stream closed")

    def close(self):
        self.sock.close()


def le32(b, at):
    return struct.unpack_from("<I", b, at)[0]


def tshark_fields(path, *fields):
    args = ["tshark", "-r", path, "-T", "fields"]
    for f in fields:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"tshark -r failed: {out.stderr}")
    return [line.split("\t") for line in out.stdout.splitlines()]


def run(sim, api, c, workdir, api_dir):
    def path(template, **kw):
        return template.format(**kw)

    # --- the validator itself rejects what the simulator used to send ----------------------
    guessed_status = {"id": "a9a84e13-a714-b1eb-152f-a434416217d5", "type": "radiotap",
                      "enabled": True, "aps": {"5c5b35c00101": {"status": "ok"}},
                      "failed_aps": []}
    c.check(api.validate(guessed_status, "response_pcap_status"),
            "the validator rejects the old guessed status shape (aps object)")
    c.check(api.validate({"type": "radiotap", "ap_macs": ["5c5b35c00101"]}, "capture_radiotap",
                         strict=True), "strict mode rejects ap_macs in a start body")
    c.check(mist_openapi.MistApi(api_dir, errata=False).validate(
        {"id": "x", "type": "scan", "format": "pcap"}, "response_pcap_status"),
        "without the errata a pcap-format scan status does not validate")

    # --- self, usage, sites, site ----------------------------------------------------------
    st, body, _, _ = sim.call("GET", "/api/v1/self")
    c.check(st == 200, "GET /self is 200", st)
    c.valid(api.validate_response("/api/v1/self", "get", 200, body), "self (admin)")
    c.check(body.get("privileges", [{}])[0].get("org_id") == ORG, "self names the org")

    st, u1, _, _ = sim.call("GET", "/api/v1/self/usage")
    c.valid(api.validate_response("/api/v1/self/usage", "get", 200, u1, strict=True),
            "self/usage (api_usage, strict)")
    st, u2, _, _ = sim.call("GET", "/api/v1/self/usage")
    c.check(u2["requests"] == u1["requests"] + 1 and u1["request_limit"] == 5000,
            "self/usage counts itself and defaults to a limit of 5000", f"{u1} then {u2}")
    sim.call("POST", "/sim/usage", {"other_requests": 4000, "request_limit": 4010})
    st, u3, _, _ = sim.call("GET", "/api/v1/self/usage")
    c.check(u3 == {"requests": u2["requests"] + 1 + 4000, "request_limit": 4010},
            "self/usage adds other clients' requests and the set limit", u3)
    sim.call("POST", "/sim/usage", {"enforce": True, "other_requests": 5000})
    st, body, _, _ = sim.call("GET", "/api/v1/self/usage")
    c.check(st == 429, "over the request limit is 429 when enforced", st)
    c.valid(api.validate_response("/api/v1/self/usage", "get", 429, body), "429 over limit")
    sim.call("POST", "/sim/usage", {"enforce": False, "other_requests": 0,
                                    "request_limit": 5000})

    st, body, hdrs, _ = sim.call("GET", f"/api/v1/orgs/{ORG}/sites?limit=2&page=1")
    c.valid(api.validate_response("/api/v1/orgs/{org_id}/sites", "get", 200, body), "org sites")
    c.check(len(body) == 2 and hdrs.get("X-Page-Total") == "3" and
            hdrs.get("X-Page-Limit") == "2" and hdrs.get("X-Page-Page") == "1",
            "org sites page 1 of 2 with X-Page headers", f"{body} {dict(hdrs)}")
    # --- org inventory: every page validates, paged like the org sites ----------------------
    inventory = "/api/v1/orgs/{org_id}/inventory"
    all_macs = IDLE_APS + RUN_APS + ["5c5b35c00201"]
    items, page_no = [], 1
    while page_no <= 10:
        st, body, hdrs, _ = sim.call(
            "GET", f"/api/v1/orgs/{ORG}/inventory?type=ap&limit=3&page={page_no}&vc=false")
        c.check(st == 200, f"inventory page {page_no} is 200", st)
        c.valid(api.validate_response(inventory, "get", 200, body), f"inventory page {page_no}")
        c.valid(api.validate(body, "inventory_list"), f"inventory page {page_no} (inventory_list)")
        for i in body:
            c.valid(api.validate(i, "inventory", strict=True),
                    f"inventory item {i.get('mac')} (strict)")
        c.check(hdrs.get("X-Page-Total") == str(len(all_macs)) and
                hdrs.get("X-Page-Limit") == "3" and hdrs.get("X-Page-Page") == str(page_no),
                f"inventory page {page_no} X-Page headers", dict(hdrs))
        items += body
        if len(body) < 3:
            break
        page_no += 1
    c.check(page_no == 3 and [i["mac"] for i in items] == all_macs,
            "inventory lists every AP of the org once, in site order, on 3 pages",
            [i.get("mac") for i in items])
    c.check(all(len(i["mac"]) == 12 and all(ch in "0123456789abcdef" for ch in i["mac"]) and
                i["type"] == "ap" and i["org_id"] == ORG and i.get("model") and i.get("serial")
                for i in items), "inventory items: 12-hex MACs, type ap, org, model, serial")
    c.check(sum("name" not in i for i in items) == 1 and "name" not in items[6],
            "the 7th AP has no name (optional in Mist)", [i.get("name") for i in items])
    c.check([i["connected"] for i in items if i["site_id"] == RUNNING] ==
            [True, True, True, False], "the failing AP is not connected", items)
    st, body, _, _ = sim.call("GET", f"/api/v1/orgs/{ORG}/inventory?type=switch")
    c.check(st == 200 and body == [], "inventory of type switch is empty", body)
    c.valid(api.validate_response(inventory, "get", 200, body), "empty inventory page")
    st, body, _, _ = sim.call("GET", f"/api/v1/orgs/{ORG}/inventory", token="wrong")
    c.check(st == 401, "inventory with a wrong token is 401", st)
    c.valid(api.validate_response(inventory, "get", 401, body), "inventory 401 body")
    st, body, _, _ = sim.call("GET", "/api/v1/orgs/0c0f0000-0000-4000-8000-0000000000ff/inventory")
    c.check(st == 404, "inventory of an unknown org is 404", st)
    c.valid(api.validate_response(inventory, "get", 404, body), "inventory 404 body")
    stats = sim.call("GET", "/sim/stats")[1]
    c.check(stats["requests"].get("inventory") == page_no + 3,
            "/sim/stats counts the inventory requests", stats["requests"])

    st, body, _, _ = sim.call("GET", f"/api/v1/sites/{IDLE}")
    c.check(st == 200 and body.get("id") == IDLE and body.get("name") == "Idle",
            "GET site answers the site", body)
    c.valid(api.validate_response("/api/v1/sites/{site_id}", "get", 200, body), "site")

    # --- errors ---------------------------------------------------------------------------
    st, body, _, _ = sim.call("GET", path(STATUS, site_id=IDLE), token="wrong")
    c.check(st == 401, "wrong token is 401", st)
    c.valid(api.validate_response(STATUS, "get", 401, body), "401 body")
    st, body, _, _ = sim.call("GET", path(STATUS, site_id=IDLE), token=None)
    c.check(st == 401 and body == {"detail": "Authentication credentials were not provided."},
            "missing token is 401 with Mist's detail", body)
    st, body, _, _ = sim.call("GET", "/api/v1/sites/0c0f0000-0000-4000-8000-0000000000ff")
    c.check(st == 404, "unknown site is 404", st)
    c.valid(api.validate_response("/api/v1/sites/{site_id}", "get", 404, body), "404 body")
    sim.call("POST", "/sim/faults", {"status_429_every": 1, "retry_after_s": 1})
    st, body, hdrs, _ = sim.call("GET", path(LIST, site_id=IDLE))
    c.check(st == 429 and hdrs.get("Retry-After") == "1", "429 fault answers 429", st)
    c.valid(api.validate_response(LIST, "get", 429, body), "429 body")
    sim.call("POST", "/sim/faults", {"error_5xx_every": 1, "error_code": 403})
    st, body, _, _ = sim.call("GET", path(STATUS, site_id=IDLE))
    c.check(st == 403, "injected 403 answers 403", st)
    c.valid(api.validate_response(STATUS, "get", 403, body), "403 body")
    sim.call("POST", "/sim/faults", {})

    # --- status: idle, running with failed APs --------------------------------------------
    st, body, _, _ = sim.call("GET", path(STATUS, site_id=IDLE))
    c.check(st == 404 and isinstance(body.get("detail"), str),
            "idle status is 404 {detail} by default", f"{st} {body}")
    c.valid(api.validate_response(STATUS, "get", 404, body), "idle status 404 body")
    sim.call("POST", "/sim/idle_status", {"answer": "empty"})
    st, body, _, raw = sim.call("GET", path(STATUS, site_id=IDLE))
    c.check(st == 200 and raw == b"{}", "idle status knob answers 200 {}", f"{st} {raw!r}")
    sim.call("POST", "/sim/idle_status", {"answer": "not_found"})

    st, status0, _, _ = sim.call("GET", path(STATUS, site_id=RUNNING))
    c.valid(api.validate_response(STATUS, "get", 200, status0, strict=True),
            "running status with failed APs (strict)")
    c.check(status0["aps"] == RUN_APS and status0["ok"] == RUN_APS[:2] and
            status0["failed"] == RUN_APS[2:], "status aps / ok / failed arrays",
            json.dumps(status0))
    c.check(sorted(status0.get("pcap_aps", {})) == RUN_APS[:2] and all(
        v["tcpdump_expression"] is None and isinstance(v["band"], int)
        for v in status0["pcap_aps"].values()), "pcap_aps of the OK APs", status0)
    c.check(status0["max_num_packets"] == 500 and status0["num_packets"] == 0 and
            isinstance(status0["started_time"], int) and status0["format"] == "stream",
            "status limit, progress 0 before any stream, integer started_time", status0)
    for absent in ("enabled", "expiry", "ap_macs", "failed_aps", "notes"):
        c.check(absent not in status0, f"status has no invented field {absent}")

    # --- the stream fills the capture; its file is what was streamed ----------------------
    want = 40
    sim.call("POST", "/sim/stream", {"limit": want})
    ws = WsClient(sim.port, TOKEN)
    ws.send(json.dumps({"subscribe": f"/sites/{RUNNING}/pcaps"}))
    records = []
    deadline = time.time() + 30
    while len(records) < want and time.time() < deadline:
        msg = json.loads(ws.recv())
        if msg.get("event") != "data":
            continue
        data = msg["data"] if isinstance(msg["data"], dict) else json.loads(msg["data"])
        if data.get("pcap_dict") is None:
            continue
        raw = base64.b64decode(data["pcap_raw"])
        records.append((le32(raw, 20), le32(raw, 24 + 12), raw[24 + 16:]))
    c.check(len(records) == want, f"{want} packets streamed", len(records))
    # A packet counts once the simulator's write completed, which may trail the client's read
    # by a moment: poll briefly (the stream limit keeps it from passing `want`).
    deadline = time.time() + 5
    while True:
        st, status1, _, _ = sim.call("GET", path(STATUS, site_id=RUNNING))
        if status1.get("num_packets") == want or time.time() > deadline:
            break
        time.sleep(0.02)
    c.valid(api.validate_response(STATUS, "get", 200, status1, strict=True), "streaming status")
    c.check(status1["num_packets"] == want, "status num_packets = packets streamed so far",
            f"{status1.get('num_packets')} want {want}")
    capture_id = status1["id"]
    # Stop while the limit still holds, so nothing more is delivered to this capture.
    st, body, _, raw = sim.call("DELETE", path(STATUS, site_id=RUNNING))
    ws.close()
    sim.call("POST", "/sim/stream", {"limit": 0})
    c.check(st == 200, "stop is 200", st)
    c.valid(api.validate_response(STATUS, "delete", 200, body), "stop body")
    st, page, _, _ = sim.call("GET", path(LIST, site_id=RUNNING))
    c.valid(api.validate_response(LIST, "get", 200, page, strict=True), "list after stop")
    item = next((i for i in page["results"] if i.get("id") == capture_id), None)
    c.check(item is not None, "stopped capture is listed", page)
    if item:
        c.valid(api.validate(item, "response_pcap_search_item", strict=True), "stopped item")
        c.check(item.get("termination_reason") == "user", "stopped by a user",
                item.get("termination_reason"))
        url = item.get("pcap_url", "")
        c.check(url.startswith(f"http://localhost:{sim.port}/"),
                "pcap_url uses the configured download origin", url)
        st, _, hdrs, data = sim.call("GET", url, token=None)
        c.check(st == 200, "download without a token is 200", st)
        magic = le32(data, 0) if len(data) >= 4 else 0
        c.check(magic == 0x0A0D0D0A and url.endswith(".pcapng") and
                hdrs.get("Content-Type") == "application/x-pcapng",
                "a radiotap,wired capture's file is pcapng", f"{magic:#x} {url}")
        file_path = os.path.join(workdir, "capture.pcap")
        with open(file_path, "wb") as f:
            f.write(data)
        rows = tshark_fields(file_path, "frame.len", "frame.cap_len", "frame.protocols")
        c.check(len(rows) == want, "tshark reads every streamed packet", len(rows))
        expect = [(str(orig), str(len(b)), "radiotap" if link == 127 else "eth")
                  for link, orig, b in records]
        got = [(r[0], r[1], r[2].split(":")[0]) for r in rows]
        c.check(got == expect, "tshark: the file is the streamed packets, in order",
                f"first differences: {[(g, e) for g, e in zip(got, expect) if g != e][:3]}")
        sim.call("GET", url, token=TOKEN)
        stats = sim.call("GET", "/sim/stats")[1]
        c.check(stats["downloads"]["with_authorization"] == 1 and
                stats["downloads"]["served"] == 2,
                "/sim/stats counts the download that carried Authorization", stats["downloads"])
        for mode, want_status in (("forbidden", 403), ("not_found", 404), ("not_pcap", 200)):
            sim.call("POST", "/sim/downloads", {"mode": mode})
            st, _, hdrs, data = sim.call("GET", url, token=None)
            ok = st == want_status and (mode != "not_pcap" or data.startswith(b"<html"))
            c.check(ok, f"download failure control {mode}", f"{st} {data[:40]!r}")
        sim.call("POST", "/sim/downloads", {"mode": "ok"})

    # --- start: every type, its reply, its status, and bodies that do not validate --------
    bodies = [
        {"type": "client", "client_mac": "60a10a773412", "duration": 60, "includes_mcast": True,
         "max_pkt_len": 128, "num_packets": 100, "ssid": "corp"},
        {"type": "new_assoc", "ap_mac": IDLE_APS[0], "client_mac": "60a10a773412"},
        {"type": "radiotap", "ap_mac": IDLE_APS[1], "band": "5", "format": "stream",
         "num_packets": 0, "max_pkt_len": 2048, "tcpdump_expression": "type mgt"},
        {"type": "radiotap,wired", "ap_mac": None, "band": "24,5,6", "format": "stream",
         "radiotap_tcpdump_expression": "type data", "wired_tcpdump_expression": "tcp"},
        {"type": "wired", "format": "stream", "tcpdump_expression": "udp port 67"},
        {"type": "wireless", "band": "6", "format": "stream", "ssid": "corp"},
        {"type": "scan", "band": "5", "bandwidth": 80, "channel": 36, "format": "stream",
         "width": "80", "aps": {IDLE_APS[0]: {"band": "5", "channel": "36"}}},
        {"type": "gateway", "format": "stream", "gateways": {
            "001122334455": {"ports": {"ge-0/0/0": {"tcpdump_expression": "tcp"}}}}},
        {"type": "switch", "format": "stream", "switches": {
            "001122334466": {"ports": {"ge-0/0/1": {}}}}, "tcpdump_expression": "port 443"},
        {"type": "radiotap"},  # format left out: pcap
    ]
    sim.call("DELETE", "/sim/requests")
    for b in bodies:
        t = b["type"]
        schema = {"radiotap,wired": "capture_radiotapwired"}.get(t, f"capture_{t}")
        c.valid(api.validate(b, "capture_site", strict=True), f"test body {t} (capture_site)")
        c.valid(api.validate(b, schema, strict=True), f"test body {t} ({schema})")
        st, reply, _, _ = sim.call("POST", path(STATUS, site_id=IDLE), b)
        if not c.check(st == 200, f"start {t} is 200", f"{st} {reply}"):
            continue
        c.valid(api.validate_response(STATUS, "post", 200, reply, strict=True),
                f"start reply {t} (strict)")
        c.check(reply["type"] == t and reply["site_id"] == IDLE and reply["org_id"] == ORG and
                isinstance(reply["timestamp"], float) and
                reply["expiry"] - reply["timestamp"] == reply["duration"] and
                reply["ap_count"] == len(reply["aps"]) and reply["enabled"] is True,
                f"start reply {t} values", reply)
        want_format = b.get("format", "pcap" if t == "radiotap" else "stream")
        c.check(reply["format"] == want_format, f"start reply {t} format {want_format}", reply)
        st, status, _, _ = sim.call("GET", path(STATUS, site_id=IDLE))
        c.valid(api.validate_response(STATUS, "get", 200, status, strict=True), f"status {t}")
        c.check(("num_packets" in status) == (t not in ("client", "new_assoc")),
                f"status {t}: num_packets only where Mist reports it", status)
        c.check(status["max_num_packets"] == b.get("num_packets", 1024),
                f"status {t}: max_num_packets is the limit", status)
        if "ap_mac" in b and b["ap_mac"]:
            c.check(status["aps"] == [b["ap_mac"]], f"status {t}: only the chosen AP", status)
        elif t in ("gateway", "switch"):
            c.check(status["aps"] == list(b.get("gateways", b.get("switches"))),
                    f"status {t}: the devices", status)
        else:
            c.check(status["aps"] == IDLE_APS, f"status {t}: every AP of the site", status)
        sim.call("DELETE", path(STATUS, site_id=IDLE))
    logged = sim.call("GET", "/sim/requests")[1]["requests"]
    posted = [json.loads(r["body"]) for r in logged if r["method"] == "POST"]
    c.check(posted == bodies, "/sim/requests holds every start body as sent",
            f"{len(posted)} of {len(bodies)}")

    bad = [
        ({"type": "radiotap", "band": "5,6"}, 'band: "5,6" is not one of 24, 24,5,6, 5, 6'),
        ({"type": "radiotap", "ap_mac": ["5c5b35c00001"]}, "ap_mac: expected a string"),
        ({"type": "radiotap", "ap_mac": None}, "ap_mac: must not be null"),
        ({"type": "wired", "duration": 30}, "duration: 30 is out of range 60..86400"),
        ({"type": "wired", "num_packets": 20000}, "num_packets: 20000 is out of range"),
        ({"type": "wired", "max_pkt_len": 32}, "max_pkt_len: 32 is out of range 64..2048"),
        ({"type": "wired", "format": "tzsp"}, "format: \"tzsp\" is not one of pcap, stream"),
        ({"type": "client"}, "client_mac: required for type client"),
        ({"type": "client", "client_mac": "60a10a773412", "includes_mcast": "yes"},
         "includes_mcast: expected a boolean"),
        ({"type": "gateway"}, "gateways: required for type gateway"),
        ({"type": "switch", "switches": []}, "switches: expected an object"),
        ({"type": "wireless", "band": "24,5,6"}, 'band: "24,5,6" is not one of 24, 5, 6'),
        ({"type": "scan", "bandwidth": 30}, "bandwidth: 30 is not one of 0, 20, 40, 80, 160"),
        ({"type": "bogus"}, 'type: "bogus" is not one of'),
        ({}, "type: required"),
    ]
    for b, want_detail in bad:
        schema_errors = api.validate(b, "capture_site")
        if b == {"type": "client"}:
            # client_mac is "required if type==client" in the description's text only; the
            # schema leaves it optional (docs/mist-api-conformance.md).
            c.check(not schema_errors, "client without client_mac passes the schema itself")
        else:
            c.check(schema_errors, f"bad body {b} is also invalid for the description")
        st, body, _, _ = sim.call("POST", path(STATUS, site_id=IDLE), b)
        c.check(st == 400 and want_detail in body.get("detail", ""),
                f"bad body {b} is 400 naming the field", f"{st} {body}")
        c.valid(api.validate_response(STATUS, "post", 400, body, strict=True), "400 body")
    st, body, _, _ = sim.call("POST", path(STATUS, site_id=IDLE), raw_body=b"{nope")
    c.check(st == 400, "unparsable start body is 400", st)
    c.valid(api.validate_response(STATUS, "post", 400, body), "400 parse error body")
    st, reply, _, _ = sim.call("POST", path(STATUS, site_id=IDLE),
                               {"type": "radiotap", "ap_macs": [IDLE_APS[0]], "format": "stream"})
    stats = sim.call("GET", "/sim/stats")[1]
    c.check(st == 200 and reply["aps"] == IDLE_APS and
            stats["ignored_request_fields"].get("ap_macs") == 1,
            "unknown ap_macs is ignored (every AP) and counted", f"{reply} {stats}")
    sim.call("DELETE", path(STATUS, site_id=IDLE))

    # --- list pages, annotate --------------------------------------------------------------
    next_link = path(LIST, site_id=HISTORY) + "?limit=3"
    pages, items = 0, []
    while next_link and pages < 10:
        st, page, _, _ = sim.call("GET", next_link)
        pages += 1
        c.valid(api.validate_response(LIST, "get", 200, page, strict=True), f"list page {pages}")
        for i in page["results"]:
            c.valid(api.validate(i, "response_pcap_search_item", strict=True),
                    f"list item {i.get('id', '(no id)')}")
        items += page["results"]
        c.check(page["limit"] == 3 and page["total"] == 7, "list page limit/total", page)
        next_link = page.get("next")
        c.check(next_link is None or next_link.startswith("/api/v1/sites/"),
                "next is a relative link when present", next_link)
    c.check(pages == 3 and len(items) == 7, "7 captures on 3 pages", f"{pages} {len(items)}")
    c.check(sum("id" not in i for i in items) == 1, "one list item without id (scenario)")
    c.check(all("notes" not in i and i.get("pcap_url") for i in items),
            "no notes in list items, every item has a pcap_url")
    c.check([i["termination_reason"] for i in items][:2] == ["default", "user"],
            "termination_reason default (duration ran out) and user (stopped)")
    pcap_id = items[0]["id"]
    st, body, _, raw = sim.call("PUT", path(ANNOTATE, site_id=HISTORY, pcap_id=pcap_id),
                                {"notes": "checked"})
    c.check(st == 200 and body == {}, "annotate is 200 {}", f"{st} {raw!r}")
    c.valid(api.validate_response(ANNOTATE, "put", 200, body), "annotate 200")
    c.valid(api.validate({"notes": "checked"}, "notes_string", strict=True), "annotate body")
    st, body, _, _ = sim.call("PUT", path(ANNOTATE, site_id=HISTORY, pcap_id=pcap_id),
                              {"notes": 5})
    c.check(st == 400 and body["detail"].startswith("notes:"), "annotate bad notes is 400", body)
    c.valid(api.validate_response(ANNOTATE, "put", 400, body), "annotate 400")
    st, body, _, _ = sim.call("PUT", path(ANNOTATE, site_id=HISTORY,
                                          pcap_id="0c0f0000-0000-4000-8000-0000000000ee"),
                              {"notes": "x"})
    c.check(st == 404, "annotate unknown id is 404", st)
    c.valid(api.validate_response(ANNOTATE, "put", 404, body), "annotate 404")
    st, page, _, _ = sim.call("GET", path(LIST, site_id=HISTORY) + "?limit=1")
    c.check("notes" not in page["results"][0], "annotated item still lists no notes", page)


CHURN_SCENARIO = f"""
orgs: [{{id: {ORG}, name: Churn Org}}]
generate_sites: {{count: 3, org: {ORG}, aps_per_site: 2}}
churn: {{start_every: 1s, duration: 2s, type: "radiotap,wired", fail_ap_every: 1.5}}
"""


def run_churn(sim, api, c):
    """Churn captures answer like REST-started ones: status while they run, list items after."""
    sites = [f"5be1e000-0000-4000-8000-{i:012d}" for i in range(3)]
    seen_status = 0
    deadline = time.time() + 5
    while time.time() < deadline:
        for site in sites:
            st, body, _, _ = sim.call("GET", STATUS.format(site_id=site))
            if st == 200:
                seen_status += 1
                c.valid(api.validate_response(STATUS, "get", 200, body, strict=True),
                        f"churn capture status {site}")
                c.check(body["format"] == "stream" and body["type"] == "radiotap,wired" and
                        body["duration"] == 2 and sorted(body["ok"] + body["failed"]) ==
                        sorted(body["aps"]), "churn status values", body)
            else:
                c.check(st == 404, "idle churn site status is 404", st)
        time.sleep(0.25)
    c.check(seen_status > 0, "churn captures were seen running", seen_status)
    st, doc, _, _ = sim.call("GET", "/sim/changes")
    kinds = [ch["kind"] for ch in doc["changes"]]
    c.check(st == 200 and doc["total"] == len(kinds) and kinds.count("capture_start") >= 3 and
            kinds.count("capture_end") >= 2 and kinds.count("ap_failed") >= 1 and
            [ch["seq"] for ch in doc["changes"]] == list(range(1, len(kinds) + 1)),
            "/sim/changes logs starts, ends and AP failures in order", doc)
    c.check(all(a["time"] <= b["time"] for a, b in zip(doc["changes"], doc["changes"][1:])),
            "/sim/changes times never go back", doc)
    ended = {ch["capture_id"] for ch in doc["changes"] if ch["kind"] == "capture_end"}
    listed = set()
    for site in sites:
        st, page, _, _ = sim.call("GET", LIST.format(site_id=site))
        c.valid(api.validate_response(LIST, "get", 200, page, strict=True), f"churn list {site}")
        for item in page["results"]:
            c.valid(api.validate(item, "response_pcap_search_item", strict=True),
                    f"churn list item {item.get('id')}")
            c.check(item.get("termination_reason") == "default" and item.get("duration") == 2,
                    "churn captures end as if their duration ran out", item)
            listed.add(item.get("id"))
    c.check(ended <= listed, "every ended churn capture is listed", f"{ended - listed}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sim")
    ap.add_argument("--spec-dir")
    args = ap.parse_args()
    try:
        api = mist_openapi.MistApi(args.spec_dir)
    except mist_openapi.MissingSpecError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 2
    if shutil.which("tshark") is None:
        print("FAIL: tshark is needed to read the capture files", file=sys.stderr)
        return 1
    workdir = tempfile.mkdtemp(prefix="sim_conformance_")
    c = Checker()
    try:
        sim = Sim(args.sim, workdir)
        try:
            run(sim, api, c, workdir, args.spec_dir)
        finally:
            sim.stop()
        # Captures that come and go on the simulator's clock answer in the same shapes.
        churn = Sim(args.sim, workdir, CHURN_SCENARIO, "churn")
        try:
            run_churn(churn, api, c)
        finally:
            churn.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{'PASS' if c.failed == 0 else 'FAIL'}: {c.passed} checks passed, {c.failed} failed "
          f"(errata applied: {', '.join(e[0] for e in api.errata)})")
    return 0 if c.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
