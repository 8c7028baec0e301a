#!/usr/bin/env python3
"""compare.py A B [TOLERANCE]: compares the pixel values of two uncompressed DICOM files (pydicom, raw: no
colour conversion), all frames, after masking to Bits Stored. Prints 'same', or the largest difference and
where; exits 1 when the difference exceeds TOLERANCE (default 0) or the shapes or photometric
interpretations differ."""
import sys
import numpy as np
from pydicom import dcmread
from pydicom.pixels import pixel_array

a, b = sys.argv[1], sys.argv[2]
tol = float(sys.argv[3]) if len(sys.argv) > 3 else 0
da, db = dcmread(a), dcmread(b)


def values(ds):
    """Stored values: shifted down from High Bit, masked to Bits Stored, sign-extended (pydicom masks the low
    bits only, which is wrong when High Bit is not Bits Stored - 1)."""
    px = pixel_array(ds, raw=True).astype(np.int64)
    bs, hb = ds.BitsStored, ds.HighBit
    if ds.BitsAllocated > 1 and hb != bs - 1:
        raw = np.frombuffer(ds.PixelData, dtype="<u2" if ds.BitsAllocated == 16 else "<u4").astype(np.int64)
        px = ((raw >> (hb + 1 - bs)) & ((1 << bs) - 1)).reshape(px.shape)
        if ds.PixelRepresentation == 1:
            px = np.where(px >= (1 << (bs - 1)), px - (1 << bs), px)
    return px


pa = values(da)
pb = values(db)
if pa.shape != pb.shape:
    print(f"shapes differ: {pa.shape} vs {pb.shape}")
    sys.exit(1)
pia, pib = da.PhotometricInterpretation, db.PhotometricInterpretation
d = np.abs(pa - pb)
m = d.max() if d.size else 0
if pia != pib:
    print(f"photometric differs: {pia} vs {pib} (max diff {m})")
    sys.exit(1)
if m == 0:
    print("same")
else:
    idx = np.unravel_index(np.argmax(d), d.shape)
    print(f"max diff {m} at {idx} ({pa[idx]} vs {pb[idx]}), mean {d.mean():.3f}")
sys.exit(0 if m <= tol else 1)
