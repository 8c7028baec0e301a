"""make-corpus.py DIR: writes the varied DICOM test corpus into DIR (pydicom, and DCMTK's dump2dcm when present).

Every transfer syntax Arca reads (implicit/explicit VR LE, explicit VR BE, deflated, encapsulated JPEG and RLE,
multi-frame), nested and empty sequences and items, private blocks, Latin-1, UTF-8 and ISO 2022 Japanese
names, files without meta header or preamble. `expect.py` prints the reference parse of each file."""
import os, shutil, subprocess, sys
import numpy as np
from pydicom import dcmwrite
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom import uid as U

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
ROOT = "1.2.826.0.1.3680043.10.1432.9"
counter = [0]


def new_uid():
    counter[0] += 1
    return f"{ROOT}.{os.getpid()}.{counter[0]}"


STUDY = new_uid()


def base(name="Doe^John", charset=None, modality="CT", rows=8, sop_class=U.CTImageStorage):
    ds = Dataset()
    if charset is not None:
        ds.SpecificCharacterSet = charset
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = new_uid()
    ds.StudyInstanceUID = STUDY
    ds.SeriesInstanceUID = new_uid()
    ds.StudyDate = "20260115"
    ds.StudyTime = "101500.123"
    ds.AccessionNumber = "ACC42"
    ds.Modality = modality
    ds.PatientName = name
    ds.PatientID = "PID-001"
    ds.PatientBirthDate = "19800229"
    ds.PatientSex = "O"
    ds.StudyDescription = "Corpus study"
    ds.SeriesNumber = 2
    ds.InstanceNumber = counter[0]
    ds.ImagePositionPatient = [-125.5, -130.25, 42.0]
    ds.PixelSpacing = [0.5, 0.5]
    ds.WindowCenter = "40"
    ds.Rows = rows
    ds.Columns = rows
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.PixelData = (np.arange(rows * rows, dtype=np.uint16) * 7 % 4096).astype("<u2").tobytes()
    return ds


def nested(ds):
    """Nested, empty and multi-item sequences, with an empty item."""
    inner = Dataset()
    inner.CodeValue = "T-D0050"
    inner.CodingSchemeDesignator = "SRT"
    inner.CodeMeaning = "Tissue"
    deeper = Dataset()
    deeper.ReferencedSOPClassUID = U.CTImageStorage
    deeper.ReferencedSOPInstanceUID = new_uid()
    inner.ReferencedImageSequence = Sequence([deeper])
    ds.AnatomicRegionSequence = Sequence([inner, Dataset()])
    ds.ReferencedStudySequence = Sequence([])
    ds.ReferencedPerformedProcedureStepSequence = Sequence([Dataset()])
    return ds


def private(ds):
    block = ds.private_block(0x0029, "ARCA TEST", create=True)
    block.add_new(0x10, "LO", "private text")
    block.add_new(0x11, "US", 513)
    block.add_new(0x12, "OB", b"\x01\x02\x03\x04")
    item = Dataset()
    item.PatientComments = "inside private sequence"
    block.add_new(0x13, "SQ", Sequence([item]))
    return ds


def save(ds, name, ts, preamble=True, meta=True):
    path = os.path.join(out, name)
    if meta:
        fm = FileMetaDataset()
        fm.MediaStorageSOPClassUID = ds.SOPClassUID
        fm.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        fm.TransferSyntaxUID = ts
        ds.file_meta = fm
        if not preamble:
            ds.preamble = None
        dcmwrite(path, ds, enforce_file_format=preamble)
    else:
        ts = U.UID(ts)
        dcmwrite(path, ds, implicit_vr=ts.is_implicit_VR, little_endian=ts.is_little_endian)
    return path


def frames_dataset(ts_name, nframes, charset=None, name="Doe^John"):
    ds = base(name=name, charset=charset, rows=16)
    ds.NumberOfFrames = nframes
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    frames = [bytes([0xFF, 0xD8]) + bytes((i * 31 + k) % 256 for k in range(100 + 37 * i)) + bytes([0xFF, 0xD9]) for i in range(nframes)]
    ds.PixelData = encapsulate(frames, has_bot=True)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    return ds


# Uncompressed syntaxes, each with nested and private content.
for ts, name in [(U.ImplicitVRLittleEndian, "implicit-le"), (U.ExplicitVRLittleEndian, "explicit-le"),
                 (U.ExplicitVRBigEndian, "explicit-be"), (U.DeflatedExplicitVRLittleEndian, "deflated")]:
    save(private(nested(base(charset="ISO_IR 100", name="Buc^Jérôme"))), f"{name}.dcm", ts)

# Character sets.
save(base(charset="ISO_IR 192", name="Wang^XiaoDong=王^小東"), "utf8.dcm", U.ExplicitVRLittleEndian)
save(base(charset=["", "ISO 2022 IR 87"], name="Yamada^Tarou=山田^太郎=やまだ^たろう"), "iso2022-jp.dcm", U.ExplicitVRLittleEndian)
save(base(charset="ISO_IR 144", name="Люкceмбypг"), "cyrillic.dcm", U.ImplicitVRLittleEndian)

# Encapsulated: single-frame and multi-frame "JPEG" (opaque fragments), and real RLE.
save(frames_dataset(U.JPEGBaseline8Bit, 1), "jpeg-1frame.dcm", U.JPEGBaseline8Bit)
save(frames_dataset(U.JPEGBaseline8Bit, 5), "jpeg-multiframe.dcm", U.JPEGBaseline8Bit)
save(frames_dataset(U.JPEG2000Lossless, 3), "j2k-multiframe.dcm", U.JPEG2000Lossless)
rle = base(rows=32)
rle.file_meta = FileMetaDataset()
rle.file_meta.TransferSyntaxUID = U.ExplicitVRLittleEndian
rle.compress(U.RLELossless)
save(rle, "rle.dcm", U.RLELossless)

# Native multi-frame, big endian.
mf = base(rows=16)
mf.NumberOfFrames = 4
mf.PixelData = (np.arange(4 * 16 * 16, dtype=np.uint16) % 4000).astype("<u2").tobytes()
save(mf, "multiframe-be.dcm", U.ExplicitVRBigEndian)

# Layouts real archives hold: no preamble; no meta header (ACR-NEMA style) in implicit and explicit VR.
save(nested(base()), "no-preamble.dcm", U.ExplicitVRLittleEndian, preamble=False)
save(nested(base()), "no-meta-implicit.dcm", U.ImplicitVRLittleEndian, meta=False)
save(private(base()), "no-meta-explicit.dcm", U.ExplicitVRLittleEndian, meta=False)

# Defined-length sequences and items (pydicom writes undefined ones): built by DCMTK from a dump.
dump2dcm = shutil.which("dump2dcm") or "/usr/bin/dump2dcm"
if os.path.exists(dump2dcm):
    txt = os.path.join(out, "defined-lengths.txt")
    with open(txt, "w") as f:
        f.write(f"""(0008,0016) UI =CTImageStorage
(0008,0018) UI [{new_uid()}]
(0008,0060) CS [OT]
(0008,1115) SQ (Sequence with explicit length #=1)
  (fffe,e000) na (Item with explicit length #=2)
    (0008,1140) SQ (Sequence with explicit length #=0)
    (fffe,e0dd) na (SequenceDelimitationItem for re-encod.)
    (0020,000e) UI [{new_uid()}]
  (fffe,e00d) na (ItemDelimitationItem for re-encoding)
(fffe,e0dd) na (SequenceDelimitationItem for re-encod.)
(0009,0010) LO [DCMTK PRIVATE]
(0009,1001) LO [private value]
(0010,0010) PN [Schmidt^Hans]
(0010,0020) LO [PID-002]
(0020,000d) UI [{STUDY}]
(0020,000e) UI [{new_uid()}]
""")
    subprocess.run([dump2dcm, "+E", "-q", txt, os.path.join(out, "dcmtk-defined-lengths.dcm")], check=True)
    os.remove(txt)
print(len([f for f in os.listdir(out) if f.endswith(".dcm")]), "files in", out)
