#!/usr/bin/env python3
"""peer.py dcmqrscp|orthanc [--corpus DIR] [--via findscu,pynetdicom,qido] [--report-dir DIR] [--serve] [-- CHECK-FIND ARGS]:
validates the C-FIND harness against a reference peer. Starts the peer in a temporary folder on a free
loopback port, stores the corpus into it with DCMTK's /usr/bin/storescu, runs check-find.py through each
client, stops the peer. With --serve it only starts and loads the peer and waits (Ctrl-C stops it), to run
check-find.py by hand. The corpus is made with make-corpus.py when --corpus is not given.

dcmqrscp: DCMTK 3.6.7 (forking), one AE (QRSCP) with its own index; Orthanc 1.10 (Debian), SQLite
index, DicomAlwaysAllowFind/Store, PN matching case-insensitive (its default). `--via qido` (Orthanc only) loads
Debian's orthanc-dicomweb plugin (/usr/share/orthanc/plugins/libOrthancDicomWeb.so) with its root at /dicom-web/
and runs check-find.py --via qido --base-url http://127.0.0.1:HTTPPORT/dicom-web.
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, seconds: float = 30) -> None:
    """A peer is up when it accepts TCP: a bounded wait, failing fast if the process died."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"peer exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"peer did not listen on {port} within {seconds}s")


def start_dcmqrscp(tmp: str, port: int):
    db = os.path.join(tmp, "db")
    os.makedirs(db)
    cfg = os.path.join(tmp, "dcmqrscp.cfg")
    with open(cfg, "w") as f:
        f.write(f"""NetworkTCPPort = {port}
MaxPDUSize = 16384
MaxAssociations = 16
HostTable BEGIN
HostTable END
VendorTable BEGIN
VendorTable END
AETable BEGIN
QRSCP {db} RW (1000, 1024mb) ANY
AETable END
""")
    log = open(os.path.join(tmp, "dcmqrscp.log"), "w")
    # Fork mode (the default): DCMTK 3.6.7 dcmqrscp -s (single process) segfaults after the first association.
    proc = subprocess.Popen(["/usr/bin/dcmqrscp", "-c", cfg, "-v"], stdout=log, stderr=subprocess.STDOUT)
    return proc, "QRSCP"


DICOMWEB_PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"


def start_orthanc(tmp: str, port: int, http_port: int, dicomweb: bool, overrides: dict):
    cfg = os.path.join(tmp, "orthanc.json")
    plugins = {"Plugins": [DICOMWEB_PLUGIN], "DicomWeb": {"Enable": True, "Root": "/dicom-web/"}} if dicomweb else {"Plugins": []}
    with open(cfg, "w") as f:
        json.dump({"Name": "qr-check", "StorageDirectory": os.path.join(tmp, "storage"), "IndexDirectory": os.path.join(tmp, "index"),
                   "DicomAet": "ORTHANC", "DicomPort": port, "HttpPort": http_port, "RemoteAccessAllowed": False,
                   "AuthenticationEnabled": False, "DicomAlwaysAllowFind": True, "DicomAlwaysAllowStore": True,
                   "DicomAlwaysAllowEcho": True, "DicomCheckCalledAet": False, "ConcurrentJobs": 1} | plugins | overrides, f)
    log = open(os.path.join(tmp, "orthanc.log"), "w")
    proc = subprocess.Popen(["/usr/sbin/Orthanc", cfg], stdout=log, stderr=subprocess.STDOUT)
    return proc, "ORTHANC"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("peer", choices=["dcmqrscp", "orthanc"])
    ap.add_argument("--corpus")
    ap.add_argument("--via", default="findscu,pynetdicom")
    ap.add_argument("--report-dir")
    ap.add_argument("--serve", action="store_true")
    ap.add_argument("--orthanc-set", action="append", default=[], metavar='KEY=JSON',
                    help="an Orthanc configuration option, e.g. 'DefaultEncoding=\"Utf8\"'")
    a, check_args = ap.parse_known_args()  # the rest goes to check-find.py
    check_args = [x for x in check_args if x != "--"]
    with tempfile.TemporaryDirectory(prefix=f"qr-{a.peer}-") as tmp:
        corpus = a.corpus
        if not corpus:
            corpus = os.path.join(tmp, "corpus")
            subprocess.run([sys.executable, os.path.join(HERE, "make-corpus.py"), corpus], check=True)
        port, http_port = free_port(), free_port()
        vias = a.via.split(",")
        qido = "qido" in vias
        if a.peer == "dcmqrscp":
            if qido:
                sys.exit("dcmqrscp has no DICOMweb: --via qido needs orthanc")
            proc, aec = start_dcmqrscp(tmp, port)
        else:
            if qido and not os.path.exists(DICOMWEB_PLUGIN):
                sys.exit(f"{DICOMWEB_PLUGIN} is missing (Debian package orthanc-dicomweb)")
            overrides = {k: json.loads(v) for k, _, v in (o.partition("=") for o in a.orthanc_set)}
            proc, aec = start_orthanc(tmp, port, http_port, qido, overrides)
        try:
            wait_for_port(port, proc)
            if qido:
                wait_for_port(http_port, proc)
            store = subprocess.run(["/usr/bin/storescu", "-aec", aec, "-nh", "+sd", "+r", "127.0.0.1", str(port), corpus],
                                   capture_output=True, text=True)
            if store.returncode != 0:
                print(store.stdout + store.stderr)
                sys.exit(f"storescu failed ({store.returncode})")
            print(f"{a.peer} ({aec}) on 127.0.0.1:{port}, corpus {corpus} stored", flush=True)
            base_url = f"http://127.0.0.1:{http_port}/dicom-web"
            if qido:
                print(f"DICOMweb at {base_url}", flush=True)
            if a.serve:
                print("serving; Ctrl-C stops", flush=True)
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
                signal.sigwait([signal.SIGINT, signal.SIGTERM])
                return 0
            rc = 0
            for via in vias:
                cmd = [sys.executable, os.path.join(HERE, "check-find.py"), "--host", "127.0.0.1", "--port", str(port),
                       "--aec", aec, "--corpus", corpus, "--via", via] + check_args
                if via == "qido":
                    cmd += ["--base-url", base_url]
                if a.report_dir:
                    os.makedirs(a.report_dir, exist_ok=True)
                    cmd += ["--json-report", os.path.join(a.report_dir, f"{a.peer}-{via}.json")]
                print(f"\n=== {a.peer} via {via}", flush=True)
                rc |= subprocess.run(cmd).returncode
            return rc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
