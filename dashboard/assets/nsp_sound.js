// A chime when a new high or very high event arrives: the main page's alert bar (with the
// "sound" box ticked, kept in this browser) and the wall's banners (?sound=1 or
// NSP_WEB_WALL_SOUND). Made in the browser with the Web Audio API: no sound file, nothing
// loaded. High: two tones; very high: three, rising. The events already shown when the page
// opens make no sound, only those that arrive after.
//
// Browsers start audio only on a page the user has touched (a click, a key): on the main page
// ticking the box is such a touch; after a reload, the first click anywhere. An unattended wall
// needs its browser started with --autoplay-policy=no-user-gesture-required (README).
window.nsp = Object.assign({}, window.nsp, {
    sound: (function () {
        let context = null;
        let newest;          // the main page: the newest alert time heard of (undefined: none yet)
        let banners = null;  // the wall: the events whose banners were already shown

        function audio() {
            const Context = window.AudioContext || window.webkitAudioContext;
            if (!Context) return null;
            if (!context) context = new Context();
            if (context.state === "suspended") context.resume();
            return context;
        }

        function chime(impact) {
            const c = audio();
            if (!c) return false;
            const tones = impact === "very_high" ? [660, 880, 1175] : [660, 880];
            tones.forEach((hz, i) => {
                const start = c.currentTime + 0.05 + i * 0.24;
                const tone = c.createOscillator(), gain = c.createGain();
                tone.type = "sine";
                tone.frequency.value = hz;
                gain.gain.setValueAtTime(0.0001, start);
                gain.gain.exponentialRampToValueAtTime(0.35, start + 0.02);
                gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.22);
                tone.connect(gain).connect(c.destination);
                tone.start(start);
                tone.stop(start + 0.23);
            });
            return true;
        }

        const none = () => window.dash_clientside.no_update;

        return {
            chime: chime,

            // The box was ticked: a touch, so the browser lets the page make sound from now on.
            unlock: function (on) {
                if (on && on.length) audio();
                return none();
            },

            // The alert bar's newest alert time changed (main-alert-newest, which the page
            // starts with the time it was made: what was on the bar then is not new).
            alert: function (alertedAt, className, on) {
                if (!alertedAt) return none();
                const known = newest;
                if (known === undefined || alertedAt > known) newest = alertedAt;
                if (known === undefined || alertedAt <= known) return none();
                if (!(on && on.length) || /nsp-hidden/.test(className || "")) return none();
                // the newest alert's impact (nsp-newest-…); the bar shows the most severe
                const m = /nsp-newest-(\w+)/.exec(className) || /nsp-alert-(very_high)/.exec(className);
                chime(m && m[1] === "very_high" ? "very_high" : "high");
                return alertedAt;
            },

            // The wall's banners were drawn (wall-banners' children).
            banners: function (children) {
                const items = (Array.isArray(children) ? children : [children])
                    .map(c => (c && c.props) || {}).filter(p => p["data-event"]);
                const first = banners === null;
                banners = banners || new Set();
                const fresh = items.filter(p => !banners.has(p["data-event"]));
                fresh.forEach(p => banners.add(p["data-event"]));
                const page = document.querySelector(".wall-page");
                if (first || !fresh.length || !page || page.dataset.nspSound !== "1") return none();
                chime(fresh.some(p => /very_high/.test(p.className || "")) ? "very_high" : "high");
                return fresh.map(p => p["data-event"]);
            },
        };
    })(),
});
