"""make-studies.py DIR: a small varied corpus for the web page: a CT phantom series (HU, positions),
an MR study with two series, a multi-frame grayscale SC, an RGB secondary capture, and other patients."""
import os, sys
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CT = "1.2.840.10008.5.1.4.1.1.2"; MR = "1.2.840.10008.5.1.4.1.1.4"
SC = "1.2.840.10008.5.1.4.1.1.7"; MFSC = "1.2.840.10008.5.1.4.1.1.7.3"
out = sys.argv[1]; os.makedirs(out, exist_ok=True)

def base(sop_class, study, series, patient, inst, modality, **kw):
    fm = FileMetaDataset(); fm.MediaStorageSOPClassUID = sop_class
    uid = generate_uid(); fm.MediaStorageSOPInstanceUID = uid; fm.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset(); ds.file_meta = fm
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = sop_class; ds.SOPInstanceUID = uid
    ds.StudyInstanceUID = study["uid"]; ds.SeriesInstanceUID = series["uid"]
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = patient
    ds.StudyDate = study["date"]; ds.StudyTime = study["time"]; ds.AccessionNumber = study["acc"]
    ds.StudyDescription = study["desc"]; ds.StudyID = "1"; ds.ReferringPhysicianName = "Referrer^Anna"
    ds.Modality = modality; ds.SeriesNumber = series["num"]; ds.SeriesDescription = series["desc"]
    ds.InstanceNumber = inst
    for k, v in kw.items(): setattr(ds, k, v)
    return ds

def phantom(n, z, rows, kind):
    y, x = np.mgrid[0:rows, 0:rows].astype(np.float32)
    c = rows / 2; r = np.hypot(x - c, y - c)
    img = np.full((rows, rows), -1000.0, np.float32)      # air
    body = r < rows * 0.42
    img[body] = 40                                         # soft tissue
    lungs = body & ((np.hypot(x - c * 0.62, y - c) < rows * 0.16) | (np.hypot(x - c * 1.38, y - c) < rows * 0.16))
    img[lungs] = -800
    spine = np.hypot(x - c, y - c * 1.45) < rows * (0.05 + 0.02 * np.sin(z / 5))
    img[spine] = 700
    # a lesion that moves with z, so slices differ visibly
    les = np.hypot(x - c * (0.7 + 0.6 * z / max(n, 1)), y - c * 0.8) < rows * 0.05
    img[les] = 120
    img += np.random.default_rng(int(z)).normal(0, 12, img.shape)
    return img

def save(ds, name):
    ds.save_as(os.path.join(out, name), enforce_file_format=True)

def ct_series(patient, study, series, n, rows=256):
    for i in range(n):
        z = -100.0 + i * 2.5
        hu = phantom(n, i, rows, "ct")
        raw = np.clip(hu + 1024, 0, 4095).astype(np.uint16)
        ds = base(CT, study, series, patient, i + 1, "CT",
                  Rows=rows, Columns=rows, BitsAllocated=16, BitsStored=12, HighBit=11, PixelRepresentation=0,
                  SamplesPerPixel=1, PhotometricInterpretation="MONOCHROME2", RescaleIntercept=-1024, RescaleSlope=1,
                  WindowCenter=40, WindowWidth=400, PixelSpacing=[0.8, 0.8], SliceThickness=2.5,
                  ImagePositionPatient=[-102.4, -102.4, z], ImageOrientationPatient=[1, 0, 0, 0, 1, 0],
                  SliceLocation=z, KVP=120, BodyPartExamined="CHEST")
        ds.PixelData = raw.tobytes()
        save(ds, f"{series['tag']}{i:03d}.dcm")

def mr_series(patient, study, series, n, rows=192):
    for i in range(n):
        y, x = np.mgrid[0:rows, 0:rows].astype(np.float32); c = rows / 2
        head = np.hypot((x - c) / 0.8, y - c) < rows * 0.4
        img = np.zeros((rows, rows), np.float32); img[head] = 600
        brain = np.hypot((x - c) / 0.8, y - c) < rows * (0.34 - 0.004 * abs(i - n / 2))
        img[brain] = (900 + 200 * np.sin(x / 7 + i) * np.cos(y / 9))[brain]
        img += np.random.default_rng(i).normal(0, 20, img.shape)
        ds = base(MR, study, series, patient, i + 1, "MR",
                  Rows=rows, Columns=rows, BitsAllocated=16, BitsStored=16, HighBit=15, PixelRepresentation=0,
                  SamplesPerPixel=1, PhotometricInterpretation="MONOCHROME2", PixelSpacing=[1.0, 1.0],
                  SliceThickness=5, ImagePositionPatient=[-96, -96, i * 5.0], ImageOrientationPatient=[1, 0, 0, 0, 1, 0],
                  SliceLocation=i * 5.0, WindowCenter=800, WindowWidth=1200, MagneticFieldStrength=1.5)
        ds.PixelData = np.clip(img, 0, 65535).astype(np.uint16).tobytes()
        save(ds, f"{series['tag']}{i:03d}.dcm")

def uid(): return generate_uid()
P1 = ("Doe^John", "PAT001", "19600312", "M")
P2 = ("Müller^Anna^Maria", "PAT002", "19781105", "F")
P3 = ("Smith^Robert", "PAT003", "19450720", "M")
P4 = ("Nakamura^Yuki", "PAT004", "19911201", "F")

s1 = dict(uid=uid(), date="20260114", time="093012", acc="ACC1001", desc="CT Chest with contrast")
ct_series(P1, s1, dict(uid=uid(), num=2, desc="Axial 2.5mm", tag="p1ct"), 40)
ct_series(P1, s1, dict(uid=uid(), num=3, desc="Scout", tag="p1sc"), 1)

s2 = dict(uid=uid(), date="20260115", time="141500", acc="ACC1002", desc="MR Brain")
mr_series(P2, s2, dict(uid=uid(), num=1, desc="T1 axial", tag="p2t1"), 20)
mr_series(P2, s2, dict(uid=uid(), num=2, desc="T2 axial", tag="p2t2"), 12)

# multi-frame grayscale (8-bit) secondary capture: frame scrolling inside one instance
s3 = dict(uid=uid(), date="20251203", time="080000", acc="ACC0987", desc="US cine (converted)")
rows, nf = 160, 16
frames = []
for f in range(nf):
    y, x = np.mgrid[0:rows, 0:rows].astype(np.float32)
    frames.append((127 + 100 * np.sin(x / 8 + f / 2) * np.cos(y / 11)).astype(np.uint8))
ds = base(MFSC, s3, dict(uid=uid(), num=1, desc="Cine loop"), P3, 1, "OT",
          Rows=rows, Columns=rows, BitsAllocated=8, BitsStored=8, HighBit=7, PixelRepresentation=0,
          SamplesPerPixel=1, PhotometricInterpretation="MONOCHROME2", NumberOfFrames=nf,
          FrameIncrementPointer=0x00181063, FrameTime=40.0)
ds.PixelData = np.stack(frames).tobytes()
save(ds, "p3mf.dcm")

# RGB secondary capture
s4 = dict(uid=uid(), date="20250620", time="120000", acc="ACC0555", desc="Report screenshot")
rows = 200
y, x = np.mgrid[0:rows, 0:rows]
rgb = np.stack([(x * 255 // rows), (y * 255 // rows), ((x + y) * 127 // rows)], -1).astype(np.uint8)
ds = base(SC, s4, dict(uid=uid(), num=1, desc="Secondary capture"), P4, 1, "OT",
          Rows=rows, Columns=rows, BitsAllocated=8, BitsStored=8, HighBit=7, PixelRepresentation=0,
          SamplesPerPixel=3, PhotometricInterpretation="RGB", PlanarConfiguration=0, ConversionType="WSD")
ds.PixelData = rgb.tobytes()
save(ds, "p4sc.dcm")

# more CT studies for paging (patient 3, several dates)
for k in range(6):
    s = dict(uid=uid(), date=f"2025{k + 1:02d}1{k}", time="100000", acc=f"ACC07{k:02d}", desc=f"CT Abdomen follow-up {k + 1}")
    ct_series(P3 if k % 2 == 0 else P4, s, dict(uid=uid(), num=1, desc="Axial 5mm", tag=f"fu{k}_"), 3, rows=128)

# a file to upload (a new patient) kept aside
upl = os.path.join(out, "..", "upload"); os.makedirs(upl, exist_ok=True)
s5 = dict(uid=uid(), date="20260201", time="070000", acc="ACC2000", desc="CT Head (uploaded)")
ct_series(("Upload^Test", "PAT900", "19800101", "O"), s5, dict(uid=uid(), num=1, desc="Axial", tag="up"), 1)
os.replace(os.path.join(out, "up000.dcm"), os.path.join(upl, "upload.dcm"))
