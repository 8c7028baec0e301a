"""expect.py FILE...: pydicom's parse of each file as canonical lines, the reference Arca's parse must equal.

Line per element, depth first: depth, tag, VR (-- when the file does not say: implicit VR), and the value as
length:fnv1a64 of its bytes in little-endian order (big-endian files are swapped per VR as Arca holds them).
Sequences print their items; encapsulated pixel data its fragments."""
import sys
from pydicom import dcmread
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element

LONG = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}

SWAP = {"US": 2, "SS": 2, "OW": 2, "AT": 2, "UL": 4, "SL": 4, "FL": 4, "OF": 4, "OL": 4,
        "FD": 8, "OD": 8, "SV": 8, "UV": 8, "OV": 8}


def fnv(b):
    h = 0xcbf29ce484222325
    for x in b:
        h = ((h ^ x) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return f"{len(b)}:{h:016x}"


def swap(b, w):
    n = len(b) - len(b) % w
    return b"".join(b[i:i + w][::-1] for i in range(0, n, w)) + b[n:]


def fragments(raw):
    """Items of an encapsulated pixel data value: (FFFE,E000) length bytes ... (FFFE,E0DD)."""
    out, i = [], 0
    while i + 8 <= len(raw):
        tag = int.from_bytes(raw[i:i + 4], "little")
        n = int.from_bytes(raw[i + 4:i + 8], "little")
        if tag == 0xE0DDFFFE:
            break
        out.append(raw[i + 8:i + 8 + n])
        i += 8 + n
    return out


def walk(ds, depth, little, explicit, lines):
    for tag in sorted(ds.keys()):
        raw = ds.get_item(tag)
        vr = raw.VR if explicit and raw.VR else "--"
        key = f"{tag:08x}"
        elem = ds[tag]
        if elem.VR == "SQ" and hasattr(elem.value, "__iter__") and not isinstance(elem.value, (bytes, str)):
            lines.append(f"{depth}|{key}|{vr if vr != '--' else '--'}|items={len(elem.value)}")
            for item in elem.value:
                lines.append(f"{depth + 1}|item")
                walk(item, depth + 2, little, explicit and not getattr(raw, 'VR', None) == 'UN', lines)
            continue
        if isinstance(raw, DataElement):  # already converted (file meta): encode it back
            fp = DicomBytesIO()
            fp.is_little_endian, fp.is_implicit_VR = True, False
            write_data_element(fp, raw)
            b = fp.getvalue()
            value = b[12:] if raw.VR in LONG else b[8:]
            length = 0xFFFFFFFF if raw.is_undefined_length else len(value)
        else:
            value = raw.value if raw.value is not None else b""
            length = raw.length
        if length == 0xFFFFFFFF:
            frags = fragments(value)
            lines.append(f"{depth}|{key}|{vr}|fragments={len(frags)}")
            for f in frags:
                lines.append(f"{depth + 1}|fragment|{fnv(f)}")
            continue
        if not little and vr in SWAP:
            value = swap(value, SWAP[vr])
        lines.append(f"{depth}|{key}|{vr}|{fnv(value)}")


for path in sys.argv[1:]:
    ds = dcmread(path, force=True)
    ds.file_meta = getattr(ds, "file_meta", Dataset())
    lines = [f"# {path}"]
    walk(ds.file_meta, 0, True, True, lines)
    little = ds.original_encoding[1] if ds.original_encoding[1] is not None else True
    explicit = not ds.original_encoding[0] if ds.original_encoding[0] is not None else True
    walk(ds, 0, little, explicit, lines)
    print("\n".join(lines))
