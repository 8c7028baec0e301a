#!/usr/bin/env bash
# scripts/pixels/memory-1gb.sh: peak memory (max RSS) of `arca render` and `arca transcode` on a 1 GB
# multi-frame object: 2,000 frames of 512×512 16-bit, native and RLE-encapsulated (one fragment per frame and a
# Basic Offset Table; the item headers are walked too). One frame rendered must cost about one frame, not the file.
set -euo pipefail
cd "$(dirname "$0")/../.."
W=${BENCH_DIR:-/dev/shm/arca-memory-1gb}
rm -rf "$W"; mkdir -p "$W"
trap 'rm -rf "$W"' EXIT
swift build -c release --product arca >/dev/null
ARCA=$(swift build -c release --show-bin-path)/arca
python3 - "$W/big.dcm" <<'PY'
import sys, numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
frames, size = 2000, 512
ds = Dataset()
ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"; ds.SOPInstanceUID = generate_uid()
ds.StudyInstanceUID = generate_uid(); ds.SeriesInstanceUID = generate_uid(); ds.Modality = "CT"
ds.Rows = ds.Columns = size; ds.NumberOfFrames = frames; ds.SamplesPerPixel = 1
ds.PhotometricInterpretation = "MONOCHROME2"; ds.BitsAllocated = 16; ds.BitsStored = 12; ds.HighBit = 11
ds.PixelRepresentation = 0; ds.WindowCenter = "2048"; ds.WindowWidth = "4096"
y, x = np.mgrid[0:size, 0:size]
frame = ((x * 7 + y * 3) % 4096).astype(np.uint16)
ds.PixelData = np.tile(frame, (frames, 1, 1)).tobytes()
fm = FileMetaDataset(); fm.MediaStorageSOPClassUID = ds.SOPClassUID; fm.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
fm.TransferSyntaxUID = ExplicitVRLittleEndian; ds.file_meta = fm
ds.save_as(sys.argv[1], enforce_file_format=True)
PY
"$ARCA" transcode --to rle "$W/big.dcm" "$W/big-rle.dcm"
ls -l "$W"/big*.dcm | awk '{printf "%s %.0f MB\n", $9, $5 / 1e6}'
peak() { /usr/bin/time -f "%M" "$@" 2>&1 >/dev/null | tail -1; }
echo "arca render one frame of the native file: max RSS $(peak "$ARCA" render -f 1500 "$W/big.dcm" "$W/one.png") KB"
echo "arca render one frame of the RLE file:    max RSS $(peak "$ARCA" render -f 1500 "$W/big-rle.dcm" "$W/one.png") KB"
echo "arca transcode native -> RLE (all 2,000): max RSS $(peak "$ARCA" transcode --to rle "$W/big.dcm" "$W/again.dcm") KB"
echo "arca transcode RLE -> native (all 2,000): max RSS $(peak "$ARCA" transcode --to explicit-little "$W/big-rle.dcm" "$W/again.dcm") KB"
python3 - "$W" <<'PY'
import sys, pydicom
w = sys.argv[1]
ds = pydicom.dcmread(f"{w}/big.dcm", stop_before_pixels=True)
ds.NumberOfFrames = 1
ds.PixelData = open(f"{w}/big.dcm", "rb").read()[-512 * 512 * 2:]
ds["PixelData"].VR = "OW"
ds.save_as(f"{w}/one-frame.dcm", enforce_file_format=True)
PY
echo "for scale, arca render of a one-frame 512x512 file: max RSS $(peak "$ARCA" render "$W/one-frame.dcm" "$W/one.png") KB"
