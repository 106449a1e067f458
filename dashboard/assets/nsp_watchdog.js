/* Connection watchdog for the pages that refresh themselves (the wall, the main view).
 *
 * DATA STALE is decided by the server; when the server itself cannot be reached (it is
 * restarting, the network is down) no callback answers and the page would go on showing its
 * last picture, with a green LIVE sign, as if nothing were wrong. This script notes when a
 * Dash callback last answered; with no answer for three refresh periods (the page's
 * data-nsp-refresh-ms; at least 30 s) it shows NO CONNECTION with the time of the last
 * update, and hides it at the next answer. When the session has ended (401), a page of the
 * main view goes to the login with its deep link; a wall keeps the sign ("signed out").
 * Served by the app itself (dashboard/assets); no inline script, so the CSP holds. */
(function () {
    "use strict";
    let lastOk = Date.now();
    let signedOut = false;
    const realFetch = window.fetch.bind(window);

    window.fetch = function (input, init) {
        const url = typeof input === "string" ? input : (input && input.url) || "";
        const answer = realFetch(input, init);
        if (url.indexOf("_dash-update-component") !== -1) {
            answer.then(function (r) {
                if (r.ok || r.status === 204) {
                    lastOk = Date.now();
                    signedOut = false;
                } else if (r.status === 401) {
                    signedOut = true;
                    if (location.pathname.indexOf("/wall") !== 0) {
                        location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
                    }
                }
            }, function () { /* no answer at all: the timer below notices */ });
        }
        return answer;
    };

    // Only pages that refresh themselves are watched (the export and audit pages call the
    // server only when asked); a page that appears starts with a clean slate.
    let watching = false;

    function limitMs(page) {
        if (window.nspWatchdogLimitMs) {  // tests shorten it
            return window.nspWatchdogLimitMs;
        }
        const refresh = parseInt(page.getAttribute("data-nsp-refresh-ms"), 10) || 15000;
        return Math.max(30000, 3 * refresh);
    }

    function hhmmss(t) {
        const d = new Date(t);
        return d.toISOString().substring(11, 19) + " UTC";
    }

    function check() {
        const page = document.querySelector("[data-nsp-refresh-ms]");
        if (!page) {
            watching = false;
        } else if (!watching) {
            watching = true;
            lastOk = Date.now();
        }
        const lost = watching && (signedOut || Date.now() - lastOk > limitMs(page));
        let sign = document.getElementById("nsp-offline");
        if (lost && !sign) {
            sign = document.createElement("div");
            sign.id = "nsp-offline";
            sign.setAttribute("role", "alert");
            document.body.appendChild(sign);
        }
        if (sign) {
            sign.hidden = !lost;
            if (lost) {
                // The page may give the words in its language (the wall: data-nsp-offline,
                // data-nsp-signed-out, with {time}); English otherwise.
                const words = page && page.getAttribute(signedOut ? "data-nsp-signed-out" : "data-nsp-offline");
                sign.textContent = words ? words.replace("{time}", hhmmss(lastOk)) :
                    (signedOut ? "SIGNED OUT" : "NO CONNECTION") + " — the picture is from " + hhmmss(lastOk) +
                    (signedOut ? "; open the kiosk link again" : "; retrying");
            }
        }
        document.documentElement.classList.toggle("nsp-offline", lost);
    }

    setInterval(check, 2000);
})();
