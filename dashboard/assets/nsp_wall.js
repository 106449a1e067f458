/* The wall's map view (pages/wall.py): fitted into the part of the map that the header and
 * the banners leave clear. A banner that comes or goes changes that part, so the view is
 * fitted again; a refresh that leaves them as they were changes nothing. */
window.nsp = Object.assign({}, window.nsp, {
    wall: (function () {
        let fitted = null;  // the last view sent to the map, as JSON

        // Pixels from the top of the map to the bottom of what covers it: the header, and the
        // banners when there are any.
        function coveredTop() {
            const map = document.querySelector(".wall-map");
            if (!map) return 0;
            const top = map.getBoundingClientRect().top;
            let bottom = top;
            for (const sel of [".wall-head", ".wall-banners"]) {
                const el = document.querySelector(sel);
                if (el && el.childElementCount) bottom = Math.max(bottom, el.getBoundingClientRect().bottom);
            }
            return Math.round(bottom - top);
        }

        function view(target, info) {
            // no rotation step yet: the overview (the country, or a sections-only wall's sections)
            const t = target || (info && info.overview ? {bounds: info.overview} : null);
            if (!t || !t.bounds) return window.dash_clientside.no_update;
            const pad = t.options && t.options.padding ? t.options.padding[0] : 10;
            // below: room for half a group (the largest count is 52 px, grown with the markers),
            // or the events on the southern border were cut by the screen's bottom edge
            const scale = window.nsp.map && window.nsp.map.markScale ? window.nsp.map.markScale() : 1;
            const options = {paddingTopLeft: [pad, coveredTop() + pad], paddingBottomRight: [pad, pad + Math.ceil(26 * scale)]};
            const key = JSON.stringify([t.bounds, options]);
            if (key === fitted) return window.dash_clientside.no_update;
            const first = fitted === null;
            fitted = key;
            // the first fit replaces build_map's (header only) at once; later ones glide
            return {bounds: t.bounds, transition: first ? "fitBounds" : (t.transition || "flyToBounds"), options: options};
        }

        // The section list in pages. When the panel is too short for every section it shows as
        // many whole rows as fit, "5–8 of 22" in its title, and turns the page every
        // data-nsp-page-ms (NSP_WEB_WALL_PAGE_SECONDS; 0: no pages, the list is cut). The rows
        // are most severe first, so the first page holds the most severe. A refresh that
        // redraws the rows keeps the page; a resize counts the rows that fit again.
        const pages = (function () {
            let box = null, page = 0;
            const redrawn = new MutationObserver(() => show());

            // Where each page starts: the rows laid out as they are, a page ends before the
            // first row that would not be whole in the box. (Pages of "the tallest row" fitted
            // 8 rows of 15 when one name took two lines.)
            function breaks(rows) {
                const room = box.clientHeight + 0.5;
                const tops = rows.map(r => r.offsetTop), bottoms = rows.map(r => r.offsetTop + r.offsetHeight);
                const starts = [0];
                for (let i = 1; i < rows.length; i++) {
                    if (bottoms[i] - tops[starts[starts.length - 1]] > room) starts.push(i);
                }
                return starts;
            }

            function show() {
                if (!box) return;
                const root = document.querySelector(".wall-page");
                const mark = document.getElementById("wall-sections-page");
                const rows = Array.from(box.children);
                rows.forEach(r => { r.hidden = false; });
                box.classList.remove("wall-paged");
                if (mark) mark.textContent = "";
                if (!rows.length || !root || !(Number(root.dataset.nspPageMs) > 0)) return;
                const starts = breaks(rows);
                if (starts.length < 2) { page = 0; return; }
                page %= starts.length;
                const first = starts[page], last = page + 1 < starts.length ? starts[page + 1] : rows.length;
                rows.forEach((r, i) => { r.hidden = i < first || i >= last; });
                box.classList.add("wall-paged");
                const range = last === first + 1 ? `${last}` : `${first + 1}–${last}`;
                if (mark) mark.textContent = (root.dataset.nspPageWords || "{range} of {n}")
                    .replace("{range}", range).replace("{n}", rows.length);
            }

            // the list appears when Dash has drawn the page (and again if it draws it anew)
            function attach() {
                const el = document.getElementById("wall-sections");
                if (el === box) return;
                redrawn.disconnect();
                box = el;
                page = 0;
                if (box) {
                    redrawn.observe(box, {childList: true, subtree: true, characterData: true});
                    show();
                }
            }

            function start() {
                setInterval(attach, 500);
                window.addEventListener("resize", show);
                let ms = 0;
                const tick = () => {
                    const root = document.querySelector(".wall-page");
                    const want = root ? Number(root.dataset.nspPageMs) || 0 : 0;
                    if (want > 0 && ms > 0) { page += 1; show(); }
                    ms = want;
                    setTimeout(tick, want > 0 ? want : 1000);
                };
                tick();
            }

            return {start: start};
        })();
        pages.start();

        return {
            coveredTop: coveredTop,
            // measured after the browser has drawn the banners that triggered the call
            fit: function (target, info) {
                return new Promise(resolve => requestAnimationFrame(() => resolve(view(target, info))));
            }
        };
    })()
});
