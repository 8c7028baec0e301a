#!/usr/bin/env bash
# Fuzz/run.sh [RUNS]: builds the libFuzzer target for the DICOM dataset parser (with AddressSanitizer) into
# Fuzz/bin/ and runs it RUNS times (default 1,000,000) from a seed corpus of real files.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-1000000}
mkdir -p Fuzz/bin Fuzz/bin/corpus
if [ ! -x Fuzz/bin/parser-fuzzer ] || [ -n "$(find Sources/DICOM Fuzz/ParserFuzzer.swift -newer Fuzz/bin/parser-fuzzer -name '*.swift' | head -1)" ]; then
  echo "building Fuzz/bin/parser-fuzzer…" >&2
  swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name DICOM \
    -I Sources/CZlib Fuzz/ParserFuzzer.swift $(find Sources/DICOM -name '*.swift') -o Fuzz/bin/parser-fuzzer
fi
# Seeds: the test corpus (every syntax, sequences, fragments, no meta) and small files from arca hello.
if [ -z "$(ls -A Fuzz/bin/corpus)" ]; then
  python3 scripts/corpus/make-corpus.py Fuzz/bin/corpus >/dev/null 2>&1 || true
fi
# One worker per core, each with its share of the runs, sharing the corpus.
JOBS=${JOBS:-$(nproc)}
for j in $(seq 1 "$JOBS"); do
  Fuzz/bin/parser-fuzzer Fuzz/bin/corpus -runs=$((RUNS / JOBS)) -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 >"Fuzz/bin/worker-$j.log" 2>&1 &
done
status=0
for j in $(seq 1 "$JOBS"); do wait -n || status=1; done
for j in $(seq 1 "$JOBS"); do echo "worker $j: $(grep -E 'stat::number_of_executed_units|ERROR|crash' "Fuzz/bin/worker-$j.log" | head -3)"; done
exit $status
