#!/usr/bin/env python3
"""Every request body our CLI and managed captures sent to the simulator, read back from the
simulator's request log (GET /sim/requests), validated against Mist's OpenAPI description:
a start body against `capture_site` (the oneOf) and, strictly (no undeclared field), against
the schema of its own type; an annotate body strictly against `notes_string`.

Usage: request_bodies_test.py SIM_URL --spec-dir DIR --expect-starts N --expect-types "T;T;..."
Exit 0 only when every body validates and the expected bodies are all there.
"""

import argparse
import json
import os
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mist_openapi  # noqa: E402

TYPE_SCHEMA = {
    "client": "capture_client",
    "new_assoc": "capture_new_assoc",
    "radiotap": "capture_radiotap",
    "radiotap,wired": "capture_radiotapwired",
    "wired": "capture_wired",
    "wireless": "capture_wireless",
    "scan": "capture_scan",
    "gateway": "capture_gateway",
    "switch": "capture_switch",
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sim_url")
    ap.add_argument("--spec-dir", required=True)
    ap.add_argument("--expect-starts", type=int, required=True)
    ap.add_argument("--expect-types", required=True)
    ap.add_argument("--expect-annotations", type=int, default=1)
    args = ap.parse_args()

    try:
        api = mist_openapi.load(args.spec_dir)
    except mist_openapi.MissingSpecError as e:
        print(f"FAIL: {e}")
        return 1

    with urllib.request.urlopen(args.sim_url + "/sim/requests", timeout=10) as r:
        log = json.load(r)["requests"]

    passed, failed = 0, 0
    starts, annotations, types = 0, 0, set()

    def check(what, errors):
        nonlocal passed, failed
        if errors:
            failed += 1
            print(f"FAIL {what}:")
            for e in errors:
                print(f"    {e}")
        else:
            passed += 1

    for req in log:
        path, method = req["path"], req["method"]
        if method == "POST" and path.endswith("/pcaps/capture"):
            starts += 1
            try:
                body = json.loads(req["body"])
            except ValueError as e:
                check(f"start body is not JSON: {req['body']!r}", [str(e)])
                continue
            kind = body.get("type")
            types.add(kind)
            check(f"start {req['body']} against capture_site", api.validate(body, "capture_site"))
            schema = TYPE_SCHEMA.get(kind)
            if schema is None:
                check(f"start {req['body']}", [f"type {kind!r} is not one of Mist's"])
                continue
            check(f"start {req['body']} against {schema} (strict)",
                  api.validate(body, schema, strict=True))
            # A type that has `format` must ask for the stream unless pcap was asked for.
            has_format = "format" in api.schema(schema)["properties"]
            if has_format and body.get("format") not in ("stream", "pcap"):
                check(f"start {req['body']}", ["format left out: Mist would default to pcap"])
        elif method == "PUT" and "/pcaps/" in path:
            annotations += 1
            check(f"annotate {req['body']} against notes_string (strict)",
                  api.validate(json.loads(req["body"]), "notes_string", strict=True))

    want_types = set(args.expect_types.split(";"))
    if starts < args.expect_starts:
        check("start bodies", [f"{starts} seen, expected at least {args.expect_starts}"])
    if not want_types <= types:
        check("start types", [f"missing {sorted(want_types - types)}"])
    if annotations < args.expect_annotations:
        check("annotate bodies", [f"{annotations} seen, expected {args.expect_annotations}"])
    print(f"request bodies: {starts} starts ({', '.join(sorted(types))}), "
          f"{annotations} annotations")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
