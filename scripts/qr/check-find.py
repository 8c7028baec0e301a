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
    python3 scripts/qr/check-find.py --corpus /tmp/qr-corpus --via qido --base-url http://127.0.0.1:8080/dicom-web
Options: --only NAME[,NAME...] (or a prefix ending in '*'), --json-report FILE, --aet (calling AE, default
CHECKFIND), --literal-pn (the SCP was configured for case/accent-sensitive names), --unknown-never-matches
(the Worklist reading of empty values, NOT PS3.4 C.2.2.1.2; see reference.py), -v (print the passing ones'
answers too), --page-size N (qido: read the answers in pages of N with limit/offset). scripts/qr/peer.py runs all
of this against dcmqrscp or Orthanc (Orthanc also through its DICOMweb plugin: peer.py orthanc --via qido).

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

qido (--via qido --base-url http://HOST:PORT/dicom-web): the same queries as QIDO-RS searches (PS3.18 10.6), answers
read with pydicom's Dataset.from_json (BulkDataURI ignored) and checked by the same comparison; the acceptance
criterion is "the same QIDO-RS query gives the same matches as the same C-FIND query". The mapping:
- level STUDY -> /studies; SERIES -> /studies/{s}/series when the query holds one Study Instance UID, else /series;
  IMAGE -> /studies/{s}/series/{r}/instances when both are single, /studies/{s}/instances, else /instances.
  A UID moved into the path is also named in includefield (the C-FIND query asked for it back).
- keys with a value -> `keyword=value` parameters, URL-encoded UTF-8 text: a query's Specific Character Set does
  not apply (JSON is Unicode; the values are the text the reference matches). A UID list is comma-separated
  (PS3.18 8.3.4.1 uid-list-match = attribute "=" 1#value). Keys asked empty -> one `includefield=A,B,...`.
  A sequence key's item keys -> `Seq.Item=value`, empty ones `includefield=Seq.Item`; an empty sequence key or
  item -> `includefield=Seq`.
- the reference runs in relational mode (QIDO-RS has no hierarchical/relational negotiation: any key at
  any level, no unique keys required above the level), with Study Root levels (patient attributes are study attributes), and the same --unknown-never-matches as the DIMSE runs.
- skipped, with the reason: PATIENT level (QIDO-RS has none), `expect: failure` identifiers (they test DIMSE
  hierarchical rules, and QIDO-RS is relational), combined date-time matching and literal PN (DIMSE extended
  negotiation / SCP configuration, with no QIDO-RS parameter), sequence keys nested more than one level.
What changes in the checks: success is HTTP 200 (or 204, no answers), and any Warning header is a failure (an
ignored parameter, like FF01); an expected failure is an HTTP 4xx; there is no Query/Retrieve Level to echo;
"no element beyond the requested keys" becomes "every requested key present with the right value, every other
element among the QIDO-RS defaults of the level and the levels above (PS3.18 Tables 10.6.3-3..5), Retrieve URL,
the unique keys, and the DIMSE extras above". With --page-size only the last page's Warning headers count (a
full page may announce more results; an ignored parameter is warned about on every page).
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
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, replace

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
        self.http: int | None = None  # qido: the HTTP status (the last page's)
        self.warnings: list[str] = []  # qido: Warning headers
        self.url = ""  # qido: the request (the first page's)


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


# ------------------------------------------------------------------------------------------ QIDO-RS

# PS3.18 Tables 10.6.3-3 (study), 10.6.3-4 (series), 10.6.3-5 (instance): what a QIDO-RS answer carries
# without being asked. A series search over all series also carries the study ones, an instance search the
# study and series ones (10.6.3.3.2, 10.6.3.3.3), so a level admits its own and those of the levels above.
QIDO_DEFAULTS = {
    R.STUDY: """StudyDate StudyTime AccessionNumber InstanceAvailability ModalitiesInStudy ReferringPhysicianName
        TimezoneOffsetFromUTC RetrieveURL PatientName PatientID PatientBirthDate PatientSex StudyInstanceUID StudyID
        NumberOfStudyRelatedSeries NumberOfStudyRelatedInstances""".split(),
    R.SERIES: """Modality TimezoneOffsetFromUTC SeriesDescription RetrieveURL SeriesInstanceUID SeriesNumber
        NumberOfSeriesRelatedInstances PerformedProcedureStepStartDate PerformedProcedureStepStartTime
        RequestAttributesSequence""".split(),
    R.IMAGE: """SOPClassUID SOPInstanceUID InstanceAvailability TimezoneOffsetFromUTC RetrieveURL InstanceNumber Rows
        Columns BitsAllocated NumberOfFrames""".split(),
}
QIDO_LEVELS = [R.STUDY, R.SERIES, R.IMAGE]


def qido_allowed_extras(level: str) -> set[str]:
    out = set(R.ANSWER_EXTRAS) | {"RetrieveURL"}
    for lvl in QIDO_LEVELS[:QIDO_LEVELS.index(level) + 1]:
        out |= set(QIDO_DEFAULTS[lvl]) | {R.UNIQUE[lvl]}
    return out


def qido_skip_reason(q: R.Query) -> str | None:
    """Why a query has no QIDO-RS form (None: it has one)."""
    if q.level == R.PATIENT:
        return "QIDO-RS has no patient level (PS3.18 10.6 searches studies, series and instances)"
    if q.expect == "failure":
        return (f"an identifier a C-FIND SCP must refuse under the DIMSE hierarchical rules ({q.why}); QIDO-RS "
                "queries are relational, so there is no failure to compare with")
    if q.extended.get("datetime"):
        return "combined date-time matching is DIMSE extended negotiation; QIDO-RS has no parameter for it"
    if not q.pn_insensitive:
        return "literal (case/accent-sensitive) PN matching is a DIMSE-side setting; QIDO-RS names match insensitively"
    for kw, v in q.keys.items():
        if isinstance(v, list) and any(isinstance(iv, list) for item in v for iv in item.values()):
            return f"{kw}: QIDO-RS sequence keys here go one level deep (Seq.Item=value)"
    return None


def qido_query(q: R.Query) -> R.Query:
    """The query the reference answers for QIDO-RS: Study Root levels, relational."""
    return replace(q, model="study", extended={"relational": True})


def single_uid(v) -> bool:
    return isinstance(v, str) and v != "" and "\\" not in v and "*" not in v and "?" not in v


def qido_request(q: R.Query) -> tuple[str, list[tuple[str, str]]]:
    """(path below the base URL, query parameters) of a query."""
    keys = {k: v for k, v in q.resolved_keys().items() if k not in R.NOT_KEYS}
    study, series = keys.get("StudyInstanceUID"), keys.get("SeriesInstanceUID")
    in_path: list[str] = []
    if q.level == R.STUDY:
        path = "/studies"
    elif q.level == R.SERIES:
        path = "/series"
        if single_uid(study):
            path, in_path = f"/studies/{study}/series", ["StudyInstanceUID"]
    else:
        path = "/instances"
        if single_uid(study) and single_uid(series):
            path, in_path = f"/studies/{study}/series/{series}/instances", ["StudyInstanceUID", "SeriesInstanceUID"]
        elif single_uid(study):
            path, in_path = f"/studies/{study}/instances", ["StudyInstanceUID"]
    params: list[tuple[str, str]] = []
    include: list[str] = []
    for kw, v in keys.items():
        if kw in in_path:
            include.append(kw)
        elif isinstance(v, list):
            item = v[0] if v else {}
            if not item:
                include.append(kw)
            for ik, iv in item.items():
                if iv == "":
                    include.append(f"{kw}.{ik}")
                else:
                    params.append((f"{kw}.{ik}", iv))
        elif v == "":
            include.append(kw)
        else:
            params.append((kw, v.replace("\\", ",") if R.vr_of(kw) == "UI" else v))
    if include:
        params.append(("includefield", ",".join(include)))
    return path, params


def qido_url(base: str, path: str, params: list[tuple[str, str]]) -> str:
    """Values percent-encoded as UTF-8, but for '*' (readable) and the commas of includefield and UID lists,
    which are the list separators of PS3.18 8.3.4 (a comma in a text value is encoded)."""
    def value(k: str, v: str) -> str:
        lists = k == "includefield" or (k not in ("limit", "offset") and R.vr_of_item(k.split(".")[-1]) == "UI")
        parts = v.split(",") if lists else [v]
        return ",".join(urllib.parse.quote(p, safe="*") for p in parts)
    query = "&".join(f"{urllib.parse.quote(k, safe='.')}={value(k, v)}" for k, v in params)
    return base.rstrip("/") + path + ("?" + query if query else "")


def ignore_bulk_data(tag: str, vr: str, uri: str):
    return None


def run_qido(q: R.Query, a) -> Result:
    r = Result()
    r.accepted = {"relational": True}
    path, params = qido_request(q)
    r.url = qido_url(a.base_url, path, params)
    offset = 0
    while True:
        page = params + ([("limit", str(a.page_size)), ("offset", str(offset))] if a.page_size else [])
        url = qido_url(a.base_url, path, page)
        req = urllib.request.Request(url, headers={"Accept": "application/dicom+json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                r.http = resp.status
                # Only the last page's warnings count: a full page may say "more results" (PS3.18 8.3.4.4),
                # while an ignored parameter is warned about on every page, the last one too.
                r.warnings = resp.headers.get_all("Warning") or []
                body = resp.read()
        except urllib.error.HTTPError as e:
            r.http = e.code
            r.warnings = e.headers.get_all("Warning") or []
            r.log = e.read()[:2000].decode("utf-8", "replace")
            return r
        r.log = body[:2000].decode("utf-8", "replace")
        items = json.loads(body) if body.strip() else []
        if not isinstance(items, list):
            r.error = f"HTTP {r.http}: the payload is not a JSON array: {r.log[:300]}"
            return r
        for obj in items:
            r.answers.append(Dataset.from_json(obj, bulk_data_uri_handler=ignore_bulk_data))
        if not a.page_size or len(items) < a.page_size:
            return r
        offset += len(items)


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


@dataclass
class AnswerRules:
    """What an answer may hold beside the requested keys, per client."""
    echo_level: bool  # DIMSE: Query/Retrieve Level comes back; QIDO-RS has none
    extras: set  # elements allowed beyond the requested keys


def answer_rules(q: R.Query, a) -> AnswerRules:
    if a.via == "qido":
        return AnswerRules(echo_level=False, extras=qido_allowed_extras(q.level))
    return AnswerRules(echo_level=True, extras=set(R.ANSWER_EXTRAS))


def expectation(q: R.Query, index: R.Index, r: Result, a) -> tuple[R.Query, bool, str, list]:
    """(the query the reference answers, failure expected?, why, expected answers): DIMSE extended negotiation
    counts where the SCP accepted it (pynetdicom), never with findscu; QIDO-RS is relational."""
    if a.via == "qido":
        q = qido_query(q)
    accepted = r.accepted if a.via in ("pynetdicom", "qido") else {}
    opts = q.options(accepted_extended=accepted, unknown_matches=not a.unknown_never_matches)
    if a.literal_pn:
        opts.pn_insensitive = False
    if q.expect == "failure":
        return q, True, "", []
    try:
        return q, False, "", index.expect(q, opts)
    except R.QueryError as e:
        return q, True, str(e), []


def failed_as_expected(r: Result, a) -> bool:
    if a.via == "qido":
        return r.http is not None and 400 <= r.http <= 499 and not r.answers
    return r.final is not None and (0xA000 <= r.final <= 0xAFFF or 0xC000 <= r.final <= 0xCFFF) and not r.answers


def outcome(r: Result, a) -> str:
    return f"HTTP {r.http}" if a.via == "qido" else f"final {fmt_status(r.final)}"


def success_problems(r: Result, a) -> list[str]:
    """The statuses of a query that should have succeeded."""
    lines = []
    if a.via == "qido":
        if r.http not in (200, 204):
            lines.append(f"HTTP {r.http}, expected 200 (or 204): {r.log[:300]}")
        for w in r.warnings:  # an ignored parameter or a cut-short answer: the QIDO-RS FF01
            lines.append(f"Warning header: {w}")
        return lines
    if r.final != 0x0000:
        lines.append(f"final status {fmt_status(r.final)}, expected Success 0x0000")
    bad_pending = [s for s in r.pending if s != 0xFF00]
    if bad_pending:
        lines.append(f"pending statuses {sorted({hex(s) for s in bad_pending})} (FF01: an optional key unsupported)")
    return lines


def compare(q: R.Query, index: R.Index, r: Result, a) -> tuple[str, list[str], dict]:
    """('PASS'|'FAIL', lines, report): the client's statuses, then its answers against the reference's."""
    report = {"name": q.name, "pending": [hex(s) for s in r.pending], "final": None if r.final is None else hex(r.final),
              "answers": len(r.answers)}
    if a.via == "qido":
        report |= {"url": r.url, "http": r.http, "warnings": r.warnings}
    if r.error:
        return "FAIL", [r.error], report
    q, expect_failure, reason, expected = expectation(q, index, r, a)
    report["expected"] = "failure" if expect_failure else len(expected)
    if expect_failure:
        ok = failed_as_expected(r, a)
        lines = []
        if not ok:
            lines.append(f"expected a failure ({reason or q.why}); got {outcome(r, a)} after {len(r.answers)} answers")
            for i, ds in enumerate(r.answers[:5]):
                shown = ", ".join(f"{e.keyword}={e.value}" for e in ds if e.keyword != "SpecificCharacterSet")
                lines.append(f"  answer {i + 1}: {shown}")
        return ("PASS" if ok else "FAIL"), lines, report
    lines = success_problems(r, a) + check_answers(q, expected, r.answers, answer_rules(q, a), a, report)
    return ("PASS" if not lines else "FAIL"), lines, report


def check_answers(q: R.Query, expected: list, answers: list, rules: AnswerRules, a, report: dict) -> list[str]:
    """The answers against the expected ones, whatever client brought them: every requested key present with
    the expected value, nothing beyond the allowed extras, the set of entities equal."""
    lines: list[str] = []
    keys = q.resolved_keys()
    requested = [k for k in keys if k not in R.NOT_KEYS]
    vr = {k: R.vr_of(k) for k in requested}

    def canon_answer(values: dict) -> dict:
        return {k: R.canonical(k, vr[k], values.get(k)) for k in requested}

    exp = [(x.identity, canon_answer(x.values)) for x in expected]
    pn_fold_returns = a.pn_return_insensitive or q.pn_return_insensitive
    got = []
    for i, ds in enumerate(answers):
        problems: list[str] = []
        where = f"answer {i + 1}"
        if ds is None:
            lines.append(f"{where}: a pending response without an identifier")
            continue
        values = answer_values(ds, problems, where)
        lines.extend(problems)
        if rules.echo_level:
            lvl = values.get("QueryRetrieveLevel")
            if lvl is None or [v.strip() for v in lvl] != [q.level]:
                lines.append(f"{where}: Query/Retrieve Level {fmt(tuple(lvl) if lvl else None)}, expected {q.level}")
        extra = sorted(k for k in values if k not in keys and k not in rules.extras)
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
    report["got_identities"] = sorted(show_id(i) for i, _ in got)
    report["expected_identities"] = sorted(show_id(i) for i, _ in exp)
    return collapse(lines)


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

def skip_reason(q: R.Query, a) -> str | None:
    if a.via == "qido":
        return qido_skip_reason(q)
    if q.extended and a.via == "findscu":
        wanted = ", ".join(k for k, v in q.extended.items() if v)
        return f"needs extended negotiation ({wanted}), pynetdicom only"
    return None


def run(q: R.Query, a) -> Result:
    try:
        return {"findscu": run_findscu, "pynetdicom": run_pynetdicom, "qido": run_qido}[a.via](q, a)
    except Exception as e:  # a client crash is this query's failure, not the run's
        r = Result()
        r.error = f"{type(e).__name__}: {e}"
        return r


def main() -> int:
    doc = __doc__ or ""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=doc.split("\n\n", 1)[1] if "\n\n" in doc else None)
    ap.add_argument("--host", help="the SCP's host (findscu, pynetdicom)")
    ap.add_argument("--port", type=int, help="the SCP's port (findscu, pynetdicom)")
    ap.add_argument("--aec", help="the SCP's AE title (findscu, pynetdicom)")
    ap.add_argument("--aet", default="CHECKFIND", help="our AE title")
    ap.add_argument("--base-url", help="the DICOMweb root for --via qido, e.g. http://127.0.0.1:8080/dicom-web")
    ap.add_argument("--page-size", type=int, default=0, help="qido: read the answers in pages (limit/offset)")
    ap.add_argument("--corpus", required=True, help="the folder the SCP was loaded from")
    ap.add_argument("--via", required=True, choices=["findscu", "pynetdicom", "qido"])
    ap.add_argument("--only", help="comma-separated names; a trailing * is a prefix")
    ap.add_argument("--queries", help="another queries.json")
    ap.add_argument("--json-report", help="write per-query results here")
    ap.add_argument("--literal-pn", action="store_true", help="expect case- and accent-sensitive PN matching")
    ap.add_argument("--unknown-never-matches", action="store_true", help="empty stored values fail non-universal keys")
    ap.add_argument("--pn-return-insensitive", action="store_true",
                    help="compare returned PN values case/accent-folded (for peers that normalise names)")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    if a.via == "qido":
        if not a.base_url:
            ap.error("--via qido needs --base-url")
        if a.literal_pn:
            ap.error("--literal-pn is a DIMSE-side setting: QIDO-RS person names match insensitive to case and accents")
        target = a.base_url
    else:
        if not (a.host and a.port and a.aec):
            ap.error(f"--via {a.via} needs --host, --port and --aec")
        target = f"{a.aec}@{a.host}:{a.port}"
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
        why_skip = skip_reason(q, a)
        if why_skip:
            counts["SKIP"] += 1
            print(f"SKIP {q.name}: {why_skip}")
            reports.append({"name": q.name, "verdict": "SKIP", "reason": why_skip})
            continue
        r = run(q, a)
        verdict, lines, report = compare(q, index, r, a)
        counts[verdict] += 1
        report["verdict"] = verdict
        report["diff"] = lines
        reports.append(report)
        print(f"{verdict} {q.name}  ({len(r.answers)} answers, {outcome(r, a)})")
        if verdict == "FAIL":
            print(f"     why: {q.why}")
            if r.url:
                print(f"     GET {r.url}")
            for line in lines[:40]:
                print("     " + line)
            if len(lines) > 40:
                print(f"     ... {len(lines) - 40} more")
        elif a.verbose:
            if r.url:
                print(f"     GET {r.url}")
            for ident in report.get("got_identities", []):
                print("     " + ident)
    print(f"\n{counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped ({a.via} -> {target})")
    if a.json_report:
        with open(a.json_report, "w", encoding="utf-8") as f:
            json.dump({"via": a.via, "aec": a.aec, "target": target, "counts": counts, "queries": reports}, f, ensure_ascii=False, indent=1)
    return 0 if counts["FAIL"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
