#!/usr/bin/env python3
"""make-corpus.py OUTDIR: writes the C-FIND query corpus (small Part-10 files, 8x8 pixels) into OUTDIR.

Deterministic: UIDs are numbered, never random, so queries.json can name them (`uid:S07`, `uid:S07.2`,
`uid:S07.2.3` stand for study 7, its series 2, that series' instance 3; reference.py expands them).

What the corpus holds, and why (each line is a trap an archive's C-FIND has been seen to fall into):
- 22 patients, two sharing Patient ID SHARED-1 under different Issuers of Patient ID; two different patients
  both named Smith^John;
- names in five character sets: Latin-1 (Müller, GARCÍA), the same Müller patient stored once in Latin-1 and
  once in UTF-8, ISO 2022 IR 87 Japanese with the three component groups of PS3.5 H.3.1, a Japanese name
  stored in UTF-8, Greek in ISO_IR 126 (with tonos), Cyrillic in UTF-8;
- names that break a naive SQL LIKE translation: `MyName[x]^A` beside `MyNamex^Z`, `Pct%Name^B` beside
  `PctLongName^E`, `Under_Score^C` beside `UnderXScore^D`, `O'Brien^Sean`, `van der Berg^Anna`;
- case: `knight^kate` / `KNIGHT^KEVIN` / `Knox^Karl` with Patient IDs `k-100` / `K-200` / `K-300`, and
  accession numbers `a8002` / `A8003`;
- a patient with an empty name, no birth date element at all, and a study with empty date, time, accession
  number and referring physician and no description element;
- study dates at the edges of January 2024 (20231231, 20240101, 20240131, 20240201), a leap day, the
  millennium edge; times at 000000, 000001.000001, 235959.999999, 235900, an HHMM time (1015) and a
  fractional one (083000.5);
- CT, MR, US, OT (secondary capture) and SR (Basic Text SR) series, studies with several modalities;
- Procedure Code Sequence (study level) with one or two items, including a study whose items hold the
  code value and the scheme in *different* items (a per-attribute match would wrongly find it);
  Request Attributes Sequence (series level) with one or two items;
- attributes no index is likely to hold: Patient Age, Patient Weight (study), Institution Name, Station
  Name (series), Image Comments, Acquisition DateTime (instance), multi-valued Image Type.
"""
import os
import sys

import numpy as np
from pydicom import dcmwrite
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom import uid as U

# A sub-arc of the root scripts/corpus uses (its own sub-arcs are process ids, never 0).
ROOT = "1.2.826.0.1.3680043.10.1432.9.0.7"

LATIN1 = "ISO_IR 100"
UTF8 = "ISO_IR 192"
JIS = ["", "ISO 2022 IR 87"]
GREEK = "ISO_IR 126"

# key: (Patient ID, Issuer of Patient ID or None, Patient's Name, birth date or None (absent), sex)
PATIENTS = {
    "mueller": ("P-MUELLER", None, "Müller^Jürgen", "19610312", "M"),
    "garcia": ("P-GARCIA", None, "GARCÍA^José", "19750101", "M"),
    "yamada": ("P-YAMADA", None, "Yamada^Tarou=山田^太郎=やまだ^たろう", "19800229", "M"),
    "sato": ("P-SATO", None, "Sato^Hanako=佐藤^花子=さとう^はなこ", "19920202", "F"),
    "greek": ("P-GREEK", None, "Διονυσίου^Νίκος", "19900615", "M"),
    "ivanov": ("P-IVANOV", None, "Иванов^Иван", "19851111", "M"),
    "bracket": ("P-BRACKET", None, "MyName[x]^A", "20000101", "F"),
    "bracketx": ("P-BRACKETX", None, "MyNamex^Z", "20000102", "F"),
    "pct": ("P-PCT", None, "Pct%Name^B", "20010101", "M"),
    "pctx": ("P-PCTX", None, "PctLongName^E", "20010102", "M"),
    "under": ("P-UNDER", None, "Under_Score^C", "20020101", "F"),
    "underx": ("P-UNDERX", None, "UnderXScore^D", "20020102", "F"),
    "vdberg": ("P-VDBERG", None, "van der Berg^Anna", "19700707", "F"),
    "knight": ("k-100", None, "knight^kate", "19880808", "F"),
    "KNIGHT": ("K-200", None, "KNIGHT^KEVIN", "19870707", "M"),
    "knox": ("K-300", None, "Knox^Karl", "19860606", "M"),
    "john": ("SHARED-1", "HOSP-A", "Smith^John", "19500101", "M"),
    "jane": ("SHARED-1", "HOSP-B", "Smith^Jane", "19550505", "F"),
    "john2": ("P-SMITH2", None, "Smith^John", "19600101", "M"),
    "obrien": ("P-OBRIEN", None, "O'Brien^Sean", "19450317", "M"),
    "anon": ("P-ANON", None, "", None, ""),
    "lefevre": ("P-LEFEVRE", None, "Lefèvre^Zoë", "19990909", "F"),
}

CT, MR, US, SC, SR = U.CTImageStorage, U.MRImageStorage, U.UltrasoundImageStorage, U.SecondaryCaptureImageStorage, U.BasicTextSRStorage
MODALITY = {CT: "CT", MR: "MR", US: "US", SC: "OT", SR: "SR"}


def code(value, scheme, meaning):
    return (value, scheme, meaning)


def series(sop_class, n, body=None, desc=None, time=None, inst=None, station=None, request=None):
    """A series: SOP class, instance count, body part, description, series time, institution, station name,
    Request Attributes Sequence items as (Requested Procedure ID, Scheduled Procedure Step ID) pairs."""
    return dict(sop=sop_class, n=n, body=body, desc=desc, time=time, inst=inst, station=station, request=request)


# Studies, numbered S01... in this order. Keys not given are left out of the files (absent, not empty).
STUDIES = [
    dict(p="mueller", cs=LATIN1, date="20240101", time="000000", acc="A1001", sid="1", desc="CT Thorax",
         ref="Weber^Anna", age="062Y", weight="80.5", proc=[code("CTCHEST", "99LOCAL", "CT Chest")],
         series=[series(CT, 8, "CHEST", "Thorax 1mm", "000100", "Universitätsklinikum Köln", "CT01",
                        request=[("RP-1", "SPS-1A")]),
                 series(SR, 1, None, "Befund", "003000", "Praxis Dr. Weber", "WS01")]),
    dict(p="mueller", cs=UTF8, date="20240131", time="235959.999999", acc="A1002", sid="2", desc="MR Kopf",
         ref="Weber^Anna", age="062Y", series=[series(MR, 6, "HEAD", "T1 axial", "235959.999999", "Universitätsklinikum Köln", "MR01"),
                                               series(SC, 1, "HEAD", "Screenshot", "235959.999999")]),
    dict(p="garcia", cs=LATIN1, date="20231231", time="235900", acc="A2001", sid="1", desc="TC Abdomen",
         ref="López^María", age="048Y", proc=[code("CTABD", "99LOCAL", "CT Abdomen")],
         series=[series(CT, 8, "ABDOMEN", "Abdomen portal", "235910", "Hospital Clínic", "CT02")]),
    dict(p="garcia", cs=LATIN1, date="20240201", time="000001.000001", acc="A2002", sid="2", desc="Eco abdominal",
         ref="López^María", age="049Y", series=[series(US, 2, "ABDOMEN", "Abdomen", "000500", "Hospital Clínic", "US01")]),
    dict(p="yamada", cs=JIS, date="20240115", time="1015", acc="A3001", sid="1", desc="CT Head",
         ref="", age="043Y", series=[series(CT, 3, "HEAD", "Head routine", "1020", None, "CT03"),
                                     series(SR, 1, None, "Report", "1100")]),
    dict(p="sato", cs=UTF8, date="20240116", time="091500", acc="A3002", sid="1", desc="MR Knee",
         ref="Tanaka^Ichiro=田中^一郎", age="031Y", series=[series(MR, 3, "KNEE", "PD sagittal", "092000", "東京病院", "MR02")]),
    dict(p="greek", cs=GREEK, date="20240229", time="120000", acc="A4001", sid="1", desc="Αξονική θώρακος",
         ref="Παπαδόπουλος^Γιώργος", age="033Y",
         series=[series(CT, 2, "CHEST", "Θώρακας", "120500", "Ευαγγελισμός", "CT04")]),
    dict(p="ivanov", cs=UTF8, date="20000101", time="083000.5", acc="A5001", sid="1", desc="КТ грудной клетки",
         ref="Петров^Пётр", age="014Y", proc=[code("CTCHEST", "99OTHER", "КТ грудной клетки")],
         series=[series(CT, 6, "CHEST", "Грудь", "083100", "Городская больница", "CT05"),
                 series(SR, 1, None, "Заключение", "090000")]),
    dict(p="ivanov", cs=UTF8, date="19991231", time="235959", acc="A5002", sid="2", desc="МРТ головы",
         ref="Петров^Пётр", age="014Y", series=[series(MR, 2, "HEAD", "Голова", "235959")]),
    dict(p="bracket", cs=None, date="20240110", time="101010", acc="A6001", sid="1", desc="Bracket [test]",
         ref="Doc^Bracket", series=[series(CT, 2, "HEAD", "x", "101100")]),
    dict(p="bracketx", cs=None, date="20240116", time="101010", acc="A6006", sid="1", desc="Bracket x test",
         ref="Doc^Bracket", series=[series(CT, 1, "HEAD", "x", "101100")]),
    dict(p="pct", cs=None, date="20240111", time="111111", acc="A6002", sid="1", desc="100% contrast",
         ref="Doc^Pct", series=[series(MR, 2, "SPINE", "sag", "111200")]),
    dict(p="pctx", cs=None, date="20240112", time="121212", acc="A6003", sid="1", desc="100 contrast",
         ref="Doc^Pct", series=[series(MR, 1, "SPINE", "sag", "121300")]),
    dict(p="under", cs=None, date="20240113", time="131313", acc="A6004", sid="1", desc="under_score",
         ref="Doc^Under", series=[series(CT, 1, "PELVIS", "ax", "131400")]),
    dict(p="underx", cs=None, date="20240114", time="141414", acc="A6005", sid="1", desc="underXscore",
         ref="Doc^Under", series=[series(CT, 1, "PELVIS", "ax", "141500")]),
    dict(p="vdberg", cs=None, date="20240301", time="070000", acc="A7001", sid="1", desc="US Abdomen",
         ref="de Vries^Jan", age="053Y", series=[series(US, 3, "ABDOMEN", "liver", "070500", "UMC Utrecht", "US02")]),
    dict(p="knight", cs=None, date="20230615", time="153000", acc="A8001", sid="1", desc="CT sinus",
         ref="house^greg", series=[series(CT, 2, "HEAD", "sinus", "153100")]),
    dict(p="KNIGHT", cs=None, date="20230616", time="153000", acc="a8002", sid="1", desc="MR knee",
         ref="HOUSE^GREG", series=[series(MR, 2, "KNEE", "cor", "153100")]),
    dict(p="knox", cs=None, date="20230617", time="153000", acc="A8003", sid="1", desc="MR knee",
         ref="House^Greg", series=[series(MR, 1, "KNEE", "sag", "153100")]),
    dict(p="john", cs=None, date="20220505", time="080000", acc="S1001", sid="1", desc="CT chest abdomen",
         ref="Doc^Shared", age="072Y", proc=[code("CTCHEST", "99LOCAL", "CT Chest"), code("CTABD", "99LOCAL", "CT Abdomen")],
         series=[series(CT, 3, "CHEST", "chest", "080500", "Hospital A", "CTA1", request=[("RP-19", "SPS-19A")]),
                 series(CT, 20, "ABDOMEN", "abdomen", "081000", "Hospital A", "CTA1",
                        request=[("RP-19", "SPS-19B"), ("RP-19X", "SPS-19C")])]),
    dict(p="jane", cs=None, date="20220506", time="080000", acc="S2001", sid="1", desc="MR brain",
         ref="Doc^Shared", age="066Y", series=[series(MR, 2, "HEAD", "brain", "080500", "Hospital B", "MRB1")]),
    dict(p="john2", cs=None, date="20220507", time="080000", acc="S3001", sid="1", desc="CT chest",
         ref="Doc^Other", age="062Y", series=[series(CT, 1, "CHEST", "chest", "080500", "Hospital C", "CTC1")]),
    dict(p="obrien", cs=None, date="20210101", time="000000", acc="O1001", sid="1", desc="O'Brien's study",
         ref="O'Neil^Tip", series=[series(CT, 1, "CHEST", "chest", "000500")]),
    dict(p="anon", cs=None, date="", time="", acc="", sid="", desc=None, ref="",
         series=[series(SC, 1, None, None, None)]),
    dict(p="lefevre", cs=UTF8, date="20240131", time="000000", acc="L1001", sid="1", desc="Bilan complet",
         ref="Dupré^Hélène", age="024Y", proc=[code("CTCHEST", "99OTHER", "TDM thorax"), code("CTABD", "99LOCAL", "TDM abdomen")],
         series=[series(MR, 5, "HEAD", "T2", "000100", "Hôpital Saint-Louis", "MR03", request=[("RP-25", "SPS-25A")]),
                 series(CT, 2, "CHEST", "thorax", "001000", "Hôpital Saint-Louis", "CT06"),
                 series(SR, 1, None, "Compte rendu", "010000")]),
    dict(p="mueller", cs=LATIN1, date="20250615", time="101500", acc="A1003", sid="3", desc="CT Thorax Kontrolle",
         ref="Weber^Anna", age="064Y", proc=[code("CTCHEST", "99LOCAL", "CT Chest")],
         series=[series(CT, 2, "CHEST", "Thorax 1mm", "101600", "Universitätsklinikum Köln", "CT01")]),
]


# Filler: eight more patients with one to three studies each on dates and times drawn from a fixed seed, so
# that ranges select from a spread of values and the PATIENT-level counts differ between patients.
def _filler():
    rng = np.random.default_rng(20261201)
    sops = [CT, MR, US, SC, CT, MR]
    for i in range(1, 9):
        key = f"filler{i}"
        PATIENTS[key] = (f"F-{i:03d}", None, f"Filler^Number{i}", f"19{40 + 5 * i}0{1 + i % 9}1{i % 9}", "MF"[i % 2])
        for j in range(1 + i % 3):
            day = int(rng.integers(0, 3 * 365))
            y, rest = 2023 + day // 365, day % 365
            month, dom = 1 + rest // 31 % 12, 1 + rest % 28
            hh, mm, ss = int(rng.integers(0, 24)), int(rng.integers(0, 60)), int(rng.integers(0, 60))
            sers = [series(sops[(i + j + k) % len(sops)], int(rng.integers(1, 7)), "CHEST" if k % 2 else "HEAD",
                           f"filler series {k + 1}", f"{hh:02d}{mm:02d}{ss:02d}", "Filler Hospital", f"FIL{i}")
                    for k in range(1 + (i + j) % 3)]
            STUDIES.append(dict(p=key, cs=None, date=f"{y}{month:02d}{dom:02d}", time=f"{hh:02d}{mm:02d}{ss:02d}",
                                acc=f"F{i}{j}", sid=str(j + 1), desc=f"Filler study {i}.{j}", ref="Filler^Doctor",
                                age=f"0{40 + i}Y", series=sers))


_filler()


def pixels(ds, sop, seed):
    ds.Rows = 8
    ds.Columns = 8
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelRepresentation = 0
    rng = np.random.default_rng(seed)
    if sop in (US, SC):
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
        ds.PixelData = rng.integers(0, 256, 64, dtype=np.uint8).tobytes()
    else:
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
        ds.PixelData = rng.integers(0, 4096, 64, dtype=np.uint16).astype("<u2").tobytes()


def sr_content(ds, text):
    ds.ValueType = "CONTAINER"
    concept = Dataset()
    concept.CodeValue, concept.CodingSchemeDesignator, concept.CodeMeaning = "11528-7", "LN", "Radiology Report"
    ds.ConceptNameCodeSequence = Sequence([concept])
    ds.ContinuityOfContent = "SEPARATE"
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    item = Dataset()
    item.RelationshipType = "CONTAINS"
    item.ValueType = "TEXT"
    finding = Dataset()
    finding.CodeValue, finding.CodingSchemeDesignator, finding.CodeMeaning = "121071", "DCM", "Finding"
    item.ConceptNameCodeSequence = Sequence([finding])
    item.TextValue = text
    ds.ContentSequence = Sequence([item])


def instance(si, study, se_i, ser, in_i):
    pid, issuer, name, birth, sex = PATIENTS[study["p"]]
    sop = ser["sop"]
    ds = Dataset()
    if study["cs"] is not None:
        ds.SpecificCharacterSet = study["cs"]
    if sop != SR:
        kind = "LOCALIZER" if (si, se_i, in_i) == (1, 1, 1) else ("AXIAL" if sop == CT else "OTHER")
        ds.ImageType = ["DERIVED", "SECONDARY"] if sop == SC else ["ORIGINAL", "PRIMARY", kind]
    ds.SOPClassUID = sop
    ds.SOPInstanceUID = f"{ROOT}.{si}.{se_i}.{in_i}"
    ds.StudyDate = study["date"]
    ds.StudyTime = study["time"]
    if ser["time"] is not None:
        ds.SeriesDate = study["date"]
        ds.SeriesTime = ser["time"]
        ds.ContentDate = study["date"]
        ds.ContentTime = ser["time"]
    ds.AccessionNumber = study["acc"]
    ds.Modality = MODALITY[sop]
    if ser["inst"] is not None:
        ds.InstitutionName = ser["inst"]
    ds.ReferringPhysicianName = study["ref"]
    if ser["station"] is not None:
        ds.StationName = ser["station"]
    if study.get("desc") is not None:
        ds.StudyDescription = study["desc"]
    if "proc" in study:
        items = []
        for value, scheme, meaning in study["proc"]:
            it = Dataset()
            it.CodeValue, it.CodingSchemeDesignator, it.CodeMeaning = value, scheme, meaning
            items.append(it)
        ds.ProcedureCodeSequence = Sequence(items)
    if ser["desc"] is not None:
        ds.SeriesDescription = ser["desc"]
    ds.PatientName = name
    ds.PatientID = pid
    if issuer is not None:
        ds.IssuerOfPatientID = issuer
    if birth is not None:
        ds.PatientBirthDate = birth
    ds.PatientSex = sex
    if "age" in study:
        ds.PatientAge = study["age"]
    if "weight" in study:
        ds.PatientWeight = study["weight"]
    if ser["body"] is not None:
        ds.BodyPartExamined = ser["body"]
    ds.StudyInstanceUID = f"{ROOT}.{si}"
    ds.SeriesInstanceUID = f"{ROOT}.{si}.{se_i}"
    ds.StudyID = study["sid"]
    ds.SeriesNumber = se_i
    ds.InstanceNumber = in_i
    if ser["request"]:
        items = []
        for rp, sps in ser["request"]:
            it = Dataset()
            it.RequestedProcedureID = rp
            it.ScheduledProcedureStepID = sps
            items.append(it)
        ds.RequestAttributesSequence = Sequence(items)
    if sop == SR:
        sr_content(ds, f"Report for study {si}")
    else:
        if ser["time"] is not None and study["date"]:
            # Acquisition DateTime: DT, some with a UTC offset, for range matching on DT.
            offset = {1: "+0100", 2: "-0500"}.get(in_i, "")
            ds.AcquisitionDateTime = f"{study['date']}{ser['time'].split('.')[0]}{offset}"
        if in_i == 2:
            ds.ImageComments = f"comment {si}.{se_i}.{in_i}"
        pixels(ds, sop, si * 10000 + se_i * 100 + in_i)
    return ds


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.splitlines()[0])
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    count = 0
    for si, study in enumerate(STUDIES, start=1):
        for se_i, ser in enumerate(study["series"], start=1):
            for in_i in range(1, ser["n"] + 1):
                ds = instance(si, study, se_i, ser, in_i)
                fm = FileMetaDataset()
                fm.MediaStorageSOPClassUID = ds.SOPClassUID
                fm.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
                # One study in implicit VR: the archive must index both encodings alike.
                fm.TransferSyntaxUID = U.ImplicitVRLittleEndian if si == 8 else U.ExplicitVRLittleEndian
                fm.ImplementationClassUID = ROOT + ".0"
                ds.file_meta = fm
                dcmwrite(os.path.join(out, f"s{si:02d}-{se_i}-{in_i:02d}.dcm"), ds, enforce_file_format=True)
                count += 1
    print(f"{count} files, {len(STUDIES)} studies, {len(PATIENTS)} patients in {out}")


if __name__ == "__main__":
    main()
