#!/usr/bin/env bash
# Fuzz/run.sh [RUNS]: builds the libFuzzer target for the DICOM data layer (Fuzz/ParserFuzzer.swift compiled
# with every Sources/DICOM file as one module, AddressSanitizer on) into Fuzz/bin/, and runs it RUNS times in
# all (default 1,000,000) from a seed corpus it generates, one worker per core (JOBS=n to choose).
# Prints the executions and exec/s of each worker and the total; exits 1 on a crash (input in Fuzz/bin/).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-1000000}
JOBS=${JOBS:-$(nproc)}
BIN=Fuzz/bin/parser-fuzzer
mkdir -p Fuzz/bin/corpus

if [ ! -x "$BIN" ] || [ -n "$(find Sources/DICOM Fuzz/ParserFuzzer.swift -newer "$BIN" -name '*.swift' | head -1)" ]; then
  echo "building $BIN…" >&2
  LD=""; command -v ld.lld >/dev/null && LD="-use-ld=lld"  # gold warns about ASan's local symbols
  # Build beside and rename, so a worker still running the old binary is not disturbed.
  swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name DICOM $LD \
    -I Sources/CZlib -lz Fuzz/ParserFuzzer.swift $(find Sources/DICOM -name '*.swift') -o "$BIN.new"
  mv -f "$BIN.new" "$BIN"
fi

# Seeds: the varied test corpus (every transfer syntax, nested and empty sequences, fragments, character
# sets, files without meta header or preamble), trimmed to what -max_len lets the fuzzer use.
if [ -z "$(ls -A Fuzz/bin/corpus)" ]; then
  echo "writing the seed corpus…" >&2
  python3 scripts/corpus/make-corpus.py Fuzz/bin/corpus >/dev/null
fi

PER=$(( (RUNS + JOBS - 1) / JOBS ))
start=$(date +%s.%N)
pids=()
for j in $(seq 1 "$JOBS"); do
  "$BIN" Fuzz/bin/corpus -runs="$PER" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix=Fuzz/bin/ >"Fuzz/bin/worker-$j.log" 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
elapsed=$(echo "$(date +%s.%N) - $start" | bc)

total=0
for j in $(seq 1 "$JOBS"); do
  log=Fuzz/bin/worker-$j.log
  n=$(grep -oP 'stat::number_of_executed_units: *\K[0-9]+' "$log" || echo 0)
  rate=$(grep -oP 'stat::average_exec_per_sec: *\K[0-9]+' "$log" || echo 0)
  total=$((total + n))
  echo "worker $j: $n executions, $rate exec/s"
  grep -E '^==[0-9]+==ERROR|SUMMARY|Fatal error|Test unit written' "$log" | head -5 || true
done
printf 'total: %d executions in %.0f s (%.0f exec/s)\n' "$total" "$elapsed" "$(echo "$total / $elapsed" | bc -l)"
[ "$status" = 0 ] || echo "a worker failed: see Fuzz/bin/worker-*.log and Fuzz/bin/crash-*" >&2
exit $status
