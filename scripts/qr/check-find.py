#!/usr/bin/env python3
"""check-find.py: runs the named queries of queries.json against a live C-FIND SCP and diffs every answer
with what reference.py computes from the same corpus files. Strict: exit status 0 only if every query's
answers match exactly (set of entities, every requested value, statuses); there is no list of tolerated
deviations.

How to run (Arca, or any peer, holding exactly the corpus):
    python3 scripts/qr/make-corpus.py /tmp/qr-corpus            # 230 files, deterministic
    (store them into the SCP, e.g. /usr/bin/storescu -aec ARCA +sd +r localhost 11112 /tmp/qr-corpus)
    python3 scripts/qr/check-find.py --host 127.0.0.1 --port 11112 --aec ARCA --corpus /tmp/qr-corpus --via findscu
    python3 scripts/qr/check-find.py ... --via pynetdicom
Options: --only NAME[,NAME...] (or a prefix ending in '*'), --json-report FILE, --aet (calling AE, default
CHECKFIND), --literal-pn (the SCP was configured for case/accent-sensitive names), --unknown-never-matches
(the Worklist reading of empty values, NOT PS3.4 C.2.2.1.2; see reference.py), -v (print the passing ones'
answers too). scripts/qr/peer.py runs all of this against dcmqrscp or Orthanc.

What is checked, per query:
- the final status is Success (0000) and every pending status is FF00 (FF01, "optional keys not supported",
  is a failure here: the archive is meant to support them all); for `expect: failure` queries (and
  identifiers the reference refuses) the final status must be a failure (Axxx or Cxxx) with no answers;
- the set of answers equals the expected set, paired by the level's unique key (plus Issuer of Patient ID at
  PATIENT level when requested): missing and unexpected answers are listed;
- every requested key is present in every answer (Type 2: empty when unknown, never omitted), with the
  expected value after reference.canonical() (padding, PN trailing separators, numbers, computed sets);
  sequences item by item, holding only the requested item attributes;
- Query/Retrieve Level is echoed; no element beyond the requested keys, except Specific Character Set,
  Retrieve AE Title, Instance Availability, Timezone Offset From UTC, Storage Media File-Set ID/UID;
- any answer carrying non-ASCII bytes has a Specific Character Set that decodes them (PS3.4 C.4.1.1.3.2), and
  the decoded text equals the stored text (so an answer in a character set that cannot hold the name fails).
Extended negotiation (relational, combined date-time) is only possible through pynetdicom: with --via findscu
those queries are listed as skipped. With pynetdicom the expectation follows what the SCP accepted (a
declined relational query must then fail; a declined combined date-time query matches independently).

findscu: DCMTK's /usr/bin/findscu (pynetdicom installs a `findscu` script that shadows it on PATH), one run
per query with `-X -od TMP` (answers as files); keys as `-k Keyword=value`, the value bytes encoded in the
query's Specific Character Set exactly as pydicom would encode them, sequences as `Seq[0].Key=value`.
"""
from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference as R  # noqa: E402

import pydicom  # noqa: E402
from pydicom.charset import convert_encodings, encode_string  # noqa: E402
from pydicom.dataset import Dataset  # noqa: E402
from pydicom.sequence import Sequence  # noqa: E402
from pydicom.valuerep import PersonName  # noqa: E402

FINDSCU = "/usr/bin/findscu"
MODEL_UID = {"patient": "1.2.840.10008.5.1.4.1.2.1.1", "study": "1.2.840.10008.5.1.4.1.2.2.1"}
TEXT_VRS = {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT"}


def charset_values(q: R.Query) -> list[str] | None:
    return q.charset.split("\\") if q.charset else None


# ------------------------------------------------------------------------------------ the identifier

def build_identifier(q: R.Query) -> Dataset:
    ds = Dataset()
    if q.charset:
        cs = charset_values(q)
        ds.SpecificCharacterSet = cs if len(cs) > 1 else cs[0]
    ds.QueryRetrieveLevel = q.level
    for kw, v in q.resolved_keys().items():
        if isinstance(v, list):
            items = []
            for item in v:
                it = Dataset()
                for k, iv in item.items():
                    setattr(it, k, iv)
                items.append(it)
            setattr(ds, kw, Sequence(items))
        else:
            setattr(ds, kw, v)
    return ds


def encode_value(vr: str, value: str, encodings: list[str]) -> bytes:
    """The bytes pydicom writes for a text value in the query's character set (PN per component group)."""
    if vr == "PN":
        return PersonName(value).encode(encodings)
    if vr in ("SH", "LO", "ST", "LT", "UC", "UT"):
        return encode_string(value, encodings)
    return value.encode("ascii")


def findscu_keys(q: R.Query) -> list[bytes]:
    encodings = convert_encodings(charset_values(q) or ["ISO_IR 6"])
    args = [b"-k", b"QueryRetrieveLevel=" + q.level.encode()]
    if q.charset:
        args += [b"-k", b"SpecificCharacterSet=" + q.charset.encode("ascii")]
    for kw, v in q.resolved_keys().items():
        if isinstance(v, list):
            if not v:
                args += [b"-k", kw.encode()]
            elif not v[0]:
                args += [b"-k", f"{kw}[0]".encode()]
            for k, iv in (v[0] if v else {}).items():
                if isinstance(iv, list):
                    raise ValueError(f"{kw}: nested sequence keys are not expressible with findscu -k here")
                args += [b"-k", f"{kw}[0].{k}=".encode() + encode_value(R.vr_of(k), iv, encodings)]
        else:
            args += [b"-k", kw.encode() + b"=" + encode_value(R.vr_of(kw), v, encodings)]
    return args


# --------------------------------------------------------------------------------------- the clients

class Result:
    def __init__(self):
        self.pending: list[int] = []
        self.final: int | None = None
        self.answers: list[Dataset] = []
        self.accepted: dict | None = None  # extended negotiation the SCP accepted (pynetdicom)
        self.error: str | None = None
        self.log = ""


def run_findscu(q: R.Query, a) -> Result:
    r = Result()
    with tempfile.TemporaryDirectory(prefix="qr-find-") as tmp:
        cmd = [FINDSCU.encode(), b"-d", b"-aet", a.aet.encode(), b"-aec", a.aec.encode(),
               b"-P" if q.model == "patient" else b"-S", b"-X", b"-od", tmp.encode()]
        cmd += findscu_keys(q) + [a.host.encode(), str(a.port).encode()]
        p = subprocess.run(cmd, capture_output=True, timeout=120)
        r.log = (p.stdout + p.stderr).decode("utf-8", "replace")
        r.pending, r.final = parse_findscu_statuses(r.log)
        if r.final is None:
            r.error = f"findscu exit {p.returncode}, no final response:\n{r.log[-2000:]}"
        for name in sorted(os.listdir(tmp)):
            if name.startswith("rsp") and name.endswith(".dcm"):
                r.answers.append(pydicom.dcmread(os.path.join(tmp, name), force=True))
    r.accepted = {}
    return r


def parse_findscu_statuses(log: str) -> tuple[list[int], int | None]:
    """findscu -d dumps every C-FIND-RSP with a 'DIMSE Status : 0xff00: ...' line; the last is the final one
    (-v only prints a text that is the same for FF00 and FF01)."""
    codes = [int(m.group(1), 16) for m in re.finditer(r"DIMSE Status\s*:\s*0x([0-9a-fA-F]{4})", log)]
    if not codes or codes[-1] in (0xFF00, 0xFF01):
        return codes, None
    return codes[:-1], codes[-1]


def run_pynetdicom(q: R.Query, a) -> Result:
    from pynetdicom import AE
    from pynetdicom.pdu_primitives import SOPClassExtendedNegotiation

    r = Result()
    uid = MODEL_UID[q.model]
    ae = AE(ae_title=a.aet)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 60
    ae.add_requested_context(uid)
    ext = []
    if q.extended:
        item = SOPClassExtendedNegotiation()
        item.sop_class_uid = uid
        item.service_class_application_information = bytes(
            [int(bool(q.extended.get("relational"))), int(bool(q.extended.get("datetime"))), 0])
        ext.append(item)
    assoc = ae.associate(a.host, a.port, ae_title=a.aec, ext_neg=ext or None)
    if not assoc.is_established:
        r.error = "association not established"
        return r
    try:
        info = assoc.acceptor.sop_class_extended.get(uid, b"") or b""
        r.accepted = {"relational": len(info) > 0 and info[0] == 1, "datetime": len(info) > 1 and info[1] == 1}
        for status, ident in assoc.send_c_find(build_identifier(q), uid):
            if status is None or "Status" not in status:
                r.error = "no response (timeout or abort)"
                break
            code = int(status.Status)
            if code in (0xFF00, 0xFF01):
                r.pending.append(code)
                r.answers.append(ident)
            else:
                r.final = code
    finally:
        assoc.release()
    return r


# --------------------------------------------------------------------------------------- comparison

def raw_elements(ds: Dataset):
    """(tag, VR, raw bytes) of the text elements, recursing into items, without decoding them."""
    for tag in list(ds.keys()):
        raw = ds.get_item(tag)
        vr = getattr(raw, "VR", None) or R.vr_of_item(pydicom.datadict.keyword_for_tag(tag) or "")
        if vr == "SQ":
            for item in ds[tag].value or []:
                yield from raw_elements(item)
        elif vr in TEXT_VRS and isinstance(getattr(raw, "value", None), (bytes, bytearray)):
            yield tag, vr, bytes(raw.value)


def answer_values(ds: Dataset, problems: list[str], where: str) -> dict:
    """Keyword -> decoded values of an answer (sequence items as dicts), noting decoding problems."""
    out = {}
    has_cs = "SpecificCharacterSet" in ds
    for tag, vr, raw in raw_elements(ds):
        if any(b >= 0x80 or b == 0x1B for b in raw) and not has_cs:
            problems.append(f"{where}: {pydicom.datadict.keyword_for_tag(tag) or tag} holds non-ASCII bytes "
                            f"{raw[:40]!r} but the answer has no Specific Character Set")
    for elem in ds:
        kw = elem.keyword or str(elem.tag)
        try:
            out[kw] = R.stored(ds, kw) if elem.keyword else [str(elem.value)]
            if elem.VR == "SQ":
                out[kw] = [R.item_values(it, None) for it in (elem.value or [])]
        except Exception as e:  # undecodable bytes
            problems.append(f"{where}: {kw} could not be decoded: {e}")
    return out


def fmt(v) -> str:
    if v is None:
        return "<absent>"
    if isinstance(v, tuple) and v and isinstance(v[0], tuple):
        return "[" + "; ".join("{" + ", ".join(f"{k}={fmt(x)}" for k, x in item) + "}" for item in v) + "]"
    return "\\".join(v) if v else "<empty>"


def compare(q: R.Query, index: R.Index, r: Result, a) -> tuple[str, list[str], dict]:
    """('PASS'|'FAIL'|'SKIP', lines, report)."""
    lines: list[str] = []
    report = {"name": q.name, "pending": [hex(s) for s in r.pending], "final": None if r.final is None else hex(r.final),
              "answers": len(r.answers)}
    if r.error:
        return "FAIL", [r.error], report
    opts = q.options(accepted_extended=r.accepted if a.via == "pynetdicom" else {},
                     unknown_matches=not a.unknown_never_matches)
    if a.literal_pn:
        opts.pn_insensitive = False
    expect_failure = q.expect == "failure"
    reason = ""
    expected = []
    if not expect_failure:
        try:
            expected = index.expect(q, opts)
        except R.QueryError as e:
            expect_failure, reason = True, str(e)
    report["expected"] = "failure" if expect_failure else len(expected)
    if expect_failure:
        ok = r.final is not None and (0xA000 <= r.final <= 0xAFFF or 0xC000 <= r.final <= 0xCFFF) and not r.answers
        if not ok:
            lines.append(f"expected a failure status ({reason or q.why}); got final {fmt_status(r.final)} "
                         f"after {len(r.answers)} answers")
            for i, ds in enumerate(r.answers[:5]):
                shown = ", ".join(f"{e.keyword}={e.value}" for e in ds if e.keyword != "SpecificCharacterSet")
                lines.append(f"  answer {i + 1}: {shown}")
        return ("PASS" if ok else "FAIL"), lines, report

    if r.final != 0x0000:
        lines.append(f"final status {fmt_status(r.final)}, expected Success 0x0000")
    bad_pending = [s for s in r.pending if s != 0xFF00]
    if bad_pending:
        lines.append(f"pending statuses {sorted({hex(s) for s in bad_pending})} (FF01: an optional key unsupported)")

    keys = q.resolved_keys()
    requested = [k for k in keys if k not in R.NOT_KEYS]
    vr = {k: R.vr_of(k) for k in requested}

    def canon_answer(values: dict) -> dict:
        return {k: R.canonical(k, vr[k], values.get(k)) for k in requested}

    exp = [(x.identity, canon_answer(x.values)) for x in expected]
    pn_fold_returns = a.pn_return_insensitive or q.pn_return_insensitive
    got = []
    for i, ds in enumerate(r.answers):
        problems: list[str] = []
        where = f"answer {i + 1}"
        if ds is None:
            lines.append(f"{where}: a pending response without an identifier")
            continue
        values = answer_values(ds, problems, where)
        lines.extend(problems)
        lvl = values.get("QueryRetrieveLevel")
        if lvl is None or [v.strip() for v in lvl] != [q.level]:
            lines.append(f"{where}: Query/Retrieve Level {fmt(tuple(lvl) if lvl else None)}, expected {q.level}")
        extra = sorted(k for k in values if k not in keys and k not in R.ANSWER_EXTRAS)
        if extra:
            lines.append(f"{where}: elements not requested: {', '.join(extra)}")
        missing = [k for k in requested if k not in values]
        if missing:
            lines.append(f"{where}: requested keys missing (must be returned, zero-length if unknown): {', '.join(missing)}")
        if pn_fold_returns:
            for k in requested:
                if vr[k] == "PN" and values.get(k):
                    values[k] = [R.pn_fold(v) for v in values[k]]
        got.append((R.identity(q.level, values), canon_answer(values)))
    if pn_fold_returns:
        fold = lambda k, v: tuple(R.pn_fold(x) for x in v) if vr[k] == "PN" and v else v  # noqa: E731
        exp = [(i, {k: fold(k, v) for k, v in d.items()}) for i, d in exp]

    # Pair by identity; within one identity, equal answers first.
    by_id_exp: dict = {}
    for ident, d in exp:
        by_id_exp.setdefault(ident, []).append(d)
    by_id_got: dict = {}
    for ident, d in got:
        by_id_got.setdefault(ident, []).append(d)
    for ident in sorted(set(by_id_exp) | set(by_id_got), key=str):
        e_list, g_list = list(by_id_exp.get(ident, [])), list(by_id_got.get(ident, []))
        for d in list(e_list):
            if d in g_list:
                e_list.remove(d)
                g_list.remove(d)
        while e_list and g_list:
            e, g = e_list.pop(0), g_list.pop(0)
            for k in requested:
                if e[k] != g[k]:
                    lines.append(f"{show_id(ident)}: {k} expected {fmt(e[k])} got {fmt(g[k])}")
        for e in e_list:
            lines.append(f"missing answer {show_id(ident)}: " + summary(e, requested))
        for g in g_list:
            lines.append(f"unexpected answer {show_id(ident)}: " + summary(g, requested))
    lines = collapse(lines)
    report["got_identities"] = sorted(show_id(i) for i, _ in got)
    report["expected_identities"] = sorted(show_id(i) for i, _ in exp)
    return ("PASS" if not lines else "FAIL"), lines, report


def collapse(lines: list[str]) -> list[str]:
    """'answer 3: X' repeated over many answers -> '29 answers (1, 2, 3, ...): X'; other lines as they are."""
    groups: dict = {}
    order = []
    for line in lines:
        m = re.match(r"answer (\d+): (.*)", line, re.DOTALL)
        key = m.group(2) if m else line
        if key not in groups:
            groups[key] = []
            order.append(key)
        if m:
            groups[key].append(m.group(1))
    out = []
    for key in order:
        ns = groups[key]
        if not ns:
            out.append(key)
        elif len(ns) == 1:
            out.append(f"answer {ns[0]}: {key}")
        else:
            out.append(f"{len(ns)} answers ({', '.join(ns[:6])}{', ...' if len(ns) > 6 else ''}): {key}")
    return out


def show_id(ident: tuple) -> str:
    parts = [fmt(x) for x in ident[1:]]
    short = [p.replace(R.CORPUS_ROOT + ".", "uid:S") for p in parts]
    return "/".join(short)


def summary(d: dict, requested: list[str]) -> str:
    return ", ".join(f"{k}={fmt(d[k])}" for k in requested if d.get(k))[:300]


def fmt_status(s) -> str:
    return "none" if s is None else f"0x{s:04X}"


# ---------------------------------------------------------------------------------------------- main

def main() -> int:
    doc = __doc__ or ""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=doc.split("\n\n", 1)[1] if "\n\n" in doc else None)
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", required=True, type=int)
    ap.add_argument("--aec", required=True, help="the SCP's AE title")
    ap.add_argument("--aet", default="CHECKFIND", help="our AE title")
    ap.add_argument("--corpus", required=True, help="the folder the SCP was loaded from")
    ap.add_argument("--via", required=True, choices=["findscu", "pynetdicom"])
    ap.add_argument("--only", help="comma-separated names; a trailing * is a prefix")
    ap.add_argument("--queries", help="another queries.json")
    ap.add_argument("--json-report", help="write per-query results here")
    ap.add_argument("--literal-pn", action="store_true", help="expect case- and accent-sensitive PN matching")
    ap.add_argument("--unknown-never-matches", action="store_true", help="empty stored values fail non-universal keys")
    ap.add_argument("--pn-return-insensitive", action="store_true",
                    help="compare returned PN values case/accent-folded (for peers that normalise names)")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    if a.via == "findscu" and not os.access(FINDSCU, os.X_OK):
        sys.exit(f"{FINDSCU} (DCMTK) is missing")

    index = R.Index(a.corpus)
    incons = index.consistency()
    if incons:
        sys.exit("corpus is inconsistent (the reference assumes one value per entity):\n" + "\n".join(incons))
    queries = R.load_queries(a.queries)
    if a.only:
        pats = a.only.split(",")
        queries = [q for q in queries if any(fnmatch.fnmatchcase(q.name, p) for p in pats)]
        if not queries:
            sys.exit(f"no query matches {a.only}")

    counts = Counter()
    reports = []
    for q in queries:
        if q.extended and a.via == "findscu":
            counts["SKIP"] += 1
            wanted = ", ".join(k for k, v in q.extended.items() if v)
            print(f"SKIP {q.name}: needs extended negotiation ({wanted}), pynetdicom only")
            reports.append({"name": q.name, "verdict": "SKIP"})
            continue
        try:
            r = run_findscu(q, a) if a.via == "findscu" else run_pynetdicom(q, a)
        except Exception as e:  # a client crash is this query's failure, not the run's
            r = Result()
            r.error = f"{type(e).__name__}: {e}"
        verdict, lines, report = compare(q, index, r, a)
        counts[verdict] += 1
        report["verdict"] = verdict
        report["diff"] = lines
        reports.append(report)
        print(f"{verdict} {q.name}  ({len(r.answers)} answers, final {fmt_status(r.final)})")
        if verdict == "FAIL":
            print(f"     why: {q.why}")
            for line in lines[:40]:
                print("     " + line)
            if len(lines) > 40:
                print(f"     ... {len(lines) - 40} more")
        elif a.verbose:
            for ident in report.get("got_identities", []):
                print("     " + ident)
    print(f"\n{counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped "
          f"({a.via} -> {a.aec}@{a.host}:{a.port})")
    if a.json_report:
        with open(a.json_report, "w", encoding="utf-8") as f:
            json.dump({"via": a.via, "aec": a.aec, "counts": counts, "queries": reports}, f, ensure_ascii=False, indent=1)
    return 0 if counts["FAIL"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
