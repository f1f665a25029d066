#!/usr/bin/env bash
# The C++ sources follow .clang-format (Google style, 100 columns): clang-format-14
# --dry-run --Werror over every tracked .cc and .h of src/, tests/ and bench/. To fix:
#   git ls-files 'src/*.cc' 'src/*.h' 'tests/*.cc' 'tests/*.h' 'bench/*.cc' 'bench/*.h' | xargs clang-format-14 -i
# Usage (ctest passes the binaries first, unused here): clang_format.sh [EXPORTER SIM] SRC_DIR
set -euo pipefail
SRC_DIR="${!#}"
cd "$SRC_DIR"
CLANG_FORMAT="${CLANG_FORMAT:-clang-format-14}"
command -v "$CLANG_FORMAT" >/dev/null || { echo "clang_format: $CLANG_FORMAT missing (apt-get install clang-format-14)"; exit 1; }
mapfile -t files < <(git ls-files 'src/*.cc' 'src/*.h' 'tests/*.cc' 'tests/*.h' 'bench/*.cc' 'bench/*.h' 2>/dev/null ||
  find src tests bench -name '*.cc' -o -name '*.h')
"$CLANG_FORMAT" --dry-run --Werror "${files[@]}"
echo "clang_format: ${#files[@]} files formatted as .clang-format says"
