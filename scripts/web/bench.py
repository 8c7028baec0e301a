"""bench.py: the DICOMweb timings scripts/bench-web runs: QIDO-RS through http.client, the rest through one
`requests.Session` (keep-alive both).

  bench.py qido BASE REPEAT PARAM=VALUE...     p50/p90 of a QIDO-RS /studies search
  bench.py metadata BASE STUDY SERIES REPEAT   p50 of the series' metadata
  bench.py thumbnails BASE STUDY SERIES        every instance's thumbnail (rendered, viewport 128): ms each
  bench.py stow BASE DIR                       STOW-RS of a folder in 50-file requests: instances/s
  bench.py sendfile-server PORT FILE...        the floor for WADO-RS: any GET answered with the files, one after
                                               the other, by sendfile(2) from the page cache (no framing, no parsing)
"""
import http.client
import json
import os
import sys
import time
import urllib.parse
import uuid

import requests

session = requests.Session()


def pct(times, p):
    times = sorted(times)
    return times[min(len(times) - 1, int(len(times) * p))]


def qido(base, repeat, params):
    # `*` and `^` are sent as they are: requests would write `*` as %2A, which Orthanc's DICOMweb plugin does not
    # decode in a query (it then matches nothing for `SMI*`); Arca reads either form.
    query = urllib.parse.urlencode(dict(p.split("=", 1) for p in params), safe="*^")
    # The standard library's client on one kept-alive connection: `requests` spent ~0.55 ms of its own on each
    # request (measured against the same server: 0.98 ms p50 through it, 0.41 ms through http.client), which
    # hid the servers' difference behind the client's cost.
    url = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port or 80)
    times, n = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        connection.request("GET", f"{url.path}/studies?{query}", headers={"Accept": "application/dicom+json"})
        r = connection.getresponse()
        body = r.read()
        times.append((time.perf_counter() - t0) * 1000)
        if r.status >= 400:
            sys.exit(f"QIDO-RS answered {r.status}: {body[:300]!r}")
        n = len(json.loads(body)) if body else 0
    print(f"matches {n}  p50 {pct(times, .5):.2f} ms  p90 {pct(times, .9):.2f} ms  ({repeat} runs)")


def instances(base, study, series):
    r = session.get(f"{base}/studies/{study}/series/{series}/instances", params={"limit": 10000})
    r.raise_for_status()
    return [i["00080018"]["Value"][0] for i in r.json()]


def metadata(base, study, series, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = session.get(f"{base}/studies/{study}/series/{series}/metadata", headers={"Accept": "application/dicom+json"})
        r.raise_for_status()
        n = len(r.json())
        times.append((time.perf_counter() - t0) * 1000)
    print(f"{n} instances  first {times[0]:.1f} ms  p50 {pct(times, .5):.1f} ms  ({repeat} runs)")


def thumbnails(base, study, series):
    uids = instances(base, study, series)
    t0 = time.perf_counter()
    for uid in uids:
        r = session.get(f"{base}/studies/{study}/series/{series}/instances/{uid}/rendered", params={"viewport": "128,128"},
                        headers={"Accept": "image/jpeg"})
        r.raise_for_status()
    t = time.perf_counter() - t0
    print(f"{len(uids)} thumbnails in {t:.2f} s: {t / len(uids) * 1000:.2f} ms each")


def stow(base, folder):
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".dcm"))
    t0 = time.perf_counter()
    stored = 0
    for i in range(0, len(files), 50):
        boundary = uuid.uuid4().hex
        def body():
            for f in files[i:i + 50]:
                yield f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
                with open(f, "rb") as h:
                    yield h.read()
                yield b"\r\n"
            yield f"--{boundary}--\r\n".encode()
        r = session.post(f"{base}/studies", data=body(), headers={
            "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}', "Accept": "application/dicom+json"})
        if r.status_code not in (200, 202):
            sys.exit(f"STOW answered {r.status_code}: {r.text[:300]}")
        stored += len(r.json().get("00081199", {}).get("Value", []))
    t = time.perf_counter() - t0
    print(f"{stored} stored in {t:.2f} s: {stored / t:.0f}/s")


def sendfile_server(port, files):
    import socket
    sizes = [os.path.getsize(f) for f in files]
    listener = socket.create_server(("127.0.0.1", int(port)))
    while True:
        conn, _ = listener.accept()
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                request += chunk
            if not chunk:
                continue
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n"
                         b"Content-Length: %d\r\n\r\n" % sum(sizes))
            for f in files:
                with open(f, "rb") as fh:
                    conn.sendfile(fh)


mode, args = sys.argv[1], sys.argv[2:]
if mode == "qido":
    qido(args[0], int(args[1]), args[2:])
elif mode == "metadata":
    metadata(args[0], args[1], args[2], int(args[3]))
elif mode == "thumbnails":
    thumbnails(*args)
elif mode == "stow":
    stow(*args)
elif mode == "sendfile-server":
    sendfile_server(args[0], args[1:])
