#!/usr/bin/env python3
"""Drive the web console of a running `lakehouse serve` in headless Chromium (Debian's chromium
and chromium-driver, through selenium), as a person would: sign in, open every page, run a
search and SQL, revise then retire a memory record and watch its timeline change, open an agent
session and its tool calls, replay it; then check what a read-only token sees, that a write
without the CSRF token is refused, that no browser console error went unexplained, and that no
request left 127.0.0.1.

Usage: console_browser.py BASE_URL ADMIN_TOKEN READER_TOKEN OUT_DIR

Screenshots of each page go to OUT_DIR; one JSON line on stdout says what was seen, with the
time each page took to render (from the console's own window.lhTimings): `pages_first` the
first load of each page (cold), `pages` the median of 5 fresh loads at the end, `pages_spread`
their min and max. Any failed check ends the script with exit code 1 and the reason on stderr.
"""

import json
import os
import sys
import tempfile
from urllib.parse import urlparse

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

BASE, ADMIN, READER, OUT = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3], sys.argv[4]
HOST = urlparse(BASE).netloc
os.makedirs(OUT, exist_ok=True)
DOWNLOADS = tempfile.mkdtemp(prefix="lakehouse-console-downloads-")
seen = {"pages": {}, "pages_first": {}, "pages_spread": {}, "screenshots": [], "checks": []}
visited = {}  # route -> page name, for the timing pass
REPEATS = 5


def fail(why):
    sys.stderr.write(f"console_browser: {why}\n")
    try:
        driver.save_screenshot(os.path.join(OUT, "failure.png"))
        sys.stderr.write(f"page at failure: {driver.current_url}\n")
        sys.stderr.write(driver.find_element(By.TAG_NAME, "main").text[:3000] + "\n")
    except Exception:  # noqa: BLE001 - the browser may be gone
        pass
    sys.exit(1)


def check(ok, why):
    if not ok:
        fail(why)
    seen["checks"].append(why.split(":")[0])


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in [
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-default-apps", "--disable-extensions", "--window-size=1400,1000",
        # nothing but the server resolves: a request for any other host fails, and is seen
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    ]:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='lakehouse-console-')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    options.add_experimental_option("prefs", {
        "download.default_directory": DOWNLOADS, "download.prompt_for_download": False})
    return webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


driver = browser()
# pages redraw while a check looks at them: an element gone stale is looked up again
wait = WebDriverWait(driver, 30, ignored_exceptions=(StaleElementReferenceException,))


def logs(allowed=()):
    """The browser console's errors since the last call; every one must match an allowed text."""
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    unexplained = [m for m in errors if not any(a in m for a in allowed)]
    check(not unexplained, f"no unexplained console errors (allowed: {list(allowed)}): {unexplained}")
    return errors


def requests_left_the_host():
    """URLs the page asked for that are not this server's."""
    out = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") != "Network.requestWillBeSent":
            continue
        url = message["params"]["request"]["url"]
        scheme = urlparse(url).scheme
        if scheme in ("data", "blob", "about", "chrome", "devtools"):
            continue
        if urlparse(url).netloc != HOST:
            out.append(url)
    return out


def ready(page):
    """Wait until the console says `page` is drawn; a page that drew an error fails."""
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1"
               and d.find_element(By.TAG_NAME, "body").get_attribute("data-page") == page)
    heading = driver.find_elements(By.CSS_SELECTOR, "main h1")
    if heading and heading[0].text == "Something went wrong":
        fail(f"page {page} drew an error ({driver.current_url})")


def load(route, page):
    """Load the console fresh at `route` (a hash route), wait until the page says it is drawn;
    return how long it took to draw (its API calls included), as the page measured it."""
    driver.get("about:blank")
    driver.get(f"{BASE}/{route}")
    ready(page)
    timing = driver.execute_script("return window.lhTimings[window.lhTimings.length - 1]")
    return round(timing["ms"], 1)


def visit(route, page, shot):
    """`load` a page, keep a screenshot, note its first render time."""
    ms = load(route, page)
    driver.save_screenshot(os.path.join(OUT, f"{shot}.png"))
    seen["screenshots"].append(f"{shot}.png")
    seen["pages_first"].setdefault(route, ms)
    visited.setdefault(route, page)


def timing_pass():
    """Every page visited, loaded REPEATS more times: median, min and max render time."""
    for route, page in visited.items():
        runs = sorted(load(route, page) for _ in range(REPEATS))
        seen["pages"][route] = runs[len(runs) // 2]
        seen["pages_spread"][route] = [runs[0], runs[-1]]


def text(css):
    return driver.find_element(By.CSS_SELECTOR, css).text


def fetch(method, path, body=None, csrf=True):
    """A request from the page's own script (its cookie, and the CSRF token unless told not to)."""
    return driver.execute_async_script(
        """
        const [method, path, body, csrf, done] = arguments;
        (async () => {
          const headers = {'Content-Type': 'application/json'};
          const s = await (await fetch('/console/session')).json();
          if (csrf && s.csrf) headers['X-CSRF-Token'] = s.csrf;
          const r = await fetch(path, {method, headers, body: body === null ? undefined : JSON.stringify(body)});
          done({status: r.status, body: await r.text()});
        })().catch((e) => done({status: 0, body: String(e)}));
        """,
        method, path, body, csrf)


def sign_in(token):
    driver.get(f"{BASE}/")
    ready("login")
    box = driver.find_element(By.ID, "token")
    box.clear()
    box.send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()


try:
    # --- sign-in: a wrong token reads nothing ---
    driver.get(f"{BASE}/")
    ready("login")
    driver.save_screenshot(os.path.join(OUT, "login.png"))
    seen["screenshots"].append("login.png")
    sign_in("not-a-token-at-all-0000")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "main .alert"))
    check("not known" in text("main .alert"), "a wrong token is refused with a message")
    check(driver.get_cookie("lakehouse_session") is None, "a wrong token gets no session cookie")
    denied = fetch("GET", "/v1/datasets", csrf=False)
    check(denied["status"] == 401, f"without a session the API answers 401: {denied}")
    logs(allowed=["401"])

    # --- the administrator signs in ---
    sign_in(ADMIN)
    ready("overview")
    cookie = driver.get_cookie("lakehouse_session")
    check(cookie is not None and cookie["httpOnly"] and cookie.get("sameSite") == "Strict",
          f"the session cookie is HttpOnly and SameSite=Strict: {cookie}")
    check(driver.execute_script("return document.cookie").find("lakehouse_session") < 0,
          "scripts cannot read the session cookie")
    visit("#/", "overview", "overview")
    check("file://" in text("#store-url") or "/" in text("#store-url"), "the overview names the store")
    cards = driver.find_elements(By.CSS_SELECTOR, ".cards .card")
    check(len(cards) == 5, f"five counts on the overview, got {len(cards)}")

    # --- datasets, schema, versions, SQL, CSV, the read-only refusal ---
    visit("#/datasets", "datasets", "datasets")
    check(len(driver.find_elements(By.CSS_SELECTOR, "main table tbody tr")) >= 3, "datasets are listed")
    visit("#/datasets/permits", "datasets", "dataset-permits")
    check("original name" in text("#schema"), "the schema shows original column names")
    check(len(driver.find_elements(By.CSS_SELECTOR, "#versions tbody tr")) >= 1, "versions are listed")
    check(len(driver.find_elements(By.CSS_SELECTOR, "#sample tbody tr")) >= 5, "sample rows are shown")
    query = driver.find_element(By.ID, "sql-query")
    query.clear()
    query.send_keys("SELECT work_type, count(*) AS n FROM permits GROUP BY 1 ORDER BY 2 DESC")
    driver.find_element(By.ID, "sql-run").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#sql-result tbody tr"))
    check(driver.find_element(By.ID, "sql-csv").get_attribute("href").startswith("blob:"),
          "the SQL result offers a CSV download")
    driver.find_element(By.ID, "sql-csv").click()
    downloaded = os.path.join(DOWNLOADS, "query.csv")
    wait.until(lambda d: os.path.exists(downloaded) and os.path.getsize(downloaded) > 0)
    with open(downloaded, encoding="utf-8", newline="") as f:
        csv = f.read()
    check(csv.startswith("work_type,n\r\n") and csv.count("\r\n") >= 3,
          f"the downloaded CSV holds the result: {csv[:60]!r}")
    query.clear()
    query.send_keys("DROP TABLE permits")
    driver.find_element(By.ID, "sql-run").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#sql-result .alert"))
    check("only queries are allowed" in text("#sql-result .alert"),
          f"a write through SQL is refused with the server's words: {text('#sql-result .alert')}")
    logs(allowed=["400"])

    # --- matrix search ---
    visit("#/search", "search", "search")
    driver.find_element(By.ID, "search-query").send_keys("roof replacement")
    driver.find_element(By.ID, "search-run").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#search-result .hit"))
    hits = driver.find_elements(By.CSS_SELECTOR, "#search-result .hit")
    check(len(hits) == 10, f"ten hits, got {len(hits)}")
    check("fused" in hits[0].text and "vector" in hits[0].text and "BM25" in hits[0].text,
          "hits show fused, vector and BM25 scores")
    corpora = {b.text for b in driver.find_elements(By.CSS_SELECTOR, "#search-result .hit .badge")}
    check(len(corpora) >= 2, f"hits come from several corpora, each with its badge: {corpora}")
    statuses = driver.find_elements(By.CSS_SELECTOR, "#search-result table tbody tr")
    check(len(statuses) >= 3 and all("answered" in r.text for r in statuses),
          "every corpus's status is shown as answered")
    driver.save_screenshot(os.path.join(OUT, "search-results.png"))
    seen["screenshots"].append("search-results.png")

    # --- memory: a record written through the API, revised then retired, its timeline growing ---
    added = fetch("POST", "/v1/memory/records", {"namespace": "console/demo", "drafts": [
        {"kind": "playbook", "content": "Search the permits corpus for roof replacement permits."}]})
    check(added["status"] == 200, f"a write with the session and its CSRF token lands: {added}")
    record = json.loads(added["body"])[0]["record"]["id"]
    visit("#/memory?ns=console/demo", "memory", "memory")
    links = driver.find_elements(By.CSS_SELECTOR, "main table tbody tr a")
    check([a.text for a in links] == [record], f"the namespace lists the new record {record}")
    links[0].click()
    ready("memory")
    before = len(driver.find_elements(By.CSS_SELECTOR, "#timeline > li"))
    content = driver.find_element(By.ID, "revise-content")
    content.clear()
    content.send_keys("Search the permits corpus for roof replacement permits; cite each id.")
    driver.find_element(By.ID, "revise-run").click()
    wait.until(lambda d: d.find_element(By.ID, "confirm").get_attribute("open") is not None)
    driver.find_element(By.ID, "confirm-ok").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#timeline > li")) == before + 1)
    items = driver.find_elements(By.CSS_SELECTOR, "#timeline > li")
    check("superseded" in items[-2].text and "live" in items[-1].text,
          "after a revision the old version is superseded and the new one live")
    driver.save_screenshot(os.path.join(OUT, "memory-revised.png"))
    seen["screenshots"].append("memory-revised.png")
    driver.find_element(By.ID, "retire-reason").send_keys("replaced by a better procedure")
    driver.find_element(By.ID, "retire-run").click()
    wait.until(lambda d: d.find_element(By.ID, "confirm").get_attribute("open") is not None)
    driver.find_element(By.ID, "confirm-ok").click()
    wait.until(lambda d: "retired" in d.find_elements(By.CSS_SELECTOR, "#timeline > li")[-1].text)
    check("replaced by a better procedure" in driver.find_elements(By.CSS_SELECTOR, "#timeline > li")[-1].text,
          "the retirement shows its reason on the timeline")
    check(not driver.find_elements(By.ID, "revise-form"), "a retired chain offers no revise control")
    driver.save_screenshot(os.path.join(OUT, "memory-retired.png"))
    seen["screenshots"].append("memory-retired.png")
    # as of a time before the revision, the namespace shows version 1 live
    written = driver.find_elements(By.CSS_SELECTOR, "#timeline > li")[0].get_attribute("data-written")
    visit(f"#/memory?ns=console/demo&as_of={written}", "memory", "memory-as-of")
    rows = driver.find_elements(By.CSS_SELECTOR, "main table tbody tr")
    check(len(rows) == 1 and "live" in rows[0].text and record in rows[0].text,
          f"as of {written} the first version was the live one: {[r.text for r in rows]}")
    visit("#/memory?ns=console/demo&state=all", "memory", "memory-all")
    check(len(driver.find_elements(By.CSS_SELECTOR, "main table tbody tr")) == 2,
          "now the namespace holds both versions, neither live")

    # --- sessions: one step by step, with its tool calls; a replay ---
    visit("#/sessions", "sessions", "sessions")
    rows = driver.find_elements(By.CSS_SELECTOR, "main table tbody tr")
    check(len(rows) >= 2, f"the demo's sessions are listed: {len(rows)}")
    session = rows[-1].find_element(By.CSS_SELECTOR, "a").text
    visit(f"#/sessions/{session}", "sessions", "session")
    calls = driver.find_elements(By.CSS_SELECTOR, "#session-events li[data-event=tool]")
    check(len(calls) >= 1, "the session shows its tool calls")
    check("search" in calls[0].text and "query" in calls[0].text, "a tool call shows its name and arguments")
    check(driver.find_elements(By.CSS_SELECTOR, "#session-events li[data-event=verdict]"),
          "the session shows the observer's verdicts")
    driver.find_element(By.ID, "replay").click()
    wait.until(lambda d: "Replayed" in d.find_element(By.ID, "replay-result").text)
    check("accepted" in text("#replay-result").lower(), f"the replay's outcome is shown: {text('#replay-result')}")

    # --- reports and jobs ---
    visit("#/reports", "reports", "reports")
    check(driver.find_elements(By.CSS_SELECTOR, "#eval svg.chart"), "the latest eval is charted")
    charts = driver.find_elements(By.CSS_SELECTOR, "section.bench svg.chart")
    check(len(charts) >= 3, f"benchmarks are charted, ours next to peers: {len(charts)}")
    visit("#/jobs", "jobs", "jobs")
    check(len(driver.find_elements(By.CSS_SELECTOR, "#jobs tbody tr")) >= 1, "the replay's job is listed")
    timing_pass()  # every page again, five times each
    logs()

    # --- CSRF: a write with the cookie but without the token is refused ---
    no_csrf = fetch("POST", "/v1/memory/records",
                    {"namespace": "console/csrf", "drafts": [{"content": "should not land"}]}, csrf=False)
    check(no_csrf["status"] == 403 and "CSRF" in no_csrf["body"], f"a write without the CSRF token is 403: {no_csrf}")
    with_csrf = fetch("GET", "/v1/memory/records?namespace=console/csrf")
    check(with_csrf["status"] == 200 and json.loads(with_csrf["body"]) == [], "and nothing was written")
    logs(allowed=["403"])

    # --- a read-only token sees no write controls ---
    driver.find_element(By.ID, "logout").click()
    ready("login")
    sign_in(READER)
    ready("overview")
    visit("#/memory?ns=console/demo&state=all", "memory", "reader-memory")
    driver.find_element(By.CSS_SELECTOR, "main table tbody tr a").click()
    ready("memory")
    check(not driver.find_elements(By.ID, "revise-form") and not driver.find_elements(By.ID, "retire-form"),
          "a read-only token sees no revise or retire control")
    visit(f"#/sessions/{session}", "sessions", "reader-session")
    check(not driver.find_elements(By.ID, "replay"), "a read-only token sees no replay button")
    refused = fetch("POST", "/v1/memory/records",
                    {"namespace": "console/reader", "drafts": [{"content": "no"}]})
    check(refused["status"] == 403, f"the server refuses a reader's write even with the CSRF token: {refused}")
    logs(allowed=["403"])

    left = requests_left_the_host()
    check(not left, f"no request left {HOST}: {left}")
    seen["slowest_page_ms"] = max(seen["pages"].values())
    print(json.dumps(seen))
finally:
    driver.quit()
