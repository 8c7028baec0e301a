#!/usr/bin/env python3
"""dump-values.py FILE OUT: pydicom's reading of an uncompressed file's pixel values, every frame, as int64
little endian (stored values shifted down from High Bit, masked to Bits Stored, sign-extended; YBR_FULL_422
widened to one Cb and Cr per pixel; planes interleaved), then a line on stdout: frames rows columns samples
photometric."""
import sys
import numpy as np
from pydicom import dcmread

from pydicom.pixels import pixel_array

ds = dcmread(sys.argv[1])
px = pixel_array(ds, raw=True).astype(np.int64)
bs, hb = ds.BitsStored, ds.HighBit
if ds.BitsAllocated > 1 and hb != bs - 1:
    raw = np.frombuffer(ds.PixelData, dtype="<u2" if ds.BitsAllocated == 16 else "<u4").astype(np.int64)
    px = ((raw[:px.size] >> (hb + 1 - bs)) & ((1 << bs) - 1)).reshape(px.shape)
    if ds.PixelRepresentation == 1:
        px = np.where(px >= (1 << (bs - 1)), px - (1 << bs), px)
px.astype("<i8").tofile(sys.argv[2])
frames = int(ds.get("NumberOfFrames", 1) or 1)
print(frames, ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation)
