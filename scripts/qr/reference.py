#!/usr/bin/env python3
"""reference.py: the C-FIND oracle. Given a folder of DICOM files and a query, computes from the files alone
(pydicom, no archive involved) which entities match and what each answer must hold, following PS3.4 C.2.2.

Library: `Index(folder)`, `Query.from_json(dict)` / `Query(...)`, `Index.expect(query) -> list[Answer]`.
CLI:
    reference.py CORPUS --model study --level STUDY -k PatientName='K*' -k StudyInstanceUID= [--json]
    reference.py CORPUS --query NAME          (a named query of queries.json beside this file)
    reference.py CORPUS --consistency         (check the corpus holds one value per entity and attribute)
Keys: -k Keyword=value (value may be empty: a return key); sequences as DCMTK writes them,
-k 'ProcedureCodeSequence[0].CodeValue=CTCHEST'; `uid:S07`, `uid:S07.2`, `uid:S07.2.3` name the corpus'
study 7, its series 2, its instance 3 (make-corpus.py numbers them).

What is implemented, rule by rule (PS3.4 2024 editions; section numbers are PS3.4's):
- Universal matching (C.2.2.2.3): a zero-length key matches every entity, also one where the attribute is
  absent. A key of exactly "*" on a wildcard VR is the same (C.2.2.2.4: "equivalent to Universal Matching").
- Unknown values (C.2.2.1.2, C.2.2.1.3): "If a C-FIND SCP manages an entity with a Required Key of zero
  length, the value is considered unknown and all matching against the zero length Required Key shall be
  considered a successful match", and an Optional Key the SCP matches on "shall be processed in the same
  manner as a Required Key". So an entity whose attribute is empty *or absent* matches any non-universal
  key on it. This is the standard's rule, not what most archives do (the Worklist model, K.2.2.1.1.1, says
  the opposite; Orthanc and dcm4chee do that). `Options.unknown_matches=False` (CLI --unknown-never-matches)
  gives the Worklist reading instead; the default is the Q/R text.
- Single value matching (C.2.2.2.1): exact, case-sensitive, for every VR except PN; trailing spaces (and,
  for AE CS DS IS LO SH, leading spaces) are padding. IS, DS, US, UL, SS, SL, FL, FD compare as numbers.
  PN with `pn_insensitive` (default on): both sides folded by NFKD, dropping combining marks (Unicode
  category Mn/Mc/Me), casefold. Note the fold also drops the Japanese (han)dakuten (だ -> た), as any NFKD
  accent fold does. PN trailing empty components and groups are insignificant ("Smith^John^^" = "Smith^John").
- PN component groups (implementation choice, C.2.2.2.4 leaves it to the SCP): a key without "=" matches
  if it matches ANY non-empty group of the stored value (alphabetic, ideographic or phonetic), so `山田*`
  and `Yamada*` both find "Yamada^Tarou=山田^太郎=やまだ^たろう". A key with "=" is matched group by group;
  an empty key group (or "*") matches anything, a non-empty key group needs the stored group to match.
- Wildcard matching (C.2.2.2.4): only on AE CS LO LT PN SH ST UC UR UT; `*` any run of characters, `?` one
  character (a character, not a byte: one kanji is one `?`); the pattern must match the WHOLE value. On every
  other VR (DA TM DT UI IS AS ...) `*` and `?` are literal characters.
- Range matching (C.2.2.2.5) on DA, TM, DT: "a-b", "-b", "a-", inclusive. A key value with less precision
  than full is an interval: as a lower bound it starts at its first instant ("10" = 10:00:00.000000), as an
  upper bound it ends at its last ("10" = 10:59:59.999999; DT "2024" = the whole year). A single DA/TM/DT
  value is the range "v-v". A stored value is the instant it starts at (stored TM "1015" = 10:15:00).
  DT offsets (&ZZXX) are applied; a DT without an offset is taken as UTC+0000 (no Timezone Offset From UTC
  is used). TM ranges crossing midnight ("2300-0100") are "not supported" by the standard: QueryError.
- Combined date-time matching (Options.combined_datetime, only when negotiated): a DA key and its TM partner
  (StudyDate/StudyTime, SeriesDate/SeriesTime, ContentDate/ContentTime, AcquisitionDate/AcquisitionTime)
  both non-empty and of the same form are one DT range from date1+time1 to date2+time2; an empty stored time
  counts as the whole day. Mixed forms fall back to independent matching.
- List of UID matching (C.2.2.2.2): a UI key with backslashes matches any UID of the list.
- Multiple values on other VRs: only with Options.multiple_value (negotiated Multiple Value Matching,
  C.2.2.2.8: every key value must match some stored value, no wildcards). Without it PS3.4 says the meaning
  is undefined, so the reference raises QueryError rather than guess.
- Multi-valued stored attributes (C.2.2.3): the entity matches if any of its values matches, and all values
  are returned (ImageType "LOCALIZER" finds ORIGINAL\\PRIMARY\\LOCALIZER).
- Sequence matching (C.2.2.2.6): the key holds one item; the entity matches if at least one stored item
  matches ALL item keys (each with the rules above, recursively); only the matching items are returned,
  holding only the requested item attributes. A key with no items, an empty item, or an item whose keys are
  all universal is universal: every entity matches; with no item keys the whole items are returned, else
  every item with only the requested attributes. A stored sequence that is absent or has no items is an
  unknown value (see above).
- Levels and models: Patient Root PATIENT/STUDY/SERIES/IMAGE, Study Root STUDY/SERIES/IMAGE (patient
  attributes are STUDY-level keys there). Attributes not in the level tables below are IMAGE-level.
  Hierarchical (no relational negotiation): a key below the query level, or a non-unique key above it, is a
  QueryError; every level above needs its unique key with one value (no wildcard, no list). Issuer of Patient
  ID is accepted above PATIENT beside Patient ID, as the qualifier of that unique key (a choice: two patients
  here share a Patient ID). Options.relational lifts the above-level rules.
- Patient identity is (Patient ID, Issuer of Patient ID): SHARED-1/HOSP-A and SHARED-1/HOSP-B are two
  patients (an archive that merges them on Patient ID alone fails the queries that tell them apart).
- Computed attributes: Number of Patient Related Studies/Series/Instances, Number of Study Related
  Series/Instances, Number of Series Related Instances, Modalities in Study, SOP Classes in Study (as sets:
  their order is not significant, and they match by any value).
- Returned values: every requested key is in every answer, with the entity's value or empty (Type 2
  semantics for all keys: a key the entity lacks comes back zero-length, never omitted). The level's
  Query/Retrieve Level is echoed. Values are compared after `canonical()` (padding, PN trailing separators,
  numbers as numbers, multi-valued computed attributes as sets).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
import unicodedata
from dataclasses import dataclass, field

import pydicom
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS_ROOT = "1.2.826.0.1.3680043.10.1432.9.0.7"  # make-corpus.py's ROOT

PATIENT, STUDY, SERIES, IMAGE = "PATIENT", "STUDY", "SERIES", "IMAGE"
MODELS = {"patient": [PATIENT, STUDY, SERIES, IMAGE], "study": [STUDY, SERIES, IMAGE]}
UNIQUE = {PATIENT: "PatientID", STUDY: "StudyInstanceUID", SERIES: "SeriesInstanceUID", IMAGE: "SOPInstanceUID"}

# PS3.4 C.6.1.1 (patient root) level tables plus the IOD attributes of each level's modules that archives
# are asked for; anything else is IMAGE-level.
LEVEL_ATTRS = {
    PATIENT: """PatientName PatientID IssuerOfPatientID IssuerOfPatientIDQualifiersSequence OtherPatientIDsSequence
        OtherPatientNames PatientBirthDate PatientBirthTime PatientSex PatientBirthName EthnicGroup PatientComments
        PatientMotherBirthName ResponsiblePerson PatientSpeciesDescription PatientBreedDescription
        NumberOfPatientRelatedStudies NumberOfPatientRelatedSeries NumberOfPatientRelatedInstances""",
    STUDY: """StudyDate StudyTime AccessionNumber IssuerOfAccessionNumberSequence StudyID StudyInstanceUID
        ReferringPhysicianName StudyDescription ProcedureCodeSequence NameOfPhysiciansReadingStudy
        AdmittingDiagnosesDescription PatientAge PatientSize PatientWeight Occupation AdditionalPatientHistory
        OtherStudyNumbers ReasonForTheRequestedProcedure StudyStatusID ConsultingPhysicianName
        NumberOfStudyRelatedSeries NumberOfStudyRelatedInstances ModalitiesInStudy SOPClassesInStudy""",
    SERIES: """Modality SeriesNumber SeriesInstanceUID SeriesDescription BodyPartExamined Laterality SeriesDate
        SeriesTime PerformedProcedureStepStartDate PerformedProcedureStepStartTime PerformedProcedureStepID
        RequestAttributesSequence InstitutionName InstitutionAddress InstitutionalDepartmentName StationName
        Manufacturer ManufacturerModelName DeviceSerialNumber SoftwareVersions OperatorsName
        PerformingPhysicianName ProtocolName FrameOfReferenceUID NumberOfSeriesRelatedInstances""",
}
LEVEL_OF = {kw: lvl for lvl, words in LEVEL_ATTRS.items() for kw in words.split()}

COMPUTED = {"NumberOfPatientRelatedStudies", "NumberOfPatientRelatedSeries", "NumberOfPatientRelatedInstances",
            "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances", "NumberOfSeriesRelatedInstances",
            "ModalitiesInStudy", "SOPClassesInStudy"}
UNORDERED = {"ModalitiesInStudy", "SOPClassesInStudy"}

WILDCARD_VRS = {"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UR", "UT"}
LEADING_PAD_VRS = {"AE", "CS", "DS", "IS", "LO", "SH"}
NUMERIC_VRS = {"IS", "DS", "US", "UL", "SS", "SL", "FL", "FD", "UV", "SV"}
DATE_PARTNER = {"StudyDate": "StudyTime", "SeriesDate": "SeriesTime", "ContentDate": "ContentTime",
                "AcquisitionDate": "AcquisitionTime", "PatientBirthDate": "PatientBirthTime",
                "PerformedProcedureStepStartDate": "PerformedProcedureStepStartTime"}
# Elements an answer may carry beyond the requested keys (PS3.4 C.4.1.1.3.2).
ANSWER_EXTRAS = {"SpecificCharacterSet", "QueryRetrieveLevel", "RetrieveAETitle", "InstanceAvailability",
                 "TimezoneOffsetFromUTC", "StorageMediaFileSetID", "StorageMediaFileSetUID"}
NOT_KEYS = {"SpecificCharacterSet", "QueryRetrieveLevel", "TimezoneOffsetFromUTC"}


class QueryError(Exception):
    """The identifier is one an SCP must refuse (a failure status), or whose meaning PS3.4 leaves undefined."""


@dataclass
class Options:
    pn_insensitive: bool = True
    combined_datetime: bool = False
    relational: bool = False
    multiple_value: bool = False
    unknown_matches: bool = True


@dataclass
class Query:
    name: str
    model: str
    level: str
    keys: dict
    charset: str | None = None
    extended: dict = field(default_factory=dict)
    expect: str = "answers"
    pn_insensitive: bool = True
    pn_return_insensitive: bool = False  # compare returned PN values folded (queries.json "pn_return": "insensitive")
    why: str = ""

    @staticmethod
    def from_json(d: dict) -> "Query":
        return Query(name=d["name"], model=d["model"], level=d["level"], keys=d["keys"], charset=d.get("charset"),
                     extended=d.get("extended", {}), expect=d.get("expect", "answers"),
                     pn_insensitive=d.get("pn_insensitive", True),
                     pn_return_insensitive=d.get("pn_return") == "insensitive", why=d.get("why", ""))

    def options(self, accepted_extended: dict | None = None, unknown_matches: bool = True) -> Options:
        """The matching rules in force: extended negotiation only counts where the SCP accepted it."""
        ext = self.extended if accepted_extended is None else accepted_extended
        return Options(pn_insensitive=self.pn_insensitive, combined_datetime=bool(ext.get("datetime")),
                       relational=bool(ext.get("relational")), unknown_matches=unknown_matches)

    def resolved_keys(self) -> dict:
        return {kw: expand_aliases(kw, v) for kw, v in self.keys.items()}


def load_queries(path: str | None = None) -> list[Query]:
    with open(path or os.path.join(HERE, "queries.json"), encoding="utf-8") as f:
        return [Query.from_json(d) for d in json.load(f)["queries"]]


# ---------------------------------------------------------------------------------------------- values

def vr_of(keyword: str) -> str:
    if keyword in ("NumberOfPatientRelatedStudies", "NumberOfPatientRelatedSeries", "NumberOfPatientRelatedInstances",
                   "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances", "NumberOfSeriesRelatedInstances"):
        return "IS"
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise QueryError(f"unknown keyword {keyword}")
    return dictionary_VR(tag)


def expand_aliases(keyword: str, value):
    """`uid:S07.2` -> the corpus UID (study 7, series 2), in UI keys and inside sequence items."""
    if isinstance(value, list):
        return [{k: expand_aliases(k, v) for k, v in item.items()} for item in value]
    if vr_of(keyword) != "UI" or "uid:" not in value:
        return value
    out = []
    for part in value.split("\\"):
        m = re.fullmatch(r"uid:S(\d+)((?:\.\d+){0,2})", part)
        out.append(f"{CORPUS_ROOT}.{int(m.group(1))}{m.group(2)}" if m else part)
    return "\\".join(out)


def stored(ds: Dataset, keyword: str):
    """The stored value: None if absent, [] if empty, else a list of strings (or of Datasets for SQ)."""
    if keyword not in ds:
        return None
    elem = ds[keyword]
    v = elem.value
    if elem.VR == "SQ":
        return list(v) if v else []
    if v is None or str(v) == "" or (isinstance(v, (list, MultiValue)) and len(v) == 0):
        return []
    if isinstance(v, (list, MultiValue)):
        return [str(x) if x is not None else "" for x in v]
    if isinstance(v, bytes):
        return [v.decode("ascii", "replace")]
    return [str(v)]


def strip_pad(vr: str, s: str) -> str:
    s = s.rstrip(" \x00") if vr == "UI" else s.rstrip(" ")
    return s.lstrip(" ") if vr in LEADING_PAD_VRS else s


def pn_fold(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c)).casefold()


def pn_norm_group(g: str) -> str:
    return g.rstrip(" ").rstrip("^").rstrip(" ")


def pn_groups(s: str) -> list[str]:
    groups = [pn_norm_group(g) for g in s.split("=")]
    while len(groups) > 1 and groups[-1] == "":
        groups.pop()
    return groups


def canonical(keyword: str, vr: str, values):
    """A comparable form of a value (stored, expected or answered): what the comparison ignores is padding,
    PN trailing separators, number formatting and the order of multi-valued computed attributes."""
    if values is None:
        return None
    if vr == "SQ":
        items = [item_values(it, None) if isinstance(it, Dataset) else it for it in values]
        return tuple(tuple(sorted((k, canonical(k, vr_of_item(k), v)) for k, v in item.items())) for item in items)
    out = []
    for v in values:
        v = strip_pad(vr, str(v))
        if vr == "PN":
            v = "=".join(pn_groups(v))
        elif vr in NUMERIC_VRS and v != "":
            try:
                v = repr(float(v)) if vr in ("DS", "FL", "FD") else str(int(float(v)))
            except ValueError:
                pass
        out.append(v)
    while out and out[-1] == "" and len(out) == 1:
        out.pop()
    return tuple(sorted(out)) if keyword in UNORDERED else tuple(out)


def vr_of_item(keyword: str) -> str:
    try:
        return vr_of(keyword)
    except QueryError:
        return "UN"


# ------------------------------------------------------------------------------------ date, time ranges

_TM = re.compile(r"(\d\d)(\d\d)?(\d\d)?(?:\.(\d{1,6}))?")
_DA = re.compile(r"(\d{4})(\d\d)(\d\d)")
_DT = re.compile(r"(\d{4})(\d\d)?(\d\d)?(\d\d)?(\d\d)?(\d\d)?(?:\.(\d{1,6}))?([+-]\d{4})?")
DAY_US = 86_400_000_000


def tm_bounds(s: str) -> tuple[int, int]:
    """(first, last) microsecond of the day a TM value covers."""
    m = _TM.fullmatch(s.strip().replace(":", ""))
    if not m:
        raise QueryError(f"bad TM value {s!r}")
    hh, mm, ss, frac = m.groups()
    h, mi, se = int(hh), int(mm or 0), int(ss or 0)
    if h > 23 or mi > 59 or se > 60:
        raise QueryError(f"bad TM value {s!r}")
    base = ((h * 60 + mi) * 60 + se) * 1_000_000
    if frac is not None:
        lo = base + int(frac.ljust(6, "0"))
        return lo, base + int(frac.ljust(6, "9"))
    span = 3_600_000_000 if mm is None else 60_000_000 if ss is None else 1_000_000
    return base, base + span - 1


def da_bounds(s: str) -> tuple[int, int]:
    m = _DA.fullmatch(s.strip())
    if not m:
        raise QueryError(f"bad DA value {s!r}")
    try:
        d = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))).toordinal()
    except ValueError:
        raise QueryError(f"bad DA value {s!r}")
    return d, d


def dt_bounds(s: str) -> tuple[int, int]:
    """(first, last) microsecond (since 0001-01-01 UTC) a DT value covers; no offset = +0000."""
    m = _DT.fullmatch(s.strip())
    if not m:
        raise QueryError(f"bad DT value {s!r}")
    y, mo, d, h, mi, se, frac, off = m.groups()
    try:
        lo = dt.datetime(int(y), int(mo or 1), int(d or 1), int(h or 0), int(mi or 0), int(se or 0))
    except ValueError:
        raise QueryError(f"bad DT value {s!r}")
    if mo is None:
        hi = dt.datetime(int(y) + 1, 1, 1) if int(y) < 9999 else dt.datetime.max
    elif d is None:
        hi = dt.datetime(int(y) + (int(mo) == 12), int(mo) % 12 + 1, 1)
    elif h is None:
        hi = lo + dt.timedelta(days=1)
    elif mi is None:
        hi = lo + dt.timedelta(hours=1)
    elif se is None:
        hi = lo + dt.timedelta(minutes=1)
    else:
        hi = lo + dt.timedelta(seconds=1)
    us = lambda t: (t.toordinal() * DAY_US + ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond)
    lo_us, hi_us = us(lo), us(hi) - 1
    if frac is not None:
        lo_us += int(frac.ljust(6, "0"))
        hi_us = us(lo) + int(frac.ljust(6, "9"))
    if off:
        shift = (int(off[1:3]) * 60 + int(off[3:5])) * 60_000_000 * (1 if off[0] == "+" else -1)
        lo_us, hi_us = lo_us - shift, hi_us - shift
    return lo_us, hi_us


BOUNDS = {"DA": da_bounds, "TM": tm_bounds, "DT": dt_bounds}


def split_range(vr: str, q: str) -> tuple[str | None, str | None, bool]:
    """(low, high, is_range). For DT a '-' may be a UTC offset sign: take the split whose sides both parse."""
    if "-" not in q:
        return q, q, False
    if vr != "DT":
        if q.count("-") != 1:
            raise QueryError(f"bad {vr} range {q!r}")
        a, b = q.split("-")
        return a or None, b or None, True
    candidates = []
    for i, c in enumerate(q):
        if c != "-":
            continue
        a, b = q[:i], q[i + 1:]
        try:
            la = dt_bounds(a)[0] if a else None
            hb = dt_bounds(b)[1] if b else None
        except QueryError:
            continue
        if la is not None and hb is not None and la > hb:
            continue
        candidates.append((a or None, b or None))
    if "-" in q and not candidates:
        try:  # a single DT with a negative offset
            dt_bounds(q)
            return q, q, False
        except QueryError:
            raise QueryError(f"bad DT range {q!r}")
    a, b = candidates[0]
    return a, b, True


def range_bounds(vr: str, q: str) -> tuple[int | None, int | None]:
    a, b, _ = split_range(vr, q)
    if a is None and b is None:
        raise QueryError(f"empty {vr} range {q!r}")
    lo = BOUNDS[vr](a)[0] if a else None
    hi = BOUNDS[vr](b)[1] if b else None
    if lo is not None and hi is not None and lo > hi:
        raise QueryError(f"{vr} range {q!r} runs backwards (crossing midnight is not supported, C.2.2.2.5)")
    return lo, hi


def in_range(vr: str, q: str, value: str) -> bool:
    lo, hi = range_bounds(vr, q)
    try:
        p = BOUNDS[vr](strip_pad(vr, value))[0]
    except QueryError:
        return False  # a malformed stored value matches no range
    return (lo is None or p >= lo) and (hi is None or p <= hi)


# ------------------------------------------------------------------------------------------- matching

def wildcard_regex(pattern: str) -> re.Pattern:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)


def text_match(vr: str, pattern: str, value: str) -> bool:
    if vr in WILDCARD_VRS and ("*" in pattern or "?" in pattern):
        return wildcard_regex(pattern).fullmatch(value) is not None
    return pattern == value


def pn_match(q: str, value: str, opts: Options) -> bool:
    fold = pn_fold if opts.pn_insensitive else (lambda s: s)
    qgroups = [g.rstrip(" ") for g in q.split("=")]
    sgroups = pn_groups(value)
    if len(qgroups) == 1:
        pat = qgroups[0]
        pat = pat if ("*" in pat or "?" in pat) else pn_norm_group(pat)
        return any(text_match("PN", fold(pat), fold(g)) for g in sgroups if g != "")
    for i, qg in enumerate(qgroups):
        if qg in ("", "*"):
            continue
        sg = sgroups[i] if i < len(sgroups) else ""
        qg = qg if ("*" in qg or "?" in qg) else pn_norm_group(qg)
        if sg == "" or not text_match("PN", fold(qg), fold(sg)):
            return False
    return True


def single_match(vr: str, q: str, value: str, opts: Options) -> bool:
    value = strip_pad(vr, value)
    if vr == "PN":
        return pn_match(q, value, opts)
    if vr in ("DA", "TM", "DT"):
        return in_range(vr, q, value)
    if vr in NUMERIC_VRS:
        try:
            return float(q) == float(value)
        except ValueError:
            return q == value
    return text_match(vr, q, value)


def is_universal_key(vr: str, q) -> bool:
    if vr == "SQ":
        return len(q) == 0 or all(is_universal_key(vr_of(k), v) for k, v in q[0].items())
    return q == "" or (vr in WILDCARD_VRS and q == "*")


def match_attr(keyword: str, vr: str, q, values, opts: Options) -> bool:
    """Does an entity whose attribute holds `values` (None absent, [] empty) match key value `q`?"""
    if vr == "SQ":
        return match_sequence(q, values, opts)
    q = strip_pad(vr, q) if vr != "PN" else q.rstrip(" ")
    if is_universal_key(vr, q):
        return True
    if not values or all(strip_pad(vr, v) == "" for v in values):
        return opts.unknown_matches
    if vr == "UI":
        uids = {u.strip(" \x00") for u in q.split("\\")}
        return any(strip_pad(vr, v) in uids for v in values)
    if "\\" in q:
        if not opts.multiple_value:
            raise QueryError(f"{keyword}: multiple values in a key are undefined without Multiple Value Matching "
                             f"(C.2.2.2.8 note 4)")
        parts = q.split("\\")
        if any("*" in p or "?" in p for p in parts):
            raise QueryError(f"{keyword}: wildcards are not allowed with Multiple Value Matching")
        return all(any(single_match(vr, p, v, opts) for v in values) for p in parts)
    return any(single_match(vr, q, v, opts) for v in values)


def item_keys(q: list) -> dict:
    return q[0] if q else {}


def matching_items(q: list, items, opts: Options) -> list:
    keys = item_keys(q)
    out = []
    for item in items or []:
        if all(match_attr(k, vr_of(k), v, stored(item, k), opts) for k, v in keys.items()):
            out.append(item)
    return out


def match_sequence(q: list, items, opts: Options) -> bool:
    if len(q) > 1:
        raise QueryError("a sequence key holds one item (C.2.2.2.6)")
    if is_universal_key("SQ", q):
        return True
    if not items:
        return opts.unknown_matches
    return bool(matching_items(q, items, opts))


def combined_pairs(keys: dict, opts: Options) -> dict:
    """Date keywords matched as one DT range with their time partner (combined date-time matching)."""
    pairs = {}
    if not opts.combined_datetime:
        return pairs
    for dkw, tkw in DATE_PARTNER.items():
        dq, tq = keys.get(dkw), keys.get(tkw)
        if not dq or not tq:
            continue
        da, db, dr = split_range("DA", dq)
        ta, tb, tr = split_range("TM", tq)
        if dr != tr or (da is None) != (ta is None) or (db is None) != (tb is None):
            continue  # different forms: matched independently
        pairs[dkw] = tkw
    return pairs


def match_combined(dq: str, tq: str, dvals, tvals, opts: Options) -> bool:
    da, db, _ = split_range("DA", dq)
    ta, tb, _ = split_range("TM", tq)
    lo = da_bounds(da)[0] * DAY_US + tm_bounds(ta)[0] if da else None
    hi = da_bounds(db)[1] * DAY_US + tm_bounds(tb)[1] if db else None
    if not dvals or strip_pad("DA", dvals[0]) == "":
        return opts.unknown_matches
    try:
        day = da_bounds(strip_pad("DA", dvals[0]))[0] * DAY_US
    except QueryError:
        return False
    t = strip_pad("TM", tvals[0]) if tvals else ""
    if t == "":
        first, last = day, day + DAY_US - 1  # unknown time: any instant of the day
    else:
        try:
            first = last = day + tm_bounds(t)[0]
        except QueryError:
            return False
    return (lo is None or last >= lo) and (hi is None or first <= hi)


# ---------------------------------------------------------------------------------------------- index

@dataclass
class Entity:
    level: str
    key: tuple
    instances: list  # SOP Instance UIDs, sorted
    parent: tuple | None = None


@dataclass
class Answer:
    identity: tuple
    values: dict  # keyword -> list[str] | list[dict] (SQ items as keyword -> values)


class Index:
    """Every instance of a folder, grouped into patients, studies, series (read once, pixel data skipped)."""

    def __init__(self, folder: str):
        self.ds = {}
        for root, _, files in os.walk(folder):
            for name in sorted(files):
                try:
                    d = pydicom.dcmread(os.path.join(root, name), stop_before_pixels=True)
                except Exception:
                    continue
                if "SOPInstanceUID" in d:
                    self.ds[str(d.SOPInstanceUID)] = d
        self.entities = {PATIENT: {}, STUDY: {}, SERIES: {}, IMAGE: {}}
        for uid in sorted(self.ds):
            d = self.ds[uid]
            pkey = (str(d.get("PatientID", "")), str(d.get("IssuerOfPatientID", "") or ""))
            chain = [(PATIENT, pkey, None), (STUDY, (str(d.StudyInstanceUID),), pkey),
                     (SERIES, (str(d.SeriesInstanceUID),), (str(d.StudyInstanceUID),)), (IMAGE, (uid,), (str(d.SeriesInstanceUID),))]
            for level, key, parent in chain:
                e = self.entities[level].setdefault(key, Entity(level, key, [], parent))
                e.instances.append(uid)

    def representative(self, e: Entity) -> Dataset:
        return self.ds[e.instances[0]]

    def computed(self, e: Entity, keyword: str) -> list[str]:
        insts = [self.ds[u] for u in e.instances]
        if keyword.endswith("RelatedInstances"):
            return [str(len(insts))]
        if keyword.endswith("RelatedSeries"):
            return [str(len({str(d.SeriesInstanceUID) for d in insts}))]
        if keyword == "NumberOfPatientRelatedStudies":
            return [str(len({str(d.StudyInstanceUID) for d in insts}))]
        if keyword == "ModalitiesInStudy":
            return sorted({str(d.Modality) for d in insts if d.get("Modality")})
        if keyword == "SOPClassesInStudy":
            return sorted({str(d.SOPClassUID) for d in insts})
        raise QueryError(keyword)

    def computed_entity(self, e: Entity, keyword: str) -> Entity:
        """The entity a computed attribute counts over (a study's for Modalities in Study at SERIES level...)."""
        want = PATIENT if "Patient" in keyword else STUDY if "Study" in keyword else SERIES
        d = self.representative(e)
        key = {PATIENT: (str(d.get("PatientID", "")), str(d.get("IssuerOfPatientID", "") or "")),
               STUDY: (str(d.StudyInstanceUID),), SERIES: (str(d.SeriesInstanceUID),)}[want]
        return self.entities[want][key]

    def value(self, e: Entity, keyword: str):
        if keyword in COMPUTED:
            return self.computed(self.computed_entity(e, keyword), keyword)
        return stored(self.representative(e), keyword)

    def consistency(self) -> list[str]:
        """Attributes whose value differs between the instances of one entity (the reference assumes none)."""
        problems = []
        for level in (PATIENT, STUDY, SERIES):
            for e in self.entities[level].values():
                for kw in LEVEL_ATTRS[level].split():
                    if kw in COMPUTED:
                        continue
                    vr = vr_of(kw)
                    seen = {canonical(kw, vr, stored(self.ds[u], kw)) for u in e.instances}
                    if len(seen) > 1:
                        problems.append(f"{level} {e.key}: {kw} has {len(seen)} values: {sorted(map(str, seen))}")
        return problems

    # ------------------------------------------------------------------ the query

    def check_levels(self, q: Query, keys: dict, opts: Options) -> None:
        if q.model not in MODELS:
            raise QueryError(f"unknown model {q.model}")
        levels = MODELS[q.model]
        if q.level not in levels:
            raise QueryError(f"level {q.level} is not in the {q.model} root model")
        li = levels.index(q.level)
        for kw, v in keys.items():
            if kw in NOT_KEYS:
                continue
            vr_of(kw)
            kl = level_in_model(kw, q.model)
            ki = levels.index(kl)
            if ki > li:
                raise QueryError(f"{kw} is a {kl} key, below the query level {q.level}")
            if ki < li and not opts.relational:
                if kw == UNIQUE[kl] or (kw == "IssuerOfPatientID" and kl == PATIENT):
                    if not isinstance(v, str) or v == "" or "\\" in v or "*" in v or "?" in v:
                        raise QueryError(f"{kw} above the query level needs a single value")
                else:
                    raise QueryError(f"{kw} is a non-unique {kl} key above the query level {q.level}")
        if not opts.relational:
            for above in levels[:li]:
                if UNIQUE[above] not in keys:
                    raise QueryError(f"the unique key {UNIQUE[above]} of level {above} is missing")

    def expect(self, q: Query, opts: Options | None = None) -> list[Answer]:
        opts = opts or q.options()
        keys = q.resolved_keys()
        self.check_levels(q, keys, opts)
        pairs = combined_pairs(keys, opts)
        partners = set(pairs.values())
        answers = []
        for e in self.entities[q.level].values():
            ok = True
            for kw, kv in keys.items():
                if kw in NOT_KEYS or kw in partners:
                    continue
                if kw in pairs:
                    ok = match_combined(kv, keys[pairs[kw]], self.value(e, kw), self.value(e, pairs[kw]), opts)
                else:
                    ok = match_attr(kw, vr_of(kw), kv, self.value(e, kw), opts)
                if not ok:
                    break
            if ok:
                answers.append(self.answer(q, e, keys, opts))
        return answers

    def answer(self, q: Query, e: Entity, keys: dict, opts: Options) -> Answer:
        values = {"QueryRetrieveLevel": [q.level]}
        for kw, kv in keys.items():
            if kw in NOT_KEYS:
                continue
            v = self.value(e, kw)
            if vr_of(kw) == "SQ":
                values[kw] = returned_items(kv, v, opts)
            else:
                values[kw] = v if v is not None else []
        ident = identity(q.level, values)
        return Answer(ident, values)


def level_in_model(keyword: str, model: str) -> str:
    lvl = LEVEL_OF.get(keyword, IMAGE)
    return STUDY if (model == "study" and lvl == PATIENT) else lvl


def identity(level: str, values: dict) -> tuple:
    """What pairs an answer with an expected one: the level's unique key (and the issuer at PATIENT level)."""
    ident = [level, canonical(UNIQUE[level], vr_of(UNIQUE[level]), values.get(UNIQUE[level]))]
    if level == PATIENT and "IssuerOfPatientID" in values:
        ident.append(canonical("IssuerOfPatientID", "LO", values["IssuerOfPatientID"]))
    return tuple(ident)


def item_values(item: Dataset, keys: dict | None, opts: Options | None = None) -> dict:
    if keys is None:  # the whole item, nested sequences as lists of dicts
        out = {}
        for elem in item:
            if not elem.keyword:
                continue
            v = stored(item, elem.keyword) or []
            out[elem.keyword] = [item_values(x, None) for x in v] if elem.VR == "SQ" else v
        return out
    return {k: (returned_items(v, stored(item, k), opts or Options()) if vr_of(k) == "SQ" else (stored(item, k) or []))
            for k, v in keys.items()}


def returned_items(q: list, items, opts: Options) -> list:
    """The items an answer carries for a sequence key (C.2.2.2.6)."""
    if not items:
        return []
    keys = item_keys(q)
    if not keys:
        return [item_values(it, None) for it in items]
    if is_universal_key("SQ", q):
        return [item_values(it, keys, opts) for it in items]
    return [item_values(it, keys, opts) for it in matching_items(q, items, opts)]


# ------------------------------------------------------------------------------------------------ CLI

def parse_k(args: list[str]) -> dict:
    keys: dict = {}
    for a in args:
        kw, _, v = a.partition("=")
        m = re.fullmatch(r"(\w+)\[0\]\.(\w+)", kw)
        if m:
            keys.setdefault(m.group(1), [{}])[0][m.group(2)] = v
        elif re.fullmatch(r"(\w+)\[0\]", kw):
            keys.setdefault(kw[:-3], [{}])
        elif vr_of(kw) == "SQ":
            keys.setdefault(kw, [])
        else:
            keys[kw] = v
    return keys


def show(v) -> str:
    if v and isinstance(v[0], dict):
        return json.dumps(v, ensure_ascii=False)
    return "\\".join(map(str, v))


def to_jsonable(a: Answer) -> dict:
    return {"identity": list(map(str, a.identity)), "values": a.values}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus")
    ap.add_argument("--model", choices=sorted(MODELS), default="study")
    ap.add_argument("--level", default="STUDY")
    ap.add_argument("-k", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--query", help="a named query of queries.json")
    ap.add_argument("--literal-pn", action="store_true", help="case- and accent-sensitive PN matching")
    ap.add_argument("--combined-datetime", action="store_true")
    ap.add_argument("--relational", action="store_true")
    ap.add_argument("--unknown-never-matches", action="store_true",
                    help="empty/absent stored values fail non-universal keys (NOT PS3.4 C.2.2.1.2)")
    ap.add_argument("--consistency", action="store_true")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    index = Index(a.corpus)
    if a.consistency:
        problems = index.consistency()
        print("\n".join(problems) or f"consistent: {len(index.ds)} instances")
        return 1 if problems else 0
    if a.query:
        q = next((x for x in load_queries() if x.name == a.query), None)
        if q is None:
            sys.exit(f"no query named {a.query}")
        opts = q.options(unknown_matches=not a.unknown_never_matches)
    else:
        q = Query("cli", a.model, a.level.upper(), parse_k(a.k), pn_insensitive=not a.literal_pn,
                  extended={"relational": a.relational, "datetime": a.combined_datetime})
        opts = q.options(unknown_matches=not a.unknown_never_matches)
    try:
        answers = index.expect(q, opts)
    except QueryError as e:
        print(f"failure expected: {e}")
        return 2
    if a.json:
        print(json.dumps([to_jsonable(x) for x in answers], ensure_ascii=False, indent=1))
    else:
        for x in sorted(answers, key=lambda x: str(x.identity)):
            print("  ".join(f"{k}={show(v)}" for k, v in x.values.items() if k != "QueryRetrieveLevel"))
        print(f"{len(answers)} answers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
