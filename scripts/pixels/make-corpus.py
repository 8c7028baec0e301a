#!/usr/bin/env python3
"""make-corpus.py DIR: the pixel test corpus. Native images made with numpy/pydicom (every photometric
interpretation, bit depth, byte order and planar configuration the decoders handle), then each encoded by the
field's tools: DCMTK (dcmcrle, dcmcjpeg, dcmcjpls) and GDCM (gdcmconv) for RLE, JPEG baseline/extended/
lossless, JPEG-LS and JPEG 2000. (No HTJ2K encoder is packaged for Debian 12 or PyPI's OpenJPH bindings build
against it: the tests make HTJ2K with Arca and decode it with OpenJPEG too.) Writes DIR/manifest.tsv:
file, source native file, syntax keyword, lossless (1/0), modality kind. Prints what it could not make."""
import os, subprocess, sys
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian,
                         DeflatedExplicitVRLittleEndian, generate_uid)

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
manifest = []
missing = []


def phantom(rows, cols, lo, hi):
    """A body-like phantom: ellipses of different values, a gradient and a little noise (compresses like an image)."""
    y, x = np.mgrid[0:rows, 0:cols]
    cy, cx = rows / 2, cols / 2
    img = np.full((rows, cols), lo, dtype=np.float64)
    body = ((x - cx) / (cols * 0.42)) ** 2 + ((y - cy) / (rows * 0.36)) ** 2 < 1
    img[body] = lo + (hi - lo) * 0.45 + (x[body] - cx) * (hi - lo) * 0.0008
    for k, (fy, fx, r, v) in enumerate([(0.4, 0.35, 0.08, 0.9), (0.55, 0.62, 0.1, 0.2), (0.5, 0.5, 0.04, 1.0)]):
        m = (y - rows * fy) ** 2 + (x - cols * fx) ** 2 < (r * min(rows, cols)) ** 2
        img[m] = lo + (hi - lo) * v
    img += rng.normal(0, (hi - lo) * 0.01, img.shape)
    return np.clip(img, lo, hi)


def base(modality, sop_class, rows, cols):
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = "Pixels^Test"
    ds.PatientID = "PIX1"
    ds.Modality = modality
    ds.Rows = rows
    ds.Columns = cols
    return ds


def save(ds, name, syntax=ExplicitVRLittleEndian):
    fm = FileMetaDataset()
    fm.MediaStorageSOPClassUID = ds.SOPClassUID
    fm.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    fm.TransferSyntaxUID = syntax
    ds.file_meta = fm
    path = os.path.join(out, name + ".dcm")
    ds.save_as(path, enforce_file_format=True, little_endian=syntax != ExplicitVRBigEndian,
               implicit_vr=syntax == ImplicitVRLittleEndian)
    return path


def mono(ds, px, bits_stored, signed, high_bit=None, photometric="MONOCHROME2"):
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    alloc = px.dtype.itemsize * 8
    ds.BitsAllocated = alloc
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1 if high_bit is None else high_bit
    ds.PixelRepresentation = 1 if signed else 0
    if px.ndim == 3:
        ds.NumberOfFrames = px.shape[0]
    ds.PixelData = px.tobytes()


def colour(ds, px, photometric, planar=0):
    """px: frames x rows x cols x 3 (or rows x cols x 3), 8-bit."""
    ds.SamplesPerPixel = 3
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PlanarConfiguration = planar
    if px.ndim == 4:
        ds.NumberOfFrames = px.shape[0]
    if planar:
        px = np.moveaxis(px, -1, -3)
    ds.PixelData = px.astype(np.uint8).tobytes()


def rgb_image(rows, cols, frames=None):
    y, x = np.mgrid[0:rows, 0:cols]
    r = (x * 255 // max(1, cols - 1))
    g = (y * 255 // max(1, rows - 1))
    b = ((x + y) * 3) % 256
    img = np.stack([r, g, b], axis=-1).astype(np.int32)
    img[rows // 4: rows // 2, cols // 4: cols // 2] = [200, 30, 60]
    img = np.clip(img + rng.integers(-4, 5, img.shape), 0, 255).astype(np.uint8)
    if frames:
        return np.stack([np.roll(img, 7 * k, axis=1) for k in range(frames)])
    return img


def rgb_to_ybr(img):
    rgb = img.astype(np.float64)
    y = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    cb = -0.168736 * rgb[..., 0] - 0.331264 * rgb[..., 1] + 0.5 * rgb[..., 2] + 128
    cr = 0.5 * rgb[..., 0] - 0.418688 * rgb[..., 1] - 0.081312 * rgb[..., 2] + 128
    return np.clip(np.stack([y, cb, cr], axis=-1).round(), 0, 255).astype(np.uint8)


natives = {}  # name -> (path, kind)

# CT: signed 16-bit, rescaled, with a window.
ds = base("CT", "1.2.840.10008.5.1.4.1.1.2", 256, 256)
ds.RescaleIntercept = "-1024"; ds.RescaleSlope = "1"; ds.WindowCenter = "40"; ds.WindowWidth = "400"
mono(ds, (phantom(256, 256, 0, 2400) - 1024).astype(np.int16), 16, True)
natives["ct-signed"] = (save(ds, "ct-signed"), "CT")

# CT: unsigned 12 of 16 bits, intercept -1024, two windows (the first is used).
ds = base("CT", "1.2.840.10008.5.1.4.1.1.2", 200, 240)
ds.RescaleIntercept = "-1024"; ds.RescaleSlope = "1"; ds.WindowCenter = ["-600", "40"]; ds.WindowWidth = ["1500", "400"]
mono(ds, phantom(200, 240, 0, 4095).astype(np.uint16), 12, False)
natives["ct-12bit"] = (save(ds, "ct-12bit"), "CT")

# MR: unsigned 16-bit, no window (min/max).
ds = base("MR", "1.2.840.10008.5.1.4.1.1.4", 192, 160)
mono(ds, phantom(192, 160, 0, 30000).astype(np.uint16), 16, False)
natives["mr"] = (save(ds, "mr"), "MR")

# CR: MONOCHROME1, 12 bits, window.
ds = base("CR", "1.2.840.10008.5.1.4.1.1.1", 240, 200)
ds.WindowCenter = "2048"; ds.WindowWidth = "4096"
mono(ds, phantom(240, 200, 0, 4095).astype(np.uint16), 12, False, photometric="MONOCHROME1")
natives["cr-mono1"] = (save(ds, "cr-mono1"), "CR")

# 8-bit greyscale secondary capture (baseline JPEG's home).
ds = base("OT", "1.2.840.10008.5.1.4.1.1.7", 128, 160)
ds.ConversionType = "WSD"
mono(ds, phantom(128, 160, 0, 255).astype(np.uint8), 8, False)
natives["mono8"] = (save(ds, "mono8"), "SC")

# Multi-frame 16-bit MR (5 frames): fragments per frame, offset tables.
ds = base("MR", "1.2.840.10008.5.1.4.1.1.4", 96, 112)
mono(ds, np.stack([phantom(96, 112, 0, 4000 + 500 * k) for k in range(5)]).astype(np.uint16), 12, False)
natives["mr-multiframe"] = (save(ds, "mr-multiframe"), "MR")

# RGB secondary capture, interleaved and planar.
ds = base("OT", "1.2.840.10008.5.1.4.1.1.7", 120, 160)
ds.ConversionType = "WSD"
colour(ds, rgb_image(120, 160), "RGB")
natives["sc-rgb"] = (save(ds, "sc-rgb"), "SC")
ds = base("OT", "1.2.840.10008.5.1.4.1.1.7", 120, 160)
ds.ConversionType = "WSD"
colour(ds, rgb_image(120, 160), "RGB", planar=1)
natives["sc-rgb-planar"] = (save(ds, "sc-rgb-planar"), "SC")

# US: YBR_FULL multi-frame (3 frames), and native YBR_FULL_422.
ds = base("US", "1.2.840.10008.5.1.4.1.1.3.1", 96, 128)
colour(ds, rgb_to_ybr(rgb_image(96, 128, frames=3)), "YBR_FULL")
natives["us-ybr-multiframe"] = (save(ds, "us-ybr-multiframe"), "US")
ds = base("US", "1.2.840.10008.5.1.4.1.1.6.1", 96, 128)
ybr = rgb_to_ybr(rgb_image(96, 128)).astype(np.int32)
pairs = ybr.reshape(96, 64, 2, 3)
packed = np.stack([pairs[:, :, 0, 0], pairs[:, :, 1, 0], (pairs[:, :, 0, 1] + pairs[:, :, 1, 1]) // 2,
                   (pairs[:, :, 0, 2] + pairs[:, :, 1, 2]) // 2], axis=-1).astype(np.uint8)
ds.SamplesPerPixel = 3; ds.PhotometricInterpretation = "YBR_FULL_422"; ds.BitsAllocated = 8; ds.BitsStored = 8
ds.HighBit = 7; ds.PixelRepresentation = 0; ds.PlanarConfiguration = 0; ds.PixelData = packed.tobytes()
natives["us-ybr422"] = (save(ds, "us-ybr422"), "US")

# US: PALETTE COLOR, 8-bit indices, 16-bit palettes of 256 entries.
ds = base("US", "1.2.840.10008.5.1.4.1.1.6.1", 100, 120)
idx = (phantom(100, 120, 0, 255)).astype(np.uint8)
ds.SamplesPerPixel = 1; ds.PhotometricInterpretation = "PALETTE COLOR"; ds.BitsAllocated = 8; ds.BitsStored = 8
ds.HighBit = 7; ds.PixelRepresentation = 0
ramp = np.arange(256)
ds.RedPaletteColorLookupTableDescriptor = [256, 0, 16]
ds.GreenPaletteColorLookupTableDescriptor = [256, 0, 16]
ds.BluePaletteColorLookupTableDescriptor = [256, 0, 16]
ds.RedPaletteColorLookupTableData = (ramp * 257).astype("<u2").tobytes()
ds.GreenPaletteColorLookupTableData = (((ramp * 3) % 256) * 257).astype("<u2").tobytes()
ds.BluePaletteColorLookupTableData = ((255 - ramp) * 257).astype("<u2").tobytes()
ds.PixelData = idx.tobytes()
natives["us-palette"] = (save(ds, "us-palette"), "US")

# Odd corners of the native format: big endian, implicit VR, deflated, high bit not at the top, 1-bit
# multi-frame with frames not on byte boundaries, 32-bit.
ds = base("CT", "1.2.840.10008.5.1.4.1.1.2", 64, 80)
ds.RescaleIntercept = "-1024"; ds.RescaleSlope = "1"
mono(ds, (phantom(64, 80, 0, 3000) - 1024).astype(np.int16), 16, True)
natives["ct-bigendian"] = (save(ds, "ct-bigendian", ExplicitVRBigEndian), "CT")
ds = base("CT", "1.2.840.10008.5.1.4.1.1.2", 64, 80)
mono(ds, phantom(64, 80, 0, 4095).astype(np.uint16), 12, False)
natives["ct-implicit"] = (save(ds, "ct-implicit", ImplicitVRLittleEndian), "CT")
ds = base("CT", "1.2.840.10008.5.1.4.1.1.2", 64, 80)
mono(ds, phantom(64, 80, 0, 4095).astype(np.uint16), 12, False)
natives["ct-deflated"] = (save(ds, "ct-deflated", DeflatedExplicitVRLittleEndian), "CT")
ds = base("MR", "1.2.840.10008.5.1.4.1.1.4", 64, 80)
mono(ds, (phantom(64, 80, 0, 4095).astype(np.uint16) << 4), 12, False, high_bit=15)
natives["mr-highbit15"] = (save(ds, "mr-highbit15"), "MR")
ds = base("SEG", "1.2.840.10008.5.1.4.1.1.66.4", 13, 7)
bits = (rng.random((3, 13, 7)) > 0.6).astype(np.uint8)
flat = bits.reshape(-1)
packed = np.packbits(flat, bitorder="little")
ds.SamplesPerPixel = 1; ds.PhotometricInterpretation = "MONOCHROME2"; ds.BitsAllocated = 1; ds.BitsStored = 1
ds.HighBit = 0; ds.PixelRepresentation = 0; ds.NumberOfFrames = 3
ds.PixelData = packed.tobytes() + (b"\0" if len(packed) % 2 else b"")
natives["seg-1bit"] = (save(ds, "seg-1bit"), "SEG")
ds = base("RTDOSE", "1.2.840.10008.5.1.4.1.1.481.2", 40, 50)
mono(ds, (phantom(40, 50, 0, 3e9)).astype(np.uint32), 32, False)
natives["dose-32bit"] = (save(ds, "dose-32bit"), "RTDOSE")

# The display attributes a viewer must honour: a Modality LUT Sequence, a VOI LUT Sequence, the SIGMOID
# VOI function, an INVERSE Presentation LUT Shape.
ds = base("CT", "1.2.840.10008.5.1.4.1.1.2", 64, 80)
mono(ds, phantom(64, 80, 0, 4095).astype(np.uint16), 12, False)
lut = Dataset()
lut.LUTDescriptor = [4096, 0, 16]
lut.ModalityLUTType = "HU"
lut.LUTData = ((np.arange(4096) * 3) // 2 + 100).astype("<u2").tobytes()
lut["LUTData"].VR = "OW"
ds.ModalityLUTSequence = [lut]
ds.WindowCenter = "3000"; ds.WindowWidth = "5000"
natives["ct-modality-lut"] = (save(ds, "ct-modality-lut"), "CT")
ds = base("MR", "1.2.840.10008.5.1.4.1.1.4", 64, 80)
mono(ds, phantom(64, 80, 0, 4095).astype(np.uint16), 12, False)
voi = Dataset()
voi.LUTDescriptor = [4096, 0, 12]
voi.LUTData = (np.sqrt(np.arange(4096) / 4095.0) * 4095).astype("<u2").tobytes()
voi["LUTData"].VR = "OW"
ds.VOILUTSequence = [voi]
natives["mr-voi-lut"] = (save(ds, "mr-voi-lut"), "MR")
ds = base("CR", "1.2.840.10008.5.1.4.1.1.1", 64, 80)
mono(ds, phantom(64, 80, 0, 4095).astype(np.uint16), 12, False)
ds.WindowCenter = "2000"; ds.WindowWidth = "2500"; ds.VOILUTFunction = "SIGMOID"
natives["cr-sigmoid"] = (save(ds, "cr-sigmoid"), "CR")
ds = base("MR", "1.2.840.10008.5.1.4.1.1.4", 64, 80)
mono(ds, phantom(64, 80, 0, 4095).astype(np.uint16), 12, False)
ds.WindowCenter = "2048"; ds.WindowWidth = "4096"; ds.PresentationLUTShape = "INVERSE"
natives["mr-inverse"] = (save(ds, "mr-inverse"), "MR")

for name, (path, kind) in natives.items():
    manifest.append((os.path.basename(path), os.path.basename(path), "native", 1, kind))


def run(args, name, src, keyword, lossless, kind):
    dst = os.path.join(out, name + ".dcm")
    r = subprocess.run(args + [dst] if args[-1] != "{out}" else args[:-1] + [dst], capture_output=True, text=True)
    if r.returncode != 0 or not os.path.exists(dst):
        missing.append(f"{name}: {' '.join(args)}: {r.stderr.strip()[:200]}")
        return
    manifest.append((name + ".dcm", os.path.basename(src), keyword, lossless, kind))


def enc(tool, opts, src_name, keyword, lossless, suffix):
    src, kind = natives[src_name]
    run([tool] + opts + [src], f"{src_name}.{suffix}", src, keyword, lossless, kind)


grey16 = ["ct-signed", "ct-12bit", "mr", "cr-mono1", "mr-multiframe", "mr-highbit15"]
colour8 = ["sc-rgb", "sc-rgb-planar", "us-ybr-multiframe"]
for n in grey16 + colour8 + ["mono8", "us-palette"]:
    enc("dcmcrle", [], n, "rle", 1, "rle")
    enc("dcmcjpls", ["+el"], n, "jpeg-ls-lossless", 1, "jls")
    enc("dcmcjpeg", ["+e1"], n, "jpeg-lossless-sv1", 1, "jpll-sv1")
    # GDCM 3.0's J2K encoder codes the low Bits Stored bits of each word, losing a High Bit above them.
    if n != "mr-highbit15":
        enc("gdcmconv", ["--j2k"], n, "j2k-lossless", 1, "j2k")
for n in ["ct-signed", "mr", "mono8", "sc-rgb"]:
    for sv in (2, 4, 7):
        enc("dcmcjpeg", ["+el", "+sv", str(sv)], n, "jpeg-lossless", 1, f"jpll-p{sv}")
for n in ["mono8", "sc-rgb", "us-ybr-multiframe", "sc-rgb-planar"]:
    enc("dcmcjpeg", ["+eb"], n, "jpeg-baseline", 0, "jpeg-baseline")
for n in ["ct-12bit", "cr-mono1", "mono8"]:
    enc("dcmcjpeg", ["+ee"], n, "jpeg-extended", 0, "jpeg-extended")
for n in ["ct-12bit", "mono8", "sc-rgb"]:  # DCMTK refuses near-lossless of signed pixels
    enc("dcmcjpls", ["+en", "+md", "2"], n, "jpeg-ls", 0, "jls-near")
for n in ["ct-12bit", "sc-rgb"]:
    enc("gdcmconv", ["--j2k", "--lossy", "-q", "40"], n, "j2k", 0, "j2k-lossy")
enc("gdcmconv", ["--jpegls"], "ct-signed", "jpeg-ls-lossless", 1, "gdcm-jls")
enc("gdcmconv", ["--rle"], "sc-rgb", "rle", 1, "gdcm-rle")
enc("gdcmconv", ["--jpeg"], "mr", "jpeg-lossless", 1, "gdcm-jpll")

with open(os.path.join(out, "manifest.tsv"), "w") as f:
    for row in manifest:
        f.write("\t".join(str(c) for c in row) + "\n")
for m in missing:
    print("not made:", m)
