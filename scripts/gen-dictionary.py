#!/usr/bin/env python3
"""Generate the DICOM data dictionary and UID registry tables for the DICOM module.

Source: pydicom's copies of the standard (PS3.6 tables) -- pydicom._dicom_dict.DicomDictionary and
RepeatersDictionary, pydicom._uid_dict.UID_dictionary and pydicom._private_dict.private_dictionaries --
plus a few UIDs newer than the installed pydicom (SUPPLEMENTAL_UIDS below).

Writes Sources/DICOM/Dictionary/Generated*.swift. Each table is one raw multi-line string literal with one
tab-separated line per entry, parsed lazily at first use (see DataDictionary.swift / UIDRegistry.swift).
Large Swift array literals are avoided on purpose: the type checker is very slow on them.

Usage: python3 scripts/gen-dictionary.py [--out DIR]   (default: Sources/DICOM/Dictionary next to this script)
"""
import os
import re
import sys

import pydicom
from pydicom._dicom_dict import DicomDictionary, RepeatersDictionary
from pydicom._uid_dict import UID_dictionary
from pydicom._private_dict import private_dictionaries

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Sources", "DICOM", "Dictionary")

VRS = set("AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV".split())

# UIDs of the current standard missing from the installed pydicom's UID_dictionary (added to PS3.6 after it
# was generated). All four are Storage SOP Classes that pynetdicom 3.0.4 already lists.
SUPPLEMENTAL_UIDS = {
    "1.2.840.10008.5.1.4.1.1.9.100.1": ("Waveform Presentation State Storage", "SOP Class", "", "", "WaveformPresentationStateStorage"),
    "1.2.840.10008.5.1.4.1.1.9.100.2": ("Waveform Acquisition Presentation State Storage", "SOP Class", "", "", "WaveformAcquisitionPresentationStateStorage"),
    "1.2.840.10008.5.1.4.1.1.66.7": ("Label Map Segmentation Storage", "SOP Class", "", "", "LabelMapSegmentationStorage"),
    "1.2.840.10008.5.1.4.1.1.66.8": ("Height Map Segmentation Storage", "SOP Class", "", "", "HeightMapSegmentationStorage"),
}

UID_KINDS = {
    "Transfer Syntax": "transferSyntax",
    "SOP Class": "sopClass",
    "Meta SOP Class": "metaSOPClass",
    "Well-known SOP Instance": "wellKnownInstance",
    # Well-known Frame of Reference UIDs (Talairach, ICBM, ...) are well-known instances of a Frame of Reference.
    "Well-known frame of reference": "wellKnownInstance",
    "Application Context Name": "applicationContextName",
    "Coding Scheme": "codingScheme",
    "DICOM UIDs as a Coding Scheme": "codingScheme",
    "LDAP OID": "ldapOID",
    "Synchronization Frame of Reference": "synchronizationFrame",
    "Service Class": "serviceClass",
    "Application Hosting Model": "applicationHostingModel",
    "Mapping Resource": "mappingResource",
}


def vr_field(vr):
    """'US or SS' -> 'US/SS'; pydicom's 'OB_OW' -> 'OB/OW'; 'NONE' (Item and delimiters) -> 'UN'."""
    if vr == "NONE":
        return "UN"
    parts = [p.strip() for p in re.split(r" or |_", vr)]
    for p in parts:
        if p not in VRS:
            sys.exit(f"unknown VR {vr!r}")
    return "/".join(parts)


def clean(text):
    if "\t" in text or "\n" in text or '"""#' in text:
        sys.exit(f"unusable text {text!r}")
    return text


def is_storage(name, kind):
    """A Storage SOP Class: a SOP Class named '... Storage', '... Storage - For Processing', '... Storage SOP Class'
    and so on, but not Storage Commitment / Storage Management / Media Storage Directory Storage (DICOMDIR)."""
    if kind != "SOP Class":
        return False
    if re.search(r"Storage Commitment|Storage Management|Media Storage Directory", name):
        return False
    return re.search(r" Storage( -| SOP Class| \(|$)", name) is not None


def raw_literal(lines):
    return '#"""\n' + "\n".join(lines) + '\n"""#'


def header(what):
    return (
        "// GENERATED FILE - DO NOT EDIT. Made by scripts/gen-dictionary.py from pydicom "
        f"{pydicom.__version__}'s {what}.\n"
        "// One tab-separated line per entry, parsed lazily at first use.\n"
    )


def write(name, text):
    path = os.path.join(OUT, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {path} ({len(text.encode('utf-8'))} bytes)")


def main():
    global OUT
    if len(sys.argv) > 2 and sys.argv[1] == "--out":  # for trying changes outside the package
        OUT = sys.argv[2]
    os.makedirs(OUT, exist_ok=True)

    # Standard data elements: tag  VRs  VM  R|-  keyword  name. Repeating tags keep their 'x' digits.
    lines = []
    for tag in sorted(DicomDictionary):
        vr, vm, name, retired, keyword = DicomDictionary[tag]
        lines.append("\t".join([f"{tag:08X}", vr_field(vr), clean(vm), "R" if retired else "-", clean(keyword), clean(name)]))
    for mask in sorted(RepeatersDictionary):
        vr, vm, name, retired, keyword = RepeatersDictionary[mask]
        if not re.fullmatch(r"[0-9A-Fx]{8}", mask):
            sys.exit(f"bad repeater {mask}")
        lines.append("\t".join([mask, vr_field(vr), clean(vm), "R" if retired else "-", clean(keyword), clean(name)]))
    write("GeneratedDataDictionary.swift", header("_dicom_dict.DicomDictionary and RepeatersDictionary (PS3.6 6, 7, 8)")
          + "// Columns: tag (hex, 'x' = any digit), VRs ('/'-separated), VM, R(etired) or -, keyword, name.\n\n"
          + "extension DataDictionary {\n    static let standardTable: StaticString = " + raw_literal(lines) + "\n}\n")
    n_std, n_rep = len(DicomDictionary), len(RepeatersDictionary)

    # Private dictionaries: '@creator' starts a block; then  tag  VRs  VM  R|-  name. Tags are 'ggggeeee'
    # (exact), 'ggggxxee' (block-relative) or 'ggxxxxee'; 'ggggeexx' rows describe the creator elements
    # themselves and are skipped (DataDictionary answers those generically).
    plines, n_priv = [], 0
    for creator in sorted(private_dictionaries):
        plines.append("@" + clean(creator))
        for tag in sorted(private_dictionaries[creator]):
            if not re.fullmatch(r"[0-9A-F]{8}|[0-9A-F]{4}xx[0-9A-F]{2}|[0-9A-F]{2}xxxx[0-9A-F]{2}", tag):
                continue
            vr, vm, name, retired = private_dictionaries[creator][tag]
            plines.append("\t".join([tag, vr_field(vr), clean(vm), "R" if retired else "-", clean(name)]))
            n_priv += 1
    write("GeneratedPrivateDictionary.swift", header("_private_dict.private_dictionaries")
          + "// Lines: '@' + private creator, then its tags: tag (hex, 'x' = any digit), VRs, VM, R(etired) or -, name.\n\n"
          + "extension DataDictionary {\n    static let privateTable: StaticString = " + raw_literal(plines) + "\n}\n")

    # UIDs: uid  kind  flags (R = retired, S = storage SOP class, - = none)  keyword  name.
    uids = dict(UID_dictionary)
    for uid, value in SUPPLEMENTAL_UIDS.items():
        uids.setdefault(uid, value)

    def uid_key(u):
        return [int(p) for p in u.split(".")]

    ulines, storage = [], set()
    for uid in sorted(uids, key=uid_key):
        name, kind, _info, retired, keyword = uids[uid]
        if kind not in UID_KINDS:
            sys.exit(f"unknown UID kind {kind!r}")
        flags = ("R" if retired else "") + ("S" if is_storage(name, kind) else "")
        if "S" in flags:
            storage.add(uid)
        ulines.append("\t".join([uid, UID_KINDS[kind], flags or "-", clean(keyword), clean(name)]))
    write("GeneratedUIDRegistry.swift", header("_uid_dict.UID_dictionary (PS3.6 Annex A)")
          + "// Columns: UID, kind, flags (R retired, S storage SOP class, - none), keyword, name.\n\n"
          + "extension UIDRegistry {\n    static let table: StaticString = " + raw_literal(ulines) + "\n}\n")

    print(f"standard {n_std}, repeaters {n_rep}, private creators {len(private_dictionaries)}, "
          f"private tags {n_priv}, UIDs {len(uids)}, storage SOP classes {len(storage)}, "
          f"transfer syntaxes {sum(1 for v in uids.values() if v[1] == 'Transfer Syntax')}")

    # Compare the storage set against pynetdicom's (informational; differences are explained in UIDRegistry.swift).
    try:
        from pynetdicom import sop_class
        theirs = set(sop_class._STORAGE_CLASSES.values())
        if theirs - storage:
            sys.exit(f"missing pynetdicom storage classes: {sorted(theirs - storage)}")
        extra = storage - theirs
        non_patient = set(sop_class._NON_PATIENT_OBJECT_CLASSES.values())
        print(f"vs pynetdicom _STORAGE_CLASSES ({len(theirs)}): +{len(extra & non_patient)} non-patient object, "
              f"+{sum(1 for u in extra - non_patient if uids[u][3])} retired, "
              f"+{len(extra - non_patient) - sum(1 for u in extra - non_patient if uids[u][3])} other "
              f"({', '.join(uids[u][0] for u in sorted(extra - non_patient) if not uids[u][3])})")
    except ImportError:
        pass


if __name__ == "__main__":
    main()
