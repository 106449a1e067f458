/* Map styling for nsp, run in the browser (the dash-leaflet "assign + hideout" pattern).
 * The Python side refers to these functions by name with
 * dash_extensions.javascript.Namespace("nsp", "map"); callbacks then send data or hideout
 * parameters only, never the styling. Served by the app itself (dashboard/assets). */
window.nsp = Object.assign({}, window.nsp, {
    map: (function () {
        // The vocabulary and its symbols come from Python (nsp/vocab.py, geo/symbology.py),
        // served as /vocab.js before this file: categories (colour-blind-safe colours and a
        // shape each), impacts, and a section's level as colour, line width and bars.
        const V = window.nspVocab;
        const CAT = Object.fromEntries(V.categories.map(c => [c, {
            colour: V.categoryStyle[c][0], shape: V.categoryStyle[c][1], label: V.categoryShort[c]}]));
        const SIZE = {low: 14, medium: 18, high: 24, very_high: 30};
        const LEVEL = V.levelColours;
        const LEVEL_WEIGHT = V.levelWeights;
        const LEVEL_BARS = V.levelBars;
        const IMPACT_LABEL = V.impactWords;
        const strongImpact = imp => V.highImpacts.includes(imp);
        // past the offline basemap's extent (geo/basemap.py OUTSIDE_STYLE, OUTSIDE_STYLE_DARK)
        const OUTSIDE = {fill: "#d5d5d5", edge: "#8d8d8d"};
        const OUTSIDE_DARK = {fill: "#14171c", edge: "#4a5260"};

        // A time as every page writes it (nsp_time.js, dashboard/components/times.py)
        const clockTime = iso => window.nsp.time.clock(iso);

        // Minutes as nsp/durations.py duration_text writes them (the units table beside the
        // map uses it): "5 min", "2 h", "16 h 38 min", "2 d 1 h"; "0 min" for a report this minute.
        function ageText(minutes) {
            if (minutes < 60) return minutes + " min";
            if (minutes >= 2 * 1440 && minutes % 1440 === 0) return minutes / 1440 + " d";
            if (minutes < 48 * 60) return Math.floor(minutes / 60) + " h" + (minutes % 60 ? " " + minutes % 60 + " min" : "");
            const hours = Math.floor((minutes % 1440) / 60);
            return Math.floor(minutes / 1440) + " d" + (hours ? " " + hours + " h" : "");
        }

        // The page's words for what the map writes (data-nsp-words on the page root: JSON of
        // English text -> its translation, from mapview.map_words); English without it.
        let wordsSource = null, words = {};
        function w(text, key) {
            const page = document.querySelector("[data-nsp-words]");
            const source = page ? page.getAttribute("data-nsp-words") : null;
            if (source !== wordsSource) {
                wordsSource = source;
                try { words = source ? JSON.parse(source) : {}; } catch (e) { words = {}; }
            }
            return words[key || text] || text;
        }
        const catLabel = c => w(c.label);
        const impactLabel = imp => w(IMPACT_LABEL[imp], "impact|" + IMPACT_LABEL[imp]);
        const statusLabel = st => w(st, "status|" + st);
        const validationLabel = v => w(v, "validation|" + v);
        // a subtype code nsp knows in the page's words, any other in its own (underscores as spaces)
        const subtypeLabel = s => s ? w(String(s).replace(/_/g, " ").replace(/\s+/g, " ").trim(), "subtype|" + s) : "";

        // ------------------------------------------------------------ label placement
        // Permanent labels are placed in order of importance, each where it overlaps nothing
        // already placed; what finds no room is hidden (visibility, so it keeps its size and
        // is measured again) until a zoom, a pan, new data or a layer switch gives it room:
        //   1. the markers (events, groups, own assets' symbols) and what the page lays over
        //      the map (OVER_MAP: the layer switch, the legend, the wall's header, banners
        //      and panel): never moved nor hidden;
        //   2. section labels, the highest impact level first: on the section's line, else
        //      beside it (above, below, right, left) clear of the markers; where every
        //      position covers a marker, the first one clear of the other labels;
        //   3. own assets' call sign and age, fresh reports before old ones: right of the
        //      symbol, else left of it (where the right side is taken or off the map);
        //   4. place names.
        const LEVEL_RANK = {critical: 0, high: 1, medium: 2, low: 3};
        const OVER_MAP = ".nsp-layer-box, .nsp-legend-box, .wall-head, .wall-banner, .wall-banner-more, .wall-panel";
        const LABEL_SPOTS = [["center", [0, 0]], ["top", [0, -8]], ["bottom", [0, 8]], ["right", [10, 0]], ["left", [-10, 0]],
            ["top", [0, -34]], ["bottom", [0, 34]], ["right", [44, 0]], ["left", [-44, 0]]];

        // How much the page enlarges markers and lines (the wall's --nsp-mark-scale, by
        // screen width; 1 elsewhere). Read again only when the page or the width changes: the
        // line style asks once per section, while the layers are being redrawn, and each
        // getComputedStyle then would lay the page out again.
        let scaleOf = [null, 0, 1];  // [page, width, scale]
        function markScale() {
            const page = document.querySelector(".wall-page");
            if (scaleOf[0] !== page || scaleOf[1] !== window.innerWidth) {
                const v = page ? parseFloat(getComputedStyle(page).getPropertyValue("--nsp-mark-scale")) || 1 : 1;
                scaleOf = [page, window.innerWidth, v];
            }
            return scaleOf[2];
        }

        function labelBox(elements) {
            let box = null;
            for (const el of elements) {
                const r = el.getBoundingClientRect();
                if (r.width === 0 || r.height === 0) continue;  // in a switched-off layer, or empty
                box = box ? {left: Math.min(box.left, r.left), top: Math.min(box.top, r.top),
                    right: Math.max(box.right, r.right), bottom: Math.max(box.bottom, r.bottom)} : r;
            }
            return box;
        }

        function overlaps(a, b, gap) {
            return a.left < b.right + gap && a.right > b.left - gap && a.top < b.bottom + gap && a.bottom > b.top - gap;
        }

        function sectionRank(layer) {
            const level = layer.feature && layer.feature.properties.level;
            return level in LEVEL_RANK ? LEVEL_RANK[level] : 9;
        }

        // Where Leaflet's Tooltip._setPosition puts a path's tooltip of size w x h whose point
        // is p (container pixels), for LABEL_SPOTS[i]: its direction class adds a 6 px margin
        // (leaflet.css) and the offset.
        const SPOT_SHIFT = {center: [0.5, 0.5, 0, 0], top: [0.5, 1, 0, -6], bottom: [0.5, 0, 0, 6],
            right: [0, 0.5, 6, 0], left: [1, 0.5, -6, 0]};

        function spotBox(p, w, h, i) {
            const [direction, [dx, dy]] = LABEL_SPOTS[i];
            const [fx, fy, mx, my] = SPOT_SHIFT[direction];
            const left = p.x - Math.round(fx * w) + dx + mx, top = p.y - Math.round(fy * h) + dy + my;
            return {left: left, top: top, right: left + w, bottom: top + h};
        }

        // Moves a section label to LABEL_SPOTS[i] as tip.update() would, without its reading
        // of the label's size (a read after a write lays the page out again).
        function moveTip(map, tip, el, w, h, i) {
            const [direction, offset] = LABEL_SPOTS[i];
            if (tip.options.direction === direction && tip.options.offset.equals &&
                tip.options.offset.equals(L.point(offset))) return;
            tip.options.direction = direction;
            tip.options.offset = L.point(offset);
            const [fx, fy] = SPOT_SHIFT[direction];
            const pos = map.latLngToLayerPoint(tip.getLatLng())
                .subtract(L.point(fx * w, fy * h, true)).add(tip.options.offset);
            el.classList.remove("leaflet-tooltip-right", "leaflet-tooltip-left", "leaflet-tooltip-top",
                "leaflet-tooltip-bottom", "leaflet-tooltip-center");
            el.classList.add("leaflet-tooltip-" + direction);
            L.DomUtil.setPosition(el, pos);
        }

        // A label placed at one of the far spots (34-44 px off its line, LABEL_SPOTS[5..8]) is
        // tied to its point on the line by a thin leader: without it, in the busy south-east,
        // a code could read as the neighbouring line's. One leader per label, in the tooltip
        // pane (layer pixels, as the labels); gone with its label.
        const FAR_SPOT = 5;
        function setLeader(map, s) {
            let leader = s.el._nspLeader;
            if (s.off || s.spot < FAR_SPOT) {
                if (leader) leader.style.display = "none";
                return;
            }
            if (!leader) {
                leader = s.el._nspLeader = L.DomUtil.create("div", "nsp-leader", s.el.parentNode);
                (map._nspLeaders = map._nspLeaders || new Set()).add(leader);
                leader._nspLabel = s.el;
            }
            // from the point to the nearest point of the label's box (container pixels)
            const box = s.box;
            const qx = Math.max(box.left, Math.min(s.p.x, box.right)), qy = Math.max(box.top, Math.min(s.p.y, box.bottom));
            const dx = qx - s.p.x, dy = qy - s.p.y;
            const at = map.latLngToLayerPoint(s.tip.getLatLng());
            leader.style.display = "";
            leader.style.width = Math.hypot(dx, dy) + "px";
            leader.style.transform = `translate3d(${at.x}px, ${at.y}px, 0) rotate(${Math.atan2(dy, dx)}rad)`;
        }

        function dropLeaders(map) {  // of labels no longer on the map (a section layer replaced)
            for (const leader of map._nspLeaders || []) {
                if (leader._nspLabel.isConnected) continue;
                leader.remove();
                map._nspLeaders.delete(leader);
            }
        }

        function placeLabels(map) {
            // Everything is read first, then placed, then written: a size read after a write
            // lays the page out again, and 36 labels tried at 9 spots each took 150 ms a pass.
            const root = map.getContainer();
            const origin = root.getBoundingClientRect();
            const local = r => r && {left: r.left - origin.left, top: r.top - origin.top,
                right: r.right - origin.left, bottom: r.bottom - origin.top};
            const view = {left: 0, top: 0, right: origin.width, bottom: origin.height};
            const inView = box => box.left >= 0 && box.right <= view.right && box.top >= 0 && box.bottom <= view.bottom;
            const clear = (box, of) => !of.some(p => overlaps(box, p, 2));
            // ---- read
            const marks = [];
            for (const el of document.querySelectorAll(OVER_MAP)) {
                const box = labelBox([el]);
                if (box && getComputedStyle(el).visibility !== "hidden") marks.push(local(box));
            }
            // (the drawn parts: on the wall they are scaled beyond their icon's box)
            // A group's count is never covered, not even by a label that finds no other room
            // (that one is hidden instead): on a wall the counts are what is read from afar.
            const counts = [];
            for (const el of root.querySelectorAll(".leaflet-marker-pane .nsp-ev svg, .leaflet-marker-pane .nsp-count, " +
                    ".leaflet-marker-pane .nsp-asset-sym")) {
                const box = labelBox([el]);
                if (!box) continue;
                marks.push(local(box));
                if (el.classList.contains("nsp-count")) counts.push(local(box));
            }
            const sections = [];
            for (const layer of map._nspSectionLayers || []) {
                const tip = layer.getTooltip(), el = tip && tip.getElement();
                if (!el || !tip.getLatLng()) continue;
                const w = el.offsetWidth, h = el.offsetHeight;  // 0 in a switched-off layer
                if (w && h) sections.push({tip: tip, el: el, w: w, h: h, rank: sectionRank(layer),
                    p: map.latLngToContainerPoint(tip.getLatLng())});
            }
            sections.sort((a, b) => a.rank - b.rank);
            const assets = Array.from(root.querySelectorAll(".leaflet-marker-pane .nsp-asset"));
            assets.sort((a, b) => a.classList.contains("nsp-asset-old") - b.classList.contains("nsp-asset-old"));
            // An own asset's call sign and age go right of its symbol, else left of it
            // (nsp-asset-left): the box of each side, from the side the label is on now.
            const assetSides = el => {
                const sym = local(labelBox(el.querySelectorAll(".nsp-asset-sym")));
                const box = local(labelBox(el.querySelectorAll(".nsp-asset-cs, .nsp-asset-age")));
                if (!sym || !box) return box ? [box] : [];
                const gap = el.classList.contains("nsp-asset-left") ? sym.left - box.right : box.left - sym.right;
                const width = box.right - box.left, y = {top: box.top, bottom: box.bottom};
                return [{...y, left: sym.right + gap, right: sym.right + gap + width, side: "right"},
                    {...y, left: sym.left - gap - width, right: sym.left - gap, side: "left"}];
            };
            const others = [  // el carries nsp-label-off; sides are its label's possible boxes, the first preferred
                ...assets.map(el => ({el: el, sides: assetSides(el)})),
                ...Array.from(root.querySelectorAll(".nsp-place")).map(el => {
                    const box = local(labelBox(el.querySelectorAll(".nsp-place-name")));
                    return {el: el, sides: box ? [box] : []};
                })];
            // ---- place
            const labels = [];
            let hidden = 0;
            for (const s of sections) {
                let chosen = null, fallback = null;
                for (let i = 0; i < LABEL_SPOTS.length && chosen === null; i++) {
                    const box = spotBox(s.p, s.w, s.h, i);
                    if (!clear(box, labels)) continue;
                    if (clear(box, marks) && inView(box)) chosen = [i, box];
                    else if (!fallback && clear(box, counts)) fallback = [i, box];
                }
                const spot = chosen || fallback;
                s.spot = spot ? spot[0] : 0;  // no room: hidden on its line
                s.box = spot && spot[1];
                s.off = !spot;
                if (spot) labels.push(spot[1]); else hidden += 1;
            }
            for (const o of others) {
                if (!o.sides.some(box => overlaps(box, view, 0))) continue;  // off the map: left as it is
                const fits = box => clear(box, labels) && clear(box, marks);
                const box = o.sides.find(b => fits(b) && inView(b)) || o.sides.find(fits);
                o.off = !box;
                if (box && box.side) o.side = box.side;
                if (o.off) hidden += 1; else labels.push(box);
            }
            // ---- write
            dropLeaders(map);
            for (const s of sections) {
                moveTip(map, s.tip, s.el, s.w, s.h, s.spot);
                s.el.classList.toggle("nsp-label-off", s.off);
                s.el.setAttribute("data-nsp-spot", String(s.spot));
                setLeader(map, s);
            }
            for (const o of others) {
                if (o.off !== undefined) o.el.classList.toggle("nsp-label-off", o.off);
                if (o.side) o.el.classList.toggle("nsp-asset-left", o.side === "left");
            }
            root.setAttribute("data-nsp-labels-hidden", String(hidden));
        }

        // Every fit is kept (the bounds and options asked for) until the view is moved some other
        // way — a hand on the map, a zoom, a flight to one event (setView, flyTo, panTo) — so
        // that a change of the map's size can fit the same bounds again. A user who asked for
        // less motion (prefers-reduced-motion: reduce, read at each move) gets no zoom
        // animation, no pan glide and no flight: the map jumps to the new view (the CSS
        // animations stop by nsp.css's rule of the same name). Patched on Leaflet's Map itself,
        // as soon as Leaflet is there, so that the fit a map makes when it is created
        // (dash-leaflet's bounds) is kept too. (A fit moves by setView or flyTo itself; it keeps
        // its bounds after those return.)
        const VIEW_MOVES = [  // [method, index of its options, what it does to the kept fit]
            ["fitBounds", 1, "keep"], ["flyToBounds", 1, "keep"],
            ["setView", 2, "clear"], ["flyTo", 2, "clear"], ["panTo", 1, "clear"], ["panBy", 1, null]];
        // A fit asked with the option nspClearLegend (a sector's sections: the commander's view)
        // keeps its bounds clear of the legend box over the map's lower left corner: at
        // 1920x1080 the open legend covered the western part of LV-BY-01. Of the two ways round
        // it — everything right of the box, or everything above it — the one with the closer
        // zoom is taken. A folded legend is its title only, and is cleared the same way.
        function clearOfLegend(map, bounds, options) {
            if (!options || !options.nspClearLegend) return options;
            const box = map.getContainer().parentElement.querySelector("details.nsp-legend-box");
            if (!box || !box.getClientRects().length) return options;
            const m = map.getContainer().getBoundingClientRect(), b = box.getBoundingClientRect();
            if (b.right <= m.left || b.left >= m.right || b.bottom <= m.top || b.top >= m.bottom) return options;
            const pad = L.point(options.padding || [0, 0]);
            const tl = L.point(options.paddingTopLeft || pad), br = L.point(options.paddingBottomRight || pad);
            const right = L.point(Math.max(tl.x, b.right - m.left + pad.x), tl.y);  // right of the box
            const above = L.point(br.x, Math.max(br.y, m.bottom - b.top + pad.y));  // above it
            const zRight = map.getBoundsZoom(bounds, false, right.add(br));
            const zAbove = map.getBoundsZoom(bounds, false, tl.add(above));
            const out = Object.assign({}, options);
            delete out.padding;
            if (zAbove > zRight) Object.assign(out, {paddingTopLeft: [tl.x, tl.y], paddingBottomRight: [above.x, above.y]});
            else Object.assign(out, {paddingTopLeft: [right.x, right.y], paddingBottomRight: [br.x, br.y]});
            return out;
        }

        function keepFits() {
            if (!window.L || L.Map.prototype._nspKeepsFits) return;
            L.Map.prototype._nspKeepsFits = true;
            const less = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)");
            for (const [name, at, fit] of VIEW_MOVES) {
                const own = L.Map.prototype[name];
                L.Map.prototype[name] = function () {
                    const args = Array.from(arguments);
                    const kept = fit === "keep" ? {bounds: L.latLngBounds(args[0]), options: Object.assign({}, args[at])} : null;
                    if (kept) args[at] = clearOfLegend(this, kept.bounds, args[at]);
                    if (less && less.matches) args[at] = Object.assign({}, args[at], {animate: false});
                    if (fit === "clear") this._nspFit = null;
                    const result = own.apply(this, args);
                    if (kept) this._nspFit = kept;
                    return result;
                };
            }
        }
        keepFits();

        // Leaflet follows the window's size, not its container's. The main page's map grows and
        // shrinks with the rows above it (the alert bar comes and goes, the filters wrap) and a
        // kiosk's window may go full screen after the first fit. Without this the map's lower
        // part was cut off or left blank. A view that was fitted and not touched since is
        // fitted again (the country, a sector's sections); one the user moved keeps its centre.
        function followSize(map) {
            keepFits();
            if (map._nspFollowsSize || typeof ResizeObserver === "undefined") return;
            map._nspFollowsSize = true;
            const container = map.getContainer();
            for (const type of ["mousedown", "touchstart", "wheel", "keydown"]) {
                container.addEventListener(type, () => { map._nspFit = null; }, {capture: true, passive: true});
            }
            // the legend opened or folded: a kept fit is made again around it
            // ("toggle" does not bubble: heard on the way down, whenever the box was rendered)
            container.parentElement.addEventListener("toggle", (e) => {
                const fit = map._nspFit;
                if (e.target.matches && e.target.matches("details.nsp-legend-box") && fit && fit.options
                    && fit.options.nspClearLegend) map.fitBounds(fit.bounds, Object.assign({}, fit.options, {animate: false}));
            }, true);
            let size = map.getSize();
            new ResizeObserver(() => {
                const now = L.point(container.clientWidth, container.clientHeight);
                if (now.equals(size) || !now.x || !now.y) return;  // the first call; a hidden map
                size = now;
                const fit = map._nspFit;
                map.invalidateSize();
                if (fit) map.fitBounds(fit.bounds, Object.assign({}, fit.options, {animate: false}));
                // an open popup is panned into the new size again: the alert bar that came above
                // the map pushed its top, close button and all, under the filters
                if (map._popup && map._popup.isOpen()) map._popup.update();
            }).observe(container);
        }

        // Once per map: a placement after every change of the view, of the layers drawn (new
        // data) or of the switched-off layers (a class of the map's wrap).
        function watchLabels(map, layer) {
            if (!map) return;
            if (!map._nspSectionLayers) {
                map._nspSectionLayers = new Set();
                // before the next paint, once however many layers were added since the last one
                let pending = false;
                map._nspPlaceLabels = () => {
                    if (pending) return;
                    pending = true;
                    requestAnimationFrame(() => { pending = false; placeLabels(map); });
                };
                map.on("zoomend moveend layeradd layerremove resize", map._nspPlaceLabels);
                // Leaflet moves each label through a zoom's animation, not the leaders: they
                // wait for the placement at its end
                map.on("zoomstart", () => { for (const l of map._nspLeaders || []) l.style.display = "none"; });
                const wrap = map.getContainer().closest(".nsp-map-wrap");
                if (wrap) new MutationObserver(map._nspPlaceLabels).observe(wrap, {attributes: true, attributeFilter: ["class"]});
                followSize(map);
            }
            map._nspSectionLayers.add(layer);
            layer.once("remove", () => map._nspSectionLayers.delete(layer));
            map._nspPlaceLabels();
        }

        function esc(v) {
            if (v === null || v === undefined || v === "") return "–";
            return String(v).replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
        }

        function shapeSvg(shape, s, fill, stroke, sw) {
            const h = s / 2, p = sw;
            let body;
            if (shape === "triangle") body = `<polygon points="${h},${p} ${s - p},${s - p} ${p},${s - p}"/>`;
            else if (shape === "square") body = `<rect x="${p + 1}" y="${p + 1}" width="${s - 2 * p - 2}" height="${s - 2 * p - 2}"/>`;
            else if (shape === "diamond") body = `<polygon points="${h},${p} ${s - p},${h} ${h},${s - p} ${p},${h}"/>`;
            else body = `<circle cx="${h}" cy="${h}" r="${h - p}"/>`;
            return `<svg xmlns="http://www.w3.org/2000/svg" width="${s}" height="${s}" viewBox="0 0 ${s} ${s}">` +
                `<g fill="${fill}" stroke="${stroke}" stroke-width="${sw}" stroke-linejoin="round">${body}</g></svg>`;
        }

        // An own unit: the friendly frame (geo/symbology.py OWN_UNIT_STYLE, mapview.unit_frame),
        // a shape family apart from every event's; the silent fill when it has not reported.
        function unitSvg(silent) {
            const u = V.ownUnit, w = u.width, h = u.height, sw = u.strokeWidth;
            return `<svg xmlns="http://www.w3.org/2000/svg" class="nsp-unit-frame" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">` +
                `<rect x="${sw / 2}" y="${sw / 2}" width="${w - sw}" height="${h - sw}" rx="1" fill="${silent ? u.silentFill : u.fill}"` +
                ` stroke="${u.stroke}" stroke-width="${sw}"/>` +
                `<path d="M${sw} ${sw}L${w - sw} ${h - sw}M${w - sw} ${sw}L${sw} ${h - sw}" stroke="${u.stroke}" stroke-width="${sw}"/></svg>`;
        }

        // The event whose details are open. The picture's layers are replaced on every refresh
        // (NSP_WEB_REFRESH_SECONDS), and from zoom 9 on every pan, the one the popup itself makes
        // to fit on screen included: the popup went with its layer within a second. The event's
        // new marker opens it again; a close by the user, or a zoom, forgets it.
        let openEvent = null;
        // A popup opens clear of the boxes over the map (the legend on one side, the layer
        // switch on the other): its close button under the layer switch could not be clicked.
        function clearOfBoxes(popup, map) {
            const m = map.getContainer().getBoundingClientRect();
            let left = 10, right = 10;
            document.querySelectorAll(".nsp-legend-box, .nsp-layer-box").forEach(function (box) {
                const r = box.getBoundingClientRect();
                if (!r.width || r.right < m.left || r.left > m.right || r.bottom < m.top || r.top > m.bottom) return;
                if (r.left - m.left < m.right - r.right) left = Math.max(left, r.right - m.left + 10);
                else right = Math.max(right, m.right - r.left + 10);
            });
            popup.options.autoPanPaddingTopLeft = L.point(left, 10);
            popup.options.autoPanPaddingBottomRight = L.point(right, 10);
        }
        // A refresh that lands between the press on a popup's close button and its release
        // replaces the popup, button included: the browser then sends no click, and the close
        // was lost. The release on a close button closes the popup, whichever button was pressed.
        function closeOnRelease(map) {
            const box = map.getContainer();
            if (box.nspCloseOnRelease) return;
            box.nspCloseOnRelease = true;
            box.addEventListener("pointerup", function (ev) {  // capture: before the popup sees it
                if (ev.button !== 0 || !ev.target.closest || !ev.target.closest(".nsp-event-popup .leaflet-popup-close-button")) return;
                const popup = map._popup;  // after the click, if one comes: Leaflet's own close
                setTimeout(function () { if (popup && popup.isOpen()) map.closePopup(popup); }, 0);
            }, true);
        }
        function keepPopupOpen(layer, id) {
            layer.on("popupopen", function (e) {
                closeOnRelease(layer._map);
                clearOfBoxes(e.popup, layer._map);
                e.popup.update();  // panned again, now clear of the boxes
                // opened while a zoom was still running: the pan was measured on the old scale
                // and left the popup's top (its close button) under the filters; once more at its end
                if (layer._map._animatingZoom) {
                    layer._map.once("zoomend", function () { if (e.popup.isOpen()) e.popup.update(); });
                }
                openEvent = id;
                layer._map.once("zoomstart", function () { if (openEvent === id) openEvent = null; });
            });
            layer.on("popupclose", function () {
                // closed with its layer (Leaflet fires this before it lets go of the map), or by the user
                setTimeout(function () { if (layer._map && openEvent === id) openEvent = null; }, 0);
            });
            if (openEvent === id) {
                layer.once("add", function () { layer.openPopup(); });  // in the same task: never a gap
            }
        }

        // An event's age as a class: nsp-age-new (the last hour), nsp-age-mid (up to 6 h),
        // nsp-age-old (older); the wall draws the new ones with a halo and fades the old ones
        // (nsp.css), so the last hour reads from 4 m. Redrawn with each refresh of the data.
        function ageClass(t) {
            const occurred = Date.parse(t || "");
            if (isNaN(occurred)) return "";
            const hours = (Date.now() - occurred) / 3.6e6;
            return hours < 1 ? "nsp-age-new" : hours < 6 ? "nsp-age-mid" : "nsp-age-old";
        }

        function eventIcon(p) {
            const c = CAT[p.cat] || CAT.other;
            const s = SIZE[p.imp] || 14;
            const strong = strongImpact(p.imp);
            const svg = shapeSvg(c.shape, s, c.colour, strong ? "#000" : "#fff", strong ? 3 : 1.5);
            // closed by the NCC (the owner): faded, and a very high one no longer pulses
            const closed = p.st === "closed";
            const cls = "nsp-ev nsp-ev-" + (p.cat || "other") + " nsp-imp-" + (p.imp || "low") + " " + ageClass(p.t) +
                (closed ? " nsp-ev-closed" : p.imp === "very_high" ? " nsp-pulse" : "");
            return L.divIcon({html: svg, className: cls, iconSize: [s, s], iconAnchor: [s / 2, s / 2]});
        }

        function countIcon(n, cat, imp) {
            const c = CAT[cat] || CAT.other;
            const size = n < 10 ? 30 : n < 100 ? 36 : n < 1000 ? 44 : 52;
            const txt = n >= 10000 ? Math.round(n / 1000) + "k" : n >= 1000 ? (n / 1000).toFixed(1) + "k" : String(n);
            const ring = strongImpact(imp) ? "#000" : "#fff";
            const html = `<div class="nsp-count nsp-count-${c.shape}" style="--c:${c.colour};--r:${ring};width:${size}px;height:${size}px;line-height:${size}px">${txt}</div>`;
            return L.divIcon({html: html, className: "nsp-cluster nsp-cluster-" + (cat || "other"), iconSize: [size, size]});
        }

        return {
            LEVEL: LEVEL,
            LEVEL_WEIGHT: LEVEL_WEIGHT,
            LEVEL_BARS: LEVEL_BARS,
            markScale: markScale,
            ageText: ageText,
            sectionStyle: function (feature, context) {
                const h = (context && context.hideout) || {};
                const p = feature.properties;
                const selected = (h.selected || []).includes(p.code);
                if (p.kind === "land-internal") {
                    return {color: h.dark ? "#9aa3ad" : "#6b7280", weight: 3 * markScale(), dashArray: "6 6", opacity: 0.9,
                        className: "nsp-sec-line"};
                }
                const weight = ((LEVEL_WEIGHT[p.level] || 5) + (selected ? 3 : 0) + (h.dark ? 1 : 0)) * markScale();
                return {color: LEVEL[p.level] || "#888", weight: weight, opacity: 1, lineCap: "round",
                    className: "nsp-sec-line"};
            },
            areaStyle: function (feature, context) {
                const h = (context && context.hideout) || {};
                const p = feature.properties;
                const selected = (h.selected || []).includes(p.code);
                const colour = p.kind === "land-internal" ? "#888" : (LEVEL[p.level] || "#888");
                return {color: colour, weight: selected ? 2.5 : 1, opacity: selected ? 0.9 : 0.45, dashArray: "3 4",
                    fill: true, fillColor: colour, fillOpacity: selected ? 0.12 : 0.04, className: "nsp-sec-area"};
            },
            sectionEach: function (feature, layer, context) {
                const p = feature.properties;
                const h = (context && context.hideout) || {};
                const lvl = p.kind === "land-internal" ? esc(w("internal border (no impact level)")) :
                    (esc(w("impact level")) + ": " + esc(w(p.level)));
                layer.bindPopup(`<b>${esc(p.code)} ${esc(p.name)}</b><br>${lvl}<br>${esc(p.kind)}, ${esc(p.km)} km` +
                    `<br>${esc(w("board"))}: ${esc(p.board)}`);
                layer.on("add", e => watchLabels(e.target._map, e.target));
                // a click on a section's line filters the main page to it (nsp_crossfilter.js)
                layer.on("click", () => window.nsp.crossfilter && window.nsp.crossfilter.pick("section", p.code));
                if (h.labels !== false) {
                    // the name only from zoom 9 (nsp-zoom-near, set by trackView): at the national
                    // zoom 36 full labels overlap one another
                    const bars = LEVEL_BARS[p.level] ?
                        `<span class="nsp-label-level" title="${esc(w("impact level"))}: ${esc(w(p.level))}">${LEVEL_BARS[p.level]}</span>` : "";
                    layer.bindTooltip(`<span class="nsp-label-code">${esc(p.code)}</span>${bars}` +
                        `<span class="nsp-label-name"> ${esc(p.name)}</span>`, {permanent: true, direction: "center",
                        className: "nsp-section-label nsp-level-" + (p.level || "internal"), opacity: 0.95});
                }
            },
            eventPoint: function (feature, latlng, context) {
                const p = feature.properties;
                if (p.agg) {
                    return L.marker(latlng, {icon: countIcon(p.n, p.cat, p.imp), title: w("{n} events").replace("{n}", p.n)});
                }
                return L.marker(latlng, {icon: eventIcon(p), title: catLabel(CAT[p.cat] || CAT.other), riseOnHover: true});
            },
            eventCluster: function (feature, latlng, index, context) {
                // The count is the number of events, also when the leaves are server aggregates.
                const leaves = index.getLeaves(feature.properties.cluster_id, Infinity);
                let n = 0, top = 0, cat = null;
                const rank = V.impactRank;
                for (const l of leaves) {
                    n += l.properties.n || 1;
                    top = Math.max(top, rank[l.properties.imp] || 1);
                    cat = l.properties.cat;
                }
                const imp = Object.keys(rank).find(k => rank[k] === top);
                return L.marker(latlng, {icon: countIcon(n, cat, imp), title: w("{n} events").replace("{n}", n)});
            },
            eventEach: function (feature, layer, context) {
                const p = feature.properties;
                if (p.cluster) return;
                const c = CAT[p.cat] || CAT.other;
                if (p.agg) {
                    layer.bindPopup(`<b>${esc(w("{n} events").replace("{n}", p.n))}</b> (${esc(catLabel(c))})<br>` +
                        `${esc(w("persons"))}: ${p.p}<br>${esc(w("highest impact"))}: ${esc(impactLabel(p.imp))}` +
                        `<br><i>${esc(w("zoom in or narrow the filter to see single events"))}</i>`);
                    return;
                }
                const dist = p.d === null || p.d === undefined ? "–" : (p.d >= 1000 ? (p.d / 1000).toFixed(1) + " km" : p.d + " m");
                layer.bindPopup(
                    `<table class="nsp-popup">` +
                    `<tr><th colspan="2">${esc(catLabel(c))}</th></tr>` +
                    `<tr><td>${esc(w("time (UTC)"))}</td><td>${esc(clockTime(p.t))}</td></tr>` +
                    `<tr><td>${esc(w("subtype"))}</td><td>${esc(subtypeLabel(p.sub))}</td></tr>` +
                    `<tr><td>${esc(w("persons"))}</td><td>${esc(p.p)}</td></tr>` +
                    `<tr><td>${esc(w("impact"))}</td><td>${esc(impactLabel(p.imp))}</td></tr>` +
                    `<tr><td>${esc(w("confidence"))}</td><td>${esc(p.conf)} (${esc(validationLabel(p.val))})</td></tr>` +
                    `<tr><td>${esc(w("status"))}</td><td>${esc(statusLabel(p.st))}</td></tr>` +
                    `<tr><td>${esc(w("source"))}</td><td>${esc(p.src)}</td></tr>` +
                    `<tr><td>${esc(w("section"))}</td><td>${esc(p.sec)}</td></tr>` +
                    `<tr><td>${esc(w("distance to border"))}</td><td>${dist}</td></tr>` +
                    (p.obs ? `<tr><td>${esc(w("observed by patrol"))}</td><td>${esc(p.obs)}</td></tr>` : "") +
                    (p.desc ? `<tr><td colspan="2" class="nsp-popup-text">${esc(p.desc)}</td></tr>` : "") +
                    (p.fu ? `<tr><th colspan="2">${esc(w("follow-up reports: {n}").replace("{n}", p.fu))}</th></tr>` +
                            `<tr><td>${esc(w("latest (UTC)"))}</td><td>${esc(clockTime(p.fut))}</td></tr>` +
                            (p.fud ? `<tr><td colspan="2" class="nsp-popup-text">${esc(p.fud)}</td></tr>` : "") : "") +
                    `</table>`, {className: "nsp-event-popup"});
                keepPopupOpen(layer, p.id);
            },
            heatPoint: function (feature, latlng, context) {
                const w = feature.properties.w;
                return L.circleMarker(latlng, {radius: 6 + 22 * Math.sqrt(w), stroke: false,
                    fillColor: w > 0.66 ? "#b2182b" : w > 0.33 ? "#ef8a62" : "#fddbc7", fillOpacity: 0.25 + 0.45 * w,
                    interactive: false});
            },
            patrolStyle: function (feature, context) {
                return {color: "#1f78b4", weight: 2.5, opacity: 0.75, dashArray: "8 4", className: "nsp-patrol"};
            },
            patrolEach: function (feature, layer, context) {
                const p = feature.properties;
                layer.bindTooltip(`${esc(w("patrol"))} ${esc(p.unit)} (${esc(p.mode)})<br>${esc(clockTime(p.from))} – ${esc(clockTime(p.to))} UTC<br>${esc(p.km)} km` +
                    (p.ev ? `<br>${esc(w("events observed: {n}").replace("{n}", p.ev))}` : ""));
            },
            assetPoint: function (feature, latlng, context) {
                const p = feature.properties;
                const h = (context && context.hideout) || {};
                const old = p.age > (h.assetStaleMinutes || 30);
                const age = ageText(p.age);
                const html = `<div class="nsp-asset${old ? " nsp-asset-old" : ""}"><span class="nsp-asset-sym">${unitSvg(old)}</span>` +
                    `<span class="nsp-asset-cs">${esc(p.cs)}</span><span class="nsp-asset-age">${age}</span></div>`;
                return L.marker(latlng, {icon: L.divIcon({html: html, className: "nsp-asset-icon", iconSize: [0, 0]}),
                    title: `${p.cs}: ` + w("last report {age} ago").replace("{age}", age)});
            },
            vesselStyle: function (feature, context) {
                return {color: "#0b3c5d", weight: 2, opacity: 0.7, dashArray: "2 4", className: "nsp-vessel"};
            },
            vesselPoint: function (feature, latlng, context) {
                return L.circleMarker(latlng, {radius: 5, color: "#0b3c5d", weight: 2, fillColor: "#fff", fillOpacity: 1,
                    className: "nsp-vessel"});
            },
            vesselEach: function (feature, layer, context) {
                const p = feature.properties;
                layer.bindTooltip(`${esc(p.name)}${p.mmsi ? " (MMSI " + p.mmsi + ")" : ""}<br>${esc(p.sog)} kn, ${esc(p.cog)}°, ` +
                    esc(w("{n} min ago").replace("{n}", p.age)));
            },
            // ------------------------------------------------------------ basemap
            landStyle: function (feature, context) {
                const h = (context && context.hideout) || {};
                const home = feature.properties.ADM0_A3 === h.home || feature.properties.adm0_a3 === h.home || feature.properties.iso_a3 === h.home;
                return {stroke: true, color: h.dark ? "#3b4350" : "#b9b2a2", weight: 1, fill: true,
                    fillColor: home ? (h.dark ? "#232a33" : "#f4f1ea") : (h.dark ? "#1a1f26" : "#e3ded3"), fillOpacity: 1};
            },
            outsideStyle: function (feature, context) {
                // beyond the offline basemap's data: neither land nor sea (geo/basemap.py)
                const h = (context && context.hideout) || {};
                const c = h.dark ? OUTSIDE_DARK : OUTSIDE;
                return {stroke: true, color: c.edge, weight: 1, dashArray: "4 4", fill: true,
                    fillColor: c.fill, fillOpacity: 1, className: "nsp-outside"};
            },
            waterStyle: function (feature, context) {
                const h = (context && context.hideout) || {};
                return {color: h.dark ? "#2a4a66" : "#8fb8d8", weight: 1.2, fill: true,
                    fillColor: h.dark ? "#0f2233" : "#c6dcef", fillOpacity: 1};
            },
            riverStyle: function (feature, context) {
                const h = (context && context.hideout) || {};
                return {color: h.dark ? "#2a4a66" : "#8fb8d8", weight: 1.4, opacity: 0.9, fill: false};
            },
            placePoint: function (feature, latlng, context) {
                const h = (context && context.hideout) || {};
                const p = feature.properties;
                const name = p.NAME || p.name || p.NAMEASCII || "";
                const html = `<span class="nsp-place-dot"></span><span class="nsp-place-name">${esc(name)}</span>`;
                return L.marker(latlng, {icon: L.divIcon({html: html, className: "nsp-place" + (h.dark ? " nsp-dark" : ""), iconSize: [0, 0]}),
                    interactive: false, keyboard: false});
            },
            crossingPoint: function (feature, latlng, context) {
                // a gate (a square with a bar across) and the name; the name is a label like a
                // town's (hidden where it has no room), the gate always shows
                const h = (context && context.hideout) || {};
                const p = feature.properties || {};
                const kind = w(p.kind || "", "bcp|" + (p.kind || ""));
                const html = `<span class="nsp-bcp-sym"></span><span class="nsp-place-name nsp-bcp-name">${esc(p.name || "")}</span>`;
                const tip = w("border crossing point") + ` ${p.name || ""}: ${kind}` +
                    (p.approximate ? ` (${w("position approximate")})` : "");
                return L.marker(latlng, {icon: L.divIcon({html: html, className: "nsp-place nsp-bcp" + (h.dark ? " nsp-dark" : ""),
                    iconSize: [0, 0]}), title: tip, keyboard: false});
            },
            // ------------------------------------------------------------ viewport
            // The map's moveend handler (dl.Map eventHandlers): tells Dash the zoom and
            // the bounds, which the map callbacks read. dash-leaflet's own tracking
            // (trackViewport) throws on every move when the map was opened with `bounds`
            // and no `center` (emilhe/dash-leaflet#254), so the server never heard of a zoom.
            trackView: function (e, ctx) {
                const m = e.target, b = m.getBounds();
                // 9: VIEWPORT_ZOOM of dashboard/pages/main/map_layers.py, where the view limits the queries
                m.getContainer().classList.toggle("nsp-zoom-near", m.getZoom() >= 9);
                const bounds = [[b.getSouth(), b.getWest()], [b.getNorth(), b.getEast()]];
                if (ctx.zoom !== m.getZoom() || JSON.stringify(ctx.bounds) !== JSON.stringify(bounds)) {
                    ctx.setProps({zoom: m.getZoom(), bounds: bounds});
                }
            }
        };
    })()
});
