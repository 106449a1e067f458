/* The neighbour picture's layer (dashboard/components/neighbours.py): partner centres' shared
 * features, drawn apart from the own picture — a hollow diamond with the partner's country
 * code for events and units, a dashed outline for sections. */
window.nspNeighbours = Object.assign({}, window.nspNeighbours, {
    map: (function () {
        const esc = s => String(s == null ? "" : s).replace(/[&<>"']/g,
            c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
        const COLOUR = "#6b4fa0";
        return {
            point: function (feature, latlng) {
                const p = feature.properties;
                const html = `<div class="nsp-neighbour"><span class="nsp-neighbour-sym">&#9671;</span>` +
                    `<span class="nsp-neighbour-cc">${esc(p.country)}</span></div>`;
                return L.marker(latlng, {icon: L.divIcon({html: html, className: "nsp-neighbour-icon", iconSize: [0, 0]}),
                    interactive: true, keyboard: false});
            },
            style: function () {
                return {color: COLOUR, weight: 2, dashArray: "6 4", fill: false, className: "nsp-neighbour-area"};
            },
            each: function (feature, layer) {
                const p = feature.properties;
                const what = [p.country, p.layer, p.category, p.impact, p.persons != null ? p.persons + " persons" : "",
                              p.section, p.time ? p.time.slice(0, 16).replace("T", " ") + " UTC" : ""];
                layer.bindTooltip(esc(what.filter(x => x).join(" · ")));
            },
        };
    })(),
});
