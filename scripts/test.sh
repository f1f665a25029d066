#!/usr/bin/env bash
# The README's test command and exactly what CI runs (.ci/run). Stages, in order:
#   deps   scripts/install_deps.sh --all
#   build  scripts/build.sh (build/, RelWithDebInfo, -Werror)
#   ctest  every test in build/ (unit, e2e, script, bench smoke runs)
#   asan   scripts/sanitize.sh asan: unit + e2e suites under AddressSanitizer + UBSan
#   tsan   scripts/sanitize.sh tsan: unit + e2e suites under ThreadSanitizer
#   fuzz   scripts/fuzz.sh: replays the fuzz corpora, then fuzzes each target for 60 s
# A failing ctest, sanitizer or fuzz stage does not stop the later ones (one CI run reports
# everything); a failing deps or build stage does. Each stage prints its wall time, and a summary
# lists them all. Exit code: 0 only when every stage that ran passed.
# Env (the defaults run everything, as CI does):
#   MPE_SKIP_SANITIZERS=1   skip the asan and tsan stages
#   MPE_SANITIZERS="tsan"   run only the listed sanitizer stages (default "asan tsan")
#   MPE_FUZZ_SECONDS=N      seconds per fuzz target (default 60); 0 skips the fuzz stage
#   BUILD_DIR               the normal build directory (default build); the sanitizer and fuzz
#                           stages keep their own (build-asan, build-tsan, build-fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."

summary=()
failed=0
t0=$(date +%s)

# run_stage NAME COMMAND...: runs one stage, prints and records its wall time and result.
run_stage() {
  local name="$1" start rc=0 secs result
  shift
  echo "==> test.sh: stage $name: $*"
  start=$(date +%s)
  "$@" || rc=$?
  secs=$(($(date +%s) - start))
  result="ok"
  if ((rc != 0)); then
    result="FAILED (exit $rc)"
    failed=1
  fi
  echo "==> test.sh: stage $name: $result in ${secs} s"
  summary+=("$(printf '%-6s %5d s  %s' "$name" "$secs" "$result")")
  return "$rc"
}

print_summary() {
  echo "==> test.sh summary:"
  for line in "${summary[@]}"; do echo "  $line"; done
  echo "  total  $(printf '%5d' $(($(date +%s) - t0))) s"
}

# Nothing else can run without dependencies and a build.
if ! run_stage deps scripts/install_deps.sh --all || ! run_stage build scripts/build.sh; then
  print_summary
  exit 1
fi

run_stage ctest ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j2 --timeout 600 || true
unset BUILD_DIR

if [[ "${MPE_SKIP_SANITIZERS:-0}" != 1 ]]; then
  for mode in ${MPE_SANITIZERS:-asan tsan}; do
    run_stage "$mode" scripts/sanitize.sh "$mode" || true
  done
fi

fuzz_seconds="${MPE_FUZZ_SECONDS:-60}"
if [[ "$fuzz_seconds" != 0 ]]; then
  run_stage fuzz scripts/fuzz.sh "$fuzz_seconds" || true
fi

print_summary
exit "$failed"
