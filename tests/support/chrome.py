"""One headless Chromium (selenium) per test process, made clean again before every test.

Starting Chromium takes seconds; a test gets the session's browser back as a fresh one:
one window at 1920x1080 on about:blank, no cookies, no storage of the origins the tests
served, no emulated network conditions or blocked URLs, empty logs, and less motion asked for.

Less motion (``prefers-reduced-motion: reduce``): the headless browser draws with Chromium's
software compositor, and an open main view or wall with a very high event pulsing (nsp.css's
endless ``nsp-pulse``) kept it drawing full-size frames 60 times a second, about half a core
per browser; with two test processes the browsers starved each other. The page's answer to
less motion is the same picture without the pulse and the zoom and pan animations (nsp.css,
nsp_map.js). A test about the motion itself asks for it with :func:`full_motion`, before it
loads its page.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# The tests' browser is Chromium's headless shell (Debian's chromium-headless-shell: the same
# engine, version and chromedriver as the desktop chromium, without the desktop browser's window
# to draw around the page), started as the program itself: Debian's /usr/bin launcher is a script
# that runs it as a child, and chromedriver's quit ended the script and left the browser running.
# The shell's page is its whole window, where the desktop Chromium's window keeps BARS px of its
# height for its bars (a 1920x1080 window draws a 1920x937 page): the tests' sizes are desktop
# windows', and :func:`window` gives the shell's page the size of such a window's. The map
# benchmark runs the desktop browser (``start(less_work=False)``).
CHROMIUM = os.environ.get("NSP_TEST_CHROMIUM", "/usr/lib/chromium/chromium-headless-shell")
DESKTOP_CHROMIUM = os.environ.get("NSP_BENCH_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("NSP_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
SIZE = (1920, 1080)
BARS = 143
SCREENSHOTS = Path(__file__).resolve().parents[1] / "browser" / "screenshots"

# Less of the browser's CPU per page, for the tests only (a desk's or a wall's browser keeps its
# defaults). Chromium gave each page loaded with driver.get() (about:blank, the login, the page
# under test) a new renderer process, which compiled Dash's scripts again: here one renderer
# serves every page, kept from page to page (the tests' pages are all on 127.0.0.1 and trusted,
# so site isolation protects nothing here). A main view load cost the browser about 4 core-s
# with the defaults and 2.6-3.2 with one renderer; the browser round 662 busy core-s with the
# defaults and 525-528 with one renderer (runs one after the other, on a 2-core machine).
LESS_WORK = ("--renderer-process-limit=1", "--disable-features=site-per-process",
             "--disable-site-isolation-trials")


def start(width: int = SIZE[0], height: int = SIZE[1], less_work: bool = True):
    """A new headless Chromium; a missing Chromium or chromedriver fails the test (never a skip).
    ``less_work=False``: the desktop Chromium with its own defaults instead of the headless shell
    with LESS_WORK (a benchmark's timing)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, bars = (CHROMIUM, BARS) if less_work else (DESKTOP_CHROMIUM, 0)
    if not (shutil.which(binary) and shutil.which(CHROMEDRIVER)):
        pytest.fail(f"Chromium ({binary}) and chromedriver ({CHROMEDRIVER}) are needed for the browser tests",
                    pytrace=False)
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-dev-shm-usage", f"--window-size={width},{height - bars}", "--hide-scrollbars",
                *(LESS_WORK if less_work else ())):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.execute_cdp_cmd("Network.enable", {})
    return driver


def alive(driver) -> bool:
    try:
        driver.window_handles  # noqa: B018 - a round trip to the browser
    except Exception:  # noqa: BLE001 - a crashed browser or driver answers with anything
        return False
    return True


def reset(driver, origins=()) -> None:
    """Make the session's browser as a new one (see the module's note)."""
    handles = driver.window_handles
    for extra in handles[1:]:
        driver.switch_to.window(extra)
        driver.close()
    driver.switch_to.window(handles[0])
    driver.get("about:blank")
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    for origin in origins:
        driver.execute_cdp_cmd("Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"})
    less_motion(driver)
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions",
                           {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    if driver.get_window_size() != {"width": SIZE[0], "height": SIZE[1] - BARS}:
        window(driver, *SIZE)
    driver.get_log("performance")
    driver.get_log("browser")


def window(driver, width: int, height: int) -> None:
    """The tests' browser (the headless shell) draws the page of a desktop Chromium window of
    ``width`` x ``height``: ``height`` - BARS tall."""
    driver.set_window_size(width, height - BARS)


def kiosk(driver, width: int, height: int) -> None:
    """A page of ``width`` x ``height`` exactly: a wall's browser in kiosk mode (full screen,
    no bars), where :func:`window` draws a desktop window's smaller page."""
    driver.set_window_size(width, height)


def processes() -> dict[int, tuple[int, str, bytes]]:
    """{pid: (parent pid, state, command line)} of the processes running now."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue  # ended meanwhile
        found[int(entry.name)] = (int(fields[1]), fields[0], cmdline)
    return found


def browser_pids(driver, table: dict | None = None) -> set[int]:
    """The processes under ``driver``'s chromedriver (its browser and the browser's helpers)."""
    table = processes() if table is None else table
    children: dict[int, list[int]] = {}
    for pid, (parent, _state, _cmdline) in table.items():
        children.setdefault(parent, []).append(pid)
    found, todo = set(), [driver.service.process.pid]
    while todo:
        for pid in children.get(todo.pop(), ()):
            if pid not in found:
                found.add(pid)
                todo.append(pid)
    return found


def renderer_pids(driver) -> list[int]:
    """The renderer processes of ``driver``'s Chromium (the processes under its chromedriver)."""
    table = processes()
    return sorted(pid for pid in browser_pids(driver, table) if b"--type=renderer" in table[pid][2])


def less_motion(driver) -> None:
    """The browser asks pages for less motion (every test's default; see the module's note)."""
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia",
                           {"media": "", "features": [{"name": "prefers-reduced-motion", "value": "reduce"}]})


def full_motion(driver) -> None:
    """The browser asks for nothing about motion, as a wall's or a desk's browser by default."""
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "", "features": []})


class Session:
    """The test process's Chromium, started at first use, restarted if it died."""

    def __init__(self):
        self.driver = None
        self.origins: set[str] = set()

    def fresh(self):
        if self.driver is not None and not alive(self.driver):
            self.close()
        if self.driver is None:
            self.driver = start()
        reset(self.driver, sorted(self.origins))
        return self.driver

    def leave(self) -> None:
        """Close the page shown (``about:blank``), if the browser was started and still runs."""
        if self.driver is not None and alive(self.driver):
            self.driver.get("about:blank")

    def close(self) -> None:
        if self.driver is not None:
            try:
                self.driver.quit()
            finally:
                self.driver = None


def screenshot(driver, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path
