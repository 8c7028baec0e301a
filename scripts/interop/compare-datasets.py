#!/usr/bin/env python3
"""compare-datasets.py SENT_DIR RECEIVED_DIR: every instance sent (matched by SOP Instance UID) must be among
the received files with every data element it had, at every depth, with an equal value (group lengths and
trailing padding excepted; file meta is the receiver's own). Prints one line per problem; exit 1 if any."""
import os, sys
import pydicom
from pydicom.tag import Tag


def load(directory):
    out = {}
    for root, _, files in os.walk(directory):
        for f in files:
            try:
                ds = pydicom.dcmread(os.path.join(root, f), force=True)
            except Exception as e:  # noqa: BLE001 - a file we cannot read is a problem to report
                print(f"unreadable {f}: {e}")
                continue
            uid = str(ds.get("SOPInstanceUID", ""))
            if uid:
                out[uid] = (os.path.join(root, f), ds)
    return out


SWAP = {"OW": 2, "OL": 4, "OF": 4, "OD": 8, "OV": 8}


def little(elem, ds):
    """Raw binary values as little endian, whatever the file's byte order (pydicom keeps them as read)."""
    width = SWAP.get(elem.VR)
    if not width or not isinstance(elem.value, bytes) or getattr(ds, "is_little_endian", True) is not False:
        return elem.value
    v = elem.value
    return b"".join(v[i:i + width][::-1] for i in range(0, len(v), width))


def same(a, b, where, problems):
    for elem in a:
        if elem.tag.element == 0 or elem.tag == Tag(0xFFFC, 0xFFFC):
            continue
        here = f"{where}{elem.tag}"
        if elem.tag not in b:
            problems.append(f"{here} {elem.keyword or ''}: missing")
            continue
        other = b[elem.tag]
        if elem.VR == "SQ":
            if other.VR != "SQ" or len(elem.value) != len(other.value):
                problems.append(f"{here}: sequence of {len(elem.value)} item(s) became {other.VR} {len(other.value) if other.VR == 'SQ' else ''}")
                continue
            for i, (x, y) in enumerate(zip(elem.value, other.value)):
                same(x, y, f"{here}[{i + 1}].", problems)
        elif little(elem, top[0]) != little(other, top[1]):
            problems.append(f"{here} {elem.keyword or ''}: {str(elem.value)[:60]!r} != {str(other.value)[:60]!r}")


sent, received = load(sys.argv[1]), load(sys.argv[2])
problems = []
for uid, (path, ds) in sorted(sent.items()):
    if uid not in received:
        problems.append(f"{os.path.basename(path)}: SOP Instance {uid} not received")
        continue
    p = []
    top = (ds, received[uid][1])
    same(ds, received[uid][1], "", p)
    problems += [f"{os.path.basename(path)}: {x}" for x in p]
for line in problems:
    print(line)
print(f"compared {len(sent)} sent instance(s) with {len(received)} received: {len(problems)} problem(s)")
sys.exit(1 if problems else 0)
