// Arca's web page: study list, study page, image viewer and upload. It speaks only the standard DICOMweb API
// (PS3.18: QIDO-RS searches, WADO-RS metadata/rendered/thumbnail, STOW-RS), so the server does all decoding and
// windowing; this file draws what it gets. Plain ES module: no build step, no dependencies.

/** Where the DICOMweb services live: absolute path on the page's own origin. */
const DICOMWEB = "/dicom-web";

const PAGE_SIZES = [25, 50, 100];
// Rendered images are asked for with one media type each, never a list: some servers (Orthanc's DICOMweb
// plugin 1.7) answer 400 to any Accept with several types or q-values, which is also why images are fetched
// rather than put in <img src> (a browser's image Accept is such a list). The viewer asks for PNG because it
// is lossless (a JPEG of a windowed CT rings at bone edges) and falls back to JPEG if PNG is refused;
// thumbnails are JPEG, small.
const VIEWER_MEDIA_TYPES = ["image/png", "image/jpeg"];
const THUMBNAIL_MEDIA_TYPE = "image/jpeg";
// Decoded-image budget for prefetching (compressed blobs; a 512x512 rendered CT slice is 60-200 KB, so 256 MB
// holds a 500-slice series several times over).
const BLOB_BUDGET = 256 * 1024 * 1024;
const PREFETCH_CONCURRENCY = 2; // leaves the browser's other 4 HTTP/1.1 connections for display and metadata
const PREFETCH_RADIUS = 150; // images each side of the current one
// STOW-RS batches: small enough that progress moves and one refusal does not fail a whole folder, large enough
// that a 500-slice series is a handful of requests.
const STOW_BATCH_FILES = 50;
const STOW_BATCH_BYTES = 64 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------------------
// DICOM JSON model (PS3.18 Annex F)
// ---------------------------------------------------------------------------------------------------------

/** Tags the page reads, by keyword. */
const T = {
  TransferSyntaxUID: "00020010",
  SpecificCharacterSet: "00080005",
  ImageType: "00080008",
  SOPClassUID: "00080016",
  SOPInstanceUID: "00080018",
  StudyDate: "00080020",
  SeriesDate: "00080021",
  AcquisitionDate: "00080022",
  ContentDate: "00080023",
  StudyTime: "00080030",
  SeriesTime: "00080031",
  AcquisitionTime: "00080032",
  ContentTime: "00080033",
  AccessionNumber: "00080050",
  Modality: "00080060",
  ModalitiesInStudy: "00080061",
  Manufacturer: "00080070",
  InstitutionName: "00080080",
  ReferringPhysicianName: "00080090",
  StationName: "00081010",
  StudyDescription: "00081030",
  SeriesDescription: "0008103E",
  ManufacturerModelName: "00081090",
  FailedSOPSequence: "00081198",
  ReferencedSOPSequence: "00081199",
  ReferencedSOPClassUID: "00081150",
  ReferencedSOPInstanceUID: "00081155",
  RetrieveURL: "00081190",
  WarningReason: "00081196",
  FailureReason: "00081197",
  PatientName: "00100010",
  PatientID: "00100020",
  IssuerOfPatientID: "00100021",
  PatientBirthDate: "00100030",
  PatientSex: "00100040",
  PatientAge: "00101010",
  PatientWeight: "00101030",
  BodyPartExamined: "00180015",
  SliceThickness: "00180050",
  KVP: "00180060",
  RepetitionTime: "00180080",
  EchoTime: "00180081",
  MagneticFieldStrength: "00180087",
  SpacingBetweenSlices: "00180088",
  ProtocolName: "00181030",
  FrameTime: "00181063",
  XRayTubeCurrent: "00181151",
  Exposure: "00181152",
  ConvolutionKernel: "00181210",
  PatientPosition: "00185100",
  StudyInstanceUID: "0020000D",
  SeriesInstanceUID: "0020000E",
  StudyID: "00200010",
  SeriesNumber: "00200011",
  AcquisitionNumber: "00200012",
  InstanceNumber: "00200013",
  ImagePositionPatient: "00200032",
  ImageOrientationPatient: "00200037",
  FrameOfReferenceUID: "00200052",
  SliceLocation: "00201041",
  NumberOfStudyRelatedSeries: "00201206",
  NumberOfStudyRelatedInstances: "00201208",
  NumberOfSeriesRelatedInstances: "00201209",
  ImageComments: "00204000",
  SamplesPerPixel: "00280002",
  PhotometricInterpretation: "00280004",
  NumberOfFrames: "00280008",
  Rows: "00280010",
  Columns: "00280011",
  PixelSpacing: "00280030",
  BitsAllocated: "00280100",
  BitsStored: "00280101",
  HighBit: "00280102",
  PixelRepresentation: "00280103",
  WindowCenter: "00281050",
  WindowWidth: "00281051",
  RescaleIntercept: "00281052",
  RescaleSlope: "00281053",
  WindowCenterWidthExplanation: "00281055",
  LossyImageCompression: "00282110",
  PixelData: "7FE00010",
};
const KEYWORD = Object.fromEntries(Object.entries(T).map(([k, v]) => [v, k]));

const SOP_CLASS_NAMES = {
  "1.2.840.10008.5.1.4.1.1.1": "CR Image",
  "1.2.840.10008.5.1.4.1.1.1.1": "Digital X-Ray Image",
  "1.2.840.10008.5.1.4.1.1.1.2": "Digital Mammography Image",
  "1.2.840.10008.5.1.4.1.1.2": "CT Image",
  "1.2.840.10008.5.1.4.1.1.2.1": "Enhanced CT Image",
  "1.2.840.10008.5.1.4.1.1.3.1": "Ultrasound Multi-frame Image",
  "1.2.840.10008.5.1.4.1.1.4": "MR Image",
  "1.2.840.10008.5.1.4.1.1.4.1": "Enhanced MR Image",
  "1.2.840.10008.5.1.4.1.1.6.1": "Ultrasound Image",
  "1.2.840.10008.5.1.4.1.1.7": "Secondary Capture Image",
  "1.2.840.10008.5.1.4.1.1.7.2": "Multi-frame Grayscale Byte SC Image",
  "1.2.840.10008.5.1.4.1.1.7.3": "Multi-frame Grayscale Word SC Image",
  "1.2.840.10008.5.1.4.1.1.7.4": "Multi-frame True Color SC Image",
  "1.2.840.10008.5.1.4.1.1.12.1": "X-Ray Angiographic Image",
  "1.2.840.10008.5.1.4.1.1.20": "Nuclear Medicine Image",
  "1.2.840.10008.5.1.4.1.1.128": "PET Image",
  "1.2.840.10008.5.1.4.1.1.88.11": "Basic Text SR",
  "1.2.840.10008.5.1.4.1.1.88.22": "Enhanced SR",
  "1.2.840.10008.5.1.4.1.1.88.33": "Comprehensive SR",
  "1.2.840.10008.5.1.4.1.1.104.1": "Encapsulated PDF",
};

/** Modalities whose series hold no pixel data to render (reports, key objects, presentation states...). */
const NON_IMAGE_MODALITIES = new Set(["SR", "KO", "PR", "DOC", "REG", "RWV", "PLAN", "FID", "AU", "ECG", "HD", "RTPLAN", "RTRECORD"]);

function values(ds, tag) {
  const e = ds && ds[tag];
  return e && Array.isArray(e.Value) ? e.Value : [];
}
function first(ds, tag) {
  const v = values(ds, tag);
  return v.length ? v[0] : undefined;
}
/** A value as display text; PN values become "Family, Given Middle". */
function str(ds, tag) {
  const v = first(ds, tag);
  if (v == null) return "";
  if (typeof v === "object") return formatName(pnString(v));
  return String(v).trim();
}
function num(ds, tag) {
  return toNumber(first(ds, tag));
}
function nums(ds, tag) {
  return values(ds, tag).map(toNumber);
}
function toNumber(v) {
  // IS/DS are JSON numbers in the model, but some servers send them as strings.
  const n = typeof v === "number" ? v : typeof v === "string" ? parseFloat(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}
function pnString(v) {
  if (v == null) return "";
  if (typeof v === "string") return v;
  return v.Alphabetic || v.Ideographic || v.Phonetic || "";
}

// ---------------------------------------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------------------------------------

function formatName(raw) {
  if (!raw) return "";
  const [family = "", given = "", middle = "", prefix = "", suffix = ""] = raw.split("^").map((s) => s.trim());
  const rest = [prefix, given, middle].filter(Boolean).join(" ");
  let s = family && rest ? `${family}, ${rest}` : family || rest;
  if (suffix) s += `, ${suffix}`;
  return s;
}
function formatDate(da) {
  const s = String(da ?? "").trim();
  const m = /^(\d{4})[.-]?(\d{2})[.-]?(\d{2})/.exec(s);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : s;
}
function formatTime(tm) {
  const s = String(tm ?? "").replace(/:/g, "").trim();
  if (!/^\d{2}/.test(s)) return "";
  return `${s.slice(0, 2)}:${s.length >= 4 ? s.slice(2, 4) : "00"}`;
}
function formatDateTime(da, tm) {
  return [formatDate(da), formatTime(tm)].filter(Boolean).join(" ");
}
function parseDA(da) {
  const m = /^(\d{4})[.-]?(\d{2})[.-]?(\d{2})/.exec(String(da ?? ""));
  return m ? new Date(+m[1], +m[2] - 1, +m[3]) : null;
}
/** Age at a date, as DICOM writes ages (065Y, 018M, 003W). */
function formatAge(birth, at) {
  const b = parseDA(birth);
  const d = parseDA(at) ?? new Date();
  if (!b || d < b) return "";
  let months = (d.getFullYear() - b.getFullYear()) * 12 + (d.getMonth() - b.getMonth());
  if (d.getDate() < b.getDate()) months -= 1;
  if (months >= 24) return `${Math.floor(months / 12)}Y`;
  if (months >= 1) return `${months}M`;
  return `${Math.floor((d - b) / (7 * 86400000))}W`;
}
function formatSex(s) {
  return { M: "M", F: "F", O: "O" }[String(s).toUpperCase()] ?? "";
}
function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(0)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GB`;
}
function formatNumber(x, digits = 2) {
  if (x == null || !Number.isFinite(x)) return "";
  return String(Math.round(x * 10 ** digits) / 10 ** digits);
}
function plural(n, one, many = one + "s") {
  return `${n} ${n === 1 ? one : many}`;
}
function tagLabel(tag) {
  return `(${tag.slice(0, 4)},${tag.slice(4)})`;
}

// ---------------------------------------------------------------------------------------------------------
// DOM helpers
// ---------------------------------------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);

/** Creates an element. Text always goes through textContent: DICOM values are never parsed as HTML. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const ICONS = {
  document: '<path d="M7 3h7l5 5v13H7z"/><path d="M14 3v5h5M10 13h6M10 17h6"/>',
  image: '<rect x="3.5" y="4.5" width="17" height="15" rx="2"/><path d="m6 17 4.5-5 3.5 3.5 2-2 3 3.5"/><circle cx="15.5" cy="9" r="1.4"/>',
  stack: '<path d="M12 3 3 8l9 5 9-5z"/><path d="m3 12 9 5 9-5M3 16l9 5 9-5"/>',
};
/** An icon from the fixed set above (trusted markup, never data). */
function icon(name) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.innerHTML = ICONS[name];
  return svg;
}

function setCrumbs(items) {
  const nav = $("crumbs");
  nav.replaceChildren();
  items.forEach((it, i) => {
    if (i > 0) nav.append(h("span", { class: "sep", "aria-hidden": "true", text: "›" }));
    if (it.href && i < items.length - 1) nav.append(h("a", { href: it.href, text: it.label }));
    else nav.append(h("span", { class: "current", "aria-current": "page", text: it.label, title: it.label }));
  });
}

function showNotice(el, message, kind = "error") {
  el.textContent = message;
  el.classList.toggle("error", kind === "error");
  el.hidden = !message;
}

// ---------------------------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------------------------

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** What the server said in a JSON error: Hummingbird's `{"error":{"message":…}}`, or a top-level message. */
function serverMessage(j) {
  if (!j || typeof j !== "object") return "";
  if (j.error && typeof j.error === "object" && typeof j.error.message === "string") return j.error.message;
  for (const m of [j.Message, j.message, j.error]) if (typeof m === "string") return m;
  return "";
}

/** A readable error from a failed response: the status and the first line of what the server said. */
async function httpError(resp) {
  let detail = "";
  try {
    const text = (await resp.text()).trim();
    try {
      const j = JSON.parse(text);
      detail = serverMessage(j) || j.Details || "";
    } catch {
      detail = /^\s*</.test(text) ? "" : text;
    }
  } catch {
    // body unreadable: the status says enough
  }
  detail = String(detail).split("\n")[0].slice(0, 240);
  const head = `HTTP ${resp.status}${resp.statusText ? " " + resp.statusText : ""}`;
  return new HttpError(resp.status, detail ? `${head}: ${detail}` : head);
}

/** Query string from [key, value] pairs; keys may repeat (includefield). Spaces become %20, never "+". */
function queryString(pairs) {
  const parts = pairs.filter(([, v]) => v != null && v !== "").map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  return parts.length ? `?${parts.join("&")}` : "";
}

/** QIDO-RS search: the matches (an empty answer may be 204) and the server's Warning header, if any. */
async function qido(path, pairs = [], signal) {
  let resp;
  try {
    resp = await fetch(DICOMWEB + path + queryString(pairs), { headers: { Accept: "application/dicom+json" }, signal });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new HttpError(0, "The archive could not be reached.");
  }
  const warning = resp.headers.get("Warning");
  if (resp.status === 204) return { items: [], warning };
  if (!resp.ok) throw await httpError(resp);
  const text = await resp.text();
  let body;
  try {
    body = text ? JSON.parse(text) : [];
  } catch {
    throw new HttpError(resp.status, "The archive answered with something that is not DICOM JSON.");
  }
  return { items: Array.isArray(body) ? body : [], warning };
}

const studyPath = (s) => `/studies/${encodeURIComponent(s)}`;
const seriesPath = (s, r) => `${studyPath(s)}/series/${encodeURIComponent(r)}`;
const instancePath = (s, r, i) => `${seriesPath(s, r)}/instances/${encodeURIComponent(i)}`;

// Study-level attributes the list shows. Only StudyDescription is outside QIDO's default study keys
// (PS3.18 table 10.6.3-3); naming the others too costs nothing and helps servers that return fewer.
// Indexed attributes only: one the index does not hold (Institution Name, which the viewer takes from the
// metadata) made the server read a stored file for every row of every list page.
const STUDY_FIELDS = [T.StudyDescription, T.ModalitiesInStudy, T.NumberOfStudyRelatedSeries, T.NumberOfStudyRelatedInstances,
  T.PatientBirthDate, T.PatientSex, T.AccessionNumber, T.StudyTime, T.ReferringPhysicianName, T.IssuerOfPatientID];
const SERIES_FIELDS = [T.SeriesDescription, T.SeriesNumber, T.Modality, T.NumberOfSeriesRelatedInstances, T.BodyPartExamined];
const INSTANCE_FIELDS = [T.InstanceNumber, T.NumberOfFrames, T.Rows, T.Columns];
const includes = (fields) => fields.map((f) => ["includefield", f]);

// Caches shared by the views, cleared when an upload stores something.
const cache = {
  studies: new Map(), // StudyInstanceUID -> QIDO study dataset
  series: new Map(), // StudyInstanceUID -> Promise<series datasets, sorted>
  instances: new Map(), // SeriesInstanceUID -> Promise<instance datasets, sorted>
  metadata: new Map(), // SOPInstanceUID -> Promise<metadata dataset>
  clear() {
    this.studies.clear();
    this.series.clear();
    this.instances.clear();
  },
};

async function loadStudy(uid) {
  if (cache.studies.has(uid)) return cache.studies.get(uid);
  const { items } = await qido("/studies", [["StudyInstanceUID", uid], ...includes(STUDY_FIELDS)]);
  const ds = items.find((d) => str(d, T.StudyInstanceUID) === uid) ?? items[0];
  if (!ds) throw new HttpError(404, "This study is not in the archive.");
  cache.studies.set(uid, ds);
  return ds;
}

function loadSeriesList(study) {
  if (!cache.series.has(study)) {
    const p = qido(`${studyPath(study)}/series`, includes(SERIES_FIELDS)).then(({ items }) =>
      items.sort((a, b) => (num(a, T.SeriesNumber) ?? 1e9) - (num(b, T.SeriesNumber) ?? 1e9)));
    p.catch(() => cache.series.delete(study));
    cache.series.set(study, p);
  }
  return cache.series.get(study);
}

function loadInstances(study, series) {
  if (!cache.instances.has(series)) {
    const p = qido(`${seriesPath(study, series)}/instances`, includes(INSTANCE_FIELDS)).then(({ items }) =>
      items.sort((a, b) => (num(a, T.InstanceNumber) ?? 1e9) - (num(b, T.InstanceNumber) ?? 1e9)
        || str(a, T.SOPInstanceUID).localeCompare(str(b, T.SOPInstanceUID))));
    p.catch(() => cache.instances.delete(series));
    cache.instances.set(series, p);
  }
  return cache.instances.get(series);
}

function loadMetadata(study, series, sop) {
  if (!cache.metadata.has(sop)) {
    const p = fetch(DICOMWEB + instancePath(study, series, sop) + "/metadata", { headers: { Accept: "application/dicom+json" } })
      .then(async (resp) => {
        if (!resp.ok) throw await httpError(resp);
        const body = await resp.json();
        return Array.isArray(body) ? body[0] ?? {} : body;
      });
    p.catch(() => cache.metadata.delete(sop));
    if (cache.metadata.size > 5000) cache.metadata.delete(cache.metadata.keys().next().value);
    cache.metadata.set(sop, p);
  }
  return cache.metadata.get(sop);
}

/** URL of a rendered frame. Multi-frame instances are addressed by frame; a single frame by its instance. */
function renderedUrl(study, series, sop, frame, nFrames, params = "") {
  const base = DICOMWEB + instancePath(study, series, sop);
  const path = nFrames > 1 ? `${base}/frames/${frame}/rendered` : `${base}/rendered`;
  return params ? `${path}?${params}` : path;
}

// ---------------------------------------------------------------------------------------------------------
// Thumbnails: the series' /thumbnail, else the first instance rendered small
// ---------------------------------------------------------------------------------------------------------

let thumbnailSupport = null; // Promise<boolean>, settled by the first series thumbnail the page asks for

/** Fetches an image with an exact Accept and shows it in `img`; rejects on any HTTP or decoding failure. */
async function loadImage(img, url) {
  const resp = await fetch(url, { headers: { Accept: THUMBNAIL_MEDIA_TYPE } });
  if (!resp.ok) throw await httpError(resp);
  const objectUrl = URL.createObjectURL(await resp.blob());
  try {
    await new Promise((resolve, reject) => {
      img.onload = () => (img.naturalWidth > 0 ? resolve() : reject(new Error("empty image")));
      img.onerror = () => reject(new Error("the server's image could not be decoded"));
      img.src = objectUrl;
    });
    img.dataset.src = url;
  } finally {
    // The decoded image stays on screen; the blob is no longer needed once it is.
    URL.revokeObjectURL(objectUrl);
  }
}

/** A square, black thumbnail box for a series; loads lazily and never throws. */
function seriesThumbnail(study, seriesDs, { label } = {}) {
  const series = str(seriesDs, T.SeriesInstanceUID);
  const count = num(seriesDs, T.NumberOfSeriesRelatedInstances);
  const box = h("div", { class: "thumb" });
  if (count != null) box.append(h("span", { class: "thumb-count", text: plural(count, "image") }));
  const placeholder = (text, iconName) => {
    box.querySelector("img")?.remove();
    box.prepend(h("div", { class: "thumb-none" }, icon(iconName), text));
  };
  if (NON_IMAGE_MODALITIES.has(str(seriesDs, T.Modality))) {
    placeholder("No images", "document");
    return box;
  }
  const img = h("img", { alt: label ?? "", decoding: "async", dataset: { series } });
  box.prepend(img);
  (async () => {
    const thumbUrl = DICOMWEB + seriesPath(study, series) + "/thumbnail";
    if (thumbnailSupport === null) {
      thumbnailSupport = loadImage(img, thumbUrl).then(() => true, () => false);
      if (await thumbnailSupport) return;
    } else if (await thumbnailSupport) {
      try {
        await loadImage(img, thumbUrl);
        return;
      } catch {
        // this series has no thumbnail: try its first image
      }
    }
    try {
      const instances = await loadInstances(study, series);
      const inst = instances[0];
      if (!inst) return placeholder("No images", "image");
      const n = num(inst, T.NumberOfFrames) ?? 1;
      img.dataset.fallback = "rendered";
      await loadImage(img, renderedUrl(study, series, str(inst, T.SOPInstanceUID), 1, n, "viewport=128,128"));
    } catch {
      placeholder("No preview", "image");
    }
  })();
  return box;
}

// ---------------------------------------------------------------------------------------------------------
// Router: #/ (list, with the search in the query), #/study/{uid}, #/study/{uid}/series/{uid}
// ---------------------------------------------------------------------------------------------------------

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/";
  const q = raw.indexOf("?");
  const path = q < 0 ? raw : raw.slice(0, q);
  const query = new URLSearchParams(q < 0 ? "" : raw.slice(q + 1));
  let parts;
  try {
    parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  } catch {
    parts = [];
  }
  if (parts[0] === "study" && parts[1]) {
    if (parts[2] === "series" && parts[3]) return { view: "viewer", study: parts[1], series: parts[3], query };
    return { view: "study", study: parts[1], query };
  }
  return { view: "list", query };
}

const studyHash = (s) => `#/study/${encodeURIComponent(s)}`;
const seriesHash = (s, r) => `${studyHash(s)}/series/${encodeURIComponent(r)}`;

let views;
let activeView = null;

function route() {
  const r = parseHash();
  const next = views[r.view];
  if (activeView && activeView !== next) activeView.leave?.();
  for (const v of Object.values(views)) v.el.hidden = v !== next;
  activeView = next;
  next.enter(r);
}

function studyLabel(ds) {
  const name = str(ds, T.PatientName) || "Unnamed patient";
  const desc = str(ds, T.StudyDescription) || formatDate(first(ds, T.StudyDate));
  return desc ? `${name} — ${desc}` : name;
}

// ---------------------------------------------------------------------------------------------------------
// Study list
// ---------------------------------------------------------------------------------------------------------

const listView = {
  el: $("view-list"),
  form: $("search-form"),
  rows: $("study-rows"),
  items: [],
  more: false,
  sort: null, // { key, dir }
  abort: null,
  criteria: {},

  init() {
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.navigate({ ...this.readForm(), offset: 0 });
    });
    $("clear-button").addEventListener("click", () => {
      this.form.reset();
      this.navigate({ limit: this.criteria.limit, offset: 0 });
    });
    this.form.querySelectorAll("[data-range]").forEach((b) =>
      b.addEventListener("click", () => {
        const [from, to] = dateRange(b.dataset.range);
        $("q-from").value = from;
        $("q-to").value = to;
        this.navigate({ ...this.readForm(), offset: 0 });
      }));
    $("q-mod").addEventListener("change", () => this.navigate({ ...this.readForm(), offset: 0 }));
    $("page-size").addEventListener("change", (e) => this.navigate({ ...this.criteria, limit: +e.target.value, offset: 0 }));
    $("page-prev").addEventListener("click", () => {
      const c = this.criteria;
      this.navigate({ ...c, offset: Math.max(0, c.offset - c.limit) });
    });
    $("page-next").addEventListener("click", () => {
      const c = this.criteria;
      this.navigate({ ...c, offset: c.offset + (this.items.length || c.limit) });
    });
    this.el.querySelectorAll("th[data-sort]").forEach((th) =>
      th.addEventListener("click", () => {
        const key = th.dataset.sort;
        const dir = this.sort?.key === key && this.sort.dir === 1 ? -1 : 1;
        this.sort = { key, dir };
        this.render();
      }));
    this.rows.addEventListener("click", (e) => {
      if (e.target.closest("a")) return;
      const tr = e.target.closest("tr[data-uid]");
      if (tr) location.hash = studyHash(tr.dataset.uid);
    });
    this.rows.addEventListener("keydown", (e) => {
      const tr = e.target.closest("tr[data-uid]");
      if (!tr) return;
      if (e.key === "Enter") location.hash = studyHash(tr.dataset.uid);
      else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        (e.key === "ArrowDown" ? tr.nextElementSibling : tr.previousElementSibling)?.focus();
      }
    });
  },

  readForm() {
    return {
      name: $("q-name").value.trim(),
      pid: $("q-pid").value.trim(),
      acc: $("q-acc").value.trim(),
      from: $("q-from").value,
      to: $("q-to").value,
      mod: $("q-mod").value,
      limit: this.criteria.limit ?? PAGE_SIZES[0],
    };
  },

  navigate(c) {
    const pairs = [["name", c.name], ["pid", c.pid], ["acc", c.acc], ["from", c.from], ["to", c.to], ["mod", c.mod]];
    if (c.offset) pairs.push(["offset", c.offset]);
    if (c.limit && c.limit !== PAGE_SIZES[0]) pairs.push(["limit", c.limit]);
    const hash = `#/${queryString(pairs)}`;
    if (location.hash === hash || (hash === "#/" && !location.hash)) this.load();
    else location.hash = hash;
  },

  enter(r) {
    const q = r.query;
    const limit = +q.get("limit");
    this.criteria = {
      name: q.get("name") ?? "", pid: q.get("pid") ?? "", acc: q.get("acc") ?? "",
      from: q.get("from") ?? "", to: q.get("to") ?? "", mod: q.get("mod") ?? "",
      offset: Math.max(0, parseInt(q.get("offset") ?? "0", 10) || 0),
      limit: PAGE_SIZES.includes(limit) ? limit : PAGE_SIZES[0],
    };
    const c = this.criteria;
    $("q-name").value = c.name;
    $("q-pid").value = c.pid;
    $("q-acc").value = c.acc;
    $("q-from").value = c.from;
    $("q-to").value = c.to;
    $("q-mod").value = c.mod;
    $("page-size").value = String(c.limit);
    this.form.querySelectorAll("[data-range]").forEach((b) => {
      const [from, to] = dateRange(b.dataset.range);
      b.setAttribute("aria-pressed", String(from === c.from && to === c.to));
    });
    setCrumbs([{ label: "Studies" }]);
    document.title = "Studies — Arca";
    this.load();
  },

  leave() {
    this.abort?.abort();
  },

  /** The QIDO query for the current criteria; asks for one more than a page to know whether there is a next. */
  query() {
    const c = this.criteria;
    const pairs = [];
    if (c.name) pairs.push(["PatientName", namePattern(c.name)]);
    if (c.pid) pairs.push(["PatientID", c.pid]);
    if (c.acc) pairs.push(["AccessionNumber", c.acc]);
    if (c.from || c.to) {
      const from = c.from.replaceAll("-", "");
      const to = c.to.replaceAll("-", "");
      pairs.push(["StudyDate", from && from === to ? from : `${from}-${to}`]);
    }
    if (c.mod) pairs.push(["ModalitiesInStudy", c.mod]);
    pairs.push(["limit", c.limit + 1], ["offset", c.offset], ...includes(STUDY_FIELDS));
    return pairs;
  },

  async load() {
    this.abort?.abort();
    const ac = new AbortController();
    this.abort = ac;
    const table = $("study-table");
    table.dataset.state = "loading";
    const skeleton = setTimeout(() => this.renderSkeleton(), 150);
    showNotice($("list-notice"), "");
    try {
      const { items, warning } = await qido("/studies", this.query(), ac.signal);
      if (ac.signal.aborted) return;
      // One more than a page was asked for, so a full page plus one means there is a next page. A QIDO-RS
      // Warning (PS3.18 8.3.4.4) is for whoever reads headers, not for the person at the list: it goes to the
      // console; but a server that capped the answer below the page (its own maximum) says so only there.
      const limit = this.criteria.limit;
      const capped = Boolean(warning) && items.length > 0 && items.length <= limit && /limit|truncat|more/i.test(warning);
      if (warning) console.info(`QIDO-RS warning: ${warning}`);
      this.more = items.length > limit || capped;
      this.items = items.slice(0, limit);
      for (const ds of this.items) cache.studies.set(str(ds, T.StudyInstanceUID), ds);
      this.render();
    } catch (e) {
      if (e.name === "AbortError") return;
      this.items = [];
      this.more = false;
      this.render();
      showNotice($("list-notice"), `Could not search the archive. ${e.message}`);
    } finally {
      clearTimeout(skeleton);
      if (this.abort === ac) table.dataset.state = "loaded";
    }
  },

  renderSkeleton() {
    const cols = this.el.querySelectorAll("thead th").length;
    this.rows.replaceChildren(...Array.from({ length: 8 }, () =>
      h("tr", { class: "skeleton" }, Array.from({ length: cols }, () => h("td", {}, h("span"))))));
  },

  render() {
    let items = this.items;
    if (this.sort) {
      const { key, dir } = this.sort;
      items = [...items].sort((a, b) => dir * compare(sortValue(a, key), sortValue(b, key)));
    }
    this.el.querySelectorAll("th[data-sort]").forEach((th) => {
      if (this.sort?.key === th.dataset.sort) th.setAttribute("aria-sort", this.sort.dir === 1 ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    });
    this.rows.replaceChildren(...items.map((ds) => studyRow(ds)));
    const c = this.criteria;
    const empty = $("list-empty");
    empty.hidden = items.length > 0;
    if (!items.length) {
      const filtered = c.name || c.pid || c.acc || c.from || c.to || c.mod;
      empty.replaceChildren(
        h("strong", { text: c.offset ? "No more studies" : filtered ? "No studies match this search" : "The archive holds no studies yet" }),
        filtered ? "Widen the search or clear it." : "Drop DICOM files anywhere on this page to store them.");
    }
    const start = items.length ? c.offset + 1 : 0;
    const end = c.offset + items.length;
    $("list-status").textContent = !items.length
      ? ""
      : c.offset === 0 && !this.more
        ? plural(items.length, "study", "studies")
        : `Studies ${start}–${end}${this.more ? "" : ` of ${end}`}`
          // A column's sort orders the rows shown; the pages themselves come newest first.
          + (this.sort ? " · sorted within this page" : "");
    $("page-number").textContent = `Page ${Math.floor(c.offset / c.limit) + 1}`;
    $("page-prev").disabled = c.offset === 0;
    $("page-next").disabled = !this.more;
  },
};

function studyRow(ds) {
  const uid = str(ds, T.StudyInstanceUID);
  const name = str(ds, T.PatientName);
  const mods = values(ds, T.ModalitiesInStudy).map(String);
  const desc = str(ds, T.StudyDescription);
  const td = (text, cls) => h("td", { class: cls, text, title: text && text.length > 24 ? text : null });
  return h("tr", { tabindex: 0, dataset: { uid } },
    h("td", { class: "patient" }, h("a", { href: studyHash(uid), text: name || "(no name)" })),
    td(str(ds, T.PatientID)),
    td(formatDate(first(ds, T.PatientBirthDate)), "muted"),
    td(formatSex(str(ds, T.PatientSex)), "col-sex"),
    td(formatDateTime(first(ds, T.StudyDate), first(ds, T.StudyTime))),
    td(desc),
    h("td", {}, mods.map((m) => h("span", { class: "mod-badge", dataset: { m }, text: m }))),
    td(str(ds, T.AccessionNumber)),
    td(str(ds, T.NumberOfStudyRelatedSeries), "num"),
    td(str(ds, T.NumberOfStudyRelatedInstances), "num"),
  );
}

function sortValue(ds, key) {
  switch (key) {
    case "name": return str(ds, T.PatientName).toLowerCase();
    case "pid": return str(ds, T.PatientID);
    case "birth": return str(ds, T.PatientBirthDate);
    case "sex": return str(ds, T.PatientSex);
    case "date": return str(ds, T.StudyDate) + str(ds, T.StudyTime);
    case "desc": return str(ds, T.StudyDescription).toLowerCase();
    case "mods": return values(ds, T.ModalitiesInStudy).join("\\");
    case "acc": return str(ds, T.AccessionNumber);
    case "series": return num(ds, T.NumberOfStudyRelatedSeries) ?? -1;
    case "instances": return num(ds, T.NumberOfStudyRelatedInstances) ?? -1;
    default: return "";
  }
}
function compare(a, b) {
  return typeof a === "number" && typeof b === "number" ? a - b : String(a).localeCompare(String(b), undefined, { numeric: true });
}

/** What a person types into "Patient name" as a PN pattern: "doe, jo" -> "doe^jo*"; "doe jo" -> "doe*jo*" (the
 *  space may be the ^ between the family and given names or part of a family name such as "van der berg");
 *  explicit wildcards and carets kept as typed. */
function namePattern(input) {
  let s = input.trim().replace(/\s*,\s*/g, "^").replace(/\s+/g, " ");
  if (/[*?]/.test(s)) return s;
  if (!s.includes("^")) s = s.replace(/ /g, "*");
  return s + "*";
}

/** [from, to] as yyyy-mm-dd for a shortcut: "any", "0" (today), "1" (yesterday) or "N" (last N days). */
function dateRange(key) {
  if (key === "any") return ["", ""];
  const day = (offset) => {
    const d = new Date();
    d.setDate(d.getDate() - offset);
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  };
  const n = +key;
  if (n === 1) return [day(1), day(1)];
  return [day(n), day(0)];
}

// ---------------------------------------------------------------------------------------------------------
// Study page: header and its series
// ---------------------------------------------------------------------------------------------------------

const studyView = {
  el: $("view-study"),
  uid: null,
  generation: 0,

  init() {
    const rows = $("other-rows");
    rows.addEventListener("click", (e) => {
      if (e.target.closest("a")) return;
      const tr = e.target.closest("tr[data-uid]");
      if (tr) location.hash = studyHash(tr.dataset.uid);
    });
    rows.addEventListener("keydown", (e) => {
      const tr = e.target.closest("tr[data-uid]");
      if (tr && e.key === "Enter") location.hash = studyHash(tr.dataset.uid);
    });
  },

  enter(r) {
    this.uid = r.study;
    this.load();
  },

  async load() {
    const gen = ++this.generation;
    const uid = this.uid;
    const grid = $("series-grid");
    grid.dataset.state = "loading";
    showNotice($("study-notice"), "");
    $("study-title").textContent = "";
    $("study-patient-facts").replaceChildren();
    $("study-facts").replaceChildren();
    grid.replaceChildren();
    setCrumbs([{ label: "Studies", href: "#/" }, { label: "Study" }]);
    try {
      const [ds, series] = await Promise.all([loadStudy(uid), loadSeriesList(uid)]);
      if (gen !== this.generation) return;
      this.renderHeader(ds);
      grid.replaceChildren(...series.map((sr) => seriesCard(uid, sr)));
      if (!series.length) showNotice($("study-notice"), "This study has no series.", "warning");
      this.loadOthers(ds, gen);
    } catch (e) {
      if (gen !== this.generation) return;
      showNotice($("study-notice"), `Could not load this study. ${e.message}`);
    } finally {
      if (gen === this.generation) grid.dataset.state = "loaded";
    }
  },

  /** The patient's other studies, to compare with: a QIDO-RS search by patient ID and its issuer (the same ID
   *  from another issuer is another patient in an archive fed by several sites). */
  async loadOthers(ds, gen) {
    const section = $("other-studies");
    section.hidden = true;
    const pid = str(ds, T.PatientID);
    if (!pid) return;
    const issuer = str(ds, T.IssuerOfPatientID);
    try {
      const keys = [["PatientID", pid], ...(issuer ? [["IssuerOfPatientID", issuer]] : [])];
      const { items } = await qido("/studies", [...keys, ["limit", 51], ...includes(STUDY_FIELDS)]);
      if (gen !== this.generation) return;
      const others = items.filter((d) => str(d, T.StudyInstanceUID) !== this.uid && str(d, T.IssuerOfPatientID) === issuer)
        .sort((a, b) => compare(sortValue(b, "date"), sortValue(a, "date")));
      if (!others.length) return;
      for (const d of others) cache.studies.set(str(d, T.StudyInstanceUID), d);
      $("other-rows").replaceChildren(...others.slice(0, 50).map((d) => {
        const uid = str(d, T.StudyInstanceUID);
        return h("tr", { tabindex: 0, dataset: { uid } },
          h("td", {}, h("a", { href: studyHash(uid), text: formatDateTime(first(d, T.StudyDate), first(d, T.StudyTime)) || "(no date)" })),
          h("td", { text: str(d, T.StudyDescription) }),
          h("td", {}, values(d, T.ModalitiesInStudy).map((m) => h("span", { class: "mod-badge", dataset: { m }, text: m }))),
          h("td", { text: str(d, T.AccessionNumber) }),
          h("td", { class: "num", text: str(d, T.NumberOfStudyRelatedInstances) }));
      }));
      section.hidden = false;
    } catch {
      // Only a convenience: the study itself is shown.
    }
  },

  renderHeader(ds) {
    const name = str(ds, T.PatientName) || "Unnamed patient";
    $("study-title").textContent = name;
    document.title = `${name} — Arca`;
    setCrumbs([{ label: "Studies", href: "#/" }, { label: studyLabel(ds) }]);
    const birth = first(ds, T.PatientBirthDate);
    const age = formatAge(birth, first(ds, T.StudyDate));
    $("study-patient-facts").replaceChildren(...facts([
      ["Patient ID", str(ds, T.PatientID)],
      ["Born", [formatDate(birth), age && `(${age})`].filter(Boolean).join(" ")],
      ["Sex", formatSex(str(ds, T.PatientSex))],
    ]));
    const nSeries = num(ds, T.NumberOfStudyRelatedSeries);
    const nInst = num(ds, T.NumberOfStudyRelatedInstances);
    $("study-facts").replaceChildren(...facts([
      ["Study", str(ds, T.StudyDescription)],
      ["Date", formatDateTime(first(ds, T.StudyDate), first(ds, T.StudyTime))],
      ["Accession", str(ds, T.AccessionNumber)],
      ["Modalities", values(ds, T.ModalitiesInStudy).join(", ")],
      ["Referring", str(ds, T.ReferringPhysicianName)],
      ["Content", [nSeries != null && plural(nSeries, "series", "series"), nInst != null && plural(nInst, "image")].filter(Boolean).join(", ")],
    ]));
  },
};

function facts(pairs) {
  return pairs.filter(([, v]) => v).map(([k, v]) => h("div", {}, h("dt", { text: k }), h("dd", { text: v })));
}

function seriesCard(study, sr) {
  const uid = str(sr, T.SeriesInstanceUID);
  const number = str(sr, T.SeriesNumber);
  const desc = str(sr, T.SeriesDescription) || "(no description)";
  const modality = str(sr, T.Modality);
  const count = num(sr, T.NumberOfSeriesRelatedInstances);
  const label = `Series ${number} ${desc}`;
  return h("li", {},
    h("a", { class: "series-card", href: seriesHash(study, uid), dataset: { series: uid }, "aria-label": `${label}, ${modality}${count != null ? ", " + plural(count, "image") : ""}` },
      seriesThumbnail(study, sr, { label }),
      h("div", { class: "series-meta" },
        h("div", { class: "series-desc", text: desc, title: desc }),
        h("div", { class: "series-sub" },
          modality && h("span", { class: "mod-badge", dataset: { m: modality }, text: modality }),
          number && h("span", { text: `Series ${number}` })),
        str(sr, T.BodyPartExamined) && h("div", { class: "series-sub series-body", text: str(sr, T.BodyPartExamined) }))));
}

// ---------------------------------------------------------------------------------------------------------
// Viewer
// ---------------------------------------------------------------------------------------------------------

const PRESETS = [
  { id: "default", label: "Default", title: "As stored: the server applies the image's own window" },
  { id: "soft", label: "Soft tissue", c: 40, w: 400, ct: true },
  { id: "lung", label: "Lung", c: -600, w: 1500, ct: true },
  { id: "bone", label: "Bone", c: 400, w: 1800, ct: true },
  { id: "brain", label: "Brain", c: 40, w: 80, ct: true },
];

const viewer = {
  el: $("view-viewer"),
  viewport: $("viewport"),
  canvas: $("image-canvas"),
  slider: $("frame-slider"),

  study: null,
  series: null,
  studyDs: null,
  seriesDs: null,
  seriesList: [],
  images: [], // { sop, frame, nFrames, number }
  index: 0,
  dir: 1, // last scrolling direction, to prefetch ahead
  win: null, // { c, w } sent as window=, or null for the server's default
  fileWin: null, // the current image's own window, from its metadata
  preset: "default",
  zoom: 1,
  panX: 0,
  panY: 0,
  invert: false,
  tool: "wl",
  bitmap: null,
  drawnUrl: null,
  failedUrl: null,
  busy: false,
  drawCount: 0,
  meta: null,
  metaTimer: 0,
  drag: null,
  wheelAccumulator: 0,
  cineTimer: 0,
  abort: new AbortController(),
  generation: 0,
  blobs: new Map(), // url -> Blob, in least-recently-used order
  blobBytes: 0,
  blobAverage: 100 * 1024,
  inflight: new Map(), // url -> Promise<Blob>
  mediaType: 0, // index in VIEWER_MEDIA_TYPES of what the server accepted
  prefetching: 0,
  prefetchFailed: new Set(),
  prefetchTimer: 0,

  init() {
    this.ctx = this.canvas.getContext("2d");
    new ResizeObserver(() => this.resize()).observe(this.viewport);

    const presets = $("preset-group");
    PRESETS.forEach((p, i) => {
      presets.append(h("button", {
        type: "button", class: "tool", dataset: { preset: p.id }, "aria-pressed": "false",
        title: `${p.title ?? `${p.label}: level ${p.c}, width ${p.w}`} (${i + 1})`,
        onclick: () => this.applyPreset(p.id),
      }, p.label, h("span", { class: "key", "aria-hidden": "true", text: i + 1 })));
    });
    this.el.querySelectorAll("[data-tool]").forEach((b) => b.addEventListener("click", () => this.setTool(b.dataset.tool)));
    $("zoom-in").addEventListener("click", () => this.zoomBy(1.25));
    $("zoom-out").addEventListener("click", () => this.zoomBy(0.8));
    $("zoom-fit").addEventListener("click", () => this.fit());
    $("zoom-1").addEventListener("click", () => this.actualSize());
    $("invert").addEventListener("click", () => this.toggleInvert());
    $("reset").addEventListener("click", () => this.reset());
    $("cine").addEventListener("click", () => this.toggleCine());
    $("info-toggle").addEventListener("click", (e) => {
      const on = this.el.classList.toggle("no-info");
      e.currentTarget.setAttribute("aria-pressed", String(!on));
    });
    $("help-toggle").addEventListener("click", () => this.toggleHelp());
    $("all-attrs").addEventListener("toggle", () => {
      if ($("all-attrs").open) this.renderAllAttributes();
    });
    $("frame-prev").addEventListener("click", () => this.step(-1));
    $("frame-next").addEventListener("click", () => this.step(1));
    this.slider.addEventListener("input", () => this.show(+this.slider.value - 1));

    const vp = this.viewport;
    vp.addEventListener("pointerdown", (e) => this.pointerDown(e));
    vp.addEventListener("pointermove", (e) => this.pointerMove(e));
    vp.addEventListener("pointerup", (e) => this.pointerUp(e));
    vp.addEventListener("pointercancel", (e) => this.pointerUp(e));
    vp.addEventListener("contextmenu", (e) => e.preventDefault());
    vp.addEventListener("auxclick", (e) => e.preventDefault());
    vp.addEventListener("wheel", (e) => this.wheel(e), { passive: false });
    document.addEventListener("keydown", (e) => this.key(e));
    document.addEventListener("visibilitychange", () => this.schedulePrefetch());
  },

  enter(r) {
    if (r.study !== this.study || r.series !== this.series || !this.images.length) this.open(r.study, r.series);
    else {
      this.resize();
      this.schedulePrefetch();
    }
    this.viewport.focus({ preventScroll: true });
  },

  leave() {
    this.stopCine();
    $("help-panel").hidden = true;
    $("help-toggle").setAttribute("aria-expanded", "false");
  },

  async open(study, series) {
    const gen = ++this.generation;
    this.abort.abort();
    this.abort = new AbortController();
    this.stopCine();
    const sameStudy = study === this.study;
    this.bitmap?.close();
    // Requests of the previous series were aborted; their completions no longer count.
    this.busy = false;
    this.prefetching = 0;
    Object.assign(this, {
      study, series, images: [], index: 0, dir: 1, win: null, fileWin: null, preset: "default", zoom: 1, panX: 0, panY: 0,
      bitmap: null, drawnUrl: null, failedUrl: null, meta: null, seriesDs: null,
    });
    this.prefetchFailed.clear();
    if (!sameStudy) {
      this.studyDs = null;
      this.seriesList = [];
      $("series-strip").replaceChildren();
    }
    this.draw();
    this.updatePresetButtons();
    this.message("");
    this.setBusy(true);
    this.renderOverlays();
    $("info-content").replaceChildren();
    $("all-attrs-rows").replaceChildren();
    setCrumbs([{ label: "Studies", href: "#/" }, { label: "Study", href: studyHash(study) }, { label: "Series" }]);
    try {
      const [studyDs, seriesList, instances] = await Promise.all([loadStudy(study), loadSeriesList(study), loadInstances(study, series)]);
      if (gen !== this.generation) return;
      this.studyDs = studyDs;
      this.seriesList = seriesList;
      this.seriesDs = seriesList.find((s) => str(s, T.SeriesInstanceUID) === series) ?? null;
      this.renderStrip();
      const seriesLabel = this.seriesDs
        ? `Series ${str(this.seriesDs, T.SeriesNumber)}${str(this.seriesDs, T.SeriesDescription) ? ": " + str(this.seriesDs, T.SeriesDescription) : ""}`
        : "Series";
      setCrumbs([{ label: "Studies", href: "#/" }, { label: studyLabel(studyDs), href: studyHash(study) }, { label: seriesLabel }]);
      document.title = `${str(studyDs, T.PatientName) || "Viewer"} — ${seriesLabel} — Arca`;
      this.images = instances.flatMap((inst) => {
        const sop = str(inst, T.SOPInstanceUID);
        const nFrames = Math.max(1, Math.min(num(inst, T.NumberOfFrames) ?? 1, 100000));
        return Array.from({ length: nFrames }, (_, f) => ({ sop, frame: f + 1, nFrames, number: num(inst, T.InstanceNumber) }));
      });
      this.updatePresetButtons();
      if (!this.images.length) {
        this.setBusy(false);
        this.message(NON_IMAGE_MODALITIES.has(str(this.seriesDs, T.Modality)) ? "This series holds no images (it is a report or another non-image object)." : "This series has no images.");
        this.renderOverlays();
        return;
      }
      this.slider.max = String(this.images.length);
      this.slider.disabled = this.images.length < 2;
      const startQuery = parseInt(parseHash().query.get("image") ?? "", 10);
      this.show(Number.isFinite(startQuery) ? startQuery - 1 : 0);
    } catch (e) {
      if (gen !== this.generation || e.name === "AbortError") return;
      this.setBusy(false);
      this.message(`Could not open this series. ${e.message}`);
    }
  },

  renderStrip() {
    const strip = $("series-strip");
    if (!strip.children.length) {
      strip.append(...this.seriesList.map((sr) => {
        const uid = str(sr, T.SeriesInstanceUID);
        const label = `${str(sr, T.SeriesNumber)} ${str(sr, T.SeriesDescription) || str(sr, T.Modality)}`.trim();
        return h("a", { class: "strip-item", href: seriesHash(this.study, uid), dataset: { series: uid }, title: label },
          seriesThumbnail(this.study, sr, { label: `Series ${label}` }),
          h("div", { class: "strip-caption", text: label }));
      }));
    }
    strip.querySelectorAll(".strip-item").forEach((a) => {
      const current = a.dataset.series === this.series;
      a.setAttribute("aria-current", String(current));
      if (current) a.scrollIntoView({ block: "nearest" });
    });
  },

  // ---- frames ----

  current() {
    return this.images[this.index];
  },

  urlFor(i, win = this.win) {
    const im = this.images[i];
    if (!im) return null;
    const params = win ? `window=${windowNumber(win.c, win.w)},${windowNumber(win.w, win.w)},linear` : "";
    return renderedUrl(this.study, this.series, im.sop, im.frame, im.nFrames, params);
  },

  step(delta) {
    if (!this.images.length) return;
    this.dir = delta < 0 ? -1 : 1;
    this.show(this.index + delta);
  },

  show(i) {
    if (!this.images.length) return;
    const n = this.images.length;
    const index = Math.max(0, Math.min(n - 1, Math.round(i)));
    const changedInstance = this.images[index]?.sop !== this.current()?.sop;
    this.index = index;
    this.slider.value = String(index + 1);
    $("frame-label").textContent = `${index + 1} / ${n}`;
    const im = this.current();
    Object.assign(this.canvas.dataset, { index: String(index), instance: String(im.number ?? ""), frame: String(im.frame), sop: im.sop });
    if (changedInstance || !this.meta) this.scheduleMetadata(this.drawnUrl ? 120 : 0);
    this.renderOverlays();
    this.pump();
    this.schedulePrefetch();
  },

  /** Shows the current image: one request in flight; when it lands, the newest wish is fetched next. */
  async pump() {
    const url = this.urlFor(this.index);
    if (!url || url === this.drawnUrl || url === this.failedUrl || this.busy) {
      if (url === this.drawnUrl) this.setBusy(false);
      return;
    }
    this.busy = true;
    const gen = this.generation;
    const busyTimer = setTimeout(() => this.setBusy(true), 200);
    try {
      const blob = await this.getBlob(url);
      const bitmap = await createImageBitmap(blob);
      if (gen !== this.generation) return bitmap.close();
      const wanted = this.urlFor(this.index);
      // A newer wish (another frame, another window) is drawn only when it arrives; this one still beats
      // leaving the previous frame up if the user is still dragging the same frame's window.
      if (url === wanted || this.sameFrame(url, wanted)) {
        this.bitmap?.close();
        this.bitmap = bitmap;
        this.drawnUrl = url;
        this.failedUrl = null;
        this.drawCount += 1;
        Object.assign(this.canvas.dataset, { url, loaded: String(this.drawCount) });
        this.canvas.setAttribute("aria-label", this.describe());
        this.message("");
        this.draw();
        this.renderOverlays();
        this.schedulePrefetch();
      } else {
        bitmap.close();
      }
    } catch (e) {
      if (gen !== this.generation || e.name === "AbortError") return;
      if (url === this.urlFor(this.index)) {
        this.failedUrl = url;
        this.bitmap?.close();
        this.bitmap = null;
        this.drawnUrl = null;
        this.draw();
        this.message(`This image could not be rendered. ${e.message}`);
      }
    } finally {
      clearTimeout(busyTimer);
      if (gen === this.generation) {
        this.busy = false;
        const next = this.urlFor(this.index);
        if (next !== this.drawnUrl && next !== this.failedUrl) this.pump();
        else this.setBusy(false);
      }
    }
  },

  sameFrame(a, b) {
    return a && b && a.split("?")[0] === b.split("?")[0];
  },

  getBlob(url) {
    const hit = this.blobs.get(url);
    if (hit) {
      this.blobs.delete(url);
      this.blobs.set(url, hit);
      return Promise.resolve(hit);
    }
    let p = this.inflight.get(url);
    if (p) return p;
    p = this.fetchRendered(url)
      .then((blob) => {
        this.blobs.set(url, blob);
        this.blobBytes += blob.size;
        this.blobAverage = this.blobAverage * 0.9 + blob.size * 0.1;
        for (const [k, b] of this.blobs) {
          if (this.blobBytes <= BLOB_BUDGET) break;
          this.blobs.delete(k);
          this.blobBytes -= b.size;
        }
        return blob;
      })
      .finally(() => this.inflight.delete(url));
    this.inflight.set(url, p);
    return p;
  },

  /** GET a rendered image in the first media type the server makes; a refusal of one moves to the next. */
  async fetchRendered(url) {
    for (;;) {
      const type = VIEWER_MEDIA_TYPES[this.mediaType];
      const resp = await fetch(url, { headers: { Accept: type }, signal: this.abort.signal });
      if (resp.ok) return resp.blob();
      if ((resp.status === 406 || resp.status === 415) && this.mediaType < VIEWER_MEDIA_TYPES.length - 1) {
        this.mediaType += 1;
        continue;
      }
      throw await httpError(resp);
    }
  },

  schedulePrefetch() {
    if (!this.prefetchTimer) this.prefetchTimer = setTimeout(() => {
      this.prefetchTimer = 0;
      this.prefetch();
    }, 60);
  },

  /** Fetches the images around the current one, ahead first, while nothing else is going on. */
  prefetch() {
    while (this.prefetching < PREFETCH_CONCURRENCY) {
      const url = this.nextToPrefetch();
      if (!url) return;
      const gen = this.generation;
      this.prefetching += 1;
      this.getBlob(url)
        .catch((e) => {
          if (e.name !== "AbortError") this.prefetchFailed.add(url);
        })
        .finally(() => {
          if (gen !== this.generation) return;
          this.prefetching -= 1;
          this.prefetch();
        });
    }
  },

  nextToPrefetch() {
    if (this.drag || !this.drawnUrl || document.hidden || activeView !== this) return null;
    const n = this.images.length;
    // Stay well inside the cache budget, or prefetching would evict what it just fetched; and within
    // PREFETCH_RADIUS, so that a window change on a 2,000-image series does not ask for 2,000 renderings.
    const radius = Math.min(n, PREFETCH_RADIUS, Math.max(4, Math.floor((BLOB_BUDGET * 0.5) / Math.max(this.blobAverage, 1) / 2)));
    for (let d = 1; d <= radius; d++) {
      for (const j of [this.index + d * this.dir, this.index - d * this.dir]) {
        if (j < 0 || j >= n) continue;
        const url = this.urlFor(j);
        if (!this.blobs.has(url) && !this.inflight.has(url) && !this.prefetchFailed.has(url)) return url;
      }
    }
    return null;
  },

  // ---- metadata, overlays and the info panel ----

  scheduleMetadata(delay) {
    clearTimeout(this.metaTimer);
    this.metaTimer = setTimeout(async () => {
      const im = this.current();
      if (!im) return;
      const gen = this.generation;
      try {
        const ds = await loadMetadata(this.study, this.series, im.sop);
        if (gen !== this.generation || this.current()?.sop !== im.sop) return;
        this.meta = ds;
        const c = num(ds, T.WindowCenter);
        const w = num(ds, T.WindowWidth);
        this.fileWin = c != null && w != null && w > 0 ? { c, w } : null;
        const nFrames = num(ds, T.NumberOfFrames);
        if (nFrames != null) this.expandFrames(im.sop, nFrames);
        this.updatePresetButtons();
        this.renderOverlays();
        this.renderInfo();
      } catch (e) {
        if (gen !== this.generation) return;
        this.meta = null;
        this.renderInfo(e.message);
      }
    }, delay);
  },

  /** The search may not have said how many frames an instance has; its metadata does. */
  expandFrames(sop, nFrames) {
    const n = Math.max(1, Math.min(nFrames, 100000));
    const at = this.images.findIndex((im) => im.sop === sop);
    if (at < 0 || this.images[at].nFrames === n) return;
    const count = this.images.filter((im) => im.sop === sop).length;
    const number = this.images[at].number;
    const frames = Array.from({ length: n }, (_, f) => ({ sop, frame: f + 1, nFrames: n, number }));
    this.images.splice(at, count, ...frames);
    this.slider.max = String(this.images.length);
    this.slider.disabled = this.images.length < 2;
    this.show(at);
  },

  describe() {
    const im = this.current();
    if (!im) return "No image";
    return `Image ${this.index + 1} of ${this.images.length}${im.number != null ? `, instance ${im.number}` : ""}${im.nFrames > 1 ? `, frame ${im.frame}` : ""}`;
  },

  renderOverlays() {
    const st = this.studyDs;
    const se = this.seriesDs;
    const md = this.meta;
    const im = this.current();
    const line = (text, cls) => (text ? h("div", { class: cls, text }) : null);
    const pick = (tag) => str(md, tag) || str(st, tag);

    const birth = first(md, T.PatientBirthDate) ?? first(st, T.PatientBirthDate);
    const age = str(md, T.PatientAge).replace(/^0+/, "") || formatAge(birth, first(st, T.StudyDate));
    $("ov-tl").replaceChildren(...[
      line(pick(T.PatientName) || "", "strong"),
      line(pick(T.PatientID) && `ID ${pick(T.PatientID)}`),
      line([formatDate(birth), formatSex(pick(T.PatientSex)), age].filter(Boolean).join("  ·  "), "dim"),
    ].filter(Boolean));
    $("ov-tr").replaceChildren(...[
      line(pick(T.StudyDescription), "strong"),
      line(formatDateTime(first(st, T.StudyDate) ?? first(md, T.StudyDate), first(st, T.StudyTime) ?? first(md, T.StudyTime))),
      line(pick(T.AccessionNumber) && `Acc ${pick(T.AccessionNumber)}`, "dim"),
      line(str(md, T.InstitutionName), "dim"),
    ].filter(Boolean));

    const seriesText = se ? [`Se ${str(se, T.SeriesNumber)}`, str(se, T.SeriesDescription)].filter(Boolean).join("  ") : "";
    const loc = num(md, T.SliceLocation);
    const thick = num(md, T.SliceThickness);
    const pos = nums(md, T.ImagePositionPatient);
    const locText = loc != null ? `Loc ${formatNumber(loc, 2)} mm` : pos.length === 3 && pos[2] != null ? `Z ${formatNumber(pos[2], 2)} mm` : "";
    $("ov-bl").replaceChildren(...[
      line(seriesText),
      im ? h("div", { class: "strong", id: "ov-image", text: `Im ${im.number ?? "–"}  (${this.index + 1}/${this.images.length})` }) : null,
      im && im.nFrames > 1 ? line(`Frame ${im.frame} / ${im.nFrames}`) : null,
      line([locText, thick != null ? `Thk ${formatNumber(thick, 2)} mm` : ""].filter(Boolean).join("   "), "dim"),
    ].filter(Boolean));

    const w = this.win ?? this.fileWin;
    const wText = this.isColor() ? "" : w ? `W ${windowNumber(w.w, w.w)}   L ${windowNumber(w.c, w.w)}` : "W/L default";
    const rows = num(md, T.Rows) ?? this.bitmap?.height;
    const cols = num(md, T.Columns) ?? this.bitmap?.width;
    $("ov-br").replaceChildren(...[
      wText ? h("div", { class: "strong", id: "ov-window", text: wText }) : null,
      line(!wText ? "" : this.win ? (PRESETS.find((p) => p.id === this.preset)?.label ?? "Custom window") : im ? "Image default" : "", "dim"),
      line(this.bitmap ? `Zoom ${Math.round(this.scale() / (window.devicePixelRatio || 1) * 100)}%` : ""),
      line(rows && cols ? `${cols} × ${rows}` : "", "dim"),
    ].filter(Boolean));
    this.canvas.dataset.want = this.urlFor(this.index) ?? "";
    this.canvas.dataset.window = this.win ? `${windowNumber(this.win.c, this.win.w)},${windowNumber(this.win.w, this.win.w)}` : "default";
  },

  renderInfo(error) {
    const content = $("info-content");
    const md = this.meta;
    const st = this.studyDs;
    if (error) {
      content.replaceChildren(h("div", { class: "info-section" }, h("p", { class: "muted", text: `Metadata unavailable. ${error}` })));
      return;
    }
    if (!md) return;
    const im = this.current();
    const pick = (tag) => str(md, tag) || str(st, tag);
    const join = (arr, digits, sep) => arr.filter((x) => x != null).map((x) => formatNumber(x, digits)).join(sep);
    const spacing = nums(md, T.PixelSpacing);
    const pos = nums(md, T.ImagePositionPatient);
    const wcs = values(md, T.WindowCenter).map(toNumber);
    const wws = values(md, T.WindowWidth).map(toNumber);
    const slope = num(md, T.RescaleSlope);
    const intercept = num(md, T.RescaleIntercept);
    const tr = num(md, T.RepetitionTime);
    const te = num(md, T.EchoTime);
    const sections = [
      ["Patient", [
        ["Name", pick(T.PatientName)],
        ["ID", pick(T.PatientID)],
        ["Birth date", formatDate(first(md, T.PatientBirthDate) ?? first(st, T.PatientBirthDate))],
        ["Sex", formatSex(pick(T.PatientSex))],
        ["Age", str(md, T.PatientAge)],
        ["Weight", num(md, T.PatientWeight) != null ? `${formatNumber(num(md, T.PatientWeight), 1)} kg` : ""],
      ]],
      ["Study", [
        ["Description", pick(T.StudyDescription)],
        ["Date", formatDateTime(first(md, T.StudyDate) ?? first(st, T.StudyDate), first(md, T.StudyTime) ?? first(st, T.StudyTime))],
        ["Accession", pick(T.AccessionNumber)],
        ["Study ID", pick(T.StudyID)],
        ["Referring", pick(T.ReferringPhysicianName)],
        ["Institution", str(md, T.InstitutionName)],
      ]],
      ["Series", [
        ["Number", str(md, T.SeriesNumber) || str(this.seriesDs, T.SeriesNumber)],
        ["Description", str(md, T.SeriesDescription) || str(this.seriesDs, T.SeriesDescription)],
        ["Modality", str(md, T.Modality) || str(this.seriesDs, T.Modality)],
        ["Body part", str(md, T.BodyPartExamined)],
        ["Protocol", str(md, T.ProtocolName)],
        ["Equipment", [str(md, T.Manufacturer), str(md, T.ManufacturerModelName)].filter(Boolean).join(" ")],
      ]],
      ["Image", [
        ["Instance", str(md, T.InstanceNumber) || String(im?.number ?? "")],
        ["Frames", im && im.nFrames > 1 ? `${im.frame} of ${im.nFrames}` : ""],
        ["Size", num(md, T.Columns) != null ? `${num(md, T.Columns)} × ${num(md, T.Rows)} px` : ""],
        ["Pixel spacing", spacing.length ? `${join(spacing, 3, " × ")} mm` : ""],
        ["Slice thickness", num(md, T.SliceThickness) != null ? `${formatNumber(num(md, T.SliceThickness), 2)} mm` : ""],
        ["Slice location", num(md, T.SliceLocation) != null ? `${formatNumber(num(md, T.SliceLocation), 2)} mm` : ""],
        ["Position", pos.length ? join(pos, 2, ", ") : ""],
        ["Window", wcs.length ? wcs.map((c, k) => `L ${formatNumber(c, 1)} / W ${formatNumber(wws[k], 1)}`).join("; ") : ""],
        ["Rescale", slope != null || intercept != null ? `× ${formatNumber(slope ?? 1, 4)} + ${formatNumber(intercept ?? 0, 2)}` : ""],
        ["Pixels", [str(md, T.PhotometricInterpretation), num(md, T.BitsStored) != null ? `${num(md, T.BitsStored)} bits${num(md, T.PixelRepresentation) === 1 ? " signed" : ""}` : ""].filter(Boolean).join(", ")],
        ["kVp / mA", [num(md, T.KVP), num(md, T.XRayTubeCurrent)].some((x) => x != null) ? `${formatNumber(num(md, T.KVP), 0) || "–"} / ${formatNumber(num(md, T.XRayTubeCurrent), 0) || "–"}` : ""],
        ["TR / TE", tr != null || te != null ? `${formatNumber(tr, 1) || "–"} / ${formatNumber(te, 1) || "–"} ms` : ""],
        ["Field", num(md, T.MagneticFieldStrength) != null ? `${formatNumber(num(md, T.MagneticFieldStrength), 2)} T` : ""],
        ["Acquired", formatDateTime(first(md, T.AcquisitionDate), first(md, T.AcquisitionTime))],
        ["Image type", values(md, T.ImageType).join("\\")],
        ["SOP class", SOP_CLASS_NAMES[str(md, T.SOPClassUID)] ?? str(md, T.SOPClassUID)],
        ["Comments", str(md, T.ImageComments)],
      ]],
    ];
    content.replaceChildren(...sections.map(([title, rows]) => h("section", { class: "info-section" },
      h("h3", { text: title }),
      h("dl", {}, rows.filter(([, v]) => v).map(([k, v]) => [h("dt", { text: k }), h("dd", { text: v })])))));
    if ($("all-attrs").open) this.renderAllAttributes();
  },

  renderAllAttributes() {
    const md = this.meta ?? {};
    const rows = Object.keys(md).sort().map((tag) => {
      const e = md[tag] ?? {};
      let value;
      if (e.vr === "SQ") value = plural(values(md, tag).length, "item");
      else if (e.BulkDataURI) value = "(bulk data)";
      else if (e.InlineBinary) value = `(binary, ${Math.floor((e.InlineBinary.length * 3) / 4)} bytes)`;
      else value = values(md, tag).map((v) => (v && typeof v === "object" ? pnString(v) : v ?? "")).join("\\");
      if (value.length > 160) value = value.slice(0, 160) + "…";
      return h("tr", {},
        h("td", {}, h("span", { class: "attr-name", text: KEYWORD[tag] ?? `${e.vr ?? ""}` }), h("span", { class: "attr-tag", text: tagLabel(tag) })),
        h("td", { text: value }));
    });
    $("all-attrs-rows").replaceChildren(...rows);
  },

  message(text) {
    const el = $("viewport-message");
    el.textContent = text;
    el.hidden = !text;
  },

  setBusy(on) {
    $("viewport-busy").hidden = !on;
  },

  // ---- drawing, zoom and pan ----

  resize() {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(this.viewport.clientWidth * dpr));
    const hgt = Math.max(1, Math.round(this.viewport.clientHeight * dpr));
    if (this.canvas.width !== w || this.canvas.height !== hgt) {
      this.canvas.width = w;
      this.canvas.height = hgt;
    }
    this.draw();
  },

  fitScale() {
    const b = this.bitmap;
    if (!b) return 1;
    return Math.min(this.canvas.width / b.width, this.canvas.height / b.height);
  },

  /** Canvas pixels per image pixel. */
  scale() {
    return this.fitScale() * this.zoom;
  },

  draw() {
    const ctx = this.ctx;
    const { width, height } = this.canvas;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.filter = "none";
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, width, height);
    const b = this.bitmap;
    if (!b) return;
    const dpr = window.devicePixelRatio || 1;
    const s = this.scale();
    const dw = b.width * s;
    const dh = b.height * s;
    const x = (width - dw) / 2 + this.panX * dpr;
    const y = (height - dh) / 2 + this.panY * dpr;
    ctx.imageSmoothingEnabled = s < 4; // past 4x, show pixels as pixels
    ctx.imageSmoothingQuality = "high";
    if (this.invert) ctx.filter = "invert(1)";
    ctx.drawImage(b, x, y, dw, dh);
    ctx.filter = "none";
  },

  /** Zooms to `zoom` keeping the image point under (px, py) (CSS pixels from the viewport centre) still. */
  zoomTo(zoom, px = 0, py = 0) {
    const z = Math.max(0.1, Math.min(zoom, 40));
    const k = z / this.zoom;
    this.panX = px - (px - this.panX) * k;
    this.panY = py - (py - this.panY) * k;
    this.zoom = z;
    this.draw();
    this.renderOverlays();
  },

  zoomBy(factor) {
    this.zoomTo(this.zoom * factor);
  },

  fit() {
    this.zoom = 1;
    this.panX = 0;
    this.panY = 0;
    this.draw();
    this.renderOverlays();
  },

  actualSize() {
    const dpr = window.devicePixelRatio || 1;
    this.zoomTo(dpr / this.fitScale());
  },

  toggleInvert() {
    this.invert = !this.invert;
    $("invert").setAttribute("aria-pressed", String(this.invert));
    this.draw();
  },

  reset() {
    this.invert = false;
    $("invert").setAttribute("aria-pressed", "false");
    this.applyPreset("default");
    this.fit();
  },

  setTool(tool) {
    this.tool = tool;
    this.viewport.dataset.tool = tool;
    this.el.querySelectorAll("[data-tool]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.tool === tool)));
  },

  // ---- window / level ----

  applyPreset(id) {
    const p = PRESETS.find((x) => x.id === id);
    if (!p) return;
    this.preset = id;
    this.win = p.w ? { c: p.c, w: p.w } : null;
    this.updatePresetButtons();
    this.renderOverlays();
    this.pump();
    this.schedulePrefetch();
  },

  updatePresetButtons() {
    const modality = str(this.seriesDs, T.Modality);
    $("preset-group").querySelectorAll("[data-preset]").forEach((b) => {
      const p = PRESETS.find((x) => x.id === b.dataset.preset);
      b.setAttribute("aria-pressed", String(this.preset === p.id));
      b.disabled = Boolean((p.ct && modality && modality !== "CT") || (p.w && this.isColor()));
    });
  },

  /** Colour images have no window: the server renders their colours as they are. */
  isColor() {
    const pi = str(this.meta, T.PhotometricInterpretation).toUpperCase();
    return pi === "RGB" || pi.startsWith("YBR") || pi === "PALETTE COLOR" || (num(this.meta, T.SamplesPerPixel) ?? 1) > 1;
  },

  /** A starting window when the image names none: the full range its stored bits can hold. */
  estimatedWindow() {
    const md = this.meta;
    const bits = num(md, T.BitsStored) ?? 8;
    const signed = num(md, T.PixelRepresentation) === 1;
    const slope = num(md, T.RescaleSlope) ?? 1;
    const intercept = num(md, T.RescaleIntercept) ?? 0;
    const lo = signed ? -(2 ** (bits - 1)) : 0;
    const hi = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
    const a = lo * slope + intercept;
    const b = hi * slope + intercept;
    return { c: (a + b) / 2, w: Math.max(1, Math.abs(b - a)) };
  },

  // ---- input ----

  pointerDown(e) {
    if (!this.images.length) return;
    const mode = e.button === 1 ? "pan" : e.button === 2 ? "zoom" : e.button === 0 ? this.tool : null;
    if (!mode) return;
    e.preventDefault();
    this.viewport.focus({ preventScroll: true });
    this.viewport.setPointerCapture(e.pointerId);
    // A colour image has no window: dragging with the window tool does nothing (it threw on every move).
    if (mode === "wl" && this.isColor()) return;
    const rect = this.viewport.getBoundingClientRect();
    this.drag = {
      mode, id: e.pointerId, x: e.clientX, y: e.clientY,
      ox: e.clientX - rect.left - rect.width / 2, oy: e.clientY - rect.top - rect.height / 2,
    };
    if (mode === "wl" && !this.win) this.win = { ...(this.fileWin ?? this.estimatedWindow()) };
    this.viewport.classList.add("dragging");
    this.stopCine();
  },

  pointerMove(e) {
    const d = this.drag;
    if (!d || e.pointerId !== d.id) return;
    const dx = e.clientX - d.x;
    const dy = e.clientY - d.y;
    d.x = e.clientX;
    d.y = e.clientY;
    if (!dx && !dy) return;
    if (d.mode === "wl") {
      // Sensitivity follows the width: 300 px of drag changes it by about its own size, whether that is a
      // brain window (80) or an MR one (2000).
      const s = Math.max(0.25, this.win.w / 300);
      this.win = { c: this.win.c + dy * s, w: Math.max(1, this.win.w + dx * s) };
      this.preset = "custom";
      this.updatePresetButtons();
      this.renderOverlays();
      this.pump();
    } else if (d.mode === "pan") {
      this.panX += dx;
      this.panY += dy;
      this.draw();
    } else if (d.mode === "zoom") {
      this.zoomTo(this.zoom * Math.exp(-dy * 0.01), d.ox, d.oy);
    }
  },

  pointerUp(e) {
    const d = this.drag;
    if (!d || e.pointerId !== d.id) return;
    this.drag = null;
    this.viewport.classList.remove("dragging");
    if (this.viewport.hasPointerCapture(e.pointerId)) this.viewport.releasePointerCapture(e.pointerId);
    this.schedulePrefetch();
  },

  wheel(e) {
    if (!this.images.length) return;
    e.preventDefault();
    if (e.ctrlKey || e.metaKey) {
      const rect = this.viewport.getBoundingClientRect();
      this.zoomTo(this.zoom * Math.exp(-e.deltaY * 0.0015), e.clientX - rect.left - rect.width / 2, e.clientY - rect.top - rect.height / 2);
      return;
    }
    // A mouse notch (about 100 px) is one image; a touchpad's small deltas add up to one.
    const dy = e.deltaMode === 1 ? e.deltaY * 40 : e.deltaMode === 2 ? e.deltaY * 400 : e.deltaY;
    if (Math.abs(dy) >= 40) {
      this.wheelAccumulator = 0;
      this.step(Math.sign(dy));
      return;
    }
    this.wheelAccumulator += dy;
    if (Math.abs(this.wheelAccumulator) >= 40) {
      this.step(Math.sign(this.wheelAccumulator));
      this.wheelAccumulator = 0;
    }
  },

  key(e) {
    if (activeView !== this || e.altKey) return;
    const t = e.target;
    if (t instanceof HTMLInputElement || t instanceof HTMLSelectElement || t instanceof HTMLTextAreaElement) return;
    if (e.ctrlKey || e.metaKey) return;
    const n = this.images.length;
    const handled = () => e.preventDefault();
    switch (e.key) {
      case "ArrowDown": case "ArrowRight": case "j": this.step(1); return handled();
      case "ArrowUp": case "ArrowLeft": case "k": this.step(-1); return handled();
      case "PageDown": this.step(10); return handled();
      case "PageUp": this.step(-10); return handled();
      case "Home": this.dir = 1; this.show(0); return handled();
      case "End": this.dir = -1; this.show(n - 1); return handled();
      case "+": case "=": this.zoomBy(1.25); return handled();
      case "-": case "_": this.zoomBy(0.8); return handled();
      case "f": case "F": this.fit(); return handled();
      case "i": case "I": this.toggleInvert(); return handled();
      case "r": case "R": this.reset(); return handled();
      case "w": case "W": this.setTool("wl"); return handled();
      case "p": case "P": this.setTool("pan"); return handled();
      case "z": case "Z": this.setTool("zoom"); return handled();
      case " ": if (t instanceof HTMLButtonElement) return; this.toggleCine(); return handled();
      case "?": this.toggleHelp(); return handled();
      case "Escape":
        if (!$("help-panel").hidden) this.toggleHelp();
        else location.hash = studyHash(this.study);
        return handled();
      default:
        if (/^[1-9]$/.test(e.key) && PRESETS[+e.key - 1]) {
          const p = PRESETS[+e.key - 1];
          if (!$("preset-group").querySelector(`[data-preset="${p.id}"]`)?.disabled) this.applyPreset(p.id);
          return handled();
        }
    }
  },

  toggleHelp() {
    const panel = $("help-panel");
    panel.hidden = !panel.hidden;
    $("help-toggle").setAttribute("aria-expanded", String(!panel.hidden));
  },

  // ---- cine ----

  toggleCine() {
    if (this.cineTimer) this.stopCine();
    else if (this.images.length > 1) {
      $("cine").setAttribute("aria-pressed", "true");
      const frameTime = num(this.meta, T.FrameTime);
      const interval = frameTime && frameTime >= 20 && frameTime <= 1000 ? frameTime : 100;
      const tick = () => {
        // Advance only once the shown frame has landed, so a slow server slows the loop instead of skipping.
        if (this.drawnUrl === this.urlFor(this.index)) {
          this.dir = 1;
          this.show((this.index + 1) % this.images.length);
        }
        this.cineTimer = setTimeout(tick, interval);
      };
      this.cineTimer = setTimeout(tick, interval);
    }
  },

  stopCine() {
    clearTimeout(this.cineTimer);
    this.cineTimer = 0;
    $("cine").setAttribute("aria-pressed", "false");
  },
};

/** Window numbers as sent and shown: whole numbers unless the window is narrower than 20 units. */
function windowNumber(x, width) {
  return Math.abs(width) >= 20 ? String(Math.round(x)) : String(Math.round(x * 100) / 100);
}

// ---------------------------------------------------------------------------------------------------------
// Upload (STOW-RS)
// ---------------------------------------------------------------------------------------------------------

// PS3.18 table 10.5.3-2 and PS3.4 annex B: why a store failed.
const FAILURE_REASONS = {
  0x0110: "Processing failure",
  0x0111: "Duplicate SOP instance (already stored)",
  0x0117: "Invalid SOP instance",
  0x0118: "No such SOP class",
  0x0119: "Class-instance conflict",
  0x0120: "Missing attribute",
  0x0121: "Missing attribute value",
  0x0122: "SOP class not supported",
  0x0124: "Not authorized",
  0x0212: "Mistyped argument",
  0xa700: "Refused: out of resources",
  0xa900: "Data set does not match SOP class",
  0xc000: "Cannot understand",
  0xc122: "Transfer syntax not supported",
};
function failureText(code) {
  if (code == null) return "Refused (no reason given)";
  const hex = code.toString(16).toUpperCase().padStart(4, "0");
  let text = FAILURE_REASONS[code];
  if (!text) {
    if ((code & 0xff00) === 0xa700) text = "Refused: out of resources";
    else if ((code & 0xff00) === 0xa900) text = "Data set does not match SOP class";
    else if ((code & 0xf000) === 0xc000) text = "Cannot understand";
    else text = "Failed";
  }
  return `${text} (${hex}H)`;
}

const upload = {
  panel: $("upload-panel"),
  queue: Promise.resolve(),
  jobCount: 0,

  init() {
    $("upload-toggle").addEventListener("click", () => this.toggle());
    $("upload-close").addEventListener("click", () => this.toggle(false));
    this.panel.addEventListener("keydown", (e) => {
      if (e.key !== "Escape") return;
      e.stopPropagation();
      this.toggle(false);
      $("upload-toggle").focus();
    });
    this.panel.querySelectorAll("[data-pick]").forEach((b) => b.addEventListener("click", () => $(b.dataset.pick).click()));
    for (const id of ["file-input", "folder-input"]) {
      const input = $(id);
      input.addEventListener("change", () => {
        const files = [...input.files].map((file) => ({ file, name: file.webkitRelativePath || file.name }));
        input.value = "";
        if (files.length) this.start(files);
      });
    }
    // Drop anywhere on the page.
    const overlay = $("drop-overlay");
    const dropzone = $("dropzone");
    let depth = 0;
    const hasFiles = (e) => Array.from(e.dataTransfer?.types ?? []).includes("Files");
    document.addEventListener("dragenter", (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth += 1;
      overlay.hidden = false;
      dropzone.classList.add("over");
    });
    document.addEventListener("dragover", (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = "copy";
    });
    document.addEventListener("dragleave", (e) => {
      if (!hasFiles(e)) return;
      depth = Math.max(0, depth - 1);
      if (!depth) {
        overlay.hidden = true;
        dropzone.classList.remove("over");
      }
    });
    document.addEventListener("drop", async (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth = 0;
      overlay.hidden = true;
      dropzone.classList.remove("over");
      // Entries must be taken during the event; the list is emptied once it returns.
      const entries = Array.from(e.dataTransfer.items ?? []).map((it) => it.webkitGetAsEntry?.()).filter(Boolean);
      const plain = Array.from(e.dataTransfer.files ?? []).map((file) => ({ file, name: file.name }));
      const files = entries.length ? await collectEntries(entries) : plain;
      if (files.length) this.start(files);
    });
  },

  toggle(open = this.panel.hidden) {
    this.panel.hidden = !open;
    $("upload-toggle").setAttribute("aria-expanded", String(open));
    if (open) this.panel.querySelector("[data-pick]")?.focus();
  },

  start(files) {
    this.toggle(true);
    const job = new UploadJob(++this.jobCount, files);
    $("upload-jobs").prepend(job.el);
    this.queue = this.queue.then(() => job.run());
  },
};

/** Files under dropped folders, depth first, with their paths. */
async function collectEntries(entries) {
  const out = [];
  const walk = async (entry, prefix) => {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject)).catch(() => null);
      if (file) out.push({ file, name: prefix + file.name });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        // readEntries returns at most 100 entries per call (Chromium); empty means done.
        const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject)).catch(() => []);
        if (!batch.length) break;
        for (const child of batch) await walk(child, `${prefix}${entry.name}/`);
      }
    }
  };
  for (const entry of entries) await walk(entry, "");
  return out;
}

/** Reads a file's PS3.10 preamble and meta header: is it DICOM, and which SOP instance does it hold. */
async function inspectFile(file) {
  if (file.size < 132) return { dicom: false };
  const buf = new Uint8Array(await file.slice(0, Math.min(file.size, 132 + 16384)).arrayBuffer());
  if (String.fromCharCode(buf[128], buf[129], buf[130], buf[131]) !== "DICM") return { dicom: false };
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const longVRs = new Set(["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"]);
  let p = 132;
  let sop = null;
  // The meta group is always explicit VR little endian (PS3.10 7.1).
  while (p + 8 <= buf.length && dv.getUint16(p, true) === 0x0002) {
    const element = dv.getUint16(p + 2, true);
    const vr = String.fromCharCode(buf[p + 4], buf[p + 5]);
    let len;
    let header;
    if (longVRs.has(vr)) {
      if (p + 12 > buf.length) break;
      len = dv.getUint32(p + 8, true);
      header = 12;
    } else {
      len = dv.getUint16(p + 6, true);
      header = 8;
    }
    if (p + header + len > buf.length) break;
    if (element === 0x0003) sop = String.fromCharCode(...buf.subarray(p + header, p + header + len)).replace(/[\0\s]+$/, "");
    p += header + len;
  }
  return { dicom: true, sop };
}

class UploadJob {
  constructor(id, files) {
    this.id = id;
    this.files = files;
    this.total = files.reduce((n, f) => n + f.file.size, 0);
    this.stored = 0;
    this.failures = []; // { name, reason }
    this.skipped = []; // { name, reason }
    this.title = h("strong");
    this.percent = h("span");
    this.bar = h("div");
    this.summary = h("div", { class: "job-summary" });
    this.list = h("ul", { class: "job-failures" });
    this.el = h("li", { class: "upload-job", dataset: { state: "queued", job: id } },
      h("div", { class: "job-title" }, this.title, this.percent),
      h("div", { class: "progress", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100, "aria-label": "Upload progress" }, this.bar),
      this.summary, this.list);
    const folder = files[0]?.name.includes("/") ? files[0].name.split("/")[0] : "";
    const what = files.length === 1 ? files[0].name : folder && files.every((f) => f.name.startsWith(folder + "/")) ? `${folder} (${plural(files.length, "file")})` : plural(files.length, "file");
    this.setTitle(`${what} · ${formatBytes(this.total)}`);
    this.setProgress(0, "Waiting…");
  }

  setTitle(text) {
    this.title.textContent = text;
    this.title.title = text;
  }

  setProgress(fraction, label) {
    const pct = Math.max(0, Math.min(100, Math.round(fraction * 100)));
    this.bar.style.width = `${pct}%`;
    this.bar.parentElement.setAttribute("aria-valuenow", String(pct));
    this.percent.textContent = label ?? `${pct}%`;
  }

  renderSummary() {
    const parts = [];
    if (this.stored) parts.push(h("span", { class: "ok", text: `${this.stored} stored` }));
    if (this.failures.length) parts.push(h("span", { class: "bad", text: `${this.failures.length} failed` }));
    if (this.skipped.length) parts.push(h("span", { class: "skip", text: `${this.skipped.length} skipped` }));
    this.summary.replaceChildren(...parts);
    Object.assign(this.el.dataset, { stored: this.stored, failed: this.failures.length, skipped: this.skipped.length });
  }

  addProblem(list, name, reason, cls) {
    list.push({ name, reason });
    if (this.list.children.length < 200) {
      this.list.append(h("li", {}, h("div", { class: "file", text: name }), h("div", { class: `reason ${cls}`, text: reason })));
    }
  }

  async run() {
    this.el.dataset.state = "running";
    // 1. Which files are DICOM (PS3.10, with the DICM prefix STOW-RS requires), and their SOP instance UIDs.
    const items = [];
    let checked = 0;
    const pending = [...this.files];
    const worker = async () => {
      for (let f = pending.shift(); f; f = pending.shift()) {
        try {
          const info = await inspectFile(f.file);
          if (info.dicom) items.push({ ...f, sop: info.sop });
          else this.addProblem(this.skipped, f.name, "Not a DICOM file (no DICM prefix)", "skip");
        } catch {
          this.addProblem(this.skipped, f.name, "Could not be read", "skip");
        }
        checked += 1;
        if (checked % 25 === 0) this.setProgress(0, `Checking ${checked}/${this.files.length}`);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    this.renderSummary();

    // 2. Batches, one STOW-RS request each.
    const batches = [];
    let batch = [];
    let bytes = 0;
    for (const it of items) {
      if (batch.length && (batch.length >= STOW_BATCH_FILES || bytes + it.file.size > STOW_BATCH_BYTES)) {
        batches.push(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(it);
      bytes += it.file.size;
    }
    if (batch.length) batches.push(batch);
    const totalBytes = items.reduce((n, it) => n + it.file.size, 0) || 1;
    let sentBytes = 0;
    for (const b of batches) {
      const size = b.reduce((n, it) => n + it.file.size, 0);
      const result = await postStow(b, (loaded, total) => {
        const part = total > 0 ? (loaded / total) * size : 0;
        this.setProgress((sentBytes + part) / totalBytes);
      });
      sentBytes += size;
      this.setProgress(sentBytes / totalBytes);
      // One answer per SOP Instance UID: a second file of the same instance in one upload is not a second
      // instance stored (the server refused it, or it is the same instance again).
      const counted = new Set();
      for (const it of b) {
        if (it.sop && result.referenced.has(it.sop) && !counted.has(it.sop)) {
          counted.add(it.sop);
          this.stored += 1;
        } else if (it.sop && result.failed.has(it.sop)) this.addProblem(this.failures, it.name, result.failed.get(it.sop), "");
        else if (it.sop && counted.has(it.sop)) this.addProblem(this.failures, it.name, "the same instance as another file of this upload", "");
        else if (result.status === 200 && !result.failed.size) this.stored += 1;
        else this.addProblem(this.failures, it.name, result.message || `Not stored (HTTP ${result.status})`, "");
      }
      this.renderSummary();
    }

    // 3. Outcome.
    const state = !items.length ? "failed" : this.failures.length === 0 ? "done" : this.stored ? "partial" : "failed";
    this.el.classList.add(state);
    this.el.dataset.state = "finished";
    this.el.dataset.outcome = state;
    this.setProgress(1, state === "done" ? "Done" : state === "partial" ? "Partly stored" : "Not stored");
    if (!items.length) this.summary.prepend(h("span", { class: "bad", text: "No DICOM files" }));
    if (this.stored) {
      cache.clear();
      window.dispatchEvent(new CustomEvent("arca:stored", { detail: { stored: this.stored } }));
    }
  }
}

function randomBoundary() {
  // crypto.getRandomValues, not randomUUID: the latter needs a secure context, and the page may be served
  // over plain HTTP from another host.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "arca-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** One STOW-RS request: POST {base}/studies with one application/dicom part per file. */
function postStow(items, onProgress) {
  return new Promise((resolve) => {
    const boundary = randomBoundary();
    const parts = [];
    for (const it of items) parts.push(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`, it.file, "\r\n");
    parts.push(`--${boundary}--\r\n`);
    const body = new Blob(parts);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", DICOMWEB + "/studies");
    xhr.setRequestHeader("Content-Type", `multipart/related; type="application/dicom"; boundary=${boundary}`);
    xhr.setRequestHeader("Accept", "application/dicom+json");
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : body.size);
    xhr.onload = () => resolve(parseStowResponse(xhr.status, xhr.statusText, xhr.responseText));
    xhr.onerror = () => resolve({ status: 0, referenced: new Set(), failed: new Map(), message: "Network error: the archive could not be reached" });
    xhr.send(body);
  });
}

/** The STOW-RS response dataset: Referenced SOP Sequence and Failed SOP Sequence with Failure Reason. */
function parseStowResponse(status, statusText, text) {
  const result = { status, referenced: new Set(), failed: new Map(), message: "" };
  let ds = null;
  try {
    const j = text ? JSON.parse(text) : null;
    ds = Array.isArray(j) ? j[0] : j;
  } catch {
    ds = null;
  }
  if (ds && typeof ds === "object") {
    for (const it of values(ds, T.ReferencedSOPSequence)) result.referenced.add(str(it, T.ReferencedSOPInstanceUID));
    for (const it of values(ds, T.FailedSOPSequence)) result.failed.set(str(it, T.ReferencedSOPInstanceUID), failureText(num(it, T.FailureReason)));
    const msg = serverMessage(ds);
    if (msg) result.message = `HTTP ${status}: ${msg}`;
  } else if (text && !/^\s*</.test(text)) {
    result.message = `HTTP ${status}: ${text.trim().split("\n")[0].slice(0, 200)}`;
  }
  if (!result.message && status >= 300) {
    const why = { 400: "the archive could not read this upload", 409: "conflict with stored data", 413: "upload too large", 415: "unsupported media type" }[status];
    result.message = `Not stored (HTTP ${status}${why ? `: ${why}` : statusText ? ` ${statusText}` : ""})`;
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------------------------------------

views = { list: listView, study: studyView, viewer };
listView.init();
studyView.init();
viewer.init();
upload.init();
viewer.setTool("wl");
window.addEventListener("hashchange", route);
window.addEventListener("arca:stored", () => {
  if (activeView === listView) listView.load();
  else if (activeView === studyView) studyView.load();
});
route();
