"""The dashboard in headless Chromium, driven by Selenium, against a running local stack.

Usage: dashboard.py STACK_URL TASKPULSE_BINARY SCREENSHOT_PATH
Prints one JSON line with what it measured; exits non-zero (with the reason) on any failure.

1. Opens the page as one user, creates a task through the form and completes it with the
   page's button; each time waits until the page shows the numbers the analytics API answers.
2. Creates more tasks through the form and records how long each took from the command's
   answer to the page showing it (the page measures it). Before the simulation: the
   simulator checks global counters against its own recount, which the page's tasks would
   break.
3. Switches to everyone's analytics and follows the simulation: the numbers must move
   several times without a reload and end equal to the API's answer.
4. At 375 px wide nothing overflows. Any error in the browser console fails the run. A
   screenshot is saved at the end.
"""

import json
import os
import subprocess
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

URL, BINARY, SCREENSHOT = sys.argv[1], sys.argv[2], sys.argv[3]
USER = "browser-user"
CHROMIUM = os.environ.get("TASKPULSE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("TASKPULSE_CHROMEDRIVER", "/usr/bin/chromedriver")


def api(path, user=USER, scopes=None):
    headers = {"X-Local-User": user}
    if scopes:
        headers["X-Local-Scopes"] = scopes
    request = urllib.request.Request(URL + path, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # The machine's network is closed: no background connections, no component updates.
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,1500",
                 "--user-data-dir=" + os.path.join(os.path.dirname(SCREENSHOT), "chromium-profile")]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def wait_until(what, check, limit=20.0):
    give_up = time.monotonic() + limit
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > give_up:
            raise AssertionError("timed out after %.0f s waiting until %s" % (limit, what))
        time.sleep(0.05)


def shown(driver):
    """The numbers the page shows, as the page's data-value attributes hold them."""
    return driver.execute_script("""
        const value = (id) => document.getElementById(id).dataset.value;
        return {created: value('total-created'), completed: value('total-completed'),
                new: value('open-new'), in_progress: value('open-in_progress'),
                on_hold: value('open-on_hold')};""")


def expected(answer):
    totals, open_tasks = answer["totals"], answer["openTasks"]
    return {"created": str(totals["created"]), "completed": str(totals["completed"]),
            "new": str(open_tasks["new"]), "in_progress": str(open_tasks["in_progress"]),
            "on_hold": str(open_tasks["on_hold"])}


def shows_the_api(driver, path, **who):
    return lambda: shown(driver) == expected(api(path, **who))


def console_errors(driver):
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def main():
    driver = browser()
    try:
        driver.get(URL + "/?user=" + USER + "&view=me")
        wait_until("the page shows the analytics", lambda: driver.execute_script(
            "return window.taskpulseDashboard && window.taskpulseDashboard.shown !== null"))
        loaded_at = driver.execute_script("return window.taskpulseDashboard.loadedAt")

        driver.find_element(By.ID, "title").clear()
        driver.find_element(By.ID, "title").send_keys("Try the dashboard")
        driver.find_element(By.CSS_SELECTOR, "#create button[type=submit]").click()
        wait_until("the created task is counted on the page", lambda: shown(driver)["created"] == "1")
        wait_until("the page equals /analytics/me", shows_the_api(driver, "/analytics/me"))
        complete = wait_until("the task is listed", lambda: driver.find_elements(
            By.CSS_SELECTOR, "#new-tasks button"))
        complete[0].click()
        wait_until("the completion is counted on the page", lambda: shown(driver)["completed"] == "1")
        wait_until("the page equals /analytics/me", shows_the_api(driver, "/analytics/me"))

        for _ in range(20):
            driver.find_element(By.CSS_SELECTOR, "#create button[type=submit]").click()
            time.sleep(0.3)
        wait_until("every created task shows", lambda: driver.execute_script(
            "return window.taskpulseDashboard.pending.length === 0"), limit=30)
        latencies = driver.execute_script("return window.taskpulseDashboard.latencies")
        if len(latencies) != 22:
            raise AssertionError("expected 22 measured effects, got %d" % len(latencies))

        driver.find_element(By.CSS_SELECTOR, "input[name=view][value=global]").click()
        driver.find_element(By.CSS_SELECTOR, "#identity button[type=submit]").click()
        wait_until("the page equals /analytics/global",
                   shows_the_api(driver, "/analytics/global", scopes="analytics:read"))
        simulator = subprocess.Popen(
            [BINARY, "simulate", "--url", URL, "--users", "5", "--tasks", "60", "--rate", "6",
             "--chaos", "--quiet", "--seed", "13"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        seen, last = set(), None
        while simulator.poll() is None:
            now = shown(driver)["created"]
            if now != last:
                seen.add(now)
                last = now
            time.sleep(0.1)
        output = simulator.stdout.read()
        if simulator.returncode != 0:
            raise AssertionError("the simulator failed:\n" + output)
        if len(seen) < 3:
            raise AssertionError("the global numbers moved only %d times during the simulation" % len(seen))
        wait_until("the page equals /analytics/global",
                   shows_the_api(driver, "/analytics/global", scopes="analytics:read"), limit=30)
        if driver.execute_script("return window.taskpulseDashboard.loadedAt") != loaded_at:
            raise AssertionError("the page was reloaded")
        transferred = driver.execute_script("""
            return performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation'))
              .filter((e) => !e.name.includes('/analytics/') && !e.name.includes('/tasks') && !e.name.includes('/_local/') && !e.name.includes('/health'))
              .reduce((sum, e) => sum + e.decodedBodySize, 0)""")
        driver.save_screenshot(SCREENSHOT)
        # A 375 px-wide phone: nothing wider than the screen.
        driver.set_window_size(375, 900)
        time.sleep(0.5)
        width = driver.execute_script("return [window.innerWidth, document.documentElement.scrollWidth]")
        if width[1] > width[0]:
            raise AssertionError("at %d px the page is %d px wide" % tuple(width))
        errors = console_errors(driver)
        if errors:
            raise AssertionError("errors in the browser console: %s" % errors)
        print(json.dumps({"latencies_ms": latencies, "global_values_seen": len(seen),
                          "page_bytes": transferred}))
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
