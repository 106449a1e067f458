/* The clocks of the main view's header and the wall's head, ticked by this script once a second.
 *
 * An element with data-nsp-clock shows the browser's time in its format:
 *   main        "HH:MM:SS local · HH:MM UTC" (the word "local" from data-nsp-clock-local)
 *   wall-local  "HH:MM:SS"
 *   wall-utc    "HH:MM UTC · YYYY-MM-DD"
 * A Dash timer and callback did this before: every tick went through Dash's store, whose
 * renderer then checked every component of the page, some 3.5 % of a core for a clock on an
 * open page. The elements have no children in Dash's layout, so Dash never writes their text.
 * Served by the app itself (dashboard/assets); no inline script, so the CSP holds. */
(function () {
    "use strict";
    const p = x => String(x).padStart(2, "0");
    const local = d => `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
    const FORMATS = {
        "main": (d, el) => `${local(d)} ${el.dataset.nspClockLocal || "local"} · `
            + `${p(d.getUTCHours())}:${p(d.getUTCMinutes())} UTC`,
        "wall-local": d => local(d),
        "wall-utc": d => `${p(d.getUTCHours())}:${p(d.getUTCMinutes())} UTC · ${d.toISOString().slice(0, 10)}`,
    };

    function tick() {
        const now = new Date();
        for (const el of document.querySelectorAll("[data-nsp-clock]")) {
            const format = FORMATS[el.dataset.nspClock];
            const text = format ? format(now, el) : "";
            if (el.textContent !== text) {
                el.textContent = text;
            }
        }
        setTimeout(tick, 1000 - now.getMilliseconds() + 5);  // just after the next second
    }

    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", tick);
    } else {
        tick();
    }
})();
