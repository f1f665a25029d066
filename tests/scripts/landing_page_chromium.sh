#!/usr/bin/env bash
# The landing page / as a real browser sees it: the simulator and the exporter on loopback,
# headless Chromium loads / once the first poll is done (--dump-dom, the DOM after parsing),
# and a stdlib html.parser check reads the sites table and the stream state out of that DOM.
# Chromium is required (CI installs the Debian package `chromium`); a missing browser fails.
# With SCREENSHOT=<file.png> the same verified page is also saved as a screenshot
# (scripts/screenshot_landing.sh uses this for docs/landing-page.png).
source "$(dirname "$0")/lib.sh"
CHROMIUM="${CHROMIUM:-chromium}"
command -v "$CHROMIUM" >/dev/null ||
  fail "$CHROMIUM not found: install the Debian package chromium (scripts/install_deps.sh)"
PYTHON=/usr/bin/python3
[[ -x "$PYTHON" ]] || fail "$PYTHON missing"

export MIST_API_TOKEN="tok-landing-$RANDOM"
start_sim --token="$MIST_API_TOKEN" --rate=200
write_config "$WORK/cfg.yaml"
start_exporter "$WORK/cfg.yaml"

# Every site polled once and every stream channel subscribed, so the page has settled.
settled() {
  curl -sf "$EXPORTER_URL/metrics" >"$WORK/metrics.txt" || return 1
  local site
  for site in HQ Branch-01 Warehouse; do
    grep -q "^mist_pcap_up{.*site=\"$site\".*} 1\$" "$WORK/metrics.txt" || return 1
    grep -q "^mist_pcap_stream_subscribed{.*site=\"$site\".*} 1\$" "$WORK/metrics.txt" ||
      return 1
  done
  grep -q '^mist_pcap_stream_connected 1$' "$WORK/metrics.txt"
}
wait_for settled

# A fresh profile and HOME per run; the background-networking flags keep Chromium from
# phoning home (its connections are refused on a closed network and only add noise).
export HOME="$WORK/home"
mkdir -p "$HOME"
chromium_run() {
  timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --disable-dev-shm-usage --hide-scrollbars --user-data-dir="$WORK/profile-$1" "${@:2}" \
    2>"$WORK/chromium-$1.err"
}
rc=0
chromium_run dom --dump-dom "$EXPORTER_URL/" >"$WORK/dom.html" || rc=$?
if ((rc != 0)); then
  tail -20 "$WORK/chromium-dom.err" >&2
  fail "chromium --dump-dom exited with $rc"
fi

"$PYTHON" - "$WORK/dom.html" <<'PY' || fail "DOM check of the landing page"
import sys
from html.parser import HTMLParser


class Page(HTMLParser):
    """Collects the header and data cells of table#sites and the text of #stream-state."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.in_sites = False
        self.section = None
        self.headers, self.rows = [], []
        self.cell = None
        self.state_depth = 0
        self.stream_state = ""
        self.ids = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if self.state_depth:
            self.state_depth += 1
        elif attrs.get("id") == "stream-state":
            self.state_depth = 1
        if tag == "table" and attrs.get("id") == "sites":
            self.in_sites = True
        elif self.in_sites and tag in ("thead", "tbody"):
            self.section = tag
        elif self.in_sites and tag == "tr" and self.section == "tbody":
            self.rows.append([])
        elif self.in_sites and tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        if self.state_depth:
            self.state_depth -= 1
        if not self.in_sites:
            return
        if tag in ("td", "th") and self.cell is not None:
            text = " ".join(self.cell.split())
            if self.section == "thead":
                self.headers.append(text)
            elif self.rows:
                self.rows[-1].append(text)
            self.cell = None
        elif tag == "table":
            self.in_sites = False

    def handle_data(self, data):
        if self.state_depth:
            self.stream_state += data
        if self.cell is not None:
            self.cell += data


page = Page()
with open(sys.argv[1], encoding="utf-8") as f:
    page.feed(f.read())
errors = []
def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        errors.append(what)

check(page.ids.count("sites") == 1 and page.ids.count("stream-state") == 1,
      "exactly one table#sites and one #stream-state")
print("     columns:", " | ".join(page.headers))
rows = [dict(zip(page.headers, r)) for r in page.rows]
for r in rows:
    print("     row:", " | ".join(f"{k}={v}" for k, v in r.items()))
check(len(page.rows) == 3, f"3 data rows (got {len(page.rows)})")
check(all(len(r) == len(page.headers) for r in page.rows), "every row has a cell per column")
by_name = {r.get("Site"): r for r in rows}
check(sorted(by_name) == sorted(["HQ", "Branch-01", "Warehouse"]),
      f"site names HQ, Branch-01, Warehouse (got {sorted(map(str, by_name))})")
hq, wh = by_name.get("HQ", {}), by_name.get("Warehouse", {})
check(hq.get("Capture") == "running", f"HQ capture running (got {hq.get('Capture')!r})")
check(wh.get("Capture") == "none", f"Warehouse capture none (got {wh.get('Capture')!r})")
check((hq.get("APs ok"), hq.get("APs failed")) == ("3", "1"),
      f"HQ APs ok/failed 3/1 (got {hq.get('APs ok')}/{hq.get('APs failed')})")
check([r.get("Stream") for r in rows] == ["subscribed"] * 3,
      "every site's stream channel shows subscribed")
state = " ".join(page.stream_state.split())
check(state.split(" ")[0] == "connected", f"#stream-state says connected (got {state!r})")
sys.exit(1 if errors else 0)
PY

if [[ -n "${SCREENSHOT:-}" ]]; then
  chromium_run shot --screenshot="$SCREENSHOT" --window-size=1200,700 "$EXPORTER_URL/" || {
    tail -20 "$WORK/chromium-shot.err" >&2
    fail "chromium --screenshot failed"
  }
  [[ -s "$SCREENSHOT" ]] || fail "no screenshot written to $SCREENSHOT"
  echo "screenshot: $SCREENSHOT ($(wc -c <"$SCREENSHOT") bytes)"
fi
echo "PASS: headless Chromium renders / with 3 sites from the simulator and a connected stream"
