#!/usr/bin/env bash
# Fuzz/run-pixels.sh [RUNS]: builds the libFuzzer target for the pixel decoders and renderer
# (Fuzz/PixelsFuzzer.swift with every Sources/DICOM and Sources/Pixels file as one module, the codec shims
# compiled with clang, AddressSanitizer on) into Fuzz/bin/, and runs it RUNS times in all (default 200,000)
# from seeds cut out of the pixel corpus (scripts/pixels/make-corpus.py), one worker per core (JOBS=n).
# Exits 1 on a crash (input in Fuzz/bin/pixels-crash-*).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-200000}
JOBS=${JOBS:-$(nproc)}
BIN=Fuzz/bin/pixels-fuzzer
mkdir -p Fuzz/bin/pixels-corpus Fuzz/bin/pixels-obj

if [ ! -x "$BIN" ] || [ -n "$(find Sources/DICOM Sources/Pixels Sources/C* Fuzz/PixelsFuzzer.swift -newer "$BIN" -type f | head -1)" ]; then
  echo "building $BIN…" >&2
  for c in CJPEGTurbo/cjpegturbo.c CCharLS/ccharls.c COpenJPEG/copenjpeg.c; do
    clang -O1 -g -fsanitize=address,fuzzer-no-link -ISources/$(dirname $c)/include -c Sources/$c -o Fuzz/bin/pixels-obj/$(basename $c).o
  done
  clang++ -O1 -g -fsanitize=address,fuzzer-no-link -ISources/COpenJPH/include -c Sources/COpenJPH/copenjph.cpp -o Fuzz/bin/pixels-obj/copenjph.o
  LD=""; command -v ld.lld >/dev/null && LD="-use-ld=lld"
  swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name DICOM $LD -suppress-warnings \
    -I Sources/CZlib -I Fuzz/cmodules -lz -ljpeg -lcharls -lopenjp2 -lopenjph -lstdc++ \
    Fuzz/PixelsFuzzer.swift $(find Sources/DICOM Sources/Pixels -name '*.swift') Fuzz/bin/pixels-obj/*.o -o "$BIN.new"
  mv -f "$BIN.new" "$BIN"
fi

# Seeds: one frame of each corpus file, led by the six format bytes the target reads.
if [ -z "$(ls -A Fuzz/bin/pixels-corpus)" ]; then
  echo "writing the seed corpus…" >&2
  tmp=$(mktemp -d)
  python3 scripts/pixels/make-corpus.py "$tmp" >/dev/null
  python3 - "$tmp" Fuzz/bin/pixels-corpus <<'PY'
import os, sys, hashlib
from pydicom import dcmread
from pydicom.encaps import generate_frames
src, dst = sys.argv[1], sys.argv[2]
uids = ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.5",
        "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70",
        "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203"]
pis = ["MONOCHROME2", "MONOCHROME1", "RGB", "YBR_FULL", "YBR_FULL_422", "PALETTE COLOR", "YBR_RCT"]
for name in sorted(os.listdir(src)):
    if not name.endswith(".dcm"): continue
    path = os.path.join(src, name)
    ds = dcmread(path)
    if ds.Rows > 64 or ds.Columns > 64:
        data = open(path, "rb").read()[:65536]
        open(os.path.join(dst, hashlib.sha1(data).hexdigest()), "wb").write(bytes([0]) + data[1:])
        continue
    ts = str(ds.file_meta.TransferSyntaxUID)
    frame = next(generate_frames(ds.PixelData)) if ds.file_meta.TransferSyntaxUID.is_encapsulated else ds.PixelData
    pi = pis.index(ds.PhotometricInterpretation) if ds.PhotometricInterpretation in pis else 0
    bits = {1: 0, 8: 1, 16: 2, 32: 3}[ds.BitsAllocated]
    head = bytes([uids.index(ts) if ts in uids else 1, pi, bits | (ds.get("PlanarConfiguration", 0) << 7),
                  (ds.BitsAllocated - ds.BitsStored) | (ds.PixelRepresentation << 6), ds.Rows - 1, ds.Columns - 1])
    blob = head + bytes(frame)
    open(os.path.join(dst, hashlib.sha1(blob).hexdigest()), "wb").write(blob)
PY
  rm -rf "$tmp"
fi

PER=$(( (RUNS + JOBS - 1) / JOBS ))
start=$(date +%s.%N)
pids=()
for j in $(seq 1 "$JOBS"); do
  "$BIN" Fuzz/bin/pixels-corpus -runs="$PER" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix=Fuzz/bin/pixels- >"Fuzz/bin/pixels-worker-$j.log" 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
total=0
for j in $(seq 1 "$JOBS"); do
  log=Fuzz/bin/pixels-worker-$j.log
  n=$(grep -oP 'stat::number_of_executed_units: *\K[0-9]+' "$log" || echo 0)
  rate=$(grep -oP 'stat::average_exec_per_sec: *\K[0-9]+' "$log" || echo 0)
  total=$((total + n))
  echo "worker $j: $n executions, $rate exec/s"
  grep -E '^==[0-9]+==ERROR|SUMMARY|Fatal error|Test unit written' "$log" | head -5 || true
done
printf 'total: %d executions in %.0f s (%.0f exec/s)\n' "$total" "$elapsed" "$(echo "$total / $elapsed" | bc -l)"
[ "$status" = 0 ] || echo "a worker failed: see Fuzz/bin/pixels-worker-*.log and Fuzz/bin/pixels-crash-*" >&2
exit $status
