"""Take the docs' screenshots (docs/img/wall.png, docs/img/main.png) from a running demo.

    NSP_DEMO_PORT=18750 nsp demo &          # or make demo; wait until the history is loaded
    .venv/bin/python docs/_tools/screenshots.py --base http://127.0.0.1:18750
    pngquant --force --quality 60-85 --output docs/img/wall.png /tmp/wall.png   # and main.png

Headless Chromium at 1920×1080 CSS pixels, saved at a device scale of 0.75 (1440×810) so the
files stay small. The wall is opened with the demo's kiosk link and taken on its first page of
sections; the main view as the demo's watch officer.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8050")
    parser.add_argument("--demo-dir", type=Path, default=ROOT / ".nsp" / "demo")
    parser.add_argument("--out", type=Path, default=Path("/tmp"))
    args = parser.parse_args()
    creds = json.loads((args.demo_dir / "credentials.json").read_text())
    token = (args.demo_dir / "kiosk_token").read_text().strip()

    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--force-device-scale-factor=0.75"):
        opts.add_argument(arg)
    service = webdriver.ChromeService(executable_path="/usr/bin/chromedriver")
    driver = webdriver.Chrome(options=opts, service=service)
    try:
        driver.set_window_size(1920, 1080)
        for _ in range(3):  # the window's inner size, not its outer size, is 1920×1080
            inner_w, inner_h = driver.execute_script("return [window.innerWidth, window.innerHeight]")
            size = driver.get_window_size()
            driver.set_window_size(size["width"] + 1920 - inner_w, size["height"] + 1080 - inner_h)

        driver.get(f"{args.base}/kiosk/{token}")
        WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".leaflet-interactive"))
        time.sleep(8)  # the labels placed, the banners fitted
        WebDriverWait(driver, 40, poll_frequency=0.2).until(
            lambda d: "1\u2013" in d.find_element(By.TAG_NAME, "body").text)  # the first page of sections
        time.sleep(1)
        driver.save_screenshot(str(args.out / "wall.png"))

        driver.delete_all_cookies()
        driver.get(f"{args.base}/login")
        driver.find_element(By.ID, "login-username").send_keys("watch")
        driver.find_element(By.ID, "login-password").send_keys(creds["watch"])
        driver.find_element(By.ID, "login-submit").click()
        WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".leaflet-interactive"))
        time.sleep(12)
        driver.save_screenshot(str(args.out / "main.png"))
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
