"""make-small.py DIR N: N one-instance CT studies with varied names and dates (the small archive both servers hold in the query benchmarks)."""
import os, sys, random
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, CTImageStorage
out, n = sys.argv[1], int(sys.argv[2]); os.makedirs(out, exist_ok=True); random.seed(1)
names = ["SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "GARCIA", "MILLER", "DAVIS", "MARTIN", "LEE"]
for i in range(n):
    fm = FileMetaDataset(); fm.MediaStorageSOPClassUID = CTImageStorage
    uid = f"1.2.826.0.1.3680043.10.1432.8.{i}"
    fm.MediaStorageSOPInstanceUID = uid + ".1.1"; fm.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset(); ds.file_meta = fm
    ds.SOPClassUID = CTImageStorage; ds.SOPInstanceUID = uid + ".1.1"; ds.StudyInstanceUID = uid; ds.SeriesInstanceUID = uid + ".1"
    # Two studies a patient, one name a patient (its own generator): both servers then hold the same patient records.
    patient = random.Random(i // 2)
    ds.PatientID = f"PID{i // 2}"; ds.PatientName = patient.choice(names) + "^" + patient.choice(["JOHN", "MARY", "ANNA"])
    ds.StudyDate = f"{2016 + random.randrange(10)}{1 + random.randrange(12):02d}{1 + random.randrange(28):02d}"; ds.StudyTime = "101500"
    ds.Modality = random.choice(["CT", "MR", "US"]); ds.AccessionNumber = f"ACC{i}"; ds.SeriesNumber = 1; ds.InstanceNumber = 1
    ds.Rows = ds.Columns = 8; ds.BitsAllocated = 16; ds.BitsStored = 12; ds.HighBit = 11; ds.PixelRepresentation = 0
    ds.SamplesPerPixel = 1; ds.PhotometricInterpretation = "MONOCHROME2"; ds.PixelData = np.zeros((8, 8), np.uint16).tobytes()
    ds.save_as(os.path.join(out, f"{i:06d}.dcm"), enforce_file_format=True)
