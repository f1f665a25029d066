#!/usr/bin/env bash
# Every file in tests/testdata/config/bad/ is rejected by the real binary with exit 1 and a
# message naming the file, line and key given on its first line: "# expect: <substring>".
source "$(dirname "$0")/lib.sh"
export MIST_API_TOKEN="x"
n=0
for f in "$SRC"/tests/testdata/config/bad/*.yaml; do
  expect="$(head -1 "$f" | sed -n 's/^# expect: //p')"
  [[ -n "$expect" ]] || fail "$f has no '# expect:' line"
  set +e
  "$EXPORTER" --config.file="$f" --check-config >"$WORK/out" 2>&1
  rc=$?
  set -e
  [[ $rc -eq 1 ]] || fail "$(basename "$f"): exit $rc, want 1"
  grep -qF "$(basename "$f"):" "$WORK/out" || fail "$(basename "$f"): message lacks file name: $(cat "$WORK/out")"
  grep -qF -- "$expect" "$WORK/out" || fail "$(basename "$f"): want '$expect', got: $(cat "$WORK/out")"
  n=$((n + 1))
done
((n >= 10)) || fail "only $n bad configs"
echo "PASS: $n bad configs rejected with file, line and key"
