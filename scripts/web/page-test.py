#!/usr/bin/env python3
"""page-test.py BASE_URL SCREENSHOT_DIR FILE_TO_UPLOAD [--dicomweb URL] [--no-pixel-window-check]

Drives the web page in headless Chromium (Debian's chromium + chromium-driver, through Selenium; nothing is
downloaded) against a running server that already holds some studies, and checks what a user would see:

  list      the study list shows the stored studies (row count = QIDO-RS count, same UIDs)
  paging    with more than a page of studies, the next page holds the others
  search    a search by patient name finds what QIDO-RS finds; a search by patient ID (or accession)
            narrows the list to what QIDO-RS finds (the server must hold studies of two patients or more)
  study     a study opens; its series cards match QIDO-RS and their thumbnails load (naturalWidth > 0)
  viewer    the image renders (canvas pixels are not all one value)
  scroll    the mouse wheel and the keyboard change the image (URL, instance number shown, pixels)
  window    dragging changes the window (window= in the image URL, and the pixels)
  upload    uploading FILE_TO_UPLOAD through the file picker stores it (the page reports it stored,
            QIDO-RS finds it, a search in the page lists its study)
  console   no severe console errors (a 404 on a series /thumbnail is allowed: the page falls back)

BASE_URL is the page (http://127.0.0.1:8080/ for Arca); the DICOMweb root defaults to /dicom-web on the same
origin. FILE_TO_UPLOAD must not be stored yet (under the reject duplicate policy a second store fails).
Screenshots: list.png, search.png, study.png, viewer.png, after-drag.png, upload.png in SCREENSHOT_DIR.
Prints one line per check; exits 0 only if all passed.
"""
import argparse
import json
import os
import sys
import time
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.actions.wheel_input import ScrollOrigin
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

PAGE_SIZE = 25  # the page's default rows per page
TIMEOUT = 30  # seconds for one thing to appear; a 2-core machine shared by several sessions is slow

STUDY_INSTANCE_UID = "0020000D"
SERIES_INSTANCE_UID = "0020000E"
PATIENT_ID = "00100020"
PATIENT_NAME = "00100010"
ACCESSION_NUMBER = "00080050"
MODALITY = "00080060"
NUMBER_OF_STUDY_INSTANCES = "00201208"
NUMBER_OF_SERIES_INSTANCES = "00201209"
NON_IMAGE_MODALITIES = {"SR", "KO", "PR", "DOC", "REG", "RWV", "PLAN", "FID", "AU", "ECG", "HD", "RTPLAN", "RTRECORD"}


class Checks:
    def __init__(self):
        self.results = []

    def record(self, name, ok, detail=""):
        self.results.append((name, ok))
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}", flush=True)
        return ok

    def run(self, name, fn):
        """Runs a check function returning (ok, detail); an exception is a failure with its message."""
        try:
            ok, detail = fn()
        except TimeoutException as e:
            ok, detail = False, f"timed out: {e.msg or 'condition not met'}"
        except Exception as e:  # the check failed in an unexpected way; say how and go on
            ok, detail = False, f"{type(e).__name__}: {e}"
        return self.record(name, ok, detail)

    @property
    def passed(self):
        return bool(self.results) and all(ok for _, ok in self.results)


def first(ds, tag):
    v = (ds.get(tag) or {}).get("Value") or []
    return v[0] if v else None


def text(ds, tag):
    v = first(ds, tag)
    if isinstance(v, dict):
        return v.get("Alphabetic") or v.get("Ideographic") or ""
    return "" if v is None else str(v)


def qido(root, path, params=()):
    # "*" stays literal, as browsers send it (encodeURIComponent keeps it).
    query = "&".join(f"{urllib.parse.quote(k)}={urllib.parse.quote(str(v), safe='*')}" for k, v in params)
    req = urllib.request.Request(f"{root}{path}{'?' + query if query else ''}", headers={"Accept": "application/dicom+json"})
    with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
        body = resp.read()
        return json.loads(body) if resp.status != 204 and body.strip() else []


def make_driver():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1600,1000",
                "--force-device-scale-factor=1", "--disable-gpu", "--hide-scrollbars"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # Explicit driver path: Selenium Manager then never tries to download one.
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


class Page:
    def __init__(self, driver, shots):
        self.d = driver
        self.shots = shots
        self.console = []

    def wait(self, cond, message, timeout=TIMEOUT):
        return WebDriverWait(self.d, timeout, poll_frequency=0.1).until(lambda d: cond(), message)

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def shot(self, name):
        path = os.path.join(self.shots, name)
        self.d.save_screenshot(path)
        return path

    def drain_console(self):
        try:
            self.console.extend(self.d.get_log("browser"))
        except WebDriverException:
            pass

    def list_loaded(self):
        return self.js("return document.getElementById('study-table').dataset.state") == "loaded"

    def rows(self):
        return self.js("""return Array.from(document.querySelectorAll('#study-rows tr[data-uid]'),
                          tr => ({uid: tr.dataset.uid, cells: Array.from(tr.cells, c => c.textContent)}))""")

    def goto_list(self, hash_="#/"):
        self.js("location.hash = arguments[0]", hash_)
        self.wait(lambda: self.js("return !document.getElementById('view-list').hidden") and self.list_loaded(), "study list")

    def search(self, **fields):
        """Fills the search form (ids q-name, q-pid, q-acc) and submits it like a user."""
        form = {"name": "q-name", "pid": "q-pid", "acc": "q-acc"}
        self.js("document.getElementById('search-form').reset()")
        for key, value in fields.items():
            box = self.d.find_element(By.ID, form[key])
            box.clear()
            box.send_keys(value)
        before = self.js("return location.hash")
        self.d.find_element(By.ID, "search-button").click()
        self.wait(lambda: self.js("return location.hash") != before and self.list_loaded(), "search results")

    def pixels(self):
        """A 64x64 grid of RGB samples from the viewer canvas."""
        return self.js("""
            const c = document.getElementById('image-canvas');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            const out = [];
            for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) {
              const i = (Math.floor((y + 0.5) * c.height / 64) * c.width + Math.floor((x + 0.5) * c.width / 64)) * 4;
              out.push(d[i], d[i + 1], d[i + 2]);
            }
            return out;""")

    def canvas(self):
        return self.js("return Object.assign({}, document.getElementById('image-canvas').dataset)")

    def overlay_image_text(self):
        return self.js("return document.getElementById('ov-image')?.textContent ?? ''")

    def current_drawn(self):
        """True once the viewer shows the image it wants (its URL for the current index and window)."""
        return self.js("""
            const c = document.getElementById('image-canvas').dataset;
            return Boolean(c.url) && c.url === c.want && document.getElementById('viewport-message').hidden;""")


def differing(a, b):
    return sum(1 for x, y in zip(a, b) if x != y)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("base_url")
    ap.add_argument("screenshot_dir")
    ap.add_argument("file_to_upload")
    ap.add_argument("--dicomweb", help="DICOMweb root for the test's own QIDO-RS checks (default: /dicom-web on the page's origin)")
    ap.add_argument("--no-pixel-window-check", action="store_true",
                    help="for servers whose rendered ignores window=: check only the request URL")
    args = ap.parse_args()

    base = args.base_url
    parsed = urllib.parse.urlsplit(base)
    root = args.dicomweb or f"{parsed.scheme}://{parsed.netloc}/dicom-web"
    root = root.rstrip("/")
    os.makedirs(args.screenshot_dir, exist_ok=True)
    checks = Checks()

    upload_uids = None
    try:
        import pydicom  # only to learn which study and instance the upload should create

        ds = pydicom.dcmread(args.file_to_upload, stop_before_pixels=True)
        upload_uids = (str(ds.StudyInstanceUID), str(ds.SOPInstanceUID), str(ds.get("PatientID", "")))
    except Exception as e:
        print(f"note: could not read {args.file_to_upload} with pydicom ({e}); the upload check uses study counts")

    studies = qido(root, "/studies", [("limit", "5000"), ("includefield", "00201208")])
    if not studies:
        checks.record("setup", False, f"{root}/studies finds no studies; store some before running this test")
        return 1
    print(f"server: {root} holds {len(studies)} studies (QIDO-RS)")

    driver = make_driver()
    page = Page(driver, args.screenshot_dir)
    state = {}
    try:
        driver.get(base)

        # ---- list ----
        def check_list():
            page.wait(page.list_loaded, "study list")
            rows = page.rows()
            expected = min(len(studies), PAGE_SIZE)
            uids = {text(s, STUDY_INSTANCE_UID) for s in studies}
            unknown = [r["uid"] for r in rows if r["uid"] not in uids]
            page.shot("list.png")
            state["list_rows"] = len(rows)
            ok = len(rows) == expected and not unknown and len({r["uid"] for r in rows}) == len(rows)
            return ok, f"{len(rows)} rows, QIDO-RS has {len(studies)} studies (page of {PAGE_SIZE}: expect {expected}){'; unknown UIDs ' + str(unknown) if unknown else ''}"
        checks.run("list shows the stored studies", check_list)

        def check_paging():
            first_page = {r["uid"] for r in page.rows()}
            page.d.find_element(By.ID, "page-next").click()
            page.wait(lambda: "offset=" in page.js("return location.hash") and page.list_loaded(), "the next page")
            second = {r["uid"] for r in page.rows()}
            expected = min(len(studies) - PAGE_SIZE, PAGE_SIZE)
            page.d.find_element(By.ID, "page-prev").click()
            page.wait(lambda: "offset=" not in page.js("return location.hash") and page.list_loaded(), "the first page again")
            back = {r["uid"] for r in page.rows()}
            ok = len(second) == expected and not (second & first_page) and back == first_page
            return ok, f"page 2 has {len(second)} rows (expect {expected}), none from page 1; back to page 1: {back == first_page}"
        if len(studies) > PAGE_SIZE:
            checks.run("paging", check_paging)
        else:
            print(f"note: {len(studies)} studies fit on one page; paging not checked (store more than {PAGE_SIZE} to check it)")

        # The study to open: the one with the most instances (so its series can be scrolled).
        target = max(studies, key=lambda s: int(first(s, NUMBER_OF_STUDY_INSTANCES) or 0))
        target_uid = text(target, STUDY_INSTANCE_UID)
        target_pid = text(target, PATIENT_ID)
        target_name = text(target, PATIENT_NAME)
        target_acc = text(target, ACCESSION_NUMBER)

        # ---- search ----
        def check_name_search():
            family = target_name.split("^")[0]
            prefix = family[: max(1, min(3, len(family)))]
            page.search(name=prefix)
            rows = page.rows()
            expected = qido(root, "/studies", [("PatientName", prefix + "*"), ("limit", "5000")])
            want = min(len(expected), PAGE_SIZE)
            return len(rows) == want and target_uid in {r["uid"] for r in rows}, \
                f"name '{prefix}' -> {len(rows)} rows, QIDO-RS PatientName={prefix}* finds {len(expected)}"
        if target_name:
            checks.run("search by patient name", check_name_search)

        def check_narrowing_search():
            # The patient ID of the study to open, else its accession number: whichever matches fewer studies
            # than the archive holds, so the search visibly narrows the list.
            for field, column, key, value in (("pid", 1, "PatientID", target_pid), ("acc", 7, "AccessionNumber", target_acc)):
                if not value:
                    continue
                expected = qido(root, "/studies", [(key, value), ("limit", "5000")])
                if len(expected) < len(studies):
                    break
            else:
                return False, ("every stored study has the same patient ID and accession number, so no search can narrow "
                               "the list: store studies of at least two patients")
            page.search(**{field: value})
            rows = page.rows()
            page.shot("search.png")
            want = min(len(expected), PAGE_SIZE)
            all_match = all(r["cells"][column] == value for r in rows)
            return len(rows) == want and all_match and len(rows) < len(studies) and target_uid in {r["uid"] for r in rows}, \
                f"{key}={value} -> {len(rows)} rows (the archive holds {len(studies)} studies), QIDO-RS finds {len(expected)}"
        checks.run("a search narrows the list", check_narrowing_search)

        # ---- study ----
        series = qido(root, f"/studies/{target_uid}/series", [("includefield", "00201209"), ("includefield", "0008103E")])

        def check_study():
            rows = driver.find_elements(By.CSS_SELECTOR, f'#study-rows tr[data-uid="{target_uid}"]')
            if rows:
                rows[0].find_element(By.CSS_SELECTOR, "td:nth-child(2)").click()  # a cell, not the link: rows are clickable
            else:
                page.js("location.hash = arguments[0]", f"#/study/{target_uid}")
            page.wait(lambda: page.js("return !document.getElementById('view-study').hidden && document.getElementById('series-grid').dataset.state === 'loaded'"), "study page")
            cards = page.js("return Array.from(document.querySelectorAll('#series-grid .series-card'), a => a.dataset.series)")
            ok = sorted(cards) == sorted(text(s, SERIES_INSTANCE_UID) for s in series)
            return ok, f"{len(cards)} series cards, QIDO-RS has {len(series)} series"
        checks.run("a study opens with its series", check_study)

        def check_thumbnails():
            image_series = [s for s in series if text(s, MODALITY) not in NON_IMAGE_MODALITIES]
            script = """return Array.from(document.querySelectorAll('#series-grid .thumb')).map(t => {
                          const img = t.querySelector('img');
                          return img ? {done: img.complete && img.naturalWidth > 0, w: img.naturalWidth, fallback: img.dataset.fallback || '', src: img.currentSrc}
                                     : {done: false, none: t.textContent.trim()};
                        })"""
            try:
                page.wait(lambda: sum(1 for t in page.js(script) if t.get("done")) >= len(image_series), "thumbnails")
            except TimeoutException:
                pass
            thumbs = page.js(script)
            page.shot("study.png")
            loaded = [t for t in thumbs if t.get("done")]
            via = "rendered fallback" if any(t.get("fallback") for t in loaded) else "/thumbnail"
            return len(loaded) >= len(image_series) and len(image_series) > 0, \
                f"{len(loaded)}/{len(image_series)} image series thumbnails loaded (naturalWidth {sorted({t['w'] for t in loaded})}) via {via}"
        checks.run("series thumbnails load", check_thumbnails)

        # ---- viewer ----
        best = max(series, key=lambda s: int(first(s, NUMBER_OF_SERIES_INSTANCES) or 0))
        best_uid = text(best, SERIES_INSTANCE_UID)

        def check_viewer():
            card = driver.find_elements(By.CSS_SELECTOR, f'#series-grid .series-card[data-series="{best_uid}"]')
            if card:
                card[0].click()
            else:
                page.js("location.hash = arguments[0]", f"#/study/{target_uid}/series/{best_uid}")
            page.wait(lambda: page.js("return !document.getElementById('view-viewer').hidden") and page.current_drawn(), "first image")
            px = page.pixels()
            distinct = len(set(px))
            state["px"] = px
            state["canvas"] = page.canvas()
            state["overlay"] = page.overlay_image_text()
            state["count"] = int(page.js("return document.getElementById('frame-slider').max") or 1)
            page.shot("viewer.png")
            return distinct > 4, f"{distinct} distinct sample values on the canvas; {state['count']} images; showing '{state['overlay']}' from {state['canvas'].get('url', '')}"
        checks.run("viewer renders the image", check_viewer)

        def wait_for_index_change(before_index):
            page.wait(lambda: page.canvas().get("index") != before_index and page.current_drawn(), "the next image")

        def check_wheel():
            if state.get("count", 1) < 2:
                return False, "the series shown has one image: store a multi-image series for this check"
            before = page.canvas()
            before_overlay = page.overlay_image_text()
            before_px = page.pixels()
            canvas = driver.find_element(By.ID, "image-canvas")
            ActionChains(driver).scroll_from_origin(ScrollOrigin.from_element(canvas), 0, 120).perform()
            wait_for_index_change(before.get("index"))
            after = page.canvas()
            after_overlay = page.overlay_image_text()
            changed_px = differing(before_px, page.pixels())
            ok = after["url"] != before["url"] and after_overlay != before_overlay
            return ok, f"index {before['index']} -> {after['index']}, '{before_overlay}' -> '{after_overlay}', {changed_px}/{len(before_px)} samples changed"
        checks.run("mouse wheel changes the image", check_wheel)

        def check_keys():
            if state.get("count", 1) < 2:
                return False, "the series shown has one image"
            before = page.canvas()
            before_overlay = page.overlay_image_text()
            before_px = page.pixels()
            driver.find_element(By.ID, "viewport").send_keys(Keys.ARROW_DOWN)
            wait_for_index_change(before.get("index"))
            after = page.canvas()
            after_overlay = page.overlay_image_text()
            changed_px = differing(before_px, page.pixels())
            ok = after["url"] != before["url"] and after_overlay != before_overlay
            return ok, f"ArrowDown: index {before['index']} -> {after['index']}, '{before_overlay}' -> '{after_overlay}', {changed_px}/{len(before_px)} samples changed"
        checks.run("keyboard changes the image", check_keys)

        def check_drag():
            before = page.canvas()
            before_px = page.pixels()
            canvas = driver.find_element(By.ID, "image-canvas")
            chain = ActionChains(driver, duration=50).move_to_element(canvas).click_and_hold()
            for _ in range(8):
                chain.move_by_offset(-12, 8)  # narrower and higher: a visibly different image whatever the start
            chain.release().perform()
            page.wait(lambda: "window=" in (page.canvas().get("url") or "") and page.current_drawn(), "the image with the dragged window")
            after = page.canvas()
            changed_px = differing(before_px, page.pixels())
            page.shot("after-drag.png")
            url_ok = after["window"] != before.get("window") and "window=" in after["url"]
            detail = f"window {before.get('window')} -> {after['window']}; image URL ...{after['url'][-40:]}; {changed_px}/{len(before_px)} samples changed"
            if args.no_pixel_window_check:
                return url_ok, detail + " (pixels not required)"
            return url_ok and changed_px > 0, detail
        checks.run("dragging changes the window", check_drag)

        # ---- upload ----
        def check_upload():
            page.goto_list("#/")
            count_before = len(qido(root, "/studies", [("limit", "5000")]))
            if upload_uids:
                found = qido(root, "/instances", [("SOPInstanceUID", upload_uids[1])])
                if found:
                    return False, f"{args.file_to_upload} is already stored ({upload_uids[1]}); give a file the server does not hold"
            if page.js("return document.getElementById('upload-panel').hidden"):
                driver.find_element(By.ID, "upload-toggle").click()
            driver.find_element(By.ID, "file-input").send_keys(os.path.abspath(args.file_to_upload))
            page.wait(lambda: page.js("return document.querySelector('.upload-job')?.dataset.state") == "finished", "the upload to finish")
            job = page.js("return Object.assign({}, document.querySelector('.upload-job').dataset)")
            reported = page.js("return document.querySelector('.upload-job').innerText")
            # The list reloads itself after a store; then search for the uploaded study's patient.
            page.wait(page.list_loaded, "the list to reload")
            if upload_uids:
                stored = qido(root, "/instances", [("SOPInstanceUID", upload_uids[1])])
                if upload_uids[2]:
                    page.search(pid=upload_uids[2])
                listed = upload_uids[0] in {r["uid"] for r in page.rows()}
                page.shot("upload.png")
                ok = job.get("outcome") == "done" and job.get("stored") == "1" and bool(stored) and listed
                return ok, f"page says {reported!r}; QIDO-RS finds the instance: {bool(stored)}; its study listed after a search: {listed}"
            count_after = len(qido(root, "/studies", [("limit", "5000")]))
            page.shot("upload.png")
            ok = job.get("outcome") == "done" and job.get("stored") == "1" and count_after >= count_before
            return ok, f"page says {reported!r}; studies {count_before} -> {count_after}"
        checks.run("upload stores the file", check_upload)

        # ---- console ----
        def check_console():
            page.drain_console()
            severe = [e for e in page.console if e.get("level") == "SEVERE"]
            allowed = [e for e in severe if "/thumbnail" in e.get("message", "") and "Failed to load resource" in e.get("message", "")]
            bad = [e for e in severe if e not in allowed]
            for e in page.console:
                print(f"      console {e.get('level')}: {e.get('message')}")
            note = f" ({len(allowed)} allowed: /thumbnail not supported, the page fell back to rendered)" if allowed else ""
            return not bad, f"{len(bad)} severe console messages{note}"
        checks.run("no console errors", check_console)
    finally:
        driver.quit()

    print(f"screenshots: {os.path.abspath(args.screenshot_dir)}")
    print("ALL PASSED" if checks.passed else "SOME CHECKS FAILED")
    return 0 if checks.passed else 1


if __name__ == "__main__":
    sys.exit(main())
