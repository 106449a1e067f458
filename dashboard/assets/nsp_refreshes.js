/* The page's refresh count, for whoever waits on a refresh rather than on the clock (the
 * browser tests: tests/support/browser.py).
 *
 * A refreshing page (the main view, the wall) ticks a timer (main-refresh, wall-refresh);
 * each tick starts one Dash callback request per part of the page. This script notes, on the
 * <html> element:
 *   data-nsp-refresh-timer  the timer's id
 *   data-nsp-refresh-sent   the last tick whose requests went out
 *   data-nsp-refreshes      the last tick whose every request has answered and been drawn
 * Served by the app itself (dashboard/assets); no inline script, so the CSP holds. */
(function () {
    "use strict";
    const TIMERS = ["main-refresh", "wall-refresh"];
    const open = {};  // tick -> requests not answered yet
    const realFetch = window.fetch.bind(window);

    function tickOf(init) {
        let body;
        try {
            body = JSON.parse(init.body);
        } catch (e) {
            return null;
        }
        const changed = body.changedPropIds || [];
        for (const input of (body.inputs || []).flat()) {
            if (input && TIMERS.includes(input.id) && input.property === "n_intervals"
                    && changed.includes(input.id + ".n_intervals") && typeof input.value === "number") {
                return [input.id, input.value];
            }
        }
        return null;
    }

    function note(name, value) {
        const root = document.documentElement;
        if (name === "nspRefreshes" || name === "nspRefreshSent") {
            value = Math.max(value, parseInt(root.dataset[name], 10) || 0);
        }
        root.dataset[name] = String(value);
    }

    window.fetch = function (input, init) {
        const answer = realFetch(input, init);
        const url = typeof input === "string" ? input : (input && input.url) || "";
        const found = url.indexOf("_dash-update-component") !== -1 && init && typeof init.body === "string"
            ? tickOf(init) : null;
        if (found) {
            const [timer, tick] = found;
            open[tick] = (open[tick] || 0) + 1;
            note("nspRefreshTimer", timer);
            note("nspRefreshSent", tick);
            // Dash draws an answer once it has read it: count the tick a frame after that.
            const settle = function () {
                setTimeout(function () {
                    requestAnimationFrame(function () {
                        open[tick] -= 1;
                        if (open[tick] === 0) {
                            delete open[tick];
                            note("nspRefreshes", tick);
                        }
                    });
                }, 0);
            };
            answer.then(function (r) { return r.clone().text(); }).then(settle, settle);
        }
        return answer;
    };
})();
