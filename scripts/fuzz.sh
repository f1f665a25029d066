#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) with clang-14 into build-fuzz, replays every
# regression and corpus input (must pass), then fuzzes each target for SECONDS_PER_TARGET
# seconds on a scratch copy of its corpus, so the repository's corpus is never written to.
# A crash, timeout or OOM input is copied into tests/fuzz/pending/<target>/ (it becomes a
# regression together with its fix, see tests/fuzz/README.md) and printed in base64, so a CI log
# is enough to recover it; the script then exits 1 (after fuzzing the remaining targets); 0 when
# everything passes. Prints the wall time of the build and of the fuzzing. Installs nothing:
# clang-14 and libclang-rt-14-dev come from scripts/install_deps.sh.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 60; 0 = replay only)
# Env: BUILD_DIR (build-fuzz), JOBS (2), FUZZ_TARGETS ("decode_frame pcap_raw config"),
#      FUZZ_ARGS (extra libFuzzer flags for the fuzzing runs, e.g. "-max_len=65536").
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-60}"
if ! [[ "$secs" =~ ^[0-9]+$ ]]; then
  echo "usage: $0 [SECONDS_PER_TARGET]" >&2
  exit 2
fi
build_dir="${BUILD_DIR:-build-fuzz}"
read -r -a targets <<<"${FUZZ_TARGETS:-decode_frame pcap_raw config}"
read -r -a extra_args <<<"${FUZZ_ARGS:-}"

for tool in clang-14 clang++-14; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "fuzz: $tool not found (scripts/install_deps.sh installs clang-14 libclang-rt-14-dev)" >&2
    exit 2
  fi
done

start=$(date +%s)
CC=clang-14 CXX=clang++-14 cmake -S . -B "$build_dir" -G Ninja -DMPE_FUZZ=ON \
  -DMPE_BUILD_TESTS=OFF -DMPE_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j"${JOBS:-2}" --target "${targets[@]/%/_fuzz}"
built=$(date +%s)
echo "fuzz: build $((built - start)) s"

# UBSan only prints by default: make every report a crash libFuzzer saves.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}"

work="$(mktemp -d "${TMPDIR:-/tmp}/mpe-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# Input files of a folder (no dotfiles such as .gitkeep), one per line.
inputs() {
  [[ -d "$1" ]] || return 0
  find "$1" -maxdepth 1 -type f ! -name '.*' | sort
}

# The last value of "<key>: N" in a libFuzzer log.
last_stat() {
  grep -oE "$1: +[0-9]+" "$2" | tail -n 1 | grep -oE '[0-9]+$' || echo "?"
}

status=0
summary=()

# 1. Replay: every checked-in input must pass before fuzzing starts.
for t in "${targets[@]}"; do
  bin="$build_dir/tests/fuzz/${t}_fuzz"
  mapfile -t files < <(inputs "tests/fuzz/regressions/$t"; inputs "tests/fuzz/corpus/$t")
  if ((${#files[@]} == 0)); then
    echo "fuzz: no corpus for $t in tests/fuzz/corpus/$t" >&2
    exit 1
  fi
  log="$work/$t.replay.log"
  if "$bin" -runs=0 -timeout=5 -rss_limit_mb=2048 -artifact_prefix="$work/" "${files[@]}" \
      >"$log" 2>&1; then
    echo "fuzz: $t: replayed ${#files[@]} regression and corpus inputs: OK"
  else
    echo "fuzz: $t: replay FAILED; the input that failed is the last one 'Running:':" >&2
    grep -E '^Running: ' "$log" | tail -n 1 >&2 || true
    tail -n 40 "$log" >&2
    exit 1
  fi
done

if ((secs == 0)); then
  echo "fuzz: replay only, $(($(date +%s) - start)) s"
  exit 0
fi

# 2. Fuzz each target in turn (the machine's cores are shared: one target at a time).
for t in "${targets[@]}"; do
  bin="$build_dir/tests/fuzz/${t}_fuzz"
  corpus="$work/$t/corpus"
  artifacts="$work/$t/artifacts"
  mkdir -p "$corpus" "$artifacts"
  while IFS= read -r f; do cp "$f" "$corpus/"; done \
    < <(inputs "tests/fuzz/corpus/$t"; inputs "tests/fuzz/regressions/$t")
  dict=()
  [[ -f "tests/fuzz/$t.dict" ]] && dict=(-dict="tests/fuzz/$t.dict")
  log="$work/$t.fuzz.log"
  echo "fuzz: $t: fuzzing for ${secs}s"
  rc=0
  "$bin" -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "${dict[@]}" "${extra_args[@]}" "$corpus" >"$log" 2>&1 || rc=$?

  execs="$(last_stat 'stat::number_of_executed_units' "$log")"
  rate="$(last_stat 'stat::average_exec_per_sec' "$log")"
  added="$(last_stat 'stat::new_units_added' "$log")"
  cov_start="$(grep -E 'INITED' "$log" | grep -oE 'cov: [0-9]+' | grep -oE '[0-9]+' || echo "?")"
  cov_end="$(last_stat 'cov' "$log")"
  mapfile -t found < <(find "$artifacts" -maxdepth 1 -type f | sort)
  if ((rc != 0 || ${#found[@]} > 0)); then
    status=1
    mkdir -p "tests/fuzz/pending/$t"
    for f in "${found[@]}"; do cp "$f" "tests/fuzz/pending/$t/"; done
    echo "fuzz: $t: FAILED (exit $rc); ${#found[@]} input(s) saved to tests/fuzz/pending/$t/:" >&2
    # CI machines are thrown away: the log must carry the input itself.
    for f in "${found[@]}"; do
      size=$(stat -c %s "$f")
      if ((size > 65536)); then
        echo "  $(basename "$f") ($size bytes; the first 64 KiB of it):" >&2
      else
        echo "  $(basename "$f") ($size bytes), to recreate it:" >&2
      fi
      echo "  base64 -d > tests/fuzz/pending/$t/$(basename "$f") <<'EOF'" >&2
      head -c 65536 "$f" | base64 -w 76 >&2
      echo "EOF" >&2
    done
    grep -E 'ERROR: |SUMMARY: |fuzz invariant broken|runtime error' "$log" | head -n 10 >&2 || true
    # The frames in project code (the rest is libFuzzer and libc).
    grep -E '^ +#[0-9]+ .*(mpe::|/src/|/tests/fuzz/)' "$log" | head -n 15 >&2 || true
    summary+=("$t: FAILED after $execs execs ($rate exec/s), see tests/fuzz/pending/$t/")
  else
    summary+=("$t: OK $execs execs in ${secs}s ($rate exec/s), cov $cov_start -> $cov_end,\
 $added new inputs")
  fi
done

echo "fuzz summary (build $((built - start)) s, fuzzing $(($(date +%s) - built)) s):"
for line in "${summary[@]}"; do echo "  $line"; done
exit "$status"
