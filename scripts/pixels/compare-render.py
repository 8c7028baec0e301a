#!/usr/bin/env python3
"""compare-render.py OURS.png THEIRS.pnm [TOLERANCE]: the largest per-sample difference between a PNG that
arca render wrote (8-bit grey or RGB, read with zlib alone) and a binary PGM/PPM from dcmj2pnm."""
import struct, sys, zlib
import numpy as np


def read_png(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        assert zlib.crc32(kind + body) == struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0], "bad CRC"
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    c = 3 if ctype == 2 else 1
    raw = zlib.decompress(idat)
    stride = w * c
    out = np.zeros((h, stride), dtype=np.int64)
    prev = np.zeros(stride, dtype=np.int64)
    for y in range(h):
        f = raw[y * (stride + 1)]
        row = np.frombuffer(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)], dtype=np.uint8).astype(np.int64)
        if f == 0:
            cur = row
        elif f == 2:
            cur = (row + prev) % 256
        else:
            cur = row.copy()
            for i in range(stride):
                a = cur[i - c] if i >= c else 0
                b = prev[i]
                cc = prev[i - c] if i >= c else 0
                if f == 1: cur[i] = (row[i] + a) % 256
                elif f == 3: cur[i] = (row[i] + (a + b) // 2) % 256
                else:
                    p = a + b - cc; pa, pb, pc = abs(p - a), abs(p - b), abs(p - cc)
                    pr = a if pa <= pb and pa <= pc else (b if pb <= pc else cc)
                    cur[i] = (row[i] + pr) % 256
        out[y] = cur
        prev = cur
    return out.reshape(h, w, c)


def read_pnm(path):
    data = open(path, "rb").read()
    parts, pos = [], 0
    while len(parts) < 4:
        while data[pos:pos + 1].isspace(): pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos); continue
        end = pos
        while not data[end:end + 1].isspace(): end += 1
        parts.append(data[pos:end]); pos = end
    pos += 1
    magic, w, h = parts[0], int(parts[1]), int(parts[2])
    c = 3 if magic == b"P6" else 1
    return np.frombuffer(data[pos:pos + w * h * c], dtype=np.uint8).astype(np.int64).reshape(h, w, c)


a, b = read_png(sys.argv[1]), read_pnm(sys.argv[2])
tol = int(sys.argv[3]) if len(sys.argv) > 3 else 1
if a.shape != b.shape:
    print(f"shapes differ {a.shape} {b.shape}"); sys.exit(1)
d = np.abs(a - b)
print(f"max diff {d.max()}, mean {d.mean():.3f}, over {tol}: {(d > tol).sum()}")
sys.exit(0 if d.max() <= tol else 1)
