"""dicomweb-check.py BASE_URL FILE...: dicomweb-client (a client written elsewhere) against Arca's DICOMweb.

The FILES (one study, uncompressed CT slices) are stored first with STOW-RS through dicomweb-client, then:
search (QIDO-RS) at every level, retrieve (instances, series, metadata, frames, rendered, thumbnail) and check
that what comes back equals the files: the datasets value for value, the frames byte for byte. Then a second
STOW of the same instance is refused as a duplicate (FailedSOPSequence, reason 0x0111) and an instance without
Patient ID is refused by validation (nothing stored). Prints each check; exit status 0 only if all passed."""
import io
import sys

import numpy as np
import requests
from dicomweb_client.api import DICOMwebClient
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

base, files = sys.argv[1], sys.argv[2:]
client = DICOMwebClient(url=base)
failures = 0


def check(name, ok, detail=""):
    global failures
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else f": {detail}"))
    if not ok:
        failures += 1


def same(a: Dataset, b: Dataset) -> bool:
    """Every data element equal (file meta aside)."""
    a_tags = [e.tag for e in a if e.tag.group != 2]
    b_tags = [e.tag for e in b if e.tag.group != 2]
    return a_tags == b_tags and all(a[t].value == b[t].value for t in a_tags)


originals = [dcmread(f) for f in files]
study = originals[0].StudyInstanceUID
series = originals[0].SeriesInstanceUID

# STOW-RS
result = client.store_instances(datasets=originals)
refs = result.get("ReferencedSOPSequence", []) if hasattr(result, "get") else result.ReferencedSOPSequence
check("STOW-RS stores every instance", len(refs) == len(originals), f"{len(refs)} referenced")
check("STOW-RS answers no failure", "FailedSOPSequence" not in result, str(result))
# The parts' commits overlap; the answer still lists them in the order they were sent.
sent = [o.SOPInstanceUID for o in originals]
answered = [str(r.ReferencedSOPInstanceUID) if hasattr(r, "ReferencedSOPInstanceUID") else str(r.get("ReferencedSOPInstanceUID", "")) for r in refs]
check("STOW-RS references the instances in the order sent", answered == sent, f"{answered} vs {sent}")

# QIDO-RS
studies = client.search_for_studies(search_filters={"StudyInstanceUID": study})
check("QIDO-RS finds the study", len(studies) == 1, str(studies)[:200])
if studies:
    s = Dataset.from_json(studies[0])
    check("study answer has NumberOfStudyRelatedInstances", int(s.NumberOfStudyRelatedInstances) == len(originals))
    check("study answer has RetrieveURL", str(s.RetrieveURL).endswith(f"/studies/{study}"), str(s.get("RetrieveURL")))
name = str(originals[0].PatientName)
fuzzy = client.search_for_studies(search_filters={"PatientName": name.lower()[:3] + "*"})
check("QIDO-RS name search is case-insensitive", any(Dataset.from_json(x).StudyInstanceUID == study for x in fuzzy))
found_series = client.search_for_series(study_instance_uid=study)
check("QIDO-RS series of the study", [Dataset.from_json(x).SeriesInstanceUID for x in found_series] == [series])
instances = client.search_for_instances(study_instance_uid=study, series_instance_uid=series)
check("QIDO-RS instances of the series", len(instances) == len(originals))
limited = client.search_for_instances(study_instance_uid=study, limit=2, offset=1)
check("QIDO-RS limit and offset", len(limited) == 2)
included = client.search_for_studies(search_filters={"StudyInstanceUID": study}, fields=["StudyDescription", "00080020"])
check("QIDO-RS includefield", included and "00081030" in included[0] and "00080020" in included[0])

# WADO-RS
first = originals[0]
got = client.retrieve_instance(study, series, first.SOPInstanceUID)
check("WADO-RS instance equals the stored file", same(got, first))
series_back = client.retrieve_series(study, series)
check("WADO-RS series: every instance, each equal",
      len(series_back) == len(originals) and all(same(b, next(o for o in originals if o.SOPInstanceUID == b.SOPInstanceUID)) for b in series_back))
as_stored = client.retrieve_instance(study, series, first.SOPInstanceUID, media_types=(("application/dicom", "*"),))
check("WADO-RS transfer-syntax=* (as stored)", same(as_stored, first))
metadata = client.retrieve_series_metadata(study, series)
check("WADO-RS series metadata", len(metadata) == len(originals) and all("7FE00010" in m for m in metadata))
meta = Dataset.from_json(client.retrieve_instance_metadata(study, series, first.SOPInstanceUID), bulk_data_uri_handler=lambda *a: None)
check("WADO-RS instance metadata values", meta.PatientID == first.PatientID and int(meta.Rows) == first.Rows)
frames = client.retrieve_instance_frames(study, series, first.SOPInstanceUID, frame_numbers=[1])
check("WADO-RS frame 1 equals the pixel data", len(frames) == 1 and frames[0] == first.PixelData, f"{len(frames[0]) if frames else 0} bytes")
rendered = client.retrieve_instance_rendered(study, series, first.SOPInstanceUID, media_types=("image/jpeg",))
check("WADO-RS rendered is a JPEG", rendered[:2] == b"\xff\xd8", rendered[:4])
png = client.retrieve_instance_rendered(study, series, first.SOPInstanceUID, media_types=("image/png",), params={"viewport": "64,64"})
check("WADO-RS rendered PNG in a viewport", png[:4] == b"\x89PNG")
thumb = requests.get(f"{base}/studies/{study}/series/{series}/thumbnail")
check("WADO-RS series thumbnail", thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/jpeg")
uri = requests.get(f"{base.rsplit('/dicom-web', 1)[0]}/wado", params={"requestType": "WADO", "studyUID": study, "seriesUID": series,
                                                                       "objectUID": first.SOPInstanceUID, "contentType": "application/dicom"})
check("WADO-URI application/dicom", uri.status_code == 200 and same(dcmread(io.BytesIO(uri.content)), first))

# A duplicate and an invalid instance.
try:
    dup = client.store_instances(datasets=[first])
    failed = dup.get("FailedSOPSequence") if hasattr(dup, "get") else getattr(dup, "FailedSOPSequence", None)
    check("a duplicate is refused with 0x0111", failed is not None and int(Dataset.from_json(dup).FailedSOPSequence[0].FailureReason) == 0x0111, str(dup))
except requests.HTTPError as error:
    body = Dataset.from_json(error.response.json())
    check("a duplicate is refused with 0x0111 (409)", error.response.status_code == 409 and int(body.FailedSOPSequence[0].FailureReason) == 0x0111,
          error.response.text[:300])
# The same new instance twice in one request (the parts' commits overlap): stored once, the copy refused.
twin = dcmread(files[0])
twin.SOPInstanceUID = generate_uid()
twin.file_meta.MediaStorageSOPInstanceUID = twin.SOPInstanceUID
encoded = io.BytesIO()
twin.save_as(encoded)
body = b"".join(b"--twin\r\nContent-Type: application/dicom\r\n\r\n" + encoded.getvalue() + b"\r\n" for _ in range(2)) + b"--twin--\r\n"
r = requests.post(f"{base}/studies", data=body, headers={"Content-Type": 'multipart/related; type="application/dicom"; boundary=twin',
                                                         "Accept": "application/dicom+json"})
answer = Dataset.from_json(r.json()) if r.content else Dataset()
check("an instance sent twice in one request is stored once, the copy refused with 0x0111 (202)",
      r.status_code == 202 and len(answer.get("ReferencedSOPSequence", [])) == 1
      and [int(i.FailureReason) for i in answer.get("FailedSOPSequence", [])] == [0x0111], f"{r.status_code} {r.text[:300]}")
check("the instance sent twice is found once", len(client.search_for_instances(search_filters={"SOPInstanceUID": twin.SOPInstanceUID})) == 1)
bad = dcmread(files[0])
bad.SOPInstanceUID = generate_uid()
bad.file_meta.MediaStorageSOPInstanceUID = bad.SOPInstanceUID
del bad.PatientID
try:
    client.store_instances(datasets=[bad])
    check("an instance without Patient ID is refused", False, "stored")
except requests.HTTPError as error:
    check("an instance without Patient ID is refused", error.response.status_code == 409, error.response.text[:300])
check("the refused instance is not stored", client.search_for_instances(search_filters={"SOPInstanceUID": bad.SOPInstanceUID}) == [])

print(f"{failures} failed")
sys.exit(1 if failures else 0)
