/* One time format on every page (dashboard/components/times.py, its twin in Python): an
 * event's time in UTC, "HH:MM" on today's UTC date, "MM-DD HH:MM" otherwise; with " UTC"
 * where no heading says so. Popups, tooltips, the event list and the details all write times
 * so; never the raw "2026-12-05T17:09:28Z". */
window.nsp = Object.assign({}, window.nsp, {
    time: (function () {
        const p = x => String(x).padStart(2, "0");
        function today(now) {
            const d = now || new Date();
            return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}`;
        }
        // "2026-11-22T01:55:31Z" -> "11-22 01:55" (times.short_time)
        function short(iso) {
            return iso ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : "–";
        }
        // times.clock_time: the time alone on today's UTC date, else the date too
        function clock(iso, now) {
            if (!iso) return "–";
            return iso.slice(0, 10) === today(now) ? iso.slice(11, 16) : short(iso);
        }
        // times.event_time
        function event(iso, now) {
            return iso ? clock(iso, now) + " UTC" : "–";
        }
        return {short: short, clock: clock, event: event};
    })()
});
// the event list's time column (dash-ag-grid calls functions of this namespace by name)
window.dashAgGridFunctions = Object.assign({}, window.dashAgGridFunctions, {
    nspTime: iso => window.nsp.time.clock(iso)
});
