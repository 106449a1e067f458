"""The tests' browser (tests/support/chrome.py): the pages of desktop windows, and nothing left
running after it is closed."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support import chrome


def _processes() -> dict[int, tuple[int, str]]:
    """{pid: (parent pid, state)} of the processes running now."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # ended meanwhile
            found[int(entry.name)] = (int(fields[1]), fields[0])
    return found


def _descendants(root: int) -> set[int]:
    procs = _processes()
    found, todo = set(), [root]
    while todo:
        parent = todo.pop()
        for pid, (ppid, _state) in procs.items():
            if ppid == parent and pid not in found:
                found.add(pid)
                todo.append(pid)
    return found


def test_the_tests_browser_draws_a_desktop_windows_page_and_ends_with_its_session():
    driver = chrome.start()
    try:
        driver.get("data:text/html,<p>nsp</p>")
        # a desktop Chromium window of 1920x1080 draws a 1920x937 page; window() gives that page
        assert driver.execute_script("return [innerWidth, innerHeight]") == [1920, 1080 - chrome.BARS]
        chrome.window(driver, 1366, 768)
        assert driver.execute_script("return [innerWidth, innerHeight]") == [1366, 768 - chrome.BARS]
        browser = _descendants(driver.service.process.pid)
        assert len(browser) >= 3, browser  # the browser, its renderer, its other helpers
    finally:
        driver.quit()
    # every process of the browser ends with it (the headless shell's launcher script left the
    # browser itself running, with its renderer, after chromedriver's quit)
    deadline = time.monotonic() + 10
    while True:
        procs = _processes()
        left = sorted(pid for pid in browser if pid in procs and procs[pid][1] != "Z")
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert left == [], [Path(f"/proc/{pid}/cmdline").read_bytes()[:80] for pid in left if Path(f"/proc/{pid}").exists()]
