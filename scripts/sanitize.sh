#!/usr/bin/env bash
# Builds the unit and e2e test binaries with sanitizers and runs their gtest cases with ctest.
#   scripts/sanitize.sh asan   # AddressSanitizer + UndefinedBehaviorSanitizer, build-asan/
#   scripts/sanitize.sh tsan   # ThreadSanitizer, build-tsan/
# Env: JOBS (default 2), CTEST_JOBS (default 2), CTEST_ARGS (extra ctest arguments, e.g. -R e2e),
# SCRIPTS=1 also runs the script tests (real binaries; slow under sanitizers).
# Prints the wall time of the build and of the test run. Exit code: ctest's.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-}"
case "$MODE" in
  asan) SANITIZE="address,undefined"; DIR="${BUILD_DIR:-build-asan}" ;;
  tsan) SANITIZE="thread"; DIR="${BUILD_DIR:-build-tsan}" ;;
  *) echo "usage: $0 asan|tsan" >&2; exit 2 ;;
esac

SUPP="$PWD/tests/sanitizers"
# Leaks and UB abort the test that caused them, with a stack.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1"
export LSAN_OPTIONS="suppressions=$SUPP/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$SUPP/ubsan.supp"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$SUPP/tsan.supp"

start=$(date +%s)
# clang-14, -O1 -gline-tables-only: stacks keep file:line, and the Beast-heavy files build in
# a fraction of the time gcc -g needs with ASan (gcc: 388 s for src/sim/server.cc alone).
CC=clang-14 CXX=clang++-14 cmake -S . -B "$DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1" \
  -DMPE_SANITIZE="$SANITIZE" -DMPE_BUILD_BENCH=OFF -DMPE_WERROR=ON >/dev/null
cmake --build "$DIR" -j"${JOBS:-2}" --target mpe_tests mpe_e2e_tests
built=$(date +%s)

FILTER=(-E '^script\.')
[[ "${SCRIPTS:-0}" == 1 ]] && FILTER=()
set +e
# shellcheck disable=SC2086
ctest --test-dir "$DIR" --output-on-failure -j"${CTEST_JOBS:-2}" --timeout 900 "${FILTER[@]}" ${CTEST_ARGS:-}
rc=$?
set -e
done_at=$(date +%s)
echo "sanitize $MODE: build $((built - start)) s, tests $((done_at - built)) s, total $((done_at - start)) s, ctest exit $rc"
exit $rc
