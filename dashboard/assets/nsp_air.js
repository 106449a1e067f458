/* The air layer (aircraft and UAVs; geo/air.py, dashboard/components/airlayer.py), drawn in
 * the browser: the Python side names these functions with Namespace("nsp", "air"). The
 * shapes and colours come from geo/symbology.py AIR_STYLE through /vocab.js. */
window.nsp = Object.assign({}, window.nsp, {
    air: (function () {
        const A = window.nspVocab.air;
        const esc = s => String(s === undefined || s === null ? "" : s).replace(/[&<>"']/g,
            c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));

        function symbol(kind, track) {
            const s = A[kind];
            const n = s.size, h = n / 2;
            // as large as the other marks: the wall's grow with the screen (--nsp-mark-scale, 2 on 4K)
            const size = `style="width: calc(${n}px * var(--nsp-mark-scale, 1)); height: calc(${n}px * var(--nsp-mark-scale, 1))"`;
            if (s.shape === "arrowhead") {  // pointing along the track (north when unknown)
                const turn = typeof track === "number" ? track : 0;
                return `<svg class="nsp-air-sym" width="${n}" height="${n}" ${size} viewBox="0 0 ${n} ${n}">` +
                    `<g transform="rotate(${turn} ${h} ${h})"><polygon points="${h},1 ${n - 2},${n - 2} ${h},${n * 0.7} 2,${n - 2}" ` +
                    `fill="${s.fill}" stroke="${s.stroke}" stroke-width="1.5"/></g></svg>`;
            }
            if (s.shape === "quadcopter") {  // four rotors round a cross: never turned
                const r = n * 0.2, a = r + 1, b = n - r - 1;
                const rotors = [[a, a], [b, a], [a, b], [b, b]].map(([x, y]) =>
                    `<circle cx="${x}" cy="${y}" r="${r}" fill="${s.fill}" stroke="${s.stroke}" stroke-width="1.2"/>`).join("");
                return `<svg class="nsp-air-sym" width="${n}" height="${n}" ${size} viewBox="0 0 ${n} ${n}">` +
                    `<path d="M${a},${a} L${b},${b} M${b},${a} L${a},${b}" stroke="${s.fill}" stroke-width="3"/>${rotors}` +
                    `<rect x="${h - 2.5}" y="${h - 2.5}" width="5" height="5" fill="${s.fill}" stroke="${s.stroke}"/></svg>`;
            }
            return `<svg class="nsp-air-sym" width="${n}" height="${n}" ${size} viewBox="0 0 ${n} ${n}">` +
                `<circle cx="${h}" cy="${h}" r="${h - 2}" fill="${s.fill}" stroke="${s.stroke}" stroke-width="2"/></svg>`;
        }

        return {
            airStyle: function (feature) {
                const p = feature.properties;
                if (p.link) {
                    return {color: A.operator.link, weight: 1.5, opacity: 0.8, dashArray: "3 5", className: "nsp-air nsp-air-link"};
                }
                const s = A[p.kind] || A.aircraft;
                return {color: s.trail, weight: 2, opacity: 0.75, className: `nsp-air nsp-air-trail nsp-air-${p.kind}-trail`};
            },
            airPoint: function (feature, latlng) {
                const p = feature.properties;
                const kind = A[p.kind] ? p.kind : "aircraft";
                const label = kind === "operator" ? "" :
                    `<span class="nsp-air-label"><span class="nsp-air-cs">${esc(p.cs)}</span>` +
                    (p.alt ? `<span class="nsp-air-alt">${esc(p.alt)}</span>` : "") + `</span>`;
                const html = `<div class="nsp-air-mark nsp-air-${kind}" data-id="${esc(p.id)}">${symbol(kind, p.trk)}${label}</div>`;
                const title = kind === "operator" ? `${p.cs}: operator` :
                    `${p.cs}${p.reg ? " (" + p.reg + ")" : ""}${p.alt ? " " + p.alt : ""}` +
                    `${typeof p.kn === "number" ? ", " + Math.round(p.kn) + " kn" : ""}`;
                return L.marker(latlng, {icon: L.divIcon({html: html, className: "nsp-air nsp-air-icon", iconSize: [0, 0]}),
                    title: title, keyboard: false});
            },
        };
    })(),
});
