"""The page in a real browser: Debian's Chromium, driven by Debian's
python3-selenium through chromedriver, against the stack `make dev`
starts (with a state folder and a port of this test's own).

Every row and column renders, NULL apart from the empty string; clicking
"Next page" walks the whole table once in key order; the console shows
no error and the page no Content-Security-Policy violation; axe-core,
run in the page, finds no accessibility violation; at a phone's width
(375 px) nothing runs off the side; the JSON view parses.  Screenshots
go to build/browser/.

Runs under Debian's /usr/bin/python3, which has selenium.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from lib import TOP
from lib.localstack import Stack
from lib.page import as_shown_in_html
from lib.proc import free_port

HERE = os.path.dirname(os.path.abspath(__file__))

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
AXE = os.path.join(HERE, "node_modules", "axe-core", "axe.min.js")
SHOTS = os.path.join(TOP, "build", "browser")
PAGE_SIZE = 3          # rows per page while walking "Next page"
PHONE = (375, 812)
DESKTOP = (1280, 900)

# Kept by every page before any of its scripts run: CSP violations and
# uncaught errors, as the page itself sees them.
WATCH = """
window.__csp = [];
window.__errors = [];
document.addEventListener('securitypolicyviolation', function (e) {
    window.__csp.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline'));
});
window.addEventListener('error', function (e) { window.__errors.push(String(e.message)); });
"""

# For each cell of the body: its text, whether it is a NULL cell, its box
# and the look that sets NULL apart.
CELLS = """
return Array.from(document.querySelectorAll('#rows tbody tr')).map(function (tr) {
    return Array.from(tr.children).map(function (td) {
        var r = td.getBoundingClientRect(), s = getComputedStyle(td);
        return {tag: td.tagName, text: td.textContent, null: td.classList.contains('null'),
                w: r.width, h: r.height, visible: td.checkVisibility(),
                look: s.color + ' ' + s.fontStyle};
    });
});
"""

# Everything that sticks out to the right of the viewport, or has text
# cut off inside its own box.
OVERFLOW = """
var w = document.documentElement.clientWidth, out = [];
if (document.documentElement.scrollWidth > w)
    out.push('document: scrollWidth ' + document.documentElement.scrollWidth + ' > ' + w);
document.querySelectorAll('body *').forEach(function (el) {
    var r = el.getBoundingClientRect();
    if (r.right > w + 0.5 || r.left < -0.5)
        out.push(el.tagName + ' ' + (el.id || el.className) + ' spans ' + r.left + '..' + r.right);
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible')
        out.push(el.tagName + ' clips its content');
});
return out;
"""

# Column names and numbers that the page broke over more than one line.
BROKEN = """
return Array.from(document.querySelectorAll('#rows th, #rows td.num')).filter(function (el) {
    var r = document.createRange();
    r.selectNodeContents(el);
    var tops = new Set(Array.from(r.getClientRects()).map(function (b) { return Math.round(b.top); }));
    return tops.size > 1;
}).map(function (el) { return el.textContent; });
"""

# The smallest font size of any text in the page, in CSS pixels.
MIN_FONT = """
var m = 1e9;
document.querySelectorAll('body *').forEach(function (el) {
    if (el.childNodes.length && Array.from(el.childNodes).some(function (n) {
            return n.nodeType === 3 && n.data.trim() !== ''; }))
        m = Math.min(m, parseFloat(getComputedStyle(el).fontSize));
});
return m;
"""

AXE_RUN = """
var done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ['violations']}).then(function (r) {
    done(r.violations.map(function (v) {
        return v.id + ': ' + v.help + ' (' + v.nodes.map(function (n) {
            return n.target.join(' '); }).join(', ') + ')';
    }));
}, function (e) { done(['axe failed: ' + e]); });
"""

DEV = {}      # the make dev stack: state, port, base URL
DB = None     # reads the table through the dev stack's database
DRIVER = None
PROFILE = None


def make(*targets):
    env = dict(os.environ, DEV_STATE=DEV["state"], DEV_PORT=str(DEV["port"]))
    p = subprocess.run(["make", "--no-print-directory", "-C", TOP] + list(targets),
                       env=env, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError("make %s failed (%d):\n%s\n%s" % (
            " ".join(targets), p.returncode, p.stdout[-3000:], p.stderr[-3000:]))
    return p.stdout


class DevDatabase(Stack):
    """Stack's table reader, pointed at the make dev stack's database."""

    def __init__(self, state):  # pylint: disable=super-init-not-called
        self.db_state = state


def start_browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
              "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--disable-extensions",
              "--disable-dev-shm-usage", "--hide-scrollbars",
              "--window-size=%d,%d" % DESKTOP, "--user-data-dir=" + PROFILE):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(CHROMEDRIVER, log_path=os.path.join(SHOTS, "chromedriver.log"))
    d = webdriver.Chrome(service=service, options=opts)
    d.set_page_load_timeout(30)
    d.set_script_timeout(60)
    d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH})
    return d


def setUpModule():
    global DB, DRIVER, PROFILE
    os.makedirs(SHOTS, exist_ok=True)
    if not os.path.exists(AXE):
        raise RuntimeError("%s is missing: npm ci --prefix tests/browser" % AXE)
    state = tempfile.mkdtemp(prefix="fcgi-app-browser-", dir="/var/tmp")
    os.chmod(state, 0o711)
    DEV.update(state=state, port=free_port())
    DEV["url"] = "http://127.0.0.1:%d/" % DEV["port"]
    try:
        out = make("dev")
        if DEV["url"] not in out:
            raise RuntimeError("make dev did not print %s:\n%s" % (DEV["url"], out))
        DB = DevDatabase(state)
        PROFILE = tempfile.mkdtemp(prefix="fcgi-app-chromium-")
        DRIVER = start_browser()
    except Exception:
        tearDownModule()
        raise


def tearDownModule():
    try:
        if DRIVER is not None:
            DRIVER.quit()
    finally:
        if PROFILE is not None:
            shutil.rmtree(PROFILE, ignore_errors=True)
        if DEV.get("state"):
            try:
                make("dev-stop")
            finally:
                shutil.rmtree(DEV["state"], ignore_errors=True)


def size(w, h):
    """The viewport as a phone or a desktop shows it."""
    DRIVER.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": w, "height": h, "deviceScaleFactor": 1, "mobile": w < 600})


def load(path):
    DRIVER.get(DEV["url"].rstrip("/") + path)


def console_problems():
    """What the console got since the last call at level error or warning,
    plus the CSP violations and uncaught errors the page saw."""
    problems = ["console %s: %s" % (e["level"], e["message"])
                for e in DRIVER.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    seen = DRIVER.execute_script("return [window.__csp, window.__errors];")
    problems += ["CSP: " + v for v in seen[0]] + ["error: " + v for v in seen[1]]
    return problems


def walk(case, start):
    """Clicks "Next page" from `start` until there is none; returns the
    pages' first-column values, page by page."""
    load(start)
    pages = []
    limit = 100  # more pages than the table can have
    while True:
        case.assertEqual(console_problems(), [], DRIVER.current_url)
        ids = DRIVER.execute_script(
            "return Array.from(document.querySelectorAll('#rows tbody tr'))"
            ".map(function (tr) { return tr.children[0].textContent; });")
        pages.append(ids)
        try:
            link = DRIVER.find_element(By.LINK_TEXT, "Next page")
        except NoSuchElementException:
            return pages
        case.assertLess(len(pages), limit, "Next page never ends")
        old = DRIVER.find_element(By.TAG_NAME, "html")
        link.click()
        WebDriverWait(DRIVER, 10).until(lambda d: old != d.find_element(By.TAG_NAME, "html"))


class Browser(unittest.TestCase):
    def setUp(self):
        size(*DESKTOP)
        DRIVER.get_log("browser")  # what earlier tests left

    def test_every_row_and_column_renders(self):
        cols, rows = DB.table("demo")
        load("/")
        self.assertEqual(console_problems(), [])
        heads = DRIVER.execute_script(
            "return Array.from(document.querySelectorAll('#rows thead th'))"
            ".map(function (th) { return th.textContent; });")
        self.assertEqual(heads, cols)
        cells = DRIVER.execute_script(CELLS)
        self.assertEqual(len(cells), len(rows))
        for got, want in zip(cells, rows):
            self.assertEqual([None if c["null"] else c["text"] for c in got],
                             [as_shown_in_html(v) for v in want])
            for c in got:
                self.assertTrue(c["visible"] and c["w"] > 0 and c["h"] > 0, c)
        DRIVER.save_screenshot(os.path.join(SHOTS, "desktop.png"))

    def test_null_is_set_apart_from_empty_and_from_the_string_null(self):
        cols, rows = DB.table("demo")
        load("/")
        cells = DRIVER.execute_script(CELLS)
        nulls = [c for row in cells for c in row if c["null"]]
        empties = [c for row, want in zip(cells, rows) for c, v in zip(row, want) if v == ""]
        strings = [c for row, want in zip(cells, rows) for c, v in zip(row, want) if v == "NULL"]
        self.assertTrue(nulls and empties and strings)
        for c in nulls:
            self.assertEqual(c["text"], "NULL")
        for c in empties:
            self.assertEqual(c["text"], "")
        # the string 'NULL' reads the same as a NULL cell, so they must look apart
        looks = {c["look"] for c in nulls}
        self.assertEqual(len(looks), 1, looks)
        for c in strings + empties:
            self.assertNotIn(c["look"], looks)

    def test_next_page_walks_the_table_once_in_key_order(self):
        _, rows = DB.table("demo")
        pages = walk(self, "/?limit=%d" % PAGE_SIZE)
        keys = [k for p in pages for k in p]
        self.assertEqual(keys, [r[0] for r in rows])
        self.assertEqual(len(keys), len(set(keys)))
        self.assertEqual([len(p) for p in pages[:-1]], [PAGE_SIZE] * (len(pages) - 1))
        self.assertEqual(len(pages), -(-len(rows) // PAGE_SIZE))

    def test_no_accessibility_violations(self):
        with open(AXE) as f:
            axe = f.read()
        for path in ("/", "/?limit=%d&after=3" % PAGE_SIZE):
            for w, h in (DESKTOP, PHONE):
                size(w, h)
                load(path)
                DRIVER.execute_script(axe)
                self.assertEqual(DRIVER.execute_async_script(AXE_RUN), [], (path, w))
                self.assertEqual(console_problems(), [], (path, w))

    def test_readable_at_phone_width(self):
        size(*PHONE)
        load("/")
        self.assertEqual(console_problems(), [])
        self.assertEqual(DRIVER.execute_script("return window.innerWidth;"), PHONE[0])
        self.assertEqual(DRIVER.execute_script(OVERFLOW), [])
        self.assertGreaterEqual(DRIVER.execute_script(MIN_FONT), 12)
        self.assertEqual(DRIVER.execute_script(BROKEN), [])
        shot = os.path.join(SHOTS, "phone-375.png")
        height = DRIVER.execute_script("return document.documentElement.scrollHeight;")
        size(PHONE[0], min(height, 4000))
        DRIVER.save_screenshot(shot)
        self.assertGreater(os.path.getsize(shot), 0)

    def test_json_view(self):
        cols, rows = DB.table("demo")
        load("/?format=json")
        doc = json.loads(DRIVER.execute_script("return document.body.innerText;"))
        self.assertEqual(doc["columns"], cols)
        self.assertEqual([str(r["id"]) for r in doc["rows"]], [r[0] for r in rows])
        self.assertEqual(doc["rows"][3]["city"], None)
        self.assertEqual(doc["rows"][3]["name"], "")
        self.assertEqual(console_problems(), [])


if __name__ == "__main__":
    unittest.main()
