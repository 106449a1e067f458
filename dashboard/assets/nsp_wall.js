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
            const options = {paddingTopLeft: [pad, coveredTop() + pad], paddingBottomRight: [pad, pad]};
            const key = JSON.stringify([t.bounds, options]);
            if (key === fitted) return window.dash_clientside.no_update;
            const first = fitted === null;
            fitted = key;
            // the first fit replaces build_map's (header only) at once; later ones glide
            return {bounds: t.bounds, transition: first ? "fitBounds" : (t.transition || "flyToBounds"), options: options};
        }

        return {
            coveredTop: coveredTop,
            // measured after the browser has drawn the banners that triggered the call
            fit: function (target, info) {
                return new Promise(resolve => requestAnimationFrame(() => resolve(view(target, info))));
            }
        };
    })()
});
