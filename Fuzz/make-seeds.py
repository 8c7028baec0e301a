#!/usr/bin/env python3
"""Fuzz/make-seeds.py OUT: writes the seed corpora of the network and web fuzz targets into OUT/<target>/:
valid PDU streams (association, data transfer, release), DIMSE command sets, C-FIND identifiers, QIDO-RS
query strings and multipart/related bodies, built here from the standard's layouts (PS3.5, PS3.7, PS3.8,
PS3.18) so the fuzzer starts from inputs that go deep, not from bytes it must discover."""
import os
import struct
import sys

OUT = sys.argv[1]

# ---------------------------------------------------------------- DICOM datasets

def pad(value: bytes, vr: str) -> bytes:
    if len(value) % 2:
        value += b"\0" if vr == "UI" else b" "
    return value

LONG_VRS = {"OB", "OW", "OF", "SQ", "UT", "UN", "UC", "UR", "OD", "OL", "OV"}

def element(group, elem, vr, value, syntax="explicit-le"):
    """One element; `value` is bytes (or a list of item datasets for SQ, undefined lengths)."""
    big = syntax == "explicit-be"
    e = ">" if big else "<"
    if vr == "SQ":
        body = b""
        for item in value:
            body += struct.pack(e + "HHI", 0xFFFE, 0xE000, 0xFFFFFFFF) + item + struct.pack(e + "HHI", 0xFFFE, 0xE00D, 0)
        body += struct.pack(e + "HHI", 0xFFFE, 0xE0DD, 0)
        length = 0xFFFFFFFF
    else:
        body = pad(value, vr)
        length = len(body)
    if syntax == "implicit-le":
        return struct.pack("<HHI", group, elem, length) + body
    if vr in LONG_VRS:
        return struct.pack(e + "HH", group, elem) + vr.encode() + b"\0\0" + struct.pack(e + "I", length) + body
    return struct.pack(e + "HH", group, elem) + vr.encode() + struct.pack(e + "H", length) + body

def dataset(elements, syntax="explicit-le"):
    return b"".join(element(g, el, vr, v, syntax) for g, el, vr, v in sorted(elements, key=lambda x: (x[0], x[1])))

# ---------------------------------------------------------------- DIMSE command sets (implicit VR LE)

def command(fields):
    """fields: (element, vr, value) in group 0000; the group length is computed."""
    body = b""
    for el, vr, value in sorted(fields):
        if vr == "US":
            raw = struct.pack("<H", value)
        elif vr == "UL":
            raw = struct.pack("<I", value)
        else:
            raw = pad(value.encode(), vr)
        body += struct.pack("<HHI", 0, el, len(raw)) + raw
    return struct.pack("<HHII", 0, 0, 4, len(body)) + body

VERIFICATION = "1.2.840.10008.1.1"
CT = "1.2.840.10008.5.1.4.1.1.2"
STUDY_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
PATIENT_FIND = "1.2.840.10008.5.1.4.1.2.1.1"
STUDY_MOVE = "1.2.840.10008.5.1.4.1.2.2.2"
STUDY_GET = "1.2.840.10008.5.1.4.1.2.2.3"
COMMITMENT = "1.2.840.10008.1.20.1"
IMPLICIT, EXPLICIT, BIG = "1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2"
JPEG = "1.2.840.10008.1.2.4.50"
NO_DATASET = 0x0101

COMMANDS = {
    "echo-rq": command([(0x0002, "UI", VERIFICATION), (0x0100, "US", 0x0030), (0x0110, "US", 1), (0x0800, "US", NO_DATASET)]),
    "store-rq": command([(0x0002, "UI", CT), (0x0100, "US", 0x0001), (0x0110, "US", 2), (0x0700, "US", 0),
                         (0x0800, "US", 0), (0x1000, "UI", "1.2.826.0.1.3680043.2.1125.1.1")]),
    "store-rq-move-originator": command([(0x0002, "UI", CT), (0x0100, "US", 0x0001), (0x0110, "US", 3), (0x0700, "US", 2),
                                         (0x0800, "US", 0), (0x1000, "UI", "1.2.3.4"), (0x1030, "AE", "MOVER"), (0x1031, "US", 7)]),
    "find-rq": command([(0x0002, "UI", STUDY_FIND), (0x0100, "US", 0x0020), (0x0110, "US", 4), (0x0700, "US", 0), (0x0800, "US", 0)]),
    "move-rq": command([(0x0002, "UI", STUDY_MOVE), (0x0100, "US", 0x0021), (0x0110, "US", 5), (0x0600, "AE", "DEST"),
                        (0x0700, "US", 0), (0x0800, "US", 0)]),
    "get-rq": command([(0x0002, "UI", STUDY_GET), (0x0100, "US", 0x0010), (0x0110, "US", 6), (0x0700, "US", 0), (0x0800, "US", 0)]),
    "cancel-rq": command([(0x0100, "US", 0x0FFF), (0x0120, "US", 4), (0x0800, "US", NO_DATASET)]),
    "naction-rq": command([(0x0003, "UI", COMMITMENT), (0x0100, "US", 0x0130), (0x0110, "US", 8), (0x0800, "US", 0),
                           (0x1001, "UI", "1.2.840.10008.1.20.1.1"), (0x1008, "US", 1)]),
    "neventreport-rq": command([(0x0002, "UI", COMMITMENT), (0x0100, "US", 0x0100), (0x0110, "US", 9), (0x0800, "US", 0),
                                (0x1000, "UI", "1.2.840.10008.1.20.1.1"), (0x1002, "US", 1)]),
    "store-rsp": command([(0x0002, "UI", CT), (0x0100, "US", 0x8001), (0x0120, "US", 2), (0x0800, "US", NO_DATASET),
                          (0x0900, "US", 0xA700), (0x0902, "LO", "out of resources"), (0x1000, "UI", "1.2.3.4")]),
    "find-rsp-pending": command([(0x0002, "UI", STUDY_FIND), (0x0100, "US", 0x8020), (0x0120, "US", 4), (0x0800, "US", 0),
                                 (0x0900, "US", 0xFF00)]),
    "get-rsp": command([(0x0002, "UI", STUDY_GET), (0x0100, "US", 0x8010), (0x0120, "US", 6), (0x0800, "US", NO_DATASET),
                        (0x0900, "US", 0xFF00), (0x1020, "US", 3), (0x1021, "US", 1), (0x1022, "US", 0), (0x1023, "US", 0)]),
}

def identifier(level, extra, syntax="explicit-le"):
    return dataset([(0x0008, 0x0052, "CS", level.encode())] + extra, syntax)

IDENTIFIERS = [
    ("STUDY", [(0x0010, 0x0010, "PN", b"DOE*"), (0x0008, 0x0020, "DA", b"20200101-20201231"), (0x0020, 0x000D, "UI", b""),
               (0x0008, 0x0061, "CS", b"CT\\MR"), (0x0010, 0x0020, "LO", b"")]),
    ("STUDY", [(0x0008, 0x0005, "CS", b"ISO_IR 100"), (0x0010, 0x0010, "PN", b"M\xfcller^Hans"), (0x0008, 0x0030, "TM", b"1000-1200"),
               (0x0008, 0x0050, "SH", b"ACC?1*"), (0x0020, 0x1208, "IS", b"")]),
    ("STUDY", [(0x0008, 0x0005, "CS", b"\\ISO 2022 IR 87"), (0x0010, 0x0010, "PN", b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B"),
               (0x0020, 0x000D, "UI", b"1.2.3\\1.2.4\\1.2.5")]),
    ("SERIES", [(0x0020, 0x000D, "UI", b"1.2.3"), (0x0008, 0x0060, "CS", b"CT"), (0x0020, 0x0011, "IS", b"3"),
                (0x0020, 0x000E, "UI", b""), (0x0008, 0x103E, "LO", b"*head*"),
                (0x0040, 0x0275, "SQ", [dataset([(0x0040, 0x0009, "SH", b"SPS1"), (0x0040, 0x1001, "SH", b"")])])]),
    ("IMAGE", [(0x0020, 0x000D, "UI", b"1.2.3"), (0x0020, 0x000E, "UI", b"1.2.3.4"), (0x0008, 0x0018, "UI", b""),
               (0x0020, 0x0013, "IS", b"1"), (0x0028, 0x0010, "US", struct.pack("<H", 512)), (0x0008, 0x0016, "UI", b"")]),
    ("PATIENT", [(0x0010, 0x0010, "PN", b"*"), (0x0010, 0x0020, "LO", b"ID-1"), (0x0010, 0x0030, "DA", b"-19800101"),
                 (0x0010, 0x0040, "CS", b"F"), (0x0020, 0x1200, "IS", b"")]),
    ("STUDY", [(0x0008, 0x0020, "DA", b"20200101"), (0x0008, 0x0030, "TM", b"101010.123456-"), (0x0008, 0x0201, "SH", b"+0100"),
               (0x0008, 0x0090, "PN", b"SMITH^J*"), (0x0020, 0x0010, "SH", b"S1"), (0x0008, 0x1030, "LO", b"CHEST?")]),
    ("SERIES", [(0x0008, 0x0060, "CS", b"MR"), (0x0008, 0x0021, "DA", b"2020-"), (0x0040, 0x0244, "DA", b"20200101-20200102"),
                (0x0040, 0x0245, "TM", b"08-18")]),
]

# ---------------------------------------------------------------- PDUs

def item(kind, body):
    return struct.pack(">BBH", kind, 0, len(body)) + body

def pdu(kind, body):
    return struct.pack(">BBI", kind, 0, len(body)) + body

def ae(title):
    return title.encode().ljust(16, b" ")

def presentation_context(pc_id, abstract, transfers):
    body = struct.pack(">BBBB", pc_id, 0, 0, 0) + item(0x30, abstract.encode())
    for t in transfers:
        body += item(0x40, t.encode())
    return item(0x20, body)

def user_information(max_length=16384, extras=b""):
    body = item(0x51, struct.pack(">I", max_length)) + item(0x52, b"1.2.826.0.1.3680043.9.9999") + item(0x55, b"FUZZ_1")
    return item(0x50, body + extras)

def associate_rq(contexts, extras=b"", max_length=16384, called="ARCA", calling="FUZZER"):
    body = struct.pack(">HH", 1, 0) + ae(called) + ae(calling) + b"\0" * 32 + item(0x10, b"1.2.840.10008.3.1.1.1")
    for c in contexts:
        body += presentation_context(*c)
    return pdu(0x01, body + user_information(max_length, extras))

def p_data(pdvs):
    body = b""
    for pc_id, control, data in pdvs:
        body += struct.pack(">I", len(data) + 2) + bytes([pc_id, control]) + data
    return pdu(0x04, body)

RELEASE_RQ = pdu(0x05, b"\0\0\0\0")
ABORT = pdu(0x07, b"\0\0\0\0")

ROLE = item(0x54, struct.pack(">H", len(CT)) + CT.encode() + b"\1\1")
ASYNC = item(0x53, struct.pack(">HH", 4, 4))
EXT_NEG = item(0x56, struct.pack(">H", len(STUDY_FIND)) + STUDY_FIND.encode() + b"\1\1\0\1")
COMMON_EXT = item(0x57, struct.pack(">H", len(CT)) + CT.encode() + struct.pack(">H", len("1.2.840.10008.4.2")) +
                  b"1.2.840.10008.4.2" + struct.pack(">H", len(CT) + 2) + struct.pack(">H", len(CT)) + CT.encode())
IDENTITY = item(0x58, bytes([2, 1]) + struct.pack(">H", 4) + b"user" + struct.pack(">H", 6) + b"secret")

CONTEXTS = [(1, VERIFICATION, [IMPLICIT]), (3, CT, [JPEG, EXPLICIT, IMPLICIT]), (5, STUDY_FIND, [EXPLICIT, IMPLICIT]),
            (7, STUDY_MOVE, [IMPLICIT]), (9, STUDY_GET, [BIG, IMPLICIT]), (11, COMMITMENT, [EXPLICIT])]

def streams():
    rq = associate_rq(CONTEXTS, ROLE + ASYNC + EXT_NEG + COMMON_EXT + IDENTITY)
    find_id = identifier("STUDY", IDENTIFIERS[0][1])  # context 5 accepts explicit VR LE
    ct = dataset([(0x0008, 0x0016, "UI", CT.encode()), (0x0008, 0x0018, "UI", b"1.2.3.4"), (0x0010, 0x0010, "PN", b"DOE^J"),
                  (0x7FE0, 0x0010, "OW", b"\0\1" * 64)], "explicit-le")
    yield "echo", rq + p_data([(1, 3, COMMANDS["echo-rq"])]) + RELEASE_RQ
    yield "find", rq + p_data([(5, 3, COMMANDS["find-rq"])]) + p_data([(5, 2, find_id)]) + RELEASE_RQ
    yield "find-fragmented", (rq + p_data([(5, 1, COMMANDS["find-rq"][:20])]) + p_data([(5, 3, COMMANDS["find-rq"][20:])]) +
                              p_data([(5, 0, find_id[:30]), (5, 2, find_id[30:])]) + p_data([(5, 3, COMMANDS["cancel-rq"])]) + RELEASE_RQ)
    yield "store", (rq + p_data([(3, 3, COMMANDS["store-rq"])]) + p_data([(3, 0, ct[:100])]) + p_data([(3, 2, ct[100:])]) +
                    p_data([(3, 3, COMMANDS["store-rsp"])]) + RELEASE_RQ)
    yield "move-get", (rq + p_data([(7, 3, COMMANDS["move-rq"]), (7, 2, identifier("STUDY", [(0x0020, 0x000D, "UI", b"1.2.3")], "implicit-le"))]) +
                       p_data([(9, 3, COMMANDS["get-rq"]), (9, 2, identifier("STUDY", [(0x0020, 0x000D, "UI", b"1.2.3")], "explicit-be"))]) +
                       p_data([(3, 3, COMMANDS["get-rsp"])]) + ABORT)
    yield "commitment", (rq + p_data([(11, 3, COMMANDS["naction-rq"]), (11, 2, dataset([(0x0008, 0x1195, "UI", b"1.2.3.9"),
                         (0x0008, 0x1199, "SQ", [dataset([(0x0008, 0x1150, "UI", CT.encode()), (0x0008, 0x1155, "UI", b"1.2.3.4")])])]))]) +
                         RELEASE_RQ)
    yield "rq-only", associate_rq([(1, VERIFICATION, [IMPLICIT])], max_length=0, called="OTHER")
    yield "rq-rejected", associate_rq([(1, "1.2.3.4.5", [IMPLICIT])]) + RELEASE_RQ
    yield "small-pdu", associate_rq(CONTEXTS, max_length=7) + p_data([(1, 3, COMMANDS["echo-rq"])]) + RELEASE_RQ
    yield "release-first", RELEASE_RQ
    yield "http", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"

# ---------------------------------------------------------------- QIDO-RS and multipart

QIDO = [
    (0, "PatientName=DOE*&StudyDate=20200101-20201231&limit=10&offset=5&includefield=all"),
    (0, "00100020=123&fuzzymatching=true&ModalitiesInStudy=CT%5CMR"),
    (1, "RequestAttributesSequence.ScheduledProcedureStepID=X&includefield=RequestAttributesSequence.RequestedProcedureID"),
    (4, "StudyInstanceUID=1.2.3,1.2.4&StudyTime=1000-&AccessionNumber=A%3F1"),
    (2, "PatientName=%C3%A9lise*&includefield=00080080,PatientAge&SOPClassUID=1.2.840.10008.5.1.4.1.1.2"),
    (6, "SeriesNumber=3&Modality=CT&PerformedProcedureStepStartDate=2020-&limit=0"),
    (14, "InstanceNumber=1&Rows=512&includefield=NumberOfFrames&offset=100"),
    (0, "StudyDate=20200101&StudyTime=101010-121212&PatientBirthDate=-19800101&ReferringPhysicianName=SMITH%5EJ*"),
    (1, "SeriesDescription=*head*&SeriesInstanceUID=1.2.3.4&includefield=all&limit=abc"),
    (0, "PatientID=%ZZ&PatientSex=F&includefield=Unknown.Thing&Foo=bar"),
]

def multipart(boundary, parts, header=None, close=True, preamble=b"", padding=b""):
    header = header or f'multipart/related; type="application/dicom"; boundary={boundary}'
    body = preamble
    for headers, data in parts:
        body += b"--" + boundary.encode() + padding + b"\r\n" + headers + b"\r\n\r\n" + data + b"\r\n"
    if close:
        body += b"--" + boundary.encode() + b"--\r\n"
    return header.encode() + b"\n" + body

def part10():
    meta = dataset([(0x0002, 0x0001, "OB", b"\0\1"), (0x0002, 0x0002, "UI", CT.encode()), (0x0002, 0x0003, "UI", b"1.2.3.4"),
                    (0x0002, 0x0010, "UI", EXPLICIT.encode())])
    meta = element(0x0002, 0x0000, "UL", struct.pack("<I", len(meta))) + meta
    ds = dataset([(0x0008, 0x0016, "UI", CT.encode()), (0x0008, 0x0018, "UI", b"1.2.3.4"), (0x0020, 0x000D, "UI", b"1.2.3")])
    return b"\0" * 128 + b"DICM" + meta + ds

MULTIPART = [
    multipart("arca-1", [(b"Content-Type: application/dicom", part10()), (b"Content-Type: application/dicom\r\nContent-Location: x", part10())]),
    multipart("q b", [(b"Content-Type: application/dicom", part10())], header='multipart/related; boundary="q b"; type="application/dicom"'),
    multipart("x", [(b"content-type:application/dicom", b"\r\n--y\r\n" + part10())], preamble=b"preamble\r\n", padding=b" \t"),
    multipart("b", [(b"Content-Type: application/json", b"{}")], close=False),
    multipart("bb", []),
]

def write(target, name, data):
    os.makedirs(os.path.join(OUT, target), exist_ok=True)
    with open(os.path.join(OUT, target, name), "wb") as f:
        f.write(data)

for name, data in streams():
    write("association", name, data)
for name, data in COMMANDS.items():
    write("dimse", name, data)
for i, (level, extra) in enumerate(IDENTIFIERS):
    for flags, syntax in ((0x09, "explicit-le"), (0x00, "implicit-le"), (0x0A, "explicit-be")):
        model = 0x04 if level == "PATIENT" else 0
        write("find", f"identifier-{i}-{syntax}", bytes([flags | model | (0x10 if i % 2 else 0)]) + identifier(level, extra, syntax))
for i, (flags, query) in enumerate(QIDO):
    write("qido", f"query-{i}", bytes([flags]) + query.encode())
for i, data in enumerate(MULTIPART):
    write("multipart", f"body-{i}", data)
