#!/usr/bin/env python3
"""make-bench-images.py DIR FRAMES: the images scripts/bench-pixels decodes: ct16.dcm (FRAMES frames of a
512×512 CT phantom, 12 of 16 bits), mono8.dcm (FRAMES frames of 512×512 8-bit), and one-frame 16×16 versions
(tiny-ct16.dcm, tiny-mono8.dcm) whose decoding time is the command-line tools' start-up cost."""
import os, sys
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

out, frames = sys.argv[1], int(sys.argv[2])
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(3)


def phantom(n, size, hi):
    y, x = np.mgrid[0:size, 0:size]
    imgs = []
    for k in range(n):
        img = np.zeros((size, size))
        body = ((x - size / 2) / (size * 0.42)) ** 2 + ((y - size / 2) / (size * 0.34)) ** 2 < 1
        img[body] = hi * 0.4 + (x[body] - size / 2) * hi * 0.0004 + 50 * np.sin(y[body] / 9 + k / 5)
        for fy, fx, r, v in [(0.4, 0.35, 0.08, 0.9), (0.55, 0.62, 0.1, 0.2), (0.5 + 0.002 * k, 0.5, 0.04, 1.0)]:
            img[(y - size * fy) ** 2 + (x - size * fx) ** 2 < (r * size) ** 2] = hi * v
        img += rng.normal(0, hi * 0.004, img.shape)
        imgs.append(np.clip(img, 0, hi))
    return np.stack(imgs)


def save(name, px, bits_stored, modality):
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2" if modality == "CT" else "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = generate_uid(); ds.StudyInstanceUID = generate_uid(); ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = "Bench^Pixels"; ds.PatientID = "BENCHPX"; ds.Modality = modality
    ds.Rows, ds.Columns = px.shape[1], px.shape[2]
    ds.NumberOfFrames = px.shape[0]
    ds.SamplesPerPixel = 1; ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = px.dtype.itemsize * 8; ds.BitsStored = bits_stored; ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 0
    if modality == "CT":
        ds.RescaleIntercept = "-1024"; ds.RescaleSlope = "1"; ds.WindowCenter = "40"; ds.WindowWidth = "400"
    ds.PixelData = px.tobytes()
    fm = FileMetaDataset(); fm.MediaStorageSOPClassUID = ds.SOPClassUID
    fm.MediaStorageSOPInstanceUID = ds.SOPInstanceUID; fm.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = fm
    ds.save_as(os.path.join(out, name + ".dcm"), enforce_file_format=True)


save("ct16", phantom(frames, 512, 4095).astype(np.uint16), 12, "CT")
save("mono8", phantom(frames, 512, 255).astype(np.uint8), 8, "OT")
save("tiny-ct16", phantom(1, 16, 4095).astype(np.uint16), 12, "CT")
save("tiny-mono8", phantom(1, 16, 255).astype(np.uint8), 8, "OT")
