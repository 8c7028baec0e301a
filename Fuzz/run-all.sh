#!/usr/bin/env bash
# Fuzz/run-all.sh [RUNS] [TARGET…]: builds the libFuzzer targets of the network and web attack surface and runs
# each RUNS times (default 10,000,000) from seeds Fuzz/make-seeds.py writes, plus the inputs kept under
# Fuzz/regressions/<target>/:
#   association  PDU stream → PDU decoder (whole and in pieces) → association transitions (Fuzz/AssociationFuzzer.swift)
#   dimse        DIMSE command-set decoder and message assembler (Fuzz/DIMSEFuzzer.swift)
#   find         C-FIND identifier → Query → SQL for both engines, matching, answer (Fuzz/FindFuzzer.swift)
#   qido         QIDO-RS query string → QIDOQuery → the same checks (Fuzz/QIDOFuzzer.swift)
#   multipart    STOW-RS Content-Type and multipart/related body (Fuzz/MultipartFuzzer.swift)
# No SwiftPM build of Arca: each target is swiftc over the sources it needs (AddressSanitizer and coverage on);
# Sources/DICOM and the Archive query sources are compiled once as modules; NIOCore (for ByteBuffer) comes from
# a one-time `swift build --target NIOCore` into .build-fuzz. The RUNS of a target are split into pieces run
# JOBS at a time (default: one per core), each with -rss_limit_mb and -malloc_limit_mb so an unbounded
# allocation is a finding. Prints per target the executions, exec/s and findings; exits 1 on any finding
# (inputs in Fuzz/bin/<target>/; copy them to Fuzz/regressions/<target>/ once fixed).
# NICE=19 (default 10) sets the priority; PIECE=n (default 500,000) the executions per process; DEADLINE=<epoch
# seconds> stops a time-boxed run there with the figures reached (several targets can then run side by side:
# one invocation per target, JOBS=1 each). TIMEOUT=s (default 10) is libFuzzer's limit per input, in wall time:
# beside a build at normal priority a nice-19 fuzzer gets ~1.5% of a core, and inputs of 0.1 s then "time out"
# (so does every input of a fuzzer stopped or run at SCHED_IDLE meanwhile); a longer limit for such runs still
# catches a hang, and inputs over 10 s are still written out as slow units.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-10000000}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(association dimse find qido multipart)
JOBS=${JOBS:-$(nproc)}
NICE=${NICE:-10}
PIECE=${PIECE:-500000}
DEADLINE=${DEADLINE:-0}  # epoch seconds: stop there (pieces end early, with their figures), reached or not
TIMEOUT=${TIMEOUT:-10}
BIN=Fuzz/bin
export SWIFT_BACKTRACE=enable=no  # the Swift runtime's backtracer trips AddressSanitizer on a fatalError
export LSAN_OPTIONS=suppressions=$PWD/Fuzz/lsan.supp  # one-time globals: see the file
LIB=$BIN/lib
mkdir -p "$LIB"

SWIFTC=(nice -n "$NICE" swiftc -sanitize=fuzzer,address -parse-as-library -O -suppress-warnings)
LD=""; command -v ld.lld >/dev/null && LD="-use-ld=lld"  # gold warns about ASan's local symbols

# Rebuilds $1 when it is missing or older than any of the other arguments (files or folders).
stale() {
  local out=$1; shift
  [ ! -e "$out" ] && return 0
  [ -n "$(find "$@" -newer "$out" -type f \( -name '*.swift' -o -name '*.c' -o -name '*.h' -o -name '*.o' \) | head -1)" ]
}

# NIOCore and what it depends on, built once by SwiftPM (release, no sanitizer: it is not under test).
if [ ! -e .build-fuzz/release/Modules/NIOCore.swiftmodule ]; then
  echo "building NIOCore with SwiftPM into .build-fuzz (once)…" >&2
  nice -n "$NICE" swift build -c release --target NIOCore --scratch-path .build-fuzz >&2
fi
NIO=$(readlink -f .build-fuzz/release)  # a symbolic link, which find would not enter
NIO_FLAGS=(-I "$NIO/Modules")
for m in $(find "$NIO" -maxdepth 2 -name module.modulemap) \
         $(find .build-fuzz/checkouts/swift-nio/Sources .build-fuzz/checkouts/swift-atomics/Sources -path '*include/module.modulemap'); do
  NIO_FLAGS+=(-Xcc -fmodule-map-file="$m")
done
NIO_OBJECTS=()
for d in NIOCore NIOConcurrencyHelpers _NIOBase64 _NIODataStructures CNIOAtomics CNIOLinux CNIODarwin CNIOWindows CNIOWASI \
         CNIOOpenBSD CNIOFreeBSD Atomics _AtomicsShims DequeModule InternalCollectionsUtilities ContainersPreview; do
  [ -d "$NIO/$d.build" ] && while IFS= read -r o; do NIO_OBJECTS+=("$o"); done < <(find "$NIO/$d.build" -name '*.o')
done

# Sources/DICOM as a module.
if stale "$LIB/DICOM.o" Sources/DICOM; then
  echo "building the DICOM module…" >&2
  "${SWIFTC[@]}" -wmo -module-name DICOM -I Sources/CZlib -emit-module -emit-module-path "$LIB/DICOM.swiftmodule" \
    -c $(find Sources/DICOM -name '*.swift') -o "$LIB/DICOM.o.new"
  mv -f "$LIB/DICOM.o.new" "$LIB/DICOM.o"
fi
DICOM_FLAGS=(-I "$LIB" -I Sources/CZlib)

# The Archive query sources as a module (-enable-testing: the targets reach the internal compiler).
QUERY_SOURCES=(Sources/Archive/Query/{Query,QueryModel,ValueMatch,QueryCompiler,SQLDialect,IndexedAttribute,TextFolding,InstanceMatcher,AnswerBuilder}.swift)
if stale "$LIB/Archive.o" "${QUERY_SOURCES[@]}" "$LIB/DICOM.o"; then
  echo "building the Archive query module…" >&2
  "${SWIFTC[@]}" -wmo -enable-testing -module-name Archive "${DICOM_FLAGS[@]}" -emit-module \
    -emit-module-path "$LIB/Archive.swiftmodule" -c "${QUERY_SOURCES[@]}" -o "$LIB/Archive.o.new"
  mv -f "$LIB/Archive.o.new" "$LIB/Archive.o"
fi

NETWORK_SOURCES=(Sources/DICOMNetwork/UpperLayer/*.swift Sources/DICOMNetwork/DIMSE/*.swift)
build_target() {
  local target=$1 out=$BIN/$1-fuzzer
  local -a sources flags objects
  case $target in
    association) sources=(Fuzz/AssociationFuzzer.swift "${NETWORK_SOURCES[@]}"); flags=(-module-name DICOMNetwork "${NIO_FLAGS[@]}"); objects=("${NIO_OBJECTS[@]}") ;;
    dimse) sources=(Fuzz/DIMSEFuzzer.swift "${NETWORK_SOURCES[@]}"); flags=(-module-name DICOMNetwork "${NIO_FLAGS[@]}"); objects=("${NIO_OBJECTS[@]}") ;;
    find) sources=(Fuzz/FindFuzzer.swift Fuzz/QueryChecks.swift); flags=(-module-name FindFuzz); objects=("$LIB/Archive.o") ;;
    qido) sources=(Fuzz/QIDOFuzzer.swift Fuzz/QueryChecks.swift Sources/DICOMweb/QIDOQuery.swift); flags=(-module-name DICOMweb); objects=("$LIB/Archive.o") ;;
    multipart) sources=(Fuzz/MultipartFuzzer.swift Sources/DICOMweb/Multipart.swift Sources/DICOMweb/MediaType.swift); flags=(-module-name DICOMweb "${NIO_FLAGS[@]}"); objects=("${NIO_OBJECTS[@]}") ;;
    *) echo "unknown target $target" >&2; return 1 ;;
  esac
  if stale "$out" "${sources[@]}" "$LIB/DICOM.o" "$LIB/Archive.o"; then
    echo "building $out…" >&2
    "${SWIFTC[@]}" $LD "${flags[@]}" "${DICOM_FLAGS[@]}" -lz "${sources[@]}" "$LIB/DICOM.o" "${objects[@]}" -o "$out.new"
    mv -f "$out.new" "$out"  # beside and renamed: a worker still running the old binary is not disturbed
  fi
}

if [ ! -d "$BIN/seeds" ] || [ Fuzz/make-seeds.py -nt "$BIN/seeds" ]; then
  rm -rf "$BIN/seeds"
  python3 Fuzz/make-seeds.py "$BIN/seeds"
fi

status=0
for target in "${TARGETS[@]}"; do
  build_target "$target"
  work=$BIN/$target
  mkdir -p "$work/corpus"
  cp -n "$BIN/seeds/$target"/* "$work/corpus/" 2>/dev/null || true
  [ -d "Fuzz/regressions/$target" ] && cp -n "Fuzz/regressions/$target"/* "$work/corpus/" 2>/dev/null || true
  # The regressions first, on their own: each must pass.
  if [ -d "Fuzz/regressions/$target" ] && [ -n "$(ls -A "Fuzz/regressions/$target")" ]; then
    if ! "$BIN/$target-fuzzer" -rss_limit_mb=2048 -malloc_limit_mb=512 "Fuzz/regressions/$target"/* >"$work/regressions.log" 2>&1; then
      echo "$target: a regression input fails again: see $work/regressions.log"; status=1
    fi
  fi
  pieces=$(( (RUNS + PIECE - 1) / PIECE ))
  start=$(date +%s.%N)
  total=0; findings=0; piece=0
  while [ "$piece" -lt "$pieces" ]; do
    pids=(); logs=()
    for j in $(seq 1 "$JOBS"); do
      [ "$piece" -lt "$pieces" ] || break
      budget=()
      if [ "$DEADLINE" -gt 0 ]; then
        left=$((DEADLINE - $(date +%s)))
        [ "$left" -gt 0 ] || break
        budget=(-max_total_time="$left")
      fi
      n=$(( RUNS - piece * PIECE < PIECE ? RUNS - piece * PIECE : PIECE ))
      log=$work/piece-$piece.log
      nice -n "$NICE" "$BIN/$target-fuzzer" "$work/corpus" -runs="$n" -max_len=65536 -timeout="$TIMEOUT" -rss_limit_mb=2048 \
        -malloc_limit_mb=512 -print_final_stats=1 -artifact_prefix="$work/" -seed=$(( piece + 1 )) "${budget[@]}" >"$log" 2>&1 &
      pids+=($!); logs+=("$log"); piece=$((piece + 1))
    done
    for i in "${!pids[@]}"; do
      if ! wait "${pids[$i]}"; then
        findings=$((findings + 1))
        grep -E '^==[0-9]+==ERROR|SUMMARY|Fatal error|Test unit written|out-of-memory|malloc\(' "${logs[$i]}" | head -6 || true
      fi
      n=$(grep -oP 'stat::number_of_executed_units: *\K[0-9]+' "${logs[$i]}" | tail -1); n=${n:-0}
      total=$((total + n))
    done
    [ "$findings" -eq 0 ] || break
    [ ${#pids[@]} -gt 0 ] || break  # the deadline passed
  done
  elapsed=$(echo "$(date +%s.%N) - $start" | bc)
  printf '%-12s %12d of %d executions in %6.0f s  %8.0f exec/s  findings: %d\n' "$target" "$total" "$RUNS" "$elapsed" \
    "$(echo "$total / $elapsed" | bc -l)" "$findings"
  [ "$findings" -eq 0 ] || status=1
done
exit $status
