"""The tests' browser (tests/support/chrome.py): the pages of desktop windows, and nothing left
running after it is closed."""

from __future__ import annotations

import time

from tests.support import chrome


def test_the_tests_browser_draws_a_desktop_windows_page_and_ends_with_its_session():
    driver = chrome.start()
    try:
        driver.get("data:text/html,<p>nsp</p>")
        # a desktop Chromium window of 1920x1080 draws a 1920x937 page; window() gives that page
        assert driver.execute_script("return [innerWidth, innerHeight]") == [1920, 1080 - chrome.BARS]
        chrome.window(driver, 1366, 768)
        assert driver.execute_script("return [innerWidth, innerHeight]") == [1366, 768 - chrome.BARS]
        browser = chrome.browser_pids(driver)
        assert len(browser) >= 3, browser  # the browser, its renderer, its other helpers
    finally:
        driver.quit()
    # every process of the browser ends with it (the headless shell's launcher script left the
    # browser itself running, with its renderer, after chromedriver's quit)
    deadline = time.monotonic() + 10
    while True:
        procs = chrome.processes()
        left = sorted(pid for pid in browser if pid in procs and procs[pid][1] != "Z")
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert left == [], [procs[pid][2][:80] for pid in left]
