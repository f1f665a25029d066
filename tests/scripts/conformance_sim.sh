#!/usr/bin/env bash
# Every answer of the real simulator validates against Mist's OpenAPI description in
# third_party/mist-api/ (tests/conformance/; a missing description fails, it is never skipped).
source "$(dirname "$0")/lib.sh"
SPEC_DIR="$SRC/third_party/mist-api"
[[ -f "$SPEC_DIR/mist-pcaps.openapi.json" ]] ||
  fail "Mist's OpenAPI description is missing: $SPEC_DIR/mist-pcaps.openapi.json"
/usr/bin/python3 -c 'import jsonschema' || fail "python3-jsonschema is not installed"
/usr/bin/python3 "$SRC/tests/conformance/sim_conformance_test.py" "$SIM" --spec-dir "$SPEC_DIR"
