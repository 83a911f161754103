"""The report site as a reader uses it: opened from disk in headless Chromium, with no server and no network.

A small site (notebook 01 for the three counties of the shared fixture, with the post-assessment scores in
the index's region table) is built once; Chromium is driven over its DevTools protocol to follow every link,
sort the region table by clicking its headers, ask which platform font draws the Chinese text, record every
request the pages make, and save screenshots.
"""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None)
TIMEOUT = 30.0  # seconds allowed for any single wait on the browser, so a stuck browser fails instead of hanging
NOTEBOOK = "01-income-growth"
HAN = re.compile(r"[\u4e00-\u9fff]")
# Families that carry Chinese glyphs; anything else drawing Han characters means a fallback (boxes or a
# font without the glyphs).
CJK_FAMILY = re.compile(r"CJK|Noto (Sans|Serif) (SC|TC)|WenQuanYi|Source Han|YaHei|PingFang|SimHei|SimSun|"
                        r"AR PL|Droid Sans Fallback", re.IGNORECASE)
# Elements that make the browser fetch something when the page loads.
ASSET_ATTRIBUTES = ("script[src]", "link[href]", "img[src]", "iframe[src]", "source[src]", "video[src]",
                    "audio[src]", "embed[src]", "object[data]")
LOCAL_SCHEMES = {"file", "data", "about", "blob"}
VIEWPORT = (1280, 900)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium, "
                                                "or `make browser` as root)"),
]


# ------------------------------------------------------------------------------------ DevTools client
class Page:
    """One browser tab, spoken to through a flattened DevTools session on the browser's WebSocket."""

    def __init__(self, ws, session: str | None):
        self.ws, self.session, self.events, self._id = ws, session, [], 0

    def _receive(self, deadline: float) -> dict:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"the browser did not answer within {TIMEOUT:.0f} s")
        self.ws.settimeout(remaining)
        message = json.loads(self.ws.recv())
        if "method" in message and message.get("sessionId") == self.session:
            self.events.append(message)
        return message

    def call(self, method: str, **params) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if self.session is not None:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + TIMEOUT
        while True:
            message = self._receive(deadline)
            if message.get("id") == self._id and message.get("sessionId") == self.session:
                if "error" in message:
                    raise RuntimeError(f"{method} failed: {message['error']}")
                return message.get("result", {})

    def wait_event(self, method: str) -> dict:
        deadline = time.monotonic() + TIMEOUT
        while True:
            for event in self.events:
                if event["method"] == method:
                    return event
            self._receive(deadline)

    def goto(self, url: str) -> None:
        """Load ``url`` and wait for its load event; the events of earlier pages are dropped."""
        self.events.clear()
        result = self.call("Page.navigate", url=url)
        assert not result.get("errorText"), f"{url} did not load: {result['errorText']}"
        self.wait_event("Page.loadEventFired")

    def js(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_until(self, expression: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not self.js(expression):
            if time.monotonic() > deadline:
                raise TimeoutError(f"still false after {TIMEOUT:.0f} s: {expression}")
            time.sleep(0.05)

    def click(self, selector: str) -> None:
        """A left mouse click at the middle of the element, as a person would do it."""
        box = self.js(f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
                      "e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
                      "return {x: r.x + r.width / 2, y: r.y + r.height / 2}; })()")
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"], button="left", clickCount=1)

    def platform_fonts(self, selector: str) -> list[dict]:
        root = self.call("DOM.getDocument")["root"]["nodeId"]
        node = self.call("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        assert node, f"no element matches {selector!r}"
        return self.call("CSS.getPlatformFontsForNode", nodeId=node)["fonts"]

    def screenshot(self, path: Path) -> Path:
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))
        return path

    def requested_urls(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e["method"] == "Network.requestWillBeSent"]

    def script_errors(self) -> list[str]:
        return [e["params"]["exceptionDetails"].get("text", "") for e in self.events
                if e["method"] == "Runtime.exceptionThrown"]


def _start_chromium(profile: Path) -> subprocess.Popen:
    args = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync", "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            # any host name fails to resolve: a page that tried to reach the network could not succeed
            # silently, and the request would still be recorded below
            "--host-resolver-rules=MAP * ~NOTFOUND", "about:blank"]
    log = open(profile.parent / "chromium.log", "wb")
    try:
        # its own process group, so teardown can end the browser and its helper processes together
        return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    finally:
        log.close()


def _devtools_address(proc: subprocess.Popen, profile: Path) -> str:
    port_file, deadline = profile / "DevToolsActivePort", time.monotonic() + TIMEOUT
    while not (port_file.is_file() and len(port_file.read_text().split()) >= 2):
        if proc.poll() is not None:
            raise RuntimeError(f"Chromium exited with code {proc.returncode}; see {profile.parent / 'chromium.log'}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"Chromium wrote no {port_file.name} within {TIMEOUT:.0f} s")
        time.sleep(0.05)
    port, path = port_file.read_text().split()[:2]
    return f"ws://127.0.0.1:{port}{path}"


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """A tab of a fresh headless Chromium (own profile), with the DevTools domains the checks use."""
    # websocket-client is installed as a dependency of jupyter_server (pulled in by jupyterlab)
    websocket = pytest.importorskip("websocket")
    profile = tmp_path_factory.mktemp("chromium") / "profile"
    profile.mkdir()
    proc = _start_chromium(profile)
    ws = None
    try:
        # Chromium refuses DevTools connections that carry an Origin header it was not told to allow
        ws = websocket.create_connection(_devtools_address(proc, profile), timeout=TIMEOUT, suppress_origin=True)
        browser = Page(ws, session=None)
        tabs = [t for t in browser.call("Target.getTargets")["targetInfos"] if t["type"] == "page"]
        target = tabs[0]["targetId"] if tabs else browser.call("Target.createTarget", url="about:blank")["targetId"]
        session = browser.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        tab = Page(ws, session)
        for domain in ("Page", "Network", "Runtime", "DOM", "CSS"):
            tab.call(f"{domain}.enable")
        # a fixed viewport (the window size includes space the headless shell keeps for itself)
        tab.call("Emulation.setDeviceMetricsOverride", width=VIEWPORT[0], height=VIEWPORT[1], deviceScaleFactor=1,
                 mobile=False)
        yield tab
    finally:
        if ws is not None:
            ws.close()
        _stop(proc)


# ------------------------------------------------------------------------------------------------ site
@pytest.fixture(scope="module")
def report_site(small_processed, tmp_path_factory):
    """Notebook 01 rendered for every county of the small fixture, with the assessment scores in the index."""
    from analysis.publish import pipeline
    from analysis.reporting import assessment as report_assessment

    scores = report_assessment.index_scores(small_processed, lang="zh")
    reports = tmp_path_factory.mktemp("site") / "reports"
    summary = pipeline.run(notebooks="01", jobs=2, output_dir=reports, data_dir=small_processed, prepare=None,
                           scores=scores, progress=False)
    assert summary.exit_code == 0, summary.describe()
    return reports, scores


def _index(page: Page, reports: Path) -> None:
    page.goto((reports / "index.html").as_uri())


def _local_file(url: str) -> Path:
    parsed = urlparse(url)
    assert parsed.scheme == "file", f"link {url} does not point to a local file"
    return Path(unquote(parsed.path))


def _region_page(reports: Path, region: str) -> Path:
    return reports / region / f"{NOTEBOOK}.html"


# ----------------------------------------------------------------------------------------------- tests
def test_every_index_link_opens_an_existing_page_of_its_region(report_site, page):
    from analysis.publish import site
    reports, scores = report_site
    _index(page, reports)
    links = page.js("Array.from(document.querySelectorAll('a[href]')).map(a => ({url: a.href, kind: a.className, "
                    "text: a.textContent.trim(), inRunLog: !!a.closest('details'), "
                    "region: a.closest('tr') ? a.closest('tr').cells[0].getAttribute('data-sort') || "
                    "a.closest('tr').cells[0].textContent.trim() : ''}))")
    assert links, "the index links to no page"
    for link in links:
        assert _local_file(link["url"]).is_file(), f"the index links to a missing file: {link['url']}"
    # every county gets its page linked, named by the report's title, from the region table and the run log
    expected = {str(_region_page(reports, r)) for r in scores["region"]}
    pages = [link for link in links if link["url"].endswith(".html")]
    assert {str(_local_file(link["url"])) for link in pages} == expected
    assert len(pages) == 2 * len(expected) and sum(link["inRunLog"] for link in pages) == len(expected)
    assert {link["text"] for link in pages} == {site.notebook_title(NOTEBOOK, "zh")}
    # and the page's Excel workbook, which notebook 01 writes beside it
    workbooks = [link for link in links if link["kind"] == "excel"]
    assert {str(_local_file(link["url"])) for link in workbooks} == {
        str(_region_page(reports, r).with_suffix(".xlsx")) for r in scores["region"]}
    for link in links:  # each link sits in the row of the region whose page it opens
        assert _local_file(link["url"]).parent == reports / link["region"]

    for region in scores["region"]:
        page.goto(_region_page(reports, region).as_uri())
        shown = page.js("[document.title].concat(Array.from(document.querySelectorAll('h1, h2'))"
                        ".map(h => h.textContent))")
        assert any(region in text for text in shown), f"the page of {region} names it nowhere: {shown[:3]}"
        assert page.script_errors() == []
        # the page's own links (back to the index, the data download) must work too
        for url in page.js("Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"):
            if urlparse(url).fragment and url.split("#")[0] == page.js("location.href.split('#')[0]"):
                continue  # an anchor within the page
            assert _local_file(url).exists(), f"the page of {region} links to a missing file: {url}"


def _region_column(page: Page) -> list[str]:
    return page.js("Array.from(document.querySelectorAll('#region-table tbody tr'))"
                   ".map(r => r.cells[0].textContent.trim())")


@pytest.mark.parametrize("column", ["composite", "rank"])
def test_clicking_a_header_sorts_the_region_table(report_site, page, column):
    reports, scores = report_site
    _index(page, reports)
    score_columns = [c for c in scores.columns if c != "region"]
    headers = page.js("Array.from(document.querySelectorAll('#region-table thead th')).map(h => h.textContent)")
    # the region table is laid out as: region, the score columns in the given order, the pages, the files
    assert len(headers) == 1 + len(score_columns) + 2
    position = 1 + score_columns.index(column)
    header = f"#region-table thead th:nth-child({position + 1})"

    ascending = scores.sort_values(column, kind="stable")["region"].tolist()
    descending = scores.sort_values(column, ascending=False, kind="stable")["region"].tolist()
    assert ascending != descending  # distinct values, so each click must visibly reorder the rows

    page.click(header)
    page.wait_until(f"document.querySelector('{header}').getAttribute('aria-sort') === 'ascending'")
    assert _region_column(page) == ascending
    page.click(header)
    page.wait_until(f"document.querySelector('{header}').getAttribute('aria-sort') === 'descending'")
    assert _region_column(page) == descending

    # whole rows move: each row still shows its own region's value and links to its own page
    rows = page.js("Array.from(document.querySelectorAll('#region-table tbody tr')).map(r => ({region: "
                   f"r.cells[0].textContent.trim(), value: r.cells[{position}].getAttribute('data-sort'), "
                   "link: r.querySelector('a').href}))")
    values = scores.set_index("region")[column]
    for row in rows:
        assert float(row["value"]) == pytest.approx(float(values[row["region"]]), rel=1e-12)
        assert _local_file(row["link"]) == _region_page(reports, row["region"])
    assert page.script_errors() == []


# Pinyin of the fixture's county names (checked by hand): a Chinese reader expects 北 bei < 东 dong < 南 nan,
# while sorting by code point gives 东 U+4E1C < 北 U+5317 < 南 U+5357.
PINYIN = {"北岭县": "bei ling", "东阳县": "dong yang", "南川县": "nan chuan"}


def test_region_names_sort_in_pinyin_order(report_site, page):
    reports, scores = report_site
    regions = scores["region"].tolist()
    assert set(regions) <= set(PINYIN), f"add the pinyin of {sorted(set(regions) - set(PINYIN))} to PINYIN"
    expected = sorted(regions, key=PINYIN.get)
    assert expected != sorted(regions)  # the check tells a pinyin sort from a code-point sort
    _index(page, reports)
    header = "#region-table thead th:nth-child(1)"
    page.click(header)
    page.wait_until(f"document.querySelector('{header}').getAttribute('aria-sort') === 'ascending'")
    assert _region_column(page) == expected
    page.click(header)
    page.wait_until(f"document.querySelector('{header}').getAttribute('aria-sort') === 'descending'")
    assert _region_column(page) == expected[::-1]


def _assert_cjk_font(page: Page, selector: str) -> None:
    text = page.js(f"document.querySelector({json.dumps(selector)}).textContent")
    assert HAN.search(text), f"{selector} holds no Chinese text: {text!r}"
    fonts = page.platform_fonts(selector)
    families = [f["familyName"] for f in fonts]
    assert fonts and all(CJK_FAMILY.search(name) for name in families), \
        f"{selector} ({text.strip()[:20]!r}) is drawn with {families}, not a CJK font"
    assert sum(f["glyphCount"] for f in fonts) >= len(HAN.findall(text))


def test_chinese_text_is_drawn_with_a_cjk_font(report_site, page):
    reports, scores = report_site
    _index(page, reports)
    for selector in ("h1", "#region-table thead th", "#region-table tbody td"):
        _assert_cjk_font(page, selector)
    page.goto(_region_page(reports, scores["region"].iloc[0]).as_uri())
    _assert_cjk_font(page, "h1")


def test_no_request_leaves_the_machine(report_site, page):
    reports, scores = report_site
    pages = [reports / "index.html", *(_region_page(reports, r) for r in scores["region"])]
    query = ", ".join(ASSET_ATTRIBUTES)
    for path in pages:
        page.goto(path.as_uri())
        assets = page.js(f"Array.from(document.querySelectorAll({json.dumps(query)}))"
                         ".map(e => e.getAttribute('src') || e.getAttribute('href') || e.getAttribute('data'))")
        remote = [a for a in assets if re.match(r"\s*(https?:)?//", a, re.IGNORECASE)]
        assert remote == [], f"{path.name} of {path.parent.name} loads remote assets: {remote}"
        requests = page.requested_urls()
        assert requests, "no request was recorded at all: the network log is not working"
        outside = [u for u in requests if urlparse(u).scheme not in LOCAL_SCHEMES]
        assert outside == [], f"{path.parent.name}/{path.name} requested {outside}"


def test_index_explains_itself(report_site, page):
    """The banner says the data are synthetic at the top of the screen; the run log waits folded below."""
    reports, _ = report_site
    _index(page, reports)
    banner = page.js("(() => { const e = document.getElementById('synthetic-banner'); if (!e) return null;"
                     "const r = e.getBoundingClientRect(), s = getComputedStyle(e);"
                     "return {top: r.top, height: r.height, text: e.textContent, display: s.display,"
                     "visibility: s.visibility}; })()")
    assert banner is not None, "the sample's index carries no SYNTHETIC banner"
    assert banner["height"] > 20 and 0 <= banner["top"] < VIEWPORT[1] / 2, banner
    assert banner["display"] != "none" and banner["visibility"] == "visible" and "SYNTHETIC" in banner["text"]
    assert page.js("document.querySelector('h1').textContent").startswith("示例市")
    hidden = "!document.getElementById('run-table').checkVisibility()"
    assert page.js("!document.getElementById('run-log').open") and page.js(hidden)
    page.click("#run-log > summary")
    page.wait_until("document.getElementById('run-log').open")
    assert not page.js(hidden)
    assert page.script_errors() == []


SANS = re.compile(r"Sans|Arial|Helvetica", re.IGNORECASE)


def test_english_pages_use_a_sans_font(report_site, page, tmp_path):
    """The English index (re-rendered from the same run) and an English page, drawn by the platform fonts."""
    import nbformat

    from analysis.publish import pipeline, site
    reports, scores = report_site
    english = tmp_path / "reports"
    shutil.copytree(reports, english)
    pipeline.rebuild_index(english, lang="en", scores=scores)
    region = scores["region"].iloc[0]
    nb = nbformat.read(english / region / f"{NOTEBOOK}.ipynb", as_version=4)
    title = site.page_title("en", NOTEBOOK, "Test County")
    nav = site.page_nav("en", notebooks=[NOTEBOOK], current=NOTEBOOK, region="Test County")
    _region_page(english, region).write_text(site.notebook_html(nb, lang="en", title=title, nav=nav),
                                             encoding="utf-8")
    _index(page, english)
    assert page.js("document.title").startswith("Shili City")
    for selector in ("h1", ".explain", "#region-table thead th", "a.report"):
        families = [f["familyName"] for f in page.platform_fonts(selector)]
        assert families and all(SANS.search(name) for name in families), f"{selector}: {families}"
    page.goto(_region_page(english, region).as_uri())
    assert page.js("document.title") == "Rural income growth · Test County"
    for selector in (".site-nav a", ".jp-RenderedMarkdown p", ".jp-RenderedHTMLCommon table td"):
        if page.js(f"document.querySelector({json.dumps(selector)}) === null"):
            continue
        families = [f["familyName"] for f in page.platform_fonts(selector)]
        assert families and all(SANS.search(name) for name in families), f"{selector}: {families}"


def _check_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == VIEWPORT
    assert len(data) > 20_000, f"{path.name} is only {len(data)} bytes: the page looks empty"


def test_screenshots_of_the_index_and_a_region_page(report_site, page, tmp_path):
    reports, scores = report_site
    _index(page, reports)
    index_png = page.screenshot(tmp_path / "index.png")
    region = scores["region"].iloc[0]
    page.goto(_region_page(reports, region).as_uri())
    region_png = page.screenshot(tmp_path / f"{region}-{NOTEBOOK}.png")
    for path in (index_png, region_png):
        _check_png(path)
